"""Indexing: getitem/setitem, gather/scatter, index_select/index_add/index_fill/index_put,
masked_fill/masked_select/masked_scatter, tril/triu, diagonal/diag/diag_embed/trace, take/put.
"""
import builtins
import math
import numpy as np

from ..autograd.graph import Node, new_node
from ..backend import check_same_device, is_cuda_array, xp_of
from ..autograd.grad_mode import state as _gs
from .._tensor import Tensor
from .. import _dtype
from ._core import make_inplace, _finish, _isinst, _ndarray, _needs, _ns, _res, _type_word, _view_of, _wdim, _wrap, sum_to
from ..autograd.views import CopySlices, _check_inplace, _mark_view, _rebase, _regen_view
from ._registry import op
from .. import ops
from .._dtype import is_floating


class SelectBackward0(Node):
    __slots__ = ("shape", "dim", "index")
    formula = "SelectBackward0: self: zeros(self.shape) with [dim=index] = grad"
    saved_attrs = ("dim", "index")

    def backward(self, g):
        return _index_fill_grad(g, self.shape, (slice(None),) * self.dim + (self.index,))


class SliceBackward0(Node):
    __slots__ = ("shape", "dim", "start", "end", "step")
    formula = "SliceBackward0: self: zeros(self.shape) with [dim, start:end:step] = grad"
    saved_attrs = ("dim", "start", "end", "step")

    def backward(self, g):
        return _index_fill_grad(g, self.shape, (slice(None),) * self.dim + (slice(self.start, self.end, self.step),))


class IndexBackward0(Node):
    __slots__ = ("shape", "key")
    formula = "IndexBackward0: self: zeros(self.shape).index_put_(indices, grad, accumulate=True)"
    saved_names = ("indices",)

    def backward(self, g):
        return _index_fill_grad(g, self.shape, self.key, accumulate=True)


def _index_fill_grad(g, shape, key, accumulate=False):
    """zeros(shape) with g written (or added, for repeated indices) at key; differentiable in g."""
    a = g._a
    xp = xp_of(a)
    z = xp.zeros(shape, dtype=a.dtype)
    if accumulate:
        if xp is np:
            np.add.at(z, key, a)
        else:
            import cupyx
            cupyx.scatter_add(z, key, a)
    else:
        z[key] = a
    t = _wrap(z)
    if _gs.enabled and g._rg:
        n = new_node(IndexPutBackward0)
        n.key, n.vshape, n.accumulate, n.inputs = key, None, accumulate, "values"
        _finish(t, n, (g,))
    return t


def _index_raw(x, key):
    """x[key] with a numpy key as one node (used inside backward formulas)."""
    t = _wrap(_res(x._a[key]))
    if _gs.enabled and x._rg:
        n = new_node(IndexBackward0)
        n.shape, n.key = x._a.shape, key
        _finish(t, n, (x,))
    return t


def _select(x, dim, index):
    size = x._a.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {dim} with size {size}")
    index = index % size
    return _view_of(x, x._a[(slice(None),) * dim + (index,)], SelectBackward0,
                    {"shape": x._a.shape, "dim": dim, "index": index})


def _slice(x, dim, start, stop, step):
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    size = x._a.shape[dim]
    s, e, st = slice(start, stop, step).indices(size)
    e = builtins.max(e, s)
    return _view_of(x, x._a[(slice(None),) * dim + (slice(s, e, st),)], SliceBackward0,
                    {"shape": x._a.shape, "dim": dim, "start": s, "end": e, "step": st})


def _index_array(i):
    if _isinst(i, Tensor):
        a = i._a
        if a.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a
    if _isinst(i, (list, tuple, range)):
        items = [_index_array(v) if _isinst(v, Tensor) else v for v in i]
        on_device = [v for v in items if is_cuda_array(v)]
        if on_device:                   # a list holding cuda tensors: stacked on their device
            xp = _ns(on_device[0])
            a = xp.stack([xp.asarray(v) for v in items])
        else:
            a = np.array(items, dtype=None if len(i) else np.int64)
        if a.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a
    return i


def _np_key(key):
    if not _isinst(key, tuple):
        key = (key,)
    return tuple(_index_array(k) if _isinst(k, (Tensor, list)) else
                 (int(k) if _isinst(k, np.integer) else k) for k in key)


def _is_adv(k):
    return _isinst(k, (Tensor, list, range, _ndarray)) or is_cuda_array(k)


@op("__getitem__", function=False)
def getitem(x, key):
    """x[key]: basic indexing gives views (Select/Slice/Unsqueeze nodes as PyTorch applies them);
    integer-array and boolean indexing give a copy (IndexBackward0)."""
    if x._base is not None and x._vv != x._ver[0] and _gs.enabled:
        _regen_view(x)
    if not (_gs.enabled and x._rg):
        k = _np_key(key)
        a = x._a
        try:
            r = a[k]
        except IndexError as e:
            raise IndexError(str(e)) from None
        if not _isinst(r, _ndarray) and not is_cuda_array(r):
            r = np.asarray(r)
            return _wrap(r)
        t = _wrap(r)
        if r.base is not None and not builtins.any(_is_adv(i) for i in k):
            _mark_view(t, x)
        return t
    single = not _isinst(key, tuple)
    items = (key,) if single else key
    if single and _isinst(key, slice):
        return _slice(x, 0, key.start, key.stop, key.step)
    specified = 0
    for k in items:
        if k is None or k is Ellipsis:
            continue
        if _isinst(k, Tensor) and k._a.dtype.kind == "b":
            specified += k.ndim
        elif _isinst(k, bool):
            continue
        else:
            specified += 1
    if specified > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    res = x
    dim = 0
    adv = []
    for k in items:
        if k is None:
            res = ops.unsqueeze(res, dim)
            dim += 1
        elif k is Ellipsis:
            dim += x.ndim - specified
        elif _isinst(k, (int, np.integer)) and not _isinst(k, bool):
            res = _select(res, dim, int(k))
        elif _isinst(k, slice):
            full = k.start in (None, 0) and k.step in (None, 1) and (k.stop is None or k.stop >= res.shape[dim])
            if not full:
                res = _slice(res, dim, k.start, k.stop, k.step)
            dim += 1
        else:
            a = _index_array(k)
            if _isinst(k, Tensor) and a.ndim == 0 and a.dtype.kind in "iu":
                res = _select(res, dim, int(a))
                continue
            adv.append((dim, a))
            dim += a.ndim if a.dtype.kind == "b" else 1
    if adv:
        last = builtins.max(d for d, _ in adv)
        # a boolean index spans several dims: build the key positionally
        key2 = []
        pos = dict(adv)
        d = 0
        while d <= last:
            if d in pos:
                key2.append(pos[d])
                d += pos[d].ndim if pos[d].dtype.kind == "b" else 1
            else:
                key2.append(slice(None))
                d += 1
        k2 = tuple(key2)
        try:
            r = res._a[k2]
        except IndexError as e:
            raise IndexError(str(e)) from None
        t = _wrap(_res(r))
        n = new_node(IndexBackward0)
        n.shape, n.key = res._a.shape, k2
        _finish(t, n, (res,))
        n._saved = tuple(_wrap(a) for _, a in adv)
        n._sver = (0,) * len(adv)
        return t
    if res is x:
        return _view_of(x, x._a.view(), ops.shape.AliasBackward0)
    return res


class IndexPutBackward0(Node):
    """index_put (out of place, x[adv] = v, and the scatter inside index/select backward): one
    node whose edges are (self, values), (self,) or (values,) as `inputs` says."""
    __slots__ = ("key", "vshape", "accumulate", "inputs")
    formula = "IndexPutBackward0: self: grad with [indices] = 0 (unless accumulate), values: grad[indices]"

    def backward(self, g):
        both, n = self.inputs == "both", self._next
        gs = gv = None
        if self.inputs != "values" and n[0][0] is not None:
            gs = g if self.accumulate else _masked_zero(g, self.key)
        if self.inputs != "self" and n[-1][0] is not None:
            gv = _index_raw(g, self.key)
            if self.vshape is not None:
                gv = sum_to(gv, self.vshape)
        return (gs, gv) if both else gs if self.inputs == "self" else gv


def _masked_zero(g, key):
    a = g._a.copy()
    a[key] = 0
    t = _wrap(a)
    if _gs.enabled and g._rg:
        n = new_node(IndexPutBackward0)
        n.key, n.vshape, n.accumulate, n.inputs = key, None, False, "self"
        _finish(t, n, (g,))
    return t


def _drop_leading_ones(xa, k, va):
    """`va` without the leading size-1 dims it has beyond the indexed region's, as PyTorch
    drops them (t[2] = ones(1, 1) writes one element; NumPy refuses a (1, 1) into a scalar)."""
    if not hasattr(va, "ndim") or va.ndim == 0 or va.shape[0] != 1:     # a scalar, or no leading 1
        return va
    extra = va.ndim - xa[k].ndim
    if extra > 0 and builtins.all(d == 1 for d in va.shape[:extra]):
        return va.reshape(va.shape[extra:])
    return va


def _setitem(x, key, value):
    """x[key] = value, in place (CopySlices / IndexPutBackward0 when autograd records it)."""
    k = _np_key(key)
    is_t = _isinst(value, Tensor)
    rec = _gs.enabled and (x._rg or (is_t and value._rg))
    _check_inplace(x, value)
    if is_t:
        va = value._a
        if va.dtype != x._a.dtype:
            va = va.astype(x._a.dtype)
        if type(va) is not type(x._a):
            if va.ndim == 0:
                va = va.item()
            else:
                check_same_device(x._a, va)
        va = _drop_leading_ones(x._a, k, va)
    else:
        va = value
    if not rec:
        x._a[k] = va
        x._ver[0] += 1
        return
    adv = builtins.any(_is_adv(i) for i in k)
    if adv and not builtins.any(_isinst(i, (int, slice)) for i in k):
        n = new_node(IndexPutBackward0)
        n.accumulate, n.inputs = False, "both"
    else:
        n = new_node(CopySlices)
        n.fn = None
    n.key = k
    n.vshape = value._a.shape if is_t else ()
    # connected as any op (edges to x's history before the write and to value), with a fresh
    # tensor standing for the written result; then x itself is rebased onto the node
    _finish(_wrap(x._a), n, (x, value if is_t else None))
    x._a[k] = va
    _rebase(x, n)


@op("__setitem__", function=False)
def setitem(x, key, value):
    """Tensor.__setitem__ (`x[key] = value`): recorded with x as its output."""
    _setitem(x, key, value)
    return x


class GatherBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "GatherBackward0: self: zeros(self.shape).scatter_add(dim, index, grad)"
    saved_names = ("index",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        return ops.zeros(self.shape, dtype=g.dtype, device=g.device).scatter_add(self.dim, idx, g)


@op
def gather(input, dim, index, *, sparse_grad=False):
    d = _wdim(dim, input.ndim)
    ia = index._a
    if ia.dtype.kind not in "iu":
        raise RuntimeError("gather(): Expected dtype int64 for index")
    if ia.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    a = input._a
    src = a[tuple(slice(0, s) if i != d else slice(None) for i, s in enumerate(ia.shape))]
    r = np.take_along_axis(src, ia, d) if type(a) is _ndarray else xp_of(a).take_along_axis(src, ia, d)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(GatherBackward0)
        n.shape, n.dim = a.shape, d
        _finish(t, n, (input,), (index,))
    return t


class ScatterAddBackward0(Node):
    __slots__ = ("dim",)
    formula = "ScatterAddBackward0: self: grad, src: grad.gather(dim, index)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        n = self._next
        return (g if n[0][0] is not None else None,
                g.gather(self.dim, idx) if n[1][0] is not None else None)


class ScatterBackward0(Node):
    __slots__ = ("dim",)
    formula = "ScatterBackward0: self: grad.scatter(dim, index, 0), src: grad.gather(dim, index)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        n = self._next
        return (g.scatter(self.dim, idx, 0.0) if n[0][0] is not None else None,
                g.gather(self.dim, idx) if n[1][0] is not None else None)


def _scatter_idx(ia, d):
    grids = np.indices(ia.shape, sparse=True) if type(ia) is _ndarray else xp_of(ia).indices(ia.shape, sparse=True)
    grids = list(grids)
    grids[d] = ia
    return tuple(grids)


def _scatter_add_into(r, d, ia, sv):
    """np.add.at(r, _scatter_idx(ia, d), sv) on a C-contiguous NumPy array r. With every index in
    range it runs as one flat index into r raveled, which NumPy's add.at takes ~2.5x faster (its
    fast path wants one 1-D index array; measured for gather's backward, 4096x64 from 1000x64):
    the same additions in the same order, so the same result. Otherwise add.at with the
    tuple key, whose error (or wrap-around for negative indices) stays as it was."""
    key = _scatter_idx(ia, d)
    if (ia.size and r.ndim and r.flags.c_contiguous and 0 <= ia.min() and ia.max() < r.shape[d]
            and all(n <= m for i, (n, m) in enumerate(zip(ia.shape, r.shape)) if i != d)):
        flat = np.ravel_multi_index(key, r.shape)
        np.add.at(r.reshape(-1), flat.reshape(-1), np.broadcast_to(sv, flat.shape).reshape(-1))
    else:
        np.add.at(r, key, sv)


@op
def scatter_add(input, dim, index, src):
    d = _wdim(dim, input.ndim)
    r = input._a.copy()
    ia = index._a
    sv = src._a[tuple(slice(0, s) for s in ia.shape)]
    if type(r) is _ndarray:
        _scatter_add_into(r, d, ia, sv)
    else:
        import cupyx
        cupyx.scatter_add(r, _scatter_idx(ia, d), sv)
    t = _wrap(r)
    if _needs(input, src):
        n = new_node(ScatterAddBackward0)
        n.dim = d
        _finish(t, n, (input, src), (index,))
    return t


@op
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if src is None:
        src = value
    d = _wdim(dim, input.ndim)
    r = input._a.copy()
    ia = index._a
    key = _scatter_idx(ia, d)
    if _isinst(src, Tensor):
        r[key] = src._a[tuple(slice(0, s) for s in ia.shape)]
    else:
        r[key] = src
    t = _wrap(r)
    if _needs(input, src):
        n = new_node(ScatterBackward0)
        n.dim = d
        _finish(t, n, (input, src if _isinst(src, Tensor) else None), (index,))
    return t


class IndexSelectBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "IndexSelectBackward0: self: zeros(self.shape).index_add(dim, index, grad)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        return _index_fill_grad(g, self.shape, (slice(None),) * self.dim + (idx._a,), accumulate=True)


@op
def index_select(input, dim, index):
    d = _wdim(dim, input.ndim)
    ia = index._a.reshape(-1) if index.ndim else index._a.reshape(1)
    t = _wrap(_res(xp_of(input._a).take(input._a, ia, axis=d)))
    if _gs.enabled and input._rg:
        n = new_node(IndexSelectBackward0)
        n.shape, n.dim = input._a.shape, d
        _finish(t, n, (input,), (_wrap(ia),))
    return t


@op
def take_along_dim(input, indices, dim=None):
    """input's values at `indices` along dim (dim None: both flattened), as gather takes them."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    dim = _wdim(dim, input.ndim)
    sizes = list(input.shape)
    sizes[dim] = indices.shape[dim]
    shape = list(np.broadcast_shapes(tuple(sizes), tuple(indices.shape)))   # as PyTorch: both broadcast
    index_shape = shape[:dim] + [indices.shape[dim]] + shape[dim + 1:]        # but along dim
    shape[dim] = input.shape[dim]
    return gather(input.broadcast_to(shape), dim, indices.broadcast_to(index_shape))


class MaskedFillBackward0(Node):
    __slots__ = ()
    formula = "MaskedFillBackward0: self: grad.masked_fill(mask, 0), value: grad[mask].sum()"
    saved_names = ("mask",)

    def backward(self, g):
        m, = self.saved
        n = self._next
        z = ops.zeros_like(g)
        gv = None
        if len(n) > 1 and n[1][0] is not None:
            gv = ops.where(m, g, z).sum()
        return (ops.where(m, z, g) if n[0][0] is not None else None,) + ((gv,) if len(n) > 1 else ())


@op
def masked_fill(input, mask, value):
    m = mask._a
    if m.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    v = value._a if _isinst(value, Tensor) else value
    t = _wrap(_res(_ns(m).where(m, v, input._a).astype(input._a.dtype, copy=False)))
    if _needs(input, value):
        n = new_node(MaskedFillBackward0)
        ins = (input, value) if _isinst(value, Tensor) else (input,)
        _finish(t, n, ins, (mask,))
    return t


class MaskedSelectBackward0(Node):
    __slots__ = ("shape", "key")
    formula = "MaskedSelectBackward0: self: zeros(broadcast shape) with grad at mask, summed to self's shape"

    def backward(self, g):
        return _index_fill_grad(g, self.shape, self.key)


@op
def masked_select(input, mask):
    """The elements of input (broadcast with mask) where mask is True, as a 1-D tensor."""
    shape = np.broadcast_shapes(input.shape, mask.shape)
    xp = xp_of(input._a)
    key = xp.broadcast_to(mask._a, shape)
    t = _wrap(xp.broadcast_to(input._a, shape)[key])
    if _needs(input):
        n = new_node(MaskedSelectBackward0)
        n.shape, n.key = shape, key
        _finish(t, n, (input,))
    return t


@op
def nonzero(input, *, as_tuple=False):
    nz = np.nonzero(input._a) if type(input._a) is _ndarray else input._a.nonzero()
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in nz)
    xp = xp_of(input._a)
    return _wrap(xp.stack(nz, axis=1).astype(np.int64) if len(nz) else xp.zeros((0, 0), np.int64))


@op(method=False)
def argwhere(input):
    return nonzero(input)


class TrilBackward0(Node):
    __slots__ = ("diagonal",)
    formula = "TrilBackward0: self: grad.tril(diagonal)"

    def backward(self, g):
        return tril(g, self.diagonal)


class TriuBackward0(Node):
    __slots__ = ("diagonal",)
    formula = "TriuBackward0: self: grad.triu(diagonal)"

    def backward(self, g):
        return triu(g, self.diagonal)


def _tri(input, diagonal, lower):
    a = input._a
    xp = xp_of(a)
    t = _wrap((xp.tril if lower else xp.triu)(a, diagonal))
    if _gs.enabled and input._rg:
        n = new_node(TrilBackward0 if lower else TriuBackward0)
        n.diagonal = diagonal
        _finish(t, n, (input,))
    return t


@op
def tril(input, diagonal=0):
    return _tri(input, diagonal, True)


@op
def triu(input, diagonal=0):
    return _tri(input, diagonal, False)


class DiagonalBackward0(Node):
    """diagonal(input, offset, dim1, dim2): a view with the diagonal as its last dim (einsum's
    repeated labels take it too)."""
    __slots__ = ("self_sym_sizes", "offset", "dim1", "dim2")
    formula = "DiagonalBackward0: self: diagonal_backward(grad, self.sizes(), offset, dim1, dim2)"
    saved_attrs = ("self_sym_sizes", "offset", "dim1", "dim2")

    def backward(self, g):
        return _diagonal_backward(g, self.self_sym_sizes, self.offset, self.dim1, self.dim2)


class DiagonalBackward0_copy(DiagonalBackward0):
    """diag(2-D input): the diagonal as a new tensor (PyTorch records diagonal_copy's node)."""
    __slots__ = ()
    formula = "DiagonalBackward0_copy: self: diagonal_backward(grad, self.sizes(), offset, dim1, dim2)"


class DiagonalBackwardBackward0(Node):
    """diagonal_backward (zeros with grad on a diagonal), recorded by DiagonalBackward0's double backward."""
    __slots__ = ("offset", "dim1", "dim2")
    formula = "DiagonalBackwardBackward0: grad: grad.diagonal(offset, dim1, dim2)"
    saved_attrs = ("offset", "dim1", "dim2")

    def backward(self, g):
        return diagonal(g, self.offset, self.dim1, self.dim2)


class DiagEmbedBackward0(Node):
    __slots__ = ("offset", "dim1", "dim2")
    formula = "DiagEmbedBackward0: self: grad.diagonal(offset, dim1, dim2)"
    saved_attrs = ("offset", "dim1", "dim2")

    def backward(self, g):
        return diagonal(g, self.offset, self.dim1, self.dim2)


class TraceBackward0(Node):
    __slots__ = ("self_sym_sizes",)
    formula = "TraceBackward0: self: zeros(self.sizes()) with grad on the diagonal"
    saved_attrs = ("self_sym_sizes",)

    def backward(self, g):
        n = builtins.min(self.self_sym_sizes)
        return _diagonal_backward(g.expand(n), self.self_sym_sizes, 0, 0, 1)


def _diag_dims(ndim, offset, dim1, dim2):
    """Checked (offset, dim1, dim2) of a diagonal over an ndim-dim tensor, dims made non-negative."""
    d1, d2 = _wdim(dim1, ndim), _wdim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return int(offset), d1, d2


def _embed_diagonal(src, shape, offset, d1, d2):
    """Raw array: zeros of `shape` with src's last dim on the offset diagonal of dims d1, d2 (the
    other dims of src in order), C-contiguous. Written through a strided slice of a flat
    buffer, so that it works on any array namespace (NumPy's diagonal() is read-only)."""
    xp = _ns(src)
    rest = tuple(s for i, s in enumerate(shape) if i not in (d1, d2))
    n, m = shape[d1], shape[d2]
    flat = xp.zeros(rest + (n * m,), dtype=src.dtype)
    k = src.shape[-1]
    if k:
        start = offset if offset >= 0 else -offset * m
        flat[..., start:start + (k - 1) * (m + 1) + 1:m + 1] = src
    return xp.ascontiguousarray(xp.moveaxis(flat.reshape(rest + (n, m)), (-2, -1), (d1, d2)))


def _diagonal_backward(g, shape, offset, dim1, dim2):
    """zeros(shape) with g on the (offset, dim1, dim2) diagonal (PyTorch's diagonal_backward)."""
    t = _wrap(_embed_diagonal(g._a, tuple(shape), offset, dim1, dim2))
    if _needs(g):
        n = new_node(DiagonalBackwardBackward0)
        n.offset, n.dim1, n.dim2 = offset, dim1, dim2
        _finish(t, n, (g,))
    return t


@op
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal over dims dim1, dim2 (offset above it when positive) as the last dim: a view."""
    a = input._a
    offset, d1, d2 = _diag_dims(a.ndim, offset, dim1, dim2)
    d = a.diagonal(offset, d1, d2)
    if type(d) is _ndarray and a.flags.writeable:
        d.flags.writeable = True      # NumPy hands out a read-only view; PyTorch's may be written to
    return _view_of(input, d, DiagonalBackward0,
                    {"self_sym_sizes": a.shape, "offset": offset, "dim1": d1, "dim2": d2})


@op
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose (dim1, dim2) diagonals (offset above the main one) hold input's last dim."""
    a = input._a
    nd = a.ndim + 1
    offset, d1, d2 = _diag_dims(nd, offset, dim1, dim2)
    n = (a.shape[-1] if a.ndim else 1) + builtins.abs(offset)
    rest = list(a.shape[:-1])
    for d in sorted((d1, d2)):
        rest.insert(d, n)
    t = _wrap(_embed_diagonal(a, tuple(rest), offset, d1, d2))
    if _needs(input):
        node = new_node(DiagEmbedBackward0)
        node.offset, node.dim1, node.dim2 = offset, dim1, dim2
        _finish(t, node, (input,))
    return t


@op
def diag(input, diagonal=0):
    """1-D input: a square matrix with it on the diagonal-th diagonal; 2-D: that diagonal (a copy)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    a = input._a
    t = _wrap(a.diagonal(diagonal).copy())
    if _needs(input):
        n = new_node(DiagonalBackward0_copy)
        n.self_sym_sizes, n.offset, n.dim1, n.dim2 = a.shape, int(diagonal), 0, 1
        _finish(t, n, (input,))
    return t


@op
def trace(input):
    a = input._a
    if a.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
    t = _wrap(_res(a.diagonal().sum(dtype=None if is_floating(a.dtype) else np.int64)))
    if _needs(input):
        n = new_node(TraceBackward0)
        n.self_sym_sizes = a.shape
        _finish(t, n, (input,))
    return t


@op
def index_put(input, indices, values, accumulate=False):
    key = tuple(_index_array(i) for i in indices)
    r = input._a.copy()
    va = values._a if _isinst(values, Tensor) else values
    if accumulate:
        if type(r) is _ndarray:
            np.add.at(r, key, va)
        else:
            import cupyx
            cupyx.scatter_add(r, key, va)
    else:
        r[key] = va
    t = _wrap(r)
    if _needs(input, values):
        n = new_node(IndexPutBackward0)
        n.key, n.vshape, n.accumulate = key, values.shape if _isinst(values, Tensor) else (), accumulate
        n.inputs = "both"
        _finish(t, n, (input, values if _isinst(values, Tensor) else None))
    return t


masked_fill_ = make_inplace(masked_fill)
masked_fill_ = op(masked_fill_, "masked_fill_", function=False)


scatter_ = make_inplace(scatter)
scatter_ = op(scatter_, "scatter_", function=False)


scatter_add_ = make_inplace(scatter_add)
scatter_add_ = op(scatter_add_, "scatter_add_", function=False)


index_put_ = make_inplace(index_put)
index_put_ = op(index_put_, "index_put_")


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


@op
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


@op
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
            pad = ops.zeros(total - picked.shape[0], dtype=g.dtype, device=g.device)
            gs = ops.cat([picked, pad]).reshape(self.sshape)
        return (ops.where(m, ops.zeros_like(g), g) if n[0][0] is not None else None), gs


@op
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


index_add_ = make_inplace(index_add)
index_add_ = op(index_add_, "index_add_", function=False)


index_fill_ = make_inplace(index_fill)
index_fill_ = op(index_fill_, "index_fill_", function=False)


masked_scatter_ = make_inplace(masked_scatter)
masked_scatter_ = op(masked_scatter_, "masked_scatter_", function=False)


tril_ = make_inplace(tril)
tril_ = op(tril_, "tril_", function=False)


triu_ = make_inplace(triu)
triu_ = op(triu_, "triu_", function=False)


@op
def diagflat(input, offset=0):
    return diag(input.contiguous().view(-1), offset)


@op(function=False)
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
        k = ops.arange(0, self.numel(), self.shape[1] + 1, device=self.device)
        self[k // self.shape[1], k % self.shape[1]] = fill_value
    else:
        self[(ops.arange(self.shape[0], device=self.device),) * self.ndim] = fill_value
    return self


# -- take / put: flat indices into input as if it were 1-D -------------------------------------------

def _flat_index(input, index, name):
    """index's array, flattened, after PyTorch's checks (dtype; range on the CPU only: a check on
    cuda would read the indices back to the host, where PyTorch asserts on the device)."""
    ia = index._a
    if ia.dtype != np.int64:
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got {_type_word(index)}")
    ia = ia.reshape(-1)
    n = input.numel()
    if type(ia) is _ndarray and ia.size:
        lo, hi = int(ia.min()), int(ia.max())
        bad = hi if hi >= n else (lo if lo < -n else None)
        if bad is not None or n == 0:
            raise IndexError(f"out of range: tried to access index {bad if bad is not None else lo} on a tensor "
                             f"of {n} elements.")
    return ia


class TakeBackward0(Node):
    __slots__ = ("shape",)
    formula = "TakeBackward0: self: zeros_like(self).put_(index, grad, accumulate=True)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        n = int(np.prod(self.shape))
        return _index_fill_grad(g.reshape(-1), (n,), (idx._a,), accumulate=True).view(self.shape)


@op
def take(input, index):
    """input's elements at flat `index` (input read as if 1-D, negative indices from the end), in
    index's shape; the gradient adds up at repeated indices."""
    ia = _flat_index(input, index, "take")
    t = _wrap(_res(input._a.reshape(-1)[ia].reshape(index.shape)))
    if _gs.enabled and input._rg:
        n = new_node(TakeBackward0)
        n.shape = input._a.shape
        _finish(t, n, (input,), (_wrap(ia),))
    return t


class PutBackward0(Node):
    __slots__ = ("accumulate", "source_shape")
    formula = ("PutBackward0: self: accumulate ? grad : grad.put(index, zeros_like(source), false), "
               "source: grad.take(index).reshape_as(source)")
    saved_names = ("index",)
    saved_attrs = ("accumulate",)

    def backward(self, g):
        idx, = self.saved
        nx = self._next
        gs = take(g, idx).reshape(self.source_shape) if nx[1][0] is not None else None
        gx = None
        if nx[0][0] is not None:
            gx = g if self.accumulate else put(g, idx, ops.zeros(idx.shape, dtype=g.dtype, device=g.device))
        return gx, gs


@op
def put(input, index, source, accumulate=False):
    """A copy of input with source's elements written (accumulate: added) at flat `index`."""
    if source.dtype != input.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                           f"{_type_word(input)} and source.dtype = {_type_word(source)}")
    if source.numel() != index.numel():
        raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    ia = _flat_index(input, index, "put_")
    check_same_device(input._a, source._a)
    r = input._a.copy()
    flat, sv = r.reshape(-1), source._a.reshape(-1)
    if not accumulate:
        flat[ia] = sv
    elif type(r) is _ndarray:
        np.add.at(flat, ia, sv)
    else:
        import cupyx
        cupyx.scatter_add(flat, ia, sv)
    t = _wrap(flat.reshape(r.shape))
    if _needs(input, source):
        n = new_node(PutBackward0)
        n.accumulate, n.source_shape = bool(accumulate), source._a.shape
        _finish(t, n, (input, source), (_wrap(ia),))
    return t


put_ = make_inplace(put)
put_ = op(put_, "put_", function=False)
