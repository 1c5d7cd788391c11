"""The losses of engine.nn.functional, each recording the node PyTorch records (under its
name) with PyTorch's backward formula: regression losses of input - target, binary and
multi-class cross-entropies, negative log-likelihood."""
from __future__ import annotations

import warnings

import numpy as np

import engine
from engine._warnings import warn
from engine.autograd import Function
from engine.ops._registry import op
from engine.nn._arrays import (Node, array_of, name_node, namespace_of, record,
                               tensor_from_array)

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "multi_margin_loss",
           "multilabel_margin_loss"]

REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """The reduction the deprecated `size_average`/`reduce` arguments stand for (PyTorch's
    _Reduction.legacy_get_string, with its warning); `reduction` when neither is given."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else "sum" if reduce else "none"
    warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.")
    return ret


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


def _softplus(z):
    """log(1 + exp(z)) with engine ops, without overflow."""
    return engine.relu(z) + engine.log1p(engine.exp(-z.abs()))


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
    name_node(DifferenceLoss, node_name, formula)
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
    _check_reduction(reduction)
    _warn_if_broadcasting(input, target)
    return loss.apply(input, target, reduction, param)


@op(namespace="nn.functional")
def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean (or sum) of the squared differences."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    return _difference_loss_call(_MseLoss, input, target, reduction)


@op(namespace="nn.functional")
def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean"):
    """Mean (or sum) of the absolute differences (composed of sub, abs and the reduction, as
    PyTorch's graph shows it)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _warn_if_broadcasting(input, target)
    return _reduce((input - target).abs(), reduction)


@op(namespace="nn.functional")
def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta)."""
    return _difference_loss_call(_HuberLoss, input, target, reduction, delta)


@op(namespace="nn.functional")
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (L1 when beta is 0)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    return _difference_loss_call(_SmoothL1Loss, input, target, reduction, beta)


class _BinaryCrossEntropy(Function):
    """-w (t log p + (1 - t) log(1 - p)), each log clamped at -100, reduced inside the node;
    the backward is PyTorch's: (p - t) / max(p (1 - p), 1e-12), so a saturated p = 0 or 1
    still gets a (large) gradient."""

    @staticmethod
    def forward(ctx, p, t, w, reduction):
        pa, ta = array_of(p), array_of(t)
        xp = namespace_of(pa)
        with np.errstate(divide="ignore", invalid="ignore"):    # cuda: p outside [0, 1] gives NaN
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


name_node(_BinaryCrossEntropy, "BinaryCrossEntropyBackward0",
           "self: grad * (self - target) / max(self * (1 - self), 1e-12), target: grad * "
           "(log(1 - self) - log(self))")


@op(namespace="nn.functional")
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean"):
    """-(t log p + (1-t) log(1-p)) with each log clamped at -100, as PyTorch does."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_shape(input, target, "binary_cross_entropy")
    _check_reduction(reduction)
    a = array_of(input)
    # the range check reads min and max back to the host: on the CPU only. On cuda PyTorch checks
    # with a device-side assert (no host read); here an input outside [0, 1] gives a NaN loss
    # (log of a negative number), with no host read either
    if type(a) is np.ndarray and a.size and (float(a.min()) < 0.0 or float(a.max()) > 1.0):
        raise RuntimeError("all elements of input should be between 0 and 1")
    return _BinaryCrossEntropy.apply(input, target, weight, reduction)


class _BCEWithLogits(Function):
    """w ((1 - t) x + (1 + (p - 1) t) softplus(-x)), computed stably and reduced inside the
    one node PyTorch records; w is weight, p is pos_weight (both broadcast, both optional).
    The backward is PyTorch's for x and t; weight and pos_weight get their gradients too
    (PyTorch refuses to differentiate them)."""

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight, reduction):
        a, ta = array_of(x), array_of(t)
        xp = namespace_of(a)
        softplus_neg = xp.logaddexp(0, -a)
        if pos_weight is None:
            loss = (1 - ta) * a + softplus_neg
        else:
            loss = (1 - ta) * a + (1 + (array_of(pos_weight) - 1) * ta) * softplus_neg
        if weight is not None:
            loss = loss * array_of(weight)
        if reduction != "none":
            loss = loss.sum() if reduction == "sum" else loss.mean()
        ctx.save_for_backward(x, t, weight, pos_weight)
        ctx.reduction = reduction
        return tensor_from_array(xp.asarray(loss, dtype=a.dtype))

    @staticmethod
    def backward(ctx, grad):
        x, t, weight, pos_weight = ctx.saved_tensors
        needs_x, needs_t, needs_w, needs_p = ctx.needs_input_grad[:4]
        scale = grad / x.numel() if ctx.reduction == "mean" else grad
        weighted = scale if weight is None else scale * weight
        gx = gt = gw = gp = None
        if needs_x:
            s = engine.sigmoid(x)
            gx = weighted * (s - t) if pos_weight is None \
                else weighted * (s * (pos_weight * t + 1 - t) - pos_weight * t)
        if needs_t:                     # d/dt = -x + (p - 1) softplus(-x)
            gt = weighted * -x if pos_weight is None \
                else weighted * ((pos_weight - 1) * _softplus(-x) - x)
        if needs_w:                     # the unweighted loss
            log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
            gw = scale * ((1 - t) * x + log_weight * _softplus(-x))
        if needs_p:                     # d/dp = t softplus(-x)
            gp = weighted * t * _softplus(-x)
        return gx, gt, gw, gp, None


name_node(_BCEWithLogits, "BinaryCrossEntropyWithLogitsBackward0",
           "self: grad * w * ((p t + 1 - t) sigmoid(self) - p t), target: grad * w * "
           "((p - 1) softplus(-self) - self)")


@op(namespace="nn.functional")
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None):
    """binary_cross_entropy(sigmoid(input), target), without overflow for large logits."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    _check_reduction(reduction)
    return _BCEWithLogits.apply(input, target, weight, pos_weight, reduction)


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
    out_of_range = None
    if xp is np:        # the CPU checks the targets at once (one read of their minimum), as PyTorch's CPU kernel
        try:
            if t.size and int(safe_t.min()) < 0:
                raise IndexError
            picked = lp[rows, safe_t]
        except IndexError:
            bad = [int(v) for v in safe_t.tolist() if not 0 <= v < c][0]
            raise IndexError(f"Target {bad} is out of bounds for {c} classes") from None
    else:               # cuda: no host read. PyTorch checks with a device-side assert; here a target
        # outside [0, C) (other than ignore_index) makes its loss and gradient NaN (CuPy would wrap it)
        out_of_range = (safe_t < 0) | (safe_t >= c)
        safe_t = xp.where(out_of_range, 0, safe_t)
        picked = xp.where(out_of_range, xp.nan, lp[rows, safe_t])
    w = valid.astype(lp.dtype) if weight is None else array_of(weight)[safe_t] * valid
    coeff = -w if out_of_range is None else xp.where(out_of_range, xp.nan, -w)
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
    return (input.movedim(1, -1).reshape(-1, input.shape[1]), target.reshape(-1),
            (input.shape[0],) + spatial)


@op(namespace="nn.functional")
def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean"):
    """Negative log-likelihood of class indices `target` under log-probabilities `input`."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
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


@op(namespace="nn.functional")
def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0):
    """log_softmax over dim 1 then the negative log-likelihood; `target` holds class indices
    (integer, shape without C) or class probabilities (float, same shape as input)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
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
        _check_reduction(reduction)
        if reduction == "none":
            return -picked.sum(class_dim)
        total = -picked.sum()                      # PyTorch's order: sum, negate, divide
        return total if reduction == "sum" else total / (input.numel() // n_classes)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
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
        # the denominator stays a 0-dim array on the tensors' device (no host read)
        denom = v.sum() if weight is None else (array_of(weight)[namespace_of(t).where(v, t, 0)] * v).sum()
        smooth = smooth.sum() / tensor_from_array(denom.astype(array_of(smooth).dtype))
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def _margin_rows(input, target, name):
    if input.ndim not in (1, 2) or input.numel() == 0 and input.ndim != 2:
        raise RuntimeError(f"{name}: Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    return (input.unsqueeze(0), target.reshape(1, -1)) if input.ndim == 1 else (input, target)


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,
                      size_average=None, reduce=None, reduction: str = "mean"):
    """Multi-class hinge loss: per sample, sum over classes j != y of
    weight[y] * max(0, margin - x[y] + x[j])**p, divided by the number of classes."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x, y = _margin_rows(input, target, "multi_margin_loss")
    y = y.reshape(-1)
    correct = x.gather(1, y.unsqueeze(1))
    terms = (margin - correct + x).clamp_min(0)
    terms = terms if p == 1 else terms * terms
    if weight is not None:
        terms = terms * weight[y].unsqueeze(1)
    others = engine.ones_like(x).scatter(1, y.unsqueeze(1), 0.0)      # j != y
    loss = (terms * others).sum(1) / x.shape[1]
    if input.ndim == 1 and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None,
                           reduction: str = "mean"):
    """Multi-label hinge loss: `target` holds each sample's class indices, ended by the first -1;
    per sample, sum over its classes j and the other classes k of max(0, 1 - (x[j] - x[k])),
    divided by the number of classes."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, y = _margin_rows(input, target, "multilabel_margin_loss")
    ya = array_of(y)
    xp = namespace_of(ya)
    ended = xp.cumsum(ya < 0, axis=1) > 0                      # at or after the first -1
    valid = ~ended
    cols = xp.arange(x.shape[1])
    # is_target[i, k]: class k is one of sample i's targets
    is_target = ((ya[:, :, None] == cols[None, None, :]) & valid[:, :, None]).any(1)
    picked = engine.tensor(xp.where(valid, ya, 0), device=input.device)
    x_target = x.gather(1, picked)                              # (N, T)
    hinge = (1 - (x_target.unsqueeze(2) - x.unsqueeze(1))).clamp_min(0)   # (N, T, C)
    mask = valid[:, :, None] & ~is_target[:, None, :]
    mask = engine.tensor(mask, device=input.device).to(x.dtype)
    loss = (hinge * mask).sum((1, 2)) / x.shape[1]
    if input.ndim == 1 and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)
