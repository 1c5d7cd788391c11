"""engine.utils.data: Dataset, TensorDataset and DataLoader batching and shuffling."""
import numpy as np
import pytest

import engine
from engine.utils.data import DataLoader, Dataset, TensorDataset


def dataset(n=10):
    X = engine.arange(n * 2, dtype=engine.float32).reshape(n, 2)
    return TensorDataset(X, engine.arange(n))


def test_tensor_dataset_indexes_rows_and_checks_sizes():
    ds = dataset()
    x, y = ds[3]
    np.testing.assert_array_equal(x.numpy(), [6, 7])
    assert y.item() == 3 and len(ds) == 10
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(engine.zeros(3, 2), engine.zeros(4))


def test_batches_in_order_with_a_short_last_batch():
    batches = list(DataLoader(dataset(), batch_size=4))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in batches]), np.arange(10))
    assert len(DataLoader(dataset(), batch_size=4)) == 3


def test_drop_last():
    loader = DataLoader(dataset(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]


def test_shuffle_covers_everything_and_is_reproducible_with_manual_seed():
    loader = DataLoader(dataset(), batch_size=3, shuffle=True)
    engine.manual_seed(7)
    first = np.concatenate([y.numpy() for _, y in loader])
    second = np.concatenate([y.numpy() for _, y in loader])
    engine.manual_seed(7)
    again = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(first) == list(range(10))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)            # a new order each epoch


def test_shuffle_with_a_numpy_generator():
    orders = [np.concatenate([y.numpy() for _, y in DataLoader(
        dataset(), batch_size=5, shuffle=True, generator=np.random.default_rng(3))])
        for _ in range(2)]
    np.testing.assert_array_equal(*orders)


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": engine.tensor([float(i)]), "y": i * i}


def test_custom_dataset_is_collated_field_by_field():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(batch["x"].numpy(), [[0], [1], [2]])
    np.testing.assert_array_equal(batch["y"].numpy(), [0, 1, 4])
    assert batch["y"].dtype == engine.int64


def test_batch_size_none_yields_single_samples_and_bad_sizes_are_refused():
    assert len(list(DataLoader(Squares(), batch_size=None))) == 5
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(Squares(), batch_size=0)


def test_dataset_without_getitem_says_what_is_missing():
    with pytest.raises(NotImplementedError, match="Dataset must define __getitem__"):
        Dataset()[0]


def test_random_split_by_lengths_and_fractions():
    from engine.utils.data import random_split
    engine.manual_seed(0)
    train, val = random_split(dataset(), [7, 3])
    indices = sorted(int(train[i][1]) for i in range(len(train))) + \
        sorted(int(val[i][1]) for i in range(len(val)))
    assert len(train) == 7 and len(val) == 3 and sorted(indices) == list(range(10))
    a, b, c = random_split(dataset(), [0.5, 0.3, 0.2], generator=np.random.default_rng(0))
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(dataset(), [4, 4])
    batch = next(iter(DataLoader(val, batch_size=3)))
    assert tuple(batch[0].shape) == (3, 2)
