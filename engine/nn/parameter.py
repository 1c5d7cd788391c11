"""`Parameter`: a leaf tensor that a `Module` registers as trainable when assigned to it."""
from __future__ import annotations

import engine
from engine._tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """`Parameter(data, requires_grad=True)`: shares `data`'s array; prints as PyTorch does,
    `Parameter containing:` above the tensor."""

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            data = engine.empty(0)
        elif not isinstance(data, Tensor):
            data = engine.as_tensor(data)
        return Tensor._make_subclass(cls, data.detach(), requires_grad)

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        text = super().__repr__()
        if text.startswith("Parameter containing:"):
            return text
        return "Parameter containing:\n" + text
