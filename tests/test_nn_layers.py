"""Every engine.nn layer and loss against PyTorch: same weights copied in, same input, same
upstream gradient; outputs, input gradients and parameter gradients must agree (float64)."""
import numpy as np
import pytest

import engine
import engine.nn as enn

torch = pytest.importorskip("torch")
tnn = torch.nn


def copy_weights(ours, theirs):
    ours.load_state_dict({k: engine.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


def run_both(make, inputs, train=True, float_inputs=(0,)):
    """Build the layer in both libraries (float64), copy the weights, run forward and backward
    with a random upstream gradient; return ((out, grads...) ours, (...) theirs)."""
    ours, theirs = make(enn).double(), make(tnn).double()
    copy_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    results = []
    for lib, module in ((engine, ours), (torch, theirs)):
        args = [lib.tensor(a, requires_grad=i in float_inputs) for i, a in enumerate(inputs)]
        out = module(*args)
        upstream = np.random.default_rng(1).standard_normal(tuple(out.shape))
        out.backward(lib.tensor(upstream))
        grads = [a.grad.numpy() for i, a in enumerate(args) if i in float_inputs]
        grads += [p.grad.numpy() for p in module.parameters()]
        results.append([out.detach().numpy()] + grads)
    return results


def assert_same(results, rtol=1e-9, atol=1e-11):
    ours, theirs = results
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


R = np.random.default_rng(0)


def randn(*shape):
    return R.standard_normal(shape)


LAYERS = {
    "linear": (lambda nn: nn.Linear(4, 3), [randn(5, 4)]),
    "linear-no-bias-3d": (lambda nn: nn.Linear(4, 3, bias=False), [randn(2, 5, 4)]),
    "conv2d": (lambda nn: nn.Conv2d(2, 3, 3), [randn(2, 2, 6, 5)]),
    "conv2d-stride-pad-dilation": (
        lambda nn: nn.Conv2d(2, 3, (3, 2), stride=2, padding=1, dilation=(1, 2)),
        [randn(2, 2, 7, 6)]),
    "conv2d-unbatched-no-bias": (lambda nn: nn.Conv2d(1, 2, 2, bias=False), [randn(1, 4, 4)]),
    "conv2d-same-padding": (lambda nn: nn.Conv2d(2, 3, 3, padding="same", dilation=2),
                            [randn(1, 2, 7, 6)]),
    "maxpool": (lambda nn: nn.MaxPool2d(2), [randn(2, 3, 6, 6)]),
    "maxpool-overlap-pad": (lambda nn: nn.MaxPool2d(3, stride=2, padding=1), [randn(2, 2, 7, 7)]),
    "maxpool-ceil": (lambda nn: nn.MaxPool2d(2, ceil_mode=True), [randn(1, 2, 5, 7)]),
    "flatten": (lambda nn: nn.Flatten(), [randn(2, 3, 4)]),
    "batchnorm-2d-input": (lambda nn: nn.BatchNorm1d(3), [randn(6, 3)]),
    "batchnorm-3d-input": (lambda nn: nn.BatchNorm1d(3), [randn(4, 3, 5)]),
    "layernorm": (lambda nn: nn.LayerNorm(4), [randn(3, 4)]),
    "layernorm-2d-shape": (lambda nn: nn.LayerNorm((3, 4)), [randn(2, 3, 4)]),
    "relu": (lambda nn: nn.ReLU(), [randn(4, 5)]),
    "leaky-relu": (lambda nn: nn.LeakyReLU(0.2), [randn(4, 5)]),
    "sigmoid": (lambda nn: nn.Sigmoid(), [randn(4, 5)]),
    "tanh": (lambda nn: nn.Tanh(), [randn(4, 5)]),
    "gelu": (lambda nn: nn.GELU(), [randn(4, 5)]),
    "gelu-tanh": (lambda nn: nn.GELU(approximate="tanh"), [randn(4, 5)]),
    "softplus": (lambda nn: nn.Softplus(beta=2.0, threshold=3.0), [randn(4, 5) * 3]),
    "softmax": (lambda nn: nn.Softmax(dim=1), [randn(4, 5)]),
    "log-softmax": (lambda nn: nn.LogSoftmax(dim=0), [randn(4, 5)]),
    "sequential": (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)),
                   [randn(5, 3)]),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_pytorch(name):
    make, inputs = LAYERS[name]
    assert_same(run_both(make, inputs))


def test_batchnorm_running_statistics_and_eval_mode_match_pytorch():
    x = randn(8, 3)
    ours, theirs = enn.BatchNorm1d(3).double(), tnn.BatchNorm1d(3).double()
    for _ in range(3):
        ours(engine.tensor(x))
        theirs(torch.tensor(x))
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, key).numpy(), getattr(theirs, key).numpy())
    assert_same(run_both(lambda nn: nn.BatchNorm1d(3), [x], train=False))


def test_embedding_matches_pytorch_including_padding_idx():
    idx = np.array([[1, 2, 0], [4, 2, 2]])
    for padding_idx in (None, 2):
        results = run_both(lambda nn: nn.Embedding(5, 3, padding_idx=padding_idx), [idx],
                           float_inputs=())
        assert_same(results)
    assert np.all(results[0][1][2] == 0)           # the padding row received no gradient


def test_dropout_is_identity_in_eval_and_scales_kept_elements_in_training():
    layer = enn.Dropout(p=0.25)
    x = engine.ones(2000, requires_grad=True)
    out = layer(x)
    kept = out.detach().numpy() != 0
    assert 0.70 < kept.mean() < 0.80
    np.testing.assert_allclose(out.detach().numpy()[kept], 1 / 0.75)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.detach().numpy())
    layer.eval()
    assert layer(x) is x


LOSSES = {
    "mse": (lambda nn: nn.MSELoss(), [randn(4, 3), randn(4, 3)]),
    "mse-sum": (lambda nn: nn.MSELoss(reduction="sum"), [randn(4, 3), randn(4, 3)]),
    "l1-none": (lambda nn: nn.L1Loss(reduction="none"), [randn(4, 3), randn(4, 3)]),
    "huber": (lambda nn: nn.HuberLoss(delta=0.5), [randn(6, 3) * 2, randn(6, 3)]),
    "smooth-l1": (lambda nn: nn.SmoothL1Loss(beta=0.5), [randn(6, 3) * 2, randn(6, 3)]),
    "smooth-l1-beta0": (lambda nn: nn.SmoothL1Loss(beta=0.0), [randn(6, 3), randn(6, 3)]),
    "bce": (lambda nn: nn.BCELoss(), [R.uniform(0.05, 0.95, (5, 2)), R.uniform(0, 1, (5, 2))]),
    "bce-none": (lambda nn: nn.BCELoss(reduction="none"),
                 [R.uniform(0.05, 0.95, (5,)), (R.uniform(0, 1, 5) > 0.5) * 1.0]),
    "bce-logits": (lambda nn: nn.BCEWithLogitsLoss(), [randn(5, 2) * 5, R.uniform(0, 1, (5, 2))]),
    "bce-logits-zero-logits": (lambda nn: nn.BCEWithLogitsLoss(),
                               [np.zeros((3, 2)), R.uniform(0, 1, (3, 2))]),
    "bce-logits-pos-weight": (
        lambda nn: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 0.5], dtype=torch.float64)
                                        if nn is tnn else engine.tensor([2.0, 0.5],
                                                                        dtype=engine.float64)),
        [randn(5, 2) * 3, R.uniform(0, 1, (5, 2))]),
    "bce-logits-weight-pos-weight-sum": (
        lambda nn: nn.BCEWithLogitsLoss(
            weight=(torch if nn is tnn else engine).tensor([0.3, 1.7], dtype=torch.float64
                                                           if nn is tnn else engine.float64),
            pos_weight=(torch if nn is tnn else engine).tensor([2.0, 0.5], dtype=torch.float64
                                                               if nn is tnn else engine.float64),
            reduction="sum"),
        [randn(5, 2) * 3, R.uniform(0, 1, (5, 2))]),
    "cross-entropy": (lambda nn: nn.CrossEntropyLoss(), [randn(6, 4), R.integers(0, 4, 6)]),
    "cross-entropy-sum": (lambda nn: nn.CrossEntropyLoss(reduction="sum"),
                          [randn(6, 4), R.integers(0, 4, 6)]),
    "cross-entropy-none-ignore": (lambda nn: nn.CrossEntropyLoss(reduction="none",
                                                                 ignore_index=1),
                                  [randn(6, 4), np.array([0, 1, 2, 3, 1, 0])]),
    "cross-entropy-weight-ignore": (
        lambda nn: nn.CrossEntropyLoss(ignore_index=3, weight=(torch if nn is tnn else engine)
                                       .tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64
                                               if nn is tnn else engine.float64)),
        [randn(6, 4), np.array([0, 1, 2, 3, 1, 0])]),
    "cross-entropy-label-smoothing": (lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1),
                                      [randn(6, 4), R.integers(0, 4, 6)]),
    "cross-entropy-probabilities": (lambda nn: nn.CrossEntropyLoss(),
                                    [randn(5, 3), R.dirichlet(np.ones(3), 5)]),
    "cross-entropy-probabilities-smoothing": (
        lambda nn: nn.CrossEntropyLoss(label_smoothing=0.2),
        [randn(5, 3), R.dirichlet(np.ones(3), 5)]),
    "cross-entropy-k-dim": (lambda nn: nn.CrossEntropyLoss(), [randn(2, 3, 4),
                                                              R.integers(0, 3, (2, 4))]),
    "cross-entropy-unbatched": (lambda nn: nn.CrossEntropyLoss(), [randn(4), np.array(2)]),
    "nll": (lambda nn: nn.NLLLoss(), [randn(6, 4), R.integers(0, 4, 6)]),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_matches_pytorch(name):
    make, inputs = LOSSES[name]
    float_inputs = (0, 1) if inputs[1].dtype.kind == "f" else (0,)
    assert_same(run_both(make, inputs, float_inputs=float_inputs))


def test_losses_refuse_mismatched_shapes_and_bad_targets():
    with pytest.raises(ValueError, match="must be the same as input size"):
        enn.BCELoss()(engine.zeros(3), engine.zeros(4))
    with pytest.raises(IndexError, match="Target 5 is out of bounds"):
        enn.CrossEntropyLoss()(engine.zeros(2, 3), engine.tensor([0, 5]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        enn.BCELoss()(engine.tensor([1.5]), engine.tensor([1.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        enn.MSELoss(reduction="average")


NODE_NAME_CASES = {
    "linear": lambda F, lib: F.linear(lib.ones(2, 3), lib.ones(4, 3, requires_grad=True),
                                      lib.ones(4, requires_grad=True)),
    "linear-3d": lambda F, lib: F.linear(lib.ones(2, 5, 3, requires_grad=True),
                                         lib.ones(4, 3), lib.ones(4)),
    "linear-no-bias": lambda F, lib: F.linear(lib.ones(2, 3, requires_grad=True), lib.ones(4, 3)),
    "cross_entropy": lambda F, lib: F.cross_entropy(lib.ones(2, 3, requires_grad=True),
                                                    lib.tensor([0, 2])),
    "conv2d": lambda F, lib: F.conv2d(lib.ones(1, 1, 4, 4, requires_grad=True),
                                      lib.ones(2, 1, 3, 3), lib.ones(2)),
    "max_pool2d": lambda F, lib: F.max_pool2d(lib.ones(1, 1, 4, 4, requires_grad=True), 2),
    "softplus": lambda F, lib: F.softplus(lib.ones(3, requires_grad=True)),
    "bce_with_logits": lambda F, lib: F.binary_cross_entropy_with_logits(
        lib.ones(3, requires_grad=True), lib.ones(3), reduction="none"),
    "bce_with_logits-mean-weights": lambda F, lib: F.binary_cross_entropy_with_logits(
        lib.ones(2, 3, requires_grad=True), lib.ones(2, 3), weight=lib.ones(3),
        pos_weight=lib.ones(3)),
    "mse": lambda F, lib: F.mse_loss(lib.ones(3, requires_grad=True), lib.zeros(3)),
    "l1": lambda F, lib: F.l1_loss(lib.ones(3, requires_grad=True), lib.zeros(3), reduction="sum"),
    "huber": lambda F, lib: F.huber_loss(lib.ones(3, requires_grad=True), lib.zeros(3)),
    "smooth_l1": lambda F, lib: F.smooth_l1_loss(lib.ones(3, requires_grad=True), lib.zeros(3)),
    "bce": lambda F, lib: F.binary_cross_entropy(lib.full((3,), 0.5, requires_grad=True),
                                                 lib.zeros(3)),
    "leaky_relu": lambda F, lib: F.leaky_relu(lib.ones(3, requires_grad=True)),
    "gelu": lambda F, lib: F.gelu(lib.ones(3, requires_grad=True), approximate="tanh"),
    "layer_norm": lambda F, lib: F.layer_norm(lib.randn(2, 3, requires_grad=True), (3,)),
    "batch_norm": lambda F, lib: F.batch_norm(lib.randn(4, 3, requires_grad=True), None, None,
                                              training=True),
    "embedding": lambda F, lib: F.embedding(lib.tensor([0, 1]), lib.ones(2, 3,
                                                                         requires_grad=True)),
}


@pytest.mark.parametrize("name", NODE_NAME_CASES)
def test_graph_nodes_carry_pytorch_names(name):
    """The debugger shows these names: the nodes a layer records are named as PyTorch's."""
    def chain(out):
        """Node names from the output down the first path (PyTorch's AccumulateGrad is
        spelled torch::autograd::AccumulateGrad)."""
        names, node = [], out.grad_fn
        while node is not None and len(names) < 3:
            names.append(node.name().replace("torch::autograd::", ""))
            node = next((n for n, _ in node.next_functions if n is not None), None)
        return names
    ours = chain(NODE_NAME_CASES[name](engine.nn.functional, engine))
    theirs = chain(NODE_NAME_CASES[name](torch.nn.functional, torch))
    assert ours == theirs


def test_max_pool_ties_and_nans_behave_like_pytorch():
    x = np.array([[[[1.0, 1.0, 0.0, 2.0],
                    [1.0, 0.5, np.nan, 2.0],
                    [3.0, 3.0, 0.0, 0.0],
                    [3.0, 3.0, 0.0, 0.0]]]])
    results = []
    for lib in (engine, torch):
        t = lib.tensor(x, requires_grad=True)
        out = lib.nn.functional.max_pool2d(t, 2)
        out.sum().backward()
        results.append((out.detach().numpy(), t.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])   # NaN compares equal here
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_bce_on_saturated_probabilities_matches_pytorch():
    p = np.array([0.0, 1.0, 1.0, 0.5], dtype=np.float32)
    t = np.array([1.0, 0.0, 1.0, 0.0], dtype=np.float32)
    results = []
    for lib in (engine, torch):
        x = lib.tensor(p, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy(x, lib.tensor(t))
        loss.backward()
        results.append((loss.item(), x.grad.numpy(), loss.grad_fn.name()))
    assert results[0][0] == pytest.approx(results[1][0])
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)
    assert results[0][2] == results[1][2]


def test_mse_with_mismatched_shapes_warns_and_broadcasts_like_pytorch():
    values = []
    for lib in (engine, torch):
        with pytest.warns(UserWarning, match="different to the input size"):
            values.append(lib.nn.MSELoss()(lib.tensor([[1.0], [2.0]]), lib.tensor([0.0, 3.0])))
    assert values[0].item() == pytest.approx(values[1].item())


def test_softmax_without_dim_warns_and_picks_pytorchs_dimension():
    x = np.random.default_rng(0).standard_normal((2, 3))
    outs = []
    for lib in (engine, torch):
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
            outs.append(lib.nn.Softmax()(lib.tensor(x)).numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12)


def test_max_pool_window_wholly_in_the_padding_gives_minus_inf_and_no_gradient():
    x = np.random.default_rng(0).standard_normal((1, 1, 1, 8))
    args = dict(kernel_size=(2, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1))
    t = engine.tensor(x, requires_grad=True)
    out = engine.nn.functional.max_pool2d(t, **args)
    expected = torch.nn.functional.max_pool2d(torch.tensor(x), **args).numpy()
    np.testing.assert_array_equal(out.detach().numpy(), expected)   # all -inf, as PyTorch
    out.masked_fill(out == -np.inf, 0.0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros_like(x))


def random_geometries(seed, count):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield (rng, dict(stride=tuple(int(v) for v in rng.integers(1, 4, 2)),
                         padding=tuple(int(v) for v in rng.integers(0, 2, 2)),
                         dilation=tuple(int(v) for v in rng.integers(1, 3, 2))),
               tuple(int(v) for v in rng.integers(1, 4, 2)),
               (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + tuple(
                   int(v) for v in rng.integers(3, 9, 2)))


def test_conv2d_and_max_pool2d_agree_with_pytorch_on_random_geometries():
    """Strides, paddings, dilations and kernel shapes drawn at random (seeded); a geometry
    PyTorch refuses must be refused here too."""
    checked = 0
    for rng, args, kernel, shape in random_geometries(0, 40):
        x = rng.standard_normal(shape)
        w = rng.standard_normal((2, shape[1]) + kernel)
        for name, call in (("conv2d", lambda F, lib, t: F.conv2d(t, lib.tensor(w), **args)),
                           ("max_pool2d", lambda F, lib, t: F.max_pool2d(t, kernel, **args))):
            try:
                theirs_in = torch.tensor(x, requires_grad=True)
                theirs = call(torch.nn.functional, torch, theirs_in)
            except RuntimeError:
                with pytest.raises((RuntimeError, ValueError)):
                    call(engine.nn.functional, engine, engine.tensor(x))
                continue
            if np.isinf(theirs.detach().numpy()).any():
                continue                      # PyTorch's backward is unsafe there
            ours_in = engine.tensor(x, requires_grad=True)
            ours = call(engine.nn.functional, engine, ours_in)
            upstream = rng.standard_normal(tuple(theirs.shape))
            theirs.backward(torch.tensor(upstream))
            ours.backward(engine.tensor(upstream))
            np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(),
                                       atol=1e-10, err_msg=f"{name} {args} {kernel} {shape}")
            np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(),
                                       atol=1e-10, err_msg=f"{name} grad {args} {kernel}")
            checked += 1
    assert checked > 40
