"""The draws of CUDA random generators: each runs on the generator's device from a Philox4x32-10
counter stream. (The generator objects, `_random.CudaGenerator`, and the per-device defaults are
in `_random`, beside the CPU generator they subclass; this module needs only `g._words`.)

A cuda `Generator` is a seed and an offset, as PyTorch's CUDA generator is (its state is
those two numbers, 16 bytes). A draw of n 32-bit words evaluates Philox4x32-10 (Random123's
counter-based generator, the one cuRAND and PyTorch use on GPUs) with the seed as key at
the counters offset, offset + 1, ... (four words each), using the device's own array
operations so that nothing crosses to the host, then moves the offset past them. The
words become uniforms, normals and integers the way the CPU generator's words do
(`_random`). The numbers are not PyTorch's CUDA numbers (those depend on its kernels'
launch shapes); they are reproducible: one seed gives one stream on every GPU, and the
arithmetic is exact integer arithmetic, so the tests' stand-in for CuPy gives it too.
"""
import math

import numpy as np

from . import backend
from ._dtype import is_floating

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_SHIFT32 = _U64(32)
_M0, _M1 = _U64(0xD2511F53), _U64(0xCD9E8D57)          # Philox4x32's multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85                      # and its key increments (Weyl)


def philox4x32_10(xp, counter, key):
    """Random123's Philox4x32-10: `counter` is four arrays of 32-bit words (held in uint64),
    `key` two Python ints; returns the four output word arrays."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
        p0, p1 = c0 * _M0, c2 * _M1                    # 32 x 32 -> 64 bits: exact in uint64
        c0, c1, c2, c3 = ((p1 >> _SHIFT32) ^ c1 ^ _U64(k0), p1 & _MASK32,
                          (p0 >> _SHIFT32) ^ c3 ^ _U64(k1), p0 & _MASK32)
    return c0, c1, c2, c3


# ----------------------------------------------------------------------------- draws
def _namespace(g):
    cp = backend.cupy()
    return cp, cp.cuda.Device(g.device.index)


def _unit(g, xp, n, dtype):
    """n uniform [0, 1) values of float dtype from the stream: 53 bits (two words) for
    float64, as many bits as the dtype's significand holds (24 for float32) otherwise."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        w = g._words(xp, 2 * n)
        bits = ((w[0::2] << _SHIFT32) | w[1::2]) & _U64((1 << 53) - 1)
        return bits.astype(np.float64) * np.float64(2.0 ** -53)
    keep = np.finfo(dtype).nmant + 1
    w = g._words(xp, n) & _U64((1 << keep) - 1)
    return (w.astype(np.float32) * np.float32(2.0 ** -keep)).astype(dtype, copy=False)


def _work(dtype):
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def uniform(g, shape, dtype, low, high):
    xp, on = _namespace(g)
    dtype = np.dtype(dtype)
    with on:
        x = _unit(g, xp, math.prod(shape), dtype if is_floating(dtype) else np.float64)
        if (low, high) != (0.0, 1.0):
            ct = _work(x.dtype)
            x = x.astype(ct, copy=False) * ct(high - low) + ct(low)
        return x.astype(dtype, copy=False).reshape(shape)


def normal(g, shape, dtype, mean, std):
    """Box-Muller on pairs of uniforms, in float64 for float64 and float32 otherwise."""
    xp, on = _namespace(g)
    n, ct = math.prod(shape), _work(dtype)
    with on:
        half = -(-n // 2)
        u = _unit(g, xp, 2 * half, ct)
        radius = xp.sqrt(xp.log1p(-u[:half]) * ct(-2.0))             # log(1 - u), 1 - u in (0, 1]
        theta = u[half:] * ct(2.0 * math.pi)
        z = xp.concatenate([radius * xp.cos(theta), radius * xp.sin(theta)])[:n]
        if (mean, std) != (0.0, 1.0):
            z = z * ct(std) + ct(mean)
        return z.astype(dtype, copy=False).reshape(shape)


def bernoulli(g, shape, p):
    """1 where a uniform is below p (a float, or probabilities on the host or the device)."""
    xp, on = _namespace(g)
    n = math.prod(shape)
    with on:
        if isinstance(p, float):
            return (_unit(g, xp, n, np.float32) < np.float32(p)).reshape(shape)
        if type(p) is np.ndarray:
            p = backend.to_device(np.ascontiguousarray(p), g.device)
        return _unit(g, xp, n, _work(p.dtype)).reshape(shape) < p


def exponential(g, shape, dtype, lambd):
    xp, on = _namespace(g)
    ct = _work(dtype)
    with on:
        u = _unit(g, xp, math.prod(shape), ct)
        return (xp.log1p(-u) * ct(-1.0 / lambd)).astype(dtype, copy=False).reshape(shape)


def _words64(g, xp, n):
    w = g._words(xp, 2 * n)
    return (w[0::2] << _SHIFT32) | w[1::2]


def randint(g, low, high, shape, dtype):
    xp, on = _namespace(g)
    n, span = math.prod(shape), int(high) - int(low)
    if span <= 0:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    with on:
        raw = g._words(xp, n) if span < (1 << 32) else _words64(g, xp, n)
        return ((raw % _U64(span)).astype(np.int64) + np.int64(low)).astype(dtype, copy=False).reshape(shape)


def random_full(g, shape, dtype):
    xp, on = _namespace(g)
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    with on:
        raw = _words64(g, xp, n) if dtype in (np.int64, np.float64) else g._words(xp, n)
        if dtype == np.bool_:
            v = raw & _U64(1)
        elif is_floating(dtype):
            v = raw % _U64((1 << (np.finfo(dtype).nmant + 1)) + 1)
        else:
            v = raw % _U64(np.iinfo(dtype).max + 1)
        return v.astype(dtype).reshape(shape)


def randperm(g, n):
    """A permutation of range(n): the order that sorts n random 64-bit keys."""
    xp, on = _namespace(g)
    with on:
        return xp.argsort(_words64(g, xp, n)).astype(np.int64, copy=False)
