"""Tensor repr/str exactly as PyTorch prints them (a port of torch/_tensor_str.py onto NumPy).

Precision 4, scientific notation when max/min > 1000, max > 1e8 or min < 1e-4,
integer-valued floats printed as `4.`, summarization with `...` above 1000 elements,
suffixes `device=`, `dtype=`, `grad_fn=<...>` / `requires_grad=True`.
"""
import contextlib
import dataclasses
import math

import numpy as np

from . import _dtype
from .backend import is_cuda_array, xp_of
from ._dtype import is_floating


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: object = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Same options as torch.set_printoptions."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth) = presets[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    def __init__(self, a):
        self.floating_dtype = is_floating(a.dtype)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = a.reshape(-1)
        if not self.floating_dtype:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(_int_str(v)))
            return
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        absd = np.abs(vals).astype(np.float64)
        mn, mx = absd.min(), absd.max()
        self.int_mode = bool((vals == np.ceil(vals)).all())
        self.sci_mode = (mx / mn > 1000.0 or mx > 1.0e8 or mn < 1.0e-4) if PRINT_OPTS.sci_mode is None \
            else PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        pyvals = vals.tolist()
        if self.sci_mode:
            fmt = f"{{:.{p}e}}"
            self.max_width = max(self.max_width, max(len(fmt.format(v)) for v in pyvals))
        elif self.int_mode:
            self.max_width = max(self.max_width, max(len(f"{v:.0f}") + 1 for v in pyvals))
        else:
            fmt = f"{{:.{p}f}}"
            self.max_width = max(self.max_width, max(len(fmt.format(v)) for v in pyvals))

    def width(self):
        return self.max_width

    def format(self, value):
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{{:{self.max_width}.{PRINT_OPTS.precision}e}}".format(value)
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{{:.{PRINT_OPTS.precision}f}}".format(value)
        else:
            ret = _int_str(value)
        return (self.max_width - len(ret)) * " " + ret


def _int_str(v):
    return str(v)


def _vector_str(a, indent, summarize, fmt, shape):
    element_length = fmt.width() + 2
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and shape[0] > 2 * e:
        data = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + [fmt.format(v) for v in a[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _str_with_formatter(a, indent, summarize, fmt, shape):
    """a: the values (all of them, or only the edges a summary shows); shape: the full shape,
    which decides where a summary puts its `...`."""
    dim = a.ndim
    if dim == 0:
        return fmt.format(a.item())
    if dim == 1:
        return _vector_str(a, indent, summarize, fmt, shape)
    e = PRINT_OPTS.edgeitems
    sub = shape[1:]
    if summarize and shape[0] > 2 * e:
        slices = ([_str_with_formatter(a[i], indent + 1, summarize, fmt, sub) for i in range(e)] + ["..."] +
                  [_str_with_formatter(a[i], indent + 1, summarize, fmt, sub)
                   for i in range(a.shape[0] - e, a.shape[0])])
    else:
        slices = [_str_with_formatter(a[i], indent + 1, summarize, fmt, sub) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized(a):
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate((a[:e], a[-e:])) if a.shape[0] > 2 * e else a
    if not e:
        return a[(slice(0, 0),) * a.ndim]
    if a.shape[0] > 2 * e:
        return np.stack([_summarized(a[i]) for i in list(range(e)) + list(range(a.shape[0] - e, a.shape[0]))])
    return np.stack([_summarized(x) for x in a])


def _edges(a):
    """The part of a summarized array that its print shows: the first and last edgeitems entries
    along every dim longer than 2 * edgeitems (a cuda tensor copies only these to the host)."""
    e, xp = PRINT_OPTS.edgeitems, xp_of(a)
    for d, n in enumerate(a.shape):
        if n > 2 * e:
            head = (slice(None),) * d
            a = xp.concatenate((a[head + (slice(0, e),)], a[head + (slice(n - e, n),)]), axis=d)
    return a


def _tensor_str(a, indent, shape):
    """a: the values on the host (only the edges when `shape`, the full shape, is summarized)."""
    size = math.prod(shape)
    if size == 0:
        return "[]"
    summarize = size > PRINT_OPTS.threshold
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _str_with_formatter(a, indent, summarize, fmt, shape)


def _add_suffixes(tensor_str, suffixes, indent, force_newline=False):
    strs = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        n = len(suffix)
        if force_newline or last_line_len + n + 2 > PRINT_OPTS.linewidth:
            strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + n
            force_newline = False
        else:
            strs.append(", " + suffix)
            last_line_len += n + 2
    strs.append(")")
    return "".join(strs)


def _str(t, *, tensor_contents=None):
    plain = type(t).__module__ in ("engine", "engine._tensor") and type(t).__name__ == "Tensor" \
        or type(t).__name__ == "Parameter" or getattr(type(t), "_plain_repr", False)
    prefix = "tensor(" if plain else f"{type(t).__name__}("
    indent = len(prefix)
    suffixes = []
    a = t._a
    shape, size = tuple(a.shape), a.size
    if is_cuda_array(a):
        suffixes.append(f"device='cuda:{a.device.id}'")
        if tensor_contents is not None:
            pass                                # nothing of the values is printed
        elif size > PRINT_OPTS.threshold:
            a = _edges(a).get()                 # copy only what the summary shows
        else:
            a = a.get()
    d = _dtype.from_np(a.dtype)
    has_default_dtype = d in (_dtype.get_default_dtype(), _dtype.int64, _dtype.bool_)
    if tensor_contents is not None:
        tensor_str = tensor_contents
    if size == 0:
        if len(shape) != 1:
            suffixes.append("size=" + str(shape))
        if d is not _dtype.get_default_dtype():
            suffixes.append("dtype=" + repr(d))
        if tensor_contents is None:
            tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(shape))
        if not has_default_dtype:
            suffixes.append("dtype=" + repr(d))
        if tensor_contents is None:
            tensor_str = _tensor_str(a, indent, shape)
    node = t._node
    if node is not None:
        suffixes.append(f"grad_fn=<{type(node).__name__ if node._name is None else node._name}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + tensor_str, suffixes, indent)
