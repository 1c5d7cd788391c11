"""The Tensor: a raw backend array plus autograd state, with PyTorch's public API.

Internal layout (for engine modules; the training stack may use these for speed):
  `t._a`     the raw array (numpy.ndarray on "cpu", cupy.ndarray on "cuda"). Writing into
             it in place bypasses autograd and version counting; do it only on tensors
             that are not saved for backward (optimizer updates under no_grad are fine).
  `t._node`  the grad_fn (a Node) or None for leaves;  `t._nr` its output number.
  `t._rg`    requires_grad;  `t._grad` the .grad Tensor or None.
  `t._ver`   the version counter, a one-item list shared by a tensor and its views.
  `t._base`  the tensor this one is a view of (always a non-view root), or None.
  `t._vv`    (views) the version at which the view's grad_fn was last set. When the base
             or another view of it is modified in place the shared version moves on, and
             the view's grad_fn is regenerated on its next use (engine.autograd.views), as in
             PyTorch: AsStridedBackward0 over the base's new grad_fn. Make views with
             `engine.autograd.views._mark_view`, which sets `_ver`, `_base` and `_vv` together, and, while the
             base does not require grad, notes the view weakly in the base's `_x["views"]` so
             that an in-place op giving the base requires_grad sets `_rg` on its views too.
`_from_array(a)` wraps an array without copying. The public `.data` returns a detached
Tensor sharing the array (so `p.data.add_(...)` or `w.data -= lr * g` update `w`), with
its own version counter, as in PyTorch. Ops, operators and backward() are Tensor methods
installed from engine.ops' registry (engine/ops/tensor_methods.py).
"""
import weakref

import numpy as np

from . import _dtype
from ._warnings import warn as _warn
from .backend import device_of, to_device, is_cuda_array
from .autograd.graph import RemovableHandle
from .autograd.grad_mode import state as _gs
from .autograd.views import _regen_view, _wake_views
from ._dtype import is_floating

__all__ = ["Tensor", "Size"]

_ndarray = np.ndarray
_np_asarray = np.asarray


class Size(tuple):
    """A tensor shape; prints as `torch.Size([2, 3])`."""
    __slots__ = ()

    def __repr__(self):
        return f"torch.Size([{', '.join(map(str, self))}])"

    __str__ = __repr__

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r


_LEGACY = _dtype.LEGACY_NAMES
_legacy_type_name = _dtype.legacy_type_name


_NONLEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information.")


_warned_once = {"float": False}    # PyTorch's TORCH_WARN_ONCE warnings already given


class Tensor:
    """An n-dimensional array that can record operations for reverse-mode autograd."""
    _wrap_array = None         # set below: _from_array, for modules below this one (saved outputs)
    __slots__ = ("_a", "_node", "_nr", "_rg", "_grad", "_ver", "_base", "_acc", "_x", "_vv", "__weakref__")

    # -- construction ---------------------------------------------------------------------
    def __new__(cls, *args, **kwargs):
        """`Tensor([1., 2.])` (default dtype), `Tensor(2, 3)` (zeros), `Tensor()` (empty)."""
        dev = kwargs.pop("device", None)
        if len(args) == 1 and not isinstance(args[0], int):
            src = args[0]
            if isinstance(src, Tensor):
                a = src._a
            else:
                a = np.array(src, dtype=_dtype.get_default_dtype().np)
        else:
            a = np.zeros(args if args else (0,), dtype=_dtype.get_default_dtype().np)
        if dev is not None:
            a = to_device(a, dev)
        t = object.__new__(cls)
        _init(t, a)
        return t

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def _make_subclass(cls, data, require_grad=False):
        """A `cls` instance sharing `data`'s array, a leaf (how nn.Parameter is built)."""
        t = object.__new__(cls)
        _init(t, data._a if isinstance(data, Tensor) else _np_asarray(data))
        if isinstance(data, Tensor):
            t._ver = data._ver
        if require_grad:
            _check_can_require_grad(t)
        t._rg = bool(require_grad)
        return t

    # -- autograd attributes ---------------------------------------------------------------
    @property
    def grad_fn(self):
        if self._base is not None and self._vv != self._ver[0]:
            _regen_view(self)
        return self._node

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        if self._base is not None and self._vv != self._ver[0] and not (self._x and self._x.get("view_meta")):
            _regen_view(self)     # a no_grad or multi-output view raises only when its grad_fn is used
        return self._rg

    @property
    def output_nr(self):
        """Which output of its grad_fn this tensor is (0 for leaves)."""
        return self._nr if self.grad_fn is not None else 0

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a "
                    "computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach().")
            return self
        if requires_grad:
            _check_can_require_grad(self)
            if not self._rg and self._x and "views" in self._x:
                _wake_views(self)     # PyTorch: a view requires grad when its base does
        self._rg = bool(requires_grad)
        return self

    @property
    def grad(self):
        if self._node is not None and not self.retains_grad:
            _warn(_NONLEAF_GRAD_WARNING)
        return self._grad

    @grad.setter
    def grad(self, g):
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(g).__name__}")
            if g._a.dtype != self._a.dtype:
                raise RuntimeError("assigned grad has data of a different type")
            if g._a.shape != self._a.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if device_of(g._a) != device_of(self._a):
                raise RuntimeError("assigned grad has data located on a different device")
        self._grad = g

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def retains_grad(self):
        x = self._x
        return bool(x and x.get("retains"))

    def retain_grad(self):
        """Keep .grad for this non-leaf after backward (a no-op on leaves)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._node is None or self.retains_grad:
            return
        self._extra()["retains"] = True
        self._node._extra().setdefault("retain", {})[self._nr] = weakref.ref(self)

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement grad, called when this tensor's grad is computed."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._node is None:
            d = self._extra().setdefault("hooks", {})
        else:
            d = self._node._extra().setdefault("tpre", {}).setdefault(self._nr, {})
        h = RemovableHandle(d)
        d[h.id] = hook
        return h

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) called after a leaf's .grad has been accumulated."""
        if self._node is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        d = self._extra().setdefault("post_acc", {})
        h = RemovableHandle(d)
        d[h.id] = hook
        return h

    def _extra(self):
        x = self._x
        if x is None:
            x = self._x = {}
        return x

    def detach(self):
        """A tensor sharing the array and version counter, outside the graph."""
        t = _from_array(self._a)
        t._ver = self._ver
        return t

    def detach_(self):
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._node = None
        self._rg = False
        self._nr = 0
        return self

    @property
    def data(self):
        t = _from_array(self._a)
        return t

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError("Variable data has to be a tensor, but got " + type(value).__name__)
        self._a = value._a
        self._acc = None

    @property
    def _version(self):
        return self._ver[0]

    def _is_view(self):
        return self._base is not None

    # -- metadata ---------------------------------------------------------------------------
    @property
    def shape(self):
        return Size(self._a.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._a.shape)
        return self._a.shape[dim]

    @property
    def ndim(self):
        return self._a.ndim

    def dim(self):
        return self._a.ndim

    ndimension = dim

    def numel(self):
        return int(self._a.size)

    nelement = numel

    @property
    def dtype(self):
        return _dtype.from_np(self._a.dtype)

    @property
    def device(self):
        return device_of(self._a)

    @property
    def is_cuda(self):
        return is_cuda_array(self._a)

    __array_priority__ = 1000      # `ndarray * tensor` defers to Tensor.__rmul__, as with PyTorch
    is_sparse = False
    is_quantized = False
    is_meta = False
    is_mkldnn = False
    # devices and layouts the engine does not have (programs test them beside is_cuda)
    is_mps = is_xpu = is_xla = is_ipu = is_maia = is_mtia = is_vulkan = False
    is_nested = is_sparse_csr = False

    @property
    def is_cpu(self):
        return not self.is_cuda
    is_complex = staticmethod(lambda: False)

    def is_floating_point(self):
        return is_floating(self._a.dtype)

    def element_size(self):
        return self._a.itemsize

    def get_device(self):
        return -1 if not self.is_cuda else self._a.device.id

    def type(self, dtype=None, non_blocking=False):
        """The legacy type name ('torch.FloatTensor'), or a copy converted to `dtype` (a dtype,
        a legacy type such as torch.DoubleTensor, or its name)."""
        if dtype is None:
            return _legacy_type_name(self._a)
        if isinstance(dtype, str):
            names = {v: k for k, v in _LEGACY.items()}
            dtype = _dtype._by_name(names[dtype.rsplit(".", 1)[-1]])
        dtype = getattr(dtype, "dtype", dtype)
        return self.to(dtype)

    def stride(self, dim=None):
        st = tuple(s // self._a.itemsize for s in self._a.strides)
        return st if dim is None else st[dim]

    def is_contiguous(self, memory_format=None):
        return bool(self._a.flags.c_contiguous)

    def data_ptr(self):
        a = self._a
        return a.ctypes.data if type(a) is _ndarray else a.data.ptr

    def storage_offset(self):
        """Elements from the start of the storage this tensor views (its root's data) to its own."""
        root = self._base if self._base is not None else self
        return (self.data_ptr() - root.data_ptr()) // self._a.itemsize

    # -- conversion ---------------------------------------------------------------------------
    def item(self):
        if self._a.size != 1:
            raise RuntimeError(f"a Tensor with {self._a.size} elements cannot be converted to Scalar")
        return self._a.item()

    def tolist(self):
        a = self._a
        return (a if type(a) is _ndarray else a.get()).tolist()

    def numpy(self, force=False):
        if self._rg and not force and _gs.enabled:      # allowed under no_grad, as in PyTorch
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self._a.dtype is _dtype._BF16:              # NumPy has no bfloat16 (PyTorch's message)
            raise TypeError("Got unsupported ScalarType BFloat16")
        if is_cuda_array(self._a):
            if not force:
                raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to "
                                "copy the tensor to host memory first.")
            return self._a.get()
        return self._a

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __float__(self):
        if self._rg and _gs.enabled and not _warned_once["float"]:   # once per process, as torch's
            _warned_once["float"] = True
            _warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                  "behavior.\nConsider using tensor.detach() first.")
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._a.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._a.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._a.item())

    def __len__(self):
        if self._a.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._a.shape[0]

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._a.shape[0]))

    __hash__ = object.__hash__

    def __repr__(self, *, tensor_contents=None):
        from ._tensor_str import _str
        return _str(self, tensor_contents=tensor_contents)

    def __format__(self, spec):
        if self._a.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __deepcopy__(self, memo):
        if self._node is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                               "deepcopy protocol at the moment.")
        if id(self) in memo:
            return memo[id(self)]
        new = Tensor._make_subclass(type(self), _from_array(self._a.copy()), self._rg)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = _from_array(self._grad._a.copy())
        d = getattr(self, "__dict__", None)
        if d:
            import copy
            new.__dict__.update(copy.deepcopy(d, memo))
        return new

    def __reduce_ex__(self, proto):
        a = self._a
        host = a if type(a) is _ndarray else a.get()
        state = getattr(self, "__dict__", None)
        return (_rebuild, (type(self), host, self._rg, str(self.device), state))

    def __setstate__(self, state):
        if state:
            self.__dict__.update(state)

    def __dir__(self):
        return sorted(set(object.__dir__(self)) - {"_a"})


def _rebuild(cls, host, rg, dev, state=None):
    a = host if dev == "cpu" else to_device(host, dev)
    t = Tensor._make_subclass(cls, _from_array(a), rg)
    if state:
        t.__dict__.update(state)
    return t


def _init(t, a):
    t._a = a
    t._node = None
    t._nr = 0
    t._rg = False
    t._grad = None
    t._ver = [0]
    t._base = None
    t._vv = 0
    t._acc = None
    t._x = None


_new = object.__new__


def _from_array(a):
    """Wrap a backend array (no copy) in a fresh leaf Tensor; numpy scalars become 0-d arrays.
    The constructor of every op result: sets the slots _init sets, inline (it runs once per op)."""
    if type(a) is not _ndarray and not is_cuda_array(a):
        a = _np_asarray(a)
    t = _new(Tensor)
    t._a = a
    t._node = None
    t._nr = 0
    t._rg = False
    t._grad = None
    t._ver = [0]
    t._base = None
    t._vv = 0
    t._acc = None
    t._x = None
    return t


Tensor._wrap_array = staticmethod(_from_array)


def _check_can_require_grad(t):
    if not is_floating(t._a.dtype):
        raise RuntimeError("only Tensors of floating point dtype can require gradients")
