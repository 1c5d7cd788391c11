"""The worker process that runs one user script on the engine (`python -m` this module).

Started by `gradstudio.runtime.script_run.ScriptRun` with two pipe file descriptors: it reads
its orders on one (the run's settings first, then pause/resume/step/stop and live edits) and
sends events on the other, as pickled tuples:

    ("output", "stdout" | "stderr", text)       what the script printed
    ("step", {...})                             one optimizer step: loss, lr, norms, ...
    ("histograms", step, grads, weights)        now and then: arrays per parameter
    ("marker", step, text)                      a live edit took effect
    ("paused", step) / ("resumed", step)
    ("document", text, info)                    the recorded pass as a graph file's text
    ("error", kind, message, details)           kind: missing, syntax, exception
    ("done", status)                            finished, error, stopped

The process keeps `import torch` pointing at the engine (gradstudio.runtime.script_torch),
runs the script as __main__ in its own folder, records its ops (script_record), and applies
live edits in the one place where they belong: between backward and the optimizer's step
(a global optimizer pre-step hook), which is also where it pauses.
"""
from __future__ import annotations

import contextlib
import gc
import io
import math
import os
import runpy
import sys
import time
import traceback
from multiprocessing.connection import Connection

import numpy as np
from .host import host_values

HISTOGRAM_EVERY_S = 0.25
GC_THRESHOLD = 20_000     # allocations between two young-generation collections while recording


class _Quiet:
    """While gradstudio's own code runs inside the script (hooks), its ops are not the
    script's: recording is suspended."""

    def __enter__(self):
        from engine.autograd import recording
        self.token = recording.suspend()

    def __exit__(self, *exc) -> None:
        from engine.autograd import recording
        recording.resume(self.token)


quiet = _Quiet()


@contextlib.contextmanager
def _fewer_collections():
    """While a run records, Python's cyclic garbage collector runs less often. The recording
    keeps every op's tensors of a pass (and of the pass kept before it) alive, and with the
    default thresholds the collector went through them again every few hundred ops: on a
    chain of small ops that alone cost about a third of the plain run. Only cycles are left
    for longer; everything else is still freed at once."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class StopScript(BaseException):
    """Raised inside the script to end it (Stop, or --steps reached)."""


class _Forward(io.TextIOBase):
    """sys.stdout / sys.stderr of the script: each write goes to the parent as an event."""

    def __init__(self, send, stream: str) -> None:
        self.send, self.stream = send, stream

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self.send(("output", self.stream, text))
        return len(text)


class ScriptWorker:
    def __init__(self, events: Connection, control: Connection, config: dict) -> None:
        self.events, self.control, self.config = events, control, config
        self.step = 0
        self.max_steps = config.get("steps")
        self.paused = bool(config.get("paused", False))
        self.single_step = False
        self.lr: float | None = None
        self.clip: tuple[str, float] | None = None          # ("norm" | "value", max)
        self.frozen: set[str] = set()
        self.last_loss: float | None = None
        self._scaled_loss = None        # (scaler.scale(loss), loss) of the last GradScaler call
        self.started = time.perf_counter()
        self.last_histograms = 0.0
        self.before_step: dict[int, np.ndarray] = {}
        self.recorder = None

    def send(self, event) -> None:
        try:
            self.events.send(event)
        except (BrokenPipeError, OSError):
            raise StopScript() from None

    # ------------------------------------------------------------------ the run
    def run(self) -> str:
        from gradstudio.runtime.script_record import ScriptRecorder
        from gradstudio.runtime.script_torch import install_torch_alias
        path = os.path.abspath(self.config["path"])
        folder = os.path.dirname(path)
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            self.send(("error", "exception", f"cannot read {path}: {exc}", ""))
            return "error"
        try:
            compile(source, path, "exec")
        except SyntaxError as exc:
            where = f"{os.path.basename(exc.filename or path)}:{exc.lineno}:{exc.offset}"
            self.send(("error", "syntax", f"syntax error at {where}: {exc.msg}",
                       (exc.text or "").rstrip()))
            return "error"
        os.chdir(folder)
        sys.path.insert(0, folder)
        sys.argv = [path] + list(self.config.get("argv", []))
        install_torch_alias()
        import engine
        from engine.autograd import engine as autograd_engine
        from engine.autograd.recording import record_ops
        from engine.nn.modules import module as module_mod
        from engine.optim import optimizer as optimizer_mod
        record = self.config.get("record", True)
        self.recorder = recorder = ScriptRecorder(keep=self.config.get("iteration"))
        handles = [optimizer_mod.register_optimizer_step_pre_hook(self._before_step),
                   optimizer_mod.register_optimizer_step_post_hook(self._after_step)]
        if record:
            handles += [module_mod.register_module_forward_pre_hook(recorder.on_module_pre),
                        module_mod.register_module_forward_hook(recorder.on_module_post)]
        real_backward = autograd_engine.backward
        real_api_backward = engine.autograd.backward
        real_scale = engine.amp.GradScaler.scale

        def scale(scaler, outputs):
            # scaler.scale(loss).backward(): the dashboard shows the loss, not loss * scale
            scaled = real_scale(scaler, outputs)
            if isinstance(outputs, engine.Tensor) and scaled is not outputs:
                self._scaled_loss = (scaled, outputs)
            return scaled

        engine.amp.GradScaler.scale = scale

        def backward(tensors, *args, **kwargs):
            first = tensors[0] if isinstance(tensors, (tuple, list)) else tensors
            self._on_backward(first)
            return real_backward(tensors, *args, **kwargs)

        autograd_engine.backward = backward
        engine.autograd.backward = backward
        sys.stdout, sys.stderr = _Forward(self.send, "stdout"), _Forward(self.send, "stderr")
        sys.stdin = open(os.devnull)
        status = "finished"
        try:
            if record:
                with record_ops(recorder.on_op), _fewer_collections():
                    runpy.run_path(path, run_name="__main__")
            else:
                runpy.run_path(path, run_name="__main__")
        except StopScript:
            status = "stopped"
        except SystemExit as exc:
            if exc.code not in (None, 0):
                self.send(("error", "exception", f"the script exited with status {exc.code}",
                           ""))
                status = "error"
        except BaseException as exc:                 # noqa: BLE001 - the script's own error
            status = "error"
            self._report(exc, path)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
            autograd_engine.backward = real_backward
            engine.autograd.backward = real_api_backward
            engine.amp.GradScaler.scale = real_scale
            for handle in handles:
                handle.remove()
        if record:
            self._send_document(path, status)
        return status

    def _report(self, exc: BaseException, path: str) -> None:
        from gradstudio.runtime.script_record import is_user_file
        from gradstudio.runtime.script_torch import missing_name
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_file(f.filename)]
        where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
        missing = missing_name(exc)
        if missing:
            self.send(("error", "missing", f"{missing} is not in gradstudio's engine{where}", ""))
            return
        if self.recorder is not None:
            self._mark_failed_op(exc)
        lines = ["Traceback (most recent call last):\n"]
        lines += traceback.format_list(frames)
        lines += traceback.format_exception_only(type(exc), exc)
        message = traceback.format_exception_only(type(exc), exc)[-1].strip()
        self.send(("error", "exception", f"{message}{where}", "".join(lines)))

    def _mark_failed_op(self, exc: BaseException) -> None:
        from engine.autograd import recording
        tb = exc.__traceback__
        frame = None
        while tb is not None:
            if tb.tb_frame.f_code is recording._call.__code__:
                frame = tb.tb_frame          # the outermost op call that raised
                break
            tb = tb.tb_next
        if frame is not None:
            try:
                self.recorder.on_failed_op(frame, exc)
            except Exception:                # noqa: BLE001 - the report matters more
                pass

    def _send_document(self, path: str, status: str) -> None:
        from gradstudio.graph import fileio
        recorder = self.recorder
        try:
            recorder.finish()
            doc = recorder.document(title=os.path.basename(path))
            doc.meta["script"].update({"path": path, "status": status,
                                       "iteration": recorder.kept_index,
                                       "iterations": recorder.passes,
                                       "steps": self.step})
            text = fileio.dumps(doc, pretty=False)     # for the window, not a file
        except Exception as exc:             # noqa: BLE001 - a recording we cannot write
            self.send(("error", "exception", f"gradstudio could not turn the recording into "
                       f"a graph: {type(exc).__name__}: {exc}", traceback.format_exc()))
            return
        self.send(("document", text, {"iteration": recorder.kept_index,
                                      "iterations": recorder.passes}))

    # ------------------------------------------------------------------ training steps
    def _on_backward(self, tensor) -> None:
        with quiet:
            self._on_backward_quiet(tensor)

    def _on_backward_quiet(self, tensor) -> None:
        scaled = self._scaled_loss
        loss = scaled[1] if scaled is not None and scaled[0] is tensor else tensor
        try:
            if loss.numel() == 1:
                self.last_loss = float(loss.detach().reshape(()).item())
        except Exception:                    # noqa: BLE001 - a loss we cannot read
            pass
        if self.recorder is not None and self.config.get("record", True):
            self.recorder.on_backward(tensor)

    def _named_params(self, optimizer) -> list[tuple[str, object]]:
        names = self.recorder.param_names if self.recorder else {}
        out, k = [], 0
        for group in optimizer.param_groups:
            for p in group["params"]:
                out.append((names.get(id(p)) or f"param{k}", p))
                k += 1
        return out

    def _before_step(self, optimizer, args, kwargs):
        with quiet:
            return self._before_step_quiet(optimizer)

    def _after_step(self, optimizer, args, kwargs) -> None:
        with quiet:
            self._after_step_quiet(optimizer)

    def _before_step_quiet(self, optimizer):
        self._obey(block=True)          # pauses here: after backward, before the step
        if self.recorder is not None and self.config.get("record", True):
            self.recorder.on_step()
        import engine
        named = self._named_params(optimizer)
        if self.lr is not None:
            for group in optimizer.param_groups:
                group["lr"] = self.lr
        for name, p in named:
            if name in self.frozen:
                p.grad = None
        with_grad = [(n, p) for n, p in named if p.grad is not None]
        pre = _total_norm([p.grad for _, p in with_grad])
        if self.clip is not None and with_grad:
            kind, limit = self.clip
            if kind == "norm":
                engine.nn.utils.clip_grad_norm_([p for _, p in with_grad], limit)
            else:
                engine.nn.utils.clip_grad_value_([p for _, p in with_grad], limit)
        post = _total_norm([p.grad for _, p in with_grad])
        self.before_step = {id(p): _array(p) for _, p in with_grad}
        self._pending = {"pre": pre, "post": post,
                         "grad_norms": {n: _total_norm([p.grad]) for n, p in with_grad},
                         "lr": float(optimizer.param_groups[0].get("lr", math.nan))}
        now = time.perf_counter()
        if now - self.last_histograms >= HISTOGRAM_EVERY_S or self.step == 0:
            self.last_histograms = now
            self._histograms = ({n: _grad_array(p) for n, p in with_grad},
                                {n: _array(p) for n, p in named})
        else:
            self._histograms = None
        return None

    def _after_step_quiet(self, optimizer) -> None:
        ratios = {}
        for name, p in self._named_params(optimizer):
            before = self.before_step.get(id(p))
            if before is not None:
                after = _array(p)
                ratios[name] = float(np.linalg.norm(after - before) /
                                     max(float(np.linalg.norm(before)), 1e-12))
        pending = getattr(self, "_pending", {})
        elapsed = time.perf_counter() - self.started
        self.send(("step", {"step": self.step, "loss": self.last_loss,
                            "lr": pending.get("lr"), "grad_norm_pre_clip": pending.get("pre"),
                            "grad_norm_post_clip": pending.get("post"),
                            "grad_norms": pending.get("grad_norms", {}),
                            "update_ratios": ratios,
                            "steps_per_sec": (self.step + 1) / elapsed if elapsed > 0 else None}))
        if self._histograms is not None:
            self.send(("histograms", self.step, *self._histograms))
        self.step += 1
        if self.max_steps is not None and self.step >= self.max_steps:
            raise StopScript()
        if self.single_step:
            self.single_step, self.paused = False, True

    def _obey(self, block: bool) -> None:
        """Reads the parent's orders; while paused, waits for them (at a step boundary)."""
        announced = False
        while True:
            while self.control.poll():
                try:
                    order = self.control.recv()
                except (EOFError, OSError):
                    raise StopScript() from None
                self._apply(order)
            if not (self.paused and block):
                if announced:
                    self.send(("resumed", self.step))
                return
            if not announced:
                self.send(("paused", self.step))
                announced = True
            self.control.poll(0.1)

    def _apply(self, order) -> None:
        kind = order[0]
        if kind == "stop":
            raise StopScript()
        if kind == "pause":
            self.paused = True
        elif kind == "resume":
            self.paused = False
        elif kind == "step":
            self.paused, self.single_step = False, True
        elif kind == "lr":
            self.lr = float(order[1])
            self.send(("marker", self.step, f"lr {self.lr:g}"))
        elif kind == "clip":
            self.clip = None if order[1] is None else (str(order[1]), float(order[2]))
            text = "no clipping" if self.clip is None else f"clip {self.clip[0]} {self.clip[1]:g}"
            self.send(("marker", self.step, text))
        elif kind == "freeze":
            name, frozen = str(order[1]), bool(order[2])
            (self.frozen.add if frozen else self.frozen.discard)(name)
            self.send(("marker", self.step, f"{'freeze' if frozen else 'unfreeze'} {name}"))


def _array(p) -> np.ndarray:
    return np.array(host_values(p), dtype=np.float64, copy=True)


def _grad_array(p) -> np.ndarray:
    return np.array(host_values(p.grad), dtype=np.float64, copy=True)


def _total_norm(grads) -> float:
    total = 0.0
    for g in grads:
        if g is not None:
            a = host_values(g).astype(np.float64)
            total += float(np.dot(a.ravel(), a.ravel()))
    return math.sqrt(total)


def main(argv: list[str]) -> int:
    events = Connection(int(argv[0]), readable=False)
    control = Connection(int(argv[1]), writable=False)
    config = control.recv()
    worker = ScriptWorker(events, control, config)
    try:
        status = worker.run()
    except StopScript:
        status = "stopped"
    try:
        events.send(("done", status))
    except (BrokenPipeError, OSError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
