"""Writes a document as a Python script that rebuilds the graph, runs it and prints its numbers.

    text = export_script(doc, "python")    # `import engine as torch`: gradstudio's engine
    text = export_script(doc, "torch")     # `import torch`: PyTorch

The script creates the nodes in the runtime's order with the node labels as variable names,
honours requires_grad, retain_grad, gradient hooks, detached edges (`.detach()`), no_grad
regions (`with torch.no_grad():`) and the backward root (gradient, retain_graph), then
prints one line per tensor in the format `gradstudio run` compares against:

    LABEL: data=<JSON> grad=<JSON or null> grad_fn=<name or None>

Every op, layer and loss is written from its catalog row (`NodeSpec.code`, `module_code`),
so a row added to the catalog is exported with no change here. Leaves, data sources and
the backward root are written here. The engine script repeats the runtime's seeds, so
random leaves and layer weights come out the same. The engine follows PyTorch's CPU
generator for the common draws, but not for every one (float16, MKL builds, the engine's
own data sets), so the PyTorch script writes random initial values and data sets out as
literals, taken from a forward run of the document on the engine: the numbers agree
wherever the script runs. A document that trains gets the
trainer's loop instead of a single backward (`gradstudio.runtime.export_training`).
"""
from __future__ import annotations

import json
import keyword
import os
import re
import textwrap
from typing import Any

import numpy as np

from gradstudio.graph.catalog_types import python_literal
from gradstudio.graph.document import Document, GraphError, Node
from gradstudio.runtime.export_training import hook_lines
from gradstudio.runtime.session import BACKWARD, Session
from .host import host_values

TARGETS = ("python", "torch")
RANDOM_INITS = ("randn", "rand")
# Names the script itself uses (here and in the training loop of export_training); a
# label equal to one of them gets a trailing underscore.
_RESERVED = {"torch", "F", "json", "datasets", "show", "math", "np", "all_x", "all_y",
             "rows_x", "rows_y", "rng", "order", "train_rows", "parameters", "optimizer",
             "epoch_rows", "cursor", "step", "rows", "p", "t"}


class ExportError(GraphError):
    """A document that cannot be written as a script; the message is one sentence."""


def export_script(document: Document, target: str = "python", session: Session | None = None,
                  source: str | None = None, base_dir: str | None = None) -> str:
    """The script text. `session`: a Session of the document whose forward has run (one is
    made and run when omitted); `source`: the file name the docstring mentions; `base_dir`:
    where a CSV node's relative path starts."""
    if target not in TARGETS:
        raise ExportError(f"unknown export target '{target}' (use python or torch)")
    if session is None:
        session = Session(document, base_dir=base_dir)
        session.forward()
    return _ScriptWriter(document, target, session, source, base_dir).write()


def identifier(label: str, taken: set[str]) -> str:
    """A label as a fresh Python variable name: "y squared" -> y_squared, "2x" -> v_2x."""
    name = re.sub(r"\W", "_", label.strip()) or "v"
    if name[0].isdigit():
        name = f"v_{name}"
    if keyword.iskeyword(name) or name in _RESERVED:
        name += "_"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate)
    return candidate


def array_literal(array: np.ndarray, indent: str = "") -> str:
    """An array as nested Python lists, one row per line past one dimension. float32 numbers
    are written in their shortest form that reads back to the same float32."""
    array = np.asarray(array)
    if array.ndim == 0:
        return _number(array[()])
    if array.ndim == 1:
        return "[" + ", ".join(_number(v) for v in array) + "]"
    rows = (",\n" + indent + " ").join(array_literal(row, indent + " ") for row in array)
    return "[" + rows + "]"


def _number(value: Any) -> str:
    if isinstance(value, (np.bool_, bool)):
        return repr(bool(value))
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    if not np.isfinite(value):
        return f"float('{float(value)}')"
    return str(np.float32(value)) if isinstance(value, np.float32) else repr(float(value))


class _ScriptWriter:
    def __init__(self, document: Document, target: str, session: Session,
                 source: str | None, base_dir: str | None) -> None:
        self.doc, self.target, self.session = document, target, session
        self.source, self.base_dir = source, base_dir
        self.taken: set[str] = set()
        self.names: dict[tuple[str, str], str] = {}     # (node id, port) -> variable
        self.uses: set[str] = set()                    # "F", "datasets", "json"
        self.notes: list[str] = []
        self.modules: dict[str, str] = {}               # layer node id -> its module variable
        self.no_grad = {n for r in document.regions.values() if r.kind == "no_grad"
                        for n in r.node_ids}

    # ------------------------------------------------------------------ whole script
    def write(self) -> str:
        failing = next((n for n in self.doc.topological_order() if n in self.session.errors
                        and self.doc.nodes[n].kind != BACKWARD), None)
        if failing is not None:
            label = self.doc.nodes[failing].label
            raise ExportError(f"node '{label}' fails, so the graph cannot be exported: "
                              f"{self.session.errors[failing]}")
        order = [n for n in self.doc.topological_order() if self.doc.nodes[n].kind != BACKWARD]
        for node_id in order:
            self._name_outputs(self.doc.nodes[node_id])
        if "training" in self.doc.meta:                  # the trainer's loop, step for step
            from gradstudio.runtime.export_training import training_body
            body = training_body(self, order)
            return "\n".join(self._header() + body) + "\n"
        body: list[str] = []
        block_no_grad = False
        for node_id in order:
            node = self.doc.nodes[node_id]
            setup, forward = self._statements(node)
            setup += hook_lines(self, node, leaf=True)
            forward += hook_lines(self, node, leaf=False) if forward else []
            if setup and block_no_grad:
                block_no_grad = False
            body += setup
            if forward and node_id in self.no_grad:
                if not block_no_grad:
                    body.append("with torch.no_grad():")
                    block_no_grad = True
                body += ["    " + line for line in forward]
            else:
                block_no_grad = False
                body += forward
        body += self._backward()
        body += [""] + self._show_lines()
        return "\n".join(self._header() + body) + "\n"

    def _header(self) -> list[str]:
        meta = self.doc.meta
        title = str(meta.get("title") or "graph")
        origin = f" ({os.path.basename(self.source)})" if self.source else ""
        engine = ("gradstudio's engine (`import engine as torch`)" if self.target == "python"
                  else "PyTorch")
        lines = [f'"""{title} - exported from gradstudio{origin}.', ""]
        description = str(meta.get("description") or "").strip()
        if description:
            lines += textwrap.wrap(description, 88, break_on_hyphens=False) + [""]
        lines += textwrap.wrap(f"Rebuilds the graph on {engine}, runs it and prints each "
                               f"tensor's data and grad, one line per node.", 88)
        for note in self.notes:
            lines += [""] + textwrap.wrap(note, 88)
        lines += ['"""', "import json", ""]
        if self.target == "python":
            lines.append("import engine as torch")
            if "F" in self.uses:
                lines.append("import engine.nn.functional as F")
            if "datasets" in self.uses:
                lines.append("from engine import datasets")
        else:
            lines.append("import torch")
            if "F" in self.uses:
                lines.append("import torch.nn.functional as F")
        lines += ["", "",
                  "def show(name, tensor):",
                  '    """Prints NAME: data=<JSON> grad=<JSON or null> grad_fn=<name or None>."""',
                  "    keeps_grad = tensor.is_leaf or tensor.retains_grad",
                  "    grad = tensor.grad.tolist() if keeps_grad and tensor.grad is not None "
                  "else None",
                  "    grad_fn = None if tensor.grad_fn is None else tensor.grad_fn.name()",
                  '    print(f"{name}: data={json.dumps(tensor.tolist())} '
                  'grad={json.dumps(grad)} grad_fn={grad_fn}")',
                  "", ""]
        return lines

    # ------------------------------------------------------------------ names
    def _name_outputs(self, node: Node) -> None:
        spec = self.doc.spec(node)
        base = identifier(node.label, self.taken)
        for k, port in enumerate(spec.outputs):
            name = base if k == 0 else identifier(f"{base}_{port.name}", self.taken)
            self.names[(node.id, port.name)] = name

    def _input_expressions(self, node: Node) -> dict[str, str]:
        expressions = {}
        for edge in self.doc.edges_into(node.id):
            name = self.names[(edge.src, edge.src_port)]
            expressions[edge.dst_port] = f"{name}.detach()" if edge.detach else name
        return expressions

    # ------------------------------------------------------------------ statements
    def _statements(self, node: Node) -> tuple[list[str], list[str]]:
        """(setup lines: leaves, data, modules; forward lines: the node's computation)."""
        if node.kind in ("tensor", "parameter"):
            return self._leaf(node), []
        if node.kind in ("dataset", "csv"):
            return self._data(node), []
        spec = self.doc.spec(node)
        inputs = self._input_expressions(node)
        setup: list[str] = []
        if spec.make_module is not None:
            module = identifier(f"{self.names[(node.id, spec.outputs[0].name)]}_layer",
                                self.taken)
            setup = self._module(node, module)
            inputs["module"] = module
            self.modules[node.id] = module
        expression = spec.export_code(inputs, node.params)
        if expression is None:
            raise ExportError(f"node '{node.label}': the kind '{node.kind}' has no export "
                              f"template in the catalog")
        if "F." in expression:
            self.uses.add("F")
        outputs = [self.names[(node.id, p.name)] for p in spec.outputs]
        forward = [f"{', '.join(outputs)} = {expression}"]
        if node.params.get("retain_grad"):
            for port in spec.outputs:
                value = self.session.value(node.id, port.name)
                if getattr(value, "requires_grad", False) and not value.is_leaf:
                    forward.append(f"{self.names[(node.id, port.name)]}.retain_grad()")
        return setup, forward

    def _leaf(self, node: Node) -> list[str]:
        p = node.params
        name = self.names[(node.id, "out")]
        dtype = "" if p["dtype"] == "float32" else f", dtype=torch.{p['dtype']}"
        init = p.get("init", "value")
        lines: list[str] = []
        shape = tuple(int(n) for n in p["shape"])
        if init == "value":
            tensor = f"torch.tensor({python_literal(_floats(p['value']))}{dtype})"
        elif init in RANDOM_INITS and self.target == "torch":
            value = self.session.value(node.id)
            lines.append(f"# gradstudio's {init}({python_literal(shape)}) with seed {p['seed']}")
            tensor = (f"torch.tensor({array_literal(_numpy(value), ' ' * (len(name) + 16))}"
                      f"{dtype})")
            self._note_literals()
        elif init in RANDOM_INITS:
            lines.append(f"torch.manual_seed({int(p['seed'])})")
            tensor = f"torch.{init}({python_literal(shape)}{dtype})"
        elif init == "eye":
            tensor = f"torch.eye({', '.join(str(n) for n in shape)}{dtype})"
        elif init == "arange":
            tensor = (f"torch.arange({int(np.prod(shape))}, dtype=torch.{p['dtype']})"
                      f".reshape({python_literal(shape)})")
        elif init == "full":
            tensor = f"torch.full({python_literal(shape)}, {float(p['fill_value'])!r}{dtype})"
        else:
            tensor = f"torch.{init}({python_literal(shape)}{dtype})"
        if node.kind == "parameter":
            tensor = f"torch.nn.Parameter({tensor})"
        elif p["requires_grad"]:
            tensor = (tensor[:-1] + ", requires_grad=True)" if tensor.startswith("torch.tensor(")
                      else f"{tensor}.requires_grad_()")
        return lines + [f"{name} = {tensor}"]

    def _data(self, node: Node) -> list[str]:
        x, y = self.names[(node.id, "x")], self.names[(node.id, "y")]
        p = node.params
        if self.target == "torch":
            self._note_literals()
            lines = [f"# {node.kind} '{node.label}' as gradstudio loaded it"]
            for port, name in (("x", x), ("y", y)):
                value = _numpy(self.session.value(node.id, port))
                dtype = ", dtype=torch.float64" if value.dtype == np.float64 else ""
                lines.append(f"{name} = torch.tensor("
                             f"{array_literal(value, ' ' * (len(name) + 16))}{dtype})")
            return lines
        self.uses.add("datasets")
        if node.kind == "dataset":
            return [f"{x}, {y} = datasets.{p['name']}(n_samples={int(p['n_samples'])}, "
                    f"noise={float(p['noise'])!r}, seed={int(p['seed'])})"]
        path = p["path"]
        if self.base_dir and not os.path.isabs(path):
            path = os.path.join(self.base_dir, path)
        target = p["target"].strip()
        target_arg = -1 if not target else int(target) if target.lstrip("-").isdigit() else target
        return [f"{x}, {y} = datasets.load_csv({path!r}, target={target_arg!r})"]

    def _module(self, node: Node, module: str) -> list[str]:
        spec = self.doc.spec(node)
        constructor = spec.export_code({}, node.params, constructor=True)
        lines = []
        if self.target == "python" and "seed" in node.params:
            lines.append(f"torch.manual_seed({int(node.params['seed'])})")
        lines.append(f"{module} = {constructor}")
        engine_module = self.session.modules.get(node.id)
        if self.target == "torch" and engine_module is not None:
            parameters = list(engine_module.named_parameters())
            if parameters:
                self._note_literals()
                lines.append("with torch.no_grad():  # gradstudio's initial values")
                for pname, value in parameters:
                    start = f"    {module}.{pname}.copy_(torch.tensor("
                    literal = array_literal(_numpy(value), " " * len(start))
                    lines.append(f"{start}{literal}))")
        return lines

    def _note_literals(self) -> None:
        note = ("Random initial values and data sets are written out as numbers, so they are "
                "gradstudio's whatever PyTorch build and random generator run this script.")
        if note not in self.notes:
            self.notes.append(note)

    # ------------------------------------------------------------------ backward and output
    def _backward(self) -> list[str]:
        """One backward() call per root, in the order the runtime runs them."""
        lines = []
        for root_id in self.session.root_ids():
            root = self.doc.nodes[root_id]
            if root.kind != BACKWARD:
                lines.append(f"{self.names[(root_id, 'out')]}.backward()")
                continue
            inputs = self._input_expressions(root)
            if "input" not in inputs:
                continue
            arguments = []
            if "gradient" in inputs:
                arguments.append(f"gradient={inputs['gradient']}")
            if root.params.get("retain_graph"):
                arguments.append("retain_graph=True")
            lines.append(f"{inputs['input']}.backward({', '.join(arguments)})")
        return [""] + lines if lines else []

    def _show_lines(self) -> list[str]:
        """The same tensors `gradstudio run` lists: LABEL, or LABEL.PORT past the first, and
        a layer's Parameters after it as LABEL.weight, LABEL.bias, ..."""
        lines = []
        for node_id in self.doc.topological_order():
            node = self.doc.nodes[node_id]
            for k, port in enumerate(self.doc.spec(node).outputs):
                if not hasattr(self.session.value(node_id, port.name), "shape"):
                    continue
                shown = node.label if k == 0 else f"{node.label}.{port.name}"
                lines.append(f"show({json.dumps(shown)}, {self.names[(node_id, port.name)]})")
            module = self.session.modules.get(node_id)
            if module is not None and node_id in self.modules:
                for name, _ in module.named_parameters():
                    lines.append(f"show({json.dumps(f'{node.label}.{name}')}, "
                                 f"{self.modules[node_id]}.{name})")
        return lines


def _floats(value: Any) -> Any:
    return [_floats(v) for v in value] if isinstance(value, list) else float(value)


def _numpy(tensor: Any) -> np.ndarray:
    return np.asarray(host_values(tensor))
