"""`Rprop` (resilient backpropagation: per-element step sizes from gradient signs), step for
step as `torch.optim.Rprop` computes it."""
from __future__ import annotations

import engine
from engine.nn._arrays import array_of, mark_modified, namespace_of
from engine.optim.optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def step(self, closure=None):
        loss = self._evaluate(closure)
        for group in self.param_groups:
            (etaminus, etaplus), (smallest, largest) = group["etas"], group["step_sizes"]
            for p, x, g in self._params_with_grad(group):
                xp = namespace_of(x)
                state = self.state[p]
                if not state:
                    state["step"] = 0.0
                    state["prev"] = engine.zeros_like(p)
                    state["step_size"] = engine.full_like(p, group["lr"])
                if group["maximize"]:
                    g = -g
                state["step"] += 1
                prev, step_size = array_of(state["prev"]), array_of(state["step_size"])
                sign = xp.sign(g * prev)
                factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1)).astype(x.dtype)
                step_size *= factor
                xp.clip(step_size, smallest, largest, out=step_size)
                g = xp.where(factor == etaminus, 0, g).astype(x.dtype)
                x -= xp.sign(g) * step_size
                prev[...] = g
                mark_modified(p)
        return loss
