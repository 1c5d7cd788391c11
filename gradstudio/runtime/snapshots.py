"""Per-step snapshots of a training run within a memory budget, and the diff between steps.

    store = SnapshotStore(budget_bytes=64_000_000, full_last=20)
    store.record(step, loss, take_snapshot(session, parameters))   # after each step
    snap = store.get(57)            # None when step 57 is no longer held
    store.diff(57)                  # per node: what changed from the step before it
    store.bytes_used, store.steps(), store.set_budget(32 << 20)

A snapshot holds, copied, each parameter's value and gradient and each node's output on
that step's batch. The last `full_last` steps are all kept; older ones are thinned: while
the store is over its budget, the older snapshot whose neighbours are closest together
goes (the oldest of a tie), so what stays is spread over the run, denser near its end. If
only recent steps remain and it is still over budget, the oldest of those goes. The store
never holds more than its budget: a snapshot larger than the whole budget is not kept.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

DEFAULT_BUDGET = 64_000_000       # bytes: well under the 500 MB the issue allows
FULL_LAST = 20


@dataclass
class Snapshot:
    step: int
    loss: float
    parameters: dict[str, tuple[np.ndarray, np.ndarray | None]]   # "fc1.weight": (value, grad)
    outputs: dict[str, np.ndarray]                                 # node label: its output
    nbytes: int = 0

    def node_grad_norm(self, label: str) -> float | None:
        """The norm over all of a node's parameters' gradients ("fc1" covers fc1.weight and
        fc1.bias; a parameter leaf is its own node)."""
        grads = [g for name, (_, g) in self.parameters.items()
                 if _node_of(name) == label and g is not None]
        if not grads:
            return None
        return math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))

    def node_values(self, label: str) -> list[np.ndarray]:
        return [v for name, (v, _) in self.parameters.items() if _node_of(name) == label]


@dataclass
class NodeDiff:
    label: str
    grad_before: float | None
    grad_after: float | None
    weight_change: float | None      # ‖w_now - w_before‖ over the node's parameters
    output_mean_before: float | None
    output_mean_after: float | None

    @property
    def grad_factor(self) -> float | None:
        if self.grad_before is None or self.grad_after is None:
            return None
        if self.grad_before == 0:
            return math.inf if self.grad_after > 0 else 1.0
        return self.grad_after / self.grad_before

    def text(self) -> str:
        parts = []
        factor = self.grad_factor
        if factor is not None:
            jump = "jumped" if factor > 1 else "fell"
            parts.append(f"gradient norm {jump} ×{factor:.3g} ({self.grad_before:.3g} → "
                         f"{self.grad_after:.3g})" if factor != 1 else
                         f"gradient norm {self.grad_after:.3g}, unchanged")
        if self.weight_change is not None:
            parts.append(f"weights moved by {self.weight_change:.3g}")
        if self.output_mean_before is not None and self.output_mean_after is not None:
            parts.append(f"output mean {self.output_mean_before:.3g} → "
                         f"{self.output_mean_after:.3g}")
        return f"{self.label}: " + ", ".join(parts)


@dataclass
class StepDiff:
    step: int
    before: int | None                       # the held step compared against
    loss_before: float | None
    loss_after: float
    nodes: list[NodeDiff] = field(default_factory=list)   # biggest gradient change first

    def headline(self) -> str:
        if self.before is None:
            return f"step {self.step}: loss {self.loss_after:.4g} (no earlier step held)"
        gap = "" if self.before == self.step - 1 else f" (the nearest held before it)"
        return (f"step {self.step}: loss {self.loss_before:.4g} → {self.loss_after:.4g} "
                f"from step {self.before}{gap}")


class SnapshotStore:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, full_last: int = FULL_LAST) -> None:
        self.budget = int(budget_bytes)
        self.full_last = int(full_last)
        self._snaps: dict[int, Snapshot] = {}
        self._lock = threading.Lock()      # recorded in the worker, read in the UI thread
        self.bytes_used = 0
        self.dropped_too_large = 0

    # ---------------------------------------------------------------- writing
    def record(self, step: int, loss: float, parts: tuple[dict, dict]) -> bool:
        """Keeps the snapshot of `step` (parameters, outputs); False when it alone is larger
        than the budget."""
        parameters, outputs = parts
        nbytes = sum(v.nbytes + (0 if g is None else g.nbytes) for v, g in parameters.values())
        nbytes += sum(a.nbytes for a in outputs.values())
        if nbytes > self.budget:
            self.dropped_too_large += 1
            return False
        with self._lock:
            old = self._snaps.pop(step, None)
            if old is not None:
                self.bytes_used -= old.nbytes
            self._snaps[step] = Snapshot(step, float(loss), parameters, outputs, nbytes)
            self.bytes_used += nbytes
            self._shrink()
        return True

    def set_budget(self, budget_bytes: int) -> None:
        with self._lock:
            self.budget = max(0, int(budget_bytes))
            self._shrink()

    def clear(self) -> None:
        with self._lock:
            self._snaps.clear()
            self.bytes_used = 0

    def _shrink(self) -> None:
        while self.bytes_used > self.budget and self._snaps:
            steps = sorted(self._snaps)
            older = steps[:-self.full_last] if len(steps) > self.full_last else []
            if len(older) > 2:
                # the interior older step whose neighbours are closest (the oldest of a tie)
                gaps = [(steps[i + 1] - steps[i - 1], steps[i]) for i in range(1, len(older))]
                victim = min(gaps)[1]
            else:
                victim = steps[0]
            self.bytes_used -= self._snaps.pop(victim).nbytes

    # ---------------------------------------------------------------- reading
    def steps(self) -> list[int]:
        with self._lock:
            return sorted(self._snaps)

    def get(self, step: int) -> Snapshot | None:
        with self._lock:
            return self._snaps.get(step)

    def held_text(self) -> str:
        """"held: steps 0, 40, 80, 100-139 (12.3 MB of 64 MB)"."""
        return f"held: {ranges(self.steps())} ({self.bytes_used / 1e6:.1f} MB of " \
               f"{self.budget / 1e6:.0f} MB)"

    def diff(self, step: int) -> StepDiff | None:
        """What changed from the nearest held step before `step` (None: step not held)."""
        with self._lock:
            now = self._snaps.get(step)
            earlier = [s for s in self._snaps if s < step]
            before = self._snaps.get(max(earlier)) if earlier else None
        if now is None:
            return None
        result = StepDiff(step, None if before is None else before.step,
                          None if before is None else before.loss, now.loss)
        labels = dict.fromkeys([_node_of(n) for n in now.parameters] + list(now.outputs))
        for label in labels:
            after_values = now.node_values(label)
            change = None
            if before is not None:
                before_values = before.node_values(label)
                if after_values and len(before_values) == len(after_values) and all(
                        a.shape == b.shape for a, b in zip(after_values, before_values)):
                    change = math.sqrt(sum(float(np.sum((a.astype(np.float64) - b) ** 2))
                                           for a, b in zip(after_values, before_values)))
            out_now = now.outputs.get(label)
            out_before = None if before is None else before.outputs.get(label)
            result.nodes.append(NodeDiff(
                label, None if before is None else before.node_grad_norm(label),
                now.node_grad_norm(label), change,
                None if out_before is None else _mean(out_before),
                None if out_now is None else _mean(out_now)))
        result.nodes.sort(key=_jump, reverse=True)
        return result


def take_snapshot(session: Any, parameters: Iterable[tuple[str, Any]],
                  outputs: Iterable[str] | None = None) -> tuple[dict, dict]:
    """(parameters, outputs) copied from a session after a step: `parameters` as (name,
    tensor) pairs, and every node's "out" (or only the nodes `outputs` names)."""
    params = {}
    for name, tensor in parameters:
        grad = tensor.grad
        params[name] = (_copy(tensor), None if grad is None else _copy(grad))
    doc = session.document
    wanted = None if outputs is None else set(outputs)
    outs = {}
    for node_id, results in session.outputs.items():
        node = doc.nodes.get(node_id)
        value = results.get("out") if results else None
        if node is None or not hasattr(value, "detach") or (wanted and node.label not in wanted):
            continue
        outs[node.label] = _copy(value)
    return params, outs


def ranges(steps: list[int]) -> str:
    """[0, 40, 100, 101, 102] -> "0, 40, 100-102"."""
    if not steps:
        return "none"
    parts, start, last = [], steps[0], steps[0]
    for s in steps[1:] + [None]:
        if s is not None and s == last + 1:
            last = s
            continue
        parts.append(str(start) if start == last else f"{start}-{last}")
        if s is not None:
            start = last = s
    return ", ".join(parts)


def _jump(diff: NodeDiff) -> float:
    factor = diff.grad_factor
    if factor is None or factor <= 0:
        return -1.0
    return abs(math.log(factor)) if math.isfinite(factor) else math.inf


def _node_of(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _mean(array: np.ndarray) -> float:
    return float(np.mean(array.astype(np.float64))) if array.size else float("nan")


def _copy(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().numpy(), copy=True)
