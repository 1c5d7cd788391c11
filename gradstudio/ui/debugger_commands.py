"""Undoable debugger toggles the general editor lacks: gradient hooks and no_grad regions.

requires_grad and retain_grad are node parameters (`undo_commands.SetParam`) and detach is
`undo_commands.SetEdgeDetach`; this module adds the rest, in the same style (commands only
call the document's mutators), and `DebugToggles`, which checks each change and pushes it
on the editor's undo stack, reporting a refusal through `editor.refused`.
"""
from __future__ import annotations

import copy
from typing import Iterable

from gradstudio.graph.document import Document, Region
from gradstudio.graph.grad_hooks import check_hooks, describe
from gradstudio.ui.document_editor import DocumentEditor
from gradstudio.ui.undo_commands import Command


class SetHooks(Command):
    def __init__(self, doc: Document, node_id: str, hooks: list[dict], text: str) -> None:
        super().__init__(text)
        self.doc, self.node_id, self.hooks = doc, node_id, copy.deepcopy(hooks)
        self.old: list[dict] = []

    def redo(self) -> None:
        self.old = self.doc.set_hooks(self.node_id, self.hooks)

    def undo(self) -> None:
        self.doc.set_hooks(self.node_id, self.old)


class AddRegion(Command):
    """A no_grad frame around nodes; redo after undo puts back the same region."""

    def __init__(self, doc: Document, node_ids: list[str]) -> None:
        super().__init__("Add no_grad region")
        self.doc, self.node_ids = doc, list(node_ids)
        self.region: Region | None = None

    def redo(self) -> None:
        if self.region is None:
            self.region = self.doc.add_region("no_grad", self.node_ids)
        else:
            self.doc.insert_region(self.region)

    def undo(self) -> None:
        self.doc.remove_region(self.region.id)


class RemoveRegion(Command):
    def __init__(self, doc: Document, region_id: str) -> None:
        super().__init__("Remove no_grad region")
        self.doc, self.region_id = doc, region_id
        self.region: Region | None = None

    def redo(self) -> None:
        self.region = self.doc.remove_region(self.region_id)

    def undo(self) -> None:
        self.doc.insert_region(self.region)


class DebugToggles:
    """The debugger's toggles, each one undo step on the editor's stack."""

    def __init__(self, editor: DocumentEditor) -> None:
        self.editor = editor
        self.doc = editor.doc

    def set_flag(self, node_id: str, key: str, on: bool) -> bool:
        """requires_grad / retain_grad of a node that has that parameter."""
        return self.editor.set_param(node_id, key, bool(on))

    def set_detach(self, edge_id: str, on: bool) -> None:
        self.editor.set_detach(edge_id, bool(on))

    def set_hooks(self, node_id: str, hooks: list[dict], text: str | None = None) -> bool:
        node = self.doc.nodes.get(node_id)
        if node is None:
            self.editor.refused.emit(f"no node '{node_id}'")
            return False
        outputs = tuple(p.name for p in self.doc.spec(node).outputs)
        problem = check_hooks(hooks, outputs)
        if problem:
            self.editor.refused.emit(f"{node.label}: {problem}")
            return False
        if hooks == node.hooks:
            return True
        if text is None:
            text = f"Hooks on {node.label}: {', '.join(describe(h) for h in hooks) or 'none'}"
        self.editor.stack.push(SetHooks(self.doc, node_id, hooks, text))
        return True

    def add_hook(self, node_id: str, hook: dict) -> bool:
        node = self.doc.nodes[node_id]
        return self.set_hooks(node_id, node.hooks + [hook],
                              f"Hook {describe(hook)} on {node.label}")

    def clear_hooks(self, node_id: str) -> bool:
        return self.set_hooks(node_id, [], f"Remove hooks on {self.doc.nodes[node_id].label}")

    def add_no_grad_region(self, node_ids: Iterable[str]) -> bool:
        ids = [n for n in node_ids if n in self.doc.nodes]
        if not ids:
            self.editor.refused.emit("select the nodes to put under no_grad")
            return False
        self.editor.stack.push(AddRegion(self.doc, ids))
        return True

    def remove_no_grad(self, node_ids: Iterable[str]) -> bool:
        """Removes every no_grad region holding one of the nodes, as one undo step."""
        chosen = set(node_ids)
        regions = [r.id for r in self.doc.regions.values()
                   if r.kind == "no_grad" and chosen & set(r.node_ids)]
        if not regions:
            return False
        self.editor.stack.beginMacro("Remove no_grad")
        for region_id in regions:
            self.editor.stack.push(RemoveRegion(self.doc, region_id))
        self.editor.stack.endMacro()
        return True

