"""The training dashboard's cost, measured side by side in one run (figures printed, no asserts).

Four ways to train the same document, alternated so that a busy moment of a shared machine
hits each of them: headless (`Trainer.run` in this thread, as `gradstudio run`), the Trainer
in a worker thread with the dashboard open (paced to THREAD_UI_SHARE of a core, and again
paced as a process run is, to PROCESS_UI_SHARE), the Trainer in a child process
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
from gradstudio.ui import dashboard as dashboard_module  # noqa: E402
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


def headless_rate(example: str, steps: int) -> tuple[float, float, float]:
    """Steps per second, CPU seconds per step, and steps per second with a free core."""
    trainer = Trainer.for_document(load(example, steps))
    free = FreeCoreRate()
    trainer._prepare()
    free.sample(0, os.getpid(), threading.get_native_id())
    cpu = time.thread_time()
    trainer.run()
    free.sample(trainer.steps_done, os.getpid(), threading.get_native_id())
    return (trainer_rate(trainer.metrics), (time.thread_time() - cpu) / trainer.steps_done,
            free.rate)


def schedstat(pid: int, tid: int) -> tuple[float, float]:
    """A thread's (seconds on a CPU, seconds runnable but waiting for one) so far (Linux)."""
    with open(f"/proc/{pid}/task/{tid}/schedstat") as stat:
        on_cpu, waiting, _ = stat.read().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


class FreeCoreRate:
    """Steps per second with the time a worker waited for a CPU taken out: what it would
    make with a core of its own. The machine's other load makes a thread wait on the run
    queue; the dashboard makes a thread worker sleep (parked for a frame, waiting for the
    GIL), which counts. Fed samples (wall time, steps done, the thread's run-queue wait)."""

    def __init__(self) -> None:
        self.first = self.last = None

    def sample(self, steps: int, pid: int, tid: int) -> None:
        try:
            waiting = schedstat(pid, tid)[1]
        except OSError:            # the thread has ended: the last sample stands
            return
        point = (time.perf_counter(), steps, waiting)
        if self.first is None:
            self.first = point
        self.last = point

    @property
    def rate(self) -> float:
        if self.first is None or self.last[1] <= self.first[1]:
            return float("nan")
        wall = self.last[0] - self.first[0] - (self.last[2] - self.first[2])
        return (self.last[1] - self.first[1]) / wall


def worker_tid(trainer) -> tuple[int, int]:
    """(pid, tid) of the thread that trains: a thread of this process, or the newest thread
    of a worker process (its main thread reads commands; the Trainer starts the other)."""
    if isinstance(trainer, Trainer):
        return os.getpid(), trainer._thread.native_id
    return trainer.pid, max(int(t) for t in os.listdir(f"/proc/{trainer.pid}/task"))


def child_cpu(pid: int) -> float:
    """CPU seconds a process has used so far (Linux: /proc/PID/stat, user + system)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
                 dashboard: bool, heartbeat: bool, ui_share: float | None = None) -> None:
        board = trainer = None
        doc = load(example, steps)
        if dashboard:                    # trained through the Start button's code path
            board = TrainingDashboard()
            board.worker = worker
            if ui_share is not None:     # a thread run drawn as often as a process run
                board.ui_share = lambda: ui_share
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
        frame_cpu = [0.0]         # the longest frame's CPU time: its stall with a free core
        if board is not None:
            real_refresh, real_tick = board.refresh, board._tick

            def tick():
                cpu = time.thread_time()
                real_tick()
                frame_cpu[0] = max(frame_cpu[0], time.thread_time() - cpu)
            board.timer.timeout.disconnect()
            board.timer.timeout.connect(tick)

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
        free = FreeCoreRate()
        where: list[tuple[int, int]] = []

        def sample() -> None:     # 10 times a second, from the first 50 steps on
            if trainer.poll().steps_done < 50:
                return
            if not where:
                where.append(worker_tid(trainer))
            free.sample(trainer.steps_done, *where[0])
        sampler = QTimer()
        sampler.setInterval(100)
        sampler.timeout.connect(sample)
        sampler.start()
        start = time.perf_counter()
        ui_cpu, process_cpu = time.thread_time(), time.process_time()
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
        sampler.stop()
        self.free_rate = free.rate
        trainer.poll()
        ui_cpu = time.thread_time() - ui_cpu
        if worker == "thread":     # the process's other CPU time is the worker's
            worker_cpu = time.process_time() - process_cpu - ui_cpu
        else:                      # the child's whole life: start-up included
            worker_cpu = child_cpu(trainer.pid)
        self.cpu_per_step = worker_cpu / max(1, trainer.steps_done)
        self.ui_share = ui_cpu / elapsed
        self.rate = trainer_rate(trainer.metrics)
        self.wall_rate = trainer.steps_done / elapsed
        self.fps = {k: n / elapsed for k, n in board.frames.items()} if board else {}
        self.same_step = same_step
        self.frame_cpu = frame_cpu[0] * 1e3
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
    kinds = {"thread + dashboard": ("thread", True, None),
             "thread, process's rate": ("thread", True, dashboard_module.PROCESS_UI_SHARE),
             "process alone": ("process", False, None),
             "process + dashboard": ("process", True, None)}
    headless, runs, stalls = [], {k: [] for k in kinds}, {k: [] for k in kinds}
    headless_cpu, headless_free = [], []
    for _ in range(args.repeats):
        rate, cpu, free = headless_rate(args.example, args.steps)
        headless.append(rate)
        headless_cpu.append(cpu)
        headless_free.append(free)
        for name, (worker, board, share) in kinds.items():
            runs[name].append(Run(app, args.example, args.steps, worker, board, False, share))
        for name, (worker, board, share) in kinds.items():     # "process alone": the
            stalls[name].append(Run(app, args.example, args.steps, worker, board, True,  # loop
                                    share).stall)                # with nothing to draw
    print(f"  {'':22} {'free core':>9} {'of headless':>11} {'steps/s':>8} {'of headless':>11} "
          f"{'CPU/step':>8} {'UI core':>7} {'stall':>8} {'frame':>8}  "
          f"frames/s per plot (frames showing one step)")
    print(f"  {'headless':22} {np.median(headless_free):9.0f} {'100%':>11} "
          f"{np.median(headless):8.0f} {'100%':>11} {np.median(headless_cpu) * 1e6:6.0f}us")
    for name, kind_runs in runs.items():
        # each run against the headless run just before it: the pair shares the machine's mood
        paired = [r.rate / h for r, h in zip(kind_runs, headless)]
        free = [r.free_rate / h for r, h in zip(kind_runs, headless_free)]
        line = (f"  {name:22} {np.median([r.free_rate for r in kind_runs]):9.0f} "
                f"{np.median(free):11.1%} {np.median([r.rate for r in kind_runs]):8.0f} "
                f"{np.median(paired):11.1%} "
                f"{np.median([r.cpu_per_step for r in kind_runs]) * 1e6:6.0f}us "
                f"{np.median([r.ui_share for r in kind_runs]):7.0%}")
        line += f" {min(stalls[name]):5.0f} ms "
        if kind_runs[0].fps:
            line += f"{np.median([r.frame_cpu for r in kind_runs]):5.0f} ms  "
            fps = {k: np.median([r.fps.get(k, 0.0) for r in kind_runs]) for k in kind_runs[0].fps}
            same = sum(r.same_step[0] for r in kind_runs), sum(r.same_step[1] for r in kind_runs)
            line += ", ".join(f"{k} {v:.0f}" for k, v in fps.items())
            line += f"  ({same[0]} of {same[1]} frames)"
        print(line)
    process = runs["process + dashboard"]
    print("  (free core: steps/s less the time the worker waited on the run queue for a CPU, "
          "as on a machine with a core free for it (from /proc/*/schedstat; the dashboard's "
          "parking and GIL waits count); steps/s: the trainer's own half-second windows, on "
          "this machine as loaded; of headless: the median of each run over the headless run "
          "just before it; CPU/step: the worker's thread, or the worker process's whole life; "
          "UI core: the UI thread's CPU over the run's wall time; stall: the longest gap of a 1 ms "
          "heartbeat, best run; frame: the longest frame's CPU time, what it stalls the event "
          "loop on a free core)")
    for name, kind_runs in runs.items():
        print(f"    {name}: free-core ratios run by run "
              f"{' '.join(f'{r.free_rate / h:.0%}' for r, h in zip(kind_runs, headless_free))}"
              f"; loaded {' '.join(f'{r.rate / h:.0%}' for r, h in zip(kind_runs, headless))}")
    print(f"  (process runs: wall-clock steps/s from Start, with the worker's start-up: "
          f"{np.median([r.wall_rate for r in process]):.0f}; longest stalls: best of "
          f"{args.repeats}, worst thread {max(stalls['thread + dashboard']):.1f} ms, worst "
          f"process {max(stalls['process + dashboard']):.1f} ms)")
    times = redraw_times(app, 100_000)
    print(f"  100,000-point loss curve redraw {np.median(times):.1f} ms median, "
          f"{times.max():.1f} ms max (bar: < 16 ms; setData with smoothing + paint)")


if __name__ == "__main__":
    main()
