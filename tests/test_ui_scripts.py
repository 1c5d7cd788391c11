"""Opening a PyTorch script in the window: asked once, run in its worker, output in Messages,
training in the dashboard, the recorded graph on the canvas with its source lines."""
import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from gradstudio.ui.script_controller import CONSENT_KEY

SCRIPTS = Path(__file__).parent / "scripts"


def script_copy(tmp_path, name="module_mlp.py"):
    shutil.copy(SCRIPTS / name, tmp_path / name)
    return tmp_path / name


def test_opening_a_script_asks_once_then_shows_its_graph_and_training(window, qtbot, tmp_path,
                                                                      monkeypatch):
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.Yes)
    path = script_copy(tmp_path)
    assert window.open_file(path)
    assert window.scripts.wait(120)
    assert len(asked) == 1 and "runs it" in asked[0]
    doc = window.doc
    assert {g.label for g in doc.groups.values()} == {"MLP", "fc1", "fc2"}
    assert doc.meta["root"] == "cross_entropy"
    assert window.path is None and "module_mlp.py" in window.windowTitle()
    messages = window.messages.toPlainText()
    assert "epoch 3 loss" in messages
    dashboard = window.training_dashboard
    assert dashboard.metrics is window.scripts.metrics
    assert len(dashboard.snapshot.loss.values) == 12
    assert window.training_dock.isVisible()

    # the Inspector says where a node came from
    linear = next(n for n in doc.nodes.values() if n.label == "linear")
    window.scene.clearSelection()
    window.scene.node_items[linear.id].setSelected(True)
    box = window.scripts.source_box
    assert box.isVisible()
    assert box.line.text().startswith("module_mlp.py:")
    assert box.module.text() == "fc1"
    assert box.code.text() == "return self.fc2(F.relu(self.fc1(x)))"
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    QTest.mouseDClick(box, Qt.LeftButton)
    assert opened == [str(path.resolve())]
    window.grab().save(str(tmp_path / "script_window.png"))

    # a second script opens without asking again
    assert window.open_file(script_copy(tmp_path, "manual_sgd.py"), ask=False)
    assert window.scripts.wait(120)
    assert len(asked) == 1
    assert {"w1", "b1", "w2", "tanh"} <= {n.label for n in window.doc.nodes.values()}


LOOP = """
import torch
w = torch.tensor([3.0], requires_grad=True)
opt = torch.optim.SGD([w], lr=0.1)
step = 0
while True:
    opt.zero_grad()
    (w * w).sum().backward()
    opt.step()
    step += 1
"""


def test_pause_step_and_stop_from_the_script_menu(window, qtbot, tmp_path):
    window.settings.setValue(CONSENT_KEY, True)
    path = tmp_path / "forever.py"
    path.write_text(LOOP)
    assert window.open_file(path, ask=False)
    scripts = window.scripts
    qtbot.waitUntil(lambda: scripts.metrics.version > 0, timeout=60_000)
    scripts.actions["pause"].trigger()
    qtbot.waitUntil(lambda: scripts.paused, timeout=30_000)
    steps = len(scripts.metrics.snapshot().loss.values)
    scripts.actions["step"].trigger()
    qtbot.waitUntil(lambda: len(scripts.metrics.snapshot().loss.values) == steps + 1,
                    timeout=30_000)
    qtbot.waitUntil(lambda: scripts.paused, timeout=30_000)
    dashboard = window.training_dashboard
    assert dashboard.lr_box.value() == 0.1                    # shows the script's own lr
    dashboard.lr_box.setValue(0.05)
    dashboard.lr_box.editingFinished.emit()                  # the dashboard's control
    scripts.actions["step"].trigger()
    qtbot.waitUntil(lambda: any(m.text == "lr 0.05" for m in scripts.metrics.snapshot().markers),
                    timeout=30_000)
    qtbot.waitUntil(lambda: scripts.metrics.snapshot().lr.values[-1] == 0.05, timeout=30_000)
    scripts.actions["stop"].trigger()
    assert not scripts.run.running and scripts.run.process.poll() is not None
    assert "stopped" in window.messages.toPlainText()


def test_the_run_box_reads_the_scripts_own_step_count(window, qtbot, tmp_path):
    window.settings.setValue(CONSENT_KEY, True)
    assert window.open_file(script_copy(tmp_path), ask=False)
    assert window.scripts.wait(120)
    dashboard = window.training_dashboard
    assert len(dashboard.snapshot.loss.values) == 12
    # the script's loop sets the length: the box says what it ran and is not an edit here
    assert dashboard.steps_box.text() == "12 steps"
    assert not dashboard.steps_box.isEnabled()
    assert not dashboard.until_stopped_box.isEnabled()
    dashboard.grab().save(str(tmp_path / "script_run_box.png"))

    # a graph with a training setup gets its own length back, editable
    examples = Path(__file__).parent.parent / "resources" / "examples"
    assert window.open_file(examples / "xor.json", ask=False)
    qtbot.waitUntil(lambda: dashboard.steps_box.text() == "200 steps")
    assert dashboard.steps_box.isEnabled() and dashboard.until_stopped_box.isEnabled()
