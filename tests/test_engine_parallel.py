"""engine._parallel: large elementwise ops and full sums split across cores give NumPy's results."""
import os
import threading
import warnings

import numpy as np
import pytest

import engine
from engine import _parallel

N = _parallel.PARALLEL_MIN * 2 + 17        # odd, so the lanes and the sum's tail are uneven


@pytest.fixture
def two_lanes(monkeypatch):
    """Run with two lanes even on a one-core machine, so the split path is what is tested."""
    monkeypatch.setattr(_parallel, "LANES", 2)
    monkeypatch.setattr(engine._ops, "_PAR_MIN", _parallel.PARALLEL_MIN)


def _arrays(dtype):
    rng = np.random.default_rng(1)
    return rng.standard_normal(N).astype(dtype), rng.standard_normal(N).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("ufunc", [np.add, np.subtract, np.multiply, np.divide])
def test_binary_matches_numpy_bit_for_bit(two_lanes, ufunc, dtype):
    a, b = _arrays(dtype)
    one = np.broadcast_to(np.asarray(1.5, dtype), a.shape)    # a gradient expanded from one element
    for x, y in [(a, b), (a, 2.5), (3, b), (one, b), (a, one)]:
        r = _parallel.binary(ufunc, x, y)
        assert r is not None and r.dtype == dtype
        np.testing.assert_array_equal(r, ufunc(x, y))


def test_binary_keeps_shape_and_declines_what_it_cannot_split(two_lanes):
    a, b = _arrays(np.float32)
    a2, b2 = a[:N - 1].reshape(-1, 2), b[:N - 1].reshape(-1, 2)
    np.testing.assert_array_equal(_parallel.binary(np.multiply, a2, b2), a2 * b2)
    assert _parallel.binary(np.multiply, a2.T, b2.T) is None                    # not C-contiguous
    assert _parallel.binary(np.multiply, a2, b2[:, :1]) is None                 # real broadcasting
    assert _parallel.binary(np.multiply, a, b.astype(np.float64)) is None       # promotion
    assert _parallel.binary(np.multiply, a.astype(np.int64), 2) is None         # integers
    assert _parallel.binary(np.multiply, a[:100], b[:100]) is None             # small


def test_errors_and_warnings_follow_the_callers_errstate(two_lanes):
    a = np.ones(N, np.float32)
    z = np.zeros(N, np.float32)
    with np.errstate(divide="raise"):
        with pytest.raises(FloatingPointError):
            _parallel.binary(np.divide, a, z)
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(_parallel.binary(np.divide, a, z)).all()
    # the lock was released after the error: the next call splits again
    np.testing.assert_array_equal(_parallel.binary(np.add, a, a), a + a)


def test_a_stuck_worker_leaves_its_chunks_to_the_caller(two_lanes):
    a, b = _arrays(np.float32)
    _parallel.binary(np.add, a, b)                      # a worker exists
    release = threading.Event()
    stuck = _parallel._Job(release.wait, [()])
    _parallel._jobs.put(stuck)                           # the worker blocks on this one
    try:
        done = []
        t = threading.Thread(target=lambda: done.append(_parallel.binary(np.multiply, a, b)))
        t.start()
        t.join(10)
        assert done and np.array_equal(done[0], a * b)   # finished without the worker
        assert _parallel.full_sum(a) == pytest.approx(float(a.astype(np.float64).sum()), rel=1e-5, abs=1e-2)
    finally:
        release.set()
    stuck.all_done.acquire()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_sum_is_as_accurate_as_numpy(two_lanes, dtype):
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(N) * 100 + 3).astype(dtype)
    exact = float(np.sum(a.astype(np.longdouble)))
    ours, numpy_err = _parallel.full_sum(a), abs(float(a.sum()) - exact)
    assert ours.dtype == dtype
    eps = np.finfo(dtype).eps
    assert abs(float(ours) - exact) <= max(4 * numpy_err, 64 * eps * float(np.abs(a).sum()) / np.sqrt(N))


def test_full_sum_declines_float16_ints_and_small(two_lanes):
    assert _parallel.full_sum(np.ones(N, np.float16)) is None
    assert _parallel.full_sum(np.ones(N, np.int64)) is None
    assert _parallel.full_sum(np.ones(10, np.float32)) is None


def _grads(a_np, b_np):
    a = engine.tensor(a_np, requires_grad=True)
    b = engine.tensor(b_np, requires_grad=True)
    c = ((a * b + a) / (b * b + 1.0) - 2.0 * a).sum() + a.mean()
    c.backward()
    return c.item(), a.grad.numpy(), b.grad.numpy()


def test_engine_ops_split_give_the_same_gradients_as_unsplit(two_lanes, monkeypatch):
    a_np, b_np = _arrays(np.float64)
    calls = []
    real = _parallel.binary
    monkeypatch.setattr(_parallel, "binary", lambda *args: calls.append(1) or real(*args))
    split = _grads(a_np, b_np)
    assert len(calls) >= 10                      # forward and backward both went through it
    monkeypatch.setattr(engine._ops, "_PAR_MIN", float("inf"))
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", float("inf"))
    whole = _grads(a_np, b_np)
    assert split[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_array_equal(split[1], whole[1])
    np.testing.assert_array_equal(split[2], whole[2])


def test_parallel_ops_from_several_threads_at_once(two_lanes):
    a, b = _arrays(np.float32)
    want = a + b
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(np.array_equal(_parallel.binary(np.add, a, b), want))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 60 and all(results)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_can_still_split(two_lanes):
    a, b = _arrays(np.float32)
    _parallel.binary(np.add, a, b)              # workers exist in the parent
    pid = os.fork()
    if pid == 0:                                # child: must not wait on the parent's threads
        ok = np.array_equal(_parallel.binary(np.add, a, b), a + b)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
