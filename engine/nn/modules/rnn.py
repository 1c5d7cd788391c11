"""Recurrent layers `RNN`, `LSTM`, `GRU` (num_layers, bidirectional, batch_first, dropout
between layers, initial states, unbatched inputs) and their cells, with PyTorch's parameter
names, shapes, init (U(-1/sqrt(hidden), 1/sqrt(hidden)) in PyTorch's order) and gate order
(LSTM: input, forget, cell, output; GRU: reset, update, new). Composed of engine ops: the
input projection of a whole sequence is one matmul, then one small step per time step.
PackedSequence inputs run each sequence for its own length. LSTM's proj_size projects each
hidden state h_t = W_hr (o_t * tanh(c_t)) down to proj_size (weight_hr_l{k}, after the biases in
PyTorch's parameter order); h states are then proj_size wide, c states hidden_size.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

import engine
from engine.nn import functional as F, init
from engine.nn.modules.module import Module
from engine.nn.parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(x_proj, h, w_hh, b_hh, relu: bool):
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return engine.relu(pre) if relu else engine.tanh(pre)


def _lstm_step(x_proj, h, c, w_hh, b_hh, w_hr=None):
    gates = x_proj + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c = engine.sigmoid(f) * c + engine.sigmoid(i) * engine.tanh(g)
    h = engine.sigmoid(o) * engine.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c


def _gru_step(x_proj, h, w_hh, b_hh):
    xr, xz, xn = x_proj.chunk(3, -1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r = engine.sigmoid(xr + hr)
    z = engine.sigmoid(xz + hz)
    n = engine.tanh(xn + r * hn)
    return n + z * (h - n)


class RNNBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for kind, shape in shapes:
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(engine.empty(shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self):
        size = (4 if self.bias else 2) + (1 if self.proj_size > 0 else 0)
        return [[getattr(self, n) for n in self._flat_weights_names[i:i + size]]
                for i in range(0, len(self._flat_weights_names), size)]

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one buffer for cuDNN here (and does
        nothing on the CPU); the engine uses the parameters as they are."""

    def _weights(self, layer: int, direction: int):
        suffix = "_reverse" if direction == 1 else ""
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _step(self, x_proj, h, c, w_hh, b_hh, w_hr=None):
        if self.mode == "LSTM":
            return _lstm_step(x_proj, h, c, w_hh, b_hh, w_hr)
        if self.mode == "GRU":
            return _gru_step(x_proj, h, w_hh, b_hh), None
        return _rnn_step(x_proj, h, w_hh, b_hh, self.mode == "RNN_RELU"), None

    def _direction(self, x_steps, h, c, w_hh, b_hh, w_hr, reverse: bool):
        """Run one direction over the per-step input projections x_steps (step t holds the
        first batch_sizes[t] sequences); rows past a step's batch keep their state."""
        outputs = [None] * len(x_steps)
        for t in (range(len(x_steps) - 1, -1, -1) if reverse else range(len(x_steps))):
            n = x_steps[t].shape[0]
            if n == h.shape[0]:
                h, c = self._step(x_steps[t], h, c, w_hh, b_hh, w_hr)
                outputs[t] = h
            else:
                h_new, c_new = self._step(x_steps[t], h[:n], None if c is None else c[:n], w_hh, b_hh,
                                          w_hr)
                outputs[t] = h_new
                h = engine.cat([h_new, h[n:]], 0)
                c = None if c is None else engine.cat([c_new, c[n:]], 0)
        return outputs, h, c

    def forward(self, input, hx=None):
        from engine.nn.utils.rnn import PackedSequence
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes = input.data, input.batch_sizes.tolist()
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            batch, unbatched = batch_sizes[0], False
            if hx is not None and sorted_indices is not None:      # into the packed order
                order = sorted_indices.to(data.device)
                hx = tuple(h.index_select(1, order) for h in hx) if lstm else hx.index_select(1, order)
            features = data
        else:
            if input.ndim not in (2, 3):
                raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                                 f"{input.ndim}D tensor instead")
            unbatched = input.ndim == 2
            if unbatched:
                input = input.unsqueeze(1)
                if hx is not None:
                    hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            batch, batch_sizes = input.shape[1], [input.shape[1]] * input.shape[0]
            features = input
        if features.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {features.shape[-1]}")
        directions = 2 if self.bidirectional else 1
        cell_shape = (self.num_layers * directions, batch, self.hidden_size)
        state_shape = cell_shape[:2] + (self.proj_size or self.hidden_size,)
        if hx is None:
            zeros = lambda shape: engine.zeros(shape, dtype=features.dtype, device=features.device)  # noqa: E731
            hx = (zeros(state_shape), zeros(cell_shape)) if lstm else zeros(state_shape)
        if lstm:
            for k, (h, shape) in enumerate(zip(hx, (state_shape, cell_shape))):
                if tuple(h.shape) != shape:
                    raise RuntimeError(f"Expected hidden[{k}] size {shape}, got {list(h.shape)}")
        elif tuple(hx.shape) != state_shape:
            raise RuntimeError(f"Expected hidden size {state_shape}, got {list(hx.shape)}")
        h0, c0 = hx if lstm else (hx, None)
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
        layer_input, h_n, c_n = features, [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, direction)
                x_proj = F.linear(layer_input, w_ih, b_ih)   # (L, B, gates) or (sum of lengths, gates)
                x_steps = ([x_proj[offsets[t]:offsets[t + 1]] for t in range(len(batch_sizes))]
                           if packed else list(x_proj.unbind(0)))
                k = layer * directions + direction
                seq, h, c = self._direction(x_steps, h0[k], c0[k] if lstm else None, w_hh, b_hh,
                                            w_hr, reverse=direction == 1)
                outputs.append(engine.cat(seq, 0) if packed else engine.stack(seq, 0))
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if directions == 1 else engine.cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout)
        output, h_n = layer_input, engine.stack(h_n, 0)
        state = (h_n, engine.stack(c_n, 0)) if lstm else h_n
        if packed:
            if unsorted_indices is not None:                      # back to the caller's order
                back = unsorted_indices.to(output.device)
                state = tuple(s.index_select(1, back) for s in state) if lstm else state.index_select(1, back)
            return PackedSequence(output, input.batch_sizes, sorted_indices, unsorted_indices), state
        if unbatched:
            output = output.squeeze(1)
            state = tuple(s.squeeze(1) for s in state) if lstm else state.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, state

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


def _refuse_proj_size(kwargs: dict) -> None:
    """RNN and GRU take no proj_size (PyTorch's message), nor any other unknown keyword."""
    if "proj_size" in kwargs:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
    if kwargs:
        raise TypeError(f"RNNBase.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None,
                 **kwargs):
        _refuse_proj_size(kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; forward returns output, (h_n, c_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, **kwargs):
        _refuse_proj_size(kwargs)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate_size = self._gates * hidden_size
        self.weight_ih = Parameter(engine.empty((gate_size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(engine.empty((gate_size, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(engine.empty(gate_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(engine.empty(gate_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input, hx, pairs: bool):
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.ndim}D instead")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = engine.zeros(input.shape[0], self.hidden_size, dtype=input.dtype,
                                 device=input.device)
            hx = (zeros, zeros) if pairs else zeros
        elif unbatched:
            hx = tuple(h.unsqueeze(0) for h in hx) if pairs else hx.unsqueeze(0)
        return input, hx, unbatched

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hx, unbatched = self._prepare(input, hx, False)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = _rnn_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                      self.bias_hh, self.nonlinearity == "relu")
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    _gates = 4

    def forward(self, input, hx=None):
        input, (h, c), unbatched = self._prepare(input, hx, True)
        h, c = _lstm_step(F.linear(input, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    _gates = 3

    def forward(self, input, hx=None):
        input, hx, unbatched = self._prepare(input, hx, False)
        h = _gru_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh,
                      self.bias_hh)
        return h.squeeze(0) if unbatched else h
