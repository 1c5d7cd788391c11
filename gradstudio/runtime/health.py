"""Gradient health per layer: activation statistics, dead ReLU units, saturated sigmoid/tanh
units, gradient norms and their ratios between layers, and one-line verdicts where clear.

    health = layer_health(session, step=12)   # after a forward and backward on a batch
    health.layers["fc1"].grad_norm, health.layers["relu1"].dead_fraction
    health.verdicts     # ["fc1 gets 2e-07 of out's gradient norm: vanishing", ...]
    health.as_json()    # what `gradstudio run --json` prints per sampled step

Read from what the Session holds after a step: each node's output on the batch (the
activations) and the `.grad` of each layer's parameters (a layer leaf's own `.grad`).
Layers are the nodes with parameters, in run order (first = nearest the input); the
ratio of a layer is its gradient norm over the largest layer's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gradstudio.runtime.session import Session
from .host import host_values

RELU_KINDS = ("relu", "nn.ReLU")
SATURATING = {"sigmoid": (0.01, 0.99), "nn.Sigmoid": (0.01, 0.99),
              "tanh": (-0.99, 0.99), "nn.Tanh": (-0.99, 0.99)}
VANISHING = 1e-3           # the smallest layer norm under this share of the largest
DEAD, SATURATED = 0.5, 0.5  # shares of units that make a verdict


@dataclass
class LayerHealth:
    kind: str
    activation_mean: float | None = None
    activation_std: float | None = None
    dead_fraction: float | None = None        # ReLU: units never positive on the batch
    saturated_fraction: float | None = None   # sigmoid/tanh: outputs in the flat tails
    grad_norm: float | None = None            # layers with parameters: over all of them
    grad_ratio: float | None = None           # grad_norm / the largest layer's grad_norm


@dataclass
class Health:
    step: int | None
    layers: dict[str, LayerHealth] = field(default_factory=dict)   # by label, in run order
    verdicts: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"step": self.step,
                "layers": {name: {k: v for k, v in asdict(layer).items() if v is not None}
                           for name, layer in self.layers.items()},
                "verdicts": list(self.verdicts)}


def layer_health(session: Session, step: int | None = None) -> Health:
    """The health of every layer and activation node that ran, with verdicts."""
    doc = session.document
    health = Health(step)
    layers: list[str] = []
    for node_id in doc.topological_order():
        node = doc.nodes[node_id]
        out = session.outputs.get(node_id, {}).get("out")
        grads = _parameter_grads(session, node_id)
        is_activation = node.kind in RELU_KINDS or node.kind in SATURATING
        if grads is None and not is_activation:
            continue
        entry = LayerHealth(node.kind)
        if out is not None and hasattr(out, "detach"):
            values = _numpy(out).astype(np.float64)
            if values.size:
                flat = values.reshape(-1)
                mean = flat.sum() / flat.size
                centred = flat - mean                   # np.std's two passes, dot for the sum
                entry.activation_mean = float(mean)
                entry.activation_std = float(np.sqrt(np.dot(centred, centred) / flat.size))
                if node.kind in RELU_KINDS:
                    entry.dead_fraction = dead_fraction(values)
                elif node.kind in SATURATING:
                    low, high = SATURATING[node.kind]
                    entry.saturated_fraction = float(np.mean((values <= low) | (values >= high)))
        if grads is not None:
            entry.grad_norm = grads
            layers.append(node.label)
        health.layers[node.label] = entry
    _ratios_and_verdicts(health, layers)
    return health


def dead_fraction(values: np.ndarray) -> float:
    """The share of units (features: the last dim of a batch) never positive on the batch;
    for one sample, of elements."""
    if values.ndim >= 2:
        units = values.reshape(-1, values.shape[-1])
        return float(np.mean(~(units > 0).any(axis=0)))
    return float(np.mean(values <= 0))


def _ratios_and_verdicts(health: Health, layers: list[str]) -> None:
    norms = {name: health.layers[name].grad_norm for name in layers}
    finite = {n: v for n, v in norms.items() if v is not None and np.isfinite(v)}
    largest_name = max(finite, key=finite.get) if finite else None
    largest = finite.get(largest_name, 0.0) if largest_name else 0.0
    for name, value in finite.items():
        health.layers[name].grad_ratio = value / largest if largest > 0 else None
    verdicts = health.verdicts
    for name, value in norms.items():
        if value is not None and not np.isfinite(value):
            verdicts.append(f"{name}'s gradient norm is {value}: the gradients blew up")
    if largest > 0 and len(finite) > 1:
        smallest_name = min(finite, key=finite.get)
        share = finite[smallest_name] / largest
        if share < VANISHING:
            earlier = layers.index(smallest_name) < layers.index(largest_name)
            verdicts.append(f"{smallest_name} gets {share:.0e} of {largest_name}'s gradient norm: "
                            + ("vanishing" if earlier else "its gradient is tiny"))
        first, last = layers[0], layers[-1]
        if first in finite and last in finite and finite[last] > 0 and \
                finite[first] / finite[last] > 1 / VANISHING:
            verdicts.append(f"{first} gets {finite[first] / finite[last]:.0e}× {last}'s "
                            "gradient norm: exploding")
    for name, layer in health.layers.items():
        if layer.dead_fraction is not None and layer.dead_fraction >= DEAD:
            verdicts.append(f"{name}: {layer.dead_fraction:.0%} of its units are dead "
                            "(never positive on this batch)")
        if layer.saturated_fraction is not None and layer.saturated_fraction >= SATURATED:
            verdicts.append(f"{name}: {layer.saturated_fraction:.0%} of its outputs are "
                            "saturated (their local gradient is near 0)")
    for name in layers:
        if norms[name] == 0.0:
            verdicts.append(f"{name} gets a zero gradient")


def _parameter_grads(session: Session, node_id: str) -> float | None:
    """The norm over all of a node's parameters' .grad (0 when none has one yet); None for
    a node without parameters that require grad."""
    module = session.modules.get(node_id)
    if module is not None:
        tensors = [p for p in module.parameters() if p.requires_grad]
    else:
        node = session.document.nodes[node_id]
        value = session.outputs.get(node_id, {}).get("out")
        tensors = [value] if node.kind in ("parameter", "tensor") and getattr(
            value, "requires_grad", False) and value.is_leaf else []
    if not tensors:
        return None
    total = 0.0
    for tensor in tensors:
        if tensor.grad is not None:
            flat = _numpy(tensor.grad).reshape(-1).astype(np.float64)
            total += float(np.dot(flat, flat))
    return float(np.sqrt(total))


def _numpy(tensor: Any) -> np.ndarray:
    return np.asarray(host_values(tensor))
