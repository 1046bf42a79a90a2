"""dualgrad.scipy.linalg: SciPy's values, tangents against finite differences and the identities they satisfy,
nested second derivatives, SciPy's conventions, and the named errors where no derivative exists.

The rules of their own (sqrtm, expm, the Sylvester and Lyapunov solvers, solve_triangular, solve_banded) are
also cases of the generic tests in test_rules.py (tests/cases_scipy_linalg.py): float32, complex operands, k
columns and jvp over jvp for random shapes.
"""
import warnings

import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import given, settings
from hypothesis import strategies as st

import dualgrad as dg
import dualgrad.scipy.linalg as spla

from .cases_scipy_linalg import banded, contracting, hermitian, right_half_plane
from .harness import spd, well_conditioned

rng = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _fresh_rng():
    """Reseed the module's generator for every test: its inputs do not depend on which tests ran before."""
    global rng
    rng = np.random.default_rng(7)


def symmetric(rng, shape):
    """Symmetric matrices with well-separated eigenvalues 1, 2, ..., n (distinct: eigh is differentiable)."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return (q * np.arange(1.0, n + 1)) @ np.swapaxes(q, -1, -2)


def full_rank(rng, shape):
    """Full-rank (m, n) matrices with the distinct singular values 1, 2, ..., min(m, n)."""
    m, n = shape
    u, _ = np.linalg.qr(rng.standard_normal((m, min(m, n))))
    v, _ = np.linalg.qr(rng.standard_normal((n, min(m, n))))
    return (u * np.arange(1.0, min(m, n) + 1)) @ v.T


def normal(rng, shape):
    return rng.standard_normal(shape)


# Every function: (name, f(*operands) with SciPy's signature, samplers of the operands, their shapes). f is called with
# spla (dualgrad) and with sl (SciPy) as ``m``; "complex": the function takes complex operands (then compared too).
FUNCTIONS = [
    ("sqrtm", lambda m, a: m.sqrtm(a), (right_half_plane,), ((4, 4),)),
    ("expm", lambda m, a: m.expm(a), (normal,), ((4, 4),)),
    ("solve_sylvester", lambda m, a, b, q: m.solve_sylvester(a, b, q), (right_half_plane, right_half_plane, normal),
     ((4, 4), (3, 3), (4, 3))),
    ("solve_continuous_lyapunov", lambda m, a, q: m.solve_continuous_lyapunov(a, q), (right_half_plane, normal),
     ((3, 3), (3, 3))),
    ("solve_discrete_lyapunov", lambda m, a, q: m.solve_discrete_lyapunov(a, q), (contracting, normal),
     ((3, 3), (3, 3))),
    ("solve_triangular", lambda m, a, b: m.solve_triangular(a, b, trans="T", lower=True), (well_conditioned, normal),
     ((4, 4), (4, 2))),
    ("solve_banded", lambda m, ab, b: m.solve_banded((2, 1), ab, b), (banded((2, 1)), normal), ((4, 5), (5,))),
    ("cholesky", lambda m, a: m.cholesky(a), (spd,), ((4, 4),)),
    ("cholesky-lower", lambda m, a: m.cholesky(a, lower=True), (spd,), ((4, 4),)),
    ("cho_factor", lambda m, a: m.cho_factor(a)[0], (spd,), ((4, 4),)),
    ("cho_solve", lambda m, a, b: m.cho_solve(m.cho_factor(a), b), (spd, normal), ((4, 4), (4, 2))),
    ("cho_solve-lower", lambda m, a, b: m.cho_solve(m.cho_factor(a, lower=True), b), (spd, normal), ((4, 4), (4,))),
    ("inv", lambda m, a: m.inv(a), (well_conditioned,), ((4, 4),)),
    ("inv-pos", lambda m, a: m.inv(a, assume_a="pos", lower=True), (spd,), ((4, 4),)),
    ("det", lambda m, a: m.det(a), (well_conditioned,), ((4, 4),)),
    ("solve", lambda m, a, b: m.solve(a, b), (well_conditioned, normal), ((4, 4), (4, 2))),
    ("solve-sym", lambda m, a, b: m.solve(a, b, assume_a="sym"), (well_conditioned, normal), ((4, 4), (4,))),
    ("solve-her-lower", lambda m, a, b: m.solve(a, b, assume_a="her", lower=True), (well_conditioned, normal),
     ((4, 4), (4, 2))),
    ("solve-tridiagonal", lambda m, a, b: m.solve(a, b, assume_a="tridiagonal"), (well_conditioned, normal),
     ((4, 4), (4,))),
    ("solve-lower-triangular", lambda m, a, b: m.solve(a, b, assume_a="lower triangular"), (well_conditioned, normal),
     ((4, 4), (4,))),
    ("solve-transposed", lambda m, a, b: m.solve(a, b, transposed=True), (well_conditioned, normal), ((4, 4), (4,))),
    ("eigh", lambda m, a: m.eigh(a, driver="evd") if m is sl else m.eigh(a), (symmetric,), ((4, 4),)),
    ("eigh-upper-values", lambda m, a: m.eigh(a, lower=False, eigvals_only=True), (symmetric,), ((4, 4),)),
    ("eigh-subset-index", lambda m, a: m.eigh(a, subset_by_index=[1, 2], eigvals_only=True), (symmetric,), ((4, 4),)),
    ("eigh-subset-value", lambda m, a: m.eigh(a, subset_by_value=[1.5, 3.5], eigvals_only=True), (symmetric,),
     ((4, 4),)),
    ("svd", lambda m, a: m.svd(a, full_matrices=False), (full_rank,), ((5, 3),)),
    ("svdvals", lambda m, a: m.svdvals(a), (full_rank,), ((3, 5),)),
    ("pinv", lambda m, a: m.pinv(a), (full_rank,), ((5, 3),)),
    ("pinv-atol", lambda m, a: m.pinv(a, atol=0.5, rtol=0.0), (full_rank,), ((5, 3),)),
    ("norm", lambda m, a: m.norm(a), (normal,), ((4, 3),)),
    ("norm-2", lambda m, a: m.norm(a, 2), (full_rank,), ((4, 3),)),
    ("lstsq", lambda m, a, b: m.lstsq(a, b)[:2], (full_rank, normal), ((5, 3), (5,))),
    ("lstsq-matrix", lambda m, a, b: m.lstsq(a, b)[:2], (full_rank, normal), ((5, 3), (5, 2))),
    ("lu_factor", lambda m, a: m.lu_factor(a)[0], (normal,), ((5, 5),)),
    ("lu_solve", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (normal, normal), ((5, 5), (5, 2))),
    ("lu_solve-trans", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=1), (normal, normal), ((4, 4), (4,))),
    ("lu", lambda m, a: m.lu(a), (normal,), ((4, 4),)),
    ("lu-permute_l", lambda m, a: m.lu(a, permute_l=True), (normal,), ((4, 4),)),
    ("expm_frechet", lambda m, a, e: m.expm_frechet(a, e), (normal, normal), ((3, 3), (3, 3))),
    ("block_diag", lambda m, a, b: m.block_diag(a, b, 2.0), (normal, normal), ((2, 3), (3,))),
    ("qr", lambda m, a: m.qr(a), (normal,), ((4, 3),)),
    ("qr-economic", lambda m, a: m.qr(a, mode="economic"), (normal,), ((5, 3),)),
    ("qr-r", lambda m, a: m.qr(a, mode="r"), (normal,), ((3, 5),)),
    ("solve_continuous_are", lambda m, a, b, q, r: m.solve_continuous_are(a, b, hermitian(q), hermitian(r)),
     (normal,) * 4, ((4, 4), (4, 2), (4, 4), (2, 2))),
    ("solve_discrete_are", lambda m, a, b, q, r: m.solve_discrete_are(a, b, hermitian(q), hermitian(r)),
     (normal,) * 4, ((4, 4), (4, 2), (4, 4), (2, 2))),
    *[(name, lambda m, a, name=name: getattr(m, name)(a), (contracting,), ((3, 3),))
      for name in ("cosm", "sinm", "tanm", "coshm", "sinhm", "tanhm")],
]
IDS = [f[0] for f in FUNCTIONS]
COMPLEX = {"sqrtm", "expm", "solve_sylvester", "solve_continuous_lyapunov", "solve_discrete_lyapunov",
           "solve_triangular", "solve_banded", "cholesky", "cholesky-lower", "inv", "det", "solve", "svdvals", "norm",
           "lu_factor", "lu_solve", "lu_solve-trans", "lu", "expm_frechet", "block_diag", "qr-economic",
           "solve_continuous_are", "solve_discrete_are", "cosm", "sinm", "tanm", "coshm", "sinhm", "tanhm"}


def draw(samplers, shapes, seed=0, dtype=np.float64):
    r = np.random.default_rng(seed)
    xs = [s(r, shape) for s, shape in zip(samplers, shapes)]
    if np.dtype(dtype).kind == "c":
        xs = [x + 0.1j * r.standard_normal(x.shape) for x in xs]
    return [x.astype(dtype) for x in xs]


def leaves(out):
    return [np.asarray(getattr(o, "primal", o)) for o in (out if isinstance(out, tuple) else (out,))]


# ----- SciPy's values -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("name, f, samplers, shapes", FUNCTIONS, ids=IDS)
def test_values_are_scipys_on_plain_arrays_and_on_duals(name, f, samplers, shapes, dtype):
    if np.dtype(dtype).kind == "c" and name not in COMPLEX:
        pytest.skip("a real-only case")
    xs = draw(samplers, shapes, dtype=dtype)
    reference = leaves(f(sl, *xs))
    plain = leaves(f(spla, *xs))
    ones = tuple(np.ones((1,) + x.shape, x.dtype) for x in xs)
    duals = leaves(dg.jvp(lambda *x: f(spla, *x), tuple(xs), ones)[0])
    tol = 2e-4 if dtype == np.float32 else 1e-11
    for p, d, r in zip(plain, duals, reference):
        assert p.dtype == r.dtype and d.dtype == r.dtype, (p.dtype, d.dtype, r.dtype)
        np.testing.assert_allclose(p, r, rtol=tol, atol=tol * np.abs(r).max())
        np.testing.assert_allclose(d, r, rtol=tol, atol=tol * np.abs(r).max())


def test_rules_of_their_own_give_scipys_values_exactly():
    a, q = right_half_plane(rng, (4, 4)), rng.standard_normal((4, 4))
    for ours, theirs in [(spla.sqrtm(dg.Dual(a, np.ones((1, 4, 4)))).primal, sl.sqrtm(a)),
                         (spla.expm(dg.Dual(a, None)).primal, sl.expm(a)),
                         (spla.solve_sylvester(dg.Dual(a, np.ones((2, 4, 4))), a.T, q).primal,
                          sl.solve_sylvester(a, a.T, q))]:
        np.testing.assert_array_equal(ours, theirs)


# ----- tangents: finite differences, k columns ------------------------------------------------------------------------
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.sampled_from([1, 2, 7]))
@pytest.mark.parametrize("name, f, samplers, shapes", FUNCTIONS, ids=IDS)
def test_tangents_match_finite_differences(name, f, samplers, shapes, seed, k):
    xs = draw(samplers, shapes, seed)
    # the directions from a stream apart from the operands' (equal draws would make (dA, db) = (A, b), along which
    # A⁻¹b is constant)
    dg.check_jvp(lambda *x: f(spla, *x), tuple(xs), k=k, rng=np.random.default_rng((seed, 1)), rtol=2e-6)


@pytest.mark.parametrize("name, f, samplers, shapes", FUNCTIONS, ids=IDS)
def test_k_columns_equal_k_single_column_runs(name, f, samplers, shapes):
    xs = draw(samplers, shapes, seed=3)
    vs = [rng.standard_normal((7,) + x.shape) for x in xs]
    _, together = dg.jvp(lambda *x: f(spla, *x), tuple(xs), tuple(vs))
    for col in range(7):
        _, alone = dg.jvp(lambda *x: f(spla, *x), tuple(xs), tuple(v[col:col + 1] for v in vs))
        for t, s in zip(dg.pytree.flatten(together)[0], dg.pytree.flatten(alone)[0]):
            np.testing.assert_allclose(t[col], s[0], rtol=1e-12, atol=1e-12 * np.abs(t).max())


# ----- the identities the tangents satisfy ----------------------------------------------------------------------------
def test_sqrtm_tangent_solves_the_sylvester_equation():
    a, v = right_half_plane(rng, (5, 5)), rng.standard_normal((3, 5, 5))
    s, ds = dg.jvp(spla.sqrtm, (a,), (v,))
    np.testing.assert_allclose(s @ ds + ds @ s, v, atol=1e-12)


def test_sqrtm_of_a_complex_matrix():
    a = right_half_plane(rng, (4, 4)) + 1j * rng.standard_normal((4, 4))
    v = rng.standard_normal((2, 4, 4)) + 1j * rng.standard_normal((2, 4, 4))
    s, ds = dg.jvp(spla.sqrtm, (a,), (v,))
    np.testing.assert_allclose(s @ ds + ds @ s, v, atol=1e-12)


def test_expm_tangent_is_scipys_frechet_derivative():
    a, v = 2 * rng.standard_normal((4, 4)), rng.standard_normal((3, 4, 4))
    _, de = dg.jvp(spla.expm, (a,), (v,))
    for col in range(3):
        reference = sl.expm_frechet(a, v[col], compute_expm=False)
        np.testing.assert_allclose(de[col], reference, rtol=1e-10, atol=1e-12 * np.abs(reference).max())


def test_solve_sylvester_tangent_solves_the_differentiated_equation():
    a, b, q = right_half_plane(rng, (4, 4)), right_half_plane(rng, (2, 2)), rng.standard_normal((4, 2))
    va, vb, vq = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 2, 2)), rng.standard_normal((2, 4, 2))
    x, dx = dg.jvp(spla.solve_sylvester, (a, b, q), (va, vb, vq))
    np.testing.assert_allclose(a @ dx + dx @ b, vq - va @ x - x @ vb, atol=1e-12)


def test_discrete_lyapunov_methods_agree():
    a, q = contracting(rng, (12, 12)), rng.standard_normal((12, 12))      # n >= 10: SciPy's default is bilinear
    v = rng.standard_normal((2, 12, 12))
    ref = dg.jvp(lambda x: spla.solve_discrete_lyapunov(x, q, method="direct"), (a,), (v,))[1]
    for method in (None, "bilinear"):
        np.testing.assert_allclose(dg.jvp(lambda x: spla.solve_discrete_lyapunov(x, q, method=method), (a,), (v,))[1],
                                   ref, rtol=1e-9, atol=1e-11)


# ----- nested: second derivatives -------------------------------------------------------------------------------------
def second_derivative(f, x, v):
    """d²/dt² f(x + t v) at t = 0, jvp over jvp."""
    def first(t):
        return dg.jvp(lambda s: f(x + s * v), (t,), (np.ones(1),))[1][0]
    return dg.jvp(first, (np.array(0.0),), (np.ones(1),))[1][0], first


def test_second_derivative_of_sqrtm_along_a_is_analytic():
    # sqrtm((1 + t) A) = √(1 + t) S: the second derivative at t = 0 is −S/4
    a = right_half_plane(rng, (4, 4))
    d2, _ = second_derivative(spla.sqrtm, a, a)
    np.testing.assert_allclose(d2, -sl.sqrtm(a) / 4, atol=1e-12)


def test_second_derivative_of_expm_along_a_is_analytic():
    # expm((1 + t) A): second derivative A² expm(A)
    a = rng.standard_normal((4, 4))
    d2, _ = second_derivative(spla.expm, a, a)
    np.testing.assert_allclose(d2, a @ a @ sl.expm(a), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("f", [
    spla.sqrtm, spla.expm,
    lambda a: spla.solve_sylvester(a, a.T + np.eye(4), np.ones((4, 4))),
    lambda a: spla.solve_continuous_lyapunov(a, np.eye(4)),
    lambda a: spla.solve_discrete_lyapunov(a / 10, np.eye(4)),
    lambda a: spla.solve_triangular(a, np.arange(4.0), lower=True),
    lambda a: spla.cho_solve(spla.cho_factor(a @ a.T), np.arange(4.0)),
], ids=["sqrtm", "expm", "solve_sylvester", "continuous_lyapunov", "discrete_lyapunov", "solve_triangular",
        "cho_solve"])
def test_second_derivatives_match_finite_differences_of_the_first(f):
    a, v = right_half_plane(rng, (4, 4)), rng.standard_normal((4, 4))
    d2, first = second_derivative(f, a, v)
    h = 1e-5
    reference = (first(np.array(h)) - first(np.array(-h))) / (2 * h)
    np.testing.assert_allclose(d2, reference, rtol=1e-6, atol=1e-7 * np.abs(reference).max())


def test_hessian_of_a_scalar_function_of_sqrtm_is_symmetric_and_matches_finite_differences():
    a, b = right_half_plane(rng, (3, 3)), rng.standard_normal((2, 3, 3))

    def g(x):
        return np.trace(spla.sqrtm(a + x[0] * b[0] + x[1] * b[1]) @ spla.expm(x[0] * b[1]))

    h = dg.hessian(g)(np.zeros(2))
    step = 1e-4
    fd = np.array([[(g(np.eye(2)[i] * step + np.eye(2)[j] * step) - g(np.eye(2)[i] * step - np.eye(2)[j] * step)
                     - g(-np.eye(2)[i] * step + np.eye(2)[j] * step) + g(-np.eye(2)[i] * step - np.eye(2)[j] * step))
                    / (4 * step ** 2) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-6)


# ----- SciPy's conventions --------------------------------------------------------------------------------------------
def test_cholesky_is_upper_by_default_and_reads_the_upper_triangle():
    a = spd(rng, (4, 4))
    u = spla.cholesky(a)
    np.testing.assert_array_equal(u, np.triu(u))
    np.testing.assert_allclose(u.T @ u, a, atol=1e-12)
    strictly_lower = np.tril(rng.standard_normal((2, 4, 4)), -1)
    _, du = dg.jvp(spla.cholesky, (a,), (strictly_lower,))
    np.testing.assert_array_equal(du, 0)
    _, dl = dg.jvp(lambda x: spla.cholesky(x, lower=True), (a,), (np.swapaxes(strictly_lower, -1, -2),))
    np.testing.assert_array_equal(dl, 0)


def test_cho_factor_keeps_the_other_triangle_of_a_with_its_tangent():
    a, v = spd(rng, (3, 3)), rng.standard_normal((2, 3, 3))
    (c, lower), (dc, _) = dg.jvp(spla.cho_factor, (a,), (v,))
    assert not lower
    np.testing.assert_array_equal(np.tril(c, -1), np.tril(a, -1))
    np.testing.assert_array_equal(np.tril(dc, -1), np.tril(v, -1))


@pytest.mark.parametrize("kw", [dict(), dict(lower=True), dict(unit_diagonal=True), dict(lower=True, trans="C")])
def test_solve_triangular_gives_no_tangent_to_what_it_does_not_read(kw):
    a, b = well_conditioned(rng, (4, 4)), rng.standard_normal(4)
    lower = kw.get("lower", False)
    unread = np.triu(np.ones((1, 4, 4)), 1) if lower else np.tril(np.ones((1, 4, 4)), -1)
    if kw.get("unit_diagonal"):
        unread = unread + np.eye(4)
    _, dx = dg.jvp(lambda x: spla.solve_triangular(x, b, **kw), (a,), (unread,))
    np.testing.assert_array_equal(dx, 0)


def test_solve_banded_gives_no_tangent_to_the_unused_corners():
    ab, b = banded((2, 1))(rng, (4, 5)), rng.standard_normal(5)
    corners = np.zeros((1, 4, 5))
    corners[0, 0, 0] = corners[0, 2, 4] = corners[0, 3, 3] = corners[0, 3, 4] = 1.0
    _, dx = dg.jvp(lambda x: spla.solve_banded((2, 1), x, b), (ab,), (corners,))
    np.testing.assert_array_equal(dx, 0)


def test_banded_matmul_is_the_dense_product():
    ab = rng.standard_normal((4, 6))
    dense = sum(np.diag(ab[1 - d, max(0, d):6 + min(0, d)], d) for d in range(-2, 2))
    x = rng.standard_normal((6, 3))
    np.testing.assert_allclose(spla.banded_matmul((2, 1), ab, x), dense @ x, atol=1e-13)


def test_lu_factor_tangent_keeps_the_factors_triangular_and_rebuilds_da():
    a, v = rng.standard_normal((4, 4)), rng.standard_normal((3, 4, 4))
    (p, low, up), (_, dl, du) = dg.jvp(spla.lu, (a,), (v,))
    np.testing.assert_array_equal(dl, np.tril(dl, -1))
    np.testing.assert_array_equal(du, np.triu(du))
    np.testing.assert_allclose(p @ (dl @ up + low @ du), v, atol=1e-12)


def test_lu_solve_of_a_dual_factorisation_is_the_solve():
    a, b = well_conditioned(rng, (4, 4)), rng.standard_normal((4, 2))
    va, vb = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 2))
    for trans in (0, 1):
        x, dx = dg.jvp(lambda a, b: spla.lu_solve(spla.lu_factor(a), b, trans=trans), (a, b), (va, vb))
        a_op, va_op = (a, va) if trans == 0 else (a.T, np.swapaxes(va, -1, -2))
        np.testing.assert_allclose(a_op @ dx, vb - va_op @ x, atol=1e-12)


def test_riccati_tangents_solve_the_differentiated_equations():
    a, b, q, r = rng.standard_normal((4, 4)), rng.standard_normal((4, 2)), hermitian(rng.standard_normal((4, 4))), \
        hermitian(rng.standard_normal((2, 2)))
    va, vq = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    vq = vq + np.swapaxes(vq, -1, -2)
    x, dx = dg.jvp(lambda a, q: spla.solve_continuous_are(a, b, q, r), (a, q), (va, vq))
    # d(AᵀX + XA − XBR⁻¹BᵀX + Q) = 0 along (dA, dQ)
    g = b @ np.linalg.solve(r, b.T)
    residual = (np.swapaxes(va, -1, -2) @ x + a.T @ dx + dx @ a + x @ va - dx @ g @ x - x @ g @ dx + vq)
    np.testing.assert_allclose(residual, 0, atol=1e-9 * np.abs(x).max())
    x, dx = dg.jvp(lambda a, q: spla.solve_discrete_are(a, b, q, r), (a / 3, q), (va, vq))
    k = np.linalg.solve(r + b.T @ x @ b, b.T @ x @ (a / 3))
    closed = a / 3 - b @ k
    forcing = vq + np.swapaxes(va, -1, -2) @ x @ closed + closed.T @ x @ va
    np.testing.assert_allclose(closed.T @ dx @ closed - dx + forcing, 0, atol=1e-9 * np.abs(x).max())


def test_lstsq_returns_scipys_shapes():
    a, b = full_rank(rng, (5, 3)), rng.standard_normal(5)
    x, res, rank, s = spla.lstsq(dg.Dual(a, np.ones((1, 5, 3))), b)
    assert np.shape(res) == () and isinstance(rank, (int, np.integer)) and rank == 3 and s.shape == (3,)
    np.testing.assert_allclose(res.primal, sl.lstsq(a, b)[1])
    x, res, rank, s = spla.lstsq(dg.Dual(a, np.ones((1, 5, 3))), b, lapack_driver="gelsy")
    assert s is None and res.shape == (0,)


def test_pinv_returns_the_rank_as_a_plain_int():
    a = full_rank(rng, (5, 3))
    p, rank = spla.pinv(dg.Dual(a, None), atol=1.5, return_rank=True)
    assert rank == sl.pinv(a, atol=1.5, return_rank=True)[1] == 2 and type(rank) is int
    np.testing.assert_allclose(p.primal, sl.pinv(a, atol=1.5), atol=1e-12)


def test_the_submodule_is_listed():
    import dualgrad.scipy
    assert "linalg" in dualgrad.scipy.SUBMODULES and dualgrad.scipy.linalg is spla


# ----- where no derivative exists, and options without a rule: named errors -------------------------------------------
def tangent_of(f, *xs):
    return dg.jvp(f, xs, tuple(np.ones((1,) + np.shape(x), dtype=np.result_type(x)) for x in xs))


@pytest.mark.parametrize("f, a, pattern", [
    (spla.sqrtm, np.diag([-1.0, 2.0]), "sqrtm: an eigenvalue lies on the closed negative real axis"),
    (spla.sqrtm, np.array([[0.0, 1.0], [0.0, 0.0]]), "sqrtm: an eigenvalue lies on the closed negative real axis"),
    (spla.sqrtm, np.diag([4.0, 1e-20]), "sqrtm: an eigenvalue"),
    (spla.sqrtm, np.stack([np.eye(2), -np.eye(2)]), r"batch index \(1,\)"),
    (spla.sqrtm, np.diag([-1.0 + 0j, 2.0]), "sqrtm: an eigenvalue"),
    (lambda a: spla.solve_sylvester(a, -a, np.ones((2, 2))), np.diag([1.0, 2.0]),
     "solve_sylvester: the Sylvester operator .* is singular"),
    (lambda a: spla.solve_continuous_lyapunov(a, np.eye(2)), np.diag([1.0, 0.0]),
     "solve_continuous_lyapunov: the Sylvester operator"),
    (lambda a: spla.eigh(a), np.eye(3), "linalg.eigh: two eigenvalues are equal"),
    (lambda a: spla.svd(a), np.eye(3), "linalg.svd: two singular values"),
    (lambda a: spla.lstsq(a, np.ones(3)), np.outer([1.0, 2.0, 3.0], [1.0, -1.0]), "linalg.lstsq: .* rank 1"),
    (lambda a: spla.lu_factor(a)[0], np.array([[1.0, 2.0], [2.0, 4.0]]), "lu_factor: U has a zero diagonal entry"),
])
def test_no_derivative_raises_non_differentiable_error(f, a, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f(a)                                        # the value itself is SciPy's
        with pytest.raises(dg.NonDifferentiableError, match=pattern):
            tangent_of(f, a)


def test_a_constant_matrix_needs_no_derivative():
    # no tangent, no check: sqrtm of a matrix with a negative eigenvalue as a constant inside a jvp
    a = np.diag([-1.0, 4.0])
    out = spla.sqrtm(dg.Dual(a, None))
    np.testing.assert_array_equal(out.primal, sl.sqrtm(a))


@pytest.mark.parametrize("call, pattern", [
    (lambda a: spla.sqrtm(a, disp=False), "sqrtm: the option disp"),
    (lambda a: spla.sqrtm(a, blocksize=64), "sqrtm: the option blocksize"),
    (lambda a: spla.eigh(a, np.eye(3)), "eigh: the option b .* generalized"),
    (lambda a: spla.eigh(a, driver="evr"), "eigh: the option driver"),
    (lambda a: spla.svd(a, lapack_driver="gesvd"), "svd: the option lapack_driver"),
    (lambda a: spla.inv(a, assume_a="diagonal"), "inv: the option assume_a .* off-diagonal"),
    (lambda a: spla.pinv(np.stack([a, a]), atol=0.1), "pinv: atol > 0 for a stack"),
    (lambda a: spla.qr(a, pivoting=True), "qr: the option pivoting"),
    (lambda a: spla.qr(a, mode="raw"), "qr: the option mode .* Householder"),
    (lambda a: spla.qr(np.concatenate([a, a]), mode="full"), "qr: the option mode .* use mode='economic'"),
    (lambda a: spla.lu_factor(a[:, :2]), "lu_factor: .* 3x2 matrix"),
    (lambda a: spla.solve_continuous_are(a, a, a, a, e=np.eye(3)), "solve_continuous_are: the option e"),
    (lambda a: spla.solve_discrete_are(a, a, a, a, s=np.eye(3)), "solve_discrete_are: the option s"),
])
def test_options_without_a_rule_are_refused(call, pattern):
    a = dg.Dual(symmetric(rng, (3, 3)), np.ones((1, 3, 3)))
    with pytest.raises(dg.MissingRuleError, match=pattern):
        call(a)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda a: spla.solve_triangular(a, np.ones(3), trans=3), ValueError, "Incorrect value for trans"),
    (lambda a: spla.solve(a, np.ones(3), assume_a="spd"), ValueError, "spd is not a recognized matrix structure"),
    (lambda a: spla.solve_discrete_lyapunov(a, a, method="kron"), ValueError, "Unknown solver kron"),
    (lambda a: spla.svd(a, lapack_driver="gesvx"), ValueError, "lapack_driver must be"),
    (lambda a: spla.lstsq(a, np.ones(3), lapack_driver="gels"), ValueError, "LAPACK driver"),
    (lambda a: spla.inv(a * np.nan), ValueError, "must not contain infs or NaNs"),
    (lambda a: spla.eigh(a, subset_by_index=[2, 5]), ValueError, "Requested eigenvalue indices are not valid"),
])
def test_bad_arguments_raise_scipys_errors(call, error, pattern):
    for a in (symmetric(rng, (3, 3)), dg.Dual(symmetric(rng, (3, 3)), np.ones((1, 3, 3)))):
        with pytest.raises(error, match=pattern):
            call(a)
