"""Training runs kept for comparing: each named by what changed from the run before it.

    history = RunHistory(limit=8)
    run = history.keep(document, metrics.snapshot())   # when a run ends (or a new one starts)
    run.name                                           # "run 3: lr 0.1 -> 0.3, clip norm 1"
    run.curves["loss"]                                 # (steps, values), copied
    history.runs                                       # oldest first, at most `limit`

What a run is made of is read from the document: its training setup (meta "training") and
every node's parameters, edges (detached or not), hooks and no_grad regions. The name lists
the differences from the previous kept run in that order, the setup first ("lr 0.1 -> 0.3",
"clip norm 1", "optimizer sgd -> adam"), then the graph ("fc1.out_features 16 -> 32",
"detach x -> y", "+ node h", "hooks on w"), a few at most.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradstudio.graph.document import Document

CURVES = ("loss", "val_loss", "accuracy")
NAMED_CHANGES = 3
SETUP_WORDS = {"optimizer.lr": "lr", "optimizer.kind": "optimizer",
               "optimizer.momentum": "momentum", "batch_size": "batch size",
               "clipping.max_norm": "clip norm", "clipping.clip_value": "clip value"}


@dataclass
class RunState:
    """What a run was made of, compared between runs."""
    training: dict
    params: dict[str, dict]                # node label -> parameters (and kind)
    edges: dict[tuple, bool]               # (src label, port, dst label, port) -> detached
    hooks: dict[str, list]
    no_grad: frozenset[str]

    @classmethod
    def of(cls, doc: Document) -> "RunState":
        labels = {n.id: n.label for n in doc.nodes.values()}
        return cls(copy.deepcopy(doc.meta.get("training", {})),
                   {n.label: {"kind": n.kind, **copy.deepcopy(n.params)}
                    for n in doc.nodes.values()},
                   {(labels[e.src], e.src_port, labels[e.dst], e.dst_port): e.detach
                    for e in doc.edges.values()},
                   {n.label: copy.deepcopy(n.hooks) for n in doc.nodes.values() if n.hooks},
                   frozenset(labels[i] for r in doc.regions.values() if r.kind == "no_grad"
                             for i in r.node_ids if i in labels))


@dataclass
class KeptRun:
    number: int
    name: str
    state: RunState
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def final_loss(self) -> float | None:
        steps, values = self.curves.get("loss", (np.array([]), np.array([])))
        return float(values[-1]) if len(values) else None


class RunHistory:
    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self.runs: list[KeptRun] = []
        self._count = 0

    def keep(self, doc: Document, snapshot: Any, state: RunState | None = None) -> KeptRun | None:
        """Keeps a finished (or stopped) run, made of `state` (default: the document as it
        is now); None when it recorded no step."""
        curves = {}
        for name in CURVES:
            curve = getattr(snapshot, name, None)
            if curve is not None and len(curve[0]):
                curves[name] = (np.array(curve[0], copy=True), np.array(curve[1], copy=True))
        if "loss" not in curves:
            return None
        state = state if state is not None else RunState.of(doc)
        self._count += 1
        previous = self.runs[-1].state if self.runs else None
        changes = describe_changes(previous, state)
        run = KeptRun(self._count, f"run {self._count}: {changes}", state, curves)
        self.runs.append(run)
        del self.runs[:-self.limit]
        return run


def describe_changes(before: RunState | None, after: RunState) -> str:
    """"lr 0.1 -> 0.3, clip norm 1", "first run" or "same setup"."""
    if before is None:
        return "first run"
    changes = _setup_changes(before.training, after.training)
    for label, params in after.params.items():
        old = before.params.get(label)
        if old is None:
            changes.append(f"+ node {label}")
            continue
        for key, value in params.items():
            if key not in ("kind",) and old.get(key) != value and key != "retain_grad":
                changes.append(f"{label}.{key} {_short(old.get(key))} -> {_short(value)}")
    changes += [f"- node {label}" for label in before.params if label not in after.params]
    for edge, detached in after.edges.items():
        if before.edges.get(edge, False) != detached:
            changes.append(f"{'detach' if detached else 'attach'} {edge[0]} -> {edge[2]}")
    for label in dict.fromkeys(list(before.hooks) + list(after.hooks)):
        if before.hooks.get(label) != after.hooks.get(label):
            changes.append(f"hooks on {label}")
    for label in sorted(after.no_grad ^ before.no_grad):
        changes.append(f"{label} {'into' if label in after.no_grad else 'out of'} no_grad")
    if not changes:
        return "same setup"
    more = len(changes) - NAMED_CHANGES
    return ", ".join(changes[:NAMED_CHANGES]) + (f" (+{more} more)" if more > 0 else "")


def _setup_changes(before: dict, after: dict) -> list[str]:
    flat_before, flat_after = _flat(before), _flat(after)
    changes = []
    clip_mode = flat_after.get("clipping.mode")
    for key in dict.fromkeys(list(flat_before) + list(flat_after)):
        old, new = flat_before.get(key), flat_after.get(key)
        if old == new:
            continue
        if key == "clipping.mode":
            changes.append("no clipping" if new in (None, "none") else f"clip by {new}")
            continue
        word = SETUP_WORDS.get(key, key.split(".")[-1].replace("_", " "))
        if key.startswith("clipping.") and clip_mode not in (None, "none"):
            changes.append(f"{word} {_short(new)}")
        elif not key.startswith("clipping."):
            changes.append(f"{word} {_short(old)} -> {_short(new)}")
    return changes


def _flat(data: dict, prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."
