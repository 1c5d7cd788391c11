"""Running a user's script on the engine in a worker process, from the window or the CLI.

    run = ScriptRun("train.py", steps=100)
    run.start()
    for event in run.events(timeout=None):     # until the worker is done
        ...                                     # ("output", ...), ("step", {...}), ...
    run.result.document                          # the recorded pass (a Document) or None

A process, not a thread: `import torch` resolves to the engine only inside it (gradstudio's
own process never imports torch under that name), a script that never returns is ended by
`stop()` at any moment, and a crash in the script cannot take the window down. Starting one
costs a fresh interpreter importing NumPy and the engine (measured by
benchmarks/bench_scripts.py); a run is long next to that.

`feed_metrics(event, metrics)` writes a worker's training events into the dashboard's
`TrainingMetrics`, so the same plots show a script's training as a graph's.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Iterator

from gradstudio.graph import fileio
from gradstudio.graph.document import Document

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class ScriptResult:
    status: str = "running"          # running, finished, error, stopped
    error: str | None = None         # the one line a person reads
    error_kind: str | None = None    # missing, syntax, exception
    details: str = ""                # the script's own traceback (its frames only)
    document: Document | None = None
    document_text: str | None = None
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    iteration: int | None = None
    iterations: int = 0
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)


class ScriptRun:
    def __init__(self, path: str | os.PathLike, steps: int | None = None,
                 iteration: int | None = None, record: bool = True,
                 argv: list[str] | None = None, paused: bool = False) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.config = {"path": self.path, "steps": steps, "iteration": iteration,
                       "record": record, "argv": list(argv or []), "paused": paused}
        self.result = ScriptResult()
        self.process: subprocess.Popen | None = None
        self._events: Connection | None = None
        self._control: Connection | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        ev_read, ev_write = os.pipe()
        ctl_read, ctl_write = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                     else "")
        env.pop("QT_QPA_PLATFORM", None)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gradstudio.runtime.script_worker", str(ev_write),
                 str(ctl_read)],
                pass_fds=(ev_write, ctl_read), stdin=subprocess.DEVNULL,
                stdout=_stderr_fd(), stderr=_stderr_fd(), env=env,
                cwd=os.path.dirname(self.path))
        finally:
            os.close(ev_write)
            os.close(ctl_read)
        self._events = Connection(ev_read, writable=False)
        self._control = Connection(ctl_write, readable=False)
        self._control.send(self.config)

    @property
    def running(self) -> bool:
        return self.result.status == "running" and self.process is not None

    def send(self, *order: Any) -> bool:
        """An order to the worker: ("pause",), ("resume",), ("step",), ("lr", 0.01),
        ("clip", "norm", 1.0), ("clip", None, 0), ("freeze", "fc1.weight", True)."""
        if self._control is None or not self.running:
            return False
        try:
            self._control.send(tuple(order))
        except (BrokenPipeError, OSError):
            return False
        return True

    def pause(self) -> bool:
        return self.send("pause")

    def resume(self) -> bool:
        return self.send("resume")

    def step(self) -> bool:
        return self.send("step")

    def stop(self, grace: float = 1.0) -> None:
        """Ends the run now: asks the worker, then ends the process if it does not stop
        within `grace` seconds (a script stuck in a loop of its own)."""
        if self.process is None:
            return
        self.send("stop")
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.result.status == "running":
            self.result.status = "stopped"
        self._drain()
        self.close()

    def close(self) -> None:
        for conn in (self._events, self._control):
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass
        self._events = self._control = None
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    # ------------------------------------------------------------------ events
    def poll(self, timeout: float = 0.0) -> list[tuple]:
        """The events that arrived (waiting up to `timeout` for the first one)."""
        got: list[tuple] = []
        if self._events is None:
            return got
        try:
            if not self._events.poll(timeout):
                self._check_exit()
                return got
            while True:
                event = self._events.recv()
                self._note(event)
                got.append(event)
                if not self._events.poll(0):
                    break
        except (EOFError, OSError):
            self._check_exit(eof=True)
        return got

    def events(self, timeout: float | None = None) -> Iterator[tuple]:
        """Every event until the worker is done (or `timeout` seconds passed: then stopped)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running:
            if deadline is not None and time.monotonic() > deadline:
                self.stop()
                break
            yield from self.poll(0.1)

    def wait(self, timeout: float | None = None) -> ScriptResult:
        for _ in self.events(timeout):
            pass
        self.close()
        return self.result

    def _drain(self) -> None:
        if self._events is None:
            return
        try:
            while self._events.poll(0):
                self._note(self._events.recv())
        except (EOFError, OSError):
            pass

    def _note(self, event: tuple) -> None:
        kind, result = event[0], self.result
        if kind == "output":
            (result.stdout if event[1] == "stdout" else result.stderr).append(event[2])
        elif kind == "step":
            if event[1].get("loss") is not None:
                result.losses.append(event[1]["loss"])
            result.steps = event[1]["step"] + 1
        elif kind == "error":
            result.error_kind, result.error, result.details = event[1], event[2], event[3]
        elif kind == "document":
            result.document_text = event[1]
            result.iteration = event[2].get("iteration")
            result.iterations = event[2].get("iterations", 0)
            try:
                result.document = fileio.loads(event[1])
            except fileio.FileFormatError as exc:
                result.error_kind = result.error_kind or "exception"
                result.error = result.error or f"the recorded graph is not valid: {exc}"
        elif kind == "done":
            result.status = event[1]

    def _check_exit(self, eof: bool = False) -> None:
        if self.process is None:
            return
        code = self.process.poll()
        if eof and code is None:
            code = self.process.wait()
        if code is not None and self.result.status == "running":
            self.result.status = "error"
            self.result.error = self.result.error or \
                f"the script's process ended unexpectedly (exit status {code})"


def _stderr_fd() -> int | None:
    """Where the worker's own low-level output goes: this process's stderr."""
    try:
        return sys.__stderr__.fileno()
    except (AttributeError, OSError, ValueError):
        return subprocess.DEVNULL


def feed_metrics(event: tuple, metrics) -> None:
    """Writes one worker event into a TrainingMetrics (the dashboard's buffers)."""
    kind = event[0]
    if kind == "step":
        data = event[1]
        if data.get("loss") is None:
            return
        metrics.record_step(data["step"], loss=data["loss"], lr=data.get("lr"),
                            grad_norm_pre_clip=data.get("grad_norm_pre_clip"),
                            grad_norm_post_clip=data.get("grad_norm_post_clip"),
                            grad_norms=data.get("grad_norms"),
                            update_ratios=data.get("update_ratios"),
                            steps_per_sec=data.get("steps_per_sec"))
    elif kind == "histograms":
        metrics.record_histograms(event[1], grads=event[2], weights=event[3])
    elif kind == "marker":
        metrics.add_marker(event[1], event[2])


def run_script(path: str | os.PathLike, steps: int | None = None, iteration: int | None = None,
               timeout: float | None = None, echo=None) -> ScriptResult:
    """Runs a script to its end (the CLI's way); `echo(stream, text)` gets its output."""
    run = ScriptRun(path, steps=steps, iteration=iteration)
    run.start()
    try:
        for event in run.events(timeout):
            if event[0] == "output" and echo is not None:
                echo(event[1], event[2])
    finally:
        run.close()
    return run.result
