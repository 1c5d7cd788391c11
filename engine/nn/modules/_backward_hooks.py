"""Module full backward hooks: identity nodes around a module call, as PyTorch's
BackwardHook does. The node on the outputs records grad_output; the node on the inputs
receives grad_input, calls the hooks with both, and passes on what they return."""
from __future__ import annotations

import engine
from engine.autograd import Function

__all__ = ["call_with_backward_hooks"]


class BackwardHookFunction(Function):
    """Identity on several tensors; its backward hands all their gradients to `on_backward`."""

    @staticmethod
    def forward(ctx, on_backward, *tensors):
        ctx.on_backward = on_backward
        outputs = tuple(t.detach() for t in tensors)
        ctx.mark_non_differentiable(*(o for o, t in zip(outputs, tensors) if not t.requires_grad))
        return outputs if len(outputs) > 1 else outputs[0]

    @staticmethod
    def backward(ctx, *grads):
        replaced = ctx.on_backward(grads)
        return (None,) + tuple(replaced if replaced is not None else grads)


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def call_with_backward_hooks(module, args: tuple, kwargs: dict):
    """Run `module.forward(*args, **kwargs)` so that its full backward hooks fire in backward.
    grad_input has one entry per positional argument, as in PyTorch: the gradient for a
    tensor (zeros when that tensor needs none), None for anything else."""
    tensor_positions = [i for i, a in enumerate(args) if isinstance(a, engine.Tensor)]
    inputs_need_grad = any(args[i].requires_grad for i in tensor_positions)
    state = {"grad_output": None}

    def run_hooks(grad_input):
        grad_input = tuple(grad_input)
        for hook in list(module._backward_hooks.values()):
            result = hook(module, grad_input, state["grad_output"])
            if result is not None:
                result = _as_tuple(result)
                if len(result) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(result)}, but expected {len(grad_input)}")
                grad_input = result
        return grad_input

    def on_input_grads(grads):
        per_arg = [None] * len(args)
        for i, g in zip(tensor_positions, grads):
            per_arg[i] = g
        per_arg = run_hooks(per_arg)
        return tuple(per_arg[i] for i in tensor_positions)

    if inputs_need_grad:
        wrapped = _as_tuple(BackwardHookFunction.apply(on_input_grads,
                                                       *(args[i] for i in tensor_positions)))
        args = list(args)
        for i, t in zip(tensor_positions, wrapped):
            args[i] = t
        args = tuple(args)

    output = module.forward(*args, **kwargs)
    outputs = _as_tuple(output)
    out_positions = [i for i, o in enumerate(outputs)
                     if isinstance(o, engine.Tensor) and o.requires_grad]
    if not out_positions:
        return output

    def record_grad_output(grads):
        state["grad_output"] = tuple(grads)
        if not inputs_need_grad:     # nothing flows into the inputs: fire now, as PyTorch does
            run_hooks((None,) * len(args))
        return None

    hooked = _as_tuple(BackwardHookFunction.apply(record_grad_output,
                                                  *(outputs[i] for i in out_positions)))
    outputs = list(outputs)
    for i, t in zip(out_positions, hooked):
        outputs[i] = t
    return tuple(outputs) if isinstance(output, tuple) else outputs[0]
