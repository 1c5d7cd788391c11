"""A new user runs backward (issue 16, items 1, 2 and 7): pressing F6 twice shows the same
gradients as pressing it once (a run is a fresh forward and backward, like re-running a
script); accumulation happens only while Run > Keep .grad between runs is on, and the
gradients then say how many backward passes they sum; every Backward node runs, in order,
as consecutive backward() calls; a deleted node leaves no stale gradient on screen."""
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gradstudio import EXAMPLES
from test_ui_build_graph import select_node

SHOTS = Path("/tmp/newuser")


def example_action(window, name):
    return next(a for a in window.examples_menu.actions() if a.text().startswith(name))


def grad(window, label):
    node = window.doc.node_by_label(label)
    info = window.runner.results.get(node.id)
    return None if info is None or info.grad is None else float(info.grad)


def preview_lines(window, label):
    return [text for _, text, _ in window.scene.node_items[window.doc.node_by_label(label).id]._preview]


def shot(window, name):
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / f"{name}.png"))


@pytest.fixture
def basic(window, qtbot):
    example_action(window, "basic grad").trigger()
    qtbot.waitUntil(lambda: grad(window, "x") is not None)
    return window


def test_backward_twice_shows_the_same_gradients(basic, qtbot):
    w = basic
    assert (grad(w, "x"), grad(w, "y")) == (3.0, 8.0)
    qtbot.keyClick(w.view, Qt.Key_F6)
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert (grad(w, "x"), grad(w, "y")) == (3.0, 8.0)      # README: 3 and 8, every time
    assert "sum of" not in w.status_label.text()


def test_keep_grad_switch_accumulates_and_marks_the_sum(basic, qtbot):
    w = basic
    assert not w.act_keep_grads.isChecked()
    w.act_keep_grads.trigger()                                 # the visible switch
    qtbot.keyClick(w.view, Qt.Key_F6)
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert (grad(w, "x"), grad(w, "y")) == (9.0, 24.0)         # 3 passes: the auto-run + 2
    assert any("(sum of 3 backward)" in t for t in preview_lines(w, "y"))
    badges = [text for _, text, _ in w.scene.node_items[w.doc.node_by_label("y").id]._badges]
    assert "grad ×3" in badges
    assert "sum of 3 backward passes" in w.status_label.text()
    select_node(w, qtbot, w.doc.node_by_label("y"))
    assert w.inspector.tabs.tabText(1) == "grad (sum of 3 backward passes)"
    shot(w, "item1-keep-grad")
    w.act_zero_grad.trigger()
    assert grad(w, "y") is None
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert grad(w, "y") == 8.0 and "sum of" not in w.status_label.text()
    w.act_keep_grads.trigger()                                 # off again: fresh runs
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert grad(w, "y") == 8.0


def test_every_backward_node_runs_in_order(basic, qtbot):
    w = basic
    z = w.doc.node_by_label("z")
    x = w.doc.node_by_label("x")
    first = next(n for n in w.doc.nodes.values() if n.kind == "backward")
    # a second Backward, from x * 10 (d/dx = 10), added as the user does: search, connect
    second = w.editor.add_node("backward", (900, 300), "second")
    times = w.editor.add_node("mul", (600, 300), "times10", {"scalar": 10.0})
    w.editor.connect_ports(x.id, "out", times.id, "input")
    w.editor.connect_ports(times.id, "out", second.id, "input")
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert w.runner.errors == {}
    assert grad(w, "x") == 3.0 + 10.0                          # both backward() calls
    assert grad(w, "y") == 8.0
    assert "sum of 2 backward passes" in w.status_label.text()
    assert set(w.runner.session.root_ids()) == {first.id, second.id}
    # two roots through the same graph: the second needs retain_graph on the first, as in
    # PyTorch; the error says so on the second root
    w.editor.remove([times.id])
    w.editor.connect_ports(z.id, "out", second.id, "input")
    qtbot.keyClick(w.view, Qt.Key_F6)
    roots = w.runner.session.root_ids()
    later = w.doc.nodes[roots[1]]
    assert "retain_graph" in w.runner.errors[later.id]
    assert w.doc.nodes[roots[0]].label in w.runner.errors[later.id]
    w.editor.set_param(roots[0], "retain_graph", True)
    qtbot.keyClick(w.view, Qt.Key_F6)
    assert w.runner.errors == {}
    assert (grad(w, "x"), grad(w, "y")) == (6.0, 16.0)
    shot(w, "item2-two-roots")


def test_deleting_a_node_leaves_no_stale_gradient(basic, qtbot):
    w = basic
    select_node(w, qtbot, w.doc.node_by_label("x"))
    qtbot.keyClick(w.view, Qt.Key_Delete)
    qtbot.waitUntil(lambda: w.doc.node_by_label("x") is None)
    qtbot.waitUntil(lambda: grad(w, "y") is None)              # backward could not run
    assert not any(t.startswith("grad  8") for t in preview_lines(w, "y"))
    shot(w, "item7-deleted-x")


def test_an_exported_script_calls_backward_once_per_root(basic, qtbot):
    from gradstudio.runtime.export import export_script
    w = basic
    x = w.doc.node_by_label("x")
    second = w.editor.add_node("backward", (900, 300), "second")
    times = w.editor.add_node("mul", (600, 300), "times10", {"scalar": 10.0})
    w.editor.connect_ports(x.id, "out", times.id, "input")
    w.editor.connect_ports(times.id, "out", second.id, "input")
    script = export_script(w.doc)
    assert script.count(".backward(") == 2
    namespace = {}
    exec(compile(script.replace("import torch", "import engine as torch"), "<export>", "exec"),
         namespace)
    leaves = [v for v in namespace.values() if getattr(v, "is_leaf", False)]
    grads = [float(v.grad) for v in leaves if v.grad is not None]
    assert sorted(grads) == [8.0, 13.0]                     # y: 8, x: 3 + 10, as in the window


def test_the_debugger_says_which_of_several_roots_it_steps(basic, qtbot):
    w = basic
    x = w.doc.node_by_label("x")
    second = w.editor.add_node("backward", (900, 300), "second")
    times = w.editor.add_node("mul", (600, 300), "times10", {"scalar": 10.0})
    w.editor.connect_ports(x.id, "out", times.id, "input")
    w.editor.connect_ports(times.id, "out", second.id, "input")
    w.debugger_dock.show()
    qtbot.keyClick(w.view, Qt.Key_F10)                         # plans the backward
    line = w.messages.lines()[-1]
    assert "first of 2 roots" in line and "'second'" in line
