"""`torch.distributions.normal`'s name for `engine.distributions.Normal`."""
from engine.distributions import Normal

__all__ = ["Normal"]
