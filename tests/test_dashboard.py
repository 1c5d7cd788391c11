"""The training dashboard trains the ready examples in the GUI: curves and histograms
update, Pause / Step / Stop work, live clipping, learning rate and freezing take effect,
a deep sigmoid network's gradient norms shrink toward the input, exports write files."""
import csv
import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, Qt

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.runtime.metrics import Curve, TrainingMetrics
from gradstudio.ui import dashboard as dashboard_module
from gradstudio.ui.dashboard import TrainingDashboard, layer_norms


def example(name, **training):
    doc = fileio.load(EXAMPLES / f"{name}.json")
    doc.meta["training"] = {**doc.meta["training"], **training}
    return doc


@pytest.fixture
def dashboard(qtbot):
    board = TrainingDashboard()
    qtbot.addWidget(board)
    board.resize(1200, 560)
    board.show()
    yield board
    board.shutdown()


def train_to_the_end(qtbot, board, timeout=20_000):
    assert board.start()
    qtbot.waitUntil(lambda: not board.trainer.alive, timeout=timeout)
    board.refresh()
    assert board.trainer.state == "finished", board.trainer.message


def drawn(curve):
    x, y = curve.getData()
    return np.asarray(x), np.asarray(y)


@pytest.mark.parametrize("name", ["xor", "spirals"])
def test_examples_train_in_the_gui(qtbot, dashboard, name):
    doc = example(name)
    dashboard.set_document(doc)
    assert dashboard.tabs.tabText(0) == "Overview"
    assert dashboard.visible_keys() == doc.meta["dashboard"]["plots"]
    train_to_the_end(qtbot, dashboard)
    for tab in range(dashboard.tabs.count()):          # a tab draws its plots when shown
        dashboard.tabs.setCurrentIndex(tab)
    steps = dashboard.trainer.steps_done
    x, raw = drawn(dashboard.loss_plot.curves["train (raw)"])
    assert len(x) == steps
    _, smooth = drawn(dashboard.loss_plot.curves["train"])
    assert smooth[-1] < 0.3 * smooth[0]                  # the loss came down
    panel = dashboard.grad_panel
    assert panel.heatmap.columns > 2                      # gradient histograms over time
    assert panel.histogram.bars.getData()[1].sum() > 0
    assert dashboard.boundary_plot.step == steps - 1      # decision boundary at the last step
    assert dashboard.snapshot.accuracy.values[-1] > 0.9
    assert "finished" in dashboard.status.text()


def test_decision_boundaries_of_a_run_share_their_data_points():
    """The boundary plot sets its scatter points (a brush per point) only for new points."""
    from gradstudio.runtime.training import Trainer
    trainer = Trainer.for_document(example("spirals", eval_every=2))
    trainer.run(1)
    first = trainer.metrics.decision_boundary
    trainer.run(2)
    later = trainer.metrics.decision_boundary
    assert later.step == 2 and first.step == 0
    assert later.points is first.points and later.labels is first.labels
    assert later.points.shape == (len(trainer._x), 2)
    trainer.close()


def test_pause_step_resume_and_stop(qtbot, dashboard):
    dashboard.set_document(example("spirals", steps=1_000_000))
    dashboard.start()
    trainer = dashboard.trainer
    qtbot.waitUntil(lambda: trainer.steps_done > 5, timeout=5000)
    dashboard.toggle_pause()
    assert dashboard.pause_button.text() == "Resume"
    qtbot.waitUntil(lambda: trainer.state == "paused", timeout=5000)
    paused_at = trainer.steps_done
    qtbot.wait(100)
    assert trainer.steps_done == paused_at
    assert dashboard.step_button.isEnabled()
    dashboard.step_once()
    qtbot.waitUntil(lambda: trainer.steps_done == paused_at + 1, timeout=5000)
    qtbot.wait(50)
    assert trainer.steps_done == paused_at + 1
    dashboard.toggle_pause()
    qtbot.waitUntil(lambda: trainer.steps_done > paused_at + 5, timeout=5000)
    dashboard.stop()                 # asks the worker; the window does not wait for it
    qtbot.waitUntil(lambda: not trainer.alive, timeout=5000)
    assert trainer.state == "stopped"
    assert dashboard.start_button.text() == "Start" and not dashboard.stop_button.isEnabled()


def test_step_without_a_run_trains_exactly_one_step(qtbot, dashboard):
    dashboard.set_document(example("xor"))
    dashboard.step_once()
    qtbot.waitUntil(lambda: dashboard.trainer.state == "paused" and
                    dashboard.trainer.steps_done == 1, timeout=5000)
    qtbot.waitUntil(lambda: "train (raw)" in dashboard.loss_plot.curves, timeout=2000)
    assert len(dashboard.loss_plot.curves["train (raw)"].getData()[0]) == 1


def wait_for_marker(qtbot, board, text):
    qtbot.waitUntil(lambda: board.snapshot is not None and any(
        text in m.text for m in board.snapshot.markers), timeout=5000)
    return next(m.step for m in board.snapshot.markers if text in m.text)


def test_turning_clipping_on_bounds_the_post_clip_norm(qtbot, dashboard):
    doc = example("spirals", steps=1_000_000)
    dashboard.set_document(doc)
    assert dashboard.clip_mode.currentText() == "none"
    dashboard.start()
    qtbot.waitUntil(lambda: dashboard.trainer.steps_done > 10, timeout=5000)
    dashboard.clip_mode.setCurrentText("norm")
    dashboard.clip_threshold.setValue(0.05)
    dashboard.apply_clipping()
    assert doc.meta["training"]["clipping"] == {"mode": "norm", "max_norm": 0.05}
    assert dashboard.max_norm_line.isVisible() and dashboard.max_norm_line.value() == 0.05
    changed_at = wait_for_marker(qtbot, dashboard, "clip norm 0.05")
    qtbot.waitUntil(lambda: dashboard.snapshot.step > changed_at + 20, timeout=5000)
    dashboard.stop()
    snap = dashboard.trainer.metrics.snapshot()
    after = snap.grad_norm_post_clip.steps >= changed_at
    pre, post = snap.grad_norm_pre_clip.values, snap.grad_norm_post_clip.values
    assert after.sum() > 20
    assert np.all(post[after] <= 0.05 * (1 + 1e-4))
    assert np.any(pre[after] > 0.05)                  # clipping had something to do
    assert np.all(post[~after] == pre[~after])        # and nothing before it was on
    dashboard.refresh()
    dashboard.show_plot("loss")
    assert any("clip norm 0.05" in line.label.format
               for line in dashboard.loss_plot.marker_lines.values())


def test_learning_rate_and_freezing_apply_at_the_next_step(qtbot, dashboard):
    doc = example("spirals", steps=1_000_000)
    dashboard.set_document(doc)
    items = [dashboard.parameter_list.item(i).text()
             for i in range(dashboard.parameter_list.count())]
    assert items == ["fc1", "fc2", "logits"]
    first_lr = doc.meta["training"]["optimizer"]["lr"]
    dashboard.start()
    qtbot.waitUntil(lambda: dashboard.trainer.steps_done > 5, timeout=5000)
    dashboard.lr_box.setValue(0.002)
    dashboard.apply_lr()
    dashboard.parameter_list.item(0).setCheckState(Qt.Unchecked)
    assert doc.meta["training"]["frozen"] == ["fc1"]
    frozen_at = wait_for_marker(qtbot, dashboard, "freeze fc1")
    lr_at = wait_for_marker(qtbot, dashboard, f"lr {float(first_lr)} -> 0.002")
    qtbot.waitUntil(lambda: dashboard.snapshot.step > max(frozen_at, lr_at) + 5, timeout=5000)
    dashboard.stop()
    snap = dashboard.trainer.metrics.snapshot()
    assert snap.lr.values[-1] == 0.002
    assert snap.grad_norms["fc1.weight"].steps.max() < frozen_at       # no gradient since
    assert snap.grad_norms["fc2.weight"].steps.max() > frozen_at


def test_deep_sigmoid_gradients_shrink_toward_the_input(qtbot, dashboard):
    dashboard.set_document(example("vanishing_gradients"))
    train_to_the_end(qtbot, dashboard)
    dashboard.show_plot("grad_norms")
    curves = dashboard.norm_plot.curves
    layers = ["fc1", "fc2", "fc3", "fc4", "fc5", "fc6", "out"]
    assert list(curves) == layers
    means = [np.nanmean(10 ** drawn(curves[name])[1]) for name in layers]   # log-mode data
    assert all(a < b for a, b in zip(means, means[1:])), means
    assert dashboard.norm_plot.alarm_count > 0          # fc1 falls below 1e-6


def test_layer_norms_combine_a_layers_parameters():
    steps = np.arange(3)
    norms = {"fc1.weight": Curve(steps, np.array([3.0, 3, 3])),
             "fc1.bias": Curve(steps, np.array([4.0, 4, 4])),
             "W": Curve(np.array([1, 2]), np.array([1.0, 2.0]))}
    layers = layer_norms(norms, ["fc1", "W"])
    assert list(layers) == ["fc1", "W"]
    np.testing.assert_allclose(layers["fc1"][1], [5, 5, 5])
    np.testing.assert_array_equal(layers["W"][0], [1, 2])


def test_exports_write_png_and_csv(qtbot, dashboard, tmp_path):
    dashboard.set_document(example("xor"))
    with pytest.raises(OSError):
        dashboard.export_csv(tmp_path / "none.csv")
    train_to_the_end(qtbot, dashboard)
    png, table = tmp_path / "plots.png", tmp_path / "metrics.csv"
    dashboard.export_png(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    steps = dashboard.trainer.steps_done
    assert dashboard.export_csv(table) == steps
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == steps and float(rows[-1]["loss"]) < float(rows[0]["loss"])
    with pytest.raises(OSError):
        dashboard.export_png(tmp_path / "missing" / "plots.png")


def test_a_document_without_training_cannot_start(qtbot, dashboard):
    dashboard.set_document(fileio.load(EXAMPLES / "basic_grad.json"))
    assert not dashboard.start_button.isEnabled()
    assert "no training setup" in dashboard.status.text()
    with qtbot.waitSignal(dashboard.message) as signal:
        assert not dashboard.start()
    assert signal.args[1] == "error" and "training" in signal.args[0]


def test_a_failing_node_stops_training_with_a_message_naming_it(qtbot, dashboard):
    doc = example("spirals")
    fc2 = doc.node_by_label("fc2")
    doc.nodes[fc2.id].params["in_features"] = 5          # fc1 gives 64 features
    dashboard.set_document(doc)
    messages = []
    dashboard.message.connect(lambda text, level: messages.append((level, text)))
    dashboard.start()
    qtbot.waitUntil(lambda: not dashboard.trainer.alive, timeout=5000)
    dashboard.refresh()
    assert dashboard.trainer.state == "stopped"
    level, text = messages[-1]
    assert level == "error" and "fc2" in text
    assert "fc2" in dashboard.status.text()


def test_log_scale_and_smoothing_controls(qtbot, dashboard):
    dashboard.set_document(example("xor"))
    train_to_the_end(qtbot, dashboard)
    raw = dashboard.snapshot.loss.values
    dashboard.log_scale.setChecked(True)
    np.testing.assert_allclose(drawn(dashboard.loss_plot.curves["train (raw)"])[1],
                               np.log10(raw))
    dashboard.smoothing.setValue(0)
    assert dashboard.smoothing_label.text() == "0.00"
    np.testing.assert_allclose(10 ** drawn(dashboard.loss_plot.curves["train"])[1], raw)
    dashboard.smoothing.setValue(90)
    smooth = 10 ** drawn(dashboard.loss_plot.curves["train"])[1]
    assert np.abs(np.diff(smooth)).sum() < np.abs(np.diff(raw)).sum()


def test_redraw_period_adapts_to_the_ui_threads_cpu_time(dashboard):
    """Busy UI thread: the timer slows down (training keeps the GIL); idle: back to 60 Hz."""
    from gradstudio.ui.dashboard import FRAME_MS, SLOWEST_FRAME_MS

    def burn(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
    dashboard.timer.setInterval(FRAME_MS)
    dashboard._pace_mark = None
    dashboard._pace()
    burn(0.02)                                   # 20 ms of drawing in a 20 ms frame
    dashboard._pace()
    assert dashboard.timer.interval() > 2 * FRAME_MS
    for _ in range(2):
        burn(0.15)
        dashboard._pace()
    assert dashboard.timer.interval() == SLOWEST_FRAME_MS
    for _ in range(12):
        time.sleep(0.02)                         # idle frames
        dashboard._pace()
    assert dashboard.timer.interval() == FRAME_MS


def test_a_costly_frame_pays_for_itself_at_once(dashboard):
    """The wait after a frame is its CPU time over UI_SHARE, whatever the period was."""
    from gradstudio.ui.dashboard import SLOWEST_FRAME_MS, UI_SHARE
    dashboard.timer.setInterval(SLOWEST_FRAME_MS)
    dashboard._pace_mark = None
    dashboard._pace()
    end = time.thread_time() + 0.004                # a 4 ms frame
    while time.thread_time() < end:
        pass
    dashboard._pace()
    assert 4 / UI_SHARE <= dashboard.timer.interval() <= 1.5 * 4 / UI_SHARE


def test_a_wait_longer_than_the_longest_is_added_to_the_next_ones(dashboard):
    """A 30 ms frame at UI_SHARE 0.05 owes 600 ms of waiting: 250 + 250 + 100."""
    from gradstudio.ui.dashboard import SLOWEST_FRAME_MS, UI_SHARE
    dashboard._pace_mark = None
    dashboard._pace()
    end = time.thread_time() + 0.03
    while time.thread_time() < end:
        pass
    dashboard._pace()
    owed = 30 / UI_SHARE - SLOWEST_FRAME_MS
    assert dashboard.timer.interval() == SLOWEST_FRAME_MS
    while owed > SLOWEST_FRAME_MS:                 # idle frames pay off what is owed
        dashboard._pace()
        assert dashboard.timer.interval() == SLOWEST_FRAME_MS
        owed -= SLOWEST_FRAME_MS
    dashboard._pace()
    assert owed <= dashboard.timer.interval() <= owed + 30


def test_a_frame_copies_only_what_the_visible_plots_draw(dashboard):
    """The trained parameters' names come with the snapshot: learning them copies no
    histogram history (the Weights tab is not shown)."""
    metrics = TrainingMetrics()
    metrics.record_step(0, loss=1.0)
    metrics.record_histograms(0, weights={"fc1.weight": np.ones(4), "fc1.bias": np.zeros(2)})
    dashboard.metrics = metrics
    dashboard.refresh()
    snap = dashboard.snapshot
    assert snap.weighted == ("fc1.weight", "fc1.bias")
    assert "weight_histograms" not in snap._read and "grad_histograms" not in snap._read
    dashboard.show_plot("weight_histograms")
    assert list(snap.weight_histograms) == ["fc1.weight", "fc1.bias"]


def test_update_ratios_over_weights_near_zero_are_left_out(dashboard):
    metrics = TrainingMetrics()
    for step in range(3):        # a zero-initialised bias: its first ratio divides by ~0
        metrics.record_step(step, loss=1.0, update_ratios={"b": 1e10 if step == 0 else 0.01})
    dashboard.metrics = metrics
    dashboard.refresh()
    dashboard.show_plot("update_ratio")
    y = drawn(dashboard.ratio_plot.curves["b"])[1]            # log10 of what is drawn
    assert np.isnan(y[0]) and np.allclose(y[1:], -2)


def test_a_frame_is_drawn_and_painted_with_the_worker_parked(qtbot, dashboard, monkeypatch):
    """A trainer in a thread of the window's process waits between two steps while a
    frame draws and paints."""
    monkeypatch.setattr(dashboard_module, "GATE_WAIT_S", 5.0)   # a slow CI step still parks
    dashboard.worker = "thread"
    dashboard.set_document(example("spirals", steps=100_000))
    assert dashboard.start()
    trainer = dashboard.trainer
    qtbot.waitUntil(lambda: trainer.steps_done >= 20, timeout=10_000)
    frames = []
    real_refresh = dashboard.refresh
    paints = []

    class PaintCounter(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint:
                paints.append(trainer.steps_done)
            return False
    counter = PaintCounter()
    dashboard.plots["loss"].viewport().installEventFilter(counter)

    def refresh(plots=None):
        before = trainer.steps_done
        real_refresh(plots)
        frames.append((before, trainer.steps_done, trainer.gate._wanted))
    monkeypatch.setattr(dashboard, "refresh", refresh)
    for _ in range(3):
        version = dashboard.snapshot.version if dashboard.snapshot else 0
        dashboard.drawn.update(dict.fromkeys(dashboard.visible_keys(), version))
        del dashboard.drawn["loss"]                  # the loss plot waits longest: drawn now
        start = len(paints)
        dashboard._tick()
        assert frames[-1][0] == frames[-1][1] and frames[-1][2]  # no step while it drew
        assert len(paints) > start                                # painted inside the frame
    assert not trainer.gate._wanted                               # released after each
    steps = trainer.steps_done
    qtbot.waitUntil(lambda: trainer.steps_done > steps + 10, timeout=10_000)
    dashboard.stop()


# ------------------------------------------------------------------ a run in its own process
def test_every_visible_plot_shows_the_same_step_in_each_frame(qtbot, dashboard):
    dashboard.set_document(example("spirals", steps=1_000_000, eval_every=5))
    qtbot.mouseClick(dashboard.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dashboard.snapshot is not None and dashboard.snapshot.step > 30,
                    timeout=20_000)
    for _ in range(3):
        qtbot.waitUntil(lambda: dashboard.trainer.poll().steps_done > dashboard.snapshot.step + 1,
                        timeout=5000)
        dashboard._tick()                    # one frame, as the timer runs it
        step = dashboard.snapshot.step
        keys = dashboard.visible_keys()
        assert keys == ["loss", "accuracy", "decision_boundary", "grad_norms", "grad_histograms"]
        assert {dashboard.shown_step[k] for k in keys} == {step}
        assert drawn(dashboard.loss_plot.curves["train (raw)"])[0][-1] == step
        assert all(drawn(c)[0][-1] == step for c in dashboard.norm_plot.curves.values())
    dashboard.stop()


def test_a_killed_worker_is_reported_with_its_plots_kept_and_start_trains_again(qtbot, dashboard):
    import os
    import signal
    dashboard.set_document(example("spirals", steps=1_000_000))
    messages = []
    dashboard.message.connect(lambda text, level: messages.append((level, text)))
    qtbot.mouseClick(dashboard.start_button, Qt.LeftButton)
    run = dashboard.trainer
    qtbot.waitUntil(lambda: run.steps_done > 20, timeout=20_000)
    os.kill(run.pid, signal.SIGKILL)                     # as the out-of-memory killer does
    qtbot.waitUntil(lambda: not dashboard.stop_button.isEnabled(), timeout=5000)
    level, text = messages[-1]
    assert level == "error" and "killed (SIGKILL" in text and "metrics so far are kept" in text
    assert "killed" in dashboard.status.text()
    kept = len(drawn(dashboard.loss_plot.curves["train (raw)"])[0])
    assert kept >= 20 and dashboard.start_button.text() == "Start"
    assert dashboard.start_button.isEnabled() and dashboard.step_button.isEnabled()
    qtbot.mouseClick(dashboard.start_button, Qt.LeftButton)
    assert dashboard.trainer is not run
    qtbot.waitUntil(lambda: dashboard.trainer.steps_done > 5, timeout=20_000)
    assert dashboard.trainer.alive and not run.alive
    dashboard.stop()


def test_until_stopped_trains_past_the_steps_and_the_steps_box_edits_the_setup(qtbot, dashboard):
    doc = example("xor", steps=20)
    dashboard.set_document(doc)
    assert dashboard.steps_box.value() == 20 and dashboard.steps_box.suffix() == " steps"
    dashboard.until_stopped_box.click()
    assert not dashboard.steps_box.isEnabled()
    qtbot.mouseClick(dashboard.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dashboard.trainer.steps_done > 60, timeout=20_000)
    assert dashboard.trainer.alive and "(until stopped)" in dashboard.status.text()
    dashboard.until_stopped_box.click()                  # off mid-run: the setup's 20 are done
    qtbot.waitUntil(lambda: not dashboard.trainer.alive, timeout=5000)
    assert dashboard.trainer.state == "finished"
    dashboard.steps_box.setValue(300)
    dashboard.steps_box.editingFinished.emit()
    assert doc.meta["training"]["steps"] == 300
    assert "epochs" not in doc.meta["training"]


def test_a_speed_limit_holds_a_run_back_and_can_be_lifted_mid_run(qtbot, dashboard):
    dashboard.set_document(example("xor", steps=1_000_000))
    dashboard.rate_box.setValue(0.0)
    assert dashboard.rate_box.text() == "no limit"        # off by default
    dashboard.rate_box.setValue(0.5)                     # one step every two seconds
    qtbot.mouseClick(dashboard.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dashboard.trainer.steps_done == 1, timeout=20_000)
    qtbot.wait(300)
    assert dashboard.trainer.steps_done == 1
    qtbot.waitUntil(lambda: "(limit 0.5)" in dashboard.status.text(), timeout=5000)
    dashboard.rate_box.setValue(0.0)                     # lifted: full speed at once
    qtbot.waitUntil(lambda: dashboard.trainer.steps_done > 50, timeout=20_000)
    qtbot.mouseClick(dashboard.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dashboard.trainer.alive, timeout=5000)
    assert dashboard.trainer.state == "stopped"


def test_without_a_worker_process_training_runs_in_the_window_with_a_warning(
        qtbot, dashboard, monkeypatch):
    from gradstudio.runtime import training_process

    def no_process(*args):
        raise OSError("Resource temporarily unavailable")
    monkeypatch.setattr(training_process, "_spawn_worker", no_process)
    dashboard.set_document(example("xor", steps=20))
    messages = []
    dashboard.message.connect(lambda text, level: messages.append((level, text)))
    qtbot.mouseClick(dashboard.start_button, Qt.LeftButton)
    assert ("warning", "training in the window's process: cannot start a worker process "
            "(cannot start the training worker: Resource temporarily unavailable)") in messages
    qtbot.waitUntil(lambda: not dashboard.trainer.alive, timeout=20_000)
    assert dashboard.trainer.state == "finished" and dashboard.trainer.steps_done == 20
