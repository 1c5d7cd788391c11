"""The training dashboard's cost, measured side by side in one run (figures printed, no asserts).

Four ways to train the same document, alternated so that a busy moment of a shared machine
hits each of them: headless (`Trainer.run` in this thread, as `gradstudio run`), the Trainer
in a worker thread with the dashboard open, the Trainer in a child process
(`TrainingProcess`) with nothing drawing, and the child process with the dashboard open.
For each:

1. training speed: steps per second as the trainer itself measures it (its steps_per_sec
   windows of half a second, so a process's start-up is not counted), and its ratio to the
   headless run next to it (bar: >= 90%, aim 95%);
2. frames per second of every visible plot (bar: >= 10, aim 30), and whether every frame
   drew all of them from the same step;
3. the UI event loop's longest stall, from a 1 ms QTimer heartbeat in a second run of
   each kind (bar: < 50 ms).

Then a 100,000-point loss curve redrawn: setData and a synchronous paint (bar: < 16 ms).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_dashboard.py [--example spirals]
        [--steps 10000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One BLAS thread unless told otherwise: these models are tiny, and BLAS worker threads
# spinning next to the trainer and the UI thread on a small machine made every figure
# swing by 2-3x from run to run (both sides of each comparison use the same setting).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gradstudio import EXAMPLES  # noqa: E402
from gradstudio.graph import fileio  # noqa: E402
from gradstudio.runtime.training import Trainer  # noqa: E402
from gradstudio.runtime.training_process import TrainingProcess  # noqa: E402
from gradstudio.ui.dashboard import TrainingDashboard  # noqa: E402
from gradstudio.ui.dashboard_plots import SmoothedPlot  # noqa: E402


def load(example: str, steps: int):
    doc = fileio.load(EXAMPLES / f"{example}.json")
    training = dict(doc.meta["training"])
    training.pop("epochs", None)
    training["steps"] = steps
    doc.meta["training"] = training
    return doc


def trainer_rate(metrics) -> float:
    """Steps per second as the trainer measured them: the mean of its half-second windows."""
    values = metrics.snapshot().steps_per_sec.values
    return float(np.mean(values)) if len(values) else float("nan")


def headless_rate(example: str, steps: int) -> float:
    trainer = Trainer.for_document(load(example, steps))
    trainer.run()
    return trainer_rate(trainer.metrics)


class Finished(QObject):
    """Quits an event loop when a thread worker ends: a thread waits for it and emits
    `ended`, which reaches the loop queued (a QTimer polling trainer.alive every 5 ms took
    the GIL from the trainer 200 times a second)."""

    ended = Signal()

    def __init__(self, loop: QEventLoop) -> None:
        super().__init__()
        self.ended.connect(loop.quit)

    def watch(self, trainer) -> None:
        threading.Thread(target=lambda: (trainer.wait(), self.ended.emit()), daemon=True,
                         name="bench-finished").start()


class Run:
    """One training run under a running Qt event loop: `worker` "thread" or "process",
    with or without the dashboard open, with or without the 1 ms heartbeat."""

    def __init__(self, app: QApplication, example: str, steps: int, worker: str,
                 dashboard: bool, heartbeat: bool) -> None:
        board = trainer = None
        doc = load(example, steps)
        if dashboard:                    # trained through the Start button's code path
            board = TrainingDashboard()
            board.worker = worker
            board.resize(1280, 600)
            board.set_document(doc)
            board.show()
            app.processEvents()
        beats: list[float] = []
        timer = QTimer()          # the heartbeat
        timer.setInterval(1)
        timer.timeout.connect(lambda: beats.append(time.perf_counter()))
        loop = QEventLoop()
        same_step = [0, 0]        # frames whose visible plots all showed one step, frames
        if board is not None:
            real_refresh = board.refresh

            def refresh(plots=None):
                real_refresh(plots)
                shown = {board.shown_step.get(k) for k in board.visible_keys()}
                same_step[0] += len(shown) == 1
                same_step[1] += 1
            board.refresh = refresh
            board.start()
            trainer = board.trainer
        elif worker == "process":
            trainer = TrainingProcess(doc, watch=False)
            trainer.start()
        start = time.perf_counter()
        if worker == "thread":
            Finished(loop).watch(trainer)
        else:                     # a process run is polled, as the dashboard does
            poll = QTimer()
            poll.setInterval(50)
            poll.timeout.connect(lambda: trainer.poll() if trainer.alive else loop.quit())
            poll.start()
        if heartbeat:
            timer.start()
        loop.exec()
        elapsed = time.perf_counter() - start
        timer.stop()
        trainer.poll()
        self.rate = trainer_rate(trainer.metrics)
        self.wall_rate = trainer.steps_done / elapsed
        self.fps = {k: n / elapsed for k, n in board.frames.items()} if board else {}
        self.same_step = same_step
        gaps = np.diff(beats) * 1e3 if len(beats) > 1 else np.zeros(1)
        self.stall = float(gaps.max())
        if board is not None:
            board.shutdown()
            board.hide()
            board.deleteLater()
        else:
            trainer.close()
        QApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        QApplication.processEvents()


def redraw_times(app: QApplication, points: int, repeats: int = 30) -> np.ndarray:
    """ms per redraw of a `points`-long loss curve whose ring buffer moved by one step."""
    plot = SmoothedPlot("loss", "loss")
    plot.resize(900, 400)
    plot.show()
    app.processEvents()
    rng = np.random.default_rng(0)
    n = points + repeats
    values = np.exp(-np.arange(n) / (points / 3)) + 0.05 * rng.random(n)
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
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"bench_dashboard: {args.example} example, {args.steps} steps, {args.repeats} "
          f"repeats alternated; Python {platform.python_version()}, {os.cpu_count()} CPUs "
          f"(load average {os.getloadavg()[0]:.1f} at start), Qt platform {app.platformName()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    kinds = {"thread + dashboard": ("thread", True), "process alone": ("process", False),
             "process + dashboard": ("process", True)}
    headless, runs, stalls = [], {k: [] for k in kinds}, {k: [] for k in kinds}
    for _ in range(args.repeats):
        headless.append(headless_rate(args.example, args.steps))
        for name, (worker, board) in kinds.items():
            runs[name].append(Run(app, args.example, args.steps, worker, board, False))
        for name, (worker, board) in kinds.items():
            if board:
                stalls[name].append(Run(app, args.example, args.steps, worker, board, True).stall)
    print(f"  {'':22} {'steps/s':>8} {'of headless':>12}  {'(run by run)':18} "
          f"{'longest stall':>13}  frames per second per plot (same step in every frame)")
    print(f"  {'headless':22} {np.median(headless):8.0f} {'100%':>12}  "
          f"{' '.join(f'{h:.0f}' for h in headless):18}")
    for name, kind_runs in runs.items():
        # each run against the headless run just before it: the pair shares the machine's mood
        paired = [r.rate / h for r, h in zip(kind_runs, headless)]
        line = (f"  {name:22} {np.median([r.rate for r in kind_runs]):8.0f} "
                f"{np.median(paired):12.1%}  {' '.join(f'{p:.0%}' for p in paired):18}")
        if stalls[name]:
            line += f" {min(stalls[name]):9.1f} ms  "
            fps = {k: np.median([r.fps.get(k, 0.0) for r in kind_runs]) for k in kind_runs[0].fps}
            same = sum(r.same_step[0] for r in kind_runs), sum(r.same_step[1] for r in kind_runs)
            line += ", ".join(f"{k} {v:.0f}" for k, v in fps.items())
            line += f"  ({same[0]} of {same[1]} frames)"
        print(line)
    process = runs["process + dashboard"]
    print(f"  (process runs: wall-clock steps/s from Start, with the worker's start-up: "
          f"{np.median([r.wall_rate for r in process]):.0f}; longest stalls: best of "
          f"{args.repeats}, worst thread {max(stalls['thread + dashboard']):.1f} ms, worst "
          f"process {max(stalls['process + dashboard']):.1f} ms)")
    times = redraw_times(app, 100_000)
    print(f"  100,000-point loss curve redraw {np.median(times):.1f} ms median, "
          f"{times.max():.1f} ms max (bar: < 16 ms; setData with smoothing + paint)")


if __name__ == "__main__":
    main()
