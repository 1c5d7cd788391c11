"""Runs that go wrong: anomaly mode (Run menu) stops at the node whose forward or backward made
NaN/Inf and selects it; an exception inside the training worker is shown and the window stays
usable; closing the window while training ends the worker cleanly (in a real process)."""
import os
import subprocess
import sys
import textwrap


from gradstudio import EXAMPLES
from gradstudio.runtime import training


def chain(window, value, *kinds):
    """x = tensor(value, requires_grad) -> kinds[0] -> ... -> sum -> backward; returns ids."""
    ed = window.editor
    ids = [ed.add_node("tensor", (0, 0), "x", {"value": value, "requires_grad": True}).id]
    for k, kind in enumerate(kinds + ("sum", "backward")):
        ids.append(ed.add_node(kind, (220 * (k + 1), 0)).id)
        ed.connect_ports(ids[-2], "out", ids[-1], "input")
    return ids


def selected(window):
    return window.scene.selected_node_ids()


def test_anomaly_mode_is_in_the_run_menu(window):
    run_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Run")
    assert window.act_detect_anomaly in run_menu.actions()
    assert window.act_detect_anomaly.isCheckable() and not window.act_detect_anomaly.isChecked()


def test_a_nan_made_in_backward_stops_at_its_node_and_selects_it(window):
    x, sqrt, mul, total, root = chain(window, [0.0, 4.0], "sqrt", "neg")
    window.act_detect_anomaly.setChecked(True)
    window.act_backward.trigger()
    assert selected(window) == [sqrt]
    assert "anomaly: the backward (SqrtBackward0) produced" in window.runner.errors[sqrt]
    assert any("anomaly" in line and "sqrt" in line for line in window.messages.lines())
    assert root not in window.runner.errors
    window.act_detect_anomaly.setChecked(False)         # off: the run goes through
    assert sqrt not in window.runner.errors
    window.act_backward.trigger()
    assert not window.runner.errors


def test_a_nan_made_in_forward_stops_before_backward(window):
    x, log, exp, total, root = chain(window, [-1.0, 1.0], "log", "exp")
    window.act_detect_anomaly.setChecked(True)
    window.act_backward.trigger()
    assert selected(window) == [log]
    assert window.runner.errors[log] == "anomaly: the forward produced NaN"
    assert window.runner.results[x].grad is None        # backward did not run
    assert exp not in window.runner.errors              # the first producer only


def test_an_exception_in_the_training_worker_is_shown_and_the_ui_stays_live(
        window, qtbot, monkeypatch):
    def broken_step(self):
        raise ZeroDivisionError("worker went wrong on purpose")

    monkeypatch.setattr(training.Trainer, "_one_step", broken_step)
    assert window.open_file(EXAMPLES / "xor.json", ask=False)
    qtbot.waitUntil(window.training_dock.isVisible, timeout=3000)    # arranged for training
    board = window.training_dashboard
    board.worker = "thread"            # the broken step is patched into this process
    assert board.start()
    qtbot.waitUntil(lambda: not board.trainer.alive, timeout=5000)
    qtbot.waitUntil(lambda: any("worker went wrong" in line for line in window.messages.lines()),
                    timeout=3000)
    line = next(line for line in window.messages.lines() if "worker went wrong" in line)
    assert "ZeroDivisionError" in line and "\n" not in line
    assert board.trainer.state == "stopped" and board.start_button.isEnabled()
    node = window.editor.add_node("tensor", (0, 600), "still_editing")   # the UI answers
    assert node is not None and window.runner.run(backward=False) is not None


CLOSE_WHILE_TRAINING = textwrap.dedent("""
    import sys
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QMessageBox
    from gradstudio import EXAMPLES
    from gradstudio.ui import app
    from gradstudio.ui.main_window import MainWindow

    qapp = app.create_application()
    window = MainWindow(QSettings(sys.argv[1], QSettings.IniFormat))
    window.show()
    window.open_file(EXAMPLES / "spirals.json", ask=False)
    board = window.training_dashboard
    running = []

    def start():                                        # once the dock has the document
        board.until_stopped_box.setChecked(True)        # would train for hours
        board.start()
        running.append(board.trainer)
        QTimer.singleShot(0, close_when_running)

    def close_when_running():
        trainer = running[0]
        if trainer.alive and trainer.steps_done < 3:
            QTimer.singleShot(20, close_when_running)
            return
        print(trainer.alive, window.close(), flush=True)

    QTimer.singleShot(100, start)
    code = qapp.exec()
    trainer = running[0]
    print(code, trainer.alive, trainer.message, flush=True)
""")


def test_closing_the_window_while_training_stops_the_worker(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", CLOSE_WHILE_TRAINING,
                             str(tmp_path / "settings.ini")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    was_alive, closed, code, alive, message = result.stdout.split(maxsplit=4)
    assert (was_alive, closed, code, alive) == ("True", "True", "0", "False"), result.stderr
    assert message.startswith("stopped at step ")      # a clean stop, not a failure


def test_training_set_to_cuda_without_one_runs_on_the_cpu_with_a_message(
        window, qtbot, monkeypatch):
    from gradstudio.runtime import session as session_module

    monkeypatch.setattr(session_module, "device_problem", lambda engine, device: None
                        if device == "cpu" else "cuda is not available: no GPU here")
    assert window.open_file(EXAMPLES / "xor.json", ask=False)
    qtbot.waitUntil(window.training_dock.isVisible, timeout=3000)    # arranged for training
    training_setup = dict(window.doc.meta["training"], device="cuda")
    window.doc.set_meta("training", training_setup)
    board = window.training_dashboard
    board.worker = "thread"            # the missing GPU is patched into this process
    assert board.start()
    assert board.trainer.session.device == "cpu"
    assert any(line.endswith("cuda is not available: no GPU here; running on the cpu")
               for line in window.messages.lines())
    qtbot.waitUntil(lambda: board.trainer.steps_done > 2, timeout=5000)       # and trains
    board.stop()


def test_anomaly_mode_reports_ordinary_backward_failures_on_the_root(window):
    ed = window.editor
    x = ed.add_node("tensor", (0, 0), "x", {"value": [1.0, 2.0]})       # no requires_grad
    root = ed.add_node("backward", (300, 0))
    ed.connect_ports(x.id, "out", root.id, "input")
    window.act_detect_anomaly.setChecked(True)
    window.act_backward.trigger()
    without = window.runner.errors[root.id]
    window.act_detect_anomaly.setChecked(False)
    window.act_backward.trigger()
    assert without == window.runner.errors[root.id] and without.startswith("backward: ")
    assert selected(window) == []


def test_running_out_of_gpu_memory_falls_back_to_the_cpu_with_a_message(window, monkeypatch):
    """A stand-in GPU: cuda counts as available, and moving a tensor onto it fails as CuPy
    does when memory runs out."""
    from gradstudio.runtime import session as session_module
    from gradstudio.ui import run_controller

    for module in (session_module, run_controller):
        monkeypatch.setattr(module, "device_problem", lambda engine, device: None)
    real_on_device = session_module.Session._on_device

    def on_device(self, value):
        if self.device == "cuda":
            raise MemoryError("Out of memory allocating 8,589,934,592 bytes "
                              "(allocated so far: 0 bytes).")
        return real_on_device(self, value)

    monkeypatch.setattr(session_module.Session, "_on_device", on_device)
    x, relu, total, root = chain(window, [1.0, -2.0], "relu")
    window.set_device("cuda")
    assert window.runner.device == "cpu"                # fell back at once
    assert window.device_combo.currentText() == "cpu"
    assert window.device_actions["cpu"].isChecked()
    assert any(line.endswith("cuda ran out of memory; running on the cpu")
               for line in window.messages.lines())
    window.act_backward.trigger()
    assert not window.runner.errors
    assert window.runner.results[x].grad.tolist() == [1.0, 0.0]
