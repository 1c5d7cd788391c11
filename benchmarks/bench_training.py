"""One SGD training step of an MLP 784-256-10 (ReLU, cross-entropy, batch 128), timed three ways
in one run: hand-written NumPy forward+backward+update (the floor for a NumPy engine), the
engine (`nn.Sequential`, `F.cross_entropy`, `optim.SGD`), and PyTorch CPU when installed,
with PyTorch limited to the thread count NumPy's BLAS uses. Prints each time and the ratios,
then, for information, a small CNN step (conv2d, max_pool2d) against PyTorch.

    .venv/bin/python benchmarks/bench_training.py [--steps N] [--repeats R] [--skip-cnn]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine  # noqa: E402

BATCH, IN, HIDDEN, OUT = 128, 784, 256, 10
LR = 0.01


def blas_threads() -> int:
    """How many threads NumPy's BLAS uses here (its environment limit, else the usable CPUs)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, IN)).astype(np.float32)
    y = rng.integers(0, OUT, BATCH)
    bound1, bound2 = 1 / np.sqrt(IN), 1 / np.sqrt(HIDDEN)
    weights = [rng.uniform(-bound1, bound1, (HIDDEN, IN)), rng.uniform(-bound1, bound1, HIDDEN),
               rng.uniform(-bound2, bound2, (OUT, HIDDEN)), rng.uniform(-bound2, bound2, OUT)]
    return x, y, [w.astype(np.float32) for w in weights]


def numpy_step_fn(x, y, weights):
    w1, b1, w2, b2 = [w.copy() for w in weights]
    onehot = np.zeros((BATCH, OUT), np.float32)
    onehot[np.arange(BATCH), y] = 1

    def step():
        h = x @ w1.T + b1
        a = np.maximum(h, 0)
        logits = a @ w2.T + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        loss = float((np.log(s)[:, 0] - shifted[np.arange(BATCH), y]).mean())
        dlogits = (e / s - onehot) / BATCH
        dw2 = dlogits.T @ a
        db2 = dlogits.sum(axis=0)
        da = dlogits @ w2
        dh = da * (h > 0)
        dw1 = dh.T @ x
        db1 = dh.sum(axis=0)
        for p, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2)):
            p -= LR * g
        return loss
    return step


def mlp_step_fn(lib, x, y, weights):
    """One SGD step of the MLP in `lib` (the engine or torch: the same code for both), starting
    from the same weights as the NumPy version."""
    model = lib.nn.Sequential(lib.nn.Linear(IN, HIDDEN), lib.nn.ReLU(), lib.nn.Linear(HIDDEN, OUT))
    with lib.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(lib.from_numpy(w))
    opt = lib.optim.SGD(model.parameters(), lr=LR)
    xt, yt = lib.from_numpy(x), lib.from_numpy(y.astype(np.int64))

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def cnn_step_fn(lib, x, y):
    """For information (no bar): one SGD step of a small CNN, conv 1->8 (3x3, pad 1), ReLU,
    2x2 max-pool, linear 8*14*14 -> 10, on 28x28 inputs."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 14 * 14, OUT))
    opt = lib.optim.SGD(model.parameters(), lr=LR)
    xt = lib.from_numpy(x.reshape(BATCH, 1, 28, 28))
    yt = lib.from_numpy(y.astype(np.int64))

    def step():
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def time_per_step(contenders: dict, steps: int, repeats: int, rounds: int = 3) -> dict:
    """Seconds per step for each contender: the best block of `steps` steps. Each round runs
    every contender for `repeats` blocks in turn (after a few warm-up steps, so one library's
    idle worker threads are not still spinning when the next one starts); rounds repeat so a
    busy moment on the machine does not decide the result."""
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, step in contenders.items():
            for _ in range(5):
                step()
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(steps):
                    step()
                best[name] = min(best[name], (time.perf_counter() - start) / steps)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-cnn", action="store_true", help="only the MLP comparison")
    args = parser.parse_args(argv)

    threads = blas_threads()
    x, y, weights = make_data()
    contenders = {"numpy (hand-written)": numpy_step_fn(x, y, weights),
                  "engine": mlp_step_fn(engine, x, y, weights)}
    try:
        import torch
        torch.set_num_threads(threads)
        contenders["pytorch cpu"] = mlp_step_fn(torch, x, y, weights)
    except ImportError:
        torch = None

    first_losses = {name: step() for name, step in contenders.items()}
    print(f"SGD step, MLP {IN}-{HIDDEN}-{OUT}, ReLU, cross-entropy, batch {BATCH}, float32")
    if hasattr(os, "getloadavg"):
        print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(times are only comparable when it stays below the CPU count)")
    print(f"NumPy {np.__version__}, BLAS threads: {threads}"
          + (f"; torch {torch.__version__} with torch.set_num_threads({threads})"
             if torch is not None else "; PyTorch not installed"))
    print("first-step losses (same weights and data): "
          + ", ".join(f"{name} {loss:.6f}" for name, loss in first_losses.items()))
    times = time_per_step(contenders, args.steps, args.repeats)
    for name, seconds in times.items():
        print(f"  {name:22s} {seconds * 1e3:8.3f} ms/step")
    base = times["engine"]
    print(f"engine / numpy   = {base / times['numpy (hand-written)']:.2f}x   (bar: <= 1.5x)")
    if "pytorch cpu" in times:
        print(f"engine / pytorch = {base / times['pytorch cpu']:.2f}x   (bar: <= 1.0x)")
    if torch is not None and not args.skip_cnn:
        cnn = {"engine": cnn_step_fn(engine, x, y), "pytorch cpu": cnn_step_fn(torch, x, y)}
        cnn_times = time_per_step(cnn, max(1, args.steps // 4), args.repeats)
        print(f"for information: SGD step of a small CNN (conv 1->8 3x3, ReLU, max-pool 2, "
              f"linear), batch {BATCH}: engine {cnn_times['engine'] * 1e3:.2f} ms, pytorch "
              f"{cnn_times['pytorch cpu'] * 1e3:.2f} ms, engine / pytorch = "
              f"{cnn_times['engine'] / cnn_times['pytorch cpu']:.2f}x")


if __name__ == "__main__":
    main()
