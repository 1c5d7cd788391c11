"""The training dashboard's cost, measured three ways in one run (figures printed, no asserts):

1. training throughput: steps per second of the same document trained headless (the
   Trainer in this thread, as `gradstudio run` does) and in the worker thread with the
   dashboard open and redrawing; the bar is at least 90% of headless;
2. a 100,000-point loss curve (smoothed, so two curves) redrawn: setData and a synchronous
   paint of the plot; the bar is under 16 ms (one frame at 60 Hz);
3. the UI event loop's longest stall while training with the dashboard open, from a 1 ms
   QTimer heartbeat (the largest gap between beats); the bar is under 50 ms.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_dashboard.py [--example spirals]
        [--steps 3000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gradstudio import EXAMPLES  # noqa: E402
from gradstudio.graph import fileio  # noqa: E402
from gradstudio.runtime.training import Trainer  # noqa: E402
from gradstudio.ui.dashboard import TrainingDashboard  # noqa: E402
from gradstudio.ui.dashboard_plots import SmoothedPlot  # noqa: E402


def load(example: str, steps: int):
    doc = fileio.load(EXAMPLES / f"{example}.json")
    training = dict(doc.meta["training"])
    training.pop("epochs", None)
    training["steps"] = steps
    doc.meta["training"] = training
    return doc


def headless_rate(example: str, steps: int) -> float:
    trainer = Trainer.for_document(load(example, steps))
    start = time.perf_counter()
    trainer.run()
    return trainer.steps_done / (time.perf_counter() - start)


def dashboard_run(app: QApplication, example: str, steps: int) -> tuple[float, float, int]:
    """(steps per second, longest event-loop gap in ms, frames drawn) with the dashboard
    open and visible, trained through its Start button's code path."""
    dashboard = TrainingDashboard()
    dashboard.resize(1280, 600)
    dashboard.set_document(load(example, steps))
    dashboard.show()
    app.processEvents()
    frames = [0]
    draw = dashboard.draw

    def counted_draw(*args, **kwargs) -> None:
        frames[0] += 1
        draw(*args, **kwargs)
    dashboard.draw = counted_draw
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    loop = QEventLoop()
    watcher = QTimer()
    watcher.setInterval(5)
    watcher.timeout.connect(lambda: None if dashboard.trainer.alive else loop.quit())
    start = time.perf_counter()
    dashboard.start()
    heartbeat.start()
    watcher.start()
    loop.exec()
    elapsed = time.perf_counter() - start
    heartbeat.stop()
    watcher.stop()
    done = dashboard.trainer.steps_done
    dashboard.shutdown()
    dashboard.deleteLater()
    gaps = np.diff(beats) * 1e3 if len(beats) > 1 else np.zeros(1)
    return done / elapsed, float(gaps.max()), frames[0]


def redraw_times(app: QApplication, points: int, repeats: int = 30) -> np.ndarray:
    """ms per redraw of a `points`-long loss curve whose ring buffer moved by one step."""
    plot = SmoothedPlot("loss", "loss")
    plot.resize(900, 400)
    plot.show()
    app.processEvents()
    rng = np.random.default_rng(0)
    values = np.exp(-np.arange(points + repeats) / (points / 3)) + 0.05 * rng.random(points + repeats)
    times = []
    for i in range(repeats):
        steps = np.arange(i, points + i)
        start = time.perf_counter()
        plot.set_series("train", steps, values[i:points + i])
        plot.viewport().repaint()
        times.append(time.perf_counter() - start)
    plot.deleteLater()
    return np.array(times[3:]) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="spirals")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"bench_dashboard: {args.example} example, {args.steps} steps, best of {args.repeats}; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"Qt platform {app.platformName()}")

    headless_rates, runs = [], []
    for _ in range(args.repeats):        # alternated, so that a busy moment hits both
        headless_rates.append(headless_rate(args.example, args.steps))
        runs.append(dashboard_run(app, args.example, args.steps))
    headless = max(headless_rates)
    with_ui = max(r[0] for r in runs)
    stall = max(r[1] for r in runs)
    frames = runs[-1][2]
    print(f"  training, headless (Trainer.run)       {headless:9.0f} steps/s")
    print(f"  training, dashboard open               {with_ui:9.0f} steps/s   "
          f"{with_ui / headless:6.1%} of headless (bar: >= 90%)   "
          f"{frames} redraws in the last run")
    print(f"  longest UI event-loop stall, training  {stall:9.1f} ms        (bar: < 50 ms; "
          f"worst of {args.repeats} runs, 1 ms heartbeat)")
    times = redraw_times(app, 100_000)
    print(f"  100,000-point loss curve redraw        {np.median(times):9.1f} ms median, "
          f"{times.max():.1f} ms max (bar: < 16 ms; setData with smoothing + paint)")


if __name__ == "__main__":
    main()
