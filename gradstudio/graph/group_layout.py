"""Auto-layout that keeps groups whole: each group is laid out as one block, recursively.

At every level (the top, or inside one group) the items are the nodes directly there and the
child groups as blocks; an edge between two nodes links the items that hold them at that
level. Items go in columns by longest path (ties and cycles broken by document order) and
are stacked in each column; a group's block is its items plus a margin and a header, so
the frames the canvas draws around expanded groups never overlap. A collapsed group takes
the room of its box (its members are laid out inside the same spot, hidden), so a graph
shown as module boxes is compact; expand one and auto-layout again to make room for it.
"""
from __future__ import annotations

from typing import Callable

from gradstudio.graph.document import Document

H_GAP, V_GAP = 60.0, 24.0
MARGIN, HEADER = 20.0, 30.0
# a collapsed group's box, as gradstudio.ui.group_items draws it: width, header + summary,
# one row per boundary port
BOX_WIDTH, BOX_TOP, BOX_ROW = 200.0, 42.0, 18.0


def box_sizes(doc: Document, chains: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """The size of every group's box were it collapsed: one port row per value crossing its
    boundary (in one pass over the edges; chains: node -> its groups, outermost first)."""
    inputs: dict[str, set] = {}
    outputs: dict[str, set] = {}
    for e in doc.edges.values():
        src, dst = set(chains[e.src]), set(chains[e.dst])
        for gid in chains[e.dst]:
            if gid not in src:
                inputs.setdefault(gid, set()).add((e.src, e.src_port))
        for gid in chains[e.src]:
            if gid not in dst:
                outputs.setdefault(gid, set()).add((e.src, e.src_port))
    return {gid: (BOX_WIDTH, BOX_TOP + 6 + 2 * 8 + BOX_ROW * max(
        len(inputs.get(gid, ())), len(outputs.get(gid, ())), 1)) for gid in doc.groups}


def estimated_size(doc: Document, node_id: str) -> tuple[float, float]:
    """A node's size on the canvas once it has run, without a canvas (as NodeItem lays it
    out: header, badges, a row per port and per shown parameter, the run's preview lines)."""
    node = doc.nodes[node_id]
    spec = doc.spec(node)
    params = node.params
    if node.kind == "call":
        from gradstudio.graph.script_call import call_ports
        inputs, outputs = call_ports(params)
        rows, shown, lines = max(len(inputs), len(outputs)), 1, 3    # shape, data, grad_fn
    else:
        rows = max(len(spec.inputs), len(spec.outputs))
        hidden = set()
        if "init" in params:       # a leaf shows value, or shape and what its init needs
            hidden = {"shape", "fill_value", "seed"} if params["init"] == "value" else \
                {"value"} | ({"fill_value"} if params["init"] != "full" else set())
        shown = min(sum(1 for p in spec.params if p.name not in hidden), 7)
        grads = node.kind == "parameter" or params.get("requires_grad")
        lines = 3 if grads or spec.inputs else 2
    height = 24 + 18 + 20 * rows + (2 + 20 * shown if shown else 0) + 4 + 16 * lines + 8
    return 200.0, float(height)


def _topological(items: list[str], preds: dict[str, set[str]], key) -> list[str]:
    """Items with each after its predecessors (earliest first among the ready ones); items
    on a cycle (possible in hand-made groups) follow in document order."""
    import heapq
    succs: dict[str, list[str]] = {item: [] for item in items}
    indegree = {item: len(preds[item]) for item in items}
    for item in items:
        for p in preds[item]:
            succs[p].append(item)
    ready = [(key(i), i) for i in items if not indegree[i]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, item = heapq.heappop(ready)
        order.append(item)
        for nxt in succs[item]:
            indegree[nxt] -= 1
            if not indegree[nxt]:
                heapq.heappush(ready, (key(nxt), nxt))
    placed = set(order)
    return order + [i for i in items if i not in placed]


def grouped_positions(doc: Document,
                      size_of: Callable[[str], tuple[float, float]] | None = None,
                      origin: tuple[float, float] = (0.0, 0.0)) -> dict[str, tuple[float, float]]:
    size_of = size_of or (lambda nid: estimated_size(doc, nid))
    rank = {nid: k for k, nid in enumerate(doc.nodes)}
    owner = doc.node_groups()
    children: dict[str | None, list[str]] = {}
    for g in doc.groups.values():
        children.setdefault(g.parent, []).append(g.id)
    top_nodes = [nid for nid in doc.nodes if nid not in owner]
    # item of each node at each level: walk its group chain
    chains = {nid: doc.group_chain(owner.get(nid))[::-1] for nid in doc.nodes}

    def item_at(nid: str, level: str | None) -> str:
        """The item holding nid among the children of `level` ('n:'/'g:' prefixed)."""
        chain = chains[nid]
        if level is None:
            return f"g:{chain[0]}" if chain else f"n:{nid}"
        k = chain.index(level)
        return f"g:{chain[k + 1]}" if k + 1 < len(chain) else f"n:{nid}"

    edges_at: dict[str | None, list[tuple[str, str]]] = {}
    for e in doc.edges.values():
        a, b = chains[e.src], chains[e.dst]
        common = None
        for x, y in zip(a, b):
            if x != y:
                break
            common = x
        edges_at.setdefault(common, []).append((item_at(e.src, common), item_at(e.dst, common)))

    blocks: dict[str, tuple[float, float, dict[str, tuple[float, float]]]] = {}
    boxes = box_sizes(doc, chains) if any(g.collapsed for g in doc.groups.values()) else {}
    group_first: dict[str, int] = {}
    for nid, chain in chains.items():
        for gid in chain:
            if rank[nid] < group_first.get(gid, len(rank)):
                group_first[gid] = rank[nid]

    def first_rank(item: str) -> int:
        return rank[item[2:]] if item.startswith("n:") else group_first.get(item[2:], 0)

    def layout(level: str | None) -> tuple[float, float, dict[str, tuple[float, float]]]:
        """(width, height, item -> position relative to the block's top-left)."""
        items = [f"n:{n}" for n in (doc.groups[level].node_ids if level else top_nodes)]
        items += [f"g:{g}" for g in children.get(level, [])]
        sizes = {}
        for item in items:
            if item.startswith("n:"):
                sizes[item] = size_of(item[2:])
            else:
                w, h, _ = blocks.setdefault(item, layout(item[2:]))
                group = doc.groups[item[2:]]
                sizes[item] = boxes[group.id] if group.collapsed else (w, h)
        items.sort(key=first_rank)
        preds: dict[str, set[str]] = {item: set() for item in items}
        for a, b in edges_at.get(level, ()):
            if a != b and a in preds and b in preds:
                preds[b].add(a)
        depth: dict[str, int] = {}
        for item in _topological(items, preds, first_rank):
            depth[item] = 1 + max((depth[p] for p in preds[item] if p in depth), default=-1)
        columns: dict[int, list[str]] = {}
        for item in items:
            columns.setdefault(depth[item], []).append(item)
        heights = {d: sum(sizes[i][1] for i in col) + V_GAP * (len(col) - 1)
                   for d, col in columns.items()}
        tallest = max(heights.values(), default=0.0)
        x, positions = 0.0, {}
        for d in sorted(columns):
            y = (tallest - heights[d]) / 2
            for item in columns[d]:
                positions[item] = (x, y)
                y += sizes[item][1] + V_GAP
            x += max(sizes[i][0] for i in columns[d]) + H_GAP
        width = max(x - H_GAP, 0.0)
        if level is None:
            return width, tallest, positions
        return width + 2 * MARGIN, tallest + 2 * MARGIN + HEADER, positions

    result: dict[str, tuple[float, float]] = {}

    def place(level: str | None, left: float, top: float) -> None:
        if level is None:
            _, _, positions = layout(None)
        else:
            _, _, positions = blocks[f"g:{level}"]
            left, top = left + MARGIN, top + MARGIN + HEADER
        for item, (x, y) in positions.items():
            if item.startswith("n:"):
                result[item[2:]] = (round(left + x), round(top + y))
            else:
                place(item[2:], left + x, top + y)

    place(None, origin[0], origin[1])
    return result
