"""engine.nn.Module mechanics: registration, walking, state_dict, modes, hooks, repr, init."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import engine
import engine.nn as nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 1)
        self.scale = nn.Parameter(engine.ones(1))
        self.register_buffer("calls", engine.zeros(1))
        self.plain_attribute = 7

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_attributes_register_parameters_buffers_and_submodules_in_order():
    m = TwoLayer()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc1.weight", "fc1.bias",
                                                    "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_buffers()] == ["calls"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert m.plain_attribute == 7 and "plain_attribute" not in m._parameters
    assert len(list(m.parameters())) == 5 and len(list(m.parameters(recurse=False))) == 1


def test_shared_modules_and_parameters_are_listed_once():
    shared = nn.Linear(2, 2)
    m = nn.Sequential(shared, nn.Tanh(), shared)
    assert len(list(m.parameters())) == 2
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"]


def test_reassigning_and_deleting_attributes():
    m = TwoLayer()
    m.fc1 = nn.Identity()
    assert "fc1.weight" not in dict(m.named_parameters())
    with pytest.raises(TypeError, match="cannot assign 'int' as parameter 'scale'"):
        m.scale = 3
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    del m.fc2
    assert not hasattr(m, "fc2")
    with pytest.raises(AttributeError, match="'TwoLayer' object has no attribute 'nope'"):
        m.nope


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_state_dict_round_trip_and_strict_errors():
    a, b = TwoLayer(), TwoLayer()
    state = a.state_dict()
    assert list(state) == ["scale", "calls", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert not state["fc1.weight"].requires_grad
    b.load_state_dict(state)
    x = engine.randn(4, 2)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    del state["calls"]
    state["extra"] = engine.zeros(1)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        b.load_state_dict(state)
    result = b.load_state_dict(state, strict=False)
    assert result.missing_keys == ["calls"] and result.unexpected_keys == ["extra"]
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        b.load_state_dict({**a.state_dict(), "fc1.weight": engine.zeros(5, 5)})


def test_train_eval_zero_grad_requires_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout())
    m.eval()
    assert not m.training and not m[1].training
    m.train()
    assert m[1].training
    m(engine.randn(3, 2)).sum().backward()
    assert m[0].weight.grad is not None
    m.zero_grad()
    assert m[0].weight.grad is None
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_double_converts_parameters_and_keeps_them_parameters():
    m = nn.Linear(2, 2).double()
    assert m.weight.dtype == engine.float64 and isinstance(m.weight, nn.Parameter)
    assert m.weight.requires_grad and m.weight.is_leaf
    assert m.to(engine.float32).bias.dtype == engine.float32


def test_containers_index_slice_and_iterate():
    seq = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    assert isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    assert len(seq[:2]) == 2 and isinstance(seq[:2], nn.Sequential)
    named = nn.Sequential(OrderedDict([("first", nn.Tanh()), ("second", nn.ReLU())]))
    assert list(dict(named.named_children())) == ["first", "second"]
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    layers.append(nn.ReLU())
    assert len(layers) == 4 and len(list(layers.parameters())) == 6
    heads = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.Linear(1, 2)})
    assert list(heads) == ["a", "b"] and "a" in heads and len(list(heads.parameters())) == 4
    with pytest.raises(IndexError):
        seq[3]


def test_apply_visits_children_then_self():
    seen = []
    nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).apply(
        lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ------------------------------------------------------------------------------- printing
def test_repr_matches_pytorch_text():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(),
                          nn.Sequential(nn.Linear(3, 3), nn.Tanh()), nn.Linear(3, 1))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=3, bias=True)\n"
        "    (1): Tanh()\n"
        "  )\n"
        "  (3): Linear(in_features=3, out_features=1, bias=True)\n"
        ")")
    assert repr(nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])) == (
        "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (3): ReLU()\n)")


@pytest.mark.parametrize("make", [
    lambda nn: nn.Conv2d(1, 2, 3), lambda nn: nn.Conv2d(1, 2, 3, padding=1, bias=False),
    lambda nn: nn.MaxPool2d(2), lambda nn: nn.BatchNorm1d(3), lambda nn: nn.LayerNorm(4),
    lambda nn: nn.Embedding(3, 4), lambda nn: nn.Dropout(), lambda nn: nn.LeakyReLU(),
    lambda nn: nn.GELU(), lambda nn: nn.Softplus(), lambda nn: nn.Softmax(dim=1),
    lambda nn: nn.LogSoftmax(1), lambda nn: nn.Flatten(), lambda nn: nn.MSELoss(),
    lambda nn: nn.CrossEntropyLoss(), lambda nn: nn.ModuleDict({"a": nn.ReLU()}),
    lambda nn: nn.Linear(2, 1, bias=False),
])
def test_layer_repr_matches_pytorch(make):
    torch = pytest.importorskip("torch")
    assert repr(make(nn)) == repr(make(torch.nn))


def test_parameter_repr_and_identity():
    p = nn.Parameter(engine.tensor([1.0, 1.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    assert p.is_leaf and p.requires_grad and isinstance(p, engine.Tensor)
    assert not nn.Parameter(engine.zeros(1), requires_grad=False).requires_grad


# ----------------------------------------------------------------------------- initialisation
def test_linear_default_init_bounds_and_seeding():
    engine.manual_seed(0)
    a = nn.Linear(100, 50)
    engine.manual_seed(0)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    bound = 1 / math.sqrt(100)   # kaiming_uniform_(a=sqrt(5)) gives 1/sqrt(fan_in) too
    w = a.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(a.bias.detach().numpy()).max() <= bound
    assert a.weight.dtype == engine.float32


def test_init_functions_follow_pytorch_formulas():
    w = engine.empty(400, 300)
    nn.init.xavier_uniform_(w)
    assert abs(w.numpy().std() - math.sqrt(2 / 700)) < 0.002
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 300)) < 0.003
    nn.init.constant_(w, 0.5)
    assert np.all(w.numpy() == 0.5)
    assert nn.init.calculate_gain("tanh") == 5.0 / 3
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


# ---------------------------------------------------------------------------------- hooks
def test_forward_pre_hook_and_forward_hook_can_replace_values():
    m = nn.Linear(2, 2)
    seen = []
    pre = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    post = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape) or out + 1)
    out = m(engine.ones(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), m.bias.detach().numpy()[None] + 1)
    assert seen == [(1, 2)]
    pre.remove()
    post.remove()
    np.testing.assert_allclose(m(engine.zeros(1, 2)).detach().numpy(),
                               m.bias.detach().numpy()[None])


def test_full_backward_hook_sees_the_same_gradients_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 2))
    records = {}
    for lib, nnlib in ((torch, torch.nn), (engine, nn)):
        layer = nnlib.Linear(2, 4).double()
        if lib is engine:
            layer.load_state_dict({k: engine.tensor(v.numpy()) for k, v in theirs.items()})
        else:
            theirs = {k: v.detach() for k, v in layer.state_dict().items()}
        seen = []

        def hook(module, grad_input, grad_output):
            seen.append((grad_input[0].numpy().copy(), grad_output[0].numpy().copy()))
            return (grad_input[0] * 2,)
        layer.register_full_backward_hook(hook)
        xin = lib.tensor(x, requires_grad=True)
        (layer(xin) ** 2).sum().backward()
        records[lib.__name__] = (seen, xin.grad.numpy())
    (ours, our_grad), (theirs_seen, their_grad) = records["engine"], records["torch"]
    assert len(ours) == len(theirs_seen) == 1
    np.testing.assert_allclose(ours[0][0], theirs_seen[0][0])
    np.testing.assert_allclose(ours[0][1], theirs_seen[0][1])
    np.testing.assert_allclose(our_grad, their_grad)


def test_full_backward_hook_fires_with_none_when_input_needs_no_grad():
    m = nn.Linear(2, 1)
    seen = []
    m.register_full_backward_hook(lambda mod, gin, gout: seen.append((gin, gout[0].shape)))
    m(engine.ones(3, 2)).sum().backward()
    assert seen == [((None,), (3, 1))]


def test_zero_grad_without_set_to_none_zeroes_the_same_tensor():
    m = nn.Linear(2, 1)
    m(engine.ones(1, 2)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and not grad.numpy().any()


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    m = nn.Module()
    m.register_buffer("kept", engine.zeros(1))
    m.register_buffer("scratch", engine.zeros(1), persistent=False)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]


def test_load_state_dict_assign_replaces_the_parameters():
    m = nn.Linear(2, 1)
    new_weight = engine.tensor([[5.0, 6.0]])
    m.load_state_dict({"weight": new_weight, "bias": engine.zeros(1)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    np.testing.assert_array_equal(m.weight.detach().numpy(), [[5.0, 6.0]])


def test_sequential_delete_and_module_list_insert_renumber():
    seq = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
    del seq[0]
    assert [type(m).__name__ for m in seq] == ["Tanh", "Sigmoid"]
    assert list(seq._modules) == ["0", "1"]
    layers = nn.ModuleList([nn.ReLU(), nn.Sigmoid()])
    layers.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in layers] == ["ReLU", "Tanh", "Sigmoid"]


def test_embedding_from_pretrained_is_frozen_by_default():
    table = engine.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(engine.tensor([1, 0])).numpy(), [[3.0, 4.0], [1.0, 2.0]])


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(engine.zeros(1))


def test_to_keeps_the_parameter_objects_so_an_optimizer_still_holds_them():
    m = nn.Linear(2, 1)
    opt = engine.optim.SGD(m.parameters(), lr=0.1)
    weight = m.weight
    m(engine.ones(1, 2)).sum().backward()
    m.double()
    assert m.weight is weight and weight.dtype == engine.float64
    assert weight.grad.dtype == engine.float64
    opt.step()
    assert m(engine.ones(1, 2, dtype=engine.float64)).dtype == engine.float64


def test_full_backward_hook_grad_input_has_one_entry_per_positional_argument():
    torch = pytest.importorskip("torch")

    def record(lib):
        class Scale(lib.nn.Module):
            def forward(self, a, b, k=3.0):
                return a * b * k
        seen = []
        module = Scale()
        module.register_full_backward_hook(lambda m, gin, gout: seen.append(
            [None if g is None else g.numpy().tolist() for g in gin]))
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        module(a, lib.tensor([3.0, 4.0])).sum().backward()
        module(a, 5.0).sum().backward()
        return seen
    assert record(engine) == record(torch) == [[[9.0, 12.0], [0.0, 0.0]], [[15.0, 15.0], None]]


def test_global_module_hooks_run_before_the_modules_own_and_come_off_with_their_handle():
    from engine.nn.modules.module import (register_module_forward_hook,
                                          register_module_forward_pre_hook)
    seen = []
    net = engine.nn.Sequential(engine.nn.Linear(2, 2), engine.nn.ReLU())
    net[0].register_forward_pre_hook(lambda m, args: seen.append(("own pre", type(m).__name__)))
    pre = register_module_forward_pre_hook(lambda m, args: seen.append(("pre", type(m).__name__)))
    post = register_module_forward_hook(
        lambda m, args, out: seen.append(("post", type(m).__name__)))
    try:
        net(engine.ones(1, 2))
    finally:
        pre.remove()
        post.remove()
    assert seen == [("pre", "Sequential"), ("pre", "Linear"), ("own pre", "Linear"),
                    ("post", "Linear"), ("pre", "ReLU"), ("post", "ReLU"), ("post", "Sequential")]
    seen.clear()
    net(engine.ones(1, 2))
    assert seen == [("own pre", "Linear")]
