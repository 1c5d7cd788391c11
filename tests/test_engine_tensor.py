"""Tensor basics: repr exactly as PyTorch prints it, dtypes and promotion, factories, conversion,
Size, indexing views, max(dim) results, subclassing (nn.Parameter style), copying and pickling."""
import copy
import pickle

import numpy as np
import pytest

import engine

REPR_CASES = [
    ("scalar", lambda M: M.tensor(3.0)),
    ("int-valued", lambda M: M.tensor([4.0])),
    ("two", lambda M: M.tensor([1.0, 2.0], requires_grad=True)),
    ("precision", lambda M: M.tensor([0.1, 1.23456789, -2.5])),
    ("sci-small", lambda M: M.tensor([1e-5, 1.0])),
    ("sci-ratio", lambda M: M.tensor([0.1, 123.456, 1e-5])),
    ("sci-big", lambda M: M.tensor([[1e10, 1.0]])),
    ("negative-int", lambda M: M.tensor([[-1.0, 2.0], [3.0, -40.0]])),
    ("nan-inf", lambda M: M.tensor([float("nan"), float("inf"), -float("inf"), 1.5])),
    ("zeros", lambda M: M.zeros(2, 3)),
    ("int64", lambda M: M.tensor([1, 4, -12])),
    ("bool", lambda M: M.tensor([True, False])),
    ("float64", lambda M: M.tensor([1.5, 2.0], dtype=M.float64)),
    ("float64-rg", lambda M: M.tensor([1.5], dtype=M.float64, requires_grad=True)),
    ("float16", lambda M: M.tensor([1.5, 2.25], dtype=M.float16)),
    ("int32", lambda M: M.tensor([1, 2], dtype=M.int32)),
    ("uint8", lambda M: M.tensor([1, 255], dtype=M.uint8)),
    ("empty", lambda M: M.zeros(0)),
    ("empty-2d", lambda M: M.zeros(0, 3)),
    ("empty-f64", lambda M: M.zeros(0, dtype=M.float64)),
    ("3d", lambda M: M.arange(24.0).reshape(2, 3, 4)),
    ("wide", lambda M: M.arange(30.0) * 1.5),
    ("summarized", lambda M: M.arange(2000.0)),
    ("summarized-2d", lambda M: M.arange(3000.0).reshape(100, 30) / 7),
    ("grad_fn", lambda M: M.tensor([1.0, 2.0], requires_grad=True) * 2),
    ("grad_fn-long", lambda M: M.arange(12.0, requires_grad=True).reshape(3, 4) ** 2),
    ("grad_fn-f64", lambda M: M.tensor([1.0], dtype=M.float64, requires_grad=True).exp()),
    ("linspace", lambda M: M.linspace(0, 1, 5)),
    ("eye", lambda M: M.eye(3)),
    ("neg-zero", lambda M: M.tensor([-0.0, 0.5])),
    ("big-int", lambda M: M.tensor([123456789, 1])),
    ("tiny-values", lambda M: M.tensor([1e-10, 2e-10])),
    ("int-range", lambda M: M.tensor([100000.0, 1.0])),
]


@pytest.mark.parametrize("name,make", REPR_CASES, ids=[c[0] for c in REPR_CASES])
def test_repr_matches_torch(name, make):
    torch = pytest.importorskip("torch")
    assert repr(make(engine)) == repr(make(torch))
    assert str(make(engine)) == str(make(torch))


def test_repr_fixed_examples():
    assert repr(engine.tensor([4.0])) == "tensor([4.])"
    assert repr(engine.tensor(3.0)) == "tensor(3.)"
    assert repr(engine.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    x = engine.tensor([1.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2.], grad_fn=<MulBackward0>)"
    assert repr(engine.Size([2, 3])) == "torch.Size([2, 3])"
    assert repr(engine.float64) == "torch.float64"
    assert f"{engine.tensor(2.5)}" == "2.5" and f"{engine.tensor([2.5])}" == "tensor([2.5000])"


class Parameter(engine.Tensor):
    """What nn.Parameter does: a leaf subclass with its own repr prefix."""

    def __new__(cls, data=None, requires_grad=True):
        return engine.Tensor._make_subclass(cls, data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def test_repr_is_overridable_for_parameter_like_subclasses():
    p = Parameter(engine.tensor([1.0, 2.0]))
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    y = p * 2
    assert type(y) is engine.Tensor
    y.sum().backward()
    assert p.grad.tolist() == [2.0, 2.0]
    q = copy.deepcopy(p)
    assert type(q) is Parameter and q.requires_grad and q.tolist() == [1.0, 2.0] and q._a is not p._a
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is Parameter and r.requires_grad and r.tolist() == [1.0, 2.0]


PROMOTION = [
    ("f32+f64", lambda M: M.ones(2) + M.ones(2, dtype=M.float64)),
    ("f32+f64 0-dim", lambda M: M.ones(2) + M.tensor(1.0, dtype=M.float64)),
    ("i64+f32 0-dim", lambda M: M.tensor([1, 2]) + M.tensor(1.0)),
    ("i64*float", lambda M: M.tensor([1, 2]) * 1.5),
    ("i64*int", lambda M: M.tensor([1, 2]) * 3),
    ("i32+int", lambda M: M.tensor([1, 2], dtype=M.int32) + 3),
    ("bool+int", lambda M: M.tensor([True]) + 1),
    ("bool+bool", lambda M: M.tensor([True]) + M.tensor([True])),
    ("bool*float", lambda M: M.tensor([True]) * 2.5),
    ("i64/i64", lambda M: M.tensor([1, 2]) / M.tensor([2, 2])),
    ("i64//i64", lambda M: M.tensor([5, 7]) // M.tensor([2, 2])),
    ("f16+f32", lambda M: M.ones(2, dtype=M.float16) + M.ones(2)),
    ("f16*float", lambda M: M.ones(2, dtype=M.float16) * 2.5),
    ("u8+i8", lambda M: M.ones(2, dtype=M.uint8) + M.ones(2, dtype=M.int8)),
    ("i32+i64 0-dim", lambda M: M.ones(2, dtype=M.int32) + M.tensor(1)),
    ("sum int", lambda M: M.tensor([1, 2]).sum()),
    ("sum bool", lambda M: M.tensor([True, False]).sum()),
    ("exp int", lambda M: M.tensor([1, 2]).exp()),
    ("cmp", lambda M: M.tensor([1.0, 2.0]) > 1),
    ("pow int", lambda M: M.tensor([2, 3]) ** 2),
    ("pow int float", lambda M: M.tensor([2, 3]) ** 0.5),
    ("rpow", lambda M: 2 ** M.tensor([1, 2])),
    ("where scalar", lambda M: M.where(M.tensor([True, False]), M.tensor([1.0, 2.0]), 0.0)),
    ("cat mixed", lambda M: M.cat([M.ones(1), M.ones(1, dtype=M.float64)])),
    ("arange float", lambda M: M.arange(0, 1, 0.25)),
    ("arange int", lambda M: M.arange(5)),
    ("full int", lambda M: M.full((2,), 7)),
    ("full float", lambda M: M.full((2,), 7.0)),
    ("mean f64", lambda M: M.ones(2, dtype=M.float64).mean()),
]


@pytest.mark.parametrize("name,make", PROMOTION, ids=[c[0] for c in PROMOTION])
def test_dtypes_and_values_match_torch(name, make):
    torch = pytest.importorskip("torch")
    e, t = make(engine), make(torch)
    assert repr(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(np.array(e.tolist(), dtype=float), np.array(t.tolist(), dtype=float), rtol=1e-6)


def test_factories_and_conversions():
    assert engine.zeros(2, 3).shape == (2, 3) and engine.zeros((2, 3)).dtype is engine.float32
    assert engine.ones(2, dtype=engine.int64).tolist() == [1, 1]
    assert engine.full((2, 2), 3.0).sum().item() == 12.0
    assert engine.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert engine.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert engine.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    engine.manual_seed(0)
    a = engine.rand(3, 4)
    engine.manual_seed(0)
    assert engine.rand(3, 4).tolist() == a.tolist() and 0 <= a.min().item() and a.max().item() < 1
    assert engine.randn(2, 2).dtype is engine.float32 and engine.randn_like(a).shape == (3, 4)
    r = engine.randint(0, 5, (100,))
    assert r.dtype is engine.int64 and 0 <= r.min().item() and r.max().item() < 5
    assert engine.normal(0.0, 1.0, (3,)).shape == (3,)
    assert engine.normal(engine.zeros(4), 1.0).shape == (4,)
    assert engine.zeros_like(a).sum().item() == 0 and engine.ones_like(a, dtype=engine.float64).dtype is engine.float64
    arr = np.arange(3.0)
    t = engine.from_numpy(arr)
    arr[0] = 9.0
    assert t.dtype is engine.float64 and t.tolist() == [9.0, 1.0, 2.0]
    x = engine.tensor([[1.0, 2.0]])
    assert x.size() == engine.Size([1, 2]) and x.size(1) == 2 and x.ndim == 2 and x.numel() == 2
    assert x.T.shape == (2, 1) and x.double().dtype is engine.float64 and x.long().tolist() == [[1, 2]]
    assert x.to(engine.float64).dtype is engine.float64 and x.to("cpu") is x and x.cpu() is x
    assert x.float() is x and x.item if x.numel() > 1 else True
    assert engine.tensor(2.5).item() == 2.5 and int(engine.tensor(3)) == 3 and float(engine.tensor(1.5)) == 1.5
    assert x.device == engine.device("cpu") and str(x.device) == "cpu" and not x.is_cuda
    assert x.type() == "torch.FloatTensor" and engine.is_tensor(x)
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        x.item()


def test_max_with_dim_returns_values_and_indices():
    x = engine.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]])
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    r = engine.max(x, dim=0, keepdim=True)
    assert r.values.shape == (1, 3) and r.indices.tolist() == [[1, 0, 0]]
    assert x.max().item() == 7.0 and engine.max(x, engine.zeros(3)).tolist() == [[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]]
    assert x.argmax().item() == 3 and x.argmin(1).tolist() == [0, 2]


def test_indexing_views_share_memory_and_version():
    x = engine.arange(12.0).reshape(3, 4)
    row = x[1]
    row[0] = 100.0
    assert x[1, 0].item() == 100.0 and x._version == row._version == 1
    col = x[:, 2]
    col.mul_(0)
    assert x[:, 2].tolist() == [0.0, 0.0, 0.0]
    sel = x[[0, 2]]                               # integer-array indexing copies
    sel[0, 0] = -1.0
    assert x[0, 0].item() == 0.0
    x[x > 50] = 0.0
    assert x.max().item() == 11.0
    v = x.view(12)
    v[0] = 42.0
    assert x[0, 0].item() == 42.0 and x.t().shape == (4, 3) and x.flatten().shape == (12,)


def test_comparisons_and_bool_ops():
    a = engine.tensor([1.0, 2.0, 3.0])
    assert (a > 1).tolist() == [False, True, True] and (a == 2).dtype is engine.bool
    assert ((a > 1) & (a < 3)).tolist() == [False, True, False] and (~(a > 1)).tolist() == [True, False, False]
    assert engine.equal(a, a.clone()) and engine.allclose(a, a + 1e-9)
    assert not (a * 2).requires_grad or True
    b = engine.tensor([1.0], requires_grad=True)
    assert not (b > 0).requires_grad


def test_operators_reflected_and_inplace():
    a = engine.tensor([1.0, 2.0])
    assert (2 - a).tolist() == [1.0, 0.0] and (2 / a).tolist() == [2.0, 1.0] and (2 ** a).tolist() == [2.0, 4.0]
    assert (-a).tolist() == [-1.0, -2.0] and abs(-a).tolist() == [1.0, 2.0] and (a @ a).item() == 5.0
    b = a
    b += 1
    b *= 2
    b -= 1
    b /= 3
    assert b is a and a.tolist() == pytest.approx([1.0, 5.0 / 3]) and a._version == 4
    a.zero_()
    a.fill_(2.0)
    a.clamp_(max=1.5)
    assert a.tolist() == [1.5, 1.5]
    a.copy_(engine.tensor([3, 4]))
    assert a.tolist() == [3.0, 4.0] and a.dtype is engine.float32
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        engine.tensor([1, 2]).add_(1.5)


def test_random_streams_match_torch():
    torch = pytest.importorskip("torch")
    draws = lambda M: [M.rand(20, 1) * 10, M.randn(3), M.randn(40), M.randint(0, 10, (5,)), M.randperm(7),  # noqa: E731
                       M.rand(3, dtype=M.float64), M.randn(17, dtype=M.float64), M.zeros(4).uniform_(-2, 3),
                       M.zeros(18).normal_(1, 2), M.normal(M.ones(10, 2) * 1.7, 1), M.normal(2.0, 3.0, (3,)),
                       M.empty(20).bernoulli_(0.3), M.bernoulli(M.full((20,), 0.3)),
                       M.bernoulli(M.full((20,), 0.3, dtype=M.float64))]
    engine.manual_seed(10)
    torch.manual_seed(10)
    for e, t in zip(draws(engine), draws(torch)):
        assert e.dtype.name == str(t.dtype).split(".")[1]
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)   # randn: last bit may differ
    engine.manual_seed(0)
    torch.manual_seed(0)
    assert repr(engine.rand(2, 3)) == repr(torch.rand(2, 3))


def test_linalg_norms_match_torch():
    torch = pytest.importorskip("torch")
    res = []
    for M in (engine, torch):
        x = M.tensor(np.arange(12.0).reshape(3, 4) / 7 - 0.5, requires_grad=True)
        ys = [M.linalg.vector_norm(x), M.linalg.norm(x), M.linalg.matrix_norm(x), M.linalg.norm(x[0]),
              M.linalg.vector_norm(x, ord=1, dim=1), M.linalg.norm(x, dim=1)]
        sum(y.sum() for y in ys).backward()
        res.append(([y.detach().numpy() for y in ys], x.grad.numpy(), [type(y.grad_fn).__name__ for y in ys]))
    for a, b in zip(res[0][0], res[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5)
    assert res[0][2] == res[1][2]


def test_python_float_as_a_dtype_is_float64_as_in_pytorch():
    # Python's float is a double: dtype=float means torch.float64 whatever the default dtype
    assert engine.zeros(2, dtype=float).dtype == engine.float64
    assert engine.tensor([1, 2], dtype=float).dtype == engine.float64
    assert engine.ones(2).to(float).dtype == engine.float64
    assert engine.ones(2).to(int).dtype == engine.int64
    assert engine.ones(2).to(bool).dtype == engine.bool
    assert engine.tensor(1.5).dtype == engine.float32        # a float value keeps the default


def test_to_refuses_what_is_not_a_device_dtype_or_tensor():
    t = engine.ones(2)
    for bad in [(np.float64,), ("cpu", 3.5), (True,)]:
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            t.to(*bad)
    assert t.to(engine.float64, True, True).dtype == engine.float64   # non_blocking, copy
    assert t.to(engine.float32, False, True) is not t
    assert t.to(engine.float32) is t
