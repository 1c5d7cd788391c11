"""engine.linalg: torch.linalg's norms, inverses, determinants, solvers and factorizations.

`vector_norm`, `norm` and `matrix_norm` ("fro", 1, -1, inf, -inf) record
LinalgVectorNormBackward0 as PyTorch's do; matrix_norm 2, -2 and "nuc" go through svdvals.
inv, det, slogdet, solve, cholesky, qr, eigh, eigvalsh, svd, svdvals, pinv, matrix_exp and matrix_power live in
engine/ops/linalg.py (forward and backward formula side by side); cross in engine/ops/products.py.
"""
from . import ops as _ops
from .ops._core import _wdim
from .ops.linalg import (LinAlgError, inv, det, linalg_slogdet as slogdet, solve, cholesky, qr, eigh, eigvalsh,
                         svd, svdvals, pinv, matrix_exp, matrix_power)
from .ops.products import _linalg_cross as cross
from .ops._registry import op

__all__ = ["vector_norm", "norm", "matrix_norm", "LinAlgError", "inv", "det", "slogdet", "solve", "cholesky",
           "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "matrix_exp", "matrix_power", "cross"]


@op(namespace="linalg")
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ord-norm of x's elements (all of them, or along dim)."""
    if dtype is not None:
        x = x.to(dtype)
    return _ops.norm(x, ord, dim, keepdim)


@op(namespace="linalg")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Matrix norm over dims `dim`: "fro", "nuc", 2/-2 (largest/smallest singular value),
    1/-1 (max/min column sum of |A|), inf/-inf (max/min row sum), computed as PyTorch does."""
    if dtype is not None:
        A = A.to(dtype)
    d0, d1 = (_wdim(d, A.ndim) for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        perm = [i for i in range(A.ndim) if i not in (d0, d1)] + [d0, d1]
        s = svdvals(A.permute(perm))
        r = s.sum(-1, keepdim) if ord == "nuc" else (s.amax(-1, keepdim) if ord == 2 else s.amin(-1, keepdim))
        if keepdim:
            r = r.unsqueeze(-1).permute([perm.index(i) for i in range(A.ndim)])
        return r
    if ord in (1, -1, float("inf"), float("-inf")):
        if abs(ord) == float("inf"):
            d0, d1 = d1, d0
        s = vector_norm(A, 1, d0, keepdim)
        if not keepdim and d0 < d1:
            d1 -= 1
        return s.amax(d1, keepdim) if ord > 0 else s.amin(d1, keepdim)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


@op(namespace="linalg")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """Vector norm for 1-D input or an int dim; Frobenius norm of a matrix when ord is None/'fro'."""
    if ord is None or ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(dim, (tuple, list)) and len(dim) == 2 or (dim is None and A.ndim == 2):
        return matrix_norm(A, ord, dim if dim is not None else (-2, -1), keepdim, dtype=dtype)
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
