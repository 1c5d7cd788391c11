"""The compat layers on "cuda" through the CuPy stand-in: same values and gradients as on the
CPU, everything stays on the device, and only the arrays' own namespace is called."""
import numpy as np
import pytest

import engine
from test_engine_fake_cuda import FakeArray, fake_cuda  # noqa: F401  (the fixture)

F = engine.nn.functional

CASES = {
    "pad": lambda x: F.pad(x, (1, 2, 0, 1)).sum() + F.pad(x, (2, 1), mode="reflect").sum(),
    "conv-groups": lambda x: F.conv2d(x, x[:2, :2, :3, :3].reshape(4, 1, 3, 3), groups=4),
    "conv_transpose2d": lambda x: F.conv_transpose2d(x, x[:, :, :2, :2].reshape(4, 2, 2, 2), stride=2),
    "conv1d": lambda x: F.conv1d(x[0], x[:3, 0, :, :2], padding=1),
    "pools": lambda x: F.avg_pool2d(x, 2, 1, 1).sum() + F.adaptive_avg_pool2d(x, (2, 4)).sum()
    + F.max_pool1d(x[0], 2).sum(),
    "interpolate": lambda x: F.interpolate(x, scale_factor=2, mode="bilinear").sum()
    + F.interpolate(x, size=(3, 7)).sum(),
    "norms": lambda x: F.group_norm(x, 2) * x + F.instance_norm(x),
    "attention": lambda x: F.scaled_dot_product_attention(x, x, x, is_causal=True),
    "fold-unfold": lambda x: F.fold(F.unfold(x, 2, padding=1), (5, 6), 2, padding=1),
    "shuffles": lambda x: F.pixel_shuffle(x, 2).sum() + F.channel_shuffle(x, 2).sum(),
    "adaptive_max-lrn": lambda x: F.adaptive_max_pool2d(x, (2, 4)).sum()
    + F.local_response_norm(x, 3).sum(),
    "prelu-rms": lambda x: F.prelu(x, x[0, :, 0, 0]) * F.rms_norm(x, (6,)),
    "losses": lambda x: F.kl_div(x, x.abs(), reduction="batchmean")
    + F.triplet_margin_loss(x[0], x[1], x[1].flip(0)),
}


@pytest.mark.parametrize("name", CASES)
def test_functional_on_fake_cuda(fake_cuda, monkeypatch, name):  # noqa: F811
    monkeypatch.setattr(FakeArray, "strict", True)
    x0 = np.random.default_rng(0).standard_normal((2, 4, 5, 6))
    results = []
    for device in ("cuda", "cpu"):
        x = engine.tensor(x0, device=device, requires_grad=True)
        y = CASES[name](x)
        w = engine.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)), device=device)
        (y * w).sum().backward()
        assert y.device.type == device and x.grad.device.type == device
        results.append((y.detach().cpu().numpy(), x.grad.cpu().numpy()))
    for g, c in zip(*results):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", [lambda: engine.nn.LSTM(6, 3, num_layers=2, bidirectional=True),
                                  lambda: engine.nn.GRU(6, 3, batch_first=True),
                                  lambda: engine.nn.MultiheadAttention(6, 2),
                                  lambda: engine.nn.BatchNorm1d(5)])
def test_modules_on_fake_cuda(fake_cuda, monkeypatch, make):  # noqa: F811
    monkeypatch.setattr(FakeArray, "strict", True)
    engine.manual_seed(0)
    cpu = make().double()
    gpu = make().double()
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.to("cuda")
    x0 = np.random.default_rng(0).standard_normal((4, 5, 6))
    outs = []
    for m, device in ((gpu, "cuda"), (cpu, "cpu")):
        x = engine.tensor(x0, device=device, requires_grad=True)
        y = m(x, x, x)[0] if isinstance(m, engine.nn.MultiheadAttention) else m(x)
        y = y[0] if isinstance(y, tuple) else y
        y.sum().backward()
        assert y.device.type == device
        outs.append([y.detach().cpu().numpy(), x.grad.cpu().numpy()]
                    + [p.grad.cpu().numpy() for p in m.parameters()])
    for g, c in zip(*outs):
        np.testing.assert_allclose(g, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [("Adagrad", {}), ("Adadelta", {}), ("Adamax", {}),
                                         ("NAdam", {}), ("RAdam", {}), ("Rprop", {}),
                                         ("LBFGS", dict(history_size=3, max_iter=4))])
def test_optimizers_on_fake_cuda(fake_cuda, monkeypatch, name, kwargs):  # noqa: F811
    monkeypatch.setattr(FakeArray, "strict", True)
    w0 = np.random.default_rng(0).standard_normal((3, 2))
    results = []
    for device in ("cuda", "cpu"):
        w = engine.tensor(w0, device=device, requires_grad=True)
        opt = getattr(engine.optim, name)([w], **kwargs)

        def closure():
            opt.zero_grad()
            loss = ((w * w).sum() - w.sum()).tanh() + (w ** 4).sum() * 0.1
            loss.backward()
            return loss
        for _ in range(3):
            if name == "LBFGS":
                opt.step(closure)
            else:
                closure()
                opt.step()
        assert w.device.type == device
        results.append(w.detach().cpu().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)


def test_save_and_load_cuda_tensors(fake_cuda, tmp_path):  # noqa: F811
    t = engine.arange(6.0, device="cuda").reshape(2, 3)
    engine.save({"t": t, "p": engine.nn.Parameter(t * 2)}, tmp_path / "c.pt")
    back = engine.load(tmp_path / "c.pt")
    assert back["t"].is_cuda and back["p"].is_cuda and back["p"].requires_grad
    assert back["t"].cpu().tolist() == t.cpu().tolist()
    on_cpu = engine.load(tmp_path / "c.pt", map_location="cpu")
    assert not on_cpu["t"].is_cuda and on_cpu["p"].cpu().tolist() == (t * 2).cpu().tolist()
    moved = engine.load(tmp_path / "c.pt", map_location={"cuda:0": "cpu"})
    assert moved["t"].device.type == "cpu"


def test_default_device_puts_factories_and_layers_on_cuda(fake_cuda):  # noqa: F811
    with engine.device("cuda"):
        layer = engine.nn.Linear(3, 2)
        made = [engine.zeros(2), engine.ones(size=(2,)), engine.randn(3), engine.rand(1),
                engine.randint(0, 5, (2,)), engine.tensor([1.0]), engine.arange(3),
                engine.linspace(0, 1, 4), engine.full((2,), 3.0), engine.eye(2)]
        assert engine.get_default_device() == engine.device("cuda")
    assert layer.weight.is_cuda and all(t.is_cuda for t in made)
    assert not engine.zeros(2).is_cuda
    engine.set_default_device("cuda")
    try:
        assert engine.empty(2, 2).is_cuda and layer(engine.randn(4, 3)).is_cuda
    finally:
        engine.set_default_device(None)
    assert engine.get_default_device() == engine.device("cpu")
