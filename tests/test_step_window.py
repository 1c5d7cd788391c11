"""A loss spike opened at its step, in the real window (pytest-qt): a click on the loss curve
opens that step in the Step snapshot dock and on the canvas, with what changed from the step
before; a step no longer held says so; the memory budget is shown and can be changed."""
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from gradstudio import EXAMPLES


def trained(window, steps):
    assert window.open_file(EXAMPLES / "xor.json", ask=False)
    assert window.training_dashboard.train_now(steps)
    return window.training_dashboard


def click_step(window, qtbot, step):
    """A left click on the loss plot at the given step, as a person clicks the curve."""
    plot = window.training_dashboard.loss_plot
    window.training_dock.show()
    window.training_dock.raise_()
    dashboard = window.training_dashboard
    dashboard.show_plot("loss")
    qtbot.waitUntil(lambda: plot.isVisible())
    vb = plot.plot_item.vb
    y = float(vb.viewRange()[1][0] + vb.viewRange()[1][1]) / 2
    scene_pos = vb.mapViewToScene(QPointF(step, y))
    widget_pos = plot.mapFromScene(scene_pos)
    QTest.mouseClick(plot.viewport(), Qt.LeftButton, pos=widget_pos)


def test_clicking_the_loss_curve_opens_that_step_with_its_diff(window, qtbot):
    trained(window, 30)
    click_step(window, qtbot, 20)
    panel = window.step_panel
    qtbot.waitUntil(lambda: panel.step is not None)
    assert panel.step == 20 and window.step_dock.isVisible()
    assert panel.headline.text().startswith("<b>step 20: loss ")
    assert "from step 19" in panel.headline.text()
    nodes = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert {"hidden", "logit"} <= set(nodes)
    assert panel.tags["hidden"].startswith("step 20: ∇ ×")
    hidden = window.doc.node_by_label("hidden").id
    shown = window.scene.shown_results()[0][hidden]
    snap = window.training_dashboard.trainer.snapshots.get(20)
    assert (shown.data == snap.outputs["hidden"]).all()
    window.scene.clearSelection()
    window.scene.node_items[hidden].setSelected(True)        # the Inspector shows step 20
    qtbot.waitUntil(lambda: window.inspector.source == "step 20 snapshot")
    assert set(window.inspector.tensors) == {"out", "weight", "bias"}
    assert (window.inspector.tensors["weight"].grad == snap.parameters["hidden.weight"][1]).all()
    panel.back.click()
    assert panel.tags == {} and window.scene.step_results is None
    assert window.inspector.source == "after the last run"


def test_a_step_no_longer_held_is_said_and_the_budget_can_change(window, qtbot):
    dashboard = trained(window, 60)
    store = dashboard.trainer.snapshots
    assert "held: 0-59" in window.step_panel.held.text() or window.open_step(59)
    store.set_budget(store.bytes_used // 3)                 # as if the run were long
    missing = next(s for s in range(60) if s not in store.steps())
    assert not window.open_step(missing)
    assert f"Step {missing} is no longer held" in window.step_panel.headline.text()
    panel = window.step_panel
    panel.budget.setValue(2)
    panel.apply_budget()
    assert store.budget == 2_000_000 and "MB of 2 MB" in panel.held.text()
