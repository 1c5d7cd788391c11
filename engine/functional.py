"""`engine.functional`: PyTorch's `torch.functional` module (programs import it as F next to
torch.nn.functional): the tensor functions it holds, which are engine's own, and broadcast_shapes."""
from engine import (atleast_1d, atleast_2d, atleast_3d, block_diag, broadcast_tensors,  # noqa: F401
                    cartesian_prod, cdist, einsum, meshgrid, norm, split, tensordot, unique)
from engine._tensor import Size as _Size

__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes",
           "broadcast_tensors", "cartesian_prod", "cdist", "einsum", "meshgrid", "norm", "split",
           "tensordot", "unique"]


def broadcast_shapes(*shapes):
    """The shape tensors of these shapes broadcast to, as a Size (PyTorch's error if they cannot)."""
    result = []
    for k, shape in enumerate(shapes):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        grown = [1] * (max(len(result), len(shape)) - len(result)) + result
        for i in range(-1, -len(shape) - 1, -1):
            s, r = shape[i], grown[i]
            if s == r or s == 1:
                continue
            if r != 1:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {s} at {i}! Mismatching "
                                   f"argument at index {k} had {shape}; but expected shape should be "
                                   f"broadcastable to {result}")
            grown[i] = s
        result = grown
    return _Size(result)
