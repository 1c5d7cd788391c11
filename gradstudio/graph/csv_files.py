"""A CSV node's file: checked before it is read, read once per version of the file, kept.

    x, y = csv_arrays(engine, "data.csv", target=-1)    # numpy arrays (float32)
    csv_ready("data.csv", -1)                           # already read (or refused)?

A path that is not a regular file (/dev/zero, a fifo, a folder), a file over MAX_CSV_BYTES or
with more than MAX_CSV_ROWS lines is refused with one line before any parsing. What was read
(or the reason it was refused) is kept for the last CACHE_SIZE files, keyed by the file's
path, size and modification time, so a run after an edit does not read the file again, and
the window can read a file in a worker thread first (`RunController`) and then run without
blocking. Thread-safe.
"""
from __future__ import annotations

import copy
import os
import stat
import threading
from collections import OrderedDict
from typing import Any

MAX_CSV_BYTES = 64 * 1024 * 1024    # a CSV node reads at most this much
MAX_CSV_ROWS = 1_000_000
CACHE_SIZE = 4

_cache: OrderedDict[tuple, Any] = OrderedDict()    # key -> (x, y) or the exception raised
_lock = threading.Lock()


class CsvFileError(ValueError):
    """A CSV node's file that is not read; the message is one line for the person."""


def csv_target(params: dict) -> int | str:
    """The CSV node's target parameter as load_csv takes it: an index or a column name."""
    target = params["target"].strip()
    if not target:
        return -1
    return int(target) if target.lstrip("-").isdigit() else target


def csv_arrays(engine: Any, path: str, target: int | str = -1) -> tuple[Any, Any]:
    """(x, y) of the file, from the cache or read now (engine.datasets.load_csv_arrays)."""
    key = _key(path, target)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
    if found is None:
        try:
            _count_rows(path)
            found = engine.datasets.load_csv_arrays(path, target=target)
        except (ValueError, OSError) as exc:     # kept, so a bad file is not read again
            found = exc
        with _lock:
            _cache[key] = found
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(found, Exception):
        raise copy.copy(found) from None      # a fresh one each time: no traceback piles up
    return found


def csv_ready(path: str, target: int | str = -1) -> bool:
    """True when csv_arrays would answer without reading the file."""
    try:
        key = _key(path, target)
    except CsvFileError:
        return True                   # refused at once, no reading
    with _lock:
        return key in _cache


def _key(path: str, target: int | str) -> tuple:
    """Checks what a stat can tell (a regular file, not too large); the cache key."""
    name = os.path.basename(path) or path
    try:
        info = os.stat(path)
    except OSError as exc:
        raise CsvFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CsvFileError(f"{name} is not a regular file; choose a .csv file")
    if info.st_size > MAX_CSV_BYTES:
        raise CsvFileError(f"{name} has {info.st_size / 2**20:.0f} MiB, more than the "
                           f"{MAX_CSV_BYTES // 2**20} MiB a CSV node reads")
    return (os.path.realpath(path), info.st_size, info.st_mtime_ns, target)


def _count_rows(path: str) -> None:
    rows = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            rows += block.count(b"\n")
            if rows > MAX_CSV_ROWS:
                raise CsvFileError(f"{os.path.basename(path)} has more than "
                                   f"{MAX_CSV_ROWS:,} rows, the most a CSV node reads")
