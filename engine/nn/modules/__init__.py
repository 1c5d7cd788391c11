"""The layer classes of `engine.nn`, one file per family as in torch.nn.modules."""
from engine.nn.modules.module import Module
from engine.nn.modules.container import (Sequential, ModuleList, ModuleDict, ParameterList,
                                         ParameterDict)
from engine.nn.modules.linear import Linear, Identity, Flatten, Unflatten, Bilinear
from engine.nn.modules.conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                                    ConvTranspose3d)
from engine.nn.modules.pooling import (MaxPool1d, MaxPool2d, MaxPool3d, AvgPool1d, AvgPool2d,
                                       AvgPool3d, AdaptiveAvgPool1d, AdaptiveAvgPool2d,
                                       AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                                       AdaptiveMaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from engine.nn.modules.upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d
from engine.nn.modules.activation import (ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softplus,
                                          Softmax, LogSoftmax, SiLU, Mish, SELU, ReLU6, ELU,
                                          Hardtanh, LogSigmoid, Softsign, Tanhshrink, GLU, PReLU,
                                          Hardswish, Hardsigmoid, Softmin, Softmax2d, Threshold,
                                          CELU, Softshrink, Hardshrink)
from engine.nn.modules.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout
from engine.nn.modules.distance import CosineSimilarity, PairwiseDistance
from engine.nn.modules.padding import (ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d,
                                       ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
                                       ReplicationPad1d, ReplicationPad2d, CircularPad1d,
                                       CircularPad2d)
from engine.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle, ChannelShuffle, Fold, Unfold
from engine.nn.modules.normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm,
                                             GroupNorm, InstanceNorm1d, InstanceNorm2d,
                                             InstanceNorm3d, RMSNorm, LocalResponseNorm)
from engine.nn.modules.rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
from engine.nn.modules.transformer import (MultiheadAttention, TransformerEncoderLayer,
                                           TransformerEncoder, TransformerDecoderLayer,
                                           TransformerDecoder, Transformer)
from engine.nn.modules import activation as _activation, linear as _linear, transformer as _transformer
# where torch's module paths name these classes (pickles and safe_globals lists spell them so)
_activation.MultiheadAttention = MultiheadAttention
_linear.NonDynamicallyQuantizableLinear = _transformer.NonDynamicallyQuantizableLinear
from engine.nn.modules.parallel import DataParallel
from engine.nn.modules.lazy import (LazyLinear, LazyConv1d, LazyConv2d, LazyConv3d, LazyBatchNorm1d,
                                    LazyBatchNorm2d)
from engine.nn.modules.sparse import Embedding, EmbeddingBag
from engine.nn.modules.loss import (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss,
                                    CrossEntropyLoss, NLLLoss, HuberLoss, SmoothL1Loss, KLDivLoss,
                                    MarginRankingLoss, HingeEmbeddingLoss, CosineEmbeddingLoss,
                                    SoftMarginLoss, TripletMarginLoss, PoissonNLLLoss,
                                    GaussianNLLLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                                    MultiLabelMarginLoss)

# every layer class imported above (they are all Modules)
__all__ = [name for name, value in list(globals().items())
           if isinstance(value, type) and issubclass(value, Module)]
