"""Training soak: 100,000 steps of a small network with the metrics buffers attached, resident
memory sampled every 10,000 steps (it should stay flat), and steps per second; then the
examples' steps per second headless (what `gradstudio run` runs) against the same trainer in a
worker thread with a reader taking snapshots 60 times a second (what the dashboard does).
Prints; never asserts.

    .venv/bin/python benchmarks/bench_soak.py [--steps 100000] [--every 10000] [--capacity 20000]
                                              [--example-steps 2000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from gradstudio.graph import fileio
from gradstudio.graph.document import Document
from gradstudio.runtime.metrics import TrainingMetrics
from gradstudio.runtime.session import Session
from gradstudio.runtime.training import Trainer

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    """Resident set size from /proc/self/statm (its second field counts pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def small_network(steps: int) -> Document:
    """moons (256 points) -> Linear(2, 16) -> Tanh -> Linear(16, 1) -> BCE with logits."""
    doc = Document()
    data = doc.add_node("dataset", "data", {"name": "moons", "n_samples": 256}).id
    y = doc.add_node("float", "y_float").id
    target = doc.add_node("unsqueeze", "target", {"dim": 1}).id
    fc1 = doc.add_node("nn.Linear", "fc1", {"in_features": 2, "out_features": 16}).id
    act = doc.add_node("nn.Tanh", "tanh").id
    fc2 = doc.add_node("nn.Linear", "fc2", {"in_features": 16, "out_features": 1}).id
    loss = doc.add_node("binary_cross_entropy_with_logits", "loss").id
    for src, port, dst, dst_port in ((data, "y", y, "input"), (y, "out", target, "input"),
                                     (data, "x", fc1, "input"), (fc1, "out", act, "input"),
                                     (act, "out", fc2, "input"), (fc2, "out", loss, "input"),
                                     (target, "out", loss, "target")):
        doc.add_edge(src, port, dst, dst_port)
    doc.meta["training"] = {"data": "data", "loss": "loss", "steps": steps, "batch_size": 32,
                            "validation_split": 0.2, "optimizer": {"kind": "adam", "lr": 0.01},
                            "clipping": {"mode": "norm", "max_norm": 1.0}}
    return doc


def soak(steps: int, every: int, capacity: int) -> None:
    metrics = TrainingMetrics(capacity=capacity, parameter_capacity=capacity)
    trainer = Trainer(Session(small_network(steps)), metrics)
    print(f"soak: {steps} steps, 2-16-1 MLP, batch 32, Adam, clipping by norm, "
          f"metrics capacity {metrics.capacity} points per curve, a snapshot every {every} steps")
    print("(RSS may rise until the curves are full: the snapshots' copies grow until then)")
    print(f"{'step':>8} {'RSS MiB':>9} {'steps/s':>9} {'loss points':>12} {'loss':>9}")
    print(f"{0:>8} {rss_mib():>9.1f}")
    started = time.perf_counter()
    while trainer.steps_done < steps:
        t = time.perf_counter()
        trainer.run(min(every, steps - trainer.steps_done))
        rate = every / (time.perf_counter() - t)
        snap = metrics.snapshot()
        print(f"{trainer.steps_done:>8} {rss_mib():>9.1f} {rate:>9.0f} {len(snap.loss.values):>12} "
              f"{snap.loss.values[-1]:>9.4f}", flush=True)
    total = time.perf_counter() - started
    print(f"soak: {steps / total:.0f} steps/s over {total:.1f} s")


def headless_rate(name: str, steps: int) -> float:
    """Steps per second of the trainer in this thread, as `gradstudio run --steps` runs it."""
    doc = fileio.load(EXAMPLES / f"{name}.json")
    session = Session(doc)
    session.run()
    trainer = Trainer(session, keep_losses=True)
    t = time.perf_counter()
    trainer.run(steps)
    return steps / (time.perf_counter() - t)


def worker_rate(name: str, steps: int) -> tuple[float, int]:
    """Steps per second in the worker thread while this thread snapshots at 60 Hz."""
    trainer = Trainer.for_document(fileio.load(EXAMPLES / f"{name}.json"))
    version, reads = 0, 0
    t = time.perf_counter()
    trainer.start(steps)
    while trainer.alive:
        snap = trainer.metrics.snapshot_if_newer(version)
        if snap is not None:
            version, reads = snap.version, reads + 1
        time.sleep(1 / 60)
    elapsed = time.perf_counter() - t
    trainer.close()
    assert trainer.state == "finished", trainer.message
    return steps / elapsed, reads


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--capacity", type=int, default=20_000, help="points kept per curve")
    parser.add_argument("--example-steps", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind per example")
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus")
    soak(args.steps, args.every, args.capacity)
    print(f"\nexamples, {args.example_steps} steps a run: headless (gradstudio run) against "
          f"a worker thread with a 60 Hz snapshot reader, runs alternating, best of "
          f"{args.repeat} each (the best is the least disturbed by other processes)")
    print(f"{'example':>10} {'headless/s':>11} {'worker/s':>9} {'ratio':>6} {'snapshots':>10}")
    for name in ("xor", "spirals"):
        headless, worker, reads = 0.0, 0.0, 0
        for _ in range(args.repeat):
            headless = max(headless, headless_rate(name, args.example_steps))
            rate, count = worker_rate(name, args.example_steps)
            if rate > worker:
                worker, reads = rate, count
        print(f"{name:>10} {headless:>11.0f} {worker:>9.0f} {worker / headless:>6.2f} {reads:>10}")


if __name__ == "__main__":
    main()
