"""The document: nodes, edges and no_grad regions of one graph, with change notifications.

Plain data, no widgets and no engine tensors (Orange's canvas split: the scheme is a model,
the scene listens to it, undo commands only call the mutators below). Every mutator checks
its arguments, changes the model, then tells each listener with one `Change`.

    doc = Document()
    x = doc.add_node("tensor", label="x", params={"value": 2.0, "requires_grad": True})
    y = doc.add_node("tensor", label="y", params={"value": 3.0, "requires_grad": True})
    m = doc.add_node("mul")
    doc.add_edge(x.id, "out", m.id, "a")
    doc.add_edge(y.id, "out", m.id, "b")

A refused edit raises `GraphError` with a message for the person and leaves the
document unchanged.
"""
from __future__ import annotations

import copy
import heapq
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from gradstudio.graph.catalog_types import ANY, DATASET, TENSOR, NodeSpec
from gradstudio.graph.grad_hooks import check_hooks
from gradstudio.graph.groups import Group, GroupsMixin


class GraphError(ValueError):
    """An edit or a file the document refuses; the message is meant for the person."""


@dataclass
class Node:
    id: str
    kind: str
    label: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)
    # gradient hooks on its outputs, as data (see gradstudio.graph.grad_hooks)
    hooks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Edge:
    id: str
    src: str          # node id
    src_port: str     # output port name
    dst: str          # node id
    dst_port: str     # input port name
    detach: bool = False   # drawn dashed: no gradient crosses it


@dataclass
class Region:
    """A frame around nodes; kind "no_grad" runs them as under `with torch.no_grad():`."""
    id: str
    kind: str
    label: str
    node_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One notification. what: node_added, node_removed, node_changed, edge_added,
    edge_removed, edge_changed, region_added, region_removed, region_changed, group_changed
    (see gradstudio.graph.groups), meta_changed, reset. item: the Node/Edge/Region concerned (None for meta/reset). key: which field or
    parameter changed (for *_changed and meta_changed)."""
    what: str
    item: Any = None
    key: str | None = None


_LABEL_TAIL = re.compile(r"^(.*?)(\d+)$")


class Document(GroupsMixin):
    def __init__(self, catalog: dict[str, NodeSpec] | None = None) -> None:
        if catalog is None:
            from gradstudio.graph.catalog import CATALOG as catalog
        self.catalog = catalog
        self.nodes: dict[str, Node] = {}
        self.edges: dict[str, Edge] = {}
        self.regions: dict[str, Region] = {}
        self.groups: dict[str, Group] = {}
        # title, description, root (label of the backward root), training setup, ...
        self.meta: dict[str, Any] = {}
        self._listeners: list[Callable[[Change], None]] = []
        # Edge indexes kept in step with self.edges so that checking an edge costs the size
        # of the graph it could reach, not a scan of every edge (loading stays linear).
        self._input_edge: dict[tuple[str, str], str] = {}      # (dst, dst_port) -> edge id
        self._label_owner: dict[str, str] = {}                 # label -> node id
        self._consumers: dict[str, dict[str, int]] = {}        # src -> {dst: edge count}
        self._ids = itertools.count(1)
        # Goes up by one with every notification: a cheap "has anything changed?" for
        # caches such as the runtime's (edit through the mutators, never the fields).
        self.revision = 0

    # ---------------------------------------------------------------- listeners
    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Change], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, what: str, item: Any = None, key: str | None = None) -> None:
        self.revision += 1
        if self._listeners:        # (a document being built or loaded has none yet)
            change = Change(what, item, key)
            for listener in list(self._listeners):
                listener(change)

    # ---------------------------------------------------------------- lookup
    def spec(self, node_or_kind: Node | str) -> NodeSpec:
        kind = node_or_kind.kind if isinstance(node_or_kind, Node) else node_or_kind
        try:
            return self.catalog[kind]
        except KeyError:
            raise GraphError(f"unknown node kind '{kind}'") from None

    def node_by_label(self, label: str) -> Node | None:
        node_id = self._label_owner.get(label)
        return None if node_id is None else self.nodes[node_id]

    def edges_into(self, node_id: str) -> list[Edge]:
        """The edges feeding `node_id`, in the order of its input ports (from the index: no
        scan of every edge, so callers may ask once per node or per debugger step)."""
        node = self.nodes.get(node_id)
        if node is None:
            return []
        ids = (self._input_edge.get((node_id, port.name)) for port in self.spec(node).inputs)
        return [self.edges[edge_id] for edge_id in ids if edge_id is not None]

    def edges_out_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges.values() if e.src == node_id]

    def edges_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges.values() if node_id in (e.src, e.dst)]

    def new_id(self, prefix: str) -> str:
        while True:             # (no union of every id per call: a new id is O(1))
            candidate = f"{prefix}{next(self._ids)}"
            if candidate not in self.nodes and candidate not in self.edges \
                    and candidate not in self.regions and candidate not in self.groups:
                return candidate

    def unique_label(self, wanted: str, ignore: str | None = None) -> str:
        """`wanted` if free, else wanted2, wanted3, ... (labels are unique per document)."""
        def taken(label: str) -> bool:
            return self._label_owner.get(label, ignore) != ignore

        if not taken(wanted):
            return wanted
        m = _LABEL_TAIL.match(wanted)
        stem, n = (m.group(1), int(m.group(2))) if m else (wanted, 2)
        while taken(f"{stem}{n}"):
            n += 1
        return f"{stem}{n}"

    def upstream_of(self, node_id: str) -> set[str]:
        """`node_id` and every node it depends on (following edges backward)."""
        incoming: dict[str, list[str]] = {}
        for e in self.edges.values():
            incoming.setdefault(e.dst, []).append(e.src)
        seen, stack = set(), [node_id]
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(incoming.get(current, ()))
        return seen

    def topological_order(self) -> list[str]:
        """Node ids with every node after all of its inputs.

        Among the nodes that are ready, the one added to the document first comes first, so
        a graph runs in the order a script would: a tutorial's `a = w + x; b = w + 1` builds
        a before b, and the engine's backward order then matches PyTorch's for that script.
        """
        rank = {nid: i for i, nid in enumerate(self.nodes)}
        indegree = dict.fromkeys(self.nodes, 0)
        outgoing: dict[str, list[str]] = {nid: [] for nid in self.nodes}
        for e in self.edges.values():
            indegree[e.dst] += 1
            outgoing[e.src].append(e.dst)
        ready = [(rank[nid], nid) for nid, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, nid = heapq.heappop(ready)
            order.append(nid)
            for dst in outgoing[nid]:
                indegree[dst] -= 1
                if indegree[dst] == 0:
                    heapq.heappush(ready, (rank[dst], dst))
        if len(order) != len(self.nodes):
            raise GraphError("the graph has a cycle")
        return order

    # ---------------------------------------------------------------- nodes
    def add_node(self, kind: str, label: str | None = None, params: dict | None = None,
                 pos: tuple[float, float] = (0.0, 0.0), node_id: str | None = None) -> Node:
        spec = self.spec(kind)
        if node_id is not None and node_id in self.nodes:
            raise GraphError(f"a node with id '{node_id}' already exists")
        merged = spec.default_params()
        for key, value in (params or {}).items():
            if key not in merged:
                raise GraphError(f"{spec.title} has no parameter '{key}'")
            merged[key] = value
        label = self.unique_label(label or kind)
        node = Node(node_id or self.new_id("n"), kind, label, merged,
                    (float(pos[0]), float(pos[1])))
        self.nodes[node.id] = node
        self._label_owner[node.label] = node.id
        self._emit("node_added", node)
        return node

    def insert_node(self, node: Node) -> Node:
        """Put back a node object exactly as it was (undo of a removal)."""
        if node.id in self.nodes:
            raise GraphError(f"a node with id '{node.id}' already exists")
        if self.node_by_label(node.label) is not None:
            raise GraphError(f"a node labelled '{node.label}' already exists")
        self.spec(node)
        self.nodes[node.id] = node
        self._label_owner[node.label] = node.id
        self._emit("node_added", node)
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Removes the node and every edge touching it; returns both for undo."""
        node = self._node(node_id)
        removed = [self.remove_edge(e.id) for e in self.edges_of(node_id)]
        for region in self.regions.values():
            if node_id in region.node_ids:
                region.node_ids.remove(node_id)
                self._emit("region_changed", region, "node_ids")
        self._drop_from_groups(node_id)
        del self.nodes[node_id]
        del self._label_owner[node.label]
        self._emit("node_removed", node)
        return node, removed

    def set_param(self, node_id: str, key: str, value: Any) -> Any:
        """Sets one parameter; returns the previous value (for undo)."""
        node = self._node(node_id)
        if key not in node.params:
            raise GraphError(f"{self.spec(node).title} has no parameter '{key}'")
        old = node.params[key]
        node.params[key] = value
        self._emit("node_changed", node, key)
        return old

    def set_label(self, node_id: str, label: str) -> str:
        node = self._node(node_id)
        label = label.strip()
        if not label:
            raise GraphError("a label cannot be empty")
        other = self.node_by_label(label)
        if other is not None and other.id != node_id:
            raise GraphError(f"the label '{label}' is already used by another node")
        old, node.label = node.label, label
        del self._label_owner[old]
        self._label_owner[label] = node_id
        self._emit("node_changed", node, "label")
        return old

    def set_hooks(self, node_id: str, hooks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replaces the node's gradient hooks (checked); returns the previous list (for undo)."""
        node = self._node(node_id)
        problem = check_hooks(hooks, tuple(p.name for p in self.spec(node).outputs))
        if problem:
            raise GraphError(f"{node.label}: {problem}")
        old, node.hooks = node.hooks, copy.deepcopy(list(hooks))
        self._emit("node_changed", node, "hooks")
        return old

    def set_pos(self, node_id: str, pos: tuple[float, float]) -> tuple[float, float]:
        node = self._node(node_id)
        old, node.pos = node.pos, (float(pos[0]), float(pos[1]))
        self._emit("node_changed", node, "pos")
        return old

    # ---------------------------------------------------------------- edges
    def check_edge(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """Why this edge would be refused, or None when it may be added."""
        if src not in self.nodes or dst not in self.nodes:
            return "an edge must join two nodes of this graph"
        a, b = self.nodes[src], self.nodes[dst]
        out = self.spec(a).output(src_port)
        inp = self.spec(b).input(dst_port)
        if out is None:
            return f"{a.label} has no output '{src_port}'"
        if inp is None:
            return f"{b.label} has no input '{dst_port}'"
        if src == dst:
            return f"{a.label} cannot feed itself"
        if out.type == DATASET and inp.type == TENSOR:
            if inp.refuses_data:
                return (f"cannot connect {a.label}.{src_port} to {b.label}.{dst_port}: "
                        f"{inp.refuses_data}")
        elif ANY not in (out.type, inp.type) and out.type != inp.type:
            return (f"cannot connect {a.label}.{src_port} ({out.type}) "
                    f"to {b.label}.{dst_port} ({inp.type})")
        if (dst, dst_port) in self._input_edge:
            return f"{b.label}.{dst_port} already has an input"
        if self._reaches(dst, src):
            return f"connecting {a.label} to {b.label} would make a cycle"
        return None

    def add_edge(self, src: str, src_port: str, dst: str, dst_port: str,
                 detach: bool = False, edge_id: str | None = None) -> Edge:
        problem = self.check_edge(src, src_port, dst, dst_port)
        if problem:
            raise GraphError(problem)
        if edge_id is not None and edge_id in self.edges:
            raise GraphError(f"an edge with id '{edge_id}' already exists")
        edge = Edge(edge_id or self.new_id("e"), src, src_port, dst, dst_port, bool(detach))
        self.edges[edge.id] = edge
        self._index_edge(edge)
        self._emit("edge_added", edge)
        return edge

    def insert_edge(self, edge: Edge) -> Edge:
        """Put back an edge object exactly as it was (undo of a removal)."""
        problem = self.check_edge(edge.src, edge.src_port, edge.dst, edge.dst_port)
        if problem:
            raise GraphError(problem)
        self.edges[edge.id] = edge
        self._index_edge(edge)
        self._emit("edge_added", edge)
        return edge

    def remove_edge(self, edge_id: str) -> Edge:
        edge = self.edges.pop(edge_id, None)
        if edge is None:
            raise GraphError(f"no edge '{edge_id}'")
        del self._input_edge[(edge.dst, edge.dst_port)]
        consumers = self._consumers[edge.src]
        consumers[edge.dst] -= 1
        if not consumers[edge.dst]:
            del consumers[edge.dst]
        self._emit("edge_removed", edge)
        return edge

    def set_edge_detach(self, edge_id: str, detach: bool) -> bool:
        edge = self.edges.get(edge_id)
        if edge is None:
            raise GraphError(f"no edge '{edge_id}'")
        old, edge.detach = edge.detach, bool(detach)
        self._emit("edge_changed", edge, "detach")
        return old

    # ---------------------------------------------------------------- regions
    def add_region(self, kind: str, node_ids: Iterable[str], label: str = "no_grad",
                   region_id: str | None = None) -> Region:
        if kind != "no_grad":
            raise GraphError(f"unknown region kind '{kind}'")
        ids = [self._node(n).id for n in node_ids]
        region = Region(region_id or self.new_id("r"), kind, label, ids)
        self.regions[region.id] = region
        self._emit("region_added", region)
        return region

    def insert_region(self, region: Region) -> Region:
        self.regions[region.id] = region
        self._emit("region_added", region)
        return region

    def remove_region(self, region_id: str) -> Region:
        region = self.regions.pop(region_id, None)
        if region is None:
            raise GraphError(f"no region '{region_id}'")
        self._emit("region_removed", region)
        return region

    def set_region_nodes(self, region_id: str, node_ids: Iterable[str]) -> list[str]:
        region = self.regions[region_id]
        old, region.node_ids = region.node_ids, [self._node(n).id for n in node_ids]
        self._emit("region_changed", region, "node_ids")
        return old

    def in_no_grad(self, node_id: str) -> bool:
        return any(r.kind == "no_grad" and node_id in r.node_ids for r in self.regions.values())

    # ---------------------------------------------------------------- meta
    def set_meta(self, key: str, value: Any) -> Any:
        old = self.meta.get(key)
        if value is None:
            self.meta.pop(key, None)
        else:
            self.meta[key] = value
        self._emit("meta_changed", None, key)
        return old

    # ---------------------------------------------------------------- whole document
    def clear(self) -> None:
        self.nodes.clear()
        self.edges.clear()
        self._reindex()
        self.regions.clear()
        self.groups.clear()
        self.meta.clear()
        self._emit("reset")

    def replace_with(self, other: "Document", take: bool = False) -> None:
        """Takes over another document's content (used by load); one `reset` notification.
        take=True takes `other`'s objects themselves, for a document nobody else keeps
        (a big one loads faster without the copy)."""
        clone = (lambda value: value) if take else copy.deepcopy
        self.nodes = clone(other.nodes)
        self.edges = clone(other.edges)
        self._reindex()
        self.regions = clone(other.regions)
        self.groups = clone(other.groups)
        self.meta = clone(other.meta)
        self._emit("reset")

    def copy(self) -> "Document":
        twin = Document(self.catalog)
        twin.nodes = copy.deepcopy(self.nodes)
        twin.edges = copy.deepcopy(self.edges)
        twin._reindex()
        twin.regions = copy.deepcopy(self.regions)
        twin.groups = copy.deepcopy(self.groups)
        twin.meta = copy.deepcopy(self.meta)
        return twin

    # ---------------------------------------------------------------- helpers
    def _index_edge(self, edge: Edge) -> None:
        self._input_edge[(edge.dst, edge.dst_port)] = edge.id
        consumers = self._consumers.setdefault(edge.src, {})
        consumers[edge.dst] = consumers.get(edge.dst, 0) + 1

    def _reindex(self) -> None:
        """Rebuilds the label and edge indexes from nodes and edges (after a bulk change)."""
        self._label_owner = {n.label: n.id for n in self.nodes.values()}
        self._input_edge, self._consumers = {}, {}
        for edge in self.edges.values():
            self._index_edge(edge)

    def _node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node '{node_id}'") from None

    def _reaches(self, start: str, goal: str) -> bool:
        """Is `goal` downstream of `start` (following edges forward)?"""
        stack, seen = [start], set()
        while stack:
            nid = stack.pop()
            if nid == goal:
                return True
            if nid not in seen:
                seen.add(nid)
                stack.extend(self._consumers.get(nid, ()))
        return False
