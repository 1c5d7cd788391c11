"""The expression box: type lines such as `z = x*y + y**2`, press Add, get the graph.

The lines are parsed by `gradstudio.graph.expressions` (ast, never eval), with the
document's labels as known names; the nodes and edges go in as one undo step (a macro of
the ordinary AddNode / AddEdge commands), to the right of what the canvas already holds.
A parse error is shown in one line under the text and the cursor jumps to its column.
"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout,
                               QWidget)

from gradstudio.graph.document import GraphError
from gradstudio.graph.expressions import (
    Construction, ExpressionError, apply_construction, parse_expressions)
from gradstudio.ui import undo_commands as cmd
from gradstudio.ui.document_editor import DocumentEditor

PLACEHOLDER = ("z = x*y + y**2\n"
               "loss = ((w*x + b - y)**2).mean()\n"
               "loss.backward()")
GAP = 260.0            # from the rightmost node to the new nodes


def insert_construction(editor: DocumentEditor, construction: Construction,
                        text: str = "Add expression") -> list[str]:
    """Adds the construction's nodes and edges as one undo step; returns the new node ids.
    It is tried on a copy of the document first, so a refused edge (GraphError) leaves the
    document and the undo history untouched."""
    doc, stack = editor.doc, editor.stack
    apply_construction(construction, doc.copy())
    ids: dict[str, str] = {}
    stack.beginMacro(text)
    try:
        for new in construction.nodes:
            command = cmd.AddNode(doc, new.kind, new.label, new.params, new.pos)
            stack.push(command)
            ids[new.label] = command.node.id
        for edge in construction.edges:
            src = ids.get(edge.src) or doc.node_by_label(edge.src).id
            stack.push(cmd.AddEdge(doc, src, edge.src_port, ids[edge.dst], edge.dst_port))
    finally:
        stack.endMacro()
    return list(ids.values())


class ExpressionBox(QWidget):
    """A text box and an Add button. `added` carries the new node ids; `message` a line
    for the person (which leaves to fill in)."""
    added = Signal(list)
    message = Signal(str)

    def __init__(self, editor: DocumentEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText(PLACEHOLDER)
        font = QFont("monospace")
        font.setStyleHint(QFont.Monospace)
        self.text.setFont(font)
        self.text.setTabChangesFocus(True)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.hide()
        self.add_button = QPushButton("Add to graph")
        self.add_button.setToolTip("Parse the lines into nodes and edges (Ctrl+Return)")
        self.add_button.clicked.connect(self.add_to_graph)
        QShortcut(QKeySequence("Ctrl+Return"), self.text, self.add_to_graph)
        buttons = QHBoxLayout()
        buttons.addWidget(self.error, 1)
        buttons.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)

    def origin(self) -> tuple[float, float]:
        """Where the new nodes start: right of the rightmost node, level with the topmost."""
        nodes = self.editor.doc.nodes.values()
        if not nodes:
            return (0.0, 0.0)
        return (max(n.pos[0] for n in nodes) + GAP, min(n.pos[1] for n in nodes))

    def add_to_graph(self) -> list[str]:
        """Parses the text and adds the graph; returns the new node ids ([] on an error)."""
        doc = self.editor.doc
        try:
            construction = parse_expressions(self.text.toPlainText(),
                                             known=[n.label for n in doc.nodes.values()],
                                             origin=self.origin(), catalog=doc.catalog)
            if not construction.nodes:
                raise GraphError("type a line such as z = x*y + y**2")
            node_ids = insert_construction(self.editor, construction)
        except GraphError as exc:
            self.show_error(exc)
            return []
        self.error.hide()
        self.added.emit(node_ids)
        fill = construction.to_fill
        if fill:
            self.message.emit(f"added {len(node_ids)} nodes; fill in the values of "
                              f"{', '.join(fill)}")
        else:
            self.message.emit(f"added {len(node_ids)} nodes")
        return node_ids

    def show_error(self, exc: GraphError) -> None:
        self.error.setText(str(exc))
        self.error.show()
        if isinstance(exc, ExpressionError):
            block = self.text.document().findBlockByNumber(exc.line - 1)
            if block.isValid():
                cursor = QTextCursor(block)
                cursor.movePosition(QTextCursor.Right, n=min(exc.column - 1, block.length() - 1))
                self.text.setTextCursor(cursor)
        self.text.setFocus()
