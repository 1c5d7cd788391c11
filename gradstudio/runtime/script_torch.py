"""`import torch` as the engine, for one script run, and the one-line report of a missing name.

`install_torch_alias()` puts a finder first on `sys.meta_path` that answers `torch` and every
`torch.X.Y` with the engine's module `engine.X.Y` (the very same module object, so
`torch.nn is engine.nn`). It is meant for the script's worker process only: nothing else in
gradstudio imports torch, and the real torch (if installed) is never touched. A `torch.X`
the engine lacks fails with `MissingTorchName`, whose message is the one line a person
reads: "torch.distributions is not in gradstudio's engine".

`missing_name(exc)` recognises the other ways a missing name shows up while a script runs
(`torch.nn.LSTM` -> AttributeError on an engine module, `from torch.nn import LSTM` ->
ImportError, `x.stft()` -> AttributeError on an engine Tensor) and names the torch spelling.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import re
import sys


class MissingTorchName(ImportError):
    """A torch module the engine does not have."""


def engine_name(torch_name: str) -> str:
    return "engine" + torch_name[len("torch"):]


def torch_name(engine_name_: str) -> str:
    return "torch" + engine_name_[len("engine"):] if engine_name_.startswith("engine") \
        else engine_name_


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module) -> None:
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        pass


class TorchAlias(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        try:
            module = importlib.import_module(engine_name(fullname))
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("engine"):
                raise MissingTorchName(f"{fullname} is not in gradstudio's engine",
                                       name=fullname) from None
            raise
        spec = importlib.util.spec_from_loader(fullname, _AliasLoader(module))
        return spec


def install_torch_alias() -> None:
    """For this process: `import torch...` gives the engine's modules."""
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, TorchAlias())
    import engine
    sys.modules["torch"] = engine


_CANNOT_IMPORT = re.compile(r"cannot import name '([^']+)' from '([^']+)'")


def missing_name(exc: BaseException) -> str | None:
    """The torch name a script asked for and the engine lacks, or None."""
    if isinstance(exc, MissingTorchName):
        return exc.name
    if isinstance(exc, ImportError):
        match = _CANNOT_IMPORT.search(str(exc))
        if match and match.group(2).startswith("engine"):
            return f"{torch_name(match.group(2))}.{match.group(1)}"
        return None
    if isinstance(exc, AttributeError):
        obj, name = getattr(exc, "obj", None), getattr(exc, "name", None)
        if name is None:
            return None
        if type(obj).__name__ == "module" and obj.__name__.startswith("engine"):
            return f"{torch_name(obj.__name__)}.{name}"
        import engine
        if isinstance(obj, engine.Tensor):
            return f"torch.Tensor.{name}"
        module = getattr(type(obj), "__module__", "") or ""
        if module.startswith("engine") and not name.startswith("_"):
            return f"{torch_name(module.rsplit('.', 1)[0] if '._' in module else module)}." \
                   f"{type(obj).__name__}.{name}"
    return None
