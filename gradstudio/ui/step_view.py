"""A loss spike opened at its step: clicking a point on any per-step plot of the Training
dock shows that step on the canvas (each node's output on that step's batch, a parameter
leaf's value and gradient) with a tag per node saying what changed from the step before
("∇ ×35"), and a "Step snapshot" dock listing the changes, biggest gradient jump first.
The dock shows which steps are held and the memory budget, which the person can change;
a step no longer held is said so.

Snapshots are the dashboard trainer's (runtime.snapshots); Back shows the live graph again.
"""
from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)
from shiboken6 import isValid as _alive

from gradstudio.runtime.session import NodeInfo
from gradstudio.runtime.snapshots import Snapshot, StepDiff
from gradstudio.ui.canvas_scene import GraphScene
from gradstudio.ui.node_tags import NodeTags

JUMP = QColor("#e03131")
CALM = QColor("#495057")
BIG_JUMP = 3.0                   # a gradient norm that changed by more than this factor


class StepPanel(QWidget):
    def __init__(self, window: Any, parent=None) -> None:
        super().__init__(parent)
        self.window = window
        self.scene: GraphScene = window.scene
        self.step: int | None = None
        self.diff: StepDiff | None = None
        self.marks = NodeTags(self.scene, z=37)   # (on a collapsed group's box: node_tags)
        layout = QVBoxLayout(self)
        self.headline = QLabel("Click a point on the loss curve (or any per-step plot) "
                               "to open that step here and on the canvas.")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["node", "what changed from the step before"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.held = QLabel()
        self.held.setWordWrap(True)
        self.budget = QSpinBox()
        self.budget.setRange(1, 4096)
        self.budget.setSuffix(" MB")
        self.budget.setToolTip("memory for step snapshots: the last steps are all kept, older "
                               "ones thinned to fit")
        self.budget.editingFinished.connect(self.apply_budget)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.back = QPushButton("Back to the live graph")
        self.back.clicked.connect(self.close_step)
        row.addWidget(self.held, 1)
        row.addWidget(QLabel("budget"))
        row.addWidget(self.budget)
        row.addWidget(self.back)
        layout.addLayout(row)
        self.update_held()

    # ---------------------------------------------------------------- the trainer's store
    def store(self):
        trainer = getattr(self.window.training_dashboard, "trainer", None)
        return getattr(trainer, "snapshots", None)

    def update_held(self) -> None:
        store = self.store()
        if store is None:
            self.held.setText("no snapshots yet: start training")
            return
        self.held.setText(store.held_text())
        if not self.budget.hasFocus():
            self.budget.blockSignals(True)
            self.budget.setValue(max(1, round(store.budget / 1e6)))
            self.budget.blockSignals(False)

    def apply_budget(self) -> None:
        store = self.store()
        if store is not None:
            store.set_budget(self.budget.value() * 1_000_000)
        self.update_held()

    # ---------------------------------------------------------------- opening a step
    def open_step(self, step: int) -> bool:
        """Shows `step` on the canvas and here; False (and says so) when it is not held."""
        store = self.store()
        self.update_held()
        if store is None:
            self.headline.setText("No training run to open a step of: start training first.")
            return False
        snap = store.get(step)
        if snap is None:
            self._clear_canvas()
            self.step, self.diff = None, None
            self.table.setRowCount(0)
            self.headline.setText(f"<b>Step {step} is no longer held</b> (snapshots are thinned "
                                  f"to fit the memory budget). {html.escape(store.held_text())}")
            return False
        self.step, self.diff = step, store.diff(step)
        diff = self.diff
        self.headline.setText(f"<b>{html.escape(diff.headline())}</b>")
        self.table.setRowCount(len(diff.nodes))
        for row, node in enumerate(diff.nodes):
            label_item = QTableWidgetItem(node.label)
            text_item = QTableWidgetItem(node.text().split(": ", 1)[-1])
            if _big(node.grad_factor):
                for item in (label_item, text_item):
                    item.setForeground(QBrush(JUMP))
            self.table.setItem(row, 0, label_item)
            self.table.setItem(row, 1, text_item)
        self.table.resizeColumnToContents(0)
        self._show_on_canvas(snap)
        return True

    def _selection_changed(self) -> None:
        # after the window's own handler, which shows the live run in the Inspector
        if self.step is not None:
            QTimer.singleShot(0, self.inspect_selected)

    def inspect_selected(self) -> None:
        """The Inspector shows the one selected node as it was at the open step: its output
        on that batch, and a layer's parameters with their gradients."""
        if self.step is None or not _alive(self.scene):
            return
        store = self.store()
        snap = None if store is None else store.get(self.step)
        ids = self.scene.selected_node_ids()
        if snap is None or len(ids) != 1:
            return
        node = self.scene.doc.nodes[ids[0]]
        tensors = {}
        out = snap.outputs.get(node.label)
        value, grad = snap.parameters.get(node.label, (None, None))
        if out is not None:
            tensors["out"] = _info(node, "out", out, grad)
        for name, (value, grad) in snap.parameters.items():
            if name.startswith(f"{node.label}."):
                tensors[name[len(node.label) + 1:]] = _info(node, name, value, grad)
        if tensors:
            self.window.inspector.show_node(node.id, tensors, None,
                                            source=f"step {self.step} snapshot")

    def close_step(self) -> None:
        self._clear_canvas()
        self.step, self.diff = None, None
        panel = getattr(self.window, "debugger_panel", None)
        if panel is not None and panel.showing_step:
            panel.refresh()
        else:
            self.scene.set_step_results(None)
        refresh = getattr(self.window, "_selection_changed", None)
        if refresh is not None:
            refresh()                        # the Inspector shows the live run again

    def _show_on_canvas(self, snap: Snapshot) -> None:
        doc = self.scene.doc
        results = {}
        for node_id, node in doc.nodes.items():
            out = snap.outputs.get(node.label)
            if out is None:
                continue
            value, grad = snap.parameters.get(node.label, (None, None))
            results[node_id] = NodeInfo(node_id, node.label, node.kind, "out",
                                        shape=tuple(out.shape), dtype=str(out.dtype),
                                        data=out, grad=grad,
                                        is_leaf=value is not None or None,
                                        requires_grad=value is not None or None)
        self.scene.set_step_results(results, {})
        entries = []
        for node in self.diff.nodes:
            graph_node = doc.node_by_label(node.label)
            factor = node.grad_factor
            if graph_node is None or factor is None:
                continue
            text = f"step {snap.step}: ∇ ×{factor:.3g}" if math.isfinite(factor) else \
                f"step {snap.step}: ∇ from 0"
            entries.append((graph_node.id, text, JUMP if _big(factor) else CALM, ""))
        self.marks.set(entries)

    @property
    def tags(self) -> dict[str, str]:        # node label -> text drawn (for tests)
        return self.marks.tags

    def _clear_canvas(self, keep_results: bool = False) -> None:
        self.marks.clear()
        if not keep_results and self.step is not None and _alive(self.scene):
            self.scene.set_step_results(None)


def _info(node: Any, port: str, data: np.ndarray, grad: np.ndarray | None) -> NodeInfo:
    return NodeInfo(node.id, node.label, node.kind, port, shape=tuple(data.shape),
                    dtype=str(data.dtype), data=data, grad=grad)


def _big(factor: float | None) -> bool:
    return factor is not None and factor > 0 and (
        not math.isfinite(factor) or factor > BIG_JUMP or factor < 1 / BIG_JUMP)


def step_at(plot: Any, scene_pos) -> int | None:
    """The step under a click on a per-step plot (None outside its plotting area)."""
    view_box = getattr(getattr(plot, "plot_item", None), "vb", None)
    if view_box is None or not view_box.sceneBoundingRect().contains(scene_pos):
        return None
    x = view_box.mapSceneToView(scene_pos).x()
    return int(round(x)) if np.isfinite(x) and x > -0.5 else None


def install_step_view(window: Any) -> QDockWidget:
    """The "Step snapshot" dock (tabbed with Training) and a click handler on every
    per-step plot of the dashboard."""
    panel = StepPanel(window)
    dock = QDockWidget("Step snapshot", window)
    dock.setObjectName("step snapshot")
    dock.setWidget(panel)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(window.training_dock, dock)
    dock.hide()
    window.training_dock.raise_()

    def open_step(step: int) -> bool:
        dock.show()
        return panel.open_step(step)

    for plot in window.training_dashboard.plots.values():
        if hasattr(plot, "plot_item") and hasattr(plot, "scene"):
            plot.scene().sigMouseClicked.connect(
                lambda event, p=plot: _clicked(p, event, open_step))
            plot.setToolTip((plot.toolTip() + "\n" if plot.toolTip() else "")
                            + "click a point to open that step")
    dock.toggleViewAction().toggled.connect(lambda shown: shown or panel.close_step())
    window.step_panel, window.step_dock = panel, dock
    window.open_step = open_step
    return dock


def _clicked(plot: Any, event: Any, open_step) -> None:
    if event.button() != Qt.LeftButton:
        return
    step = step_at(plot, event.scenePos())
    if step is not None:
        open_step(step)
