"""gradcheck / gradgradcheck: compare autograd's gradients with float64 central differences."""
import numpy as np

from .grad_mode import no_grad
from .._dtype import is_floating

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _flat64(a):
    """A copy of array `a` (a cuda one copied to the host) as flat float64."""
    return (a if type(a) is np.ndarray else a.get()).astype(np.float64).reshape(-1)


def _outputs(fn, inputs):
    from .._tensor import Tensor
    out = _as_tuple(fn(*inputs))
    return tuple(o for o in out if isinstance(o, Tensor) and is_floating(o._a.dtype))


def _numerical_jacobian(fn, inputs, eps):
    """J[k][j] : d out_j / d input_k as (in_numel, out_numel) arrays, by central differences."""
    from .._tensor import Tensor
    jacs = []
    with no_grad():
        outs0 = _outputs(fn, inputs)
        for t in inputs:
            if not (isinstance(t, Tensor) and t._rg):
                jacs.append(None)
                continue
            a = t._a
            flat = a.reshape(-1)
            per_out = [np.zeros((a.size, o._a.size)) for o in outs0]
            for i in range(a.size):
                orig = flat[i].item()
                flat[i] = orig + eps
                plus = [_flat64(o._a) for o in _outputs(fn, inputs)]
                flat[i] = orig - eps
                minus = [_flat64(o._a) for o in _outputs(fn, inputs)]
                flat[i] = orig
                for k in range(len(outs0)):
                    per_out[k][i] = (plus[k] - minus[k]) / (2 * eps)
            jacs.append(per_out)
    return jacs


def _analytical_jacobian(fn, inputs):
    from .._tensor import Tensor
    from ..ops import zeros_like
    from .engine import grad as _grad
    outs = _outputs(fn, inputs)
    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t._rg]
    jac = {id(t): [np.zeros((t._a.size, o._a.size)) for o in outs] for t in diff_inputs}
    for k, o in enumerate(outs):
        if not o._rg:
            continue
        for j in range(o._a.size):
            go = zeros_like(o)
            go._a.reshape(-1)[j] = 1
            gs = _grad((o,), diff_inputs, (go,), retain_graph=True, allow_unused=True)
            for t, g in zip(diff_inputs, gs):
                if g is not None:
                    jac[id(t)][k][:, j] = _flat64(g._a)
    return [jac.get(id(t)) if isinstance(t, Tensor) and t._rg else None for t in inputs]


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, fast_mode=False,
              check_undefined_grad=True, nondet_tol=0.0, **_ignored):
    """True when autograd's Jacobian of func at inputs matches finite differences (float64 inputs)."""
    from .._tensor import Tensor
    inputs = _as_tuple(inputs)
    for t in inputs:
        if isinstance(t, Tensor) and t._rg and t._a.dtype != np.float64:
            import warnings
            warnings.warn("Input #0 requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision "
                          "floating point.", UserWarning, stacklevel=2)
    num = _numerical_jacobian(func, inputs, eps)
    ana = _analytical_jacobian(func, inputs)
    for idx, (n, a) in enumerate(zip(num, ana)):
        if n is None:
            continue
        for k, (nk, ak) in enumerate(zip(n, a)):
            if not np.allclose(ak, nk, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(f"Jacobian mismatch for output {k} with respect to input {idx},\n"
                                         f"numerical:{nk}\nanalytical:{ak}\n")
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, **_ignored):
    """gradcheck of the first derivative (random grad_outputs): checks double backward."""
    from .._tensor import Tensor
    from ..ops import tensor
    from .engine import grad as _grad
    inputs = _as_tuple(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        # PyTorch's draw (torch.testing.make_tensor(low=-1, high=1)): U(-1, 1) from the global
        # generator, so the random numbers a program draws afterwards are torch's too
        from .._dtype import float64
        from ..ops import empty
        grad_outputs = tuple(empty(o.shape, dtype=o.dtype if o.is_floating_point() else float64,
                                   device=o.device).uniform_(-1, 1).requires_grad_() for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_derivative(*args):
        from .grad_mode import enable_grad
        ins, gos = args[:n_in], args[n_in:]
        with enable_grad():
            o = _outputs(func, ins)
            di = [t for t in ins if isinstance(t, Tensor) and t._rg]
            if not any(x._rg for x in o):
                from ..ops import zeros_like
                return tuple(zeros_like(t) for t in di)
            gs = _grad(o, di, gos, create_graph=True, allow_unused=True)
        from ..ops import zeros_like
        return tuple(g if g is not None else zeros_like(t) for g, t in zip(gs, di))

    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
