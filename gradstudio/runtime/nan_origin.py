"""Where a NaN or Inf came from: the offending op's inputs, and the values that made it.

    found = run_detecting_anomaly(session)        # runtime.anomaly: which node
    origin = nan_origin(session, found)           # which elements, and why
    origin.summary()      # "log 'y' made NaN in the forward: log of -0.3 (1 of 3 elements)"
    origin.inputs, origin.marks                   # per input port: values, offending elements

Forward: the node's output holds NaN/Inf although its inputs were finite (anomaly mode
stops at the first such node); the offending output elements are mapped back, through
broadcasting, to the input elements that made them, and each is said in words where the
op is known ("log of -0.3", "sqrt of -1", "0/0", "exp of 100 overflows").
Backward: the backward pass is stepped again (runtime.debugger, engine anomaly detection
off) to the first node whose gradients hold NaN/Inf; what it received, what it passed on
per input, and the forward values of those inputs at the offending elements are kept
("∂y/∂x at x = 0: upstream 1 → inf").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradstudio.runtime.anomaly import Anomaly
from gradstudio.runtime.chain_rule import sum_to
from gradstudio.runtime.session import Session
from .host import host_values

SHOWN_CULPRITS = 5


@dataclass
class NanOrigin:
    node_id: str
    label: str
    kind: str
    phase: str                                   # "forward" or "backward"
    bad: str                                     # "NaN" or "Inf"
    inputs: dict[str, np.ndarray] = field(default_factory=dict)   # the op's forward inputs
    marks: dict[str, np.ndarray] = field(default_factory=dict)    # per input: elements at fault
    result: np.ndarray | None = None             # forward: its output; backward: grads passed on
    result_mark: np.ndarray | None = None
    upstream: np.ndarray | None = None           # backward: the gradient it received
    culprits: list[str] = field(default_factory=list)             # "log of -0.3 = nan"
    count: int = 0                               # offending elements
    total: int = 0

    def summary(self) -> str:
        where = f"{self.kind} '{self.label}' made {self.bad} in the {self.phase}"
        if not self.culprits:
            return where
        more = f" (and {self.count - 1} more" if self.count > 1 else " (1"
        return f"{where}: {self.culprits[0]}{more} of {self.total} elements)"

    def text(self) -> str:
        lines = [self.summary()]
        lines += [f"  {c}" for c in self.culprits[1:]]
        for name, values in self.inputs.items():
            mark = self.marks.get(name)
            bad = "" if mark is None or not mark.any() else \
                f"  <- {int(mark.sum())} element(s) at fault"
            lines.append(f"  {name}: {_short(values)}{bad}")
        if self.upstream is not None:
            lines.append(f"  upstream gradient: {_short(self.upstream)}")
        return "\n".join(lines)


def nan_origin(session: Session, anomaly: Anomaly) -> NanOrigin | None:
    """The origin of what `anomaly` stopped at (None when the session cannot show it)."""
    if "backward" in anomaly.message:
        return backward_origin(session)
    return forward_origin(session, anomaly.node_id)


# ============================================================================ forward
def forward_origin(session: Session, node_id: str) -> NanOrigin | None:
    """Which output elements of `node_id` are NaN/Inf and which input values made them."""
    doc = session.document
    node = doc.nodes[node_id]
    outputs = session.outputs.get(node_id, {})
    port, output = next(((p, v) for p, v in outputs.items() if _bad(v) is not None),
                        (None, None))
    if output is None:
        return None
    result = _numpy(output)
    mark = ~np.isfinite(result)
    inputs = _inputs(session, node_id)
    origin = NanOrigin(node_id, node.label, node.kind, "forward", _bad(output), inputs,
                       result=result, result_mark=mark, count=int(mark.sum()),
                       total=int(mark.size))
    for name, values in inputs.items():
        origin.marks[name] = _back_to(mark, values.shape)
    for position in list(zip(*np.nonzero(mark)))[:SHOWN_CULPRITS] if mark.ndim else \
            ([()] if mark.any() else []):
        here = {name: _at(values, position, result.shape) for name, values in inputs.items()}
        origin.culprits.append(_forward_words(node.kind, here, result[position]))
    return origin


def _forward_words(kind: str, values: dict[str, float | None], result: float) -> str:
    """"log of -0.3 = nan", "0/0 = nan", or "kind(input=1, other=2) = inf"."""
    x = values.get("input")
    other = values.get("other")
    out = _num(result)
    if kind == "log" and x is not None:
        return f"log of {_num(x)} = {out}"
    if kind == "sqrt" and x is not None:
        return f"sqrt of {_num(x)} = {out}"
    if kind == "div" and x is not None and other is not None:
        if x == 0 and other == 0:
            return "0/0 = nan"
        if other == 0:
            return f"{_num(x)}/0 = {out}"
        return f"{_num(x)}/{_num(other)} overflows to {out}"
    if kind == "pow" and x is not None and other is not None:
        return f"{_num(x)} ** {_num(other)} = {out}"
    if kind == "exp" and x is not None:
        return f"exp of {_num(x)} overflows to {out}"
    if kind == "mul" and x is not None and other is not None:
        return f"{_num(x)} × {_num(other)} overflows to {out}"
    shown = ", ".join(f"{k}={_num(v)}" for k, v in values.items() if v is not None)
    return f"{kind}({shown}) = {out}"


# ============================================================================ backward
def backward_origin(session: Session, root: str | None = None) -> NanOrigin | None:
    """Steps the backward again (engine anomaly detection off) to the first node whose
    gradients hold NaN/Inf: what it received, what it passed on, its inputs' values."""
    from gradstudio.runtime.debugger import BackwardDebugger, Breakpoints
    engine = session.engine
    debugger = BackwardDebugger(session, root)
    marked = dict(session.errors)           # the anomaly's marks stay on their nodes
    with engine.autograd.set_detect_anomaly(False):
        try:
            if not debugger.start():
                return None
            debugger.run(Breakpoints(nan_or_inf=True))
        finally:
            debugger.close()
            session.errors.update(marked)
    if debugger.stop_reason is None:
        return None
    return step_origin(session, debugger)


def step_origin(session: Session, debugger: Any) -> NanOrigin | None:
    """The origin read from the step a debugger shows (one that made NaN/Inf gradients)."""
    step = debugger.current
    if step is None:
        return None
    planned = step.planned
    node_id = planned.node_id
    if node_id is None or node_id not in session.document.nodes:
        return None
    node = session.document.nodes[node_id]
    inputs = _inputs(session, node_id)
    ports = {e.id: e.dst_port for e in session.document.edges_into(node_id)}
    bad_flows = [f for f in step.flows if f.grad is not None and not f.grad.finite]
    upstream = step.grads_in[0].array if step.grads_in and step.grads_in[0] is not None \
        else None
    first = bad_flows[0].grad.array if bad_flows else None
    bad = "NaN" if any(np.isnan(f.grad.array).any() for f in bad_flows) else "Inf"
    origin = NanOrigin(node_id, node.label, node.kind, "backward", bad, inputs,
                       result=first, upstream=upstream)
    for flow in bad_flows:
        mark = ~np.isfinite(flow.grad.array)
        port = next((ports[e] for e in flow.edge_ids if e in ports), None)
        name = port or planned.name
        origin.count += int(mark.sum())
        origin.total += int(mark.size)
        if port in inputs and inputs[port].shape == mark.shape:
            origin.marks[port] = mark
        positions = list(zip(*np.nonzero(mark)))[:SHOWN_CULPRITS] if mark.ndim else [()]
        for position in positions:
            here = {k: _at(v, position, mark.shape) for k, v in inputs.items()}
            values = ", ".join(f"{k} = {_num(v)}" for k, v in here.items() if v is not None)
            up = _at(upstream, position, mark.shape) if upstream is not None else None
            up_text = f"upstream {_num(up)}" if up is not None else \
                f"upstream {_short(upstream)}" if upstream is not None else "upstream None"
            origin.culprits.append(
                f"∂{node.label}/∂{name} at {values or 'its inputs'}: {up_text} → "
                f"{_num(flow.grad.array[position])}")
    if origin.result is not None:
        origin.result_mark = ~np.isfinite(origin.result)
    return origin


# ============================================================================ helpers
def _inputs(session: Session, node_id: str) -> dict[str, np.ndarray]:
    """The node's inputs by port (a binary op's unconnected operand: its scalar parameter)."""
    doc = session.document
    node = doc.nodes[node_id]
    found: dict[str, np.ndarray] = {}
    for edge in doc.edges_into(node_id):
        value = session.outputs.get(edge.src, {}).get(edge.src_port)
        if hasattr(value, "detach"):
            found[edge.dst_port] = _numpy(value)
    for name in ("scalar", "exponent"):
        if name in node.params and "other" not in found and isinstance(
                node.params[name], (int, float)):
            found["other"] = np.asarray(float(node.params[name]))
    return found


def _back_to(mark: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The input elements that feed the marked output elements (through broadcasting);
    all False when the input does not broadcast to the output (a matmul, a reduction)."""
    try:
        np.broadcast_shapes(shape, mark.shape)
    except ValueError:
        return np.zeros(shape, bool)
    if np.broadcast_shapes(shape, mark.shape) != mark.shape:
        return np.zeros(shape, bool)
    return sum_to(mark.astype(np.int64), shape).reshape(shape) > 0


def _at(values: np.ndarray | None, position: tuple, shape: tuple) -> float | None:
    """An input's value at an output position (broadcast); None when it does not line up."""
    if values is None:
        return None
    try:
        return float(np.broadcast_to(values, shape)[position])
    except ValueError:
        return None


def _bad(value: Any) -> str | None:
    if not hasattr(value, "detach"):
        return None
    array = _numpy(value)
    if array.dtype.kind not in "fc" or np.isfinite(array).all():
        return None
    return "NaN" if np.isnan(array).any() else "Inf"


def _numpy(tensor: Any) -> np.ndarray:
    return np.array(host_values(tensor), copy=True)


def _num(value: float | None) -> str:
    return "None" if value is None else f"{float(value):.4g}"


def _short(array: np.ndarray) -> str:
    if array.size <= 6:
        return "[" + ", ".join(_num(v) for v in array.ravel()) + "]" if array.ndim else \
            _num(array)
    return f"{tuple(array.shape)} tensor"
