"""Gradient health per layer: activation statistics, dead ReLU and saturated units, gradient
norm ratios between layers with one-line verdicts, sampled during training and printed by
`gradstudio run --json`."""
import json

import numpy as np

from gradstudio import EXAMPLES
from gradstudio.cli import main
from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.runtime import Session, training
from gradstudio.runtime.health import dead_fraction, layer_health


def small_net(activation, bias):
    """x (4 samples, 2 features) -> fc (Linear 2->3, bias set to `bias`) -> activation -> sum."""
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [[0.0, 0.0]] * 4})
    fc = doc.add_node("nn.Linear", "fc", {"in_features": 2, "out_features": 3})
    act = doc.add_node(activation, "act")
    total = doc.add_node("sum", "total")
    root = doc.add_node("backward", "backward")
    for src, dst in ((x, fc), (fc, act), (act, total), (total, root)):
        doc.add_edge(src.id, "out", dst.id, "input")
    session = Session(doc)
    session.forward()
    module = session.modules[fc.id]
    with session.engine.no_grad():
        module.weight.fill_(0.01)
        module.bias.fill_(bias)
    # the batch, set after the weights: everything downstream runs again with them
    doc.set_param(x.id, "value", [[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [1.0, 1.0]])
    session.forward()
    return session, doc


def run(session):
    session.zero_grad()
    assert session.backward()
    return layer_health(session, step=3)


def test_every_relu_unit_dead_is_a_verdict_and_the_layer_gets_zero_gradient():
    session, _ = small_net("nn.ReLU", bias=-5.0)
    health = run(session)
    assert health.layers["act"].dead_fraction == 1.0
    assert health.layers["fc"].grad_norm == 0.0
    assert "act: 100% of its units are dead (never positive on this batch)" in health.verdicts
    assert "fc gets a zero gradient" in health.verdicts
    assert health.as_json()["step"] == 3


def test_a_healthy_relu_has_no_verdict():
    session, _ = small_net("nn.ReLU", bias=1.0)
    health = run(session)
    assert health.layers["act"].dead_fraction == 0.0 and health.verdicts == []
    layer = health.layers["act"]
    values = session.value("act").detach().numpy()
    assert np.isclose(layer.activation_mean, values.mean())
    assert np.isclose(layer.activation_std, values.std())


def test_saturated_sigmoid_and_tanh():
    for kind in ("nn.Sigmoid", "nn.Tanh"):
        session, _ = small_net(kind, bias=20.0)
        health = run(session)
        assert health.layers["act"].saturated_fraction == 1.0
        assert any("100% of its outputs are saturated" in v for v in health.verdicts)


def test_dead_units_are_counted_per_feature_over_the_batch():
    batch = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    assert dead_fraction(batch) == 1 / 3                # only the first feature never fires


def test_training_samples_health_and_names_the_vanishing_layer():
    session = Session(fileio.load(EXAMPLES / "vanishing_gradients.json"))
    session.run()
    result = training.train(session, steps=21, health_every=10)
    assert [h.step for h in result.health] == [0, 10, 20]
    last = result.health[-1]
    norms = [last.layers[f"fc{i}"].grad_norm for i in range(1, 7)]
    assert norms == sorted(norms)                      # smaller the nearer the input
    assert last.layers["out"].grad_ratio == 1.0
    assert any(v.startswith("fc1 gets ") and v.endswith("of out's gradient norm: vanishing")
               for v in last.verdicts)


def test_run_json_has_a_health_object_per_sampled_step(capsys):
    assert main(["run", str(EXAMPLES / "vanishing_gradients.json"), "--json",
                 "--steps", "30"]) == 0
    result = json.loads(capsys.readouterr().out)
    health = result["health"]
    assert [h["step"] for h in health] == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 29]
    fc1 = health[-1]["layers"]["fc1"]
    assert set(fc1) == {"kind", "activation_mean", "activation_std", "grad_norm", "grad_ratio"}
    assert set(health[-1]["layers"]["sigmoid1"]) >= {"saturated_fraction"}
    assert any("vanishing" in v for v in health[-1]["verdicts"])


def test_health_is_sampled_on_the_training_batch_even_at_an_evaluation_step():
    """Step 0 is evaluated too (validation rows, the decision-boundary grid): the health sample
    still reads the batch the step trained on, the one its snapshot kept."""
    trainer = training.Trainer(Session(fileio.load(EXAMPLES / "spirals.json")), health_every=5)
    trainer.run(6)
    assert trainer.setup.eval_every > 0 and [h.step for h in trainer.health] == [0, 5]
    for sample in trainer.health:
        outputs = trainer.snapshots.get(sample.step).outputs
        for label in ("fc1", "relu1"):
            batch = outputs[label].astype(np.float64)
            assert np.isclose(sample.layers[label].activation_mean, batch.mean())
            assert np.isclose(sample.layers[label].activation_std, batch.std())
