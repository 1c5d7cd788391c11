"""A new user without a GPU (issue 16, item 14): the editor says why cuda is off where the
person looks (the Device menu's item, the status bar while it is under the mouse, the
toolbar's list); `gradstudio run --device cuda` is an error (exit 2) unless --cpu-fallback."""
import json

import pytest

import engine
from gradstudio import EXAMPLES, cli
from test_newuser_runs import shot

pytestmark = pytest.mark.skipif(engine.cuda.is_available(), reason="a GPU is available here")
BASIC = str(EXAMPLES / "basic_grad.json")


def test_run_on_cuda_without_a_gpu_exits_2_unless_falling_back(capsys):
    assert cli.main(["run", BASIC, "--device", "cuda", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cuda is not available" in err and "--cpu-fallback" in err
    assert cli.main(["run", BASIC, "--device", "cuda", "--cpu-fallback", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["device"] == "cpu"
    assert "running on the cpu" in captured.err


def test_the_device_menu_says_why_cuda_is_off(window, qtbot):
    w = window
    cuda = w.device_actions["cuda"]
    assert not cuda.isEnabled()
    assert cuda.text().startswith("cuda (not available: CuPy is not installed")
    run_menu = w.run_menu
    device_menu = next(a.menu() for a in run_menu.actions() if a.menu() is not None
                       and a.text() == "&Device")
    device_menu.popup(w.mapToGlobal(w.rect().center()))            # the person opens it
    qtbot.waitExposed(device_menu)
    qtbot.waitUntil(lambda: "install the 'cuda12' or 'cuda13' extra"
                    in w.statusBar().currentMessage())
    shot(w, "item14-device-menu")
    device_menu.grab().save("/tmp/newuser/item14-menu-itself.png")
    device_menu.close()
    combo = w.device_combo
    assert combo.itemText(1) == "cuda (not available)" and combo.currentText() == "cpu"
    assert "CuPy" in combo.statusTip()
