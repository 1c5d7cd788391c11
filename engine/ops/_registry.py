"""The op registry: every op is registered beside its definition, and Tensor methods, the
`engine.*` functions, `engine.ops.__all__` and the op-table test all come from here.

    @op                                # engine.name(...) and Tensor.name(...)
    def frac(input): ...

    @op(function=False)                # a Tensor method only (PyTorch has no torch.view)
    def view(input, *shape): ...

    exp = op(exp, "exp")               # an op made by a factory (engine.ops.unary._unary_op)
    alias(sub, "subtract")             # another public name for the same op

    @op(namespace="nn.functional")     # engine.nn.functional.conv2d (a submodule's op, kept in
    def conv2d(input, weight, ...): ... # NAMESPACES, not on engine.* nor Tensor)

Registering wraps the function with engine.autograd.recording's observer check (one
`is None` test when nobody records), so the op's public name is what `record_ops` reports.
`install()` (run once by engine.ops) puts the methods and Python operators on Tensor.
"""
from typing import NamedTuple

from ..autograd.recording import recorded


class Op(NamedTuple):
    name: str           # the public name
    fn: object          # the registered (recorded) function
    function: bool      # exported as engine.<name>
    method: bool        # installed as Tensor.<name>
    module: str         # the family module that defines it


OPS = {}                # name -> Op, in registration order
NAMESPACES = {}         # "linalg", "nn.functional" -> {name: Op}: ops of engine's submodules


def op(fn=None, name=None, *, function=True, method=True, namespace=None):
    """Register `fn` as the op `name` (default: its __name__); returns the recorded function.
    With `namespace` ("linalg", "nn.functional") it is an op of that submodule of engine, which
    exports it itself (its module imports it), neither on engine.* nor a Tensor method."""
    if isinstance(fn, str):            # @op("__getitem__", ...)
        fn, name = None, fn
    if fn is None:
        return lambda f: op(f, name, function=function, method=method, namespace=namespace)
    name = name or fn.__name__
    if namespace is not None:
        table = NAMESPACES.setdefault(namespace, {})
        if name in table:
            raise RuntimeError(f"op {namespace}.{name} is registered twice ({table[name].module} and {fn.__module__})")
        rec = fn if getattr(fn, "_recorded", False) else recorded(fn, name)
        table[name] = Op(name, rec, False, False, fn.__module__)
        return rec
    if name in OPS:
        raise RuntimeError(f"op {name!r} is registered twice ({OPS[name].module} and {fn.__module__})")
    rec = fn if getattr(fn, "_recorded", False) else recorded(fn, name)
    OPS[name] = Op(name, rec, function, method, fn.__module__)
    return rec


def alias(fn, name, *, function=True, method=True):
    """Register another public name for the registered op `fn` (records keep fn's name)."""
    if name in OPS:
        raise RuntimeError(f"op {name!r} is registered twice")
    OPS[name] = Op(name, fn, function, method, fn.__module__)
    return fn


def functions():
    """name -> function for every op exported as engine.<name>."""
    return {n: o.fn for n, o in OPS.items() if o.function}


def _reflected(fn):
    def r(self, other):
        return fn(other, self)
    return r


def install(Tensor, extra):
    """Put every registered method, the Python operators and `extra` (name -> attribute: Tensor
    conveniences defined with the ops, such as .float() or .T) on Tensor."""
    for name, o in OPS.items():
        if o.method:
            setattr(Tensor, name, o.fn)
    for name, value in extra.items():
        setattr(Tensor, name, value)
