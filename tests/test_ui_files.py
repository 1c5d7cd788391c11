"""Files through the window: save/load round trip, refusing a bad file without losing the
current graph, the unsaved-changes star and prompt, recent files, examples, drag-and-drop,
the default example already run, themes kept in settings, and `gradstudio shot`."""
import argparse
import subprocess
import sys

import pytest
from PySide6.QtCore import QMimeData, QPoint, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QMessageBox

from gradstudio import EXAMPLES
from gradstudio.cli import UsageError
from gradstudio.graph import fileio
from gradstudio.ui.main_window import MainWindow


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    w = MainWindow(settings)
    w.ask_save_changes = lambda: QMessageBox.Discard
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def build(window):
    ed = window.editor
    x = ed.add_node("tensor", (0, 0), "x", {"value": [[1.0, 2.0], [3.0, 4.0]],
                                             "requires_grad": True})
    s = ed.add_node("sum", (400, 0))
    root = ed.add_node("backward", (800, 0))
    ed.connect_ports(x.id, "out", s.id, "input")
    ed.connect_ports(s.id, "out", root.id, "input")
    return x


def test_save_then_open_gives_the_same_document(window, tmp_path):
    build(window)
    assert window.isWindowModified()
    path = tmp_path / "graph.json"
    assert window.save_to(path)
    assert not window.isWindowModified()
    assert window.windowTitle().startswith("graph.json")
    saved = fileio.dumps(window.doc)
    window.new_document()
    assert not window.doc.nodes
    assert window.open_file(path)
    assert fileio.dumps(window.doc) == saved
    assert not window.isWindowModified()
    assert window.recent_files()[0] == str(path.resolve())
    assert [a.text() for a in window.recent_menu.actions()][0] == str(path.resolve())
    path.unlink()                                   # a recent file that is gone ...
    window.recent_menu.actions()[0].trigger()
    assert fileio.dumps(window.doc) == saved        # ... changes nothing and leaves the list
    assert str(path.resolve()) not in window.recent_files()
    window.last_error_box.close()


def test_a_bad_file_is_refused_and_the_graph_stays(window, tmp_path):
    build(window)
    before = fileio.dumps(window.doc)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "gradstudio-graph", "version": 1, "nodes": [{"kind": "nope"}]}')
    assert not window.open_file(bad)
    assert fileio.dumps(window.doc) == before
    assert "Cannot open bad.json" in window.messages.lines()[-1]
    assert window.last_error_box.isVisible()
    window.last_error_box.close()
    assert not window.open_file(tmp_path / "missing.json")
    assert fileio.dumps(window.doc) == before
    window.last_error_box.close()


def test_closing_with_changes_asks_and_cancel_keeps_the_window(window, qtbot):
    build(window)
    asked = []
    window.ask_save_changes = lambda: asked.append(1) or QMessageBox.Cancel
    assert not window.close()
    assert asked and window.isVisible()
    window.ask_save_changes = lambda: QMessageBox.Discard
    assert window.close()


def test_default_example_opens_already_run(window):
    window.open_default()
    x = window.doc.node_by_label("x")
    assert x is not None
    info = window.runner.results[x.id]
    assert info.grad is not None            # the first view shows gradients
    assert not window.isWindowModified()
    assert window.path is None and window.windowTitle().startswith("basic_grad (example)")
    examples = [a.text() for a in window.examples_menu.actions()]
    assert "basic grad" in examples and len(examples) == len(list(EXAMPLES.glob("*.json")))


def test_dropping_a_json_file_opens_it(window, tmp_path):
    build(window)
    path = tmp_path / "dropped.json"
    fileio.save(window.doc, path)
    window.new_document()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert window.path == path.resolve()
    assert len(window.doc.nodes) == 3


def test_dropping_a_library_entry_on_the_canvas_adds_that_node(window):
    from PySide6.QtCore import QPointF

    from gradstudio.ui.canvas_view import KIND_MIME

    mime = window.library.tree.mimeData([window.library.entries["relu"]])
    assert bytes(mime.data(KIND_MIME)).decode() == "relu"
    where = QPoint(200, 150)
    window.view.dropEvent(QDropEvent(QPointF(where), Qt.CopyAction, mime, Qt.LeftButton,
                                     Qt.NoModifier))
    (node,) = window.doc.nodes.values()
    assert node.kind == "relu"
    scene_pos = window.view.mapToScene(where)
    assert node.pos == pytest.approx((scene_pos.x(), scene_pos.y()))


def test_run_results_reach_the_inspector_table_and_heatmap(window):
    x = build(window)
    window.act_backward.trigger()
    window.scene.node_items[x.id].setSelected(True)
    grad = window.inspector.grad_view
    assert grad.stack.currentWidget() is grad.table
    assert grad.model.rowCount() == 2 and grad.model.columnCount() == 2
    assert grad.model.data(grad.model.index(1, 1)) == "1.0"
    grad.heatmap_toggle.setChecked(True)
    assert grad.stack.currentWidget() is grad.plot
    assert grad.image.image.shape == (2, 2)


def test_theme_is_kept_in_settings(window, settings, qtbot):
    window.set_theme("dark")
    assert window.scene.style.name == "dark"
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.theme == "dark" and again.scene.style.name == "dark"
    again.set_theme("light")


def test_cuda_choice_is_disabled_with_its_reason_when_unavailable(window):
    available, reason = window.runner.devices()["cuda"]
    item = window.device_combo.model().item(1)
    assert item.isEnabled() == available
    if not available:
        assert reason and item.toolTip() == reason
        assert window.device_actions["cuda"].toolTip() == reason


def test_exception_hook_logs_and_shows_a_box(qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from gradstudio.ui import app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    app.install_exception_hook()
    logged = []
    monkeypatch.setattr(app.log, "error", lambda *args: logged.append(args))
    try:
        raise RuntimeError("slot went wrong")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert "RuntimeError: slot went wrong" in logged[0][1]
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)
             and w.isVisible() and "slot went wrong" in w.text()]
    assert len(boxes) == 1
    assert "Traceback" in boxes[0].detailedText()
    boxes[0].close()


def test_shot_writes_a_png_of_the_requested_size(tmp_path):
    from gradstudio.commands import shot

    out = tmp_path / "shot.png"
    args = argparse.Namespace(file=str(EXAMPLES / "basic_grad.json"), output=str(out),
                              size="900x600")
    assert shot.main(args) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (900, 600)


def test_shot_runs_the_file_once(qtbot, settings):
    from gradstudio.commands import shot

    window = shot.loaded_window(EXAMPLES / "basic_grad.json", 800, 600, settings)
    qtbot.addWidget(window)
    x = window.doc.node_by_label("x")
    assert float(window.runner.results[x.id].grad) == 3.0      # not 6: backward ran once


def test_shot_refuses_a_bad_file_in_one_line(tmp_path):
    from gradstudio.commands import shot

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="cannot open"):
        shot.main(argparse.Namespace(file=str(bad), output=str(tmp_path / "o.png"),
                                     size="800x600"))
    with pytest.raises(UsageError, match="--size"):
        shot.main(argparse.Namespace(file=str(bad), output=str(tmp_path / "o.png"),
                                     size="big"))
    result = subprocess.run([sys.executable, "-m", "gradstudio", "shot", str(bad), "-o",
                             str(tmp_path / "o.png")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_inspector_shows_a_layers_weight_and_bias_grads(window):
    ed = window.editor
    x = ed.add_node("tensor", (0, 0), "x", {"init": "randn", "shape": [4, 2]})
    layer = ed.add_node("nn.Linear", (300, 0), "layer", {"out_features": 3})
    total = ed.add_node("sum", (600, 0))
    root = ed.add_node("backward", (900, 0))
    ed.connect_ports(x.id, "out", layer.id, "input")
    ed.connect_ports(layer.id, "out", total.id, "input")
    ed.connect_ports(total.id, "out", root.id, "input")
    window.act_backward.trigger()
    window.scene.node_items[layer.id].setSelected(True)
    inspector = window.inspector
    choices = [inspector.tensor_choice.itemText(i) for i in range(inspector.tensor_choice.count())]
    assert choices == ["out", "weight", "bias"] and inspector.tensor_choice.isVisible()
    assert inspector.info_labels["grad_fn"].text() == "AddmmBackward0"
    inspector.tensor_choice.setCurrentText("weight")
    assert inspector.info_labels["shape"].text() == "(3, 2)"
    assert inspector.info_labels["is_leaf"].text() == "True"
    assert inspector.grad_view.model.rowCount() == 3     # d(sum)/dW: every row is x summed
    inspector.tensor_choice.setCurrentText("bias")
    assert inspector.grad_view.text() == "[4. 4. 4.]"


def test_headless_close_with_changes_does_not_wait_for_an_answer(qtbot, settings):
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.platformName() != "offscreen":
        pytest.skip("with a display the window asks, and waits for an answer")
    window = MainWindow(settings)        # ask_save_changes left as it is
    qtbot.addWidget(window)
    window.show()
    build(window)
    assert window.close()
    assert "unsaved changes discarded" in window.messages.lines()[-1]


def test_changing_init_in_the_inspector_rebuilds_its_fields_safely(window, qtbot):
    x = build(window)
    window.scene.node_items[x.id].setSelected(True)
    combo = window.inspector.param_widgets["init"]
    combo.activated.emit(combo.findText("zeros"))         # as a person choosing "zeros"
    qtbot.wait(10)
    assert x.params["init"] == "zeros"
    assert "shape" in window.inspector.param_widgets and "value" not in window.inspector.param_widgets
    window.inspector.param_widgets["shape"].setText("3, 1")
    window.inspector.param_widgets["shape"].editingFinished.emit()
    assert x.params["shape"] == [3, 1]
