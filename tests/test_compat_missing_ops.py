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
