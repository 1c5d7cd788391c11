"""What the dashboard trainer's per-step snapshots and health samples cost: the same training
steps with them (the window's defaults: a snapshot every step within 64 MB, health every 25
steps) and without, side by side in one process, alternating. Prints; never asserts.

    .venv/bin/python benchmarks/bench_snapshots.py [--example spirals.json] [--steps 200]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.runtime import Session
from gradstudio.runtime.training import Trainer


def seconds(example: str, steps: int, keep: bool) -> tuple[float, Trainer]:
    session = Session(fileio.load(EXAMPLES / example))
    session.run()
    options = {} if keep else {"snapshot_budget": 0, "health_every": 0}
    trainer = Trainer(session, **options)
    trainer.run(2)                                   # prepared, warm
    start = time.perf_counter()
    trainer.run(steps)
    return time.perf_counter() - start, trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="spirals.json")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args, _ = parser.parse_known_args()
    plain, kept = [], []
    trainer = None
    for _ in range(args.repeat):
        plain.append(seconds(args.example, args.steps, keep=False)[0])
        took, trainer = seconds(args.example, args.steps, keep=True)
        kept.append(took)
    a, b = statistics.median(plain), statistics.median(kept)
    store = trainer.snapshots
    print(f"snapshots + health while training: {args.example}, {args.steps} steps "
          f"({platform.processor() or platform.machine()}, Python {platform.python_version()})")
    print(f"  without          : {a * 1e3 / args.steps:7.2f} ms/step")
    print(f"  with (defaults)  : {b * 1e3 / args.steps:7.2f} ms/step")
    print(f"  ratio            : {b / a:7.2f}x")
    print(f"  snapshots {store.held_text()}; health samples {len(trainer.health)}")


if __name__ == "__main__":
    main()
