"""More of `torch.nn.functional`, composed of engine ops (so every one is differentiable to
any order through the ops it is made of): padding, average and adaptive pooling, 1-D max
pooling, interpolation (nearest, linear, bilinear), group and instance normalization, and scaled dot-product attention.

Pooling and interpolation that mix neighbouring elements are written as windows
(`Tensor.unfold`) or as small weight matrices applied along each spatial dim
(`out = A_h @ x @ A_w.T`), which gives the same values as PyTorch's kernels up to rounding.
"""
from __future__ import annotations

import math

import numpy as np

import engine
from engine._warnings import warn
from engine.nn._losses import legacy_reduction
from engine.nn import functional as F
from engine.autograd import Function
from engine.nn._activation_grads import hardtanh_backward
from engine.nn._arrays import array_of, name_node, namespace_of, tensor_from_array
from engine.nn import _functional_3d as f3
from engine.nn._sizes import _adaptive_matrix, _ntuple, _out_size
from engine.ops._registry import op
from engine.ops.nn import (_NO_SPARSE, _pair, adaptive_max_pool2d, embedding_renorm_, max_unpool2d,
                           unpool_output_size)

__all__ = ["pad", "avg_pool1d",
           "avg_pool2d", "max_pool1d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "interpolate", "upsample", "group_norm", "instance_norm",
           "scaled_dot_product_attention", "cosine_similarity", "pairwise_distance", "normalize",
           "elu", "selu", "silu", "mish", "hardtanh", "relu6", "logsigmoid", "softsign",
           "tanhshrink", "glu", "prelu", "hardswish", "hardsigmoid", "softmin", "threshold", "celu",
           "softshrink", "hardshrink", "dropout1d", "dropout2d", "dropout3d", "kl_div",
           "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
           "multilabel_soft_margin_loss", "bilinear", "rms_norm", "local_response_norm",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "pixel_shuffle", "pixel_unshuffle",
           "unfold", "fold", "channel_shuffle", "upsample_nearest", "upsample_bilinear",
           "embedding_bag", "embedding_renorm_", "gumbel_softmax", "pdist", "alpha_dropout",
           "max_pool1d_with_indices", "max_pool2d_with_indices", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "max_unpool1d", "max_unpool2d",
           "multi_head_attention_forward"]


# -- padding ----------------------------------------------------------------------------------

def _pad_indices(size: int, before: int, after: int, mode: str) -> np.ndarray:
    i = np.arange(-before, size + after)
    if mode == "reflect":
        if before >= size or after >= size:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({before}, {after}) at dimension "
                               f"of input {size}")
        period = 2 * (size - 1)
        i = np.abs(i) % period if period else np.zeros_like(i)
        return np.where(i >= size, period - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    if mode == "circular":
        if before > size or after > size:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        return i % size
    raise NotImplementedError(f"Unrecognised padding mode {mode}")


def pad(input, pad, mode: str = "constant", value=None):
    """Pad the last len(pad) // 2 dims: pad = (left_last, right_last, left_2nd_last, ...).
    constant (with `value`, negative pads crop), reflect, replicate and circular."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           "dimension but got padding length " + str(len(pad)) + " and input of "
                           f"dimension {input.ndim}")
    out = input
    for k in range(len(pad) // 2):
        d = input.ndim - 1 - k
        before, after = int(pad[2 * k]), int(pad[2 * k + 1])
        if before == after == 0:
            continue
        if mode == "constant":
            size = out.shape[d]
            out = out.narrow(d, max(0, -before), size - max(0, -before) - max(0, -after))
            parts = []
            for n in (max(0, before), max(0, after)):
                shape = list(out.shape)
                shape[d] = n
                parts.append(engine.full(shape, 0 if value is None else value, dtype=out.dtype,
                                         device=out.device))
            out = engine.cat([parts[0], out, parts[1]], dim=d)
        else:
            if value is not None and value != 0:
                raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
            idx = engine.from_numpy(_pad_indices(out.shape[d], before, after, mode))
            out = out.index_select(d, idx.to(out.device))
    return out


# -- convolutions: conv1d/2d/3d and conv_transpose1d/2d/3d are ops of engine/ops/nn.py ----------


# -- pooling ----------------------------------------------------------------------------------

def _pool_geometry(size, k, s, p, ceil_mode):
    if p * 2 > k:
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                           f"pad={p}, kernel_size={k} and dilation=1")
    span = size + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):
    """Mean over each window (zero padding counted unless count_include_pad=False)."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None or stride == [] else _pair(stride)
    padding = _pair(padding)
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    if x.ndim != 4:
        raise RuntimeError(f"non-empty 3D or 4D (batch mode) tensor expected for input")
    size = x.shape[2:]
    out_hw = [_pool_geometry(n, k, s, p, ceil_mode) for n, k, s, p in zip(size, kernel, stride, padding)]
    extra = [max(0, (o - 1) * s + k - (n + 2 * p)) for o, s, k, n, p in zip(out_hw, stride, kernel, size, padding)]
    xp = pad(x, (padding[1], padding[1] + extra[1], padding[0], padding[0] + extra[0]))
    sums = xp.unfold(2, kernel[0], stride[0]).unfold(3, kernel[1], stride[1]).sum(dim=(-1, -2))
    if divisor_override:
        divisor = float(divisor_override)
    else:
        counts = []
        for n, k, s, p, o in zip(size, kernel, stride, padding, out_hw):
            start = np.arange(o) * s - p
            lo, hi = (0, n) if not count_include_pad else (-p, n + p)
            counts.append(np.minimum(start + k, hi) - np.maximum(start, lo))
        divisor = engine.from_numpy(np.outer(counts[0], counts[1]).astype(x.dtype.np)).to(x.device)
    out = sums / divisor
    return out.squeeze(0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True):
    k = _ntuple(kernel_size, 1)[0]
    s = k if stride is None or stride == [] else _ntuple(stride, 1)[0]
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _ntuple(padding, 1)[0]), ceil_mode,
                      count_include_pad).squeeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """max_pool2d over (1, kernel_size) windows; with return_indices also the int64 position
    of each maximum along L."""
    k = _ntuple(kernel_size, 1)[0]
    s = k if stride is None or stride == [] else _ntuple(stride, 1)[0]
    out = F.max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _ntuple(padding, 1)[0]),
                       (1, _ntuple(dilation, 1)[0]), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH))."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    oh, ow = _out_size(output_size, input.shape[-2:], 2)
    h, w = input.shape[-2:]
    if (oh, ow) == (1, 1):
        return input.mean(dim=(-2, -1), keepdim=True)
    if h % oh == 0 and w % ow == 0:
        return avg_pool2d(input, (h // oh, w // ow))
    dt = input.dtype.np
    ah = engine.from_numpy(_adaptive_matrix(h, oh, dt)).to(input.device)
    aw = engine.from_numpy(_adaptive_matrix(w, ow, dt).T.copy()).to(input.device)
    return ah @ input @ aw


def adaptive_avg_pool1d(input, output_size):
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _ntuple(output_size, 1)[0])).squeeze(-2)


# -- interpolation ----------------------------------------------------------------------------

def _source_scale(n_in, n_out, scale, align_corners):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) weights of PyTorch's linear interpolation along one dim."""
    opmath = np.float64 if np.dtype(dtype) == np.float64 else np.float32   # PyTorch's opmath_t
    ratio = opmath(_source_scale(n_in, n_out, scale, align_corners))
    dst = np.arange(n_out, dtype=opmath)
    src = ratio * dst if align_corners else np.maximum(ratio * (dst + opmath(0.5)) - opmath(0.5), 0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    l1 = (src - i0).astype(opmath)
    m = np.zeros((n_out, n_in), dtype=np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1 - l1)
    np.add.at(m, (np.arange(n_out), i1), l1)
    return m.astype(dtype)


def _cubic_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) weights of PyTorch's bicubic interpolation (A = -0.75) along one dim: four
    taps around floor(src), clamped to the edges."""
    opmath = np.float64 if np.dtype(dtype) == np.float64 else np.float32
    ratio = opmath(_source_scale(n_in, n_out, scale, align_corners))
    dst = np.arange(n_out, dtype=opmath)
    src = ratio * dst if align_corners else ratio * (dst + opmath(0.5)) - opmath(0.5)   # not clipped
    base = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - base, 0, 1).astype(opmath)
    a, s = opmath(-0.75), 1 - t
    weights = [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
               ((a + 2) * t - (a + 3)) * t * t + 1,
               ((a + 2) * s - (a + 3)) * s * s + 1,
               ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a]
    m = np.zeros((n_out, n_in), dtype=np.float64)
    for k, w in enumerate(weights):
        np.add.at(m, (np.arange(n_out), np.clip(base + k - 1, 0, n_in - 1)), w)
    return m.astype(dtype)


def _nearest_index(n_in, n_out, scale):
    if n_out == n_in:
        return np.arange(n_out)
    if n_out == 2 * n_in:
        return np.arange(n_out) >> 1
    ratio = np.float32(_source_scale(n_in, n_out, scale, False))
    return np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * ratio).astype(np.int64), n_in - 1)


@op(namespace="nn.functional")       # one record when it is one node (trilinear, bicubic)
def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial dims (everything after N, C) by `size` or `scale_factor`, with
    mode 'nearest', 'linear' (3-D input), 'bilinear' or 'bicubic' (4-D input), 'trilinear' (5-D
    input) or 'area'."""
    dims = input.ndim - 2
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    needs = {"linear": 1, "bilinear": 2, "trilinear": 3}
    if mode in needs and dims != needs[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{needs[mode] + 2}D input")
    if mode == "bicubic" and dims != 2:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: nearest | linear | bilinear | bicubic "
                                  f"| trilinear | lanczos | area | nearest-exact (got {mode})")
    if mode not in ("nearest", "linear", "bilinear", "trilinear", "bicubic", "area"):
        raise NotImplementedError(f"engine interpolate does not support mode '{mode}'")
    spatial = input.shape[2:]
    if size is not None:
        out = _ntuple(size, dims) if not isinstance(size, (list, tuple)) or len(size) != 1 \
            else (int(size[0]),) * dims
        scales = (None,) * dims
    else:
        factors = scale_factor if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * dims
        out = tuple(int(math.floor(n * float(f))) for n, f in zip(spatial, factors))
        scales = (None,) * dims if recompute_scale_factor else tuple(float(f) for f in factors)
    if mode == "area" and dims == 3:
        return f3.adaptive_avg_pool3d(input, out)
    if mode == "area":
        x = input if dims == 2 else input.unsqueeze(-2)
        res = adaptive_avg_pool2d(x, out if dims == 2 else (1, out[0]))
        return res if dims == 2 else res.squeeze(-2)
    if mode != "nearest":                # one node, as PyTorch's (engine/nn/_functional_3d.py)
        weights = _cubic_matrix if mode == "bicubic" else _linear_matrix
        mats = [weights(spatial[k], out[k], scales[k], bool(align_corners), np.float64 if
                        input.dtype == engine.float64 else np.float32) for k in range(dims)]
        op = {"linear": f3._UpsampleLinear1d, "bilinear": f3._UpsampleBilinear2d,
              "trilinear": f3._UpsampleTrilinear3d, "bicubic": f3._UpsampleBicubic2d}[mode]
        return f3.resample(op, input, mats)
    x = input
    for k in range(dims):
        d = 2 + k
        idx = engine.from_numpy(_nearest_index(spatial[k], out[k], scales[k])).to(x.device)
        x = x.index_select(d, idx)
    return x


def upsample(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


# -- normalization ----------------------------------------------------------------------------

def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Normalize each group of num_groups channels (with all their spatial positions) by its own
    mean and variance, then scale and shift per channel."""
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    out = F.layer_norm(grouped, (grouped.shape[-1],), None, None, eps).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Normalize each (sample, channel) plane by its own statistics: batch_norm over input
    reshaped to (1, N*C, ...), as PyTorch computes it; running stats are averaged over N."""
    n, c = input.shape[0], input.shape[1]
    folded = input.reshape((1, n * c) + tuple(input.shape[2:]))
    rm = None if running_mean is None else running_mean.repeat(n)
    rv = None if running_var is None else running_var.repeat(n)
    out = F.batch_norm(folded, rm, rv, None, None, use_input_stats, momentum, eps)
    if running_mean is not None and use_input_stats:
        with engine.no_grad():
            running_mean.copy_(rm.reshape(n, c).mean(0))
            running_var.copy_(rv.reshape(n, c).mean(0))
    out = out.reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# -- attention and small activations ----------------------------------------------------------

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False):
    """softmax(q @ k.T * scale + mask) @ v; a boolean mask marks the positions to keep."""
    L, S = query.shape[-2], key.shape[-2]
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        keep = engine.ones(L, S, dtype=engine.bool, device=query.device).tril()
        scores = scores.masked_fill(keep.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == engine.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = engine.softmax(scores, dim=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ value


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8):
    n1 = (x1 * x1).sum(dim).sqrt().clamp_min(eps)
    n2 = (x2 * x2).sum(dim).sqrt().clamp_min(eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
    return engine.norm(x1 - x2 + eps, p=p, dim=-1, keepdim=keepdim)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None):
    return input / engine.norm(input, p=p, dim=dim, keepdim=True).clamp_min(eps).expand_as(input)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    return engine.where(input > 0, input, alpha * (engine.exp(input.clamp_max(0)) - 1))


def selu(input, inplace: bool = False):
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return scale * elu(input, alpha)


def silu(input, inplace: bool = False):
    return input * engine.sigmoid(input)


def mish(input, inplace: bool = False):
    return input * engine.tanh(F.softplus(input))


class _Hardtanh(Function):
    """clamp(x, min_val, max_val) whose gradient is hardtanh_backward (0 at the bounds too)."""

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        a = array_of(x)
        return tensor_from_array(namespace_of(a).clip(a, min_val, max_val))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return hardtanh_backward(grad, x, *ctx.bounds), None, None


name_node(_Hardtanh, "HardtanhBackward0", "self: grad where min_val < self < max_val, else 0")


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _Hardtanh.apply(input, min_val, max_val)


def relu6(input, inplace: bool = False):
    return hardtanh(input, 0.0, 6.0)


def logsigmoid(input):
    return -F.softplus(-input)


def softsign(input):
    return input / (1 + input.abs())


def tanhshrink(input):
    return input - engine.tanh(input)


def glu(input, dim: int = -1):
    a, b = input.chunk(2, dim)
    return a * engine.sigmoid(b)


# -- more activations -------------------------------------------------------------------------

def prelu(input, weight):
    """x where x > 0, else weight * x (one weight, or one per channel of dim 1)."""
    if weight.numel() != 1:
        weight = weight.reshape((1, -1) + (1,) * max(0, input.ndim - 2))
    return engine.where(input > 0, input, weight * input)


def hardswish(input, inplace: bool = False):
    return input * (input + 3).clamp(0, 6) / 6


def hardsigmoid(input, inplace: bool = False):
    return (input + 3).clamp(0, 6) / 6


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    return F.softmax(-input, dim=dim, dtype=dtype)


def threshold(input, threshold: float, value: float, inplace: bool = False):
    return engine.where(input > threshold, input, engine.full_like(input, value))


def celu(input, alpha: float = 1.0, inplace: bool = False):
    return engine.where(input > 0, input, alpha * (engine.exp(input.clamp_max(0) / alpha) - 1))


def softshrink(input, lambd: float = 0.5):
    zero = engine.zeros_like(input)
    return engine.where(input > lambd, input - lambd, engine.where(input < -lambd, input + lambd, zero))


def hardshrink(input, lambd: float = 0.5):
    return engine.where(input.abs() > lambd, input, engine.zeros_like(input))


# -- channel dropout --------------------------------------------------------------------------

def _feature_dropout(x, p, training):
    """PyTorch's feature_dropout: one Bernoulli(1 - p) draw per (dim 0, dim 1) pair, shared by
    the rest of the dims, scaled by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    with engine.no_grad():
        shape = tuple(x.shape[:2]) + (1,) * (x.ndim - 2)
        mask = engine.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1 - p).div_(1 - p)
    return x * mask


def _channel_note(n):
    return (f"Note that dropout{n}d exists to provide channel-wise dropout on inputs with {n} "
            f"spatial dimension{'s' if n > 1 else ''}, a channel dimension, and an optional batch "
            f"dimension (i.e. {n + 1}D or {n + 2}D inputs).")


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. "
                           + _channel_note(1))
    if input.ndim == 2:
        return _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout(input, p, training)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
             "will result in an error in a future release. To retain the behavior and silence "
             "this warning, please use dropout instead. " + _channel_note(2))
    if input.ndim == 3:
        warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
             "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is the "
             "channel dim. This behavior will change in a future release to interpret the input as "
             "one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
             "dropout behavior, please switch to using dropout1d instead.")
    return _feature_dropout(input, p, training)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (4, 5):
        warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and "
             "will result in an error in a future release. To retain the behavior and silence "
             "this warning, please use dropout instead. " + _channel_note(3))
    if input.ndim != 5:
        return _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    return _feature_dropout(input, p, training)


# -- more losses ------------------------------------------------------------------------------

def _reduce(loss, reduction: str):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False):
    """KL(target || exp(input)) pointwise: target * (log target - input) (0 where target is 0)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.")
    if log_target:
        loss = engine.exp(target) * (target - input)
    else:
        loss = engine.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    zero = engine.zeros_like(input)
    loss = (engine.where(target != 1, (margin - input).clamp_min(0), zero)
            + engine.where(target != -1, input, zero))
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _reduce(F.softplus(-target * input), reduction)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    eps = 1e-12
    dim = input1.ndim - 1
    prod = (input1 * input2).sum(dim)
    mag = ((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)
    cos = prod / mag.sqrt()
    zero = engine.zeros_like(cos)
    loss = (engine.where(target == 1, 1 - cos, zero)
            + engine.where(target == -1, (cos - margin).clamp_min(0), zero))
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = engine.minimum(d_an, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_ap - d_an).clamp_min(0), reduction)


def poisson_nll_loss(input, target, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = engine.exp(input) - target * input
    else:
        loss = input - target * engine.log(input + eps)
    if full:
        stirling = target * engine.log(target) - target + 0.5 * engine.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean"):
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):            # one variance per sample
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if (var < 0).any():
        raise ValueError("var has negative entry/entries")
    var = var.clone()
    with engine.no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (engine.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction: str = "mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


# -- layers -----------------------------------------------------------------------------------

def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = input1 @ weight[o] @ input2 (+ bias[o])."""
    out = engine.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def rms_norm(input, normalized_shape, weight=None, eps=None):
    dims = tuple(range(-len(tuple(normalized_shape)), 0)) if not isinstance(normalized_shape, int) \
        else (-1,)
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    out = input * ((input * input).mean(dim=dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    n, c = input.shape[0], input.shape[1]
    sq = (input * input).reshape(n, c, -1)
    sq = pad(sq.transpose(1, 2), (size // 2, (size - 1) // 2))            # (N, M, C + size - 1)
    div = sq.unfold(2, size, 1).mean(-1).transpose(1, 2).reshape(input.shape)
    return input / (div * alpha + k) ** beta


def adaptive_max_pool1d(input, output_size, return_indices: bool = False):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d() argument 'input' (position 1) must be a 2D "
                           f"or 3D tensor, but got {list(input.shape)}")
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, _ntuple(output_size, 1)[0]), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def pixel_shuffle(input, upscale_factor: int):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = upscale_factor
    *batch, c, h, w = input.shape
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    k = len(batch)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor: int):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = downscale_factor
    *batch, c, h, w = input.shape
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    k = len(batch)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input, groups: int):
    n, c = input.shape[0], input.shape[1]
    rest = tuple(input.shape[2:])
    return input.reshape((n, groups, c // groups) + rest).transpose(1, 2).reshape(input.shape)


def _patch_geometry(size, kernel, dilation, padding, stride):
    return [(n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)]


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L), a column per sliding block."""
    k, d, p, s = _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c = x.shape[:2]
    x = pad(x, (p[1], p[1], p[0], p[0]))
    spans = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    x = x.unfold(2, spans[0], s[0]).unfold(3, spans[1], s[1])          # N C OH OW span_h span_w
    x = x[..., ::d[0], ::d[1]]                                          # N C OH OW kh kw
    oh, ow = x.shape[2], x.shape[3]
    out = x.permute(0, 1, 4, 5, 2, 3).reshape(n, c * k[0] * k[1], oh * ow)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C*kh*kw, L) -> (N, C, H, W), overlapping values added up."""
    size, k, d, p, s = _pair(output_size), _pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride)
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    n = x.shape[0]
    c = x.shape[1] // (k[0] * k[1])
    oh, ow = _patch_geometry(size, k, d, p, s)
    if oh * ow != x.shape[2]:
        raise RuntimeError(f"Given output_size={tuple(size)}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to match "
                           f"the calculated number of sliding blocks {oh} * {ow} = {oh * ow}, but "
                           f"got input.size(2)={x.shape[2]}.")
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    i = (np.arange(k[0]) * d[0])[:, None, None, None] + (np.arange(oh) * s[0])[None, None, :, None]
    j = (np.arange(k[1]) * d[1])[None, :, None, None] + (np.arange(ow) * s[1])[None, None, None, :]
    flat = engine.from_numpy((i * wp + j).reshape(-1).astype(np.int64)).to(x.device)
    out = engine.zeros(n, c, hp * wp, dtype=x.dtype, device=x.device)
    out = out.index_add(2, flat, x.reshape(n, c, -1))
    out = out.reshape(n, c, hp, wp)[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out.squeeze(0) if unbatched else out


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- embeddings -------------------------------------------------------------------------------

def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx=None):
    """Sum, mean or max of the embeddings in each bag: rows of a 2-D input, or the pieces of a
    1-D input that `offsets` starts."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max")
    if sparse:
        raise NotImplementedError(_NO_SPARSE.format("embedding_bag"))
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a "
                             "mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets)}")
        bags, length = input.shape
        starts = list(range(0, bags * length, length))
        flat = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        starts = [int(o) for o in offsets.tolist()]
        if include_last_offset:
            starts = starts[:-1]
        flat = input
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    n, bags = flat.shape[0], len(starts)
    ends = starts[1:] + [n if not include_last_offset or input.ndim == 2 else int(offsets[-1])]
    ids = flat.tolist()
    bag_of = np.zeros(n, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    for b, (s, e) in enumerate(zip(starts, ends)):
        bag_of[s:e] = b
    if padding_idx is not None:
        keep = np.array([i != padding_idx for i in ids], dtype=bool)
    rows = F.embedding(flat, weight, scale_grad_by_freq=scale_grad_by_freq)   # counts over the whole input
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(1)
    dim = weight.shape[1]
    if mode == "max":
        parts = []
        for s, e in zip(starts, ends):
            members = [i for i in range(s, e) if keep[i]]
            parts.append(rows[members].amax(0) if members
                         else engine.zeros(dim, dtype=weight.dtype, device=weight.device))
        return engine.stack(parts, 0) if parts else engine.zeros(0, dim, dtype=weight.dtype)
    index = engine.from_numpy(bag_of[keep]).to(weight.device)
    kept = rows[engine.from_numpy(np.nonzero(keep)[0]).to(weight.device)] if not keep.all() else rows
    out = engine.zeros(bags, dim, dtype=weight.dtype, device=weight.device).index_add(0, index, kept)
    if mode == "mean":
        counts = np.bincount(bag_of[keep], minlength=bags).astype(weight.dtype.np)
        out = out / engine.from_numpy(np.maximum(counts, 1)).to(weight.device).unsqueeze(1)
    return out


def gumbel_softmax(logits, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1):
    """softmax((logits + Gumbel noise) / tau); hard=True returns one-hot samples whose gradient
    is the soft one (straight-through), drawing the noise as PyTorch does."""
    with engine.no_grad():
        gumbels = -engine.empty_like(logits).exponential_().log()
    y_soft = engine.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = engine.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# -- max pooling with indices, unpooling (1-D and 2-D) -------------------------------------------

def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    return F.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices: bool = False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices: bool = False):
    return adaptive_max_pool2d(input, output_size, True)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: max_unpool2d on (L, 1) planes, as PyTorch computes it."""
    kernel = _ntuple(kernel_size, 1)
    stride = kernel if stride is None else _ntuple(stride, 1)
    size = unpool_output_size(input, kernel, stride, _ntuple(padding, 1), output_size)
    return max_unpool2d(input.unsqueeze(-1), indices.unsqueeze(-1), (kernel[0], 1),
                        (stride[0], 1), (_ntuple(padding, 1)[0], 0), [size[0], 1]).squeeze(-1)


# -- multi-head attention ------------------------------------------------------------------------

def _canonical_mask(mask, mask_name: str, other_type, other_name: str, target_type,
                    check_other: bool = True):
    """A float mask to add to attention scores (a boolean True becomes -inf), refusing other
    dtypes and warning when the two masks' dtypes differ, as PyTorch does."""
    if mask is None:
        return None
    if mask.dtype != engine.bool and not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type "
             "for both instead.")
    if mask.is_floating_point():
        return mask
    return engine.zeros_like(mask, dtype=target_type).masked_fill_(mask, float("-inf"))


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """Whether the inputs are batched (3-D query) or not (2-D), with PyTorch's shape errors."""
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D but "
                                 f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or "
                                 f"2-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or "
                                 f"3-D but found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but "
                                 f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` "
                                 f"or 1-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, "
                                     f"2-D or 3-D but found {attn_mask.ndim}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                     f"{attn_mask.shape}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")


def _in_projection_packed(q, k, v, w, b=None):
    """q, k, v through the packed (3E, E) projection: one linear for self-attention, two when
    key is value, three otherwise (PyTorch's split, so the recorded graph is its graph)."""
    e = q.shape[-1]
    if k is v:
        if q is k:
            proj = F.linear(q, w, b).unflatten(-1, (3, e)).unsqueeze(0).transpose(0, -2).squeeze(-2)
            proj = proj.contiguous()
            return proj[0], proj[1], proj[2]
        w_q, w_kv = w.split([e, e * 2])
        b_q, b_kv = (None, None) if b is None else b.split([e, e * 2])
        kv = F.linear(k, w_kv, b_kv).unflatten(-1, (2, e)).unsqueeze(0).transpose(0, -2).squeeze(-2)
        kv = kv.contiguous()
        return F.linear(q, w_q, b_q), kv[0], kv[1]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight, out_proj_bias,
                                 training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True,
                                 is_causal: bool = False):
    """nn.MultiheadAttention's computation on (L, N, E) query and (S, N, E) key/value (or
    unbatched (L, E), (S, E)): project, append bias_k/bias_v and a zero key/value when asked,
    merge key_padding_mask into attn_mask (boolean True = not attended), softmax(q k^T / sqrt(d)
    + mask) v per head, project out. Returns (output, weights averaged over heads or per head,
    or None without need_weights), step for step as PyTorch's."""
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       None if attn_mask is None else attn_mask.dtype, "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to create "
                           "this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None                    # scaled_dot_product_attention builds the causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got "
                             f"{embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = (F.linear(query, q_proj_weight, b_q), F.linear(key, k_proj_weight, b_k),
                   F.linear(value, v_proj_weight, b_v))
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, key.shape[0]):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, key.shape[0])}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, key.shape[0]):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, key.shape[0])}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = engine.cat([k, bias_k.repeat(1, bsz, 1)])
        v = engine.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None
                             else "bias_v is set but bias_k is None")
    q = q.view(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, "static_k", bsz * num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz * num_heads, head_dim)
    if add_zero_attn:
        zeros = (bsz * num_heads, 1, head_dim)
        k = engine.cat([k, engine.zeros(zeros, dtype=k.dtype, device=k.device)], dim=1)
        v = engine.cat([v, engine.zeros(zeros, dtype=v.dtype, device=v.device)], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        key_padding_mask = key_padding_mask.view(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0
    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(q.shape[-1]))
        if attn_mask is not None:
            weights = engine.baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
        else:
            weights = engine.bmm(q_scaled, k.transpose(-2, -1))
        weights = F.softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, p=dropout_p)
        out = engine.bmm(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias)
        out = out.view(tgt_len, bsz, out.shape[1])
        weights = weights.view(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.view(bsz, num_heads, -1, src_len)
    q = q.view(bsz, num_heads, tgt_len, head_dim)
    k = k.view(bsz, num_heads, src_len, head_dim)
    v = v.view(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias)
    out = out.view(tgt_len, bsz, out.shape[1])
    return (out if is_batched else out.squeeze(1)), None


def _heads(t, static, name: str, batch_heads: int, head_dim: int):
    """(S, N, E) keys or values as (N * heads, S, head_dim), or the given static ones."""
    if static is None:
        return t.view(t.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.shape[0] != batch_heads:
        raise AssertionError(f"expecting {name}.size(0) of {batch_heads}, but got {static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static


def pdist(input, p: float = 2.0):
    """The p-norm distances between the rows of an (N, M) input, for each pair i < j in row
    order (the upper triangle of cdist, flattened)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    i, j = engine.triu_indices(input.shape[0], input.shape[0], 1, device=input.device)
    return engine.linalg.vector_norm(input[i] - input[j], ord=p, dim=1)


_SELU_ALPHA = 1.7580993408473766        # selu's scale * alpha: the value a dropped unit takes


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False):
    """Dropout for SELU networks: dropped units take SELU's negative saturation and the result is
    scaled and shifted to keep zero mean and unit variance (PyTorch's formula and draws)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input.mul_(0) if inplace else input * 0
    a = 1.0 / math.sqrt((_SELU_ALPHA ** 2 * p + 1) * (1 - p))
    keep = engine.empty_like(input).bernoulli_(1 - p)
    shift = (keep - 1) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p
    noise = keep * a
    return input.mul_(noise).add_(shift) if inplace else input * noise + shift
