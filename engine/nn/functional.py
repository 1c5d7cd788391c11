"""`engine.nn.functional`: layers, activations and losses as functions, with PyTorch's names.

Each layer records the graph node PyTorch records, under PyTorch's name (`AddmmBackward0`,
`ConvolutionBackward0`, `NativeLayerNormBackward0`, `MseLossBackward0`, ...), so the
debugger shows and `print` names the same nodes. Convolution and pooling live in
`engine.nn._conv`, the losses in `engine.nn._losses`. Most are `engine.autograd.Function`s:
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
from engine.ops.products import AddmmBackward0, MmBackward0
from engine import amp as _amp
from engine.autograd import Function
from engine.nn._activation_grads import leaky_relu_backward
from engine.autograd.views import _check_inplace
from engine.nn._arrays import (Node, array_of, mark_modified, name_node, namespace_of, record,
                               tensor_from_array)
from engine.nn._conv import _ScatterFlat, conv2d, max_pool2d
from engine.nn._losses import (binary_cross_entropy, binary_cross_entropy_with_logits,
                               cross_entropy, huber_loss, l1_loss, mse_loss, nll_loss,
                               smooth_l1_loss)

__all__ = [
    "linear", "relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh", "gelu",
    "softplus", "softmax", "log_softmax", "dropout", "conv2d", "max_pool2d", "flatten",
    "embedding", "batch_norm", "layer_norm", "one_hot",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy",
]


# ------------------------------------------------------------------------------ layers


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
        return record(MmBackward0, out, (x, w), (x, w), linear=True)
    out += array_of(b)
    out = tensor_from_array(out.astype(xa.dtype, copy=False))
    return record(AddmmBackward0, out, (b, x, w), (x, w), linear=True, alpha=1, beta=1)


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
        return input.mul_(0.0) if inplace else input * 0.0
    with engine.no_grad():        # PyTorch's draw, so a seed gives PyTorch's mask
        mask = engine.empty_like(input).bernoulli_(1 - p).div_(1 - p)
    return input.mul_(mask) if inplace else input * mask


class _Embedding(Function):
    """weight[indices]; backward adds each gradient row into the row it was taken from."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx):
        idx, w = array_of(indices), array_of(weight)
        ctx.bad = None
        if type(idx) is not np.ndarray:     # cuda: PyTorch's device-side assert becomes NaN rows (no host read)
            xp = namespace_of(idx)
            ctx.bad = (idx < 0) | (idx >= weight.shape[0])
            idx = xp.where(ctx.bad, 0, idx)
        ctx.indices, ctx.rows, ctx.padding_idx = idx, weight.shape[0], padding_idx
        out = w[idx]
        if ctx.bad is not None and w.dtype.kind == "f":
            out = namespace_of(w).where(ctx.bad[..., None], np.nan, out).astype(w.dtype, copy=False)
        return tensor_from_array(out)

    @staticmethod
    def backward(ctx, grad):
        xp = namespace_of(ctx.indices)
        dim = grad.shape[-1]
        rows = ctx.indices.reshape(-1)
        grad_rows = grad.reshape(-1, dim)
        if ctx.padding_idx is not None:
            keep = (rows != ctx.padding_idx)[:, None].astype(array_of(grad).dtype)
            grad_rows = grad_rows * tensor_from_array(keep)
        if ctx.bad is not None:
            poison = xp.where(ctx.bad.reshape(-1, 1), np.nan, 1.0).astype(array_of(grad).dtype)
            grad_rows = grad_rows * tensor_from_array(poison)
        targets = rows[:, None] * dim + xp.arange(dim)
        return _ScatterFlat.apply(grad_rows, targets, (ctx.rows, dim)), None, None


def embedding(input, weight, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
    """Rows of `weight` picked by the integer tensor `input`; the `padding_idx` row gets no
    gradient; with max_norm the picked rows are first rescaled in place (as PyTorch does)."""
    if scale_grad_by_freq:
        raise NotImplementedError("engine embedding does not support scale_grad_by_freq")
    if max_norm is not None:
        from engine.nn._functional_extra import embedding_renorm_
        embedding_renorm_(weight, input, max_norm, norm_type)
    if input.dtype not in (engine.int64, engine.int32):
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
    return _Embedding.apply(weight, input, padding_idx)


name_node(_Embedding, "EmbeddingBackward0",
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


name_node(_LayerNorm, "NativeLayerNormBackward0",
           "input: rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = grad * weight, "
           "weight: sum(grad * xhat), bias: sum(grad)")
name_node(_BatchNorm, "NativeBatchNormBackward0",
           "input: rstd * (g - mean(g) - xhat * mean(g * xhat)) (training) or g * rstd (eval) "
           "with g = grad * weight, weight: sum(grad * xhat), bias: sum(grad)")


# -------------------------------------------------------------------------- activations


def relu(input, inplace: bool = False):
    return input.relu_() if inplace else engine.relu(input)


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
        return leaky_relu_backward(grad, x, ctx.slope), None


class _LeakyReluInplace(Function):
    """leaky_relu written into x itself; backward reads the result (x is overwritten)."""

    @staticmethod
    def forward(ctx, x, slope):
        a = array_of(x)
        a[a <= 0] *= slope
        ctx.mark_dirty(x)
        ctx.save_for_backward(x)
        ctx.slope = slope
        return x

    @staticmethod
    def backward(ctx, grad):
        if ctx.slope < 0:
            raise RuntimeError(
                "In-place leakyReLu backward calculation is triggered with a negative slope which is not "
                "supported. This is caused by calling in-place forward function with a negative slope, please "
                "call out-of-place version instead. File an issue at https://github.com/pytorch/pytorch if you "
                "do require supporting in-place leakRelu backward calculation with negative slope")
        (result,) = ctx.saved_tensors
        return leaky_relu_backward(grad, result, ctx.slope), None


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x where x > 0, else negative_slope * x; inplace=True overwrites x (LeakyReluBackward1)."""
    if inplace:
        _check_inplace(input)
        return _LeakyReluInplace.apply(input, negative_slope)
    return _LeakyRelu.apply(input, negative_slope)


def leaky_relu_(input, negative_slope: float = 0.01):
    return leaky_relu(input, negative_slope, inplace=True)


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


name_node(_LeakyRelu, "LeakyReluBackward0", "self: grad where self > 0, else grad * slope")
name_node(_LeakyReluInplace, "LeakyReluBackward1", "self: grad where result > 0, else grad * slope")
name_node(_Gelu, "GeluBackward0", "self: grad * (Phi(self) + self * phi(self))")


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


name_node(_Softplus, "SoftplusBackward0", "self: grad * sigmoid(beta * self) (1 above threshold)")


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    return _Softplus.apply(input, beta, threshold)


def _warn_implicit_dim(name: str) -> None:
    from engine._warnings import warn      # at the caller's line, past the engine's wrappers
    warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
         "include dim=X as an argument.")


def softmax(input, dim: int | None = None, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`."""
    if dim is None:
        _warn_implicit_dim("softmax")
    return engine.softmax(input, dim, dtype=dtype)


def log_softmax(input, dim: int | None = None, dtype=None):
    """log(softmax(x)) along `dim`, computed stably."""
    if dim is None:
        _warn_implicit_dim("log_softmax")
    return engine.log_softmax(input, dim, dtype=dtype)


from engine.autograd.recording import record_namespace as _record_namespace  # noqa: E402

_record_namespace(globals())
