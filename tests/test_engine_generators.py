"""engine.Generator: independent random streams like torch.Generator. Draws with `generator=g`
are PyTorch's bit for bit (torch.Generator seeded alike) and leave the global stream alone;
get_state is PyTorch's state bytes; nn.init, RandomSampler, DataLoader and random_split take
generator= as in PyTorch."""
import copy
import pickle
import platform

import numpy as np
import pytest

from tests.torch_compare import intel_mkl

import engine
from engine.nn import init
from engine.utils.data import DataLoader, RandomSampler, TensorDataset, random_split

try:
    import torch
except ImportError:      # the engine-only checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _intel_mkl() -> bool:
    return intel_mkl(torch)


# PyTorch's float32 normal fill of >= 16 values is AVX2 code only on x86-64 (the engine
# reproduces that one), and an MKL build on an Intel CPU draws bernoulli(p) and exponential_
# through MKL: those comparisons with PyTorch hold only on the other platforms
X86_64 = platform.machine().lower() in ("x86_64", "amd64")
AVX2_NORMAL = {"randn40", "normal_tensor_mean", "normal_"}
MKL_DRAWS = {"bernoulli_", "exponential_", "exponential_f32"}

# (name, draw(M, g)): each draw in engine (M=engine) and in PyTorch (M=torch) from generator g
DRAWS = [
    ("randn5", lambda M, g: M.randn(5, generator=g)),
    ("randn40", lambda M, g: M.randn(40, generator=g)),
    ("randn17_f64", lambda M, g: M.randn(17, dtype=M.float64, generator=g)),
    ("rand", lambda M, g: M.rand(20, 1, generator=g)),
    ("rand_f64", lambda M, g: M.rand(3, dtype=M.float64, generator=g)),
    ("randint", lambda M, g: M.randint(0, 10, (7,), generator=g)),
    ("randint_high", lambda M, g: M.randint(high=5, size=(6,), generator=g)),
    ("randperm", lambda M, g: M.randperm(9, generator=g)),
    ("normal_sized", lambda M, g: M.normal(2.0, 3.0, (5,), generator=g)),
    ("normal_tensor_mean", lambda M, g: M.normal(M.ones(20) * 2, 1.5, generator=g)),
    ("normal_tensor_std", lambda M, g: M.normal(0.5, M.ones(3) * 2, generator=g)),
    ("bernoulli", lambda M, g: M.bernoulli(M.full((20,), 0.3), generator=g)),
    ("bernoulli_f64", lambda M, g: M.bernoulli(M.full((20,), 0.3, dtype=M.float64), generator=g)),
    ("rand_like", lambda M, g: M.rand_like(M.zeros(3), generator=g)),
    ("randn_like", lambda M, g: M.randn_like(M.zeros(4), generator=g)),
    ("randint_like", lambda M, g: M.randint_like(M.zeros(4), 3, 9, generator=g)),
    ("uniform_", lambda M, g: M.zeros(5).uniform_(-1, 2, generator=g)),
    ("normal_", lambda M, g: M.zeros(17).normal_(1, 2, generator=g)),
    ("normal_noncontiguous", lambda M, g: M.zeros(20, 2).t().normal_(generator=g)),
    ("bernoulli_", lambda M, g: M.empty(20).bernoulli_(0.4, generator=g)),
    ("uniform_transposed", lambda M, g: M.zeros(3, 5).t().uniform_(generator=g)),
    ("bernoulli_tensor_p_transposed", lambda M, g: M.zeros(4, 6).t().bernoulli_(M.rand(6, 4, generator=g), generator=g)),
    ("random_sliced", lambda M, g: M.zeros(4, 6, dtype=M.int64)[:, ::2].random_(0, 50, generator=g)),
    ("normal_permuted", lambda M, g: M.zeros(2, 3, 4).permute(2, 0, 1).normal_(generator=g)),
    ("random_to", lambda M, g: M.empty(6, dtype=M.int64).random_(10, generator=g)),
    ("random_from_to", lambda M, g: M.empty(6, dtype=M.int32).random_(3, 10, generator=g)),
    ("random_from_open", lambda M, g: M.empty(6, dtype=M.int8).random_(5, None, generator=g)),
    ("random_from_open_float", lambda M, g: M.empty(6).random_(5, None, generator=g)),
    ("random_from_open_bool", lambda M, g: M.empty(6, dtype=M.bool).random_(0, None, generator=g)),
    ("exponential_", lambda M, g: M.empty(300, dtype=M.float64).exponential_(1.3, generator=g)),
    ("exponential_f32", lambda M, g: M.empty(300).exponential_(0.7, generator=g)),
] + [(f"random_full_{dt}", lambda M, g, dt=dt: M.empty(6, dtype=getattr(M, dt)).random_(generator=g))
     for dt in ("int64", "int32", "int16", "int8", "uint8", "bool", "float32", "float64", "float16")]


def _host(t):
    return t.numpy()


def _bits_equal(e, t):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(_host(e), t.numpy(), strict=True)


# ----------------------------------------------------------------------------- the Generator object
def test_a_fresh_generator_has_pytorchs_default_seed_and_manual_seed_returns_it():
    g = engine.Generator()
    assert g.initial_seed() == 67280421310721 and g.device == engine.device("cpu")
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    assert g.manual_seed(-1).initial_seed() == 2 ** 64 - 1           # wraps to 64 bits
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        g.manual_seed(2 ** 64)
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s


def test_default_generator_is_what_manual_seed_seeds():
    assert engine.manual_seed(5) is engine.default_generator
    assert engine.initial_seed() == engine.default_generator.initial_seed() == 5
    a = engine.rand(4)
    engine.default_generator.manual_seed(5)
    np.testing.assert_array_equal(engine.rand(4).numpy(), a.numpy())


@pytest.mark.parametrize("name,draw", DRAWS, ids=[n for n, _ in DRAWS])
def test_a_generator_is_its_own_stream(name, draw):
    """With g seeded like the global stream, g gives the global stream's numbers, and drawing
    from g leaves the global stream where it was."""
    engine.manual_seed(3)
    expected = draw(engine, None).numpy()
    after_expected = engine.rand(3).numpy()
    engine.manual_seed(11)
    untouched = engine.rand(3).numpy()

    engine.manual_seed(11)
    g = engine.Generator().manual_seed(3)
    np.testing.assert_array_equal(draw(engine, g).numpy(), expected)
    np.testing.assert_array_equal(engine.rand(3).numpy(), untouched)         # global not advanced
    np.testing.assert_array_equal(engine.rand(3, generator=g).numpy(), after_expected)


@needs_torch
@pytest.mark.parametrize("name,draw", DRAWS, ids=[n for n, _ in DRAWS])
def test_generator_draws_are_pytorchs_bit_for_bit(name, draw):
    if name in AVX2_NORMAL and not X86_64:
        pytest.skip("PyTorch's float32 normal fill is AVX2 code only on x86-64")
    if name in MKL_DRAWS and _intel_mkl():
        pytest.skip("this PyTorch draws bernoulli(p) and exponential_ through MKL on an Intel CPU")
    engine.manual_seed(11)
    torch.manual_seed(11)
    ge, gt = engine.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for _ in range(2):                      # twice: the second draw starts mid-stream
        _bits_equal(draw(engine, ge), draw(torch, gt))
        np.testing.assert_array_equal(ge.get_state().numpy(), gt.get_state().numpy())
    _bits_equal(engine.rand(5), torch.rand(5))           # both global streams still in step


@needs_torch
@pytest.mark.skipif(not X86_64, reason="PyTorch's float32 normal fill is AVX2 code only on x86-64")
def test_init_functions_take_a_generator_like_pytorch():
    fns = [lambda I, w, g: I.uniform_(w, -0.5, 2.0, generator=g),
           lambda I, w, g: I.normal_(w, 0.3, 2.0, generator=g),
           lambda I, w, g: I.xavier_uniform_(w, generator=g),
           lambda I, w, g: I.xavier_normal_(w, 0.7, generator=g),
           lambda I, w, g: I.kaiming_uniform_(w, a=5 ** 0.5, generator=g),
           lambda I, w, g: I.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g)]
    engine.manual_seed(0)
    torch.manual_seed(0)
    ge, gt = engine.Generator().manual_seed(42), torch.Generator().manual_seed(42)
    for fn in fns:
        for shape in ((6, 5), (3, 4, 2, 2)):
            _bits_equal(fn(init, engine.empty(*shape), ge), fn(torch.nn.init, torch.empty(*shape), gt))
    _bits_equal(engine.rand(3), torch.rand(3))


# ----------------------------------------------------------------------------- state
@needs_torch
def test_get_state_is_pytorchs_state_bytes_and_set_state_takes_them():
    ge, gt = engine.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    np.testing.assert_array_equal(ge.get_state().numpy(), gt.get_state().numpy())   # fresh
    for n in (3, 700):                      # odd normal count: the cached second value is saved too
        engine.randn(n, generator=ge)
        torch.randn(n, generator=gt)
        state = ge.get_state()
        assert state.dtype == engine.uint8 and tuple(state.shape) == (5056,)
        np.testing.assert_array_equal(state.numpy(), gt.get_state().numpy())
    gt2 = torch.Generator().set_state(torch.from_numpy(ge.get_state().numpy()))
    ge2 = engine.Generator().set_state(engine.from_numpy(gt.get_state().numpy()))
    _bits_equal(engine.randn(5, generator=ge2), torch.randn(5, generator=gt2))
    engine.manual_seed(4)
    torch.manual_seed(4)
    engine.rand(3)
    torch.rand(3)
    np.testing.assert_array_equal(engine.get_rng_state().numpy(), torch.get_rng_state().numpy())


def test_set_state_restores_the_stream_and_refuses_bad_states():
    g = engine.Generator().manual_seed(1)
    engine.randn(3, generator=g)
    state = g.get_state()
    a = engine.randn(5, generator=g)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(engine.randn(5, generator=g).numpy(), a.numpy())
    engine.manual_seed(2)
    saved = engine.get_rng_state()
    b = engine.rand(4)
    engine.set_rng_state(saved)
    np.testing.assert_array_equal(engine.rand(4).numpy(), b.numpy())
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(engine.zeros(5056))
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056 but found the "
                                           "input RNG state size to be 10"):
        g.set_state(engine.zeros(10, dtype=engine.uint8))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        g.set_state(engine.zeros(5056, dtype=engine.uint8))


def test_clone_state_deepcopy_and_pickle_continue_the_same_stream():
    g = engine.Generator().manual_seed(8)
    engine.randn(3, generator=g)
    copies = [g.clone_state(), copy.deepcopy(g), pickle.loads(pickle.dumps(g))]
    expected = engine.randn(7, generator=g).numpy()
    for c in copies:
        assert c is not g and c.initial_seed() == 8
        np.testing.assert_array_equal(engine.randn(7, generator=c).numpy(), expected)


def test_generator_of_the_wrong_type_is_refused_as_pytorch_refuses_it():
    with pytest.raises(TypeError, match="uniform_\\(\\): argument 'generator' must be torch.Generator, not int"):
        engine.zeros(3).uniform_(generator=3)
    with pytest.raises(TypeError, match="randn\\(\\): argument 'generator' must be torch.Generator, not str"):
        engine.randn(3, generator="3")


# ----------------------------------------------------------------------------- draws without a PyTorch twin
@pytest.mark.parametrize("draw", [
    lambda g: engine.multinomial(engine.tensor([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4]]), 5, True, generator=g),
    lambda g: engine.poisson(engine.full((6,), 3.0), generator=g),
    lambda g: engine.zeros(6).exponential_(2.0, generator=g)])
def test_multinomial_poisson_exponential_follow_their_generator(draw):
    engine.manual_seed(11)
    untouched = engine.rand(3).numpy()
    engine.manual_seed(11)
    a = draw(engine.Generator().manual_seed(6)).numpy()
    b = draw(engine.Generator().manual_seed(6)).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(engine.rand(3).numpy(), untouched)
    assert not np.array_equal(draw(engine.Generator().manual_seed(7)).numpy(), a)


# ----------------------------------------------------------------------------- data loading
def _loader_draws(M, gen):
    from importlib import import_module
    data = import_module(f"{M.__name__}.utils.data")
    ds = data.TensorDataset(M.arange(20).reshape(10, 2), M.arange(10))
    g = M.Generator().manual_seed(5) if gen else None
    out = []
    for shuffle in (True, True, False):
        out += [y.tolist() for _, y in data.DataLoader(ds, batch_size=3, shuffle=shuffle, generator=g)]
    out.append([list(s.indices) for s in data.random_split(ds, [4, 6], generator=g or M.default_generator)])
    out.append(list(data.RandomSampler(ds, replacement=True, num_samples=40, generator=g)))
    out.append(list(data.RandomSampler(ds, num_samples=13, generator=g)))
    out.append(M.rand(2).tolist())
    if g is not None:
        out.append(M.rand(2, generator=g).tolist())
    return out


@needs_torch
@pytest.mark.parametrize("gen", [False, True], ids=["global", "generator"])
def test_dataloader_sampler_and_random_split_orders_are_pytorchs(gen):
    engine.manual_seed(7)
    torch.manual_seed(7)
    assert _loader_draws(engine, gen) == _loader_draws(torch, gen)


def test_dataloader_with_a_generator_is_reproducible_and_leaves_the_global_stream_alone():
    ds = TensorDataset(engine.arange(10))

    def order(seed):
        g = engine.Generator().manual_seed(seed)
        return [int(x) for (b,) in DataLoader(ds, batch_size=4, shuffle=True, generator=g) for x in b]

    engine.manual_seed(0)
    untouched = engine.rand(2).numpy()
    engine.manual_seed(0)
    first = order(3)
    assert sorted(first) == list(range(10)) and order(3) == first and order(4) != first
    assert list(RandomSampler(ds, generator=engine.Generator().manual_seed(1))) == \
        list(RandomSampler(ds, generator=engine.Generator().manual_seed(1)))
    assert [s.indices for s in random_split(ds, [3, 7], generator=engine.Generator().manual_seed(2))] == \
        [s.indices for s in random_split(ds, [3, 7], generator=engine.Generator().manual_seed(2))]
    np.testing.assert_array_equal(engine.rand(2).numpy(), untouched)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(ds, num_samples=0)


# ----------------------------------------------------------------------------- devices
def test_cuda_generator_needs_cuda():
    if engine.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError):
        engine.Generator(device="cuda")


def test_cuda_draws_check_the_generators_device(fake_cuda):
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        engine.randn(3, device="cuda", generator=engine.Generator())
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
        engine.randn(3, generator=engine.Generator(device="cuda"))
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        engine.zeros(3, device="cuda").normal_(generator=engine.Generator())
    gc = engine.Generator(device="cuda").manual_seed(4)
    assert gc.device == engine.device("cuda", 0)
    engine.manual_seed(0)
    x = engine.randn(5, device="cuda", generator=gc)
    y = engine.zeros(5, device="cuda").uniform_(generator=gc)
    assert x.is_cuda and y.is_cuda
    gc.manual_seed(4)                           # the cuda stream repeats from its seed
    np.testing.assert_array_equal(x.cpu().numpy(), engine.randn(5, device="cuda", generator=gc).cpu().numpy())
    # cuda draws take nothing from the CPU's stream
    np.testing.assert_array_equal(engine.rand(2).numpy(), engine.manual_seed(0) and engine.rand(2).numpy())


from test_engine_fake_cuda import fake_cuda  # noqa: E402,F401  (the fixture)
