"""The engine's CUDA code paths, exercised without a GPU through a stand-in for CuPy.

`FakeCupy` is NumPy underneath: its arrays are an ndarray subclass that dispatches NumPy
functions and ufuncs back to itself (as cupy.ndarray does), has `.get()`, `.device.id`,
`.data.ptr`, and no `flags.writeable`. Installing it as the engine's CuPy makes "cuda"
tensors take every non-NumPy branch (device moves, namespace choice, scatter-add, printing),
so plumbing mistakes show up here; numerical kernels of real CuPy are not tested.
In strict mode the stand-in also refuses `np.f(a)` on its arrays (anything but the ufuncs
that Python operators and ndarray methods call): engine code must write `xp.f(a)` with the
array's own namespace.
"""
import contextlib
import math
import re
import threading
import types

import numpy as np
import pytest

import engine
from engine import _random, backend

from test_engine_op_table import OPS, make_inputs


class _Dev:
    id = 0


class _Data:
    def __init__(self, arr):
        self.ptr = arr.__array_interface__["data"][0]


class _Flags:
    def __init__(self, f):
        self.c_contiguous, self.f_contiguous, self.owndata = f.c_contiguous, f.f_contiguous, f.owndata


def _unwrap(x):
    if isinstance(x, FakeArray):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, np.ndarray) and not isinstance(x, FakeArray):
        return x.view(FakeArray)
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(v) for v in x)
    if isinstance(x, np.generic):
        return np.asarray(x).view(FakeArray)
    return x


# the ufuncs that Python operators (a + b, a < b, abs(a), a @ b) and the ndarray methods the
# engine calls (a.var() takes a square, a.std() a sqrt, a.round() a rint) run; any other NumPy function called
# on a stand-in array in strict mode means engine code wrote `np.f(a)`, not `xp.f(a)`
_OPERATOR_UFUNCS = frozenset({
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "power",
    "negative", "positive", "absolute", "invert", "bitwise_and", "bitwise_or", "bitwise_xor",
    "left_shift", "right_shift", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "matmul", "divmod", "square", "sqrt", "rint"})


class FakeArray(np.ndarray):
    device = _Dev()
    strict = False              # refuse NumPy functions called on these arrays

    def get(self):
        FakeArray.host_reads += 1
        return self.view(np.ndarray).copy()

    @property
    def data(self):
        return _Data(self)

    @property
    def flags(self):
        return _Flags(np.ndarray.flags.__get__(self))

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        if FakeArray.strict and method == "__call__" and ufunc.__name__ not in _OPERATOR_UFUNCS:
            raise TypeError(f"np.{ufunc.__name__} called on a cuda array")
        for x in inputs:
            if isinstance(x, np.ndarray) and not isinstance(x, FakeArray) and x.ndim:
                raise TypeError("Unsupported type <class 'numpy.ndarray'>")   # as CuPy refuses host arrays
        if "out" in kw:
            kw["out"] = _unwrap(kw["out"])
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **kw))

    def __array_function__(self, func, types_, args, kwargs):
        if FakeArray.strict:
            raise TypeError(f"np.{func.__name__} called on a cuda array")
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    # reads of a device value by the host (each a synchronisation on a real GPU), counted
    host_reads = 0

    def _read(name):
        def read(self, *a, **k):
            FakeArray.host_reads += 1
            return getattr(np.ndarray, name)(self.view(np.ndarray), *a, **k)
        return read
    __bool__, __float__, __int__ = _read("__bool__"), _read("__float__"), _read("__int__")
    __index__, item, tolist = _read("__index__"), _read("item"), _read("tolist")

    def argmax(self, *a, **k):      # CuPy gives a 0-dim device array where NumPy gives a scalar
        return _wrap(np.ndarray.argmax(self.view(np.ndarray), *a, **k))

    def argmin(self, *a, **k):
        return _wrap(np.ndarray.argmin(self.view(np.ndarray), *a, **k))

    def __getitem__(self, key):
        return _wrap(np.ndarray.__getitem__(self.view(np.ndarray), _unwrap(key)))

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and not isinstance(value, FakeArray) and value.ndim:
            raise TypeError("Unsupported type <class 'numpy.ndarray'>")
        np.ndarray.__setitem__(self.view(np.ndarray), _unwrap(key), _unwrap(value))


class FakeMemoryPool:
    """CuPy's memory pool by its counts: malloc(n) puts n bytes in use, a block's free()
    moves them to the cache, free_all_blocks() empties the cache."""

    def __init__(self):
        self.used = self.cached = 0

    def malloc(self, size):
        self.used += size
        pool = self

        class Block:
            def free(self):
                pool.used -= size
                pool.cached += size
        return Block()

    def used_bytes(self):
        return self.used

    def total_bytes(self):
        return self.used + self.cached

    def free_all_blocks(self):
        self.cached = 0


def _make_fake_cupy():
    cp = types.ModuleType("cupy")
    cp.ndarray = FakeArray

    def __getattr__(name):
        f = getattr(np, name)
        return (lambda *a, **k: _wrap(f(*_unwrap(a), **_unwrap(k)))) if callable(f) else f
    cp.__getattr__ = __getattr__
    cp.host_copies = 0              # host->device copies of a host array (cp.asarray of an ndarray)

    def asarray(a, dtype=None):
        if isinstance(a, np.ndarray) and not isinstance(a, FakeArray):
            cp.host_copies += 1
        return _wrap(np.array(_unwrap(a), dtype=dtype))
    cp.asarray = asarray

    def on_host(f):     # cupy.linalg.f: NumPy's f, results (tuples of arrays too) on the fake device
        def call(*a, **k):
            try:
                r = f(*_unwrap(a), **_unwrap(k))
            except np.linalg.LinAlgError:
                if getattr(_errstate, "linalg", "ignore") == "raise":
                    raise
                # as CuPy without cupyx.errstate(linalg="raise"): the solver's status is not read
                # back, and the result is whatever the failed factorization left (NaN here)
                r = np.full(a[-1].shape, np.nan, a[-1].dtype)
            return tuple(_wrap(x) for x in r) if isinstance(r, tuple) else _wrap(r)
        return call
    cp.linalg = types.SimpleNamespace(**{n: on_host(getattr(np.linalg, n)) for n in (
        "inv", "det", "slogdet", "solve", "cholesky", "qr", "eigh", "svd")})

    class Device:
        def __init__(self, i=0):
            self.id = i

        def __enter__(self):
            return self

        def __exit__(self, *e):
            pass

        def synchronize(self):
            cp.synchronized += 1
    cp.synchronized = 0
    pool = FakeMemoryPool()
    cp.get_default_memory_pool = lambda: pool
    cp.cuda = types.SimpleNamespace(Device=Device, runtime=types.SimpleNamespace(
        getDeviceCount=lambda: 1, getDevice=lambda: 0, getDeviceProperties=lambda i: {"name": b"FakeGPU"}),
        set_allocator=lambda f: setattr(cp.cuda, "allocator", f), allocator=pool.malloc)
    cp.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(   # cupy.lib.stride_tricks.as_strided
        as_strided=lambda x, shape=None, strides=None: _wrap(np.lib.stride_tricks.as_strided(_unwrap(x), shape, strides))))
    return cp


_errstate = threading.local()       # cupyx's per-thread error settings
_errstate.linalg = "ignore"


@contextlib.contextmanager
def _fake_errstate(*, linalg=None, **kw):
    old = getattr(_errstate, "linalg", "ignore")
    if linalg is not None:
        _errstate.linalg = linalg
    try:
        yield
    finally:
        _errstate.linalg = old


def _refusing_host_copy(f):
    """np.asarray / np.array that refuse a stand-in array, as CuPy refuses an implicit copy to the host."""
    def call(a, *args, **kw):
        if isinstance(a, FakeArray) or (isinstance(a, (list, tuple)) and any(isinstance(v, FakeArray) for v in a)):
            raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
                            "construct a NumPy array explicitly.")
        return f(a, *args, **kw)
    return call


@pytest.fixture
def fake_cuda(monkeypatch):
    import sys
    monkeypatch.setattr(np, "asarray", _refusing_host_copy(np.asarray))
    monkeypatch.setattr(np, "array", _refusing_host_copy(np.array))
    cupyx = types.ModuleType("cupyx")
    cupyx.errstate = _fake_errstate
    cupyx.scatter_add = lambda a, key, v: np.add.at(a.view(np.ndarray), _unwrap(key), _unwrap(v))
    cupyx.scatter_max = lambda a, key, v: np.maximum.at(a.view(np.ndarray), _unwrap(key), _unwrap(v))
    cupyx.scatter_min = lambda a, key, v: np.minimum.at(a.view(np.ndarray), _unwrap(key), _unwrap(v))
    cupyx.__path__ = []
    special = types.ModuleType("cupyx.scipy.special")
    special.erf = lambda a: _wrap(np.vectorize(math.erf, otypes=[a.dtype])(_unwrap(a)))
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.__path__ = []
    cupyx.scipy.special = special
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setitem(sys.modules, "cupyx.scipy", cupyx.scipy)
    monkeypatch.setitem(sys.modules, "cupyx.scipy.special", special)
    monkeypatch.setattr(backend, "_cupy", _make_fake_cupy())
    monkeypatch.setattr(backend, "_status", (True, None))
    monkeypatch.setattr(_random, "_cuda_defaults", {})      # the fake device's default generators
    yield


def test_device_plumbing(fake_cuda):
    assert engine.cuda.is_available() and engine.cuda.device_count() == 1
    assert engine.cuda.get_device_name() == "FakeGPU"
    x = engine.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    assert x.is_cuda and x.device == engine.device("cuda", 0) and str(x.device) == "cuda:0"
    assert repr(x) == "tensor([1., 2.], device='cuda:0', requires_grad=True)"
    y = (x * x + 1).sum()
    y.backward()
    assert x.grad.is_cuda and x.grad.cpu().tolist() == [2.0, 4.0] and x.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least "
                                           "two devices, cuda:0 and cpu!"):
        x + engine.tensor([1.0, 2.0])
    assert (x + engine.tensor(1.0)).is_cuda           # a 0-dim CPU tensor may join, as in PyTorch
    with pytest.raises(TypeError, match="can't convert cuda"):
        x.detach().numpy()
    z = engine.zeros(2, 3, device="cuda")
    assert z.is_cuda and engine.ones_like(z).is_cuda and engine.randn(3, device="cuda").is_cuda
    assert x.detach().cpu().device.type == "cpu" and engine.tensor([1.0]).cuda().is_cuda
    w = engine.randn(3, 4, device="cuda", requires_grad=True)
    (w @ engine.ones(4, device="cuda")).sum().backward()
    assert w.grad.is_cuda and w.grad.tolist() == [[1.0] * 4] * 3
    p = engine.zeros(4, device="cuda")
    p.uniform_(-1, 1)
    assert p.is_cuda


CASES = [(op, 0) for op in OPS]


@pytest.mark.parametrize("op,i", CASES, ids=[op.name for op, _ in CASES])
def test_op_table_on_fake_cuda(fake_cuda, op, i):
    check_op_on_fake_cuda(op, i)


@pytest.mark.parametrize("op,i", CASES, ids=[op.name for op, _ in CASES])
def test_op_table_uses_the_arrays_namespace_on_fake_cuda(fake_cuda, monkeypatch, op, i):
    """Forward and backward call CuPy's functions on cuda arrays, never NumPy's."""
    monkeypatch.setattr(FakeArray, "strict", True)
    check_op_on_fake_cuda(op, i)


def check_op_on_fake_cuda(op, i):
    """Sample i of `op` on "cuda" and on the CPU: same node name, values and gradients, and
    everything computed on cuda stays there."""
    arrays = make_inputs(op, op.samples[i])
    xs = [engine.tensor(a, dtype=engine.float64, device="cuda", requires_grad=True) for a in arrays]
    cs = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in arrays]
    yg, yc = op.fn(engine, *xs), op.fn(engine, *cs)
    assert yg.is_cuda and yg.grad_fn.name() == yc.grad_fn.name()
    np.testing.assert_allclose(yg.detach().cpu().numpy(), yc.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(1).uniform(-1, 1, tuple(yc.shape))
    yg.backward(engine.tensor(w, dtype=engine.float64, device="cuda"))
    yc.backward(engine.tensor(w, dtype=engine.float64))
    for g, c in zip(xs, cs):
        if c.grad is None:
            assert g.grad is None
        else:
            assert g.grad.is_cuda
            np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy(), rtol=1e-12, atol=1e-12)


NN_CASES = {
    "linear-cross_entropy": lambda F, x, w: F.cross_entropy(F.linear(x, w), engine.tensor(
        [0, 2, 1], device=x.device)),
    "softmax-log_softmax": lambda F, x, w: (F.softmax(x @ w.t(), dim=1)
                                            * F.log_softmax(x @ w.t(), dim=0)).sum(),
    "bce_with_logits": lambda F, x, w: F.binary_cross_entropy_with_logits(
        x @ w.t(), engine.ones(3, 3, device=x.device) * 0.3, weight=w[0, :3].detach(),
        pos_weight=engine.ones(3, device=x.device) * 2.0),
    "mse-tanh-gelu": lambda F, x, w: F.mse_loss(F.gelu(F.tanh(x @ w.t())),
                                                engine.zeros(3, 3, device=x.device)),
}


@pytest.mark.parametrize("name", NN_CASES)
def test_nn_functional_uses_the_arrays_namespace_on_fake_cuda(fake_cuda, monkeypatch, name):
    """Layers and losses run on cuda through CuPy's functions, with the CPU's numbers."""
    monkeypatch.setattr(FakeArray, "strict", True)
    rng = np.random.default_rng(3)
    x0, w0 = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    results = []
    for device in ("cuda", "cpu"):
        x = engine.tensor(x0, device=device, requires_grad=True)
        w = engine.tensor(w0, device=device, requires_grad=True)
        engine.manual_seed(0)
        loss = NN_CASES[name](engine.nn.functional, x, w)
        loss.backward()
        assert loss.device.type == device and x.grad.device.type == device
        results.append([t.detach().cpu().numpy() for t in (loss, x.grad, w.grad)])
    for g, c in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)


def test_counts_and_arg_reductions_stay_on_the_device(fake_cuda, monkeypatch):
    """count_nonzero once called np.asarray on the CuPy array (a TypeError on a real GPU)."""
    monkeypatch.setattr(FakeArray, "strict", True)
    x = engine.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 0.0]], device="cuda")
    for r, want in ((engine.count_nonzero(x), 3), (x.count_nonzero(dim=0), [1, 1, 1]),
                    (x.count_nonzero(dim=(0, 1)), 3), (x.argmax(), 2), (x.argmin(dim=1), [0, 1])):
        assert r.is_cuda and r.dtype == engine.int64 and r.tolist() == want


FACTORIES = {
    "zeros": lambda d: engine.zeros(2, 3, device=d), "ones": lambda d: engine.ones((2, 3), dtype=engine.int64, device=d),
    "empty": lambda d: engine.empty(2, device=d).zero_(), "full": lambda d: engine.full((2, 2), 7.5, device=d),
    "full-int": lambda d: engine.full((3,), 4, device=d), "eye": lambda d: engine.eye(3, 2, device=d),
    "arange": lambda d: engine.arange(5, device=d), "arange-float": lambda d: engine.arange(0, 1, 0.25, device=d),
"logspace": lambda d: engine.logspace(0, 2, 3, device=d),
    "zeros_like": lambda d: engine.zeros_like(engine.eye(2, device=d)),
    "ones_like-to": lambda d: engine.ones_like(engine.eye(2), device=d),
    "full_like": lambda d: engine.full_like(engine.eye(2, device=d), 3.0, dtype=engine.float64),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factories_build_on_the_device(fake_cuda, monkeypatch, name):
    """device='cuda' allocates and fills with CuPy, with no host array copied over, and gives
    the CPU's values and dtype."""
    monkeypatch.setattr(FakeArray, "strict", True)
    cp = backend._cupy
    t = FACTORIES[name]("cuda")
    assert cp.host_copies == 0 and t.is_cuda
    c = FACTORIES[name]("cpu")
    assert t.dtype == c.dtype and t.tolist() == c.tolist()


F = engine.nn.functional
STEPS = {   # one training-step piece each; none needs to read a device value on the host
    "cross_entropy": lambda x, t: F.cross_entropy(x, t),
    "cross_entropy-smoothing": lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, ignore_index=1),
    "cross_entropy-smoothing-weight": lambda x, t: F.cross_entropy(
        x, t, weight=engine.ones(4, device=x.device) * 2, label_smoothing=0.2),
    "nll_loss": lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, ignore_index=0),
    "binary_cross_entropy": lambda x, t: F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid() * 0.5),
    "embedding": lambda x, t: F.embedding(t - 1, x, padding_idx=1).sum(),
    "max_pool2d": lambda x, t: F.max_pool2d(x.reshape(1, 1, 3, 4), 2).sum(),
    "max_pool2d-padding": lambda x, t: F.max_pool2d(x.reshape(1, 1, 3, 4), 3, 2, padding=1).sum(),
}


@pytest.mark.parametrize("name", STEPS)
def test_losses_and_pooling_read_nothing_back_on_cuda(fake_cuda, monkeypatch, name):
    """Forward, backward and clip_grad_norm_ on cuda: no device value read by the host (each
    such read is a synchronisation on a real GPU) and no host array copied over; same numbers
    as the CPU."""
    monkeypatch.setattr(FakeArray, "strict", True)
    x0 = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for device in ("cuda", "cpu"):
        x = engine.tensor(x0, device=device, requires_grad=True)
        t = engine.tensor([3, 1, 2], device=device)
        FakeArray.host_reads = backend._cupy.host_copies = 0
        loss = STEPS[name](x, t)
        loss.backward()
        norm = engine.nn.utils.clip_grad_norm_([x], 0.01)
        if device == "cuda":
            assert (FakeArray.host_reads, backend._cupy.host_copies) == (0, 0)
        results.append([host(v) for v in (loss, x.grad, norm)])
    for g, c in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)


def host(t):
    return t.detach().cpu().numpy()


def test_bad_targets_raise_on_the_cpu_and_give_nan_on_cuda(fake_cuda):
    """PyTorch checks class indices and probabilities on cuda with a device-side assert; the
    engine reads nothing back there: the loss and its gradient are NaN instead."""
    for device in ("cpu", "cuda"):
        x = engine.zeros(2, 3, device=device, requires_grad=True)
        bad_target = engine.tensor([0, 3], device=device)
        p = engine.tensor([0.5, 1.5], device=device)
        if device == "cpu":
            with pytest.raises(IndexError, match="Target 3 is out of bounds"):
                F.cross_entropy(x, bad_target)
            with pytest.raises(RuntimeError, match="between 0 and 1"):
                F.binary_cross_entropy(p, engine.zeros(2))
            with pytest.raises(IndexError, match="index 3 is out of range for 3"):
                F.embedding(engine.tensor([0, 3]), engine.ones(3, 2))
        else:
            loss = F.cross_entropy(x, bad_target)
            loss.backward()
            assert math.isnan(loss.item()) and np.isnan(host(x.grad)[1]).all()
            assert not np.isnan(host(x.grad)[0]).any()
            assert math.isnan(F.binary_cross_entropy(p, engine.zeros(2, device="cuda")).item())
            w = engine.ones(3, 2, device="cuda", requires_grad=True)
            rows = F.embedding(engine.tensor([[0, 3], [1, 2]], device="cuda"), w)
            rows.sum().backward()
            assert np.isnan(host(rows)[0, 1]).all() and not np.isnan(host(rows)[1]).any()
            assert np.isnan(host(w.grad)[0]).all()


@pytest.mark.parametrize("shape,options", [
    ((5000,), {}), ((100, 100), {}), ((20, 30, 40), {}), ((7, 2000), {}), ((12, 13), {"threshold": 10, "edgeitems": 2}),
    ((50, 3), {"threshold": 10, "edgeitems": 0}), ((4, 5), {})])
def test_printing_a_cuda_tensor_copies_only_what_it_shows(fake_cuda, monkeypatch, shape, options):
    """A summarized print of a cuda tensor copies its edges to the host, not the whole tensor,
    and prints what the CPU prints."""
    copied = []
    get = FakeArray.get
    monkeypatch.setattr(FakeArray, "get", lambda self: copied.append(self.size) or get(self))
    values = (np.random.default_rng(0).standard_normal(shape) * 10).astype(np.float32)
    with engine.printoptions(**options):
        on_cuda = repr(engine.tensor(values, device="cuda"))
        on_cpu = repr(engine.tensor(values))
        e, threshold = engine._tensor_str.PRINT_OPTS.edgeitems, engine._tensor_str.PRINT_OPTS.threshold
    assert "device='cuda:0'" in on_cuda
    assert re.sub(r",\s+device='cuda:0'", "", on_cuda) == on_cpu
    shown = math.prod(min(n, 2 * e) for n in shape) if values.size > threshold else values.size
    assert copied == [shown]


def test_a_list_of_cuda_tensors_indexes_on_the_device(fake_cuda, monkeypatch):
    """x[[i, j]] with cuda tensors i, j: np.array of CuPy arrays is a TypeError on a real GPU."""
    monkeypatch.setattr(FakeArray, "strict", True)
    x = engine.arange(6.0, device="cuda", requires_grad=True)
    y = x[[engine.tensor(4, device="cuda"), 1]]
    y.sum().backward()
    assert y.is_cuda and y.tolist() == [4.0, 1.0] and x.grad.tolist() == [0, 1, 0, 0, 1, 0]


def test_factories_under_a_default_cuda_device_build_there(fake_cuda):
    cp = backend._cupy
    with engine.device("cuda"):
        cp.host_copies = 0
        ts = [engine.zeros(2), engine.ones(2, 2), engine.full((2,), 3.0), engine.eye(2), engine.arange(3)]
    assert cp.host_copies == 0 and all(t.is_cuda for t in ts)
    assert not engine.zeros(2).is_cuda
