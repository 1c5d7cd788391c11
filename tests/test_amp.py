"""engine.autocast and engine.amp.GradScaler with float16 (cpu autocast with dtype=float16; its
default bfloat16 is tested in test_amp_cpu.py): float16 layers, loss scaling, skipped steps."""
import warnings

import numpy as np
import pytest

import engine
import engine.nn as nn
from engine.amp import GradScaler, autocast


def test_autocast_runs_linear_in_float16_and_gradients_stay_float32():
    layer = nn.Linear(4, 3)
    x = engine.randn(5, 4)
    with engine.autocast("cpu", dtype=engine.float16):
        out = layer(x)
        assert engine.is_autocast_enabled("cpu") if hasattr(engine, "is_autocast_enabled") \
            else True
    assert out.dtype == engine.float16
    plain = layer(x)
    assert plain.dtype == engine.float32
    np.testing.assert_allclose(out.float().detach().numpy(), plain.detach().numpy(),
                               rtol=1e-2, atol=1e-2)
    out.float().sum().backward()
    assert layer.weight.grad.dtype == engine.float32


def test_autocast_conv2d_and_nesting():
    conv = nn.Conv2d(1, 2, 3)
    x = engine.randn(1, 1, 5, 5)
    with autocast("cpu", dtype=engine.float16):
        assert conv(x).dtype == engine.float16
        with autocast("cpu", enabled=False):
            assert conv(x).dtype == engine.float32
        assert conv(x).dtype == engine.float16
    assert conv(x).dtype == engine.float32


def test_autocast_leaves_float64_and_other_devices_alone():
    layer = nn.Linear(2, 2).double()
    with autocast("cpu", dtype=engine.float16):
        assert layer(engine.randn(1, 2, dtype=engine.float64)).dtype == engine.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # without CUDA, autocast("cuda") warns and disables
        with autocast("cuda"):
            assert nn.Linear(2, 2)(engine.randn(1, 2)).dtype == engine.float32


def test_autocast_as_decorator():
    @autocast("cpu", dtype=engine.float16)
    def forward(layer, x):
        return layer(x)
    assert forward(nn.Linear(2, 2), engine.randn(1, 2)).dtype == engine.float16


def train_step(scaler, model, opt, x, y):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()


def test_grad_scaler_scales_unscales_and_steps():
    model = nn.Linear(3, 1)
    opt = engine.optim.SGD(model.parameters(), lr=0.1)
    scaler = GradScaler("cpu", init_scale=1024.0)
    x, y = engine.randn(8, 3), engine.randn(8, 1)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    plain_grad = model.weight.grad.numpy().copy()
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    assert scaler.scale(loss).item() == pytest.approx(loss.item() * 1024, rel=1e-6)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    np.testing.assert_allclose(model.weight.grad.numpy(), plain_grad, rtol=1e-5)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    before = model.weight.detach().numpy().copy()
    scaler.step(opt)
    scaler.update()
    assert not np.array_equal(before, model.weight.detach().numpy())
    assert scaler.get_scale() == 1024.0


def test_grad_scaler_skips_an_inf_step_and_backs_off():
    model = nn.Linear(3, 1)
    opt = engine.optim.SGD(model.parameters(), lr=0.1)
    scaler = GradScaler("cpu", init_scale=2.0 ** 16, backoff_factor=0.5)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    opt.zero_grad()
    loss = model(engine.tensor([[1.0, float("inf"), 0.0]])).sum()
    scaler.scale(loss).backward()
    assert scaler.step(opt) is None
    scaler.update()
    for b, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(b, p.detach().numpy())
    assert scaler.get_scale() == 2.0 ** 15


def test_grad_scaler_grows_after_growth_interval_clean_steps():
    model = nn.Linear(3, 1)
    opt = engine.optim.SGD(model.parameters(), lr=0.01)
    scaler = GradScaler("cpu", init_scale=8.0, growth_interval=3)
    x, y = engine.randn(4, 3), engine.randn(4, 1)
    for _ in range(3):
        train_step(scaler, model, opt, x, y)
    assert scaler.get_scale() == 16.0
    state = scaler.state_dict()
    other = GradScaler("cpu")
    other.load_state_dict(state)
    assert other.get_scale() == 16.0 and other.get_growth_interval() == 3


def test_disabled_scaler_is_transparent_and_cuda_scaler_without_cuda_disables():
    scaler = GradScaler("cpu", enabled=False)
    loss = engine.tensor(2.0)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0
    if not engine.cuda.is_available():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cuda_scaler = engine.cuda.amp.GradScaler()
        assert not cuda_scaler.is_enabled()
        assert any("CUDA is not available" in str(w.message) for w in caught)


def test_cuda_amp_aliases_exist_like_pytorch():
    assert engine.cuda.amp.GradScaler.__name__ == "GradScaler"
    ctx = engine.cuda.amp.autocast()
    assert ctx.device_type == "cuda"
    assert engine.amp.autocast is engine.autocast


def test_unscaling_float16_gradients_is_refused():
    p = engine.zeros(2, dtype=engine.float16, requires_grad=True)
    p.grad = engine.ones(2, dtype=engine.float16)
    opt = engine.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="FP16 gradients"):
        GradScaler("cpu").unscale_(opt)


def test_autocast_runs_matmul_in_float16_with_float32_products():
    a = engine.tensor([[1.0 + 2 ** -12, 2.0]], requires_grad=True)
    b = engine.tensor([[3.0], [4.0]])
    with autocast("cpu", dtype=engine.float16):
        out = a @ b
    assert out.dtype == engine.float16
    assert out.item() == 11.0               # 1 + 2**-12 rounds to 1 in float16
    out.float().sum().backward()
    assert a.grad.dtype == engine.float32
    np.testing.assert_allclose(a.grad.numpy(), [[3.0, 4.0]])
    assert (a @ b).dtype == engine.float32


def test_cuda_amp_is_importable_as_in_pytorch_code():
    from engine.cuda.amp import GradScaler as CudaGradScaler, autocast as cuda_autocast
    assert CudaGradScaler is engine.cuda.amp.GradScaler
    assert cuda_autocast().device_type == "cuda"
