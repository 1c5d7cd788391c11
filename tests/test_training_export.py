"""Exported scripts of documents that train repeat the trainer's losses step for step
(batches, validation split, frozen layers, clipping by value, hooks on ops and leaves)."""
from __future__ import annotations

import contextlib
import io
import re
import sys

import numpy as np
import pytest

from gradstudio.graph.document import Document
from gradstudio.runtime.export import export_script
from gradstudio.runtime.session import Session
from gradstudio.runtime.training import train

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_training import classifier  # noqa: E402


def exported_losses(doc: Document, target: str = "python") -> list[float]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(export_script(doc, target), "<exported>", "exec"), {"__name__": "__main__"})
    return [float(m[1]) for m in re.finditer(r"^step \d+: loss=(\S+)$", out.getvalue(), re.M)]


def busy_classifier() -> Document:
    doc = classifier(depth=2, steps=25, validation_split=0.25, frozen=["fc1"],
                     clipping={"mode": "value", "clip_value": 0.01},
                     optimizer={"kind": "rmsprop", "lr": 0.01, "momentum": 0.5})
    doc.set_hooks(doc.node_by_label("act2").id, [{"kind": "scale", "k": 3.0}])
    doc.meta["root"] = "loss"
    return doc


def test_the_engine_script_repeats_the_trainer_exactly():
    expected = train(Session(busy_classifier())).losses
    assert len(expected) == 25
    assert exported_losses(busy_classifier()) == expected


def test_the_torch_script_repeats_the_trainer_closely():
    pytest.importorskip("torch")
    expected = train(Session(busy_classifier())).losses
    np.testing.assert_allclose(exported_losses(busy_classifier(), "torch"), expected, rtol=1e-4)


def test_a_leaf_hook_is_registered_once_and_changes_training():
    def doc_with(hooks):
        doc = Document()
        data = doc.add_node("dataset", "data", {"name": "line", "n_samples": 16}).id
        w = doc.add_node("parameter", "w", {"init": "zeros", "shape": [1, 1]})
        mm = doc.add_node("matmul", "prediction").id
        loss = doc.add_node("mse_loss", "loss").id
        doc.add_edge(data, "x", mm, "input")
        doc.add_edge(w.id, "out", mm, "other")
        doc.add_edge(mm, "out", loss, "input")
        doc.add_edge(data, "y", loss, "target")
        doc.set_hooks(w.id, hooks)
        doc.meta["training"] = {"data": "data", "loss": "loss", "steps": 5, "batch_size": 4,
                                "optimizer": {"kind": "sgd", "lr": 0.001}}
        return doc
    clamped = doc_with([{"kind": "clamp", "min": -1.0, "max": 1.0}])
    assert exported_losses(clamped) == train(Session(clamped)).losses
    assert train(Session(doc_with([]))).losses != train(Session(clamped)).losses
