"""Autograd semantics: traversal order, the step generator, hooks, grad modes, errors, in-place
and versions, higher-order gradients, custom Functions, functional jacobian/hessian, anomaly mode.

Where PyTorch is installed, orders and values are checked against it directly.
"""
import threading
import warnings

import numpy as np
import pytest

import engine
from engine import autograd


def _torch():
    return pytest.importorskip("torch")


# ----------------------------------------------------------------------------- traversal order
def _graph_y(M):
    w = M.tensor([1.0], requires_grad=True)
    x = M.tensor([2.0], requires_grad=True)
    a = M.add(w, x)
    b = M.add(w, 1)
    y = M.mul(a, b)
    labels = {y.grad_fn: "y", a.grad_fn: "a", b.grad_fn: "b"}
    for n, _ in a.grad_fn.next_functions:
        labels[n] = "w" if n.variable is w else "x"
    return y, labels, (w, x)


def _torch_order(y, labels):
    order = []
    for node, label in labels.items():
        node.register_prehook(lambda g, label=label: order.append(label))
    y.backward()
    return order


def test_step_order_matches_torch_for_the_tutorial_graph():
    y, labels, (w, x) = _graph_y(engine)
    plan = [labels[n] for n in autograd.backward_plan(y, retain_graph=True)]
    steps = [labels[s.node] for s in autograd.backward_steps(y)]
    assert plan == steps == ["y", "b", "a", "w", "x"]
    assert w.grad.tolist() == [5.0] and x.grad.tolist() == [2.0]
    torch = pytest.importorskip("torch")
    ty, tlabels, _ = _graph_y(torch)
    assert _torch_order(ty, tlabels) == steps


def _random_dag(M, seed, n_ops=40):
    rng = np.random.default_rng(seed)
    leaves = [M.tensor([float(i + 1)], requires_grad=True) for i in range(4)]
    pool = list(leaves)
    for _ in range(n_ops):
        i, j = rng.integers(0, len(pool), 2)
        op = rng.integers(0, 4)
        a, b = pool[i], pool[j]
        pool.append(a * b if op == 0 else a + b if op == 1 else M.tanh(a) if op == 2 else a - 0.5 * b)
    out = pool[-1]
    for t in pool[-6:-1]:
        out = out + t
    return out, leaves


def _label_nodes(root):
    labels, stack, k = {}, [root], 0
    while stack:
        n = stack.pop()
        if n is None or n in labels:
            continue
        labels[n] = f"{k}:{type(n).__name__}"
        k += 1
        stack.extend(m for m, _ in n.next_functions)
    return labels


@pytest.mark.parametrize("seed", range(6))
def test_order_matches_torch_on_random_dags(seed):
    torch = _torch()
    ey, _ = _random_dag(engine, seed)
    ty, _ = _random_dag(torch, seed)
    el, tl = _label_nodes(ey.grad_fn), _label_nodes(ty.grad_fn)
    assert sorted(el.values()) == sorted(tl.values())
    engine_order = [el[s.node] for s in autograd.backward_steps(ey)]
    assert _torch_order(ty, tl) == engine_order


# ----------------------------------------------------------------------------- the step generator
def test_steps_are_lazy_and_record_what_each_node_did():
    w = engine.tensor([1.0], requires_grad=True)
    x = engine.tensor([2.0], requires_grad=True)
    a = w + x
    b = w + 1
    y = a * b
    b.retain_grad()
    seen = []
    x.register_hook(lambda g: seen.append(g.item()) or g * 10)
    gen = autograd.backward_steps(y)
    assert w.grad is None and seen == []          # nothing ran yet
    s1 = next(gen)
    assert s1.node is y.grad_fn and w.grad is None
    assert [g.tolist() for g in s1.grads_in] == [[1.0]]
    assert [g.tolist() for g in s1.grads_out] == [[2.0], [3.0]]   # d/da = b, d/db = a
    s2 = next(gen)
    assert s2.node is b.grad_fn and s2.retained == [b] and b.grad.tolist() == [3.0]
    assert s2.grads_out[1] is None                # the constant 1 gets nothing
    rest = list(gen)
    names = [s.node.name() for s in rest]
    assert names == ["AddBackward0", "torch::autograd::AccumulateGrad", "torch::autograd::AccumulateGrad"]
    acc_w = rest[1].accumulations[0]
    assert acc_w[0] is w and acc_w[1] is None and acc_w[2].tolist() == [5.0]
    acc_x = rest[2]
    assert acc_x.hooks[0][1].tolist() == [2.0] and acc_x.hooks[0][2].tolist() == [20.0]
    assert x.grad.tolist() == [20.0] and seen == [2.0]


def test_steps_free_saved_tensors_unless_retained():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    list(autograd.backward_steps(y))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    y = (x * x).sum()
    list(autograd.backward_steps(y, retain_graph=True))
    y.backward()
    assert x.grad.tolist() == [6.0, 12.0]        # 2x accumulated by three passes


def test_plan_agrees_with_steps_and_with_inputs_restriction():
    x = engine.tensor([1.0], requires_grad=True)
    z = engine.tensor([3.0], requires_grad=True)
    y = (x * 2 + z.exp()) * x
    plan = autograd.backward_plan(y, inputs=[x], retain_graph=True)
    steps = [s.node for s in autograd.backward_steps(y, inputs=[x])]
    assert plan == steps
    assert "ExpBackward0" not in [n.name() for n in plan]
    assert z.grad is None and x.grad.tolist() == [4.0 + np.exp(3.0).astype(np.float32)]


def test_a_100000_op_chain_runs_without_recursion():
    x = engine.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.tolist() == [1.0]
    assert len(autograd.backward_plan(x * 1.0)) == 2


# ----------------------------------------------------------------------------- graph introspection
def test_grad_fn_and_next_functions_like_torch():
    y, labels, (w, x) = _graph_y(engine)
    assert y.grad_fn.name() == "MulBackward0"
    (na, _), (nb, _) = y.grad_fn.next_functions
    assert na.name() == "AddBackward0" and nb.next_functions[1] == (None, 0)
    acc = na.next_functions[0][0]
    assert isinstance(acc, autograd.AccumulateGrad) and acc.variable is w
    assert acc is nb.next_functions[0][0]          # one AccumulateGrad per leaf
    assert w.is_leaf and not y.is_leaf and y.requires_grad
    assert "grad * other" in y.grad_fn.formula
    saved = y.grad_fn.saved_values()
    assert saved["self"].tolist() == [3.0] and saved["other"].tolist() == [2.0]
    assert y.grad_fn._saved_self.tolist() == [3.0]


def test_node_hooks_and_prehooks_and_metadata():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []
    y.grad_fn.register_prehook(lambda gout: calls.append(("pre", gout[0].tolist())))
    h = y.grad_fn.register_hook(lambda gin, gout: (gin[0] * 2, gin[1]))
    y.grad_fn.metadata["note"] = "scaled"
    y.sum().backward(retain_graph=True)
    assert calls == [("pre", [1.0, 1.0])] and x.grad.tolist() == [6.0, 6.0]
    h.remove()
    x.grad = None
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and y.grad_fn.metadata == {"note": "scaled"}


# ----------------------------------------------------------------------------- hooks, retain_grad
def test_tensor_hooks_on_leaf_and_non_leaf_and_removal():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    h1 = x.register_hook(lambda g: g * 2)
    y = x * x
    h2 = y.register_hook(lambda g: g + 1)
    y.sum().backward(retain_graph=True)
    assert x.grad.tolist() == [8.0, 16.0]        # (1 + 1) * 2x * 2
    h1.remove()
    h2.remove()
    x.grad.zero_()
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_retain_grad_and_the_non_leaf_grad_warning():
    x = engine.tensor([2.0], requires_grad=True)
    y = x * 3
    z = y * y
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert y.grad is None
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    z.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad.tolist() == [12.0]
    assert x.grad.tolist() == [36.0]


def test_post_accumulate_grad_hook():
    p = engine.tensor([1.0], requires_grad=True)
    seen = []
    p.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.item()))
    (p * 4).backward()
    assert seen == [4.0]


# ----------------------------------------------------------------------------- grad modes
def test_no_grad_enable_grad_set_grad_enabled_inference_mode():
    x = engine.tensor([1.0], requires_grad=True)
    with engine.no_grad():
        assert not (x * 2).requires_grad
        with engine.enable_grad():
            assert (x * 2).requires_grad
    with engine.set_grad_enabled(False):
        assert not engine.is_grad_enabled()
    assert engine.is_grad_enabled()
    engine.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    engine.set_grad_enabled(True)
    with engine.inference_mode():
        assert not (x * 2).requires_grad and engine.is_inference_mode_enabled()

    @engine.no_grad()
    def f(t):
        return t * 2

    @engine.no_grad
    def g(t):
        return t * 2
    assert not f(x).requires_grad and not g(x).requires_grad and (x * 2).requires_grad


def test_grad_mode_is_per_thread():
    x = engine.tensor([1.0], requires_grad=True)
    out = {}
    with engine.no_grad():
        t = threading.Thread(target=lambda: out.setdefault("rg", (x * 2).requires_grad))
        t.start()
        t.join()
    assert out["rg"] is True


def test_detach_and_data_share_storage():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0
    assert x.tolist() == [5.0, 2.0] and x._version == d._version == 1
    x.data.mul_(2)
    assert x.tolist() == [10.0, 4.0] and x._version == 1     # .data has its own version counter
    x.data -= 1.0
    assert x.tolist() == [9.0, 3.0] and x.requires_grad and x.is_leaf
    y = x * 2
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad


# ----------------------------------------------------------------------------- PyTorch's errors
def test_error_backward_twice():
    x = engine.tensor([1.0], requires_grad=True)
    y = x.exp()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    z = x + 1
    z.backward()
    z.backward()                                   # nothing saved: allowed, as in PyTorch
    assert x.grad.tolist() == [np.float32(np.e) + 2]


def test_error_implicit_grad_for_non_scalar_and_shape_mismatch():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\) and output\[0\] has a shape of torch.Size\(\[2\]\)"):
        (x * 2).backward(engine.ones(3))


def test_error_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        engine.tensor([1.0, 2.0]).sum().backward()


def test_error_inplace_on_saved_tensor():
    a = engine.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b
    b.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[torch.FloatTensor \[2\]\], "
                                           r"which is output 0 of Add, is at version 1; expected version 0"):
        c.sum().backward()
    e = a.exp()
    v = e[0]                                       # a view shares the version counter
    v.mul_(2)
    assert e._version == 1
    with pytest.raises(RuntimeError, match="output 0 of Exp"):
        e.sum().backward()


def test_error_inplace_on_leaf():
    x = engine.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0:1].mul_(2)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x += 1
    with engine.no_grad():
        x += 1
        x[0] = 7.0
    assert x.tolist() == [7.0] and x.is_leaf and x._version == 2


def test_error_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        engine.tensor([1, 2]).requires_grad_()
    x = engine.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        (x * 2).requires_grad_(False)
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        engine.tensor(1.0).retain_grad()
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        engine.tensor(1.0).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad"):
        x.numpy()


# ----------------------------------------------------------------------------- in-place autograd
def test_inplace_rebases_history_and_snapshots_old_values():
    torch = _torch()
    for M in (engine, torch):
        a = M.tensor([1.0, 2.0])
        b = M.tensor([3.0, 4.0], requires_grad=True)
        c = a * 1
        c.mul_(b)
        assert type(c.grad_fn).__name__ == "MulBackward0"
        c.sum().backward()
        assert b.grad.tolist() == [1.0, 2.0]
    x = engine.tensor([1.0, -2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.relu_()
    assert y.grad_fn.name() == "ReluBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 0.0] and y.grad.tolist() == [1.0, 1.0]


def test_setitem_gradients_like_torch():
    torch = _torch()
    res = []
    for M in (engine, torch):
        x = M.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        v = M.tensor([10.0, 20.0], requires_grad=True)
        y = x * 2
        y[1] = v * 3
        assert type(y.grad_fn).__name__ == "CopySlices"
        (y * y).sum().backward()
        res.append((x.grad.tolist(), v.grad.tolist(), y.tolist()))
    assert res[0] == res[1]


# ----------------------------------------------------------------------------- autograd.grad
def test_grad_higher_order_and_allow_unused():
    x = engine.tensor(3.0, requires_grad=True)
    z = engine.tensor(1.0, requires_grad=True)
    y = x ** 3
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.item() == 27.0 and g.requires_grad
    (g2,) = autograd.grad(g, x, create_graph=True)
    assert g2.item() == 18.0
    (g3,) = autograd.grad(g2, x)
    assert g3.item() == 6.0 and x.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        autograd.grad(x * 2, [x, z])
    gx, gz = autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None
    gx, gz = autograd.grad(x * 2, [x, z], materialize_grads=True)
    assert gz.item() == 0.0


def test_backward_create_graph_and_inputs():
    x = engine.tensor(2.0, requires_grad=True)
    y = x ** 3
    with pytest.warns(UserWarning, match="reference cycle"):
        y.backward(create_graph=True)
    assert x.grad.item() == 12.0 and x.grad.requires_grad
    (gg,) = autograd.grad(x.grad, x)
    assert gg.item() == 12.0
    a = engine.tensor(1.0, requires_grad=True)
    b = engine.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[b])
    assert a.grad is None and b.grad.item() == 1.0


def test_grad_of_non_leaf_input():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    (gh,) = autograd.grad(y, h)
    assert gh.tolist() == [4.0, 8.0]


# ----------------------------------------------------------------------------- Function
class Cube(autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2 * ctx.scale, None


class WrongGrad(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


def test_custom_function():
    x = engine.tensor([1.0, 2.0], requires_grad=True, dtype=engine.float64)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward" and y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]
    assert autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    assert autograd.gradgradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    assert not autograd.gradcheck(WrongGrad.apply, (x,), raise_exception=False)
    with pytest.raises(autograd.GradcheckError):
        autograd.gradcheck(WrongGrad.apply, (x,))
    with engine.no_grad():
        assert Cube.apply(x, 1.0).grad_fn is None


# ----------------------------------------------------------------------------- functional
def test_jacobian_and_hessian_match_torch():
    torch = _torch()
    f = lambda M: (lambda x: M.stack([x[0] * x[1], M.sin(x[1]) + x[0] ** 2]))  # noqa: E731
    h = lambda M: (lambda x: (x ** 3).sum() + x[0] * x[1])  # noqa: E731
    xe = engine.tensor([1.0, 2.0], dtype=engine.float64)
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64)
    np.testing.assert_allclose(autograd.functional.jacobian(f(engine), xe).numpy(),
                               torch.autograd.functional.jacobian(f(torch), xt).numpy())
    np.testing.assert_allclose(autograd.functional.hessian(h(engine), xe).numpy(),
                               torch.autograd.functional.hessian(h(torch), xt).numpy())
    je = autograd.functional.jacobian(lambda a, b: a * b, (xe, xe * 2))
    assert len(je) == 2 and tuple(je[0].shape) == (2, 2)


# ----------------------------------------------------------------------------- anomaly mode
def test_detect_anomaly_names_the_node_and_its_forward_trace():
    x = engine.tensor([0.0, 1.0], requires_grad=True)
    with autograd.detect_anomaly():
        y = x.sqrt()                               # d sqrt at 0 is inf
        with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned (nan|inf) values") as e:
            with pytest.warns(UserWarning, match="Traceback of forward call"):
                y.sum().backward()
    assert "test_detect_anomaly_names_the_node" in str(e.value)
    z = x.sqrt()
    z.sum().backward()                             # off: no error, the inf just flows
    assert np.isinf(x.grad.numpy()[0])


# ----------------------------------------------------------------------------- devices
def test_cuda_unavailable_is_reported_not_raised():
    if engine.cuda.is_available():
        pytest.skip("a GPU is present")
    assert engine.cuda.device_count() == 0
    reason = engine.cuda.unavailable_reason()
    assert reason
    with pytest.raises(RuntimeError, match="CUDA was asked for but is not available"):
        engine.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="not available"):
        engine.tensor([1.0]).cuda()


@pytest.mark.skipif(not engine.cuda.is_available(), reason=f"CUDA unavailable: {engine.cuda.unavailable_reason()}")
def test_cuda_backward_and_device_mismatch():
    x = engine.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert x.grad.device.type == "cuda" and x.grad.cpu().tolist() == [2.0, 4.0]
    assert repr(x.detach()) == "tensor([1., 2.], device='cuda:0')"
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        x + engine.tensor([1.0, 2.0])


def _view_case(M, k):
    x = M.tensor(np.arange(12.0).reshape(3, 4) / 10, requires_grad=True)
    w = M.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x * 2
    if k == 0:
        y[1].mul_(w)
    elif k == 1:
        y[1:3, 0].add_(w[:2])
    elif k == 2:
        y.t()[0].zero_()
    elif k == 3:
        v = y[:, 1:3]
        v[0] = w[:2] * 5
    elif k == 4:
        y.view(12)[2:5].exp_()
    elif k == 5:
        v = y[1]
        v.mul_(w)
        return (v * 3).sum() + (y * y).sum(), x, w, y
    return (y * y).sum(), x, w, y


@pytest.mark.parametrize("k", range(6))
def test_inplace_on_a_view_rebases_the_base_like_torch(k):
    torch = _torch()
    got = []
    for M in (engine, torch):
        out, x, w, y = _view_case(M, k)
        out.backward()
        got.append((out.item(), x.grad.numpy().copy(), None if w.grad is None else w.grad.numpy().copy(),
                    type(y.grad_fn).__name__))
    (eo, ex, ew, en), (to, tx, tw, tn) = got
    assert en == tn == "CopySlices"
    np.testing.assert_allclose(eo, to, rtol=1e-6)
    np.testing.assert_allclose(ex, tx, rtol=1e-6)
    if tw is None:
        assert ew is None
    else:
        np.testing.assert_allclose(ew, tw, rtol=1e-6)


def test_several_roots_start_from_a_graph_root():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    engine.autograd.backward([(x * 2).sum(), (x ** 2).sum()])
    assert x.grad.tolist() == [4.0, 6.0]
    steps = list(autograd.backward_steps([(x * 2).sum(), (x * 3).sum()]))
    assert steps[0].node.name() == "GraphRoot" and len(steps[0].grads_out) == 2
    assert x.grad.tolist() == [9.0, 11.0]
    (g,) = autograd.grad([(x * 3).sum(), (x * x).sum()], [x])
    assert g.tolist() == [5.0, 7.0]
    a, b = x.unbind(0)
    x.grad = None
    (a * b).backward()
    assert x.grad.tolist() == [2.0, 1.0]


def test_backward_inputs_with_a_non_leaf_like_torch():
    torch = _torch()
    got = []
    for M in (engine, torch):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        y = (h * h).sum()
        y.backward(inputs=[h], retain_graph=True)
        first = (h.grad.tolist(), x.grad, h.retains_grad)
        y.backward(inputs=[h, x], retain_graph=True)
        y.backward()
        got.append((first, h.grad.tolist(), x.grad.tolist()))
    assert got[0] == got[1]


def test_reused_gradients_never_alias_what_others_hold():
    kept = []
    a = engine.tensor([1.0, 2.0], requires_grad=True)
    b = engine.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()                       # AddBackward0 hands one gradient to both
    assert a.grad._a is not b.grad._a
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0]
    v = engine.tensor([5.0, 6.0])
    c = a * 1
    c.register_hook(lambda g: kept.append(g))
    c.backward(v)
    a.grad.mul_(0)
    assert v.tolist() == [5.0, 6.0] and kept[0].tolist() == [5.0, 6.0]
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x.reshape(2, 1)                            # a view-shaped gradient must be copied
    (y * 2).sum().backward()
    x.grad.add_(1)
    assert x.grad.tolist() == [3.0, 3.0]


def test_to_dtype_records_tocopy_and_casts_grad_back():
    """ToCopyBackward0 (a lossy cast cannot be finite-differenced in the op table's gradcheck)."""
    a = engine.tensor([0.5, -1.25, 2.0], dtype=engine.float64, requires_grad=True)
    b = a.to(engine.float32)
    assert b.grad_fn.name() == "ToCopyBackward0" and b.dtype == engine.float32
    (b * engine.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert a.grad.dtype == engine.float64
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 2.0, 3.0])


def test_view_sees_in_place_change_of_its_base():
    a = engine.ones(3, 4, dtype=engine.float64, requires_grad=True)
    b = engine.full((4,), 3.0, dtype=engine.float64, requires_grad=True)
    c = a * 2
    v = c[1]
    c.mul_(b)
    v.sum().backward()
    np.testing.assert_array_equal(a.grad[1].numpy(), [6.0] * 4)
    assert b.grad is not None
    np.testing.assert_array_equal(b.grad.numpy(), [2.0] * 4)


# ----------------------------------------------------------------------------- ctx.mark_dirty, output_nr
def _inc_function(M):
    class Inc(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            x.add_(k)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2, None
    return Inc


def test_mark_dirty_makes_the_input_the_output_with_the_custom_node_like_torch():
    torch = _torch()
    got = []
    for M in (engine, torch):
        Inc = _inc_function(M)
        a = M.ones(3, requires_grad=True)
        b = a * 1
        c = Inc.apply(b, 1.0)
        nexts = [n.name() for n, _ in b.grad_fn.next_functions]
        c.sum().backward()
        x = M.ones(3)                                    # no grad anywhere: still bumped, not recorded
        y = Inc.apply(x, 1.0)
        got.append((c is b, b._version, b.grad_fn.name(), nexts, a.grad.tolist(), y is x, x._version,
                    y.grad_fn, x.tolist()))
    assert got[0] == got[1]
    assert got[0][:3] == (True, 2, "IncBackward")


def test_mark_dirty_on_a_view_rebases_its_base_like_torch():
    torch = _torch()
    got = []
    for M in (engine, torch):
        a = M.ones(2, 3, requires_grad=True)
        b = a * 1
        v = b[0]
        r = _inc_function(M).apply(v, 1.0)
        names = (r is v, v.grad_fn.name(), b.grad_fn.name().replace("torch::autograd::", ""))
        (b * M.tensor([1.0, 2.0, 3.0])).sum().backward()
        got.append((names, a.grad.tolist(), b.tolist()))
    assert got[0] == got[1]
    assert got[0][1] == [[2.0, 4.0, 6.0], [1.0, 2.0, 3.0]]


def test_mark_dirty_errors_like_torch():
    torch = _torch()
    msgs = []
    for M in (engine, torch):
        a = M.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError) as leaf:
            _inc_function(M).apply(a, 1.0)

        class NotReturned(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.mark_dirty(x)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g
        with pytest.raises(RuntimeError) as lost:
            NotReturned.apply(M.ones(2))
        msgs.append((str(leaf.value), a._version, str(lost.value)))
    assert msgs[0] == msgs[1]
    assert msgs[0][0] == "a leaf Variable that requires grad has been used in an in-place operation."


def test_mark_dirty_with_two_outputs_and_saved_dirty_input_like_torch():
    torch = _torch()
    got = []
    for M in (engine, torch):
        class ScaleSecond(M.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                y.mul_(2)
                ctx.mark_dirty(y)
                ctx.save_for_backward(y)
                return x * 1, y

            @staticmethod
            def backward(ctx, gx, gy):
                y, = ctx.saved_tensors
                return gx * y, gy * 2
        x = M.tensor([1.0, 2.0], requires_grad=True)
        y0 = M.tensor([3.0, 4.0], requires_grad=True)
        y = y0 * 1
        o1, o2 = ScaleSecond.apply(x, y)
        (o1 + o2).sum().backward()
        got.append((o2 is y, o1.output_nr, o2.output_nr, x.grad.tolist(), y0.grad.tolist()))
    assert got[0] == got[1]
    assert got[0][:3] == (True, 0, 1)


def test_output_nr_like_torch():
    torch = _torch()
    got = []
    for M in (engine, torch):
        x = M.arange(12.0).reshape(3, 4).requires_grad_()
        m = M.max(x, 0)
        s = M.sort(x, 1)
        a, b = (x * 1).unbind(0)[1:]
        got.append(([m.values.output_nr, m.indices.output_nr, m.indices.requires_grad],
                    [t.output_nr for t in x.unbind(0)], [t.output_nr for t in x.split(1)],
                    [t.output_nr for t in x.chunk(2, 1)], [t.output_nr for t in x.split([1, 3], 1)],
                    [s[0].output_nr, s[1].output_nr], x.output_nr, (x * 2).output_nr, M.ones(2).output_nr,
                    [t.output_nr for t in x.detach().unbind(0)], a.output_nr, b.output_nr, b.detach().output_nr))
    assert got[0] == got[1]
    assert got[0][1] == [0, 1, 2] and got[0][10:12] == (1, 2)


def test_relu_gradient_keeps_nan_and_signed_zero_where_the_input_passes():
    # the relu/hardtanh gradient is `grad where mask else +0.0`, bit for bit as np.where gives it
    x = engine.tensor([[-1.0, 2.0, 3.0, -4.0, 5.0, 0.0]], requires_grad=True)
    g = np.array([[np.nan, np.nan, -0.0, -0.0, -np.inf, 7.0]], np.float32)
    engine.relu(x).backward(engine.tensor(g))
    got = x.grad.numpy()
    want = np.where(x.detach().numpy() > 0, g, np.float32(0))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("name", ["relu", "hardtanh", "relu6", "leaky_relu"])
def test_a_nan_input_passes_the_gradient_as_pytorchs_formulas(name):
    # threshold_backward is `self <= threshold ? 0 : grad` and hardtanh_backward
    # `self <= min || self >= max ? 0 : grad`: a NaN compares false, so its gradient passes
    fn = getattr(engine.nn.functional, name)
    x = engine.tensor([float("nan"), -2.0, 0.0, 0.5, 1.0, 7.0], requires_grad=True)
    fn(x).backward(engine.full((6,), 2.0))
    want = {"relu": [2, 0, 0, 2, 2, 2], "hardtanh": [2, 0, 2, 2, 0, 0],
            "relu6": [2, 0, 0, 2, 2, 0], "leaky_relu": [0.02, 0.02, 0.02, 2, 2, 2]}[name]
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
    torch = pytest.importorskip("torch")
    t = torch.tensor([float("nan"), -2.0, 0.0, 0.5, 1.0, 7.0], requires_grad=True)
    getattr(torch.nn.functional, name)(t).backward(torch.full((6,), 2.0))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
