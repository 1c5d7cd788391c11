"""`Adamax` (Adam with an infinity-norm second moment), step for step as `torch.optim.Adamax`."""
from __future__ import annotations

import engine
from engine.nn._arrays import array_of, mark_modified, namespace_of
from engine.optim.optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def step(self, closure=None):
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p, x, g in self._params_with_grad(group):
                xp = namespace_of(x)
                state = self.state[p]
                if not state:
                    state["step"] = 0.0
                    state["exp_avg"] = engine.zeros_like(p)
                    state["exp_inf"] = engine.zeros_like(p)
                if group["maximize"]:
                    g = -g
                state["step"] += 1
                if wd != 0:
                    g = g + wd * x
                exp_avg, exp_inf = array_of(state["exp_avg"]), array_of(state["exp_inf"])
                exp_avg += (1 - beta1) * (g - exp_avg)
                exp_inf *= beta2
                xp.maximum(exp_inf, xp.abs(g) + eps, out=exp_inf)
                clr = lr / (1 - beta1 ** state["step"])
                x += -clr * (exp_avg / exp_inf)
                mark_modified(p)
        return loss
