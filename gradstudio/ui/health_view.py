"""Gradient health while training (runtime.health), shown in a "Gradient health" dock tabbed
with the Training dock, and on the canvas as a tag over each layer and activation node
("‖∇‖ 1.4e-06 · 2e-05 of max", "dead 70%", "saturated 85%"), red where a verdict names it.

The panel polls the dashboard's trainer for its latest sample (the trainer records one every
`health_every` steps in its own thread); nothing here runs in the training loop.
"""
from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QDockWidget, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid as _alive

from gradstudio.runtime.health import Health
from gradstudio.ui.canvas_scene import GraphScene
from gradstudio.ui.node_tags import NodeTags

WARN = QColor("#e03131")
OK = QColor("#2b8a3e")
COLUMNS = ("layer", "‖∇‖", "of max", "mean", "std", "dead", "saturated")
POLL_MS = 400


class HealthOverlay:
    """One tag over each node the health sample names (on its group's box while a collapsed
    group hides it: node_tags); none drawn by the scene's own items."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.marks = NodeTags(scene, z=36)

    @property
    def tags(self) -> dict[str, str]:        # node label -> text drawn (for tests)
        return self.marks.tags

    def clear(self) -> None:
        self.marks.clear()

    def show(self, health: Health) -> None:
        doc = self.scene.doc
        entries = []
        for label, layer in health.layers.items():
            node = doc.node_by_label(label)
            text = tag_text(layer) if node is not None else ""
            if not text:
                continue
            bad = any(v.startswith(f"{label} ") or v.startswith(f"{label}:")
                      or v.startswith(f"{label}'s") for v in health.verdicts)
            entries.append((node.id, text, WARN if bad else OK, ""))
        entries.sort(key=lambda e: e[2] is not WARN)     # a box shows the warnings first
        self.marks.set(entries)


def tag_text(layer) -> str:
    parts = []
    if layer.grad_norm is not None:
        part = f"‖∇‖ {layer.grad_norm:.2g}"
        if layer.grad_ratio is not None and layer.grad_ratio < 1:
            part += f" · {layer.grad_ratio:.0e} of max"
        parts.append(part)
    if layer.dead_fraction is not None:
        parts.append(f"dead {layer.dead_fraction:.0%}")
    if layer.saturated_fraction is not None:
        parts.append(f"saturated {layer.saturated_fraction:.0%}")
    return "  ".join(parts)


class HealthPanel(QWidget):
    """The verdicts in one line each, then a table of every layer's numbers."""

    def __init__(self, scene: GraphScene, parent=None) -> None:
        super().__init__(parent)
        self.health: Health | None = None
        self.overlay = HealthOverlay(scene)
        layout = QVBoxLayout(self)
        self.verdicts = QLabel("Train the model (Training ▶ Start): each layer's gradient "
                               "health appears here and on the canvas.")
        self.verdicts.setWordWrap(True)
        self.verdicts.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.verdicts)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        layout.addWidget(self.table, 1)

    def show_health(self, health: Health | None, on_canvas: bool = True) -> None:
        if health is self.health:
            return
        self.health = health
        if health is None:
            self.overlay.clear()
            self.table.setRowCount(0)
            return
        lines = [f"<b style='color:{WARN.name()}'>{html.escape(v)}</b>" for v in health.verdicts]
        self.verdicts.setText(f"step {health.step}: " + ("<br>".join(lines) if lines else
                                                         f"<span style='color:{OK.name()}'>"
                                                         "no layer looks unhealthy</span>"))
        self.table.setRowCount(len(health.layers))
        for row, (label, layer) in enumerate(health.layers.items()):
            cells = (label, _num(layer.grad_norm), _num(layer.grad_ratio),
                     _num(layer.activation_mean), _num(layer.activation_std),
                     _pct(layer.dead_fraction), _pct(layer.saturated_fraction))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        if on_canvas:
            self.overlay.show(health)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


def install_health(window: Any) -> QDockWidget:
    """The "Gradient health" dock beside the Training dock, fed from the dashboard's trainer
    while either is shown; the canvas tags go when the dock is closed."""
    panel = HealthPanel(window.scene, window)
    dock = QDockWidget("Gradient health", window)
    dock.setObjectName("health")
    dock.setWidget(panel)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(window.training_dock, dock)
    dock.hide()
    window.training_dock.raise_()

    def poll() -> None:
        if not (_alive(panel) and dock.isVisible()):
            return
        trainer = getattr(window.training_dashboard, "trainer", None)
        samples = getattr(trainer, "health", None)
        panel.show_health(samples[-1] if samples else None)

    timer = QTimer(panel)
    timer.setInterval(POLL_MS)
    timer.timeout.connect(poll)
    timer.start()
    dock.toggleViewAction().toggled.connect(
        lambda shown: poll() if shown else panel.show_health(None))
    window.health_panel, window.health_dock = panel, dock
    window.health_poll = poll
    return dock
