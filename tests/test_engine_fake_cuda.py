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
import math
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
    cp.asarray = lambda a, dtype=None: _wrap(np.array(_unwrap(a), dtype=dtype))

    def on_host(f):     # cupy.linalg.f: NumPy's f, results (tuples of arrays too) on the fake device
        def call(*a, **k):
            r = f(*_unwrap(a), **_unwrap(k))
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


@pytest.fixture
def fake_cuda(monkeypatch):
    import sys
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = lambda a, key, v: np.add.at(a.view(np.ndarray), _unwrap(key), _unwrap(v))
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
