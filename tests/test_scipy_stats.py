"""dualgrad.scipy.stats: SciPy's values on plain arrays and on Duals' primals, tangents against finite differences
in every differentiable argument (k ∈ {1, 2, 7}), k columns == k single columns, second derivatives, the named
errors where a derivative has no closed form, and SciPy's argument conventions."""
import warnings

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad.scipy import stats

# name: (shape parameters, their samplers (lo, hi), whether the CDF family is differentiable in the shapes)
CONTINUOUS = {
    "norm": ((), False), "t": (((0.8, 9.0),), False), "chi2": (((0.8, 6.0),), False),
    "gamma": (((0.6, 4.0),), False), "beta": (((0.6, 3.0), (0.6, 3.0)), False), "expon": ((), True),
    "laplace": ((), True), "logistic": ((), True), "cauchy": ((), True), "uniform": ((), True),
    "lognorm": (((0.3, 1.5),), True),
}
DENSITIES = ["pdf", "logpdf"]
TAILS = ["cdf", "logcdf", "sf", "logsf"]
QUANTILES = ["ppf", "isf"]
SUPPORT = {"chi2": (0.05, 5.0), "gamma": (0.05, 5.0), "beta": (0.05, 0.95), "expon": (0.05, 5.0),
           "uniform": (0.05, 0.95), "lognorm": (0.05, 5.0)}


def _points(name, rng, n=5):
    lo, hi = SUPPORT.get(name, (-3.0, 3.0))
    x = rng.uniform(lo, hi, n)
    return x + 0.02 * np.sign(x) if name == "laplace" else x      # away from laplace's kink at 0


def _shapes(name, rng, n=5):
    return tuple(rng.uniform(lo, hi, n) for lo, hi in CONTINUOUS[name][0])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# ----- values -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (0.3, 1.7), (0.1, -1.0), (0.0, 0.0)])
def test_continuous_values_match_scipy(name, loc, scale):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=6) * 2, [0.0, 1.0, -1.0, 0.5, 3.0, 1e-3, np.inf, -np.inf]])
    shapes = tuple(np.full(1, (lo + hi) / 2) for lo, hi in CONTINUOUS[name][0])
    q = np.array([0.0, 1e-3, 0.3, 0.5, 0.99, 1.0, 1.5, -0.1])
    for method, points in [(m, x) for m in DENSITIES + TAILS] + [(m, q) for m in QUANTILES]:
        ours = getattr(getattr(stats, name), method)(points, *shapes, loc=loc, scale=scale)
        ref = getattr(getattr(ss, name), method)(points, *shapes, loc=loc, scale=scale)
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-15, err_msg=f"{name}.{method}")
        dual = getattr(getattr(stats, name), method)(dg.Dual(points, np.ones((2,) + points.shape)), *shapes,
                                                     loc=loc, scale=scale)
        np.testing.assert_allclose(dual.primal, ref, rtol=1e-9, atol=1e-15, err_msg=f"{name}.{method} on a Dual")


def test_invalid_shape_parameters_give_nan_as_scipy():
    x = np.array([0.5, 1.5])
    for name, shapes in [("t", (-1.0,)), ("gamma", (0.0,)), ("beta", (1.0, -2.0)), ("lognorm", (-0.5,))]:
        for method in DENSITIES + TAILS:
            np.testing.assert_array_equal(np.isnan(getattr(getattr(stats, name), method)(x, *shapes)),
                                          np.isnan(getattr(getattr(ss, name), method)(x, *shapes)))


@pytest.mark.parametrize("name, shapes", [("poisson", (2.3,)), ("bernoulli", (0.3,)), ("binom", (7, 0.35)),
                                          ("geom", (0.3,)), ("poisson", (-1.0,))])
@pytest.mark.parametrize("loc", [0, 1])
def test_discrete_values_match_scipy(name, shapes, loc):
    k = np.array([-1, 0, 1, 2, 3, 5, 7, 2.5, 10])
    for method in ["pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"]:
        np.testing.assert_allclose(getattr(getattr(stats, name), method)(k, *shapes, loc=loc),
                                   getattr(getattr(ss, name), method)(k, *shapes, loc=loc), rtol=1e-10,
                                   atol=1e-300, err_msg=f"{name}.{method}")


def test_scalars_come_back_as_numpy_scalars_as_in_scipy():
    assert isinstance(stats.norm.pdf(0.3), np.float64) and stats.norm.pdf(0.3) == ss.norm.pdf(0.3)
    assert isinstance(stats.poisson.pmf(2, 1.5), np.float64)


def test_positional_loc_and_scale_follow_the_shapes():
    x = np.array([0.2, 1.4])
    np.testing.assert_allclose(stats.t.pdf(x, 3.0, 0.5, 2.0), ss.t.pdf(x, 3.0, 0.5, 2.0))
    np.testing.assert_allclose(stats.norm.cdf(x, 0.5, 2.0), ss.norm.cdf(x, 0.5, 2.0))
    with pytest.raises(TypeError, match="missing required argument"):
        stats.t.pdf(x)
    with pytest.raises(TypeError, match="unexpected keyword argument 'mu'"):
        stats.norm.pdf(x, mu=1.0)
    with pytest.raises(TypeError, match="at most"):
        stats.norm.pdf(x, 0.0, 1.0, 2.0)


# ----- tangents -----------------------------------------------------------------------------------------------
def _arguments(name, method, rng):
    """The method's differentiable arguments (x or q, shapes, loc, scale) and a function of them."""
    dist = getattr(stats, name)
    first = rng.uniform(0.05, 0.95, 5) if method in QUANTILES else _points(name, rng)
    shapes = _shapes(name, rng)
    loc, scale = rng.uniform(-0.5, 0.5, 5), rng.uniform(0.5, 2.0, 5)
    z = (first - loc) / scale if method not in QUANTILES else None
    if z is not None:                            # keep x inside the support: x = loc + scale·z
        first = loc + scale * first
    fixed_shapes = method in TAILS + QUANTILES and not CONTINUOUS[name][1]
    if fixed_shapes:
        return (first, loc, scale), lambda a, lo, sc: getattr(dist, method)(a, *shapes, loc=lo, scale=sc)
    return (first, *shapes, loc, scale), lambda a, *rest: getattr(dist, method)(a, *rest[:-2], loc=rest[-2],
                                                                                scale=rest[-1])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), name=st.sampled_from(sorted(CONTINUOUS)),
       method=st.sampled_from(DENSITIES + TAILS + QUANTILES), k=st.sampled_from([1, 2, 7]))
def test_continuous_tangents_match_finite_differences(seed, name, method, k):
    rng = np.random.default_rng(seed)
    primals, fn = _arguments(name, method, rng)
    dg.check_jvp(fn, primals, k=k, rng=rng, rtol=1e-5)


@pytest.mark.parametrize("name, method", [(n, m) for n in ("t", "chi2", "gamma", "beta") for m in TAILS + QUANTILES])
def test_cdfs_in_the_shape_parameters_have_no_closed_form(name, method):
    rng = np.random.default_rng(1)
    shapes = _shapes(name, rng)
    x = rng.uniform(0.1, 0.9, 5)
    dual = dg.Dual(shapes[0], np.ones((1,) + shapes[0].shape))
    with pytest.raises(dg.MissingRuleError, match="hold .* constant"):
        getattr(getattr(stats, name), method)(x, dual, *shapes[1:])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), case=st.sampled_from([("poisson", ((0.3, 6.0),)), ("bernoulli", ((0.05, 0.95),)),
                                                         ("geom", ((0.05, 0.95),))]),
       method=st.sampled_from(["pmf", "logpmf", "cdf", "logcdf", "sf", "logsf"]), k=st.sampled_from([1, 2, 7]))
def test_discrete_tangents_in_the_parameter_match_finite_differences(seed, case, method, k):
    name, ((lo, hi),) = case
    rng = np.random.default_rng(seed)
    points = {"bernoulli": np.array([0.0, 1.0, 1.0, 0.0]) * method.endswith("pmf"),   # the CDF is 1 at k = 1
              "geom": np.array([1.0, 2.0, 3.0, 5.0])}.get(name, np.array([0.0, 1.0, 2.0, 4.0]))
    dg.check_jvp(lambda p: getattr(getattr(stats, name), method)(points, p), (rng.uniform(lo, hi, 4),), k=k, rng=rng)


def test_binomial_tangent_in_p_and_the_integer_arguments_are_constant():
    p = np.array([0.2, 0.45, 0.7])
    for method in ["pmf", "logpmf", "cdf", "sf"]:
        dg.check_jvp(lambda p: getattr(stats.binom, method)(np.array([0.0, 3.0, 7.0]), 7, p), (p,))
    _, tangent = dg.jvp(lambda k: stats.poisson.pmf(k, 2.0), (np.array([1.0, 3.0]),), (np.ones((1, 2)),))
    np.testing.assert_array_equal(tangent, 0.0)


def test_k_columns_equal_k_single_columns():
    rng = np.random.default_rng(5)
    x, df = rng.normal(size=4), rng.uniform(1.0, 5.0, 4)
    vs = rng.normal(size=(3, 2, 4))
    fn = stats.t.logpdf
    _, block = dg.jvp(fn, (x, df), (vs[:, 0], vs[:, 1]))
    for j in range(3):
        _, single = dg.jvp(fn, (x, df), (vs[j:j + 1, 0], vs[j:j + 1, 1]))
        np.testing.assert_allclose(block[j], single[0], rtol=1e-14)


def test_second_derivatives_of_the_normal_logpdf_are_analytic():
    # log N(x; μ, σ): ∂²/∂μ² = −1/σ², ∂²/∂σ² = 1/σ² − 3 (x − μ)²/σ⁴, ∂²/∂μ∂σ = −2 (x − μ)/σ³
    x, mu, sigma = 0.7, -0.2, 1.3
    hess = dg.hessian(lambda p: stats.norm.logpdf(x, p[0], p[1]))(np.array([mu, sigma]))
    expected = [[-1 / sigma**2, -2 * (x - mu) / sigma**3],
                [-2 * (x - mu) / sigma**3, 1 / sigma**2 - 3 * (x - mu) ** 2 / sigma**4]]
    np.testing.assert_allclose(hess, expected, rtol=1e-12)


def test_second_derivative_of_the_t_logpdf_in_df_against_differences_of_the_first():
    x = np.array([0.3, -1.2])
    first = lambda df: dg.jvp(lambda d: stats.t.logpdf(x, d), (df,), (np.ones((1,) + df.shape),))[1][0]  # noqa: E731
    df = np.array([2.5, 4.0])
    second = dg.jvp(first, (df,), (np.ones((1, 2)),))[1][0]
    h = 1e-5
    np.testing.assert_allclose(second, (first(df + h) - first(df - h)) / (2 * h), rtol=1e-6)


# ----- multivariate normal, Dirichlet -------------------------------------------------------------------------
def _spd(rng, d=4):
    a = rng.normal(size=(d, d))
    return a @ a.T + np.eye(d)


def _symmetric(c):
    return 0.5 * (c + np.swapaxes(c, -1, -2))


@pytest.mark.parametrize("method", ["pdf", "logpdf"])
@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 3, 4)])
def test_multivariate_normal_matches_scipy_and_finite_differences(method, x_shape):
    rng = np.random.default_rng(2)
    x, mean, cov = rng.normal(size=x_shape), rng.normal(size=4), _spd(rng)
    fn = getattr(stats.multivariate_normal, method)
    np.testing.assert_allclose(fn(x, mean, cov), getattr(ss.multivariate_normal, method)(x, mean, cov), rtol=1e-10)
    dg.check_jvp(lambda x, m, c: fn(x, m, _symmetric(c)), (x, mean, cov), k=2)


def test_multivariate_normal_covariance_forms_and_one_dimension():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4))
    for cov in [2.0, np.array([1.0, 2.0, 0.5, 3.0])]:
        np.testing.assert_allclose(stats.multivariate_normal.logpdf(x, np.zeros(4), cov),
                                   ss.multivariate_normal.logpdf(x, np.zeros(4), cov), rtol=1e-12)
        dg.check_jvp(lambda c: stats.multivariate_normal.logpdf(x, np.zeros(4), c), (np.asarray(cov),))
    x1 = np.array([0.3, 0.7, -1.0])
    np.testing.assert_allclose(stats.multivariate_normal.logpdf(x1, 0.1, 2.0),
                               ss.multivariate_normal.logpdf(x1, 0.1, 2.0), rtol=1e-12)
    mean, cov = rng.normal(size=4), _spd(rng)
    np.testing.assert_allclose(stats.multivariate_normal.entropy(mean, cov), ss.multivariate_normal.entropy(mean, cov))
    dg.check_jvp(lambda c: stats.multivariate_normal.entropy(mean, _symmetric(c)), (cov,))


def test_multivariate_normal_singular_covariance():
    cov = np.zeros((4, 4))
    cov[0, 0], cov[1, 1] = 1.0, 2.0
    x = np.array([[0.3, -0.2, 0.0, 0.0], [0.1, 0.5, 0.2, 0.0]])        # the second point is off the support
    for method in ["pdf", "logpdf"]:
        ours = getattr(stats.multivariate_normal, method)(x, np.zeros(4), cov, allow_singular=True)
        np.testing.assert_allclose(ours, getattr(ss.multivariate_normal, method)(x, np.zeros(4), cov,
                                                                                 allow_singular=True))
    inside = lambda x, m: stats.multivariate_normal.logpdf(np.concatenate([x[:2], m[2:]]), m, cov,  # noqa: E731
                                                           allow_singular=True)
    dg.check_jvp(inside, (np.array([0.3, -0.2, 0.0, 0.0]), np.array([0.1, 0.4, 0.0, 0.0])))
    with pytest.raises(np.linalg.LinAlgError, match="allow_singular is False"):
        stats.multivariate_normal.logpdf(x, np.zeros(4), cov)


def test_dirichlet_matches_scipy_and_finite_differences():
    rng = np.random.default_rng(4)
    alpha = rng.uniform(1.2, 3.0, 4)
    x = rng.dirichlet(alpha)
    xs = rng.dirichlet(alpha, size=3).T                                  # (K, n): components first, as SciPy
    for method in ["pdf", "logpdf"]:
        for points in (x, x[:-1], xs):
            np.testing.assert_allclose(getattr(stats.dirichlet, method)(points, alpha),
                                       getattr(ss.dirichlet, method)(points, alpha), rtol=1e-12)
        dg.check_jvp(lambda x, a: getattr(stats.dirichlet, method)(x / np.sum(x), a), (x, alpha))
        dg.check_jvp(lambda a: getattr(stats.dirichlet, method)(xs, a), (alpha,))
    np.testing.assert_allclose(stats.dirichlet.entropy(alpha), ss.dirichlet.entropy(alpha))
    dg.check_jvp(stats.dirichlet.entropy, (alpha,))
    with pytest.raises(ValueError, match="normal simplex"):
        stats.dirichlet.logpdf(x * 1.1, alpha)


def test_lists_and_numbers_are_read_as_scipy_reads_them():
    np.testing.assert_allclose(stats.norm.pdf([0.1, 0.2], [0, 1], 2), ss.norm.pdf([0.1, 0.2], [0, 1], 2))
    np.testing.assert_allclose(stats.poisson.pmf([1, 2], [2.0, 3.0]), ss.poisson.pmf([1, 2], [2.0, 3.0]))
    np.testing.assert_allclose(stats.multivariate_normal.logpdf([0.1, 0.2], [0, 0], [[1, 0], [0, 1]]),
                               ss.multivariate_normal.logpdf([0.1, 0.2], [0, 0], [[1, 0], [0, 1]]))
    np.testing.assert_allclose(stats.dirichlet.logpdf([0.2, 0.8], [1.5, 2.0]),
                               ss.dirichlet.logpdf([0.2, 0.8], [1.5, 2.0]))
    np.testing.assert_allclose(stats.dirichlet.entropy([1.5, 2.0]), ss.dirichlet.entropy([1.5, 2.0]))
