"""Random numbers for the factories (rand, randn, randint, normal, ...) seeded by manual_seed.

CPU draws use NumPy's MT19937 (the generator PyTorch's CPU generator also uses); the
sequences are reproducible for a seed but are not bit-identical to PyTorch's.
"""
import numpy as np

_state = {"rng": np.random.Generator(np.random.MT19937(0)), "seed": 0}


def manual_seed(seed):
    """Seed the engine's generator (and CuPy's when CUDA is in use)."""
    seed = int(seed)
    _state["rng"] = np.random.Generator(np.random.MT19937(seed))
    _state["seed"] = seed
    from . import backend
    if backend._cupy is not None:
        backend._cupy.random.seed(seed)
    return Generator(seed)


def seed():
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s


def initial_seed():
    return _state["seed"]


class Generator:
    """Minimal torch.Generator stand-in: holds a seed."""

    def __init__(self, seed_=0, device="cpu"):
        self._seed = seed_

    def manual_seed(self, s):
        manual_seed(s)
        self._seed = s
        return self

    def initial_seed(self):
        return self._seed


def get_rng_state():
    from ._ops import tensor
    import pickle
    return tensor(list(pickle.dumps(_state["rng"].bit_generator.state)), dtype=None).byte() \
        if False else _state["rng"].bit_generator.state


def set_rng_state(state):
    _state["rng"].bit_generator.state = state


def rng():
    return _state["rng"]


def uniform(shape, dtype, low=0.0, high=1.0):
    r = _state["rng"].random(shape, dtype=np.float64)
    return (low + (high - low) * r).astype(dtype)


def normal(shape, dtype, mean=0.0, std=1.0):
    return (_state["rng"].standard_normal(shape) * std + mean).astype(dtype)


def randint(low, high, shape, dtype=np.int64):
    return _state["rng"].integers(low, high, size=shape, dtype=np.int64).astype(dtype)


def randperm(n):
    return _state["rng"].permutation(n).astype(np.int64)
