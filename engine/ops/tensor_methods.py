"""Tensor's Python operators and conveniences, installed with every registered method.

Operators map to registered ops (`a + b` is engine.add, `a[k]` is engine.ops.indexing's
__getitem__), so recording sees the op's public name. Conversions such as `.float()` and
`.cuda()` are `to`, and `.backward()` is engine.autograd.backward on this tensor.
"""
from .. import _dtype
from .._tensor import Tensor
from ..autograd import engine as _autograd_engine
from ..autograd import recording as _recording
from ..backend import device as _device
from ._core import _as_tensor
from ._registry import OPS, install
from .. import ops


def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(self)/d(leaf) into every leaf's .grad (see engine.autograd.backward)."""
    if self._base is not None and self._vv != self._ver[0]:
        self.grad_fn            # a stale view regenerates its grad_fn first
    _autograd_engine.backward((self,), None if gradient is None else (gradient,), retain_graph,
                              create_graph, inputs=inputs)


def _operator(name):
    """The Python operator for the registered two-argument op `name` (`a * b` is mul(a, b)): with
    no observer, one check and the op (benchmark cases `tiny` and `chain` run on these)."""
    fn = OPS[name].fn.__wrapped__

    def operator(self, other):
        if _recording.dispatch is None:
            if _recording.active is None:
                return fn(self, other)
            return _recording._call(name, fn, (self, other), {})
        return _recording.dispatch(name, fn, (self, other), {})
    operator.__name__ = operator.__qualname__ = name
    return operator


def _converter(dtype):
    def convert(self, memory_format=None):
        return ops.to(self, dtype)
    return convert


def _cuda(self, device=None, non_blocking=False, memory_format=None):
    if not isinstance(device, (str, _device)):
        device = _device("cuda", device if isinstance(device, int) else 0)
    return ops.to(self, device=device)


def _new(factory):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return factory(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    return new


EXTRA = {
    "backward": backward,
    "where": lambda self, condition, other: ops.where(condition, self, other),
    "type_as": lambda self, other: ops.to(self, other.dtype),
    "new_tensor": lambda self, data, dtype=None, device=None, requires_grad=False: ops.tensor(
        data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad),
    "new_zeros": _new(lambda *a, **k: ops.zeros(*a, **k)),
    "new_ones": _new(lambda *a, **k: ops.ones(*a, **k)),
    "new_empty": _new(lambda *a, **k: ops.zeros(*a, **k)),
    "new_full": lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: ops.full(
        size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad),
    "T": property(lambda self: ops.shape._T(self)),
    "mT": property(lambda self: ops.shape._mT(self)),
    "H": property(lambda self: ops.shape._T(self)),
    "mH": property(lambda self: ops.shape._mT(self)),
    "float": _converter(_dtype.float32), "double": _converter(_dtype.float64), "half": _converter(_dtype.float16),
    "bfloat16": lambda self, memory_format=None: ops.to(self, _dtype._load_bfloat16()),
    "long": _converter(_dtype.int64), "int": _converter(_dtype.int32), "short": _converter(_dtype.int16),
    "byte": _converter(_dtype.uint8), "char": _converter(_dtype.int8), "bool": _converter(_dtype.bool_),
    "cpu": lambda self, memory_format=None: ops.to(self, device="cpu"),
    "cuda": _cuda,
    # Python operators
    "__add__": _operator("add"),
    "__radd__": _operator("add"),
    "__sub__": _operator("sub"),
    "__rsub__": _operator("rsub"),
    "__mul__": _operator("mul"),
    "__rmul__": _operator("mul"),
    "__truediv__": _operator("div"),
    "__rtruediv__": lambda self, other: ops.mul(ops.reciprocal(self), other),
    "__floordiv__": OPS["floor_divide"].fn,
    "__rfloordiv__": lambda self, other: ops.floor_divide(_as_tensor(other, self), self),
    "__mod__": OPS["remainder"].fn,
    "__pow__": OPS["pow"].fn,
    "__rpow__": lambda self, other: ops.pow(other, self),
    "__matmul__": OPS["matmul"].fn,
    "__rmatmul__": lambda self, other: ops.matmul(_as_tensor(other, self), self),
    "__neg__": OPS["neg"].fn,
    "__pos__": lambda self: self,
    "__abs__": OPS["abs"].fn,
    "__invert__": OPS["bitwise_not"].fn,
    "__and__": OPS["bitwise_and"].fn,
    "__or__": OPS["bitwise_or"].fn,
    "__xor__": OPS["bitwise_xor"].fn,
    "__rand__": OPS["bitwise_and"].fn,
    "__ror__": OPS["bitwise_or"].fn,
    "__eq__": OPS["eq"].fn,
    "__ne__": OPS["ne"].fn,
    "__lt__": OPS["lt"].fn,
    "__le__": OPS["le"].fn,
    "__gt__": OPS["gt"].fn,
    "__ge__": OPS["ge"].fn,
    "__iadd__": lambda self, other: ops.add_(self, other),
    "__isub__": lambda self, other: ops.sub_(self, other),
    "__imul__": lambda self, other: ops.mul_(self, other),
    "__itruediv__": lambda self, other: ops.div_(self, other),
    "__ipow__": lambda self, other: ops.pow_(self, other),
    "__hash__": object.__hash__,
}

install(Tensor, EXTRA)
