"""torch.linalg's inverses, determinants, solvers and factorizations: forward and backward side by side."""
import contextlib

import numpy as np

from ..autograd.graph import Node, new_node
from ._core import return_type, _finish_outputs, _needs, _ns, _pair, _res, _wrap
from ._registry import op
from .. import ops
from .._dtype import is_floating


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: the input has no such factorization (singular, not positive-definite)."""


_SlogdetLinalg = return_type("linalg_slogdet", ["sign", "logabsdet"])


_Slogdet = return_type("slogdet", ["sign", "logabsdet"])


_Qr = return_type("linalg_qr", ["Q", "R"])


_Eigh = return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])


_Svd = return_type("linalg_svd", ["U", "S", "Vh"])


def _la(a):
    """The linalg namespace of array a's device."""
    return _ns(a).linalg


_NO_CHECKS = contextlib.nullcontext()


def _raising(a):
    """Make CuPy's solvers raise numpy.linalg.LinAlgError on a singular / not positive-definite /
    non-converging input, as NumPy's do. CuPy skips that check (a device->host read of the solver's
    status) unless asked with cupyx.errstate(linalg="raise"); the setting is per thread (training
    may run in a worker thread), so it is asked for around each call. PyTorch's non-`_ex` linalg
    functions read the status back too, so this costs what PyTorch's calls cost. det and slogdet
    are not wrapped: a singular matrix's determinant is 0, an answer rather than an error."""
    if type(a) is np.ndarray:
        return _NO_CHECKS
    import cupyx
    return cupyx.errstate(linalg="raise")


def _no_convergence(name, what):
    return LinAlgError(f"linalg.{name}: The algorithm failed to converge because the input matrix is "
                       f"ill-conditioned or has too many repeated {what}.")


def _check_matrix(A, name, square=True):
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if not is_floating(A._a.dtype):
        from .._tensor import _LEGACY       # int64 -> "LongTensor": PyTorch names the type "Long"
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as input. Got "
                           f"{_LEGACY[str(A._a.dtype)][:-len('Tensor')]}")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def _first_zero_pivot(m):
    """1-based index of the first zero pivot of LU with partial pivoting (LAPACK's getrf info), or 0."""
    m = np.array(m, dtype=np.float64)
    n = m.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(m[k:, k])))
        if m[p, k] == 0:
            return k + 1
        m[[k, p]] = m[[p, k]]
        m[k + 1:, k:] -= np.outer(m[k + 1:, k] / m[k, k], m[k, k:])
    return 0


def _batches(a):
    """(batch label, matrix) for each matrix of a (on the host)."""
    host = a if type(a) is np.ndarray else a.get()
    flat = host.reshape((-1,) + host.shape[-2:])
    for i, m in enumerate(flat):
        yield (f"(Batch element {i}): " if host.ndim > 2 else ""), m


def _singular_error(a, name):
    for label, m in _batches(a):
        k = _first_zero_pivot(m)
        if k:
            return LinAlgError(f"linalg.{name}: {label}The diagonal element {k} is zero, the inversion could not "
                               "be completed because the input matrix is singular.")
    return LinAlgError(f"linalg.{name}: The input matrix is singular.")


def _not_pd_error(a):
    for label, m in _batches(a):
        for k in range(1, m.shape[0] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                return LinAlgError(f"linalg.cholesky: {label}The factorization could not be completed because the "
                                   f"input is not positive-definite (the leading minor of order {k} is not "
                                   "positive-definite).")
    return LinAlgError("linalg.cholesky: The factorization could not be completed because the input is not "
                       "positive-definite.")


def _record(node, outs, inputs, saved=()):
    """Connect outputs `outs` (output_nr = position) to `node`. saved: tensors for backward; an
    output among them is kept by array, as the engine keeps an op's own outputs."""
    _finish_outputs(outs, node, inputs, saved)


def _fill(grads, metas, like):
    """Missing output gradients as zeros (a multi-output node gets None for unused outputs)."""
    return [g if g is not None else ops.zeros(m[0], dtype=like.dtype, device=like.device)
            for g, m in zip(grads, metas)]


def _eye_like(n, t):
    return ops.eye(n, dtype=t.dtype, device=t.device)


def _diag_embed(v):
    """Batched diagonal matrices from the last dim of v."""
    return v.unsqueeze(-1) * _eye_like(v.shape[-1], v)


class LinalgInvExBackward0(Node):
    __slots__ = ()
    formula = "LinalgInvExBackward0: A: -inverse.mH() @ grad @ inverse.mH()"
    saved_names = ("inverse",)

    def backward(self, g):
        X, = self.saved
        Xh = X.mT
        return -(Xh @ (g @ Xh))


@op(function=False, method=False)
def inv(A, *, out=None):
    """The inverse of each square matrix in A (..., n, n)."""
    _check_matrix(A, "inv")
    a = A._a
    try:
        with _raising(a):
            r = _la(a).inv(a)
    except np.linalg.LinAlgError:
        raise _singular_error(a, "inv") from None
    t = _wrap(r)
    if _needs(A):
        n = new_node(LinalgInvExBackward0)
        _record(n, (t,), (A,), (t,))
    return t


@op
def inverse(input, *, out=None):
    """torch.inverse: linalg.inv."""
    return inv(input)


class LinalgDetBackward0(Node):
    __slots__ = ()
    formula = "LinalgDetBackward0: A: (grad * det).unsqueeze(-1).unsqueeze(-1) * inv(A).mH()"
    saved_names = ("A", "result")

    def backward(self, g):
        A, d = self.saved
        return (g * d).unsqueeze(-1).unsqueeze(-1) * inv(A).mT


@op
def det(A):
    """The determinant of each square matrix in A (..., n, n)."""
    _check_matrix(A, "det")
    a = A._a
    t = _wrap(_res(_la(a).det(a)))
    if _needs(A):
        n = new_node(LinalgDetBackward0)
        _record(n, (t,), (A,), (A, t))
    return t


class LinalgSlogdetBackward0(Node):
    __slots__ = ()
    formula = "LinalgSlogdetBackward0: A: grad_logabsdet.unsqueeze(-1).unsqueeze(-1) * inv(A).mH()"
    saved_names = ("A",)

    def _apply(self, grads):
        g = grads[1]
        if g is None:       # the sign is piecewise constant: no gradient flows from it
            return (None,)
        A, = self.saved
        return (g.unsqueeze(-1).unsqueeze(-1) * inv(A).mT,)


def _slogdet(A, name, rtype):
    _check_matrix(A, name)
    a = A._a
    sign, logabs = _la(a).slogdet(a)
    s, l = _wrap(_res(sign)), _wrap(_res(logabs))
    if _needs(A):
        n = new_node(LinalgSlogdetBackward0)
        _record(n, (s, l), (A,), (A,))
    return rtype(s, l)


@op(function=False, method=False)
def linalg_slogdet(A, *, out=None):
    """(sign, log|det|) of each square matrix in A, as torch.linalg.slogdet."""
    return _slogdet(A, "slogdet", _SlogdetLinalg)


@op
def slogdet(input):
    """torch.slogdet: linalg.slogdet under the name torch.return_types.slogdet."""
    return _slogdet(input, "slogdet", _Slogdet)


@op
def logdet(input):
    """log det(A): nan where det < 0 (torch.logdet)."""
    s, l = _slogdet(input, "slogdet", _Slogdet)
    return ops.where(s < 0, ops.full_like(l, float("nan")), l)


class LinalgSolveExBackward0(Node):
    __slots__ = ("left", "vector")
    formula = ("LinalgSolveExBackward0: B: gB = linalg.solve(A.mH(), grad, left=left), "
               "A: -gB @ result.mH() if left else -result.mH() @ gB")
    saved_names = ("A", "result")
    saved_attrs = ("left",)

    def backward(self, g):
        A, X = self.saved
        left = self.left
        d = -1 if left else -2          # where a vector right-hand side gets its unit dim
        if self.vector:
            g, X = g.unsqueeze(d), X.unsqueeze(d)
        gB = solve(A.mT, g, left=left)
        need_A = self._next[0][0] is not None
        gA = (-(gB @ X.mT) if left else -(X.mT @ gB)) if need_A else None
        return gA, (gB.squeeze(d) if self.vector else gB)


@op(function=False, method=False)
def solve(A, B, *, left=True, out=None):
    """X with A X = B (left=True) or X A = B; B may be a (batch of) vector(s)."""
    _check_matrix(A, "solve")
    vector = B.ndim == 1 or (A.ndim - 1 == B.ndim and tuple(B.shape) == tuple(A.shape[:-1]))
    a, b = _pair(A, B)
    if vector:
        b = b[..., None] if left else b[..., None, :]
    n = a.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {b.shape[-2]}x{b.shape[-1]})")
    la = _la(a)
    try:
        with _raising(a):
            if left:
                r = la.solve(a, b)
            else:
                r = la.solve(a.swapaxes(-1, -2), b.swapaxes(-1, -2)).swapaxes(-1, -2)
    except np.linalg.LinAlgError:
        raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None
    if vector:
        r = r[..., 0] if left else r[..., 0, :]
    t = _wrap(_res(r))
    if _needs(A, B):
        nd = new_node(LinalgSolveExBackward0)
        nd.left, nd.vector = left, vector
        _record(nd, (t,), (A, B), (A, t))
    return t


class LinalgCholeskyExBackward0(Node):
    __slots__ = ("upper",)
    formula = ("LinalgCholeskyExBackward0: A: phi = tril(L.mH() @ gL); phi = (phi + tril(phi, -1).mH()) / 2; "
               "A: L^{-H} phi L^{-1}")
    saved_names = ("L",)
    saved_attrs = ("upper",)

    def backward(self, g):
        L, = self.saved
        if self.upper:
            L, g = L.mT, g.mT
        phi = (L.mT @ g).tril()
        phi = 0.5 * (phi + phi.tril(-1).mT)
        return solve(L, solve(L.mT, phi), left=False)


@op(function=False, method=False)
def cholesky(A, *, upper=False, out=None):
    """The Cholesky factor L (A = L L^H) of each symmetric positive-definite matrix in A."""
    _check_matrix(A, "cholesky")
    a = A._a
    try:
        with _raising(a):
            r = _la(a).cholesky(a)
    except np.linalg.LinAlgError:
        raise _not_pd_error(a) from None
    if upper:
        r = r.swapaxes(-1, -2).copy()
    t = _wrap(r)
    if _needs(A):
        n = new_node(LinalgCholeskyExBackward0)
        n.upper = upper
        _record(n, (t,), (A,), (t,))
    return t


def _copyltu(M):
    """The symmetric matrix whose lower triangle is M's."""
    return M.tril() + M.tril(-1).mT


def _qr_square_or_tall(gQ, gR, Q, R):
    """PyTorch's QR backward for m >= n: (gQ + Q copyltu(R gR^H - gQ^H Q)) R^{-H}."""
    M = R @ gR.mT - gQ.mT @ Q
    return solve(R.mT, gQ + Q @ _copyltu(M), left=False)


class LinalgQrBackward0(Node):
    __slots__ = ("mode",)
    formula = ("LinalgQrBackward0: A: (gQ + Q copyltu(R gR^H - gQ^H Q)) R^{-H} for m >= n; "
               "for m < n: [that for (gQ + Y gV^H, gU), Q gV] with A = [X, Y], R = [U, V]")
    saved_names = ("A", "Q", "R")
    saved_attrs = ("mode",)

    def _apply(self, grads):
        A, Q, R = self.saved
        m, n = A.shape[-2], A.shape[-1]
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        gQ, gR = _fill(grads, self._meta, Q)
        if m >= n:
            return (_qr_square_or_tall(gQ, gR, Q, R),)
        U, V = R[..., :m], R[..., m:]
        gU, gV = gR[..., :m], gR[..., m:]
        Y = A[..., m:]
        gX = _qr_square_or_tall(gQ + Y @ gV.mT, gU, Q, U)
        return (ops.cat([gX, Q @ gV], -1),)


@op(function=False, method=False)
def qr(A, mode="reduced", *, out=None):
    """A = Q R with orthonormal Q and upper-triangular R; mode 'reduced', 'complete' or 'r'."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    _check_matrix(A, "qr", square=False)
    a = A._a
    la = _la(a)
    q, r = la.qr(a, mode="complete" if mode == "complete" else "reduced")
    Q, R = _wrap(_res(q)), _wrap(_res(r))
    if mode == "r":
        Q = _wrap(_ns(a).zeros((0,), a.dtype))
    if _needs(A):
        n = new_node(LinalgQrBackward0)
        n.mode = mode
        _record(n, (Q, R), (A,), (A, Q, R))
    return _Qr(Q, R)


class LinalgEighBackward0(Node):
    __slots__ = ()
    formula = ("LinalgEighBackward0: A: V (diag(gL) + skew(V^H gV) / (L_j - L_i)) V^H, "
               "skew(X) = (X - X^H) / 2")
    saved_names = ("eigenvalues", "eigenvectors")

    def _apply(self, grads):
        L, V = self.saved
        gL, gV = grads
        if gV is None:
            return ((V * gL.unsqueeze(-2)) @ V.mT,)
        W = V.mT @ gV
        W = 0.5 * (W - W.mT)
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + _eye_like(L.shape[-1], L)
        inner = W / E
        if gL is not None:
            inner = inner + _diag_embed(gL)
        return (V @ (inner @ V.mT),)


def _eigh(A, UPLO, name):
    _check_matrix(A, name)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    a = A._a
    try:
        with _raising(a):
            w, v = _la(a).eigh(a, UPLO=UPLO)
    except np.linalg.LinAlgError:
        raise _no_convergence(name, "eigenvalues") from None
    L, V = _wrap(_res(w)), _wrap(_res(v))
    if _needs(A):
        n = new_node(LinalgEighBackward0)
        _record(n, (L, V), (A,), (L, V))
    return L, V


@op(function=False, method=False)
def eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors of each symmetric matrix in A."""
    return _Eigh(*_eigh(A, UPLO, "eigh"))


@op(function=False, method=False)
def eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues (ascending) of each symmetric matrix in A."""
    return _eigh(A, UPLO, "eigvalsh")[0]


class LinalgSvdBackward0(Node):
    __slots__ = ("full_matrices",)
    formula = ("LinalgSvdBackward0: A: U [(skew(U^H gU) S + S skew(V^H gV)) / (S_j^2 - S_i^2) + diag(gS)] V^H "
               "(+ the parts of gU, gV outside span(U), span(V) when m != n)")
    saved_names = ("U", "S", "Vh")
    saved_attrs = ("full_matrices",)

    def _apply(self, grads):
        U, S, Vh = self.saved
        gU, gS, gVh = grads
        k = S.shape[-1]
        if self.full_matrices:
            U, Vh = U[..., :k], Vh[..., :k, :]
            gU = gU[..., :k] if gU is not None else None
            gVh = gVh[..., :k, :] if gVh is not None else None
        m, n = U.shape[-2], Vh.shape[-1]
        if gU is None and gVh is None:
            return ((U @ (gS.unsqueeze(-1) * Vh)) if m >= n else ((U * gS.unsqueeze(-2)) @ Vh),)
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye_like(k, S)
        UhgU = (lambda X: X - X.mT)(U.mT @ gU) if gU is not None else None
        VhgV = (lambda X: X - X.mT)(Vh @ gVh.mT) if gVh is not None else None
        if UhgU is not None and VhgV is not None:
            inner = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
        elif UhgU is not None:
            inner = UhgU * (S.unsqueeze(-2) / E)
        else:
            inner = S.unsqueeze(-1) * VhgV / E
        if gS is not None:
            inner = inner + _diag_embed(gS)
        if m > n and gU is not None:
            gA = U @ inner
            gUSinv = gU / S.unsqueeze(-2)
            gA = (gA + gUSinv - U @ (U.mT @ gUSinv)) @ Vh
        elif m < n and gVh is not None:
            gA = inner @ Vh
            SinvgVh = gVh / S.unsqueeze(-1)
            gA = U @ (gA + SinvgVh - (SinvgVh @ Vh.mT) @ Vh)
        else:
            gA = U @ (inner @ Vh) if m >= n else (U @ inner) @ Vh
        return (gA,)


def _svd(A, full_matrices, name):
    _check_matrix(A, name, square=False)
    a = A._a
    try:
        with _raising(a):
            u, s, vh = _la(a).svd(a, full_matrices=full_matrices)
    except np.linalg.LinAlgError:
        raise _no_convergence(name, "singular values") from None
    U, S, Vh = (_wrap(_res(x)) for x in (u, s, vh))
    if _needs(A):
        n = new_node(LinalgSvdBackward0)
        n.full_matrices = full_matrices
        _record(n, (U, S, Vh), (A,), (U, S, Vh))
    return U, S, Vh


@op(namespace="linalg")                  # engine.linalg.svd
def svd(A, full_matrices=True, *, driver=None, out=None):
    """A = U diag(S) Vh, singular values descending (reduced with full_matrices=False)."""
    return _Svd(*_svd(A, full_matrices, "svd"))


_SvdTorch = return_type("svd", ["U", "S", "V"])


@op("svd")                               # engine.svd / Tensor.svd, torch.svd's older interface
def svd_usv(input, some=True, compute_uv=True, *, out=None):
    """input = U diag(S) V^T with V (not Vh); reduced unless some=False. Without compute_uv,
    U and V are zero-filled (m, m) and (n, n) matrices, as in PyTorch."""
    if not compute_uv:
        S = _svd(input.detach(), False, "svd")[1]
        m, n = input.shape[-2:]
        batch = tuple(input.shape[:-2])
        zeros = ops.zeros
        return _SvdTorch(zeros(batch + (m, m), dtype=input.dtype, device=input.device), S,
                         zeros(batch + (n, n), dtype=input.dtype, device=input.device))
    U, S, Vh = _svd(input, not some, "svd")
    return _SvdTorch(U, S, Vh.mT)


@op(function=False, method=False)
def svdvals(A, *, driver=None, out=None):
    """The singular values of each matrix in A, descending."""
    return _svd(A, False, "svd")[1]


class LinalgPinvBackward0(Node):
    __slots__ = ()
    formula = "LinalgPinvBackward0: A: pinv_backward(grad, result, A)"
    saved_names = ("A", "result")

    def backward(self, g):
        A, P = self.saved
        m, n = A.shape[-2], A.shape[-1]
        Ph, gh = P.mT, g.mT
        if m <= n:
            K = gh @ P
            KPh = K @ Ph
            return -(P @ K).mT + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A)
        K = P @ gh
        PhK = Ph @ K
        return -(K @ P).mT + ((gh - A @ K) @ P) @ Ph + PhK - (PhK @ P) @ A


@op(function=False, method=False)
def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The Moore-Penrose pseudoinverse: singular values at most max(atol, rtol * largest) count as zero."""
    _check_matrix(A, "pinv", square=False)
    a = A._a
    xp = _ns(a)
    try:
        with _raising(a):
            u, s, vh = _la(a).svd(a, full_matrices=False)
    except np.linalg.LinAlgError:
        raise _no_convergence("pinv", "singular values") from None
    smax = s[..., :1] if s.shape[-1] else s
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(a.shape[-2:]) * float(np.finfo(a.dtype).eps)
    tol = xp.maximum(atol or 0.0, rtol * smax)
    sinv = xp.where(s > tol, 1.0 / xp.where(s > tol, s, 1.0), 0.0).astype(a.dtype)
    r = vh.swapaxes(-1, -2) @ (sinv[..., :, None] * u.swapaxes(-1, -2))
    t = _wrap(_res(r))
    if _needs(A):
        n = new_node(LinalgPinvBackward0)
        _record(n, (t,), (A,), (A, t))
    return t


@op
def pinverse(input, rcond=1e-15):
    """torch.pinverse: linalg.pinv with rtol=rcond."""
    return pinv(input, rtol=rcond)


def _expm(a):
    """exp of each square matrix in a: scaling and squaring around a degree-18 Taylor polynomial."""
    xp = _ns(a)
    # one host read of the 1-norm picks the number of squarings (PyTorch's matrix_exp reads its norm too)
    norm = float(xp.abs(a).sum(-2).max()) if a.size else 0.0
    s = max(0, int(np.ceil(np.log2(norm / 0.5)))) if norm > 0.5 else 0
    x = a / (2.0 ** s)
    term = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    r = term.copy()
    for k in range(1, 19):
        term = (term @ x) / k
        r = r + term
    for _ in range(s):
        r = r @ r
    return r


class LinalgMatrixExpBackward0(Node):
    __slots__ = ()
    formula = "LinalgMatrixExpBackward0: A: matrix_exp([[A^H, grad], [0, A^H]])[:n, n:]"
    saved_names = ("A",)

    def backward(self, g):
        A, = self.saved
        n = A.shape[-1]
        At = A.mT
        block = ops.cat([ops.cat([At, g], -1), ops.cat([ops.zeros_like(At), At], -1)], -2)
        return matrix_exp(block)[..., :n, n:]


@op
def matrix_exp(A):
    """The matrix exponential of each square matrix in A."""
    _check_matrix(A, "matrix_exp")
    t = _wrap(_expm(A._a))
    if _needs(A):
        n = new_node(LinalgMatrixExpBackward0)
        _record(n, (t,), (A,), (A,))
    return t


@op
def matrix_power(input, n):
    """input (..., m, m) to the integer power n: n >= 0 by repeated squaring (PyTorch's order of
    products, so the same graph of MmBackward0 nodes), n < 0 as inv(input) to the power -n;
    n == 0 is the identity (a copy into input's clone, whose gradient is zero)."""
    if input.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if input.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{input.shape[-2]} by {input.shape[-1]} matrices")
    n = int(n)
    if n == 0:
        eye = ops.eye(input.shape[-1], dtype=input.dtype, device=input.device)
        return input.clone().copy_(eye.expand(input.shape))
    a = inv(input) if n < 0 else input
    if n in (1, -1):
        return a if n < 0 else a.clone()      # PyTorch's grad_fn: LinalgInvExBackward0, CloneBackward0
    n = abs(n)
    if n == 2:
        return ops.matmul(a, a)
    if n == 3:
        return ops.matmul(ops.matmul(a, a), a)
    z = result = None
    while n:
        z = a if z is None else ops.matmul(z, z)
        if n & 1:
            result = z if result is None else ops.matmul(result, z)
        n >>= 1
    return result
