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


# NumPy reports floating-point trouble (log(0), 0/0, overflow, a NaN cast to an integer) as a
# RuntimeWarning from the Python line that called the ufunc; PyTorch computes the same nan/inf
# silently. The filter below silences exactly those NumPy messages when that line is engine code
# (the warning's module is engine or engine.*): no per-op cost, NumPy's own error state
# (np.seterr) is untouched, and a user's own NumPy code keeps its warnings.
FLOATING_POINT_MESSAGE = r"(invalid value|divide by zero|overflow|underflow) encountered in "


def silence_numpy_floating_point_warnings_in_engine() -> None:
    warnings.filterwarnings("ignore", message=FLOATING_POINT_MESSAGE, category=RuntimeWarning,
                            module=r"engine(\.|$)")
