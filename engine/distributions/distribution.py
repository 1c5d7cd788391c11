"""`torch.distributions.distribution`'s name for `engine.distributions.Distribution`."""
from engine.distributions import Distribution

__all__ = ["Distribution"]
