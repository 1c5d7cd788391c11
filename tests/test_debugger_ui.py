"""The debugger dock and canvas overlay (pytest-qt): stepping through the actions and keys,
scrubbing, play, breakpoints, toggles that re-plan at once and undo, the overlay's tags,
and screenshots taken mid-animation."""
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QDockWidget, QMainWindow

from gradstudio.graph import fileio
from gradstudio.graph.grad_hooks import make_hook
from gradstudio.runtime.session import Session
from gradstudio.ui.canvas_view import GraphView
from gradstudio.ui.canvas_scene import GraphScene
from gradstudio.ui.debugger_panel import install_debugger
from gradstudio.ui.document_editor import DocumentEditor
from gradstudio.ui.message_log import MessageLog
from gradstudio.ui.theme import canvas_style
from tests.test_debugger import sqrt_graph, xw_graph

SHOTS = Path(os.environ.get("GRADSTUDIO_SHOTS", "/tmp"))
POSITIONS = {"x": (0, 0), "w": (0, 250), "a": (280, 0), "b": (280, 250), "y": (560, 120),
             "backward": (840, 120)}
SQRT_POSITIONS = {"x": (0, 0), "q": (280, 0), "m": (560, 0), "s": (840, 0),
                  "backward": (1120, 0)}


class Window(QMainWindow):
    """What `install_debugger` needs of the main window: editor, scene, runner, messages."""

    def __init__(self, doc, positions: dict | None = None) -> None:
        super().__init__()
        for node in doc.nodes.values():
            node.pos = (positions or POSITIONS).get(node.label, node.pos)
        self.doc = doc
        self.undo_stack = QUndoStack(self)
        self.editor = DocumentEditor(doc, self.undo_stack, self)
        self.scene = GraphScene(self.editor, canvas_style("light"), self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self.runner = SimpleNamespace(session=Session(doc))
        self.messages = MessageLog()
        self.messages_dock = QDockWidget("Messages", self)
        self.messages_dock.setWidget(self.messages)
        self.addDockWidget(Qt.BottomDockWidgetArea, self.messages_dock)
        self.help_menu = self.menuBar().addMenu("&Help")
        install_debugger(self)
        self.panel = self.debugger_panel
        self.panel.overlay.animate = False          # tests place the dots themselves
        self.resize(1280, 820)

    def add_menu(self, menu):
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)

    def show_message(self, text: str, level: str = "info") -> None:
        self.messages.add(text, level)

    def node(self, label: str) -> str:
        return self.doc.node_by_label(label).id

    def select(self, label: str) -> None:
        self.scene.clearSelection()
        self.scene.node_items[self.node(label)].setSelected(True)


@pytest.fixture
def window(qtbot):
    win = Window(xw_graph(a_first=True))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.view.fitInView(win.scene.items_bounding_rect().adjusted(-60, -60, 60, 90),
                       Qt.KeepAspectRatio)
    return win


def settle(qtbot):
    qtbot.wait(5)        # the restart after an edit runs on the next event-loop turn


def test_debug_menu_lists_the_actions_with_ide_shortcuts(window):
    menus = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert list(menus)[-2:] == ["&Debug", "&Help"]
    keys = {a.text(): a.shortcut().toString() for a in menus["&Debug"].actions() if a.text()}
    assert keys["Step ▶"] == "F10" and keys["◀ Back"] == "Shift+F10"
    assert keys["Run ▶▶"] == "F8" and keys["Breakpoint"] == "F9"


def test_stepping_shows_order_flows_and_accumulation(window, qtbot):
    panel, overlay = window.panel, window.panel.overlay
    qtbot.keyClick(window.view, Qt.Key_F10)                   # first F10 plans, takes no step
    assert panel.debugger.started and panel.debugger.position == 0
    assert [panel.schedule.item(i).text().split(". ", 1)[1] for i in range(4)] == [
        "MulBackward0  (y)", "AddBackward0  (b)", "AddBackward0  (a)", "AccumulateGrad  (w)"]
    assert "← seed 1" in overlay.texts()
    qtbot.keyClick(window.view, Qt.Key_F10)
    assert panel.debugger.position == 1 and panel.schedule.currentRow() == 0
    assert {"← 2", "← 3", "✓ final"} <= set(overlay.texts())
    assert "MulBackward0" in panel.details.toPlainText()
    assert "grad * other" in panel.details.toPlainText()
    panel.step()
    panel.step()
    assert "pending 3 → 5" in overlay.texts()                 # b's 3 arrived first, then a's 2
    w_item = window.scene.node_items[window.node("w")]
    assert "grad  None" in [text for _, text, _ in w_item._preview]   # not written yet
    panel.step()
    assert "w.grad None → 5" in overlay.texts() and panel.debugger.at_end
    assert "grad  5.0" in [text for _, text, _ in w_item._preview]
    assert not panel.act_step.isEnabled()
    assert "grad None" in overlay.texts()                     # x needs no grad


def test_gradient_dots_travel_backward_along_their_edges(window):
    panel = window.panel
    panel.restart()
    panel.step()                                               # y sends 2 to a and 3 to b
    (dot, path), _ = panel.overlay.dots
    panel.overlay.set_phase(0.0)
    assert dot.pos() == path.pointAtPercent(1.0)               # starts at the consumer (y)
    panel.overlay.set_phase(1.0)
    assert dot.pos() == path.pointAtPercent(0.0)               # arrives at the producer
    edge = window.scene.edge_items[panel.debugger.current.flows[0].edge_ids[0]]
    assert edge.dst.node.label == "y"


def test_scrubber_and_step_back_reshow_earlier_states(window, qtbot):
    panel = window.panel
    panel.run_to_end()
    shown_at_end = window.panel.overlay.texts()
    panel.scrubber.setValue(1)
    assert panel.debugger.position == 1 and "← 3" in panel.overlay.texts()
    qtbot.keyClick(window.view, Qt.Key_F10, Qt.ShiftModifier)
    assert panel.debugger.position == 0 and panel.position_label.text() == "step 0 / 4"
    panel.scrubber.setValue(4)
    assert panel.overlay.texts() == shown_at_end


def test_scrubber_spans_the_plan_but_stops_at_the_last_step_taken(window):
    panel = window.panel
    panel.restart()
    panel.step()
    panel.step()
    assert (panel.scrubber.maximum(), panel.scrubber.value()) == (4, 2)
    panel.scrubber.setValue(4)
    assert panel.debugger.position == 2 and panel.scrubber.value() == 2
    panel.scrubber.setValue(0)
    assert panel.debugger.position == 0 and "3 backward nodes" not in panel.details.toPlainText()
    assert "4 backward nodes planned" in panel.details.toPlainText()


def test_play_runs_to_the_end_with_the_timer(window, qtbot):
    panel = window.panel
    panel.speed.setValue(20)
    panel.act_play.trigger()
    assert panel.play_timer.isActive() and panel.act_play.text() == "Pause"
    qtbot.waitUntil(lambda: panel.debugger.at_end, timeout=3000)
    qtbot.waitUntil(lambda: not panel.play_timer.isActive(), timeout=1000)
    assert panel.act_play.text() == "Play"


def test_hook_toggle_replans_at_once_undoes_and_is_saved(window, qtbot, tmp_path):
    panel = window.panel
    panel.run_to_end()
    w = window.node("w")
    assert panel.toggles.add_hook(w, make_hook("scale", k=10.0))
    settle(qtbot)
    assert panel.debugger.position == 0                        # re-planned from the start
    assert "hook scale ×10" in panel.overlay.texts()          # shown before it fires
    panel.run_to_end()
    assert panel.session.value("w").grad.tolist() == [50.0]
    assert any("scale ×10" in t and "5 → 50" in t for t in panel.overlay.texts())
    path = tmp_path / "hooked.json"
    fileio.save(window.doc, path)
    assert fileio.load(path).nodes[w].hooks == [{"kind": "scale", "k": 10.0}]
    window.undo_stack.undo()
    settle(qtbot)
    panel.run_to_end()
    assert window.doc.nodes[w].hooks == [] and panel.session.value("w").grad.tolist() == [5.0]
    window.undo_stack.redo()
    settle(qtbot)
    panel.run_to_end()
    assert panel.session.value("w").grad.tolist() == [50.0]


def test_detach_and_no_grad_toggles_show_grads_become_none(window, qtbot):
    panel = window.panel
    panel.restart()
    b = window.node("b")
    edge = next(e for e in window.doc.edges.values() if e.src == b)
    panel.toggles.set_detach(edge.id, True)
    settle(qtbot)
    panel.run_to_end()
    assert [p.label for p in panel.debugger.plan] == ["y", "a", "w"]
    assert panel.session.value("w").grad.tolist() == [2.0]
    assert panel.overlay.texts().count("grad None") == 2          # x, and b behind the cut
    window.undo_stack.undo()
    settle(qtbot)
    assert len(panel.debugger.plan) == 4
    assert panel.toggles.add_no_grad_region([window.node("a")])
    settle(qtbot)
    panel.run_to_end()
    assert [p.label for p in panel.debugger.plan] == ["y", "b", "w"]
    assert panel.session.value("w").grad.tolist() == [3.0]
    assert panel.toggles.remove_no_grad([window.node("a")])
    settle(qtbot)
    assert not window.doc.regions and len(panel.debugger.plan) == 4
    window.undo_stack.undo()
    settle(qtbot)
    assert len(window.doc.regions) == 1 and len(panel.debugger.plan) == 3


def test_requires_grad_toggle_replans(window, qtbot):
    panel = window.panel
    panel.restart()
    panel.toggles.set_flag(window.node("x"), "requires_grad", True)
    settle(qtbot)
    assert [p.label for p in panel.debugger.plan].count("x") == 1
    window.undo_stack.undo()
    settle(qtbot)
    assert "x" not in [p.label for p in panel.debugger.plan]


def test_breakpoint_on_a_node_and_run_to_node(window, qtbot):
    panel = window.panel
    window.select("a")
    qtbot.keyClick(window.view, Qt.Key_F9)
    assert panel.breakpoint_nodes == {window.node("a")}
    panel.run_to_end()
    assert panel.debugger.current.planned.label == "a"
    assert "breakpoint on a" in panel.details.toPlainText()
    panel.restart()
    window.select("b")
    panel.act_run_to_node.trigger()
    assert panel.debugger.current.planned.label == "b"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_breakpoint_stops_at_sqrt(qtbot):
    win = Window(sqrt_graph(), SQRT_POSITIONS)
    qtbot.addWidget(win)
    win.show()
    panel = win.panel
    panel.stop_nan.setChecked(True)
    panel.run_to_end()
    assert panel.debugger.current.planned.name == "SqrtBackward0"
    text = panel.details.toPlainText()
    assert "Stopped" in text and "NaN" in text
    assert any(m for m in win.messages.toPlainText().splitlines() if "NaN gradient" in m)


def test_forward_mode_walks_nodes_in_order(window, qtbot):
    panel = window.panel
    panel.act_forward.trigger()
    assert panel.forward_mode and panel.schedule.count() == 6
    panel.step()
    panel.step()
    panel.step()
    assert panel.walk.position == 3 and "grad_fn AddBackward0" in panel.details.toPlainText()
    assert any("AddBackward0" in t for t in panel.overlay.texts())
    items = window.scene.node_items
    assert items[window.node("a")].info.data.tolist() == [3.0]    # built so far: x, w, a
    assert items[window.node("y")].info is None                     # not yet
    a_item = items[window.node("a")]
    tag = next(t for t in panel.overlay.tags if t.text.startswith("3. "))
    assert tag.rect.top() > a_item.y() + a_item.size()[1]           # under a as it is now
    panel.act_forward.trigger()
    assert not panel.forward_mode and panel.debugger.started


def test_screenshots_mid_animation(window, qtbot):
    panel = window.panel
    panel.restart()
    panel.step()
    panel.overlay.set_phase(0.45)
    SHOTS.mkdir(parents=True, exist_ok=True)
    first = SHOTS / "debugger_step1.png"
    assert window.grab().save(str(first))
    panel.step()
    panel.step()
    panel.overlay.set_phase(0.6)
    assert window.grab().save(str(SHOTS / "debugger_step3.png"))
    panel.step()
    assert window.grab().save(str(SHOTS / "debugger_end.png"))
    assert first.stat().st_size > 10_000


def test_toggles_menu_offers_the_selection_and_asks_hook_numbers(window, qtbot, monkeypatch):
    panel = window.panel
    window.select("w")
    panel._fill_toggles_menu()
    texts = [a.text() for a in panel.toggles_menu.actions()]
    assert texts[:2] == ["requires_grad on w", "retain_grad on w"]
    hooks = next(a.menu() for a in panel.toggles_menu.actions() if a.menu())
    scale = next(a for a in hooks.actions() if a.text() == "Scale by k…")
    monkeypatch.setattr("gradstudio.ui.grad_toggle_menu.QInputDialog.getDouble",
                        lambda *args, **kwargs: (4.0, True))
    scale.trigger()
    assert window.doc.nodes[window.node("w")].hooks == [{"kind": "scale", "k": 4.0}]
    assert window.undo_stack.undoText() == "Hook scale ×4 on w"
    window.select("backward")
    panel._fill_toggles_menu()
    assert not any(a.menu() for a in panel.toggles_menu.actions())   # nothing to hook there
    window.scene.clearSelection()
    window.scene.select_edge(window.scene.edge_items[next(iter(window.doc.edges))])
    panel._fill_toggles_menu()
    assert [a.text() for a in panel.toggles_menu.actions()] == ["detach w → a"]
    window.scene.clear_edge_selection()
    for label in ("a", "b"):
        window.scene.node_items[window.node(label)].setSelected(True)
    panel._fill_toggles_menu()
    assert [a.text() for a in panel.toggles_menu.actions()] == ["no_grad region (2 nodes)"]
