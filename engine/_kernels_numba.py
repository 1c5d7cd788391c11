"""The Numba loops behind engine._kernels (imported only when a large op first needs them).

One loop per op and operand layout: array-array, array-scalar and scalar-array, each a
`prange` that Numba runs on its thread pool outside the GIL. Compiled on first use for the
dtypes met (float32/float64) and cached on disk next to this file.
"""
import numba
from numba import prange

numba.config.THREADING_LAYER = "threadsafe"    # tbb or OpenMP: callers may be several threads
# error_model="numpy": x / 0 gives inf or nan as in NumPy, never ZeroDivisionError
_jit = numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")


@_jit
def add_aa(x, y, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] + y[i]


@_jit
def add_as(x, s, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] + s


@_jit
def sub_aa(x, y, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] - y[i]


@_jit
def sub_as(x, s, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] - s


@_jit
def sub_sa(s, y, out):
    for i in prange(out.shape[0]):
        out[i] = s - y[i]


@_jit
def mul_aa(x, y, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] * y[i]


@_jit
def mul_as(x, s, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] * s


@_jit
def div_aa(x, y, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] / y[i]


@_jit
def div_as(x, s, out):
    for i in prange(out.shape[0]):
        out[i] = x[i] / s


@_jit
def div_sa(s, y, out):
    for i in prange(out.shape[0]):
        out[i] = s / y[i]


# Reassociation lets LLVM keep several partial sums per thread (vectorised); the float64
# accumulator keeps a float32 sum of millions of values accurate to float32's last bit.
@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def sum_float32(x):
    total = 0.0
    for i in prange(x.shape[0]):
        total += x[i]
    return total
