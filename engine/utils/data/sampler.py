"""`torch.utils.data.sampler`'s names for `engine.utils.data`'s samplers."""
from engine.utils.data import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                               SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]
