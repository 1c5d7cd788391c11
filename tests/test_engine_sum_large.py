"""Full sums and means of large float tensors take the engine's vectorised row-sum path
(_ops._sum_all): the same value as an exact sum to within NumPy's own rounding."""
import numpy as np
import pytest

import engine
from engine.ops import _core as _ops

SIZES = [_ops._SUM_MIN, _ops._SUM_MIN * 3 + 17, 1_000_003, 4096 * _ops._SUM_ROWS * 2 + 5]


def _exact(a):
    return float(np.sum(a.astype(np.longdouble)))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_and_mean_are_as_accurate_as_numpy(n, dtype):
    rng = np.random.default_rng(n)
    a = (rng.standard_normal(n) * 100 + 3).astype(dtype)
    exact, numpy_err = _exact(a), abs(float(a.sum()) - _exact(a))
    eps = float(np.finfo(dtype).eps)
    bound = max(4 * numpy_err, 8 * eps * float(np.abs(a).sum()) / np.sqrt(n)) + 2 * float(np.spacing(dtype(exact)))
    t = engine.tensor(a)
    s, m = t.sum(), t.mean()
    assert s.dtype == m.dtype == engine.tensor(a[:1]).dtype and s.shape == m.shape == ()
    assert abs(s.item() - exact) <= bound
    assert abs(m.item() - exact / n) <= bound / n


def test_the_row_sum_path_differs_from_a_naive_loop_and_handles_shapes():
    # a sequential float32 sum of 1M values drifts visibly; the engine's must not
    a = np.full(1_000_000, 0.1, np.float32)
    naive = np.cumsum(a)[-1]                           # cumsum adds in order, one by one
    exact = _exact(a)
    assert abs(float(naive) - exact) > 100 * abs(float(engine.tensor(a).sum().item()) - exact)
    b = np.random.default_rng(0).standard_normal((513, 1031)).astype(np.float32)
    for view in (b, b.T, b[:, ::2]):                   # contiguous 2-D, transposed, strided
        assert engine.tensor(view).sum().item() == pytest.approx(_exact(view), rel=1e-5, abs=1e-2)


def test_gradients_of_large_sum_and_mean():
    a = engine.randn(_ops._SUM_MIN + 3, dtype=engine.float64, requires_grad=True)
    (a.sum() * 2 + a.mean()).backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 + 1 / a.numel(), rtol=0, atol=1e-15)


def test_float16_and_integer_sums_keep_numpys_path():
    h = np.full(_ops._SUM_MIN * 2, 0.01, np.float16)
    assert engine.tensor(h).sum().item() == float(h.sum()) and engine.tensor(h).sum().dtype == engine.float16
    i = engine.ones(_ops._SUM_MIN * 2, dtype=engine.int64)
    assert i.sum().item() == _ops._SUM_MIN * 2 and i.sum().dtype == engine.int64
