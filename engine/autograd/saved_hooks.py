"""Hooks on the tensors autograd saves for backward: `saved_tensors_hooks(pack, unpack)`,
`save_on_cpu`, `disable_saved_tensors_hooks` (exported from `engine.autograd.graph` as in
PyTorch).

While a `saved_tensors_hooks` block is active, every tensor an op (or a custom Function's
`save_for_backward`) saves is replaced by `pack_hook(tensor)`; the node keeps that object and
the tensor's version counter, and each access during backward (or through
`grad_fn._saved_<name>`) returns `unpack_hook(packed)` after the usual in-place check. The
innermost block wins. The save points call `pack_saved`; the node's `saved` property calls
`_Packed.unpack`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_stack: list = []            # (pack_hook, unpack_hook), innermost last
_disabled: list = []         # error messages of active disable_saved_tensors_hooks blocks


class saved_tensors_hooks:
    """`with saved_tensors_hooks(pack_hook, unpack_hook):` pack every tensor saved for backward
    inside the block; unpack it when backward (or a `_saved_` attribute) reads it."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        if _disabled:
            raise RuntimeError(_disabled[-1])
        _stack.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        _stack.pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Keep saved tensors on the CPU and move each back to its device when backward needs it
    (trades device memory for copies). pin_memory is accepted; memory here is not pinned."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        def pack(tensor):
            return tensor.device, tensor.cpu()

        def unpack(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """Inside the block, entering saved_tensors_hooks raises RuntimeError(error_message)."""

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __enter__(self):
        _disabled.append(self.error_message)
        return self

    def __exit__(self, *exc):
        _disabled.pop()
        return False


class _Packed:
    """A saved tensor as pack_hook returned it, with what the in-place check and an output's
    grad_fn link need."""
    __slots__ = ("packed", "unpack_hook", "ver", "nr", "is_output", "shape_like", "source")
    _ver = (-1,)      # never a saved version: fast paths that read _saved directly fall back to
                      # Node.saved, which unpacks

    def __init__(self, tensor, is_output: bool):
        pack_hook, self.unpack_hook = _stack[-1]
        self.ver, self.nr, self.is_output = tensor._ver, tensor._nr, is_output
        self.source = None if is_output else tensor._node      # for the in-place error message
        # an array of the tensor's shape and dtype that holds one element (for the message)
        self.shape_like = np.lib.stride_tricks.as_strided(np.zeros(1, tensor._a.dtype),
                                                          tensor._a.shape, (0,) * tensor._a.ndim)
        self.packed = pack_hook(tensor)

    def unpack(self, node):
        from .._tensor import Tensor
        t = self.unpack_hook(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        if self.is_output and t._node is None and not t._rg:     # an op's own result: relink
            t._node, t._nr, t._rg = node, self.nr, True
        return t


def active() -> bool:
    return bool(_stack)


def pack_saved(saved: tuple, Tensor) -> tuple:
    """The saved tuple with each Tensor replaced by its _Packed form (hooks active only)."""
    return tuple(_Packed(s, False) if isinstance(s, Tensor) else s for s in saved)
