"""Edits that random use of the window broke (issue 17): malformed pastes, an exception inside an
undo command, references left dangling by a rename or a delete, a save the loader refuses."""
import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from gradstudio.graph import fileio
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
