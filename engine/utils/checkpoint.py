"""`checkpoint(fn, *args)`: run `fn` without keeping its intermediate activations, and run it
again during backward to get them, trading compute for memory. Gradients equal a plain call's.

The parameters `fn` uses are found from `fn` itself (a Module, a bound method of one, a
functools.partial, or closure variables holding modules or tensors) and become inputs of
the checkpoint node, so `autograd.grad` reaches them too. A leaf that only the recomputed
graph reveals still gets its `.grad` accumulated during backward (PyTorch's reentrant
behaviour). The RNG state and the autocast settings are restored for the recomputation,
so dropout masks and float16 casts repeat.
"""
from __future__ import annotations

import contextlib
import functools

import engine
from engine.amp import active_autocasts
from engine import _random
from engine.autograd import Function

__all__ = ["checkpoint", "checkpoint_sequential"]


def _captured_tensors(fn, seen=None) -> list:
    """Tensors requiring grad that `fn` reaches through the usual ways of binding them."""
    from engine.nn import Module
    seen = set() if seen is None else seen
    found = []

    def visit(obj):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, engine.Tensor):
            if obj.requires_grad and obj.is_leaf:
                found.append(obj)
        elif isinstance(obj, Module):
            params = list(obj.parameters())
            found.extend(p for p in params if p.requires_grad and id(p) not in seen)
            seen.update(id(p) for p in params)
        elif isinstance(obj, functools.partial):
            visit(obj.func)
            for a in list(obj.args) + list(obj.keywords.values()):
                visit(a)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
        elif callable(obj):
            if hasattr(obj, "__self__"):
                visit(obj.__self__)
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    visit(cell.cell_contents)
                except ValueError:        # an empty cell
                    pass
    visit(fn)
    return found


def _graph_leaves(outputs) -> list:
    """Leaf tensors requiring grad that the graph behind `outputs` accumulates into."""
    leaves, seen = [], set()
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.append(variable)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return leaves


def _rng_state(tensors=()):
    """The CPU generator's state and the cuda generators' (those of `tensors`' devices among them)."""
    return engine.get_rng_state(), _random.cuda_default_states(tensors)


def _set_rng_state(state):
    engine.set_rng_state(state[0])
    _random.set_cuda_default_states(state[1])


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run, n_args, *inputs):
        ctx.run, ctx.n_args = run, n_args
        ctx.rng_state = _rng_state(inputs) if run.preserve_rng_state else None
        ctx.autocasts = active_autocasts()
        ctx.save_for_backward(*inputs)
        with engine.no_grad():
            outputs = run()
        ctx.single = isinstance(outputs, engine.Tensor)
        outputs = (outputs,) if ctx.single else tuple(outputs)
        if not all(isinstance(o, engine.Tensor) for o in outputs):
            raise TypeError("checkpoint: the function must return a tensor or a tuple of tensors")
        return outputs[0].detach() if ctx.single else tuple(o.detach() for o in outputs)

    @staticmethod
    def backward(ctx, *grad_outputs):
        saved = ctx.saved_tensors
        args, captured = saved[:ctx.n_args], saved[ctx.n_args:]
        detached = [a.detach().requires_grad_(a.requires_grad) for a in args]
        current_rng = _rng_state() if ctx.rng_state is not None else None
        if ctx.rng_state is not None:
            _set_rng_state(ctx.rng_state)
        try:
            with engine.enable_grad(), contextlib.ExitStack() as autocasts:
                for setting in ctx.autocasts:           # recompute as the forward ran
                    autocasts.enter_context(setting)
                outputs = ctx.run(detached)
        finally:
            if current_rng is not None:
                _set_rng_state(current_rng)
        outputs = (outputs,) if isinstance(outputs, engine.Tensor) else tuple(outputs)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if o.requires_grad and g is not None]
        wrt = [t for t in list(detached) + list(captured) if t.requires_grad]
        known = {id(t) for t in wrt}
        extra = [leaf for leaf in _graph_leaves([o for o, _ in pairs]) if id(leaf) not in known]
        grads = {}
        if pairs and wrt:
            values = engine.autograd.grad([o for o, _ in pairs], wrt, [g for _, g in pairs],
                                          retain_graph=bool(extra), allow_unused=True,
                                          create_graph=engine.is_grad_enabled())
            grads = {id(t): g for t, g in zip(wrt, values)}
        if pairs and extra:
            engine.autograd.backward([o for o, _ in pairs], [g for _, g in pairs], inputs=extra)
        return (None, None) + tuple(grads.get(id(t)) for t in list(detached) + list(captured))


class _Run:
    """The call to replay: `fn(*args, **kwargs)` with the tensor args swappable."""

    def __init__(self, function, args, kwargs, preserve_rng_state):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.preserve_rng_state = preserve_rng_state
        self.tensor_positions = [i for i, a in enumerate(args) if isinstance(a, engine.Tensor)]

    def __call__(self, tensors=None):
        args = list(self.args)
        if tensors is not None:
            for i, t in zip(self.tensor_positions, tensors):
                args[i] = t
        return self.function(*args, **self.kwargs)


def checkpoint(function, *args, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, **kwargs):
    """`function(*args, **kwargs)`, recomputed in backward instead of storing activations.
    `use_reentrant` is accepted for PyTorch compatibility; both settings behave the same."""
    if not engine.is_grad_enabled():
        return function(*args, **kwargs)
    run = _Run(function, args, kwargs, preserve_rng_state)
    tensors = [args[i] for i in run.tensor_positions]
    captured = [t for t in _captured_tensors(function) if all(t is not a for a in tensors)]
    return CheckpointFunction.apply(run, len(tensors), *tensors, *captured)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          preserve_rng_state: bool = True):
    """Run a Sequential (or a list of modules) as `segments` parts; all but the last part
    are checkpointed, as in PyTorch."""
    from engine.nn import Module, Sequential
    modules = list(functions.children()) if isinstance(functions, Module) else list(functions)
    size = max(1, len(modules) // segments)
    start = 0
    for _ in range(segments - 1):
        if start + size >= len(modules):
            break
        input = checkpoint(Sequential(*modules[start:start + size]), input,
                           preserve_rng_state=preserve_rng_state)
        start += size
    for module in modules[start:]:
        input = module(input)
    return input
