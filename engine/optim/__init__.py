"""Optimizers with `torch.optim`'s names, arguments and update rules."""
from engine.optim.optimizer import Optimizer
from engine.optim.sgd import SGD
from engine.optim.adam import Adam, AdamW
from engine.optim.rmsprop import RMSprop
from engine.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
