"""`Optimizer`: parameter groups, per-parameter state, `zero_grad`, `state_dict`.

Subclasses implement `step` on the parameters' backing arrays (NumPy or CuPy, whichever
holds the parameter), updating them in place as PyTorch's optimizers do under no_grad.
"""
from __future__ import annotations

import copy
import functools
from collections import OrderedDict, defaultdict
from typing import Any, Callable

import engine
from engine.autograd.graph import RemovableHandle
from engine.nn._arrays import array_of, grad_array_of, zero_grads

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

# Hooks run around every optimizer's `step` (PyTorch's global optimizer hooks).
_global_optimizer_pre_hooks: OrderedDict = OrderedDict()
_global_optimizer_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """hook(optimizer, args, kwargs) -> None or (new args, new kwargs), run before every
    optimizer's `step`."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """hook(optimizer, args, kwargs) -> None, run after every optimizer's `step`."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _with_step_hooks(step: Callable) -> Callable:
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if not (_global_optimizer_pre_hooks or _global_optimizer_post_hooks):
            return step(self, *args, **kwargs)
        for hook in list(_global_optimizer_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                args, kwargs = result
        out = step(self, *args, **kwargs)
        for hook in list(_global_optimizer_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapper._step_hooks = True
    return wrapper


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds `param_groups` (list of dicts with "params" and hyper-parameters)
    and `state` (dict from parameter to its buffers)."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_step_hooks", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: dict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, engine.Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + type(params).__name__)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, engine.Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, engine.Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros in place."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        raise NotImplementedError

    def _params_with_grad(self, group: dict):
        """(parameter, its array, its gradient's array) for each parameter that has a grad."""
        for p in group["params"]:
            g = grad_array_of(p)
            if g is not None:
                yield p, array_of(p), g

    @staticmethod
    def _evaluate(closure):
        if closure is None:
            return None
        with engine.enable_grad():
            return closure()

    def state_dict(self) -> dict:
        """{"state": {index: buffers}, "param_groups": [{..., "params": [indices]}]}."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: {k: (v.clone() if isinstance(v, engine.Tensor) else v)
                                for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, saved in zip(self.param_groups, groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        self.state = defaultdict(dict)
        for mine, saved in zip(self.param_groups, groups):
            for p, i in zip(mine["params"], saved["params"]):
                if i in state_dict["state"]:
                    self.state[p] = {k: (v.clone().to(p.device) if isinstance(v, engine.Tensor)
                                         else copy.deepcopy(v))
                                     for k, v in state_dict["state"][i].items()}
            mine.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

