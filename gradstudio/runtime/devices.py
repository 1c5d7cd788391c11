"""Recognises a device that ran out of memory, for the runs and the trainer that fall back to the cpu."""
from __future__ import annotations


def is_out_of_memory(error: BaseException | str) -> bool:
    """True for CuPy's OutOfMemoryError (known by name: CuPy may not be installed) or an
    error, or a node's error text, that says "out of memory"."""
    if isinstance(error, BaseException):
        if type(error).__name__ == "OutOfMemoryError":
            return True
        error = str(error)
    return "out of memory" in error.lower()
