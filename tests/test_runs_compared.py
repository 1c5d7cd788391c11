"""Runs compared: each kept run named by what changed from the one before (bounded), and a
what-if edit's effect on every node's gradient against the previous run."""
import numpy as np

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.runtime import Session
from gradstudio.runtime.grad_diff import grad_changes
from gradstudio.runtime.runs import RunHistory, RunState, describe_changes
from gradstudio.runtime.training import Trainer


def state(doc):
    return RunState.of(doc)


def test_names_say_what_changed_in_the_setup_and_the_graph():
    doc = fileio.load(EXAMPLES / "xor.json")
    first = state(doc)
    training = dict(doc.meta["training"], optimizer={"kind": "sgd", "lr": 0.3, "momentum": 0.9})
    doc.set_meta("training", training)
    assert describe_changes(first, state(doc)) == "lr 0.5 -> 0.3"
    second = state(doc)
    doc.set_meta("training", dict(training, clipping={"mode": "norm", "max_norm": 1.0}))
    assert describe_changes(second, state(doc)) == "clip by norm, clip norm 1.0"
    third = state(doc)
    hidden = doc.node_by_label("hidden")
    doc.set_param(hidden.id, "out_features", 4)
    edge = next(e for e in doc.edges.values() if e.src == hidden.id)
    doc.set_edge_detach(edge.id, True)
    assert describe_changes(third, state(doc)) == "hidden.out_features 2 -> 4, detach hidden -> tanh"
    assert describe_changes(None, first) == "first run"
    assert describe_changes(first, first) == "same setup"


def test_history_keeps_named_runs_with_their_curves_and_is_bounded():
    doc = fileio.load(EXAMPLES / "xor.json")
    history = RunHistory(limit=2)
    for lr in (0.5, 0.1, 0.9):
        doc.set_meta("training", dict(doc.meta["training"],
                                      optimizer={"kind": "sgd", "lr": lr, "momentum": 0.9}))
        trainer = Trainer(Session(doc.copy()), snapshot_budget=0)
        trainer.run(15)
        run = history.keep(doc, trainer.metrics.snapshot())
        assert len(run.curves["loss"][0]) == 15
    assert [r.name for r in history.runs] == ["run 2: lr 0.5 -> 0.1", "run 3: lr 0.1 -> 0.9"]
    assert history.runs[0].final_loss != history.runs[1].final_loss


def test_a_what_if_detach_shows_each_gradient_change():
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [1.0, 2.0], "requires_grad": True})
    w = doc.add_node("tensor", "w", {"value": 3.0, "requires_grad": True})
    y = doc.add_node("mul", "y")
    doc.add_edge(x.id, "out", y.id, "input")
    edge = doc.add_edge(w.id, "out", y.id, "other")
    total = doc.add_node("sum", "total")
    doc.add_edge(y.id, "out", total.id, "input")
    root = doc.add_node("backward", "backward")
    doc.add_edge(total.id, "out", root.id, "input")
    session = Session(doc)
    session.run()
    before = {n: session.info(n) for n in doc.nodes if n != root.id}
    doc.set_edge_detach(edge.id, True)
    session.zero_grad()
    session.run()
    after = {n: session.info(n) for n in doc.nodes if n != root.id}
    changes = grad_changes(before, after)
    assert set(changes) == {w.id}                     # x's gradient is still w = 3
    assert changes[w.id].text() == "∇ 3 → None"
    doc.set_param(w.id, "value", 5.0)
    doc.set_edge_detach(edge.id, False)
    session.zero_grad()
    session.run()
    again = {n: session.info(n) for n in doc.nodes if n != root.id}
    changes = grad_changes(after, again)
    assert changes[x.id].text() == "∇ [3, 3] → [5, 5]"
    assert abs(changes[x.id].factor - 5 / 3) < 1e-6
    assert np.allclose(changes[w.id].after, 3.0)
