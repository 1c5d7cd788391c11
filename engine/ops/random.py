""""""
import builtins
import numpy as np

from ..backend import device as _device, device_of, to_device, xp_of
from .._tensor import Tensor
from .. import _random
from ..autograd.views import _check_inplace
from ._core import _isinst, _ndarray
from ._registry import op
from .. import ops
from .._dtype import is_floating


def _draw_order(a):
    """The axes of `a` outermost-in-memory first: PyTorch's random kernels fill a tensor in
    memory order, so a transposed view takes its values in its storage's order."""
    if a.flags.c_contiguous:
        return tuple(range(a.ndim))
    return tuple(int(i) for i in np.argsort([-builtins.abs(st) for st in a.strides], kind="stable"))


def _fill_random(self, draw):
    """Fill self in place with draw(shape), drawn for self's axes in memory order."""
    _check_inplace(self)
    view = self._a.transpose(_draw_order(self._a))
    host = draw(view.shape)
    view[...] = host if type(view) is _ndarray else to_device(host, device_of(view))
    self._ver[0] += 1
    return self


def _generator_for(self, generator, fn):
    """The Generator an in-place draw into `self` uses (the default one when None)."""
    from .. import _random
    return _random.resolve(generator, fn, device_of(self._a))


@op(function=False)
def uniform_(self, a=0.0, b=1.0, *, generator=None):
    from .. import _random
    g = _generator_for(self, generator, "uniform_")
    return _fill_random(self, lambda shape: _random.uniform(shape, self._a.dtype, a, b, g))


@op(function=False)
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    from .. import _random
    g = _generator_for(self, generator, "normal_")
    contiguous = self._a.flags.c_contiguous
    return _fill_random(self, lambda shape: _random.normal(shape, self._a.dtype, mean, std, contiguous, g))


@op(function=False)
def bernoulli_(self, p=0.5, *, generator=None):
    from .. import _random
    g = _generator_for(self, generator, "bernoulli_")
    pp = p._a if _isinst(p, Tensor) else float(p)
    if not _isinst(pp, float) and type(pp) is not _ndarray:
        pp = pp.get()
    if _isinst(pp, _ndarray):
        pp = np.broadcast_to(pp, self._a.shape).transpose(_draw_order(self._a))
    return _fill_random(self, lambda shape: _random.bernoulli(shape, pp, g).astype(self._a.dtype))


@op(function=False)
def random_(self, *bounds, to=None, generator=None):
    """random_(): the dtype's whole range (PyTorch's); random_(to): [0, to); random_(from, to):
    [from, to), to=None meaning up to the dtype's largest value."""
    from .. import _random
    g = _generator_for(self, generator, "random_")
    dt = self._a.dtype
    if len(bounds) == 1 and to is None:
        low, high = 0, bounds[0]
    elif bounds:
        low, high = bounds[0], bounds[1] if len(bounds) > 1 else to
        if high is None:
            high = 2 if dt == np.bool_ else (1 << (np.finfo(dt).nmant + 1)) + 1 if is_floating(dt) \
                else int(np.iinfo(dt).max) + 1
    elif to is not None:
        low, high = 0, to
    else:
        return _fill_random(self, lambda shape: _random.random_full(shape, dt, g))
    return _fill_random(self, lambda shape: _random.randint(low, high, shape, dt, g))


@op(function=False)
def exponential_(self, lambd=1.0, *, generator=None):
    from .. import _random
    g = _generator_for(self, generator, "exponential_")
    return _fill_random(self, lambda shape: _random.exponential(shape, self._a.dtype, lambd, g))


def _gen(generator, fn, device=None):
    """The Generator to draw from (the default one when None), checked against the device."""
    return _random.resolve(generator, fn, _device("cpu" if device is None else device))


@op(method=False)
def rand(*sizes, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform on [0, 1)."""
    device = ops.factories._on(device)
    g = _gen(generator, "rand", device)
    shape = ops.factories._size_args(sizes, size, "rand")
    return ops.factories._place(_random.uniform(shape, ops.factories._factory_dtype(dtype), g=g),
                                device, requires_grad)


@op(method=False)
def randn(*sizes, size=None, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal."""
    device = ops.factories._on(device)
    g = _gen(generator, "randn", device)
    shape = ops.factories._size_args(sizes, size, "randn")
    return ops.factories._place(_random.normal(shape, ops.factories._factory_dtype(dtype), g=g),
                                device, requires_grad)


@op(method=False)
def randint(low=0, high=None, size=None, *, dtype=None, device=None, requires_grad=False, generator=None):
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    device = ops.factories._on(device)
    g = _gen(generator, "randint", device)
    return ops.factories._place(_random.randint(low, high, tuple(size), ops.factories._factory_dtype(dtype, np.int64), g=g), device,
                  requires_grad)


@op(method=False)
def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad=False, generator=None):
    """normal(mean, std) with tensor or float mean/std (broadcast), or normal(mean, std, size)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        # as PyTorch: draw normal(0, std) (or normal(0, 1) * std for a tensor std), then add mean
        ref = mean if isinstance(mean, Tensor) else std
        g = _gen(generator, "normal", ref.device)
        m = mean._a if isinstance(mean, Tensor) else mean
        s = std._a if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        dt = ref._a.dtype
        if isinstance(std, Tensor):
            z = _random.normal(shape, dt, g=g) * s.astype(dt) + m
        else:
            z = _random.normal(shape, dt, 0.0, std, g=g) + m
        return ops.factories._place(xp_of(z).asarray(z).astype(dt, copy=False), ref.device if ref.device.type != "cpu" else None,
                      requires_grad)
    g = _gen(generator, "normal", device)
    return ops.factories._place(_random.normal(tuple(size), ops.factories._factory_dtype(dtype), mean, std, g=g), device, requires_grad)


@op(method=False)
def randperm(n, *, dtype=None, device=None, requires_grad=False, generator=None):
    g = _gen(generator, "randperm", device)
    return ops.factories._place(_random.randperm(n, g).astype(ops.factories._factory_dtype(dtype, np.int64)), device, requires_grad)


@op(method=False)
def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                generator=generator)


@op(method=False)
def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                 generator=generator)


@op(method=False)
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device,
                   generator=generator)


@op(method=False)
def bernoulli(input, p=None, *, generator=None):
    """0/1 with the probabilities in `input` (or a scalar p), drawn as PyTorch draws them (a
    cuda tensor's on its device, by a cuda generator)."""
    a = input._a
    g = _gen(generator, "bernoulli", input.device)
    r = _random.bernoulli(a.shape, a if p is None else float(p), g).astype(a.dtype)
    return ops.factories._place(r, input.device if input.device.type != "cpu" else None, False)


def _host(a):
    return a if type(a) is np.ndarray else a.get()


def _back_on(out, input):
    """A result drawn on the host, placed on `input`'s device."""
    return ops.factories._place(out, input.device if input.device.type != "cpu" else None, False)


@op(method=False)
def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the (unnormalized) probabilities in input's last dim, as PyTorch's CPU
    kernel draws them: without replacement, or for one sample, the top of p / q with q ~ Exp(1)
    (the Gumbel trick); with replacement, one double uniform per sample searched in the row's
    float cumulative distribution. Drawn on the host for cuda tensors too."""
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.is_floating_point():
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{str(input.dtype).replace('torch.', '').capitalize()}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_categories = input.shape[-1]
    if not replacement and num_samples > n_categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    p = _host(input._a)
    rows = p.reshape(-1, n_categories)
    if not replacement or num_samples == 1:
        if not np.isfinite(rows).all() or (rows < 0).any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if (rows.sum(-1) == 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        g = _gen(generator, "multinomial", input.device)
        q = p / _random.exponential(p.shape, p.dtype, 1.0, g)
        out = (q.argmax(-1)[..., None] if num_samples == 1 else
               np.argsort(-q, axis=-1, kind="stable")[..., :num_samples])
        return _back_on(out.astype(np.int64), input)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        if (row < 0).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if not np.isfinite(row).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry "
                               "= infinity or NaN)")
        cum = np.cumsum(row, dtype=row.dtype)
        if not cum[-1] > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cum = (cum / cum[-1]).astype(row.dtype)
        cum[-1] = 1
        g = _gen(generator, "multinomial", input.device)
        u = _random.uniform((num_samples,), np.float64, g=g)
        out[i] = np.searchsorted(cum.astype(np.float64), _host(u), side="left")
    return _back_on(out.reshape(p.shape[:-1] + (num_samples,)), input)


@op(method=False)
def poisson(input, generator=None):
    """Drawn on the host, like multinomial."""
    lam = _host(input._a)
    return _back_on(_random.rng(_gen(generator, "poisson", input.device)).poisson(lam).astype(lam.dtype), input)
