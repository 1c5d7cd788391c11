"""The `call` node kind: one recorded call of an engine op, replayable from data.

A script's recording becomes a document of ordinary nodes; an op call becomes a `call` node
that names the engine op (`engine.matmul`, `engine.nn.functional.linear`, ...) and
holds its non-tensor arguments as JSON, with each tensor argument marked by the input port
it arrives on:

    {"function": "engine.nn.functional.linear",
     "args": '{"args": [{"$in": 0}, {"$in": 1}, {"$in": 2}], "kwargs": {}}'}

Running it calls that op with the tensors of ports in0..in7; the tensors in its result, in
order, come out on out, out1, ... out7. Loading never runs code and running stays inside
the engine: the function must be an op the engine registered for recording (it carries the
engine's `_recorded` mark) found under the engine package, never an arbitrary callable.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from gradstudio.graph.catalog_types import BOOL, STR, NodeSpec, ParamSpec, PortSpec

MAX_CALL_INPUTS = 8
MAX_CALL_OUTPUTS = 8
INPUT_PORTS = tuple(f"in{k}" for k in range(MAX_CALL_INPUTS))
OUTPUT_PORTS = ("out",) + tuple(f"out{k}" for k in range(1, MAX_CALL_OUTPUTS))


class CallError(ValueError):
    """A call node's function or arguments cannot be used; the message says why."""


def _check_function(text: Any) -> str | None:
    if not isinstance(text, str) or not text.startswith("engine."):
        return "expected the dotted name of an engine op, such as engine.matmul"
    if any(not part or not part.replace("_", "a").isalnum() for part in text.split(".")):
        return f"'{text}' is not a dotted name"
    return None


def _check_args(text: Any) -> str | None:
    try:
        decode_args(text)
    except CallError as exc:
        return str(exc)
    return None


def decode_args(text: str) -> tuple[list, dict]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise CallError("args: not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("args", []), list) \
            or not isinstance(data.get("kwargs", {}), dict):
        raise CallError('args: expected {"args": [...], "kwargs": {...}}')
    return data.get("args", []), data.get("kwargs", {})


def call_ports(params: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The input and output ports a call node uses (what the canvas shows): inputs from the
    {"$in": k} marks in its arguments, outputs from the "outputs" count it was recorded with."""
    args = params.get("args", "{}")
    return _ports_of(args if isinstance(args, str) else "{}")


@functools.lru_cache(maxsize=4096)
def _ports_of(args: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        data = json.loads(args)
    except (TypeError, ValueError):
        return INPUT_PORTS[:1], OUTPUT_PORTS[:1]
    used: set[int] = set()

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get("$in"), int):
                used.add(value["$in"])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(data.get("args", []) if isinstance(data, dict) else [])
    walk(data.get("kwargs", {}) if isinstance(data, dict) else {})
    count = data.get("outputs", 1) if isinstance(data, dict) else 1
    count = count if isinstance(count, int) and 1 <= count <= MAX_CALL_OUTPUTS else 1
    inputs = tuple(port for k, port in enumerate(INPUT_PORTS) if k in used)
    return inputs, OUTPUT_PORTS[:count]


def encode_value(value: Any, tensor_port: Any) -> Any:
    """A Python argument as JSON: tensors become {"$in": k} (k = tensor_port(tensor)), and
    tuples, slices, Ellipsis and dtypes are tagged. Raises CallError for anything else."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else {"$float": repr(value)}
    type_name = type(value).__name__
    if type_name in ("Tensor", "Parameter"):
        return {"$in": tensor_port(value)}
    if isinstance(value, list):
        return [encode_value(v, tensor_port) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v, tensor_port) for v in value]}
    if isinstance(value, slice):
        return {"$slice": [encode_value(v, tensor_port) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"$ellipsis": True}
    if type_name == "dtype":
        return {"$dtype": str(value).split(".")[-1]}
    if type_name == "device":
        return {"$device": str(value)}
    if hasattr(value, "item") and getattr(value, "shape", None) == ():   # a NumPy scalar
        return encode_value(value.item(), tensor_port)
    raise CallError(f"an argument of type {type_name} cannot be written down")


def decode_value(value: Any, inputs: list, engine: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v, inputs, engine) for v in value]
    if not isinstance(value, dict):
        return value
    if "$in" in value:
        index = value["$in"]
        if not isinstance(index, int) or not 0 <= index < len(inputs) or inputs[index] is None:
            raise CallError(f"input in{index} is not connected")
        return inputs[index]
    if "$tuple" in value:
        return tuple(decode_value(v, inputs, engine) for v in value["$tuple"])
    if "$slice" in value:
        return slice(*(decode_value(v, inputs, engine) for v in value["$slice"]))
    if "$ellipsis" in value:
        return Ellipsis
    if "$float" in value:
        return float(value["$float"])
    if "$dtype" in value:
        dtype = getattr(engine, str(value["$dtype"]), None)
        if type(dtype).__name__ != "dtype":
            raise CallError(f"engine has no dtype {value['$dtype']}")
        return dtype
    if "$device" in value:
        return engine.device(str(value["$device"]))
    return {k: decode_value(v, inputs, engine) for k, v in value.items()}


# factories that make a leaf from data (integer labels, masks), allowed though not ops
FACTORIES = ("engine.tensor",)


def resolve_op(engine: Any, path: str) -> Any:
    """The engine op named by `path`, only if the engine marked it as a recorded op."""
    problem = _check_function(path)
    if problem:
        raise CallError(problem)
    if path in FACTORIES:
        return getattr(engine, path.split(".", 1)[1])
    import importlib
    parts = path.split(".")
    obj: Any = engine
    for k, part in enumerate(parts[1:], start=1):
        found = getattr(obj, part, None)
        if found is None and type(obj).__name__ == "module":
            try:
                found = importlib.import_module(".".join([engine.__name__] + parts[1:k + 1]))
            except ImportError:
                found = None
        if found is None:
            raise CallError(f"engine has no {'.'.join(parts[1:])}")
        obj = found
    if not getattr(obj, "_recorded", False):
        raise CallError(f"{path} is not an engine op")
    return obj


def _flat_tensors(result: Any) -> list:
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in _flat_tensors(item)]
    return [result] if type(result).__name__ in ("Tensor", "Parameter") else []


def _build_call(engine, inputs, params):
    op = resolve_op(engine, params["function"])
    raw_args, raw_kwargs = decode_args(params["args"])
    given = [inputs.get(port) for port in INPUT_PORTS]
    args = [decode_value(v, given, engine) for v in raw_args]
    kwargs = {k: decode_value(v, given, engine) for k, v in raw_kwargs.items()}
    result = op(*args, **kwargs)
    outputs = _flat_tensors(result)
    return dict(zip(OUTPUT_PORTS, outputs))


CALL_SPEC = NodeSpec(
    "call", "Op call", "Script",
    inputs=tuple(PortSpec(port, optional=True) for port in INPUT_PORTS),
    outputs=tuple(PortSpec(port) for port in OUTPUT_PORTS),
    params=(ParamSpec("function", STR, "engine.add", validate=_check_function,
                      doc="the engine op called"),
            ParamSpec("args", STR, '{"args": [{"$in": 0}, {"$in": 1}], "kwargs": {}}',
                      validate=_check_args,
                      doc='its arguments as JSON; {"$in": k} is the tensor on port ink'),
            ParamSpec("retain_grad", BOOL, False,
                      doc="keep .grad of this non-leaf result after backward")),
    build=_build_call,
    doc="one recorded call of an engine op (made when a script is imported)",
    keywords=("script", "recorded", "op"))
