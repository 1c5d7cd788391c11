"""Edits that random use of the window broke (issue 17): malformed pastes, an exception inside an
undo command, references left dangling by a rename or a delete, a save the loader refuses."""
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from gradstudio.graph import fileio, validation
from gradstudio.ui import undo_commands as cmd
from gradstudio.ui.document_editor import CLIPBOARD_FORMAT


def clipboard_text(**node):
    item = {"id": "a", "kind": "tensor", "label": "p", "pos": [0, 0], "params": {}}
    item.update(node)
    return json.dumps({"format": CLIPBOARD_FORMAT, "nodes": [item], "edges": []})


def paste_text(window, text):
    QGuiApplication.clipboard().setText(text)
    window.act_paste.trigger()


@pytest.mark.parametrize("text", [
    clipboard_text(label=5),                                  # segfault in elidedText
    clipboard_text(pos=["x", None]),
    clipboard_text(params=[]),
    clipboard_text(pos=[1e400, 0]),
    clipboard_text(pos=[float("inf"), 30]),                   # json.dumps writes Infinity
    clipboard_text(params={"shape": [100000, 100000], "init": "zeros"}),
    clipboard_text(kind="nope"),
    clipboard_text(hooks={"kind": "scale"}),
    json.dumps({"format": CLIPBOARD_FORMAT, "nodes": 3, "edges": []}),
    json.dumps({"format": CLIPBOARD_FORMAT, "nodes": [7], "edges": []}),
    "{" + CLIPBOARD_FORMAT,
])
@pytest.mark.parametrize("snap", [False, True])
def test_malformed_paste_is_refused_before_any_undo_step(window, text, snap):
    window.set_snap(snap)
    before = fileio.dumps(window.doc)
    paste_text(window, text)
    assert window.undo_stack.count() == 0            # no empty "Paste 1 node" step
    assert fileio.dumps(window.doc) == before
    assert "cannot paste" in window.messages.lines()[-1]


def test_a_good_paste_still_works_and_saves(window, tmp_path):
    paste_text(window, clipboard_text(label="p", pos=[10, 20], params={"fill_value": "nan"}))
    [node] = [n for n in window.doc.nodes.values() if n.label.startswith("p")]
    assert node.pos == (40.0, 50.0) and window.undo_stack.count() == 1
    assert window.save_to(tmp_path / "g.json")
    assert fileio.load(tmp_path / "g.json").nodes[node.id].params["fill_value"] != 0


def test_an_exception_inside_redo_is_reported_not_raised(window):
    """The guard around every undo command: a failing redo neither escapes nor leaves a step."""
    class Failing(cmd.Command):
        def redo(self):
            raise TypeError("broken on purpose")

    window.undo_stack.push(Failing("Break"))
    assert window.undo_stack.count() == 0
    assert "Break could not be done: broken on purpose" in window.messages.lines()[-1]


@pytest.mark.parametrize("line,message", [
    ("w = torch.zeros(100000, 100000)", "more than the 10,000,000"),
    ("w = torch.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1)", "is not sizes separated by commas"),
    ("w = torch.tensor(" + "[" * 9 + "1" + "]" * 9 + ")", "nested deeper than 8"),
])
def test_expressions_box_keeps_the_limits_files_have(window, qtbot, line, message):
    """Issue 17.4: the Expressions box added (and saved) values the loader then refused."""
    box = window.expression_box
    box.text.setPlainText(line)
    qtbot.mouseClick(box.add_button, Qt.LeftButton)
    assert not window.doc.nodes and window.undo_stack.count() == 0
    assert message in box.error.text() and box.error.text().startswith("line 1, column 1:")
    assert len(box.error.text()) < 250


def training_document():
    from gradstudio.graph.document import Document
    doc = Document()
    data = doc.add_node("dataset", "data", pos=(0, 0))
    w = doc.add_node("parameter", "w", pos=(0, 200))
    doc.add_node("mse_loss", "loss", pos=(400, 0))
    doc.add_node("sum", "z", pos=(400, 200))
    doc.meta["root"] = "z"
    doc.meta["training"] = {"data": "data", "loss": "loss", "prediction": "z", "frozen": ["w"]}
    assert data and w
    return doc


def open_document(window, tmp_path, doc):
    path = tmp_path / "train.json"
    fileio.save(doc, path)
    assert window.open_file(path)


@pytest.mark.parametrize("label", ["data", "loss", "z", "w"])
def test_rename_follows_every_reference_as_one_step(window, tmp_path, label):
    """Issue 17.3: renaming a node meta names left a file the loader refused."""
    open_document(window, tmp_path, training_document())
    node = window.doc.node_by_label(label)
    window.editor.rename(node.id, label + "_renamed")
    assert window.undo_stack.count() == 1
    assert window.save_to(tmp_path / "renamed.json")
    again = fileio.load(tmp_path / "renamed.json")
    assert label + "_renamed" in [ref for _, ref in validation.label_references(again.meta)]
    window.undo_stack.undo()
    assert window.doc.meta == training_document().meta


@pytest.mark.parametrize("label", ["data", "loss", "z", "w"])
def test_delete_clears_every_reference_as_one_step(window, tmp_path, label):
    """Issue 17.3: deleting the root or a node the training setup names left `meta.root: no node
    is labelled 'z'` / `training.data: no node is labelled 'data'` for the next open."""
    open_document(window, tmp_path, training_document())
    window.scene.clearSelection()
    window.scene.node_items[window.doc.node_by_label(label).id].setSelected(True)
    window.act_delete.trigger()
    assert window.undo_stack.count() == 1
    assert label not in [ref for _, ref in validation.label_references(window.doc.meta)]
    assert window.save_to(tmp_path / "deleted.json")
    fileio.load(tmp_path / "deleted.json")
    window.undo_stack.undo()
    assert window.doc.meta == training_document().meta and len(window.doc.nodes) == 4


def test_the_saver_refuses_what_the_loader_would_refuse(window, tmp_path):
    """Issue 17.3: a save must never write a file that cannot be opened again."""
    open_document(window, tmp_path, training_document())
    window.doc.meta["root"] = "nobody"            # a reference no edit could leave now
    target = tmp_path / "never.json"
    assert not window.save_to(target)
    assert not target.exists() and "would not open again" in window.messages.lines()[-1]


def test_saved_files_get_the_mode_the_umask_gives(tmp_path):
    """Issue 16.15: files came out 0600 under umask 022 (the atomic temporary file's mode)."""
    import os
    import stat
    from gradstudio.graph.document import Document
    old = os.umask(0o022)
    try:
        fileio.save(Document(), tmp_path / "new.json")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o644
        os.chmod(tmp_path / "new.json", 0o640)               # a mode the person chose stays
        fileio.save(Document(), tmp_path / "new.json")
        assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640
    finally:
        os.umask(old)


def test_examples_open_as_untitled_copies_and_save_goes_elsewhere(window, tmp_path, monkeypatch):
    """Issue 17.5 / 16.4: File > Examples then Save overwrote the shipped example (and left a
    .bak beside it)."""
    from gradstudio import EXAMPLES
    from PySide6.QtWidgets import QFileDialog

    example = EXAMPLES / "polynomial.json"
    shipped = example.read_bytes()
    listing = sorted(p.name for p in EXAMPLES.iterdir())
    [action] = [a for a in window.examples_menu.actions() if a.text() == "polynomial"]
    action.trigger()
    assert window.path is None and window.windowTitle().startswith("polynomial (example)")
    node = next(iter(window.doc.nodes.values()))
    window.editor.move_nodes({node.id: (node.pos, (node.pos[0] + 40, node.pos[1]))})
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args: (asked.append(args[2]) or str(tmp_path / "mine.json"), ""))
    window.act_save.trigger()
    assert asked == ["polynomial.json"]                       # Save went to Save As
    assert (tmp_path / "mine.json").is_file() and window.path == (tmp_path / "mine.json").resolve()
    assert not window.save_to(example)                        # and never into the examples
    assert example.read_bytes() == shipped
    assert sorted(p.name for p in EXAMPLES.iterdir()) == listing


def canvas_matches_document(window):
    return all((item.x(), item.y()) == window.doc.nodes[nid].pos
               for nid, item in window.scene.node_items.items())


def test_snap_to_grid_never_draws_a_node_elsewhere_than_the_document_says(window, qtbot):
    """Issue 17.6: with Snap to Grid on, pasted, duplicated and undeleted nodes were drawn on
    the grid while the document (and the file) kept the off-grid position."""
    node = window.editor.add_node("tensor", (13.0, 7.0))
    window.act_snap.trigger()
    assert window.scene.snap_to_grid
    assert canvas_matches_document(window)
    window.scene.node_items[node.id].setSelected(True)
    window.act_duplicate.trigger()
    paste_text(window, clipboard_text(pos=[101, 203]))
    window.scene.clearSelection()
    window.scene.node_items[node.id].setSelected(True)
    window.act_delete.trigger()
    window.undo_stack.undo()
    assert len(window.doc.nodes) == 3 and canvas_matches_document(window)
    # a drag still snaps, and the document takes the snapped position
    item = window.scene.node_items[node.id]
    view = window.view
    start = view.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=start)
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtCore import QEvent, QPointF
    end = start + type(start)(57, 33)
    move = QMouseEvent(QEvent.MouseMove, QPointF(end), view.viewport().mapToGlobal(QPointF(end)),
                       Qt.NoButton, Qt.LeftButton, Qt.NoModifier)
    QGuiApplication.sendEvent(view.viewport(), move)
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=end)
    grid = window.scene.grid_size
    x, y = window.doc.nodes[node.id].pos
    assert (x, y) != (13.0, 7.0) and x % grid == 0 and y % grid == 0
    assert canvas_matches_document(window)


def test_a_400_digit_number_in_the_training_setup_is_refused_in_one_line(window, tmp_path,
                                                                          capsys):
    """Issue 17.8: validation_split = a 400-digit integer gave an OverflowError traceback in
    `gradstudio run` (exit 1) and out of File > Open."""
    from gradstudio import cli
    raw = fileio.to_json(training_document())
    raw["meta"]["training"]["validation_split"] = 10 ** 400
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(raw))
    assert cli.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "training.validation_split: expected a number" in err and err.count("\n") == 1
    assert len(err) < 200
    assert not window.open_file(path)
    assert "training.validation_split" in window.messages.lines()[-1]


def test_a_csv_node_refuses_special_huge_and_long_files_before_reading(window, qtbot, tmp_path):
    """Issue 17.7: path /dev/zero blocked the UI 19 s and took 5.8 GiB before a MemoryError."""
    from gradstudio.graph import csv_files as catalog
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:
        f.truncate(catalog.MAX_CSV_BYTES + 1)         # sparse: no disk used
    long = tmp_path / "long.csv"
    long.write_bytes(b"1,2\n" * (catalog.MAX_CSV_ROWS + 1))
    window.runner.set_base_dir(str(tmp_path))
    for path, says in (("/dev/zero", "is not a regular file"), (str(tmp_path), "not a regular"),
                       ("huge.csv", "more than the 64 MiB"), ("long.csv", "more than 1,000,000 rows")):
        node = window.editor.add_node("csv", (0.0, 0.0), params={"path": path})
        window.run_forward()
        qtbot.waitUntil(lambda: node.id in window.runner.errors, timeout=20_000)
        assert says in window.runner.errors[node.id], window.runner.errors[node.id]
        assert window.runner.errors[node.id].count("csv:") == 1     # one prefix, run after run
        window.editor.remove([node.id])


def test_a_csv_file_is_read_off_the_ui_thread(window, qtbot, tmp_path):
    """Issue 17.7: the CSV node read its file in the UI thread; now the run waits for a worker
    thread to read it, and the window keeps handling events meanwhile."""
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n" + "".join(f"{i % 7},{i % 2}\n" for i in range(200_000)))
    window.runner.set_base_dir(str(tmp_path))
    node = window.editor.add_node("csv", (0.0, 0.0), params={"path": "rows.csv"})
    window.run_forward()
    assert window.runner.reading is not None and node.id not in window.runner.results
    assert "reading rows.csv" in window.messages.lines()[-1]
    qtbot.waitUntil(lambda: node.id in window.runner.results, timeout=30_000)
    assert window.runner.results[node.id].shape == (200_000, 1)
    window.editor.add_node("tensor", (0.0, 300.0))       # a run after an edit: no second read
    window.run_forward()
    assert window.runner.reading is None and node.id in window.runner.results


def test_every_door_into_the_document_uses_the_same_check(window):
    """Issue 17.10: one validation for file, paste, expressions and the Inspector; the editor's
    own add/set/move refuse what a file would refuse, with the same message."""
    editor = window.editor
    assert editor.add_node("tensor", (float("nan"), 0.0)) is None
    assert "is not a position" in window.messages.lines()[-1]
    assert editor.add_node("tensor", (0.0, 0.0), params={"shape": [10 ** 6, 10 ** 6]}) is None
    node = editor.add_node("tensor", (0.0, 0.0))
    assert not editor.set_param(node.id, "value", [[1, 2], [3]])
    assert "different lengths" in window.messages.lines()[-1]
    editor.move_nodes({node.id: (node.pos, (float("inf"), 0.0))})
    assert node.pos == (0.0, 0.0) and window.undo_stack.count() == 1
    assert not editor.rename(node.id, "a" * 20_000)
    assert len(window.messages.lines()[-1]) < 250
