"""Large CPU elementwise ops and full sums split across the machine's cores.

NumPy runs each ufunc on one core while PyTorch's CPU kernels use all of them. For arrays of
at least PARALLEL_MIN elements the output is allocated once and cut into one contiguous
slice per lane: the calling thread computes the first slice and resident workers the others
at the same time (NumPy releases the GIL inside its loops). A handoff costs some 30 µs, so
smaller arrays stay on the caller. Each function returns None when it does not apply (another
device, non-contiguous or broadcast operands, integer dtypes); the caller then runs NumPy.

Full float sums use a "lanes" reduction: the array seen as rows of LANE_WIDTH columns is
added row by row (vectorised), then the column sums are added pairwise. Each column adds
at most a few hundred numbers in order, so the rounding error stays near NumPy's pairwise
sum while the work runs at memory speed instead of NumPy's scalar pairwise loop.
"""
import os
import threading

import numpy as np

PARALLEL_MIN = 1 << 18          # elements; below this a handoff costs more than it saves
LANE_WIDTH = 4096               # columns of the lanes sum
_ndarray = np.ndarray


def _lane_count():
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


class _Worker:
    """One resident thread that runs a single job at a time when `go` is released."""

    def __init__(self):
        self.go = threading.Lock()
        self.go.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.job = None
        self.error = None
        self.errstate = None
        threading.Thread(target=self._loop, name="engine-parallel", daemon=True).start()

    def _loop(self):
        while True:
            self.go.acquire()
            fn, args, errstate = self.job
            try:
                if errstate != self.errstate:   # NumPy's error state is per thread: use the caller's
                    np.seterr(**errstate)
                    self.errstate = errstate
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
                self.error = e
            self.job = None
            self.done.release()


_workers = []
_lock = threading.Lock()      # one parallel op at a time; a second caller runs single-threaded


def _run(fn, arg_slices):
    """fn(*arg_slices[0]) here and fn(*arg_slices[i]) on worker i at once; re-raise their errors."""
    while len(_workers) < len(arg_slices) - 1:
        _workers.append(_Worker())
    errstate = np.geterr()
    busy = _workers[:len(arg_slices) - 1]
    for w, args in zip(busy, arg_slices[1:]):
        w.job = (fn, args, errstate)
        w.go.release()
    try:
        fn(*arg_slices[0])
    finally:
        for w in busy:
            w.done.acquire()
        errors = [w.error for w in busy if w.error is not None]
        for w in busy:
            w.error = None
    if errors:
        raise errors[0]


def _bounds(n, lanes):
    """Slices of at least PARALLEL_MIN / 2 elements, one per lane at most."""
    lanes = max(1, min(lanes, n // (PARALLEL_MIN // 2)))
    step = -(-n // lanes)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _flat(a):
    """1-D view of a C-contiguous array, or None."""
    return a.reshape(-1) if a.flags.c_contiguous else None


def binary(ufunc, x, y):
    """ufunc(x, y) for a large C-contiguous float array and a same-shape, same-dtype array or a
    scalar (a Python number, or an array broadcast from one element); None when it does not apply."""
    if LANES < 2:
        return None
    big = x if type(x) is _ndarray else y
    if type(big) is not _ndarray or big.size < PARALLEL_MIN or big.dtype.kind != "f":
        return None
    ops = []
    for v in (x, y):
        if type(v) is _ndarray:
            if v.shape == big.shape and v.dtype == big.dtype and v.flags.c_contiguous:
                ops.append(v.reshape(-1))
            elif v.dtype == big.dtype and v.size and not any(v.strides):
                ops.append(v.reshape(-1)[0])          # one element broadcast: a same-dtype scalar
            else:
                return None
        elif type(v) is float or type(v) is int:
            ops.append(v)
        else:
            return None
    if not _lock.acquire(blocking=False):
        return None
    try:
        out = np.empty(big.shape, big.dtype)
        o = out.reshape(-1)
        a, b = ops
        sa, sb = type(a) is _ndarray, type(b) is _ndarray
        _run(ufunc, [(a[lo:hi] if sa else a, b[lo:hi] if sb else b, o[lo:hi])
                     for lo, hi in _bounds(o.size, LANES)])
    finally:
        _lock.release()
    return out


def _lanes_sum(a, out):
    """Sum of 1-D float array a into out[0] (rows of LANE_WIDTH added vectorised, then pairwise)."""
    m = a.size - a.size % LANE_WIDTH
    cols = np.add.reduce(a[:m].reshape(-1, LANE_WIDTH), axis=0)
    out[0] = np.add.reduce(cols) + np.add.reduce(a[m:])


def full_sum(a):
    """a.sum() for a large C-contiguous float CPU array, as a 0-d array; None when it does not apply."""
    if type(a) is not _ndarray or a.size < PARALLEL_MIN or a.dtype.kind != "f" or a.itemsize < 4:
        return None     # float16 sums accumulate in float32 (PyTorch's rule): NumPy's own path
    flat = _flat(a)
    if flat is None:
        return None
    parts = np.zeros(LANES, a.dtype)
    if LANES > 1 and _lock.acquire(blocking=False):
        try:
            bounds = _bounds(flat.size, LANES)
            _run(_lanes_sum, [(flat[lo:hi], parts[i:i + 1]) for i, (lo, hi) in enumerate(bounds)])
        finally:
            _lock.release()
    else:
        _lanes_sum(flat, parts[:1])
    return np.add.reduce(parts)


def _after_fork():
    # a forked child has none of the parent's threads: start afresh (new workers on first use)
    global _lock
    _workers.clear()
    _lock = threading.Lock()


LANES = _lane_count()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
