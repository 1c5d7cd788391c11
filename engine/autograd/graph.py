"""Backward-graph nodes: `Node` (a grad_fn), `AccumulateGrad` (a leaf's sink), saved tensors, hooks.

A node is created by each differentiable op; it is also the op's `ctx`. It holds
`_next`: the `next_functions` tuple of `(node_or_None, input_nr)` pairs, one per
differentiable input; `_seq`: the creation sequence number the engine orders by;
`_meta`: per output `(shape, numpy dtype)` the gradient must have; `_saved`: tensors
saved for backward (inputs by reference with their version, outputs by array so the
node does not keep its own output alive). Hooks, tensor hooks, retain_grad, metadata
and the anomaly-mode creation trace live in a lazily created dict `_x`.

Debugger access: `node.name()`, `node.next_functions`, `node.saved_values()` (name ->
Tensor or value), `node.formula` (one line: the gradient sent to each input),
`node.metadata`, and `node._saved_<name>` like PyTorch.
"""
import itertools
import weakref

from .grad_mode import state as _gs
from .saved_hooks import (_Packed, disable_saved_tensors_hooks, save_on_cpu,  # noqa: F401
                          saved_tensors_hooks)
from .._dtype import legacy_type_name

__all__ = ["Node", "AccumulateGrad", "GraphRoot", "RemovableHandle", "grad_accumulator",
           "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_seq = itertools.count()
_new_node = object.__new__
_next_seq = _seq.__next__
ACC_SEQ = (1 << 64) - 1
_FREED_MSG = ("Trying to backward through the graph a second time (or directly access saved tensors "
              "after they have already been freed). Saved intermediate values of the graph are freed "
              "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
              "backward through the graph a second time or if you need to access saved tensors after "
              "calling backward.")


class RemovableHandle:
    """Returned by every register_*hook; `remove()` takes the hook out."""
    __slots__ = ("_store", "id")
    _ids = itertools.count()

    def __init__(self, store):
        self._store = store
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _type_str(a):
    return legacy_type_name(a)


class _SavedOutput:
    """An op's own output saved for backward: kept by array (no reference cycle)."""
    __slots__ = ("a", "ver", "nr", "wrap")

    def __init__(self, t):
        self.a, self.ver, self.nr, self.wrap = t._a, t._ver, t._nr, t._wrap_array


class _NodeMeta(type):
    """A node class carrying `_name` is named so (type(grad_fn).__name__ == grad_fn.name())."""

    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        if "_apply" in ns and any(isinstance(b, _NodeMeta) for b in bases):   # else backward(g) directly
            type.__setattr__(cls, "_single", False)
        if ns.get("_name"):
            type.__setattr__(cls, "__name__", ns["_name"])
            type.__setattr__(cls, "__qualname__", ns["_name"])

    def __setattr__(cls, key, value):
        super().__setattr__(key, value)
        if key == "_name" and value:
            super().__setattr__("__name__", value)
            super().__setattr__("__qualname__", value)


class Node(metaclass=_NodeMeta):
    """A grad_fn. Subclasses define `backward(self, grad)` with engine Tensor ops."""
    __slots__ = ("_next", "_seq", "_meta", "_saved", "_sver", "_x", "__weakref__")
    _single = True        # one output, default _apply: the engine calls backward(grad) directly
    _name = None          # PyTorch's node name; defaults to the class name
    formula = ""          # one line: "<name>: grad for each input"
    saved_names = ()      # names of the entries of _saved, for saved_values()
    saved_attrs = ()      # names of non-tensor attributes the debugger may show

    # -- PyTorch's public node API ---------------------------------------------------------
    def name(self):
        return self._name or type(self).__name__

    @property
    def next_functions(self):
        return self._next

    @property
    def metadata(self):
        return self._extra().setdefault("metadata", {})

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) -> None or replacement grad_inputs; runs after the node."""
        d = self._extra().setdefault("hooks", {})
        h = RemovableHandle(d)
        d[h.id] = fn
        return h

    def register_prehook(self, fn):
        """fn(grad_outputs) -> None or replacement grad_outputs; runs before the node."""
        d = self._extra().setdefault("pre", {})
        h = RemovableHandle(d)
        d[h.id] = fn
        return h

    def __call__(self, *grads):
        return self._apply(list(grads))

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    # -- engine side -------------------------------------------------------------------------
    def _extra(self):
        x = self._x
        if x is None:
            x = self._x = {}
        return x

    def _apply(self, grads):
        return self.backward(grads[0])

    def backward(self, grad):  # pragma: no cover - every op overrides
        raise NotImplementedError(f"{self.name()} has no backward formula")

    def _release(self):
        if self._saved:
            self._saved = None

    @property
    def saved(self):
        """The saved tensors, checked against in-place modification since they were saved."""
        s = self._saved
        if s is None:
            raise RuntimeError(_FREED_MSG)
        if not s:
            return s
        out = []
        for item, ver in zip(s, self._sver):
            if ver is None:
                out.append(item)
            elif type(item) is _Packed:          # kept by saved_tensors_hooks' pack_hook
                if item.ver[0] != ver:
                    src = self if item.is_output else item.source
                    raise RuntimeError(_modified_msg(item.shape_like, item.ver[0], ver, src, item.nr))
                out.append(item.unpack(self))
            elif type(item) is _SavedOutput:
                if item.ver[0] != ver:
                    raise RuntimeError(_modified_msg(item.a, item.ver[0], ver, self, item.nr))
                t = item.wrap(item.a)
                t._ver = item.ver
                t._node, t._nr, t._rg = self, item.nr, True
                out.append(t)
            else:
                if item._ver[0] != ver:
                    src = item._node
                    raise RuntimeError(_modified_msg(item._a, item._ver[0], ver, src, item._nr))
                out.append(item)
        return tuple(out)

    def saved_values(self):
        """name -> saved Tensor or value, for the debugger (raises once freed, like PyTorch)."""
        vals = dict(zip(self.saved_names, self.saved)) if self.saved_names else {}
        for a in self.saved_attrs:
            vals[a] = getattr(self, a, None)
        return vals

    def __getattr__(self, item):
        if item.startswith("_saved_"):
            key = item[7:]
            if key in self.saved_names:
                return self.saved[self.saved_names.index(key)]
            if key in self.saved_attrs:
                return getattr(self, key)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{item}'")


def _modified_msg(arr, now, expected, node, nr):
    import re
    where = f", which is output {nr} of {re.sub(r'Backward[0-9]*$', '', node.name())}," if node is not None else ""
    return ("one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: [{_type_str(arr)} [{', '.join(map(str, arr.shape))}]]{where} is at version "
            f"{now}; expected version {expected} instead. Hint: enable anomaly detection to find the "
            "operation that failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


class AccumulateGrad(Node):
    """The sink of a leaf that requires grad: writes or adds the gradient into `variable.grad`."""
    __slots__ = ("variable",)
    formula = "AccumulateGrad: variable.grad += grad"

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):                 # PyTorch prints the short name here
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def __init__(self, variable):
        self.variable = variable
        self._next = ()
        self._seq = ACC_SEQ
        self._meta = ((variable._a.shape, variable._a.dtype),)
        self._saved = ()
        self._x = None

    def _apply(self, grads):  # the engine accumulates (it records the write); nothing flows on
        return ()


class GraphRoot(Node):
    """Starts a backward pass from several roots at once."""
    __slots__ = ("grads",)

    def __init__(self, edges, grads):
        self._next = tuple(edges)
        self._seq = _next_seq()
        self._meta = ()
        self._saved = ()
        self._x = None
        self.grads = tuple(grads)

    def _apply(self, grads):
        return self.grads


def grad_accumulator(t):
    """The AccumulateGrad node of a leaf that requires grad (one per leaf, cached weakly)."""
    ref = t._acc
    if ref is not None:
        node = ref()
        if node is not None:
            return node
    node = _new_node(AccumulateGrad)         # AccumulateGrad.__init__, inline (runs per leaf per step)
    node.variable = t
    node._next = ()
    node._seq = ACC_SEQ
    a = t._a
    node._meta = ((a.shape, a.dtype),)
    node._saved = ()
    node._x = None
    t._acc = weakref.ref(node)
    return node


def new_node(cls):
    """A fresh node of `cls` with the common slots set (the hot path of every op)."""
    n = cls.__new__(cls)
    n._seq = _next_seq()
    n._x = None
    if _gs.anomaly:
        import traceback
        n._x = {"trace": "".join(traceback.format_stack()[:-3])}
    return n
