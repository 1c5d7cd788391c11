"""Canvas items: a node (title, badges, ports, inline parameter fields, run preview) and an edge.

A `NodeItem` lays out its rows once per change (`refresh`) and keeps the elided strings and
rectangles; `paint` only draws them with the theme's prepared pens, brushes and fonts, and
the item is cached as a pixmap in device coordinates, so panning a big graph is a blit.
Ports are not items of their own: `port_at` hit-tests them, which keeps 1,000 nodes cheap.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem,
                               QStyleOptionGraphicsItem)

from gradstudio.graph.catalog_types import (BOOL, CHOICE, DATASET, FLOAT, INT, PATH, SHAPE, STR,
                                            TENSOR_VALUE, NodeSpec, ParamSpec)
from gradstudio.graph.document import Edge, Node
from gradstudio.ui.param_values import format_value, visible_params
from gradstudio.ui.tensor_text import field_of, preview, shape_text

if TYPE_CHECKING:
    from gradstudio.ui.canvas_scene import GraphScene

NODE_WIDTH = 200.0
HEADER_H = 24.0
BADGE_H = 18.0
ROW_H = 20.0
PREVIEW_H = 16.0
PORT_R = 5.0
PORT_HIT = 10.0
PAD = 8.0
INLINE_TYPES = (FLOAT, INT, BOOL, STR, CHOICE, SHAPE, TENSOR_VALUE, PATH)
MAX_INLINE_PARAMS = 7


# parameters shown in the Inspector only (a recorded op call's function and arguments)
HIDDEN_INLINE = {"call": ("function", "args")}


def shown_ports(spec: NodeSpec, params: dict) -> tuple[tuple, tuple]:
    """The ports a node draws: all of its kind's, but only those a recorded op call uses."""
    if spec.kind != "call":
        return spec.inputs, spec.outputs
    from gradstudio.graph.script_call import call_ports
    inputs, outputs = call_ports(params)
    return (tuple(p for p in spec.inputs if p.name in inputs),
            tuple(p for p in spec.outputs if p.name in outputs))


_POSITION_CHANGE = QGraphicsItem.ItemPositionChange
_POSITION_CHANGED = QGraphicsItem.ItemPositionHasChanged


class NodeItem(QGraphicsRectItem):
    """A QGraphicsRectItem so Qt answers `boundingRect` natively: with a thousand items it is
    asked for every item on every frame, and a Python override cost more than the paint."""

    def __init__(self, node: Node, spec: NodeSpec, canvas: "GraphScene",
                 shown: bool = True, lay_out: bool = True) -> None:
        """shown=False: a node hidden inside a collapsed group; its rows and texts are laid
        out when something first needs them (it shows, or its size or ports are asked for):
        a big recorded graph opens with thousands of such nodes. lay_out=False: the caller
        calls refresh() once it has given the item its edges and result."""
        super().__init__()
        self.node, self.spec, self.canvas = node, spec, canvas
        self.edges: list[EdgeItem] = []
        self.info: Any = None      # the runtime's snapshot for this node after a run
        self.error: str | None = None
        self.waiting: str | None = None    # why it cannot run yet (an input not connected)
        self.stale = False         # rows and texts wait for the next refresh()
        self.setPos(*node.pos)       # before it sends geometry changes: no edges to move yet
        if not shown:
            self.setVisible(False)
        self.setFlags(QGraphicsItem.ItemIsMovable | QGraphicsItem.ItemIsSelectable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self._rect = QRectF(0, 0, NODE_WIDTH, HEADER_H)
        # The pen is never drawn; its width makes the native bounding rect cover the ports.
        self.setPen(QPen(Qt.NoBrush, 2 * (PORT_R + 3)))
        if shown and lay_out:
            self.refresh()
        else:
            self.setRect(self._rect)
            self.stale = True

    def ensure_layout(self) -> None:
        """Lays the item out now if it waits for it (a hidden node asked for its geometry)."""
        if self.stale:
            self.refresh()

    # ---------------------------------------------------------------- layout
    def refresh(self) -> None:
        """Recomputes rows and texts from the node, its result and the theme."""
        self.stale = False
        style = self.canvas.style
        fm, fm_small, fm_bold = style.metrics, style.metrics_small, style.metrics_bold
        w = NODE_WIDTH
        self._header_brush = style.header_brush(self.spec.category)
        is_root = self.canvas.doc.meta.get("root") == self.node.label
        kind_text = style.elided(fm_small, self.spec.title, w * 0.4)
        self._kind_text = kind_text
        kind_w = style.advance(fm_small, kind_text)
        self._title = style.elided(fm_bold, self.node.label, w - 2 * PAD - kind_w - 6)

        badges = []
        params = self.node.params
        requires_grad = field_of(self.info, "requires_grad", params.get("requires_grad"))
        if requires_grad:
            badges.append(("requires_grad", "rg"))
        if field_of(self.info, "is_leaf"):
            badges.append(("leaf", "leaf"))
        if field_of(self.info, "retains_grad") or (self.info is None and params.get("retain_grad")):
            badges.append(("retains_grad", "ret"))
        passes = self.grad_passes()
        if field_of(self.info, "grad") is not None:
            badges.append((f"grad ×{passes}" if passes > 1 else "grad", "grad"))
        if self.canvas.doc.in_no_grad(self.node.id):
            badges.append(("no_grad", "nograd"))
        if is_root:
            badges.append(("root", "grad"))
        if self.error:
            badges.append(("error", "err"))
        self._badges = []
        x = PAD
        for text, key in badges:
            bw = style.advance(fm_small, text) + 10
            self._badges.append((QRectF(x, HEADER_H + 3, bw, BADGE_H - 5), text, key))
            x += bw + 4

        y = HEADER_H + BADGE_H
        self._inputs: dict[str, QPointF] = {}
        self._outputs: dict[str, QPointF] = {}
        self._port_labels: list[tuple[QRectF, str, int]] = []
        self._in_specs, self._out_specs = shown_ports(self.spec, params)
        rows = max(len(self._in_specs), len(self._out_specs))
        half = w / 2 - PAD - 4
        for i, port in enumerate(self._in_specs):
            cy = y + i * ROW_H + ROW_H / 2
            self._inputs[port.name] = QPointF(0, cy)
            self._port_labels.append((QRectF(PAD + 2, cy - ROW_H / 2, half, ROW_H),
                                      style.elided(fm, port.name, half),
                                      int(Qt.AlignLeft | Qt.AlignVCenter)))
        for i, port in enumerate(self._out_specs):
            cy = y + i * ROW_H + ROW_H / 2
            self._outputs[port.name] = QPointF(w, cy)
            self._port_labels.append((QRectF(w / 2, cy - ROW_H / 2, half + 2, ROW_H),
                                      style.elided(fm, port.name, half),
                                      int(Qt.AlignRight | Qt.AlignVCenter)))
        y += rows * ROW_H

        self._params: list[tuple[ParamSpec, QRectF, QRectF, str, str]] = []
        connected = [e.edge.dst_port for e in self.edges if e.edge.dst == self.node.id]
        inline = [p for p in visible_params(self.spec, params, connected)
                  if p.type in INLINE_TYPES and p.name not in HIDDEN_INLINE.get(self.spec.kind, ())
                  ][:MAX_INLINE_PARAMS]
        if inline:
            y += 2
        name_w = w * 0.42
        for p in inline:
            name_rect = QRectF(PAD, y, name_w - PAD, ROW_H)
            field = QRectF(name_w, y + 2, w - name_w - PAD, ROW_H - 4)
            text = "" if p.type == BOOL else fm.elidedText(
                format_value(p, params.get(p.name)), Qt.ElideRight, field.width() - 8)
            self._params.append((p, name_rect, field,
                                 style.elided(fm_small, p.name, name_rect.width()), text))
            y += ROW_H

        self._preview: list[tuple[QRectF, str, QPen]] = []
        lines: list[tuple[str, str]] = []
        if self.info is not None:
            dtype = field_of(self.info, "dtype")
            lines.append((f"shape {shape_text(field_of(self.info, 'shape'))}  {dtype or ''}".strip(),
                          "dim"))
            lines.append(("data  " + preview(field_of(self.info, "data")), "text"))
            grad = field_of(self.info, "grad")
            if grad is not None:
                lines.append(("grad  " + preview(grad)
                              + (f"  (sum of {passes} backward)" if passes > 1 else ""), "text"))
            elif field_of(self.info, "retains_grad") or (
                    field_of(self.info, "is_leaf") and field_of(self.info, "requires_grad")):
                lines.append(("grad  None", "dim"))       # it has a .grad, not written yet
            grad_fn = field_of(self.info, "grad_fn")
            if grad_fn:
                lines.append((str(grad_fn if isinstance(grad_fn, str)
                                  else field_of(grad_fn, "name", grad_fn)), "dim"))
        if self.error:
            lines += [(line, "error") for line in wrap_text(fm_small, self.error, w - 2 * PAD, 3)]
        elif self.waiting:
            lines += [(line, "dim") for line in wrap_text(fm_small, self.waiting,
                                                          w - 2 * PAD, 2)]
        if lines:
            y += 4
        pens = {"text": style.text, "dim": style.text_dim, "error": style.text_error}
        for text, pen in lines:
            rect = QRectF(PAD, y, w - 2 * PAD, PREVIEW_H)
            self._preview.append((rect, fm_small.elidedText(text, Qt.ElideRight, rect.width()),
                                  pens[pen]))
            y += PREVIEW_H
        height = y + PAD
        self._rect = QRectF(0, 0, w, height)
        self.setRect(self._rect)
        self.setToolTip(self.error or self.waiting or self.spec.doc or self.spec.title)
        self.update()

    def grad_passes(self) -> int:
        """How many backward() calls the .grad shown sums (the debugger's step shows one)."""
        canvas = self.canvas
        return 1 if canvas.step_results is not None else getattr(canvas, "grad_passes", 1)

    def set_result(self, info: Any, error: str | None, waiting: str | None = None) -> None:
        self.info, self.error, self.waiting = info, error, waiting
        self.refresh_when_shown()

    def refresh_when_shown(self) -> None:
        """refresh() now, or (inside a collapsed group) when the group shows it again."""
        if self.isVisible():
            self.refresh()
        else:
            self.stale = True

    def size(self) -> tuple[float, float]:
        self.ensure_layout()
        return self._rect.width(), self._rect.height()

    def settled_size(self) -> tuple[float, float]:
        """Its size once a run has shown its result (shape, data, grad, grad_fn): what a
        layout leaves room for, so that nodes do not grow into each other after the run."""
        w, h = self.size()
        return w, h if self.info is not None or self.error else h + 4 + 4 * PREVIEW_H

    # ---------------------------------------------------------------- geometry
    def port_pos(self, name: str, is_output: bool) -> QPointF:
        self.ensure_layout()
        ports = self._outputs if is_output else self._inputs
        return ports.get(name, QPointF(NODE_WIDTH if is_output else 0, HEADER_H / 2))

    def port_scene_pos(self, name: str, is_output: bool) -> QPointF:
        return self.mapToScene(self.port_pos(name, is_output))

    def port_at(self, local: QPointF) -> tuple[str, bool] | None:
        self.ensure_layout()
        for is_output, ports in ((False, self._inputs), (True, self._outputs)):
            for name, center in ports.items():
                if abs(local.x() - center.x()) <= PORT_HIT and abs(local.y() - center.y()) <= PORT_HIT:
                    return name, is_output
        return None

    def param_at(self, local: QPointF) -> tuple[ParamSpec, QRectF] | None:
        self.ensure_layout()
        for p, _, field, _, _ in self._params:
            if field.contains(local):
                return p, field
        return None

    def title_rect(self) -> QRectF:
        return QRectF(0, 0, NODE_WIDTH, HEADER_H)

    # ---------------------------------------------------------------- painting
    def paint(self, painter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        style = self.canvas.style
        rect = self._rect
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        painter.setPen(style.node_error if self.error
                       else style.node_selected if self.isSelected() else style.node_border)
        painter.setBrush(style.node_body)
        painter.drawRoundedRect(rect, 6, 6)
        if self.error and self.isSelected():      # selected and failing: both outlines
            painter.setPen(style.node_selected)
            painter.setBrush(Qt.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-4, -4, 4, 4), 8, 8)
        painter.setPen(Qt.NoPen)
        painter.setBrush(self._header_brush)
        header = QRectF(rect.left() + 1, rect.top() + 1, rect.width() - 2, HEADER_H - 1)
        painter.drawRoundedRect(header, 5, 5)
        painter.drawRect(QRectF(header.left(), header.bottom() - 6, header.width(), 6))
        painter.setPen(style.text)
        painter.setFont(style.font_bold)
        painter.drawText(QRectF(PAD, 0, NODE_WIDTH - 2 * PAD, HEADER_H),
                         int(Qt.AlignLeft | Qt.AlignVCenter), self._title)
        if lod < 0.4:
            return
        painter.setFont(style.font_small)
        painter.setPen(style.text_dim)
        painter.drawText(QRectF(PAD, 0, NODE_WIDTH - 2 * PAD, HEADER_H),
                         int(Qt.AlignRight | Qt.AlignVCenter), self._kind_text)
        for badge_rect, text, key in self._badges:
            painter.setPen(Qt.NoPen)
            painter.setBrush(style.badge_fill[key])
            painter.drawRoundedRect(badge_rect, 4, 4)
            painter.setPen(style.badge_text)
            painter.drawText(badge_rect, int(Qt.AlignCenter), text)

        painter.setFont(style.font)
        painter.setPen(style.text)
        for label_rect, text, align in self._port_labels:
            painter.drawText(label_rect, align, text)
        painter.setPen(style.port_border)
        linked = {(e.edge.dst_port, False) for e in self.edges if e._dst is self} | \
                 {(e.edge.src_port, True) for e in self.edges if e._src is self}
        for is_output, ports, specs in ((False, self._inputs, self._in_specs),
                                        (True, self._outputs, self._out_specs)):
            for port in specs:
                center = ports[port.name]
                painter.setBrush(style.port_linked if (port.name, is_output) in linked
                                 else style.port_dataset if port.type == DATASET
                                 else style.port_fill)
                if port.type == DATASET:
                    painter.drawRect(QRectF(center.x() - PORT_R, center.y() - PORT_R,
                                            2 * PORT_R, 2 * PORT_R))
                else:
                    painter.drawEllipse(center, PORT_R, PORT_R)

        for p, name_rect, field, name_text, text in self._params:
            painter.setFont(style.font_small)
            painter.setPen(style.text_dim)
            painter.drawText(name_rect, int(Qt.AlignLeft | Qt.AlignVCenter), name_text)
            painter.setPen(Qt.NoPen)
            painter.setBrush(style.field_fill)
            if p.type == BOOL:
                box = QRectF(field.left(), field.top() + 1, field.height() - 2, field.height() - 2)
                painter.drawRoundedRect(box, 3, 3)
                if self.node.params.get(p.name):
                    painter.setPen(style.check)
                    painter.drawLine(QPointF(box.left() + 3, box.center().y()),
                                     QPointF(box.left() + box.width() * 0.42, box.bottom() - 3))
                    painter.drawLine(QPointF(box.left() + box.width() * 0.42, box.bottom() - 3),
                                     QPointF(box.right() - 3, box.top() + 3))
                continue
            painter.drawRoundedRect(field, 3, 3)
            painter.setFont(style.font)
            painter.setPen(style.text)
            painter.drawText(field.adjusted(4, 0, -4, 0), int(Qt.AlignLeft | Qt.AlignVCenter), text)

        painter.setFont(style.font_small)
        for rect_, text, pen in self._preview:
            painter.setPen(pen)
            painter.drawText(rect_, int(Qt.AlignLeft | Qt.AlignVCenter), text)

    # ---------------------------------------------------------------- interaction
    def itemChange(self, change, value):
        # Only a drag snaps; an item made or moved for the document sits where the document
        # says (a paste, an undo of a delete), so the canvas never differs from the file.
        # (Asked for every change of every item, thousands while a big graph is built: the
        # others return `value` as QGraphicsItem's own itemChange does.)
        if change == _POSITION_CHANGE:
            if self.canvas.snap_to_grid and not self.canvas.syncing \
                    and self.canvas.mouseGrabberItem() is not None:
                grid = self.canvas.grid_size
                return QPointF(round(value.x() / grid) * grid, round(value.y() / grid) * grid)
        elif change == _POSITION_CHANGED:
            for edge in self.edges:
                edge.update_path()
        return value

    def hoverMoveEvent(self, event) -> None:
        """The cursor says what a press would do: connect, edit a field, or move the node."""
        pos = event.pos()
        self.setCursor(Qt.CrossCursor if self.port_at(pos) is not None
                       else Qt.PointingHandCursor if self.param_at(pos) is not None
                       else Qt.ArrowCursor)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            port = self.port_at(event.pos())
            if port is not None:
                self.canvas.begin_connection(self, port[0], port[1], event.scenePos())
                event.accept()
                return
            hit = self.param_at(event.pos())
            if hit is not None and not event.modifiers() & (Qt.ShiftModifier | Qt.ControlModifier):
                self.canvas.clearSelection()
                self.setSelected(True)
                self.canvas.edit_param(self, hit[0], hit[1])
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self.canvas.connecting:
            self.canvas.update_connection(event.scenePos())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self.canvas.connecting:
            self.canvas.finish_connection(event.scenePos())
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if self.title_rect().contains(event.pos()):
            self.canvas.edit_label(self)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


def wrap_text(fm: QFontMetricsF, text: str, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most max_lines lines; the last one keeps the rest (elided)."""
    lines: list[str] = []
    current = ""
    words = text.split()
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if current and fm.horizontalAdvance(candidate) > width:
            lines.append(current)
            if len(lines) == max_lines - 1:
                return lines + [" ".join(words[i:])]
            current = word
        else:
            current = candidate
    return lines + [current] if current else lines


def bezier(p1: QPointF, p2: QPointF) -> QPainterPath:
    path = QPainterPath(p1)
    dx = max(40.0, abs(p2.x() - p1.x()) * 0.5)
    path.cubicTo(QPointF(p1.x() + dx, p1.y()), QPointF(p2.x() - dx, p2.y()), p2)
    return path


class EdgeItem(QGraphicsPathItem):
    """A bezier from an output port to an input port; dashed when the edge is detached.

    Qt paints it natively (no Python `paint`, which costs ~15 us a call and dominated the
    frame time with a thousand edges on screen). Selection is therefore the scene's own
    (`selected`, shown by the pen) rather than Qt's, which would draw a box around the curve.
    """

    _stroker = QPainterPathStroker()
    _stroker.setWidth(10)

    def __init__(self, edge: Edge, src: NodeItem | None, dst: NodeItem | None,
                 canvas: "GraphScene", path: bool = True) -> None:
        """src, dst: the end nodes' items; None for a node hidden inside a collapsed group
        whose item is not made yet (when it is made, it takes this edge: `src`/`dst` make it).
        path=False: the caller lays out the path later (the scene's rebuild: the group
        layer draws every edge it shows once it knows which hide inside collapsed groups)."""
        super().__init__()
        self.edge, self.canvas = edge, canvas
        self._src, self._dst = src, dst
        self.selected = False
        # a collapsed group's box the edge leaves from / enters instead of the hidden node
        self.src_box = self.dst_box = None
        self.setZValue(-1)
        self.setAcceptedMouseButtons(Qt.LeftButton | Qt.RightButton)
        self._shape: QPainterPath | None = None
        for node_id, item in ((edge.src, src), (edge.dst, dst)):
            if item is not None:
                item.edges.append(self)
            else:
                canvas.waiting_edges.setdefault(node_id, []).append(self)
        self.apply_style()
        if path:
            self.update_path()

    @property
    def src(self) -> NodeItem:
        if self._src is None:
            self.canvas.node_items[self.edge.src]      # made now, it takes this edge
        return self._src

    @property
    def dst(self) -> NodeItem:
        if self._dst is None:
            self.canvas.node_items[self.edge.dst]
        return self._dst

    def take_end(self, item: NodeItem) -> None:
        """`item`, just made, is one of this edge's ends."""
        if self.edge.src == item.node.id:
            self._src = item
        else:
            self._dst = item
        item.edges.append(self)

    def apply_style(self) -> None:
        style = self.canvas.style
        self.setPen(style.edge_selected if self.selected
                    else style.edge_detached if self.edge.detach else style.edge)

    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        self.apply_style()

    def update_path(self) -> None:
        self._shape = None
        if not self.isVisible():     # inside a collapsed group: drawn when it shows again
            return
        start = (self.src_box.anchor(self.edge, True) if self.src_box is not None
                 else self.src.port_scene_pos(self.edge.src_port, True))
        end = (self.dst_box.anchor(self.edge, False) if self.dst_box is not None
               else self.dst.port_scene_pos(self.edge.dst_port, False))
        self.setPath(bezier(start, end))

    def detach_from_nodes(self) -> None:
        for node_id, item in ((self.edge.src, self._src), (self.edge.dst, self._dst)):
            edges = item.edges if item is not None else \
                self.canvas.waiting_edges.get(node_id, [])
            if self in edges:
                edges.remove(self)

    def shape(self) -> QPainterPath:
        """A 10-pixel wide band along the curve, so the edge is easy to click."""
        if self._shape is None:
            self._shape = self._stroker.createStroke(self.path())
        return self._shape

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            additive = bool(event.modifiers() & (Qt.ShiftModifier | Qt.ControlModifier))
            self.canvas.select_edge(self, additive)
            event.accept()
            return
        super().mousePressEvent(event)
