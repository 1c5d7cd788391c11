"""`DataParallel`: on one device (or none with CUDA) it runs the wrapped module as it is, as
PyTorch does without several GPUs; state_dict keys gain the `module.` prefix."""
from __future__ import annotations

from engine.nn.modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module = module
        self.device_ids = [] if device_ids is None else list(device_ids)
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
