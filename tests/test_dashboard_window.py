"""The main window opens training examples with the Training dock shown and arranged, and
the dashboard's live changes are undoable edits of the document."""
import pytest
from PySide6.QtCore import QSettings, Qt

from gradstudio import EXAMPLES
from gradstudio.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.training_dashboard.shutdown()
    win.undo_stack.setClean()


def test_training_example_opens_with_the_dashboard_arranged(qtbot, window):
    assert window.training_dock.isHidden()
    assert any(a.text() == "&Training" for a in window.menuBar().actions())
    assert window.open_file(EXAMPLES / "xor.json", ask=False)
    qtbot.waitUntil(lambda: window.training_dock.isVisible(), timeout=3000)
    board = window.training_dashboard
    assert board.document is window.doc
    assert board.visible_keys() == ["loss", "accuracy", "decision_boundary", "grad_histograms"]
    assert window.training_dock.height() > 250
    assert window.open_file(EXAMPLES / "basic_grad.json", ask=False)
    qtbot.waitUntil(lambda: window.training_dock.isHidden(), timeout=3000)


def test_training_menu_trains_and_live_edits_undo(qtbot, window):
    window.open_file(EXAMPLES / "xor.json", ask=False)
    qtbot.waitUntil(lambda: window.training_dock.isVisible(), timeout=3000)
    board = window.training_dashboard
    first_lr = window.doc.meta["training"]["optimizer"]["lr"]
    start = next(a for a in window.training_menu.actions() if a.text() == "&Start")
    start.trigger()
    qtbot.waitUntil(lambda: board.trainer.state == "finished", timeout=10_000)
    board.lr_box.setValue(0.0123)
    board.apply_lr()
    assert window.doc.meta["training"]["optimizer"]["lr"] == 0.0123
    assert window.undo_stack.undoText() == "Learning rate 0.0123"
    window.undo_stack.undo()
    assert window.doc.meta["training"]["optimizer"]["lr"] == first_lr
    assert board.lr_box.value() == first_lr             # the control follows the undo


def test_the_dark_theme_darkens_plots_made_under_the_light_one(qtbot, window):
    """View > Theme > Dark after the dashboard was built: its plots follow (pyqtgraph
    had cached their light background), and back again with Light."""
    window.set_theme("light")
    window.open_file(EXAMPLES / "xor.json", ask=False)
    qtbot.waitUntil(lambda: window.training_dock.isVisible(), timeout=3000)
    plot = window.training_dashboard.loss_plot

    def background_lightness():
        image = plot.grab().toImage()
        return image.pixelColor(image.width() // 2, 8).lightness()   # above the title

    assert background_lightness() > 200
    window.theme_actions["dark"].trigger()
    qtbot.waitUntil(lambda: background_lightness() < 80, timeout=3000)
    text = window.palette().color(window.palette().ColorRole.WindowText)
    assert plot.readout.color == text and plot.legend.opts["labelTextColor"] == text
    window.theme_actions["light"].trigger()
    qtbot.waitUntil(lambda: background_lightness() > 200, timeout=3000)


def test_a_run_started_in_the_window_feeds_the_health_and_step_docks(qtbot, window):
    """Training runs in a worker process: its health samples come with its metrics, and a
    step snapshot is asked of it when the person opens that step."""
    window.open_file(EXAMPLES / "vanishing_gradients.json", ask=False)
    qtbot.waitUntil(lambda: window.training_dock.isVisible(), timeout=3000)
    board = window.training_dashboard
    board.steps_box.setValue(30)
    board.steps_box.editingFinished.emit()
    qtbot.mouseClick(board.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: board.trainer.state == "finished", timeout=30_000)
    assert type(board.trainer).__name__ == "TrainingProcess"
    window.health_dock.toggleViewAction().trigger()           # View > Gradient health
    qtbot.waitUntil(lambda: window.health_panel.health is not None, timeout=3000)
    assert window.health_panel.health.step == 29
    assert "vanishing" in window.health_panel.verdicts.text()
    assert window.open_step(29)
    assert window.step_panel.diff.step == 29
