"""engine.utils.checkpoint: the same gradients as a plain call, with less memory held."""
import tracemalloc

import numpy as np
import pytest

import engine
import engine.nn as nn
from engine.utils.checkpoint import checkpoint, checkpoint_sequential


def make_model(dropout=0.0):
    engine.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(dropout), nn.Linear(8, 8),
                         nn.ReLU(), nn.Linear(8, 2))


def grads(model, x):
    return [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in model.parameters()]


def run(call, dropout=0.0):
    model = make_model(dropout)
    x = engine.tensor(np.random.default_rng(1).standard_normal((5, 4)), dtype=engine.float32,
                      requires_grad=True)
    engine.manual_seed(42)
    out = call(model, x)
    (out ** 2).sum().backward()
    return out.detach().numpy(), grads(model, x)


CALLS = {
    "module": lambda m, x: checkpoint(m, x, use_reentrant=False),
    "closure": lambda m, x: checkpoint(lambda inp: m(inp) * 2, x, use_reentrant=False) / 2,
    "bound-method": lambda m, x: checkpoint(m.forward, x, use_reentrant=False),
    "sequential": lambda m, x: checkpoint_sequential(m, 3, x),
}


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_checkpoint_gradients_equal_plain_gradients(name, dropout):
    plain_out, plain_grads = run(lambda m, x: m(x), dropout)
    out, ck_grads = run(CALLS[name], dropout)
    np.testing.assert_allclose(out, plain_out, rtol=1e-6)
    for a, b in zip(ck_grads, plain_grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_autograd_grad_reaches_parameters_through_a_checkpoint():
    model = make_model()
    x = engine.randn(3, 4)
    plain = engine.autograd.grad(model(x).sum(), list(model.parameters()))
    through = engine.autograd.grad(checkpoint(model, x).sum(), list(model.parameters()))
    for a, b in zip(through, plain):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_tensors_captured_by_a_closure_get_gradients():
    w = engine.tensor([2.0, 3.0], requires_grad=True)
    x = engine.tensor([1.0, 4.0], requires_grad=True)
    checkpoint(lambda v: (v * w).sum() ** 2, x).backward()
    np.testing.assert_allclose(w.grad.numpy(), [2 * 14 * 1.0, 2 * 14 * 4.0])
    np.testing.assert_allclose(x.grad.numpy(), [2 * 14 * 2.0, 2 * 14 * 3.0])


def test_under_no_grad_checkpoint_is_a_plain_call():
    model = make_model()
    with engine.no_grad():
        out = checkpoint(model, engine.randn(2, 4))
    assert out.grad_fn is None


def test_checkpoint_holds_less_memory_between_forward_and_backward():
    engine.manual_seed(0)
    blocks = [nn.Sequential(nn.Linear(256, 256), nn.Tanh(), nn.Linear(256, 256), nn.Tanh(),
                            nn.Linear(256, 256), nn.Tanh()) for _ in range(4)]
    x = engine.randn(512, 256, requires_grad=True)

    def held_bytes(forward):
        tracemalloc.start()
        out = forward()
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        out.sum().backward()
        return held

    def plain():
        h = x
        for block in blocks:
            h = block(h)
        return h

    def checkpointed():
        h = x
        for block in blocks:
            h = checkpoint(block, h)
        return h

    assert held_bytes(checkpointed) < held_bytes(plain) / 2


GLOBAL_LAYER = nn.Linear(3, 2)


def uses_a_global_layer(x):
    return GLOBAL_LAYER(x).tanh()


def test_parameters_reached_only_through_globals_still_get_gradients():
    x = engine.randn(4, 3, requires_grad=True)
    GLOBAL_LAYER.zero_grad()
    uses_a_global_layer(x).sum().backward()
    expected = [GLOBAL_LAYER.weight.grad.numpy().copy(), x.grad.numpy().copy()]
    GLOBAL_LAYER.zero_grad()
    x.grad = None
    checkpoint(uses_a_global_layer, x).sum().backward()
    np.testing.assert_allclose(GLOBAL_LAYER.weight.grad.numpy(), expected[0], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), expected[1], rtol=1e-6)


def test_recomputation_repeats_the_forward_autocast_setting():
    layer = nn.Linear(4, 3)
    x = engine.randn(2, 4, requires_grad=True)
    with engine.autocast("cpu"):
        plain = layer(x).float().sum()
    plain.backward()
    expected = layer.weight.grad.numpy().copy()
    layer.zero_grad()
    with engine.autocast("cpu"):
        out = checkpoint(layer, x)
    assert out.dtype == engine.bfloat16                 # cpu autocast's default, as in PyTorch
    out.float().sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), expected)
