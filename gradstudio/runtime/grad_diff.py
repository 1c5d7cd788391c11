"""What an edit did to the gradients: each node's gradient in this run against the run before.

    changes = grad_changes(previous, current)     # NodeInfo snapshots by node id (two runs)
    changes["n3"].text()          # "∇ 3 → None", "∇ [1, 2] → [0, 0]", "‖∇‖ 4.1 → 0.2"

Compared: the `.grad` each node's shown tensor holds after each run (leaves, retained
tensors). A node whose gradient is the same (to float tolerance) is left out; a node that
exists in only one run is reported as added or removed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SHOWN = 4


@dataclass(frozen=True)
class GradChange:
    node_id: str
    before: np.ndarray | None
    after: np.ndarray | None

    @property
    def factor(self) -> float | None:
        """‖after‖ / ‖before‖ where both exist and before is not zero."""
        if self.before is None or self.after is None:
            return None
        low = _norm(self.before)
        return None if low == 0 else _norm(self.after) / low

    def text(self) -> str:
        if self.before is None or self.after is None or (
                max(self.before.size, self.after.size) <= SHOWN):
            return f"∇ {_values(self.before)} → {_values(self.after)}"
        return f"‖∇‖ {_norm(self.before):.3g} → {_norm(self.after):.3g}"


def grad_changes(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, GradChange]:
    """node id -> its gradient change, for the nodes whose gradient differs."""
    found = {}
    for node_id in dict.fromkeys(list(previous) + list(current)):
        before = _grad(previous.get(node_id))
        after = _grad(current.get(node_id))
        if _same(before, after):
            continue
        found[node_id] = GradChange(node_id, before, after)
    return found


def _grad(info: Any) -> np.ndarray | None:
    grad = getattr(info, "grad", None)
    return None if grad is None else np.asarray(grad)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True))


def _norm(array: np.ndarray) -> float:
    return float(np.linalg.norm(array.astype(np.float64).ravel()))


def _values(array: np.ndarray | None) -> str:
    if array is None:
        return "None"
    if array.size == 1:
        return f"{float(array.ravel()[0]):.4g}"
    if array.size <= SHOWN:
        return "[" + ", ".join(f"{v:.3g}" for v in array.ravel().tolist()) + "]"
    return f"{tuple(array.shape)} ‖{_norm(array):.3g}‖"
