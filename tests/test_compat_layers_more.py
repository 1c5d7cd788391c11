"""More torch.nn layers and losses (activations, channel dropout, distances, padding, pixel
shuffle, fold/unfold, adaptive max pooling, RMSNorm, LocalResponseNorm, Bilinear, the
transformer decoder): each against torch, plus finite differences for the functional forms."""
import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
from tests.test_compat_layers import _compare  # noqa: E402


def _ints(*values):
    return lambda lib: lib.tensor(values)


@pytest.mark.parametrize("make,shapes", [
    (lambda nn: nn.nn.PReLU(), [(2, 3, 4)]),
    (lambda nn: nn.nn.PReLU(3, init=0.1), [(2, 3, 4)]),
    (lambda nn: nn.nn.Sequential(nn.nn.Hardswish(), nn.nn.Hardsigmoid(), nn.nn.CELU(0.7),
                                 nn.nn.Softshrink(0.3), nn.nn.Hardshrink(0.1),
                                 nn.nn.Threshold(0.2, -1.0), nn.nn.Softmin(1)), [(3, 5)]),
    (lambda nn: nn.nn.Softmax2d(), [(2, 3, 2, 2)]),
    (lambda nn: nn.nn.Unflatten(1, (2, 3)), [(4, 6)]),
    (lambda nn: nn.nn.ZeroPad2d((1, 2, 0, 1)), [(1, 2, 3, 3)]),
    (lambda nn: nn.nn.ConstantPad1d(2, 3.5), [(2, 3)]),
    (lambda nn: nn.nn.ReflectionPad2d(1), [(1, 2, 3, 4)]),
    (lambda nn: nn.nn.ReplicationPad1d((2, 1)), [(1, 2, 3)]),
    (lambda nn: nn.nn.CircularPad2d(1), [(1, 1, 3, 3)]),
    (lambda nn: nn.nn.PixelShuffle(2), [(1, 8, 2, 3)]),
    (lambda nn: nn.nn.PixelUnshuffle(2), [(2, 1, 4, 6)]),
    (lambda nn: nn.nn.ChannelShuffle(2), [(1, 4, 2, 2)]),
    (lambda nn: nn.nn.Unfold(2, dilation=(1, 2), padding=1, stride=(2, 1)), [(2, 3, 5, 6)]),
    (lambda nn: nn.nn.Fold((4, 5), 2), [(2, 12, 12)]),
    (lambda nn: nn.nn.Fold((5, 5), (2, 3), dilation=(2, 1), padding=1, stride=2), [(1, 12, 9)]),
    (lambda nn: nn.nn.AdaptiveMaxPool2d((2, 3)), [(2, 3, 5, 7)]),
    (lambda nn: nn.nn.AdaptiveMaxPool2d(2), [(1, 2, 4, 6)]),
    (lambda nn: nn.nn.AdaptiveMaxPool1d(3), [(2, 2, 7)]),
    (lambda nn: nn.nn.RMSNorm(4), [(3, 4)]),
    (lambda nn: nn.nn.RMSNorm((2, 3), eps=1e-3, elementwise_affine=False), [(4, 2, 3)]),
    (lambda nn: nn.nn.LocalResponseNorm(3), [(2, 5, 3, 2)]),
    (lambda nn: nn.nn.LocalResponseNorm(2, alpha=0.1, k=2.0), [(2, 4, 5)]),
    (lambda nn: nn.nn.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    (lambda nn: nn.nn.CosineSimilarity(dim=1), [(4, 3), (4, 3)]),
    (lambda nn: nn.nn.PairwiseDistance(p=1.5), [(4, 3), (4, 3)]),
])
def test_layer_matches_torch(make, shapes):
    _compare(make, shapes)


def test_channel_dropout_draws_as_torch():
    _compare(lambda nn: nn.nn.Dropout2d(0.4), [(3, 4, 2, 2)], seed=1)
    _compare(lambda nn: nn.nn.Dropout1d(0.5), [(4, 3)], seed=2)


def _loss(lib, name, kwargs, arrays, extra):
    args = [lib.tensor(a, requires_grad=True) for a in arrays] + [lib.tensor(e) for e in extra]
    loss = getattr(lib.nn, name)(**kwargs)(*args)
    loss.sum().backward()
    return loss.detach().numpy(), [a.grad.numpy() for a in args[:len(arrays)]]


R = np.random.default_rng(0)
X, Y, Z = R.standard_normal((4, 3)), R.standard_normal((4, 3)), R.standard_normal((4, 3))
SIGN = np.array([1.0, -1.0, 1.0, -1.0])


@pytest.mark.parametrize("name,kwargs,arrays,extra", [
    ("KLDivLoss", dict(reduction="batchmean"), [np.log(np.abs(X) / 3)], [np.abs(Y) / 3]),
    ("KLDivLoss", dict(reduction="sum", log_target=True), [X], [Y]),
    ("MarginRankingLoss", dict(margin=0.2), [X[:, 0], Y[:, 0]], [SIGN]),
    ("HingeEmbeddingLoss", dict(margin=0.5, reduction="none"), [X], [np.sign(Y)]),
    ("SoftMarginLoss", {}, [X], [np.sign(Y)]),
    ("CosineEmbeddingLoss", dict(margin=0.1), [X, Y], [SIGN]),
    ("TripletMarginLoss", dict(margin=0.5, p=2, swap=True), [X, Y, Z], []),
    ("PoissonNLLLoss", {}, [X], [np.abs(Y) * 3]),
    ("PoissonNLLLoss", dict(log_input=False, full=True), [np.abs(X) + 0.1], [np.abs(Y) * 3]),
    ("GaussianNLLLoss", dict(full=True), [X, np.abs(Z)], [Y]),
    ("MultiLabelSoftMarginLoss", {}, [X], [(Y > 0).astype(float)]),
])
def test_losses_match_torch(name, kwargs, arrays, extra):
    if name == "GaussianNLLLoss":             # (input, target, var): var needs a grad too
        def run(lib):
            x, v = (lib.tensor(a, requires_grad=True) for a in arrays)
            loss = lib.nn.GaussianNLLLoss(**kwargs)(x, lib.tensor(extra[0]), v)
            loss.backward()
            return loss.detach().numpy(), [x.grad.numpy(), v.grad.numpy()]
        got, want = run(engine), run(torch)
    else:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, want = _loss(engine, name, kwargs, arrays, extra), _loss(torch, name, kwargs, arrays, extra)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-12)
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_kl_div_mean_warns_as_torch():
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both"):
        F.kl_div(engine.zeros(2), engine.ones(2) / 2)


def test_transformer_matches_torch():
    def make(lib):
        return lib.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                                  dim_feedforward=16, dropout=0.0, batch_first=True)

    def call(m, xs):
        lib = torch if isinstance(xs[0], torch.Tensor) else engine
        mask = lib.nn.Transformer.generate_square_subsequent_mask(4, dtype=lib.float64)
        return m(xs[0], xs[1], tgt_mask=mask, tgt_is_causal=True)
    _compare(make, [(2, 5, 8), (2, 4, 8)], call=call)
    _compare(lambda nn: nn.nn.TransformerDecoderLayer(8, 4, 16, 0.0, "gelu", norm_first=True),
             [(3, 2, 8), (5, 2, 8)])


@pytest.mark.parametrize("fn,args", [
    (lambda x, w: F.prelu(x, w), [(2, 3, 2), (3,)]),
    (lambda x: F.celu(x, 0.5) + F.softshrink(x) + F.hardswish(x), [(3, 4)]),
    (lambda x: F.pixel_shuffle(x, 2), [(1, 4, 2, 3)]),
    (lambda x: F.unfold(x, 2, dilation=2, padding=1), [(1, 2, 4, 4)]),
    (lambda x: F.fold(x, (3, 4), 2), [(1, 8, 6)]),
    (lambda x: F.adaptive_max_pool2d(x, (2, 2)), [(1, 1, 5, 3)]),
    (lambda x, w: F.rms_norm(x, (3,), w), [(2, 3), (3,)]),
    (lambda x: F.local_response_norm(x, 3), [(1, 4, 3)]),
    (lambda a, b, w: F.bilinear(a, b, w), [(2, 3), (2, 2), (4, 3, 2)]),
    (lambda a, b: F.kl_div(a, b.abs(), reduction="batchmean"), [(3, 4), (3, 4)]),
    (lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0), [(3, 2), (3, 2), (3, 2)]),
])
def test_gradcheck(fn, args):
    xs = [engine.tensor(np.random.default_rng(i).standard_normal(s), requires_grad=True)
          for i, s in enumerate(args)]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


def _bag_call(mode_input):
    def call(m, xs):
        lib = torch if isinstance(m, torch.nn.Module) else engine
        kind, values, offsets = mode_input
        ids = lib.tensor(values)
        if offsets is None:
            return m(ids)
        weights = lib.tensor(np.linspace(0.5, 2.0, len(values)), dtype=lib.float64) if kind == "w" else None
        return m(ids, lib.tensor(offsets), per_sample_weights=weights)
    return call


@pytest.mark.parametrize("make,call", [
    (lambda nn: nn.nn.Embedding(6, 3, max_norm=1.0), lambda m, xs: m(
        (torch if isinstance(m, torch.nn.Module) else engine).tensor([[0, 2, 2], [5, 1, 0]]))),
    (lambda nn: nn.nn.Embedding(5, 2, padding_idx=1, max_norm=0.5, norm_type=1.0), lambda m, xs: m(
        (torch if isinstance(m, torch.nn.Module) else engine).tensor([1, 3, 4]))),
    (lambda nn: nn.nn.EmbeddingBag(7, 3), _bag_call(("", [[1, 2, 3], [4, 4, 0]], None))),
    (lambda nn: nn.nn.EmbeddingBag(7, 3, mode="sum"), _bag_call(("w", [1, 2, 3, 4, 6, 0], [0, 2, 2]))),
    (lambda nn: nn.nn.EmbeddingBag(7, 3, mode="max"), _bag_call(("", [1, 2, 3, 4, 6, 0], [0, 3]))),
    (lambda nn: nn.nn.EmbeddingBag(7, 2, mode="mean", padding_idx=2, include_last_offset=True),
     _bag_call(("", [1, 2, 3, 2, 6, 0], [0, 2, 4, 6]))),
])
def test_embeddings_match_torch(make, call):
    _compare(make, [], call=call)


@pytest.mark.parametrize("fn,shape", [("dropout2d", (2, 6)), ("dropout2d", (2, 3, 4)),
                                      ("dropout3d", (3, 2, 2, 2)), ("dropout1d", (3, 5))])
def test_channel_dropout_shapes_and_warnings_match_torch(fn, shape):
    import warnings
    results = []
    for lib in (engine, torch):
        lib.manual_seed(4)
        x = lib.ones(shape, dtype=lib.float64)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = getattr(lib.nn.functional, fn)(x, 0.5)
        results.append((y.numpy(), [str(w.message) for w in caught]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_draws_and_differentiates_as_torch(hard):
    x = np.random.default_rng(0).standard_normal((3, 5))
    outs = []
    for lib in (engine, torch):
        lib.manual_seed(1)
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.gumbel_softmax(t, tau=0.5, hard=hard)
        (y * lib.arange(5.0)).sum().backward()
        outs.append((y.detach().numpy(), t.grad.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], atol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], atol=1e-12)
