"""Elementwise math ops beyond engine._ops: addcmul/addcdiv, atan2, hypot, logaddexp, xlogy,
logit, frac, sgn, exp2, inverse hyperbolics, sinc, copysign, heaviside, nan_to_num, deg2rad.

As in engine._ops, each op's forward (on raw arrays, through the array's own namespace so
CuPy serves cuda tensors) stands beside its node, named as PyTorch names it, whose backward
is written with engine ops (PyTorch's tools/autograd/derivatives.yaml formulas), so
create_graph=True gives higher derivatives. Functions are exported as engine.<name>; the
Tensor methods and in-place variants are attached at the bottom.
"""
import math

import numpy as np

from . import _dtype
from ._tensor import Tensor
from .autograd.recording import record_namespace
from ._ops import (_wrap, _res, _pair, _finish, _needs, _e, _ns, _isinst, _unary, _unary_op, _inplace, _mk_inplace,
                   _mk_inplace_saving_result, _type_word, new_node, Node, _SavedOutput, zeros_like, where, eq, lt,
                   gt, le, logical_and, logical_or, isfinite, sign, trunc, log1p, expm1, rsqrt, div_, float_power,
                   pow, exp, sin, cos)

__all__ = ["addcmul", "addcdiv", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "xlogy_",
           "logit", "logit_", "frac", "frac_", "sgn", "trunc_", "fix", "fix_", "exp2", "exp2_", "asinh", "asinh_",
           "arcsinh", "arcsinh_", "acosh", "acosh_", "arccosh", "arccosh_", "atanh", "atanh_", "arctanh",
           "arctanh_", "sinc", "sinc_", "copysign", "heaviside", "nan_to_num", "nan_to_num_", "log1p_", "expm1_",
           "rsqrt_", "deg2rad", "deg2rad_", "rad2deg", "rad2deg_"]


# ============================================================================ helpers
def _need_tensor(fn, x, arg, pos):
    if not _isinst(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")


def _float_operands(name, input, other, ints=True):
    """Raw operands of a floating binary op, promoted as PyTorch promotes; integer and bool
    results go to the default float (ints=True) or are refused as PyTorch's kernel does.
    A Python number becomes a 0-dim array of the other's dtype. Returns (xp, xa, ya)."""
    xa, ya = _pair(input, other)
    arr = xa if hasattr(xa, "dtype") else ya
    if arr.dtype.kind != "f":
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


def _mk_inplace_saving_self_and_result(fn):
    """In-place fn whose formula needs both self before the op and the result (hypot_,
    copysign_): self's old value is kept in a copy, and the saved result is self itself."""
    def op(self, *args, **kwargs):
        def run(x, *a, **k):
            if x is not self:           # the pre-op alias of self that _inplace made: give it a copy
                x._a = x._a.copy()
            return fn(x, *a, **k)
        return _mk_inplace_saving_result(run)(self, *args, **kwargs)
    op.__name__ = fn.__name__ + "_"
    return op


# ============================================================================ addcmul, addcdiv
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


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, elementwise with broadcasting."""
    (a, b, c), v = _addc("addcmul", input, tensor1, tensor2, value)
    t = _wrap(_res(a + (b * v) * c))
    n = _record(t, AddcmulBackward0, (input, tensor1, tensor2), (tensor1, tensor2))
    if n is not None:
        n.value = value
    return t


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


# ============================================================================ binary float ops
class Atan2Backward0(Node):
    __slots__ = ()
    formula = ("Atan2Backward0: self: grad * other / (self ** 2 + other ** 2), "
               "other: grad * -self / (self ** 2 + other ** 2)")
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        d = x * x + y * y
        r = 1 / where(eq(d, 0), 1.0, d)          # both inputs 0: gradient 0, as PyTorch gives
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
        return g / (exp(y - x) + 1), g / (exp(x - y) + 1)


class Logaddexp2Backward0(Node):
    __slots__ = ()
    formula = "Logaddexp2Backward0: self: grad / (1 + 2 ** (other - self)), other: grad / (1 + 2 ** (self - other))"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        return g / (pow(2.0, y - x) + 1), g / (pow(2.0, x - y) + 1)


def _binary(name, cls, input, other, fn, ints=True, result=False):
    _need_tensor(name, input, "input", 1)
    _need_tensor(name, other, "other", 2)
    xp, xa, ya = _float_operands(name, input, other, ints)
    t = _wrap(_res(fn(xp, xa, ya)))
    _record(t, cls, (input, other), (input, other), result)
    return t


def atan2(input, other):
    """The angle of the point (other, input), in (-pi, pi]."""
    return _binary("atan2", Atan2Backward0, input, other, lambda xp, a, b: xp.arctan2(a, b))


def hypot(input, other):
    """sqrt(input ** 2 + other ** 2) without overflow."""
    return _binary("hypot", HypotBackward0, input, other, lambda xp, a, b: xp.hypot(a, b), ints=False, result=True)


def logaddexp(input, other):
    """log(exp(input) + exp(other)) without overflow."""
    return _binary("logaddexp", LogaddexpBackward0, input, other, lambda xp, a, b: xp.logaddexp(a, b), ints=False)


def logaddexp2(input, other):
    """log2(2 ** input + 2 ** other) without overflow."""
    return _binary("logaddexp2", Logaddexp2Backward0, input, other, lambda xp, a, b: xp.logaddexp2(a, b),
                   ints=False)


arctan2 = atan2


# ============================================================================ xlogy
class XlogyBackward0(Node):
    __slots__ = ()
    formula = ("XlogyBackward0: self: xlogy(grad, other), 0 where self == 0 and other <= 0, "
               "other: grad * self / other")
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (where(logical_and(eq(x, 0), le(y, 0)), 0.0, xlogy(g, y)) if n[0][0] is not None else None,
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
        return r if y > 0 else where(eq(x, 0), 0.0, r)


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


# ============================================================================ copysign, heaviside
def _copysign_ratio(x, r):
    """result / self, and 0 where self == 0 (there result is +-0, so dividing it by 1 gives that)."""
    return r / where(eq(x, 0), 1.0, x)


class CopysignBackward0(Node):
    __slots__ = ()
    formula = "CopysignBackward0: self: grad * result / self (0 where self == 0), other: zeros_like(other)"
    saved_names = ("self", "other", "result")

    def backward(self, g):
        x, y, r = self.saved
        n = self._next
        return (g * _copysign_ratio(x, r) if n[0][0] is not None else None,
                zeros_like(y) if n[1][0] is not None else None)


class CopysignBackward1(Node):
    __slots__ = ()
    formula = "CopysignBackward1: self: grad * result / self (0 where self == 0)  (other a number)"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        return g * _copysign_ratio(x, r)


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


class _HeavisideNotImplemented(Node):
    """PyTorch's `torch::autograd::NotImplemented` node: heaviside has no derivative."""
    __slots__ = ()
    _name = "NotImplemented"
    formula = "NotImplemented: derivative for aten::heaviside is not implemented"

    def name(self):
        return "torch::autograd::NotImplemented"

    def backward(self, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


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


# ============================================================================ unary ops
def _float_only(name, input):
    a = input._a
    if a.dtype.kind != "f":
        raise NotImplementedError(f"\"{name}_{input.device.type}\" not implemented for '{_type_word(a.dtype)}'")


FracBackward0, _frac = _unary_op("FracBackward0", lambda a: a - _ns(a).trunc(a), "self: grad",
                                 lambda g: g, 0, "input - trunc(input).")


def frac(input):
    """The fractional part: input - trunc(input), sign kept."""
    _float_only("frac", input)
    return _frac(input)


Exp2Backward0, exp2 = _unary_op("Exp2Backward0", np.exp2, "self: grad * result * log(2)",
                                lambda g, r: g * (r * math.log(2.0)), 2, "2 ** input, elementwise.")
AsinhBackward0, asinh = _unary_op("AsinhBackward0", np.arcsinh, "self: grad * (self ** 2 + 1).rsqrt()",
                                  lambda g, x: g * rsqrt(x * x + 1), 1, "Inverse hyperbolic sine.")
AcoshBackward0, acosh = _unary_op("AcoshBackward0", np.arccosh, "self: grad * (self ** 2 - 1).rsqrt()",
                                  lambda g, x: g * rsqrt(x * x - 1), 1, "Inverse hyperbolic cosine.")
AtanhBackward0, atanh = _unary_op("AtanhBackward0", np.arctanh, "self: grad / (1 - self ** 2)",
                                  lambda g, x: g / (1 - x * x), 1, "Inverse hyperbolic tangent.")
Deg2RadBackward0, deg2rad = _unary_op("Deg2RadBackward0", lambda a: a * (math.pi / 180), "self: grad * pi / 180",
                                      lambda g: g * (math.pi / 180), 0, "Degrees to radians.")
Rad2DegBackward0, rad2deg = _unary_op("Rad2DegBackward0", lambda a: a * (180 / math.pi), "self: grad * 180 / pi",
                                      lambda g: g * (180 / math.pi), 0, "Radians to degrees.")
arcsinh, arccosh, arctanh = asinh, acosh, atanh


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
    safe = where(eq(x, 0), 1.0, x)
    return g * ((px * cos(px) - sin(px)) / (safe * safe * math.pi))


SincBackward0, sinc = _unary_op("SincBackward0", _sinc_np,
                                "self: grad * (pi self cos(pi self) - sin(pi self)) / (pi self ** 2), 0 at self == 0",
                                _sinc_grad, 1, "sin(pi input) / (pi input), and 1 at 0.")


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
            return where(logical_or(lt(x, 0.0), gt(x, 1.0)), math.nan, d)
        return where(logical_or(lt(x, eps), gt(x, 1.0 - eps)), 0.0, d)    # NaN stays NaN


def _logit_np(a, eps):
    xp = _ns(a)
    if eps is not None and eps >= 0:
        a = xp.clip(a, eps, 1.0 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.log(a / (1 - a))


def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    t = _unary(input, lambda a: _logit_np(a, eps), LogitBackward0, 1)
    if t._node is not None:
        t._node.eps = eps
    return t


class SgnBackward0(Node):
    __slots__ = ()
    formula = "SgnBackward0: self: zeros_like(grad)  (real input)"

    def backward(self, g):
        return zeros_like(g)


def sgn(input):
    """sign(input) for real tensors (bool stays bool)."""
    a = input._a
    t = _wrap(_res(a.copy() if a.dtype.kind == "b" else _ns(a).sign(a)))
    if a.dtype.kind == "f":
        _record(t, SgnBackward0, (input,))
    return t


class NanToNumBackward0(Node):
    __slots__ = ()
    formula = "NanToNumBackward0: self: grad * isfinite(self)"
    saved_names = ("self",)

    def backward(self, g):
        x, = self.saved
        return g * isfinite(x)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN -> nan, +inf -> posinf, -inf -> neginf (the dtype's largest/lowest when None)."""
    a = input._a
    if a.dtype.kind != "f":
        return _wrap(a.copy())
    return _unary(input, lambda a: _ns(a).nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf),
                  NanToNumBackward0, 1)


fix = trunc


# ============================================================================ in-place variants
def _no_derivative_node(name, what):
    """A node PyTorch records without a formula (asinh_ ...): its backward raises."""
    def backward(self, g):
        raise NotImplementedError(f"the derivative for '{what}' is not implemented.")
    return type(name, (Node,), {"__slots__": (), "formula": f"{name}: not implemented ({what})",
                                "backward": backward})


AsinhBackward1 = _no_derivative_node("AsinhBackward1", "inplace version of asinh")
AcoshBackward1 = _no_derivative_node("AcoshBackward1", "inplace version of acosh")
AtanhBackward1 = _no_derivative_node("AtanhBackward1", "inplace version of atanh")


def _mk_inplace_without_derivative(fn, cls):
    def out_of_place(x):
        t = fn(x)
        if t._node is not None:
            t._node.__class__ = cls
            t._node._saved, t._node._sver = (), ()
        return t
    op = _mk_inplace(out_of_place, False)
    op.__name__ = fn.__name__ + "_"
    return op


def float_power_(self, exponent):
    if self._a.dtype != np.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_type_word(self._a.dtype)} but the "
                           "operation's result requires dtype Double")
    return _inplace(self, float_power, (exponent,), saves_self=True)


def true_divide_(self, other):
    return div_(self, other)


addcmul_ = _mk_inplace(addcmul, False)
addcdiv_ = _mk_inplace(addcdiv, False)
atan2_ = arctan2_ = _mk_inplace(atan2)
hypot_ = _mk_inplace_saving_self_and_result(hypot)
copysign_ = _mk_inplace_saving_self_and_result(copysign)
heaviside_ = _mk_inplace(heaviside, False)
xlogy_ = _mk_inplace(xlogy)
logit_ = _mk_inplace(logit)
frac_ = _mk_inplace(frac, False)
sgn_ = _mk_inplace(sgn, False)
sign_ = _mk_inplace(sign, False)
trunc_ = fix_ = _mk_inplace(trunc, False)
exp2_ = _mk_inplace_saving_result(exp2)
asinh_ = arcsinh_ = _mk_inplace_without_derivative(asinh, AsinhBackward1)
acosh_ = arccosh_ = _mk_inplace_without_derivative(acosh, AcoshBackward1)
atanh_ = arctanh_ = _mk_inplace_without_derivative(atanh, AtanhBackward1)
sinc_ = _mk_inplace(sinc)
nan_to_num_ = _mk_inplace(nan_to_num)
log1p_ = _mk_inplace(log1p)
expm1_ = _mk_inplace_saving_result(expm1)
rsqrt_ = _mk_inplace_saving_result(rsqrt)
deg2rad_ = _mk_inplace(deg2rad, False)
rad2deg_ = _mk_inplace(rad2deg, False)


# ============================================================================ Tensor methods
def _attach():
    g = globals()
    record_namespace(globals())
    for name in ("addcmul", "addcdiv", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "logit",
                 "frac", "sgn", "fix", "exp2", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "sinc",
                 "copysign", "heaviside", "nan_to_num", "deg2rad", "rad2deg",
                 "addcmul_", "addcdiv_", "atan2_", "arctan2_", "hypot_", "copysign_", "heaviside_", "xlogy_",
                 "logit_", "frac_", "sgn_", "sign_", "trunc_", "fix_", "exp2_", "asinh_", "arcsinh_", "acosh_",
                 "arccosh_", "atanh_", "arctanh_", "sinc_", "nan_to_num_", "log1p_", "expm1_", "rsqrt_",
                 "deg2rad_", "rad2deg_", "true_divide_", "float_power_"):
        setattr(Tensor, name, g[name])


_attach()
