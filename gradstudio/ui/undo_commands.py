"""Undoable edits: one QUndoCommand per kind of document change.

Each command only calls the document's mutators (Orange's habit), so the scene, the
inspector and the runtime follow through the document's change notifications. A command
keeps the very Node/Edge objects it created or removed, so redo after undo puts back the
same ids and every later command in the history still refers to the right things.
Callers check a change is allowed before pushing (see `DocumentEditor`): `redo` never refuses.

Every command derives from `Command`, whose guard wraps each subclass's redo and undo: an
exception inside them (a bug, or a listener that fails) is logged and announced on
`failures.failed`, the command is marked obsolete so the stack drops it, and nothing is
raised into Qt, where an exception inside QUndoStack.push can take the process down.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from gradstudio.graph.document import Document, Edge, Node

log = logging.getLogger("gradstudio")


class _Failures(QObject):
    """`failed` carries one line for the person when an undo command's redo or undo raised."""
    failed = Signal(str)


failures = _Failures()


def _guarded(method: Callable[[QUndoCommand], None], name: str) -> Callable[[QUndoCommand], None]:
    @functools.wraps(method)
    def guarded(self: QUndoCommand) -> None:
        try:
            method(self)
        except Exception as exc:    # never into Qt: report, and let the stack drop the command
            log.exception("undo command %r failed in %s", self.text(), name)
            self.setObsolete(True)
            verb = "undone" if name == "undo" else "done"
            failures.failed.emit(f"{self.text()} could not be {verb}: {str(exc)[:200]}")
    return guarded


class Command(QUndoCommand):
    """The base of every undo command; redo and undo of subclasses are guarded (see above)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("redo", "undo"):
            if name in cls.__dict__:
                setattr(cls, name, _guarded(cls.__dict__[name], name))


class AddNode(Command):
    def __init__(self, doc: Document, kind: str, label: str | None, params: dict | None,
                 pos: tuple[float, float], hooks: list[dict] | None = None) -> None:
        super().__init__(f"Add {label or kind}")
        self.doc, self.kind, self.label, self.params, self.pos = doc, kind, label, params, pos
        self.hooks = hooks
        self.node: Node | None = None

    def redo(self) -> None:
        if self.node is None:
            self.node = self.doc.add_node(self.kind, self.label, self.params, self.pos)
            if self.hooks:
                self.doc.set_hooks(self.node.id, self.hooks)
            self.setText(f"Add {self.node.label}")
        else:
            self.doc.insert_node(self.node)

    def undo(self) -> None:
        self.doc.remove_node(self.node.id)


class RemoveNodes(Command):
    """Removes nodes with their edges; undo puts back nodes, edges and region membership."""

    def __init__(self, doc: Document, node_ids: list[str]) -> None:
        names = ", ".join(doc.nodes[n].label for n in node_ids[:3])
        super().__init__(f"Delete {names}{'…' if len(node_ids) > 3 else ''}")
        self.doc, self.node_ids = doc, list(node_ids)
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.regions: dict[str, list[str]] = {}

    def redo(self) -> None:
        doc = self.doc
        self.regions = {r.id: list(r.node_ids) for r in doc.regions.values()
                        if set(r.node_ids) & set(self.node_ids)}
        self.nodes, self.edges = [], []
        for nid in self.node_ids:
            node, edges = doc.remove_node(nid)
            self.nodes.append(node)
            self.edges.extend(edges)

    def undo(self) -> None:
        for node in self.nodes:
            self.doc.insert_node(node)
        for edge in self.edges:
            self.doc.insert_edge(edge)
        for region_id, node_ids in self.regions.items():
            if region_id in self.doc.regions:
                self.doc.set_region_nodes(region_id, node_ids)


class AddEdge(Command):
    def __init__(self, doc: Document, src: str, src_port: str, dst: str, dst_port: str,
                 detach: bool = False) -> None:
        super().__init__(f"Connect {doc.nodes[src].label} → {doc.nodes[dst].label}")
        self.doc, self.args, self.detach = doc, (src, src_port, dst, dst_port), detach
        self.edge: Edge | None = None

    def redo(self) -> None:
        if self.edge is None:
            self.edge = self.doc.add_edge(*self.args, detach=self.detach)
        else:
            self.doc.insert_edge(self.edge)

    def undo(self) -> None:
        self.doc.remove_edge(self.edge.id)


class RemoveEdge(Command):
    def __init__(self, doc: Document, edge_id: str) -> None:
        super().__init__("Disconnect")
        self.doc, self.edge_id = doc, edge_id
        self.edge: Edge | None = None

    def redo(self) -> None:
        self.edge = self.doc.remove_edge(self.edge_id)

    def undo(self) -> None:
        self.doc.insert_edge(self.edge)


class SetParam(Command):
    def __init__(self, doc: Document, node_id: str, key: str, value: Any) -> None:
        super().__init__(f"Set {doc.nodes[node_id].label}.{key}")
        self.doc, self.node_id, self.key, self.value = doc, node_id, key, value
        self.old: Any = None

    def redo(self) -> None:
        self.old = self.doc.set_param(self.node_id, self.key, self.value)

    def undo(self) -> None:
        self.doc.set_param(self.node_id, self.key, self.old)


class Rename(Command):
    def __init__(self, doc: Document, node_id: str, label: str) -> None:
        super().__init__(f"Rename {doc.nodes[node_id].label} to {label}")
        self.doc, self.node_id, self.label = doc, node_id, label
        self.old = ""

    def redo(self) -> None:
        self.old = self.doc.set_label(self.node_id, self.label)

    def undo(self) -> None:
        self.doc.set_label(self.node_id, self.old)


class MoveNodes(Command):
    """One command per drag, however many nodes moved."""

    def __init__(self, doc: Document, moves: dict[str, tuple[tuple, tuple]],
                 text: str = "Move") -> None:
        super().__init__(text)
        self.doc, self.moves = doc, moves

    def redo(self) -> None:
        for nid, (_, new) in self.moves.items():
            self.doc.set_pos(nid, new)

    def undo(self) -> None:
        for nid, (old, _) in self.moves.items():
            self.doc.set_pos(nid, old)


class SetEdgeDetach(Command):
    def __init__(self, doc: Document, edge_id: str, detach: bool) -> None:
        super().__init__("Detach edge" if detach else "Attach edge")
        self.doc, self.edge_id, self.detach = doc, edge_id, detach
        self.old = False

    def redo(self) -> None:
        self.old = self.doc.set_edge_detach(self.edge_id, self.detach)

    def undo(self) -> None:
        self.doc.set_edge_detach(self.edge_id, self.old)


class SetMeta(Command):
    def __init__(self, doc: Document, key: str, value: Any, text: str) -> None:
        super().__init__(text)
        self.doc, self.key, self.value = doc, key, value
        self.old: Any = None

    def redo(self) -> None:
        self.old = self.doc.set_meta(self.key, self.value)

    def undo(self) -> None:
        self.doc.set_meta(self.key, self.old)
