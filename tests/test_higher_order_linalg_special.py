"""Second and higher derivatives through the linalg, decomposition and scipy.special rules, against closed forms.

The generic nested test in ``test_rules.py`` checks every case's second derivatives against finite differences of
its first; these check known Hessians and derivatives of third and fourth order, where the decompositions'
rules run inside each other (a rule's factors are Duals of an outer derivative).
"""
import math

import numpy as np
import pytest
import scipy.special as sp

import dualgrad as dg

from .cases_linalg import distinct_singular_values, real_distinct_eigenvalues, symmetric_distinct

rng = np.random.default_rng(7)


def derivative(f, order):
    """The order-th derivative of a scalar function of one variable, by nested jvps."""
    for _ in range(order):
        f = (lambda g: lambda x: dg.jvp(g, (x,), (np.ones((1,) + np.shape(x)),))[1][0])(f)
    return f


# ----- scipy.special: derivatives of order 2 to 4 ----------------------------------------------------------------
X = np.array([0.4, 1.3, 2.7])


@pytest.mark.parametrize("f, order, expected", [
    (sp.erf, 2, lambda x: -4 * x / math.sqrt(math.pi) * np.exp(-x * x)),
    (sp.erf, 3, lambda x: (8 * x * x - 4) / math.sqrt(math.pi) * np.exp(-x * x)),
    (sp.gammaln, 2, lambda x: sp.polygamma(1, x)),
    (sp.gammaln, 4, lambda x: sp.polygamma(3, x)),
    (sp.digamma, 3, lambda x: sp.polygamma(3, x)),
    (lambda x: dg.polygamma(2, x), 2, lambda x: sp.polygamma(4, x)),
    (sp.log_ndtr, 2, lambda x: -x * np.exp(-x * x / 2 - sp.log_ndtr(x)) / math.sqrt(2 * math.pi)
     - np.exp(-x * x - 2 * sp.log_ndtr(x)) / (2 * math.pi)),
    (sp.i0, 2, lambda x: sp.i0(x) - sp.i1(x) / x),
    (lambda x: sp.airy(x)[0], 2, lambda x: x * sp.airy(x)[0]),
    (lambda x: sp.airy(x)[0], 3, lambda x: sp.airy(x)[0] + x * sp.airy(x)[1]),
    (sp.exprel, 2, lambda x: (np.exp(x) * (x * x - 2 * x + 2) - 2) / x ** 3),
])
def test_special_function_derivatives_of_higher_order(f, order, expected):
    np.testing.assert_allclose(derivative(f, order)(X), expected(X), rtol=1e-9)


@pytest.mark.parametrize("v", [0.0, 1.5, 3.0])
def test_bessel_second_derivative_solves_bessel_equation(v):
    # x² J'' + x J' + (x² − v²) J = 0
    j = lambda x: sp.jv(v, x)                         # noqa: E731
    d1, d2 = derivative(j, 1)(X), derivative(j, 2)(X)
    np.testing.assert_allclose(X * X * d2 + X * d1 + (X * X - v * v) * j(X), 0, atol=1e-12)


def test_exprel_second_derivative_at_zero_is_one_third():
    # exprel = Σ xⁿ/(n+1)!: exprel''(0) = 2/3!, exact through the series of its slope
    assert derivative(sp.exprel, 2)(np.array([0.0]))[0] == pytest.approx(1 / 3, rel=1e-14)


# ----- linalg: Hessians of known functions, the factorisations nested ------------------------------------------
def hessian_matrix(f, a):
    return dg.hessian(f)(a).reshape(a.size, a.size)


@pytest.mark.parametrize("f", [
    lambda a: np.sum(np.linalg.svd(a, compute_uv=False) ** 2),             # = ‖A‖²_F
    lambda a: np.sum(np.linalg.qr(a)[1] ** 2),                             # ‖R‖_F = ‖A‖_F
    lambda a: np.sum(np.linalg.svd(a, full_matrices=False)[1] ** 2),
])
def test_hessian_of_the_squared_frobenius_norm_through_a_factorisation(f):
    a = distinct_singular_values(rng, (4, 3))
    np.testing.assert_allclose(hessian_matrix(f, a), 2 * np.eye(12), atol=1e-9)


def test_hessian_of_the_eigenvalue_sum_is_zero_and_of_their_product_is_that_of_det():
    a = real_distinct_eigenvalues(rng, (3, 3))
    np.testing.assert_allclose(hessian_matrix(lambda x: np.sum(np.linalg.eigvals(x)), a), 0, atol=1e-9)
    np.testing.assert_allclose(hessian_matrix(lambda x: np.prod(np.linalg.eigvals(x)), a),
                               hessian_matrix(np.linalg.det, a), atol=1e-8)


def test_second_derivative_of_a_symmetric_eigenvalue():
    # d²λ_i[E, E] = 2 Σ_{j≠i} (v_jᵀ E v_i)² / (λ_i − λ_j)
    a = symmetric_distinct(rng, (4, 4))
    e = rng.standard_normal((4, 4))
    e = np.tril(e) + np.tril(e, -1).T                 # what eigvalsh reads
    w, v = np.linalg.eigh(a)
    p = v.T @ e @ v
    expected = [2 * sum(p[j, i] ** 2 / (w[i] - w[j]) for j in range(4) if j != i) for i in range(4)]
    _, hv = dg.hvp(lambda x: np.linalg.eigvalsh(x) @ np.eye(4)[0], (a,), (e[None],))
    second = [dg.hvp(lambda x, i=i: np.linalg.eigvalsh(x)[i], (a,), (e[None],))[1][0] for i in range(4)]
    np.testing.assert_allclose([np.sum(s * e) for s in second], expected, rtol=1e-9)
    assert hv.shape == (1, 4, 4)


def test_hessian_of_logdet_and_of_the_pseudo_inverse():
    a = distinct_singular_values(rng, (3, 3))
    inv = np.linalg.inv(a)
    e = rng.standard_normal((3, 3))
    _, hv = dg.hvp(lambda x: np.linalg.slogdet(x)[1], (a,), (e[None],))
    np.testing.assert_allclose(np.sum(hv[0] * e), -np.trace(inv @ e @ inv @ e), rtol=1e-10)
    np.testing.assert_allclose(hessian_matrix(lambda x: np.sum(np.linalg.pinv(x)), a),
                               hessian_matrix(lambda x: np.sum(np.linalg.inv(x)), a), atol=1e-9)


def test_third_derivative_through_eigh():
    # λ(t) of A + tE for a 2x2 symmetric family with known eigenvalues: A = diag(1, 3), E = [[0, 1], [1, 0]]
    # λ± = 2 ± √(1 + t²): d³λ₊/dt³ at t = 0 is 0, d²λ₊/dt² = 1, d⁴λ₊/dt⁴ = −3
    a, e = np.diag([1.0, 3.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    top = lambda t: np.linalg.eigvalsh(a + t * e)[1]  # noqa: E731
    t = np.array(0.0)
    assert derivative(top, 2)(t) == pytest.approx(1.0, abs=1e-12)
    assert derivative(top, 3)(t) == pytest.approx(0.0, abs=1e-12)
    assert derivative(top, 4)(t) == pytest.approx(-3.0, abs=1e-10)
