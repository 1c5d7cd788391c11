"""engine.nn.functional: every differentiable op through gradcheck (float64 central
differences) and, where it applies, gradgradcheck — one table of ops and sample inputs."""
import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine.autograd import gradcheck, gradgradcheck

R = np.random.default_rng(0)


def t(*shape, scale=1.0, low=None, high=None):
    """A float64 sample input that requires grad."""
    if low is not None:
        a = R.uniform(low, high, shape)
    else:
        a = R.standard_normal(shape) * scale
    return engine.tensor(a, dtype=engine.float64, requires_grad=True)


def const(a, dtype=engine.float64):
    return engine.tensor(np.asarray(a), dtype=dtype)


def away_from_zero(*shape):
    a = R.standard_normal(shape)
    return engine.tensor(np.where(np.abs(a) < 0.1, 0.5, a), requires_grad=True)


def classes(*shape, n=4):
    return engine.tensor(R.integers(0, n, shape))


def seeded_dropout(x):
    engine.manual_seed(0)
    return F.dropout(x, p=0.3)


# name: (function, inputs, also check second order)
OPS = {
    "linear": (F.linear, [t(3, 4), t(2, 4), t(2)], True),
    "linear-no-bias": (lambda x, w: F.linear(x, w), [t(2, 3, 4), t(5, 4)], True),
    "relu": (F.relu, [away_from_zero(3, 4)], False),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), [away_from_zero(3, 4)], True),
    "sigmoid": (F.sigmoid, [t(3, 4)], True),
    "tanh": (F.tanh, [t(3, 4)], True),
    "gelu": (F.gelu, [t(3, 4)], True),
    "gelu-tanh": (lambda x: F.gelu(x, approximate="tanh"), [t(3, 4)], True),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=4.0), [t(4, 4, scale=2.0)], True),
    "softmax": (lambda x: F.softmax(x, dim=1), [t(3, 4)], True),
    "log_softmax": (lambda x: F.log_softmax(x, dim=0), [t(3, 4)], True),
    "dropout": (seeded_dropout, [t(5, 4)], True),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b), [t(2, 2, 5, 4), t(3, 2, 3, 2), t(3)], True),
    "conv2d-stride-pad-dilation": (
        lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
        [t(1, 2, 6, 5), t(2, 2, 2, 3)], True),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [t(2, 2, 4, 4)], True),
    "max_pool2d-overlap-pad-ceil": (
        lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), [t(1, 2, 6, 5)], True),
    "embedding": (lambda w, i=const([[0, 2], [2, 3]], engine.int64): F.embedding(i, w), [t(4, 3)],
                  True),
    "batch_norm-training": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                            [t(5, 3), t(3), t(3)], True),
    "batch_norm-eval": (lambda x, w, b, m=const([0.1, -0.2, 0.3]), v=const([1.0, 2.0, 0.5]):
                        F.batch_norm(x, m, v, w, b, training=False), [t(5, 3), t(3), t(3)], True),
    "batch_norm-training-3d": (lambda x: F.batch_norm(x, None, None, training=True),
                               [t(4, 2, 3)], True),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [t(3, 4), t(4), t(4)], True),
    "mse_loss": (F.mse_loss, [t(3, 4), t(3, 4)], True),
    "l1_loss": (lambda a: F.l1_loss(a, engine.zeros_like(a)), [away_from_zero(3, 4)], False),
    "huber_loss": (lambda a, b: F.huber_loss(a, b, delta=0.7), [t(4, 4), t(4, 4)], True),
    "smooth_l1_loss": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), [t(4, 4), t(4, 4)], True),
    "binary_cross_entropy": (F.binary_cross_entropy,
                             [t(3, 4, low=0.1, high=0.9), t(3, 4, low=0, high=1)], True),
    "binary_cross_entropy_with_logits": (
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum"),
        [t(3, 4, scale=3.0), t(3, 4, low=0, high=1)], True),
    "binary_cross_entropy_with_logits-pos_weight": (
        lambda x, y, w=const([0.5, 2.0, 1, 3]): F.binary_cross_entropy_with_logits(x, y,
                                                                                  pos_weight=w),
        [t(3, 4, scale=3.0), t(3, 4, low=0, high=1)], True),
    "binary_cross_entropy_with_logits-all-inputs": (     # weight and pos_weight differentiated too
        lambda x, y, w, p: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=p),
        [t(3, 4, scale=3.0), t(3, 4, low=0, high=1), t(3, 4, low=0.2, high=2),
         t(4, low=0.5, high=3)], True),
    "binary_cross_entropy_with_logits-none-broadcast-weight": (
        lambda x, y, w: F.binary_cross_entropy_with_logits(x, y, weight=w, reduction="none"),
        [t(3, 4, scale=3.0), t(3, 4, low=0, high=1), t(4, low=0.2, high=2)], True),
    "nll_loss": (lambda x, c=classes(5): F.nll_loss(x, c), [t(5, 4)], True),
    "nll_loss-weight-none": (lambda x, c=classes(5): F.nll_loss(
        x, c, weight=const([1, 2, 3, 4.]), reduction="none"), [t(5, 4)], True),
    "cross_entropy": (lambda x, c=classes(5): F.cross_entropy(x, c), [t(5, 4)], True),
    "cross_entropy-k-dim-smoothing": (
        lambda x, c=classes(2, 3): F.cross_entropy(x, c, label_smoothing=0.2), [t(2, 4, 3)],
        True),
    "cross_entropy-probabilities": (F.cross_entropy, [t(5, 4), t(5, 4, low=0, high=1)], True),
}


@pytest.mark.parametrize("name", OPS)
def test_gradcheck(name):
    fn, inputs, second_order = OPS[name]
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
    if second_order:
        assert gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_catches_a_wrong_formula():
    """The table above can fail: a deliberately wrong backward is caught."""
    class WrongSquare(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x                 # should be 2 * x
    with pytest.raises(Exception):
        gradcheck(WrongSquare.apply, [t(3)], eps=1e-6, atol=1e-5, rtol=1e-3)


def test_conv2d_values_match_a_direct_loop():
    x = R.standard_normal((1, 2, 5, 5))
    w = R.standard_normal((3, 2, 3, 3))
    out = F.conv2d(const(x), const(w), stride=2, padding=1).numpy()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros((1, 3, 3, 3))
    for o in range(3):
        for i in range(3):
            for j in range(3):
                expected[0, o, i, j] = (padded[0, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3] * w[o]).sum()
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_conv2d_and_pooling_shape_errors_are_clear():
    with pytest.raises(RuntimeError, match=r"expected input\[1, 3, 5, 5\] to have 2 channels, but got 3"):
        F.conv2d(engine.zeros(1, 3, 5, 5), engine.zeros(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(engine.zeros(1, 1, 2, 2), engine.zeros(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="expected input.* to have 4 channels, but got 2"):
        F.conv2d(engine.zeros(1, 2, 5, 5), engine.zeros(2, 2, 3, 3), groups=2)


def test_softplus_is_linear_above_threshold_and_finite_for_large_inputs():
    x = engine.tensor([-1000.0, 0.0, 30.0, 1000.0], requires_grad=True)
    y = F.softplus(x)
    np.testing.assert_allclose(y.detach().numpy(), [0.0, np.log(2.0), 30.0, 1000.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 1.0, 1.0])


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(engine.tensor([0, 2]), 3).numpy(),
                                  [[1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize("use_module", [False, True])
def test_relu_inplace_changes_its_input_like_pytorch(use_module):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (engine, torch):
        a = lib.tensor([-1.0, 2.0, -3.0, 0.5], dtype=lib.float64, requires_grad=True)
        x = a * 1
        y = lib.nn.ReLU(inplace=True)(x) if use_module else lib.nn.functional.relu(x, inplace=True)
        (y * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
        results.append((y is x, x.detach().tolist(), y.grad_fn.name(), a.grad.tolist()))
    assert results[0] == results[1]
    assert results[0][0] is True


@pytest.mark.parametrize("case", ["max_pool2d", "embedding"])
def test_first_order_backward_nodes_carry_pytorchs_names_and_differentiate_like_pytorch(case):
    """With create_graph=True the gradient of max_pool2d and embedding is a node of its own,
    named as PyTorch names it (one class per name), and its derivative is PyTorch's."""
    torch = pytest.importorskip("torch")
    if case == "max_pool2d":
        a = R.standard_normal((2, 3, 6, 6))
        run = lambda m, f, x: f.max_pool2d(x, 3, stride=1, padding=1)     # noqa: E731  overlapping windows
        name = "MaxPool2DWithIndicesBackwardBackward0"
    else:
        a = R.standard_normal((5, 4))
        idx = np.array([[0, 2, 2], [4, 1, 0]])
        run = lambda m, f, w: f.embedding(m.tensor(idx), w, padding_idx=2)  # noqa: E731
        name = "EmbeddingDenseBackwardBackward0"
    results = []
    for m, f in ((engine, F), (torch, torch.nn.functional)):
        x = m.tensor(a, dtype=m.float64, requires_grad=True)
        g, = m.autograd.grad((run(m, f, x) ** 2).sum(), x, create_graph=True)
        assert g.grad_fn.name() == name
        h, = m.autograd.grad((g * g).sum(), x)
        results.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
