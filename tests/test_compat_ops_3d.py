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
    """Slices full of repeated values (and NaN): the index PyTorch reports depends on its selection
    algorithm (kthvalue's quick_select, mode's std::sort) and is matched exactly."""
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
        _same_pair(e.mode(1), t.mode(1))          # NaN upsets std::sort: replayed as it runs
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


# -- convolutions (one N-d implementation for 1-, 2- and 3-D) ---------------------------------------

def _run(lib, fn, arrays, grad=True):
    """fn(lib, *tensors) on float64 copies of arrays; its output and the inputs' gradients of
    (output * a fixed random weight).sum()."""
    ts = [lib.tensor(a, dtype=lib.float64, requires_grad=grad) for a in arrays]
    out = fn(lib, *ts)
    if not grad:
        return out.detach().numpy(), []
    w = np.random.default_rng(99).standard_normal(tuple(out.shape))
    (out * lib.tensor(w, dtype=lib.float64)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


def _match_torch(fn, arrays, rtol=1e-10, atol=1e-12):
    torch = _torch()
    (got, ggot), (want, gwant) = _run(engine, fn, arrays), _run(torch, fn, arrays)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    for a, b in zip(ggot, gwant):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


CONV_CASES = [  # (dims, input shape, weight shape, bias, keywords)
    (3, (2, 4, 5, 6, 4), (6, 4, 3, 2, 3), True, {}),
    (3, (1, 4, 7, 6, 5), (6, 2, 3, 3, 2), True, dict(stride=(2, 1, 2), padding=(1, 0, 2), dilation=(1, 2, 1), groups=2)),
    (3, (4, 5, 6, 5), (2, 4, 3, 3, 3), False, dict(padding="same")),        # unbatched
    (3, (1, 2, 5, 6, 4), (3, 2, 2, 3, 4), True, dict(padding="same", dilation=(1, 1, 2))),  # even spans
    (3, (1, 3, 4, 5, 6), (3, 1, 2, 2, 2), True, dict(padding="valid", groups=3, stride=2)),
    (2, (2, 4, 7, 6), (6, 2, 3, 3), True, dict(stride=2, padding=1, groups=2)),
    (2, (1, 3, 6, 5), (2, 3, 2, 3), False, dict(padding="same", dilation=2)),
    (1, (2, 3, 9), (4, 3, 3), True, dict(stride=2, padding=2, dilation=2)),
    (1, (4, 8), (4, 2, 4), True, dict(padding="same", groups=2)),
]


@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_convolution_matches_torch_values_and_gradients(case):
    nd, xs, ws, bias, kw = CONV_CASES[case]
    rng = np.random.default_rng(case)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws)] + ([rng.standard_normal(ws[0])] if bias else [])

    def fn(lib, x, w, b=None):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(lib.nn.functional, f"conv{nd}d")(x, w, b, **kw)
    _match_torch(fn, arrays)


CONV_T_CASES = [
    (3, (2, 4, 3, 4, 2), (4, 3, 3, 2, 3), True, {}),
    (3, (1, 4, 3, 3, 2), (4, 2, 3, 3, 2), True, dict(stride=2, padding=1, output_padding=(1, 0, 1), groups=2, dilation=(1, 1, 2))),
    (3, (2, 3, 2, 3), (2, 3, 2, 2, 2), False, dict(stride=(1, 2, 3))),      # unbatched
    (2, (2, 4, 5, 4), (4, 3, 3, 3), True, dict(stride=2, padding=1, output_padding=1, groups=2)),
    (1, (2, 2, 5), (2, 3, 4), True, dict(stride=3, padding=1, output_padding=2, dilation=1)),
]


@pytest.mark.parametrize("case", range(len(CONV_T_CASES)))
def test_transposed_convolution_matches_torch_values_and_gradients(case):
    nd, xs, ws, bias, kw = CONV_T_CASES[case]
    rng = np.random.default_rng(10 + case)
    groups = kw.get("groups", 1)
    arrays = [rng.standard_normal(xs), rng.standard_normal(ws)] + ([rng.standard_normal(ws[1] * groups)] if bias else [])
    _match_torch(lambda lib, x, w, b=None: getattr(lib.nn.functional, f"conv_transpose{nd}d")(x, w, b, **kw), arrays)


def test_conv3d_gradients_by_finite_differences_to_second_order():
    rng = np.random.default_rng(1)
    F = engine.nn.functional
    x = engine.tensor(rng.standard_normal((1, 2, 4, 3, 3)), requires_grad=True)
    w = engine.tensor(rng.standard_normal((4, 1, 2, 2, 2)), requires_grad=True)
    b = engine.tensor(rng.standard_normal(4), requires_grad=True)
    conv = lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=2)
    assert gradcheck(conv, (x, w, b))
    assert gradgradcheck(conv, (x, w, b))
    wt = engine.tensor(rng.standard_normal((2, 2, 2, 2, 2)), requires_grad=True)
    convt = lambda x, w, b: F.conv_transpose3d(x, w, b[:4], stride=2, padding=(0, 1, 0), output_padding=1, groups=2)
    assert gradcheck(convt, (x, wt, b))
    assert gradgradcheck(convt, (x, wt, b))


def test_convolution_nodes_are_torchs():
    torch = _torch()
    for lib in (engine, torch):
        x = lib.ones(1, 4, 3, 3, 3, requires_grad=True)
        names = [lib.nn.functional.conv3d(x, lib.ones(2, 2, 1, 1, 1), groups=2).grad_fn.name(),
                 lib.nn.functional.conv_transpose3d(x, lib.ones(4, 1, 1, 1, 1), lib.ones(1)).grad_fn.name(),
                 lib.nn.functional.conv2d(x[0, :, 0], lib.ones(4, 1, 2, 2), groups=4).grad_fn.name(),
                 lib.nn.functional.conv1d(x[0, 0], lib.ones(1, 3, 2)).grad_fn.name()]
        if lib is engine:
            got = names
    assert got == names == ["ConvolutionBackward0"] * 2 + ["SqueezeBackward1", "ConvolutionBackward0"]


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.conv3d(m.ones(1, 3, 5, 5, 5), m.ones(2, 2, 3, 3, 3)),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 2, 2, 2), m.ones(2, 2, 3, 3, 3)),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4), m.ones(2, 2, 2, 2, 2), dilation=4),
    lambda m: m.nn.functional.conv3d(m.ones(2, 5), m.ones(2, 2, 3, 3, 3)),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 5, 5, 5), m.ones(2, 2, 3, 3, 3), padding="same", stride=2),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 5, 5, 5), m.ones(2, 2, 3, 3, 3), padding="full"),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4), m.ones(2, 2, 2, 2, 2), bias=m.ones(3)),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4), m.ones(2, 2, 2, 2, 2), stride=(1, 2)),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4), m.ones(2, 2, 2, 2, 2), stride=0),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4), m.ones(2, 2, 2, 2, 2), padding=-1),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4), m.ones(2, 2, 2, 2, 2), dilation=0),
    lambda m: m.nn.functional.conv3d(m.ones(1, 4, 5, 5, 5), m.ones(2, 2, 3, 3, 3), groups=3),
    lambda m: m.nn.functional.conv3d(m.ones(1, 2, 4, 4, 4, dtype=m.float64), m.ones(2, 2, 2, 2, 2)),
    lambda m: m.nn.functional.conv2d(m.ones(1, 2, 4, 4), m.ones(2, 2, 2, 2), m.ones(2, dtype=m.float64)),
    lambda m: m.nn.functional.conv_transpose3d(m.ones(1, 2, 5, 5, 5), m.ones(3, 2, 3, 3, 3)),
    lambda m: m.nn.functional.conv_transpose3d(m.ones(1, 2, 3, 3, 3), m.ones(2, 2, 3, 3, 3), output_padding=1),
    lambda m: m.nn.functional.conv_transpose1d(m.ones(1, 2, 3), m.ones(2, 2, 3), output_padding=2, stride=2),
    lambda m: m.nn.functional.conv_transpose2d(m.ones(1, 4, 4, 4), m.ones(4, 2, 2, 2), m.ones(3), groups=2),
])
def test_convolution_errors_are_torchs(call):
    same_error(call)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 0, 1), "same"])
def test_conv3d_module_padding_modes_match_torch(mode, padding):
    torch = _torch()
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 4, 6))
    outs = []
    for lib in (engine, torch):
        lib.manual_seed(0)
        m = lib.nn.Conv3d(2, 4, (3, 2, 3), padding=padding, padding_mode=mode, dilation=(1, 1, 2) if padding == "same" else 1)
        m.double()
        xt = lib.tensor(x, requires_grad=True)
        out = m(xt)
        out.pow(2).sum().backward()
        outs.append((out.detach().numpy(), xt.grad.numpy(), m.weight.grad.numpy(), m.bias.grad.numpy(), repr(m)))
    for a, b in zip(*outs):
        if isinstance(a, str):
            assert a == b
        else:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_conv_transpose3d_module_matches_torch_with_output_size():
    torch = _torch()
    x = np.random.default_rng(3).standard_normal((1, 4, 3, 2, 3))
    outs = []
    for lib in (engine, torch):
        lib.manual_seed(0)
        m = lib.nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, groups=2).double()
        out = m(lib.tensor(x), output_size=[6, 4, 5])
        outs.append((out.detach().numpy(), repr(m)))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-10)
    assert outs[0][1] == outs[1][1]


# -- 3-D pooling --------------------------------------------------------------------------------------

def _match_torch_with_indices(fn, x):
    """fn(lib, t) -> values or (values, indices): values and input gradients within rounding,
    indices exactly."""
    torch = _torch()
    results = []
    for lib in (engine, torch):
        t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        out = fn(lib, t)
        values, indices = out if isinstance(out, tuple) else (out, None)
        w = np.random.default_rng(7).standard_normal(tuple(values.shape))
        (values * lib.tensor(w)).sum().backward()
        results.append((values.detach().numpy(), None if indices is None else indices.numpy(), t.grad.numpy()))
    (v, i, g), (tv, ti, tg) = results
    np.testing.assert_allclose(v, tv, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-14)
    if ti is not None:
        np.testing.assert_array_equal(i, ti)


POOL_CASES = [
    lambda m, t: m.nn.functional.max_pool3d(t, 2),
    lambda m, t: m.nn.functional.max_pool3d(t, 3, stride=2, padding=1, return_indices=True),
    lambda m, t: m.nn.functional.max_pool3d(t, (3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1), ceil_mode=True,
                                            return_indices=True),
    lambda m, t: m.nn.functional.max_pool3d(t[0], 2, ceil_mode=True, return_indices=True)[0],
    lambda m, t: m.nn.functional.max_unpool3d(*m.nn.functional.max_pool3d(t, 2, return_indices=True), 2,
                                              output_size=t.shape[2:]),
    lambda m, t: m.nn.MaxUnpool3d(2, stride=(2, 1, 2))(*m.nn.MaxPool3d(2, (2, 1, 2), return_indices=True)(t),
                                                       output_size=t.shape),
    lambda m, t: m.nn.functional.avg_pool3d(t, 2),
    lambda m, t: m.nn.functional.avg_pool3d(t, 3, stride=2, padding=1),
    lambda m, t: m.nn.functional.avg_pool3d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda m, t: m.nn.AvgPool3d((3, 2, 2), (2, 1, 2), (1, 0, 1), ceil_mode=True, divisor_override=5)(t),
    lambda m, t: m.nn.functional.adaptive_avg_pool3d(t, (3, 4, 2)),
    lambda m, t: m.nn.AdaptiveAvgPool3d((None, 4, 1))(t[0]),
    lambda m, t: m.nn.functional.adaptive_max_pool3d(t, (3, 4, 2), return_indices=True),
    lambda m, t: m.nn.AdaptiveMaxPool3d(4, return_indices=True)(t[:, :, :5]),
]


@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_pooling_3d_matches_torch(case):
    x = np.random.default_rng(case).standard_normal((2, 3, 7, 6, 5))
    _match_torch_with_indices(POOL_CASES[case], x)


def test_max_pooling_3d_picks_torchs_element_among_ties_and_nans():
    x = np.zeros((1, 1, 2, 3, 4))
    x[0, 0, 0, 0, :] = [1.0, 5.0, 5.0, 3.0]
    x[0, 0, 1, 1, :] = [np.nan, 2.0, np.nan, 1.0]
    torch = _torch()
    for call in (lambda m, t: m.nn.functional.max_pool3d(t, (1, 2, 4), return_indices=True),
                 lambda m, t: m.nn.functional.adaptive_max_pool3d(t, (2, 1, 1), return_indices=True)):
        got, want = call(engine, engine.tensor(x)), call(torch, torch.tensor(x))
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
        np.testing.assert_array_equal(got[0].numpy(), want[0].numpy())


def test_pooling_3d_gradients_by_finite_differences():
    rng = np.random.default_rng(8)
    F = engine.nn.functional
    x = engine.tensor(rng.permutation(150).reshape(1, 2, 5, 3, 5) * 0.1, dtype=engine.float64, requires_grad=True)
    for fn in (lambda t: F.max_pool3d(t, 2, 1, 1),
               lambda t: F.max_unpool3d(*F.max_pool3d(t, 2, return_indices=True), 2, output_size=t.shape),
               lambda t: F.avg_pool3d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
               lambda t: F.adaptive_avg_pool3d(t, (2, 2, 3)),
               lambda t: F.adaptive_max_pool3d(t, (2, 2, 3))):
        assert gradcheck(fn, (x,))
        assert gradgradcheck(fn, (x,))


def test_pooling_3d_nodes_are_torchs():
    torch = _torch()
    names = []
    for m in (engine, torch):
        t = m.ones(1, 2, 4, 4, 4, requires_grad=True)
        v, i = m.nn.functional.max_pool3d(t, 2, return_indices=True)
        names.append([v.grad_fn.name(), m.nn.functional.max_unpool3d(v, i, 2).grad_fn.name(),
                      m.nn.functional.adaptive_max_pool3d(t, 3).grad_fn.name(), i.dtype.__repr__()])
    assert names[0] == names[1]


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.max_pool3d(m.ones(1, 1, 4, 4, 4), 2, padding=2),
    lambda m: m.nn.functional.avg_pool3d(m.ones(1, 1, 4, 4, 4), 2, padding=2),
    lambda m: m.nn.functional.max_pool3d(m.ones(4, 4), 2),
    lambda m: m.nn.functional.max_pool3d(m.ones(1, 1, 1, 4, 4), 2),
    lambda m: m.nn.functional.adaptive_avg_pool3d(m.ones(4, 4), 2),
    lambda m: m.nn.functional.max_unpool3d(m.ones(1, 1, 2, 2, 2), m.full((1, 1, 2, 2, 2), 100), 2),
    lambda m: m.nn.functional.max_unpool3d(m.ones(1, 1, 2, 2, 2), m.zeros(1, 1, 2, 2, 2, dtype=m.int64), 2,
                                           output_size=(9, 9, 9)),
    lambda m: m.nn.functional.max_unpool3d(m.ones(1, 1, 2, 2, 2), m.zeros(1, 1, 2, 2, 2, dtype=m.int64), 2,
                                           output_size=(9, 9)),
    lambda m: m.nn.functional.max_unpool3d(m.ones(1, 1, 2, 2, 2), m.zeros(1, 1, 2, 2, 2, dtype=m.int64), 2,
                                           output_size=(1, 1, 6, 4, 4)),
    lambda m: m.nn.functional.max_unpool3d(m.ones(1, 1, 2, 2, 2), m.zeros(1, 1, 2, 2, 2, dtype=m.int32), 2),
])
def test_pooling_3d_errors_are_torchs(call):
    same_error(call)


# -- grid_sample and affine_grid ------------------------------------------------------------------------

@pytest.mark.parametrize("dims,mode", [(2, "bilinear"), (2, "nearest"), (2, "bicubic"), (3, "bilinear"),
                                       (3, "nearest")])          # (PyTorch's bicubic is 4-D only)
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(dims, mode, padding_mode, align_corners):
    rng = np.random.default_rng(dims * 100 + len(mode) + len(padding_mode))
    x = rng.standard_normal((2, 3) + ((4, 5) if dims == 2 else (3, 4, 5)))
    grid = rng.uniform(-1.4, 1.4, (2,) + ((3, 6) if dims == 2 else (2, 3, 4)) + (dims,))
    _match_torch(lambda lib, x, g: lib.nn.functional.grid_sample(x, g, mode, padding_mode, align_corners),
                 [x, grid], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_gradients_by_finite_differences(mode, padding_mode):
    rng = np.random.default_rng(4)
    x = engine.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    grid = engine.tensor(rng.uniform(-1.2, 1.2, (1, 2, 3, 2)), requires_grad=True)
    fn = lambda x, g: engine.nn.functional.grid_sample(x, g, mode, padding_mode, align_corners=False)
    assert gradcheck(fn, (x, grid))
    assert gradgradcheck(fn, (x, grid))
    x5 = engine.tensor(rng.standard_normal((1, 1, 2, 3, 2)), requires_grad=True)
    g5 = engine.tensor(rng.uniform(-1.2, 1.2, (1, 2, 1, 2, 3)), requires_grad=True)
    if mode == "bilinear":
        assert gradcheck(lambda x, g: engine.nn.functional.grid_sample(x, g, mode, padding_mode, True), (x5, g5))


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 4, 5), (1, 1, 1, 4)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch_and_differentiates_theta(size, align_corners):
    nd = len(size) - 2
    theta = np.random.default_rng(len(size)).standard_normal((size[0], nd, nd + 1))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _match_torch(lambda lib, t: lib.nn.functional.affine_grid(t, size, align_corners), [theta])
        t = engine.tensor(theta, requires_grad=True)
        assert gradcheck(lambda t: engine.nn.functional.affine_grid(t, size, align_corners), (t,))
    torch = _torch()
    t32 = theta.astype(np.float32)
    np.testing.assert_allclose(engine.nn.functional.affine_grid(engine.tensor(t32), size, False).numpy(),
                               torch.nn.functional.affine_grid(torch.tensor(t32), size, False).numpy(),
                               rtol=1e-6, atol=1e-6)


def test_affine_grid_then_grid_sample_is_the_spatial_transformer_of_torch():
    """The spatial-transformer pattern: gradients reach theta through both functions."""
    rng = np.random.default_rng(6)
    theta = rng.standard_normal((2, 2, 3)) * 0.5
    x = rng.standard_normal((2, 3, 5, 6))
    _match_torch(lambda lib, t, x: lib.nn.functional.grid_sample(
        x, lib.nn.functional.affine_grid(t, (2, 3, 4, 4), align_corners=False), align_corners=False), [theta, x])


def test_grid_sample_and_affine_grid_warn_without_align_corners():
    F = engine.nn.functional
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        grid = F.affine_grid(engine.zeros(1, 2, 3), (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(engine.ones(1, 1, 2, 2), grid)


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.affine_grid(m.ones(2, 3, 3), (2, 1, 4, 5), align_corners=False),
    lambda m: m.nn.functional.affine_grid(m.ones(2, 2, 3), (2, 1, 3, 4, 5), align_corners=False),
    lambda m: m.nn.functional.affine_grid(m.ones(2, 2, 3), (2, 1, 5), align_corners=False),
    lambda m: m.nn.functional.affine_grid(m.ones(2, 2, 3, dtype=m.int64), (2, 1, 4, 5), align_corners=False),
    lambda m: m.nn.functional.affine_grid(m.ones(2, 2, 3), (2, 1, 0, 5), align_corners=False),
    lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.ones(1, 2, 2, 3), align_corners=False),
    lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.ones(2, 2, 2, 2), align_corners=False),
    lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.ones(1, 2, 2), align_corners=False),
    lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.ones(1, 2, 2, 2), mode="area"),
    lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.ones(1, 2, 2, 2), padding_mode="wrap"),
    lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 2, 3, 3), m.ones(1, 1, 2, 2, 3), "bicubic", align_corners=False),
])
def test_grid_sample_and_affine_grid_errors_are_torchs(call):
    same_error(call)


# -- the same on (fake) cuda: CuPy's functions, no device value read back -----------------------------

from test_engine_fake_cuda import FakeArray, fake_cuda  # noqa: E402,F401  (the fixture)

CUDA_CASES = {
    "conv3d": lambda F, x: F.conv3d(x, x[:, :2, :2, :2, :2].repeat(2, 1, 1, 1, 1), x[0, :4, 0, 0, 0], padding=1, groups=2),
    "conv_transpose3d": lambda F, x: F.conv_transpose3d(x, x.transpose(0, 1)[:, :1, :2, :2, :2] * 1, stride=2,
                                                        groups=2),
    "max_pool3d": lambda F, x: F.max_pool3d(x, 2, 1, 1, ceil_mode=True, return_indices=True)[0],
    "max_unpool3d": lambda F, x: F.max_unpool3d(*F.max_pool3d(x, 2, return_indices=True), 2, output_size=x.shape),
    "avg_pool3d": lambda F, x: F.avg_pool3d(x, 2, 1, 1, count_include_pad=False),
    "adaptive_avg_pool3d": lambda F, x: F.adaptive_avg_pool3d(x, (2, 3, 2)),
    "adaptive_max_pool3d": lambda F, x: F.adaptive_max_pool3d(x, (2, 3, 2)),
    "grid_sample_bilinear": lambda F, x: F.grid_sample(x, x[:, :3].movedim(1, -1) * 0.6, align_corners=False,
                                                       padding_mode="reflection"),
    "grid_sample_nearest": lambda F, x: F.grid_sample(x, x[:, :3].movedim(1, -1) * 0.6, "nearest", "border",
                                                      align_corners=True),
    "grid_sample_bicubic": lambda F, x: F.grid_sample(x[:, :, 0], x[:, :2, 0].movedim(1, -1) * 0.7, "bicubic",
                                                      align_corners=False),
    "interpolate_trilinear": lambda F, x: F.interpolate(x, scale_factor=(2, 1.5, 0.5), mode="trilinear"),
    "interpolate_bicubic": lambda F, x: F.interpolate(x[:, :, 0], size=(5, 7), mode="bicubic", align_corners=True),
    "affine_grid": lambda F, x: F.affine_grid(x[:, 0, :3, :4, 0] * 1, (2, 1, 3, 4, 2), align_corners=False),
}


@pytest.mark.parametrize("name", CUDA_CASES)
def test_3d_layers_run_on_cuda_without_reading_back(fake_cuda, monkeypatch, name):
    monkeypatch.setattr(FakeArray, "strict", True)
    x0 = np.random.default_rng(5).standard_normal((2, 4, 3, 4, 4))
    results = []
    for device in ("cuda", "cpu"):
        x = engine.tensor(x0, device=device, requires_grad=True)
        FakeArray.host_reads = 0
        out = CUDA_CASES[name](engine.nn.functional, x)
        out.backward(engine.ones_like(out))
        assert out.device.type == device and x.grad.device.type == device
        if device == "cuda":
            assert FakeArray.host_reads == 0
        results.append((out.detach().cpu().numpy(), x.grad.cpu().numpy()))
    for g, c in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)


# -- interpolate: trilinear, bicubic, 3-D area -----------------------------------------------------------

@pytest.mark.parametrize("mode,shape", [("trilinear", (2, 2, 3, 4, 5)), ("bicubic", (2, 3, 5, 4)),
                                        ("area", (1, 2, 6, 4, 5))])
@pytest.mark.parametrize("resize", [dict(scale_factor=2), dict(scale_factor=0.5), dict(size=1),
                                    dict(scale_factor=1.7, recompute_scale_factor=True), "odd"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_interpolate_3d_and_bicubic_match_torch(mode, shape, resize, align_corners, dtype):
    torch = _torch()
    if mode == "area" and align_corners:
        return same_error(lambda m: m.nn.functional.interpolate(m.ones(shape), scale_factor=2, mode=mode,
                                                                align_corners=True))
    dims = len(shape) - 2
    if resize == "odd":
        resize = dict(scale_factor=(1.5, 0.7, 2.3)[:dims]) if dtype == "float64" else dict(size=(7, 3, 9)[:dims])
    x = np.random.default_rng(dims).standard_normal(shape)
    results = []
    for lib in (engine, torch):
        t = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
        out = lib.nn.functional.interpolate(t, mode=mode, align_corners=None if mode == "area" else align_corners,
                                            **resize)
        w = np.random.default_rng(1).standard_normal(tuple(out.shape))
        (out * lib.tensor(w, dtype=getattr(lib, dtype))).sum().backward()
        results.append((out.detach().numpy(), t.grad.numpy()))
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-5)
    for a, b in zip(*results):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol)


def test_interpolate_trilinear_and_bicubic_gradients_by_finite_differences():
    rng = np.random.default_rng(3)
    F = engine.nn.functional
    x5 = engine.tensor(rng.standard_normal((1, 2, 2, 3, 2)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=(2, 1.5, 1), mode="trilinear"), (x5,))
    x4 = engine.tensor(rng.standard_normal((1, 1, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, size=(5, 3), mode="bicubic", align_corners=True), (x4,))
    assert gradgradcheck(lambda t: F.interpolate(t, scale_factor=2, mode="bicubic"), (x4,))


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.interpolate(m.ones(1, 1, 4, 4), scale_factor=2, mode="trilinear"),
    lambda m: m.nn.functional.interpolate(m.ones(1, 1, 4), scale_factor=2, mode="bicubic"),
    lambda m: m.nn.functional.interpolate(m.ones(1, 1, 2, 4, 4), scale_factor=2, mode="bicubic"),
])
def test_interpolate_mode_errors_are_torchs(call):
    same_error(call)


def test_upsample_modules_with_trilinear_and_bicubic_match_torch():
    torch = _torch()
    x = np.random.default_rng(4).standard_normal((1, 2, 3, 4, 2))
    for make, data in [(lambda m: m.nn.Upsample(scale_factor=2, mode="trilinear", align_corners=True), x),
                       (lambda m: m.nn.Upsample(size=(5, 7), mode="bicubic"), x[:, :, 0])]:
        got, want = make(engine)(engine.tensor(data)), make(torch)(torch.tensor(data))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
        assert repr(make(engine)) == repr(make(torch))


def test_lazy_conv3d_matches_torch():
    from test_compat_lazy import _run
    torch = _torch()
    make = lambda lib: lib.nn.LazyConv3d(4, (2, 3, 2), padding=1, groups=2)      # noqa: E731
    mine, theirs = _run(engine, make, (2, 2, 3, 4, 3)), _run(torch, make, (2, 2, 3, 4, 3))
    assert mine[:3] == theirs[:3]
    np.testing.assert_allclose(mine[3], theirs[3], rtol=1e-5, atol=1e-6)
    for k in mine[4]:
        np.testing.assert_allclose(mine[4][k], theirs[4][k], rtol=1e-5, atol=1e-6, err_msg=k)


# -- a user's 3-D script, run by gradstudio and replayed as a document ---------------------------------

SCRIPT_3D = '''"""A small 3-D CNN with a spatial transformer in front, on random volumes."""
import json

import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(3)
volumes = torch.randn(4, 1, 6, 6, 6)
targets = torch.tensor([0, 1, 1, 0])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([[1.0, 0.1, 0.0, 0.0], [0.0, 0.9, 0.1, 0.0], [0.1, 0.0, 1.0, 0.05]]))
        self.body = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
                                  nn.ConvTranspose3d(4, 2, 2, stride=2), nn.AvgPool3d(2),
                                  nn.AdaptiveAvgPool3d(1))
        self.head = nn.Linear(2, 2)

    def forward(self, x):
        grid = F.affine_grid(self.theta.expand(x.shape[0], 3, 4), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        x = F.interpolate(x, scale_factor=1.5, mode="trilinear")
        return self.head(self.body(x).flatten(1))


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
losses = []
for step in range(3):
    opt.zero_grad()
    out = model(volumes)
    loss = F.cross_entropy(out, targets) + out.kthvalue(1, 1).values.mean() * 0.01
    loss.backward()
    grads = {name: p.grad.tolist() for name, p in model.named_parameters()}
    opt.step()
    losses.append(loss.item())
with open("result.json", "w") as f:
    json.dump({"losses": losses, "grads": grads}, f)
'''


def test_a_3d_script_runs_records_and_replays_with_torchs_gradients(tmp_path):
    import json
    import subprocess
    import sys
    from gradstudio.runtime.script_run import run_script
    from gradstudio.runtime.session import Session
    _torch()
    for folder in ("engine", "torch"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "train3d.py").write_text(SCRIPT_3D)
    result = run_script(tmp_path / "engine" / "train3d.py", timeout=120)
    assert result.status == "finished", result.error
    subprocess.run([sys.executable, "train3d.py"], cwd=tmp_path / "torch", check=True, timeout=120)
    mine, theirs = (json.loads((tmp_path / f / "result.json").read_text()) for f in ("engine", "torch"))
    np.testing.assert_allclose(mine["losses"], theirs["losses"], rtol=1e-5)
    session = Session(result.document)
    assert session.run(), session.errors
    for name, grad in theirs["grads"].items():
        np.testing.assert_allclose(mine["grads"][name], grad, rtol=1e-4, atol=1e-6)
        node = result.document.node_by_label(name)
        np.testing.assert_allclose(session.value(node.id).grad.numpy(), grad, rtol=1e-4, atol=1e-6)
