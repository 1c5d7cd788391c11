"""Step-through backward for a document: the engine's own generator, one node per step, traced.

    debugger = BackwardDebugger(Session(doc))
    debugger.start()                       # forward, zero grads, plan the schedule
    [p.name for p in debugger.plan]        # ["MulBackward0", "AddBackward0", ...]
    step = debugger.step()                 # runs exactly one engine node (or re-shows one)
    step.flows, step.accumulations, step.state.grads
    debugger.step_back(); debugger.seek(0) # earlier states come from the trace, not a rerun
    debugger.run(Breakpoints(nan_or_inf=True))

The schedule is `engine.autograd.backward_plan` and each step is one `next()` on the
generator `Session.backward_steps` wraps (`engine.autograd.backward_steps`), so what is
shown is what the engine did. Every engine node is mapped to the document node that made
it: a tensor's grad_fn to the node whose output it is, a leaf's AccumulateGrad to the
leaf (or the layer owning the Parameter), and the grad_fns inside a node (a layer's or a
loss's inner ops) to that node. Each step keeps a `DebugState` (gradient received so far
per document output, `.grad` of leaves and retained tensors, pending input buffers,
which gradients are final), read from per-key timelines that only ever grow, so stepping
back or scrubbing re-shows any earlier state exactly and recording stays linear. Before each node runs, its local Jacobians are read off its own
backward (`runtime.chain_rule.local_jacobians`, small outputs only) for the chain rule
with numbers. `ForwardWalk` lists the forward pass node by node in the order
the Session ran it, for showing the graph being built before it is walked backward.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from gradstudio.graph.document import Document
from gradstudio.runtime.chain_rule import local_jacobians
from gradstudio.runtime.session import RunError, Session, first_line
from .host import host_values

SHOWN_VALUES = 4                   # gradients this small are shown number by number
OutputKey = tuple[str, str]        # (document node id, output port or Parameter name)

# ============================================================================ what is shown
@dataclass(frozen=True, eq=False)
class Grad:
    """A copy of one gradient, with what the debugger prints about it (compared by identity:
    numbers are compared with `array`)."""
    array: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @cached_property
    def norm(self) -> float:
        return float(np.linalg.norm(self.array.astype(np.float64).ravel()))

    @property
    def value(self) -> float | None:
        """The number, for a one-element gradient."""
        return float(self.array.ravel()[0]) if self.array.size == 1 else None

    @cached_property
    def finite(self) -> bool:
        return bool(np.isfinite(self.array).all())

    def text(self) -> str:
        return array_text(self.array, self.norm if self.array.size > SHOWN_VALUES else None)

    def __add__(self, other: "Grad") -> "Grad":
        return Grad(self.array + other.array)


def array_text(array: np.ndarray, norm: float | None = None) -> str:
    """"5" for one number, "[1.5, nan]" up to SHOWN_VALUES numbers, else "(2, 3) ‖9.1‖"."""
    if array.size == 1:
        return f"{float(array.ravel()[0]):.4g}"
    if array.size <= SHOWN_VALUES:
        return "[" + ", ".join(f"{v:.3g}" for v in array.ravel().tolist()) + "]"
    if norm is None:
        norm = float(np.linalg.norm(array.astype(np.float64).ravel()))
    return f"{tuple(array.shape)} ‖{norm:.3g}‖"


def grad_of(tensor: Any) -> Grad | None:
    if tensor is None:
        return None
    return Grad(np.array(host_values(tensor), copy=True))


def grad_text(grad: Grad | None) -> str:
    return "None" if grad is None else grad.text()


@dataclass(frozen=True)
class PlannedNode:
    """One engine node of the schedule and the document node it belongs to."""
    index: int
    name: str                     # grad_fn name: "MulBackward0", "AccumulateGrad"
    node_id: str | None           # document node that created it (None: unknown)
    port: str | None              # the output (or Parameter) it is the grad_fn/sink of
    label: str                    # the document node's label ("" when unknown)

    def title(self) -> str:
        where = self.label if self.port in (None, "out") else f"{self.label}.{self.port}"
        return f"{self.name}  ({where})" if where else self.name


@dataclass(frozen=True)
class Flow:
    """A gradient one step passed on to one of its node's next_functions."""
    target: int | None            # plan index of the receiving engine node
    target_node_id: str | None
    input_nr: int
    grad: Grad | None
    edge_ids: tuple[str, ...]     # document edges it travels along (drawn dst -> src)


@dataclass(frozen=True)
class Accumulation:
    """A write into a tensor's .grad: before is None on the first write."""
    key: OutputKey | None
    label: str
    before: Grad | None
    after: Grad | None


@dataclass(frozen=True)
class HookFiring:
    description: str
    before: tuple[Grad | None, ...]
    after: tuple[Grad | None, ...]
    node_id: str | None = None


_GONE = object()                   # a timeline value meaning "no longer there"


class Timeline:
    """Each key's values over the steps, appended in step order; `at(k)` is the dict after
    k steps. Recording costs what changed, so a long backward stays linear."""

    def __init__(self) -> None:
        self._steps: dict[Any, list[int]] = {}
        self._values: dict[Any, list[Any]] = {}

    def set(self, step: int, key: Any, value: Any) -> None:
        steps = self._steps.setdefault(key, [])
        values = self._values.setdefault(key, [])
        if steps and steps[-1] == step:
            values[-1] = value
        else:
            steps.append(step)
            values.append(value)

    def remove(self, step: int, key: Any) -> None:
        if key in self._steps:
            self.set(step, key, _GONE)

    def latest(self, key: Any, default: Any = None) -> Any:
        values = self._values.get(key)
        return default if not values or values[-1] is _GONE else values[-1]

    def at(self, step: int) -> dict:
        found = {}
        for key, steps in self._steps.items():
            i = bisect_right(steps, step) - 1
            if i >= 0 and self._values[key][i] is not _GONE:
                found[key] = self._values[key][i]
        return found


@dataclass(frozen=True)
class Timelines:
    """Everything a DebugState shows, over the steps of one backward."""
    grads: Timeline = field(default_factory=Timeline)
    grad_attrs: Timeline = field(default_factory=Timeline)
    pending: Timeline = field(default_factory=Timeline)
    final: Timeline = field(default_factory=Timeline)
    contributions: Timeline = field(default_factory=Timeline)


@dataclass(frozen=True, eq=False)
class DebugState:
    """What is shown after `steps_taken` steps: read from the timelines on first use, then
    kept. A later step never changes an earlier state."""
    steps_taken: int
    timelines: Timelines

    @cached_property
    def grads(self) -> dict[OutputKey, Grad]:
        """The gradient each document output has received so far (summed)."""
        return self.timelines.grads.at(self.steps_taken)

    @cached_property
    def grad_attrs(self) -> dict[OutputKey, Grad | None]:
        """`.grad` of the leaves backward writes and of retained tensors."""
        return self.timelines.grad_attrs.at(self.steps_taken)

    @cached_property
    def pending(self) -> dict[int, dict[int, Grad]]:
        """Plan index -> {input nr: summed gradient} for nodes that have not run yet."""
        return self.timelines.pending.at(self.steps_taken)

    @cached_property
    def final(self) -> frozenset[OutputKey]:
        """Outputs whose gradient can no longer change."""
        return frozenset(self.timelines.final.at(self.steps_taken))

    @cached_property
    def contributions(self) -> dict[OutputKey, tuple[Grad, ...]]:
        """Each output's running sum after each arrival, in order (leaf accumulation)."""
        return self.timelines.contributions.at(self.steps_taken)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DebugState) and (self.steps_taken, self.timelines) == \
            (other.steps_taken, other.timelines)

    __hash__ = None


@dataclass(frozen=True)
class TraceStep:
    """What one engine node did, and the state after it."""
    index: int
    planned: PlannedNode
    formula: str
    grads_in: tuple[Grad | None, ...]
    flows: tuple[Flow, ...]
    saved: tuple[tuple[str, str], ...]      # saved tensors/values: name, short text
    accumulations: tuple[Accumulation, ...]
    hooks: tuple[HookFiring, ...]
    state: DebugState
    # per flow: the node's Jacobian for that input, read off its own backward before it ran
    # (runtime.chain_rule; () for a node whose outputs are too large to spell out)
    jacobians: tuple[np.ndarray | None, ...] = ()

    def grads(self) -> list[Grad]:
        """Every gradient this step produced (for breakpoint conditions)."""
        found = [f.grad for f in self.flows if f.grad is not None]
        found += [a.after for a in self.accumulations if a.after is not None]
        found += [g for h in self.hooks for g in h.after if g is not None]
        return found


@dataclass
class Breakpoints:
    """When `BackwardDebugger.run` stops: after a step of one of `node_ids`, or whose
    gradients hold NaN/Inf, or have a norm above/below a threshold."""
    node_ids: set[str] = field(default_factory=set)
    nan_or_inf: bool = False
    norm_above: float | None = None
    norm_below: float | None = None

    def reason(self, step: TraceStep) -> str | None:
        """Why `step` is a place to stop, or None."""
        if step.planned.node_id in self.node_ids:
            return f"breakpoint on {step.planned.label}"
        grads = step.grads()
        if self.nan_or_inf and any(not g.finite for g in grads):
            kind = "NaN" if any(np.isnan(g.array).any() for g in grads) else "Inf"
            return f"{kind} gradient from {step.planned.title()}"
        if self.norm_above is not None:
            big = [g.norm for g in grads if g.norm > self.norm_above]
            if big:
                return f"gradient norm {max(big):.4g} > {self.norm_above:g} at {step.planned.title()}"
        if self.norm_below is not None:
            small = [g.norm for g in grads if g.norm < self.norm_below]
            if small:
                return f"gradient norm {min(small):.4g} < {self.norm_below:g} at {step.planned.title()}"
        return None


# ============================================================================ the debugger
class BackwardDebugger:
    def __init__(self, session: Session, root: str | None = None) -> None:
        self.session = session
        self.root = root
        self.plan: list[PlannedNode] = []
        self.trace: list[TraceStep] = []
        self.position = 0              # steps shown: 0 = before the first, len(trace) = all
        self.initial: DebugState | None = None
        self.root_node_id: str | None = None
        self.root_edge_ids: tuple[str, ...] = ()
        self.seed: Grad | None = None
        self.error: str | None = None  # why the debugger cannot (or can no longer) step
        self.stop_reason: str | None = None
        self._steps: Iterator[Any] | None = None
        self._engine_nodes: list[Any] = []
        self._index: dict[Any, int] = {}
        self._owner: dict[Any, tuple[str, str | None]] = {}
        self._outputs_of: dict[tuple[Any, int], OutputKey] = {}
        self._tensor_key: dict[int, OutputKey] = {}
        self._remaining: list[int] = []    # per plan index: planned producers not yet run
        self._keys_at: dict[int, list[OutputKey]] = {}   # plan index -> outputs it receives for
        self._timelines = Timelines()
        self._done = False

    @property
    def document(self) -> Document:
        return self.session.document

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> bool:
        """Forward (re-running what changed), .grad set to None, the schedule planned.
        False with `error` set when there is nothing to step (no root, a failed node)."""
        self.close()
        self.plan, self.trace, self.position = [], [], 0
        self.error = self.stop_reason = None
        self.initial = None
        self._done = False
        session = self.session
        try:
            session.forward()
            session.zero_grad()
            root_id, tensor, gradient, retain = session.backward_arguments(self.root)
            engine = session.engine
            grads = None if gradient is None else [gradient]
            nodes = engine.autograd.backward_plan([tensor], grads, retain_graph=True)
        except RunError as exc:
            self.error = str(exc)
            return False
        except Exception as exc:                        # noqa: BLE001 - the engine refused
            self.error = f"backward: {first_line(exc)}"
            return False
        self.root_node_id = root_id
        root_node = self.document.nodes[root_id]
        self.root_edge_ids = tuple(e.id for e in self.document.edges_into(root_id)
                                   if e.dst_port == "input") if root_node.kind == "backward" else ()
        self._map_owners()
        self._engine_nodes = list(nodes)
        self._index = {fn: i for i, fn in enumerate(nodes)}
        self.plan = [self._planned(i, fn) for i, fn in enumerate(nodes)]
        self._remaining = [0] * len(nodes)
        for fn in nodes:
            for nxt, _ in fn.next_functions:
                if nxt in self._index:
                    self._remaining[self._index[nxt]] += 1
        self._keys_at = {}
        for (fn, _), key in self._outputs_of.items():
            if fn in self._index:
                self._keys_at.setdefault(self._index[fn], []).append(key)
        seed = gradient if gradient is not None else engine.ones_like(tensor)
        self.seed = grad_of(seed)
        self.initial = self._initial_state(tensor)
        self._steps = session.backward_steps(self.root)
        return True

    def close(self) -> None:
        """Stops the engine's generator (the Session then knows its graph is freed)."""
        if self._steps is not None:
            self._steps.close()
            self._steps = None

    # ---------------------------------------------------------------- where we are
    @property
    def started(self) -> bool:
        return self.initial is not None

    @property
    def finished(self) -> bool:
        """Every planned node ran (or the engine stopped with an error)."""
        return self.started and (self._done or len(self.trace) == len(self.plan))

    @property
    def at_end(self) -> bool:
        return self.finished and self.position == len(self.trace)

    @property
    def current(self) -> TraceStep | None:
        """The step shown now (None before the first)."""
        return self.trace[self.position - 1] if self.position > 0 else None

    @property
    def state(self) -> DebugState | None:
        step = self.current
        return step.state if step is not None else self.initial

    def next_planned(self) -> PlannedNode | None:
        return self.plan[self.position] if self.position < len(self.plan) else None

    # ---------------------------------------------------------------- moving
    def step(self) -> TraceStep | None:
        """One node forward: re-shows a traced step, or runs the engine's next node."""
        if not self.started:
            return None
        if self.position < len(self.trace):
            self.position += 1
            return self.current
        if self.finished or self._steps is None:
            return None
        index = len(self.trace)
        fn = self._engine_nodes[index]
        saved = _saved_texts(fn)              # read before the node runs and frees them
        jacobians = local_jacobians(fn, self.session.engine)
        try:
            record = next(self._steps)
        except StopIteration:
            self._done = True
            return None
        except Exception as exc:              # noqa: BLE001 - e.g. a hook or a shape error
            self.error = f"backward stopped at {self.plan[index].title()}: {first_line(exc)}"
            self._done = True
            self.close()
            return None
        if record.node is not fn:             # the plan and the run must agree
            self.error = (f"the engine ran {_name(record.node)} where the plan said "
                          f"{self.plan[index].name}")
            self._done = True
            self.close()
            return None
        step = replace(self._record(index, record, saved), jacobians=jacobians)
        self.trace.append(step)
        self.position = len(self.trace)
        if len(self.trace) == len(self.plan):
            self.close()
        return step

    def step_back(self) -> TraceStep | None:
        if self.position > 0:
            self.position -= 1
        return self.current

    def seek(self, position: int) -> TraceStep | None:
        """Shows the state after `position` traced steps (0: before the first)."""
        self.position = max(0, min(position, len(self.trace)))
        return self.current

    def run(self, breakpoints: Breakpoints | None = None) -> str | None:
        """Steps until a breakpoint (returns why) or the end (returns None)."""
        self.stop_reason = None
        while self.step() is not None:
            if breakpoints is not None:
                reason = breakpoints.reason(self.current)
                if reason:
                    self.stop_reason = reason
                    return reason
        return None

    def run_to_node(self, node_id: str) -> str | None:
        return self.run(Breakpoints(node_ids={node_id}))

    # ---------------------------------------------------------------- mapping
    def _map_owners(self) -> None:
        """Engine node -> (document node id, port or None), and tensor -> output key."""
        doc, session = self.document, self.session
        owner: dict[Any, tuple[str, str | None]] = {}
        outputs_of: dict[tuple[Any, int], OutputKey] = {}
        tensor_key: dict[int, OutputKey] = {}
        order = doc.topological_order()
        for node_id in order:
            for port, value in session.outputs.get(node_id, {}).items():
                if not hasattr(value, "grad_fn"):
                    continue
                tensor_key.setdefault(id(value), (node_id, port))
                fn = value.grad_fn
                if fn is not None and fn not in owner:
                    owner[fn] = (node_id, port)
                    outputs_of[(fn, _output_nr(value))] = (node_id, port)
            module = session.modules.get(node_id)
            if module is not None:
                for name, parameter in module.named_parameters():
                    tensor_key.setdefault(id(parameter), (node_id, name))
        visited: set[Any] = set()
        for node_id in order:
            stack = [v.grad_fn for v in session.outputs.get(node_id, {}).values()
                     if getattr(v, "grad_fn", None) is not None]
            while stack:
                fn = stack.pop()
                if fn in visited:
                    continue
                visited.add(fn)
                variable = getattr(fn, "variable", None)
                if variable is not None and id(variable) in tensor_key:
                    key = tensor_key[id(variable)]
                    owner.setdefault(fn, key)
                    outputs_of.setdefault((fn, 0), key)
                owner.setdefault(fn, (node_id, None))
                stack.extend(nxt for nxt, _ in fn.next_functions
                             if nxt is not None and nxt not in visited)
        self._owner, self._outputs_of, self._tensor_key = owner, outputs_of, tensor_key

    def _planned(self, index: int, fn: Any) -> PlannedNode:
        node_id, port = self._owner.get(fn, (None, None))
        label = self.document.nodes[node_id].label if node_id in self.document.nodes else ""
        return PlannedNode(index, _name(fn), node_id, port, label)

    def _edges_for(self, src: str | None, dst: str | None) -> list[str]:
        """Document edges a gradient from dst's node back to src's node travels, in the
        order of dst's input ports."""
        if src is None or dst is None or src == dst:
            return []
        return [e.id for e in self.document.edges_into(dst) if e.src == src and not e.detach]

    # ---------------------------------------------------------------- states
    def _initial_state(self, root_tensor: Any) -> DebugState:
        lines = self._timelines = Timelines()
        if self.plan:
            first = self._engine_nodes[0]
            nr = _output_nr(root_tensor) if root_tensor.grad_fn is first else 0
            lines.pending.set(0, 0, {nr: self.seed})
            key = self._outputs_of.get((first, nr))
            if key is not None:
                lines.grads.set(0, key, self.seed)
                lines.contributions.set(0, key, (self.seed,))
        for key in self._sinks():
            lines.grad_attrs.set(0, key, None)
        for i, keys in self._keys_at.items():
            if self._remaining[i] == 0:
                for key in keys:
                    lines.final.set(0, key, True)
        return DebugState(0, lines)

    def _sinks(self) -> list[OutputKey]:
        """Outputs whose .grad backward writes: leaves that require grad in the plan."""
        return [self._outputs_of[(fn, 0)] for fn in self._engine_nodes
                if hasattr(fn, "variable") and (fn, 0) in self._outputs_of]

    def _record(self, index: int, record: Any, saved: tuple) -> TraceStep:
        lines, now = self._timelines, index + 1
        planned = self.plan[index]
        lines.pending.remove(now, index)
        for key in self._keys_at.get(index, ()):
            lines.final.set(now, key, True)

        flows = []
        used: dict[str, int] = {}
        for (nxt, nr), g in zip(record.node.next_functions, record.grads_out):
            grad = grad_of(g)
            target = self._index.get(nxt) if nxt is not None else None
            target_node = self._owner.get(nxt, (None, None))[0] if nxt is not None else None
            edges = self._edges_for(target_node, planned.node_id)
            k = used.get(target_node, 0) if target_node is not None else 0
            if target_node is not None:
                used[target_node] = k + 1
            edge_ids = (edges[k],) if k < len(edges) else tuple(edges)
            flows.append(Flow(target, target_node, nr, grad, edge_ids))
            if target is None:
                continue
            self._remaining[target] -= 1
            if self._remaining[target] == 0:
                for key in self._keys_at.get(target, ()):
                    lines.final.set(now, key, True)
            buffer = dict(lines.pending.latest(target, {}))
            if grad is not None:
                buffer[nr] = grad if nr not in buffer else buffer[nr] + grad
                key = self._outputs_of.get((nxt, nr))
                if key is not None:
                    lines.grads.set(now, key, buffer[nr])
                    lines.contributions.set(
                        now, key, lines.contributions.latest(key, ()) + (buffer[nr],))
            lines.pending.set(now, target, buffer)

        accumulations = []
        for tensor, before, after in record.accumulations:
            key = self._tensor_key.get(id(tensor))
            grad_after = grad_of(after)       # one copy: the step and the timeline share it
            accumulations.append(Accumulation(key, self.key_label(key), grad_of(before),
                                              grad_after))
            if key is not None:
                lines.grad_attrs.set(now, key, grad_after)
        for tensor in record.retained:
            key = self._tensor_key.get(id(tensor))
            if key is not None:
                lines.grad_attrs.set(now, key, grad_of(tensor.grad))
        hooks = tuple(HookFiring(text, _grads(before), _grads(after), planned.node_id)
                      for text, before, after in record.hooks)
        formula = getattr(record.node, "formula", "")
        state = DebugState(now, lines)
        return TraceStep(index, planned, formula, _grads(record.grads_in), tuple(flows),
                         saved, tuple(accumulations), hooks, state)

    # ---------------------------------------------------------------- queries for views
    def engine_node(self, index: int) -> Any:
        """The engine node at a plan index."""
        return self._engine_nodes[index]

    def output_key(self, fn: Any, input_nr: int) -> OutputKey | None:
        """The document output whose gradient input `input_nr` of engine node `fn` is."""
        return self._outputs_of.get((fn, input_nr))

    def key_label(self, key: OutputKey | None) -> str:
        """"w" for a node's "out", "fc.weight" for a layer's Parameter, "?" for none."""
        if key is None or key[0] not in self.document.nodes:
            return "?"
        label = self.document.nodes[key[0]].label
        return label if key[1] == "out" else f"{label}.{key[1]}"

    def unreached(self) -> list[OutputKey]:
        """Outputs that require no grad or that no planned node feeds: their grad stays None."""
        planned = {key for (fn, _), key in self._outputs_of.items() if fn in self._index}
        keys = []
        for node_id, outputs in self.session.outputs.items():
            for port, value in outputs.items():
                if hasattr(value, "grad_fn") and (node_id, port) not in planned:
                    keys.append((node_id, port))
        return keys


# ============================================================================ forward walk
@dataclass(frozen=True)
class ForwardStep:
    node_id: str
    label: str
    kind: str
    text: str            # "(1,) float32 = 3, grad_fn AddBackward0" or the node's error


class ForwardWalk:
    """The forward pass, node by node in topological order, from a Session's last forward."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.steps: list[ForwardStep] = []
        self.position = 0

    def start(self) -> None:
        session, doc = self.session, self.session.document
        session.forward()
        self.steps, self.position = [], 0
        for node_id in doc.topological_order():
            node = doc.nodes[node_id]
            if node_id in session.errors:
                text = session.errors[node_id]
            else:
                outputs = session.outputs.get(node_id, {})
                port = "out" if "out" in outputs else next(iter(outputs), None)
                info = session.info(node_id, port) if port else None
                if info is None or info.shape is None:
                    text = "runs backward from its input" if node.kind == "backward" else "no value"
                else:
                    made = f"grad_fn {info.grad_fn}" if info.grad_fn else (
                        "leaf, requires grad" if info.requires_grad else "no grad_fn")
                    text = f"{info.shape} {info.dtype} = {array_text(info.data)}, {made}"
            self.steps.append(ForwardStep(node_id, node.label, node.kind, text))

    def step(self) -> ForwardStep | None:
        if self.position < len(self.steps):
            self.position += 1
            return self.steps[self.position - 1]
        return None

    def step_back(self) -> None:
        self.position = max(0, self.position - 1)

    def shown(self) -> list[str]:
        """Ids of the nodes the forward walk has reached."""
        return [s.node_id for s in self.steps[:self.position]]


# ============================================================================ helpers
def _name(fn: Any) -> str:
    name = fn.name() if callable(getattr(fn, "name", None)) else type(fn).__name__
    return name.rsplit("::", 1)[-1]


def _output_nr(tensor: Any) -> int:
    nr = getattr(tensor, "output_nr", None)
    return nr if isinstance(nr, int) else 0


def _grads(values: Any) -> tuple[Grad | None, ...]:
    if values is None:
        return ()
    if not isinstance(values, (tuple, list)):
        values = (values,)
    return tuple(grad_of(v) for v in values)


def _saved_texts(fn: Any) -> tuple[tuple[str, str], ...]:
    saved_values = getattr(fn, "saved_values", None)
    if saved_values is None:
        return ()
    try:
        values = saved_values()
    except RuntimeError:
        return (("saved tensors", "freed"),)
    texts = []
    for name, value in values.items():
        if hasattr(value, "detach"):
            texts.append((name, _tensor_text(value)))
        else:
            texts.append((name, repr(value)))
    return tuple(texts)


def _tensor_text(tensor: Any) -> str:
    array = np.asarray(host_values(tensor))
    text = array_text(array)
    return text if array.size == 1 or array.size > SHOWN_VALUES else f"{tuple(array.shape)} {text}"
