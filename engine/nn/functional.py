"""`engine.nn.functional`: layers, activations and losses as functions, with PyTorch's names.

Each layer records the graph node PyTorch records, under PyTorch's name (`AddmmBackward0`,
`ConvolutionBackward0`, `NativeLayerNormBackward0`, `MseLossBackward0`, ...), so the
debugger shows and `print` names the same nodes. Most are `engine.autograd.Function`s:
forward on raw arrays, backward written with engine ops, so `create_graph=True` gives
second derivatives. The two hottest, `linear` on 2-D inputs and `nll_loss`, record their
node directly; ops that PyTorch itself composes (`dropout`, `l1_loss`, softmax-based ones)
are composed of core ops here too. Under `engine.autocast`, `linear` and `conv2d` run in
the autocast dtype (see `engine.amp`).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import engine
from engine import amp as _amp
from engine.autograd import Function
from engine.nn._arrays import (Node, array_of, mark_modified, namespace_of, record,
                               tensor_from_array)

__all__ = [
    "linear", "relu", "relu_", "leaky_relu", "sigmoid", "tanh", "gelu",
    "softplus", "softmax", "log_softmax", "dropout", "conv2d", "max_pool2d", "flatten",
    "embedding", "batch_norm", "layer_norm", "one_hot",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy",
]

_REDUCTIONS = ("none", "mean", "sum")


def _node_name(function, name: str, formula: str) -> None:
    """Give a Function's graph node PyTorch's name and a one-line formula for the debugger."""
    function._backward_cls._name = name
    function._backward_cls.formula = f"{name}: {formula}"


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_same_shape(input, target, name: str) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")


# ------------------------------------------------------------------------------ layers
def _mm(a, b):
    """a.mm(b), with float16 operands multiplied in float32 and the result rounded to float16
    (float32 accumulation, as autocast promises; NumPy has no fast float16 matmul)."""
    if a.dtype == engine.float16:
        return a.float().mm(b.float()).half()
    return a.mm(b)


class AddmmBackward0(Node):
    """The node of `linear` on a 2-D input with a bias; its edges go to (bias, input,
    weight) in PyTorch's order (PyTorch puts a TBackward0 before the weight; here the
    weight's gradient is computed directly, so it arrives as a fresh array)."""
    __slots__ = ()
    formula = ("AddmmBackward0: bias: grad.sum(0), input: grad.mm(weight), "
               "weight: grad.t().mm(input)")
    saved_names = ("input", "weight")

    def backward(self, grad):
        x, w = self.saved
        nxt = self._next
        return (grad.sum(0) if nxt[0][0] is not None else None,
                _mm(grad, w) if nxt[1][0] is not None else None,
                _mm(grad.t(), x) if nxt[2][0] is not None else None)


class MmBackward0(Node):
    """The node of `linear` on a 2-D input without a bias; edges to (input, weight)."""
    __slots__ = ()
    formula = "MmBackward0: input: grad.mm(weight), weight: grad.t().mm(input)"
    saved_names = ("input", "weight")

    def backward(self, grad):
        x, w = self.saved
        nxt = self._next
        return (_mm(grad, w) if nxt[0][0] is not None else None,
                _mm(grad.t(), x) if nxt[1][0] is not None else None)


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
        return record(MmBackward0, out, (x, w), (x, w))
    out += array_of(b)
    out = tensor_from_array(out.astype(xa.dtype, copy=False))
    return record(AddmmBackward0, out, (b, x, w), (x, w))


def linear(input, weight, bias=None):
    """input @ weight.T + bias (weight: (out_features, in_features)); inputs with more than
    two dims are flattened to 2-D around one matrix product, as PyTorch does."""
    input, weight, bias = _amp.cast_for_autocast(input, weight, bias)
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


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    return engine.flatten(input, start_dim, end_dim)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (when training)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = engine.rand(input.shape, device=input.device) >= p
    mask = tensor_from_array(array_of(keep).astype(array_of(input).dtype) / (1.0 - p))
    return input * mask


class _Embedding(Function):
    """weight[indices]; backward adds each gradient row into the row it was taken from."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        idx = array_of(indices)
        ctx.indices, ctx.rows, ctx.padding_idx = idx, weight.shape[0], padding_idx
        return tensor_from_array(array_of(weight)[idx])

    @staticmethod
    def backward(ctx, grad):
        xp = namespace_of(ctx.indices)
        dim = grad.shape[-1]
        rows = ctx.indices.reshape(-1)
        grad_rows = grad.reshape(-1, dim)
        if ctx.padding_idx is not None:
            keep = (rows != ctx.padding_idx)[:, None].astype(array_of(grad).dtype)
            grad_rows = grad_rows * tensor_from_array(keep)
        targets = rows[:, None] * dim + xp.arange(dim)
        return _ScatterFlat.apply(grad_rows, targets, (ctx.rows, dim)), None, None


def embedding(input, weight, padding_idx: int | None = None):
    """Rows of `weight` picked by the integer tensor `input`; the `padding_idx` row gets no
    gradient."""
    if input.dtype not in (engine.int64, engine.int32):
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    a = array_of(input)
    if a.size and (int(a.min()) < 0 or int(a.max()) >= weight.shape[0]):
        bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
        raise IndexError(f"embedding: index {bad} is out of range for {weight.shape[0]} "
                         "embeddings")
    return _Embedding.apply(weight, input, padding_idx)


_node_name(_Embedding, "EmbeddingBackward0",
           "weight: grad rows added into the rows they were taken from (none to padding_idx)")


def one_hot(tensor, num_classes: int = -1):
    """int64 (..., num_classes) with a 1 at each index."""
    a = array_of(tensor)
    xp = namespace_of(a)
    if num_classes < 0:
        num_classes = int(a.max()) + 1 if a.size else 0
    return tensor_from_array((a[..., None] == xp.arange(num_classes)).astype(np.int64))


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
                mark_modified(running_mean)
                mark_modified(running_var)
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


_node_name(_LayerNorm, "NativeLayerNormBackward0",
           "input: rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = grad * weight, "
           "weight: sum(grad * xhat), bias: sum(grad)")
_node_name(_BatchNorm, "NativeBatchNormBackward0",
           "input: rstd * (g - mean(g) - xhat * mean(g * xhat)) (training) or g * rstd (eval) "
           "with g = grad * weight, weight: sum(grad * xhat), bias: sum(grad)")


# -------------------------------------------------------------------------- activations
def relu(input, inplace: bool = False):
    return engine.relu(input)


def relu_(input):
    return input.relu_()


def sigmoid(input):
    return engine.sigmoid(input)


def tanh(input):
    return engine.tanh(input)


class _LeakyRelu(Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return engine.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return engine.where(x > 0, grad, grad * ctx.slope), None


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x where x > 0, else negative_slope * x."""
    return _LeakyRelu.apply(input, negative_slope)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class _Gelu(Function):
    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)
            return 0.5 * x * (1.0 + engine.tanh(inner))
        return 0.5 * x * (1.0 + engine.erf(x * (1.0 / math.sqrt(2.0))))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = engine.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
            slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI \
                * (1.0 + 3 * _GELU_CUBIC * x * x)
        else:
            cdf = 0.5 * (1.0 + engine.erf(x * (1.0 / math.sqrt(2.0))))
            slope = cdf + x * engine.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return grad * slope, None


def gelu(input, approximate: str = "none"):
    """x * Phi(x) (exact, with erf) or its tanh approximation (`approximate="tanh"`)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate argument must be either none or tanh, got {approximate!r}")
    return _Gelu.apply(input, approximate)


_node_name(_LeakyRelu, "LeakyReluBackward0", "self: grad where self > 0, else grad * slope")
_node_name(_Gelu, "GeluBackward0", "self: grad * (Phi(self) + self * phi(self))")


class _Softplus(Function):
    """log(1 + exp(beta*x)) / beta, linear where beta*x > threshold."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        a = array_of(x)
        xp = namespace_of(a)
        bx = a * beta
        out = xp.where(bx > threshold, a, xp.logaddexp(0, bx) / beta).astype(a.dtype)
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return tensor_from_array(out)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        slope = engine.where(bx > ctx.threshold, engine.ones_like(x), engine.sigmoid(bx))
        return grad * slope, None, None


_node_name(_Softplus, "SoftplusBackward0", "self: grad * sigmoid(beta * self) (1 above threshold)")


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    return _Softplus.apply(input, beta, threshold)


def _softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim: int | None = None, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return engine.softmax(input, dim)


def log_softmax(input, dim: int | None = None, dtype=None):
    if dim is None:
        dim = _softmax_dim(input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return engine.log_softmax(input, dim)


# ----------------------------------------------------------------- convolution and pooling
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
    def forward(ctx, x, w, stride, padding, dilation):
        if x.dtype != w.dtype:
            raise RuntimeError(f"conv2d: input dtype {x.dtype} and weight dtype {w.dtype} "
                               "should be the same")
        a, k = _compute(array_of(x), array_of(w))
        o, _, kh, kw = k.shape
        oh = _conv_out_size(a.shape[2], kh, stride[0], padding[0], dilation[0])
        ow = _conv_out_size(a.shape[3], kw, stride[1], padding[1], dilation[1])
        if oh < 1 or ow < 1:
            raise RuntimeError(f"conv2d: input size {tuple(a.shape[2:])} (padded by {padding}) "
                               f"is smaller than the kernel size {(kh, kw)}")
        cols = _im2col(a, (kh, kw), stride, padding, dilation, (oh, ow))
        out = k.reshape(o, -1) @ cols                                   # N O OH*OW
        ctx.save_for_backward(x, w)
        ctx.geometry = (stride, padding, dilation)
        return tensor_from_array(out.reshape(a.shape[0], o, oh, ow)
                                 .astype(array_of(x).dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = _Conv2dInputGrad.apply(grad, w, tuple(x.shape), stride, padding, dilation)
        if ctx.needs_input_grad[1]:
            gw = _Conv2dWeightGrad.apply(x, grad, tuple(w.shape), stride, padding, dilation)
        return gx, gw, None, None, None


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
            dg = _Conv2d.apply(ggx, w, stride, padding, dilation)
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
            dg = _Conv2d.apply(x, ggw, stride, padding, dilation)
        return dx, dg, None, None, None, None


_node_name(_Conv2d, "ConvolutionBackward0",
           "input: conv_transpose2d(grad, weight), weight: conv2d(input, grad) over the batch")
_node_name(_Conv2dInputGrad, "ConvolutionBackwardBackward0",
           "grad: conv2d(ggI, weight), weight: conv2d(ggI, grad) over the batch")
_node_name(_Conv2dWeightGrad, "ConvolutionBackwardBackward1",
           "input: conv_transpose2d(grad, ggW), grad: conv2d(input, ggW)")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C, kh, kw)."""
    if groups != 1:
        raise NotImplementedError("engine conv2d supports groups=1 only")
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        else:
            raise ValueError(f"conv2d: padding={padding!r} is not supported; give numbers")
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
    out = _Conv2d.apply(input, weight, _pair(stride), _pair(padding), _pair(dilation))
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
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


_node_name(_MaxPool2d, "MaxPool2DWithIndicesBackward0", "self: grad scattered to the argmax")
_node_name(_GatherFlat, "IndexBackward0", "self: grad scattered back to the indices")
_node_name(_ScatterFlat, "IndexPutBackward0", "values: grad gathered at the indices")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Maximum over each window; the gradient goes to the (first) maximal element."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise RuntimeError("max_pool2d: pad should be at most half of effective kernel size")
    unbatched = input.ndim == 3
    a = array_of(input if not unbatched else input.unsqueeze(0))
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
    nan_wins = a.dtype.kind == "f" and bool(xp.isnan(best).any())   # NaN propagates, as in PyTorch
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
    plane_start = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat_index = plane_start + rows * w + cols
    source = input if not unbatched else input.unsqueeze(0)
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    out = _MaxPool2d.apply(source, flat_index, disjoint)
    return out.squeeze(0) if unbatched else out


# ------------------------------------------------------------------------------- losses
def _difference_loss(node_name: str, formula: str, value, slope):
    """A Function for a loss of d = input - target, reduced inside one node named as PyTorch
    names it: `value(d, xp, param)` gives the elementwise loss (arrays), `slope(d, param)`
    its derivative in d (engine ops, so the loss has second derivatives too)."""
    class DifferenceLoss(Function):
        @staticmethod
        def forward(ctx, x, y, reduction, param):
            xa, ya = array_of(x), array_of(y)
            xp = namespace_of(xa)
            loss = value(xa - ya, xp, param)
            if reduction != "none":
                loss = loss.sum() if reduction == "sum" else loss.mean()
            ctx.save_for_backward(x, y)
            ctx.reduction, ctx.param = reduction, param
            return tensor_from_array(xp.asarray(loss, dtype=xa.dtype))

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            diff = x - y
            scale = grad / diff.numel() if ctx.reduction == "mean" else grad
            g = scale * slope(diff, ctx.param)
            return (g if ctx.needs_input_grad[0] else None,
                    -g if ctx.needs_input_grad[1] else None, None, None)

    DifferenceLoss.__name__ = DifferenceLoss.__qualname__ = node_name.replace("Backward0", "")
    _node_name(DifferenceLoss, node_name, formula)
    return DifferenceLoss


_MseLoss = _difference_loss(
    "MseLossBackward0", "self: grad * 2 * (self - target), target: the negative",
    lambda d, xp, _: d * d, lambda d, _: 2 * d)
_HuberLoss = _difference_loss(
    "HuberLossBackward0", "self: grad * clamp(self - target, -delta, delta), target: the negative",
    lambda d, xp, delta: xp.where(xp.abs(d) < delta, 0.5 * d * d,
                                  delta * (xp.abs(d) - 0.5 * delta)),
    lambda d, delta: engine.clamp(d, -delta, delta))
_SmoothL1Loss = _difference_loss(
    "SmoothL1LossBackward0", "self: grad * clamp((self - target) / beta, -1, 1), target: the "
    "negative",
    lambda d, xp, beta: xp.where(xp.abs(d) < beta, 0.5 * d * d / beta, xp.abs(d) - 0.5 * beta),
    lambda d, beta: engine.clamp(d / beta, -1.0, 1.0))


def _warn_if_broadcasting(input, target) -> None:
    """PyTorch's warning for a regression loss whose target shape differs from the input's."""
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=4)


def _difference_loss_call(loss, input, target, reduction, param=None):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _warn_if_broadcasting(input, target)
    return loss.apply(input, target, reduction, param)


def mse_loss(input, target, reduction: str = "mean"):
    """Mean (or sum) of the squared differences."""
    return _difference_loss_call(_MseLoss, input, target, reduction)


def l1_loss(input, target, reduction: str = "mean"):
    """Mean (or sum) of the absolute differences (composed of sub, abs and the reduction, as
    PyTorch's graph shows it)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    _warn_if_broadcasting(input, target)
    return _reduce((input - target).abs(), reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta)."""
    return _difference_loss_call(_HuberLoss, input, target, reduction, delta)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (L1 when beta is 0)."""
    if beta == 0.0:
        return l1_loss(input, target, reduction)
    return _difference_loss_call(_SmoothL1Loss, input, target, reduction, beta)


class _BinaryCrossEntropy(Function):
    """-w (t log p + (1 - t) log(1 - p)), each log clamped at -100, reduced inside the node;
    the backward is PyTorch's: (p - t) / max(p (1 - p), 1e-12), so a saturated p = 0 or 1
    still gets a (large) gradient."""

    @staticmethod
    def forward(ctx, p, t, w, reduction):
        pa, ta = array_of(p), array_of(t)
        xp = namespace_of(pa)
        with np.errstate(divide="ignore"):
            loss = -(ta * xp.maximum(xp.log(pa), -100.0)
                     + (1 - ta) * xp.maximum(xp.log1p(-pa), -100.0))
        if w is not None:
            loss = loss * array_of(w)
        if reduction != "none":
            loss = loss.sum() if reduction == "sum" else loss.mean()
        ctx.save_for_backward(p, t, w)
        ctx.reduction = reduction
        return tensor_from_array(xp.asarray(loss, dtype=pa.dtype))

    @staticmethod
    def backward(ctx, grad):
        p, t, w = ctx.saved_tensors
        scale = grad / p.numel() if ctx.reduction == "mean" else grad
        if w is not None:
            scale = scale * w
        gp = gt = None
        if ctx.needs_input_grad[0]:
            gp = scale * (p - t) / engine.clamp((1 - p) * p, min=1e-12)
        if ctx.needs_input_grad[1]:
            gt = scale * (engine.clamp(engine.log1p(-p), min=-100.0)
                          - engine.clamp(engine.log(p), min=-100.0))
        return gp, gt, None, None


_node_name(_BinaryCrossEntropy, "BinaryCrossEntropyBackward0",
           "self: grad * (self - target) / max(self * (1 - self), 1e-12), target: grad * "
           "(log(1 - self) - log(self))")


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(t log p + (1-t) log(1-p)) with each log clamped at -100, as PyTorch does."""
    _check_same_shape(input, target, "binary_cross_entropy")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    a = array_of(input)
    if a.size and (float(a.min()) < 0.0 or float(a.max()) > 1.0):
        raise RuntimeError("all elements of input should be between 0 and 1")
    return _BinaryCrossEntropy.apply(input, target, weight, reduction)


class _BCEWithLogits(Function):
    """(1 - t) x + (1 + (p - 1) t) softplus(-x), computed stably; p is pos_weight."""

    @staticmethod
    def forward(ctx, x, t, pos_weight):
        a, ta = array_of(x), array_of(t)
        xp = namespace_of(a)
        softplus_neg = xp.logaddexp(0, -a)
        if pos_weight is None:
            out = (1 - ta) * a + softplus_neg
        else:
            pw = array_of(pos_weight)
            out = (1 - ta) * a + (1 + (pw - 1) * ta) * softplus_neg
        ctx.save_for_backward(x, t, pos_weight)
        return tensor_from_array(out.astype(a.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, t, pos_weight = ctx.saved_tensors
        s = engine.sigmoid(x)
        gx = gt = None
        if ctx.needs_input_grad[0]:
            gx = grad * (s - t) if pos_weight is None \
                else grad * (s * (pos_weight * t + 1 - t) - pos_weight * t)
        if ctx.needs_input_grad[1]:     # d/dt = -x + (p - 1) softplus(-x)
            gt = grad * -x if pos_weight is None \
                else grad * ((pos_weight - 1) * _Softplus.apply(-x, 1.0, 20.0) - x)
        return gx, gt, None


_node_name(_BCEWithLogits, "BinaryCrossEntropyWithLogitsBackward0",
           "self: grad * ((p t + 1 - t) sigmoid(self) - p t), target: grad * "
           "((p - 1) softplus(-self) - self)")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), without overflow for large logits."""
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    loss = _BCEWithLogits.apply(input, target, pos_weight)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class NllLossBackward0(Node):
    """The node of `nll_loss`: the gradient is -weight[t_i] / denominator at (i, t_i)."""
    __slots__ = ("n_classes", "target", "coeff", "reduction")
    formula = "NllLossBackward0: self: -weight[target] * grad at target (/ total weight for mean)"
    saved_names = ("target",)

    def backward(self, grad):
        self.saved                                  # raises once the graph has been freed
        xp = namespace_of(self.coeff)
        n = self.coeff.shape[0]
        scatter = xp.zeros((n, self.n_classes), dtype=self.coeff.dtype)
        scatter[xp.arange(n), self.target] = self.coeff
        if self.reduction == "none":
            grad = grad.unsqueeze(1)
        return grad * tensor_from_array(scatter), None, None


def _nll(logp, target, weight, ignore_index, reduction):
    """-weight[t_i] * logp[i, t_i], summed or averaged over the non-ignored samples."""
    lp, t = array_of(logp), array_of(target)
    xp = namespace_of(lp)
    n, c = lp.shape
    valid = t != ignore_index
    safe_t = xp.where(valid, t, 0)
    rows = xp.arange(n)
    try:
        if t.size and int(safe_t.min()) < 0:
            raise IndexError
        picked = lp[rows, safe_t]
    except IndexError:
        bad = [int(v) for v in safe_t.tolist() if not 0 <= v < c][0]
        raise IndexError(f"Target {bad} is out of bounds for {c} classes") from None
    w = valid.astype(lp.dtype) if weight is None else array_of(weight)[safe_t] * valid
    coeff = -w
    if reduction == "mean":
        coeff = coeff / w.sum()
    losses = coeff * picked
    out = tensor_from_array(xp.asarray(losses if reduction == "none" else losses.sum(),
                                       dtype=lp.dtype))
    return record(NllLossBackward0, out, (logp, target, weight), (target,), n_classes=c,
                  target=safe_t, coeff=coeff, reduction=reduction)


def _classes_last(input, target):
    """(N, C, d1, ...) -> (N*d1*..., C) and its target -> (N*d1*...,); (C,) -> (1, C)."""
    if input.ndim == 1:
        return input.unsqueeze(0), target.reshape(1), ()
    if input.ndim == 2:
        return input, target, None
    spatial = tuple(input.shape[2:])
    moved = input.movedim(1, -1) if hasattr(input, "movedim") else \
        input.permute(0, *range(2, input.ndim), 1)
    return moved.reshape(-1, input.shape[1]), target.reshape(-1), (input.shape[0],) + spatial


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of class indices `target` under log-probabilities `input`."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if target.dtype not in (engine.int64, engine.int32):
        raise RuntimeError(f"nll_loss: expected target of dtype int64 (class indices), got "
                           f"{target.dtype}")
    flat_input, flat_target, unflatten = _classes_last(input, target)
    if flat_target.shape[0] != flat_input.shape[0]:
        raise ValueError(f"Expected input batch_size ({flat_input.shape[0]}) to match target "
                         f"batch_size ({flat_target.shape[0]}).")
    loss = _nll(flat_input, flat_target, weight, ignore_index, reduction)
    if reduction == "none" and unflatten is not None:
        loss = loss.reshape(unflatten)
    return loss


def cross_entropy(input, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """log_softmax over dim 1 then the negative log-likelihood; `target` holds class indices
    (integer, shape without C) or class probabilities (float, same shape as input)."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    logp = engine.log_softmax(input, class_dim)
    n_classes = input.shape[class_dim]
    if target.dtype.is_floating_point:
        _check_same_shape(input, target, "cross_entropy")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        picked = logp * target
        if weight is not None:
            shape = [1] * input.ndim
            shape[class_dim] = n_classes
            picked = picked * weight.reshape(shape)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{reduction} is not a valid value for reduction")
        if reduction == "none":
            return -picked.sum(class_dim)
        total = -picked.sum()                      # PyTorch's order: sum, negate, divide
        return total if reduction == "sum" else total / (input.numel() // n_classes)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    flat_logp, flat_target, unflatten = _classes_last(logp, target)
    valid = tensor_from_array(array_of(flat_target) != ignore_index)
    per_class = flat_logp if weight is None else flat_logp * weight
    smooth = -engine.where(valid.unsqueeze(1), per_class, engine.zeros_like(per_class)).sum(1)
    if reduction == "none":
        smooth = smooth.reshape(unflatten) if unflatten else smooth
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        t = array_of(flat_target)
        v = array_of(valid)
        denom = float(v.sum()) if weight is None else \
            float(array_of(weight)[namespace_of(t).where(v, t, 0)][v].sum())
        smooth = smooth.sum() / denom
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)
