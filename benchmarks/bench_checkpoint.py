"""Peak memory and time of forward+backward through a deep MLP, plain and with activation
checkpointing (`engine.utils.checkpoint`), measured in one run. Memory is NumPy's array
allocations as tracemalloc sees them (NumPy reports its buffers to tracemalloc).

    .venv/bin/python benchmarks/bench_checkpoint.py [--depth 16] [--width 256] [--batch 1024]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine  # noqa: E402
import engine.nn as nn  # noqa: E402
from engine.utils.checkpoint import checkpoint, checkpoint_sequential  # noqa: E402


def peak_mib(run) -> float:
    """Peak MiB allocated above the starting point during one forward+backward."""
    tracemalloc.start()
    start_bytes = tracemalloc.get_traced_memory()[0]
    run().sum().backward()
    peak = tracemalloc.get_traced_memory()[1] - start_bytes
    tracemalloc.stop()
    return peak / 2 ** 20


def seconds(run, repeats: int = 3) -> float:
    """Best time of one forward+backward (without tracemalloc, which slows allocation)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run().sum().backward()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=16)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args(argv)

    engine.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(args.width, args.width), nn.Tanh(),
                                          nn.Linear(args.width, args.width), nn.Tanh())
                            for _ in range(args.depth)])
    x = engine.randn(args.batch, args.width, requires_grad=True)
    segments = max(1, round(args.depth ** 0.5))

    def per_block():
        h = x
        for block in model:
            h = checkpoint(block, h, use_reentrant=False)
        return h

    runs = {"plain": lambda: model(x),
            "checkpoint every block": per_block,
            f"checkpoint_sequential({segments} segments)":
                lambda: checkpoint_sequential(model, segments, x)}
    activation_mib = args.batch * args.width * 4 / 2 ** 20
    print(f"MLP of {args.depth} blocks (Linear({args.width}, {args.width}), Tanh) x 2, batch "
          f"{args.batch}, "
          f"float32; one activation = {activation_mib:.1f} MiB")
    if hasattr(os, "getloadavg"):
        print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(times are only comparable when it stays below the CPU count)")
    results = {}
    for name, run in runs.items():
        run().sum().backward()                        # warm up
        model.zero_grad()
        peak = peak_mib(run)
        model.zero_grad()
        results[name] = (peak, seconds(run))
        model.zero_grad()
    plain_peak, plain_time = results["plain"]
    for name, (peak, took) in results.items():
        print(f"  {name:34s} peak {peak:8.1f} MiB ({peak / plain_peak:5.2f}x plain)   "
              f"time {took * 1e3:8.1f} ms ({took / plain_time:4.2f}x plain)")


if __name__ == "__main__":
    main()
