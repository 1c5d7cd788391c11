"""Reductions: sum, mean, prod, cumsum/cumprod, max/min/amax/amin, var/std, norm, logsumexp,
softmax/log_softmax, cummax/cummin, logcumsumexp, aminmax, median, dist, trapezoid, cov.
"""
import builtins
import math
import numpy as np

from ..autograd.graph import Node, _SavedOutput, new_node
from .. import _dtype
from .._tensor import Tensor
from ..autograd.grad_mode import state as _gs
from ..backend import xp_of
from ._core import return_type, _finish_outputs, _dims, _finish, _float_array, _isinst, _keep_shape, _ndarray, _needs, _ns, _res, _save_result, _sum_all, _type_word, _wdim, _wrap
from ._registry import op
from .. import ops
from .._dtype import is_floating


class SumBackward0(Node):
    __slots__ = ("shape",)
    formula = "SumBackward0: self: grad.expand(self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.expand(self.shape)


class SumBackward1(Node):
    __slots__ = ("shape", "dims", "keepdim")
    formula = "SumBackward1: self: grad (unsqueezed at dim unless keepdim).expand(self.shape)"
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        if not self.keepdim:
            g = g.reshape(_keep_shape(self.shape, self.dims))
        return g.expand(self.shape)


def _acc_dtype(a, dtype):
    if dtype is not None:
        return _dtype.to_np(dtype)
    return np.dtype(np.int64) if a.dtype.kind in "iub" else None


@op
def sum(input, dim=None, keepdim=False, *, dtype=None):
    if not _isinst(input, Tensor):
        return builtins.sum(input) if dim is None else builtins.sum(input, dim)
    a = input._a
    adt = _acc_dtype(a, dtype)
    if dim is None:
        r = _sum_all(a) if adt is None else a.sum(dtype=adt)
        t = _wrap(_res(r))
        if _gs.enabled and input._rg:
            n = new_node(SumBackward0)
            n.shape = a.shape
            _finish(t, n, (input,))
        return t
    dims = _dims(dim, a.ndim)
    r = a.sum(axis=dims, keepdims=keepdim, dtype=adt)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(SumBackward1)
        n.shape, n.dims, n.keepdim = a.shape, dims, keepdim
        _finish(t, n, (input,))
    return t


class NansumBackward0(Node):
    __slots__ = ("shape", "dims", "keepdim")
    formula = "NansumBackward0: self: grad (unsqueezed at dim unless keepdim).expand(self.shape) * self.isnan().logical_not()"
    saved_names = ("self",)
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        x, = self.saved
        if not self.keepdim:
            g = g.reshape(_keep_shape(self.shape, self.dims))
        return g.expand(self.shape) * ops.logical_not(ops.isnan(x))


@op
def nansum(input, dim=None, keepdim=False):
    """The sum with NaNs counted as zero."""
    a = input._a
    dims = tuple(range(a.ndim)) if dim is None else _dims(dim, a.ndim)
    t = _wrap(_res(_ns(a).nansum(a, axis=dims, keepdims=keepdim)))
    if _needs(input):
        n = new_node(NansumBackward0)
        n.shape, n.dims, n.keepdim = a.shape, dims, keepdim
        _finish(t, n, (input,), (input,))
    return t


class MeanBackward0(Node):
    __slots__ = ("shape", "numel")
    formula = "MeanBackward0: self: grad.expand(self.shape) / self.numel()"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.expand(self.shape) / self.numel


class MeanBackward1(Node):
    __slots__ = ("shape", "dims", "keepdim", "count")
    formula = "MeanBackward1: self: grad (unsqueezed at dim).expand(self.shape) / count"
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        if not self.keepdim:
            g = g.reshape(_keep_shape(self.shape, self.dims))
        return g.expand(self.shape) / self.count


@op
def mean(input, dim=None, keepdim=False, *, dtype=None):
    a = input._a
    if dtype is not None:
        a = a.astype(_dtype.to_np(dtype))
    if not is_floating(a.dtype):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating "
                           f"point or complex dtype. Got: {_dtype.from_np(a.dtype).name.capitalize().replace('Int64', 'Long')}")
    if dim is None:
        t = _wrap(_res(_sum_all(a) / a.size if is_floating(a.dtype) and a.itemsize >= 4 else a.mean()))
        if _gs.enabled and input._rg:
            n = new_node(MeanBackward0)
            n.shape, n.numel = a.shape, a.size
            _finish(t, n, (input,))
        return t
    dims = _dims(dim, a.ndim)
    t = _wrap(_res(a.mean(axis=dims, keepdims=keepdim)))
    if _gs.enabled and input._rg:
        n = new_node(MeanBackward1)
        n.shape, n.dims, n.keepdim = a.shape, dims, keepdim
        n.count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        _finish(t, n, (input,))
    return t


class ProdBackward0(Node):
    __slots__ = ("shape",)
    formula = "ProdBackward0: self: grad * (product of all other elements)"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        return g.expand(self.shape) * _prod_others(x, None)


class ProdBackward1(Node):
    __slots__ = ("shape", "dim", "keepdim")
    formula = "ProdBackward1: self: grad * (product of the other elements along dim)"
    saved_names = ("self", "result")
    saved_attrs = ("dim", "keepdim")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            g = g.unsqueeze(self.dim)
        return g.expand(self.shape) * _prod_others(x, self.dim)


def _prod_others(x, dim):
    """For each element, the product of the other elements (of all, or along dim); zero-safe."""
    if dim is None:
        flat = x.reshape(-1)
        return _prod_others(flat, 0).reshape(x.shape)
    n = x.shape[dim]
    if n == 0:
        return ops.zeros_like(x)
    ones_shape = list(x.shape)
    ones_shape[dim] = 1
    one = ops.ones(ones_shape, dtype=x.dtype, device=x.device)
    left = ops.cat([one, x.narrow(dim, 0, n - 1)], dim).cumprod(dim)          # exclusive prefix products
    right = ops.cat([x.narrow(dim, 1, n - 1), one], dim).flip(dim).cumprod(dim).flip(dim)  # suffix
    return left * right


def _multiply_reduce(a, axis, keepdims, dtype):
    """a.prod(...), calling NumPy's ufunc from here so that an overflow's RuntimeWarning comes
    from engine code, which engine._warnings silences (PyTorch gives inf silently)."""
    if type(a) is np.ndarray:
        return np.multiply.reduce(a, axis=axis, dtype=dtype, keepdims=keepdims)
    return a.prod(axis=axis, keepdims=keepdims, dtype=dtype)


@op
def prod(input, dim=None, keepdim=False, *, dtype=None):
    a = input._a
    adt = _acc_dtype(a, dtype)
    if dim is None:
        t = _wrap(_res(_multiply_reduce(a, None, False, adt)))
        if _gs.enabled and input._rg:
            n = new_node(ProdBackward0)
            n.shape = a.shape
            _finish(t, n, (input,))
            n._saved = (input, _SavedOutput(t))
            n._sver = (input._ver[0], 0)
        return t
    d = _wdim(dim, a.ndim)
    t = _wrap(_res(_multiply_reduce(a, d, keepdim, adt)))
    if _gs.enabled and input._rg:
        n = new_node(ProdBackward1)
        n.shape, n.dim, n.keepdim = a.shape, d, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class CumsumBackward0(Node):
    __slots__ = ("dim",)
    formula = "CumsumBackward0: self: grad.flip(dim).cumsum(dim).flip(dim)"
    saved_attrs = ("dim",)

    def backward(self, g):
        return g.flip(self.dim).cumsum(self.dim).flip(self.dim)


@op
def cumsum(input, dim, *, dtype=None):
    a = input._a
    d = _wdim(dim, a.ndim)
    r = _ns(a).cumsum(a, axis=d if a.ndim else None, dtype=_acc_dtype(a, dtype)).reshape(a.shape)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(CumsumBackward0)
        n.dim = d
        _finish(t, n, (input,))
    return t


class CumprodBackward0(Node):
    __slots__ = ("dim",)
    formula = "CumprodBackward0: self: reverse cumsum of (grad * result) / self"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        d = self.dim
        if not bool((x._a == 0).any()):
            return (g * r).flip(d).cumsum(d).flip(d) / x
        # zeros present: d out_j / d x_i = prod_{k <= j, k != i} x_k, built column by column
        n = x.shape[d]
        pos = ops.arange(n, device=x.device).reshape((n,) + (1,) * (x.ndim - 1 - d))
        cols = []
        for i in range(n):
            xi = ops.where(ops.eq(pos, i), ops.ones_like(x), x)
            cols.append((g * xi.cumprod(d)).narrow(d, i, n - i).sum(d))
        return ops.stack(cols, d)


@op
def cumprod(input, dim, *, dtype=None):
    a = input._a
    d = _wdim(dim, a.ndim)
    if type(a) is np.ndarray:   # the ufunc called here: an overflow is engine's (silenced), not numpy's
        r = np.multiply.accumulate(a.reshape(-1) if a.ndim == 0 else a, axis=d, dtype=_acc_dtype(a, dtype))
        r = r.reshape(a.shape)
    else:
        r = _ns(a).cumprod(a, axis=d if a.ndim else None, dtype=_acc_dtype(a, dtype)).reshape(a.shape)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(CumprodBackward0)
        n.dim = d
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


def _scale_by_count(g, mask, dims):
    m = mask.to(g.dtype)
    return g * m / m.sum(dims, keepdim=True)


class SplitAmongEqual(Node):
    """The backward of a full reduction that selects a value (max, min, median of all elements):
    the gradient split evenly among the elements equal to the result."""
    __slots__ = ()
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        m = ops.eq(x, r).to(g.dtype)
        return m * (g / m.sum())


class MaxBackward1(SplitAmongEqual):
    __slots__ = ()
    formula = "MaxBackward1: self: grad evenly split among the elements equal to the max"


class MinBackward1(MaxBackward1):
    __slots__ = ()
    formula = "MinBackward1: self: grad evenly split among the elements equal to the min"


class ScatterToIndices(Node):
    """The backward of a reduction along `dim` that selects one element per slice (max, min,
    median, kthvalue, mode with a dim): the gradient goes to the selected indices."""
    __slots__ = ("shape", "dim", "keepdim")
    saved_names = ("indices",)
    saved_attrs = ("dim", "keepdim")

    def backward(self, g):
        idx, = self.saved
        if not self.shape:
            return g
        if not self.keepdim:
            g, idx = g.unsqueeze(self.dim), idx.unsqueeze(self.dim)
        return ops.zeros(self.shape, dtype=g.dtype, device=g.device).scatter(self.dim, idx, g)


class MaxBackward0(ScatterToIndices):
    __slots__ = ()
    formula = "MaxBackward0: self: grad scattered to indices (zeros elsewhere)"


class MinBackward0(MaxBackward0):
    __slots__ = ()
    formula = "MinBackward0: self: grad scattered to indices (zeros elsewhere)"


class AmaxBackward0(Node):
    __slots__ = ("dims", "keepdim")
    formula = "AmaxBackward0: self: grad evenly split among the maxima along dim"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        return _scale_by_count(g, ops.eq(x, r), self.dims)


class AminBackward0(AmaxBackward0):
    __slots__ = ()
    formula = "AminBackward0: self: grad evenly split among the minima along dim"


_RETURN_TYPES = {n: return_type(n) for n in ("max", "min", "sort", "topk", "kthvalue", "mode", "median")}


def values_indices(values, indices, name="max"):
    """PyTorch's torch.return_types.<name> (values, indices) namedtuple."""
    return _RETURN_TYPES[name](values, indices)


def _minmax(input, dim, keepdim, other, is_max):
    if _isinst(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        return ops.maximum(input, other) if is_max else ops.minimum(input, other)
    a = input._a
    if dim is None:
        if a.size == 0:
            raise RuntimeError(f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        t = _wrap(_res(a.max() if is_max else a.min()))
        if _gs.enabled and input._rg:
            n = new_node(MaxBackward1 if is_max else MinBackward1)
            _finish(t, n, (input,))
            n._saved = (input, _SavedOutput(t))
            n._sver = (input._ver[0], 0)
        return t
    d = _wdim(dim, a.ndim)
    xp = _ns(a)
    if a.ndim == 0:
        idx = xp.zeros((), np.int64)
        vals = a.copy()
    else:
        idx = (a.argmax if is_max else a.argmin)(axis=d)
        if is_floating(a.dtype):  # PyTorch propagates NaN: index of the first NaN wins
            nanpos = xp.isnan(a)
            if nanpos.any():
                has = nanpos.any(axis=d)
                idx = xp.where(has, nanpos.argmax(axis=d), idx)
        idx = idx.astype(np.int64)
        vals = xp.take_along_axis(a, xp.expand_dims(idx, d), d)
        if not keepdim:
            vals = vals.squeeze(d)
        else:
            idx = xp.expand_dims(idx, d)
    t = _wrap(_res(vals))
    it = _wrap(_res(idx))
    if _gs.enabled and input._rg:
        n = new_node(MaxBackward0 if is_max else MinBackward0)
        n.shape, n.dim, n.keepdim = a.shape, d, keepdim
        _finish(t, n, (input,))
        n._saved = (it,)
        n._sver = (0,)
    return values_indices(t, it, "max" if is_max else "min")


@op
def max(input, dim=None, keepdim=False, *, other=None):
    """max(x) -> value; max(x, dim, keepdim) -> (values, indices); max(x, y) -> maximum."""
    return _minmax(input, dim, keepdim, other, True)


@op
def min(input, dim=None, keepdim=False, *, other=None):
    return _minmax(input, dim, keepdim, other, False)


def _extreme(input, dim, keepdim, reduce, cls):
    """amax/amin: `reduce` is the array method ("max"/"min"); the gradient is split evenly
    among the elements equal to the result."""
    a = input._a
    dims = _dims(dim if dim != () else None, a.ndim)
    t = _wrap(_res(getattr(a, reduce)(axis=dims, keepdims=keepdim)))
    if _gs.enabled and input._rg:
        n = new_node(cls)
        n.dims, n.keepdim = dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


@op
def amax(input, dim=(), keepdim=False):
    return _extreme(input, dim, keepdim, "max", AmaxBackward0)


@op
def amin(input, dim=(), keepdim=False):
    return _extreme(input, dim, keepdim, "min", AminBackward0)


@op
def argmax(input, dim=None, keepdim=False):
    a = input._a
    if dim is None:
        return _wrap(_res(np.asarray(a.argmax()).astype(np.int64)) if type(a) is _ndarray else a.argmax())
    r = a.argmax(axis=_wdim(dim, a.ndim))
    if keepdim:
        r = _ns(r).expand_dims(r, dim)
    return _wrap(_res(r.astype(np.int64)))


@op
def argmin(input, dim=None, keepdim=False):
    a = input._a
    if dim is None:
        return _wrap(_res(np.asarray(a.argmin()).astype(np.int64)) if type(a) is _ndarray else a.argmin())
    r = a.argmin(axis=_wdim(dim, a.ndim))
    if keepdim:
        r = _ns(r).expand_dims(r, dim)
    return _wrap(_res(r.astype(np.int64)))


class VarBackward0(Node):
    __slots__ = ("dims", "correction", "keepdim", "count")
    formula = "VarBackward0: self: grad * 2 * (self - mean) / (N - correction)"
    saved_names = ("self",)
    saved_attrs = ("dims", "correction", "keepdim")

    def backward(self, g):
        x, = self.saved
        return _var_grad(self, x, g)


def _var_grad(n, x, g):
    """var's gradient for node n (dims, correction, keepdim, count) at input x, grad g."""
    if not n.keepdim:
        g = g.reshape(_keep_shape(x.shape, n.dims))
    dof = n.count - n.correction        # PyTorch's var_backward: no clamp, and over all
    if dof <= 0 and len(n.dims) == x.ndim:   # dims inf (nan where x equals the mean)
        return g * ops.where(ops.eq(x, x.mean()), ops.full_like(x, math.nan), ops.full_like(x, math.inf))
    return g * (2.0 / dof if dof else math.inf) * (x - x.mean(n.dims, keepdim=True))


class StdBackward0(Node):
    __slots__ = ("dims", "correction", "keepdim", "count")
    formula = "StdBackward0: self: grad * (self - mean) / ((N - correction) * result)"
    saved_names = ("self", "result")
    saved_attrs = ("dims", "correction", "keepdim")

    def backward(self, g):
        x, r = self.saved
        return _std_grad(self, x, r, g)


def _std_grad(n, x, r, g):
    """std's gradient for node n (dims, correction, keepdim, count) at input x, result r, grad g."""
    if not n.keepdim:
        shape = _keep_shape(x.shape, n.dims)
        g, r = g.reshape(shape), r.reshape(shape)
    scaled = ops.where(ops.eq(r, 0), ops.zeros_like(r), g / (r * builtins.max(n.count - n.correction, 0)))
    return scaled * (x - x.mean(n.dims, keepdim=True))


def _mean_grad(n, x, g):
    if not n.keepdim:
        g = g.reshape(_keep_shape(x.shape, n.dims))
    return g.expand(x.shape) / n.count


def _var_args(dim, unbiased, correction):
    if _isinst(dim, bool):       # var(x, False): the old unbiased positional
        unbiased, dim = dim, None
    if correction is None:
        correction = 1 if (unbiased is None or unbiased) else 0
    return dim, correction


@op
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, corr = _var_args(dim, unbiased, correction)
    a = input._a
    dims = _dims(dim, a.ndim)
    count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a.var(axis=dims, ddof=corr, keepdims=keepdim) if count - corr > 0 else \
            _ns(a).full(_keep_shape(a.shape, dims) if keepdim else tuple(s for i, s in enumerate(a.shape) if i not in dims), np.nan, a.dtype)
    t = _wrap(_res(r.astype(a.dtype, copy=False)))
    if _gs.enabled and input._rg:
        n = new_node(VarBackward0)
        n.dims, n.correction, n.keepdim, n.count = dims, corr, keepdim, count
        _finish(t, n, (input,), (input,))
    return t


@op
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, corr = _var_args(dim, unbiased, correction)
    a = input._a
    dims = _dims(dim, a.ndim)
    count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        r = _ns(a).sqrt(a.var(axis=dims, ddof=corr, keepdims=keepdim)) if count - corr > 0 else \
            _ns(a).full(_keep_shape(a.shape, dims) if keepdim else tuple(s for i, s in enumerate(a.shape) if i not in dims), np.nan, a.dtype)
    t = _wrap(_res(r.astype(a.dtype, copy=False)))
    if _gs.enabled and input._rg:
        n = new_node(StdBackward0)
        n.dims, n.correction, n.keepdim, n.count = dims, corr, keepdim, count
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class VarMeanBackward0(Node):
    __slots__ = ("dims", "correction", "keepdim", "count")
    formula = "VarMeanBackward0: self: var's gradient (grads[0]) + grads[1].expand(self.shape) / N"
    saved_names = ("self",)
    saved_attrs = ("dims", "correction", "keepdim")

    def _apply(self, grads):
        x, = self.saved
        gv, gm = grads
        parts = ([_var_grad(self, x, gv)] if gv is not None else []) + ([_mean_grad(self, x, gm)] if gm is not None else [])
        return (parts[0] if len(parts) == 1 else parts[0] + parts[1],) if parts else (None,)


class StdMeanBackward0(Node):
    __slots__ = ("dims", "correction", "keepdim", "count")
    formula = "StdMeanBackward0: self: std's gradient (grads[0]) + grads[1].expand(self.shape) / N"
    saved_names = ("self", "result0")
    saved_attrs = ("dims", "correction", "keepdim")

    def _apply(self, grads):
        x, r = self.saved
        gs, gm = grads
        parts = ([_std_grad(self, x, r, gs)] if gs is not None else []) + ([_mean_grad(self, x, gm)] if gm is not None else [])
        return (parts[0] if len(parts) == 1 else parts[0] + parts[1],) if parts else (None,)


def _moment_and_mean(input, dim, unbiased, keepdim, correction, moment, node_cls):
    """(moment, mean) computed without recording, then both connected to one node_cls node."""
    prev = _gs.enabled
    _gs.enabled = False
    try:
        r = moment(input, dim, unbiased, keepdim, correction=correction)
        m = mean(input, _var_args(dim, unbiased, correction)[0], keepdim)
    finally:
        _gs.enabled = prev
    if _needs(input):
        dims = _dims(_var_args(dim, unbiased, correction)[0], input.ndim)
        n = new_node(node_cls)
        n.dims, n.correction, n.keepdim = dims, _var_args(dim, unbiased, correction)[1], keepdim
        n.count = int(np.prod([input.shape[d] for d in dims])) if dims else 1
        _finish_outputs((r, m), n, (input,), (input, r) if node_cls is StdMeanBackward0 else (input,))
    return r, m


@op
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over dim, one node for both as in PyTorch."""
    return _moment_and_mean(input, dim, unbiased, keepdim, correction, var, VarMeanBackward0)


@op
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over dim, one node for both as in PyTorch."""
    return _moment_and_mean(input, dim, unbiased, keepdim, correction, std, StdMeanBackward0)


class LinalgVectorNormBackward0(Node):
    __slots__ = ("ord", "dims", "keepdim")
    formula = "LinalgVectorNormBackward0: self: grad * self * |self|^(p-2) / norm^(p-1)  (p=2: grad * self / norm)"
    saved_names = ("self", "result")
    saved_attrs = ("ord", "dims", "keepdim")

    def backward(self, g):
        x, r = self.saved
        p = self.ord
        if not self.keepdim and self.dims is not None:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        if p == 0:
            return ops.zeros_like(x)
        if p == 1:
            return g * ops.sign(x)
        if p == 2:
            return ops.where(ops.eq(r, 0), ops.zeros_like(r), g / r) * x
        if math.isinf(p):
            m = ops.eq(ops.abs(x), r)
            return ops.sign(x) * _scale_by_count(g, m, self.dims if self.dims is not None else tuple(range(x.ndim)))
        return ops.where(ops.eq(r, 0), ops.zeros_like(r), g / ops.pow(r, p - 1)) * x * ops.pow(ops.abs(x), p - 2)


@op
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over all elements or over `dim` ("fro" means 2)."""
    if p == "fro" or p is None:
        p = 2
    if _isinst(p, str):
        raise RuntimeError(f"norm: unsupported p={p!r}")
    a = input._a
    if not is_floating(a.dtype):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype.name.capitalize()}")
    dims = _dims(dim, a.ndim) if dim is not None else None
    ax = dims if dims is not None else None
    aa = _ns(a).abs(a)
    if p == 2:
        r = _ns(a).sqrt((a * a).sum(axis=ax, keepdims=keepdim))
    elif p == 1:
        r = aa.sum(axis=ax, keepdims=keepdim)
    elif math.isinf(p):
        r = aa.max(axis=ax, keepdims=keepdim) if p > 0 else aa.min(axis=ax, keepdims=keepdim)
    elif p == 0:
        r = (a != 0).sum(axis=ax, keepdims=keepdim).astype(a.dtype)
    else:
        r = (aa ** p).sum(axis=ax, keepdims=keepdim) ** (1.0 / p)
    r = _res(r)
    t = _wrap(r if r.dtype == a.dtype else r.astype(a.dtype))
    if _gs.enabled and input._rg:
        n = new_node(LinalgVectorNormBackward0)
        n.ord, n.dims, n.keepdim = p, dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class LogsumexpBackward0(Node):
    __slots__ = ("dims", "keepdim")
    formula = "LogsumexpBackward0: self: grad * exp(self - result)"
    saved_names = ("self", "result")
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        return g * ops.exp(x - r)


@op
def logsumexp(input, dim, keepdim=False):
    a = _float_array(input._a)
    dims = _dims(dim, a.ndim)
    xp = _ns(a)
    if a.size == 0:
        r = xp.log(xp.exp(a).sum(axis=dims, keepdims=keepdim))
    else:
        m = a.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        r = xp.log(xp.exp(a - m).sum(axis=dims, keepdims=True)) + m
        if not keepdim:
            r = r.squeeze(dims) if dims else r
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(LogsumexpBackward0)
        n.dims, n.keepdim = dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class SoftmaxBackward0(Node):
    __slots__ = ("dim",)
    formula = "SoftmaxBackward0: self: result * (grad - (grad * result).sum(dim, keepdim=True))"
    saved_names = ("result",)
    saved_attrs = ("dim",)

    def backward(self, g):
        r, = self.saved
        return r * (g - (g * r).sum(self.dim, keepdim=True))


class LogSoftmaxBackward0(Node):
    __slots__ = ("dim",)
    formula = "LogSoftmaxBackward0: self: grad - exp(result) * grad.sum(dim, keepdim=True)"
    saved_names = ("result",)
    saved_attrs = ("dim",)

    def backward(self, g):
        r, = self.saved
        return g - ops.exp(r) * g.sum(self.dim, keepdim=True)


def _softmax_dim(dim, ndim):
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1   # PyTorch's legacy implicit choice
    return _wdim(dim, ndim)


@op
def softmax(input, dim=None, dtype=None, _stacklevel=3):
    a = input._a if dtype is None else input._a.astype(_dtype.to_np(dtype))
    a = _float_array(a)
    d = _softmax_dim(dim, a.ndim)
    xp = _ns(a)
    if a.ndim == 0:
        r = xp.ones_like(a)
    else:
        e = xp.exp(a - a.max(axis=d, keepdims=True))
        r = e / e.sum(axis=d, keepdims=True)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(SoftmaxBackward0)
        n.dim = d
        _finish(t, n, (input,))
        _save_result(n, t)
    return t


@op
def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    a = input._a if dtype is None else input._a.astype(_dtype.to_np(dtype))
    a = _float_array(a)
    d = _softmax_dim(dim, a.ndim)
    xp = _ns(a)
    if a.ndim == 0:
        r = xp.zeros_like(a)
    else:
        s = a - a.max(axis=d, keepdims=True)
        r = s - xp.log(xp.exp(s).sum(axis=d, keepdims=True))
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(LogSoftmaxBackward0)
        n.dim = d
        _finish(t, n, (input,))
        _save_result(n, t)
    return t


@op
def all(input, dim=None, keepdim=False):
    a = input._a
    return _wrap(_res(a.all() if dim is None else a.all(axis=_wdim(dim, a.ndim), keepdims=keepdim)))


@op
def any(input, dim=None, keepdim=False):
    a = input._a
    return _wrap(_res(a.any() if dim is None else a.any(axis=_wdim(dim, a.ndim), keepdims=keepdim)))


@op
def count_nonzero(input, dim=None):
    a = input._a
    xp = _ns(a)         # NumPy's count gives a Python int for dim=None, CuPy's a 0-dim device array
    return _wrap(_res(xp.asarray(xp.count_nonzero(a, axis=dim)).astype(np.int64)))


_cummax_t = return_type("cummax", ["values", "indices"])


_cummin_t = return_type("cummin", ["values", "indices"])


_aminmax_t = return_type("aminmax", ["min", "max"])


class LogcumsumexpBackward0(Node):
    __slots__ = ("dim",)
    formula = "LogcumsumexpBackward0: self_i: sum_{j >= i} grad_j * exp(self_i - result_j)"
    saved_names = ("self", "result")
    saved_attrs = ("dim",)

    def backward(self, g):
        x, r = self.saved
        if x.ndim == 0:
            return g
        d = self.dim
        xm, rm, gm = x.movedim(d, -1), r.movedim(d, -1), g.movedim(d, -1)
        L = xm.shape[-1]
        pos = ops.arange(L, device=x.device)
        upper = ops.unsqueeze(pos, 1) <= ops.unsqueeze(pos, 0)                      # [i, j]: j >= i
        e = ops.where(upper, ops.unsqueeze(xm, -1) - ops.unsqueeze(rm, -2), -math.inf)   # x_i - r_j where j >= i
        return (ops.exp(e) * ops.unsqueeze(gm, -2)).sum(-1).movedim(-1, d)


@op
def logcumsumexp(input, dim):
    """log(cumsum(exp(x))) along dim, accumulated with logaddexp (no overflow, no underflow)."""
    a = input._a
    if not is_floating(a.dtype):
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for \'{_type_word(input)}\'')
    d = _wdim(dim, a.ndim)
    r = a.copy() if a.ndim == 0 or a.size == 0 else _accumulate(a, d, "logaddexp")
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(LogcumsumexpBackward0)
        n.dim = d
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class CummaxBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "CummaxBackward0: self: zeros(self.shape).scatter_add(dim, indices, grad)"
    saved_names = ("indices",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        if not self.shape:
            return g
        return ops.zeros(self.shape, dtype=g.dtype, device=g.device).scatter_add(self.dim, idx, g)


class CumminBackward0(CummaxBackward0):
    __slots__ = ()
    formula = "CumminBackward0: self: zeros(self.shape).scatter_add(dim, indices, grad)"


def _running(a, d, is_max):
    """Running max/min of a along d (NaN propagates) and, as PyTorch, the last index reaching it."""
    xp = _ns(a)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    pos = xp.arange(a.shape[d], dtype=np.int64).reshape(shape)
    vals = _accumulate(a, d, "maximum" if is_max else "minimum")
    hit = (a == vals) | (a != a) if is_floating(a.dtype) else (a == vals)
    return vals, _accumulate(xp.where(hit, pos, xp.zeros_like(pos)), d, "maximum")


def _accumulate(a, d, ufunc):
    """ufunc ("maximum", "minimum", "logaddexp") accumulated along d: NumPy's ufunc.accumulate,
    else (CuPy) one slice at a time."""
    if type(a) is np.ndarray:
        return getattr(np, ufunc).accumulate(a, axis=d)
    f = getattr(xp_of(a), ufunc)
    r = a.copy()
    for j in range(1, a.shape[d]):
        prev, cur = (slice(None),) * d + (slice(j - 1, j),), (slice(None),) * d + (slice(j, j + 1),)
        r[cur] = f(r[prev], r[cur])
    return r


def _cumext(input, dim, is_max):
    a = input._a
    d = _wdim(dim, a.ndim)
    if a.ndim == 0:
        vals, idx = a.copy(), _ns(a).zeros((), np.int64)
    else:
        vals, idx = _running(a, d, is_max)
    t, it = _wrap(_res(vals)), _wrap(_res(idx))
    if _gs.enabled and input._rg:
        n = new_node(CummaxBackward0 if is_max else CumminBackward0)
        n.shape, n.dim = a.shape, d
        _finish(t, n, (input,), (it,))
        n._sver = (0,)
    return (_cummax_t if is_max else _cummin_t)(t, it)


@op
def cummax(input, dim):
    """(values, indices): the running maximum along dim and where it was reached (last on ties)."""
    return _cumext(input, dim, True)


@op
def cummin(input, dim):
    return _cumext(input, dim, False)


class AminmaxBackward0(Node):
    __slots__ = ("dims", "keepdim")
    formula = "AminmaxBackward0: self: amin's and amax's gradients (split evenly among ties), added"
    saved_names = ("self", "min", "max")

    def _apply(self, grads):
        x, lo, hi = self.saved
        out = None
        for g, r in zip(grads, (lo, hi)):
            if g is None:
                continue
            if not self.keepdim:
                shape = _keep_shape(x.shape, self.dims)
                g, r = g.reshape(shape), r.reshape(shape)
            part = _scale_by_count(g, ops.eq(x, r), self.dims)
            out = part if out is None else out + part
        return (out,)


@op
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over all elements or along dim, one node for both."""
    a = input._a
    dims = tuple(range(a.ndim)) if dim is None else ((_wdim(dim, a.ndim),) if a.ndim else ())
    if a.size == 0 or (dim is not None and a.ndim and a.shape[dims[0]] == 0):
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity.")
    kd = keepdim if dim is not None else False
    if dim is None and keepdim:
        kd = True
    lo = a.min(axis=dims, keepdims=kd) if dims else a.copy()
    hi = a.max(axis=dims, keepdims=kd) if dims else a.copy()
    if is_floating(a.dtype) and dims:
        nan = _ns(a).isnan(a).any(axis=dims, keepdims=kd)
        if nan.any():
            lo, hi = _ns(a).where(nan, np.nan, lo), _ns(a).where(nan, np.nan, hi)
    tl, th = _wrap(_res(lo)), _wrap(_res(hi))
    if _gs.enabled and input._rg:
        n = new_node(AminmaxBackward0)
        n.dims, n.keepdim = dims, kd
        _finish_outputs((tl, th), n, (input,), (input, tl, th))
    return _aminmax_t(tl, th)


class MedianBackward0(SplitAmongEqual):
    __slots__ = ()
    formula = "MedianBackward0: self: grad evenly split among the elements equal to the median"


class MedianBackward1(ScatterToIndices):
    __slots__ = ()
    formula = "MedianBackward1: self: grad scattered to indices (zeros elsewhere)"


@op
def median(input, dim=None, keepdim=False):
    """median(x) -> the lower median of all elements; median(x, dim) -> (values, indices)."""
    a = input._a
    xp = _ns(a)
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0:
            v = xp.full((), np.nan, a.dtype)
        elif is_floating(a.dtype) and bool(xp.isnan(flat).any()):
            v = xp.full((), np.nan, a.dtype)
        else:
            v = xp.sort(flat)[(flat.size - 1) // 2]
        t = _wrap(_res(xp.asarray(v, dtype=a.dtype).reshape(())))
        if _gs.enabled and input._rg:
            n = new_node(MedianBackward0)
            _finish(t, n, (input,))
            n._saved = (input, _SavedOutput(t))
            n._sver = (input._ver[0], 0)
        return t
    d = _wdim(dim, a.ndim)
    if a.ndim == 0:
        vals, idx = a.copy(), xp.zeros((), np.int64)
    else:
        L = a.shape[d]
        if L == 0:
            s = list(a.shape)
            s[d] = 1 if keepdim else 0
            if not keepdim:
                del s[d]
            vals, idx = xp.zeros(s, a.dtype), xp.zeros(s, np.int64)
        else:
            order = xp.argsort(a, axis=d, kind="stable")   # NaN sorts last
            k = xp.take(order, [(L - 1) // 2], axis=d)
            if is_floating(a.dtype):                       # PyTorch: a NaN in the slice is the median
                nanpos = xp.isnan(a)
                has = nanpos.any(axis=d, keepdims=True)
                k = xp.where(has, xp.expand_dims(nanpos.argmax(axis=d), d), k)
            idx = k.astype(np.int64)
            vals = xp.take_along_axis(a, idx, d)
            if not keepdim:
                vals, idx = vals.squeeze(d), idx.squeeze(d)
    t, it = _wrap(_res(vals)), _wrap(_res(idx))
    if _gs.enabled and input._rg:
        n = new_node(MedianBackward1)
        n.shape, n.dim, n.keepdim = a.shape, d, keepdim
        _finish(t, n, (input,), (it,))
        n._sver = (0,)
    return values_indices(t, it, "median")


class DistBackward0(Node):
    __slots__ = ("p",)
    formula = "DistBackward0: self: norm's gradient at self - other, other: its negative"
    saved_names = ("self", "other", "result")
    saved_attrs = ("p",)

    def backward(self, g):
        x, y, r = self.saved
        n = self._next
        dx = x - y
        p = self.p
        if p == 0:
            gx = ops.zeros_like(dx)
        elif p == 1:
            gx = g * ops.sign(dx)
        elif p == 2:
            gx = ops.where(ops.eq(r, 0), ops.zeros_like(r), g / r) * dx
        elif math.isinf(p):
            gx = ops.sign(dx) * _scale_by_count(g.expand(dx.shape) if dx.ndim else g, ops.eq(ops.abs(dx), r),
                                            tuple(range(dx.ndim)))
        else:
            gx = ops.where(ops.eq(r, 0), ops.zeros_like(r), g / r ** (p - 1)) * dx * ops.abs(dx) ** (p - 2)
        return (gx if n[0][0] is not None else None, -gx if n[1][0] is not None else None)


@op
def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    xa, ya = ops.products._binary_arrays(input, other)
    if not is_floating(xa.dtype):
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                           f"{_type_word(_wrap(xa))} instead.")
    xp = _ns(xa)
    dd = xa - ya
    aa = xp.abs(dd)
    p = float(p)
    if p == 2:
        r = xp.sqrt((dd * dd).sum())
    elif p == 1:
        r = aa.sum()
    elif p == 0:
        r = (dd != 0).sum().astype(dd.dtype)
    elif math.isinf(p):
        r = (aa.max() if p > 0 else aa.min()) if aa.size else xp.zeros((), dd.dtype)
    else:
        r = (aa ** p).sum() ** (1.0 / p)
    t = _wrap(_res(xp.asarray(r, dtype=dd.dtype).reshape(())))
    if _needs(input, other):
        n = new_node(DistBackward0)
        n.p = p
        _finish(t, n, (input, other))
        n._saved = (input, other, _SavedOutput(t))
        n._sver = (input._ver[0], other._ver[0], 0)
    return t


@op(method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """Integral of y along dim by the trapezoid rule, at sample points x or spacing dx (default 1)."""
    d = _wdim(dim, y.ndim)
    if isinstance(x, Tensor):
        if dx is not None:
            raise TypeError("trapezoid() received an invalid combination of arguments")
        if x.ndim == 1:
            if x.shape[0] != y.shape[d]:
                raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
            s = [1] * y.ndim
            s[d] = x.shape[0]
            x = x.view(s)
        L = y.shape[d]
        if L == 0:
            return ops.zeros_like(y.sum(d))
        xl, xr = ops.indexing._slice(x, d, 0, x.shape[d] - 1, 1), ops.indexing._slice(x, d, 1, x.shape[d], 1)
        yl, yr = ops.indexing._slice(y, d, 0, L - 1, 1), ops.indexing._slice(y, d, 1, L, 1)
        return ops.arithmetic._scalar_op(((yr + yl) * (xr - xl)).sum(d), 2.0, ops.arithmetic.DivBackward1)
    if x is not None:
        raise TypeError(f"trapezoid() received an invalid combination of arguments - got (Tensor, "
                        f"{type(x).__name__}), but expected one of:")
    spacing = dx if dx is not None else 1
    if y.shape[d] == 0:
        return ops.zeros_like(y.sum(d))
    ends = ops.arithmetic._scalar_op(ops.indexing._select(y, d, 0) + ops.indexing._select(y, d, y.shape[d] - 1), 0.5, ops.arithmetic.MulBackward1)
    return ops.arithmetic._scalar_op(y.sum(d) - ends, spacing, ops.arithmetic.MulBackward1)


@op(method=False)
def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


@op
def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows (variables) of input over its columns (observations), as PyTorch."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    if input.dtype is _dtype.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.view(1, -1) if input.ndim < 2 else input
    nobs = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.ndim > 1:
            raise RuntimeError(f"cov(): expected fweights to have one or fewer dimensions but got fweights with "
                               f"{fweights.ndim} dimensions")
        if fweights.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{fweights.dtype.name.capitalize()} dtype")
        if fweights.numel() != nobs:
            raise RuntimeError(f"cov(): expected fweights to have the same numel as there are observations in the "
                               f"input but got {fweights.numel()} != {nobs}")
        if bool((fweights._a < 0).any()):
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if aweights.ndim > 1:
            raise RuntimeError(f"cov(): expected aweights to have one or fewer dimensions but got aweights with "
                               f"{aweights.ndim} dimensions")
        if not aweights.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{aweights.dtype.name.capitalize()} dtype")
        if aweights.numel() != nobs:
            raise RuntimeError(f"cov(): expected aweights to have the same numel as there are observations in the "
                               f"input but got {aweights.numel()} != {nobs}")
        if bool((aweights._a < 0).any()):
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights if w is None else w * aweights
    scalar_tensor = ops.scalar_tensor
    w_sum = w.sum() if w is not None else scalar_tensor(nobs, dtype=_dtype.int64, device=input.device)
    if w is not None and not bool(w_sum._a != 0):
        raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x * w if w is not None else x).sum(1) / w_sum
    if correction == 0:
        norm_factor = w_sum
    elif aweights is not None:
        norm_factor = w_sum - ops.arithmetic._scalar_op((w * aweights).sum(), correction, ops.arithmetic.MulBackward1) / w_sum
    else:
        norm_factor = w_sum - correction
    if bool(norm_factor._a <= 0):
        import warnings
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.")
        norm_factor = ops.zeros_like(norm_factor)
    x = x - avg.unsqueeze(1)
    c = ops.mm(x, (x * w if w is not None else x).t())
    return ops.div(c, norm_factor).squeeze()


@op
def corrcoef(input):
    """Pearson correlation coefficients of the rows of input, clipped to [-1, 1]."""
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = ops.sqrt(c.diagonal())
    c = c / sd.view(-1, 1)
    c = c / sd.view(1, -1)
    return ops.clamp(c, -1, 1)


from ._core import make_inplace  # noqa: E402

cumsum_ = op(make_inplace(cumsum), "cumsum_", function=False)
cumprod_ = op(make_inplace(cumprod, "self"), "cumprod_", function=False)
