"""engine: gradstudio's embedded autograd library, usable as `import engine as torch`.

Tensors (NumPy on "cpu", CuPy on "cuda"), PyTorch's ops, dtypes and printing, and
reverse-mode autograd whose backward pass can also be stepped node by node
(`engine.autograd.backward_steps`). The training stack (`engine.nn`, `engine.optim`,
`engine.amp`, `engine.utils`) lives beside the core and is imported on first use.

Core layout: `_tensor` (Tensor, Size; raw array in `t._a`), `ops` (every op, one module per
family, forward beside backward node; `ops._core._finish` connects outputs to the graph and
`ops._registry` makes the engine.* functions and Tensor methods: see docs/engine.md), `_dtype`
(dtypes, promotion), `_tensor_str` (PyTorch's printing), `_random` (PyTorch's CPU random
streams), `backend` (NumPy/CuPy per device), `cuda`, and `autograd` (graph nodes, the traversal
generator, views and versions, recording, grad modes, Function, gradcheck, functional, anomaly
mode). Code that adds ops on raw arrays records them with `ops._core._finish(out,
autograd.graph.new_node(NodeClass), inputs, saved)` guarded by `ops._core._needs(*inputs)`, or
with `autograd.Function`.
"""
import builtins as _builtins
import gc as _gc
import importlib as _importlib

# Every op allocates a few small linked objects (a tensor, a graph node, edge tuples) that
# survive while the graph is alive. With CPython's default thresholds (700, 10, 10) the
# cyclic collector re-scans the whole growing graph in frequent full collections, which
# tripled forward time on long chains. Full collections are made rarer (never more
# frequent than configured); young-generation collection is unchanged.
_t = _gc.get_threshold()
if _t[2] < 100:
    _gc.set_threshold(_t[0], _t[1], 100)
del _t


def _keep_freed_arrays_in_heap():
    # glibc returns freed blocks above its (adaptive) mmap threshold to the kernel and trims
    # the heap top beyond 2x that threshold, so every fresh 4 MB array page-faults ~1,000
    # times: a loop that keeps its 1M-element intermediates alive made 4,800 faults a step
    # and ran 10x slower than PyTorch. Keep blocks up to 32 MiB in the heap and trim only
    # past 256 MiB of free top. glibc (Linux) only; elsewhere nothing changes.
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
            libc.mallopt(-3, 32 << 20)     # M_MMAP_THRESHOLD
            libc.mallopt(-1, 256 << 20)    # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


_keep_freed_arrays_in_heap()

from ._dtype import (dtype, float16, float32, float64, int8, int16, int32, int64, uint8, bool_ as bool,
                     get_default_dtype, set_default_dtype, promote_types, result_type, finfo, iinfo)
from . import autograd      # first: its traversal imports _tensor, which imports autograd.graph and .views
from ._tensor import Tensor, Size
from .backend import device, get_default_device, set_default_device
from . import version
from .version import __version__
from .autograd.anomaly_mode import is_anomaly_enabled, is_anomaly_check_nan_enabled
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode,
                                 is_inference_mode_enabled)
from . import ops
from .ops import *  # noqa: F401,F403  (every registered op function: engine.ops.__all__)
from .ops import (add, sub, mul, div, neg, pow, exp, log, sqrt, abs, sin, cos, tanh, sigmoid, relu, clamp,
                  maximum, minimum, where, sum, mean, prod, max, min, amax, amin, norm, var, std, logsumexp,
                  softmax, log_softmax, cumsum, matmul, mm, bmm, reshape, flatten, transpose, permute, squeeze,
                  unsqueeze, cat, stack, gather, flip, tensor, zeros, ones, full, eye, arange, linspace,
                  zeros_like, ones_like, from_numpy, round, all, any)
from ._random import manual_seed, seed, initial_seed, Generator, default_generator, get_rng_state, set_rng_state
from ._tensor_str import set_printoptions, get_printoptions, printoptions
from . import cuda, backend, _dtype
from ._warnings import silence_numpy_floating_point_warnings_in_engine as _quiet_fp
_quiet_fp()

# The public classes print under their public names: <class 'engine.Tensor'>, as torch's do.
for _cls in (Tensor, Size, dtype, device):
    _cls.__module__ = "engine"
del _cls

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
strided = "strided"
contiguous_format = preserve_format = "contiguous_format"
inf = __import__("math").inf
nan = __import__("math").nan
pi = __import__("math").pi
e = __import__("math").e


def _variable(data, requires_grad=False, volatile=False):
    """Legacy `torch.autograd.Variable(t, requires_grad=...)`: a tensor sharing t's data."""
    t = data.detach() if isinstance(data, Tensor) else tensor(data)
    return t.requires_grad_(requires_grad)


autograd.Variable = _variable
from .autograd.function import Function as _Function  # noqa: E402



class _LegacyTensorType(type):
    """torch.FloatTensor and friends: constructors, and isinstance checks on dtype."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and not obj.is_cuda

    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and not isinstance(args[0], _builtins.int):
            return tensor(args[0], dtype=cls.dtype)
        return zeros(*args, dtype=cls.dtype)

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy(name, dt):
    return _LegacyTensorType(name, (), {"dtype": dt})


FloatTensor = _legacy("FloatTensor", float32)
DoubleTensor = _legacy("DoubleTensor", float64)
HalfTensor = _legacy("HalfTensor", float16)
LongTensor = _legacy("LongTensor", int64)
IntTensor = _legacy("IntTensor", int32)
ByteTensor = _legacy("ByteTensor", uint8)
BoolTensor = _legacy("BoolTensor", bool)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def is_floating_point(t):
    return t.is_floating_point()


def numel(t):
    return t.numel()


def get_num_threads():
    return 1


def set_num_threads(n):
    pass


def compile(model=None, **kwargs):
    """No compiler here: returns the model (or a decorator that does) unchanged."""
    return model if model is not None else (lambda m: m)


_LAZY = ("nn", "optim", "amp", "utils", "datasets", "linalg", "serialization", "profiler", "cpu",
         "distributions", "accelerator", "backends", "onnx", "functional")


def __getattr__(name):
    if name in _LAZY:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name == "broadcast_shapes":      # engine.broadcast_shapes is engine.functional's, as in torch
        return _importlib.import_module(".functional", __name__).broadcast_shapes
    if name in ("save", "load"):    # engine.save / engine.load live in engine.serialization
        return getattr(_importlib.import_module(".serialization", __name__), name)
    if name in ("autocast", "is_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype",
                "is_autocast_available"):  # engine.autocast is engine.amp.autocast, as in torch
        return getattr(_importlib.import_module(".amp", __name__), name)
    if name == "bfloat16":  # NumPy's bfloat16 comes from ml_dtypes, imported on first use
        globals()["bfloat16"] = _dtype._load_bfloat16()
        return bfloat16
    if name == "BFloat16Tensor":
        globals()[name] = _legacy(name, __getattr__("bfloat16"))
        return globals()[name]
    raise AttributeError(f"module 'engine' has no attribute '{name}'")
