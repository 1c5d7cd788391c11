"""Whole-tensor writes: fill/fill_, zero_, copy_, resize_ (with their backward nodes); scatter_reduce
(src reduced into a copy of input at index: sum, prod, mean, amax, amin).
"""
import builtins
import numpy as np

from ..autograd.graph import Node, new_node
from ..autograd.grad_mode import state as _gs
from .._tensor import Tensor
from ..backend import device_of, to_device, xp_of
from ..autograd.views import _check_inplace, _rebase
from ._core import make_inplace, _finish, _finish_outputs, _inplace, _wdim, _isinst, _needs, _wrap, _write
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


# -- scatter_reduce: src's values reduced into input at index along dim --------------------------

_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def _reduce_at(r, key, sv, reduce):
    """r[key] (op)= sv with repeats reduced, in place: NumPy's ufunc.at, cupyx's scatter kernels
    on cuda (prod has none there: it is reduced on the host and copied back)."""
    ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
    if type(r) is np.ndarray:
        ufunc.at(r, key, sv)
        return r
    import cupyx
    if reduce in ("sum", "mean"):
        cupyx.scatter_add(r, key, sv)
    elif reduce == "amax":
        cupyx.scatter_max(r, key, sv)
    elif reduce == "amin":
        cupyx.scatter_min(r, key, sv)
    else:
        host = r.get()
        ufunc.at(host, tuple(k.get() if hasattr(k, "get") else k for k in key), sv.get())
        r[...] = to_device(host, device_of(r))
    return r


class ScatterReduceBackward0(Node):
    __slots__ = ("dim", "reduce", "include_self", "src_shape")
    formula = ("ScatterReduceBackward0: PyTorch's scatter_reduce_backward: sum: grad, grad.gather; mean: "
               "grad / count; amax/amin: grad split evenly among the elements equal to the result; prod: "
               "grad * result / element, with zeros handled by products that leave them out; "
               "include_self=False: self's gradient zero where anything was scattered")
    saved_names = ("self", "index", "src", "result")
    saved_attrs = ("dim", "reduce", "include_self")

    def backward(self, g):
        x, index, src, result = self.saved
        d, red, inc = self.dim, self.reduce, self.include_self
        src = src[tuple(slice(0, s) for s in index.shape)] if tuple(src.shape) != tuple(index.shape) else src
        if red == "sum":
            gx, gs = g, g.gather(d, index)
        elif red == "mean":
            n = ops.ones_like(g) if inc else ops.zeros_like(g)
            n = n.scatter_add(d, index, ops.ones_like(src))
            n = n.masked_fill(n == 0, 1)
            gx = g / n
            gs = gx.gather(d, index)
        elif red == "prod":
            masked_self = x.masked_fill(x == 0, 1)
            gx = g * scatter_reduce(masked_self, d, index, src, red, include_self=inc) / masked_self
            src_zero = src == 0
            zeros = ops.zeros_like(x).scatter_add(d, index, src_zero.to(x.dtype)).gather(d, index)
            single = src_zero & (zeros == 1)
            masked_src_result = scatter_reduce(x, d, index, src.masked_fill(single, 1), red, include_self=inc)
            gs = ops.where(single, (g * masked_src_result).gather(d, index),
                           (g * result).gather(d, index) / src.masked_fill(src_zero, 1))
        else:
            value = result.gather(d, index)
            self_is = (x == result).to(g.dtype)
            src_is = (src == value).to(g.dtype)
            share = g / self_is.scatter_add(d, index, src_is)
            gx = self_is * share
            gs = src_is * share.gather(d, index)
        if not inc:
            gx = gx.scatter(d, index, 0.0)
        nx = self._next
        gs_full = gs
        if nx[1][0] is not None and tuple(gs.shape) != tuple(self.src_shape):
            gs_full = ops.zeros(self.src_shape, dtype=g.dtype, device=g.device)
            gs_full[tuple(slice(0, s) for s in gs.shape)] = gs
        return (gx if nx[0][0] is not None else None), (gs_full if nx[1][0] is not None else None)


@op
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """A copy of input with src's values reduced into it at `index` along dim ("sum", "prod",
    "mean", "amax", "amin"); include_self=False leaves input's own values out of the reduction
    wherever something is scattered."""
    from .indexing import _scatter_idx
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if index._a.dtype not in (np.int64, np.int32):
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    if src.dtype != input.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if index.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    d = _wdim(dim, input.ndim)
    ia = index._a
    if any(i > n or i > m and k != d for k, (i, n, m) in enumerate(zip(ia.shape, src.shape, input.shape))):
        raise RuntimeError(f"Expected index {list(ia.shape)} to be no larger than self {list(input.shape)} apart "
                           f"from dimension {d} and to be no larger size than src {list(src.shape)}")
    if type(ia) is np.ndarray and ia.size and (ia.min() < 0 or ia.max() >= input.shape[d]):   # CPU: no read back
        bad = int(ia.min()) if ia.min() < 0 else int(ia.max())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {input.shape[d]}")
    key = _scatter_idx(ia, d)
    sv = src._a[tuple(slice(0, s) for s in ia.shape)]
    r = input._a.copy()
    xp = xp_of(r)
    if not include_self:
        if reduce in ("sum", "mean"):
            init = 0
        elif reduce == "prod":
            init = 1
        elif r.dtype.kind in "iub":
            info = np.iinfo(r.dtype) if r.dtype.kind != "b" else None
            init = (info.min if reduce == "amax" else info.max) if info else reduce == "amin"
        else:
            init = -np.inf if reduce == "amax" else np.inf
        r[key] = init
    _reduce_at(r, key, sv, reduce)
    if reduce == "mean":
        count = xp.full(r.shape, 1 if include_self else 0, dtype=r.dtype)
        _reduce_at(count, key, xp.ones(sv.shape, dtype=r.dtype), "sum")
        count[count == 0] = 1
        r = r // count if r.dtype.kind in "iu" else r / count
    t = _wrap(r.astype(input._a.dtype, copy=False))
    if _needs(input, src):
        n = new_node(ScatterReduceBackward0)
        n.dim, n.reduce, n.include_self, n.src_shape = d, reduce, bool(include_self), src._a.shape
        _finish_outputs((t,), n, (input, src), (input, index, src, t))
    return t


scatter_reduce_ = op(make_inplace(scatter_reduce), "scatter_reduce_", function=False)
