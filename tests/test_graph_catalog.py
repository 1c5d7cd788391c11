"""The node catalog: one table drives the palette, the file format and the runtime.

Every op kind declares sample inputs; these tests build and run each kind on them, with
the embedded engine and, where it is installed, with PyTorch (the catalog only calls
functions by their PyTorch names, so both must work).
"""
import importlib

import pytest

from gradstudio.graph.catalog import (
    CATALOG, CATEGORIES, EngineMissing, NodeRunError, check_broadcast, engine_attr,
    parse_index)
from gradstudio.graph.catalog_types import DATASET, TENSOR

ENGINES = []
for name in ("engine", "torch"):
    try:
        module = importlib.import_module(name)
    except ImportError:
        continue
    if hasattr(module, "tensor"):
        ENGINES.append(module)

RUNNABLE = sorted(kind for kind, spec in CATALOG.items() if spec.sample_inputs)


def sample_value(E, sample):
    if isinstance(sample, tuple):
        E.manual_seed(0)
        return E.randn(sample, dtype=E.float64)
    return E.tensor(sample, dtype=E.float64)


def run_on_samples(E, spec):
    params = spec.default_params() | dict(spec.sample_params)
    inputs = {port: sample_value(E, sample) for port, sample in spec.sample_inputs}
    module = None
    if spec.make_module is not None:
        module = spec.make_module(E, params)
        module = module.double() if hasattr(module, "double") else module
    return spec.run(E, inputs, params, module)


def test_every_kind_is_in_a_category_and_has_unique_ports():
    assert "tensor" in CATALOG and "backward" in CATALOG and "nn.Linear" in CATALOG
    for kind, spec in CATALOG.items():
        assert spec.kind == kind
        assert spec.category in CATEGORIES
        names = [p.name for p in spec.inputs] + [p.name for p in spec.outputs]
        assert len(set(p.name for p in spec.inputs)) == len(spec.inputs), kind
        assert len(set(p.name for p in spec.params)) == len(spec.params), kind
        assert names, kind


def test_every_issue_op_is_listed():
    ops = ("add sub mul div neg pow exp log sqrt abs sin cos tanh sigmoid relu clamp maximum "
           "minimum where sum mean prod max min amax norm var std logsumexp softmax "
           "log_softmax cumsum matmul mm bmm reshape flatten transpose permute squeeze "
           "unsqueeze expand cat stack index gather flip detach clone").split()
    layers = ("Linear Conv2d MaxPool2d Flatten Dropout BatchNorm1d LayerNorm Embedding ReLU "
              "LeakyReLU GELU Softplus Sigmoid Tanh Softmax LogSoftmax").split()
    losses = ("mse_loss l1_loss binary_cross_entropy binary_cross_entropy_with_logits "
              "cross_entropy nll_loss huber_loss smooth_l1_loss").split()
    missing = [k for k in ops + [f"nn.{n}" for n in layers] + losses if k not in CATALOG]
    assert missing == []


def test_every_op_declares_samples_for_all_required_inputs():
    for kind in RUNNABLE:
        spec = CATALOG[kind]
        given = {port for port, _ in spec.sample_inputs}
        required = {p.name for p in spec.inputs if not p.optional}
        assert required <= given, kind
        assert given <= {p.name for p in spec.inputs}, kind
        assert set(dict(spec.sample_params)) <= set(spec.default_params()), kind


@pytest.mark.parametrize("E", ENGINES, ids=lambda m: m.__name__)
@pytest.mark.parametrize("kind", RUNNABLE)
def test_every_op_runs_on_its_samples(E, kind):
    try:
        outputs = run_on_samples(E, CATALOG[kind])
    except EngineMissing as exc:
        pytest.skip(str(exc))
    spec = CATALOG[kind]
    assert "out" in outputs
    assert set(outputs) <= {p.name for p in spec.outputs}
    for value in outputs.values():
        assert value.dtype is not None and tuple(value.shape) is not None


@pytest.mark.parametrize("E", ENGINES, ids=lambda m: m.__name__)
def test_leaf_tensor_from_value_and_from_init(E):
    spec = CATALOG["tensor"]
    make = lambda **p: spec.run(E, {}, spec.default_params() | p)["out"]
    x = make(value=2.0, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.item() == 2.0
    assert make(init="eye", shape=[3]).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert make(init="arange", shape=[2, 2]).tolist() == [[0, 1], [2, 3]]
    assert make(init="full", shape=[2], fill_value=7.0).tolist() == [7, 7]
    assert make(value=[1.0], dtype="float64").dtype == E.float64
    first, again = make(init="randn", shape=[3], seed=4), make(init="randn", shape=[3], seed=4)
    assert first.tolist() == again.tolist()
    with pytest.raises(NodeRunError, match="negative"):
        make(init="zeros", shape=[-1, 2])


@pytest.mark.parametrize("E", ENGINES, ids=lambda m: m.__name__)
def test_binary_op_uses_scalar_when_its_port_is_unconnected(E):
    spec = CATALOG["mul"]
    x = E.tensor([2.0])
    assert spec.run(E, {"input": x}, spec.default_params() | {"scalar": 3.0})["out"].tolist() == [6.0]
    assert spec.run(E, {"input": x, "other": E.tensor([4.0])},
                    spec.default_params())["out"].tolist() == [8.0]


def test_shape_mismatch_names_both_shapes():
    class Shaped:
        def __init__(self, *shape):
            self.shape = shape
    with pytest.raises(NodeRunError, match=r"^mul: shapes \(2, 3\) and \(4,\) cannot broadcast$"):
        check_broadcast("mul", Shaped(2, 3), Shaped(4))
    check_broadcast("add", Shaped(2, 3), Shaped(3))


def test_missing_engine_function_is_named():
    import types
    fake = types.SimpleNamespace(tensor=lambda *a, **k: None)
    with pytest.raises(EngineMissing, match="^engine has no logsumexp$"):
        engine_attr(fake, "logsumexp")
    with pytest.raises(EngineMissing, match="^engine has no nn.functional.mse_loss$"):
        engine_attr(fake, "nn.functional.mse_loss")


def test_index_expressions_parse_without_eval():
    assert parse_index("0, 1:3") == (0, slice(1, 3))
    assert parse_index("..., ::2, None, -1") == (Ellipsis, slice(None, None, 2), None, -1)
    for bad in ("", "__import__('os')", "1:2:3:4", "a", "1.5", "0,,1"):
        with pytest.raises(ValueError):
            parse_index(bad)
    assert CATALOG["index"].param("index").validate("x") is not None
    assert CATALOG["index"].param("index").validate("0, :") is None


def test_ports_are_tensors_and_data_sources_give_datasets():
    assert all(p.type == TENSOR for s in CATALOG.values() for p in s.inputs)
    assert all(p.type == (DATASET if s.category == "Data" else TENSOR)
               for s in CATALOG.values() for p in s.outputs)
