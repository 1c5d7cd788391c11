"""`engine.profiler`, as torch.profiler: `profile(activities=..., schedule=..., on_trace_ready=...)`
with `step()`, `record_function`, `ProfilerActivity`, `schedule`. The op timing itself is
engine.autograd.profiler's (every engine op, wall-clock, CPU only)."""
from __future__ import annotations

import enum

from engine.autograd.profiler import EventList, record_function
from engine.autograd import profiler as _autograd_profiler

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """step -> ProfilerAction: skip_first steps, then cycles of wait, warmup and active steps
    (the last active step of a cycle saves), repeat times (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")

    def action(step: int) -> ProfilerAction:
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        pos = step % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


class profile(_autograd_profiler.profile):
    """Records engine ops while the schedule says RECORD (always, without a schedule); at each
    RECORD_AND_SAVE step's end it calls on_trace_ready(prof) with that cycle's events."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False, experimental_config=None,
                 execution_trace_observer=None, acc_events: bool = False, use_cuda=None,
                 custom_trace_id_callback=None):
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory)
        self.activities = activities or [ProfilerActivity.CPU]
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self._recording = False

    def _action(self) -> ProfilerAction:
        return self.schedule(self.step_num) if self.schedule else ProfilerAction.RECORD

    def _sync(self) -> None:
        want = self._action() in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if want and not self._recording:
            self._start()
            self._recording = True
        elif not want and self._recording:
            self._stop()
            self._recording = False

    def __enter__(self):
        self.entered = True
        self._sync()
        return self

    def __exit__(self, *exc):
        if self._recording:
            self._stop()
            self._recording = False
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        return False

    def step(self) -> None:
        saving = self._action() == ProfilerAction.RECORD_AND_SAVE
        if saving and self._recording:
            self._stop()
            self._recording = False
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        self.step_num += 1
        self._sync()

    def _stop(self) -> None:
        kept = list(self.function_events or []) if self.schedule is None else []
        super()._stop()
        if kept:
            self.function_events = EventList(kept + list(self.function_events), self.profile_memory)
