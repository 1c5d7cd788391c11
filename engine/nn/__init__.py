"""`engine.nn`: modules, parameters, layers, losses, `functional`, `init` and `utils`,
with torch.nn's names and behaviour."""
from engine.nn.parameter import Parameter
from engine.nn.modules import *  # noqa: F401,F403 - the layer classes, listed in __all__
from engine.nn.modules import __all__ as _modules_all
from engine.nn import functional, init, utils

__all__ = ["Parameter", "functional", "init", "utils"] + list(_modules_all)
