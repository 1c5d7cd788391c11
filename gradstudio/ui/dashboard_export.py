"""Writes the training dashboard's metrics as one CSV table: a row per step, a column per
curve (empty where a curve has no point at that step), change markers in the last column."""
from __future__ import annotations

import csv
import os

import numpy as np

from gradstudio.runtime.metrics import Curve, MetricsSnapshot

_SCALARS = ("loss", "val_loss", "accuracy", "lr", "grad_norm_pre_clip", "grad_norm_post_clip",
            "steps_per_sec")


def metrics_columns(snapshot: MetricsSnapshot) -> dict[str, Curve]:
    """Column name -> curve, in the order the CSV writes them (empty curves left out)."""
    columns = {name: getattr(snapshot, name) for name in _SCALARS}
    columns.update({f"grad_norm[{p}]": c for p, c in snapshot.grad_norms.items()})
    columns.update({f"update_ratio[{p}]": c for p, c in snapshot.update_ratios.items()})
    return {name: curve for name, curve in columns.items() if len(curve.steps)}


def metrics_table(snapshot: MetricsSnapshot) -> tuple[list[str], np.ndarray, np.ndarray,
                                                      np.ndarray, list[str]]:
    """(column names, steps (n,), values (n, columns), present (n, columns): whether the
    curve has a point at that step, marker text per step)."""
    columns = metrics_columns(snapshot)
    marker_steps = np.array([m.step for m in snapshot.markers], dtype=np.int64)
    every_step = [c.steps for c in columns.values()] + [marker_steps]
    steps = np.unique(np.concatenate(every_step)) if every_step else np.zeros(0, np.int64)
    values = np.full((steps.size, len(columns)), np.nan)
    present = np.zeros(values.shape, dtype=bool)
    for j, curve in enumerate(columns.values()):
        rows = np.searchsorted(steps, curve.steps)
        values[rows, j] = curve.values
        present[rows, j] = True
    markers = [""] * steps.size
    for marker in snapshot.markers:
        row = int(np.searchsorted(steps, marker.step))
        markers[row] = f"{markers[row]}; {marker.text}" if markers[row] else marker.text
    return list(columns), steps, values, present, markers


def write_metrics_csv(snapshot: MetricsSnapshot, path: str | os.PathLike) -> int:
    """Writes the table to `path`; returns the number of data rows. Raises OSError."""
    names, steps, values, present, markers = metrics_table(snapshot)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", *names, "marker"])
        for step, row, has, marker in zip(steps, values, present, markers):
            writer.writerow([int(step), *(repr(float(v)) if h else "" for v, h in zip(row, has)),
                             marker])
    return int(steps.size)
