"""meta["training"]: defaults, one-line errors naming the field, and the file loader's check."""
from __future__ import annotations

import json

import pytest

from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.graph.training_setup import (ClippingSetup, OptimizerSetup, TrainingSetup,
                                             TrainingSetupError)


def graph(**training) -> Document:
    doc = Document()
    data = doc.add_node("dataset", "data").id
    model = doc.add_node("nn.Linear", "model").id
    loss = doc.add_node("mse_loss", "loss").id
    doc.add_edge(data, "x", model, "input")
    doc.add_edge(model, "out", loss, "input")
    doc.meta["training"] = {"data": "data", "loss": "loss", **training}
    return doc


def test_defaults():
    setup = TrainingSetup.from_document(graph())
    assert setup.optimizer == OptimizerSetup("sgd", 0.1, 0.0, False, 0.0)
    assert setup.clipping == ClippingSetup("none", 1.0, 1.0)
    assert (setup.steps, setup.epochs, setup.batch_size, setup.validation_split) == (1000, None, 32, 0.0)
    assert (setup.seed, setup.device, setup.frozen, setup.eval_every) == (0, "cpu", (), 50)


def test_every_field_is_read():
    setup = TrainingSetup.from_document(graph(
        prediction="model", optimizer={"kind": "adamw", "lr": 0.003, "weight_decay": 0.01},
        epochs=4, batch_size=0, validation_split=0.25, seed=7, device="cuda",
        clipping={"mode": "value", "clip_value": 0.5}, frozen=["model"], eval_every=5))
    assert setup.optimizer == OptimizerSetup("adamw", 0.003, 0.0, False, 0.01)
    assert setup.clipping.describe() == "clip value 0.5"
    assert setup.steps is None and setup.total_steps(90) == 4
    assert TrainingSetup.from_document(graph(epochs=2, batch_size=32)).total_steps(100) == 8


@pytest.mark.parametrize("training, message", [
    ({"optimizer": {"kind": "lbfgs"}}, "training.optimizer.kind: expected one of sgd, adam, adamw, rmsprop"),
    ({"optimizer": {"lr": 0}}, "training.optimizer.lr: must be more than 0"),
    ({"optimizer": {"lr": "fast"}}, "training.optimizer.lr: expected a number, got 'fast'"),
    ({"optimizer": {"nesterov": True}}, "training.optimizer.nesterov: needs kind sgd and a momentum"),
    ({"optimizer": {"betas": [0.9, 0.99]}}, "training.optimizer: unknown key 'betas'"),
    ({"steps": -1}, "training.steps: must be between 0 and"),
    ({"steps": 10, "epochs": 2}, "training: give either steps or epochs, not both"),
    ({"batch_size": 2.5}, "training.batch_size: expected a whole number"),
    ({"validation_split": 1.0}, "training.validation_split: must be at least 0 and at most 0.9"),
    ({"clipping": {"mode": "norm", "max_norm": -1}}, "training.clipping.max_norm: must be more than 0"),
    ({"clipping": {"mode": "sometimes"}}, "training.clipping.mode: expected one of none, norm, value"),
    ({"device": "tpu"}, "training.device: expected \"cpu\" or \"cuda\""),
    ({"frozen": "model"}, "training.frozen: expected a list of node labels"),
    ({"frozen": ["encoder"]}, "training.frozen: no node is labelled 'encoder'"),
    ({"data": "model"}, "training.data: 'model' is a nn.Linear node, not a data source"),
    ({"loss": "total"}, "training.loss: no node is labelled 'total'"),
    ({"learning_rate": 0.1}, "training: unknown key 'learning_rate'"),
])
def test_bad_setups_are_refused_with_the_field_named(training, message):
    with pytest.raises(TrainingSetupError) as caught:
        TrainingSetup.from_document(graph(**training))
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_missing_setup_is_named():
    doc = graph()
    del doc.meta["training"]
    with pytest.raises(TrainingSetupError, match="no training setup"):
        TrainingSetup.from_document(doc)


def test_loading_a_file_checks_the_setup():
    text = fileio.dumps(graph(optimizer={"kind": "adam"}))
    assert fileio.loads(text).meta["training"]["optimizer"] == {"kind": "adam"}
    raw = json.loads(text)
    raw["meta"]["training"]["optimizer"]["lr"] = -0.5
    with pytest.raises(fileio.FileFormatError, match="^training.optimizer.lr: must be more than 0"):
        fileio.loads(json.dumps(raw))
