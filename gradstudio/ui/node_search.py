"""Finding node kinds by typing: the ranking shared by the Tab search box and the library dock,
and the search box itself (a line edit over a filtered list, shown where the cursor is)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QApplication, QFrame, QLineEdit, QListWidget, QListWidgetItem,
                               QStyle, QStyledItemDelegate, QVBoxLayout)

from gradstudio.graph.catalog_types import NodeSpec


def match_rank(spec: NodeSpec, query: str) -> int | None:
    """Lower is better; None when the kind does not match the query at all."""
    q = query.strip().lower()
    if not q:
        return 5
    kind, title = spec.kind.lower(), spec.title.lower()
    if q in (kind, title) or q == kind.split(".")[-1]:
        return 0
    if kind.startswith(q) or title.startswith(q) or kind.split(".")[-1].startswith(q):
        return 1
    if q in kind or q in title:
        return 2
    if any(q in k.lower() for k in spec.keywords):
        return 3
    if q in spec.category.lower() or q in spec.doc.lower():
        return 4
    return None


def search_catalog(catalog: dict[str, NodeSpec], query: str) -> list[NodeSpec]:
    ranked = [(rank, i, spec) for i, spec in enumerate(catalog.values())
              if (rank := match_rank(spec, query)) is not None]
    return [spec for _, _, spec in sorted(ranked, key=lambda t: (t[0], t[1]))]


CATEGORY_ROLE = Qt.UserRole + 1


class _CategoryDelegate(QStyledItemDelegate):
    """A kind's title as usual, its category dimmed at the right edge of the row."""

    def paint(self, painter, option, index) -> None:
        super().paint(painter, option, index)
        category = index.data(CATEGORY_ROLE)
        if category:
            selected = bool(option.state & QStyle.State_Selected)
            painter.save()
            painter.setPen(option.palette.color(
                QPalette.HighlightedText if selected else QPalette.PlaceholderText))
            painter.drawText(option.rect.adjusted(0, 0, -6, 0),
                             int(Qt.AlignRight | Qt.AlignVCenter), category)
            painter.restore()


class NodeSearchBox(QFrame):
    """Type to filter, arrows to choose, Enter to add; Esc or clicking away closes."""
    chosen = Signal(str)   # node kind

    def __init__(self, catalog: dict[str, NodeSpec], parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.setFrameShape(QFrame.StyledPanel)
        self.setAutoFillBackground(True)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add node: type a name…")
        self.edit.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.list.setItemDelegate(_CategoryDelegate(self.list))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(260, 300)
        self.edit.textChanged.connect(self._filter)
        self.edit.returnPressed.connect(self._accept)
        self.edit.installEventFilter(self)
        self.list.itemActivated.connect(lambda _: self._accept())
        self.list.itemClicked.connect(lambda _: self._accept())
        self.hide()

    def popup(self, x: int, y: int) -> None:
        parent = self.parentWidget()
        if parent is not None:
            x = max(0, min(x, parent.width() - self.width()))
            y = max(0, min(y, parent.height() - self.height()))
        self.move(x, y)
        self.edit.clear()
        self._filter("")
        self.show()
        self.raise_()
        self.edit.setFocus(Qt.PopupFocusReason)

    def _filter(self, text: str) -> None:
        self.list.clear()
        for spec in search_catalog(self.catalog, text):
            item = QListWidgetItem(spec.title)
            item.setData(Qt.UserRole, spec.kind)
            item.setData(CATEGORY_ROLE, spec.category)
            item.setToolTip(spec.doc)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _accept(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.hide()
        self.chosen.emit(item.data(Qt.UserRole))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.edit and event.type() == QEvent.KeyPress:
            key = event.key()
            if key in (Qt.Key_Down, Qt.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(row, self.list.count() - 1)))
                return True
            if key == Qt.Key_Escape:
                self.hide()
                self.parentWidget().setFocus()
                return True
        if obj is self.edit and event.type() == QEvent.FocusOut:
            QTimer.singleShot(0, self._hide_unless_focused)
        return super().eventFilter(obj, event)

    def _hide_unless_focused(self) -> None:
        focus = QApplication.focusWidget()
        if focus is None or not self.isAncestorOf(focus):
            self.hide()
