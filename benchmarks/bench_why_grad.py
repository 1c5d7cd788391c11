"""Why-grad answers on a 5,000-node graph, against one forward+backward of the same graph
through the Session (measured side by side in this run). Bar (issue 15): each answer under
one second. Prints; never asserts.

    .venv/bin/python benchmarks/bench_why_grad.py [--nodes 5000] [--repeat 5]

Three questions: a leaf that has its gradient (the document's paths only), a non-leaf in
the middle of the chain (the engine is asked what reaches every node on the path), and a
leaf whose gradient is zero because every unit of a relu near the root is inactive (the
same probe, then the zero traced back along 5,000 nodes).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import engine
from gradstudio.graph.document import Document
from gradstudio.runtime import Session
from gradstudio.runtime.why_grad import why_grad

# factors of magnitude 1, so that the gradient neither vanishes nor explodes over 5,000 nodes
PATTERN = (("mul", {"scalar": 1.0}, False), ("add", {"scalar": 0.01}, False),
           ("add", {}, True))


def build_document(nodes: int, dead_relu: bool) -> Document:
    """x -> a chain of mul/add/add(x) -> [mul -1 -> relu] -> sum -> backward."""
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [0.5] * 8, "requires_grad": True}).id
    previous = x
    tail = [("mul", {"scalar": -1.0}), ("relu", {})] if dead_relu else []
    for k in range(nodes - 3 - len(tail)):
        kind, params, uses_x = PATTERN[k % len(PATTERN)]
        node = doc.add_node(kind, f"{kind}{k}", params).id
        doc.add_edge(previous, "out", node, "input")
        if uses_x:
            doc.add_edge(x, "out", node, "other")
        previous = node
    for kind, params in tail:
        node = doc.add_node(kind, f"{kind}_tail", params).id
        doc.add_edge(previous, "out", node, "input")
        previous = node
    total = doc.add_node("sum", "total").id
    doc.add_edge(previous, "out", total, "input")
    root = doc.add_node("backward", "backward").id
    doc.add_edge(total, "out", root, "input")
    return doc


def timed(step, repeat: int) -> float:
    step()                                        # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args, _ = parser.parse_known_args()
    healthy = Session(build_document(args.nodes, dead_relu=False), engine=engine)
    dead = Session(build_document(args.nodes, dead_relu=True), engine=engine)
    middle = f"mul{(args.nodes // 2) // 3 * 3}"

    def run_healthy():
        if not healthy.run():
            raise SystemExit(f"the benchmark graph failed: {healthy.errors}")

    run = timed(run_healthy, args.repeat)
    dead.run()
    answers = {
        "leaf with a gradient": (healthy, "x"),
        f"non-leaf '{middle}'": (healthy, middle),
        "leaf behind a dead relu": (dead, "x"),
    }
    print(f"why-grad: {args.nodes}-node chain of 8-element tensors, on engine "
          f"({platform.processor() or platform.machine()}, Python {platform.python_version()})")
    print(f"  forward+backward through the Session : {run * 1e3:8.1f} ms")
    for title, (session, name) in answers.items():
        answer = why_grad(session, name)
        seconds = timed(lambda s=session, n=name: why_grad(s, n), args.repeat)
        kinds = ", ".join(c.kind for c in answer.causes[:4]) or answer.status
        print(f"  {title:<38}: {seconds * 1e3:8.1f} ms  ({seconds / run:5.2f}x a run; "
              f"{'under' if seconds < 1 else 'OVER'} the 1 s bar)  -> {kinds}")


if __name__ == "__main__":
    main()
