"""Common PyTorch names a smoke run of everyday APIs found missing: finfo/iinfo, storage_offset,
signbit, isin, searchsorted, bucketize, histc, tril_indices/triu_indices, combinations. Each is
checked against values worked out by hand, and against torch where it is installed."""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

CASES = {
    "searchsorted_rows": (lambda m: m.searchsorted(m.tensor([[1., 3, 5], [2, 4, 6]]),
                                                   m.tensor([[2., 5], [1, 7]]), right=True),
                          [[1, 3], [0, 3]]),
    "searchsorted_scalar": (lambda m: m.searchsorted(m.tensor([1., 3, 5]), 3.0), 1),
    "searchsorted_sorter": (lambda m: m.searchsorted(m.tensor([5., 1, 3]), m.tensor([2.]),
                                                     sorter=m.tensor([1, 2, 0])), [1]),
    "searchsorted_side": (lambda m: m.searchsorted(m.tensor([1., 3, 5]), m.tensor([3.]),
                                                   side="right"), [2]),
    "bucketize": (lambda m: m.bucketize(m.tensor([[3., 6]]), m.tensor([1., 3, 5]), right=True),
                  [[2, 3]]),
    "isin_invert": (lambda m: m.isin(m.tensor([[1, 2], [3, 4]]), m.tensor([2, 3]), invert=True),
                    [[True, False], [False, True]]),
    "isin_scalar": (lambda m: m.isin(3, m.tensor([1, 3])), True),
    "histc": (lambda m: m.histc(m.tensor([1., 2, 1, 5, 7]), bins=3, min=0, max=6), [2, 1, 1]),
    "histc_data_range": (lambda m: m.histc(m.arange(12.), bins=4), [3, 3, 3, 3]),
    "histc_one_value": (lambda m: m.histc(m.tensor([2., 2]), bins=2), [0, 2]),
    "combinations": (lambda m: m.combinations(m.tensor([1, 2, 3])), [[1, 2], [1, 3], [2, 3]]),
    "combinations_replace": (lambda m: m.combinations(m.tensor([1, 2]), with_replacement=True),
                             [[1, 1], [1, 2], [2, 2]]),
    "combinations_too_many": (lambda m: m.combinations(m.tensor([1, 2]), r=3).shape, [0, 3]),
    "tril_indices": (lambda m: m.tril_indices(3, 4, offset=1),
                     [[0, 0, 1, 1, 1, 2, 2, 2, 2], [0, 1, 0, 1, 2, 0, 1, 2, 3]]),
    "triu_indices": (lambda m: m.triu_indices(3, 3, -1),
                     [[0, 0, 0, 1, 1, 1, 2, 2], [0, 1, 2, 0, 1, 2, 1, 2]]),
    "signbit": (lambda m: m.signbit(m.tensor([-0.0, 0.0, -1, 2, -float("inf")])),
                [True, False, True, False, True]),
    "storage_offset": (lambda m: [t.storage_offset() for t in
                                  (lambda x: (x[1:], x[1:, 2:], x.T[1], x[2:][0][1:], x[1:].clone()))(
                                      m.arange(12.).reshape(3, 4))], [4, 6, 1, 9, 0]),
}


def _value(v):
    return v.tolist() if hasattr(v, "tolist") else list(v) if isinstance(v, tuple) else v


@pytest.mark.parametrize("name", sorted(CASES))
def test_values(name):
    fn, want = CASES[name]
    assert _value(fn(engine)) == want


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_as_torch(name):
    torch = pytest.importorskip("torch")
    fn, _ = CASES[name]
    mine, theirs = fn(engine), fn(torch)
    assert _value(mine) == _value(theirs)
    if hasattr(theirs, "dtype"):
        assert str(mine.dtype) == str(theirs.dtype)


def test_finfo_and_iinfo():
    f = engine.finfo(engine.float32)
    assert (f.bits, f.eps, f.tiny, f.resolution, f.dtype) == (32, 2.0 ** -23, 2.0 ** -126, 1e-6,
                                                              "float32")
    assert engine.finfo().dtype == engine.get_default_dtype().name
    assert engine.finfo(engine.float16).max == 65504.0
    assert engine.iinfo(engine.int8).min == -128 and engine.iinfo(engine.uint8).max == 255
    with pytest.raises(TypeError, match="requires a floating point"):
        engine.finfo(engine.int32)
    with pytest.raises(TypeError, match="requires an integer"):
        engine.iinfo(engine.float32)
    torch = pytest.importorskip("torch")
    for name in ("float16", "float32", "float64", "bfloat16"):
        assert repr(engine.finfo(getattr(engine, name))) == repr(torch.finfo(getattr(torch, name)))
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        assert repr(engine.iinfo(getattr(engine, name))) == repr(torch.iinfo(getattr(torch, name)))


def test_histc_matches_torch_on_random_data_and_ranges():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for _ in range(200):
        x = (rng.standard_normal(int(rng.integers(1, 40))) * rng.choice([1, 10, 1e-3])).astype(
            np.float32)
        bins = int(rng.integers(1, 20))
        lo, hi = sorted((float(rng.choice([0, -1, x.min()])), float(rng.choice([0, 1, x.max()]))))
        assert engine.histc(engine.tensor(x), bins, lo, hi).tolist() == \
            torch.histc(torch.tensor(x), bins, lo, hi).tolist()


def test_combinations_pass_gradients_to_the_elements():
    x = engine.tensor([0.5, -1.0, 2.0, 3.0], dtype=engine.float64, requires_grad=True)
    assert gradcheck(lambda t: engine.combinations(t, 2).prod(1), (x,))
    assert type(engine.combinations(x).grad_fn).__name__ == "StackBackward0"


# -- losses, dropout and distances of nn.functional; linalg.multi_dot; small module-level names --

def _loss_cases(m, rng):
    x = rng.standard_normal((4, 5))
    y = rng.integers(0, 5, 4)
    labels = np.full((4, 5), -1)
    for i, k in enumerate([0, 2, 5, 1]):
        labels[i, :k] = rng.choice(5, k, replace=False)
    F = m.nn.functional
    return x, [
        lambda t: F.multi_margin_loss(t, m.tensor(y)),
        lambda t: F.multi_margin_loss(t, m.tensor(y), p=2, margin=0.5,
                                      weight=m.tensor([1., 2, 3, 4, 5], dtype=t.dtype),
                                      reduction="none"),
        lambda t: m.nn.MultiMarginLoss(reduction="sum")(t, m.tensor(y)),
        lambda t: F.multilabel_margin_loss(t, m.tensor(labels), reduction="none"),
        lambda t: m.nn.MultiLabelMarginLoss()(t, m.tensor(labels)),
        lambda t: F.pdist(t),
        lambda t: F.pdist(t, p=1),
        lambda t: m.linalg.multi_dot([t, t.T, t]),
    ]


@pytest.mark.parametrize("k", range(8))
def test_new_functions_gradcheck(k):
    x, cases = _loss_cases(engine, np.random.default_rng(k))
    t = engine.tensor(x, dtype=engine.float64, requires_grad=True)
    assert gradcheck(lambda t: cases[k](t), (t,))


@pytest.mark.parametrize("k", range(8))
def test_new_functions_match_torch(k):
    torch = pytest.importorskip("torch")
    results = []
    for m in (engine, torch):
        x, cases = _loss_cases(m, np.random.default_rng(k))
        t = m.tensor(x, requires_grad=True)
        out = cases[k](t)
        out.sum().backward()
        results.append((out.detach().numpy(), t.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


def test_alpha_dropout_keeps_selu_statistics_and_torchs_draws():
    engine.manual_seed(0)
    x = engine.randn(200000)
    y = engine.nn.functional.alpha_dropout(x, 0.2, training=True)
    assert abs(y.mean().item()) < 0.01 and abs(y.std().item() - 1) < 0.01
    assert engine.nn.functional.alpha_dropout(x, 0.2, training=False) is x
    assert repr(engine.nn.AlphaDropout(0.2)) == "AlphaDropout(p=0.2, inplace=False)"
    torch = pytest.importorskip("torch")
    for m in (engine, torch):
        m.manual_seed(3)
    a = engine.nn.functional.alpha_dropout(engine.arange(12.).reshape(3, 4), 0.3, training=True)
    b = torch.nn.functional.alpha_dropout(torch.arange(12.).reshape(3, 4), 0.3, training=True)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_version_anomaly_flags_and_elementwise_python_functions():
    v = engine.__version__
    assert v >= "1.8" and v >= "2.2" and v >= (2, 0) and not v < "2.0"     # not string order
    assert engine.version.cuda is None
    assert engine.is_anomaly_enabled() is False
    t = engine.arange(4.)
    assert t.apply_(lambda v: v * v).tolist() == [0, 1, 4, 9]
    assert t.map_(engine.tensor([1., 2, 3, 4]), lambda a, b: a + b).tolist() == [1, 3, 7, 13]
    with pytest.raises(RuntimeError, match="requires grad"):
        engine.ones(2, requires_grad=True).apply_(abs)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_reparametrizes_and_folds_back(dim):
    engine.manual_seed(0)
    layer = engine.nn.Linear(3, 4).double()
    w = layer.weight.detach().clone()
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        engine.nn.utils.weight_norm(layer, dim=dim)
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_g", "weight_v"]
    x = engine.randn(5, 3, dtype=engine.float64)
    np.testing.assert_allclose(layer(x).detach().numpy(), (x @ w.T + layer.bias).detach().numpy())
    expected = "WeightNormInterfaceBackward0" if dim in (0, 1) else "MulBackward0"
    assert type(layer.weight.grad_fn).__name__ == expected
    v, g = layer.weight_v, layer.weight_g
    from engine.nn.utils.weight_norm import _weight_norm
    assert gradcheck(lambda v, g: _weight_norm(v, g, -1 if dim is None else dim), (v, g))
    assert engine.autograd.gradgradcheck(
        lambda v, g: _weight_norm(v, g, -1 if dim is None else dim), (v, g))
    engine.nn.utils.remove_weight_norm(layer)
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), w.numpy())


def test_weight_norm_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for m in (engine, torch):
        m.manual_seed(0)
        with pytest.warns(FutureWarning):
            conv = m.nn.utils.weight_norm(m.nn.Conv1d(2, 3, 3))
        x = m.randn(2, 2, 6)
        (conv(x) ** 2).sum().backward()
        results.append((list(conv.state_dict()), conv.weight_g.grad.numpy(),
                        conv.weight_v.grad.numpy(), type(conv.weight.grad_fn).__name__))
    assert results[0][0] == results[1][0] and results[0][3] == results[1][3]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][2], results[1][2], rtol=1e-5, atol=1e-6)
