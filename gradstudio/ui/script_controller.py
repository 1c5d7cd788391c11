"""Opening a PyTorch script in the window: run it, plot its training live, show its graph.

`install_scripts(window)` adds the Script menu and `window.scripts`, a `ScriptController`.
Opening a .py (File > Open, a drop, the command line) starts the script in its worker
process (gradstudio.runtime.script_run): its output goes to the Messages dock, each
optimizer step feeds the Training dashboard's plots (the same TrainingMetrics buffers a
graph's training fills), and when the script ends its recorded iteration replaces the
document - an ordinary graph that the canvas, Inspector and Debugger work on. The Script
menu pauses, steps, resumes and stops the run, and changes the script's own optimizer
between backward and step: learning rate, gradient clipping, a frozen parameter.

Opening a script runs the person's own code; the window says so once, the first time (and
remembers the answer), as editors do before running code from a folder.
The Inspector gains a "Source" box for recorded nodes: the script's file:line with the
line's text and the module path; double-clicking it opens the script (QDesktopServices).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (QApplication, QFormLayout, QGroupBox, QInputDialog, QLabel,
                               QMenu, QMessageBox)

from shiboken6 import isValid

from gradstudio.graph import fileio
from gradstudio.runtime.metrics import TrainingMetrics
from gradstudio.runtime.script_run import ScriptRun, feed_metrics

CONSENT_KEY = "scripts/run_consent"
POLL_MS = 50


class SourceBox(QGroupBox):
    """Where a recorded node came from: file:line, the line's text, the module path."""

    def __init__(self, parent=None) -> None:
        super().__init__("Source", parent)
        form = QFormLayout(self)
        self.line = QLabel()
        self.code = QLabel()
        self.module = QLabel()
        for label in (self.line, self.code, self.module):
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
            label.setWordWrap(True)
        self.code.setStyleSheet("font-family: monospace")
        self.line.setToolTip("double-click to open the script")
        form.addRow("line", self.line)
        form.addRow("code", self.code)
        form.addRow("module", self.module)
        self.file: str | None = None
        self.hide()

    def show_source(self, info: dict | None) -> None:
        if not info or "file" not in info:
            self.file = None
            self.hide()
            return
        self.file = info["file"]
        self.line.setText(f"{os.path.basename(info['file'])}:{info.get('line', '?')}")
        self.code.setText(info.get("code", ""))
        self.module.setText(info.get("module") or "(top level)")
        if info.get("error"):
            self.code.setText(f"{info.get('code', '')}\n{info['error']}")
        self.show()

    def mouseDoubleClickEvent(self, event) -> None:
        if self.file:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.file))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


class ScriptController(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.run: ScriptRun | None = None
        self.path: Path | None = None
        self.metrics = TrainingMetrics()
        self.iteration: int | None = None       # which recorded iteration to show (None: last)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.paused = False
        self._pending_output = ""
        self.source_box = SourceBox()
        layout = window.inspector.widget().layout()
        layout.insertWidget(2, self.source_box)
        window.scene.selectionChanged.connect(self._show_source)
        self._build_menu()

    # ---------------------------------------------------------------- menu
    def _build_menu(self) -> None:
        w = self.window
        menu = QMenu("&Script", w)
        self.actions: dict[str, QAction] = {}
        for key, text, slot, tip in (
                ("rerun", "&Run Again", self.rerun, "Run the script again"),
                ("pause", "&Pause / Resume", self.toggle_pause,
                 "Pause at the next optimizer step, or go on"),
                ("step", "&Step One Iteration", self.step_once, "Run to the next optimizer step"),
                ("stop", "S&top", self.stop, "End the script now"),
                (None, None, None, None),
                ("lr", "&Learning Rate…", self.ask_lr, "Set the script's optimizer's learning rate"),
                ("clip", "&Clip Gradients…", self.ask_clip,
                 "Clip gradients by norm or value between backward and step"),
                ("freeze", "&Freeze Parameter…", self.ask_freeze,
                 "Leave a parameter out of the optimizer's steps"),
                (None, None, None, None),
                ("iteration", "Show &Iteration…", self.ask_iteration,
                 "Run again and show another recorded iteration"),
                ("edit", "&Open Script in Editor", self.open_in_editor,
                 "Open the script with the system's editor")):
            if key is None:
                menu.addSeparator()
                continue
            action = QAction(text, w)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            menu.addAction(action)
            self.actions[key] = action
        menu.aboutToShow.connect(self._update_actions)
        self.menu = menu
        w.add_menu(menu)
        self._update_actions()

    def _update_actions(self) -> None:
        running = self.run is not None and self.run.running
        for key in ("pause", "step", "stop", "lr", "clip", "freeze"):
            self.actions[key].setEnabled(running)
        for key in ("rerun", "iteration", "edit"):
            self.actions[key].setEnabled(self.path is not None)

    # ---------------------------------------------------------------- running
    def consent(self) -> bool:
        """Asked once: opening a script runs it."""
        settings = self.window.settings
        if settings.value(CONSENT_KEY, False, type=bool):
            return True
        answer = QMessageBox.question(
            self.window, "Run this script?",
            "Opening a Python script runs it: gradstudio executes your code (on its own "
            "engine, with `import torch` pointing there) to record its graph and training.\n\n"
            "Run scripts you trust only. Ask again next time?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        if answer != QMessageBox.Yes:
            return False
        settings.setValue(CONSENT_KEY, True)
        return True

    def open_script(self, path: str | os.PathLike, ask: bool = True) -> bool:
        """Runs the script; its graph replaces the document when it ends. The first script
        ever opened asks whether to run code (remembered); ask=False does not ask about
        unsaved changes (the caller did)."""
        path = Path(path)
        if not path.is_file():
            self.window.report_error("Cannot open file", f"Cannot open {path.name}: no such file")
            return False
        if not self.consent() or (ask and not self.window.confirm_discard()):
            return False
        self.stop(quiet=True)
        self.path = path.resolve()
        self.metrics.clear()
        self.run = ScriptRun(self.path, iteration=self.iteration)
        try:
            self.run.start()
        except OSError as exc:
            self.window.report_error("Cannot run script", f"Cannot run {path.name}: {exc}")
            self.run = None
            return False
        self.paused = False
        self.window.show_message(f"Running {path.name} on gradstudio's engine (your own code)")
        self._attach_dashboard()
        self.timer.start()
        self._update_actions()
        if hasattr(self.window, "_remember_recent"):
            self.window._remember_recent(self.path)
        return True

    def rerun(self) -> None:
        if self.path is not None:
            self.open_script(self.path, ask=False)

    def wait(self, timeout: float = 120.0) -> bool:
        """Processes events until the run ends (for `gradstudio shot` and tests)."""
        deadline = time.monotonic() + timeout
        while self.run is not None and self.run.running and time.monotonic() < deadline:
            QApplication.processEvents()
            self.poll()
            time.sleep(0.01)
        self.poll()
        QApplication.processEvents()
        return self.run is not None and not self.run.running

    def poll(self) -> None:
        run = self.run
        if run is None:
            return
        events = run.poll(0)
        trained = False
        for event in events:
            kind = event[0]
            if kind == "output":
                self._output(event[1], event[2])
            elif kind in ("step", "histograms", "marker"):
                feed_metrics(event, self.metrics)
                trained = True
                if kind == "marker":
                    self.window.show_message(f"script: {event[2]} at step {event[1] + 1}")
            elif kind == "paused":
                self.paused = True
                self.window.show_message(f"{self.path.name}: paused before step {event[1] + 1}")
            elif kind == "resumed":
                self.paused = False
            elif kind == "error":
                self._flush_output()
                self.window.show_message(f"{self.path.name}: {event[2]}", "error")
                if event[3]:
                    self.window.show_message(event[3].rstrip(), "error")
            elif kind == "document":
                self._show_document(event[1])
            elif kind == "done":
                self._flush_output()
                self.window.show_message(f"{self.path.name}: {event[1]}"
                                         f" after {run.result.steps} steps" if run.result.steps
                                         else f"{self.path.name}: {event[1]}")
        if trained:
            self._refresh_dashboard()
        if not run.running:
            self.timer.stop()
            run.close()
            self._update_actions()
            self._refresh_dashboard(every_plot=True)

    def _output(self, stream: str, text: str) -> None:
        """Script output goes to Messages a line at a time."""
        self._pending_output += text
        *lines, self._pending_output = self._pending_output.split("\n")
        for line in lines:
            self.window.show_message(line, "error" if stream == "stderr" else "info")

    def _flush_output(self) -> None:
        if self._pending_output:
            self.window.show_message(self._pending_output)
            self._pending_output = ""

    def _show_document(self, text: str) -> None:
        w = self.window
        try:
            loaded = fileio.loads(text)
        except fileio.FileFormatError as exc:
            w.show_message(f"{self.path.name}: the recorded graph is not valid: {exc}", "error")
            return
        show_recorded(w, loaded, str(self.path.parent))
        w.undo_stack.clear()
        w.path = None                          # Save asks for a .json: never over the script
        script = loaded.meta.get("script", {})
        shown = script.get("iteration")
        w.untitled_name = f"{self.path.name} (iteration {shown})" if shown is not None \
            else f"{self.path.name} (recorded)"
        w._update_title()
        ops = sum(1 for n in loaded.nodes.values() if n.kind == "call")
        w.show_message(f"{self.path.name}: graph of iteration {shown} of "
                       f"{script.get('iterations', 0)}: {ops} op calls, "
                       f"{len(loaded.groups)} module calls")
        w.view.frame_all()
        QTimer.singleShot(0, w.view.frame_all)
        QTimer.singleShot(0, self._attach_dashboard)     # after the dashboard's own arrange

    # ---------------------------------------------------------------- dashboard
    def _attach_dashboard(self) -> None:
        dashboard = getattr(self.window, "training_dashboard", None)
        if dashboard is None or (not self.metrics.version and self.run is not None
                                 and not self.run.running):
            return
        if not getattr(self, "_controls_wired", False):
            # the dashboard's live controls change a running script's optimizer too
            self._controls_wired = True
            dashboard.lr_box.editingFinished.connect(lambda: self._dashboard_edit("lr"))
            dashboard.clip_mode.activated.connect(lambda _=0: self._dashboard_edit("clip"))
            dashboard.clip_threshold.editingFinished.connect(
                lambda: self._dashboard_edit("clip"))
        dashboard.metrics = self.metrics
        dashboard.version = -1
        if self.metrics.version or (self.run is not None and self.run.running):
            dock = self.window.training_dock
            dock.show()
            dock.raise_()
        self._refresh_dashboard(every_plot=True)

    def _refresh_dashboard(self, every_plot: bool = False) -> None:
        dashboard = getattr(self.window, "training_dashboard", None)
        if dashboard is None:
            return
        if dashboard.metrics is not self.metrics:
            dashboard.metrics, dashboard.version = self.metrics, -1
        dashboard.refresh(plots=None if every_plot else 2)
        snap = dashboard.snapshot
        if snap is not None and len(snap.lr.values) and not dashboard.lr_box.hasFocus():
            dashboard.lr_box.setValue(float(snap.lr.values[-1]))   # the script's own lr
        if snap is not None and snap.step >= 0 and self.path is not None:
            dashboard.show_script_steps(snap.step + 1)
            state = "paused" if self.paused else ("running" if self.run and self.run.running
                                                  else "finished")
            dashboard.status.setText(f"{self.path.name}: {state} · step {snap.step + 1}\n"
                                     f"loss {snap.loss.values[-1]:.4g}")

    def _dashboard_edit(self, what: str) -> None:
        dashboard = self.window.training_dashboard
        if self.run is None or not self.run.running or dashboard.metrics is not self.metrics:
            return
        if what == "lr":
            self.set_lr(dashboard.lr_box.value())
        else:
            mode = dashboard.clip_mode.currentText()
            self.set_clip(None if mode == "none" else mode, dashboard.clip_threshold.value())

    # ---------------------------------------------------------------- controls
    def toggle_pause(self) -> None:
        if self.run is None:
            return
        if self.paused:
            self.run.resume()
            self.paused = False
        else:
            self.run.pause()

    def step_once(self) -> None:
        if self.run is not None:
            self.run.step()

    def stop(self, quiet: bool = False) -> None:
        if self.run is not None and self.run.running:
            self.run.stop()
            self.poll()
            if not quiet:
                self.window.show_message(f"{self.path.name}: stopped")
        self.timer.stop()
        self._update_actions()

    def set_lr(self, lr: float) -> bool:
        return self.run is not None and self.run.send("lr", float(lr))

    def set_clip(self, mode: str | None, limit: float = 0.0) -> bool:
        return self.run is not None and self.run.send("clip", mode, float(limit))

    def set_frozen(self, name: str, frozen: bool) -> bool:
        return self.run is not None and self.run.send("freeze", name, bool(frozen))

    def ask_lr(self) -> None:
        value, ok = QInputDialog.getDouble(self.window, "Learning rate", "lr:", 0.01, 0.0, 1e6, 6)
        if ok:
            self.set_lr(value)

    def ask_clip(self) -> None:
        mode, ok = QInputDialog.getItem(self.window, "Clip gradients", "clip by:",
                                        ["norm", "value", "off"], 0, False)
        if not ok:
            return
        if mode == "off":
            self.set_clip(None)
            return
        limit, ok = QInputDialog.getDouble(self.window, "Clip gradients", f"max {mode}:", 1.0,
                                           0.0, 1e9, 6)
        if ok:
            self.set_clip(mode, limit)

    def ask_freeze(self) -> None:
        names = sorted(self.metrics.grad_norms) or [n.label for n in self.window.doc.nodes.values()
                                                    if n.kind == "parameter"]
        if not names:
            return
        name, ok = QInputDialog.getItem(self.window, "Freeze parameter", "parameter:", names, 0,
                                        False)
        if ok:
            self.set_frozen(name, True)

    def ask_iteration(self) -> None:
        script = self.window.doc.meta.get("script", {})
        count = int(script.get("iterations", 0) or 0)
        current = script.get("iteration") or 0
        value, ok = QInputDialog.getInt(self.window, "Show iteration",
                                        f"iteration (0 to {max(count - 1, 0)}):", current, 0,
                                        max(count - 1, 0))
        if ok:
            self.show_iteration(value)

    def show_iteration(self, iteration: int | None) -> None:
        """Runs the script again and shows the graph of that iteration (None: the last)."""
        self.iteration = iteration
        self.rerun()

    def open_in_editor(self) -> None:
        if self.path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))

    # ---------------------------------------------------------------- inspector
    def _show_source(self) -> None:
        if not (isValid(self.window.scene) and isValid(self.source_box)):
            return                       # the window is closing
        ids = self.window.scene.selected_node_ids()
        sources = (self.window.doc.meta.get("script") or {}).get("sources") or {}
        self.source_box.show_source(sources.get(ids[0]) if len(ids) == 1 else None)

    def shutdown(self) -> None:
        self.stop(quiet=True)


def show_recorded(window, doc, base_dir: str) -> None:
    """The window shows a recorded document (laid out by the worker, by module groups) and
    runs it: forward and backward, so every node shows the iteration's values and grads."""
    window.runner.reset()
    window.doc.replace_with(doc, take=True)
    window.runner.set_base_dir(base_dir)
    window.runner.run(backward=window.runner.has_root())


def install_scripts(window: Any) -> ScriptController:
    controller = ScriptController(window)
    window.scripts = controller
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(controller.shutdown)
    return controller
