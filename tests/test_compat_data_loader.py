"""DataLoader's keywords as PyTorch has them: samplers, workers (loaded in this process, with
PyTorch's per-worker seeds), worker_init_fn, persistent_workers and the argument checks."""
import random

import numpy as np
import pytest

import engine
from engine.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler, get_worker_info
from tests.torch_compare import same_error


class Noisy(Dataset):
    """Each sample draws from the library's, Python's and NumPy's global streams, as random
    augmentations do, and says which worker loaded it."""

    def __init__(self, lib, n=10):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = self.lib.utils.data.get_worker_info()
        worker = -1 if info is None else info.id
        return (self.lib.tensor([float(i)]) + self.lib.rand(1),
                self.lib.tensor([random.random(), float(np.random.rand()), float(worker)]))


def _seen(lib, **kw):
    lib.manual_seed(3)
    out = []
    for epoch in range(2):
        for x, y in lib.utils.data.DataLoader(Noisy(lib), **kw):
            out.append(np.concatenate([x.numpy().ravel(), y.numpy().ravel()]))
    return np.concatenate(out)


@pytest.mark.parametrize("kw", [dict(batch_size=3, shuffle=True),
                                dict(batch_size=3, shuffle=True, num_workers=2),
                                dict(batch_size=3, num_workers=2, drop_last=True,
                                     persistent_workers=True),
                                dict(batch_size=2, shuffle=True, num_workers=2, pin_memory=True,
                                     prefetch_factor=4)])
def test_batches_and_random_transforms_match_torch(kw):
    torch = pytest.importorskip("torch")
    state = random.getstate(), np.random.get_state()
    with pytest.warns() if kw.get("pin_memory") else _nothing():   # torch warns without a GPU
        expected = _seen(torch, **kw)
    random.setstate(state[0]), np.random.set_state(state[1])
    got = _seen(engine, **kw)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _init(worker_id):
    engine.manual_seed(100 + worker_id)


def test_worker_init_fn_runs_per_worker_and_the_main_streams_are_untouched():
    engine.manual_seed(0)
    after_seed = engine.get_rng_state()
    loader = DataLoader(Noisy(engine, 4), batch_size=1, num_workers=2, worker_init_fn=_init)
    batches = list(loader)
    assert [int(y[0, 2]) for _, y in batches] == [0, 1, 0, 1]
    engine.manual_seed(100)
    first = engine.rand(1).item()
    assert batches[0][0].item() == pytest.approx(0 + first)
    # the main process drew only the loader's base seed
    engine.set_rng_state(after_seed)
    engine.empty((), dtype=engine.int64).random_()
    assert engine.equal(engine.get_rng_state(), _state_after(loader))
    assert get_worker_info() is None


def _state_after(loader):
    engine.manual_seed(0)
    iter(loader)
    return engine.get_rng_state()


def test_samplers_and_batch_sampler():
    data = Noisy(engine, 5)
    loader = DataLoader(data, batch_sampler=BatchSampler(SequentialSampler(data), 2, False))
    assert len(loader) == 3 and [len(x) for x, _ in loader] == [2, 2, 1]
    loader = DataLoader(list(range(7)), batch_size=3, sampler=[6, 5, 4, 3, 2, 1, 0])
    assert [b.tolist() for b in loader] == [[6, 5, 4], [3, 2, 1], [0]]
    loader = DataLoader(list(range(3)), batch_size=None, collate_fn=lambda s: s * 10)
    assert list(loader) == [0, 10, 20]


@pytest.mark.parametrize("kw", [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2),
                                dict(persistent_workers=True), dict(num_workers=1, prefetch_factor=-1),
                                dict(sampler=[0, 1], shuffle=True),
                                dict(batch_sampler=[[0]], batch_size=2),
                                dict(batch_size=None, drop_last=True)])
def test_argument_errors_match_torch(kw):
    same_error(lambda lib: lib.utils.data.DataLoader(list(range(4)), **kw))


class Stream:
    """An IterableDataset (made from either library) that each worker shards by its id."""

    @staticmethod
    def make(lib, n=11):
        class Numbers(lib.utils.data.IterableDataset):
            def __iter__(self):
                info = lib.utils.data.get_worker_info()
                start, step = (0, 1) if info is None else (info.id, info.num_workers)
                for i in range(start, n, step):
                    yield lib.tensor([float(i)]) + lib.rand(1)

            def __len__(self):
                return n
        return Numbers()


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=2, num_workers=2),
                                dict(batch_size=3, num_workers=2, drop_last=True),
                                dict(batch_size=None, num_workers=2)])
def test_iterable_dataset_batches_match_torch(kw):
    torch = pytest.importorskip("torch")
    got, want = [], []
    for lib, out in ((engine, got), (torch, want)):
        lib.manual_seed(5)
        loader = lib.utils.data.DataLoader(Stream.make(lib), **kw)
        out.extend(b.numpy().ravel().tolist() for b in loader)
        out.append(len(loader))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_samplers_and_concat_dataset_match_torch():
    torch = pytest.importorskip("torch")
    orders = []
    for lib in (engine, torch):
        data = lib.utils.data
        lib.manual_seed(11)
        subset = list(data.SubsetRandomSampler([10, 20, 30, 40, 50]))
        both = data.ConcatDataset([data.TensorDataset(lib.arange(3)), data.TensorDataset(lib.arange(10, 12))])
        joined = [int(both[i][0]) for i in range(-len(both), len(both))]
        orders.append((subset, joined, len(both)))
    assert orders[0] == orders[1]


def test_weighted_sampler_draws_as_torch():
    torch = pytest.importorskip("torch")
    drawn = []
    for lib in (engine, torch):
        lib.manual_seed(11)
        drawn.append((list(lib.utils.data.WeightedRandomSampler([0.1, 0.5, 2.0, 1.0], 12)),
                      list(lib.utils.data.WeightedRandomSampler([1, 2, 3, 4, 5], 4, replacement=False))))
    assert drawn[0] == drawn[1]


def test_weighted_sampler_follows_the_weights():
    engine.manual_seed(0)
    drawn = list(engine.utils.data.WeightedRandomSampler([0.0, 1.0, 3.0], 4000))
    counts = np.bincount(drawn, minlength=3)
    assert counts[0] == 0 and 2.5 < counts[2] / counts[1] < 3.5
    once = list(engine.utils.data.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False))
    assert sorted(once) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        engine.utils.data.WeightedRandomSampler([1.0], 0)


def test_iterable_dataset_refuses_shuffle_and_samplers():
    same_error(lambda lib: lib.utils.data.DataLoader(Stream.make(lib), shuffle=True))
    same_error(lambda lib: lib.utils.data.DataLoader(Stream.make(lib), sampler=[0, 1]))
