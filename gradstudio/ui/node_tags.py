"""Tags drawn over nodes on the canvas: the gradient health of a layer, a gradient that changed
against the previous run, a training step's gradient factor.

A tag goes where the person sees the node: over its item, or, for a node hidden inside a
collapsed group, over that group's box (where the debugger frames such a node), led by the
node's label, the box's tags stacked upwards (MAX_ON_BOX at most, then one "+N more" tag).
The tags follow the canvas: they are drawn again when a group collapses, expands or changes
and when nodes move, are renamed, come or go.

    tags = NodeTags(scene, z=36)
    tags.set([(node_id, "dead 70%", QColor("red"), "tooltip"), ...])
    tags.clear()
"""
from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem
from shiboken6 import isValid as _alive

TAG_STEP = 22          # a tag's height and gap: the first one this far above its node or box
MAX_ON_BOX = 4         # tags stacked over one collapsed group's box before "+N more"

Entry = tuple[str, str, QColor, str]     # node id, text, colour, tooltip ("" for none)


class NodeTags:
    def __init__(self, scene, z: float) -> None:
        self.scene, self.z = scene, z
        self.entries: list[Entry] = []
        self.layer: QGraphicsRectItem | None = None
        self.tags: dict[str, str] = {}       # node label -> its text (for tests)
        self.on_box: dict[str, str] = {}     # node label -> the group whose box carries it
        self._due = False
        scene.doc.subscribe(self._on_change)

    def set(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self.draw()

    def clear(self) -> None:
        self.entries = []
        self._remove()

    def _remove(self) -> None:
        if self.layer is not None and _alive(self.layer) and _alive(self.scene) \
                and self.layer.scene() is self.scene:
            self.scene.removeItem(self.layer)
        self.layer, self.tags, self.on_box = None, {}, {}

    def _on_change(self, change) -> None:
        if not self.entries:
            return
        if change.what == "reset":           # another document: these tags are not its
            self.clear()
        elif change.what in ("group_changed", "node_removed", "node_added") or \
                (change.what == "node_changed" and change.key in ("pos", "label")):
            if not self._due:                # once, after the canvas has followed
                self._due = True
                QTimer.singleShot(0, self._draw_due)

    def _draw_due(self) -> None:
        self._due = False
        if self.entries and _alive(self.scene):
            self.draw()

    def draw(self) -> None:
        self._remove()
        scene = self.scene
        if not self.entries or not _alive(scene):
            return
        self.layer = QGraphicsRectItem(QRectF())
        self.layer.setPen(Qt.NoPen)
        self.layer.setZValue(self.z)
        scene.addItem(self.layer)
        nodes, boxes = scene.doc.nodes, scene.groups
        on_box: dict[str, list[Entry]] = {}
        for entry in self.entries:
            node = nodes.get(entry[0])
            if node is None:
                continue
            box = boxes.box_of(node.id)
            if box is not None:
                on_box.setdefault(box.group_id, []).append(entry)
                continue
            item = scene.node_items.get(node.id)
            if item is not None:
                self._tag(entry[1], item.pos() + QPointF(0, -TAG_STEP), entry[2], entry[3])
                self.tags[node.label] = entry[1]
        for gid, entries in on_box.items():
            top = boxes.boxes[gid].pos()
            for n, (nid, text, color, tip) in enumerate(entries[:MAX_ON_BOX]):
                label = nodes[nid].label
                self._tag(f"{label}: {text}", top + QPointF(0, -TAG_STEP * (n + 1)), color, tip)
                self.tags[label] = text
                self.on_box[label] = gid
            rest = entries[MAX_ON_BOX:]
            if rest:
                self._tag(f"+{len(rest)} more inside (expand to see)",
                          top + QPointF(0, -TAG_STEP * (MAX_ON_BOX + 1)), rest[0][2], "")
                for nid, text, _, _ in rest:
                    self.tags[nodes[nid].label] = text
                    self.on_box[nodes[nid].label] = gid

    def _tag(self, text: str, pos: QPointF, color: QColor, tip: str) -> None:
        label = QGraphicsSimpleTextItem(text)
        label.setBrush(QColor("white"))
        back = QGraphicsRectItem(label.boundingRect().adjusted(-4, -2, 4, 2), self.layer)
        back.setBrush(QBrush(color))
        back.setPen(QPen(color.darker(120)))
        back.setPos(pos)
        if tip:
            back.setToolTip(tip)
        label.setParentItem(back)
