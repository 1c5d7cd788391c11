"""Names and behaviours that public PyTorch tutorials and examples reach for, found by running
them with `import engine as torch` (their code is not here: these are our own small cases).
Each case compares with PyTorch where it is installed."""
import io
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
