"""Options of existing layers that real PyTorch programs use: LSTM's proj_size, MultiheadAttention's
add_bias_kv / add_zero_attn / kdim / vdim and mask forms, Embedding's scale_grad_by_freq, max
pooling's return_indices with MaxUnpool, and the deprecated Module.register_backward_hook. Each is
checked by finite differences in float64 and against torch (same parameters copied into both;
the torch comparisons skip where torch is not installed)."""
import warnings

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

F = engine.nn.functional


def _torch():
    return pytest.importorskip("torch")


def _copy_params(src, dst, torch):
    """Load the engine module src's state_dict into the torch module dst."""
    dst.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in src.state_dict().items()})


def _close(a, b, rtol=1e-10, atol=1e-12):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# -- the deprecated register_backward_hook --------------------------------------------------------

def _hook_run(lib, module, x0, replace=None):
    """Run module on x0 with a deprecated backward hook; what the hook saw, the warnings, and
    the gradients of the input and of every parameter afterwards."""
    seen = []

    def hook(mod, grad_input, grad_output):
        seen.append((grad_input, grad_output))
        if replace is not None:
            return tuple(None if g is None else g * replace for g in grad_input)

    module.register_backward_hook(hook)
    x = lib.tensor(x0, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = module(x)
    (y * lib.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
    messages = [(w.category, str(w.message)) for w in caught]
    return seen, messages, [x.grad] + [p.grad for p in module.parameters()]


def _hooked_modules(lib):
    return {
        "linear": lambda: lib.nn.Linear(3, 2),
        "linear-no-bias": lambda: lib.nn.Linear(3, 2, bias=False),
        "relu": lambda: lib.nn.ReLU(),
        "sequential-linear-last": lambda: lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(3, 2)),
        "sequential-relu-last": lambda: lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU()),
    }


@pytest.mark.parametrize("name", list(_hooked_modules(engine)))
@pytest.mark.parametrize("replace", [None, 2.0])
def test_deprecated_backward_hook_sees_and_replaces_what_torch_does(name, replace):
    torch = _torch()
    x0 = np.random.default_rng(0).standard_normal((4, 3))
    mine = _hooked_modules(engine)[name]().double()
    theirs = _hooked_modules(torch)[name]().double()
    _copy_params(mine, theirs, torch)
    my_seen, my_warnings, my_grads = _hook_run(engine, mine, x0, replace)
    their_seen, their_warnings, their_grads = _hook_run(torch, theirs, x0, replace)
    assert my_warnings == their_warnings
    assert len(my_seen) == len(their_seen) == 1
    (gi, go), (tgi, tgo) = my_seen[0], their_seen[0]
    assert [None if g is None else tuple(g.shape) for g in gi] == \
        [None if g is None else tuple(g.shape) for g in tgi]
    for a, b in zip(gi + go, tgi + tgo):
        if a is not None:
            _close(a, b)
    for a, b in zip(my_grads, their_grads):
        _close(a, b)


def test_deprecated_backward_hook_on_linear_gives_the_weight_gradient_transposed():
    m = engine.nn.Linear(3, 2)
    seen = []
    m.register_backward_hook(lambda mod, gi, go: seen.append(gi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m(engine.ones(4, 3)).sum().backward()
    bias_grad, input_grad, weight_grad = seen[0]
    assert tuple(weight_grad.shape) == (3, 2)        # addmm's mat2 is weight.t(), as in torch
    assert weight_grad.tolist() == m.weight.grad.t().tolist()


# -- Embedding(scale_grad_by_freq=True) ---------------------------------------------------------

IDS = [[0, 2, 0], [4, 0, 2]]          # 0 three times, 2 twice, 4 once


def test_embedding_scale_grad_by_freq_divides_each_row_by_its_count():
    w = engine.ones(5, 2, requires_grad=True)
    F.embedding(engine.tensor(IDS), w, scale_grad_by_freq=True).sum().backward()
    assert w.grad[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]       # k occurrences / k
    w.grad = None
    F.embedding(engine.tensor(IDS), w).sum().backward()
    assert w.grad[:, 0].tolist() == [3.0, 0.0, 2.0, 0.0, 1.0]


@pytest.mark.parametrize("padding_idx", [None, 0, 2])
def test_embedding_scale_grad_by_freq_backward_is_differentiable(padding_idx):
    """The scaled gradient is on purpose not the derivative of the forward (so no first-order
    gradcheck); the backward itself, a linear map of the output gradient, gradchecks."""
    w = engine.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    g = engine.tensor(np.random.default_rng(1).standard_normal((2, 3, 3)), requires_grad=True)

    def weight_grad(g, w):
        with engine.enable_grad():          # gradcheck's finite differences run without grad
            y = F.embedding(engine.tensor(IDS), w, padding_idx, scale_grad_by_freq=True)
            return engine.autograd.grad(y, w, g, create_graph=True)[0]

    assert gradcheck(weight_grad, (g, w))
    # PyTorch's double backward (EmbeddingDenseBackwardBackward0) leaves the division out, so
    # torch.autograd.gradgradcheck fails on its own embedding with scale_grad_by_freq; here the
    # second derivative is the derivative of the first


@pytest.mark.parametrize("padding_idx", [None, 0])
def test_embedding_scale_grad_by_freq_matches_torch(padding_idx):
    torch = _torch()
    mine = engine.nn.Embedding(5, 3, padding_idx=padding_idx, scale_grad_by_freq=True).double()
    theirs = torch.nn.Embedding(5, 3, padding_idx=padding_idx, scale_grad_by_freq=True).double()
    _copy_params(mine, theirs, torch)
    assert repr(mine) == repr(theirs)
    g = np.random.default_rng(1).standard_normal((2, 3, 3))
    y, ty = mine(engine.tensor(IDS)), theirs(torch.tensor(IDS))
    (y * engine.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    _close(y, ty)
    _close(mine.weight.grad, theirs.weight.grad)


def test_embedding_sparse_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="sparse=True"):
        engine.nn.Embedding(4, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(engine.tensor([1]), engine.ones(4, 2), sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        engine.nn.EmbeddingBag(4, 2, sparse=True)
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        F.embedding_bag(engine.tensor([[1, 2]]), engine.ones(4, 2), mode="max", scale_grad_by_freq=True)
