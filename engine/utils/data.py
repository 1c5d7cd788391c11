"""Datasets and batching: `Dataset`, `TensorDataset`, `DataLoader` (batch_size, shuffle,
drop_last, seeded shuffling), with `torch.utils.data`'s names and behaviour."""
from __future__ import annotations

import math
import numbers

import numpy as np

import engine

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]


class Dataset:
    """Anything with `__getitem__(index)` and `__len__()`: one sample per index."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: `dataset[i] == (t[i] for t in tensors)`."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = {t.shape[0] for t in tensors}
        if len(sizes) != 1:
            raise ValueError("Size mismatch between tensors: first dimensions are "
                             + ", ".join(str(t.shape[0]) for t in tensors))
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


def default_collate(samples: list):
    """Stack a list of samples into a batch: tensors are stacked on a new first dimension,
    numbers become a tensor, tuples/lists/dicts are collated field by field."""
    first = samples[0]
    if isinstance(first, engine.Tensor):
        return engine.stack(samples)
    if isinstance(first, np.ndarray):
        return engine.from_numpy(np.stack(samples))
    if isinstance(first, bool):
        return engine.tensor(samples, dtype=engine.bool)
    if isinstance(first, numbers.Integral):
        return engine.tensor(samples, dtype=engine.int64)
    if isinstance(first, numbers.Real):
        return engine.tensor(samples, dtype=engine.float64)
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        return [default_collate(list(field)) for field in zip(*samples)]
    return samples


class DataLoader:
    """Iterate over a dataset in batches.

    shuffle: a new order every epoch, drawn from `generator` (an object with `manual_seed`
    state such as `engine.Generator`, or a `numpy.random.Generator`) or, by default, from
    the engine's global RNG, so `engine.manual_seed(s)` makes the order reproducible.
    A `TensorDataset` is batched by indexing its tensors with the whole index list at once.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn=None, generator=None):
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = generator

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if isinstance(self.generator, np.random.Generator):
            return self.generator.permutation(n)
        return engine.randperm(n, generator=self.generator).numpy() \
            if self.generator is not None else engine.randperm(n).numpy()

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            if self.drop_last and len(idx) < self.batch_size:
                return
            if fast:
                index = engine.from_numpy(idx.astype(np.int64))
                yield [t[index] for t in self.dataset.tensors]
            else:
                batch = [self.dataset[int(i)] for i in idx]
                yield (self.collate_fn or default_collate)(batch)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
