"""The op core: operand promotion, output wrapping, and THE place an op output is connected to
the graph (`_finish`), plus the one in-place machinery (`make_inplace`) every `op_` variant uses.

Every family module (engine/ops/<family>.py) builds its results with `_wrap(array)` and, when
`_needs(*inputs)`, connects them with `_finish(out, new_node(NodeClass), inputs, saved)`.
Edges come from engine.autograd.views (`_e`), which also owns view and version bookkeeping.
"""
import builtins
import collections
import numpy as np
import operator

from .._tensor import Tensor, _from_array
from ..autograd.graph import Node, _SavedOutput, grad_accumulator, new_node
from ..autograd.saved_hooks import _stack as _saved_hooks, _Packed, pack_saved as _pack_saved
from ..autograd.grad_mode import state as _gs
from .._dtype import get_default_dtype, result_type
from ..backend import check_same_device, xp_of
from .. import _dtype, _kernels
from ..autograd.views import _check_inplace, _mark_view, _rebase, _regen_view
from .. import ops
from .._dtype import is_floating


_ndarray = np.ndarray


_isinst = isinstance


_wrap = _from_array


_NONE_EDGE = (None, 0)


_new = object.__new__


def _e(x):
    """The graph edge for an op input: (grad_fn or AccumulateGrad, nr), or (None, 0)."""
    if _isinst(x, Tensor):
        if x._base is not None and x._vv != x._ver[0]:
            _regen_view(x)
        if x._rg:
            n = x._node
            if n is not None:
                return n, x._nr
            if x._base is not None and x._base._rg:    # a view that only inherits requires_grad from
                return _NONE_EDGE                      # its base (made under no_grad): no edge, as in torch
            return grad_accumulator(x), 0
    return _NONE_EDGE


def _needs(*xs):
    if not _gs.enabled:
        return False
    for x in xs:
        if _isinst(x, Tensor):
            if x._base is not None and x._vv != x._ver[0]:
                _regen_view(x)
            if x._rg:
                return True
    return False


def _finish(out, node, inputs, saved=()):
    """THE place an op output joins the graph: `node` becomes out's grad_fn, with one edge per
    input (`_e`) and `saved` (inputs or scalars) kept for backward with their versions."""
    k = len(inputs)
    if k == 2:
        x, y = inputs
        node._next = (_e(x), _e(y))
    elif k == 1:
        node._next = (_e(inputs[0]),)
    else:
        node._next = tuple([_e(x) for x in inputs])
    a = out._a
    node._meta = ((a.shape, a.dtype),)
    if len(saved) == 2:        # _versions, inline for the common pair (bench cases `tiny`, `chain`)
        s, t = saved
        node._sver = (s._ver[0] if _isinst(s, Tensor) else None, t._ver[0] if _isinst(t, Tensor) else None)
    else:
        node._sver = _versions(saved) if saved else ()
    node._saved = _pack_saved(saved, Tensor) if saved and _saved_hooks else saved
    out._node = node
    out._rg = True
    return out


def _finish_outputs(outs, node, inputs, saved=()):
    """_finish for an op with several outputs (output_nr = position). A saved entry that is one of
    the outputs is kept by array (_SavedOutput), as the engine keeps an op's own outputs."""
    node._next = tuple([_e(x) for x in inputs])
    node._meta = tuple([(o._a.shape, o._a.dtype) for o in outs])
    for i, o in enumerate(outs):
        o._node, o._nr, o._rg = node, i, True
    saved = tuple(_SavedOutput(s) if builtins.any(s is o for o in outs) else s for s in saved)
    node._saved = saved
    node._sver = tuple(s.ver[0] if type(s) is _SavedOutput else s._ver[0] if _isinst(s, Tensor) else None
                       for s in saved)
    if saved and _saved_hooks:
        node._saved = _pack_outputs(saved, outs)
    return node


def _versions(saved):
    if len(saved) == 2:
        s, t = saved
        return (s._ver[0] if _isinst(s, Tensor) else None, t._ver[0] if _isinst(t, Tensor) else None)
    return tuple([s._ver[0] if _isinst(s, Tensor) else None for s in saved])


def _save(node, saved):
    """Keep `saved` (tensors, scalars or None) for node's backward, each tensor with its version."""
    node._sver = _versions(saved) if saved else ()
    node._saved = _pack_saved(saved, Tensor) if saved and _saved_hooks else saved


def _save_result(node, out):
    node._saved = (_Packed(out, True) if _saved_hooks else _SavedOutput(out),)
    node._sver = (out._ver[0],)


def _pack_outputs(saved, outs):
    """An op's saved tuple with saved_tensors_hooks active: its outputs (kept as _SavedOutput)
    and inputs both packed."""
    packed = []
    for s in saved:
        if type(s) is _SavedOutput:
            packed.append(_Packed(next(o for o in outs if o._a is s.a), True))
        elif _isinst(s, Tensor):
            packed.append(_Packed(s, False))
        else:
            packed.append(s)
    return tuple(packed)


def _as_tensor(x, like=None):
    if _isinst(x, Tensor):
        return x
    if like is not None:
        return ops.tensor(x, dtype=like.dtype if not _isinst(x, float) or like.is_floating_point() else None,
                      device=like.device)
    return ops.tensor(x)


def _scalar(x):
    """Python number from a Python/numpy scalar, or None when x is not a scalar."""
    if _isinst(x, (int, float, bool)):
        return x
    if _isinst(x, np.generic):
        return x.item()
    return None


def _float_array(a):
    return a if is_floating(a.dtype) else a.astype(get_default_dtype().np)


def _pair(a, b):
    """Raw operands for a binary op, promoted as PyTorch promotes. Returns (xa, ya)."""
    if _isinst(a, Tensor):
        xa = a._a
        if _isinst(b, Tensor):
            ya = b._a
            if xa.dtype != ya.dtype:
                dt = result_type(a, b).np
                if xa.dtype != dt:
                    xa = xa.astype(dt)
                if ya.dtype != dt:
                    ya = ya.astype(dt)
            if type(xa) is not type(ya):
                if ya.ndim == 0 and type(ya) is _ndarray:
                    ya = ya.item()
                elif xa.ndim == 0 and type(xa) is _ndarray:
                    xa = xa.item()
                else:
                    check_same_device(xa, ya)
            return xa, ya
        s = _scalar(b)
        if s is None:
            return _pair(a, _as_tensor(b))
        k = xa.dtype.kind
        if (k in "iub" and _isinst(s, float)) or (k == "b" and _isinst(s, int) and not _isinst(s, bool)):
            xa = xa.astype(result_type(a, s).np)
        return xa, s
    s = _scalar(a)
    if s is None:
        return _pair(_as_tensor(a), b)
    ya, xs = _pair(b, s)
    return xs, ya


def _res(r):
    return r if type(r) is _ndarray else _wrap(r)._a


# Full sums of large float arrays: NumPy's pairwise float sum runs a scalar loop, while adding
# the rows of a (rows, width) view runs vectorised at memory speed. Each column adds at most
# _SUM_ROWS numbers in order and the columns are then summed pairwise, so the rounding error
# stays near NumPy's (measured: 104 µs against 150-190 µs for 1M float32 here).
_SUM_MIN, _SUM_ROWS = 1 << 16, 256


def _sum_all(a):
    """a.sum() for a CPU float32/float64 array (a NumPy scalar)."""
    n = a.size
    if n >= _kernels.MIN_SIZE:
        r = _kernels.sum_all(a)
        if r is not None:
            return r
    if n < _SUM_MIN or type(a) is not _ndarray or a.itemsize < 4 or not is_floating(a.dtype) or not a.flags.c_contiguous:
        return a.sum()
    flat = a.reshape(-1)
    width = builtins.max(4096, -(-n // _SUM_ROWS))
    m = n - n % width
    return np.add.reduce(np.add.reduce(flat[:m].reshape(-1, width), axis=0)) + np.add.reduce(flat[m:])


_UFUNC = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
          operator.truediv: np.divide}


def _arith(op, xa, ya):
    """op(xa, ya) for operator.add/sub/mul/truediv: large CPU float arrays run on all cores
    (_kernels); the rest as the operator, which also serves CuPy arrays and Python scalars."""
    big = xa if type(xa) is _ndarray else ya
    if type(big) is _ndarray and big.size >= _kernels.MIN_SIZE:
        r = _kernels.binary(_UFUNC[op], xa, ya)
        if r is not None:
            return r
    return op(xa, ya)


_NUMBERS = {}        # (Python number, dtype) -> read-only 0-d array, for _number


def _number(s, a):
    """Python number `s` as an operand for the small float32/float64 CPU array `a`: a cached 0-d
    array of a's dtype, with which NumPy multiplies or adds in half the time it takes with the
    number itself (it converts the number on every call; NEP 50 converts it to a's dtype, so the
    result is the same). Benchmark cases `chain` (y * 1.0001, forward and backward) and `mixed`.
    Zero (0.0 and -0.0 are equal keys) and NaN are passed through as they are."""
    key = (s, a.dtype)
    z = _NUMBERS.get(key)
    if z is None:
        if a.dtype.char not in "fd" or not s or s != s:
            return s
        if len(_NUMBERS) >= 256:
            _NUMBERS.clear()
        z = _NUMBERS[key] = np.array(s, a.dtype)
        z.flags.writeable = False
    return z


def write_out(name, result, out):
    """`result` written into the caller's `out=` tensor (or tuple of tensors), as PyTorch's out
    variants do: no autograd through it, a cast only within the same kind, a resize (with
    PyTorch's warning when `out` held elements) when the shapes differ. Returns `out`."""
    if _isinst(out, (tuple, list)):
        results = result if _isinst(result, tuple) else (result,)
        if len(out) != len(results):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(results)} Tensors")
        return type(result)(*(write_out(name, r, o) for r, o in zip(results, out))) \
            if hasattr(result, "_fields") else tuple(write_out(name, r, o) for r, o in zip(results, out))
    if not _isinst(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not _isinst(result, Tensor):
        result = _as_tensor(result)
    if _gs.enabled and (result._rg or out._rg):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    a, o = result._a, out._a
    if a.dtype != o.dtype and not np.can_cast(a.dtype, o.dtype, "same_kind"):
        raise RuntimeError(f"result type {_type_word(result)} can't be cast to the desired output type "
                           f"{_type_word(out)}")
    if tuple(o.shape) != tuple(a.shape):
        if o.size:
            from .._warnings import warn
            warn(f"An output with one or more elements was resized since it had shape {list(o.shape)}, "
                 f"which does not match the required output shape {list(a.shape)}. This behavior is "
                 "deprecated, and in a future PyTorch release outputs will not be resized unless they "
                 "have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, "
                 "to zero elements with t.resize_(0).")
        out.resize_(a.shape)
    out._a[...] = a
    out._ver[0] += 1
    return out


def _ns(a):
    """The namespace that owns array `a` (NumPy on the CPU, CuPy on cuda): op code calls
    `_ns(a).f(a)`, never `np.f(a)`, on data arrays."""
    return np if type(a) is _ndarray else xp_of(a)


def _namespaced(fn):
    """NumPy function `fn` as a call to the same-named function of the array's namespace."""
    name = fn.__name__

    def call(a, *args, **kw):
        return fn(a, *args, **kw) if type(a) is _ndarray else getattr(xp_of(a), name)(a, *args, **kw)
    return call


def _dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    if _isinst(dim, (list, tuple)):
        return tuple(sorted(d % ndim if ndim else 0 for d in dim)) if dim else tuple(range(ndim))
    if ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got {dim})")
        return ()
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return (dim % ndim,)


def _wdim(d, ndim):
    n = builtins.max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, "
                         f"{n - 1}], but got {d})")
    return d % n


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def sum_to(g, shape):
    """Sum gradient g down to `shape` (undoing broadcasting). The engine's one reduction place."""
    gs = g._a.shape
    if gs == tuple(shape):
        return g
    lead = len(gs) - len(shape)
    if lead < 0:    # a value written with extra leading size-1 dims (x[i] = v of shape (1, 1))
        if builtins.all(s == 1 for s in shape[:-lead]):
            return sum_to(g, tuple(shape[-lead:])).reshape(tuple(shape))
        raise ValueError("cannot sum to a larger shape")
    red = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and gs[lead + i] != 1:
            red.append(lead + i)
        elif s != gs[lead + i] and s != 1:
            raise ValueError("shape mismatch")
    r = g.sum(tuple(red), keepdim=True) if red else g
    return r.reshape(tuple(shape)) if r._a.shape != tuple(shape) else r


class UnsafeViewBackward0(Node):
    __slots__ = ("shape",)
    formula = "UnsafeViewBackward0: self: grad.reshape(self.shape)"

    def backward(self, g):
        return g.reshape(self.shape)


def _unsafe_view(x, shape):
    t = _wrap(x._a.reshape(shape))
    if _gs.enabled and x._rg:
        n = new_node(UnsafeViewBackward0)
        n.shape = x._a.shape
        _finish(t, n, (x,))
    return t


def _view_of(x, a, cls, attrs=None):
    """A view result: shares x's version counter; records cls when grad is needed."""
    t = _wrap(a)
    _mark_view(t, x)
    if _gs.enabled and x._rg:
        n = new_node(cls)
        if attrs:
            for k, v in attrs.items():
                setattr(n, k, v)
        _finish(t, n, (x,))
    return t


def _inplace(x, fn, args, kwargs=None, saves_self=False):
    """Run fn(x, *args) and write the result into x's buffer; rebase x's history onto the new node."""
    kwargs = kwargs or {}
    _check_inplace(x, *args, *kwargs.values())
    if _gs.enabled and (x._rg or builtins.any(_isinst(a, Tensor) and a._rg for a in args)
                        or builtins.any(_isinst(v, Tensor) and v._rg for v in kwargs.values())):
        old = _wrap(x._a.copy() if saves_self else x._a)
        old._node, old._nr, old._rg = x._node, x._nr, x._rg
        if x._node is None and x._rg:
            old._acc = x._acc
        res = fn(old, *args, **kwargs)
        _write(x, res._a)
        node = res._node
        x._ver[0] += 1
        if node is not None:
            node._meta = ((x._a.shape, x._a.dtype),)
            _rebase(x, node, res._nr, bump=False)
        return x
    res = fn(x, *args, **kwargs)
    _write(x, res._a)
    x._ver[0] += 1
    return x


def _write(x, r):
    a = x._a
    if r.dtype != a.dtype:
        if a.dtype.kind in "iub" and is_floating(r.dtype) or a.dtype.kind == "b" and r.dtype.kind != "b":
            raise RuntimeError(f"result type {_dtype.from_np(r.dtype).name.capitalize().replace('Float32', 'Float')} "
                               f"can't be cast to the desired output type {_type_word(a.dtype)}")
        r = r.astype(a.dtype)
    if r.shape != a.shape:
        try:
            r = np.broadcast_to(r, a.shape) if type(r) is _ndarray else xp_of(r).broadcast_to(r, a.shape)
        except ValueError:
            raise RuntimeError(f"output with shape [{', '.join(map(str, a.shape))}] doesn't match the broadcast "
                               f"shape [{', '.join(map(str, r.shape))}]") from None
    if not getattr(a.flags, "writeable", True):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    a[...] = r


def _type_word(x):
    """PyTorch's word for the scalar type of a NumPy dtype or a tensor ('Float', 'Long', ...)."""
    a = getattr(x, "_a", None)
    npdt = x if a is None else a.dtype
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long", "int32": "Int",
            "bool": "Bool", "uint8": "Byte", "int16": "Short", "int8": "Char"}[str(npdt)]


def make_inplace(fn, saves=None, *, ufunc=None, node=None):
    """The in-place variant `fn_` of op `fn`, the one way every `op_` is made: PyTorch's in-place
    checks, the result written into self's buffer, the version bumped, self's history rebased.

    saves: what fn's node keeps of self - "self" (its value before the op: self is copied
      first), "result" (the saved result becomes self itself, version-checked, so a later
      in-place change makes backward raise as in PyTorch), "self and result", or None.
    ufunc: add_/sub_/mul_/div_ without grad write with the ufunc's out= when no promotion or
      broadcasting of self is needed (hand-written updates such as `w -= lr * w.grad` under
      no_grad; kept from before the split, no bench_engine case measures it yet).
    node: a node class replacing fn's, for ops PyTorch marks as having no in-place derivative.
    """
    run = fn
    if node is not None:
        def run(x, *a, **k):
            t = fn(x, *a, **k)
            if t._node is not None:
                t._node.__class__ = node
                t._node._saved, t._node._sver = (), ()
            return t
    if saves in ("result", "self and result"):
        inner = run

        def inplace(self, *args, **kwargs):
            made = []

            def once(x, *a, **k):
                if saves == "self and result" and x is not self:   # the pre-op alias _inplace made
                    x._a = x._a.copy()
                made.append(inner(x, *a, **k))
                return made[-1]
            _inplace(self, once, args, kwargs)
            n = made[0]._node if made else None
            if n is not None and n._saved:
                tmp = made[0]._a
                ours = [type(s) is _SavedOutput and s.a is tmp for s in n._saved]
                n._saved = tuple(_SavedOutput(self) if o else s for s, o in zip(n._saved, ours))
                n._sver = tuple(self._ver[0] if o else v for v, o in zip(n._sver, ours))
            return self
    else:
        saves_self = saves == "self"

        def inplace(self, *args, **kwargs):
            if ufunc is not None and _write_with_ufunc(ufunc, self, args, kwargs):
                return self
            return _inplace(self, run, args, kwargs, saves_self)
    inplace.__name__ = inplace.__qualname__ = fn.__name__ + "_"
    inplace.__doc__ = f"In-place {fn.__name__}: writes the result into self."
    return inplace


def _write_with_ufunc(uf, self, args, kwargs):
    """self op= other straight into self's buffer when nothing needs grad and no promotion is
    needed (a float self, an other of its dtype or a Python number); False when it does not apply."""
    other = args[0] if args else kwargs.get("other")
    alpha = kwargs.get("alpha", 1)
    if len(args) != 1 or set(kwargs) - ({"alpha"} if uf is np.add or uf is np.subtract else set()):
        return False
    if _gs.enabled and (self._rg or (_isinst(other, Tensor) and other._rg)):
        return False
    a = self._a
    o = other._a if _isinst(other, Tensor) else other
    if alpha != 1:
        o = o * alpha
    if not (getattr(a.flags, "writeable", True) and is_floating(a.dtype) and a.dtype is not _dtype._BF16 and (
            not hasattr(o, "dtype") or o.dtype == a.dtype or _isinst(o, (int, float)))):
        return False
    if type(o) is not type(a) and not _isinst(o, (int, float)):
        if o.ndim == 0 and type(o) is _ndarray:
            o = o.item()
        else:
            check_same_device(a, o)
    try:
        uf(a, o, out=a)
    except ValueError:
        raise RuntimeError(f"output with shape [{', '.join(map(str, a.shape))}] doesn't match the broadcast "
                           f"shape [{', '.join(map(str, np.broadcast_shapes(a.shape, np.shape(o))))}]") from None
    self._ver[0] += 1
    return True


def return_type(name, fields=("values", "indices")):
    """PyTorch's torch.return_types.<name>: a namedtuple printed as PyTorch prints it."""
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__})
