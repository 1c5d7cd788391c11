"""`gradstudio shot --why NAME` and `--detect-anomaly`: the picture shows the answer's dock and
path, or the run stopped at the node that made NaN with the Inspector saying where it came
from; an unknown NAME is a one-line error."""
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from gradstudio import EXAMPLES
from gradstudio.cli import main
from gradstudio.commands.shot import prepared_window


@pytest.fixture(autouse=True)
def anomaly_mode_off_afterwards():
    """Anomaly mode is the engine's thread-wide switch: later tests must not inherit it."""
    yield
    import engine
    engine.autograd.set_detect_anomaly(False)


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


def test_why_opens_the_answer_with_its_path(qtbot, settings):
    window = prepared_window(EXAMPLES / "why_no_gradient.json", 1200, 800, settings, why="w")
    try:
        assert window.why_dock.isVisible()
        assert "w.grad is zero" in window.why_panel.headline.text()
        assert any(m.startswith("path ") for m in window.why_panel.overlay.marked)
    finally:
        window.undo_stack.setClean()
        window.close()


def test_detect_anomaly_stops_at_the_nan_and_the_inspector_says_why(qtbot, settings):
    window = prepared_window(EXAMPLES / "nan_origin.json", 1200, 800, settings,
                             detect_anomaly=True)
    try:
        log = window.doc.node_by_label("log_x").id
        assert window.scene.selected_node_ids() == [log]
        assert window.nan_origin_view.isVisible()
        assert "log of -0.3 = nan" in window.nan_origin_view.summary.text()
    finally:
        window.undo_stack.setClean()
        window.close()


def test_the_command_writes_the_png_and_refuses_an_unknown_name(qapp, tmp_path, capsys):
    out = tmp_path / "why.png"
    assert main(["shot", str(EXAMPLES / "why_no_gradient.json"), "-o", str(out),
                 "--size", "800x600", "--why", "v"]) == 0
    assert QImage(str(out)).width() == 800
    assert main(["shot", str(EXAMPLES / "why_no_gradient.json"), "-o", str(out),
                 "--why", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no node, output or parameter is called 'nope'" in err[0]
