"""Shows one tensor's values: a number for a scalar, a table, or a heatmap for a matrix.

Scalars are a large selectable number; vectors and matrices a QTableView over the array
(no copies into items); matrices can switch to a pyqtgraph heatmap. Tensors of higher
rank show their last two dimensions flattened into rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QStackedWidget, QTableView, QToolButton,
                               QVBoxLayout, QWidget)

from gradstudio.ui.tensor_text import as_array, format_scalar

MAX_TABLE_ELEMENTS = 200_000


class ArrayTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.array = np.zeros((0, 0))

    def set_array(self, array: np.ndarray) -> None:
        self.beginResetModel()
        self.array = array
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self.array.shape[0]

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self.array.shape[1]

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if role in (Qt.DisplayRole, Qt.ToolTipRole) and index.isValid():
            value = self.array[index.row(), index.column()]
            return format_scalar(value) if role == Qt.DisplayRole else repr(value.item())
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole) -> Any:
        if role == Qt.DisplayRole:
            return str(section)
        return None


def as_table(array: np.ndarray) -> np.ndarray:
    """2-D view for display: a vector is one row, higher ranks fold leading dims into rows."""
    if array.ndim == 1:
        return array.reshape(1, -1)
    if array.ndim > 2:
        return array.reshape(-1, array.shape[-1])
    return array


class TensorView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.caption = QLabel(self)
        self.heatmap_toggle = QToolButton(self)
        self.heatmap_toggle.setText("Heatmap")
        self.heatmap_toggle.setCheckable(True)
        self.heatmap_toggle.setToolTip("Show a matrix as a heatmap instead of a table")
        self.heatmap_toggle.toggled.connect(self._show_mode)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.caption, 1)
        top.addWidget(self.heatmap_toggle)

        self.number = QLabel(self)
        font = QFont(self.number.font())
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        self.number.setFont(font)
        self.number.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.number.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.model = ArrayTableModel()
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.horizontalHeader().setDefaultSectionSize(64)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.plot = pg.GraphicsLayoutWidget(self)
        self.plot.setMinimumHeight(160)
        self.view_box = self.plot.addViewBox(lockAspect=True, invertY=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view_box.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False,
                                        width=12)
        self.colorbar.setImageItem(self.image)
        self.plot.addItem(self.colorbar)
        self.stack = QStackedWidget(self)
        for widget in (self.number, self.table, self.plot):
            self.stack.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.array: np.ndarray | None = None
        self.show_value(None)

    def show_value(self, value: Any, why_none: str = "") -> None:
        """Shows `value`; None shows as Python prints it, with `why_none` as the caption."""
        array = as_array(value)
        self.array = array
        is_matrix = array is not None and array.ndim >= 2 and array.size > 1 \
            and np.issubdtype(array.dtype, np.number)
        self.heatmap_toggle.setVisible(is_matrix)
        if array is None:
            self.caption.setText(why_none)
            self.caption.setWordWrap(True)
            self.number.setText("None")
            self.stack.setCurrentWidget(self.number)
            return
        self.caption.setText(f"shape {tuple(array.shape)}  {array.dtype}")
        if array.size == 1:
            self.number.setText(format_scalar(array.reshape(()).item()))
            self.stack.setCurrentWidget(self.number)
            return
        table = as_table(array)
        if table.size > MAX_TABLE_ELEMENTS:
            table = table[: max(1, MAX_TABLE_ELEMENTS // table.shape[1])]
        self.model.set_array(table)
        if is_matrix:
            self.plot.setBackground(self.palette().color(QPalette.Base))   # follows the theme
            self.colorbar.axis.setTextPen(self.palette().color(QPalette.Text))
            image = np.nan_to_num(as_table(array).astype(np.float64), nan=0.0, posinf=0.0,
                                  neginf=0.0)
            low, high = float(image.min()), float(image.max())
            self.image.setImage(image, levels=(low, high if high > low else low + 1e-12))
            self.colorbar.setLevels((low, high if high > low else low + 1e-12))
            self.view_box.autoRange(padding=0.02)
        self._show_mode(self.heatmap_toggle.isChecked() and is_matrix)

    def _show_mode(self, heatmap: bool) -> None:
        if self.array is None or self.array.size <= 1:
            return
        matrix = self.array.ndim >= 2 and np.issubdtype(self.array.dtype, np.number)
        self.stack.setCurrentWidget(self.plot if heatmap and matrix else self.table)

    def text(self) -> str:
        """What the view shows, as text (the number, or the table's first cells)."""
        if self.stack.currentWidget() is self.number:
            return self.number.text()
        if self.array is None:
            return ""
        return np.array2string(self.array, precision=4, threshold=50)
