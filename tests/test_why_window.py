""""Why no gradient?" in the real window (pytest-qt): asked from the canvas's right-click menu
and from the Inspector's button, answered in its dock, the paths and causes drawn on the
canvas, kept up to date when nodes move and asked again after an edit and a run."""
import pytest
from PySide6.QtCore import Qt

from gradstudio import EXAMPLES


@pytest.fixture
def why_window(window):
    """why_no_gradient.json: w feeds a relu whose units are all inactive; v feeds c, which
    runs in a no_grad region; x is data."""
    assert window.open_file(EXAMPLES / "why_no_gradient.json", ask=False)
    return window


def node_id(window, label):
    return window.doc.node_by_label(label).id


def menu_action(window, label, text):
    """The right-click menu of the node labelled `label`, as a person opens it."""
    item = window.scene.node_items[node_id(window, label)]
    menu = window.scene.context_menu(item.sceneBoundingRect().center())
    return {a.text(): a for a in menu.actions()}[text]


def test_the_node_menu_asks_why_and_the_dock_answers_with_the_path_drawn(why_window, qtbot):
    window = why_window
    menu_action(window, "w", "Why Is Its Gradient None or Zero?").trigger()
    panel = window.why_panel
    assert window.why_dock.isVisible()
    assert "w.grad is zero" in panel.headline.text()
    assert "every unit of relu 'h' is inactive" in panel.details.toPlainText()
    assert "3 of 3 (100%)" in panel.details.toPlainText()
    marked = panel.overlay.marked
    assert f"target {node_id(window, 'w')}" in marked
    assert f"cause 1 {node_id(window, 'h')}" in marked
    assert sum(m.startswith("path ") for m in marked) == 5   # w-xw-h-s-total-backward
    assert "path to the root: w → xw → h → s → total → backward" in panel.details.toPlainText()


def test_the_inspector_button_asks_about_the_tensor_it_shows(why_window, qtbot):
    window = why_window
    window.scene.clearSelection()
    window.scene.node_items[node_id(window, "v")].setSelected(True)
    qtbot.mouseClick(window.inspector.why_button, Qt.LeftButton)
    panel = window.why_panel
    assert "v.grad is None" in panel.headline.text()
    assert "runs inside the no_grad region" in panel.details.toPlainText()
    assert f"cause 1 {node_id(window, 'c')}" in panel.overlay.marked


def test_a_typed_name_is_asked_and_an_unknown_one_is_said(why_window, qtbot):
    window = why_window
    window.why_ask("x")
    panel = window.why_panel
    panel.name_edit.clear()
    qtbot.keyClicks(panel.name_edit, "nope")
    qtbot.keyClick(panel.name_edit, Qt.Key_Return)
    assert "no node, output or parameter is called 'nope'" in panel.headline.text()
    assert panel.overlay.marked == []


def test_mending_the_cause_and_running_again_answers_anew(why_window, qtbot):
    window = why_window
    window.why_ask("v")
    assert "v.grad is None" in window.why_panel.headline.text()
    region = next(iter(window.doc.regions))
    window.scene.toggles.remove_no_grad(window.doc.regions[region].node_ids)
    assert window.why_panel.overlay.marked == []                 # the drawing is out of date
    qtbot.waitUntil(lambda: "v has a gradient" in window.why_panel.headline.text())
    window.undo_stack.undo()                                     # the region is back
    qtbot.waitUntil(lambda: "v.grad is None" in window.why_panel.headline.text())


def test_moving_a_node_moves_the_drawing(why_window, qtbot):
    window = why_window
    window.why_ask("w")
    h = node_id(window, "h")
    before = window.why_panel.overlay.layer.childrenBoundingRect()
    old = window.doc.nodes[h].pos
    window.editor.move_nodes({h: (old, (old[0] + 200, old[1] + 150))})
    after = window.why_panel.overlay.layer.childrenBoundingRect()
    assert after != before and "w.grad is zero" in window.why_panel.headline.text()


def test_closing_the_dock_takes_the_drawing_off(why_window):
    window = why_window
    window.why_ask("w")
    assert window.why_panel.overlay.marked
    window.why_dock.toggleViewAction().trigger()
    assert window.why_panel.overlay.marked == []


def test_screenshot(why_window, tmp_path):
    window = why_window
    window.why_ask("w")
    window.view.frame_all()
    path = tmp_path / "why.png"
    assert window.grab().save(str(path), "PNG") and path.stat().st_size > 10_000
