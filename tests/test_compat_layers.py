"""The layers PyTorch programs use beyond the basics: each compared with torch (init under the
same seed, printed form, outputs and every gradient in float64), plus finite differences for
the functional forms."""
import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def _compare(make, shapes, seed=0, train=True, rtol=1e-7, atol=1e-9, call=None, init_parity=True):
    """Build the layer in torch and here under one seed; same parameters, same printed form,
    same outputs and same gradients of a fixed weighted sum of the outputs."""
    call = call or (lambda m, xs: m(*xs))
    torch.manual_seed(seed)
    tm = make(torch)
    engine.manual_seed(seed)
    em = make(engine)
    assert repr(em) == repr(tm)
    tsd = tm.state_dict()
    assert list(em.state_dict()) == list(tsd)
    if init_parity:
        for k, v in tsd.items():
            np.testing.assert_allclose(em.state_dict()[k].numpy(), v.numpy(), rtol=1e-6, atol=1e-7,
                                       err_msg=k)
    tm, em = tm.double(), em.double()
    em.load_state_dict({k: engine.from_numpy(v.numpy().copy()) for k, v in tm.state_dict().items()})
    tm.train(train), em.train(train)
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) if isinstance(s, tuple) else s for s in shapes]
    tx = [torch.tensor(x, requires_grad=True) if isinstance(x, np.ndarray) else x for x in xs]
    ex = [engine.tensor(x, requires_grad=True) if isinstance(x, np.ndarray) else x for x in xs]
    touts, eouts = _flat(call(tm, tx)), _flat(call(em, ex))
    assert len(touts) == len(eouts)
    tloss, eloss = 0, 0
    for t, e in zip(touts, eouts):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        w = rng.standard_normal(tuple(t.shape))
        tloss = tloss + (t * torch.from_numpy(w)).sum()
        eloss = eloss + (e * engine.from_numpy(w)).sum()
    tloss.backward()
    eloss.backward()
    for t, e in zip(tx, ex):
        if isinstance(t, torch.Tensor):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    tp, ep = dict(tm.named_parameters()), dict(em.named_parameters())
    assert list(ep) == list(tp)
    for name, p in tp.items():
        if p.grad is not None:
            np.testing.assert_allclose(ep[name].grad.numpy(), p.grad.numpy(), rtol=rtol, atol=atol,
                                       err_msg=name)
    for name, b in tm.named_buffers():
        np.testing.assert_allclose(dict(em.named_buffers())[name].numpy(), b.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)
    return tm, em


@pytest.mark.parametrize("make,shapes", [
    (lambda nn: nn.nn.Conv1d(3, 4, 3, stride=2, padding=1), [(2, 3, 9)]),
    (lambda nn: nn.nn.Conv1d(4, 6, 3, padding="same", groups=2, bias=False), [(2, 4, 7)]),
    (lambda nn: nn.nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="reflect"), [(2, 4, 6, 5)]),
    (lambda nn: nn.nn.Conv2d(2, 3, (2, 3), padding_mode="circular", padding=(1, 2)), [(1, 2, 5, 5)]),
    (lambda nn: nn.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), [(2, 3, 4, 5)]),
    (lambda nn: nn.nn.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=2), [(1, 4, 3, 3)]),
    (lambda nn: nn.nn.ConvTranspose1d(3, 2, 4, stride=3), [(2, 3, 5)]),
    (lambda nn: nn.nn.AvgPool2d(3, stride=2, padding=1), [(2, 3, 7, 6)]),
    (lambda nn: nn.nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False), [(1, 2, 5, 5)]),
    (lambda nn: nn.nn.AvgPool1d(3, 2), [(2, 3, 8)]),
    (lambda nn: nn.nn.AdaptiveAvgPool2d((3, 2)), [(2, 3, 7, 5)]),
    (lambda nn: nn.nn.AdaptiveAvgPool2d(1), [(2, 3, 4, 4)]),
    (lambda nn: nn.nn.AdaptiveAvgPool1d(4), [(2, 3, 9)]),
    (lambda nn: nn.nn.MaxPool1d(3, 2, padding=1), [(2, 3, 9)]),
    (lambda nn: nn.nn.Upsample(scale_factor=2), [(1, 2, 3, 4)]),
    (lambda nn: nn.nn.Upsample(size=(5, 7), mode="bilinear"), [(1, 2, 3, 4)]),
    (lambda nn: nn.nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True), [(2, 1, 4, 3)]),
    (lambda nn: nn.nn.Upsample(scale_factor=3, mode="linear"), [(2, 2, 4)]),
    (lambda nn: nn.nn.UpsamplingNearest2d(size=5), [(1, 2, 3, 3)]),
    (lambda nn: nn.nn.BatchNorm2d(3), [(4, 3, 2, 5)]),
    (lambda nn: nn.nn.BatchNorm3d(2, momentum=None), [(3, 2, 2, 2, 3)]),
    (lambda nn: nn.nn.BatchNorm1d(3, affine=False), [(5, 3)]),
    (lambda nn: nn.nn.GroupNorm(2, 4), [(3, 4, 5)]),
    (lambda nn: nn.nn.GroupNorm(3, 6, affine=False), [(2, 6, 2, 3)]),
    (lambda nn: nn.nn.InstanceNorm2d(3), [(2, 3, 4, 5)]),
    (lambda nn: nn.nn.InstanceNorm1d(3, affine=True, track_running_stats=True), [(2, 3, 6)]),
    (lambda nn: nn.nn.InstanceNorm2d(2), [(2, 4, 5)]),
    (lambda nn: nn.nn.Sequential(nn.nn.SiLU(), nn.nn.Mish(), nn.nn.ELU(0.5), nn.nn.SELU(),
                                 nn.nn.Hardtanh(-2, 2), nn.nn.ReLU6(), nn.nn.LogSigmoid(),
                                 nn.nn.Softsign(), nn.nn.Tanhshrink(), nn.nn.GLU(1)), [(2, 4, 3)]),
])
def test_layer_matches_torch(make, shapes):
    _compare(make, shapes)


def test_batchnorm_running_stats_over_steps_and_eval():
    tm, em = _compare(lambda nn: nn.nn.BatchNorm2d(3, momentum=None), [(4, 3, 2, 2)])
    for seed in (1, 2):
        x = np.random.default_rng(seed).standard_normal((4, 3, 2, 2))
        tm(torch.from_numpy(x)), em(engine.from_numpy(x))
    np.testing.assert_allclose(em.running_var.numpy(), tm.running_var.numpy(), rtol=1e-12)
    assert em.num_batches_tracked.item() == tm.num_batches_tracked.item() == 3
    tm.eval(), em.eval()
    x = np.random.default_rng(5).standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(em(engine.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        em(engine.zeros(2, 3, 4))


@pytest.mark.parametrize("make,shapes,call", [
    (lambda nn: nn.nn.RNN(3, 4), [(5, 2, 3)], None),
    (lambda nn: nn.nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True),
     [(2, 5, 3), (2, 2, 4)], None),
    (lambda nn: nn.nn.LSTM(3, 4, num_layers=2, bidirectional=True), [(5, 2, 3)], None),
    (lambda nn: nn.nn.LSTM(3, 4, batch_first=True, bias=False), [(2, 6, 3), (1, 2, 4), (1, 2, 4)],
     lambda m, xs: m(xs[0], (xs[1], xs[2]))),
    (lambda nn: nn.nn.LSTM(3, 4), [(6, 3)], None),
    (lambda nn: nn.nn.GRU(3, 5, num_layers=2, bidirectional=True, batch_first=True),
     [(2, 4, 3), (4, 2, 5)], None),
    (lambda nn: nn.nn.RNNCell(3, 4, nonlinearity="relu"), [(2, 3), (2, 4)], None),
    (lambda nn: nn.nn.LSTMCell(3, 4), [(2, 3), (2, 4), (2, 4)], lambda m, xs: m(xs[0], (xs[1], xs[2]))),
    (lambda nn: nn.nn.GRUCell(3, 4), [(3,)], None),
])
def test_recurrent_layers_match_torch(make, shapes, call):
    _compare(make, shapes, call=call)


def test_recurrent_dropout_between_layers_draws_as_torch():
    _compare(lambda nn: nn.nn.GRU(3, 4, num_layers=3, dropout=0.5), [(4, 2, 3)], seed=3)


def _attention(m, xs):
    q, k, v, mask, pad = xs
    return m(q, k, v, attn_mask=mask, key_padding_mask=pad)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(batch_first):
    L, S, N, E = 3, 4, 2, 8
    mask = np.triu(np.ones((L, S), bool), 2)
    pad = np.zeros((N, S), bool)
    pad[1, -1] = True
    shapes = [(N, L, E), (N, S, E), (N, S, E)] if batch_first else [(L, N, E), (S, N, E), (S, N, E)]
    lib_masks = {}

    def call(m, xs):
        lib = torch if isinstance(xs[0], torch.Tensor) else engine
        lib_masks[lib] = (lib.tensor(mask), lib.tensor(pad))
        return _attention(m, xs[:3] + list(lib_masks[lib]))

    _compare(lambda nn: nn.nn.MultiheadAttention(E, 2, batch_first=batch_first), shapes, call=call)
    _compare(lambda nn: nn.nn.MultiheadAttention(E, 4, kdim=5, vdim=3), [(L, N, E), (S, N, 5), (S, N, 3)],
             call=lambda m, xs: m(*xs, average_attn_weights=False))


def test_transformer_encoder_matches_torch():
    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
        return lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    _compare(make, [(2, 5, 8)], init_parity=False)
    _compare(lambda nn: nn.nn.TransformerEncoderLayer(8, 4, 16, 0.0, "gelu", norm_first=True),
             [(5, 2, 8)])


def test_parameter_containers_and_data_parallel():
    tm, em = _compare(lambda nn: nn.nn.ModuleDict({"p": nn.nn.ParameterDict({"a": nn.nn.Parameter(
        nn.ones(2, 3)), "b": nn.zeros(4)}), "l": nn.nn.ParameterList([nn.ones(2), nn.nn.Parameter(
            nn.zeros(3, 1))])}), [], call=lambda m, xs: [m["p"]["a"] * 2, m["l"][1] + 1])
    assert isinstance(em["l"][0], engine.nn.Parameter) and len(em["l"]) == 2 and "b" in em["p"]
    _compare(lambda nn: nn.nn.DataParallel(nn.nn.Linear(3, 2)), [(4, 3)])


def test_pad_sequence_matches_torch():
    from engine.nn.utils.rnn import pad_sequence
    seqs = [np.arange(6.0).reshape(3, 2), np.ones((1, 2)), np.zeros((2, 2))]
    for kw in (dict(), dict(batch_first=True, padding_value=-1.0), dict(padding_side="left")):
        got = pad_sequence([engine.tensor(s) for s in seqs], **kw)
        want = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], **kw)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


# -- finite differences (first and second order) for the functional forms ----------------------

def _t(*shape, seed=0):
    return engine.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("fn,args", [
    (lambda x: F.pad(x, (1, 2, 0, 1)), [(2, 3, 3)]),
    (lambda x: F.pad(x, (2, 1), mode="reflect"), [(2, 4)]),
    (lambda x: F.pad(x, (1, 1, 1, 0), mode="replicate"), [(1, 2, 3)]),
    (lambda x, w: F.conv1d(x, w, stride=2, padding=1), [(2, 2, 6), (3, 2, 3)]),
    (lambda x, w: F.conv2d(x, w, groups=2), [(1, 4, 4, 4), (2, 2, 2, 2)]),
    (lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1), [(1, 2, 3, 3), (2, 3, 2, 2)]),
    (lambda x: F.avg_pool2d(x, 2, 1, 1, count_include_pad=False), [(1, 2, 3, 4)]),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(1, 2, 5, 4)]),
    (lambda x: F.max_pool1d(x, 2), [(1, 2, 6)]),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), [(1, 1, 3, 3)]),
    (lambda x: F.interpolate(x, size=5), [(1, 2, 3)]),
    (lambda x, w: F.group_norm(x, 2, w), [(2, 4, 3), (4,)]),
    (lambda x: F.instance_norm(x), [(2, 2, 5)]),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    (lambda x: F.glu(F.mish(x) + F.elu(x) + F.silu(x), 0), [(4, 3)]),
])
def test_gradcheck(fn, args):
    xs = [_t(*s, seed=i) for i, s in enumerate(args)]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def test_lstm_gradcheck():
    engine.manual_seed(0)
    lstm = engine.nn.LSTM(2, 3, bidirectional=True).double()
    x = _t(4, 1, 2)
    assert gradcheck(lambda x, w: lstm(x)[0] * w.sum(), [x, lstm.weight_hh_l0])
