"""The node library: every catalog kind grouped by category, filtered by typing;
double-click adds a node at the centre of the canvas, dragging drops one where it lands."""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gradstudio.graph.catalog_types import NodeSpec
from gradstudio.ui.canvas_view import KIND_MIME
from gradstudio.ui.node_search import match_rank, search_catalog


class _KindTree(QTreeWidget):
    def mimeTypes(self) -> list[str]:
        return [KIND_MIME]

    def mimeData(self, items) -> QMimeData:
        data = QMimeData()
        kinds = [i.data(0, Qt.UserRole) for i in items if i.data(0, Qt.UserRole)]
        if kinds:
            data.setData(KIND_MIME, kinds[0].encode())
        return data


class NodeLibrary(QWidget):
    add_requested = Signal(str)   # node kind

    def __init__(self, catalog: dict[str, NodeSpec], parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Search nodes…")
        self.filter.setClearButtonEnabled(True)
        self.tree = _KindTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragOnly)
        self.tree.setUniformRowHeights(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.groups: dict[str, QTreeWidgetItem] = {}
        self.entries: dict[str, QTreeWidgetItem] = {}
        for spec in catalog.values():
            group = self.groups.get(spec.category)
            if group is None:
                group = QTreeWidgetItem(self.tree, [spec.category])
                group.setFlags(Qt.ItemIsEnabled)
                self.groups[spec.category] = group
            entry = QTreeWidgetItem(group, [spec.title])
            entry.setData(0, Qt.UserRole, spec.kind)
            entry.setToolTip(0, f"{spec.kind}: {spec.doc}" if spec.doc else spec.kind)
            entry.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
            self.entries[spec.kind] = entry
        self.tree.expandAll()
        self.filter.textChanged.connect(self.apply_filter)
        self.tree.itemDoubleClicked.connect(self._activated)
        self.filter.returnPressed.connect(self._add_first_match)

    def apply_filter(self, text: str) -> None:
        for kind, entry in self.entries.items():
            entry.setHidden(match_rank(self.catalog[kind], text) is None)
        for group in self.groups.values():
            visible = any(not group.child(i).isHidden() for i in range(group.childCount()))
            group.setHidden(not visible)
            group.setExpanded(True)

    def visible_kinds(self) -> list[str]:
        return [k for k, e in self.entries.items() if not e.isHidden()]

    def _activated(self, item: QTreeWidgetItem) -> None:
        kind = item.data(0, Qt.UserRole)
        if kind:
            self.add_requested.emit(kind)

    def _add_first_match(self) -> None:
        matches = search_catalog(self.catalog, self.filter.text())
        if matches:
            self.add_requested.emit(matches[0].kind)
