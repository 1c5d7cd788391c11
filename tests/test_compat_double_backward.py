"""Second derivatives through activations whose gradient masks the incoming gradient: as in
PyTorch, the first gradient (create_graph=True) is linked to the graph and a second one is
zeros, not missing."""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck, gradgradcheck
from engine.nn._activation_grads import hardtanh_backward, leaky_relu_backward, threshold_backward

F = engine.nn.functional

CASES = {
    "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x, -0.5, 0.5),
    "relu6": lambda lib, x: lib.nn.functional.relu6(x * 4),
    "relu6-direct": lambda lib, x: lib.nn.functional.relu6(x),
}


def _first_and_second(lib, name):
    x = lib.tensor([-1.0, 0.2, 0.7, 2.0], dtype=lib.float64, requires_grad=True)
    y = CASES[name](lib, x).sum()
    g, = lib.autograd.grad(y, x, create_graph=True)
    g2, = lib.autograd.grad(g.sum(), x)
    return g, g2


@pytest.mark.parametrize("name", CASES)
def test_first_gradient_is_linked_and_the_second_is_zeros(name):
    g, g2 = _first_and_second(engine, name)
    assert g.requires_grad and g.grad_fn is not None
    assert g2.tolist() == [0.0] * 4
    torch = pytest.importorskip("torch")
    tg, tg2 = _first_and_second(torch, name)
    np.testing.assert_array_equal(g.detach().numpy(), tg.detach().numpy())
    assert type(tg.grad_fn).__name__ == g.grad_fn.name()
    np.testing.assert_array_equal(g2.numpy(), tg2.numpy())


@pytest.mark.parametrize("fn", [lambda g, s: threshold_backward(g, s, 0.1),
                                lambda g, s: leaky_relu_backward(g, s, 0.2),
                                lambda g, s: hardtanh_backward(g, s, -0.3, 0.4)])
def test_backward_ops_gradcheck(fn):
    rng = np.random.default_rng(0)
    g = engine.tensor(rng.standard_normal(6), requires_grad=True)
    s = engine.tensor(rng.standard_normal(6), requires_grad=True)
    assert gradcheck(fn, [g, s]) and gradgradcheck(fn, [g, s])
