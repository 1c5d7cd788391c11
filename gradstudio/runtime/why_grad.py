"""Why is this gradient None or zero? The causes, named and located, in path order.

    answer = why_grad(session, "w")        # a node label or id, "fc1.weight", "m.indices"
    answer.status                          # "has grad", "none" or "zero"
    answer.causes                          # [Cause(kind, text, node_id, edge_id, fraction)]
    answer.path_nodes, answer.path_edges   # the paths from the tensor to the backward root
    print(answer.text())

The answer is read from the document (which edges are detached, which nodes run in a
no_grad region, which leaves require grad) and from the engine graph the Session built:
the gradient that would reach the tensor and every node output between it and the root is
computed with `engine.autograd.grad(..., retain_graph=True)`, which writes no `.grad`, so
a gradient that is zero can be traced to the first place on the path where it became
zero (every unit of a relu inactive, a hook that zeroed it, a multiply by 0).

The tensor's `.grad` is read before anything runs. The probe then runs the forward again
where a backward freed the graph (what the next run would do anyway) and retains it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradstudio.graph.document import Document
from gradstudio.runtime.chain_rule import sum_to
from gradstudio.runtime.session import BACKWARD, RunError, Session, first_line
from .host import host_values

HAS_GRAD, NONE, ZERO = "has grad", "none", "zero"
_GATES = {"relu", "nn.ReLU", "clamp", "maximum", "minimum", "where", "max", "min", "amax",
          "nn.MaxPool2d", "abs"}


class UnknownName(RunError):
    """No node, output or layer parameter has this name."""


@dataclass(frozen=True)
class Cause:
    """One reason, located: the node (or edge) where it happens."""
    kind: str     # no_root, failed, no_tensor, not_on_path, detach, no_grad, source, integer,
    #               not_differentiable, new_leaf, inactive, hook, zero_factor, zero_seed,
    #               vanished, cancel, in_place, replaced, non_leaf, not_run, cleared
    text: str
    node_id: str | None = None
    edge_id: str | None = None
    fraction: float | None = None      # for inactive: the fraction of units that pass nothing


@dataclass
class WhyAnswer:
    name: str                          # what was asked about, as written
    node_id: str
    status: str                        # HAS_GRAD, NONE or ZERO
    grad: np.ndarray | None            # its .grad as it was when asked
    reaching: np.ndarray | None = None  # the gradient that reaches it from the root, if any
    causes: list[Cause] = field(default_factory=list)
    path_nodes: tuple[str, ...] = ()
    path_edges: tuple[str, ...] = ()

    def headline(self) -> str:
        if self.status == HAS_GRAD:
            return f"{self.name} has a gradient: {_values(self.grad)}"
        what = "None" if self.status == NONE else "zero"
        return f"{self.name}.grad is {what}"

    def text(self) -> str:
        lines = [self.headline()]
        if self.status != HAS_GRAD and not self.causes:
            lines.append("  no cause found")
        for i, cause in enumerate(self.causes, 1):
            lines.append(f"  {i}. {cause.text}")
        if self.reaching is not None and self.status != HAS_GRAD and _nonzero(self.reaching):
            lines.append(f"  the gradient that reaches it: {_values(self.reaching)}")
        return "\n".join(lines)


# ============================================================================ entry point
def why_grad(session: Session, name: str) -> WhyAnswer:
    """Explains `name`'s .grad: a node label or id, optionally `.port` or a layer's
    `.parameter` ("fc1.weight"). Raises UnknownName when nothing is called so."""
    doc = session.document
    node_id, port, is_parameter = resolve(doc, session, name)
    tensor = _tensor(session, node_id, port, is_parameter)
    grad = _grad_array(tensor)
    status = NONE if grad is None else (ZERO if not _nonzero(grad) else HAS_GRAD)
    answer = WhyAnswer(name, node_id, status, grad)
    try:
        root_id = session.root_id()
    except RunError as exc:
        answer.causes.append(Cause("no_root", str(exc)))
        return answer
    if root_id is None:
        if status != HAS_GRAD:
            answer.causes.append(Cause("no_root", "the graph has no backward root "
                                       "(add a Backward node or mark a node as root)"))
        return answer
    path, edges = _paths(doc, node_id, root_id)
    answer.path_nodes, answer.path_edges = tuple(path), tuple(edges)
    if status == HAS_GRAD:
        return answer
    if node_id in session.errors:
        answer.causes.append(Cause("failed", f"'{_label(doc, node_id)}' failed: "
                                   f"{session.errors[node_id]}", node_id))
        return answer
    node = doc.nodes[node_id]
    if node.kind == BACKWARD:
        answer.causes.append(Cause("no_tensor", f"'{node.label}' is a Backward node: it runs "
                                   "backward from its input and holds no tensor of its own "
                                   "(ask about its input)", node_id))
        return answer
    seeds = [e for e in doc.edges_out_of(node_id) if _is_seed_edge(doc, e)]
    if node_id not in path and seeds:
        answer.causes.append(Cause(
            "not_on_path", f"'{node.label}' only feeds the gradient port of "
            f"'{_label(doc, seeds[0].dst)}': the seed of the backward pass is not itself "
            "differentiated", node_id, seeds[0].id))
        return answer
    if node_id not in path:
        root = doc.nodes[root_id]
        answer.causes.append(Cause(
            "not_on_path", f"'{_label(doc, node_id)}' is not on any path to the backward root "
            f"'{root.label}': nothing computed from it reaches the loss", node_id))
        return answer
    order = {n: i for i, n in enumerate(doc.topological_order())}
    if tensor is None or not getattr(tensor, "requires_grad", False):
        answer.causes += _why_no_requires_grad(session, node_id, port, is_parameter, tensor, order)
    cuts = _cuts(session, node_id, port, is_parameter, tensor, path, edges, root_id, order)
    answer.causes += cuts
    if answer.causes:
        return answer
    answer.causes += _probe(session, answer, node_id, port, is_parameter, path, edges, root_id,
                            order)
    return answer


def resolve(doc: Document, session: Session, name: str) -> tuple[str, str, bool]:
    """(node id, output port or parameter name, is a layer parameter) for a name."""
    node = doc.nodes.get(name) or doc.node_by_label(name)
    if node is not None:
        outputs = [p.name for p in doc.spec(node).outputs]
        return node.id, "out" if "out" in outputs or not outputs else outputs[0], False
    head, _, tail = name.rpartition(".")
    node = doc.nodes.get(head) or doc.node_by_label(head) if head else None
    if node is not None:
        if tail in [p.name for p in doc.spec(node).outputs]:
            return node.id, tail, False
        module = session.modules.get(node.id)
        if module is None and doc.spec(node).make_module is not None:
            session.forward()
            module = session.modules.get(node.id)
        if module is not None and tail in dict(module.named_parameters()):
            return node.id, tail, True
    raise UnknownName(f"no node, output or parameter is called '{name}'")


# ============================================================================ the document
def _paths(doc: Document, start: str, root_id: str) -> tuple[list[str], list[str]]:
    """Nodes and edges on some path from `start` to the root (through the root's input
    port only: its gradient port is not differentiated), detached edges included."""
    outgoing: dict[str, list] = {}
    for edge in doc.edges.values():             # once: Document.edges_out_of scans them all
        outgoing.setdefault(edge.src, []).append(edge)
    down = {start}
    stack = [start]
    while stack:
        for edge in outgoing.get(stack.pop(), ()):
            if edge.dst not in down:
                down.add(edge.dst)
                stack.append(edge.dst)
    if root_id not in down:
        return [], []
    up = {root_id}
    stack = [root_id]
    while stack:
        node_id = stack.pop()
        for edge in doc.edges_into(node_id):
            if node_id == root_id and _is_seed_edge(doc, edge):
                continue
            if edge.src in down and edge.src not in up:
                up.add(edge.src)
                stack.append(edge.src)
    path = down & up
    edges = [e.id for e in doc.edges.values() if e.src in path and e.dst in path
             and not (e.dst == root_id and _is_seed_edge(doc, e))]
    return [n for n in doc.topological_order() if n in path], edges


def _is_seed_edge(doc: Document, edge) -> bool:
    return doc.nodes[edge.dst].kind == BACKWARD and edge.dst_port != "input"


def _why_no_requires_grad(session: Session, node_id: str, port: str, is_parameter: bool,
                          tensor: Any, order: dict[str, int]) -> list[Cause]:
    """Why the tensor does not require grad: its source, a no_grad region, a detach, an
    integer dtype - walking up from it to where requires_grad was lost."""
    doc = session.document
    label = _label(doc, node_id)
    if tensor is None:
        return [Cause("failed", f"'{label}' has no value: it did not run", node_id)]
    if _is_integer(tensor):
        return [Cause("integer", f"'{_name(doc, node_id, port, is_parameter)}' has integer dtype "
                      f"{_dtype(tensor)}: only floating point tensors can require grad", node_id)]
    if is_parameter:
        return [Cause("source", f"requires_grad is False at its source: the parameter "
                      f"'{_name(doc, node_id, port, True)}' was frozen", node_id)]
    causes: dict[tuple, Cause] = {}
    seen: set[str] = set()
    stack = [node_id]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        node = doc.nodes[current]
        here = _label(doc, current)
        incoming = doc.edges_into(current)
        if doc.in_no_grad(current):
            causes[(order[current], 0)] = Cause(
                "no_grad", f"'{here}' was computed inside the no_grad region "
                f"'{_region_of(doc, current)}': it records nothing for backward", current)
            continue
        if not incoming:
            if node.kind in ("tensor",):
                text = (f"requires_grad is False at its source: the leaf '{here}' has "
                        "requires_grad off")
            elif node.kind == "parameter":
                text = f"requires_grad is False at its source '{here}'"
            else:
                text = (f"requires_grad is False at its source: '{here}' ({node.kind}) is "
                        "data, which does not require grad")
            causes[(order[current], 1)] = Cause("source", text, current)
            continue
        for edge in incoming:
            value = session.outputs.get(edge.src, {}).get(edge.src_port)
            if edge.detach and getattr(value, "requires_grad", False):
                causes[(order[edge.dst], 0, edge.id)] = Cause(
                    "detach", f"the edge '{_label(doc, edge.src)}' -> '{here}' is detached: "
                    "no gradient crosses it", edge.dst, edge.id)
            elif getattr(value, "requires_grad", False):
                out = session.outputs.get(current, {}).get("out")
                causes[(order[current], 2)] = _lost_at(doc, current, out)
            else:
                stack.append(edge.src)
    return [causes[k] for k in sorted(causes)]


def _cuts(session: Session, start: str, port: str, is_parameter: bool, tensor: Any,
          path: list[str], edges: list[str], root_id: str, order: dict[str, int]) -> list[Cause]:
    """Where the paths from the tensor stop carrying its gradient before the root:
    detached edges, no_grad regions, ops whose output does not require grad. Every cut
    is listed (each would stop the gradient), none when some path carries it through."""
    doc = session.document
    on_path = set(edges)
    start_ports = list(session.outputs.get(start, {})) if is_parameter else [port]
    reached = {(start, p) for p in start_ports}     # would carry it, were every cut mended
    live = set()                                    # carries the gradient
    if getattr(tensor, "requires_grad", False):
        live = {(start, p) for p in start_ports
                if not is_parameter or getattr(session.outputs[start][p], "grad_fn", None)}
    found: list[tuple[tuple, Cause]] = []
    root_live = False
    for node_id in path:
        if node_id == start:
            continue
        feeding = [e for e in doc.edges_into(node_id) if e.id in on_path
                   and (e.src, e.src_port) in reached]
        if not feeding:
            continue
        carried = any(not e.detach and (e.src, e.src_port) in live for e in feeding)
        for edge in feeding:
            if edge.detach:
                found.append(((order[node_id], 0), Cause(
                    "detach", f"the path is cut by a detach: edge '{_label(doc, edge.src)}' -> "
                    f"'{_label(doc, node_id)}' passes no gradient", node_id, edge.id)))
        if node_id == root_id:
            root_live = carried
            continue
        here = _label(doc, node_id)
        outputs = session.outputs.get(node_id, {})
        reached |= {(node_id, p) for p in outputs}
        cut = None
        if doc.in_no_grad(node_id):
            cut = Cause("no_grad", f"'{here}' runs inside the no_grad region "
                        f"'{_region_of(doc, node_id)}': it records nothing for backward", node_id)
        elif node_id in session.errors:
            cut = Cause("failed", f"'{here}' failed: {session.errors[node_id]}", node_id)
        elif carried and not any(getattr(v, "grad_fn", None) is not None
                                 for v in outputs.values()):
            cut = _lost_at(doc, node_id, outputs.get("out"))
        if cut is not None:
            found.append(((order[node_id], 1), cut))
        elif carried:
            live |= {(node_id, p) for p, v in outputs.items()
                     if getattr(v, "grad_fn", None) is not None}
    if root_live:
        return []
    return [cause for _, cause in sorted(found, key=lambda item: item[0])]


def _lost_at(doc: Document, node_id: str, value: Any) -> Cause:
    """A node whose inputs require grad but whose output does not (or is a new leaf)."""
    node = doc.nodes[node_id]
    here = _label(doc, node_id)
    if value is not None and _is_integer(value):
        return Cause("integer", f"'{here}' ({node.kind}) outputs integer dtype {_dtype(value)}: "
                     "an integer tensor carries no gradient", node_id)
    if node.kind == "detach":
        return Cause("detach", f"the path is cut by the detach node '{here}'", node_id)
    if getattr(value, "requires_grad", False):
        return Cause("new_leaf", f"'{here}' ({node.kind}) makes a new leaf: the gradient stops "
                     "there instead of flowing on to its input", node_id)
    return Cause("not_differentiable", f"'{here}' ({node.kind}) is not differentiable: its "
                 "output does not require grad", node_id)


# ============================================================================ the engine
def _probe(session: Session, answer: WhyAnswer, node_id: str, port: str, is_parameter: bool,
           path: list[str], edges: list[str], root_id: str, order: dict[str, int]) -> list[Cause]:
    """The gradient that reaches the tensor and every output on the path (autograd.grad,
    graph retained, no .grad written), then what made it None or zero."""
    doc, engine = session.document, session.engine
    logged = len(session.messages)
    try:
        session.forward()               # rebuilds a graph a backward freed; leaves are kept
        tensor = _tensor(session, node_id, port, is_parameter)
        _, root, seed, _ = session.backward_arguments(root_id)
        keys = [(n, p) for n in path for p, v in session.outputs.get(n, {}).items()
                if getattr(v, "requires_grad", False) and (n, p) != (node_id, port)]
        inputs = [tensor] + [session.outputs[n][p] for n, p in keys]
        grads = engine.autograd.grad(root, inputs, None if seed is None else seed,
                                     retain_graph=True, allow_unused=True)
    except (RunError, RuntimeError) as exc:
        text = first_line(exc)
        if "inplace operation" in text:
            return [Cause("in_place", "a tensor the backward needs was changed in place after "
                          f"it was used: {text}", root_id)]
        return [Cause("failed", f"the backward fails: {text}", root_id)]
    finally:
        del session.messages[logged:]   # hooks that log ran for the probe, not for the person
    reaching = grads[0]
    answer.reaching = None if reaching is None else _array(reaching)
    label = _name(doc, node_id, port, is_parameter)
    if reaching is None:
        return [Cause("replaced", f"the graph that reaches the root does not use the current "
                      f"'{label}': it was replaced after the graph was built", node_id)]
    if not _nonzero(answer.reaching):
        arrived = {key: (None if g is None else _array(g)) for key, g in zip(keys, grads[1:])}
        arrived[(node_id, port)] = answer.reaching
        causes = _zero_makers(session, node_id, port, is_parameter, path, edges, root_id,
                              arrived, seed, order)
        if answer.status == NONE and tensor.is_leaf:
            causes.append(_not_written(session, label, node_id))
        elif answer.status == NONE and not tensor.retains_grad:
            causes.append(_non_leaf(label, tensor, node_id))
        return causes
    if not tensor.is_leaf and not tensor.retains_grad:
        return [_non_leaf(label, tensor, node_id)]
    if answer.status == NONE:
        return [_not_written(session, label, node_id)]
    return [Cause("cleared", f"'{label}'.grad was set to zeros after the backward "
                  "(zero_grad without set_to_none)", node_id)]


def _non_leaf(label: str, tensor: Any, node_id: str) -> Cause:
    return Cause("non_leaf", f"'{label}' is not a leaf (grad_fn {_fn_name(tensor)}): backward "
                 "keeps .grad only for leaves; switch on retain_grad to keep it", node_id)


def _not_written(session: Session, label: str, node_id: str) -> Cause:
    if getattr(session, "grads_cleared", False):
        return Cause("cleared", f"'{label}'.grad was cleared (zero grad) after the last "
                     "backward; run backward again", node_id)
    return Cause("not_run", f"backward has not run since '{label}' was made: a gradient "
                 "reaches it, run backward to write it into .grad", node_id)


def _zero_makers(session: Session, start: str, start_port: str, is_parameter: bool,
                 path: list[str], edges: list[str], root_id: str,
                 arrived: dict[tuple[str, str], np.ndarray | None], seed: Any,
                 order: dict[str, int]) -> list[Cause]:
    """Each place where a non-zero gradient meets a zero one: the consumer's op passes
    nothing back (inactive relu units, a multiply by 0) or a hook on the producer zeroed it."""
    doc = session.document
    causes: list[tuple[tuple, Cause]] = []
    if seed is not None and not _nonzero(_array(seed)):
        causes.append(((order[root_id], 0), Cause(
            "zero_seed", f"the gradient given to the backward root '{_label(doc, root_id)}' "
            "is zero", root_id)))
    consumers_of: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for edge_id in edges:
        edge = doc.edges[edge_id]
        if not edge.detach:
            consumers_of.setdefault((edge.src, edge.src_port), []).append((edge.dst, edge.dst_port))
    watched: list[tuple[tuple[str, str], list[tuple[str, str | None]]]] = []
    if is_parameter:                    # the layer's own op consumes its parameter
        watched.append(((start, start_port), [(start, None)]))
    for node_id in path:
        for port in session.outputs.get(node_id, {}):
            watched.append(((node_id, port), consumers_of.get((node_id, port), [])))
    for key, consumers in watched:
        node_id, port = key
        if key not in arrived or _nonzero(arrived[key]):
            continue
        active = [(c, p) for c, p in consumers if c == root_id or any(
            _nonzero(arrived.get((c, q))) for q in session.outputs.get(c, {}))]
        if not active:
            continue                    # the zero came from further down; reported there
        hook = _zeroing_hook(doc.nodes[node_id], port) if active[0][1] is not None else None
        if hook:
            causes.append(((order[node_id], 1), Cause(
                "hook", f"the {hook} hook on '{_name(doc, node_id, port, False)}' zeroed "
                "its gradient", node_id)))
            continue
        source = _name(doc, node_id, port, is_parameter and key == (start, start_port))
        if len(active) > 1:
            parts = [(c, _contribution(session, c, key, is_parameter and key == (start,
                                                                            start_port), arrived))
                     for c, _ in active[:32]]
            if len(active) > 32 or any(g is None or _nonzero(g) for _, g in parts):
                shown = " + ".join(f"{_values(g) if g is not None else '?'} from "
                                   f"'{_label(doc, c)}'" for c, g in parts[:6])
                more = f" + {len(active) - 6} more" if len(active) > 6 else ""
                causes.append(((order[node_id], 1), Cause(
                    "cancel", f"the gradients reaching '{source}' from its {len(active)} "
                    f"consumers cancel: {shown}{more} = 0", node_id)))
                continue
        for consumer, in_port in active:
            upstream = [arrived.get((consumer, p)) for p in session.outputs.get(consumer, {})]
            causes.append(((order[consumer], 2), _gate(session, consumer, in_port, source,
                                                       upstream)))
    unique: dict[tuple, Cause] = {}
    for k, cause in sorted(causes, key=lambda item: item[0]):
        unique.setdefault((cause.kind, cause.node_id), cause)
    return list(unique.values())


def _contribution(session: Session, consumer: str, key: tuple[str, str], is_parameter: bool,
                  arrived: dict) -> np.ndarray | None:
    """The gradient `consumer` sends back to the tensor at `key`: its output's grad_fn
    called with the gradient that reached it (the engine's own backward), or None where
    the tensor is not one of that grad_fn's direct inputs (inside a layer)."""
    engine = session.engine
    target = _tensor(session, key[0], key[1], is_parameter)
    outputs = session.outputs.get(consumer, {})
    for port, value in outputs.items():
        fn = getattr(value, "grad_fn", None)
        g = arrived.get((consumer, port))
        if fn is None or g is None:
            continue
        for i, (nxt, nr) in enumerate(fn.next_functions):
            if nxt is None or not (nxt is target.grad_fn and nr == getattr(target, "output_nr", 0)
                                   or getattr(nxt, "variable", None) is target):
                continue
            try:
                with engine.no_grad():
                    grads = fn(engine.tensor(g, dtype=value.dtype))
            except Exception:               # noqa: BLE001 - a node that needs all its outputs
                return None
            grads = grads if isinstance(grads, (tuple, list)) else (grads,)
            return None if grads[i] is None else sum_to(_array(grads[i]), tuple(target.shape))
    return None


def _zeroing_hook(node, port: str) -> str | None:
    for hook in node.hooks:
        if hook.get("port", "out") != port:
            continue
        kind = hook["kind"]
        if kind == "zero" or (kind == "scale" and hook["k"] == 0) or \
                (kind == "clamp" and hook["min"] == 0 == hook["max"]):
            return kind
    return None


def _gate(session: Session, node_id: str, in_port: str | None, source: str,
          upstream: list[np.ndarray | None] = ()) -> Cause:
    """Why a node passes a zero gradient back to its input on `in_port`: the fraction of
    its units that are inactive, for the ops that select (relu, clamp, max, where); a
    gradient so small that the node's product underflows; else a zero local derivative."""
    doc = session.document
    node = doc.nodes[node_id]
    here = _label(doc, node_id)
    inputs = {e.dst_port: session.outputs.get(e.src, {}).get(e.src_port)
              for e in doc.edges_into(node_id)}
    x = _array(inputs.get("input")) if inputs.get("input") is not None else None
    mask, what = None, None
    kind = node.kind
    if kind in ("relu", "nn.ReLU") and x is not None:
        mask, what = x <= 0, "input ≤ 0"
    elif kind == "clamp" and x is not None:
        low, high = node.params.get("min"), node.params.get("max")
        mask = np.zeros(x.shape, bool)
        if low is not None:
            mask |= x < low
        if high is not None:
            mask |= x > high
        what = f"input outside [{low}, {high}]"
    elif kind in ("maximum", "minimum") and x is not None and in_port in ("input", "other"):
        other = _array(inputs.get("other")) if inputs.get("other") is not None else \
            np.asarray(node.params.get("scalar", 0.0))
        mine, theirs = (x, other) if in_port == "input" else (other, x)
        mask = (mine < theirs) if kind == "maximum" else (mine > theirs)
        what = f"'{source}' is not the {'larger' if kind == 'maximum' else 'smaller'}"
    elif kind == "where" and inputs.get("condition") is not None and in_port != "condition":
        condition = _array(inputs["condition"]) != 0
        mask = ~condition if in_port == "input" else condition
        what = "the condition picks the other branch"
    elif kind in ("tanh", "nn.Tanh", "sigmoid", "nn.Sigmoid"):
        y = _array(session.outputs[node_id]["out"])         # in its own dtype, as backward
        mask = ((1 - y * y) if "anh" in kind else y * (1 - y)) == 0
        what = "a saturated output (local derivative 0)"
    elif kind in ("max", "min", "amax") and x is not None:
        mask = np.ones(x.shape, bool)
        mask.flat[int(np.argmax(x) if kind != "min" else np.argmin(x))] = False
        what = f"not the {'smallest' if kind == 'min' else 'largest'} element"
    if mask is not None and mask.size:
        fraction = float(np.mean(mask))
        count = int(np.sum(mask))
        return Cause("inactive", f"every unit of {kind} '{here}' is inactive for '{source}': "
                     f"{count} of {mask.size} ({fraction:.0%}) have {what}"
                     if fraction == 1.0 else
                     f"{kind} '{here}' passes nothing back to '{source}': {count} of "
                     f"{mask.size} units ({fraction:.0%}) have {what}, and the rest "
                     "receive a zero gradient", node_id, fraction=fraction)
    if kind in _GATES:
        return Cause("inactive", f"{kind} '{here}' passes no gradient back to '{source}'",
                     node_id)
    tiny = [g for g in upstream if g is not None and _nonzero(g)]
    if tiny and all(g.dtype.kind == "f" and np.abs(g).max() < np.finfo(g.dtype).tiny * 2 ** 24
                    for g in tiny):
        largest = max(float(np.abs(g).max()) for g in tiny)
        return Cause("vanished", f"the gradient reaching '{here}' ({kind}) has already vanished "
                     f"to {largest:.2g}: times its local derivative it underflows to 0 in "
                     f"{tiny[0].dtype} before reaching '{source}'", node_id)
    return Cause("zero_factor", f"'{here}' ({kind}) passes a zero gradient back to '{source}': "
                 "its local derivative is zero there (e.g. a multiply by 0)", node_id)


# ============================================================================ helpers
def _tensor(session: Session, node_id: str, port: str, is_parameter: bool) -> Any:
    if is_parameter:
        module = session.modules.get(node_id)
        return None if module is None else dict(module.named_parameters()).get(port)
    return session.outputs.get(node_id, {}).get(port)


def _grad_array(tensor: Any) -> np.ndarray | None:
    if tensor is None or not hasattr(tensor, "is_leaf"):
        return None
    if not (tensor.is_leaf or getattr(tensor, "retains_grad", False)):
        return None
    grad = tensor.grad
    return None if grad is None else _array(grad)


def _array(tensor: Any) -> np.ndarray:
    return np.array(host_values(tensor), copy=True)


def _nonzero(array: np.ndarray | None) -> bool:
    return array is not None and bool(np.any(array != 0))


def _is_integer(tensor: Any) -> bool:
    return np.dtype(_array_dtype(tensor)).kind in "iub"


def _array_dtype(tensor: Any):
    return np.asarray(host_values(tensor)).dtype


def _dtype(tensor: Any) -> str:
    return str(tensor.dtype).split(".")[-1]


def _fn_name(tensor: Any) -> str:
    fn = tensor.grad_fn
    return fn.name() if callable(getattr(fn, "name", None)) else type(fn).__name__


def _label(doc: Document, node_id: str) -> str:
    return doc.nodes[node_id].label


def _name(doc: Document, node_id: str, port: str, is_parameter: bool) -> str:
    label = _label(doc, node_id)
    return f"{label}.{port}" if is_parameter or port != "out" else label


def _region_of(doc: Document, node_id: str) -> str:
    for region in doc.regions.values():
        if region.kind == "no_grad" and node_id in region.node_ids:
            return region.label
    return "no_grad"


def _values(array: np.ndarray | None) -> str:
    if array is None:
        return "None"
    if array.size == 1:
        return f"{float(array.ravel()[0]):.4g}"
    if array.size <= 6:
        return "[" + ", ".join(f"{v:.4g}" for v in array.ravel().tolist()) + "]"
    norm = float(np.linalg.norm(array.astype(np.float64).ravel()))
    return f"{tuple(array.shape)} ‖{norm:.4g}‖"
