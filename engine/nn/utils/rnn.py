"""`pad_sequence`: stack variable-length sequences into one padded tensor."""
from __future__ import annotations

import engine

__all__ = ["pad_sequence"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right"):
    """(L_i, *) tensors -> (max L, B, *) (or (B, max L, *) with batch_first), padded with
    padding_value on the right (or the left)."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    sequences = list(sequences)
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        fill = engine.full((longest - s.shape[0],) + tuple(s.shape[1:]), padding_value,
                           dtype=s.dtype, device=s.device)
        rows.append(engine.cat([s, fill] if padding_side == "right" else [fill, s], dim=0))
    out = engine.stack(rows, dim=0)
    return out if batch_first else out.transpose(0, 1)
