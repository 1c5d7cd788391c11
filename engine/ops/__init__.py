"""Every op of the engine, one module per family, each op's forward beside its backward node:

    _core        promotion, output wrapping, THE place outputs are connected to the graph (_finish),
                 make_inplace for every op_ variant
    arithmetic   add sub mul div neg pow lerp ...        unary       exp log sin tanh relu clamp where ...
    pointwise    atan2 hypot xlogy logit asinh ...       comparison  eq lt logical_* isclose sort topk ...
    reductions   sum mean max var norm softmax median cov ...
    products     mm bmm matmul addmm baddbmm kron tensordot cross ...
    shape        view reshape transpose cat split flip repeat roll to clone ...
    indexing     __getitem__ __setitem__ gather scatter index_* masked_* tril diagonal ...
    factories    tensor zeros ones full eye arange linspace ...   random  rand randn ... uniform_ normal_ ...
    writes       fill_ zero_ copy_ resize_                      linalg  inv det solve qr svd ...
    einsum       einsum, built from the ops above as PyTorch builds it
    nn           engine.nn.functional's kernels that are ops: linear conv1d/2d/3d conv_transpose1d/2d/3d
                 max_pool2d embedding layer_norm batch_norm
    order        kthvalue mode nanmedian (order statistics along a dim)

Ops register themselves beside their definition (engine.ops._registry); Tensor methods and
operators are installed by engine.ops.tensor_methods, and `__all__` (the engine.* functions)
comes from the registry. Other families' ops are reached as `ops.<name>` at run time.
"""
from . import _core, _registry
from . import arithmetic, unary, comparison, reductions, products, shape, indexing, factories, writes, random
from . import pointwise, linalg, einsum, nn, order, tensor_methods, _lowp

globals().update({name: o.fn for name, o in _registry.OPS.items() if not name.startswith("__")})
__all__ = sorted(_registry.functions())
