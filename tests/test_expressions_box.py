"""The expression box: typed lines become nodes and edges in one undo step."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from gradstudio.graph.document import Document
from gradstudio.runtime.session import Session
from gradstudio.ui.document_editor import DocumentEditor
from gradstudio.ui.expression_box import ExpressionBox


def make_box(qtbot, doc: Document | None = None) -> ExpressionBox:
    doc = doc or Document()
    editor = DocumentEditor(doc, QUndoStack())
    box = ExpressionBox(editor)
    qtbot.addWidget(box)
    return box


def test_add_to_graph_is_one_undo_step_and_the_graph_runs(qtbot):
    box = make_box(qtbot)
    doc, stack = box.editor.doc, box.editor.stack
    box.text.setPlainText("z = x*y + y**2\nz.backward()")
    with qtbot.waitSignal(box.added) as added, qtbot.waitSignal(box.message) as message:
        qtbot.mouseClick(box.add_button, Qt.LeftButton)
    assert len(added.args[0]) == 6 and len(doc.edges) == 6
    assert "fill in the values of x, y" in message.args[0]
    assert stack.count() == 1
    box.editor.set_param(doc.node_by_label("x").id, "value", 2.0)
    box.editor.set_param(doc.node_by_label("y").id, "value", 3.0)
    assert stack.count() == 3
    session = Session(doc)
    assert session.run(), session.errors
    assert session.info("x").grad == 3.0 and session.info("y").grad == 8.0
    stack.undo()
    stack.undo()
    stack.undo()            # the two value edits, then the whole expression
    assert doc.nodes == {} and doc.edges == {}
    stack.redo()
    assert len(doc.nodes) == 6 and len(doc.edges) == 6


def test_new_lines_use_existing_labels_and_go_right_of_the_graph(qtbot):
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": 2.0, "requires_grad": True}, pos=(100.0, 40.0))
    box = make_box(qtbot, doc)
    box.text.setPlainText("y = x.exp()")
    new_ids = box.add_to_graph()
    assert len(new_ids) == 1
    y = doc.nodes[new_ids[0]]
    assert y.label == "y" and y.pos[0] > x.pos[0]
    assert [(e.src, e.dst) for e in doc.edges.values()] == [(x.id, y.id)]


def test_an_error_shows_one_line_and_puts_the_cursor_on_its_column(qtbot):
    box = make_box(qtbot)
    box.show()
    box.text.setPlainText("a = x * 2\nb = a < 3")
    assert box.add_to_graph() == []
    assert box.error.isVisible()
    assert box.error.text() == "line 2, column 5: comparisons are not supported"
    cursor = box.text.textCursor()
    assert cursor.blockNumber() == 1 and cursor.positionInBlock() == 4
    assert box.editor.doc.nodes == {} and box.editor.stack.count() == 0
    box.text.setPlainText("a = x * 2")
    assert len(box.add_to_graph()) == 2 and not box.error.isVisible()


def test_a_refused_edge_changes_nothing(qtbot):
    doc = Document()
    doc.add_node("dataset", "data")          # has outputs x and y, not "out"
    box = make_box(qtbot, doc)
    box.text.setPlainText("z = data * 2")
    assert box.add_to_graph() == []
    assert "no output 'out'" in box.error.text()
    assert len(doc.nodes) == 1 and box.editor.stack.count() == 0


def test_the_main_window_has_an_expressions_dock_that_selects_what_it_added(window):
    assert window.expressions_dock.widget() is window.expression_box
    window.expression_box.text.setPlainText("q = p ** 2")
    new_ids = window.expression_box.add_to_graph()
    assert set(window.scene.selected_node_ids()) == set(new_ids)
    assert "fill in the values of p" in window.messages.lines()[-1]
    window.undo_stack.setClean()         # closing must not ask whether to save
