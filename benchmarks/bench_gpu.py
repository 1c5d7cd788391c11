"""The engine on cuda (CuPy) against PyTorch on cuda, side by side in one run.

Cases, each written once against a torch-like module M:
  mlp      one SGD train step of an MLP 4096-4096-4096-10 (ReLU, cross-entropy), batch 1024,
           float32: zero_grad, forward, backward, step            (goal: engine <= 1.3x torch)
  ew1M     `(a*b + a).sum().backward()` on 1,000,000-element float32 tensors
  ew100M   the same on 100,000,000 elements (memory bandwidth bound)
  tiny     `c = a*b + a; c.backward()` on one-element tensors: Python overhead only
  small    one SGD step of an MLP 64-64-10, batch 32: overhead-bound as small models are
Every timer read is preceded by a synchronisation of the library's device (kernels run
asynchronously, so an unsynchronised timer measures only the launches). The libraries run in
interleaved rounds (engine, torch, engine, ...) and the best round of each is kept. Also
printed: the peak device memory each library's mlp step took (engine.cuda and torch.cuda's
max_memory_allocated). Without a GPU (or without CuPy, or PyTorch's CUDA) it says why and
skips what it cannot run. Prints times and ratios; never asserts.

    .venv/bin/python benchmarks/bench_gpu.py [--rounds R] [--quick]
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the comparison is optional
    torch = None


def mlp_step(M, sizes, batch, lr=0.01):
    """One SGD step of Linear/ReLU layers of `sizes` on a fixed batch, on cuda."""
    M.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(M.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(M.nn.ReLU())
    model = M.nn.Sequential(*layers).to("cuda")
    opt = M.optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    x = M.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32), device="cuda")
    y = M.tensor(rng.integers(0, sizes[-1], batch), device="cuda")

    def run():
        opt.zero_grad(set_to_none=True)
        loss = M.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return run


def elementwise(M, n):
    a = M.randn(n, device="cuda", requires_grad=True)      # drawn on the device
    b = M.randn(n, device="cuda", requires_grad=True)

    def run():
        a.grad = None
        b.grad = None
        (a * b + a).sum().backward()
    return run


def tiny(M):
    a = M.tensor([2.0], device="cuda", requires_grad=True)
    b = M.tensor([3.0], device="cuda", requires_grad=True)

    def run():
        c = a * b + a
        c.backward()
    return run


CASES = [  # key, what, make(M), iterations, goal
    ("mlp", "MLP 4096-4096-4096-10 SGD step, batch 1024", lambda M: mlp_step(M, [4096, 4096, 4096, 10], 1024),
     10, "<= 1.3x torch"),
    ("ew1M", "(a*b + a).sum().backward(), 1M float32", lambda M: elementwise(M, 1_000_000), 50, "(no bar)"),
    ("ew100M", "(a*b + a).sum().backward(), 100M float32", lambda M: elementwise(M, 100_000_000), 5, "(no bar)"),
    ("tiny", "c = a*b + a; c.backward(), 1-element", tiny, 500, "(overhead)"),
    ("small", "MLP 64-64-10 SGD step, batch 32", lambda M: mlp_step(M, [64, 64, 10], 32), 200, "(overhead)"),
]


def _timeit(fn, sync, n):
    fn()                        # warm: CuPy compiles a kernel on its first use
    sync()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - t) / n


def _mib(b):
    return f"{b / 2 ** 20:,.0f} MiB"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one round, fewer iterations")
    args = ap.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    print("bench_gpu: the engine on cuda (CuPy) vs PyTorch on cuda")
    if not engine.cuda.is_available():
        print(f"  skipped: the engine cannot use CUDA here: {engine.cuda.unavailable_reason()}")
        return 0
    import cupy
    rt = cupy.cuda.runtime
    print(f"  device {engine.cuda.get_device_name()}; CuPy {cupy.__version__} (CUDA runtime "
          f"{rt.runtimeGetVersion()}, driver {rt.driverGetVersion()}); python {platform.python_version()}, "
          f"numpy {np.__version__}")
    libs = {"engine": (engine, engine.cuda.synchronize)}
    if torch is None:
        print("  PyTorch is not installed: engine times only")
    elif not torch.cuda.is_available():
        print(f"  PyTorch {torch.__version__} has no CUDA here: engine times only")
    else:
        print(f"  torch {torch.__version__} (CUDA {torch.version.cuda}), TF32 matmul "
              f"{'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'}; best of {rounds} interleaved rounds")
        libs["torch"] = (torch, torch.cuda.synchronize)
    rows = []
    for key, what, make, n, goal in CASES:
        if args.quick:
            n = max(2, n // 5)
        for M, _ in libs.values():
            M.cuda.empty_cache()
            M.cuda.reset_peak_memory_stats()
        runs = {name: make(M) for name, (M, _) in libs.items()}
        best = {name: float("inf") for name in libs}
        for _ in range(rounds):
            for name, run in runs.items():
                best[name] = min(best[name], _timeit(run, libs[name][1], n))
        peak = {name: M.cuda.max_memory_allocated() for name, (M, _) in libs.items()}
        del runs
        rows.append((key, best, peak, goal))
        e, t = best["engine"], best.get("torch")
        print(f"  {key:7} engine {e * 1e3:9.3f} ms" + (f"  torch {t * 1e3:9.3f} ms  ratio {e / t:6.2f}x" if t else ""),
              flush=True)

    print(f"\n{'case':7} {'engine':>12} {'torch':>12} {'eng/torch':>10}  {'engine peak':>12} {'torch peak':>12}  goal")
    for key, best, peak, goal in rows:
        e, t = best["engine"], best.get("torch")
        print(f"{key:7} {e * 1e3:10.3f}ms " + (f"{t * 1e3:10.3f}ms {e / t:9.2f}x " if t else f"{'-':>12} {'-':>10} ")
              + f" {_mib(peak['engine']):>12} " + (f"{_mib(peak['torch']):>12}" if t else f"{'-':>12}") + f"  {goal}")
    print("\n" + "\n".join(f"  {key}: {what}" for key, what, *_ in CASES))
    print("  tiny and small measure per-op Python overhead (the GPU idles between launches);\n"
          "  mlp and ew100M measure the device's matmul and memory bandwidth.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
