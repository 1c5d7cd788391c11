"""engine._kernels: large add/sub/mul/div and float32 sums on all cores (Numba) give NumPy's
results bit for bit (sums: at least as accurate), and the engine's ops use them."""
import threading

import numpy as np
import pytest

import engine
from engine import _kernels
from engine.ops import _core as _ops

N = _kernels.MIN_SIZE * 2 + 17
UFUNCS = [np.add, np.subtract, np.multiply, np.divide]


@pytest.fixture
def kernels(monkeypatch):
    """The kernels, kept on even when this machine is busy (the back-off has its own test)."""
    monkeypatch.setattr(_kernels, "BACKOFF_S", 0.0)
    monkeypatch.setitem(_kernels._state, "off_until", 0.0)
    monkeypatch.setitem(_kernels._state, "strikes", 0)
    if not _kernels._kernels():
        pytest.skip(f"Numba kernels unavailable: {_kernels.why_not()}")


def _pair(dtype, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(N) * 3).astype(dtype), (rng.standard_normal(N) + 0.5).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ufunc", UFUNCS, ids=lambda u: u.__name__)
def test_binary_equals_numpy_bit_for_bit(kernels, ufunc, dtype):
    a, b = _pair(dtype)
    one = np.broadcast_to(np.asarray(1.5, dtype), a.shape)   # a gradient expanded from one element
    for x, y in [(a, b), (a, 0.1), (0.1, b), (3, b), (one, b), (a, one), (a, np.asarray(0.7, dtype))]:
        r = _kernels.binary(ufunc, x, y)
        assert r is not None and r.dtype == dtype and r.shape == a.shape
        np.testing.assert_array_equal(r, ufunc(x, y))


def test_binary_keeps_nd_shapes_and_declines_what_it_cannot_do(kernels):
    a, b = _pair(np.float32)
    a2, b2 = a[:N - 1].reshape(-1, 2), b[:N - 1].reshape(-1, 2)
    np.testing.assert_array_equal(_kernels.binary(np.multiply, a2, b2), a2 * b2)
    declined = [(a2.T, b2.T), (a2, b2[:, :1]), (a, b.astype(np.float64)), (a.astype(np.int64), 2),
                (a.astype(np.float16), 2.0), (a[:100], b[:100]),
                (np.broadcast_to(np.float32(1), a.shape), np.broadcast_to(np.float32(2), a.shape))]
    for x, y in declined:
        assert _kernels.binary(np.multiply, x, y) is None


def test_special_values_follow_ieee_like_numpy(kernels):
    a = np.zeros(N, np.float32)
    a[::3], a[1::3] = np.inf, np.nan
    with np.errstate(all="ignore"):
        for ufunc in UFUNCS:
            np.testing.assert_array_equal(_kernels.binary(ufunc, a, 0.0), ufunc(a, np.float32(0)))


def test_float32_sum_is_more_accurate_than_numpys(kernels):
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(N) * 100 + 3).astype(np.float32)
    exact = float(np.sum(a.astype(np.float64)))
    s = _kernels.sum_all(a)
    assert s.dtype == np.float32
    assert abs(float(s) - exact) <= abs(float(a.sum()) - exact) + float(np.spacing(np.float32(exact)))
    assert _kernels.sum_all(a.astype(np.float64)) is None and _kernels.sum_all(a[::2]) is None


def test_engine_ops_take_the_kernels_and_match_the_numpy_path(kernels, monkeypatch):
    a_np, b_np = _pair(np.float64)

    def grads():
        a = engine.tensor(a_np, requires_grad=True)
        b = engine.tensor(b_np, requires_grad=True)
        c = ((a * b + a) / (b * b + 1.0) - 2.0 * a - b / 3.0).sum()
        c.backward()
        return c.item(), a.grad.numpy(), b.grad.numpy()

    calls = []
    real = _kernels.binary
    monkeypatch.setattr(_kernels, "binary", lambda *args: calls.append(args[0]) or real(*args))
    fast = grads()
    assert {np.add, np.subtract, np.multiply, np.divide} <= set(calls) and len(calls) >= 12
    monkeypatch.setitem(_kernels._state, "kernels", False)
    slow = grads()
    assert fast[0] == pytest.approx(slow[0], rel=1e-12)
    np.testing.assert_array_equal(fast[1], slow[1])
    np.testing.assert_array_equal(fast[2], slow[2])


def test_engine_float32_sum_and_mean_use_the_kernel(kernels, monkeypatch):
    a = np.random.default_rng(4).standard_normal(N).astype(np.float32)
    calls = []
    real = _kernels.sum_all
    monkeypatch.setattr(_kernels, "sum_all", lambda x: calls.append(1) or real(x))
    t = engine.tensor(a)
    exact = float(a.astype(np.float64).sum())
    assert t.sum().item() == pytest.approx(exact, abs=1e-3) and len(calls) == 1
    assert t.mean().item() == pytest.approx(exact / N, abs=1e-8) and len(calls) == 2


def test_several_threads_at_once(kernels):
    a, b = _pair(np.float32)
    want, results, errors = a * b, [], []

    def work():
        try:
            for _ in range(20):
                results.append(np.array_equal(_kernels.binary(np.multiply, a, b), want))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 60 and all(results)


def test_without_numba_the_engine_stays_on_numpy(monkeypatch):
    monkeypatch.setitem(_kernels._state, "kernels", None)
    monkeypatch.setitem(_kernels._state, "why", "")
    monkeypatch.setenv("ENGINE_NO_NUMBA", "1")
    a, b = _pair(np.float32)
    assert _kernels.binary(np.multiply, a, b) is None and _kernels.sum_all(a) is None
    assert _kernels.why_not() == "ENGINE_NO_NUMBA is set"
    np.testing.assert_array_equal((engine.tensor(a) * engine.tensor(b)).numpy(), a * b)
    assert _ops._sum_all(a) == pytest.approx(float(a.astype(np.float64).sum()), abs=1e-2)


def test_three_slow_calls_in_a_row_switch_the_kernels_off_for_a_while(kernels, monkeypatch):
    a, b = _pair(np.float32)
    clock = {"now": 1000.0, "tick": 0.0}       # each reading advances by tick: a call's duration

    def fake_clock():
        clock["now"] += clock["tick"]
        return clock["now"]
    monkeypatch.setattr(_kernels, "_clock", fake_clock)
    monkeypatch.setattr(_kernels, "BACKOFF_S", 1.0)
    kernel = _kernels._kernels()[np.multiply][0]
    monkeypatch.setitem(_kernels._best, kernel, 1e-9)          # its best: 1 ns per element

    def call(seconds_per_element):
        clock["tick"] = seconds_per_element * N
        return _kernels.binary(np.multiply, a, b)

    assert call(1e-8) is not None and call(1e-8) is not None   # 10x slower: two strikes
    assert call(2.5e-9) is not None                            # 2.5x: not a strike, a reset
    for _ in range(3):
        assert call(1e-8) is not None
    clock["tick"] = 0.0
    assert _kernels.binary(np.multiply, a, b) is None          # off: NumPy does the work
    assert "busy" in _kernels.why_not()
    np.testing.assert_array_equal((engine.tensor(a) * engine.tensor(b)).numpy(), a * b)
    clock["now"] += 1.1
    assert _kernels.binary(np.multiply, a, b) is not None      # back on after the pause
