"""Comparison, logic and sorting: eq/ne/lt/..., logical_*, bitwise_*, isnan/isinf, isclose,
sort/argsort/topk, unique, bincount (none differentiable except sort/topk values).
"""
import numpy as np

from .._tensor import Tensor
from ..autograd.graph import Node, new_node
from ..backend import xp_of
from ..autograd.grad_mode import state as _gs
from ._core import _finish, _isinst, _namespaced, _ndarray, _ns, _pair, _res, _wdim, _wrap
from ._registry import op, alias
from .. import ops
from .._dtype import is_floating


def _cmp(fn):
    fn = _namespaced(fn)

    def op(input, other):
        xa, ya = _pair(input, other)
        return _wrap(_res(fn(xa, ya)))
    return op


eq = _cmp(np.equal)
eq = op(eq, "eq")


ne = _cmp(np.not_equal)
ne = op(ne, "ne")


lt = _cmp(np.less)
lt = op(lt, "lt")


le = _cmp(np.less_equal)
le = op(le, "le")


gt = _cmp(np.greater)
gt = op(gt, "gt")


ge = _cmp(np.greater_equal)
ge = op(ge, "ge")


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
alias(greater, "greater")
alias(greater_equal, "greater_equal")
alias(less, "less")
alias(less_equal, "less_equal")
alias(not_equal, "not_equal")


logical_and = _cmp(np.logical_and)
logical_and = op(logical_and, "logical_and")


logical_or = _cmp(np.logical_or)
logical_or = op(logical_or, "logical_or")


logical_xor = _cmp(np.logical_xor)
logical_xor = op(logical_xor, "logical_xor")


bitwise_and = _cmp(np.bitwise_and)
bitwise_and = op(bitwise_and, "bitwise_and", method=False)


bitwise_or = _cmp(np.bitwise_or)
bitwise_or = op(bitwise_or, "bitwise_or", method=False)


bitwise_xor = _cmp(np.bitwise_xor)
bitwise_xor = op(bitwise_xor, "bitwise_xor", method=False)


@op
def logical_not(input):
    return _wrap(_res(_ns(input._a).logical_not(input._a)))


@op
def bitwise_not(input):
    a = input._a
    xp = _ns(a)
    return _wrap(_res(xp.logical_not(a) if a.dtype.kind == "b" else xp.invert(a)))


@op
def isnan(input):
    return _wrap(_res(_ns(input._a).isnan(input._a)))


@op
def isinf(input):
    return _wrap(_res(_ns(input._a).isinf(input._a)))


@op
def isfinite(input):
    return _wrap(_res(_ns(input._a).isfinite(input._a)))


@op
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _wrap(_res(_ns(input._a).isclose(input._a, other._a if _isinst(other, Tensor) else other, rtol, atol, equal_nan)))


@op
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(_ns(input._a).allclose(input._a, other._a if _isinst(other, Tensor) else other, rtol, atol, equal_nan))


@op
def equal(input, other):
    return input.shape == other.shape and bool((input._a == other._a).all())


class SortBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "SortBackward0: self: zeros(self.shape).scatter(dim, indices, grad)"
    saved_names = ("indices",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        return ops.zeros(self.shape, dtype=g.dtype, device=g.device).scatter(self.dim, idx, g)


class TopkBackward0(SortBackward0):
    __slots__ = ()
    formula = "TopkBackward0: self: zeros(self.shape).scatter(dim, indices, grad)"


def _select_by_indices(input, d, idx, cls, name):
    it = _wrap(_res(idx.astype(np.int64)))
    a = input._a
    t = _wrap(_res(np.take_along_axis(a, idx, d) if type(a) is _ndarray else xp_of(a).take_along_axis(a, idx, d)))
    if _gs.enabled and input._rg:
        n = new_node(cls)
        n.shape, n.dim = a.shape, d
        _finish(t, n, (input,), (it,))
    return ops.reductions.values_indices(t, it, name)


def _argsort_stable(a, d):
    """Indices that sort `a` along d, equal elements in their order (CuPy's sort is stable)."""
    return np.argsort(a, axis=d, kind="stable") if type(a) is _ndarray else xp_of(a).argsort(a, axis=d)


@op
def sort(input, dim=-1, descending=False, stable=False):
    d = _wdim(dim, input.ndim)
    a = input._a
    if a.ndim == 0:
        return ops.reductions.values_indices(ops.clone(input), _wrap(np.zeros((), np.int64)), "sort")
    if descending:   # stable on the negated key keeps equal elements in their original order
        key = -a if is_floating(a.dtype) or a.dtype.kind == "i" else (~a if a.dtype.kind == "b" else a.max() - a)
        idx = _argsort_stable(key, d)
    else:
        idx = _argsort_stable(a, d)
    return _select_by_indices(input, d, idx, SortBackward0, "sort")


@op
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


@op
def topk(input, k, dim=-1, largest=True, sorted=True):
    d = _wdim(dim, input.ndim)
    a = input._a
    key = (-a if is_floating(a.dtype) or a.dtype.kind == "i" else a.max() - a) if largest else a
    idx = _argsort_stable(key, d).take(_ns(a).arange(k), axis=d)
    return _select_by_indices(input, d, idx, TopkBackward0, "topk")


@op
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    r = _ns(input._a).unique(input._a, return_inverse=return_inverse, return_counts=return_counts)
    if not (return_inverse or return_counts):
        return _wrap(r)
    out = [_wrap(r[0])]
    if return_inverse:
        out.append(_wrap(r[1].reshape(input.shape).astype(np.int64)))
    if return_counts:
        out.append(_wrap(r[-1].astype(np.int64)))
    return tuple(out)


@op
def bincount(input, weights=None, minlength=0):
    return _wrap(_ns(input._a).bincount(input._a, None if weights is None else weights._a, minlength).astype(
        np.int64 if weights is None else weights._a.dtype))


# in-place comparisons and logical/bitwise ops: the result (0/1 for a float self) written into self
from ._core import make_inplace  # noqa: E402

eq_ = op(make_inplace(eq), "eq_", function=False)
ne_ = op(make_inplace(ne), "ne_", function=False)
lt_ = op(make_inplace(lt), "lt_", function=False)
le_ = op(make_inplace(le), "le_", function=False)
gt_ = op(make_inplace(gt), "gt_", function=False)
ge_ = op(make_inplace(ge), "ge_", function=False)
greater_, greater_equal_, less_, less_equal_, not_equal_ = gt_, ge_, lt_, le_, ne_
for _f, _n in ((greater_, "greater_"), (greater_equal_, "greater_equal_"), (less_, "less_"),
               (less_equal_, "less_equal_"), (not_equal_, "not_equal_")):
    alias(_f, _n, function=False)
logical_and_ = op(make_inplace(logical_and), "logical_and_", function=False)
logical_or_ = op(make_inplace(logical_or), "logical_or_", function=False)
logical_xor_ = op(make_inplace(logical_xor), "logical_xor_", function=False)
logical_not_ = op(make_inplace(logical_not), "logical_not_", function=False)
bitwise_and_ = op(make_inplace(bitwise_and), "bitwise_and_", function=False)
bitwise_or_ = op(make_inplace(bitwise_or), "bitwise_or_", function=False)
bitwise_xor_ = op(make_inplace(bitwise_xor), "bitwise_xor_", function=False)
bitwise_not_ = op(make_inplace(bitwise_not), "bitwise_not_", function=False)


@op
def signbit(input):
    """True where the sign bit is set (-0.0, negative numbers, NaNs with the bit set)."""
    return _wrap(_ns(input._a).signbit(input._a))


@op
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element of `elements` is among `test_elements` (either may be a scalar)."""
    el = elements._a if _isinst(elements, Tensor) else np.asarray(elements)
    test = test_elements._a if _isinst(test_elements, Tensor) else np.asarray(test_elements)
    xp = xp_of(el) if _isinst(elements, Tensor) else xp_of(test)
    return _wrap(_res(xp.isin(el, test, invert=invert)))


@op(method=False)
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    """Where each value would go in the innermost dim of `sorted_sequence` to keep it sorted:
    the first such place, or the last with right=True / side='right'."""
    if side is not None:
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got "
                               "side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._a
    xp = xp_of(seq)
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._a, axis=-1)
    scalar = not _isinst(input, Tensor)
    values = xp.asarray(input if scalar else input._a, dtype=seq.dtype if scalar else None)
    how = "right" if right else "left"
    if seq.ndim == 1:
        idx = xp.searchsorted(seq, values, side=how)
    else:
        if values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError("torch.searchsorted(): boundaries tensor should be 1 dimension or the "
                               "first N-1 dimensions of boundaries tensor and input value tensor must "
                               f"match, but we got boundaries tensor {list(seq.shape)} and input value "
                               f"tensor {list(values.shape)}")
        rows_seq, rows_val = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        idx = xp.stack([xp.searchsorted(s, v, side=how) for s, v in zip(rows_seq, rows_val)])
        idx = idx.reshape(values.shape)
    return _wrap(_res(idx).astype(np.int32 if out_int32 else np.int64))


@op
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among 1-D `boundaries` (searchsorted with the roles as torch's)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


@op
def histc(input, bins=100, min=0, max=0):
    """Counts in `bins` equal-width bins over [min, max] (the data's range when min == max; one
    either side of it when that is a single value); values outside are ignored. The bin of a value
    is found against the edges linspace(min, max, bins + 1) in the input's dtype, as PyTorch's
    kernel corrects its estimate, and `max` itself falls in the last bin."""
    a = input._a
    if not is_floating(a.dtype):
        scalar_type = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                       "uint8": "Byte", "bool": "Bool"}[input.dtype.name]
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{scalar_type}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
    if min > max:
        raise RuntimeError("torch.histc(): max must be larger than min")
    xp = xp_of(a)
    lo, hi = float(min), float(max)
    finite = a[xp.isfinite(a)] if a.size else a
    if lo == hi and finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    edges = ops.linspace(lo, hi, bins + 1, dtype=input.dtype, device=input.device)._a
    flat = a.reshape(-1)
    inside = (flat >= edges[0]) & (flat <= edges[-1])
    pos = xp.searchsorted(edges, flat[inside], side="right") - 1
    pos = xp.minimum(pos, bins - 1)
    return _wrap(xp.bincount(pos, minlength=bins).astype(a.dtype))
