"""nn kernels that are ops (engine.nn.functional's linear, conv1d/2d/3d,
conv_transpose1d/2d/3d, max_pool2d, embedding, layer_norm, batch_norm): each forward on raw
arrays beside its graph node, registered as `engine.nn.functional.<name>` (engine.nn.functional
re-exports them).

Each records the node PyTorch records, under PyTorch's name (AddmmBackward0,
ConvolutionBackward0, MaxPool2DWithIndicesBackward0, EmbeddingBackward0,
NativeLayerNormBackward0, NativeBatchNormBackward0). Most nodes are `autograd.Function`s whose
backward is written with engine ops, so create_graph=True gives second derivatives; linear
on 2-D inputs (the hottest layer) records its node directly. Convolution (1-, 2- and 3-D, one
implementation) is im2col + one GEMM per sample and group; pooling takes window maxima over
contiguous offset planes. Under `engine.autocast`, linear and the convolutions run in the
autocast dtype (see engine.amp).
"""
from __future__ import annotations

import itertools
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


# ------------------------------------------------------- convolutions (1-, 2- and 3-D), max_pool2d
def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _expand(v, n: int, name: str) -> tuple:
    """An int or a list of one or n ints as n ints (PyTorch's expand_param_if_needed)."""
    if type(v) is int:
        return (v,) * n
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]),) * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values "
                               f"to match the convolution dimensions, but got {name}={list(v)}")
        return tuple(int(x) for x in v)
    return (int(v),) * n


def _windows(a, kernel, stride, dilation, out):
    """A strided view (N, C, *out, *kernel) of the (already padded) array a (N, C, *spatial)."""
    xp = namespace_of(a)
    steps = a.strides[2:]
    shape = a.shape[:2] + tuple(out) + tuple(kernel)
    strides = (a.strides[:2] + tuple(s * k for s, k in zip(steps, stride))
               + tuple(s * d for s, d in zip(steps, dilation)))
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
    if not any(padding):
        return a
    xp = namespace_of(a)
    return xp.pad(a, ((0, 0), (0, 0)) + tuple((p, p) for p in padding), constant_values=value)


def _im2col(a, kernel, stride, padding, dilation, out):
    """Columns (N, C*prod(kernel), prod(out)) of input a (N, C, *spatial): column l of sample n
    holds the window that output position l sees (one contiguous copy of a strided view)."""
    xp = namespace_of(a)
    n, c = a.shape[:2]
    nd = len(kernel)
    win = _windows(_pad(a, padding), kernel, stride, dilation, out)   # N C *out *kernel
    order = (0, 1) + tuple(range(2 + nd, 2 + 2 * nd)) + tuple(range(2, 2 + nd))
    cols = xp.ascontiguousarray(win.transpose(order))                 # N C *kernel *out
    return cols.reshape(n, c * math.prod(kernel), math.prod(out))


def _col2im(cols, input_shape, kernel, stride, padding, dilation, out):
    """The adjoint of _im2col: add each column back onto the input positions it came from."""
    xp = namespace_of(cols)
    n, c = input_shape[:2]
    size = input_shape[2:]
    cols = cols.reshape((n, c) + tuple(kernel) + tuple(out))
    whole = (slice(None), slice(None))
    res = xp.zeros((n, c) + tuple(s + 2 * p for s, p in zip(size, padding)), dtype=cols.dtype)
    # the input positions kernel offset i (along one dim) reaches: i*d, i*d + s, ... (o of them)
    reach = [[slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]
             for k, d, s, o in zip(kernel, dilation, stride, out)]
    for offset, hit in zip(itertools.product(*map(range, kernel)), itertools.product(*reach)):
        res[whole + hit] += cols[whole + offset]
    return res[whole + tuple(slice(p, p + s) for p, s in zip(padding, size))]


def _grouped_matmul(w2, cols, groups):
    """w2 (O, K) @ cols (N, C*k, L) per group: (N, O, L)."""
    if groups == 1:
        return w2 @ cols
    n, ck, length = cols.shape
    o = w2.shape[0]
    return (w2.reshape(groups, o // groups, -1) @ cols.reshape(n, groups, ck // groups, length)
            ).reshape(n, o, length)


def _input_columns(ga, w, groups):
    """weight.T @ grad per group: the columns (N, C*k, L) that col2im adds onto the input."""
    n, o = ga.shape[:2]
    g2 = ga.reshape(n, o, -1)
    if groups == 1:
        return w.reshape(o, -1).T @ g2
    wg = w.reshape(groups, o // groups, -1).transpose(0, 2, 1)          # G, C/G*k, O/G
    out = wg @ g2.reshape(n, groups, o // groups, -1)                   # N, G, C/G*k, L
    return out.reshape(n, -1, g2.shape[-1])


def _conv_forward(a, k, b, stride, padding, dilation, groups, dtype):
    o, kernel = k.shape[0], k.shape[2:]
    out = [_conv_out_size(s, kk, st, p, d)
           for s, kk, st, p, d in zip(a.shape[2:], kernel, stride, padding, dilation)]
    res = _grouped_matmul(k.reshape(o, -1), _im2col(a, kernel, stride, padding, dilation, out), groups)
    if b is not None:
        res += b.reshape(o, 1)
    return res.reshape((a.shape[0], o) + tuple(out)).astype(dtype, copy=False)


def _conv_input_grad(ga, k, input_shape, stride, padding, dilation, groups, dtype):
    cols = _input_columns(ga, k, groups)
    res = _col2im(cols, input_shape, k.shape[2:], stride, padding, dilation, ga.shape[2:])
    return namespace_of(res).ascontiguousarray(res, dtype)


# stands for a missing bias, so the node's third edge is (None, 0) as in PyTorch's ConvolutionBackward0
_NO_BIAS = tensor_from_array(np.zeros(0, np.float32))


class _Convolution(Function):
    """out[n] = weight (O, C/groups*prod(k)) @ im2col(x)[n] per group: one GEMM per sample,
    for 1-, 2- and 3-D inputs (N, C, *spatial)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups=1):
        a, k = _compute(array_of(x), array_of(w))
        bias = None if b is None or b is _NO_BIAS else _compute(array_of(b))[0]
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, padding, dilation, groups)
        return tensor_from_array(_conv_forward(a, k, bias, stride, padding, dilation, groups,
                                               array_of(x).dtype))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        geometry = ctx.geometry
        needs = ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:
            gx = _ConvolutionInputGrad.apply(grad, w, tuple(x.shape), *geometry)
        if needs[1]:
            gw = _ConvolutionWeightGrad.apply(x, grad, tuple(w.shape), *geometry)
        if needs[2]:
            gb = grad.sum(dim=(0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb, None, None, None, None


class _ConvolutionInputGrad(Function):
    """d convolution / d input (a transposed convolution): col2im(weight.T @ grad)."""

    @staticmethod
    def forward(ctx, g, w, input_shape, stride, padding, dilation, groups=1):
        ga, k = _compute(array_of(g), array_of(w))
        ctx.save_for_backward(g, w)
        ctx.geometry = (stride, padding, dilation, groups)
        return tensor_from_array(_conv_input_grad(ga, k, input_shape, stride, padding, dilation,
                                                  groups, array_of(g).dtype))

    @staticmethod
    def backward(ctx, ggx):
        g, w = ctx.saved_tensors
        dg = dw = None
        if ctx.needs_input_grad[0]:
            dg = _Convolution.apply(ggx, w, None, *ctx.geometry)
        if ctx.needs_input_grad[1]:
            dw = _ConvolutionWeightGrad.apply(ggx, g, tuple(w.shape), *ctx.geometry)
        return dg, dw, None, None, None, None, None


class _ConvolutionWeightGrad(Function):
    """d convolution / d weight: sum over samples of grad[n] @ im2col(x)[n].T, per group."""

    @staticmethod
    def forward(ctx, x, g, weight_shape, stride, padding, dilation, groups=1):
        a, ga = _compute(array_of(x), array_of(g))
        n, o = ga.shape[:2]
        cols = _im2col(a, weight_shape[2:], stride, padding, dilation, ga.shape[2:])
        g2 = ga.reshape(n, o, -1)
        if groups == 1:
            out = (g2 @ cols.transpose(0, 2, 1)).sum(axis=0)             # O C*k
        else:
            length = g2.shape[-1]
            out = (g2.reshape(n, groups, o // groups, length)
                   @ cols.reshape(n, groups, -1, length).transpose(0, 1, 3, 2)).sum(axis=0)
        ctx.save_for_backward(x, g)
        ctx.geometry = (stride, padding, dilation, groups)
        return tensor_from_array(out.reshape(weight_shape).astype(array_of(x).dtype, copy=False))

    @staticmethod
    def backward(ctx, ggw):
        x, g = ctx.saved_tensors
        dx = dg = None
        if ctx.needs_input_grad[0]:
            dx = _ConvolutionInputGrad.apply(g, ggw, tuple(x.shape), *ctx.geometry)
        if ctx.needs_input_grad[1]:
            dg = _Convolution.apply(x, ggw, None, *ctx.geometry)
        return dx, dg, None, None, None, None, None


class _ConvTranspose(Function):
    """conv_transpose: the input gradient of a convolution as a layer, with its bias, in one node
    (PyTorch records ConvolutionBackward0 for it too)."""

    @staticmethod
    def forward(ctx, x, w, b, output_shape, stride, padding, dilation, groups=1):
        ga, k = _compute(array_of(x), array_of(w))
        out = _conv_input_grad(ga, k, output_shape, stride, padding, dilation, groups,
                               array_of(x).dtype)
        if b is not _NO_BIAS:
            out += array_of(b).reshape((-1,) + (1,) * (out.ndim - 2))
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, padding, dilation, groups)
        return tensor_from_array(out)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:
            gx = _Convolution.apply(grad, w, None, *ctx.geometry)
        if needs[1]:
            gw = _ConvolutionWeightGrad.apply(grad, x, tuple(w.shape), *ctx.geometry)
        if needs[2]:
            gb = grad.sum(dim=(0,) + tuple(range(2, grad.ndim)))
        return gx, gw, gb, None, None, None, None, None


name_node(_Convolution, "ConvolutionBackward0",
          "input: conv_transpose(grad, weight), weight: conv(input, grad) over the batch")
name_node(_ConvolutionInputGrad, "ConvolutionBackwardBackward0",
          "grad: conv(ggI, weight), weight: conv(ggI, grad) over the batch")
name_node(_ConvolutionWeightGrad, "ConvolutionBackwardBackward1",
          "input: conv_transpose(grad, ggW), grad: conv(input, ggW)")
name_node(_ConvTranspose, "ConvolutionBackward0",
          "input: conv(grad, weight), weight: conv(grad, input) over the batch, bias: grad summed")


def _batched(name, nd, input):
    """Whether input (nd+1 or nd+2 dims) lacks the batch dim; PyTorch's error otherwise."""
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, "
                           f"but got input of size: {list(input.shape)}")
    return input.ndim == nd + 1


def _check_convolution(x, weight, bias, stride, padding, dilation, groups, transposed):
    """PyTorch's argument checks (messages included) for a batched convolution."""
    xs, ws = array_of(x).shape, array_of(weight).shape          # plain tuples: cheap to index
    nd = len(xs) - 2
    if len(ws) != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}-dimensional input for {nd + 2}-dimensional weight "
                           f"{list(ws)}, but got {len(ws)}-dimensional input of size {list(xs)} "
                           "instead")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if array_of(x).dtype != array_of(weight).dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(x)} but found {_scalar_name(weight)}")
    if bias is not None and array_of(bias).dtype != array_of(x).dtype:
        raise RuntimeError(f"Input type ({_c_type_name(x)}) and bias type ({_c_type_name(bias)}) "
                           "should be the same")
    if transposed:
        out_channels = ws[1] * groups
        if xs[1] != ws[0]:
            raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected "
                               f"input{list(xs)} to have {ws[0]} channels, but got {xs[1]} channels "
                               "instead")
    else:
        out_channels = ws[0]
        if ws[0] < groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                               f"dimension 0, but got weight of size {list(ws)} instead")
        if ws[0] % groups:
            raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                               f"dimension 0, but got weight of size [{list(ws)}] instead")
        if xs[1] != ws[1] * groups:
            raise RuntimeError(f"Given groups={groups}, weight of size {list(ws)}, expected "
                               f"input{list(xs)} to have {ws[1] * groups} channels, but got {xs[1]} "
                               "channels instead")
    if bias is not None and array_of(bias).shape != (out_channels,):
        raise RuntimeError(f"Given {'transposed=1, ' if transposed else ''}weight of size {list(ws)}, "
                           f"expected bias to be 1-dimensional with {out_channels} elements, but got "
                           f"bias of size {list(bias.shape)} instead")
    if not transposed:
        for size, p, k, d in zip(xs[2:], padding, ws[2:], dilation):
            if size + 2 * p < d * (k - 1) + 1:
                padded = [s + 2 * q for s, q in zip(xs[2:], padding)]
                spans = [e * (j - 1) + 1 for j, e in zip(ws[2:], dilation)]
                raise RuntimeError(f"Calculated padded input size per channel: "
                                   f"({' x '.join(map(str, padded))}). Kernel size: "
                                   f"({' x '.join(map(str, spans))}). Kernel size can't be greater "
                                   "than actual input size")


def _scalar_name(t):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16"}.get(
        t.dtype.__repr__()[6:], t.dtype.__repr__()[6:])


def _c_type_name(t):
    name = t.dtype.__repr__()[6:]
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16"}.get(name, name)


def _same_padding(x, kernel, stride, dilation):
    """padding='same' (output size = input size, stride 1): half the dilated span on each side;
    an odd span puts its extra zero at the end, padded here as PyTorch does (with its warning)."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if any(span % 2 for span in spans):
        from .._warnings import warn
        warn("Using padding='same' with even kernel lengths and odd dilation may require a "
             "zero-padded copy of the input be created")
        for axis, span in enumerate(spans):
            if span % 2:
                shape = list(x.shape)
                shape[2 + axis] = 1
                x = ops.cat([x, ops.zeros(shape, dtype=x.dtype, device=x.device)], 2 + axis)
    return x, tuple(span // 2 for span in spans)


def _convolution(nd, input, weight, bias, stride, padding, dilation, groups):
    """conv1d / conv2d / conv3d: input (N, C, *spatial) or (C, *spatial), weight (O, C/groups, *k)."""
    unbatched = _batched(f"conv{nd}d", nd, input)
    x = input.unsqueeze(0) if unbatched else input
    stride, dilation = _expand(stride, nd, "stride"), _expand(dilation, nd, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * nd
        elif padding == "same":
            x, padding = _same_padding(x, tuple(weight.shape[2:]), stride, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: {padding!r}")
    else:
        padding = _expand(padding, nd, "padding")
    _check_convolution(x, weight, bias, stride, padding, dilation, groups, False)
    out = _Convolution.apply(x, weight, _NO_BIAS if bias is None else bias, stride, padding,
                             dilation, groups)
    return out.squeeze(0) if unbatched else out


def _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """conv_transpose1d/2d/3d: weight (C_in, C_out/groups, *k); each output size is
    (size - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1."""
    unbatched = _batched(f"conv_transpose{nd}d", nd, input)
    x = input.unsqueeze(0) if unbatched else input
    stride, padding = _expand(stride, nd, "stride"), _expand(padding, nd, "padding")
    dilation = _expand(dilation, nd, "dilation")
    output_padding = _expand(output_padding, nd, "output_padding")
    _check_convolution(x, weight, bias, stride, padding, dilation, groups, True)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = ("depth", "height", "width")[-max(nd, 2):]      # 1-D is reported as 2-D
        lead = len(names) - nd
        parts = [f"{kind}_{name}: {v}"
                 for kind, values, fill in (("output_padding", output_padding, 0),
                                            ("stride", stride, 1), ("dilation", dilation, 1))
                 for name, v in zip(names, (fill,) * lead + values)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(parts))
    size = [(s - 1) * st - 2 * p + d * (k - 1) + op + 1 for s, st, p, d, k, op in
            zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding)]
    out = _ConvTranspose.apply(x, weight, _NO_BIAS if bias is None else bias,
                               (x.shape[0], weight.shape[1] * groups, *size), stride, padding,
                               dilation, groups)
    return out.squeeze(0) if unbatched else out


@op(namespace="nn.functional")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """1-D cross-correlation of input (N, C, L) or (C, L) with weight (O, C/groups, k)."""
    return _convolution(1, input, weight, bias, stride, padding, dilation, groups)


@op(namespace="nn.functional")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C/groups, kh, kw)."""
    return _convolution(2, input, weight, bias, stride, padding, dilation, groups)


@op(namespace="nn.functional")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """3-D cross-correlation of input (N, C, D, H, W) or (C, D, H, W) with weight
    (O, C/groups, kd, kh, kw)."""
    return _convolution(3, input, weight, bias, stride, padding, dilation, groups)


@op(namespace="nn.functional")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1):
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


@op(namespace="nn.functional")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1):
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


@op(namespace="nn.functional")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1):
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


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
    # NaN propagates, as in PyTorch, whose kernel keeps taking a NaN (val > max || isnan(val)):
    # the last NaN of a window wins. On the CPU one host read skips that pass when there is no
    # NaN; on cuda it always runs (no host read)
    nan_wins = is_floating(a.dtype) and (xp is not np or bool(xp.isnan(best).any()))
    offset = xp.zeros(best.shape, dtype=np.int32)
    found = xp.zeros(best.shape, dtype=bool)
    for k in range(planes.shape[0]):
        hit = (planes[k] == best) & ~found
        found |= hit
        offset += hit * np.int32(k)
    if nan_wins:
        for k in range(planes.shape[0]):
            offset = xp.where(planes[k] != planes[k], np.int32(k), offset)
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
    values = planes[:, cand]                                           # (planes, OH*OW, k)
    best = xp.argmax(values, axis=-1)                                  # the first maximum
    if is_floating(a.dtype):
        # PyTorch's kernel keeps taking a NaN (val > max || isnan(val)): the last NaN wins
        # (candidates run in row-major order, repeats at the end of a row or window)
        nan = xp.isnan(values)
        last_nan = nan.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)
        best = xp.where(nan.any(axis=-1), last_nan, best)
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
