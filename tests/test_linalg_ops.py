"""Specific checks of the linalg rules: conventions at kinks, error messages, Jacobians in closed form.

The generic properties (finite differences, complex step, k columns, float32) of every linalg case
live in ``test_rules.py`` with the cases in ``cases_linalg.py``.
"""
import warnings

import numpy as np
import pytest

import dualgrad as dg


def dual(x, k=2, seed=0):
    x = np.asarray(x, dtype=np.float64)
    return dg.Dual(x, np.random.default_rng(seed).standard_normal((k,) + x.shape))


# ----- norm conventions ------------------------------------------------------------------------------
@pytest.mark.parametrize("ord", [None, 2, 3, 0.5, 1, np.inf, -np.inf])
def test_vector_norm_tangent_is_zero_at_zero(ord):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no 0/0 on the way
        y = np.linalg.norm(dual(np.zeros(4)), ord)
    np.testing.assert_array_equal(y.tangent, np.zeros(2))


@pytest.mark.parametrize("ord", [None, "fro"])
def test_frobenius_norm_tangent_is_zero_at_zero(ord):
    y = np.linalg.norm(dual(np.zeros((3, 2))), ord)
    np.testing.assert_array_equal(y.tangent, np.zeros(2))


def test_norm_tangent_at_zero_in_one_slice_only():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    y = np.linalg.norm(dg.Dual(x, np.ones((1, 2, 2))), axis=1)
    np.testing.assert_allclose(y.tangent, [[0.0, 7 / 5]])


def test_p_norm_entry_at_zero_contributes_zero():
    # ord < 1: |x_i|^(p-1) is infinite at x_i = 0; the entry adds 0, as abs' derivative does at 0
    x = np.array([0.0, 1.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = np.linalg.norm(dg.Dual(x, np.eye(3)), 0.5)
    expected = np.zeros(3)
    expected[1:] = (x[1:] / np.linalg.norm(x, 0.5)) ** -0.5
    np.testing.assert_allclose(y.tangent, expected)


@pytest.mark.parametrize("ord", [np.inf, -np.inf])
def test_inf_norm_ties_share_the_tangent_equally(ord):
    # |x| ties at 2 (inf) or at 0.5 (-inf); the sign of each tied entry is kept
    x = np.array([2.0, -0.5, -2.0, 0.5, 1.0])
    y = np.linalg.norm(dg.Dual(x, np.eye(5)), ord)
    expected = [0.5, 0, -0.5, 0, 0] if ord == np.inf else [0, -0.5, 0, 0.5, 0]
    np.testing.assert_allclose(y.tangent, expected)


def test_inf_norm_tie_tangent_is_the_mean_of_the_one_sided_derivatives():
    # the shared tangent is the average of the derivatives from either side of the tie
    x = np.array([1.0, -1.0, 0.2])
    v = np.array([0.3, 0.7, 5.0])
    y = np.linalg.norm(dg.Dual(x, v[None]), np.inf)
    h = 1e-7
    right = (np.linalg.norm(x + h * v, np.inf) - np.linalg.norm(x, np.inf)) / h
    left = (np.linalg.norm(x, np.inf) - np.linalg.norm(x - h * v, np.inf)) / h
    np.testing.assert_allclose(y.tangent[0], (left + right) / 2, rtol=1e-6)


def test_an_invalid_matrix_norm_order_is_numpys_error():
    with pytest.raises(ValueError, match="Invalid norm order for matrices"):
        np.linalg.norm(dual(np.ones((3, 3))), 3)


# ----- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb, pattern", [
    ((2, 3), (4, 5), r"shapes \(2, 3\) and \(4, 5\) are not aligned.*\(3\).*second-to-last axis.*\(4\)"),
    ((3,), (4,), r"shapes \(3,\) and \(4,\) are not aligned.*only axis"),
    ((2, 2, 3), (3, 3, 1), r"batch axes \(2,\) and \(3,\).*do not broadcast"),
    ((3,), (2, 4, 5), r"shapes \(3,\) and \(2, 4, 5\) are not aligned"),
    ((), (3,), r"at least one axis.*np.multiply"),
])
def test_matmul_shape_errors_name_the_shapes(sa, sb, pattern):
    a, b = dual(np.ones(sa)), dual(np.ones(sb))
    with pytest.raises(ValueError, match=pattern):
        a @ b
    with pytest.raises(ValueError, match=pattern):
        np.matmul(a.primal, b)


def test_einsum_interleaved_form_equals_the_string_form():
    a = dual(np.arange(6.0).reshape(2, 3))
    for got, want in ((np.einsum(a, [0, 1], [1, 0]), np.einsum("ij->ji", a)),
                      (np.einsum(a, [0, 1], a, [2, 1]), np.einsum("ij,kj", a, a))):
        np.testing.assert_array_equal(got.primal, want.primal)
        np.testing.assert_array_equal(got.tangent, want.tangent)


# ----- closed forms ----------------------------------------------------------------------------------
def test_jacfwd_of_inv_is_minus_kron():
    # d(A⁻¹) = −A⁻¹ dA A⁻¹, i.e. ∂(A⁻¹)_ij/∂A_kl = −(A⁻¹)_ik (A⁻¹)_lj: row-major −A⁻¹ ⊗ A⁻ᵀ
    a = np.array([[3.0, 1.0, 0.5], [0.2, 2.0, -1.0], [0.0, 0.7, 4.0]])
    ainv = np.linalg.inv(a)
    jac = dg.jacfwd(np.linalg.inv)(a)
    assert jac.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(jac.reshape(9, 9), -np.kron(ainv, ainv.T), rtol=1e-12, atol=1e-14)


def test_jacfwd_of_det_is_the_cofactor_matrix():
    a = np.array([[3.0, 1.0], [0.5, 2.0]])
    np.testing.assert_allclose(dg.jacfwd(np.linalg.det)(a), [[2.0, -0.5], [-1.0, 3.0]])


def test_slogdet_is_a_named_tuple_like_numpy():
    a = np.array([[-3.0, 1.0], [0.5, 2.0]])
    res = np.linalg.slogdet(dual(a))
    ref = np.linalg.slogdet(a)
    assert res.sign.primal == ref.sign and res.logabsdet.primal == ref.logabsdet
    assert res.sign.tangent is None


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_reads_only_its_triangle(upper):
    # numpy reads the lower triangle (upper=True: the upper one); the other carries no tangent
    a = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    ignored = np.triu(np.ones((1, 3, 3)), 1) if not upper else np.tril(np.ones((1, 3, 3)), -1)
    y = np.linalg.cholesky(dg.Dual(a, ignored), upper=upper)
    np.testing.assert_array_equal(y.tangent, np.zeros((1, 3, 3)))


# ----- symbolic zeros --------------------------------------------------------------------------------
@pytest.mark.parametrize("sa, sb", [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 3), (3,)),
                                    ((1, 2, 3), (4, 3, 2))])
def test_matmul_mixes_a_zero_tangent_with_a_tangent(sa, sb):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ta, tb = rng.standard_normal((3,) + sa), rng.standard_normal((3,) + sb)
    left = dg.Dual(a, ta) @ dg.Dual(b, None)
    right = dg.Dual(a, None) @ dg.Dual(b, tb)
    both = dg.Dual(a, ta) @ dg.Dual(b, tb)
    np.testing.assert_allclose(left.tangent, np.stack([t @ b for t in ta]), rtol=1e-12)
    np.testing.assert_allclose(right.tangent, np.stack([a @ t for t in tb]), rtol=1e-12)
    np.testing.assert_allclose(both.tangent, left.tangent + right.tangent, rtol=1e-12)
    none = dg.Dual(a, None) @ dg.Dual(b, None)
    assert none.tangent is None
    np.testing.assert_allclose(none.primal, a @ b)
