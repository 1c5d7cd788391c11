"""How the window runs the graph: edits re-run it, Backward starts fresh unless Keep .grad is
on (then .grad adds up as in the engine), an edit shows fresh gradients, Zero grad clears
them, errors mark nodes."""
import pytest



@pytest.fixture
def window(window):
    """The shared window holding x -> pow -> backward."""
    w = window
    ed = w.editor
    w.x = ed.add_node("tensor", (0, 0), "x", {"value": 2.0, "requires_grad": True})
    w.sq = ed.add_node("pow", (300, 0), "sq")
    w.root = ed.add_node("backward", (600, 0), "root")
    ed.connect_ports(w.x.id, "out", w.sq.id, "input")
    ed.connect_ports(w.sq.id, "out", w.root.id, "input")
    return w


def grad(window, node):
    info = window.runner.results.get(node.id)
    return None if info is None or info.grad is None else float(info.grad)


def test_edits_run_forward_by_themselves(window, qtbot):
    qtbot.waitUntil(lambda: window.sq.id in window.runner.results)
    assert float(window.runner.results[window.sq.id].data) == 4.0
    assert grad(window, window.x) is None          # no backward until asked
    window.editor.set_param(window.x.id, "value", 3.0)
    qtbot.waitUntil(lambda: float(window.runner.results[window.sq.id].data) == 9.0)
    assert grad(window, window.x) is None


def test_backward_accumulates_only_when_kept_and_an_edit_shows_fresh_gradients(window, qtbot):
    window.act_backward.trigger()
    assert grad(window, window.x) == 4.0
    window.act_backward.trigger()                  # a run starts fresh, as a script re-run
    assert grad(window, window.x) == 4.0
    window.act_keep_grads.trigger()
    window.act_backward.trigger()                  # kept: as in the engine, .grad adds up
    assert grad(window, window.x) == 8.0
    window.editor.set_param(window.sq.id, "scalar", 3.0)
    qtbot.waitUntil(lambda: grad(window, window.x) == 12.0)   # d(x**3)/dx at 2, not a sum
    window.act_zero_grad.trigger()
    assert grad(window, window.x) is None
    assert "grad" not in [text for _, text, _ in window.scene.node_items[window.x.id]._badges]


def test_a_failing_node_is_marked_and_the_rest_still_runs(window, qtbot):
    other = window.editor.add_node("tensor", (0, 300), "v", {"value": [1.0, 2.0]})
    bad = window.editor.add_node("matmul", (300, 300), "mm")
    window.editor.connect_ports(other.id, "out", bad.id, "input")
    window.editor.connect_ports(window.x.id, "out", bad.id, "other")
    window.act_backward.trigger()
    assert bad.id in window.runner.errors
    assert window.scene.node_items[bad.id].error == window.runner.errors[bad.id]
    assert grad(window, window.x) == 4.0
    assert "1 error" in window.status_label.text()


def test_missing_root_is_a_message_not_a_crash(window):
    window.editor.remove([window.root.id])
    window.act_backward.trigger()
    assert "nothing to run backward from" in window.messages.lines()[-1]
    assert float(window.runner.results[window.sq.id].data) == 4.0
