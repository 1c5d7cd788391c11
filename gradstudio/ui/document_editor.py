"""The one door through which the UI edits a document: checks, then pushes undo commands.

Canvas, inspector and menus call `DocumentEditor`; it refuses what the document would
refuse (emitting `refused` with the document's message) and otherwise pushes a command on
the QUndoStack, one undo step per gesture: multi-part edits (paste, delete, reconnect,
rename of the root) are macros, a drag or an auto-layout is one MoveNodes.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from gradstudio.graph.document import Document, GraphError, Node
from gradstudio.graph.fileio import json_safe
from gradstudio.graph.validation import (check_label, check_node_entry, check_param,
                                         check_params, check_pos, follow_references)
from gradstudio.ui import undo_commands as cmd

CLIPBOARD_FORMAT = "gradstudio-nodes"
MAX_PASTE = 10_000            # nodes in one paste


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class DocumentEditor(QObject):
    refused = Signal(str)

    def __init__(self, doc: Document, stack: QUndoStack, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.stack = stack

    # ---------------------------------------------------------------- nodes
    def add_node(self, kind: str, pos: tuple[float, float], label: str | None = None,
                 params: dict | None = None) -> Node | None:
        try:
            params = check_params(self.doc.spec(kind), params or {}, "")
            pos = check_pos(pos, "position")
            label = None if label is None else check_label(label)
        except GraphError as exc:
            self.refused.emit(str(exc))
            return None
        command = cmd.AddNode(self.doc, kind, label, params, pos)
        self.stack.push(command)
        return command.node

    def remove(self, node_ids: Iterable[str], edge_ids: Iterable[str] = ()) -> None:
        """Deletes nodes (with their edges) and edges, as one undo step; what meta names the
        deleted nodes by is cleared in the same step (`validation.follow_references`)."""
        node_ids = [n for n in node_ids if n in self.doc.nodes]
        edge_ids = [e for e in edge_ids if e in self.doc.edges
                    and self.doc.edges[e].src not in node_ids
                    and self.doc.edges[e].dst not in node_ids]
        if not node_ids and not edge_ids:
            return
        self.stack.beginMacro("Delete")
        for edge_id in edge_ids:
            self.stack.push(cmd.RemoveEdge(self.doc, edge_id))
        if node_ids:
            self._keep_references({self.doc.nodes[n].label: None for n in node_ids})
            self.stack.push(cmd.RemoveNodes(self.doc, node_ids))
        self.stack.endMacro()

    def _keep_references(self, renamed: dict[str, str | None]) -> None:
        """Pushes the meta changes that keep every reference to a renamed or deleted label
        consistent (call inside the edit's macro, so they undo with it)."""
        for key, value in follow_references(self.doc.meta, renamed).items():
            if key == "training" and value is None:
                self.refused.emit("the training setup was removed: it needs its data and loss "
                                  "nodes (Undo brings both back)")
            self.stack.push(cmd.SetMeta(self.doc, key, value, f"Update {key}"))

    def set_param(self, node_id: str, key: str, value: Any) -> bool:
        node = self.doc.nodes.get(node_id)
        if node is None or key not in node.params:
            self.refused.emit(f"no parameter '{key}'")
            return False
        try:
            value = check_param(self.doc.spec(node).param(key), value, key)
        except GraphError as exc:
            self.refused.emit(str(exc))
            return False
        if node.params[key] == value and type(node.params[key]) is type(value):
            return True
        self.stack.push(cmd.SetParam(self.doc, node_id, key, value))
        return True

    def rename(self, node_id: str, label: str) -> bool:
        label = label.strip()
        node = self.doc.nodes[node_id]
        if label == node.label:
            return True
        try:
            label = check_label(label)
        except GraphError as exc:
            self.refused.emit(str(exc))
            return False
        other = self.doc.node_by_label(label)
        if other is not None:
            self.refused.emit(f"the label '{label}' is already used by another node")
            return False
        old = node.label
        if follow_references(self.doc.meta, {old: label}):   # meta names it: follow, one step
            self.stack.beginMacro(f"Rename {old} to {label}")
            self.stack.push(cmd.Rename(self.doc, node_id, label))
            self._keep_references({old: label})
            self.stack.endMacro()
        else:
            self.stack.push(cmd.Rename(self.doc, node_id, label))
        return True

    def move_nodes(self, moves: dict[str, tuple[tuple, tuple]], text: str = "Move") -> None:
        moves = {nid: (old, new) for nid, (old, new) in moves.items() if tuple(old) != tuple(new)}
        try:
            moves = {nid: (old, check_pos(new, "position")) for nid, (old, new) in moves.items()}
        except GraphError as exc:
            self.refused.emit(str(exc))
            return
        if moves:
            self.stack.push(cmd.MoveNodes(self.doc, moves, text))

    # ---------------------------------------------------------------- edges
    def connection_problem(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """Why connecting would be refused, or None; an occupied input counts as replaceable."""
        occupied = self._edge_into(dst, dst_port)
        if occupied is None:
            return self.doc.check_edge(src, src_port, dst, dst_port)
        if (occupied.src, occupied.src_port) == (src, src_port):
            return None
        trial = self.doc.copy()
        trial.remove_edge(occupied.id)
        return trial.check_edge(src, src_port, dst, dst_port)

    def connect_ports(self, src: str, src_port: str, dst: str, dst_port: str) -> bool:
        """Adds an edge; an input that already has one gets the new one instead."""
        occupied = self._edge_into(dst, dst_port)
        if occupied is not None and (occupied.src, occupied.src_port) == (src, src_port):
            return True
        problem = self.connection_problem(src, src_port, dst, dst_port)
        if problem:
            self.refused.emit(problem)
            return False
        if occupied is not None:
            self.stack.beginMacro("Reconnect")
            self.stack.push(cmd.RemoveEdge(self.doc, occupied.id))
            self.stack.push(cmd.AddEdge(self.doc, src, src_port, dst, dst_port))
            self.stack.endMacro()
        else:
            self.stack.push(cmd.AddEdge(self.doc, src, src_port, dst, dst_port))
        return True

    def _edge_into(self, dst: str, dst_port: str):
        return next((e for e in self.doc.edges.values()
                     if e.dst == dst and e.dst_port == dst_port), None)

    def set_detach(self, edge_id: str, detach: bool) -> None:
        if self.doc.edges[edge_id].detach != detach:
            self.stack.push(cmd.SetEdgeDetach(self.doc, edge_id, detach))

    def set_root(self, node_id: str | None) -> None:
        label = self.doc.nodes[node_id].label if node_id else None
        if self.doc.meta.get("root") != label:
            self.stack.push(cmd.SetMeta(self.doc, "root", label,
                                        f"Backward root: {label}" if label else "No backward root"))

    # ---------------------------------------------------------------- clipboard
    def copy_payload(self, node_ids: Iterable[str]) -> str:
        """The selected nodes and the edges between them, as JSON text for the clipboard
        (nodes as a graph file writes them: non-finite numbers as "nan", "inf", "-inf")."""
        ids = [n for n in node_ids if n in self.doc.nodes]
        chosen = set(ids)
        nodes = [{"id": n, "kind": self.doc.nodes[n].kind, "label": self.doc.nodes[n].label,
                  "params": json_safe(self.doc.nodes[n].params), "pos": list(self.doc.nodes[n].pos),
                  "hooks": json_safe(self.doc.nodes[n].hooks)}
                 for n in ids]
        edges = [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port,
                  "detach": e.detach}
                 for e in self.doc.edges.values() if e.src in chosen and e.dst in chosen]
        return json.dumps({"format": CLIPBOARD_FORMAT, "nodes": nodes, "edges": edges})

    def paste(self, payload: str, offset: tuple[float, float] = (30.0, 30.0),
              text: str = "Paste") -> list[str]:
        """Adds a copy of the payload's nodes and edges as one undo step; returns new node ids.
        The text is checked as a file is (`validation.check_node_entry`) and tried on a copy of
        the document before any command exists: bad text is refused with the reason."""
        try:
            nodes, edges = self._read_payload(payload, offset)
        except GraphError as exc:
            self.refused.emit(f"cannot paste: {exc}")
            return []
        if not nodes:
            return []
        new_ids: dict[str, str] = {}
        self.stack.beginMacro(f"{text} {len(nodes)} node{'s' if len(nodes) != 1 else ''}")
        try:
            for entry in nodes:
                command = cmd.AddNode(self.doc, entry.kind, entry.label, entry.params, entry.pos,
                                      entry.hooks)
                self.stack.push(command)
                if command.node is not None:
                    new_ids[entry.id] = command.node.id
            for src, src_port, dst, dst_port, detach in edges:
                src, dst = new_ids.get(src), new_ids.get(dst)
                if src and dst and not self.doc.check_edge(src, src_port, dst, dst_port):
                    self.stack.push(cmd.AddEdge(self.doc, src, src_port, dst, dst_port, detach))
        finally:
            self.stack.endMacro()
        return list(new_ids.values())

    def _read_payload(self, payload: str, offset: tuple[float, float]) -> tuple[list, list]:
        """The clipboard's nodes (checked entries, moved by `offset`) and its edges that join
        two of them acceptably; GraphError when the text is no acceptable gradstudio nodes."""
        try:
            data = json.loads(payload, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise GraphError("the clipboard holds no gradstudio nodes") from None
        if not isinstance(data, dict) or data.get("format") != CLIPBOARD_FORMAT:
            raise GraphError("the clipboard holds no gradstudio nodes")
        items, edge_items = data.get("nodes", []), data.get("edges", [])
        if not isinstance(items, list) or not isinstance(edge_items, list):
            raise GraphError("nodes and edges must be lists")
        if len(items) > MAX_PASTE:
            raise GraphError(f"more than {MAX_PASTE} nodes")
        trial = self.doc.copy()       # everything must be acceptable before anything changes
        nodes, trial_ids = [], {}
        for i, item in enumerate(items):
            entry = check_node_entry(self.doc.catalog, item, f"node {i + 1}")
            entry.pos = check_pos((entry.pos[0] + offset[0], entry.pos[1] + offset[1]),
                                  f"node {i + 1}.pos")
            added = trial.add_node(entry.kind, entry.label, entry.params, entry.pos)
            trial.set_hooks(added.id, entry.hooks)
            trial_ids[entry.id] = added.id
            nodes.append(entry)
        edges = []
        for e in edge_items:
            if not isinstance(e, dict):
                continue
            ends = [e.get(k) for k in ("src", "src_port", "dst", "dst_port")]
            if not all(isinstance(v, str) for v in ends) or not isinstance(e.get("detach", False), bool):
                continue
            src, dst = trial_ids.get(ends[0]), trial_ids.get(ends[2])
            if src and dst and not trial.check_edge(src, ends[1], dst, ends[3]):
                trial.add_edge(src, ends[1], dst, ends[3])
                edges.append((*ends, e.get("detach", False)))
        return nodes, edges

    def duplicate(self, node_ids: Iterable[str]) -> list[str]:
        return self.paste(self.copy_payload(node_ids), text="Duplicate")

    # ---------------------------------------------------------------- layout
    def apply_positions(self, positions: dict[str, tuple[float, float]], text: str) -> None:
        moves = {nid: (self.doc.nodes[nid].pos, pos) for nid, pos in positions.items()
                 if nid in self.doc.nodes}
        self.move_nodes(moves, text)
