"""The engine's op table (like PyTorch's OpInfo): every differentiable op with sample inputs.

Each entry: name, fn(m, *tensors) written against a torch-like module `m` (so the same
line runs on `engine` and on `torch`), sample input shapes (broadcasting included), the
input domain, and whether double backward is checked. Tests in test_engine_ops.py run
gradcheck/gradgradcheck from it and compare values and gradients with PyTorch.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpInfo:
    name: str
    fn: object
    samples: list                  # list of tuples of shapes (one shape per tensor input)
    domain: str = "real"           # "real", "positive", "unit" (-0.9..0.9), "distinct"
    gradgrad: bool = True
    grad_fn: str = None            # expected grad_fn name of the result (checked against torch too)
    int_inputs: dict = field(default_factory=dict)


def make_inputs(op, shapes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for k, s in enumerate(shapes):
        if op.domain == "positive":
            a = rng.uniform(0.5, 2.0, s)
        elif op.domain == "unit":
            a = rng.uniform(-0.9, 0.9, s)
        else:
            a = rng.uniform(-2.0, 2.0, s)
            n = a.size
            if op.domain == "distinct" and n:
                a = (rng.permutation(n) - n / 2 + 0.5).reshape(s) * 0.37 + 0.11 * k
            a = np.where(np.abs(a) < 0.1, a + 0.3, a)    # keep away from kinks at 0
        out.append(a)
    return out


IDX = np.array([[0, 2], [1, 0], [2, 1]])
SR_IDX = np.array([[0, 1, 0], [2, 3, 3], [3, 3, 1]])     # scatter_reduce's: repeats in each row

OPS = [
    OpInfo("add", lambda m, a, b: m.add(a, b), [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1))]),
    OpInfo("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), [((3, 4), (1, 4))]),
    OpInfo("add_scalar", lambda m, a: a + 2.0, [((3,),)]),
    OpInfo("radd_scalar", lambda m, a: 2.0 + a, [((3,),)]),
    OpInfo("sub", lambda m, a, b: a - b, [((3, 4), (3, 4)), ((3, 1), (1, 4))]),
    OpInfo("rsub", lambda m, a: 2.0 - a, [((3, 2),)]),
    OpInfo("mul", lambda m, a, b: a * b, [((3, 4), (3, 4)), ((3, 4), (4,)), ((), (2, 3))]),
    OpInfo("mul_scalar", lambda m, a: a * 3.0, [((3,),)]),
    OpInfo("div", lambda m, a, b: a / b, [((3, 4), (3, 4)), ((3, 4), (1, 4))], domain="positive"),
    OpInfo("rdiv", lambda m, a: 2.0 / a, [((3,),)], domain="positive"),
    OpInfo("neg", lambda m, a: -a, [((3, 4),)]),
    OpInfo("pow_scalar", lambda m, a: a ** 3, [((3, 4),)]),
    OpInfo("pow_frac", lambda m, a: a ** 2.5, [((3,),)], domain="positive"),
    OpInfo("pow_square", lambda m, a: a ** 2, [((3,),)]),
    OpInfo("pow_tensor", lambda m, a, b: m.pow(a, b), [((3,), (3,)), ((2, 3), (3,))], domain="positive"),
    OpInfo("rpow", lambda m, a: 2.0 ** a, [((3,),)]),
    OpInfo("exp", lambda m, a: m.exp(a), [((3, 4),)]),
    OpInfo("log", lambda m, a: m.log(a), [((3, 4),)], domain="positive"),
    OpInfo("sqrt", lambda m, a: m.sqrt(a), [((3, 4),)], domain="positive"),
    OpInfo("abs", lambda m, a: m.abs(a), [((3, 4),)]),
    OpInfo("sin", lambda m, a: m.sin(a), [((3, 4),)]),
    OpInfo("cos", lambda m, a: m.cos(a), [((3, 4),)]),
    OpInfo("tanh", lambda m, a: m.tanh(a), [((3, 4),)]),
    OpInfo("sigmoid", lambda m, a: m.sigmoid(a), [((3, 4),)]),
    OpInfo("relu", lambda m, a: m.relu(a), [((3, 4),)], gradgrad=True),
    OpInfo("log1p", lambda m, a: m.log1p(a), [((3,),)], domain="positive"),
    OpInfo("reciprocal", lambda m, a: m.reciprocal(a), [((3,),)], domain="positive"),
    OpInfo("rsqrt", lambda m, a: m.rsqrt(a), [((3,),)], domain="positive"),
    OpInfo("clamp", lambda m, a: m.clamp(a, -1.0, 1.0), [((3, 4),)]),
    OpInfo("clamp_min", lambda m, a: a.clamp(min=0.5), [((3, 4),)]),
    OpInfo("clamp_tensor", lambda m, a, lo: m.clamp(a, min=lo), [((3, 4), (3, 4))], domain="distinct"),
    OpInfo("maximum", lambda m, a, b: m.maximum(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))], domain="distinct"),
    OpInfo("minimum", lambda m, a, b: m.minimum(a, b), [((3, 4), (3, 4))], domain="distinct"),
    OpInfo("where", lambda m, a, b: m.where(a > 0, a, b), [((3, 4), (3, 4)), ((3, 4), (4,))]),
    OpInfo("sum", lambda m, a: a.sum(), [((3, 4),), ((),)]),
    OpInfo("sum_dim", lambda m, a: a.sum(1), [((3, 4),), ((2, 3, 4),)]),
    OpInfo("sum_dims_keep", lambda m, a: a.sum((0, 2), keepdim=True), [((2, 3, 4),)]),
    OpInfo("mean", lambda m, a: a.mean(), [((3, 4),)]),
    OpInfo("mean_dim", lambda m, a: a.mean(-1), [((3, 4),)]),
    OpInfo("mean_keep", lambda m, a: a.mean(0, keepdim=True), [((3, 4),)]),
    OpInfo("prod", lambda m, a: a.prod(), [((2, 3),)]),
    OpInfo("prod_dim", lambda m, a: a.prod(1), [((2, 3),)]),
    OpInfo("max", lambda m, a: a.max(), [((3, 4),)], domain="distinct"),
    OpInfo("max_dim", lambda m, a: a.max(1)[0], [((3, 4),)], domain="distinct"),
    OpInfo("max_dim_keep", lambda m, a: a.max(0, keepdim=True).values, [((3, 4),)], domain="distinct"),
    OpInfo("min", lambda m, a: a.min(), [((3, 4),)], domain="distinct"),
    OpInfo("min_dim", lambda m, a: a.min(dim=0).values, [((3, 4),)], domain="distinct"),
    OpInfo("amax", lambda m, a: a.amax(1), [((3, 4),)], domain="distinct"),
    OpInfo("amin", lambda m, a: m.amin(a, (0, 1)), [((3, 4),)], domain="distinct"),
    OpInfo("norm", lambda m, a: a.norm(), [((3, 4),)]),
    OpInfo("norm_dim", lambda m, a: a.norm(dim=1), [((3, 4),)]),
    OpInfo("norm_p1", lambda m, a: a.norm(p=1), [((3, 4),)]),
    OpInfo("norm_p3", lambda m, a: m.norm(a, 3, 0, True), [((3, 4),)]),
    OpInfo("var", lambda m, a: a.var(), [((3, 4),)]),
    OpInfo("var_dim", lambda m, a: a.var(1, unbiased=False), [((3, 4),)]),
    OpInfo("std", lambda m, a: a.std(), [((3, 4),)]),
    OpInfo("std_dim", lambda m, a: m.std(a, 0, keepdim=True), [((3, 4),)]),
    OpInfo("logsumexp", lambda m, a: m.logsumexp(a, 1), [((3, 4),)]),
    OpInfo("softmax", lambda m, a: m.softmax(a, 1), [((3, 4),)]),
    OpInfo("softmax0", lambda m, a: a.softmax(0), [((3, 4),)]),
    OpInfo("log_softmax", lambda m, a: m.log_softmax(a, -1), [((3, 4),)]),
    OpInfo("cumsum", lambda m, a: m.cumsum(a, 1), [((3, 4),)]),
    OpInfo("cumprod", lambda m, a: m.cumprod(a, 1), [((3, 4),)], domain="positive"),
    OpInfo("matmul_dot", lambda m, a, b: a @ b, [((4,), (4,))]),
    OpInfo("matmul_mv", lambda m, a, b: a @ b, [((3, 4), (4,))]),
    OpInfo("matmul_vm", lambda m, a, b: a @ b, [((4,), (4, 2))]),
    OpInfo("matmul_mm", lambda m, a, b: m.matmul(a, b), [((3, 4), (4, 2))]),
    OpInfo("matmul_3d2d", lambda m, a, b: a @ b, [((2, 3, 4), (4, 2))]),
    OpInfo("matmul_2d3d", lambda m, a, b: a @ b, [((3, 4), (2, 4, 2))]),
    OpInfo("matmul_bmm", lambda m, a, b: a @ b, [((2, 3, 4), (2, 4, 2)), ((2, 1, 3, 4), (3, 4, 2))]),
    OpInfo("matmul_3d1d", lambda m, a, b: a @ b, [((2, 3, 4), (4,))]),
    OpInfo("mm", lambda m, a, b: m.mm(a, b), [((3, 4), (4, 2))]),
    OpInfo("bmm", lambda m, a, b: m.bmm(a, b), [((2, 3, 4), (2, 4, 2))]),
    OpInfo("reshape", lambda m, a: a.reshape(2, -1) * 1.0, [((3, 4),)]),
    OpInfo("view", lambda m, a: a.view(12), [((3, 4),)]),
    OpInfo("flatten", lambda m, a: m.flatten(a, 1), [((2, 3, 2),)]),
    OpInfo("transpose", lambda m, a: a.transpose(0, 1), [((3, 4),)]),
    OpInfo("T", lambda m, a: a.T, [((3, 4),)]),
    OpInfo("t", lambda m, a: a.t(), [((3, 4),)]),
    OpInfo("permute", lambda m, a: a.permute(2, 0, 1), [((2, 3, 4),)]),
    OpInfo("squeeze", lambda m, a: a.squeeze(), [((3, 1, 4),)]),
    OpInfo("squeeze_dim", lambda m, a: a.squeeze(1), [((3, 1, 4),)]),
    OpInfo("unsqueeze", lambda m, a: a.unsqueeze(-1), [((3, 4),)]),
    OpInfo("expand", lambda m, a: a.expand(2, 3, 4), [((3, 1),)]),
    OpInfo("cat", lambda m, a, b: m.cat([a, b], 1), [((3, 2), (3, 4))]),
    OpInfo("stack", lambda m, a, b: m.stack([a, b], 1), [((3, 2), (3, 2))]),
    OpInfo("select", lambda m, a: a[1], [((3, 4),)]),
    OpInfo("slice", lambda m, a: a[1:, ::2], [((3, 4),)]),
    OpInfo("index_list", lambda m, a: a[[0, 2, 0]], [((3, 4),)]),
    OpInfo("index_2d", lambda m, a: a[[0, 1], [2, 3]], [((3, 4),)]),
    OpInfo("index_mask", lambda m, a: a[a > 0], [((3, 4),)]),
    OpInfo("index_mixed", lambda m, a: a[None, 0, 1:3], [((3, 4),)]),
    OpInfo("index_ellipsis", lambda m, a: a[..., 1], [((2, 3, 4),)]),
    OpInfo("gather", lambda m, a: m.gather(a, 1, m.tensor(IDX)), [((3, 4),)]),
    OpInfo("flip", lambda m, a: m.flip(a, [0]), [((3, 4),)]),
    OpInfo("split", lambda m, a: a.split(2, 1)[1] * 2, [((3, 4),)]),
    OpInfo("unbind", lambda m, a: a.unbind(0)[2], [((3, 4),)]),
    OpInfo("masked_fill", lambda m, a: a.masked_fill(a > 0, 0.0), [((3, 4),)]),
    OpInfo("repeat", lambda m, a: a.repeat(2, 1), [((3, 2),)]),
    OpInfo("index_select", lambda m, a: a.index_select(0, m.tensor([2, 0])), [((3, 4),)]),
    OpInfo("clone", lambda m, a: a.clone(), [((3,),)]),
    OpInfo("setitem", lambda m, a, b: _setitem(a, b), [((3, 4), (4,))]),
    OpInfo("setitem_adv", lambda m, a, b: _setitem_adv(a, b), [((3, 4), (2, 4))]),
    OpInfo("inplace_mul", lambda m, a, b: (a * 1).mul_(b), [((3, 4), (4,))]),
    OpInfo("inplace_add", lambda m, a, b: (a * 2).add_(b, alpha=3), [((3, 4), (3, 4))]),
    OpInfo("split_sizes", lambda m, a: m.split(a, [1, 3], 1)[1], [((3, 4),)]),
    OpInfo("chunk", lambda m, a: a.chunk(2, 0)[1], [((3, 4),)]),
    OpInfo("sort", lambda m, a: a.sort(1).values, [((3, 4),)], domain="distinct"),
    OpInfo("topk", lambda m, a: a.topk(2, dim=1).values, [((3, 4),)], domain="distinct"),
    OpInfo("norm_inf", lambda m, a: a.norm(float("inf")), [((3, 4),)], domain="positive"),
    OpInfo("var_corr0", lambda m, a: a.var(dim=1, correction=0), [((3, 4),)]),
    OpInfo("index_list_slice", lambda m, a: a[[0, 2], 1:3], [((3, 4),)]),
    OpInfo("index_slice_list", lambda m, a: a[1:, [0, 3, 0]], [((3, 4),)]),
    OpInfo("index_step", lambda m, a: a[::2, 1::2], [((3, 4),)]),
    OpInfo("movedim", lambda m, a: a.movedim(0, 2), [((2, 3, 4),)]),
    OpInfo("narrow", lambda m, a: a.narrow(1, 1, 2), [((3, 4),)]),
    OpInfo("unflatten", lambda m, a: a.unflatten(1, (2, 2)), [((3, 4),)]),
    OpInfo("where_scalar", lambda m, a: m.where(a > 0, a, 0.0), [((3, 4),)]),
    OpInfo("scatter_add", lambda m, a, b: a.scatter_add(1, m.tensor([[0, 1], [2, 2], [3, 3]]), b),
           [((3, 4), (3, 2))]),
    OpInfo("repeat_3d", lambda m, a: a.repeat(2, 1, 2), [((4,),)]),
    OpInfo("lerp", lambda m, a, b: m.lerp(a, b, 0.3), [((3, 4), (3, 4))]),
    OpInfo("tril", lambda m, a: a.tril(), [((3, 4),)]),
    OpInfo("outer", lambda m, a, b: m.outer(a, b), [((3,), (4,))]),
    OpInfo("addmm", lambda m, a, b, c: m.addmm(a, b, c), [((4,), (3, 2), (2, 4))]),
    OpInfo("matmul_1d3d", lambda m, a, b: m.matmul(a, b), [((4,), (2, 4, 3))]),
    OpInfo("logsumexp_all", lambda m, a: m.logsumexp(a, (0, 1)), [((3, 4),)]),
    OpInfo("std_all_biased", lambda m, a: a.std(unbiased=False), [((3, 4),)]),
    OpInfo("square", lambda m, a: a.square(), [((3,),)]),
    OpInfo("tan", lambda m, a: m.tan(a), [((3,),)], domain="unit"),
    OpInfo("atan", lambda m, a: m.atan(a), [((3,),)]),
    OpInfo("log2", lambda m, a: m.log2(a), [((3,),)], domain="positive"),
    OpInfo("expm1", lambda m, a: m.expm1(a), [((3,),)]),
    OpInfo("inplace_clamp", lambda m, a: (a * 1).clamp_(-0.5, 0.5), [((3, 4),)]),
    OpInfo("inplace_view", lambda m, a, b: _inplace_view(a, b), [((3, 4), (4,))]),
    OpInfo("chain", lambda m, a, b: (m.tanh(a @ b) ** 2).sum(1).exp(), [((2, 3), (3, 2))]),
]


def _setitem(a, b):
    c = a * 1
    c[1] = b
    return c


def _inplace_view(a, b):
    c = a * 2
    c[1].mul_(b)
    return c


def _setitem_adv(a, b):
    c = a * 1
    c[[0, 2]] = b
    return c

OPS += [
    OpInfo("cumprod_zeros", lambda m, a: m.cumprod(a * m.tensor([1.0, 0.0, 1.0, 1.0], dtype=a.dtype, device=a.device), 1),
           [((3, 4),)]),
    OpInfo("prod_zeros", lambda m, a: (a * m.tensor([1.0, 0.0, 1.0], dtype=a.dtype, device=a.device)).prod(), [((3,),)]),
]


def _inplace_on_view(a, b):
    """The view itself after an in-place op on it: AsStridedBackward0 over the base's CopySlices."""
    v = (a * 2)[1]
    v.mul_(b)
    return v


def _view_after_base_in_place(a, b):
    """A view read after its base changed in place: AsStridedBackward0 over the base's new node."""
    c = a * 2
    v = c[:, 1:].t()
    c.mul_(b)
    return v


OPS += [
    OpInfo("asin", lambda m, a: m.asin(a), [((3,),)], domain="unit"),
    OpInfo("acos", lambda m, a: m.acos(a), [((3,),)], domain="unit"),
    OpInfo("sinh", lambda m, a: m.sinh(a), [((3,),)]),
    OpInfo("cosh", lambda m, a: m.cosh(a), [((3,),)]),
    OpInfo("erf", lambda m, a: m.erf(a), [((3,),)]),
    OpInfo("log10", lambda m, a: m.log10(a), [((3,),)], domain="positive"),
    OpInfo("floor", lambda m, a: m.floor(a), [((3,),)]),
    OpInfo("ceil", lambda m, a: m.ceil(a), [((3,),)]),
    OpInfo("round", lambda m, a: m.round(a), [((3,),)]),
    OpInfo("trunc", lambda m, a: m.trunc(a), [((3,),)]),
    OpInfo("sign", lambda m, a: m.sign(a), [((3,),)]),
    OpInfo("clamp_min_fn", lambda m, a: m.clamp_min(a, 0.5), [((3, 4),)]),
    OpInfo("clamp_max_fn", lambda m, a: m.clamp_max(a, 0.5), [((3, 4),)]),
    OpInfo("triu", lambda m, a: a.triu(1), [((3, 4),)]),
    OpInfo("squeeze_dims", lambda m, a: a.squeeze((1, 2)), [((3, 1, 4),)]),
    OpInfo("index_alias", lambda m, a: a[...], [((3, 4),)]),
    OpInfo("lerp_tensor", lambda m, a, b, w: m.lerp(a, b, w), [((3, 4), (3, 4), (4,))]),
    OpInfo("scatter", lambda m, a, b: a.scatter(1, m.tensor([[0, 1], [2, 3], [3, 0]]), b), [((3, 4), (3, 2))]),
    OpInfo("index_put", lambda m, a, b: a.index_put((m.tensor([0, 2]),), b), [((3, 4), (2, 4))]),
    OpInfo("copy_", lambda m, a, b: (a * 1).copy_(b), [((3, 4), (4,))]),
    OpInfo("fill_", lambda m, a: (a * 1).fill_(2.0), [((3,),)]),
    OpInfo("zero_", lambda m, a: (a * 1).zero_(), [((3,),)]),
    OpInfo("inplace_on_view", lambda m, a, b: _inplace_on_view(a, b), [((3, 4), (4,))]),
    OpInfo("view_after_base_in_place", lambda m, a, b: _view_after_base_in_place(a, b), [((3, 4), (4,))]),
    OpInfo("fill_tensor", lambda m, a, v: (a * 1).fill_(v), [((3, 4), ())], grad_fn="FillBackward3"),
    OpInfo("leaky_relu_inplace", lambda m, a: m.nn.functional.leaky_relu(a * 1, 0.1, inplace=True), [((3, 4),)],
           grad_fn="LeakyReluBackward1"),
]


def _eye(m, a, scale):
    return scale * m.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _wc(m, a):
    """A well-conditioned square matrix from a (entries in [-2, 2]): a + 6 I."""
    return a + _eye(m, a, 6.0)


def _spd(m, a):
    """A symmetric positive-definite matrix from a: a + a^T, diagonally dominant."""
    return a + a.mT + _eye(m, a, 4.0 * a.shape[-1])


OPS += [   # einsum: PyTorch's decomposition (diagonal, unsqueeze, permute, sum, bmm, view)
    OpInfo("einsum_mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b), [((3, 4), (4, 2))]),
    OpInfo("einsum_bmm", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), [((2, 3, 4), (2, 4, 2))]),
    OpInfo("einsum_ellipsis", lambda m, a, b: m.einsum("...ij,...jk", a, b), [((2, 3, 4), (4, 2))]),
    OpInfo("einsum_outer", lambda m, a, b: m.einsum("i,j->ij", a, b), [((3,), (4,))]),
    OpInfo("einsum_diag", lambda m, a: m.einsum("ii->i", a), [((3, 3),)]),
    OpInfo("einsum_batch_diag", lambda m, a: m.einsum("...ii->...i", a), [((2, 3, 3),)]),
    OpInfo("einsum_trace", lambda m, a: m.einsum("ii", a), [((3, 3),)]),
    OpInfo("einsum_diag_sum", lambda m, a: m.einsum("iij->j", a), [((3, 3, 2),)]),
    OpInfo("einsum_sum", lambda m, a: m.einsum("ij->", a), [((3, 4),)]),
    OpInfo("einsum_broadcast", lambda m, a, b: m.einsum("ij,kj->ik", a, b), [((3, 1), (2, 4))]),
    OpInfo("einsum_three", lambda m, a, b, c: m.einsum("bn,anm,bm->ba", a, b, c), [((2, 3), (4, 3, 5), (2, 5))]),
    OpInfo("einsum_list", lambda m, a, b: m.einsum("i,i->", [a, b]), [((4,), (4,))]),
]

OPS += [   # engine.linalg: inputs made well-conditioned (and symmetric where the op needs it)
    OpInfo("linalg_inv", lambda m, a: m.linalg.inv(_wc(m, a)), [((3, 3),), ((2, 3, 3),)]),
    OpInfo("inverse", lambda m, a: m.inverse(_wc(m, a)), [((3, 3),)]),
    OpInfo("Tensor.inverse", lambda m, a: _wc(m, a).inverse(), [((3, 3),)]),
    OpInfo("linalg_det", lambda m, a: m.linalg.det(_wc(m, a)), [((3, 3),), ((2, 3, 3),)]),
    OpInfo("det", lambda m, a: m.det(a), [((3, 3),)]),
    OpInfo("Tensor.det", lambda m, a: a.det(), [((2, 2),)]),
    OpInfo("linalg_slogdet", lambda m, a: m.linalg.slogdet(a).logabsdet, [((3, 3),), ((2, 3, 3),)]),
    OpInfo("logdet", lambda m, a: m.logdet(_spd(m, a)), [((3, 3),)]),
    OpInfo("linalg_solve", lambda m, a, b: m.linalg.solve(_wc(m, a), b),
           [((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3)), ((3, 3), (2, 3, 2))]),
    OpInfo("linalg_solve_right", lambda m, a, b: m.linalg.solve(_wc(m, a), b, left=False), [((3, 3), (2, 3))]),
    OpInfo("linalg_cholesky", lambda m, a: m.linalg.cholesky(_spd(m, a)), [((3, 3),), ((2, 3, 3),)]),
    OpInfo("linalg_cholesky_upper", lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True), [((3, 3),)]),
    OpInfo("linalg_qr_Q", lambda m, a: m.linalg.qr(a).Q, [((4, 3),), ((3, 5),), ((2, 3, 3),)]),
    OpInfo("linalg_qr_R", lambda m, a: m.linalg.qr(a)[1], [((4, 3),), ((3, 5),), ((2, 3, 3),)]),
    OpInfo("linalg_eigh_values", lambda m, a: m.linalg.eigh(a + a.mT).eigenvalues, [((3, 3),), ((2, 3, 3),)]),
    OpInfo("linalg_eigh_vectors", lambda m, a: m.linalg.eigh(a + a.mT)[1] ** 2, [((3, 3),), ((2, 3, 3),)]),
    OpInfo("linalg_eigvalsh", lambda m, a: m.linalg.eigvalsh(a + a.mT), [((3, 3),)]),
    OpInfo("linalg_svdvals", lambda m, a: m.linalg.svdvals(a), [((4, 3),), ((3, 5),), ((2, 3, 3),)]),
    OpInfo("linalg_svd_U", lambda m, a: m.linalg.svd(a, full_matrices=False).U ** 2, [((4, 3),), ((3, 5),)]),
    OpInfo("linalg_svd_Vh", lambda m, a: m.linalg.svd(a, full_matrices=False)[2] ** 2, [((4, 3),), ((3, 5),)]),
    OpInfo("linalg_svd_full", lambda m, a: m.linalg.svd(a)[0] ** 2, [((3, 3),)]),
    OpInfo("svd_U_S", lambda m, a: m.svd(a).U ** 2 * m.svd(a).S.sum(), [((4, 3),), ((3, 5),)]),
    OpInfo("svd_V", lambda m, a: a.svd(some=False).V ** 2, [((4, 3),), ((3, 3),)]),
    OpInfo("linalg_pinv", lambda m, a: m.linalg.pinv(a), [((4, 3),), ((2, 3, 5),)]),
    OpInfo("pinverse", lambda m, a: m.pinverse(a), [((3, 4),)]),
    OpInfo("matrix_norm_nuc", lambda m, a: m.linalg.matrix_norm(a, "nuc"), [((4, 3),)]),
    OpInfo("matrix_norm_2", lambda m, a: m.linalg.matrix_norm(a, 2, keepdim=True), [((2, 4, 3),)]),
    OpInfo("matrix_norm_-2", lambda m, a: m.linalg.matrix_norm(a, -2, dim=(0, 2)), [((4, 2, 3),)]),
    OpInfo("matrix_norm_1", lambda m, a: m.linalg.matrix_norm(a, 1), [((4, 3),)]),
    OpInfo("matrix_norm_inf", lambda m, a: m.linalg.matrix_norm(a, float("inf"), keepdim=True), [((4, 3),)]),
    OpInfo("linalg_norm_nuc", lambda m, a: m.linalg.norm(a, "nuc"), [((4, 3),)]),
    OpInfo("linalg_matrix_exp", lambda m, a: m.linalg.matrix_exp(a), [((3, 3),), ((2, 3, 3),)]),
    OpInfo("matrix_exp", lambda m, a: m.matrix_exp(a * 0.2), [((3, 3),)]),
]

OPS += [   # diagonals, reshape's three graphs, out-of-place fill, where with a scalar first
    OpInfo("diagonal", lambda m, a: a.diagonal(), [((3, 4),), ((4, 3),)], grad_fn="DiagonalBackward0"),
    OpInfo("diagonal_offset_dims", lambda m, a: m.diagonal(a, 1, 0, 2), [((2, 3, 4),)]),
    OpInfo("diagonal_neg_offset", lambda m, a: m.diagonal(a, offset=-1, dim1=-1, dim2=0), [((3, 2, 4),)]),
    OpInfo("diag_embed", lambda m, a: m.diag_embed(a), [((2, 3),)], grad_fn="DiagEmbedBackward0"),
    OpInfo("diag_embed_dims", lambda m, a: a.diag_embed(-1, 2, 0), [((2, 3),)]),
    OpInfo("diag_1d", lambda m, a: m.diag(a, 1), [((3,),)], grad_fn="DiagEmbedBackward0"),
    OpInfo("diag_2d", lambda m, a: m.diag(a, -1), [((3, 4),)], grad_fn="DiagonalBackward0_copy"),
    OpInfo("trace", lambda m, a: m.trace(a), [((3, 4),)], grad_fn="TraceBackward0"),
    OpInfo("reshape_alias", lambda m, a: (a * 1).t().reshape(2, 2, 3), [((3, 4),)], grad_fn="ReshapeAliasBackward0"),
    OpInfo("reshape_copy", lambda m, a: (a * 1).t().reshape(12), [((3, 4),)], grad_fn="UnsafeViewBackward0"),
    OpInfo("fill", lambda m, a: m.fill(a, 2.5), [((3, 4),)], grad_fn="FillBackward0"),
    OpInfo("fill_tensor_value", lambda m, a, v: m.fill(a * 2, v), [((3, 4), ())], grad_fn="FillBackward1"),
    OpInfo("where_scalar_first", lambda m, a: m.where(a > 0, 1.5, a), [((3, 4),)]),
    OpInfo("relu_inplace", lambda m, a: (a * 1).relu_(), [((3, 4),)], grad_fn="ReluBackward0"),
    OpInfo("F_relu_inplace", lambda m, a: m.nn.functional.relu(a * 1, inplace=True), [((3, 4),)]),
]

OPS += [   # structural ops and reductions (engine/ops/shape.py, reductions.py, products.py, indexing.py)
    OpInfo("diff", lambda m, a: m.diff(a), [((3, 4),)], grad_fn="SubBackward0"),
    OpInfo("diff_n2_dim0", lambda m, a: a.diff(n=2, dim=0), [((4, 3),)]),
    OpInfo("diff_prepend_append", lambda m, a, b, c: m.diff(a, dim=1, prepend=b, append=c),
           [((3, 4), (3, 2), (3, 1))]),
    OpInfo("kron", lambda m, a, b: m.kron(a, b), [((2, 3), (3, 2)), ((2,), (3, 2))], grad_fn="UnsafeViewBackward0"),
    OpInfo("cross", lambda m, a, b: m.cross(a, b, dim=1), [((2, 3), (2, 3))], grad_fn="LinalgCrossBackward0"),
    OpInfo("linalg_cross", lambda m, a, b: m.linalg.cross(a, b), [((2, 3), (1, 3)), ((3, 2, 3), (3, 2, 3))]),
    OpInfo("roll", lambda m, a: m.roll(a, 1, 0), [((3, 4),)], grad_fn="RollBackward0"),
    OpInfo("roll_dims", lambda m, a: a.roll((1, -3), (0, 1)), [((3, 4),)]),
    OpInfo("roll_flat", lambda m, a: m.roll(a, 2), [((3, 4),)]),
    OpInfo("rot90", lambda m, a: m.rot90(a), [((3, 4),)], grad_fn="Rot90Backward0"),
    OpInfo("rot90_k", lambda m, a: a.rot90(-1, (2, 0)), [((2, 3, 4),)]),
    OpInfo("tensordot", lambda m, a, b: m.tensordot(a, b, dims=1), [((3, 4), (4, 2))], grad_fn="ViewBackward0"),
    OpInfo("tensordot_lists", lambda m, a, b: m.tensordot(a, b, dims=([1, 0], [0, 2])), [((3, 4, 2), (4, 5, 3))]),
    OpInfo("vdot", lambda m, a, b: m.vdot(a, b), [((4,), (4,))], grad_fn="VdotBackward0"),
    OpInfo("baddbmm", lambda m, a, b, c: m.baddbmm(a, b, c), [((2, 3, 2), (2, 3, 4), (2, 4, 2))],
           grad_fn="BaddbmmBackward0"),
    OpInfo("baddbmm_scaled", lambda m, a, b, c: a.baddbmm(b, c, beta=0.5, alpha=2), [((3, 1), (2, 3, 4), (2, 4, 2))]),
    OpInfo("addmv", lambda m, a, b, c: m.addmv(a, b, c, beta=2, alpha=0.5), [((3,), (3, 4), (4,)), ((), (3, 4), (4,))],
           grad_fn="AddmvBackward0"),
    OpInfo("addmm_", lambda m, a, b, c: (a * 1).addmm_(b, c, alpha=2), [((3, 2), (3, 4), (4, 2))],
           grad_fn="AddmmBackward0"),
    OpInfo("index_add", lambda m, a, b: a.index_add(0, m.tensor([0, 2, 0]), b), [((3, 4), (3, 4))],
           grad_fn="IndexAddBackward0"),
    OpInfo("index_add_", lambda m, a, b: (a * 1).index_add_(1, m.tensor([3, 1]), b, alpha=2), [((3, 4), (3, 2))]),
    OpInfo("index_fill", lambda m, a: m.index_fill(a, 1, m.tensor([0, 2]), 1.5), [((3, 4),)],
           grad_fn="IndexFillBackward0"),
    OpInfo("index_fill_tensor_", lambda m, a, v: (a * 1).index_fill_(1, m.tensor([0, 2]), v), [((3, 4), ())],
           grad_fn="IndexFillBackward1"),
    OpInfo("masked_scatter", lambda m, a, b: a.masked_scatter(a > 0, b), [((3, 4), (13,)), ((3, 4), (4, 4))],
           grad_fn="MaskedScatterBackward0"),
    OpInfo("masked_scatter_", lambda m, a, b: (a * 1).masked_scatter_(b > 0, b), [((3, 4), (3, 4))]),
    OpInfo("logcumsumexp", lambda m, a: a.logcumsumexp(-1), [((3, 4),), ((4,),)], grad_fn="LogcumsumexpBackward0"),
    OpInfo("logcumsumexp_dim0", lambda m, a: m.logcumsumexp(a * 20, 0), [((4, 3),)]),
    OpInfo("cummax", lambda m, a: a.cummax(1).values, [((3, 4),)], domain="distinct", grad_fn="CummaxBackward0"),
    OpInfo("cummin", lambda m, a: m.cummin(a, 0)[0], [((3, 4),)], domain="distinct", grad_fn="CumminBackward0"),
    OpInfo("aminmax", lambda m, a: m.aminmax(a).min, [((3, 4),)], domain="distinct", grad_fn="AminmaxBackward0"),
    OpInfo("aminmax_dim", lambda m, a: _aminmax_both(m, a), [((3, 4),)], domain="distinct"),
    OpInfo("median", lambda m, a: a.median(), [((3, 4),), ((5,),)], domain="distinct", grad_fn="MedianBackward0"),
    OpInfo("median_dim", lambda m, a: a.median(1).values, [((3, 4),), ((3, 5),)], domain="distinct",
           grad_fn="MedianBackward1"),
    OpInfo("median_keepdim", lambda m, a: m.median(a, 0, keepdim=True)[0], [((4, 3),)], domain="distinct"),
    OpInfo("dist", lambda m, a, b: m.dist(a, b), [((3, 4), (4,))], grad_fn="DistBackward0"),
    OpInfo("dist_p", lambda m, a, b: a.dist(b, 3), [((3, 4), (3, 4))]),
    OpInfo("dist_p1", lambda m, a, b: m.dist(a, b, 1), [((3, 4), (3, 4))]),
    OpInfo("dist_inf", lambda m, a, b: m.dist(a, b * 0.1, float("inf")), [((3, 4), (3, 4))], domain="distinct"),
    OpInfo("trapezoid", lambda m, a: m.trapezoid(a), [((3, 4),)], grad_fn="MulBackward1"),
    OpInfo("trapezoid_dx", lambda m, a: m.trapezoid(a, dx=0.5, dim=0), [((3, 4),)]),
    OpInfo("trapezoid_x", lambda m, a, x: m.trapezoid(a, x), [((3, 4), (4,)), ((3, 4), (3, 4))],
           grad_fn="DivBackward1"),
    OpInfo("trapz", lambda m, a, x: m.trapz(a, x, dim=0), [((3, 4), (3,))]),
    OpInfo("cov", lambda m, a: m.cov(a), [((3, 4),), ((4,),)], grad_fn="SqueezeBackward0"),
    OpInfo("cov_weights", lambda m, a, w: m.cov(a, correction=0, fweights=m.tensor([1, 2, 1, 3], device=a.device), aweights=w * w),
           [((3, 4), (4,))]),
    OpInfo("cov_aweights", lambda m, a, w: m.cov(a, correction=2, aweights=w * w), [((3, 4), (4,))]),
    OpInfo("corrcoef", lambda m, a: m.corrcoef(a), [((3, 4),)], grad_fn="ClampBackward1"),
    OpInfo("diagflat", lambda m, a: m.diagflat(a), [((2, 3),)], grad_fn="DiagEmbedBackward0"),
    OpInfo("diagflat_offset", lambda m, a: a.diagflat(-1), [((3,),)]),
    OpInfo("atleast_1d", lambda m, a: m.atleast_1d(a), [((),)], grad_fn="ViewBackward0"),
    OpInfo("atleast_2d", lambda m, a: m.atleast_2d(a), [((3,),)], grad_fn="UnsqueezeBackward0"),
    OpInfo("atleast_3d", lambda m, a: m.atleast_3d(a), [((3,),), ((3, 4),), ((),)]),
    OpInfo("column_stack", lambda m, a, b: m.column_stack([a, b]), [((3,), (3, 2))], grad_fn="CatBackward0"),
    OpInfo("dstack", lambda m, a, b: m.dstack([a, b]), [((3,), (3,)), ((3, 2), (3, 2))], grad_fn="CatBackward0"),
    OpInfo("hsplit", lambda m, a: m.hsplit(a, 2)[1], [((3, 4),)], grad_fn="SliceBackward0"),
    OpInfo("hsplit_indices", lambda m, a: m.hsplit(a, [1, 3])[2], [((4,),)]),
    OpInfo("vsplit", lambda m, a: a.vsplit([1])[1], [((3, 4),)]),
    OpInfo("tril_", lambda m, a: (a * 1).tril_(1), [((3, 4),)], grad_fn="TrilBackward0"),
    OpInfo("triu_", lambda m, a: (a * 1).triu_(-1), [((3, 4),)], grad_fn="TriuBackward0"),
    OpInfo("fill_diagonal_", lambda m, a: (a * 1).fill_diagonal_(2.0), [((3, 4),), ((4, 3),)], grad_fn="CopySlices"),
    OpInfo("unfold", lambda m, a: a.unfold(1, 2, 1), [((3, 4),)], grad_fn="UnfoldBackward0"),
    OpInfo("unfold_step", lambda m, a: a.unfold(0, 2, 3), [((6, 2),), ((7,),)]),
    OpInfo("sum_to_size", lambda m, a: a.sum_to_size(1, 4), [((3, 4),)], grad_fn="SumBackward1"),
    OpInfo("sum_to_size_lead", lambda m, a: a.sum_to_size(3, 1), [((2, 3, 4),)]),
    OpInfo("cartesian_prod", lambda m, a, b: m.cartesian_prod(a, b), [((2,), (3,))], grad_fn="StackBackward0"),
    OpInfo("combinations", lambda m, a: m.combinations(a, 2), [((4,),)], grad_fn="StackBackward0"),
    OpInfo("multi_dot", lambda m, a, b, c, d: m.linalg.multi_dot([a, b, c, d]),
           [((3,), (3, 5), (5, 2), (2,)), ((2, 4), (4, 3), (3, 6), (6, 2))]),
    OpInfo("combinations_replace", lambda m, a: m.combinations(a, 3, with_replacement=True), [((3,),)]),
    OpInfo("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), [((2, 3), (2,), ())], grad_fn="BlockDiagBackward0"),
]


def _aminmax_both(m, a):
    lo, hi = m.aminmax(a, dim=1, keepdim=True)
    return lo * 2 + hi


OPS += [   # engine/ops/pointwise.py: elementwise math (inputs kept inside each op's domain)
    OpInfo("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.7), [((3, 4), (4,), (3, 1)), ((3,), (3,), (3,))],
           grad_fn="AddcmulBackward0"),
    OpInfo("addcmul_default", lambda m, a, b, c: a.addcmul(b, c), [((3, 4), (3, 4), ())]),
    OpInfo("addcdiv", lambda m, a, b, c: m.addcdiv(a, b, c, value=-1.5), [((3, 4), (4,), (3, 1))], domain="positive",
           grad_fn="AddcdivBackward0"),
    OpInfo("atan2", lambda m, a, b: m.atan2(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))], grad_fn="Atan2Backward0"),
    OpInfo("arctan2", lambda m, a, b: a.arctan2(b), [((3,), (3,))]),
    OpInfo("hypot", lambda m, a, b: m.hypot(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))], grad_fn="HypotBackward0"),
    OpInfo("logaddexp", lambda m, a, b: m.logaddexp(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))],
           grad_fn="LogaddexpBackward0"),
    OpInfo("logaddexp2", lambda m, a, b: a.logaddexp2(b), [((3, 4), (4,))], grad_fn="Logaddexp2Backward0"),
    OpInfo("xlogy", lambda m, a, b: m.xlogy(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))], domain="positive",
           grad_fn="XlogyBackward0"),
    OpInfo("xlogy_number_self", lambda m, b: m.xlogy(2.5, b), [((3,),)], domain="positive", grad_fn="XlogyBackward1"),
    OpInfo("xlogy_number_other", lambda m, a: a.xlogy(3.0), [((3,),)], grad_fn="XlogyBackward2"),
    OpInfo("logit", lambda m, a: m.logit(a * 0.5 + 0.5), [((3, 4),)], domain="unit", grad_fn="LogitBackward0"),
    OpInfo("logit_eps", lambda m, a: (a * 0.5 + 0.5).logit(eps=0.2), [((3, 4),)], domain="unit"),
    OpInfo("frac", lambda m, a: m.frac(a), [((3, 4),)], grad_fn="FracBackward0"),
    OpInfo("sgn", lambda m, a: m.sgn(a) * a, [((3,),)]),     # torch's sgn alone leaves a ZeroTensor grad
    OpInfo("exp2", lambda m, a: m.exp2(a), [((3, 4),)], grad_fn="Exp2Backward0"),
    OpInfo("asinh", lambda m, a: m.asinh(a), [((3, 4),)], grad_fn="AsinhBackward0"),
    OpInfo("acosh", lambda m, a: m.acosh(a + 1.0), [((3, 4),)], domain="positive", grad_fn="AcoshBackward0"),
    OpInfo("atanh", lambda m, a: m.atanh(a), [((3, 4),)], domain="unit", grad_fn="AtanhBackward0"),
    OpInfo("arcsinh", lambda m, a: a.arcsinh(), [((3,),)]),
    OpInfo("sinc", lambda m, a: m.sinc(a), [((3, 4),)], grad_fn="SincBackward0"),
    OpInfo("copysign", lambda m, a, b: m.copysign(a, b), [((3, 4), (3, 4)), ((3, 4), (4,))],
           grad_fn="CopysignBackward0"),
    OpInfo("copysign_number", lambda m, a: a.copysign(-1.0), [((3, 4),)], grad_fn="CopysignBackward1"),
    OpInfo("nan_to_num", lambda m, a: m.nan_to_num(a), [((3, 4),)], grad_fn="NanToNumBackward0"),
    OpInfo("deg2rad", lambda m, a: m.deg2rad(a), [((3, 4),)], grad_fn="Deg2RadBackward0"),
    OpInfo("rad2deg", lambda m, a: a.rad2deg(), [((3, 4),)], grad_fn="Rad2DegBackward0"),
    OpInfo("float_power", lambda m, a: m.float_power(a, 2.5), [((3, 4),)], domain="positive", grad_fn="PowBackward0"),
    OpInfo("float_power_tensor", lambda m, a, b: a.float_power(b), [((3, 4), (4,))], domain="positive",
           grad_fn="PowBackward1"),
    OpInfo("float_power_number_base", lambda m, a: m.float_power(2, a), [((3,),)], grad_fn="PowBackward2"),
    OpInfo("addcmul_", lambda m, a, b, c: (a * 1).addcmul_(b, c, value=2), [((3, 4), (4,), (3, 4))],
           grad_fn="AddcmulBackward0"),
    OpInfo("addcdiv_", lambda m, a, b, c: (a * 1).addcdiv_(b, c), [((3, 4), (3, 4), (4,))], domain="positive",
           grad_fn="AddcdivBackward0"),
    OpInfo("atan2_", lambda m, a, b: (a * 1).atan2_(b), [((3, 4), (4,))], grad_fn="Atan2Backward0"),
    OpInfo("hypot_", lambda m, a, b: (a * 1).hypot_(b), [((3, 4), (4,))], grad_fn="HypotBackward0"),
    OpInfo("copysign_", lambda m, a, b: (a * 1).copysign_(b), [((3, 4), (3, 4))], grad_fn="CopysignBackward0"),
    OpInfo("xlogy_", lambda m, a, b: (a * 1).xlogy_(b), [((3, 4), (4,))], domain="positive",
           grad_fn="XlogyBackward0"),
    OpInfo("logit_", lambda m, a: (a * 0.5 + 0.5).logit_(), [((3, 4),)], domain="unit", grad_fn="LogitBackward0"),
    OpInfo("frac_", lambda m, a: (a * 1).frac_(), [((3,),)], grad_fn="FracBackward0"),
    OpInfo("exp2_", lambda m, a: (a * 1).exp2_(), [((3, 4),)], grad_fn="Exp2Backward0"),
    OpInfo("sinc_", lambda m, a: (a * 1).sinc_(), [((3, 4),)], grad_fn="SincBackward0"),
    OpInfo("nan_to_num_", lambda m, a: (a * 1).nan_to_num_(), [((3,),)], grad_fn="NanToNumBackward0"),
    OpInfo("log1p_", lambda m, a: (a * 1).log1p_(), [((3, 4),)], domain="positive", grad_fn="Log1PBackward0"),
    OpInfo("expm1_", lambda m, a: (a * 1).expm1_(), [((3, 4),)], grad_fn="Expm1Backward0"),
    OpInfo("rsqrt_", lambda m, a: (a * 1).rsqrt_(), [((3, 4),)], domain="positive", grad_fn="RsqrtBackward0"),
    OpInfo("true_divide_", lambda m, a, b: (a * 1).true_divide_(b), [((3, 4), (4,))], domain="positive",
           grad_fn="DivBackward0"),
    OpInfo("float_power_", lambda m, a: (a.double() * 1).float_power_(1.5), [((3, 4),)], domain="positive",
           grad_fn="PowBackward0"),
    OpInfo("deg2rad_", lambda m, a: (a * 1).deg2rad_(), [((3,),)], grad_fn="Deg2RadBackward0"),
    OpInfo("trunc_", lambda m, a: (a * 1).trunc_(), [((3,),)], grad_fn="TruncBackward0"),
    OpInfo("sign_", lambda m, a: (a * 1).sign_(), [((3,),)], grad_fn="SignBackward0"),
]


def _both(pair):
    """Two outputs of one op combined into one result, so both get a gradient."""
    x, y = pair
    return x * 2 + y


OPS += [   # compositions and views that had no row; those whose graph still differs from PyTorch's are
           # listed with the difference in tests/test_engine_op_registry.py's NO_ROW_YET
    OpInfo("broadcast_tensors", lambda m, a, b: _both(m.broadcast_tensors(a, b)), [((3, 1), (4,))]),
    OpInfo("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), [((3, 1),)], grad_fn="ExpandBackward0"),
    OpInfo("expand_as", lambda m, a, b: a.expand_as(b) * b, [((3, 1), (3, 4))]),
    OpInfo("fliplr", lambda m, a: m.fliplr(a), [((3, 4),)], grad_fn="FlipBackward0"),
    OpInfo("flipud", lambda m, a: a.flipud(), [((3, 4),)], grad_fn="FlipBackward0"),
    OpInfo("fmod", lambda m, a: m.fmod(a, 1.5), [((3, 4),)], grad_fn="FmodBackward0"),
    OpInfo("fmod_tensor", lambda m, a, b: a.fmod(b), [((3, 4), (4,))], domain="positive", grad_fn="FmodBackward1"),
    OpInfo("remainder", lambda m, a: m.remainder(a, 1.5), [((3, 4),)], grad_fn="RemainderBackward0"),
    OpInfo("remainder_tensor", lambda m, a, b: a.remainder(b), [((3, 4), (3, 4))], domain="positive",
           grad_fn="RemainderBackward1"),
    OpInfo("hstack", lambda m, a, b: m.hstack([a, b]), [((3, 2), (3, 4)), ((2,), (3,)), ((), (3,))], grad_fn="CatBackward0"),
    OpInfo("vstack", lambda m, a, b: m.vstack([a, b]), [((2, 4), (4,)), ((), ())], grad_fn="CatBackward0"),
    OpInfo("vstack_1d", lambda m, a, b: m.vstack((a, b)), [((3,), (3,))]),
    OpInfo("nansum", lambda m, a: m.nansum(a), [((3, 4),), ((),)], grad_fn="NansumBackward0"),
    OpInfo("nansum_dim", lambda m, a: a.nansum(1, keepdim=True), [((3, 4),)]),
    OpInfo("nansum_dims", lambda m, a: m.nansum(a, (0, 2)), [((2, 3, 4),)]),
    OpInfo("masked_select", lambda m, a: m.masked_select(a, a > 0), [((3, 4),)], grad_fn="MaskedSelectBackward0"),
    OpInfo("masked_select_broadcast", lambda m, a, b: a.masked_select(b > 0), [((3, 4), (4,)), ((4,), (3, 4))]),
    OpInfo("tensor_split", lambda m, a: m.tensor_split(a, 3, dim=1)[1], [((3, 4),)], grad_fn="SliceBackward0"),
    OpInfo("tensor_split_indices", lambda m, a: _both(a.tensor_split([1, 3])[1:]), [((4, 2),), ((5, 2),)]),
    OpInfo("std_mean", lambda m, a: _both(m.std_mean(a, 1)), [((3, 4),)]),
    OpInfo("std_mean_all", lambda m, a: _both(m.std_mean(a)), [((3, 4),)]),
    OpInfo("std_mean_std", lambda m, a: m.std_mean(a, (0, 1), keepdim=True)[0], [((2, 3, 2),)]),
    OpInfo("var_mean", lambda m, a: _both(m.var_mean(a, 0, correction=0)), [((3, 4),)]),
    OpInfo("var_mean_mean", lambda m, a: m.var_mean(a, 1, keepdim=True)[1], [((3, 4),)]),
    OpInfo("cdist", lambda m, a, b: m.cdist(a, b), [((3, 2), (4, 2)), ((2, 3, 2), (2, 4, 2)), ((2, 3, 2), (4, 2))],
           domain="distinct", grad_fn="CdistBackward0"),
    OpInfo("cdist_p1", lambda m, a, b: m.cdist(a, b, p=1), [((3, 2), (4, 2))], domain="distinct"),
    OpInfo("cdist_p3", lambda m, a, b: m.cdist(a, b, p=3), [((3, 2), (4, 2))], domain="distinct"),
    OpInfo("cdist_inf", lambda m, a, b: m.cdist(a, b, p=float("inf")), [((3, 2), (4, 2))]),   # no ties in |diff|
    OpInfo("ravel", lambda m, a: m.ravel(a), [((3, 4),)]),
    OpInfo("ravel_copy", lambda m, a: (a * 1).t().ravel(), [((3, 4),)]),
    OpInfo("repeat_interleave", lambda m, a: a.repeat_interleave(2, dim=0), [((3, 4),)], grad_fn="ViewBackward0"),
    OpInfo("repeat_interleave_flat", lambda m, a: m.repeat_interleave(a, 3), [((2, 2),), ((),)]),
    OpInfo("repeat_interleave_last", lambda m, a: a.repeat_interleave(2, -1), [((2, 3),)]),
    OpInfo("repeat_interleave_tensor", lambda m, a: m.repeat_interleave(a, m.tensor([1, 2, 0], device=a.device), dim=0),
           [((3, 4),)]),
    OpInfo("reshape_as", lambda m, a, b: a.reshape_as(b) * b, [((3, 4), (4, 3))]),
    OpInfo("view_as", lambda m, a, b: a.view_as(b) + b, [((3, 4), (12,))], grad_fn="AddBackward0"),
    OpInfo("select_dim", lambda m, a: a.select(1, 2), [((3, 4),)], grad_fn="SelectBackward0"),
    OpInfo("select_neg", lambda m, a: m.select(a, 0, -1), [((3, 4),), ((2, 3, 4),)]),
    OpInfo("slogdet", lambda m, a: m.slogdet(a)[1], [((3, 3),), ((2, 3, 3),)]),
    OpInfo("take_along_dim", lambda m, a: m.take_along_dim(a, m.tensor(IDX, device=a.device), 1), [((3, 4),)]),
    OpInfo("take_along_dim_flat", lambda m, a: m.take_along_dim(a, m.tensor([0, 5, 5], device=a.device)), [((3, 4),)]),
    OpInfo("tile", lambda m, a: m.tile(a, (2, 1, 2)), [((3, 4),)]),
    OpInfo("tile_short", lambda m, a: a.tile((2,)), [((2, 3),)]),
]

OPS += [   # max pooling with indices and its partial inverse (tests/test_compat_layer_options.py has more)
    OpInfo("max_unpool2d", lambda m, a: m.nn.functional.max_unpool2d(
        *m.nn.functional.max_pool2d(a, 2, return_indices=True), 2), [((2, 3, 4, 6),), ((3, 5, 4),)],
        domain="distinct", grad_fn="MaxUnpool2DBackward0"),
    OpInfo("adaptive_max_pool2d", lambda m, a: m.nn.functional.adaptive_max_pool2d(a, (2, 3)),
           [((2, 3, 5, 7),), ((3, 4, 4),)], domain="distinct", grad_fn="AdaptiveMaxPool2DBackward0"),
]

OPS += [   # engine/ops/order.py: order statistics (distinct values: the selected element is unique)
    OpInfo("kthvalue", lambda m, a: a.kthvalue(2, 1).values, [((3, 4),), ((2, 5),)], domain="distinct",
           grad_fn="KthvalueBackward0"),
    OpInfo("kthvalue_keepdim", lambda m, a: m.kthvalue(a, 3, 0, keepdim=True)[0], [((4, 3),)],
           domain="distinct"),
    OpInfo("mode", lambda m, a: m.mode(a, 0).values, [((3, 4),)], domain="distinct", grad_fn="ModeBackward0"),
    OpInfo("mode_keepdim", lambda m, a: a.mode(keepdim=True)[0], [((3, 4),), ((),)]),
    OpInfo("nanmedian", lambda m, a: a.nanmedian(), [((3, 4),), ((5,),)], domain="distinct", grad_fn="NanmedianBackward0"),
    OpInfo("nanmedian_dim", lambda m, a: m.nanmedian(a, 1).values, [((3, 4),), ((3, 5),)], domain="distinct",
           grad_fn="NanmedianBackward1"),
    OpInfo("nanmedian_keepdim", lambda m, a: a.nanmedian(-1, True)[0], [((2, 3),)], domain="distinct"),
]


OPS += [   # engine/ops/nn.py's convolutions (one N-d implementation) and engine/nn/_functional_3d.py's max pooling
    OpInfo("conv1d", lambda m, x, w, b: m.nn.functional.conv1d(x, w, b, stride=2, padding=1, groups=2),
           [((2, 4, 7), (6, 2, 3), (6,))], grad_fn="ConvolutionBackward0"),
    OpInfo("conv2d_groups", lambda m, x, w: m.nn.functional.conv2d(x, w, padding=(1, 0), dilation=(1, 2), groups=3),
           [((1, 3, 5, 6), (3, 1, 2, 2))], grad_fn="ConvolutionBackward0"),
    OpInfo("conv3d", lambda m, x, w, b: m.nn.functional.conv3d(x, w, b, stride=(1, 2, 1), padding=1),
           [((2, 2, 3, 4, 3), (3, 2, 2, 2, 2), (3,))], grad_fn="ConvolutionBackward0"),
    OpInfo("conv_transpose3d", lambda m, x, w, b: m.nn.functional.conv_transpose3d(
        x, w, b, stride=2, padding=(1, 0, 0), output_padding=1, groups=2), [((1, 4, 2, 3, 2), (4, 1, 3, 2, 2), (2,))],
           grad_fn="ConvolutionBackward0"),
    OpInfo("max_pool3d", lambda m, x: m.nn.functional.max_pool3d(x, 2, stride=(1, 2, 1), padding=1),
           [((1, 2, 3, 4, 3),), ((2, 3, 4, 3),)], domain="distinct", grad_fn="MaxPool3DWithIndicesBackward0"),
    OpInfo("adaptive_max_pool3d", lambda m, x: m.nn.functional.adaptive_max_pool3d(x, (2, 3, 2)),
           [((1, 2, 3, 4, 5),), ((2, 3, 4, 5),)], domain="distinct", grad_fn="AdaptiveMaxPool3DBackward0"),
    OpInfo("max_unpool3d", lambda m, x: m.nn.functional.max_unpool3d(
        x, m.tensor([[[[[0, 3], [9, 7]]]]], device=x.device), 2, output_size=(2, 4, 3)), [((1, 1, 1, 2, 2),)],
           grad_fn="MaxUnpool3DBackward0"),
]


OPS += [   # engine/nn/_functional_3d.py's one-node ops (average pooling, resampling, grid_sample)
    OpInfo("avg_pool3d", lambda m, x: m.nn.functional.avg_pool3d(x, 2, stride=(1, 2, 1), padding=1, ceil_mode=True,
                                                                 count_include_pad=False),
           [((1, 2, 3, 4, 3),), ((2, 3, 4, 3),)], grad_fn="AvgPool3DBackward0"),
    OpInfo("adaptive_avg_pool3d", lambda m, x: m.nn.functional.adaptive_avg_pool3d(x, (2, 3, 2)),
           [((1, 2, 3, 4, 5),), ((2, 3, 4, 5),)], grad_fn="AdaptiveAvgPool3DBackward0"),
    OpInfo("interpolate_trilinear", lambda m, x: m.nn.functional.interpolate(x, scale_factor=(2, 1.5, 0.5),
                                                                             mode="trilinear"),
           [((1, 2, 2, 3, 4),)], grad_fn="UpsampleTrilinear3DBackward0"),
    OpInfo("interpolate_bicubic", lambda m, x: m.nn.functional.interpolate(x, size=(5, 3), mode="bicubic",
                                                                           align_corners=True),
           [((1, 2, 3, 4),)], grad_fn="UpsampleBicubic2DBackward0"),
    OpInfo("interpolate_bilinear", lambda m, x: m.nn.functional.interpolate(x, scale_factor=1.5, mode="bilinear"),
           [((1, 2, 3, 4),)], grad_fn="UpsampleBilinear2DBackward0"),
    OpInfo("interpolate_linear", lambda m, x: m.nn.functional.interpolate(x, size=7, mode="linear", align_corners=True),
           [((2, 2, 4),)], grad_fn="UpsampleLinear1DBackward0"),
    OpInfo("affine_grid", lambda m, t: m.nn.functional.affine_grid(t, (2, 1, 3, 4), align_corners=False),
           [((2, 2, 3),)], grad_fn="AffineGridGeneratorBackward0"),
    OpInfo("affine_grid_3d", lambda m, t: m.nn.functional.affine_grid(t, [1, 2, 2, 3, 2], align_corners=True),
           [((1, 3, 4),)], grad_fn="AffineGridGeneratorBackward0"),
    OpInfo("grid_sample", lambda m, x, g: m.nn.functional.grid_sample(x, g * 0.6, padding_mode="reflection",
                                                                      align_corners=False),
           [((2, 2, 3, 4), (2, 3, 2, 2))], grad_fn="GridSampler2DBackward0"),
    OpInfo("grid_sample_3d", lambda m, x, g: m.nn.functional.grid_sample(x, g * 0.6, align_corners=True),
           [((1, 2, 2, 3, 2), (1, 2, 1, 2, 3))], grad_fn="GridSampler3DBackward0"),
    OpInfo("grid_sample_bicubic", lambda m, x, g: m.nn.functional.grid_sample(x, g * 0.6, "bicubic", "border",
                                                                              align_corners=False),
           [((1, 1, 3, 4), (1, 2, 2, 2))], grad_fn="GridSampler2DBackward0"),
]


OPS += [   # tests/test_compat_missing_ops.py has more: matrix_power, take, put, quantile, scatter_reduce
    OpInfo("matrix_power", lambda m, a: m.matrix_power(a, 5), [((3, 3),)], grad_fn="MmBackward0"),
    OpInfo("matrix_power_3", lambda m, a: a.matrix_power(3), [((2, 2),), ((2, 3, 3),)]),
    OpInfo("matrix_power_neg", lambda m, a: m.linalg.matrix_power(a * 0.3 + m.eye(3, dtype=a.dtype, device=a.device), -2),
           [((3, 3),)]),
    OpInfo("take", lambda m, a: m.take(a, m.tensor([[0, 5], [5, -1]], device=a.device)), [((3, 4),)],
           grad_fn="TakeBackward0"),
    OpInfo("take_method", lambda m, a: a.take(m.tensor([0, 0, 0], device=a.device)), [((),), ((2, 3),)]),
    OpInfo("put", lambda m, a, b: a.put(m.tensor([[1, 7], [4, 0]], device=a.device), b), [((3, 4), (2, 2))],
           grad_fn="PutBackward0"),
    OpInfo("put_accumulate", lambda m, a, b: m.put(a, m.tensor([1, 7, 1], device=a.device), b, accumulate=True),
           [((3, 4), (3,))]),
    OpInfo("put_", lambda m, a, b: (a * 1).put_(m.tensor([2, -1], device=a.device), b), [((2, 3), (2,))]),
    OpInfo("quantile", lambda m, a: m.quantile(a, 0.3), [((3, 4),), ((5,),)], domain="distinct",
           grad_fn="SqueezeBackward4"),
    OpInfo("quantile_dim", lambda m, a: a.quantile(m.tensor([0.25, 0.5, 0.9], dtype=a.dtype, device=a.device), dim=0),
           [((4, 3),), ((2, 5, 3),)], domain="distinct"),
    OpInfo("quantile_keepdim_lower", lambda m, a: m.quantile(a, 0.6, 1, True, interpolation="lower"), [((3, 4),)],
           domain="distinct"),
    OpInfo("quantile_midpoint", lambda m, a: a.quantile(0.5, -1, interpolation="midpoint"), [((2, 3, 4),)],
           domain="distinct"),
    OpInfo("nanquantile", lambda m, a: m.nanquantile(a, 0.7, dim=1, interpolation="nearest"), [((3, 5),)],
           domain="distinct"),
    OpInfo("scatter_reduce_sum", lambda m, a, b: a.scatter_reduce(1, m.tensor(SR_IDX, device=a.device), b, "sum"),
           [((3, 4), (3, 3))], grad_fn="ScatterReduceBackward0"),
    OpInfo("scatter_reduce_mean", lambda m, a, b: m.scatter_reduce(a, 1, m.tensor(SR_IDX, device=a.device), b, "mean",
                                                                   include_self=False), [((3, 4), (3, 3))]),
    OpInfo("scatter_reduce_amax", lambda m, a, b: a.scatter_reduce(1, m.tensor(SR_IDX, device=a.device), b, "amax"),
           [((3, 4), (3, 3))], domain="distinct"),
    OpInfo("scatter_reduce_amin", lambda m, a, b: a.scatter_reduce(0, m.tensor(SR_IDX, device=a.device), b, "amin",
                                                                   include_self=False), [((4, 3), (3, 3))], domain="distinct"),
    OpInfo("scatter_reduce_prod", lambda m, a, b: a.scatter_reduce(1, m.tensor(SR_IDX, device=a.device), b, "prod"),
           [((3, 4), (3, 3))]),
    OpInfo("scatter_reduce_", lambda m, a, b: (a * 1).scatter_reduce_(1, m.tensor(SR_IDX, device=a.device), b, "sum",
                                                                      include_self=False), [((3, 4), (3, 3))]),
    OpInfo("nanquantile_nan", lambda m, a: a.masked_fill(a > 1.0, float("nan")).nanquantile(0.4, dim=0),
           [((4, 3),)], domain="distinct"),
]
