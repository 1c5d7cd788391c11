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
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")  # torch's note


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
        "linear-3d-input": lambda: lib.nn.Linear(3, 2),
        "relu": lambda: lib.nn.ReLU(),
        "tanh": lambda: lib.nn.Tanh(),
        "sequential-linear-last": lambda: lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(3, 2)),
        "sequential-relu-last": lambda: lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.ReLU()),
        "conv2d": lambda: lib.nn.Conv2d(2, 3, 2),
        "sequential-conv-relu": lambda: lib.nn.Sequential(lib.nn.Conv2d(2, 3, 2), lib.nn.ReLU()),
    }


HOOK_INPUT_SHAPES = {"linear-3d-input": (2, 4, 3), "conv2d": (2, 2, 4, 4), "sequential-conv-relu": (2, 2, 4, 4)}


@pytest.mark.parametrize("name", list(_hooked_modules(engine)))
@pytest.mark.parametrize("replace", [None, 2.0])
def test_deprecated_backward_hook_sees_and_replaces_what_torch_does(name, replace):
    torch = _torch()
    x0 = np.random.default_rng(0).standard_normal(HOOK_INPUT_SHAPES.get(name, (4, 3)))
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


# -- max pooling's return_indices, adaptive max pooling, MaxUnpool ------------------------------

POOL_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=1), dict(kernel_size=3, stride=2, padding=1),
              dict(kernel_size=(2, 3), stride=(1, 2), ceil_mode=True), dict(kernel_size=2, dilation=2, padding=1)]


def _input(lib, shape, seed=0, ties=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    if ties:                                   # many equal maxima: the first one takes the gradient
        a = np.maximum(np.round(a), 0.0)
    return lib.tensor(a, requires_grad=True)


def _run_both(fn, shape, ties=False):
    """fn(lib, x) on engine and torch from the same float64 input; outputs, indices and the
    input's gradient (under a fixed non-uniform output gradient) of each."""
    torch = _torch()
    results = []
    for lib in (engine, torch):
        x = _input(lib, shape, ties=ties)
        out, indices = fn(lib, x)
        weights = lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)) % 7)
        (out * weights).sum().backward()
        results.append((out, indices, x.grad))
    return results


@pytest.mark.parametrize("kwargs", POOL_CASES)
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (3, 6, 7)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_return_indices_matches_torch(kwargs, shape, ties):
    mine, theirs = _run_both(lambda lib, x: lib.nn.functional.max_pool2d(x, return_indices=True, **kwargs),
                             shape, ties)
    for a, b in zip(mine, theirs):
        _close(a, b)
    assert mine[1].dtype == engine.int64


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=2, stride=3, ceil_mode=True), dict(kernel_size=2, dilation=2)])
@pytest.mark.parametrize("shape", [(2, 3, 9), (4, 9)])
def test_max_pool1d_return_indices_matches_torch(kwargs, shape):
    mine, theirs = _run_both(lambda lib, x: lib.nn.functional.max_pool1d(x, return_indices=True, **kwargs),
                             shape, ties=True)
    for a, b in zip(mine, theirs):
        _close(a, b)
    assert mine[0].grad_fn.name() == "SqueezeBackward1"


@pytest.mark.parametrize("size", [(3, 4), 2, (None, 5), (7, 8)])
@pytest.mark.parametrize("ties", [False, True])
def test_adaptive_max_pool2d_indices_and_gradient_match_torch(size, ties):
    mine, theirs = _run_both(lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, size, return_indices=True),
                             (2, 3, 7, 8), ties)
    for a, b in zip(mine, theirs):
        _close(a, b)
    assert mine[0].grad_fn.name() == "AdaptiveMaxPool2DBackward0"


@pytest.mark.parametrize("size", [4, 3, 9])
def test_adaptive_max_pool1d_indices_and_gradient_match_torch(size):
    mine, theirs = _run_both(lambda lib, x: lib.nn.functional.adaptive_max_pool1d(x, size, return_indices=True),
                             (2, 3, 9), ties=True)
    for a, b in zip(mine, theirs):
        _close(a, b)


def test_adaptive_max_pool_without_indices_sends_a_tie_to_the_first_maximum_only():
    x = engine.tensor([[[1.0, 1.0, 0.0, 2.0]]], requires_grad=True)
    F.adaptive_max_pool1d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[1.0, 0.0, 0.0, 1.0]]]


def test_pooling_modules_return_indices_and_print_as_torch():
    torch = _torch()
    for make in (lambda m: m.nn.MaxPool2d(2, return_indices=True), lambda m: m.nn.MaxPool1d(3, return_indices=True),
                 lambda m: m.nn.AdaptiveMaxPool2d((2, 3), return_indices=True),
                 lambda m: m.nn.AdaptiveMaxPool1d(2, return_indices=True),
                 lambda m: m.nn.MaxUnpool2d(2), lambda m: m.nn.MaxUnpool2d((2, 3), stride=1, padding=(0, 1)),
                 lambda m: m.nn.MaxUnpool1d(3, stride=2)):
        assert repr(make(engine)) == repr(make(torch))
    x = engine.randn(2, 3, 6, 6).abs() + 0.1          # positive: the maxima survive unpooling
    out, indices = engine.nn.MaxPool2d(2, return_indices=True)(x)
    assert tuple(out.shape) == tuple(indices.shape) == (2, 3, 3, 3) and indices.dtype == engine.int64
    back = engine.nn.MaxUnpool2d(2)(out, indices)
    assert engine.equal(engine.nn.functional.max_pool2d(back, 2), out)
    out1, indices1 = engine.nn.MaxPool1d(2, return_indices=True)(x[0])
    assert tuple(engine.nn.MaxUnpool1d(2)(out1, indices1, output_size=[7]).shape) == (3, 6, 7)


UNPOOL_CASES = [((2, 3, 7, 8), dict(kernel_size=2), None), ((2, 3, 7, 9), dict(kernel_size=2), (7, 9)),
                ((3, 7, 8), dict(kernel_size=3, stride=1), None),
                ((2, 3, 7, 8), dict(kernel_size=3, stride=2, padding=1), (2, 3, 7, 8))]


@pytest.mark.parametrize("shape, kwargs, output_size", UNPOOL_CASES)
def test_max_unpool2d_matches_torch(shape, kwargs, output_size):
    def fn(lib, x):
        out, indices = lib.nn.functional.max_pool2d(x, return_indices=True, **kwargs)
        back = lib.nn.functional.max_unpool2d(out * 2, indices, output_size=output_size, **kwargs)
        return back, indices
    mine, theirs = _run_both(fn, shape)
    for a, b in zip(mine, theirs):
        _close(a, b)
    assert mine[0].grad_fn.name() == "MaxUnpool2DBackward0"


@pytest.mark.parametrize("output_size", [None, [10], (2, 3, 9)])
def test_max_unpool1d_matches_torch(output_size):
    def fn(lib, x):
        out, indices = lib.nn.functional.max_pool1d(x, 3, return_indices=True)
        return lib.nn.functional.max_unpool1d(out, indices, 3, output_size=output_size), indices
    mine, theirs = _run_both(fn, (2, 3, 10))
    for a, b in zip(mine, theirs):
        _close(a, b)


def test_max_unpool2d_gradchecks_to_second_order():
    x = _input(engine, (2, 2, 4, 6))
    _, indices = F.max_pool2d(x, 2, return_indices=True)
    v = _input(engine, tuple(indices.shape), seed=3)
    assert gradcheck(lambda v: F.max_unpool2d(v, indices, 2), (v,))
    assert engine.autograd.gradgradcheck(lambda v: F.max_unpool2d(v, indices, 2), (v,))
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))
    assert engine.autograd.gradgradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))
    assert gradcheck(lambda x: F.max_pool1d(x[0], 3, 2, return_indices=True)[0], (x,))


def test_max_unpool_errors_are_torchs():
    torch = _torch()

    def message(lib, call):
        with pytest.raises((RuntimeError, ValueError)) as info:
            call(lib, lib.nn.functional)
        return type(info.value), str(info.value)

    def pooled(lib):
        return lib.nn.functional.max_pool2d(lib.ones(2, 3, 4, 6), 2, return_indices=True)

    calls = [
        lambda lib, F: F.max_unpool2d(pooled(lib)[0][0, 0], pooled(lib)[1][0, 0], 2),
        lambda lib, F: F.max_unpool2d(pooled(lib)[0], pooled(lib)[1][0], 2),
        lambda lib, F: F.max_unpool2d(pooled(lib)[0], pooled(lib)[1].int(), 2),
        lambda lib, F: F.max_unpool2d(pooled(lib)[0], pooled(lib)[1] + 100, 2),
        lambda lib, F: F.max_unpool2d(*pooled(lib), 2, output_size=(7, 9)),
        lambda lib, F: F.max_unpool2d(*pooled(lib), 2, output_size=(1, 4, 6)),
        lambda lib, F: F.max_unpool1d(lib.ones(2, 3), lib.zeros(2, 3, dtype=lib.int64), 2, output_size=[3, 5]),
    ]
    for call in calls:
        assert message(engine, call) == message(torch, call)


# -- the same on "cuda" (the CuPy stand-in): values, gradients, no host reads -------------------

from test_engine_fake_cuda import FakeArray, fake_cuda  # noqa: E402,F401  (the fixture)

FAKE_CUDA_CASES = {
    "max_pool2d-indices": lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
    "max_pool1d-indices": lambda x: F.max_pool1d(x[0], 2, return_indices=True),
    "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x, (2, 4), return_indices=True),
    "adaptive_max_pool1d": lambda x: F.adaptive_max_pool1d(x[0], 4, return_indices=True),
    "max_unpool2d": lambda x: (F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2, output_size=(5, 6)), None),
    "max_unpool1d": lambda x: (F.max_unpool1d(*F.max_pool1d(x[0], 2, return_indices=True), 2), None),
    "lstm-proj": lambda x: (_seeded(lambda: engine.nn.LSTM(6, 4, num_layers=2, bidirectional=True, proj_size=3),
                                    x.device)(x[0])[0], None),
    "mha-options": lambda x: _seeded(lambda: engine.nn.MultiheadAttention(6, 2, add_bias_kv=True, add_zero_attn=True,
                                                                       kdim=5, vdim=4, batch_first=True), x.device)(
        x[0], x[1, :, :, :5], x[1, :, :, 2:], key_padding_mask=engine.tensor([[False] * 4 + [True]] * 4, device=x.device),
        average_attn_weights=False),
    "embedding-freq": lambda x: (F.embedding(engine.tensor(IDS, device=x.device), x.reshape(-1, 6)[:5],
                                             padding_idx=4, scale_grad_by_freq=True), None),
}


def _seeded(make, device):
    engine.manual_seed(0)
    return make().double().to(device)


@pytest.mark.parametrize("name", FAKE_CUDA_CASES)
def test_new_options_on_fake_cuda(fake_cuda, monkeypatch, name):  # noqa: F811
    monkeypatch.setattr(FakeArray, "strict", True)
    x0 = np.random.default_rng(0).standard_normal((2, 4, 5, 6))
    results = []
    for device in ("cuda", "cpu"):
        x = engine.tensor(x0, device=device, requires_grad=True)
        y, indices = FAKE_CUDA_CASES[name](x)
        w = engine.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), device=device)
        (y * w).sum().backward()
        assert y.device.type == x.grad.device.type == device
        results.append([y.detach().cpu().numpy(), x.grad.cpu().numpy()]
                       + ([] if indices is None else [indices.detach().cpu().numpy()]))
    for g, c in zip(*results):
        np.testing.assert_array_equal(g, c)


# -- LSTM(proj_size=...) -------------------------------------------------------------------------

LSTM_CASES = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True),
              dict(batch_first=True, num_layers=2), dict(bias=False, bidirectional=True)]


def _lstm_pair(torch, **kwargs):
    mine = engine.nn.LSTM(3, 5, proj_size=2, **kwargs).double()
    theirs = torch.nn.LSTM(3, 5, proj_size=2, **kwargs).double()
    _copy_params(mine, theirs, torch)
    return mine, theirs


def _lstm_run(lib, module, x0, states, packed_lengths=None):
    """Output, (h_n, c_n) and the gradients of input, initial states and every parameter under
    a fixed weighting of the output and the final states."""
    x = lib.tensor(x0, requires_grad=True)
    hx = None if states is None else tuple(lib.tensor(s, requires_grad=True) for s in states)
    source = x
    if packed_lengths is not None:
        source = lib.nn.utils.rnn.pack_padded_sequence(x, lib.tensor(packed_lengths), enforce_sorted=False,
                                                       batch_first=module.batch_first)
    out, (h, c) = module(source, hx)
    if packed_lengths is not None:
        out = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=module.batch_first)[0]
    weight = lambda t: lib.tensor(np.cos(np.arange(t.numel())).reshape(tuple(t.shape)))  # noqa: E731
    ((out * weight(out)).sum() + (h * weight(h)).sum() + (c * weight(c)).sum() * 0.5).backward()
    grads = [x.grad] + ([] if hx is None else [s.grad for s in hx]) + [p.grad for p in module.parameters()]
    return [out, h, c], grads


@pytest.mark.parametrize("kwargs", LSTM_CASES)
@pytest.mark.parametrize("with_states", [False, True])
def test_lstm_proj_size_matches_torch(kwargs, with_states):
    torch = _torch()
    mine, theirs = _lstm_pair(torch, **kwargs)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [tuple(p.shape) for p in mine.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert repr(mine) == repr(theirs)
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((3, 4, 3) if mine.batch_first else (4, 3, 3))      # batch 3, 4 steps
    layers = mine.num_layers * (2 if mine.bidirectional else 1)
    states = (rng.standard_normal((layers, 3, 2)), rng.standard_normal((layers, 3, 5))) if with_states else None
    (my_out, my_grads), (their_out, their_grads) = (_lstm_run(engine, mine, x0, states),
                                                    _lstm_run(torch, theirs, x0, states))
    for a, b in zip(my_out + my_grads, their_out + their_grads):
        _close(a, b)


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_proj_size_on_packed_sequences_matches_torch(batch_first):
    torch = _torch()
    mine, theirs = _lstm_pair(torch, num_layers=2, bidirectional=True, batch_first=batch_first)
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((3, 5, 3) if batch_first else (5, 3, 3))
    states = (rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 5)))
    (my_out, my_grads), (their_out, their_grads) = (_lstm_run(engine, mine, x0, states, [2, 5, 3]),
                                                    _lstm_run(torch, theirs, x0, states, [2, 5, 3]))
    for a, b in zip(my_out + my_grads, their_out + their_grads):
        _close(a, b)


def test_lstm_proj_size_state_dicts_load_both_ways_and_unbatched_inputs_run():
    torch = _torch()
    theirs = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=3)
    mine = engine.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=3)
    mine.load_state_dict({k: engine.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert list(mine.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mine.state_dict().items()})
    assert len(mine.all_weights) == 4 and [tuple(w.shape) for w in mine.all_weights[2]] == \
        [tuple(w.shape) for w in theirs.all_weights[2]]
    x0 = np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32)
    out, (h, c) = mine(engine.tensor(x0))
    tout, (th, tc) = theirs(torch.tensor(x0))
    assert tuple(out.shape) == (5, 6) and tuple(h.shape) == (4, 3) and tuple(c.shape) == (4, 4)
    for a, b in ((out, tout), (h, th), (c, tc)):
        _close(a, b, rtol=1e-5, atol=1e-6)


def test_lstm_proj_size_errors_are_torchs():
    torch = _torch()

    def message(call):
        out = []
        for lib in (engine, torch):
            with pytest.raises((ValueError, RuntimeError)) as info:
                call(lib)
            out.append((type(info.value), str(info.value)))
        return out

    for call in (lambda lib: lib.nn.LSTM(3, 4, proj_size=4), lambda lib: lib.nn.LSTM(3, 4, proj_size=-1),
                 lambda lib: lib.nn.GRU(3, 4, proj_size=2), lambda lib: lib.nn.RNN(3, 4, proj_size=2),
                 lambda lib: lib.nn.LSTM(3, 4, proj_size=2)(lib.zeros(5, 2, 3), (lib.zeros(1, 2, 4), lib.zeros(1, 2, 4))),
                 lambda lib: lib.nn.LSTM(3, 4, proj_size=2)(lib.zeros(5, 2, 3), (lib.zeros(1, 2, 2), lib.zeros(1, 2, 2)))):
        mine, theirs = message(call)
        assert mine == theirs


def test_lstm_proj_size_gradchecks():
    engine.manual_seed(0)
    m = engine.nn.LSTM(2, 3, proj_size=2, num_layers=2, bidirectional=True).double()
    x = engine.tensor(np.random.default_rng(3).standard_normal((3, 2, 2)), requires_grad=True)
    h0 = engine.tensor(np.random.default_rng(4).standard_normal((4, 2, 2)), requires_grad=True)
    c0 = engine.tensor(np.random.default_rng(5).standard_normal((4, 2, 3)), requires_grad=True)
    # gradcheck perturbs its inputs in place, so the module's own parameters can be inputs
    params = [m.weight_hr_l0, m.weight_hr_l1_reverse, m.weight_hh_l1]
    assert gradcheck(lambda x, h0, c0, *ps: (lambda out, s: (out, *s))(*m(x, (h0, c0))), (x, h0, c0, *params))


# -- MultiheadAttention: add_bias_kv, add_zero_attn, kdim/vdim, masks, need_weights --------------

E, HEADS, L, S, N = 6, 2, 3, 4, 2


def _mha_pair(torch, **kwargs):
    mine = engine.nn.MultiheadAttention(E, HEADS, **kwargs).double()
    theirs = torch.nn.MultiheadAttention(E, HEADS, **kwargs).double()
    _copy_params(mine, theirs, torch)
    return mine, theirs


def _masks(lib, kind, batched=True, src=S):
    """key_padding_mask and attn_mask of one kind: bool (True = not attended), float (added)."""
    rng = np.random.default_rng(7)
    pad = np.zeros((N, src), dtype=bool)
    pad[0, -1] = pad[1, 0] = True
    attn = rng.random((L, src)) < 0.3
    attn[:, 1] = False                          # no row wholly masked
    if kind == "bool":
        masks = pad, attn
    elif kind == "float":
        masks = np.where(pad, -1e9, 0.0), rng.standard_normal((L, src))
    elif kind == "3d":
        masks = None, rng.standard_normal((N * HEADS if batched else HEADS, L, src))
    else:
        return None, None
    if not batched and masks[0] is not None:
        masks = masks[0][0], masks[1]
    return tuple(None if m is None else lib.tensor(m) for m in masks)


def _mha_run(lib, module, kind, batched=True, self_attention=False, **call):
    rng = np.random.default_rng(3)
    kdim, vdim = module.kdim, module.vdim
    lead = (N,) if batched else ()
    order = (lambda n, d: lead + (n, d)) if module.batch_first or not batched else \
        (lambda n, d: (n,) + lead + (d,))
    q = lib.tensor(rng.standard_normal(order(L, E)), requires_grad=True)
    if self_attention:
        k = v = q
    else:
        k = lib.tensor(rng.standard_normal(order(S, kdim)), requires_grad=True)
        v = lib.tensor(rng.standard_normal(order(S, vdim)), requires_grad=True)
    key_padding_mask, attn_mask = _masks(lib, kind, batched, L if self_attention else S)
    out, weights = module(q, k, v, key_padding_mask=key_padding_mask, attn_mask=attn_mask, **call)
    loss = (out * lib.tensor(np.sin(np.arange(out.numel())).reshape(tuple(out.shape)))).sum()
    if weights is not None:
        loss = loss + (weights * lib.tensor(np.cos(np.arange(weights.numel())).reshape(tuple(weights.shape)))).sum()
    loss.backward()
    inputs = [q] if self_attention else [q, k, v]
    return [out] + ([] if weights is None else [weights]), [t.grad for t in inputs] + \
        [p.grad for p in module.parameters()]


MHA_OPTIONS = [dict(add_bias_kv=True), dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True),
               dict(kdim=4, vdim=5), dict(kdim=4, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=True),
               dict(bias=False, add_bias_kv=True), dict(batch_first=True, add_zero_attn=True)]


@pytest.mark.parametrize("options", MHA_OPTIONS)
@pytest.mark.parametrize("kind", [None, "bool", "float", "3d"])
@pytest.mark.parametrize("call", [dict(), dict(need_weights=False), dict(average_attn_weights=False)])
def test_multihead_attention_options_match_torch(options, kind, call):
    torch = _torch()
    mine, theirs = _mha_pair(torch, **options)
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [tuple(p.shape) for p in mine.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    (my_out, my_grads), (their_out, their_grads) = (_mha_run(engine, mine, kind, **call),
                                                    _mha_run(torch, theirs, kind, **call))
    assert len(my_out) == len(their_out)
    for a, b in zip(my_out + my_grads, their_out + their_grads):
        _close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("options", [dict(), dict(add_bias_kv=True, add_zero_attn=True), dict(batch_first=True)])
@pytest.mark.parametrize("kind", [None, "bool", "3d"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_self_and_unbatched_match_torch(options, kind, need_weights):
    torch = _torch()
    mine, theirs = _mha_pair(torch, **options)
    for batched, self_attention in ((True, True), (False, False), (False, True)):
        (my_out, my_grads), (their_out, their_grads) = (
            _mha_run(engine, mine, kind, batched, self_attention, need_weights=need_weights),
            _mha_run(torch, theirs, kind, batched, self_attention, need_weights=need_weights))
        for a, b in zip(my_out + my_grads, their_out + their_grads):
            _close(a, b, rtol=1e-9, atol=1e-11)
        for p in list(mine.parameters()) + list(theirs.parameters()):
            p.grad = None


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_padding", [False, True])
def test_multihead_attention_is_causal_matches_torch(need_weights, with_padding):
    torch = _torch()
    mine, theirs = _mha_pair(torch, add_zero_attn=True)
    results = []
    for lib, module in ((engine, mine), (torch, theirs)):
        x = lib.tensor(np.random.default_rng(5).standard_normal((L, N, E)), requires_grad=True)
        causal = lib.nn.Transformer.generate_square_subsequent_mask(L, dtype=lib.float64)
        padding = lib.tensor([[0.0, 0.0, -np.inf], [0.0, 0.0, 0.0]], dtype=lib.float64) if with_padding else None
        out, weights = module(x, x, x, attn_mask=causal, key_padding_mask=padding, is_causal=True,
                              need_weights=need_weights)
        out.pow(2).sum().backward()
        results.append([out, x.grad] + ([] if weights is None else [weights]))
    for a, b in zip(*results):
        _close(a, b, rtol=1e-9, atol=1e-11)


def test_multihead_attention_seeded_init_and_repr_match_torch():
    torch = _torch()
    engine.manual_seed(0)
    torch.manual_seed(0)
    mine = engine.nn.MultiheadAttention(E, HEADS, add_bias_kv=True, kdim=4, vdim=5)
    theirs = torch.nn.MultiheadAttention(E, HEADS, add_bias_kv=True, kdim=4, vdim=5)
    assert repr(mine) == repr(theirs)
    for (name, a), (_, b) in zip(mine.state_dict().items(), theirs.state_dict().items()):
        _close(a, b, rtol=1e-6, atol=1e-7)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mine.state_dict().items()})


def test_multihead_attention_gradchecks_with_every_option():
    engine.manual_seed(0)
    m = engine.nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True, kdim=3, vdim=2).double()
    rng = np.random.default_rng(0)
    q = engine.tensor(rng.standard_normal((2, 1, 4)), requires_grad=True)
    k = engine.tensor(rng.standard_normal((3, 1, 3)), requires_grad=True)
    v = engine.tensor(rng.standard_normal((3, 1, 2)), requires_grad=True)
    padding = engine.tensor([[False, True, False]])
    # gradcheck perturbs its inputs in place, so the module's own parameters can be inputs
    fn = lambda q, k, v, *params: m(q, k, v, key_padding_mask=padding, average_attn_weights=False)  # noqa: E731
    assert gradcheck(fn, (q, k, v, m.bias_k, m.bias_v, m.k_proj_weight))


def test_multihead_attention_mask_errors_and_warnings_are_torchs():
    torch = _torch()

    def outcome(lib, call):
        m = lib.nn.MultiheadAttention(E, HEADS)
        x = lib.zeros(L, N, E)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                call(lib, m, x)
                error = None
            except (RuntimeError, AssertionError) as e:
                error = (type(e), str(e))
        return error, [str(w.message) for w in caught]

    calls = [
        lambda lib, m, x: m(x, x, x, attn_mask=lib.zeros(L, L, dtype=lib.int64)),
        lambda lib, m, x: m(x, x, x, attn_mask=lib.zeros(L, L + 1)),
        lambda lib, m, x: m(x, x, x, attn_mask=lib.zeros(3, L, L)),
        lambda lib, m, x: m(x, x, x, is_causal=True),
        lambda lib, m, x: m(x, x, x, key_padding_mask=lib.zeros(N, L, dtype=lib.bool), attn_mask=lib.zeros(L, L)),
        lambda lib, m, x: m(x, x, x, key_padding_mask=lib.zeros(N, L + 1, dtype=lib.bool)),
        lambda lib, m, x: m(x, x[:, :, :4], x),
        lambda lib, m, x: m(x[0], x, x),
    ]
    for call in calls:
        assert outcome(engine, call) == outcome(torch, call)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq_divides_by_each_index_count(mode):
    """Each row's gradient divided by its index's count in the input, as torch documents and as
    torch 2.13 computes for the cases compared here. (Where an index repeats alongside a more
    frequent one, torch 2.13's CPU divisors are not the counts - [1, 3, 3, 1, 1] in one bag
    divides row 3 by 3 - and the engine keeps the counts.)"""
    torch = _torch()
    w = engine.ones(6, 2, requires_grad=True)
    F.embedding_bag(engine.tensor([1, 3, 3, 1, 1]), w, engine.tensor([0]), mode=mode,
                    scale_grad_by_freq=True).sum().backward()
    per_bag = 1.0 if mode == "sum" else 1 / 5
    assert w.grad[:, 0].tolist() == pytest.approx([0, per_bag, 0, per_bag, 0, 0])
    for ids, offsets in [([3, 3, 1], [0]), ([5, 4, 3, 2, 1, 0], [0, 3]), ([2, 2, 0, 1], [0, 2])]:
        grads = []
        for lib in (engine, torch):
            w = lib.tensor(np.random.default_rng(0).standard_normal((6, 3)), requires_grad=True)
            out = lib.nn.functional.embedding_bag(lib.tensor(ids), w, lib.tensor(offsets), mode=mode,
                                                  scale_grad_by_freq=True)
            (out * lib.tensor(np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)))).sum().backward()
            grads.append(w.grad)
        _close(*grads)


def test_rnn_flatten_parameters_is_callable_as_in_torch():
    torch = _torch()
    for lib in (engine, torch):
        m = lib.nn.LSTM(3, 4, proj_size=2, num_layers=2)
        assert m.flatten_parameters() is None
        assert [tuple(w.shape) for w in m._flat_weights] == [tuple(p.shape) for p in m.parameters()]
        out, _ = m(lib.zeros(2, 1, 3))
        assert tuple(out.shape) == (2, 1, 2)


def test_lstm_proj_size_seeded_init_is_torchs():
    torch = _torch()
    engine.manual_seed(0)
    torch.manual_seed(0)
    mine = engine.nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True)
    theirs = torch.nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True)
    for a, b in zip(mine.parameters(), theirs.parameters()):
        _close(a, b, rtol=1e-6, atol=1e-7)


def test_max_pool_indices_with_nan_windows_are_torchs_last_nan():
    torch = _torch()
    rng = np.random.default_rng(7)
    for _ in range(60):
        x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
        x[rng.random(x.shape) < 0.25] = np.nan
        k, s, d = int(rng.integers(2, 4)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
        p = int(rng.integers(0, k // 2 + 1))
        if (k - 1) * d + 1 > 6 + 2 * p:
            continue
        args = (k, s, p, d)
        pairs = [(lambda m, t: m.nn.functional.max_pool2d(t, *args, return_indices=True)[1], x),
                 (lambda m, t: m.nn.functional.max_pool1d(t, *args, return_indices=True)[1],
                  x[0, :, 0]),
                 (lambda m, t: m.nn.functional.adaptive_max_pool2d(t, (3, 4),
                                                                  return_indices=True)[1], x)]
        for call, data in pairs:
            assert call(engine, engine.tensor(data)).tolist() == \
                call(torch, torch.tensor(data)).tolist()
