"""Memory while training with the dashboard open: the real main window (offscreen) opens an
example, the Training menu's Start trains it with no step limit while the dashboard redraws,
and the resident set size is sampled every few seconds. Memory must stay flat once the curves'
buffers are full: the figure printed is the growth from the first third of the run to its end
(issue 17: 211 MiB from 100 s to 180 s, 260k steps). Prints; never asserts.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_dashboard_soak.py
        [--example spirals] [--seconds 180] [--every 10]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from gradstudio import EXAMPLES  # noqa: E402
from gradstudio.graph.training_setup import MAX_STEPS  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def wait(seconds: float) -> None:
    """Runs the Qt event loop (the dashboard's frames) for `seconds`."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="spirals")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--every", type=float, default=10.0)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    from gradstudio.ui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp(prefix="gradstudio-soak-"))
    raw = json.loads((EXAMPLES / f"{args.example}.json").read_text())
    training = raw["meta"]["training"]
    training.pop("epochs", None)
    training["steps"] = MAX_STEPS                      # train until stopped
    path = folder / f"{args.example}.json"
    path.write_text(json.dumps(raw))

    window = MainWindow(QSettings(str(folder / "settings.ini"), QSettings.IniFormat))
    window.ask_save_changes = lambda: QMessageBox.Discard
    window.resize(1400, 900)
    window.show()
    assert window.open_file(path, ask=False)
    wait(1.0)                                          # the dock shows the new document
    board = window.training_dashboard
    start = next(a for a in window.training_menu.actions() if a.text() == "&Start")
    start.trigger()
    if board.trainer is None:
        raise SystemExit(f"training did not start: {window.messages.lines()[-1]}")

    print(f"dashboard soak: {args.example}, {args.seconds:.0f} s, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs (the machine may be loaded)")
    print(f"{'time s':>8} {'steps':>10} {'RSS MiB':>9}")
    samples, began = [], time.perf_counter()
    while time.perf_counter() - began < args.seconds:
        wait(args.every)
        trainer = board.trainer
        elapsed = time.perf_counter() - began
        samples.append((elapsed, trainer.steps_done if trainer else 0, rss_mib()))
        print(f"{elapsed:8.0f} {samples[-1][1]:10d} {samples[-1][2]:9.1f}", flush=True)
    board.shutdown()
    third = samples[len(samples) // 3]
    last = samples[-1]
    growth = last[2] - third[2]
    print(f"RSS from {third[0]:.0f} s to {last[0]:.0f} s: {third[2]:.1f} -> {last[2]:.1f} MiB "
          f"({growth:+.1f} MiB, {100 * growth / third[2]:+.1f}%), over {last[1] - third[1]} steps")
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main()
