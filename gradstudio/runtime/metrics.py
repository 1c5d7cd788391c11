"""Training metrics in bounded ring buffers: one writer (the training worker), one reader (a UI timer).

Memory is allocated once, when a buffer is made, and never grows however long training runs:
a full buffer overwrites its oldest rows. The writer records a whole step under one lock; the
reader takes a `snapshot()`, whose curves are plain NumPy copies (oldest first) made under the
same lock when first read, and draws from it at its own pace. `version` goes up by one with
every write, so a reader can skip work:

    metrics = TrainingMetrics()
    # worker thread, once per step:
    metrics.record_step(step, loss=0.7, lr=0.1, grad_norm_pre_clip=3.2, grad_norm_post_clip=1.0,
                        grad_norms={"fc1.weight": 0.4}, update_ratios={"fc1.weight": 1e-3},
                        steps_per_sec=850.0)
    metrics.record_validation(step, val_loss=0.8, accuracy=0.9)        # every few steps
    metrics.record_histograms(step, grads={"fc1.weight": g}, weights={"fc1.weight": w})
    metrics.add_marker(step, "lr 0.1 -> 0.01")
    metrics.set_decision_boundary(DecisionBoundary(step, (-2, 2), (-2, 2), grid, points, labels))
    # UI timer:
    snap = metrics.snapshot_if_newer(last_version)     # None when nothing changed
    steps, losses = snap.loss                           # two arrays of the same length

From another process (the training worker process, a script's loop run out of the UI's
process) the same publishing API is `MetricsPublisher`: it sends the calls through a
`SharedRing` (a bounded byte ring in shared memory, never blocking the producer), and the
reader's `MetricsReceiver.drain()` replays them into its own TrainingMetrics:

    ring = SharedRing()                          # made by the reader; the child attaches
    # producer process:
    metrics = MetricsPublisher(ring)             # record_step, record_validation, ... as above
    metrics.event("state", state="running")      # anything else the reader should hear
    metrics.flush()                              # (also done every FLUSH_S by the calls)
    # reader, at its frame rate:
    events = MetricsReceiver(ring, local_metrics).drain()   # metrics replayed, events returned

Histograms use fixed bins so that rows stack into a heatmap over time (TensorBoard's
distributions): gradients are binned by log10 of their magnitude (`GRAD_LOG10_EDGES`, the
view in which vanishing and exploding gradients separate), weights by value
(`WEIGHT_EDGES`). Values outside the edges are counted in the first or last bin; exact zeros
in gradients are counted in the first bin.
"""
from __future__ import annotations

import mmap
import os
import pickle
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import numpy as np

GRAD_LOG10_EDGES = np.linspace(-10.0, 2.0, 49)      # 48 bins over log10|grad| from 1e-10 to 1e2
WEIGHT_EDGES = np.linspace(-3.0, 3.0, 49)           # 48 bins over the weight value


class RingBuffer:
    """A fixed-capacity FIFO of rows of one shape and dtype, backed by one preallocated array.

    Not locked itself: `TrainingMetrics` guards its buffers with its own lock.

        buf = RingBuffer(3)
        for v in (1, 2, 3, 4):
            buf.append(v)
        buf.array()        # array([2., 3., 4.]), oldest first, a copy
        len(buf), buf.total_appended     # 3, 4
    """

    def __init__(self, capacity: int, row_shape: tuple[int, ...] = (), dtype=np.float64) -> None:
        if capacity < 1:
            raise ValueError(f"ring buffer capacity must be at least 1, got {capacity}")
        self.capacity = int(capacity)
        # np.full writes every byte now, so the memory is resident from the start (np.zeros
        # would let the OS hand pages over as rows arrive, and RSS would creep up to capacity)
        self._data = np.full((self.capacity, *row_shape), 0, dtype=dtype)
        self._next = 0              # index the next row goes to
        self.total_appended = 0     # rows ever appended (>= len once the buffer wrapped)

    def __len__(self) -> int:
        return min(self.total_appended, self.capacity)

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self._data.shape[1:]

    def append(self, row) -> None:
        self._data[self._next] = row
        self._next = (self._next + 1) % self.capacity
        self.total_appended += 1

    def array(self) -> np.ndarray:
        """A copy of the rows held, oldest first: shape (len(self), *row_shape)."""
        n = len(self)
        if n < self.capacity:
            return self._data[:n].copy()
        return np.concatenate((self._data[self._next:], self._data[:self._next]))

    def latest(self):
        """The newest row (a copy for rows of shape > 0), or None when empty."""
        if not self.total_appended:
            return None
        row = self._data[self._next - 1]
        return row.copy() if self._data.ndim > 1 else row.item()

    def clear(self) -> None:
        self._next = 0
        self.total_appended = 0


class Series:
    """A curve: the step of each point and its value, in two ring buffers of one capacity.
    `arrays()` hands out the same copy again while nothing was appended."""

    def __init__(self, capacity: int) -> None:
        self.steps = RingBuffer(capacity, dtype=np.int64)
        self.values = RingBuffer(capacity)
        self._copy: tuple[int, Curve] | None = None     # (total_appended, copy) last handed out

    def __len__(self) -> int:
        return len(self.values)

    def append(self, step: int, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)

    def arrays(self) -> "Curve":
        total = self.values.total_appended
        if self._copy is None or self._copy[0] != total:
            self._copy = (total, Curve(self.steps.array(), self.values.array()))
        return self._copy[1]

    def clear(self) -> None:
        self.steps.clear()
        self.values.clear()
        self._copy = None


class Curve(NamedTuple):
    """A snapshot of a `Series`: `steps, values = curve`."""
    steps: np.ndarray      # int64, shape (n,)
    values: np.ndarray     # float64, shape (n,)


class HistogramHistory(NamedTuple):
    """A snapshot of one parameter's histograms: `latest` for a bar plot, `counts` over
    `steps` for a heatmap (rows oldest first); `edges` has one more entry than each row."""
    edges: np.ndarray      # (bins + 1,)
    steps: np.ndarray      # (k,)
    counts: np.ndarray     # (k, bins)
    latest: np.ndarray     # (bins,), zeros before the first record


class _Histograms:
    def __init__(self, edges: np.ndarray, capacity: int) -> None:
        self.edges = edges
        self.steps = RingBuffer(capacity, dtype=np.int64)
        self.counts = RingBuffer(capacity, row_shape=(len(edges) - 1,))
        self._copy: tuple[int, HistogramHistory] | None = None

    def append(self, step: int, counts: np.ndarray) -> None:
        self.steps.append(step)
        self.counts.append(counts)

    def snapshot(self) -> HistogramHistory:
        total = self.counts.total_appended
        if self._copy is None or self._copy[0] != total:
            latest = self.counts.latest()
            if latest is None:
                latest = np.zeros(len(self.edges) - 1)
            self._copy = (total, HistogramHistory(self.edges, self.steps.array(),
                                                  self.counts.array(), latest))
        return self._copy[1]


def histogram_counts(values: np.ndarray, edges: np.ndarray, log10_magnitude: bool = False) -> np.ndarray:
    """Counts of `values` in the bins between `edges`, out-of-range values clamped into the
    end bins; with `log10_magnitude`, values are binned by log10|v| (zeros in the first bin)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if log10_magnitude:
        with np.errstate(divide="ignore"):
            v = np.log10(np.abs(v))
        v[~np.isfinite(v)] = edges[0]
    v = np.clip(v, edges[0], edges[-1])
    counts, _ = np.histogram(v, bins=edges)
    return counts.astype(np.float64)


def bin_histograms(grads: Mapping[str, np.ndarray] | None, weights: Mapping[str, np.ndarray] | None,
                   grad_edges: np.ndarray = GRAD_LOG10_EDGES, weight_edges: np.ndarray = WEIGHT_EDGES
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Histogram rows per parameter: gradients by log10 magnitude, weights by value."""
    return ({name: histogram_counts(a, grad_edges, log10_magnitude=True)
             for name, a in (grads or {}).items()},
            {name: histogram_counts(a, weight_edges) for name, a in (weights or {}).items()})


@dataclass(frozen=True)
class DecisionBoundary:
    """For 2-D inputs: the model's output on a grid over the data, and the data points.

    grid[i, j] is the output (probability of class 1, or the predicted class index) at
    x = xs[j], y = ys[i], with xs spanning `x_range` and ys spanning `y_range` evenly."""
    step: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    grid: np.ndarray            # (ny, nx)
    points: np.ndarray          # (n, 2) data inputs
    labels: np.ndarray          # (n,) class of each point


@dataclass(frozen=True)
class Marker:
    """A change applied during training, drawn on the loss curve at `step`."""
    step: int
    text: str


class MetricsSnapshot:
    """Everything the dashboard draws, as of `version`. Per-parameter dicts are keyed by the
    parameter's name ("<node label>.weight", "<leaf label>", ...), in model order.

    Cheap to take: each field is copied out of the buffers the first time it is read (under
    the metrics' lock, so a curve's steps and values always match) and then kept, and a
    curve that has not changed since an earlier read hands out that read's arrays again. So a
    reader pays only for what it draws, and a field read later may be a few steps newer than
    `version`. The arrays are shared between snapshots: treat them as read-only.

    version, step (last recorded step, -1 before the first), markers, decision_boundary and
    weighted (the names of the parameters with weight histograms, in model order: a
    reader's way to learn them without copying a histogram) are taken at once; the
    curves are:

        loss, val_loss, accuracy (classification only), lr, steps_per_sec: Curve
        grad_norm_pre_clip, grad_norm_post_clip: Curve, total L2 norm of all gradients
            (post == pre without clipping)
        grad_norms: dict[str, Curve], per parameter L2 norm of its gradient, before clipping
        update_ratios: dict[str, Curve], per parameter ||update|| / ||weight||
        grad_histograms: dict[str, HistogramHistory], binned by log10|grad|, after clipping
        weight_histograms: dict[str, HistogramHistory], binned by value
    """

    def __init__(self, metrics: "TrainingMetrics", version: int, step: int,
                 markers: tuple[Marker, ...], decision_boundary: DecisionBoundary | None,
                 weighted: tuple[str, ...] = ()) -> None:
        self.version = version
        self.step = step
        self.markers = markers
        self.decision_boundary = decision_boundary
        self.weighted = weighted
        self._metrics = metrics
        self._read: dict[str, Any] = {}

    def _field(self, name: str) -> Any:
        if name not in self._read:
            self._read[name] = self._metrics._copy_of(name)
        return self._read[name]

    loss = property(lambda self: self._field("loss"))
    val_loss = property(lambda self: self._field("val_loss"))
    accuracy = property(lambda self: self._field("accuracy"))
    lr = property(lambda self: self._field("lr"))
    grad_norm_pre_clip = property(lambda self: self._field("grad_norm_pre_clip"))
    grad_norm_post_clip = property(lambda self: self._field("grad_norm_post_clip"))
    steps_per_sec = property(lambda self: self._field("steps_per_sec"))
    grad_norms = property(lambda self: self._field("grad_norms"))
    update_ratios = property(lambda self: self._field("update_ratios"))
    grad_histograms = property(lambda self: self._field("grad_histograms"))
    weight_histograms = property(lambda self: self._field("weight_histograms"))


class TrainingMetrics:
    """All metrics of one training run, thread-safe for one writer and one reader.

    capacity: points kept per per-step curve (loss, lr, norms, steps/sec);
    parameter_capacity: points kept per per-parameter curve;
    histogram_capacity: rows kept per parameter histogram history;
    marker_capacity: change markers kept."""

    def __init__(self, capacity: int = 100_000, parameter_capacity: int = 20_000,
                 histogram_capacity: int = 500, marker_capacity: int = 1_000,
                 grad_edges: np.ndarray = GRAD_LOG10_EDGES, weight_edges: np.ndarray = WEIGHT_EDGES) -> None:
        self.capacity = capacity
        self.parameter_capacity = parameter_capacity
        self.histogram_capacity = histogram_capacity
        self.grad_edges = np.asarray(grad_edges, dtype=np.float64)
        self.weight_edges = np.asarray(weight_edges, dtype=np.float64)
        self._lock = threading.Lock()
        self._version = 0
        self._step = -1
        self.loss = Series(capacity)
        self.val_loss = Series(capacity)
        self.accuracy = Series(capacity)
        self.lr = Series(capacity)
        self.grad_norm_pre_clip = Series(capacity)
        self.grad_norm_post_clip = Series(capacity)
        self.steps_per_sec = Series(capacity)
        self.grad_norms: dict[str, Series] = {}
        self.update_ratios: dict[str, Series] = {}
        self.grad_histograms: dict[str, _Histograms] = {}
        self.weight_histograms: dict[str, _Histograms] = {}
        self.markers: deque[Marker] = deque(maxlen=marker_capacity)
        self.decision_boundary: DecisionBoundary | None = None

    # ------------------------------------------------------------------ writer
    @property
    def version(self) -> int:
        return self._version

    @property
    def step(self) -> int:
        """The last step recorded (-1 before the first)."""
        return self._step

    def record_step(self, step: int, *, loss: float, lr: float | None = None,
                    grad_norm_pre_clip: float | None = None, grad_norm_post_clip: float | None = None,
                    grad_norms: Mapping[str, float] | None = None,
                    update_ratios: Mapping[str, float] | None = None,
                    steps_per_sec: float | None = None) -> None:
        """One training step's scalars; None leaves that curve without a point this step."""
        with self._lock:
            self._step = step
            self.loss.append(step, loss)
            for series, value in ((self.lr, lr), (self.grad_norm_pre_clip, grad_norm_pre_clip),
                                  (self.grad_norm_post_clip, grad_norm_post_clip),
                                  (self.steps_per_sec, steps_per_sec)):
                if value is not None:
                    series.append(step, value)
            for table, values in ((self.grad_norms, grad_norms), (self.update_ratios, update_ratios)):
                for name, value in (values or {}).items():
                    series = table.get(name)
                    if series is None:
                        series = table[name] = Series(self.parameter_capacity)
                    series.append(step, value)
            self._version += 1

    def record_validation(self, step: int, *, val_loss: float | None = None,
                          accuracy: float | None = None) -> None:
        with self._lock:
            if val_loss is not None:
                self.val_loss.append(step, val_loss)
            if accuracy is not None:
                self.accuracy.append(step, accuracy)
            self._version += 1

    def record_histograms(self, step: int, *, grads: Mapping[str, np.ndarray] | None = None,
                          weights: Mapping[str, np.ndarray] | None = None) -> None:
        """Bins each array (outside the lock) and appends one histogram row per parameter."""
        self.add_histogram_rows(step, *bin_histograms(grads, weights, self.grad_edges,
                                                      self.weight_edges))

    def add_histogram_rows(self, step: int, grad_rows: Mapping[str, np.ndarray],
                           weight_rows: Mapping[str, np.ndarray]) -> None:
        """Appends rows already binned with this metrics' edges (see `bin_histograms`)."""
        with self._lock:
            for table, rows, edges in ((self.grad_histograms, grad_rows, self.grad_edges),
                                       (self.weight_histograms, weight_rows, self.weight_edges)):
                for name, counts in rows.items():
                    history = table.get(name)
                    if history is None:
                        history = table[name] = _Histograms(edges, self.histogram_capacity)
                    history.append(step, counts)
            self._version += 1

    def add_marker(self, step: int, text: str) -> None:
        with self._lock:
            self.markers.append(Marker(step, text))
            self._version += 1

    def set_decision_boundary(self, boundary: DecisionBoundary) -> None:
        with self._lock:
            self.decision_boundary = boundary
            self._version += 1

    def clear(self) -> None:
        """Forget everything (a new run); capacities and bins stay."""
        with self._lock:
            for series in (self.loss, self.val_loss, self.accuracy, self.lr, self.grad_norm_pre_clip,
                           self.grad_norm_post_clip, self.steps_per_sec):
                series.clear()
            self.grad_norms.clear()
            self.update_ratios.clear()
            self.grad_histograms.clear()
            self.weight_histograms.clear()
            self.markers.clear()
            self.decision_boundary = None
            self._step = -1
            self._version += 1

    # ------------------------------------------------------------------ reader
    def snapshot(self) -> MetricsSnapshot:
        """The metrics as of now; its curves are copied when first read (see MetricsSnapshot)."""
        with self._lock:
            return MetricsSnapshot(self, self._version, self._step, tuple(self.markers),
                                   self.decision_boundary, tuple(self.weight_histograms))

    def _copy_of(self, name: str) -> Any:
        """One field of a snapshot: a Curve, or a dict of Curves or HistogramHistories."""
        with self._lock:
            field = getattr(self, name)
            if isinstance(field, Series):
                return field.arrays()
            return {key: item.arrays() if isinstance(item, Series) else item.snapshot()
                    for key, item in field.items()}

    def snapshot_if_newer(self, version: int) -> MetricsSnapshot | None:
        """A snapshot when something was written after `version`, else None (cheap to poll)."""
        if self._version == version:
            return None
        return self.snapshot()

    def latest_loss(self) -> float | None:
        with self._lock:
            return self.loss.values.latest()


# ====================================================================== between processes
class SharedRing:
    """A one-way byte ring in shared memory, from one writer process to one reader.

    Frames (a length, then the bytes) go in whole or not at all: `write` returns False
    when the frame does not fit in what the reader has not read yet, and never waits. Two
    64-bit counters stand before the bytes: bytes ever written (moved only by the writer,
    after the frame's bytes) and bytes ever read (only by the reader); neither side takes
    a lock, so a writer killed at any moment leaves the reader nothing worse than its last
    whole frame. The memory is an anonymous shared file: the reader makes the ring, and the
    writer's process, given `fileno()` (e.g. subprocess's pass_fds), attaches with
    `SharedRing.attach(fd)`."""

    LENGTH = 4      # bytes of a frame's length prefix
    HEADER = 16     # the two counters

    def __init__(self, capacity: int = 8 << 20, *, _fd: int | None = None) -> None:
        if _fd is None:
            _fd = os.memfd_create("gradstudio-metrics") if hasattr(os, "memfd_create") \
                else os.dup(tempfile.TemporaryFile().fileno())
            os.ftruncate(_fd, self.HEADER + int(capacity))
        self._fd = _fd
        self._map = mmap.mmap(_fd, 0)           # shared, the whole file
        self.capacity = len(self._map) - self.HEADER
        self._counters = np.frombuffer(self._map, dtype=np.uint64, count=2)
        self._bytes = np.frombuffer(self._map, dtype=np.uint8, offset=self.HEADER)

    @classmethod
    def attach(cls, fd: int) -> "SharedRing":
        """The ring whose file `fd` (inherited from its maker) is."""
        return cls(_fd=fd)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        """Frees this side's mapping; the memory goes when both sides closed theirs."""
        self._counters = self._bytes = None
        try:
            self._map.close()
        except BufferError:          # a caller still holds a view: the mapping outlives it
            pass
        os.close(self._fd)

    @property
    def unread(self) -> int:
        return int(self._counters[0]) - int(self._counters[1])

    def write(self, payload: bytes) -> bool:
        """Appends one frame; False (nothing written) when the unread bytes leave no room."""
        frame = len(payload).to_bytes(self.LENGTH, "little") + payload
        written = int(self._counters[0])
        if len(frame) > self.capacity - (written - int(self._counters[1])):
            return False
        self._put(written, np.frombuffer(frame, dtype=np.uint8))
        self._counters[0] = written + len(frame)      # published after the bytes
        return True

    def read(self) -> list[bytes]:
        """Every whole frame written since the last read, oldest first."""
        read, written = int(self._counters[1]), int(self._counters[0])
        frames = []
        while written - read >= self.LENGTH:
            size = int.from_bytes(self._get(read, self.LENGTH), "little")
            frames.append(self._get(read + self.LENGTH, size))
            read += self.LENGTH + size
        self._counters[1] = read
        return frames

    def _put(self, position: int, data: np.ndarray) -> None:
        start = position % self.capacity
        first = min(len(data), self.capacity - start)
        self._bytes[start:start + first] = data[:first]
        self._bytes[:len(data) - first] = data[first:]

    def _get(self, position: int, size: int) -> bytes:
        start = position % self.capacity
        first = min(size, self.capacity - start)
        return self._bytes[start:start + first].tobytes() + self._bytes[:size - first].tobytes()


# The TrainingMetrics methods a MetricsPublisher's records may call on the reader's side.
PUBLISHED = ("record_step", "record_validation", "add_histogram_rows", "add_marker",
             "set_decision_boundary", "clear")


class MetricsPublisher:
    """TrainingMetrics' publishing API (record_step, record_validation, record_histograms,
    add_marker, set_decision_boundary, clear) for a producer in another process.

    Each call is kept as a record and the records go through `ring` as one pickled frame
    every FLUSH_S (checked at each call) and at `flush()`: a few microseconds per call, so
    the producer's speed does not depend on the reader's. Histograms are binned here, so
    only their counts travel. When the reader falls so far behind that the ring is full,
    records wait here, at most MAX_WAITING of them; older ones are dropped and a marker
    says how many once the ring has room again. `event(kind, **data)` sends anything else
    (state changes, warnings) in order with the metrics."""

    FLUSH_S = 0.02
    MAX_WAITING = 50_000

    def __init__(self, ring: SharedRing, grad_edges: np.ndarray = GRAD_LOG10_EDGES,
                 weight_edges: np.ndarray = WEIGHT_EDGES) -> None:
        self.ring = ring
        self.grad_edges, self.weight_edges = grad_edges, weight_edges
        self._lock = threading.Lock()      # the producer's threads may share one publisher
        self._records: deque = deque()
        self._dropped = 0
        self._last_step = -1
        self._flushed_at = time.perf_counter()

    def record_step(self, step: int, **values: Any) -> None:
        self._last_step = step
        self._put(("record_step", (step,), values))

    def record_validation(self, step: int, **values: Any) -> None:
        self._put(("record_validation", (step,), values))

    def record_histograms(self, step: int, *, grads: Mapping[str, np.ndarray] | None = None,
                          weights: Mapping[str, np.ndarray] | None = None) -> None:
        rows = bin_histograms(grads, weights, self.grad_edges, self.weight_edges)
        self._put(("add_histogram_rows", (step, *rows), {}))

    def add_marker(self, step: int, text: str) -> None:
        self._put(("add_marker", (step, text), {}))

    def set_decision_boundary(self, boundary: DecisionBoundary) -> None:
        self._put(("set_decision_boundary", (boundary,), {}))

    def clear(self) -> None:
        self._put(("clear", (), {}))

    def event(self, kind: str, **data: Any) -> None:
        """A record for the reader itself (MetricsReceiver.drain returns it)."""
        self._put((kind, (), data))

    def _put(self, record: tuple) -> None:
        with self._lock:
            self._records.append(record)
            if len(self._records) > self.MAX_WAITING:
                self._records.popleft()
                self._dropped += 1
            if time.perf_counter() - self._flushed_at >= self.FLUSH_S:
                self._flush()

    def flush(self) -> bool:
        """Sends what waits; False when the ring had no room (it stays for the next try)."""
        with self._lock:
            return self._flush()

    def _flush(self) -> bool:
        self._flushed_at = time.perf_counter()
        while self._records or self._dropped:
            records = list(self._records)
            if self._dropped:
                records.insert(0, ("add_marker", (self._last_step, (
                    f"{self._dropped} metric records dropped: the window did not read them")), {}))
            n = len(records)
            payload = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
            while len(payload) > self.ring.capacity // 4 and n > 1:   # a frame always fits
                n //= 2
                payload = pickle.dumps(records[:n], protocol=pickle.HIGHEST_PROTOCOL)
            if not self.ring.write(payload):
                return False
            for _ in range(n - (1 if self._dropped else 0)):
                self._records.popleft()
            self._dropped = 0
        return True


class MetricsReceiver:
    """The reader's end of a `SharedRing` fed by a MetricsPublisher: `drain()` replays the
    metrics records into `metrics` and returns the other records as (kind, data) events."""

    def __init__(self, ring: SharedRing, metrics: TrainingMetrics) -> None:
        self.ring = ring
        self.metrics = metrics

    def drain(self) -> list[tuple[str, dict]]:
        events = []
        for frame in self.ring.read():
            for kind, args, kwargs in pickle.loads(frame):
                if kind in PUBLISHED:
                    getattr(self.metrics, kind)(*args, **kwargs)
                else:
                    events.append((kind, kwargs))
        return events
