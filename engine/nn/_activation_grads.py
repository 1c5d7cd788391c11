"""The gradients of relu, leaky_relu and hardtanh as differentiable ops, as PyTorch has them
(threshold_backward, leaky_relu_backward, hardtanh_backward).

Each keeps the input (or result) that decides which elements pass as an input of its node, so
with create_graph=True the first gradient is linked to the graph: it requires grad, and a
second derivative through it is zeros (PyTorch's ThresholdBackwardBackward0,
LeakyReluBackwardBackward0, HardtanhBackwardBackward0) instead of missing.
"""
from __future__ import annotations

import numpy as np

import engine
from engine.autograd import Function
from engine.nn._arrays import array_of, name_node, namespace_of, tensor_from_array

__all__ = ["threshold_backward", "leaky_relu_backward", "hardtanh_backward"]

_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}      # an unsigned integer of each float's size


def _masked(grad, mask, scale_elsewhere=None):
    g = array_of(grad)
    if scale_elsewhere is None and type(g) is np.ndarray and g.dtype.kind == "f" and g.itemsize in _BITS:
        # g where mask else +0.0, as the bit patterns times the mask: exactly np.where's result
        # (NaN and -0.0 pass where the mask is set, +0.0 elsewhere) at a sixth of its time
        # (benchmark bench_training.py: the MLP's relu gradient, 128x256 float32)
        bits = _BITS[g.itemsize]
        return tensor_from_array((g.view(bits) * mask).view(g.dtype))
    xp = namespace_of(g)
    other = g * scale_elsewhere if scale_elsewhere is not None else xp.zeros_like(g)
    return tensor_from_array(xp.where(mask, g, other).astype(g.dtype, copy=False))


class _ThresholdBackward(Function):
    @staticmethod
    def forward(ctx, grad, source, threshold):
        ctx.save_for_backward(source)
        ctx.threshold = threshold
        return _masked(grad, ~(array_of(source) <= threshold))     # NaN passes, as in PyTorch

    @staticmethod
    def backward(ctx, gg):
        source, = ctx.saved_tensors
        return threshold_backward(gg, source, ctx.threshold), engine.zeros_like(source), None


class _LeakyReluBackward(Function):
    @staticmethod
    def forward(ctx, grad, source, slope):
        ctx.save_for_backward(source)
        ctx.slope = slope
        return _masked(grad, array_of(source) > 0, slope)

    @staticmethod
    def backward(ctx, gg):
        source, = ctx.saved_tensors
        return leaky_relu_backward(gg, source, ctx.slope), engine.zeros_like(source), None


class _HardtanhBackward(Function):
    @staticmethod
    def forward(ctx, grad, source, min_val, max_val):
        ctx.save_for_backward(source)
        ctx.bounds = (min_val, max_val)
        s = array_of(source)
        return _masked(grad, ~((s <= min_val) | (s >= max_val)))   # NaN passes, as in PyTorch

    @staticmethod
    def backward(ctx, gg):
        source, = ctx.saved_tensors
        return hardtanh_backward(gg, source, *ctx.bounds), engine.zeros_like(source), None, None


name_node(_ThresholdBackward, "ThresholdBackwardBackward0",
          "grad_output: threshold_backward(grad, self, threshold), self: zeros_like(grad)")
name_node(_LeakyReluBackward, "LeakyReluBackwardBackward0",
          "grad_output: leaky_relu_backward(grad, self, negative_slope), self: zeros_like(grad)")
name_node(_HardtanhBackward, "HardtanhBackwardBackward0",
          "grad_output: hardtanh_backward(grad, self, min_val, max_val), self: zeros_like(grad)")


def threshold_backward(grad, source, threshold: float = 0.0):
    """0 where source <= threshold, else grad (relu's gradient given its result; a NaN source
    passes the gradient, as PyTorch's threshold_backward)."""
    return _ThresholdBackward.apply(grad, source, threshold)


def leaky_relu_backward(grad, source, negative_slope: float):
    """grad where source > 0, else grad * negative_slope."""
    return _LeakyReluBackward.apply(grad, source, negative_slope)


def hardtanh_backward(grad, source, min_val: float, max_val: float):
    """0 where source <= min_val or source >= max_val, else grad (NaN passes, as in PyTorch)."""
    return _HardtanhBackward.apply(grad, source, min_val, max_val)
