"""Reduced precision in one place: bfloat16 ops compute in float32 and round once, and
autocast casts an op's inputs by PyTorch's op lists, both as op calls pass through.

PyTorch's CPU kernels widen bfloat16 to float32 for the arithmetic (elementwise ops round
once, reductions and matrix products accumulate in float32). NumPy's bfloat16 (ml_dtypes)
rounds after every ufunc, so an op made of several ufuncs (softmax, var, sigmoid's
backward) or a reduction would round many times. Instead, a computing op whose floating
inputs promote to bfloat16 runs on float32 copies of its bfloat16 inputs, and its float32
outputs are rounded to bfloat16 (the node's output metadata and saved result with them).
Ops that only move or compare values (engine.ops.shape, indexing, writes, factories,
random, comparison) and in-place variants (their out-of-place op is what computes) run on
the bfloat16 arrays as they are. float16 keeps NumPy's own float16 arithmetic, but for the
matrix products, which accumulate in float32 as PyTorch's do.

`dispatch` is installed as `engine.autograd.recording.dispatch` once bfloat16 is loaded or
an autocast region is entered; until then op calls do not come here at all.
"""
import inspect

import numpy as np

from .. import _dtype
from .._tensor import Tensor
from ..autograd import recording
from ..autograd import graph
from ..autograd.grad_mode import state as _gs
from ..autograd.graph import AccumulateGrad, _SavedOutput
from . import _registry

_F32 = np.dtype(np.float32)
_F16 = np.dtype(np.float16)

# Modules whose ops move, compare or make values without arithmetic to widen.
_AS_STORED_MODULES = {"engine.ops.shape", "engine.ops.indexing", "engine.ops.writes",
                      "engine.ops.factories", "engine.ops.random", "engine.ops.comparison",
                      "engine.ops._core"}                      # _core: the in-place variants
_AS_STORED = {"flatten", "dropout", "one_hot", "embedding", "max_pool2d"}
# float16 products accumulate in float32 (PyTorch's CPU kernels; NumPy's float16 matmul does not)
_FLOAT16_PRODUCTS = {"matmul", "mm", "bmm", "mv", "dot", "addmm", "baddbmm", "addmv", "linear",
                     "conv2d", "inner", "outer", "vdot", "tensordot", "einsum"}

_bf16_loaded = False
_plans = {}              # op name -> _plan(name, fn), filled as ops are first seen
_autocast_regions = 0    # autocast regions entered and not left, over all threads


def _inplace_position(fn):
    """Where fn takes `inplace` (nn.functional's relu, leaky_relu ...), else None."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return names.index("inplace") if "inplace" in names else None


def _is_computing(name):
    """A registered op that does arithmetic: not a data-moving op, not an in-place variant,
    not a custom autograd.Function (those see their inputs as given, as in PyTorch)."""
    if name.endswith("_") or name in _AS_STORED:
        return False
    o = _registry.OPS.get(name)
    if o is not None:
        return o.module not in _AS_STORED_MODULES
    return any(name in table for table in _registry.NAMESPACES.values())


def _on_bfloat16(d):
    global _bf16_loaded
    _bf16_loaded = True
    recording.dispatch = dispatch


_dtype.BFLOAT16_HOOKS.append(_on_bfloat16)


_autocast = None          # (engine.amp's thread state, its autocast_inputs), given on entry


def autocast_entered(delta, state, cast_inputs):
    """engine.amp's autocast calls this with +1 / -1 around an enabled region, handing over
    its state and its cast function (this module sits below engine.amp)."""
    global _autocast_regions, _autocast
    _autocast_regions += delta
    _autocast = (state, cast_inputs)
    recording.dispatch = dispatch if _autocast_regions or _bf16_loaded else None


def _tensors(args, kwargs):
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, Tensor))
    for k, v in kwargs.items():
        if isinstance(v, Tensor) and k != "out":
            out.append(v)
    return out


def dispatch(name, fn, args, kwargs):
    """One op call: autocast's casts (for an op on PyTorch's lists, not inside another listed
    op: ops made of other ops, such as einsum or cov, have their inner ops cast, as PyTorch's
    composite ops do), then the call, bfloat16 (and float16 products) computed in float32."""
    if _autocast_regions:
        state, cast_inputs = _autocast
        if state.any_enabled and not state.depth:
            cast = cast_inputs(name, args, kwargs)   # the casts are ops of their own
            if cast is not None:              # a listed op: its inner ops are not cast again
                state.depth += 1
                try:
                    return _recorded(name, fn, *cast)
                finally:
                    state.depth -= 1
    return _recorded(name, fn, args, kwargs)


def _recorded(name, fn, args, kwargs):
    """_call, seen by an active recording observer as the op `name` on these inputs."""
    if recording.active is None:
        return _call(name, fn, args, kwargs)
    return recording._call(name, fn, args, kwargs, run=_call)


def _call(name, fn, args, kwargs):
    plan = _plans.get(name)
    if plan is None:
        plan = _plans[name] = _plan(name, fn)
    computes, inplace_at, f16 = plan
    if not (computes and _bf16_loaded or f16):
        return fn(*args, **kwargs)
    if inplace_at is not None and (kwargs.get("inplace") or len(args) > inplace_at
                                   and args[inplace_at]):
        return fn(*args, **kwargs)        # writes into its input: the op_ rule (see above)
    low = _low_dtype(args, kwargs, _dtype._BF16 if computes else None, f16)
    if low is None:
        return fn(*args, **kwargs)
    return _in_float32(fn, args, kwargs, low)


def _plan(name, fn):
    """(computes bfloat16 in float32, where fn takes `inplace`, a float16 product)."""
    computes = _is_computing(name)
    return computes, _inplace_position(fn) if computes else None, name in _FLOAT16_PRODUCTS


def _low_dtype(args, kwargs, bf16, f16):
    """The dtype of the first bfloat16 (or, with f16, float16) tensor among the inputs."""
    for a in (*args, *kwargs.values()) if kwargs else args:
        if isinstance(a, Tensor):
            d = a._a.dtype
            if d is bf16 or f16 and d is _F16:
                return d
        elif isinstance(a, (list, tuple)):
            for x in a:
                if isinstance(x, Tensor):
                    d = x._a.dtype
                    if d is bf16 or f16 and d is _F16:
                        return d
    return None


def _in_float32(fn, args, kwargs, low):
    """fn(*args, **kwargs) with its `low`-precision inputs (bfloat16, or float16 for a
    product) widened to float32 and its float32 outputs rounded back to `low`, when the
    floating inputs promote to `low`; else a plain call."""
    ts = _tensors(args, kwargs)
    target = _dtype.from_np(low)
    floats = [t for t in ts if _dtype.is_floating(t._a.dtype)]
    if _dtype.result_type(*floats) is not target:
        return fn(*args, **kwargs)        # promoted to float32 (or float64) by the op itself
    explicit = kwargs.get("dtype")
    if explicit is None:
        explicit = next((a for a in args if isinstance(a, _dtype.dtype)), None)
    if explicit is not None and explicit is not target:
        return fn(*args, **kwargs)        # the caller chose the output dtype
    if explicit is target:                # accumulate in float32, round at the end
        if "dtype" in kwargs:
            kwargs = dict(kwargs, dtype=_dtype.float32)
        else:
            args = tuple(_dtype.float32 if a is target else a for a in args)
    kept = {}
    for t in ts:
        if t._a.dtype is low and id(t) not in kept:
            kept[id(t)] = (t, t._a)
            t._a = t._a.astype(_F32)
    start = graph._next_seq()
    try:
        out = fn(*args, **kwargs)
    finally:
        for t, a in kept.values():
            t._a = a
    _round(out, kept, low)
    _settle(out, start, kept, low)
    return out


def _settle(out, start, kept, low):
    """The graph the call made, as if it had run in `low`: the nodes made after `start` get
    `low` where their outputs or saved tensors are float32 (an op made of other ops saves the
    views and intermediates it computed in float32), and the inputs' AccumulateGrad nodes
    made during the call expect gradients of the inputs' own dtype."""
    for t, a in kept.values():
        ref = t._acc
        acc = ref() if ref is not None else None
        if acc is not None and acc._meta[0][1] == _F32:
            acc._meta = ((a.shape, a.dtype),)
    stack = [o._node for o in (out if isinstance(out, (tuple, list)) else (out,))
             if isinstance(o, Tensor) and o._node is not None]
    seen = set()
    while stack:
        n = stack.pop()
        if n._seq <= start or type(n) is AccumulateGrad or id(n) in seen:
            continue
        seen.add(id(n))
        n._meta = tuple((shape, low if dt == _F32 else dt) for shape, dt in n._meta)
        if low is _dtype._BF16 and type(n).__name__ in _FUSED_BACKWARD and type(n)._single:
            n.__class__ = _in_float32_backward(type(n))
        for s in n._saved or ():
            if isinstance(s, Tensor):
                if id(s) not in kept and s._a.dtype == _F32:
                    s._a = s._a.astype(low)
            elif type(s) is _SavedOutput and s.a.dtype == _F32:
                s.a = s.a.astype(low)
        stack.extend(nxt for nxt, _ in n._next if nxt is not None)


# Nodes whose PyTorch backward is one kernel (tanh_backward, sigmoid_backward,
# _softmax_backward_data, ...: derivatives.yaml), which computes bfloat16 in float32 and
# rounds once; other formulas are ATen ops in PyTorch too, each rounding, as the engine's do.
_FUSED_BACKWARD = {"TanhBackward0", "SigmoidBackward0", "SoftmaxBackward0",
                   "LogSoftmaxBackward0", "GeluBackward0", "SiluBackward0", "EluBackward0",
                   "SoftplusBackward0", "LogSigmoidBackward0", "NativeLayerNormBackward0",
                   "MseLossBackward0", "SmoothL1LossBackward0", "HuberLossBackward0",
                   "NllLossBackward0", "BinaryCrossEntropyBackward0"}
_WIDE_NODES = {}         # node class -> its subclass whose backward runs in float32


def _in_float32_backward(cls):
    """cls with a backward that, for bfloat16 gradients and without create_graph, computes the
    whole formula in float32 (its saved bfloat16 tensors widened for the call): the engine
    then rounds each gradient once to its input's dtype, as PyTorch's fused backward kernels
    do. With create_graph the formula's ops run one by one (each rounds), so the graph of the
    gradient stays bfloat16."""
    wide = _WIDE_NODES.get(cls)
    if wide is not None or cls in _WIDE_NODES.values():
        return wide or cls
    formula = cls.backward

    def backward(self, g):
        bf16 = _dtype._BF16
        if _gs.enabled or g is None or g._a.dtype is not bf16:
            return formula(self, g)
        kept = []
        for item in self._saved or ():
            if isinstance(item, Tensor):
                if item._a.dtype is bf16:
                    kept.append((item, "_a", item._a))
                    item._a = item._a.astype(_F32)
            elif type(item) is _SavedOutput and item.a.dtype is bf16:
                kept.append((item, "a", item.a))
                item.a = item.a.astype(_F32)
        try:
            return formula(self, Tensor._wrap_array(g._a.astype(_F32)))
        finally:
            for item, attr, a in reversed(kept):
                setattr(item, attr, a)
    wide = _WIDE_NODES[cls] = type(cls)(cls.__name__, (cls,), {
        "__slots__": (), "backward": backward, "__qualname__": cls.__qualname__,
        "__module__": cls.__module__, "__doc__": cls.__doc__})
    return wide


def _round(out, inputs, low):
    if isinstance(out, Tensor):
        if out._a.dtype == _F32 and id(out) not in inputs:
            _round_tensor(out, low)
    elif isinstance(out, (tuple, list)):
        for o in out:
            _round(o, inputs, low)


def _round_tensor(t, low):
    """t's float32 array rounded to `low`, with its node's output metadata and saved result."""
    old = t._a
    t._a = new = old.astype(low)
    node = t._node
    if node is None:
        return
    meta = list(node._meta)
    meta[t._nr] = (new.shape, new.dtype)
    node._meta = tuple(meta)
    for s in node._saved or ():
        if type(s) is _SavedOutput and s.a is old:
            s.a = new
