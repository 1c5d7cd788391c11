"""engine.nn.utils: gradient clipping against PyTorch, flattening parameters."""
import math

import numpy as np
import pytest

import engine
import engine.nn as nn
from engine.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                             vector_to_parameters)

torch = pytest.importorskip("torch")

GRADS = [np.random.default_rng(0).standard_normal(s) * 3 for s in [(4, 3), (3,), (2, 2)]]


def params_with_grads(lib, grads=GRADS):
    params = []
    for g in grads:
        p = lib.zeros(g.shape, dtype=lib.float64, requires_grad=True)
        p.grad = lib.tensor(g.copy())
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0),
                                                 (2.0, math.inf), (1.0, 3.0)])
def test_clip_grad_norm_returns_total_norm_and_scales_like_pytorch(max_norm, norm_type):
    ours, theirs = params_with_grads(engine), params_with_grads(torch)
    total_ours = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total_ours, engine.Tensor)
    np.testing.assert_allclose(total_ours.item(), total_theirs.item(), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_leaves_the_norm_at_max_norm():
    params = params_with_grads(engine)
    clip_grad_norm_(params, 1.0)
    total = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params))
    assert abs(total - 1.0) < 1e-5


def test_clip_grad_norm_non_finite():
    params = params_with_grads(engine, [np.array([1.0, np.inf])])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(params, 1.0).item())


def test_clip_grad_norm_skips_parameters_without_grad_and_accepts_one_tensor():
    p = engine.zeros(2, requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    p.grad = engine.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)


def test_clip_grad_value_clamps_in_place():
    ours, theirs = params_with_grads(engine), params_with_grads(torch)
    clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_parameters_to_vector_and_back():
    model = nn.Linear(3, 2)
    vec = parameters_to_vector(model.parameters())
    assert tuple(vec.shape) == (8,)
    vector_to_parameters(engine.arange(8, dtype=engine.float32), model.parameters())
    np.testing.assert_array_equal(model.weight.detach().numpy(), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(model.bias.detach().numpy(), [6, 7])
    with pytest.raises(ValueError, match="vector has 3 elements but the parameters hold 8"):
        vector_to_parameters(engine.zeros(3), model.parameters())
