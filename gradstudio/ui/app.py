"""Starts the Qt application and the main window, and keeps it alive through surprises.

`install_exception_hook` replaces `sys.excepthook`: an exception escaping a slot is logged
with its traceback and shown in a message box whose details can be selected and copied;
the event loop goes on, so one bug in a slot never takes the person's work down with it.
"""
from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

log = logging.getLogger("gradstudio")


def format_exception(exc_type, exc, tb) -> tuple[str, str]:
    """(one-line summary, full traceback) for an exception."""
    summary = f"{exc_type.__name__}: {exc}".strip().splitlines()[0]
    return summary, "".join(traceback.format_exception(exc_type, exc, tb))


def install_exception_hook(show_box: bool = True) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMessageBox

    from gradstudio.ui.crash_report import crash_report

    showing: list[QMessageBox] = []

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        summary, details = format_exception(exc_type, exc, tb)
        log.error("unexpected error: %s\n%s", summary, details)     # to stderr and Messages
        app = QApplication.instance()
        if not show_box or app is None or len(showing) >= 3:
            return
        box = QMessageBox(QMessageBox.Critical, "Unexpected error",
                          f"Something went wrong: {summary}\n\nThe program keeps running; "
                          "your graph is as it was before this action.",
                          QMessageBox.Ok, app.activeWindow())
        box.setDetailedText(crash_report(details))     # selectable: copy it into a report
        box.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.finished.connect(lambda _=0, b=box: showing.remove(b) if b in showing else None)
        showing.append(box)
        box.open()

    sys.excepthook = hook


def create_application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("gradstudio")
    app.setOrganizationName("gradstudio")
    return app


def launch(path: str | None = None) -> int:
    from gradstudio.cli import UsageError

    if path is not None and not Path(path).is_file():
        raise UsageError(f"no such file: {path}")
    app = create_application()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from gradstudio.ui.crash_report import install_log_file

    install_log_file()              # unexpected errors are kept in the data folder's log
    from gradstudio.ui.main_window import MainWindow
    from gradstudio.ui.message_log import LogHandler

    install_exception_hook()
    window = MainWindow()
    log.addHandler(LogHandler(window.messages))
    geometry = window.settings.value("geometry")
    if geometry is None or not window.restoreGeometry(geometry):
        window.resize(1400, 900)
    state = window.settings.value("window_state")
    if state is not None:
        window.restoreState(state)
    window.show()
    if path is None:
        window.open_default()
    else:
        window.open_file(path, ask=False)
    from gradstudio.ui.autosave import Autosave, offer_recovery

    autosave = Autosave(window)     # unsaved work to the data folder every minute
    offer_recovery(window)          # what a crashed session left behind
    code = app.exec()
    autosave.end()
    return code
