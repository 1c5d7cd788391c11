"""Trains a document in a child process, so that the window's drawing never slows training.

    run = TrainingProcess(document, base_dir=folder)   # spawns the worker; follows the document
    run.start()                    # or start(UNTIL_STOPPED), step(), pause(), resume(), stop()
    run.set_max_rate(5.0); run.until_stopped(True)       # live, applied between two steps
    run.poll()                     # at the reader's frame rate: metrics in, state updated
    run.metrics.snapshot()         # a TrainingMetrics in this process, as the Trainer's
    run.state, run.message, run.steps_done, run.alive   # as the Trainer has them
    run.fetch_parameters()         # {name: numpy array}, asked of the worker on demand
    run.snapshots.get(step)        # the worker's step snapshots (runtime.snapshots), on demand
    run.health                     # its gradient-health samples (runtime.health), as they come
    run.close()

The same controls as the in-thread `Trainer` (the worker runs exactly that Trainer), over two
channels: commands go down a pipe and are applied at the worker's next step boundary (the
Trainer's own thread control, live document edits as `Trainer.push_edit` of the edited
copy); everything the worker measures comes back through a `SharedRing` as the
`MetricsPublisher` sends it, and `poll()` replays it into `metrics`. Neither side waits for
the other: the worker's speed does not depend on how often or how slowly the window draws.

The worker is a fresh interpreter (`python -c ...`, with this gradstudio first on its path):
nothing of the window's process is copied or re-imported (no Qt, no threads, not the
program's main script, which multiprocessing's spawn would run again). It inherits two file
descriptors: the ring's shared memory and its end of the command pipe; it ends when the
window's end of the pipe closes, so a window that dies leaves no worker behind.

Why a process: in a thread, every call the window makes into Qt while drawing hands the GIL
to the trainer and back, and each handoff costs both far more than the work between them
(benchmarks/bench_dashboard.py prints both side by side).

A worker that dies (killed, out of memory, a crash in native code) is noticed by `poll()`:
the run stops with the reason in `message`, the metrics received so far stay, and a new
TrainingProcess can start. A Stop that the worker does not honour within STOP_GRACE_S (a
step that takes that long) ends the process.
"""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

import numpy as np

from gradstudio.graph import fileio
from gradstudio.graph.document import Change, Document
from gradstudio.graph.training_setup import TrainingSetup
from gradstudio.runtime.metrics import (MetricsPublisher, MetricsReceiver, SharedRing,
                                        TrainingMetrics)
from gradstudio.runtime.training import HEALTH_SAMPLES, UNTIL_STOPPED, describe_change

SNAPSHOT_QUESTIONS = ("steps", "get", "diff", "held_text", "set_budget", "budget")
COMMANDS = ("start", "pause", "resume", "step", "stop", "set_max_rate", "until_stopped")
REPORT_S = 0.05          # the worker reports its state this often (and after every command)
CLOSING_STOP_S = 1.0     # at close, how long the worker waits for its step to end


class TrainingProcess:
    """A `Trainer` for `document` in a child process; see the module doc. `watch`: follow
    the document's later edits. Raises GraphError at once for a bad training setup."""

    STOP_GRACE_S = 3.0
    CLOSE_WAIT_S = CLOSING_STOP_S + 1.0

    def __init__(self, document: Document, metrics: TrainingMetrics | None = None, *,
                 base_dir: str | None = None, watch: bool = True, histogram_every: int = 25,
                 ring_capacity: int = 8 << 20) -> None:
        self.setup = TrainingSetup.from_document(document)       # GraphError now, not later
        self.metrics = metrics if metrics is not None else TrainingMetrics()
        self.state = "idle"
        self.message = ""
        self.steps_done = 0
        self.target_steps: float | None = None
        self._total: float | None = self.setup.steps if self.setup.epochs is None else None
        self.max_rate: float | None = None
        self.warnings: collections.deque[str] = collections.deque(maxlen=50)
        self.log: collections.deque[str] = collections.deque(maxlen=200)
        self.health: collections.deque = collections.deque(maxlen=HEALTH_SAMPLES * 10)
        self.snapshots = RemoteSnapshots(self)     # the worker's SnapshotStore, on demand
        self.died = False               # the worker ended without being asked to
        self._sent = 0                  # commands sent
        self._acknowledged = 0          # commands the worker has reported handling
        self._awaited = 0               # the command number of the last start or step
        self._running = False           # the worker's Trainer thread, as last reported
        self._stop_sent_at: float | None = None
        self._closed = False
        self._request = 0
        self.ring = SharedRing(ring_capacity)
        self._receiver = MetricsReceiver(self.ring, self.metrics)
        self._conn, child_end = Pipe()
        try:
            self._process = _spawn_worker(self.ring.fileno(), child_end.fileno())
        except (OSError, ValueError) as exc:        # ValueError: no pass_fds (Windows)
            self._conn.close()
            self.ring.close()
            raise OSError(f"cannot start the training worker: {exc}") from exc
        finally:
            child_end.close()
        self._send("open", fileio.to_json(document), base_dir, histogram_every)
        self._sent = self._acknowledged = 0       # "open" is answered by the first report
        self._watch = document if watch else None
        if self._watch is not None:
            self._watch.subscribe(self._on_watched_change)

    # ================================================================== control
    def start(self, steps: float | None = None) -> None:
        self.target_steps = None if steps is None else self.steps_done + steps
        self._send("start", steps, awaited=True)

    def step(self) -> None:
        self._send("step", awaited=True)

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def stop(self, timeout: float | None = None) -> None:
        """Asks the worker to stop at its next step boundary; returns at once (or, with
        `timeout`, once it stopped or the time passed). See STOP_GRACE_S."""
        if self._stop_sent_at is None and self.alive:
            self._stop_sent_at = time.monotonic()
        self._send("stop")
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while self.poll().alive and time.monotonic() < deadline:
                time.sleep(0.005)

    def set_max_rate(self, steps_per_sec: float | None) -> None:
        self.max_rate = steps_per_sec or None
        self._send("set_max_rate", self.max_rate)

    def until_stopped(self, on: bool) -> None:
        self.target_steps = UNTIL_STOPPED if on else None
        self._send("until_stopped", on)

    def wait(self, timeout: float | None = None) -> bool:
        """Polls until the run is no longer alive; True when it ended within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.poll()
            if not self.alive:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)

    @property
    def alive(self) -> bool:
        """Training or paused (or a Start / Step the worker has not reported yet)."""
        if self._closed or self.died:
            return False
        return self._acknowledged < self._awaited or self._running

    def total_steps(self) -> float | None:
        """Where the run ends, as the worker last said (see Trainer.total_steps)."""
        if self.target_steps is not None and self._acknowledged < self._sent:
            return self.target_steps            # a start or until_stopped not reported yet
        return self._total

    @property
    def pid(self) -> int:
        return self._process.pid

    def _worker_alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        """Ends the worker (waiting CLOSE_WAIT_S at most, then killing it) and stops
        following the document. The metrics received stay readable."""
        if self._watch is not None:
            self._watch.unsubscribe(self._on_watched_change)
            self._watch = None
        if self._closed:
            return
        self.poll()
        self._send("close")
        self._closed = True
        self._conn.close()                # the worker also ends when it sees the pipe close
        try:
            self._process.wait(self.CLOSE_WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._take_in()                   # the worker's last words: how it stopped
        self.ring.close()

    def fetch_parameters(self, timeout: float = 5.0) -> dict[str, np.ndarray]:
        """The trained parameters' values, asked of the worker (it answers between two
        steps). TimeoutError when it does not answer within `timeout` seconds."""
        return self.ask("fetch_parameters", timeout=timeout)

    def ask(self, question: str, *args: Any, timeout: float = 5.0) -> Any:
        """The worker's answer to `question` ("fetch_parameters", or "snapshots" with a
        SnapshotStore method and its arguments); TimeoutError when none comes in time (or
        the worker is gone), the worker's exception when it raised one."""
        self._request += 1
        if self._closed or self.died:
            raise TimeoutError("the training worker has ended")
        self._send(question, self._request, *args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._worker_alive():
            if self._conn.poll(0.01):
                request, ok, answer = self._conn.recv()
                if request == self._request:
                    if not ok:
                        raise answer
                    return answer
        raise TimeoutError(f"the training worker did not answer {question}")

    def _send(self, command: str, *args: Any, awaited: bool = False) -> None:
        if self._closed or self.died:
            return
        try:
            self._conn.send((command, args))
        except (BrokenPipeError, EOFError, OSError):
            self.poll()                 # the worker is gone: poll says why
            return
        self._sent += 1
        if awaited:
            self._awaited = self._sent

    # ================================================================== reading
    def poll(self) -> "TrainingProcess":
        """Takes in what the worker sent (metrics into `metrics`, its state, warnings and
        log lines) and notices its death; cheap when nothing came. Returns self."""
        if self._closed:
            return self
        self._take_in()
        if not self.died and not self._worker_alive():
            self._died(self._exit_reason())
        elif self._stop_sent_at is not None and \
                time.monotonic() - self._stop_sent_at > self.STOP_GRACE_S:
            self._process.kill()
            self._process.wait()
            self._died(f"the step did not end within {self.STOP_GRACE_S:g} s of Stop, so the "
                       f"worker was ended", stopped_by_user=True)
        return self

    def _take_in(self) -> None:
        """What the worker sent: metrics into `metrics`, its state, warnings, log lines."""
        for kind, data in self._receiver.drain():
            if kind == "state":
                self.state, self.message = data["state"], data["message"]
                self.steps_done = data["steps_done"]
                self._running, self._acknowledged = data["running"], data["handled"]
                self.target_steps, self._total = data["target_steps"], data["total"]
                if not self._running:
                    self._stop_sent_at = None
            elif kind == "warning":
                self.warnings.append(data["text"])
            elif kind == "log":
                self.log.extend(data["lines"])
            elif kind == "health":
                self.health.extend(data["samples"])
        self.steps_done = max(self.steps_done, self.metrics.step + 1)

    def _exit_reason(self) -> str:
        code = self._process.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if -code == signal.SIGKILL:
                return f"the training worker was killed ({name}: out of memory, or ended " \
                       f"from outside)"
            return f"the training worker crashed ({name})"
        return f"the training worker ended unexpectedly (exit code {code})"

    def _died(self, reason: str, stopped_by_user: bool = False) -> None:
        self._take_in()                                  # its last whole frames
        self._running = False
        self._stop_sent_at = None
        self.state = "stopped"
        self.message = f"stopped at step {self.steps_done}: {reason}" if stopped_by_user else \
            f"stopped: {reason} at step {self.steps_done}; the metrics so far are kept"
        self.metrics.add_marker(max(0, self.steps_done - 1), self.message)
        self.died = True

    def _on_watched_change(self, change: Change) -> None:
        if change.what == "node_changed" and change.key == "pos":
            return
        self._send("edit", fileio.to_json(self._watch), describe_change(self._watch, change))


# ====================================================================== the worker process
def _spawn_worker(ring_fd: int, conn_fd: int) -> subprocess.Popen:
    """A fresh interpreter running `worker_entry`, this gradstudio first on its path."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    code = "from gradstudio.runtime.training_process import worker_entry; worker_entry()"
    return subprocess.Popen([sys.executable, "-c", code, str(ring_fd), str(conn_fd)],
                            pass_fds=(ring_fd, conn_fd), env=env, stdin=subprocess.DEVNULL)


def worker_entry() -> None:
    """The worker process's start: its two inherited descriptors are in sys.argv."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl+C is for the window's process
    ring_fd, conn_fd = int(sys.argv[1]), int(sys.argv[2])
    worker_main(SharedRing.attach(ring_fd), Connection(conn_fd))


def worker_main(ring: SharedRing, conn: Any) -> None:
    """A Trainer (in its own thread, as in the window's process) driven by the commands on
    `conn` (the first is "open" with the document), publishing into `ring`; ends at
    "close" or when the window's end of the pipe closes."""
    from gradstudio.runtime.session import Session
    from gradstudio.runtime.training import Trainer

    out = MetricsPublisher(ring)
    handled = 0
    try:
        command, (document_json, base_dir, histogram_every) = conn.recv()
        document = fileio.from_json(document_json)
        setup = TrainingSetup.from_document(document)
        session = Session(document, device=setup.device, base_dir=base_dir, fallback=True)
        trainer = Trainer(session, out, histogram_every=histogram_every)
    except (EOFError, OSError):
        return
    except Exception as exc:                                 # noqa: BLE001 - reported
        _refuse_until_closed(conn, out, f"stopped: cannot train: {exc}")
        return
    for text in session.messages:                             # e.g. no cuda: on the cpu
        out.event("warning", text=text)
    session.messages.clear()
    reported = last_health = None
    while True:
        command = None
        try:
            if conn.poll(REPORT_S):
                command, args = conn.recv()
        except (EOFError, OSError):
            command = "close"
        if command == "close":
            trainer.stop(timeout=CLOSING_STOP_S)     # a step boundary, if one comes soon
            out.event("state", state=trainer.state, message=trainer.message,
                      steps_done=trainer.steps_done, running=trainer.alive, handled=handled,
                      target_steps=trainer.target_steps, total=trainer.total_steps())
            break
        if command is not None:
            handled += 1
            _handle(trainer, out, conn, command, args)
        while trainer.warnings:
            out.event("warning", text=trainer.warnings.popleft())
        if trainer.log:
            out.event("log", lines=list(trainer.log))
            trainer.log.clear()
        health = list(trainer.health)                 # one C call: safe beside the trainer
        fresh = health[next((i + 1 for i in range(len(health) - 1, -1, -1)
                             if health[i] is last_health), 0):]
        if fresh:
            out.event("health", samples=fresh)
            last_health = fresh[-1]
        state = (trainer.state, trainer.message, trainer.steps_done, trainer.alive, handled,
                 trainer.target_steps, trainer.total_steps())
        if state != reported:
            reported = state
            out.event("state", state=state[0], message=state[1], steps_done=state[2],
                      running=state[3], handled=state[4], target_steps=state[5],
                      total=state[6])
        out.flush()
    out.flush()


def _handle(trainer: Any, out: MetricsPublisher, conn: Any, command: str, args: tuple) -> None:
    if command == "edit":
        try:
            trainer.push_edit(fileio.from_json(args[0]), args[1])
        except Exception as exc:                             # noqa: BLE001 - reported
            out.event("warning", text=f"an edit did not reach training: {exc}")
    elif command in ("fetch_parameters", "snapshots"):
        request, *question = args
        try:
            if command == "fetch_parameters":       # never blocks the worker's reading long
                answer = trainer.fetch_parameters(timeout=CLOSING_STOP_S)
            elif trainer.snapshots is None or question[0] not in SNAPSHOT_QUESTIONS:
                answer = None
            else:
                method, *arguments = question
                answer = getattr(trainer.snapshots, method)
                answer = answer(*arguments) if callable(answer) else answer
            conn.send((request, True, answer))
        except Exception as exc:                             # noqa: BLE001 - the asker's
            conn.send((request, False, exc))
    elif command == "stop":
        trainer.stop(timeout=0)
    elif command in COMMANDS:
        getattr(trainer, command)(*args)


def _refuse_until_closed(conn: Any, out: MetricsPublisher, message: str) -> None:
    """A worker that could not make its trainer says why, and again after every command
    (so that the window knows each was handled), until it is closed."""
    handled, command = 0, None
    while command != "close":
        out.event("state", state="stopped", message=message, steps_done=0, running=False,
                  handled=handled, target_steps=None, total=None)
        out.flush()
        try:
            command = conn.recv()[0]
        except (EOFError, OSError):
            return
        handled += 1


class RemoteSnapshots:
    """The worker's `SnapshotStore` (runtime.snapshots), read from the window's process:
    each call is a question to the worker, answered between two of its steps. A worker that
    keeps no snapshots, has ended or does not answer within TIMEOUT_S reads as empty."""

    TIMEOUT_S = 2.0

    def __init__(self, run: TrainingProcess) -> None:
        self._run = run

    def _ask(self, method: str, *args: Any, empty: Any = None) -> Any:
        try:
            answer = self._run.ask("snapshots", method, *args, timeout=self.TIMEOUT_S)
        except TimeoutError:
            return empty
        return empty if answer is None else answer

    @property
    def budget(self) -> int:
        return self._ask("budget", empty=0)

    def set_budget(self, budget_bytes: int) -> None:
        self._ask("set_budget", budget_bytes)

    def steps(self) -> list[int]:
        return self._ask("steps", empty=[])

    def get(self, step: int) -> Any:
        return self._ask("get", step)

    def diff(self, step: int) -> Any:
        return self._ask("diff", step)

    def held_text(self) -> str:
        return self._ask("held_text", empty="held: nothing (the training worker has ended)")
