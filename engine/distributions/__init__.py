"""Probability distributions with `torch.distributions`' names and draws: `Normal`, `Uniform`,
`Bernoulli`, `Categorical`, `Multinomial` (sample / rsample, log_prob, entropy, mean, variance, ...).

Samples come from the same engine random ops PyTorch's classes call (normal_, uniform, bernoulli,
multinomial), so a seed gives PyTorch's samples where those ops match PyTorch's streams.
`rsample` is differentiable with respect to the parameters (the reparameterisation trick).
"""
from __future__ import annotations

import math

import engine

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "Multinomial", "kl_divergence"]


def _as_param(value, like=None):
    if isinstance(value, engine.Tensor):
        return value
    dtype = like.dtype if like is not None else engine.get_default_dtype()
    return engine.tensor(float(value), dtype=dtype)


def _broadcast_all(*values):
    tensors = [v for v in values if isinstance(v, engine.Tensor)]
    like = tensors[0] if tensors else None
    values = [_as_param(v, like) for v in values]
    return engine.broadcast_tensors(*values)


def _size(sample_shape):
    return engine.Size(tuple(sample_shape))


class Distribution:
    """The interface: batch_shape, event_shape, sample, rsample, log_prob, entropy, ..."""
    has_rsample = False
    _validate_args = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = engine.Size(batch_shape), engine.Size(event_shape)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return engine.Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample(self, sample_shape=()):
        with engine.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError(f"{type(self).__name__} has no rsample")

    def sample_n(self, n: int):
        return self.sample((n,))

    @property
    def stddev(self):
        return self.variance.sqrt()

    def perplexity(self):
        return engine.exp(self.entropy())

    def __repr__(self):
        params = ", ".join(f"{name}: {getattr(self, name).size() if getattr(self, name).numel() > 1 else getattr(self, name)}"
                           for name in self._param_names)
        return f"{type(self).__name__}({params})"


class Normal(Distribution):
    has_rsample = True
    _param_names = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        super().__init__(self.loc.shape)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with engine.no_grad():
            return engine.normal(self.loc.expand(shape), self.scale.expand(shape))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = engine.empty(shape, dtype=self.loc.dtype, device=self.loc.device).normal_()
        return self.loc + eps * self.scale

    def log_prob(self, value):
        var = self.scale ** 2
        log_scale = self.scale.log() if isinstance(self.scale, engine.Tensor) else math.log(self.scale)
        return -((value - self.loc) ** 2) / (2 * var) - log_scale - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        return 0.5 * (1 + engine.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + engine.log(self.scale)


class Uniform(Distribution):
    has_rsample = True
    _param_names = ("low", "high")

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast_all(low, high)
        super().__init__(self.low.shape)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        rand = engine.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + rand * (self.high - self.low)

    def log_prob(self, value):
        lb = self.low.le(value).to(self.low.dtype)
        ub = self.high.gt(value).to(self.low.dtype)
        return engine.log(lb * ub) - engine.log(self.high - self.low)

    def cdf(self, value):
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def entropy(self):
        return engine.log(self.high - self.low)


def _clamp_probs(probs):
    eps = {engine.float64: 2.220446049250313e-16, engine.float32: 1.1920928955078125e-07,
           engine.float16: 0.0009765625}[probs.dtype]
    return probs.clamp(min=eps, max=1 - eps)


class Bernoulli(Distribution):
    _param_names = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs = _as_param(probs)
            self.logits = engine.log(_clamp_probs(self.probs)) - engine.log1p(-_clamp_probs(self.probs))
        else:
            self.logits = _as_param(logits)
            self.probs = engine.sigmoid(self.logits)
        super().__init__(self.probs.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with engine.no_grad():
            return engine.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        logits, value = engine.broadcast_tensors(self.logits, _as_param(value, self.logits))
        return -engine.nn.functional.binary_cross_entropy_with_logits(logits, value,
                                                                      reduction="none")

    def entropy(self):
        return engine.nn.functional.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                                     reduction="none")


class Categorical(Distribution):
    """One of K categories (the last dim of probs/logits) per batch element."""
    _param_names = ("probs",)

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self.logits = engine.log(_clamp_probs(self.probs))
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self.probs = engine.softmax(self.logits, dim=-1)
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1])

    @property
    def param_shape(self):
        return self.probs.shape

    @property
    def mean(self):
        return engine.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    @property
    def variance(self):
        return engine.full(self._extended_shape(), float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    def sample(self, sample_shape=()):
        sample_shape = _size(sample_shape)
        probs_2d = self.probs.reshape(-1, self._num_events)
        with engine.no_grad():
            samples_2d = engine.multinomial(probs_2d, sample_shape.numel(), True).t()
        return samples_2d.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        value = value.long().unsqueeze(-1)
        value, log_pmf = engine.broadcast_tensors(value, self.logits)
        value = value[..., :1]
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self):
        min_real = {engine.float64: -1.7976931348623157e308, engine.float32: -3.4028234663852886e38,
                    engine.float16: -65504.0}[self.logits.dtype]
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        values = engine.arange(self._num_events, dtype=engine.long)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


def kl_divergence(p, q):
    """KL(p || q) for two distributions of the same family (Normal, Bernoulli, Categorical)."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale).pow(2)
        t1 = ((p.loc - q.loc) / q.scale).pow(2)
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        t = p.probs * (p.logits - q.logits)
        t = engine.where(q.probs == 0, engine.full_like(t, float("inf")), t)
        t = engine.where(p.probs == 0, engine.zeros_like(t), t)
        return t.sum(-1)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        t1 = p.probs * (engine.nn.functional.softplus(-q.logits) - engine.nn.functional.softplus(-p.logits))
        t2 = (1 - p.probs) * (engine.nn.functional.softplus(q.logits) - engine.nn.functional.softplus(p.logits))
        return t1 + t2
    raise NotImplementedError(f"No KL(p || q) is implemented for {type(p).__name__} and "
                              f"{type(q).__name__}")


# torch's submodule layout (torch.distributions.normal.Normal, ...): the classes above under those
# names, and the distributions defined in their own module
from engine.distributions import (bernoulli, categorical, distribution, kl, normal,  # noqa: E402,F401
                                  uniform)
from engine.distributions.multinomial import Multinomial  # noqa: E402
