"""The debugger's drawing on the canvas: items laid over the scene's node and edge items.

For the backward step shown: the running node framed and glowing (unlike a selection's
outline), each edge carrying a gradient drawn over with a dot travelling backward
(dst -> src) and a tag with the gradient (value for a scalar, shape and norm otherwise),
under each node the gradient its output has received so far ("∇ 3"; the `.grad`
attribute is shown apart, as only leaves and retained tensors get one), "final" on nodes
whose gradient can no longer change, leaf accumulation ("w.grad None → 5", and
"pending 3 → 5" while contributions arrive), hooks as "before → after" when they fire
(and which hooks a node carries, always), "grad None" on nodes no gradient reaches,
NaN/Inf in red, and a red dot on breakpoint nodes. A node's tags go over it instead when
another node sits right below. For the forward walk: nodes not yet run veiled, the
current one framed with what it made. The overlay's items hang under two invisible layer
items (one under the nodes for the gradient lines, one over them for everything else),
so a redraw drops a layer in one call and builds it again; the scene's items are never
touched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from PySide6.QtCore import QObject, QPointF, QRectF, QSizeF, Qt, QVariantAnimation
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsPathItem

from gradstudio.graph.grad_hooks import describe
from gradstudio.runtime.debugger import BackwardDebugger, ForwardWalk, Grad, grad_text
from gradstudio.ui.canvas_scene import GraphScene

try:
    from shiboken6 import isValid as _alive
except ImportError:                                     # pragma: no cover
    def _alive(item) -> bool:
        return True

CURRENT = QColor("#f08c00")      # the node running now, gradients in flight
FINAL = QColor("#2f9e44")        # gradient complete
GRAD = QColor("#1c7ed6")         # gradient received so far
HOOK = QColor("#9c36b5")
BAD = QColor("#e03131")          # NaN / Inf
NONE = QColor("#868e96")         # no gradient
FORWARD = QColor("#1971c2")
Z_FLOW, Z_FRAME, Z_TAG = -0.5, 30.0, 40.0
TAG_GAP = 3.0
CELL = 256.0                     # grid cell for finding the nodes near a tag


class Layer(QGraphicsItem):
    """An invisible parent for the overlay's items at one depth."""

    def __init__(self, z: float) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.ItemHasNoContents)
        self.setZValue(z)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:
        pass


@dataclass(frozen=True)
class Tag:
    """A short text on a rounded, coloured background, at a place in the scene."""
    text: str
    rect: QRectF
    color: QColor
    filled: bool


class TagSheet(QGraphicsItem):
    """Paints many tags as one item (hundreds of small items cost more to make than to draw)."""

    def __init__(self, font: QFont) -> None:
        super().__init__()
        self.font = font
        self.tags: list[Tag] = []
        self._bounds = QRectF()
        self._styles: dict[tuple[str, bool], tuple[QPen, QBrush, QPen]] = {}
        self.setFlag(QGraphicsItem.ItemUsesExtendedStyleOption)
        self.setAcceptedMouseButtons(Qt.NoButton)

    def add(self, tag: Tag) -> None:
        self.prepareGeometryChange()
        self.tags.append(tag)
        self._bounds = self._bounds.united(tag.rect.adjusted(-1, -1, 1, 1))

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _style(self, color: QColor, filled: bool) -> tuple[QPen, QBrush, QPen]:
        key = (color.name(), filled)
        if key not in self._styles:
            self._styles[key] = (QPen(color, 1.2),
                                 QBrush(color if filled else QColor(255, 255, 255, 235)),
                                 QPen(QColor("white") if filled else color))
        return self._styles[key]

    def paint(self, painter, option, widget=None) -> None:
        exposed = option.exposedRect
        painter.setFont(self.font)
        for tag in self.tags:
            if not exposed.intersects(tag.rect):
                continue
            border, fill, text = self._style(tag.color, tag.filled)
            painter.setPen(border)
            painter.setBrush(fill)
            painter.drawRoundedRect(tag.rect, 4, 4)
            painter.setPen(text)
            painter.drawText(tag.rect, int(Qt.AlignCenter), tag.text)


class DebuggerOverlay(QObject):
    def __init__(self, scene: GraphScene, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.layers: list[Layer] = []
        self.dots: list[tuple[QGraphicsEllipseItem, QPainterPath]] = []
        self.tags: list[Tag] = []                  # every tag shown (tests read their texts)
        self.phase = 0.0
        self.font = QFont(scene.style.font_small)
        self.font.setBold(True)
        self.metrics = QFontMetricsF(self.font)
        self.sheet: TagSheet | None = None
        self._widths: dict[str, float] = {}
        self._cells: dict[tuple[int, int], list[tuple[str, QRectF]]] | None = None
        self.animation = QVariantAnimation(self)
        self.animation.setStartValue(0.0)
        self.animation.setEndValue(1.0)
        self.animation.setDuration(900)
        self.animation.setLoopCount(3)          # then the dots rest where the gradient arrived
        self.animation.valueChanged.connect(self.set_phase)
        self.animate = True

    # ---------------------------------------------------------------- public
    def clear(self) -> None:
        self.animation.stop()
        for layer in self.layers:
            if _alive(layer) and layer.scene() is self.scene:
                self.scene.removeItem(layer)
        self.layers, self.dots, self.tags, self.sheet = [], [], [], None
        self._cells = None

    def texts(self) -> list[str]:
        return [tag.text for tag in self.tags]

    def set_phase(self, phase: float) -> None:
        """Moves the gradient dots: 0 at the receiving end of an edge, 1 at its source."""
        self.phase = float(phase)
        for dot, path in self.dots:
            if _alive(dot):
                point = path.pointAtPercent(max(0.0, min(1.0, 1.0 - self.phase)))
                dot.setPos(point)

    def show_backward(self, debugger: BackwardDebugger, breakpoints: Iterable[str] = ()) -> None:
        self.clear()
        state = debugger.state
        if state is None:
            return
        for node_id in breakpoints:
            self._breakpoint_dot(node_id)
        self._hook_marks()
        step = debugger.current
        if step is not None and step.planned.node_id:
            self._frame(step.planned.node_id, CURRENT)
        elif step is None and debugger.plan and debugger.plan[0].node_id:
            self._frame(debugger.plan[0].node_id, CURRENT, dashed=True)

        below: dict[str, list[tuple[str, QColor, bool]]] = {}
        finals: set[str] = set()
        for key, grad in state.grads.items():
            node_id, port = key
            name = "∇" if port == "out" else f"∇{port}"
            if key in state.final:
                finals.add(node_id)
            arrivals = state.contributions.get(key, ())
            if key in state.grad_attrs and state.grad_attrs[key] is None and len(arrivals) > 1:
                chain = " → ".join(g.text() for g in arrivals)
                below.setdefault(node_id, []).append((f"pending {chain}", GRAD, False))
            else:
                below.setdefault(node_id, []).append((f"{name} {grad.text()}", _color(grad, GRAD),
                                                      False))
        for key in debugger.unreached():
            if key[0] not in below:
                below.setdefault(key[0], []).append(("grad None", NONE, False))
        if step is not None:
            for acc in step.accumulations:
                if acc.key is not None:
                    text = f"{acc.label}.grad {grad_text(acc.before)} → {grad_text(acc.after)}"
                    below.setdefault(acc.key[0], []).insert(0, (text, _color(acc.after, FINAL),
                                                                True))
            for hook in step.hooks:
                if hook.node_id:
                    name = hook.description.replace("tensor hook ", "hook ")
                    before = ", ".join(grad_text(g) for g in hook.before)
                    after = ", ".join(grad_text(g) for g in hook.after)
                    below.setdefault(hook.node_id, []).append(
                        (f"{name.split(' on ')[0]}: {before} → {after}", HOOK, True))
        for node_id, tags in below.items():
            self._stack_below(node_id, tags, "✓ final" if node_id in finals else None)
        for node_id in finals:
            self._corner_tag(node_id, "✓ final", FINAL)

        if step is not None:
            for flow in step.flows:
                for edge_id in flow.edge_ids:
                    self._flow(edge_id, flow.grad)
        elif debugger.seed is not None:
            for edge_id in debugger.root_edge_ids:
                self._flow(edge_id, debugger.seed, prefix="seed ")
        self.set_phase(self.phase)
        if self.dots and self.animate:
            self.animation.start()

    def show_forward(self, walk: ForwardWalk) -> None:
        self.clear()
        reached = set(walk.shown())
        for node_id in self.scene.doc.nodes:      # (hidden ones: their box)
            if node_id not in reached:
                veil = QGraphicsPathItem(_rounded(self._node_rect(node_id), 6))
                color = QColor(self.scene.style.background)
                color.setAlpha(190)
                veil.setBrush(color)
                veil.setPen(Qt.NoPen)
                self._add(veil, Z_FRAME - 1)
        if walk.position:
            current = walk.steps[walk.position - 1]
            self._frame(current.node_id, FORWARD)
            self._stack_below(current.node_id,
                              [(f"{walk.position}. {current.text}", FORWARD, True)])

    # ---------------------------------------------------------------- pieces
    def _add(self, item: QGraphicsItem, z: float) -> QGraphicsItem:
        """Puts the item on the layer under the nodes (z < 0) or over them, at depth z."""
        if not self.layers:
            self.layers = [Layer(Z_FLOW), Layer(Z_FRAME)]
            for layer in self.layers:
                self.scene.addItem(layer)
        item.setParentItem(self.layers[0] if z < 0 else self.layers[1])
        item.setZValue(z)
        item.setAcceptedMouseButtons(Qt.NoButton)
        return item

    def _node_rect(self, node_id: str) -> QRectF:
        box = self.scene.groups.box_of(node_id)     # inside a collapsed group: its box
        if box is not None:
            return QRectF(box.pos(), box.rect().size())
        item = self.scene.node_items[node_id]
        return QRectF(item.pos(), QSizeF(*item.size()))

    def _frame(self, node_id: str, color: QColor, dashed: bool = False) -> None:
        if node_id not in self.scene.node_items:
            return
        rect = self._node_rect(node_id)
        frame = QGraphicsPathItem(_rounded(rect.adjusted(-5, -5, 5, 5), 9))
        pen = QPen(color, 3.5, Qt.DashLine if dashed else Qt.SolidLine)
        frame.setPen(pen)
        frame.setBrush(Qt.NoBrush)
        self._add(frame, Z_FRAME)
        if not dashed:      # a glow under the node: unlike the selection's outline
            glow = QGraphicsPathItem(_rounded(rect.adjusted(-12, -12, 12, 12), 14))
            halo = QColor(color)
            halo.setAlpha(70)
            glow.setBrush(halo)
            glow.setPen(Qt.NoPen)
            self._add(glow, Z_FLOW - 0.1)

    def _size(self, text: str) -> QSizeF:
        if text not in self._widths:
            self._widths[text] = self.metrics.horizontalAdvance(text) + 10
        return QSizeF(self._widths[text], self.metrics.height() + 4)

    def _tag(self, text: str, color: QColor, pos: QPointF, filled: bool = True) -> Tag:
        if self.sheet is None:
            self.sheet = TagSheet(self.font)
            self._add(self.sheet, Z_TAG)
        tag = Tag(text, QRectF(pos, self._size(text)), color, filled)
        self.sheet.add(tag)
        self.tags.append(tag)
        return tag

    def _stack_below(self, node_id: str, tags: list[tuple[str, QColor, bool]],
                     corner: str | None = None) -> None:
        """The tags one under another below the node; above it when another node sits right
        below and the space above is free (over the row of the hook marks and the `corner`
        tag, where they would meet)."""
        if node_id not in self.scene.node_items:
            return
        rect = self._node_rect(node_id)
        sizes = [self._size(text) for text, _, _ in tags]
        height = sum(size.height() + TAG_GAP for size in sizes)
        width = max(size.width() for size in sizes)
        y = rect.bottom() + TAG_GAP + 2
        if self._hits_node(QRectF(rect.left(), y, width, height), node_id):
            # The last tag sits in the row just over the node unless hook marks or the
            # corner tag are in its way; then the stack goes one row higher.
            room = rect.width() - (self._size(corner).width() + TAG_GAP if corner else 0)
            row_taken = bool(self.scene.doc.nodes[node_id].hooks) or sizes[-1].width() > room
            above = rect.top() - 3 - height - (sizes[-1].height() + TAG_GAP if row_taken else 0)
            if not self._hits_node(QRectF(rect.left(), above, width, height), node_id):
                y = above
        for text, color, filled in tags:
            tag = self._tag(text, color, QPointF(rect.left(), y), filled)
            y += tag.rect.height() + TAG_GAP

    def _hits_node(self, rect: QRectF, node_id: str) -> bool:
        """Whether `rect` covers part of a node other than node_id (looked up in a grid of
        CELL-sized cells built once per drawing: a scene query per node cost 3x the redraw)."""
        if self._cells is None:
            self._cells = {}
            for other in self.scene.doc.nodes:
                box = self._node_rect(other)
                for cell in _cells_of(box):
                    self._cells.setdefault(cell, []).append((other, box))
        return any(other != node_id and box.intersects(rect)
                   for cell in _cells_of(rect) for other, box in self._cells.get(cell, ()))

    def _corner_tag(self, node_id: str, text: str, color: QColor) -> None:
        if node_id not in self.scene.node_items:
            return
        rect = self._node_rect(node_id)
        size = self._size(text)
        self._tag(text, color, QPointF(rect.right() - size.width(),
                                       rect.top() - size.height() - TAG_GAP - 3))

    def _hook_marks(self) -> None:
        """The hooks each node carries, over its top-left corner, before any of them fires."""
        for node_id, node in self.scene.doc.nodes.items():
            if node.hooks and node_id in self.scene.node_items:
                text = "hook " + ", ".join(describe(h) for h in node.hooks)
                rect = self._node_rect(node_id)
                size = self._size(text)
                self._tag(text, HOOK, QPointF(rect.left() + 14,
                                              rect.top() - size.height() - TAG_GAP - 3), False)

    def _breakpoint_dot(self, node_id: str) -> None:
        if node_id not in self.scene.node_items:
            return
        rect = self._node_rect(node_id)
        dot = QGraphicsEllipseItem(QRectF(-7, -7, 14, 14))
        dot.setBrush(BAD)
        dot.setPen(QPen(QColor("white"), 1.5))
        dot.setPos(rect.topLeft() + QPointF(2, -2))
        self._add(dot, Z_TAG)

    def _flow(self, edge_id: str, grad: Grad | None, prefix: str = "") -> None:
        edge = self.scene.edge_items.get(edge_id)
        if edge is None:
            return
        path = edge.path()
        color = _color(grad, CURRENT)
        line = QGraphicsPathItem(path)
        pen = QPen(color, 4.0, Qt.SolidLine, Qt.RoundCap)
        line.setPen(pen)
        self._add(line, Z_FLOW)
        dot = QGraphicsEllipseItem(QRectF(-6, -6, 12, 12))
        dot.setBrush(color)
        dot.setPen(QPen(QColor("white"), 1.5))
        self._add(dot, Z_TAG - 1)
        self.dots.append((dot, path))
        middle = path.pointAtPercent(0.5)
        text = f"← {prefix}{grad_text(grad)}"
        size = self._size(text)
        self._tag(text, color, middle - QPointF(size.width() / 2, size.height() + 6))


def _color(grad: Grad | None, normal: QColor) -> QColor:
    if grad is None:
        return NONE
    return normal if grad.finite else BAD


def _cells_of(rect: QRectF) -> list[tuple[int, int]]:
    """The grid cells a scene rectangle touches."""
    return [(i, j) for i in range(int(rect.left() // CELL), int(rect.right() // CELL) + 1)
            for j in range(int(rect.top() // CELL), int(rect.bottom() // CELL) + 1)]


def _rounded(rect: QRectF, radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    return path
