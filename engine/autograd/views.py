"""View and version bookkeeping: which tensors share storage and a version counter, how an
in-place change rebases history (CopySlices, AsStridedBackward0), and how a stale view's
grad_fn is regenerated on its next use. Used by the op core (engine.ops._core) and by
Tensor's autograd properties; it never builds op results itself.

A view `t` of base `b` shares `b._ver`; `t._base` is the root base and `t._vv` the version at
which its grad_fn was set. When the shared version moves on, `_regen_view(t)` makes its grad_fn
AsStridedBackward0 over the base's current grad_fn (PyTorch's VariableHooks::grad_fn).
"""
import builtins
import weakref

import numpy as np

from .grad_mode import state as _gs
from .graph import Node, new_node


def _ops():
    """The op families (engine.ops), which sit above this module: used by the backward formulas
    of the nodes below and by rebasing, never while the modules load."""
    from .. import ops
    return ops


def _mark_view(t, x, kind=None):
    """Make t a view of x: it shares x's version counter and root base. kind "multi" marks an
    output of split/unbind; a view made under no_grad is marked "no_grad" (PyTorch's creation
    meta: such views may not see an in-place change of their base, see _regen_view) and requires
    grad when its base does, with no grad_fn (_e gives it no edge). While the base does not require
    grad it keeps a weak reference to t, for _wake_views."""
    if x._base is not None and x._vv != x._ver[0] and _gs.enabled:
        _regen_view(x)
    b = x._base if x._base is not None else x
    t._ver = x._ver
    t._base = b
    t._vv = x._ver[0]
    if not b._rg:                      # remember t weakly in case b gains grad in place
        bx = b._x
        vs = bx.get("views") if bx is not None else None
        if vs is None:
            _track_view(b, t)
        else:
            vs.append(_wref(t))
            if len(vs) >= vs.cap:
                _prune_views(vs)
    if not _gs.enabled:
        kind = "no_grad"
        if b._rg:                      # PyTorch: a view requires grad when its base does
            t._rg = True
    elif kind is None and x is not b and x._x is not None:
        kind = x._x.get("view_meta")   # a view of a view keeps its creation meta (propagate_creation_meta)
    if kind is not None:
        t._x = {"view_meta": kind}


class _LiveViews(list):
    """Weak references to the views of a base that does not require grad, kept so that an in-place
    op giving the base requires_grad can set it on them too (_wake_views): ops read `v._rg` directly.
    Dead references are dropped whenever the list doubles past the live count."""
    __slots__ = ("cap",)


_wref = weakref.ref


def _track_view(b, t):
    """The first view of b that _mark_view remembers."""
    vs = b._extra()["views"] = _LiveViews((_wref(t),))
    vs.cap = 64


def _prune_views(vs):
    vs[:] = [r for r in vs if r() is not None]
    vs.cap = 2 * len(vs) + 64


def _wake_views(b):
    """b (a base) now requires grad: so do its views, whose grad_fn then regenerates lazily."""
    vs = b._x.pop("views", None)
    if vs:
        for r in vs:
            v = r()
            if v is not None:
                v._rg = True


def _rebase(x, node, nr=0, bump=True, view=True):
    """Make node the grad_fn of x after an in-place change; retain_grad moves to the new node.

    When x is a view, its base's history is rebased too (PyTorch's CopySlices): the base's
    new grad_fn sends grad[region] to x's new node and grad with the region zeroed to the
    base's old grad_fn; x's grad_fn becomes AsStridedBackward0 of the base.
    """
    if x.retains_grad and x._node is not None:
        old = x._node._x.get("retain", {}) if x._node._x else {}
        ref = old.pop(x._nr, None)
        if ref is not None:
            node._extra().setdefault("retain", {})[nr] = ref
    if not x._rg and x._base is None and x._x is not None:
        _wake_views(x)
    x._node, x._nr, x._rg = node, nr, True
    if bump:
        x._ver[0] += 1
    if x._base is not None:
        x._vv = x._ver[0]
        if view:
            _rebase_view(x)


class AsStridedBackward0(Node):
    __slots__ = ("shape", "key")
    formula = "AsStridedBackward0: self: zeros(self.shape) with the view's elements += grad"

    def backward(self, g):
        return _ops().indexing._index_fill_grad(g, self.shape, self.key, accumulate=True)


def _array_ptr(a):
    return a.__array_interface__["data"][0] if type(a) is np.ndarray else a.data.ptr


def _view_key(base_a, view_a):
    """Index arrays (one per base dim) of the base elements that view_a looks at."""
    isz = base_a.itemsize
    off = (_array_ptr(view_a) - _array_ptr(base_a)) // isz
    if base_a.flags.c_contiguous:
        flat = np.arange(base_a.size, dtype=np.int64)[off:]
        idx = np.lib.stride_tricks.as_strided(flat, view_a.shape, tuple(st // isz * 8 for st in view_a.strides))
        return np.unravel_index(idx, base_a.shape)
    # any layout: match each view element's memory offset to the base element at that offset
    base_off = _item_offsets(base_a.shape, base_a.strides, 0, isz).ravel()
    order = np.argsort(base_off, kind="stable")
    pos = np.searchsorted(base_off, _item_offsets(view_a.shape, view_a.strides, off, isz), sorter=order)
    return np.unravel_index(order[pos], base_a.shape)


def _item_offsets(shape, strides, start, isz):
    """Memory offset (in items) of every element of an array with this shape and byte strides."""
    out = np.full(shape, start, dtype=np.int64)
    for d, (n, st) in enumerate(zip(shape, strides)):
        out += (np.arange(n, dtype=np.int64) * (st // isz)).reshape((n,) + (1,) * (len(shape) - d - 1))
    return out


class CopySlices(Node):
    """The grad_fn of a tensor written in place through an index or a view (PyTorch's CopySlices).

    `x[key] = value` (fn None): next_functions = (x's old grad_fn, value); backward sends grad
    with the region zeroed to x's history and grad[region], summed to value's shape, to value.
    An in-place op on a view (fn: that op's node): next_functions = (base's old grad_fn, fn's
    other inputs...); backward runs fn's formula on grad[view region] and writes its first
    result back into that region of the base's grad.
    """
    __slots__ = ("key", "fn", "shape", "vshape")
    formula = "CopySlices: base: grad with grad[region] = fn'(grad[region]) (or 0), others: grads on grad[region]"

    def _apply(self, grads):
        g = grads[0]
        indexing = _ops().indexing
        if self.fn is None:
            n = self._next
            gs = indexing._masked_zero(g, self.key) if n[0][0] is not None else None
            gv = _ops()._core.sum_to(indexing._index_raw(g, self.key), self.vshape) if n[1][0] is not None else None
            return gs, gv
        if self._saved is None and self.fn._saved:   # the engine freed this node: free fn too
            self.fn._saved = None
        res = self.fn._apply([_ops().indexing._index_raw(g, self.key)])
        if type(res) is not tuple:
            res = (res,)
        gb = None
        if self._next[0][0] is not None:
            gb = _ops().indexing._masked_zero(g, self.key)
            r0 = res[0]
            if r0 is not None:
                gb = gb + _ops().indexing._index_fill_grad(_ops()._core.sum_to(r0, self.vshape), self.shape, self.key, accumulate=True)
        return (gb,) + tuple(res[1:])

    def saved_values(self):
        return self.fn.saved_values() if self.fn is not None else {}


def _rebase_view(v):
    base = v._base
    B = base._a
    key = _view_key(B, v._a)
    fn = v._node
    n = new_node(CopySlices)
    n.key, n.fn, n.shape, n.vshape = key, fn, B.shape, v._a.shape
    n._next = (_ops()._core._e(base),) + tuple(fn._next[1:])
    n._meta = ((B.shape, B.dtype),)
    n._saved = (fn,)          # non-empty so that the engine's release marks this node freed
    n._sver = (None,)
    _rebase(base, n, 0, bump=False, view=False)
    vn = new_node(AsStridedBackward0)
    vn.shape, vn.key = B.shape, key
    vn._next = ((n, 0),)
    vn._meta = ((v._a.shape, v._a.dtype),)
    vn._saved = ()
    _rebase(v, vn, 0, bump=False, view=False)


def _check_inplace(x, *others):
    """PyTorch's check_inplace, in its order; others: the op's other inputs (their requires_grad counts)."""
    if _gs.enabled:
        b = x._base
        if b is not None and x._vv != x._ver[0]:
            _regen_view(x)
        if b is not None:
            if x._x is not None and x._x.get("view_meta") and (
                    x._rg or b._rg or builtins.any(getattr(o, "_rg", False) for o in others)):
                raise RuntimeError(_view_meta_error(x, "is being"))
            if b._node is None and b._rg:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
        if x._node is None and x._rg:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


def _view_meta_error(v, modified):
    """PyTorch's message for an in-place change a view's creation forbids (handle_view_on_rebase)."""
    kind, n = v._x["view_meta"], v._node
    if n is not None:
        name = n.name()
        name = name[:name.rindex("Backward")] if "Backward" in name else name
    if kind == "no_grad" or n is None:
        head = f"Output {v._nr} of {name} is a view of a view which was created in" if n is not None else \
            "A view was created in"
        msg = f"{head} no_grad mode and {modified} modified inplace with grad mode enabled."
    else:
        msg = f"Output {v._nr} of {name} is a view and {modified} modified inplace."
    if kind == "multi":
        return (msg + " This view is the output of a function that returns multiple views. Such functions do not "
                "allow the output views to be modified inplace. You should replace the inplace operation by an "
                "out-of-place one.")
    return (msg + " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
            "code by moving both the view and the inplace either both inside the no_grad block (if you don't "
            "want the inplace to be tracked) or both outside (if you want the inplace to be tracked).")


def _regen_view(v):
    """Regenerate the grad_fn of view v after its base or another view of it changed in place
    (v's version stamp lags the shared counter): AsStridedBackward0 over the base's grad_fn,
    as PyTorch does on the next access of v.grad_fn (VariableHooks::grad_fn). Called from
    _e/_needs, view ops, indexing, in-place checks and Tensor's autograd properties. A view
    whose base gained requires_grad through the in-place change already has `_rg` set (the
    base remembers its views while it does not require grad: _mark_view, _wake_views)."""
    base = v._base
    if v._node is None and not base._rg:
        return
    if v._x is not None and v._x.get("view_meta"):
        raise RuntimeError(_view_meta_error(v, "its base or another view of its base has been"))
    B = base._a
    n = new_node(AsStridedBackward0)
    n.shape, n.key = B.shape, _view_key(B, v._a)
    core = _ops()._core                 # connected as any op: an edge to the base's history
    core._finish(core._wrap(v._a), n, (base,))
    _rebase(v, n, 0, bump=False, view=False)
