"""Groups on the canvas: a frame around an expanded group, one box for a collapsed one.

`GroupLayer` follows the document's groups. An expanded group is a `GroupFrame` drawn
behind its members, with a header that collapses it (click the triangle or double-click
the header). A collapsed group is a `GroupBox`: its name, a summary (ops, parameters) and
its boundary ports, one per value entering (left) or leaving (right); its members are
hidden and the edges that cross its boundary end on those ports. Double-clicking a box
expands it; dragging it moves every node inside (one undo step). Grouping, ungrouping,
renaming and collapsing are undo commands (`GroupEdit`) on the document's groups.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPen, QUndoCommand
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QInputDialog
from shiboken6 import isValid

from gradstudio.graph.document import Document, GraphError
from gradstudio.ui.canvas_items import NODE_WIDTH, PAD, PORT_R, NodeItem

_POSITION_CHANGED = QGraphicsItem.ItemPositionHasChanged

if TYPE_CHECKING:
    from gradstudio.ui.canvas_scene import GraphScene

FRAME_PAD = 14.0
FRAME_HEADER = 24.0
BOX_HEADER = 24.0
BOX_SUMMARY = 18.0
BOX_ROW = 18.0


class GroupEdit(QUndoCommand):
    """One change to the document's groups; undo and redo restore whole snapshots, so a
    regroup after undo brings back the same ids, names, nesting and collapse state."""

    def __init__(self, doc: Document, text: str, change: Callable[[Document], object]) -> None:
        super().__init__(text)
        self.doc, self.change = doc, change
        self.before = self.after = None

    def redo(self) -> None:
        if self.after is None:
            self.before = self.doc.groups_snapshot()
            self.change(self.doc)
            self.after = self.doc.groups_snapshot()
        else:
            self.doc.restore_groups(self.after)

    def undo(self) -> None:
        self.doc.restore_groups(self.before)


def _size_text(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.1f}k" if n >= 1e4 else str(n)


def summary_text(doc: Document, group_id: str, nodes: list[str] | None = None) -> str:
    ops, params = doc.group_summary(group_id, nodes)
    return f"{ops} op{'s' if ops != 1 else ''} · {_size_text(params)} parameters"


class GroupFrame(QGraphicsRectItem):
    """The outline of an expanded group, behind its members. Only its header takes clicks
    (select, collapse); the body lets a rubber band start inside it."""

    def __init__(self, layer: "GroupLayer", group_id: str) -> None:
        super().__init__()
        self.layer, self.group_id = layer, group_id
        self.setZValue(-3)
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setAcceptedMouseButtons(Qt.LeftButton)

    def header_rect(self) -> QRectF:
        r = self.rect()
        return QRectF(r.left(), r.top(), r.width(), FRAME_HEADER)

    def toggle_rect(self) -> QRectF:
        r = self.header_rect()
        return QRectF(r.left() + 4, r.top() + 4, FRAME_HEADER - 8, FRAME_HEADER - 8)

    def paint(self, painter, option, widget=None) -> None:
        style = self.layer.scene.style
        group = self.layer.doc.groups.get(self.group_id)
        if group is None:
            return
        depth = len(self.layer.doc.group_chain(group.parent))
        fill = QColor(style.text.color())
        fill.setAlpha(10 + 6 * min(depth, 4))
        painter.setBrush(QBrush(fill))
        pen = QPen(style.node_selected if self.isSelected() else style.text_dim)
        pen.setStyle(Qt.DashLine if not self.isSelected() else Qt.SolidLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawRoundedRect(self.rect(), 8, 8)
        painter.setPen(style.text)
        painter.setFont(style.font_bold)
        toggle = self.toggle_rect()
        painter.drawText(toggle, int(Qt.AlignCenter), "▾")
        header = self.header_rect().adjusted(FRAME_HEADER, 0, -PAD, 0)
        title = style.elided(style.metrics_bold, group.label, header.width() * 0.6)
        painter.drawText(header, int(Qt.AlignLeft | Qt.AlignVCenter), title)
        painter.setFont(style.font_small)
        painter.setPen(style.text_dim)
        painter.drawText(header, int(Qt.AlignRight | Qt.AlignVCenter),
                         self.layer.summary(self.group_id))

    def mousePressEvent(self, event) -> None:
        if not self.header_rect().contains(event.pos()):
            event.ignore()          # the body: rubber band or what lies below
            return
        if self.toggle_rect().contains(event.pos()):
            self.layer.set_collapsed_later(self.group_id, True)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.header_rect().contains(event.pos()):
            self.layer.set_collapsed_later(self.group_id, True)
            event.accept()
            return
        event.ignore()


class GroupBox(QGraphicsRectItem):
    """A collapsed group: one movable box with the group's boundary ports."""

    def __init__(self, layer: "GroupLayer", group_id: str) -> None:
        super().__init__()
        self.layer, self.group_id = layer, group_id
        self.inputs: dict[tuple[str, str], str] = {}     # (src node, src port) -> port label
        self.outputs: dict[tuple[str, str], str] = {}
        self.edges: list = []
        self._press_pos: QPointF | None = None
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setZValue(1)
        self.setPen(QPen(Qt.NoBrush, 2 * (PORT_R + 3)))

    def finish(self) -> None:
        """Sizes the box once its ports are known."""
        rows = max(len(self.inputs), len(self.outputs), 1)
        self.setRect(QRectF(0, 0, NODE_WIDTH, BOX_HEADER + BOX_SUMMARY + rows * BOX_ROW + 6))

    def port_pos(self, key: tuple[str, str], is_output: bool) -> QPointF:
        ports = list(self.outputs if is_output else self.inputs)
        row = ports.index(key) if key in ports else 0
        y = BOX_HEADER + BOX_SUMMARY + row * BOX_ROW + BOX_ROW / 2
        return self.mapToScene(QPointF(NODE_WIDTH if is_output else 0.0, y))

    def anchor(self, edge, is_output: bool) -> QPointF:
        return self.port_pos((edge.src, edge.src_port), is_output)

    def paint(self, painter, option, widget=None) -> None:
        style = self.layer.scene.style
        group = self.layer.doc.groups.get(self.group_id)
        if group is None:
            return
        rect = self.rect()
        painter.setPen(style.node_selected if self.isSelected() else style.node_border)
        painter.setBrush(style.node_body)
        painter.drawRoundedRect(rect, 6, 6)
        painter.setPen(Qt.NoPen)
        painter.setBrush(style.header_brush("Group"))
        header = QRectF(rect.left() + 1, rect.top() + 1, rect.width() - 2, BOX_HEADER - 1)
        painter.drawRoundedRect(header, 5, 5)
        painter.drawRect(QRectF(header.left(), header.bottom() - 6, header.width(), 6))
        painter.setPen(style.text)
        painter.setFont(style.font_bold)
        text_rect = QRectF(PAD, 0, NODE_WIDTH - 2 * PAD, BOX_HEADER)
        painter.drawText(text_rect, int(Qt.AlignLeft | Qt.AlignVCenter),
                         "▸ " + style.elided(style.metrics_bold, group.label, NODE_WIDTH * 0.55))
        painter.setFont(style.font_small)
        painter.setPen(style.text_dim)
        kind = group.info.get("type", "group")
        painter.drawText(text_rect, int(Qt.AlignRight | Qt.AlignVCenter), str(kind))
        painter.drawText(QRectF(PAD, BOX_HEADER, NODE_WIDTH - 2 * PAD, BOX_SUMMARY),
                         int(Qt.AlignLeft | Qt.AlignVCenter), self.layer.summary(self.group_id))
        painter.setFont(style.font)
        for is_output, ports in ((False, self.inputs), (True, self.outputs)):
            for row, label in enumerate(ports.values()):
                y = BOX_HEADER + BOX_SUMMARY + row * BOX_ROW
                painter.setPen(style.text)
                align = Qt.AlignRight if is_output else Qt.AlignLeft
                painter.drawText(QRectF(PAD, y, NODE_WIDTH - 2 * PAD, BOX_ROW),
                                 int(align | Qt.AlignVCenter),
                                 style.elided(style.metrics, label, NODE_WIDTH / 2 - PAD))
                painter.setPen(style.port_border)
                painter.setBrush(style.port_linked)
                painter.drawEllipse(QPointF(NODE_WIDTH if is_output else 0.0, y + BOX_ROW / 2),
                                    PORT_R, PORT_R)

    def itemChange(self, change, value):
        if change == _POSITION_CHANGED:
            for edge in self.edges:
                edge.update_path()
        return value             # as QGraphicsItem's own itemChange does

    def mousePressEvent(self, event) -> None:
        self._press_pos = self.pos()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        start, self._press_pos = self._press_pos, None
        if start is not None and start != self.pos():
            self.layer.move_group(self.group_id, self.pos() - start)

    def mouseDoubleClickEvent(self, event) -> None:
        self.layer.set_collapsed_later(self.group_id, False)
        event.accept()


class GroupLayer:
    """Keeps the scene's group frames and boxes, node visibility and edge ends in step
    with the document's groups."""

    def __init__(self, scene: "GraphScene") -> None:
        self.scene = scene
        self.doc: Document = scene.doc
        self.frames: dict[str, GroupFrame] = {}
        self.boxes: dict[str, GroupBox] = {}
        self._summaries: dict[str, str] = {}
        self._members: dict[str, list[str]] = {}
        self._had_groups = False
        self._frames_due = False
        self._shown_as: dict[str, str] = {}       # hidden node -> the box that shows it

    # ---------------------------------------------------------------- following the document
    def on_change(self, change) -> None:
        if change.what in ("group_changed", "node_added", "node_removed", "edge_added",
                           "edge_removed", "reset"):
            if self.doc.groups or self._had_groups:
                self.rebuild()
        elif change.what == "node_changed" and self.frames:
            if change.key == "pos":         # a move of many nodes: fitted once, after it
                if not self._frames_due:
                    self._frames_due = True
                    QTimer.singleShot(0, self.update_frames)
            else:
                self._summaries.clear()

    def rebuild(self) -> None:
        scene, doc = self.scene, self.doc
        for item in list(self.frames.values()) + list(self.boxes.values()):
            if isValid(item) and item.scene() is scene:    # scene.clear() deletes them too
                scene.removeItem(item)
        self.frames.clear()
        self.boxes.clear()
        self._summaries.clear()
        self._had_groups = bool(doc.groups)
        self._members = doc.all_group_nodes()
        hidden_by = self._hidden_by()
        for gid, group in doc.groups.items():
            top = hidden_by[gid]
            if top is None:
                self.frames[gid] = GroupFrame(self, gid)
            elif top == gid:
                box = self.boxes[gid] = GroupBox(self, gid)
                box.setPos(self._members_rect(gid).topLeft())   # no edges to move yet
        shown_as = self.hidden_nodes(hidden_by)
        self._shown_as = shown_as
        items = scene.node_items
        for nid, item in list(items.items()):
            shown = nid not in shown_as
            item.setVisible(shown)
            if shown and item.stale:
                item.refresh()          # laid out, or a result that arrived while it was hidden
        for nid in doc.nodes:
            if nid not in shown_as and items.made(nid) is None:
                items[nid]              # shown now (its group opened): its item is made
        for eid, edge in doc.edges.items():
            s, d = shown_as.get(edge.src), shown_as.get(edge.dst)
            item = scene.edge_items.get(eid)
            if s is not None and s == d:         # inside one box
                if item is not None:
                    item.setVisible(False)
                continue
            if item is None:
                item = scene._add_edge_item(edge, refresh=False)
            item.src_box = self.boxes[s] if s else None
            item.dst_box = self.boxes[d] if d else None
            item.setVisible(True)
            if s is not None:
                self.boxes[s].outputs.setdefault(
                    (edge.src, edge.src_port), self._port_label(edge.src, edge.src_port))
                self.boxes[s].edges.append(item)
            if d is not None:
                self.boxes[d].inputs.setdefault(
                    (edge.src, edge.src_port), self._port_label(edge.src, edge.src_port))
                self.boxes[d].edges.append(item)
        for box in self.boxes.values():
            box.finish()
            scene.addItem(box)
        for frame in self.frames.values():
            scene.addItem(frame)
        self.update_frames()
        for item in scene.edge_items.values():
            if item.isVisible():
                item.update_path()

    def _hidden_by(self) -> dict[str, str | None]:
        """group id -> the outermost collapsed group around it (None: drawn expanded)."""
        doc = self.doc
        hidden_by: dict[str, str | None] = {}
        for gid in doc.groups:
            top = None
            for ancestor in doc.group_chain(gid):
                if doc.groups[ancestor].collapsed:
                    top = ancestor
            hidden_by[gid] = top
        return hidden_by

    def hidden_nodes(self, hidden_by: dict[str, str | None] | None = None) -> dict[str, str]:
        """node id -> the collapsed group whose box shows it, for every hidden node."""
        if hidden_by is None:
            if not self.doc.groups:
                return {}
            hidden_by = self._hidden_by()
        return {nid: hidden_by[gid] for nid, gid in self.doc.node_groups().items()
                if hidden_by[gid]}

    def _port_label(self, node_id: str, port: str) -> str:
        node = self.doc.nodes[node_id]
        return node.label if port == "out" else f"{node.label}.{port}"

    def _members_rect(self, group_id: str) -> QRectF:
        """Around the group's nodes (one whose item is not made yet: at its place in the
        document, header-sized; a box only needs the top-left corner)."""
        rect = QRectF()
        items, nodes = self.scene.node_items, self.doc.nodes
        for nid in self._members.get(group_id, ()):
            item = items.made(nid)
            if item is not None:
                rect = rect.united(QRectF(item.pos(), item.rect().size()))
            elif nid in nodes:
                x, y = nodes[nid].pos
                rect = rect.united(QRectF(x, y, NODE_WIDTH, BOX_HEADER))
        return rect

    def update_frames(self) -> None:
        """Fits each expanded frame around what it shows, innermost groups first."""
        self._frames_due = False
        if not isValid(self.scene):
            return
        doc = self.doc
        children: dict[str, list[str]] = {}
        for g in doc.groups.values():
            if g.parent is not None:
                children.setdefault(g.parent, []).append(g.id)
        order = sorted((g for g in self.frames if g in doc.groups),
                       key=lambda g: -len(doc.group_chain(g)))
        rects: dict[str, QRectF] = {}
        for gid, box in self.boxes.items():
            rects[gid] = box.sceneBoundingRect()
        for gid in order:
            rect = QRectF()
            for nid in doc.groups[gid].node_ids:
                item = self.scene.node_items.made(nid)
                if item is not None:
                    rect = rect.united(QRectF(item.pos(), item.rect().size()))
            for child in children.get(gid, ()):
                if child in rects:
                    rect = rect.united(rects[child])
            if rect.isNull():
                rect = QRectF(0, 0, NODE_WIDTH, 40)
            rect = rect.adjusted(-FRAME_PAD, -FRAME_PAD - FRAME_HEADER, FRAME_PAD, FRAME_PAD)
            rects[gid] = rect
            frame = self.frames[gid]
            if frame.rect() != rect:
                frame.setRect(rect)

    def box_of(self, node_id: str) -> "GroupBox | None":
        """The collapsed group's box a hidden node is drawn as (None: the node shows)."""
        gid = self._shown_as.get(node_id)
        return self.boxes.get(gid) if gid is not None else None

    def summary(self, group_id: str) -> str:
        text = self._summaries.get(group_id)
        if text is None:
            text = self._summaries[group_id] = summary_text(
                self.doc, group_id, self._members.get(group_id))
        return text

    def visible_bounds(self) -> QRectF:
        rect = QRectF()
        for item in list(self.frames.values()) + list(self.boxes.values()):
            rect = rect.united(item.sceneBoundingRect())
        return rect

    # ---------------------------------------------------------------- edits (undoable)
    @property
    def stack(self):
        return self.scene.editor.stack

    def _push(self, text: str, change: Callable[[Document], object]) -> bool:
        """Tries the change on a copy first, so a refused one leaves no undo step."""
        try:
            change(self.doc.copy())
        except GraphError as exc:
            self.scene.message.emit(str(exc))
            return False
        self.stack.push(GroupEdit(self.doc, text, change))
        return True

    def selected(self) -> tuple[list[str], list[str]]:
        """(node ids, group ids) selected on the canvas."""
        nodes, groups = [], []
        for item in self.scene.selectedItems():
            if isinstance(item, NodeItem):
                nodes.append(item.node.id)
            elif isinstance(item, (GroupBox, GroupFrame)):
                groups.append(item.group_id)
        return nodes, groups

    def group_selection(self, label: str | None = None) -> str | None:
        """Ctrl+G: a new group around the selected nodes and groups; returns its id."""
        nodes, groups = self.selected()
        if not nodes and not groups:
            self.scene.message.emit("select the nodes to group first")
            return None
        label = label or self._free_label()
        made: list[str] = []
        ok = self._push(f"Group {label}",
                        lambda doc: made.append(doc.group_items(nodes, groups, label).id))
        return made[-1] if ok else None

    def _free_label(self) -> str:
        taken = {g.label for g in self.doc.groups.values()}
        n = 1
        while f"group{n}" in taken:
            n += 1
        return f"group{n}"

    def ungroup_selection(self) -> bool:
        """Ctrl+Shift+G: removes the selected groups, or the innermost groups of the
        selected nodes."""
        nodes, groups = self.selected()
        owner = self.doc.node_groups()
        targets = list(dict.fromkeys(groups + [owner[n] for n in nodes if n in owner]))
        if not targets:
            self.scene.message.emit("the selection is not in a group")
            return False

        def change(doc):
            for gid in targets:
                if gid in doc.groups:
                    doc.ungroup(gid)
        return self._push("Ungroup", change)

    def set_collapsed(self, group_id: str, collapsed: bool) -> None:
        group = self.doc.groups.get(group_id)
        if group is None or group.collapsed == collapsed:
            return
        self._push(f"{'Collapse' if collapsed else 'Expand'} {group.label}",
                   lambda doc: doc.set_group_collapsed(group_id, collapsed))
        self.scene.clearSelection()

    def set_collapsed_later(self, group_id: str, collapsed: bool) -> None:
        """From a mouse event on a frame or box: after the event, since collapsing replaces
        the very item that receives it."""
        QTimer.singleShot(0, lambda: self.set_collapsed(group_id, collapsed))

    def toggle_selection(self) -> None:
        """Collapse the selected expanded groups (and those of selected nodes), or expand
        the selected boxes."""
        nodes, groups = self.selected()
        owner = self.doc.node_groups()
        for gid in dict.fromkeys(groups + [owner[n] for n in nodes if n in owner]):
            group = self.doc.groups.get(gid)
            if group is not None:
                self.set_collapsed(gid, not group.collapsed)

    def rename(self, group_id: str, label: str) -> None:
        group = self.doc.groups.get(group_id)
        if group is not None and label.strip() and label.strip() != group.label:
            self._push(f"Rename group {group.label}",
                       lambda doc: doc.set_group_label(group_id, label))

    def move_group(self, group_id: str, delta: QPointF) -> None:
        moves = {}
        for nid in self.doc.group_nodes(group_id):
            old = self.doc.nodes[nid].pos
            moves[nid] = (old, (old[0] + delta.x(), old[1] + delta.y()))
        self.scene.editor.move_nodes(moves, "Move group")

    def fill_menu(self, menu, item) -> None:
        gid = item.group_id
        group = self.doc.groups.get(gid)
        if group is None:
            return
        if not item.isSelected():
            self.scene.clearSelection()
            item.setSelected(True)
        menu.addAction("Expand" if group.collapsed else "Collapse",
                       lambda: self.set_collapsed(gid, not group.collapsed))
        menu.addAction("Rename group…", lambda: self._ask_name(gid))
        menu.addAction("Ungroup", self.ungroup_selection)

    def _ask_name(self, group_id: str) -> None:
        group = self.doc.groups.get(group_id)
        view = self.scene.views()[0] if self.scene.views() else None
        text, ok = QInputDialog.getText(view, "Rename group", "Name:", text=group.label)
        if ok:
            self.rename(group_id, text)
