"""Specific checks of the decompositions (eigh, eig, svd, qr, pinv, lstsq): the tangents against the identities
the factors satisfy, NumPy's conventions, and the named errors where no derivative exists.

The generic properties (finite differences, k columns, float32) of every case live in ``test_rules.py`` with
the cases in ``cases_linalg.py``.
"""
import numpy as np
import pytest

import dualgrad as dg

from .cases_linalg import distinct_singular_values, real_distinct_eigenvalues, symmetric_distinct

rng = np.random.default_rng(2024)


def tangents(x, k=3):
    return rng.standard_normal((k,) + np.shape(x))


def jvp(f, x, v):
    return dg.jvp(f, (x,), (v,))


def mT(x):
    return np.swapaxes(x, -1, -2)


def assert_antisymmetric(m, atol=1e-10):
    np.testing.assert_allclose(m, -mT(m), atol=atol)


# ----- identities: the tangents of the factors rebuild dA ----------------------------------------------------------
def test_eigh_tangent_rebuilds_the_symmetric_tangent():
    a = symmetric_distinct(rng, (2, 4, 4))
    v = tangents(a)
    (w, q), (dw, dq) = jvp(np.linalg.eigh, a, v)
    sym = np.tril(v) + mT(np.tril(v, -1))                        # what eigh reads: the lower triangle
    rebuilt = (dq * w[..., None, :]) @ mT(q) + (q * dw[..., None, :]) @ mT(q) + (q * w[..., None, :]) @ mT(dq)
    np.testing.assert_allclose(rebuilt, sym, atol=1e-10)
    assert_antisymmetric(mT(q) @ dq)                              # Vᵀ dV: the eigenvectors stay orthonormal
    np.testing.assert_allclose(dw, np.diagonal(mT(q) @ sym @ q, axis1=-2, axis2=-1), atol=1e-12)


def test_eig_tangent_satisfies_the_eigen_equation_and_keeps_unit_norm():
    a = real_distinct_eigenvalues(rng, (4, 4))
    v = tangents(a)
    (w, q), (dw, dq) = jvp(np.linalg.eig, a, v)
    # A V = V Λ  =>  dA V + A dV = dV Λ + V dΛ
    np.testing.assert_allclose(v @ q + a @ dq, dq * w + q * dw[:, None, :], atol=1e-9)
    np.testing.assert_allclose(np.sum(q * dq, axis=-2), 0, atol=1e-10)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 4, 3)])
def test_svd_tangent_rebuilds_da(shape):
    a = distinct_singular_values(rng, shape)
    v = tangents(a)
    (u, s, vh), (du, ds, dvh) = jvp(lambda x: np.linalg.svd(x, full_matrices=False), a, v)
    rebuilt = (du * s[..., None, :]) @ vh + (u * ds[..., None, :]) @ vh + (u * s[..., None, :]) @ dvh
    np.testing.assert_allclose(rebuilt, v, atol=1e-10)
    assert_antisymmetric(mT(u) @ du)
    assert_antisymmetric(vh @ mT(dvh))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4)])
def test_full_svd_tangent_keeps_the_square_factor_orthogonal(shape):
    a = distinct_singular_values(rng, shape)
    (u, s, vh), (du, ds, dvh) = jvp(np.linalg.svd, a, tangents(a))
    assert u.shape == (shape[0],) * 2 and vh.shape == (shape[1],) * 2
    assert_antisymmetric(mT(u) @ du)
    assert_antisymmetric(vh @ mT(dvh))


@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (3, 5), (2, 4, 2)])
def test_qr_tangent_rebuilds_da_with_triangular_dr(shape):
    a = distinct_singular_values(rng, shape)
    v = tangents(a)
    (q, r), (dq, dr) = jvp(np.linalg.qr, a, v)
    np.testing.assert_allclose(dq @ r + q @ dr, v, atol=1e-10)
    np.testing.assert_array_equal(np.tril(dr, -1), 0)
    assert_antisymmetric(mT(q) @ dq)


def test_pinv_of_a_square_matrix_has_the_inverse_tangent():
    a = distinct_singular_values(rng, (4, 4))
    v = tangents(a)
    inverse = np.linalg.inv(a)
    _, dp = jvp(np.linalg.pinv, a, v)
    np.testing.assert_allclose(dp, -inverse @ v @ inverse, atol=1e-10)


def test_pinv_of_a_rank_one_matrix_along_rank_one_matrices():
    # A = u vᵀ moved along d(u vᵀ) = du vᵀ + u dvᵀ keeps rank 1: the tangent is the derivative of pinv(u(t) v(t)ᵀ)
    u, v, du, dv = rng.standard_normal(3), rng.standard_normal(2), rng.standard_normal(3), rng.standard_normal(2)
    _, dp = jvp(np.linalg.pinv, np.outer(u, v), (np.outer(du, v) + np.outer(u, dv))[None])
    h = 1e-6
    reference = (np.linalg.pinv(np.outer(u + h * du, v + h * dv)) - np.linalg.pinv(np.outer(u - h * du, v - h * dv)))
    np.testing.assert_allclose(dp[0], reference / (2 * h), rtol=1e-7)


def test_lstsq_solution_tangent_is_that_of_the_normal_equations():
    a, b = distinct_singular_values(rng, (6, 3)), rng.standard_normal(6)
    va, vb = tangents(a), tangents(b)
    (x, res, rank, sv), (dx, dres, _, _) = dg.jvp(np.linalg.lstsq, (a, b), (va, vb))
    _, dx_normal = dg.jvp(lambda a, b: np.linalg.solve(a.T @ a, a.T @ b), (a, b), (va, vb))
    np.testing.assert_allclose(dx, dx_normal, atol=1e-10)
    r = b - a @ x
    np.testing.assert_allclose(dres[:, 0], 2 * np.einsum("i,ki->k", r, vb - va @ x), atol=1e-10)


# ----- NumPy's values and conventions ------------------------------------------------------------------------------
@pytest.mark.parametrize("f, sample, shape", [
    (np.linalg.eigh, symmetric_distinct, (3, 4, 4)),
    (np.linalg.eig, real_distinct_eigenvalues, (4, 4)),
    (lambda a: np.linalg.svd(a, full_matrices=False), distinct_singular_values, (2, 5, 3)),
    (np.linalg.svd, distinct_singular_values, (3, 4)),
    (np.linalg.qr, distinct_singular_values, (2, 3, 5)),
    (np.linalg.pinv, distinct_singular_values, (5, 3)),
])
def test_the_factors_are_numpys_own(f, sample, shape):
    a = sample(rng, shape)
    out, _ = jvp(f, a, tangents(a))
    for got, ref in zip(out if isinstance(out, tuple) else (out,), f(a) if isinstance(out, tuple) else (f(a),)):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("f", [np.linalg.eigh, np.linalg.eigvalsh])
def test_eigh_reads_only_the_lower_triangle(f):
    a = symmetric_distinct(rng, (3, 3))
    upper_only = np.triu(np.ones((1, 3, 3)), 1)
    for t in dg.pytree.flatten(jvp(f, a, upper_only)[1])[0]:
        np.testing.assert_array_equal(t, 0)


def test_hermitian_svd_matches_numpy():
    from .cases_linalg import symmetric_distinct_magnitudes
    a = symmetric_distinct_magnitudes(rng, (4, 4))
    (u, s, vh), _ = jvp(lambda x: np.linalg.svd(x, hermitian=True), a, tangents(a))
    ref = np.linalg.svd(a, hermitian=True)
    for got, want in zip((u, s, vh), ref):
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_rank_is_a_plain_integer():
    a = distinct_singular_values(rng, (4, 3))
    a = dg.Dual(a, tangents(a))
    assert np.linalg.matrix_rank(a) == 3 and not isinstance(np.linalg.matrix_rank(a), dg.Dual)
    x, res, rank, sv = np.linalg.lstsq(a, np.ones(4))
    assert rank == 3 and not isinstance(rank, dg.Dual)
    assert isinstance(x, dg.Dual) and isinstance(sv, dg.Dual)


def test_nuclear_norm_at_a_zero_singular_value_takes_the_slope_of_abs_at_zero():
    # ‖diag(1, 0) + t e₂e₂ᵀ‖_* = 1 + |t|: the zero singular value contributes 0, as abs does at 0
    a = np.diag([1.0, 0.0])
    e = np.zeros((2, 2, 2))
    e[0, 1, 1] = 1.0
    e[1, 0, 0] = 1.0
    _, t = jvp(lambda x: np.linalg.norm(x, "nuc"), a, e)
    np.testing.assert_allclose(t, [0.0, 1.0], atol=1e-15)


def test_matrix_one_norm_ties_share_the_tangent():
    # columns 0 and 1 both have the largest absolute sum 3
    a = np.array([[1.0, -2.0, 0.5], [2.0, 1.0, 0.5]])
    _, t = jvp(lambda x: np.linalg.norm(x, 1), a, np.ones((1, 2, 3)))
    np.testing.assert_allclose(t, [(1 + 1) / 2 + (-1 + 1) / 2])


# ----- where no derivative exists: named errors --------------------------------------------------------------------
orthogonal = np.linalg.qr(rng.standard_normal((4, 4)))[0]
rank_one = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])


@pytest.mark.parametrize("f, a, pattern", [
    (np.linalg.eigh, np.eye(3), "linalg.eigh: two eigenvalues are equal to rounding"),
    (np.linalg.eigvalsh, np.diag([1.0, 2.0, 1.0]), "linalg.eigvalsh: two eigenvalues"),
    (np.linalg.eig, np.eye(2), "linalg.eig: two eigenvalues"),
    (np.linalg.eigvals, np.array([[1.0, 1.0], [0.0, 1.0]]), "linalg.eigvals: two eigenvalues"),
    (np.linalg.svd, orthogonal, "linalg.svd: two singular values"),
    (lambda a: np.linalg.svd(a, compute_uv=False), rank_one, "linalg.svd: a matrix of shape .* is rank-deficient"),
    (np.linalg.qr, rank_one, "linalg.qr: .* rank-deficient"),
    (np.linalg.pinv, rank_one, "linalg.pinv: a singular value is at or below the cutoff .* the tangent changes the "
                               "rank"),
    (lambda a: np.linalg.lstsq(a, np.ones(3)), rank_one, r"linalg.lstsq: A \(3x2\) has rank 1 < 2"),
    (lambda a: np.linalg.lstsq(a, np.ones(4)), orthogonal, "linalg.lstsq: two singular values .*4th output.*pinv"),
    (lambda a: np.linalg.norm(a, 2), orthogonal, "linalg.norm: ord=2: the largest singular value is repeated"),
    (lambda a: np.linalg.norm(a, -2), np.diag([1.0, 2.0, 0.0]), "ord=-2: the smallest singular value is 0"),
    (np.linalg.cond, np.eye(3), "linalg.norm: ord=2"),
])
def test_no_derivative_raises_non_differentiable_error(f, a, pattern):
    with pytest.raises(dg.NonDifferentiableError, match=pattern):
        jvp(f, a, tangents(a))


def test_the_error_names_the_batch_index():
    a = np.stack([symmetric_distinct(rng, (3, 3)), np.eye(3)])
    with pytest.raises(dg.NonDifferentiableError, match=r"batch index \(1,\)"):
        jvp(np.linalg.eigh, a, tangents(a))


def test_a_constant_at_a_repeated_eigenvalue_is_fine():
    w, v = np.linalg.eigh(dg.Dual(np.eye(3), None))
    np.testing.assert_array_equal(w.primal, np.ones(3))
    assert w.tangent is None and v.tangent is None


@pytest.mark.parametrize("f, pattern", [
    (lambda a: np.linalg.svd(a), r"full_matrices=True\) of a 5x2 matrix.*full_matrices=False"),
    (lambda a: np.linalg.qr(a, mode="complete"), r"mode='complete'\) of a 5x2 matrix.*mode='reduced'"),
    (lambda a: np.linalg.qr(a, mode="raw"), "mode='raw'"),
])
def test_factors_without_a_unique_derivative_raise_missing_rule(f, pattern):
    a = distinct_singular_values(rng, (5, 2))
    with pytest.raises(dg.MissingRuleError, match=pattern):
        jvp(f, a, tangents(a))


# ----- eig with complex eigenvalues -----------------------------------------------------------------------------
def _aligned_eig(a, reference):
    """NumPy's eig of ``a`` with each eigenvector's sign matched to ``reference`` (LAPACK flips it at random)."""
    w, v = np.linalg.eig(a)
    pivot = np.argmax(np.abs(reference), axis=0)
    return w, v * np.sign(v[pivot, range(len(w))].real / reference[pivot, range(len(w))].real)


@pytest.mark.parametrize("seed", range(5))
def test_eig_of_a_real_matrix_with_complex_eigenvalues_against_finite_differences(seed):
    r = np.random.default_rng(seed)
    while True:                                     # a real matrix with a complex pair, eigenvalues well apart
        a = r.standard_normal((4, 4))
        w, v = np.linalg.eig(a)
        gaps = np.abs(w[:, None] - w[None, :]) + np.eye(4)
        if np.iscomplexobj(w) and gaps.min() > 0.3 and np.linalg.cond(v) < 30:
            break
    e = r.standard_normal((1, 4, 4))
    (w0, v0), (dw, dv) = jvp(np.linalg.eig, a, e)
    h = 1e-6
    wp, vp = _aligned_eig(a + h * e[0], v0)
    wm, vm = _aligned_eig(a - h * e[0], v0)
    np.testing.assert_allclose(dw[0], (wp - wm) / (2 * h), atol=1e-7)
    np.testing.assert_allclose(dv[0], (vp - vm) / (2 * h), atol=1e-7)
    pivot = np.argmax(np.abs(v0), axis=0)
    np.testing.assert_allclose(dv[0][pivot, range(4)].imag, 0, atol=1e-12)    # the largest component stays real
    np.testing.assert_allclose(np.real(np.sum(np.conj(v0) * dv[0], axis=0)), 0, atol=1e-12)   # unit norm
