"""Seeded initialisation and dropout against PyTorch: after the same `manual_seed`, layers
start with bit-identical parameters and dropout draws the same mask as in PyTorch."""
import platform

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")

from tests.torch_compare import intel_mkl  # noqa: E402

# PyTorch's float32 normal fill is AVX2 code on x86-64 (the engine reproduces it); elsewhere
# it is plain C, and on Intel CPUs an MKL build draws bernoulli(p) through MKL
X86_64 = platform.machine().lower() in ("x86_64", "amd64")


needs_avx2_normal = pytest.mark.skipif(not X86_64, reason="PyTorch's float32 normal_ is "
                                       "AVX2 code only on x86-64")
needs_default_bernoulli = pytest.mark.skipif(intel_mkl(torch), reason="this PyTorch draws "
                                             "bernoulli through MKL on an Intel CPU")


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
    "embedding": pytest.param(lambda lib: lib.nn.Embedding(10, 7), marks=needs_avx2_normal),
    "embedding-float64": lambda lib: lib.nn.Embedding(10, 4, dtype=lib.float64),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS)
@pytest.mark.parametrize("seed", [0, 42])
def test_seeded_layers_start_with_pytorchs_exact_parameters(make, seed):
    ours, theirs = seeded(make, seed)
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
@pytest.mark.parametrize("dtype", [pytest.param("float32", marks=needs_avx2_normal), "float64"])
def test_normal_inits_draw_pytorchs_values(init, dtype):
    ours, theirs = seeded(lambda lib: getattr(lib.nn.init, init)(
        lib.empty(7, 9, dtype=getattr(lib, dtype))), 5)
    assert same_bits(ours, theirs)


@pytest.mark.parametrize("size", [16, 17, 31, 1000, 40099])
@pytest.mark.parametrize("dtype", [pytest.param("float32", marks=needs_avx2_normal), "float64"])
def test_randn_is_pytorchs_to_the_last_bit(size, dtype):
    ours, theirs = seeded(lambda lib: lib.randn(size, dtype=getattr(lib, dtype)), 7)
    assert same_bits(ours, theirs)
    ours, theirs = seeded(lambda lib: lib.empty(size, dtype=getattr(lib, dtype)).normal_(-2.0, 0.3), 8)
    assert same_bits(ours, theirs)


@needs_default_bernoulli
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


@needs_default_bernoulli
def test_inplace_dropout_writes_pytorchs_mask_into_its_input():
    def run(lib):
        x = lib.ones(4, 6, requires_grad=True)
        hidden, layer_hidden = x * 2, x * 3
        out = lib.nn.functional.dropout(hidden, 0.5, inplace=True)
        layer_out = lib.nn.Dropout(0.3, inplace=True)(layer_hidden)
        assert out is hidden and layer_out is layer_hidden and out.grad_fn.name() == "MulBackward0"
        (out.sum() + layer_out.sum()).backward()
        return out, layer_out, x.grad
    for ours, theirs in zip(*seeded(run, 2)):
        assert same_bits(ours, theirs)
