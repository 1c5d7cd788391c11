"""The expression box: type lines such as `z = x*y + y**2`, press Add, get the graph.

The lines are parsed by `gradstudio.graph.expressions` (ast, never eval), with the
document's labels as known names; the nodes and edges go in as one undo step (a macro of
the ordinary AddNode / AddEdge commands), to the right of what the canvas already holds.
A parse error is shown in one line under the text and the cursor jumps to its column.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout,
                               QWidget)

from gradstudio.graph.document import Document, GraphError
from gradstudio.graph.expressions import (
    Construction, ExpressionError, NewNode, apply_construction, parse_expressions)
from gradstudio.ui.layout import layered_positions
from gradstudio.ui import undo_commands as cmd
from gradstudio.ui.document_editor import DocumentEditor

PLACEHOLDER = ("z = x*y + y**2\n"
               "loss = ((w*x + b - y)**2).mean()\n"
               "loss.backward()")
GAP = 260.0            # from the rightmost node to the new nodes (by position)
SPACE = 90.0           # from the right edge of the canvas's nodes (by size) to the new ones


def arrange_construction(construction: Construction, catalog: dict,
                         size_of: Callable[[NewNode], tuple[float, float]],
                         top_left: tuple[float, float]) -> None:
    """Places the new nodes in columns by depth with their real sizes (auto-layout's rule),
    their bounding box's top-left corner at `top_left`, so none overlaps another."""
    sub = Document(catalog)
    ids = {}
    for new in construction.nodes:
        ids[new.label] = sub.add_node(new.kind, new.label, new.params, new.pos).id
    for edge in construction.edges:
        if edge.src in ids:
            sub.add_edge(ids[edge.src], edge.src_port, ids[edge.dst], edge.dst_port)
    by_id = {ids[n.label]: n for n in construction.nodes}
    sizes = {nid: size_of(new) for nid, new in by_id.items()}
    positions = layered_positions(sub, sizes.__getitem__)
    left = min(x for x, _ in positions.values())
    top = min(y for _, y in positions.values())
    for nid, (x, y) in positions.items():
        by_id[nid].pos = (x - left + top_left[0], y - top + top_left[1])


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
        # Set by the window: a new node's size on the canvas, and the canvas's nodes'
        # bounding box (left, top, right, bottom) or None; without them nodes go on a grid.
        self.size_of: Callable[[NewNode], tuple[float, float]] | None = None
        self.occupied: Callable[[], tuple[float, float, float, float] | None] | None = None
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
            if self.size_of is not None and self.occupied is not None:
                box = self.occupied()
                top_left = (0.0, 0.0) if box is None else (box[2] + SPACE, box[1])
                arrange_construction(construction, doc.catalog, self.size_of, top_left)
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
