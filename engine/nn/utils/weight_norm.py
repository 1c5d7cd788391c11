"""`weight_norm` / `remove_weight_norm` (PyTorch's original, deprecated API): a module's weight
becomes g * v / ||v|| with the norm over every dim but `dim`, from two parameters `<name>_g` and
`<name>_v`, recomputed before each forward. With dim 0 or the last dim the product is one node,
WeightNormInterfaceBackward0, as PyTorch's fused kernel records it; otherwise ordinary ops."""
from __future__ import annotations

import engine
from engine._warnings import warn
from engine.autograd import Function
from engine.nn._arrays import name_node
from engine.nn.parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm"]


def norm_except_dim(v, pow: float = 2, dim: int = 0):
    """The `pow`-norm of v over every dim but `dim` (all of them for dim=-1), kept broadcastable."""
    if dim == -1:
        return v.norm(pow)
    dims = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=dims, keepdim=True) if dims else v.abs()


class _WeightNormInterface(Function):
    @staticmethod
    def forward(ctx, v, g, dim):
        ctx.save_for_backward(v, g)
        ctx.dim = dim
        return v * (g / norm_except_dim(v, 2, dim))

    @staticmethod
    def backward(ctx, grad):
        v, g = ctx.saved_tensors
        norms = norm_except_dim(v, 2, ctx.dim)      # from v here, so a second derivative sees it
        dims = tuple(d for d in range(v.ndim) if d != ctx.dim)
        dot = (grad * v).sum(dims, keepdim=True) if dims else grad * v
        grad_g = dot / norms
        grad_v = (g / norms) * (grad - v * (dot / (norms * norms)))
        return grad_v, grad_g, None


name_node(_WeightNormInterface, "WeightNormInterfaceBackward0",
          "v: g/||v|| (grad - v (grad.v)/||v||^2), g: (grad.v)/||v||")


def _weight_norm(v, g, dim):
    if dim in (0, v.ndim - 1) and v.ndim > 0:
        return _WeightNormInterface.apply(v, g, dim)
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that recomputes `name` from `name_g` and `name_v`."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module):
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"),
                            self.dim)

    @staticmethod
    def apply(module, name: str, dim: int):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter "
                                   f"{name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, fn.dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module) -> None:
        with engine.no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name: str = "weight", dim: int = 0):
    """Reparametrize `module.<name>` as g * v / ||v|| (deprecated in PyTorch, as here)."""
    warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
         "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name: str = "weight"):
    """Fold the reparametrization back into one parameter `module.<name>`."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
