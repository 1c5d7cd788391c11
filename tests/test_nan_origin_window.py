"""Anomaly mode in the real window (pytest-qt): when it stops, the Inspector shows the offending
op's inputs with the values that made the NaN/Inf in red, and says them in words."""
import pytest
from PySide6.QtCore import Qt


@pytest.fixture(autouse=True)
def anomaly_mode_off_afterwards():
    """Anomaly mode is the engine's thread-wide switch: later tests must not inherit it."""
    yield
    import engine
    engine.autograd.set_detect_anomaly(False)


def chain(window, value, *kinds):
    """x = tensor(value, requires_grad) -> kinds -> sum -> backward, built as a person would."""
    ed = window.editor
    ids = [ed.add_node("tensor", (0, 0), "x", {"value": value, "requires_grad": True}).id]
    for k, kind in enumerate(kinds + ("sum", "backward")):
        ids.append(ed.add_node(kind, (220 * (k + 1), 0)).id)
        ed.connect_ports(ids[-2], "out", ids[-1], "input")
    return ids


def test_a_forward_nan_shows_the_negative_input_of_log_in_red(window, qtbot):
    x, log, total, root = chain(window, [0.5, -0.3, 2.0], "log")
    window.act_detect_anomaly.setChecked(True)
    qtbot.keyClick(window, Qt.Key_F6)                       # Run > Backward
    view = window.nan_origin_view
    assert window.inspector.node_id == log and view.isVisible()
    assert "log of -0.3 = nan" in view.summary.text()
    assert view.bad_cells("input") == ["-0.3"]
    assert view.bad_cells("output") == ["nan"]
    window.scene.clearSelection()
    window.scene.node_items[x].setSelected(True)            # another node: the box goes
    assert not view.isVisible()
    window.scene.clearSelection()
    window.scene.node_items[log].setSelected(True)
    assert view.isVisible()


def test_a_backward_inf_shows_sqrt_at_zero(window):
    x, sqrt, total, root = chain(window, [0.0, 4.0], "sqrt")
    window.act_detect_anomaly.setChecked(True)
    window.act_backward.trigger()
    view = window.nan_origin_view
    assert window.inspector.node_id == sqrt and view.isVisible()
    assert "made Inf in the backward" in view.summary.text()
    assert "∂sqrt/∂input at input = 0: upstream 1 → inf" in view.summary.text()
    assert view.bad_cells("input") == ["0"]
    assert view.bad_cells("gradient passed on") == ["inf"]
    assert "anomaly: the backward (SqrtBackward0)" in window.runner.errors[sqrt]


def test_a_clean_run_clears_the_box(window):
    x, log, total, root = chain(window, [-1.0, 1.0], "log")
    window.act_detect_anomaly.setChecked(True)
    window.act_backward.trigger()
    assert window.nan_origin_view.origin is not None
    window.inspector.show_node(x)
    window.editor.set_param(x, "value", [1.0, 2.0])
    window.act_backward.trigger()
    assert window.nan_origin_view.origin is None and not window.nan_origin_view.isVisible()
