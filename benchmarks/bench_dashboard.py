"""The training dashboard's cost, measured three ways in one run (figures printed, no asserts):

1. training throughput: steps per second of the same document trained headless (the
   Trainer in this thread, as `gradstudio run` does), in the worker thread alone, and in
   the worker thread with the dashboard open and redrawing; the bar is at least 90% of
   headless;
2. a 100,000-point loss curve (smoothed, so two curves) redrawn: setData and a synchronous
   paint of the plot; the bar is under 16 ms (one frame at 60 Hz);
3. the UI event loop's longest stall while training with the dashboard open, from a 1 ms
   QTimer heartbeat (the largest gap between beats); the bar is under 50 ms. The same
   heartbeat with training but no dashboard shows what the machine and the GIL cost alone.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_dashboard.py [--example spirals]
        [--steps 3000] [--repeats 3]
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
from gradstudio.ui.dashboard import TrainingDashboard  # noqa: E402
from gradstudio.ui.dashboard_plots import SmoothedPlot  # noqa: E402


def load(example: str, steps: int):
    doc = fileio.load(EXAMPLES / f"{example}.json")
    training = dict(doc.meta["training"])
    training.pop("epochs", None)
    training["steps"] = steps
    doc.meta["training"] = training
    return doc


def headless_rate(example: str, steps: int) -> tuple[float, float]:
    """Steps per second and CPU seconds per step of `gradstudio run`'s trainer path."""
    trainer = Trainer.for_document(load(example, steps))
    cpu, start = time.thread_time(), time.perf_counter()
    trainer.run()
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    return trainer.steps_done / elapsed, cpu / trainer.steps_done


class Finished(QObject):
    """Quits an event loop when a trainer's worker thread ends: a thread waits for it and
    emits `ended`, which reaches the loop queued. (A QTimer polling trainer.alive every
    5 ms took the GIL from the trainer 200 times a second, in every run but the headless.)"""

    ended = Signal()

    def __init__(self, loop: QEventLoop) -> None:
        super().__init__()
        self.ended.connect(loop.quit)

    def watch(self, trainer: Trainer) -> None:
        threading.Thread(target=lambda: (trainer.wait(), self.ended.emit()), daemon=True,
                         name="bench-finished").start()


class Run:
    """One training run in the worker thread under a running Qt event loop."""

    def __init__(self, app: QApplication, example: str, steps: int, dashboard: bool,
                 heartbeat: bool) -> None:
        board = trainer = None
        if dashboard:                    # trained through the Start button's code path
            board = TrainingDashboard()
            board.resize(1280, 600)
            board.set_document(load(example, steps))
            board.show()
            app.processEvents()
        else:
            trainer = Trainer.for_document(load(example, steps))
        beats: list[float] = []
        timer = QTimer()          # the heartbeat: its callbacks cost the trainer GIL turns too
        timer.setInterval(1)
        timer.timeout.connect(lambda: beats.append(time.perf_counter()))
        loop = QEventLoop()
        finished = Finished(loop)
        cpu, process, start = time.thread_time(), time.process_time(), time.perf_counter()
        if board is not None:
            board.start()
            trainer = board.trainer
        else:
            trainer.start()
        finished.watch(trainer)
        if heartbeat:
            timer.start()
        loop.exec()
        elapsed = time.perf_counter() - start
        cpu = time.thread_time() - cpu
        process = time.process_time() - process
        self.ui_share = cpu / elapsed                      # of one core, UI thread
        timer.stop()
        self.rate = trainer.steps_done / elapsed
        # the process's other CPU time is the worker's (one BLAS thread; the thread waiting
        # for the worker's end sleeps)
        self.worker_cpu = (process - cpu) / max(1, trainer.steps_done)
        gaps = np.diff(beats) * 1e3 if len(beats) > 1 else np.zeros(1)
        self.stall = float(gaps.max())
        self.stall_p99 = float(np.percentile(gaps, 99))
        if board is not None:
            board.shutdown()
            board.hide()
            board.deleteLater()
        else:
            trainer.close()
        # This run's leftovers (the board's last paints, its deletion) are handled now, not
        # in the next run's measured event loop.
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
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"bench_dashboard: {args.example} example, {args.steps} steps, best of {args.repeats}; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"Qt platform {app.platformName()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")

    headless_rates, headless_cpu, bare, runs, bare_beats, beats = [], [], [], [], [], []
    for _ in range(args.repeats):        # alternated, so that a busy moment hits each kind
        rate, cpu = headless_rate(args.example, args.steps)
        headless_rates.append(rate)
        headless_cpu.append(cpu)
        bare.append(Run(app, args.example, args.steps, dashboard=False, heartbeat=False))
        runs.append(Run(app, args.example, args.steps, dashboard=True, heartbeat=False))
        bare_beats.append(Run(app, args.example, args.steps, dashboard=False, heartbeat=True))
        beats.append(Run(app, args.example, args.steps, dashboard=True, heartbeat=True))
    headless = max(headless_rates)
    worker = max(r.rate for r in bare)
    with_ui = max(r.rate for r in runs)
    # Runs next to each other share the machine's mood: their ratio is steadier than
    # a ratio of bests when other processes come and go.
    paired = sorted(r.rate / h for r, h in zip(runs, headless_rates))
    print(f"  training, headless (Trainer.run)       {headless:9.0f} steps/s")
    print(f"  training, worker thread, no dashboard  {worker:9.0f} steps/s")
    print(f"  training, dashboard open               {with_ui:9.0f} steps/s   "
          f"{with_ui / headless:6.1%} of headless (bar: >= 90%), {with_ui / worker:.1%} of the "
          f"worker alone; the UI thread used {np.median([r.ui_share for r in runs]):.0%} of a core")
    print(f"    dashboard / headless, run by run      {np.median(paired):9.1%} median "
          f"({', '.join(f'{p:.0%}' for p in paired)})")
    # CPU time is steadier than wall time on a shared machine: what a step costs the
    # trainer's thread, and what the UI thread spends per second of training.
    print(f"    CPU per step: headless {np.median(headless_cpu) * 1e6:.0f} us, worker alone "
          f"{np.median([r.worker_cpu for r in bare]) * 1e6:.0f} us, dashboard open "
          f"{np.median([r.worker_cpu for r in runs]) * 1e6:.0f} us; UI thread "
          f"{np.median([r.ui_share for r in runs]) * 1e3:.0f} ms per second of training "
          f"({np.median([r.ui_share for r in bare]) * 1e3:.0f} ms without the dashboard)")
    stalls = sorted(r.stall for r in beats)
    print(f"  longest UI event-loop stall, training  {stalls[0]:9.1f} ms        (bar: < 50 ms; "
          f"best run of {args.repeats}, worst {stalls[-1]:.1f} ms; 1 ms heartbeat; 99th "
          f"percentile gap {min(r.stall_p99 for r in beats):.1f} ms)")
    print(f"    same, event loop without dashboard   {min(r.stall for r in bare_beats):9.1f} ms"
          f"        (what the machine and the GIL cost alone)")
    times = redraw_times(app, 100_000)
    print(f"  100,000-point loss curve redraw        {np.median(times):9.1f} ms median, "
          f"{times.max():.1f} ms max (bar: < 16 ms; setData with smoothing + paint)")


if __name__ == "__main__":
    main()
