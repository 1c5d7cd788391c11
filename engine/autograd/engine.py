"""The backward traversal: one generator, `backward_steps`, that runs the graph node by node.

It follows PyTorch's engine (torch/csrc/autograd/engine.cpp): count each node's pending
consumers, start from the root's grad_fn (or a GraphRoot for several roots), and run
ready nodes from a max-heap on creation sequence number (later-created first;
AccumulateGrad has the largest number so it runs as soon as it is ready), reproducing
libstdc++'s heap so ties break as PyTorch's do. Gradients arriving at a node are summed
in its input buffer; each gradient passed on is reduced to the receiving input's shape
and cast to its dtype here, in one place (`_fit`), so no op's formula handles broadcasting.

`backward_steps(...)` yields a `BackwardStep` after each executed node and is lazy: a
debugger calls next() to advance one node. `backward_plan(...)` lists the nodes in the
order the generator will run them (the same loop, without executing anything).
`grad()` and `backward(inputs=...)` exhaust the same generator with recording off.
`backward()` without inputs= (every training step) runs `_run`: the same traversal as a
plain loop, with nothing to yield or restrict; tests/test_engine_backward_paths.py checks
that both give the same gradients, hook calls and order.
"""
import sys
import warnings
from collections import deque
from time import perf_counter
from dataclasses import dataclass, field

import numpy as _np

from .grad_mode import state as _gs
from .._tensor import Tensor, _from_array
from ..backend import xp_of
from .graph import AccumulateGrad, GraphRoot, grad_accumulator
from . import recording as _recording
from . import profiler as _profiler
from .profiler import _active as _profiling
from .._dtype import is_floating

__all__ = ["BackwardStep", "backward_steps", "backward_plan", "backward", "grad"]

_getrefcount = sys.getrefcount
_NOT_SUSPENDED = object()
# Gradients nobody else holds are reused in place instead of copied (PyTorch does the same
# with use_count()). The reference counts below are those of CPython 3.10-3.13; 3.14 starts
# borrowing references on the stack, so there the engine always copies.
_REUSE = sys.version_info < (3, 14)


def _ones(a):
    """Ones shaped like array a (empty + fill: half of np.ones' time for the one-element roots
    of benchmark case `tiny`)."""
    if type(a) is not _np.ndarray:
        return xp_of(a).ones(a.shape, a.dtype)
    r = _np.empty(a.shape, a.dtype)
    r.fill(1)
    return r


def _ops():
    """The op families (engine.ops sits above this module): sum_to, tensor, zeros_like, _copy_of."""
    from .. import ops
    return ops


@dataclass
class BackwardStep:
    """What one executed node did during backward."""
    node: object                    # the grad_fn (or AccumulateGrad / GraphRoot) that ran
    grads_in: tuple                 # gradients it received, one per node output (None = none came)
    grads_out: tuple                # gradient passed to each next_functions entry (None = nothing)
    accumulations: list = field(default_factory=list)  # (leaf, grad_before, grad_after) snapshots
    hooks: list = field(default_factory=list)          # (description, grad_before, grad_after)
    retained: list = field(default_factory=list)       # non-leaf tensors whose .grad was set


# -- libstdc++'s std::priority_queue on (sequence number), so ties pop in PyTorch's order --------
def _heap_push(h, node):
    h.append(node)
    i = len(h) - 1
    s = node._seq
    while i > 0:
        p = (i - 1) >> 1
        if h[p]._seq < s:
            h[i] = h[p]
            i = p
        else:
            break
    h[i] = node


def _heap_pop(h):
    top = h[0]
    value = h.pop()
    n = len(h)
    if n == 0:
        return top
    hole = 0
    child = 0
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if h[child]._seq < h[child - 1]._seq:
            child -= 1
        h[hole] = h[child]
        hole = child
    if (n & 1) == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        h[hole] = h[child - 1]
        hole = child - 1
    s = value._seq
    parent = (hole - 1) // 2
    while hole > 0 and h[parent]._seq < s:
        h[hole] = h[parent]
        hole = parent
        parent = (hole - 1) // 2
    h[hole] = value
    return top


def _edge(t):
    node = t.grad_fn          # the property: a view whose base changed in place regenerates it
    if node is not None:
        return node, t._nr
    if t._rg:
        return grad_accumulator(t), 0
    return None, 0


def _fit(g, node, nr, src):
    """Reduce/cast gradient g to what input `nr` of `node` expects (the one broadcasting place)."""
    shape, dt = node._meta[nr]
    a = g._a
    if a.shape != shape:
        try:
            g = _ops()._core.sum_to(g, shape)
        except ValueError:
            raise RuntimeError(f"Function {src.name()} returned an invalid gradient - got "
                               f"[{', '.join(map(str, a.shape))}] but expected shape compatible with "
                               f"[{', '.join(map(str, shape))}]") from None
    if g._a.dtype != dt:
        g = g.to(dtype=dt)      # dt is a NumPy dtype: passed by name (to(dt) reads engine dtypes only)
    return g


def _dependencies(root):
    """node -> how many edges lead into it from the graph below root (PyTorch's dependencies)."""
    deps = {}
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        for nxt, _ in pop()._next:
            if nxt is not None:
                if nxt in deps:
                    deps[nxt] += 1
                else:
                    deps[nxt] = 1
                    if nxt._next:         # leaves' AccumulateGrads lead nowhere
                        push(nxt)
    return deps


def _should_execute(root, needed_targets, captured_nodes):
    """Nodes on a path from root to a needed target or a capture point (PyTorch's exec_info)."""
    info = {}
    stack = [(root, iter(root._next))]
    seen = {root}
    while stack:
        fn, it = stack[-1]
        for nxt, _ in it:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, iter(nxt._next)))
                break
        else:
            stack.pop()
            info[fn] = fn in needed_targets or any(
                n is not None and (info.get(n) or n in captured_nodes) for n, _ in fn._next)
    return info


def _snapshot(g):
    return None if g is None else g.detach().clone()


def _start(roots, grads):
    """The node backward starts from and its input buffer: the root's grad_fn, or a GraphRoot
    over several roots."""
    if len(roots) == 1:
        root, nr = _edge(roots[0])
        buf0 = [None] * len(root._meta)
        g0 = grads[0]
        if g0 is not None:
            a = g0._a
            m = root._meta[nr]
            if a.shape != m[0] or a.dtype != m[1]:
                g0 = _fit(g0, root, nr, root)
        buf0[nr] = g0
        return root, buf0
    return GraphRoot([_edge(t) for t in roots], grads), []


def _traverse(roots, grads, keep_graph, create_graph, inputs=None, capture=False,
              record=False, dry=False, out=None):
    """The stepwise traversal (debugger, grad(), backward(inputs=)); `_run` is its plain-loop twin.
    Yields a BackwardStep (record=True), the node (dry=True) or None per node.

    inputs: tensors to restrict to (backward(inputs=)) or to capture (capture=True, grad()).
    out: list receiving captured gradients, aligned with inputs.
    """
    root, buf0 = _start(roots, grads)
    deps = _dependencies(root)

    exec_info = None
    captures = {}        # node -> [(nr, index into inputs)]
    if inputs is not None:
        needed = set()
        for i, t in enumerate(inputs):
            node, nr = _edge(t)
            if node is None:
                continue
            if capture or t._node is not None:
                captures.setdefault(node, []).append((nr, i))
            else:
                needed.add(node)
        exec_info = _should_execute(root, needed, captures)
        if not (exec_info.get(root) or root in captures):
            return

    buffers = {root: buf0}
    heap = [root]
    prev_mode = _gs.enabled
    anomaly = _gs.anomaly and _gs.anomaly_check_nan
    Acc = AccumulateGrad
    rec = _NOT_SUSPENDED
    try:
        while heap:
            node = heap.pop() if len(heap) == 1 else _heap_pop(heap)
            buf = buffers.pop(node)
            nxt_edges = node._next
            if dry:
                if exec_info is not None and not exec_info.get(node):
                    continue
                outs = (True,) * len(nxt_edges)
            else:
                _gs.enabled = create_graph
                rec = _recording.active          # backward formulas are not recorded ops
                _recording.active = None
                step = BackwardStep(node, tuple(buf), ()) if record else None
                x = node._x
                is_acc = type(node) is Acc
                if x is not None or (is_acc and node.variable._x):     # hooks, retain_grad
                    buf = _pre_hooks(node, buf, step)
                if capture and node in captures:       # grad(): collect instead of accumulating
                    for nr, i in captures[node]:
                        g = buf[nr]
                        out[i] = g if out[i] is None or g is None else out[i] + g
                if exec_info is not None and not exec_info.get(node):
                    _gs.enabled = prev_mode
                    _recording.active = rec
                    rec = _NOT_SUSPENDED
                    continue
                if is_acc:
                    g = buf[0]
                    del buf
                    if g is not None:
                        _accumulate(node.variable, g, create_graph, step)
                    outs = ()
                else:
                    if (buf[0] is not None) if len(buf) == 1 else (not buf or any(g is not None for g in buf)):
                        timed = _profiling and perf_counter()          # a profile is recording
                        outs = node.backward(buf[0]) if node._single else node._apply(buf)
                        if timed:
                            _profiler._backward_node(node, timed)
                        if type(outs) is not tuple:
                            outs = (outs,) if not isinstance(outs, list) else tuple(outs)
                        if len(outs) != len(nxt_edges):
                            raise RuntimeError(f"function {node.name()} returned an incorrect number of "
                                               f"gradients (expected {len(nxt_edges)}, got {len(outs)})")
                    else:
                        outs = (None,) * len(nxt_edges)
                    if x is not None and "hooks" in x:
                        for h in list(x["hooks"].values()):
                            r = h(outs, tuple(buf))
                            if r is not None:
                                if step is not None:
                                    step.hooks.append((f"node hook {getattr(h, '__name__', h)}", outs, tuple(r)))
                                outs = tuple(r)
                    if not keep_graph and node._saved:
                        node._saved = None
                    if anomaly:
                        _check_anomaly(node, outs)
                    if _getrefcount(outs) > 2:    # a hook or the formula kept the tuple: its
                        outs = tuple([*outs])     # gradients are not the engine's to reuse in place
            grads_out = [] if record else None
            i = 0
            for nxt, nr in nxt_edges:
                if nxt is None:
                    if record:
                        grads_out.append(None)
                    i += 1
                    continue
                g = outs[i]
                i += 1
                if g is not None and not dry:
                    a = g._a
                    m = nxt._meta[nr]
                    if a.shape != m[0] or (a.dtype is not m[1] and a.dtype != m[1]):
                        g = _fit(g, nxt, nr, node)
                if record:
                    grads_out.append(g)
                d = deps[nxt] - 1
                deps[nxt] = d
                if exec_info is not None and not (exec_info.get(nxt) or nxt in captures):
                    continue
                b = buffers.get(nxt)
                if b is None:
                    if len(nxt._meta) == 1:
                        buffers[nxt] = [g]
                    else:
                        b = buffers[nxt] = [None] * len(nxt._meta)
                        b[nr] = g
                elif b[nr] is None:
                    b[nr] = g
                elif g is not None and not dry:
                    b[nr] = _sum_grads(b[nr], g, create_graph)
                if d == 0:
                    if heap:
                        _heap_push(heap, nxt)
                    else:
                        heap.append(nxt)
            outs = g = a = b = None
            if dry:
                yield node
            else:
                _gs.enabled = prev_mode
                _recording.active = rec
                rec = _NOT_SUSPENDED
                if record:
                    step.grads_out = tuple(grads_out)
                    yield step
                else:
                    yield None
    finally:
        _gs.enabled = prev_mode
        if rec is not _NOT_SUSPENDED:
            _recording.active = rec


def _run(roots, grads, keep_graph, create_graph):
    """backward() without inputs=: `_traverse`'s loop with nothing to yield, restrict or record
    (benchmark cases `tiny`, `chain` and `mixed` and every training step run here). The same
    order, buffers, hooks and in-place reuse; grad mode and recording are switched once for the
    whole pass instead of around each node, since no caller code runs between nodes."""
    t = roots[0] if len(roots) == 1 else None
    if t is not None and t._node is not None and t._base is None and grads[0] is not None:
        root = t._node                   # _start, inline for a non-view root (bench cases tiny, chain)
        g0 = grads[0]
        m = root._meta[t._nr]
        if g0._a.shape != m[0] or g0._a.dtype != m[1]:
            g0 = _fit(g0, root, t._nr, root)
        buf0 = [g0] if len(root._meta) == 1 else [g0 if i == t._nr else None for i in range(len(root._meta))]
    else:
        root, buf0 = _start(roots, grads)
    t = None
    deps = _dependencies(root)
    buffers = {root: buf0}
    heap = [root]
    prev_mode, rec = _gs.enabled, _recording.active
    anomaly = _gs.anomaly and _gs.anomaly_check_nan
    Acc = AccumulateGrad
    _gs.enabled = create_graph
    _recording.active = None              # backward formulas are not recorded ops
    try:
        while heap:
            # _heap_pop, inline for one or two entries (the root of a heap of two is its first)
            node = heap.pop(0) if len(heap) < 3 else _heap_pop(heap)
            buf = buffers.pop(node)
            if type(node) is Acc:
                if node._x is not None or node.variable._x:      # hooks, retain_grad
                    buf = _pre_hooks(node, buf, None)
                g = buf[0]
                del buf
                if g is not None:
                    _accumulate(node.variable, g, create_graph, None)
                    g = None
                continue
            x = node._x
            if x is not None:
                buf = _pre_hooks(node, buf, None)
            nxt_edges = node._next
            if (buf[0] is not None) if len(buf) == 1 else (not buf or any(g is not None for g in buf)):
                if _profiling:                   # a profile is recording
                    timed = perf_counter()
                    outs = node.backward(buf[0]) if node._single else node._apply(buf)
                    _profiler._backward_node(node, timed)
                else:
                    outs = node.backward(buf[0]) if node._single else node._apply(buf)
                if type(outs) is not tuple:
                    outs = (outs,) if not isinstance(outs, list) else tuple(outs)
                if len(outs) != len(nxt_edges):
                    raise RuntimeError(f"function {node.name()} returned an incorrect number of "
                                       f"gradients (expected {len(nxt_edges)}, got {len(outs)})")
            else:
                outs = (None,) * len(nxt_edges)
            if x is not None and "hooks" in x:
                for h in list(x["hooks"].values()):
                    r = h(outs, tuple(buf))
                    if r is not None:
                        outs = tuple(r)
            if not keep_graph and node._saved:
                node._saved = None
            if anomaly:
                _check_anomaly(node, outs)
            if _getrefcount(outs) > 2:    # a hook or the formula kept the tuple: its gradients
                outs = tuple([*outs])     # are not the engine's to reuse in place (_sum_grads)
            i = -1
            for nxt, nr in nxt_edges:       # (not zip: its reused tuple would hold one more reference to g)
                i += 1
                if nxt is None:
                    continue
                g = outs[i]
                if g is not None:
                    m = nxt._meta[nr]
                    if g._a.shape != m[0] or g._a.dtype != m[1]:
                        g = _fit(g, nxt, nr, node)
                d = deps[nxt] - 1
                deps[nxt] = d
                b = buffers.get(nxt)
                if b is None:
                    if len(nxt._meta) == 1:
                        buffers[nxt] = [g]
                    else:
                        b = buffers[nxt] = [None] * len(nxt._meta)
                        b[nr] = g
                elif b[nr] is None:
                    b[nr] = g
                elif g is not None:
                    b[nr] = _sum_grads(b[nr], g, create_graph)
                if d == 0:
                    # _heap_push, inline while the heap stays in order by appending
                    if not heap or (len(heap) == 1 and heap[0]._seq >= nxt._seq):
                        heap.append(nxt)
                    else:
                        _heap_push(heap, nxt)
            outs = g = b = buf = None    # drop references: a later node may reuse these in place
    finally:
        _gs.enabled = prev_mode
        _recording.active = rec


def _sum_grads(old, new, create_graph):
    """old + new for an input buffer, written in place into whichever of the two gradients
    nothing but the engine holds (PyTorch's InputBuffer does the same); else out of place.
    The reference counts are those of the engine's own variables: the buffer slot for `old`,
    the node's output tuple and the loop variable for `new`."""
    if not create_graph:
        oa, na = old._a, new._a
        if oa.shape == na.shape and oa.dtype == na.dtype:
            if oa.size == 1:
                return _from_array(oa + na)     # bench case `tiny`: in place costs ~3x a new sum on one element
            if not _REUSE:
                return old + new
            if _getrefcount(old) <= 3 and _getrefcount(oa) <= 3 and oa.base is None and old._node is None:
                try:
                    oa += na
                    return old
                except ValueError:        # a read-only array
                    pass
            if _getrefcount(new) <= 4 and _getrefcount(na) <= 3 and na.base is None and new._node is None:
                try:
                    na += oa
                    return new
                except ValueError:
                    pass
    return old + new


def _pre_hooks(node, buf, step):
    """Tensor hooks, retain_grad and node pre-hooks, in PyTorch's order."""
    if type(node) is AccumulateGrad:
        vx = node.variable._x
        if vx and "hooks" in vx and buf[0] is not None:
            for h in list(vx["hooks"].values()):
                r = h(buf[0])
                if r is not None:
                    if step is not None:
                        step.hooks.append((f"tensor hook {getattr(h, '__name__', h)}", buf[0], r))
                    buf[0] = r
    x = node._x
    if not x:
        return buf
    tpre = x.get("tpre")
    if tpre:
        for nr, hooks in tpre.items():
            for h in list(hooks.values()):
                if buf[nr] is None:
                    continue
                r = h(buf[nr])
                if r is not None:
                    if step is not None:
                        step.hooks.append((f"tensor hook {getattr(h, '__name__', h)} on output {nr}", buf[nr], r))
                    buf[nr] = r
    retain = x.get("retain")
    if retain:
        for nr, ref in retain.items():
            t = ref()
            g = buf[nr]
            if t is None or g is None:
                continue
            if t._grad is None:
                t._grad = g.clone() if _gs.enabled else g.detach().clone()
            else:
                t._grad = t._grad + g
            if step is not None:
                step.retained.append(t)
    pre = x.get("pre")
    if pre:
        for h in list(pre.values()):
            r = h(tuple(buf))
            if r is not None:
                if step is not None:
                    step.hooks.append((f"node prehook {getattr(h, '__name__', h)}", tuple(buf), tuple(r)))
                buf = list(r)
    return buf


def _accumulate(var, g, create_graph, step):
    """Write or add g into var.grad, as AccumulateGrad does (steals g when nothing else holds it)."""
    old = var._grad
    before = _snapshot(old) if step is not None else None
    if old is None:
        if create_graph:
            var._grad = _ops().writes._copy_of(g)     # CopyBackwards, as PyTorch's AccumulateGrad makes it
        elif _REUSE and _getrefcount(g) <= 3 and _getrefcount(g._a) <= 2 and g._a.base is None and g._node is None:
            var._grad = g          # nobody else holds this fresh gradient: keep it without a copy
        else:
            var._grad = g.detach().clone()
    elif create_graph or old._rg:
        var._grad = old + g
    else:
        a, ga = old._a, g._a
        try:
            if a.shape != ga.shape:
                raise ValueError
            if a.size == 1:     # bench case `tiny`: NumPy's in-place add costs ~6x a sum of scalars
                i = (0,) * a.ndim
                a[i] = a[i] + ga[i]
            else:
                a += ga
        except ValueError:          # another shape, or a read-only array: a new .grad
            var._grad = old + g
        else:
            old._ver[0] += 1
    if step is not None:
        step.accumulations.append((var, before, _snapshot(var._grad)))
    vx = var._x
    if vx and "post_acc" in vx:
        for h in list(vx["post_acc"].values()):
            h(var)


def _check_anomaly(node, outs):
    for i, g in enumerate(outs):
        if g is None:
            continue
        a = g._a
        if not is_floating(a.dtype):
            continue
        bad = "nan" if bool((a != a).any()) else None
        if bad is None and not bool((abs(a) != float("inf")).all()):
            bad = "inf"
        if bad:
            trace = (node._x or {}).get("trace")
            msg = f"Function '{node.name()}' returned {bad} values in its {i}th output."
            if trace:
                warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused "
                              f"the error:\n{trace}", UserWarning, stacklevel=3)
                msg += f"\nThe forward op that created {node.name()} was called from:\n{trace}"
            raise RuntimeError(msg)


# -- public entry points --------------------------------------------------------------------
def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return (x,)


def _make_grads(outputs, grads, is_grads_batched=False):
    res = []
    for i, out in enumerate(outputs):
        g = grads[i] if grads is not None and i < len(grads) else None
        if not out._rg:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if out._a.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not is_floating(out._a.dtype):
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {out.dtype}")
            a = out._a
            g = _from_array(_ones(a))
        else:
            if not isinstance(g, Tensor):
                g = _ops().tensor(g, dtype=out.dtype)
            if g._a.shape != out._a.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                                   f"output[{i}] has a shape of {out.shape}.")
        res.append(g)
    return res


def _prepare(tensors, grad_tensors, retain_graph, create_graph, inputs):
    tensors = _as_tuple(tensors)
    grads = _make_grads(tensors, _as_tuple(grad_tensors))
    keep = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        for t in inputs:
            if not t._rg:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            if t._node is not None:     # a non-leaf input gets its .grad through retain_grad
                t.retain_grad()
    return tensors, grads, keep, inputs


def backward_steps(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Run backward lazily: a generator yielding one BackwardStep per executed node.

    Arguments are those of `engine.autograd.backward`. Nothing runs until next() is called;
    each next() executes exactly one node (tensor hooks, retain_grad, the node's formula,
    its hooks, leaf accumulation) and returns what it did. When retain_graph is false each
    node frees its saved tensors as it runs, as PyTorch does.
    """
    tensors, grads, keep, inputs = _prepare(tensors, grad_tensors, retain_graph, create_graph, inputs)
    return _traverse(tensors, grads, keep, create_graph, inputs, record=True)


def backward_plan(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """The nodes, in order, that `backward_steps` with the same arguments will execute."""
    tensors, grads, keep, inputs = _prepare(tensors, grad_tensors, retain_graph, create_graph, inputs)
    return list(_traverse(tensors, grads, keep, create_graph, inputs, dry=True))


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Accumulate gradients of `tensors` into the .grad of the leaves (PyTorch's autograd.backward)."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    if create_graph:
        warnings.warn("Using backward() with create_graph=True will create a reference cycle between the "
                      "parameter and its gradient which can cause a memory leak. We recommend using "
                      "autograd.grad when creating the graph to avoid this. If you have to use this "
                      "function, make sure to reset the .grad fields of your parameters to None after use "
                      "to break the cycle and avoid the leak.", UserWarning, stacklevel=3)
    if inputs is None and grad_tensors is None and type(tensors) is tuple and len(tensors) == 1:
        a = tensors[0]._a
        if tensors[0]._rg and a.size == 1 and is_floating(a.dtype):
            # `t.backward()` on a scalar (bench cases tiny, chain): _prepare's work, for one implicit gradient
            _run(tensors, (_from_array(_ones(a)),), create_graph if retain_graph is None else retain_graph,
                 create_graph)
            return
    tensors, grads, keep, inputs = _prepare(tensors, grad_tensors, retain_graph, create_graph, inputs)
    if inputs is None:
        _run(tensors, grads, keep, create_graph)
    else:
        deque(_traverse(tensors, grads, keep, create_graph, inputs), maxlen=0)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated into .grad)."""
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported by the engine; "
                                  "loop over the batch of grad_outputs instead")
    single = isinstance(inputs, Tensor)
    outputs = _as_tuple(outputs)
    inputs = (inputs,) if single else tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in inputs:
        if not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outputs, _as_tuple(grad_outputs))
    keep = create_graph if retain_graph is None else retain_graph
    out = [None] * len(inputs)
    deque(_traverse(outputs, grads, keep, create_graph, inputs, capture=True, out=out), maxlen=0)
    for i, g in enumerate(out):
        if g is None:
            if materialize_grads:
                out[i] = _ops().zeros_like(inputs[i])
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph and g._node is not None:
            out[i] = g.detach()
    return tuple(out)
