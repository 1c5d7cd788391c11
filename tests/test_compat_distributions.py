"""engine.distributions against torch.distributions: samples under one seed, log_prob,
entropy, KL, and gradients through rsample / log_prob."""
import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")


def _make(lib, name):
    D, t = lib.distributions, lib.tensor
    return {
        "normal": lambda: D.Normal(t([0.0, 1.0], requires_grad=True), t([1.0, 2.0])),
        "uniform": lambda: D.Uniform(t([0.0, -1.0]), t([2.0, 3.0])),
        "bernoulli": lambda: D.Bernoulli(t([0.3, 0.9])),
        "bernoulli-logits": lambda: D.Bernoulli(logits=t([0.2, -1.5])),
        "categorical": lambda: D.Categorical(t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        "categorical-logits": lambda: D.Categorical(logits=t([[1.0, -2.0, 0.5]])),
    }[name]()


@pytest.mark.parametrize("name,value", [("normal", [0.5, -0.5]), ("uniform", [1.0, 2.5]),
                                        ("bernoulli", [1.0, 0.0]), ("bernoulli-logits", [0.0, 1.0]),
                                        ("categorical", [2, 0]), ("categorical-logits", [1])])
def test_log_prob_entropy_and_moments_match_torch(name, value):
    got, want = _make(engine, name), _make(torch, name)
    for what in ("log_prob", "entropy", "mean", "variance"):
        if what in ("mean", "variance") and name.startswith("categorical"):   # nan in both
            continue
        args = (engine.tensor(value),) if what == "log_prob" else ()
        targs = (torch.tensor(value),) if what == "log_prob" else ()
        g = getattr(got, what)
        w = getattr(want, what)
        g, w = (g(*args), w(*targs)) if callable(g) else (g, w)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-6, err_msg=what)
    assert got.batch_shape == want.batch_shape


@pytest.mark.parametrize("name", ["normal", "uniform", "bernoulli", "categorical",
                                  "categorical-logits"])
def test_samples_match_torch_under_a_seed(name):
    draws = []
    for lib in (engine, torch):
        lib.manual_seed(7)
        d = _make(lib, name)
        draws.append([d.sample().numpy(), d.sample((3,)).numpy()])
    for a, b in zip(*draws):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_rsample_and_log_prob_gradients_match_torch():
    grads = []
    for lib in (engine, torch):
        lib.manual_seed(1)
        loc = lib.tensor([0.3, -0.2], requires_grad=True)
        scale = lib.tensor([1.5, 0.5], requires_grad=True)
        d = lib.distributions.Normal(loc, scale)
        (d.rsample((4,)).sum() + d.log_prob(lib.tensor([0.1, 0.2])).sum() + d.entropy().sum()).backward()
        grads.append((loc.grad.numpy(), scale.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_kl_divergence_matches_torch():
    for p, q in (("normal", "normal"), ("categorical", "categorical"), ("bernoulli", "bernoulli-logits")):
        got = engine.distributions.kl_divergence(_make(engine, p), _make(engine, q))
        want = torch.distributions.kl_divergence(_make(torch, p), _make(torch, q))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)


def test_categorical_samples_follow_the_probabilities():
    engine.manual_seed(0)
    d = engine.distributions.Categorical(engine.tensor([0.0, 0.25, 0.75]))
    counts = np.bincount(d.sample((4000,)).numpy(), minlength=3)
    assert counts[0] == 0 and 2.5 < counts[2] / counts[1] < 3.5
    assert d.sample().shape == () and d.sample((2, 5)).shape == (2, 5)
