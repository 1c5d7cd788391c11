"""The Trainer: worker thread control, clipping, per-layer norms, live edits as change markers,
failures reported with the node, bounded metrics, and the headless `train`."""
from __future__ import annotations

import time

import numpy as np
import pytest

from gradstudio.graph.document import Document
from gradstudio.runtime.metrics import TrainingMetrics
from gradstudio.runtime.session import Session
from gradstudio.runtime.training import UNTIL_STOPPED, StepGate, Trainer, TrainingError, train


def leaf_model(**training) -> Document:
    """line -> matmul with a parameter leaf w -> MSE (a leaf, not a layer, is trained)."""
    doc = Document()
    data = doc.add_node("dataset", "data", {"name": "line", "n_samples": 32}).id
    w = doc.add_node("parameter", "w", {"init": "zeros", "shape": [1, 1]}).id
    mm = doc.add_node("matmul", "prediction").id
    loss = doc.add_node("mse_loss", "loss").id
    doc.add_edge(data, "x", mm, "input")
    doc.add_edge(w, "out", mm, "other")
    doc.add_edge(mm, "out", loss, "input")
    doc.add_edge(data, "y", loss, "target")
    doc.meta["training"] = {"data": "data", "loss": "loss", "batch_size": 8, **training}
    return doc


def classifier(depth: int = 1, activation: str = "nn.Tanh", steps: int = 100_000,
               width: int = 8, **training) -> Document:
    """moons -> (Linear, activation) * depth -> Linear(width, 1) -> BCE with logits."""
    doc = Document()
    data = doc.add_node("dataset", "data", {"name": "moons", "n_samples": 64, "seed": 0}).id
    y = doc.add_node("float", "y_float").id
    target = doc.add_node("unsqueeze", "target", {"dim": 1}).id
    doc.add_edge(data, "y", y, "input")
    doc.add_edge(y, "out", target, "input")
    previous, port = data, "x"
    for k in range(1, depth + 1):
        lin = doc.add_node("nn.Linear", f"fc{k}", {"in_features": 2 if k == 1 else width,
                                                   "out_features": width, "seed": k}).id
        act = doc.add_node(activation, f"act{k}").id
        doc.add_edge(previous, port, lin, "input")
        doc.add_edge(lin, "out", act, "input")
        previous, port = act, "out"
    out = doc.add_node("nn.Linear", "out", {"in_features": width, "out_features": 1,
                                            "seed": 99}).id
    loss = doc.add_node("binary_cross_entropy_with_logits", "loss").id
    doc.add_edge(previous, port, out, "input")
    doc.add_edge(out, "out", loss, "input")
    doc.add_edge(target, "out", loss, "target")
    doc.meta["training"] = {"data": "data", "loss": "loss", "steps": steps, "batch_size": 16,
                            "optimizer": {"kind": "sgd", "lr": 0.1}, **training}
    return doc


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def set_training(doc: Document, **changes) -> None:
    """An edit of meta["training"] as the UI makes it: one set_meta with a new dict."""
    doc.set_meta("training", {**doc.meta["training"], **changes})


@pytest.fixture
def trainer_of():
    made = []

    def make(doc, **options):
        trainer = Trainer.for_document(doc, **options)
        made.append(trainer)
        return trainer

    yield make
    for trainer in made:
        trainer.close()


# ------------------------------------------------------------------ thread control
def test_start_pause_step_resume_stop(trainer_of):
    trainer = trainer_of(classifier())
    trainer.start()
    wait_for(lambda: trainer.steps_done >= 5)
    trainer.pause()
    wait_for(lambda: trainer.state == "paused")
    paused_at = trainer.steps_done
    time.sleep(0.05)
    assert trainer.steps_done == paused_at and trainer.alive
    trainer.step()
    wait_for(lambda: trainer.steps_done == paused_at + 1 and trainer.state == "paused")
    time.sleep(0.05)
    assert trainer.steps_done == paused_at + 1
    trainer.resume()
    wait_for(lambda: trainer.steps_done >= paused_at + 10)
    trainer.stop()
    assert not trainer.alive and trainer.state == "stopped"
    assert trainer.message == f"stopped at step {trainer.steps_done}"


def test_step_from_idle_runs_exactly_one_step(trainer_of):
    trainer = trainer_of(classifier())
    trainer.step()
    wait_for(lambda: trainer.state == "paused" and trainer.steps_done == 1)
    snap = trainer.metrics.snapshot()
    assert snap.loss.steps.tolist() == [0] and np.isfinite(snap.loss.values[0])
    trainer.stop()
    assert not trainer.alive


def test_finishes_after_the_configured_steps_and_can_continue(trainer_of):
    trainer = trainer_of(classifier(steps=30))
    trainer.start()
    assert trainer.wait(20)
    assert trainer.state == "finished" and trainer.steps_done == 30
    trainer.start(steps=5)
    assert trainer.wait(20) and trainer.steps_done == 35


def test_the_worker_leaves_the_caller_free(trainer_of):
    """start() returns at once; the caller keeps getting the GIL while training runs."""
    trainer = trainer_of(classifier())
    began = time.perf_counter()
    trainer.start()
    assert time.perf_counter() - began < 0.5
    worst, last = 0.0, time.perf_counter()
    while trainer.steps_done < 50:
        time.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    trainer.stop()
    assert worst < 0.2


def test_the_gate_parks_the_worker_between_steps_until_released(trainer_of):
    trainer = trainer_of(classifier())
    trainer.start()
    wait_for(lambda: trainer.steps_done >= 3)
    assert trainer.gate.hold(timeout=5.0)
    held_at = trainer.steps_done
    time.sleep(0.05)
    assert trainer.steps_done == held_at and trainer.alive       # parked at a boundary
    trainer.gate.release()
    wait_for(lambda: trainer.steps_done >= held_at + 5)
    trainer.stop()
    assert not trainer.alive


def test_a_gate_held_too_long_stops_holding_the_worker(trainer_of, monkeypatch):
    """A frame that never ends (a dialog opened in it, a stop() waiting for the worker) must
    not stop training: after MAX_PARK_S the worker goes on until the gate is released."""
    monkeypatch.setattr(StepGate, "MAX_PARK_S", 0.05)
    trainer = trainer_of(classifier())
    trainer.start()
    wait_for(lambda: trainer.steps_done >= 3)
    assert trainer.gate.hold(timeout=5.0)
    held_at = trainer.steps_done
    wait_for(lambda: trainer.steps_done >= held_at + 10)     # going on while still held
    trainer.stop()                                           # and stop() does not hang
    assert not trainer.alive
    trainer.gate.release()


def test_holding_the_gate_of_a_worker_that_does_not_step_gives_up_at_once(trainer_of):
    trainer = trainer_of(classifier())
    trainer.step()                                  # one step, then paused: no boundary comes
    wait_for(lambda: trainer.state == "paused" and trainer.steps_done == 1)
    began = time.perf_counter()
    assert not trainer.gate.hold(timeout=0.02)
    assert time.perf_counter() - began < 0.5
    trainer.resume()                                # the gate was left open: training goes on
    wait_for(lambda: trainer.steps_done >= 5)
    trainer.stop()


# ------------------------------------------------------------------ what a step measures
def test_clipping_by_norm_bounds_the_post_clip_norm_and_records_the_pre_clip_norm():
    doc = classifier(steps=40, clipping={"mode": "norm", "max_norm": 0.05},
                     optimizer={"kind": "sgd", "lr": 0.5})
    session = Session(doc)
    trainer = Trainer(session)
    trainer.run()
    snap = trainer.metrics.snapshot()
    assert np.all(snap.grad_norm_post_clip.values <= 0.05 * (1 + 1e-4))
    assert np.any(snap.grad_norm_pre_clip.values > 0.05)
    assert np.all(snap.grad_norm_pre_clip.values >= snap.grad_norm_post_clip.values - 1e-7)


def test_clipping_by_value_bounds_every_element():
    doc = classifier(steps=5, clipping={"mode": "value", "clip_value": 1e-3})
    session = Session(doc)
    trainer = Trainer(session)
    trainer.run()
    for p in trainer._parameters:
        assert np.abs(p.tensor.grad.numpy()).max() <= 1e-3 + 1e-9


def test_without_clipping_pre_and_post_norms_agree():
    trainer = Trainer(Session(classifier(steps=5)))
    trainer.run()
    snap = trainer.metrics.snapshot()
    np.testing.assert_allclose(snap.grad_norm_pre_clip.values, snap.grad_norm_post_clip.values)


def test_deep_sigmoid_network_has_gradient_norms_decreasing_toward_the_input():
    doc = classifier(depth=5, activation="nn.Sigmoid", steps=20, width=16)
    result = train(Session(doc))
    norms = [result.mean_grad_norms[f"fc{k}.weight"] for k in range(1, 6)]
    norms.append(result.mean_grad_norms["out.weight"])
    assert all(a < b for a, b in zip(norms, norms[1:])), norms
    assert norms[0] < norms[-1] * 1e-2


def test_metrics_stay_bounded_however_long_it_trains():
    metrics = TrainingMetrics(capacity=50, parameter_capacity=20, histogram_capacity=3)
    trainer = Trainer(Session(classifier(steps=200)), metrics)
    trainer.run()
    snap = metrics.snapshot()
    assert len(snap.loss.values) == 50 and snap.loss.steps[-1] == 199
    assert all(len(c.values) == 20 for c in snap.grad_norms.values())
    assert all(len(h.steps) == 3 for h in snap.grad_histograms.values())
    assert set(snap.grad_norms) == {"fc1.weight", "fc1.bias", "out.weight", "out.bias"}
    assert snap.accuracy.values.size > 0 and 0.0 <= snap.accuracy.values[-1] <= 1.0
    boundary = snap.decision_boundary
    assert boundary is not None and boundary.grid.shape == (60, 60)
    assert np.all((boundary.grid >= 0) & (boundary.grid <= 1))


def test_validation_split_holds_out_rows_and_records_validation_loss():
    trainer = Trainer(Session(classifier(steps=10, validation_split=0.25, eval_every=5)))
    trainer.run()
    assert len(trainer._val_rows) == 16 and trainer._n_train == 48
    assert trainer.metrics.snapshot().val_loss.steps.tolist() == [0, 5, 9]


def test_epochs_count_passes_over_the_training_split():
    doc = classifier(batch_size=16)
    training = dict(doc.meta["training"])
    del training["steps"]
    doc.meta["training"] = {**training, "epochs": 3}
    result = train(Session(doc))
    assert len(result.losses) == 3 * 4


def test_same_seed_same_losses():
    first = train(Session(classifier(steps=15))).losses
    assert train(Session(classifier(steps=15))).losses == first


# ------------------------------------------------------------------ live edits
def test_live_learning_rate_change_takes_effect_at_the_next_step_with_a_marker(trainer_of):
    doc = classifier()
    trainer = trainer_of(doc)
    trainer.step()
    wait_for(lambda: trainer.steps_done == 1 and trainer.state == "paused")
    set_training(doc, optimizer={"kind": "sgd", "lr": 0.01})
    trainer.step()
    wait_for(lambda: trainer.steps_done == 2 and trainer.state == "paused")
    snap = trainer.metrics.snapshot()
    assert [(m.step, m.text) for m in snap.markers] == [(1, "lr 0.1 -> 0.01")]
    assert snap.lr.values.tolist() == [0.1, 0.01]
    assert trainer._optimizer.param_groups[0]["lr"] == 0.01
    assert doc.meta["training"]["optimizer"]["lr"] == 0.01      # the watched document itself


def test_live_clipping_freezing_and_detach_are_marked(trainer_of):
    doc = classifier()
    trainer = trainer_of(doc)
    trainer.step()
    wait_for(lambda: trainer.steps_done == 1 and trainer.state == "paused")
    set_training(doc, clipping={"mode": "norm", "max_norm": 0.01}, frozen=["fc1"])
    edge = next(e for e in doc.edges.values() if doc.nodes[e.dst].label == "out")
    doc.set_edge_detach(edge.id, True)
    frozen_before = trainer.session.modules[trainer.session.node_id("fc1")].weight.detach().numpy().copy()
    for _ in range(3):
        trainer.step()
    wait_for(lambda: trainer.steps_done == 4 and trainer.state == "paused")
    snap = trainer.metrics.snapshot()
    texts = snap.markers[0].text
    assert snap.markers[0].step == 1
    assert "clip norm 0.01" in texts and "freeze fc1" in texts and "detach act1 -> out" in texts
    assert np.all(snap.grad_norm_post_clip.values[1:] <= 0.01 * (1 + 1e-4))
    fc1 = trainer.session.modules[trainer.session.node_id("fc1")].weight
    assert not fc1.requires_grad
    np.testing.assert_array_equal(fc1.detach().numpy(), frozen_before)
    assert "fc1.weight" not in {n for n, c in snap.grad_norms.items() if 3 in c.steps}


def test_a_hook_added_to_a_parameter_leaf_keeps_its_trained_values(trainer_of):
    doc = leaf_model(steps=1000, batch_size=0, optimizer={"kind": "sgd", "lr": 0.001})
    trainer = trainer_of(doc)
    for _ in range(3):
        trainer.step()
    wait_for(lambda: trainer.steps_done == 3 and trainer.state == "paused")
    trained = float(trainer.session.value("w").item())
    assert trained != 0.0
    doc.set_hooks(doc.node_by_label("w").id, [{"kind": "zero"}])
    trainer.step()
    wait_for(lambda: trainer.steps_done == 4 and trainer.state == "paused")
    leaf = trainer.session.value("w")
    assert float(leaf.item()) == trained           # kept, and the zero hook stopped updates
    assert float(leaf.grad.abs().sum().item()) == 0.0
    assert trainer.metrics.snapshot().markers[-1].text == "hooks on w: zero"


# ------------------------------------------------------------------ failures
def test_a_failing_step_stops_with_the_node_named_and_the_thread_ends(trainer_of):
    doc = classifier()
    trainer = trainer_of(doc)
    trainer.start()
    wait_for(lambda: trainer.steps_done >= 3)
    doc.set_param(doc.node_by_label("out").id, "in_features", 3)    # no longer fits act1
    assert trainer.wait(10)
    assert trainer.state == "stopped"
    assert trainer.message.startswith("stopped: node 'out': ")
    assert "16x8 and 3x1" in trainer.message
    assert trainer.metrics.snapshot().markers[-1].text == trainer.message


def test_headless_training_raises_with_the_node():
    doc = classifier(steps=3)
    doc.set_param(doc.node_by_label("out").id, "in_features", 5)
    with pytest.raises(TrainingError, match="^node 'out': "):
        train(Session(doc))


def test_a_non_scalar_loss_is_refused_with_its_label():
    doc = classifier(steps=3)
    doc.set_param(doc.node_by_label("loss").id, "reduction", "none")
    with pytest.raises(TrainingError, match=r"node 'loss': the loss must be one number, got shape \(16, 1\)"):
        train(Session(doc))


def regression(**training) -> Document:
    """line -> Linear(1, 1) -> MSE."""
    doc = Document()
    data = doc.add_node("dataset", "data", {"name": "line", "n_samples": 32}).id
    model = doc.add_node("nn.Linear", "model", {"in_features": 1, "out_features": 1}).id
    loss = doc.add_node("mse_loss", "loss").id
    doc.add_edge(data, "x", model, "input")
    doc.add_edge(model, "out", loss, "input")
    doc.add_edge(data, "y", loss, "target")
    doc.meta["training"] = {"data": "data", "loss": "loss", "batch_size": 0, **training}
    return doc


def test_a_loss_that_becomes_nan_stops_training():
    doc = regression(steps=200, optimizer={"kind": "sgd", "lr": 1000.0})
    with pytest.raises(TrainingError, match="node 'loss': the loss became (nan|inf) at step"):
        train(Session(doc))


def test_gradstudio_run_trains_and_prints_losses(tmp_path, capsys):
    import json

    from gradstudio.cli import main
    from gradstudio.graph import fileio
    path = tmp_path / "net.json"
    fileio.save(classifier(steps=7), path)
    assert main(["run", str(path), "--json", "--steps", "4"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["loss"]) == 4 and printed["training"]["steps"] == 4
    bad = classifier(steps=7)
    bad.set_param(bad.node_by_label("out").id, "in_features", 5)
    fileio.save(bad, path)
    assert main(["run", str(path)]) == 2
    assert "node 'out'" in capsys.readouterr().err


def test_log_hook_lines_are_kept_bounded_by_the_trainer():
    doc = classifier(steps=300)
    doc.set_hooks(doc.node_by_label("fc1").id, [{"kind": "log"}])
    session = Session(doc)
    trainer = Trainer(session)
    trainer.run()
    assert len(trainer.log) == trainer.log.maxlen and not session.messages
    assert trainer.log[-1].startswith("hook on fc1: grad shape (16, 8) norm ")


def test_update_ratios_and_histograms_are_recorded():
    trainer = Trainer(Session(classifier(steps=20)))
    trainer.run()
    snap = trainer.metrics.snapshot()
    ratios = snap.update_ratios["fc1.weight"].values
    assert len(ratios) == 20 and np.all((ratios > 0) & (ratios < 1))
    assert set(snap.weight_histograms) == set(snap.grad_norms)
    assert snap.grad_histograms["out.weight"].steps.tolist() == [0, 19]


def test_a_bad_setup_is_refused_when_the_trainer_is_made():
    from gradstudio.graph.training_setup import TrainingSetupError
    doc = classifier()
    doc.meta["training"]["batch_size"] = -1
    with pytest.raises(TrainingSetupError, match="training.batch_size"):
        Trainer.for_document(doc)


def test_after_training_the_graph_can_show_the_model_on_all_the_data(trainer_of):
    doc = classifier(steps=12)
    doc.meta["root"] = "loss"
    trainer = trainer_of(doc)
    trainer.start()
    assert trainer.wait(20) and trainer.state == "finished"
    assert tuple(trainer.session.value("loss").shape) == ()
    trainer.run_on_all_data()
    session = trainer.session
    assert tuple(session.value("data", "x").shape) == (64, 2)
    assert tuple(session.value("out").shape) == (64, 1)
    assert session.modules[session.node_id("fc1")].weight.grad is not None


def test_trains_on_a_csv_file_next_to_the_document(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.3
    rows = "\n".join(",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(x, y))
    (tmp_path / "data.csv").write_text("a,b,c,target\n" + rows + "\n")
    doc = Document()
    data = doc.add_node("csv", "data", {"path": "data.csv", "target": "target"}).id
    model = doc.add_node("nn.Linear", "model", {"in_features": 3, "out_features": 1}).id
    target = doc.add_node("unsqueeze", "target", {"dim": 1}).id
    loss = doc.add_node("mse_loss", "loss").id
    doc.add_edge(data, "x", model, "input")
    doc.add_edge(data, "y", target, "input")
    doc.add_edge(model, "out", loss, "input")
    doc.add_edge(target, "out", loss, "target")
    doc.meta["training"] = {"data": "data", "loss": "loss", "steps": 300, "batch_size": 16,
                            "optimizer": {"kind": "adam", "lr": 0.05}}
    losses = train(Session(doc, base_dir=str(tmp_path))).losses
    assert losses[0] > 0.5 and losses[-1] < 1e-3


def test_evaluation_runs_layers_in_eval_mode_and_training_in_train_mode():
    doc = classifier(steps=6, eval_every=2)
    act = doc.node_by_label("act1").id
    out = doc.node_by_label("out").id
    edge = next(e for e in doc.edges.values() if e.src == act and e.dst == out)
    doc.remove_edge(edge.id)
    drop = doc.add_node("nn.Dropout", "dropout", {"p": 0.5}).id
    doc.add_edge(act, "out", drop, "input")
    doc.add_edge(drop, "out", out, "input")
    session = Session(doc)
    trainer = Trainer(session)
    modes = []
    forward = trainer._forward

    def spy(x, y):
        modes.append(session.modules[drop].training if drop in session.modules else True)
        forward(x, y)
    trainer._forward = spy
    trainer.run()
    # 6 training steps; evaluations at steps 0, 2, 4 and 5, each on the data and on the grid
    assert modes.count(True) == 6 and modes.count(False) == 8
    assert session.modules[drop].training


# ------------------------------------------------------------------ pacing and length
def test_until_stopped_trains_past_the_setup_steps_and_stops_when_asked(trainer_of):
    trainer = trainer_of(classifier(steps=5))
    trainer.start(UNTIL_STOPPED)
    wait_for(lambda: trainer.steps_done > 20)
    assert trainer.alive and trainer.total_steps() == UNTIL_STOPPED
    trainer.until_stopped(False)               # back to the setup's 5: ends at once
    assert trainer.wait(10) and trainer.state == "finished"


def test_a_steps_per_second_limit_spaces_the_steps():
    trainer = Trainer(Session(classifier()))
    assert trainer.pace_wait() == 0.0          # no limit: never waits
    trainer.set_max_rate(4.0)
    trainer._step_began = time.perf_counter()
    assert 0.2 < trainer.pace_wait() <= 0.25    # a quarter second after the last began
    trainer._step_began -= 1.0
    assert trainer.pace_wait() < 0
    trainer.set_max_rate(0)
    assert trainer.max_rate is None


def test_a_limited_run_still_pauses_steps_and_stops_at_once(trainer_of):
    trainer = trainer_of(classifier())
    trainer.set_max_rate(0.001)                # one step every 1000 s
    trainer.start()
    wait_for(lambda: trainer.steps_done == 1)
    trainer.pause()
    wait_for(lambda: trainer.state == "paused")
    trainer.step()                             # a single step is not held back by the limit
    wait_for(lambda: trainer.steps_done == 2 and trainer.state == "paused")
    trainer.resume()
    trainer.stop(timeout=10)
    assert not trainer.alive and trainer.state == "stopped" and trainer.steps_done == 2


def test_parameters_are_fetched_as_copies_while_training(trainer_of):
    trainer = trainer_of(classifier())
    trainer.start()
    wait_for(lambda: trainer.steps_done > 3)
    parameters = trainer.fetch_parameters()
    assert set(parameters) == {"fc1.weight", "fc1.bias", "out.weight", "out.bias"}
    assert parameters["fc1.weight"].shape == (8, 2)
    trainer.stop()
    assert not np.array_equal(parameters["out.bias"], trainer.fetch_parameters()["out.bias"])
