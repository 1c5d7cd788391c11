"""`Multinomial`: counts of `total_count` draws from a Categorical, drawn as PyTorch draws them
(one categorical sample per draw, then counted with scatter_add_), so a seed gives torch's counts."""
import math

import numpy as np

import engine
from engine.distributions import Categorical, Distribution, _broadcast_all, _size

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    _param_names = ()

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:])

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        sample_shape = _size(sample_shape)
        samples = self._categorical.sample(engine.Size((self.total_count,)) + sample_shape)
        order = list(range(samples.ndim))      # (total_count, sample, batch) -> (sample, batch, total_count)
        order.append(order.pop(0))
        samples = samples.permute(*order)
        counts = engine.zeros(self._extended_shape(sample_shape), dtype=samples.dtype)
        counts.scatter_add_(-1, samples, engine.ones_like(samples))
        return counts.type_as(self.probs)

    def log_prob(self, value):
        logits, value = _broadcast_all(self.logits, value)
        counts = value.detach().cpu().numpy()
        lgamma = np.vectorize(math.lgamma, otypes=[counts.dtype])
        log_factorials = lgamma(counts.sum(-1) + 1) - lgamma(counts + 1).sum(-1)
        logits = engine.where((value == 0) & (logits == -math.inf), engine.zeros_like(logits), logits)
        return engine.tensor(log_factorials, dtype=logits.dtype, device=logits.device) + (logits * value).sum(-1)
