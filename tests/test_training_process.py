"""TrainingProcess: the Trainer in a child process, driven by commands, its metrics coming
back through shared memory; live edits, a steps/s limit, parameters on demand, and a worker
that dies (killed from outside) reported with its reason while its metrics stay."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from gradstudio.graph.document import GraphError
from gradstudio.runtime.training import UNTIL_STOPPED
from gradstudio.runtime.training_process import TrainingProcess
from tests.test_training import classifier, set_training


def wait_for(run, condition, timeout=30.0):
    """Polls the run (as the dashboard's timer does) until condition() holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        run.poll()
        time.sleep(0.005)


@pytest.fixture
def process_of():
    made = []

    def make(doc, **options):
        run = TrainingProcess(doc, **options)
        made.append(run)
        return run

    yield make
    for run in made:
        run.close()


def test_a_process_run_trains_to_the_end_and_its_metrics_arrive(process_of):
    run = process_of(classifier(steps=30, eval_every=10))
    run.start()
    assert run.alive                          # at once, before the worker has said anything
    assert run.wait(60) and run.state == "finished", run.message
    snap = run.metrics.snapshot()
    assert run.steps_done == 30 and snap.loss.steps.tolist() == list(range(30))
    assert snap.loss.values[-1] < snap.loss.values[0]
    assert snap.accuracy.steps.tolist() == [0, 10, 20, 29]
    assert set(snap.grad_norms) == {"fc1.weight", "fc1.bias", "out.weight", "out.bias"}
    assert run.message == "finished: 30 steps"


def test_pause_step_resume_stop_and_parameters_on_demand(process_of):
    run = process_of(classifier())
    run.start()
    wait_for(run, lambda: run.steps_done >= 5)
    run.pause()
    wait_for(run, lambda: run.state == "paused")
    paused_at = run.steps_done
    run.step()
    wait_for(run, lambda: run.steps_done == paused_at + 1 and run._acknowledged == run._sent)
    parameters = run.fetch_parameters()
    assert parameters["fc1.weight"].shape == (8, 2)
    run.poll()
    assert run.steps_done == paused_at + 1 and run.state == "paused" and run.alive
    run.resume()
    wait_for(run, lambda: run.steps_done > paused_at + 5)
    run.stop()
    wait_for(run, lambda: not run.alive)
    assert run.state == "stopped" and run.message == f"stopped at step {run.steps_done}"
    after = run.fetch_parameters()
    assert not np.array_equal(after["out.bias"], parameters["out.bias"])


def test_edits_of_the_document_reach_the_worker_during_training(process_of):
    doc = classifier()
    run = process_of(doc)
    run.start(UNTIL_STOPPED)
    wait_for(run, lambda: run.steps_done >= 3)
    set_training(doc, optimizer={"kind": "sgd", "lr": 0.01}, clipping={"mode": "norm",
                                                                        "max_norm": 0.01})
    wait_for(run, lambda: any("lr 0.1 -> 0.01" in m.text for m in run.metrics.snapshot().markers))
    edited = next(m.step for m in run.metrics.snapshot().markers if "lr 0.1" in m.text)
    wait_for(run, lambda: run.steps_done > edited + 3)
    snap = run.metrics.snapshot()
    assert "clip norm 0.01" in next(m.text for m in snap.markers if m.step == edited)
    lr = dict(zip(snap.lr.steps.tolist(), snap.lr.values.tolist()))
    assert lr[edited - 1] == 0.1 and lr[edited] == 0.01
    post = snap.grad_norm_post_clip
    assert np.all(post.values[post.steps >= edited] <= 0.01 * (1 + 1e-4))


def test_until_stopped_and_the_steps_per_second_limit_are_live(process_of):
    run = process_of(classifier(steps=5))
    run.set_max_rate(0.001)                   # one step every 1000 s
    run.start(UNTIL_STOPPED)
    wait_for(run, lambda: run.steps_done == 1 and run.total_steps() == UNTIL_STOPPED)
    run.set_max_rate(None)                    # no limit: on it goes, past the setup's 5
    wait_for(run, lambda: run.steps_done > 10)
    run.until_stopped(False)                  # the setup's 5 are long done: it finishes
    wait_for(run, lambda: not run.alive)
    assert run.state == "finished"


def test_a_killed_worker_is_reported_its_metrics_kept_and_a_new_run_starts(process_of):
    doc = classifier()
    run = process_of(doc)
    run.start()
    wait_for(run, lambda: run.steps_done >= 10)
    os.kill(run.pid, signal.SIGKILL)
    wait_for(run, lambda: not run.alive)
    assert run.died and run.state == "stopped"
    assert "killed (SIGKILL" in run.message and f"at step {run.steps_done}" in run.message
    snap = run.metrics.snapshot()
    assert len(snap.loss.steps) >= 10 and snap.markers[-1].text == run.message
    run.start()                               # commands to a dead worker are ignored
    run.step()
    assert not run.alive
    again = process_of(doc)                   # what Start does: a new run
    again.start()
    wait_for(again, lambda: again.steps_done >= 3)
    assert again.alive and not again.died


def test_a_worker_that_crashes_in_native_code_is_reported_as_a_crash(process_of):
    run = process_of(classifier())
    run.start()
    wait_for(run, lambda: run.steps_done >= 3)
    os.kill(run.pid, signal.SIGSEGV)          # what a fault in a native library does
    wait_for(run, lambda: not run.alive)
    assert run.died and "the training worker crashed (SIGSEGV)" in run.message


def test_a_step_that_outlasts_the_stop_grace_ends_the_worker(process_of, monkeypatch):
    monkeypatch.setattr(TrainingProcess, "STOP_GRACE_S", 0.0)
    run = process_of(classifier())
    run.start()
    wait_for(run, lambda: run.steps_done >= 1)
    os.kill(run.pid, signal.SIGSTOP)          # a step that never ends
    run.stop()
    wait_for(run, lambda: not run.alive)
    assert run.state == "stopped" and "did not end within 0 s of Stop" in run.message


def test_a_bad_setup_is_refused_before_any_process_starts():
    doc = classifier()
    doc.meta["training"]["loss"] = "no such node"
    with pytest.raises(GraphError, match="no such node"):
        TrainingProcess(doc)


def test_a_worker_that_cannot_build_its_model_says_why(process_of):
    doc = classifier(steps=10)
    doc.set_param(doc.node_by_label("out").id, "in_features", 3)   # does not fit act1
    run = process_of(doc)
    run.start()
    assert run.wait(60)
    assert run.state == "stopped" and run.message.startswith("stopped: node 'out': ")
    assert not run.died                       # the worker reported it; it did not die


def test_health_samples_arrive_and_snapshots_are_read_on_demand(process_of):
    run = process_of(classifier(steps=30))
    assert run.snapshots.steps() == []        # nothing trained yet
    run.start()
    assert run.wait(60) and run.state == "finished"
    wait_for(run, lambda: len(run.health) >= 2)
    assert [h.step for h in run.health][:2] == [0, 25]
    steps = run.snapshots.steps()
    assert steps and steps[-1] == 29
    snap = run.snapshots.get(29)
    assert snap.step == 29 and "fc1.weight" in snap.parameters
    assert run.snapshots.diff(29).step == 29
    assert run.snapshots.held_text().startswith("held: ")
    run.snapshots.set_budget(1)               # too small for any: all dropped
    assert run.snapshots.steps() == [] and run.snapshots.budget == 1
    run.close()
    assert run.snapshots.get(29) is None      # an ended worker reads as empty
