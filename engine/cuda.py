"""`engine.cuda`: whether CUDA through CuPy can be used here, and why not if it cannot.

Nothing here raises when CuPy or a GPU is missing; `is_available()` answers False and
`unavailable_reason()` says why.
"""
import sys as _sys
import types as _types

from . import backend as _backend

__all__ = ["is_available", "unavailable_reason", "device_count", "current_device",
           "synchronize", "manual_seed", "manual_seed_all", "get_device_name"]


def is_available():
    """True when CuPy imports and sees at least one GPU."""
    return _backend.cuda_status()[0]


def unavailable_reason():
    """A sentence saying why CUDA cannot be used, or None when it can."""
    ok, reason = _backend.cuda_status()
    return None if ok else reason


def device_count():
    ok, _ = _backend.cuda_status()
    return _backend.cupy_device_count() if ok else 0


def current_device():
    _backend.require_cuda()
    return _backend.cupy().cuda.runtime.getDevice()


def get_device_name(device=None):
    _backend.require_cuda()
    cp = _backend.cupy()
    idx = 0 if device is None else (device if isinstance(device, int) else _backend.device(device).index or 0)
    props = cp.cuda.runtime.getDeviceProperties(idx)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else name


def synchronize(device=None):
    if is_available():
        _backend.cupy().cuda.Device().synchronize()


def manual_seed(seed):
    if is_available():
        _backend.cupy().random.seed(int(seed))


manual_seed_all = manual_seed


class _AmpAliases(_types.ModuleType):
    """`engine.cuda.amp`: torch.cuda.amp's autocast and GradScaler, defined in engine.amp and
    loaded on first use; importable too (`from engine.cuda.amp import GradScaler`)."""

    def __getattr__(self, name):
        from .amp import cuda_amp
        return getattr(cuda_amp, name)


amp = _sys.modules[__name__ + ".amp"] = _AmpAliases(__name__ + ".amp")
