"""`torch.distributions.kl`'s name for `engine.distributions.kl_divergence`."""
from engine.distributions import kl_divergence

__all__ = ["kl_divergence"]
