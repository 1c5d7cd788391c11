"""3-D convolution and pooling, grid_sample / affine_grid, kthvalue / mode / nanmedian and integer
linspace, each compared with PyTorch (values and gradients) where it is installed and checked by
finite differences in float64."""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck, gradgradcheck
from tests.torch_compare import same_error


def _torch():
    return pytest.importorskip("torch")


# -- linspace with integer dtypes -----------------------------------------------------------------

def test_integer_linspace_matches_torch_on_a_random_sweep():
    """PyTorch computes each value in double (start + step * i below the middle, end - step * back
    from it, one fused multiply-add) and truncates toward zero; a plain multiply-then-add was off by
    one at about 4% of (start, end, steps)."""
    torch = _torch()
    rng = np.random.default_rng(19)
    limits = {"int64": 10 ** 9, "int32": 10 ** 6, "int16": 30000, "int8": 127, "uint8": 255}
    for dtype, limit in limits.items():
        low = 0 if dtype == "uint8" else -limit
        for _ in range(400):
            start, end = (int(v) for v in rng.integers(low, limit, 2))
            if rng.random() < 0.3:
                start, end = (float(v) for v in rng.uniform(low, limit, 2))
            steps = int(rng.integers(0, 600))
            got = engine.linspace(start, end, steps, dtype=getattr(engine, dtype)).numpy()
            want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
            assert np.array_equal(got, want), (dtype, start, end, steps)


def test_float64_linspace_matches_torch_on_a_random_sweep():
    torch = _torch()
    rng = np.random.default_rng(5)
    for _ in range(300):
        mag = 10.0 ** rng.integers(-3, 12)
        start, end = (float(v) for v in rng.uniform(-mag, mag, 2))
        steps = int(rng.integers(1, 3000))
        got = engine.linspace(start, end, steps, dtype=engine.float64).numpy()
        want = torch.linspace(start, end, steps, dtype=torch.float64).numpy()
        assert np.array_equal(got, want), (start, end, steps)


# -- kthvalue, mode, nanmedian ----------------------------------------------------------------------

def _same_pair(got, want):
    assert type(got).__name__ == type(want).__name__
    np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())
    np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())


def test_order_statistics_pick_torchs_index_among_equal_values():
    """Slices full of repeated values (and NaN for nanmedian): the index PyTorch reports depends on
    its selection algorithm (kthvalue's quick_select, mode's std::sort) and is matched exactly."""
    torch = _torch()
    rng = np.random.default_rng(3)
    for trial in range(150):
        rows, length = int(rng.integers(1, 4)), int(rng.integers(1, 50))
        x = rng.integers(0, int(rng.integers(1, 6)), (rows, length)).astype(np.float64)
        k = int(rng.integers(1, length + 1))
        e, t = engine.tensor(x), torch.tensor(x)
        _same_pair(e.kthvalue(k, 1), t.kthvalue(k, 1))
        _same_pair(engine.mode(e, 1), torch.mode(t, 1))
        x[rng.random(x.shape) < 0.25] = np.nan
        e, t = engine.tensor(x), torch.tensor(x)
        _same_pair(e.nanmedian(1), t.nanmedian(1))
        np.testing.assert_array_equal(engine.nanmedian(e).numpy(), torch.nanmedian(t).numpy())


def test_order_statistics_keepdim_dims_and_printed_form():
    torch = _torch()
    x = np.random.default_rng(4).standard_normal((3, 4, 5))
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            for name, call in [("kthvalue", lambda m, v: m.kthvalue(v, 2, dim, keepdim)),
                               ("mode", lambda m, v: m.mode(v, dim, keepdim)),
                               ("nanmedian", lambda m, v: m.nanmedian(v, dim, keepdim))]:
                _same_pair(call(engine, engine.tensor(x)), call(torch, torch.tensor(x)))
    got = engine.kthvalue(engine.tensor([[3.0, 1.0, 2.0]]), 2, keepdim=True)
    assert repr(got) == repr(torch.kthvalue(torch.tensor([[3.0, 1.0, 2.0]]), 2, keepdim=True))
    assert got.values.shape == (1, 1) and got.indices.dtype == engine.int64
    _same_pair(engine.mode(engine.tensor(2.5)), torch.mode(torch.tensor(2.5)))
    _same_pair(engine.kthvalue(engine.tensor(2.5), 1), torch.kthvalue(torch.tensor(2.5), 1))
    _same_pair(engine.mode(engine.tensor([4, 1, 4, 1, 7])), torch.mode(torch.tensor([4, 1, 4, 1, 7])))
    all_nan = [[float("nan")] * 3, [1.0, float("nan"), 0.0]]
    _same_pair(engine.tensor(all_nan).nanmedian(1), torch.tensor(all_nan).nanmedian(1))
    assert np.isnan(engine.tensor([float("nan")] * 2).nanmedian().item())


@pytest.mark.parametrize("call", [
    lambda m: m.kthvalue(m.ones(3), 4), lambda m: m.kthvalue(m.ones(3), 0),
    lambda m: m.kthvalue(m.ones(2, 0), 1, 1), lambda m: m.mode(m.ones(0, 3), 0),
    lambda m: m.nanmedian(m.ones(2, 0), 1), lambda m: m.kthvalue(m.ones(2, 3), 1, 2),
])
def test_order_statistics_errors_are_torchs(call):
    same_error(call)


def test_order_statistics_gradients_reach_the_selected_elements():
    torch = _torch()
    x = np.array([[3.0, 1.0, np.nan, 2.0], [1.0, 1.0, 2.0, 5.0], [2.0, 7.0, 2.0, 2.0]])
    calls = [lambda m, v: m.kthvalue(v, 2, 1)[0], lambda m, v: m.mode(v, 1)[0],
             lambda m, v: m.nanmedian(v), lambda m, v: m.nanmedian(v, 0)[0]]
    for call in calls:
        grads = []
        for m in (engine, torch):
            v = m.tensor(x, requires_grad=True)
            out = call(m, v)
            out.backward(m.ones_like(out))
            grads.append((v.grad.numpy(), type(out.grad_fn).__name__ if m is engine else out.grad_fn.name()))
        np.testing.assert_array_equal(grads[0][0], grads[1][0])
        assert grads[0][1] == grads[1][1]
    v = engine.tensor(np.random.default_rng(2).permutation(12).reshape(3, 4) * 0.5, dtype=engine.float64,
                      requires_grad=True)
    assert gradcheck(lambda t: engine.kthvalue(t * t, 3, 1)[0], (v,))
    assert gradgradcheck(lambda t: engine.nanmedian(t * t, 0)[0], (v,))
