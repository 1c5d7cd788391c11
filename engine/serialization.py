"""`save` and `load` in PyTorch's zip format, with `weights_only` as in PyTorch 2.6+.

A file is a zip archive: `<name>/data.pkl` (a protocol-2 pickle of the object), one record
`<name>/data/<key>` per tensor with its raw little-endian bytes, and `version`, `byteorder`,
`.format_version`, `.storage_alignment`. Tensors are pickled as PyTorch pickles them
(`torch._utils._rebuild_tensor_v2` over a persistent `('storage', torch.FloatStorage, key,
location, numel)`), so files written here load in PyTorch and PyTorch's files load here.

`load(..., weights_only=True)` (the default) unpickles only an allowlist of globals (the
tensor rebuild functions, storage types, dtypes, `torch.Size`, `torch.device`, `OrderedDict`,
`Counter`, `set`, `bytearray`, `complex`, plus what `add_safe_globals` allows): no code of
the file's choosing runs. Anything else is refused with PyTorch's message.
`weights_only=False` is an ordinary pickle load (trusted files only), where `torch.*` names
resolve to their `engine.*` counterparts.

Each saved tensor gets its own storage: views saved together do not share memory after a
load (PyTorch keeps them sharing). The legacy pre-1.6 (non-zip) format is not read.
"""
from __future__ import annotations

import collections
import _compat_pickle
import contextlib
import io
import os
import pickle
import sys
import zipfile

import numpy as np

import engine

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

# PyTorch's storage class for each engine dtype name (the names in the pickle).
_STORAGE_OF = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
               "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
               "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
               "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
               "complex128": "ComplexDoubleStorage"}
_DTYPE_OF_STORAGE = {v: k for k, v in _STORAGE_OF.items()}

_UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will likely "
    "succeed, but it can result in arbitrary code execution. Do it only if you got the file from a "
    "trusted source.")
_DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default with "
    "weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")


# -- saving -----------------------------------------------------------------------------------

class _Global:
    """A name written into the pickle as `GLOBAL module name` (PyTorch's, not ours)."""
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):      # pickle's save_reduce wants a callable; never called
        raise TypeError(f"{self.module}.{self.name} is only a name written into a pickle")


class _Storage:
    __slots__ = ("key", "dtype_name", "location", "numel")

    def __init__(self, key, dtype_name, location, numel):
        self.key, self.dtype_name, self.location, self.numel = key, dtype_name, location, numel


class _Pickler(pickle._Pickler):
    """Protocol-2 pickler that writes engine tensors, dtypes, devices and Sizes under PyTorch's
    names and collects each tensor's bytes as a record."""

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.records: list[tuple[str, bytes]] = []

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
            return
        if isinstance(obj, engine.dtype):
            return self.save(_Global("torch", obj.name))
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _Global("torch", _STORAGE_OF[obj.dtype_name]), obj.key,
                    obj.location, obj.numel)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, engine.Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, engine.Size):
            return _Global("torch", "Size"), (tuple(obj),)
        if isinstance(obj, engine.device):
            return _Global("torch", "device"), (str(obj),)
        return NotImplemented

    def _reduce_tensor(self, t):
        if isinstance(t, engine.nn.Parameter):
            plain = engine.Tensor._make_subclass(engine.Tensor, t.detach(), False)
            return (_Global("torch._utils", "_rebuild_parameter"),
                    (plain, t.requires_grad, collections.OrderedDict()))
        a = t.detach().cpu()._a            # the raw array (numpy() refuses bfloat16)
        if a.dtype.name not in _STORAGE_OF:
            raise pickle.PicklingError(f"cannot save a tensor of dtype {t.dtype}")
        flat = np.ascontiguousarray(a).reshape(-1)
        if flat.dtype.byteorder == ">":
            flat = flat.astype(flat.dtype.newbyteorder("<"))
        key = str(len(self.records))
        self.records.append((key, flat.tobytes()))
        location = "cpu" if t.device.type == "cpu" else str(t.device) if ":" in str(t.device) \
            else f"{t.device.type}:0"
        storage = _Storage(key, a.dtype.name, location, flat.size)
        stride = tuple(int(np.prod(a.shape[i + 1:])) for i in range(a.ndim))
        return (_Global("torch._utils", "_rebuild_tensor_v2"),
                (storage, 0, tuple(a.shape), stride, t.requires_grad, collections.OrderedDict()))


def save(obj, f, pickle_module=None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False):
    """Write `obj` (tensors, state_dicts, optimizer state, nested containers, or any picklable
    object) to `f` (a path or a binary file object) in PyTorch's zip format."""
    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError("engine.save writes with the standard pickle module only")
    data = io.BytesIO()
    pickler = _Pickler(data)
    pickler.dump(obj)
    name = "archive"
    if isinstance(f, (str, os.PathLike)):
        name = os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
    entries = [("data.pkl", data.getvalue()), (".format_version", b"1"),
               (".storage_alignment", b"64"), ("byteorder", b"little")]
    entries += [(f"data/{key}", raw) for key, raw in pickler.records]
    entries += [("version", b"3\n"), (".data/serialization_id", b"0" * 40)]
    opened = not isinstance(f, (str, os.PathLike))
    with contextlib.ExitStack() as stack:
        out = f if opened else stack.enter_context(open(f, "wb"))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            for entry, raw in entries:
                z.writestr(f"{name}/{entry}", raw)


# -- loading ----------------------------------------------------------------------------------

class _StorageType:
    """What `torch.FloatStorage` and its siblings unpickle to: the storage's dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype_name = _DTYPE_OF_STORAGE[name]


def _storage_dtype(name):
    if name == "bfloat16":
        return engine.bfloat16.np if hasattr(engine, "bfloat16") else _ml_bfloat16()
    return np.dtype(name)


def _ml_bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        raise RuntimeError("loading a bfloat16 tensor needs the ml_dtypes package") from None
    return np.dtype(ml_dtypes.bfloat16)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    array, device = storage
    if len(size) and min(size) == 0:
        view = np.empty(size, array.dtype)
    else:
        view = np.lib.stride_tricks.as_strided(
            array[storage_offset:], shape=tuple(size),
            strides=tuple(s * array.itemsize for s in stride))
    t = engine.from_numpy(np.array(view, copy=True))
    if device != "cpu":
        t = t.to(device)
    return t.requires_grad_(bool(requires_grad)) if t.is_floating_point() else t


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _rebuild_tensor_v2(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    return engine.nn.Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad)
    for key, value in (state or {}).items():
        setattr(p, key, value)
    return p


def _rebuild_from_type_v2(func, new_type, args, state):
    return func(*args)


def _codecs_encode(text, encoding="utf-8"):
    return text.encode(encoding) if isinstance(text, str) else bytes(text)


def _dtype_global(name):
    d = getattr(engine, name, None)
    return d if isinstance(d, engine.dtype) else None


def _allowed(module: str, name: str):
    """The object an allowlisted global names, or None."""
    full = f"{module}.{name}"
    fixed = {"collections.OrderedDict": collections.OrderedDict,
             "collections.Counter": collections.Counter,
             "builtins.set": set, "builtins.bytearray": bytearray, "builtins.complex": complex,
             "_codecs.encode": _codecs_encode,
             "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
             "torch._utils._rebuild_tensor": _rebuild_tensor,
             "torch._utils._rebuild_parameter": _rebuild_parameter,
             "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
             "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
             "torch.Size": engine.Size, "torch.device": engine.device, "torch.Tensor": engine.Tensor,
             "torch.nn.parameter.Parameter": engine.nn.Parameter}
    if full in fixed:
        return fixed[full]
    if module == "torch" and name in _DTYPE_OF_STORAGE:
        return _StorageType(name)
    if module == "torch":
        return _dtype_global(name)
    return None


_user_safe_globals: dict[str, object] = {}


def _full_name(obj) -> str:
    if isinstance(obj, tuple):
        return obj[1]
    return f"{obj.__module__}.{obj.__qualname__}"


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes/functions (or `(obj, "module.name")` pairs) in weights_only loads."""
    for g in safe_globals:
        _user_safe_globals[_full_name(g)] = g[0] if isinstance(g, tuple) else g


def get_safe_globals() -> list:
    return list(_user_safe_globals.values())


def clear_safe_globals() -> None:
    _user_safe_globals.clear()


@contextlib.contextmanager
def safe_globals(safe_globals: list):
    """Allow these globals for weights_only loads inside the `with` block."""
    before = dict(_user_safe_globals)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe_globals.clear()
        _user_safe_globals.update(before)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, records, map_location, weights_only, **kwargs):
        super().__init__(file, **kwargs)
        self.records, self.map_location = records, map_location
        self.weights_only = weights_only
        self.storages: dict[str, tuple] = {}

    def find_class(self, module, name):
        if (module, name) in _compat_pickle.NAME_MAPPING:    # protocol 2 writes Python 2's names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _allowed(module, name)
        if found is not None:
            return found
        full = f"{module}.{name}"
        if full in _user_safe_globals:
            return _user_safe_globals[full]
        if self.weights_only:
            if module == "builtins":
                full = name
            raise pickle.UnpicklingError(
                f"Unsupported global: GLOBAL {full} was not an allowed global by default. "
                f"Please use `torch.serialization.add_safe_globals([{full}])` or the "
                f"`torch.serialization.safe_globals([{full}])` context manager to allowlist this "
                "global if you trust this class/function.")
        if module == "torch" or module.startswith("torch."):
            module = "engine" + module[len("torch"):]
        return super().find_class(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError("unsupported persistent id encountered")
        _, storage_type, key, location, numel = pid
        if key not in self.storages:
            if not isinstance(storage_type, _StorageType):
                raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
            array = np.frombuffer(self.records(key), dtype=_storage_dtype(storage_type.dtype_name))
            if callable(self.map_location) and not isinstance(self.map_location, engine.device):
                moved = self.map_location(engine.from_numpy(array.copy()), location)
                self.storages[key] = (moved.detach().cpu()._a, str(moved.device))
            else:
                self.storages[key] = (array, self._device(location))
        return self.storages[key]

    def _device(self, location: str) -> str:
        where = self.map_location
        if where is None:
            return location
        if isinstance(where, dict):
            return where.get(location, location)
        return str(where)


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap=None, **pickle_load_args):
    """Read an object written by `save` (or by PyTorch's `torch.save`) from a path or a binary
    file object. weights_only (default True) refuses any global outside the allowlist."""
    if weights_only is None:
        weights_only = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() not in (
            "1", "y", "yes", "true")
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    pickle_load_args.setdefault("encoding", "utf-8")
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(open(f, "rb")) if isinstance(f, (str, os.PathLike)) else f
        if not zipfile.is_zipfile(src):
            raise RuntimeError("engine.load reads PyTorch's zip format (torch.save since 1.6); "
                               "this file is not a zip archive")
        src.seek(0)
        z = stack.enter_context(zipfile.ZipFile(src))
        pkl = next((n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise RuntimeError("PytorchStreamReader failed locating file data.pkl: file not found")
        prefix = pkl[:-len("data.pkl")]
        try:
            order = z.read(prefix + "byteorder").decode()
        except KeyError:
            order = "little"
        if order != sys.byteorder:
            raise RuntimeError(f"engine.load cannot read a {order}-endian file on this machine")

        def records(key):
            return z.read(f"{prefix}data/{key}")

        unpickler = _Unpickler(io.BytesIO(z.read(pkl)), records, map_location, weights_only,
                               **pickle_load_args)
        if not weights_only:
            return unpickler.load()
        try:
            return unpickler.load()
        except pickle.UnpicklingError as e:
            message = str(e)
            if "was not an allowed global by default" in message:
                text = ("Weights only load failed. This file can still be loaded, to do so you have "
                        "two options, \033[1mdo those steps only if you trust the source of the "
                        f"checkpoint\033[0m. \n\t(1) {_UNSAFE_MESSAGE}\n\t(2) Alternatively, to load "
                        "with `weights_only=True` please check the recommended steps in the "
                        "following error message.\n\tWeightsUnpickler error: " + message)
            else:
                text = (f"Weights only load failed. {_UNSAFE_MESSAGE}\nPlease file an issue with "
                        "the following so that we can make `weights_only=True` compatible with "
                        "your use case: WeightsUnpickler error: \n\n" + message)
            raise pickle.UnpicklingError(text + _DOCS_MESSAGE) from None
