"""backward() runs engine.autograd.engine._run, a plain loop; the debugger's backward_steps and
backward(inputs=) run the generator _traverse. Both must give the same gradients, hook calls
and node order on graphs that exercise every part of the loop."""
import numpy as np
import pytest

import engine
from engine.autograd import backward_steps


def _graphs():
    def shared_leaf(m, a, b):          # a reaches its AccumulateGrad twice (summed buffer)
        return (a * b + a).sum()

    def broadcast(m, a, b):            # b (3,) broadcast against a (2, 3): _fit reduces
        return (a * b).tanh().sum()

    def multi_output(m, a, b):         # a node with two outputs, both used
        x, y = (a * 2.0).unbind(0)
        return (x * y + b).sum()

    def one_element(m, a, b):          # one-element grads take the new-sum path
        return (a[:1, :1] * b[:1] + a[:1, :1]).sum()

    def dtypes(m, a, b):               # float64 times float32: the gradient is cast back
        return (a.double() * b).sum()
    return [shared_leaf, broadcast, multi_output, one_element, dtypes]


def _leaves():
    rng = np.random.default_rng(0)
    a = engine.tensor(rng.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    b = engine.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    return a, b


def _run_with_hooks(make, how):
    a, b = _leaves()
    calls = []
    a.register_hook(lambda g: calls.append(("a", g.detach().clone().numpy())))
    b.register_hook(lambda g: calls.append(("b", g.detach().clone().numpy())))
    out = make(engine, a, b)
    mid = out.grad_fn.next_functions[0][0]
    mid.register_hook(lambda gi, go: calls.append(("node", mid.name())))
    if how == "run":
        out.backward()
    else:
        for _ in backward_steps(out):
            pass
    b.grad.add_(0)                     # grads exist and are writable
    return a.grad.numpy().copy(), b.grad.numpy().copy(), calls


@pytest.mark.parametrize("make", _graphs(), ids=lambda f: f.__name__)
def test_backward_and_backward_steps_agree(make):
    ga1, gb1, calls1 = _run_with_hooks(make, "run")
    ga2, gb2, calls2 = _run_with_hooks(make, "steps")
    np.testing.assert_array_equal(ga1, ga2)
    np.testing.assert_array_equal(gb1, gb2)
    assert [c[0] for c in calls1] == [c[0] for c in calls2]
    for c1, c2 in zip(calls1, calls2):
        if c1[0] != "node":
            np.testing.assert_array_equal(c1[1], c2[1])


@pytest.mark.parametrize("make", _graphs(), ids=lambda f: f.__name__)
def test_accumulation_matches_torch(make):
    torch = pytest.importorskip("torch")
    a, b = _leaves()
    ta = torch.tensor(a.detach().numpy(), requires_grad=True)
    tb = torch.tensor(b.detach().numpy(), requires_grad=True)
    for _ in range(2):                 # the second pass adds into the existing .grad
        make(engine, a, b).backward()
        make(torch, ta, tb).backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_one_element_grad_accumulates_in_place_of_the_same_tensor():
    a = engine.tensor([2.0], requires_grad=True)
    b = engine.tensor([3.0], requires_grad=True)
    (a * b + a).backward()
    g = a.grad
    v = g._version
    (a * b + a).backward()
    assert a.grad is g and g._version == v + 1      # as PyTorch: .grad is updated, not replaced
    assert a.grad.item() == 8.0 and b.grad.item() == 4.0


def test_retain_graph_and_freed_graph_error():
    a, b = _leaves()
    out = (a * b).sum()
    out.backward(retain_graph=True)
    out.backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.broadcast_to(b.detach().numpy(), (2, 3)))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()
