"""Training utilities: `engine.utils.data` (datasets, batching) and
`engine.utils.checkpoint` (recompute activations in backward to save memory)."""
from engine.utils import data, checkpoint

__all__ = ["data", "checkpoint"]
