"""The canvas scene: mirrors the document as node and edge items and turns gestures into edits.

The scene listens to the document's change notifications and only ever changes the
document through the `DocumentEditor` (so every gesture is one undo step): connecting
by dragging from a port, moving (one command per drag, snapped to the grid when asked),
inline parameter editing, renaming, and the right-click menus (gradient switches and
hooks through `grad_toggle_menu`, the same entries as the debugger's Toggles button).
While the debugger is active the node items show its step's snapshots (`set_step_results`).
"""
from __future__ import annotations

import math
from typing import Any, Callable

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QTransform
from PySide6.QtWidgets import (QGraphicsEllipseItem, QGraphicsPathItem, QGraphicsScene,
                               QLineEdit, QMenu)

from gradstudio.graph.catalog_types import BOOL, CHOICE, ParamSpec
from gradstudio.graph.document import Change
from gradstudio.ui.canvas_items import PORT_R, EdgeItem, NodeItem, bezier
from gradstudio.ui.debugger_commands import DebugToggles
from gradstudio.ui.document_editor import DocumentEditor
from gradstudio.ui.field_message import BAD_FIELD_STYLE, FieldMessage, field_message
from gradstudio.ui.grad_toggle_menu import add_edge_toggle, add_node_toggles
from gradstudio.ui.group_items import GroupBox, GroupFrame, GroupLayer
from gradstudio.ui.param_values import format_value, parse_value
from gradstudio.ui.theme import CanvasStyle


class InlineEditor(QLineEdit):
    """A line edit laid over the canvas; commits once on Enter or focus loss, Esc cancels.
    `on_commit` returns False to refuse the text: on Enter the editor then stays open (marked)
    for the person to correct it; on focus loss it closes anyway."""
    cancelled = Signal()

    def __init__(self, parent, text: str, on_commit: Callable[[str], bool | None]) -> None:
        super().__init__(text, parent)
        self._on_commit = on_commit
        self._done = False
        self._busy = False
        self.refused = False
        self.returnPressed.connect(self.commit)

    def commit(self, leaving: bool = False) -> None:
        if self._done or self._busy:
            return
        self._busy = True
        try:
            accepted = self._on_commit(self.text()) is not False
        finally:
            self._busy = False
        if accepted or leaving:
            self._close()
        else:
            self.refused = True
            self.setStyleSheet(BAD_FIELD_STYLE)
            self.selectAll()

    def cancel(self) -> None:
        self.cancelled.emit()
        self._close()

    def _close(self) -> None:
        if not self._done:
            self._done = True
            self.hide()
            self.deleteLater()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.commit(leaving=True)


class NodeItems(dict):
    """node id -> NodeItem. A node hidden inside a collapsed group gets its item when it is
    first looked up ([] or get), hidden and laid out when it shows: a big recorded graph opens
    with thousands of such nodes. `in` answers for every node of the document; iterating and
    len() go over the items made so far (the others have nothing drawn to update)."""

    def __init__(self, scene: "GraphScene") -> None:
        super().__init__()
        self.scene = scene

    def __missing__(self, node_id: str) -> NodeItem:
        node = self.scene.doc.nodes.get(node_id)
        if node is None:
            raise KeyError(node_id)
        return self.scene._add_node_item(node, shown=self.scene.groups.box_of(node_id) is None)

    def get(self, node_id: str, default=None):
        try:
            return self[node_id]
        except KeyError:
            return default

    def __contains__(self, node_id) -> bool:
        return dict.__contains__(self, node_id) or node_id in self.scene.doc.nodes

    def made(self, node_id: str) -> NodeItem | None:
        """The item if it is made, without making it."""
        return dict.get(self, node_id)


class GraphScene(QGraphicsScene):
    message = Signal(str)            # something the person should read (refusals)
    hint = Signal(str)               # a passing remark for the status bar (not logged)
    add_node_requested = Signal(QPointF)   # "Add node…" from the empty-canvas menu
    # an edge dragged from (node id, port, is_output) and dropped on empty canvas
    link_to_new_node = Signal(QPointF, str, str, bool)
    why_requested = Signal(str)      # node id: "Why is its gradient None or zero?"
    edge_selection_changed = Signal()

    def __init__(self, editor: DocumentEditor, style: CanvasStyle, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.doc = editor.doc
        self.toggles = DebugToggles(editor)     # the right-click menu's gradient switches
        self.style = style
        self.snap_to_grid = False
        self.grid_size = 20
        self.syncing = False            # True while positions come from the document
        self.node_items = NodeItems(self)
        self.edge_items: dict[str, EdgeItem] = {}    # (none for an edge inside a collapsed box)
        self.waiting_edges: dict[str, list[EdgeItem]] = {}   # node id (no item yet) -> its edges
        self.selected_edges: set[EdgeItem] = set()   # edges keep their own selection
        self.results: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.grad_passes = 0     # backward() calls summed in the run's .grad (marked when > 1)
        self.waiting: dict[str, str] = {}   # nodes still being wired: why they cannot run yet
        # While the debugger is active: its per-node snapshots at the step shown, drawn in
        # place of the last run's (None: the run's results are shown).
        self.step_results: tuple[dict[str, Any], dict[str, str]] | None = None
        self._drag: tuple[NodeItem, str, bool] | None = None
        self._drag_path: QGraphicsPathItem | None = None
        self._drag_marker: QGraphicsEllipseItem | None = None
        self._drag_target: tuple | None = None
        self.inline_editor: InlineEditor | None = None
        self.field_note: FieldMessage | None = None   # a refused value's message, at its field
        self.setItemIndexMethod(QGraphicsScene.NoIndex)
        self.groups = GroupLayer(self)          # frames and boxes of the document's groups
        self.doc.subscribe(self._on_change)
        self.rebuild()

    # ---------------------------------------------------------------- document -> items
    def rebuild(self) -> None:
        self.close_inline_editor(commit=False)
        self._drag = None
        self._drag_path = None
        self._drag_marker = None
        self._drag_target = None
        self.selected_edges.clear()
        self.clear()
        self.node_items.clear()
        self.edge_items.clear()
        self.waiting_edges.clear()
        # Nodes inside collapsed groups get their items when first looked up, and edges that
        # join two of them inside one box none until it opens (the group layer makes them).
        hidden = self.groups.hidden_nodes()
        for node in self.doc.nodes.values():
            if node.id not in hidden:
                self._add_node_item(node)
        for edge in self.doc.edges.values():
            box = hidden.get(edge.src)
            if box is None or box != hidden.get(edge.dst):
                self._add_edge_item(edge, refresh=False)
        for item in self.node_items.values():
            if item.edges:
                self._refresh_if_scalar(item)
        self.groups.rebuild()

    def _add_node_item(self, node, shown: bool = True) -> NodeItem:
        # laid out once, after it has its edges (made before it, ending here) and its result
        item = NodeItem(node, self.doc.spec(node), self, shown, lay_out=False)
        self.node_items[node.id] = item
        for edge in self.waiting_edges.pop(node.id, ()):
            edge.take_end(item)
        results, errors = self.shown_results()
        if node.id in results or node.id in errors:
            item.info, item.error = results.get(node.id), errors.get(node.id)
        elif self.step_results is None and node.id in self.waiting:
            item.waiting = self.waiting[node.id]
        if shown:
            item.refresh()
        self.addItem(item)
        return item

    def _add_edge_item(self, edge, refresh: bool = True) -> EdgeItem:
        """refresh=False: a rebuild (its ends may be hidden nodes with no item yet; the group
        layer's rebuild draws it)."""
        if refresh:
            src, dst = self.node_items[edge.src], self.node_items[edge.dst]
        else:
            src, dst = self.node_items.made(edge.src), self.node_items.made(edge.dst)
        item = EdgeItem(edge, src, dst, self, path=refresh)
        self.edge_items[edge.id] = item
        self.addItem(item)
        if refresh:
            item.src.update()           # its port is now drawn as linked
            self._refresh_if_scalar(item.dst)
            item.dst.update()
        return item

    def _refresh_if_scalar(self, item: NodeItem) -> None:
        """A node whose `scalar` parameter shows only while its input is unconnected."""
        if item.spec.param("scalar") is not None:
            item.refresh_when_shown()

    def _on_change(self, change: Change) -> None:
        what, obj = change.what, change.item
        if what == "node_added":
            self._add_node_item(obj)
        elif what == "node_removed":
            self.waiting_edges.pop(obj.id, None)
            item = self.node_items.pop(obj.id, None)
            if item is not None:
                if self.inline_editor is not None:
                    self.close_inline_editor(commit=False)
                self.removeItem(item)
        elif what == "node_changed":
            item = self.node_items.made(obj.id)    # (one not made yet reads the node then)
            if item is None:
                self.groups.on_change(change)
                return
            if change.key == "pos":
                if (item.x(), item.y()) != obj.pos:
                    self.syncing = True
                    item.setPos(*obj.pos)
                    self.syncing = False
            else:
                item.refresh()
                for edge in item.edges:
                    edge.update_path()
        elif what == "edge_added":
            self._add_edge_item(obj)
        elif what == "edge_removed":
            item = self.edge_items.pop(obj.id, None)
            if item is not None:
                item.detach_from_nodes()
                self.selected_edges.discard(item)
                self.removeItem(item)
                for end in (item._src, item._dst):
                    if end is not None and end.scene() is self:
                        end.update()
                if item._dst is not None and item._dst.scene() is self:
                    self._refresh_if_scalar(item._dst)
        elif what == "edge_changed":
            item = self.edge_items.get(obj.id)
            if item is not None:
                item.apply_style()
        elif what == "meta_changed" and change.key == "root":   # the root badge moves
            for item in self.node_items.values():
                item.refresh_when_shown()
        elif what == "reset":
            self.results, self.errors, self.step_results, self.waiting = {}, {}, None, {}
            self.rebuild()
            return
        self.groups.on_change(change)

    def set_results(self, results: dict[str, Any], errors: dict[str, str],
                    waiting: dict[str, str] | None = None) -> None:
        """Shows a run's per-node snapshots and errors on the node items (kept aside while
        step results are shown); `waiting`: nodes not wired up yet, shown without alarm."""
        self.results, self.errors = results, errors
        self.waiting = waiting or {}
        if self.step_results is None:
            self._show(results, errors)

    def set_step_results(self, results: dict[str, Any] | None,
                         errors: dict[str, str] | None = None) -> None:
        """Shows the debugger's snapshots at its current step in place of the last run's;
        None shows the run's again."""
        self.step_results = None if results is None else (results, errors or {})
        self._show(*self.shown_results())

    def shown_results(self) -> tuple[dict[str, Any], dict[str, str]]:
        return self.step_results or (self.results, self.errors)

    def _show(self, results: dict[str, Any], errors: dict[str, str]) -> None:
        waiting = self.waiting if self.step_results is None else {}
        for nid, item in self.node_items.items():
            info, error, wait = results.get(nid), errors.get(nid), waiting.get(nid)
            if info is not item.info or error != item.error or wait != item.waiting:
                item.set_result(info, error, wait)
                if not item.stale:       # (a hidden node's edges end on its group's box)
                    for edge in item.edges:
                        edge.update_path()

    def set_style(self, style: CanvasStyle) -> None:
        self.style = style
        for item in self.node_items.values():
            item.refresh_when_shown()
        for edge in self.edge_items.values():
            edge.apply_style()
        self.invalidate(self.sceneRect(), QGraphicsScene.BackgroundLayer)
        self.update()

    def snapped(self, pos: QPointF) -> tuple[float, float]:
        """Where a new node at `pos` goes: on the grid when snapping is on."""
        if not self.snap_to_grid:
            return pos.x(), pos.y()
        grid = self.grid_size
        return round(pos.x() / grid) * grid, round(pos.y() / grid) * grid

    # ---------------------------------------------------------------- queries
    def selected_node_ids(self) -> list[str]:
        return [i.node.id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edge_ids(self) -> list[str]:
        return [i.edge.id for i in self.selected_edges if i.edge.id in self.edge_items]

    def select_edge(self, item: EdgeItem, additive: bool = False) -> None:
        """Click on an edge: it alone is selected, or (Shift/Ctrl) it toggles."""
        if not additive:
            self.clearSelection()
            self.clear_edge_selection()
        item.set_selected(not item.selected)
        (self.selected_edges.add if item.selected else self.selected_edges.discard)(item)
        self.edge_selection_changed.emit()

    def clear_edge_selection(self) -> None:
        if not self.selected_edges:
            return
        for item in self.selected_edges:
            item.set_selected(False)
        self.selected_edges.clear()
        self.edge_selection_changed.emit()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and not event.modifiers() & (
                Qt.ShiftModifier | Qt.ControlModifier):
            view = self._view()
            hit = self.itemAt(event.scenePos(), view.transform()) if view else None
            if not isinstance(hit, EdgeItem):
                self.clear_edge_selection()
        super().mousePressEvent(event)

    def node_item_at(self, scene_pos: QPointF) -> NodeItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def port_at(self, scene_pos: QPointF) -> tuple[NodeItem, str, bool] | None:
        area = QRectF(scene_pos.x() - 12, scene_pos.y() - 12, 24, 24)
        for item in self.items(area):
            if isinstance(item, NodeItem):
                hit = item.port_at(item.mapFromScene(scene_pos))
                if hit is not None:
                    return item, hit[0], hit[1]
        return None

    def items_bounding_rect(self) -> QRectF:
        rect = self.groups.visible_bounds()
        for item in self.node_items.values():
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect

    # ---------------------------------------------------------------- connecting
    @property
    def connecting(self) -> bool:
        return self._drag is not None

    def begin_connection(self, item: NodeItem, port: str, is_output: bool, scene_pos: QPointF) -> None:
        self._drag = (item, port, is_output)
        self._drag_path = QGraphicsPathItem()
        self._drag_path.setPen(self.style.edge_pending)
        self._drag_path.setZValue(10)
        self.addItem(self._drag_path)
        self._drag_marker = QGraphicsEllipseItem(-PORT_R - 4, -PORT_R - 4, 2 * PORT_R + 8,
                                                 2 * PORT_R + 8)
        self._drag_marker.setZValue(11)
        self._drag_marker.hide()
        self.addItem(self._drag_marker)
        self._drag_target = None
        self.update_connection(scene_pos)

    def update_connection(self, scene_pos: QPointF) -> None:
        if self._drag is None:
            return
        item, port, is_output = self._drag
        anchor = item.port_scene_pos(port, is_output)
        path = bezier(anchor, scene_pos) if is_output else bezier(scene_pos, anchor)
        self._drag_path.setPath(path)
        target = self.port_at(scene_pos)
        key = None if target is None else (target[0].node.id, target[1], target[2])
        if key == self._drag_target:
            return
        self._drag_target = key
        if target is None or target[2] == is_output:
            self._drag_marker.hide()
            return
        other, other_port, _ = target
        ends = ((item.node.id, port, other.node.id, other_port) if is_output
                else (other.node.id, other_port, item.node.id, port))
        problem = self.editor.connection_problem(*ends)
        self._drag_marker.setPen(self.style.port_refused if problem else self.style.port_ok)
        self._drag_marker.setPos(other.port_scene_pos(other_port, not is_output))
        self._drag_marker.show()
        self.hint.emit(problem or "release to connect")

    def finish_connection(self, scene_pos: QPointF) -> None:
        if self._drag is None:
            return
        item, port, is_output = self._drag
        self._drag = None
        self.removeItem(self._drag_path)
        self.removeItem(self._drag_marker)
        self._drag_path = self._drag_marker = self._drag_target = None
        self.hint.emit("")              # "release to connect" no longer holds
        target = self.port_at(scene_pos)
        if target is None:
            if self.node_item_at(scene_pos) is None:   # dropped on empty canvas
                self.link_to_new_node.emit(scene_pos, item.node.id, port, is_output)
            return
        other, other_port, other_is_output = target
        if other_is_output == is_output:
            if other is not item or other_port != port:
                self.message.emit("connect an output (right side) to an input (left side)")
            return
        if is_output:
            self.editor.connect_ports(item.node.id, port, other.node.id, other_port)
        else:
            self.editor.connect_ports(other.node.id, other_port, item.node.id, port)

    # ---------------------------------------------------------------- moving
    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.LeftButton:
            return
        moves = {}
        for item in self.selectedItems():
            if isinstance(item, NodeItem):
                new = (item.x(), item.y())
                if new != item.node.pos:
                    moves[item.node.id] = (item.node.pos, new)
        if moves:
            self.editor.move_nodes(moves)

    # ---------------------------------------------------------------- inline editing
    def _view(self):
        views = self.views()
        return views[0] if views else None

    def _open_editor(self, item: NodeItem, rect: QRectF, text: str,
                     on_commit: Callable[[str], None]) -> None:
        view = self._view()
        if view is None:
            return
        self.close_inline_editor(commit=True)
        box = view.mapFromScene(item.mapToScene(rect)).boundingRect()
        editor = InlineEditor(view.viewport(), text, on_commit)
        # Readable at any zoom: never smaller than a normal line edit.
        box.setHeight(max(box.height() + 4, editor.sizeHint().height()))
        box.setWidth(max(box.width(), 90))
        editor.setGeometry(box.translated(0, -2))
        editor.selectAll()
        editor.show()
        editor.setFocus(Qt.MouseFocusReason)
        editor.destroyed.connect(lambda *_: setattr(self, "inline_editor", None))
        editor.textEdited.connect(lambda _text: self.hide_field_note())
        editor.cancelled.connect(self.hide_field_note)
        self.inline_editor = editor

    def close_inline_editor(self, commit: bool = True) -> None:
        editor, self.inline_editor = self.inline_editor, None
        if editor is not None:
            editor.commit(leaving=True) if commit else editor.cancel()

    def edit_param(self, item: NodeItem, spec: ParamSpec, field: QRectF) -> None:
        node_id = item.node.id
        if spec.type == BOOL:
            self.editor.set_param(node_id, spec.name, not item.node.params.get(spec.name))
            return
        if spec.type == CHOICE and spec.choices:
            view = self._view()
            menu = QMenu(view)
            menu.setAttribute(Qt.WA_DeleteOnClose)
            for choice in spec.choices:
                action = QAction(str(choice), menu)
                action.setCheckable(True)
                action.setChecked(choice == item.node.params.get(spec.name))
                action.triggered.connect(
                    lambda _=False, c=choice: self.editor.set_param(node_id, spec.name, c))
                menu.addAction(action)
            if view is not None:
                menu.popup(view.viewport().mapToGlobal(
                    view.mapFromScene(item.mapToScene(field.bottomLeft()))))
            return

        def commit(text: str) -> bool:
            if node_id not in self.doc.nodes:
                return True
            try:
                value = parse_value(spec, text)
            except ValueError as exc:
                self.message.emit(str(exc))
                self._show_field_note(item, field, field_message(spec, str(exc)))
                return False
            self.hide_field_note()
            self.editor.set_param(node_id, spec.name, value)
            return True

        self._open_editor(item, field, format_value(spec, item.node.params.get(spec.name)), commit)

    def _show_field_note(self, item: NodeItem, field: QRectF, text: str) -> None:
        """The message under the field (and under the inline editor laid over it)."""
        view = self._view()
        if view is None:
            return
        if self.field_note is None or self.field_note.parentWidget() is not view.viewport():
            self.field_note = FieldMessage(view.viewport())
        box = view.mapFromScene(item.mapToScene(field)).boundingRect()
        editor = self.inline_editor
        if editor is not None and editor.isVisible():
            box = box.united(editor.geometry())
        self.field_note.show_under(box, text, linger=True)

    def hide_field_note(self) -> None:
        if self.field_note is not None:
            self.field_note.hide()

    def edit_label(self, item: NodeItem) -> None:
        node_id = item.node.id

        def commit(text: str) -> None:
            if node_id in self.doc.nodes:
                self.editor.rename(node_id, text)

        self._open_editor(item, item.title_rect().adjusted(4, 2, -60, -2), item.node.label, commit)

    # ---------------------------------------------------------------- context menus
    def contextMenuEvent(self, event) -> None:
        menu = self.context_menu(event.scenePos())
        menu.exec(event.screenPos())
        menu.deleteLater()

    def context_menu(self, scene_pos: QPointF) -> QMenu:
        """The right-click menu for what is at `scene_pos`: a node (its gradient switches,
        hooks, root, duplicate, delete), an edge (detach, delete) or the empty canvas."""
        item = self.itemAt(scene_pos, QTransform())
        view = self._view()
        menu = QMenu(view)
        if isinstance(item, NodeItem):
            if not item.isSelected():
                self.clearSelection()
                item.setSelected(True)
            self._node_menu(menu, item)
        elif isinstance(item, EdgeItem):
            edge = item.edge
            add_edge_toggle(menu, self.toggles, edge.id)
            menu.addAction("Delete edge", lambda: self.editor.remove([], [edge.id]))
        elif isinstance(item, (GroupBox, GroupFrame)):
            self.groups.fill_menu(menu, item)
        else:
            menu.addAction("Add node…", lambda: self.add_node_requested.emit(scene_pos))
        return menu

    def _node_menu(self, menu: QMenu, item: NodeItem) -> None:
        node = item.node
        menu.addAction("Rename", lambda: self.edit_label(item))
        menu.addSeparator()
        ids = self.selected_node_ids()
        add_node_toggles(menu, self.toggles, node.id, ids, self._view())
        is_root = self.doc.meta.get("root") == node.label
        root = menu.addAction("Backward root")
        root.setCheckable(True)
        root.setChecked(is_root)
        root.triggered.connect(lambda on: self.editor.set_root(node.id if on else None))
        menu.addAction("Why Is Its Gradient None or Zero?",
                       lambda: self.why_requested.emit(node.id))
        menu.addSeparator()
        menu.addAction("Duplicate", lambda: self.editor.duplicate(ids))
        menu.addAction("Delete", lambda: self.editor.remove(ids))

    # ---------------------------------------------------------------- background
    def drawBackground(self, painter, rect: QRectF) -> None:
        painter.fillRect(rect, self.style.background)
        scale = painter.worldTransform().m11()
        if scale < 0.25:
            return
        grid = self.grid_size
        for step, pen in ((grid, self.style.grid_minor), (grid * 5, self.style.grid_major)):
            if step * scale < 6:
                continue
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = [QLineF(x, rect.top(), x, rect.bottom())
                     for x in _frange(left, rect.right(), step)]
            lines += [QLineF(rect.left(), y, rect.right(), y)
                      for y in _frange(top, rect.bottom(), step)]
            painter.setPen(pen)
            painter.drawLines(lines)


def _frange(start: float, stop: float, step: float):
    while start < stop:
        yield start
        start += step
