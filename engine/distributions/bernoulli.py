"""`torch.distributions.bernoulli`'s name for `engine.distributions.Bernoulli`."""
from engine.distributions import Bernoulli

__all__ = ["Bernoulli"]
