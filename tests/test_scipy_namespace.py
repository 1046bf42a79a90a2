"""dualgrad.scipy: the package's lazy submodules and dualgrad.scipy.special (SciPy's signatures, SciPy's values,
tangents against finite differences, nesting)."""
import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import dualgrad as dg
import dualgrad.scipy
from dualgrad.scipy import special

AXES = [None, 0, -1, 1, (0, 2), (2, 0), (1,), ()]


def test_submodules_are_imported_on_first_use():
    for name in dualgrad.scipy.SUBMODULES:
        assert getattr(dualgrad.scipy, name).__name__ == f"dualgrad.scipy.{name}"
    with pytest.raises(AttributeError, match="it provides"):
        dualgrad.scipy.optimize  # noqa: B018


def test_ufuncs_are_scipys_own():
    assert special.erf is sp.erf and special.gammaln is sp.gammaln


def test_python_functions_without_counterpart_are_named():
    with pytest.raises(AttributeError, match="scipy.special.comb is a Python function"):
        special.comb  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        special.nonsense  # noqa: B018


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_values_match_scipy(fn, axis):
    x = np.random.default_rng(0).normal(size=(3, 4, 2))
    np.testing.assert_allclose(getattr(special, fn)(x, axis=axis), getattr(sp, fn)(x, axis=axis), rtol=1e-13)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), axis=st.sampled_from(AXES), k=st.sampled_from([1, 2, 7]),
       fn=st.sampled_from(["softmax", "log_softmax"]))
def test_softmax_tangents_match_finite_differences(seed, axis, k, fn):
    x = np.random.default_rng(seed).normal(size=(3, 4, 2))
    dg.check_jvp(lambda x: getattr(special, fn)(x, axis=axis), (x,), k=k, rng=np.random.default_rng(seed))


def test_softmax_second_derivative_nests():
    # d²/dt² softmax(x + t v) at t = 0 against central differences of the first derivative
    rng = np.random.default_rng(3)
    x, v = rng.normal(size=5), rng.normal(size=5)
    d1 = lambda t: dg.jvp(lambda s: special.softmax(x + s * v), (t,), (np.ones((1,)),))[1][0]  # noqa: E731
    d2 = dg.jvp(d1, (np.array(0.0),), (np.ones((1,)),))[1][0]
    h = 1e-5
    np.testing.assert_allclose(d2, (d1(np.array(h)) - d1(np.array(-h))) / (2 * h), rtol=1e-6, atol=1e-9)


def test_the_other_counterparts_are_dualgrads():
    x = np.array([0.5, 1.5, 3.0])
    np.testing.assert_allclose(special.logsumexp(x), sp.logsumexp(x))
    np.testing.assert_allclose(special.polygamma(1, x), sp.polygamma(1, x))
    np.testing.assert_allclose(special.multigammaln(x + 2, 2), sp.multigammaln(x + 2, 2))


def test_scipys_own_functions_refuse_a_dual_and_name_the_counterpart():
    import scipy.stats
    x = dg.Dual(np.array([0.1, 0.2]), np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"in scipy\.stats.*dualgrad\.scipy\.stats has the counterparts"):
        scipy.stats.norm.pdf(x)
    with pytest.raises(TypeError, match=r"dualgrad\.scipy\.special has the counterparts"):
        sp.logsumexp(x)


def test_softmax_refuses_an_axis_out_of_bounds():
    with pytest.raises(np.exceptions.AxisError, match="axis 5 is out of bounds"):
        special.softmax(np.zeros((3, 4, 2)), axis=(5,))
