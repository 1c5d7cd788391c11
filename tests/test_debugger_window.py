"""The debugger inside the real main window (pytest-qt): node previews and the inspector show
the tensors at the step shown (and the last run's again after Stop), the shortcut help is
made from the actions, the canvas's right-click menu holds the gradient switches, and log
hook lines read the same from a run and from the debugger."""
import re

import pytest
from PySide6.QtCore import QRectF, QSettings, QSizeF
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox

from gradstudio import EXAMPLES
from gradstudio.graph.grad_hooks import make_hook
from gradstudio.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    """leaf_and_grad_fn.json: w=[1.], x=[2.] require grad; a = w + x, b = w + 1, y = a * b."""
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    w.ask_save_changes = lambda: QMessageBox.Discard
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    assert w.open_file(EXAMPLES / "leaf_and_grad_fn.json", ask=False)
    return w


def node_id(window, label: str) -> str:
    return window.doc.node_by_label(label).id


def grad_line(window, label: str) -> str:
    """The node item's "grad ..." preview line, as drawn."""
    texts = [text for _, text, _ in window.scene.node_items[node_id(window, label)]._preview]
    return next(t for t in texts if t.startswith("grad"))


def select(window, label: str) -> None:
    window.scene.clearSelection()
    window.scene.node_items[node_id(window, label)].setSelected(True)


def test_previews_and_inspector_show_the_step_not_the_last_run(window):
    panel, inspector = window.debugger_panel, window.inspector
    assert (grad_line(window, "w"), grad_line(window, "x")) == ("grad  5.0", "grad  2.0")
    select(window, "w")
    assert inspector.grad_view.text() == "5.0"
    window.act_keep_grads.trigger()           # Keep .grad: the next run adds into .grad
    window.act_backward.trigger()             # the last run leaves w.grad 10 (accumulated)
    assert grad_line(window, "w") == "grad  10.0  (sum of 2 backward)"

    panel.act_step.trigger()                  # plans: backward has not run, .grad is None
    plan = [p.title() for p in panel.debugger.plan]
    assert plan[0] == "MulBackward0  (y)" and len(plan) == 5
    w_step = plan.index("AccumulateGrad  (w)") + 1       # the step that writes w.grad
    x_step = plan.index("AccumulateGrad  (x)") + 1
    assert (grad_line(window, "w"), grad_line(window, "x")) == ("grad  None", "grad  None")
    assert inspector.grad_view.text() == "None" and inspector.tabs.tabText(1) == "grad"
    assert inspector.tensor_box.title() == "Tensor (debugger, step 0 / 5)"
    for step in range(1, 6):
        panel.act_step.trigger()
        assert grad_line(window, "w") == ("grad  5.0" if step >= w_step else "grad  None")
        assert grad_line(window, "x") == ("grad  2.0" if step >= x_step else "grad  None")
        assert inspector.grad_view.text() == ("5.0" if step >= w_step else "None")
        if step == w_step - 1:                # both contributions in, not yet accumulated
            assert any(re.fullmatch(r"pending [23] → 5", t) for t in panel.overlay.texts())
    assert inspector.tensor_box.title() == "Tensor (debugger, step 5 / 5)"

    panel.scrubber.setValue(w_step - 1)       # scrubbing back shows the earlier .grad again
    assert grad_line(window, "w") == "grad  None" and inspector.grad_view.text() == "None"
    panel.act_step_back.trigger()
    panel.scrubber.setValue(w_step)
    assert grad_line(window, "w") == "grad  5.0"

    panel.act_stop.trigger()                  # the last run's previews come back
    assert (grad_line(window, "w"), grad_line(window, "x")) == ("grad  10.0  (sum of 2 backward)",
                                                           "grad  4.0  (sum of 2 backward)")
    assert inspector.grad_view.text() == "10.0"
    assert inspector.tensor_box.title() == "Tensor (after the last run)"
    assert panel.overlay.texts() == []


def test_a_run_during_debugging_waits_behind_the_step(window, qtbot):
    panel = window.debugger_panel
    panel.act_step.trigger()
    window.act_backward.trigger()             # the window's own run: kept, not drawn
    assert grad_line(window, "w") == "grad  None"
    window.debugger_dock.toggleViewAction().trigger()     # closing the dock stops debugging
    assert not panel.showing_step and grad_line(window, "w") == "grad  5.0"


def test_shortcut_help_lists_the_debug_keys_from_the_actions(window, qtbot):
    text = re.sub(r"<[^>]+>", " ", window.shortcuts_html())
    for keys, what in (("F10", "Step: run one backward node"), ("Shift+F10", "Step back"),
                       ("F8", "Run to the end or the next breakpoint"),
                       ("Ctrl+F8", "Play / pause"),
                       ("F9", "Breakpoint on the selected canvas node"),
                       ("Ctrl+Shift+F5", "Run forward again"), ("F5", "Run the graph forward")):
        assert re.search(rf"\b{re.escape(keys)}\s+{re.escape(what)}", text), keys
    window.debugger_panel.act_step.setShortcut(QKeySequence("F11"))
    assert re.search(r"F11\s+Step: run one backward node",
                     re.sub(r"<[^>]+>", " ", window.shortcuts_html()))
    window.act_shortcuts.trigger()
    assert "F11" in window.shortcuts_box.text()


def test_canvas_menu_sets_hooks_flags_no_grad_and_detach(window, monkeypatch):
    scene, doc, stack = window.scene, window.doc, window.undo_stack
    w, x = node_id(window, "w"), node_id(window, "x")

    def actions(scene_pos):
        menu = scene.context_menu(scene_pos)
        found = {a.text(): a for a in menu.actions()}
        for action in menu.actions():
            if action.menu() is not None:
                found.update({a.text(): a for a in action.menu().actions()})
        return found

    def centre(label):
        return scene.node_items[node_id(window, label)].sceneBoundingRect().center()

    monkeypatch.setattr("gradstudio.ui.grad_toggle_menu.QInputDialog.getDouble",
                        lambda *args, **kwargs: (3.0, True))
    actions(centre("w"))["Scale by k…"].trigger()
    assert doc.nodes[w].hooks == [make_hook("scale", k=3.0)]
    assert stack.undoText() == "Hook scale ×3 on w"
    assert "✓ scale ×3" in actions(centre("w"))

    entries = actions(centre("x"))
    assert entries["requires_grad on x"].isChecked()
    entries["requires_grad on x"].trigger()
    assert doc.nodes[x].params["requires_grad"] is False

    no_grad = actions(centre("a"))["no_grad region (a)"]
    assert not no_grad.isChecked()
    no_grad.trigger()
    assert doc.in_no_grad(node_id(window, "a"))
    assert actions(centre("a"))["no_grad region (a)"].isChecked()

    edge = next(e for e in doc.edges.values() if e.src == node_id(window, "b"))
    middle = scene.edge_items[edge.id].path().pointAtPercent(0.5)
    detach = actions(middle)["detach b → y"]
    detach.trigger()
    assert doc.edges[edge.id].detach
    for _ in range(4):
        stack.undo()
    assert not doc.edges[edge.id].detach and not doc.regions
    assert doc.nodes[x].params["requires_grad"] is True and doc.nodes[w].hooks == []


def test_log_hook_lines_read_the_same_from_a_run_and_from_the_debugger(window, qtbot):
    window.debugger_panel.toggles.add_hook(node_id(window, "w"), make_hook("log"))
    qtbot.wait(5)

    def hook_lines():
        return [line.split("  ", 1)[1] for line in window.messages.lines() if "hook on w" in line]

    before = len(hook_lines())                  # the re-run after the edit logged too
    window.act_backward.trigger()
    from_run = hook_lines()[before:]
    assert len(from_run) == 1 and from_run[0].startswith("hook on w: grad shape (1,)")
    window.debugger_panel.act_run.trigger()
    assert hook_lines()[before:] == from_run * 2    # same text, same level (no "warning: ")


def test_tags_about_a_node_never_cover_another_node(window):
    """In leaf_and_grad_fn.json x sits just under w: w's tags go over w instead."""
    panel, scene = window.debugger_panel, window.scene
    panel.act_step.trigger()
    boxes = {nid: QRectF(item.pos(), QSizeF(*item.size()))
             for nid, item in scene.node_items.items()}
    placed_above = False
    while True:
        for tag in panel.overlay.tags:
            if tag.text.startswith(("∇", "pending", "w.grad", "x.grad", "grad None")):
                covered = [n for n, box in boxes.items() if box.intersects(tag.rect)]
                assert len(covered) <= 1, (tag.text, panel.debugger.position)
                placed_above |= tag.rect.bottom() < boxes[node_id(window, "w")].top()
        if panel.debugger.at_end:
            break
        panel.act_step.trigger()
    assert placed_above
