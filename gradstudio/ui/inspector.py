"""The inspector: the selected node's label, kind and parameters (editable), and after a run
its tensor: data and grad (number, table or heatmap), grad_fn with next_functions, is_leaf,
requires_grad, retains_grad, shape, dtype, device, version, and its error if any."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QScrollArea,
                               QTabWidget, QToolButton, QVBoxLayout, QWidget)

from gradstudio.graph.catalog_types import BOOL, CHOICE, PATH, ParamSpec
from gradstudio.graph.document import Change
from gradstudio.ui.document_editor import DocumentEditor
from gradstudio.ui.field_message import BAD_FIELD_STYLE, FieldMessage, field_message
from gradstudio.ui.param_values import format_value, parse_value, visible_params
from gradstudio.ui.tensor_text import field_of, shape_text
from gradstudio.ui.tensor_view import TensorView

INFO_FIELDS = ("shape", "dtype", "device", "is_leaf", "requires_grad", "retains_grad", "version")
# How the tensor facts sit in the inspector: two per row where they are short.
INFO_ROWS = (("grad_fn",), ("next_functions",), ("shape", "dtype"), ("is_leaf", "requires_grad"),
             ("retains_grad", "version"), ("device",))


class Inspector(QScrollArea):
    why_requested = Signal(str)      # "label" or "label.weight": the tensor shown

    def __init__(self, editor: DocumentEditor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.doc = editor.doc
        self.node_id: str | None = None
        self.source = "after the last run"
        self.tensors: dict[str, Any] = {}
        self.info: Any = None
        self.error: str | None = None
        self.grad_passes = 1       # backward() calls the .grad shown sums (the window sets it)
        self.waiting: str | None = None   # the node is still being wired: what it waits for
        self.setWidgetResizable(True)
        body = QWidget()
        self.setWidget(body)
        layout = QVBoxLayout(body)
        self.field_note = FieldMessage(body)     # a refused value's message, at its field

        self.placeholder = QLabel("Select a node to inspect it.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setWordWrap(True)
        layout.addWidget(self.placeholder)

        self.node_box = QGroupBox("Node")
        form = QFormLayout(self.node_box)
        self.label_edit = QLineEdit()
        self.label_edit.editingFinished.connect(self._rename)
        self.kind_label = QLabel()
        self.kind_label.setWordWrap(True)
        form.addRow("label", self.label_edit)
        form.addRow("kind", self.kind_label)
        layout.addWidget(self.node_box)

        self.params_box = QGroupBox("Parameters")
        self.params_form = QFormLayout(self.params_box)
        self.param_widgets: dict[str, QWidget] = {}
        layout.addWidget(self.params_box)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.error_label)

        self.tensor_box = QGroupBox("Tensor (after the last run)")
        grid = QGridLayout(self.tensor_box)
        grid.setHorizontalSpacing(10)
        self.tensor_choice = QComboBox()      # output ports, then a layer's weight, bias, ...
        self.tensor_choice.setToolTip("Which of the node's tensors to show")
        self.tensor_choice.currentTextChanged.connect(self._tensor_chosen)
        self.tensor_choice_caption = QLabel("tensor")
        self.tensor_choice_caption.setForegroundRole(QPalette.PlaceholderText)
        grid.addWidget(self.tensor_choice_caption, 0, 0)
        grid.addWidget(self.tensor_choice, 0, 1, 1, 3)
        self.info_labels: dict[str, QLabel] = {}
        for row, names in enumerate(INFO_ROWS, start=1):
            for column, name in enumerate(names):
                label = QLabel()
                label.setTextInteractionFlags(Qt.TextSelectableByMouse)
                label.setWordWrap(name == "next_functions")
                self.info_labels[name] = label
                caption = QLabel(name)
                caption.setForegroundRole(QPalette.PlaceholderText)   # dimmer than the value
                span = 3 if len(names) == 1 else 1
                grid.addWidget(caption, row, 2 * column)
                grid.addWidget(label, row, 2 * column + 1, 1, span)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.why_button = QToolButton()
        self.why_button.setText("Why no gradient?")
        self.why_button.setToolTip("Why is this tensor's gradient None or zero? "
                                   "(the causes, and the path drawn on the canvas)")
        self.why_button.clicked.connect(self._ask_why)
        grid.addWidget(self.why_button, len(INFO_ROWS) + 1, 0, 1, 4, Qt.AlignLeft)
        layout.addWidget(self.tensor_box)

        self.tabs = QTabWidget()
        self.data_view = TensorView()
        self.grad_view = TensorView()
        self.tabs.addTab(self.data_view, "data")
        self.tabs.addTab(self.grad_view, "grad")
        self.tabs.setMinimumHeight(240)
        layout.addWidget(self.tabs)
        layout.addStretch(1)
        self.doc.subscribe(self._on_change)
        self.show_node(None)

    # ---------------------------------------------------------------- public
    def show_node(self, node_id: str | None, tensors: dict[str, Any] | None = None,
                  error: str | None = None, source: str = "after the last run") -> None:
        """Shows a node; `tensors` are its run snapshots by name (outputs first, then a
        layer's parameters), `error` its run error, `source` where they come from."""
        changed_node = node_id != self.node_id
        if changed_node:
            self.field_note.hide()
        self.source = source
        self.tensor_box.setTitle(f"Tensor ({source})")
        self.node_id = node_id if node_id in self.doc.nodes else None
        self._set_tensors(tensors or {}, error)
        has_node = self.node_id is not None
        self.placeholder.setVisible(not has_node)
        for widget in (self.node_box, self.params_box, self.tensor_box, self.tabs):
            widget.setVisible(has_node)
        if not has_node:
            self.error_label.hide()
            return
        node = self.doc.nodes[self.node_id]
        spec = self.doc.spec(node)
        if not self.label_edit.hasFocus() or changed_node:
            self.label_edit.setText(node.label)
        self.kind_label.setText(f"{spec.title} ({spec.kind}) · {spec.category}"
                                + (f"\n{spec.doc}" if spec.doc else ""))
        self._build_params(rebuild=changed_node)
        self._show_info()

    def _set_tensors(self, tensors: dict[str, Any], error: str | None) -> None:
        self.tensors, self.error = tensors, error
        chosen = self.tensor_choice.currentText()
        self.tensor_choice.blockSignals(True)
        self.tensor_choice.clear()
        self.tensor_choice.addItems(list(tensors))
        if chosen in tensors:
            self.tensor_choice.setCurrentText(chosen)
        self.tensor_choice.blockSignals(False)
        several = len(tensors) > 1
        self.tensor_choice.setVisible(several)
        self.tensor_choice_caption.setVisible(several)
        self.info = tensors.get(self.tensor_choice.currentText())

    def _tensor_chosen(self, name: str) -> None:
        self.info = self.tensors.get(name)
        if self.node_id is not None:
            self._show_info()

    # ---------------------------------------------------------------- parameters
    def _build_params(self, rebuild: bool) -> None:
        node = self.doc.nodes[self.node_id]
        spec = self.doc.spec(node)
        connected = [e.dst_port for e in self.doc.edges_into(node.id)]
        visible = [p.name for p in visible_params(spec, node.params, connected)]
        if rebuild or list(self.param_widgets) != visible:
            while self.params_form.rowCount():
                # The edit that caused this may be one of these widgets, still inside its
                # own signal: hide them now, delete them once control is back in the loop.
                row = self.params_form.takeRow(0)
                for item in (row.labelItem, row.fieldItem):
                    if item is not None and item.widget() is not None:
                        item.widget().hide()
                        item.widget().deleteLater()
            self.param_widgets = {}
            for p in spec.params:
                if p.name in visible:
                    widget = self._param_widget(p)
                    widget.setToolTip(p.doc)
                    self.param_widgets[p.name] = widget
                    self.params_form.addRow(p.name, widget)
        self.params_box.setVisible(bool(self.param_widgets))
        for name, widget in self.param_widgets.items():
            self._set_widget_value(spec.param(name), widget, node.params.get(name))

    def _param_widget(self, p: ParamSpec) -> QWidget:
        node_id = self.node_id
        if p.type == BOOL:
            box = QCheckBox()
            box.toggled.connect(lambda on: self._set(node_id, p.name, on))
            return box
        if p.type == CHOICE:
            combo = QComboBox()
            combo.addItems([str(c) for c in p.choices])
            combo.activated.connect(
                lambda i: self._set(node_id, p.name, p.choices[i]))
            return combo
        edit = QLineEdit()
        edit.editingFinished.connect(lambda: self._commit_text(node_id, p, edit))
        edit.textEdited.connect(lambda _text: self._clear_refusal(edit))
        if p.type != PATH:
            return edit
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(lambda: self._browse(node_id, p, edit))
        layout.addWidget(browse)
        row.edit = edit
        return row

    def _set_widget_value(self, p: ParamSpec, widget: QWidget, value: Any) -> None:
        widget.blockSignals(True)
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentIndex(max(0, [str(c) for c in p.choices].index(str(value))
                                       if str(value) in [str(c) for c in p.choices] else 0))
        else:
            edit = getattr(widget, "edit", widget)
            if not edit.hasFocus():
                edit.setText(format_value(p, value))
        widget.blockSignals(False)

    def _set(self, node_id: str, key: str, value: Any) -> None:
        if node_id in self.doc.nodes:
            self.editor.set_param(node_id, key, value)

    def _commit_text(self, node_id: str, p: ParamSpec, edit: QLineEdit) -> None:
        if node_id not in self.doc.nodes:
            return
        try:
            value = parse_value(p, edit.text())
        except ValueError as exc:
            # Shown at the field, the typed text kept to correct; the node keeps its value.
            self.editor.refused.emit(str(exc))
            edit.setStyleSheet(BAD_FIELD_STYLE)
            body = self.widget()
            box = QRect(edit.mapTo(body, QPoint(0, 0)), edit.size())
            self.field_note.show_under(box, field_message(p, str(exc)))
            self.ensureVisible(box.center().x(), box.bottom() + self.field_note.height(), 0, 8)
            return
        self._clear_refusal(edit)
        self._set(node_id, p.name, value)

    def _clear_refusal(self, edit: QLineEdit) -> None:
        edit.setStyleSheet("")
        self.field_note.hide()

    def _browse(self, node_id: str, p: ParamSpec, edit: QLineEdit) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {p.name}", edit.text(),
                                              "CSV files (*.csv);;All files (*)")
        if path:
            edit.setText(path)
            self._commit_text(node_id, p, edit)

    def _rename(self) -> None:
        if self.node_id is None:
            return
        if not self.editor.rename(self.node_id, self.label_edit.text()):
            self.label_edit.setText(self.doc.nodes[self.node_id].label)

    # ---------------------------------------------------------------- run results
    def _show_info(self) -> None:
        info = self.info
        dark = self.palette().color(QPalette.Window).lightness() < 128
        if self.error:
            self.error_label.setStyleSheet(      # a red that reads on either theme
                f"color: {'#ff7b72' if dark else '#cf222e'}; font-weight: bold;")
            self.error_label.setText(f"Error: {self.error}")
        elif self.waiting:                       # work in progress: said, not alarmed
            self.error_label.setStyleSheet("")
            self.error_label.setText(f"{self.waiting[0].upper()}{self.waiting[1:]}: "
                                     "connect it to run this node.")
        self.error_label.setVisible(bool(self.error or self.waiting))
        self.tensor_box.setVisible(info is not None)
        self.tabs.setVisible(info is not None)
        if info is None:
            return
        for name in INFO_FIELDS:
            value = field_of(info, name)
            text = shape_text(value) if name == "shape" else "—" if value is None else str(value)
            self.info_labels[name].setText(text)
        grad_fn = field_of(info, "grad_fn")
        self.info_labels["grad_fn"].setText(grad_fn_name(grad_fn))
        nexts = next_functions(info)
        # AccumulateGrad, not torch::autograd::AccumulateGrad: the name fits the dock
        self.info_labels["next_functions"].setText(
            ", ".join((n or "None").rsplit("::", 1)[-1] for n in nexts) if nexts else "()")
        self.data_view.show_value(field_of(info, "data"))
        self.grad_view.show_value(field_of(info, "grad"), why_grad_is_none(info))
        has_grad = field_of(info, "grad") is not None
        self.tabs.setTabText(1, "grad" if not has_grad or self.grad_passes < 2
                             else f"grad (sum of {self.grad_passes} backward passes)")

    def _ask_why(self) -> None:
        if self.node_id is None:
            return
        label = self.doc.nodes[self.node_id].label
        chosen = self.tensor_choice.currentText()
        self.why_requested.emit(label if chosen in ("", "out") else f"{label}.{chosen}")

    def _on_change(self, change: Change) -> None:
        if self.node_id is None:
            return
        if change.what in ("node_removed", "reset") and (
                change.what == "reset" or change.item.id == self.node_id):
            self.show_node(None)
        elif change.what == "node_changed" and change.item.id == self.node_id \
                and change.key != "pos":
            self.show_node(self.node_id, self.tensors, self.error, self.source)
        elif change.what in ("edge_added", "edge_removed") and change.item.dst == self.node_id:
            self._build_params(rebuild=False)


def why_grad_is_none(info: Any) -> str:
    """A line saying why a tensor's .grad is None (shown under the None)."""
    if not field_of(info, "requires_grad"):
        return ".grad is None: this tensor does not require grad"
    if not field_of(info, "is_leaf") and not field_of(info, "retains_grad"):
        return (".grad is None: not a leaf, so backward does not keep its gradient "
                "(switch retain_grad on to keep it)")
    return ".grad is None: no backward has reached it yet (Backward, F6)"


def grad_fn_name(grad_fn: Any) -> str:
    if grad_fn is None:
        return "None"
    if isinstance(grad_fn, str):
        return grad_fn
    name = field_of(grad_fn, "name")
    return str(name) if name else type(grad_fn).__name__


def next_functions(info: Any) -> list[str | None]:
    """Names of grad_fn.next_functions, from the snapshot (list of names or of pairs)."""
    raw = field_of(info, "next_functions")
    if raw is None:
        raw = field_of(field_of(info, "grad_fn"), "next_functions")
    if not raw:
        return []
    names: list[str | None] = []
    for entry in raw:
        if isinstance(entry, (tuple, list)) and entry:
            entry = entry[0]
        names.append(None if entry is None else grad_fn_name(entry))
    return names

