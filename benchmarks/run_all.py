"""Run every benchmarks/bench_*.py in turn, each in its own process, and print their output.

    .venv/bin/python benchmarks/run_all.py [extra args passed to each benchmark]
"""
import glob
import os
import subprocess
import sys
import time


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    here = os.path.dirname(os.path.abspath(__file__))
    scripts = sorted(glob.glob(os.path.join(here, "bench_*.py")))
    failed = []
    for path in scripts:
        name = os.path.basename(path)
        print(f"\n===== {name} =====", flush=True)
        t = time.perf_counter()
        rc = subprocess.call([sys.executable, path, *argv])
        print(f"===== {name}: exit {rc}, {time.perf_counter() - t:.1f}s =====", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("\nfailed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
