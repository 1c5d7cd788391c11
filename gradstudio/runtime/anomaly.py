"""Anomaly mode for a Session: stop at the node whose forward or backward first made NaN/Inf.

    found = forward_anomaly(session)            # after session.forward()
    found = found or backward_anomaly(session)  # a backward under engine anomaly detection
    found = run_detecting_anomaly(session)      # both, as Session.run() does (the CLI's flag)
    found.node_id, found.message                # the node is also marked in session.errors

Forward: the first node in run order with a non-finite floating output produced it (its
inputs, earlier in that order, were finite). Backward: the engine's anomaly detection
(`engine.autograd.set_detect_anomaly`) raises at the grad_fn whose gradients hold NaN/Inf;
`backward_plan` says which grad_fn that was (the steps run in the plan's order), and the
document node that created the grad_fn during the forward is the one marked.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradstudio.runtime.session import Session, first_line
from .host import host_values


@dataclass
class Anomaly:
    node_id: str
    message: str                    # one sentence, also the node's error


def forward_anomaly(session: Session) -> Anomaly | None:
    """The first node, in run order, whose output holds NaN or Inf (marked as an error)."""
    doc = session.document
    for node_id in doc.topological_order():
        for port, value in session.outputs.get(node_id, {}).items():
            bad = _non_finite(value)
            if bad:
                where = "" if port == "out" else f" on '{port}'"
                return _mark(session, node_id, f"anomaly: the forward produced {bad}{where}")
    return None


def backward_anomaly(session: Session, root: str | None = None) -> Anomaly | None:
    """Runs the backward from the root (as `Session.backward`) with anomaly detection on; when a
    node's backward produces NaN/Inf it stops there and returns (and marks) that node."""
    engine = session.engine
    root_id, tensor, gradient, retain = session.backward_arguments(root)
    owners = grad_fn_owners(session)
    plan: list[Any] = []
    done = 0
    try:
        plan = engine.autograd.backward_plan([tensor], None if gradient is None else [gradient],
                                             retain_graph=True)
        with engine.autograd.set_detect_anomaly(True):
            for _ in session.backward_steps(root_id):
                done += 1
    except Exception as exc:                        # noqa: BLE001 - shown on a node
        text = first_line(exc)
        culprit = plan[done] if done < len(plan) else None
        owner = owners.get(culprit) if culprit is not None else None
        if owner is not None and (" nan values" in text or " inf values" in text):
            name = culprit.name() if callable(getattr(culprit, "name", None)) else culprit
            bad = "NaN" if " nan values" in text else "Inf"
            return _mark(session, owner, f"anomaly: the backward ({name}) produced {bad}")
        session.errors[root_id] = f"backward: {text}"
    return None


def run_detecting_anomaly(session: Session) -> Anomaly | None:
    """Session.run() in anomaly mode: the forward, then (when it made no NaN/Inf and the
    document has a root) the backward; the node that first produced NaN/Inf, if any."""
    session.forward()
    found = forward_anomaly(session)
    root_id = session.root_id()
    if found is None and root_id is not None and root_id not in session.errors:
        found = backward_anomaly(session, root_id)
    return found


def grad_fn_owners(session: Session) -> dict[Any, str]:
    """grad_fn -> id of the document node whose forward created it. Nodes are visited in run
    order, so a node owns the grad_fns reachable from its outputs that no earlier node owns
    (a layer owns its whole sub-graph, a leaf's AccumulateGrad goes to its first consumer)."""
    owners: dict[Any, str] = {}
    for node_id in session.document.topological_order():
        pending = [getattr(v, "grad_fn", None) for v in session.outputs.get(node_id, {}).values()]
        while pending:
            fn = pending.pop()
            if fn is None or fn in owners:
                continue
            owners[fn] = node_id
            pending.extend(next_fn for next_fn, _ in fn.next_functions)
    return owners


def _non_finite(value: Any) -> str | None:
    """"NaN" or "Inf" when a floating tensor holds one, else None."""
    if not hasattr(value, "detach") or not hasattr(value, "dtype"):
        return None
    array = np.asarray(host_values(value))
    if array.dtype.kind not in "fc" or np.isfinite(array).all():
        return None
    return "NaN" if np.isnan(array).any() else "Inf"


def _mark(session: Session, node_id: str, message: str) -> Anomaly:
    session.errors[node_id] = message
    return Anomaly(node_id, message)
