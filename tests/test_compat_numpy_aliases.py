"""NumPy's argument names that PyTorch accepts: axis= for dim= and keepdims= for keepdim=."""
import numpy as np
import pytest

import engine

CALLS = {
    "sum": lambda lib, x: lib.sum(x, axis=0, keepdims=True),
    "mean": lambda lib, x: x.mean(axis=1),
    "argmax": lambda lib, x: lib.argmax(x, axis=1, keepdims=True),
    "max": lambda lib, x: x.max(axis=1, keepdims=True).values,
    "std": lambda lib, x: x.std(axis=0, keepdims=True),
    "cat": lambda lib, x: lib.cat([x, x], axis=1),
    "stack": lambda lib, x: lib.stack([x, x], axis=2),
    "softmax": lambda lib, x: x.softmax(axis=0),
    "cumsum": lambda lib, x: x.cumsum(axis=1),
    "unsqueeze": lambda lib, x: x.unsqueeze(axis=1),
    "logsumexp": lambda lib, x: x.logsumexp(axis=0, keepdims=True),
    "gather": lambda lib, x: x.gather(axis=0, index=lib.zeros(1, 3, dtype=lib.long)),
    "index_select": lambda lib, x: x.index_select(axis=1, index=lib.tensor([2, 0])),
    "all": lambda lib, x: (x > 1).all(axis=1),
}


@pytest.mark.parametrize("name", CALLS)
def test_axis_and_keepdims_match_torch(name):
    x = np.arange(6.0).reshape(2, 3)
    got = CALLS[name](engine, engine.tensor(x))
    torch = pytest.importorskip("torch")
    want = CALLS[name](torch, torch.tensor(x))
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_aliases_are_not_everywhere_and_do_not_double_up():
    x = engine.ones(2, 3)
    with pytest.raises(TypeError, match="alias"):
        x.sum(dim=0, axis=1)
    with pytest.raises(TypeError):          # torch.Tensor.norm (Python in PyTorch) has no axis
        x.norm(axis=0)
