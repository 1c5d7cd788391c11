"""A Session runs one Document on the engine: forward in topological order, then backward.

    session = Session(doc)                 # device="cpu"; "cuda" falls back with a message
    session.run()                          # forward (only what changed), then backward
    session.value("x").grad                # a node by id or label; port "out" by default
    session.info("y")                      # NodeInfo: data, grad, grad_fn, is_leaf, ...
    session.errors                         # node id -> one sentence, e.g. a shape mismatch

Each node's outputs are kept between runs with a signature (its kind, parameters, device,
no_grad membership and, per input, the source's signature, port and detach switch), as
ComfyUI caches: a node re-runs when its signature changed or an input of it re-ran, so a
recreated leaf re-runs everything downstream and the autograd graph stays consistent.
Layers keep their module (and its Parameters) until one of their parameters changes.

Backward follows the engine exactly: leaves accumulate `.grad` across backward calls until
`zero_grad()`. A backward without `retain_graph` frees the graph, so the nodes that built
it run again on the next forward (leaves keep their tensors, hence their grads), just as a
PyTorch loop re-runs its forward before every backward.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from gradstudio.graph.catalog import NodeRunError
from gradstudio.graph.catalog_types import PATH, NodeSpec
from gradstudio.graph.document import Document, Edge, GraphError, Node
from gradstudio.graph.grad_hooks import hook_function
from .host import host_values

BACKWARD = "backward"
_COMMON = ("retain_grad",)   # parameters that change a node's result, not its module


class RunError(GraphError):
    """A session cannot do what was asked (no root, unknown node, no such device)."""


@dataclass
class NodeInfo:
    """What the inspector and the CLI show for one output of one node."""
    node_id: str
    label: str
    kind: str
    port: str
    error: str | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    device: str | None = None
    data: np.ndarray | None = None
    grad: np.ndarray | None = None
    grad_fn: str | None = None
    next_functions: tuple[str | None, ...] = ()
    is_leaf: bool | None = None
    requires_grad: bool | None = None
    retains_grad: bool | None = None
    version: int | None = None


def default_engine():
    import engine
    return engine


def device_problem(engine: Any, device: str) -> str | None:
    """None when `device` can be used, else a sentence saying why not."""
    if device == "cpu":
        return None
    if device.split(":")[0] != "cuda":
        return f"unknown device '{device}' (use cpu or cuda)"
    cuda = getattr(engine, "cuda", None)
    if cuda is None or not cuda.is_available():
        reason = getattr(cuda, "unavailable_reason", lambda: None)() if cuda else None
        return f"cuda is not available: {reason or 'the engine reports no GPU'}"
    return None


class Session:
    def __init__(self, document: Document, device: str = "cpu", engine: Any = None,
                 base_dir: str | None = None, fallback: bool = True) -> None:
        self.document = document
        self.engine = engine if engine is not None else default_engine()
        self.base_dir = base_dir
        self.messages: list[str] = []       # things the person should read (device fallback)
        self.device = "cpu"
        self.set_device(device, fallback=fallback)
        self.outputs: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, str] = {}
        # nodes whose error is only that an input is not connected (directly or upstream):
        # work in progress rather than a failure, for a window to show quietly; node id ->
        # what it waits for ("input 'other'", or "'xy'" upstream)
        self.waiting: dict[str, str] = {}
        self.modules: dict[str, Any] = {}
        self.last_run: list[str] = []       # node ids the last forward ran, in order
        self.run_counts: dict[str, int] = {}
        self._signatures: dict[str, str] = {}
        self._module_keys: dict[str, str] = {}
        self._spent: set[str] = set()       # nodes whose graph a backward has freed
        self._graph_nodes: set[str] = set()  # nodes whose outputs have a grad_fn
        self._plan_key: tuple | None = None
        self._steps: list[_Step] = []
        self._fed: dict[str, dict[str, Any]] = {}   # node id -> outputs given by `feed`
        self.grads_cleared = False          # zero_grad() ran after the last backward

    # ------------------------------------------------------------------ device
    def set_device(self, device: str, fallback: bool = True) -> str:
        """Selects cpu or cuda; with fallback an unusable cuda means cpu plus a message.
        An unknown device name raises RunError."""
        problem = device_problem(self.engine, device)
        if problem and (not fallback or not device.startswith("cuda")):
            raise RunError(problem)
        if problem:
            self.messages.append(f"{problem}; running on the cpu")
            device = "cpu"
        self.device = device
        return device

    def move_layers_to(self, device: str) -> None:
        """Selects `device` (no fallback) and moves every layer there in place, keeping its
        Parameter objects and values (an optimizer holding them stays valid)."""
        previous = self.device
        self.set_device(device, fallback=False)
        for node_id, module in self.modules.items():
            module.to(device)
            self._module_keys[node_id] = self._module_keys[node_id].removesuffix(previous) + device

    # ------------------------------------------------------------------ lookup
    def node_id(self, ref: str) -> str:
        """A node's id from its id or its label."""
        if ref in self.document.nodes:
            return ref
        node = self.document.node_by_label(ref)
        if node is None:
            raise RunError(f"no node '{ref}'")
        return node.id

    def value(self, ref: str, port: str = "out") -> Any:
        """The value a node produced on `port` in the last forward (None when it has none)."""
        return self.outputs.get(self.node_id(ref), {}).get(port)

    def root_id(self) -> str | None:
        """The first backward root (see `root_ids`), or None."""
        roots = self.root_ids()
        return roots[0] if roots else None

    def root_ids(self) -> list[str]:
        """The backward roots in the order their backward() calls run: meta "root" (a label)
        alone when set, else every `backward` node in run order. Each root is one
        `tensor.backward()` call, as consecutive calls in a script: their gradients add up."""
        label = self.document.meta.get("root")
        if label:
            node = self.document.node_by_label(label)
            if node is None:
                raise RunError(f"the root '{label}' is not a node of this graph")
            return [node.id]
        return [step.node.id for step in self._plan() if step.node.kind == BACKWARD]

    # ------------------------------------------------------------------ forward
    def forward(self) -> list[str]:
        """Runs every node whose signature changed or whose inputs re-ran; returns their ids."""
        plan = self._plan()
        ran: set[str] = set()
        self.last_run = []
        for step in plan:
            node_id = step.node.id
            fed = self._fed.get(node_id)
            if fed is not None:
                if self.outputs.get(node_id) is not fed:    # fed since the last forward
                    self.outputs[node_id] = fed
                    self.errors.pop(node_id, None)
                    self.waiting.pop(node_id, None)
                    ran.add(node_id)
                    self.last_run.append(node_id)
                continue
            if (step.signature == self._signatures.get(node_id) and node_id not in self._spent
                    and node_id not in self.errors and ran.isdisjoint(step.sources)):
                continue
            ran.add(node_id)
            self.last_run.append(node_id)
            self.run_counts[node_id] = self.run_counts.get(node_id, 0) + 1
            self._spent.discard(node_id)
            self._run_node(step)
            self._signatures[node_id] = step.signature
        return self.last_run

    def feed(self, ref: str, outputs: dict[str, Any] | None) -> None:
        """Gives a node these outputs instead of running it (a training batch for a data
        node) until fed None; the next forward re-runs everything downstream of it."""
        node_id = self.node_id(ref)
        if outputs is None:
            self._fed.pop(node_id, None)
            self._signatures.pop(node_id, None)         # runs again on the next forward
        else:
            self._fed[node_id] = dict(outputs)

    def _plan(self) -> list[_Step]:
        """The nodes in run order with their inputs and signatures, rebuilt after any edit."""
        key = (id(self.document), self.document.revision, self.device, self.base_dir)
        if self._plan_key == key:
            return self._steps
        doc = self.document
        order = doc.topological_order()
        incoming: dict[str, dict[str, Edge]] = {node_id: {} for node_id in order}
        for edge in doc.edges.values():
            incoming[edge.dst][edge.dst_port] = edge
        no_grad = {n for r in doc.regions.values() if r.kind == "no_grad" for n in r.node_ids}
        signatures: dict[str, str] = {}
        steps = []
        for node_id in order:
            node, edges = doc.nodes[node_id], incoming[node_id]
            spec = doc.spec(node)
            paths = tuple(p.name for p in spec.params if p.type == PATH)
            parts = [node.kind, repr(node.params), repr(node.hooks), self.device,
                     "no_grad" if node_id in no_grad else "", str(self.base_dir) if paths else ""]
            for port in sorted(edges):
                e = edges[port]
                parts.append(f"{port}<{signatures[e.src]}.{e.src_port}"
                             f"{'/detach' if e.detach else ''}")
            signatures[node_id] = hashlib.sha1("|".join(parts).encode()).hexdigest()
            params = self._resolved_params(node.params, paths) if paths else node.params
            module_key = _canonical({k: v for k, v in params.items() if k not in _COMMON}) \
                + self.device if spec.make_module else ""
            steps.append(_Step(node, spec, edges, tuple(e.src for e in edges.values()),
                               node_id in no_grad, signatures[node_id], params, module_key))
        self._forget_removed_nodes()
        self._plan_key, self._steps = key, steps
        return steps

    def _run_node(self, step: _Step) -> None:
        node, spec, node_id = step.node, step.spec, step.node.id
        self.outputs.pop(node_id, None)
        self.errors.pop(node_id, None)
        self.waiting.pop(node_id, None)
        self._graph_nodes.discard(node_id)
        inputs: dict[str, Any] = {}
        try:
            inputs = self._gather_inputs(spec, step.edges)
            if spec.build is None:                      # the backward root: runs in backward()
                self.outputs[node_id] = {}
                return
            params = step.params
            module = self._module(node, spec, params, step.module_key) if spec.make_module \
                else None
            if step.no_grad:
                with self.engine.no_grad():
                    results = spec.run(self.engine, inputs, params, module)
            else:
                results = spec.run(self.engine, inputs, params, module)
            if not spec.inputs:
                results = {port: self._on_device(v) for port, v in results.items()}
            if node.params.get("retain_grad"):
                for value in results.values():
                    if getattr(value, "requires_grad", False) and not value.is_leaf:
                        value.retain_grad()
            self._register_hooks(node, results)
            self.outputs[node_id] = results
            if any(getattr(v, "grad_fn", None) is not None for v in results.values()):
                self._graph_nodes.add(node_id)
        except Exception as exc:                        # noqa: BLE001 - shown on the node
            self.errors[node_id] = _describe(spec, exc, inputs)
            if isinstance(exc, _InputNotConnected):
                self.waiting[node_id] = exc.waiting_for

    def _register_hooks(self, node: Node, results: dict[str, Any]) -> None:
        """The node's gradient hooks (data, see grad_hooks) on its outputs that require grad;
        "log" hooks write to `messages`."""
        for hook in node.hooks:
            port = hook.get("port", "out")
            value = results.get(port)
            if getattr(value, "requires_grad", False):
                name = node.label if port == "out" else f"{node.label}.{port}"
                value.register_hook(hook_function(self.engine, hook, name, self.messages.append))

    def _gather_inputs(self, spec: NodeSpec, edges: dict[str, Edge]) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        for port in spec.inputs:
            edge = edges.get(port.name)
            if edge is None:
                if port.optional:
                    continue
                raise _InputNotConnected(f"input '{port.name}' is not connected",
                                         f"input '{port.name}'")
            source = self.outputs.get(edge.src, {})
            if edge.src_port not in source:
                src = self.document.nodes[edge.src]
                why = "has an error" if edge.src in self.errors else \
                    f"produced no '{edge.src_port}'"
                text = f"input unavailable: '{src.label}' {why}"
                if edge.src in self.waiting:
                    raise _InputNotConnected(text, f"'{src.label}'")
                raise _InputUnavailable(text)
            value = source[edge.src_port]
            inputs[port.name] = value.detach() if edge.detach and hasattr(value, "detach") \
                else value
        return inputs

    def _resolved_params(self, params: dict, paths: tuple[str, ...]) -> dict:
        """The parameters with relative file paths made relative to the document's folder."""
        if not self.base_dir:
            return params
        resolved = dict(params)
        for name in paths:
            if resolved[name] and not os.path.isabs(resolved[name]):
                resolved[name] = os.path.join(self.base_dir, resolved[name])
        return resolved

    def _module(self, node: Node, spec: NodeSpec, params: dict, key: str) -> Any:
        """The node's layer, made again only when `key` (its parameters but retain_grad, and
        the device) changed."""
        if self._module_keys.get(node.id) != key:
            module = spec.make_module(self.engine, params)
            if self.device != "cpu" and hasattr(module, "to"):
                module = module.to(self.device)
            self.modules[node.id] = module
            self._module_keys[node.id] = key
        return self.modules[node.id]

    def _on_device(self, value: Any) -> Any:
        """A leaf or data tensor moved to the session's device, staying a leaf."""
        device = getattr(value, "device", None)
        if device is None or str(device) == self.device:
            return value
        moved = value.detach().to(self.device)
        parameter = getattr(getattr(self.engine, "nn", None), "Parameter", None)
        if parameter is not None and isinstance(value, parameter):
            return parameter(moved)
        return moved.requires_grad_(True) if value.requires_grad else moved

    def _forget_removed_nodes(self) -> None:
        for store in (self.outputs, self.errors, self.modules, self._signatures,
                      self._module_keys, self.run_counts, self._fed):
            for node_id in [n for n in store if n not in self.document.nodes]:
                del store[node_id]
        self._spent &= self.document.nodes.keys()
        self._graph_nodes &= self.document.nodes.keys()
        for node_id in [n for n in self.waiting if n not in self.document.nodes]:
            del self.waiting[node_id]

    # ------------------------------------------------------------------ backward
    def backward_arguments(self, root: str | None = None) -> tuple[str, Any, Any, bool]:
        """(root id, tensor, gradient or None, retain_graph) for a backward from `root`."""
        root_id = self.node_id(root) if root else self.root_id()
        if root_id is None:
            raise RunError("the graph has no backward root (add a Backward node)")
        node = self.document.nodes[root_id]
        if root_id in self.errors:
            raise RunError(f"cannot run backward from '{node.label}': {self.errors[root_id]}")
        if node.kind != BACKWARD:
            tensor = self.value(root_id)
            if tensor is None:
                raise RunError(f"'{node.label}' has no value to run backward from")
            return root_id, tensor, None, False
        edges = {e.dst_port: e for e in self.document.edges_into(root_id)}
        try:
            values = self._gather_inputs(self.document.spec(node), edges)
        except NodeRunError as exc:
            raise RunError(f"cannot run backward from '{node.label}': {exc}") from None
        return root_id, values["input"], values.get("gradient"), bool(node.params["retain_graph"])

    def backward(self, root: str | None = None) -> bool:
        """tensor.backward(gradient, retain_graph) from the root; False (and an error) on failure."""
        root_id, tensor, gradient, retain = self.backward_arguments(root)
        try:
            tensor.backward(gradient=gradient, retain_graph=retain)
        except Exception as exc:                        # noqa: BLE001 - shown on the root
            self.errors[root_id] = f"backward: {first_line(exc)}"
            return False
        finally:
            if not retain:
                self._mark_graph_spent()
        self.grads_cleared = False
        return True

    def backward_all(self) -> int:
        """backward() from every root in order (see `root_ids`); a root that fails (or whose
        input failed) gets the error and the others still run. Returns how many ran."""
        ran = 0
        freed_by: str | None = None     # an earlier root that freed the graph
        for root_id in self.root_ids():
            if root_id in self.errors:
                continue
            try:
                retain = self.backward_arguments(root_id)[3]
            except RunError as exc:
                self.errors[root_id] = str(exc)
                continue
            if self.backward(root_id):
                ran += 1
                if not retain and freed_by is None:
                    freed_by = self.document.nodes[root_id].label
            elif freed_by is not None and "second time" in self.errors[root_id]:
                self.errors[root_id] = (
                    f"backward: the graph was freed by the backward from '{freed_by}' just "
                    f"before; switch retain_graph on there to run backward twice through the "
                    f"same graph (as in PyTorch)")
        return ran

    def backward_steps(self, root: str | None = None) -> Iterator[Any]:
        """The engine's step generator for a backward from the root (for the debugger)."""
        root_id, tensor, gradient, retain = self.backward_arguments(root)
        steps = self.engine.autograd.backward_steps(
            [tensor], None if gradient is None else [gradient], retain_graph=retain)
        try:
            yield from steps
            self.grads_cleared = False
        finally:
            if not retain:
                self._mark_graph_spent()

    def _mark_graph_spent(self) -> None:
        self._spent |= self._graph_nodes

    def zero_grad(self) -> None:
        """Sets every .grad the session's tensors and modules hold back to None."""
        self.grads_cleared = True
        for results in self.outputs.values():
            for value in results.values():
                if hasattr(value, "is_leaf") and (value.is_leaf or value.retains_grad):
                    value.grad = None
        for module in self.modules.values():
            for parameter in module.parameters():
                parameter.grad = None

    def run(self) -> bool:
        """Forward, then backward from each root that ran; True when no node failed.

        A failing node elsewhere does not stop the backward: the rest stays usable."""
        self.forward()
        self.backward_all()
        return not self.errors

    def reset(self) -> None:
        """Forgets every tensor and module: the next forward recreates all of them."""
        for store in (self.outputs, self.errors, self.modules, self._signatures,
                      self._module_keys, self._fed):
            store.clear()
        self._spent.clear()
        self._graph_nodes.clear()
        self.waiting.clear()
        self._plan_key = None

    # ------------------------------------------------------------------ inspection
    def parameters(self) -> list[Any]:
        """Leaf tensors that require grad: leaves' outputs and the layers' Parameters."""
        found: dict[int, Any] = {}
        for node_id in self.document.topological_order():
            for value in self.outputs.get(node_id, {}).values():
                if getattr(value, "requires_grad", False) and value.is_leaf:
                    found[id(value)] = value
            if node_id in self.modules:
                for parameter in self.modules[node_id].parameters():
                    found[id(parameter)] = parameter
        return list(found.values())

    def info(self, ref: str, port: str = "out") -> NodeInfo:
        node_id = self.node_id(ref)
        node = self.document.nodes[node_id]
        return tensor_info(node, port, self.outputs.get(node_id, {}).get(port),
                           error=self.errors.get(node_id))


def tensor_info(node: Node, port: str, value: Any, error: str | None = None) -> NodeInfo:
    """The snapshot of one tensor a node holds (an output port's value, or a layer's Parameter
    by name); a value that is not a tensor gives only the node's facts and `error`."""
    info = NodeInfo(node.id, node.label, node.kind, port, error=error)
    if value is None or not hasattr(value, "shape"):
        return info
    info.shape = tuple(int(n) for n in value.shape)
    info.dtype = str(value.dtype).split(".")[-1]
    info.device = str(value.device)
    info.data = _numpy(value)
    info.is_leaf = bool(value.is_leaf)
    info.requires_grad = bool(value.requires_grad)
    info.retains_grad = bool(getattr(value, "retains_grad", False))
    if info.is_leaf or info.retains_grad:
        info.grad = None if value.grad is None else _numpy(value.grad)
    grad_fn = value.grad_fn
    if grad_fn is not None:
        info.grad_fn = _node_name(grad_fn)
        info.next_functions = tuple(None if fn is None else _node_name(fn)
                                    for fn, _ in grad_fn.next_functions)
    version = getattr(value, "_version", None)
    info.version = version if isinstance(version, int) else None
    return info


@dataclass
class _Step:
    """One node of the run plan: what it is, where its inputs come from, its signature."""
    node: Node
    spec: NodeSpec
    edges: dict[str, Edge]          # input port -> the edge feeding it
    sources: tuple[str, ...]        # ids of the nodes feeding it
    no_grad: bool
    signature: str
    params: dict                    # its parameters, file paths relative to base_dir resolved
    module_key: str                 # what its layer is made from ("" for a node without one)


class _InputUnavailable(NodeRunError):
    """An input is missing because its source failed or is not connected."""


class _InputNotConnected(_InputUnavailable):
    """An input is missing because it (or an input upstream) is not connected yet."""

    def __init__(self, text: str, waiting_for: str) -> None:
        super().__init__(text)
        self.waiting_for = waiting_for      # "input 'other'", or "'xy'" for a node upstream


def _numpy(tensor: Any) -> np.ndarray:
    return np.array(host_values(tensor), copy=True)


def _node_name(fn: Any) -> str:
    name = getattr(fn, "name", None)
    return name() if callable(name) else type(fn).__name__


def _canonical(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=repr)


def first_line(exc: BaseException) -> str:
    """An exception as one line for a person: its message's first line, else its type."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _shape_of(value: Any) -> str | None:
    shape = getattr(value, "shape", None)
    return None if shape is None else str(tuple(int(n) for n in shape))


def _describe(spec: NodeSpec, exc: Exception, inputs: dict) -> str:
    """One sentence for a node that failed: the kind, the reason, the input shapes."""
    if isinstance(exc, NodeRunError):
        text = str(exc)
        return text if text.startswith((f"{spec.kind}:", "engine", "input")) \
            else f"{spec.kind}: {text}"
    shapes = [f"{port} {_shape_of(v)}" for port, v in inputs.items() if _shape_of(v)]
    suffix = f" (inputs: {', '.join(shapes)})" if shapes else ""
    return f"{spec.kind}: {first_line(exc)}{suffix}"
