"""Engine core overhead, side by side in one run: the engine, PyTorch CPU and hand-written NumPy.

Cases (bars of issues 3 and 13):
  tiny     `c = a*b + a; c.backward()` on one-element tensors          (bar: engine <= 0.6x torch)
  1M       `(a*b + a).sum().backward()` on 1,000,000-element float32    (bar: engine <= torch)
  1Mheld   the 1M case keeping a*b, a*b+a and the sum alive until the next step, as a Session does
  chain    3,000 ops (`y = y*1.0001`) forward + backward on 10 elements (bar: engine <= 0.6x torch)
  mixed    3,000 ops (mul, add, tanh repeated) forward + backward
  chain100k  100,000 such ops, three runs: time and peak RSS after each (bar: the peak stops growing)
Each case runs in interleaved rounds (engine, torch, numpy, engine, ...) and keeps the best
round of each, so load from other processes hurts all three alike. PyTorch runs with its
default thread count and again with one thread. NumPy's ufuncs are single-threaded; the engine runs
large float add/sub/mul/div and float32 sums on all cores through Numba when it is installed
(engine/_kernels.py), so the 1M case is printed with and without those kernels.
Prints times and ratios; never asserts.

    .venv/bin/python benchmarks/bench_engine.py [--rounds R] [--quick]
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine  # noqa: E402
from engine import _kernels  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the comparison is optional
    torch = None


def _timeit(fn, n):
    # Thread pools (PyTorch's OpenMP, the engine's Numba kernels) keep spinning for a while
    # after their last job; a pause first lets the previous library's threads go idle so
    # they do not take cores from the one measured next.
    time.sleep(0.02)
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def _without_kernels(fn):
    """fn run with the engine's Numba kernels switched off (NumPy's single-threaded ufuncs)."""
    def run():
        saved, _kernels._state["kernels"] = _kernels._state["kernels"], False
        try:
            fn()
        finally:
            _kernels._state["kernels"] = saved
    return run


# -- the cases, written once against a torch-like module M ------------------------------------
def tiny(M):
    a = M.tensor([2.0], requires_grad=True)
    b = M.tensor([3.0], requires_grad=True)

    def run():
        c = a * b + a
        c.backward()
    return run


def tiny_numpy():
    a, b = np.array([2.0], np.float32), np.array([3.0], np.float32)
    ga, gb = np.zeros(1, np.float32), np.zeros(1, np.float32)

    def run():
        c = a * b + a
        g = np.ones_like(c)
        ga.__iadd__(g * b + g)
        gb.__iadd__(g * a)
    return run


def big(M, n=1_000_000):
    rng = np.random.default_rng(0)
    a = M.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    b = M.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)

    def run():
        a.grad = None
        b.grad = None
        c = (a * b + a).sum()
        c.backward()
    return run


def big_numpy(n=1_000_000):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)

    def run():
        c = (a * b + a).sum()
        g = np.broadcast_to(np.float32(1.0), a.shape)
        ga = g * b + g
        gb = g * a
        return c, ga, gb
    return run


def big_held(M, n=1_000_000):
    """The 1M case keeping its intermediates alive until the next step, as gradstudio's Session
    does for the inspector (fresh 4 MB blocks each step: the heap must reuse freed memory)."""
    rng = np.random.default_rng(0)
    a = M.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    b = M.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    held = []

    def run():
        a.grad = None
        b.grad = None
        held.clear()
        m = a * b
        s = m + a
        c = s.sum()
        c.backward()
        held.extend((m, s, c))
    return run


def big_held_numpy(n=1_000_000):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    held = []

    def run():
        held.clear()
        m = a * b
        s = m + a
        c = s.sum()
        g = np.broadcast_to(np.float32(1.0), a.shape)
        held.extend((m, s, c, g * b + g, g * a))
    return run


def chain(M, ops=3000):
    x = M.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)

    def run():
        y = x
        for _ in range(ops):
            y = y * 1.0001
        y.sum().backward()
    return run


def chain_numpy(ops=3000):
    x = np.linspace(-1, 1, 10, dtype=np.float32)

    def run():
        y = x
        for _ in range(ops):
            y = y * np.float32(1.0001)
        s = y.sum()
        g = np.ones_like(x)
        for _ in range(ops):
            g = g * np.float32(1.0001)
        return s, g
    return run


def mixed(M, steps=1000):
    x = M.tensor(np.linspace(-1, 1, 10, dtype=np.float32), requires_grad=True)

    def run():
        y = x
        for _ in range(steps):
            y = (y * 0.9 + 0.01).tanh()
        y.sum().backward()
    return run


def mixed_numpy(steps=1000):
    x = np.linspace(-1, 1, 10, dtype=np.float32)

    def run():
        y, outs = x, []
        for _ in range(steps):
            y = np.tanh(y * np.float32(0.9) + np.float32(0.01))
            outs.append(y)
        g = np.ones_like(x)
        for y in reversed(outs):
            g = g * (1 - y * y) * np.float32(0.9)
        return g
    return run


CASES = [
    ("tiny", "c = a*b + a; c.backward(), 1-element", tiny, tiny_numpy, 2000, "<= 0.6x torch (issue 13)"),
    ("1M", "(a*b + a).sum().backward(), 1M float32", big, big_numpy, 20, "<= 1.0x torch"),
    ("1Mheld", "the 1M case holding its intermediates", big_held, big_held_numpy, 20, "(no bar)"),
    ("chain", "3,000 muls fwd+bwd, 10 elements", chain, chain_numpy, 3, "<= 0.6x torch (issue 13)"),
    ("mixed", "1,000 x (mul, add, tanh) fwd+bwd", mixed, mixed_numpy, 3, "(no bar)"),
]


def long_chain_memory(ops=100_000, runs=3):
    """A 100,000-op chain forward+backward, run several times: time per run and the process's
    peak RSS after each (bounded memory: the peak stops growing after the first run)."""
    import resource
    run = chain(engine, ops)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        out.append((time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one round, fewer iterations")
    args = ap.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    print("bench_engine: engine core vs PyTorch CPU vs hand-written NumPy")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, cpus {os.cpu_count()}, "
          f"torch threads {torch.get_num_threads() if torch else '-'}; best of {rounds} interleaved rounds")
    if hasattr(os, "getloadavg"):
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(other processes slow PyTorch's threads most; compare runs made while it stays low)")
    default_threads = torch.get_num_threads() if torch else 1
    rows = []
    for key, what, make, make_np, n, bar in CASES:
        if args.quick:
            n = max(1, n // 4)
        runners = {"engine": make(engine), "numpy": make_np()}
        if key == "1M":
            runners["engine_np"] = _without_kernels(make(engine))
        if torch is not None:
            runners["torch"] = make(torch)
        best = {k: float("inf") for k in list(runners) + (["torch1"] if torch else [])}
        for _ in range(rounds):
            for k, fn in runners.items():
                best[k] = min(best[k], _timeit(fn, n))
            if torch is not None:
                torch.set_num_threads(1)
                best["torch1"] = min(best["torch1"], _timeit(runners["torch"], n))
                torch.set_num_threads(default_threads)
        rows.append((key, what, best, bar))

    print(f"\n{'case':7} {'engine':>11} {'torch':>11} {'torch 1thr':>11} {'numpy':>11}  "
          f"{'eng/torch':>9} {'eng/torch1':>10} {'eng/numpy':>9}  bar")
    for key, what, best, bar in rows:
        e, t, t1, npy = best["engine"], best.get("torch"), best.get("torch1"), best["numpy"]
        fmt = lambda s: f"{s * 1e6:9.1f}us" if s is not None else f"{'-':>11}"  # noqa: E731
        r = lambda x: f"{e / x:9.2f}x" if x else f"{'-':>10}"  # noqa: E731
        print(f"{key:7} {fmt(e)} {fmt(t)} {fmt(t1)} {fmt(npy)}  {r(t)} {r(t1)} {r(npy)}  {bar}")
    for key, what, best, bar in rows:
        if "engine_np" in best:
            t = best.get("torch")
            vs = f" = {best['engine_np'] / t:.2f}x torch" if t else ""
            state = "in use" if _kernels._kernels() else f"not in use ({_kernels.why_not()})"
            print(f"\n{key} with NumPy only (no Numba kernels): {best['engine_np'] * 1e6:.1f}us{vs}; "
                  f"Numba kernels {state}")
    try:
        runs = long_chain_memory()
    except ImportError:        # the resource module (peak RSS) is Unix-only
        runs = None
    if runs:
        print("\nchain100k (100,000 muls fwd+bwd, 10 elements), engine: " + ", ".join(
            f"{t:.2f}s peak RSS {m:.0f} MiB" for t, m in runs))
    print("\n" + "\n".join(f"  {key}: {what}" for key, what, *_ in CASES))


if __name__ == "__main__":
    main()
