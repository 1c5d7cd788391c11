"""The node catalog: every node kind gradstudio knows, generated from one table.

`CATALOG` maps a kind (the stable key written in files) to its `NodeSpec`. The palette,
the file format's validation and the runtime all read this table, so adding a row here
adds a node kind everywhere with no other edit.

A spec's `build(engine, inputs, params)` calls the engine by name at run time (the
engine is passed in, never imported here), so a kind whose engine function does not
exist yet is still listed and fails only when run, with `EngineMissing`: "engine has no
logsumexp". Layers (`nn.Linear`, ...) have a `make_module` step; the runtime makes the
module once per node, seeded by the node's `seed`, and passes it to `build`.

Kinds: leaves (`tensor`, `parameter`), data (`dataset`, `csv`), the backward root
(`backward`), ops named as the engine's functions (`add`, `matmul`, `index`, ...),
layers named as engine.nn's classes (`nn.Linear`, `nn.ReLU`, ...) and losses named as
engine.nn.functional's functions (`mse_loss`, `cross_entropy`, ...).
"""
from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import Any, Callable

import numpy as np

from gradstudio.graph.csv_files import csv_arrays, csv_target
from gradstudio.graph.catalog_types import (
    BOOL, CHOICE, DATASET, FLOAT, INT, PATH, SHAPE, STR, TENSOR_VALUE, NodeSpec, ParamSpec,
    PortSpec, python_literal)

# Limits a file or a parameter may not exceed (checked when a file loads and at run time).
MAX_ELEMENTS = 10_000_000      # elements of one tensor made from a shape
MAX_VALUE_ELEMENTS = 1_000_000  # numbers written out literally in one tensor value
MAX_RANK = 8                   # dimensions of a shape or nesting depth of a value

DATASETS = ("xor", "line", "blobs", "moons", "circles", "spirals")
INITS = ("value", "zeros", "ones", "randn", "rand", "eye", "arange", "full")
DTYPES = ("float32", "float64")
REDUCTIONS = ("mean", "sum", "none")


class NodeRunError(ValueError):
    """A node cannot run on these inputs; the message is one sentence for the person."""


class EngineMissing(NodeRunError):
    """The engine lacks the function a node kind calls."""


# --------------------------------------------------------------------------- engine access
def engine_attr(engine: Any, path: str) -> Any:
    """`engine_attr(engine, "nn.functional.mse_loss")`, or EngineMissing naming the path."""
    obj = engine
    for part in path.split("."):
        found = getattr(obj, part, None)
        if found is None and isinstance(obj, ModuleType):
            try:
                found = importlib.import_module(f"{obj.__name__}.{part}")
            except ImportError:
                found = None
        if found is None:
            raise EngineMissing(f"engine has no {path}")
        obj = found
    return obj


def tensor_method(tensor: Any, name: str) -> Callable:
    method = getattr(tensor, name, None)
    if method is None:
        raise EngineMissing(f"engine tensors have no .{name}()")
    return method


def shape_text(value: Any) -> str:
    return str(tuple(int(n) for n in value.shape))


def check_broadcast(kind: str, *tensors: Any) -> None:
    """Raises NodeRunError "mul: shapes (2, 3) and (4,) cannot broadcast"."""
    shapes = [tuple(t.shape) for t in tensors if hasattr(t, "shape")]
    if all(shape == shapes[0] for shape in shapes):
        return
    shapes = [tuple(int(n) for n in shape) for shape in shapes]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise NodeRunError(f"{kind}: shapes {listed} cannot broadcast") from None


# --------------------------------------------------------------------------- parameter checks
def parse_index(text: str) -> tuple:
    """Parses an index expression such as "0, 1:3", "..., ::2" or "None, -1" without eval."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an index expression such as '0, 1:3' is required")
    items: list[Any] = []
    for raw in text.split(","):
        part = raw.strip()
        if part == "...":
            items.append(Ellipsis)
        elif part == "None":
            items.append(None)
        elif ":" in part:
            bounds = part.split(":")
            if len(bounds) > 3:
                raise ValueError(f"'{part}' has too many ':'")
            numbers = [_index_int(b.strip(), part) if b.strip() else None for b in bounds]
            items.append(slice(*numbers))
        else:
            items.append(_index_int(part, part))
    return tuple(items)


def _index_int(text: str, part: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit() or len(body) > 18:
        raise ValueError(f"'{part}' is not an integer, a slice, '...' or 'None'")
    return int(text)


def _index_problem(text: Any) -> str | None:
    try:
        parse_index(text)
    except ValueError as exc:
        return f"{exc}; write an index such as 0, 1:3 or ..., -1"
    return None


# --------------------------------------------------------------------------- leaves and data
def _to_float(value: Any) -> Any:
    if isinstance(value, list):
        return [_to_float(v) for v in value]
    return float(value)


def make_tensor(engine: Any, params: dict, device: str | None = None) -> Any:
    """The tensor a leaf's parameters describe (value, or shape + init), before requires_grad."""
    dtype = engine_attr(engine, params.get("dtype", "float32"))
    init = params.get("init", "value")
    options = {"dtype": dtype} if device is None else {"dtype": dtype, "device": device}
    if init == "value":
        return engine_attr(engine, "tensor")(_to_float(params["value"]), **options)
    shape = tuple(int(n) for n in params["shape"])
    if any(n < 0 for n in shape):
        raise NodeRunError(f"tensor: shape {list(shape)} has a negative size")
    if math.prod(shape) > MAX_ELEMENTS:
        raise NodeRunError(f"tensor: shape {list(shape)} has more than {MAX_ELEMENTS} elements")
    if init in ("randn", "rand"):
        engine_attr(engine, "manual_seed")(int(params.get("seed", 0)))
    if init == "eye":
        if len(shape) not in (1, 2):
            raise NodeRunError(f"tensor: eye needs a shape of one or two sizes, not {list(shape)}")
        return engine_attr(engine, "eye")(*shape, **options)
    if init == "arange":
        flat = engine_attr(engine, "arange")(math.prod(shape), **options)
        return tensor_method(flat, "reshape")(shape)
    if init == "full":
        return engine_attr(engine, "full")(shape, float(params.get("fill_value", 0.0)), **options)
    return engine_attr(engine, init)(shape, **options)


def _build_tensor(engine, inputs, params):
    tensor = make_tensor(engine, params)
    if params["requires_grad"]:
        tensor_method(tensor, "requires_grad_")(True)
    return {"out": tensor}


def _build_parameter(engine, inputs, params):
    return {"out": engine_attr(engine, "nn.Parameter")(make_tensor(engine, params))}


def _build_dataset(engine, inputs, params):
    make = engine_attr(engine, f"datasets.{params['name']}")
    x, y = make(n_samples=params["n_samples"], noise=params["noise"], seed=params["seed"])
    return {"x": x, "y": y}


def _build_csv(engine, inputs, params):
    x, y = csv_arrays(engine, params["path"], csv_target(params))
    from_numpy = engine_attr(engine, "from_numpy")      # copies: the cached arrays stay as read
    return {"x": from_numpy(x.copy()), "y": from_numpy(y.copy())}


# --------------------------------------------------------------------------- table helpers
INPUT = PortSpec("input")
OTHER = PortSpec("other")
RETAIN_GRAD = ParamSpec("retain_grad", BOOL, False,
                        doc="keep .grad of this non-leaf result after backward")


def _dim(default: int | None = None, nullable: bool = True) -> ParamSpec:
    return ParamSpec("dim", INT, default, nullable=nullable,
                     doc="dimension to work along" + (" (empty: all)" if nullable else ""))


KEEPDIM = ParamSpec("keepdim", BOOL, False, doc="keep reduced dimensions with size 1")


def _spec(kind, title, category, build, inputs=(INPUT,), params=(), outputs=("out",),
          samples=(), sample_params=(), doc="", keywords=(), code=None) -> NodeSpec:
    """One op row: `build(engine, inputs, params)` may return one value for port "out";
    `code` is its export template (see NodeSpec)."""

    def run(engine, given, values):
        result = build(engine, given, values)
        return result if isinstance(result, dict) else {"out": result}

    return NodeSpec(kind=kind, title=title, category=category, inputs=tuple(inputs),
                    outputs=tuple(PortSpec(name) for name in outputs),
                    params=tuple(params) + (RETAIN_GRAD,), build=run, doc=doc,
                    keywords=tuple(keywords), sample_inputs=tuple(samples),
                    sample_params=tuple(sample_params), code=code)


def _unary(name, category="Math", doc="", keywords=(), sample=(2, 3)):
    return _spec(name, name, category, lambda E, i, p: engine_attr(E, name)(i["input"]),
                 samples=(("input", sample),), doc=doc or f"elementwise {name}",
                 keywords=keywords, code=f"torch.{name}({{input}})")


_OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def _with_scalar(name, port, default, doc, keywords=(), sample=(2, 3)):
    """A binary op whose second operand is a port, or the `scalar` parameter when unconnected."""
    def code(i, p):
        operand = i.get(port) or python_literal(float(p["scalar"]))
        return f"{i['input']} {_OPERATORS[name]} {operand}"

    def build(E, i, p):
        if port in i:
            check_broadcast(name, i["input"], i[port])
            return engine_attr(E, name)(i["input"], i[port])
        return engine_attr(E, name)(i["input"], float(p["scalar"]))

    refuses = ("an exponent is a number or a tensor of exponents, not a dataset's samples"
               if name == "pow" else "")
    return _spec(name, name, "Math", build,
                 inputs=(INPUT, PortSpec(port, optional=True,
                                         doc="when unconnected, the scalar parameter",
                                         refuses_data=refuses)),
                 params=(ParamSpec("scalar", FLOAT, default, doc=f"{port} when unconnected"),),
                 samples=(("input", sample), (port, (3,))), doc=doc, keywords=keywords,
                 code=code)


def _binary(name, category="Math", doc="", samples=(("input", (2, 3)), ("other", (3,))),
            broadcast=True):
    def build(E, i, p):
        if broadcast:
            check_broadcast(name, i["input"], i["other"])
        return engine_attr(E, name)(i["input"], i["other"])

    return _spec(name, name, category, build, inputs=(INPUT, OTHER), samples=samples, doc=doc,
                 code=f"torch.{name}({{input}}, {{other}})")


def _reduction(name, doc, with_indices=False, sample=(2, 3)):
    def build(E, i, p):
        fn = engine_attr(E, name)
        if p["dim"] is None:
            return fn(i["input"])
        result = fn(i["input"], p["dim"], keepdim=p["keepdim"])
        if with_indices:
            return {"out": result[0], "indices": result[1]}
        return result

    def code(i, p):
        if p["dim"] is None:
            return f"torch.{name}({i['input']})" + (", None" if with_indices else "")
        return f"torch.{name}({i['input']}, {p['dim']}, keepdim={p['keepdim']})"

    return _spec(name, name, "Reductions", build, params=(_dim(), KEEPDIM),
                 outputs=("out", "indices") if with_indices else ("out",),
                 samples=(("input", sample),), sample_params=(("dim", 1),), doc=doc, code=code)


def _along_dim(name, category, doc, default_dim=-1):
    return _spec(name, name, category,
                 lambda E, i, p: engine_attr(E, name)(i["input"], p["dim"]),
                 params=(_dim(default_dim, nullable=False),),
                 samples=(("input", (2, 3)),), doc=doc, code=f"torch.{name}({{input}}, {{dim}})")


def _joined(name, doc):
    ports = tuple(PortSpec(f"t{k}", optional=k >= 2) for k in range(4))

    def build(E, i, p):
        tensors = [i[port.name] for port in ports if port.name in i]
        return engine_attr(E, name)(tensors, p["dim"])

    def code(i, p):
        return f"torch.{name}([{', '.join(i[q.name] for q in ports if q.name in i)}], {p['dim']})"

    return _spec(name, name, "Shape", build, inputs=ports,
                 params=(_dim(0, nullable=False),),
                 samples=(("t0", (2, 3)), ("t1", (2, 3)), ("t2", (2, 3))), doc=doc, code=code)


def _clamp(E, i, p):
    return engine_attr(E, "clamp")(i["input"], min=p["min"], max=p["max"])


def _clamp_code(i, p):
    return f"torch.clamp({i['input']}, min={python_literal(p['min'])}, " \
           f"max={python_literal(p['max'])})"


def _where(E, i, p):
    condition = i["condition"]
    if str(getattr(condition, "dtype", "")).split(".")[-1] != "bool":
        condition = condition != 0
    check_broadcast("where", condition, i["input"], i["other"])
    return engine_attr(E, "where")(condition, i["input"], i["other"])


def _norm(E, i, p):
    if p["dim"] is None:
        return engine_attr(E, "norm")(i["input"], p=p["p"])
    return engine_attr(E, "norm")(i["input"], p=p["p"], dim=p["dim"], keepdim=p["keepdim"])


def _norm_code(i, p):
    if p["dim"] is None:
        return f"torch.norm({i['input']}, p={python_literal(p['p'])})"
    return f"torch.norm({i['input']}, p={python_literal(p['p'])}, dim={p['dim']}, " \
           f"keepdim={p['keepdim']})"


def _spread(name):
    def build(E, i, p):
        fn = engine_attr(E, name)
        if p["dim"] is None:
            return fn(i["input"], correction=p["correction"])
        return fn(i["input"], p["dim"], correction=p["correction"], keepdim=p["keepdim"])
    return build


def _spread_code(name):
    def code(i, p):
        if p["dim"] is None:
            return f"torch.{name}({i['input']}, correction={p['correction']})"
        return f"torch.{name}({i['input']}, {p['dim']}, correction={p['correction']}, " \
               f"keepdim={p['keepdim']})"
    return code


def _squeeze(E, i, p):
    fn = engine_attr(E, "squeeze")
    return fn(i["input"]) if p["dim"] is None else fn(i["input"], p["dim"])


def _squeeze_code(i, p):
    return f"torch.squeeze({i['input']})" if p["dim"] is None \
        else f"torch.squeeze({i['input']}, {p['dim']})"


def _index(E, i, p):
    try:
        key = parse_index(p["index"])
    except ValueError as exc:
        raise NodeRunError(f"index: {exc}") from None
    return i["input"][key]


def index_text(key: tuple) -> str:
    """A parsed index written back as Python: (1, slice(None, None, 2)) -> "1, ::2"."""
    def item(k):
        if isinstance(k, slice):
            text = ":".join("" if b is None else str(b) for b in (k.start, k.stop, k.step))
            return text[:-1] if k.step is None else text
        return "..." if k is Ellipsis else str(k)
    return ", ".join(item(k) for k in key)


def _index_code(i, p):
    return f"{i['input']}[{index_text(parse_index(p['index']))}]"


def _gather(E, i, p):
    index = tensor_method(i["index"], "long")()
    return engine_attr(E, "gather")(i["input"], p["dim"], index)


def _grad(E, i, p):
    output, wrt = i["output"], i["input"]
    if not getattr(wrt, "requires_grad", False):
        raise NodeRunError("grad: input does not require grad (make it with requires_grad_)")
    ones = engine_attr(E, "ones_like")(output)
    return engine_attr(E, "autograd.grad")(output, wrt, grad_outputs=ones,
                                           create_graph=bool(p["create_graph"]))[0]


def _grad_code(i, p):
    return f"torch.autograd.grad({i['output']}, {i['input']}, " \
           f"grad_outputs=torch.ones_like({i['output']}), create_graph={p['create_graph']})[0]"


def _loss(name, title, extra=(), samples=(("input", (4, 3)), ("target", (4, 3))),
          class_targets=False, keywords=()):
    def build(E, i, p):
        target = i["target"]
        if class_targets and tuple(target.shape) != tuple(i["input"].shape):
            target = tensor_method(target, "long")()
        options = {q.name: p[q.name] for q in extra}
        return engine_attr(E, f"nn.functional.{name}")(i["input"], target,
                                                       reduction=p["reduction"], **options)

    def code(i, p):
        target = i["target"]
        if class_targets:
            target = f"{target} if {target}.shape == {i['input']}.shape else {target}.long()"
        options = "".join(f", {q.name}={python_literal(p[q.name])}" for q in extra)
        return f"F.{name}({i['input']}, {target}, " \
               f"reduction={python_literal(p['reduction'])}{options})"

    return _spec(name, title, "Losses", build, inputs=(INPUT, PortSpec("target")),
                 params=(ParamSpec("reduction", CHOICE, "mean", REDUCTIONS),) + tuple(extra),
                 samples=samples, doc=f"{title} (engine.nn.functional.{name})",
                 keywords=keywords, code=code)


# --------------------------------------------------------------------------- layers
SEED = ParamSpec("seed", INT, 0, minimum=0, maximum=2**31 - 1,
                 doc="random seed for the initial weights")


def _layer(cls, title, params=(), make=None, samples=(("input", (4, 2)),), sample_params=(),
           category="Layers", seeded=False, index_input=False, keywords=(), module_code=None):
    """A row for `engine.nn.<cls>`: make(E, params) builds it (default: no arguments) and
    module_code writes that construction for export (default: "torch.nn.<cls>()").
    index_input: the input holds positions, converted to integers first (Embedding)."""
    construct = make or (lambda E, p: engine_attr(E, f"nn.{cls}")())

    def make_module(E, p):
        if seeded:
            engine_attr(E, "manual_seed")(int(p["seed"]))
        return construct(E, p)

    def build(E, i, p, module):
        given = tensor_method(i["input"], "long")() if index_input else i["input"]
        return {"out": module(given)}

    return NodeSpec(kind=f"nn.{cls}", title=title, category=category, inputs=(INPUT,),
                    params=tuple(params) + ((SEED,) if seeded else ()) + (RETAIN_GRAD,),
                    build=build, make_module=make_module, doc=f"engine.nn.{cls}",
                    keywords=tuple(keywords) + (cls.lower(),), sample_inputs=tuple(samples),
                    sample_params=tuple(sample_params),
                    code="{module}({input}.long())" if index_input else "{module}({input})",
                    module_code=module_code or f"torch.nn.{cls}()")


def _nn(cls: str, *names: str, **fixed) -> Callable:
    """make(E, params) = engine.nn.<cls>(*params[names], **fixed)."""
    return lambda E, p: engine_attr(E, f"nn.{cls}")(*(p[n] for n in names), **fixed)


def _linear(E, p):
    return engine_attr(E, "nn.Linear")(p["in_features"], p["out_features"], bias=p["bias"])


def _conv2d(E, p):
    return engine_attr(E, "nn.Conv2d")(p["in_channels"], p["out_channels"], p["kernel_size"],
                                       stride=p["stride"], padding=p["padding"], bias=p["bias"])


def _positive(name, default, doc=""):
    return ParamSpec(name, INT, default, minimum=1, maximum=1_000_000, doc=doc)


# --------------------------------------------------------------------------- the table
_LEAF_PARAMS = (
    ParamSpec("value", TENSOR_VALUE, 0.0, doc="a number or a nested list (init 'value')"),
    ParamSpec("init", CHOICE, "value", INITS, doc="'value' uses value; others use shape"),
    ParamSpec("shape", SHAPE, [2, 2], doc="sizes, for every init but 'value'"),
    ParamSpec("fill_value", FLOAT, 0.0, doc="for init 'full'"),
    ParamSpec("dtype", CHOICE, "float32", DTYPES),
    ParamSpec("seed", INT, 0, minimum=0, maximum=2**31 - 1, doc="for init 'randn' / 'rand'"),
)

TABLE: tuple[NodeSpec, ...] = (
    # Leaves, data and the backward root
    NodeSpec("tensor", "Tensor", "Leaves",
             params=_LEAF_PARAMS + (
                 ParamSpec("requires_grad", BOOL, False, doc="record operations for backward"),
                 ParamSpec("retain_grad", BOOL, False, doc="(leaves keep .grad anyway)")),
             build=_build_tensor, doc="a leaf tensor from a value, or a shape and an init",
             keywords=("leaf", "constant", "input", "variable")),
    NodeSpec("parameter", "Parameter", "Leaves",
             params=tuple(ParamSpec("init", CHOICE, "randn", INITS, doc=p.doc)
                          if p.name == "init" else p for p in _LEAF_PARAMS),
             build=_build_parameter, doc="engine.nn.Parameter: a leaf that requires grad",
             keywords=("weight", "leaf")),
    NodeSpec("dataset", "Dataset", "Data", outputs=(PortSpec("x", DATASET),
                                                    PortSpec("y", DATASET)),
             params=(ParamSpec("name", CHOICE, "xor", DATASETS),
                     ParamSpec("n_samples", INT, 200, minimum=1, maximum=1_000_000),
                     ParamSpec("noise", FLOAT, 0.1, minimum=0.0),
                     ParamSpec("seed", INT, 0, minimum=0, maximum=2**31 - 1)),
             build=_build_dataset, doc="a built-in 2-D dataset (engine.datasets)",
             keywords=DATASETS),
    NodeSpec("csv", "CSV file", "Data", outputs=(PortSpec("x", DATASET),
                                                 PortSpec("y", DATASET)),
             params=(ParamSpec("path", PATH, "data.csv", doc="relative to the graph file"),
                     ParamSpec("target", STR, "",
                               doc="the target column: a header name or an index; "
                                   "empty: the last column")),
             build=_build_csv, doc="features x and target y from a CSV file",
             keywords=("file", "table", "load")),
    NodeSpec("backward", "Backward", "Output",
             inputs=(PortSpec("input", doc="the tensor backward starts from",
                              refuses_data="backward starts from a result that requires "
                                           "grad, and a dataset's samples never do"),
                     PortSpec("gradient", optional=True,
                              doc="d(root)/d(input) for a non-scalar input")),
             outputs=(),
             params=(ParamSpec("retain_graph", BOOL, False,
                               doc="keep the graph so backward can run again"),),
             doc="runs input.backward(gradient, retain_graph)", keywords=("root", "output")),

    # Elementwise math
    _with_scalar("add", "other", 0.0, "input + other", ("plus", "+")),
    _with_scalar("sub", "other", 0.0, "input - other", ("minus", "subtract", "-")),
    _with_scalar("mul", "other", 1.0, "input * other", ("times", "multiply", "*")),
    _with_scalar("div", "other", 1.0, "input / other", ("divide", "/")),
    _with_scalar("pow", "exponent", 2.0, "input ** exponent", ("power", "square", "**"),
                 sample=[[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]]),
    _unary("neg", doc="-input", keywords=("minus", "negative")),
    _unary("exp"),
    _unary("log", sample=[[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]]),
    _unary("sqrt", sample=[[0.5, 1.0, 2.0], [3.0, 4.0, 5.0]]),
    _unary("abs", sample=[[-0.5, 1.0, -2.0], [3.0, -4.0, 5.0]]),
    _unary("sin"),
    _unary("cos"),
    _unary("tanh", "Activations"),
    _unary("sigmoid", "Activations", keywords=("logistic",)),
    _unary("relu", "Activations", sample=[[-0.5, 1.0, -2.0], [3.0, -4.0, 5.0]]),
    _spec("clamp", "clamp", "Math", _clamp,
          params=(ParamSpec("min", FLOAT, None, nullable=True),
                  ParamSpec("max", FLOAT, None, nullable=True)),
          samples=(("input", [[-0.5, 1.0, -2.0], [3.0, -4.0, 5.0]]),),
          sample_params=(("min", -1.0), ("max", 2.0)), doc="limit to [min, max]",
          keywords=("clip",), code=_clamp_code),
    _binary("maximum", doc="elementwise larger of the two"),
    _binary("minimum", doc="elementwise smaller of the two"),
    _spec("where", "where", "Math", _where,
          inputs=(PortSpec("condition", doc="nonzero picks input"), INPUT, OTHER),
          samples=(("condition", [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),
                   ("input", (2, 3)), ("other", (2, 3))),
          doc="input where condition, else other", keywords=("select", "if"),
          code="torch.where({condition} != 0, {input}, {other})"),

    # Reductions
    _reduction("sum", "sum of elements", sample=(2, 3)),
    _reduction("mean", "mean of elements", sample=(2, 3)),
    _reduction("prod", "product of elements", sample=(2, 3)),
    _reduction("max", "largest element (and its index along dim)", with_indices=True),
    _reduction("min", "smallest element (and its index along dim)", with_indices=True),
    _reduction("amax", "largest element"),
    _spec("norm", "norm", "Reductions", _norm,
          params=(ParamSpec("p", FLOAT, 2.0), _dim(), KEEPDIM),
          samples=(("input", (2, 3)),), doc="p-norm", keywords=("length", "magnitude"),
          code=_norm_code),
    _spec("var", "var", "Reductions", _spread("var"),
          params=(_dim(), ParamSpec("correction", INT, 1, minimum=0), KEEPDIM),
          samples=(("input", (2, 3)),), doc="variance", keywords=("variance",),
          code=_spread_code("var")),
    _spec("std", "std", "Reductions", _spread("std"),
          params=(_dim(), ParamSpec("correction", INT, 1, minimum=0), KEEPDIM),
          samples=(("input", (2, 3)),), doc="standard deviation", keywords=("deviation",),
          code=_spread_code("std")),
    _spec("logsumexp", "logsumexp", "Reductions",
          lambda E, i, p: engine_attr(E, "logsumexp")(i["input"], p["dim"], keepdim=p["keepdim"]),
          params=(_dim(-1, nullable=False), KEEPDIM), samples=(("input", (2, 3)),),
          doc="log(sum(exp(input))) along dim",
          code="torch.logsumexp({input}, {dim}, keepdim={keepdim})"),
    _along_dim("softmax", "Activations", "exp(x) / sum(exp(x)) along dim"),
    _along_dim("log_softmax", "Activations", "log(softmax(x)) along dim"),
    _along_dim("cumsum", "Reductions", "running sum along dim", default_dim=0),

    # Linear algebra
    _binary("matmul", "Linear algebra", "matrix product (1-D, 2-D, batched)",
            samples=(("input", (2, 3)), ("other", (3, 4))), broadcast=False),
    _binary("mm", "Linear algebra", "2-D matrix product",
            samples=(("input", (2, 3)), ("other", (3, 4))), broadcast=False),
    _binary("bmm", "Linear algebra", "batched matrix product",
            samples=(("input", (2, 2, 3)), ("other", (2, 3, 4))), broadcast=False),

    # Shape
    _spec("reshape", "reshape", "Shape",
          lambda E, i, p: engine_attr(E, "reshape")(i["input"], tuple(p["shape"])),
          params=(ParamSpec("shape", SHAPE, [-1], doc="-1: inferred"),),
          samples=(("input", (2, 3)),), sample_params=(("shape", [3, 2]),),
          doc="same elements, new shape", keywords=("view",),
          code=lambda i, p: f"torch.reshape({i['input']}, {python_literal(tuple(p['shape']))})"),
    _spec("flatten", "flatten", "Shape",
          lambda E, i, p: engine_attr(E, "flatten")(i["input"], p["start_dim"], p["end_dim"]),
          params=(ParamSpec("start_dim", INT, 0), ParamSpec("end_dim", INT, -1)),
          samples=(("input", (2, 3, 2)),), doc="merge dims start_dim..end_dim",
          code="torch.flatten({input}, {start_dim}, {end_dim})"),
    _spec("transpose", "transpose", "Shape",
          lambda E, i, p: engine_attr(E, "transpose")(i["input"], p["dim0"], p["dim1"]),
          params=(ParamSpec("dim0", INT, 0), ParamSpec("dim1", INT, 1)),
          samples=(("input", (2, 3)),), doc="swap two dims", keywords=("T",),
          code="torch.transpose({input}, {dim0}, {dim1})"),
    _spec("permute", "permute", "Shape",
          lambda E, i, p: engine_attr(E, "permute")(i["input"], tuple(p["dims"])),
          params=(ParamSpec("dims", SHAPE, [1, 0]),),
          samples=(("input", (2, 3)),), doc="reorder dims",
          code=lambda i, p: f"torch.permute({i['input']}, {python_literal(tuple(p['dims']))})"),
    _spec("squeeze", "squeeze", "Shape", _squeeze, params=(_dim(),),
          samples=(("input", (2, 1, 3)),), doc="drop dims of size 1", code=_squeeze_code),
    _spec("unsqueeze", "unsqueeze", "Shape",
          lambda E, i, p: engine_attr(E, "unsqueeze")(i["input"], p["dim"]),
          params=(_dim(0, nullable=False),), samples=(("input", (2, 3)),),
          doc="insert a dim of size 1", code="torch.unsqueeze({input}, {dim})"),
    _spec("expand", "expand", "Shape",
          lambda E, i, p: tensor_method(i["input"], "expand")(*p["shape"]),
          params=(ParamSpec("shape", SHAPE, [-1], doc="-1: keep that size"),),
          samples=(("input", (3, 1)),), sample_params=(("shape", [3, 4]),),
          doc="repeat dims of size 1 without copying", keywords=("broadcast",),
          code=lambda i, p: f"{i['input']}.expand({', '.join(str(n) for n in p['shape'])})"),
    _joined("cat", "join along an existing dim"),
    _joined("stack", "join along a new dim"),
    _spec("flip", "flip", "Shape",
          lambda E, i, p: engine_attr(E, "flip")(i["input"], tuple(p["dims"])),
          params=(ParamSpec("dims", SHAPE, [0]),), samples=(("input", (2, 3)),),
          doc="reverse the order along dims", keywords=("reverse",),
          code=lambda i, p: f"torch.flip({i['input']}, {python_literal(tuple(p['dims']))})"),

    # Indexing
    _spec("index", "index", "Indexing", _index,
          params=(ParamSpec("index", STR, "0", validate=_index_problem,
                            doc="e.g. '0, 1:3' or '..., ::2'"),),
          samples=(("input", (3, 4)),), sample_params=(("index", "1:, ::2"),),
          doc="input[index]: integers, slices, '...' and None", keywords=("slice", "[]"),
          code=_index_code),
    _spec("gather", "gather", "Indexing", _gather,
          inputs=(INPUT, PortSpec("index", doc="positions (converted to integers)")),
          params=(_dim(0, nullable=False),),
          samples=(("input", (2, 3)), ("index", [[0.0, 2.0], [1.0, 0.0]])),
          sample_params=(("dim", 1),), doc="pick values along dim at index",
          code="torch.gather({input}, {dim}, {index}.long())"),

    # Autograd
    _spec("detach", "detach", "Autograd", lambda E, i, p: tensor_method(i["input"], "detach")(),
          samples=(("input", (2, 3)),), doc="the same values, cut from the graph",
          keywords=("stop gradient",), code="{input}.detach()"),
    _spec("clone", "clone", "Autograd", lambda E, i, p: engine_attr(E, "clone")(i["input"]),
          samples=(("input", (2, 3)),), doc="a copy that stays in the graph",
          keywords=("copy",), code="torch.clone({input})"),
    _spec("requires_grad_", "requires_grad_", "Autograd",
          lambda E, i, p: tensor_method(tensor_method(i["input"], "detach")(), "requires_grad_")(),
          doc="a new leaf with the same values that requires grad (no gradient flows back "
              "through it, so the table's backward tests leave it out)",
          keywords=("input gradient", "leaf"), code="{input}.detach().requires_grad_()"),
    _spec("grad", "autograd.grad", "Autograd", _grad,
          inputs=(PortSpec("output", doc="what is differentiated (summed when not a scalar)"),
                  PortSpec("input", doc="a tensor that requires grad and output depends on",
                           refuses_data="gradients are taken with respect to tensors that "
                                        "require grad, and a dataset's samples never do")),
          params=(ParamSpec("create_graph", BOOL, True,
                            doc="record the gradient's own graph (for a penalty's backward)"),),
          doc="d(output)/d(input), as torch.autograd.grad with grad_outputs of ones",
          keywords=("gradient", "penalty", "double backward", "higher order"), code=_grad_code),
    _spec("float", "float", "Math", lambda E, i, p: tensor_method(i["input"], "float")(),
          samples=(("input", [[0.0, 1.0], [1.0, 0.0]]),), doc="the values as float32",
          keywords=("dtype", "cast", "convert"), code="{input}.float()"),

    # Layers (engine.nn), each a module kept across runs
    _layer("Linear", "Linear",
           params=(_positive("in_features", 2), _positive("out_features", 2),
                   ParamSpec("bias", BOOL, True)),
           make=_linear, seeded=True, samples=(("input", (4, 2)),), keywords=("dense", "fc"),
           module_code="torch.nn.Linear({in_features}, {out_features}, bias={bias})"),
    _layer("Conv2d", "Conv2d",
           params=(_positive("in_channels", 1), _positive("out_channels", 1),
                   _positive("kernel_size", 3), _positive("stride", 1),
                   ParamSpec("padding", INT, 0, minimum=0, maximum=1000),
                   ParamSpec("bias", BOOL, True)),
           make=_conv2d, seeded=True, samples=(("input", (1, 1, 5, 5)),),
           keywords=("convolution",),
           module_code="torch.nn.Conv2d({in_channels}, {out_channels}, {kernel_size}, "
                       "stride={stride}, padding={padding}, bias={bias})"),
    _layer("MaxPool2d", "MaxPool2d",
           params=(_positive("kernel_size", 2),
                   ParamSpec("stride", INT, None, nullable=True, minimum=1,
                             doc="empty: kernel_size")),
           make=lambda E, p: engine_attr(E, "nn.MaxPool2d")(p["kernel_size"], stride=p["stride"]),
           samples=(("input", (1, 1, 4, 4)),), keywords=("pooling",),
           module_code="torch.nn.MaxPool2d({kernel_size}, stride={stride})"),
    _layer("Flatten", "Flatten",
           params=(ParamSpec("start_dim", INT, 1), ParamSpec("end_dim", INT, -1)),
           make=_nn("Flatten", "start_dim", "end_dim"), samples=(("input", (2, 3, 2)),),
           module_code="torch.nn.Flatten({start_dim}, {end_dim})"),
    _layer("Dropout", "Dropout",
           params=(ParamSpec("p", FLOAT, 0.5, minimum=0.0, maximum=1.0),),
           make=_nn("Dropout", "p"), samples=(("input", (4, 3)),),
           module_code="torch.nn.Dropout({p})"),
    _layer("BatchNorm1d", "BatchNorm1d", params=(_positive("num_features", 2),),
           make=_nn("BatchNorm1d", "num_features"), samples=(("input", (4, 2)),),
           keywords=("normalization",), module_code="torch.nn.BatchNorm1d({num_features})"),
    _layer("LayerNorm", "LayerNorm", params=(ParamSpec("normalized_shape", SHAPE, [2]),),
           make=lambda E, p: engine_attr(E, "nn.LayerNorm")(tuple(p["normalized_shape"])),
           samples=(("input", (4, 2)),), keywords=("normalization",),
           module_code=lambda i, p:
               f"torch.nn.LayerNorm({python_literal(tuple(p['normalized_shape']))})"),
    _layer("Embedding", "Embedding",
           params=(_positive("num_embeddings", 10), _positive("embedding_dim", 3)),
           make=_nn("Embedding", "num_embeddings", "embedding_dim"), seeded=True, index_input=True,
           samples=(("input", [[0, 2], [1, 3]]),), keywords=("lookup",),
           module_code="torch.nn.Embedding({num_embeddings}, {embedding_dim})"),
    _layer("ReLU", "ReLU", category="Activations"),
    _layer("LeakyReLU", "LeakyReLU", category="Activations",
           params=(ParamSpec("negative_slope", FLOAT, 0.01),),
           make=_nn("LeakyReLU", "negative_slope"),
           module_code="torch.nn.LeakyReLU({negative_slope})"),
    _layer("GELU", "GELU", category="Activations",
           params=(ParamSpec("approximate", CHOICE, "none", ("none", "tanh")),),
           make=lambda E, p: engine_attr(E, "nn.GELU")(approximate=p["approximate"]),
           module_code="torch.nn.GELU(approximate={approximate})"),
    _layer("Softplus", "Softplus", category="Activations",
           params=(ParamSpec("beta", FLOAT, 1.0), ParamSpec("threshold", FLOAT, 20.0)),
           make=_nn("Softplus", "beta", "threshold"),
           module_code="torch.nn.Softplus({beta}, {threshold})"),
    _layer("Sigmoid", "Sigmoid", category="Activations"),
    _layer("Tanh", "Tanh", category="Activations"),
    _layer("Softmax", "Softmax", category="Activations", params=(_dim(-1, nullable=False),),
           make=lambda E, p: engine_attr(E, "nn.Softmax")(dim=p["dim"]),
           module_code="torch.nn.Softmax(dim={dim})"),
    _layer("LogSoftmax", "LogSoftmax", category="Activations",
           params=(_dim(-1, nullable=False),),
           make=lambda E, p: engine_attr(E, "nn.LogSoftmax")(dim=p["dim"]),
           module_code="torch.nn.LogSoftmax(dim={dim})"),

    # Losses (engine.nn.functional)
    _loss("mse_loss", "MSE loss", keywords=("mse", "squared error", "l2")),
    _loss("l1_loss", "L1 loss", keywords=("l1", "absolute error", "mae")),
    _loss("binary_cross_entropy", "BCE loss",
          samples=(("input", [[0.2, 0.7], [0.9, 0.4]]), ("target", [[0.0, 1.0], [1.0, 0.0]])),
          keywords=("bce",)),
    _loss("binary_cross_entropy_with_logits", "BCE with logits loss",
          samples=(("input", (2, 2)), ("target", [[0.0, 1.0], [1.0, 0.0]])),
          keywords=("bce_with_logits", "bce")),
    _loss("cross_entropy", "Cross-entropy loss", class_targets=True,
          samples=(("input", (4, 3)), ("target", [0, 2, 1, 0])), keywords=("ce", "softmax")),
    _loss("nll_loss", "NLL loss", class_targets=True,
          samples=(("input", (4, 3)), ("target", [0, 2, 1, 0])), keywords=("nll",)),
    _loss("huber_loss", "Huber loss", extra=(ParamSpec("delta", FLOAT, 1.0, minimum=0.0),),
          keywords=("huber",)),
    _loss("smooth_l1_loss", "Smooth L1 loss",
          extra=(ParamSpec("beta", FLOAT, 1.0, minimum=0.0),), keywords=("smooth_l1",)),
)

from gradstudio.graph.script_call import CALL_SPEC  # noqa: E402 - a recorded script's op calls

TABLE = TABLE + (CALL_SPEC,)
CATALOG: dict[str, NodeSpec] = {spec.kind: spec for spec in TABLE}
assert len(CATALOG) == len(TABLE), "two catalog rows share a kind"

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(spec.category for spec in TABLE))
