"""Mixed precision as torch.amp has it on the cpu: autocast("cpu") in bfloat16 by PyTorch's
op lists (every op of the op table and nn.functional's layers and losses, compared with
torch.autocast), GradScaler("cpu") step for step with PyTorch's, the deprecated
torch.cpu.amp / torch.cuda.amp names, and the cuda lists on the fake-CUDA path."""
import math
import warnings

import numpy as np
import pytest

import engine
import engine.nn as nn
from engine.amp import GradScaler, autocast
from test_engine_fake_cuda import fake_cuda  # noqa: F401  (the fixture)
from test_engine_op_table import OPS, make_inputs


def _scaled_error(a, b):
    """max |a - b| in bfloat16 ulps of the larger tensor's largest magnitude."""
    if a.size == 0:
        return 0.0
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()), 1e-30)
    return float(np.abs(a - b).max() / 2.0 ** (math.floor(math.log2(scale)) - 7))


def test_cpu_autocast_defaults_to_bfloat16_and_cuda_to_float16():
    assert engine.amp.get_autocast_dtype("cpu") is engine.bfloat16
    assert engine.amp.get_autocast_dtype("cuda") is engine.float16
    with autocast("cpu") as ctx:
        assert ctx.fast_dtype is engine.bfloat16 and engine.amp.is_autocast_enabled("cpu")
        out = nn.Linear(3, 2)(engine.randn(4, 3))
    assert out.dtype is engine.bfloat16 and not engine.amp.is_autocast_enabled("cpu")


def test_unsupported_dtypes_warn_and_disable_as_torch_does():
    torch = pytest.importorskip("torch")
    for device_type, dtype in (("cpu", "float64"), ("cpu", "float32")):
        with warnings.catch_warnings(record=True) as mine:
            warnings.simplefilter("always")
            ctx = autocast(device_type, dtype=getattr(engine, dtype))
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            torch.autocast(device_type, dtype=getattr(torch, dtype))
        assert [str(w.message) for w in mine] == [str(w.message) for w in theirs]
        with ctx:
            assert nn.Linear(2, 2)(engine.randn(1, 2)).dtype is engine.float32
    if not engine.cuda.is_available():          # torch here is a CPU build: both lack CUDA
        with warnings.catch_warnings(record=True) as mine:
            warnings.simplefilter("always")
            autocast("cuda")
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            torch.autocast("cuda")
        assert [str(w.message) for w in mine] == [str(w.message) for w in theirs]


CASES = [(op, i) for op in OPS for i in range(len(op.samples))]
# (matrix_exp: PyTorch's bfloat16 kernel is far off the float32 result, which the engine
# rounds; test_engine_bfloat16 shows its NaN gradients)


@pytest.mark.parametrize("inputs", ["float32", "bfloat16"])
@pytest.mark.parametrize("op,i", CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_every_table_op_under_autocast_matches_torch(op, i, inputs):
    torch = pytest.importorskip("torch")
    arrays = make_inputs(op, op.samples[i])
    try:
        with torch.autocast("cpu"):
            to = op.fn(torch, *[torch.tensor(a, dtype=torch.float32).to(getattr(torch, inputs))
                                .requires_grad_() for a in arrays])
    except (RuntimeError, NotImplementedError) as e:
        pytest.skip(f"PyTorch: {e}")
    with engine.autocast("cpu"):
        eo = op.fn(engine, *[engine.tensor(a, dtype=engine.float32).to(getattr(engine, inputs))
                             .requires_grad_() for a in arrays])
    assert repr(eo.dtype) == str(to.dtype)
    if not (inputs == "bfloat16" and "matrix_exp" in op.name):   # PyTorch's bfloat16 matrix_exp
        assert _scaled_error(eo.detach().float().numpy(), to.detach().float().numpy()) <= 2.0


def _layer_cases(m):
    """name -> call(m, x), with x float32 (N, 4, 6, 6) or (N, 4) by case."""
    F = m.nn.functional
    g = np.random.default_rng(0)
    w = m.tensor(g.uniform(-1, 1, (3, 4)), dtype=m.float32)
    cw = m.tensor(g.uniform(-1, 1, (2, 4, 3, 3)), dtype=m.float32)
    target = m.tensor([0, 2, 1, 2, 0])
    prob = m.tensor(g.uniform(0.1, 0.9, (5, 4)), dtype=m.float32)
    return {
        "linear": lambda x: F.linear(x, w),
        "conv2d": lambda x: F.conv2d(x.reshape(5, 4, 1, 1).expand(5, 4, 3, 3), cw),
        "mse_loss": lambda x: F.mse_loss(x, prob),
        "l1_loss": lambda x: F.l1_loss(x, prob),
        "smooth_l1_loss": lambda x: F.smooth_l1_loss(x, prob),
        "huber_loss": lambda x: F.huber_loss(x, prob),
        "cross_entropy": lambda x: F.cross_entropy(x, target),
        "nll_loss": lambda x: F.nll_loss(F.log_softmax(x, 1), target),
        "binary_cross_entropy": lambda x: F.binary_cross_entropy(m.sigmoid(x), prob),
        "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, prob),
        "layer_norm": lambda x: F.layer_norm(x, (4,)),
        "softmax": lambda x: F.softmax(x, 1),
        "gelu": lambda x: F.gelu(x),
        "silu": lambda x: F.silu(x),
        "relu": lambda x: F.relu(x),
        "cat_mixed": lambda x: m.cat([x.bfloat16(), x]),
        "stack_mixed": lambda x: m.stack([x, x.bfloat16()]),
        "cat_low": lambda x: m.cat([x.bfloat16(), x.bfloat16()]),
        "mm_then_exp": lambda x: m.exp(x @ w.t()),
    }


@pytest.mark.parametrize("name", list(_layer_cases(engine)))
@pytest.mark.parametrize("inputs", ["float32", "bfloat16"])
def test_nn_functional_under_autocast_matches_torch(name, inputs):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).uniform(-1, 1, (5, 4))
    with torch.autocast("cpu"):
        to = _layer_cases(torch)[name](torch.tensor(x, dtype=getattr(torch, inputs)))
    with engine.autocast("cpu"):
        eo = _layer_cases(engine)[name](engine.tensor(x, dtype=getattr(engine, inputs)))
    assert repr(eo.dtype) == str(to.dtype)
    assert _scaled_error(eo.detach().float().numpy(), to.detach().float().numpy()) <= 4.0


def test_float32_parameters_get_float32_gradients_through_the_casts():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).uniform(-1, 1, (6, 4))
    grads = []
    for m in (engine, torch):
        m.manual_seed(0)
        lin = m.nn.Linear(4, 3)
        with m.no_grad():
            lin.weight.copy_(m.tensor(np.arange(12.0).reshape(3, 4) / 10, dtype=m.float32))
            lin.bias.zero_()
        with m.autocast("cpu"):
            out = lin(m.tensor(x, dtype=m.float32))
            loss = m.nn.functional.mse_loss(out, m.zeros(6, 3))
        assert out.dtype == m.bfloat16 and loss.dtype == m.float32
        loss.backward()
        assert lin.weight.grad.dtype == m.float32
        grads.append(lin.weight.grad.numpy().copy())
        assert type(out.grad_fn).__name__ == "AddmmBackward0"
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


def _scaled_training(m, steps=8, inf_at=(3,)):
    """A small model trained in bfloat16 autocast with GradScaler('cpu'): per step the loss,
    the scale, whether the step ran, and the weights after it."""
    g = np.random.default_rng(5)
    x = m.tensor(g.uniform(-1, 1, (16, 4)), dtype=m.float32)
    y = m.tensor(g.uniform(-1, 1, (16, 1)), dtype=m.float32)
    model = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.ReLU(), m.nn.Linear(8, 1))
    with m.no_grad():
        for k, p in enumerate(model.parameters()):
            p.copy_(m.tensor(g.uniform(-0.5, 0.5, tuple(p.shape)), dtype=m.float32))
    opt = m.optim.SGD(model.parameters(), lr=0.1)
    scaler = m.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)
    record = []
    for step in range(steps):
        opt.zero_grad()
        with m.autocast("cpu"):
            loss = m.nn.functional.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        if step in inf_at:
            model[0].weight.grad[0, 0] = float("inf")
        before = model[2].weight.detach().clone()
        scaler.step(opt)
        scaler.update()
        stepped = not bool((model[2].weight.detach() == before).all())
        record.append((loss.item(), scaler.get_scale(), stepped,
                       [p.detach().numpy().copy() for p in model.parameters()]))
    return record, scaler.state_dict()


def test_grad_scaler_steps_like_torchs_on_a_bfloat16_model():
    torch = pytest.importorskip("torch")
    mine, my_state = _scaled_training(engine)
    theirs, their_state = _scaled_training(torch)
    assert [(s, ran) for _, s, ran, _ in mine] == [(s, ran) for _, s, ran, _ in theirs]
    assert [ran for *_, ran, _ in mine][3] is False          # the inf step was skipped
    for (l1, _, _, p1), (l2, _, _, p2) in zip(mine, theirs):
        assert l1 == pytest.approx(l2, rel=2e-2)
        for a, b in zip(p1, p2):
            np.testing.assert_allclose(a, b, rtol=2e-2, atol=2e-3)
    assert my_state == their_state


def test_unscale_step_and_state_dict_round_trip():
    model = nn.Linear(2, 1)
    opt = engine.optim.SGD(model.parameters(), lr=0.1)
    scaler = GradScaler("cpu", init_scale=8.0)
    with autocast("cpu"):
        loss = model(engine.ones(3, 2)).float().sum()
    scaler.scale(loss).backward()
    assert model.weight.grad.tolist() == [[24.0, 24.0]]
    scaler.unscale_(opt)
    assert model.weight.grad.tolist() == [[3.0, 3.0]]
    scaler.step(opt)
    scaler.update()
    other = GradScaler("cpu")
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 8.0 and other.state_dict() == scaler.state_dict()


def test_deprecated_amp_names_warn_as_torchs():
    torch = pytest.importorskip("torch")
    for name in ("cpu.amp.autocast", "cpu.amp.GradScaler", "cuda.amp.autocast",
                 "cuda.amp.GradScaler"):
        msgs = []
        for m in (engine, torch):
            cls = m
            for part in name.split("."):
                cls = getattr(cls, part)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cls()
            msgs.append([str(w.message) for w in caught if w.category is FutureWarning])
        assert msgs[0] == msgs[1] and len(msgs[0]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert engine.cpu.amp.autocast().fast_dtype is engine.bfloat16
        assert engine.cpu.amp.GradScaler().is_enabled()


def test_cuda_lists_on_the_fake_cuda_path(fake_cuda):  # noqa: F811
    x = engine.randn(4, 4, device="cuda")
    w = engine.randn(4, 4, device="cuda")
    with autocast("cuda"):
        assert (x @ w).dtype is engine.float16                         # lower precision
        h = (x @ w)
        assert engine.exp(h).dtype is engine.float32                  # fp32 on cuda (not on cpu)
        assert h.sum().dtype is engine.float32                        # fp32 unless dtype= given
        assert h.sum(dtype=engine.float16).dtype is engine.float16
        assert engine.softmax(h, 1).dtype is engine.float32
        assert (h + x).dtype is engine.float32                        # ordinary promotion
        assert engine.cat([h, x]).dtype is engine.float32             # cat is promote on cpu only
        assert engine.atan2(h, x).dtype is engine.float32             # promote
        assert engine.atan2(h, h).dtype is engine.float16
        with pytest.raises(RuntimeError, match="are unsafe to autocast"):
            nn.functional.binary_cross_entropy(engine.sigmoid(h), engine.rand(4, 4, device="cuda"))
    with autocast("cpu"):                                              # cpu autocast leaves cuda alone
        assert (x @ w).dtype is engine.float32


def test_bfloat16_on_the_fake_cuda_path(fake_cuda):  # noqa: F811
    """The fake CuPy is NumPy underneath, so it holds bfloat16 arrays as CuPy 14 does."""
    assert engine.cuda.is_bf16_supported()
    a = engine.tensor([1.0, 2.5, 3.3], dtype=engine.bfloat16, device="cuda", requires_grad=True)
    y = (a.exp() * a).sum()
    y.backward()
    cpu = engine.tensor([1.0, 2.5, 3.3], dtype=engine.bfloat16, requires_grad=True)
    (cpu.exp() * cpu).sum().backward()
    assert y.is_cuda and y.dtype is engine.bfloat16 and y.item() == (cpu.exp() * cpu).sum().item()
    assert a.grad.dtype is engine.bfloat16 and a.grad.cpu().tolist() == cpu.grad.tolist()
    with autocast("cuda", dtype=engine.bfloat16):
        assert (a.detach().float() @ engine.ones(3, 2, device="cuda")).dtype is engine.bfloat16


def test_a_script_training_in_bfloat16_autocast_records_the_casts(tmp_path):
    """A user script with autocast("cpu") runs in gradstudio: the recorded graph shows the
    casts autocast made (ToCopyBackward0 into bfloat16) before each lower-precision op."""
    from gradstudio.runtime.script_run import run_script
    from gradstudio.runtime.session import Session
    path = tmp_path / "amp_train.py"
    path.write_text(
        "import torch\n"
        "torch.manual_seed(0)\n"
        "x, y = torch.randn(16, 3), torch.randn(16, 1)\n"
        "net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))\n"
        "opt = torch.optim.SGD(net.parameters(), lr=0.1)\n"
        "for step in range(3):\n"
        "    opt.zero_grad()\n"
        "    with torch.autocast('cpu'):\n"
        "        loss = torch.nn.functional.mse_loss(net(x), y)\n"
        "    loss.backward()\n"
        "    opt.step()\n"
        "print(loss.dtype, net(x).dtype)\n")
    result = run_script(path, timeout=120)
    assert "".join(result.stdout).strip() == "torch.float32 torch.float32"
    doc = result.document
    session = Session(doc)
    session.run()
    dtypes = {doc.nodes[n].label: str(session.value(n).dtype) for n in doc.nodes
              if session.value(n) is not None}
    assert dtypes["linear"] == "torch.bfloat16" and dtypes["mse_loss"] == "torch.float32"
    assert any(label.startswith("to") and d == "torch.bfloat16" for label, d in dtypes.items())


def test_cuda_bfloat16_autocast_without_cupy_bfloat16_is_torchs_error(fake_cuda, monkeypatch):  # noqa: F811
    """CuPy before 14 holds no bfloat16: autocast("cuda", dtype=bfloat16) then refuses as
    PyTorch does on a GPU without bfloat16."""
    monkeypatch.setattr(engine.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(RuntimeError, match="Current CUDA Device does not support bfloat16. "
                                           "Please switch dtype to float16."):
        autocast("cuda", dtype=engine.bfloat16)
    with autocast("cuda", dtype=engine.float16):
        assert (engine.ones(2, 2, device="cuda") @ engine.ones(2, 2, device="cuda")).dtype \
            is engine.float16
