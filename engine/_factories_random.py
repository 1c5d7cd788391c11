"""Random factories: rand, randn, randint, normal, randperm, bernoulli, multinomial and *_like."""
import numpy as np

from . import _random
from .backend import device as _device, xp_of
from ._tensor import Tensor
from ._ops import _place, _size_args, _factory_dtype

__all__ = ["rand", "randn", "randint", "normal", "randperm", "rand_like", "randn_like", "randint_like",
           "bernoulli", "multinomial", "poisson"]


def _gen(generator, fn, device=None):
    """The Generator to draw from (the default one when None), checked against the device."""
    return _random.resolve(generator, fn, _device("cpu" if device is None else device))


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform on [0, 1)."""
    g = _gen(generator, "rand", device)
    return _place(_random.uniform(_size_args(size), _factory_dtype(dtype), g=g), device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal."""
    g = _gen(generator, "randn", device)
    return _place(_random.normal(_size_args(size), _factory_dtype(dtype), g=g), device, requires_grad)


def randint(low=0, high=None, size=None, *, dtype=None, device=None, requires_grad=False, generator=None):
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    g = _gen(generator, "randint", device)
    return _place(_random.randint(low, high, tuple(size), _factory_dtype(dtype, np.int64), g=g), device,
                  requires_grad)


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
        return _place(xp_of(z).asarray(z).astype(dt, copy=False), ref.device if ref.device.type != "cpu" else None,
                      requires_grad)
    g = _gen(generator, "normal", device)
    return _place(_random.normal(tuple(size), _factory_dtype(dtype), mean, std, g=g), device, requires_grad)


def randperm(n, *, dtype=None, device=None, requires_grad=False, generator=None):
    g = _gen(generator, "randperm", device)
    return _place(_random.randperm(n, g).astype(_factory_dtype(dtype, np.int64)), device, requires_grad)


def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                generator=generator)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                 generator=generator)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device,
                   generator=generator)


def bernoulli(input, p=None, *, generator=None):
    """0/1 with the probabilities in `input` (or a scalar p), drawn as PyTorch draws them (a
    cuda tensor's on its device, by a cuda generator)."""
    a = input._a
    g = _gen(generator, "bernoulli", input.device)
    r = _random.bernoulli(a.shape, a if p is None else float(p), g).astype(a.dtype)
    return _place(r, input.device if input.device.type != "cpu" else None, False)


def _host(a):
    return a if type(a) is np.ndarray else a.get()


def _back_on(out, input):
    """A result drawn on the host, placed on `input`'s device."""
    return _place(out, input.device if input.device.type != "cpu" else None, False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Drawn on the host for cuda tensors too (their probabilities are copied over and the
    indices copied back), from the tensor's device's generator."""
    p = np.asarray(_host(input._a), dtype=np.float64)
    rng = _random.rng(_gen(generator, "multinomial", input.device))
    rows = p.reshape(-1, p.shape[-1])
    out = np.stack([rng.choice(r.size, num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    return _back_on(out.reshape(p.shape[:-1] + (num_samples,)).astype(np.int64), input)


def poisson(input, generator=None):
    """Drawn on the host, like multinomial."""
    lam = _host(input._a)
    return _back_on(_random.rng(_gen(generator, "poisson", input.device)).poisson(lam).astype(lam.dtype), input)


from engine.autograd.recording import record_namespace as _record_namespace  # noqa: E402

_record_namespace(globals())
