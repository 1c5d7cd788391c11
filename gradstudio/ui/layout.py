"""Auto-layout: nodes in columns by topological depth, ordered to keep edges short.

Column = length of the longest path from a source (a source itself stands just left of its
first consumer); inside a column nodes are sorted by
the mean height of their inputs (one barycentre sweep), then stacked with their real heights.
"""
from __future__ import annotations

from typing import Callable

from gradstudio.graph.document import Document


def layered_positions(doc: Document, size_of: Callable[[str], tuple[float, float]],
                      h_gap: float = 70.0, v_gap: float = 28.0,
                      origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    order = doc.topological_order()
    inputs: dict[str, list[str]] = {nid: [] for nid in order}
    for e in doc.edges.values():
        inputs[e.dst].append(e.src)
    consumers: dict[str, list[str]] = {nid: [] for nid in order}
    for e in doc.edges.values():
        consumers[e.src].append(e.dst)
    depth: dict[str, int] = {}
    for nid in order:
        depth[nid] = 1 + max((depth[s] for s in inputs[nid]), default=-1)
    for nid in order:
        # A source sits just left of its first consumer, so its edges stay short.
        if not inputs[nid] and consumers[nid]:
            depth[nid] = max(0, min(depth[c] for c in consumers[nid]) - 1)
    columns: dict[int, list[str]] = {}
    for nid in order:
        columns.setdefault(depth[nid], []).append(nid)

    row: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    x = origin[0]
    for d in sorted(columns):
        column = columns[d]
        if d == 0:
            column.sort(key=lambda n: (doc.nodes[n].pos[1], doc.nodes[n].pos[0]))
        else:
            column.sort(key=lambda n: sum(row[s] for s in inputs[n]) / max(1, len(inputs[n])))
        sizes = [size_of(n) for n in column]
        total = sum(h for _, h in sizes) + v_gap * (len(column) - 1)
        y = origin[1] - total / 2
        for nid, (_, h) in zip(column, sizes):
            row[nid] = y + h / 2
            positions[nid] = (round(x), round(y))
            y += h + v_gap
        x += max(w for w, _ in sizes) + h_gap
    return positions
