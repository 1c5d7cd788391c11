"""`engine.backends`: PyTorch's backend switches (`cudnn.benchmark`, `mps.is_available()`, ...).

The engine runs NumPy on the CPU and CuPy on CUDA; it uses neither cuDNN nor MPS, so those
answer "not available" and their flags are settings that programs may read and write.
"""
from . import cuda, cudnn, mps  # noqa: F401
