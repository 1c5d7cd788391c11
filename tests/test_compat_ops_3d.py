"""3-D convolution and pooling, grid_sample / affine_grid, kthvalue / mode / nanmedian and integer
linspace, each compared with PyTorch (values and gradients) where it is installed and checked by
finite differences in float64."""
import numpy as np
import pytest

import engine
from engine.autograd import gradcheck, gradgradcheck
from tests.torch_compare import same_error


def _torch():
    return pytest.importorskip("torch")


# -- linspace with integer dtypes -----------------------------------------------------------------

def test_integer_linspace_matches_torch_on_a_random_sweep():
    """PyTorch computes each value in double (start + step * i below the middle, end - step * back
    from it, one fused multiply-add) and truncates toward zero; a plain multiply-then-add was off by
    one at about 4% of (start, end, steps)."""
    torch = _torch()
    rng = np.random.default_rng(19)
    limits = {"int64": 10 ** 9, "int32": 10 ** 6, "int16": 30000, "int8": 127, "uint8": 255}
    for dtype, limit in limits.items():
        low = 0 if dtype == "uint8" else -limit
        for _ in range(400):
            start, end = (int(v) for v in rng.integers(low, limit, 2))
            if rng.random() < 0.3:
                start, end = (float(v) for v in rng.uniform(low, limit, 2))
            steps = int(rng.integers(0, 600))
            got = engine.linspace(start, end, steps, dtype=getattr(engine, dtype)).numpy()
            want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
            assert np.array_equal(got, want), (dtype, start, end, steps)


def test_float64_linspace_matches_torch_on_a_random_sweep():
    torch = _torch()
    rng = np.random.default_rng(5)
    for _ in range(300):
        mag = 10.0 ** rng.integers(-3, 12)
        start, end = (float(v) for v in rng.uniform(-mag, mag, 2))
        steps = int(rng.integers(1, 3000))
        got = engine.linspace(start, end, steps, dtype=engine.float64).numpy()
        want = torch.linspace(start, end, steps, dtype=torch.float64).numpy()
        assert np.array_equal(got, want), (start, end, steps)
