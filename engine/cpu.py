"""`engine.cpu`: PyTorch's torch.cpu namespace: the cpu device's answers (always available,
one device, nothing to wait for) and the deprecated `torch.cpu.amp` aliases."""
import sys as _sys
import types as _types

__all__ = ["is_available", "device_count", "current_device", "synchronize"]


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """Nothing runs asynchronously on the cpu."""


class _AmpAliases(_types.ModuleType):
    """`engine.cpu.amp`: defined in engine.amp, loaded on first use."""

    def __getattr__(self, name):
        from .amp import cpu_amp
        return getattr(cpu_amp, name)


amp = _sys.modules[__name__ + ".amp"] = _AmpAliases(__name__ + ".amp")
