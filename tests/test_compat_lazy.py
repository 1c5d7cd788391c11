"""Lazy layers: shapes from the first input, PyTorch's init drawn then, the module becoming
the plain layer, and optimizers built before the first call still holding the parameters."""
import numpy as np
import pytest

import engine


def _run(lib, make, x_shape):
    lib.manual_seed(0)
    m = make(lib)
    before = repr(m)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    x = lib.tensor(np.random.default_rng(0).standard_normal(x_shape).astype(np.float32))
    y = m(x)
    y.sum().backward()
    opt.step()
    return before, repr(m), type(m).__name__, y.detach().numpy(), \
        {k: v.detach().numpy() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("make,shape", [
    (lambda lib: lib.nn.LazyLinear(3), (2, 5)),
    (lambda lib: lib.nn.LazyConv2d(4, 3, padding=1), (2, 2, 5, 5)),
    (lambda lib: lib.nn.LazyConv1d(2, 3, groups=2), (1, 4, 6)),
    (lambda lib: lib.nn.LazyBatchNorm2d(), (2, 3, 4, 4)),
    (lambda lib: lib.nn.Sequential(lib.nn.LazyLinear(8), lib.nn.ReLU(), lib.nn.LazyLinear(2)), (4, 3)),
])
def test_lazy_layers_match_torch(make, shape):
    torch = pytest.importorskip("torch")
    mine, theirs = _run(engine, make, shape), _run(torch, make, shape)
    assert mine[:3] == theirs[:3]
    np.testing.assert_allclose(mine[3], theirs[3], rtol=1e-5, atol=1e-6)
    assert list(mine[4]) == list(theirs[4])
    for k in mine[4]:
        np.testing.assert_allclose(mine[4][k], theirs[4][k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_uninitialized_parameter_refuses_its_shape():
    m = engine.nn.LazyLinear(3)
    assert repr(m.weight) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        m.weight.shape


def test_loading_a_state_dict_materializes_lazy_parameters():
    engine.manual_seed(0)
    trained = engine.nn.Sequential(engine.nn.LazyLinear(4), engine.nn.LazyLinear(2))
    trained(engine.ones(1, 3))
    fresh = engine.nn.Sequential(engine.nn.LazyLinear(4), engine.nn.LazyLinear(2))
    fresh.load_state_dict(trained.state_dict())
    assert fresh[0].weight.shape == (4, 3) and type(fresh[0].weight) is engine.nn.Parameter
    x = engine.randn(5, 3)
    assert engine.equal(fresh(x), trained(x))
