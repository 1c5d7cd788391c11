"""The "Why no gradient?" dock: asks runtime.why_grad about a node and shows the answer, with
the paths from that node to the backward root drawn on the canvas and each cause marked.

Asked from the node's right-click menu, the Inspector's "Why?" button (for the tensor it
shows: an output or a layer's parameter), or by typing a name into the dock. The overlay
hangs under one invisible item over the scene (the scene's own items are never touched);
moving a node redraws it; any other edit marks the answer as out of date, and the next
run asks again.
"""
from __future__ import annotations

import html
from typing import Any, Callable

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainterPath, QPen
from PySide6.QtWidgets import (QDockWidget, QGraphicsItem, QGraphicsPathItem,
                               QGraphicsSimpleTextItem, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QTextBrowser, QVBoxLayout, QWidget)

from shiboken6 import isValid as _alive

from gradstudio.graph.document import Change
from gradstudio.runtime.session import RunError
from gradstudio.runtime.why_grad import HAS_GRAD, UnknownName, WhyAnswer, why_grad
from gradstudio.ui.canvas_scene import GraphScene

PATH = QColor(250, 176, 5, 150)      # the paths to the root: a wide amber band
CAUSE = QColor("#e03131")            # where a cause is: framed and numbered
TARGET = QColor("#1c7ed6")           # the tensor asked about
GOOD = QColor("#2f9e44")
Z_BAND, Z_MARK = -2.0, 35.0         # under the edges (z -1); over the nodes


class _Layer(QGraphicsItem):
    """An invisible parent for the overlay's items at one depth."""

    def __init__(self, z: float) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.ItemHasNoContents)
        self.setZValue(z)

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter, option, widget=None) -> None:
        pass


class WhyOverlay:
    """The answer drawn over the canvas: path band, the target framed, causes numbered."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.layers: list[_Layer] = []
        self.marked: list[str] = []       # what is drawn, for tests: "path e1", "cause 1 n3"

    def clear(self) -> None:
        for layer in self.layers:
            if _alive(self.scene) and _alive(layer) and layer.scene() is self.scene:
                self.scene.removeItem(layer)
        self.layers = []
        self.marked = []

    @property
    def layer(self) -> _Layer:
        return self.layers[1]

    def show(self, answer: WhyAnswer) -> None:
        self.clear()
        self.layers = [_Layer(Z_BAND), _Layer(Z_MARK)]
        for layer in self.layers:
            self.scene.addItem(layer)
        cut = {c.edge_id for c in answer.causes if c.edge_id}
        for edge_id in answer.path_edges:
            item = self.scene.edge_items.get(edge_id)
            if item is None or not item.isVisible():     # (inside a collapsed group's box)
                continue
            band = QGraphicsPathItem(item.path(), self.layers[0])
            band.setPen(QPen(CAUSE if edge_id in cut else PATH, 9.0,
                             Qt.DashLine if edge_id in cut else Qt.SolidLine, Qt.RoundCap))
            band.setAcceptedMouseButtons(Qt.NoButton)
            self.marked.append(f"path {edge_id}")
        self._frame(answer.node_id, GOOD if answer.status == HAS_GRAD else TARGET)
        self.marked.append(f"target {answer.node_id}")
        for number, cause in enumerate(answer.causes, 1):
            edge = self.scene.edge_items.get(cause.edge_id) if cause.edge_id else None
            inside = self.scene.doc.edges.get(cause.edge_id) if cause.edge_id else None
            if edge is not None and edge.isVisible():
                middle = edge.path().pointAtPercent(0.5)
                self._badge(str(number), middle - QPointF(11, 11))
            elif inside is not None and self.scene.groups.box_of(inside.dst) is not None:
                rect = self._rect(inside.dst)          # an edge inside a box: on the box
                self._badge(str(number), rect.topRight() + QPointF(-8, -16))
            elif cause.node_id in self.scene.node_items:
                if cause.node_id != answer.node_id:
                    self._frame(cause.node_id, CAUSE)
                rect = self._rect(cause.node_id)
                self._badge(str(number), rect.topRight() + QPointF(-8, -16))
            else:
                continue
            self.marked.append(f"cause {number} {cause.edge_id or cause.node_id}")

    def _rect(self, node_id: str) -> QRectF:
        box = self.scene.groups.box_of(node_id)     # inside a collapsed group: its box
        if box is not None:
            return QRectF(box.pos(), box.rect().size())
        item = self.scene.node_items[node_id]
        return QRectF(item.pos(), QSizeF(*item.size()))

    def _frame(self, node_id: str, color: QColor) -> None:
        if node_id not in self.scene.node_items:
            return
        path = QPainterPath()
        path.addRoundedRect(self._rect(node_id).adjusted(-6, -6, 6, 6), 10, 10)
        frame = QGraphicsPathItem(path, self.layer)
        frame.setPen(QPen(color, 3.5))
        frame.setBrush(Qt.NoBrush)
        frame.setAcceptedMouseButtons(Qt.NoButton)

    def _badge(self, text: str, pos: QPointF) -> None:
        disc = QPainterPath()
        disc.addEllipse(QRectF(pos, QSizeF(22, 22)))
        item = QGraphicsPathItem(disc, self.layer)
        item.setBrush(QBrush(CAUSE))
        item.setPen(QPen(QColor("white"), 1.5))
        item.setAcceptedMouseButtons(Qt.NoButton)
        label = QGraphicsSimpleTextItem(text, item)
        font = QFont()
        font.setBold(True)
        label.setFont(font)
        label.setBrush(QColor("white"))
        box = label.boundingRect()
        label.setPos(pos + QPointF(11 - box.width() / 2, 11 - box.height() / 2))


class WhyPanel(QWidget):
    """The dock's body: a name field, the answer (headline, numbered causes), the overlay."""
    message = Signal(str, str)

    def __init__(self, scene: GraphScene, session: Callable[[], Any], parent=None) -> None:
        super().__init__(parent)
        self.scene = scene
        self.doc = scene.doc
        self._session = session
        self.answer: WhyAnswer | None = None
        self.name: str | None = None
        self.stale = False
        self.overlay = WhyOverlay(scene)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("a node label, or fc1.weight")
        self.name_edit.returnPressed.connect(lambda: self.ask(self.name_edit.text().strip()))
        self.ask_button = QPushButton("Why?")
        self.ask_button.setToolTip("Why is this tensor's gradient None or zero?")
        self.ask_button.clicked.connect(lambda: self.ask(self.name_edit.text().strip()))
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Take the answer's drawing off the canvas")
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.ask_button)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        self.headline = QLabel("Select a node and choose “Why is its gradient None or zero?”")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.headline)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        layout.addWidget(self.details, 1)
        self.doc.subscribe(self._on_change)

    # ---------------------------------------------------------------- asking
    def ask(self, name: str) -> WhyAnswer | None:
        """Answers for `name` and draws it; an unknown name is said in the dock."""
        if not name:
            return None
        self.name_edit.setText(name)
        self.name = name
        try:
            answer = why_grad(self._session(), name)
        except UnknownName as exc:
            self._show_problem(f"{exc}.")
            return None
        except RunError as exc:
            self._show_problem(str(exc))
            return None
        self.answer, self.stale = answer, False
        self._show(answer)
        self.overlay.show(answer)
        return answer

    def refresh(self) -> None:
        """Asks again after a run when an answer is shown."""
        if self.name and self.isVisible() and (self.answer is not None or self.stale):
            self.ask(self.name)

    def clear(self) -> None:
        self.overlay.clear()
        self.answer, self.name = None, None
        self.headline.setText("Select a node and choose “Why is its gradient None or zero?”")
        self.details.clear()

    def _show_problem(self, text: str) -> None:
        self.overlay.clear()
        self.answer = None
        self.headline.setText(text)
        self.details.clear()

    def _show(self, answer: WhyAnswer) -> None:
        color = GOOD if answer.status == HAS_GRAD else CAUSE
        self.headline.setText(f"<b style='color:{color.name()}'>"
                              f"{html.escape(answer.headline())}</b>")
        rows = []
        for number, cause in enumerate(answer.causes, 1):
            rows.append(f"<tr><td valign='top'><b style='color:{CAUSE.name()}'>{number}</b>"
                        f"</td><td>{html.escape(cause.text)}"
                        f" <span style='color:gray'>({cause.kind.replace('_', ' ')})</span>"
                        "</td></tr>")
        text = f"<table cellspacing='4'>{''.join(rows)}</table>" if rows else ""
        if answer.reaching is not None and answer.status != HAS_GRAD:
            lines = answer.text().splitlines()
            text += f"<p>{html.escape(lines[-1].strip())}</p>" if "reaches it" in lines[-1] \
                else ""
        if answer.path_nodes:
            labels = " → ".join(self.doc.nodes[n].label for n in answer.path_nodes
                                if n in self.doc.nodes)
            text += f"<p style='color:gray'>path to the root: {html.escape(labels)}</p>"
        self.details.setHtml(text)

    def _on_change(self, change: Change) -> None:
        if self.answer is None:
            return
        if change.what == "node_changed" and change.key == "pos":
            self.overlay.show(self.answer)          # follow the moved node
            return
        self.stale = True
        self.overlay.clear()
        self.headline.setText(self.headline.text() + " <i>(the graph changed: run or ask "
                              "again)</i>")
        self.answer = None


def install_why(window: Any) -> QDockWidget:
    """Adds the "Why no gradient?" dock (hidden until asked) and wires the canvas menu's
    and the Inspector's requests to it."""
    panel = WhyPanel(window.scene, lambda: window.runner.session, window)
    dock = QDockWidget("Why no gradient?", window)
    dock.setObjectName("why")
    dock.setWidget(panel)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    window.splitDockWidget(window.inspector_dock, dock, Qt.Vertical)
    dock.hide()

    def ask(name: str) -> WhyAnswer | None:
        dock.show()
        dock.raise_()
        return panel.ask(name)

    def ask_node(node_id: str) -> None:
        node = window.doc.nodes.get(node_id)
        if node is not None:
            ask(node.label)

    window.scene.why_requested.connect(ask_node)
    window.inspector.why_requested.connect(ask)
    window.runner.ran.connect(panel.refresh)
    dock.toggleViewAction().toggled.connect(lambda shown: shown or panel.overlay.clear())
    window.why_panel, window.why_dock = panel, dock
    window.why_ask = ask
    return dock
