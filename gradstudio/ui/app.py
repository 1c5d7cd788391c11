"""Starts the Qt application and the main window."""
from __future__ import annotations

import sys


def launch(path: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from gradstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("gradstudio")
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    return app.exec()
