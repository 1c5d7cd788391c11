"""Mixed precision: `autocast` (matmul-like layers run in float16) and `GradScaler`
(loss scaling that skips steps whose gradients overflowed), with `torch.amp`'s names.

Inside `autocast(device_type)`, `matmul` (and `@`), `nn.functional.linear` and `conv2d`
cast their float32 inputs to the autocast dtype (float16; NumPy has no bfloat16), compute
the products in float32 and round the result to float16, as PyTorch documents for float16
ops with float32 accumulation. Other ops run in the dtype of their inputs. Gradients flow
back through the casts, so float32 parameters still receive float32 gradients.
"""
from __future__ import annotations

import functools
import threading
import types
import warnings

import engine
from engine.autograd.grad_mode import state as _grad_mode_state

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]

_DEVICE_TYPES = ("cpu", "cuda")


class _AutocastState(threading.local):
    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": engine.float16, "cuda": engine.float16}
        self.any_enabled = False


_state = _AutocastState()


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    return _state.enabled[device_type]


def get_autocast_dtype(device_type: str = "cuda"):
    return _state.dtype[device_type]


class autocast:
    """`with autocast("cpu"):` or `@autocast("cuda")`: run matmul, linear and conv2d in
    `dtype` (default float16) for tensors on `device_type`."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"autocast: device_type must be 'cpu' or 'cuda', got "
                               f"{device_type!r}")
        if dtype is None:
            dtype = engine.float16
        if dtype not in (engine.float16,):
            warnings.warn(f"In autocast, but the target dtype {dtype} is not supported by the "
                          "engine (float16 only). Disabling autocast.", UserWarning, stacklevel=2)
            enabled = False
        self.device_type, self.fast_dtype, self._enabled = device_type, dtype, bool(enabled)

    def __enter__(self):
        self._saved = (_state.enabled[self.device_type], _state.dtype[self.device_type])
        _state.enabled[self.device_type] = self._enabled
        _state.dtype[self.device_type] = self.fast_dtype
        _state.any_enabled = _grad_mode_state.autocast = any(_state.enabled.values())
        return self

    def __exit__(self, *exc):
        _state.enabled[self.device_type], _state.dtype[self.device_type] = self._saved
        _state.any_enabled = _grad_mode_state.autocast = any(_state.enabled.values())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)
        return wrapper


def active_autocasts() -> list:
    """`autocast` objects re-creating the autocast settings now in force (for recomputation
    in backward, e.g. by `engine.utils.checkpoint`)."""
    return [autocast(device_type, _state.dtype[device_type])
            for device_type in _DEVICE_TYPES if _state.enabled[device_type]]


def cast_for_autocast(*tensors):
    """The tensors as an autocast-listed op should see them: float32 ones cast to the
    autocast dtype when autocast is on for their device; unchanged otherwise."""
    if not _state.any_enabled:
        return tensors
    first = next(t for t in tensors if t is not None)
    device_type = first.device.type
    if not _state.enabled[device_type]:
        return tensors
    dtype = _state.dtype[device_type]
    return tuple(t.to(dtype) if t is not None and t.dtype == engine.float32 else t
                 for t in tensors)


def autocast_matmul(a, b):
    """`engine.matmul` under autocast (the core's matmul calls this while autocast is on):
    float32 operands rounded to float16, multiplied in float32, the product rounded to float16."""
    a, b = cast_for_autocast(a, b)
    _grad_mode_state.autocast = False
    try:
        if a.dtype == engine.float16 and b.dtype == engine.float16:
            return engine.matmul(a.float(), b.float()).half()
        return engine.matmul(a, b)
    finally:
        _grad_mode_state.autocast = True


class GradScaler:
    """Scale the loss up so small float16 gradients do not flush to zero, then unscale the
    gradients before the optimizer step; a step whose gradients hold inf/NaN is skipped and
    the scale backs off, and after `growth_interval` clean steps it grows.

        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)          # optional, e.g. before clip_grad_norm_
        scaler.step(optimizer)              # skipped if any gradient is not finite
        scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if device not in _DEVICE_TYPES:
            raise RuntimeError(f"GradScaler: device must be 'cpu' or 'cuda', got {device!r}")
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        if enabled and device == "cuda" and not engine.cuda.is_available():
            warnings.warn("engine.amp.GradScaler is enabled, but CUDA is not available. "
                          "Disabling.", UserWarning, stacklevel=2)
            enabled = False
        self._device = device
        self._enabled = enabled
        self._scale = float(init_scale)
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict] = {}

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def scale(self, outputs):
        """outputs * scale (a tensor, or a list/tuple of tensors)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, engine.Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state_of(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"unscaled": False,
                                                              "found_inf": False})

    def unscale_(self, optimizer) -> None:
        """Divide this optimizer's gradients by the scale in place and note any inf/NaN."""
        if not self._enabled:
            return
        state = self._state_of(optimizer)
        if state["unscaled"]:
            raise RuntimeError("unscale_() has already been called on this optimizer since "
                               "the last update().")
        from engine.nn._arrays import grad_array_of, namespace_of
        inv_scale = 1.0 / self._scale
        finite = {}             # namespace -> per-gradient "all finite" flags, still on the device
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = grad_array_of(p)
                if g is None:
                    continue
                if g.dtype == engine.float16.np:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                g *= inv_scale
                xp = namespace_of(g)
                finite.setdefault(xp, []).append(xp.isfinite(g).all())
        # one read back from each device (not one per gradient: each read waits for the GPU)
        found_inf = not all(bool(xp.stack(flags).all()) for xp, flags in finite.items())
        state["unscaled"], state["found_inf"] = True, found_inf

    def step(self, optimizer, *args, **kwargs):
        """Unscale (if not done yet) and run `optimizer.step()` unless a gradient overflowed;
        returns the step's result, or None when the step was skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._state_of(optimizer)
        if not state["unscaled"]:
            self.unscale_(optimizer)
        if state["found_inf"]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Back off the scale after an overflow, grow it after `growth_interval` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, engine.Tensor)
                                else new_scale)
        elif any(s["found_inf"] for s in self._per_optimizer.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        elif self._per_optimizer:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._growth_tracker = state_dict["_growth_tracker"]


class _CudaAutocast(autocast):
    """`engine.cuda.amp.autocast(...)`: autocast("cuda", ...)."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class _CudaGradScaler(GradScaler):
    """`engine.cuda.amp.GradScaler(...)`: GradScaler("cuda", ...)."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True):
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


_CudaAutocast.__name__ = _CudaAutocast.__qualname__ = "autocast"
_CudaGradScaler.__name__ = _CudaGradScaler.__qualname__ = "GradScaler"

cuda_amp = types.ModuleType("engine.cuda.amp", "PyTorch's torch.cuda.amp aliases: autocast and "
                                               "GradScaler fixed to the 'cuda' device.")
cuda_amp.autocast = _CudaAutocast
cuda_amp.GradScaler = _CudaGradScaler
