"""The canvas view: zoom (wheel), pan (middle drag or space+drag), rubber-band selection,
frame all, the Tab / double-click search box (also opened by dropping a dragged edge on empty
canvas, to add a node already connected), and dropping node kinds from the library."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView

from gradstudio.ui.canvas_items import BADGE_H, HEADER_H, NODE_WIDTH, ROW_H
from gradstudio.ui.canvas_scene import GraphScene
from gradstudio.ui.node_search import NodeSearchBox

KIND_MIME = "application/x-gradstudio-kind"
MIN_ZOOM, MAX_ZOOM = 0.08, 3.0
# Frame All and showing new nodes never zoom out past this (node texts stay readable and
# are drawn: items draw titles only below 0.4) unless the graph is really large, where an
# overview of boxes is what framing it can give.
READABLE_ZOOM = 0.6
LARGE_GRAPH = 60          # nodes
FIRST_PORT_Y = HEADER_H + BADGE_H + ROW_H / 2     # a node's first port, below its top


class GraphView(QGraphicsView):
    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(scene, parent)
        self.graph_scene = scene
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.BoundingRectViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setCacheMode(QGraphicsView.CacheBackground)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setSceneRect(QRectF(-50000, -50000, 100000, 100000))
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space_down = False
        self._search_scene_pos = QPointF()
        self._pending_link: tuple[str, str, bool] | None = None
        self.search_box = NodeSearchBox(scene.doc.catalog, self)
        self.search_box.chosen.connect(self._add_from_search)
        scene.add_node_requested.connect(self.open_search_at_scene)
        scene.link_to_new_node.connect(self.open_search_to_link)
        self.centerOn(0, 0)

    # ---------------------------------------------------------------- zoom / frame
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        self.scale(factor, factor)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    def frame_all(self) -> None:
        rect = self.graph_scene.items_bounding_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        self.fit_rect(rect.adjusted(-40, -40, 40, 40), self._readable_zoom())

    def _readable_zoom(self) -> float:
        return MIN_ZOOM if len(self.graph_scene.doc.nodes) > LARGE_GRAPH else READABLE_ZOOM

    def show_rect(self, rect: QRectF) -> None:
        """Scrolls until `rect` (scene) is in view, zooming out (not past a readable zoom)
        only when it cannot fit."""
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if visible.contains(rect):
            return
        if rect.width() + 80 <= visible.width() and rect.height() + 80 <= visible.height():
            self.ensureVisible(rect, 40, 40)
        else:
            self.fit_rect(rect.adjusted(-40, -40, 40, 40), self._readable_zoom())

    def fit_rect(self, rect: QRectF, min_zoom: float = MIN_ZOOM) -> None:
        """Zooms to show `rect` whole, but not below `min_zoom`: then its left (where a
        graph's inputs are) and top show, at that zoom."""
        self.resetTransform()
        view = self.viewport().rect()
        if view.width() < 2 or view.height() < 2:
            self.centerOn(rect.center())
            return
        scale = min(view.width() / rect.width(), view.height() / rect.height(), 1.25)
        scale = max(MIN_ZOOM, min_zoom, scale)
        self.scale(scale, scale)
        half_w, half_h = view.width() / scale / 2, view.height() / scale / 2
        x = rect.center().x() if rect.width() <= 2 * half_w else rect.left() + half_w
        y = rect.center().y() if rect.height() <= 2 * half_h else rect.top() + half_h
        self.centerOn(x, y)

    # ---------------------------------------------------------------- pan
    def _start_pan(self, pos: QPointF) -> None:
        self._pan_from = pos
        self.viewport().setCursor(Qt.ClosedHandCursor)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_down):
            self._start_pan(event.position())
            event.accept()
            return
        if event.button() == Qt.LeftButton and self.search_box.isVisible():
            self.search_box.hide()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.pan_by(-delta.x(), -delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.viewport().setCursor(Qt.OpenHandCursor if self._space_down else Qt.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def pan_by(self, dx: float, dy: float) -> None:
        """Moves the view by (dx, dy) viewport pixels."""
        scale = self.zoom()
        center = self.mapToScene(self.viewport().rect().center())
        self.centerOn(center.x() + dx / scale, center.y() + dy / scale)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.graph_scene.close_inline_editor(commit=True)
        super().scrollContentsBy(dx, dy)

    # ---------------------------------------------------------------- keys
    def event(self, event) -> bool:
        if event.type() == QEvent.KeyPress and event.key() == Qt.Key_Tab \
                and not self.search_box.isVisible():
            self.open_search_at_cursor()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_down = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_down = False
            self._pan_from = None
            self.viewport().setCursor(Qt.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # ---------------------------------------------------------------- search box
    def open_search_at_cursor(self) -> None:
        local = self.viewport().mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(local):
            local = self.viewport().rect().center()
        self.open_search_at(local.x(), local.y())

    def open_search_at(self, x: int, y: int) -> None:
        """Opens the search box at viewport pixel (x, y); the node lands there."""
        self._search_scene_pos = self.mapToScene(int(x), int(y))
        self._pending_link = None
        self.search_box.popup(x, y)

    def open_search_at_scene(self, scene_pos: QPointF) -> None:
        p = self.mapFromScene(scene_pos)
        self.open_search_at(p.x(), p.y())

    def open_search_to_link(self, scene_pos: QPointF, node_id: str, port: str,
                            is_output: bool) -> None:
        """An edge dropped on empty canvas: the node chosen next gets connected to it."""
        self.open_search_at_scene(scene_pos)
        self._pending_link = (node_id, port, is_output)

    def _add_from_search(self, kind: str) -> None:
        link, self._pending_link = self._pending_link, None
        if link is not None and link[0] in self.graph_scene.doc.nodes:
            node = self._add_linked(kind, *link)
        else:
            pos = self._search_scene_pos
            node = self.graph_scene.editor.add_node(kind, self.graph_scene.snapped(pos))
        self.setFocus()
        if node is not None:
            item = self.graph_scene.node_items.get(node.id)
            if item is not None:
                self.graph_scene.clearSelection()
                item.setSelected(True)

    def _add_linked(self, kind: str, node_id: str, port: str, is_output: bool):
        """Adds `kind` with its first input (or output) at the drop point, joined to the
        port the edge was dragged from; one undo step."""
        editor = self.graph_scene.editor
        spec = editor.doc.spec(kind)
        drop = self._search_scene_pos
        x = drop.x() if is_output else drop.x() - NODE_WIDTH
        editor.stack.beginMacro(f"Add {spec.title} and connect")
        node = editor.add_node(kind, self.graph_scene.snapped(QPointF(x, drop.y() - FIRST_PORT_Y)))
        if node is not None:
            if is_output and spec.inputs:
                editor.connect_ports(node_id, port, node.id, spec.inputs[0].name)
            elif not is_output and spec.outputs:
                editor.connect_ports(node.id, spec.outputs[0].name, node_id, port)
        editor.stack.endMacro()
        return node

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.itemAt(event.position().toPoint()) is None:
            self.open_search_at(event.position().x(), event.position().y())
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # ---------------------------------------------------------------- drops from the library
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()   # files go up to the main window

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(KIND_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(KIND_MIME):
            event.ignore()
            return
        kind = bytes(event.mimeData().data(KIND_MIME)).decode()
        pos = self.mapToScene(event.position().toPoint())
        self.graph_scene.editor.add_node(kind, self.graph_scene.snapped(pos))
        event.acceptProposedAction()
