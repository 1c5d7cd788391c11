"""PackedSequence: packing, unpacking and RNN/LSTM/GRU over packed batches, against torch."""
import numpy as np
import pytest

import engine
from engine.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")

LENGTHS = [3, 5, 1, 4]


def _run(lib, make, batch_first, enforce_sorted, lengths, hidden):
    lib.manual_seed(0)
    module = make(lib).double()
    rng = np.random.default_rng(0)
    shape = (len(lengths), max(lengths), 3) if batch_first else (max(lengths), len(lengths), 3)
    x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
    packed = lib.nn.utils.rnn.pack_padded_sequence(x, lib.tensor(lengths), batch_first=batch_first,
                                                   enforce_sorted=enforce_sorted)
    hx = None
    if hidden:
        layers = module.num_layers * (2 if module.bidirectional else 1)
        h = lib.tensor(rng.standard_normal((layers, len(lengths), module.hidden_size)))
        hx = (h, h * 0.5) if isinstance(module, lib.nn.LSTM) else h
    out, state = module(packed, hx)
    padded, out_lengths = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first,
                                                               total_length=max(lengths) + 1)
    states = state if isinstance(state, tuple) else (state,)
    w = rng.standard_normal(tuple(padded.shape))
    (padded * lib.from_numpy(w)).sum().backward(retain_graph=True)
    sum(s.sum() for s in states).backward()
    grads = [x.grad] + [p.grad for p in module.parameters()]
    return ([out.data, out.batch_sizes, padded, out_lengths] + list(states),
            [g.numpy() for g in grads])


@pytest.mark.parametrize("make", [lambda lib: lib.nn.LSTM(3, 4, num_layers=2, bidirectional=True),
                                  lambda lib: lib.nn.GRU(3, 2, bidirectional=True),
                                  lambda lib: lib.nn.RNN(3, 5, num_layers=2)])
@pytest.mark.parametrize("batch_first,enforce_sorted,lengths,hidden", [
    (False, False, LENGTHS, False), (True, False, LENGTHS, True), (False, True, [5, 4, 2, 2], True)])
def test_rnns_over_packed_sequences_match_torch(make, batch_first, enforce_sorted, lengths, hidden):
    mine = _run(engine, make, batch_first, enforce_sorted, lengths, hidden)
    theirs = _run(torch, make, batch_first, enforce_sorted, lengths, hidden)
    for a, b in zip(mine[0], theirs[0]):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-12)
    for a, b in zip(mine[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_pack_sequence_and_unpacking_match_torch():
    seqs = [np.arange(6.0).reshape(3, 2), np.ones((5, 2)), np.full((1, 2), 7.0)]
    for enforce_sorted in (False,):
        got = rnn_utils.pack_sequence([engine.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
        want = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs],
                                                enforce_sorted=enforce_sorted)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        back = rnn_utils.unpack_sequence(got)
        assert [t.tolist() for t in back] == [s.tolist() for s in seqs]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        rnn_utils.pack_sequence([engine.tensor(s) for s in seqs])
