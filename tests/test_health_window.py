"""Gradient health in the real window (pytest-qt): after training the vanishing-gradients
example, the Gradient health dock names the vanishing layer and the canvas tags each layer."""


def test_training_shows_health_in_its_dock_and_on_the_canvas(window, qtbot):
    from gradstudio import EXAMPLES
    assert window.open_file(EXAMPLES / "vanishing_gradients.json", ask=False)
    assert window.training_dashboard.train_now(30)
    window.health_dock.toggleViewAction().trigger()           # View > Gradient health
    qtbot.waitUntil(lambda: window.health_panel.health is not None)
    panel = window.health_panel
    assert panel.health.step == 29
    assert "fc1 gets" in panel.verdicts.text() and "vanishing" in panel.verdicts.text()
    labels = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert labels[:2] == ["fc1", "sigmoid1"] and labels[-1] == "out"
    tags = panel.overlay.tags
    assert tags["fc1"].startswith("‖∇‖ ") and "of max" in tags["fc1"]
    assert tags["sigmoid1"].startswith("saturated ")
    window.health_dock.toggleViewAction().trigger()           # closed: the tags go
    assert panel.overlay.tags == {}
