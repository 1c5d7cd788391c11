"""The engine's recording point: while `record_ops(observer)` is active, the observer sees
every op call as an OpRecord (public name, tensor inputs, outputs, the outputs' grad_fn).

An engine extra (not a PyTorch name), documented in docs/engine.md. Every registered op
runs through `recorded(fn)`'s wrapper, whose whole cost with no observer active is one
`active is None` check. With an observer active, an op call is one record when it builds
its result from arrays, and is seen as the ops it is made of when its output comes from
inner engine ops (the same thing grad_fn shows); helper tensors made inside an op that
builds from arrays are not recorded. The backward traversal switches recording off while a
node's formula runs, so backward formulas are never recorded. Module structure and source
lines are not recorded here (the runtime gets them from module hooks and the stack).
"""
import contextlib
import functools
import inspect
from time import perf_counter
from typing import NamedTuple

__all__ = ["OpRecord", "record_ops"]


class OpRecord(NamedTuple):
    name: str            # the op's public name: 'mul', 'add', 'matmul', 'linear', 'mul_', ...
    inputs: tuple        # the Tensor arguments in call order (non-tensor arguments left out)
    outputs: tuple       # the output Tensors (for an in-place op: the modified tensor)
    grad_fn: object      # the outputs' grad_fn when connected to the graph, else None
    started: float = 0.0  # time.perf_counter() when the call began (for the profiler)
    elapsed: float = 0.0  # seconds the call took


active = None      # the active observers (a tuple, innermost last), or None when nobody records
dispatch = None    # while set, op calls run as dispatch(name, fn, args, kwargs), which records them
                   # through _call itself: engine.ops._lowp's autocast casts and bfloat16 in float32
                   # (None until bfloat16 or autocast is used)
_timed = False     # whether an active observer asked for each call's start time and duration
_frames = []       # per op call in progress while recording: the records its inner ops made
_Tensor = None     # engine.Tensor, bound when the first observer starts (a circular import)


@contextlib.contextmanager
def record_ops(observer, *, timed=False):
    """While active, observer(record: OpRecord) is called once per op call, after its outputs
    exist. Observers nest: each active one is called. An exception from the observer propagates
    to the op's caller. timed: fill each record's `started` and `elapsed` (a profiler asks for
    them; other observers leave them 0.0 and the op call is not timed)."""
    global active, _timed, _Tensor
    if _Tensor is None:
        from .._tensor import Tensor as _Tensor
    prev, prev_timed = active, _timed
    active = (prev or ()) + (observer,)
    _timed = prev_timed or bool(timed)
    try:
        yield
    finally:
        active, _timed = prev, prev_timed


def suspend():
    """Switch recording off (the backward traversal, around each formula); returns the token
    to pass to `resume`."""
    global active
    prev = active
    active = None
    return prev


def resume(token):
    global active
    active = token


def _tensors(values):
    out = []
    for v in values:
        if isinstance(v, _Tensor):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            out.extend(x for x in v if isinstance(x, _Tensor))
    return tuple(out)


_new_record = tuple.__new__


def _call(name, fn, args, kwargs, opaque=False, run=None):
    """Run one op call while recording. opaque: a custom autograd.Function, one record whatever
    it runs inside, and none of its own when it runs inside another op (that op is the record).
    run: run(name, fn, args, kwargs) makes the call instead of fn(*args, **kwargs) (`dispatch`).
    Kept lean: it runs for every op while an observer is active."""
    global active
    frames = _frames
    frame = []
    frames.append(frame)
    if _timed:
        started = perf_counter()
        try:
            result = fn(*args, **kwargs) if run is None else run(name, fn, args, kwargs)
        finally:
            frames.pop()
        elapsed = perf_counter() - started
    else:
        started = elapsed = 0.0
        try:
            result = fn(*args, **kwargs) if run is None else run(name, fn, args, kwargs)
        finally:
            frames.pop()
    if opaque and frames:
        return result
    if isinstance(result, _Tensor):
        outputs = (result,)
    else:
        outputs = _tensors((result,))
        if not outputs:                  # a Python value (equal, allclose, ...): nothing to record
            return result
    inputs = _tensors(args)
    if kwargs:
        inputs += _tensors(kwargs.values())
    if not opaque and frame and _composed(frame, inputs, outputs):
        records = frame                  # a composition: seen as the ops it is made of
    else:
        records = (_new_record(OpRecord, (name, inputs, outputs, outputs[0]._node, started,
                                          elapsed)),)
    if frames:
        frames[-1].extend(records)
        return result
    observers = active
    active = None                        # ops an observer runs are not recorded
    try:
        for r in records:
            for observer in observers:
                observer(r)
    finally:
        active = observers
    return result


def _composed(frame, inputs, outputs):
    """Whether the records an op's inner ops made show the op: they make its outputs (connected
    to the graph as the op left them) and read only its inputs and each other's outputs. Else
    the op built its result itself (helpers ran inside it) and is one record."""
    known = {id(t) for t in inputs}
    maker = {}
    for r in frame:
        for t in r.inputs:
            if id(t) not in known:
                return False
        for t in r.outputs:
            known.add(id(t))
            maker[id(t)] = r
    for o in outputs:
        r = maker.get(id(o))
        if r is None and id(o) not in {id(t) for t in inputs}:
            return False
        if r is not None and r.outputs[0] is o and r.grad_fn is not o._node:
            return False
    return any(id(o) in maker for o in outputs)


def call_function(cls, apply, args, kwargs):
    """`Function.apply` while recording: one record named after the Function class."""
    return _call(cls.__name__, apply, args, kwargs, opaque=True)


# PyTorch's argument parser accepts NumPy's names for `dim` and `keepdim` on its C++ ops; these
# are written in Python in PyTorch and do not.
_NO_NUMPY_ALIASES = frozenset({"norm", "split", "unique", "unique_consecutive", "stft", "istft"})


def _numpy_aliases(fn, name):
    """{'axis': 'dim', 'keepdims': 'keepdim'} as far as fn takes dim / keepdim, or None."""
    if name in _NO_NUMPY_ALIASES:
        return None
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    aliases = {alias: real for alias, real in (("axis", "dim"), ("keepdims", "keepdim"))
               if real in params}
    return aliases or None


def _renamed(kwargs, aliases, name):
    for alias, real in aliases.items():
        if alias in kwargs:
            if real in kwargs:
                raise TypeError(f"{name}() received both '{real}' and its alias '{alias}'")
            kwargs[real] = kwargs.pop(alias)
    return kwargs


def _into_out(op, name, args, kwargs):
    """op(*args, out=t): computed as without `out`, then written into t (engine.ops._core.write_out);
    the one place every registered op handles PyTorch's `out=`."""
    kwargs = dict(kwargs)
    out = kwargs.pop("out")
    result = op(*args, **kwargs)
    if out is None:
        return result
    from ..ops._core import write_out
    return write_out(name, result, out)


def recorded(fn, name=None):
    """The op `fn` as the registry exposes it: a call is reported to the active observers.
    Ops taking `dim`/`keepdim` also accept NumPy's `axis`/`keepdims`, as PyTorch's do."""
    name = name or fn.__name__
    aliases = _numpy_aliases(fn, name)

    if aliases is None:
        def op(*args, **kwargs):
            if kwargs and "out" in kwargs:
                return _into_out(op, name, args, kwargs)
            if dispatch is None:
                if active is None:
                    return fn(*args, **kwargs)
                return _call(name, fn, args, kwargs)
            return dispatch(name, fn, args, kwargs)
    else:
        def op(*args, **kwargs):
            if kwargs:
                if "axis" in kwargs or "keepdims" in kwargs:
                    kwargs = _renamed(kwargs, aliases, name)
                if "out" in kwargs:
                    return _into_out(op, name, args, kwargs)
            if dispatch is None:
                if active is None:
                    return fn(*args, **kwargs)
                return _call(name, fn, args, kwargs)
            return dispatch(name, fn, args, kwargs)
    functools.update_wrapper(op, fn)
    op.__name__ = name
    op._recorded = True
    return op
