"""`engine.cuda`: whether CUDA through CuPy can be used here, and why not if it cannot.

Nothing here raises when CuPy or a GPU is missing; `is_available()` answers False and
`unavailable_reason()` says why.
"""
import sys as _sys
import types as _types

from . import backend as _backend

__all__ = ["is_available", "unavailable_reason", "device_count", "current_device", "get_device_name",
           "synchronize", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "reset_peak_memory_stats", "empty_cache", "manual_seed", "manual_seed_all", "seed", "seed_all",
           "initial_seed", "get_rng_state", "set_rng_state", "default_generators", "is_bf16_supported"]


def is_available():
    """True when CuPy imports and sees at least one GPU."""
    return _backend.cuda_status()[0]


def unavailable_reason():
    """A sentence saying why CUDA cannot be used, or None when it can."""
    ok, reason = _backend.cuda_status()
    return None if ok else reason


def is_bf16_supported(including_emulation=True):
    """Whether bfloat16 tensors can live on cuda: CuPy holds NumPy's bfloat16 (ml_dtypes)
    arrays from CuPy 14 on; older CuPy cannot."""
    if not is_available():
        return False
    from . import _dtype
    try:
        _backend.cupy().zeros(1, dtype=_dtype._load_bfloat16().np)
    except Exception:       # CuPy without bfloat16: TypeError/ValueError, by version
        return False
    return True


def device_count():
    ok, _ = _backend.cuda_status()
    return _backend.cupy_device_count() if ok else 0


def current_device():
    _backend.require_cuda()
    return _backend.cupy().cuda.runtime.getDevice()


def _index(device):
    """The device index `device` names (an int, "cuda:1", an engine.device; None: the current)."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    d = _backend.device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def get_device_name(device=None):
    _backend.require_cuda()
    name = _backend.cupy().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else name


def synchronize(device=None):
    """Wait for every kernel queued on the device to finish (CUDA must be available)."""
    _backend.require_cuda()
    _backend.cupy().cuda.Device(_index(device)).synchronize()


# ----------------------------------------------------------------------------- memory
# CuPy's default memory pool holds the engine's cuda tensors: "allocated" is what arrays use,
# "reserved" what the pool holds from the driver (used + cached). Without CUDA these answer 0
# and do nothing, as PyTorch's do before CUDA is initialised.
def _pool_bytes(device, what):
    if not is_available():
        return 0
    cp = _backend.cupy()
    with cp.cuda.Device(_index(device)):
        pool = cp.get_default_memory_pool()
        return pool.used_bytes() if what == "used" else pool.total_bytes()


def memory_allocated(device=None):
    """Bytes the device's tensors occupy now."""
    return _pool_bytes(device, "used")


def max_memory_allocated(device=None):
    """The most bytes the device's tensors occupied at once since the program started or
    since the last reset_peak_memory_stats()."""
    if not is_available():
        return 0
    return max(_backend._peak.get(_index(device), 0), memory_allocated(device))


def reset_peak_memory_stats(device=None):
    """Start max_memory_allocated() again from what is allocated now."""
    if is_available():
        _backend._peak[_index(device)] = memory_allocated(device)


def memory_reserved(device=None):
    """Bytes the memory pool holds from the driver: allocated plus cached for reuse."""
    return _pool_bytes(device, "total")


def empty_cache():
    """Give the pool's cached, unused blocks back to the driver (memory_reserved() drops;
    tensors are untouched)."""
    if is_available():
        _backend.cupy().get_default_memory_pool().free_all_blocks()


# ----------------------------------------------------------------------------- random
# Each device has a default cuda generator (engine._random.CudaGenerator: draws run on the device);
# engine.manual_seed seeds them all, as torch.manual_seed does. Seeding without CUDA does
# nothing (PyTorch's is lazy the same way); reading a generator needs CUDA.
def manual_seed(seed):
    """Seed the current device's default generator."""
    if is_available():
        from . import _random
        _random.cuda_default_generator(current_device()).manual_seed(int(seed))


def manual_seed_all(seed):
    """Seed every device's default generator."""
    from . import _random
    _random.cuda_manual_seed_all(int(seed) & 0xFFFFFFFFFFFFFFFF)


def seed():
    """Seed the current device's default generator from the system's entropy."""
    if is_available():
        from . import _random
        _random.cuda_default_generator(current_device()).seed()


def seed_all():
    from ._random import Generator
    manual_seed_all(Generator().seed())


def initial_seed():
    from . import _random
    return _random.cuda_default_generator(current_device()).initial_seed()


def get_rng_state(device="cuda"):
    """The default generator's state of `device` (16 bytes: seed and offset) as a uint8 tensor."""
    from . import _random
    return _random.cuda_default_generator(_index(device)).get_state()


def set_rng_state(new_state, device="cuda"):
    from . import _random
    _random.cuda_default_generator(_index(device)).set_state(new_state)


def __getattr__(name):
    if name == "default_generators":    # torch.cuda.default_generators: one per device
        if not is_available():
            return ()
        from . import _random
        return tuple(_random.cuda_default_generator(i) for i in range(device_count()))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _AmpAliases(_types.ModuleType):
    """`engine.cuda.amp`: torch.cuda.amp's autocast and GradScaler, defined in engine.amp and
    loaded on first use; importable too (`from engine.cuda.amp import GradScaler`)."""

    def __getattr__(self, name):
        from .amp import cuda_amp
        return getattr(cuda_amp, name)


amp = _sys.modules[__name__ + ".amp"] = _AmpAliases(__name__ + ".amp")
