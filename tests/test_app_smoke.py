"""The window opens with its menus, and `gradstudio FILE` refuses a missing FILE in one line."""
import subprocess
import sys


def test_main_window_opens_with_its_menus(window):
    assert window.windowTitle().startswith("untitled")
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus[:4] == ["File", "Edit", "View", "Run"] and menus[-1] == "Help"


def test_missing_file_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "gradstudio", "no/such/graph.json"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "gradstudio: no such file: no/such/graph.json"
