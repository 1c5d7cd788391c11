"""Data types (`engine.float32` ...) and PyTorch's type-promotion rules.

A `dtype` wraps a NumPy dtype; CuPy uses the same dtype objects. Promotion follows
PyTorch: categories bool < integer < floating; dimensioned tensors outrank zero-dim
tensors, which outrank Python scalars, but only within a category; a Python float
meeting an integer tensor gives the default floating dtype.

`bfloat16` is NumPy's bfloat16 from `ml_dtypes` (the extension JAX uses; NumPy has none),
imported the first time `engine.bfloat16` is named or a bfloat16 array is seen (it takes
about half a second to load). Loading it runs the hooks in `BFLOAT16_HOOKS` (the op core
then computes bfloat16 ops in float32, as PyTorch's CPU kernels do).
"""
import numpy as np

__all__ = ["dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8", "bool_", "get_default_dtype", "set_default_dtype", "promote_types"]


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_cat", "_rank")

    def __init__(self, name, npdt, cat, rank):
        self.name = name
        self.np = np.dtype(npdt)
        self.is_floating_point = cat == 2
        self.is_signed = cat == 2 or self.np.kind == "i"
        self.itemsize = self.np.itemsize
        self._cat = cat      # 0 bool, 1 integer, 2 floating
        self._rank = rank    # order inside PyTorch's promotion lattice

    is_complex = False

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self):
        return self

    @property
    def __doc__(self):  # pragma: no cover - cosmetic
        return f"engine dtype {self.name}"


bool_ = dtype("bool", np.bool_, 0, 0)
uint8 = dtype("uint8", np.uint8, 1, 1)
int8 = dtype("int8", np.int8, 1, 1)
int16 = dtype("int16", np.int16, 1, 2)
int32 = dtype("int32", np.int32, 1, 3)
int64 = dtype("int64", np.int64, 1, 4)
float16 = dtype("float16", np.float16, 2, 5)
float32 = dtype("float32", np.float32, 2, 6)
float64 = dtype("float64", np.float64, 2, 7)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
NP2DT = {d.np: d for d in ALL}
for _d in ALL:
    NP2DT[_d.np.type] = _d


_BF16 = None            # NumPy's bfloat16 dtype once loaded (ml_dtypes; its kind is 'V')
BFLOAT16_HOOKS = []     # called once, with the engine dtype, when bfloat16 is loaded


def is_floating(npdt):
    """Whether NumPy dtype `npdt` is a floating-point type: the one test op code uses for it
    (not `npdt.kind == "f"`: bfloat16 is a NumPy extension type of kind 'V')."""
    return npdt.kind == "f" or npdt is _BF16


def _load_bfloat16():
    """engine.bfloat16, importing ml_dtypes the first time."""
    global _BF16, ALL
    d = globals().get("bfloat16")
    if d is not None:
        return d
    try:
        import ml_dtypes
    except ImportError:
        raise RuntimeError("bfloat16 needs the ml_dtypes package (pip install ml_dtypes): NumPy "
                           "has no bfloat16 of its own") from None
    d = dtype("bfloat16", ml_dtypes.bfloat16, 2, 5)
    _BF16 = d.np
    NP2DT[d.np] = NP2DT[d.np.type] = d
    ALL = ALL + (d,)
    globals()["bfloat16"] = d
    for hook in BFLOAT16_HOOKS:
        hook(d)
    return d


def __getattr__(name):
    if name == "bfloat16":      # loaded on first use (see the module docstring)
        return _load_bfloat16()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _by_name(name):
    if name == "bfloat16":
        return _load_bfloat16()
    return {d.name: d for d in ALL}[name]


class _Default:
    dtype = float32


_default = _Default()


def get_default_dtype():
    """The floating dtype for Python floats and factories (float32 unless changed)."""
    return _default.dtype


def set_default_dtype(d):
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default.dtype = d


def to_np(d):
    """NumPy dtype for an engine dtype, a NumPy dtype or a Python type (float/int/bool)."""
    if d is None:
        return _default.dtype.np
    if isinstance(d, dtype):
        return d.np
    if d is float:                  # Python's float is a double: torch.float64, whatever the default
        return float64.np
    if d is int:
        return np.dtype(np.int64)
    if d is bool:
        return np.dtype(np.bool_)
    return np.dtype(d)


def from_np(npdt):
    try:
        return NP2DT[npdt]
    except KeyError:
        npdt = np.dtype(npdt)
        if npdt.name == "bfloat16" and npdt.type.__module__ == "ml_dtypes":
            _load_bfloat16()
        d = NP2DT.get(npdt)
        if d is None:
            raise TypeError(f"unsupported dtype {npdt}") from None
        return d


def promote_types(a, b):
    """The smallest dtype both `a` and `b` convert to, as `torch.promote_types`."""
    if a is b:
        return a
    if a._rank == 5 and b._rank == 5:     # float16 with bfloat16: neither holds the other
        return float32
    if a._cat == 1 and b._cat == 1:
        # uint8 with a signed integer: the smallest signed type holding both
        if a is uint8 or b is uint8:
            other = b if a is uint8 else a
            return int16 if other is int8 else other
    return a if a._rank >= b._rank else b


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher._cat == 2:
        return higher
    if higher is bool_ or lower._cat == 2:
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(x):
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    if isinstance(x, float):
        return _default.dtype
    if isinstance(x, (np.generic, np.ndarray)):
        return from_np(x.dtype)
    raise TypeError(f"unsupported scalar {type(x).__name__}")


def result_type(*operands):
    """PyTorch's `torch.result_type` over tensors and Python scalars."""
    dim = zero = wrapped = None
    for x in operands:
        a = getattr(x, "_a", None)        # a Tensor's array (this module sits below engine._tensor)
        if a is not None:
            d = from_np(a.dtype)
            if a.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        elif x is not None:
            d = _scalar_dtype(x)
            if isinstance(x, float) or (isinstance(x, np.floating)):
                d = _default.dtype
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


LEGACY_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
                "bfloat16": "BFloat16Tensor",
                "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
                "uint8": "ByteTensor", "bool": "BoolTensor"}


def legacy_type_name(a):
    """PyTorch's legacy type name of an array's tensor: 'torch.FloatTensor', 'torch.cuda.LongTensor'."""
    return ("torch." if type(a) is np.ndarray else "torch.cuda.") + LEGACY_NAMES[str(a.dtype)]
