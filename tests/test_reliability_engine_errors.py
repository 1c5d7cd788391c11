"""Engine error paths random use found (issue 17.9): PyTorch's exception and message for a bad
expand, and nan/inf gradients (not a ZeroDivisionError) for a variance with too few degrees of
freedom, compared with torch where it is installed."""
import numpy as np
import pytest

import engine

try:
    import torch
except ImportError:      # the comparisons below skip; the checks of our own still run
    torch = None


def test_expand_to_fewer_dimensions_is_pytorchs_runtime_error():
    with pytest.raises(RuntimeError) as raised:
        engine.ones(3, 1).expand(4)
    assert str(raised.value) == (
        "expand(torch.FloatTensor{[3, 1]}, size=[4]): the number of sizes provided (1) must be "
        "greater or equal to the number of dimensions in the tensor (2)")
    if torch is not None:
        with pytest.raises(RuntimeError) as theirs:
            torch.ones(3, 1).expand(4)
        assert str(theirs.value) == str(raised.value)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("kwargs", [dict(correction=10), dict(correction=6),
                                    dict(dim=1, correction=10), dict(dim=1, correction=3),
                                    dict(correction=1)])
def test_var_backward_with_too_few_degrees_of_freedom_gives_inf_or_nan(kwargs):
    values = np.array([[0.5, -1.0, 2.0], [0.5, 3.0, -0.25]])
    x = engine.tensor(values, requires_grad=True)
    engine.var(x, **kwargs).sum().backward()        # raised ZeroDivisionError
    assert x.grad.shape == (2, 3)
    if torch is not None:
        t = torch.tensor(values, requires_grad=True)
        torch.var(t, **kwargs).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), equal_nan=True)
