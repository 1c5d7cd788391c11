"""conv2d at two revisions of the engine, side by side in one run.

Each revision's `engine/` is taken with `git archive` (or the working tree, `--after .`) into a
temporary folder; the cases below (forward + backward of F.conv2d on float32) run in one
subprocess per revision and round, the revisions interleaved so machine load hurts both alike;
the best time of each is kept. Prints both times and the ratio after / before. Never asserts.

    .venv/bin/python benchmarks/bench_conv_revisions.py [--before main] [--after .] [--rounds 8]
"""
import argparse
import ast
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = """
import sys, time
import numpy as np
import engine
import engine.nn.functional as F
rng = np.random.default_rng(0)
cases = {
    "16x3x32x32 k3 p1 -> 16": ((16, 3, 32, 32), (16, 3, 3, 3), {"padding": 1}),
    "16x16x16x16 k3 p1 -> 32": ((16, 16, 16, 16), (32, 16, 3, 3), {"padding": 1}),
    "16x16x16x16 k3 groups 4": ((16, 16, 16, 16), (32, 4, 3, 3), {"padding": 1, "groups": 4}),
    "4x1x28x28 k5 -> 8": ((4, 1, 28, 28), (8, 1, 5, 5), {}),
    "8x8x16x16 k3 s2 d2": ((8, 8, 16, 16), (8, 8, 3, 3), {"stride": 2, "dilation": 2}),
}
best = {}
for name, (xs, ws, kw) in cases.items():
    x = engine.tensor(rng.standard_normal(xs).astype(np.float32), requires_grad=True)
    w = engine.tensor(rng.standard_normal(ws).astype(np.float32), requires_grad=True)
    b = engine.tensor(rng.standard_normal(ws[0]).astype(np.float32), requires_grad=True)
    try:
        F.conv2d(x, w, b, **kw).sum().backward()
    except Exception as e:          # a case the older revision cannot run
        continue
    times = []
    for _ in range(int(sys.argv[1])):
        t = time.perf_counter()
        F.conv2d(x, w, b, **kw).sum().backward()
        times.append(time.perf_counter() - t)
    best[name] = min(times)
print(repr(best))
"""


def _tree(rev, into):
    """A folder holding `engine/` as of git revision `rev` ('.' = the working tree)."""
    if rev == ".":
        return ROOT
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "engine"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--after", default=".")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            folder = os.path.join(tmp, label)
            os.mkdir(folder)
            try:
                trees[label] = _tree(rev, folder)
            except (OSError, subprocess.CalledProcessError):
                print(f"no git revision {rev!r} to compare (not a git checkout?): nothing to do")
                return
        script = os.path.join(tmp, "cases.py")
        with open(script, "w") as f:
            f.write(CASES)
        best = {}
        for _ in range(args.rounds):
            for label, path in trees.items():
                out = subprocess.run([sys.executable, script, "10"], cwd=tmp, check=True,
                                     capture_output=True, text=True,
                                     env=dict(os.environ, PYTHONPATH=path)).stdout
                for name, t in ast.literal_eval(out.strip().splitlines()[-1]).items():
                    best[label, name] = min(best.get((label, name), float("inf")), t)
    print(f"conv2d forward + backward, float32: {args.before} (before) vs {args.after} (after)")
    print(f"{'case':28s} {'before ms':>10s} {'after ms':>10s} {'after/before':>13s}")
    for name in dict.fromkeys(n for _, n in best):
        if ("before", name) in best and ("after", name) in best:
            b, a = best["before", name], best["after", name]
            print(f"{name:28s} {b * 1e3:10.2f} {a * 1e3:10.2f} {a / b:13.3f}")


if __name__ == "__main__":
    main()
