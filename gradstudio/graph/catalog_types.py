"""The shapes of catalog entries: what a node kind is, its ports and its parameters.

The catalog itself (`gradstudio.graph.catalog`) is one table of `NodeSpec`s; the palette,
the file format's validation and the runtime are all generated from it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

# Port types. An edge joins an output to an input of the same type ("any" joins all).
# A dataset's or CSV file's outputs are "dataset": samples, which never require grad; they
# go into tensor inputs except those whose `refuses_data` says why not.
TENSOR = "tensor"
DATASET = "dataset"
ANY = "any"

# Parameter types an inline editor / inspector knows how to edit.
FLOAT, INT, BOOL, STR, CHOICE, SHAPE, TENSOR_VALUE = (
    "float", "int", "bool", "str", "choice", "shape", "tensor_value")
# A file path; the runtime resolves a relative one against the document's folder.
PATH = "path"


@dataclass(frozen=True)
class PortSpec:
    name: str
    type: str = TENSOR
    optional: bool = False
    doc: str = ""
    refuses_data: str = ""          # why a dataset's samples cannot come in here ("": they can)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""
    nullable: bool = False          # None is a valid value (e.g. `dim=None`: all dims)
    # value -> None when valid, else why not (a short phrase); checked when a file loads
    validate: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class NodeSpec:
    """One node kind. `build` turns (inputs, params) into engine results at run time.

    kind:     stable key written in files ("add", "linear", "tensor", ...)
    title:    what the palette and the node's header show
    category: palette group ("Leaves", "Math", "Reductions", "Layers", "Losses", ...)
    inputs / outputs / params: the node's ports and editable parameters
    build:    callable(engine_module, inputs: dict[str, Any], params: dict) -> dict[str, Any]
              (output port name -> value); None for kinds the runtime handles itself.
              For kinds with `make_module` it is called with a fourth argument, the module.
    make_module: callable(engine_module, params) -> module, for layers: the runtime makes
              the module once per node and keeps it (and its Parameters) across runs
              until one of the node's parameters changes
    sample_inputs: (port, sample) pairs a test can run the kind on: a tuple is a shape
              (random values), a list or number is the exact value
    sample_params: parameter values for that test run, over the defaults
    code:     how the node reads as Python in an exported script: a format string over the
              input ports (each the expression of its source) and the parameters (each as a
              Python literal), e.g. "{input} * {other}", or callable(inputs, params) -> the
              expression. For kinds with `make_module`, inputs also hold "module", the
              variable holding the module. None: the exporter knows the kind itself or
              cannot export it.
    module_code: for kinds with `make_module`, the module's constructor, in the same form
    """
    kind: str
    title: str
    category: str
    inputs: tuple[PortSpec, ...] = ()
    outputs: tuple[PortSpec, ...] = (PortSpec("out"),)
    params: tuple[ParamSpec, ...] = ()
    build: Callable[..., dict] | None = None
    doc: str = ""
    keywords: tuple[str, ...] = field(default=())
    make_module: Callable[..., Any] | None = None
    sample_inputs: tuple[tuple[str, Any], ...] = ()
    sample_params: tuple[tuple[str, Any], ...] = ()
    code: str | Callable[[dict, dict], str] | None = None
    module_code: str | Callable[[dict, dict], str] | None = None

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        return next((p for p in self.outputs if p.name == name), None)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def default_params(self) -> dict:
        return {p.name: p.default for p in self.params}

    def run(self, engine: Any, inputs: dict[str, Any], params: dict,
            module: Any = None) -> dict[str, Any]:
        """Calls `build`, passing the node's module for kinds that have one."""
        if self.build is None:
            return {}
        if self.make_module is not None:
            return self.build(engine, inputs, params, module)
        return self.build(engine, inputs, params)

    def export_code(self, inputs: dict[str, str], params: dict,
                    constructor: bool = False) -> str | None:
        """`code` (or `module_code` with constructor=True) filled in for one node."""
        template = self.module_code if constructor else self.code
        if template is None:
            return None
        if callable(template):
            return template(inputs, params)
        return template.format(**{k: python_literal(v) for k, v in params.items()}, **inputs)


def python_literal(value: Any) -> str:
    """A parameter value as Python source: 2.0, (3, 2), None, 'mean', float('nan')."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    if isinstance(value, (list, tuple)):
        items = ", ".join(python_literal(v) for v in value)
        if isinstance(value, list):
            return f"[{items}]"
        return f"({items},)" if len(value) == 1 else f"({items})"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")
