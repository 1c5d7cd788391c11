"""A bad value's message shown at the field it was typed into: what is wrong, in the
person's words, with an example of what is accepted (the file format's refusals,
`gradstudio.graph.validation`). The canvas's inline editors and the Inspector's fields use
the same `FieldMessage` label."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QWidget

from gradstudio.graph.catalog_types import ParamSpec
from gradstudio.graph.validation import accepted_form

SHOWN_MS = 10_000           # a message left behind (the editor closed) goes after this
BAD_FIELD_STYLE = "border: 2px solid #cf222e; border-radius: 3px;"


def field_message(spec: ParamSpec, reason: str) -> str:
    """The refusal as shown under the field: the reason, and what the field takes when the
    reason does not already say it (the forms are the file format's, `accepted_form`)."""
    reason = reason.rstrip(".")
    form = accepted_form(spec)
    if form in reason or "such as" in reason:
        return f"{reason}."
    return f"{reason}.\nIt takes {form}."


class FieldMessage(QLabel):
    """A small red-framed note laid over `parent`, just under a field."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAutoFillBackground(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_under(self, field: QRect, text: str, linger: bool = False) -> None:
        """Shows `text` under `field` (in the parent's coordinates), kept inside the parent;
        linger: hides by itself after a while (no editor is left open to fix it in)."""
        self.setText(text)
        palette = self.parentWidget().palette()     # opaque, in the theme's tooltip colours
        self.setStyleSheet(
            f"QLabel {{ background-color: {palette.color(QPalette.ToolTipBase).name()}; "
            f"color: {palette.color(QPalette.ToolTipText).name()}; "
            "border: 1px solid #cf222e; border-radius: 3px; padding: 4px; }")
        parent = self.parentWidget()
        width = min(max(field.width(), 320), max(120, parent.width() - 8))
        self.setFixedWidth(width)
        self.adjustSize()
        x = max(4, min(field.left(), parent.width() - width - 4))
        y = field.bottom() + 3
        if y + self.height() > parent.height():          # no room below: above the field
            y = max(0, field.top() - self.height() - 3)
        self.move(QPoint(x, y))
        self.show()
        self.raise_()
        if linger:
            self._timer.start(SHOWN_MS)
        else:
            self._timer.stop()
