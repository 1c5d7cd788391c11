"""`Parameter`: a leaf tensor that a `Module` registers as trainable when assigned to it."""
from __future__ import annotations

import engine
from engine._tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer"]


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


_UNINITIALIZED_MSG = (
    "Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
    "in `load_state_dict` when trying to load an uninitialized parameter into an initialized one. "
    "Call `forward` to initialize the parameters before accessing their attributes.")


class UninitializedParameter(Parameter):
    """A parameter of a lazy module whose shape is not known yet; `materialize(shape)` turns
    it, in place (so optimizers holding it see the real one), into a Parameter."""
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        data = engine.empty(0, device=device, dtype=dtype)
        return Tensor._make_subclass(cls, data, requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    @property
    def shape(self):
        raise RuntimeError(_UNINITIALIZED_MSG)

    def size(self, dim=None):
        raise RuntimeError(_UNINITIALIZED_MSG)

    def materialize(self, shape, device=None, dtype=None) -> None:
        fresh = engine.empty(tuple(shape), device=device or self.device, dtype=dtype or self.dtype)
        self._a = fresh._a
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return "<UninitializedParameter>"


class UninitializedBuffer(Tensor):
    """A buffer of a lazy module whose shape is not known yet (see UninitializedParameter)."""
    __slots__ = ()                  # Tensor's layout, so materialize can make it a Tensor
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        return Tensor._make_subclass(cls, engine.empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass

    shape = UninitializedParameter.shape
    size = UninitializedParameter.size
    materialize = UninitializedParameter.materialize

    def __repr__(self) -> str:
        return "<UninitializedBuffer>"
