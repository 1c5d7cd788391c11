"""Helpers for tests that compare the engine with PyTorch."""
import pytest

import engine


def intel_mkl(torch) -> bool:
    """True where this PyTorch draws some distributions with MKL (Intel CPUs), not its own kernels."""
    if torch is None:
        return False
    try:
        with open("/proc/cpuinfo") as f:
            intel = "GenuineIntel" in f.read(4096)
    except OSError:
        intel = False
    return intel and torch.backends.mkl.is_available()


def same_error(fn):
    """fn(module) raises the same exception type and message on engine and torch."""
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(type(te.value)) as ee:
        fn(engine)
    assert str(ee.value) == str(te.value)
