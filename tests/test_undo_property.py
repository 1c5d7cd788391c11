"""Undo is exact: random sequences of edits made through the window's DocumentEditor (the real
undo commands on the real QUndoStack), undone to the start, give the original file text back;
redone to the end, they give the final one.

Edits are drawn as (operation, a, b, number) tuples; a and b pick existing nodes or edges by
index, so every sequence is valid whatever the earlier edits did. Refused edits (a cycle, a
taken label) push nothing, as in the UI.
"""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.ui.main_window import MainWindow

OPERATIONS = ("add", "remove_node", "connect", "remove_edge", "set_value", "set_requires_grad",
              "rename", "move", "toggle_detach", "paste")
KINDS = ("tensor", "neg", "relu", "sum", "exp")
LABELS = ("a", "b", "x", "y", "w1", "loss")

edit = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 40), st.integers(0, 40),
                 st.floats(-1e3, 1e3, allow_nan=False, width=32))


def starting_document() -> Document:
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [1.0, -2.0], "requires_grad": True}, pos=(0, 0))
    n = doc.add_node("neg", "n", pos=(200, 0))
    s = doc.add_node("sum", "s", pos=(400, 0))
    doc.add_edge(x.id, "out", n.id, "input")
    doc.add_edge(n.id, "out", s.id, "input", detach=True)
    doc.add_region("no_grad", [n.id])
    return doc


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])
    folder = tmp_path_factory.mktemp("undo")
    w = MainWindow(QSettings(str(folder / "settings.ini"), QSettings.IniFormat))
    w.ask_save_changes = lambda: QMessageBox.Discard
    w.runner.set_auto_run(False)           # runs are not what this test is about
    yield w
    w.close()
    w.deleteLater()


def apply(window, operation: str, a: int, b: int, number: float) -> None:
    doc, editor = window.doc, window.editor
    nodes, edges = list(doc.nodes), list(doc.edges)
    node = doc.nodes[nodes[a % len(nodes)]] if nodes else None
    other = doc.nodes[nodes[b % len(nodes)]] if nodes else None
    edge = doc.edges[edges[a % len(edges)]] if edges else None
    if operation == "add":
        editor.add_node(KINDS[b % len(KINDS)], (number, -number))
    elif node is None:
        return
    elif operation == "remove_node":
        editor.remove([node.id])
    elif operation == "connect" and other.kind != "tensor":
        editor.connect_ports(node.id, "out", other.id, "input")
    elif operation == "remove_edge" and edge is not None:
        editor.remove([], [edge.id])
    elif operation == "set_value" and node.kind == "tensor":
        editor.set_param(node.id, "value", [number, float(b)])
    elif operation == "set_requires_grad" and node.kind == "tensor":
        editor.set_param(node.id, "requires_grad", not node.params["requires_grad"])
    elif operation == "rename":
        editor.rename(node.id, LABELS[b % len(LABELS)])
    elif operation == "move":
        editor.move_nodes({node.id: (node.pos, (node.pos[0] + number, node.pos[1] - b))})
    elif operation == "toggle_detach" and edge is not None:
        editor.set_detach(edge.id, not edge.detach)
    elif operation == "paste":
        editor.paste(editor.copy_payload([node.id, other.id]))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(edit, min_size=1, max_size=25))
def test_undo_all_gives_the_original_and_redo_all_the_final_document(window, edits):
    window.doc.replace_with(starting_document())
    window.undo_stack.clear()
    original = fileio.dumps(window.doc)
    for operation, a, b, number in edits:
        apply(window, operation, a, b, number)
    final = fileio.dumps(window.doc)
    stack = window.undo_stack
    while stack.canUndo():
        stack.undo()
    assert fileio.dumps(window.doc) == original
    while stack.canRedo():
        stack.redo()
    assert fileio.dumps(window.doc) == final
    assert fileio.to_json(fileio.loads(final)) == fileio.to_json(window.doc)   # still valid


def test_the_edits_reach_every_command(window):
    """The sequences above can produce each kind of command (so the property covers them)."""
    window.doc.replace_with(starting_document())
    window.undo_stack.clear()
    script = [("add", 0, 1, 5.0), ("connect", 0, 3, 0.0), ("set_value", 0, 0, 2.5),
              ("set_requires_grad", 0, 0, 0.0), ("rename", 1, 4, 0.0), ("move", 2, 3, 9.0),
              ("toggle_detach", 0, 0, 0.0), ("paste", 0, 1, 0.0), ("remove_edge", 1, 0, 0.0),
              ("remove_node", 1, 0, 0.0)]
    texts = []
    for step in script:
        before = window.undo_stack.count()
        apply(window, *step)
        assert window.undo_stack.count() == before + 1, step
        texts.append(window.undo_stack.text(before))
    assert [t.split()[0] for t in texts] == ["Add", "Connect", "Set", "Set", "Rename", "Move",
                                            "Detach", "Paste", "Delete", "Delete"]
