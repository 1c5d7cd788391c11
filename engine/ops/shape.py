"""Shapes and views: view/reshape, transpose/permute, squeeze/unsqueeze, expand, cat/stack,
split/chunk/unbind, flip, repeat, roll, rot90, diff, atleast_*, to/clone/contiguous.
"""
import builtins
import numpy as np

from ..autograd.graph import Node, new_node
from .._tensor import Size, Tensor
from ..autograd.grad_mode import state as _gs
from .. import _dtype
from ..backend import device as _device, device_of, to_device, xp_of
from ._core import _finish_outputs, _dims, _finish, _isinst, _needs, _ns, _res, _unsafe_view, _view_of, _wdim, _wrap, sum_to
from ..autograd.views import _mark_view
from ._registry import op, alias
from .. import ops
from .._dtype import is_floating


class ViewBackward0(Node):
    __slots__ = ("shape",)
    formula = "ViewBackward0: self: grad.reshape(self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.reshape(self.shape)


def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(shape):
    if len(shape) == 1 and _isinst(shape[0], (tuple, list, Size)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


class ReshapeAliasBackward0(Node):
    """reshape of a non-contiguous tensor whose strides allow a view (PyTorch's _reshape_alias)."""
    __slots__ = ("shape",)
    formula = "ReshapeAliasBackward0: self: grad.reshape(self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.reshape(self.shape)


@op
def reshape(input, *shape):
    """As PyTorch: a contiguous tensor is viewed (ViewBackward0), another one aliased where its
    strides allow (ReshapeAliasBackward0), else cloned and then _unsafe_view'ed."""
    shape = _infer_shape(_shape_args(shape), input._a.size)
    a = input._a
    if a.shape == shape and not (_gs.enabled and input._rg):
        return _view_of(input, a.view(), ViewBackward0)
    r = a.view()
    try:
        r.shape = shape
    except AttributeError:   # not expressible as a view: PyTorch clones, then _unsafe_view
        if _gs.enabled and input._rg:
            return _unsafe_view(clone(input), shape)
        return _wrap(a.reshape(shape))
    cls = ViewBackward0 if a.flags.c_contiguous else ReshapeAliasBackward0
    return _view_of(input, r, cls, {"shape": a.shape})


@op(function=False)
def view(input, *shape):
    if len(shape) == 1 and (_isinst(shape[0], _dtype.dtype) or shape[0] in (float, int)):
        return _wrap(input._a.view(_dtype.to_np(shape[0])))
    shape = _infer_shape(_shape_args(shape), input._a.size)
    a = input._a
    try:
        r = a.view()
        r.shape = shape
    except AttributeError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return _view_of(input, r, ViewBackward0, {"shape": a.shape})


@op(function=False)
def view_as(input, other):
    return view(input, other.shape)


@op(function=False)
def reshape_as(input, other):
    return reshape(input, other.shape)


@op
def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = _wdim(start_dim, nd), _wdim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    sh = input.shape
    new = tuple(sh[:s]) + (int(np.prod(sh[s:e + 1])),) + tuple(sh[e + 1:])
    return reshape(input, new)


@op
def unflatten(input, dim, sizes):
    d = _wdim(dim, input.ndim)
    sh = list(input.shape)
    sizes = list(_infer_shape(sizes, sh[d]))
    return view(input, tuple(sh[:d] + sizes + sh[d + 1:]))     # splitting a dim is always a view


@op
def ravel(input):
    return view(contiguous(input), -1)      # as PyTorch: CloneBackward0 then ViewBackward0 when strided


class TransposeBackward0(Node):
    __slots__ = ("dim0", "dim1")
    formula = "TransposeBackward0: self: grad.transpose(dim0, dim1)"
    saved_attrs = ("dim0", "dim1")

    def backward(self, g):
        return g.transpose(self.dim0, self.dim1)


class TBackward0(Node):
    __slots__ = ()
    formula = "TBackward0: self: grad.t()"

    def backward(self, g):
        return g.t()


class PermuteBackward0(Node):
    __slots__ = ("dims",)
    formula = "PermuteBackward0: self: grad.permute(inverse(dims))"
    saved_attrs = ("dims",)

    def backward(self, g):
        return g.permute(tuple(np.argsort(self.dims)))


@op
def transpose(input, dim0, dim1):
    nd = input.ndim
    d0, d1 = _wdim(dim0, nd), _wdim(dim1, nd)
    return _view_of(input, input._a.swapaxes(d0, d1) if nd else input._a.view(), TransposeBackward0,
                    {"dim0": d0, "dim1": d1})


swapaxes = swapdims = transpose
alias(swapaxes, "swapaxes")
alias(swapdims, "swapdims")


@op
def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return _view_of(input, input._a.T, TBackward0)


@op
def permute(input, *dims):
    dims = _shape_args(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = tuple(_wdim(d, nd) for d in dims)
    return _view_of(input, input._a.transpose(dims), PermuteBackward0, {"dims": dims})


def _T(x):
    return permute(x, tuple(range(x.ndim - 1, -1, -1)))


def _mT(x):
    if x.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return transpose(x, -2, -1)


class SqueezeBackward0(Node):
    __slots__ = ("shape",)
    formula = "SqueezeBackward0: self: grad.reshape(self.shape)"

    def backward(self, g):
        return g.reshape(self.shape)


class SqueezeBackward1(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward1: self: grad.unsqueeze(dim) (if it was squeezed)"


class SqueezeBackward2(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward2: self: grad.reshape(self.shape)"


class SqueezeBackward4(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward4: self: grad.reshape(self.shape)"


@op
def squeeze(input, dim=None):
    a = input._a
    if dim is None:
        return _view_of(input, a.squeeze(), SqueezeBackward0, {"shape": a.shape})
    if _isinst(dim, (tuple, list)):
        dims = tuple(d for d in _dims(dim, a.ndim) if a.shape[d] == 1)
        return _view_of(input, a.squeeze(dims) if dims else a.view(), SqueezeBackward2, {"shape": a.shape})
    d = _wdim(dim, a.ndim)
    r = a.squeeze(d) if a.ndim and a.shape[d] == 1 else a.view()
    return _view_of(input, r, SqueezeBackward1, {"shape": a.shape})


def _squeeze_(x, dim):
    """In-place squeeze on a fresh result (PyTorch's squeeze_ inside matmul: SqueezeBackward4)."""
    a = x._a
    r = a.squeeze(dim) if a.shape[dim] == 1 else a
    return _view_of(x, r, SqueezeBackward4, {"shape": a.shape})


class UnsqueezeBackward0(Node):
    __slots__ = ("dim",)
    formula = "UnsqueezeBackward0: self: grad.squeeze(dim)"
    saved_attrs = ("dim",)

    def backward(self, g):
        return g.squeeze(self.dim)


@op
def unsqueeze(input, dim):
    nd = input.ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd - 1}, {nd}], but got {dim})")
    d = dim % (nd + 1)
    return _view_of(input, _ns(input._a).expand_dims(input._a, d), UnsqueezeBackward0, {"dim": d})


class ExpandBackward0(Node):
    __slots__ = ("shape",)
    formula = "ExpandBackward0: self: sum_to(grad, self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return sum_to(g, self.shape)


@op(function=False)
def expand(input, *sizes):
    sizes = _shape_args(sizes)
    a = input._a
    nd = len(sizes)
    if nd < a.ndim:
        raise RuntimeError(f"expand(torch.FloatTensor{{[{', '.join(map(str, a.shape))}]}}, size=[{', '.join(map(str, sizes))}]): "
                           f"the number of sizes provided ({nd}) must be greater or equal to the number of dimensions in "
                           f"the tensor ({a.ndim})")
    lead = nd - a.ndim
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            shape.append(s)
        else:
            cur = a.shape[i - lead]
            if s == -1:
                s = cur
            elif cur != 1 and s != cur:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                                   f"non-singleton dimension {i}.  Target sizes: [{', '.join(map(str, sizes))}].  "
                                   f"Tensor sizes: [{', '.join(map(str, a.shape))}]")
            shape.append(s)
    xp = xp_of(a)
    return _view_of(input, xp.broadcast_to(a, tuple(shape)), ExpandBackward0, {"shape": a.shape})


@op(function=False)
def expand_as(input, other):
    return expand(input, other.shape)


@op
def broadcast_to(input, shape):
    return expand(input, shape)


@op(method=False)
def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


class AliasBackward0(Node):
    __slots__ = ()
    formula = "AliasBackward0: self: grad"

    def backward(self, g):
        return g


class CloneBackward0(Node):
    __slots__ = ()
    formula = "CloneBackward0: self: grad"

    def backward(self, g):
        return g


@op
def clone(input, *, memory_format=None):
    t = _wrap(input._a.copy())
    if _gs.enabled and input._rg:
        _finish(t, new_node(CloneBackward0), (input,))
    return t


@op(function=False)
def contiguous(input, memory_format=None):
    if input._a.flags.c_contiguous:
        return input
    return clone(input)


class ToCopyBackward0(Node):
    __slots__ = ("dtype", "device")
    formula = "ToCopyBackward0: self: grad.to(self.dtype, self.device)"

    def backward(self, g):
        return g.to(device=self.device, dtype=self.dtype)


def _to(input, dtype=None, device=None, copy=False):
    a = input._a
    npdt = _dtype.to_np(dtype) if dtype is not None else a.dtype
    src_dev = device_of(a)
    dev = _device(device) if device is not None else src_dev
    if npdt == a.dtype and dev == src_dev and not copy:
        return input
    r = a
    if dev != src_dev:
        r = to_device(r, dev)
    if npdt != r.dtype:
        r = r.astype(npdt)
    elif r is a:
        r = a.copy()
    t = _wrap(r)
    if _gs.enabled and input._rg:
        if not is_floating(npdt):
            return t
        n = new_node(ToCopyBackward0)
        n.dtype, n.device = a.dtype, src_dev
        _finish(t, n, (input,))
    return t


@op(function=False)
def to(input, *args, **kwargs):
    """to(dtype) / to(device) / to(device, dtype) / to(other_tensor), like Tensor.to."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    flags = 0                                   # bools after the first: non_blocking, copy
    for i, a in enumerate(args):
        if _isinst(a, _dtype.dtype) or a in (float, int, bool) and not _isinst(a, bool):
            dtype = a
        elif _isinst(a, Tensor):
            dtype, device = a.dtype, a.device
        elif _isinst(a, (str, _device, int)) and not _isinst(a, bool):
            device = a
        elif _isinst(a, bool) and i > 0 and flags < 2:
            copy = a if flags == 1 else copy
            flags += 1
        else:
            got = ", ".join(type(x).__name__ for x in args)
            raise TypeError(f"to() received an invalid combination of arguments - got ({got}), "
                            "but expected one of: (torch.device device = None, torch.dtype dtype "
                            "= None, bool non_blocking = False, bool copy = False), (torch.dtype "
                            "dtype, bool non_blocking = False, bool copy = False), (Tensor other, "
                            "bool non_blocking = False, bool copy = False)")
    return _to(input, dtype, device, copy)


class CatBackward0(Node):
    __slots__ = ("dim", "sizes")
    formula = "CatBackward0: each input: grad.narrow(dim, offset, size)"
    saved_attrs = ("dim", "sizes")

    def backward(self, g):
        outs = []
        off = 0
        for (nxt, _), s in zip(self._next, self.sizes):
            outs.append(g.narrow(self.dim, off, s) if nxt is not None and s else
                        (ops.zeros((0,), dtype=g.dtype) if nxt is not None else None))
            off += s
        return tuple(outs)


@op(method=False)
def cat(tensors, dim=0, *, out=None):
    tensors = [t for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    nonempty = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    ref = nonempty[0] if nonempty else tensors[0]
    d = _wdim(dim, ref.ndim)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    arrs = [t._a if t._a.dtype == dt.np else t._a.astype(dt.np) for t in nonempty] or [tensors[0]._a]
    for t in nonempty[1:]:
        position = next(i for i, u in enumerate(tensors) if u is t)
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for i in range(ref.ndim):
            if i != d and t.shape[i] != ref.shape[i]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref.shape[i]} but got size {t.shape[i]} for tensor number "
                                   f"{position} in the list.")
    xp = xp_of(arrs[0])
    r = xp.concatenate(arrs, axis=d)
    res = _wrap(_res(r))
    if _needs(*tensors):
        n = new_node(CatBackward0)
        n.dim = d
        n.sizes = tuple(t.shape[d] if t.ndim == ref.ndim else 0 for t in tensors)
        _finish(res, n, tensors)
    return res


concat = concatenate = cat
alias(concat, "concat", method=False)
alias(concatenate, "concatenate", method=False)


class StackBackward0(Node):
    __slots__ = ("dim", "count")
    formula = "StackBackward0: input i: grad.select(dim, i)"
    saved_attrs = ("dim",)

    def backward(self, g):
        return tuple(g.select(self.dim, i) if nxt is not None else None
                     for i, (nxt, _) in enumerate(self._next))


@op(method=False)
def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    nd = tensors[0].ndim
    d = _wdim(dim, nd + 1) if not -nd - 1 <= dim < 0 else dim % (nd + 1)
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    arrs = [t._a if t._a.dtype == dt.np else t._a.astype(dt.np) for t in tensors]
    r = xp_of(arrs[0]).stack(arrs, axis=d)
    res = _wrap(_res(r))
    if _needs(*tensors):
        n = new_node(StackBackward0)
        n.dim, n.count = d, len(tensors)
        _finish(res, n, tensors)
    return res


@op(method=False)
def hstack(tensors):
    """cat of atleast_1d(tensors) along dim 0 for 1-D tensors, else dim 1 (PyTorch's definition)."""
    tensors = [_atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


@op(method=False)
def vstack(tensors):
    """cat of atleast_2d(tensors) along dim 0 (PyTorch's definition)."""
    return cat([_atleast_2d(t) for t in tensors], 0)


class _MultiOut(Node):
    """A node with several outputs (split, unbind): missing gradients count as zeros."""
    __slots__ = ("shape", "dim", "pieces")

    def _apply(self, grads):
        ref = next(g for g in grads if g is not None)
        filled = [g if g is not None else ops.zeros(_piece_shape(self.shape, self.dim, p), dtype=ref.dtype, device=ref.device)
                  for g, p in zip(grads, self.pieces)]
        return self.backward(filled)


def _piece_shape(shape, dim, p):
    s = list(shape)
    if p is None:
        del s[dim]
    else:
        s[dim] = p
    return tuple(s)


class SplitBackward0(_MultiOut):
    __slots__ = ()
    formula = "SplitBackward0: self: cat(grads, dim)"

    def backward(self, grads):
        return cat(grads, self.dim)


class SplitWithSizesBackward0(SplitBackward0):
    __slots__ = ()
    formula = "SplitWithSizesBackward0: self: cat(grads, dim)"


class UnbindBackward0(_MultiOut):
    __slots__ = ()
    formula = "UnbindBackward0: self: stack(grads, dim)"

    def backward(self, grads):
        return stack(grads, self.dim)


def _multi_view(x, arrays, cls, dim, pieces):
    outs = []
    for a in arrays:
        t = _wrap(a)
        _mark_view(t, x, "multi")
        outs.append(t)
    if _gs.enabled and x._rg:
        n = new_node(cls)
        n.shape, n.dim, n.pieces = x._a.shape, dim, pieces
        _finish_outputs(outs, n, (x,))
    return tuple(outs)


@op
def split(tensor, split_size_or_sections, dim=0):
    d = _wdim(dim, tensor.ndim)
    size = tensor.shape[d]
    if _isinst(split_size_or_sections, int):
        s = split_size_or_sections
        sizes = [s] * (size // s) + ([size % s] if size % s else []) if size else [0]
        cls = SplitBackward0
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                               f"size at dimension {d}), but got split_sizes={sizes}")
        cls = SplitWithSizesBackward0
    idx = [slice(None)] * tensor.ndim
    arrays, off = [], 0
    for s in sizes:
        idx[d] = slice(off, off + s)
        arrays.append(tensor._a[tuple(idx)])
        off += s
    return _multi_view(tensor, arrays, cls, d, sizes)


@op
def chunk(input, chunks, dim=0):
    d = _wdim(dim, input.ndim)
    size = input.shape[d]
    each = -(-size // chunks) if chunks else size
    return split(input, builtins.max(each, 1), d)


@op
def tensor_split(input, sections, dim=0):
    """Pieces of input along dim, each a slice of it (SliceBackward0), as PyTorch makes them:
    `sections` pieces of near-equal size, or the pieces between the given indices."""
    d = _wdim(dim, input.ndim)
    n = input.shape[d]
    if _isinst(sections, int):
        q, r = divmod(n, sections)
        sizes = [q + 1] * r + [q] * (sections - r)
        ends = [builtins.sum(sizes[:i + 1]) for i in range(sections)]
        starts = [0] + ends[:-1]
    else:
        starts, ends = [0] + list(sections), list(sections) + [n]
    lead = (slice(None),) * d
    return tuple(input[lead + (slice(s, builtins.max(s, e)),)] for s, e in zip(starts, ends))


@op
def unbind(input, dim=0):
    d = _wdim(dim, input.ndim)
    arrays = [input._a[(slice(None),) * d + (i,)] for i in range(input.shape[d])]
    return _multi_view(input, arrays, UnbindBackward0, d, [None] * len(arrays))


class FlipBackward0(Node):
    __slots__ = ("dims",)
    formula = "FlipBackward0: self: grad.flip(dims)"
    saved_attrs = ("dims",)

    def backward(self, g):
        return g.flip(self.dims)


@op
def flip(input, *dims):
    dims = _shape_args(dims) if dims else ()
    dd = tuple(_wdim(d, input.ndim) for d in dims)
    t = _wrap(_res(_ns(input._a).flip(input._a, dd).copy() if dd else input._a.copy()))
    if _gs.enabled and input._rg:
        n = new_node(FlipBackward0)
        n.dims = dd
        _finish(t, n, (input,))
    return t


@op
def fliplr(input):
    return flip(input, 1)


@op
def flipud(input):
    return flip(input, 0)


class RepeatBackward0(Node):
    __slots__ = ("shape", "repeats")
    formula = "RepeatBackward0: self: grad summed over the tiles"

    def backward(self, g):
        lead = len(self.repeats) - len(self.shape)
        shp = []
        for i, r in enumerate(self.repeats):
            s = self.shape[i - lead] if i >= lead else 1
            shp += [r, s]
        g = g.reshape(tuple(shp)).sum(tuple(range(0, 2 * len(self.repeats), 2)))
        return g.reshape(self.shape)


@op(function=False)
def repeat(input, *sizes):
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    a = input._a.reshape((1,) * (len(sizes) - input.ndim) + input._a.shape)
    t = _wrap(_ns(a).tile(a, sizes))
    if _gs.enabled and input._rg:
        n = new_node(RepeatBackward0)
        n.shape, n.repeats = input._a.shape, sizes
        _finish(t, n, (input,))
    return t


@op
def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


@op
def repeat_interleave(input, repeats, dim=None):
    if dim is None:
        input, dim = input.flatten(), 0
    d = _wdim(dim, input.ndim)
    if not _isinst(repeats, Tensor):        # PyTorch's int overload: unsqueeze, expand, clone, flatten
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        x = input.unsqueeze(d + 1)
        shape = list(x.shape)
        shape[d + 1] = repeats
        return x.expand(shape).clone().flatten(d, d + 1)
    idx = np.repeat(np.arange(input.shape[d]), repeats._a)
    return ops.index_select(input, d, _wrap(idx.astype(np.int64)))


@op
def narrow(input, dim, start, length):
    d = _wdim(dim, input.ndim)
    if _isinst(start, Tensor):
        start = int(start.item())
    if start < 0:
        start += input.shape[d]
    if start < 0 or start + length > input.shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({input.shape[d]}).")
    return ops.indexing._slice(input, d, start, start + length, 1)


@op
def select(input, dim, index):
    return ops.indexing._select(input, _wdim(dim, input.ndim), index)


@op
def movedim(input, source, destination):
    src = [source] if _isinst(source, int) else list(source)
    dst = [destination] if _isinst(destination, int) else list(destination)
    nd = input.ndim
    src = [_wdim(s, nd) for s in src]
    dst = [_wdim(s, nd) for s in dst]
    order = [i for i in range(nd) if i not in src]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return permute(input, perm)


moveaxis = movedim
alias(moveaxis, "moveaxis")


class RollBackward0(Node):
    __slots__ = ("shifts", "dims")
    formula = "RollBackward0: self: grad.roll(-shifts, dims)"
    saved_attrs = ("shifts", "dims")

    def backward(self, g):
        return roll(g, tuple(-s for s in self.shifts), self.dims)


@op
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


@op
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


@op
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """n-th forward difference along dim: out[i] = x[i + 1] - x[i] (PyTorch's slices and sub)."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _wdim(dim, input.ndim)
    if prepend is not None or append is not None:
        parts = [ops.products._diff_part(prepend, input, d)] if prepend is not None else []
        parts.append(input)
        if append is not None:
            parts.append(ops.products._diff_part(append, input, d))
        input = cat(parts, d)
    x = input
    for _ in range(n):
        L = x.shape[d]
        if L == 0:
            break
        hi, lo = ops.indexing._slice(x, d, 1, L, 1), ops.indexing._slice(x, d, 0, L - 1, 1)
        x = (hi ^ lo) if x.dtype is _dtype.bool_ else hi - lo
    return x


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


@op(method=False)
def atleast_1d(*tensors):
    return _each(tensors, _atleast_1d)


@op(method=False)
def atleast_2d(*tensors):
    return _each(tensors, _atleast_2d)


@op(method=False)
def atleast_3d(*tensors):
    return _each(tensors, _atleast_3d)


@op(method=False)
def column_stack(tensors, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors], 1)


@op(method=False)
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
    return tuple(ops.indexing._slice(input, d, bounds[i], builtins.max(bounds[i + 1], bounds[i]), 1)
                 for i in range(len(bounds) - 1))


@op
def hsplit(input, indices_or_sections):
    if input.ndim < 1:
        raise RuntimeError(f"torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    return _split_at(input, indices_or_sections, 0 if input.ndim == 1 else 1, "hsplit")


@op
def vsplit(input, indices_or_sections):
    if input.ndim < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a tensor with "
                           f"{input.ndim} dimensions!")
    return _split_at(input, indices_or_sections, 0, "vsplit")


@op(method=False)
def cartesian_prod(*tensors):
    """Rows of every combination of the inputs' elements (meshgrid, flattened, stacked)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    meshgrid = ops.meshgrid
    return stack([g.flatten() for g in meshgrid(*tensors, indexing="ij")], 1)


@op(method=False)
def combinations(input, r=2, with_replacement=False):
    """Rows of the r-element combinations of a 1-D tensor's elements (itertools' order), gathered
    by index and stacked, so gradients flow back to the elements."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return ops.empty((0,), dtype=input.dtype, device=input.device)
    # as PyTorch builds it: an r-D meshgrid of the input, each grid's elements where its indices
    # increase (or do not decrease, with replacement), stacked as columns
    idx = np.indices((input.shape[0],) * r)
    keep = np.ones(idx.shape[1:], dtype=bool)
    for k in range(r - 1):
        keep &= idx[k] <= idx[k + 1] if with_replacement else idx[k] < idx[k + 1]
    if not keep.any():
        return ops.empty((0, r), dtype=input.dtype, device=input.device)
    mask = _wrap(to_device(keep, device_of(input._a)))
    return stack([g.masked_select(mask) for g in ops.meshgrid(*([input] * r), indexing="ij")], 1)


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


@op(method=False)
def block_diag(*tensors):
    """The inputs (0-d as 1x1, 1-d as one row) along the diagonal of a zero matrix."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        blocks.append(t._a.reshape(1, 1) if t.ndim == 0 else t._a.reshape(1, -1) if t.ndim == 1 else t._a)
    if not tensors:
        return ops.zeros(1, 0)
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
        starts = ops.arange(nw, device=g.device) * step
        idx = (unsqueeze(starts, 1) + unsqueeze(ops.arange(size, device=g.device), 0)).reshape(-1)
        return ops.index_add(ops.zeros(self.shape, dtype=g.dtype, device=g.device), d, idx, win)


@op(function=False)
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


@op(function=False)
def sum_to_size(self, *size):
    size = tuple(_shape_args(size))
    shape = tuple(self.shape)
    ok = len(size) <= len(shape) and builtins.all(
        s == t or s == 1 for s, t in zip(size, shape[len(shape) - len(size):]))
    if not ok:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    return sum_to(self, size)


# -- in-place shape changes: unsqueeze_, squeeze_, t_, transpose_ (swapdims_, swapaxes_) -------
class UnsqueezeBackward1(UnsqueezeBackward0):
    __slots__ = ()
    formula = "UnsqueezeBackward1: self: grad.squeeze(dim)"


class SqueezeBackward3(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward3: self: grad.reshape(self.shape)"


class SqueezeBackward5(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward5: self: grad.reshape(self.shape)"


class TransposeBackward1(TransposeBackward0):
    __slots__ = ()
    formula = "TransposeBackward1: self: grad.transpose(dim0, dim1)"


class TBackward1(TBackward0):
    __slots__ = ()
    formula = "TBackward1: self: grad.t()"


def _reshape_in_place(x, view_op, node_cls):
    """x becomes view_op(x) in place, as PyTorch's shape-changing in-place ops: the same data, a
    new shape, the version bumped, and with grad x's history continues through view_op's node
    under PyTorch's in-place name (node_cls)."""
    from ..autograd.views import _check_inplace, _rebase
    if _gs.enabled and x._rg and x._node is None and x._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    _check_inplace(x)
    r = view_op(x)
    x._a = r._a
    n = r._node
    if n is not None:
        n.__class__ = node_cls
        _rebase(x, n, 0, bump=False, view=False)
    x._ver[0] += 1
    if x._base is not None:
        x._vv = x._ver[0]
    return x


@op(function=False)
def unsqueeze_(input, dim):
    return _reshape_in_place(input, lambda x: unsqueeze(x, dim), UnsqueezeBackward1)


@op(function=False)
def squeeze_(input, dim=None):
    cls = SqueezeBackward3 if dim is None else SqueezeBackward5 if _isinst(dim, (tuple, list)) else SqueezeBackward4
    return _reshape_in_place(input, lambda x: squeeze(x, dim), cls)


@op(function=False)
def transpose_(input, dim0, dim1):
    return _reshape_in_place(input, lambda x: transpose(x, dim0, dim1), TransposeBackward1)


swapaxes_ = swapdims_ = transpose_
alias(swapaxes_, "swapaxes_", function=False)
alias(swapdims_, "swapdims_", function=False)


@op(function=False)
def t_(input):
    return _reshape_in_place(input, t, TBackward1)
