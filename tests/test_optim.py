"""engine.optim: parameter trajectories equal PyTorch's for 20 steps; schedulers; state."""
import numpy as np
import pytest

import engine
import engine.optim as optim

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 3))
TARGET = RNG.standard_normal((8, 2))
W0 = RNG.standard_normal((2, 3))
B0 = RNG.standard_normal(2)


def trajectory(lib, make_optimizer, steps=20, dtype="float64"):
    """Parameter values after each of `steps` optimizer steps on a small least-squares loss."""
    np_dtype = np.dtype(dtype)
    w = lib.tensor(W0.astype(np_dtype), requires_grad=True)
    b = lib.tensor(B0.astype(np_dtype), requires_grad=True)
    x, target = lib.tensor(X.astype(np_dtype)), lib.tensor(TARGET.astype(np_dtype))
    opt = make_optimizer(lib, [w, b])
    values = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x.matmul(w.t()) + b - target) ** 2).mean() + (w ** 4).sum() * 0.01
        loss.backward()
        opt.step()
        values.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(values)


CASES = {
    "sgd": lambda lib, p: lib.optim.SGD(p, lr=0.1),
    "sgd-momentum": lambda lib, p: lib.optim.SGD(p, lr=0.05, momentum=0.9),
    "sgd-dampening": lambda lib, p: lib.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.5),
    "sgd-nesterov": lambda lib, p: lib.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "sgd-weight-decay": lambda lib, p: lib.optim.SGD(p, lr=0.05, momentum=0.5,
                                                     weight_decay=0.1),
    "sgd-maximize": lambda lib, p: lib.optim.SGD(p, lr=0.01, maximize=True),
    "adam": lambda lib, p: lib.optim.Adam(p, lr=0.05),
    "adam-weight-decay": lambda lib, p: lib.optim.Adam(p, lr=0.05, betas=(0.8, 0.99),
                                                       weight_decay=0.1),
    "adam-amsgrad": lambda lib, p: lib.optim.Adam(p, lr=0.05, amsgrad=True),
    "adamw": lambda lib, p: lib.optim.AdamW(p, lr=0.05),
    "adamw-amsgrad": lambda lib, p: lib.optim.AdamW(p, lr=0.05, weight_decay=0.2, amsgrad=True),
    "rmsprop": lambda lib, p: lib.optim.RMSprop(p, lr=0.01),
    "rmsprop-centered": lambda lib, p: lib.optim.RMSprop(p, lr=0.01, centered=True),
    "rmsprop-momentum": lambda lib, p: lib.optim.RMSprop(p, lr=0.01, momentum=0.9,
                                                         weight_decay=0.1),
    "rmsprop-centered-momentum": lambda lib, p: lib.optim.RMSprop(p, lr=0.01, momentum=0.5,
                                                                  centered=True, alpha=0.9),
    "param-groups": lambda lib, p: lib.optim.SGD([{"params": [p[0]]},
                                                  {"params": [p[1]], "lr": 0.5}],
                                                 lr=0.05, momentum=0.9),
}


@pytest.mark.parametrize("name", CASES)
def test_trajectory_matches_pytorch_for_20_steps(name):
    ours = trajectory(engine, CASES[name])
    theirs = trajectory(torch, CASES[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ours[0], ours[-1])          # the parameters really moved


@pytest.mark.parametrize("name", ["sgd-nesterov", "adam", "rmsprop-centered"])
def test_float32_trajectory_matches_pytorch(name):
    ours = trajectory(engine, CASES[name], dtype="float32")
    theirs = trajectory(torch, CASES[name], dtype="float32")
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_zero_grad_sets_none_by_default_or_zeros():
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_parameters_without_grad_are_left_alone():
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    unused = engine.tensor([5.0], requires_grad=True)
    opt = optim.Adam([w, unused], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert unused.item() == 5.0 and unused not in opt.state


def test_state_dict_round_trip_continues_the_same_trajectory():
    def fresh():
        w = engine.tensor(W0.copy(), requires_grad=True)
        return w, optim.Adam([w], lr=0.05)

    def run(w, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((w - 1.0) ** 2).sum().backward()
            opt.step()

    w_a, opt_a = fresh()
    run(w_a, opt_a, 10)
    w_b, opt_b = fresh()
    with engine.no_grad():
        w_b.copy_(w_a)
    opt_b.load_state_dict(opt_a.state_dict())
    run(w_a, opt_a, 5)
    run(w_b, opt_b, 5)
    np.testing.assert_array_equal(w_a.detach().numpy(), w_b.detach().numpy())
    state = opt_a.state_dict()
    assert state["param_groups"][0]["params"] == [0] and state["state"][0]["step"] == 15


def test_bad_hyperparameters_and_inputs_are_refused():
    w = engine.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.SGD([w], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        optim.Adam([w], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(w, lr=0.1)


def test_optimizer_repr_lists_the_group_settings():
    w = engine.tensor([1.0], requires_grad=True)
    text = repr(optim.SGD([w], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text


# ------------------------------------------------------------------------- schedulers
SCHEDULERS = {
    "step": lambda lib, opt: lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    "exponential": lambda lib, opt: lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9),
    "cosine": lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5,
                                                                         eta_min=0.01),
    "multistep": lambda lib, opt: lib.optim.lr_scheduler.MultiStepLR(opt, [2, 5, 5, 9],
                                                                     gamma=0.5),
    "lambda": lambda lib, opt: lib.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.95 ** e + 0.1),
}


def lr_history(lib, make_scheduler, epochs=16):
    w = lib.tensor([1.0], requires_grad=True)
    opt = lib.optim.SGD([{"params": [w]}, {"params": [lib.tensor([2.0], requires_grad=True)],
                                           "lr": 0.3}], lr=0.1)
    scheduler = make_scheduler(lib, opt)
    history = [scheduler.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        history.append(scheduler.get_last_lr())
    return np.array(history)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_learning_rates_match_pytorch(name):
    np.testing.assert_allclose(lr_history(engine, SCHEDULERS[name]),
                               lr_history(torch, SCHEDULERS[name]), rtol=1e-12)


def test_global_optimizer_step_hooks_run_around_every_step_of_every_optimizer():
    from engine.optim.optimizer import (register_optimizer_step_post_hook,
                                        register_optimizer_step_pre_hook)
    w = engine.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def before(opt, args, kwargs):
        seen.append(("pre", type(opt).__name__, w.detach().tolist()))
        w.grad.mul_(0.5)                       # edits between backward and step count

    pre = register_optimizer_step_pre_hook(before)
    post = register_optimizer_step_post_hook(
        lambda opt, args, kwargs: seen.append(("post", type(opt).__name__, w.detach().tolist())))
    try:
        for opt in (engine.optim.SGD([w], lr=1.0), engine.optim.Adam([w], lr=0.1)):
            w.grad = None
            (w * w).sum().backward()
            opt.step()
    finally:
        pre.remove()
        post.remove()
    assert [s[:2] for s in seen] == [("pre", "SGD"), ("post", "SGD"), ("pre", "Adam"),
                                     ("post", "Adam")]
    assert seen[1][2] == [0.0, 0.0]            # 1 - 1.0 * (0.5 * 2 * 1), 2 - 2
