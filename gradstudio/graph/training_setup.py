"""The training setup a document keeps in meta["training"]: parsed with defaults and validated.

    setup = TrainingSetup.from_document(doc)     # TrainingSetupError names the field at fault
    setup.optimizer.lr, setup.clipping.mode, setup.total_steps(n_train)

The stored form (every key but "data" and "loss" may be left out):

    "training": {
      "data": "data",              # label of the dataset / CSV node whose x and y are batched
      "loss": "loss",              # label of the node whose scalar output is minimised
      "prediction": "logits",      # the model's output, for accuracy and the decision boundary
                                   # (default: what feeds the classification loss's input)
      "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": false,
                    "weight_decay": 0.0},          # kind: sgd | adam | adamw | rmsprop
      "steps": 1000,               # or "epochs": 20 (a pass over the training split each)
      "batch_size": 32,            # 0 (or the split's size or more): the whole training split
      "validation_split": 0.2,     # share of the data held out for validation loss / accuracy
      "seed": 0,                   # shuffling and the split
      "device": "cpu",
      "clipping": {"mode": "norm", "max_norm": 1.0},  # mode: none | norm (max_norm) | value (clip_value)
      "frozen": ["fc1"],           # layers / parameter leaves whose parameters get no gradient
      "eval_every": 50             # steps between validation, accuracy and decision boundary
    }

The model is not listed: it is every layer and parameter node the loss depends on.
Gradient hooks are the nodes' own (`Node.hooks`); the trainer needs no setting for them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.validation import brief, finite_number

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
CLIP_MODES = ("none", "norm", "value")
DATA_KINDS = ("dataset", "csv")
DEFAULT_LR = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01}
MAX_STEPS = 100_000_000

_KEYS = ("data", "loss", "prediction", "optimizer", "steps", "epochs", "batch_size",
         "validation_split", "seed", "device", "clipping", "frozen", "eval_every")


class TrainingSetupError(GraphError):
    """meta["training"] cannot be used; the message names the field ("training.optimizer.lr: ...")."""


@dataclass(frozen=True)
class OptimizerSetup:
    kind: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0


@dataclass(frozen=True)
class ClippingSetup:
    mode: str = "none"
    max_norm: float = 1.0
    clip_value: float = 1.0

    def describe(self) -> str:
        if self.mode == "norm":
            return f"clip norm {self.max_norm:g}"
        if self.mode == "value":
            return f"clip value {self.clip_value:g}"
        return "no clipping"


@dataclass(frozen=True)
class TrainingSetup:
    data: str
    loss: str
    prediction: str | None = None
    optimizer: OptimizerSetup = field(default_factory=OptimizerSetup)
    steps: int | None = 1000
    epochs: int | None = None
    batch_size: int = 32
    validation_split: float = 0.0
    seed: int = 0
    device: str = "cpu"
    clipping: ClippingSetup = field(default_factory=ClippingSetup)
    frozen: tuple[str, ...] = ()
    eval_every: int = 50

    @staticmethod
    def from_document(doc: Document) -> "TrainingSetup":
        """The document's setup, checked against its nodes; TrainingSetupError when absent or bad."""
        if "training" not in doc.meta:
            raise TrainingSetupError("the document has no training setup (meta.training)")
        setup = TrainingSetup.parse(doc.meta["training"])
        setup.check_against(doc)
        return setup

    @staticmethod
    def parse(raw: Any) -> "TrainingSetup":
        """Checks the stored form's fields and types (not the labels: see `check_against`)."""
        where = "training"
        if not isinstance(raw, dict):
            raise TrainingSetupError(f"{where}: expected an object")
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise TrainingSetupError(f"{where}: unknown key '{unknown[0]}' "
                                     f"(known: {', '.join(_KEYS)})")
        data = _label(raw, "data", required=True)
        loss = _label(raw, "loss", required=True)
        prediction = _label(raw, "prediction", required=False)
        if "steps" in raw and "epochs" in raw:
            raise TrainingSetupError("training: give either steps or epochs, not both")
        epochs = _int(raw, "epochs", None, 1, MAX_STEPS)
        steps = None if epochs is not None else _int(raw, "steps", 1000, 0, MAX_STEPS)
        device = raw.get("device", "cpu")
        if not isinstance(device, str) or device.split(":")[0] not in ("cpu", "cuda"):
            raise TrainingSetupError(f"training.device: expected \"cpu\" or \"cuda\", got {device!r}")
        return TrainingSetup(
            data=data, loss=loss, prediction=prediction,
            optimizer=_optimizer(raw.get("optimizer", {})),
            steps=steps, epochs=epochs,
            batch_size=_int(raw, "batch_size", 32, 0, 10_000_000),
            validation_split=_number(raw, "validation_split", 0.0, 0.0, 0.9),
            seed=_int(raw, "seed", 0, 0, 2**31 - 1),
            device=device,
            clipping=_clipping(raw.get("clipping", {})),
            frozen=_labels(raw.get("frozen", []), "training.frozen"),
            eval_every=_int(raw, "eval_every", 50, 1, MAX_STEPS))

    def check_against(self, doc: Document) -> None:
        """The labels name nodes of `doc`, and the data node is a data source."""
        data = doc.node_by_label(self.data)
        if data is None:
            raise TrainingSetupError(f"training.data: no node is labelled '{self.data}'")
        if data.kind not in DATA_KINDS:
            raise TrainingSetupError(f"training.data: '{self.data}' is a {data.kind} node, "
                                     f"not a data source (dataset or csv)")
        for key, label in (("loss", self.loss), ("prediction", self.prediction)):
            if label is not None and doc.node_by_label(label) is None:
                raise TrainingSetupError(f"training.{key}: no node is labelled '{label}'")
        for label in self.frozen:
            if doc.node_by_label(label) is None:
                raise TrainingSetupError(f"training.frozen: no node is labelled '{label}'")

    def total_steps(self, n_train: int) -> int:
        """Steps to run: `steps`, or `epochs` passes over `n_train` samples in batches."""
        if self.epochs is None:
            return int(self.steps or 0)
        batch = self.batch_size or n_train
        return self.epochs * max(1, math.ceil(n_train / max(1, batch)))


def check_training_meta(doc: Document) -> None:
    """For the file loader: a present meta["training"] must be valid (TrainingSetupError)."""
    if "training" in doc.meta:
        TrainingSetup.from_document(doc)


# --------------------------------------------------------------------------- field checks
def _label(raw: dict, key: str, required: bool) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TrainingSetupError(f"training.{key}: expected a node label")
    return value


def _labels(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TrainingSetupError(f"{where}: expected a list of node labels")
    return tuple(value)


def _number(raw: dict, key: str, default: float, low: float, high: float,
            where: str = "training", low_open: bool = False) -> float:
    value = raw.get(key, default)
    if finite_number(value) is None:      # a 400-digit integer too: no float holds it
        raise TrainingSetupError(f"{where}.{key}: expected a number, got {brief(value)}")
    if value < low or value > high or (low_open and value == low):
        bound = f"more than {low:g}" if low_open else f"at least {low:g}"
        raise TrainingSetupError(f"{where}.{key}: must be {bound} and at most {high:g}, "
                                 f"got {brief(value)}")
    return float(value)


def _int(raw: dict, key: str, default: int | None, low: int, high: int) -> int | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrainingSetupError(f"training.{key}: expected a whole number, got {brief(value)}")
    if not low <= value <= high:
        raise TrainingSetupError(f"training.{key}: must be between {low} and {high}, "
                                 f"got {brief(value)}")
    return value


def _bool(raw: dict, key: str, default: bool, where: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise TrainingSetupError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _known(raw: Any, keys: tuple[str, ...], where: str) -> dict:
    if not isinstance(raw, dict):
        raise TrainingSetupError(f"{where}: expected an object")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise TrainingSetupError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(keys)})")
    return raw


def _optimizer(raw: Any) -> OptimizerSetup:
    where = "training.optimizer"
    raw = _known(raw, ("kind", "lr", "momentum", "nesterov", "weight_decay"), where)
    kind = raw.get("kind", "sgd")
    if kind not in OPTIMIZERS:
        raise TrainingSetupError(f"{where}.kind: expected one of {', '.join(OPTIMIZERS)}, got {kind!r}")
    momentum = _number(raw, "momentum", 0.0, 0.0, 1.0, where)
    nesterov = _bool(raw, "nesterov", False, where)
    if nesterov and (kind != "sgd" or momentum == 0.0):
        raise TrainingSetupError(f"{where}.nesterov: needs kind sgd and a momentum above 0")
    return OptimizerSetup(kind=kind, lr=_number(raw, "lr", DEFAULT_LR[kind], 0.0, 1e3, where, low_open=True),
                          momentum=momentum, nesterov=nesterov,
                          weight_decay=_number(raw, "weight_decay", 0.0, 0.0, 1e3, where))


def _clipping(raw: Any) -> ClippingSetup:
    where = "training.clipping"
    raw = _known(raw, ("mode", "max_norm", "clip_value"), where)
    mode = raw.get("mode", "none")
    if mode not in CLIP_MODES:
        raise TrainingSetupError(f"{where}.mode: expected one of {', '.join(CLIP_MODES)}, got {mode!r}")
    return ClippingSetup(mode=mode,
                         max_norm=_number(raw, "max_norm", 1.0, 0.0, 1e12, where, low_open=True),
                         clip_value=_number(raw, "clip_value", 1.0, 0.0, 1e12, where, low_open=True))
