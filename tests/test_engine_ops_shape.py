"""Structural ops and reductions (engine/ops/shape.py, reductions.py, products.py, indexing.py) against PyTorch: return types, indices, in-place variants, views, errors.

Gradients and node names of these ops are checked by the op table (test_engine_op_table.py);
here are the parts a gradient check cannot see.
"""
import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")

X = np.array([[0.5, -1.25, 3.0, 2.0], [1.5, 4.0, -2.0, 0.25], [-0.75, 2.5, 1.0, -3.5]])


def both(fn):
    """fn run on engine and on torch, inputs built from the same numbers."""
    return fn(engine), fn(torch)


def same(e, t):
    if isinstance(t, (tuple, list)):
        assert type(e).__name__ == type(t).__name__ and len(e) == len(t)
        for a, b in zip(e, t):
            same(a, b)
        return
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dtype.name == str(t.dtype).split(".")[1]
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, equal_nan=True)


VALUES = {
    "cummax": lambda m: m.tensor([1.0, 3.0, 2.0, 3.0, 0.5]).cummax(0),
    "cummin_ties": lambda m: m.cummin(m.tensor([[2.0, 1.0, 1.0, 3.0], [0.0, 0.0, -1.0, -1.0]]), 1),
    "cummax_nan": lambda m: m.tensor([1.0, float("nan"), 5.0, float("nan"), 0.0]).cummax(0),
    "cummax_int": lambda m: m.tensor([[3, 1], [2, 5]]).cummax(0),
    "cummax_0d": lambda m: m.tensor(2.0).cummax(0),
    "aminmax": lambda m: m.aminmax(m.tensor(X)),
    "aminmax_dim": lambda m: m.tensor(X).aminmax(dim=0, keepdim=True),
    "aminmax_int": lambda m: m.aminmax(m.tensor([[3, 1], [2, 5]]), dim=-1),
    "median_even": lambda m: m.tensor([4.0, 1.0, 3.0, 2.0]).median(),
    "median_dim": lambda m: m.tensor(X).median(1),
    "median_dim_keep": lambda m: m.median(m.tensor(X), 0, keepdim=True),
    "median_nan": lambda m: m.tensor([[1.0, float("nan"), 2.0], [3.0, 1.0, 2.0]]).median(1),
    "median_nan_all": lambda m: m.tensor([1.0, float("nan"), 2.0]).median(),
    "median_int": lambda m: m.tensor([5, 1, 4]).median(),
    "logcumsumexp_inf": lambda m: m.logcumsumexp(m.tensor([-float("inf"), 1.0, -float("inf"), 1000.0]), 0),
    "diff_bool": lambda m: m.diff(m.tensor([True, False, False, True])),
    "diff_int_n0": lambda m: m.tensor([[1, 4, 9]]).diff(n=0),
    "diff_scalar_prepend": lambda m: m.diff(m.tensor([[1.0, 4.0], [2.0, 0.0]]), dim=0, append=m.tensor([[7.0, 7.0]])),
    "kron_int": lambda m: m.kron(m.tensor([[1, 2], [3, 4]]), m.tensor([1, -1])),
    "roll_neg": lambda m: m.tensor(X).roll(-5),
    "roll_two": lambda m: m.roll(m.tensor(X), (1, 2), (1, 0)),
    "rot90_k": [lambda m, k=k: m.rot90(m.tensor(X), k) for k in (-3, 0, 2, 5)],
    "tensordot_0": lambda m: m.tensordot(m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0, 5.0]), 0),
    "tensordot_2": lambda m: m.tensordot(m.tensor(X), m.tensor(X), 2),
    "cross_default_dim": lambda m: m.cross(m.tensor(X[:, :3]), m.tensor(X[:, 1:])),
    "vdot": lambda m: m.tensor([1.0, 2.0, 3.0]).vdot(m.tensor([4.0, -5.0, 6.0])),
    "baddbmm_beta0": lambda m: m.baddbmm(m.full((2, 1, 1), float("nan")), m.ones(2, 1, 3), m.ones(2, 3, 2), beta=0),
    "addmv": lambda m: m.tensor([1.0, 2.0, 3.0]).addmv(m.tensor(X).float(), m.tensor([1.0, -1.0, 2.0, 0.5]), alpha=3),
    "index_add_int": lambda m: m.zeros(3, 2, dtype=m.int64).index_add(0, m.tensor([2, 2, 0]),
                                                                    m.tensor([[1, 2], [3, 4], [5, 6]]), alpha=2),
    "index_fill_int": lambda m: m.tensor([[1, 2, 3], [4, 5, 6]]).index_fill(1, m.tensor([0, 2]), -1),
    "masked_scatter_broadcast": lambda m: m.zeros(2, 3).masked_scatter(m.tensor([True, False, True]),
                                                                       m.arange(1.0, 7.0).reshape(2, 3)),
    "dist_p0": lambda m: m.dist(m.tensor(X), m.zeros(4), 0),
    "dist_ninf": lambda m: m.tensor(X).dist(m.tensor(X[::-1].copy()), -float("inf")),
    "trapezoid_empty": lambda m: m.trapezoid(m.zeros(2, 0)),
    "trapezoid_x": lambda m: m.trapezoid(m.tensor(X), m.tensor([0.0, 1.0, 3.0, 6.0])),
    "trapz_dx": lambda m: m.trapz(m.tensor(X), dx=2.0, dim=0),
    "cov_int": lambda m: m.cov(m.tensor([[1, 2, 4], [0, 3, 3]])),
    "corrcoef_1d": lambda m: m.corrcoef(m.tensor([1.0, 2.0, 4.0])),
    "diagflat": lambda m: m.diagflat(m.tensor([[1, 2], [3, 4]]), 2),
    "atleast_many": lambda m: m.atleast_2d(m.tensor(1.0), m.ones(3), m.ones(2, 2, 2)),
    "atleast_list": lambda m: m.atleast_3d([m.tensor(1.0), m.ones(3, 2)]),
    "column_stack": lambda m: m.column_stack((m.tensor(1.0).reshape(()).expand(()), m.ones(1, 2))),
    "dstack": lambda m: m.dstack([m.tensor(1.0), m.tensor(2)]),
    "hsplit": lambda m: m.hsplit(m.tensor(X), [1, 10]),
    "vsplit": lambda m: m.tensor(X).vsplit(3),
    "cartesian_prod_one": lambda m: m.cartesian_prod(m.tensor([1, 2])),
    "cartesian_prod_three": lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3]), m.tensor([4, 5])),
    "block_diag_promote": lambda m: m.block_diag(m.tensor([[1, 2]]), m.tensor(3.5), m.tensor([True, False])),
    "block_diag_empty": lambda m: m.block_diag(),
    "sum_to_size": lambda m: m.ones(2, 3, 4).sum_to_size([1, 4]),
    "unfold": lambda m: m.arange(7.0).unfold(0, 3, 2),
    "unfold_0d": lambda m: m.tensor(5.0).unfold(0, 1, 1),
    "index_add_0d": lambda m: m.tensor(1.0).index_add(0, m.tensor([0]), m.tensor(2.0), alpha=3),
    "index_fill_negative_index": lambda m: m.ones(2, 3).index_fill(1, m.tensor([-1]), 0.0),
    "trapezoid_int": lambda m: m.trapezoid(m.tensor([1, 2, 4])),
    "dist_broadcast": lambda m: m.dist(m.ones(3, 1), m.zeros(4)),
    "cross_broadcast": lambda m: m.linalg.cross(m.ones(2, 1, 3), m.tensor([[[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]])),
}
VALUE_CASES = [(k, i, f) for k, fs in VALUES.items() for i, f in enumerate(fs if isinstance(fs, list) else [fs])]


@pytest.mark.parametrize("name,i,fn", VALUE_CASES, ids=[f"{k}-{i}" for k, i, _ in VALUE_CASES])
def test_values_and_return_types_match_torch(name, i, fn):
    same(*both(fn))


def test_named_tuples_print_as_torch_return_types():
    e = engine.tensor([1.0, 3.0]).cummax(0)
    assert repr(e).startswith("torch.return_types.cummax(\nvalues=tensor([1., 3.]),\nindices=tensor([0, 1]))")
    lo, hi = engine.aminmax(engine.tensor([2.0, -1.0]))
    assert (lo.item(), hi.item()) == (-1.0, 2.0)
    r = engine.aminmax(engine.tensor([2.0, -1.0]))
    assert (r.min.item(), r.max.item()) == (-1.0, 2.0) and r._fields == ("min", "max")
    assert repr(r) == "torch.return_types.aminmax(\nmin=tensor(-1.),\nmax=tensor(2.))"
    m = engine.tensor([[3.0, 1.0, 2.0]]).median(1)
    assert type(m).__name__ == "median" and m.values.tolist() == [2.0] and m.indices.tolist() == [2]


def test_aminmax_outputs_share_one_node():
    x = engine.tensor([[1.0, 5.0], [5.0, -2.0]], requires_grad=True)
    lo, hi = x.aminmax()
    assert lo.grad_fn is hi.grad_fn and lo.grad_fn.name() == "AminmaxBackward0"
    (lo * 3 + hi).backward()
    assert x.grad.tolist() == [[0.0, 0.5], [0.5, 3.0]]      # the two maxima share max's gradient


@pytest.mark.parametrize("name,call", [
    ("addmm_", lambda m, x: x.addmm_(m.ones(2, 3), m.ones(3, 2), beta=0.5, alpha=2)),
    ("index_add_", lambda m, x: x.index_add_(1, m.tensor([1, 1]), m.ones(2, 2), alpha=-1)),
    ("index_fill_", lambda m, x: x.index_fill_(0, m.tensor([1]), 9.0)),
    ("masked_scatter_", lambda m, x: x.masked_scatter_(x > 2, m.tensor([10.0, 20.0, 30.0]))),
    ("tril_", lambda m, x: x.tril_(-1)),
    ("triu_", lambda m, x: x.triu_(1)),
    ("fill_diagonal_", lambda m, x: x.fill_diagonal_(-7.0)),
])
def test_in_place_variants_write_into_self_and_bump_the_version(name, call):
    out = []
    for m in (engine, torch):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]])
        v = x._version
        r = call(m, x)
        assert r is x and x._version > v
        out.append(x)
    same(*out)


def test_in_place_ops_on_leaves_that_need_grad_raise_as_torch():
    for m in (engine, torch):
        x = m.ones(2, 2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x.tril_()


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("shape", [(5, 2), (2, 5), (3, 3, 3)])
def test_fill_diagonal_shapes_and_wrap(shape, wrap):
    res = []
    for m in (engine, torch):
        x = m.zeros(shape)
        x.fill_diagonal_(1.0, wrap=wrap)
        t = m.zeros(shape[::-1]).transpose(0, -1) if len(shape) == 2 else None   # a non-contiguous input
        if t is not None:
            t.fill_diagonal_(2.0, wrap=wrap)
        res.append((x, t) if t is not None else x)
    same(*res)


def test_unfold_is_a_view_that_writes_through():
    for m in (engine, torch):
        x = m.arange(6.0).reshape(2, 3)
        w = x.unfold(1, 2, 1)
        assert tuple(w.shape) == (2, 2, 2)
        x[0, 1] = 9.0
        assert w[0, 0, 1].item() == 9.0 and w[0, 1, 0].item() == 9.0


def test_cross_without_dim_warns_as_torch():
    """PyTorch warns once per process (TORCH_WARN_ONCE) with this text; the engine every time."""
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is deprecated"):
        r = engine.cross(engine.eye(3), engine.ones(3, 3))
    assert r.tolist() == torch.cross(torch.eye(3), torch.ones(3, 3), dim=0).tolist()


def test_sum_to_size_of_the_same_size_is_self():
    for m in (engine, torch):
        x = m.ones(2, 3, requires_grad=True)
        assert x.sum_to_size(2, 3) is x


ERRORS = {
    "diff_0d": lambda m: m.diff(m.tensor(1.0)),
    "diff_order": lambda m: m.diff(m.ones(3), n=-1),
    "cross_len": lambda m: m.cross(m.ones(3, 2), m.ones(3, 2), dim=1),
    "linalg_cross_len": lambda m: m.linalg.cross(m.ones(3, 2), m.ones(3, 2)),
    "rot90_same_dims": lambda m: m.rot90(m.ones(3, 4), 1, (0, 0)),
    "rot90_three_dims": lambda m: m.rot90(m.ones(3, 4), 1, (0, 1, 2)),
    "rot90_1d": lambda m: m.rot90(m.ones(3)),
    "vdot_2d": lambda m: m.vdot(m.ones(3, 2), m.ones(3)),
    "vdot_sizes": lambda m: m.vdot(m.ones(3), m.ones(4)),
    "index_add_count": lambda m: m.ones(3).index_add_(0, m.tensor([0]), m.ones(2)),
    "index_fill_float_index": lambda m: m.ones(3).index_fill_(0, m.tensor([0.0]), 1),
    "masked_scatter_short": lambda m: m.ones(3).masked_scatter_(m.ones(3, dtype=m.bool), m.ones(2)),
    "masked_scatter_float_mask": lambda m: m.ones(3).masked_scatter_(m.ones(3), m.ones(3)),
    "aminmax_empty": lambda m: m.aminmax(m.ones(0)),
    "hsplit_0d": lambda m: m.hsplit(m.tensor(1.0), 3),
    "hsplit_uneven": lambda m: m.hsplit(m.ones(3, 4), 3),
    "vsplit_1d": lambda m: m.vsplit(m.ones(3), 3),
    "fill_diagonal_1d": lambda m: m.ones(3).fill_diagonal_(1),
    "fill_diagonal_unequal": lambda m: m.ones(3, 4, 3).fill_diagonal_(1),
    "sum_to_size": lambda m: m.ones(3, 4).sum_to_size(2, 4),
    "unfold_size": lambda m: m.ones(3, 4).unfold(1, 5, 1),
    "unfold_step": lambda m: m.ones(3, 4).unfold(1, 2, 0),
    "block_diag_3d": lambda m: m.block_diag(m.ones(3, 2, 2)),
    "cov_3d": lambda m: m.cov(m.ones(3, 2, 2)),
    "corrcoef_3d": lambda m: m.corrcoef(m.ones(3, 2, 2)),
    "addmv_dtypes": lambda m: m.addmv(m.ones(2), m.ones(2, 3, dtype=m.float64), m.ones(3)),
    "addmv_input_size": lambda m: m.addmv(m.ones(3), m.ones(2, 3), m.ones(3)),
    "addmv_vec_size": lambda m: m.addmv(m.ones(2), m.ones(2, 3), m.ones(4)),
    "baddbmm_dtypes": lambda m: m.baddbmm(m.ones(2, 2, 2, dtype=m.float64), m.ones(2, 2, 3), m.ones(2, 3, 2)),
    "baddbmm_sizes": lambda m: m.baddbmm(m.ones(2, 2, 2), m.ones(2, 2, 3), m.ones(2, 4, 2)),
    "baddbmm_input_shape": lambda m: m.baddbmm(m.ones(3, 2), m.ones(2, 2, 3), m.ones(2, 3, 2)),
    "cross_ndims": lambda m: m.linalg.cross(m.ones(2, 3), m.tensor([1.0, 2.0, 0.0])),
    "diff_prepend_0d": lambda m: m.diff(m.tensor([1.0, 2.0]), prepend=m.tensor(0.0)),
    "logcumsumexp_int": lambda m: m.tensor([1, 2]).logcumsumexp(0),
    "dist_int": lambda m: m.dist(m.tensor([1, 2]), m.tensor([0, 0])),
    "vdot_dtypes": lambda m: m.vdot(m.tensor([1.0, 2.0]), m.tensor([3, 4])),
    "index_add_dtypes": lambda m: m.zeros(3, dtype=m.int64).index_add(0, m.tensor([0]), m.tensor([1.5])),
    "column_stack_empty": lambda m: m.column_stack([]),
    "dstack_empty": lambda m: m.dstack([]),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    with pytest.raises(Exception) as te:
        ERRORS[name](torch)
    with pytest.raises(type(te.value)) as ee:
        ERRORS[name](engine)
    assert str(ee.value) == str(te.value)
