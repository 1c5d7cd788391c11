""""""
import math
import numpy as np

from .._tensor import Tensor
from .. import _dtype
from ..autograd.graph import Node, _SavedOutput, new_node
from ._core import make_inplace, _e, _finish, _inplace, _isinst, _needs, _ns, _pair, _res, _type_word, _wrap
from .unary import _unary_op, expm1, log1p, rsqrt, sign, trunc
from ._registry import op, alias
from .. import ops
from .._dtype import is_floating


def _need_tensor(fn, x, arg, pos):
    if not _isinst(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _float_operands(name, input, other, ints=True):
    """Raw operands of a floating binary op, promoted as PyTorch promotes; integer and bool
    results go to the default float (ints=True) or are refused as PyTorch's kernel does.
    A Python number becomes a 0-dim array of the other's dtype. Returns (xp, xa, ya)."""
    xa, ya = _pair(input, other)
    arr = xa if hasattr(xa, "dtype") else ya
    if not is_floating(arr.dtype):
        if not ints:
            dev = (input if _isinst(input, Tensor) else other).device.type
            raise NotImplementedError(f"\"{name}_{dev}\" not implemented for '{_type_word(arr.dtype)}'")
        fdt = _dtype.get_default_dtype().np
        xa = xa.astype(fdt) if hasattr(xa, "dtype") else xa
        ya = ya.astype(fdt) if hasattr(ya, "dtype") else ya
        arr = xa if hasattr(xa, "dtype") else ya
    xp = _ns(arr)
    if not hasattr(xa, "dtype"):
        xa = xp.asarray(xa, dtype=arr.dtype)
    if not hasattr(ya, "dtype"):
        ya = xp.asarray(ya, dtype=arr.dtype)
    return xp, xa, ya


def _record(t, cls, inputs, saved=(), result=False):
    """Connect t to a new `cls` node over the tensor `inputs`, saving `saved` (and t itself)."""
    if _needs(*inputs):
        n = _finish(t, new_node(cls), inputs, saved)._node
        if result:
            n._saved = tuple(saved) + (_SavedOutput(t),)
            n._sver = tuple(n._sver) + (t._ver[0],)
        return n
    return None


class AddcmulBackward0(Node):
    __slots__ = ("value",)
    formula = "AddcmulBackward0: self: grad, tensor1: grad * tensor2 * value, tensor2: grad * tensor1 * value"
    saved_names = ("tensor1", "tensor2")
    saved_attrs = ("value",)

    def backward(self, g):
        t1, t2 = self.saved
        n, v = self._next, self.value
        return (g, g * (t2 * v) if n[1][0] is not None else None,
                g * (t1 * v) if n[2][0] is not None else None)


class AddcdivBackward0(Node):
    __slots__ = ("value",)
    formula = ("AddcdivBackward0: self: grad, tensor1: grad * value / tensor2, "
               "tensor2: -grad * value * tensor1 / tensor2 ** 2")
    saved_names = ("tensor1", "tensor2")
    saved_attrs = ("value",)

    def backward(self, g):
        t1, t2 = self.saved
        n, v = self._next, self.value
        return (g, g * (v / t2) if n[1][0] is not None else None,
                -g * (t1 * v / (t2 * t2)) if n[2][0] is not None else None)


def _addc(name, input, tensor1, tensor2, value):
    """The three arrays in their common dtype, and value as that dtype's Python number."""
    for arg, pos, x in (("input", 1, input), ("tensor1", 2, tensor1), ("tensor2", 3, tensor2)):
        _need_tensor(name, x, arg, pos)
    dt = _dtype.result_type(input, tensor1, tensor2)
    arrays = [x._a if x._a.dtype == dt.np else x._a.astype(dt.np) for x in (input, tensor1, tensor2)]
    return arrays, (value if dt.is_floating_point else int(value))


@op
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, elementwise with broadcasting."""
    (a, b, c), v = _addc("addcmul", input, tensor1, tensor2, value)
    t = _wrap(_res(a + (b * v) * c))
    n = _record(t, AddcmulBackward0, (input, tensor1, tensor2), (tensor1, tensor2))
    if n is not None:
        n.value = value
    return t


@op
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2, elementwise with broadcasting (true division)."""
    if tensor1._a.dtype.kind in "iub" and tensor2._a.dtype.kind in "iub":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform "
            "a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + "
            "value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as (input + value * "
            "tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    (a, b, c), v = _addc("addcdiv", input, tensor1, tensor2, value)
    t = _wrap(_res(a + (b * v) / c))
    n = _record(t, AddcdivBackward0, (input, tensor1, tensor2), (tensor1, tensor2))
    if n is not None:
        n.value = value
    return t


class Atan2Backward0(Node):
    __slots__ = ()
    formula = ("Atan2Backward0: self: grad * other / (self ** 2 + other ** 2), "
               "other: grad * -self / (self ** 2 + other ** 2)")
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        d = x * x + y * y
        r = 1 / ops.where(ops.eq(d, 0), 1.0, d)          # both inputs 0: gradient 0, as PyTorch gives
        return g * (y * r), g * (-x * r)


class HypotBackward0(Node):
    __slots__ = ()
    formula = "HypotBackward0: self: grad * self / result, other: grad * other / result"
    saved_names = ("self", "other", "result")

    def backward(self, g):
        x, y, r = self.saved
        return g * x / r, g * y / r


class LogaddexpBackward0(Node):
    __slots__ = ()
    formula = "LogaddexpBackward0: self: grad / (1 + exp(other - self)), other: grad / (1 + exp(self - other))"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        return g / (ops.exp(y - x) + 1), g / (ops.exp(x - y) + 1)


class Logaddexp2Backward0(Node):
    __slots__ = ()
    formula = "Logaddexp2Backward0: self: grad / (1 + 2 ** (other - self)), other: grad / (1 + 2 ** (self - other))"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        return g / (ops.pow(2.0, y - x) + 1), g / (ops.pow(2.0, x - y) + 1)


def _binary(name, cls, input, other, fn, ints=True, result=False):
    _need_tensor(name, input, "input", 1)
    _need_tensor(name, other, "other", 2)
    xp, xa, ya = _float_operands(name, input, other, ints)
    t = _wrap(_res(fn(xp, xa, ya)))
    _record(t, cls, (input, other), (input, other), result)
    return t


@op
def atan2(input, other):
    """The angle of the point (other, input), in (-pi, pi]."""
    return _binary("atan2", Atan2Backward0, input, other, lambda xp, a, b: xp.arctan2(a, b))


@op
def hypot(input, other):
    """sqrt(input ** 2 + other ** 2) without overflow."""
    return _binary("hypot", HypotBackward0, input, other, lambda xp, a, b: xp.hypot(a, b), ints=False, result=True)


@op
def logaddexp(input, other):
    """log(exp(input) + exp(other)) without overflow."""
    return _binary("logaddexp", LogaddexpBackward0, input, other, lambda xp, a, b: xp.logaddexp(a, b), ints=False)


@op
def logaddexp2(input, other):
    """log2(2 ** input + 2 ** other) without overflow."""
    return _binary("logaddexp2", Logaddexp2Backward0, input, other, lambda xp, a, b: xp.logaddexp2(a, b),
                   ints=False)


arctan2 = atan2
alias(arctan2, "arctan2")


class XlogyBackward0(Node):
    __slots__ = ()
    formula = ("XlogyBackward0: self: xlogy(grad, other), 0 where self == 0 and other <= 0, "
               "other: grad * self / other")
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (ops.where(ops.logical_and(ops.eq(x, 0), ops.le(y, 0)), 0.0, xlogy(g, y)) if n[0][0] is not None else None,
                g * x / y if n[1][0] is not None else None)


class XlogyBackward1(Node):
    __slots__ = ()
    formula = "XlogyBackward1: other: grad * self / other  (self a number)"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        return g * x / y


class XlogyBackward2(Node):
    __slots__ = ()
    formula = "XlogyBackward2: self: xlogy(grad, other), 0 where self == 0 if other <= 0  (other a number)"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        r = xlogy(g, y)
        return r if y > 0 else ops.where(ops.eq(x, 0), 0.0, r)


@op
def xlogy(input, other):
    """input * log(other), and 0 where input is 0 (unless other is NaN)."""
    if not _isinst(input, Tensor) and not _isinst(other, Tensor):
        raise TypeError(
            f"xlogy() received an invalid combination of arguments - got ({type(input).__name__}, "
            f"{type(other).__name__}), but expected one of:\n * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Number self, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n")
    xp, xa, ya = _float_operands("xlogy", input, other)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = xp.where((xa == 0) & ~xp.isnan(ya), 0, xa * xp.log(ya))
    t = _wrap(_res(r))
    if not _isinst(input, Tensor):
        _record(t, XlogyBackward1, (other,), (input, other))
    elif not _isinst(other, Tensor):
        _record(t, XlogyBackward2, (input,), (input, other))
    else:
        _record(t, XlogyBackward0, (input, other), (input, other))
    return t


def _copysign_ratio(x, r):
    """result / self, and 0 where self == 0 (there result is +-0, so dividing it by 1 gives that)."""
    return r / ops.where(ops.eq(x, 0), 1.0, x)


class CopysignBackward0(Node):
    __slots__ = ()
    formula = "CopysignBackward0: self: grad * result / self (0 where self == 0), other: zeros_like(other)"
    saved_names = ("self", "other", "result")

    def backward(self, g):
        x, y, r = self.saved
        n = self._next
        return (g * _copysign_ratio(x, r) if n[0][0] is not None else None,
                ops.zeros_like(y) if n[1][0] is not None else None)


class CopysignBackward1(Node):
    __slots__ = ()
    formula = "CopysignBackward1: self: grad * result / self (0 where self == 0)  (other a number)"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        return g * _copysign_ratio(x, r)


@op
def copysign(input, other):
    """|input| with the sign of other, elementwise."""
    if not _isinst(input, Tensor):
        raise TypeError(
            f"copysign() received an invalid combination of arguments - got ({type(input).__name__}, "
            f"{type(other).__name__}), but expected one of:\n * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n")
    xp, xa, ya = _float_operands("copysign", input, other)
    t = _wrap(_res(xp.copysign(xa, ya)))
    if _isinst(other, Tensor):
        _record(t, CopysignBackward0, (input, other), (input, other), result=True)
    else:
        _record(t, CopysignBackward1, (input,), (input,), result=True)
    return t


class RemainderBackward0(Node):
    __slots__ = ()
    formula = "RemainderBackward0: self: grad  (other a number)"

    def backward(self, g):
        return g


class RemainderBackward1(Node):
    __slots__ = ()
    formula = "RemainderBackward1: self: grad, other: -grad * self.div(other, rounding_mode='floor')"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (g if n[0][0] is not None else None,
                -g * ops.div(x, y, rounding_mode="floor") if n[1][0] is not None else None)


class FmodBackward0(Node):
    __slots__ = ()
    formula = "FmodBackward0: self: grad  (other a number)"

    def backward(self, g):
        return g


class FmodBackward1(Node):
    __slots__ = ()
    formula = "FmodBackward1: self: grad, other: -grad * self.div(other, rounding_mode='trunc')"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (g if n[0][0] is not None else None,
                -g * ops.div(x, y, rounding_mode="trunc") if n[1][0] is not None else None)


def _modulo(input, other, ufunc, by_number, by_tensor):
    xa, ya = _pair(input, other)
    t = _wrap(_res(getattr(_ns(xa), ufunc)(xa, ya)))
    if _isinst(other, Tensor):
        _record(t, by_tensor, (input, other), (input, other))
    elif _isinst(input, Tensor):
        _record(t, by_number, (input,))
    return t


@op
def remainder(input, other):
    """Python's modulus: input - floor(input / other) * other (the sign of other)."""
    return _modulo(input, other, "remainder", RemainderBackward0, RemainderBackward1)


@op
def fmod(input, other):
    """C's fmod: input - trunc(input / other) * other (the sign of input)."""
    return _modulo(input, other, "fmod", FmodBackward0, FmodBackward1)


class _HeavisideNotImplemented(Node):
    """PyTorch's `torch::autograd::NotImplemented` node: heaviside has no derivative."""
    __slots__ = ()
    _name = "NotImplemented"
    formula = "NotImplemented: derivative for aten::heaviside is not implemented"

    def name(self):
        return "torch::autograd::NotImplemented"

    def backward(self, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


@op
def heaviside(input, values):
    """0 where input < 0, values where input == 0, 1 where input > 0 (input and values of one dtype)."""
    _need_tensor("heaviside", input, "input", 1)
    _need_tensor("heaviside", values, "values", 2)
    if input._a.dtype != values._a.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    a, v = _pair(input, values)
    xp = _ns(a if hasattr(a, "dtype") else v)
    t = _wrap(_res(xp.where(a == 0, v, (a > 0).astype(input._a.dtype))))
    _record(t, _HeavisideNotImplemented, tuple(x for x in (input, values) if _e(x)[0] is not None))
    return t


def _float_only(name, input):
    a = input._a
    if not is_floating(a.dtype):
        raise NotImplementedError(f"\"{name}_{input.device.type}\" not implemented for '{_type_word(a.dtype)}'")


FracBackward0, _frac = _unary_op("FracBackward0", lambda a: a - _ns(a).trunc(a), "self: grad",
                                 lambda g: g, 0, "input - trunc(input).")


@op
def frac(input):
    """The fractional part: input - trunc(input), sign kept."""
    _float_only("frac", input)
    return _frac(input)


Exp2Backward0, exp2 = _unary_op("Exp2Backward0", np.exp2, "self: grad * result * log(2)",
                                lambda g, r: g * (r * math.log(2.0)), 2, "2 ** input, elementwise.")
exp2 = op(exp2, "exp2")


AsinhBackward0, asinh = _unary_op("AsinhBackward0", np.arcsinh, "self: grad * (self ** 2 + 1).rsqrt()",
                                  lambda g, x: g * ops.rsqrt(x * x + 1), 1, "Inverse hyperbolic sine.")
asinh = op(asinh, "asinh")


AcoshBackward0, acosh = _unary_op("AcoshBackward0", np.arccosh, "self: grad * (self ** 2 - 1).rsqrt()",
                                  lambda g, x: g * ops.rsqrt(x * x - 1), 1, "Inverse hyperbolic cosine.")
acosh = op(acosh, "acosh")


AtanhBackward0, atanh = _unary_op("AtanhBackward0", np.arctanh, "self: grad / (1 - self ** 2)",
                                  lambda g, x: g / (1 - x * x), 1, "Inverse hyperbolic tangent.")
atanh = op(atanh, "atanh")


Deg2RadBackward0, deg2rad = _unary_op("Deg2RadBackward0", lambda a: a * (math.pi / 180), "self: grad * pi / 180",
                                      lambda g: g * (math.pi / 180), 0, "Degrees to radians.")
deg2rad = op(deg2rad, "deg2rad")


Rad2DegBackward0, rad2deg = _unary_op("Rad2DegBackward0", lambda a: a * (180 / math.pi), "self: grad * 180 / pi",
                                      lambda g: g * (180 / math.pi), 0, "Radians to degrees.")
rad2deg = op(rad2deg, "rad2deg")


arcsinh, arccosh, arctanh = asinh, acosh, atanh
alias(arcsinh, "arcsinh")
alias(arccosh, "arccosh")
alias(arctanh, "arctanh")


def _sinc_np(a):
    h = a.astype(np.float32) if a.dtype == np.float16 else a    # half computes in float, as in PyTorch
    y = h * math.pi
    xp = _ns(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(h == 0, h.dtype.type(1), xp.sin(y) / y).astype(a.dtype, copy=False)


def _sinc_grad(g, x):
    # (pi x cos(pi x) - sin(pi x)) / (pi x^2), and 0 at x == 0 (there the numerator is 0 too,
    # so dividing by 1 instead of 0 gives it without a 0/0)
    px = x * math.pi
    safe = ops.where(ops.eq(x, 0), 1.0, x)
    return g * ((px * ops.cos(px) - ops.sin(px)) / (safe * safe * math.pi))


SincBackward0, sinc = _unary_op("SincBackward0", _sinc_np,
                                "self: grad * (pi self cos(pi self) - sin(pi self)) / (pi self ** 2), 0 at self == 0",
                                _sinc_grad, 1, "sin(pi input) / (pi input), and 1 at 0.")
sinc = op(sinc, "sinc")


class LogitBackward0(Node):
    __slots__ = ("eps",)
    formula = ("LogitBackward0: self: grad / (self * (1 - self)) where eps <= self <= 1 - eps, else 0 "
               "(without eps: NaN outside [0, 1])")
    saved_names = ("self",)
    saved_attrs = ("eps",)

    def backward(self, g):
        x, = self.saved
        eps = self.eps
        d = g / (x * (1 - x) + 0.0)       # + 0.0: x = -0.0 gives +inf, as PyTorch's grad * inf at 0
        if eps is None or eps < 0:
            return ops.where(ops.logical_or(ops.lt(x, 0.0), ops.gt(x, 1.0)), math.nan, d)
        return ops.where(ops.logical_or(ops.lt(x, eps), ops.gt(x, 1.0 - eps)), 0.0, d)    # NaN stays NaN


def _logit_np(a, eps):
    xp = _ns(a)
    if eps is not None and eps >= 0:
        a = xp.clip(a, eps, 1.0 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.log(a / (1 - a))


@op
def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    t = ops.unary._unary(input, lambda a: _logit_np(a, eps), LogitBackward0, 1)
    if t._node is not None:
        t._node.eps = eps
    return t


class SgnBackward0(Node):
    __slots__ = ()
    formula = "SgnBackward0: self: zeros_like(grad)  (real input)"

    def backward(self, g):
        return ops.zeros_like(g)


@op
def sgn(input):
    """sign(input) for real tensors (bool stays bool)."""
    a = input._a
    t = _wrap(_res(a.copy() if a.dtype.kind == "b" else _ns(a).sign(a)))
    if is_floating(a.dtype):
        _record(t, SgnBackward0, (input,))
    return t


class NanToNumBackward0(Node):
    __slots__ = ()
    formula = "NanToNumBackward0: self: grad * isfinite(self)"
    saved_names = ("self",)

    def backward(self, g):
        x, = self.saved
        return g * ops.isfinite(x)


@op
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf, -inf -> neginf (the dtype's largest/lowest when None)."""
    a = input._a
    if not is_floating(a.dtype):
        return _wrap(a.copy())
    return ops.unary._unary(input, lambda a: _ns(a).nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf),
                  NanToNumBackward0, 1)


fix = trunc
alias(fix, "fix")


def _no_derivative_node(name, what):
    """A node PyTorch records without a formula (asinh_ ...): its backward raises."""
    def backward(self, g):
        raise NotImplementedError(f"the derivative for '{what}' is not implemented.")
    return type(name, (Node,), {"__slots__": (), "formula": f"{name}: not implemented ({what})",
                                "backward": backward})


AsinhBackward1 = _no_derivative_node("AsinhBackward1", "inplace version of asinh")


AcoshBackward1 = _no_derivative_node("AcoshBackward1", "inplace version of acosh")


AtanhBackward1 = _no_derivative_node("AtanhBackward1", "inplace version of atanh")


@op(function=False)
def float_power_(self, exponent):
    if self._a.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_type_word(self._a.dtype)} but the "
                           "operation's result requires dtype Double")
    return _inplace(self, ops.float_power, (exponent,), saves_self=True)


@op(function=False)
def true_divide_(self, other):
    return ops.div_(self, other)


addcmul_ = make_inplace(addcmul)
addcmul_ = op(addcmul_, "addcmul_", function=False)


addcdiv_ = make_inplace(addcdiv)
addcdiv_ = op(addcdiv_, "addcdiv_", function=False)


atan2_ = arctan2_ = make_inplace(atan2, "self")
atan2_ = op(atan2_, "atan2_", function=False)
arctan2_ = op(arctan2_, "arctan2_", function=False)


hypot_ = make_inplace(hypot, "self and result")
hypot_ = op(hypot_, "hypot_", function=False)


copysign_ = make_inplace(copysign, "self and result")
copysign_ = op(copysign_, "copysign_", function=False)


heaviside_ = make_inplace(heaviside)
heaviside_ = op(heaviside_, "heaviside_", function=False)


xlogy_ = make_inplace(xlogy, "self")
xlogy_ = op(xlogy_, "xlogy_")


logit_ = make_inplace(logit, "self")
logit_ = op(logit_, "logit_")


frac_ = make_inplace(frac)
frac_ = op(frac_, "frac_")


sgn_ = make_inplace(sgn)
sgn_ = op(sgn_, "sgn_", function=False)


sign_ = make_inplace(sign)
sign_ = op(sign_, "sign_", function=False)


trunc_ = fix_ = make_inplace(trunc)
trunc_ = op(trunc_, "trunc_")
fix_ = op(fix_, "fix_")


exp2_ = make_inplace(exp2, "result")
exp2_ = op(exp2_, "exp2_")


asinh_ = arcsinh_ = make_inplace(asinh, node=AsinhBackward1)
asinh_ = op(asinh_, "asinh_")
arcsinh_ = op(arcsinh_, "arcsinh_")


acosh_ = arccosh_ = make_inplace(acosh, node=AcoshBackward1)
acosh_ = op(acosh_, "acosh_")
arccosh_ = op(arccosh_, "arccosh_")


atanh_ = arctanh_ = make_inplace(atanh, node=AtanhBackward1)
atanh_ = op(atanh_, "atanh_")
arctanh_ = op(arctanh_, "arctanh_")


sinc_ = make_inplace(sinc, "self")
sinc_ = op(sinc_, "sinc_")


nan_to_num_ = make_inplace(nan_to_num, "self")
nan_to_num_ = op(nan_to_num_, "nan_to_num_")


log1p_ = make_inplace(log1p, "self")
log1p_ = op(log1p_, "log1p_")


expm1_ = make_inplace(expm1, "result")
expm1_ = op(expm1_, "expm1_")


rsqrt_ = make_inplace(rsqrt, "result")
rsqrt_ = op(rsqrt_, "rsqrt_")


deg2rad_ = make_inplace(deg2rad)
deg2rad_ = op(deg2rad_, "deg2rad_")


rad2deg_ = make_inplace(rad2deg)
rad2deg_ = op(rad2deg_, "rad2deg_")


fmod_ = op(make_inplace(fmod, "self"), "fmod_", function=False)
remainder_ = op(make_inplace(remainder, "self"), "remainder_", function=False)
