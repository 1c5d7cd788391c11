"""The chain rule with numbers, as HTML for the Debugger's details: per outgoing edge of a step
the local derivative, the upstream gradient and their product (runtime.chain_rule), merges as
contributions and their sum, and a heatmap for a gradient too large to write out. The same
for one canvas edge: every gradient that crossed it in the steps shown."""
from __future__ import annotations

import html
import itertools

import numpy as np
from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument

from gradstudio.runtime.chain_rule import SHOWN, ChainLink, chain_links, merge_text
from gradstudio.runtime.debugger import BackwardDebugger, TraceStep

HEAT_PIXELS = 240                    # about the longer side of a heatmap
_names = itertools.count()


def step_chain_html(debugger: BackwardDebugger, step: TraceStep, document: QTextDocument) -> str:
    """The "chain rule" rows of a step: one line per outgoing edge, then the merges."""
    lines = [_link_html(link, document) for link in chain_links(debugger, step)]
    merged = set()
    for flow in step.flows:
        if flow.target is None:
            continue
        key = debugger.output_key(debugger.engine_node(flow.target), flow.input_nr)
        text = None if key is None or key in merged else merge_text(debugger, key,
                                                                    step.index + 1)
        if text:
            merged.add(key)
            lines.append(f"<b>merge</b> {html.escape(text)}")
    for acc in step.accumulations:
        text = merge_text(debugger, acc.key, step.index + 1) if acc.key else None
        if text and acc.key not in merged:
            lines.append(f"<b>merge</b> {html.escape(text)}")
    return "<br>".join(lines)


def edge_chain_html(debugger: BackwardDebugger, edge_id: str, label: str,
                    document: QTextDocument) -> str:
    """What crossed one canvas edge (src -> dst) backward in the steps shown so far."""
    from gradstudio.runtime.chain_rule import links_on_edge
    links = links_on_edge(debugger, edge_id)
    head = f"<b>Edge {html.escape(label)}</b>"
    if not links:
        return (f"{head}<br>No gradient has crossed this edge yet "
                f"(step {debugger.position} / {len(debugger.plan)}).")
    return head + "<br>" + "<br>".join(_link_html(link, document) for link in links)


def _link_html(link: ChainLink, document: QTextDocument) -> str:
    text = html.escape(f"→ {link.formula()}")
    if link.product is not None and link.product.array.size > SHOWN:
        text += "<br>" + heatmap_html(link.product.array, document)
    return text


def heatmap_html(array: np.ndarray, document: QTextDocument) -> str:
    """An <img> of the array as a blue (negative) / white / red (positive) heatmap,
    registered with `document` as a resource."""
    image, transposed = heatmap_image(array)
    url = QUrl(f"heat://{next(_names)}")
    document.addResource(QTextDocument.ImageResource, url, image)
    low, high = float(np.nanmin(array)), float(np.nanmax(array))
    turned = ", drawn transposed" if transposed else ""
    return (f"<img src='{url.toString()}'> <span style='color:gray'>"
            f"{tuple(array.shape)}{turned}, blue {low:.3g} … red {high:.3g}</span>")


def heatmap_image(array: np.ndarray) -> tuple[QImage, bool]:
    """The image, and whether a tall array was turned on its side to fit a line of text."""
    grid = np.asarray(array, dtype=np.float64)
    grid = grid.reshape(1, -1) if grid.ndim <= 1 else grid.reshape(-1, grid.shape[-1])
    transposed = grid.shape[0] > grid.shape[1]
    if transposed:
        grid = grid.T
    scale = np.nanmax(np.abs(grid)) if np.isfinite(grid).any() else 1.0
    t = np.clip(np.nan_to_num(grid / (scale or 1.0)), -1, 1)
    red = np.where(t < 0, 1 + t, 1.0)
    blue = np.where(t > 0, 1 - t, 1.0)
    green = 1 - np.abs(t)
    rgb = (np.stack([red, green, blue], axis=-1) * 255).astype(np.uint8)
    rgb[~np.isfinite(grid)] = (0, 0, 0)
    rows, columns = grid.shape
    cell_w = max(1, min(16, HEAT_PIXELS // columns))
    cell_h = max(cell_w, min(24, 48 // rows))
    rgb = np.ascontiguousarray(np.repeat(np.repeat(rgb, cell_h, axis=0), cell_w, axis=1))
    height, width, _ = rgb.shape
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format_RGB888).copy()
    return image, transposed
