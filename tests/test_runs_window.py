"""Runs compared in the real window (pytest-qt): runs the dashboard makes are kept, named by
what changed, overlaid in the Runs dock; Run > Show Gradient Changes tags the nodes whose
gradient a what-if edit changed."""
from PySide6.QtCore import Qt

from gradstudio import EXAMPLES


def test_two_runs_are_kept_named_and_overlaid(window, qtbot):
    assert window.open_file(EXAMPLES / "xor.json", ask=False)
    dashboard = window.training_dashboard
    assert dashboard.train_now(20)
    window.runs_panel.poll()
    dashboard.lr_box.setValue(0.1)            # the dashboard's learning rate, applied
    dashboard.apply_lr()
    assert dashboard.train_now(20)
    window.runs_panel.poll()
    panel = window.runs_panel
    names = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert names == ["run 1: first run", "run 2: lr 0.5 -> 0.1"]
    assert set(panel.loss_plot.curves) == set(names)          # both overlaid
    panel.list.item(0).setCheckState(Qt.Unchecked)
    assert set(panel.loss_plot.curves) == {"run 2: lr 0.5 -> 0.1"}


def test_a_what_if_detach_tags_the_gradients_it_changed(window):
    assert window.open_file(EXAMPLES / "leaf_and_grad_fn.json", ask=False)
    window.act_grad_changes.setChecked(True)
    window.act_backward.trigger()                # the run to compare against
    doc = window.doc
    a, y = doc.node_by_label("a").id, doc.node_by_label("y").id
    edge = next(e for e in doc.edges_into(y) if e.src == a)
    window.scene.toggles.set_detach(edge.id, True)     # auto-runs with backward
    window.runner.run(backward=True, fresh_grads=True)
    tags = window.grad_changes.tags
    assert tags["x"] == "∇ 2 → None" and tags["w"] == "∇ 5 → 3"
    window.act_grad_changes.setChecked(False)
    assert window.grad_changes.tags == {}
