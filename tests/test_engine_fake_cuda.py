"""The engine's CUDA code paths, exercised without a GPU through a stand-in for CuPy.

`FakeCupy` is NumPy underneath: its arrays are an ndarray subclass that dispatches NumPy
functions and ufuncs back to itself (as cupy.ndarray does), has `.get()`, `.device.id`,
`.data.ptr`, and no `flags.writeable`. Installing it as the engine's CuPy makes "cuda"
tensors take every non-NumPy branch (device moves, namespace choice, scatter-add, printing),
so plumbing mistakes show up here; numerical kernels of real CuPy are not tested.
"""
import types

import numpy as np
import pytest

import engine
from engine import backend

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


class FakeArray(np.ndarray):
    device = _Dev()

    def get(self):
        return self.view(np.ndarray).copy()

    @property
    def data(self):
        return _Data(self)

    @property
    def flags(self):
        return _Flags(np.ndarray.flags.__get__(self))

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        for x in inputs:
            if isinstance(x, np.ndarray) and not isinstance(x, FakeArray) and x.ndim:
                raise TypeError("Unsupported type <class 'numpy.ndarray'>")   # as CuPy refuses host arrays
        if "out" in kw:
            kw["out"] = _unwrap(kw["out"])
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **kw))

    def __array_function__(self, func, types_, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getitem__(self, key):
        return _wrap(np.ndarray.__getitem__(self.view(np.ndarray), _unwrap(key)))

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and not isinstance(value, FakeArray) and value.ndim:
            raise TypeError("Unsupported type <class 'numpy.ndarray'>")
        np.ndarray.__setitem__(self.view(np.ndarray), _unwrap(key), _unwrap(value))


def _make_fake_cupy():
    cp = types.ModuleType("cupy")
    cp.ndarray = FakeArray

    def __getattr__(name):
        f = getattr(np, name)
        return (lambda *a, **k: _wrap(f(*_unwrap(a), **_unwrap(k)))) if callable(f) else f
    cp.__getattr__ = __getattr__
    cp.asarray = lambda a, dtype=None: _wrap(np.array(_unwrap(a), dtype=dtype))

    class Device:
        def __init__(self, i=0):
            self.id = i

        def __enter__(self):
            return self

        def __exit__(self, *e):
            pass

        def synchronize(self):
            pass
    cp.cuda = types.SimpleNamespace(Device=Device, runtime=types.SimpleNamespace(
        getDeviceCount=lambda: 1, getDevice=lambda: 0, getDeviceProperties=lambda i: {"name": b"FakeGPU"}))
    cp.random = types.SimpleNamespace(seed=lambda s: None)
    return cp


@pytest.fixture
def fake_cuda(monkeypatch):
    import sys
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = lambda a, key, v: np.add.at(a.view(np.ndarray), _unwrap(key), _unwrap(v))
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
    monkeypatch.setattr(backend, "_cupy", _make_fake_cupy())
    monkeypatch.setattr(backend, "_status", (True, None))
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
