"""Nested forward mode: tags keep the perturbations of nested jvp/jacfwd/hessian/hvp calls apart.

The classic perturbation-confusion examples (Siskind & Pearlmutter), higher derivatives against their
closed forms, Hessians of known functions (Rosenbrock against scipy.optimize.rosen_hess), hvp against
the Hessian, and k columns at every level. The generic second-derivative check of every rule is in
test_rules.py.
"""
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st

import dualgrad as dg


def rosen(x):
    """Rosenbrock's function in plain NumPy (scipy.optimize.rosen converts its input with np.asarray)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def d(f, x):
    """The derivative of a scalar function at x, by one single-column jvp (the issue's helper)."""
    x = x if isinstance(x, dg.Dual) else np.asarray(x, dtype=float)
    return dg.jvp(f, (x,), (np.ones((1,) + x.shape),))[1][0]


# ----- perturbation confusion -----------------------------------------------------------------------
def test_inner_derivative_of_a_closure_is_not_confused_with_the_outer():
    # d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1 (an untagged engine returns 2)
    assert d(lambda x: x * d(lambda y: x + y, 1.0), 1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("x, y", [(1.5, 0.7), (-2.0, 3.0), (0.3, -0.1)])
def test_mixed_partial_through_a_closure(x, y):
    # ∂²/∂x∂y (x·y)² = 4xy (an untagged engine returns 0)
    assert d(lambda a: d(lambda b: (a * b) ** 2, y), x) == pytest.approx(4 * x * y)


def test_inner_call_that_does_not_close_over_the_outer_value():
    # d/dx f'(x) with f' computed by an inner jvp on the outer Dual itself: the second derivative
    assert d(lambda x: d(np.sin, x), 0.4) == pytest.approx(-np.sin(0.4))


def test_nested_calls_with_different_k_at_each_level():
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.8])
    V = np.random.default_rng(0).standard_normal((7, 3))

    def outer(x):
        return dg.jvp(lambda y: np.sum(np.sin(x) * np.sum(y ** 2)), (y,), (np.ones((2, 2)),))[1]   # (2,)

    out, t = dg.jvp(outer, (x,), (V,))
    np.testing.assert_allclose(out, np.full(2, np.sum(np.sin(x)) * 2 * y.sum()))
    np.testing.assert_allclose(t, (V @ np.cos(x))[:, None] * 2 * y.sum() * np.ones((7, 2)))


def test_a_dual_escaping_its_inner_call_is_refused():
    def outer(x):
        kept = []

        def inner(y):
            kept.append(y * x)               # the inner call's Dual, kept past its return
            return y

        dg.jvp(inner, (x,), (np.ones((1, 2)),))
        return kept[0]

    with pytest.raises(dg.EscapedPerturbationError, match="already returned"):
        dg.jvp(outer, (np.ones(2),), (np.ones((1, 2)),))


# ----- higher derivatives ---------------------------------------------------------------------------
@pytest.mark.parametrize("f, third", [
    (np.sin, lambda x: -np.cos(x)),
    (np.exp, np.exp),
    (np.log, lambda x: 2 / x ** 3),
    (lambda x: x ** 5, lambda x: 60 * x ** 2),
    (np.tanh, lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2)),
])
@pytest.mark.parametrize("x", [0.4, 1.3])
def test_third_derivatives(f, third, x):
    assert d(lambda a: d(lambda b: d(f, b), a), x) == pytest.approx(third(x), rel=1e-10)


def test_taylor_coefficients_of_exp_to_fifth_order():
    g = np.exp
    for _ in range(5):
        g = (lambda h: lambda a: d(h, a))(g)
    assert g(0.7) == pytest.approx(np.exp(0.7), rel=1e-12)


# ----- Hessians --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 5, 9])
def test_hessian_of_rosenbrock_equals_scipy(n):
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
    np.testing.assert_allclose(dg.hessian(rosen)(x), scipy.optimize.rosen_hess(x), rtol=1e-12)
    np.testing.assert_allclose(dg.jacfwd(dg.jacfwd(rosen))(x), scipy.optimize.rosen_hess(x),
                               rtol=1e-12)


def test_hessian_of_a_quadratic_form_and_of_log_sum_exp():
    rng = np.random.default_rng(1)
    A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(dg.hessian(lambda v: v @ A @ v)(x), A + A.T, atol=1e-12)
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(dg.hessian(dg.logsumexp)(x), np.diag(p) - np.outer(p, p), atol=1e-12)


def test_hessian_shapes_with_chunks_and_several_arguments():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal(4)
    f = lambda x, y: np.sum(np.sin(x)) * np.sum(y ** 3)
    H = dg.hessian(f, argnums=(0, 1), chunk_size=2)(x, y)
    assert H[0][0].shape == (2, 3, 2, 3) and H[0][1].shape == (2, 3, 4) and H[1][1].shape == (4, 4)
    np.testing.assert_allclose(H[0][1], np.cos(x)[..., None] * 3 * y ** 2, rtol=1e-12)
    np.testing.assert_allclose(H[1][1], np.diag(6 * y) * np.sum(np.sin(x)), rtol=1e-12)
    vector_out = dg.hessian(lambda v: np.sin(v) * v[0])(y)
    assert vector_out.shape == (4, 4, 4)


@given(k=st.sampled_from([1, 2, 7]), n=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_hvp_equals_hessian_times_the_directions(k, n, seed):
    rng = np.random.default_rng(seed)
    x, V = rng.uniform(-1.5, 1.5, n), rng.standard_normal((k, n))
    out, hv = dg.hvp(rosen, (x,), (V,))
    assert out == pytest.approx(scipy.optimize.rosen(x))
    np.testing.assert_allclose(hv, V @ scipy.optimize.rosen_hess(x), rtol=1e-10, atol=1e-10)


def test_hvp_with_two_arguments_and_a_fixed_one():
    rng = np.random.default_rng(3)
    x, y, v = rng.standard_normal(3), rng.standard_normal(2), rng.standard_normal((2, 3))
    f = lambda x, y: np.sum(x ** 2) * np.sum(y ** 2)
    _, (hx, hy) = dg.hvp(f, (x, y), (v, None))
    np.testing.assert_allclose(hx, 2 * np.sum(y ** 2) * v)
    np.testing.assert_allclose(hy, 4 * (v @ x)[:, None] * y[None, :])


def test_hvp_needs_a_scalar_function():
    with pytest.raises(ValueError, match="scalar"):
        dg.hvp(np.sin, (np.ones(3),), (np.ones((1, 3)),))


def test_newton_on_rosenbrock_converges_quadratically():
    x = np.array([-1.2, 1.0])
    errors = []
    for _ in range(8):
        g = dg.jacfwd(rosen)(x)
        x = x - np.linalg.solve(dg.hessian(rosen)(x), g)
        errors.append(np.linalg.norm(x - 1))
    assert errors[-1] < 1e-10


# ----- jacfwd: pytrees, aux, chunks, empty inputs -------------------------------------------------------
def test_jacfwd_of_a_dict_input_with_aux():
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, -0.5])}
    x = np.array([0.3, 0.7])
    f = lambda p: (np.tanh(p["w"] @ x + p["b"]), "aux")
    J, aux = dg.jacfwd(f, has_aux=True)(params)
    z = params["w"] @ x + params["b"]
    s = 1 - np.tanh(z) ** 2
    assert aux == "aux" and set(J) == {"w", "b"}
    np.testing.assert_allclose(J["b"], np.diag(s))
    np.testing.assert_allclose(J["w"], s[:, None, None] * np.eye(2)[:, :, None] * x[None, None, :])


def test_jacfwd_of_an_empty_input():
    J = dg.jacfwd(lambda x: np.sum(x) + np.ones(3))(np.zeros(0))
    assert J.shape == (3, 0)


@pytest.mark.parametrize("chunk", [0, -1, 1.5, True])
def test_jacfwd_rejects_a_bad_chunk_size(chunk):
    with pytest.raises(ValueError, match="chunk_size"):
        dg.jacfwd(np.sin, chunk_size=chunk)


def test_jvp_of_a_function_returning_none_is_a_clear_error():
    with pytest.raises(TypeError, match="NoneType"):
        dg.jvp(lambda x: None, (np.ones(2),), (np.ones((1, 2)),))
