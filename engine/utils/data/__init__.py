"""Datasets and batching: `Dataset`, `TensorDataset`, `Subset`, `random_split`, `DataLoader`
(batch_size, shuffle, drop_last, seeded shuffling), with `torch.utils.data`'s names and
behaviour."""
from __future__ import annotations

import bisect
import itertools
import math
import numbers
import random

import numpy as np

import engine
from engine._warnings import warn

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset",
           "random_split", "Sampler", "RandomSampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler", "DataLoader", "default_collate",
           "get_worker_info", "WorkerInfo"]


class Dataset:
    """Anything with `__getitem__(index)` and `__len__()`: one sample per index."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: `__iter__` yields them (no indexing). With workers, each worker
    iterates its own copy; `get_worker_info()` inside `__iter__` lets it take its share."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: it cannot be indexed")


class ConcatDataset(Dataset):
    """The samples of several datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[which][idx - (self.cumulative_sizes[which - 1] if which else 0)]


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


class Sampler:
    """Base class of index samplers: `__iter__` yields dataset indices."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (randperm from `generator` or the global stream)."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def __iter__(self):
        for i in engine.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to `weights` (multinomial)."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = engine.as_tensor(weights, dtype=engine.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights, self.num_samples = weights, num_samples
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        yield from engine.multinomial(self.weights, self.num_samples, self.replacement,
                                      generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples


class RandomSampler(Sampler):
    """The indices of `data_source` in a random order, as torch's RandomSampler draws them:
    randperm (or randint with `replacement`) from `generator`; without one, from a fresh
    Generator seeded by a draw from the global stream, so `engine.manual_seed` gives PyTorch's
    orders. A `numpy.random.Generator` is accepted too (a permutation from it)."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:   # an empty dataset too, as torch
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

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


class SequentialSampler(Sampler):
    """The indices 0, 1, ..., len(data_source) - 1 in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one shorter unless
    `drop_last`)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


class WorkerInfo:
    """What `get_worker_info()` answers inside a worker: id, num_workers, seed, dataset."""

    def __init__(self, id: int, num_workers: int, seed: int, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


_worker_info = None


def get_worker_info():
    """The `WorkerInfo` of the worker loading the current batch; None in the main process."""
    return _worker_info


class _Worker:
    """One of PyTorch's loader workers, run in this process: its own random streams (engine,
    `random`, `numpy.random`), seeded as PyTorch seeds a worker process, swapped in while it
    loads a batch so that random transforms draw exactly what they would in PyTorch."""

    def __init__(self, worker_id: int, loader, base_seed: int):
        seed = base_seed + worker_id
        self.info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
        main = self._capture()
        random.seed(seed)
        engine.manual_seed(seed)
        np.random.seed(np.random.SeedSequence(          # PyTorch's _generate_state
            [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]).generate_state(4))
        try:
            if loader.worker_init_fn is not None:
                self._run(loader.worker_init_fn, worker_id)
        finally:
            self.states = self._capture()
            self._restore(main)

    @staticmethod
    def _capture():
        return random.getstate(), engine.get_rng_state(), np.random.get_state()

    @staticmethod
    def _restore(states):
        random.setstate(states[0])
        engine.set_rng_state(states[1])
        np.random.set_state(states[2])

    def _run(self, fn, *args):
        global _worker_info
        _worker_info = self.info
        try:
            return fn(*args)
        finally:
            _worker_info = None

    def load(self, fn, *args):
        main = self._capture()
        self._restore(self.states)
        try:
            return self._run(fn, *args)
        finally:
            self.states = self._capture()
            self._restore(main)


class DataLoader:
    """Iterate over a dataset in batches, with `torch.utils.data.DataLoader`'s keywords.

    shuffle: a new order every epoch, a `RandomSampler` over `generator` (an `engine.Generator`
    or a `numpy.random.Generator`) or, by default, the engine's global stream, so
    `engine.manual_seed(s)` makes the order PyTorch's. Like PyTorch, every pass (or, with
    `persistent_workers`, the first) draws a base seed from `generator` or the global stream.
    `num_workers > 0` loads in this process but as PyTorch's workers would: batch k is loaded
    by worker k % num_workers with that worker's own seeded random streams, after
    `worker_init_fn(worker_id)`, so batches, order and random transforms match PyTorch's.
    `pin_memory`, `timeout`, `prefetch_factor`, `multiprocessing_context` and
    `pin_memory_device` are accepted and checked; they change nothing in one process.
    A `TensorDataset` is batched by indexing its tensors with the whole index list at once.
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
        elif not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
            sampler = itertools.repeat(None)
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size, self.drop_last, self.shuffle = batch_size, drop_last, shuffle
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.num_workers, self.prefetch_factor = num_workers, prefetch_factor
        self.pin_memory, self.pin_memory_device, self.timeout = pin_memory, pin_memory_device, timeout
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.generator = generator
        self._auto_collation = batch_sampler is not None
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else _identity)
        self._user_collate = collate_fn is not None
        self._workers = None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _draw_base_seed(self) -> int:
        if isinstance(self.generator, np.random.Generator):
            return int(self.generator.integers(0, 2 ** 63))
        return int(engine.empty((), dtype=engine.int64).random_(generator=self.generator).item())

    def __iter__(self):
        if self.pin_memory and not engine.accelerator.is_available():
            warn("'pin_memory' argument is set as true but no accelerator is found, then device "
                 "pinned memory won't be used.")
        if self.num_workers == 0:
            if not isinstance(self.generator, np.random.Generator):
                self._draw_base_seed()      # PyTorch's _base_seed draw, as its iterator does
            return self._batches(None)
        if self._workers is None or not self.persistent_workers:
            base_seed = self._draw_base_seed()
            self._workers = [_Worker(i, self, base_seed) for i in range(self.num_workers)]
        return self._batches(self._workers)

    def _fetch(self, index):
        if not self._auto_collation:
            return self.collate_fn(self.dataset[index])
        if isinstance(self.dataset, TensorDataset) and not self._user_collate:
            rows = engine.from_numpy(np.asarray(index, dtype=np.int64))
            return [t[rows if t.device.type == "cpu" else rows.to(t.device)]
                    for t in self.dataset.tensors]
        return self.collate_fn([self.dataset[i] for i in index])

    def _stream_batches(self, workers):
        """An IterableDataset: each worker (or the main process) iterates its own copy and
        makes batches of batch_size samples; the workers' batches come round-robin."""
        def batches():
            it = iter(self.dataset)
            while True:
                if not self._auto_collation:
                    try:
                        yield self.collate_fn(next(it))
                    except StopIteration:
                        return
                    continue
                chunk = list(itertools.islice(it, self.batch_size))
                if not chunk or (self.drop_last and len(chunk) < self.batch_size):
                    return
                yield self.collate_fn(chunk)
        if workers is None:
            yield from batches()
            return
        streams = [(w, w.load(batches)) for w in workers]
        while streams:
            alive = []
            for w, stream in streams:
                try:
                    batch = w.load(next, stream)
                except StopIteration:
                    continue
                alive.append((w, stream))
                yield batch
            streams = alive

    def _batches(self, workers):
        if self._iterable:
            yield from self._stream_batches(workers)
            return
        for k, index in enumerate(self._index_sampler):
            if workers is None:
                yield self._fetch(index)
            else:
                yield workers[k % len(workers)].load(self._fetch, index)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)


def _identity(sample):
    return sample


# torch's submodule layout (torch.utils.data.dataloader.DataLoader, .dataset, .sampler)
from engine.utils.data import dataloader, dataset, sampler  # noqa: E402,F401
