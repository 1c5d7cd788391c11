#!/usr/bin/env bash
# Regenerates the README's gallery with `gradstudio shot` (headless: no display needed).
# Run from anywhere: bash docs/make_gallery.sh   (PYTHON=... to use another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
EX=resources/examples

# Building graphs: z = x*y + y**2 run forward and backward, z selected in the Inspector.
"$PYTHON" -m gradstudio shot "$EX/basic_grad.json" -o docs/gallery-graph.png \
    --size 1300x900 --select z
# Step-through backprop: the debugger three steps into the backward pass of y = (w+x)*(w+1)
# (b's and a's AddBackward0 have both sent w a gradient: pending 3 -> 5), w in the Inspector.
"$PYTHON" -m gradstudio shot "$EX/leaf_and_grad_fn.json" -o docs/gallery-debugger.png \
    --size 1400x900 --debug-step 3 --select w
# Why is this gradient None or zero? w behind a relu whose units are all inactive.
"$PYTHON" -m gradstudio shot "$EX/why_no_gradient.json" -o docs/gallery-why.png \
    --size 1600x900 --why w
# The chain rule with numbers: the same three debugger steps, the merge at w in the details.
"$PYTHON" -m gradstudio shot "$EX/leaf_and_grad_fn.json" -o docs/gallery-chain-rule.png \
    --size 1400x900 --debug-step 3
# Where a NaN came from: anomaly mode stops at log_x, the Inspector shows log of -0.3.
"$PYTHON" -m gradstudio shot "$EX/nan_origin.json" -o docs/gallery-nan.png \
    --size 1400x900 --detect-anomaly
# Live training dashboard: the spirals MLP after its 400 steps.
"$PYTHON" -m gradstudio shot "$EX/spirals.json" -o docs/gallery-dashboard.png \
    --size 1600x1000 --train-steps 400
# Your own PyTorch scripts: each example script run, recorded and shown (graph, dashboard).
"$PYTHON" -m gradstudio shot "$EX/mlp_dataloader.py" -o docs/gallery-script-mlp.png --size 1500x950
"$PYTHON" -m gradstudio shot "$EX/small_cnn.py" -o docs/gallery-script-cnn.png --size 1500x950
"$PYTHON" -m gradstudio shot "$EX/two_layer_manual_sgd.py" -o docs/gallery-script-debug.png \
    --size 1500x900 --debug-step 4
