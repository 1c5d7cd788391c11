"""Autosave and recovery: unsaved work reaches the data folder on a timer, saving removes it,
a killed session's work is offered at the next start (Restore opens it unsaved, Discard
deletes it), a running session's work is never offered, a clean end leaves nothing."""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradstudio.graph import fileio
from gradstudio.ui.autosave import Autosave, offer_recovery, recoverable


def edit(window):
    x = window.editor.add_node("tensor", (0, 0), "x", {"value": [1.0, 2.0]})
    n = window.editor.add_node("neg", (200, 0), "n")
    window.editor.connect_ports(x.id, "out", n.id, "input")


def files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_unsaved_work_is_autosaved_and_saving_removes_it(window, qtbot, tmp_path):
    folder = tmp_path / "autosave"
    autosave = Autosave(window, folder, interval_ms=20)
    qtbot.wait(60)
    assert not autosave.graph_path.exists()           # nothing unsaved: nothing written
    edit(window)
    qtbot.waitUntil(autosave.graph_path.exists, timeout=2000)
    assert fileio.dumps(fileio.load(autosave.graph_path)) == fileio.dumps(window.doc)
    assert window.save_to(tmp_path / "g.json")
    assert not autosave.graph_path.exists() and not autosave.info_path.exists()
    window.undo_stack.undo()                          # unsaved again
    qtbot.waitUntil(autosave.graph_path.exists, timeout=2000)
    window.undo_stack.redo()                          # back at the saved state
    assert not autosave.graph_path.exists()
    autosave.end()


def test_a_running_sessions_work_is_never_offered(window, tmp_path):
    folder = tmp_path / "autosave"
    autosave = Autosave(window, folder)
    edit(window)
    assert autosave.save_now()
    assert recoverable(folder) == []                  # its lock is held by a live process
    window.close()
    autosave.end()                                    # closed after answering: clean end
    assert files(folder) == []


def test_an_interrupted_session_leaves_its_work_for_the_next_start(window, tmp_path):
    folder = tmp_path / "autosave"
    autosave = Autosave(window, folder)
    edit(window)
    autosave.end()                                    # the loop ended, the window still open
    (item,) = recoverable(folder)
    assert fileio.dumps(fileio.load(item.graph_path)) == fileio.dumps(window.doc)
    item.lock.unlock()


KILLED_SESSION = textwrap.dedent("""
    import sys, time
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from gradstudio.ui.autosave import Autosave
    from gradstudio.ui.main_window import MainWindow
    app = QApplication([])
    window = MainWindow(QSettings(sys.argv[2], QSettings.IniFormat))
    window.path = None
    autosave = Autosave(window, sys.argv[1], interval_ms=10)
    window.editor.add_node("tensor", (0, 0), "kept", {"value": [4.0, 5.0]})
    window.editor.add_node("relu", (200, 0), "r")
    while not autosave.graph_path.exists():
        app.processEvents()
        time.sleep(0.01)
    print("autosaved", flush=True)
    time.sleep(60)
""")


@pytest.fixture(scope="module")
def left_by_a_kill(tmp_path_factory):
    """The autosave folder of a window that autosaved, then was killed (SIGKILL: no clean end)."""
    tmp_path = tmp_path_factory.mktemp("killed")
    folder = tmp_path / "autosave"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, "-c", KILLED_SESSION, str(folder),
                              str(tmp_path / "child.ini")], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout.readline().strip() == b"autosaved"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    return folder


@pytest.fixture
def crashed_folder(left_by_a_kill, tmp_path):
    """A copy of that folder for one test (its lock still names the dead process)."""
    return Path(shutil.copytree(left_by_a_kill, tmp_path / "autosave"))


def test_restore_after_a_crash_opens_the_work_unsaved(window, crashed_folder):
    folder = crashed_folder
    assert any(name.endswith(".lock") for name in files(folder))   # the marker stayed
    box = offer_recovery(window, folder)
    assert box is not None and box.isVisible() and "did not end cleanly" in box.text()
    box.restore_button.click()
    assert sorted(n.label for n in window.doc.nodes.values()) == ["kept", "r"]
    assert window.doc.node_by_label("kept").params["value"] == [4.0, 5.0]
    assert window.isWindowModified() and not window.undo_stack.isClean()
    assert window.windowTitle().startswith("recovered")
    assert files(folder) == []                        # restored: no second offer
    assert offer_recovery(window, folder) is None


def test_discard_after_a_crash_deletes_the_work(window, crashed_folder):
    folder = crashed_folder
    before = fileio.dumps(window.doc)
    box = offer_recovery(window, folder)
    box.discard_button.click()
    assert fileio.dumps(window.doc) == before
    assert files(folder) == []


def test_closing_the_offer_keeps_the_work_for_next_time(window, crashed_folder):
    folder = crashed_folder
    offer_recovery(window, folder).reject()
    (item,) = recoverable(folder)
    item.lock.unlock()


LAUNCHED = textwrap.dedent("""
    import os, signal, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from gradstudio.ui import app
    from gradstudio.ui.autosave import Autosave
    from gradstudio.ui.crash_report import data_folder
    from gradstudio.ui.main_window import MainWindow

    def window():
        return next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))

    def first_start():                  # edit, autosave, then die as a crash would
        w = window()
        w.editor.add_node("tensor", (0, 0), "unsaved_work")
        w.findChildren(Autosave)[0].save_now()
        os.kill(os.getpid(), signal.SIGKILL)

    def second_start():                 # the offer is up: restore, then quit normally
        w = window()
        w.recovery_box.restore_button.click()
        print(sorted(n.label for n in w.doc.nodes.values()), w.isWindowModified(), flush=True)
        w.close()                       # headless: the unsaved changes are discarded

    app.create_application()            # launch uses this one
    QTimer.singleShot(300, first_start if sys.argv[1] == "first" else second_start)
    code = app.launch()
    print(code, sorted(os.listdir(data_folder() / "autosave")), flush=True)
""")


def test_gradstudio_offers_after_a_crash_what_it_autosaved(tmp_path):
    """End to end through `app.launch`, with the data folder (Qt's AppDataLocation) under
    XDG_DATA_HOME."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    first = subprocess.run([sys.executable, "-c", LAUNCHED, "first"], env=env,
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == -signal.SIGKILL
    (folder,) = (tmp_path / "data").glob("**/autosave")
    assert len([name for name in files(folder) if name.endswith(".json")]) == 1
    second = subprocess.run([sys.executable, "-c", LAUNCHED, "second"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    restored, ended = second.stdout.splitlines()
    assert "'unsaved_work'" in restored and restored.endswith("True")
    assert ended == "0 []"                    # a clean end leaves nothing to recover
    assert "unexpected error" not in (folder.parent / "gradstudio.log").read_text()
