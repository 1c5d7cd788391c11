"""Order statistics along a dim: kthvalue, mode, nanmedian, each returning torch.return_types'
(values, indices) with the gradient sent to the selected element; quantile and nanquantile
(PyTorch's composition of sort, gather and lerp, at the end).

Values come from array sorts and partitions. Which index is reported when the selected value
occurs more than once in its slice is not documented by PyTorch: its CPU kernels report whatever
position their selection algorithm left the element at. On the CPU the engine replays kthvalue's
quick_select (ATen's SortingUtils.h) on the slices with such ties only (the others have one
candidate), and mode's std::sort (libstdc++'s introsort, NaN included) with its scan for the
longest run; on cuda, and past 2**18 elements, kthvalue reports the first occurrence and mode
the last, with no read back to the host. nanmedian's index is the one a stable sort puts at the
median's place (what PyTorch 2.13 reports, as for median).
"""
import numpy as np

from ..autograd.graph import Node, _SavedOutput, new_node
from .._dtype import is_floating
from ..autograd.grad_mode import state as _gs
from ._core import return_type, _finish, _isinst, _ns, _res, _wdim, _wrap
from ._registry import op
from .reductions import ScatterToIndices
from .. import ops
from .._tensor import Tensor
from .._dtype import float32, float64

_RESULT = {n: return_type(n) for n in ("kthvalue", "mode", "nanmedian")}
_REPLAY_BUDGET = 1 << 18      # elements: beyond it the CPU answers as cuda does (no replay)


class KthvalueBackward0(ScatterToIndices):
    __slots__ = ()
    formula = "KthvalueBackward0: self: grad scattered to indices (zeros elsewhere)"


class ModeBackward0(ScatterToIndices):
    __slots__ = ()
    formula = "ModeBackward0: self: grad scattered to indices (zeros elsewhere)"


class NanmedianBackward1(ScatterToIndices):
    __slots__ = ()
    formula = "NanmedianBackward1: self: grad scattered to indices (zeros elsewhere)"


class NanmedianBackward0(Node):
    __slots__ = ()
    formula = "NanmedianBackward0: self: grad evenly split among the elements equal to the result"
    saved_names = ("self", "result")

    def backward(self, g):
        x, r = self.saved
        m = (ops.eq(x, r) | (ops.isnan(x) & ops.isnan(r))).to(g.dtype)
        return m * (g / m.sum())


# -- PyTorch's selection algorithms, replayed on the slices whose selected value has ties ---------

def _greater(x, y):
    """ATen's gt_or_nan: x > y, with NaN above every number."""
    return (x != x and y == y) or x > y


def _quick_select(row, k):
    """The original position of the k-th smallest element after ATen's quick_select_template
    (median-of-three pivot, Hoare partition) has run on `row`."""
    arr, pos = list(row.tolist()), list(range(len(row)))

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]
        pos[i], pos[j] = pos[j], pos[i]

    lo, hi = 0, len(arr) - 1
    while True:
        if hi <= lo:
            return pos[k]
        if hi == lo + 1:
            if _greater(arr[lo], arr[hi]):
                swap(lo, hi)
            return pos[k]
        swap(lo + (hi - lo) // 2, lo + 1)
        if _greater(arr[lo + 1], arr[hi]):
            swap(lo + 1, hi)
        if _greater(arr[lo], arr[hi]):
            swap(lo, hi)
        if _greater(arr[lo + 1], arr[lo]):
            swap(lo + 1, lo)
        i, j, pivot = lo + 1, hi, arr[lo]
        while True:
            i += 1
            while _greater(pivot, arr[i]):
                i += 1
            j -= 1
            while _greater(arr[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1


def _std_sort_positions(row):
    """The original positions in the order libstdc++'s std::sort (introsort: median-of-three
    quicksort down to 16-element pieces, then one insertion sort) leaves them, comparing values
    only, as PyTorch's mode kernel sorts (value, position) pairs."""
    vals = row.tolist()
    pos = list(range(len(vals)))

    def less(i, j):
        return vals[i] < vals[j]

    def partition(first, last):
        a, b, c = first + 1, first + (last - first) // 2, last - 1
        if less(pos[a], pos[b]):
            pick = b if less(pos[b], pos[c]) else (c if less(pos[a], pos[c]) else a)
        else:
            pick = a if less(pos[a], pos[c]) else (c if less(pos[b], pos[c]) else b)
        pos[first], pos[pick] = pos[pick], pos[first]
        lo, hi, pivot = first + 1, last, pos[first]
        while True:
            while less(pos[lo], pivot):
                lo += 1
            hi -= 1
            while less(pivot, pos[hi]):
                hi -= 1
            if not lo < hi:
                return lo
            pos[lo], pos[hi] = pos[hi], pos[lo]
            lo += 1

    pending = [(0, len(pos))]            # the recursion of __introsort_loop (its heapsort fallback
    while pending:                       # at depth 2 log2 n is not replayed)
        first, last = pending.pop()
        while last - first > 16:
            cut = partition(first, last)
            pending.append((cut, last))
            last = cut
    def linear_insert(i):                # __unguarded_linear_insert
        v, j = pos[i], i
        while less(v, pos[j - 1]):
            pos[j] = pos[j - 1]
            j -= 1
        pos[j] = v

    for i in range(1, len(pos)):          # the final insertion sort: the first 16 guarded by a
        if i < 16 and less(pos[i], pos[0]):   # move to the front, the rest unguarded (the
            pos[:i + 1] = [pos[i]] + pos[:i]  # moves differ from a plain insertion sort only
        else:                                 # where NaN makes the comparisons inconsistent)
            linear_insert(i)
    return pos


# -- the ops ---------------------------------------------------------------------------------------

def _rows(a, d):
    """a with dim d moved last and the rest flattened: (rows, L)."""
    if a.ndim == 0:
        return a.reshape(1, 1)
    return _ns(a).moveaxis(a, d, -1).reshape(-1, a.shape[d])


def _equal_to(rows, vals):
    """rows == vals[:, None], NaN equal to NaN."""
    xp = _ns(rows)
    v = vals[:, None]
    eq = rows == v
    if is_floating(rows.dtype):
        eq |= xp.isnan(rows) & xp.isnan(v)
    return eq


def _first_or_replay(rows, vals, replay):
    """The index of each row's selected value: its only occurrence, or on the CPU (where it occurs
    more than once, for inputs within the budget) replay(row); else its first occurrence."""
    xp = _ns(rows)
    eq = _equal_to(rows, vals)
    idx = eq.argmax(axis=1).astype(np.int64)
    if xp is np and rows.size <= _REPLAY_BUDGET:
        for r in np.nonzero(eq.sum(axis=1) > 1)[0]:
            idx[r] = replay(r)
    return idx


def _selected(input, d, keepdim, vals, idx, node_cls, name):
    """Shape the per-row results back (dim d dropped unless keepdim) and connect the node."""
    a = input._a
    out_shape = tuple(s for i, s in enumerate(a.shape) if i != d)
    vals, idx = vals.reshape(out_shape), idx.reshape(out_shape)
    if keepdim and a.ndim:
        vals, idx = _ns(a).expand_dims(vals, d), _ns(a).expand_dims(idx, d)
    t, it = _wrap(_res(vals)), _wrap(_res(idx))
    if _gs.enabled and input._rg:
        n = new_node(node_cls)
        n.shape, n.dim, n.keepdim = a.shape, d, keepdim
        _finish(t, n, (input,), (it,))
        n._sver = (0,)
    return _RESULT[name](t, it)


def _check_size(name, a, d):
    if a.ndim and a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


@op
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element (k counts from 1) along dim; NaN is larger
    than every number."""
    a = input._a
    d = _wdim(dim, a.ndim)
    _check_size("kthvalue", a, d)
    length = a.shape[d] if a.ndim else 1
    if not 1 <= k <= length:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    rows = _rows(a, d)
    vals = _ns(a).partition(rows, k - 1, axis=1)[:, k - 1]
    idx = _first_or_replay(rows, vals, lambda r: _quick_select(rows[r], k - 1))
    return _selected(input, d, keepdim, vals, idx, KthvalueBackward0, "kthvalue")


def _replayed_mode(row):
    """(value, position) as PyTorch's CPU mode kernel finds them: std::sort the slice (NaN
    compares false both ways, as in C++), then the first longest run of equal (!=) values and the
    position the sort left last in it."""
    order = _std_sort_positions(row)
    vals = row.tolist()
    best = count = 0
    value = position = 0
    for i, p in enumerate(order):
        count += 1
        if i == len(order) - 1 or vals[p] != vals[order[i + 1]]:
            if count > best:
                best, value, position = count, vals[p], p
            count = 0
    return value, position


@op
def mode(input, dim=-1, keepdim=False):
    """(values, indices) of the most frequent value along dim (the smallest such value on a tie in
    frequency) and where it occurs. PyTorch's CPU kernel sorts each slice with std::sort and reports
    the position left last in the value's run; the CPU replays that where it can differ from the
    last occurrence (slices longer than 16, or holding NaN), for inputs up to 2**18 elements.
    Beyond that, and on cuda, the index is the value's last occurrence."""
    a = input._a
    d = _wdim(dim, a.ndim)
    _check_size("mode", a, d)
    xp = _ns(a)
    rows = _rows(a, d)
    n, length = rows.shape
    s = xp.sort(rows, axis=1)
    new_run = xp.ones(s.shape, dtype=bool)
    new_run[:, 1:] = s[:, 1:] != s[:, :-1]
    run = xp.cumsum(new_run, axis=1) - 1                 # each element's run number in its row
    counts = xp.bincount((run + xp.arange(n)[:, None] * length).reshape(-1), minlength=n * length)
    run_length = xp.take_along_axis(counts.reshape(n, length), run, 1)
    best = run_length.argmax(axis=1)                     # the first longest run: the smallest value
    vals = xp.take_along_axis(s, best[:, None], 1)[:, 0]
    last = (length - 1 - _equal_to(rows[:, ::-1], vals).argmax(axis=1)).astype(np.int64)
    if xp is np and a.size <= _REPLAY_BUDGET and a.dtype.kind != "c":
        nan_rows = np.isnan(rows).any(axis=1) if is_floating(a.dtype) else np.zeros(n, bool)
        for r in range(n) if length > 16 else np.nonzero(nan_rows)[0]:
            vals[r], last[r] = _replayed_mode(rows[r])
    return _selected(input, d, keepdim, vals, last, ModeBackward0, "mode")


@op
def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaN: nanmedian(x) -> the lower median of the numbers (NaN when there are
    none); nanmedian(x, dim) -> (values, indices)."""
    a = input._a
    xp = _ns(a)
    if dim is None:
        flat = a.reshape(-1)
        if is_floating(a.dtype):
            flat = flat[~xp.isnan(flat)]              # (cuda: a boolean mask reads the count back)
        v = xp.sort(flat)[(flat.size - 1) // 2] if flat.size else xp.asarray(np.nan)
        t = _wrap(_res(xp.asarray(v, dtype=a.dtype).reshape(())))
        if _gs.enabled and input._rg:
            n = new_node(NanmedianBackward0)
            _finish(t, n, (input,))
            n._saved = (input, _SavedOutput(t))
            n._sver = (input._ver[0], 0)
        return t
    d = _wdim(dim, a.ndim)
    _check_size("median", a, d)           # (PyTorch names median in this message)
    rows = _rows(a, d)
    length = rows.shape[1]
    numbers = length - xp.isnan(rows).sum(axis=1) if is_floating(a.dtype) else xp.full(len(rows), length)
    k = xp.maximum(numbers - 1, 0) // 2               # C++'s (numbers - 1) / 2 truncates -1 to 0
    idx = xp.take_along_axis(xp.argsort(rows, axis=1, kind="stable"), k[:, None], 1)[:, 0]
    vals = xp.take_along_axis(rows, idx[:, None], 1)[:, 0]
    return _selected(input, d, keepdim, vals, idx, NanmedianBackward1, "nanmedian")


# -- quantile / nanquantile: PyTorch's composition (sort, gather below and above, lerp) ----------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    """PyTorch's quantile_compute, op for op, so values, gradient (to the two sorted neighbours,
    with the interpolation weights) and grad_fn graph are PyTorch's."""
    if not _isinst(q, Tensor):
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q:g}")
        q = ops.scalar_tensor(q, dtype=input.dtype, device=input.device)
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if q.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input.dtype not in (float32, float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if q.dtype != input.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if input.device != q.device:
        raise RuntimeError(f"quantile() q tensor must be on the same device as the input tensor")
    if type(q._a) is np.ndarray and not bool(((q._a >= 0) & (q._a <= 1)).all()):   # no read back on cuda
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    d = None if dim is None else _wdim(dim, input.ndim)
    if d is not None and input.ndim > 0:
        out_shape = list(input.shape)
        if keepdim:
            out_shape[d] = 1
        else:
            del out_shape[d]
    else:
        out_shape = [1] * input.ndim if keepdim else []
    if d is None:
        sorted_ = input.flatten().sort().values
    elif d == input.ndim - 1:
        sorted_ = input.sort().values
    else:
        sorted_ = input.unsqueeze(-1).transpose(d, -1).sort().values
    in_shape = out_shape + [sorted_.shape[-1]]
    sorted_ = sorted_.view(in_shape)
    if sorted_.shape[-1] > 2 ** 24:
        raise RuntimeError("quantile() input tensor is too large")
    qd = q.detach()
    if ignore_nan:
        ranks = qd * (sorted_.isnan().logical_not().sum(-1, True) - 1)
        ranks = ranks.masked_fill(ranks < 0, 0)
    else:
        last = sorted_.shape[-1] - 1
        r, nan = ops.broadcast_tensors(qd * last, sorted_.isnan().any(-1, True))
        ranks = r.masked_fill(nan, last)
    if interpolation == "lower":
        ranks = ranks.floor()
    elif interpolation == "higher":
        ranks = ranks.ceil()
    elif interpolation == "nearest":
        ranks = ranks.round()
    below = ranks.long()
    values = sorted_.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        weights = ops.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - below
        values = values.lerp(sorted_.gather(-1, ranks.ceil().long()), weights)
    if q.ndim == 0:
        return values.squeeze_(-1)
    return values.unsqueeze_(0).transpose_(0, -1).squeeze_(-1)


@op
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The q-th quantiles of input (all of it, or along dim), interpolating between the two
    nearest sorted elements; a NaN in a slice makes its quantile NaN. q: a float or 1-D tensor
    in [0, 1] (a 1-D q puts its quantiles along a new first dim)."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


@op
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """quantile ignoring NaN (a slice of NaN only gives NaN)."""
    return _quantile(input, q, dim, keepdim, interpolation, True)
