"""Multi-core CPU kernels for large elementwise arithmetic and float32 sums (through Numba).

NumPy runs every ufunc on one core and PyTorch's CPU kernels run on all of them; at a
million elements that is the whole gap between the two. Python threads cannot close it:
on a small VM a handoff to a sleeping thread costs about 60 µs, as much as the work.
Numba's `prange` loops run on its own thread pool outside the GIL, so large add, sub, mul,
div and float32 full sums use them (engine/_kernels_numba.py). Everything else, and
everything when Numba is missing or unusable, stays on NumPy.

`binary` and `sum_all` return None when they do not apply (small, another device, not
C-contiguous, float16/integer/mixed dtypes, real broadcasting); the caller then runs NumPy.
The elementwise results equal NumPy's bit for bit: each loop does the same IEEE operation
in the array's dtype (a Python scalar is first cast to that dtype, as NumPy's NEP 50 does).
float32 sums accumulate in float64 per thread, so they are at least as accurate as NumPy's.
Numba is imported, and the kernels compiled (cached on disk), at the first large op only.
Set ENGINE_NO_NUMBA=1 to stay on NumPy.

A thread pool crawls when other programs hold the cores (its threads wait for each other):
measured here with one busy process, the median 1M step took 3.1 ms on the kernels against
1.4 ms on NumPy. So each call is timed, and three calls in a row at over SLOW_FACTOR times that
kernel's best speed switch the kernels off for a second. (A pool woken after a pause
makes one or two calls slow, up to 7x; a busy machine keeps them slow.)
"""
import os
import time

import numpy as np
from ._dtype import is_floating

MIN_SIZE = 1 << 18      # elements; below this the pool's start-up costs more than it saves
BACKOFF_S = 1.0         # how long the kernels stay off once the machine looks busy
SLOW_FACTOR = 3         # a call this many times slower than the kernel's best is a strike
_ndarray = np.ndarray
_clock = time.perf_counter
_state = {"kernels": None, "why": "", "off_until": 0.0, "strikes": 0}
_best = {}              # kernel -> fastest seconds per element seen


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _build():
    if os.environ.get("ENGINE_NO_NUMBA"):
        return False, "ENGINE_NO_NUMBA is set"
    if _cpu_count() < 2:
        return False, "one core"
    try:
        from . import _kernels_numba as k
        k.mul_aa(np.ones(2, np.float32), np.ones(2, np.float32), np.empty(2, np.float32))
    except Exception as e:  # noqa: BLE001 - no Numba or no thread-safe pool: stay on NumPy
        return False, f"{type(e).__name__}: {e}".splitlines()[0]
    return {np.add: (k.add_aa, k.add_as, None), np.subtract: (k.sub_aa, k.sub_as, k.sub_sa),
            np.multiply: (k.mul_aa, k.mul_as, None), np.divide: (k.div_aa, k.div_as, k.div_sa),
            "sum32": k.sum_float32}, ""


def _kernels():
    k = _state["kernels"]
    if k is None:
        k, _state["why"] = _build()
        _state["kernels"] = k
    if k and _state["off_until"] and _clock() < _state["off_until"]:
        return False
    return k


def _timed(kernel, n, *args):
    """kernel(*args) over n elements; slow calls count towards switching the kernels off."""
    start = _clock()
    result = kernel(*args)
    per = (_clock() - start) / n
    best = _best.get(kernel)
    if best is None or per < best:
        _best[kernel] = per
    if best is not None and per > SLOW_FACTOR * best:
        _state["strikes"] += 1
        if _state["strikes"] >= 3:
            _state["strikes"], _state["off_until"] = 0, _clock() + BACKOFF_S
    else:
        _state["strikes"] = 0
    return result


def why_not():
    """Why the kernels are not in use ("" when they are or have not been tried yet)."""
    if _state["kernels"] and _clock() < _state["off_until"]:
        return "off for a moment: the machine is busy"
    return _state["why"]


def binary(ufunc, x, y):
    """ufunc(x, y) (np.add/subtract/multiply/divide) on all cores for a large C-contiguous
    float32/float64 array and a same-shape same-dtype array or a scalar (a Python number, or
    an array broadcast from one element, such as the gradient of a sum); None when it does
    not apply."""
    big = x if type(x) is _ndarray else y
    if type(big) is not _ndarray or big.size < MIN_SIZE or not is_floating(big.dtype) or big.itemsize < 4:
        return None
    dt = big.dtype
    ops = []
    for v in (x, y):
        if type(v) is _ndarray:
            if v.shape == big.shape and v.dtype == dt and v.flags.c_contiguous:
                ops.append(v.reshape(-1))
            elif v.dtype == dt and v.size and not any(v.strides):
                ops.append(dt.type(v[(0,) * v.ndim]))          # one element broadcast
            else:
                return None
        elif type(v) is float or type(v) is int:
            ops.append(dt.type(v))
        else:
            return None
    a, b = ops
    if type(a) is not _ndarray and type(b) is not _ndarray:
        return None                         # both broadcast from one element
    k = _kernels()
    if not k:
        return None
    array_array, array_scalar, scalar_array = k[ufunc]
    out = np.empty(big.shape, dt)
    o = out.reshape(-1)
    if type(a) is _ndarray:
        _timed(array_array if type(b) is _ndarray else array_scalar, o.size, a, b, o)
    elif scalar_array is None:              # s + y == y + s and s * y == y * s, bit for bit
        _timed(array_scalar, o.size, b, a, o)
    else:
        _timed(scalar_array, o.size, a, b, o)
    return out


def sum_all(a):
    """a.sum() on all cores for a large C-contiguous float32 CPU array (a NumPy float32);
    None when it does not apply."""
    if type(a) is not _ndarray or a.dtype != np.float32 or a.size < MIN_SIZE or not a.flags.c_contiguous:
        return None
    k = _kernels()
    if not k:
        return None
    return np.float32(_timed(k["sum32"], a.size, a.reshape(-1)))
