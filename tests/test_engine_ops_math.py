"""engine/ops/pointwise.py against PyTorch (skipped without torch): in-place variants, dtypes of
integer and bool inputs, values and gradients at the edges of each op's domain, errors, and
node names.

The op table (test_engine_op_table.py) runs gradcheck, gradgradcheck, values, gradients,
graph shapes and the fake-cuda run for every differentiable op here.
"""
import math
import warnings

import numpy as np
import pytest

import engine
from tests.torch_compare import same_error


def _torch():
    return pytest.importorskip("torch")


def _run(m, fn, arrays, w):
    """fn(m, *leaves) (float64 leaves that require grad), its value, node name and leaf grads."""
    xs = [m.tensor(a, dtype=m.float64, requires_grad=True) for a in arrays]
    y = fn(m, *xs)
    name = None if y.grad_fn is None else type(y.grad_fn).__name__
    y.backward(m.tensor(w, dtype=y.dtype))
    return y.detach().numpy(), name, [None if x.grad is None else x.grad.numpy() for x in xs]


def _same_as_torch(fn, *arrays):
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # NaN and inf at the edges, on purpose
        shape = tuple(fn(torch, *[torch.tensor(a) for a in arrays]).shape)
        w = np.random.default_rng(5).uniform(0.5, 1.5, shape)
        ey, en, eg = _run(engine, fn, arrays, w)
        ty, tn, tg = _run(torch, fn, arrays, w)
    np.testing.assert_allclose(ey, ty, rtol=1e-12, atol=1e-12)
    assert en == tn
    for e, t in zip(eg, tg):
        assert (e is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


# -------------------------------------------------------------------------- edges of the domains
EDGE = np.array([-1.5, -0.0, 0.0, 0.3, 1.0, 1.5, np.inf, -np.inf, np.nan])
NEAR = np.array([2.0, 0.0, -0.0, -0.4, 1.0, -2.0, 1.0, np.inf, 0.5])
EDGES = {
    "logit": (lambda m, a: m.logit(a), EDGE),
    "logit_eps": (lambda m, a: m.logit(a, eps=0.25), EDGE),
    "logit_negative_eps": (lambda m, a: a.logit(-0.5), EDGE),
    "sinc": (lambda m, a: m.sinc(a), EDGE),
    "frac": (lambda m, a: m.frac(a), EDGE),
    "exp2": (lambda m, a: m.exp2(a), EDGE),
    "asinh": (lambda m, a: m.asinh(a), EDGE),
    "acosh": (lambda m, a: m.acosh(a + 1), EDGE),
    "atanh": (lambda m, a: m.atanh(a - 0.5), EDGE),
    "deg2rad": (lambda m, a: m.deg2rad(a), EDGE),
    "rad2deg": (lambda m, a: m.rad2deg(a), EDGE),
    "nan_to_num": (lambda m, a: m.nan_to_num(a), EDGE),
    "nan_to_num_values": (lambda m, a: m.nan_to_num(a, nan=1.5, posinf=7.0, neginf=-8), EDGE),
    "atan2": (lambda m, a, b: m.atan2(a, b), EDGE, NEAR),
    "hypot": (lambda m, a, b: m.hypot(a, b), EDGE, NEAR),
    "logaddexp": (lambda m, a, b: m.logaddexp(a, b), EDGE, NEAR),
    "logaddexp2": (lambda m, a, b: m.logaddexp2(a, b), EDGE, NEAR),
    "logaddexp_equal_infinities": (lambda m, a, b: m.logaddexp(a, b), [np.inf, -np.inf, 3.0], [np.inf, -np.inf, 3.0]),
    "xlogy": (lambda m, a, b: m.xlogy(a, b), EDGE, NEAR),
    "xlogy_zeros": (lambda m, a, b: m.xlogy(a, b), [0.0, 0.0, 0.0, 1.0, 2.0], [0.0, -1.0, np.nan, 0.0, 3.0]),
    "xlogy_number_other_zero": (lambda m, a: m.xlogy(a, 0.0), [0.0, 1.0, -2.0]),
    "xlogy_number_self": (lambda m, b: m.xlogy(0.0, b), [0.0, 1.0, np.nan]),
    "copysign": (lambda m, a, b: m.copysign(a, b), EDGE, NEAR),
    "copysign_number": (lambda m, a: m.copysign(a, -0.0), EDGE),
    "addcmul": (lambda m, a, b, c: m.addcmul(a, b, c, value=-2.5), EDGE, NEAR, [0.5]),
    "addcdiv": (lambda m, a, b, c: m.addcdiv(a, b, c, value=0.5), EDGE, NEAR, [2.0]),
}


@pytest.mark.parametrize("name", EDGES)
def test_values_and_gradients_at_the_edges_match_torch(name):
    fn, *arrays = EDGES[name]
    _same_as_torch(fn, *[np.asarray(a, dtype=np.float64) for a in arrays])


# -------------------------------------------------------------------------- in-place variants
INPLACE = {
    "addcmul_": (lambda m, a, b, c: (a * 1).addcmul_(b, c, value=3), (3, 4), (4,), (3, 4)),
    "addcdiv_": (lambda m, a, b, c: (a * 1).addcdiv_(b, c + 3, value=-1), (3, 4), (4,), (3, 1)),
    "atan2_": (lambda m, a, b: (a * 1).atan2_(b), (3, 4), (4,)),
    "arctan2_": (lambda m, a, b: (a * 1).arctan2_(b), (3,), (3,)),
    "hypot_": (lambda m, a, b: (a * 1).hypot_(b), (3, 4), (3, 4)),
    "copysign_": (lambda m, a, b: (a * 1).copysign_(b), (3, 4), (4,)),
    "copysign_number_": (lambda m, a: (a * 1).copysign_(-2), (3,)),
    "xlogy_": (lambda m, a, b: (a * 1).xlogy_(b.abs()), (3, 4), (4,)),
    "xlogy_number_": (lambda m, a: (a * 1).xlogy_(2), (3,)),
    "logit_": (lambda m, a: (a.sigmoid() * 1).logit_(), (3,)),
    "logit_eps_": (lambda m, a: (a * 0.4 + 0.5).logit_(eps=0.3), (3, 4)),
    "frac_": (lambda m, a: (a * 3).frac_(), (3,)),
    "sgn_": (lambda m, a: (a * 1).sgn_() * a, (3,)),
    "sign_": (lambda m, a: (a * 1).sign_(), (3,)),
    "trunc_": (lambda m, a: (a * 3).trunc_(), (3,)),
    "fix_": (lambda m, a: (a * 3).fix_(), (3,)),
    "exp2_": (lambda m, a: (a * 1).exp2_(), (3,)),
    "sinc_": (lambda m, a: (a * 1).sinc_(), (3,)),
    "nan_to_num_": (lambda m, a: (a * 1).nan_to_num_(nan=2.0), (3,)),
    "log1p_": (lambda m, a: (a.abs() * 1).log1p_(), (3,)),
    "expm1_": (lambda m, a: (a * 1).expm1_(), (3,)),
    "rsqrt_": (lambda m, a: (a.abs() + 1).rsqrt_(), (3,)),
    "deg2rad_": (lambda m, a: (a * 1).deg2rad_(), (3,)),
    "rad2deg_": (lambda m, a: (a * 1).rad2deg_(), (3,)),
    "true_divide_": (lambda m, a, b: (a * 1).true_divide_(b), (3, 4), (4,)),
    "float_power_": (lambda m, a, b: (a.abs() * 1).float_power_(b), (3, 4), (4,)),
    "float_power_number_": (lambda m, a: (a.abs() * 1).float_power_(0.5), (3,)),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_variants_match_torch(name):
    fn, *shapes = INPLACE[name]
    rng = np.random.default_rng(7)
    _same_as_torch(fn, *[rng.uniform(-2, 2, s) for s in shapes])


@pytest.mark.parametrize("name", ["asinh_", "arcsinh_", "acosh_", "arccosh_", "atanh_", "arctanh_"])
def test_inverse_hyperbolic_inplace_has_no_derivative_as_in_torch(name):
    """PyTorch records AsinhBackward1 (and Acosh..., Atanh...) for the in-place forms, with no formula."""
    torch = _torch()
    results = []
    for m in (torch, engine):
        x = m.tensor([0.2, 0.3], requires_grad=True)
        y = x * 1 + (2.0 if "cosh" in name else 0.0)
        out = getattr(y, name)()
        assert out is y
        with pytest.raises(NotImplementedError) as e:
            y.sum().backward()
        results.append((y.detach().numpy(), type(y.grad_fn).__name__, str(e.value)))
    (tv, tn, te), (ev, en, ee) = results
    np.testing.assert_allclose(ev, tv, rtol=1e-6)
    assert en == tn and ee == te


def test_inplace_bumps_the_version_and_saved_values_are_checked():
    """hypot_ saves its result (self): changing self afterwards makes backward raise, as in torch."""
    torch = _torch()
    for m in (torch, engine):
        x = m.tensor([3.0, 1.0], requires_grad=True)
        y = x * 1
        v = y._version
        y.hypot_(m.tensor([4.0, 1.0]))
        assert y._version == v + 1
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_inplace_keeps_the_old_self_for_backward():
    """atan2_ and copysign_ need self before the op: gradients use the old values."""
    a, b = np.array([0.5, -1.5, 2.0]), np.array([1.0, 2.0, -0.5])
    _same_as_torch(lambda m, x, y: (x * 1).atan2_(y) * 2, a, b)
    _same_as_torch(lambda m, x, y: (x * 1).copysign_(y).exp(), a, b)
    _same_as_torch(lambda m, x, y: (x * 1).hypot_(y) ** 2, a, b)


def test_addcmul_on_self_checks_the_saved_tensor_version():
    """x.addcmul_(x, y) saves tensor1 = x itself, which the op changes: backward refuses, as in torch."""
    torch = _torch()
    for m in (torch, engine):
        x = m.tensor([1.0, 2.0], requires_grad=True) * 1
        x.addcmul_(x, m.tensor([3.0, 4.0], requires_grad=True))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            x.sum().backward()


# -------------------------------------------------------------------------- dtypes of int and bool inputs
def _ints(m):
    return m.tensor([1, -2, 3]), m.tensor([True, False, True]), m.tensor([0.5, -1.5, 2.0])


DTYPES = {
    "atan2_ints": lambda m, i, b, f: m.atan2(i, i),
    "atan2_bools": lambda m, i, b, f: m.atan2(b, b),
    "atan2_int_float": lambda m, i, b, f: m.atan2(i, f),
    "atan2_double_float": lambda m, i, b, f: m.atan2(f.double(), f),
    "atan2_0dim_double": lambda m, i, b, f: m.atan2(f, m.tensor(2.0, dtype=m.float64)),
    "hypot_int_float": lambda m, i, b, f: m.hypot(i, f),
    "logaddexp_half_float": lambda m, i, b, f: m.logaddexp(f.half(), f),
    "xlogy_ints": lambda m, i, b, f: m.xlogy(i, i),
    "xlogy_bools": lambda m, i, b, f: m.xlogy(b, b),
    "xlogy_int_number": lambda m, i, b, f: m.xlogy(i, 2),
    "xlogy_number_float": lambda m, i, b, f: m.xlogy(2, f),
    "copysign_ints": lambda m, i, b, f: m.copysign(i, i),
    "copysign_int_number": lambda m, i, b, f: m.copysign(i, -2),
    "heaviside_ints": lambda m, i, b, f: m.heaviside(i, i),
    "heaviside_bools": lambda m, i, b, f: m.heaviside(b, b),
    "heaviside_floats": lambda m, i, b, f: m.heaviside(m.tensor([-1.0, 0.0, 2.0, math.nan]), m.tensor([0.5])),
    "addcmul_ints_float_value": lambda m, i, b, f: m.addcmul(i, i, i, value=2.5),
    "addcmul_float_ints": lambda m, i, b, f: m.addcmul(f, i, i, value=2.5),
    "addcmul_bool_value": lambda m, i, b, f: m.addcmul(i, f, i, value=True),
    "addcdiv_int_float": lambda m, i, b, f: m.addcdiv(i, i, f),
    "float_power_ints": lambda m, i, b, f: m.float_power(i, i),
    "float_power_number": lambda m, i, b, f: m.float_power(2, f),
    "sgn_ints": lambda m, i, b, f: m.sgn(i),
    "sgn_bools": lambda m, i, b, f: m.sgn(b),
    "nan_to_num_ints": lambda m, i, b, f: m.nan_to_num(i, nan=1.5),
    "nan_to_num_half": lambda m, i, b, f: m.nan_to_num(m.tensor([math.nan, math.inf, -math.inf]).half()),
    "trunc_ints": lambda m, i, b, f: m.trunc(i),
    "fix_half": lambda m, i, b, f: m.fix(f.half()),
    "sinc_half": lambda m, i, b, f: m.sinc(m.tensor([0.5, -1.5, 2.0, 0.3, 0.0]).half()),
    "sinc_ints": lambda m, i, b, f: m.sinc(i),
    "logit_bools": lambda m, i, b, f: m.logit(b),
}
for _name in ("exp2", "asinh", "acosh", "atanh", "deg2rad", "rad2deg", "logit", "sinc"):
    DTYPES[f"{_name}_ints_bools"] = (lambda n: lambda m, i, b, f: m.stack(
        [getattr(m, n)(i), getattr(m, n)(b), getattr(i, n)()]))(_name)


@pytest.mark.parametrize("name", DTYPES)
def test_dtypes_of_int_and_bool_inputs_match_torch(name):
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = DTYPES[name](torch, *_ints(torch))
        e = DTYPES[name](engine, *_ints(engine))
    assert e.dtype.name == str(t.dtype).split(".")[1]
    np.testing.assert_allclose(e.numpy().astype(np.float64), t.numpy().astype(np.float64), rtol=1e-6, equal_nan=True)


# -------------------------------------------------------------------------- errors
ERRORS = {
    "atan2_number_other": lambda m: m.atan2(m.ones(2), 2),
    "atan2_number_input": lambda m: m.atan2(2.5, m.ones(2)),
    "hypot_ints": lambda m: m.hypot(m.tensor([1, 2]), m.tensor([3, 4])),
    "hypot_number": lambda m: m.hypot(m.ones(2), 1.0),
    "logaddexp_bools": lambda m: m.logaddexp(m.tensor([True]), m.tensor([False])),
    "logaddexp2_ints": lambda m: m.logaddexp2(m.tensor([1]), m.tensor([2])),
    "logaddexp_number": lambda m: m.logaddexp(m.ones(2), 0.0),
    "frac_ints": lambda m: m.frac(m.tensor([1, 2])),
    "frac_bools": lambda m: m.tensor([True]).frac(),
    "frac__ints": lambda m: m.tensor([1, 2]).frac_(),
    "xlogy_numbers": lambda m: m.xlogy(2.0, 3.0),
    "copysign_number_input": lambda m: m.copysign(2, m.ones(2)),
    "heaviside_dtypes": lambda m: m.heaviside(m.ones(2), m.ones(2, dtype=m.float64)),
    "heaviside_int_float": lambda m: m.heaviside(m.tensor([1, 0]), m.ones(2)),
    "heaviside_number": lambda m: m.heaviside(m.ones(2), 0.5),
    "addcdiv_ints": lambda m: m.addcdiv(m.ones(2), m.tensor([1, 2]), m.tensor([1, 2])),
    "addcdiv_bools": lambda m: m.addcdiv(m.ones(2), m.tensor([True]), m.tensor([1, 2])),
    "addcmul_value_positional": lambda m: m.addcmul(m.ones(2), m.ones(2), m.ones(2), 2),
    "addcmul_number": lambda m: m.addcmul(m.ones(2), 2.0, m.ones(2)),
    "addcmul__broadcast_self": lambda m: m.ones(3).addcmul_(m.ones(2, 3), m.ones(3)),
    "float_power__float": lambda m: m.ones(2).float_power_(2),
    "float_power__int": lambda m: m.tensor([1, 2]).float_power_(2.0),
    "true_divide__ints": lambda m: m.tensor([1, 2]).true_divide_(2),
    "atan2__int_self": lambda m: m.tensor([1, 2]).atan2_(m.ones(2)),
    "logit__ints": lambda m: m.tensor([1, 2]).logit_(),
    "exp2__bools": lambda m: m.tensor([True]).exp2_(),
    "sinc__ints": lambda m: m.tensor([1]).sinc_(),
    "deg2rad__ints": lambda m: m.tensor([1]).deg2rad_(),
    "log1p__ints": lambda m: m.tensor([1]).log1p_(),
    "rsqrt__ints": lambda m: m.tensor([1]).rsqrt_(),
    "hypot__leaf": lambda m: m.ones(2, requires_grad=True).hypot_(m.ones(2)),
    "heaviside_backward": lambda m: m.heaviside(m.ones(2, requires_grad=True), m.ones(2)).sum().backward(),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    same_error(ERRORS[name])


# -------------------------------------------------------------------------- names
def test_heaviside_records_torchs_not_implemented_node():
    torch = _torch()
    nodes = []
    for m in (torch, engine):
        x = m.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        y = m.heaviside(x, m.tensor([0.5]))
        assert y.requires_grad and y.tolist() == [0.0, 0.5, 1.0]
        z = (x * 1).heaviside_(m.tensor([0.25]))
        nodes.append((y.grad_fn.name(), type(y.grad_fn).__name__, [type(n).__name__ if n else None
                                                                   for n, _ in y.grad_fn.next_functions],
                      z.grad_fn.name(), z.tolist()))
    assert nodes[0] == nodes[1]
    assert nodes[1][0] == "torch::autograd::NotImplemented"


def test_sgn_records_sgnbackward0_with_zero_gradient():
    torch = _torch()
    for m in (torch, engine):
        x = m.tensor([-1.5, 0.0, 2.0], requires_grad=True)
        y = m.sgn(x)
        assert y.grad_fn.name() == "SgnBackward0" and y.tolist() == [-1.0, 0.0, 1.0]
        (y * 1).sum().backward()
        assert (x.grad + m.zeros(3)).tolist() == [0.0, 0.0, 0.0]     # torch's grad here is a ZeroTensor


NAMES = ["addcmul", "addcdiv", "atan2", "arctan2", "hypot", "logaddexp", "logaddexp2", "xlogy", "logit", "frac",
         "sgn", "fix", "exp2", "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "sinc", "copysign",
         "heaviside", "nan_to_num", "deg2rad", "rad2deg", "float_power"]
INPLACE_NAMES = ["addcmul_", "addcdiv_", "atan2_", "arctan2_", "hypot_", "copysign_", "heaviside_", "xlogy_",
                 "logit_", "frac_", "sgn_", "sign_", "trunc_", "fix_", "exp2_", "asinh_", "arcsinh_", "acosh_",
                 "arccosh_", "atanh_", "arctanh_", "sinc_", "nan_to_num_", "log1p_", "expm1_", "rsqrt_",
                 "deg2rad_", "rad2deg_", "true_divide_", "float_power_"]


def test_names_exist_where_torch_has_them():
    """Functions and Tensor methods: engine has each one torch has, and no module-level
    in-place function torch lacks (torch.addcmul_ does not exist)."""
    torch = _torch()
    for name in NAMES + INPLACE_NAMES:
        assert hasattr(engine.Tensor, name) == hasattr(torch.Tensor, name), name
        assert hasattr(engine, name) == hasattr(torch, name), name


def test_inplace_returns_self_and_writes_in_place():
    x = engine.tensor([0.25, 0.5, 4.0])
    data = x.numpy()
    assert x.exp2_() is x and x.tolist() == pytest.approx([2 ** 0.25, 2 ** 0.5, 16.0])
    assert x.rad2deg_() is x and np.shares_memory(x.numpy(), data)
    y = engine.tensor([-1.75, 2.5])
    assert y.frac_() is y and y.tolist() == [-0.75, 0.5]
