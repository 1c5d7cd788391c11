"""Short text for tensor values: node previews, inspector numbers, tooltips."""
from __future__ import annotations

from typing import Any

import numpy as np


def field_of(info: Any, name: str, default: Any = None) -> Any:
    """`name` of a run snapshot (a NodeInfo or a plain dict), or `default` when absent."""
    if info is None:
        return default
    if isinstance(info, dict):
        return info.get(name, default)
    return getattr(info, name, default)


def as_array(value: Any) -> np.ndarray | None:
    """NumPy view of a snapshot value (number, nested list, array, or None)."""
    if value is None:
        return None
    try:
        return np.asarray(value)
    except (TypeError, ValueError):
        return None


def format_scalar(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if np.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.4g}"


def shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    shape = tuple(shape)
    return str(tuple(int(s) for s in shape))      # (1,) as Python and PyTorch write it


def preview(value: Any, max_items: int = 4) -> str:
    """One line: the number, a few elements, or the range of a bigger tensor."""
    array = as_array(value)
    if array is None:
        return "—"
    if array.dtype == object:
        return str(value)[:40]
    if array.size == 0:
        return "[]"
    if array.ndim == 0 or array.size == 1:
        return format_scalar(array.reshape(()).item())
    if array.ndim == 1 and array.size <= max_items:
        return "[" + ", ".join(format_scalar(v) for v in array.tolist()) + "]"
    if not np.issubdtype(array.dtype, np.number):
        return f"{array.size} values"
    finite = array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    if finite.size == 0:
        return "all nan/inf"
    bad = array.size - finite.size
    text = f"{format_scalar(finite.min())} … {format_scalar(finite.max())}"
    return text + (f"  ({bad} nan/inf)" if bad else "")
