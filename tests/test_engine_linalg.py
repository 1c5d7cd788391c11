"""engine.linalg and einsum beyond the op table: several outputs used at once, error messages,
return types and einsum's equations, each checked against PyTorch (skipped without it).

The op table (test_engine_op_table.py) already runs gradcheck, gradgradcheck, torch values,
gradients and graph shapes for one output of each op; here the outputs are combined.
"""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(7)


def _pair(*arrays):
    """The same float64 leaves for engine and torch."""
    torch = pytest.importorskip("torch")
    return ([engine.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _graph(node, depth=0):
    if node is None or depth > 12:
        return None
    name = type(node).__name__.replace("torch::autograd::", "")
    return name, tuple((_graph(n, depth + 1), nr) for n, nr in node.next_functions)


def _same_as_torch(fn, arrays, graph=True):
    """fn(module, *leaves): values, gradients for a random cotangent and (optionally) graph match."""
    torch = pytest.importorskip("torch")
    ex, tx = _pair(*arrays)
    eo, to = fn(engine, *ex), fn(torch, *tx)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    if graph:
        assert _graph(eo.grad_fn) == _graph(to.grad_fn)
    w = rng.uniform(-1, 1, tuple(to.shape))
    eo.backward(engine.tensor(w))
    to.backward(torch.tensor(w))
    for e, t in zip(ex, tx):
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def _check_grads(fn, *arrays):
    xs = [engine.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *t: fn(engine, *t), xs, eps=1e-6, atol=1e-5, rtol=1e-3)
    assert gradgradcheck(lambda *t: fn(engine, *t), xs, eps=1e-6, atol=1e-4, rtol=1e-3)


# ------------------------------------------------------------------ several outputs at once
MULTI = {
    "qr_tall": (lambda m, a: (lambda q, r: (q * q.sum(0)).sum(0) + r.sum(0))(*m.linalg.qr(a)), (4, 3)),
    "qr_wide": (lambda m, a: (lambda q, r: q.sum(0) * r[:, :3].sum())(*m.linalg.qr(a)), (3, 5)),
    "eigh": (lambda m, a: (lambda w, v: (v ** 2 * w).sum(-1))(*m.linalg.eigh(a + a.mT)), (3, 3)),
    "eigh_upper": (lambda m, a: (lambda w, v: (v ** 2 * w).sum(-1))(*m.linalg.eigh(a + a.mT, UPLO="U")), (3, 3)),
    "svd_tall": (lambda m, a: (lambda u, s, vh: (u ** 2 * s).sum(-1) + (vh ** 2).sum())(
        *m.linalg.svd(a, full_matrices=False)), (4, 3)),
    "svd_wide": (lambda m, a: (lambda u, s, vh: (vh ** 2 * s.unsqueeze(-1)).sum(0) + (u ** 2 * s).sum())(
        *m.linalg.svd(a, full_matrices=False)), (3, 5)),
    "svd_U_only_tall": (lambda m, a: m.linalg.svd(a, full_matrices=False)[0] ** 2, (4, 3)),
    "svd_Vh_only_wide": (lambda m, a: m.linalg.svd(a, full_matrices=False)[2] ** 2, (3, 5)),
    "slogdet_both": (lambda m, a: (lambda s, l: s * l)(*m.linalg.slogdet(a)), (3, 3)),
}


@pytest.mark.parametrize("name", MULTI)
def test_several_outputs_match_torch_and_finite_differences(name):
    fn, shape = MULTI[name]
    a = rng.uniform(-2, 2, shape)
    _same_as_torch(fn, [a], graph=False)
    _check_grads(fn, a)


def test_double_backward_of_det_and_inv_matches_torch():
    torch = pytest.importorskip("torch")
    a = rng.uniform(-2, 2, (3, 3)) + 4 * np.eye(3)
    (e,), (t,) = _pair(a)
    ge, = engine.autograd.grad(engine.linalg.det(e) + engine.linalg.inv(e).sum(), e, create_graph=True)
    gt, = torch.autograd.grad(torch.linalg.det(t) + torch.linalg.inv(t).sum(), t, create_graph=True)
    (ge ** 2).sum().backward()
    (gt ** 2).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-8)


def test_slogdet_sign_carries_no_gradient():
    a = engine.tensor(rng.uniform(-2, 2, (3, 3)), requires_grad=True)
    sign, _ = engine.linalg.slogdet(a)
    assert sign.requires_grad and sign.grad_fn.name() == "LinalgSlogdetBackward0"
    sign.sum().backward()
    assert a.grad is None          # as in PyTorch


def test_pinv_of_a_rank_deficient_matrix_matches_torch():
    a = rng.uniform(-1, 1, (4, 2)) @ rng.uniform(-1, 1, (2, 3))        # rank 2
    _same_as_torch(lambda m, x: m.linalg.pinv(x, rtol=1e-8), [a])
    _same_as_torch(lambda m, x: m.linalg.pinv(x, atol=0.5), [rng.uniform(-2, 2, (3, 3))])


def test_matrix_exp_of_a_large_matrix_matches_torch():
    a = rng.uniform(-2, 2, (2, 4, 4)) * 3          # norm well above 1: scaling and squaring
    _same_as_torch(lambda m, x: m.linalg.matrix_exp(x), [a])
    _same_as_torch(lambda m, x: x.matrix_exp(), [np.zeros((3, 3))])


def test_svd_full_matrices_gradient_uses_the_leading_columns():
    a = rng.uniform(-2, 2, (4, 3))
    _same_as_torch(lambda m, x: m.linalg.svd(x)[1] + m.linalg.svd(x)[0][:, :3].sum(0) ** 2, [a], graph=False)


# ------------------------------------------------------------------ names, return types, aliases
def test_return_types_are_named_as_torch():
    torch = pytest.importorskip("torch")
    a = rng.uniform(-2, 2, (3, 3))
    e, t = engine.tensor(a), torch.tensor(a)
    for fn in (lambda m, x: m.linalg.slogdet(x), lambda m, x: m.slogdet(x), lambda m, x: m.linalg.qr(x),
               lambda m, x: m.linalg.eigh(x), lambda m, x: m.linalg.svd(x), lambda m, x: x.slogdet()):
        er, tr = fn(engine, e), fn(torch, t)
        assert type(er).__name__ == type(tr).__name__ and len(er) == len(tr)
        assert repr(er).split("(")[0] == repr(tr).split("(")[0]
        for field in er._fields:
            x, y = getattr(er, field).numpy(), getattr(tr, field).numpy()
            if field in ("eigenvectors", "U", "Vh"):        # singular/eigen-vectors: up to sign
                x, y = np.abs(x), np.abs(y)
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


def test_aliases_record_the_same_nodes_as_torch():
    torch = pytest.importorskip("torch")
    a = rng.uniform(-2, 2, (3, 3)) + 4 * np.eye(3)
    for fn in (lambda m, x: m.det(x), lambda m, x: x.det(), lambda m, x: m.inverse(x), lambda m, x: x.inverse(),
               lambda m, x: x.logdet(), lambda m, x: m.pinverse(x), lambda m, x: x.pinverse(),
               lambda m, x: m.linalg.norm(x, 2), lambda m, x: m.linalg.norm(x, "nuc")):
        _same_as_torch(fn, [a])


# ------------------------------------------------------------------ errors
def _same_error(fn, *arrays, dtype="float64"):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as te:
        fn(torch, *[torch.tensor(a, dtype=getattr(torch, dtype)) for a in arrays])
    with pytest.raises(RuntimeError) as ee:
        fn(engine, *[engine.tensor(a, dtype=getattr(engine, dtype)) for a in arrays])
    assert str(ee.value) == str(te.value)
    assert isinstance(ee.value, engine.linalg.LinAlgError) == isinstance(te.value, torch.linalg.LinAlgError)


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.mark.parametrize("fn,arrays", [
    (lambda m, a: m.linalg.inv(a), [SINGULAR]),
    (lambda m, a: m.linalg.inv(a), [np.stack([np.eye(2), SINGULAR])]),
    (lambda m, a: m.linalg.inv(a), [np.diag([1.0, 1.0, 0.0])]),
    (lambda m, a, b: m.linalg.solve(a, b), [SINGULAR, np.ones(2)]),
    (lambda m, a, b: m.linalg.solve(a, b), [np.eye(3), np.ones(2)]),
    (lambda m, a: m.linalg.cholesky(a), [SINGULAR]),
    (lambda m, a: m.linalg.cholesky(a), [np.array([[1.0, 2.0], [2.0, 1.0]])]),
    (lambda m, a: m.linalg.cholesky(a), [np.array([[-1.0, 0.0], [0.0, 1.0]])]),
    (lambda m, a: m.linalg.inv(a), [np.ones((2, 3))]),
    (lambda m, a: m.linalg.det(a), [np.ones((2, 3))]),
    (lambda m, a: m.linalg.eigh(a), [np.ones((2, 3))]),
    (lambda m, a: m.linalg.inv(a), [np.ones(3)]),
    (lambda m, a: m.linalg.svd(a), [np.ones(3)]),
    (lambda m, a: m.linalg.qr(a), [np.ones(3)]),
    (lambda m, a: m.linalg.matrix_norm(a, 3), [np.ones((2, 2))]),
    (lambda m, a: m.linalg.matrix_exp(a), [np.ones((2, 3))]),
], ids=["inv", "inv_batch", "inv_3", "solve", "solve_shapes", "cholesky", "cholesky_minor2", "cholesky_minor1",
        "inv_nonsquare", "det_nonsquare", "eigh_nonsquare", "inv_1d", "svd_1d", "qr_1d", "matrix_norm_3",
        "matrix_exp_nonsquare"])
def test_errors_match_torch(fn, arrays):
    _same_error(fn, *arrays)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_input_is_refused_as_in_torch(dtype):
    _same_error(lambda m, a: m.linalg.inv(a), np.eye(2), dtype=dtype)


def test_qr_backward_refusals_match_torch():
    torch = pytest.importorskip("torch")
    a = rng.uniform(-2, 2, (4, 3))
    for mode in ("complete", "r"):
        (e,), (t,) = _pair(a)
        with pytest.raises(RuntimeError) as te:
            torch.linalg.qr(t, mode=mode)[1].sum().backward()
        with pytest.raises(RuntimeError) as ee:
            engine.linalg.qr(e, mode=mode)[1].sum().backward()
        assert str(ee.value) == str(te.value)


# ------------------------------------------------------------------ einsum
EQUATIONS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]), ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]), ("i,i->", [(4,), (4,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("...ij,...jk", [(2, 3, 4), (4, 5)]), ("i,j->ij", [(3,), (4,)]),
    ("iij->j", [(3, 3, 2)]), ("ij,ij->ij", [(3, 4), (3, 4)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("i...->...", [(3, 2, 4)]), ("...ii->...i", [(2, 3, 3)]), ("ij,jk", [(3, 4), (4, 5)]),
    ("i,i,i->i", [(3,), (3,), (3,)]), ("ij,kj->ik", [(3, 1), (2, 4)]), ("ab,ab->", [(2, 3), (1, 3)]),
    ("a...,...->a", [(2, 3, 4), (4,)]), ("jiij->ij", [(2, 3, 3, 2)]), (" i j , j k -> i k ", [(2, 3), (3, 2)]),
    ("ba,ab", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("eq,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_torch_node_for_node(eq, shapes):
    _same_as_torch(lambda m, *xs: m.einsum(eq, *xs), [rng.uniform(-2, 2, s) for s in shapes])


@pytest.mark.parametrize("eq,shapes", EQUATIONS[:14], ids=[e for e, _ in EQUATIONS[:14]])
def test_einsum_gradcheck(eq, shapes):
    _check_grads(lambda m, *xs: m.einsum(eq, *xs), *[rng.uniform(-2, 2, s) for s in shapes])


def test_einsum_sublist_format_matches_torch():
    a, b = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (4, 5))
    _same_as_torch(lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2], [0, 2]), [a, b])
    _same_as_torch(lambda m, x, y: m.einsum(x, [Ellipsis, 1], y, [1, 27]), [a, b])


def test_einsum_without_grad_returns_plain_values():
    a = engine.tensor(rng.uniform(-2, 2, (3, 4)))
    r = engine.einsum("ij->j", a)
    assert r.grad_fn is None and not r.requires_grad
    np.testing.assert_allclose(r.numpy(), a.numpy().sum(0))


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk", [(2, 3)]), ("ij", [(2, 3), (2,)]), ("ijk", [(2, 3)]), ("ij->k", [(2, 3)]), ("ii", [(2, 3)]),
    ("i,i", [(2,), (3,)]), ("i1", [(2,)]), ("ij->ii", [(2, 2)]), ("...i,...i", [(2, 3), (4, 3)]),
], ids=["fewer", "more", "subscripts", "output_label", "repeated_sizes", "broadcast", "invalid", "output_twice",
        "ellipsis_broadcast"])
def test_einsum_errors_match_torch(eq, shapes):
    _same_error(lambda m, *xs: m.einsum(eq, *xs), *[np.ones(s) for s in shapes])
