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
           "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "matrix_exp", "matrix_power", "cross", "multi_dot"]


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


@op(namespace="linalg")
def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices, multiplied in the order that costs the fewest scalar
    multiplications (a first 1-D tensor is a row, a last one a column, as torch's)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first_1d, last_1d = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_1d:
        ts[0] = ts[0].unsqueeze(0)
    if last_1d:
        ts[-1] = ts[-1].unsqueeze(1)
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    dims = [ts[0].shape[0]] + [t.shape[1] for t in ts]
    n = len(ts)
    # the classic matrix-chain order: cost[i][j] of multiplying ts[i..j], split[i][j] where
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i, j):
        return ts[i] if i == j else _ops.mm(chain(i, split[i][j]), chain(split[i][j] + 1, j))

    result = chain(0, n - 1)          # (rows, cols); viewed as PyTorch's result shape always
    shape = ((() if first_1d else (result.shape[0],)) + (() if last_1d else (result.shape[1],)))
    return result.view(shape)
