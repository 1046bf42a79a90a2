"""Specific checks of the scipy.special rules: arguments without a closed-form derivative, polygamma, removable
singularities of the slopes, and the dispatch of SciPy's ufuncs.

The generic properties (finite differences, complex step, k columns, float32) of every case live in
``test_rules.py`` with the cases in ``cases_special.py``.
"""
import math
import warnings

import numpy as np
import pytest
import scipy.special as sp

import dualgrad as dg


def dual(x, k=2, seed=0):
    x = np.asarray(x, dtype=np.float64)
    return dg.Dual(x, np.random.default_rng(seed).standard_normal((k,) + x.shape))


def slope(f, x):
    """f'(x) elementwise by one jvp with the all-ones direction."""
    x = np.asarray(x, dtype=np.float64)
    return dg.jvp(f, (x,), (np.ones((1,) + x.shape),))[1][0]


# ----- arguments whose derivative SciPy has no closed form for -----------------------------------------------
@pytest.mark.parametrize("call, argument", [
    (lambda v, x: sp.jv(v, x), "the order v"),
    (lambda v, x: sp.kve(v, x), "the order v"),
    (lambda s, q: sp.zeta(s, q), "s"),
    (lambda a, x: sp.gammainc(a, x), "a"),
])
def test_a_tangent_on_an_argument_without_closed_form_raises(call, argument):
    with pytest.raises(dg.MissingRuleError, match=f"with respect to {argument}.*hold {argument} constant"):
        call(dual([1.5, 2.5]), np.array([1.0, 2.0]))


def test_the_constant_argument_may_be_a_dual_without_tangent():
    y = sp.jv(dg.Dual(np.array([1.5]), None), dual([2.0]))
    np.testing.assert_allclose(y.primal, sp.jv(1.5, 2.0))


def test_riemann_zeta_has_no_rule():
    with pytest.raises(dg.MissingRuleError, match="_riemann_zeta"):
        sp.zeta(dual([2.5]))


# ----- polygamma ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 5, np.array([0, 1, 3, 4])])
def test_polygamma_matches_scipy(n):
    x = np.array([0.3, 1.7, 2.5, 9.0])
    np.testing.assert_allclose(dg.polygamma(n, x), sp.polygamma(n, x), rtol=1e-13)
    np.testing.assert_allclose(dg.polygamma(n, dg.Dual(x, None)).primal, sp.polygamma(n, x), rtol=1e-13)


@pytest.mark.parametrize("n", [0, 1, 2, np.array([0, 1, 3, 2])])
def test_polygamma_slope_is_the_next_polygamma(n):
    x = np.array([0.3, 1.7, 2.5, 9.0])
    np.testing.assert_allclose(slope(lambda x: dg.polygamma(n, x), x), sp.polygamma(np.add(n, 1), x), rtol=1e-12)


def test_scipy_polygamma_cannot_take_a_dual_and_says_why():
    with pytest.raises(TypeError, match="converting a Dual to a plain array"):
        sp.polygamma(1, dual([1.0]))


@pytest.mark.parametrize("n, error", [(-1, ValueError), (1.5, ValueError), (dual(1.0), TypeError)])
def test_polygamma_rejects_bad_orders(n, error):
    with pytest.raises(error, match="order n"):
        dg.polygamma(n, np.array([1.0]))


def test_digamma_and_psi_reach_one_rule():
    x = np.array([0.5, 2.0])
    np.testing.assert_array_equal(slope(sp.digamma, x), slope(sp.psi, x))
    np.testing.assert_allclose(slope(sp.digamma, x), sp.polygamma(1, x), rtol=1e-13)


# ----- slopes at removable singularities and kinks -------------------------------------------------------------
def test_exprel_slope_is_smooth_across_its_series_switch():
    # exprel'(0) = 1/2; the series (|x| < 1/2) and the closed form agree where they meet
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = slope(sp.exprel, np.array([0.0, 0.5 - 1e-12, 0.5, -0.5 + 1e-12, -0.5]))
    assert s[0] == 0.5
    np.testing.assert_allclose(s[1], s[2], rtol=1e-11)
    np.testing.assert_allclose(s[3], s[4], rtol=1e-11)
    np.testing.assert_allclose(s[2], (math.exp(0.5) * -0.5 + 1) / 0.25, rtol=1e-14)


def test_spence_slope_at_one_is_minus_one():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = slope(sp.spence, np.array([1.0, 0.9, 0.9 + 1e-12]))
    assert s[0] == -1.0
    np.testing.assert_allclose(s[1], s[2], rtol=1e-10)
    np.testing.assert_allclose(s[1], math.log(0.9) / 0.1, rtol=1e-14)


@pytest.mark.parametrize("f", [sp.i0e, sp.i1e, lambda x: sp.ive(1.0, x)])
def test_exponentially_scaled_bessel_slope_at_the_kink_is_the_mean_of_both_sides(f):
    h = 1e-7
    right = (f(h) - f(0.0)) / h
    left = (f(0.0) - f(-h)) / h
    np.testing.assert_allclose(slope(f, np.array([0.0]))[0], (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("f", [sp.xlogy, sp.xlog1py, sp.rel_entr])
def test_the_y_slope_is_zero_where_x_is_zero(f):
    x = np.array([0.0, 0.0])
    y = dg.Dual(np.array([0.0, 2.0]) if f is not sp.xlog1py else np.array([-1.0, 2.0]), np.ones((1, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = f(x, y)
    np.testing.assert_array_equal(out.tangent, [[0.0, 0.0]])


def test_log_ndtr_slope_in_the_far_left_tail():
    # φ(x)/Φ(x) ≈ −x for x → −∞: no 0/0 where φ and Φ underflow
    s = slope(sp.log_ndtr, np.array([-40.0, -300.0]))
    np.testing.assert_allclose(s, [40.0249, 300.0033], rtol=1e-5)


# ----- dispatch ----------------------------------------------------------------------------------------------
def test_a_scipy_ufunc_without_rule_names_itself_and_the_fix():
    with pytest.raises(dg.MissingRuleError, match=r"scipy.special.kolmogorov has no forward-mode rule.*"
                                                  r"dg.defjvp\(scipy.special.kolmogorov\)"):
        sp.kolmogorov(dual([1.0]))


@pytest.fixture
def restored_rule_tables():
    """The rule tables as they were before the test: a rule a test registers does not leak into later tests
    (test_docs compares docs/ops.md with them)."""
    from dualgrad.registry import NUMPY_UFUNCS, RULES
    saved = [(table, dict(table)) for table in (RULES, NUMPY_UFUNCS)]
    yield
    for table, before in saved:
        table.clear()
        table.update(before)


def test_defjvp_registers_a_rule_for_a_scipy_ufunc(restored_rule_tables):
    @dg.defjvp(sp.bei)                            # (not ber: docs/tutorial/02 shows ber without a rule)
    def bei_jvp(primals, tangents):               # the Kelvin function bei: slope beip (SciPy's own)
        (x,), (t,) = primals, tangents
        return sp.bei(x), None if t is None else t * sp.beip(x)

    x = np.array([0.5, 2.0])
    assert dg.check_jvp(sp.bei, (x,)) < 1e-8


@pytest.mark.parametrize("f, x, expected", [(sp.gammasgn, [-1.5, 2.0], [1.0, 1.0]),
                                            (sp.round, [1.4, -2.6], [1.0, -3.0])])
def test_piecewise_constant_functions_return_plain_arrays(f, x, expected):
    out = f(dual(x))
    assert not isinstance(out, dg.Dual)
    np.testing.assert_array_equal(out, expected)


def test_multigammaln_matches_scipy_and_refuses_what_scipy_refuses():
    a = np.array([1.5, 3.0, 7.25])
    np.testing.assert_allclose(dg.multigammaln(a, 3), sp.multigammaln(a, 3), rtol=1e-14)
    with pytest.raises(ValueError, match="condition a > 0.5"):
        dg.multigammaln(dual([0.9]), 3)
    with pytest.raises(ValueError, match="positive integer"):
        dg.multigammaln(a, 0)


def test_scipy_versions_of_numpy_ufuncs_get_their_own_rules():
    assert dg.RULES["special.log1p"].numpy == ("scipy.special.log1p",)
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(slope(sp.log1p, x), 1 / (1 + x), rtol=1e-15)


# ----- orthogonal polynomials --------------------------------------------------------------------------------
ENDS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
POLYNOMIALS = {  # name: f(n, x) with any parameters fixed
    "legendre": sp.eval_legendre, "sh_legendre": sp.eval_sh_legendre, "chebyt": sp.eval_chebyt,
    "chebyu": sp.eval_chebyu, "chebyc": sp.eval_chebyc, "chebys": sp.eval_chebys, "sh_chebyt": sp.eval_sh_chebyt,
    "sh_chebyu": sp.eval_sh_chebyu, "gegenbauer": lambda n, x: sp.eval_gegenbauer(n, 0.7, x),
    "jacobi": lambda n, x: sp.eval_jacobi(n, 0.5, 1.3, x), "sh_jacobi": lambda n, x: sp.eval_sh_jacobi(n, 2.5, 1.3, x),
    "genlaguerre": lambda n, x: sp.eval_genlaguerre(n, 0.6, x), "laguerre": sp.eval_laguerre,
    "hermite": sp.eval_hermite, "hermitenorm": sp.eval_hermitenorm,
}


@pytest.mark.parametrize("name", POLYNOMIALS)
@pytest.mark.parametrize("n", [0, 0.0])
def test_a_degree_zero_polynomial_has_slope_zero_everywhere(name, n):
    if name.startswith("hermite") and isinstance(n, float):
        n = 0                                     # SciPy's Hermite polynomials take integer degrees only
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = slope(lambda x: POLYNOMIALS[name](n, x), ENDS)
    np.testing.assert_array_equal(s, 0.0)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 5.0])
def test_legendre_slope_is_finite_at_the_ends(n):
    # P_n'(±1) = (±1)^{n−1} n(n + 1)/2, where n (x P_n − P_{n−1})/(x² − 1) is 0/0
    s = slope(lambda x: sp.eval_legendre(n, x), np.array([-1.0, 1.0]))
    np.testing.assert_allclose(s, [(-1) ** (int(n) - 1) * n * (n + 1) / 2, n * (n + 1) / 2], rtol=1e-13)


@pytest.mark.parametrize("name", ["legendre", "chebyt", "chebyu", "jacobi", "genlaguerre"])
def test_a_non_integer_degree_follows_scipy_hypergeometric_definition(name):
    # SciPy evaluates a non-integer degree through ₂F₁ or ₁F₁; the slope identities hold there too
    f = POLYNOMIALS[name]
    x = np.array([-0.6, 0.1, 0.7]) if name != "genlaguerre" else np.array([0.3, 1.1, 2.5])
    h = 1e-6
    np.testing.assert_allclose(slope(lambda x: f(2.6, x), x), (f(2.6, x + h) - f(2.6, x - h)) / (2 * h), rtol=1e-7)


@pytest.mark.parametrize("name", ["legendre", "chebyt", "chebyu", "chebys"])
def test_negative_integer_degrees_follow_scipy_symmetries(name):
    # P_{−n−1} = P_n, T_{−n} = T_n, U_{−1} = 0, U_{−n−2} = −U_n: the slopes follow
    f, x, h = POLYNOMIALS[name], np.array([-0.6, 0.1, 0.7]), 1e-6
    for n in range(-5, 0):
        np.testing.assert_allclose(slope(lambda x: f(n, x), x), (f(n, x + h) - f(n, x - h)) / (2 * h),
                                   rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("call, argument", [
    (lambda n, x: sp.eval_legendre(n, x), "the degree n"),
    (lambda a, x: sp.eval_gegenbauer(3, a, x), "alpha"),
    (lambda b, x: sp.eval_jacobi(3, 0.5, b, x), "beta"),
])
def test_a_tangent_on_the_degree_or_a_parameter_raises(call, argument):
    with pytest.raises(dg.MissingRuleError, match=f"with respect to {argument}.*hold {argument} constant"):
        call(dual([1.5, 2.5]), np.array([0.2, 0.4]))


# ----- Box-Cox at λ = 0, elliptic integrals at m = 0 ---------------------------------------------------------------
X = np.array([0.3, 1.0, 2.5])


@pytest.mark.parametrize("f, d_lambda", [
    (sp.boxcox, lambda x: np.log(x) ** 2 / 2),                        # (x^λ − 1)/λ = L + λL²/2 + ...
    (sp.boxcox1p, lambda x: np.log1p(x) ** 2 / 2),
    (sp.inv_boxcox, lambda y: -np.exp(y) * y * y / 2),                # exp(y − λy²/2 + ...)
    (sp.inv_boxcox1p, lambda y: -np.exp(y) * y * y / 2),
])
def test_box_cox_lambda_slope_at_zero_is_the_series_limit(f, d_lambda):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = slope(lambda lam: f(X, lam), np.zeros(3))
        tiny = slope(lambda lam: f(X, lam), np.full(3, 1e-9))
    np.testing.assert_allclose(s, d_lambda(X), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(tiny, d_lambda(X), rtol=1e-8)


@pytest.mark.parametrize("f, d_x", [(sp.boxcox, lambda x: 1 / x), (sp.inv_boxcox, np.exp)])
def test_box_cox_x_slope_at_lambda_zero(f, d_x):
    np.testing.assert_allclose(slope(lambda x: f(x, 0.0), X), d_x(X), rtol=1e-15)


def test_box_cox_second_lambda_derivative_at_zero():
    # d²/dλ² (x^λ − 1)/λ at λ = 0 is (log x)³/3: the series of exprel' nests
    def d_lambda(lam):
        return dg.jvp(lambda lam: sp.boxcox(X, lam), (lam,), (np.ones((1, 3)),))[1][0]
    np.testing.assert_allclose(slope(d_lambda, np.zeros(3)), np.log(X) ** 3 / 3, rtol=1e-14)


@pytest.mark.parametrize("f, expected", [(sp.ellipk, math.pi / 8), (sp.ellipe, -math.pi / 8),
                                         (lambda m: sp.ellipkm1(1 - m), math.pi / 8)])
def test_complete_elliptic_slopes_at_m_zero(f, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = slope(f, np.array([0.0, 1e-12]))
    np.testing.assert_allclose(s, expected, rtol=1e-11)


def test_incomplete_elliptic_m_slopes_at_m_zero():
    # F(φ|m) = φ + m(2φ − sin 2φ)/8 + ..., E(φ|m) = φ − m(2φ − sin 2φ)/8 + ...
    phi = np.array([0.4, 1.3, 2.9])
    first = (2 * phi - np.sin(2 * phi)) / 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(slope(lambda m: sp.ellipkinc(phi, m), np.zeros(3)), first, rtol=1e-14)
        np.testing.assert_allclose(slope(lambda m: sp.ellipeinc(phi, m), np.zeros(3)), -first, rtol=1e-14)


# ----- complex functions, the Voigt profile, counts ---------------------------------------------------------------
def test_hankel_slopes_are_those_of_j_plus_or_minus_i_y():
    v, z = 1.3, np.array([0.4, 2.0, 7.5])
    dj, dy = slope(lambda z: sp.jv(v, z), z), slope(lambda z: sp.yv(v, z), z)
    np.testing.assert_allclose(slope(lambda z: sp.hankel1(v, z), z), dj + 1j * dy, rtol=1e-13)
    np.testing.assert_allclose(slope(lambda z: sp.hankel2(v, z), z), dj - 1j * dy, rtol=1e-13)
    np.testing.assert_allclose(slope(lambda z: sp.hankel1e(v, z), z),
                               np.exp(-1j * z) * (dj + 1j * dy) - 1j * sp.hankel1e(v, z), rtol=1e-12)


def test_wofz_slope_on_the_real_line_is_that_of_e_to_minus_x_squared_plus_i_dawson():
    # w(x) = e^{−x²} + (2i/√π) D(x) for real x
    x = np.array([-1.5, 0.0, 0.7])
    expected = -2 * x * np.exp(-x * x) + 2j / math.sqrt(math.pi) * (1 - 2 * x * sp.dawsn(x))
    np.testing.assert_allclose(slope(sp.wofz, x), expected, rtol=1e-13, atol=1e-15)


def test_voigt_slopes_at_sigma_zero_are_the_lorentzian_ones():
    x, gamma = np.array([-1.0, 0.3, 2.0]), 0.5
    r = x * x + gamma * gamma
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(slope(lambda x: sp.voigt_profile(x, 0.0, gamma), x),
                                   -2 * gamma * x / (math.pi * r * r), rtol=1e-14)
        np.testing.assert_allclose(slope(lambda g: sp.voigt_profile(x, 0.0, g), np.full(3, gamma)),
                                   (x * x - gamma * gamma) / (math.pi * r * r), rtol=1e-14)
        np.testing.assert_array_equal(slope(lambda s: sp.voigt_profile(x, s, gamma), np.zeros(3)), 0.0)


def test_negative_binomial_counts_have_slope_zero_and_p_the_beta_density():
    k, n, p = dual([2.0, 4.0]), dual([3.0, 5.0]), np.array([0.3, 0.6])
    assert not np.any(sp.nbdtr(k, np.array([3.0, 5.0]), p).tangent)
    assert not np.any(sp.nbdtrc(np.array([2.0, 4.0]), n, p).tangent)
    assert not np.any(sp.nbdtri(k, n, p).tangent)
    density = p ** 2 * (1 - p) ** 2 / sp.beta(3, 3), p ** 4 * (1 - p) ** 4 / sp.beta(5, 5)
    np.testing.assert_allclose(slope(lambda p: sp.nbdtr([2.0, 4.0], [3.0, 5.0], p), p),
                               [density[0][0], density[1][1]], rtol=1e-13)


def test_f_cdf_slope_at_zero_with_two_numerator_degrees_of_freedom():
    # dfn = 2: the F density at 0 is 1 (x^(dfn/2 − 1) = x⁰); no 0 · log 0
    np.testing.assert_allclose(slope(lambda x: sp.fdtr(2.0, 5.0, x), np.array([0.0])), [1.0], rtol=1e-15)


@pytest.mark.parametrize("f, x, expected", [
    (lambda x: sp.gammainc(1.0, x), 0.0, 1.0),              # x^0 e^0/Γ(1): no 0 · log 0
    (lambda x: sp.chdtr(2.0, x), 0.0, 0.5),
    (lambda x: sp.betainc(1.0, 2.0, x), 0.0, 2.0),
    (lambda x: sp.betainc(2.0, 1.0, x), 1.0, 2.0),
    (lambda p: sp.nbdtr(3.0, 1.0, p), 0.0, 4.0),           # (1 − p)^3 / B(1, 4) at p = 0
])
def test_densities_with_exponent_zero_at_the_end_of_the_support(f, x, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(slope(f, np.array([x])), [expected], rtol=1e-14)


@pytest.mark.parametrize("f, expected", [(lambda x: sp.it2j0y0(x)[0], 0.0), (lambda x: sp.it2i0k0(x)[0], 0.0),
                                         (sp.it2struve0, -2 / math.pi)])
def test_integral_slopes_with_a_removable_singularity_at_zero(f, expected):
    # (1 − J₀(x))/x → 0, (I₀(x) − 1)/x → 0, −H₀(x)/x → −2/π: the series, not 0/0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(slope(f, np.array([0.0])), [expected], rtol=1e-15, atol=1e-300)


def test_parabolic_cylinder_order_is_constant():
    with pytest.raises(dg.MissingRuleError, match="with respect to the order v.*hold the order v constant"):
        sp.pbdv(dual([1.5, 2.5]), np.array([0.2, 0.4]))
    d, dp = sp.pbdv(1.5, dual([0.2, 0.4]))
    np.testing.assert_allclose(d.tangent, dual([0.2, 0.4]).tangent * sp.pbdv(1.5, np.array([0.2, 0.4]))[1])
