"""Arithmetic: add, sub, mul, div, neg, pow, lerp and their in-place variants; each op's forward
beside its backward node.
"""
import math
import operator

import numpy as np

from ..autograd.graph import Node, _SavedOutput, new_node
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad, state as _gs
from .._dtype import get_default_dtype, result_type
from ._core import make_inplace, _save, _arith, _number, _finish, _float_array, _isinst, _ndarray, _needs, _ns, _pair, _res, _save_result, _scalar, _wrap
from ._registry import op, alias
from .. import ops
from .._kernels import MIN_SIZE as _MIN_KERNEL     # below it _arith is the plain operator
from .._dtype import is_floating


class AddBackward0(Node):
    __slots__ = ("alpha",)
    formula = "AddBackward0: self: grad, other: grad * alpha"
    saved_attrs = ("alpha",)

    def backward(self, g):
        a = self.alpha
        return g, (g if a == 1 else g * a)


def _fast_operands(input, other):
    """Raw operands when no promotion or device check is needed (exact Tensor with a same-dtype
    Tensor, or a floating Tensor with a Python number); None otherwise."""
    if type(input) is Tensor:
        xa = input._a
        to = type(other)
        if to is Tensor:
            ya = other._a
            if ya.dtype is xa.dtype and type(ya) is type(xa):
                return xa, ya
        elif (to is float or to is int) and is_floating(xa.dtype):
            return xa, (_number(other, xa) if type(xa) is _ndarray and xa.size < _MIN_KERNEL else other)
    return None


@op
def add(input, other, *, alpha=1, out=None):
    if alpha == 1 and type(input) is Tensor and type(other) is Tensor and input._a.dtype is other._a.dtype and (
            type(input._a) is type(other._a)):      # benchmark case `tiny`: same-dtype tensors, no promotion
        fast = input._a, other._a
    else:
        fast = _fast_operands(input, other) if alpha == 1 else None
    if fast is None:
        xa, ya = _pair(input, other)
        if alpha != 1:
            ya = ya * alpha
    else:
        xa, ya = fast
    t = _wrap(xa + ya if type(xa) is _ndarray and xa.size < _MIN_KERNEL else _arith(operator.add, xa, ya))
    if _gs.enabled and ((_isinst(input, Tensor) and input._rg) or (_isinst(other, Tensor) and other._rg)):
        n = new_node(AddBackward0)
        n.alpha = alpha
        if not _isinst(input, Tensor):  # scalar + tensor: PyTorch keeps the tensor first
            input, other = other, input
        _finish(t, n, (input, other))
    return t


class SubBackward0(Node):
    __slots__ = ("alpha",)
    formula = "SubBackward0: self: grad, other: -grad * alpha"
    saved_attrs = ("alpha",)

    def backward(self, g):
        return g, (-g if self.alpha == 1 else g * -self.alpha)


class RsubBackward1(Node):
    __slots__ = ("alpha",)
    formula = "RsubBackward1: self: -grad * alpha"

    def backward(self, g):
        return -g if self.alpha == 1 else g * -self.alpha


@op
def sub(input, other, *, alpha=1, out=None):
    if _isinst(input, Tensor) and input._a.dtype.kind == "b" and _isinst(other, Tensor) and other._a.dtype.kind == "b":
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if not _isinst(input, Tensor):
        return rsub(other, input, alpha=alpha)
    xa, ya = _fast_operands(input, other) or _pair(input, other)
    r = _arith(operator.sub, xa, ya if alpha == 1 else ya * alpha)
    t = _wrap(r if type(r) is _ndarray else _res(r))
    if _gs.enabled and (input._rg or (_isinst(other, Tensor) and other._rg)):
        n = new_node(SubBackward0)
        n.alpha = alpha
        _finish(t, n, (input, other))
    return t


subtract = sub
alias(subtract, "subtract")


@op(method=False)
def rsub(input, other, *, alpha=1):
    """other - alpha * input (the reflected `scalar - tensor`)."""
    if _isinst(other, Tensor):
        return sub(other, input, alpha=alpha)
    xa, s = _pair(input, other)
    t = _wrap(_res(s - (xa if alpha == 1 else xa * alpha)))
    if _gs.enabled and input._rg:
        n = new_node(RsubBackward1)
        n.alpha = alpha
        _finish(t, n, (input,))
    return t


class MulBackward0(Node):
    __slots__ = ()
    formula = "MulBackward0: self: grad * other, other: grad * self"
    saved_names = ("other", "self")     # PyTorch's order: saved tensors hooks see other first

    def backward(self, g):
        s, v = self._saved, self._sver
        # benchmark case `tiny`: saved tensors still at their saved version are used as they are;
        # otherwise `saved` raises the version error (or the freed-graph error)
        if s is None or (v[0] is not None and s[0]._ver[0] != v[0]) or (v[1] is not None and s[1]._ver[0] != v[1]):
            s = self.saved
        b, a = s
        n = self._next
        return (_grad_times(g, b) if n[0][0] is not None else None,
                _grad_times(g, a) if n[1][0] is not None else None)


def _grad_times(g, y):
    """g * y in a backward formula. Benchmark cases `tiny` and `chain`: with create_graph off,
    a same-dtype Tensor or a Python number multiplies the arrays directly (what mul would
    do, minus its dispatch); anything else, or create_graph=True, runs the op."""
    if not _gs.enabled and type(g) is Tensor:
        ga = g._a
        ty = type(y)
        if ty is Tensor:
            ya = y._a
            if ya.dtype is ga.dtype and type(ya) is type(ga):
                return _wrap(ga * ya if ga.size < _MIN_KERNEL else _arith(operator.mul, ga, ya))
        elif ty is float or ty is int:
            if type(ga) is _ndarray and ga.size < _MIN_KERNEL:
                return _wrap(ga * _number(y, ga))
            return _wrap(_arith(operator.mul, ga, y))
    return g * y


@op
def mul(input, other, *, out=None):
    # benchmark case `chain` (y * 1.0001): a floating Tensor times a Python number needs no promotion
    if type(input) is Tensor and (type(other) is float or type(other) is int) and is_floating(input._a.dtype):
        xa = input._a
        t = _wrap(xa * _number(other, xa) if type(xa) is _ndarray and xa.size < _MIN_KERNEL
                  else _arith(operator.mul, xa, other))
        if input._rg and _gs.enabled:
            _finish(t, new_node(MulBackward0), (input, other), (other, None))
        return t
    if type(input) is Tensor and type(other) is Tensor and input._a.dtype is other._a.dtype and (
            type(input._a) is type(other._a)):      # benchmark case `tiny`: same-dtype tensors, no promotion
        xa, ya = input._a, other._a
    else:
        xa, ya = _fast_operands(input, other) or _pair(input, other)
    # (small CPU arrays skip _arith's call: it would run the plain operator; bench case `tiny`)
    t = _wrap(xa * ya if type(xa) is _ndarray and xa.size < _MIN_KERNEL else _arith(operator.mul, xa, ya))
    if _gs.enabled and ((_isinst(input, Tensor) and input._rg) or (_isinst(other, Tensor) and other._rg)):
        if not _isinst(input, Tensor):
            input, other = other, input
        n = _finish(t, new_node(MulBackward0), (input, other))._node
        # save only what the formula needs: other for self's grad, self for other's grad
        e = n._next
        _save(n, (other if e[0][0] is not None else None, input if e[1][0] is not None else None))
    return t


multiply = mul
alias(multiply, "multiply")


class DivBackward0(Node):
    __slots__ = ()
    formula = "DivBackward0: self: grad / other, other: -grad * self / (other * other)"
    saved_names = ("self", "other")

    def backward(self, g):
        a, b = self.saved
        n = self._next
        return (g / b if n[0][0] is not None else None,
                -g * ((a / b) / b) if n[1][0] is not None else None)


@op
def div(input, other, *, rounding_mode=None, out=None):
    if not _isinst(input, Tensor):
        return mul(ops.reciprocal(other), input)
    xa, ya = _pair(input, other)
    if rounding_mode is not None:
        if rounding_mode == "floor":
            r = _ns(xa).floor_divide(xa, ya) if not is_floating(xa.dtype) else _ns(xa).floor(xa / ya)
        elif rounding_mode == "trunc":
            r = _ns(xa).trunc(xa / ya)
            if xa.dtype.kind in "iu":
                r = r.astype(xa.dtype)
        else:
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
        return _wrap(_res(r))
    if xa.dtype.kind in "iub":          # true division of integers gives the default float
        fdt = get_default_dtype().np
        ydt = getattr(ya, "dtype", None)
        if ydt is None:
            if not _isinst(ya, float):
                xa = xa.astype(fdt)
        elif ydt.kind in "iub":
            xa, ya = xa.astype(fdt), ya.astype(fdt)
    r = _arith(operator.truediv, xa, ya)
    t = _wrap(r if type(r) is _ndarray else _res(r))
    if _gs.enabled and (input._rg or (_isinst(other, Tensor) and other._rg)):
        n = new_node(DivBackward0)
        _finish(t, n, (input, other), (input if _isinst(other, Tensor) and other._rg else None, other))
    return t


divide = true_divide = div
alias(divide, "divide")
alias(true_divide, "true_divide")


@op
def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


class NegBackward0(Node):
    __slots__ = ()
    formula = "NegBackward0: self: -grad"

    def backward(self, g):
        return -g


@op
def neg(input):
    if input._a.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    t = _wrap(_res(-input._a))
    if _gs.enabled and input._rg:
        _finish(t, new_node(NegBackward0), (input,))
    return t


negative = neg
alias(negative, "negative")


class PowBackward0(Node):
    __slots__ = ("exponent",)
    formula = "PowBackward0: self: grad * exponent * self ** (exponent - 1)"
    saved_names = ("self",)
    saved_attrs = ("exponent",)

    def backward(self, g):
        x, = self.saved
        p = self.exponent
        if p == 0:
            return ops.zeros_like(x)
        if p == 2:
            return g * (x * 2.0)
        return g * (pow(x, p - 1) * p)


class PowBackward1(Node):
    __slots__ = ()
    formula = "PowBackward1: self: grad * exponent * self ** (exponent - 1), exponent: grad * result * log(self)"
    saved_names = ("self", "exponent", "result")

    def backward(self, g):
        x, p, r = self.saved
        n = self._next
        gx = g * (p * pow(x, p - 1)) if n[0][0] is not None else None
        gp = None
        if n[1][0] is not None:
            mask = ops.logical_and(ops.eq(x, 0), ops.ge(p, 0))
            gp = g * ops.where(mask, ops.zeros_like(r), r * ops.log(x))
        return gx, gp


class PowBackward2(Node):
    __slots__ = ("base",)
    formula = "PowBackward2: exponent: grad * result * log(self)"
    saved_names = ("result",)
    saved_attrs = ("base",)

    def backward(self, g):
        r, = self.saved
        b = self.base
        if b == 0:
            return g * ops.where(ops.ge(r * 0 + 0, 0), ops.zeros_like(r), r)  # d/dp 0**p = 0 for p >= 0
        return g * (r * math.log(b))


def _power(xp, a, b):
    """a ** b for a tensor exponent b; integers to negative integer powers follow PyTorch's rule
    (NumPy refuses them, and CuPy's answer is not specified): 1 ** b = 1, (-1) ** b = +-1 by
    b's parity, any other base gives 0."""
    if xp is np:
        try:
            return np.power(a, b)
        except ValueError:          # "Integers to negative integer powers are not allowed."
            return _int_power(np, a, b)
    if b.dtype.kind in "iu" and (_isinst(a, int) or a.dtype.kind in "iub"):
        return _int_power(xp, a, b)
    return xp.power(a, b)


def _int_power(xp, a, b):
    if not hasattr(a, "dtype"):         # a Python number: made on b's device, in b's dtype (no host copy)
        a = xp.full((), a, dtype=b.dtype)
    neg = b < 0
    r = xp.power(a, xp.where(neg, 0, b))
    at_neg = xp.where(a == 1, 1, xp.where(a == -1, 1 - 2 * (b % 2), 0))
    return xp.where(neg, at_neg, r).astype(r.dtype, copy=False)


@op
def pow(input, exponent, *, out=None):
    if not _isinst(input, Tensor):
        # scalar ** tensor
        base = _scalar(input)
        e = exponent
        ea = _float_array(e._a) if _isinst(base, float) or e._a.dtype.kind == "b" else e._a
        t = _wrap(_res(_power(_ns(ea), base, ea)))
        if _gs.enabled and e._rg:
            n = new_node(PowBackward2)
            n.base = base
            _finish(t, n, (e,))
            _save_result(n, t)
        return t
    if _isinst(exponent, Tensor):
        xa, ya = _pair(input, exponent)
        t = _wrap(_res(_power(_ns(xa), xa, ya)))
        if _gs.enabled and (input._rg or exponent._rg):
            n = new_node(PowBackward1)
            _finish(t, n, (input, exponent))
            n._saved = (input, exponent, _SavedOutput(t))
            n._sver = (input._ver[0], exponent._ver[0], t._ver[0])
        return t
    p = _scalar(exponent)
    xa = input._a
    if xa.dtype.kind in "iub":
        if _isinst(p, float):
            xa = xa.astype(get_default_dtype().np)
        elif p < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    if p == 2:
        r = xa * xa
    elif p == 1:
        r = xa.copy()
    elif p == 0.5:
        r = _ns(xa).sqrt(xa)
    else:
        r = _ns(xa).power(xa, p)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(PowBackward0)
        n.exponent = p
        _finish(t, n, (input,), (input,))
    return t


@op
def square(input):
    return pow(input, 2)


@op
def float_power(input, exponent):
    return pow(input.double() if _isinst(input, Tensor) else input,
               exponent.double() if _isinst(exponent, Tensor) else exponent)


class LerpBackward0(Node):
    __slots__ = ("weight",)
    formula = "LerpBackward0: self: grad * (1 - weight), end: grad * weight"

    def backward(self, g):
        w = self.weight
        return g * (1 - w), g * w


class LerpBackward1(Node):
    __slots__ = ()
    formula = "LerpBackward1: self: grad * (1 - weight), end: grad * weight, weight: grad * (end - self)"
    saved_names = ("self", "end", "weight")

    def backward(self, g):
        x, e, w = self.saved
        return g * (1 - w), g * w, g * (e - x)


@op
def lerp(input, end, weight):
    """input + weight * (end - input)."""
    if _isinst(weight, Tensor):
        xa, ea = _pair(input, end)
        t = _wrap(_res(xa + weight._a * (ea - xa)))
        if _needs(input, end, weight):
            _finish(t, new_node(LerpBackward1), (input, end, weight), (input, end, weight))
        return t
    xa, ea = _pair(input, end)
    t = _wrap(_res(xa + weight * (ea - xa)))
    if _needs(input, end):
        n = new_node(LerpBackward0)
        n.weight = weight
        _finish(t, n, (input, end))
    return t


add_ = make_inplace(add, ufunc=np.add)
add_ = op(add_, "add_", function=False)


sub_ = make_inplace(sub, ufunc=np.subtract)
sub_ = op(sub_, "sub_", function=False)


mul_ = make_inplace(mul, "self", ufunc=np.multiply)
mul_ = op(mul_, "mul_", function=False)


div_ = make_inplace(div, "self", ufunc=np.true_divide)
div_ = op(div_, "div_", function=False)


pow_ = make_inplace(pow, "self")
pow_ = op(pow_, "pow_", function=False)


neg_ = make_inplace(neg)
neg_ = op(neg_, "neg_")
negative_ = neg_
alias(negative_, "negative_")
multiply_, divide_, subtract_ = mul_, div_, sub_
alias(multiply_, "multiply_", function=False)
alias(divide_, "divide_", function=False)
alias(subtract_, "subtract_", function=False)
floor_divide_ = op(make_inplace(floor_divide), "floor_divide_", function=False)


square_ = make_inplace(square, "self")
square_ = op(square_, "square_")


lerp_ = make_inplace(lerp, "self")
lerp_ = op(lerp_, "lerp_", function=False)


class MulBackward1(Node):
    """tensor * number as PyTorch's C++ composites call it (mul.Scalar)."""
    __slots__ = ("other",)
    formula = "MulBackward1: self: grad * other"
    saved_attrs = ("other",)

    def backward(self, g):
        return g * self.other


class DivBackward1(Node):
    __slots__ = ("other",)
    formula = "DivBackward1: self: grad / other"
    saved_attrs = ("other",)

    def backward(self, g):
        return g / self.other


def _scalar_op(x, s, cls):
    a = x._a
    r = a * s if cls is MulBackward1 else a / s
    t = _wrap(_res(r.astype(result_type(x, s).np, copy=False)))
    if _gs.enabled and x._rg:
        n = new_node(cls)
        n.other = s
        _finish(t, n, (x,))
    return t
