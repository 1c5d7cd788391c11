"""autograd.functional: jacobian and hessian of a Python function of tensors."""
from .engine import grad as _grad

__all__ = ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"]


def _tuple(x):
    return (tuple(x), True) if isinstance(x, (list, tuple)) else ((x,), False)


def _prep(inputs, create_graph):
    return tuple(t.detach().requires_grad_(True) if not create_graph or not t._rg else t for t in inputs)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs, shaped out.shape + in.shape (tuples nested as PyTorch returns them)."""
    from ..ops import zeros, zeros_like, stack
    from .grad_mode import enable_grad
    inputs, in_tuple = _tuple(inputs)
    with enable_grad():
        ins = _prep(inputs, create_graph)
        outs, out_tuple = _tuple(func(*ins))
        result = []
        for o in outs:
            rows = [[] for _ in ins]
            flat = o.reshape(-1)
            for j in range(flat.numel()):
                gs = _grad((flat[j],), ins, retain_graph=True, create_graph=create_graph, allow_unused=True) \
                    if o._rg else (None,) * len(ins)
                for k, (g, t) in enumerate(zip(gs, ins)):
                    if g is None:
                        if strict:
                            raise RuntimeError("Output %d of the user-provided function is independent of input %d. "
                                               "This is not allowed in strict mode." % (outs.index(o), k))
                        g = zeros_like(t)
                    rows[k].append(g)
            per_in = []
            for k, t in enumerate(ins):
                if rows[k]:
                    j = stack(rows[k]).reshape(tuple(o.shape) + tuple(t.shape))
                else:
                    j = zeros(tuple(o.shape) + tuple(t.shape), dtype=t.dtype)
                per_in.append(j if create_graph else j.detach())
            result.append(tuple(per_in) if in_tuple else per_in[0])
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """Second derivatives of a scalar function: jacobian of its gradient."""
    inputs_t, in_tuple = _tuple(inputs)

    def grad_fn(*ins):
        out = func(*ins)
        if out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single element Tensor")
        gs = _grad((out.reshape(()),), ins, create_graph=True, allow_unused=True)
        from ..ops import zeros_like
        gs = tuple(g if g is not None else zeros_like(t) for g, t in zip(gs, ins))
        return gs if in_tuple else gs[0]

    return jacobian(grad_fn, inputs, create_graph=create_graph, strict=strict)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    from .grad_mode import enable_grad
    inputs_t, in_tuple = _tuple(inputs)
    with enable_grad():
        ins = _prep(inputs_t, create_graph)
        out = func(*ins)
        outs, out_tuple = _tuple(out)
        vs = _tuple(v)[0] if v is not None else None
        gs = _grad(outs, ins, vs, create_graph=create_graph, allow_unused=True)
    from ..ops import zeros_like
    gs = tuple((g if create_graph else g.detach()) if g is not None else zeros_like(t) for g, t in zip(gs, ins))
    outd = tuple(o.detach() for o in outs)
    return (outd if out_tuple else outd[0]), (gs if in_tuple else gs[0])


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    from .grad_mode import enable_grad
    inputs_t, in_tuple = _tuple(inputs)
    with enable_grad():
        ins = _prep(inputs_t, True)
        out = func(*ins)
        gs = _grad((out,), ins, create_graph=True)
        vs = _tuple(v)[0]
        hv = _grad(gs, ins, vs, create_graph=create_graph, allow_unused=True)
    from ..ops import zeros_like
    hv = tuple((h if create_graph else h.detach()) if h is not None else zeros_like(t) for h, t in zip(hv, ins))
    return out.detach(), (hv if in_tuple else hv[0])


hvp = vhp


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """Jacobian-vector product through the double-vjp trick."""
    from .grad_mode import enable_grad
    from ..ops import zeros_like
    inputs_t, in_tuple = _tuple(inputs)
    with enable_grad():
        ins = _prep(inputs_t, True)
        outs, out_tuple = _tuple(func(*ins))
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        gs = _grad(outs, ins, us, create_graph=True, allow_unused=True)
        vs = _tuple(v)[0]
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g is not None]
        jv = _grad(tuple(p[0] for p in pairs), us, tuple(p[1] for p in pairs), create_graph=create_graph,
                   allow_unused=True)
    jv = tuple((j if create_graph else j.detach()) if j is not None else zeros_like(o) for j, o in zip(jv, outs))
    outd = tuple(o.detach() for o in outs)
    return (outd if out_tuple else outd[0]), (jv if out_tuple else jv[0])
