"""The dashboard's plot panels and CSV table, fed by hand-made metrics (no training run)."""
import csv

import numpy as np
import pyqtgraph as pg
import pytest

from gradstudio.runtime.metrics import DecisionBoundary, TrainingMetrics
from gradstudio.ui.dashboard_export import metrics_table, write_metrics_csv
from gradstudio.ui.dashboard_plots import (BoundaryPlot, HeatmapPlot, NormPlot, SmoothedPlot,
                                           StepPlot, ema_smooth, nice_ceiling, settle, snapped)


def tensorboard_smoothing(values, weight):
    """TensorBoard's loop, as its scalar dashboard writes it."""
    out, last, count = [], 0.0, 0
    for value in values:
        if not np.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out.append(last / (1 - weight ** count))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_ema_matches_tensorboard_loop(weight):
    values = np.random.default_rng(1).standard_normal(3000) + np.linspace(3, 0, 3000)
    values[[5, 17]] = [np.nan, np.inf]
    np.testing.assert_allclose(ema_smooth(values, weight), tensorboard_smoothing(values, weight),
                               rtol=1e-9, atol=1e-9)


def test_ema_of_a_constant_is_the_constant_from_the_first_point():
    np.testing.assert_allclose(ema_smooth(np.full(50, 2.5), 0.9), 2.5)


def test_smoothed_plot_draws_raw_and_smoothed_and_markers(qtbot):
    plot = SmoothedPlot("loss", "loss")
    qtbot.addWidget(plot)
    steps = np.arange(100)
    plot.set_series("train", steps, np.linspace(1, 0.1, 100))
    assert set(plot.curves) == {"train", "train (raw)"}
    assert len(plot.curves["train"].getData()[0]) == 100
    plot.set_markers([(10, "clip norm 1"), (50, "lr 0.01")], labels=True)
    plot.set_markers([(50, "lr 0.01")], labels=True)
    assert list(plot.marker_lines) == [(50, "lr 0.01")]
    plot.set_smoothing(0.0)
    assert set(plot.curves) == {"train"}


def test_norm_plot_marks_vanishing_and_exploding_points(qtbot):
    plot = NormPlot("norms")
    qtbot.addWidget(plot)
    x = np.arange(4)
    plot.set_norms({"a": (x, np.array([1.0, 1e-7, 1.0, 1.0])), "b": (x, np.array([1.0, 1.0, 1e4, 0]))})
    assert plot.alarm_count == 3
    xs, _ = plot.alarms.getData()
    assert sorted(xs.tolist()) == [1, 2, 3]
    plot.set_norms({"a": (x, np.ones(4))})
    assert plot.alarm_count == 0 and set(plot.curves) == {"a"}


def test_heatmap_stacks_histogram_rows_over_steps(qtbot):
    plot = HeatmapPlot("grads", "log10 |grad|")
    qtbot.addWidget(plot)
    counts = np.zeros((3, 4))
    counts[:, 1] = [5, 6, 7]
    plot.set_history(np.array([0, 10, 20]), counts, np.linspace(-1, 1, 5), "grads of w")
    image = plot.image.image
    assert image.shape == (4, 3)                       # value bins up, steps across
    assert image[1].tolist() == pytest.approx(np.log1p([5, 6, 7]).tolist())
    rect = plot.image.mapRectToParent(plot.image.boundingRect())
    assert rect.left() == pytest.approx(-5) and rect.right() == pytest.approx(25)
    assert rect.top() == pytest.approx(-1) and rect.bottom() == pytest.approx(1)


def test_boundary_plot_draws_grid_under_points(qtbot):
    plot = BoundaryPlot()
    qtbot.addWidget(plot)
    points = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 0.5]])
    grid = np.linspace(0, 1, 20).reshape(4, 5)
    plot.set_boundary(DecisionBoundary(7, (-2.0, 2.0), (-1.0, 3.0), grid, points,
                                       np.array([0, 1, 2])))
    assert plot.step == 7 and plot.image.image.shape == (4, 5)
    assert len(plot.points.data) == 3
    assert plot.image.zValue() <= plot.points.zValue()
    rect = plot.image.mapRectToParent(plot.image.boundingRect())
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == pytest.approx((-2, 2, -1, 3))


def test_log_scale_drops_nothing_but_nonpositive_points(qtbot):
    plot = StepPlot("loss", log_y=True)
    qtbot.addWidget(plot)
    item = plot.set_curve("train", np.arange(3), np.array([1.0, 0.1, 0.01]))
    np.testing.assert_allclose(item.getData()[1], [0, -1, -2])


def filled_metrics():
    metrics = TrainingMetrics()
    for step in range(10):
        metrics.record_step(step, loss=1.0 / (step + 1), lr=0.1, grad_norm_pre_clip=2.0,
                            grad_norm_post_clip=1.0, grad_norms={"fc.weight": 0.5})
        if step % 5 == 4:
            metrics.record_validation(step, val_loss=0.5, accuracy=0.75)
    metrics.add_marker(3, "clip norm 1")
    metrics.add_marker(3, "lr 0.1 -> 0.01")
    return metrics


def test_metrics_table_joins_curves_by_step():
    names, steps, values, present, markers = metrics_table(filled_metrics().snapshot())
    assert names[:3] == ["loss", "val_loss", "accuracy"] and "grad_norm[fc.weight]" in names
    assert steps.tolist() == list(range(10))
    val = names.index("val_loss")
    assert present[:, val].tolist() == [s % 5 == 4 for s in range(10)]
    assert values[4, val] == 0.5
    assert markers[3] == "clip norm 1; lr 0.1 -> 0.01"


def test_csv_export_writes_a_row_per_step(tmp_path):
    path = tmp_path / "metrics.csv"
    assert write_metrics_csv(filled_metrics().snapshot(), path) == 10
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 10
    assert float(rows[1]["loss"]) == 0.5
    assert rows[0]["val_loss"] == "" and float(rows[4]["accuracy"]) == 0.75
    assert rows[3]["marker"].startswith("clip norm 1")


def test_streamed_smoothing_equals_smoothing_from_scratch(qtbot):
    """A growing ring buffer (new points at the end, oldest dropped) is smoothed
    incrementally; the result must be what smoothing the whole history gives."""
    plot = SmoothedPlot("loss", "loss")
    qtbot.addWidget(plot)
    values = np.random.default_rng(2).standard_normal(500)
    capacity = 120
    for end in (1, 7, 50, 119, 120, 121, 200, 300, 400, 500):   # never a whole buffer apart
        start = max(0, end - capacity)
        plot.set_series("train", np.arange(start, end), values[start:end])
        expected = tensorboard_smoothing(values[:end], 0.6)[start:end]
        np.testing.assert_allclose(plot.curves["train"].getData()[1], expected, rtol=1e-9)
    plot.set_series("train", np.arange(10), values[:10])          # a new run: from scratch
    np.testing.assert_allclose(plot.curves["train"].getData()[1],
                               tensorboard_smoothing(values[:10], 0.6), rtol=1e-9)


def test_step_axis_follows_the_data_in_round_jumps(qtbot):
    plot = StepPlot("loss")
    qtbot.addWidget(plot)
    plot.set_curve("train", np.arange(120), np.ones(120))
    assert plot.step_range == (0, 150)
    plot.set_curve("train", np.arange(140), np.ones(140))
    assert plot.step_range == (0, 150)                 # no change: the axis is not redrawn
    plot.set_curve("train", np.arange(151), np.ones(151))
    assert plot.step_range == (0, 200)
    left, right = plot.plot_item.vb.viewRange()[0]
    assert left <= 0 and 200 <= right < 210
    plot.plot_item.vb.sigRangeChangedManually.emit([True, True])     # the person zoomed
    plot.set_curve("train", np.arange(500), np.ones(500))
    assert plot.step_range == (0, 200)
    plot.plot_item.autoBtnClicked()                    # "A": follow again
    plot.set_curve("train", np.arange(501), np.ones(501))
    assert plot.step_range == (0, 600)


def test_settle_fits_the_value_axis_to_new_data_before_any_paint(qtbot):
    """pyqtgraph auto-ranges at paint time; settle does it at once, so that the frame that
    paints the new data paints its axes too (not a second frame after it)."""
    plot = StepPlot("loss")
    qtbot.addWidget(plot)
    plot.set_curve("train", np.arange(45), np.ones(45))
    settle(plot)
    plot.set_curve("train", np.arange(49), np.linspace(100.0, 200.0, 49))   # same step axis
    bottom, top = plot.plot_item.vb.viewRange()[1]
    assert top < 100                                    # pyqtgraph waits for the paint
    settle(plot)
    bottom, top = plot.plot_item.vb.viewRange()[1]
    assert bottom <= 100 and top >= 200 and top - bottom < 150


def test_snapped_widens_to_round_values():
    assert snapped(0.03, 0.97) == pytest.approx([0.0, 1.0])       # steps of 0.1
    assert snapped(-2.7, 1.1) == pytest.approx([-2.8, 1.2])       # steps of 0.4
    assert snapped(120.0, 980.0) == pytest.approx([100.0, 1000.0])
    assert snapped(5.0, 5.0) == [5.0, 5.0]          # no width: left to pyqtgraph


def test_value_axis_keeps_its_range_while_the_data_stays_inside(qtbot):
    """Ticks, labels and grid are redrawn only when the value range moves."""
    plot = StepPlot("loss")
    qtbot.addWidget(plot)
    plot.set_curve("train", np.arange(40), np.linspace(0.97, 0.03, 40))
    settle(plot)
    first = plot.plot_item.vb.viewRange()[1]
    assert first[0] <= 0.0 and first[1] >= 1.0
    plot.set_curve("train", np.arange(45), np.linspace(0.9, 0.2, 45))
    settle(plot)
    assert plot.plot_item.vb.viewRange()[1] == first
    plot.set_curve("train", np.arange(49), np.linspace(1.5, 0.2, 49))    # outside: follows
    settle(plot)
    assert plot.plot_item.vb.viewRange()[1][1] >= 1.5
    plot.set_curve("train", np.arange(49), np.linspace(0.52, 0.5, 49))   # fills too little
    settle(plot)
    bottom, top = plot.plot_item.vb.viewRange()[1]
    assert 0.4 < bottom <= 0.5 and 0.52 <= top < 0.6


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (3, 11, 16, 99, 101, 1234, 10001)] == \
        [10, 15, 20, 100, 150, 1500, 15000]


def test_hovering_reads_out_the_values_at_that_step(qtbot):
    plot = StepPlot("norms", log_y=True)
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    plot.set_curve("fc1", np.arange(10), 10.0 ** -np.arange(10))
    plot.set_curve("fc2", np.arange(10), np.full(10, 2.0))
    qtbot.wait(10)
    view = plot.plot_item.vb
    plot.hover(view.mapViewToScene(pg.Point(3.2, -1)))
    assert plot.readout.isVisible()
    assert plot.readout.toPlainText() == "step 3\nfc1: 0.001\nfc2: 2"
    plot.hover(view.mapViewToScene(pg.Point(3, 0)) + pg.Point(-2000, 0))   # left of the plot
    assert not plot.readout.isVisible()


def test_a_small_plot_of_positive_values_stays_close_above_zero(qtbot):
    """A loss in a small plot: the value axis starts at most 2% of its range below zero
    (pyqtgraph's own padding reached 10% a side and showed negative losses)."""
    plot = StepPlot("loss")
    qtbot.addWidget(plot)
    plot.resize(300, 160)
    plot.show()
    plot.set_curve("train", np.arange(50), np.linspace(1.0, 0.01, 50))
    settle(plot)
    bottom, top = plot.plot_item.vb.viewRange()[1]
    assert -0.03 * (top - bottom) <= bottom <= 0.0 and top >= 1.0


def test_boundary_points_are_set_again_only_when_they_change(qtbot, monkeypatch):
    """A training process sends each boundary with its own copy of the same points."""
    plot = BoundaryPlot()
    qtbot.addWidget(plot)
    calls = []
    real = plot.points.setData
    monkeypatch.setattr(plot.points, "setData", lambda *a, **k: (calls.append(1), real(*a, **k)))
    points, labels = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1])
    grid = np.zeros((4, 4))
    for step in range(3):        # equal values, new arrays: the points stay as they are
        plot.set_boundary(DecisionBoundary(step, (0, 1), (0, 1), grid, points.copy(),
                                           labels.copy()))
    assert len(calls) == 1
    plot.set_boundary(DecisionBoundary(3, (0, 1), (0, 1), grid, points + 1, labels))
    assert len(calls) == 2


def test_a_log_axis_of_one_decade_labels_round_values_first(qtbot):
    """pyqtgraph gives a short log axis one level of ticks, every one labelled: ours puts
    decades first, then 2 and 5 times them, then the rest (drawn only while they fit)."""
    plot = NormPlot("norms")
    qtbot.addWidget(plot)
    axis = plot.plot_item.getAxis("left")
    levels = axis.tickValues(np.log10(0.03), np.log10(1.2), 200)
    labels = [[round(10 ** v, 6) for v in values] for _, values in levels]
    assert labels[0] == [0.1, 1.0] and labels[1] == [0.05, 0.2, 0.5]
    assert 0.04 in labels[2] and 0.9 in labels[2]
