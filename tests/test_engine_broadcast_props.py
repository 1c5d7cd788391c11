"""Property test: binary ops on random broadcastable shapes give PyTorch's values, gradient
shapes and gradients (the engine reduces broadcast gradients in one place)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import engine

torch = pytest.importorskip("torch")

OPS = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / (b * b + 1),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "where": lambda m, a, b: m.where(a > b, a, b * 2),
    "pow": lambda m, a, b: (a * a + 1) ** b,
    "atan2ish": lambda m, a, b: m.tanh(a) * m.sigmoid(b) + m.exp(-(a - b) ** 2),
}


@st.composite
def broadcastable(draw):
    nd = draw(st.integers(0, 3))
    out = [draw(st.integers(1, 3)) for _ in range(nd)]
    def side():
        k = draw(st.integers(0, nd))
        return tuple(s if draw(st.booleans()) else 1 for s in out[nd - k:])
    return side(), side(), draw(st.sampled_from(sorted(OPS))), draw(st.integers(0, 10 ** 6))


@settings(max_examples=40, deadline=None)
@given(broadcastable())
def test_binary_ops_broadcast_like_torch(case):
    sa, sb, name, seed = case
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-2, 2, sa), rng.uniform(-2, 2, sb)
    grads = []
    for M in (engine, torch):
        x = M.tensor(a, dtype=M.float64, requires_grad=True)
        y = M.tensor(b, dtype=M.float64, requires_grad=True)
        out = OPS[name](M, x, y)
        out.sum().backward()
        grads.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for e, t in zip(*grads):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
