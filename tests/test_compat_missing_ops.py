"""Differentiable ops a smoke test of common PyTorch calls found missing (issue 19): matrix_power,
take / put, quantile / nanquantile, scatter_reduce. Values, gradients, errors and printed results
against torch where installed; finite differences in float64 everywhere. The op table
(tests/test_engine_op_table.py) has a row for each, which drives the fake-CUDA and recording tests."""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck


def _t(a, grad=True, dtype=None):
    return engine.tensor(np.asarray(a), dtype=dtype or engine.float64, requires_grad=grad)


def _errors(fn_e, fn_t):
    """The engine raises the exception type and message torch raises."""
    with pytest.raises(Exception) as te:
        fn_t()
    with pytest.raises(Exception) as ee:
        fn_e()
    assert str(ee.value) == str(te.value)
    assert isinstance(ee.value, RuntimeError) == isinstance(te.value, RuntimeError)
    assert isinstance(ee.value, IndexError) == isinstance(te.value, IndexError)


def _same_values_and_grads(fn, arrays, seed=3, **kw):
    """fn(module, *tensors) on engine and torch: values, grad_fn name and input gradients agree."""
    torch = pytest.importorskip("torch")
    ex = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    eo, to = fn(engine, *ex), fn(torch, *tx)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12, **kw)
    assert eo.grad_fn.name() == type(to.grad_fn).__name__
    w = np.random.default_rng(seed).uniform(-1, 1, tuple(to.shape))
    eo.backward(engine.tensor(w))
    to.backward(torch.tensor(w))
    for e, t in zip(ex, tx):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    return eo, to


# -- matrix_power -------------------------------------------------------------------------------

MATS = np.random.default_rng(0).uniform(-1, 1, (2, 3, 3)) * 0.5 + np.eye(3)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, -1, -2, -5])
def test_matrix_power_gradcheck_and_torch(n):
    assert gradcheck(lambda a: engine.linalg.matrix_power(a, n), [_t(MATS)])
    assert gradcheck(lambda a: a[0].matrix_power(n), [_t(MATS)])
    _same_values_and_grads(lambda m, a: m.matrix_power(a, n), [MATS])
    _same_values_and_grads(lambda m, a: m.matrix_power(a[1], n), [MATS])


def test_matrix_power_zero_is_identity_with_zero_gradient():
    a = _t(MATS)
    r = a.matrix_power(0)
    assert r.grad_fn.name() == "CopyBackwards"
    np.testing.assert_array_equal(r.detach().numpy(), np.broadcast_to(np.eye(3), (2, 3, 3)))
    r.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros((2, 3, 3)))


def test_matrix_power_integers_and_printing():
    torch = pytest.importorskip("torch")
    a = [[1, 2], [3, 4]]
    assert repr(engine.matrix_power(engine.tensor(a), 3)) == repr(torch.matrix_power(torch.tensor(a), 3))
    assert repr(engine.tensor(a).matrix_power(0)) == repr(torch.tensor(a).matrix_power(0))


def test_matrix_power_errors():
    torch = pytest.importorskip("torch")
    for a in (np.ones(3), np.ones((3, 4))):
        _errors(lambda: engine.matrix_power(engine.tensor(a), 2), lambda: torch.matrix_power(torch.tensor(a), 2))
    _errors(lambda: engine.linalg.matrix_power(engine.tensor([[1, 2], [3, 4]]), -1),
            lambda: torch.linalg.matrix_power(torch.tensor([[1, 2], [3, 4]]), -1))


# -- take / put ---------------------------------------------------------------------------------

X34 = np.random.default_rng(1).uniform(-2, 2, (3, 4))


@pytest.mark.parametrize("index", [[[0, 5], [5, -1]], [11, 11, 11, 0], [], 3])
def test_take_gradcheck_and_torch(index):
    assert gradcheck(lambda a: engine.take(a, engine.tensor(index)), [_t(X34)])
    _same_values_and_grads(lambda m, a: a.take(m.tensor(index, dtype=m.int64)), [X34])
    _same_values_and_grads(lambda m, a: m.take(a.t(), m.tensor(index, dtype=m.int64)), [X34])   # a strided input


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_gradcheck_and_torch(accumulate):
    idx = [[1, 7], [-1, 1]] if accumulate else [[1, 7], [-1, 0]]    # a write at a repeated index: the last wins
    src = np.random.default_rng(2).uniform(-1, 1, (2, 2))
    assert gradcheck(lambda a, s: a.put(engine.tensor(idx), s, accumulate), [_t(X34), _t(src)])
    _same_values_and_grads(lambda m, a, s: m.put(a, m.tensor(idx), s, accumulate=accumulate), [X34, src])
    _same_values_and_grads(lambda m, a, s: (a * 2).put_(m.tensor(idx), s, accumulate) * a, [X34, src])


def test_take_put_printing_and_errors():
    torch = pytest.importorskip("torch")
    for m in (engine, torch):
        m.a = m.arange(12.).reshape(3, 4)
    assert repr(engine.a.take(engine.tensor([[0, -1], [5, 5]]))) == repr(torch.a.take(torch.tensor([[0, -1], [5, 5]])))
    assert repr(engine.tensor(3.).take(engine.tensor([0, 0]))) == repr(torch.tensor(3.).take(torch.tensor([0, 0])))
    assert repr(engine.a.put_(engine.tensor([1, 1]), engine.tensor([5., 6.]), accumulate=True)) == \
        repr(torch.a.put_(torch.tensor([1, 1]), torch.tensor([5., 6.]), accumulate=True))
    for i in ([12], [-13], [1.0]):
        _errors(lambda: engine.a.take(engine.tensor(i)), lambda: torch.a.take(torch.tensor(i)))
    for i, s in (([12], [1.]), ([1, 2], [1.]), ([1, 2], [1, 2])):
        _errors(lambda: engine.a.put(engine.tensor(i), engine.tensor(s)),
                lambda: torch.a.put(torch.tensor(i), torch.tensor(s)))
    del engine.a, torch.a


# -- quantile / nanquantile ---------------------------------------------------------------------

def test_tensor_from_python_floats_in_float64_does_not_round_through_float32():
    """tensor(0.3, dtype=float64) is the double 0.3 (quantile's ranks q * (n - 1) depend on it)."""
    assert engine.tensor(0.3, dtype=engine.float64).item() == 0.3
    assert engine.tensor([[0.1, 2]], dtype=engine.float64).tolist() == [[0.1, 2.0]]
    assert engine.scalar_tensor(0.3, dtype=engine.float64).item() == 0.3
    assert engine.tensor(0.3).item() == float(np.float32(0.3))


QX = np.random.default_rng(4).permutation(24).reshape(2, 3, 4) * 0.37 - 4.0      # distinct values
QNAN = QX.copy()
QNAN[0, 1, 2] = QNAN[1, 0, 0] = QNAN[1, 0, 3] = np.nan


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_gradcheck_and_torch(name, interpolation):
    """All dims, keepdim, float and 1-D q (0, 1 and ranks landing exactly on an element included)."""
    for dim in (None, 0, 1, -1):
        for keepdim in (False, True):
            for q in (0.3, 0.0, 1.0, [0.1, 0.5, 0.75, 1.0]):
                def fn(m, a):
                    qq = q if isinstance(q, float) else m.tensor(q, dtype=a.dtype)
                    return getattr(m, name)(a, qq, dim, keepdim, interpolation=interpolation)
                _same_values_and_grads(fn, [QX])
                if dim in (None, 1) and keepdim is False:
                    assert gradcheck(lambda a: fn(engine, a), [_t(QX)])


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
def test_quantile_with_nan_matches_torch(name):
    torch = pytest.importorskip("torch")
    for dim in (None, 0, 2):
        for interpolation in ("linear", "nearest", "midpoint"):
            for q in (0.5, [0.0, 0.45, 1.0]):
                e = getattr(engine, name)(engine.tensor(QNAN), q if isinstance(q, float) else engine.tensor(q, dtype=engine.float64),
                                          dim, interpolation=interpolation)
                t = getattr(torch, name)(torch.tensor(QNAN), q if isinstance(q, float) else torch.tensor(q, dtype=torch.float64),
                                         dim, interpolation=interpolation)
                np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=1e-15)   # NaN where torch has NaN
    x = [[1.0, float("nan")], [float("nan"), float("nan")]]
    assert repr(getattr(engine, name)(engine.tensor(x), 0.5, dim=1)) == repr(getattr(torch, name)(torch.tensor(x), 0.5, dim=1))


def test_quantile_printing_0d_and_float32():
    torch = pytest.importorskip("torch")
    for call in (lambda m: m.quantile(m.tensor(3.), 0.5, dim=0), lambda m: m.tensor(3.).quantile(0.2, keepdim=True),
                 lambda m: m.arange(10.).reshape(2, 5).quantile(m.tensor([0.1, 0.9]), dim=1, keepdim=True),
                 lambda m: m.tensor([1., 2., 4.], requires_grad=True).nanquantile(0.3)):
        assert repr(call(engine)) == repr(call(torch))


def test_quantile_errors():
    torch = pytest.importorskip("torch")
    calls = [lambda m, f: f(m.a, 1.5), lambda m, f: f(m.a, 2.0), lambda m, f: f(m.a, -0.1),
             lambda m, f: f(m.a, m.tensor([0.2, 1.2])), lambda m, f: f(m.a, m.tensor([[0.2]])),
             lambda m, f: f(m.a.long(), 0.5), lambda m, f: f(m.a, m.tensor(0.5, dtype=m.float64)),
             lambda m, f: f(m.zeros(0), 0.5), lambda m, f: f(m.a, 0.5, interpolation="cubic"),
             lambda m, f: f(m.a, 0.5, dim=2), lambda m, f: f(m.a, 1e-7 - 1)]
    for m in (engine, torch):
        m.a = m.ones(3, 4)
    try:
        for name in ("quantile", "nanquantile"):
            for c in calls:
                _errors(lambda: c(engine, getattr(engine, name)), lambda: c(torch, getattr(torch, name)))
    finally:
        del engine.a, torch.a


# -- scatter_reduce -------------------------------------------------------------------------------

SX = np.random.default_rng(5).uniform(-2, 2, (3, 4))
SS = np.random.default_rng(6).uniform(-2, 2, (3, 3))
SR = [[0, 1, 0], [2, 3, 3], [3, 3, 1]]


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_gradcheck_and_torch(reduce, include_self):
    def fn(m, a, b):
        return a.scatter_reduce(1, m.tensor(SR), b, reduce, include_self=include_self)
    assert gradcheck(lambda a, b: fn(engine, a, b), [_t(SX), _t(SS)])
    _same_values_and_grads(fn, [SX, SS])
    # zeros (prod's single and double zeros) and ties (amax/amin split the gradient), along dim 0
    x, s = SX.copy(), SS.copy()
    x[1, 2] = s[0, 0] = s[2, 1] = s[2, 2] = 0.0
    s[1, 1] = x[3 % 3, 1]
    s[0, 2] = s[1, 2]
    for dim, idx in ((1, SR), (0, [[0, 1, 2], [2, 2, 0], [0, 0, 0]])):
        _same_values_and_grads(lambda m, a, b: m.scatter_reduce(a, dim, m.tensor(idx), b, reduce,
                                                                include_self=include_self), [x, s])


def test_scatter_reduce_in_place_integers_printing_and_errors():
    torch = pytest.importorskip("torch")
    for m in (engine, torch):
        m.a = m.zeros(2, 3)
    try:
        for reduce in ("sum", "prod", "mean", "amax", "amin"):
            for inc in (True, False):
                e = engine.tensor([[1, 2, 3]]).scatter_reduce(1, engine.tensor([[0, 0, 2]]), engine.tensor([[5, 7, 9]]),
                                                              reduce, include_self=inc)
                t = torch.tensor([[1, 2, 3]]).scatter_reduce(1, torch.tensor([[0, 0, 2]]), torch.tensor([[5, 7, 9]]),
                                                             reduce, include_self=inc)
                assert repr(e) == repr(t)
        e, t = engine.a.clone(), torch.a.clone()
        e.scatter_reduce_(0, engine.tensor([[1, 0, 1]]), engine.tensor([[5., 7, 9]]), "amax", include_self=False)
        t.scatter_reduce_(0, torch.tensor([[1, 0, 1]]), torch.tensor([[5., 7, 9]]), "amax", include_self=False)
        assert repr(e) == repr(t)
        calls = [lambda m: m.a.scatter_reduce(0, m.tensor([[0]]), m.ones(1, 1), "foo"),
                 lambda m: m.a.scatter_reduce(0, m.tensor([[0.]]), m.ones(1, 1), "sum"),
                 lambda m: m.a.scatter_reduce(0, m.tensor([[0]]), m.ones(1, 1, dtype=m.float64), "sum"),
                 lambda m: m.a.scatter_reduce(0, m.tensor([[5]]), m.ones(1, 1), "sum"),
                 lambda m: m.a.scatter_reduce(1, m.tensor([[-1]]), m.ones(1, 1), "sum"),
                 lambda m: m.a.scatter_reduce(0, m.tensor([0]), m.ones(1, 1), "sum"),
                 lambda m: m.a.scatter_reduce(0, m.tensor([[0, 0, 0, 0]]), m.ones(1, 4), "sum")]
        for c in calls:
            _errors(lambda: c(engine), lambda: c(torch))
    finally:
        del engine.a, torch.a
