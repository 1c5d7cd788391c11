"""The training examples: each opens with a title, a description, a dashboard layout and a
readable canvas, and `gradstudio run FILE --json` trains it to the result its description states."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gradstudio.cli import main as cli_main
from gradstudio.graph import fileio
from gradstudio.runtime.session import Session
from gradstudio.runtime.training import Trainer

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
TRAINING = ("linear_regression", "logistic_regression", "xor", "spirals", "vanishing_gradients",
            "hooks_clipping", "gradient_penalty")


def run_json(name: str, capsys) -> dict:
    capsys.readouterr()
    assert cli_main(["run", str(EXAMPLES / f"{name}.json"), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", TRAINING)
def test_example_opens_with_its_description_and_a_readable_layout(name):
    doc = fileio.load(EXAMPLES / f"{name}.json")
    assert doc.meta["title"] and len(doc.meta["description"]) > 80
    assert doc.meta["dashboard"]["plots"]
    assert doc.meta["root"] == doc.meta["training"]["loss"]
    positions = [node.pos for node in doc.nodes.values()]
    assert len(set(positions)) == len(positions)                 # no two nodes on one spot
    for edge in doc.edges.values():                              # data flows left to right
        assert doc.nodes[edge.src].pos[0] <= doc.nodes[edge.dst].pos[0] + 1e-9, edge


def test_linear_regression_fits_the_line(capsys):
    out = run_json("linear_regression", capsys)
    assert out["loss"][0] > 100 and out["loss"][-1] < 1.2          # the noise level is 1
    prediction = np.array(out["nodes"]["model"]["data"]).ravel()
    x = np.array(out["nodes"]["data"]["data"]).ravel()
    slope, intercept = np.polyfit(x, prediction, 1)
    assert abs(slope - 2.0) < 0.1 and abs(intercept - 5.0) < 0.5


def test_logistic_regression_separates_the_blobs(capsys):
    out = run_json("logistic_regression", capsys)
    assert out["training"]["accuracy"] >= 0.9
    assert out["training"]["val_loss"] < 0.3
    assert out["nodes"]["linear"]["grad_fn"] == "AddmmBackward0"


def test_xor_reaches_a_loss_below_0_05(capsys):
    out = run_json("xor", capsys)
    assert out["loss"][-1] < 0.05 and out["training"]["accuracy"] == 1.0
    assert len(out["loss"]) == fileio.load(EXAMPLES / "xor.json").meta["training"]["steps"]


def test_spirals_reach_95_percent(capsys):
    out = run_json("spirals", capsys)
    assert out["training"]["accuracy"] >= 0.95


def test_vanishing_gradients_shrink_toward_the_input(capsys):
    norms = run_json("vanishing_gradients", capsys)["training"]["mean_grad_norms"]
    layers = [norms[f"fc{k}.weight"] for k in range(1, 7)] + [norms["out.weight"]]
    assert all(a < b for a, b in zip(layers, layers[1:])), layers
    assert layers[0] < 1e-4 * layers[-1]


def test_hooks_clipping_trains_with_the_hook_and_the_clipping_in_force(capsys):
    out = run_json("hooks_clipping", capsys)
    assert out["training"]["accuracy"] >= 0.95
    doc = fileio.load(EXAMPLES / "hooks_clipping.json")
    assert doc.node_by_label("W1").hooks == [{"kind": "clamp", "min": -0.05, "max": 0.05}]
    trainer = Trainer(Session(doc))
    trainer.run(steps=30)
    snap = trainer.metrics.snapshot()
    assert np.all(snap.grad_norm_post_clip.values <= 1.0 + 1e-4)
    assert np.any(snap.grad_norm_pre_clip.values > 1.0)
    # the hook clamped W1's gradient element by element before clipping scaled it
    w1 = trainer.session.value("W1")
    assert np.abs(w1.grad.numpy()).max() <= 0.05 + 1e-7


def test_gradient_penalty_backward_goes_through_the_gradient(capsys):
    out = run_json("gradient_penalty", capsys)
    assert out["training"]["accuracy"] >= 0.85
    losses = out["loss"]
    assert np.mean(losses[-30:]) < np.mean(losses[:10]) - 0.1
    penalty = out["nodes"]["penalty"]
    assert penalty["grad_fn"] == "MulBackward0" and 0 < float(penalty["data"]) < 0.5
    assert out["nodes"]["dscore_dx"]["grad_fn"] is not None      # create_graph kept its graph
