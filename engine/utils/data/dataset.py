"""`torch.utils.data.dataset`'s names for `engine.utils.data`'s datasets."""
from engine.utils.data import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                               random_split)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "Subset", "random_split"]
