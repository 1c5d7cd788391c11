"""The CPU random generator, bit-compatible with PyTorch's for the common draws.

PyTorch's CPU generator is an mt19937 seeded with init_genrand(seed & 0xffffffff);
NumPy's MT19937 with legacy seeding produces the same 32-bit stream. On it we rebuild
PyTorch's transformations: `rand`/`uniform_` (24 random bits for float32, 53 from two
draws for float64), `randn`/`normal_` (Box-Muller on 16-value blocks for >= 16 contiguous
values, else the cached polar pair of at::normal_distribution<double>), `randint`
(draw % range), `randperm` (Fisher-Yates), with PyTorch's fused multiply-adds. So
`manual_seed(10); rand(20, 1)` gives the numbers PyTorch gives on an x86-64 CPU with AVX2,
float32 `randn` included (its AVX2 math is reproduced; float64 takes the C library's log).
`bernoulli`/`bernoulli_` (hence dropout masks) follow PyTorch's default kernel too (a PyTorch
built with MKL draws bernoulli(p) through MKL on Intel CPUs instead); multinomial and poisson
use the same stream but not PyTorch's algorithms; `exponential_` is PyTorch's default kernel
(MKL's on Intel CPUs differs as for bernoulli).
CUDA tensors draw on their device from cuda generators (`CudaGenerator` below: Philox streams,
drawn by `_random_cuda`);
`manual_seed` seeds those too, as torch.manual_seed does.
Each `Generator` is its own stream (`generator=` on every draw); `default_generator` is the
global one behind `manual_seed`, `get_rng_state` and draws without a generator.
"""
import math

import numpy as np

from . import _random_cuda, backend
from ._dtype import is_floating

DEFAULT_SEED = 67280421310721          # PyTorch's default CPU seed
_U64 = np.uint64
_MASK64 = 0xFFFFFFFFFFFFFFFF
_N = 624                               # mt19937's state length

# PyTorch's CPUGeneratorImplState (x86-64 layout): what get_state returns, byte for byte
_STATE = np.dtype([("seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"), ("state", "<u8", (_N,)),
                   ("normal_x", "<f8"), ("normal_y", "<f8"), ("normal_rho", "<f8"), ("normal_is_valid", "<i4"),
                   ("pad0", "V4"), ("float_normal", "<f4"), ("float_normal_valid", "u1"), ("pad1", "V3")])


class Generator:
    """torch.Generator: an independent mt19937 stream, PyTorch's CPU generator bit for bit.
    `engine.default_generator` is the global one that `engine.manual_seed` seeds."""

    def __new__(cls, device="cpu"):
        if cls is Generator and _is_cuda(device):
            return object.__new__(CudaGenerator)
        return object.__new__(cls)

    def __init__(self, device="cpu"):
        from .backend import device as _device
        self.device = _device(device)
        self._reseed(DEFAULT_SEED)

    def _reseed(self, seed):
        self._seed = seed
        self._bits = np.random.MT19937()
        self._bits._legacy_seeding(seed & 0xFFFFFFFF)
        self._fresh = True                  # PyTorch's left=1, next=0: nothing drawn since seeding
        self._next_normal = None            # at::normal_distribution<double>'s cached second value
        self._next_float_normal = None      # PyTorch's float twin (kept for get/set_state only)

    def manual_seed(self, seed):
        """Seed this generator (negative seeds wrap to 64 bits); returns the generator."""
        if not isinstance(seed, int) or isinstance(seed, bool):
            if isinstance(seed, (bool, float)):
                raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
            raise TypeError("an integer is required")
        if not -(1 << 63) <= seed <= _MASK64:
            raise ValueError("Overflow when unpacking long long")
        self._reseed(seed & _MASK64)
        return self

    def seed(self):
        """Seed from the operating system's entropy; returns the seed."""
        s = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._reseed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """PyTorch's CPUGeneratorImplState as a uint8 tensor (5056 bytes)."""
        from ._tensor import _from_array as _wrap
        bits = self._bits.state["state"]
        pos = int(bits["pos"])
        st = np.zeros((), _STATE)
        st["seed"], st["seeded"], st["state"] = self._seed, 1, bits["key"]
        st["left"], st["next"] = (1, 0) if self._fresh else (_N + 1 - pos, pos)
        if self._next_normal is not None:
            st["normal_is_valid"], st["normal_y"] = 1, self._next_normal
        if self._next_float_normal is not None:
            st["float_normal_valid"], st["float_normal"] = 1, self._next_float_normal
        return _wrap(st.reshape(1).view(np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from get_state (this generator's, another's, or PyTorch's bytes)."""
        from ._tensor import Tensor
        a = new_state._a if isinstance(new_state, Tensor) else None
        if type(a) is not np.ndarray or a.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if a.size != _STATE.itemsize:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE.itemsize} but found the "
                               f"input RNG state size to be {a.size}")
        st = np.ascontiguousarray(a).reshape(-1).view(_STATE)[0]
        left, nxt = int(st["left"]), int(st["next"])
        if not (st["seeded"] and 0 < left <= _N and nxt <= _N):
            raise RuntimeError("Invalid mt19937 state")
        self._seed = int(st["seed"])
        self._fresh = left == 1 and nxt == 0
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": st["state"].astype(np.uint32), "pos": _N if left == 1 else nxt}}
        self._next_normal = float(st["normal_y"]) if st["normal_is_valid"] else None
        self._next_float_normal = float(st["float_normal"]) if st["float_normal_valid"] else None
        return self

    def clone_state(self):
        """A new generator in this one's state."""
        g = Generator(self.device)
        g.set_state(self.get_state())
        return g

    def _raw32(self, n):
        if not n:
            return np.zeros(0, _U64)
        self._fresh = False
        return self._bits.random_raw(n).astype(_U64)

    def _raw64(self, n):
        r = self._raw32(2 * n)
        return (r[0::2] << _U64(32)) | r[1::2]


def _is_cuda(device):
    return backend.device(device).type == "cuda"


# ----------------------------------------------------------------------------- cuda generators
_STATE_BYTES = 16                                      # a cuda generator's state: seed (uint64), offset (int64)


class CudaGenerator(Generator):
    """torch.Generator(device="cuda"): a Philox stream drawn on its device. `Generator(device=
    "cuda")` makes one; `engine.cuda.default_generators` holds one per device."""

    def __init__(self, device="cuda"):
        backend.require_cuda()
        d = backend.device(device)
        self.device = backend.device("cuda", backend.cupy().cuda.runtime.getDevice() if d.index is None else d.index)
        self._reseed(DEFAULT_SEED)

    def _reseed(self, seed):
        self._seed = seed
        self._offset = 0                    # Philox blocks (four words each) used since seeding

    def get_state(self):
        """PyTorch's CUDA generator state: the seed and the offset, 16 bytes in a uint8 tensor."""
        from ._tensor import _from_array as _wrap
        st = np.array([self._seed, self._offset], np.uint64)
        return _wrap(st.astype("<u8").view(np.uint8).copy())

    def set_state(self, new_state):
        from ._tensor import Tensor
        a = new_state._a if isinstance(new_state, Tensor) else None
        if type(a) is not np.ndarray or a.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if a.size != _STATE_BYTES:
            raise RuntimeError(f"RNG state is wrong size: expected {_STATE_BYTES} bytes, got {a.size}")
        self._seed, self._offset = (int(v) for v in np.ascontiguousarray(a).reshape(-1).view("<u8"))
        return self

    def _words(self, xp, n):
        """The stream's next n 32-bit words as a uint64 array of namespace xp."""
        blocks = -(-n // 4)
        idx = xp.arange(blocks, dtype=_U64) + _U64(self._offset)
        zero = xp.zeros(blocks, dtype=_U64)
        out = _random_cuda.philox4x32_10(xp, (idx & _U64(0xFFFFFFFF), idx >> _U64(32), zero, zero),
                                         (self._seed & 0xFFFFFFFF, (self._seed >> 32) & 0xFFFFFFFF))
        self._offset += blocks
        return xp.stack(out, axis=1).reshape(-1)[:n]

    def _raw32(self, n):        # host words: seeds for the draws that run on the host
        return self._words(np, n)

    def _raw64(self, n):
        r = self._words(np, 2 * n)
        return (r[0::2] << _U64(32)) | r[1::2]


_cuda_defaults = {}             # device index -> that device's default cuda generator
_cuda_seed_all = [None]         # the last engine.manual_seed / cuda.manual_seed_all, for new defaults


def cuda_default_generator(index=None):
    """The default generator of cuda device `index` (the current device when None)."""
    backend.require_cuda()
    if index is None:
        index = backend.cupy().cuda.runtime.getDevice()
    g = _cuda_defaults.get(index)
    if g is None:
        g = _cuda_defaults[index] = CudaGenerator(backend.device("cuda", index))
        if _cuda_seed_all[0] is not None:
            g.manual_seed(_cuda_seed_all[0])
    return g


def cuda_manual_seed_all(seed):
    """Seed every cuda device's default generator, those not made yet included."""
    _cuda_seed_all[0] = seed
    for g in _cuda_defaults.values():
        g.manual_seed(seed)


def cuda_default_states(tensors=()):
    """{device index: state} of the default cuda generators: every one made so far and those
    of the cuda devices `tensors` live on (made now). What `checkpoint` saves so that a
    recomputation draws the forward's numbers again, as PyTorch forks its CUDA states."""
    for t in tensors:
        if t.device.type == "cuda":
            cuda_default_generator(t.device.index or 0)
    return {i: g.get_state() for i, g in _cuda_defaults.items()}


def set_cuda_default_states(states):
    for i, state in states.items():
        _cuda_defaults[i].set_state(state)


default_generator = Generator()


def resolve(generator, fn, device=None):
    """The generator a draw for `fn` uses: `generator` (checked as PyTorch checks it) or the
    default one; a draw for a tensor on `device` needs a generator of that device type."""
    if generator is None:
        if device is not None and device.type == "cuda":
            return cuda_default_generator(device.index)
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"{fn}(): argument 'generator' must be torch.Generator, not {type(generator).__name__}")
    if device is not None and device.type != generator.device.type:
        raise RuntimeError(f"Expected a '{device.type}' device type for generator but found "
                           f"'{generator.device.type}'")
    return generator


def manual_seed(seed):
    """Seed the default generator (and CuPy's when it is loaded) like torch.manual_seed;
    returns `default_generator`."""
    seed = int(seed)
    default_generator.manual_seed(seed)
    cuda_manual_seed_all(default_generator.initial_seed())
    return default_generator


def seed():
    s = default_generator.seed()
    manual_seed(s)
    return s


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state: a uint8 tensor, PyTorch's bytes; restore with set_rng_state."""
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _unit(g, n, dtype):
    """n uniform [0, 1) values as PyTorch's uniform_real_distribution<dtype> makes them."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return (g._raw64(n) & _U64((1 << 53) - 1)).astype(np.float64) * (2.0 ** -53)
    if dtype == np.float16:
        return ((g._raw32(n) & _U64(0x7FF)).astype(np.float32) * np.float32(2.0 ** -11)).astype(np.float16)
    return (g._raw32(n) & _U64(0xFFFFFF)).astype(np.float32) * np.float32(2.0 ** -24)


def _fma(x, y, z):
    """x * y + z rounded once, as PyTorch's kernels compute it (they compile to fused
    multiply-adds). float32: exact in float64, then rounded. float64: Dekker's exact product
    and Knuth's two-sum, so only a sum within 2^-100 of a rounding tie can differ."""
    if x.dtype != np.float64:
        return (x.astype(np.float64) * np.float64(y) + np.float64(z)).astype(x.dtype)
    y = np.float64(y)
    product = x * y
    split = np.float64(134217729.0)                 # 2^27 + 1
    xs = split * x
    x_hi = xs - (xs - x)
    x_lo = x - x_hi
    ys = split * y
    y_hi = ys - (ys - y)
    y_lo = y - y_hi
    product_err = ((x_hi * y_hi - product) + x_hi * y_lo + x_lo * y_hi) + x_lo * y_lo
    total = product + z
    back = total - product
    sum_err = (product - (total - back)) + (z - back)
    return total + (sum_err + product_err)


def uniform(shape, dtype, low=0.0, high=1.0, g=None):
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().uniform(g, shape, dtype, low, high)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    x = _unit(g, n, dtype if is_floating(dtype) else np.float64)
    if (low, high) == (0.0, 1.0):
        r = x
    else:                         # PyTorch's kernel compiles to one fused multiply-add: round once
        ct = x.dtype.type         # float16 bounds are float16, the arithmetic float32
        r = _fma(x.astype(np.float32) if ct is np.float16 else x, ct(ct(high) - ct(low)), ct(low))
    return r.astype(dtype, copy=False).reshape(shape)


# PyTorch fills float32 tensors with AVX2 code: Box-Muller through avx_mathfun.h's Cephes
# log256_ps and sincos256_ps, compiled with fused multiply-adds where GCC contracts a
# product into the sum that uses it. These are the same float32 steps, fused ones marked.
_LOG_POLY = (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
             1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
             3.3333331174E-1)
_F32, _I32 = np.float32, np.int32


def _fma32(a, b, c):
    """Fused a * b + c for float32 (the product is exact in float64)."""
    return (np.asarray(a, np.float64) * np.float64(b) + np.asarray(c, np.float64)).astype(_F32)


def _log256_ps(x):
    """avx_mathfun's log for x > 0 (float32)."""
    bits = np.maximum(x, np.array([0x00800000], _I32).view(_F32)[0]).view(_I32)
    e = ((bits >> 23) - 0x7F).astype(_F32) + _F32(1)
    x = ((bits & _I32(~0x7F800000)) | _F32(0.5).view(_I32)).view(_F32)
    small = x < _F32(0.707106781186547524)
    e = e - small.astype(_F32)
    x = (x - _F32(1)) + np.where(small, x, _F32(0))
    z = x * x
    y = np.full_like(x, _F32(_LOG_POLY[0]))
    for p in _LOG_POLY[1:]:
        y = _fma32(y, x, _F32(p))
    y = _fma32(y * x, z, e * _F32(-2.12194440e-4))
    y = _fma32(z, _F32(-0.5), y)
    return _fma32(e, _F32(0.693359375), x + y)


def _sincos256_ps(x):
    """avx_mathfun's (sin, cos) for x >= 0 (float32)."""
    j = ((x * _F32(1.27323954473516)).astype(_I32) + 1) & _I32(~1)
    y = j.astype(_F32)
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, _F32(dp), x)
    z = x * x
    c = _fma32(_F32(2.443315711809948E-005), z, _F32(-1.388731625493765E-003))
    c = _fma32(c, z, _F32(4.166664568298827E-002))
    c = _fma32(c * z, z, -(z * _F32(0.5))) + _F32(1)
    s = _fma32(_F32(-1.9515295891E-4), z, _F32(8.3321608736E-3))
    s = _fma32(s, z, _F32(-1.6666654611E-1))
    s = _fma32(s * z, x, x)
    sine_poly = (j & 2) == 0
    sin = np.where(sine_poly, s, c)
    cos = np.where(sine_poly, c, s)
    return (np.where((j & 4) != 0, -sin, sin), np.where((~(j - 2) & 4) != 0, -cos, cos))


def _box_muller16(blocks):
    """Rows of 16 uniforms -> 16 normals each: PyTorch's normal_fill_16 (float32 as its AVX2
    version computes it); row[i] and row[i + 8] give the cos and sin of one pair."""
    u1 = 1 - blocks[:, :8]
    u2 = blocks[:, 8:]
    if blocks.dtype == np.float32:
        radius = np.sqrt(_F32(-2) * _log256_ps(u1))
        sin, cos = _sincos256_ps(_F32(2.0 * np.pi) * u2)
    elif blocks.dtype == np.float64:  # the C library's log, as PyTorch's (NumPy's differs in 0.3%)
        logs = np.fromiter(map(math.log, u1.ravel().tolist()), np.float64, u1.size)
        radius = np.sqrt(-2.0 * logs.reshape(u1.shape))
        theta = 2.0 * np.pi * u2
        sin, cos = np.sin(theta), np.cos(theta)
    else:
        radius = np.sqrt(-blocks.dtype.type(2) * np.log(u1))
        theta = blocks.dtype.type(2.0 * np.pi) * u2
        sin, cos = np.sin(theta), np.cos(theta)
    return np.concatenate([radius * cos, radius * sin], axis=1)


def normal(shape, dtype, mean=0.0, std=1.0, contiguous=True, g=None):
    """Normal draws; PyTorch fills 16-value blocks only for a contiguous tensor of >= 16
    values, other tensors value by value."""
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().normal(g, shape, dtype, mean, std)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    if n >= 16 and contiguous:
        work = np.float64 if dtype == np.float64 else np.float32
        d = _unit(g, n, work)
        whole = n - n % 16
        d[:whole] = _box_muller16(d[:whole].reshape(-1, 16)).reshape(-1)
        if n % 16:                # PyTorch redraws the last 16 values
            d[n - 16:] = _box_muller16(_unit(g, 16, work).reshape(1, 16)).reshape(-1)
        if (mean, std) != (0.0, 1.0):
            d = _fma(d, d.dtype.type(std), d.dtype.type(mean))
        return d.astype(dtype, copy=False).reshape(shape)
    out = np.empty(n, np.float64)
    for i in range(n):
        if g._next_normal is not None:
            v, g._next_normal = g._next_normal, None
        else:
            u1, u2 = _unit(g, 2, np.float64).tolist()     # the C library's functions, as PyTorch's
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            g._next_normal = r * math.sin(theta)
            v = r * math.cos(theta)
        out[i] = v
    return _fma(out, std, mean).astype(dtype).reshape(shape)


def bernoulli(shape, p, g=None):
    """0/1 draws like PyTorch: a scalar p compares a double uniform per element; a tensor of
    probabilities compares uniforms in its own precision (float64, else float32)."""
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().bernoulli(g, shape, p)
    n = int(np.prod(shape))
    if isinstance(p, np.ndarray):
        u = _unit(g, n, np.float64 if p.dtype == np.float64 else np.float32).reshape(shape)
        return u < p
    return (_unit(g, n, np.float64) < p).reshape(shape)


def exponential(shape, dtype, lambd=1.0, g=None):
    """PyTorch's default kernel: -1 / lambd * log1p(-u) on double uniforms, with the C library's
    log1p (NumPy's differs in the last bit now and then)."""
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().exponential(g, shape, dtype, lambd)
    n = int(np.prod(shape))
    logs = np.fromiter(map(math.log1p, (-_unit(g, n, np.float64)).tolist()), np.float64, n)
    return ((-1.0 / lambd) * logs).astype(dtype).reshape(shape)


def randint(low, high, shape, dtype=np.int64, g=None):
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().randint(g, low, high, shape, dtype)
    n = int(np.prod(shape))
    rng = int(high) - int(low)
    if rng <= 0:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    raw = g._raw32(n) if rng < (1 << 32) else g._raw64(n)
    return ((raw % _U64(rng)).astype(np.int64) + int(low)).astype(dtype).reshape(shape)


def random_full(shape, dtype, g=None):
    """Tensor.random_() without bounds, as PyTorch's uniform_int: [0, 2^digits] for floats,
    [0, max] for integers, bool the low bit; int64 and float64 take 64-bit draws."""
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().random_full(g, shape, dtype)
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    raw = g._raw64(n) if dtype in (np.int64, np.float64) else g._raw32(n)
    if dtype == np.bool_:
        v = raw & _U64(1)
    elif is_floating(dtype):
        v = raw % _U64((1 << (np.finfo(dtype).nmant + 1)) + 1)
    else:
        v = raw % _U64(np.iinfo(dtype).max + 1)
    return v.astype(dtype).reshape(shape)


def randperm(n, g=None):
    g = default_generator if g is None else g
    if g.device.type == "cuda":
        return _on_device().randperm(g, n)
    r = np.arange(n, dtype=np.int64)
    if n > 1:
        raw = g._raw32(n - 1) if n < 0xFFFFFFFF // 20 else g._raw64(n - 1)
        for i in range(n - 1):
            z = int(raw[i]) % (n - i)
            r[i], r[i + z] = r[i + z], r[i]
    return r


def _on_device():
    """The module of the cuda generators' draws (which run on the device)."""
    return _random_cuda


def rng(g=None):
    """A NumPy Generator (on the host) drawing from the same stream, cuda generators' too
    (for draws without a PyTorch twin)."""
    g = default_generator if g is None else g
    return np.random.Generator(np.random.PCG64(int(g._raw64(2)[0])))
