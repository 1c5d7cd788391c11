"""Mixed precision as `torch.amp` has it: `autocast` runs the ops on PyTorch's lists in a lower
precision (bfloat16 by default on cpu, float16 on cuda), and `GradScaler` scales the loss so
small gradients survive, skipping steps whose gradients overflowed.

Inside `autocast(device_type)`, an op call's floating inputs on that device are cast by the
op's policy in PyTorch's autocast tables (aten/src/ATen/autocast_mode.cpp for cpu,
AT_FORALL_* in ATen/autocast_mode.h for cuda): the lower-precision ops (matmul, linear,
conv, ...) get the autocast dtype, the float32 ops (losses, linalg, ...) get float32, the
promote ops the widest input dtype; float64 inputs and other ops are left alone. The ops a
listed op runs inside are not cast again; an unlisted op made of other ops (einsum, cov) has
its inner ops cast, as PyTorch's composite ops do. The casts are
engine ops (`to`), so gradients flow back through them and float32 parameters still
receive float32 gradients. The casts happen where every op call passes
(engine.ops._lowp.dispatch), which is also where bfloat16 ops compute in float32.
Not done: the cache PyTorch keeps of cast weights inside one region (the values and
gradients are the same without it).
"""
from __future__ import annotations

import functools
import threading
import types
import warnings

import engine
from engine import _dtype
from engine.ops import _lowp

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_dtype", "is_autocast_available"]

_DEVICE_TYPES = ("cpu", "cuda")

# PyTorch's op lists, by engine op name (PyTorch names the engine lacks are listed too, so the
# tables read as PyTorch's; aten names the engine spells differently are mapped in _ENGINE_NAME).
_CPU_LOWER = {"conv1d", "conv2d", "conv3d", "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm",
              "_addmm_activation", "addbmm", "linear", "_convolution", "matmul", "conv_tbc",
              "mkldnn_rnn_layer", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "prelu", "scaled_dot_product_attention", "_native_multi_head_attention"}
_CPU_FP32 = {"avg_pool3d", "binary_cross_entropy", "grid_sampler", "polar", "prod", "quantile",
             "nanquantile", "stft", "cdist", "grid_sampler_2d", "grid_sampler_3d", "trace",
             "view_as_complex", "cholesky", "cholesky_inverse", "cholesky_solve", "inverse",
             "lu_solve", "orgqr", "ormqr", "pinverse", "max_pool3d", "max_unpool2d",
             "max_unpool3d", "adaptive_avg_pool3d", "reflection_pad1d", "reflection_pad2d",
             "replication_pad1d", "replication_pad2d", "replication_pad3d", "mse_loss",
             "cosine_embedding_loss", "nll_loss", "nll_loss2d", "hinge_embedding_loss",
             "poisson_nll_loss", "smooth_l1_loss", "cross_entropy_loss", "l1_loss", "huber_loss",
             "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
             "ctc_loss", "kl_div", "multilabel_margin_loss", "binary_cross_entropy_with_logits",
             "fft_fft", "fft_ifft", "fft_fft2", "fft_ifft2", "fft_fftn", "fft_ifftn", "fft_rfft",
             "fft_irfft", "fft_rfft2", "fft_irfft2", "fft_rfftn", "fft_irfftn", "fft_hfft",
             "fft_ihfft", "linalg_cond", "linalg_matrix_rank", "linalg_solve", "linalg_cholesky",
             "linalg_svdvals", "linalg_eigvals", "linalg_eigvalsh", "linalg_inv",
             "linalg_householder_product", "linalg_tensorinv", "linalg_tensorsolve",
             "fake_quantize_per_tensor_affine", "geqrf", "_lu_with_info", "qr", "svd",
             "triangular_solve", "fractional_max_pool2d", "fractional_max_pool3d",
             "adaptive_max_pool3d", "multilabel_margin_loss_forward", "linalg_qr",
             "linalg_cholesky_ex", "linalg_svd", "linalg_eig", "linalg_eigh", "linalg_lstsq",
             "linalg_inv_ex"}
_CPU_PROMOTE = {"stack", "cat", "index_copy"}

_CUDA_LOWER = {"_convolution", "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d",
               "conv_transpose2d", "conv_transpose3d", "convolution", "prelu", "addmm", "addmv",
               "addr", "matmul", "einsum", "mm", "mv", "linalg_vecdot", "linear", "addbmm",
               "baddbmm", "bmm", "chain_matmul", "linalg_multi_dot", "_thnn_fused_lstm_cell",
               "_thnn_fused_gru_cell", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
               "_scaled_dot_product_flash_attention", "scaled_dot_product_attention",
               "cudnn_convolution", "cudnn_convolution_transpose"}
_CUDA_FP32 = {"acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
              "reciprocal", "rsqrt", "sinh", "tan", "pow", "softplus", "layer_norm",
              "native_layer_norm", "rms_norm", "group_norm", "frobenius_norm", "nuclear_norm",
              "cosine_similarity", "poisson_nll_loss", "cosine_embedding_loss", "nll_loss",
              "nll_loss2d", "hinge_embedding_loss", "kl_div", "l1_loss", "smooth_l1_loss",
              "huber_loss", "mse_loss", "margin_ranking_loss", "multilabel_margin_loss",
              "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
              "binary_cross_entropy_with_logits", "dist", "pdist", "cdist", "renorm",
              "logsumexp", "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
              "upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d",
              "upsample_bicubic2d"}
# float32 unless the call names a dtype, and only when the first input is eligible
_CUDA_FP32_SET_OPT_DTYPE = {"prod", "softmax", "log_softmax", "cumprod", "cumsum",
                            "linalg_vector_norm", "linalg_matrix_norm", "sum", "norm"}
_CUDA_PROMOTE = {"addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot",
                 "grid_sampler", "index_put", "tensordot", "scatter_add"}
_CUDA_BANNED = {"binary_cross_entropy": (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")}

# aten names the engine's ops go by differently
_ENGINE_NAME = {"cross_entropy_loss": "cross_entropy", "linalg_inv": "inv",
                "linalg_solve": "solve", "linalg_cholesky": "cholesky",
                "linalg_svdvals": "svdvals", "linalg_eigvalsh": "eigvalsh", "linalg_eigh": "eigh",
                "linalg_qr": "qr", "linalg_svd": "svd", "linalg_vector_norm": "vector_norm",
                "linalg_matrix_norm": "matrix_norm", "arctan2": "atan2", "arccos": "acos",
                "arcsin": "asin", "concat": "cat", "concatenate": "cat", "linalg_cross": "cross",
                "grid_sampler": "grid_sample", "upsample_bilinear2d": "interpolate"}   # (every mode)


def _policies(lower, fp32, opt_dtype, promote):
    table = {}
    for names, policy in ((lower, "lower"), (fp32, "fp32"), (opt_dtype, "fp32_set_opt_dtype"),
                          (promote, "promote")):
        for n in names:
            table[n] = policy
            table[_ENGINE_NAME.get(n, n)] = policy
    for alias, name in _ENGINE_NAME.items():       # engine aliases of listed ops (arctan2, concat)
        if name in table and alias not in table:
            table[alias] = table[name]
    return table


POLICY = {"cpu": _policies(_CPU_LOWER, _CPU_FP32, (), _CPU_PROMOTE),
          "cuda": _policies(_CUDA_LOWER, _CUDA_FP32, _CUDA_FP32_SET_OPT_DTYPE, _CUDA_PROMOTE)}
POLICY["cpu"]["inv"] = POLICY["cpu"]["inverse"]          # engine.inverse and linalg.inv: one op
# linalg.pinv is one engine op; PyTorch composes it of svd and a final matmul (lower precision)
POLICY["cpu"]["pinv"] = POLICY["cuda"]["pinv"] = "lower"
# and affine_grid: PyTorch's composite ends in a bmm with theta (lower precision)
POLICY["cpu"]["affine_grid"] = POLICY["cuda"]["affine_grid"] = "lower"
POLICY["cuda"]["matrix_norm"] = POLICY["cuda"]["vector_norm"] = "fp32_set_opt_dtype"


class _AutocastState(threading.local):
    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": None}     # None: the device's default (see _dtype_of)
        self.any_enabled = False
        self.depth = 0                               # op calls in progress that autocast cast


_state = _AutocastState()


def _dtype_of(device_type):
    d = _state.dtype[device_type]
    if d is None:
        d = _dtype._load_bfloat16() if device_type == "cpu" else engine.float16
    return d


def is_autocast_available(device_type: str) -> bool:
    return device_type in _DEVICE_TYPES


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    return _state.enabled[device_type]


def get_autocast_dtype(device_type: str):
    return _dtype_of(device_type)


def set_autocast_dtype(device_type: str, dtype) -> None:
    _state.dtype[device_type] = dtype


class autocast:
    """`with autocast("cpu"):` or `@autocast("cuda")`: the ops on PyTorch's autocast lists
    run in `dtype` (default: bfloat16 on cpu, float16 on cuda) for tensors on `device_type`."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        self.fast_dtype = _dtype_of(device_type) if dtype is None else dtype
        if enabled:
            if device_type == "cuda" and not engine.cuda.is_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                              "autocast.", UserWarning, stacklevel=2)
                enabled = False
            elif device_type == "cuda" and _is_bfloat16(self.fast_dtype) \
                    and not engine.cuda.is_bf16_supported():
                raise RuntimeError("Current CUDA Device does not support bfloat16. Please "
                                   "switch dtype to float16.")
            elif not (_is_bfloat16(self.fast_dtype) or self.fast_dtype is engine.float16):
                name = device_type.upper()
                warnings.warn(f"In {name} autocast, but the target dtype is not supported. "
                              f"Disabling autocast.\n{name} Autocast only supports dtypes of "
                              "torch.bfloat16, torch.float16 currently.", UserWarning,
                              stacklevel=2)
                enabled = False
        self.device_type, self._enabled = device_type, bool(enabled)

    def __enter__(self):
        self._saved = (_state.enabled[self.device_type], _state.dtype[self.device_type])
        _state.enabled[self.device_type] = self._enabled
        _state.dtype[self.device_type] = self.fast_dtype
        _state.any_enabled = any(_state.enabled.values())
        if self._enabled:
            _lowp.autocast_entered(1, _state, autocast_inputs)
        return self

    def __exit__(self, *exc):
        _state.enabled[self.device_type], _state.dtype[self.device_type] = self._saved
        _state.any_enabled = any(_state.enabled.values())
        if self._enabled:
            _lowp.autocast_entered(-1, _state, autocast_inputs)
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


def autocast_inputs(name, args, kwargs):
    """(args, kwargs) as op `name` sees them under the autocast now in force: its eligible
    inputs (floating, not float64, on an autocast-enabled device) cast by the op's policy;
    None when the op is on no list (or its inputs live on a device autocast is off for)."""
    first = next((t for t in _flat(args, kwargs)), None)
    if first is None:
        return None
    device_type = first.device.type
    if not _state.enabled[device_type]:
        return None
    policy = POLICY[device_type].get(name)
    if policy is None:
        if device_type == "cuda" and name in _CUDA_BANNED:
            raise RuntimeError(_CUDA_BANNED[name])
        return None
    if policy == "lower":
        to = _dtype_of(device_type)
    elif policy == "fp32":
        to = engine.float32
    elif policy == "fp32_set_opt_dtype":
        if (kwargs.get("dtype") is not None or any(isinstance(a, _dtype.dtype) for a in args)
                or not _eligible(first, device_type)):
            return args, kwargs
        to = engine.float32
    else:                                   # promote: the widest eligible input
        to = _dtype_of(device_type)
        for t in _flat(args, kwargs):
            if _eligible(t, device_type):
                to = _dtype.promote_types(to, t.dtype)

    def cast(x):
        if isinstance(x, engine.Tensor):
            return x.to(to) if _eligible(x, device_type) and x.dtype is not to else x
        if isinstance(x, (list, tuple)) and any(isinstance(v, engine.Tensor) for v in x):
            return type(x)(cast(v) for v in x)
        return x
    return tuple(cast(a) for a in args), {k: cast(v) for k, v in kwargs.items()}


def _is_bfloat16(d):
    return isinstance(d, _dtype.dtype) and d.name == "bfloat16"


def _flat(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, engine.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, engine.Tensor))


def _eligible(t, device_type):
    return t.is_floating_point() and t.dtype is not engine.float64 and \
        t.device.type == device_type


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
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
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


def _deprecated_alias(device_type, base):
    """torch.cuda.amp / torch.cpu.amp's class `base` fixed to `device_type`: deprecated in
    PyTorch, with its FutureWarning."""
    scope = f"torch.{device_type}.amp.{base.__name__}"
    message = (f"`{scope}(args...)` is deprecated. Please use `torch.amp.{base.__name__}"
               f"('{device_type}', args...)` instead.")
    if base is autocast:
        default_dtype = "bfloat16" if device_type == "cpu" else None

        def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
            warnings.warn(message, FutureWarning, stacklevel=2)
            if dtype is None and default_dtype:
                dtype = _dtype._load_bfloat16()
            autocast.__init__(self, device_type, dtype=dtype, enabled=enabled,
                              cache_enabled=cache_enabled)
    else:
        def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                     backoff_factor: float = 0.5, growth_interval: int = 2000,
                     enabled: bool = True):
            warnings.warn(message, FutureWarning, stacklevel=2)
            GradScaler.__init__(self, device_type, init_scale, growth_factor, backoff_factor,
                                growth_interval, enabled)
    cls = type(base.__name__, (base,), {"__init__": __init__, "__module__": f"engine.{device_type}.amp",
                                        "__doc__": f"`{scope}(...)`: {base.__name__}"
                                                   f"('{device_type}', ...), deprecated."})
    return cls


def _amp_aliases(device_type):
    mod = types.ModuleType(f"engine.{device_type}.amp",
                           f"PyTorch's torch.{device_type}.amp aliases (deprecated there): "
                           f"autocast and GradScaler fixed to the '{device_type}' device.")
    mod.autocast = _deprecated_alias(device_type, autocast)
    mod.GradScaler = _deprecated_alias(device_type, GradScaler)
    return mod


cuda_amp = _amp_aliases("cuda")
cpu_amp = _amp_aliases("cpu")
