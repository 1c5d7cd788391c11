"""The compat layers (composed of engine ops) against PyTorch CPU, side by side in one run.

Cases, each a forward + backward of a small model-sized input:
  lstm       2-layer bidirectional LSTM, 20 steps, batch 16, 64 hidden
  gru-packed GRU over a packed batch of 16 sequences of lengths 5..20
  mha        MultiheadAttention (embed 64, 4 heads), batch 8, 32 tokens
  encoder    TransformerEncoderLayer (64, 4 heads, feed-forward 128), batch 8, 32 tokens
  convT      ConvTranspose2d 16->8, 3x3, stride 2, on 8x16x16x16
  pools      AvgPool2d + AdaptiveAvgPool2d((5, 5)) + bilinear interpolate on 8x16x32x32
  groupnorm  GroupNorm(4, 16) on 8x16x32x32
  conv3d     Conv3d 4->8, 3x3x3, padding 1, on 4x4x8x16x16, then ConvTranspose3d 8->4, stride 2
  conv2d-g   Conv2d 16->32, 3x3, padding 1, groups 4, on 16x16x16x16 (groups run in one node)
  pool3d     MaxPool3d(2) + AvgPool3d(3, 2, 1) + AdaptiveMaxPool3d(3) on 4x8x8x16x16
  gridsample affine_grid + grid_sample (bilinear, reflection) on 8x8x32x32
Interleaved rounds (engine, torch, engine, ...), best of each; prints times and the ratio
engine / torch. Never asserts.

    .venv/bin/python benchmarks/bench_compat_layers.py [--rounds R]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import engine  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the comparison needs torch
    torch = None


def _cases(M):
    """name -> (setup() -> state, step(state)) written once against a torch-like module M."""
    rng = np.random.default_rng(0)

    def tensor(*shape):
        return M.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    def lstm():
        m = M.nn.LSTM(32, 64, num_layers=2, bidirectional=True)
        x = tensor(20, 16, 32)
        return lambda: m(x)[0].sum().backward()

    def gru_packed():
        m = M.nn.GRU(32, 64)
        x = tensor(20, 16, 32)
        lengths = sorted(rng.integers(5, 21, 16).tolist(), reverse=True)
        return lambda: M.nn.utils.rnn.pad_packed_sequence(
            m(M.nn.utils.rnn.pack_padded_sequence(x, lengths))[0])[0].sum().backward()

    def mha():
        m = M.nn.MultiheadAttention(64, 4, batch_first=True)
        x = tensor(8, 32, 64)
        return lambda: m(x, x, x)[0].sum().backward()

    def encoder():
        m = M.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
        x = tensor(8, 32, 64)
        return lambda: m(x).sum().backward()

    def conv_t():
        m = M.nn.ConvTranspose2d(16, 8, 3, stride=2)
        x = tensor(8, 16, 16, 16)
        return lambda: m(x).sum().backward()

    def pools():
        F = M.nn.functional
        x = tensor(8, 16, 32, 32)
        return lambda: (F.avg_pool2d(x, 3, 2, 1).sum() + F.adaptive_avg_pool2d(x, (5, 5)).sum()
                        + F.interpolate(x, scale_factor=1.5, mode="bilinear").sum()).backward()

    def groupnorm():
        m = M.nn.GroupNorm(4, 16)
        x = tensor(8, 16, 32, 32)
        return lambda: m(x).sum().backward()

    def conv3d():
        conv, up = M.nn.Conv3d(4, 8, 3, padding=1), M.nn.ConvTranspose3d(8, 4, 2, stride=2)
        x = tensor(4, 4, 8, 16, 16)
        return lambda: up(conv(x)).sum().backward()

    def conv2d_grouped():
        m = M.nn.Conv2d(16, 32, 3, padding=1, groups=4)
        x = tensor(16, 16, 16, 16)
        return lambda: m(x).sum().backward()

    def pool3d():
        F = M.nn.functional
        x = tensor(4, 8, 8, 16, 16)
        return lambda: (F.max_pool3d(x, 2).sum() + F.avg_pool3d(x, 3, 2, 1).sum()
                        + F.adaptive_max_pool3d(x, 3).sum()).backward()

    def grid_sample():
        F = M.nn.functional
        x, theta = tensor(8, 8, 32, 32), tensor(8, 2, 3)
        return lambda: F.grid_sample(x, F.affine_grid(theta, [8, 8, 32, 32], align_corners=False),
                                     padding_mode="reflection", align_corners=False).sum().backward()

    return {"lstm": lstm, "gru-packed": gru_packed, "mha": mha, "encoder": encoder,
            "convT": conv_t, "pools": pools, "groupnorm": groupnorm, "conv3d": conv3d,
            "conv2d-g": conv2d_grouped, "pool3d": pool3d, "gridsample": grid_sample}


def _best(step, rounds, n=3):
    best = float("inf")
    step()
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if torch is None:
        print("torch is not installed: nothing to compare with")
        return
    mine, theirs = _cases(engine), _cases(torch)
    print(f"{'case':12s} {'engine ms':>10s} {'torch ms':>10s} {'engine/torch':>13s}")
    for name in mine:
        step_e, step_t = mine[name](), theirs[name]()
        te = tt = float("inf")
        for _ in range(args.rounds):          # interleaved: load hurts both alike
            te = min(te, _best(step_e, 1))
            tt = min(tt, _best(step_t, 1))
        print(f"{name:12s} {te * 1e3:10.2f} {tt * 1e3:10.2f} {te / tt:13.2f}")


if __name__ == "__main__":
    main()
