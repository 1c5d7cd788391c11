"""Datasets and batching: `Dataset`, `TensorDataset`, `Subset`, `random_split`, `DataLoader`
(batch_size, shuffle, drop_last, seeded shuffling), with `torch.utils.data`'s names and
behaviour."""
from __future__ import annotations

import math
import numbers

import numpy as np

import engine

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "RandomSampler", "DataLoader",
           "default_collate"]


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


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def _permutation(n: int, generator=None) -> np.ndarray:
    """A random order of range(n): from a numpy Generator, an engine Generator or the engine's
    global RNG (so `engine.manual_seed` makes it reproducible)."""
    if isinstance(generator, np.random.Generator):
        return generator.permutation(n)
    if generator is not None:
        return engine.randperm(n, generator=generator).numpy()
    return engine.randperm(n).numpy()


class RandomSampler:
    """The indices of `data_source` in a random order, as torch's RandomSampler draws them:
    randperm (or randint with `replacement`) from `generator`; without one, from a fresh
    Generator seeded by a draw from the global stream, so `engine.manual_seed` gives PyTorch's
    orders. A `numpy.random.Generator` is accepted too (a permutation from it)."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        generator = self.generator
        if isinstance(generator, np.random.Generator):
            yield from _permutation(n, generator).tolist()
            return
        if generator is None:
            seed = int(engine.empty((), dtype=engine.int64).random_().item())
            generator = engine.Generator().manual_seed(seed)
        if self.replacement:
            for _ in range(self.num_samples // 32):
                yield from engine.randint(high=n, size=(32,), dtype=engine.int64, generator=generator).tolist()
            yield from engine.randint(high=n, size=(self.num_samples % 32,), dtype=engine.int64,
                                      generator=generator).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from engine.randperm(n, generator=generator).tolist()
        yield from engine.randperm(n, generator=generator).tolist()[:self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


def random_split(dataset, lengths, generator=None) -> list:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths (or
    fractions summing to 1, the remainder handed out one by one from the first)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-9 \
            and sum(lengths) != n:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = _permutation(n, generator).tolist()
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length]))
        start += length
    return subsets


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

    shuffle: a new order every epoch, a `RandomSampler` over `generator` (an `engine.Generator`
    or a `numpy.random.Generator`) or, by default, the engine's global stream, so
    `engine.manual_seed(s)` makes the order PyTorch's. Like PyTorch, every pass also draws a
    base seed (for workers PyTorch would start) from `generator` or the global stream.
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
        if self.shuffle:
            return np.array(list(RandomSampler(self.dataset, generator=self.generator)), dtype=np.int64)
        return np.arange(len(self.dataset))

    def __iter__(self):
        if not isinstance(self.generator, np.random.Generator):    # PyTorch's _base_seed draw
            engine.empty((), dtype=engine.int64).random_(generator=self.generator)
        return self._batches()

    def _batches(self):
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
                yield [t[index if t.device.type == "cpu" else index.to(t.device)]
                       for t in self.dataset.tensors]
            else:
                batch = [self.dataset[int(i)] for i in idx]
                yield (self.collate_fn or default_collate)(batch)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
