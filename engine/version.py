"""`engine.__version__` and `engine.version`: the PyTorch release whose API the engine follows,
so that scripts checking `torch.__version__` take the branch written for that release."""
import re

__all__ = ["__version__", "cuda", "TorchVersion"]


def _parts(version):
    """(major, minor, patch) of "2.13.0+cpu", a tuple, or anything else as ()."""
    if isinstance(version, tuple):
        return tuple(int(x) for x in version)
    if isinstance(version, str):
        return tuple(int(x) for x in re.findall(r"\d+", version.split("+")[0])[:3])
    return None


class TorchVersion(str):
    """A version string that compares as a version with strings and tuples (as PyTorch's
    TorchVersion): "2.13.0" > "2.2" and >= (2, 0)."""

    def __lt__(self, other):
        return _parts(self) < _parts(other)

    def __le__(self, other):
        return _parts(self) <= _parts(other)

    def __gt__(self, other):
        return _parts(self) > _parts(other)

    def __ge__(self, other):
        return _parts(self) >= _parts(other)

    def __eq__(self, other):
        return _parts(self) == _parts(other)

    def __ne__(self, other):
        return not self == other

    __hash__ = str.__hash__


__version__ = TorchVersion("2.13.0")
cuda = None          # the CUDA version PyTorch was built with: the engine's CPU build has none
git_version = None
