"""`engine.backends.cudnn`: the flags programs set (`benchmark`, `deterministic`, ...); the
engine's CUDA ops run through CuPy, not cuDNN, so `is_available()` is False."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None
