"""conv2d and max_pool2d for engine.nn.functional: raw-array kernels (im2col + one GEMM per
sample, window maxima over contiguous offset planes) as graph nodes whose backward is
written with engine ops, so second derivatives work too."""
from __future__ import annotations

import math

import numpy as np

import engine
from engine import amp as _amp
from engine.autograd import Function
from engine.nn._arrays import array_of, name_node, namespace_of, tensor_from_array

__all__ = ["conv2d", "max_pool2d"]


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
    input, weight, bias = _amp.cast_for_autocast(input, weight, bias)
    out = _Conv2d.apply(input, weight, bias, _pair(stride), _pair(padding), _pair(dilation))
    return out.squeeze(0) if unbatched else out


class _GatherFlat(Function):
    """out = x.flatten()[index] (index: int array); backward scatters back with _ScatterFlat.
    `unique` says no index repeats, so the scatter can assign instead of adding up."""

    @staticmethod
    def forward(ctx, x, index, unique=False):
        ctx.index, ctx.shape, ctx.unique = index, tuple(x.shape), unique
        return tensor_from_array(array_of(x).reshape(-1)[index])

    @staticmethod
    def backward(ctx, grad):
        return _ScatterFlat.apply(grad, ctx.index, ctx.shape, ctx.unique), None, None


class _ScatterFlat(Function):
    """out = zeros(shape) with out.flatten()[index] += g (repeated indices add up)."""

    @staticmethod
    def forward(ctx, g, index, shape, unique=False):
        ga = array_of(g)
        xp = namespace_of(ga)
        size = math.prod(shape)
        if unique:
            out = xp.zeros(size, dtype=ga.dtype)
            out[index.reshape(-1)] = ga.reshape(-1)
        else:
            out = xp.bincount(index.reshape(-1), weights=ga.reshape(-1), minlength=size)
        ctx.index, ctx.unique = index, unique
        return tensor_from_array(out.astype(ga.dtype, copy=False).reshape(shape))

    @staticmethod
    def backward(ctx, grad):
        return _GatherFlat.apply(grad, ctx.index, ctx.unique), None, None, None


class _MaxPool2d(_GatherFlat):
    """max_pool2d's node: the input elements at the argmax of each window."""


name_node(_MaxPool2d, "MaxPool2DWithIndicesBackward0", "self: grad scattered to the argmax")
name_node(_GatherFlat, "IndexBackward0", "self: grad scattered back to the indices")
name_node(_ScatterFlat, "IndexPutBackward0", "values: grad gathered at the indices")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Maximum over each window; the gradient goes to the (first) maximal element."""
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
    fill = -np.inf if a.dtype.kind == "f" else np.iinfo(a.dtype).min
    padded = xp.pad(a, ((0, 0), (0, 0), (padding[0], padding[0] + extra[0]),
                        (padding[1], padding[1] + extra[1])), constant_values=fill)
    # one contiguous plane per window offset (i, j); the first offset holding the maximum wins
    win = _windows(padded, kernel, stride, dilation, out_hw)          # N C OH OW kh kw
    planes = xp.ascontiguousarray(win.transpose(4, 5, 0, 1, 2, 3))
    planes = planes.reshape(kernel[0] * kernel[1], -1)                # (kh*kw, N*C*OH*OW)
    best = planes.max(axis=0)
    # NaN propagates, as in PyTorch: the first NaN of a window wins. On the CPU one host read skips
    # that test when there is no NaN; on cuda the test always runs (no host read)
    nan_wins = a.dtype.kind == "f" and (xp is not np or bool(xp.isnan(best).any()))
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
    out = _MaxPool2d.apply(source, flat_index, disjoint and all_inside)
    if not all_inside:
        out = engine.where(tensor_from_array(inside), out,
                           tensor_from_array(xp.full(inside.shape, fill, a.dtype)))
    return out.squeeze(0) if unbatched else out


from engine.autograd.recording import record_namespace as _record_namespace  # noqa: E402

_record_namespace(globals())
