"""`engine.accelerator`: PyTorch's device-agnostic view of the current accelerator.

The engine's only accelerator is CUDA through CuPy. Where it cannot be used, `is_available()`
answers False, `current_accelerator()` None and `device_count()` 0 (as a CPU-only PyTorch does),
and the calls that need a device raise PyTorch's RuntimeError.
"""
import contextlib as _contextlib

from . import cuda as _cuda
from .backend import device as _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "current_device_idx", "set_device_index", "set_device_idx", "device_index", "synchronize",
           "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "reset_peak_memory_stats"]

_NONE = "Cannot access accelerator device when none is available."


def is_available():
    """True when an accelerator (CUDA here) can run tensors."""
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """device('cuda') where CUDA is usable, else None."""
    return _device("cuda") if _cuda.is_available() else None


def device_count():
    return _cuda.device_count()


def _require():
    if not _cuda.is_available():
        raise RuntimeError(_NONE)


def current_device_index():
    _require()
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(device):
    _require()
    from . import backend
    backend.cupy().cuda.Device(_cuda._index(device)).use()


set_device_idx = set_device_index


@_contextlib.contextmanager
def device_index(device):
    """Within the block the current device is `device` (None: unchanged)."""
    if device is None:
        yield
        return
    previous = current_device_index()
    set_device_index(device)
    try:
        yield
    finally:
        set_device_index(previous)


def synchronize(device=None):
    _require()
    _cuda.synchronize(device)


def empty_cache():
    _require()
    _cuda.empty_cache()


def memory_allocated(device_index=None):
    _require()
    return _cuda.memory_allocated(device_index)


def max_memory_allocated(device_index=None):
    _require()
    return _cuda.max_memory_allocated(device_index)


def memory_reserved(device_index=None):
    _require()
    return _cuda.memory_reserved(device_index)


def reset_peak_memory_stats(device_index=None):
    _require()
    _cuda.reset_peak_memory_stats(device_index)
