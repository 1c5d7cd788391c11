#!/usr/bin/env bash
# tools/gpu_check.sh OUTDIR - the engine on a real GPU, in one prepared run of at most 8 minutes
# (the stages' limits add up to 480 s; a stage cut off says so in the summary).
#
# Needs Python with numpy, CuPy (cupy-cuda12x or cupy-cuda13x), pytest and hypothesis; PyTorch
# with CUDA and numba are used when present. No Qt, no network: it runs from this checkout
# (PYTHONPATH) and installs nothing. Stages, each with its own time limit and log in OUTDIR:
#   env        the card, driver, CUDA, CuPy, PyTorch; whether the engine can use CUDA and why not
#   tests      every engine test with a cuda case: tests/test_engine_cuda.py whole (the real-GPU
#              cases: op table against torch.cuda, scalar dtypes, memory, generators, nn/optim,
#              amp, checkpoint) and the cuda cases of the op table, autograd, generators, amp,
#              checkpoint and fake-cuda files (-k cuda)
#   bench_engine  benchmarks/bench_engine.py --quick (engine core vs PyTorch CPU)
#   bench_gpu     benchmarks/bench_gpu.py (engine on cuda vs PyTorch on cuda)
# then writes OUTDIR/summary.txt (and prints it). Without a GPU the cuda cases skip with the
# reason and bench_gpu says why it skipped; the script still runs every stage.
# Exit status: 0 when every stage exited 0, else 1.
#
#   tools/gpu_check.sh /tmp/gpu-out            PYTHON=python3.12 tools/gpu_check.sh out
set -u
if [ $# -ne 1 ]; then
    echo "usage: tools/gpu_check.sh OUTDIR" >&2
    exit 2
fi
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
SUMMARY="$OUT/summary.txt"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=1
STATUS=0
: > "$OUT/stages.txt"

# stage NAME SECONDS COMMAND...: run COMMAND with a time limit, output to OUTDIR/NAME.log
stage() {
    local name=$1 limit=$2 start rc
    shift 2
    start=$(date +%s)
    echo "== $name (limit ${limit}s)" >&2
    timeout --kill-after=15 "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    local note=""
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then note=" (time limit reached)"; fi
    echo "$name: exit $rc in $(( $(date +%s) - start ))s$note" >> "$OUT/stages.txt"
    [ $rc -eq 0 ] || STATUS=1
}

stage env 30 bash -c '
    date -u
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed "s/^/gpu: /"
        nvidia-smi
    else
        echo "gpu: none (nvidia-smi not found)"
    fi
    "$0" - <<EOF
import platform, importlib
print("python", platform.python_version(), platform.platform())
for m in ("numpy", "cupy", "torch", "numba", "pytest", "hypothesis"):
    try:
        print(f"{m:11}", importlib.import_module(m).__version__)
    except Exception as e:
        print(f"{m:11} not usable: {type(e).__name__}: {e}")
import engine
print("engine.cuda.is_available():", engine.cuda.is_available(), "|", engine.cuda.unavailable_reason() or "")
if engine.cuda.is_available():
    import cupy
    rt = cupy.cuda.runtime
    print("device:", engine.cuda.get_device_name(), "| count", engine.cuda.device_count(),
          "| CUDA runtime", rt.runtimeGetVersion(), "| driver", rt.driverGetVersion())
    try:
        cupy.show_config()
    except Exception as e:
        print("cupy.show_config failed:", e)
try:
    import torch
    print("torch.cuda.is_available():", torch.cuda.is_available(), "| torch CUDA", torch.version.cuda)
except Exception as e:
    print("torch:", e)
EOF
' "$PY"

# -p no:randomly / no:cacheprovider: a fixed order, nothing written into the checkout
stage tests 200 "$PY" -m pytest -q -rfEs -p no:randomly -p no:cacheprovider \
    --junitxml="$OUT/tests.xml" tests/test_engine_cuda.py
stage tests_cuda_cases 100 "$PY" -m pytest -q -rfEs -p no:randomly -p no:cacheprovider -k cuda \
    --junitxml="$OUT/tests_cuda_cases.xml" tests/test_engine_ops.py tests/test_engine_autograd.py \
    tests/test_engine_generators.py tests/test_amp.py tests/test_checkpoint.py tests/test_engine_fake_cuda.py
stage bench_engine 50 "$PY" benchmarks/bench_engine.py --quick
stage bench_gpu 100 "$PY" benchmarks/bench_gpu.py

{
    echo "gpu_check summary ($(date -u '+%Y-%m-%d %H:%M UTC'), checkout $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    cat "$OUT/stages.txt"
    echo
    echo "-- environment"
    grep -E "^(gpu:|python |numpy |cupy |torch |numba |pytest |hypothesis |engine.cuda|device:|torch.cuda)" "$OUT/env.log"
    grep -m1 -E "Driver Version: .*CUDA Version:" "$OUT/env.log"
    for t in tests tests_cuda_cases; do
        echo
        echo "-- $t: $(grep -E '(passed|failed|error|skipped|no tests ran)' "$OUT/$t.log" | tail -1)"
        grep -E "^(FAILED|ERROR) " "$OUT/$t.log" | head -40
        echo "   skip reasons (count, reason):"
        grep -E "^SKIPPED " "$OUT/$t.log" | sed -E 's/^SKIPPED \[([0-9]+)\] [^ ]+: /\1 /' \
            | awk '{n=$1; $1=""; c[$0]+=n} END {for (r in c) printf "   %6d %s\n", c[r], r}' | head -10
    done
    echo
    echo "-- bench_gpu"
    sed -n '/^case /,$p' "$OUT/bench_gpu.log"
    grep -E "skipped|no CUDA|not installed|Error" "$OUT/bench_gpu.log" | head -5
    echo
    echo "-- bench_engine (CPU)"
    sed -n '/^case /,/^$/p' "$OUT/bench_engine.log"
    echo
    echo "logs: $OUT/{env,tests,tests_cuda_cases,bench_engine,bench_gpu}.log, junit: tests.xml, tests_cuda_cases.xml"
} > "$SUMMARY" 2>&1
cat "$SUMMARY"
exit $STATUS
