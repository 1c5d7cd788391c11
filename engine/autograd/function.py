"""`autograd.Function`: user-defined ops with a forward and a hand-written backward.

`MyOp.apply(*args)` runs `forward(ctx, *args)` without recording, then (when any tensor
input requires grad) makes the outputs' grad_fn a node named `MyOpBackward` whose
backward calls `MyOp.backward(ctx, *grads)`. The node *is* the ctx, as in PyTorch:
`ctx.save_for_backward`, `ctx.saved_tensors` (version-checked), `ctx.needs_input_grad`,
`ctx.mark_non_differentiable`, `ctx.mark_dirty`, `ctx.set_materialize_grads`. The
`setup_context(ctx, inputs, output)` style (forward without ctx) works too.
Built-in engine code may use it for new ops (e.g. conv2d): inside forward, `x._a` is
the raw array and `engine._tensor._from_array(arr)` wraps a result without copying.
"""
from .grad_mode import state as _gs
from .graph import Node, new_node, _SavedOutput
from .saved_hooks import _stack as _saved_hooks, _Packed
from . import recording
from .._dtype import is_floating

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


class BackwardCFunction(Node):
    """The node/ctx of a custom Function."""
    __slots__ = ("_fn", "needs_input_grad", "_tensor_pos", "_nargs", "_non_diff", "_materialize",
                 "_to_save", "_dirty", "__dict__")

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        pass

    @property
    def saved_tensors(self):
        return self.saved

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        """Declare inputs that forward modified in place (and returns): they get a version bump and
        this node as their grad_fn, as if the Function were a built-in in-place op."""
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self._materialize = bool(value)

    def _apply(self, grads):
        from ..ops import zeros
        if self._materialize:
            grads = [g if g is not None else zeros(m[0], dtype=None, device=None).to(_np_to_dtype(m[1]))
                     for g, m in zip(grads, self._meta)]
        res = self._fn.backward(self, *grads)
        if not isinstance(res, tuple):
            res = (res,)
        if len(res) < self._nargs:
            if len(res) != len(self._tensor_pos):
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                                   f"(expected {self._nargs}, got {len(res)})")
            return res
        if len(res) > self._nargs:
            extra = res[self._nargs:]
            if any(r is not None for r in extra):
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                                   f"(expected {self._nargs}, got {len(res)})")
        return tuple(res[i] for i in self._tensor_pos)


FunctionCtx = BackwardCFunction


def _np_to_dtype(npdt):
    from .._dtype import from_np
    return from_np(npdt)


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"__slots__": ()})


def name_node(function, name: str, formula: str) -> None:
    """Give a Function's graph node PyTorch's name and a one-line formula, for
    `grad_fn.name()` and the debugger."""
    function._backward_cls._name = name
    function._backward_cls.formula = f"{name}: {formula}"


class Function(metaclass=_FunctionMeta):
    """Subclass with static `forward(ctx, ...)` and `backward(ctx, *grads)`; call `.apply(...)`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward
    setup_context = None

    @classmethod
    def apply(cls, *args, **kwargs):
        if recording.active is not None:
            return recording.call_function(cls, cls._apply_forward, args, kwargs)
        return cls._apply_forward(*args, **kwargs)

    @classmethod
    def _apply_forward(cls, *args, **kwargs):
        from .._tensor import Tensor
        from ..ops._core import _e
        from .views import _rebase
        ctx = cls._backward_cls.__new__(cls._backward_cls)
        ctx._fn = cls
        ctx._non_diff = ()
        ctx._materialize = True
        ctx._to_save = ()
        ctx._dirty = ()
        ctx._x = None
        tensor_pos = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._rg for a in args)
        record = _gs.enabled and any(ctx.needs_input_grad)
        prev = _gs.enabled
        _gs.enabled = False
        try:
            if cls.setup_context is not None and _forward_takes_no_ctx(cls):
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            _gs.enabled = prev
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        dirty = {id(t) for t in ctx._dirty}
        if dirty:
            for t in ctx._dirty:
                t._ver[0] += 1
            if not dirty <= {id(o) for o in outs}:
                raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                                   "output. The inputs that are modified inplace must all be outputs of the Function.")
        if not record:
            return out
        ctx._seq = new_node(BackwardCFunction)._seq
        if _gs.anomaly:
            import traceback
            ctx._x = {"trace": "".join(traceback.format_stack()[:-2])}
        ctx._tensor_pos = tensor_pos
        ctx._nargs = len(args)
        ctx._next = tuple(_e(args[i]) for i in tensor_pos)
        wrapped = []
        metas = []
        inputs_by_id = {id(args[i]) for i in tensor_pos}
        for i, o in enumerate(outs):
            if isinstance(o, Tensor):
                if id(o) in dirty:            # modified in place: o itself now comes from this node
                    if o._node is None and o._rg:
                        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                                           "operation.")
                elif id(o) in inputs_by_id:   # returning an input: PyTorch returns a view of it
                    o = _alias(o)
                metas.append((o._a.shape, o._a.dtype))
                if id(o) in dirty:
                    _rebase(o, ctx, i, bump=False)
                elif id(o) not in ctx._non_diff and is_floating(o._a.dtype):
                    o._node, o._nr, o._rg = ctx, i, True
            else:
                metas.append(((), None))
            wrapped.append(o)
        ctx._meta = tuple(metas)
        saved = []
        vers = []
        out_ids = {id(o): o for o in wrapped if isinstance(o, Tensor)}
        for s in ctx._to_save:
            if s is None:
                saved.append(None)
                vers.append(None)
            elif id(s) in out_ids and s._node is ctx:
                saved.append(_SavedOutput(s))
                vers.append(s._ver[0])
            else:
                saved.append(s)
                vers.append(s._ver[0])
        if _saved_hooks:                  # saved_tensors_hooks: keep what pack_hook returns
            saved = [_Packed(next(o for o in wrapped if isinstance(o, Tensor) and o._a is s.a), True)
                     if type(s) is _SavedOutput else _Packed(s, False) if isinstance(s, Tensor) else s
                     for s in saved]
        ctx._saved = tuple(saved)
        ctx._sver = tuple(vers)
        ctx._to_save = ctx._dirty = ()
        return wrapped[0] if single else tuple(wrapped)


def _alias(t):
    from .._tensor import _from_array
    a = _from_array(t._a)
    a._ver = t._ver
    return a


def _forward_takes_no_ctx(cls):
    import inspect
    try:
        params = list(inspect.signature(cls.forward).parameters)
    except (TypeError, ValueError):
        return False
    return not params or params[0] != "ctx"


def once_differentiable(fn):
    """Decorator for backward: run it without recording (its result is not differentiable again)."""
    import functools
    from .grad_mode import no_grad

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
