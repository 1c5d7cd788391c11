"""The messages panel: a read-only, timestamped list of what the program told the person,
fed directly and by the `gradstudio` Python logger."""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit

LEVEL_PREFIX = {"info": "", "warning": "warning: ", "error": "error: "}


class MessageLog(QPlainTextEdit):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(2000)
        font = QFont("monospace")
        font.setStyleHint(QFont.Monospace)
        font.setPointSizeF(9)
        self.setFont(font)
        self.setPlaceholderText("Messages appear here")

    def add(self, text: str, level: str = "info") -> None:
        stamp = time.strftime("%H:%M:%S")
        self.appendPlainText(f"{stamp}  {LEVEL_PREFIX.get(level, '')}{text}")

    def lines(self) -> list[str]:
        return self.toPlainText().splitlines()


class _Bridge(QObject):
    record = Signal(str, str)


class LogHandler(logging.Handler):
    """Forwards log records into a MessageLog on the GUI thread (queued through a signal)."""

    def __init__(self, log: MessageLog) -> None:
        super().__init__(logging.INFO)
        self._bridge = _Bridge()
        self._bridge.record.connect(log.add)

    def emit(self, record: logging.LogRecord) -> None:
        level = "error" if record.levelno >= logging.ERROR else \
            "warning" if record.levelno >= logging.WARNING else "info"
        try:
            self._bridge.record.emit(record.getMessage().splitlines()[0] if record.getMessage() else "", level)
        except RuntimeError:   # the panel is gone (window closed)
            pass
