"""`RMSprop` (plain or centered, with optional momentum), step for step as
`torch.optim.RMSprop` computes it."""
from __future__ import annotations

import engine
from engine.optim.optimizer import Optimizer
from engine.nn._arrays import array_of, mark_modified, namespace_of

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def step(self, closure=None):
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            weight_decay, momentum = group["weight_decay"], group["momentum"]
            for p, x, g in self._params_with_grad(group):
                xp = namespace_of(x)
                state = self.state[p]
                if not state:
                    state["step"] = 0.0
                    state["square_avg"] = engine.zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = engine.zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = engine.zeros_like(p)
                if group["maximize"]:
                    g = -g
                state["step"] += 1
                if weight_decay != 0:
                    g = g + weight_decay * x
                square_avg = array_of(state["square_avg"])
                square_avg *= alpha
                square_avg += (1 - alpha) * (g * g)
                if group["centered"]:
                    grad_avg = array_of(state["grad_avg"])
                    grad_avg += (1 - alpha) * (g - grad_avg)
                    avg = xp.sqrt(square_avg - grad_avg * grad_avg)
                else:
                    avg = xp.sqrt(square_avg)
                avg += eps
                if momentum > 0:
                    buf = array_of(state["momentum_buffer"])
                    buf *= momentum
                    buf += g / avg
                    x -= lr * buf
                else:
                    x -= lr * (g / avg)
                mark_modified(p)
        return loss
