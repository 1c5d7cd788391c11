"""A new user types bad values (issue 16, item 10): the message shows at the field, not only
in the status bar, says what is wrong in the person's words and gives an example of what is
accepted; the typed text stays to be corrected."""
from PySide6.QtCore import Qt

from test_newuser_runs import shot
from test_ui_build_graph import add_by_search, select_node, type_into_field


def test_a_bad_inline_value_is_explained_under_the_field(window, qtbot):
    w = window
    x = add_by_search(w, qtbot, "tensor", 60, 60)
    type_into_field(w, qtbot, x, "value", "abc")
    editor, note = w.scene.inline_editor, w.scene.field_note
    assert editor is not None and editor.isVisible() and editor.text() == "abc"   # to correct
    assert note is not None and note.isVisible()
    assert note.text().startswith("value: 'abc' is not a number or a nested list of numbers")
    assert "such as 2.5 or [[1, 2], [3, 4]]" in note.text()           # an accepted example
    assert "tensor_value" not in note.text()
    under = note.geometry()
    assert under.top() >= editor.geometry().bottom() and under.left() <= editor.geometry().right()
    assert x.params["value"] == 0.0
    shot(w, "item10-inline")
    editor.selectAll()
    qtbot.keyClicks(editor, "[1, 2]")
    assert not note.isVisible()                  # typing again clears it
    qtbot.keyClick(editor, Qt.Key_Return)
    assert x.params["value"] == [1, 2] and not editor.isVisible()


def test_a_bad_shape_in_the_inspector_is_explained_under_the_field(window, qtbot):
    w = window
    p = add_by_search(w, qtbot, "parameter", 60, 60)
    select_node(w, qtbot, p)
    qtbot.waitUntil(lambda: w.inspector.param_widgets["shape"].isVisible())
    edit = w.inspector.param_widgets["shape"]
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "100000, 100000")
    qtbot.keyClick(edit, Qt.Key_Return)
    note = w.inspector.field_note
    assert note.isVisible() and "shape" in note.text() and "elements" in note.text()
    assert "such as 1000, 1000" in note.text()                      # an accepted example
    assert edit.text() == "100000, 100000"
    body_edit = edit.mapTo(w.inspector.widget(), edit.rect().bottomLeft())
    assert note.y() >= body_edit.y()
    shot(w, "item10-inspector")
    edit.selectAll()
    qtbot.keyClicks(edit, "2, 3")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert p.params["shape"] == [2, 3] and not note.isVisible()
