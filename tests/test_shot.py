"""`gradstudio shot`: a PNG of the requested size, the theme, the debugger mid-backward and
the dashboard after training are what the picture shows; mistakes are one-line errors."""
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from gradstudio import EXAMPLES
from gradstudio.cli import main
from gradstudio.commands.shot import prepared_window
from gradstudio.ui.theme import apply_application_theme


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


def mean_lightness(image: QImage) -> float:
    """The average lightness (0-255) over a grid of pixels."""
    values = [image.pixelColor(x, y).lightness()
              for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)]
    return sum(values) / len(values)


def test_shot_writes_a_png_of_the_requested_size_in_each_theme(qapp, tmp_path):
    light, dark = tmp_path / "light.png", tmp_path / "dark.png"
    try:
        assert main(["shot", str(EXAMPLES / "basic_grad.json"), "-o", str(light),
                     "--size", "900x600"]) == 0
        assert main(["shot", str(EXAMPLES / "basic_grad.json"), "-o", str(dark),
                     "--size", "640x480", "--theme", "dark"]) == 0
    finally:
        apply_application_theme("light")          # the application's palette is global
    light_image, dark_image = QImage(str(light)), QImage(str(dark))
    assert (light_image.width(), light_image.height()) == (900, 600)
    assert (dark_image.width(), dark_image.height()) == (640, 480)
    assert mean_lightness(light_image) > 150 > 100 > mean_lightness(dark_image)


def test_select_shows_the_node_in_the_inspector(qtbot, settings):
    window = prepared_window(EXAMPLES / "basic_grad.json", 1200, 800, settings, select="z")
    qtbot.addWidget(window)
    z = window.doc.node_by_label("z")
    assert window.scene.selected_node_ids() == [z.id]
    assert window.inspector.node_id == z.id
    window.undo_stack.setClean()


def test_debug_step_shows_the_debugger_dock_that_many_steps_in(qtbot, settings):
    window = prepared_window(EXAMPLES / "leaf_and_grad_fn.json", 1200, 800, settings,
                             debug_step=2)
    qtbot.addWidget(window)
    panel = window.debugger_panel
    assert window.debugger_dock.isVisible()
    assert panel.debugger.position == 2 and len(panel.debugger.trace) == 2
    assert [p.name for p in panel.debugger.plan][:2] == ["MulBackward0", "AddBackward0"]
    assert panel.position_label.text() == "step 2 / 5"
    # the canvas overlay: b (created after a, so first in backward, as in PyTorch) passes
    # its gradient 3 on to w, drawn in the window's scene
    assert [p.label for p in panel.debugger.plan][:2] == ["y", "b"]
    assert panel.overlay.texts().count("← 3") == 1
    assert panel.overlay.layers and all(layer.scene() is window.scene
                                        for layer in panel.overlay.layers)
    window.undo_stack.setClean()


def test_train_steps_trains_synchronously_and_draws_the_plots(qtbot, settings):
    window = prepared_window(EXAMPLES / "xor.json", 1200, 800, settings, train_steps=30)
    qtbot.addWidget(window)
    board = window.training_dashboard
    assert window.training_dock.isVisible()
    assert board.trainer.steps_done == 30 and not board.trainer.alive
    x, y = board.loss_plot.curves["train"].getData()
    assert len(x) == 30 and x[-1] == 29
    assert board.stale_plots() == []             # every visible plot shows the last step
    window.undo_stack.setClean()


@pytest.mark.parametrize("argv, error", [
    (["--debug-step", "9"], "the backward pass has 5 steps"),
    (["--debug-step", "-1"], "--debug-step must be 0 or more"),
    (["--train-steps", "5"], "has no training setup"),
    (["--size", "big"], "--size must look like 1400x900"),
    (["--select", "nope"], "--select nope: leaf_and_grad_fn.json has no such node"),
])
def test_mistakes_are_one_line_errors(qapp, tmp_path, capsys, argv, error):
    out = tmp_path / "out.png"
    assert main(["shot", str(EXAMPLES / "leaf_and_grad_fn.json"), "-o", str(out), *argv]) == 2
    assert error in capsys.readouterr().err
    assert not out.exists()


def test_debugger_and_training_cannot_both_be_shown(tmp_path):
    with pytest.raises(SystemExit):
        main(["shot", str(EXAMPLES / "spirals.json"), "-o", str(tmp_path / "x.png"),
              "--debug-step", "1", "--train-steps", "1"])
