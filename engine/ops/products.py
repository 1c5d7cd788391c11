"""Matrix products: mm, bmm, mv, dot, matmul, outer, addmm, baddbmm, addmv, kron, tensordot,
cross, vdot, cdist; each op's forward beside its backward node.
"""
import builtins
import math
import numpy as np

from .._warnings import warn as _warn

from ..autograd.graph import Node, _SavedOutput, new_node
from ..backend import check_same_device
from ..autograd.grad_mode import state as _gs
from .._tensor import Tensor
from .. import _dtype
from ._core import make_inplace, _type_word, _finish, _needs, _ns, _res, _unsafe_view, _wdim, _wrap
from ._registry import op, alias
from .. import ops


class MmBackward0(Node):
    """mm(self, mat2); also F.linear without bias (`linear` set: mat2 is the (out, in) weight
    and the product self @ weight.t(), whose gradient is computed without a TBackward0)."""
    __slots__ = ("linear",)
    formula = "MmBackward0: self: grad.mm(mat2.t()), mat2: self.t().mm(grad)"
    saved_names = ("self", "mat2")

    def backward(self, g):
        a, b = self.saved
        n = self._next
        if getattr(self, "linear", False):
            return (_mm32(g, b) if n[0][0] is not None else None,
                    _mm32(g.t(), a) if n[1][0] is not None else None)
        return (g.mm(b.t()) if n[0][0] is not None else None,
                a.t().mm(g) if n[1][0] is not None else None)


def _mm32(a, b):
    """a.mm(b), float16 operands multiplied in float32 and rounded back (autocast's float32
    accumulation; NumPy has no fast float16 matmul)."""
    if a._a.dtype == np.float16:
        return a.float().mm(b.float()).half()
    return a.mm(b)


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


@op
def mm(input, mat2):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    _check_mm(input, mat2, "mm")
    if input._a.shape[1] != mat2._a.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({input._a.shape[0]}x{input._a.shape[1]} "
                           f"and {mat2._a.shape[0]}x{mat2._a.shape[1]})")
    return _mm_like(MmBackward0, input, mat2, input._a @ mat2._a)


@op
def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3 else "batch2 must be a 3D tensor")
    _check_mm(input, mat2, "bmm")
    return _mm_like(BmmBackward0, input, mat2, _ns(input._a).matmul(input._a, mat2._a))


@op
def mv(input, vec):
    _check_mm(input, vec, "mv")
    if input.ndim != 2 or vec.ndim != 1 or input._a.shape[1] != vec._a.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input._a.shape[0]}), mat ({input._a.shape[0]}x"
                           f"{input._a.shape[-1]}), vec ({vec._a.shape[0]})")
    return _mm_like(MvBackward0, input, vec, input._a @ vec._a)


@op
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
alias(inner, "inner")


@op
def outer(input, vec2):
    return input.reshape(-1, 1) * vec2


ger = outer
alias(ger, "ger", method=False)


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


@op
def matmul(input, other):
    """Matrix product with NumPy/PyTorch rules for 1-D, 2-D and batched operands."""
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
        return ops.shape._squeeze_(input.unsqueeze(0).mm(other), 0)
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


class CdistBackward0(Node):
    __slots__ = ("p",)
    formula = ("CdistBackward0: x1: sum_j grad_ij * sign(x1_i - x2_j) |x1_i - x2_j|^(p-1) / result_ij^(p-1) "
               "(0 where result is 0; p=inf: sign where |diff| == result), x2: minus the same summed over i")
    saved_names = ("x1", "x2", "result")
    saved_attrs = ("p",)

    def backward(self, g):
        x1, x2, r = self.saved
        p = self.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)              # (..., P, R, M)
        d = r.unsqueeze(-1)
        if p == 0:
            w = ops.zeros_like(diff)
        elif p == 1:
            w = diff.sign()
        elif p == math.inf:
            w = diff.sign() * ops.eq(diff.abs(), d)
        else:
            safe = ops.where(ops.eq(d, 0), ops.ones_like(d), d)
            w = diff if p == 2 else diff.sign() * diff.abs() ** (p - 1)
            w = ops.where(ops.eq(d, 0), ops.zeros_like(w), w / (safe if p == 2 else safe ** (p - 1)))
        w = g.unsqueeze(-1) * w
        n = self._next
        return (w.sum(-2) if n[0][0] is not None else None,
                -w.sum(-3) if n[1][0] is not None else None)


@op(method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    a, b = x1._a, x2._a
    xp = _ns(a)
    diff = xp.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == 0:
        r = (diff != 0).sum(-1).astype(a.dtype)
    elif p == math.inf:
        r = diff.max(-1) if diff.shape[-1] else xp.zeros(diff.shape[:-1], a.dtype)
    elif p == 1:
        r = diff.sum(-1)
    elif p == 2:
        r = xp.sqrt((diff * diff).sum(-1))
    else:
        r = (diff ** p).sum(-1) ** (1.0 / p)
    t = _wrap(_res(r.astype(a.dtype, copy=False)))
    if _needs(x1, x2):
        n = new_node(CdistBackward0)
        n.p = float(p)
        _finish(t, n, (x1, x2), (x1, x2))
        n._saved = (x1, x2, _SavedOutput(t))
        n._sver = (x1._ver[0], x2._ver[0], t._ver[0])
    return t


class AddmmBackward0(Node):
    """addmm(self, mat1, mat2); also F.linear with a bias (`linear` set: edges (bias, input,
    weight), the product input @ weight.t(), alpha = beta = 1)."""
    __slots__ = ("alpha", "beta", "linear")
    formula = "AddmmBackward0: self: grad * beta, mat1: grad.mm(mat2.t()) * alpha, mat2: mat1.t().mm(grad) * alpha"
    saved_names = ("mat1", "mat2")

    def backward(self, g):
        m1, m2 = self.saved
        n = self._next
        if getattr(self, "linear", False):
            return (g.sum(0) if n[0][0] is not None else None,
                    _mm32(g, m2) if n[1][0] is not None else None,
                    _mm32(g.t(), m1) if n[2][0] is not None else None)
        a, b = self.alpha, self.beta
        gs = (g if b == 1 else g * b) if n[0][0] is not None else None
        g1 = g.mm(m2.t()) if n[1][0] is not None else None
        g2 = m1.t().mm(g) if n[2][0] is not None else None
        if a != 1:
            g1 = g1 * a if g1 is not None else None
            g2 = g2 * a if g2 is not None else None
        return gs, g1, g2


@op
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


def _diff_part(p, x, d):
    if not isinstance(p, Tensor) or p.ndim != x.ndim:
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    return p


@op
def kron(input, other):
    """Kronecker product: a and b interleaved as (a0, 1, a1, 1, ..) * (1, b0, 1, b1, ..)."""
    nd = builtins.max(input.ndim, other.ndim)
    sa = (1,) * (nd - input.ndim) + tuple(input.shape)
    sb = (1,) * (nd - other.ndim) + tuple(other.shape)
    ea = _unsafe_view(input, tuple(v for s in sa for v in (s, 1)))
    eb = _unsafe_view(other, tuple(v for s in sb for v in (1, s)))
    return _unsafe_view(ea * eb, tuple(x * y for x, y in zip(sa, sb)))


@op(method=False)
def tensordot(a, b, dims=2, out=None):
    """Contract dims of a with dims of b: permute, reshape to matrices, mm, view back."""
    if ops.shape._isint(dims):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, Tensor) and dims.ndim == 0:
        return tensordot(a, b, int(dims.item()))
    else:
        da, db = ([d] if ops.shape._isint(d) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [_wdim(d, a.ndim) for d in da]
    db = [_wdim(d, b.ndim) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                               f"and second has size {b.shape[y]} in dim {y}")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [i for i in range(b.ndim) if i not in db]
    k = math.prod(a.shape[i] for i in da)
    pa = ops.permute(a, fa + da).reshape(math.prod(a.shape[i] for i in fa), k)
    pb = ops.permute(b, db + fb).reshape(k, math.prod(b.shape[i] for i in fb))
    return mm(pa, pb).reshape([a.shape[i] for i in fa] + [b.shape[i] for i in fb])


class LinalgCrossBackward0(Node):
    __slots__ = ("dim",)
    formula = "LinalgCrossBackward0: self: other.cross(grad, dim), other: grad.cross(self, dim)"
    saved_names = ("self", "other")
    saved_attrs = ("dim",)

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (cross(y, g, dim=self.dim) if n[0][0] is not None else None,
                cross(g, x, dim=self.dim) if n[1][0] is not None else None)


@op
def cross(input, other, dim=None):
    """Cross product of 3-vectors along dim (broadcasting; dim=None: the first size-3 dim)."""
    if dim is None:
        _warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
              "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
              "with that of linalg.cross in a future release.")
        shape = np.broadcast_shapes(input.shape, other.shape)
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    return _cross(input, other, dim, "linalg.cross")


@op("linalg_cross", namespace="linalg")           # engine.linalg.cross
def _linalg_cross(input, other, *, dim=-1):
    return _cross(input, other, dim, "linalg.cross")


def _cross(input, other, dim, who):
    if input.ndim != other.ndim:
        raise RuntimeError(f"{who}: inputs must have the same number of dimensions.")
    d = _wdim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"{who}: inputs dimension {dim} must have length 3. Got {input.shape[d]} and "
                           f"{other.shape[d]}")
    xa, ya = _binary_arrays(input, other)
    xp = _ns(xa)
    shape = np.broadcast_shapes(xa.shape, ya.shape)
    xa, ya = xp.broadcast_to(xa, shape), xp.broadcast_to(ya, shape)

    def c(arr, i):
        return xp.take(arr, i, axis=d)
    parts = [c(xa, 1) * c(ya, 2) - c(xa, 2) * c(ya, 1), c(xa, 2) * c(ya, 0) - c(xa, 0) * c(ya, 2),
             c(xa, 0) * c(ya, 1) - c(xa, 1) * c(ya, 0)]
    t = _wrap(_res(xp.stack(parts, axis=d)))
    if _needs(input, other):
        n = new_node(LinalgCrossBackward0)
        n.dim = d
        _finish(t, n, (input, other), (input, other))
    return t


def _binary_arrays(x, y):
    dt = _dtype.promote_types(x.dtype, y.dtype).np
    xa, ya = x._a, y._a
    return (xa if xa.dtype == dt else xa.astype(dt)), (ya if ya.dtype == dt else ya.astype(dt))


class VdotBackward0(Node):
    __slots__ = ()
    formula = "VdotBackward0: self: grad * other, other: grad * self  (real)"
    saved_names = ("self", "other")

    def backward(self, g):
        x, y = self.saved
        n = self._next
        return (g * y if n[0][0] is not None else None, g * x if n[1][0] is not None else None)


@op
def vdot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {other.shape[0]} "
                           "elements respectively")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_type_word(input)} "
                           f"and {_type_word(other)}")
    t = _wrap(_res(_ns(input._a).dot(input._a, other._a)))
    if _needs(input, other):
        _finish(t, new_node(VdotBackward0), (input, other), (input, other))
    return t


class BaddbmmBackward0(Node):
    __slots__ = ("alpha", "beta")
    formula = ("BaddbmmBackward0: self: grad * beta, batch1: grad.bmm(batch2.mT) * alpha, "
               "batch2: batch1.mT.bmm(grad) * alpha")
    saved_names = ("batch1", "batch2")
    saved_attrs = ("alpha", "beta")

    def backward(self, g):
        b1, b2 = self.saved
        n = self._next
        a, b = self.alpha, self.beta
        gs = (g if b == 1 else g * b) if n[0][0] is not None else None
        g1 = g.bmm(b2.mT) if n[1][0] is not None else None
        g2 = b1.mT.bmm(g) if n[2][0] is not None else None
        if a != 1:
            g1 = g1 * a if g1 is not None else None
            g2 = g2 * a if g2 is not None else None
        return gs, g1, g2


@op
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (batch1 @ batch2), batch by batch (beta=0 ignores input's nan/inf)."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if batch1.ndim != 3 else "batch2 must be a 3D tensor")
    if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch1.shape[0]}, {batch1.shape[2]}] but got: [{batch2.shape[0]}, {batch2.shape[1]}].")
    if not input.dtype is batch1.dtype is batch2.dtype:
        c = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int"}
        raise RuntimeError(f"Input dtypes must be the same, got: input {c.get(input.dtype.name, input.dtype.name)}, "
                           f"batch1: {c.get(batch1.dtype.name, batch1.dtype.name)}, "
                           f"batch2: {c.get(batch2.dtype.name, batch2.dtype.name)}")
    return _add_product(input, batch1, batch2, beta, alpha, BaddbmmBackward0)


def _add_product(input, m1, m2, beta, alpha, cls):
    r = m1._a @ m2._a
    if alpha != 1:
        r = r * alpha
    shape = r.shape
    for i in range(1, input.ndim + 1):        # input must expand to the product's shape, checked from the end
        s, target = input.shape[-i], shape[-i] if i <= len(shape) else None
        if target is None or s not in (1, target):
            raise RuntimeError(f"The expanded size of the tensor ({target}) must match the existing size ({s}) at "
                               f"non-singleton dimension {len(shape) - i}.  Target sizes: {list(shape)}.  Tensor "
                               f"sizes: {list(input.shape)}")
    if beta != 0:
        r = r + (input._a if beta == 1 else input._a * beta)
    elif r.shape != tuple(np.broadcast_shapes(input.shape, shape)):
        r = _ns(r).broadcast_to(r, np.broadcast_shapes(input.shape, shape)).copy()
    t = _wrap(_res(r.astype(m1._a.dtype, copy=False)))
    if _needs(input, m1, m2):
        n = new_node(cls)
        n.alpha, n.beta = alpha, beta
        _finish(t, n, (input, m1, m2), (m1 if m2._rg else None, m2 if m1._rg else None))
    return t


class AddmvBackward0(Node):
    __slots__ = ("alpha", "beta")
    formula = "AddmvBackward0: self: grad * beta, mat: grad.outer(vec) * alpha, vec: mat.t().mv(grad) * alpha"
    saved_names = ("mat", "vec")
    saved_attrs = ("alpha", "beta")

    def backward(self, g):
        m, v = self.saved
        n = self._next
        a, b = self.alpha, self.beta
        gs = (g if b == 1 else g * b) if n[0][0] is not None else None
        gm = outer(g, v) if n[1][0] is not None else None
        gv = m.t().mv(g) if n[2][0] is not None else None
        if a != 1:
            gm = gm * a if gm is not None else None
            gv = gv * a if gv is not None else None
        return gs, gm, gv


@op
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec)."""
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0] or input.numel() not in (1, mat.shape[0]) or input.ndim > 1:
        raise RuntimeError(f"size mismatch, got input ({input.numel()}), mat ({mat.shape[0]}x{mat.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    if not input.dtype is mat.dtype is vec.dtype:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{_type_word(input)}, {_type_word(mat)}, and {_type_word(vec)}")
    return _add_product(input, mat, vec, beta, alpha, AddmvBackward0)


addmm_ = make_inplace(addmm)
addmm_ = op(addmm_, "addmm_", function=False)


baddbmm_ = make_inplace(baddbmm)
baddbmm_ = op(baddbmm_, "baddbmm_", function=False)


addmv_ = make_inplace(addmv)
addmv_ = op(addmv_, "addmv_", function=False)
