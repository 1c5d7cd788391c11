"""The deprecated Module.register_backward_hook (its hook sits on the output's grad_fn, with
PyTorch's FutureWarnings) and the printed types of the public classes."""
import warnings

import numpy as np
import pytest

import engine


def _doubling_sigmoid(lib):
    class M(lib.nn.Module):
        def forward(self, x):
            return (x * 2).sigmoid()
    return M()


def _hooked(lib, make, x0):
    m = make(lib)
    seen = []
    m.register_backward_hook(lambda mod, gi, go: seen.append((mod is m, gi, go)))
    x = lib.tensor(x0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = m(x)
    y.sum().backward()
    messages = [(w.category, str(w.message)) for w in caught]
    return seen, messages, x.grad


def test_non_full_backward_hook_sees_the_last_nodes_gradients_as_in_torch():
    torch = pytest.importorskip("torch")
    x0 = [1.0, -2.0, 0.5]
    (mine, my_warnings, my_grad) = _hooked(engine, _doubling_sigmoid, x0)
    (theirs, their_warnings, their_grad) = _hooked(torch, _doubling_sigmoid, x0)
    assert my_warnings == their_warnings and my_warnings[0][0] is FutureWarning
    assert len(mine) == len(theirs) == 1
    (same, gi, go), (_, tgi, tgo) = mine[0], theirs[0]
    assert same and len(gi) == len(tgi) and len(go) == len(tgo)
    for a, b in zip(gi + go, tgi + tgo):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    np.testing.assert_allclose(my_grad.numpy(), their_grad.numpy(), rtol=1e-6)


def test_a_hook_that_sees_every_input_gradient_gives_no_warning():
    class Square(engine.nn.Module):
        def forward(self, x):
            return x * x
    m = Square()
    seen = []
    m.register_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = m(x.exp())                   # the input's grad_fn is the only node the output's leads to
    y.sum().backward()
    z = x.exp().tolist()
    assert [g.tolist() for g in seen[0][0]] == [z, z] and seen[0][1][0].tolist() == [1.0, 1.0]


def test_regular_and_full_backward_hooks_do_not_mix_and_handles_remove():
    m = engine.nn.Linear(2, 2)
    handle = m.register_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        m.register_full_backward_hook(lambda *a: None)
    handle.remove()
    calls = []
    m.register_backward_hook(lambda *a: calls.append(1))
    m(engine.ones(1, 2)).sum().backward()
    with engine.no_grad():
        m(engine.ones(1, 2))
    assert calls == [1]
    full = engine.nn.Tanh()
    full.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="Cannot use both"):
        full.register_backward_hook(lambda *a: None)


def test_public_classes_print_under_public_names():
    t = engine.ones(2)
    assert str(type(t)) == "<class 'engine.Tensor'>"
    assert str(type(t.shape)) == "<class 'engine.Size'>"
    assert str(type(t.dtype)) == "<class 'engine.dtype'>"
    assert str(type(t.device)) == "<class 'engine.device'>"
    assert str(type(engine.nn.Parameter(t))) == "<class 'engine.nn.parameter.Parameter'>"  # torch.nn.parameter.Parameter
    assert str(type(engine.nn.Linear(1, 1))) == "<class 'engine.nn.modules.linear.Linear'>"
    assert str(type(engine.optim.SGD([engine.nn.Parameter(t)], lr=1))) == "<class 'engine.optim.sgd.SGD'>"


def test_load_state_dict_result_prints_as_torchs():
    torch = pytest.importorskip("torch")
    for lib in (engine, torch):
        m = lib.nn.Linear(2, 2)
        assert repr(m.load_state_dict(m.state_dict())) == "<All keys matched successfully>"
        partial = {"weight": m.weight.detach().clone()}
        result = m.load_state_dict(partial, strict=False)
        assert result.missing_keys == ["bias"] and result.unexpected_keys == []
        assert repr(result) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])"
