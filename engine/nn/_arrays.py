"""The training stack's window onto the core's internals: read a tensor's backing array,
wrap an array as a tensor, record an in-place write (bumps the version counter), and
record a graph node for an op computed on arrays (`record`), name a Function's node
(`name_node`), reset parameters' gradients (`zero_grads`, for Module and Optimizer)."""
from __future__ import annotations

from engine.ops._core import _finish, _needs
from engine._tensor import _from_array
from engine.autograd.graph import Node, new_node
from engine.autograd.function import name_node
from engine.backend import xp_of as namespace_of

__all__ = ["array_of", "grad_array_of", "tensor_from_array", "mark_modified", "namespace_of",
           "record", "name_node", "zero_grads", "Node"]


def array_of(t):
    """The tensor's backing NumPy/CuPy array (shared, no copy)."""
    return t._a


def grad_array_of(t):
    """The backing array of `t.grad`, or None when there is no gradient."""
    g = t._grad
    return None if g is None else g._a


def zero_grads(params, set_to_none: bool) -> None:
    """Reset each parameter's gradient: to None, or to zeros in place (a gradient built with
    create_graph=True is detached first). `Module.zero_grad` and `Optimizer.zero_grad`."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            if p.grad.requires_grad:
                p.grad = p.grad.detach()
            grad_array_of(p)[...] = 0


def tensor_from_array(a):
    """A new leaf tensor (requires_grad=False) over array `a`, without copying."""
    return _from_array(a)


def mark_modified(t) -> None:
    """Record that `t`'s array was written in place, as an in-place op would."""
    t._ver[0] += 1


def record(node_cls, out, inputs: tuple, saved: tuple = (), **attributes):
    """Make a new `node_cls` node the grad_fn of `out` (when grad mode is on and an input
    requires grad), with edges to `inputs`, `saved` kept for backward (version-checked) and
    `attributes` set on the node. The fast path of the hottest layers (linear, nll_loss);
    other ops use `engine.autograd.Function`."""
    if _needs(*inputs):
        node = new_node(node_cls)
        for name, value in attributes.items():
            setattr(node, name, value)
        _finish(out, node, inputs, saved)
    return out
