"""Light and dark themes: the application palette and the canvas colours, pens and fonts.

Canvas items never build pens, brushes or fonts while painting; they read the ready-made
ones of the current `CanvasStyle` (one object per theme, rebuilt only when the theme changes).
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPalette, QPen
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")

# Header colour per palette category; unknown categories get the neutral one.
_CATEGORY_HUES = {
    "Leaves": 140, "Data": 30, "Math": 210, "Elementwise": 210, "Reductions": 260,
    "Shape": 180, "Matrix": 230, "Layers": 300, "Activations": 330, "Losses": 0,
    "Outputs": 50, "Output": 50,
}


@dataclass
class CanvasStyle:
    """Everything the scene paints with, for one theme."""
    name: str
    background: QColor
    grid_minor: QPen
    grid_major: QPen
    node_body: QBrush
    node_border: QPen
    node_selected: QPen
    node_error: QPen
    text: QPen
    text_dim: QPen
    text_error: QPen
    port_fill: QBrush
    port_linked: QBrush    # a port with an edge
    port_border: QPen
    edge: QPen
    edge_detached: QPen
    edge_selected: QPen
    edge_pending: QPen
    badge_fill: dict
    field_fill: QBrush
    badge_text: QPen
    port_dataset: QBrush
    check: QPen
    port_ok: QPen          # ring around the port a dragged edge would join
    port_refused: QPen     # ... and around one it may not join
    lightness: int     # of node headers, 0-255 (QColor.fromHsl)
    saturation: int
    font: QFont
    font_bold: QFont
    font_small: QFont

    def __post_init__(self) -> None:
        self.metrics = QFontMetricsF(self.font)
        self.metrics_small = QFontMetricsF(self.font_small)
        self.metrics_bold = QFontMetricsF(self.font_bold)
        self._headers: dict[str, QBrush] = {}
        self._elided: dict[tuple, str] = {}
        self._advance: dict[tuple, float] = {}

    def elided(self, metrics: QFontMetricsF, text: str, width: float) -> str:
        """metrics.elidedText(text, Qt.ElideRight, width), remembered: a big graph asks for
        the same port names and kind titles thousands of times (metrics: one of this style's)."""
        key = (id(metrics), text, width)
        found = self._elided.get(key)
        if found is None:
            if len(self._elided) > 50_000:
                self._elided.clear()
            found = self._elided[key] = metrics.elidedText(text, Qt.ElideRight, width)
        return found

    def advance(self, metrics: QFontMetricsF, text: str) -> float:
        """metrics.horizontalAdvance(text), remembered (metrics: one of this style's)."""
        key = (id(metrics), text)
        found = self._advance.get(key)
        if found is None:
            if len(self._advance) > 50_000:
                self._advance.clear()
            found = self._advance[key] = metrics.horizontalAdvance(text)
        return found

    def header_brush(self, category: str) -> QBrush:
        brush = self._headers.get(category)
        if brush is None:
            hue = _CATEGORY_HUES.get(category)
            color = QColor.fromHsl(0, 0, self.lightness) if hue is None else \
                QColor.fromHsl(hue, self.saturation, self.lightness)
            brush = self._headers[category] = QBrush(color)
        return brush


def _pen(color: str | QColor, width: float = 1.0, style=Qt.SolidLine, cosmetic=False) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setCosmetic(cosmetic)
    return pen


def _fonts() -> tuple[QFont, QFont, QFont]:
    base = QFont(QApplication.font() if QApplication.instance() else QFont())
    base.setPointSizeF(9.0)
    bold = QFont(base)
    bold.setBold(True)
    small = QFont(base)
    small.setPointSizeF(7.5)
    return base, bold, small


def canvas_style(name: str) -> CanvasStyle:
    font, bold, small = _fonts()
    if name == "dark":
        return CanvasStyle(
            name, QColor("#1e1f22"), _pen("#26282c", 1, cosmetic=True),
            _pen("#303338", 1, cosmetic=True), QBrush(QColor("#2b2d31")),
            _pen("#45484f", 1), _pen("#f0b232", 2), _pen("#e5534b", 2),
            _pen("#e6e6e6"), _pen("#9aa0a8"), _pen("#ff7b72"),
            QBrush(QColor("#c9d1d9")), QBrush(QColor("#58a6ff")), _pen("#0d1117", 1),
            _pen("#8b949e", 2), _pen("#8b949e", 2, Qt.DashLine), _pen("#f0b232", 2.5),
            _pen("#f0b232", 2, Qt.DashLine),
            {"rg": QBrush(QColor("#8957e5")), "leaf": QBrush(QColor("#238636")),
             "grad": QBrush(QColor("#1f6feb")), "err": QBrush(QColor("#da3633")),
             "ret": QBrush(QColor("#9e6a03")), "nograd": QBrush(QColor("#6e7681"))},
            QBrush(QColor("#202226")), _pen("#ffffff"), QBrush(QColor("#d29922")),
            _pen("#58a6ff", 2), _pen("#3fb950", 3), _pen("#f85149", 3), 62, 70,
            font, bold, small)
    return CanvasStyle(
        name, QColor("#f4f5f7"), _pen("#e6e8eb", 1, cosmetic=True),
        _pen("#d5d8dd", 1, cosmetic=True), QBrush(QColor("#ffffff")),
        _pen("#b8bec7", 1), _pen("#d97706", 2), _pen("#d1242f", 2),
        _pen("#1f2328"), _pen("#57606a"), _pen("#cf222e"),
        QBrush(QColor("#ffffff")), QBrush(QColor("#0969da")), _pen("#57606a", 1),
        _pen("#6e7781", 2), _pen("#6e7781", 2, Qt.DashLine), _pen("#d97706", 2.5),
        _pen("#d97706", 2, Qt.DashLine),
        {"rg": QBrush(QColor("#8250df")), "leaf": QBrush(QColor("#1a7f37")),
         "grad": QBrush(QColor("#0969da")), "err": QBrush(QColor("#cf222e")),
         "ret": QBrush(QColor("#9a6700")), "nograd": QBrush(QColor("#6e7781"))},
        QBrush(QColor("#eef1f4")), _pen("#ffffff"), QBrush(QColor("#bf8700")),
        _pen("#0969da", 2), _pen("#1a7f37", 3), _pen("#cf222e", 3), 212, 120,
        font, bold, small)


def application_palette(name: str) -> QPalette:
    """The widget palette for a theme (Fusion style draws it faithfully on every platform)."""
    if name != "dark":
        return QApplication.style().standardPalette() if QApplication.instance() else QPalette()
    p = QPalette()
    colors = {
        QPalette.Window: "#2b2d31", QPalette.WindowText: "#e6e6e6", QPalette.Base: "#1e1f22",
        QPalette.AlternateBase: "#26282c", QPalette.ToolTipBase: "#2b2d31",
        QPalette.ToolTipText: "#e6e6e6", QPalette.Text: "#e6e6e6", QPalette.Button: "#34363b",
        QPalette.ButtonText: "#e6e6e6", QPalette.BrightText: "#ff7b72",
        QPalette.Highlight: "#2f81f7", QPalette.HighlightedText: "#ffffff",
        QPalette.Link: "#58a6ff", QPalette.PlaceholderText: "#7d8590",
    }
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor("#6e7681"))
    return p


def apply_application_theme(name: str) -> None:
    app = QApplication.instance()
    if app is None:
        return
    app.setStyle("Fusion")
    app.setPalette(application_palette(name))
