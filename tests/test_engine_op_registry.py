"""The op registry (engine/ops/_registry.py) is the one source of engine.*, Tensor methods and
engine.ops.__all__, and every registered op has an op-table row or a stated reason not to."""
import pathlib
import sys

import pytest

import engine
from engine.ops._registry import OPS
from tests.test_engine_op_table import OPS as TABLE, make_inputs

# Registered ops the op table (gradcheck, gradgradcheck, torch compare, fake CUDA) does not run,
# each with the reason. A new op must get a row in tests/test_engine_op_table.py or a line here.
NOT_DIFFERENTIABLE = {   # results are integers/bools or constant almost everywhere
    "all", "any", "allclose", "argmax", "argmin", "argsort", "argwhere", "bincount", "bitwise_not", "count_nonzero",
    "equal", "isclose", "isfinite", "isinf", "isnan", "logical_not", "nonzero", "unique", "floor_divide",
    "heaviside", "heaviside_", "resize_", "eq", "ne", "not_equal", "ge", "greater_equal", "le", "less_equal",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bucketize", "histc", "isin", "searchsorted", "signbit", "apply_", "map_",
}
FACTORIES = {            # no tensor input to differentiate
    "arange", "as_tensor", "asarray", "empty", "empty_like", "from_numpy", "full", "linspace", "logspace", "ones",
    "ones_like", "zeros", "zeros_like", "tril_indices", "triu_indices",
}
RANDOM = {               # draws; tested against PyTorch's streams in test_engine_seeds.py / test_engine_generators.py
    "bernoulli", "bernoulli_", "exponential_", "multinomial", "normal", "normal_", "poisson", "rand", "rand_like",
    "randint", "randint_like", "randn", "randn_like", "random_", "randperm", "uniform_",
}
NO_ROW_YET = {           # differentiable ops without a row yet: their graph differs from PyTorch's (a bug each)
}


def _ops_called_by_the_op_table():
    """Names of the registered ops the op table's rows call (through any alias or operator)."""
    called = set()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_name in ("op", "operator") and "name" in frame.f_locals:
            called.add(frame.f_locals["name"])

    for row in TABLE:
        for shapes in row.samples:
            xs = [engine.tensor(a, dtype=engine.float64, requires_grad=True) for a in make_inputs(row, shapes)]
            sys.setprofile(profile)
            try:
                row.fn(engine, *xs)
            finally:
                sys.setprofile(None)
    return called


def test_every_registered_op_has_an_op_table_row():
    called = _ops_called_by_the_op_table()
    exempt = NOT_DIFFERENTIABLE | FACTORIES | RANDOM | set(NO_ROW_YET)
    covered = {n for n, o in OPS.items() if n in called or o.fn.__name__ in called}
    # an in-place variant (one make_inplace) shares its op's row; test_engine_ops_math.py and
    # test_engine_ops_shape.py compare the variants themselves with torch
    covered |= {n for n in OPS if n.endswith("_") and (n[:-1] in covered or n[:-1] in NOT_DIFFERENTIABLE)}
    missing = sorted(n for n in OPS if n not in covered and n not in exempt)
    assert missing == [], f"registered ops with no op-table row: {missing}"
    stale = sorted(n for n in covered if n in NO_ROW_YET)
    assert stale == [], f"ops listed as lacking a row that have one now: {stale}"


def test_engine_functions_and_tensor_methods_come_from_the_registry():
    functions = {n for n, o in OPS.items() if o.function}
    assert engine.ops.__all__ == sorted(functions)
    for name, o in OPS.items():
        if o.function:
            assert getattr(engine, name) is o.fn, name
        if o.method:
            assert getattr(engine.Tensor, name) is o.fn, name
        else:
            assert getattr(engine.Tensor, name, None) is not o.fn, name


def test_engine_public_names_are_pytorchs():
    torch = pytest.importorskip("torch")
    extras = {"backend", "printoptions", "get_printoptions", "ops", "datasets"}     # documented in docs/engine.md
    public = [n for n in dir(engine) if not n.startswith("_")]
    assert [n for n in public if not hasattr(torch, n) and n not in extras] == []
    assert not [n for n in public if "Backward" in n]


def test_one_node_class_per_op_module_name():
    """Each grad_fn class an op defines has one home: two families never define the same name."""
    seen = {}
    for path in sorted(pathlib.Path(engine.ops.__file__).parent.glob("*.py")):
        for line in path.read_text().splitlines():
            if line.startswith("class ") and "Backward" in line:
                name = line[6:].split("(")[0].split(":")[0]
                assert name not in seen, f"{name} in {seen.get(name)} and {path.name}"
                seen[name] = path.name


@pytest.mark.parametrize("make", [
    lambda: engine.tensor([1.0, 2.0]) * 2.0,
    lambda: engine.tensor([1.0, 2.0], requires_grad=True) * 2.0,
    lambda: engine.tensor([1.0, 2.0]) * engine.tensor([3.0, 4.0]),
    lambda: engine.tensor([1.0, 2.0], requires_grad=True).exp(),
    lambda: engine.tensor([1.0, 2.0], requires_grad=True).view(2, 1),
])
def test_op_results_have_every_tensor_slot(make):
    t = make()
    for slot in engine.Tensor.__slots__:
        if slot != "__weakref__":
            getattr(t, slot)      # an unset slot raises AttributeError


def test_no_engine_file_is_over_1200_lines():
    root = pathlib.Path(engine.__file__).parent
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if (n := p.read_text().count("\n")) > 1200}
    assert long == {}


def test_submodule_ops_are_registered_beside_their_definition_and_exported_by_their_module():
    """engine.linalg's and engine.nn.functional's ops come from the same registry (namespace=...),
    are the functions those modules export, and are neither engine.* functions nor Tensor methods."""
    import engine.linalg
    import engine.nn.functional as F
    from engine.ops._registry import NAMESPACES
    modules = {"linalg": engine.linalg, "nn.functional": F}
    assert {"conv2d", "max_pool2d", "linear", "layer_norm", "batch_norm", "embedding", "mse_loss",
            "cross_entropy", "relu"} <= set(NAMESPACES["nn.functional"])
    assert {"vector_norm", "matrix_norm", "norm", "linalg_cross"} <= set(NAMESPACES["linalg"])
    for space, table in NAMESPACES.items():
        for name, o in table.items():
            public = "cross" if name == "linalg_cross" else name
            if not (space == "nn.functional" and name == "conv2d"):     # _functional_extra's conv2d adds groups
                assert getattr(modules[space], public) is o.fn, f"{space}.{name}"
            assert not o.function and not o.method
            assert getattr(engine.Tensor, name, None) is not o.fn
    assert engine.ops.nn.conv2d is NAMESPACES["nn.functional"]["conv2d"].fn
