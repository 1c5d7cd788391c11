"""Trains a document's model on its data, in a worker thread or headless, into TrainingMetrics.

    trainer = Trainer.for_document(doc)       # its own copy of the document, and its Session
    trainer.start()                            # a worker thread; the caller never waits
    trainer.start(UNTIL_STOPPED)               # or: train until stop() (`steps` more otherwise)
    trainer.pause(); trainer.resume(); trainer.step(); trainer.stop()
    trainer.set_max_rate(5.0)                  # at most 5 steps a second (None: as fast as it can)
    trainer.state, trainer.message             # "running" / "paused" / "finished" / "stopped"
    trainer.fetch_parameters()                 # {name: numpy copy} of the trained parameters
    trainer.metrics.snapshot_if_newer(version) # what the dashboard draws (runtime.metrics)

    result = train(session, steps=200)         # headless, in this thread (`gradstudio run`)
    result.losses, result.summary()

The setup is the document's meta["training"] (gradstudio.graph.training_setup). The model is
every layer and parameter node the loss depends on: a layer's parameters are named
"<label>.<name>" ("fc1.weight"), a parameter leaf by its label.

Preparing: the data node runs once on its own parameters; its x and y are split with
`numpy.random.default_rng(seed)`: a permutation of all rows, the first
round(n * validation_split) of it held out for validation, the rest the training split in
that order. Each epoch draws a permutation of the training split from the same generator
(batch_size 0 or at least the split's size: the whole split in order, no draw) and cuts it
into batches of batch_size (the last may be smaller).

One step, in this order:
  1. edits made to the watched document since the last step are applied (a change marker
     for each: learning rate, clipping, freezing, hooks, detach, any other edit);
  2. the batch is fed to the data node (`Session.feed`) and the graph runs forward;
  3. every parameter's .grad is set to None, then backward runs from the loss node;
  4. frozen parameters (training.frozen, whole nodes) have requires_grad False, so no grad;
  5. clipping: clip_grad_norm_(max_norm) or clip_grad_value_(clip_value) over all parameters;
  6. optimizer.step(); per-step metrics are recorded; every `histogram_every` steps (from
     step 0) and at the last step the gradient and weight histograms; every eval_every steps
     and at the last step, with modules in eval mode, the validation loss, the accuracy (on
     the validation split, or the training split without one) and, for 2-D inputs, the
     decision boundary;
  7. a loss that is nan or infinite stops training (after its metrics are recorded).

`train` (headless) then gives the data node its whole x and y back, sets every .grad to
None and runs the graph once more, forward and backward from the root, so the nodes show
the trained model. It trains on the session's device (`gradstudio run --device`); a
trainer made by `for_document` uses the setup's device.

When the GPU runs out of memory in a step (or in preparing or evaluating), the session,
the layers, the trained parameters and the optimizer's state move to the cpu, a change
marker and a warning (`trainer.warnings`) say so, and the same step runs again there.

A failing step stops training with a message naming the node ("stopped: node 'fc2':
linear: ..."); the worker thread ends and the trainer's state stays readable. Node gradient
hooks (`Node.hooks`) act as the Session registers them; a parameter leaf that re-runs
because only its hooks changed keeps its trained values.
"""
from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from gradstudio.graph.catalog import engine_attr
from gradstudio.graph.document import Change, Document
from gradstudio.graph.training_setup import TrainingSetup, TrainingSetupError
from gradstudio.runtime.devices import is_out_of_memory
from gradstudio.runtime.health import Health, layer_health
from gradstudio.runtime.snapshots import DEFAULT_BUDGET, SnapshotStore, take_snapshot
from gradstudio.runtime.metrics import DecisionBoundary, TrainingMetrics
from gradstudio.runtime.session import RunError, Session, first_line
from .host import host_values

CLASS_LOSSES = ("cross_entropy", "nll_loss")                        # targets are class indices
BINARY_LOSSES = {"binary_cross_entropy": 0.5, "binary_cross_entropy_with_logits": 0.0}
BOUNDARY_GRID = 60                                                  # points per side
LEAF_PARAMETER_KINDS = ("parameter", "tensor")
HEALTH_SAMPLES = 10                                                 # per run, with health_every -1
UNTIL_STOPPED = math.inf                    # start(UNTIL_STOPPED) trains until stop()


class TrainingRun(Protocol):
    """What the dashboard drives and reads: a `Trainer` (in a thread of this process) and a
    `TrainingProcess` (a Trainer in a child process) both are one; so can be anything else
    that trains and fills a TrainingMetrics (a script's loop)."""
    metrics: TrainingMetrics
    state: str                  # "idle", "running", "paused", "finished", "stopped"
    message: str                # how it ended ("finished: 400 steps", "stopped: ...")
    steps_done: int
    warnings: collections.deque  # one-line texts for the person (popped by the reader)

    @property
    def alive(self) -> bool: ...                     # running or paused
    def poll(self) -> Any: ...                       # take in news (every frame)
    def start(self, steps: float | None = None) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def step(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    def set_max_rate(self, steps_per_sec: float | None) -> None: ...
    def until_stopped(self, on: bool) -> None: ...
    def total_steps(self) -> float | None: ...
    def fetch_parameters(self) -> dict[str, np.ndarray]: ...


class TrainingError(RunError):
    """A step that cannot run; the message names the node when one is at fault."""


@dataclass
class TrainingResult:
    """What a headless run returns: the per-step losses and the last measurements."""
    losses: list[float]
    accuracy: float | None = None
    val_loss: float | None = None
    grad_norms: dict[str, float] = field(default_factory=dict)       # at the last step
    mean_grad_norms: dict[str, float] = field(default_factory=dict)  # over all steps
    warnings: list[str] = field(default_factory=list)   # e.g. a fall back from cuda to cpu
    health: list[Health] = field(default_factory=list)  # runtime.health, per sampled step

    def summary(self) -> dict[str, Any]:
        return {"steps": len(self.losses),
                "final_loss": self.losses[-1] if self.losses else None,
                "accuracy": self.accuracy, "val_loss": self.val_loss,
                "grad_norms": self.grad_norms, "mean_grad_norms": self.mean_grad_norms}


class StepGate:
    """Lets another thread (the dashboard's) stop the worker between two steps for a moment.

    Why: drawing in the UI thread hands the GIL back and forth with the worker at every call
    into Qt, and each handoff costs both threads far more than the work between them
    (measured: 12 ms of Python every 250 ms cost training 4% in one piece and 12% in 200
    pieces). With the worker parked at a step boundary, a frame runs at once and training
    loses only the frame's own time. It is a hint, never needed for correctness: `hold`
    gives up after `timeout` (a long step, a paused or finished run) and the frame is drawn
    while the worker runs, as without the gate."""

    MAX_PARK_S = 0.2    # a holder that keeps the gate longer (a dialog opened mid-frame, a
                        # stop() waiting for the worker) is ignored until it releases

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._wanted = False                # someone holds (or is asking for) the gate
        self._parked = False                # the worker waits at a step boundary
        self._expired = False               # the current hold outlived MAX_PARK_S

    def hold(self, timeout: float) -> bool:
        """Stops the worker at its next step boundary; True once it waits there (then call
        `release`), False when it did not stop within `timeout` seconds."""
        with self._cond:
            self._wanted = True
            if self._cond.wait_for(lambda: self._parked, timeout):
                return True
            self._wanted = False
            return False

    def release(self) -> None:
        with self._cond:
            self._wanted = self._expired = False
            self._cond.notify_all()

    def boundary(self) -> None:
        """The worker, between two steps: waits here while someone holds the gate (at most
        MAX_PARK_S per hold)."""
        if self._wanted and not self._expired:      # read without the lock: one test a step
            with self._cond:
                if self._wanted and not self._expired:
                    self._parked = True
                    self._cond.notify_all()
                    if not self._cond.wait_for(lambda: not self._wanted, self.MAX_PARK_S):
                        self._expired = True
                    self._parked = False


def train(session: Session, steps: int | None = None, health_every: int = 25) -> TrainingResult:
    """Trains in this thread (the document's steps, or `steps`), then runs the graph once
    more on all the data so its nodes show the trained model. TrainingError on failure.
    health_every: sample runtime.health every that many steps (and at the last; -1: about
    HEALTH_SAMPLES times over the run)."""
    trainer = Trainer(session, keep_losses=True, health_every=health_every, snapshot_budget=0)
    trainer.run(steps)
    trainer.run_on_all_data()
    return trainer.result()


@dataclass
class _Parameter:
    name: str
    node_id: str
    tensor: Any
    params_text: str       # the node's parameters when collected (leaf adoption compares them)


class Trainer:
    """Runs training steps on a Session whose document holds meta["training"].

    watch: a live document (the one the UI edits); its edits reach the trainer's own copy at
    the next step. metrics: where measurements go (a new TrainingMetrics by default).
    keep_losses: also keep every loss in a list (headless runs; the buffers stay bounded)."""

    def __init__(self, session: Session, metrics: TrainingMetrics | None = None, *,
                 watch: Document | None = None, keep_losses: bool = False,
                 histogram_every: int = 25, health_every: int = 25,
                 snapshot_budget: int = DEFAULT_BUDGET) -> None:
        self.session = session
        self.engine = session.engine
        self.setup = TrainingSetup.from_document(session.document)
        self.metrics = metrics if metrics is not None else TrainingMetrics()
        self.histogram_every = histogram_every
        self.health_every = health_every     # 0: never; -1: about HEALTH_SAMPLES times a run
        self.health: collections.deque[Health] = collections.deque(maxlen=HEALTH_SAMPLES * 10)
        # each step's parameters (before its update), gradients and outputs (runtime.snapshots)
        self.snapshots = SnapshotStore(snapshot_budget) if snapshot_budget > 0 else None
        self._snapshot: Any = None          # this step's, kept once the step is done
        self.losses: list[float] | None = [] if keep_losses else None
        self.log: collections.deque[str] = collections.deque(maxlen=200)   # "log" hook lines
        self.warnings: collections.deque[str] = collections.deque(maxlen=50)  # e.g. out of memory
        self.state = "idle"         # idle, running, paused, finished, stopped
        self.message = ""
        self.steps_done = 0
        self.target_steps: int | None = None
        self._prepared = False
        self._parameters: list[_Parameter] = []
        self._parameter_key: tuple = ()
        self._optimizer: Any = None
        self._frozen_applied: tuple[str, ...] | None = None
        self._norm_sums: dict[str, float] = {}
        self._last: dict[str, Any] = {}
        self._needed: set[str] = set()      # the loss node and every node it depends on
        self._window: tuple[float, int] | None = None     # steps/sec measuring window
        # thread control
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._paused = False
        self._stop_requested = False
        self._granted = 0           # single steps asked for while paused
        self.max_rate: float | None = None      # steps a second at most (None: no limit)
        self._step_began = -math.inf            # perf_counter() when the last step began
        self._step_lock = threading.Lock()      # held by the worker during a step
        self.gate = StepGate()      # the dashboard parks the worker while it draws a frame
        # live edits from the watched document
        self._watch = watch
        self._pending_lock = threading.Lock()
        self._pending_doc: Document | None = None
        self._pending_texts: list[str] = []
        if watch is not None:
            watch.subscribe(self._on_watched_change)

    @classmethod
    def for_document(cls, document: Document, metrics: TrainingMetrics | None = None,
                     base_dir: str | None = None, engine: Any = None, **options) -> "Trainer":
        """A trainer on a copy of `document` that follows its later edits (for the UI)."""
        setup = TrainingSetup.from_document(document)
        session = Session(document.copy(), device=setup.device, engine=engine,
                          base_dir=base_dir, fallback=True)
        return cls(session, metrics, watch=document, **options)

    def close(self) -> None:
        """Stops the worker and stops following the watched document."""
        self.stop()
        if self._watch is not None:
            self._watch.unsubscribe(self._on_watched_change)
            self._watch = None

    # ================================================================== control
    def start(self, steps: float | None = None) -> None:
        """Trains in a worker thread up to the setup's steps (or `steps` more, or until
        stopped with UNTIL_STOPPED); after finishing or stopping it continues from the
        current weights."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()
            if self._thread is not None and self._thread.is_alive():
                return
            self._launch(steps)

    def pause(self) -> None:
        """Pauses at the next step boundary (state becomes "paused")."""
        with self._cond:
            self._paused = True
            self._cond.notify_all()        # a worker waiting out a steps/s limit pauses now

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step(self) -> None:
        """Runs exactly one more step, then stays paused (starting the worker if needed)."""
        with self._cond:
            self._paused = True
            self._granted += 1
            self._cond.notify_all()
            if self._thread is None or not self._thread.is_alive():
                self._launch(None)

    def stop(self, timeout: float = 10.0) -> None:
        """Ends the worker at the next step boundary and waits for its thread to end."""
        with self._cond:
            self._stop_requested = True
            self._cond.notify_all()
        self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the worker thread to end; True when it has (or never started)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def set_max_rate(self, steps_per_sec: float | None) -> None:
        """At most this many steps a second from now on (None or 0: as fast as it can)."""
        with self._cond:
            self.max_rate = steps_per_sec or None
            self._cond.notify_all()

    def until_stopped(self, on: bool) -> None:
        """From now on, train until stopped (on) or up to the setup's steps (off)."""
        with self._cond:
            self.target_steps = UNTIL_STOPPED if on else None
            self._cond.notify_all()

    def poll(self) -> "Trainer":
        """Nothing to take in for a trainer in this process (a TrainingProcess's poll reads
        its worker's records): here for the dashboard, which polls every frame. Returns self."""
        return self

    def fetch_parameters(self, timeout: float | None = None) -> dict[str, np.ndarray]:
        """A copy of every trained parameter's values, by name. Safe while the worker runs:
        taken between two steps (TimeoutError when a step outlasts `timeout` seconds)."""
        if not self._step_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError("a training step is still running")
        try:
            return {p.name: _host(p.tensor).copy() for p in self._parameters}
        finally:
            self._step_lock.release()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _launch(self, steps: int | None) -> None:
        self._stop_requested = False
        if self.state in ("finished", "stopped") and steps is None:
            steps = self.setup.total_steps(self._n_train) if self._prepared else None
        self.target_steps = None if steps is None else self.steps_done + steps
        self.state = "paused" if self._paused else "running"
        self._thread = threading.Thread(target=self._worker, name="gradstudio-training",
                                        daemon=True)
        self._thread.start()

    def _worker(self) -> None:
        try:
            self._prepare()
            while True:
                with self._cond:
                    while self._paused and not self._stop_requested and not self._granted:
                        self.state = "paused"
                        self._window = None           # steps/sec restarts after a pause
                        self._cond.wait()
                    if self._stop_requested:
                        self.state, self.message = "stopped", f"stopped at step {self.steps_done}"
                        return
                    if self.steps_done >= self._target():
                        self.state, self.message = "finished", f"finished: {self.steps_done} steps"
                        return
                    wait = self.pace_wait()
                    if wait > 0 and not self._granted:
                        self.state = "running"
                        self._cond.wait(wait)       # woken early by pause, stop, a new rate
                        continue
                    if self._granted:
                        self._granted -= 1
                    else:
                        self.state = "running"
                    # No sleep(0) here: a thread waiting for the GIL gets it within the
                    # interpreter's switch interval (5 ms), and yielding every step cost a
                    # fifth of the steps on a busy machine.
                    self._step_began = time.perf_counter()
                self.gate.boundary()
                with self._step_lock:        # fetch_parameters waits for the step's end
                    self._one_step()
        except Exception as exc:                      # noqa: BLE001 - reported, never raised
            text = str(exc) if isinstance(exc, RunError) else \
                f"step {self.steps_done}: {type(exc).__name__}: {first_line(exc)}"
            self.state, self.message = "stopped", f"stopped: {text}"
            self.metrics.add_marker(self.steps_done, self.message)

    def pace_wait(self) -> float:
        """Seconds to wait before the next step to keep within max_rate (0: none)."""
        if not self.max_rate:
            return 0.0
        return self._step_began + 1.0 / self.max_rate - time.perf_counter()

    # ================================================================== headless
    def run(self, steps: int | None = None) -> None:
        """Trains in the calling thread: the setup's steps, or `steps`. TrainingError on failure."""
        self._prepare()
        self.target_steps = None if steps is None else self.steps_done + steps
        self.state = "running"
        while self.steps_done < self._target():
            self._one_step()
        self.state, self.message = "finished", f"finished: {self.steps_done} steps"

    def run_on_all_data(self) -> None:
        """Gives the data node its whole x and y back, sets every .grad to None and runs the
        graph forward and backward from the root, so its nodes show the trained model (the
        session otherwise holds whichever batch ran last). Not while the worker runs."""
        if self.alive:
            raise RunError("the trainer is running; stop it first")
        self.session.feed(self.setup.data, None)
        self.session.zero_grad()
        self.session.run()

    def result(self) -> TrainingResult:
        steps = max(1, self.steps_done)
        return TrainingResult(
            losses=list(self.losses or []), accuracy=self._last.get("accuracy"),
            val_loss=self._last.get("val_loss"), grad_norms=dict(self._last.get("grad_norms", {})),
            mean_grad_norms={n: s / steps for n, s in self._norm_sums.items()},
            warnings=list(self.warnings), health=list(self.health))

    def total_steps(self) -> float | None:
        """Where this run ends: a step count, UNTIL_STOPPED, or None while a setup counted
        in epochs has not loaded its data."""
        if self.target_steps is not None or self._prepared:
            return self._target()
        return self.setup.steps if self.setup.epochs is None else None

    def _target(self) -> int:
        if self.target_steps is not None:
            return self.target_steps
        return self.setup.total_steps(self._n_train)

    # ================================================================== preparing
    def _prepare(self) -> None:
        if self._prepared:
            return
        self._on_cpu_if_out_of_memory(self._load_data)
        self._collect_parameters()
        self._prepared = True

    def _load_data(self) -> None:
        """Runs the data node on its own parameters and splits its x, y (see the module doc)."""
        session, setup = self.session, self.setup
        self._data_id = session.node_id(setup.data)
        self._loss_id = session.node_id(setup.loss)
        self._data_params = repr(session.document.nodes[self._data_id].params)
        session.feed(self._data_id, None)
        session.forward()
        if self._data_id in session.errors:
            raise TrainingError(f"node '{setup.data}': {session.errors[self._data_id]}")
        x, y = session.value(self._data_id, "x"), session.value(self._data_id, "y")
        if x is None or y is None:
            raise TrainingError(f"node '{setup.data}' gave no x and y to train on")
        x, y = _host(x), _host(y)
        n = len(x)
        if len(y) != n:
            raise TrainingError(f"node '{setup.data}': x has {n} rows but y has {len(y)}")
        rng = np.random.default_rng(setup.seed)
        order = rng.permutation(n)
        n_val = int(round(n * setup.validation_split))
        if n - n_val < 1:
            raise TrainingError(f"training.validation_split {setup.validation_split:g} leaves "
                                f"no rows of {n} to train on")
        self._rng = rng
        self._x, self._y = x, y
        self._points: tuple[np.ndarray, np.ndarray] | None = None   # for decision boundaries
        self._val_rows, self._train_rows = order[:n_val], order[n_val:]
        self._n_train = len(self._train_rows)
        self._epoch_rows: np.ndarray | None = None
        self._cursor = 0
        self._task = self._find_task()

    def _find_task(self) -> tuple[str, float | None, tuple[str, str]] | None:
        """("classes", None, prediction) or ("binary", threshold, prediction) when the loss is
        (or adds up) a classification loss, where prediction is the (node id, port) of the
        model's output: training.prediction, else what feeds that loss's input."""
        doc = self.session.document
        needed = doc.upstream_of(self._loss_id)
        classifier = next((doc.nodes[n] for n in doc.topological_order() if n in needed
                           and doc.nodes[n].kind in CLASS_LOSSES + tuple(BINARY_LOSSES)), None)
        if classifier is None:
            return None
        if self.setup.prediction is not None:
            prediction = (self.session.node_id(self.setup.prediction), "out")
        else:
            edge = next((e for e in doc.edges_into(classifier.id) if e.dst_port == "input"), None)
            if edge is None:
                return None
            prediction = (edge.src, edge.src_port)
        if classifier.kind in CLASS_LOSSES:
            return "classes", None, prediction
        return "binary", BINARY_LOSSES[classifier.kind], prediction

    def _tensor(self, array: np.ndarray) -> Any:
        t = self.engine.from_numpy(np.ascontiguousarray(array))
        return t if self.session.device == "cpu" else t.to(self.session.device)

    def _next_rows(self) -> np.ndarray:
        """The next batch's row numbers (the whole training split, or the epoch's next cut)."""
        size = self.setup.batch_size
        if size == 0 or size >= self._n_train:
            rows = self._train_rows
        else:
            if self._epoch_rows is None or self._cursor >= len(self._epoch_rows):
                self._epoch_rows = self._train_rows[self._rng.permutation(self._n_train)]
                self._cursor = 0
            rows = self._epoch_rows[self._cursor:self._cursor + size]
            self._cursor += size
        return rows

    # ================================================================== parameters
    def _collect_parameters(self) -> bool:
        """The model's parameters in run order; keeps optimizer state (and the trained values
        of a parameter leaf that re-ran with unchanged parameters) for those that stay.
        True when a parameter tensor changed (the forward must run again)."""
        session, doc = self.session, self.session.document
        needed = self._needed = doc.upstream_of(self._loss_id)
        found: list[_Parameter] = []
        for node_id in doc.topological_order():
            if node_id not in needed or node_id == self._data_id:
                continue
            node = doc.nodes[node_id]
            params_text = repr(node.params)
            if node_id in session.modules:
                for name, tensor in session.modules[node_id].named_parameters():
                    found.append(_Parameter(f"{node.label}.{name}", node_id, tensor, params_text))
            elif node.kind == "parameter" or (node.kind == "tensor" and node.params.get("requires_grad")):
                tensor = session.value(node_id)
                if tensor is not None:
                    found.append(_Parameter(node.label, node_id, tensor, params_text))
        old = {p.name: p for p in self._parameters}
        kept: dict[int, Any] = {}          # id(new tensor) -> old tensor whose state it takes
        changed = [p.name for p in found if p.name not in old]
        for p in found:
            before = old.get(p.name)
            if before is None:
                continue
            if before.tensor is p.tensor:
                kept[id(p.tensor)] = before.tensor
            elif (before.node_id == p.node_id and before.params_text == p.params_text
                  and tuple(before.tensor.shape) == tuple(p.tensor.shape)
                  and doc.nodes[p.node_id].kind in LEAF_PARAMETER_KINDS):
                with self.engine.no_grad():
                    p.tensor.copy_(before.tensor)
                kept[id(p.tensor)] = before.tensor
            else:
                changed.append(p.name)
        removed = [name for name in old if name not in {p.name for p in found}]
        if not found:
            raise TrainingError(f"nothing to train: the loss '{self.setup.loss}' depends on no "
                                f"layer or parameter")
        same = [id(p.tensor) for p in found] == [id(p.tensor) for p in self._parameters]
        self._parameters = found
        self._parameter_key = self._current_key()
        self._frozen_applied = None
        self._apply_frozen()
        if same and self._optimizer is not None:
            return False
        previous, self._optimizer = self._optimizer, self._make_optimizer()
        if previous is not None:
            for p in found:
                state = previous.state.get(kept.get(id(p.tensor)))
                if state:
                    self._optimizer.state[p.tensor] = state
            if changed or removed:
                self.metrics.add_marker(self.steps_done, "model changed: "
                                        + ", ".join(changed + [f"-{n}" for n in removed]))
        return True

    def _current_key(self) -> tuple:
        """Identities of the modules and leaf tensors the parameters come from: when one
        changes (a layer or leaf re-created), the parameters are collected again."""
        session = self.session
        key = []
        for node_id in dict.fromkeys(p.node_id for p in self._parameters):
            module = session.modules.get(node_id)
            key.append(id(module) if module is not None else id(session.value(node_id)))
        return tuple(key)

    def _make_optimizer(self) -> Any:
        o = self.setup.optimizer
        tensors = [p.tensor for p in self._parameters]
        optim = lambda name: engine_attr(self.engine, f"optim.{name}")  # noqa: E731
        if o.kind == "sgd":
            return optim("SGD")(tensors, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov,
                                weight_decay=o.weight_decay)
        if o.kind == "adam":
            return optim("Adam")(tensors, lr=o.lr, weight_decay=o.weight_decay)
        if o.kind == "adamw":
            return optim("AdamW")(tensors, lr=o.lr, weight_decay=o.weight_decay)
        return optim("RMSprop")(tensors, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)

    def _apply_frozen(self) -> None:
        frozen = self.setup.frozen
        if self._frozen_applied == frozen:
            return
        labels = {self.session.document.nodes[p.node_id].label: p for p in self._parameters}
        frozen_ids = {labels[label].node_id for label in frozen if label in labels}
        for p in self._parameters:
            p.tensor.requires_grad_(p.node_id not in frozen_ids)
        self._frozen_applied = frozen

    # ================================================================== live edits
    def _on_watched_change(self, change: Change) -> None:
        """Runs in the thread that edits the watched document (the UI's): copies it."""
        if change.what == "node_changed" and change.key == "pos":
            return
        self.push_edit(self._watch.copy(), describe_change(self._watch, change))

    def push_edit(self, snapshot: Document, text: str | None) -> None:
        """An edited copy of the document (and its marker text) to take over at the next
        step boundary; from any thread. Later copies replace earlier ones not yet taken."""
        with self._pending_lock:
            self._pending_doc = snapshot
            if text:
                self._pending_texts.append(text)

    def _apply_pending_edits(self) -> bool:
        """Takes over the watched document's latest copy, if any; True when one was applied."""
        with self._pending_lock:
            pending, texts = self._pending_doc, self._pending_texts
            self._pending_doc, self._pending_texts = None, []
        if pending is None:
            return False
        doc = self.session.document
        doc.replace_with(pending)
        old = self.setup
        try:
            new = TrainingSetup.from_document(doc)
        except TrainingSetupError as exc:
            new = old
            texts.append(f"setup refused ({exc}); kept the previous one")
        texts += _setup_changes(old, new)
        self.setup = new
        o, p = old.optimizer, new.optimizer
        if o.kind != p.kind:
            self._optimizer = self._make_optimizer()
        elif o != p:
            for group in self._optimizer.param_groups:
                group["lr"], group["weight_decay"] = p.lr, p.weight_decay
                if "momentum" in group:
                    group["momentum"] = p.momentum
                if "nesterov" in group:
                    group["nesterov"] = p.nesterov
        data_node = doc.node_by_label(new.data)
        if (new.data, new.validation_split, new.seed, new.loss, new.prediction) != \
                (old.data, old.validation_split, old.seed, old.loss, old.prediction) \
                or data_node is None or repr(data_node.params) != self._data_params:
            self._load_data()
            texts.append("data reloaded")
        elif new.batch_size != old.batch_size:
            self._epoch_rows = None                    # a new epoch with the new batch size
        self._apply_frozen()
        if texts:
            self.metrics.add_marker(self.steps_done, "; ".join(texts))
        return True

    # ================================================================== one step
    def _forward(self, x: Any, y: Any) -> None:
        self.session.feed(self._data_id, {"x": x, "y": y})
        self.session.forward()

    def _raise_node_errors(self) -> None:
        """TrainingError for the first failing node the loss depends on, in run order."""
        doc, errors = self.session.document, self.session.errors
        if not errors:
            return
        for node_id in doc.topological_order():
            if node_id in errors and node_id in self._needed:
                raise TrainingError(f"node '{doc.nodes[node_id].label}': {errors[node_id]}")

    def _loss_tensor(self) -> Any:
        loss = self.session.value(self._loss_id)
        label = self.setup.loss
        if loss is None or not hasattr(loss, "shape"):
            raise TrainingError(f"node '{label}' gave no tensor to train on")
        if math.prod(int(n) for n in loss.shape) != 1:
            raise TrainingError(f"node '{label}': the loss must be one number, "
                                f"got shape {tuple(int(n) for n in loss.shape)}")
        return loss

    def _one_step(self) -> None:
        step = self.steps_done
        edited = self._apply_pending_edits()
        rows = self._next_rows()
        loss_value, norms, pre_clip, post_clip, grads, ratios = self._on_cpu_if_out_of_memory(
            lambda: self._train_on(rows, edited))
        self.steps_done = step + 1
        for name, value in norms.items():
            self._norm_sums[name] = self._norm_sums.get(name, 0.0) + value
        self._last["grad_norms"] = norms
        if self.losses is not None:
            self.losses.append(loss_value)
        self._drain_log()
        self.metrics.record_step(step, loss=loss_value, lr=self.setup.optimizer.lr,
                                 grad_norm_pre_clip=pre_clip, grad_norm_post_clip=post_clip,
                                 grad_norms=norms, update_ratios=ratios,
                                 steps_per_sec=self._rate())
        last = self.steps_done >= self._target()
        if step % self.histogram_every == 0 or last:
            self.metrics.record_histograms(
                step, grads=grads,
                weights={p.name: _host(p.tensor) for p in self._parameters})
        if self.health_every:       # on the training batch: before evaluation runs others
            every = self.health_every if self.health_every > 0 else \
                max(1, self._target() // HEALTH_SAMPLES)
            if step % every == 0 or last:
                self.health.append(layer_health(self.session, step))
        if step % self.setup.eval_every == 0 or last:
            self._on_cpu_if_out_of_memory(lambda: self._evaluate(step))
        if self._snapshot is not None:
            self.snapshots.record(step, loss_value, self._snapshot)
            self._snapshot = None
        if not math.isfinite(loss_value):
            raise TrainingError(f"node '{self.setup.loss}': the loss became {loss_value} "
                                f"at step {step}")

    def _train_on(self, rows: np.ndarray, edited: bool) -> tuple:
        """Forward on the batch `rows`, backward, clipping and optimizer.step(); returns the
        loss, the norms (see _clip), the clipped gradients and the update ratios."""
        x, y = self._tensor(self._x[rows]), self._tensor(self._y[rows])
        self._forward(x, y)
        if (edited or self._current_key() != self._parameter_key) and self._collect_parameters():
            self._forward(x, y)                        # again, with the kept values
        self._raise_node_errors()
        loss = self._loss_tensor()
        for p in self._parameters:
            p.tensor.grad = None
        if loss.requires_grad and not self.session.backward(self._loss_id):
            self._raise_node_errors()
        loss_value = float(loss.item())
        norms, pre_clip, post_clip, grads = self._clip()
        if self.snapshots is not None:          # as the step saw them, before the update
            self._snapshot = take_snapshot(self.session,
                                           [(p.name, p.tensor) for p in self._parameters],
                                           store=self.snapshots)
        return loss_value, norms, pre_clip, post_clip, grads, self._optimizer_step()

    def _on_cpu_if_out_of_memory(self, work: Callable[[], Any]) -> Any:
        """work(); when the GPU runs out of memory in it, everything moves to the cpu and
        work() runs again there, so training goes on with the numbers it would have had
        (as long as work changed nothing before it ran out: an out-of-memory inside
        optimizer.step() itself may have updated some parameters already)."""
        try:
            return work()
        except Exception as exc:                      # noqa: BLE001 - re-raised unless OOM
            if self.session.device == "cpu" or not is_out_of_memory(exc):
                raise
            device = self.session.device
            self._move_to_cpu()
            text = f"{device} ran out of memory; training on the cpu"
            self.metrics.add_marker(self.steps_done, text)
            self.warnings.append(f"step {self.steps_done}: {text}")
        return work()

    def _move_to_cpu(self) -> None:
        """The session, every layer and trained parameter (values kept) and the optimizer's
        state onto the cpu; parameter leaves re-run there and take their values back when
        the parameters are collected again."""
        with self.engine.no_grad():
            for p in self._parameters:
                p.tensor.data = p.tensor.detach().cpu()
                p.tensor.grad = None
            if self._optimizer is not None:
                for state in self._optimizer.state.values():
                    for key, value in state.items():
                        if hasattr(value, "is_cuda"):
                            state[key] = value.detach().cpu()
        self.session.move_layers_to("cpu")

    def _clip(self) -> tuple[dict[str, float], float, float, dict[str, np.ndarray]]:
        """Clips as the setup says; returns the per-parameter norms and the total norm before
        clipping, the total after it, and the gradients as the optimizer will see them."""
        with_grad = [p for p in self._parameters if p.tensor.grad is not None]
        grads = {p.name: _host(p.tensor.grad) for p in with_grad}
        norms = {name: _norm(g) for name, g in grads.items()}
        pre_clip = math.sqrt(sum(n * n for n in norms.values()))
        clipping = self.setup.clipping
        if clipping.mode == "none" or not with_grad:
            return norms, pre_clip, pre_clip, grads
        utils = engine_attr(self.engine, "nn.utils")
        tensors = [p.tensor for p in with_grad]
        if clipping.mode == "norm":
            utils.clip_grad_norm_(tensors, clipping.max_norm)
        else:
            utils.clip_grad_value_(tensors, clipping.clip_value)
        grads = {p.name: _host(p.tensor.grad) for p in with_grad}
        return norms, pre_clip, math.sqrt(sum(_norm(g) ** 2 for g in grads.values())), grads

    def _optimizer_step(self) -> dict[str, float]:
        """optimizer.step(); returns ||update|| / ||weight|| per parameter that had a gradient."""
        updated = [p for p in self._parameters if p.tensor.grad is not None]
        before = [_host(p.tensor).copy() for p in updated]
        self._optimizer.step()
        return {p.name: _norm(_host(p.tensor) - old) / (_norm(old) + 1e-12)
                for p, old in zip(updated, before)}

    def _rate(self) -> float | None:
        """Steps per second over windows of at least half a second (None in between)."""
        now = time.perf_counter()
        window = getattr(self, "_window", None)
        if window is None:
            self._window = (now, self.steps_done)
            return None
        start, steps = window
        if now - start < 0.5:
            return None
        self._window = (now, self.steps_done)
        return (self.steps_done - steps) / (now - start)

    def _drain_log(self) -> None:
        messages = self.session.messages
        if messages:
            self.log.extend(messages)
            messages.clear()

    # ================================================================== evaluation
    def _set_training_mode(self, mode: bool) -> None:
        for module in self.session.modules.values():
            if hasattr(module, "train"):
                module.train(mode)

    def _evaluate(self, step: int) -> None:
        """Validation loss, accuracy and (2-D inputs) the decision boundary, in eval mode."""
        rows = self._val_rows if len(self._val_rows) else self._train_rows
        self._set_training_mode(False)
        try:
            self._forward(self._tensor(self._x[rows]), self._tensor(self._y[rows]))
            self._raise_node_errors()
            val_loss = float(self._loss_tensor().item()) if len(self._val_rows) else None
            accuracy = self._accuracy(self._y[rows]) if self._task else None
            boundary = self._decision_boundary(step) if self._task and self._x.ndim == 2 \
                and self._x.shape[1] == 2 else None
        finally:
            self._set_training_mode(True)
        self._last.update(val_loss=val_loss, accuracy=accuracy)
        self.metrics.record_validation(step, val_loss=val_loss, accuracy=accuracy)
        if boundary is not None:
            self.metrics.set_decision_boundary(boundary)

    def _prediction(self) -> np.ndarray | None:
        node_id, port = self._task[2]
        value = self.session.value(node_id, port)
        return None if value is None else _host(value)

    def _accuracy(self, targets: np.ndarray) -> float | None:
        predicted = self._predicted_classes()
        if predicted is None or predicted.size != targets.size:
            return None
        return float(np.mean(predicted.ravel() == np.asarray(targets).ravel().astype(np.int64)))

    def _predicted_classes(self) -> np.ndarray | None:
        out = self._prediction()
        if out is None:
            return None
        if self._task[0] == "classes":
            return out.reshape(len(out), -1).argmax(axis=1)
        return (out.reshape(len(out), -1)[:, 0] > self._task[1]).astype(np.int64)

    def _decision_boundary(self, step: int) -> DecisionBoundary | None:
        x = self._x
        low, high = x.min(axis=0), x.max(axis=0)
        pad = 0.1 * np.maximum(high - low, 1e-6)
        low, high = low - pad, high + pad
        xs = np.linspace(low[0], high[0], BOUNDARY_GRID)
        ys = np.linspace(low[1], high[1], BOUNDARY_GRID)
        gx, gy = np.meshgrid(xs, ys)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(x.dtype)
        dummy_y = np.repeat(self._y[:1], len(grid), axis=0)
        self._forward(self._tensor(grid), self._tensor(dummy_y))
        out = self._prediction()
        if out is None:
            return None
        out = out.reshape(len(grid), -1)
        if self._task[0] == "classes":
            values = out.argmax(axis=1).astype(np.float64)
        elif self._task[1] == 0.0:
            values = 1.0 / (1.0 + np.exp(-out[:, 0].astype(np.float64)))
        else:
            values = out[:, 0].astype(np.float64)
        if self._points is None:     # one copy per data load (a plot redraws new points)
            self._points = (x.copy(), np.asarray(self._y).reshape(len(x), -1)[:, 0].copy())
        return DecisionBoundary(step, (float(low[0]), float(high[0])), (float(low[1]), float(high[1])),
                                values.reshape(BOUNDARY_GRID, BOUNDARY_GRID), *self._points)


# ====================================================================== helpers
def _host(tensor: Any) -> np.ndarray:
    """A tensor's values as a NumPy array (a view on the CPU, a copy from a GPU)."""
    return np.asarray(host_values(tensor))


def _norm(array: np.ndarray) -> float:
    flat = array.ravel().astype(np.float64, copy=False)
    return float(np.sqrt(np.dot(flat, flat)))


def describe_change(doc: Document, change: Change) -> str | None:
    """A change marker's text for one edit of the watched document (None: the setup's own
    changes are described by comparing setups)."""
    item = change.item
    if change.what == "meta_changed":
        return None if change.key == "training" else f"meta {change.key} edited"
    if change.what == "edge_changed" and change.key == "detach":
        src, dst = doc.nodes.get(item.src), doc.nodes.get(item.dst)
        names = f"{src.label if src else item.src} -> {dst.label if dst else item.dst}"
        return f"{'detach' if item.detach else 'attach'} {names}"
    if change.what == "node_changed" and change.key == "hooks":
        from gradstudio.graph.grad_hooks import describe
        hooks = ", ".join(describe(h) for h in item.hooks) or "none"
        return f"hooks on {item.label}: {hooks}"
    if change.what == "node_changed":
        value = item.params.get(change.key, getattr(item, change.key, None))
        return f"{item.label}.{change.key} = {value!r}"
    if change.what in ("node_added", "node_removed"):
        return f"{change.what.replace('_', ' ')}: {item.label}"
    if change.what in ("edge_added", "edge_removed"):
        return f"edge {change.what.split('_')[1]}"
    if change.what.startswith("region"):
        return "no_grad region edited"
    return "graph edited" if change.what == "reset" else None


def _setup_changes(old: TrainingSetup, new: TrainingSetup) -> list[str]:
    """Marker texts for what differs between two setups: "lr 0.1 -> 0.01", "clip norm 1"."""
    texts = []
    o, p = old.optimizer, new.optimizer
    if o.kind != p.kind:
        texts.append(f"optimizer {o.kind} -> {p.kind}")
    for name in ("lr", "momentum", "weight_decay", "nesterov"):
        if getattr(o, name) != getattr(p, name):
            texts.append(f"{name} {getattr(o, name)} -> {getattr(p, name)}")
    if old.clipping != new.clipping:
        texts.append(new.clipping.describe())
    for label in new.frozen:
        if label not in old.frozen:
            texts.append(f"freeze {label}")
    for label in old.frozen:
        if label not in new.frozen:
            texts.append(f"unfreeze {label}")
    for name in ("batch_size", "steps", "epochs", "eval_every"):
        if getattr(old, name) != getattr(new, name):
            texts.append(f"{name} {getattr(old, name)} -> {getattr(new, name)}")
    return texts
