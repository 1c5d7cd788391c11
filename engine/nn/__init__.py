"""`engine.nn`: modules, parameters, layers, losses, `functional`, `init` and `utils`,
with torch.nn's names and behaviour."""
from engine.nn.parameter import Parameter, UninitializedParameter, UninitializedBuffer
from engine.nn.modules import *  # noqa: F401,F403 - the layer classes, listed in __all__
from engine.nn.modules import __all__ as _modules_all
from engine.nn import functional, init, utils, parallel
from engine.nn import _functional_extra, _functional_3d

# The functions of _functional_extra and _functional_3d are part of engine.nn.functional.
for _module in (_functional_extra, _functional_3d):
    for _name in _module.__all__:
        setattr(functional, _name, getattr(_module, _name))
    functional.__all__ = list(dict.fromkeys(functional.__all__ + _module.__all__))
del _name, _module

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "functional", "init", "utils", "parallel"] + list(_modules_all)
