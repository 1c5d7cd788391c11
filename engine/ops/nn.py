"""nn kernels that are ops (engine.nn.functional's linear, conv2d, max_pool2d, embedding,
layer_norm, batch_norm): each forward on raw arrays beside its graph node, registered as
`engine.nn.functional.<name>` (engine.nn.functional re-exports them).

Each records the node PyTorch records, under PyTorch's name (AddmmBackward0,
ConvolutionBackward0, MaxPool2DWithIndicesBackward0, EmbeddingBackward0,
NativeLayerNormBackward0, NativeBatchNormBackward0). Most nodes are `autograd.Function`s whose
backward is written with engine ops, so create_graph=True gives second derivatives; linear
on 2-D inputs (the hottest layer) records its node directly. Convolution is im2col + one GEMM
per sample; pooling takes window maxima over contiguous offset planes. Under
`engine.autocast`, linear and conv2d run in the autocast dtype (see engine.amp).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .. import ops
from .._tensor import _from_array as tensor_from_array
from ..autograd.function import Function, name_node
from ..autograd.grad_mode import no_grad
from ..autograd.graph import new_node
from ..backend import to_device, xp_of as namespace_of
from ._core import _finish, _needs
from ._registry import op
from .products import AddmmBackward0, MmBackward0
from .._dtype import is_floating


def array_of(t):
    return t._a


def _record(node_cls, out, inputs, saved, **attributes):
    """out's node: a new node_cls with edges to inputs (when one of them requires grad)."""
    if _needs(*inputs):
        node = new_node(node_cls)
        for name, value in attributes.items():
            setattr(node, name, value)
        _finish(out, node, inputs, saved)
    return out


# ------------------------------------------------------------------------------ linear
def _addmm(x, w, b):
    """x @ w.T + b for a 2-D x as one node."""
    xa, wa = array_of(x), array_of(w)
    if xa.dtype != wa.dtype or (b is not None and array_of(b).dtype != xa.dtype):
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {x.dtype} and "
                           f"{w.dtype}")
    if xa.shape[1] != wa.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({xa.shape[0]}x"
                           f"{xa.shape[1]} and {wa.shape[1]}x{wa.shape[0]})")
    if xa.dtype == np.float16:
        out = xa.astype(np.float32) @ wa.astype(np.float32).T
    else:
        out = xa @ wa.T
    if b is None:
        out = tensor_from_array(out.astype(xa.dtype, copy=False))
        return _record(MmBackward0, out, (x, w), (x, w), linear=True)
    out += array_of(b)
    out = tensor_from_array(out.astype(xa.dtype, copy=False))
    return _record(AddmmBackward0, out, (b, x, w), (x, w), linear=True, alpha=1, beta=1)


@op(namespace="nn.functional")
def linear(input, weight, bias=None):
    """input @ weight.T + bias (weight: (out_features, in_features)); inputs with more than
    two dims are flattened to 2-D around one matrix product, as PyTorch does."""
    if weight.ndim != 2 or (bias is not None and bias.ndim != 1) or input.ndim == 0:
        out = input.matmul(weight.t())
        return out if bias is None else out + bias
    if input.ndim == 2:
        return _addmm(input, weight, bias)
    if input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ("
                           f"{input.numel() // max(input.shape[-1], 1)}x{input.shape[-1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    lead = tuple(input.shape[:-1])
    return _addmm(input.reshape(-1, input.shape[-1]), weight, bias).reshape(
        *lead, weight.shape[0])


# ------------------------------------------------------------------- conv2d, max_pool2d
def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _windows(a, kernel, stride, dilation, out_hw):
    """A strided view (N, C, OH, OW, kh, kw) of the (already padded) array a (N, C, H, W)."""
    xp = namespace_of(a)
    n, c = a.shape[:2]
    s_n, s_c, s_h, s_w = a.strides
    shape = (n, c, out_hw[0], out_hw[1], kernel[0], kernel[1])
    strides = (s_n, s_c, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1])
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _conv_out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _compute(*arrays):
    """The arrays in the dtype to compute in: float16 is widened to float32 (float32
    accumulation, as autocast promises); others are left as they are."""
    if arrays[0].dtype == np.float16:
        return tuple(a.astype(np.float32) for a in arrays)
    return arrays


def _pad(a, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return a
    xp = namespace_of(a)
    return xp.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _im2col(a, kernel, stride, padding, dilation, out_hw):
    """Columns (N, C*kh*kw, OH*OW) of input a (N, C, H, W): column l of sample n holds the
    window that output pixel l sees (one contiguous copy of a strided view)."""
    xp = namespace_of(a)
    n, c = a.shape[:2]
    win = _windows(_pad(a, padding), kernel, stride, dilation, out_hw)   # N C OH OW kh kw
    cols = xp.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3))          # N C kh kw OH OW
    return cols.reshape(n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


def _col2im(cols, input_shape, kernel, stride, padding, dilation, out_hw):
    """The adjoint of _im2col: add each column back onto the input pixels it came from."""
    xp = namespace_of(cols)
    n, c, h, w = input_shape
    (kh, kw), (oh, ow) = kernel, out_hw
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    out = xp.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            r, q = i * dilation[0], j * dilation[1]
            out[:, :, r:r + stride[0] * (oh - 1) + 1:stride[0],
                q:q + stride[1] * (ow - 1) + 1:stride[1]] += cols[:, :, i, j]
    return out[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]


class _Conv2d(Function):
    """out[n] = weight (O, C*kh*kw) @ im2col(x)[n] (C*kh*kw, OH*OW): one GEMM per sample."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation):
        if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
            raise RuntimeError(f"conv2d: input dtype {x.dtype}, weight dtype {w.dtype}"
                               + ("" if b is None else f" and bias dtype {b.dtype}")
                               + " should be the same")
        a, k = _compute(array_of(x), array_of(w))
        o, _, kh, kw = k.shape
        oh = _conv_out_size(a.shape[2], kh, stride[0], padding[0], dilation[0])
        ow = _conv_out_size(a.shape[3], kw, stride[1], padding[1], dilation[1])
        if oh < 1 or ow < 1:
            raise RuntimeError(f"conv2d: input size {tuple(a.shape[2:])} (padded by {padding}) "
                               f"is smaller than the kernel size {(kh, kw)}")
        cols = _im2col(a, (kh, kw), stride, padding, dilation, (oh, ow))
        out = k.reshape(o, -1) @ cols                                   # N O OH*OW
        if b is not None:
            out += _compute(array_of(b))[0].reshape(o, 1)
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, padding, dilation)
        return tensor_from_array(out.reshape(a.shape[0], o, oh, ow)
                                 .astype(array_of(x).dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        needs = ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:
            gx = _Conv2dInputGrad.apply(grad, w, tuple(x.shape), stride, padding, dilation)
        if needs[1]:
            gw = _Conv2dWeightGrad.apply(x, grad, tuple(w.shape), stride, padding, dilation)
        if needs[2]:
            gb = grad.sum(dim=(0, 2, 3))
        return gx, gw, gb, None, None, None


class _Conv2dInputGrad(Function):
    """d conv2d / d input (a transposed convolution): col2im(weight.T @ grad)."""

    @staticmethod
    def forward(ctx, g, w, input_shape, stride, padding, dilation):
        ga, k = _compute(array_of(g), array_of(w))
        n, o, oh, ow = ga.shape
        cols = k.reshape(o, -1).T @ ga.reshape(n, o, oh * ow)           # N C*kh*kw OH*OW
        out = _col2im(cols, input_shape, k.shape[2:], stride, padding, dilation, (oh, ow))
        ctx.save_for_backward(g, w)
        ctx.geometry = (input_shape, stride, padding, dilation)
        return tensor_from_array(namespace_of(out).ascontiguousarray(out, array_of(g).dtype))

    @staticmethod
    def backward(ctx, ggx):
        g, w = ctx.saved_tensors
        input_shape, stride, padding, dilation = ctx.geometry
        dg = dw = None
        if ctx.needs_input_grad[0]:
            dg = _Conv2d.apply(ggx, w, None, stride, padding, dilation)
        if ctx.needs_input_grad[1]:
            dw = _Conv2dWeightGrad.apply(ggx, g, tuple(w.shape), stride, padding, dilation)
        return dg, dw, None, None, None, None


class _Conv2dWeightGrad(Function):
    """d conv2d / d weight: sum over samples of grad[n] @ im2col(x)[n].T."""

    @staticmethod
    def forward(ctx, x, g, weight_shape, stride, padding, dilation):
        a, ga = _compute(array_of(x), array_of(g))
        n, o, oh, ow = ga.shape
        cols = _im2col(a, weight_shape[2:], stride, padding, dilation, (oh, ow))
        g2 = ga.reshape(n, o, oh * ow)
        out = (g2 @ cols.transpose(0, 2, 1)).sum(axis=0)               # O C*kh*kw
        ctx.save_for_backward(x, g)
        ctx.geometry = (stride, padding, dilation)
        return tensor_from_array(out.reshape(weight_shape).astype(array_of(x).dtype, copy=False))

    @staticmethod
    def backward(ctx, ggw):
        x, g = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        dx = dg = None
        if ctx.needs_input_grad[0]:
            dx = _Conv2dInputGrad.apply(g, ggw, tuple(x.shape), stride, padding, dilation)
        if ctx.needs_input_grad[1]:
            dg = _Conv2d.apply(x, ggw, None, stride, padding, dilation)
        return dx, dg, None, None, None, None


name_node(_Conv2d, "ConvolutionBackward0",
           "input: conv_transpose2d(grad, weight), weight: conv2d(input, grad) over the batch")
name_node(_Conv2dInputGrad, "ConvolutionBackwardBackward0",
           "grad: conv2d(ggI, weight), weight: conv2d(ggI, grad) over the batch")
name_node(_Conv2dWeightGrad, "ConvolutionBackwardBackward1",
           "input: conv_transpose2d(grad, ggW), grad: conv2d(input, ggW)")


def _string_padding(padding: str, kernel, stride, dilation) -> tuple[int, int]:
    """padding="valid" (none) or "same" (output size = input size; stride 1, odd spans)."""
    if padding == "valid":
        return (0, 0)
    if padding != "same":
        raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                         "{'valid', 'same'}")
    if stride != (1, 1):
        raise ValueError("padding='same' is not supported for strided convolutions")
    spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if any(span % 2 for span in spans):
        raise NotImplementedError("engine conv2d: padding='same' needs an odd (dilated) kernel "
                                  "size; give the padding as numbers")
    return (spans[0] // 2, spans[1] // 2)


@op(namespace="nn.functional")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C, kh, kw)."""
    if groups != 1:
        raise NotImplementedError("engine conv2d supports groups=1 only")
    if isinstance(padding, str):
        padding = _string_padding(padding, weight.shape[2:], _pair(stride), _pair(dilation))
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.ndim != 4:
        raise RuntimeError(f"conv2d: expected a 3-D or 4-D input, got {input.ndim}-D "
                           f"{input.shape}")
    if input.shape[1] != weight.shape[1]:
        raise RuntimeError(f"conv2d: input has {input.shape[1]} channels but weight "
                           f"{weight.shape} expects {weight.shape[1]}")
    out = _Conv2d.apply(input, weight, bias, _pair(stride), _pair(padding), _pair(dilation))
    return out.squeeze(0) if unbatched else out


def scatter_flat(ga, index, shape, unique=False):
    """An array of `shape`, zero but for ga's elements added at the flat `index` (an int
    array shaped like ga); `unique` says no index repeats, so they can be assigned."""
    xp = namespace_of(ga)
    size = math.prod(shape)
    if unique:
        out = xp.zeros(size, dtype=ga.dtype)
        out[index.reshape(-1)] = ga.reshape(-1)
    else:
        out = xp.bincount(index.reshape(-1), weights=ga.reshape(-1), minlength=size)
    return out.astype(ga.dtype, copy=False).reshape(shape)


class _MaxPool2d(Function):
    """max_pool2d's node: out = x.flatten()[index], index the argmax of each window (flat in
    x); backward scatters the gradient back (`unique`: windows do not overlap)."""

    @staticmethod
    def forward(ctx, x, index, unique=False):
        ctx.index, ctx.shape, ctx.unique = index, tuple(x.shape), unique
        return tensor_from_array(array_of(x).reshape(-1)[index])

    @staticmethod
    def backward(ctx, grad):
        return _MaxPool2dBackward.apply(grad, ctx.index, ctx.shape, ctx.unique), None, None


class _MaxPool2dBackward(Function):
    """max_pool2d's backward as a node (seen with create_graph=True): the gradient added at
    the argmax of each window. Its own backward is PyTorch's max_pool_double_backward, a
    gather at the same indices."""

    @staticmethod
    def forward(ctx, grad, index, shape, unique=False):
        ctx.index = index
        return tensor_from_array(scatter_flat(array_of(grad), index, shape, unique))

    @staticmethod
    def backward(ctx, gg):
        index = tensor_from_array(ctx.index.reshape(-1))
        return gg.reshape(-1).gather(0, index).view(ctx.index.shape), None, None, None


name_node(_MaxPool2d, "MaxPool2DWithIndicesBackward0", "self: grad scattered to the argmax")
name_node(_MaxPool2dBackward, "MaxPool2DWithIndicesBackwardBackward0", "grad_output: grad gathered at the argmax")


@op(namespace="nn.functional")
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Maximum over each window; the gradient goes to the (first) maximal element. With
    return_indices, also where each maximum was: int64, flat within its (H, W) plane, as
    PyTorch's (what F.max_unpool2d takes)."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise RuntimeError("max_pool2d: pad should be at most half of effective kernel size")
    unbatched = input.ndim == 3
    source = input.unsqueeze(0) if unbatched else input
    a = array_of(source)
    xp = namespace_of(a)
    n, c, h, w = a.shape
    out_hw = []
    extra = []
    for size, k, s, p, d in zip((h, w), kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:
            o -= 1
        if o < 1:
            raise RuntimeError(f"max_pool2d: output size is too small for input {input.shape}")
        out_hw.append(o)
        extra.append(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p)))
    fill = -np.inf if is_floating(a.dtype) else np.iinfo(a.dtype).min
    padded = xp.pad(a, ((0, 0), (0, 0), (padding[0], padding[0] + extra[0]),
                        (padding[1], padding[1] + extra[1])), constant_values=fill)
    # one contiguous plane per window offset (i, j); the first offset holding the maximum wins
    win = _windows(padded, kernel, stride, dilation, out_hw)          # N C OH OW kh kw
    planes = xp.ascontiguousarray(win.transpose(4, 5, 0, 1, 2, 3))
    planes = planes.reshape(kernel[0] * kernel[1], -1)                # (kh*kw, N*C*OH*OW)
    best = planes.max(axis=0)
    # NaN propagates, as in PyTorch: the first NaN of a window wins. On the CPU one host read skips
    # that test when there is no NaN; on cuda the test always runs (no host read)
    nan_wins = is_floating(a.dtype) and (xp is not np or bool(xp.isnan(best).any()))
    offset = xp.zeros(best.shape, dtype=np.int32)
    found = xp.zeros(best.shape, dtype=bool)
    for k in range(planes.shape[0]):
        hit = planes[k] == best
        if nan_wins:
            hit |= planes[k] != planes[k]
        hit &= ~found
        found |= hit
        offset += hit * np.int32(k)
    offset = offset.reshape(n, c, *out_hw)
    best_i, best_j = offset // kernel[1], offset % kernel[1]
    # the input pixel each output took: row oh*s - p + i*d, column ow*s - p + j*d
    rows = (xp.arange(out_hw[0]) * stride[0] - padding[0])[:, None] + best_i * dilation[0]
    cols = (xp.arange(out_hw[1]) * stride[1] - padding[1]) + best_j * dilation[1]
    # a dilated window can lie wholly in the padding: its maximum is the fill (-inf) and it
    # passes no gradient on
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    plane_start = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat_index = plane_start + xp.where(inside, rows * w + cols, 0)
    # without padding every window lies inside; with it the CPU reads `inside` back once (to skip the
    # mask), cuda takes the masked path, right either way, with no host read
    if padding == (0, 0) and extra == [0, 0]:
        all_inside = True
    else:
        all_inside = xp is np and bool(inside.all())
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    if unbatched:            # one node on the 3-D input itself (its flat layout is the same)
        flat_index, inside, plane_start = flat_index[0], inside[0], plane_start[0]
    out = _MaxPool2d.apply(input, flat_index, disjoint and all_inside)
    if not all_inside:
        out = ops.where(tensor_from_array(inside), out,
                           tensor_from_array(xp.full(inside.shape, fill, a.dtype)))
    if not return_indices:
        return out
    return out, tensor_from_array((flat_index - plane_start).astype(np.int64, copy=False))


# ------------------------------------------------------------------------------ adaptive_max_pool2d
def _adaptive_windows(n: int, out: int) -> np.ndarray:
    """(out, k) input positions of PyTorch's adaptive windows [floor(i*n/out),
    ceil((i+1)*n/out)) along one dim, k the widest window; a narrower window repeats its last
    position (a repeat never wins a tie: the first maximum does)."""
    start = np.arange(out) * n // out
    end = -(-(np.arange(1, out + 1) * n) // out)
    k = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)


class _AdaptiveMaxPool2d(_MaxPool2d):
    """adaptive_max_pool2d's node: max_pool2d's, a gather at the argmax (windows may overlap)."""

    @staticmethod
    def backward(ctx, grad):
        return _AdaptiveMaxPool2dBackward.apply(grad, ctx.index, ctx.shape, False), None, None


class _AdaptiveMaxPool2dBackward(_MaxPool2dBackward):
    """Its backward as a node: the gradient added at the argmax; its own backward a gather."""


name_node(_AdaptiveMaxPool2d, "AdaptiveMaxPool2DBackward0", "self: grad scattered to the argmax")
name_node(_AdaptiveMaxPool2dBackward, "AdaptiveMaxPool2DBackwardBackward0",
          "grad_output: grad gathered at the argmax")


@op(namespace="nn.functional")
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Maximum over PyTorch's adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH)) (and the same
    along W); the gradient goes to the first maximal element of each window, and return_indices
    gives its int64 position, flat within its (H, W) plane. Every window's candidates are
    gathered into one array (planes, OH*OW, widest window), then one argmax."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                           f"{list(input.shape)}")
    h, w = input.shape[-2:]
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    oh, ow = (n if o is None else int(o) for o, n in zip(sizes, (h, w)))
    rows, cols = _adaptive_windows(h, oh), _adaptive_windows(w, ow)
    candidates = (rows[:, None, :, None] * w + cols[None, :, None, :]).reshape(oh * ow, -1)
    a = array_of(input)
    xp = namespace_of(a)
    planes = a.reshape(-1, h * w)
    cand = to_device(candidates, input.device)
    best = xp.argmax(planes[:, cand], axis=-1)                         # (planes, OH*OW)
    index = cand[xp.arange(oh * ow), best]                             # flat in each plane
    shape = tuple(input.shape[:-2]) + (oh, ow)
    flat = index + (xp.arange(planes.shape[0]) * (h * w))[:, None]
    out = _AdaptiveMaxPool2d.apply(input, flat.reshape(shape), False)
    if not return_indices:
        return out
    return out, tensor_from_array(index.reshape(shape).astype(np.int64, copy=False))


# ------------------------------------------------------------------------------ max_unpool2d
_SCALAR_TYPE_NAMES = {"int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
                      "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                      "float64": "Double"}


def unpool_output_size(input, kernel, stride, padding, output_size) -> list:
    """F.max_unpool's output size (any number of spatial dims): (n - 1) * stride + kernel -
    2 * padding, or `output_size` (the spatial sizes, or the full shape) checked to lie within
    one stride of that, with PyTorch's messages."""
    dims = len(kernel)
    default = [(input.shape[input.ndim - dims + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
               for d in range(dims)]
    if output_size is None:
        size = default
    else:
        if len(output_size) == dims + 2:
            output_size = output_size[2:]
        if len(output_size) != dims:
            raise ValueError(f"output_size should be a sequence containing {dims} or {dims + 2} "
                             f"elements, but it has a length of '{len(output_size)}'")
        for d in range(dims):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < output_size[d] < high:
                raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between '
                                 f'{low} and {high})')
        size = list(output_size)
    for d in range(dims):
        if size[d] < 0:
            raise ValueError("max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{d}]={size[d]}")
    return size


class _MaxUnpool2d(Function):
    """out (N, C, OH, OW) zero but for out.flatten(2)[..., idx] = input (idx: the indices' array,
    no graph input); backward gathers the gradient at the same indices (PyTorch's
    max_pool_double_backward), written with engine ops."""

    @staticmethod
    def forward(ctx, x, idx, out_hw):
        a = array_of(x)
        xp = namespace_of(a)
        planes, size = math.prod(a.shape[:-2]), out_hw[0] * out_hw[1]
        flat = idx.reshape(planes, -1)
        if type(idx) is np.ndarray:           # the CPU checks at once (one read of min and max)
            if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= size):
                bad = int(flat.min()) if int(flat.min()) < 0 else int(flat.max())
                raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of "
                                   f"size {out_hw[0]}x{out_hw[1]})")
        else:                                 # cuda, no host read: an index out of range writes
            flat = xp.where((flat < 0) | (flat >= size), size, flat)   # into a spare column
        out = xp.zeros((planes, size + 1), dtype=a.dtype)
        out[xp.arange(planes)[:, None], flat] = a.reshape(planes, -1)
        ctx.indices = idx
        return tensor_from_array(out[:, :size].reshape(*a.shape[:-2], *out_hw))

    @staticmethod
    def backward(ctx, grad):
        idx = tensor_from_array(ctx.indices)
        rows = grad.reshape(-1, grad.shape[-2] * grad.shape[-1])
        taken = rows.gather(1, idx.reshape(rows.shape[0], -1))
        return taken.view(idx.shape), None, None


name_node(_MaxUnpool2d, "MaxUnpool2DBackward0", "self: grad.flatten(-2) gathered at indices")


@op(namespace="nn.functional")
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: each value put back where `indices` (flat in each
    (H, W) plane, as max_pool2d(return_indices=True) gives them) says, zeros elsewhere."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    size = unpool_output_size(input, kernel, stride, _pair(padding), output_size)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input to max_unpooling2d should be a 3d or 4d Tensor, but got a "
                           f"tensor with {input.ndim} dimensions.")
    if indices.dtype != _dtype.int64:
        name = str(indices.dtype).rsplit(".", 1)[-1]
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{_SCALAR_TYPE_NAMES.get(name, name)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    return _MaxUnpool2d.apply(input, array_of(indices), (int(size[0]), int(size[1])))


# ------------------------------------------------------------------------------ embedding
class _Embedding(Function):
    """weight[indices]; backward adds each gradient row into the row it was taken from."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq=False):
        idx, w = array_of(indices), array_of(weight)
        ctx.bad = None
        if type(idx) is not np.ndarray:     # cuda: PyTorch's device-side assert becomes NaN rows (no host read)
            xp = namespace_of(idx)
            ctx.bad = (idx < 0) | (idx >= weight.shape[0])
            idx = xp.where(ctx.bad, 0, idx)
        ctx.indices, ctx.rows, ctx.padding_idx = idx, weight.shape[0], padding_idx
        ctx.scale_grad_by_freq = scale_grad_by_freq
        out = w[idx]
        if ctx.bad is not None and is_floating(w.dtype):
            out = namespace_of(w).where(ctx.bad[..., None], np.nan, out).astype(w.dtype, copy=False)
        return tensor_from_array(out)

    @staticmethod
    def backward(ctx, grad):
        if ctx.bad is not None:             # cuda: an index out of range gives a NaN gradient
            poison = namespace_of(ctx.bad).where(ctx.bad[..., None], np.nan, 1.0).astype(array_of(grad).dtype)
            grad = grad * tensor_from_array(poison)
        return _EmbeddingBackward.apply(grad, ctx.indices, ctx.rows, ctx.padding_idx,
                                        ctx.scale_grad_by_freq), None, None, None


class _EmbeddingBackward(Function):
    """embedding's backward as a node (PyTorch's embedding_dense_backward, seen with
    create_graph=True): gradient rows added into the rows they came from, none into the
    padding row; with scale_grad_by_freq each gradient row is first divided by the number of
    times its index occurs in `indices`. Its own backward is PyTorch's
    embedding_dense_double_backward (the same division: PyTorch's leaves it out, so its second
    derivative with scale_grad_by_freq fails gradgradcheck; this one passes)."""

    @staticmethod
    def forward(ctx, grad, indices, rows, padding_idx, scale_grad_by_freq=False):
        g = array_of(grad)
        xp = namespace_of(g)
        dim = g.shape[-1]
        flat = indices.reshape(-1)
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, None
        g = g.reshape(-1, dim)
        if scale_grad_by_freq:
            ctx.scale = (1.0 / xp.bincount(flat, minlength=rows)[flat]).astype(g.dtype)[:, None]
            g = g * ctx.scale
        if padding_idx is not None:
            g = g * (flat != padding_idx)[:, None].astype(g.dtype)
        return tensor_from_array(scatter_flat(g, flat[:, None] * dim + xp.arange(dim), (rows, dim)))

    @staticmethod
    def backward(ctx, gg):
        flat = tensor_from_array(ctx.indices.reshape(-1))
        rows = gg.index_select(0, flat)
        if ctx.scale is not None:
            rows = rows * tensor_from_array(ctx.scale)
        if ctx.padding_idx is not None:
            rows = rows.masked_fill((flat == ctx.padding_idx).reshape(-1, 1), 0)
        return rows.view(*ctx.indices.shape, -1), None, None, None, None


def embedding_renorm_(weight, input, max_norm: float, norm_type: float = 2.0):
    """Scale (in place, outside autograd) the rows of `weight` that `input` picks whose
    norm_type-norm exceeds max_norm down to max_norm, as PyTorch's embedding does first."""
    with no_grad():
        rows = ops.unique(input.reshape(-1).to(weight.device))
        picked = weight.index_select(0, rows)
        norms = ops.norm(picked, p=norm_type, dim=1)
        scale = ops.where(norms > max_norm, max_norm / (norms + 1e-7), ops.ones_like(norms))
        weight[rows] = picked * scale.unsqueeze(1)
    return weight


@op(namespace="nn.functional")
def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of `weight` picked by the integer tensor `input`; the `padding_idx` row gets no
    gradient; with max_norm the picked rows are first rescaled in place (as PyTorch does);
    with scale_grad_by_freq each row's gradient is divided by how often its index occurs in
    `input`. sparse=True (a sparse weight.grad) is not supported: the engine has no sparse
    tensors."""
    if sparse:
        raise NotImplementedError(_NO_SPARSE.format("embedding"))
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    if input.dtype not in (_dtype.int64, _dtype.int32):
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    a = array_of(input)
    # the CPU checks the indices at once (two reads of min and max); cuda reads nothing back: an
    # index out of range gives a NaN row and NaN gradient (PyTorch's cuda kernel asserts on the device)
    if type(a) is np.ndarray and a.size and (int(a.min()) < 0 or int(a.max()) >= weight.shape[0]):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise IndexError(f"embedding: index {bad} is out of range for {weight.shape[0]} "
                         "embeddings")
    return _Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


_NO_SPARSE = ("engine {} does not support sparse=True: the engine has no sparse tensors, so "
              "weight.grad cannot be a sparse gradient; use sparse=False (a dense weight.grad, "
              "the same values)")


name_node(_Embedding, "EmbeddingBackward0",
           "weight: grad rows added into the rows they were taken from (none to padding_idx)")
name_node(_EmbeddingBackward, "EmbeddingDenseBackwardBackward0",
          "grad_output: grad.index_select(0, indices) (padding_idx rows 0), viewed as indices' shape + (-1,)")


# ------------------------------------------------------------------------------ norms
def _normalized(x, dims, eps):
    """(x - mean) / sqrt(var + eps) over `dims` and 1 / sqrt(var + eps), with engine ops."""
    centred = x - x.mean(dim=dims, keepdim=True)
    rstd = ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return centred * rstd, rstd


def _normalization_input_grad(scaled_grad, xhat, rstd, dims):
    """d/dx of normalizing x over `dims` with its own statistics, given grad * weight."""
    return rstd * (scaled_grad - scaled_grad.mean(dim=dims, keepdim=True)
                   - xhat * (scaled_grad * xhat).mean(dim=dims, keepdim=True))


class _LayerNorm(Function):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dims, in one node."""

    @staticmethod
    def forward(ctx, x, weight, bias, dims, eps):
        a = array_of(x)
        xp = namespace_of(a)
        centred = a - a.mean(axis=dims, keepdims=True)
        out = centred / xp.sqrt((centred * centred).mean(axis=dims, keepdims=True) + eps)
        if weight is not None:
            out *= array_of(weight)
        if bias is not None:
            out += array_of(bias)
        ctx.save_for_backward(x, weight)
        ctx.dims, ctx.eps = dims, eps
        return tensor_from_array(out.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        dims = ctx.dims
        xhat, rstd = _normalized(x, dims, ctx.eps)
        batch_dims = tuple(range(x.ndim - len(dims)))
        needs = ctx.needs_input_grad
        gx = _normalization_input_grad(grad if weight is None else grad * weight, xhat, rstd,
                                       dims) if needs[0] else None
        gw = (grad * xhat).sum(dim=batch_dims) if needs[1] else None
        gb = grad.sum(dim=batch_dims) if needs[2] else None
        return gx, gw, gb, None, None


class _BatchNorm(Function):
    """Per-channel normalization over every dim but 1, with batch statistics (training) or
    the running ones (eval), scaled and shifted, in one node."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        a = array_of(x)
        xp = namespace_of(a)
        dims = (0,) + tuple(range(2, a.ndim))
        shape = (1, a.shape[1]) + (1,) * (a.ndim - 2)
        if training:
            mean = a.mean(axis=dims, keepdims=True)
            var = ((a - mean) ** 2).mean(axis=dims, keepdims=True)
            if running_mean is not None:
                count = a.size // a.shape[1]
                rm, rv = array_of(running_mean), array_of(running_var)
                rm *= 1 - momentum
                rm += momentum * mean.reshape(-1)
                rv *= 1 - momentum
                rv += momentum * var.reshape(-1) * (count / (count - 1))
                running_mean._ver[0] += 1
                running_var._ver[0] += 1
        else:
            mean = array_of(running_mean).reshape(shape)
            var = array_of(running_var).reshape(shape)
        rstd = 1 / xp.sqrt(var + eps)
        out = (a - mean) * rstd
        if weight is not None:
            out *= array_of(weight).reshape(shape)
        if bias is not None:
            out += array_of(bias).reshape(shape)
        ctx.save_for_backward(x, weight)
        ctx.dims, ctx.shape, ctx.eps, ctx.training = dims, shape, eps, training
        if not training:       # the running statistics are constants of this node
            ctx.mean, ctx.rstd = tensor_from_array(mean.copy()), tensor_from_array(rstd)
        return tensor_from_array(out.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        dims, shape = ctx.dims, ctx.shape
        if ctx.training:
            xhat, rstd = _normalized(x, dims, ctx.eps)
        else:
            rstd = ctx.rstd
            xhat = (x - ctx.mean) * rstd
        needs = ctx.needs_input_grad
        gx = None
        if needs[0]:
            scaled = grad if weight is None else grad * weight.reshape(shape)
            gx = _normalization_input_grad(scaled, xhat, rstd, dims) if ctx.training \
                else scaled * rstd
        gw = (grad * xhat).sum(dim=dims) if needs[1] else None
        gb = grad.sum(dim=dims) if needs[2] else None
        return gx, gw, gb, None, None, None, None, None


@op(namespace="nn.functional")
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize over every dim but the channel dim 1, with batch statistics when training
    (updating the running ones in place) and the running statistics otherwise."""
    if training and input.numel() // input.shape[1] <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {input.shape}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("batch_norm: running_mean and running_var are needed when not "
                           "training")
    return _BatchNorm.apply(input, weight, bias, running_mean, running_var, training, momentum,
                            eps)


@op(namespace="nn.functional")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the last len(normalized_shape) dims, then scale and shift."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) \
        else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(normalized_shape):]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size{input.shape}")
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    return _LayerNorm.apply(input, weight, bias, dims, eps)


name_node(_LayerNorm, "NativeLayerNormBackward0",
           "input: rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = grad * weight, "
           "weight: sum(grad * xhat), bias: sum(grad)")
name_node(_BatchNorm, "NativeBatchNormBackward0",
           "input: rstd * (g - mean(g) - xhat * mean(g * xhat)) (training) or g * rstd (eval) "
           "with g = grad * weight, weight: sum(grad * xhat), bias: sum(grad)")
