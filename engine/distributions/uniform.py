"""`torch.distributions.uniform`'s name for `engine.distributions.Uniform`."""
from engine.distributions import Uniform

__all__ = ["Uniform"]
