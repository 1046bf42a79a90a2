"""Matrix decompositions and what is built on them: eigh, eigvalsh, eig, eigvals, svd, qr, pinv, lstsq.

Each rule factors the primal by calling NumPy on it (when the primal is itself a Dual of an outer derivative,
that call runs this rule one level down, so higher derivatives nest) and writes the tangent with matrix
products of the factors. With P the tangent dA seen in the factors' bases:

* eigh   A = V Λ Vᵀ:  P = Vᵀ dA V,  dΛ = diag(P),  dV = V (F ∘ P),  F_ij = 1/(λ_j − λ_i) off the diagonal, 0 on it
* eig    A = V Λ V⁻¹: P = V⁻¹ dA V, dΛ = diag(P),  dV = V (F ∘ P) + V diag(c), c keeping NumPy's normalisation
* svd    A = U S Vᵀ:  P = Uᵀ dA V,  dS = diag(P),  dU = U (G ∘ (P S + S Pᵀ)) + (I − UUᵀ) dA V S⁻¹,
         dV = V (G ∘ (S P + Pᵀ S)) + (I − VVᵀ) dAᵀ U S⁻¹,  G_ij = 1/(s_j² − s_i²) off the diagonal
* qr     A = Q R:     X = dA R⁻¹, C = Qᵀ X, Ω = tril(C, −1) − tril(C, −1)ᵀ;  dQ = X + Q (Ω − C),  dR = (C − Ω) R
* pinv   A⁺:          dA⁺ = −A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I − AA⁺) + (I − A⁺A) dAᵀ A⁺ᵀA⁺  (A of constant rank along dA)

These derivatives exist where the factorisation is locally unique: distinct eigenvalues (singular values),
nonzero singular values, full rank (for pinv, a rank the tangent keeps). Elsewhere the rules raise
``NonDifferentiableError``; values closer than NumPy's rank tolerance max(m, n)·ε·max|value| count as equal.
Eigenvectors and singular vectors are unique only up to sign (a phase for complex ones); the tangent is that
of NumPy's own normalisation with NumPy's sign held fixed.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..backend import namespace
from ..errors import MissingRuleError, NonDifferentiableError
from ..registry import bind, defprimitive, implements
from ._util import as_operand, innermost, max_or, rank_tolerance, refuse_where
from .linalg import conj, conj_transpose, hermitian_from_triangle, is_complex, real_part, solve_stacked
from .queries import plain_result

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
QRResult = namedtuple("QRResult", ["Q", "R"])


def _mT(x):
    """The matrix transpose of the last two axes (of a tangent block too: k stays first)."""
    return np.swapaxes(x, -1, -2)


def _off_diagonal_reciprocal(d):
    """1/d off the diagonal and 0 on it, for a stack (..., n, n) of differences d with a zero diagonal."""
    values = innermost(d)
    eye = namespace(values).eye(values.shape[-1], dtype=values.real.dtype)
    return 1 / (d + eye) - eye


def _keep_real(v, dv, pivot, op):
    """i·c (..., 1, r) such that dv + v·i·c keeps real the component of each column of v that NumPy (LAPACK) makes
    real, picked by the one-hot ``pivot`` (..., n, r): c = −Im(dv_p)/v_p. A complex eigen- or singular vector is
    unique only up to a phase; this is the phase NumPy chose. Refuses if NumPy's factor does not follow it."""
    values = innermost(v)
    xp = namespace(values)
    picked = (values * pivot).sum(axis=-2)
    tol = values.shape[-2] * np.finfo(values.dtype).eps
    if bool((xp.abs(picked.imag) > tol).any()):
        raise MissingRuleError(f"{op}: this NumPy's LAPACK normalises the phase of complex vectors differently from "
                               "the convention dualgrad's rule knows; use real matrices, or the values alone.")
    if bool((xp.abs(picked) <= tol).any()):
        raise NonDifferentiableError(f"{op}: the component that fixes a complex vector's phase is zero, so the phase "
                                     "(and the vector) is not differentiable here; use the values alone.")
    return -1j * (np.imag((dv * pivot).sum(axis=-2, keepdims=True)) / np.real((v * pivot).sum(axis=-2, keepdims=True)))


def _row_pivot(v, row):
    """The one-hot (n, r) selecting row ``row`` of every column."""
    values = innermost(v)
    xp = namespace(values)
    return xp.arange(values.shape[-2])[:, None] == (row % values.shape[-2])


# ----- where the derivative exists ---------------------------------------------------------------------------
def require_distinct(values, shape, op, what, fix):
    """Refuse if two of the values (..., r) of (..., m, n) matrices are equal to NumPy's rank tolerance."""
    v = innermost(values)
    n = v.shape[-1]
    if n < 2:
        return
    xp = namespace(v)
    gaps = xp.where(xp.eye(n, dtype=bool), xp.inf, xp.abs(v[..., :, None] - v[..., None, :])).min(axis=(-2, -1))
    refuse_where(gaps <= rank_tolerance(v, shape), op, f"two {what} are equal to rounding", fix)


def require_nonzero(s, shape, op, fix):
    """Refuse if a singular value (..., r) of (..., m, n) matrices is zero to NumPy's rank tolerance."""
    v = innermost(s)
    if v.shape[-1]:
        refuse_where(v.min(axis=-1) <= rank_tolerance(v, shape), op, f"a matrix of shape {tuple(shape)[-2:]} is "
                     "rank-deficient (a singular value is zero to rounding)", fix)


SPECTRUM_FIX = ("A smooth function of the whole spectrum (np.trace, np.linalg.slogdet, the Frobenius norm) has a "
                "derivative; or perturb the matrix.")


# ----- eigh, eigvalsh ---------------------------------------------------------------------------------------------
def _eigh_rule(primals, tangents, UPLO):
    (a,), (ta,) = primals, tangents
    w, v = namespace(a).linalg.eigh(a, UPLO=UPLO)
    if ta is None:
        return (w, v), None
    require_distinct(w, a.shape, "linalg.eigh", "eigenvalues", SPECTRUM_FIX)
    p = conj_transpose(v) @ hermitian_from_triangle(ta, UPLO) @ v          # (k, ..., n, n): dA in the eigenbasis
    f = _off_diagonal_reciprocal(w[..., None, :] - w[..., :, None])     # F_ij = 1/(λ_j − λ_i)
    dv = v @ (f * p)
    if is_complex(v):                      # LAPACK's phase: the first (UPLO "L") or last ("U") component is real
        dv = dv + v * _keep_real(v, dv, _row_pivot(v, 0 if UPLO == "L" else -1), "linalg.eigh")
    return (w, v), (real_part(np.diagonal(p, axis1=-2, axis2=-1)), dv)


def _eigvalsh_rule(primals, tangents, UPLO):
    (a,), (ta,) = primals, tangents
    w, v = namespace(a).linalg.eigh(a, UPLO=UPLO)
    if ta is None:
        return w, None
    require_distinct(w, a.shape, "linalg.eigvalsh", "eigenvalues", SPECTRUM_FIX)
    return w, real_part(np.sum((hermitian_from_triangle(ta, UPLO) @ v) * conj(v), axis=-2))   # dλ_i = v_iᴴ dA v_i


_eigh = defprimitive(
    "eigh", _eigh_rule, family="linalg", complex=True, numpy=("np.linalg.eigh",),
    note="distinct eigenvalues (equal to NumPy's rank tolerance: NonDifferentiableError); reads the triangle UPLO "
         "as NumPy does (dA made Hermitian from it); eigenvectors: unit norm with NumPy's sign held fixed; complex: "
         "LAPACK's phase, each eigenvector's first (UPLO L) or last (U) component real, checked at run time")
_eigvalsh = defprimitive(
    "eigvalsh", _eigvalsh_rule, family="linalg", complex=True, numpy=("np.linalg.eigvalsh",),
    note="distinct eigenvalues (a repeated one has no derivative); values as np.linalg.eigh computes them")


@implements(np.linalg.eigh)
def eigh(a, UPLO="L"):
    """(eigenvalues, eigenvectors) of a symmetric matrix stack as NumPy's named tuple."""
    return EighResult(*bind(_eigh, a, UPLO=_uplo(UPLO)))


@implements(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    return bind(_eigvalsh, a, UPLO=_uplo(UPLO))


def _uplo(UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return UPLO.upper()


# ----- eig, eigvals -------------------------------------------------------------------------------------------------
def _eigenvector_gauge(v, dv):
    """c (..., 1, n) such that dv + v·c keeps NumPy's normalisation of each eigenvector v_j: ‖v_j‖ = 1 (Re c_j =
    −Re(v_jᴴ dv_j)) and, for complex v, its largest-modulus component real (Im c_j from ``_keep_real``)."""
    norm_part = -real_part(np.sum(conj(v) * dv, axis=-2, keepdims=True))
    if not is_complex(v):
        return norm_part
    values = innermost(v)
    xp = namespace(values)
    pivot = xp.arange(values.shape[-2])[:, None] == xp.argmax(xp.abs(values), axis=-2)[..., None, :]
    return norm_part + _keep_real(v, dv, pivot, "linalg.eig")


def _eig_tangents(a, ta, w, v):
    """dΛ and dV of A = V Λ V⁻¹ (A diagonalisable with distinct eigenvalues)."""
    p = np.linalg.inv(v) @ ta @ v                                        # (k, ..., n, n)
    f = _off_diagonal_reciprocal(w[..., None, :] - w[..., :, None])
    dv = v @ (f * p)
    return np.diagonal(p, axis1=-2, axis2=-1), dv + v * _eigenvector_gauge(v, dv)


def _eig_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    w, v = namespace(a).linalg.eig(a)
    if ta is None:
        return (w, v), None
    require_distinct(w, a.shape, "linalg.eig", "eigenvalues", SPECTRUM_FIX)
    return (w, v), _eig_tangents(a, ta, w, v)


def _eigvals_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    w, v = namespace(a).linalg.eig(a)
    if ta is None:
        return w, None
    require_distinct(w, a.shape, "linalg.eigvals", "eigenvalues", SPECTRUM_FIX)
    return w, np.sum(_mT(np.linalg.inv(v)) * (ta @ v), axis=-2)          # dλ_i = (V⁻¹ dA V)_ii


_eig = defprimitive(
    "eig", _eig_rule, family="linalg", complex=True, numpy=("np.linalg.eig",),
    note="distinct eigenvalues (complex output for complex ones); eigenvectors: unit norm, largest component "
         "real (NumPy's normalisation), NumPy's sign held fixed — for complex eigenvalues of a real matrix "
         "LAPACK flips that sign between nearby matrices")
_eigvals = defprimitive(
    "eigvals", _eigvals_rule, family="linalg", complex=True, numpy=("np.linalg.eigvals",),
    note="distinct eigenvalues; values as np.linalg.eig computes them")


@implements(np.linalg.eig)
def eig(a):
    """(eigenvalues, eigenvectors) of a square matrix stack as NumPy's named tuple."""
    return EigResult(*bind(_eig, a))


@implements(np.linalg.eigvals)
def eigvals(a):
    return bind(_eigvals, a)


# ----- svd ------------------------------------------------------------------------------------------------------------
def _svd_tangents(u, s, vh, ta):
    """dU, dS, dVh of the reduced SVD A = U S Vᴴ (distinct nonzero singular values)."""
    m, n = u.shape[-2], vh.shape[-1]
    v = conj_transpose(vh)
    p = conj_transpose(u) @ ta @ v                                       # (k, ..., r, r)
    s_row, s_col = s[..., None, :], s[..., :, None]
    g = _off_diagonal_reciprocal(s_row * s_row - s_col * s_col)         # G_ij = 1/(s_j² − s_i²)
    ps, sp = p * s_row, s_col * p
    du = u @ (g * (ps + conj_transpose(ps)))
    dv = v @ (g * (sp + conj_transpose(sp)))
    if m > n:                                                            # the part of dA V outside U's span
        tav = ta @ v
        du = du + (tav - u @ (conj_transpose(u) @ tav)) / s_row
    if n > m:
        tau = conj_transpose(ta) @ u
        dv = dv + (tau - v @ (vh @ tau)) / s_row
    p_diagonal = np.diagonal(p, axis1=-2, axis2=-1)
    if is_complex(p):              # Im diag(Uᴴ dU − Vᴴ dV) = Im diag(P)/s; LAPACK's phase keeps real the first row
        du = du + u * (1j * np.imag(p_diagonal) / s)[..., None, :]     # of V (m >= n) or of U (m < n)
        w, dw = (v, dv) if m >= n else (u, du)
        phase = _keep_real(w, dw, _row_pivot(w, 0), "linalg.svd")
        du, dv = du + u * phase, dv + v * phase
    return du, real_part(p_diagonal), conj_transpose(dv)


def _complement_tangent(basis, d_basis, complement):
    """d of the one unit vector orthogonal to ``basis`` (..., m, m−1): −basis (d_basisᵀ complement) (real only)."""
    return -(basis @ (_mT(d_basis) @ complement))


SVD_FIX = "Use a smooth function of A instead (np.linalg.norm(A, 'fro'), the nuclear norm of a full-rank A)."


def _svd_rule(primals, tangents, full_matrices, compute_uv):
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    m, n = a.shape[-2:]
    r = min(m, n)
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices and compute_uv)
    if ta is None:
        return ((u, s, vh) if compute_uv else s), None
    require_distinct(s, a.shape, "linalg.svd", "singular values", SVD_FIX)
    require_nonzero(s, a.shape, "linalg.svd", SVD_FIX)
    ur, vhr = u[..., :, :r], vh[..., :r, :]
    if not compute_uv:
        return s, real_part(np.sum((conj_transpose(ur) @ ta) * conj(vhr), axis=-1))   # ds_i = Re u_iᴴ dA v_i
    if is_complex(a) and full_matrices and m != n:
        raise MissingRuleError(
            f"linalg.svd(full_matrices=True) of a complex {m}x{n} matrix: the phase NumPy (LAPACK) gives the extra "
            f"singular vector of {'U' if m > n else 'Vh'} follows no convention dualgrad's rule knows. Use "
            "full_matrices=False.")
    du, ds, dvh = _svd_tangents(ur, s, vhr, ta)
    if u.shape[-1] > r:                                                  # full_matrices, m = n + 1
        du = np.concatenate([du, _complement_tangent(ur, du, u[..., :, r:])], axis=-1)
    if vh.shape[-2] > r:                                                 # full_matrices, n = m + 1
        dv_extra = _complement_tangent(_mT(vhr), _mT(dvh), _mT(vh[..., r:, :]))
        dvh = np.concatenate([dvh, _mT(dv_extra)], axis=-2)
    return (u, s, vh), (du, ds, dvh)


_svd = defprimitive(
    "svd", _svd_rule, family="linalg", complex=True, numpy=("np.linalg.svd", "np.linalg.svdvals"),
    note="distinct nonzero singular values (else NonDifferentiableError); full_matrices=True where the extra singular "
         "vectors are unique up to sign (m, n differ by at most 1); singular vectors: NumPy's signs held fixed; "
         "hermitian=True through eigh; complex singular vectors with full_matrices=False or m = n (LAPACK's phase: the "
         "first row of V real for m >= n, of U for m < n, checked at run time), complex singular values for any shape")


@implements(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """np.linalg.svd on Duals: (U, S, Vh) as NumPy's named tuple, or S alone with ``compute_uv=False``."""
    if hermitian:
        return _hermitian_svd(a, compute_uv)
    m, n = np.shape(a)[-2:]
    if full_matrices and compute_uv and abs(m - n) > 1:
        raise MissingRuleError(
            f"linalg.svd(full_matrices=True) of a {m}x{n} matrix: the last {abs(m - n)} columns of "
            f"{'U' if m > n else 'Vh'} are any orthonormal basis of a {abs(m - n)}-dimensional complement, and NumPy's "
            "choice (LAPACK's) has no derivative formula. Use full_matrices=False.")
    out = bind(_svd, a, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return SVDResult(*out) if compute_uv else out


def _hermitian_svd(a, compute_uv):
    """NumPy's svd(hermitian=True): from eigh, singular values |λ| in descending order, the signs moved into Vh."""
    if not compute_uv:
        return np.flip(np.sort(np.abs(eigvalsh(a)), axis=-1), axis=-1)
    w, v = eigh(a)
    order = np.flip(np.argsort(np.abs(innermost(w)), axis=-1), axis=-1)
    sign = np.take_along_axis(np.sign(innermost(w)), order, axis=-1)
    s = np.take_along_axis(np.abs(w), order, axis=-1)
    u = np.take_along_axis(v, order[..., None, :], axis=-1)
    return SVDResult(u, s, conj_transpose(u * sign[..., None, :]))


@implements(*[np.linalg.svdvals] if hasattr(np.linalg, "svdvals") else [])
def svdvals(x, /):
    """The singular values, as ``np.linalg.svd(x, compute_uv=False)``."""
    return svd(x, compute_uv=False)


# ----- qr -------------------------------------------------------------------------------------------------------------
def _qr_square_tangents(q, r, ta):
    """dQ, dR of A = QR with R square and invertible (A (..., m, n), m >= n). For complex A, LAPACK's R has a real
    diagonal, which Ω's imaginary diagonal keeps real."""
    x = conj_transpose(solve_stacked(conj_transpose(r), conj_transpose(ta)))      # dA R⁻¹
    c = conj_transpose(q) @ x
    low = np.tril(c, -1)
    omega = low - conj_transpose(low)                                    # skew-Hermitian: Qᴴ dQ
    if is_complex(c):
        omega = omega + 1j * np.imag(np.tril(np.triu(c)))
    return x + q @ (omega - c), (c - omega) @ r


QR_FIX = "QR's factors are not differentiable where the leading columns lose rank."


def _qr_rule(primals, tangents, mode):
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    m, n = a.shape[-2:]
    q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
    if ta is None:
        return (r if mode == "r" else (q, r)), None
    k = min(m, n)
    diagonal = np.diagonal(innermost(r), axis1=-2, axis2=-1)
    require_nonzero(np.abs(diagonal), (k, k), "linalg.qr", QR_FIX)
    if is_complex(a) and (bool((diagonal.imag != 0).any()) or q.shape[-1] > k):
        raise MissingRuleError(
            "linalg.qr of a complex matrix: dualgrad's rule knows LAPACK's convention of a real diagonal of R, and "
            "not the phase of the extra columns of mode='complete'; this factorisation does not follow it.")
    qk, rk = q[..., :, :k], r[..., :k, :]
    if m >= n:
        dq, dr = _qr_square_tangents(qk, rk, ta)
    else:                                          # A = Q [R₁ R₂]: R₁ from the square block, dR₂ = Qᴴ (dA₂ − dQ R₂)
        dq, dr1 = _qr_square_tangents(qk, rk[..., :, :m], ta[..., :, :m])
        dr = np.concatenate([dr1, conj_transpose(qk) @ (ta[..., :, m:] - dq @ rk[..., :, m:])], axis=-1)
    if q.shape[-1] > k:                            # complete, m = n + 1: the one extra column of Q
        dq = np.concatenate([dq, _complement_tangent(qk, dq, q[..., :, k:])], axis=-1)
        zero_row = xp.zeros(tuple(dr.shape[:-2]) + (1, n), dtype=innermost(dr).dtype)
        dr = np.concatenate([dr, zero_row], axis=-2)
    return (r, dr) if mode == "r" else ((q, r), (dq, dr))


_qr = defprimitive(
    "qr", _qr_rule, family="linalg", complex=True, numpy=("np.linalg.qr",),
    note="the leading min(m, n) columns of A independent; modes reduced, r, complete (for m <= n + 1; complex: "
         "m <= n); R's diagonal signs are NumPy's (LAPACK's), held fixed; complex: R's diagonal real (LAPACK)")


@implements(np.linalg.qr)
def qr(a, mode="reduced"):
    m, n = np.shape(a)[-2:]
    if mode == "raw" or mode not in ("reduced", "complete", "r"):
        raise MissingRuleError(f"linalg.qr(mode={mode!r}) has no forward rule (Householder reflectors); use "
                               "mode='reduced', 'complete' or 'r'.")
    if mode == "complete" and m > n + 1:
        raise MissingRuleError(
            f"linalg.qr(mode='complete') of a {m}x{n} matrix: the last {m - n} columns of Q are any orthonormal "
            "basis of the complement of A's range, and NumPy's choice has no derivative formula. Use mode='reduced'.")
    out = bind(_qr, a, mode=mode)
    return out if mode == "r" else QRResult(*out)


# ----- pinv, lstsq, matrix_rank -----------------------------------------------------------------------------------
def _pinv_tangent(a, p, da, full_rank):
    """dA⁺ for A (..., m, n) with A⁺ = p, A of constant rank along dA; the projector terms vanish where A has full
    rank (the first for m <= n, the second for m >= n)."""
    m, n = a.shape[-2:]
    dah = conj_transpose(da)
    dp = -(p @ da @ p)
    if m > n or not full_rank:                     # A⁺A⁺ᴴ dAᴴ (I − AA⁺)
        dp = dp + (p @ conj_transpose(p)) @ (dah - (dah @ a) @ p)
    if n > m or not full_rank:                     # (I − A⁺A) dAᴴ A⁺ᴴA⁺
        dp = dp + (dah - p @ (a @ dah)) @ (conj_transpose(p) @ p)
    return dp


def _rank_kept(a, da, cutoff, op, fix):
    """Whether A (..., m, n) has full rank, as pinv sees it (no singular value at or below cutoff·σ_max).

    Where it has not, the pseudo-inverse is differentiable only along matrices of the same rank: refuse unless
    each tangent column keeps the rank to first order, Ũᴴ dA Ṽ = 0 for Ũ, Ṽ the left and right singular vectors
    that pinv cuts off (dA would otherwise carry A's null space into the complement of its range)."""
    values, d_values = innermost(a), innermost(da)
    xp = namespace(values)
    m, n = values.shape[-2:]
    u, s, vh = xp.linalg.svd(values, full_matrices=True)
    r = s.shape[-1]
    cut = s <= cutoff * max_or(s, (s.ndim - 1,), 0.0)                                 # (..., r)
    if not bool(cut.any()):
        return True
    extra = xp.ones(cut.shape[:-1] + (max(m, n) - r,), dtype=bool)
    rows, cols = xp.concatenate([cut, extra[..., :m - r]], -1), xp.concatenate([cut, extra[..., :n - r]], -1)
    leak = (conj_transpose(u) @ d_values @ conj_transpose(vh)) * (rows[..., :, None] & cols[..., None, :])
    size = xp.sqrt(xp.sum(xp.abs(d_values) ** 2, axis=(-2, -1)))                       # (k, ...)
    tol = np.finfo(values.real.dtype).eps ** 0.5        # rounding leaves ~ε·σ_max/σ_r of |dA|, a rank change O(1)
    largest = max_or(xp.abs(leak), (leak.ndim - 2, leak.ndim - 1), 0.0)[..., 0, 0]      # (k, ...)
    refuse_where((largest > tol * size).any(axis=0), op,
                 f"a singular value is at or below the cutoff {cutoff:.3g}·σ_max and the tangent changes the rank "
                 "(the pseudo-inverse jumps where it does)", fix)
    return False


def _pinv_rule(primals, tangents, rcond, hermitian):
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    # CuPy's pinv has no hermitian= (the same pseudo-inverse through the SVD)
    p = xp.linalg.pinv(a, rcond=rcond, hermitian=True) if hermitian and xp is np else xp.linalg.pinv(a, rcond=rcond)
    if ta is None:
        return p, None
    ta = hermitian_from_triangle(ta, "L") if hermitian else ta
    full_rank = _rank_kept(a, ta, rcond, "linalg.pinv", "Regularise instead, e.g. solve (AᵀA + λI) x = Aᵀb.")
    return p, _pinv_tangent(a, p, ta, full_rank)


_pinv = defprimitive(
    "pinv", _pinv_rule, family="linalg", complex=True, numpy=("np.linalg.pinv",),
    note="full rank, or a rank-deficient A whose tangent keeps its rank (pinv(XᵀX) of a wide X: the singular values "
         "cut off by rcond/rtol stay zero to first order; else NonDifferentiableError); hermitian=True reads the "
         "lower triangle, as NumPy")


@implements(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, *, rtol=np._NoValue):
    """np.linalg.pinv on Duals (NumPy's rcond/rtol defaults)."""
    if rcond is not None and rtol is not np._NoValue:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    if rcond is None:
        rcond = 1e-15 if rtol is np._NoValue else (
            max(np.shape(a)[-2:]) * np.finfo(np.result_type(a)).eps if rtol is None else rtol)
    return bind(_pinv, a, rcond=innermost(rcond), hermitian=bool(hermitian))


def _lstsq_rule(primals, tangents, rcond):
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    a, b = as_operand(a, xp), as_operand(b, xp)
    x, residuals, rank, sv = xp.linalg.lstsq(a, b, rcond=rcond)
    if ta is None and tb is None:
        return (x, residuals, rank, sv), None
    m, n = a.shape
    refuse_where(np.asarray(int(innermost(rank)) < min(m, n)), "linalg.lstsq",
                 f"A ({m}x{n}) has rank {int(innermost(rank))} < {min(m, n)} (the least-squares solution jumps "
                 "where the rank changes)", "Drop dependent columns, or regularise.")
    vector = np.ndim(b) == 1
    xm, bm = (x[:, None], b[:, None]) if vector else (x, b)
    tbm = None if tb is None else (tb[..., None] if vector else tb)
    p = xp.linalg.pinv(a, rcond=0.0)                   # full rank: nothing to cut off
    rhs = tbm if ta is None else (-(ta @ xm) if tbm is None else tbm - ta @ xm)        # db − dA x
    dx = p @ rhs
    if ta is not None and m > n:                       # + A⁺A⁺ᴴ dAᴴ r,  r = b − A x
        dx = dx + p @ (conj_transpose(p) @ (conj_transpose(ta) @ (bm - a @ xm)))
    if ta is not None and n > m:                       # + (I − A⁺A) dAᴴ A⁺ᴴ x
        dah_y = conj_transpose(ta) @ (conj_transpose(p) @ xm)
        dx = dx + dah_y - p @ (a @ dah_y)
    d_res = None
    if residuals.shape[-1]:                            # d Σ|r|² = 2 Re Σ conj(r) (db − dA x − A dx)
        d_res = 2 * real_part(np.sum(conj(bm - a @ xm) * (rhs - a @ dx), axis=-2))
    d_sv = None
    if ta is not None:
        require_distinct(sv, a.shape, "linalg.lstsq", "singular values (its 4th output)",
                         "For the solution alone use np.linalg.pinv(A) @ b, whose rule needs full rank only.")
        u, _, vh = xp.linalg.svd(a, full_matrices=False)
        d_sv = real_part(np.sum((conj_transpose(u) @ ta) * conj(vh), axis=-1))
    return (x, residuals, rank, sv), (dx[..., 0] if vector else dx, d_res, None, d_sv)


_lstsq = defprimitive(
    "lstsq", _lstsq_rule, family="linalg", complex=True, numpy=("np.linalg.lstsq",),
    note="full rank; x, the residuals and the singular values (distinct) carry tangents, rank is a plain integer")


@implements(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """(x, residuals, rank, singular values) as NumPy returns them; rank is a plain integer."""
    x, residuals, rank, sv = bind(_lstsq, a, b, rcond=innermost(rcond))
    return x, residuals, innermost(rank), sv


plain_result("an integer (the rank)", np.linalg.matrix_rank)
