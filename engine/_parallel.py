"""Large CPU elementwise ops and full sums split across the machine's cores.

NumPy runs each ufunc on one core while PyTorch's CPU kernels use all of them. For arrays of
at least PARALLEL_MIN elements the output is allocated once and cut into chunks that the
calling thread and resident workers claim one by one (NumPy releases the GIL inside its
loops), so a worker that a busy machine wakes late only leaves its chunks to the caller.
A handoff costs some 30 µs, so smaller arrays stay on the caller. Each function returns None
when it does not apply (another device, non-contiguous or broadcast operands, integer dtypes);
the caller then runs NumPy.

Full float sums use a "lanes" reduction: the array seen as rows of LANE_WIDTH columns is
added row by row (vectorised), then the column sums are added pairwise. Each column adds
at most a few hundred numbers in order, so the rounding error stays near NumPy's pairwise
sum while the work runs at memory speed instead of NumPy's scalar pairwise loop.
"""
import itertools
import os
import queue
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


class _Job:
    """One op cut into chunks that the caller and the workers claim one at a time. Whoever is
    free takes the next chunk, so a worker that wakes late (a busy machine) costs at most the
    chunk it is on, never a wait for its whole share."""
    __slots__ = ("fn", "chunks", "errstate", "claim", "finished", "all_done", "error")

    def __init__(self, fn, chunks):
        self.fn, self.chunks, self.errstate = fn, chunks, np.geterr()
        self.claim = itertools.count()          # next() on these is atomic under the GIL
        self.finished = itertools.count(1)
        self.all_done = threading.Lock()
        self.all_done.acquire()
        self.error = None

    def work(self):
        n = len(self.chunks)
        while (i := next(self.claim)) < n:
            try:
                self.fn(*self.chunks[i])
            except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
                self.error = e
            if next(self.finished) == n:
                self.all_done.release()


def _worker_loop(jobs):
    errstate = None
    while True:
        job = jobs.get()
        if job.errstate != errstate:    # NumPy's error state is per thread: use the caller's
            errstate = job.errstate
            np.seterr(**errstate)
        job.work()


_jobs = queue.SimpleQueue()
_workers = []


def _run(fn, chunks):
    """fn(*c) for every c in chunks, shared between this thread and the workers; re-raises."""
    job = _Job(fn, chunks)
    helpers = min(LANES, len(chunks)) - 1
    while len(_workers) < helpers:
        t = threading.Thread(target=_worker_loop, args=(_jobs,), name="engine-parallel", daemon=True)
        t.start()
        _workers.append(t)
    for _ in range(helpers):
        _jobs.put(job)
    job.work()
    job.all_done.acquire()              # the chunks a worker still has in hand
    if job.error is not None:
        raise job.error


def _bounds(n):
    """Chunks of at least PARALLEL_MIN / 4 elements, about four per lane."""
    count = max(1, min(4 * LANES, n // (PARALLEL_MIN // 4)))
    step = -(-n // count)
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
    out = np.empty(big.shape, big.dtype)
    o = out.reshape(-1)
    a, b = ops
    sa, sb = type(a) is _ndarray, type(b) is _ndarray
    _run(ufunc, [(a[lo:hi] if sa else a, b[lo:hi] if sb else b, o[lo:hi]) for lo, hi in _bounds(o.size)])
    return out


def _lanes_sum(a, out):
    """Sum of 1-D float array a into out[0] (rows of LANE_WIDTH added vectorised, then pairwise)."""
    m = a.size - a.size % LANE_WIDTH
    cols = np.add.reduce(a[:m].reshape(-1, LANE_WIDTH), axis=0)
    out[0] = np.add.reduce(cols) + np.add.reduce(a[m:])


def full_sum(a):
    """a.sum() for a large C-contiguous float CPU array (a NumPy scalar); None when it does not apply."""
    if type(a) is not _ndarray or a.size < PARALLEL_MIN or a.dtype.kind != "f" or a.itemsize < 4:
        return None     # float16 sums accumulate in float32 (PyTorch's rule): NumPy's own path
    flat = _flat(a)
    if flat is None:
        return None
    if LANES < 2:
        parts = np.zeros(1, a.dtype)
        _lanes_sum(flat, parts)
    else:
        bounds = _bounds(flat.size)
        parts = np.zeros(len(bounds), a.dtype)
        _run(_lanes_sum, [(flat[lo:hi], parts[i:i + 1]) for i, (lo, hi) in enumerate(bounds)])
    return np.add.reduce(parts)


def _after_fork():
    # a forked child has none of the parent's threads: start afresh (new workers on first use)
    global _jobs
    _workers.clear()
    _jobs = queue.SimpleQueue()


LANES = _lane_count()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
