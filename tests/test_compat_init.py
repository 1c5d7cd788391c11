"""nn.init additions: trunc_normal_, orthogonal_, sparse_, dirac_ and the deprecated names,
against torch under the same seed."""
import warnings

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")


def _drawn(lib, name, shape, args):
    lib.manual_seed(3)
    t = lib.empty(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(lib.nn.init, name)(t, *args)
    return t.numpy()


@pytest.mark.parametrize("name,shape,args,tol", [
    ("trunc_normal_", (30, 20), (0.5, 0.8, -1.0, 1.5), 0),        # normal draws, redrawn outside
    ("trunc_normal_", (30, 20), (0.0, 1.0, 1.0, 3.0), 0),         # rejection sampling
    ("trunc_normal_", (7,), (2.0, 0.5, -1.0, 1.0), 0),
    ("orthogonal_", (6, 4), (2.0,), 1e-6),                         # QR in LAPACK on both sides
    ("orthogonal_", (3, 2, 4), (), 1e-6),
    ("sparse_", (8, 5), (0.4, 0.1), 0),
    ("dirac_", (4, 2, 3, 3), (2,), 0),
])
def test_init_matches_torch(name, shape, args, tol):
    np.testing.assert_allclose(_drawn(engine, name, shape, args), _drawn(torch, name, shape, args),
                               rtol=0, atol=tol)


def test_orthogonal_rows_are_orthonormal_and_deprecated_names_warn():
    w = engine.nn.init.orthogonal_(engine.empty(3, 5))
    np.testing.assert_allclose((w @ w.t()).numpy(), np.eye(3), atol=1e-5)
    with pytest.warns(FutureWarning, match=r"`nn.init.xavier_uniform` is now deprecated in favor of "
                                           r"`nn.init.xavier_uniform_`"):
        engine.nn.init.xavier_uniform(engine.empty(2, 2))
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        engine.nn.init.orthogonal_(engine.empty(3))
