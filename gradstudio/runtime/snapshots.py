"""Per-step snapshots of a training run within a memory budget, and the diff between steps.

    store = SnapshotStore(budget_bytes=64_000_000, full_last=20)
    store.record(step, loss, take_snapshot(session, parameters))   # after each step
    snap = store.get(57)            # None when step 57 is no longer held
    store.diff(57)                  # per node: what changed from the step before it
    store.bytes_used, store.steps(), store.set_budget(32 << 20)

A snapshot holds, copied into one NumPy buffer (one allocation and one copy per array a
step, no per-array Python objects until it is read), each parameter's value and gradient
and each node's output on that step's batch. The last `full_last` steps are all kept; older ones are thinned: while
the store is over its budget, the older snapshot whose neighbours are closest together
goes (the oldest of a tie), so what stays is spread over the run, denser near its end. If
only recent steps remain and it is still over budget, the oldest of those goes. The store
never holds more than its budget: a snapshot larger than the whole budget is not kept.
Thinning costs O(log n) a step (a heap of candidates), not a pass over every held step,
and the buffer of the snapshot it drops (when nobody else holds it) takes the next step's
copy: in a long run a step's snapshot allocates nothing. That one spare buffer is the only
memory kept beyond the budget.
"""
from __future__ import annotations

import bisect
import functools
import heapq
import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

DEFAULT_BUDGET = 64_000_000       # bytes: well under the 500 MB the issue allows
FULL_LAST = 20


class Snapshot:
    """One step's copies: `parameters` {"fc1.weight": (value, grad or None)} and `outputs`
    {node label: its output}, NumPy arrays that are views on one buffer of `nbytes` bytes."""

    def __init__(self, step: int, loss: float, packed: "Packed") -> None:
        self.step, self.loss = step, loss
        self._packed = packed
        self._views: tuple[dict, dict] | None = None
        self.nbytes = packed.buffer.nbytes

    @property
    def parameters(self) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        return self._unpacked()[0]

    @property
    def outputs(self) -> dict[str, np.ndarray]:
        return self._unpacked()[1]

    def _unpacked(self) -> tuple[dict, dict]:
        if self._views is None:
            self._views = self._packed.unpack()
        return self._views

    def __getstate__(self) -> dict:            # sent to the window's process: no views
        return {**self.__dict__, "_views": None}

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


class _Layout:
    """Where each array of a snapshot lies in its buffer: the same for every step of a run
    (made once per shape of the model, see `_layout`)."""

    def __init__(self, key: tuple) -> None:
        names, labels, specs = key
        self.key = key
        self.slots: list[tuple[int, np.dtype, tuple] | None] = []    # per array, in order
        offset = 0
        for spec in specs:
            if spec is None:
                self.slots.append(None)
                continue
            shape, dtype = spec
            dtype = np.dtype(dtype)
            offset = -(-offset // ALIGN) * ALIGN
            self.slots.append((offset, dtype, shape))
            offset += dtype.itemsize * math.prod(shape)
        self.nbytes = -(-offset // ALIGN) * ALIGN
        self.names, self.labels = names, labels
        # arrays of one dtype that lie end to end are copied with one concatenate:
        # (dtype, first byte, end byte, their indices)
        self.runs: list[tuple[np.dtype, int, int, list[int]]] = []
        for i, slot in enumerate(self.slots):
            if slot is None:
                continue
            offset, dtype, shape = slot
            end = offset + dtype.itemsize * math.prod(shape)
            last = self.runs[-1] if self.runs else None
            if last is not None and last[0] == dtype and last[2] == offset:
                self.runs[-1] = (dtype, last[1], end, last[3] + [i])
            else:
                self.runs.append((dtype, offset, end, [i]))


SPARE_BUFFERS = 1  # a dropped snapshot's buffer kept for the next step's copy
ALIGN = 8         # bytes: every dtype NumPy has is aligned on its slot


@functools.lru_cache(maxsize=16)
def _layout(key: tuple) -> _Layout:
    return _Layout(key)


class Packed:
    """A snapshot's arrays copied into one buffer (see `pack`); `unpack` gives the dicts."""

    __slots__ = ("layout", "buffer")

    def __init__(self, layout: _Layout, buffer: np.ndarray) -> None:
        self.layout, self.buffer = layout, buffer

    def _array(self, i: int) -> np.ndarray | None:
        slot = self.layout.slots[i]
        if slot is None:
            return None
        offset, dtype, shape = slot
        size = dtype.itemsize * math.prod(shape)
        return self.buffer[offset:offset + size].view(dtype).reshape(shape)

    def unpack(self) -> tuple[dict, dict]:
        names, labels = self.layout.names, self.layout.labels
        parameters = {name: (self._array(2 * i), self._array(2 * i + 1))
                      for i, name in enumerate(names)}
        start = 2 * len(names)
        outputs = {label: self._array(start + i) for i, label in enumerate(labels)}
        return parameters, outputs


def pack(names: list[str], labels: list[str], arrays: list[np.ndarray | None],
         store: "SnapshotStore | None" = None) -> Packed:
    """Copies `arrays` (each parameter's value and grad in `names` order, then each output
    in `labels` order; a missing grad is None) into one buffer: a new one, or one that
    `store` dropped and nobody holds."""
    key = (tuple(names), tuple(labels),
           tuple(None if a is None else (a.shape, a.dtype) for a in arrays))
    layout = _layout(key)
    buffer = None if store is None else store.spare_buffer(layout.nbytes)
    if buffer is None:
        buffer = np.empty(layout.nbytes, np.uint8)
    for dtype, start, end, indices in layout.runs:
        target = buffer[start:end].view(dtype)
        if len(indices) == 1:
            np.copyto(target, arrays[indices[0]].reshape(-1))
        else:
            np.concatenate([arrays[i].reshape(-1) for i in indices], out=target)
    return Packed(layout, buffer)


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
        self._order: list[int] = []        # the held steps, sorted
        # thinning candidates: (gap between its neighbours, step, before, after), checked
        # when popped (an entry whose step or neighbours changed since is skipped)
        self._candidates: list[tuple[int, int, int, int]] = []
        self._lock = threading.Lock()      # recorded in the worker, read in the UI thread
        self.bytes_used = 0
        self.dropped_too_large = 0
        self._spare: list[np.ndarray] = []   # buffers of dropped snapshots, for reuse

    # ---------------------------------------------------------------- writing
    def record(self, step: int, loss: float, parts: "Packed | tuple[dict, dict]") -> bool:
        """Keeps the snapshot of `step`: a `take_snapshot` (already copied) or a tuple
        (parameters, outputs) of arrays, copied here; False when it alone is larger than
        the budget."""
        if not isinstance(parts, Packed):
            parameters, outputs = parts
            arrays = [a for value, grad in parameters.values() for a in (value, grad)]
            parts = pack(list(parameters), list(outputs), arrays + list(outputs.values()),
                         self)
        if parts.buffer.nbytes > self.budget:
            self.dropped_too_large += 1
            return False
        snap = Snapshot(step, float(loss), parts)
        with self._lock:
            old = self._snaps.pop(step, None)
            if old is not None:
                self.bytes_used -= old.nbytes
            else:
                self._insert(step)
            self._snaps[step] = snap
            self.bytes_used += snap.nbytes
            self._shrink()
        return True

    def set_budget(self, budget_bytes: int) -> None:
        with self._lock:
            self.budget = max(0, int(budget_bytes))
            self._shrink()

    def clear(self) -> None:
        with self._lock:
            self._snaps.clear()
            self._order.clear()
            self._candidates.clear()
            self._spare.clear()
            self.bytes_used = 0

    def _insert(self, step: int) -> None:
        order = self._order
        if not order or step > order[-1]:
            order.append(step)
            at = len(order) - 1
        else:
            at = bisect.bisect_left(order, step)
            order.insert(at, step)
        # the step that has just become older than the last full_last, and any whose
        # neighbours changed, are candidates with their new gaps
        for i in {len(order) - 1 - self.full_last, at - 1, at, at + 1}:
            self._candidate(i)

    def _candidate(self, i: int) -> None:
        order = self._order
        if 0 < i < len(order) - self.full_last:
            heapq.heappush(self._candidates,
                           (order[i + 1] - order[i - 1], order[i], order[i - 1], order[i + 1]))

    def _shrink(self) -> None:
        """While over budget: the older step (not the oldest) whose neighbours are closest
        goes (the oldest of a tie); with two older steps or fewer, the oldest step goes."""
        order = self._order
        while self.bytes_used > self.budget and order:
            at = 0
            if len(order) - self.full_last > 2:
                at = self._best_candidate()
            victim = self._snaps.pop(order.pop(at))
            self.bytes_used -= victim.nbytes
            self._keep_buffer(victim)
            if at:
                self._candidate(at - 1)
                self._candidate(at)
        if len(self._candidates) > 4 * len(order) + 64:        # stale entries piled up
            self._candidates = []
            for i in range(1, len(order) - self.full_last):
                self._candidate(i)

    def _keep_buffer(self, snap: Snapshot) -> None:
        """Keeps a dropped snapshot's buffer for the next step's copy (no new allocation nor
        fresh pages), unless anyone else still holds the snapshot or an array of it."""
        packed = snap._packed
        # references: the caller's name and this argument (and getrefcount's own)
        if snap._views is None and sys.getrefcount(snap) == 3 \
                and sys.getrefcount(packed) == 3 and sys.getrefcount(packed.buffer) == 2 \
                and len(self._spare) < SPARE_BUFFERS:
            self._spare.append(packed.buffer)
            packed.buffer = None

    def spare_buffer(self, nbytes: int) -> np.ndarray | None:
        """A dropped snapshot's buffer of `nbytes` bytes to copy the next one into, if any."""
        with self._lock:
            for i, buffer in enumerate(self._spare):
                if buffer.nbytes == nbytes:
                    return self._spare.pop(i)
        return None

    def _best_candidate(self) -> int:
        """The index in _order of the valid candidate with the smallest (gap, step)."""
        order, heap = self._order, self._candidates
        while heap:
            _, step, before, after = heapq.heappop(heap)
            i = bisect.bisect_left(order, step)
            if 0 < i < len(order) - self.full_last and order[i] == step \
                    and order[i - 1] == before and order[i + 1] == after:
                return i
        # (not reached: every older step's current neighbours were pushed) - the slow way
        older = len(order) - self.full_last
        return min(range(1, older), key=lambda i: (order[i + 1] - order[i - 1], order[i]))

    # ---------------------------------------------------------------- reading
    def steps(self) -> list[int]:
        with self._lock:
            return list(self._order)

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
                  outputs: Iterable[str] | None = None,
                  store: "SnapshotStore | None" = None) -> Packed:
    """The snapshot of a session after a step, copied into one buffer (for
    `SnapshotStore.record`): `parameters` as (name, tensor) pairs with their .grad, and
    every node's "out" (or only the nodes `outputs` names). With `store`, into a buffer it
    dropped when there is one."""
    names, arrays = [], []
    for name, tensor in parameters:
        grad = tensor.grad
        names.append(name)
        arrays.append(_array(tensor))
        arrays.append(None if grad is None else _array(grad))
    nodes = session.document.nodes
    wanted = None if outputs is None else set(outputs)
    labels, outs = [], []
    for node_id, results in session.outputs.items():
        node = nodes.get(node_id)
        value = results.get("out") if results else None
        if node is None or not hasattr(value, "detach") or (wanted and node.label not in wanted):
            continue
        labels.append(node.label)
        outs.append(_array(value))
    return pack(names, labels, arrays + outs, store)


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


def _array(tensor: Any) -> np.ndarray:
    """A tensor's values without a copy where it is on the cpu (`pack` copies them)."""
    return np.asarray(tensor.numpy(force=True))
