"""Every op in the op table: gradcheck, gradgradcheck, and values/gradients/node names vs PyTorch.

The same table runs on "cuda" when engine.cuda.is_available(); otherwise those cases skip
with engine.cuda.unavailable_reason().
"""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck, gradgradcheck

from test_engine_op_table import OPS, make_inputs

CASES = [(op, i) for op in OPS for i in range(len(op.samples))]
IDS = [f"{op.name}-{i}" for op, i in CASES]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not engine.cuda.is_available(), reason=f"CUDA unavailable: {engine.cuda.unavailable_reason()}"))]


def _engine_inputs(op, i, device="cpu"):
    return [engine.tensor(a, dtype=engine.float64, device=device, requires_grad=True)
            for a in make_inputs(op, op.samples[i])]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,i", CASES, ids=IDS)
def test_gradcheck(op, i, device):
    xs = _engine_inputs(op, i, device)
    assert gradcheck(lambda *t: op.fn(engine, *t), xs, eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op,i", [(op, i) for op, i in CASES if op.gradgrad],
                         ids=[f"{op.name}-{i}" for op, i in CASES if op.gradgrad])
def test_gradgradcheck(op, i, device):
    xs = _engine_inputs(op, i, device)
    assert gradgradcheck(lambda *t: op.fn(engine, *t), xs, eps=1e-6, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,i", CASES, ids=IDS)
def test_matches_torch(op, i, dtype):
    torch = pytest.importorskip("torch")
    arrays = make_inputs(op, op.samples[i])
    ex = [engine.tensor(a, dtype=getattr(engine, dtype), requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]
    eo, to = op.fn(engine, *ex), op.fn(torch, *tx)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    assert tuple(eo.shape) == tuple(to.shape)
    assert eo.dtype.name == str(to.dtype).split(".")[1]
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), **tol)
    assert eo.grad_fn.name() == type(to.grad_fn).__name__
    w = np.random.default_rng(1).uniform(-1, 1, tuple(to.shape))
    eo.backward(engine.tensor(w, dtype=eo.dtype))
    to.backward(torch.tensor(w, dtype=to.dtype))
    for e, t in zip(ex, tx):
        if t.grad is None:
            assert e.grad is None
        else:
            assert e.grad is not None and e.grad.dtype.name == dtype
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **tol)


@pytest.mark.parametrize("op,i", CASES, ids=IDS)
def test_graph_structure_matches_torch(op, i):
    """next_functions, node by node down to the leaves, name for name."""
    torch = pytest.importorskip("torch")
    arrays = make_inputs(op, op.samples[i])
    ex = [engine.tensor(a, dtype=engine.float32, requires_grad=True) for a in arrays]    # as torch's below
    tx = [torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in arrays]

    def shape(node, depth=0):
        if node is None or depth > 6:
            return None
        name = type(node).__name__
        return (name, tuple((shape(n, depth + 1), nr) for n, nr in node.next_functions))

    assert shape(op.fn(engine, *ex).grad_fn) == shape(op.fn(torch, *tx).grad_fn)


@pytest.mark.parametrize("dtype", [engine.float32, engine.float64])
def test_small_tensor_and_python_number_give_numpys_result_for_every_number(dtype):
    # small float tensors take Python numbers as cached 0-d arrays of their dtype: the result must
    # be NumPy's with the number itself, signed zeros, NaN, overflow and repeated calls included
    x = engine.tensor([-1.5, 0.0, 2.25, 3e38], dtype=dtype, requires_grad=True)
    a = x.detach().numpy()
    with np.errstate(over="ignore"):
        for s in [1.0001, 1.0001, 0.0, -0.0, float("nan"), float("inf"), 1e300, 2, -3, 2**70]:
            for got, want in [((x * s).detach().numpy(), a * s), ((x + s).detach().numpy(), a + s),
                              ((x - s).detach().numpy(), a - s)]:
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
            x.grad = None
            (x * s).backward(engine.ones_like(x))
            np.testing.assert_array_equal(x.grad.numpy(), np.full_like(a, s))
            np.testing.assert_array_equal(np.signbit(x.grad.numpy()), np.signbit(np.full_like(a, s)))


@pytest.mark.parametrize("shape,ishape,dim", [((5, 4), (9, 3), 0), ((3, 4, 6), (2, 4, 11), 2), ((7,), (20,), 0)])
def test_scatter_add_and_gather_grad_add_duplicates_as_add_at_does(shape, ishape, dim):
    # scatter_add (and so gather's gradient) runs on a flat index: the same float32 sums, in the
    # same order, as np.add.at with scatter_add's index tuple
    rng = np.random.default_rng(1)
    base = rng.standard_normal(shape).astype(np.float32)
    src = rng.standard_normal(ishape).astype(np.float32)
    idx = rng.integers(0, shape[dim], ishape)
    want = base.copy()
    key = list(np.indices(ishape, sparse=True))
    key[dim] = idx
    np.add.at(want, tuple(key), src)
    got = engine.tensor(base).scatter_add(dim, engine.tensor(idx), engine.tensor(src))
    np.testing.assert_array_equal(got.numpy(), want)
    x = engine.tensor(base, requires_grad=True)
    x.gather(dim, engine.tensor(idx)).backward(engine.tensor(src))
    want_grad = np.zeros(shape, np.float32)
    np.add.at(want_grad, tuple(key), src)
    np.testing.assert_array_equal(x.grad.numpy(), want_grad)
