"""`warn`: a warning attributed to the user's line that called into the engine.

A fixed `stacklevel` breaks whenever an engine layer sits between the caller and the code that
warns (the recording wrapper of every op, a module's __call__, a functional calling another),
so this walks out of the engine's own frames instead, as PyTorch's C++ warnings point at the
Python caller.
"""
import os
import sys
import warnings

_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _outside_engine_level() -> int:
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_ENGINE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def warn(message, category=UserWarning) -> None:
    """warnings.warn(message, category) reported at the first frame outside engine/."""
    warnings.warn(message, category, stacklevel=_outside_engine_level())
