"""engine.autograd: reverse-mode automatic differentiation with PyTorch's API.

- `backward(tensors, grad_tensors, retain_graph, create_graph, inputs)` and
  `grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)`.
- `backward_steps(...)`: the backward pass as a lazy generator of `BackwardStep`s (one per
  executed node) for step-through debugging; `backward_plan(...)`: the node order it will use.
- grad modes (`no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode`), `Function`,
  `gradcheck`/`gradgradcheck`, `functional.jacobian`/`hessian`, `detect_anomaly`,
  `profiler.profile`/`record_function` (op times).
"""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode,
                        is_inference_mode_enabled)
from .graph import Node, AccumulateGrad, GraphRoot, RemovableHandle
from .engine import BackwardStep, backward_steps, backward_plan, backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled
from . import functional
from . import graph
from . import profiler

Variable = None  # set by engine/__init__ to Tensor (PyTorch's legacy alias)

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled", "GraphRoot", "RemovableHandle", "GradcheckError", "is_anomaly_enabled",
           "Node", "AccumulateGrad", "BackwardStep", "backward_steps", "backward_plan", "backward", "grad",
           "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck", "detect_anomaly",
           "set_detect_anomaly", "functional", "graph", "profiler"]
