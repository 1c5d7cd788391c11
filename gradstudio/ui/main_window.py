"""The main window: canvas in the middle, docks around it, menus and toolbar."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("gradstudio")
        self.setCentralWidget(QLabel("gradstudio"))
