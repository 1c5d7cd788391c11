"""`engine.nn.utils`: gradient clipping, flattening parameters to one vector, weight_norm,
`rnn.pad_sequence`."""
from engine.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from engine.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from engine.nn.utils.weight_norm import weight_norm, remove_weight_norm
from engine.nn.utils import rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters", "weight_norm", "remove_weight_norm", "rnn"]
