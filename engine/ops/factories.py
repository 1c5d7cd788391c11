"""Factories: tensor, as_tensor, from_numpy, zeros/ones/empty/full(_like), eye, arange,
linspace, logspace, scalar_tensor, meshgrid.
"""
import builtins
import math
import numpy as np

from .._warnings import warn as _warn

from .._dtype import get_default_dtype
from .. import _dtype
from ..backend import _default_devices, cuda_device, cupy, device as _device, device_of, is_cuda_array, to_device
from .._tensor import Size, Tensor, _check_can_require_grad
from ._core import _isinst, _ndarray, _scalar, _wrap
from ._registry import op, alias
from .._dtype import is_floating


def _factory_dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else get_default_dtype().np
    return _dtype.to_np(dtype)


def _on(device):
    """A factory's device: the given one, else the default (engine.set_default_device or a
    `with engine.device(...)` block); None means the CPU."""
    if device is not None:
        return device
    default = _default_devices[-1]
    return None if default.type == "cpu" else default


def _place(a, device, requires_grad):
    if device is not None:
        d = _device(device)
        if d.type != "cpu":
            a = to_device(a, d)
    t = _wrap(a)
    if requires_grad:
        _check_can_require_grad(t)
        t._rg = True
    return t


def _create(device, build):
    """build(xp) with the array namespace of `device` (None: the CPU): on cuda with CuPy and that
    GPU current, so a factory allocates and fills on the device instead of copying a host array over."""
    d = None if device is None else _device(device)
    if d is None or d.type == "cpu":
        return build(np)
    with cuda_device(d):
        return build(cupy())


def _infer_np(data, floats=None):
    """NumPy array from nested Python data, with PyTorch's dtype inference (Python floats in
    `floats`, default the default dtype: tensor(0.3, dtype=float64) must not round through float32)."""
    if _isinst(data, Tensor):
        return data._a
    if _isinst(data, (_ndarray, np.generic)):
        return np.asarray(data)
    if is_cuda_array(data):
        return data
    if _isinst(data, (list, tuple)):
        flat = list(_flatten(data))
        if flat and builtins.any(_isinst(v, Tensor) for v in flat):
            data = _detensor(data)
            flat = list(_flatten(data))
        if builtins.all(_isinst(v, (bool, np.bool_)) for v in flat) and flat:
            return np.array(data, dtype=np.bool_)
        if builtins.all(_isinst(v, (int, np.integer, bool, np.bool_)) for v in flat):
            return np.array(data, dtype=np.int64)
        return np.array(data, dtype=floats or get_default_dtype().np)
    if _isinst(data, bool):
        return np.array(data, dtype=np.bool_)
    if _isinst(data, int):
        return np.array(data, dtype=np.int64)
    if _isinst(data, float):
        return np.array(data, dtype=floats or get_default_dtype().np)
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _flatten(x):
    for v in x:
        if _isinst(v, (list, tuple)):
            yield from _flatten(v)
        elif _isinst(v, _ndarray):
            yield from v.reshape(-1).tolist() if v.size else []
        else:
            yield v


def _detensor(x):
    if _isinst(x, Tensor):
        return x._a.item() if x._a.ndim == 0 else _detensor(x._a.tolist())
    if _isinst(x, (list, tuple)):
        return [_detensor(v) for v in x]
    return x


@op(method=False)
def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new leaf tensor copying `data` (nested lists, numbers, numpy arrays or tensors)."""
    if _isinst(data, Tensor):
        _warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
              "or sourceTensor.detach().clone().requires_grad_(True), rather than "
              "torch.tensor(sourceTensor).")
    a = _infer_np(data, None if dtype is None else np.float64)
    if dtype is not None:
        a = a.astype(_dtype.to_np(dtype), copy=True)
    else:
        a = a.copy()
    return _place(a, device if device is not None else (device_of(a) if is_cuda_array(a) else _on(None)),
                  requires_grad)


@op(method=False)
def as_tensor(data, dtype=None, device=None):
    if _isinst(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    if _isinst(data, _ndarray) and (dtype is None or _dtype.to_np(dtype) == data.dtype) and device in (None, "cpu"):
        return _wrap(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor
alias(asarray, "asarray", method=False)


@op(method=False)
def from_numpy(ndarray):
    """A tensor sharing memory with a NumPy array."""
    if not _isinst(ndarray, _ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_np(ndarray.dtype)
    return _wrap(ndarray)


def _size_args(sizes, size=None, name=None):
    """The shape from `f(2, 3)`, `f((2, 3))` or `f(size=(2, 3))` (not both)."""
    if size is not None:
        if sizes:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        sizes = (size,)
    if len(sizes) == 1 and _isinst(sizes[0], (tuple, list, Size)):
        return tuple(sizes[0])
    return tuple(sizes)


@op(method=False)
def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    shape, dt = _size_args(sizes, size, "zeros"), _factory_dtype(dtype)
    return _place(_create(_on(device), lambda xp: xp.zeros(shape, dt)), None, requires_grad)


@op(method=False)
def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    shape, dt = _size_args(sizes, size, "ones"), _factory_dtype(dtype)
    return _place(_create(_on(device), lambda xp: xp.ones(shape, dt)), None, requires_grad)


@op(method=False)
def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False, layout=None,
          memory_format=None):
    shape, dt = _size_args(sizes, size, "empty"), _factory_dtype(dtype)
    return _place(_create(_on(device), lambda xp: xp.zeros(shape, dt)), None, requires_grad)


@op(method=False)
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        npdt = _infer_np(fill_value).dtype
    else:
        npdt = _dtype.to_np(dtype)
    return _place(_create(_on(device), lambda xp: xp.full(tuple(size), fill_value, npdt)), None, requires_grad)


def _like(input, dtype, device):
    return (_dtype.to_np(dtype) if dtype is not None else input._a.dtype,
            device if device is not None else input.device)


@op(method=False)
def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    dt, dev = _like(input, dtype, device)
    return _place(_create(dev, lambda xp: xp.zeros(input._a.shape, dt)), None, requires_grad)


@op(method=False)
def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    dt, dev = _like(input, dtype, device)
    return _place(_create(dev, lambda xp: xp.ones(input._a.shape, dt)), None, requires_grad)


empty_like = zeros_like
alias(empty_like, "empty_like", method=False)


@op(method=False)
def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    dt, dev = _like(input, dtype, device)
    return _place(_create(dev, lambda xp: xp.full(input._a.shape, fill_value, dt)), None, requires_grad)


@op(method=False)
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    dt = _factory_dtype(dtype)
    return _place(_create(_on(device), lambda xp: xp.eye(n, m, dtype=dt)), None, requires_grad)


@op(method=False)
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    vals = [_scalar(v) if not _isinst(v, Tensor) else v.item() for v in (start, end, step)]
    if dtype is None:
        npdt = np.int64 if builtins.all(_isinst(v, int) for v in vals) else get_default_dtype().np
    else:
        npdt = _dtype.to_np(dtype)
    s, e, st = vals
    n = builtins.max(int(math.ceil((e - s) / st)), 0)
    if is_floating(np.dtype(npdt)):
        a = _create(_on(device), lambda xp: (s + xp.arange(n, dtype=np.float64) * st).astype(npdt))
    else:
        a = _create(_on(device), lambda xp: xp.arange(s, e, st, dtype=npdt))
    return _place(a, None, requires_grad)


def _linspace_array(start, end, steps, npdt):
    """PyTorch's CPU linspace: step = (end - start) / (steps - 1) in the output dtype (double
    for integer outputs); the first half counts up from start (start + step * i), the second
    half down from end (end - step * (steps - 1 - i)), each value rounded once as the fused
    multiply-add of PyTorch's compiled kernel rounds it (half precision rounds every step)."""
    npdt = np.dtype(npdt)
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    if steps == 0:
        return np.empty(0, npdt)
    i = np.arange(steps)
    back = steps - 1 - i
    if is_floating(npdt):
        s, e = npdt.type(start), npdt.type(end)
        if steps == 1:
            return np.full(1, s, npdt)
        step = (e - s) / npdt.type(steps - 1)
        if npdt.itemsize == 2:
            up, down = s + step * i.astype(npdt), e - step * back.astype(npdt)
        elif npdt.itemsize == 4:            # float32: exact in float64, rounded once below
            up = np.float64(s) + np.float64(step) * i
            down = np.float64(e) - np.float64(step) * back
        else:
            up = _fma(step, i.astype(npdt), s)
            down = _fma(-step, back.astype(npdt), e)
        return np.where(i < steps // 2, up, down).astype(npdt)
    # integers: the step in double, each value start + step * i (end - step * back for the upper
    # half) as one fused multiply-add, then truncated toward zero (C++'s double -> integer cast)
    s, e = float(int(start)), float(int(end))
    if steps == 1:
        return np.full(1, s, npdt)
    step = (e - s) / (steps - 1)
    values = np.where(i < steps // 2, _fma(step, i.astype(np.float64), s),
                      _fma(-step, back.astype(np.float64), e))
    return np.trunc(values).astype(npdt)


def _fma(a, b, c):
    """a * b + c rounded once, as a fused multiply-add (float64 arrays): the product's exact
    error from Dekker's split, the sum's from Knuth's two-sum, added back before the last
    rounding."""
    def split(x):
        t = 134217729.0 * x                       # 2**27 + 1
        hi = t - (t - x)
        return hi, x - hi
    p = a * b
    (ah, al), (bh, bl) = split(np.float64(a)), split(b)
    p_err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    total = p + c
    back = total - p
    s_err = (p - (total - back)) + (c - back)
    return total + (s_err + p_err)


@op(method=False)
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    # built on the host (PyTorch's rounding needs long double; steps numbers are few) and copied over
    a = _linspace_array(float(start), float(end), int(steps), _factory_dtype(dtype))
    return _place(a, _on(device), requires_grad)


@op(method=False)
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    dt = _factory_dtype(dtype)
    a = _create(_on(device), lambda xp: (base ** xp.linspace(float(start), float(end), int(steps))).astype(dt))
    return _place(a, None, requires_grad)


@op(method=False)
def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return tensor(float(s), dtype=dtype, device=device, requires_grad=requires_grad)


@op(method=False)
def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and _isinst(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = tuple(t.numel() for t in tensors)
    if indexing == "xy" and len(tensors) >= 2:
        shape = (shape[1], shape[0]) + shape[2:]
    outs = []
    for i, t in enumerate(tensors):
        j = i
        if indexing == "xy" and len(tensors) >= 2 and i < 2:
            j = 1 - i
        s = [1] * len(shape)
        s[j] = t.numel()
        outs.append(t.reshape(s).expand(shape))
    return tuple(outs)


def _triangle_indices(row, col, offset, dtype, device, lower):
    xp_rows, xp_cols = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    a = np.stack([xp_rows, xp_cols]).astype(_dtype.to_np(dtype if dtype is not None else _dtype.int64))
    return _place(a.reshape(2, -1), _on(device), False)


@op(method=False)
def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """(2, N) row and column indices of the lower triangle of a row x col matrix, row by row."""
    return _triangle_indices(row, col, offset, dtype, device, True)


@op(method=False)
def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """(2, N) row and column indices of the upper triangle of a row x col matrix, row by row."""
    return _triangle_indices(row, col, offset, dtype, device, False)
