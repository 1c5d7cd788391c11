"""Runs the document through the runtime's Session for the window and publishes the results.

After each edit (coalesced to one run per event-loop turn) it re-runs forward, and backward
too once the person has asked for backward; `results` and `errors` map node ids to the
Session's per-node snapshots and messages. Nothing here draws: the window listens to `ran`.

A run is what re-running a script is: a fresh forward and backward, so Backward pressed
twice shows the same gradients. Gradients add up over runs only while `keep_grads` is on
(Run > Keep .grad between runs); `backward_passes` then counts the backward() calls whose
sum `.grad` holds, and the window marks the gradients with it. Every Backward node is one
backward() call, run in order (Session.backward_all).
"""
from __future__ import annotations

import gc
import os
import threading
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from gradstudio.graph.csv_files import CsvFileError, csv_arrays, csv_ready, csv_target
from gradstudio.graph.document import Change, Document, GraphError
from gradstudio.runtime import NodeInfo, RunError, Session
from gradstudio.runtime.anomaly import backward_anomaly, forward_anomaly
from gradstudio.runtime.devices import is_out_of_memory
from gradstudio.runtime.session import device_problem, tensor_info

# Edits that do not change what a run computes.
_COSMETIC = {"pos", "label"}
HOOK_LOG_LEVEL = "info"          # a log hook's line is a report, not a problem


class RunController(QObject):
    ran = Signal()
    message = Signal(str, str)     # text, level
    anomaly = Signal(str, str)     # node id, message: anomaly mode stopped at this node
    device_changed = Signal(str)   # the runs moved to this device on their own (out of memory)

    def __init__(self, doc: Document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.session = Session(doc, device="cpu")
        self.results: dict[str, NodeInfo] = {}
        self.errors: dict[str, str] = {}
        # nodes still being wired (an input not connected, here or upstream): shown quietly,
        # not as errors, and not written to the messages
        self.waiting: dict[str, str] = {}
        self.auto_run = True
        self.backward_armed = False      # the person ran backward: auto-runs include it
        self.keep_grads = False          # runs add into .grad instead of starting fresh
        self.backward_passes = 0         # backward() calls summed in the .grad shown now
        self._grads_cleared = False
        self._quiet = False
        self.last_kind = ""
        self.detect_anomaly = False      # stop at the node that first produces NaN/Inf
        self._anomaly_before: tuple[bool, bool] | None = None   # the switch before we set it
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._auto_run)
        self.reading: threading.Thread | None = None     # CSV files being read off this thread
        self._after_reading = (False, False)
        self._read_inline = False
        # The reading thread never calls Qt (a Qt call from a Python thread can deadlock with
        # PySide deleting, on this thread, a wrapper that thread's GC freed): it is polled.
        self._reading_poll = QTimer(self)
        self._reading_poll.setInterval(20)
        self._reading_poll.timeout.connect(self._poll_reading)
        doc.subscribe(self._on_change)

    @property
    def device(self) -> str:
        return self.session.device

    # ---------------------------------------------------------------- settings
    def devices(self) -> dict[str, tuple[bool, str | None]]:
        """device name -> (available, why not)."""
        problems = {name: device_problem(self.session.engine, name) for name in ("cpu", "cuda")}
        return {name: (problem is None, problem) for name, problem in problems.items()}

    def set_device(self, name: str) -> None:
        if name == self.device:
            return
        try:
            self.session.set_device(name, fallback=False)
        except RunError as exc:
            self.message.emit(str(exc), "warning")
            return
        self.message.emit(f"running on {name}", "info")
        self.run(self.backward_armed, fresh_grads=True)

    def set_auto_run(self, on: bool) -> None:
        self.auto_run = bool(on)
        if on:
            self.schedule()

    def set_detect_anomaly(self, on: bool) -> None:
        """Anomaly mode (engine.autograd.set_detect_anomaly in this thread), then a re-run.
        The switch is thread-wide: `restore_anomaly_mode()` gives it back as it was found."""
        self.detect_anomaly = bool(on)
        autograd = self.session.engine.autograd
        if self._anomaly_before is None:
            from engine.autograd.anomaly_mode import is_anomaly_check_nan_enabled
            self._anomaly_before = (autograd.is_anomaly_enabled(),
                                    is_anomaly_check_nan_enabled())
        autograd.set_detect_anomaly(self.detect_anomaly)
        self.run(self.backward_armed and self.has_root(), fresh_grads=True)

    def restore_anomaly_mode(self) -> None:
        """The thread's anomaly switch as it was before this runner first set it (the
        window closes: the rest of the process must not inherit the window's choice)."""
        if self._anomaly_before is not None:
            self.session.engine.autograd.set_detect_anomaly(*self._anomaly_before)
            self._anomaly_before = None

    def set_base_dir(self, folder: str | None) -> None:
        """Where relative paths in parameters (CSV files) are looked up."""
        self.session.base_dir = folder

    def has_root(self) -> bool:
        try:
            return self.session.root_id() is not None
        except (RunError, GraphError):
            return False

    # ---------------------------------------------------------------- running
    def _on_change(self, change: Change) -> None:
        if change.what == "node_changed" and change.key in _COSMETIC:
            return
        if change.what == "meta_changed" and change.key != "root":
            return          # title, description, training setup: the graph computes the same
        if change.what != "reset":
            self.schedule()

    def schedule(self) -> None:
        if self.auto_run:
            self._timer.start()

    def set_keep_grads(self, on: bool) -> None:
        """On: each Backward adds into .grad (as backward() calls in a loop without
        zero_grad); off: each run starts from .grad None."""
        self.keep_grads = bool(on)

    def _auto_run(self) -> None:
        # An edit shows the gradients of the graph as it now is, not a sum over edits;
        # gradients the graph no longer computes (its root lost or failing) are cleared;
        # a graph that lost its root runs forward without complaining after every edit.
        if self.backward_armed:
            self._clear_grads()
        self._quiet = True          # no warnings about a graph still being wired
        try:
            self.run(self.backward_armed and self.has_root(), fresh_grads=True)
        finally:
            self._quiet = False

    def _clear_grads(self) -> None:
        self.session.zero_grad()
        self.backward_passes = 0
        self._grads_cleared = True

    def run(self, backward: bool, fresh_grads: bool = False) -> bool:
        """Forward, then backward from every root when asked: from .grad None unless
        `keep_grads` is on (fresh_grads: always from None); publishes the results.
        True when all ran."""
        self._timer.stop()
        if self._read_files_first(backward, fresh_grads):
            return False
        if backward:
            self.backward_armed = True
            if fresh_grads or not self.keep_grads:
                self._clear_grads()
        ok = True
        found = None
        try:
            self.session.forward()
            found = forward_anomaly(self.session) if self.detect_anomaly else None
            if found is not None:
                ok = False
            elif backward:
                ok, found = self._backward()
        except (RunError, GraphError) as exc:
            self.message.emit(str(exc), "warning")
            ok = False
        if self.device != "cpu" and self._out_of_memory():
            return self._fall_back_to_cpu(backward)
        self.last_kind = "forward + backward" if backward else "forward"
        self._publish(grads_changed=backward or self._grads_cleared)
        self._grads_cleared = False
        if found is not None:
            self.anomaly.emit(found.node_id, found.message)
        return ok and not self.errors

    # ---------------------------------------------------------------- data files
    def _read_files_first(self, backward: bool, fresh_grads: bool) -> bool:
        """True when CSV files the run needs are not read yet: they are read in a worker
        thread (the window stays responsive) and the run happens when they are in."""
        if self._read_inline:
            return False
        pending = [(path, target) for path, target in self._csv_files()
                   if not csv_ready(path, target)]
        if not pending:
            return False
        self._after_reading = (backward or self._after_reading[0], fresh_grads)
        if self.reading is None:
            engine = self.session.engine
            self.message.emit("reading " + ", ".join(os.path.basename(p) for p, _ in pending)
                              + "…", "info")

            def read() -> None:
                try:
                    for path, target in pending:
                        try:
                            csv_arrays(engine, path, target)
                        except Exception:     # noqa: BLE001 - the run that follows shows why
                            pass
                finally:
                    gc.enable()

            # Garbage is collected here, on the UI thread, and not while the reader runs: a
            # collection in the reader would free Qt wrappers there, and PySide's deferred
            # deletion of those on this thread was seen to deadlock inside ~QObject.
            gc.collect()
            gc.disable()
            self.reading = threading.Thread(target=read, name="gradstudio-csv", daemon=True)
            self.reading.start()
            self._reading_poll.start()
        return True

    def _poll_reading(self) -> None:
        if self.reading is not None and not self.reading.is_alive():
            self._reading_poll.stop()
            self._on_files_read()

    def _on_files_read(self) -> None:
        self.reading = None
        backward, fresh_grads = self._after_reading
        self._after_reading = (False, False)
        self._read_inline = True          # whatever is still unread is read in this run
        try:
            self.run(backward, fresh_grads)
        finally:
            self._read_inline = False

    def _csv_files(self) -> list[tuple[str, object]]:
        """(path, target) of each CSV node, relative paths joined to the document's folder."""
        files = []
        for node in self.doc.nodes.values():
            if node.kind != "csv":
                continue
            path = node.params.get("path") or ""
            if path and not os.path.isabs(path) and self.session.base_dir:
                path = os.path.join(self.session.base_dir, path)
            try:
                files.append((path, csv_target(node.params)))
            except (KeyError, AttributeError, CsvFileError):
                continue
        return files

    def _backward(self) -> tuple[bool, object]:
        """backward() from each root in order; (all ran, the anomaly found or None)."""
        roots = self.session.root_ids()
        if not roots:
            self.message.emit("nothing to run backward from: add a Backward node "
                              "or mark a node as backward root", "warning")
            return False, None
        if self.detect_anomaly:
            for root in roots:
                if root in self.session.errors:
                    continue
                found = backward_anomaly(self.session, root)
                if found is not None:
                    return False, found
                self.backward_passes += root not in self.session.errors
        else:
            self.backward_passes += self.session.backward_all()
        waiting = [r for r in roots if r in self.session.waiting]
        if waiting and not self._quiet:
            node = self.doc.nodes[waiting[0]]
            self.message.emit(f"backward cannot run from '{node.label}' yet: "
                              f"{self.session.errors[waiting[0]]}", "warning")
        return not any(root in self.session.errors for root in roots), None

    def _out_of_memory(self) -> bool:
        return any(is_out_of_memory(text) for text in self.session.errors.values())

    def _fall_back_to_cpu(self, backward: bool) -> bool:
        """The device ran out of memory: the same run again on the cpu, with a message."""
        device = self.device
        self.session.set_device("cpu")
        self.message.emit(f"{device} ran out of memory; running on the cpu", "warning")
        self.device_changed.emit("cpu")
        return self.run(backward, fresh_grads=True)

    def zero_grad(self) -> None:
        self.session.zero_grad()
        self.backward_passes = 0
        self.backward_armed = False
        self.last_kind = "zero grad"
        self._publish(grads_changed=True)
        self.message.emit("gradients set to None", "info")

    def reset(self) -> None:
        """A new document: forget results and the wish to run backward."""
        self._timer.stop()
        self.backward_armed = False
        self.backward_passes = 0
        self.session.reset()
        self.results, self.errors, self.waiting = {}, {}, {}
        self.ran.emit()

    def _publish(self, grads_changed: bool) -> None:
        """Snapshots the nodes that ran (and, after a backward or zero grad, the ones that hold
        a .grad); the others keep their snapshot object, so views can skip them."""
        drain_hook_log(self.session, self.message.emit)
        previous = self.errors
        waiting = self.session.waiting
        self.errors = {n: t for n, t in self.session.errors.items() if n not in waiting}
        self.waiting = {n: f"waiting for {waiting[n]}" for n in self.session.errors
                        if n in waiting}
        ran = set(self.session.last_run)
        previous_results, self.results = self.results, {}
        for node_id, outputs in self.session.outputs.items():
            if node_id not in self.doc.nodes or not outputs:
                continue
            old = previous_results.get(node_id)
            if old is not None and node_id not in ran and not (
                    grads_changed and (old.is_leaf or old.retains_grad)):
                self.results[node_id] = old
                continue
            port = "out" if "out" in outputs else next(iter(outputs))
            self.results[node_id] = self.session.info(node_id, port)
        for node_id, text in self.errors.items():
            node = self.doc.nodes.get(node_id)
            if node is not None and previous.get(node_id) != text:   # say each error once
                self.message.emit(f"{node.label}: {text}", "error")
        self.ran.emit()

    def tensors_of(self, node_id: str) -> dict[str, NodeInfo]:
        """Every tensor a node holds, by name: each output port (the snapshot the canvas shows
        first), then a layer's Parameters (weight, bias, ...), for the inspector."""
        node = self.doc.nodes.get(node_id)
        outputs = self.session.outputs.get(node_id) or {}
        if node is None:
            return {}
        tensors: dict[str, NodeInfo] = {}
        shown = self.results.get(node_id)
        if shown is not None:
            tensors[shown.port] = shown
        for port, value in outputs.items():
            if port not in tensors and hasattr(value, "shape"):
                tensors[port] = self.session.info(node_id, port)
        module = self.session.modules.get(node_id)
        if module is not None:
            for name, parameter in module.named_parameters():
                tensors[name] = tensor_info(node, name, parameter)
        return tensors

    def summary(self) -> str:
        if not self.results and not self.errors:
            return ""
        bad = len(self.errors)
        return (f"{self.last_kind} on {self.device}: {len(self.results)} nodes"
                + (f", {bad} error{'s' if bad != 1 else ''}" if bad else "")
                + (f", .grad = sum of {self.backward_passes} backward passes"
                   if self.backward_passes > 1 else ""))


def drain_hook_log(session: Session, say: Callable[[str, str], None]) -> None:
    """Passes on what "log" gradient hooks wrote into `session.messages`, at level "info",
    and clears it: the window's runs and the debugger dock report hook lines alike. (Those
    sessions set their device without fallback, so nothing else is written there.)"""
    for text in session.messages:
        say(text, HOOK_LOG_LEVEL)
    session.messages.clear()

