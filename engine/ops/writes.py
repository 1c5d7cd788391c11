"""Whole-tensor writes: fill/fill_, zero_, copy_, resize_ (with their backward nodes).
"""
import builtins
import numpy as np

from ..autograd.graph import Node, new_node
from ..autograd.grad_mode import state as _gs
from .._tensor import Tensor
from ..backend import device_of, to_device
from ..autograd.views import _check_inplace, _rebase
from ._core import _finish, _inplace, _isinst, _needs, _wrap, _write
from ._registry import op
from .. import ops


class FillBackward2(Node):
    """In-place `fill_(scalar)` (PyTorch's FillBackward2; FillBackward0 is its out-of-place fill)."""
    __slots__ = ()
    _name = "FillBackward2"
    formula = "FillBackward2: self: zeros_like(grad)"

    def backward(self, g):
        return ops.zeros_like(g)


class ZeroBackward0(FillBackward2):
    __slots__ = ()
    _name = "ZeroBackward0"
    formula = "ZeroBackward0: self: zeros_like(grad)"


@op
def zero_(self):
    if not (_gs.enabled and self._rg):
        _check_inplace(self)
        self._a.fill(0)
        self._ver[0] += 1
        return self
    return _inplace(self, lambda x: _fill_rec(x, 0, ZeroBackward0), ())


@op
def fill_(self, value):
    if _isinst(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
        if _gs.enabled and (value._rg or self._rg):
            return _inplace(self, _fill_tensor_rec, (value,))
        value = value.item()
    if not (_gs.enabled and self._rg):
        _check_inplace(self)
        self._a.fill(value)
        self._ver[0] += 1
        return self
    return _inplace(self, lambda x: _fill_rec(x, value, FillBackward2), ())


class FillBackward3(Node):
    """In-place `fill_(value)` with a 0-dim tensor value (PyTorch's FillBackward3)."""
    __slots__ = ()
    formula = "FillBackward3: self: zeros_like(grad), value: grad.sum()"

    def backward(self, g):
        n = self._next
        return (ops.zeros_like(g) if n[0][0] is not None else None,
                g.sum() if n[1][0] is not None else None)


class FillBackward0(FillBackward2):
    """Out-of-place `fill(input, scalar)`."""
    __slots__ = ()
    _name = "FillBackward0"
    formula = "FillBackward0: self: zeros_like(grad)"


class FillBackward1(FillBackward3):
    """Out-of-place `fill(input, value)` with a 0-dim tensor value."""
    __slots__ = ()
    _name = "FillBackward1"
    formula = "FillBackward1: self: zeros_like(grad), value: grad.sum()"


@op(method=False)
def fill(input, value):
    """A tensor like input (shape, dtype, device) filled with value (a number or a 0-dim tensor)."""
    if _isinst(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
        t = ops.full_like(input, value.item())
        if _needs(input, value):
            _finish(t, new_node(FillBackward1), (input, value))
        return t
    t = ops.full_like(input, value)
    if _needs(input):
        _finish(t, new_node(FillBackward0), (input,))
    return t


def _fill_tensor_rec(x, value):
    t = ops.full_like(x, value.item())
    _finish(t, new_node(FillBackward3), (x, value))
    return t


def _fill_rec(x, value, cls):
    t = ops.full_like(x, value)
    if _gs.enabled and x._rg:
        _finish(t, new_node(cls), (x,))
    return t


class CopyBackwards(Node):
    __slots__ = ("src_dtype", "src_device")
    formula = "CopyBackwards: self: zeros_like(grad), src: grad.to(src.dtype)"

    def backward(self, g):
        n = self._next
        return (ops.zeros_like(g) if n[0][0] is not None else None,
                g.to(dtype=self.src_dtype, device=self.src_device) if n[1][0] is not None else None)


@op(function=False)
def copy_(self, src, non_blocking=False):
    """Copy src's values into self (broadcasting), in place."""
    _check_inplace(self, src)
    s = src._a if _isinst(src, Tensor) else np.asarray(src)
    if device_of(s) != device_of(self._a):
        s = to_device(s, self.device)
    rec = _gs.enabled and (self._rg or (_isinst(src, Tensor) and src._rg))
    if rec:     # connected as any op (edges to self's history before the write and to src); then
        n = new_node(CopyBackwards)         # self itself is rebased onto the node
        n.src_dtype, n.src_device = s.dtype, device_of(src._a)
        _finish(_wrap(self._a), n, (self, src))
    _write(self, s.astype(self._a.dtype) if s.dtype != self._a.dtype else s)
    if rec:
        _rebase(self, n)
    else:
        self._ver[0] += 1
    return self


def _write_elementwise(self, name, values):
    if self._rg:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                        f"var.detach().{name}() instead.")
    if self.device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    # as PyTorch's, which writes the storage directly: the version counter does not move
    _write(self, np.asarray(values, dtype=self._a.dtype).reshape(self._a.shape))
    return self


@op(function=False)
def apply_(self, callable):
    """callable(x) for each element x, written in place (Python numbers in, CPU only)."""
    return _write_elementwise(self, "apply_", [callable(v) for v in self._a.ravel().tolist()])


@op(function=False)
def map_(self, tensor, callable):
    """callable(x, y) for each element x and the element y of `tensor` broadcast to self's shape,
    written in place (CPU only)."""
    other = np.broadcast_to(tensor._a, self._a.shape).ravel().tolist()
    return _write_elementwise(self, "map_", [callable(x, y) for x, y in
                                             zip(self._a.ravel().tolist(), other)])


def _copy_of(g):
    """A copy of g recorded as PyTorch's `empty.copy_(g)` (CopyBackwards with no self input)."""
    t = _wrap(g._a.copy())
    if _gs.enabled and g._rg:
        n = new_node(CopyBackwards)
        n.src_dtype, n.src_device = g._a.dtype, device_of(g._a)
        _finish(t, n, (None, g))
    return t


def _iop(fn):
    def op(self, other):
        return fn(self, other)
    return op


@op(function=False)
def resize_(self, *size):
    shape = ops.factories._size_args(size)
    a = self._a
    n = int(np.prod(shape))
    flat = a.reshape(-1)
    new = np.zeros(n, a.dtype)
    new[:builtins.min(n, flat.size)] = flat[:builtins.min(n, flat.size)]
    self._a = new.reshape(shape)
    return self
