"""The live training dashboard: run controls, live changes and plots of a training run.

Start / Pause-Resume / Step / Stop drive a training run: by default a `TrainingProcess`
(the runtime's Trainer in a child process, its metrics coming back through shared memory),
or with `worker = "thread"` the Trainer in a thread of this process. A QTimer (at most
1000 / FRAME_MS Hz) polls the run, takes a snapshot when the metrics moved, and redraws
every visible plot from that one snapshot, so all plots show the same step. Its period
adapts so that the UI thread spends about UI_SHARE of a core (PROCESS_UI_SHARE with a
training process, which drawing cannot slow down; THREAD_UI_SHARE with a thread, which
shares the GIL: there a frame draws with the trainer parked between two steps by
`StepGate`, since otherwise the GIL changes hands at nearly every call into Qt).

The Run box sets how long (the setup's steps or epochs, an undoable edit, or "until
stopped") and how fast (a steps-per-second limit, off by default) a run trains, both live.
A run that dies (its process killed, out of memory) is reported with its reason; its plots
stay, and Start begins a new one.

Live changes (clipping, learning rate, frozen layers) are edits of the document's
meta["training"], made through `edit_meta` (the window passes its undoable one); the
Trainer follows the document, applies them at its next step and marks them on the curves.

The first tab shows the plots the document lists in meta["dashboard"]["plots"] (ready
examples arrange it that way), the other tabs the rest. Plots export as PNG (a grab of the
tab: pyqtgraph's SVG export is broken upstream), metrics as CSV.
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QSlider, QSpinBox,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.training_setup import CLIP_MODES, MAX_STEPS, TrainingSetup
from gradstudio.runtime.metrics import MetricsSnapshot, TrainingMetrics
from gradstudio.runtime.training import UNTIL_STOPPED, Trainer, TrainingRun
from gradstudio.runtime.training_process import TrainingProcess
from gradstudio.ui.dashboard_export import write_metrics_csv
from gradstudio.ui.dashboard_plots import (MARKER_COLOR, BoundaryPlot, HistogramPanel, NormPlot,
                                           SmoothedPlot, StepPlot, settle)

FRAME_MS = 16            # the timer's shortest period: at most ~60 frames a second
SLOWEST_FRAME_MS = 250   # its longest, however slow drawing gets
PROCESS_UI_SHARE = 0.4   # of one core the dashboard may spend drawing a training process
THREAD_UI_SHARE = 0.05   # ... a training thread (the GIL is shared: training gives it up)
UI_SHARE = THREAD_UI_SHARE   # without a training process (no run, or a thread): ui_share()
GATE_WAIT_S = 0.01       # how long a frame waits for a thread worker to reach a step boundary

MEANINGLESS_RATIO = 1e3   # update/weight ratios above this are drawn as gaps (see below)

# Plot key -> the tab it lives on unless the document's overview lists it.
PLOT_GROUPS = {
    "loss": "Training", "accuracy": "Training", "decision_boundary": "Training",
    "lr": "Training", "steps_per_sec": "Training",
    "grad_norms": "Gradients", "grad_norm_clip": "Gradients", "grad_histograms": "Gradients",
    "weight_histograms": "Weights", "update_ratio": "Weights",
}
DEFAULT_OVERVIEW = ("loss", "grad_norms", "grad_norm_clip", "lr")
WIDE_PLOTS = ("grad_histograms", "weight_histograms")    # take two grid cells


def layer_of(name: str, labels: list[str]) -> str:
    """The node a parameter belongs to: "fc1.weight" -> "fc1"; a parameter leaf is its own."""
    if name in labels:
        return name
    return next((lb for lb in labels if name.startswith(lb + ".")), name.rsplit(".", 1)[0])


def layer_norms(grad_norms: dict, labels: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per node, the L2 norm of all its parameters' gradients, at the steps they all have:
    sqrt(sum of the squared per-parameter norms). In model order."""
    groups: dict[str, list] = {}
    for name, curve in grad_norms.items():
        groups.setdefault(layer_of(name, labels), []).append(curve)
    layers = {}
    for label, curves in groups.items():
        steps = curves[0].steps
        if any(len(c.steps) != len(steps) or not np.array_equal(c.steps, steps)
               for c in curves[1:]):
            for c in curves[1:]:
                steps = np.intersect1d(steps, c.steps)
        squares = np.zeros(len(steps))
        for c in curves:
            values = c.values if len(c.steps) == len(steps) else \
                c.values[np.searchsorted(c.steps, steps)]
            squares += values * values
        layers[label] = (steps, np.sqrt(squares))
    return layers


class TrainingDashboard(QWidget):
    """Controls on the left, tabs of plots on the right. `message` carries one-line news and
    errors (text, level) for the window's message log. `edit_meta(key, value, text)` changes
    the document's meta (default: `document.set_meta`, not undoable)."""

    message = Signal(str, str)
    worker = "process"           # how Start and Step train: "process" or "thread"
    STEPS_TIP = ("How long the document's training runs: its steps (or epochs); an undoable "
                 "edit of the training setup")

    def __init__(self, parent: QWidget | None = None,
                 edit_meta: Callable[[str, Any, str], None] | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.base_dir: str | None = None
        self.edit_meta = edit_meta
        self.trainer: TrainingRun | None = None     # the current run, thread or process
        self.metrics: TrainingMetrics | None = None
        self.snapshot: MetricsSnapshot | None = None
        self.version = -1            # the metrics version last taken
        self.drawn: dict[str, int] = {}      # plot key -> metrics version it shows
        self.shown_step: dict[str, int] = {}     # plot key -> the step of the snapshot it shows
        self.frames: dict[str, int] = {}     # plot key -> times drawn (the benchmark counts)
        self.max_rate = 0.0          # steps a second at most for the next runs (0: no limit)
        self.script_steps: int | None = None     # a script's run is shown: the steps it ran
        self._was_alive = False
        self.paused = False          # asked the trainer to pause (or to step, which pauses)
        self._pace_mark: tuple[float, float] | None = None    # (thread CPU time, wall time)
        self._owed_ms = 0.0          # of waits longer than SLOWEST_FRAME_MS (see _pace)
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)
        self.arrange(DEFAULT_OVERVIEW)
        self._update_buttons()

    # ---------------------------------------------------------------- building
    def _build(self) -> None:
        splitter = QSplitter(Qt.Horizontal, self)
        splitter.addWidget(self._build_controls())
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(lambda _=0: self.draw())
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self._build_plots()

    def _build_controls(self) -> QWidget:
        panel = QWidget()
        panel.setMinimumWidth(190)
        panel.setMaximumWidth(290)
        column = QVBoxLayout(panel)
        column.setContentsMargins(4, 4, 4, 4)

        buttons = QGridLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Train from fresh parameters")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume training")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Run one training iteration, then stay paused")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run (Step continues from its weights)")
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button.clicked.connect(self.step_once)
        self.stop_button.clicked.connect(self.stop)
        for i, button in enumerate((self.start_button, self.pause_button, self.step_button,
                                    self.stop_button)):
            buttons.addWidget(button, i // 2, i % 2)
        column.addLayout(buttons)
        column.addWidget(self._build_run_box())
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * 4)
        self.status.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        column.addWidget(self.status)

        live = QGroupBox("Live (from the next step)")
        form = QFormLayout(live)
        form.setContentsMargins(6, 6, 6, 6)
        self.clip_mode = QComboBox()
        self.clip_mode.addItems(CLIP_MODES)
        self.clip_mode.setToolTip("Gradient clipping: none, by total norm (max_norm) or by "
                                  "value (clip_value)")
        self.clip_threshold = QDoubleSpinBox()
        self.clip_threshold.setDecimals(4)
        self.clip_threshold.setRange(1e-4, 1e6)
        self.clip_threshold.setValue(1.0)
        self.clip_threshold.setToolTip("max_norm when clipping by norm, clip_value by value")
        self.clip_mode.activated.connect(lambda _=0: self.apply_clipping())
        self.clip_threshold.editingFinished.connect(self.apply_clipping)
        form.addRow("clipping", self.clip_mode)
        form.addRow("threshold", self.clip_threshold)
        self.lr_box = QDoubleSpinBox()
        self.lr_box.setDecimals(6)
        self.lr_box.setRange(1e-6, 1000.0)
        self.lr_box.setSingleStep(0.01)
        self.lr_box.setValue(0.1)
        self.lr_box.setToolTip("The optimizer's learning rate")
        self.lr_box.editingFinished.connect(self.apply_lr)
        form.addRow("learning rate", self.lr_box)
        column.addWidget(live)

        frozen = QGroupBox("Trained layers")
        frozen_layout = QVBoxLayout(frozen)
        frozen_layout.setContentsMargins(6, 6, 6, 6)
        self.parameter_list = QListWidget()
        self.parameter_list.setToolTip("Untick a layer or parameter to freeze it "
                                       "(requires_grad off) from the next step")
        self.parameter_list.itemChanged.connect(self.apply_freeze)
        frozen_layout.addWidget(self.parameter_list)
        column.addWidget(frozen, 1)

        view = QGroupBox("View")
        view_form = QFormLayout(view)
        view_form.setContentsMargins(6, 6, 6, 6)
        self.log_scale = QCheckBox("log-scale loss")
        self.log_scale.toggled.connect(self.set_log_scale)
        view_form.addRow(self.log_scale)
        self.smoothing = QSlider(Qt.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setToolTip("Weight of the exponential moving average drawn over the "
                                  "faint raw loss, as TensorBoard smooths")
        self.smoothing_label = QLabel("0.60")
        self.smoothing.valueChanged.connect(self.set_smoothing)
        smooth_row = QHBoxLayout()
        smooth_row.addWidget(self.smoothing, 1)
        smooth_row.addWidget(self.smoothing_label)
        view_form.addRow("smoothing", smooth_row)
        export_row = QHBoxLayout()
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Save the plots of this tab as a PNG image")
        self.png_button.clicked.connect(self.export_png_dialog)
        self.csv_button = QPushButton("CSV…")
        self.csv_button.setToolTip("Save every metric as a CSV table, a row per step")
        self.csv_button.clicked.connect(self.export_csv_dialog)
        export_row.addWidget(QLabel("export"))
        export_row.addWidget(self.png_button)
        export_row.addWidget(self.csv_button)
        view_form.addRow(export_row)
        column.addWidget(view)
        return panel

    def _build_run_box(self) -> QGroupBox:
        """How long and how fast a run trains: steps (or epochs) of the setup, "until
        stopped", and a steps-per-second limit; all take effect in a running run."""
        box = QGroupBox("Run")
        form = QFormLayout(box)
        form.setContentsMargins(6, 6, 6, 6)
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, MAX_STEPS)
        self.steps_box.setSuffix(" steps")
        self.steps_box.setToolTip(self.STEPS_TIP)
        self.steps_box.editingFinished.connect(self.apply_steps)
        self.until_stopped_box = QCheckBox("until stopped")
        self.until_stopped_box.setToolTip("Train until Stop is pressed, whatever the steps")
        self.until_stopped_box.toggled.connect(self.set_until_stopped)
        form.addRow("length", self.steps_box)
        form.addRow("", self.until_stopped_box)
        self.rate_box = QDoubleSpinBox()
        self.rate_box.setDecimals(1)
        self.rate_box.setRange(0.0, 100_000.0)
        self.rate_box.setSingleStep(1.0)
        self.rate_box.setSpecialValueText("no limit")
        self.rate_box.setSuffix(" steps/s")
        self.rate_box.setToolTip("Slow training down to watch it: at most this many steps a "
                                 "second (0: no limit, as fast as it can)")
        self.rate_box.valueChanged.connect(self.set_max_rate)
        form.addRow("speed", self.rate_box)
        return box

    def _build_plots(self) -> None:
        self.loss_plot = SmoothedPlot("loss", "loss")
        self.accuracy_plot = StepPlot("accuracy", "accuracy", legend=False)
        self.boundary_plot = BoundaryPlot()
        self.lr_plot = StepPlot("learning rate", "lr", legend=False)
        self.speed_plot = StepPlot("steps per second", "steps/s", legend=False)
        self.norm_plot = NormPlot("gradient norm per layer")
        self.norm_plot.setToolTip("L2 norm of each layer's gradient (all its parameters); "
                                  "× marks a norm below 1e-6 (vanishing) or above 1e3 "
                                  "(exploding)")
        self.clip_plot = StepPlot("total gradient norm before / after clipping", "‖grad‖")
        self.max_norm_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(
            MARKER_COLOR, width=1, style=Qt.DashLine), label="max_norm {value:.3g}", labelOpts={
                "position": 0.02, "anchors": [(0, 1), (0, 1)], "color": MARKER_COLOR})
        self.max_norm_line.setToolTip("clipping by norm: no total norm after clipping is above")
        self.max_norm_line.hide()
        self.clip_plot.plot_item.addItem(self.max_norm_line, ignoreBounds=True)
        self.grad_panel = HistogramPanel("gradient", "log₁₀ |grad|")
        self.weight_panel = HistogramPanel("weight", "weight")
        self.ratio_plot = StepPlot("update / weight ratio", "‖Δw‖ / ‖w‖", log_y=True)
        self.plots: dict[str, QWidget] = {
            "loss": self.loss_plot, "accuracy": self.accuracy_plot,
            "decision_boundary": self.boundary_plot, "lr": self.lr_plot,
            "steps_per_sec": self.speed_plot, "grad_norms": self.norm_plot,
            "grad_norm_clip": self.clip_plot, "grad_histograms": self.grad_panel,
            "weight_histograms": self.weight_panel, "update_ratio": self.ratio_plot}
        for panel in (self.grad_panel, self.weight_panel):
            panel.parameter.currentIndexChanged.connect(lambda _=0: self.draw(force=True))
        self._pages: list[tuple[QWidget, list[str]]] = []

    # ---------------------------------------------------------------- arranging
    def arrange(self, overview) -> None:
        """First tab: the plots named in `overview` (keys of PLOT_GROUPS), in that order;
        then a tab per group for the others."""
        overview = tuple(k for k in dict.fromkeys(overview) if k in self.plots) or DEFAULT_OVERVIEW
        self.tabs.blockSignals(True)
        while self.tabs.count():
            page = self.tabs.widget(0)
            self.tabs.removeTab(0)
            for widget in self.plots.values():
                if widget.parent() is page:
                    widget.setParent(None)
            page.deleteLater()
        self._pages = [(self._page(list(overview)), list(overview))]
        self.tabs.addTab(self._pages[0][0], "Overview")
        for group in dict.fromkeys(PLOT_GROUPS.values()):
            keys = [k for k, g in PLOT_GROUPS.items() if g == group and k not in overview]
            if keys:
                self._pages.append((self._page(keys), keys))
                self.tabs.addTab(self._pages[-1][0], group)
        self.tabs.setCurrentIndex(0)
        self.tabs.blockSignals(False)
        self.drawn.clear()
        self.draw()

    def _page(self, keys: list[str]) -> QWidget:
        """A grid of the plots `keys`, row by row; wide plots take two cells, and the last
        plot of a row stretches over the cells left free."""
        widths = [2 if k in WIDE_PLOTS else 1 for k in keys]
        columns = min(3 if sum(widths) > 4 else 2, sum(widths))
        rows: list[list[tuple[str, int]]] = [[]]
        for key, width in zip(keys, widths):
            width = min(width, columns)
            if sum(w for _, w in rows[-1]) + width > columns:
                rows.append([])
            rows[-1].append((key, width))
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(4)
        for r, row in enumerate(rows):
            col = 0
            for i, (key, width) in enumerate(row):
                if i == len(row) - 1:
                    width = columns - col
                grid.addWidget(self.plots[key], r, col, 1, width)
                self.plots[key].show()
                col += width
            grid.setRowStretch(r, 1)
        for c in range(columns):
            grid.setColumnStretch(c, 1)
        return page

    def show_plot(self, key: str) -> None:
        """Brings up the tab that holds plot `key` (drawing what it shows)."""
        tab = next(i for i, (_, keys) in enumerate(self._pages) if key in keys)
        self.tabs.setCurrentIndex(tab)
        self.draw()

    def visible_keys(self) -> list[str]:
        index = self.tabs.currentIndex()
        return self._pages[index][1] if 0 <= index < len(self._pages) else []

    # ---------------------------------------------------------------- document
    def set_document(self, document: Document | None, base_dir: str | None = None) -> None:
        """The document Start trains (its live edits reach a running trainer); a running
        training of the previous document is stopped. Arranges the plots it asks for."""
        self._end_trainer()
        if self.document is not None:
            self.document.unsubscribe(self._on_document_change)
        self.document = document
        self.base_dir = base_dir
        self.script_steps = None
        if document is not None:
            document.subscribe(self._on_document_change)
        self._clear_plots()
        meta = (document.meta.get("dashboard") if document is not None else None) or {}
        if not isinstance(meta, dict):
            meta = {}
        plots = meta.get("plots")
        self.arrange(plots if isinstance(plots, list) else DEFAULT_OVERVIEW)
        self.log_scale.setChecked(bool(meta.get("log_loss", False)))
        self._show_setup()
        self._update_buttons()
        self._update_status()

    def setup(self) -> TrainingSetup | None:
        """The document's training setup, or None when it has none or a bad one."""
        if self.document is None:
            return None
        try:
            return TrainingSetup.from_document(self.document)
        except GraphError:
            return None

    def _show_setup(self) -> None:
        """Puts the document's clipping, learning rate and frozen layers in the controls."""
        setup = self.setup()
        for widget in (self.clip_mode, self.clip_threshold, self.lr_box, self.parameter_list,
                       self.steps_box):
            widget.blockSignals(True)
        if setup is not None:
            self.clip_mode.setCurrentText(setup.clipping.mode)
            self.clip_threshold.setValue(setup.clipping.clip_value
                                         if setup.clipping.mode == "value"
                                         else setup.clipping.max_norm)
            self.lr_box.setValue(setup.optimizer.lr)
        self._show_length(setup)
        self._fill_parameter_list(setup)
        for widget in (self.clip_mode, self.clip_threshold, self.lr_box, self.parameter_list,
                       self.steps_box):
            widget.blockSignals(False)
        clipping_by_norm = setup is not None and setup.clipping.mode == "norm"
        self.max_norm_line.setVisible(clipping_by_norm)
        if clipping_by_norm:
            self.max_norm_line.setValue(setup.clipping.max_norm)

    def _show_length(self, setup: TrainingSetup | None) -> None:
        """The Run box's length: the steps (or epochs) of the document's setup, editable; while
        a script's run is shown, the steps that script ran (its own loop sets the length, so
        nothing here is editable); "—" when there is neither."""
        box = self.steps_box
        script = self.script_steps is not None
        if script or setup is None:
            box.setRange(0, MAX_STEPS)
            box.setSpecialValueText("—")            # shown at 0: no length to tell
            box.setSuffix(" steps")
            box.setValue(self.script_steps or 0)
        else:
            box.setSpecialValueText("")
            box.setRange(1, MAX_STEPS)
            by_epochs = setup.epochs is not None
            box.setSuffix(" epochs" if by_epochs else " steps")
            box.setValue(setup.epochs if by_epochs else max(1, setup.steps or 0))
        editable = setup is not None and not script
        box.setEnabled(editable and not self.until_stopped_box.isChecked())
        box.setToolTip("The script's own loop sets how long it trains: the steps it ran"
                       if script else self.STEPS_TIP)
        self.until_stopped_box.setEnabled(not script)
        self.rate_box.setEnabled(not script)

    def show_script_steps(self, steps: int | None) -> None:
        """A script's run is shown (its steps so far), or None: the document's training is
        (set_document and a new run of the document say so too)."""
        if steps != self.script_steps:
            self.script_steps = steps
            self._show_setup()

    def parameter_nodes(self) -> list[str]:
        """Labels of the nodes whose parameters train: once a run has recorded weights,
        exactly the nodes they came from; before, every layer and parameter leaf the loss
        depends on."""
        doc, setup = self.document, self.setup()
        if doc is None or setup is None:
            return []
        snap = self.snapshot
        if snap is not None and snap.weighted:
            labels = [n.label for n in doc.nodes.values()]
            found = []
            for name in snap.weighted:
                label = next((lb for lb in labels if name == lb or name.startswith(lb + ".")),
                             None)
                if label is not None and label not in found:
                    found.append(label)
            return found + [lb for lb in setup.frozen if lb not in found]
        loss = doc.node_by_label(setup.loss)
        if loss is None:
            return []
        needed, stack = set(), [loss.id]
        while stack:
            node_id = stack.pop()
            if node_id not in needed:
                needed.add(node_id)
                stack.extend(e.src for e in doc.edges_into(node_id))
        return [doc.nodes[n].label for n in doc.topological_order() if n in needed and (
            doc.spec(doc.nodes[n]).category == "Layers" or doc.nodes[n].kind == "parameter"
            or (doc.nodes[n].kind == "tensor" and doc.nodes[n].params.get("requires_grad")))]

    def _fill_parameter_list(self, setup: TrainingSetup | None) -> None:
        labels = self.parameter_nodes()
        if [self.parameter_list.item(i).text() for i in range(self.parameter_list.count())] \
                == labels:
            for i in range(self.parameter_list.count()):
                item = self.parameter_list.item(i)
                item.setCheckState(Qt.Unchecked if setup and item.text() in setup.frozen
                                   else Qt.Checked)
            return
        self.parameter_list.clear()
        for label in labels:
            item = QListWidgetItem(label)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked if setup and label in setup.frozen else Qt.Checked)
            self.parameter_list.addItem(item)

    # ---------------------------------------------------------------- run controls
    def start(self) -> bool:
        """Starts a fresh run of the document; False (with a message) when it cannot."""
        if not self._new_run():
            return False
        self.paused = False
        self.trainer.start(UNTIL_STOPPED if self.until_stopped_box.isChecked() else None)
        self._running()
        self.message.emit("training started", "info")
        return True

    def _new_run(self, worker: str | None = None) -> bool:
        """A new run of the document (not started; `worker`: "process" or "thread", by
        default self.worker) with empty plots."""
        if self.document is None:
            self.message.emit("open a document with a training setup first", "warning")
            return False
        self._end_trainer()
        worker = worker or self.worker
        try:
            if worker == "process":
                try:
                    self.trainer = TrainingProcess(self.document, base_dir=self.base_dir)
                except OSError as exc:     # no process to be had (limits, a sandbox)
                    self.message.emit(f"training in the window's process: cannot start a "
                                      f"worker process ({exc})", "warning")
                    worker = "thread"
            if worker == "thread":
                self.trainer = Trainer.for_document(self.document, base_dir=self.base_dir)
                for text in self.trainer.session.messages:   # e.g. no cuda: on the cpu
                    self.message.emit(text, "warning")
                self.trainer.session.messages.clear()
        except GraphError as exc:
            self.trainer = None
            self.message.emit(f"cannot train: {exc}", "error")
            self._update_buttons()
            return False
        self.metrics = self.trainer.metrics
        self.show_script_steps(None)
        if self.max_rate:
            self.trainer.set_max_rate(self.max_rate)
        self._clear_plots()
        return True

    def train_now(self, steps: int) -> bool:
        """A fresh run of `steps` steps in the calling thread (the trainer's headless `run`,
        no worker), then every visible plot drawn: for screenshots and scripts. False, with
        a message, when it cannot train or a step fails."""
        if not self._new_run("thread"):
            return False
        try:
            self.trainer.run(steps)
        except GraphError as exc:          # RunError, TrainingError, a bad setup
            self.trainer.state, self.trainer.message = "stopped", f"stopped: {exc}"
            self.message.emit(self.trainer.message, "error")
            self.refresh()
            return False
        self.message.emit(self.trainer.message, "info")
        self.refresh()
        self._update_buttons()
        return True

    def toggle_pause(self) -> None:
        trainer = self.trainer
        if trainer is None or not trainer.alive:
            return
        if self.paused:
            trainer.resume()
        else:
            trainer.pause()
        self.paused = not self.paused
        self._update_buttons()

    def step_once(self) -> None:
        """One iteration, then paused: of the current run, of a finished or stopped run
        (continuing from its weights), or of a fresh run when there is none."""
        if self.trainer is None and not self._new_run():
            return
        self.trainer.step()
        self.paused = True
        self._running()

    def stop(self) -> None:
        """Ends the run at its next step boundary. A training process is asked and not
        waited for (the timer sees it end; one whose step outlasts its grace is ended); a
        thread is waited for."""
        if self.trainer is not None:
            self.trainer.stop()
        self.refresh()
        self._update_buttons()

    def is_paused(self) -> bool:
        return self.paused and self.trainer is not None and self.trainer.alive

    def _running(self) -> None:
        self._was_alive = True
        if not self.timer.isActive():
            self._pace_mark, self._owed_ms = None, 0.0
            self.timer.start(FRAME_MS)
        self._update_buttons()

    def _end_trainer(self) -> None:
        if self.trainer is not None:
            self.trainer.close()
            self.refresh()
        self.timer.stop()

    # ---------------------------------------------------------------- live changes
    def _edit_training(self, change: Callable[[dict], None], text: str) -> None:
        """Applies `change` to a copy of meta["training"] and stores it through edit_meta."""
        if self.document is None or not isinstance(self.document.meta.get("training"), dict):
            return
        training = copy.deepcopy(self.document.meta["training"])
        change(training)
        if training == self.document.meta["training"]:
            return
        try:
            TrainingSetup.parse(training)
        except GraphError as exc:
            self.message.emit(str(exc), "warning")
            self._show_setup()
            return
        if self.edit_meta is not None:
            self.edit_meta("training", training, text)
        else:
            self.document.set_meta("training", training)

    def apply_clipping(self) -> None:
        mode, threshold = self.clip_mode.currentText(), self.clip_threshold.value()

        def change(training: dict) -> None:
            clipping = dict(training.get("clipping") or {})
            clipping["mode"] = mode
            if mode == "norm":
                clipping["max_norm"] = threshold
            elif mode == "value":
                clipping["clip_value"] = threshold
            training["clipping"] = clipping
        self._edit_training(change, "Clipping: " + (mode if mode == "none"
                                                    else f"{mode} {threshold:g}"))

    def apply_steps(self) -> None:
        """The steps box into the setup's steps (or epochs, when it counts epochs)."""
        value = self.steps_box.value()
        key = "epochs" if self.steps_box.suffix() == " epochs" else "steps"

        def change(training: dict) -> None:
            training.pop("epochs" if key == "steps" else "steps", None)
            training[key] = value
        self._edit_training(change, f"Train {value} {key}")

    def set_until_stopped(self, on: bool) -> None:
        """Trains until Stop (on) or for the setup's steps (off): this run from now, and
        the next runs."""
        self.steps_box.setEnabled(not on)
        if self.trainer is not None and self.trainer.alive:
            self.trainer.until_stopped(on)
        self._update_status()

    def set_max_rate(self, steps_per_sec: float) -> None:
        """At most this many steps a second (0: no limit): this run from now, and the next."""
        self.max_rate = steps_per_sec
        if self.trainer is not None and self.trainer.alive:
            self.trainer.set_max_rate(steps_per_sec or None)

    def apply_lr(self) -> None:
        lr = self.lr_box.value()

        def change(training: dict) -> None:
            training["optimizer"] = {**(training.get("optimizer") or {}), "lr": lr}
        self._edit_training(change, f"Learning rate {lr:g}")

    def apply_freeze(self, item: QListWidgetItem) -> None:
        label, frozen = item.text(), item.checkState() != Qt.Checked

        def change(training: dict) -> None:
            labels = [lb for lb in training.get("frozen", []) if lb != label]
            training["frozen"] = labels + [label] if frozen else labels
            if not training["frozen"]:
                del training["frozen"]
        self._edit_training(change, f"{'Freeze' if frozen else 'Unfreeze'} {label}")

    def _on_document_change(self, change) -> None:
        """The controls follow meta["training"] however it changed (here, undo, redo)."""
        if change.what == "meta_changed" and change.key == "training":
            self._show_setup()
            self._update_buttons()

    # ---------------------------------------------------------------- drawing
    def ui_share(self) -> float:
        """Of one core, what the dashboard may spend drawing the current run."""
        return PROCESS_UI_SHARE if isinstance(self.trainer, TrainingProcess) else UI_SHARE

    def _pace(self) -> None:
        """Sets the timer's period so that the UI thread's CPU time (drawing, painting and
        whatever else it did) stays near `ui_share()` of the wall time while training: the CPU
        time used since the last tick, divided by UI_SHARE, is the wait until the next one.
        (Each frame pays for itself at once: an average over frames let the first, costly
        frames of a run, drawn 16 ms apart, take a third of a core.) A wait longer than
        SLOWEST_FRAME_MS is owed, up to 4 such waits, and added to the next ones."""
        cpu, now = time.thread_time(), time.perf_counter()
        if self._pace_mark is not None and now > self._pace_mark[1]:
            wanted = 1e3 * (cpu - self._pace_mark[0]) / self.ui_share() + self._owed_ms
            interval = min(max(wanted, FRAME_MS), SLOWEST_FRAME_MS)
            self._owed_ms = min(wanted - interval, 4 * SLOWEST_FRAME_MS) if wanted > interval \
                else 0.0
            self.timer.setInterval(int(interval))
        self._pace_mark = (cpu, now)

    def _tick(self) -> None:
        """One frame: a snapshot and every visible plot redrawn from it, and painted now
        rather than later; a thread worker is parked between two steps meanwhile."""
        self._pace()
        trainer = self.trainer
        held = isinstance(trainer, Trainer) and trainer.state == "running" and \
            trainer.gate.hold(GATE_WAIT_S)
        try:
            self.refresh()
            if held or not isinstance(trainer, Trainer):   # paint now: scene changes
                QApplication.sendPostedEvents()               # become update requests,
                QApplication.sendPostedEvents()               # then paints
        finally:
            if held:
                trainer.gate.release()

    def refresh(self, plots: int | None = None) -> None:
        """Polls the run, takes a snapshot when the metrics moved and redraws the visible
        plots that do not show it yet (at most `plots` of them, the longest waiting)."""
        if self.trainer is not None:
            self.trainer.poll()
        if self.metrics is not None:
            snapshot = self.metrics.snapshot_if_newer(self.version)
            if snapshot is not None:
                previous = self.snapshot.weighted if self.snapshot else ()
                self.snapshot = snapshot
                self.version = snapshot.version
                if snapshot.weighted != previous:
                    self._show_setup()          # the trained parameters are known (anew)
        self.draw(limit=plots)
        trainer = self.trainer
        while trainer is not None and trainer.warnings:   # e.g. out of memory: on the cpu now
            self.message.emit(trainer.warnings.popleft(), "warning")
        if trainer is not None and self._was_alive and not trainer.alive:
            self._was_alive = False
            failed = trainer.message.startswith("stopped:")
            self.message.emit(trainer.message, "error" if failed else "info")
            self._update_buttons()
        if not self._was_alive and not self.stale_plots():
            self.timer.stop()            # the run ended and every plot shows its last state
        self._update_status()

    def stale_plots(self) -> list[str]:
        """The visible plots that do not show the current snapshot, longest waiting first."""
        snap = self.snapshot
        if snap is None:
            return []
        stale = [k for k in self.visible_keys() if self.drawn.get(k) != snap.version]
        return sorted(stale, key=lambda k: self.drawn.get(k, -1))

    def draw(self, force: bool = False, limit: int | None = None) -> None:
        """Redraws the visible plots that have not drawn the current snapshot (every one
        with `force`), the longest waiting first, at most `limit` of them."""
        snap = self.snapshot
        if snap is None:
            return
        stale = self.visible_keys() if force else self.stale_plots()
        for key in stale[:limit]:
            self.drawn[key] = snap.version
            self.shown_step[key] = snap.step
            self.frames[key] = self.frames.get(key, 0) + 1
            getattr(self, f"_draw_{key}")(snap)
            settle(self.plots[key])

    def _markers(self, snap: MetricsSnapshot) -> list[tuple[int, str]]:
        return [(m.step, m.text) for m in snap.markers]

    def _draw_loss(self, snap: MetricsSnapshot) -> None:
        self.loss_plot.set_series("train", snap.loss.steps, snap.loss.values, 0)
        if len(snap.val_loss.steps):
            self.loss_plot.set_series("validation", snap.val_loss.steps, snap.val_loss.values, 1)
        self.loss_plot.set_markers(self._markers(snap), labels=True)

    def _draw_accuracy(self, snap: MetricsSnapshot) -> None:
        self.accuracy_plot.set_curve("accuracy", snap.accuracy.steps, snap.accuracy.values)
        self.accuracy_plot.set_markers(self._markers(snap))

    def _draw_decision_boundary(self, snap: MetricsSnapshot) -> None:
        if snap.decision_boundary is not None:
            self.boundary_plot.set_boundary(snap.decision_boundary)

    def _draw_lr(self, snap: MetricsSnapshot) -> None:
        self.lr_plot.set_curve("lr", snap.lr.steps, snap.lr.values)
        self.lr_plot.keep_zero_in_view(snap.lr.values)
        self.lr_plot.set_markers(self._markers(snap))

    def _draw_steps_per_sec(self, snap: MetricsSnapshot) -> None:
        self.speed_plot.set_curve("steps/s", snap.steps_per_sec.steps, snap.steps_per_sec.values)

    def _draw_grad_norms(self, snap: MetricsSnapshot) -> None:
        labels = [n.label for n in self.document.nodes.values()] if self.document else []
        self.norm_plot.set_norms(layer_norms(snap.grad_norms, labels))
        self.norm_plot.set_markers(self._markers(snap))

    def _draw_grad_norm_clip(self, snap: MetricsSnapshot) -> None:
        pre, post = snap.grad_norm_pre_clip, snap.grad_norm_post_clip
        self.clip_plot.set_curve("before clipping", pre.steps, pre.values, 0)
        self.clip_plot.set_curve("after clipping", post.steps, post.values, 3)
        self.clip_plot.set_markers(self._markers(snap))

    def _draw_grad_histograms(self, snap: MetricsSnapshot) -> None:
        self.grad_panel.set_histories(snap.grad_histograms)

    def _draw_weight_histograms(self, snap: MetricsSnapshot) -> None:
        self.weight_panel.set_histories(snap.weight_histograms)

    def _draw_update_ratio(self, snap: MetricsSnapshot) -> None:
        for index, (name, curve) in enumerate(snap.update_ratios.items()):
            # A ratio above MEANINGLESS_RATIO divides by weights near zero (a zero-initialised
            # bias at its first step): left out, it would flatten everything else.
            values = curve.values
            shown = (values > 0) & (values < MEANINGLESS_RATIO)
            self.ratio_plot.set_curve(name, curve.steps, np.where(shown, values, np.nan), index)
        self.ratio_plot.remove_curves_except(snap.update_ratios.keys())
        self.ratio_plot.set_markers(self._markers(snap))

    def _clear_plots(self) -> None:
        self.snapshot = None
        self.version = -1
        self.drawn.clear()
        for plot in self.plots.values():
            plot.clear_all()

    # ---------------------------------------------------------------- view settings
    def set_log_scale(self, on: bool) -> None:
        self.loss_plot.set_log_y(on)

    def set_smoothing(self, value: int) -> None:
        weight = value / 100
        self.smoothing_label.setText(f"{weight:.2f}")
        self.loss_plot.set_smoothing(weight)

    # ---------------------------------------------------------------- status
    def _update_buttons(self) -> None:
        trainable = self.setup() is not None
        alive = self.trainer is not None and self.trainer.alive
        paused = self.is_paused()
        self.start_button.setEnabled(trainable)
        self.start_button.setText("Restart" if alive else "Start")
        self.pause_button.setEnabled(alive)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.step_button.setEnabled(trainable and (not alive or paused))
        self.stop_button.setEnabled(alive)

    def _update_status(self) -> None:
        if self.trainer is None:
            if self.document is None:
                text = "no document"
            elif self.setup() is None:
                text = "this document has no training setup (meta.training)"
            else:
                text = "ready: press Start"
            self.status.setText(text)
            return
        snap, trainer = self.snapshot, self.trainer
        state = trainer.state
        if state == "idle" and trainer.alive:
            state = "starting"
        lines = [state]
        if snap is not None and snap.step >= 0:
            target = trainer.total_steps()
            of = "" if target is None else \
                " (until stopped)" if target == UNTIL_STOPPED else f" of {int(target):,}"
            lines = [f"{state} · step {snap.step + 1:,}{of}", f"loss {snap.loss.values[-1]:.4g}"]
            if len(snap.accuracy.values):
                lines[-1] += f" · accuracy {snap.accuracy.values[-1]:.1%}"
            if len(snap.steps_per_sec.values):
                rate = f"{snap.steps_per_sec.values[-1]:,.0f} steps/s"
                if self.max_rate:
                    rate += f" (limit {self.max_rate:g})"
                lines.append(rate)
        if not self.trainer.alive and self.trainer.message:
            lines.append(self.trainer.message)
        self.status.setText("\n".join(lines))

    # ---------------------------------------------------------------- export
    def export_png(self, path: str | os.PathLike) -> None:
        """Saves the visible tab's plots as a PNG image; raises OSError when it cannot."""
        self.draw(force=True)
        image = self.tabs.currentWidget().grab()
        if not image.save(str(path), "PNG"):
            raise OSError(f"cannot write {Path(path).name}")

    def export_csv(self, path: str | os.PathLike) -> int:
        """Saves every metric as CSV; returns the number of rows; raises OSError."""
        if self.metrics is None:
            raise OSError("nothing to export: no training run yet")
        return write_metrics_csv(self.metrics.snapshot(), path)

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots", "training.png",
                                              "PNG images (*.png)")
        if path:
            self._export(self.export_png, path if path.endswith(".png") else path + ".png")

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv",
                                              "CSV tables (*.csv)")
        if path:
            self._export(self.export_csv, path if path.endswith(".csv") else path + ".csv")

    def _export(self, export, path: str) -> None:
        try:
            export(path)
        except OSError as exc:
            self.message.emit(f"cannot export: {exc.strerror or exc}", "error")
        else:
            self.message.emit(f"exported {Path(path).name}", "info")

    def shutdown(self) -> None:
        """Stops training and stops following the document (the window is closing)."""
        self._end_trainer()
        if self.document is not None:
            self.document.unsubscribe(self._on_document_change)
