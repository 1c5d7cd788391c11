"""engine.save / engine.load: PyTorch's zip format both ways, and weights_only as in PyTorch 2.6+."""
import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import engine
from engine import serialization


class Opaque:
    """A user object: allowed only with weights_only=False or add_safe_globals."""

    def __init__(self, value=1):
        self.value = value


ran = []


def _side_effect():
    ran.append(True)
    return "ran"


class Sneaky:
    def __reduce__(self):
        return (_side_effect, ())


def _roundtrip(obj, **kw):
    buf = io.BytesIO()
    engine.save(obj, buf)
    buf.seek(0)
    return engine.load(buf, **kw)


def test_state_dicts_optimizer_state_and_nested_containers_round_trip(tmp_path):
    engine.manual_seed(0)
    model = engine.nn.Sequential(engine.nn.Linear(3, 4), engine.nn.ReLU(), engine.nn.Linear(4, 2))
    opt = engine.optim.Adam(model.parameters(), lr=0.01)
    model(engine.randn(5, 3)).sum().backward()
    opt.step()
    obj = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3,
           "shape": engine.Size([2, 3]), "dtype": engine.float64, "where": engine.device("cpu"),
           "mixed": [engine.arange(6).reshape(2, 3).t(), (engine.tensor([True, False]),),
                     engine.zeros(0, 4), engine.tensor(2.5, dtype=engine.float64)]}
    engine.save(obj, tmp_path / "ckpt.pt")
    back = engine.load(tmp_path / "ckpt.pt")
    assert isinstance(back["model"], OrderedDict) and list(back["model"]) == list(obj["model"])
    for key, value in obj["model"].items():
        assert back["model"][key].dtype == value.dtype and engine.equal(back["model"][key], value)
    assert back["epoch"] == 3 and back["shape"] == engine.Size([2, 3])
    assert back["dtype"] is engine.float64 and back["where"] == engine.device("cpu")
    assert engine.equal(back["mixed"][0], obj["mixed"][0]) and back["mixed"][0].shape == (3, 2)
    assert back["mixed"][1][0].dtype == engine.bool and back["mixed"][2].shape == (0, 4)
    assert back["mixed"][3].dtype == engine.float64 and back["mixed"][3].item() == 2.5
    fresh = engine.optim.Adam(model.parameters(), lr=0.5)
    fresh.load_state_dict(back["opt"])
    assert fresh.param_groups[0]["lr"] == 0.01
    assert engine.equal(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_parameters_keep_their_class_and_requires_grad():
    p = engine.nn.Parameter(engine.randn(2, 2))
    back = _roundtrip({"p": p, "t": engine.ones(2, requires_grad=True)})
    assert type(back["p"]) is engine.nn.Parameter and back["p"].requires_grad
    assert back["t"].requires_grad and back["t"].is_leaf and engine.equal(back["p"], p)


def test_the_same_tensor_saved_twice_loads_as_one_object():
    t = engine.randn(3)
    back = _roundtrip([t, t])
    assert back[0] is back[1]


def test_weights_only_refuses_other_globals_with_torchs_message_and_runs_nothing():
    buf = io.BytesIO()
    engine.save({"x": Opaque(), "w": engine.ones(2)}, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError) as err:
        engine.load(buf)
    text = str(err.value)
    assert text.startswith("Weights only load failed.")
    assert f"GLOBAL {__name__}.Opaque was not an allowed global by default" in text
    assert f"torch.serialization.add_safe_globals([{__name__}.Opaque])" in text
    ran.clear()
    buf = io.BytesIO()
    engine.save(Sneaky(), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="_side_effect was not an allowed global"):
        engine.load(buf)
    assert ran == []
    buf.seek(0)
    assert engine.load(buf, weights_only=False) == "ran" and ran == [True]


def test_safe_globals_and_weights_only_false():
    obj = {"x": Opaque(7)}
    with serialization.safe_globals([Opaque]):
        assert _roundtrip(obj)["x"].value == 7
    assert serialization.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        _roundtrip(obj)
    assert _roundtrip(obj, weights_only=False)["x"].value == 7
    serialization.add_safe_globals([Opaque])
    try:
        assert _roundtrip(obj)["x"].value == 7
    finally:
        serialization.clear_safe_globals()


def test_engine_files_load_in_torch(tmp_path):
    torch = pytest.importorskip("torch")
    engine.manual_seed(1)
    model = engine.nn.Linear(3, 2)
    state = {"model": model.state_dict(), "idx": engine.arange(5)[1::2], "flag": engine.tensor([True]),
             "half": engine.ones(3, dtype=engine.float16), "p": model.weight, "size": engine.Size([4])}
    engine.save(state, tmp_path / "e.pt")
    got = torch.load(tmp_path / "e.pt")
    twin = torch.nn.Linear(3, 2)
    twin.load_state_dict(got["model"])
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(),
                               model(engine.from_numpy(x)).detach().numpy(), rtol=1e-6)
    assert got["idx"].tolist() == [1, 3] and got["idx"].dtype == torch.int64
    assert got["flag"].dtype == torch.bool and got["half"].dtype == torch.float16
    assert isinstance(got["p"], torch.nn.Parameter) and got["size"] == torch.Size([4])


def test_torch_files_load_here(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    base = torch.arange(12.0).reshape(3, 4)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 3)).sum().backward()
    opt.step()
    torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "view": base[:, 1:3],
                "again": base, "ints": torch.tensor([[1, 2], [3, 4]], dtype=torch.int32).t(),
                "p": torch.nn.Parameter(torch.ones(2)), "size": torch.Size([3]),
                "dtype": torch.float16}, tmp_path / "t.pt")
    got = engine.load(tmp_path / "t.pt")
    mine = engine.nn.Sequential(engine.nn.Linear(3, 5), engine.nn.Tanh(), engine.nn.Linear(5, 1))
    mine.load_state_dict(got["net"])
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(mine(engine.from_numpy(x)).detach().numpy(),
                               net(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(got["view"].numpy(), base[:, 1:3].numpy())
    np.testing.assert_array_equal(got["again"].numpy(), base.numpy())
    assert got["ints"].dtype == engine.int32 and got["ints"].tolist() == [[1, 3], [2, 4]]
    assert type(got["p"]) is engine.nn.Parameter and got["size"] == engine.Size([3])
    assert got["dtype"] is engine.float16
    assert engine.equal(got["opt"]["state"][0]["momentum_buffer"],
                        engine.from_numpy(opt.state_dict()["state"][0]["momentum_buffer"].numpy()))


def test_same_refusal_message_as_torch_on_a_torch_file(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"x": Opaque()}, tmp_path / "o.pt")
    with pytest.raises(pickle.UnpicklingError) as expected:
        torch.load(tmp_path / "o.pt")
    with pytest.raises(pickle.UnpicklingError) as got:
        engine.load(tmp_path / "o.pt")
    assert str(got.value) == str(expected.value)
    assert engine.load(tmp_path / "o.pt", weights_only=False)["x"].value == 1


def test_map_location_forms():
    t = engine.arange(4.0)
    for where in ("cpu", engine.device("cpu"), {"cpu": "cpu"}, lambda storage, loc: storage):
        back = _roundtrip(t, map_location=where)
        assert back.device.type == "cpu" and engine.equal(back, t)


def test_not_a_zip_file_is_a_clear_error():
    with pytest.raises(RuntimeError, match="not a zip archive"):
        engine.load(io.BytesIO(b"not a checkpoint"))
