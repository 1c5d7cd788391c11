"""engine.cuda as torch.cuda: synchronize, memory counts, cuda generators; and the engine on
a real GPU where one is present.

Tests taking `cuda_kind` run twice: on the stand-in CuPy of test_engine_fake_cuda (always;
it checks the plumbing and every number that is exact integer arithmetic, such as the
Philox streams), and on the real GPU (skipped with the reason when CUDA is unavailable).
Tests marked `real_cuda` run only on a real GPU; tools/gpu_check.sh runs them all there.
"""
import gc
import threading

import numpy as np
import pytest

import engine
from engine import _random_cuda, backend, nn
from engine.utils.checkpoint import checkpoint

from test_engine_fake_cuda import FACTORIES, STEPS, FakeArray, fake_cuda  # noqa: F401  (the fixture)
from test_engine_op_table import OPS, make_inputs

REAL = engine.cuda.is_available()
real_cuda = pytest.mark.skipif(not REAL, reason=f"CUDA unavailable: {engine.cuda.unavailable_reason()}")


@pytest.fixture(params=["fake", pytest.param("real", marks=real_cuda)])
def cuda_kind(request):
    """"fake": the stand-in CuPy is installed for the test; "real": the machine's GPU."""
    if request.param == "fake":
        request.getfixturevalue("fake_cuda")
    return request.param


@pytest.fixture
def no_cuda(monkeypatch):
    """CUDA unavailable, as on a machine without CuPy or a GPU (even where there is one)."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_status", (False, "no GPU in this test"))
    monkeypatch.setattr(_random_cuda, "_defaults", {})


def host(t):
    return t.detach().cpu().numpy()


# ----------------------------------------------------------------------------- without CUDA
def test_without_cuda_counts_are_zero_and_waiting_is_refused(no_cuda):
    c = engine.cuda
    assert (c.memory_allocated(), c.max_memory_allocated(), c.memory_reserved()) == (0, 0, 0)
    assert c.empty_cache() is None and c.reset_peak_memory_stats() is None
    assert c.default_generators == ()
    c.manual_seed(3)                # seeding is lazy, as in PyTorch: nothing to seed yet
    c.manual_seed_all(3)
    for f in (c.synchronize, c.initial_seed, c.get_rng_state, c.current_device):
        with pytest.raises(RuntimeError, match="CUDA was asked for but is not available: no GPU in this test"):
            f()
    with pytest.raises(RuntimeError, match="no GPU in this test"):
        engine.Generator(device="cuda")


# ----------------------------------------------------------------------------- synchronize, memory
def test_synchronize_waits_on_the_named_device(fake_cuda):
    cp = backend._cupy
    for device in (None, 0, "cuda", "cuda:0", engine.device("cuda", 0)):
        engine.cuda.synchronize(device)
    assert cp.synchronized == 5
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        engine.cuda.synchronize("cpu")


def test_memory_counts_follow_the_pool_and_the_peak_is_kept(fake_cuda, monkeypatch):
    cp = backend._cupy
    monkeypatch.setattr(backend, "_peak", {})
    backend._track_peak_memory(cp)            # as cuda_status does when CuPy loads
    alloc, c = cp.cuda.allocator, engine.cuda
    a, b = alloc(1000), alloc(500)
    assert c.memory_allocated() == 1500 and c.max_memory_allocated() == 1500
    a.free()
    assert c.memory_allocated() == 500 and c.max_memory_allocated("cuda:0") == 1500
    assert c.memory_reserved() == 1500        # the freed block stays cached
    c.reset_peak_memory_stats()
    assert c.max_memory_allocated() == 500
    alloc(200)
    assert c.max_memory_allocated(0) == 700
    c.empty_cache()
    assert c.memory_reserved() == 700 and c.memory_allocated() == 700
    b.free()
    assert c.max_memory_allocated() == 700


@real_cuda
def test_memory_counts_see_a_real_tensor():
    c = engine.cuda
    gc.collect()                                  # earlier tests' garbage is not freed mid-test
    before = c.memory_allocated()
    x = engine.empty(1 << 20, device="cuda")      # 4 MiB of float32
    assert c.memory_allocated() >= before + 4 * 2 ** 20
    c.reset_peak_memory_stats()
    peak = c.max_memory_allocated()
    y = x * 2                                     # another 4 MiB while both live
    assert c.max_memory_allocated() >= peak + 4 * 2 ** 20
    del x, y
    gc.collect()
    assert c.memory_allocated() == before
    assert c.max_memory_allocated() >= before + 8 * 2 ** 20
    c.empty_cache()
    assert c.memory_reserved() >= c.memory_allocated()


# ----------------------------------------------------------------------------- generators
KAT = [  # Random123's known answers for Philox4x32-10: counter, key, output
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter,key,expected", KAT)
def test_philox_gives_random123s_known_answers(counter, key, expected):
    words = _random_cuda.philox4x32_10(np, [np.array([c], np.uint64) for c in counter], key)
    assert tuple(int(w[0]) for w in words) == expected


def test_cuda_draws_run_on_the_device(fake_cuda, monkeypatch):
    """No draw makes its numbers on the host and copies them over: the stand-in's host-to-
    device copy is refused while they run, and NumPy functions on its arrays are too."""
    monkeypatch.setattr(FakeArray, "strict", True)
    cp = backend._cupy
    x = engine.zeros(4, 5, device="cuda")       # (zeros itself is made on the host and copied)
    half = x + 0.5

    def refuse(a, dtype=None):
        raise AssertionError("a host array was copied to the device")
    monkeypatch.setattr(cp, "asarray", refuse)
    draws = [engine.rand(7, device="cuda"), engine.randn(3, 17, device="cuda", dtype=engine.float64),
             engine.randint(0, 9, (6,), device="cuda"), engine.randperm(10, device="cuda"),
             engine.normal(0.0, 2.0, (5,), device="cuda"), engine.rand_like(x), engine.bernoulli(half),
             x.uniform_(-1, 2), x.normal_(1, 3), x.t().bernoulli_(0.3), x.exponential_(2.0), x.random_(0, 5),
             x.random_(), nn.functional.dropout(x, 0.5)]
    assert all(d.is_cuda for d in draws)


def test_cuda_draws_have_their_distributions(cuda_kind):
    engine.manual_seed(11)
    n = 200_000
    u = host(engine.rand(n, device="cuda"))
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.005
    u64 = host(engine.empty(n, dtype=engine.float64, device="cuda").uniform_(-2, 3))
    assert u64.min() >= -2 and u64.max() < 3 and abs(u64.mean() - 0.5) < 0.03
    for dtype in (engine.float32, engine.float64):
        z = host(engine.randn(n, device="cuda", dtype=dtype))
        assert z.dtype == dtype.np and abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
        assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.005         # the normal's shape, not just moments
    z = host(engine.normal(3.0, 0.5, (n,), device="cuda"))
    assert abs(z.mean() - 3) < 0.01 and abs(z.std() - 0.5) < 0.01
    b = host(engine.empty(n, device="cuda").bernoulli_(0.3))
    assert set(np.unique(b)) == {0.0, 1.0} and abs(b.mean() - 0.3) < 0.005
    p = engine.tensor([0.0, 1.0, 0.25], device="cuda").expand(n // 4, 3)
    b = host(engine.bernoulli(p))
    assert (b[:, 0] == 0).all() and (b[:, 1] == 1).all() and abs(b[:, 2].mean() - 0.25) < 0.01
    e = host(engine.empty(n, device="cuda").exponential_(4.0))
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.005
    r = host(engine.randint(-3, 4, (n,), device="cuda"))
    assert r.dtype == np.int64 and set(np.unique(r)) == set(range(-3, 4))
    assert sorted(host(engine.randperm(1000, device="cuda"))) == list(range(1000))
    big = host(engine.randint(0, 1 << 40, (1000,), device="cuda"))
    assert big.max() > 1 << 39


def test_cuda_seeds_repeat_streams_and_states_restore_them(cuda_kind):
    engine.manual_seed(5)                                       # seeds the cuda generators too
    a = host(engine.randn(40, device="cuda"))
    engine.cuda.manual_seed(5)
    assert np.array_equal(host(engine.randn(40, device="cuda")), a)
    engine.cuda.manual_seed_all(5)
    assert np.array_equal(host(engine.randn(40, device="cuda")), a)
    assert engine.cuda.initial_seed() == 5
    state = engine.cuda.get_rng_state()
    assert state.device.type == "cpu" and state.dtype == engine.uint8 and tuple(state.shape) == (16,)
    x = host(engine.rand(9, device="cuda"))
    engine.cuda.set_rng_state(state)
    assert np.array_equal(host(engine.rand(9, device="cuda")), x)
    g = engine.Generator(device="cuda").manual_seed(5)          # an own generator: the default's stream
    assert np.array_equal(host(engine.randn(40, device="cuda", generator=g)), a)
    twin = g.clone_state()
    assert np.array_equal(host(engine.rand(9, device="cuda", generator=twin)), x)
    assert g.device == engine.device("cuda", 0) and engine.cuda.default_generators[0].initial_seed() == 5
    with pytest.raises(RuntimeError, match="RNG state is wrong size: expected 16 bytes, got 5056"):
        g.set_state(engine.get_rng_state())


def test_cpu_and_cuda_streams_are_separate(cuda_kind):
    engine.manual_seed(2)
    c1 = engine.rand(5).numpy()
    engine.manual_seed(2)
    engine.rand(100, device="cuda")
    assert np.array_equal(engine.rand(5).numpy(), c1)


def test_dropout_on_cuda_masks_and_repeats_with_the_seed(cuda_kind):
    x = engine.ones(50, 40, device="cuda", requires_grad=True)
    masks = []
    for _ in range(2):
        engine.manual_seed(9)
        y = nn.functional.dropout(x, 0.25)
        y.sum().backward()
        assert y.is_cuda and set(np.unique(host(y))) <= {0.0, np.float32(1 / 0.75)}
        np.testing.assert_array_equal(host(x.grad), host(y))    # d(x * mask)/dx = mask
        masks.append(host(y))
        x.grad = None
    assert np.array_equal(*masks) and abs((masks[0] == 0).mean() - 0.25) < 0.03


def test_checkpoint_replays_cuda_dropout(cuda_kind):
    """checkpoint restores the cuda generators for its recomputation, as PyTorch does."""
    lin = nn.Linear(6, 6).to("cuda")
    block = nn.Sequential(lin, nn.Dropout(0.5), nn.Tanh())
    x = engine.randn(8, 6, device="cuda", requires_grad=True)
    grads = []
    for use_checkpoint in (False, True):
        engine.manual_seed(4)
        out = checkpoint(block, x, use_reentrant=True) if use_checkpoint else block(x)
        out.sum().backward()
        grads.append((host(x.grad), host(lin.weight.grad)))
        x.grad = lin.weight.grad = lin.bias.grad = None
    for plain, replayed in zip(*grads):
        np.testing.assert_allclose(replayed, plain, rtol=1e-6, atol=1e-6)


def test_host_drawn_multinomial_and_poisson_come_back_to_the_device(cuda_kind):
    engine.manual_seed(1)
    p = engine.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], device="cuda")
    m = engine.multinomial(p, 4, replacement=True)
    assert m.is_cuda and m.dtype == engine.int64
    assert (host(m)[0] == 1).all() and set(host(m)[1]) <= {0, 2}
    k = engine.poisson(engine.full((1000,), 3.0, device="cuda"))
    assert k.is_cuda and k.dtype == engine.float32 and abs(host(k).mean() - 3) < 0.3
    z = engine.normal(engine.full((1000,), 2.0, device="cuda"), 1.0)
    assert z.is_cuda and abs(host(z).mean() - 2) < 0.2


def test_linalg_errors_on_cuda_are_pytorchs(cuda_kind):
    """CuPy's solvers skip their error check unless asked (cupyx.errstate(linalg="raise")):
    a singular or indefinite matrix must still raise as on the CPU and in PyTorch."""
    singular = engine.tensor([[1.0, 2.0], [2.0, 4.0]], device="cuda")
    with pytest.raises(engine.linalg.LinAlgError, match="singular"):
        engine.linalg.inv(singular)
    with pytest.raises(engine.linalg.LinAlgError):
        engine.linalg.cholesky(engine.tensor([[1.0, 2.0], [2.0, 1.0]], device="cuda"))
    with pytest.raises(engine.linalg.LinAlgError, match="singular"):
        engine.linalg.solve(singular, engine.ones(2, 1, device="cuda"))
    assert engine.linalg.det(singular).item() == 0.0      # a determinant of 0 is an answer, not an error
    errors = []                                           # the setting is per thread: a worker thread too

    def worker():
        try:
            engine.linalg.inv(singular)
        except engine.linalg.LinAlgError as e:
            errors.append(e)
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert len(errors) == 1 and "singular" in str(errors[0])


@real_cuda
def test_philox_on_the_gpu_equals_philox_on_the_host():
    """The stream's integer arithmetic is exact on the device too (no float promotion of
    the uint64 words and constants)."""
    g = engine.Generator(device="cuda").manual_seed(2 ** 40 + 12345)
    on_device = g._words(backend.cupy(), 4099).get()
    g.manual_seed(2 ** 40 + 12345)
    np.testing.assert_array_equal(on_device, g._words(np, 4099))


# ----------------------------------------------------------------------------- the engine on a real GPU
def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    return torch


CASES = [(op, i) for op in OPS for i in range(len(op.samples))]


@real_cuda
@pytest.mark.parametrize("op,i", CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_op_table_in_float32_on_cuda_matches_torch_on_cuda(op, i):
    """dtypes (CuPy's promotion of Python scalars), values and gradients against PyTorch."""
    torch = _torch_cuda()
    arrays = make_inputs(op, op.samples[i])
    ex = [engine.tensor(a, dtype=engine.float32, device="cuda", requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, dtype=torch.float32, device="cuda", requires_grad=True) for a in arrays]
    eo, to = op.fn(engine, *ex), op.fn(torch, *tx)
    assert eo.is_cuda and tuple(eo.shape) == tuple(to.shape)
    assert eo.dtype.name == str(to.dtype).split(".")[1]
    np.testing.assert_allclose(host(eo), to.detach().cpu().numpy(), rtol=1e-4, atol=1e-5)
    w = np.random.default_rng(1).uniform(-1, 1, tuple(to.shape))
    eo.backward(engine.tensor(w, dtype=eo.dtype, device="cuda"))
    to.backward(torch.tensor(w, dtype=to.dtype, device="cuda"))
    for e, t in zip(ex, tx):
        if t.grad is None:
            assert e.grad is None
        else:
            assert e.grad.is_cuda and e.grad.dtype == engine.float32
            np.testing.assert_allclose(host(e.grad), t.grad.cpu().numpy(), rtol=1e-4, atol=1e-5)


SCALAR_EXPRS = {
    "mul-float": lambda x: x * 2.5, "radd-int": lambda x: 1 + x, "rpow": lambda x: 2 ** x,
    "pow-float": lambda x: x ** 2.0, "div-int": lambda x: x / 3, "rsub": lambda x: 1.5 - x,
    "clamp": lambda x: x.clamp(-0.5, 0.5), "where": lambda x: x.where(x > 0, 0.0),
    "lt-float": lambda x: x < 0.5, "add-bool": lambda x: x + True,
}


@pytest.mark.parametrize("dtype", ["float16", "float32", "int64", "bool"])
@pytest.mark.parametrize("name", SCALAR_EXPRS)
def test_python_scalars_keep_the_tensors_dtype_on_cuda(cuda_kind, name, dtype):
    """A Python number joins a tensor in the tensor's dtype (PyTorch's rule), on cuda as on
    the CPU: CuPy's own promotion must not leak through."""
    f = SCALAR_EXPRS[name]
    a = np.array([0.0, 0.25, 2.0])
    cpu, gpu = engine.tensor(a).to(getattr(engine, dtype)), engine.tensor(a, device="cuda").to(getattr(engine, dtype))
    try:
        want = f(cpu)
    except (RuntimeError, TypeError) as e:
        with pytest.raises(type(e)):
            f(gpu)
        return
    got = f(gpu)
    assert got.is_cuda and got.dtype == want.dtype
    np.testing.assert_allclose(host(got).astype(np.float64), want.numpy().astype(np.float64), rtol=1e-3)


def _mlp_steps(device, dtype, steps=3):
    engine.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5)).to(dtype)
    model.to(device)
    opt = engine.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    x = engine.tensor(rng.standard_normal((16, 20)), dtype=dtype, device=device)
    y = engine.tensor(rng.integers(0, 5, 16), device=device)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses, [host(p) for p in model.parameters()]


def test_mlp_training_on_cuda_matches_the_cpu(cuda_kind):
    """nn, losses, clipping and Adam on cuda: the CPU's numbers (float64: to rounding)."""
    cpu_losses, cpu_params = _mlp_steps("cpu", engine.float64)
    gpu_losses, gpu_params = _mlp_steps("cuda", engine.float64)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-10)
    for g, c in zip(gpu_params, cpu_params):
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-12)


def test_amp_on_cuda_casts_and_scales(cuda_kind):
    model = nn.Linear(8, 4).to("cuda")
    opt = engine.optim.SGD(model.parameters(), lr=0.1)
    scaler = engine.amp.GradScaler("cuda", init_scale=1024.0)
    x = engine.randn(6, 8, device="cuda")
    with engine.autocast("cuda"):
        out = model(x)
    assert out.is_cuda and out.dtype == engine.float16
    before = host(model.weight).copy()
    scaler.scale(out.float().pow(2).mean()).backward()
    assert model.weight.grad.dtype == engine.float32 and model.weight.grad.is_cuda
    scaler.step(opt)
    scaler.update()
    assert not np.array_equal(host(model.weight), before) and scaler.get_scale() == 1024.0
    model.weight.grad.fill_(float("inf"))        # an overflowed step is skipped and the scale backs off
    after = host(model.weight).copy()
    scaler.step(opt)
    scaler.update()
    assert np.array_equal(host(model.weight), after) and scaler.get_scale() == 512.0


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_gradcheck_and_gradgradcheck_take_cuda_inputs(fake_cuda, op):
    """gradcheck reads cuda values through the host explicitly and gradgradcheck's random
    grad_outputs live on the outputs' device (test_engine_ops runs them on a real GPU)."""
    xs = [engine.tensor(a, dtype=engine.float64, device="cuda", requires_grad=True)
          for a in make_inputs(op, op.samples[0])]
    assert engine.autograd.gradcheck(lambda *t: op.fn(engine, *t), xs, eps=1e-6, atol=1e-5, rtol=1e-3)
    if op.gradgrad:
        assert engine.autograd.gradgradcheck(lambda *t: op.fn(engine, *t), xs, eps=1e-6, atol=1e-4, rtol=1e-3)


def test_grad_scaler_reads_the_gradients_state_back_once_per_step(fake_cuda, monkeypatch):
    """unscale_ checks every gradient for inf/NaN on the device and reads one flag back (each
    read waits for the GPU to finish), however many parameters there are."""
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(6)]).to("cuda")
    opt = engine.optim.SGD(model.parameters(), lr=0.1)
    scaler = engine.amp.GradScaler("cuda")
    scaler.scale(model(engine.ones(2, 4, device="cuda")).sum()).backward()
    reads = []
    real_bool = FakeArray.__bool__
    monkeypatch.setattr(FakeArray, "__bool__", lambda a: reads.append(a.shape) or real_bool(a))
    scaler.unscale_(opt)
    assert len(reads) == 1
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 65536.0
    model[3].weight.grad = None                         # a parameter without a gradient is passed over
    scaler.scale(model(engine.ones(2, 4, device="cuda")).sum()).backward()
    model[2].bias.grad.fill_(float("nan"))
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 32768.0


def test_integer_powers_on_cuda_follow_pytorch(cuda_kind):
    """Integers to negative tensor powers: 1, +-1 for bases 1 and -1, else 0 (as on the CPU)."""
    b = engine.tensor([2, 1, -1, -1, 0, 3], device="cuda")
    e = engine.tensor([-1, -3, -3, -2, -1, 2], device="cuda")
    r = b ** e
    assert r.is_cuda and r.dtype == engine.int64 and r.tolist() == [0, 1, -1, 1, 0, 9]
    assert (2 ** engine.tensor([-1, 0, 2], device="cuda")).tolist() == [0, 1, 4]


# ----------------------------------------------------------------------------- issue 20's fixes on a real GPU
@real_cuda
def test_counts_and_factories_on_a_real_gpu():
    """count_nonzero counts on the device; every factory builds a CuPy array there."""
    cp = backend.cupy()
    x = engine.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 0.0]], device="cuda")
    assert isinstance(engine.count_nonzero(x)._a, cp.ndarray) and engine.count_nonzero(x).item() == 3
    assert x.count_nonzero(dim=0).tolist() == [1, 1, 1] and x.argmax().item() == 2
    for name, make in FACTORIES.items():
        t, c = make("cuda"), make("cpu")
        assert isinstance(t._a, cp.ndarray), name
        assert t.dtype == c.dtype and t.tolist() == c.tolist(), name


@real_cuda
@pytest.mark.parametrize("name", STEPS)
def test_losses_and_pooling_on_a_real_gpu_match_the_cpu(name):
    x0 = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for device in ("cuda", "cpu"):
        x = engine.tensor(x0, device=device, requires_grad=True)
        loss = STEPS[name](x, engine.tensor([3, 1, 2], device=device))
        loss.backward()
        norm = engine.nn.utils.clip_grad_norm_([x], 0.01)
        results.append([host(v) for v in (loss, x.grad, norm)])
    for g, c in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-10, atol=1e-12)


@real_cuda
def test_bad_targets_give_nan_on_a_real_gpu():
    x = engine.zeros(2, 3, device="cuda", requires_grad=True)
    for bad in ([0, 3], [0, -2]):
        loss = engine.nn.functional.cross_entropy(x, engine.tensor(bad, device="cuda"))
        assert np.isnan(loss.item())
    p = engine.tensor([0.5, 1.5], device="cuda")
    assert np.isnan(engine.nn.functional.binary_cross_entropy(p, engine.zeros(2, device="cuda")).item())
    rows = engine.nn.functional.embedding(engine.tensor([0, 3, -1], device="cuda"), engine.ones(3, 2, device="cuda"))
    assert np.isnan(host(rows)[1:]).all() and not np.isnan(host(rows)[0]).any()


@real_cuda
def test_printing_on_a_real_gpu_matches_the_cpu():
    import re
    values = (np.random.default_rng(0).standard_normal((300, 400)) * 10).astype(np.float32)
    on_cuda, on_cpu = repr(engine.tensor(values, device="cuda")), repr(engine.tensor(values))
    assert re.sub(r",\s+device='cuda:0'", "", on_cuda) == on_cpu
