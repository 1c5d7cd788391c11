"""Gradient clipping in place: `clip_grad_norm_` (returns the total norm) and
`clip_grad_value_`, with torch.nn.utils' formulas."""
from __future__ import annotations

import math

import numpy as np

import engine
from engine.nn._arrays import array_of, grad_array_of, namespace_of, tensor_from_array

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _as_list(parameters) -> list:
    if isinstance(parameters, engine.Tensor):
        return [parameters]
    return list(parameters)


def _norm(a, norm_type: float, xp):
    """The vector norm of array `a` as a 0-d array of a's dtype."""
    if norm_type == math.inf:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if norm_type == -math.inf:
        return xp.abs(a).min() if a.size else xp.asarray(math.inf, a.dtype)
    if norm_type == 2:
        flat = a.reshape(-1)
        return xp.sqrt(xp.dot(flat, flat))
    if norm_type == 0:
        return xp.asarray((a != 0).sum(), a.dtype)
    return (xp.abs(a) ** norm_type).sum() ** (1.0 / norm_type)


def _total_norm_array(arrays, norm_type: float, error_if_nonfinite: bool):
    norm_type = float(norm_type)
    if not arrays:
        return None
    xp = namespace_of(arrays[0])
    norms = xp.stack([_norm(a, norm_type, xp).astype(arrays[0].dtype) for a in arrays])
    total = _norm(norms, norm_type, xp)
    if error_if_nonfinite and not bool(xp.isfinite(total)):     # a host read, as in PyTorch (only when asked)
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return total


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False):
    """The norm of the norms of `tensors` (as if they were one concatenated vector)."""
    arrays = [array_of(t) for t in _as_list(tensors)]
    total = _total_norm_array(arrays, norm_type, error_if_nonfinite)
    return engine.tensor(0.0) if total is None else tensor_from_array(total)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None):
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)) in place, where
    total_norm is the `norm_type` norm of all gradients together; returns total_norm."""
    grads = [g for g in (grad_array_of(p) for p in _as_list(parameters)) if g is not None]
    total = _total_norm_array(grads, norm_type, error_if_nonfinite)
    if total is None:
        return engine.tensor(0.0)
    xp = namespace_of(total)
    # max_norm stays a Python number (a kernel argument): no host->device copy per call
    coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0).astype(total.dtype)
    with np.errstate(invalid="ignore"):         # an infinite norm gives NaNs, as in PyTorch
        for g in grads:
            g *= coef.astype(g.dtype)
    return tensor_from_array(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = grad_array_of(p)
        if g is not None:
            namespace_of(g).clip(g, -clip_value, clip_value, out=g)
