"""A new user builds a graph (issue 16, items 8, 9 and 11): a new op that is not wired yet is
work in progress, not an error; the status bar forgets "release to connect" once connected;
the toolbar's buttons stay where they are whatever the Undo text says; a connection between
incompatible ports is refused with the reason."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

from test_newuser_runs import shot
from test_ui_build_graph import add_by_search, connect, select_node, type_into_field


def test_an_unwired_op_waits_quietly_and_connecting_clears_the_hint(window, qtbot):
    w = window
    x = add_by_search(w, qtbot, "tensor", 60, 60)
    type_into_field(w, qtbot, x, "value", "2")
    power = add_by_search(w, qtbot, "pow", 400, 60)
    root = add_by_search(w, qtbot, "backward", 700, 60)
    qtbot.waitUntil(lambda: power.id in w.runner.waiting)
    item = w.scene.node_items[power.id]
    assert item.error is None and "error" not in [t for _, t, _ in item._badges]
    assert any("waiting for input 'input'" in t for _, t, _ in item._preview)
    assert w.runner.errors == {}
    assert not any("error" in line for line in w.messages.lines())
    assert "error" not in w.status_label.text()
    select_node(w, qtbot, power)                               # the Inspector says it calmly
    assert w.inspector.error_label.text() == \
        "Waiting for input 'input': connect it to run this node."
    assert "Error" not in w.inspector.error_label.text()
    shot(w, "item9-waiting")
    connect(w, x, "out", power, "input")
    connect(w, power, "out", root, "input")
    qtbot.waitUntil(lambda: power.id in w.runner.results)
    assert w.runner.waiting == {} and w.scene.node_items[power.id].waiting is None
    assert "release to connect" not in w.statusBar().currentMessage()
    # F6 on a root still being wired says why nothing ran
    w.editor.remove([], [e.id for e in w.doc.edges.values() if e.dst == root.id])
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert "backward cannot run from 'backward' yet" in w.messages.lines()[-1]


def toolbar_button(window, action):
    bar = window.findChild(QToolBar, "main toolbar")
    return bar.widgetForAction(action)


def test_toolbar_buttons_stay_put_as_the_undo_text_changes(window, qtbot):
    w = window
    backward = toolbar_button(w, w.act_backward)
    before = backward.mapTo(w, backward.rect().topLeft())
    x = add_by_search(w, qtbot, "tensor", 60, 60)
    # the long edit name: "Add Backward and connect"
    w.view.open_search_to_link(w.view.mapToScene(500, 300), x.id, "out", True)
    qtbot.keyClicks(w.view.search_box.edit, "backward")
    qtbot.keyClick(w.view.search_box.edit, Qt.Key_Return)
    assert "Add Backward and connect" in w.undo_stack.undoText() or w.undo_stack.count() == 2
    qtbot.wait(10)
    assert backward.mapTo(w, backward.rect().topLeft()) == before
    undo = toolbar_button(w, w.act_undo_button)
    assert undo.text() == "Undo" and undo.isEnabled()
    assert w.undo_stack.undoText() in undo.toolTip()
    qtbot.mouseClick(undo, Qt.LeftButton)                     # the button still undoes
    assert w.undo_stack.index() == 1
    shot(w, "item8-toolbar")


def test_a_dataset_output_is_refused_as_an_exponent_with_the_reason(window, qtbot):
    w = window
    data = add_by_search(w, qtbot, "dataset", 60, 60)
    x = add_by_search(w, qtbot, "tensor", 60, 400)
    power = add_by_search(w, qtbot, "pow", 420, 200)
    connect(w, data, "x", power, "exponent")                  # dragged as the user did
    assert not any(e.dst == power.id for e in w.doc.edges.values())
    assert "an exponent is a number or a tensor of exponents" in w.messages.lines()[-1]
    assert "dataset.x" in w.messages.lines()[-1]
    connect(w, x, "out", power, "input")                      # a tensor is fine
    connect(w, data, "x", power, "input")                     # samples as the base: fine
    assert [(w.doc.nodes[e.src].label, e.dst_port) for e in w.doc.edges.values()] \
        == [("dataset", "input")]
    root = add_by_search(w, qtbot, "backward", 700, 200)
    connect(w, data, "y", root, "input")
    assert "never do" in w.messages.lines()[-1]
    shot(w, "item11-refused")
