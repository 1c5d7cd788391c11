"""Seeded initialisation and dropout against PyTorch: after the same `manual_seed`, layers
start with bit-identical parameters and dropout draws the same mask as in PyTorch."""
import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")


def same_bits(ours, theirs):
    return np.array_equal(ours.detach().numpy(), theirs.detach().numpy())


def seeded(make, seed):
    """make(lib) run after lib.manual_seed(seed), in both libraries: (ours, theirs)."""
    engine.manual_seed(seed)
    ours = make(engine)
    torch.manual_seed(seed)
    return ours, make(torch)


LAYERS = {
    "linear": lambda lib: lib.nn.Linear(7, 5),
    "linear-wide": lambda lib: lib.nn.Linear(300, 33),
    "linear-float64": lambda lib: lib.nn.Linear(6, 4, dtype=lib.float64),
    "linear-no-bias": lambda lib: lib.nn.Linear(9, 2, bias=False),
    "conv2d": lambda lib: lib.nn.Conv2d(3, 8, 3),
    "sequential": lambda lib: lib.nn.Sequential(lib.nn.Linear(2, 16), lib.nn.Tanh(),
                                                lib.nn.Linear(16, 1)),
    "embedding-small": lambda lib: lib.nn.Embedding(3, 4),       # < 16 values: the scalar path
    "embedding-float64": lambda lib: lib.nn.Embedding(10, 4, dtype=lib.float64),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("seed", [0, 42])
def test_seeded_layers_start_with_pytorchs_exact_parameters(name, seed):
    ours, theirs = seeded(LAYERS[name], seed)
    names = [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == names
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert same_bits(p, q), n


INITS = {
    "kaiming_uniform_": lambda lib, w: lib.nn.init.kaiming_uniform_(w, a=0.1),
    "kaiming_uniform_-relu-fan_out": lambda lib, w: lib.nn.init.kaiming_uniform_(
        w, mode="fan_out", nonlinearity="relu"),
    "xavier_uniform_": lambda lib, w: lib.nn.init.xavier_uniform_(w),
    "xavier_uniform_-tanh-gain": lambda lib, w: lib.nn.init.xavier_uniform_(
        w, gain=lib.nn.init.calculate_gain("tanh")),
    "uniform_": lambda lib, w: lib.nn.init.uniform_(w, -0.37, 0.71),
    "normal_-few-values": lambda lib, w: lib.nn.init.normal_(w[:2, :3], 0.5, 0.1),
}


@pytest.mark.parametrize("name", INITS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_init_functions_draw_pytorchs_values(name, dtype):
    ours, theirs = seeded(lambda lib: INITS[name](lib, lib.empty(6, 5, 3,
                                                                 dtype=getattr(lib, dtype))), 3)
    assert same_bits(ours, theirs)


@pytest.mark.parametrize("init", ["xavier_normal_", "kaiming_normal_", "normal_"])
def test_normal_inits_draw_pytorchs_float64_values(init):
    ours, theirs = seeded(lambda lib: getattr(lib.nn.init, init)(
        lib.empty(7, 9, dtype=lib.float64)), 5)
    assert same_bits(ours, theirs)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_draws_pytorchs_mask(p, dtype):
    def run(lib):
        x = lib.arange(1.0, 61.0, dtype=getattr(lib, dtype)).reshape(6, 10).requires_grad_()
        functional = lib.nn.functional.dropout(x, p)
        layer = lib.nn.Dropout(p)(x)                      # a module in training mode
        (functional.sum() + 2 * layer.sum()).backward()
        return functional, layer, x.grad
    for ours, theirs in zip(*seeded(run, 11)):
        assert same_bits(ours, theirs)
