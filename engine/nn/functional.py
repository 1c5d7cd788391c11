"""`engine.nn.functional`: layers, activations and losses as functions, with PyTorch's names.

Each layer records the graph node PyTorch records, under PyTorch's name (`AddmmBackward0`,
`ConvolutionBackward0`, `NativeLayerNormBackward0`, `MseLossBackward0`, ...), so the
debugger shows and `print` names the same nodes. The kernels that are ops (linear, conv2d,
max_pool2d, embedding, layer_norm, batch_norm) live in `engine.ops.nn`, the losses in
`engine.nn._losses`; this module re-exports them. Most are `engine.autograd.Function`s:
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
from engine.nn._activation_grads import leaky_relu_backward
from engine.autograd.views import _check_inplace
from engine.nn._arrays import (Node, array_of, mark_modified, name_node, namespace_of, record,
                               tensor_from_array)
from engine.ops.nn import (batch_norm, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                           conv_transpose3d, embedding, layer_norm, linear, max_pool2d)
from engine.ops._registry import op
from engine.nn._losses import (binary_cross_entropy, binary_cross_entropy_with_logits,
                               cross_entropy, huber_loss, l1_loss, mse_loss, multi_margin_loss,
                               multilabel_margin_loss, nll_loss, smooth_l1_loss)

__all__ = [
    "linear", "relu", "relu_", "leaky_relu", "leaky_relu_", "sigmoid", "tanh", "gelu",
    "softplus", "softmax", "log_softmax", "dropout", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "max_pool2d", "flatten",
    "embedding", "batch_norm", "layer_norm", "one_hot",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "multi_margin_loss",
    "multilabel_margin_loss",
]


# ------------------------------------------------------------------------------ layers


@op(namespace="nn.functional")
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    return engine.flatten(input, start_dim, end_dim)


@op(namespace="nn.functional")
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


@op(namespace="nn.functional")
def one_hot(tensor, num_classes: int = -1):
    """int64 (..., num_classes) with a 1 at each index."""
    a = array_of(tensor)
    xp = namespace_of(a)
    if num_classes < 0:
        num_classes = int(a.max()) + 1 if a.size else 0
    return tensor_from_array((a[..., None] == xp.arange(num_classes)).astype(np.int64))


# -------------------------------------------------------------------------- activations


@op(namespace="nn.functional")
def relu(input, inplace: bool = False):
    return input.relu_() if inplace else engine.relu(input)


@op(namespace="nn.functional")
def relu_(input):
    return input.relu_()


@op(namespace="nn.functional")
def sigmoid(input):
    return engine.sigmoid(input)


@op(namespace="nn.functional")
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


@op(namespace="nn.functional")
def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x where x > 0, else negative_slope * x; inplace=True overwrites x (LeakyReluBackward1)."""
    if inplace:
        _check_inplace(input)
        return _LeakyReluInplace.apply(input, negative_slope)
    return _LeakyRelu.apply(input, negative_slope)


@op(namespace="nn.functional")
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


@op(namespace="nn.functional")
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


@op(namespace="nn.functional")
def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    return _Softplus.apply(input, beta, threshold)


def _warn_implicit_dim(name: str) -> None:
    from engine._warnings import warn      # at the caller's line, past the engine's wrappers
    warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
         "include dim=X as an argument.")


@op(namespace="nn.functional")
def softmax(input, dim: int | None = None, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`."""
    if dim is None:
        _warn_implicit_dim("softmax")
    return engine.softmax(input, dim, dtype=dtype)


@op(namespace="nn.functional")
def log_softmax(input, dim: int | None = None, dtype=None):
    """log(softmax(x)) along `dim`, computed stably."""
    if dim is None:
        _warn_implicit_dim("log_softmax")
    return engine.log_softmax(input, dim, dtype=dtype)
