"""What the dashboard trainer's per-step snapshots and health samples cost: headless training
steps with them (the window's defaults: a snapshot every step within 64 MB, health every 25
steps) and without, and each alone, side by side in one process, alternating, several rounds.
Long enough by default for the snapshot store to fill its budget and start thinning (spirals:
after about 640 steps), so its steady state is measured too. Prints; never asserts.

    .venv/bin/python benchmarks/bench_snapshots.py [--example spirals.json] [--steps 1000]
        [--repeat 4] [--block 50] [--blocks 40]
        [--profile]                   # --profile: cProfile one run with both, top functions

Figures: CPU microseconds per step of the training thread (time.thread_time, as
bench_dashboard's headless figure; less disturbed by other processes than wall time), steps/s on the wall clock, the ratio to "off" measured in the same round (median
over rounds), and the machine's 1-minute load average when each round ended. Then the same
variants in paired blocks (see `paired_blocks`): on a loaded machine the steadiest figure.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import time

import numpy as np

from gradstudio import EXAMPLES
from gradstudio.graph import fileio
from gradstudio.runtime import Session
from gradstudio.runtime import training
from gradstudio.runtime.snapshots import SnapshotStore
from gradstudio.runtime.training import Trainer

VARIANTS = {"off": {"snapshot_budget": 0, "health_every": 0},
            "snapshots": {"health_every": 0},
            "health": {"snapshot_budget": 0},
            "both (defaults)": {}}


def trainer(example: str, options: dict) -> Trainer:
    session = Session(fileio.load(EXAMPLES / example))
    session.run()
    made = Trainer(session, **options)
    made.run(2)                                      # prepared, warm
    return made


def timed(example: str, steps: int, options: dict) -> tuple[float, float, Trainer]:
    """(CPU seconds, wall seconds) for `steps` steps, and the trainer."""
    made = trainer(example, options)
    wall, cpu = time.perf_counter(), time.thread_time()
    made.run(steps)
    return time.thread_time() - cpu, time.perf_counter() - wall, made


def inside_the_features(example: str, steps: int) -> tuple[dict[str, float], int]:
    """CPU seconds spent in take_snapshot, SnapshotStore.record and layer_health over `steps`
    steps with both on (their direct cost, measured inside the run)."""
    spent = {"take_snapshot": 0.0, "record": 0.0, "layer_health": 0.0}

    def timing(name, function):
        def timed_call(*args, **kwargs):
            start = time.thread_time()         # this thread's CPU: not others' load
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.thread_time() - start
        return timed_call

    patches = [(training, "take_snapshot"), (training, "layer_health"), (SnapshotStore, "record")]
    saved = [getattr(owner, name) for owner, name in patches]
    made = trainer(example, {})
    try:
        for owner, name in patches:
            setattr(owner, name, timing(name, getattr(owner, name)))
        made.run(steps)
    finally:
        for (owner, name), original in zip(patches, saved):
            setattr(owner, name, original)
    return spent, steps


def paired_blocks(example: str, warm: int, block: int, blocks: int) -> dict[str, np.ndarray]:
    """CPU seconds per step of each variant in alternating blocks of `block` steps, after
    `warm` steps each (past the snapshot budget filling): the variants take turns every few
    milliseconds, so a busy moment of the machine falls on all of them alike."""
    made = {name: trainer(example, options) for name, options in VARIANTS.items()}
    for run in made.values():
        run.run(warm)
    times = {name: [] for name in VARIANTS}
    names = list(made)
    for turn in range(blocks):
        for name in names[turn % len(names):] + names[:turn % len(names)]:   # each goes first
            start = time.thread_time()
            made[name].run(block)
            times[name].append((time.thread_time() - start) / block)
    return {name: np.array(values) for name, values in times.items()}


def load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="spirals.json")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--block", type=int, default=50, help="steps per paired block")
    parser.add_argument("--blocks", type=int, default=40, help="paired turns")
    parser.add_argument("--profile", action="store_true")
    args, _ = parser.parse_known_args()
    print(f"snapshots + health while training: {args.example}, {args.steps} steps per run, "
          f"{args.repeat} rounds ({platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs)")
    cpu = {name: [] for name in VARIANTS}
    rate = {name: [] for name in VARIANTS}
    ratios = {name: [] for name in VARIANTS}
    made = {}
    for round_ in range(args.repeat):
        row = []
        for name, options in VARIANTS.items():
            c, w, made[name] = timed(args.example, args.steps, options)
            cpu[name].append(c / args.steps)
            rate[name].append(args.steps / w)
            ratios[name].append(c / (cpu["off"][-1] * args.steps))
            row.append(f"{name} {c / args.steps * 1e6:.0f} us")
        print(f"  round {round_ + 1}: " + ", ".join(row) + f"   (load {load():.1f})")
    print(f"  whole runs, medians over the rounds:")
    print(f"  {'':16s} {'CPU us/step':>11s} {'steps/s':>8s} {'x off (CPU)':>11s}")
    for name in VARIANTS:
        print(f"  {name:16s} {statistics.median(cpu[name]) * 1e6:11.0f} "
              f"{statistics.median(rate[name]):8.0f} {statistics.median(ratios[name]):11.3f}")
    kept = made["both (defaults)"].snapshots
    print(f"  snapshots held at the end: {len(kept.steps())} steps, {kept.bytes_used / 1e6:.1f} MB "
          f"of {kept.budget / 1e6:.0f} MB; health samples {len(made['both (defaults)'].health)}")
    spent, steps = inside_the_features(args.example, args.steps)
    print("  time inside the features themselves, one more run with both: "
          + ", ".join(f"{name} {seconds / steps * 1e6:.0f} us/step" for name, seconds in spent.items())
          + f" (of {statistics.median(cpu['off']) * 1e6:.0f} us/step without them)")
    print(f"  load average at the end {load():.1f} (figures are only comparable side by side)")
    times = paired_blocks(args.example, 700, args.block, args.blocks)
    print(f"  paired blocks: {args.blocks} turns of {args.block} steps each, after 700 steps "
          f"(load {load():.1f}); the fastest and the median block:")
    off = times["off"]
    for name, values in times.items():
        print(f"  {name:16s} min {values.min() * 1e6:5.0f} us/step ({values.min() / off.min():.3f}x off)"
              f"   median {np.median(values) * 1e6:5.0f} us/step "
              f"({np.median(values / off):.3f}x off, median of the turns' ratios)")
    if args.profile:
        run = trainer(args.example, {})
        profile = cProfile.Profile()
        profile.enable()
        run.run(args.steps)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
