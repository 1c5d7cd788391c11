"""`torch.distributions.categorical`'s name for `engine.distributions.Categorical`."""
from engine.distributions import Categorical

__all__ = ["Categorical"]
