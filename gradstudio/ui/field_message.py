"""A bad value's message shown at the field it was typed into: what is wrong, in the
person's words, and an example of what is accepted (`accepted_example`). The canvas's
inline editors and the Inspector's fields use the same `FieldMessage` label."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QWidget

from gradstudio.graph.catalog_types import (BOOL, CHOICE, FLOAT, INT, SHAPE, TENSOR_VALUE,
                                            ParamSpec)

SHOWN_MS = 10_000           # a message left behind (the editor closed) goes after this
BAD_FIELD_STYLE = "border: 2px solid #cf222e; border-radius: 3px;"


def accepted_example(spec: ParamSpec) -> str:
    """What the field takes, with examples: "a whole number, e.g. 3"."""
    bounds = ""
    if spec.minimum is not None and spec.maximum is not None:
        bounds = f" from {_number(spec.minimum)} to {_number(spec.maximum)}"
    elif spec.minimum is not None:
        bounds = f" of at least {_number(spec.minimum)}"
    if spec.type == FLOAT:
        return f"a number{bounds}, e.g. 0.5, -2 or 1e-3"
    if spec.type == INT:
        return f"a whole number{bounds}, e.g. 3"
    if spec.type == SHAPE:
        return "sizes separated by commas, e.g. 2, 3 for a 2×3 matrix or 5 for a vector"
    if spec.type == TENSOR_VALUE:
        return "a number or a list of numbers, e.g. 2.5, [1, 2, 3] or [[1, 2], [3, 4]]"
    if spec.type == BOOL:
        return "on or off"
    if spec.type == CHOICE:
        return "one of " + ", ".join(str(c) for c in spec.choices)
    return ""


def field_message(spec: ParamSpec, reason: str) -> str:
    """The refusal as shown under the field: the reason, then what is accepted."""
    example = accepted_example(spec)
    reason = reason.rstrip(".")
    return f"{reason}.\nType {example}." if example else f"{reason}."


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


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
