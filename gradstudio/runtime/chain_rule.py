"""The chain rule with numbers: per edge of a backward step, local derivative × upstream
gradient = the gradient passed on; where paths merge, the contributions and their sum.

    jac = local_jacobians(grad_fn, engine)  # before the engine runs (and frees) the node
    links = chain_links(debugger, step)     # one ChainLink per outgoing edge of a step
    links[0].formula()                      # "∂y/∂a = 2 × upstream 3 = 6"
    merge_text(debugger, key)               # "w: 2 from a + 3 from b = 5"
    links_on_edge(debugger, edge_id)        # what crossed one canvas edge, up to the step shown

Local derivatives are not written down anywhere here: they are read off the engine's own
backward, by calling the node with a unit gradient per output element (a Jacobian row per
call), only for nodes whose outputs are small (SMALL elements in all). The product shown
is what the engine actually passed on; `consistent` says whether upstream · J gives it
(a hook that changed the gradient makes it differ). Larger tensors are shown by shape and
norm (and, in the window, as a heatmap).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from .host import host_values

if TYPE_CHECKING:                    # the debugger imports this module
    from gradstudio.runtime.debugger import BackwardDebugger, Grad, TraceStep

SMALL = 4                            # outputs with at most this many elements get a Jacobian
SHOWN = 4                            # tensors with at most this many elements are written out


def local_jacobians(fn: Any, engine: Any) -> tuple[np.ndarray | None, ...]:
    """Per next function of `fn`: its Jacobian, shape (fn's output elements, *input shape),
    from the node's own backward called with unit gradients; () for a node too large,
    None for an input that gets no gradient. Call it before the engine runs the node."""
    meta = getattr(fn, "_meta", None)
    nexts = getattr(fn, "next_functions", ())
    if not meta or not nexts or hasattr(fn, "variable"):
        return ()
    sizes = [int(np.prod(shape)) for shape, _ in meta]
    if sum(sizes) > SMALL:
        return ()
    rows: list[list[np.ndarray | None]] = [[] for _ in nexts]
    try:
        with engine.no_grad():
            for out, (shape, dtype) in enumerate(meta):
                for k in range(sizes[out]):
                    grads = []
                    for j, (other_shape, other_dtype) in enumerate(meta):
                        unit = np.zeros(other_shape, other_dtype)
                        if j == out:
                            unit.flat[k] = 1
                        grads.append(engine.tensor(unit))
                    result = fn(*grads)
                    result = result if isinstance(result, (tuple, list)) else (result,)
                    for i, (g, (nxt, nr)) in enumerate(zip(result, nexts)):
                        rows[i].append(None if g is None else
                                       sum_to(_numpy(g), _input_shape(nxt, nr, g)))
    except Exception:                    # noqa: BLE001 - a node that cannot be called alone
        return ()
    jacobians = []
    for row in rows:
        if not row or any(r is None for r in row):
            jacobians.append(None)
        else:
            jacobians.append(np.stack(row))
    return tuple(jacobians)


@dataclass(frozen=True)
class ChainLink:
    """One outgoing edge of a backward step."""
    source: str                       # the node whose backward ran ("y")
    target: str                       # where the gradient goes ("a"), "" when nowhere
    upstream: tuple[Any, ...]         # the Grad(s) the node received, one per output
    local: np.ndarray | None          # Jacobian (outputs' elements, *input shape), or None
    product: Any                      # the Grad the engine passed on (None: nothing)
    edge_ids: tuple[str, ...] = ()

    @property
    def consistent(self) -> bool:
        """upstream · J equals what the engine passed on (False: a hook changed it)."""
        expected = self.expected()
        if expected is None or self.product is None:
            return True
        if not (np.isfinite(expected).all() and np.isfinite(self.product.array).all()):
            return True              # 0 * inf in the unit-gradient calls: nothing to judge
        return bool(np.allclose(expected, self.product.array, rtol=1e-4, atol=1e-6,
                                equal_nan=True))

    def expected(self) -> np.ndarray | None:
        if self.local is None or any(g is None for g in self.upstream):
            return None
        upstream = np.concatenate([g.array.ravel() for g in self.upstream])
        if upstream.size != self.local.shape[0]:
            return None
        return np.tensordot(upstream.astype(np.float64), self.local.astype(np.float64), 1)

    def kind(self) -> str:
        """How the local derivative reads: "scalar" (one number), "elementwise" (a
        diagonal Jacobian: one factor per element), "vector" (a scalar output: one factor
        per input element), "matrix", or "large" (no Jacobian: shapes and norms)."""
        if self.local is None:
            return "large"
        n_out = self.local.shape[0]
        inputs = self.local.reshape(n_out, -1)
        if n_out == 1 and inputs.shape[1] == 1:
            return "scalar"
        if n_out == 1:
            return "vector"
        if inputs.shape[1] == n_out:
            diagonal = np.diag(inputs)
            off = inputs - np.diag(diagonal)
            # a unit gradient times an infinite derivative makes NaN off the diagonal (0 * inf)
            off[:, ~np.isfinite(diagonal)] = np.nan_to_num(off[:, ~np.isfinite(diagonal)], nan=0.0)
            np.fill_diagonal(off, 0.0)
            if np.count_nonzero(off) == 0:
                return "elementwise"
        return "matrix"

    def local_text(self) -> str:
        kind = self.kind()
        if kind == "large":
            return "—"
        n_out = self.local.shape[0]
        if kind == "scalar":
            return _number(self.local.ravel()[0])
        if kind == "vector":
            return _array_text(self.local.reshape(self.local.shape[1:]))
        if kind == "elementwise":
            return _values(np.diag(self.local.reshape(n_out, n_out)))
        matrix = self.local.reshape(n_out, -1)
        if matrix.size > 16:
            return f"J {matrix.shape} ‖{np.linalg.norm(matrix):.3g}‖"
        return "[" + "; ".join(", ".join(_number(v) for v in row) for row in matrix) + "]"

    def formula(self) -> str:
        """"∂y/∂a = 2 × upstream 3 = 6", with the values filled in where they are small."""
        upstream = " ".join(_grad_text(g) for g in self.upstream) or "None"
        product = _grad_text(self.product)
        target = self.target or "?"
        kind = self.kind()
        if kind == "large":
            return f"∂{self.source}/∂{target}: upstream {upstream} → passes on {product}"
        sign = {"scalar": "×", "vector": "×", "elementwise": "⊙", "matrix": "·J"}[kind]
        where = f"∂{self.source}/∂{target}"
        if kind == "matrix":
            text = f"{where}: upstream {upstream} · J {self.local_text()} = {product}"
        else:
            text = f"{where} = {self.local_text()} {sign} upstream {upstream} = {product}"
        return text if self.consistent else text + "  (a hook changed it)"


# ============================================================================ from a debugger
def chain_links(debugger: "BackwardDebugger", step: "TraceStep") -> list[ChainLink]:
    """One ChainLink per outgoing edge of `step` that carries a gradient somewhere."""
    doc = debugger.document
    links = []
    jacobians = step.jacobians
    source = step.planned.label or step.planned.name
    for i, flow in enumerate(step.flows):
        if flow.target is None and flow.grad is None:
            continue
        key = None if flow.target is None else \
            debugger.output_key(debugger.engine_node(flow.target), flow.input_nr)
        target = debugger.key_label(key) if key is not None else \
            doc.nodes[flow.target_node_id].label if flow.target_node_id in doc.nodes else ""
        local = jacobians[i] if i < len(jacobians) else None
        links.append(ChainLink(source, target, step.grads_in, local, flow.grad, flow.edge_ids))
    return links


def contributions(debugger: "BackwardDebugger", key: tuple[str, str],
                  upto: int | None = None) -> list[tuple[str, "Grad"]]:
    """The gradients that reached the output `key` (node id, port) in the first `upto`
    steps (default: the steps shown), each with the label of the node that sent it."""
    upto = debugger.position if upto is None else upto
    found = []
    for step in debugger.trace[:upto]:
        for flow in step.flows:
            if flow.target is None or flow.grad is None:
                continue
            fn = debugger.engine_node(flow.target)
            if debugger.output_key(fn, flow.input_nr) == key:
                found.append((step.planned.label or step.planned.name, flow.grad))
    return found


def merge_text(debugger: "BackwardDebugger", key: tuple[str, str],
               upto: int | None = None) -> str | None:
    """"w: 2 from a + 3 from b = 5" when two or more gradients reached `key`, else None."""
    parts = contributions(debugger, key, upto)
    if len(parts) < 2:
        return None
    total = parts[0][1].array.astype(np.float64)
    for _, grad in parts[1:]:
        total = total + grad.array
    terms = " + ".join(f"{_grad_text(g)} from {label}" for label, g in parts)
    return f"{debugger.key_label(key)}: {terms} = {_array_text(total)}"


def links_on_edge(debugger: "BackwardDebugger", edge_id: str) -> list[ChainLink]:
    """The chain links that crossed a canvas edge in the steps shown so far."""
    found = []
    for step in debugger.trace[:debugger.position]:
        for link in chain_links(debugger, step):
            if edge_id in link.edge_ids:
                found.append(link)
    return found


# ============================================================================ helpers
def _input_shape(nxt: Any, nr: int, g: Any) -> tuple[int, ...]:
    meta = getattr(nxt, "_meta", None)
    if meta and nr < len(meta):
        return tuple(meta[nr][0])
    variable = getattr(nxt, "variable", None)
    if variable is not None:
        return tuple(variable.shape)
    return tuple(g.shape)


def sum_to(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A broadcast gradient summed back to the input's shape, as the engine's `_fit` does,
    for showing it (the engine's own gradients never pass through here)."""
    lead = array.ndim - len(shape)
    if lead > 0:
        array = array.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=axes, keepdims=True) if axes else array


def _numpy(tensor: Any) -> np.ndarray:
    return np.array(host_values(tensor), copy=True)


def _number(value: float) -> str:
    return f"{float(value):.4g}"


def _values(array: np.ndarray) -> str:
    if array.size == 1:
        return _number(array.ravel()[0])
    return "[" + ", ".join(_number(v) for v in array.ravel()) + "]"


def _array_text(array: np.ndarray) -> str:
    if array.size <= SHOWN:
        return _values(array)
    return f"{tuple(array.shape)} ‖{np.linalg.norm(array.ravel()):.3g}‖"


def _grad_text(grad: Any) -> str:
    return "None" if grad is None else _array_text(grad.array)
