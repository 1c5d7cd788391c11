"""Test setup shared by the whole suite.

Qt aborts the whole process when it has neither a display nor a platform plugin set,
so the suite runs offscreen unless the person running it has a display.
"""
import os

import pytest

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Opens main windows with their settings under tmp_path that close without asking to save
    (so a test never waits on a dialog); their training ends when the test does."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from gradstudio.ui.main_window import MainWindow
    made = []

    def make(size=(1400, 900)):
        w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        w.ask_save_changes = lambda: QMessageBox.Discard
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.training_dashboard.shutdown()
    # A closed window's Qt wrappers are freed here, on the UI thread: left to a collection that
    # happens to run in a worker thread of a later test, PySide defers their deletion to this
    # thread, which was seen to deadlock inside ~QObject.
    import gc
    gc.collect()


@pytest.fixture
def window(make_window):
    """One main window, 1400x900, shown."""
    return make_window()
