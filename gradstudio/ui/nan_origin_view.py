"""The Inspector's "Where the NaN/Inf came from" box: when anomaly mode stops at a node, the
offending op's inputs (and, for a backward, the gradient it received and passed on) as small
tables with the elements at fault in red, and the values that made it in words
("log of -0.3 = nan", "0/0 = nan", "∂r/∂input at input = 0: upstream 1 → inf")."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from shiboken6 import isValid as _alive

from gradstudio.runtime.anomaly import Anomaly
from gradstudio.runtime.nan_origin import NanOrigin, nan_origin

AT_FAULT = QColor("#ffc9c9")
AT_FAULT_TEXT = QColor("#c92a2a")
MAX_CELLS = 64                   # larger tensors: only the offending elements are listed


class NanOriginView(QGroupBox):
    def __init__(self, parent=None) -> None:
        super().__init__("Where the NaN/Inf came from", parent)
        self.origin: NanOrigin | None = None
        self.tables: dict[str, QTableWidget] = {}
        self._parts: list = []                # captions and tables, rebuilt per origin
        self._layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self._layout.addWidget(self.summary)
        self.hide()

    def set_origin(self, origin: NanOrigin | None) -> None:
        self.origin = origin
        for widget in self._parts:
            self._layout.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self.tables, self._parts = {}, []
        if origin is None:
            self.hide()
            return
        self.summary.setText(f"<b style='color:{AT_FAULT_TEXT.name()}'>"
                             f"{_escape(origin.summary())}</b>"
                             + "".join(f"<br>{_escape(c)}" for c in origin.culprits[1:]))
        for name, values in origin.inputs.items():
            self._add(name, values, origin.marks.get(name))
        if origin.upstream is not None:
            self._add("gradient received", origin.upstream, None)
        if origin.result is not None:
            caption = "output" if origin.phase == "forward" else "gradient passed on"
            self._add(caption, origin.result, origin.result_mark)

    def _add(self, caption: str, values: np.ndarray, mark: np.ndarray | None) -> None:
        count = 0 if mark is None else int(mark.sum())
        fault = f" — {count} element{'s' if count != 1 else ''} at fault" if count else ""
        label = QLabel(f"{caption} {tuple(values.shape)}{fault}")
        self._layout.addWidget(label)
        table = _table(values, mark)
        self._layout.addWidget(table)
        self.tables[caption] = table
        self._parts += [label, table]

    def bad_cells(self, caption: str) -> list[str]:
        """The texts of the cells drawn as at fault in one table (for tests)."""
        table = self.tables[caption]
        items = [table.item(r, c) for r in range(table.rowCount())
                 for c in range(table.columnCount())]
        return [item.text() for item in items
                if item is not None and item.background().color() == AT_FAULT]


def _table(values: np.ndarray, mark: np.ndarray | None) -> QTableWidget:
    """A grid of the values (1-D as one row, more dims flattened to rows) with the marked
    cells red; a tensor over MAX_CELLS lists only its marked elements."""
    grid = values.reshape(1, -1) if values.ndim <= 1 else values.reshape(-1, values.shape[-1])
    marks = None if mark is None or mark.shape != values.shape else mark.reshape(grid.shape)
    if grid.size > MAX_CELLS:
        where = np.argwhere(mark) if marks is not None else np.empty((0, values.ndim), int)
        table = QTableWidget(min(len(where), MAX_CELLS), 2)
        table.setHorizontalHeaderLabels(["index", "value"])
        for row, index in enumerate(where[:MAX_CELLS]):
            table.setItem(row, 0, QTableWidgetItem(str(tuple(int(i) for i in index))))
            table.setItem(row, 1, _cell(values[tuple(index)], True))
    else:
        table = QTableWidget(*grid.shape)
        for (r, c), value in np.ndenumerate(grid):
            table.setItem(r, c, _cell(value, marks is not None and bool(marks[r, c])))
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.resizeColumnsToContents()
    table.setMaximumHeight(min(160, 30 + 26 * table.rowCount()))
    return table


def _cell(value: Any, at_fault: bool) -> QTableWidgetItem:
    item = QTableWidgetItem(f"{float(value):.4g}")
    if at_fault:
        item.setBackground(QBrush(AT_FAULT))
        item.setForeground(QBrush(AT_FAULT_TEXT))
        item.setToolTip("this value made the NaN/Inf")
    return item


def _escape(text: str) -> str:
    import html
    return html.escape(text)


def install_nan_origin(window: Any) -> NanOriginView:
    """Puts the box in the Inspector (under the error line) and fills it when anomaly mode
    stops at a node; it shows while the Inspector shows that node."""
    view = NanOriginView()
    layout = window.inspector.widget().layout()
    layout.insertWidget(layout.indexOf(window.inspector.error_label) + 1, view)

    def show_for_inspected() -> None:
        # The Inspector shows the one selected node (it may hear of the selection after us).
        origin, scene = view.origin, window.scene
        if not (_alive(view) and _alive(scene)):       # a closing window's last signals
            return
        view.setVisible(origin is not None and scene.selected_node_ids() == [origin.node_id])

    def stopped(node_id: str, message: str) -> None:
        view.set_origin(nan_origin(window.runner.session, Anomaly(node_id, message)))
        show_for_inspected()
        if view.origin is not None:
            window.show_message(view.origin.summary(), "info")

    window.runner.ran.connect(lambda: view.set_origin(None))
    window.runner.anomaly.connect(stopped)
    window.scene.selectionChanged.connect(show_for_inspected)
    window.nan_origin_view = view
    return view
