"""`profile` and `record_function`: how long each engine op took, as torch.autograd.profiler
reports it (`prof.key_averages().table(sort_by="self_cpu_time_total")`, `export_chrome_trace`).

The profiler observes the engine's recording point (`engine.autograd.recording.record_ops`),
which times every op call while an observer is active, so it sees every op the program runs
under its public name (`aten::mm`, `aten::relu`, ... as PyTorch names them; a custom
`autograd.Function` under its class name) with its input shapes. `record_function(name)`
ranges enclose the ops run inside them: their "CPU total" includes those ops and their
"Self CPU" is the rest. Ops run by backward formulas are not recorded one by one (the
recording point is off during backward); the backward pass shows one
"autograd::engine::evaluate_function: <Node>" event per node the autograd engine ran.
Times are wall-clock seconds of this process (there is no separate device timing). With profile_memory, an op's
"CPU Mem" is the bytes of the new arrays it returned (views count nothing; frees are not seen).
"""
from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from time import perf_counter

from engine.autograd import recording

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]

_active: list = []          # the profiles collecting events now (innermost last)


def _format_time(time_us: float) -> str:
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_memory(nbytes: int) -> str:
    for unit, size in (("Gb", 1 << 30), ("Mb", 1 << 20), ("Kb", 1 << 10)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.2f} {unit}"
    return f"{nbytes} b"


def _format_share(time_us: float, total_us: float) -> str:
    return "NaN" if total_us == 0 else f"{time_us * 100.0 / total_us:.2f}%"


class FunctionEvent:
    """One op call or record_function range: name, start/end (us from the profile's start),
    input shapes, and the events inside it."""

    def __init__(self, id: int, name: str, start_us: float, end_us: float, input_shapes=None,
                 is_user_annotation: bool = False, memory: int = 0):
        self.id, self.name, self.key = id, name, name
        self._memory = memory
        self.start_us, self.end_us = start_us, end_us
        self.input_shapes = input_shapes or []
        self.is_user_annotation = is_user_annotation
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.thread = threading.get_ident()
        self.count = 1

    @property
    def cpu_time_total(self) -> float:
        return self.end_us - self.start_us

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_memory_usage(self) -> int:
        return self._memory + sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self) -> int:
        return self._memory

    cpu_time = cpu_time_total
    device_time_total = self_device_time_total = cuda_time_total = 0.0
    device_memory_usage = self_device_memory_usage = 0

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={_format_time(self.cpu_time_total)} "
                f"start_us={self.start_us:.3f} end_us={self.end_us:.3f} "
                f"cpu_children={[c.id for c in self.cpu_children]} input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events of one key (name, and input shapes when grouped by them) added up."""

    def __init__(self, key: str, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.is_user_annotation = False
        self.cpu_parent = None

    def add(self, event) -> "FunctionEventAvg":
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        self.cpu_memory_usage += event.cpu_memory_usage
        self.self_cpu_memory_usage += event.self_cpu_memory_usage
        self.is_user_annotation = event.is_user_annotation
        return self

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(1, self.count)

    self_cpu_time = property(lambda self: self.self_cpu_time_total / max(1, self.count))
    device_time_total = self_device_time_total = cuda_time_total = 0.0
    device_memory_usage = self_device_memory_usage = 0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time_total)} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events with PyTorch's summaries: key_averages, table, total_average,
    self_cpu_time_total, export_chrome_trace."""
    _profile_memory = False

    def __init__(self, events=(), profile_memory: bool = False):
        super().__init__(events)
        self._profile_memory = profile_memory

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> "EventList":
        groups: OrderedDict = OrderedDict()
        for event in self:
            key = (event.key, str(event.input_shapes)) if group_by_input_shape else event.key
            if key not in groups:
                groups[key] = FunctionEventAvg(event.key, event.input_shapes if group_by_input_shape else None)
            groups[key].add(event)
        return EventList(groups.values(), self._profile_memory)

    def total_average(self) -> FunctionEventAvg:
        total = FunctionEventAvg("Total")
        for event in self:
            total.add(event)
        return total

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_src_column_width: int = 75,
              max_name_column_width: int = 55, max_shapes_column_width: int = 80, header=None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """PyTorch's summary table: a row per event (or key, after key_averages)."""
        events = list(self)
        if not events:
            return ""
        if sort_by is not None:
            events.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        name_width = min(max(len(e.key) for e in events) + 4, max_name_column_width)
        shapes = any(e.input_shapes for e in events)
        shapes_width = min(max(len(str(e.input_shapes)) for e in events) + 4, max_shapes_column_width)
        memory = self._profile_memory
        headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
        headers += ["CPU Mem", "Self CPU Mem"] if memory else []
        headers.append("# of Calls")
        widths = [name_width] + [12] * (len(headers) - 1)
        if shapes:
            headers.append("Input Shapes")
            widths.append(shapes_width)
        row = "".join("{:>" + str(w) + "}  " for w in widths)
        sep = "".join("-" * w + "  " for w in widths)
        line_length = sum(w + 2 for w in widths) - 2

        def fmt(us):
            return {"s": f"{us / 1e6:.3f}s", "ms": f"{us / 1e3:.3f}ms",
                    "us": f"{us:.3f}us"}.get(time_unit) or _format_time(us)

        total = sum(e.self_cpu_time_total for e in events)
        lines = []
        if header is not None:
            lines += ["=" * line_length, header]
        if top_level_events_only:
            lines += ["=" * line_length, "This report only display top-level ops statistics"]
        lines += [sep, row.format(*headers), sep]
        shown = 0
        for e in events:
            if shown == row_limit:
                break
            if top_level_events_only and e.cpu_parent is not None:
                continue
            shown += 1
            name = e.key
            if len(name) >= max_name_column_width - 3:
                name = name[:max_name_column_width - 3] + "..."
            values = [name, _format_share(e.self_cpu_time_total, total), fmt(e.self_cpu_time_total),
                      _format_share(e.cpu_time_total, total), fmt(e.cpu_time_total),
                      fmt(e.cpu_time_total / max(1, e.count))]
            if memory:
                values += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
            values.append(e.count)
            if shapes:
                values.append(str(e.input_shapes)[:shapes_width])
            lines.append(row.format(*values))
        lines += [sep, f"Self CPU time total: {_format_time(total)}"]
        return "\n".join(lines) + "\n"

    def export_chrome_trace(self, path: str) -> None:
        """Write the events in Chrome's trace format (open in chrome://tracing or Perfetto)."""
        trace = [{"name": e.name, "ph": "X", "ts": e.start_us, "dur": e.cpu_time_total,
                  "tid": e.thread, "pid": "CPU functions",
                  "args": {"Input Dims": e.input_shapes} if e.input_shapes else {},
                  "cat": "user_annotation" if e.is_user_annotation else "cpu_op"}
                 for e in self]
        with open(path, "w") as f:
            json.dump({"traceEvents": trace}, f)

    def __str__(self):
        return self.table()


def _op_name(record) -> str:
    name = record.name
    return name if name[:1].isupper() else "aten::" + name


class profile:
    """`with profile() as prof:` records every engine op (and record_function range) run inside;
    then `prof.key_averages().table(...)`, `prof.function_events`, `prof.export_chrome_trace`."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None):
        self.enabled, self.record_shapes, self.profile_memory = enabled, record_shapes, profile_memory
        self.entered = False
        self.function_events: EventList | None = None
        self._raw: list = []
        self._t0 = 0.0
        self._stack = None

    # -- collecting ------------------------------------------------------------------------------
    def _us(self, t: float) -> float:
        return (t - self._t0) * 1e6

    def _on_op(self, record) -> None:
        shapes = [list(t.shape) for t in record.inputs] if self.record_shapes else []
        start = self._us(record.started)
        memory = sum(t._a.nbytes for t in record.outputs if t._base is None) \
            if self.profile_memory else 0    # new arrays (a view allocates nothing)
        self._raw.append((_op_name(record), start, start + record.elapsed * 1e6, shapes, False,
                          memory))

    def _range(self, name: str, started: float, ended: float) -> None:
        self._raw.append((name, self._us(started), self._us(ended), [], True, 0))

    def _start(self) -> None:
        self._raw, self._t0 = [], perf_counter()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(recording.record_ops(self._on_op, timed=True))
        _active.append(self)

    def _stop(self) -> None:
        _active.remove(self)
        self._stack.close()
        self.function_events = self._build()

    def __enter__(self):
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        if self.enabled:
            self._start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop()
        return False

    def _build(self) -> EventList:
        """Events in start order, each a child of the innermost range enclosing it."""
        raw = sorted(self._raw, key=lambda r: (r[1], -r[2]))
        events = EventList((FunctionEvent(i, name, s, e, shapes, user, memory)
                            for i, (name, s, e, shapes, user, memory) in enumerate(raw)),
                           self.profile_memory)
        open_ranges: list[FunctionEvent] = []
        for event in events:
            while open_ranges and open_ranges[-1].end_us < event.end_us:
                open_ranges.pop()
            if open_ranges:
                event.cpu_parent = open_ranges[-1]
                open_ranges[-1].cpu_children.append(event)
            if event.is_user_annotation:
                open_ranges.append(event)
        return events

    # -- results ---------------------------------------------------------------------------------
    def _events(self) -> EventList:
        if self.function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.function_events

    def events(self) -> EventList:
        return self._events()

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self._events().key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self) -> FunctionEventAvg:
        return self._events().total_average()

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False) -> str:
        return self._events().table(sort_by, row_limit, max_src_column_width,
                                    max_name_column_width, max_shapes_column_width, header,
                                    top_level_events_only)

    @property
    def self_cpu_time_total(self) -> float:
        return self._events().self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        self._events().export_chrome_trace(path)

    def __str__(self):
        return self.table()

    __repr__ = __str__


def _backward_node(node, started: float) -> None:
    """A backward node the autograd engine ran while profiling (PyTorch's name for the event)."""
    ended = perf_counter()
    for prof in _active:
        prof._raw.append((f"autograd::engine::evaluate_function: {node.name()}",
                          prof._us(started), prof._us(ended), [], False, 0))


class record_function(contextlib.ContextDecorator):
    """A named range in the profile: `with record_function("forward"): ...` or as a decorator."""

    def __init__(self, name: str, args: str | None = None):
        self.name, self.args = name, args
        self._started = None

    def __enter__(self):
        self._started = perf_counter()
        return self

    def __exit__(self, *exc):
        ended = perf_counter()
        for prof in _active:
            prof._range(self.name, self._started, ended)
        return False

