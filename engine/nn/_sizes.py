"""Size arithmetic shared by the 1-, 2- and 3-D layers: an int or a sequence as an n-tuple,
an adaptive pool's output size and its averaging matrix."""
from __future__ import annotations

import numbers

import numpy as np


def _ntuple(v, n: int) -> tuple:
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(int(x) for x in v)
    return v * n if len(v) == 1 else v


def _adaptive_matrix(n: int, out: int, dtype) -> np.ndarray:
    """(out, n): row i averages input[floor(i*n/out) : ceil((i+1)*n/out)]."""
    m = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        lo, hi = (i * n) // out, -(-((i + 1) * n) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _out_size(value, size, n):
    value = _ntuple(value, n) if not isinstance(value, (list, tuple)) or len(value) != n else tuple(value)
    return tuple(size[i] if v is None else int(v) for i, v in enumerate(value))
