"""A new user adds nodes from the Expressions box and reopens files (issue 16, item 3): new
nodes land visible and apart from each other and from what was there; a file reopens
exactly as it was saved (positions are never rearranged behind the person's back)."""
import json

import pytest
from PySide6.QtCore import Qt

from gradstudio import EXAMPLES
from gradstudio.ui.canvas_view import READABLE_ZOOM
from test_newuser_runs import example_action, shot


def overlapping(window):
    items = list(window.scene.node_items.values())
    return [(a.node.label, b.node.label) for i, a in enumerate(items) for b in items[i + 1:]
            if a.sceneBoundingRect().intersects(b.sceneBoundingRect())]


def type_expressions(window, qtbot, text):
    window.expressions_dock.raise_()
    box = window.expression_box
    box.text.setFocus()
    box.text.selectAll()
    for k, line in enumerate(text.split("\n")):
        if k:
            qtbot.keyClick(box.text, Qt.Key_Return)
        qtbot.keyClicks(box.text, line)
    qtbot.keyClick(box.text, Qt.Key_Return, Qt.ControlModifier)


def test_expression_nodes_land_visible_and_apart(window, qtbot):
    w = window
    example_action(w, "basic grad").trigger()
    qtbot.wait(20)                        # the window frames the file it opened first
    before = set(w.doc.nodes)
    type_expressions(w, qtbot, "a = x*2 + y\nb = a.exp() * a")
    new = set(w.doc.nodes) - before
    assert len(new) == 4
    qtbot.waitUntil(lambda: all(n in w.runner.results for n in new))   # grown by the run
    assert overlapping(w) == []
    visible = w.view.mapToScene(w.view.viewport().rect()).boundingRect()
    for nid in new:
        assert visible.contains(w.scene.node_items[nid].sceneBoundingRect()), \
            w.doc.nodes[nid].label
    assert w.view.zoom() >= READABLE_ZOOM
    w.act_undo.trigger()                                        # still one undo step
    assert set(w.doc.nodes) == before
    w.act_redo.trigger()
    shot(w, "item3-expressions")


def test_a_saved_file_reopens_exactly_as_saved(window, qtbot, tmp_path):
    w = window
    type_expressions(w, qtbot, "z = x*y + y**2\nz.backward()")
    some = next(iter(w.scene.node_items.values()))
    # the person drags one node onto another: that is how they want it
    other = [i for i in w.scene.node_items.values() if i is not some][0]
    w.editor.move_nodes({some.node.id: (some.node.pos, (other.node.pos[0] + 20,
                                                       other.node.pos[1] + 20))})
    saved = {n.label: n.pos for n in w.doc.nodes.values()}
    path = tmp_path / "mine.json"
    assert w.save_to(path)
    w.act_new.trigger()
    assert w.open_file(path)
    assert {n.label: n.pos for n in w.doc.nodes.values()} == saved
    assert "Auto-layout" in w.messages.lines()[-1]             # said, not done


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_examples_open_as_saved_without_overlaps(window, qtbot, path):
    written = {n["label"]: tuple(n["pos"]) for n in json.loads(path.read_text())["nodes"]}
    assert window.open_file(path)
    assert {n.label: n.pos for n in window.doc.nodes.values()} == written
    assert overlapping(window) == []


def test_frame_all_stays_readable_on_a_13_node_graph(window, qtbot):
    w = window
    example_action(w, "basic grad").trigger()
    type_expressions(w, qtbot, "a = x*2 + y\nb = (a.exp() - x).sum() * a\nc = b / 2 + a")
    assert len(w.doc.nodes) >= 13
    qtbot.keyClick(w.view, Qt.Key_F)
    assert w.view.zoom() >= READABLE_ZOOM                     # texts drawn, not empty boxes
    visible = w.view.mapToScene(w.view.viewport().rect()).boundingRect()
    first = min(w.scene.node_items.values(), key=lambda i: i.x())
    assert visible.contains(first.sceneBoundingRect())         # it starts at the inputs
    shot(w, "item13-frame-all")


def test_examples_say_which_train_and_view_lists_every_dock(window):
    w = window
    texts = [a.text() for a in w.examples_menu.actions()]
    assert "xor  (trains)" in texts and "spirals  (trains)" in texts
    assert "basic grad" in texts                                  # no mark: it does not train
    view_items = [a.text() for a in w.view_menu.actions()]
    for dock in ("Nodes", "Inspector", "Messages", "Expressions", "Debugger", "Training"):
        assert dock in view_items


def test_bottom_docks_shrink_back_after_a_training_example(window, qtbot):
    w = window
    qtbot.wait(20)
    first = w.messages_dock.height()
    example_action(w, "xor").trigger()
    qtbot.waitUntil(lambda: w.training_dock.isVisible())
    qtbot.wait(20)
    assert w.training_dock.height() > 2 * first                  # training: a large dock
    example_action(w, "basic grad").trigger()
    qtbot.waitUntil(lambda: not w.training_dock.isVisible())
    qtbot.wait(20)
    w.expressions_dock.raise_()
    qtbot.wait(20)
    assert w.expressions_dock.height() < w.height() / 4           # not half the window
    shot(w, "item13-docks")


def test_open_asks_about_unsaved_changes_before_the_file_is_picked(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox
    w = window
    w.editor.add_node("tensor", (0, 0), "x")
    events = []
    w.ask_save_changes = lambda: events.append("asked") or QMessageBox.Cancel
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: events.append("picked") or ("", "")))
    qtbot.keyClick(w.view, Qt.Key_O, Qt.ControlModifier)
    assert events == ["asked"]                  # cancelled: no file dialog at all
    w.ask_save_changes = lambda: events.append("asked") or QMessageBox.Discard
    qtbot.keyClick(w.view, Qt.Key_O, Qt.ControlModifier)
    assert events == ["asked", "asked", "picked"]
