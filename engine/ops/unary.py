"""Unary math and clamps: exp, log, trig, sigmoid, relu, abs, sign, rounding, clamp, maximum,
minimum, where; each op's forward beside its backward node.
"""
import math
import numpy as np

from .._dtype import bool_, get_default_dtype
from ..autograd.grad_mode import state as _gs
from ..autograd.graph import Node, new_node
from ..backend import xp_of
from .._tensor import Tensor
from ._core import make_inplace, _as_tensor, _finish, _isinst, _namespaced, _ndarray, _needs, _ns, _pair, _res, _save_result, _wrap
from ._registry import op, alias
from .. import ops
from .._dtype import is_floating


def _unary(x, fn, cls, save):
    a = x._a
    if not is_floating(a.dtype):
        a = a.astype(get_default_dtype().np)
    r = fn(a)
    t = _wrap(r if type(r) is _ndarray else _res(r))
    if _gs.enabled and x._rg:
        n = _finish(t, new_node(cls), (x,), (x,) if save == 1 else ())._node
        if save == 2:
            _save_result(n, t)
    return t


def _unary_op(name, fn, formula, grad, save, doc):
    """Define a one-input op: node class `name` with backward `grad(node, g, saved)` and its forward."""
    cls = type(name, (Node,), {"__slots__": (), "formula": f"{name}: {formula}",
                               "saved_names": ("self",) if save == 1 else ("result",) if save == 2 else (),
                               "backward": lambda self, g: grad(g, *self.saved)})
    if _isinst(fn, np.ufunc):
        fn = _namespaced(fn)

    def op(input):
        return _unary(input, fn, cls, save)
    op.__doc__ = doc
    return cls, op


ExpBackward0, exp = _unary_op("ExpBackward0", np.exp, "self: grad * result",
                              lambda g, r: g * r, 2, "e ** input, elementwise.")
exp = op(exp, "exp")


LogBackward0, log = _unary_op("LogBackward0", np.log, "self: grad / self",
                              lambda g, x: g / x, 1, "Natural logarithm, elementwise.")
log = op(log, "log")


Log2Backward0, log2 = _unary_op("Log2Backward0", np.log2, "self: grad / (self * log(2))",
                                lambda g, x: g / (x * math.log(2.0)), 1, "Base-2 logarithm.")
log2 = op(log2, "log2")


Log10Backward0, log10 = _unary_op("Log10Backward0", np.log10, "self: grad / (self * log(10))",
                                  lambda g, x: g / (x * math.log(10.0)), 1, "Base-10 logarithm.")
log10 = op(log10, "log10")


Log1PBackward0, log1p = _unary_op("Log1PBackward0", np.log1p, "self: grad / (self + 1)",
                                  lambda g, x: g / (x + 1), 1, "log(1 + input).")
log1p = op(log1p, "log1p")


Expm1Backward0, expm1 = _unary_op("Expm1Backward0", np.expm1, "self: grad * (result + 1)",
                                  lambda g, r: g * (r + 1), 2, "exp(input) - 1.")
expm1 = op(expm1, "expm1")


SqrtBackward0, sqrt = _unary_op("SqrtBackward0", np.sqrt, "self: grad / (2 * result)",
                                lambda g, r: g / (r * 2), 2, "Square root, elementwise.")
sqrt = op(sqrt, "sqrt")


RsqrtBackward0, rsqrt = _unary_op("RsqrtBackward0", lambda a: 1 / _ns(a).sqrt(a), "self: -0.5 * grad * result ** 3",
                                  lambda g, r: g * (ops.pow(r, 3) * -0.5), 2, "1 / sqrt(input).")
rsqrt = op(rsqrt, "rsqrt")


ReciprocalBackward0, reciprocal = _unary_op("ReciprocalBackward0", lambda a: 1 / a,
                                            "self: -grad * result * result",
                                            lambda g, r: -g * (r * r), 2, "1 / input.")
reciprocal = op(reciprocal, "reciprocal")


SinBackward0, sin = _unary_op("SinBackward0", np.sin, "self: grad * cos(self)",
                              lambda g, x: g * cos(x), 1, "Sine.")
sin = op(sin, "sin")


CosBackward0, cos = _unary_op("CosBackward0", np.cos, "self: grad * -sin(self)",
                              lambda g, x: g * -sin(x), 1, "Cosine.")
cos = op(cos, "cos")


TanBackward0, tan = _unary_op("TanBackward0", np.tan, "self: grad * (1 + result ** 2)",
                              lambda g, r: g * (r * r + 1), 2, "Tangent.")
tan = op(tan, "tan")


TanhBackward0, tanh = _unary_op("TanhBackward0", np.tanh, "self: grad * (1 - result ** 2)",
                                lambda g, r: g * (1 - r * r), 2, "Hyperbolic tangent.")
tanh = op(tanh, "tanh")


SigmoidBackward0, sigmoid = _unary_op(
    "SigmoidBackward0", lambda a: _sigmoid_np(a), "self: grad * result * (1 - result)",
    lambda g, r: g * ((1 - r) * r), 2, "1 / (1 + exp(-input)).")
sigmoid = op(sigmoid, "sigmoid")


AtanBackward0, atan = _unary_op("AtanBackward0", np.arctan, "self: grad / (1 + self ** 2)",
                                lambda g, x: g / (x * x + 1), 1, "Arctangent.")
atan = op(atan, "atan")


AsinBackward0, asin = _unary_op("AsinBackward0", np.arcsin, "self: grad / sqrt(1 - self ** 2)",
                                lambda g, x: g / sqrt(1 - x * x), 1, "Arcsine.")
asin = op(asin, "asin")


AcosBackward0, acos = _unary_op("AcosBackward0", np.arccos, "self: -grad / sqrt(1 - self ** 2)",
                                lambda g, x: -g / sqrt(1 - x * x), 1, "Arccosine.")
acos = op(acos, "acos")


SinhBackward0, sinh = _unary_op("SinhBackward0", np.sinh, "self: grad * cosh(self)",
                                lambda g, x: g * cosh(x), 1, "Hyperbolic sine.")
sinh = op(sinh, "sinh")


CoshBackward0, cosh = _unary_op("CoshBackward0", np.cosh, "self: grad * sinh(self)",
                                lambda g, x: g * sinh(x), 1, "Hyperbolic cosine.")
cosh = op(cosh, "cosh")


AbsBackward0, _abs_float = _unary_op("AbsBackward0", np.abs, "self: grad * sign(self)",
                                     lambda g, x: g * sign(x), 1, "Absolute value.")


ErfBackward0, erf = _unary_op("ErfBackward0", lambda a: _erf_np(a), "self: 2 / sqrt(pi) * exp(-self ** 2) * grad",
                              lambda g, x: g * (exp(-(x * x)) * (2.0 / math.sqrt(math.pi))), 1, "Error function.")
erf = op(erf, "erf")


arcsin, arccos, arctan = asin, acos, atan
alias(arcsin, "arcsin")
alias(arccos, "arccos")
alias(arctan, "arctan")


def _sigmoid_np(a):
    # stable for large |a|; same values as 1 / (1 + exp(-a))
    with np.errstate(over="ignore"):
        return 1 / (1 + _ns(a).exp(-a))


def _erf_np(a):
    xp = xp_of(a)
    if xp is not np:
        import cupyx.scipy.special as sp
        return sp.erf(a)
    try:
        from scipy.special import erf as _erf
        return _erf(a).astype(a.dtype)
    except ImportError:
        v = np.vectorize(math.erf, otypes=[a.dtype])
        return v(a) if a.size else a.copy()


@op
def abs(input):
    if not is_floating(input._a.dtype):
        return _wrap(_ns(input._a).abs(input._a))
    return _abs_float(input)


absolute = abs
alias(absolute, "absolute")


class ReluBackward0(Node):
    __slots__ = ()
    formula = "ReluBackward0: self: threshold_backward(grad, result, 0)"
    saved_names = ("result",)

    def backward(self, g):
        # an op of (grad, result), so a create_graph first gradient is linked to the graph
        # (ThresholdBackwardBackward0) and a second derivative is zeros, as in PyTorch
        from ..nn._activation_grads import threshold_backward
        r, = self.saved
        return threshold_backward(g, r, 0)


@op
def relu(input, inplace=False):
    if inplace:
        return relu_(input)
    a = input._a
    r = _ns(a).maximum(a, a.dtype.type(0)) if a.dtype.kind != "b" else a.copy()
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(ReluBackward0)
        _finish(t, n, (input,))
        _save_result(n, t)
    return t


def _zero_grad_op(name, fn, doc):
    cls = type(name, (Node,), {"__slots__": (), "formula": f"{name}: zeros_like(grad)",
                               "backward": lambda self, g: ops.zeros_like(g)})
    if _isinst(fn, np.ufunc):
        fn = _namespaced(fn)

    def op(input, *args, **kw):
        r = _res(fn(input._a, *args, **kw))
        t = _wrap(r)
        if _gs.enabled and input._rg and is_floating(r.dtype):
            _finish(t, new_node(cls), (input,))
        return t
    op.__doc__ = doc
    return cls, op


SignBackward0, sign = _zero_grad_op(
    "SignBackward0", lambda a: a.copy() if a.dtype.kind == "b" else _ns(a).sign(a),   # bool: itself
    "Sign of each element (-1, 0, 1).")
sign = op(sign, "sign")


FloorBackward0, floor = _zero_grad_op("FloorBackward0", np.floor, "Round down.")
floor = op(floor, "floor")


CeilBackward0, ceil = _zero_grad_op("CeilBackward0", np.ceil, "Round up.")
ceil = op(ceil, "ceil")


TruncBackward0, trunc = _zero_grad_op("TruncBackward0", np.trunc, "Round toward zero.")
trunc = op(trunc, "trunc")


RoundBackward0, _round = _zero_grad_op("RoundBackward0", lambda a, decimals=0: _ns(a).round(a, decimals), "Round half to even.")


@op
def round(input, decimals=0):
    return _round(input, decimals=decimals)


class ClampBackward1(Node):
    __slots__ = ("min", "max")
    formula = "ClampBackward1: self: where(min <= self <= max, grad, 0)"
    saved_names = ("self",)
    saved_attrs = ("min", "max")

    def backward(self, g):
        x, = self.saved
        m = ops.ones_like(x, dtype=bool_)
        if self.min is not None:
            m = ops.logical_and(m, ops.ge(x, self.min))
        if self.max is not None:
            m = ops.logical_and(m, ops.le(x, self.max))
        return where(m, g, ops.zeros_like(g))


class ClampBackward0(Node):
    __slots__ = ()
    formula = "ClampBackward0: self: where(min <= self <= max, grad, 0), min: grad where self < min, max: grad where self > max"
    saved_names = ("self", "min", "max")

    def backward(self, g):
        x, lo, hi = self.saved
        z = ops.zeros_like(g)
        m = ops.ones_like(x, dtype=bool_)
        glo = ghi = None
        if lo is not None:
            m = ops.logical_and(m, ops.ge(x, lo))
            glo = where(ops.lt(x, lo), g, z)
        if hi is not None:
            m = ops.logical_and(m, ops.le(x, hi))
            ghi = where(ops.gt(x, hi), g, z)
            if glo is not None:
                glo = where(ops.gt(x, hi), z, glo) if _isinst(lo, Tensor) and _isinst(hi, Tensor) else glo
        return where(m, g, z), glo, ghi


@op
def clamp(input, min=None, max=None, *, out=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if _isinst(min, Tensor) or _isinst(max, Tensor):
        a = input._a
        r = a
        if min is not None:
            r = _ns(a).maximum(r, min._a if _isinst(min, Tensor) else min)
        if max is not None:
            r = _ns(a).minimum(r, max._a if _isinst(max, Tensor) else max)
        t = _wrap(_res(r))
        if _needs(input, min, max):
            n = new_node(ClampBackward0)
            _finish(t, n, (input, min, max), (input, min, max))
        return t
    a = input._a
    if a.dtype.kind in "iub" and (_isinst(min, float) or _isinst(max, float)):
        a = a.astype(get_default_dtype().np)
    xp = _ns(a)
    r = xp.clip(a, min, max) if (min is None or max is None or min <= max) else xp.full_like(a, max)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(ClampBackward1)
        n.min, n.max = min, max
        _finish(t, n, (input,), (input,))
    return t


clip = clamp
alias(clip, "clip")


class ClampMinBackward0(ClampBackward1):
    __slots__ = ()
    formula = "ClampMinBackward0: self: where(self >= min, grad, 0)"


class ClampMaxBackward0(ClampBackward1):
    __slots__ = ()
    formula = "ClampMaxBackward0: self: where(self <= max, grad, 0)"


@op
def clamp_min(input, min):
    t = clamp(input, min=min)
    if t._node is not None and not _isinst(min, Tensor):
        t._node.__class__ = ClampMinBackward0
    return t


@op
def clamp_max(input, max):
    t = clamp(input, max=max)
    if t._node is not None and not _isinst(max, Tensor):
        t._node.__class__ = ClampMaxBackward0
    return t


class MaximumBackward0(Node):
    __slots__ = ()
    formula = "MaximumBackward0: self: grad where self > other (half on ties), other: grad where other > self"
    saved_names = ("self", "other")
    _cmp = None

    def backward(self, g):
        x, y = self.saved
        half = where(ops.eq(x, y), g / 2, g)
        z = ops.zeros_like(half)
        return where(ops.lt(x, y), z, half), where(ops.gt(x, y), z, half)


class MinimumBackward0(Node):
    __slots__ = ()
    formula = "MinimumBackward0: self: grad where self < other (half on ties), other: grad where other < self"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        half = where(ops.eq(x, y), g / 2, g)
        z = ops.zeros_like(half)
        return where(ops.gt(x, y), z, half), where(ops.lt(x, y), z, half)


@op
def maximum(input, other):
    other = _as_tensor(other, input)
    xa, ya = _pair(input, other)
    t = _wrap(_res(_ns(xa).maximum(xa, ya)))
    if _needs(input, other):
        _finish(t, new_node(MaximumBackward0), (input, other), (input, other))
    return t


@op
def minimum(input, other):
    other = _as_tensor(other, input)
    xa, ya = _pair(input, other)
    t = _wrap(_res(_ns(xa).minimum(xa, ya)))
    if _needs(input, other):
        _finish(t, new_node(MinimumBackward0), (input, other), (input, other))
    return t


fmax, fmin = maximum, minimum
alias(fmax, "fmax")
alias(fmin, "fmin")


class WhereBackward0(Node):
    __slots__ = ()
    formula = "WhereBackward0: self: where(condition, grad, 0), other: where(condition, 0, grad)"
    saved_names = ("condition",)

    def backward(self, g):
        c, = self.saved
        z = ops.zeros_like(g)
        n = self._next
        return (where(c, g, z) if n[0][0] is not None else None,
                where(c, z, g) if n[1][0] is not None else None)


@op(method=False)
def where(condition, input=None, other=None):
    """where(cond, x, y): x where cond else y; where(cond) = nonzero(cond, as_tuple=True)."""
    if input is None and other is None:
        return ops.nonzero(condition, as_tuple=True)
    c = condition._a if _isinst(condition, Tensor) else np.asarray(condition)
    if c.dtype.kind != "b":
        c = c.astype(bool)
    if not _isinst(input, Tensor) and not _isinst(other, Tensor):
        input = ops.tensor(input, device=condition.device if _isinst(condition, Tensor) else None)
    xa, ya = _pair(input, other)
    xp = _ns(ya if _isinst(xa, (int, float, bool)) else xa)    # a Python number has no namespace
    t = _wrap(_res(xp.where(c, xa, ya)))
    if _needs(input, other):
        cond = condition if _isinst(condition, Tensor) else _wrap(c)
        _finish(t, new_node(WhereBackward0), (input, other), (cond,))
    return t


clamp_ = make_inplace(clamp, "self")
clamp_ = op(clamp_, "clamp_")


clip_ = clamp_
alias(clip_, "clip_")


clamp_min_ = make_inplace(clamp_min, "self")
clamp_min_ = op(clamp_min_, "clamp_min_")


clamp_max_ = make_inplace(clamp_max, "self")
clamp_max_ = op(clamp_max_, "clamp_max_")


log_ = make_inplace(log, "self")
log_ = op(log_, "log_")


abs_ = make_inplace(abs, "self")
abs_ = op(abs_, "abs_")


relu_ = make_inplace(relu, "result")
relu_ = op(relu_, "relu_")


exp_ = make_inplace(exp, "result")
exp_ = op(exp_, "exp_")


sqrt_ = make_inplace(sqrt, "result")
sqrt_ = op(sqrt_, "sqrt_")


sigmoid_ = make_inplace(sigmoid, "result")
sigmoid_ = op(sigmoid_, "sigmoid_")


tanh_ = make_inplace(tanh, "result")
tanh_ = op(tanh_, "tanh_")


reciprocal_ = make_inplace(reciprocal, "result")
reciprocal_ = op(reciprocal_, "reciprocal_")


sin_ = make_inplace(sin, "self")
sin_ = op(sin_, "sin_")


cos_ = make_inplace(cos, "self")
cos_ = op(cos_, "cos_")


floor_ = make_inplace(floor)
floor_ = op(floor_, "floor_")


ceil_ = make_inplace(ceil)
ceil_ = op(ceil_, "ceil_")


round_ = make_inplace(round)
round_ = op(round_, "round_")


# the other in-place variants PyTorch has for these (engine.X_ and Tensor.X_ as in torch)
acos_ = op(make_inplace(acos, "self"), "acos_")
asin_ = op(make_inplace(asin, "self"), "asin_")
atan_ = op(make_inplace(atan, "self"), "atan_")
cosh_ = op(make_inplace(cosh, "self"), "cosh_")
sinh_ = op(make_inplace(sinh, "self"), "sinh_")
tan_ = op(make_inplace(tan, "self"), "tan_")
erf_ = op(make_inplace(erf, "self"), "erf_")
log2_ = op(make_inplace(log2, "self"), "log2_")
log10_ = op(make_inplace(log10, "self"), "log10_")
arccos_, arcsin_, arctan_ = acos_, asin_, atan_
alias(arccos_, "arccos_")
alias(arcsin_, "arcsin_")
alias(arctan_, "arctan_")
absolute_ = abs_
alias(absolute_, "absolute_", function=False)
