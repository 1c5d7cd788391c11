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
