"""`Adagrad`, step for step as `torch.optim.Adagrad` computes it."""
from __future__ import annotations

import engine
from engine.nn._arrays import array_of, mark_modified, namespace_of
from engine.optim.optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Each parameter's step is divided by the root of its summed squared gradients."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay),
                            ("weight_decay value", weight_decay),
                            ("initial_accumulator_value value", initial_accumulator_value),
                            ("epsilon value", eps)):
            if not 0.0 <= value:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        for group in self.param_groups:             # PyTorch makes the state up front
            for p in group["params"]:
                self.state[p] = {"step": 0.0,
                                 "sum": engine.full_like(p, group["initial_accumulator_value"])}

    def step(self, closure=None):
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, lr_decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
            for p, x, g in self._params_with_grad(group):
                state = self.state[p]
                state["step"] += 1
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    g = g + wd * x
                clr = lr / (1 + (state["step"] - 1) * lr_decay)
                total = array_of(state["sum"])
                total += g * g
                std = namespace_of(x).sqrt(total)
                std += eps
                x += -clr * (g / std)
                mark_modified(p)
        return loss
