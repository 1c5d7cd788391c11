"""The layer classes of `engine.nn`, one file per family as in torch.nn.modules."""
from engine.nn.modules.module import Module
from engine.nn.modules.container import Sequential, ModuleList, ModuleDict
from engine.nn.modules.linear import Linear, Identity, Flatten
from engine.nn.modules.conv import Conv2d, MaxPool2d
from engine.nn.modules.activation import (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softplus,
                                          Softmax, LogSoftmax)
from engine.nn.modules.dropout import Dropout
from engine.nn.modules.normalization import BatchNorm1d, LayerNorm
from engine.nn.modules.sparse import Embedding
from engine.nn.modules.loss import (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss,
                                    CrossEntropyLoss, NLLLoss, HuberLoss, SmoothL1Loss)

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "Flatten",
           "Conv2d", "MaxPool2d", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softplus",
           "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "LayerNorm", "Embedding",
           "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
           "HuberLoss", "SmoothL1Loss"]
