"""Where PyTorch's own random draws depend on the machine (shared by the seed tests)."""


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
