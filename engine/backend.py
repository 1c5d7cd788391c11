"""Array backends: NumPy for "cpu", CuPy for "cuda"/"cuda:N", chosen per tensor by device.

Engine modules reach a tensor's raw array as `t._a` (or `array_of(t)`); the namespace
that owns an array is `xp_of(array)`, the one for a device is `xp(device)`. CuPy is
imported only when a CUDA device is first asked for; when it or a GPU is missing,
`cuda_status()` says why and asking for CUDA raises a RuntimeError with that reason.
"""
import numpy as np

__all__ = ["device", "xp", "xp_of", "array_of", "device_of", "cuda_status", "require_cuda",
           "to_device", "is_cuda_array"]

_ndarray = np.ndarray


class device:
    """A device like `torch.device`: `device("cpu")`, `device("cuda", 0)`, `device("cuda:1")`."""
    __slots__ = ("type", "index")

    def __new__(cls, type_or_str, index=None):
        if isinstance(type_or_str, device):
            return type_or_str
        if isinstance(type_or_str, int):
            type_or_str, index = "cuda", type_or_str
        s = str(type_or_str)
        if ":" in s:
            s, idx = s.split(":", 1)
            index = int(idx)
        if s not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type_or_str}")
        key = (s, index)
        d = _devices.get(key)
        if d is None:
            d = object.__new__(cls)
            d.type, d.index = s, index
            _devices[key] = d
        return d

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """`with engine.device("cuda"):` factories without a device= make tensors there."""
        _default_devices.append(self)
        return self

    def __exit__(self, *exc):
        _default_devices.pop()
        return False


_devices = {}
CPU = device("cpu")
_default_devices = [CPU]     # set_default_device sets the bottom; `with device(...)` pushes


def get_default_device() -> device:
    """The device factories use when given none (PyTorch's torch.get_default_device)."""
    return _default_devices[-1]


def set_default_device(d) -> None:
    """Factories without device= make tensors on `d` from now on (None: back to the CPU)."""
    _default_devices[0] = CPU if d is None else device(d)

_cupy = None
_status = None


def cupy():
    """The CuPy module (imported on first use); raises RuntimeError with the reason if unusable."""
    require_cuda()
    return _cupy


def cuda_status():
    """(available, reason): tries to import CuPy and count GPUs once; never raises."""
    global _cupy, _status
    if _status is None:
        try:
            import cupy as cp
        except Exception as e:  # ImportError or a broken CUDA install
            _status = (False, f"CuPy is not installed or failed to import ({type(e).__name__}: {e}); "
                              "install the 'cuda12' or 'cuda13' extra (cupy-cuda12x or cupy-cuda13x, after "
                              "nvidia-smi's CUDA Version) on a machine with an NVIDIA GPU")
        else:
            try:
                n = cp.cuda.runtime.getDeviceCount()
            except Exception as e:
                _status = (False, f"CuPy is installed but no CUDA device is usable ({type(e).__name__}: {e})")
            else:
                if n < 1:
                    _status = (False, "CuPy is installed but found no CUDA device")
                else:
                    _cupy = cp
                    _track_peak_memory(cp)
                    _status = (True, None)
    return _status


_peak = {}          # device index -> the most bytes CuPy's pool had in use since the last reset


def _track_peak_memory(cp):
    """Route CuPy's allocations through its default pool and note the bytes in use after
    each one, per device: the peak behind `engine.cuda.max_memory_allocated()` (CuPy keeps
    no peak itself). Memory is only taken at an allocation, so this sees every peak."""
    pool = cp.get_default_memory_pool()
    get_device = cp.cuda.runtime.getDevice

    def malloc(size):
        mem = pool.malloc(size)
        dev = get_device()
        used = pool.used_bytes()
        if used > _peak.get(dev, 0):
            _peak[dev] = used
        return mem
    cp.cuda.set_allocator(malloc)


def cupy_device_count():
    return _cupy.cuda.runtime.getDeviceCount() if _cupy is not None else 0


def require_cuda():
    ok, reason = cuda_status()
    if not ok:
        raise RuntimeError(f"CUDA was asked for but is not available: {reason}")


def xp(dev):
    """The array namespace for a device."""
    dev = device(dev) if not isinstance(dev, device) else dev
    if dev.type == "cpu":
        return np
    return cupy()


def is_cuda_array(a):
    return type(a) is not _ndarray and _cupy is not None and isinstance(a, _cupy.ndarray)


def xp_of(a):
    """The namespace (numpy or cupy) that owns array `a`."""
    if type(a) is _ndarray:
        return np
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy
    return np


def device_of(a):
    if type(a) is _ndarray:
        return CPU
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return device("cuda", a.device.id)
    return CPU


def array_of(t):
    """The raw backend array of a Tensor (shares memory; no autograd)."""
    return t._a


def to_device(a, dev):
    """Copy array `a` to device `dev` (no copy when already there)."""
    dev = device(dev)
    if dev.type == "cpu":
        if type(a) is _ndarray:
            return a
        return a.get()
    cp = cupy()
    with cuda_device(dev) as idx:
        if isinstance(a, cp.ndarray) and a.device.id == idx:
            return a
        try:
            return cp.asarray(a)
        except Exception:
            if a.dtype.name == "bfloat16":
                raise RuntimeError("bfloat16 tensors on cuda need CuPy 14 or later (with "
                                   "ml_dtypes): this CuPy cannot hold bfloat16 arrays") from None
            raise


def cuda_device(dev):
    """cupy.cuda.Device(i) for cuda device `dev` (arrays made inside it live there); PyTorch's
    error for an index past the last GPU. Entering it gives the index."""
    cp = cupy()
    idx = 0 if dev.index is None else dev.index
    if idx >= cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"CUDA error: invalid device ordinal (asked for cuda:{idx}, "
                           f"{cp.cuda.runtime.getDeviceCount()} device(s) present)")
    return _DeviceIndex(cp.cuda.Device(idx), idx)


class _DeviceIndex:
    __slots__ = ("_d", "_i")

    def __init__(self, d, i):
        self._d, self._i = d, i

    def __enter__(self):
        self._d.__enter__()
        return self._i

    def __exit__(self, *exc):
        return self._d.__exit__(*exc)


def check_same_device(a, b):
    """Raise PyTorch's error when two arrays live on different devices."""
    da, db = device_of(a), device_of(b)
    if da != db:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                           f"devices, {_dev_name(da)} and {_dev_name(db)}!")


def _dev_name(d):
    return "cpu" if d.type == "cpu" else f"cuda:{d.index or 0}"
