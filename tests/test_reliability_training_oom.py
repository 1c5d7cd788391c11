"""The GPU running out of memory while training: the trainer moves the layers, parameters and
optimizer state to the cpu, marks it, warns, and runs the same step again there, so training
goes on with the numbers a cpu-only run has. The GPU is the CuPy stand-in of
test_engine_fake_cuda (NumPy underneath, so the numbers match the cpu's exactly)."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.graph.document import Document
from gradstudio.runtime import session as session_module
from gradstudio.runtime.devices import is_out_of_memory
from gradstudio.runtime.session import Session
from gradstudio.runtime.training import Trainer, TrainingError

from test_engine_fake_cuda import fake_cuda  # noqa: F401 - the fixture
from test_training import classifier, leaf_model, wait_for

MESSAGE = "cuda ran out of memory; training on the cpu"


class OutOfMemoryError(MemoryError):
    """Named as cupy.cuda.memory.OutOfMemoryError is."""


def run_out_of_memory_once(monkeypatch, at_step: int, where: str) -> list[int]:
    """The first attempt of step `at_step` on cuda fails as CuPy does: in the optimizer step
    (an OutOfMemoryError raised) or in a layer's forward (the node's error text says so).
    Returns the steps at which it failed."""
    failed: list[int] = []
    if where == "optimizer":
        real = Trainer._optimizer_step

        def optimizer_step(self):
            if self.steps_done == at_step and not failed and self.session.device != "cpu":
                failed.append(self.steps_done)
                raise OutOfMemoryError("Out of memory allocating 8,589,934,592 bytes")
            return real(self)
        monkeypatch.setattr(Trainer, "_optimizer_step", optimizer_step)
    else:
        real_one_step, real_run = Trainer._one_step, session_module.Session._run_node
        current = {}

        def one_step(self):
            current["step"] = self.steps_done
            return real_one_step(self)

        def run_node(self, step):
            if step.node.kind == "nn.Linear" and self.device != "cpu" and not failed \
                    and current.get("step") == at_step:
                failed.append(at_step)
                self.errors[step.node.id] = ("linear: Out of memory allocating 1,024 bytes "
                                             "(allocated so far: 0 bytes).")
                self.outputs.pop(step.node.id, None)
                return
            return real_run(self, step)
        monkeypatch.setattr(Trainer, "_one_step", one_step)
        monkeypatch.setattr(session_module.Session, "_run_node", run_node)
    return failed


def parameters_of(trainer: Trainer) -> dict[str, np.ndarray]:
    return {p.name: np.array(p.tensor.detach().cpu().numpy()) for p in trainer._parameters}


def cpu_run(doc: Document, steps: int) -> Trainer:
    trainer = Trainer(Session(doc.copy(), device="cpu"), keep_losses=True)
    trainer.run(steps)
    return trainer


@pytest.mark.parametrize("optimizer,where", [
    ({"kind": "adam", "lr": 0.01}, "optimizer"),
    ({"kind": "sgd", "lr": 0.1, "momentum": 0.9}, "forward"),
    ({"kind": "rmsprop", "lr": 0.01, "momentum": 0.5}, "optimizer")])
def test_out_of_memory_in_a_step_moves_training_to_the_cpu_with_the_same_numbers(
        fake_cuda, monkeypatch, optimizer, where):
    doc = classifier(steps=8, optimizer=optimizer, validation_split=0.25, eval_every=3)
    expected = cpu_run(doc, 8)
    failed = run_out_of_memory_once(monkeypatch, at_step=5, where=where)
    trainer = Trainer(Session(doc.copy(), device="cuda"), keep_losses=True)
    trainer.run(3)
    assert trainer.session.device == "cuda"
    assert all(p.tensor.is_cuda for p in trainer._parameters)
    trainer.run(5)
    assert failed == [5]
    assert trainer.steps_done == 8 and trainer.state == "finished"
    assert trainer.session.device == "cpu"
    assert not any(p.tensor.is_cuda for p in trainer._parameters)
    assert not any(getattr(v, "is_cuda", False) for state in trainer._optimizer.state.values()
                   for v in state.values())
    assert trainer.losses == pytest.approx(expected.losses, rel=1e-6, abs=1e-9)
    got, want = parameters_of(trainer), parameters_of(expected)
    assert list(got) == list(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-9)
    markers = [(m.step, m.text) for m in trainer.metrics.snapshot().markers]
    assert (5, MESSAGE) in markers
    assert list(trainer.warnings) == [f"step 5: {MESSAGE}"]


def test_a_trained_parameter_leaf_keeps_its_values_and_state_on_the_cpu(fake_cuda, monkeypatch):
    doc = leaf_model(steps=6, optimizer={"kind": "adam", "lr": 0.05})
    expected = cpu_run(doc, 6)
    failed = run_out_of_memory_once(monkeypatch, at_step=4, where="optimizer")
    trainer = Trainer(Session(doc.copy(), device="cuda"), keep_losses=True)
    trainer.run(6)
    assert failed == [4] and trainer.steps_done == 6
    assert trainer.losses == pytest.approx(expected.losses, rel=1e-6)
    assert float(trainer.session.value("w").item()) == pytest.approx(
        float(expected.session.value("w").item()), rel=1e-6)
    assert float(trainer.session.value("w").item()) != 0.0


def test_the_worker_goes_on_on_the_cpu_and_the_dashboard_shows_the_warning(
        fake_cuda, monkeypatch, qtbot):
    from gradstudio.ui.dashboard import TrainingDashboard
    failed = run_out_of_memory_once(monkeypatch, at_step=2, where="forward")
    doc = classifier(steps=6, device="cuda")
    dashboard = TrainingDashboard()
    dashboard.worker = "thread"          # the fake GPU and the failure live in this process
    qtbot.addWidget(dashboard)
    dashboard.set_document(doc)
    shown = []
    dashboard.message.connect(lambda text, level: shown.append((text, level)))
    assert dashboard.start()
    assert dashboard.trainer.session.device == "cuda"
    wait_for(lambda: not dashboard.trainer.alive)
    dashboard.refresh()
    assert failed == [2]
    assert dashboard.trainer.state == "finished" and dashboard.trainer.steps_done == 6
    assert (f"step 2: {MESSAGE}", "warning") in shown
    dashboard.close()


def test_other_errors_on_cuda_still_stop_training(fake_cuda):
    doc = classifier(steps=5)
    doc.nodes[doc.node_by_label("out").id].params["in_features"] = 3     # a shape error
    trainer = Trainer(Session(doc, device="cuda"))
    with pytest.raises(TrainingError, match="node 'out'"):
        trainer.run(2)
    assert trainer.session.device == "cuda" and not trainer.warnings


def test_out_of_memory_is_recognised_by_type_name_or_message():
    assert is_out_of_memory(OutOfMemoryError("allocation failed"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert is_out_of_memory("linear: Out of memory allocating 1,024 bytes")
    assert not is_out_of_memory(ValueError("shapes (3,) and (4,) differ"))
    assert not is_out_of_memory(MemoryError())
