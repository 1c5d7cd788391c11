"""`gradstudio shot FILE -o PNG [--size WxH] [--theme light|dark] [--select LABEL]
[--why NAME] [--detect-anomaly] [--debug-step N | --train-steps N]`: the main window with
FILE loaded and run (forward and backward), framed, rendered headless to a PNG (for docs
and tests); a node shown in the Inspector, the answer to "why is NAME's gradient None or
zero?", a run stopped by anomaly mode, mid-backward in the debugger, or after training in
the dashboard."""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from gradstudio.cli import UsageError


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text or "")
    if not match:
        raise UsageError(f"--size must look like 1400x900, not '{text}'")
    width, height = int(match.group(1)), int(match.group(2))
    if not (200 <= width <= 8000 and 150 <= height <= 8000):
        raise UsageError(f"--size {width}x{height} is out of range (200x150 to 8000x8000)")
    return width, height


def main(args: argparse.Namespace) -> int:
    # Options a caller's own Namespace may leave out take their parser defaults.
    theme = getattr(args, "theme", "light")
    select = getattr(args, "select", None)
    debug_step = getattr(args, "debug_step", None)
    train_steps = getattr(args, "train_steps", None)
    why = getattr(args, "why", None)
    detect_anomaly = getattr(args, "detect_anomaly", False)
    width, height = parse_size(args.size)
    source = Path(args.file)
    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise UsageError(f"the output must be a .png file, not '{output.name}'")
    if not output.parent.exists():
        raise UsageError(f"no such folder: {output.parent}")
    if debug_step is not None and debug_step < 0:
        raise UsageError(f"--debug-step must be 0 or more, not {debug_step}")
    if train_steps is not None and train_steps < 1:
        raise UsageError(f"--train-steps must be 1 or more, not {train_steps}")
    from gradstudio.graph import fileio
    from gradstudio.graph.document import GraphError

    try:
        if source.suffix.lower() == ".py":        # a script: checked when it runs
            if not source.is_file():
                raise UsageError(f"no such file: {source}")
        else:
            fileio.load(source)
    except OSError as exc:
        raise UsageError(f"cannot open {source}: {exc.strerror or exc}") from None
    except GraphError as exc:
        raise UsageError(f"cannot open {source}: {exc}") from None

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from gradstudio.ui.app import create_application

    create_application()
    quiet_offscreen_warnings()
    with tempfile.TemporaryDirectory() as folder:
        # A private settings file: a screenshot neither reads nor changes the person's own.
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.IniFormat)
        settings.setValue("theme", theme)
        settings.setValue("scripts/run_consent", True)     # the command asked to run it
        window = prepared_window(source, width, height, settings, select=select,
                                 debug_step=debug_step, train_steps=train_steps, why=why,
                                 detect_anomaly=detect_anomaly)
        try:
            image = window.grab()
        finally:
            window.undo_stack.setClean()
            window.close()
        if not image.save(str(output), "PNG"):
            raise UsageError(f"cannot write {output}")
        settings.sync()
    return 0


OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints()"


def quiet_offscreen_warnings() -> None:
    """Qt's offscreen platform warns "This plugin does not support propagateSizeHints()"
    for windows it draws; nothing is wrong with the picture, so the command does not pass
    it on. Every other Qt message still goes to stderr."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode, context, message: str) -> None:
        if message == OFFSCREEN_NOISE:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)


def settle(app, rounds: int = 3) -> None:
    """Lets queued layout work (dock sizes, single-shot timers, plot ranges) run."""
    for _ in range(rounds):
        app.processEvents()


def prepared_window(source: Path, width: int, height: int, settings, select: str | None = None,
                    debug_step: int | None = None, train_steps: int | None = None,
                    why: str | None = None, detect_anomaly: bool = False):
    """The window `shot` grabs: `source` loaded and run (again with anomaly mode on when
    `detect_anomaly`: it stops at the node that made NaN/Inf and selects it), the node
    labelled `select` selected (the Inspector shows it), "why is `why`'s gradient None or
    zero?" answered, then `debug_step` steps into the backward pass in the Debugger, or
    `train_steps` steps trained in the dashboard; framed."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    window = loaded_window(source, width, height, settings)
    try:
        settle(app)             # docks, the inspector and the dashboard finish arranging
        if detect_anomaly:
            window.act_detect_anomaly.setChecked(True)
        if select is not None:
            select_node(window, select)
        if why is not None:
            ask_why(window, why)
        if debug_step is not None:
            step_debugger(window, debug_step)
        if train_steps is not None:
            train(window, train_steps)
        settle(app)             # a dock opened above (Why, Debugger) has its size first
        window.view.frame_all()
        settle(app)
    except BaseException:
        window.undo_stack.setClean()
        window.close()
        raise
    return window


def loaded_window(source: Path, width: int, height: int, settings):
    """The main window at width x height with `source` opened, which runs it forward and,
    when it has a backward root, backward (once: gradients are not accumulated twice)."""
    from gradstudio.ui.main_window import MainWindow

    window = MainWindow(settings=settings)
    window.resize(width, height)
    window.show()
    if not window.open_file(source, ask=False):
        raise UsageError(f"cannot open {source}")
    window.setObjectName(source.name)   # messages name the file (an example opens untitled)
    if source.suffix.lower() == ".py":          # a script: its graph once it has run
        window.scripts.wait()
        result = window.scripts.run.result
        if result.document is None:
            raise UsageError(f"{source.name}: {result.error or 'no graph was recorded'}")
    return window


def select_node(window, label: str) -> None:
    """Selects the node labelled `label` on the canvas, so the Inspector shows it."""
    node = window.doc.node_by_label(label)
    if node is None:
        labels = ", ".join(sorted(n.label for n in window.doc.nodes.values()))
        raise UsageError(f"--select {label}: {window.objectName()} has no such node ({labels})")
    window.scene.clearSelection()
    window.scene.node_items[node.id].setSelected(True)


def ask_why(window, name: str) -> None:
    """Asks "why is NAME's gradient None or zero?": the dock answers, the canvas shows the
    path; an unknown NAME is a UsageError."""
    if window.why_ask(name) is None:
        raise UsageError(f"--why {name}: {window.why_panel.headline.text()}")


def step_debugger(window, steps: int) -> None:
    """Opens the Debugger dock, plans the backward pass (Restart) and takes `steps` steps, as
    the Debug menu does, so the canvas shows the debugger's overlay at that point."""
    panel = window.debugger_panel
    panel.act_restart.trigger()
    if not panel.debugger.started:
        raise UsageError(f"cannot debug {window.objectName()}: {panel.debugger.error}")
    planned = len(panel.debugger.plan)
    if steps > planned:
        raise UsageError(f"--debug-step {steps}: the backward pass has {planned} steps")
    for _ in range(steps):
        panel.act_step.trigger()
    if panel.debugger.error:
        raise UsageError(f"the backward pass stopped: {panel.debugger.error}")


def train(window, steps: int) -> None:
    """Shows the Training dock and trains a fresh run of `steps` steps synchronously (the
    trainer's headless run), every visible plot drawn from the final metrics."""
    dashboard = window.training_dashboard
    if dashboard.setup() is None:
        raise UsageError(f"{window.objectName()} has no training setup (meta 'training')")
    window.training_dock.show()
    window.training_dock.raise_()
    if not dashboard.train_now(steps):
        raise UsageError(dashboard.trainer.message if dashboard.trainer else "cannot train")
    dashboard.draw(force=True)
