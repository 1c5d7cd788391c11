"""Gradient hooks as data: the safe built-ins a node's output may carry, and their checks.

A document never stores code. A hook is a small dict naming one built-in and its numbers,
kept in `Node.hooks` and written to the file as the node's "hooks" list:

    {"kind": "scale", "k": 10.0}                 grad * k
    {"kind": "clamp", "min": -1.0, "max": 1.0}   grad clamped to [min, max]
    {"kind": "zero"}                             zeros_like(grad)
    {"kind": "normalize"}                        grad / ||grad|| (unchanged when the norm is 0)
    {"kind": "log"}                              reports shape and norm; grad unchanged

Each may also name the output "port" it hooks (default "out"). The runtime registers
them with `tensor.register_hook(fn)` in the order listed, so they compose like PyTorch's.
`check_hooks` validates a list (the document's mutator and the file loader use it);
`hook_function` builds the callable for an engine passed in (this layer imports no engine).
"""
from __future__ import annotations

import math
from typing import Any, Callable

# kind -> its numeric parameters with defaults, in the order a menu asks for them
HOOK_KINDS: dict[str, dict[str, float]] = {
    "scale": {"k": 10.0},
    "clamp": {"min": -1.0, "max": 1.0},
    "zero": {},
    "normalize": {},
    "log": {},
}
MAX_HOOKS = 16


def make_hook(kind: str, port: str = "out", **numbers: float) -> dict:
    """A hook dict with defaults filled in, e.g. make_hook("scale", k=10.0)."""
    if kind not in HOOK_KINDS:
        raise ValueError(f"unknown hook '{kind}' (known: {', '.join(HOOK_KINDS)})")
    hook: dict[str, Any] = {"kind": kind, **HOOK_KINDS[kind]}
    hook.update({name: float(value) for name, value in numbers.items()})
    if port != "out":
        hook["port"] = port
    return hook


def check_hook(hook: Any, outputs: tuple[str, ...] = ("out",)) -> str | None:
    """None when `hook` is a valid hook for a node with these output ports, else why not."""
    if not isinstance(hook, dict):
        return "a hook must be an object such as {\"kind\": \"scale\", \"k\": 10}"
    kind = hook.get("kind")
    if kind not in HOOK_KINDS:
        return f"unknown hook kind {kind!r:.40} (known: {', '.join(HOOK_KINDS)})"
    allowed = set(HOOK_KINDS[kind]) | {"kind", "port"}
    for key in hook:
        if key not in allowed:
            return f"a {kind} hook has no field {key!r:.40}"
    for name in HOOK_KINDS[kind]:
        value = hook.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            return f"{kind}.{name} must be a finite number"
    if kind == "clamp" and hook["min"] > hook["max"]:
        return f"clamp needs min <= max, got [{hook['min']}, {hook['max']}]"
    port = hook.get("port", "out")
    if port not in outputs:
        return f"no output port {port!r:.40} to hook"
    return None


def check_hooks(hooks: Any, outputs: tuple[str, ...] = ("out",)) -> str | None:
    """None when `hooks` is a valid list of hooks, else the first problem ("hooks[1]: ...")."""
    if not isinstance(hooks, list):
        return "hooks must be a list"
    if len(hooks) > MAX_HOOKS:
        return f"at most {MAX_HOOKS} hooks per node"
    for i, hook in enumerate(hooks):
        problem = check_hook(hook, outputs)
        if problem:
            return f"hooks[{i}]: {problem}"
    return None


def describe(hook: dict) -> str:
    """A short name for menus and the canvas: "scale ×10", "clamp [-1, 1]", "zero"."""
    kind = hook["kind"]
    if kind == "scale":
        text = f"scale ×{hook['k']:g}"
    elif kind == "clamp":
        text = f"clamp [{hook['min']:g}, {hook['max']:g}]"
    else:
        text = kind
    port = hook.get("port", "out")
    return text if port == "out" else f"{text} on {port}"


def hook_function(engine: Any, hook: dict, name: str,
                  log: Callable[[str], None]) -> Callable[[Any], Any]:
    """The callable `tensor.register_hook` gets for one hook; `name` labels log lines."""
    kind = hook["kind"]

    def grad_hook(grad):
        if kind == "scale":
            return grad * float(hook["k"])
        if kind == "clamp":
            return grad.clamp(min=float(hook["min"]), max=float(hook["max"]))
        if kind == "zero":
            return engine.zeros_like(grad)
        norm = float(grad.detach().norm().item())
        if kind == "normalize":
            return grad / norm if norm > 0 else None
        shape = tuple(int(n) for n in grad.shape)
        value = f" value {float(grad.item()):.6g}" if grad.numel() == 1 else ""
        log(f"hook on {name}: grad shape {shape} norm {norm:.6g}{value}")
        return None

    grad_hook.__name__ = f"{describe(hook)} on {name}"
    return grad_hook
