"""The layer classes of `engine.nn`, one file per family as in torch.nn.modules."""
from engine.nn.modules.module import Module
from engine.nn.modules.container import (Sequential, ModuleList, ModuleDict, ParameterList,
                                         ParameterDict)
from engine.nn.modules.linear import Linear, Identity, Flatten
from engine.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, MaxPool2d
from engine.nn.modules.pooling import (MaxPool1d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,
                                       AdaptiveAvgPool2d)
from engine.nn.modules.upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d
from engine.nn.modules.activation import (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softplus,
                                          Softmax, LogSoftmax, SiLU, Mish, SELU, ReLU6, ELU,
                                          Hardtanh, LogSigmoid, Softsign, Tanhshrink, GLU)
from engine.nn.modules.dropout import Dropout
from engine.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm,
                                             GroupNorm, InstanceNorm1d, InstanceNorm2d,
                                             InstanceNorm3d)
from engine.nn.modules.rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
from engine.nn.modules.transformer import (MultiheadAttention, TransformerEncoderLayer,
                                           TransformerEncoder)
from engine.nn.modules.parallel import DataParallel
from engine.nn.modules.sparse import Embedding
from engine.nn.modules.loss import (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss,
                                    CrossEntropyLoss, NLLLoss, HuberLoss, SmoothL1Loss)

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
           "Linear", "Identity", "Flatten", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
           "MaxPool2d", "MaxPool1d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
           "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softplus", "Softmax", "LogSoftmax",
           "SiLU", "Mish", "SELU", "ReLU6", "ELU", "Hardtanh", "LogSigmoid", "Softsign",
           "Tanhshrink", "GLU", "Dropout", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
           "LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "DataParallel",
           "Embedding",
           "MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
           "HuberLoss", "SmoothL1Loss"]
