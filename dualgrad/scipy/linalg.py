"""``scipy.linalg`` on Duals: SciPy's differentiable functions under SciPy's names, signatures and defaults.

    import dualgrad.scipy.linalg as spla
    spla.sqrtm(A)                 # A a Dual (any nesting depth) or a plain array: SciPy's value

SciPy's own functions convert their arguments with ``np.asarray``; these take Duals. On plain arrays each returns
what ``scipy.linalg`` returns. Batches of matrices (leading axes) are taken as SciPy 1.15+ takes them.

Matrix functions and matrix equations (rules of their own; the primal is SciPy's, on the plain values):

* ``sqrtm(A)``: the principal square root S, S² = A. Tangent: S dS + dS S = dA, a Sylvester equation solved for
  the k tangent columns with one Schur form of S. Exists where A has no eigenvalue on the closed negative real
  axis (zero or negative, to NumPy's rank tolerance: there the principal root is undefined or not differentiable);
  elsewhere ``NonDifferentiableError``. Real A with such eigenvalues is where SciPy returns a complex root.
* ``expm(A)``: dE = L_exp(A, dA), the Fréchet derivative, as the top-right block of expm([[A, dA], [0, A]]) (each
  tangent column scaled to ‖A‖₁ first: L is linear in dA). The block is computed with ``expm`` itself, so
  derivatives of any order nest. Differentiable everywhere.
* ``solve_sylvester(a, b, q)``: AX + XB = Q; dX = solve_sylvester(A, B, dQ − dA X − X dB). Exists where the
  Sylvester operator is invertible (no eigenvalues λ of A and μ of B with λ + μ = 0), which is also where X is
  unique; a singular operator (LAPACK's ``trsyl`` perturbs it) raises ``NonDifferentiableError`` for the tangent.
* ``solve_continuous_lyapunov(a, q)``: AX + XAᴴ = Q; dX = solve_sylvester(A, Aᴴ, dQ − dA X − X dAᴴ) (not
  holomorphic in A: dAᴴ conjugates).
* ``solve_discrete_lyapunov(a, q, method=None)``: AXAᴴ − X + Q = 0; dX = solve_discrete_lyapunov(A,
  dQ + dA X Aᴴ + A X dAᴴ) with the same method. Exists where λ_i λ̄_j ≠ 1 for all eigenvalues of A (as X).
* ``solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, ...)``: op(T) x = b with T the triangle
  of a that SciPy reads (the strict triangle and a unit diagonal with ``unit_diagonal``), op the identity,
  transpose or conjugate transpose (``trans`` 0/'N', 1/'T', 2/'C'); dx = solve_triangular(a, db − op(dT) x):
  the other triangle (and a unit diagonal) carries no tangent, as SciPy never reads it. The k tangent columns are
  extra right-hand sides of one solve.
* ``solve_banded((l, u), ab, b)``: A x = b with A in LAPACK's band storage ab[u + i − j, j] = A[i, j];
  dx = solve_banded((l, u), ab, db − dA x), dA x summed over the l + u + 1 stored diagonals (the unused corners
  of ab carry no tangent).
* ``solve_continuous_are(a, b, q, r)``, ``solve_discrete_are(a, b, q, r)``: SciPy's stabilizing solution X of
  the Riccati equation (q, r Hermitian, as SciPy checks). With the optimal gain K = R⁻¹BᴴX (discrete:
  (R + BᴴXB)⁻¹BᴴXA) held fixed, as the envelope theorem allows, and A_cl = A − BK, dA_cl = dA − dB K:
  A_clᴴ dX + dX A_cl = −(dQ + Kᴴ dR K + dA_clᴴ X + X dA_cl) (continuous; a Sylvester solve), and
  A_clᴴ dX A_cl − dX + dQ + Kᴴ dR K + dA_clᴴ X A_cl + A_clᴴ X dA_cl = 0 (discrete; solve_discrete_lyapunov).
  Exists wherever the stabilizing solution does (A_cl stable). The generalized form (e, s) is refused.
* ``lu_factor(a)``: P A = L U with LAPACK's row interchanges piv (plain integers, held fixed: the pivot order
  jumps only where two candidates tie); X = L⁻¹ P dA U⁻¹, dL = L·tril(X, −1), dU = triu(X)·U, packed like lu.
  Square, invertible A (a zero diagonal entry of U: ``NonDifferentiableError``). ``lu_solve((lu, piv), b, trans)``
  and ``lu(a, permute_l, p_indices)`` (square a) are built on it and ``solve_triangular``.

Wrappers that map SciPy's signature onto dualgrad's ``np.linalg`` rules (docs/ops.md, family linalg):

* ``cholesky(a, lower=False)``: SciPy's default is the UPPER factor U, A = UᴴU, read from the upper triangle of a
  (``lower=True``: L from the lower triangle); the rule of ``np.linalg.cholesky``. A must be positive definite.
* ``cho_factor(a, lower=False)`` returns (c, lower) as SciPy: the factor in one triangle of c and a's own entries
  (with their tangents) in the other, which ``cho_solve`` never reads. ``cho_solve((c, lower), b)``: two
  triangular solves with the factor's triangle of c (each through ``solve_triangular``'s rule).
* ``qr(a, mode)``: 'economic' and 'r' any shape, 'full' where the extra columns of Q are unique up to sign
  (m ≤ n + 1); no ``pivoting``. The rule of ``np.linalg.qr``.
* ``inv``, ``det``, ``solve`` (``assume_a``: the structures SciPy names; 'sym', 'her', 'pos' read the triangle
  ``lower`` picks, the upper one by default, and the tangent is made symmetric/Hermitian from it; triangular and
  diagonal kinds read only their part; ``transposed``), ``eigh`` (the standard problem, b=None: ``lower``,
  ``eigvals_only``, ``subset_by_index``, ``subset_by_value``; distinct eigenvalues), ``svd``, ``svdvals``,
  ``pinv`` (``atol``, ``rtol``, ``return_rank``), ``norm``, ``lstsq`` (``cond``; full rank). Their conditions are
  those of the ``np.linalg`` rules: invertible A, distinct eigenvalues and singular values, full rank
  (``NonDifferentiableError`` elsewhere). ``eigh`` and ``svd`` compute with NumPy's LAPACK drivers (syevd,
  gesdd): ``eigh`` equals SciPy's ``driver='evd'`` (SciPy's default 'evr' may flip an eigenvector's sign).
  ``inv(assume_a='diagonal')`` is refused on Duals (SciPy 1.17 returns a's off-diagonal entries unchanged there),
  ``pinv(atol > 0)`` takes one matrix, ``eigh(subset_by_value=...)`` one matrix, ``lstsq`` one 2-D a (as SciPy).

Built from the functions above: ``expm_frechet(A, E)`` ((expm(A), L_exp(A, E)) by the block form, either of
SciPy's methods; A and E may be Duals), ``block_diag(*arrs)``, and SciPy's own formulas on ``expm`` for ``cosm``,
``sinm``, ``tanm``, ``coshm``, ``sinhm``, ``tanhm`` (differentiable everywhere; ``tanm`` and ``tanhm`` where cos(A),
cosh(A) are invertible).

Values: on plain arrays every function returns SciPy's own result. On Duals, the rules of their own (and
``lu_factor``) give SciPy's values exactly; the wrappers compute with NumPy's LAPACK calls and agree with SciPy's
to rounding, except that ``det`` and ``expm_frechet`` return double precision as SciPy's do.

Options: ``check_finite`` is honoured (a ValueError for infs or NaNs, as SciPy). ``overwrite_a``/``overwrite_b``
are SciPy's permission to reuse the input's memory, never a promise; dualgrad never overwrites an input. Options
that change the result and have no rule here (``eigh(b=...)``, another ``driver`` or ``lapack_driver``, sqrtm's
deprecated ``disp``/``blocksize``, ``qr(pivoting=True)``, the Riccati solvers' ``e``/``s``) raise
``MissingRuleError`` naming them. CuPy data: the wrappers of NumPy's rules run on CuPy as those do; the rules of
their own raise ``BackendUnsupportedError`` unless ``cupyx.scipy.linalg`` has the function (then they call it;
this path has not run on a GPU).

Every rule computes its tangent with these functions and NumPy's, so derivatives of any order nest (``dg.hessian``,
jvp over jvp): the primal is SciPy's only at the innermost level, and a primal that is itself a Dual of an outer
derivative goes through the same function again.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np
import scipy.linalg as _sl

from ..backend import namespace
from ..dual import Dual, innermost
from ..errors import BackendUnsupportedError, MissingRuleError, NonDifferentiableError
from ..registry import bind, defprimitive
from ..rules import decompositions as _decompositions
from ..rules import linalg as _linalg
from ..rules._util import add_terms, cast, fit, lift, max_or, rank_tolerance, refuse_where
from ..rules.linalg import conj_transpose

__all__ = ["sqrtm", "expm", "solve_sylvester", "solve_continuous_lyapunov", "solve_discrete_lyapunov",
           "solve_triangular", "solve_banded", "cholesky", "cho_factor", "cho_solve", "inv", "det", "solve",
           "eigh", "svd", "svdvals", "pinv", "norm", "lstsq", "lu_factor", "lu_solve", "lu", "expm_frechet",
           "block_diag", "qr", "solve_continuous_are", "solve_discrete_are", "cosm", "sinm", "tanm", "coshm", "sinhm",
           "tanhm"]

_UNSET = object()


# ----- plain values: SciPy's function on NumPy data, cupyx's on CuPy data where it has it -----------------------------
def _scipy(name: str, *arrays):
    """scipy.linalg.<name> for NumPy data; for CuPy data cupyx.scipy.linalg.<name>, or a named error."""
    if namespace(*arrays) is np:
        return getattr(_sl, name)
    try:
        return getattr(importlib.import_module("cupyx.scipy.linalg"), name)
    except (ImportError, AttributeError):
        pass
    version = getattr(sys.modules.get("cupy"), "__version__", "?")
    raise BackendUnsupportedError(
        f"scipy.linalg.{name} has no GPU version in cupyx.scipy.linalg (CuPy {version}), so dualgrad.scipy.linalg."
        f"{name} cannot run on CuPy arrays; differentiate it with NumPy inputs (cupy.asnumpy(x)) instead.")


def _value(prim, plain, operands, **params):
    """The primal of ``prim``: ``plain`` on plain data (the innermost level); when an operand is a Dual of an outer
    derivative, ``prim`` itself through ``bind``, so that the outer level differentiates it."""
    if any(isinstance(x, Dual) for x in operands):
        return bind(prim, *operands, **params)
    return plain(*operands, **params)


def _plain(*operands) -> bool:
    """Whether SciPy itself can take the operands: NumPy data, no Dual (a wrapper then returns SciPy's own value)."""
    return not any(isinstance(x, Dual) for x in operands) and namespace(*operands) is np


def _check_finite(check_finite, *arrays):
    if check_finite:
        for x in arrays:
            if not np.isfinite(innermost(x)).all():
                raise ValueError("array must not contain infs or NaNs")


def _refuse(op: str, **options):
    """MissingRuleError for options given that change the result and have no rule (value: what to do instead)."""
    for name, (given, fix) in options.items():
        if given:
            raise MissingRuleError(f"dualgrad.scipy.linalg.{op}: the option {name} has no forward-mode rule; {fix}")


def _columns(rhs, vector):
    """A tangent block (k, ..., n) for a vector right-hand side, (k, ..., n, m) otherwise, as one stack of
    right-hand sides (..., n, m·k): k folded into the columns, so one factorisation serves all k."""
    if vector:
        return np.moveaxis(rhs, 0, -1)
    shape = np.shape(rhs)
    return np.reshape(np.moveaxis(rhs, 0, -1), shape[1:-1] + (-1,))


def _uncolumns(x, k, vector):
    """The inverse of ``_columns``: (..., n, m·k) back to (k, ..., n, m) ((k, ..., n) for a vector)."""
    if vector:
        return np.moveaxis(x, -1, 0)
    shape = np.shape(x)
    return np.moveaxis(np.reshape(x, shape[:-1] + (shape[-1] // k, k)), -1, 0)


# ----- where the principal square root and logarithm exist ------------------------------------------------------------
def _require_principal(a, op):
    """Refuse A with an eigenvalue on the closed negative real axis (to NumPy's rank tolerance)."""
    values = innermost(a)
    if values.shape[-1] == 0:
        return
    w = namespace(values).linalg.eigvals(values)
    tol = rank_tolerance(w, values.shape)[..., None]
    refuse_where(((w.real <= tol) & (abs(w.imag) <= tol)).any(axis=-1), op,
                 "an eigenvalue lies on the closed negative real axis (zero or negative, to rounding), where the "
                 "principal branch is not defined or not differentiable",
                 "Shift the matrix (A + cI) or keep its spectrum off (−∞, 0].")


# ----- solve_sylvester ------------------------------------------------------------------------------------------------
def _sylvester_columns(a, b, q, op):
    """X with A X + X B = Q for every slice of q (*lead, *batch, n, m), A (*batch, n, n), B (*batch, m, m): SciPy's
    Bartels–Stewart (Schur forms R = UᴴAU and S = VᴴBᴴV, then LAPACK's trsyl on Uᴴ Q V) with one Schur form per
    batch entry for all the slices in front. Refuses a singular Sylvester operator (trsyl's info 1)."""
    if namespace(a, b, q) is not np:
        _scipy("solve_sylvester", a, b, q)                  # the named error: cupyx has no solve_sylvester
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    full = np.broadcast_shapes(batch, q.shape[:-2])
    lead = full[:len(full) - len(batch)]
    n, m = q.shape[-2:]
    trsyl, = _sl.get_lapack_funcs(("trsyl",), (a, b, q))
    out = np.empty(full + (n, m), dtype=trsyl.dtype)
    if out.size == 0:
        return out
    a, b = np.broadcast_to(a, full[len(lead):] + (n, n)), np.broadcast_to(b, full[len(lead):] + (m, m))
    q = np.broadcast_to(q, full + (n, m))
    front = (slice(None),) * len(lead)
    for index in np.ndindex(full[len(lead):]):
        r, u = _sl.schur(a[index], output="real")
        s, v = _sl.schur(b[index].conj().T, output="real")
        f = u.conj().T @ q[front + index] @ v              # (*lead, n, m)
        trsyl, = _sl.get_lapack_funcs(("trsyl",), (r, s, f))
        y = np.empty_like(f, dtype=trsyl.dtype)
        for j in np.ndindex(lead):
            yj, scale, info = trsyl(r, s, f[j], tranb="C")
            if info == 1:
                raise NonDifferentiableError(
                    f"{op}: the Sylvester operator X ↦ AX + XB of the tangent equation is singular (A and −B share "
                    "an eigenvalue, to rounding), so the derivative does not exist here.")
            y[j] = scale * yj
        out[front + index] = u @ y @ v.conj().T
    return out


def _sylvester_plain(a, b, q, tangent_of):
    if tangent_of is None:
        return _scipy("solve_sylvester", a, b, q)(a, b, q)
    return _sylvester_columns(a, b, q, tangent_of)


def _sylvester_rule(primals, tangents, tangent_of):
    (a, b, q), (ta, tb, tq) = primals, tangents
    x = _value(_sylvester, _sylvester_plain, (a, b, q), tangent_of=tangent_of)
    if ta is None and tb is None and tq is None:
        return x, None
    rhs = None if tq is None else fit(tq, np.shape(x))     # dQ − dA X − X dB
    if ta is not None:
        rhs = add_terms(rhs, -(lift(ta, np.ndim(x)) @ x))
    if tb is not None:
        rhs = add_terms(rhs, -(x @ lift(tb, np.ndim(x))))
    return x, sylvester_columns(a, b, rhs, tangent_of or "solve_sylvester")


_sylvester = defprimitive(
    "solve_sylvester", _sylvester_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_sylvester (dualgrad.scipy.linalg); the Sylvester operator invertible (else "
         "NonDifferentiableError); the k tangent columns share one Schur form of A and of B")


def sylvester_columns(a, b, rhs, op: str):
    """X for A X + X B = R for each slice of the block ``rhs`` (k, ..., n, m): the tangent solve of ``op``'s rule,
    differentiable itself (it is solve_sylvester's rule); raises NonDifferentiableError for a singular operator."""
    return bind(_sylvester, a, b, rhs, tangent_of=op)


def solve_sylvester(a, b, q):
    """X with AX + XB = Q (scipy.linalg.solve_sylvester); any operand a Dual."""
    return bind(_sylvester, a, b, q, tangent_of=None)


# ----- sqrtm ----------------------------------------------------------------------------------------------------------
def _sqrtm_plain(a):
    return _scipy("sqrtm", a)(a)


def _sqrtm_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    s = _value(_sqrtm, _sqrtm_plain, (a,))
    if ta is None:
        return s, None
    _require_principal(a, "sqrtm")
    return s, sylvester_columns(s, s, ta, "sqrtm")          # S dS + dS S = dA


_sqrtm = defprimitive(
    "sqrtm", _sqrtm_rule, family="linalg", complex=True,
    note="scipy.linalg.sqrtm (dualgrad.scipy.linalg): the principal root; no eigenvalue of A on the closed negative "
         "real axis (else NonDifferentiableError); dS from S dS + dS S = dA")


def sqrtm(A, disp=_UNSET, blocksize=_UNSET):
    """The principal matrix square root (scipy.linalg.sqrtm); returns X alone, as SciPy's default."""
    _refuse("sqrtm", disp=(disp is not _UNSET, "SciPy deprecates it; call sqrtm(A)."),
            blocksize=(blocksize is not _UNSET, "SciPy deprecates it; call sqrtm(A)."))
    return bind(_sqrtm, A)


# ----- expm: the Fréchet derivative as a block of f([[A, dA], [0, A]]) ------------------------------------------
def _frechet_by_blocks(f, a, ta):
    """L_f(A, dA) for each tangent column: the top-right block of f([[A, E], [0, A]]) with E = c·dA, divided by c,
    where c (plain, per column) brings ‖E‖₁ to ‖A‖₁ (L is linear in E; f's scaling then suits both blocks).
    f is the public function, so the blocks are differentiated again at outer levels."""
    n = np.shape(a)[-1]
    values, directions = innermost(a), innermost(ta)
    xp = namespace(values)
    column_sums_a, column_sums_t = xp.abs(values).sum(axis=-2), xp.abs(directions).sum(axis=-2)
    size_a = max_or(column_sums_a, (column_sums_a.ndim - 1,), 0.0)[..., None]        # ‖A‖₁ (..., 1, 1)
    size_t = max_or(column_sums_t, (column_sums_t.ndim - 1,), 0.0)[..., None]        # ‖dA‖₁ (k, ..., 1, 1)
    c = xp.where(size_t > 0, xp.where(size_a > 0, size_a, 1.0) / xp.where(size_t > 0, size_t, 1.0), 1.0)
    c = c.astype(values.real.dtype)
    shape = np.shape(ta)
    square = np.broadcast_to(a, shape)
    zero = xp.zeros(shape, dtype=np.result_type(values, directions))
    block = np.concatenate([np.concatenate([square, ta * c], axis=-1),
                            np.concatenate([zero, square], axis=-1)], axis=-2)     # (k, ..., 2n, 2n)
    return f(block)[..., :n, n:] / c


def _expm_plain(a):
    return _scipy("expm", a)(a)


def _expm_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    e = _value(_expm, _expm_plain, (a,))
    return e, None if ta is None else _frechet_by_blocks(expm, a, ta)


_expm = defprimitive(
    "expm", _expm_rule, family="linalg", complex=True,
    note="scipy.linalg.expm (dualgrad.scipy.linalg); dE = top-right block of expm([[A, dA], [0, A]])")


def expm(A):
    """The matrix exponential (scipy.linalg.expm); A (..., n, n) a Dual or a plain array."""
    return bind(_expm, A)


# ----- Lyapunov equations ---------------------------------------------------------------------------------------------
def _continuous_lyapunov_plain(a, q):
    return _scipy("solve_continuous_lyapunov", a, q)(a, q)


def _continuous_lyapunov_rule(primals, tangents):
    (a, q), (ta, tq) = primals, tangents
    x = _value(_continuous_lyapunov, _continuous_lyapunov_plain, (a, q))
    if ta is None and tq is None:
        return x, None
    rhs = None if tq is None else fit(tq, np.shape(x))     # dQ − dA X − X dAᴴ
    if ta is not None:
        da = lift(ta, np.ndim(x))
        rhs = add_terms(rhs, -(da @ x + x @ conj_transpose(da)))
    return x, sylvester_columns(a, conj_transpose(a), rhs, "solve_continuous_lyapunov")


_continuous_lyapunov = defprimitive(
    "solve_continuous_lyapunov", _continuous_lyapunov_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_continuous_lyapunov (dualgrad.scipy.linalg); no eigenvalues λ_i + λ̄_j = 0 "
         "(else NonDifferentiableError); dX from the same equation with dQ − dA X − X dAᴴ")


def solve_continuous_lyapunov(a, q):
    """X with AX + XAᴴ = Q (scipy.linalg.solve_continuous_lyapunov)."""
    return bind(_continuous_lyapunov, a, q)


def _discrete_lyapunov_plain(a, q, method):
    return _scipy("solve_discrete_lyapunov", a, q)(a, q, method=method)


def _discrete_lyapunov_rule(primals, tangents, method):
    (a, q), (ta, tq) = primals, tangents
    x = _value(_discrete_lyapunov, _discrete_lyapunov_plain, (a, q), method=method)
    if ta is None and tq is None:
        return x, None
    rhs = None if tq is None else fit(tq, np.shape(x))     # dQ + dA X Aᴴ + A X dAᴴ
    if ta is not None:
        da = lift(ta, np.ndim(x))
        rhs = add_terms(rhs, da @ (x @ conj_transpose(a)) + (a @ x) @ conj_transpose(da))
    return x, bind(_discrete_lyapunov, a, rhs, method=method)


_discrete_lyapunov = defprimitive(
    "solve_discrete_lyapunov", _discrete_lyapunov_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_discrete_lyapunov (dualgrad.scipy.linalg); dX solves the same equation "
         "with dQ + dA X Aᴴ + A X dAᴴ (same method)")


def solve_discrete_lyapunov(a, q, method=None):
    """X with AXAᴴ − X + Q = 0 (scipy.linalg.solve_discrete_lyapunov); method None, 'direct' or 'bilinear'."""
    if method not in (None, "direct", "bilinear"):
        raise ValueError(f"Unknown solver {method}")
    return bind(_discrete_lyapunov, a, q, method=method)


# ----- solve_triangular -----------------------------------------------------------------------------------------------
_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


def _triangle(a, lower, unit_diagonal):
    """The part of a that a triangular solve reads: its lower or upper triangle, strict with a unit diagonal."""
    offset = 0 if not unit_diagonal else (-1 if lower else 1)
    return np.tril(a, offset) if lower else np.triu(a, offset)


def _op(m, trans):
    """op(M): M, Mᵀ or Mᴴ over the last two axes (trans 0, 1, 2)."""
    if trans == 0:
        return m
    return np.swapaxes(m, -1, -2) if trans == 1 else conj_transpose(m)


def _triangular_plain(a, b, trans, lower, unit_diagonal, check_finite):
    return _scipy("solve_triangular", a, b)(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal,
                                            check_finite=check_finite)


def _triangular_rule(primals, tangents, **params):
    (a, b), (ta, tb) = primals, tangents
    x = _value(_solve_triangular, _triangular_plain, (a, b), **params)
    if ta is None and tb is None:
        return x, None
    vector = np.ndim(b) == 1                                # SciPy: only a 1-D b is one vector
    xm = x[..., None] if vector else x                      # (..., n, m)
    rhs = None if tb is None else fit(tb[..., None] if vector else tb, np.shape(xm))
    if ta is not None:                                      # db − op(dT) x
        dt = _op(_triangle(ta, params["lower"], params["unit_diagonal"]), params["trans"])
        rhs = add_terms(rhs, -(lift(dt, np.ndim(xm)) @ xm))
    k = np.shape(rhs)[0]
    dx = _uncolumns(bind(_solve_triangular, a, _columns(rhs, False), **params), k, False)
    return x, dx[..., 0] if vector else dx


_solve_triangular = defprimitive(
    "solve_triangular", _triangular_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_triangular (dualgrad.scipy.linalg): only the triangle SciPy reads carries a tangent "
         "(not a unit diagonal); the k tangent columns are extra right-hand sides of one solve")


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """x with op(T) x = b, T the lower or upper triangle of a (scipy.linalg.solve_triangular)."""
    if trans not in _TRANS:
        raise ValueError("Incorrect value for trans")
    return bind(_solve_triangular, a, b, trans=_TRANS[trans], lower=bool(lower),
                unit_diagonal=bool(unit_diagonal), check_finite=bool(check_finite))


# ----- solve_banded ---------------------------------------------------------------------------------------------------
def banded_matmul(l_and_u, ab, x):
    """A x for A in LAPACK's band storage ab (..., l + u + 1, n), ab[u + i − j, j] = A[i, j], and x (..., n, m):
    the sum over the stored diagonals d = j − i ∈ [−l, u] of ab[u − d, j] x[j] placed in row i = j − d."""
    lower, upper = l_and_u
    n = np.shape(ab)[-1]
    out = None
    for row in range(lower + upper + 1):
        d = upper - row
        first, last = max(0, d), min(n, n + d)              # the columns j this diagonal holds
        if first >= last:
            continue
        term = ab[..., row, first:last, None] * x[..., first:last, :]
        term = np.pad(term, [(0, 0)] * (np.ndim(term) - 2) + [(first - d, n - last + d), (0, 0)])
        out = add_terms(out, term)
    return out if out is not None else np.zeros_like(x)


def _banded_plain(ab, b, l_and_u, check_finite):
    return _scipy("solve_banded", ab, b)(l_and_u, ab, b, check_finite=check_finite)


def _banded_rule(primals, tangents, l_and_u, check_finite):
    (ab, b), (tab, tb) = primals, tangents
    x = _value(_solve_banded, _banded_plain, (ab, b), l_and_u=l_and_u, check_finite=check_finite)
    if tab is None and tb is None:
        return x, None
    vector = np.ndim(b) == 1
    xm = x[..., None] if vector else x                      # (..., n, m)
    rhs = None if tb is None else fit(tb[..., None] if vector else tb, np.shape(xm))
    if tab is not None:                                     # db − dA x
        rhs = add_terms(rhs, -banded_matmul(l_and_u, lift(tab, np.ndim(xm)), xm))
    k = np.shape(rhs)[0]
    dx = _uncolumns(bind(_solve_banded, ab, _columns(rhs, False), l_and_u=l_and_u, check_finite=check_finite),
                    k, False)
    return x, dx[..., 0] if vector else dx


_solve_banded = defprimitive(
    "solve_banded", _banded_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_banded (dualgrad.scipy.linalg): dx = A⁻¹(db − dA x), dA x over the stored diagonals "
         "(the unused corners of ab carry no tangent); the k tangent columns are extra right-hand sides")


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """x with A x = b, A banded with l sub- and u superdiagonals in LAPACK's band storage ab
    (scipy.linalg.solve_banded)."""
    lower, upper = (int(v) for v in l_and_u)
    return bind(_solve_banded, ab, b, l_and_u=(lower, upper), check_finite=bool(check_finite))


# ----- wrappers of dualgrad's np.linalg rules with SciPy's signatures -------------------------------------------------
def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor, UPPER by default as SciPy's (A = UᴴU, read from a's upper triangle); ``lower=True``:
    L with A = LLᴴ from the lower triangle. The rule of np.linalg.cholesky."""
    if _plain(a):
        return _sl.cholesky(a, lower=lower, check_finite=check_finite)
    _check_finite(check_finite, a)
    return _linalg.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower) as SciPy's: the factor in the triangle ``lower`` picks, a's own entries in the other strict triangle
    (SciPy's "arbitrary data"; ``cho_solve`` never reads them)."""
    if _plain(a):
        return _sl.cho_factor(a, lower=lower, check_finite=check_finite)
    factor = cholesky(a, lower=lower, check_finite=check_finite)
    return factor + (np.triu(a, 1) if lower else np.tril(a, -1)), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with A x = b from ``cho_factor``'s (c, lower): LLᴴ x = b (or UᴴU x = b) by two triangular solves."""
    c, lower = c_and_lower
    if _plain(c, b):
        return _sl.cho_solve((c, lower), b, check_finite=check_finite)
    _check_finite(check_finite, c, b)
    if lower:
        return solve_triangular(c, solve_triangular(c, b, lower=True, check_finite=False), trans=2, lower=True,
                                check_finite=False)
    return solve_triangular(c, solve_triangular(c, b, trans=2, check_finite=False), check_finite=False)


_STRUCTURES = {None: "general", "general": "general", "gen": "general", "banded": "general",
               "diagonal": "diagonal", "tridiagonal": "tridiagonal",
               "upper triangular": "upper triangular", "lower triangular": "lower triangular",
               "pos": "her", "positive definite": "her", "sym": "sym", "symmetric": "sym",
               "her": "her", "hermitian": "her"}


def _read_as(a, assume_a, lower, allowed):
    """The matrix SciPy's solver reads for ``assume_a``: a's diagonal, band or triangle, or the symmetric (Hermitian)
    matrix made from the triangle ``lower`` picks (its diagonal's real part for 'her' and 'pos', as LAPACK)."""
    structure = _STRUCTURES.get(assume_a) if assume_a in allowed else None
    if structure is None:
        raise ValueError(f"{assume_a} is not a recognized matrix structure")
    if structure == "general":
        return a
    if structure == "diagonal":
        return np.tril(np.triu(a))
    if structure == "tridiagonal":
        return np.tril(np.triu(a, -1), 1)
    if structure in ("upper triangular", "lower triangular"):
        return np.triu(a) if structure == "upper triangular" else np.tril(a)
    strict = np.tril(a, -1) if lower else np.triu(a, 1)
    if structure == "sym":
        return strict + np.swapaxes(strict, -1, -2) + np.tril(np.triu(a))
    return _linalg.hermitian_from_triangle(a, "L" if lower else "U")


_INV_KINDS = (None, "general", "gen", "diagonal", "upper triangular", "lower triangular", "pos", "sym", "her")


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """A⁻¹ (scipy.linalg.inv); ``assume_a`` reads the part of a SciPy's solver reads. The rule of np.linalg.inv."""
    if _plain(a):
        return _sl.inv(a, check_finite=check_finite, assume_a=assume_a, lower=lower)
    _check_finite(check_finite, a)
    _refuse("inv", assume_a=(assume_a == "diagonal", "SciPy's inv(assume_a='diagonal') returns a's off-diagonal "
                                                     "entries unchanged; invert the diagonal: 1 / np.diagonal(a)."))
    return _linalg.inv(_read_as(a, assume_a, lower, _INV_KINDS))


def det(a, overwrite_a=False, check_finite=True):
    """det A in double precision, as SciPy's (scipy.linalg.det); the rule of np.linalg.det (A invertible for the
    tangent)."""
    if _plain(a):
        return _sl.det(a, check_finite=check_finite)
    _check_finite(check_finite, a)
    out = _linalg.det(a)
    return out.astype(np.result_type(innermost(out), np.float64))     # SciPy's det is double precision


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None,
          transposed=False):
    """x with A x = b (Aᵀ x = b with ``transposed``), A the part of a that ``assume_a`` reads (scipy.linalg.solve);
    the rule of np.linalg.solve."""
    if _plain(a, b):
        return _sl.solve(a, b, lower=lower, check_finite=check_finite, assume_a=assume_a, transposed=transposed)
    _check_finite(check_finite, a, b)
    matrix = _read_as(a, assume_a, lower, tuple(_STRUCTURES))
    if transposed:
        if _linalg.is_complex(a):
            raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b or a^H x = b for complex "
                                      "matrices.")
        matrix = np.swapaxes(matrix, -1, -2)
    if np.size(innermost(a)) == 1 and np.ndim(a) == 2:      # SciPy divides by a 1x1 a (any b)
        return b / matrix[0, 0]
    return _linalg.solve(matrix, b)


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, type=1,
         check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """(w, v) of a symmetric/Hermitian matrix read from its lower triangle (upper with ``lower=False``), w ascending;
    w alone with ``eigvals_only``. The rules of np.linalg.eigh/eigvalsh (distinct eigenvalues).

    The eigenvectors are NumPy's (LAPACK's syevd: SciPy's ``driver='evd'``; SciPy's default 'evr' may pick the
    opposite sign), also on plain arrays, so that the values of a Dual and of its plain primal agree."""
    rule_free = b is not None or driver not in (None, "evd")
    if rule_free and _plain(a, b):                          # SciPy's own result: nothing to differentiate
        return _sl.eigh(a, b, lower=lower, eigvals_only=eigvals_only, type=type, check_finite=check_finite,
                        subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver)
    _refuse("eigh", b=(b is not None, "the generalized problem has no rule here; with B = LLᴴ (cholesky(b, "
                                      "lower=True)) solve the standard problem of L⁻¹ A L⁻ᴴ."),
            driver=(driver not in (None, "evd"), "dualgrad computes with NumPy's driver (syevd, SciPy's 'evd'): "
                                                 "call with driver=None."))
    if _plain(a):
        out = _sl.eigh(a, lower=lower, eigvals_only=eigvals_only, check_finite=check_finite, driver="evd")
        w, v = (out, None) if eigvals_only else out
    else:
        _check_finite(check_finite, a)
        uplo = "L" if lower else "U"
        w, v = (_decompositions.eigvalsh(a, UPLO=uplo), None) if eigvals_only else _decompositions.eigh(a, UPLO=uplo)
    if subset_by_index is not None or subset_by_value is not None:
        w, v = _subset(w, v, subset_by_index, subset_by_value)
    return w if eigvals_only else (w, v)


def _subset(w, v, by_index, by_value):
    """The eigenpairs SciPy's subsets select: indices lo..hi (inclusive), or the eigenvalues in (lo, hi]."""
    if by_index is not None and by_value is not None:
        raise ValueError("Either index or value subset can be requested.")
    n = np.shape(w)[-1]
    if by_index is not None:
        lo, hi = (int(i) for i in by_index)
        if not 0 <= lo <= hi < n:
            raise ValueError(f"Requested eigenvalue indices are not valid. Valid range is [0, {n - 1}] and start <= "
                             f"end, but start={lo}, end={hi} is given")
        chosen = np.arange(lo, hi + 1)
    else:
        lo, hi = by_value
        if np.ndim(w) != 1:
            raise ValueError("eigh: subset_by_value takes one matrix (the number of eigenvalues in the interval "
                             "differs between the matrices of a stack); loop over them.")
        values = innermost(w)
        chosen = np.flatnonzero((values > lo) & (values <= hi))
    return w[..., chosen], None if v is None else v[..., chosen]


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, lapack_driver="gesdd"):
    """(U, s, Vh), or s with ``compute_uv=False`` (scipy.linalg.svd); the rule of np.linalg.svd (gesdd)."""
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f'lapack_driver must be "gesdd" or "gesvd", not "{lapack_driver}"')
    _refuse("svd", lapack_driver=(lapack_driver != "gesdd", "dualgrad computes with NumPy's driver (gesdd), whose "
                                                           "singular vectors may differ in sign: call with the "
                                                           "default."))
    if _plain(a):
        return _sl.svd(a, full_matrices=full_matrices, compute_uv=compute_uv, check_finite=check_finite)
    _check_finite(check_finite, a)
    out = _decompositions.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def svdvals(a, overwrite_a=False, check_finite=True):
    """The singular values, descending (scipy.linalg.svdvals)."""
    return svd(a, compute_uv=False, check_finite=check_finite)


def pinv(a, *, atol=None, rtol=None, return_rank=False, check_finite=True):
    """The pseudo-inverse, keeping the singular values above atol + rtol·σ_max (scipy.linalg.pinv: atol 0, rtol
    max(m, n)·ε by default); with ``return_rank`` also the rank, a plain int. The rule of np.linalg.pinv."""
    if _plain(a):
        return _sl.pinv(a, atol=atol, rtol=rtol, return_rank=return_rank, check_finite=check_finite)
    _check_finite(check_finite, a)
    values = innermost(a)
    atol = 0.0 if atol is None else atol
    rtol = max(values.shape[-2:]) * np.finfo(np.result_type(values, np.float32)).eps if rtol is None else rtol
    if atol < 0 or rtol < 0:
        raise ValueError("atol and rtol values must be positive.")
    s = namespace(values).linalg.svd(values, compute_uv=False)
    largest = max_or(s, (s.ndim - 1,), 0.0)[..., 0]
    if atol > 0 and np.ndim(largest):
        raise MissingRuleError("dualgrad.scipy.linalg.pinv: atol > 0 for a stack of matrices has no rule here (the "
                               "cutoff differs per matrix); call pinv on each matrix.")
    rcond = rtol if atol == 0 or largest == 0 else atol / float(largest) + rtol
    p = _decompositions.pinv(a, rcond=rcond)
    if not return_rank:
        return p
    rank = (s > atol + rtol * largest[..., None]).sum(axis=-1)
    return p, int(rank) if np.ndim(rank) == 0 else rank


def norm(a, ord=None, axis=None, keepdims=False, check_finite=True):
    """The vector or matrix norm (scipy.linalg.norm, NumPy's semantics); the rule of np.linalg.norm."""
    if _plain(a):
        return _sl.norm(a, ord=ord, axis=axis, keepdims=keepdims, check_finite=check_finite)
    _check_finite(check_finite, a)
    return _linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)


def lstsq(a, b, cond=None, overwrite_a=False, overwrite_b=False, check_finite=True, lapack_driver=None):
    """(x, residues, rank, s) as scipy.linalg.lstsq returns them: residues a scalar for a 1-D b (empty unless
    m > n at full rank), rank a plain int, s None for 'gelsy'. The rule of np.linalg.lstsq (full rank)."""
    if lapack_driver not in (None, "gelsd", "gelsy", "gelss"):
        raise ValueError(f'LAPACK driver "{lapack_driver}" is not found')
    if _plain(a, b):
        return _sl.lstsq(a, b, cond=cond, check_finite=check_finite, lapack_driver=lapack_driver)
    _check_finite(check_finite, a, b)
    if np.ndim(a) != 2:
        raise ValueError("Input array a should be 2D")
    if cond is None:
        cond = np.finfo(np.result_type(innermost(a), innermost(b), np.float32)).eps
    x, residues, rank, s = _decompositions.lstsq(a, b, rcond=cond)
    if lapack_driver == "gelsy":
        return x, np.array([], dtype=innermost(x).dtype), rank, None
    if np.ndim(b) == 1 and np.shape(residues)[-1] == 1:
        residues = residues[0]
    return x, residues, rank, s


# ----- LU: lu_factor (a rule of its own), lu_solve and lu built on it ------------------------------------------------
def _row_order(piv):
    """perm with A[perm] = L U from LAPACK's pivots (row i swapped with row piv[i], in turn), for plain piv (..., n)."""
    piv = np.asarray(piv)
    perm = np.broadcast_to(np.arange(piv.shape[-1]), piv.shape).copy()
    rows = np.arange(int(np.prod(piv.shape[:-1], dtype=int)))
    flat, flat_piv = perm.reshape(-1, piv.shape[-1]), piv.reshape(-1, piv.shape[-1])
    for i in range(piv.shape[-1]):
        j = flat_piv[:, i]
        flat[rows, i], flat[rows, j] = flat[rows, j], flat[rows, i].copy()
    return flat.reshape(piv.shape)


def _take_rows(x, perm):
    """x[..., perm, :] for each matrix of the stack (perm (..., n) plain, x (..., n, m), a tangent block too)."""
    if np.ndim(perm) == 1:
        return x[..., perm, :]
    index = np.reshape(perm, (1,) * (np.ndim(x) - np.ndim(perm) - 1) + np.shape(perm) + (1,))
    return np.take_along_axis(x, index, axis=-2)


def _lu_factor_plain(a, check_finite):
    return _scipy("lu_factor", a)(a, check_finite=check_finite)


def _lu_factor_rule(primals, tangents, check_finite):
    (a,), (ta,) = primals, tangents
    lu, piv = _value(_lu_factor, _lu_factor_plain, (a,), check_finite=check_finite)
    if ta is None:
        return (lu, piv), None
    m, n = np.shape(a)[-2:]
    if m != n:
        raise MissingRuleError(f"lu_factor: the derivative of the LU factors of a {m}x{n} matrix has no rule here; "
                               "factor a square matrix.")
    values = innermost(lu)
    diagonal = namespace(values).abs(np.diagonal(values, axis1=-2, axis2=-1))
    require = rank_tolerance(diagonal, (n, n))
    refuse_where((diagonal <= require[..., None]).any(axis=-1), "lu_factor",
                 "U has a zero diagonal entry to rounding (A is singular)", "Factor an invertible matrix.")
    perm = _row_order(innermost(piv))
    k = np.shape(ta)[0]
    # X = L⁻¹ (P dA) U⁻¹ (P dA: dA's rows in A[perm]'s order); dL = L tril(X, −1), dU = triu(X) U
    y = _uncolumns(solve_triangular(lu, _columns(_take_rows(ta, perm), False), lower=True, unit_diagonal=True,
                                    check_finite=False), k, False)
    xt = _uncolumns(solve_triangular(lu, _columns(np.swapaxes(y, -1, -2), False), trans=1, check_finite=False),
                    k, False)
    x = np.swapaxes(xt, -1, -2)
    low = np.tril(lu, -1) + namespace(values).eye(n, dtype=values.dtype)
    return (lu, piv), (low @ np.tril(x, -1) + np.triu(x) @ np.triu(lu), None)


_lu_factor = defprimitive(
    "lu_factor", _lu_factor_rule, family="linalg", complex=True,
    note="scipy.linalg.lu_factor (dualgrad.scipy.linalg): square, invertible A (else NonDifferentiableError), the "
         "pivots held fixed (plain integers); X = L⁻¹ P dA U⁻¹, dL = L·tril(X, −1), dU = triu(X)·U")


def lu_factor(a, overwrite_a=False, check_finite=True):
    """(lu, piv) as scipy.linalg.lu_factor: L (unit diagonal, not stored) and U packed in lu, LAPACK's row
    interchanges piv (plain integers; the pivoting is held fixed)."""
    lu, piv = bind(_lu_factor, a, check_finite=bool(check_finite))
    return lu, innermost(piv)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """x with A x = b (Aᵀ x = b, Aᴴ x = b for ``trans`` 1, 2) from ``lu_factor``'s (lu, piv): two triangular solves
    through ``solve_triangular``'s rule, and the row order of the pivots."""
    lu, piv = lu_and_piv
    if _plain(lu, b):
        return _sl.lu_solve((lu, piv), b, trans=trans, check_finite=check_finite)
    if trans not in _TRANS:
        raise ValueError("Incorrect value for trans")
    trans = _TRANS[trans]
    _check_finite(check_finite, lu, b)
    perm = _row_order(innermost(piv))
    vector = np.ndim(b) == 1
    bm = b[..., None] if vector else b                      # (..., n, m)
    if trans == 0:                                          # L U x = P b
        y = solve_triangular(lu, _take_rows(bm, perm), lower=True, unit_diagonal=True, check_finite=False)
        x = solve_triangular(lu, y, check_finite=False)
    else:                                                   # op(U) op(L) (P x) = b
        z = solve_triangular(lu, bm, trans=trans, check_finite=False)
        w = solve_triangular(lu, z, trans=trans, lower=True, unit_diagonal=True, check_finite=False)
        x = _take_rows(w, np.argsort(perm, axis=-1))
    return x[..., 0] if vector else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """(p, l, u) with A = p l u as scipy.linalg.lu (square A): p the permutation matrix (its row indices with
    ``p_indices``, A = l[p] u), l unit lower, u upper; (p l, u) with ``permute_l``. Built on ``lu_factor``."""
    if _plain(a):
        return _sl.lu(a, permute_l=permute_l, check_finite=check_finite, p_indices=p_indices)
    packed, piv = lu_factor(a, check_finite=check_finite)
    values = innermost(packed)
    n = values.shape[-1]
    if values.shape[-2] != n:
        raise MissingRuleError("dualgrad.scipy.linalg.lu: a rectangular matrix has no rule here; factor a square one.")
    xp = namespace(values)
    low = np.tril(packed, -1) + xp.eye(n, dtype=values.dtype)
    up = np.triu(packed)
    inverse = np.argsort(_row_order(piv), axis=-1)          # A = (L U)[inverse]
    if permute_l:
        return _take_rows(low, inverse), up
    if p_indices:
        return inverse, low, up
    return xp.eye(n, dtype=values.real.dtype)[inverse], low, up


# ----- expm_frechet, block_diag, qr ----------------------------------------------------------------------------------
def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
    """(expm(A), L(A, E)), or L alone without ``compute_expm``, as scipy.linalg.expm_frechet: the Fréchet derivative of
    the exponential at A in the direction E, by the block form expm([[A, E], [0, A]]) (both of SciPy's methods
    compute this value), so A and E may be Duals and derivatives nest."""
    if method not in (None, "SPS", "blockEnlarge"):
        raise ValueError(f"Unknown implementation {method}")
    if _plain(A, E):
        return _sl.expm_frechet(A, E, method=method, compute_expm=compute_expm, check_finite=check_finite)
    _check_finite(check_finite, A, E)
    dtype = np.result_type(innermost(A), innermost(E), np.float64)       # SciPy's expm_frechet is double precision
    A, E = cast(A, dtype), cast(E, dtype)
    frechet = _frechet_by_blocks(expm, A, np.expand_dims(E, 0))[0]
    return (expm(A), frechet) if compute_expm else frechet


def block_diag(*arrs):
    """The block-diagonal matrix of the arrays (scipy.linalg.block_diag): 0-D and 1-D ones as single rows, batch axes
    broadcast; zeros elsewhere."""
    if _plain(*arrs):
        return _sl.block_diag(*arrs)
    blocks = [x if np.ndim(x) >= 2 else np.reshape(x, (1, -1)) for x in arrs]
    if not blocks:
        return np.empty((1, 0))
    batch = np.broadcast_shapes(*(np.shape(x)[:-2] for x in blocks))
    dtype = np.result_type(*(innermost(x) for x in blocks))
    widths = [np.shape(x)[-1] for x in blocks]
    rows = []
    for i, x in enumerate(blocks):
        parts = [np.zeros(batch + (np.shape(x)[-2], w), dtype=dtype) for w in widths]
        parts[i] = np.broadcast_to(x, batch + np.shape(x)[-2:]).astype(dtype)
        rows.append(np.concatenate(parts, axis=-1))
    return np.concatenate(rows, axis=-2)


_QR_MODES = {"full": "complete", "economic": "reduced", "r": "r"}


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """(Q, R) as scipy.linalg.qr ('full': Q square; 'economic': Q with min(m, n) columns), or (R,) for mode 'r' (R of
    the full shape); the rule of np.linalg.qr (the same LAPACK factorisation)."""
    if _plain(a):
        return _sl.qr(a, lwork=lwork, mode=mode, pivoting=pivoting, check_finite=check_finite)
    if mode not in (*_QR_MODES, "raw"):
        raise ValueError("Mode argument should be one of ['full', 'r', 'economic', 'raw']")
    _refuse("qr", pivoting=(pivoting, "the column pivots of QRCP jump between nearby matrices; call with "
                                      "pivoting=False."),
            mode=(mode == "raw", "Householder reflectors have no rule; use mode='full', 'economic' or 'r'."))
    _check_finite(check_finite, a)
    m, n = np.shape(a)[-2:]
    _refuse("qr", mode=(mode == "full" and m > n + 1,
                        f"mode='full' of a {m}x{n} matrix: the last {m - n} columns of Q are any orthonormal basis of "
                        "the complement of A's range, and LAPACK's choice has no derivative; use mode='economic'."))
    if mode == "r":                                         # R of the full shape (m, n): zero rows below min(m, n)
        r = _decompositions.qr(a, mode="r")
        values = innermost(r)
        zeros = namespace(values).zeros(values.shape[:-2] + (m - min(m, n), n), dtype=values.dtype)
        return (np.concatenate([r, zeros], axis=-2),)
    return tuple(_decompositions.qr(a, mode=_QR_MODES[mode]))


# ----- algebraic Riccati equations ------------------------------------------------------------------------------------
def _are_options(op, e, s):
    _refuse(op, e=(e is not None, "the generalized equation (e, s) has no rule here; call it with e=None, s=None."),
            s=(s is not None, "the generalized equation (e, s) has no rule here; call it with e=None, s=None."))


def _closed_loop_tangent(x, gain, ta, tb, tq, tr):
    """The pieces of an ARE's tangent with the gain K held fixed (the envelope theorem: K is optimal):
    dA_cl = dA − dB K and dQ + Kᴴ dR K, each None when no tangent reaches it."""
    d_cl = None if ta is None else lift(ta, np.ndim(x))
    if tb is not None:
        d_cl = add_terms(d_cl, -(lift(tb, np.ndim(x)) @ gain))
    forcing = None if tq is None else fit(tq, np.shape(x))
    if tr is not None:
        forcing = add_terms(forcing, conj_transpose(gain) @ lift(tr, np.ndim(x)) @ gain)
    return d_cl, forcing


def _care_plain(a, b, q, r, balanced):
    return _scipy("solve_continuous_are", a, b, q, r)(a, b, q, r, balanced=balanced)


def _care_rule(primals, tangents, balanced):
    (a, b, q, r), (ta, tb, tq, tr) = primals, tangents
    x = _value(_care, _care_plain, (a, b, q, r), balanced=balanced)
    if ta is None and tb is None and tq is None and tr is None:
        return x, None
    gain = _linalg.solve(r, conj_transpose(b) @ x)         # K = R⁻¹ Bᴴ X
    closed = a - b @ gain                                   # A_cl = A − B K
    d_cl, rhs = _closed_loop_tangent(x, gain, ta, tb, tq, tr)
    if d_cl is not None:
        rhs = add_terms(rhs, conj_transpose(d_cl) @ x + x @ d_cl)
    # A_clᴴ dX + dX A_cl = −(dQ + Kᴴ dR K + dA_clᴴ X + X dA_cl)
    return x, sylvester_columns(conj_transpose(closed), closed, -rhs, "solve_continuous_are")


_care = defprimitive(
    "solve_continuous_are", _care_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_continuous_are (dualgrad.scipy.linalg), e = s = None: dX from the Lyapunov equation "
         "of the closed loop A − BK, K = R⁻¹BᴴX held fixed (the envelope theorem)")


def solve_continuous_are(a, b, q, r, e=None, s=None, balanced=True):
    """The stabilizing X with AᴴX + XA − XBR⁻¹BᴴX + Q = 0 (scipy.linalg.solve_continuous_are; q and r Hermitian,
    r invertible); the generalized form (e, s) is refused."""
    _are_options("solve_continuous_are", e, s)
    return bind(_care, a, b, q, r, balanced=bool(balanced))


def _dare_plain(a, b, q, r, balanced):
    return _scipy("solve_discrete_are", a, b, q, r)(a, b, q, r, balanced=balanced)


def _dare_rule(primals, tangents, balanced):
    (a, b, q, r), (ta, tb, tq, tr) = primals, tangents
    x = _value(_dare, _dare_plain, (a, b, q, r), balanced=balanced)
    if ta is None and tb is None and tq is None and tr is None:
        return x, None
    bh_x = conj_transpose(b) @ x
    gain = _linalg.solve(r + bh_x @ b, bh_x @ a)            # K = (R + BᴴXB)⁻¹ BᴴXA
    closed = a - b @ gain                                   # A_cl = A − B K
    d_cl, rhs = _closed_loop_tangent(x, gain, ta, tb, tq, tr)
    if d_cl is not None:
        x_closed = x @ closed
        rhs = add_terms(rhs, conj_transpose(d_cl) @ x_closed + conj_transpose(x_closed) @ d_cl)
    # A_clᴴ dX A_cl − dX + (dQ + Kᴴ dR K + dA_clᴴ X A_cl + A_clᴴ X dA_cl) = 0
    return x, bind(_discrete_lyapunov, conj_transpose(closed), rhs, method=None)


_dare = defprimitive(
    "solve_discrete_are", _dare_rule, family="linalg", complex=True,
    note="scipy.linalg.solve_discrete_are (dualgrad.scipy.linalg), e = s = None: dX from the discrete Lyapunov "
         "equation of the closed loop A − BK, K = (R + BᴴXB)⁻¹BᴴXA held fixed (the envelope theorem)")


def solve_discrete_are(a, b, q, r, e=None, s=None, balanced=True):
    """The stabilizing X with AᴴXA − X − (AᴴXB)(R + BᴴXB)⁻¹(BᴴXA) + Q = 0 (scipy.linalg.solve_discrete_are; q and r
    Hermitian); the generalized form (e, s) is refused."""
    _are_options("solve_discrete_are", e, s)
    return bind(_dare, a, b, q, r, balanced=bool(balanced))


# ----- trigonometric and hyperbolic matrix functions: SciPy's formulas on expm ----------------------------------------
def cosm(A):
    """cos(A) (scipy.linalg.cosm): Re expm(iA) for real A, (expm(iA) + expm(−iA))/2 for complex A, as SciPy."""
    if _plain(A):
        return _sl.cosm(A)
    if _linalg.is_complex(A):
        return 0.5 * (expm(1j * A) + expm(-1j * A))
    return np.real(expm(1j * A))


def sinm(A):
    """sin(A) (scipy.linalg.sinm): Im expm(iA) for real A, (expm(iA) − expm(−iA))/2i for complex A, as SciPy."""
    if _plain(A):
        return _sl.sinm(A)
    if _linalg.is_complex(A):
        return -0.5j * (expm(1j * A) - expm(-1j * A))
    return np.imag(expm(1j * A))


def tanm(A):
    """tan(A) = cos(A)⁻¹ sin(A) (scipy.linalg.tanm)."""
    return _sl.tanm(A) if _plain(A) else _linalg.solve(cosm(A), sinm(A))


def coshm(A):
    """cosh(A) = (expm(A) + expm(−A))/2 (scipy.linalg.coshm)."""
    return _sl.coshm(A) if _plain(A) else 0.5 * (expm(A) + expm(-A))


def sinhm(A):
    """sinh(A) = (expm(A) − expm(−A))/2 (scipy.linalg.sinhm)."""
    return _sl.sinhm(A) if _plain(A) else 0.5 * (expm(A) - expm(-A))


def tanhm(A):
    """tanh(A) = cosh(A)⁻¹ sinh(A) (scipy.linalg.tanhm)."""
    return _sl.tanhm(A) if _plain(A) else _linalg.solve(coshm(A), sinhm(A))
