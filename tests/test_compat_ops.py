"""Op-level compatibility: size= on factories, indexing with range/lists under grad, the
next_functions repr, linspace's halves, first gradients of relu/leaky_relu linked for double
backward, float() warnings, cat's errors and set_default_device."""
import math
import warnings

import numpy as np
import pytest

import engine
from tests.torch_compare import same_error


@pytest.mark.parametrize("call", [
    lambda lib: lib.zeros(size=(2, 3)), lambda lib: lib.ones(size=[4]),
    lambda lib: lib.empty(size=(1, 2)).shape, lambda lib: lib.rand(size=(3,)),
    lambda lib: lib.randn(size=(2, 2)), lambda lib: lib.full(size=(2,), fill_value=1.5),
    lambda lib: lib.randint(0, 10, size=(3,)), lambda lib: lib.randint(5, size=(2,)),
    lambda lib: lib.normal(0.0, 1.0, size=(2,)),
])
def test_factories_take_size_as_a_keyword(call):
    torch = pytest.importorskip("torch")
    engine.manual_seed(0)
    torch.manual_seed(0)
    got, want = call(engine), call(torch)
    if isinstance(want, torch.Tensor):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
        assert got.dtype.__repr__() == repr(want.dtype)
    else:
        assert tuple(got) == tuple(want)
    same_error(lambda lib: lib.zeros(2, size=(3,)))


def test_indexing_with_range_and_lists_under_grad():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for lib in (engine, torch):
        y = lib.tensor(x, requires_grad=True)
        picked = y[range(2), lib.tensor([0, 2])] * 2 + y[[0, 2], [1, 3]] + y[range(1, 3)].sum()
        picked.sum().backward()
        results.append((picked.detach().numpy(), y.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b)


def test_next_functions_print_accumulate_grad_as_torch():
    x = engine.ones(2, requires_grad=True)
    node = (x * 2).sum().grad_fn.next_functions[0][0].next_functions[0][0]
    assert repr(node).startswith("<AccumulateGrad object at 0x")
    assert node.name() == "torch::autograd::AccumulateGrad"


@pytest.mark.parametrize("args", [(0, 2 * math.pi, 25), (-math.pi, math.pi, 2000), (3, -7, 11),
                                  (0.1, 0.9, 100), (0, 1, 1), (2, 5, 0), (-2.5, 7.25, 9)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_linspace_matches_torch_bit_for_bit(args, dtype):
    torch = pytest.importorskip("torch")
    got = engine.linspace(*args, dtype=getattr(engine, dtype)).numpy()
    want = torch.linspace(*args, dtype=getattr(torch, dtype)).numpy()
    np.testing.assert_array_equal(got, want)


DOUBLE = {
    "relu": lambda lib, x: lib.relu(x),
    "F.relu": lambda lib, x: lib.nn.functional.relu(x),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.1),
    "relu*x": lambda lib, x: lib.relu(x) * x,
    "leaky*x": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2) * x.exp(),
    "clamp*x": lambda lib, x: lib.clamp(x, -0.5, 0.5) * x,
    "clamp": lambda lib, x: lib.clamp(x, -0.5, 0.5),
}


@pytest.mark.parametrize("name", DOUBLE)
def test_second_derivatives_through_masking_activations_match_torch(name):
    torch = pytest.importorskip("torch")
    outs = []
    for lib in (engine, torch):
        x = lib.tensor([-1.0, 0.2, 0.7, 2.0], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(DOUBLE[name](lib, x).sum(), x, create_graph=True)
        if g.requires_grad:
            g2, = lib.autograd.grad(g.sum(), x, allow_unused=True)
        else:
            g2 = None
        outs.append((g.requires_grad, g.detach().numpy(), None if g2 is None else g2.numpy()))
    (r1, g1, h1), (r2, g2, h2) = outs
    assert r1 == r2
    np.testing.assert_allclose(g1, g2)
    assert (h1 is None) == (h2 is None)
    if h1 is not None:
        np.testing.assert_allclose(h1, h2)


def test_float_of_a_grad_tensor_warns_only_with_grad_on(monkeypatch):
    monkeypatch.setitem(engine._tensor._warned_once, "float", False)     # torch warns once a process
    t = engine.tensor(1.5, requires_grad=True) * 2
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True"):
        float(t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with engine.no_grad():
            assert float(t) == 3.0


def test_cat_errors_match_torch():
    same_error(lambda lib: lib.cat([lib.zeros(2, 5), lib.zeros(2, 3)]))
    same_error(lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]))


def test_default_device_and_device_context():
    assert engine.get_default_device() == engine.device("cpu")
    with engine.device("cpu"):
        assert engine.zeros(2).device.type == "cpu"
    engine.set_default_device("cpu")
    try:
        assert engine.randn(2).device.type == "cpu"
    finally:
        engine.set_default_device(None)
def test_saved_tensors_hooks_pack_and_unpack_every_saved_tensor():
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return t.detach() * 1

    def unpack(t):
        unpacked.append(tuple(t.shape))
        return t

    x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with engine.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = (x * x).exp().sum()
    assert packed                                   # mul saved x twice, exp its result
    y.backward()
    assert len(unpacked) >= len(packed)
    np.testing.assert_allclose(x.grad.numpy(), (2 * x * (x * x).exp()).detach().numpy(), rtol=1e-6)


def test_save_on_cpu_gives_the_same_gradients():
    x = engine.tensor([0.5, -1.0], requires_grad=True)
    with engine.autograd.graph.save_on_cpu():
        y = (x.tanh() * x).sum()
    y.backward()
    expected = (x.tanh() + x * (1 - x.tanh() ** 2)).detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def test_saved_tensors_hooks_match_torch_in_what_they_see():
    torch = pytest.importorskip("torch")
    seen = []
    for lib in (engine, torch):
        shapes = []
        x = lib.ones(2, 3, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: shapes.append(tuple(t.shape)) or t,
                                                    lambda t: t):
            (x * x).sum().backward()
        seen.append(sorted(shapes))
    assert seen[0] == seen[1]


def test_saved_tensors_hooks_cover_functions_inplace_checks_and_double_backward():
    torch = pytest.importorskip("torch")

    class Square(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g

    packed = []
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with engine.autograd.graph.saved_tensors_hooks(lambda t: packed.append(1) or t, lambda t: t):
        y = Square.apply(x).sum()
        z = x.exp()
    y.backward()
    assert packed and x.grad.tolist() == [2.0, 4.0]
    g, = engine.autograd.grad(z.sum(), x, create_graph=True)
    g2, = engine.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.numpy(), np.exp([1.0, 2.0]), rtol=1e-6)
    w = engine.tensor([1.0, 2.0], requires_grad=True) * 1
    with engine.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        loss = (w * w).sum()
    w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    for lib in (engine, torch):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with lib.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
                with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass


@pytest.mark.parametrize("n,replacement", [(1, False), (3, False), (1, True), (7, True)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multinomial_draws_torchs_indices(n, replacement, dtype):
    torch = pytest.importorskip("torch")
    probs = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.1, 0.3], [0.0, 0.0, 2.0, 1.0]]
    draws = []
    for lib in (engine, torch):
        lib.manual_seed(11)
        t = lib.tensor(probs, dtype=getattr(lib, dtype))
        draws.append((lib.multinomial(t, n, replacement).tolist(),
                       lib.multinomial(t[0], n, replacement).tolist()))
    assert draws[0] == draws[1]
    same_error(lambda lib: lib.multinomial(lib.tensor([0.5, 0.5]), 3))
    same_error(lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1))


def test_warnings_point_at_the_callers_line():
    with pytest.warns(UserWarning) as caught:
        engine.nn.functional.softmax(engine.ones(2, 2))                 # this line
        engine.tensor(engine.ones(1))
    assert {w.filename for w in caught} == {__file__}


def test_functional_embedding_max_norm_matches_torch():
    torch = pytest.importorskip("torch")
    w0 = np.random.default_rng(0).standard_normal((5, 3)) * 3
    outs = []
    for lib in (engine, torch):
        weight = lib.tensor(w0)
        y = lib.nn.functional.embedding(lib.tensor([0, 2, 2]), weight, max_norm=1.5)
        outs.append((y.numpy(), weight.numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_an_unpack_hook_that_returns_no_tensor_is_refused_as_pytorch_refuses_it():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with engine.autograd.graph.saved_tensors_hooks(lambda t: t, lambda packed: 3.0):
        y = x * x
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor but got result of type float"):
        y.sum().backward()
