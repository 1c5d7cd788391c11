"""engine.linalg: the norms PyTorch's torch.linalg offers for gradient work.

`vector_norm`, `norm` (vector norm, or Frobenius for matrices) and `matrix_norm` ("fro")
all record LinalgVectorNormBackward0, as PyTorch's do. Decompositions, inverses and
solvers are not provided.
"""
from . import _ops

__all__ = ["vector_norm", "norm", "matrix_norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ord-norm of x's elements (all of them, or along dim)."""
    if dtype is not None:
        x = x.to(dtype)
    return _ops.norm(x, ord, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Frobenius norm over the last two dims (other orders need singular values: not provided)."""
    if ord != "fro":
        raise NotImplementedError(f"linalg.matrix_norm(ord={ord!r}) is not supported by the engine; use 'fro'")
    return vector_norm(A, 2, dim, keepdim, dtype=dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """Vector norm for 1-D input or an int dim; Frobenius norm of a matrix when ord is None/'fro'."""
    if ord is None or ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(dim, (tuple, list)) and len(dim) == 2 or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
