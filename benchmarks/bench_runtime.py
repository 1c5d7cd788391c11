"""Runtime overhead: a 1,000-node graph's forward+backward through a Session, against the
same engine calls written by hand. Bar (issue 5): under 3x. Prints; never asserts.

    .venv/bin/python benchmarks/bench_runtime.py [--nodes 1000] [--repeat 20]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

import engine
from gradstudio.graph.document import Document
from gradstudio.runtime import Session

# The chain cycles through these: (kind, params, second input is the leaf x)
PATTERN = (("mul", {"scalar": 1.001}, False), ("add", {"scalar": 0.01}, False),
           ("tanh", {}, False), ("add", {}, True))


def build_document(nodes: int) -> Document:
    doc = Document()
    x = doc.add_node("tensor", "x", {"value": [0.5] * 8, "requires_grad": True}).id
    previous = x
    for k in range(nodes - 3):
        kind, params, uses_x = PATTERN[k % len(PATTERN)]
        node = doc.add_node(kind, f"{kind}{k}", params).id
        doc.add_edge(previous, "out", node, "input")
        if uses_x:
            doc.add_edge(x, "out", node, "other")
        previous = node
    total = doc.add_node("sum", "total").id
    doc.add_edge(previous, "out", total, "input")
    root = doc.add_node("backward", "backward").id
    doc.add_edge(total, "out", root, "input")
    return doc


def by_hand(E, nodes: int):
    x = E.tensor([0.5] * 8, requires_grad=True)

    def step():
        value = x
        for k in range(nodes - 3):
            kind, params, uses_x = PATTERN[k % len(PATTERN)]
            if kind == "tanh":
                value = E.tanh(value)
            else:
                other = x if uses_x else float(params["scalar"])
                value = getattr(E, kind)(value, other)
        E.sum(value).backward()
    return step, x


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
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    E = engine
    doc = build_document(args.nodes)
    session = Session(doc, engine=E)

    def through_runtime():
        if not session.run():
            raise SystemExit(f"the benchmark graph failed: {session.errors}")

    hand_step, x = by_hand(E, args.nodes)
    hand = timed(hand_step, args.repeat)
    runtime = timed(through_runtime, args.repeat)
    assert len(session.last_run) == args.nodes - 1   # every node but the leaf re-ran
    grads_match = np.allclose(session.info("x").grad, x.grad.detach().numpy())
    print(f"runtime overhead: {args.nodes}-node chain of 8-element tensors, forward+backward, "
          f"on {E.__name__} ({platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()})")
    print(f"  engine calls by hand : {hand * 1e3:8.2f} ms")
    print(f"  through the runtime  : {runtime * 1e3:8.2f} ms")
    print(f"  ratio                : {runtime / hand:8.2f}x  (bar: under 3x)")
    print(f"  same x.grad per step : {grads_match}")


if __name__ == "__main__":
    main()
