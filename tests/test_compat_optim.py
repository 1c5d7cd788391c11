"""Adagrad, Adadelta, Adamax, NAdam, LBFGS and the schedulers PyTorch programs use, step for
step against torch (same parameters, same gradients, same learning-rate sequences)."""
import warnings

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")


def _problem(lib, seed=0):
    rng = np.random.default_rng(seed)
    w = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = lib.tensor(rng.standard_normal(4), requires_grad=True)
    x = lib.tensor(rng.standard_normal((5, 3)))
    y = lib.tensor(rng.standard_normal((5, 4)))
    return [w, b], lambda: (((x @ w + b).tanh() - y) ** 2).sum() + (w ** 4).sum() * 0.01


def _run(lib, name, kwargs, steps=6):
    params, loss_fn = _problem(lib)
    opt = getattr(lib.optim, name)(params, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()
    return [p.detach().numpy() for p in params], opt


@pytest.mark.parametrize("name,kwargs", [
    ("Adagrad", {}), ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                      initial_accumulator_value=0.5, maximize=True)),
    ("Adadelta", {}), ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.05)),
    ("Adamax", {}), ("Adamax", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    ("NAdam", {}), ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", {}), ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", {}), ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
])
def test_optimizer_steps_match_torch(name, kwargs):
    steps = 12 if name == "RAdam" else 6            # RAdam rectifies only after step 5
    got, opt = _run(engine, name, kwargs, steps)
    want, topt = _run(torch, name, kwargs, steps)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    assert repr(opt) == repr(topt)
    tstate = topt.state_dict()["state"][0]
    for key, value in opt.state_dict()["state"][0].items():
        expected = tstate[key]
        expected = expected.numpy() if isinstance(expected, torch.Tensor) else expected
        np.testing.assert_allclose(np.asarray(value.numpy() if isinstance(value, engine.Tensor)
                                              else value), expected, rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.5, history_size=3, max_iter=7),
                                    dict(line_search_fn="strong_wolfe"),
                                    dict(line_search_fn="strong_wolfe", max_iter=30, history_size=4)])
def test_lbfgs_matches_torch(kwargs):
    results = []
    for lib in (engine, torch):
        params, loss_fn = _problem(lib, seed=1)
        opt = lib.optim.LBFGS(params, **kwargs)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss
        losses = [float(opt.step(closure)) for _ in range(3)]
        state = opt.state[params[0]]
        results.append((losses, [p.detach().numpy() for p in params], state["func_evals"],
                        state["n_iter"]))
    (l1, p1, e1, n1), (l2, p2, e2, n2) = results
    np.testing.assert_allclose(l1, l2, rtol=1e-9)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    assert (e1, n1) == (e2, n2)


def test_lbfgs_needs_one_group_and_a_closure():
    p = engine.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        engine.optim.LBFGS([{"params": [p]}, {"params": [engine.zeros(1, requires_grad=True)]}])


def _lrs(lib, make, steps=25, metric=None, kind="SGD"):
    p = lib.zeros(2, requires_grad=True)
    opt = (lib.optim.SGD([p], lr=0.1, momentum=0.9) if kind == "SGD"
           else lib.optim.Adam([p], lr=0.1))
    sched = make(lib, opt)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            opt.step()
            if metric is None:
                sched.step()
            else:
                sched.step(metric(i))
            group = opt.param_groups[0]
            seen.append((sched.get_last_lr()[0], group["lr"], group.get("momentum"),
                         group.get("betas")))
    return seen


S = [
    lambda lib, opt: lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=4),
    lambda lib, opt: lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2,
                                                                          eta_min=0.001),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=25),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=5, steps_per_epoch=5,
                                                       anneal_strategy="linear", three_phase=True),
    lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [
        lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5),
        lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10),
        lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)], milestones=[5, 12]),
    lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([
        lib.optim.lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=2),
        lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)]),
    lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [
        lib.optim.lr_scheduler.StepLR(opt, 3, 0.5),
        lib.optim.lr_scheduler.MultiStepLR(opt, [2, 4], 0.5)], milestones=[7]),
    lambda lib, opt: lib.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.9 + 0.01 * e),
    lambda lib, opt: lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=10, power=2.0),
    lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=4),
    lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, step_size_down=5,
                                                     mode="triangular2"),
    lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, mode="exp_range",
                                                     gamma=0.9),
    lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(opt, [
        lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3),
        lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=8)], milestones=[4]),
]


@pytest.mark.parametrize("i", range(len(S)))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_scheduler_sequences_match_torch(i, kind):
    got, want = _lrs(engine, S[i], kind=kind), _lrs(torch, S[i], kind=kind)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g[:2], w[:2], rtol=1e-12)
        assert (g[2] is None) == (w[2] is None) and (g[3] is None) == (w[3] is None)
        if g[2] is not None:
            np.testing.assert_allclose(g[2], w[2], rtol=1e-12)
        if g[3] is not None:
            np.testing.assert_allclose(g[3], w[3], rtol=1e-12)


@pytest.mark.parametrize("kwargs", [dict(patience=2), dict(mode="max", factor=0.5, patience=1,
                                                             cooldown=2, min_lr=0.02),
                                    dict(threshold_mode="abs", threshold=0.1, patience=0)])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metric = lambda i: [5, 4, 4.1, 4.05, 4, 3.99, 3.98, 4.5, 3, 3, 3, 2.9][i % 12]  # noqa: E731
    make = lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)  # noqa: E731
    assert _lrs(engine, make, metric=metric) == _lrs(torch, make, metric=metric)


def test_scheduler_argument_errors_match_torch():
    from tests.torch_compare import same_error

    def opt(lib):
        return lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1)
    same_error(lambda lib: lib.optim.lr_scheduler.LinearLR(opt(lib), start_factor=0))
    same_error(lambda lib: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt(lib), T_0=0))
    same_error(lambda lib: lib.optim.lr_scheduler.OneCycleLR(opt(lib), max_lr=1.0))
    same_error(lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(opt(lib), factor=1.0))
    same_error(lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.Adagrad(
        [lib.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=3))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
                                  "NAdam", "RAdam", "Rprop", "LBFGS"])
def test_param_groups_hold_torchs_keys_and_defaults(name):
    groups = []
    for lib in (engine, torch):
        p = lib.nn.Parameter(lib.ones(1))
        opt = getattr(lib.optim, name)([p], lr=0.1) if name != "LBFGS" else lib.optim.LBFGS([p])
        groups.append(repr({k: v for k, v in opt.param_groups[0].items() if k != "params"}))
        groups.append(repr(opt))
    assert groups[0] == groups[2] and groups[1] == groups[3]
