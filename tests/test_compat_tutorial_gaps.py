"""Names and behaviours that public PyTorch tutorials and examples reach for, found by running
them with `import engine as torch` (their code is not here: these are our own small cases).
Each case compares with PyTorch where it is installed."""
import io
import os
import warnings

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

try:
    import torch
except ImportError:  # pragma: no cover - the torch comparisons skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


# ----------------------------------------------------------------------------- devices
def test_accelerator_answers_like_a_cpu_only_pytorch_without_cuda():
    acc = engine.accelerator
    assert acc.is_available() == engine.cuda.is_available()
    assert acc.device_count() == engine.cuda.device_count()
    if not acc.is_available():
        assert acc.current_accelerator() is None
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available."):
            acc.current_device_index()
        with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
            acc.synchronize()
    else:
        assert acc.current_accelerator() == engine.device("cuda")
        assert acc.current_device_index() == engine.cuda.current_device()


@needs_torch
def test_accelerator_matches_torch_when_neither_has_a_device():
    if torch.accelerator.is_available() or engine.accelerator.is_available():
        pytest.skip("an accelerator is present")
    assert engine.accelerator.current_accelerator() == torch.accelerator.current_accelerator()
    assert engine.accelerator.device_count() == torch.accelerator.device_count()
    # the device choice PyTorch's examples make falls back to the CPU on both
    for lib in (torch, engine):
        dev = lib.accelerator.current_accelerator() if lib.accelerator.is_available() else lib.device("cpu")
        assert str(dev) == "cpu"


def test_backends_switches_can_be_read_and_set():
    import engine.backends.cudnn as cudnn
    assert cudnn is engine.backends.cudnn
    before = cudnn.benchmark
    cudnn.benchmark, cudnn.deterministic = True, True
    try:
        assert engine.backends.cudnn.benchmark and engine.backends.cudnn.deterministic
    finally:
        cudnn.benchmark, cudnn.deterministic = before, False
    assert engine.backends.mps.is_available() is False and engine.backends.mps.is_built() is False
    assert engine.backends.cuda.is_built() == engine.cuda.is_available()
    engine.backends.cuda.matmul.allow_tf32 = True
    engine.backends.cuda.matmul.allow_tf32 = False


@needs_torch
def test_backends_defaults_match_torch_on_a_cpu_build():
    if torch.cuda.is_available():
        pytest.skip("torch has CUDA here")
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(engine.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert engine.backends.cudnn.is_available() == torch.backends.cudnn.is_available()
    assert engine.backends.mps.is_available() == torch.backends.mps.is_available()
    assert engine.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32


@needs_torch
def test_tensor_device_flags_match_torch():
    names = ["is_cpu", "is_cuda", "is_mps", "is_xpu", "is_xla", "is_ipu", "is_maia", "is_mtia",
             "is_vulkan", "is_nested", "is_sparse", "is_sparse_csr", "is_meta", "is_mkldnn",
             "is_quantized"]
    e, t = engine.ones(2), torch.ones(2)
    assert {n: getattr(e, n) for n in names} == {n: getattr(t, n) for n in names}


def test_data_parallel_function_runs_the_module_on_one_device():
    import engine.nn.parallel as parallel
    assert engine.nn.parallel is parallel and parallel.DataParallel is engine.nn.DataParallel
    engine.manual_seed(0)
    layer = engine.nn.Linear(3, 2)
    x = engine.randn(4, 3)
    assert engine.equal(parallel.data_parallel(layer, x), layer(x))
    assert engine.equal(parallel.data_parallel(layer, (x,), device_ids=None), layer(x))


def test_onnx_imports_and_export_says_it_is_not_available():
    import engine.onnx as onnx
    assert onnx.is_in_onnx_export() is False
    with pytest.raises(onnx.OnnxExporterError, match="ONNX export is not available"):
        onnx.export(engine.nn.Linear(2, 2), (engine.ones(1, 2),), io.BytesIO())


# ----------------------------------------------------------------------------- saving whole models
class _Tiny(engine.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = engine.nn.MultiheadAttention(4, 2)
        self.out = engine.nn.Linear(4, 3)

    def forward(self, x):
        return self.out(self.attn(x, x, x)[0])


def test_torch_module_paths_name_the_attention_classes():
    from engine.nn.modules import activation, linear
    assert activation.MultiheadAttention is engine.nn.MultiheadAttention
    assert issubclass(linear.NonDynamicallyQuantizableLinear, engine.nn.Linear)


def test_a_whole_model_loads_with_weights_only_inside_safe_globals():
    # a saved Module carries a set (its non-persistent buffer names), written with protocol 2's
    # Python 2 names (__builtin__.set): the allowlisted load must read it
    engine.manual_seed(0)
    model = _Tiny()
    buf = io.BytesIO()
    engine.save(model, buf)
    buf.seek(0)
    from engine.nn.modules import activation, linear
    allowed = [_Tiny, activation.MultiheadAttention, linear.NonDynamicallyQuantizableLinear,
               engine.nn.Linear]
    with engine.serialization.safe_globals(allowed):
        loaded = engine.load(buf)
    x = engine.randn(5, 1, 4)
    assert engine.equal(loaded(x), model(x))


@needs_torch
def test_sets_in_a_file_load_by_default_as_in_torch():
    for lib in (torch, engine):
        buf = io.BytesIO()
        lib.save({"names": {"a", "b"}, "n": 3}, buf)
        buf.seek(0)
        assert lib.load(buf) == {"names": {"a", "b"}, "n": 3}
    buf = io.BytesIO()
    torch.save({"names": {"a", "b"}, "w": torch.arange(3.0)}, buf)    # PyTorch's own file
    buf.seek(0)
    got = engine.load(buf)
    assert got["names"] == {"a", "b"} and got["w"].tolist() == [0.0, 1.0, 2.0]


# ----------------------------------------------------------------------------- silent nan / inf
# one source for both the in-process torch comparison and the fresh interpreter below
_INVALID_SOURCE = """{
    "log(0), log(-1)": lambda M, x: M.log(x - 1.0) + M.log(-x),
    "sqrt(-1)": lambda M, x: M.sqrt(-x),
    "x / 0, 0 / 0": lambda M, x: x / (x * 0) + (x * 0) / (x * 0),
    "pow(-x, 0.5), 0 ** -1": lambda M, x: M.pow(-x, 0.5) + M.pow(x * 0, -1.0),
    "exp overflow": lambda M, x: M.exp(x * 1000),
    "inf - inf, 0 * inf": lambda M, x: x * float("inf") - x * float("inf") + (x * 0) * float("inf"),
    "prod, cumprod overflow": lambda M, x: (x * 1e30).prod() + M.cumprod(x * 1e30, 0),
    "softmax of inf": lambda M, x: M.softmax(x * float("inf"), 0),
    "logsumexp of -inf": lambda M, x: M.logsumexp(-x * float("inf"), 0),
    "nan to long": lambda M, x: x + (x * float("nan")).long().float(),
    "fmod by 0": lambda M, x: M.fmod(x, 0.0),
    "sqrt(0) backward, norm(0) backward": lambda M, x: M.sqrt(x * 0) + (x * 0).norm(),
}"""
_INVALID = eval(_INVALID_SOURCE)


def _run_fresh(code):
    """Run `code` in a new interpreter (engine imported at its top, as a program does; pytest
    imports test modules inside its own catch_warnings, which drops filters added meanwhile)."""
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_invalid_values_give_nan_inf_without_numpy_warnings():
    result = _run_fresh(
        "import warnings\n"
        "import numpy as np\n"
        "import engine\n"
        "warnings.filterwarnings('error', category=RuntimeWarning, append=True)\n"  # unsilenced: raises
        "before = np.geterr()\n"
        f"CASES = {_INVALID_SOURCE}\n"
        "for name, fn in CASES.items():\n"
        "    x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
        "    fn(engine, x).sum().backward()\n"
        "assert np.geterr() == before\n"
        "try:\n"
        "    np.log(np.zeros(2))\n"                                   # the user's own NumPy call
        "except RuntimeWarning as w:\n"
        "    print('user warning:', w)\n"
        "print('done')\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["user warning: divide by zero encountered in log", "done"]


@pytest.mark.parametrize("case", sorted(_INVALID))
def test_invalid_values_match_torch(case):
    if torch is None:
        pytest.skip("PyTorch is not installed")
    fn = _INVALID[case]
    values = []
    for M in (engine, torch):
        x = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # pytest's own filters are in force here
            y = fn(M, x)
            y.sum().backward()
        values.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(values[0][0], values[1][0])
    np.testing.assert_array_equal(values[0][1], values[1][1])


def test_prod_and_cumprod_values_unchanged():
    x = engine.tensor([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=engine.float64, requires_grad=True)
    assert engine.allclose(x.prod(), engine.tensor(18.0, dtype=engine.float64))
    assert x.prod(1, keepdim=True).shape == (2, 1)
    assert x.cumprod(1).tolist() == [[1.5, -3.0, -9.0], [0.5, 2.0, -2.0]]
    assert engine.tensor(3.0).cumprod(0).item() == 3.0
    assert engine.tensor([2, 3], dtype=engine.int32).prod().dtype == engine.int64
    assert gradcheck(lambda t: t.prod(1), (x,))
    assert gradcheck(lambda t: t.cumprod(0), (x,))


# ----------------------------------------------------------------------------- size_average / reduce
def _loss_inputs(M, name):
    g = np.random.default_rng(3)
    x = g.standard_normal((4, 3))
    p = 1 / (1 + np.exp(-x))
    t01 = (g.random((4, 3)) > 0.5).astype(np.float64)
    cls = g.integers(0, 3, 4)
    pm1 = np.where(t01 > 0, 1.0, -1.0)
    f = lambda a: M.tensor(a, dtype=M.float64)     # noqa: E731
    return {
        "l1_loss": (f(x), f(x[::-1].copy())), "mse_loss": (f(x), f(x[::-1].copy())),
        "smooth_l1_loss": (f(x), f(2 * x[::-1])), "binary_cross_entropy": (f(p), f(t01)),
        "binary_cross_entropy_with_logits": (f(x), f(t01)),
        "cross_entropy": (f(x), M.tensor(cls)), "nll_loss": (f(np.log(p)), M.tensor(cls)),
        "kl_div": (f(np.log(p)), f(p[::-1].copy())), "soft_margin_loss": (f(x), f(pm1)),
        "hinge_embedding_loss": (f(x), f(pm1)), "multilabel_soft_margin_loss": (f(x), f(t01)),
        "margin_ranking_loss": (f(x), f(x[::-1].copy()), f(pm1)),
        "cosine_embedding_loss": (f(x), f(x[::-1].copy()), f(pm1[:, 0])),
        "triplet_margin_loss": (f(x), f(x[::-1].copy()), f(2 * x)),
        "poisson_nll_loss": (f(x), f(np.abs(x))),
    }[name]


_LEGACY_LOSSES = ["l1_loss", "mse_loss", "smooth_l1_loss", "binary_cross_entropy",
                  "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
                  "soft_margin_loss", "hinge_embedding_loss", "multilabel_soft_margin_loss",
                  "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss",
                  "poisson_nll_loss"]


@pytest.mark.parametrize("name", _LEGACY_LOSSES)
@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True), (False, True)])
def test_deprecated_size_average_and_reduce_choose_the_reduction(name, size_average, reduce):
    expected = "mean" if (size_average is not False and reduce is not False) else "sum" if reduce is not False else "none"
    args = _loss_inputs(engine, name)
    fn = getattr(engine.nn.functional, name)
    with pytest.warns(UserWarning, match=f"size_average and reduce args will be deprecated, please use "
                                         f"reduction='{expected}' instead."):
        got = fn(*args, size_average=size_average, reduce=reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = fn(*args, reduction=expected)
    assert engine.equal(got, want)
    if torch is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(torch.nn.functional, name)(*_loss_inputs(torch, name), size_average=size_average,
                                                         reduce=reduce)
        np.testing.assert_allclose(got.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)


@needs_torch
def test_loss_positional_arguments_follow_torchs_order():
    # torch's signatures put size_average (and reduce) before ignore_index/reduction
    x, c = _loss_inputs(engine, "cross_entropy")
    tx, tc = _loss_inputs(torch, "cross_entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = engine.nn.functional.cross_entropy(x, c, None, None, -100, None, "sum")
        want = torch.nn.functional.cross_entropy(tx, tc, None, None, -100, None, "sum")
        assert got.item() == pytest.approx(want.item(), rel=1e-12)
        got = engine.nn.functional.mse_loss(x, x * 2, None, None, "sum")
        want = torch.nn.functional.mse_loss(tx, tx * 2, None, None, "sum")
        assert got.item() == pytest.approx(want.item(), rel=1e-12)


@pytest.mark.parametrize("cls", ["L1Loss", "MSELoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
                                 "CrossEntropyLoss", "NLLLoss", "KLDivLoss", "SoftMarginLoss",
                                 "MultiLabelSoftMarginLoss", "HingeEmbeddingLoss", "MarginRankingLoss",
                                 "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss"])
def test_loss_modules_take_size_average_and_reduce(cls):
    with pytest.warns(UserWarning, match="reduction='sum'"):
        layer = getattr(engine.nn, cls)(size_average=False)
    assert layer.reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert getattr(engine.nn, cls)(reduce=False).reduction == "none"
    if torch is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert getattr(torch.nn, cls)(size_average=False).reduction == "sum"
    assert getattr(engine.nn, cls)().reduction == "mean"


def test_kl_div_loss_keeps_batchmean():
    layer = engine.nn.KLDivLoss(reduction="batchmean")
    logp, q = _loss_inputs(engine, "kl_div")
    assert layer.reduction == "batchmean"
    assert engine.allclose(layer(logp, q), engine.nn.functional.kl_div(logp, q, reduction="sum") / 4)


# ----------------------------------------------------------------------------- distributions
def test_distribution_submodules_name_the_classes():
    from engine.distributions.bernoulli import Bernoulli
    from engine.distributions.categorical import Categorical
    from engine.distributions.kl import kl_divergence
    from engine.distributions.multinomial import Multinomial
    from engine.distributions.normal import Normal
    from engine.distributions.uniform import Uniform
    D = engine.distributions
    assert (Bernoulli, Categorical, Normal, Uniform, kl_divergence, Multinomial) == \
        (D.Bernoulli, D.Categorical, D.Normal, D.Uniform, D.kl_divergence, D.Multinomial)


@needs_torch
@pytest.mark.parametrize("total,shape", [(1, ()), (10, ()), (1000, ()), (7, (3,)), (5, (2, 4))])
def test_multinomial_draws_torchs_counts_for_a_seed(total, shape):
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]])
    samples = []
    for lib in (engine, torch):
        lib.manual_seed(7)
        m = lib.distributions.multinomial.Multinomial(total, lib.tensor(probs, dtype=lib.float32))
        samples.append((m.sample(shape), m.mean, m.variance, m.batch_shape, m.event_shape, repr(m)))
    e, t = samples
    np.testing.assert_array_equal(e[0].numpy(), t[0].numpy())
    assert e[0].dtype == engine.float32
    np.testing.assert_allclose(e[1].numpy(), t[1].numpy(), rtol=1e-6)
    np.testing.assert_allclose(e[2].numpy(), t[2].numpy(), rtol=1e-6)
    assert tuple(e[3]) == tuple(t[3]) and tuple(e[4]) == tuple(t[4]) and e[5] == t[5]


@needs_torch
def test_multinomial_log_prob_and_its_gradient():
    logits = np.array([[0.3, -1.0, 2.0], [0.0, 0.5, -0.5]])
    counts = np.array([[2.0, 0.0, 3.0], [1.0, 1.0, 3.0]])
    e_logits = engine.tensor(logits, requires_grad=True)
    t_logits = torch.tensor(logits, requires_grad=True)
    e = engine.distributions.Multinomial(5, logits=e_logits).log_prob(engine.tensor(counts))
    t = torch.distributions.Multinomial(5, logits=t_logits).log_prob(torch.tensor(counts))
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    e.sum().backward()
    t.sum().backward()
    np.testing.assert_allclose(e_logits.grad.numpy(), t_logits.grad.numpy(), rtol=1e-12)
    assert gradcheck(lambda lg: engine.distributions.Multinomial(5, logits=lg).log_prob(
        engine.tensor(counts)), (e_logits,))


# ----------------------------------------------------------------------------- writing through an index
@pytest.mark.parametrize("key,vshape", [(2, (1, 1)), (slice(1, 3), (1, 2)), (slice(1, 3), (1, 1, 2)),
                                        ((1, 2), (1, 1)), ((0, slice(None)), (1, 1, 3))])
def test_a_written_value_may_have_extra_leading_ones(key, vshape):
    # d2l writes a model's (1, 1) output into one element of a prediction vector
    shape = (5,) if not isinstance(key, tuple) else (3, 3)
    results = []
    for lib in [engine] + ([torch] if torch is not None else []):
        w = lib.tensor(np.arange(1.0, 1.0 + np.prod(vshape)).reshape(vshape), dtype=lib.float64,
                       requires_grad=True)
        base = lib.zeros(shape, dtype=lib.float64, requires_grad=True)
        t = base * 1
        t[key] = w * 2
        (t * lib.arange(float(np.prod(shape)), dtype=lib.float64).reshape(shape)).sum().backward()
        plain = lib.zeros(shape)
        plain[key] = lib.ones(vshape)           # without autograd too
        results.append((t.detach().numpy(), w.grad.numpy(), base.grad.numpy(), plain.numpy()))
    for got, want in zip(results[0], results[-1]):
        np.testing.assert_array_equal(got, want)

    def write(b, v):
        t = b * 1
        t[key] = v * v
        return t
    assert gradcheck(write, (engine.rand(*shape, dtype=engine.float64, requires_grad=True),
                             engine.rand(*vshape, dtype=engine.float64, requires_grad=True)))


def test_a_value_that_does_not_fit_is_still_refused():
    t = engine.zeros(5)
    with pytest.raises(Exception):
        t[2] = engine.ones(2, 1)
    with pytest.raises(Exception):
        t[1:3] = engine.ones(2, 2)


def test_float_of_a_grad_tensor_warns_once_per_process(monkeypatch):
    monkeypatch.setitem(engine._tensor._warned_once, "float", False)
    t = engine.tensor([1.5], requires_grad=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        float(t)
        float(t * 2)            # another line, another tensor: PyTorch stays quiet (TORCH_WARN_ONCE)
        int(t)                  # int() never warns in PyTorch
    assert [str(w.message).splitlines()[0] for w in seen] == \
        ["Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior."]


def test_shuffling_an_empty_dataset_is_refused_as_in_torch():
    from tests.torch_compare import same_error

    class Empty:
        def __len__(self):
            return 0

        def __getitem__(self, i):
            raise IndexError(i)

    same_error(lambda M: M.utils.data.DataLoader(Empty(), batch_size=4, shuffle=True))
    same_error(lambda M: M.utils.data.RandomSampler(range(3), num_samples=0))
    assert list(engine.utils.data.DataLoader(Empty(), batch_size=4)) == []


def test_data_submodules_name_the_loader_datasets_and_samplers():
    from engine.utils.data.dataloader import DataLoader, default_collate
    from engine.utils.data.dataset import Dataset, TensorDataset, random_split
    from engine.utils.data.sampler import BatchSampler, RandomSampler, Sampler
    D = engine.utils.data
    assert (DataLoader, default_collate, Dataset, TensorDataset, random_split, BatchSampler,
            RandomSampler, Sampler) == (D.DataLoader, D.default_collate, D.Dataset, D.TensorDataset,
                                        D.random_split, D.BatchSampler, D.RandomSampler, D.Sampler)


def test_pin_memory_without_an_accelerator_warns_as_torch():
    data = engine.utils.data.TensorDataset(engine.arange(6.0))
    if engine.accelerator.is_available():
        pytest.skip("an accelerator is present")
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found, "
                                         "then device pinned memory won't be used."):
        batches = [b for (b,) in engine.utils.data.DataLoader(data, batch_size=4, pin_memory=True)]
    assert [b.tolist() for b in batches] == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0]]
    if torch is not None and not torch.accelerator.is_available():
        with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator"):
            list(torch.utils.data.DataLoader(torch.arange(6.0), batch_size=4, pin_memory=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(engine.utils.data.DataLoader(data, batch_size=4))


# ----------------------------------------------------------------------------- saved tensors hooks
@pytest.mark.parametrize("expr", ["a * b", "a * 3", "b * a", "a.mul(b)"])
def test_mul_packs_and_unpacks_its_saved_tensors_in_torchs_order(expr):
    seen = []
    for lib in [engine] + ([torch] if torch is not None else []):
        log = []
        a = lib.tensor([1.0, 1.0], requires_grad=True)
        b = lib.tensor([2.0, 2.0], requires_grad=True) * 1
        with lib.autograd.graph.saved_tensors_hooks(lambda t: log.append(("pack", t.tolist())) or t,
                                                    lambda t: log.append(("unpack", t.tolist())) or t):
            y = eval(expr, {"a": a, "b": b})
        y.sum().backward()
        seen.append((log, a.grad.tolist()))
    if torch is not None:
        assert seen[0] == seen[1]
    if expr == "a * b":
        assert [entry[0] for entry in seen[0][0]] == ["pack", "pack", "unpack", "unpack"]
        assert seen[0][0][0] == ("pack", [2.0, 2.0])          # other first


def test_mul_saved_values_keep_their_names():
    a = engine.tensor([1.0, 2.0], requires_grad=True)
    b = engine.tensor([3.0, 4.0], requires_grad=True)
    y = a * b
    assert y.grad_fn._saved_self is a and y.grad_fn._saved_other is b
    assert (a * 2).grad_fn._saved_other == 2


@needs_torch
def test_gradgradcheck_draws_its_grad_outputs_as_torch_does():
    # a tutorial draws torch.rand after gradgradcheck: the numbers match only if both consumed
    # the global generator alike (U(-1, 1) grad_outputs, torch.testing.make_tensor's draw)
    after = []
    for lib in (engine, torch):
        lib.manual_seed(11)
        x = lib.rand(3, 3, dtype=lib.float64, requires_grad=True)
        assert lib.autograd.gradgradcheck(lambda t: (t * t).sin(), x)
        after.append(lib.rand(4).numpy())
    np.testing.assert_array_equal(after[0], after[1])


# ----------------------------------------------------------------------------- torch.svd
@needs_torch
@pytest.mark.parametrize("shape,some", [((3, 2), True), ((2, 4), True), ((3, 2), False), ((2, 3, 3), True)])
def test_svd_returns_u_s_v_as_torch(shape, some):
    a = np.random.default_rng(5).standard_normal(shape)
    e, t = engine.svd(engine.tensor(a), some=some), torch.svd(torch.tensor(a), some=some)
    assert repr(e).splitlines()[0] == repr(t).splitlines()[0] == "torch.return_types.svd("
    for x, y in zip(e, t):
        assert tuple(x.shape) == tuple(y.shape)
    # singular vectors up to sign: compare |U|, S, |V| and the reconstruction
    np.testing.assert_allclose(e.S.numpy(), t.S.numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.abs(e.U.numpy()), np.abs(t.U.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.abs(e.V.numpy()), np.abs(t.V.numpy()), rtol=1e-10, atol=1e-12)
    k = min(shape[-2:])
    rebuilt = (e.U[..., :k] * e.S.unsqueeze(-2)) @ e.V[..., :k].mT
    np.testing.assert_allclose(rebuilt.numpy(), a, atol=1e-12)
    zeros = engine.svd(engine.tensor(a), compute_uv=False)
    tz = torch.svd(torch.tensor(a), compute_uv=False)
    assert tuple(zeros.U.shape) == tuple(tz.U.shape) and float(zeros.U.abs().sum()) == 0.0
    assert tuple(zeros.V.shape) == tuple(tz.V.shape)


def test_svd_is_differentiable_and_a_tensor_method():
    a = engine.tensor(np.random.default_rng(6).standard_normal((4, 3)), requires_grad=True)
    assert gradcheck(lambda x: x.svd().S, (a,))
    assert gradcheck(lambda x: engine.svd(x).U.abs() + 0 * x.sum(), (a,))
    assert engine.linalg.svd(a).Vh.shape == (3, 3)


# ----------------------------------------------------------------------------- out=
_OUT_CASES = {
    "matmul": lambda M, o: M.matmul(M.arange(4.0).reshape(2, 2), M.ones(2, 2), out=o),
    "mm": lambda M, o: M.mm(M.arange(4.0).reshape(2, 2), M.ones(2, 2), out=o),
    "add": lambda M, o: M.add(M.arange(4.0).reshape(2, 2), 2, alpha=3, out=o),
    "mul": lambda M, o: M.mul(M.arange(4.0).reshape(2, 2), 2, out=o),
    "div": lambda M, o: M.div(M.arange(4.0).reshape(2, 2), 2, rounding_mode="floor", out=o),
    "pow": lambda M, o: M.pow(M.arange(4.0).reshape(2, 2), 2, out=o),
    "zeros": lambda M, o: M.zeros(2, 2, out=o),
    "ones": lambda M, o: M.ones(2, 2, out=o),
    "rand": lambda M, o: M.rand(2, 2, out=o),
    "randn": lambda M, o: M.randn(2, 2, out=o),
    "cat": lambda M, o: M.cat([M.ones(1, 2), M.zeros(1, 2)], out=o),
    "stack": lambda M, o: M.stack([M.ones(2), M.zeros(2)], out=o),
    "clamp": lambda M, o: M.clamp(M.arange(4.0).reshape(2, 2), 1, 2, out=o),
    "abs": lambda M, o: M.abs(M.arange(-2.0, 2.0).reshape(2, 2), out=o),
    "sum": lambda M, o: M.sum(M.arange(8.0).reshape(2, 2, 2), 0, out=o),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(_OUT_CASES))
def test_out_writes_into_the_given_tensor_as_torch(name):
    got = []
    for lib in (engine, torch):
        lib.manual_seed(3)
        o = lib.full((2, 2), 7.0)
        r = _OUT_CASES[name](lib, o)
        assert r is o
        got.append(o.numpy().copy())
    np.testing.assert_array_equal(got[0], got[1])


@needs_torch
def test_out_resizes_with_torchs_warning_and_refuses_autograd_and_bad_casts():
    from tests.torch_compare import same_error
    for lib in (engine, torch):
        o = lib.zeros(3)
        with pytest.warns(UserWarning, match=r"An output with one or more elements was resized since it had "
                                             r"shape \[3\], which does not match the required output shape \[2, 2\]"):
            lib.mm(lib.ones(2, 2), lib.ones(2, 2), out=o)
        assert tuple(o.shape) == (2, 2) and o.sum().item() == 8.0
        empty = lib.empty(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.mm(lib.ones(2, 2), lib.ones(2, 2), out=empty)     # zero elements: resized silently
        assert tuple(empty.shape) == (2, 2)
    same_error(lambda M: M.mul(M.ones(2, requires_grad=True), 2, out=M.zeros(2)))
    same_error(lambda M: M.matmul(M.ones(2, 2), M.ones(2, 2), out=M.zeros(2, 2, requires_grad=True)))
    same_error(lambda M: M.add(M.ones(2), 1.5, out=M.zeros(2, dtype=M.long)))
    with engine.no_grad():      # without grad mode there is nothing to differentiate
        o = engine.zeros(2)
        engine.mul(engine.ones(2, requires_grad=True), 2, out=o)
        assert o.tolist() == [2.0, 2.0]


@needs_torch
def test_out_takes_a_tuple_for_ops_with_several_results():
    res = []
    for lib in (engine, torch):
        v, i = lib.zeros(2), lib.zeros(2, dtype=lib.long)
        r = lib.max(lib.tensor([[1.0, 3.0], [4.0, 2.0]]), 1, out=(v, i))
        assert r.values is v and r.indices is i
        res.append((v.tolist(), i.tolist()))
    assert res[0] == res[1]


# ----------------------------------------------------------------------------- in-place variants
_SHAPE_INPLACE = {
    "unsqueeze_": lambda t: t.unsqueeze_(0), "squeeze_": lambda t: t.squeeze_(),
    "squeeze_(dim)": lambda t: t.squeeze_(0), "squeeze_(dims)": lambda t: t.squeeze_((0, 2)),
    "transpose_": lambda t: t.transpose_(0, 1), "swapdims_": lambda t: t.swapdims_(0, 2),
    "swapaxes_": lambda t: t.swapaxes_(1, 2), "t_": lambda t: t.reshape(2, 3).t_(),
}


@pytest.mark.parametrize("name", sorted(_SHAPE_INPLACE))
def test_shape_changing_in_place_ops_match_torch(name):
    fn = _SHAPE_INPLACE[name]
    seen = []
    for lib in [engine] + ([torch] if torch is not None else []):
        w = lib.arange(1.0, 7.0, dtype=lib.float64).reshape(1, 6, 1).requires_grad_()
        b = w * 1
        v = b._version
        r = fn(b)
        assert r is b or name == "t_"
        weights = lib.arange(float(r.numel()), dtype=lib.float64).reshape(r.shape)
        (r * weights).sum().backward()
        seen.append((tuple(r.shape), type(r.grad_fn).__name__, b._version - v if r is b else None,
                     w.grad.numpy().tolist()))
    if torch is not None:
        assert seen[0] == seen[1]
    leaf = engine.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        leaf.unsqueeze_(0)
    assert gradcheck(lambda x: fn(x * 1) * 2, (engine.rand(1, 6, 1, dtype=engine.float64, requires_grad=True),))


def test_shape_in_place_on_a_view_keeps_sharing_its_base():
    base = engine.zeros(2, 3)
    row = base[0]
    row.unsqueeze_(0)
    assert row.shape == (1, 3) and row._base is base
    row.fill_(5.0)
    assert base.tolist() == [[5.0, 5.0, 5.0], [0.0, 0.0, 0.0]]


_VALUE_INPLACE = ["acos_", "asin_", "atan_", "cosh_", "sinh_", "tan_", "erf_", "log2_", "log10_", "arccos_",
                  "arcsin_", "arctan_", "absolute_", "negative_", "fmod_", "remainder_", "floor_divide_",
                  "multiply_", "divide_", "subtract_", "cumsum_", "cumprod_", "eq_", "ne_", "lt_", "le_", "gt_",
                  "ge_", "greater_", "greater_equal_", "less_", "less_equal_", "not_equal_", "logical_and_",
                  "logical_or_", "logical_xor_", "logical_not_"]
_ARGS = {"fmod_": (0.3,), "remainder_": (0.3,), "floor_divide_": (0.3,), "multiply_": (3.0,), "divide_": (3.0,),
         "subtract_": (3.0,), "cumsum_": (0,), "cumprod_": (0,)}
_DIFFERENTIABLE = {"acos_", "asin_", "atan_", "cosh_", "sinh_", "tan_", "erf_", "log2_", "log10_", "arccos_",
                   "arcsin_", "arctan_", "absolute_", "negative_", "fmod_", "remainder_", "multiply_", "divide_",
                   "subtract_", "cumsum_", "cumprod_"}


@pytest.mark.parametrize("name", _VALUE_INPLACE)
def test_more_in_place_variants_match_torch(name):
    x0 = np.array([0.2, 0.5, 0.7, 0.85])     # away from fmod's jumps at multiples of 0.3
    args = _ARGS.get(name, (engine.tensor([0.5, 0.5, 0.1, 0.9], dtype=engine.float64),)
                     if name[:-1] in ("eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                                      "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor")
                     else ())
    x = engine.tensor(x0)
    r = getattr(x, name)(*args)
    assert r is x
    if name in _DIFFERENTIABLE:
        def f(t):
            u = t * 1
            return getattr(u, name)(*args)
        assert gradcheck(f, (engine.tensor(x0, requires_grad=True),))
    if torch is None:
        return
    targs = tuple(torch.tensor(a.numpy()) if isinstance(a, engine.Tensor) else a for a in args)
    tx = torch.tensor(x0)
    getattr(tx, name)(*targs)
    np.testing.assert_allclose(x.numpy(), tx.numpy(), rtol=1e-12)
    if name in _DIFFERENTIABLE:
        grads = []
        for lib, a in ((engine, args), (torch, targs)):
            w = lib.tensor(x0, requires_grad=True)
            u = w * 1
            getattr(u, name)(*a)
            u.sum().backward()
            grads.append(w.grad.numpy())
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


@needs_torch
def test_torch_level_in_place_functions_are_torchs():
    for name in ("acos_", "asin_", "atan_", "cosh_", "sinh_", "tan_", "erf_", "log2_", "log10_", "arccos_",
                 "arcsin_", "arctan_", "negative_"):
        assert hasattr(torch, name) and callable(getattr(engine, name)), name
    for name in ("eq_", "cumsum_", "fmod_", "unsqueeze_", "t_", "absolute_", "multiply_"):
        assert not hasattr(engine, name) and not hasattr(torch, name), name


# ----------------------------------------------------------------------------- the same on (fake) CUDA
from tests.test_engine_fake_cuda import fake_cuda  # noqa: E402,F401  (the fixture)


def test_out_in_place_svd_and_accelerator_on_fake_cuda(fake_cuda):  # noqa: F811
    assert engine.accelerator.is_available() and engine.accelerator.device_count() >= 1
    assert engine.accelerator.current_accelerator() == engine.device("cuda")
    a = engine.arange(4.0, device="cuda").reshape(2, 2)
    o = engine.zeros(2, 2, device="cuda")
    assert engine.matmul(a, a, out=o) is o and o.is_cuda
    assert o.cpu().tolist() == [[2.0, 3.0], [6.0, 11.0]]
    b = a * 1
    b.unsqueeze_(0)
    assert b.shape == (1, 2, 2) and b.is_cuda
    c = engine.tensor([0.1, 0.5], device="cuda")
    c.asin_()
    np.testing.assert_allclose(c.cpu().numpy(), np.arcsin([0.1, 0.5]).astype(np.float32), rtol=1e-6)
    u, s, v = engine.svd(engine.tensor([[3.0, 0.0], [0.0, 2.0]], device="cuda"))
    assert s.is_cuda and s.cpu().tolist() == [3.0, 2.0] and v.is_cuda
    t = engine.tensor([1.0, 2.0], device="cuda")
    t[0] = engine.tensor([[5.0]], device="cuda")
    assert t.cpu().tolist() == [5.0, 2.0]


# ----------------------------------------------------------------------------- torch.functional
def test_torch_functional_module_holds_engines_functions():
    import engine.functional as F
    assert F.einsum is engine.einsum and F.split is engine.split and F.meshgrid is engine.meshgrid
    assert engine.broadcast_shapes is F.broadcast_shapes


@needs_torch
@pytest.mark.parametrize("shapes", [((2, 1), (3,), 1), ((2, 3), (4,)), (5, (3, 1)), ((1, 4), (3, 1), (2, 1, 1)),
                                    ((2, 3), (3, 2)), ()])
def test_broadcast_shapes_matches_torch(shapes):
    try:
        want = repr(torch.broadcast_shapes(*shapes))
    except RuntimeError as e:
        with pytest.raises(RuntimeError) as got:
            engine.broadcast_shapes(*shapes)
        assert str(got.value) == str(e)
        return
    assert repr(engine.broadcast_shapes(*shapes)) == want
