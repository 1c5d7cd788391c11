"""Every operation: its forward on raw arrays and, beside it, its backward formula.

Each differentiable op is a Node subclass named as PyTorch names it (MulBackward0 ...)
holding `backward(self, grad)` written with engine Tensor ops, next to the function
that computes the forward and records the node. Formulas return gradients shaped like
the op's *output* broadcast; the engine reduces them to each input's shape (engine._fit),
so broadcasting is handled in one place. Under `create_graph=True` the formulas run with
grad mode on and record their own graph, which gives higher-order gradients.
Methods and Python operators are attached to Tensor at the bottom of this module.
"""
import builtins
import collections
import math
import operator
import weakref

import numpy as np

from . import _dtype, _kernels
from ._dtype import get_default_dtype, result_type
from ._tensor import Tensor, Size, _from_array, _check_can_require_grad
from .backend import xp_of, device_of, to_device, device as _device, is_cuda_array, check_same_device, xp as _xp
from .autograd.grad_mode import state as _gs, no_grad
from .autograd.graph import Node, new_node, grad_accumulator, _SavedOutput, _next_seq
from .autograd.recording import recorded, record_namespace

_ndarray = np.ndarray
_isinst = isinstance
_wrap = _from_array
_NONE_EDGE = (None, 0)
_new = object.__new__


# ============================================================================ helpers
def _e(x):
    """The graph edge for an op input: (grad_fn or AccumulateGrad, nr), or (None, 0)."""
    if _isinst(x, Tensor):
        if x._base is not None and x._vv != x._ver[0]:
            _regen_view(x)
        if x._rg:
            n = x._node
            if n is not None:
                return n, x._nr
            if x._base is not None and x._base._rg:    # a view that only inherits requires_grad from
                return _NONE_EDGE                      # its base (made under no_grad): no edge, as in torch
            return grad_accumulator(x), 0
    return _NONE_EDGE


def _needs(*xs):
    if not _gs.enabled:
        return False
    for x in xs:
        if _isinst(x, Tensor):
            if x._base is not None and x._vv != x._ver[0]:
                _regen_view(x)
            if x._rg:
                return True
    return False


def _finish(out, node, inputs, saved=()):
    """Connect `out` to `node` whose inputs are `inputs`; saved: inputs/scalars kept for backward."""
    node._next = tuple(_e(x) for x in inputs)
    node._meta = ((out._a.shape, out._a.dtype),)
    node._saved = saved
    node._sver = tuple(s._ver[0] if _isinst(s, Tensor) else None for s in saved) if saved else ()
    out._node = node
    out._rg = True
    return out


def _save_result(node, out):
    node._saved = (_SavedOutput(out),)
    node._sver = (out._ver[0],)


def _as_tensor(x, like=None):
    if _isinst(x, Tensor):
        return x
    if like is not None:
        return tensor(x, dtype=like.dtype if not _isinst(x, float) or like.is_floating_point() else None,
                      device=like.device)
    return tensor(x)


def _scalar(x):
    """Python number from a Python/numpy scalar, or None when x is not a scalar."""
    if _isinst(x, (int, float, bool)):
        return x
    if _isinst(x, np.generic):
        return x.item()
    return None


def _float_array(a):
    return a if a.dtype.kind == "f" else a.astype(get_default_dtype().np)


def _pair(a, b):
    """Raw operands for a binary op, promoted as PyTorch promotes. Returns (xa, ya)."""
    if _isinst(a, Tensor):
        xa = a._a
        if _isinst(b, Tensor):
            ya = b._a
            if xa.dtype != ya.dtype:
                dt = result_type(a, b).np
                if xa.dtype != dt:
                    xa = xa.astype(dt)
                if ya.dtype != dt:
                    ya = ya.astype(dt)
            if type(xa) is not type(ya):
                if ya.ndim == 0 and type(ya) is _ndarray:
                    ya = ya.item()
                elif xa.ndim == 0 and type(xa) is _ndarray:
                    xa = xa.item()
                else:
                    check_same_device(xa, ya)
            return xa, ya
        s = _scalar(b)
        if s is None:
            return _pair(a, _as_tensor(b))
        k = xa.dtype.kind
        if (k in "iub" and _isinst(s, float)) or (k == "b" and _isinst(s, int) and not _isinst(s, bool)):
            xa = xa.astype(result_type(a, s).np)
        return xa, s
    s = _scalar(a)
    if s is None:
        return _pair(_as_tensor(a), b)
    ya, xs = _pair(b, s)
    return xs, ya


def _res(r):
    return r if type(r) is _ndarray else _wrap(r)._a


# Full sums of large float arrays: NumPy's pairwise float sum runs a scalar loop, while adding
# the rows of a (rows, width) view runs vectorised at memory speed. Each column adds at most
# _SUM_ROWS numbers in order and the columns are then summed pairwise, so the rounding error
# stays near NumPy's (measured: 104 µs against 150-190 µs for 1M float32 here).
_SUM_MIN, _SUM_ROWS = 1 << 16, 256


def _sum_all(a):
    """a.sum() for a CPU float32/float64 array (a NumPy scalar)."""
    n = a.size
    if n >= _kernels.MIN_SIZE:
        r = _kernels.sum_all(a)
        if r is not None:
            return r
    if n < _SUM_MIN or type(a) is not _ndarray or a.itemsize < 4 or a.dtype.kind != "f" or not a.flags.c_contiguous:
        return a.sum()
    flat = a.reshape(-1)
    width = builtins.max(4096, -(-n // _SUM_ROWS))
    m = n - n % width
    return np.add.reduce(np.add.reduce(flat[:m].reshape(-1, width), axis=0)) + np.add.reduce(flat[m:])


_UFUNC = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
          operator.truediv: np.divide}


def _arith(op, xa, ya):
    """op(xa, ya) for operator.add/sub/mul/truediv: large CPU float arrays run on all cores
    (_kernels); the rest as the operator, which also serves CuPy arrays and Python scalars."""
    big = xa if type(xa) is _ndarray else ya
    if type(big) is _ndarray and big.size >= _kernels.MIN_SIZE:
        r = _kernels.binary(_UFUNC[op], xa, ya)
        if r is not None:
            return r
    return op(xa, ya)


def _ns(a):
    """The namespace that owns array `a` (NumPy on the CPU, CuPy on cuda): op code calls
    `_ns(a).f(a)`, never `np.f(a)`, on data arrays."""
    return np if type(a) is _ndarray else xp_of(a)


def _namespaced(fn):
    """NumPy function `fn` as a call to the same-named function of the array's namespace."""
    name = fn.__name__

    def call(a, *args, **kw):
        return fn(a, *args, **kw) if type(a) is _ndarray else getattr(xp_of(a), name)(a, *args, **kw)
    return call


def _dims(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    if _isinst(dim, (list, tuple)):
        return tuple(sorted(d % ndim if ndim else 0 for d in dim)) if dim else tuple(range(ndim))
    if ndim == 0:
        if dim not in (0, -1):
            raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got {dim})")
        return ()
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], but got {dim})")
    return (dim % ndim,)


def _wdim(d, ndim):
    n = builtins.max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, "
                         f"{n - 1}], but got {d})")
    return d % n


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def sum_to(g, shape):
    """Sum gradient g down to `shape` (undoing broadcasting). The engine's one reduction place."""
    gs = g._a.shape
    if gs == tuple(shape):
        return g
    lead = len(gs) - len(shape)
    if lead < 0:
        raise ValueError("cannot sum to a larger shape")
    red = list(range(lead))
    for i, s in enumerate(shape):
        if s == 1 and gs[lead + i] != 1:
            red.append(lead + i)
        elif s != gs[lead + i] and s != 1:
            raise ValueError("shape mismatch")
    r = g.sum(tuple(red), keepdim=True) if red else g
    return r.reshape(tuple(shape)) if r._a.shape != tuple(shape) else r


# ============================================================================ arithmetic
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
        elif (to is float or to is int) and xa.dtype.kind == "f":
            return xa, other
    return None


def add(input, other, *, alpha=1, out=None):
    ops = _fast_operands(input, other) if alpha == 1 else None
    if ops is None:
        xa, ya = _pair(input, other)
        if alpha != 1:
            ya = ya * alpha
    else:
        xa, ya = ops
    r = _arith(operator.add, xa, ya)
    t = _wrap(r if type(r) is _ndarray else _res(r))
    if _gs.enabled and ((_isinst(input, Tensor) and input._rg) or (_isinst(other, Tensor) and other._rg)):
        n = new_node(AddBackward0)
        n.alpha = alpha
        if not _isinst(input, Tensor):  # scalar + tensor: PyTorch keeps the tensor first
            input, other = other, input
        _finish(t, n, (input, other))
    return _out(t, out)


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
    return _out(t, out)


subtract = sub


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
    saved_names = ("self", "other")

    def backward(self, g):
        s = self._saved
        a, b = s if s is not None and (s[0] is None or s[0]._ver[0] == self._sver[0]) and (
            self._sver[1] is None or b_ok(s[1], self._sver[1])) else self.saved
        n = self._next
        return (g * b if n[0][0] is not None else None,
                g * a if n[1][0] is not None else None)


def b_ok(b, ver):
    return b._ver[0] == ver


def mul(input, other, *, out=None):
    # fast path: Tensor * Python float/int on a floating tensor (no promotion possible)
    if type(input) is Tensor and (type(other) is float or type(other) is int) and input._a.dtype.kind == "f":
        r = _arith(operator.mul, input._a, other)
        if type(r) is not _ndarray:
            r = _res(r)
        t = _new(Tensor)
        t._a, t._node, t._nr, t._rg, t._grad, t._ver, t._base, t._acc, t._x = r, None, 0, False, None, [0], None, None, None
        if input._rg and _gs.enabled:
            n = _new(MulBackward0)
            n._seq = _next_seq()
            n._x = None
            if _gs.anomaly:
                n._x = new_node(MulBackward0)._x
            n._next = (_e(input), _NONE_EDGE)
            n._meta = ((r.shape, r.dtype),)
            n._saved = (None, other)
            n._sver = (None, None)
            t._node = n
            t._rg = True
        return t if out is None else _out(t, out)
    xa, ya = _fast_operands(input, other) or _pair(input, other)
    r = _arith(operator.mul, xa, ya)
    t = _wrap(r if type(r) is _ndarray else _res(r))
    if _gs.enabled and ((_isinst(input, Tensor) and input._rg) or (_isinst(other, Tensor) and other._rg)):
        if not _isinst(input, Tensor):
            input, other = other, input
        n = new_node(MulBackward0)
        n._next = (_e(input), _e(other))
        n._meta = ((r.shape, r.dtype),)
        # save only what the formula needs: other for self's grad, self for other's grad
        s_self = input if n._next[1][0] is not None else None
        s_other = other if n._next[0][0] is not None else None
        n._saved = (s_self, s_other)
        n._sver = (s_self._ver[0] if s_self is not None else None,
                   s_other._ver[0] if _isinst(s_other, Tensor) else None)
        t._node = n
        t._rg = True
    return _out(t, out)


multiply = mul


class DivBackward0(Node):
    __slots__ = ()
    formula = "DivBackward0: self: grad / other, other: -grad * self / (other * other)"
    saved_names = ("self", "other")

    def backward(self, g):
        a, b = self.saved
        n = self._next
        return (g / b if n[0][0] is not None else None,
                -g * ((a / b) / b) if n[1][0] is not None else None)


def div(input, other, *, rounding_mode=None, out=None):
    if not _isinst(input, Tensor):
        return mul(reciprocal(other), input)
    xa, ya = _pair(input, other)
    if rounding_mode is not None:
        if rounding_mode == "floor":
            r = _ns(xa).floor_divide(xa, ya) if xa.dtype.kind != "f" else _ns(xa).floor(xa / ya)
        elif rounding_mode == "trunc":
            r = _ns(xa).trunc(xa / ya)
            if xa.dtype.kind in "iu":
                r = r.astype(xa.dtype)
        else:
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")
        return _out(_wrap(_res(r)), out)
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
    return _out(t, out)


divide = true_divide = div


def floor_divide(input, other):
    return div(input, other, rounding_mode="floor")


def remainder(input, other):
    xa, ya = _pair(input, other)
    return _wrap(_res(_ns(xa).remainder(xa, ya)))


fmod = remainder


class NegBackward0(Node):
    __slots__ = ()
    formula = "NegBackward0: self: -grad"

    def backward(self, g):
        return -g


def neg(input):
    if input._a.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    t = _wrap(_res(-input._a))
    if _gs.enabled and input._rg:
        _finish(t, new_node(NegBackward0), (input,))
    return t


negative = neg


class PowBackward0(Node):
    __slots__ = ("exponent",)
    formula = "PowBackward0: self: grad * exponent * self ** (exponent - 1)"
    saved_names = ("self",)
    saved_attrs = ("exponent",)

    def backward(self, g):
        x, = self.saved
        p = self.exponent
        if p == 0:
            return zeros_like(x)
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
            mask = logical_and(eq(x, 0), ge(p, 0))
            gp = g * where(mask, zeros_like(r), r * log(x))
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
            return g * where(ge(r * 0 + 0, 0), zeros_like(r), r)  # d/dp 0**p = 0 for p >= 0
        return g * (r * math.log(b))


def pow(input, exponent, *, out=None):
    if not _isinst(input, Tensor):
        # scalar ** tensor
        base = _scalar(input)
        e = exponent
        ea = _float_array(e._a) if _isinst(base, float) or e._a.dtype.kind == "b" else e._a
        t = _wrap(_res(_ns(ea).power(base, ea)))
        if _gs.enabled and e._rg:
            n = new_node(PowBackward2)
            n.base = base
            _finish(t, n, (e,))
            _save_result(n, t)
        return t
    if _isinst(exponent, Tensor):
        xa, ya = _pair(input, exponent)
        t = _wrap(_res(_ns(xa).power(xa, ya)))
        if _gs.enabled and (input._rg or exponent._rg):
            n = new_node(PowBackward1)
            _finish(t, n, (input, exponent))
            n._saved = (input, exponent, _SavedOutput(t))
            n._sver = (input._ver[0], exponent._ver[0], t._ver[0])
        return _out(t, out)
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
    return _out(t, out)


def square(input):
    return pow(input, 2)


def float_power(input, exponent):
    return pow(input.double() if _isinst(input, Tensor) else input,
               exponent.double() if _isinst(exponent, Tensor) else exponent)


def _out(t, out):
    if out is None:
        return t
    with no_grad():
        out.resize_(t.shape) if out.shape != t.shape else None
        out._a[...] = t._a
        out._ver[0] += 1
    return out


# ============================================================================ unary
def _unary(x, fn, cls, save):
    a = x._a
    if a.dtype.kind != "f":
        a = a.astype(get_default_dtype().np)
    r = fn(a)
    t = _wrap(r if type(r) is _ndarray else _res(r))
    if _gs.enabled and x._rg:
        n = new_node(cls)
        n._next = (_e(x),)
        n._meta = ((r.shape, r.dtype),)
        if save == 1:
            n._saved = (x,)
            n._sver = (x._ver[0],)
        elif save == 2:
            n._saved = (_SavedOutput(t),)
            n._sver = (0,)
        else:
            n._saved = ()
        t._node = n
        t._rg = True
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
LogBackward0, log = _unary_op("LogBackward0", np.log, "self: grad / self",
                              lambda g, x: g / x, 1, "Natural logarithm, elementwise.")
Log2Backward0, log2 = _unary_op("Log2Backward0", np.log2, "self: grad / (self * log(2))",
                                lambda g, x: g / (x * math.log(2.0)), 1, "Base-2 logarithm.")
Log10Backward0, log10 = _unary_op("Log10Backward0", np.log10, "self: grad / (self * log(10))",
                                  lambda g, x: g / (x * math.log(10.0)), 1, "Base-10 logarithm.")
Log1PBackward0, log1p = _unary_op("Log1PBackward0", np.log1p, "self: grad / (self + 1)",
                                  lambda g, x: g / (x + 1), 1, "log(1 + input).")
Expm1Backward0, expm1 = _unary_op("Expm1Backward0", np.expm1, "self: grad * (result + 1)",
                                  lambda g, r: g * (r + 1), 2, "exp(input) - 1.")
SqrtBackward0, sqrt = _unary_op("SqrtBackward0", np.sqrt, "self: grad / (2 * result)",
                                lambda g, r: g / (r * 2), 2, "Square root, elementwise.")
RsqrtBackward0, rsqrt = _unary_op("RsqrtBackward0", lambda a: 1 / _ns(a).sqrt(a), "self: -0.5 * grad * result ** 3",
                                  lambda g, r: g * (pow(r, 3) * -0.5), 2, "1 / sqrt(input).")
ReciprocalBackward0, reciprocal = _unary_op("ReciprocalBackward0", lambda a: 1 / a,
                                            "self: -grad * result * result",
                                            lambda g, r: -g * (r * r), 2, "1 / input.")
SinBackward0, sin = _unary_op("SinBackward0", np.sin, "self: grad * cos(self)",
                              lambda g, x: g * cos(x), 1, "Sine.")
CosBackward0, cos = _unary_op("CosBackward0", np.cos, "self: grad * -sin(self)",
                              lambda g, x: g * -sin(x), 1, "Cosine.")
TanBackward0, tan = _unary_op("TanBackward0", np.tan, "self: grad * (1 + result ** 2)",
                              lambda g, r: g * (r * r + 1), 2, "Tangent.")
TanhBackward0, tanh = _unary_op("TanhBackward0", np.tanh, "self: grad * (1 - result ** 2)",
                                lambda g, r: g * (1 - r * r), 2, "Hyperbolic tangent.")
SigmoidBackward0, sigmoid = _unary_op(
    "SigmoidBackward0", lambda a: _sigmoid_np(a), "self: grad * result * (1 - result)",
    lambda g, r: g * ((1 - r) * r), 2, "1 / (1 + exp(-input)).")
AtanBackward0, atan = _unary_op("AtanBackward0", np.arctan, "self: grad / (1 + self ** 2)",
                                lambda g, x: g / (x * x + 1), 1, "Arctangent.")
AsinBackward0, asin = _unary_op("AsinBackward0", np.arcsin, "self: grad / sqrt(1 - self ** 2)",
                                lambda g, x: g / sqrt(1 - x * x), 1, "Arcsine.")
AcosBackward0, acos = _unary_op("AcosBackward0", np.arccos, "self: -grad / sqrt(1 - self ** 2)",
                                lambda g, x: -g / sqrt(1 - x * x), 1, "Arccosine.")
SinhBackward0, sinh = _unary_op("SinhBackward0", np.sinh, "self: grad * cosh(self)",
                                lambda g, x: g * cosh(x), 1, "Hyperbolic sine.")
CoshBackward0, cosh = _unary_op("CoshBackward0", np.cosh, "self: grad * sinh(self)",
                                lambda g, x: g * sinh(x), 1, "Hyperbolic cosine.")
AbsBackward0, _abs_float = _unary_op("AbsBackward0", np.abs, "self: grad * sign(self)",
                                     lambda g, x: g * sign(x), 1, "Absolute value.")
ErfBackward0, erf = _unary_op("ErfBackward0", lambda a: _erf_np(a), "self: 2 / sqrt(pi) * exp(-self ** 2) * grad",
                              lambda g, x: g * (exp(-(x * x)) * (2.0 / math.sqrt(math.pi))), 1, "Error function.")
arcsin, arccos, arctan = asin, acos, atan


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


def abs(input):
    if input._a.dtype.kind != "f":
        return _wrap(_ns(input._a).abs(input._a))
    return _abs_float(input)


absolute = abs


class ReluBackward0(Node):
    __slots__ = ()
    formula = "ReluBackward0: self: grad * (result > 0)"
    saved_names = ("result",)

    def backward(self, g):
        r, = self.saved
        return g * gt(r, 0).to(g.dtype)


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
                               "backward": lambda self, g: zeros_like(g)})
    if _isinst(fn, np.ufunc):
        fn = _namespaced(fn)

    def op(input, *args, **kw):
        r = _res(fn(input._a, *args, **kw))
        t = _wrap(r)
        if _gs.enabled and input._rg and r.dtype.kind == "f":
            _finish(t, new_node(cls), (input,))
        return t
    op.__doc__ = doc
    return cls, op


SignBackward0, sign = _zero_grad_op(
    "SignBackward0", lambda a: a.copy() if a.dtype.kind == "b" else _ns(a).sign(a),   # bool: itself
    "Sign of each element (-1, 0, 1).")
FloorBackward0, floor = _zero_grad_op("FloorBackward0", np.floor, "Round down.")
CeilBackward0, ceil = _zero_grad_op("CeilBackward0", np.ceil, "Round up.")
TruncBackward0, trunc = _zero_grad_op("TruncBackward0", np.trunc, "Round toward zero.")
RoundBackward0, _round = _zero_grad_op("RoundBackward0", lambda a, decimals=0: _ns(a).round(a, decimals), "Round half to even.")


def round(input, decimals=0):
    return _round(input, decimals=decimals)


class ClampBackward1(Node):
    __slots__ = ("min", "max")
    formula = "ClampBackward1: self: where(min <= self <= max, grad, 0)"
    saved_names = ("self",)
    saved_attrs = ("min", "max")

    def backward(self, g):
        x, = self.saved
        m = ones_like(x, dtype=bool_)
        if self.min is not None:
            m = logical_and(m, ge(x, self.min))
        if self.max is not None:
            m = logical_and(m, le(x, self.max))
        return where(m, g, zeros_like(g))


class ClampBackward0(Node):
    __slots__ = ()
    formula = "ClampBackward0: self: where(min <= self <= max, grad, 0), min: grad where self < min, max: grad where self > max"
    saved_names = ("self", "min", "max")

    def backward(self, g):
        x, lo, hi = self.saved
        z = zeros_like(g)
        m = ones_like(x, dtype=bool_)
        glo = ghi = None
        if lo is not None:
            m = logical_and(m, ge(x, lo))
            glo = where(lt(x, lo), g, z)
        if hi is not None:
            m = logical_and(m, le(x, hi))
            ghi = where(gt(x, hi), g, z)
            if glo is not None:
                glo = where(gt(x, hi), z, glo) if _isinst(lo, Tensor) and _isinst(hi, Tensor) else glo
        return where(m, g, z), glo, ghi


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
        return _out(t, out)
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
    return _out(t, out)


clip = clamp


class ClampMinBackward0(ClampBackward1):
    __slots__ = ()
    formula = "ClampMinBackward0: self: where(self >= min, grad, 0)"


class ClampMaxBackward0(ClampBackward1):
    __slots__ = ()
    formula = "ClampMaxBackward0: self: where(self <= max, grad, 0)"


def clamp_min(input, min):
    t = clamp(input, min=min)
    if t._node is not None and not _isinst(min, Tensor):
        t._node.__class__ = ClampMinBackward0
    return t


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
        half = where(eq(x, y), g / 2, g)
        z = zeros_like(half)
        return where(lt(x, y), z, half), where(gt(x, y), z, half)


class MinimumBackward0(Node):
    __slots__ = ()
    formula = "MinimumBackward0: self: grad where self < other (half on ties), other: grad where other < self"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        half = where(eq(x, y), g / 2, g)
        z = zeros_like(half)
        return where(gt(x, y), z, half), where(lt(x, y), z, half)


def maximum(input, other):
    other = _as_tensor(other, input)
    xa, ya = _pair(input, other)
    t = _wrap(_res(_ns(xa).maximum(xa, ya)))
    if _needs(input, other):
        _finish(t, new_node(MaximumBackward0), (input, other), (input, other))
    return t


def minimum(input, other):
    other = _as_tensor(other, input)
    xa, ya = _pair(input, other)
    t = _wrap(_res(_ns(xa).minimum(xa, ya)))
    if _needs(input, other):
        _finish(t, new_node(MinimumBackward0), (input, other), (input, other))
    return t


fmax, fmin = maximum, minimum


class WhereBackward0(Node):
    __slots__ = ()
    formula = "WhereBackward0: self: where(condition, grad, 0), other: where(condition, 0, grad)"
    saved_names = ("condition",)

    def backward(self, g):
        c, = self.saved
        z = zeros_like(g)
        n = self._next
        return (where(c, g, z) if n[0][0] is not None else None,
                where(c, z, g) if n[1][0] is not None else None)


def where(condition, input=None, other=None):
    """where(cond, x, y): x where cond else y; where(cond) = nonzero(cond, as_tuple=True)."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    c = condition._a if _isinst(condition, Tensor) else np.asarray(condition)
    if c.dtype.kind != "b":
        c = c.astype(bool)
    if not _isinst(input, Tensor) and not _isinst(other, Tensor):
        input = tensor(input, device=condition.device if _isinst(condition, Tensor) else None)
    xa, ya = _pair(input, other)
    xp = _ns(ya if _isinst(xa, (int, float, bool)) else xa)    # a Python number has no namespace
    t = _wrap(_res(xp.where(c, xa, ya)))
    if _needs(input, other):
        cond = condition if _isinst(condition, Tensor) else _wrap(c)
        n = new_node(WhereBackward0)
        n._next = (_e(input), _e(other))
        n._meta = ((t._a.shape, t._a.dtype),)
        n._saved = (cond,)
        n._sver = (cond._ver[0],)
        t._node, t._rg = n, True
    return t


# ============================================================================ reductions
class SumBackward0(Node):
    __slots__ = ("shape",)
    formula = "SumBackward0: self: grad.expand(self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.expand(self.shape)


class SumBackward1(Node):
    __slots__ = ("shape", "dims", "keepdim")
    formula = "SumBackward1: self: grad (unsqueezed at dim unless keepdim).expand(self.shape)"
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        if not self.keepdim:
            g = g.reshape(_keep_shape(self.shape, self.dims))
        return g.expand(self.shape)


def _acc_dtype(a, dtype):
    if dtype is not None:
        return _dtype.to_np(dtype)
    return np.dtype(np.int64) if a.dtype.kind in "iub" else None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    if not _isinst(input, Tensor):
        return builtins.sum(input) if dim is None else builtins.sum(input, dim)
    a = input._a
    adt = _acc_dtype(a, dtype)
    if dim is None:
        r = _sum_all(a) if adt is None else a.sum(dtype=adt)
        t = _wrap(_res(r))
        if _gs.enabled and input._rg:
            n = new_node(SumBackward0)
            n.shape = a.shape
            _finish(t, n, (input,))
        return t
    dims = _dims(dim, a.ndim)
    r = a.sum(axis=dims, keepdims=keepdim, dtype=adt)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(SumBackward1)
        n.shape, n.dims, n.keepdim = a.shape, dims, keepdim
        _finish(t, n, (input,))
    return t


def nansum(input, dim=None, keepdim=False):
    return sum(where(isnan(input), zeros_like(input), input), dim, keepdim)


class MeanBackward0(Node):
    __slots__ = ("shape", "numel")
    formula = "MeanBackward0: self: grad.expand(self.shape) / self.numel()"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.expand(self.shape) / self.numel


class MeanBackward1(Node):
    __slots__ = ("shape", "dims", "keepdim", "count")
    formula = "MeanBackward1: self: grad (unsqueezed at dim).expand(self.shape) / count"
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        if not self.keepdim:
            g = g.reshape(_keep_shape(self.shape, self.dims))
        return g.expand(self.shape) / self.count


def mean(input, dim=None, keepdim=False, *, dtype=None):
    a = input._a
    if dtype is not None:
        a = a.astype(_dtype.to_np(dtype))
    if a.dtype.kind != "f":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating "
                           f"point or complex dtype. Got: {_dtype.from_np(a.dtype).name.capitalize().replace('Int64', 'Long')}")
    if dim is None:
        t = _wrap(_res(_sum_all(a) / a.size if a.dtype.kind == "f" and a.itemsize >= 4 else a.mean()))
        if _gs.enabled and input._rg:
            n = new_node(MeanBackward0)
            n.shape, n.numel = a.shape, a.size
            _finish(t, n, (input,))
        return t
    dims = _dims(dim, a.ndim)
    t = _wrap(_res(a.mean(axis=dims, keepdims=keepdim)))
    if _gs.enabled and input._rg:
        n = new_node(MeanBackward1)
        n.shape, n.dims, n.keepdim = a.shape, dims, keepdim
        n.count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
        _finish(t, n, (input,))
    return t


class ProdBackward0(Node):
    __slots__ = ("shape",)
    formula = "ProdBackward0: self: grad * (product of all other elements)"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        return g.expand(self.shape) * _prod_others(x, None)


class ProdBackward1(Node):
    __slots__ = ("shape", "dim", "keepdim")
    formula = "ProdBackward1: self: grad * (product of the other elements along dim)"
    saved_names = ("self", "result")
    saved_attrs = ("dim", "keepdim")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            g = g.unsqueeze(self.dim)
        return g.expand(self.shape) * _prod_others(x, self.dim)


def _prod_others(x, dim):
    """For each element, the product of the other elements (of all, or along dim); zero-safe."""
    if dim is None:
        flat = x.reshape(-1)
        return _prod_others(flat, 0).reshape(x.shape)
    n = x.shape[dim]
    if n == 0:
        return zeros_like(x)
    ones_shape = list(x.shape)
    ones_shape[dim] = 1
    one = ones(ones_shape, dtype=x.dtype, device=x.device)
    left = cat([one, x.narrow(dim, 0, n - 1)], dim).cumprod(dim)          # exclusive prefix products
    right = cat([x.narrow(dim, 1, n - 1), one], dim).flip(dim).cumprod(dim).flip(dim)  # suffix
    return left * right


def prod(input, dim=None, keepdim=False, *, dtype=None):
    a = input._a
    adt = _acc_dtype(a, dtype)
    if dim is None:
        t = _wrap(_res(a.prod(dtype=adt)))
        if _gs.enabled and input._rg:
            n = new_node(ProdBackward0)
            n.shape = a.shape
            _finish(t, n, (input,))
            n._saved = (input, _SavedOutput(t))
            n._sver = (input._ver[0], 0)
        return t
    d = _wdim(dim, a.ndim)
    t = _wrap(_res(a.prod(axis=d, keepdims=keepdim, dtype=adt)))
    if _gs.enabled and input._rg:
        n = new_node(ProdBackward1)
        n.shape, n.dim, n.keepdim = a.shape, d, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class CumsumBackward0(Node):
    __slots__ = ("dim",)
    formula = "CumsumBackward0: self: grad.flip(dim).cumsum(dim).flip(dim)"
    saved_attrs = ("dim",)

    def backward(self, g):
        return g.flip(self.dim).cumsum(self.dim).flip(self.dim)


def cumsum(input, dim, *, dtype=None):
    a = input._a
    d = _wdim(dim, a.ndim)
    r = _ns(a).cumsum(a, axis=d if a.ndim else None, dtype=_acc_dtype(a, dtype)).reshape(a.shape)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(CumsumBackward0)
        n.dim = d
        _finish(t, n, (input,))
    return t


class CumprodBackward0(Node):
    __slots__ = ("dim",)
    formula = "CumprodBackward0: self: reverse cumsum of (grad * result) / self"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        d = self.dim
        if not bool((x._a == 0).any()):
            return (g * r).flip(d).cumsum(d).flip(d) / x
        # zeros present: d out_j / d x_i = prod_{k <= j, k != i} x_k, built column by column
        n = x.shape[d]
        pos = arange(n, device=x.device).reshape((n,) + (1,) * (x.ndim - 1 - d))
        cols = []
        for i in range(n):
            xi = where(eq(pos, i), ones_like(x), x)
            cols.append((g * xi.cumprod(d)).narrow(d, i, n - i).sum(d))
        return stack(cols, d)


def cumprod(input, dim, *, dtype=None):
    a = input._a
    d = _wdim(dim, a.ndim)
    r = _ns(a).cumprod(a, axis=d if a.ndim else None, dtype=_acc_dtype(a, dtype)).reshape(a.shape)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(CumprodBackward0)
        n.dim = d
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


def _scale_by_count(g, mask, dims):
    m = mask.to(g.dtype)
    return g * m / m.sum(dims, keepdim=True)


class MaxBackward1(Node):
    __slots__ = ()
    formula = "MaxBackward1: self: grad evenly split among the elements equal to the max"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        m = eq(x, r).to(g.dtype)
        return m * (g / m.sum())


class MinBackward1(MaxBackward1):
    __slots__ = ()
    formula = "MinBackward1: self: grad evenly split among the elements equal to the min"


class MaxBackward0(Node):
    __slots__ = ("shape", "dim", "keepdim")
    formula = "MaxBackward0: self: grad scattered to indices (zeros elsewhere)"
    saved_names = ("indices",)
    saved_attrs = ("dim", "keepdim")

    def backward(self, g):
        idx, = self.saved
        if not self.keepdim:
            g = g.unsqueeze(self.dim)
            idx = idx.unsqueeze(self.dim)
        return zeros(self.shape, dtype=g.dtype, device=g.device).scatter(self.dim, idx, g)


class MinBackward0(MaxBackward0):
    __slots__ = ()
    formula = "MinBackward0: self: grad scattered to indices (zeros elsewhere)"


class AmaxBackward0(Node):
    __slots__ = ("dims", "keepdim")
    formula = "AmaxBackward0: self: grad evenly split among the maxima along dim"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        return _scale_by_count(g, eq(x, r), self.dims)


class AminBackward0(AmaxBackward0):
    __slots__ = ()
    formula = "AminBackward0: self: grad evenly split among the minima along dim"


def _return_type(name):
    base = collections.namedtuple(name, ["values", "indices"])

    def __repr__(self):
        return f"torch.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__})


_RETURN_TYPES = {n: _return_type(n) for n in ("max", "min", "sort", "topk", "kthvalue", "mode", "median")}


def values_indices(values, indices, name="max"):
    """PyTorch's torch.return_types.<name> (values, indices) namedtuple."""
    return _RETURN_TYPES[name](values, indices)


def _minmax(input, dim, keepdim, other, is_max):
    if _isinst(dim, Tensor) and other is None:
        other, dim = dim, None
    if other is not None:
        return maximum(input, other) if is_max else minimum(input, other)
    a = input._a
    if dim is None:
        if a.size == 0:
            raise RuntimeError(f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        t = _wrap(_res(a.max() if is_max else a.min()))
        if _gs.enabled and input._rg:
            n = new_node(MaxBackward1 if is_max else MinBackward1)
            _finish(t, n, (input,))
            n._saved = (input, _SavedOutput(t))
            n._sver = (input._ver[0], 0)
        return t
    d = _wdim(dim, a.ndim)
    xp = _ns(a)
    if a.ndim == 0:
        idx = xp.zeros((), np.int64)
        vals = a.copy()
    else:
        idx = (a.argmax if is_max else a.argmin)(axis=d)
        if a.dtype.kind == "f":   # PyTorch propagates NaN: index of the first NaN wins
            nanpos = xp.isnan(a)
            if nanpos.any():
                has = nanpos.any(axis=d)
                idx = xp.where(has, nanpos.argmax(axis=d), idx)
        idx = idx.astype(np.int64)
        vals = xp.take_along_axis(a, xp.expand_dims(idx, d), d)
        if not keepdim:
            vals = vals.squeeze(d)
        else:
            idx = xp.expand_dims(idx, d)
    t = _wrap(_res(vals))
    it = _wrap(_res(idx))
    if _gs.enabled and input._rg:
        n = new_node(MaxBackward0 if is_max else MinBackward0)
        n.shape, n.dim, n.keepdim = a.shape, d, keepdim
        _finish(t, n, (input,))
        n._saved = (it,)
        n._sver = (0,)
    return values_indices(t, it, "max" if is_max else "min")


def max(input, dim=None, keepdim=False, *, other=None):
    """max(x) -> value; max(x, dim, keepdim) -> (values, indices); max(x, y) -> maximum."""
    return _minmax(input, dim, keepdim, other, True)


def min(input, dim=None, keepdim=False, *, other=None):
    return _minmax(input, dim, keepdim, other, False)


def amax(input, dim=(), keepdim=False):
    a = input._a
    dims = _dims(dim if dim != () else None, a.ndim)
    t = _wrap(_res(a.max(axis=dims, keepdims=keepdim)))
    if _gs.enabled and input._rg:
        n = new_node(AmaxBackward0)
        n.dims, n.keepdim = dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


def amin(input, dim=(), keepdim=False):
    a = input._a
    dims = _dims(dim if dim != () else None, a.ndim)
    t = _wrap(_res(a.min(axis=dims, keepdims=keepdim)))
    if _gs.enabled and input._rg:
        n = new_node(AminBackward0)
        n.dims, n.keepdim = dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


def argmax(input, dim=None, keepdim=False):
    a = input._a
    if dim is None:
        return _wrap(_res(np.asarray(a.argmax()).astype(np.int64)) if type(a) is _ndarray else a.argmax())
    r = a.argmax(axis=_wdim(dim, a.ndim))
    if keepdim:
        r = _ns(r).expand_dims(r, dim)
    return _wrap(_res(r.astype(np.int64)))


def argmin(input, dim=None, keepdim=False):
    a = input._a
    if dim is None:
        return _wrap(_res(np.asarray(a.argmin()).astype(np.int64)) if type(a) is _ndarray else a.argmin())
    r = a.argmin(axis=_wdim(dim, a.ndim))
    if keepdim:
        r = _ns(r).expand_dims(r, dim)
    return _wrap(_res(r.astype(np.int64)))


class VarBackward0(Node):
    __slots__ = ("dims", "correction", "keepdim", "count")
    formula = "VarBackward0: self: grad * 2 * (self - mean) / (N - correction)"
    saved_names = ("self",)
    saved_attrs = ("dims", "correction", "keepdim")

    def backward(self, g):
        x, = self.saved
        if not self.keepdim:
            g = g.reshape(_keep_shape(x.shape, self.dims))
        dof = self.count - self.correction     # PyTorch's var_backward: no clamp, and over all
        if dof <= 0 and len(self.dims) == x.ndim:   # dims inf (nan where x equals the mean)
            return g * where(eq(x, x.mean()), full_like(x, math.nan), full_like(x, math.inf))
        return g * (2.0 / dof if dof else math.inf) * (x - x.mean(self.dims, keepdim=True))


class StdBackward0(Node):
    __slots__ = ("dims", "correction", "keepdim", "count")
    formula = "StdBackward0: self: grad * (self - mean) / ((N - correction) * result)"
    saved_names = ("self", "result")
    saved_attrs = ("dims", "correction", "keepdim")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        scaled = where(eq(r, 0), zeros_like(r), g / (r * builtins.max(self.count - self.correction, 0)))
        return scaled * (x - x.mean(self.dims, keepdim=True))


def _var_args(dim, unbiased, correction):
    if _isinst(dim, bool):       # var(x, False): the old unbiased positional
        unbiased, dim = dim, None
    if correction is None:
        correction = 1 if (unbiased is None or unbiased) else 0
    return dim, correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, corr = _var_args(dim, unbiased, correction)
    a = input._a
    dims = _dims(dim, a.ndim)
    count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a.var(axis=dims, ddof=corr, keepdims=keepdim) if count - corr > 0 else \
            _ns(a).full(_keep_shape(a.shape, dims) if keepdim else tuple(s for i, s in enumerate(a.shape) if i not in dims), np.nan, a.dtype)
    t = _wrap(_res(r.astype(a.dtype, copy=False)))
    if _gs.enabled and input._rg:
        n = new_node(VarBackward0)
        n.dims, n.correction, n.keepdim, n.count = dims, corr, keepdim, count
        _finish(t, n, (input,), (input,))
    return t


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    dim, corr = _var_args(dim, unbiased, correction)
    a = input._a
    dims = _dims(dim, a.ndim)
    count = int(np.prod([a.shape[d] for d in dims])) if dims else 1
    with np.errstate(divide="ignore", invalid="ignore"):
        r = _ns(a).sqrt(a.var(axis=dims, ddof=corr, keepdims=keepdim)) if count - corr > 0 else \
            _ns(a).full(_keep_shape(a.shape, dims) if keepdim else tuple(s for i, s in enumerate(a.shape) if i not in dims), np.nan, a.dtype)
    t = _wrap(_res(r.astype(a.dtype, copy=False)))
    if _gs.enabled and input._rg:
        n = new_node(StdBackward0)
        n.dims, n.correction, n.keepdim, n.count = dims, corr, keepdim, count
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


class LinalgVectorNormBackward0(Node):
    __slots__ = ("ord", "dims", "keepdim")
    formula = "LinalgVectorNormBackward0: self: grad * self * |self|^(p-2) / norm^(p-1)  (p=2: grad * self / norm)"
    saved_names = ("self", "result")
    saved_attrs = ("ord", "dims", "keepdim")

    def backward(self, g):
        x, r = self.saved
        p = self.ord
        if not self.keepdim and self.dims is not None:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        if p == 0:
            return zeros_like(x)
        if p == 1:
            return g * sign(x)
        if p == 2:
            return where(eq(r, 0), zeros_like(r), g / r) * x
        if math.isinf(p):
            m = eq(abs(x), r)
            return sign(x) * _scale_by_count(g, m, self.dims if self.dims is not None else tuple(range(x.ndim)))
        return where(eq(r, 0), zeros_like(r), g / pow(r, p - 1)) * x * pow(abs(x), p - 2)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over all elements or over `dim` ("fro" means 2)."""
    if p == "fro" or p is None:
        p = 2
    if _isinst(p, str):
        raise RuntimeError(f"norm: unsupported p={p!r}")
    a = input._a
    if a.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {input.dtype.name.capitalize()}")
    dims = _dims(dim, a.ndim) if dim is not None else None
    ax = dims if dims is not None else None
    aa = _ns(a).abs(a)
    if p == 2:
        r = _ns(a).sqrt((a * a).sum(axis=ax, keepdims=keepdim))
    elif p == 1:
        r = aa.sum(axis=ax, keepdims=keepdim)
    elif math.isinf(p):
        r = aa.max(axis=ax, keepdims=keepdim) if p > 0 else aa.min(axis=ax, keepdims=keepdim)
    elif p == 0:
        r = (a != 0).sum(axis=ax, keepdims=keepdim).astype(a.dtype)
    else:
        r = (aa ** p).sum(axis=ax, keepdims=keepdim) ** (1.0 / p)
    r = _res(r)
    t = _wrap(r if r.dtype == a.dtype else r.astype(a.dtype))
    if _gs.enabled and input._rg:
        n = new_node(LinalgVectorNormBackward0)
        n.ord, n.dims, n.keepdim = p, dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class LogsumexpBackward0(Node):
    __slots__ = ("dims", "keepdim")
    formula = "LogsumexpBackward0: self: grad * exp(self - result)"
    saved_names = ("self", "result")
    saved_attrs = ("dims", "keepdim")

    def backward(self, g):
        x, r = self.saved
        if not self.keepdim:
            shape = _keep_shape(x.shape, self.dims)
            g, r = g.reshape(shape), r.reshape(shape)
        return g * exp(x - r)


def logsumexp(input, dim, keepdim=False):
    a = _float_array(input._a)
    dims = _dims(dim, a.ndim)
    xp = _ns(a)
    if a.size == 0:
        r = xp.log(xp.exp(a).sum(axis=dims, keepdims=keepdim))
    else:
        m = a.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        r = xp.log(xp.exp(a - m).sum(axis=dims, keepdims=True)) + m
        if not keepdim:
            r = r.squeeze(dims) if dims else r
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(LogsumexpBackward0)
        n.dims, n.keepdim = dims, keepdim
        _finish(t, n, (input,))
        n._saved = (input, _SavedOutput(t))
        n._sver = (input._ver[0], 0)
    return t


class SoftmaxBackward0(Node):
    __slots__ = ("dim",)
    formula = "SoftmaxBackward0: self: result * (grad - (grad * result).sum(dim, keepdim=True))"
    saved_names = ("result",)
    saved_attrs = ("dim",)

    def backward(self, g):
        r, = self.saved
        return r * (g - (g * r).sum(self.dim, keepdim=True))


class LogSoftmaxBackward0(Node):
    __slots__ = ("dim",)
    formula = "LogSoftmaxBackward0: self: grad - exp(result) * grad.sum(dim, keepdim=True)"
    saved_names = ("result",)
    saved_attrs = ("dim",)

    def backward(self, g):
        r, = self.saved
        return g - exp(r) * g.sum(self.dim, keepdim=True)


def _softmax_dim(dim, ndim):
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1   # PyTorch's legacy implicit choice
    return _wdim(dim, ndim)


def softmax(input, dim=None, dtype=None, _stacklevel=3):
    a = input._a if dtype is None else input._a.astype(_dtype.to_np(dtype))
    a = _float_array(a)
    d = _softmax_dim(dim, a.ndim)
    xp = _ns(a)
    if a.ndim == 0:
        r = xp.ones_like(a)
    else:
        e = xp.exp(a - a.max(axis=d, keepdims=True))
        r = e / e.sum(axis=d, keepdims=True)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(SoftmaxBackward0)
        n.dim = d
        _finish(t, n, (input,))
        _save_result(n, t)
    return t


def log_softmax(input, dim=None, dtype=None, _stacklevel=3):
    a = input._a if dtype is None else input._a.astype(_dtype.to_np(dtype))
    a = _float_array(a)
    d = _softmax_dim(dim, a.ndim)
    xp = _ns(a)
    if a.ndim == 0:
        r = xp.zeros_like(a)
    else:
        s = a - a.max(axis=d, keepdims=True)
        r = s - xp.log(xp.exp(s).sum(axis=d, keepdims=True))
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(LogSoftmaxBackward0)
        n.dim = d
        _finish(t, n, (input,))
        _save_result(n, t)
    return t


def all(input, dim=None, keepdim=False):
    a = input._a
    return _wrap(_res(a.all() if dim is None else a.all(axis=_wdim(dim, a.ndim), keepdims=keepdim)))


def any(input, dim=None, keepdim=False):
    a = input._a
    return _wrap(_res(a.any() if dim is None else a.any(axis=_wdim(dim, a.ndim), keepdims=keepdim)))


def count_nonzero(input, dim=None):
    a = input._a
    return _wrap(_res(np.asarray(np.count_nonzero(a, axis=dim)).astype(np.int64)))


# ============================================================================ linear algebra
class MmBackward0(Node):
    __slots__ = ()
    formula = "MmBackward0: self: grad.mm(mat2.t()), mat2: self.t().mm(grad)"
    saved_names = ("self", "mat2")

    def backward(self, g):
        a, b = self.saved
        n = self._next
        return (g.mm(b.t()) if n[0][0] is not None else None,
                a.t().mm(g) if n[1][0] is not None else None)


class BmmBackward0(Node):
    __slots__ = ()
    formula = "BmmBackward0: self: grad.bmm(mat2.transpose(1, 2)), mat2: self.transpose(1, 2).bmm(grad)"
    saved_names = ("self", "mat2")

    def backward(self, g):
        a, b = self.saved
        n = self._next
        return (g.bmm(b.transpose(1, 2)) if n[0][0] is not None else None,
                a.transpose(1, 2).bmm(g) if n[1][0] is not None else None)


class MvBackward0(Node):
    __slots__ = ()
    formula = "MvBackward0: self: outer(grad, vec), vec: self.t().mv(grad)"
    saved_names = ("self", "vec")

    def backward(self, g):
        a, v = self.saved
        n = self._next
        return (outer(g, v) if n[0][0] is not None else None,
                a.t().mv(g) if n[1][0] is not None else None)


class DotBackward0(Node):
    __slots__ = ()
    formula = "DotBackward0: self: grad * tensor, tensor: grad * self"
    saved_names = ("self", "tensor")

    def backward(self, g):
        a, b = self.saved
        n = self._next
        return (g * b if n[0][0] is not None else None,
                g * a if n[1][0] is not None else None)


def _mm_like(cls, a, b, r):
    t = _wrap(_res(r))
    if _needs(a, b):
        n = new_node(cls)
        _finish(t, n, (a, b), (a if b._rg else None, b if a._rg else None))
    return t


def _check_mm(a, b, what):
    if a._a.dtype != b._a.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.dtype} != {b.dtype}")
    if type(a._a) is not type(b._a):
        check_same_device(a._a, b._a)


def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    _check_mm(input, mat2, "mm")
    if input._a.shape[1] != mat2._a.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input._a.shape[0]}x{input._a.shape[1]} "
                           f"and {mat2._a.shape[0]}x{mat2._a.shape[1]})")
    return _mm_like(MmBackward0, input, mat2, input._a @ mat2._a)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    _check_mm(input, mat2, "bmm")
    return _mm_like(BmmBackward0, input, mat2, _ns(input._a).matmul(input._a, mat2._a))


def mv(input, vec):
    _check_mm(input, vec, "mv")
    if input.ndim != 2 or vec.ndim != 1 or input._a.shape[1] != vec._a.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input._a.shape[0]}), mat ({input._a.shape[0]}x"
                           f"{input._a.shape[-1]}), vec ({vec._a.shape[0]})")
    return _mm_like(MvBackward0, input, vec, input._a @ vec._a)


def dot(input, tensor):
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    if input._a.shape[0] != tensor._a.shape[0]:
        raise RuntimeError("inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number "
                           "of elements, but got %d and %d elements respectively"
                           % (input._a.shape[0], tensor._a.shape[0], input._a.shape[0], tensor._a.shape[0]))
    _check_mm(input, tensor, "dot")
    return _mm_like(DotBackward0, input, tensor, _ns(input._a).dot(input._a, tensor._a))


inner = dot


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2


ger = outer


class UnsafeViewBackward0(Node):
    __slots__ = ("shape",)
    formula = "UnsafeViewBackward0: self: grad.reshape(self.shape)"

    def backward(self, g):
        return g.reshape(self.shape)


def _unsafe_view(x, shape):
    t = _wrap(x._a.reshape(shape))
    if _gs.enabled and x._rg:
        n = new_node(UnsafeViewBackward0)
        n.shape = x._a.shape
        _finish(t, n, (x,))
    return t


def _should_fold(t1, t2):
    larger = t1.ndim >= t2.ndim
    a = t1 if larger else t2.mT
    dim_other = t2.ndim if larger else t1.ndim
    if not (a.ndim >= 3 and dim_other <= 2):
        return False
    other_rg = t2._rg if larger else t1._rg
    if other_rg and _gs.enabled:
        return True
    if t1.ndim == 2:
        return False
    if a.numel() == 0:
        return True
    st, sh = a.stride(), a.shape
    for i in range(a.ndim - 2):
        if st[i] != st[i + 1] * sh[i + 1]:
            return False
    return True


def matmul(input, other):
    """Matrix product with NumPy/PyTorch rules for 1-D, 2-D and batched operands."""
    if _gs.autocast:
        from .amp import autocast_matmul
        return autocast_matmul(input, other)
    d1, d2 = input.ndim, other.ndim
    if d1 == 0 or d2 == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {d1}D and {d2}D")
    if not (_needs(input, other)):
        xa, ya = input._a, other._a
        if xa.dtype != ya.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {input.dtype} != {other.dtype}")
        try:
            return _wrap(_res(xa @ ya))
        except ValueError:
            _matmul_shape_error(input, other)
    if d1 == 1 and d2 == 1:
        return dot(input, other)
    if d1 == 2 and d2 == 1:
        return mv(input, other)
    if d1 == 1 and d2 == 2:
        return _squeeze_(input.unsqueeze(0).mm(other), 0)
    if d1 == 2 and d2 == 2:
        return mm(input, other)
    if _should_fold(input, other):
        transpose = d2 > d1
        t1 = other.mT if transpose else input
        t2 = (input.t() if d1 == 2 else input) if transpose else other
        sizes = t1.shape
        out_shape = list(sizes[:-1])
        folded = 1
        for s in out_shape:
            folded *= s
        if t2.ndim == 2:
            out_shape.append(t2.shape[1])
        t1f = t1.reshape(folded, sizes[-1])
        if t2.ndim == 2:
            if t1f.shape[1] != t2.shape[0]:
                _matmul_shape_error(input, other)
            o = _unsafe_view(t1f.mm(t2), tuple(out_shape))
            return o.mT.contiguous() if transpose else o
        return _unsafe_view(t1f.mv(t2), tuple(out_shape))
    n = input.shape[-2] if d1 > 1 else 1
    m1 = input.shape[-1]
    batch_a = tuple(input.shape[:-2]) if d1 > 2 else ()
    m2 = other.shape[-2] if d2 > 1 else other.shape[0]
    p = other.shape[-1] if d2 > 1 else 1
    batch_b = tuple(other.shape[:-2]) if d2 > 2 else ()
    if m1 != m2:
        _matmul_shape_error(input, other)
    batch = tuple(np.broadcast_shapes(batch_a, batch_b))
    bp = 1
    for s in batch:
        bp *= s
    t1 = input.unsqueeze(0) if d1 == 1 else input
    t2 = other.unsqueeze(-1) if d2 == 1 else other
    e1 = t1.expand(batch + (n, m1)).reshape(bp, n, m1)
    e2 = t2.expand(batch + (m2, p)).reshape(bp, m2, p)
    out_shape = batch + ((n,) if d1 > 1 else ()) + ((p,) if d2 > 1 else ())
    return _unsafe_view(e1.bmm(e2), out_shape)


def _matmul_shape_error(a, b):
    raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[-2] if a.ndim > 1 else 1}x"
                       f"{a.shape[-1]} and {b.shape[-2] if b.ndim > 1 else b.shape[0]}x{b.shape[-1] if b.ndim > 1 else 1})")


# ============================================================================ views and shapes
def _mark_view(t, x, kind=None):
    """Make t a view of x: it shares x's version counter and root base. kind "multi" marks an
    output of split/unbind; a view made under no_grad is marked "no_grad" (PyTorch's creation
    meta: such views may not see an in-place change of their base, see _regen_view) and requires
    grad when its base does, with no grad_fn (_e gives it no edge). While the base does not require
    grad it keeps a weak reference to t, for _wake_views."""
    if x._base is not None and x._vv != x._ver[0] and _gs.enabled:
        _regen_view(x)
    b = x._base if x._base is not None else x
    t._ver = x._ver
    t._base = b
    t._vv = x._ver[0]
    if not b._rg:                      # remember t weakly in case b gains grad in place
        bx = b._x
        vs = bx.get("views") if bx is not None else None
        if vs is None:
            _track_view(b, t)
        else:
            vs.append(_wref(t))
            if len(vs) >= vs.cap:
                _prune_views(vs)
    if not _gs.enabled:
        kind = "no_grad"
        if b._rg:                      # PyTorch: a view requires grad when its base does
            t._rg = True
    elif kind is None and x is not b and x._x is not None:
        kind = x._x.get("view_meta")   # a view of a view keeps its creation meta (propagate_creation_meta)
    if kind is not None:
        t._x = {"view_meta": kind}


class _LiveViews(list):
    """Weak references to the views of a base that does not require grad, kept so that an in-place
    op giving the base requires_grad can set it on them too (_wake_views): ops read `v._rg` directly.
    Dead references are dropped whenever the list doubles past the live count."""
    __slots__ = ("cap",)


_wref = weakref.ref


def _track_view(b, t):
    """The first view of b that _mark_view remembers."""
    vs = b._extra()["views"] = _LiveViews((_wref(t),))
    vs.cap = 64


def _prune_views(vs):
    vs[:] = [r for r in vs if r() is not None]
    vs.cap = 2 * len(vs) + 64


def _wake_views(b):
    """b (a base) now requires grad: so do its views, whose grad_fn then regenerates lazily."""
    vs = b._x.pop("views", None)
    if vs:
        for r in vs:
            v = r()
            if v is not None:
                v._rg = True


def _view_of(x, a, cls, attrs=None):
    """A view result: shares x's version counter; records cls when grad is needed."""
    t = _wrap(a)
    _mark_view(t, x)
    if _gs.enabled and x._rg:
        n = new_node(cls)
        if attrs:
            for k, v in attrs.items():
                setattr(n, k, v)
        _finish(t, n, (x,))
    return t


class ViewBackward0(Node):
    __slots__ = ("shape",)
    formula = "ViewBackward0: self: grad.reshape(self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.reshape(self.shape)


def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(shape):
    if len(shape) == 1 and _isinst(shape[0], (tuple, list, Size)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


class ReshapeAliasBackward0(Node):
    """reshape of a non-contiguous tensor whose strides allow a view (PyTorch's _reshape_alias)."""
    __slots__ = ("shape",)
    formula = "ReshapeAliasBackward0: self: grad.reshape(self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return g.reshape(self.shape)


def reshape(input, *shape):
    """As PyTorch: a contiguous tensor is viewed (ViewBackward0), another one aliased where its
    strides allow (ReshapeAliasBackward0), else cloned and then _unsafe_view'ed."""
    shape = _infer_shape(_shape_args(shape), input._a.size)
    a = input._a
    if a.shape == shape and not (_gs.enabled and input._rg):
        return _view_of(input, a.view(), ViewBackward0)
    r = a.view()
    try:
        r.shape = shape
    except AttributeError:   # not expressible as a view: PyTorch clones, then _unsafe_view
        if _gs.enabled and input._rg:
            return _unsafe_view(clone(input), shape)
        return _wrap(a.reshape(shape))
    cls = ViewBackward0 if a.flags.c_contiguous else ReshapeAliasBackward0
    return _view_of(input, r, cls, {"shape": a.shape})


def view(input, *shape):
    if len(shape) == 1 and (_isinst(shape[0], _dtype.dtype) or shape[0] in (float, int)):
        return _wrap(input._a.view(_dtype.to_np(shape[0])))
    shape = _infer_shape(_shape_args(shape), input._a.size)
    a = input._a
    try:
        r = a.view()
        r.shape = shape
    except AttributeError:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                           "dimension spans across two contiguous subspaces). Use .reshape(...) instead.") from None
    return _view_of(input, r, ViewBackward0, {"shape": a.shape})


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = _wdim(start_dim, nd), _wdim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    sh = input.shape
    new = tuple(sh[:s]) + (int(np.prod(sh[s:e + 1])),) + tuple(sh[e + 1:])
    return reshape(input, new)


def unflatten(input, dim, sizes):
    d = _wdim(dim, input.ndim)
    sh = list(input.shape)
    sizes = list(_infer_shape(sizes, sh[d]))
    return view(input, tuple(sh[:d] + sizes + sh[d + 1:]))     # splitting a dim is always a view


def ravel(input):
    return view(contiguous(input), -1)      # as PyTorch: CloneBackward0 then ViewBackward0 when strided


class TransposeBackward0(Node):
    __slots__ = ("dim0", "dim1")
    formula = "TransposeBackward0: self: grad.transpose(dim0, dim1)"
    saved_attrs = ("dim0", "dim1")

    def backward(self, g):
        return g.transpose(self.dim0, self.dim1)


class TBackward0(Node):
    __slots__ = ()
    formula = "TBackward0: self: grad.t()"

    def backward(self, g):
        return g.t()


class PermuteBackward0(Node):
    __slots__ = ("dims",)
    formula = "PermuteBackward0: self: grad.permute(inverse(dims))"
    saved_attrs = ("dims",)

    def backward(self, g):
        return g.permute(tuple(np.argsort(self.dims)))


def transpose(input, dim0, dim1):
    nd = input.ndim
    d0, d1 = _wdim(dim0, nd), _wdim(dim1, nd)
    return _view_of(input, input._a.swapaxes(d0, d1) if nd else input._a.view(), TransposeBackward0,
                    {"dim0": d0, "dim1": d1})


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return _view_of(input, input._a.T, TBackward0)


def permute(input, *dims):
    dims = _shape_args(dims)
    nd = input.ndim
    if len(dims) != nd:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
                           f"to len(dims) = {len(dims)}")
    dims = tuple(_wdim(d, nd) for d in dims)
    return _view_of(input, input._a.transpose(dims), PermuteBackward0, {"dims": dims})


def _T(x):
    return permute(x, tuple(range(x.ndim - 1, -1, -1)))


def _mT(x):
    if x.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return transpose(x, -2, -1)


class SqueezeBackward0(Node):
    __slots__ = ("shape",)
    formula = "SqueezeBackward0: self: grad.reshape(self.shape)"

    def backward(self, g):
        return g.reshape(self.shape)


class SqueezeBackward1(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward1: self: grad.unsqueeze(dim) (if it was squeezed)"


class SqueezeBackward2(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward2: self: grad.reshape(self.shape)"


class SqueezeBackward4(SqueezeBackward0):
    __slots__ = ()
    formula = "SqueezeBackward4: self: grad.reshape(self.shape)"


def squeeze(input, dim=None):
    a = input._a
    if dim is None:
        return _view_of(input, a.squeeze(), SqueezeBackward0, {"shape": a.shape})
    if _isinst(dim, (tuple, list)):
        dims = tuple(d for d in _dims(dim, a.ndim) if a.shape[d] == 1)
        return _view_of(input, a.squeeze(dims) if dims else a.view(), SqueezeBackward2, {"shape": a.shape})
    d = _wdim(dim, a.ndim)
    r = a.squeeze(d) if a.ndim and a.shape[d] == 1 else a.view()
    return _view_of(input, r, SqueezeBackward1, {"shape": a.shape})


def _squeeze_(x, dim):
    """In-place squeeze on a fresh result (PyTorch's squeeze_ inside matmul: SqueezeBackward4)."""
    a = x._a
    r = a.squeeze(dim) if a.shape[dim] == 1 else a
    return _view_of(x, r, SqueezeBackward4, {"shape": a.shape})


class UnsqueezeBackward0(Node):
    __slots__ = ("dim",)
    formula = "UnsqueezeBackward0: self: grad.squeeze(dim)"
    saved_attrs = ("dim",)

    def backward(self, g):
        return g.squeeze(self.dim)


def unsqueeze(input, dim):
    nd = input.ndim
    if not -nd - 1 <= dim <= nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd - 1}, {nd}], but got {dim})")
    d = dim % (nd + 1)
    return _view_of(input, _ns(input._a).expand_dims(input._a, d), UnsqueezeBackward0, {"dim": d})


class ExpandBackward0(Node):
    __slots__ = ("shape",)
    formula = "ExpandBackward0: self: sum_to(grad, self.shape)"
    saved_attrs = ("shape",)

    def backward(self, g):
        return sum_to(g, self.shape)


def expand(input, *sizes):
    sizes = _shape_args(sizes)
    a = input._a
    nd = len(sizes)
    if nd < a.ndim:
        raise RuntimeError(f"expand(torch.FloatTensor{{[{', '.join(map(str, a.shape))}]}}, size=[{', '.join(map(str, sizes))}]): "
                           f"the number of sizes provided ({nd}) must be greater or equal to the number of dimensions in "
                           f"the tensor ({a.ndim})")
    lead = nd - a.ndim
    shape = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            shape.append(s)
        else:
            cur = a.shape[i - lead]
            if s == -1:
                s = cur
            elif cur != 1 and s != cur:
                raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                                   f"non-singleton dimension {i}.  Target sizes: [{', '.join(map(str, sizes))}].  "
                                   f"Tensor sizes: [{', '.join(map(str, a.shape))}]")
            shape.append(s)
    xp = xp_of(a)
    return _view_of(input, xp.broadcast_to(a, tuple(shape)), ExpandBackward0, {"shape": a.shape})


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, shape)


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


class AliasBackward0(Node):
    __slots__ = ()
    formula = "AliasBackward0: self: grad"

    def backward(self, g):
        return g


class CloneBackward0(Node):
    __slots__ = ()
    formula = "CloneBackward0: self: grad"

    def backward(self, g):
        return g


def clone(input, *, memory_format=None):
    t = _wrap(input._a.copy())
    if _gs.enabled and input._rg:
        _finish(t, new_node(CloneBackward0), (input,))
    return t


def contiguous(input, memory_format=None):
    if input._a.flags.c_contiguous:
        return input
    return clone(input)


class ToCopyBackward0(Node):
    __slots__ = ("dtype", "device")
    formula = "ToCopyBackward0: self: grad.to(self.dtype, self.device)"

    def backward(self, g):
        return g.to(device=self.device, dtype=self.dtype)


def _to(input, dtype=None, device=None, copy=False):
    a = input._a
    npdt = _dtype.to_np(dtype) if dtype is not None else a.dtype
    src_dev = device_of(a)
    dev = _device(device) if device is not None else src_dev
    if npdt == a.dtype and dev == src_dev and not copy:
        return input
    r = a
    if dev != src_dev:
        r = to_device(r, dev)
    if npdt != r.dtype:
        r = r.astype(npdt)
    elif r is a:
        r = a.copy()
    t = _wrap(r)
    if _gs.enabled and input._rg:
        if npdt.kind != "f":
            return t
        n = new_node(ToCopyBackward0)
        n.dtype, n.device = a.dtype, src_dev
        _finish(t, n, (input,))
    return t


def to(input, *args, **kwargs):
    """to(dtype) / to(device) / to(device, dtype) / to(other_tensor), like Tensor.to."""
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    for a in args:
        if _isinst(a, _dtype.dtype) or a in (float, int, bool):
            dtype = a
        elif _isinst(a, Tensor):
            dtype, device = a.dtype, a.device
        elif _isinst(a, (str, _device, int)):
            device = a
    return _to(input, dtype, device, copy)


class CatBackward0(Node):
    __slots__ = ("dim", "sizes")
    formula = "CatBackward0: each input: grad.narrow(dim, offset, size)"
    saved_attrs = ("dim", "sizes")

    def backward(self, g):
        outs = []
        off = 0
        for (nxt, _), s in zip(self._next, self.sizes):
            outs.append(g.narrow(self.dim, off, s) if nxt is not None and s else
                        (zeros((0,), dtype=g.dtype) if nxt is not None else None))
            off += s
        return tuple(outs)


def cat(tensors, dim=0, *, out=None):
    tensors = [t for t in tensors]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    nonempty = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    ref = nonempty[0] if nonempty else tensors[0]
    d = _wdim(dim, ref.ndim)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    arrs = [t._a if t._a.dtype == dt.np else t._a.astype(dt.np) for t in nonempty] or [tensors[0]._a]
    for t in nonempty[1:]:
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for i in range(ref.ndim):
            if i != d and t.shape[i] != ref.shape[i]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ref.shape[i]} but got size {t.shape[i]} for tensor number "
                                   f"{tensors.index(t)} in the list.")
    xp = xp_of(arrs[0])
    r = xp.concatenate(arrs, axis=d)
    res = _wrap(_res(r))
    if _needs(*tensors):
        n = new_node(CatBackward0)
        n.dim = d
        n.sizes = tuple(t.shape[d] if t.ndim == ref.ndim else 0 for t in tensors)
        _finish(res, n, tensors)
    return _out(res, out)


concat = concatenate = cat


class StackBackward0(Node):
    __slots__ = ("dim", "count")
    formula = "StackBackward0: input i: grad.select(dim, i)"
    saved_attrs = ("dim",)

    def backward(self, g):
        return tuple(g.select(self.dim, i) if nxt is not None else None
                     for i, (nxt, _) in enumerate(self._next))


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    nd = tensors[0].ndim
    d = _wdim(dim, nd + 1) if not -nd - 1 <= dim < 0 else dim % (nd + 1)
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.promote_types(dt, t.dtype)
    arrs = [t._a if t._a.dtype == dt.np else t._a.astype(dt.np) for t in tensors]
    r = xp_of(arrs[0]).stack(arrs, axis=d)
    res = _wrap(_res(r))
    if _needs(*tensors):
        n = new_node(StackBackward0)
        n.dim, n.count = d, len(tensors)
        _finish(res, n, tensors)
    return _out(res, out)


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


class _MultiOut(Node):
    """A node with several outputs (split, unbind): missing gradients count as zeros."""
    __slots__ = ("shape", "dim", "pieces")

    def _apply(self, grads):
        ref = next(g for g in grads if g is not None)
        filled = [g if g is not None else zeros(_piece_shape(self.shape, self.dim, p), dtype=ref.dtype, device=ref.device)
                  for g, p in zip(grads, self.pieces)]
        return self.backward(filled)


def _piece_shape(shape, dim, p):
    s = list(shape)
    if p is None:
        del s[dim]
    else:
        s[dim] = p
    return tuple(s)


class SplitBackward0(_MultiOut):
    __slots__ = ()
    formula = "SplitBackward0: self: cat(grads, dim)"

    def backward(self, grads):
        return cat(grads, self.dim)


class SplitWithSizesBackward0(SplitBackward0):
    __slots__ = ()
    formula = "SplitWithSizesBackward0: self: cat(grads, dim)"


class UnbindBackward0(_MultiOut):
    __slots__ = ()
    formula = "UnbindBackward0: self: stack(grads, dim)"

    def backward(self, grads):
        return stack(grads, self.dim)


def _multi_view(x, arrays, cls, dim, pieces):
    outs = []
    for a in arrays:
        t = _wrap(a)
        _mark_view(t, x, "multi")
        outs.append(t)
    if _gs.enabled and x._rg:
        n = new_node(cls)
        n.shape, n.dim, n.pieces = x._a.shape, dim, pieces
        n._next = (_e(x),)
        n._meta = tuple((o._a.shape, o._a.dtype) for o in outs)
        n._saved = ()
        for i, o in enumerate(outs):
            o._node, o._nr, o._rg = n, i, True
    return tuple(outs)


def split(tensor, split_size_or_sections, dim=0):
    d = _wdim(dim, tensor.ndim)
    size = tensor.shape[d]
    if _isinst(split_size_or_sections, int):
        s = split_size_or_sections
        sizes = [s] * (size // s) + ([size % s] if size % s else []) if size else [0]
        cls = SplitBackward0
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                               f"size at dimension {d}), but got split_sizes={sizes}")
        cls = SplitWithSizesBackward0
    idx = [slice(None)] * tensor.ndim
    arrays, off = [], 0
    for s in sizes:
        idx[d] = slice(off, off + s)
        arrays.append(tensor._a[tuple(idx)])
        off += s
    return _multi_view(tensor, arrays, cls, d, sizes)


def chunk(input, chunks, dim=0):
    d = _wdim(dim, input.ndim)
    size = input.shape[d]
    each = -(-size // chunks) if chunks else size
    return split(input, builtins.max(each, 1), d)


def tensor_split(input, sections, dim=0):
    d = _wdim(dim, input.ndim)
    n = input.shape[d]
    if _isinst(sections, int):
        q, r = divmod(n, sections)
        sizes = [q + 1] * r + [q] * (sections - r)
    else:
        b = [0] + list(sections) + [n]
        sizes = [b[i + 1] - b[i] for i in range(len(b) - 1)]
    return split(input, sizes, d)


def unbind(input, dim=0):
    d = _wdim(dim, input.ndim)
    arrays = [input._a[(slice(None),) * d + (i,)] for i in range(input.shape[d])]
    return _multi_view(input, arrays, UnbindBackward0, d, [None] * len(arrays))


class FlipBackward0(Node):
    __slots__ = ("dims",)
    formula = "FlipBackward0: self: grad.flip(dims)"
    saved_attrs = ("dims",)

    def backward(self, g):
        return g.flip(self.dims)


def flip(input, *dims):
    dims = _shape_args(dims) if dims else ()
    dd = tuple(_wdim(d, input.ndim) for d in dims)
    t = _wrap(_res(_ns(input._a).flip(input._a, dd).copy() if dd else input._a.copy()))
    if _gs.enabled and input._rg:
        n = new_node(FlipBackward0)
        n.dims = dd
        _finish(t, n, (input,))
    return t


def fliplr(input):
    return flip(input, 1)


def flipud(input):
    return flip(input, 0)


class RepeatBackward0(Node):
    __slots__ = ("shape", "repeats")
    formula = "RepeatBackward0: self: grad summed over the tiles"

    def backward(self, g):
        lead = len(self.repeats) - len(self.shape)
        shp = []
        for i, r in enumerate(self.repeats):
            s = self.shape[i - lead] if i >= lead else 1
            shp += [r, s]
        g = g.reshape(tuple(shp)).sum(tuple(range(0, 2 * len(self.repeats), 2)))
        return g.reshape(self.shape)


def repeat(input, *sizes):
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    a = input._a.reshape((1,) * (len(sizes) - input.ndim) + input._a.shape)
    t = _wrap(_ns(a).tile(a, sizes))
    if _gs.enabled and input._rg:
        n = new_node(RepeatBackward0)
        n.shape, n.repeats = input._a.shape, sizes
        _finish(t, n, (input,))
    return t


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats, dim=None):
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = _wdim(dim, input.ndim)
    idx = np.repeat(np.arange(input.shape[d]), repeats._a if _isinst(repeats, Tensor) else repeats)
    return index_select(input, d, _wrap(idx.astype(np.int64)))


def narrow(input, dim, start, length):
    d = _wdim(dim, input.ndim)
    if _isinst(start, Tensor):
        start = int(start.item())
    if start < 0:
        start += input.shape[d]
    if start < 0 or start + length > input.shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({input.shape[d]}).")
    return _slice(input, d, start, start + length, 1)


def select(input, dim, index):
    return _select(input, _wdim(dim, input.ndim), index)


def movedim(input, source, destination):
    src = [source] if _isinst(source, int) else list(source)
    dst = [destination] if _isinst(destination, int) else list(destination)
    nd = input.ndim
    src = [_wdim(s, nd) for s in src]
    dst = [_wdim(s, nd) for s in dst]
    order = [i for i in range(nd) if i not in src]
    perm = [None] * nd
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return permute(input, perm)


moveaxis = movedim


# ============================================================================ indexing
class SelectBackward0(Node):
    __slots__ = ("shape", "dim", "index")
    formula = "SelectBackward0: self: zeros(self.shape) with [dim=index] = grad"
    saved_attrs = ("dim", "index")

    def backward(self, g):
        return _index_fill_grad(g, self.shape, (slice(None),) * self.dim + (self.index,))


class SliceBackward0(Node):
    __slots__ = ("shape", "dim", "start", "end", "step")
    formula = "SliceBackward0: self: zeros(self.shape) with [dim, start:end:step] = grad"
    saved_attrs = ("dim", "start", "end", "step")

    def backward(self, g):
        return _index_fill_grad(g, self.shape, (slice(None),) * self.dim + (slice(self.start, self.end, self.step),))


class IndexBackward0(Node):
    __slots__ = ("shape", "key")
    formula = "IndexBackward0: self: zeros(self.shape).index_put_(indices, grad, accumulate=True)"
    saved_names = ("indices",)

    def backward(self, g):
        return _index_fill_grad(g, self.shape, self.key, accumulate=True)


class IndexPutBackwardGrad(Node):
    """Backward of the gradient-scatter used by select/slice/index backward (for double backward)."""
    __slots__ = ("key",)
    _name = "IndexPutBackward0"
    formula = "IndexPutBackward0: values: grad[indices]"

    def backward(self, g):
        return _index_raw(g, self.key)


def _index_fill_grad(g, shape, key, accumulate=False):
    """zeros(shape) with g written (or added, for repeated indices) at key; differentiable in g."""
    a = g._a
    xp = xp_of(a)
    z = xp.zeros(shape, dtype=a.dtype)
    if accumulate:
        if xp is np:
            np.add.at(z, key, a)
        else:
            import cupyx
            cupyx.scatter_add(z, key, a)
    else:
        z[key] = a
    t = _wrap(z)
    if _gs.enabled and g._rg:
        n = new_node(IndexPutBackwardGrad)
        n.key = key
        _finish(t, n, (g,))
    return t


class _IndexRaw(Node):
    __slots__ = ("shape", "key")
    _name = "IndexBackward0"
    formula = "IndexBackward0: self: zeros(self.shape).index_put_(indices, grad, accumulate=True)"

    def backward(self, g):
        return _index_fill_grad(g, self.shape, self.key, accumulate=True)


def _index_raw(x, key):
    """x[key] with a numpy key as one node (used inside backward formulas)."""
    t = _wrap(_res(x._a[key]))
    if _gs.enabled and x._rg:
        n = new_node(_IndexRaw)
        n.shape, n.key = x._a.shape, key
        _finish(t, n, (x,))
    return t


def _select(x, dim, index):
    size = x._a.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of bounds for dimension {dim} with size {size}")
    index = index % size
    return _view_of(x, x._a[(slice(None),) * dim + (index,)], SelectBackward0,
                    {"shape": x._a.shape, "dim": dim, "index": index})


def _slice(x, dim, start, stop, step):
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    size = x._a.shape[dim]
    s, e, st = slice(start, stop, step).indices(size)
    e = builtins.max(e, s)
    return _view_of(x, x._a[(slice(None),) * dim + (slice(s, e, st),)], SliceBackward0,
                    {"shape": x._a.shape, "dim": dim, "start": s, "end": e, "step": st})


def _index_array(i):
    if _isinst(i, Tensor):
        a = i._a
        if a.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a
    if _isinst(i, (list, tuple)):
        a = np.array([_index_array(v) if _isinst(v, Tensor) else v for v in i])
        if a.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return a
    return i


def _np_key(key):
    if not _isinst(key, tuple):
        key = (key,)
    return tuple(_index_array(k) if _isinst(k, (Tensor, list)) else
                 (int(k) if _isinst(k, np.integer) else k) for k in key)


def _is_adv(k):
    return _isinst(k, (Tensor, list, _ndarray)) or is_cuda_array(k)


def getitem(x, key):
    """x[key]: basic indexing gives views (Select/Slice/Unsqueeze nodes as PyTorch applies them);
    integer-array and boolean indexing give a copy (IndexBackward0)."""
    if x._base is not None and x._vv != x._ver[0] and _gs.enabled:
        _regen_view(x)
    if not (_gs.enabled and x._rg):
        k = _np_key(key)
        a = x._a
        try:
            r = a[k]
        except IndexError as e:
            raise IndexError(str(e)) from None
        if not _isinst(r, _ndarray) and not is_cuda_array(r):
            r = np.asarray(r)
            return _wrap(r)
        t = _wrap(r)
        if r.base is not None and not builtins.any(_is_adv(i) for i in k):
            _mark_view(t, x)
        return t
    single = not _isinst(key, tuple)
    items = (key,) if single else key
    if single and _isinst(key, slice):
        return _slice(x, 0, key.start, key.stop, key.step)
    specified = 0
    for k in items:
        if k is None or k is Ellipsis:
            continue
        if _isinst(k, Tensor) and k._a.dtype.kind == "b":
            specified += k.ndim
        elif _isinst(k, bool):
            continue
        else:
            specified += 1
    if specified > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    res = x
    dim = 0
    adv = []
    for k in items:
        if k is None:
            res = unsqueeze(res, dim)
            dim += 1
        elif k is Ellipsis:
            dim += x.ndim - specified
        elif _isinst(k, (int, np.integer)) and not _isinst(k, bool):
            res = _select(res, dim, int(k))
        elif _isinst(k, slice):
            full = k.start in (None, 0) and k.step in (None, 1) and (k.stop is None or k.stop >= res.shape[dim])
            if not full:
                res = _slice(res, dim, k.start, k.stop, k.step)
            dim += 1
        else:
            a = _index_array(k)
            if _isinst(k, Tensor) and a.ndim == 0 and a.dtype.kind in "iu":
                res = _select(res, dim, int(a))
                continue
            adv.append((dim, a))
            dim += a.ndim if a.dtype.kind == "b" else 1
    if adv:
        last = builtins.max(d for d, _ in adv)
        # a boolean index spans several dims: build the key positionally
        key2 = []
        pos = dict(adv)
        d = 0
        while d <= last:
            if d in pos:
                key2.append(pos[d])
                d += pos[d].ndim if pos[d].dtype.kind == "b" else 1
            else:
                key2.append(slice(None))
                d += 1
        k2 = tuple(key2)
        try:
            r = res._a[k2]
        except IndexError as e:
            raise IndexError(str(e)) from None
        t = _wrap(_res(r))
        n = new_node(IndexBackward0)
        n.shape, n.key = res._a.shape, k2
        _finish(t, n, (res,))
        n._saved = tuple(_wrap(a) for _, a in adv)
        n._sver = (0,) * len(adv)
        return t
    if res is x:
        return _view_of(x, x._a.view(), AliasBackward0)
    return res


class CopySlices(Node):
    __slots__ = ("key", "vshape")
    formula = "CopySlices: self: grad with [key] = 0, src: grad[key] summed to src.shape"

    def backward(self, g):
        n = self._next
        gs = _masked_zero(g, self.key) if n[0][0] is not None else None
        gv = None
        if n[1][0] is not None:
            gv = sum_to(_index_raw(g, self.key), self.vshape)
        return gs, gv


class IndexPutBackward0(CopySlices):
    __slots__ = ()
    formula = "IndexPutBackward0: self: grad with [indices] = 0, values: grad[indices]"


class _MaskedZero(Node):
    __slots__ = ("key",)
    _name = "IndexPutBackward0"
    formula = "IndexPutBackward0: self: grad with [indices] = 0"

    def backward(self, g):
        return _masked_zero(g, self.key)


def _masked_zero(g, key):
    a = g._a.copy()
    a[key] = 0
    t = _wrap(a)
    if _gs.enabled and g._rg:
        n = new_node(_MaskedZero)
        n.key = key
        _finish(t, n, (g,))
    return t


def _setitem(x, key, value):
    """x[key] = value, in place (CopySlices / IndexPutBackward0 when autograd records it)."""
    k = _np_key(key)
    is_t = _isinst(value, Tensor)
    rec = _gs.enabled and (x._rg or (is_t and value._rg))
    _check_inplace(x, value)
    if is_t:
        va = value._a
        if va.dtype != x._a.dtype:
            va = va.astype(x._a.dtype)
        if type(va) is not type(x._a):
            if va.ndim == 0:
                va = va.item()
            else:
                check_same_device(x._a, va)
    else:
        va = value
    if not rec:
        x._a[k] = va
        x._ver[0] += 1
        return
    old = _e(x)
    x._a[k] = va
    adv = builtins.any(_is_adv(i) for i in k)
    n = new_node(IndexPutBackward0 if adv and not builtins.any(
        _isinst(i, (int, slice)) for i in k) else CopySlices)
    n.key = k
    n.vshape = value._a.shape if is_t else ()
    n._next = (old, _e(value) if is_t else _NONE_EDGE)
    n._meta = ((x._a.shape, x._a.dtype),)
    n._saved = ()
    _rebase(x, n)


def _rebase(x, node, nr=0, bump=True, view=True):
    """Make node the grad_fn of x after an in-place change; retain_grad moves to the new node.

    When x is a view, its base's history is rebased too (PyTorch's CopySlices): the base's
    new grad_fn sends grad[region] to x's new node and grad with the region zeroed to the
    base's old grad_fn; x's grad_fn becomes AsStridedBackward0 of the base.
    """
    if x.retains_grad and x._node is not None:
        old = x._node._x.get("retain", {}) if x._node._x else {}
        ref = old.pop(x._nr, None)
        if ref is not None:
            node._extra().setdefault("retain", {})[nr] = ref
    if not x._rg and x._base is None and x._x is not None:
        _wake_views(x)
    x._node, x._nr, x._rg = node, nr, True
    if bump:
        x._ver[0] += 1
    if x._base is not None:
        x._vv = x._ver[0]
        if view:
            _rebase_view(x)


class AsStridedBackward0(Node):
    __slots__ = ("shape", "key")
    formula = "AsStridedBackward0: self: zeros(self.shape) with the view's elements += grad"

    def backward(self, g):
        return _index_fill_grad(g, self.shape, self.key, accumulate=True)


def _array_ptr(a):
    return a.__array_interface__["data"][0] if type(a) is _ndarray else a.data.ptr


def _view_key(base_a, view_a):
    """Index arrays (one per base dim) of the base elements that view_a looks at."""
    isz = base_a.itemsize
    off = (_array_ptr(view_a) - _array_ptr(base_a)) // isz
    if base_a.flags.c_contiguous:
        flat = np.arange(base_a.size, dtype=np.int64)[off:]
        idx = np.lib.stride_tricks.as_strided(flat, view_a.shape, tuple(st // isz * 8 for st in view_a.strides))
        return np.unravel_index(idx, base_a.shape)
    # any layout: match each view element's memory offset to the base element at that offset
    base_off = _item_offsets(base_a.shape, base_a.strides, 0, isz).ravel()
    order = np.argsort(base_off, kind="stable")
    pos = np.searchsorted(base_off, _item_offsets(view_a.shape, view_a.strides, off, isz), sorter=order)
    return np.unravel_index(order[pos], base_a.shape)


def _item_offsets(shape, strides, start, isz):
    """Memory offset (in items) of every element of an array with this shape and byte strides."""
    out = np.full(shape, start, dtype=np.int64)
    for d, (n, st) in enumerate(zip(shape, strides)):
        out += (np.arange(n, dtype=np.int64) * (st // isz)).reshape((n,) + (1,) * (len(shape) - d - 1))
    return out


class ViewCopySlices(Node):
    """CopySlices for an in-place op on a view: wraps the op's node `fn` (as PyTorch does).

    next_functions = (base's old grad_fn, fn's other inputs...); backward runs fn's formula on
    grad[view region] and writes its first result back into that region of the base's grad.
    """
    __slots__ = ("key", "fn", "shape", "vshape")
    _name = "CopySlices"
    formula = "CopySlices: base: grad with grad[view] = fn'(grad[view]), others: fn's grads on grad[view]"

    def _apply(self, grads):
        if self._saved is None and self.fn._saved:   # the engine freed this node: free fn too
            self.fn._saved = None
        g = grads[0]
        res = self.fn._apply([_index_raw(g, self.key)])
        if type(res) is not tuple:
            res = (res,)
        gb = None
        if self._next[0][0] is not None:
            gb = _masked_zero(g, self.key)
            r0 = res[0]
            if r0 is not None:
                gb = gb + _index_fill_grad(sum_to(r0, self.vshape), self.shape, self.key, accumulate=True)
        return (gb,) + tuple(res[1:])

    def saved_values(self):
        return self.fn.saved_values()


def _rebase_view(v):
    base = v._base
    B = base._a
    key = _view_key(B, v._a)
    fn = v._node
    n = new_node(ViewCopySlices)
    n.key, n.fn, n.shape, n.vshape = key, fn, B.shape, v._a.shape
    n._next = (_e(base),) + tuple(fn._next[1:])
    n._meta = ((B.shape, B.dtype),)
    n._saved = (fn,)          # non-empty so that the engine's release marks this node freed
    n._sver = (None,)
    _rebase(base, n, 0, bump=False, view=False)
    vn = new_node(AsStridedBackward0)
    vn.shape, vn.key = B.shape, key
    vn._next = ((n, 0),)
    vn._meta = ((v._a.shape, v._a.dtype),)
    vn._saved = ()
    _rebase(v, vn, 0, bump=False, view=False)


def _check_inplace(x, *others):
    """PyTorch's check_inplace, in its order; others: the op's other inputs (their requires_grad counts)."""
    if _gs.enabled:
        b = x._base
        if b is not None and x._vv != x._ver[0]:
            _regen_view(x)
        if b is not None:
            if x._x is not None and x._x.get("view_meta") and (
                    x._rg or b._rg or builtins.any(_isinst(o, Tensor) and o._rg for o in others)):
                raise RuntimeError(_view_meta_error(x, "is being"))
            if b._node is None and b._rg:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
        if x._node is None and x._rg:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


def _view_meta_error(v, modified):
    """PyTorch's message for an in-place change a view's creation forbids (handle_view_on_rebase)."""
    kind, n = v._x["view_meta"], v._node
    if n is not None:
        name = n.name()
        name = name[:name.rindex("Backward")] if "Backward" in name else name
    if kind == "no_grad" or n is None:
        head = f"Output {v._nr} of {name} is a view of a view which was created in" if n is not None else \
            "A view was created in"
        msg = f"{head} no_grad mode and {modified} modified inplace with grad mode enabled."
    else:
        msg = f"Output {v._nr} of {name} is a view and {modified} modified inplace."
    if kind == "multi":
        return (msg + " This view is the output of a function that returns multiple views. Such functions do not "
                "allow the output views to be modified inplace. You should replace the inplace operation by an "
                "out-of-place one.")
    return (msg + " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
            "code by moving both the view and the inplace either both inside the no_grad block (if you don't "
            "want the inplace to be tracked) or both outside (if you want the inplace to be tracked).")


def _regen_view(v):
    """Regenerate the grad_fn of view v after its base or another view of it changed in place
    (v's version stamp lags the shared counter): AsStridedBackward0 over the base's grad_fn,
    as PyTorch does on the next access of v.grad_fn (VariableHooks::grad_fn). Called from
    _e/_needs, view ops, indexing, in-place checks and Tensor's autograd properties. A view
    whose base gained requires_grad through the in-place change already has `_rg` set (the
    base remembers its views while it does not require grad: _mark_view, _wake_views)."""
    base = v._base
    if v._node is None and not base._rg:
        return
    if v._x is not None and v._x.get("view_meta"):
        raise RuntimeError(_view_meta_error(v, "its base or another view of its base has been"))
    B = base._a
    n = new_node(AsStridedBackward0)
    n.shape, n.key = B.shape, _view_key(B, v._a)
    n._next = (_e(base),)
    n._meta = ((v._a.shape, v._a.dtype),)
    n._saved = ()
    _rebase(v, n, 0, bump=False, view=False)


class GatherBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "GatherBackward0: self: zeros(self.shape).scatter_add(dim, index, grad)"
    saved_names = ("index",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        return zeros(self.shape, dtype=g.dtype, device=g.device).scatter_add(self.dim, idx, g)


def gather(input, dim, index, *, sparse_grad=False):
    d = _wdim(dim, input.ndim)
    ia = index._a
    if ia.dtype.kind not in "iu":
        raise RuntimeError("gather(): Expected dtype int64 for index")
    if ia.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    a = input._a
    src = a[tuple(slice(0, s) if i != d else slice(None) for i, s in enumerate(ia.shape))]
    r = np.take_along_axis(src, ia, d) if type(a) is _ndarray else xp_of(a).take_along_axis(src, ia, d)
    t = _wrap(_res(r))
    if _gs.enabled and input._rg:
        n = new_node(GatherBackward0)
        n.shape, n.dim = a.shape, d
        _finish(t, n, (input,), (index,))
    return t


class ScatterAddBackward0(Node):
    __slots__ = ("dim",)
    formula = "ScatterAddBackward0: self: grad, src: grad.gather(dim, index)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        n = self._next
        return (g if n[0][0] is not None else None,
                g.gather(self.dim, idx) if n[1][0] is not None else None)


class ScatterBackward0(Node):
    __slots__ = ("dim",)
    formula = "ScatterBackward0: self: grad.scatter(dim, index, 0), src: grad.gather(dim, index)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        n = self._next
        return (g.scatter(self.dim, idx, 0.0) if n[0][0] is not None else None,
                g.gather(self.dim, idx) if n[1][0] is not None else None)


def _scatter_idx(ia, d):
    grids = np.indices(ia.shape, sparse=True) if type(ia) is _ndarray else xp_of(ia).indices(ia.shape, sparse=True)
    grids = list(grids)
    grids[d] = ia
    return tuple(grids)


def scatter_add(input, dim, index, src):
    d = _wdim(dim, input.ndim)
    r = input._a.copy()
    ia = index._a
    key = _scatter_idx(ia, d)
    sv = src._a[tuple(slice(0, s) for s in ia.shape)]
    if type(r) is _ndarray:
        np.add.at(r, key, sv)
    else:
        import cupyx
        cupyx.scatter_add(r, key, sv)
    t = _wrap(r)
    if _needs(input, src):
        n = new_node(ScatterAddBackward0)
        n.dim = d
        _finish(t, n, (input, src), (index,))
    return t


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if src is None:
        src = value
    d = _wdim(dim, input.ndim)
    r = input._a.copy()
    ia = index._a
    key = _scatter_idx(ia, d)
    if _isinst(src, Tensor):
        r[key] = src._a[tuple(slice(0, s) for s in ia.shape)]
    else:
        r[key] = src
    t = _wrap(r)
    if _needs(input, src):
        n = new_node(ScatterBackward0)
        n.dim = d
        _finish(t, n, (input, src if _isinst(src, Tensor) else None), (index,))
    return t


class IndexSelectBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "IndexSelectBackward0: self: zeros(self.shape).index_add(dim, index, grad)"
    saved_names = ("index",)

    def backward(self, g):
        idx, = self.saved
        return _index_fill_grad(g, self.shape, (slice(None),) * self.dim + (idx._a,), accumulate=True)


def index_select(input, dim, index):
    d = _wdim(dim, input.ndim)
    ia = index._a.reshape(-1) if index.ndim else index._a.reshape(1)
    t = _wrap(_res(xp_of(input._a).take(input._a, ia, axis=d)))
    if _gs.enabled and input._rg:
        n = new_node(IndexSelectBackward0)
        n.shape, n.dim = input._a.shape, d
        _finish(t, n, (input,), (_wrap(ia),))
    return t


def take_along_dim(input, indices, dim):
    return gather(input, dim, indices)


class MaskedFillBackward0(Node):
    __slots__ = ()
    formula = "MaskedFillBackward0: self: grad.masked_fill(mask, 0), value: grad[mask].sum()"
    saved_names = ("mask",)

    def backward(self, g):
        m, = self.saved
        n = self._next
        z = zeros_like(g)
        gv = None
        if len(n) > 1 and n[1][0] is not None:
            gv = where(m, g, z).sum()
        return (where(m, z, g) if n[0][0] is not None else None,) + ((gv,) if len(n) > 1 else ())


def masked_fill(input, mask, value):
    m = mask._a
    if m.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    v = value._a if _isinst(value, Tensor) else value
    t = _wrap(_res(_ns(m).where(m, v, input._a).astype(input._a.dtype, copy=False)))
    if _needs(input, value):
        n = new_node(MaskedFillBackward0)
        ins = (input, value) if _isinst(value, Tensor) else (input,)
        _finish(t, n, ins, (mask,))
    return t


def masked_select(input, mask):
    return getitem(input.expand(np.broadcast_shapes(input.shape, mask.shape)) if input.shape != mask.shape else input,
                   mask.expand(np.broadcast_shapes(input.shape, mask.shape)) if input.shape != mask.shape else mask)


def nonzero(input, *, as_tuple=False):
    nz = np.nonzero(input._a) if type(input._a) is _ndarray else input._a.nonzero()
    if as_tuple:
        return tuple(_wrap(i.astype(np.int64)) for i in nz)
    xp = xp_of(input._a)
    return _wrap(xp.stack(nz, axis=1).astype(np.int64) if len(nz) else xp.zeros((0, 0), np.int64))


def argwhere(input):
    return nonzero(input)


class TrilBackward0(Node):
    __slots__ = ("diagonal",)
    formula = "TrilBackward0: self: grad.tril(diagonal)"

    def backward(self, g):
        return tril(g, self.diagonal)


class TriuBackward0(Node):
    __slots__ = ("diagonal",)
    formula = "TriuBackward0: self: grad.triu(diagonal)"

    def backward(self, g):
        return triu(g, self.diagonal)


def _tri(input, diagonal, lower):
    a = input._a
    xp = xp_of(a)
    t = _wrap((xp.tril if lower else xp.triu)(a, diagonal))
    if _gs.enabled and input._rg:
        n = new_node(TrilBackward0 if lower else TriuBackward0)
        n.diagonal = diagonal
        _finish(t, n, (input,))
    return t


def tril(input, diagonal=0):
    return _tri(input, diagonal, True)


def triu(input, diagonal=0):
    return _tri(input, diagonal, False)


class DiagonalBackward0(Node):
    """diagonal(input, offset, dim1, dim2): a view with the diagonal as its last dim (einsum's
    repeated labels take it too)."""
    __slots__ = ("self_sym_sizes", "offset", "dim1", "dim2")
    formula = "DiagonalBackward0: self: diagonal_backward(grad, self.sizes(), offset, dim1, dim2)"
    saved_attrs = ("self_sym_sizes", "offset", "dim1", "dim2")

    def backward(self, g):
        return _diagonal_backward(g, self.self_sym_sizes, self.offset, self.dim1, self.dim2)


class DiagonalBackward0_copy(DiagonalBackward0):
    """diag(2-D input): the diagonal as a new tensor (PyTorch records diagonal_copy's node)."""
    __slots__ = ()
    formula = "DiagonalBackward0_copy: self: diagonal_backward(grad, self.sizes(), offset, dim1, dim2)"


class DiagonalBackwardBackward0(Node):
    """diagonal_backward (zeros with grad on a diagonal), recorded by DiagonalBackward0's double backward."""
    __slots__ = ("offset", "dim1", "dim2")
    formula = "DiagonalBackwardBackward0: grad: grad.diagonal(offset, dim1, dim2)"
    saved_attrs = ("offset", "dim1", "dim2")

    def backward(self, g):
        return diagonal(g, self.offset, self.dim1, self.dim2)


class DiagEmbedBackward0(Node):
    __slots__ = ("offset", "dim1", "dim2")
    formula = "DiagEmbedBackward0: self: grad.diagonal(offset, dim1, dim2)"
    saved_attrs = ("offset", "dim1", "dim2")

    def backward(self, g):
        return diagonal(g, self.offset, self.dim1, self.dim2)


class TraceBackward0(Node):
    __slots__ = ("self_sym_sizes",)
    formula = "TraceBackward0: self: zeros(self.sizes()) with grad on the diagonal"
    saved_attrs = ("self_sym_sizes",)

    def backward(self, g):
        n = builtins.min(self.self_sym_sizes)
        return _diagonal_backward(g.expand(n), self.self_sym_sizes, 0, 0, 1)


def _diag_dims(ndim, offset, dim1, dim2):
    """Checked (offset, dim1, dim2) of a diagonal over an ndim-dim tensor, dims made non-negative."""
    d1, d2 = _wdim(dim1, ndim), _wdim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return int(offset), d1, d2


def _embed_diagonal(src, shape, offset, d1, d2):
    """Raw array: zeros of `shape` with src's last dim on the offset diagonal of dims d1, d2 (the
    other dims of src in order), C-contiguous. Written through a strided slice of a flat
    buffer, so that it works on any array namespace (NumPy's diagonal() is read-only)."""
    xp = _ns(src)
    rest = tuple(s for i, s in enumerate(shape) if i not in (d1, d2))
    n, m = shape[d1], shape[d2]
    flat = xp.zeros(rest + (n * m,), dtype=src.dtype)
    k = src.shape[-1]
    if k:
        start = offset if offset >= 0 else -offset * m
        flat[..., start:start + (k - 1) * (m + 1) + 1:m + 1] = src
    return xp.ascontiguousarray(xp.moveaxis(flat.reshape(rest + (n, m)), (-2, -1), (d1, d2)))


def _diagonal_backward(g, shape, offset, dim1, dim2):
    """zeros(shape) with g on the (offset, dim1, dim2) diagonal (PyTorch's diagonal_backward)."""
    t = _wrap(_embed_diagonal(g._a, tuple(shape), offset, dim1, dim2))
    if _needs(g):
        n = new_node(DiagonalBackwardBackward0)
        n.offset, n.dim1, n.dim2 = offset, dim1, dim2
        _finish(t, n, (g,))
    return t


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal over dims dim1, dim2 (offset above it when positive) as the last dim: a view."""
    a = input._a
    offset, d1, d2 = _diag_dims(a.ndim, offset, dim1, dim2)
    d = a.diagonal(offset, d1, d2)
    if type(d) is _ndarray and a.flags.writeable:
        d.flags.writeable = True      # NumPy hands out a read-only view; PyTorch's may be written to
    return _view_of(input, d, DiagonalBackward0,
                    {"self_sym_sizes": a.shape, "offset": offset, "dim1": d1, "dim2": d2})


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose (dim1, dim2) diagonals (offset above the main one) hold input's last dim."""
    a = input._a
    nd = a.ndim + 1
    offset, d1, d2 = _diag_dims(nd, offset, dim1, dim2)
    n = (a.shape[-1] if a.ndim else 1) + builtins.abs(offset)
    rest = list(a.shape[:-1])
    for d in sorted((d1, d2)):
        rest.insert(d, n)
    t = _wrap(_embed_diagonal(a, tuple(rest), offset, d1, d2))
    if _needs(input):
        node = new_node(DiagEmbedBackward0)
        node.offset, node.dim1, node.dim2 = offset, dim1, dim2
        _finish(t, node, (input,))
    return t


def diag(input, diagonal=0):
    """1-D input: a square matrix with it on the diagonal-th diagonal; 2-D: that diagonal (a copy)."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    a = input._a
    t = _wrap(a.diagonal(diagonal).copy())
    if _needs(input):
        n = new_node(DiagonalBackward0_copy)
        n.self_sym_sizes, n.offset, n.dim1, n.dim2 = a.shape, int(diagonal), 0, 1
        _finish(t, n, (input,))
    return t


def trace(input):
    a = input._a
    if a.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
    t = _wrap(_res(a.diagonal().sum(dtype=None if a.dtype.kind == "f" else np.int64)))
    if _needs(input):
        n = new_node(TraceBackward0)
        n.self_sym_sizes = a.shape
        _finish(t, n, (input,))
    return t


class IndexPutOutBackward(Node):
    __slots__ = ("key", "vshape", "accumulate")
    _name = "IndexPutBackward0"
    formula = "IndexPutBackward0: self: grad with [indices] = 0 (unless accumulate), values: grad[indices]"

    def backward(self, g):
        n = self._next
        gs = None
        if n[0][0] is not None:
            gs = g if self.accumulate else _masked_zero(g, self.key)
        gv = sum_to(_index_raw(g, self.key), self.vshape) if n[1][0] is not None else None
        return gs, gv


def index_put(input, indices, values, accumulate=False):
    key = tuple(_index_array(i) for i in indices)
    r = input._a.copy()
    va = values._a if _isinst(values, Tensor) else values
    if accumulate:
        if type(r) is _ndarray:
            np.add.at(r, key, va)
        else:
            import cupyx
            cupyx.scatter_add(r, key, va)
    else:
        r[key] = va
    t = _wrap(r)
    if _needs(input, values):
        n = new_node(IndexPutOutBackward)
        n.key, n.vshape, n.accumulate = key, values.shape if _isinst(values, Tensor) else (), accumulate
        _finish(t, n, (input, values if _isinst(values, Tensor) else None))
    return t


# ============================================================================ comparisons & logic
def _cmp(fn):
    fn = _namespaced(fn)

    def op(input, other):
        xa, ya = _pair(input, other)
        return _wrap(_res(fn(xa, ya)))
    return op


eq = _cmp(np.equal)
ne = _cmp(np.not_equal)
lt = _cmp(np.less)
le = _cmp(np.less_equal)
gt = _cmp(np.greater)
ge = _cmp(np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
logical_and = _cmp(np.logical_and)
logical_or = _cmp(np.logical_or)
logical_xor = _cmp(np.logical_xor)
bitwise_and = _cmp(np.bitwise_and)
bitwise_or = _cmp(np.bitwise_or)
bitwise_xor = _cmp(np.bitwise_xor)


def logical_not(input):
    return _wrap(_res(_ns(input._a).logical_not(input._a)))


def bitwise_not(input):
    a = input._a
    xp = _ns(a)
    return _wrap(_res(xp.logical_not(a) if a.dtype.kind == "b" else xp.invert(a)))


def isnan(input):
    return _wrap(_res(_ns(input._a).isnan(input._a)))


def isinf(input):
    return _wrap(_res(_ns(input._a).isinf(input._a)))


def isfinite(input):
    return _wrap(_res(_ns(input._a).isfinite(input._a)))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _wrap(_res(_ns(input._a).isclose(input._a, other._a if _isinst(other, Tensor) else other, rtol, atol, equal_nan)))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(_ns(input._a).allclose(input._a, other._a if _isinst(other, Tensor) else other, rtol, atol, equal_nan))


def equal(input, other):
    return input.shape == other.shape and bool((input._a == other._a).all())


class SortBackward0(Node):
    __slots__ = ("shape", "dim")
    formula = "SortBackward0: self: zeros(self.shape).scatter(dim, indices, grad)"
    saved_names = ("indices",)
    saved_attrs = ("dim",)

    def backward(self, g):
        idx, = self.saved
        return zeros(self.shape, dtype=g.dtype, device=g.device).scatter(self.dim, idx, g)


class TopkBackward0(SortBackward0):
    __slots__ = ()
    formula = "TopkBackward0: self: zeros(self.shape).scatter(dim, indices, grad)"


def _select_by_indices(input, d, idx, cls, name):
    it = _wrap(_res(idx.astype(np.int64)))
    a = input._a
    t = _wrap(_res(np.take_along_axis(a, idx, d) if type(a) is _ndarray else xp_of(a).take_along_axis(a, idx, d)))
    if _gs.enabled and input._rg:
        n = new_node(cls)
        n.shape, n.dim = a.shape, d
        _finish(t, n, (input,), (it,))
    return values_indices(t, it, name)


def _argsort_stable(a, d):
    """Indices that sort `a` along d, equal elements in their order (CuPy's sort is stable)."""
    return np.argsort(a, axis=d, kind="stable") if type(a) is _ndarray else xp_of(a).argsort(a, axis=d)


def sort(input, dim=-1, descending=False, stable=False):
    d = _wdim(dim, input.ndim)
    a = input._a
    if a.ndim == 0:
        return values_indices(clone(input), _wrap(np.zeros((), np.int64)), "sort")
    if descending:   # stable on the negated key keeps equal elements in their original order
        key = -a if a.dtype.kind in "fi" else (~a if a.dtype.kind == "b" else a.max() - a)
        idx = _argsort_stable(key, d)
    else:
        idx = _argsort_stable(a, d)
    return _select_by_indices(input, d, idx, SortBackward0, "sort")


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):
    d = _wdim(dim, input.ndim)
    a = input._a
    key = (-a if a.dtype.kind in "fi" else a.max() - a) if largest else a
    idx = _argsort_stable(key, d).take(_ns(a).arange(k), axis=d)
    return _select_by_indices(input, d, idx, TopkBackward0, "topk")


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    r = _ns(input._a).unique(input._a, return_inverse=return_inverse, return_counts=return_counts)
    if not (return_inverse or return_counts):
        return _wrap(r)
    out = [_wrap(r[0])]
    if return_inverse:
        out.append(_wrap(r[1].reshape(input.shape).astype(np.int64)))
    if return_counts:
        out.append(_wrap(r[-1].astype(np.int64)))
    return tuple(out)


def bincount(input, weights=None, minlength=0):
    return _wrap(_ns(input._a).bincount(input._a, None if weights is None else weights._a, minlength).astype(
        np.int64 if weights is None else weights._a.dtype))


def cdist(x1, x2, p=2.0):
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return norm(diff, p, dim=-1)


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


class AddmmBackward0(Node):
    __slots__ = ("alpha", "beta")
    formula = "AddmmBackward0: self: grad * beta, mat1: grad.mm(mat2.t()) * alpha, mat2: mat1.t().mm(grad) * alpha"
    saved_names = ("mat1", "mat2")

    def backward(self, g):
        m1, m2 = self.saved
        n = self._next
        a, b = self.alpha, self.beta
        gs = (g if b == 1 else g * b) if n[0][0] is not None else None
        g1 = g.mm(m2.t()) if n[1][0] is not None else None
        g2 = m1.t().mm(g) if n[2][0] is not None else None
        if a != 1:
            g1 = g1 * a if g1 is not None else None
            g2 = g2 * a if g2 is not None else None
        return gs, g1, g2


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2)."""
    _check_mm(mat1, mat2, "addmm")
    r = mat1._a @ mat2._a
    if alpha != 1:
        r = r * alpha
    ia = input._a if beta == 1 else input._a * beta
    t = _wrap(_res(ia + r))
    if _needs(input, mat1, mat2):
        n = new_node(AddmmBackward0)
        n.alpha, n.beta = alpha, beta
        _finish(t, n, (input, mat1, mat2), (mat1 if mat2._rg else None, mat2 if mat1._rg else None))
    return t


def einsum(*args):
    """torch.einsum: engine/_einsum.py builds it from the ops above, as PyTorch does."""
    from ._einsum import einsum as _einsum
    return _einsum(*args)


# ============================================================================ factories
def _factory_dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else get_default_dtype().np
    return _dtype.to_np(dtype)


def _place(a, device, requires_grad):
    if device is not None:
        d = _device(device)
        if d.type != "cpu":
            a = to_device(a, d)
    t = _wrap(a)
    if requires_grad:
        _check_can_require_grad(t)
        t._rg = True
    return t


def _infer_np(data):
    """NumPy array from nested Python data, with PyTorch's dtype inference."""
    if _isinst(data, Tensor):
        return data._a
    if _isinst(data, (_ndarray, np.generic)):
        return np.asarray(data)
    if is_cuda_array(data):
        return data
    if _isinst(data, (list, tuple)):
        flat = list(_flatten(data))
        if flat and builtins.any(_isinst(v, Tensor) for v in flat):
            data = _detensor(data)
            flat = list(_flatten(data))
        if builtins.all(_isinst(v, (bool, np.bool_)) for v in flat) and flat:
            return np.array(data, dtype=np.bool_)
        if builtins.all(_isinst(v, (int, np.integer, bool, np.bool_)) for v in flat):
            return np.array(data, dtype=np.int64)
        return np.array(data, dtype=get_default_dtype().np)
    if _isinst(data, bool):
        return np.array(data, dtype=np.bool_)
    if _isinst(data, int):
        return np.array(data, dtype=np.int64)
    if _isinst(data, float):
        return np.array(data, dtype=get_default_dtype().np)
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _flatten(x):
    for v in x:
        if _isinst(v, (list, tuple)):
            yield from _flatten(v)
        elif _isinst(v, _ndarray):
            yield from v.reshape(-1).tolist() if v.size else []
        else:
            yield v


def _detensor(x):
    if _isinst(x, Tensor):
        return x._a.item() if x._a.ndim == 0 else _detensor(x._a.tolist())
    if _isinst(x, (list, tuple)):
        return [_detensor(v) for v in x]
    return x


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new leaf tensor copying `data` (nested lists, numbers, numpy arrays or tensors)."""
    if _isinst(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
                      "or sourceTensor.detach().clone().requires_grad_(True), rather than "
                      "torch.tensor(sourceTensor).", UserWarning, stacklevel=2)
    a = _infer_np(data)
    if dtype is not None:
        a = a.astype(_dtype.to_np(dtype), copy=True)
    else:
        a = a.copy()
    return _place(a, device if device is not None else (device_of(a) if is_cuda_array(a) else None), requires_grad)


def as_tensor(data, dtype=None, device=None):
    if _isinst(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    if _isinst(data, _ndarray) and (dtype is None or _dtype.to_np(dtype) == data.dtype) and device in (None, "cpu"):
        return _wrap(data)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray):
    """A tensor sharing memory with a NumPy array."""
    if not _isinst(ndarray, _ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_np(ndarray.dtype)
    return _wrap(ndarray)


def _size_args(size):
    if len(size) == 1 and _isinst(size[0], (tuple, list, Size)):
        return tuple(size[0])
    return tuple(size)


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _place(np.zeros(_size_args(size), _factory_dtype(dtype)), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _place(np.ones(_size_args(size), _factory_dtype(dtype)), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    return _place(np.zeros(_size_args(size), _factory_dtype(dtype)), device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        npdt = _infer_np(fill_value).dtype
    else:
        npdt = _dtype.to_np(dtype)
    return _place(np.full(tuple(size), fill_value, npdt), device, requires_grad)


def _like(input, dtype, device):
    return (_dtype.to_np(dtype) if dtype is not None else input._a.dtype,
            device if device is not None else input.device)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    dt, dev = _like(input, dtype, device)
    xp = xp_of(input._a) if device is None else _xp(dev)
    return _place(xp.zeros(input._a.shape, dt), None, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, layout=None):
    dt, dev = _like(input, dtype, device)
    xp = xp_of(input._a) if device is None else _xp(dev)
    return _place(xp.ones(input._a.shape, dt), None, requires_grad)


empty_like = zeros_like


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    dt, dev = _like(input, dtype, device)
    xp = xp_of(input._a) if device is None else _xp(dev)
    return _place(xp.full(input._a.shape, fill_value, dt), None, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return _place(np.eye(n, m, dtype=_factory_dtype(dtype)), device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    vals = [_scalar(v) if not _isinst(v, Tensor) else v.item() for v in (start, end, step)]
    if dtype is None:
        npdt = np.int64 if builtins.all(_isinst(v, int) for v in vals) else get_default_dtype().np
    else:
        npdt = _dtype.to_np(dtype)
    s, e, st = vals
    n = builtins.max(int(math.ceil((e - s) / st)), 0)
    a = (s + np.arange(n, dtype=np.float64) * st).astype(npdt) if np.dtype(npdt).kind == "f" else \
        np.arange(s, e, st, dtype=npdt)
    return _place(a, device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    a = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    # PyTorch computes from both ends symmetrically; float64 then cast matches it to float32 precision
    return _place(a.astype(_factory_dtype(dtype)), device, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    a = base ** np.linspace(float(start), float(end), int(steps))
    return _place(a.astype(_factory_dtype(dtype)), device, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return tensor(float(s), dtype=dtype, device=device, requires_grad=requires_grad)


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and _isinst(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = tuple(t.numel() for t in tensors)
    if indexing == "xy" and len(tensors) >= 2:
        shape = (shape[1], shape[0]) + shape[2:]
    outs = []
    for i, t in enumerate(tensors):
        j = i
        if indexing == "xy" and len(tensors) >= 2 and i < 2:
            j = 1 - i
        s = [1] * len(shape)
        s[j] = t.numel()
        outs.append(t.reshape(s).expand(shape))
    return tuple(outs)


# ============================================================================ in-place ops
_IP_UFUNC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def _inplace(x, fn, args, kwargs=None, saves_self=False):
    """Run fn(x, *args) and write the result into x's buffer; rebase x's history onto the new node."""
    kwargs = kwargs or {}
    _check_inplace(x, *args, *kwargs.values())
    if _gs.enabled and (x._rg or builtins.any(_isinst(a, Tensor) and a._rg for a in args)
                        or builtins.any(_isinst(v, Tensor) and v._rg for v in kwargs.values())):
        old = _wrap(x._a.copy() if saves_self else x._a)
        old._node, old._nr, old._rg = x._node, x._nr, x._rg
        if x._node is None and x._rg:
            old._acc = x._acc
        res = fn(old, *args, **kwargs)
        _write(x, res._a)
        node = res._node
        x._ver[0] += 1
        if node is not None:
            node._meta = ((x._a.shape, x._a.dtype),)
            _rebase(x, node, res._nr, bump=False)
        return x
    res = fn(x, *args, **kwargs)
    _write(x, res._a)
    x._ver[0] += 1
    return x


def _write(x, r):
    a = x._a
    if r.dtype != a.dtype:
        if a.dtype.kind in "iub" and r.dtype.kind == "f" or a.dtype.kind == "b" and r.dtype.kind != "b":
            raise RuntimeError(f"result type {_dtype.from_np(r.dtype).name.capitalize().replace('Float32', 'Float')} "
                               f"can't be cast to the desired output type {_type_word(a.dtype)}")
        r = r.astype(a.dtype)
    if r.shape != a.shape:
        try:
            r = np.broadcast_to(r, a.shape) if type(r) is _ndarray else xp_of(r).broadcast_to(r, a.shape)
        except ValueError:
            raise RuntimeError(f"output with shape [{', '.join(map(str, a.shape))}] doesn't match the broadcast "
                               f"shape [{', '.join(map(str, r.shape))}]") from None
    if not getattr(a.flags, "writeable", True):
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    a[...] = r


def _type_word(npdt):
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
            "bool": "Bool", "uint8": "Byte", "int16": "Short", "int8": "Char"}[str(npdt)]


def _fast_inplace(name, out_of_place, saves_self):
    uf = _IP_UFUNC[name]

    def op(self, other, *, alpha=1):
        if not _gs.enabled or not (self._rg or (_isinst(other, Tensor) and other._rg)):
            a = self._a
            o = other._a if _isinst(other, Tensor) else other
            if alpha != 1:
                o = o * alpha
            if getattr(a.flags, "writeable", True) and a.dtype.kind == "f" and (not hasattr(o, "dtype") or o.dtype == a.dtype or
                                                               _isinst(o, (int, float))):
                if type(o) is not type(a) and not _isinst(o, (int, float)):
                    if o.ndim == 0 and type(o) is _ndarray:
                        o = o.item()
                    else:
                        check_same_device(a, o)
                try:
                    uf(a, o, out=a)
                except ValueError:
                    raise RuntimeError(f"output with shape [{', '.join(map(str, a.shape))}] doesn't match the "
                                       f"broadcast shape [{', '.join(map(str, np.broadcast_shapes(a.shape, np.shape(o))))}]") from None
                self._ver[0] += 1
                return self
        kw = {"alpha": alpha} if alpha != 1 else {}
        return _inplace(self, out_of_place, (other,), kw, saves_self)
    op.__name__ = name + "_"
    return op


add_ = _fast_inplace("add", add, False)
sub_ = _fast_inplace("sub", sub, False)
mul_ = _fast_inplace("mul", mul, True)


def div_(self, other, *, rounding_mode=None):
    if rounding_mode is None:
        return _fast_div_(self, other)
    return _inplace(self, div, (other,), {"rounding_mode": rounding_mode}, True)


_fast_div_ = _fast_inplace("div", div, True)


def _mk_inplace(fn, saves_self=True):
    def op(self, *args, **kwargs):
        return _inplace(self, fn, args, kwargs, saves_self)
    op.__name__ = fn.__name__ + "_"
    return op


pow_ = _mk_inplace(pow)
clamp_ = _mk_inplace(clamp)
clip_ = clamp_
clamp_min_ = _mk_inplace(clamp_min)
clamp_max_ = _mk_inplace(clamp_max)
neg_ = _mk_inplace(neg, False)
log_ = _mk_inplace(log)
abs_ = _mk_inplace(abs)


def _mk_inplace_saving_result(fn):
    """In-place fn whose node saves its result (ReluBackward0: result > 0): the saved result
    becomes self itself, version-checked, so that changing self in place afterwards makes
    backward raise, as in PyTorch (saving fn's temporary output would hide that change)."""
    def op(self, *args, **kwargs):
        made = []

        def run(x, *a, **k):
            made.append(fn(x, *a, **k))
            return made[-1]
        _inplace(self, run, args, kwargs)
        n = made[0]._node if made else None
        if n is not None and n._saved:
            tmp = made[0]._a
            ours = [type(s) is _SavedOutput and s.a is tmp for s in n._saved]
            n._saved = tuple(_SavedOutput(self) if o else s for s, o in zip(n._saved, ours))
            n._sver = tuple(self._ver[0] if o else v for v, o in zip(n._sver, ours))
        return self
    op.__name__ = fn.__name__ + "_"
    return op


relu_ = _mk_inplace_saving_result(relu)
exp_ = _mk_inplace_saving_result(exp)
sqrt_ = _mk_inplace_saving_result(sqrt)
sigmoid_ = _mk_inplace_saving_result(sigmoid)
tanh_ = _mk_inplace_saving_result(tanh)
reciprocal_ = _mk_inplace_saving_result(reciprocal)


sin_ = _mk_inplace(sin)
cos_ = _mk_inplace(cos)
floor_ = _mk_inplace(floor, False)
ceil_ = _mk_inplace(ceil, False)
round_ = _mk_inplace(round, False)
masked_fill_ = _mk_inplace(masked_fill, False)
square_ = _mk_inplace(square)
lerp_ = _mk_inplace(lerp)
scatter_ = _mk_inplace(scatter, False)
scatter_add_ = _mk_inplace(scatter_add, False)
index_put_ = _mk_inplace(index_put, False)


class FillBackward2(Node):
    """In-place `fill_(scalar)` (PyTorch's FillBackward2; FillBackward0 is its out-of-place fill)."""
    __slots__ = ()
    _name = "FillBackward2"
    formula = "FillBackward2: self: zeros_like(grad)"

    def backward(self, g):
        return zeros_like(g)


class ZeroBackward0(FillBackward2):
    __slots__ = ()
    _name = "ZeroBackward0"
    formula = "ZeroBackward0: self: zeros_like(grad)"


def zero_(self):
    if not (_gs.enabled and self._rg):
        _check_inplace(self)
        self._a.fill(0)
        self._ver[0] += 1
        return self
    return _inplace(self, lambda x: _fill_rec(x, 0, ZeroBackward0), ())


def fill_(self, value):
    if _isinst(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
        if _gs.enabled and (value._rg or self._rg):
            return _inplace(self, _fill_tensor_rec, (value,))
        value = value.item()
    if not (_gs.enabled and self._rg):
        _check_inplace(self)
        self._a.fill(value)
        self._ver[0] += 1
        return self
    return _inplace(self, lambda x: _fill_rec(x, value, FillBackward2), ())


class FillBackward3(Node):
    """In-place `fill_(value)` with a 0-dim tensor value (PyTorch's FillBackward3)."""
    __slots__ = ()
    formula = "FillBackward3: self: zeros_like(grad), value: grad.sum()"

    def backward(self, g):
        n = self._next
        return (zeros_like(g) if n[0][0] is not None else None,
                g.sum() if n[1][0] is not None else None)


class FillBackward0(FillBackward2):
    """Out-of-place `fill(input, scalar)`."""
    __slots__ = ()
    _name = "FillBackward0"
    formula = "FillBackward0: self: zeros_like(grad)"


class FillBackward1(FillBackward3):
    """Out-of-place `fill(input, value)` with a 0-dim tensor value."""
    __slots__ = ()
    _name = "FillBackward1"
    formula = "FillBackward1: self: zeros_like(grad), value: grad.sum()"


def fill(input, value):
    """A tensor like input (shape, dtype, device) filled with value (a number or a 0-dim tensor)."""
    if _isinst(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
        t = full_like(input, value.item())
        if _needs(input, value):
            _finish(t, new_node(FillBackward1), (input, value))
        return t
    t = full_like(input, value)
    if _needs(input):
        _finish(t, new_node(FillBackward0), (input,))
    return t


def _fill_tensor_rec(x, value):
    t = full_like(x, value.item())
    _finish(t, new_node(FillBackward3), (x, value))
    return t


def _fill_rec(x, value, cls):
    t = full_like(x, value)
    if _gs.enabled and x._rg:
        _finish(t, new_node(cls), (x,))
    return t


class CopyBackwards(Node):
    __slots__ = ("src_dtype", "src_device")
    formula = "CopyBackwards: self: zeros_like(grad), src: grad.to(src.dtype)"

    def backward(self, g):
        n = self._next
        return (zeros_like(g) if n[0][0] is not None else None,
                g.to(dtype=self.src_dtype, device=self.src_device) if n[1][0] is not None else None)


def copy_(self, src, non_blocking=False):
    """Copy src's values into self (broadcasting), in place."""
    _check_inplace(self, src)
    s = src._a if _isinst(src, Tensor) else np.asarray(src)
    if device_of(s) != device_of(self._a):
        s = to_device(s, self.device)
    rec = _gs.enabled and (self._rg or (_isinst(src, Tensor) and src._rg))
    old = _e(self) if rec else _NONE_EDGE
    _write(self, s.astype(self._a.dtype) if s.dtype != self._a.dtype else s)
    if rec:
        n = new_node(CopyBackwards)
        n.src_dtype, n.src_device = s.dtype, device_of(src._a)
        n._next = (old, _e(src))
        n._meta = ((self._a.shape, self._a.dtype),)
        n._saved = ()
        _rebase(self, n)
    else:
        self._ver[0] += 1
    return self


def _copy_of(g):
    """A copy of g recorded as PyTorch's `empty.copy_(g)` (CopyBackwards with no self input)."""
    t = _wrap(g._a.copy())
    if _gs.enabled and g._rg:
        n = new_node(CopyBackwards)
        n.src_dtype, n.src_device = g._a.dtype, device_of(g._a)
        n._next = (_NONE_EDGE, _e(g))
        n._meta = ((t._a.shape, t._a.dtype),)
        n._saved = ()
        t._node, t._rg = n, True
    return t


def _iop(fn):
    def op(self, other):
        return fn(self, other)
    return op


def resize_(self, *size):
    shape = _size_args(size)
    a = self._a
    n = int(np.prod(shape))
    flat = a.reshape(-1)
    new = np.zeros(n, a.dtype)
    new[:builtins.min(n, flat.size)] = flat[:builtins.min(n, flat.size)]
    self._a = new.reshape(shape)
    return self


def _draw_order(a):
    """The axes of `a` outermost-in-memory first: PyTorch's random kernels fill a tensor in
    memory order, so a transposed view takes its values in its storage's order."""
    if a.flags.c_contiguous:
        return tuple(range(a.ndim))
    return tuple(int(i) for i in np.argsort([-builtins.abs(st) for st in a.strides], kind="stable"))


def _fill_random(self, draw):
    """Fill self in place with draw(shape), drawn for self's axes in memory order."""
    _check_inplace(self)
    view = self._a.transpose(_draw_order(self._a))
    host = draw(view.shape)
    view[...] = host if type(view) is _ndarray else to_device(host, device_of(view))
    self._ver[0] += 1
    return self


def _generator_for(self, generator, fn):
    """The Generator an in-place draw into `self` uses (the default one when None)."""
    from . import _random
    return _random.resolve(generator, fn, device_of(self._a))


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    from . import _random
    g = _generator_for(self, generator, "uniform_")
    return _fill_random(self, lambda shape: _random.uniform(shape, self._a.dtype, a, b, g))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    from . import _random
    g = _generator_for(self, generator, "normal_")
    contiguous = self._a.flags.c_contiguous
    return _fill_random(self, lambda shape: _random.normal(shape, self._a.dtype, mean, std, contiguous, g))


def bernoulli_(self, p=0.5, *, generator=None):
    from . import _random
    g = _generator_for(self, generator, "bernoulli_")
    pp = p._a if _isinst(p, Tensor) else float(p)
    if not _isinst(pp, float) and type(pp) is not _ndarray:
        pp = pp.get()
    if _isinst(pp, _ndarray):
        pp = np.broadcast_to(pp, self._a.shape).transpose(_draw_order(self._a))
    return _fill_random(self, lambda shape: _random.bernoulli(shape, pp, g).astype(self._a.dtype))


def random_(self, *bounds, to=None, generator=None):
    """random_(): the dtype's whole range (PyTorch's); random_(to): [0, to); random_(from, to):
    [from, to), to=None meaning up to the dtype's largest value."""
    from . import _random
    g = _generator_for(self, generator, "random_")
    dt = self._a.dtype
    if len(bounds) == 1 and to is None:
        low, high = 0, bounds[0]
    elif bounds:
        low, high = bounds[0], bounds[1] if len(bounds) > 1 else to
        if high is None:
            high = 2 if dt == np.bool_ else (1 << (np.finfo(dt).nmant + 1)) + 1 if dt.kind == "f" \
                else int(np.iinfo(dt).max) + 1
    elif to is not None:
        low, high = 0, to
    else:
        return _fill_random(self, lambda shape: _random.random_full(shape, dt, g))
    return _fill_random(self, lambda shape: _random.randint(low, high, shape, dt, g))


def exponential_(self, lambd=1.0, *, generator=None):
    from . import _random
    g = _generator_for(self, generator, "exponential_")
    return _fill_random(self, lambda shape: _random.exponential(shape, self._a.dtype, lambd, g))


# ============================================================================ Tensor methods
bool_ = _dtype.bool_


def _setitem_returning_self(x, key, value):
    _setitem(x, key, value)
    return x       # the recorded output of `x[key] = value` is x (Python drops it)


def _attach():
    record_namespace(globals(), skip=("sum_to", "b_ok", "values_indices", "getitem"))
    g = globals()
    g["getitem"] = recorded(getitem, "__getitem__")
    g["setitem"] = recorded(_setitem_returning_self, "__setitem__")
    T = Tensor
    simple = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt",
              "rsqrt", "reciprocal", "sin", "cos", "tan", "tanh", "sigmoid", "atan", "asin", "acos", "sinh",
              "cosh", "abs", "erf", "relu", "sign", "floor", "ceil", "trunc", "round", "clamp", "clip",
              "clamp_min", "clamp_max", "maximum", "minimum", "sum", "nansum", "mean", "prod", "cumsum",
              "cumprod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "norm", "logsumexp",
              "softmax", "log_softmax", "all", "any", "mm", "bmm", "mv", "dot", "matmul", "outer", "inner",
              "reshape", "view", "view_as", "reshape_as", "flatten", "unflatten", "ravel", "transpose",
              "swapaxes", "swapdims", "t", "permute", "squeeze", "unsqueeze", "expand", "expand_as",
              "clone", "contiguous", "to", "split", "chunk", "tensor_split", "unbind", "flip", "fliplr",
              "flipud", "repeat", "tile", "repeat_interleave", "narrow", "select", "movedim", "moveaxis",
              "gather", "scatter", "scatter_add", "index_select", "masked_fill", "masked_select", "nonzero",
              "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
              "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_not",
              "isnan", "isinf", "isfinite", "isclose", "allclose", "equal", "sort", "argsort", "topk",
              "square", "float_power", "remainder", "fmod", "floor_divide", "true_divide", "divide",
              "multiply", "subtract", "negative", "absolute", "where", "tril", "triu", "diag", "trace",
              "index_put", "lerp", "addmm", "count_nonzero", "take_along_dim", "broadcast_to", "var_mean",
              "std_mean", "unique", "bincount", "arcsin", "arccos", "arctan", "fmax", "fmin",
              "add_", "sub_", "mul_", "div_", "pow_", "clamp_", "clip_", "clamp_min_", "clamp_max_", "neg_",
              "exp_", "log_", "sqrt_", "abs_", "sigmoid_", "tanh_", "relu_", "sin_", "cos_", "reciprocal_",
              "floor_", "ceil_", "round_", "masked_fill_", "square_", "lerp_", "scatter_", "scatter_add_",
              "index_put_", "zero_", "fill_", "copy_", "resize_", "uniform_", "normal_", "bernoulli_",
              "random_", "exponential_"]
    g = globals()
    for name in simple:
        setattr(T, name, g[name])
    T.diagonal = diagonal
    T.diag_embed = diag_embed
    T.where = lambda self, condition, other: where(condition, self, other)
    T.type_as = lambda self, other: self.to(other.dtype)
    T.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: tensor(
        data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    T.new_zeros = lambda self, *size, dtype=None, device=None, requires_grad=False: zeros(
        *size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    T.new_ones = lambda self, *size, dtype=None, device=None, requires_grad=False: ones(
        *size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    T.new_full = lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: full(
        size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)
    T.new_empty = T.new_zeros
    T.T = property(_T)
    T.mT = property(_mT)
    T.H = T.T
    T.mH = T.mT
    T.float = lambda self, memory_format=None: _to(self, _dtype.float32)
    T.double = lambda self, memory_format=None: _to(self, _dtype.float64)
    T.half = lambda self, memory_format=None: _to(self, _dtype.float16)
    T.long = lambda self, memory_format=None: _to(self, _dtype.int64)
    T.int = lambda self, memory_format=None: _to(self, _dtype.int32)
    T.short = lambda self, memory_format=None: _to(self, _dtype.int16)
    T.byte = lambda self, memory_format=None: _to(self, _dtype.uint8)
    T.char = lambda self, memory_format=None: _to(self, _dtype.int8)
    T.bool = lambda self, memory_format=None: _to(self, _dtype.bool_)
    T.cpu = lambda self, memory_format=None: _to(self, device="cpu")
    T.cuda = lambda self, device=None, non_blocking=False, memory_format=None: _to(
        self, device=_device("cuda", device if _isinst(device, int) else 0) if not _isinst(device, (str, _device)) else device)
    T.__getitem__ = getitem
    T.__setitem__ = setitem
    T.__add__ = add
    T.__radd__ = lambda self, other: add(self, other)
    T.__sub__ = sub
    T.__rsub__ = lambda self, other: rsub(self, other)
    T.__mul__ = mul
    T.__rmul__ = lambda self, other: mul(self, other)
    T.__truediv__ = div
    T.__rtruediv__ = lambda self, other: mul(reciprocal(self), other)
    T.__floordiv__ = floor_divide
    T.__rfloordiv__ = lambda self, other: floor_divide(_as_tensor(other, self), self)
    T.__mod__ = remainder
    T.__pow__ = pow
    T.__rpow__ = lambda self, other: pow(other, self)
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda self, other: matmul(_as_tensor(other, self), self)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__invert__ = bitwise_not
    T.__and__ = bitwise_and
    T.__or__ = bitwise_or
    T.__xor__ = bitwise_xor
    T.__rand__ = bitwise_and
    T.__ror__ = bitwise_or
    T.__eq__ = eq
    T.__ne__ = ne
    T.__lt__ = lt
    T.__le__ = le
    T.__gt__ = gt
    T.__ge__ = ge
    T.__iadd__ = lambda self, other: add_(self, other)
    T.__isub__ = lambda self, other: sub_(self, other)
    T.__imul__ = lambda self, other: mul_(self, other)
    T.__itruediv__ = lambda self, other: div_(self, other)
    T.__ipow__ = lambda self, other: pow_(self, other)
    T.__hash__ = object.__hash__


_attach()


def _link():
    """Give the autograd modules (imported before this one) direct references to the ops."""
    import sys
    from .autograd import engine as _eng, graph as _graph
    me = sys.modules[__name__]
    _eng._ops, _eng.Tensor, _eng._from_array = me, Tensor, _wrap
    _graph._ops = me
    from . import _tensor
    _tensor._regen_view = _regen_view
    _tensor._wake_views = _wake_views


_link()
