"""Small 2-D data sets for examples and dashboards, and `load_csv` for a person's own data.

Every generator is seeded (its own NumPy generator, independent of `engine.manual_seed`)
and returns `(X, y)` as engine tensors: `X` float32 of shape (n, 2); `y` int64 class
indices of shape (n,) for the classification sets, float32 of shape (n, 1) for `line`.
The `*_arrays` variants return the same data as NumPy arrays. `GENERATORS` maps each name
to its generator; every generator takes `n_samples`, `noise` and `seed`.
"""
from __future__ import annotations

import csv
import math
import os

import numpy as np

__all__ = ["xor", "line", "blobs", "moons", "circles", "spirals", "load_csv",
           "DatasetError", "GENERATORS"]


class DatasetError(ValueError):
    """A data file that cannot be read as a table of numbers; the message says where."""


def _to_tensors(X: np.ndarray, y: np.ndarray | None):
    import engine
    X_t = engine.from_numpy(np.ascontiguousarray(X))
    if y is None:
        return X_t
    return X_t, engine.from_numpy(np.ascontiguousarray(y))


def _check_n(n: int, minimum: int = 1) -> int:
    n = int(n)
    if n < minimum:
        raise ValueError(f"n_samples must be at least {minimum}, got {n}")
    return n


def _labels_in_halves(n: int, classes: int = 2) -> np.ndarray:
    """n labels, as even a split over `classes` as n allows: 0,0,...,1,1,..."""
    return (np.arange(n) * classes // n).astype(np.int64)


def xor_arrays(n_samples: int = 200, noise: float = 0.15, seed: int = 0):
    """Points around the four corners of the unit square; label = x0 XOR x1."""
    n = _check_n(n_samples)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    corners[:4] = [[0, 0], [0, 1], [1, 0], [1, 1]][:n]   # every corner appears
    X = corners + noise * rng.standard_normal((n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return X.astype(np.float32), y


def line_arrays(n_samples: int = 100, noise: float = 1.0, slope: float = 2.0,
                intercept: float = 5.0, seed: int = 0):
    """x uniform in [0, 10); y = slope * x + intercept + Gaussian noise. Shapes (n,1), (n,1)."""
    n = _check_n(n_samples)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, size=(n, 1))
    y = slope * x + intercept + noise * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def blobs_arrays(n_samples: int = 200, noise: float = 1.0, distance: float = 3.0,
                 seed: int = 0):
    """Two Gaussian clouds (standard deviation `noise`) centred at (-d/2, -d/2) and (d/2, d/2);
    label 0 and 1."""
    n = _check_n(n_samples)
    rng = np.random.default_rng(seed)
    y = _labels_in_halves(n)
    centres = np.where(y[:, None] == 0, -distance / 2, distance / 2)
    X = centres + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def moons_arrays(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles (as scikit-learn's make_moons); label 0 and 1."""
    n = _check_n(n_samples)
    rng = np.random.default_rng(seed)
    y = _labels_in_halves(n)
    angle = rng.uniform(0.0, math.pi, size=n)
    X = np.where(y[:, None] == 0,
                 np.stack([np.cos(angle), np.sin(angle)], axis=1),
                 np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1))
    X = X + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def circles_arrays(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0):
    """An outer circle of radius 1 (label 0) around an inner one of radius `factor` (label 1)."""
    n = _check_n(n_samples)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be between 0 and 1, got {factor}")
    rng = np.random.default_rng(seed)
    y = _labels_in_halves(n)
    angle = rng.uniform(0.0, 2.0 * math.pi, size=n)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = X + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def spirals_arrays(n_samples: int = 300, noise: float = 0.2, classes: int = 3, seed: int = 0):
    """`classes` interleaved spiral arms (the CS231n set); arm k has label k."""
    n = _check_n(n_samples, classes)
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    rng = np.random.default_rng(seed)
    y = _labels_in_halves(n, classes)
    X = np.empty((n, 2))
    for k in range(classes):
        idx = np.flatnonzero(y == k)
        radius = np.linspace(0.0, 1.0, idx.size)
        theta = (np.linspace(k * 4.0, (k + 1) * 4.0, idx.size)
                 + noise * rng.standard_normal(idx.size))
        X[idx] = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1)
    return X.astype(np.float32), y


def xor(n_samples: int = 200, noise: float = 0.15, seed: int = 0):
    """XOR of the unit square's corners: (X float32 (n,2), y int64 (n,))."""
    return _to_tensors(*xor_arrays(n_samples, noise, seed))


def line(n_samples: int = 100, noise: float = 1.0, slope: float = 2.0, intercept: float = 5.0,
         seed: int = 0):
    """A noisy line for regression: (x float32 (n,1), y float32 (n,1))."""
    return _to_tensors(*line_arrays(n_samples, noise, slope, intercept, seed))


def blobs(n_samples: int = 200, noise: float = 1.0, distance: float = 3.0, seed: int = 0):
    """Two Gaussian clouds: (X float32 (n,2), y int64 (n,))."""
    return _to_tensors(*blobs_arrays(n_samples, noise, distance, seed))


def moons(n_samples: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: (X float32 (n,2), y int64 (n,))."""
    return _to_tensors(*moons_arrays(n_samples, noise, seed))


def circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0):
    """A circle inside a circle: (X float32 (n,2), y int64 (n,))."""
    return _to_tensors(*circles_arrays(n_samples, noise, factor, seed))


def spirals(n_samples: int = 300, noise: float = 0.2, classes: int = 3, seed: int = 0):
    """Interleaved spiral arms: (X float32 (n,2), y int64 (n,))."""
    return _to_tensors(*spirals_arrays(n_samples, noise, classes, seed))


GENERATORS = {
    "xor": xor,
    "line": line,
    "blobs": blobs,
    "moons": moons,
    "circles": circles,
    "spirals": spirals,
}


def _parse_float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DatasetError(f"{where}: {text.strip()!r} is not a number") from None


def load_csv_arrays(path, target=-1, delimiter: str = ","):
    """Read a CSV of numbers into (X float32 (n, k), y float32 (n,)); see `load_csv`."""
    path = os.fspath(path)
    name = os.path.basename(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [row for row in csv.reader(f, delimiter=delimiter)]
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not a text file (cannot decode as UTF-8)") from None
    except csv.Error as e:
        raise DatasetError(f"{path}: not valid CSV ({e})") from None

    numbered = [(i + 1, row) for i, row in enumerate(rows) if any(cell.strip() for cell in row)]
    if not numbered:
        raise DatasetError(f"{name}: the file is empty")

    first_line, first = numbered[0]
    has_header = any(_is_text(cell) for cell in first)
    header = [cell.strip() for cell in first] if has_header else None
    body = numbered[1:] if has_header else numbered
    if not body:
        raise DatasetError(f"{name}: no data rows after the header")
    width = len(first)
    for line_no, row in body:
        if len(row) != width:
            raise DatasetError(f"{name} line {line_no}: {len(row)} fields, expected {width} "
                               f"(as on line {first_line})")
    table = np.array([[_parse_float(cell, f"{name} line {line_no} column {c + 1}")
                       for c, cell in enumerate(row)] for line_no, row in body])
    if not np.all(np.isfinite(table)):
        line_no = body[int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0])][0]
        raise DatasetError(f"{name} line {line_no}: contains nan or inf")

    if target is None:
        return table.astype(np.float32), None
    column = _target_column(target, header, width, name)
    if width < 2:
        raise DatasetError(f"{name}: only one column; nothing left for the features")
    X = np.delete(table, column, axis=1).astype(np.float32)
    y = table[:, column].astype(np.float32)
    return X, y


def _is_text(cell: str) -> bool:
    try:
        float(cell)
        return False
    except ValueError:
        return bool(cell.strip())


def _target_column(target, header, width: int, name: str) -> int:
    """The index of the target column: a header name, or an index (int or digits)."""
    if isinstance(target, str) and (header is None or target not in header) \
            and target.strip().lstrip("-").isdigit():
        target = int(target)
    if isinstance(target, str):
        if header is None:
            raise DatasetError(f"{name}: target {target!r} named, but the file has no header row")
        if target not in header:
            raise DatasetError(f"{name}: no column named {target!r} (columns: "
                               f"{', '.join(header)})")
        return header.index(target)
    column = int(target)
    if not -width <= column < width:
        raise DatasetError(f"{name}: target column {column} out of range for {width} columns")
    return column % width


def load_csv(path, target=-1, delimiter: str = ","):
    """Load a numeric CSV file as engine tensors `(X, y)`.

    `target` picks the label column by header name or by index (default: the last; a
    string of digits counts as an index unless a header names a column so);
    the other columns become float32 features `X` (n, k) and the target a float32 vector
    `y` (n,) (call `y.long()` for class indices). `target=None` returns `X` alone with
    every column. A first row containing text is read as the header. Malformed files
    raise `DatasetError` with a one-line message naming the file, line and column.
    """
    X, y = load_csv_arrays(path, target, delimiter)
    return _to_tensors(X, y)
