"""Runs compared, in the window.

A "Runs" dock (tabbed with Training) keeps every training run the dashboard makes (the
last RUNS_KEPT, runtime.runs), each named by what changed from the run before, and overlays
the checked runs' loss and accuracy curves. Run > Show Gradient Changes draws, after each
run with a backward, a tag over every node whose gradient differs from the previous run's
("∇ 3 → None" after detaching an edge): the what-if diff view (runtime.grad_diff).
"""
from __future__ import annotations

import weakref
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QListWidget, QListWidgetItem,
                               QVBoxLayout, QWidget)
from shiboken6 import isValid as _alive

from gradstudio.runtime.grad_diff import grad_changes
from gradstudio.runtime.runs import RunHistory, RunState
from gradstudio.ui.dashboard_plots import StepPlot
from gradstudio.ui.node_tags import NodeTags

RUNS_KEPT = 8
CHANGED = QColor("#e8590c")
POLL_MS = 500


class RunsPanel(QWidget):
    def __init__(self, window: Any, parent=None) -> None:
        super().__init__(parent)
        self.window = window
        self.history = RunHistory(RUNS_KEPT)
        self._trainer: Any = None            # the dashboard's run being watched
        self._start_state: RunState | None = None
        self._kept = lambda: None            # weak: a finished run's snapshots are let go
        layout = QHBoxLayout(self)
        self.list = QListWidget()
        self.list.setToolTip("the kept runs, named by what changed from the run before; "
                             "check the ones to overlay")
        self.list.itemChanged.connect(lambda _item: self.draw())
        layout.addWidget(self.list, 1)
        plots = QVBoxLayout()
        self.loss_plot = StepPlot("loss, runs overlaid", "loss")
        self.accuracy_plot = StepPlot("accuracy, runs overlaid", "accuracy")
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)
        layout.addLayout(plots, 3)

    def poll(self) -> None:
        """Keeps the dashboard's run when it ends; notes what a new run starts from."""
        trainer = getattr(self.window.training_dashboard, "trainer", None)
        if trainer is not self._trainer:
            if self._trainer is not None and self._kept() is not self._trainer:
                self._keep(self._trainer)         # replaced before it finished
            self._trainer = trainer
            self._start_state = None if trainer is None else RunState.of(self.window.doc)
        if trainer is not None and self._kept() is not trainer and \
                getattr(trainer, "state", "") in ("finished", "stopped"):
            self._keep(trainer)

    def _keep(self, trainer: Any) -> None:
        self._kept = weakref.ref(trainer)
        run = self.history.keep(self.window.doc, trainer.metrics.snapshot(), self._start_state)
        if run is None:
            return
        checked = {self.list.item(i).text() for i in range(self.list.count())
                   if self.list.item(i).checkState() == Qt.Checked}
        self.list.blockSignals(True)
        self.list.clear()
        for kept in self.history.runs:
            item = QListWidgetItem(kept.name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            recent = kept is run or kept is self.history.runs[-2:][0]
            item.setCheckState(Qt.Checked if kept.name in checked or recent else Qt.Unchecked)
            final = kept.final_loss
            item.setToolTip(f"final loss {final:.4g}" if final is not None else "")
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.draw()

    def checked_runs(self) -> list:
        names = {self.list.item(i).text() for i in range(self.list.count())
                 if self.list.item(i).checkState() == Qt.Checked}
        return [run for run in self.history.runs if run.name in names]

    def draw(self) -> None:
        runs = self.checked_runs()
        for plot, key in ((self.loss_plot, "loss"), (self.accuracy_plot, "accuracy")):
            plot.remove_curves_except([run.name for run in runs if key in run.curves])
            for run in runs:
                if key in run.curves:
                    steps, values = run.curves[key]
                    plot.set_curve(run.name, steps, values, index=run.number - 1)


class GradChangeOverlay:
    """After each run with a backward: a tag over every node whose gradient changed."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.enabled = False
        self.previous: dict | None = None
        self.marks = NodeTags(window.scene, z=38)   # (on a collapsed group's box: node_tags)

    @property
    def tags(self) -> dict[str, str]:        # node label -> text (for tests)
        return self.marks.tags

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        self.previous = self._grads_now() if on else None
        self.clear()

    def _grads_now(self) -> dict:
        return dict(self.window.runner.results)

    def after_run(self) -> None:
        if not self.enabled:
            return
        current = self._grads_now()
        if self.previous is not None and "backward" in self.window.runner.last_kind:
            self.show(grad_changes(self.previous, current))
        if "backward" in self.window.runner.last_kind:
            self.previous = current

    def show(self, changes: dict) -> None:
        self.marks.set((node_id, change.text(), CHANGED, "gradient against the previous run")
                       for node_id, change in changes.items())

    def clear(self) -> None:
        self.marks.clear()


def install_runs(window: Any) -> QDockWidget:
    panel = RunsPanel(window)
    dock = QDockWidget("Runs", window)
    dock.setObjectName("runs")
    dock.setWidget(panel)
    window.addDockWidget(Qt.BottomDockWidgetArea, dock)
    window.tabifyDockWidget(window.training_dock, dock)
    dock.hide()
    window.training_dock.raise_()
    timer = QTimer(panel)
    timer.setInterval(POLL_MS)
    timer.timeout.connect(lambda: _alive(panel) and panel.poll())
    timer.start()

    overlay = GradChangeOverlay(window)
    action = QAction("Show &Gradient Changes", window, checkable=True)
    action.setStatusTip("After each run, tag every node whose gradient differs from the "
                        "previous run's (what-if edits)")
    action.toggled.connect(overlay.set_enabled)
    window.run_menu.addAction(action)
    window.runner.ran.connect(overlay.after_run)
    window.runs_panel, window.runs_dock = panel, dock
    window.grad_changes, window.act_grad_changes = overlay, action
    return dock
