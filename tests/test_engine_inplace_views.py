"""Views and in-place ops, checked against PyTorch: a view regenerates its grad_fn after its base
(or another view of the base) is modified in place, an in-place op on a view rebases the base
(CopySlices), views from split/unbind and views made under no_grad refuse such changes.

Each scenario runs on engine and on torch (where installed) and compares grad_fn names, the
names of their next functions, and the gradients.
"""
import numpy as np
import pytest

import engine


def _torch():
    return pytest.importorskip("torch")


def _node_name(n):
    return None if n is None else n.name().replace("torch::autograd::", "")   # torch's C++ CopySlices


def _name(t):
    return _node_name(t.grad_fn)


def _next_names(t):
    return [_node_name(n) for n, _ in t.grad_fn.next_functions]


def _both(scenario):
    """scenario(M) -> something comparable; the engine's answer must equal torch's."""
    torch = _torch()
    got, want = scenario(engine), scenario(torch)
    assert got == want
    return got


def _grad(t):
    return None if t.grad is None else t.grad.tolist()


def test_view_of_base_modified_in_place_is_as_strided_over_the_new_grad_fn():
    def run(M):
        a = M.ones(3, 4, dtype=M.float64, requires_grad=True)
        b = M.full((4,), 3.0, dtype=M.float64, requires_grad=True)
        c = a * 2
        v = c[1]
        before = _name(v)
        c.mul_(b)
        out = (before, _name(v), _next_names(v), v.output_nr, v._version)
        v.sum().backward()
        return out + (_grad(a), _grad(b))
    got = _both(run)
    assert got[:3] == ("SelectBackward0", "AsStridedBackward0", ["MulBackward0"])


def test_every_view_kind_regenerates():
    def run(M):
        a = M.arange(12.0, dtype=M.float64).reshape(3, 4).requires_grad_()
        out = []
        for make in (lambda c: c.t(), lambda c: c.view(12), lambda c: c.unsqueeze(0), lambda c: c.expand(2, 3, 4),
                     lambda c: c[:, 1:3], lambda c: c.t()[1]):
            c = a * 1
            v = make(c)
            c.mul_(c.detach() + 1)
            out.append((_name(v), _next_names(v)))
            a.grad = None
            (v * M.arange(float(v.numel()), dtype=M.float64).reshape(v.shape)).sum().backward()
            out.append(_grad(a))
        return out
    _both(run)


def test_view_of_a_view_and_repeated_in_place_changes():
    def run(M):
        a = M.ones(3, 4, dtype=M.float64, requires_grad=True)
        c = a * 2
        v = c[1]
        w = v[1:3]                       # a view of a view: its base is c
        c.mul_(3)
        first = (_name(w), _next_names(w))
        c.add_(1)                        # regenerated again, over the newest grad_fn
        second = (_name(w), _next_names(w), _name(v), _next_names(v))
        (w * w).sum().backward()
        return first, second, _grad(a)
    assert _both(run)[1][:2] == ("AsStridedBackward0", ["AddBackward0"])


def test_in_place_on_a_view_rebases_the_base_and_the_other_views():
    def run(M):
        a = M.ones(3, 4, dtype=M.float64, requires_grad=True)
        k = M.tensor([1.0, 2.0, 3.0, 4.0], dtype=M.float64, requires_grad=True)
        c = a * 2
        row = c[1]
        col = c[:, 0]                    # shares element [1, 0] with row
        row.mul_(k)
        names = (_name(c), _next_names(c), _name(row), _next_names(row), _name(col), _next_names(col))
        (col * M.tensor([1.0, 10.0, 100.0], dtype=M.float64)).sum().backward(retain_graph=True)
        g1 = (_grad(a), _grad(k))
        a.grad, k.grad = None, None
        c.sum().backward()
        return names, g1, (_grad(a), _grad(k)), c.tolist()
    names = _both(run)[0]
    assert names[0] == "CopySlices" and names[4] == "AsStridedBackward0"


def test_in_place_on_a_view_of_a_view():
    def run(M):
        a = M.ones(3, 4, dtype=M.float64, requires_grad=True)
        b = M.tensor([2.0, 3.0, 4.0], dtype=M.float64, requires_grad=True)
        c = a * 2
        v = c[1]
        vv = v[1:]
        vv.mul_(b)
        names = (_name(vv), _next_names(vv), _name(v), _next_names(v), _name(c), _next_names(c))
        (v * M.tensor([1.0, 2.0, 3.0, 4.0], dtype=M.float64)).sum().backward()
        return names, _grad(a), _grad(b)
    _both(run)


def test_view_of_a_base_that_gains_requires_grad_in_place():
    def run(M):
        w = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        c = M.zeros(2, 3)
        r = c[1]
        before = (r.requires_grad, _name(r))
        c[1] = w * 2                     # c now requires grad through CopySlices
        after = (r.requires_grad, _name(r), _next_names(r))
        r.sum().backward()
        return before, after, _grad(w)
    _both(run)


def test_view_regenerates_after_no_grad_change_of_a_leaf_base():
    def run(M):
        p = M.ones(3, requires_grad=True)
        v = p[0:2]
        with M.no_grad():
            p.add_(1)
        out = (_name(v), _next_names(v))
        (v * v).sum().backward()
        return out, _grad(p)
    _both(run)


def test_retain_grad_follows_a_regenerated_view_and_hooks_stay_with_the_old_node():
    def run(M):
        w = M.ones(3, requires_grad=True)
        c = w * 2
        v = c[0:2]
        v.retain_grad()
        calls = []
        v.register_hook(lambda g: calls.append(g.tolist()))
        c.mul_(3)
        v.sum().backward()
        return _grad(v), _grad(w), calls
    got = _both(run)
    assert got[0] == [1.0, 1.0] and got[2] == []


@pytest.mark.parametrize("make", ["unbind", "split", "chunk"])
def test_outputs_of_multi_view_ops_refuse_an_in_place_change_of_their_base(make):
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        c = M.ones(4, 2, requires_grad=True) * 2
        first = {"unbind": lambda: c.unbind(0), "split": lambda: c.split(2), "chunk": lambda: c.chunk(2)}[make]()[0]
        c.mul_(2)
        with pytest.raises(RuntimeError) as e1:
            first.grad_fn
        with pytest.raises(RuntimeError) as e2:
            first * 2
        assert str(e1.value) == str(e2.value)
        msgs.append(str(e1.value))
    assert msgs[0] == msgs[1]
    assert "returns multiple views" in msgs[0]


def test_outputs_of_multi_view_ops_refuse_being_modified_in_place():
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        first, _ = (M.ones(2, 3, requires_grad=True) * 2).unbind(0)
        with pytest.raises(RuntimeError) as e:
            first.mul_(2)
        msgs.append(str(e.value))
        with M.no_grad():                # not recorded: allowed
            first.mul_(2)
    assert msgs[0] == msgs[1]
    assert msgs[0].startswith("Output 0 of Unbind is a view and is being modified inplace.")


def test_view_made_under_no_grad_refuses_an_in_place_change_of_its_base():
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        w = M.ones(3, requires_grad=True)
        c = w * 2
        with M.no_grad():
            v = c[0:2]
        c.mul_(2)
        with pytest.raises(RuntimeError) as e:
            v.grad_fn
        msgs.append(str(e.value))
        with M.no_grad():                # both in no_grad: fine
            u = c[0:1]
            c.mul_(2)
            u.add_(1)
    assert msgs[0] == msgs[1]
    assert msgs[0].startswith("A view was created in no_grad mode and its base")


def test_views_of_a_non_contiguous_base_regenerate():
    """The base of a view is always the tensor that owns the memory, whatever its layout."""
    def run(M):
        a = M.arange(6.0, dtype=M.float64).requires_grad_()
        base = (a * 1).reshape(2, 3)
        r = base.t()[1]
        base.mul_(base.detach() + 1)
        out = (_name(r), _next_names(r), r.tolist())
        (r * M.tensor([1.0, 5.0], dtype=M.float64)).sum().backward()
        return out, _grad(a)
    _both(run)


def test_regenerated_view_is_checked_by_gradcheck():
    """d/da of a view read after its base changed in place, by finite differences."""
    def f(a, b):
        c = a * 1
        v = c[:, 1:].t()
        c.mul_(b)
        return v * v
    a = engine.rand(3, 4, dtype=engine.float64, requires_grad=True)
    b = engine.rand(4, dtype=engine.float64, requires_grad=True)
    assert engine.autograd.gradcheck(f, (a, b))
    assert engine.autograd.gradgradcheck(f, (a, b))


def test_in_place_without_grad_keeps_views_unchanged():
    a = engine.ones(2, 3)
    v = a[0]
    a.add_(1)
    assert v.grad_fn is None and not v.requires_grad
    np.testing.assert_array_equal(v.numpy(), [2.0, 2.0, 2.0])


def test_fill_with_a_tensor_value_records_fill_backward3():
    def run(M):
        v = M.tensor(2.0, requires_grad=True)
        w = M.ones(2, 3, requires_grad=True)
        out = []
        for target in (M.ones(2, 3), w * 1):
            target.fill_(v)
            out.append((_name(target), _next_names(target), target._version))
            v.grad, w.grad = None, None
            (target * M.arange(6.0).reshape(2, 3)).sum().backward()
            out.append((_grad(v), _grad(w)))
        y = w * 1
        y.fill_(M.tensor(5.0))                    # value without grad: still FillBackward3
        out.append((_name(y), _next_names(y)))
        c = w * 1
        c[0].fill_(v)                             # through a view: CopySlices over FillBackward3
        v.grad, w.grad = None, None
        c.sum().backward()
        out.append((_name(c), _next_names(c), _grad(v), _grad(w)))
        return out
    got = _both(run)
    assert got[0][0] == "FillBackward3" and got[1] == (15.0, None) and got[3] == (15.0, [[0.0] * 3] * 2)


def test_leaky_relu_inplace_overwrites_its_input_like_torch():
    def run(M):
        F = M.nn.functional
        w = M.tensor([-1.0, 0.0, 2.0, -3.0], requires_grad=True)
        out = []
        for call in (lambda x: F.leaky_relu(x, 0.1, inplace=True), lambda x: F.leaky_relu_(x, 0.1),
                     M.nn.LeakyReLU(0.1, inplace=True)):
            x = w * 1
            y = call(x)
            out.append((y is x, x._version, _name(y), y.tolist()))
            w.grad = None
            (y * M.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
            out.append(_grad(w))
        c = w * 1
        F.leaky_relu(c[1:], 0.1, inplace=True)            # through a view: CopySlices on c
        out.append((_name(c), c.tolist()))
        with M.no_grad():
            d = w * 1
            out.append((F.leaky_relu(d, 0.1, inplace=True) is d, d._version, d.tolist()))
        return out
    got = _both(run)
    assert got[0][:3] == (True, 1, "LeakyReluBackward1") and got[1] == [0.10000000149011612, 0.20000000298023224, 3.0, 0.4000000059604645]


def test_leaky_relu_inplace_errors_like_torch():
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        F = M.nn.functional
        leaf = M.tensor([-1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError) as e1:
            F.leaky_relu(leaf, 0.1, inplace=True)
        y = F.leaky_relu(leaf * 1, -0.5, inplace=True)       # a negative slope: backward refuses
        with pytest.raises(RuntimeError) as e2:
            y.sum().backward()
        y = F.leaky_relu(leaf * 1, 0.1, inplace=True)
        y.mul_(2)                                             # the saved result changed
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        msgs.append((str(e1.value), str(e2.value), leaf.tolist()))
    assert msgs[0] == msgs[1]
    assert msgs[0][0] == "a leaf Variable that requires grad is being used in an in-place operation."


def test_relu_and_dropout_inplace_overwrite_their_input_like_torch():
    def run(M):
        F = M.nn.functional
        w = M.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
        out = []
        for call in (lambda x: F.relu(x, inplace=True), M.nn.ReLU(inplace=True),
                     lambda x: F.dropout(x, 1.0, inplace=True)):
            x = w * 1
            y = call(x)
            out.append((y is x, x._version, _name(y), y.tolist()))
            w.grad = None
            y.sum().backward()
            out.append(_grad(w))
        M.manual_seed(0)
        x = w * 1
        y = F.dropout(x, 0.5, inplace=True)
        out.append((y is x, x._version, _name(y)))
        return out
    _both(run)


# -- views of a base without grad that gains requires_grad in place ---------------------------------
# Ops read requires_grad straight off their inputs, so the base tells its live views (see _mark_view).

_GAIN = {
    "setitem": lambda M, x, w: x.__setitem__(1, w * 2),
    "mul_": lambda M, x, w: x.mul_(w),
    "add_": lambda M, x, w: x.add_(w, alpha=2),
    "div_": lambda M, x, w: x.div_(w + 1),
    "copy_": lambda M, x, w: x.copy_(w.expand(3, 4)),
    "lerp_": lambda M, x, w: x.lerp_(w, 0.25),
    "pow_": lambda M, x, w: x.pow_(w),
    "masked_fill_": lambda M, x, w: x.masked_fill_(x > 5, w.sum()),
    "other view add_": lambda M, x, w: x[:, 2].add_(w[:3]),
    "other view setitem": lambda M, x, w: x[2].__setitem__(slice(1, 3), w[1:3]),
    "other view copy_": lambda M, x, w: x[0].copy_(w),
    "view itself mul_": lambda M, x, w: x[1].mul_(w),
}

_USE = {
    "mul": lambda v: v * 3,
    "add": lambda v: v + 1,
    "sum": lambda v: v.sum(),
    "exp": lambda v: v.exp(),
    "matmul": lambda v: v @ v,
    "view of the view": lambda v: v[1:] * 2,
    "t": lambda v: v.unsqueeze(0).t(),
}


def _g12(values):
    """Values to 12 significant digits (NumPy's and torch's exp/pow may differ in the last bit)."""
    return None if values is None else ["%.12g" % v for v in np.ravel(values)]


@pytest.mark.parametrize("gain", list(_GAIN))
@pytest.mark.parametrize("use", list(_USE))
def test_view_of_a_base_without_grad_sees_the_grad_it_gains_in_place(gain, use):
    def run(M):
        x = M.arange(1.0, 13.0, dtype=M.float64).reshape(3, 4) / 4
        v = x[1]
        early = v[::2]                   # a view of the view made before the base gains grad too
        w = M.tensor([1.0, 2.0, 3.0, 4.0], dtype=M.float64, requires_grad=True)
        before = (v.requires_grad, early.requires_grad)
        _GAIN[gain](M, x, w)
        y = _USE[use](v)
        z = early * early
        out = (before, y.requires_grad, _name(y), _name(v), v.requires_grad, _g12(y.tolist()), z.requires_grad,
               _name(z))
        (y.sum() + z.sum()).backward()
        return out + (_g12(_grad(w)),)
    got = _both(run)
    assert got[0] == (False, False) and got[1] is True and got[-1] is not None


def test_view_of_a_base_without_grad_is_checked_by_gradcheck():
    """The view, made before its base gains grad through setitem and mul_, by finite differences."""
    def f(w):
        x = engine.ones(3, 4, dtype=engine.float64)
        v = x[1]
        u = x[:, 1:3]
        x[1] = w * w
        x.mul_(w)
        return v.exp() * 2, u.sum(0)
    w = engine.rand(4, dtype=engine.float64, requires_grad=True)
    assert engine.autograd.gradcheck(f, (w,))
    assert engine.autograd.gradgradcheck(f, (w,))


def test_view_of_a_base_without_grad_under_no_grad_after_it_gains_grad():
    def run(M):
        x = M.zeros(3, 4)
        v = x[1]
        w = M.ones(4, requires_grad=True)
        x[0] = w
        with M.no_grad():
            y = v * 3
        return v.requires_grad, y.requires_grad, _name(y)
    assert _both(run) == (True, False, None)


def test_view_made_under_no_grad_of_a_base_without_grad_refuses_use_after_it_gains_grad():
    torch = _torch()
    got = []
    for M in (engine, torch):
        x = M.zeros(3, 4)
        with M.no_grad():
            v = x[1]
        x.mul_(M.ones(4, requires_grad=True))
        rg = v.requires_grad             # torch answers without regenerating the grad_fn
        with pytest.raises(RuntimeError) as e:
            v * 3
        got.append((rg, str(e.value)))
    assert got[0] == got[1]
    assert got[0][0] is True and got[0][1].startswith("A view was created in no_grad mode and its base")


def test_in_place_without_grad_leaves_views_of_a_base_without_grad_alone():
    x = engine.zeros(3, 4)
    v = x[1]
    x.mul_(engine.ones(4))
    x[0] = engine.ones(4)
    assert not v.requires_grad and not (v * 3).requires_grad and (v * 3).grad_fn is None
    with engine.no_grad():
        x.mul_(engine.ones(4, requires_grad=True))
    assert not v.requires_grad and not (v + 1).requires_grad


def test_the_base_keeps_its_dead_views_bounded_and_still_tells_the_live_ones():
    x = engine.zeros(100, 4)
    kept = [x[i] for i in range(0, 100, 10)]
    for _ in range(20):
        for i in range(100):
            x[i].sum()                   # temporary views, dropped at once
    assert len(x._x["views"]) < 200
    w = engine.ones(4, requires_grad=True)
    x[5] = w
    assert all(v.requires_grad for v in kept) and "views" not in x._x
    sum(v.sum() for v in kept).backward()
    assert w.grad.tolist() == [0.0] * 4
    (x[5] * 2).sum().backward()
    assert w.grad.tolist() == [2.0] * 4


def test_views_of_a_base_that_requires_grad_are_not_remembered():
    a = engine.ones(3, 4, requires_grad=True)
    c = a * 2
    c[1], c.t(), a[0]
    assert a._x is None and c._x is None


def test_custom_function_marking_a_base_without_grad_dirty_gives_its_views_grad():
    def run(M):
        class MulInPlace(M.autograd.Function):
            @staticmethod
            def forward(ctx, x, w):
                ctx.mark_dirty(x)
                ctx.save_for_backward(w)
                return x.mul_(w)

            @staticmethod
            def backward(ctx, g):
                w, = ctx.saved_tensors
                return g * w, None

        x = M.ones(3, 4, dtype=M.float64)
        v = x[1]
        w = M.tensor([1.0, 2.0, 3.0, 4.0], dtype=M.float64, requires_grad=True)
        MulInPlace.apply(x, w * 1)
        y = v * 3
        return y.requires_grad, _name(y), _name(v), _next_names(v)
    assert _both(run)[0] is True


# -- views that inherit requires_grad from their base without a grad_fn of their own ----------------
# PyTorch: a view requires grad when its base does, so a view made under no_grad, or taken before its
# leaf base was given requires_grad_(), reports requires_grad=True and is_leaf=True; ops on it record
# nodes whose edge to it is (None, 0), and no gradient reaches it or its base.

def _info(t):
    return t.requires_grad, t.is_leaf, _name(t), _next_names(t) if t.grad_fn is not None else None


def test_view_made_under_no_grad_of_a_base_that_requires_grad():
    def run(M):
        w = M.ones(2, 3, requires_grad=True)
        c = w * 2
        with M.no_grad():
            made = [w[0], w.t(), c[1:], c.view(6), w.unbind(0)[0], w.split(1)[1], c.expand(2, 2, 3)]
            inner = (made[0] * 2).requires_grad
            arr = made[0].numpy().tolist()          # allowed under no_grad
        out = [[_info(t) for t in made], inner, arr]
        later = made[0][1:]                         # a view of it in grad mode: SliceBackward0 with no edge
        y = made[0] * 3 + made[2].sum() + made[3].exp().sum()
        out += [_info(later), _info(y)]
        y.sum().backward()
        out.append((_grad(w), made[0].grad))
        return out
    got = _both(run)
    assert got[0][0] == (True, True, None, None) and got[4][2] == "AddBackward0" and got[-1] == (None, None)
    assert got[3] == (True, False, "SliceBackward0", [None])


def test_no_grad_view_of_a_base_without_grad_does_not_require_grad():
    def run(M):
        x = M.ones(2, 3)
        with M.no_grad():
            v = x[0]
        return _info(v), _info(v * 2)
    assert _both(run)[0] == (False, True, None, None)


@pytest.mark.parametrize("how", ["no_grad view of a leaf", "no_grad view of a non-leaf", "no_grad unbind",
                                 "view before requires_grad_", "unbind of a leaf"])
def test_in_place_on_a_view_that_inherits_requires_grad_errors_like_torch(how):
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        w = M.ones(2, 3, requires_grad=True)
        c = w * 1
        if how == "view before requires_grad_":
            x = M.zeros(2, 3)
            v = x[0]
            x.requires_grad_()
        elif how == "unbind of a leaf":
            v = w.unbind(0)[0]
        else:
            with M.no_grad():
                v = {"no_grad view of a leaf": lambda: w[0], "no_grad view of a non-leaf": lambda: c[0],
                     "no_grad unbind": lambda: w.unbind(0)[0]}[how]()
        with pytest.raises(RuntimeError) as e:
            v.mul_(2)
        msgs.append(str(e.value))
        with M.no_grad():
            v.mul_(2)                    # not recorded: allowed
    assert msgs[0] == msgs[1]


def test_view_taken_before_its_leaf_base_requires_grad():
    def run(M):
        x = M.zeros(2, 3)
        v = x[0]
        x.requires_grad_()
        y = v * 2
        out = (_info(v), _info(y), v[1:].requires_grad)
        y.sum().backward()
        with pytest.raises(RuntimeError, match="Can't call numpy"):
            v.numpy()
        return out + (_grad(x), _grad(v))
    got = _both(run)
    assert got[:2] == ((True, True, None, None), (True, False, "MulBackward0", [None, None]))


def _multi_of_grad_base_slice_mul_(M):
    c = M.ones(2, 3, requires_grad=True) * 1
    c.unbind(0)[0][1:].mul_(2)


def _multi_of_grad_base_slice_after_base_mul_(M):
    c = M.ones(2, 3, requires_grad=True) * 1
    v = c.unbind(0)[0][1:]
    c.mul_(2)
    v.grad_fn


def _unbind_of_no_grad_view_mul_(M):
    c = M.ones(2, 3, requires_grad=True) * 1
    with M.no_grad():
        nv = c[0]
    nv.unbind(0)[0].mul_(2)


def _grad_view_of_no_grad_view_mul_(M):
    w = M.ones(2, 3, requires_grad=True)
    with M.no_grad():
        nv = w[0]
    nv[1:].mul_(2)


def _grad_view_of_no_grad_view_after_base_mul_(M):
    c = M.ones(2, 3, requires_grad=True) * 1
    with M.no_grad():
        nv = c[0]
    v = nv[1:]
    c.mul_(2)
    v.grad_fn


def _multi_of_base_without_grad(how):
    def run(M):
        x = M.zeros(3, 4)
        a = x.split(2)[0][0] if how == "view of split" else x.unbind(0)[0]
        w = M.ones(4, requires_grad=True)
        {"mul_": lambda: a.mul_(w), "copy_": lambda: a.copy_(w), "setitem": lambda: a.__setitem__(slice(1, None), w[1:]),
         "view of split": lambda: a.mul_(w)}[how]()
    return run


def _no_grad_view_of_base_without_grad_setitem(M):
    x = M.zeros(3, 4)
    with M.no_grad():
        a = x[0]
    a[1:] = M.ones(3, requires_grad=True)


@pytest.mark.parametrize("scenario", [
    _multi_of_grad_base_slice_mul_, _multi_of_grad_base_slice_after_base_mul_, _unbind_of_no_grad_view_mul_,
    _grad_view_of_no_grad_view_mul_, _grad_view_of_no_grad_view_after_base_mul_,
    _multi_of_base_without_grad("mul_"), _multi_of_base_without_grad("copy_"), _multi_of_base_without_grad("setitem"),
    _multi_of_base_without_grad("view of split"), _no_grad_view_of_base_without_grad_setitem])
def test_views_keep_their_creation_meta_and_refuse_in_place_changes_with_torchs_message(scenario):
    """A view of a view keeps the no_grad / multiple-output mark of the first one, and an in-place op
    whose *other* input requires grad counts too; the message is built as PyTorch builds it."""
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        with pytest.raises(RuntimeError) as e:
            scenario(M)
        msgs.append(str(e.value))
    assert msgs[0] == msgs[1]


def test_multi_output_views_of_a_base_without_grad_change_in_place_without_grad():
    def run(M):
        x = M.zeros(3, 4)
        a = x.unbind(0)[0]
        a.add_(1)
        a[1:].mul_(M.full((3,), 2.0))
        return x.tolist(), x.requires_grad, a._version
    _both(run)
