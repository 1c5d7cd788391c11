"""Variable-length sequences: `pad_sequence`, `PackedSequence`, `pack_padded_sequence`,
`pad_packed_sequence`, `pack_sequence`, `unpad_sequence`, `unpack_sequence`. A packed batch
stores the sequences time step by time step (`batch_sizes[t]` of them are still running at
step t), longest first; RNN, LSTM and GRU accept it and return one."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

import engine

__all__ = ["pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]


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


class PackedSequence(NamedTuple):
    data: object                  # (sum of lengths, *): step 0 of every sequence, then step 1, ...
    batch_sizes: object           # int64 (max length,): sequences still running at each step
    sorted_indices: object = None     # batch position of the i-th longest sequence
    unsorted_indices: object = None   # the inverse permutation

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self):
        return self.data.is_cuda


def _lengths_list(lengths):
    if isinstance(lengths, engine.Tensor):
        return [int(n) for n in lengths.tolist()]
    return [int(n) for n in lengths]


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True):
    """Pack a padded (T, B, *) batch (or (B, T, *) with batch_first) of sequences of `lengths`."""
    lengths = _lengths_list(lengths)
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                               "pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_indices = None
        order = list(range(len(lengths)))
    else:
        order = np.argsort(-np.asarray(lengths), kind="stable").tolist()
        sorted_indices = engine.tensor(order, dtype=engine.int64)
    if batch_first:
        input = input.transpose(0, 1)
    if sorted_indices is not None:
        input = input.index_select(1, sorted_indices.to(input.device))
    sorted_lengths = [lengths[i] for i in order]
    if sorted_lengths and sorted_lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    steps = sorted_lengths[0] if sorted_lengths else 0
    batch_sizes = [sum(1 for n in sorted_lengths if n > t) for t in range(steps)]
    data = engine.cat([input[t, :bs] for t, bs in enumerate(batch_sizes)], 0)
    unsorted = None
    if sorted_indices is not None:
        unsorted = engine.tensor(np.argsort(order, kind="stable").tolist(), dtype=engine.int64)
    return PackedSequence(data, engine.tensor(batch_sizes, dtype=engine.int64), sorted_indices,
                          unsorted)


def pad_packed_sequence(sequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length=None):
    """Undo pack_padded_sequence: (padded (T, B, *), lengths int64 (B,))."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    steps, batch = len(batch_sizes), batch_sizes[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
    rows, offset = [], 0
    tail = tuple(data.shape[1:])
    for bs in batch_sizes:
        step = data[offset:offset + bs]
        offset += bs
        if bs < batch:
            step = engine.cat([step, engine.full((batch - bs,) + tail, padding_value,
                                                 dtype=data.dtype, device=data.device)], 0)
        rows.append(step)
    for _ in range((total_length or steps) - steps):
        rows.append(engine.full((batch,) + tail, padding_value, dtype=data.dtype, device=data.device))
    padded = engine.stack(rows, 0)
    lengths = [sum(1 for bs in batch_sizes if bs > b) for b in range(batch)]
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices.to(padded.device))
        lengths = [lengths[i] for i in sequence.unsorted_indices.tolist()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, engine.tensor(lengths, dtype=engine.int64)


def pack_sequence(sequences, enforce_sorted: bool = True):
    """Pack a list of (L_i, *) tensors."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False):
    """The list of (L_i, *) sequences in a padded batch."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences, _lengths_list(lengths))]


def unpack_sequence(packed_sequences):
    """The list of (L_i, *) sequences in a PackedSequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
