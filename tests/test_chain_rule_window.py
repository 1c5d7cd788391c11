"""The chain rule with numbers in the Debugger dock of the real window (pytest-qt): stepping
shows each edge's local derivative × upstream = product and the merge at w; clicking an edge
on the canvas shows what crossed it; a large gradient comes with a heatmap."""
from PySide6.QtCore import Qt

from gradstudio import EXAMPLES


def open_debugger(window, example):
    assert window.open_file(EXAMPLES / example, ask=False)
    window.debugger_panel.act_restart.trigger()
    return window.debugger_panel


def test_stepping_shows_the_chain_rule_and_the_merge(window, qtbot):
    panel = open_debugger(window, "leaf_and_grad_fn.json")
    qtbot.keyClick(window, Qt.Key_F10)
    text = panel.details.toPlainText()
    assert "∂y/∂a = 2 × upstream 1 = 2" in text and "∂y/∂b = 3 × upstream 1 = 3" in text
    qtbot.keyClick(window, Qt.Key_F10)
    qtbot.keyClick(window, Qt.Key_F10)
    assert "merge w: 3 from b + 2 from a = 5" in panel.details.toPlainText()


def test_clicking_an_edge_shows_what_crossed_it(window, qtbot):
    panel = open_debugger(window, "leaf_and_grad_fn.json")
    doc = window.doc
    a, y = doc.node_by_label("a").id, doc.node_by_label("y").id
    edge = next(e for e in doc.edges_into(y) if e.src == a)
    window.view.frame_all()
    item = window.scene.edge_items[edge.id]
    spot = window.view.mapFromScene(item.path().pointAtPercent(0.5))
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=spot)
    assert window.scene.selected_edge_ids() == [edge.id]
    assert "No gradient has crossed this edge yet" in panel.details.toPlainText()
    panel.act_step.trigger()
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=spot)   # deselect
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=spot)   # select again
    text = panel.details.toPlainText()
    assert "Edge a → y" in text and "∂y/∂a = 2 × upstream 1 = 2" in text
    window.scene.clear_edge_selection()
    assert "Edge a → y" not in panel.details.toPlainText()


def test_a_large_gradient_is_drawn_as_a_heatmap(window, qtbot):
    panel = open_debugger(window, "xor.json")
    panel.act_step.trigger()
    assert "(200, 1)" in panel.details.toPlainText()
    assert "heat://" in panel.details.toHtml()
