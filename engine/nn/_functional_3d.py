"""3-D pooling for `engine.nn.functional`: max_pool3d (with return_indices) and max_unpool3d,
avg_pool3d, adaptive_avg_pool3d, adaptive_max_pool3d; grid_sample and affine_grid; the one-node
resampling that interpolate's trilinear and bicubic modes use.

Each records the node PyTorch records, under its name. Max pooling gathers each window from
per-dim index tables (which input row each window position reads, and whether it lies inside the
input: computed on the host from shapes alone), picks PyTorch's element (the first maximum, or the
last NaN) and sends the gradient back to it. Average pooling sums strided slices; adaptive
averaging and interpolation contract each spatial dim with a small weight matrix. Their backward
nodes are the adjoint maps, whose own backward is the op again, so every order of derivative
works. grid_sample's node differentiates its composition of engine ops (run again in backward);
affine_grid is a composition of ops.
"""
from __future__ import annotations

import math

import numpy as np

import engine
from engine._dtype import is_floating
from engine._warnings import warn
from engine.autograd import Function
from engine.nn._arrays import array_of, name_node, namespace_of, tensor_from_array
from engine.nn._sizes import _adaptive_matrix, _ntuple, _out_size
from engine.ops.nn import scatter_flat, unpool_output_size
from engine.ops._registry import op

__all__ = ["max_pool3d", "max_pool3d_with_indices", "max_unpool3d", "avg_pool3d",
           "adaptive_avg_pool3d", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
           "grid_sample", "affine_grid"]


# -- window tables --------------------------------------------------------------------------------

def _pooled_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape (with its check on the padding)."""
    if p > ((k - 1) * d + 1) // 2:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                           f"kernel_size={k} and dilation={d}")
    span = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _strided_table(size, out, k, s, p, d):
    """(rows, inside): rows[o, j] is the input row window o reads at kernel offset j."""
    rows = (np.arange(out) * s - p)[:, None] + np.arange(k) * d
    return rows, (rows >= 0) & (rows < size)


def _adaptive_table(size, out):
    """PyTorch's adaptive windows [floor(o*size/out), ceil((o+1)*size/out)) as a table."""
    start = (np.arange(out) * size) // out
    end = -(-((np.arange(out) + 1) * size) // out)
    rows = start[:, None] + np.arange(int((end - start).max()))
    return rows, rows < end[:, None]


class _PickElements(Function):
    """out = x.flatten()[index]: the elements the pooling picked; backward adds the gradient at
    them (PyTorch's max_pool3d_with_indices_backward), a gather at the same places after that."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.shape = index, tuple(x.shape)
        return tensor_from_array(array_of(x).reshape(-1)[index])

    @staticmethod
    def backward(ctx, grad):
        return _PickElementsBackward.apply(grad, ctx.index, ctx.shape), None


class _PickElementsBackward(Function):
    @staticmethod
    def forward(ctx, grad, index, shape):
        ctx.index = index
        return tensor_from_array(scatter_flat(array_of(grad), index, shape))

    @staticmethod
    def backward(ctx, gg):
        index = tensor_from_array(ctx.index.reshape(-1))
        return gg.reshape(-1).gather(0, index).view(ctx.index.shape), None, None


class _MaxPool3d(_PickElements):
    pass


class _AdaptiveMaxPool3d(_PickElements):
    pass


name_node(_MaxPool3d, "MaxPool3DWithIndicesBackward0", "self: grad added at the picked elements")
name_node(_AdaptiveMaxPool3d, "AdaptiveMaxPool3DBackward0", "self: grad added at the picked elements")
name_node(_PickElementsBackward, "MaxPool3DWithIndicesBackwardBackward0",
          "grad_output: grad gathered at the picked elements")


def _window_max(x, tables, node):
    """Max over the windows the per-dim tables describe, along x's last len(tables) dims (the
    ones before them are planes): (values, indices flat over those dims), the values recorded as
    `node` (a _PickElements) on x itself, batched or not, as PyTorch records it."""
    a = array_of(x)
    xp = namespace_of(a)
    nd = len(tables)
    lead, size = a.shape[:-nd], a.shape[-nd:]
    outs = [t[0].shape[0] for t in tables]
    ks = [t[0].shape[1] for t in tables]
    # the flat spatial index each (window, offset) reads, as (out0, k0, out1, k1, ...) on the host
    flat = np.zeros((), np.int64)
    inside = np.ones((), bool)
    for axis, ((rows, valid), n_in) in enumerate(zip(tables, size)):
        shape = [1] * (2 * nd)
        shape[2 * axis], shape[2 * axis + 1] = rows.shape
        flat = flat * n_in + np.clip(rows, 0, n_in - 1).reshape(shape)
        inside = inside & valid.reshape(shape)
    order = tuple(range(0, 2 * nd, 2)) + tuple(range(1, 2 * nd, 2))    # windows first, offsets last
    flat = flat.transpose(order).reshape(-1, math.prod(ks))
    inside = inside.transpose(order).reshape(-1, math.prod(ks))
    planes = a.reshape(-1, math.prod(size))
    vals = planes[:, xp.asarray(flat)]                                   # (planes, windows, K)
    if not inside.all():
        fill = -np.inf if is_floating(a.dtype) else np.iinfo(a.dtype).min
        vals = xp.where(xp.asarray(inside), vals, xp.asarray(fill, dtype=a.dtype))
    # PyTorch's scan: update on val > max or on NaN -> the first maximum, or the last NaN
    pick = (vals == vals.max(axis=-1, keepdims=True)).argmax(axis=-1)
    if is_floating(a.dtype):
        nan = xp.isnan(vals)
        last_nan = nan.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)
        pick = xp.where(nan.any(axis=-1), last_nan, pick)
    index = xp.take_along_axis(xp.broadcast_to(xp.asarray(flat), vals.shape), pick[..., None], -1)[..., 0]
    index = index.reshape(lead + tuple(outs)).astype(np.int64)
    plane_start = (xp.arange(planes.shape[0], dtype=np.int64) * math.prod(size)).reshape(lead + (1,) * nd)
    values = node.apply(x, index + plane_start)
    return values, tensor_from_array(index)


def _unbatched(input, message):
    """Whether a 3-D pooling input (4-D or 5-D, else PyTorch's `message`) lacks the batch dim."""
    if input.ndim not in (4, 5):
        raise RuntimeError(message)
    return input.ndim == 4


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """Maximum over each window of (N, C, D, H, W) or (C, D, H, W); returns (values, indices),
    the indices flat over D*H*W as PyTorch's."""
    _unbatched(input, "non-empty 4D or 5D (batch mode) tensor expected for input")
    kernel = _ntuple(kernel_size, 3)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, 3)
    padding, dilation = _ntuple(padding, 3), _ntuple(dilation, 3)
    size = tuple(input.shape[-3:])
    outs = [_pooled_size(*args, ceil_mode) for args in zip(size, kernel, stride, padding, dilation)]
    if min(outs) < 1:
        channels = input.shape[-4]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (channels,) + size))}). Calculated "
                           f"output size: ({'x'.join(map(str, [channels] + outs))}). Output size is too "
                           "small")
    tables = [_strided_table(*args) for args in zip(size, outs, kernel, stride, padding, dilation)]
    return _window_max(input, tables, _MaxPool3d)


@op(namespace="nn.functional")
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    values, indices = max_pool3d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return (values, indices) if return_indices else values


def adaptive_max_pool3d_with_indices(input, output_size, return_indices: bool = False):
    """Maximum over PyTorch's adaptive windows; (values, indices flat over D*H*W)."""
    _unbatched(input, f"adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: {list(input.shape)}")
    size = tuple(input.shape[-3:])
    outs = _out_size(output_size, size, 3)
    return _window_max(input, [_adaptive_table(n, o) for n, o in zip(size, outs)], _AdaptiveMaxPool3d)


@op(namespace="nn.functional")
def adaptive_max_pool3d(input, output_size, return_indices: bool = False):
    values, indices = adaptive_max_pool3d_with_indices(input, output_size)
    return (values, indices) if return_indices else values


class _MaxUnpool3d(Function):
    """Zeros of the output size with each value put back at its index; backward gathers there."""

    @staticmethod
    def forward(ctx, x, indices, out_size):
        a = array_of(x)
        xp = namespace_of(a)
        count = math.prod(a.shape[:-3])                     # (N, C) planes, or C unbatched
        planes = xp.zeros((count, math.prod(out_size)), dtype=a.dtype)
        flat_idx = indices.reshape(count, -1)
        planes[xp.arange(count)[:, None], flat_idx] = a.reshape(count, -1)
        ctx.index, ctx.input_shape = flat_idx, a.shape
        return tensor_from_array(planes.reshape(a.shape[:-3] + tuple(out_size)))

    @staticmethod
    def backward(ctx, grad):
        picked = grad.reshape(len(ctx.index), -1).gather(1, tensor_from_array(ctx.index))
        return picked.reshape(ctx.input_shape), None, None


name_node(_MaxUnpool3d, "MaxUnpool3DBackward0", "self: grad gathered at indices")


@op(namespace="nn.functional")
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool3d: each value placed at its index (flat over D*H*W) in zeros of
    size (in - 1) * stride - 2 * padding + kernel (or output_size)."""
    kernel = _ntuple(kernel_size, 3)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, 3)
    padding = _ntuple(padding, 3)
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    idx = indices.unsqueeze(0) if unbatched else indices
    out_size = unpool_output_size(x, kernel, stride, padding, output_size)
    if idx.dtype != engine.int64:
        raise RuntimeError("elements in indices should be type int64")
    if tuple(idx.shape) != tuple(x.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(x.shape)}) but got indices tensor with shape: {list(idx.shape)}")
    ia = array_of(idx)
    volume = math.prod(out_size)
    if type(ia) is np.ndarray and ia.size and (int(ia.min()) < 0 or int(ia.max()) >= volume):
        bad = int(ia.reshape(-1)[np.flatnonzero((ia < 0) | (ia >= volume))[0]])    # the first, as torch
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, out_size))})")
    # one node on the input as given (batched or not); the indices as an array: not an edge
    return _MaxUnpool3d.apply(input, ia, tuple(out_size))


# -- average pooling ------------------------------------------------------------------------------

def _slide(axis, j, s, o):
    """The index picking offset j of each of o windows (stride s) along `axis`."""
    return (slice(None),) * axis + (slice(j, j + s * (o - 1) + 1, s),)


def _window_sums(a, kernel, stride, outs):
    """Sums over the windows along the last three dims of a (padded): one dim at a time, each a
    sum of kernel strided slices."""
    for axis, (k, s, o) in enumerate(zip(kernel, stride, outs), start=a.ndim - 3):
        total = a[_slide(axis, 0, s, o)].copy()
        for j in range(1, k):
            total += a[_slide(axis, j, s, o)]
        a = total
    return a


def _window_spread(g, kernel, stride, sizes):
    """The adjoint of _window_sums: each window's value added back onto the positions it summed."""
    xp = namespace_of(g)
    for axis, (k, s, n) in enumerate(zip(kernel, stride, sizes), start=g.ndim - 3):
        shape = list(g.shape)
        o, shape[axis] = shape[axis], n
        spread = xp.zeros(shape, dtype=g.dtype)
        for j in range(k):
            spread[_slide(axis, j, s, o)] += g
        g = spread
    return g


class _AvgPool3d(Function):
    """avg_pool3d as one node: window sums of the zero-padded input over the divisor; backward
    spreads grad / divisor back over each window (a node whose own backward is this op again)."""

    @staticmethod
    def forward(ctx, x, geometry):
        kernel, stride, pads, outs, divisor = geometry
        a = array_of(x)
        xp = namespace_of(a)
        padded = xp.pad(a, ((0, 0),) * (a.ndim - 3) + pads) if any(map(any, pads)) else a
        ctx.geometry, ctx.shape = geometry, a.shape
        return tensor_from_array((_window_sums(padded, kernel, stride, outs) / divisor).astype(a.dtype))

    @staticmethod
    def backward(ctx, grad):
        return _AvgPool3dBackward.apply(grad, ctx.geometry, ctx.shape), None


class _AvgPool3dBackward(Function):
    @staticmethod
    def forward(ctx, grad, geometry, shape):
        kernel, stride, pads, outs, divisor = geometry
        g = array_of(grad)
        sizes = [n + lo + hi for n, (lo, hi) in zip(shape[-3:], pads)]
        spread = _window_spread(g / divisor, kernel, stride, sizes)
        crop = tuple(slice(lo, lo + n) for n, (lo, _) in zip(shape[-3:], pads))
        ctx.geometry = geometry
        return tensor_from_array(namespace_of(g).ascontiguousarray(spread[(Ellipsis,) + crop], g.dtype))

    @staticmethod
    def backward(ctx, gg):
        return _AvgPool3d.apply(gg, ctx.geometry), None, None


name_node(_AvgPool3d, "AvgPool3DBackward0", "self: grad / divisor spread over each window")
name_node(_AvgPool3dBackward, "AvgPool3DBackwardBackward0", "grad_output: avg_pool3d(grad)")


@op(namespace="nn.functional")
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """Mean over each window of (N, C, D, H, W) or (C, D, H, W): zero padding counted unless
    count_include_pad=False (the ceil_mode overhang never is), or divided by divisor_override."""
    _unbatched(input, "non-empty 4D or 5D (batch mode) tensor expected for input")
    x = input
    kernel = _ntuple(kernel_size, 3)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, 3)
    padding = _ntuple(padding, 3)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    size = tuple(x.shape[-3:])
    outs = tuple(_pooled_size(n, k, s, p, 1, ceil_mode) for n, k, s, p in zip(size, kernel, stride, padding))
    if min(outs) < 1:
        channels = x.shape[-4]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (channels,) + size))}). Calculated "
                           f"output size: ({'x'.join(map(str, (channels,) + outs))}). Output size is too "
                           "small")
    pads = tuple((p, p + max(0, (o - 1) * s + k - (n + 2 * p)))       # (+ the ceil_mode overhang)
                 for o, s, k, n, p in zip(outs, stride, kernel, size, padding))
    if divisor_override:
        divisor = float(divisor_override)
    else:
        counts = []
        for n, k, s, p, o in zip(size, kernel, stride, padding, outs):
            start = np.arange(o) * s - p
            lo, hi = (-p, n + p) if count_include_pad else (0, n)
            counts.append(np.minimum(start + k, hi) - np.maximum(start, lo))
        divisor = namespace_of(array_of(x)).asarray(np.einsum("i,j,k->ijk", *counts).astype(x.dtype.np))
    return _AvgPool3d.apply(x, (kernel, stride, pads, outs, divisor))       # batched or not


class _Resample(Function):
    """x contracted along its last len(mats) dims with one matrix each (out_d x in_d): adaptive
    average pooling and linear/cubic interpolation. Backward is the same contraction with the
    transposed matrices (a node whose own backward is this op again)."""
    backward_op = None                    # each op's _ResampleBackward subclass (its node's name)

    @staticmethod
    def forward(ctx, x, mats):
        ctx.mats = mats
        return tensor_from_array(_contract(array_of(x), mats))

    @staticmethod
    def backward(ctx, grad):
        return ctx._fn.backward_op.apply(grad, ctx.mats, ctx._fn), None


class _ResampleBackward(Function):
    @staticmethod
    def forward(ctx, grad, mats, op):
        ctx.mats, ctx.op = mats, op
        return tensor_from_array(_contract(array_of(grad), [None if m is None else m.T for m in mats]))

    @staticmethod
    def backward(ctx, gg):
        return ctx.op.apply(gg, ctx.mats), None, None


def _contract(a, mats):
    """a with each of its last len(mats) dims multiplied by its matrix (None: left as it is)."""
    xp = namespace_of(a)
    first = a.ndim - len(mats)
    for axis, m in enumerate(mats, start=first):
        if m is None:
            continue
        if axis == a.ndim - 1:
            a = a @ m.T
        elif axis == a.ndim - 2:
            a = m @ a
        else:
            a = xp.moveaxis(xp.tensordot(m, a, axes=([1], [axis])), 0, axis)
    return xp.ascontiguousarray(a)


def _resample_op(torch_name):
    """A _Resample whose nodes carry PyTorch's names: <torch_name>Backward0 and its backward's
    <torch_name>BackwardBackward0."""
    forward = type("_" + torch_name, (_Resample,), {})
    forward.backward_op = type("_" + torch_name + "Backward", (_ResampleBackward,), {})
    name_node(forward, torch_name + "Backward0", "self: grad contracted with each dim's matrix transposed")
    name_node(forward.backward_op, torch_name + "BackwardBackward0",
              "grad_output: grad contracted with each dim's matrix")
    return forward


_AdaptiveAvgPool3d = _resample_op("AdaptiveAvgPool3D")
_UpsampleTrilinear3d = _resample_op("UpsampleTrilinear3D")
_UpsampleBicubic2d = _resample_op("UpsampleBicubic2D")
_UpsampleBilinear2d = _resample_op("UpsampleBilinear2D")
_UpsampleLinear1d = _resample_op("UpsampleLinear1D")


def resample(op, x, mats):
    """`op` (a _Resample) of x along its last dims, with the weight matrices (host arrays, None
    for a dim left as it is) moved to x's device and dtype."""
    xp = namespace_of(array_of(x))
    dt = array_of(x).dtype
    return op.apply(x, tuple(None if m is None else xp.asarray(m.astype(dt, copy=False)) for m in mats))


@op(namespace="nn.functional")
def adaptive_avg_pool3d(input, output_size):
    """Average over PyTorch's adaptive windows [floor(i*n/out), ceil((i+1)*n/out)) along D, H, W:
    one small averaging matrix per dim, in one node."""
    if input.ndim not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    size = tuple(input.shape[-3:])
    outs = _out_size(output_size, size, 3)
    if outs == (1, 1, 1):
        return input.mean(dim=(-3, -2, -1), keepdim=True)
    return resample(_AdaptiveAvgPool3d, input, [_adaptive_matrix(n, o, np.float64) for n, o in zip(size, outs)])


# -- affine_grid and grid_sample ----------------------------------------------------------------------

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                  "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                  "documentation of grid_sample for details.")


def _steps_from_minus_one(n, align_corners, dtype):
    """PyTorch's linspace_from_neg_one: n points over [-1, 1] (pixel centres unless
    align_corners), as a host array of `dtype`, rounded as PyTorch rounds it."""
    if n <= 1:
        return engine.zeros(max(n, 1), dtype=dtype)._a
    r = engine.linspace(-1, 1, n, dtype=dtype)._a
    return r if align_corners else (r * (n - 1) / n).astype(r.dtype)


class _AffineGrid(Function):
    """affine_grid as one node: grid = base @ theta^T, base the (prod(spatial), nd + 1) array of
    each output position's normalized coordinates and a 1; theta's gradient grad^T @ base (engine
    ops, so it is differentiable in grad)."""

    @staticmethod
    def forward(ctx, theta, base, size):
        t = array_of(theta)
        ctx.base, ctx.size = base, size
        grid = namespace_of(t).matmul(base, t.transpose(0, 2, 1))        # (N, positions, nd)
        return tensor_from_array(grid.reshape(size[:1] + size[2:] + [t.shape[1]]))

    @staticmethod
    def backward(ctx, grad):
        n, nd = ctx.size[0], len(ctx.size) - 2
        g = grad.reshape(n, -1, nd).transpose(1, 2)
        return g @ tensor_from_array(ctx.base).to(g.dtype), None, None


name_node(_AffineGrid, "AffineGridGeneratorBackward0", "theta: grad^T @ base (summed over positions)")


@op(namespace="nn.functional")
def affine_grid(theta, size, align_corners=None):
    """The sampling grid (N, H, W, 2) or (N, D, H, W, 3) of the affine maps theta (N, 2, 3) or
    (N, 3, 4): each output pixel's normalized (x, y[, z]) mapped by theta."""
    if align_corners is None:
        warn(_ALIGN_WARNING)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    given, size = size, list(size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{given}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{given}. Got {theta.shape}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                  f"transforms, respectively. Got size {given}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
             "align_corners=True. This is not an intended use case of affine_grid. See the "
             "documentation of affine_grid for details.")
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {given}")
    nd = len(spatial)
    # base[..., k] is the k-th coordinate (x along the last dim, then y, then z), then a 1
    base = np.ones(tuple(spatial) + (nd + 1,), array_of(theta).dtype)
    for k in range(nd):
        axis = nd - 1 - k
        shape = [1] * nd
        shape[axis] = spatial[axis]
        base[..., k] = _steps_from_minus_one(spatial[axis], align_corners, theta.dtype).reshape(shape)
    base = namespace_of(array_of(theta)).asarray(base.reshape(-1, nd + 1))
    return _AffineGrid.apply(theta, base, size)


def _reflect(coord, twice_low, twice_high):
    """PyTorch's reflect_coordinates: coord folded into [twice_low/2, twice_high/2]."""
    if twice_low == twice_high:
        return engine.zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = engine.fmod(distance, span)
    flips = engine.floor(distance.detach() / span)
    return engine.where(engine.remainder(flips, 2) == 0, extra + low, span - extra + low)


def _source_index(coord, size, padding_mode, align_corners):
    """grid values in [-1, 1] -> input positions along one dim, with the padding mode applied."""
    if align_corners:
        x = (coord + 1) / 2 * (size - 1)
    else:
        x = ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        x = x.clamp(0, size - 1)
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
        x = x.clamp(0, size - 1)
    return x


@op(namespace="nn.functional")
def grid_sample(input, grid, mode: str = "bilinear", padding_mode: str = "zeros", align_corners=None):
    """Sample input (N, C, H, W) or (N, C, D, H, W) at the normalized positions grid
    (N, H', W', 2) or (N, D', H', W', 3) (x first), bilinearly or at the nearest pixel; positions
    outside read zeros, the border, or the reflection. Differentiable in input and grid."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
                         f"'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', "
                         f"or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warn(_ALIGN_WARNING)
        align_corners = False
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        dims = f"{input.ndim}D" if input.ndim in (4, 5) else "4D or 5D"
        raise RuntimeError(f"grid_sampler(): expected {dims} input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid with "
                           f"sizes {list(grid.shape)}")
    nd = input.ndim - 2
    if grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    sampler = _GridSampler2d if nd == 2 else _GridSampler3d
    return sampler.apply(input, grid, mode, padding_mode, align_corners)


class _GridSampler(Function):
    """grid_sample as one node, as PyTorch records it. The forward runs `_sample` (a composition
    of engine ops) without recording; the backward differentiates that same composition, run again
    with grad enabled, so it gives second derivatives too (create_graph=True)."""

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        ctx.save_for_backward(input, grid)
        ctx.options = (mode, padding_mode, align_corners)
        return _sample(_wide(input), _wide(grid), *ctx.options).to(input.dtype)

    @staticmethod
    def backward(ctx, grad):
        input, grid = ctx.saved_tensors
        needs = ctx.needs_input_grad[:2]
        higher = engine.is_grad_enabled()            # create_graph=True: keep the graph to x, grid
        with engine.enable_grad():
            x = input if higher else input.detach().requires_grad_(needs[0])
            g = grid if higher else grid.detach().requires_grad_(needs[1])
            wanted = [t for t, need in zip((x, g), needs) if need]
            out = _sample(_wide(x), _wide(g), *ctx.options)
            grads = iter(engine.autograd.grad(out, wanted, _wide(grad), create_graph=higher,
                                              allow_unused=True))
        return tuple(next(grads) if need else None for need in needs) + (None, None, None)


def _wide(t):
    """Half and bfloat16 tensors in float32 (PyTorch's kernels compute in float and round once)."""
    return t.float() if t.dtype in (engine.float16, engine.bfloat16) else t


class _GridSampler2d(_GridSampler):
    pass


class _GridSampler3d(_GridSampler):
    pass


name_node(_GridSampler2d, "GridSampler2DBackward0", "input, grid: the sampling's derivatives")
name_node(_GridSampler3d, "GridSampler3DBackward0", "input, grid: the sampling's derivatives")


def _sample(input, grid, mode, padding_mode, align_corners):
    """grid_sample's values as a composition of engine ops (differentiable to any order)."""
    nd = input.ndim - 2
    n, c = input.shape[:2]
    size = tuple(input.shape[2:])
    out_spatial = tuple(grid.shape[1:-1])
    flat_grid = grid.reshape(n, -1, nd)
    # position along each input dim (D, H, W order); grid's last axis is x (W) first
    pos = [_source_index(flat_grid[..., nd - 1 - j], size[j], padding_mode, align_corners)
           for j in range(nd)]
    planes = input.reshape(n, c, -1)

    def read(indices):
        """input at integer positions (one (N, L) index per dim), zero outside."""
        inside = None
        flat = None
        for idx, s in zip(indices, size):
            ok = (idx >= 0) & (idx < s)
            inside = ok if inside is None else inside & ok
            idx = idx.clamp(0, s - 1)
            flat = idx if flat is None else flat * s + idx
        values = planes.gather(2, flat.unsqueeze(1).expand(n, c, flat.shape[1]))
        return values * inside.unsqueeze(1).to(input.dtype)

    if mode == "bicubic":
        out = _bicubic(read, [flat_grid[..., nd - 1 - j] for j in range(nd)], size, padding_mode,
                       align_corners)
    elif mode == "nearest":
        rounded = [engine.round(p) for p in pos]                      # half to even, as nearbyint
        out = read([r.detach().long() for r in rounded])
        if grid.requires_grad:          # the grid's gradient is rounding's: zeros, as PyTorch gives
            link = sum(r - r.detach() for r in rounded) + 1           # 1, with d/dgrid = 0
            out = out * link.unsqueeze(1)
    else:
        low = [engine.floor(p.detach()) for p in pos]
        frac = [p - lo for p, lo in zip(pos, low)]                    # carries the grid's gradient
        low = [lo.long() for lo in low]
        out = None
        for corner in range(2 ** nd):
            bits = [(corner >> (nd - 1 - j)) & 1 for j in range(nd)]
            weight = None
            for b, f in zip(bits, frac):
                w = f if b else 1 - f
                weight = w if weight is None else weight * w
            term = read([lo + b for lo, b in zip(low, bits)]) * weight.unsqueeze(1)
            out = term if out is None else out + term
    return out.reshape(n, c, *out_spatial)


def _cubic_weights(t, a=-0.75):
    """The four cubic-convolution weights (taps at -1, 0, 1, 2) for fractions t."""
    s = 1 - t
    return [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
            ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * s - (a + 3)) * s * s + 1,
            ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a]


def _bicubic(read, coords, size, padding_mode, align_corners):
    """grid_sample's bicubic mode: 4 x 4 taps around each position, each tap's index put through
    the padding mode (zeros outside), weighted by cubic convolution of the fractions."""
    base, weights = [], []
    for coord, s in zip(coords, size):
        x = _source_index(coord, s, "zeros", align_corners)           # unnormalized, unpadded
        low = engine.floor(x.detach())
        base.append(low)
        weights.append(_cubic_weights(x - low))
    out = None
    for i in range(4):
        for j in range(4):
            taps = []
            for low, k, s in zip(base, (i, j), size):
                tap = low + (k - 1)
                if padding_mode != "zeros":
                    tap = _pad_tap(tap, s, padding_mode, align_corners)
                taps.append(tap.long())
            term = read(taps) * (weights[0][i] * weights[1][j]).unsqueeze(1)
            out = term if out is None else out + term
    return out


def _pad_tap(tap, size, padding_mode, align_corners):
    """An integer tap position put through border clamping or reflection (PyTorch's
    compute_coordinates)."""
    if padding_mode == "border":
        return tap.clamp(0, size - 1)
    tap = _reflect(tap, 0, 2 * (size - 1)) if align_corners else _reflect(tap, -1, 2 * size - 1)
    return tap.clamp(0, size - 1)
