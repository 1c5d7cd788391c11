"""The training dashboard's plot panels (pyqtgraph): step curves with smoothing and change
markers, gradient-norm alarms, histograms over time as a heatmap, and a decision boundary.

Each panel takes whole numpy arrays through `setData` (never point by point), clips to the
view, downsamples automatically and draws with pens of width 1, as pyqtgraph's live-plot
examples do. Nothing here reads training state: the dashboard hands the arrays over.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

# Matplotlib's tab10: distinguishable on light and dark backgrounds.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MARKER_COLOR = "#9467bd"
VANISHING_NORM = 1e-6     # a layer's gradient norm below this is marked as vanishing
EXPLODING_NORM = 1e3      # above this, as exploding
TITLE_SIZE = "9pt"
_ROUND_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)

_TICK_FONT = QFont()
_TICK_FONT.setPointSize(8)


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ceiling(value: float) -> float:
    """The smallest of 10, 15, 20, 30, 40, 50, 60, 80, 100, 150, ... that is >= value."""
    if value <= 10:
        return 10.0
    decade = 10.0 ** math.floor(math.log10(value))
    return next(m * decade for m in _ROUND_STEPS if m * decade >= value)


def ema_smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: a debiased exponential moving average with `weight` in
    [0, 1); non-finite values pass through unchanged and do not enter the average."""
    return ema_continue(values, weight)[0]


def ema_continue(values: np.ndarray, weight: float, last: float = 0.0, count: int = 0
                 ) -> tuple[np.ndarray, float, int]:
    """`ema_smooth` of `values` as the continuation of a series whose average so far is
    `last` (before debiasing) over `count` finite values; returns (smoothed, last, count).

    Computed in closed form per chunk (s_i = w^(i+1) s_prev + (1-w) sum_k w^(i-k) y_k),
    with chunks short enough that w^-chunk stays far from overflow, so 100,000 points
    take a few milliseconds instead of a Python loop's tens."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or values.size == 0:
        return values.copy(), last, count
    weight = min(float(weight), 0.999999)
    finite = np.isfinite(values)
    ys = values[finite]
    n = ys.size
    smoothed = np.empty(n)
    chunk = max(1, min(n, int(200 / -math.log10(weight))))
    log_w = math.log(weight)
    powers = np.exp(np.arange(chunk + 1) * log_w)          # w^0 .. w^chunk
    scaled = np.exp(-np.arange(chunk) * log_w) * (1 - weight)   # (1-w) w^-k
    for start in range(0, n, chunk):
        part = ys[start:start + chunk]
        m = part.size
        accumulated = np.cumsum(part * scaled[:m]) * powers[:m]
        block = powers[1:m + 1] * last + accumulated
        smoothed[start:start + m] = block
        last = float(block[-1])
    debias = -np.expm1(np.arange(count + 1, count + n + 1) * log_w)
    out = values.copy()
    out[finite] = smoothed / debias
    return out, last, count + n


def style_plot(plot: pg.PlotItem, title: str, left: str = "", bottom: str = "step") -> None:
    """Small title and tick fonts, a faint grid, clip-to-view and peak downsampling."""
    plot.setTitle(title, size=TITLE_SIZE)
    # A GridItem rather than the axes' grid: in a view the axes' grid lines cost ~8 ms per
    # paint, the GridItem's well under one.
    grid = pg.GridItem(pen=pg.mkPen(128, 128, 128, 40, width=1), textPen=None)
    grid.setTickSpacing(x=[None, None], y=[None, None])     # two levels, spacing automatic
    grid.setZValue(-100)
    plot.addItem(grid, ignoreBounds=True)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.setMenuEnabled(False)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setStyle(tickFont=_TICK_FONT, tickLength=-4)
        axis.enableAutoSIPrefix(False)
    if left:
        plot.setLabel("left", left, **{"font-size": "8pt"})
    if bottom:
        plot.setLabel("bottom", bottom, **{"font-size": "8pt"})
    plot.getAxis("left").setWidth(46)


def set_title(plot: pg.PlotItem, title: str) -> None:
    """The plot's title, set only when it changed (setting it re-lays out the plot, and
    the axes and grid regenerate their drawings)."""
    if plot.titleLabel.text != title:
        plot.setTitle(title, size=TITLE_SIZE)


def snapped(low: float, high: float) -> list[float]:
    """[low, high] widened to multiples of a round step (1, 1.5, 2, 3, 4, 5, 6 or 8 times a
    power of ten) of about a tenth of its width: 0.03..0.97 -> 0.0..1.0."""
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return [low, high]
    decade = 10.0 ** math.floor(math.log10(span / 10))
    step = next(m * decade for m in _ROUND_STEPS if m * decade >= span / 10)
    return [math.floor(low / step) * step, math.ceil(high / step) * step]


class FollowingViewBox(pg.ViewBox):
    """A ViewBox whose auto-range snaps outward to round values (`snapped`) on the axes
    named in `snap` ("x", "y"), and keeps them while the data stays inside and fills at
    least KEEP_FILL of them: as data grows or moves a little the view stays, and so do the
    axis's ticks and labels and the grid, which pyqtgraph otherwise regenerates every frame
    (the largest part of painting one). The x axis of a StepPlot follows the steps its own
    way (StepPlot._follow_steps)."""

    KEEP_FILL = 0.6

    def __init__(self, snap: str = "y", **kwargs) -> None:
        super().__init__(**kwargs)
        self.snap = (("x" in snap), ("y" in snap))
        self.kept: list[list[float] | None] = [None, None]     # per axis, the snapped bounds

    def suggestPadding(self, axis):
        # Snapped bounds already leave room: pyqtgraph's padding (up to 10% a side on a small
        # plot) only pushed the value axis of a loss or a count below zero.
        return self.state["defaultPadding"] if self.snap[axis] else super().suggestPadding(axis)

    def childrenBounds(self, *args, **kwargs):
        bounds = super().childrenBounds(*args, **kwargs)
        for axis, snap in enumerate(self.snap):
            if not snap or bounds[axis] is None:
                continue
            (low, high), kept = bounds[axis], self.kept[axis]
            if kept is None or low < kept[0] or high > kept[1] or \
                    high - low < self.KEEP_FILL * (kept[1] - kept[0]):
                kept = self.kept[axis] = snapped(low, high)
            bounds[axis] = list(kept)
        return bounds


def settle(widget: QWidget) -> None:
    """Runs the auto-range pyqtgraph left for paint time in the plots of `widget` now: done
    while painting, it moved the axes after the frame had begun, and they asked for a
    second paint of the whole plot (twice the painting of every frame)."""
    plots = [widget] if isinstance(widget, pg.PlotWidget) else widget.findChildren(pg.PlotWidget)
    for plot in plots:
        plot.getPlotItem().vb.prepareForPaint()


class ValueAxis(pg.AxisItem):
    """A value axis whose log scale labels decades first, then 2 and 5 times them, then the
    rest, each level only while there is room: pyqtgraph gives a log axis of less than
    about two decades one level of ticks, so all of 0.03, 0.04 ... 0.9, 1 were labelled,
    on top of each other in a small plot."""

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if not self.logMode or len(levels) != 1:
            return levels
        values = np.asarray(levels[0][1], dtype=float)
        mantissa = np.round(10 ** (values - np.floor(values + 1e-9)), 6)
        split = [mantissa == 1, np.isin(mantissa, (2, 5)), ~np.isin(mantissa, (1, 2, 5))]
        return [(None, values[part].tolist()) for part in split]


class ThemedPlot(pg.PlotWidget):
    """A plot that follows the application's palette when the theme changes: pyqtgraph
    caches a view's background, so without this a plot made under the light theme stayed
    light under the dark one. Subclasses restyle what they coloured from the palette in
    `apply_palette`."""

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.PaletteChange, QEvent.ApplicationPaletteChange):
            self.apply_palette()
            self.resetCachedContent()
            self.viewport().update()

    def apply_palette(self) -> None:
        pass


class StepPlot(ThemedPlot):
    """Named curves over the step axis, with vertical lines at change markers.

    The step axis follows the data in jumps (its length is a round number: 10, 15, 20, 30,
    40, 50, 60, 80, 100, ...) rather than with every new step: its ticks, labels and the
    grid are then redrawn a few times per run instead of every frame, and plots of the same
    steps line up. The value axis auto-ranges to round values for the same reason
    (FollowingViewBox). Panning or zooming by hand stops that until the "A"
    (auto-range) button is pressed."""

    def __init__(self, title: str, left: str = "", log_y: bool = False, legend: bool = True,
                 parent=None) -> None:
        super().__init__(parent=parent, viewBox=FollowingViewBox("y"),
                         axisItems={"left": ValueAxis("left")})
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        style_plot(self.plot_item, title, left)
        self.set_log_y(log_y)
        self.legend = self._add_legend() if legend else None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.marker_lines: dict[tuple[int, str], pg.InfiniteLine] = {}
        self.setMinimumSize(220, 150)
        self.following = True                  # the step axis follows the data
        self.steps_seen: tuple[float, float] | None = None    # first and last step drawn
        self.step_range: tuple[float, float] | None = None    # the step axis while following
        self.plot_item.sigRangeChangedManually.connect(self._moved_by_hand)
        # Hovering shows the step and each named curve's value there, top left.
        self.readout = pg.TextItem(anchor=(0, 0), color=QApplication.palette().color(
            QPalette.WindowText), fill=pg.mkBrush(self._legend_patch()))
        self.readout.setFont(_TICK_FONT)
        self.readout.setZValue(100)
        self.readout.hide()
        self.plot_item.addItem(self.readout, ignoreBounds=True)
        self.hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(128, 128, 128, 120, width=1))
        self.hover_line.hide()
        self.plot_item.addItem(self.hover_line, ignoreBounds=True)
        self.plot_item.scene().sigMouseMoved.connect(self.hover)

    def hover(self, scene_pos) -> None:
        """Shows the values at the step under the mouse (hidden outside the plot area)."""
        view = self.plot_item.vb
        if not view.sceneBoundingRect().contains(scene_pos):
            self.readout.hide()
            self.hover_line.hide()
            return
        step = view.mapSceneToView(scene_pos).x()
        lines, nearest = [], step
        for name, item in self.curves.items():
            x, y = item.xData, item.yData
            if item.name() is None or x is None or not len(x):
                continue
            i = int(np.clip(np.searchsorted(x, step), 1, len(x) - 1))
            i = i if abs(x[i] - step) < abs(x[i - 1] - step) else i - 1
            if not lines:
                nearest = float(x[i])
                lines.append(f"step {nearest:g}")
            lines.append(f"{name}: {y[i]:.4g}")
        if not lines:
            self.readout.hide()
            self.hover_line.hide()
            return
        (left, _), (_, top) = view.viewRange()
        self.readout.setText("\n".join(lines))
        self.readout.setPos(left, top)
        self.readout.show()
        self.hover_line.setValue(nearest)
        self.hover_line.show()

    def leaveEvent(self, event) -> None:
        self.readout.hide()
        self.hover_line.hide()
        super().leaveEvent(event)

    def _moved_by_hand(self, *_) -> None:
        self.following = False

    def _follow_steps(self, x: np.ndarray) -> None:
        if not len(x):
            return
        first, last = float(x[0]), float(x[-1])
        if self.steps_seen is not None:
            first, last = min(first, self.steps_seen[0]), max(last, self.steps_seen[1])
        self.steps_seen = (first, last)
        view = self.plot_item.vb
        if view.state["autoRange"][0]:        # pyqtgraph's own x auto-range: take it over
            view.enableAutoRange(x=False)
            self.following = True
            self.step_range = None
        if not self.following:
            return
        wanted = (first, first + nice_ceiling(1.02 * max(last - first, 1.0)))
        if wanted != self.step_range:
            self.step_range = wanted
            view.setXRange(*wanted, padding=0.02)

    def apply_palette(self) -> None:
        """The readout and the legend in the current palette's colours."""
        if "readout" not in self.__dict__:        # a change while pyqtgraph builds the view
            return
        palette = QApplication.palette()
        self.readout.setColor(palette.color(QPalette.WindowText))
        self.readout.fill = pg.mkBrush(self._legend_patch())
        if self.legend is not None:
            self.legend.setBrush(pg.mkBrush(self._legend_patch()))
            self.legend.setPen(pg.mkPen(palette.color(QPalette.Mid)))
            self.legend.setLabelTextColor(palette.color(QPalette.WindowText))

    @staticmethod
    def _legend_patch() -> QColor:
        patch = QColor(QApplication.palette().color(QPalette.Window))
        patch.setAlpha(215)
        return patch

    def _add_legend(self) -> pg.LegendItem:
        """A legend on a nearly opaque patch of the window colour, text in the text colour."""
        palette = QApplication.palette()
        return self.plot_item.addLegend(
            offset=(-4, 4), labelTextSize="8pt", verSpacing=-6,
            brush=pg.mkBrush(self._legend_patch()),
            pen=pg.mkPen(palette.color(QPalette.Mid)),
            labelTextColor=palette.color(QPalette.WindowText))

    def set_curve(self, name: str, x: np.ndarray, y: np.ndarray, index: int = 0,
                  alpha: int = 255, legend: bool = True) -> pg.PlotDataItem:
        """Gives the curve `name` its data; made on first use in palette colour `index`
        (with `alpha`), listed in the legend unless `legend` is False."""
        item = self.curves.get(name)
        if item is None:
            pen = pg.mkPen(QColor(*QColor(color(index)).getRgb()[:3], alpha), width=1)
            item = self.plot_item.plot(name=name if legend else None, pen=pen)
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            item.setSkipFiniteCheck(False)
            self.curves[name] = item
            self._update_legend()
        item.setData(x, y)
        self._follow_steps(x)
        return item

    def _update_legend(self) -> None:
        """A legend only for two curves or more (the title names a lone one); two columns
        from five entries on."""
        if self.legend is not None:
            count = len(self.legend.items)
            self.legend.setVisible(count >= 2)
            columns = 2 if count >= 5 else 1
            if self.legend.columnCount != columns:
                self.legend.setColumnCount(columns)

    def remove_curves_except(self, names) -> None:
        for name in [n for n in self.curves if n not in names]:
            item = self.curves.pop(name)
            self.plot_item.removeItem(item)
            if self.legend is not None:
                self.legend.removeItem(item)
        self._update_legend()

    def keep_zero_in_view(self, y: np.ndarray) -> None:
        """For a curve of positive values that is often flat (the learning rate): the y
        axis runs from 0 to a little above the highest value, instead of pyqtgraph's
        ±0.5 around a flat line."""
        finite = y[np.isfinite(y)] if len(y) else y
        if len(finite) and finite.max() > 0:
            self.plot_item.setYRange(0.0, float(finite.max()) * 1.1, padding=0)

    def set_log_y(self, on: bool) -> None:
        self.plot_item.vb.kept = [None, None]       # the kept range was in other units
        self.plot_item.setLogMode(y=on)

    def set_markers(self, markers, labels: bool = False) -> None:
        """Vertical dashed lines at (step, text) change markers (the text as a tooltip, and
        written beside the line with `labels`, staggered in height so neighbours stay
        readable); new ones are added, those dropped from the buffer removed."""
        wanted = {(int(step), str(text)) for step, text in markers}
        for key in [k for k in self.marker_lines if k not in wanted]:
            self.plot_item.removeItem(self.marker_lines.pop(key))
        for key in sorted(wanted - self.marker_lines.keys()):
            options = {}
            if labels:
                height = 0.97 - 0.08 * (len(self.marker_lines) % 4)
                options = {"label": key[1], "labelOpts": {
                    "position": height, "anchors": [(0, 0), (0, 0)], "color": MARKER_COLOR}}
            line = pg.InfiniteLine(pos=key[0], angle=90,
                                   pen=pg.mkPen(MARKER_COLOR, width=1, style=Qt.DashLine),
                                   **options)
            line.setToolTip(f"step {key[0]}: {key[1]}")
            self.plot_item.addItem(line, ignoreBounds=True)
            self.marker_lines[key] = line

    def clear_all(self) -> None:
        self.remove_curves_except(())
        self.set_markers(())
        self.steps_seen = self.step_range = None
        self.plot_item.vb.kept = [None, None]
        self.plot_item.vb.enableAutoRange(x=True)


class SmoothedPlot(StepPlot):
    """Curves drawn twice, TensorBoard-style: the raw values faint, the EMA on top.

    A series that grew at its end (and perhaps lost its oldest points to the ring buffer)
    only has its new points smoothed: the average carries on from the cached one."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.smoothing = 0.6
        self.raw: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        # name -> (weight, steps, smoothed, last, count) of the last smoothing
        self._smoothed: dict[str, tuple[float, np.ndarray, np.ndarray, float, int]] = {}

    def set_series(self, name: str, x: np.ndarray, y: np.ndarray, index: int = 0) -> None:
        self.raw[name] = (np.asarray(x), np.asarray(y), index)
        self._draw(name)

    def set_smoothing(self, weight: float) -> None:
        self.smoothing = weight
        for name in self.raw:
            self._draw(name)

    def smoothed(self, name: str) -> np.ndarray:
        """The EMA of the series `name`, reusing the previous one where the data agrees."""
        x, y, _ = self.raw[name]
        weight = self.smoothing
        cached = self._smoothed.get(name)
        if cached is not None and cached[0] == weight and len(cached[1]) and len(x):
            _, steps, values, last, count = cached
            kept = int(np.searchsorted(x, steps[-1], side="right"))   # points already smoothed
            if 0 < kept <= len(steps) and x[kept - 1] == steps[-1] and \
                    x[0] == steps[len(steps) - kept]:
                tail, last, count = ema_continue(y[kept:], weight, last, count)
                result = np.concatenate((values[len(values) - kept:], tail))
                self._smoothed[name] = (weight, x, result, last, count)
                return result
        result, last, count = ema_continue(y, weight)
        self._smoothed[name] = (weight, x, result, last, count)
        return result

    def _draw(self, name: str) -> None:
        x, y, index = self.raw[name]
        if self.smoothing > 0:
            self.set_curve(f"{name} (raw)", x, y, index, alpha=70, legend=False)
            self.set_curve(name, x, self.smoothed(name), index)
        else:
            self.remove_curves_except([n for n in self.curves if n != f"{name} (raw)"])
            self.set_curve(name, x, y, index)

    def clear_all(self) -> None:
        self.raw.clear()
        self._smoothed.clear()
        super().clear_all()


class NormPlot(StepPlot):
    """Per-layer gradient norms on a log axis; points below VANISHING_NORM or above
    EXPLODING_NORM get a red cross, and both limits are faint dashed lines (seen when the
    norms come near them: they do not widen the view)."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(title, "‖grad‖ (log)", log_y=True, parent=parent)
        for limit, meaning in ((VANISHING_NORM, "vanishing"), (EXPLODING_NORM, "exploding")):
            line = pg.InfiniteLine(pos=math.log10(limit), angle=0,   # log axis: log10 units
                                   pen=pg.mkPen(214, 39, 40, 110, width=1, style=Qt.DashLine))
            line.setToolTip(f"{meaning} gradients: norm {'below' if limit < 1 else 'above'} "
                            f"{limit:g}")
            self.plot_item.addItem(line, ignoreBounds=True)
        self.alarms = pg.PlotDataItem(pen=None, symbol="x", symbolSize=7,
                                      symbolPen=pg.mkPen("#d62728", width=1), symbolBrush=None)
        self.plot_item.addItem(self.alarms)
        self.alarm_count = 0

    def set_norms(self, norms: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Every curve of a frame, name -> (steps, norms): other curves are dropped, zeros
        drawn as gaps (the log axis has no place for them) and out-of-range points crossed."""
        xs, ys = [np.zeros(0)], [np.zeros(0)]
        for index, (name, (x, values)) in enumerate(norms.items()):
            self.set_curve(name, x, np.where(values > 0, values, np.nan), index)
            bad = (values < VANISHING_NORM) | (values > EXPLODING_NORM)
            xs.append(x[bad])
            ys.append(np.maximum(values[bad], 1e-30))       # zero: drawn low
        self.remove_curves_except(norms.keys())
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        self.alarms.setData(xs, ys)
        self.alarm_count = int(xs.size)

    def clear_all(self) -> None:
        super().clear_all()
        self.alarms.setData([], [])
        self.alarm_count = 0


class HistogramPlot(ThemedPlot):
    """One parameter's current histogram (step line, filled)."""

    def __init__(self, title: str, bottom: str, parent=None) -> None:
        super().__init__(parent=parent, viewBox=FollowingViewBox("y"))     # the counts
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        style_plot(self.plot_item, title, "count", bottom=bottom)
        self.bars = self.plot_item.plot(stepMode="center", fillLevel=0,
                                        pen=pg.mkPen(color(0), width=1),
                                        brush=QColor(172, 201, 225))   # opaque: cheaper
        self.setMinimumSize(220, 150)

    def set_histogram(self, counts: np.ndarray, edges: np.ndarray, title: str) -> None:
        set_title(self.plot_item, title)
        self.bars.setData(edges, counts)

    def clear_all(self) -> None:
        self.bars.setData([], [])
        self.plot_item.vb.kept = [None, None]


class HeatmapPlot(ThemedPlot):
    """Histograms over time, TensorBoard's distributions as an image: x is the step, y the
    binned quantity, colour log(1 + count). Rows share fixed bins, so they stack as they are."""

    def __init__(self, title: str, left: str, parent=None) -> None:
        super().__init__(parent=parent, viewBox=FollowingViewBox("x"))     # the steps
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        style_plot(self.plot_item, title, left)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot_item.addItem(self.image)
        self.setMinimumSize(220, 150)
        self.columns = 0

    def set_history(self, steps: np.ndarray, counts: np.ndarray, edges: np.ndarray,
                    title: str) -> None:
        """counts: (k, bins), one row per recorded step, oldest first."""
        set_title(self.plot_item, title)
        self.columns = len(steps)
        if not self.columns:
            self.image.clear()
            return
        image = np.log1p(np.asarray(counts, np.float32).T)      # (bins, k): y up, step right
        self.image.setImage(image, autoLevels=False, levels=(0, max(float(image.max()), 1e-6)))
        first, last = float(steps[0]), float(steps[-1])
        column = (last - first) / (self.columns - 1) if self.columns > 1 else 1.0
        self.image.setRect(QRectF(first - column / 2, float(edges[0]),
                                  (last - first) + column, float(edges[-1] - edges[0])))

    def clear_all(self) -> None:
        self.image.clear()
        self.columns = 0
        self.plot_item.vb.kept = [None, None]


class BoundaryPlot(ThemedPlot):
    """A 2-D classifier's decision boundary as an image under the data points, as
    TensorFlow Playground draws it. Two classes: the grid is P(class 1), blue through white
    to orange. More classes: the grid is the predicted class, one pale colour each."""

    def __init__(self, title: str = "decision boundary", parent=None) -> None:
        super().__init__(parent=parent)
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        style_plot(self.plot_item, title, "x₂", bottom="x₁")
        self.plot_item.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot_item.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=5, pen=pg.mkPen("#303030", width=1))
        self.plot_item.addItem(self.points)
        self.setMinimumSize(200, 180)
        self.step: int | None = None
        self._points: tuple[np.ndarray, np.ndarray] | None = None     # the points drawn
        self._classes = 0

    def set_boundary(self, boundary) -> None:
        """Draws a `runtime.metrics.DecisionBoundary` (skipped when its step was drawn)."""
        if boundary.step == self.step:
            return
        self.step = boundary.step
        labels = np.asarray(boundary.labels).astype(int).ravel()
        classes = max(2, int(labels.max()) + 1 if labels.size else 2)
        if classes != self._classes:
            self._classes = classes
            self.image.setColorMap(boundary_colormap(classes))
        # Compared by value: boundaries that came from a training process through shared
        # memory bring copies of the same points (setting 300 points costs ~5 ms).
        if self._points is None or not (
                np.array_equal(self._points[0], boundary.points)
                and np.array_equal(self._points[1], boundary.labels)):
            self._points = (np.asarray(boundary.points), np.asarray(boundary.labels))
            brushes = [pg.mkBrush(color(c)) for c in range(classes)]
            self.points.setData(pos=np.asarray(boundary.points, float),
                                brush=[brushes[c] for c in labels])
        x0, x1 = boundary.x_range
        y0, y1 = boundary.y_range
        levels = (0.0, 1.0) if classes == 2 else (0.0, float(classes - 1))
        self.image.setImage(np.asarray(boundary.grid, np.float32), autoLevels=False,
                            levels=levels)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))

    def clear_all(self) -> None:
        self.image.clear()
        self.points.clear()
        self.step = self._points = None


def boundary_colormap(classes: int) -> pg.ColorMap:
    """Two classes: palette blue, white at 0.5, palette orange. More: pale palette colours."""
    def pale(hex_color: str, amount: float) -> tuple[int, int, int]:
        r, g, b, _ = QColor(hex_color).getRgb()
        return tuple(int(c + (255 - c) * amount) for c in (r, g, b))
    if classes == 2:
        return pg.ColorMap([0.0, 0.5, 1.0], [pale(color(0), 0.5), (250, 250, 250),
                                             pale(color(1), 0.5)])
    positions = np.linspace(0.0, 1.0, classes)
    return pg.ColorMap(positions, [pale(color(c), 0.6) for c in range(classes)])


class HistogramPanel(QWidget):
    """One parameter's histogram now and its distribution over time, side by side, with a
    parameter chooser."""

    def __init__(self, what: str, axis_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.parameter = QComboBox()
        self.parameter.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.parameter.setToolTip(f"the parameter whose {what}s are shown")
        self.histogram = HistogramPlot(f"{what} histogram", axis_label)
        self.heatmap = HeatmapPlot(f"{what} distribution over time", axis_label)
        self.shown: tuple | None = None       # (parameter, last step, rows) on display
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 0, 0)
        header.addWidget(QLabel(f"{what}s of"))
        header.addWidget(self.parameter)
        header.addStretch(1)
        plots = QHBoxLayout()
        plots.setSpacing(2)
        plots.addWidget(self.histogram, 2)
        plots.addWidget(self.heatmap, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addLayout(plots, 1)

    def set_histories(self, histories: dict) -> None:
        names = list(histories)
        if [self.parameter.itemText(i) for i in range(self.parameter.count())] != names:
            current = self.parameter.currentText()
            self.parameter.blockSignals(True)
            self.parameter.clear()
            self.parameter.addItems(names)
            if current in names:
                self.parameter.setCurrentText(current)
            self.parameter.blockSignals(False)
        name = self.parameter.currentText()
        history = histories.get(name)
        if history is None or not len(history.steps):
            self.clear_all()
            return
        shown = (name, int(history.steps[-1]), len(history.steps))
        if shown == self.shown:
            return
        self.shown = shown
        self.histogram.set_histogram(history.latest, history.edges,
                                     f"{name} at step {int(history.steps[-1])}")
        self.heatmap.set_history(history.steps, history.counts, history.edges,
                                 f"{name} over time")

    def clear_all(self) -> None:
        self.histogram.clear_all()
        self.heatmap.clear_all()
        self.shown = None
