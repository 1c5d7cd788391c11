"""Optimizers with `torch.optim`'s names, arguments and update rules."""
from engine.optim.optimizer import Optimizer
from engine.optim.sgd import SGD
from engine.optim.adam import Adam, AdamW
from engine.optim.rmsprop import RMSprop
from engine.optim.adagrad import Adagrad
from engine.optim.adadelta import Adadelta
from engine.optim.adamax import Adamax
from engine.optim.nadam import NAdam
from engine.optim.lbfgs import LBFGS
from engine.optim.radam import RAdam
from engine.optim.rprop import Rprop
from engine.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
           "LBFGS", "RAdam", "Rprop", "lr_scheduler"]
