"""A new user reads the Inspector (issue 16, item 12): a one-element shape reads (1,) on the
canvas and in the Inspector alike, next_functions is shown whole, and a .grad that is None
says None and why, instead of a "grad (none)" tab over a large dash."""
from test_newuser_runs import shot
from test_ui_build_graph import add_by_search, select_node, type_into_field


def test_shape_next_functions_and_a_none_grad_read_as_python_writes_them(window, qtbot):
    w = window
    x = add_by_search(w, qtbot, "tensor", 60, 60)
    type_into_field(w, qtbot, x, "value", "[2.0]")
    qtbot.waitUntil(lambda: x.id in w.runner.results)
    select_node(w, qtbot, x)
    assert w.inspector.info_labels["shape"].text() == "(1,)"
    item = w.scene.node_items[x.id]
    assert any(text.startswith("shape (1,)") for _, text, _ in item._preview)
    # x does not require grad: the grad tab says None and why, not a dash
    assert w.inspector.tabs.tabText(1) == "grad"
    w.inspector.tabs.setCurrentIndex(1)
    assert w.inspector.grad_view.text() == "None"
    assert "does not require grad" in w.inspector.grad_view.caption.text()

    # a Linear layer's output: AddmmBackward0 has three next_functions, all of them readable
    type_into_field(w, qtbot, x, "value", "[[2.0, 3.0]]")
    lin = add_by_search(w, qtbot, "Linear", 400, 60)
    w.editor.set_param(lin.id, "in_features", 2)
    w.editor.connect_ports(x.id, "out", lin.id, "input")
    qtbot.waitUntil(lambda: lin.id in w.runner.results and lin.id not in w.runner.errors)
    select_node(w, qtbot, lin)
    label = w.inspector.info_labels["next_functions"]
    names = label.text().split(", ")
    assert len(names) == len(w.runner.results[lin.id].next_functions) >= 2
    qtbot.wait(50)
    assert label.height() >= label.heightForWidth(label.width())      # nothing cut off
    assert w.inspector.horizontalScrollBar().maximum() == 0          # nothing off the side
    assert "AccumulateGrad" in names and "None" in names
    w.inspector.tabs.setCurrentIndex(1)
    shot(w, "item12-inspector")
