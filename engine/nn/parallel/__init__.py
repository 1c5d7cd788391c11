"""`engine.nn.parallel`: `DataParallel` and the functional `data_parallel`. With one device (or
no CUDA) both run the module as it is, as PyTorch does without several GPUs."""
from engine.nn.modules.parallel import DataParallel

__all__ = ["DataParallel", "data_parallel"]


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """module(*inputs, **module_kwargs) on the inputs' device."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))
