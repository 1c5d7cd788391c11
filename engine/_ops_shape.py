"""Structural ops and reductions beyond engine._ops: roll, rot90, diff, kron, cross, cummax,
median, cov, unfold, block_diag and friends, each with its backward beside it.

Ops that PyTorch builds from other ops (diff, kron, tensordot, trapezoid, cov, ...) are
built here from the same engine ops, so their graphs carry the nodes PyTorch's carry;
the rest are Node subclasses named like PyTorch's. Tensor methods are attached at the bottom.
"""
import builtins
import collections
import math

import numpy as np

from . import _dtype
from ._dtype import result_type
from ._tensor import Tensor
from .autograd.recording import record_namespace
from .autograd.grad_mode import state as _gs
from .autograd.graph import Node, new_node, _SavedOutput
from ._ops import (_wrap, _res, _ns, _wdim, _finish, _needs, _view_of, _unsafe_view, _mk_inplace,
                   _scale_by_count, _keep_shape, _shape_args, _slice, _select, values_indices, xp_of,
                   abs, addmm, arange, cat, clamp, diag, diagonal, div, eq, exp, mm, outer, permute, sign, sqrt,
                   stack, sum_to, tril, triu, unsqueeze, where, zeros, zeros_like)

__all__ = ["diff", "kron", "cross", "roll", "rot90", "tensordot", "vdot", "baddbmm", "addmv", "index_add",
           "index_fill", "masked_scatter", "logcumsumexp", "cummax", "cummin", "aminmax", "median", "dist",
           "trapezoid", "trapz", "cov", "corrcoef", "diagflat", "atleast_1d", "atleast_2d", "atleast_3d",
           "column_stack", "dstack", "hsplit", "vsplit", "cartesian_prod", "block_diag"]


def _named_pair(name, fields):
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        return f"torch.return_types.{name}(\n{fields[0]}={self[0]!r},\n{fields[1]}={self[1]!r})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__})


_cummax_t = _named_pair("cummax", ["values", "indices"])
_cummin_t = _named_pair("cummin", ["values", "indices"])
_aminmax_t = _named_pair("aminmax", ["min", "max"])


# ============================================================================ scalar nodes
class MulBackward1(Node):
    """tensor * number as PyTorch's C++ composites call it (mul.Scalar)."""
    __slots__ = ("other",)
    formula = "MulBackward1: self: grad * other"
    saved_attrs = ("other",)

    def backward(self, g):
        return g * self.other


class DivBackward1(Node):
    __slots__ = ("other",)
    formula = "DivBackward1: self: grad / other"
    saved_attrs = ("other",)

    def backward(self, g):
        return g / self.other


def _scalar_op(x, s, cls):
    a = x._a
    r = a * s if cls is MulBackward1 else a / s
    t = _wrap(_res(r.astype(result_type(x, s).np, copy=False)))
    if _gs.enabled and x._rg:
        n = new_node(cls)
        n.other = s
        _finish(t, n, (x,))
    return t


# ============================================================================ roll, rot90
class RollBackward0(Node):
    __slots__ = ("shifts", "dims")
    formula = "RollBackward0: self: grad.roll(-shifts, dims)"
    saved_attrs = ("shifts", "dims")

    def backward(self, g):
        return roll(g, tuple(-s for s in self.shifts), self.dims)


def roll(input, shifts, dims=None):
    shifts = (shifts,) if _isint(shifts) else tuple(shifts)
    a = input._a
    xp = _ns(a)
    if dims is None or dims == ():
        if len(shifts) != 1:
            raise RuntimeError(f"`shifts` required to be of size 1 when `dims` is not specified, got {len(shifts)}")
        r = xp.roll(a.reshape(-1), shifts[0]).reshape(a.shape)
        dd = ()
    else:
        dd = (dims,) if _isint(dims) else tuple(dims)
        if len(dd) != len(shifts):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dd)}")
        dd = tuple(_wdim(d, a.ndim) for d in dd)
        r = xp.roll(a, shifts, dd)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(RollBackward0)
        n.shifts, n.dims = shifts, dd
        _finish(t, n, (input,))
    return t


class Rot90Backward0(Node):
    __slots__ = ("k", "dims")
    formula = "Rot90Backward0: self: grad.rot90(-k, dims)"
    saved_attrs = ("k", "dims")

    def backward(self, g):
        return rot90(g, -self.k, self.dims)


def rot90(input, k=1, dims=(0, 1)):
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = _wdim(dims[0], input.ndim), _wdim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    a = input._a
    t = _wrap(_res(_ns(a).rot90(a, k, (d0, d1)).copy()))
    if _gs.enabled and input._rg:
        n = new_node(Rot90Backward0)
        n.k, n.dims = k, (d0, d1)
        _finish(t, n, (input,))
    return t


def _isint(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


# ============================================================================ diff, kron, tensordot
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along dim: out[i] = x[i + 1] - x[i] (PyTorch's slices and sub)."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wdim(dim, input.ndim)
    if prepend is not None or append is not None:
        parts = [_diff_part(prepend, input, d)] if prepend is not None else []
        parts.append(input)
        if append is not None:
            parts.append(_diff_part(append, input, d))
        input = cat(parts, d)
    x = input
    for _ in range(n):
        L = x.shape[d]
        if L == 0:
            break
        hi, lo = _slice(x, d, 1, L, 1), _slice(x, d, 0, L - 1, 1)
        x = (hi ^ lo) if x.dtype is _dtype.bool_ else hi - lo
    return x


def _diff_part(p, x, d):
    if not isinstance(p, Tensor) or p.ndim != x.ndim:
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    return p


def kron(input, other):
    """Kronecker product: a and b interleaved as (a0, 1, a1, 1, ..) * (1, b0, 1, b1, ..)."""
    nd = builtins.max(input.ndim, other.ndim)
    sa = (1,) * (nd - input.ndim) + tuple(input.shape)
    sb = (1,) * (nd - other.ndim) + tuple(other.shape)
    ea = _unsafe_view(input, tuple(v for s in sa for v in (s, 1)))
    eb = _unsafe_view(other, tuple(v for s in sb for v in (1, s)))
    return _unsafe_view(ea * eb, tuple(x * y for x, y in zip(sa, sb)))


def tensordot(a, b, dims=2, out=None):
    """Contract dims of a with dims of b: permute, reshape to matrices, mm, view back."""
    if _isint(dims):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, Tensor) and dims.ndim == 0:
        return tensordot(a, b, int(dims.item()))
    else:
        da, db = ([d] if _isint(d) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [_wdim(d, a.ndim) for d in da]
    db = [_wdim(d, b.ndim) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                               f"and second has size {b.shape[y]} in dim {y}")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [i for i in range(b.ndim) if i not in db]
    k = math.prod(a.shape[i] for i in da)
    pa = permute(a, fa + da).reshape(math.prod(a.shape[i] for i in fa), k)
    pb = permute(b, db + fb).reshape(k, math.prod(b.shape[i] for i in fb))
    return mm(pa, pb).reshape([a.shape[i] for i in fa] + [b.shape[i] for i in fb])


# ============================================================================ cross, vdot
class LinalgCrossBackward0(Node):
    __slots__ = ("dim",)
    formula = "LinalgCrossBackward0: self: other.cross(grad, dim), other: grad.cross(self, dim)"
    saved_names = ("self", "other")
    saved_attrs = ("dim",)

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (cross(y, g, dim=self.dim) if n[0][0] is not None else None,
                cross(g, x, dim=self.dim) if n[1][0] is not None else None)


def cross(input, other, dim=None):
    """Cross product of 3-vectors along dim (broadcasting; dim=None: the first size-3 dim)."""
    if dim is None:
        import warnings
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(input.shape, other.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return _cross(input, other, dim, "linalg.cross")


def _linalg_cross(input, other, *, dim=-1):
    return _cross(input, other, dim, "linalg.cross")


def _cross(input, other, dim, who):
    if input.ndim != other.ndim:
        raise RuntimeError(f"{who}: inputs must have the same number of dimensions.")
    d = _wdim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"{who}: inputs dimension {dim} must have length 3. Got {input.shape[d]} and "
                           f"{other.shape[d]}")
    xa, ya = _binary_arrays(input, other)
    xp = _ns(xa)
    shape = np.broadcast_shapes(xa.shape, ya.shape)
    xa, ya = xp.broadcast_to(xa, shape), xp.broadcast_to(ya, shape)

    def c(arr, i):
        return xp.take(arr, i, axis=d)
    parts = [c(xa, 1) * c(ya, 2) - c(xa, 2) * c(ya, 1), c(xa, 2) * c(ya, 0) - c(xa, 0) * c(ya, 2),
             c(xa, 0) * c(ya, 1) - c(xa, 1) * c(ya, 0)]
    t = _wrap(_res(xp.stack(parts, axis=d)))
    if _needs(input, other):
        n = new_node(LinalgCrossBackward0)
        n.dim = d
        _finish(t, n, (input, other), (input, other))
    return t


def _binary_arrays(x, y):
    dt = _dtype.promote_types(x.dtype, y.dtype).np
    xa, ya = x._a, y._a
    return (xa if xa.dtype == dt else xa.astype(dt)), (ya if ya.dtype == dt else ya.astype(dt))


class VdotBackward0(Node):
    __slots__ = ()
    formula = "VdotBackward0: self: grad * other, other: grad * self  (real)"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (g * y if n[0][0] is not None else None, g * x if n[1][0] is not None else None)


def vdot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {other.shape[0]} "
                           "elements respectively")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_type_word(input)} "
                           f"and {_type_word(other)}")
    t = _wrap(_res(_ns(input._a).dot(input._a, other._a)))
    if _needs(input, other):
        _finish(t, new_node(VdotBackward0), (input, other), (input, other))
    return t


# ============================================================================ baddbmm, addmv, addmm_
class BaddbmmBackward0(Node):
    __slots__ = ("alpha", "beta")
    formula = ("BaddbmmBackward0: self: grad * beta, batch1: grad.bmm(batch2.mT) * alpha, "
               "batch2: batch1.mT.bmm(grad) * alpha")
    saved_names = ("batch1", "batch2")
    saved_attrs = ("alpha", "beta")

    def backward(self, g):
        b1, b2 = self.saved
        n = self._next
        a, b = self.alpha, self.beta
        gs = (g if b == 1 else g * b) if n[0][0] is not None else None
        g1 = g.bmm(b2.mT) if n[1][0] is not None else None
        g2 = b1.mT.bmm(g) if n[2][0] is not None else None
        if a != 1:
            g1 = g1 * a if g1 is not None else None
            g2 = g2 * a if g2 is not None else None
        return gs, g1, g2


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (batch1 @ batch2), batch by batch (beta=0 ignores input's nan/inf)."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if batch1.ndim != 3 else "batch2 must be a 3D tensor")
    if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: [{batch2.shape[0]}, {batch2.shape[1]}].")
    if not input.dtype is batch1.dtype is batch2.dtype:
        c = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int"}
        raise RuntimeError(f"Input dtypes must be the same, got: input {c.get(input.dtype.name, input.dtype.name)}, "
                           f"batch1: {c.get(batch1.dtype.name, batch1.dtype.name)}, "
                           f"batch2: {c.get(batch2.dtype.name, batch2.dtype.name)}")
    return _add_product(input, batch1, batch2, beta, alpha, BaddbmmBackward0)


def _type_word(t):
    from ._ops import _type_word as word
    return word(t._a.dtype)


def _add_product(input, m1, m2, beta, alpha, cls):
    r = m1._a @ m2._a
    if alpha != 1:
        r = r * alpha
    shape = r.shape
    for i in range(1, input.ndim + 1):        # input must expand to the product's shape, checked from the end
        s, target = input.shape[-i], shape[-i] if i <= len(shape) else None
        if target is None or s not in (1, target):
            raise RuntimeError(f"The expanded size of the tensor ({target}) must match the existing size ({s}) at "
                               f"non-singleton dimension {len(shape) - i}.  Target sizes: {list(shape)}.  Tensor "
                               f"sizes: {list(input.shape)}")
    if beta != 0:
        r = r + (input._a if beta == 1 else input._a * beta)
    elif r.shape != tuple(np.broadcast_shapes(input.shape, shape)):
        r = _ns(r).broadcast_to(r, np.broadcast_shapes(input.shape, shape)).copy()
    t = _wrap(_res(r.astype(m1._a.dtype, copy=False)))
    if _needs(input, m1, m2):
        n = new_node(cls)
        n.alpha, n.beta = alpha, beta
        _finish(t, n, (input, m1, m2), (m1 if m2._rg else None, m2 if m1._rg else None))
    return t


class AddmvBackward0(Node):
    __slots__ = ("alpha", "beta")
    formula = "AddmvBackward0: self: grad * beta, mat: grad.outer(vec) * alpha, vec: mat.t().mv(grad) * alpha"
    saved_names = ("mat", "vec")
    saved_attrs = ("alpha", "beta")

    def backward(self, g):
        m, v = self.saved
        n = self._next
        a, b = self.alpha, self.beta
        gs = (g if b == 1 else g * b) if n[0][0] is not None else None
        gm = outer(g, v) if n[1][0] is not None else None
        gv = m.t().mv(g) if n[2][0] is not None else None
        if a != 1:
            gm = gm * a if gm is not None else None
            gv = gv * a if gv is not None else None
        return gs, gm, gv


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec)."""
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0] or input.numel() not in (1, mat.shape[0]) or input.ndim > 1:
        raise RuntimeError(f"size mismatch, got input ({input.numel()}), mat ({mat.shape[0]}x{mat.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    if not input.dtype is mat.dtype is vec.dtype:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{_type_word(input)}, {_type_word(mat)}, and {_type_word(vec)}")
    return _add_product(input, mat, vec, beta, alpha, AddmvBackward0)


addmm_ = _mk_inplace(addmm, False)
baddbmm_ = _mk_inplace(baddbmm, False)
addmv_ = _mk_inplace(addmv, False)


# ============================================================================ index_add, index_fill, masked_scatter
def _index_arg(index, who):
    ia = index._a
    if ia.dtype.kind not in "iu":
        raise IndexError(f"{who}(): Expected dtype int64 for index.")
    if ia.ndim > 1:
        raise IndexError(f"{who}(): Index is supposed to be a vector")
    return ia.reshape(-1).astype(np.int64, copy=False)


class IndexAddBackward0(Node):
    __slots__ = ("dim", "alpha", "sshape")
    formula = "IndexAddBackward0: self: grad, source: grad.index_select(dim, index) * alpha"
    saved_names = ("index",)
    saved_attrs = ("dim", "alpha")

    def backward(self, g):
        idx, = self.saved
        n = self._next
        gs = None
        if n[1][0] is not None:
            gs = g.index_select(self.dim, idx) if g.ndim else g
            if self.alpha != 1:
                gs = gs * self.alpha
            gs = gs.reshape(self.sshape)
        return (g if n[0][0] is not None else None), gs


def index_add(input, dim, index, source, *, alpha=1):
    """input with alpha * source[i] added at input[index[i]] along dim (repeats add up)."""
    d = _wdim(dim, input.ndim)
    ia = _index_arg(index, "index_add_")
    ns = source.shape[d] if source.ndim else 1
    if ia.shape[0] != ns:
        raise RuntimeError(f"index_add_(): Number of indices ({ia.shape[0]}) should be equal to source.size(dim): "
                           f"({ns}), for dim: {dim}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add_(): self ({_type_word(input)}) and source ({_type_word(source)}) must have "
                           "the same scalar type")
    r = input._a.reshape(input._a.shape or (1,)).copy()
    src = source._a.reshape(source._a.shape or (1,))
    if alpha != 1:
        src = (src * alpha).astype(r.dtype, copy=False)
    key = (slice(None),) * d + (ia,)
    if type(r) is np.ndarray:
        np.add.at(r, key, src)
    else:
        import cupyx
        cupyx.scatter_add(r, key, src)
    t = _wrap(r.reshape(input._a.shape))
    if _needs(input, source):
        n = new_node(IndexAddBackward0)
        n.dim, n.alpha, n.sshape = d, alpha, tuple(source.shape)
        _finish(t, n, (input, source), (_wrap(ia),))
    return t


class IndexFillBackward0(Node):
    __slots__ = ("dim",)
    formula = "IndexFillBackward0: self: grad.index_fill(dim, index, 0)"
    saved_names = ("index",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        return index_fill(g, self.dim, idx, 0)


class IndexFillBackward1(Node):
    __slots__ = ("dim",)
    formula = "IndexFillBackward1: self: grad.index_fill(dim, index, 0), value: grad.index_select(dim, index).sum()"
    saved_names = ("index",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        n = self._next
        return (index_fill(g, self.dim, idx, 0) if n[0][0] is not None else None,
                (g.index_select(self.dim, idx) if g.ndim else g).sum() if n[1][0] is not None else None)


def index_fill(input, dim, index, value):
    """input with the slices index along dim set to value (a number or a 0-dim tensor)."""
    d = _wdim(dim, input.ndim)
    ia = _index_arg(index, "index_fill_")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.ndim} dimension(s).")
    r = input._a.copy()
    v = value._a if isinstance(value, Tensor) else value
    if input.ndim:
        r[(slice(None),) * d + (ia,)] = v
    elif ia.size:
        r[...] = v
    t = _wrap(r)
    if _needs(input, value):
        tv = isinstance(value, Tensor)
        n = new_node(IndexFillBackward1 if tv else IndexFillBackward0)
        n.dim = d
        _finish(t, n, (input, value) if tv else (input,), (_wrap(ia),))
    return t


class MaskedScatterBackward0(Node):
    __slots__ = ("sshape",)
    formula = "MaskedScatterBackward0: self: grad.masked_fill(mask, 0), source: grad[mask] padded to source"
    saved_names = ("mask",)

    def backward(self, g):
        m, = self.saved
        n = self._next
        gs = None
        if n[1][0] is not None:
            picked = g[m.expand(g.shape)]
            total = math.prod(self.sshape)
            pad = zeros(total - picked.shape[0], dtype=g.dtype, device=g.device)
            gs = cat([picked, pad]).reshape(self.sshape)
        return (where(m, zeros_like(g), g) if n[0][0] is not None else None), gs


def masked_scatter(input, mask, source):
    """input with its masked positions filled, in order, from source's first elements."""
    m = mask._a
    if m.dtype.kind != "b":
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{_dtype.from_np(m.dtype).name.capitalize().replace('Float32', 'Float')}")
    xp = _ns(input._a)
    shape = np.broadcast_shapes(input.shape, mask.shape)
    r = xp.broadcast_to(input._a, shape).copy()
    mb = xp.broadcast_to(m, shape)
    k = int(mb.sum())
    src = source._a.reshape(-1)
    if src.shape[0] < k:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    r[mb] = src[:k].astype(r.dtype, copy=False)
    t = _wrap(r)
    if _needs(input, source):
        n = new_node(MaskedScatterBackward0)
        n.sshape = tuple(source.shape)
        _finish(t, n, (input, source), (mask,))
    return t


index_add_ = _mk_inplace(index_add, False)
index_fill_ = _mk_inplace(index_fill, False)
masked_scatter_ = _mk_inplace(masked_scatter, False)
tril_ = _mk_inplace(tril, False)
triu_ = _mk_inplace(triu, False)


# ============================================================================ cumulative reductions
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
        pos = arange(L, device=x.device)
        upper = unsqueeze(pos, 1) <= unsqueeze(pos, 0)                      # [i, j]: j >= i
        e = where(upper, unsqueeze(xm, -1) - unsqueeze(rm, -2), -math.inf)   # x_i - r_j where j >= i
        return (exp(e) * unsqueeze(gm, -2)).sum(-1).movedim(-1, d)


def logcumsumexp(input, dim):
    """log(cumsum(exp(x))) along dim, accumulated with logaddexp (no overflow, no underflow)."""
    a = input._a
    if a.dtype.kind != "f":
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
        return zeros(self.shape, dtype=g.dtype, device=g.device).scatter_add(self.dim, idx, g)


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
    hit = (a == vals) | (a != a) if a.dtype.kind == "f" else (a == vals)
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


def cummax(input, dim):
    """(values, indices): the running maximum along dim and where it was reached (last on ties)."""
    return _cumext(input, dim, True)


def cummin(input, dim):
    return _cumext(input, dim, False)


# ============================================================================ aminmax, median, dist
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
            part = _scale_by_count(g, eq(x, r), self.dims)
            out = part if out is None else out + part
        return (out,)


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
    if a.dtype.kind == "f" and dims:
        nan = _ns(a).isnan(a).any(axis=dims, keepdims=kd)
        if nan.any():
            lo, hi = _ns(a).where(nan, np.nan, lo), _ns(a).where(nan, np.nan, hi)
    tl, th = _wrap(_res(lo)), _wrap(_res(hi))
    if _gs.enabled and input._rg:
        n = new_node(AminmaxBackward0)
        n.dims, n.keepdim = dims, kd
        _finish(tl, n, (input,))
        n._meta = ((tl._a.shape, tl._a.dtype), (th._a.shape, th._a.dtype))
        n._saved = (input, _SavedOutput(tl), _SavedOutput(th))
        n._sver = (input._ver[0], 0, 0)
        th._node, th._nr, th._rg = n, 1, True
    return _aminmax_t(tl, th)


class MedianBackward0(Node):
    __slots__ = ()
    formula = "MedianBackward0: self: grad evenly split among the elements equal to the median"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        m = eq(x, r).to(g.dtype)
        return m * (g / m.sum())


class MedianBackward1(Node):
    __slots__ = ("shape", "dim", "keepdim")
    formula = "MedianBackward1: self: grad scattered to indices (zeros elsewhere)"
    saved_names = ("indices",)
    saved_attrs = ("dim", "keepdim")

    def backward(self, g):
        idx, = self.saved
        if not self.shape:
            return g
        if not self.keepdim:
            g, idx = g.unsqueeze(self.dim), idx.unsqueeze(self.dim)
        return zeros(self.shape, dtype=g.dtype, device=g.device).scatter(self.dim, idx, g)


def median(input, dim=None, keepdim=False):
    """median(x) -> the lower median of all elements; median(x, dim) -> (values, indices)."""
    a = input._a
    xp = _ns(a)
    if dim is None:
        flat = a.reshape(-1)
        if flat.size == 0:
            v = xp.full((), np.nan, a.dtype)
        elif a.dtype.kind == "f" and bool(xp.isnan(flat).any()):
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
            if a.dtype.kind == "f":                        # PyTorch: a NaN in the slice is the median
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
            gx = zeros_like(dx)
        elif p == 1:
            gx = g * sign(dx)
        elif p == 2:
            gx = where(eq(r, 0), zeros_like(r), g / r) * dx
        elif math.isinf(p):
            gx = sign(dx) * _scale_by_count(g.expand(dx.shape) if dx.ndim else g, eq(abs(dx), r),
                                            tuple(range(dx.ndim)))
        else:
            gx = where(eq(r, 0), zeros_like(r), g / r ** (p - 1)) * dx * abs(dx) ** (p - 2)
        return (gx if n[0][0] is not None else None, -gx if n[1][0] is not None else None)


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    xa, ya = _binary_arrays(input, other)
    if xa.dtype.kind != "f":
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


# ============================================================================ trapezoid, cov, corrcoef
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
            return zeros_like(y.sum(d))
        xl, xr = _slice(x, d, 0, x.shape[d] - 1, 1), _slice(x, d, 1, x.shape[d], 1)
        yl, yr = _slice(y, d, 0, L - 1, 1), _slice(y, d, 1, L, 1)
        return _scalar_op(((yr + yl) * (xr - xl)).sum(d), 2.0, DivBackward1)
    if x is not None:
        raise TypeError(f"trapezoid() received an invalid combination of arguments - got (Tensor, "
                        f"{type(x).__name__}), but expected one of:")
    spacing = dx if dx is not None else 1
    if y.shape[d] == 0:
        return zeros_like(y.sum(d))
    ends = _scalar_op(_select(y, d, 0) + _select(y, d, y.shape[d] - 1), 0.5, MulBackward1)
    return _scalar_op(y.sum(d) - ends, spacing, MulBackward1)


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


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
    from ._ops import scalar_tensor
    w_sum = w.sum() if w is not None else scalar_tensor(nobs, dtype=_dtype.int64, device=input.device)
    if w is not None and not bool(w_sum._a != 0):
        raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x * w if w is not None else x).sum(1) / w_sum
    if correction == 0:
        norm_factor = w_sum
    elif aweights is not None:
        norm_factor = w_sum - _scalar_op((w * aweights).sum(), correction, MulBackward1) / w_sum
    else:
        norm_factor = w_sum - correction
    if bool(norm_factor._a <= 0):
        import warnings
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.")
        norm_factor = zeros_like(norm_factor)
    x = x - avg.unsqueeze(1)
    c = mm(x, (x * w if w is not None else x).t())
    return div(c, norm_factor).squeeze()


def corrcoef(input):
    """Pearson correlation coefficients of the rows of input, clipped to [-1, 1]."""
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = sqrt(c.diagonal())
    c = c / sd.view(-1, 1)
    c = c / sd.view(1, -1)
    return clamp(c, -1, 1)


# ============================================================================ shapes: atleast, stacks, splits
def diagflat(input, offset=0):
    return diag(input.contiguous().view(-1), offset)


def _each(tensors, fn):
    if len(tensors) == 1:
        t = tensors[0]
        if isinstance(t, (list, tuple)):
            return tuple(fn(x) for x in t)
        return fn(t)
    return tuple(fn(x) for x in tensors)


def _atleast_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _atleast_2d(t):
    if t.ndim == 0:
        return t.reshape(1, 1)
    return t.unsqueeze(0) if t.ndim == 1 else t


def _atleast_3d(t):
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.unsqueeze(0).unsqueeze(-1)
    return t.unsqueeze(-1) if t.ndim == 2 else t


def atleast_1d(*tensors):
    return _each(tensors, _atleast_1d)


def atleast_2d(*tensors):
    return _each(tensors, _atleast_2d)


def atleast_3d(*tensors):
    return _each(tensors, _atleast_3d)


def column_stack(tensors, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1)


def dstack(tensors, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return cat([_atleast_3d(t) for t in tensors], 2)


def _split_at(input, sections, d, who):
    n = input.shape[d]
    if _isint(sections):
        if sections == 0 or n % sections:
            raise RuntimeError(f"torch.{who} attempted to split along dimension {d}, but the size of the dimension "
                               f"{n} is not divisible by the split_size {sections}!")
        q = n // sections
        bounds = [i * q for i in range(sections + 1)]
    else:
        bounds = [0] + [builtins.min(builtins.max(int(b) if b >= 0 else n + int(b), 0), n) for b in sections] + [n]
    return tuple(_slice(input, d, bounds[i], builtins.max(bounds[i + 1], bounds[i]), 1)
                 for i in range(len(bounds) - 1))


def hsplit(input, indices_or_sections):
    if input.ndim < 1:
        raise RuntimeError(f"torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    return _split_at(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit")


def vsplit(input, indices_or_sections):
    if input.ndim < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    return _split_at(input, indices_or_sections, 0, "vsplit")


def cartesian_prod(*tensors):
    """Rows of every combination of the inputs' elements (meshgrid, flattened, stacked)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    from ._ops import meshgrid
    return stack([g.flatten() for g in meshgrid(*tensors, indexing="ij")], 1)


class BlockDiagBackward0(Node):
    __slots__ = ("shapes",)
    formula = "BlockDiagBackward0: input i: its block of grad, reshaped to its shape"

    def backward(self, g):
        outs, r, c = [], 0, 0
        for (nxt, _), s in zip(self._next, self.shapes):
            h, w = (1, 1) if len(s) == 0 else (1, s[0]) if len(s) == 1 else s
            if nxt is not None:
                outs.append(g[r:r + h, c:c + w].reshape(s))
            else:
                outs.append(None)
            r, c = r + h, c + w
        return tuple(outs)


def block_diag(*tensors):
    """The inputs (0-d as 1x1, 1-d as one row) along the diagonal of a zero matrix."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        blocks.append(t._a.reshape(1, 1) if t.ndim == 0 else t._a.reshape(1, -1) if t.ndim == 1 else t._a)
    if not tensors:
        return zeros(1, 0)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    xp = _ns(blocks[0])
    out = xp.zeros((builtins.sum(b.shape[0] for b in blocks), builtins.sum(b.shape[1] for b in blocks)), dt.np)
    r = c = 0
    for b in blocks:
        out[r:r + b.shape[0], c:c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    t = _wrap(out)
    if _needs(*tensors):
        n = new_node(BlockDiagBackward0)
        n.shapes = tuple(tuple(x.shape) for x in tensors)
        _finish(t, n, tensors)
    return t


# ============================================================================ Tensor-only ops
def fill_diagonal_(self, fill_value, wrap=False):
    """Write fill_value on the main diagonal in place (a view written through: CopySlices)."""
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and builtins.any(s != self.shape[0] for s in self.shape):
        raise RuntimeError("all dimensions of input must be of equal length")
    tall = self.ndim == 2 and wrap and self.shape[0] > self.shape[1] + 1
    if self.is_contiguous():
        flat = self.view(-1)
        step = builtins.sum(self._a.strides) // self._a.itemsize
        end = flat.shape[0] if tall else builtins.min(self.shape) * step
        flat[0:end:step].fill_(fill_value)
    elif self.ndim == 2 and not tall:
        diagonal(self).fill_(fill_value)
    elif tall:                          # the diagonal restarts after a skipped row, as in the flat layout
        k = arange(0, self.numel(), self.shape[1] + 1, device=self.device)
        self[k // self.shape[1], k % self.shape[1]] = fill_value
    else:
        self[(arange(self.shape[0], device=self.device),) * self.ndim] = fill_value
    return self


class UnfoldBackward0(Node):
    __slots__ = ("shape", "dim", "size", "step")
    formula = "UnfoldBackward0: self: each window of grad added back at its place (index_add)"
    saved_attrs = ("dim", "size", "step")

    def backward(self, g):
        d, size, step = self.dim, self.size, self.step
        if not self.shape:
            return g.reshape(())
        nw = g.shape[d]
        win = g.movedim(-1, d + 1)
        win = win.reshape(tuple(self.shape[:d]) + (nw * size,) + tuple(self.shape[d + 1:]))
        starts = arange(nw, device=g.device) * step
        idx = (unsqueeze(starts, 1) + unsqueeze(arange(size, device=g.device), 0)).reshape(-1)
        return index_add(zeros(self.shape, dtype=g.dtype, device=g.device), d, idx, win)


def unfold(self, dimension, size, step):
    """A view of every window of `size` along dimension, `step` apart; windows in a new last dim."""
    a = self._a
    d = _wdim(dimension, a.ndim)
    L = a.shape[d] if a.ndim else 1
    if size > L:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {L} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if a.ndim == 0:
        shape, strides = (size,), (0,)
    else:
        nw = (L - size) // step + 1
        shape = a.shape[:d] + (nw,) + a.shape[d + 1:] + (size,)
        strides = a.strides[:d] + (a.strides[d] * step,) + a.strides[d + 1:] + (a.strides[d],)
    if type(a) is np.ndarray:
        v = np.lib.stride_tricks.as_strided(a, shape, strides)
    else:
        v = xp_of(a).lib.stride_tricks.as_strided(a, shape=shape, strides=strides)
    return _view_of(self, v, UnfoldBackward0, {"shape": a.shape, "dim": d, "size": size, "step": step})


def sum_to_size(self, *size):
    size = tuple(_shape_args(size))
    shape = tuple(self.shape)
    ok = len(size) <= len(shape) and builtins.all(
        s == t or s == 1 for s, t in zip(size, shape[len(shape) - len(size):]))
    if not ok:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    return sum_to(self, size)


# ============================================================================ Tensor methods
def _attach():
    T = Tensor
    record_namespace(globals())
    for name in ("diff", "kron", "cross", "roll", "rot90", "vdot", "baddbmm", "addmv", "index_add", "index_fill",
                 "masked_scatter", "logcumsumexp", "cummax", "cummin", "aminmax", "median", "dist", "cov",
                 "corrcoef", "diagflat", "hsplit", "vsplit", "addmm_", "baddbmm_", "addmv_", "index_add_",
                 "index_fill_", "masked_scatter_", "tril_", "triu_", "fill_diagonal_", "unfold", "sum_to_size"):
        setattr(T, name, globals()[name])


_attach()
