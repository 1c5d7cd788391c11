"""Ops that once differed from PyTorch 2.x, checked against it (skipped without torch): diagonal
views, diag/diag_embed/trace, reshape's three graphs, out-of-place fill, where with a scalar
first, and relu_ saving its result with a version check.

The op table (test_engine_op_table.py) runs gradcheck, gradgradcheck, values, gradients,
graph shapes and the fake-cuda run for these ops; here: views, saved values, errors, and the
op table's `grad_fn` column.
"""
import numpy as np
import pytest

import engine
from tests.torch_compare import same_error

from test_engine_op_table import OPS, make_inputs

rng = np.random.default_rng(11)


def _torch():
    return pytest.importorskip("torch")


def _graph(node, depth=0):
    if node is None or depth > 8:
        return None
    return type(node).__name__, tuple((_graph(n, depth + 1), nr) for n, nr in node.next_functions)


def _run(m, fn, arrays, w):
    """fn(m, *leaves) and the leaves' gradients for cotangent w."""
    xs = [m.tensor(a, requires_grad=True) for a in arrays]
    y = fn(m, *xs)
    y.backward(m.tensor(w))
    return y, [None if x.grad is None else x.grad.numpy() for x in xs]


def _same_as_torch(fn, *shapes):
    """Values, node graph and gradients of fn(module, *leaves) match PyTorch's."""
    torch = _torch()
    arrays = [rng.standard_normal(s) for s in shapes]
    to = fn(torch, *[torch.tensor(a) for a in arrays])
    w = rng.uniform(-1, 1, tuple(to.shape))
    ey, eg = _run(engine, fn, arrays, w)
    ty, tg = _run(torch, fn, arrays, w)
    assert tuple(ey.shape) == tuple(ty.shape) and ey.dtype.name == str(ty.dtype).split(".")[1]
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert _graph(ey.grad_fn) == _graph(ty.grad_fn)
    for e, t in zip(eg, tg):
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)
    return ey, ty


# -------------------------------------------------------------------------- the op table's grad_fn column
NAMED = [op for op in OPS if op.grad_fn]


@pytest.mark.parametrize("op", NAMED, ids=[op.name for op in NAMED])
def test_op_table_grad_fn_column(op):
    """An op table row that names its grad_fn gets that node on engine and on torch."""
    arrays = make_inputs(op, op.samples[0])
    y = op.fn(engine, *[engine.tensor(a, requires_grad=True) for a in arrays])
    assert y.grad_fn.name() == op.grad_fn
    torch = _torch()
    t = op.fn(torch, *[torch.tensor(a, requires_grad=True) for a in arrays])
    assert type(t.grad_fn).__name__ == op.grad_fn


# -------------------------------------------------------------------------- diagonal, diag_embed, diag, trace
DIAGONALS = {
    "2d": (lambda m, a: a.diagonal(), (3, 4)),
    "2d_tall_offset": (lambda m, a: a.diagonal(-2), (5, 3)),
    "3d_offset_dims": (lambda m, a: a.diagonal(1, 0, 2), (2, 3, 4)),
    "3d_reversed_dims": (lambda m, a: m.diagonal(a, -1, 2, 0), (2, 3, 4)),
    "negative_dims": (lambda m, a: m.diagonal(a, offset=2, dim1=-1, dim2=-3), (2, 3, 4)),
    "offset_past_the_end": (lambda m, a: m.diagonal(a, offset=5), (2, 3, 4)),
    "of_a_transpose": (lambda m, a: (a * 1).mT.diagonal(1, -2, -1), (2, 3, 4)),
    "diag_embed": (lambda m, a: m.diag_embed(a), (2, 3)),
    "diag_embed_dims": (lambda m, a: m.diag_embed(a, 1, 0, 2), (2, 3)),
    "diag_embed_reversed": (lambda m, a: a.diag_embed(-1, 2, 0), (2, 3)),
    "diag_embed_4d": (lambda m, a: a.diag_embed(-2, -1, 1), (2, 3, 2)),
    "diag_1d": (lambda m, a: m.diag(a), (3,)),
    "diag_1d_below": (lambda m, a: m.diag(a, -2), (3,)),
    "diag_2d": (lambda m, a: a.diag(1), (3, 4)),
    "diag_2d_past_the_end": (lambda m, a: m.diag(a, -5), (3, 4)),
    "trace": (lambda m, a: m.trace(a), (3, 4)),
    "trace_tall": (lambda m, a: a.trace(), (4, 2)),
    "einsum_diagonal": (lambda m, a: m.einsum("iji->j", a), (3, 2, 3)),
}


@pytest.mark.parametrize("name", DIAGONALS)
def test_diagonal_ops_match_torch(name):
    fn, shape = DIAGONALS[name]
    _same_as_torch(fn, shape)


def test_diagonal_is_a_writable_view_of_its_input():
    torch = _torch()
    for m in (engine, torch):
        x = m.zeros(2, 3, 4)
        d = x.diagonal(1, 0, 2)
        assert d._base is x and d.data_ptr() == x.data_ptr() + 4     # starts at x[0, 0, 1]
        d.fill_(7.0)
        assert x[1, :, 2].tolist() == [7.0] * 3 and x.sum().item() == 42.0 and x._version == 1
        x[0, 1, 1] = 5.0
        assert d[1, 0].item() == 5.0          # the view sees writes to its base
    assert engine.diagonal(engine.ones(3, 3)).tolist() == torch.diagonal(torch.ones(3, 3)).tolist()


def test_in_place_change_of_a_diagonal_flows_to_the_base():
    def fn(m, a, b):
        x = a * 1
        x.diagonal(-1).mul_(b)
        return x
    ey, ty = _same_as_torch(fn, (4, 3), (3,))
    assert ey.grad_fn.name() == "CopySlices"


def test_diagonal_saves_pytorchs_attributes():
    torch = _torch()
    e = engine.zeros(2, 3, 4, requires_grad=True).diagonal(1, 2, 0).grad_fn
    t = torch.zeros(2, 3, 4, requires_grad=True).diagonal(1, 2, 0).grad_fn
    for key in ("_saved_offset", "_saved_dim1", "_saved_dim2", "_saved_self_sym_sizes"):
        assert getattr(e, key) == getattr(t, key), key


def test_diagonal_double_backward_records_diagonal_backward_backward():
    torch = _torch()
    names = []
    for m in (engine, torch):
        x = m.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        w = m.tensor(rng.standard_normal(3), requires_grad=True)
        (g,) = m.autograd.grad((x.diagonal() * w).sum(), x, create_graph=True)
        names.append(_graph(g.grad_fn)[0])
        (gw,) = m.autograd.grad((g * g).sum(), w)
        np.testing.assert_allclose(gw.numpy(), 2 * w.detach().numpy())
    assert names == ["DiagonalBackwardBackward0"] * 2


@pytest.mark.parametrize("fn", [
    lambda m: m.zeros(2, 3, 4).diagonal(0, 1, 1),
    lambda m: m.zeros(2, 3, 4).diagonal(0, -1, 2),
    lambda m: m.zeros(2, 3, 4).diagonal(0, 0, 3),
    lambda m: m.zeros(3).diagonal(),
    lambda m: m.tensor(1.0).diagonal(),
    lambda m: m.diag_embed(m.zeros(3), 0, 0, 0),
    lambda m: m.diag_embed(m.zeros(2, 3), 0, 0, 3),
    lambda m: m.diag_embed(m.tensor(2.0)),
    lambda m: m.diag(m.zeros(2, 2, 2)),
    lambda m: m.diag(m.tensor(2.0)),
    lambda m: m.trace(m.zeros(2, 3, 4)),
], ids=["same_dims", "same_dims_negative", "dim_out_of_range", "1d", "0d", "embed_same_dims",
        "embed_dim_out_of_range", "embed_0d", "diag_3d", "diag_0d", "trace_3d"])
def test_diagonal_errors_match_torch(fn):
    same_error(fn)


def test_diag_and_trace_of_integer_tensors():
    torch = _torch()
    for fn in (lambda m: m.diag(m.arange(3)), lambda m: m.diag(m.arange(6).reshape(2, 3), 1),
               lambda m: m.trace(m.arange(6).reshape(2, 3)), lambda m: m.diag_embed(m.arange(4).reshape(2, 2))):
        e, t = fn(engine), fn(torch)
        assert e.tolist() == t.tolist() and e.dtype.name == str(t.dtype).split(".")[1]
    d = engine.diag(engine.ones(3, 3))
    assert d._base is None                # diag of a matrix is a copy, not a view


# -------------------------------------------------------------------------- reshape
RESHAPES = {
    "contiguous": (lambda m, a: (a * 1).reshape(2, 6), (3, 4)),
    "transpose_alias": (lambda m, a: (a * 1).t().reshape(2, 2, 3), (3, 4)),
    "transpose_same_shape": (lambda m, a: (a * 1).t().reshape(4, 3), (3, 4)),
    "transpose_copy": (lambda m, a: (a * 1).t().reshape(12), (3, 4)),
    "permute_alias": (lambda m, a: (a * 1).permute(1, 0, 2).reshape(3, 2, 4), (2, 3, 4)),
    "transpose_inner_copy": (lambda m, a: (a * 1).transpose(1, 2).reshape(8, 3), (2, 3, 4)),
    "step_slice_alias": (lambda m, a: (a * 1)[:, :, ::2].reshape(6, 2), (2, 3, 4)),
    "step_slice_flat_alias": (lambda m, a: (a * 1)[:, ::2].reshape(-1), (3, 4)),
    "step_slice_copy": (lambda m, a: (a * 1)[::2, :3].reshape(-1), (3, 4)),
    "expand_alias": (lambda m, a: (a * 1).expand(2, 3, 4).reshape(2, 12), (3, 4)),
    "expand_copy": (lambda m, a: (a * 1).expand(2, 3, 4).reshape(6, 4), (3, 4)),
    "size_one_dims_contiguous": (lambda m, a: (a * 1).t().reshape(2, 2), (1, 4)),
    "flatten_transpose": (lambda m, a: (a * 1).t().flatten(), (3, 4)),
    "reshape_as": (lambda m, a: (a * 1).mT.reshape_as(m.zeros(2, 2, 3)), (3, 4)),
    "unflatten_transpose": (lambda m, a: (a * 1).t().unflatten(0, (2, 2)), (3, 4)),
    "ravel_transpose": (lambda m, a: (a * 1).t().ravel(), (3, 4)),
    "ravel_contiguous": (lambda m, a: m.ravel(a * 1), (3, 4)),
    "outer_of_strided": (lambda m, a: m.outer(a[::2], a[:2]), (4,)),
}


@pytest.mark.parametrize("name", RESHAPES)
def test_reshape_records_pytorchs_node(name):
    fn, shape = RESHAPES[name]
    ey, ty = _same_as_torch(fn, shape)
    assert (ey._base is not None) == (ty._base is not None)


def test_reshape_alias_shares_memory_and_the_copy_does_not():
    torch = _torch()
    for m in (engine, torch):
        x = m.arange(12.0).reshape(3, 4).t()
        alias, copy = x.reshape(2, 2, 3), x.reshape(12)
        x[0, 0] = 100.0
        assert alias[0, 0, 0].item() == 100.0 and copy[0].item() == 0.0
        assert copy.is_contiguous()


# -------------------------------------------------------------------------- fill
def test_fill_matches_torch():
    torch = _torch()
    _same_as_torch(lambda m, a: m.fill(a, 2.5), (3, 4))
    _same_as_torch(lambda m, a, v: m.fill(a * 1, v), (3, 4), ())
    for m in (engine, torch):
        a = m.zeros(2, requires_grad=True)
        y = m.fill(m.arange(3), 2.5)                            # keeps the input's dtype
        assert y.tolist() == [2, 2, 2] and y.dtype == m.int64
        v = m.tensor(3.0, requires_grad=True)
        y = m.fill(m.zeros(2, dtype=m.float64), v)             # value of another dtype, grad to it
        assert y.dtype == m.float64 and y.tolist() == [3.0, 3.0]
        assert [n is None for n, _ in y.grad_fn.next_functions] == [True, False]
        y.sum().backward()
        assert v.grad.item() == 2.0
        y = m.fill(a, m.tensor(1.0))
        assert type(y.grad_fn).__name__ == "FillBackward1"
        assert [n is None for n, _ in y.grad_fn.next_functions] == [False, True]
        assert m.fill(m.zeros(2), 1.0).grad_fn is None
    same_error(lambda m: m.fill(m.zeros(3), m.ones(2)))


# -------------------------------------------------------------------------- where with Python numbers
@pytest.mark.parametrize("fn", [
    lambda m, a: m.where(a > 0, 1.5, a),
    lambda m, a: m.where(a > 0, a, -2),
    lambda m, a: m.where(a > 0, 1.5, a.to(m.float32)),
    lambda m, a: m.where(a > 0, 1.5, (a * 3).to(m.int64)),
    lambda m, a: m.where(a > 0, 1, 2.5),
    lambda m, a: m.where(a > 0, 1, 2),
], ids=["scalar_first", "scalar_second", "float32", "int_tensor", "two_numbers", "two_ints"])
def test_where_with_python_numbers(fn):
    torch = _torch()
    a = rng.standard_normal((3, 4))
    e, t = fn(engine, engine.tensor(a)), fn(torch, torch.tensor(a))
    assert e.dtype.name == str(t.dtype).split(".")[1]
    np.testing.assert_allclose(e.numpy(), t.numpy())


def test_where_scalar_first_gradient():
    _same_as_torch(lambda m, a: m.where(a > 0, 1.5, a), (3, 4))


# -------------------------------------------------------------------------- relu_ saves its result
RELU_INPLACE = {
    "relu_": lambda m, x: x.relu_(),
    "F.relu_inplace": lambda m, x: m.nn.functional.relu(x, inplace=True),
    "F.relu_": lambda m, x: m.nn.functional.relu_(x),
    "nn.ReLU_inplace": lambda m, x: m.nn.ReLU(inplace=True)(x),
}


@pytest.mark.parametrize("name", RELU_INPLACE)
def test_relu_inplace_result_modified_later_raises_as_torch(name):
    torch = _torch()
    a0 = rng.standard_normal((2, 3))
    messages = []
    for m in (engine, torch):
        a = m.tensor(a0, dtype=m.float32, requires_grad=True)
        x = a * 1
        y = RELU_INPLACE[name](m, x)
        assert y is x and type(y.grad_fn).__name__ == "ReluBackward0" and x._version == 1
        y.add_(1)
        with pytest.raises(RuntimeError) as err:
            y.sum().backward()
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert "output 0 of Relu, is at version 2; expected version 1" in messages[0]


@pytest.mark.parametrize("name", RELU_INPLACE)
def test_relu_inplace_gradient_matches_torch(name):
    _same_as_torch(lambda m, a: RELU_INPLACE[name](m, a * 1) * 2, (3, 4))


def test_relu_inplace_on_a_view_then_base_changed_raises():
    torch = _torch()
    for m in (engine, torch):
        a = m.tensor(rng.standard_normal((2, 3)), requires_grad=True)
        x = a * 1
        x[0].relu_()
        x.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            x.sum().backward()


# -------------------------------------------------- other in-place ops whose backward uses the result
RESULT_SAVING_INPLACE = {
    "exp_": ("ExpBackward0", lambda x: x.exp_()),
    "sqrt_": ("SqrtBackward0", lambda x: x.sqrt_()),
    "sigmoid_": ("SigmoidBackward0", lambda x: x.sigmoid_()),
    "tanh_": ("TanhBackward0", lambda x: x.tanh_()),
    "reciprocal_": ("ReciprocalBackward0", lambda x: x.reciprocal_()),
}


@pytest.mark.parametrize("name", RESULT_SAVING_INPLACE)
def test_inplace_op_result_modified_later_raises_as_torch(name):
    torch = _torch()
    node, op = RESULT_SAVING_INPLACE[name]
    a0 = rng.uniform(0.5, 2.0, (2, 3))
    messages = []
    for m in (engine, torch):
        a = m.tensor(a0, dtype=m.float32, requires_grad=True)
        x = a * 1
        y = op(x)
        assert y is x and type(y.grad_fn).__name__ == node and x._version == 1
        y.add_(1)
        with pytest.raises(RuntimeError) as err:
            y.sum().backward()
        messages.append(str(err.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name", RESULT_SAVING_INPLACE)
def test_inplace_op_gradient_matches_torch(name):
    _, op = RESULT_SAVING_INPLACE[name]
    torch = _torch()
    a0 = rng.uniform(0.5, 2.0, (3, 4))
    grads = []
    for m in (engine, torch):
        a = m.tensor(a0, dtype=m.float64, requires_grad=True)
        (op(a * 1) * 2).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


def test_sign_of_bool_and_integer_tensors_as_torch():
    torch = _torch()
    for values in ([True, False, True], [-2, 0, 3]):
        ours, theirs = engine.sign(engine.tensor(values)), torch.sign(torch.tensor(values))
        assert ours.dtype.name == str(theirs.dtype).split(".")[1] and ours.tolist() == theirs.tolist()
    b = engine.tensor([True, False])
    assert b.sign_() is b and b.tolist() == [True, False]


INT_POWERS = [
    (lambda m: 2 ** m.tensor([-1, 0, 2])),
    (lambda m: (-1) ** m.tensor([-1, -2, 3, 0])),
    (lambda m: m.tensor([2, 1, -1, -1, 0, 3]) ** m.tensor([-1, -3, -3, -2, -1, -2])),
    (lambda m: m.pow(m.tensor([5, -4], dtype=m.int32), m.tensor([-2, 3], dtype=m.int32))),
    (lambda m: m.tensor([True, False]) ** m.tensor([-1, 2])),
]


@pytest.mark.parametrize("expr", INT_POWERS)
def test_integers_to_negative_tensor_powers_follow_pytorch(expr):
    """NumPy refuses integers to negative integer powers; PyTorch gives 1 ** b = 1, (-1) ** b = +-1
    and 0 for any other base."""
    torch = _torch()
    e, t = expr(engine), expr(torch)
    assert e.dtype.name == str(t.dtype).split(".")[1] and e.tolist() == t.tolist()
