"""Building z = x*y + y**2 with the mouse and keyboard only, as a person would:
nodes from the Tab search box, values typed into inline fields, ports joined by dragging;
then backward, reading x.grad = 3 and y.grad = 8 in the inspector, and undo/redo of it all."""
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from gradstudio.graph import fileio


@pytest.fixture
def window(make_window):
    return make_window((1800, 1000))


def viewport_point(window, item, local):
    return window.view.mapFromScene(item.mapToScene(local))


def add_by_search(window, qtbot, query, x, y):
    view = window.view
    view.open_search_at(x, y)
    assert view.search_box.isVisible()
    qtbot.keyClicks(view.search_box.edit, query)
    qtbot.keyClick(view.search_box.edit, Qt.Key_Return)
    assert not view.search_box.isVisible()
    selected = window.scene.selected_node_ids()
    assert len(selected) == 1
    return window.doc.nodes[selected[0]]


def drag(window, start: QPoint, end: QPoint):
    viewport = window.view.viewport()
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, start)
    QTest.mouseMove(viewport, (start + end) / 2)
    QTest.mouseMove(viewport, end)
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, end)


def connect(window, src, src_port, dst, dst_port):
    items = window.scene.node_items
    start = window.view.mapFromScene(items[src.id].port_scene_pos(src_port, True))
    end = window.view.mapFromScene(items[dst.id].port_scene_pos(dst_port, False))
    drag(window, start, end)


def type_into_field(window, qtbot, node, param, text):
    item = window.scene.node_items[node.id]
    field = next(f for p, _, f, _, _ in item._params if p.name == param)
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window, item, field.center()))
    editor = window.scene.inline_editor
    assert editor is not None, f"no inline editor opened for {node.label}.{param}"
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key_Return)


def click_field(window, qtbot, node, param):
    item = window.scene.node_items[node.id]
    field = next(f for p, _, f, _, _ in item._params if p.name == param)
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window, item, field.center()))


def rename_by_title(window, qtbot, node, label):
    item = window.scene.node_items[node.id]
    point = viewport_point(window, item, item.title_rect().topLeft() + QPointF(30, 12))
    # what a real double-click delivers: press, release, then the double-click
    QTest.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    QTest.mouseDClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier, point)
    editor = window.scene.inline_editor
    assert editor is not None
    editor.selectAll()
    qtbot.keyClicks(editor, label)
    qtbot.keyClick(editor, Qt.Key_Return)


def select_node(window, qtbot, node):
    item = window.scene.node_items[node.id]
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, Qt.NoModifier,
                     viewport_point(window, item, item.title_rect().topLeft() + QPointF(40, 12)))
    assert window.scene.selected_node_ids() == [node.id]


def build_z(window, qtbot):
    x = add_by_search(window, qtbot, "tensor", 30, 30)
    rename_by_title(window, qtbot, x, "x")
    type_into_field(window, qtbot, x, "value", "2")
    click_field(window, qtbot, x, "requires_grad")
    y = add_by_search(window, qtbot, "tensor", 30, 330)
    rename_by_title(window, qtbot, y, "y")
    type_into_field(window, qtbot, y, "value", "3")
    click_field(window, qtbot, y, "requires_grad")
    mul = add_by_search(window, qtbot, "mul", 330, 30)
    power = add_by_search(window, qtbot, "pow", 330, 330)
    add = add_by_search(window, qtbot, "add", 630, 180)
    root = add_by_search(window, qtbot, "backward", 930, 180)
    connect(window, x, "out", mul, "input")
    connect(window, y, "out", mul, "other")
    connect(window, y, "out", power, "input")
    connect(window, mul, "out", add, "input")
    connect(window, power, "out", add, "other")
    connect(window, add, "out", root, "input")
    return x, y, mul, power, add, root


def test_build_run_backward_and_read_grads(window, qtbot):
    x, y, mul, power, add, root = build_z(window, qtbot)
    doc = window.doc
    assert (x.label, y.label) == ("x", "y")
    assert x.params["value"] == 2.0 and y.params["value"] == 3.0
    assert x.params["requires_grad"] and y.params["requires_grad"]
    assert power.params["scalar"] == 2.0
    assert {(doc.nodes[e.src].label, doc.nodes[e.dst].label, e.dst_port)
            for e in doc.edges.values()} == {
        ("x", "mul", "input"), ("y", "mul", "other"), ("y", "pow", "input"),
        ("mul", "add", "input"), ("pow", "add", "other"), ("add", "backward", "input")}

    window.act_backward.trigger()
    assert window.runner.errors == {}
    select_node(window, qtbot, x)
    assert window.inspector.grad_view.number.text() == "3.0"
    assert window.inspector.data_view.number.text() == "2.0"
    assert window.inspector.info_labels["is_leaf"].text() == "True"
    select_node(window, qtbot, y)
    assert window.inspector.grad_view.number.text() == "8.0"
    select_node(window, qtbot, add)
    assert window.inspector.data_view.number.text() == "15.0"
    assert window.inspector.info_labels["grad_fn"].text() == "AddBackward0"
    assert "MulBackward0" in window.inspector.info_labels["next_functions"].text()
    # the canvas previews say the same
    assert any("grad  8.0" in text for _, text, _ in window.scene.node_items[y.id]._preview)


def test_undo_everything_then_redo_everything(window, qtbot):
    build_z(window, qtbot)
    stack = window.undo_stack
    # 6 adds, 2 renames, 2 values, 2 requires_grad toggles, 6 connections
    assert stack.count() == 18
    built = fileio.dumps(window.doc)
    for _ in range(stack.count()):
        window.act_undo.trigger()
    assert window.doc.nodes == {} and window.doc.edges == {}
    assert window.scene.node_items == {} and window.scene.edge_items == {}
    for _ in range(stack.count()):
        window.act_redo.trigger()
    assert fileio.dumps(window.doc) == built
    assert set(window.scene.node_items) == set(window.doc.nodes)
    assert set(window.scene.edge_items) == set(window.doc.edges)


def test_cycle_is_refused_with_a_message(window, qtbot):
    x, y, mul, power, add, root = build_z(window, qtbot)
    before = fileio.dumps(window.doc)
    connect(window, add, "out", mul, "input")
    assert fileio.dumps(window.doc) == before
    assert "cycle" in window.messages.lines()[-1]
    assert "cycle" in window.statusBar().currentMessage()


def test_shape_mismatch_marks_the_node_and_the_rest_runs(window, qtbot):
    x, y, mul, power, add, root = build_z(window, qtbot)
    type_into_field(window, qtbot, x, "value", "[1, 2, 3]")
    type_into_field(window, qtbot, y, "value", "[1, 2]")
    qtbot.waitUntil(lambda: mul.id in window.runner.errors)
    message = window.runner.errors[mul.id]
    assert "(3,)" in message and "(2,)" in message
    assert window.scene.node_items[mul.id].error == message
    assert window.scene.node_items[mul.id].toolTip() == message
    assert any(message in line for line in window.messages.lines())
    assert window.runner.results[power.id].data.tolist() == [1.0, 4.0]   # the rest still runs
    select_node(window, qtbot, mul)
    assert message in window.inspector.error_label.text()


def test_bad_inline_value_is_refused(window, qtbot):
    x = add_by_search(window, qtbot, "tensor", 30, 30)
    type_into_field(window, qtbot, x, "value", "two")
    assert x.params["value"] == 0.0
    assert "'two' is not a number" in window.messages.lines()[-1]

