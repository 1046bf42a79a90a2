"""dualgrad.scipy.integrate: odeint's sensitivities against the analytic solution of y' = −a·y + b and against finite
differences, SciPy's values on plain inputs and as the primal, its refusals; the sample rules' values and tangents."""
import numpy as np
import pytest
import scipy.integrate as si
from hypothesis import given, settings
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad.scipy import integrate

TIGHT = {"rtol": 1e-11, "atol": 1e-12}


# ----- odeint --------------------------------------------------------------------------------------------------------
def decay(y, t, a, b):
    return -a * y + b


def decay_solution(y0, t, a, b):
    """y(t) = b/a + (y0 − b/a)·exp(−a(t − t0)) and its derivatives in y0, a, b, t0 and each t_i."""
    tau = t - t[0]
    e = np.exp(-a * tau)
    y = b / a + (y0 - b / a) * e
    rate = -a * (y0 - b / a) * e                       # dy/dt_i = f(y(t_i)); dy/dt0 = −rate (+ its own shift)
    return y, {"y0": e, "a": -b / a**2 + b / a**2 * e - (y0 - b / a) * tau * e, "b": (1 - e) / a, "rate": rate}


def test_plain_inputs_are_scipys_odeint():
    t = np.linspace(0, 2, 7)
    expected = si.odeint(decay, [2.0, -1.0], t, args=(1.3, 0.7))
    np.testing.assert_array_equal(integrate.odeint(decay, [2.0, -1.0], t, args=(1.3, 0.7)), expected)
    y, info = integrate.odeint(decay, [2.0], t, args=(1.3, 0.7), full_output=1)
    assert "nst" in info and y.shape == (7, 1)


def test_sensitivities_match_the_analytic_derivatives():
    a, b, y0 = 1.3, 0.7, 2.0
    t = np.linspace(0.2, 2.0, 6)
    eye = np.eye(3)
    out, tangent = dg.jvp(lambda y0, a, b: integrate.odeint(decay, y0, t, args=(a, b), **TIGHT),
                          (np.array([y0]), np.array(a), np.array(b)), (eye[:, :1], eye[:, 1], eye[:, 2]))
    y, d = decay_solution(y0, t, a, b)
    np.testing.assert_array_equal(out, si.odeint(decay, [y0], t, args=(a, b), **TIGHT))   # the primal: SciPy's
    np.testing.assert_allclose(out[:, 0], y, rtol=1e-9)
    for column, name in enumerate(["y0", "a", "b"]):
        np.testing.assert_allclose(tangent[column, :, 0], d[name], rtol=1e-8, atol=1e-10, err_msg=name)


def test_time_sensitivities_match_the_analytic_derivatives():
    a, b, y0 = 0.8, -0.4, 1.5
    t = np.array([0.3, 0.9, 1.4, 2.5])
    _, tangent = dg.jvp(lambda t: integrate.odeint(decay, np.array([y0]), t, args=(a, b), **TIGHT), (t,), (np.eye(4),))
    _, d = decay_solution(y0, t, a, b)
    start = np.concatenate([[0.0], -d["rate"][1:]])    # moving t0 shifts every later value by −f(y(t_i))
    np.testing.assert_allclose(tangent[0, :, 0], start, rtol=1e-8, atol=1e-10)
    for i in range(1, 4):                              # moving t_i changes y(t_i) only, by f(y(t_i))
        expected = np.zeros(4)
        expected[i] = d["rate"][i]
        np.testing.assert_allclose(tangent[i, :, 0], expected, rtol=1e-8, atol=1e-10)


def autograd_style(y, t, arg1, arg2):
    return -np.sqrt(t) - y + arg1 - np.mean((y + arg2) ** 2)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.sampled_from([1, 2, 7]))
def test_sensitivities_match_finite_differences(seed, k):
    rng = np.random.default_rng(seed)
    y0, arg1, arg2 = rng.normal(size=3) * 0.5, np.array(rng.normal()), rng.normal(size=3) * 0.3
    t = np.sort(rng.uniform(0.1, 1.5, 5))
    dg.check_jvp(lambda y0, t, arg1, arg2: integrate.odeint(autograd_style, y0, t, args=(arg1, arg2), rtol=1e-10,
                                                            atol=1e-10),
                 (y0, t, arg1, arg2), k=k, rng=rng)


def test_k_columns_equal_k_single_column_runs_and_options_pass_through():
    rng = np.random.default_rng(4)
    t = np.linspace(0.1, 1.0, 4)
    y0, arg2 = rng.normal(size=2), {"shift": rng.normal(size=2)}
    ty, ta = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))

    def solve(y0, shift):                               # args as a pytree, func with t first, per-component atol
        return integrate.odeint(lambda t, y, c, p: autograd_style(y, t, c, p["shift"]), y0, t,
                                args=(0.2, {"shift": shift}), tfirst=True, rtol=1e-10, atol=[1e-10, 1e-11])

    _, block = dg.jvp(solve, (y0, arg2["shift"]), (ty, ta))
    for i in range(3):
        _, single = dg.jvp(solve, (y0, arg2["shift"]), (ty[i:i + 1], ta[i:i + 1]))
        np.testing.assert_allclose(block[i], single[0], rtol=1e-7, atol=1e-9)


def test_func_may_return_a_list():
    t = np.linspace(0, 1.5, 5)                          # y'' = −y: y = cos(t − t0) from (1, 0); d/dy0[0] the same
    _, tangent = dg.jvp(lambda y0: integrate.odeint(lambda y, t: [y[1], -y[0]], y0, t, **TIGHT),
                        (np.array([1.0, 0.0]),), (np.eye(2),))
    np.testing.assert_allclose(tangent[0, :, 0], np.cos(t), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(tangent[1, :, 0], np.sin(t), rtol=1e-8, atol=1e-10)


def test_second_derivatives_match_the_analytic_ones():
    # jacfwd of jacfwd in (y0, a, b) and in the times, against central differences of the analytic solution
    t = np.array([0.3, 0.9, 1.4, 2.5])
    p = np.array([1.5, 0.8, -0.4])

    def analytic(p, t):
        return decay_solution(p[0], t, p[1], p[2])[0]

    def central_hessian(f, x, h=1e-4):
        e = np.eye(x.size) * h
        return np.stack([np.stack([(f(x + e[i] + e[j]) - f(x + e[i] - e[j]) - f(x - e[i] + e[j]) + f(x - e[i] - e[j]))
                                   / (4 * h * h) for j in range(x.size)], -1) for i in range(x.size)], -2)

    solve = lambda p, t: integrate.odeint(decay, p[:1], t, args=(p[1], p[2]), **TIGHT)[:, 0]  # noqa: E731
    np.testing.assert_allclose(dg.jacfwd(dg.jacfwd(solve))(p, t), central_hessian(lambda p: analytic(p, t), p),
                               atol=1e-6)
    np.testing.assert_allclose(dg.jacfwd(dg.jacfwd(lambda t: solve(p, t)))(t),
                               central_hessian(lambda t: analytic(p, t), t), atol=1e-6)


def test_odeint_refusals():
    t = np.linspace(0, 1, 3)
    with pytest.raises(dg.MissingRuleError, match="closes over"):
        dg.jvp(lambda a: integrate.odeint(lambda y, t: -a * y, np.array([1.0]), t), (np.array(1.0),), (np.ones(1),))
    dual_y0 = dg.Dual(np.array([1.0]), np.ones((1, 1)))
    with pytest.raises(ValueError, match="does not take Dfun"):
        integrate.odeint(decay, dual_y0, t, args=(1.0, 0.0), Dfun=lambda y, t, a, b: -a * np.eye(1))
    with pytest.raises(ValueError, match="does not take ml, mu"):
        integrate.odeint(decay, dual_y0, t, args=(1.0, 0.0), ml=0, mu=0)
    with pytest.raises(TypeError, match="must be in a tuple"):
        integrate.odeint(decay, dual_y0, t, args=[1.0, 0.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        integrate.odeint(decay, dg.Dual(np.ones((1, 1)), np.ones((1, 1, 1))), t, args=(1.0, 0.0))


# ----- sample rules --------------------------------------------------------------------------------------------------
SAMPLES = [((7,), -1), ((8,), 0), ((2,), 0), ((3,), 0), ((4,), -1), ((3, 6), 1), ((6, 3), 0), ((2, 5, 4), 1)]
RULES = ["trapezoid", "simpson", "cumulative_trapezoid"]


def _spacings(rng, shape, axis):
    """No x, x 1-D along axis, x of y's shape (each increasing along axis)."""
    return [None, np.sort(rng.uniform(0, 3, shape[axis])), np.sort(rng.uniform(0, 3, shape), axis=axis)]


@pytest.mark.parametrize("shape, axis", SAMPLES, ids=str)
@pytest.mark.parametrize("rule", RULES)
def test_sample_rules_match_scipy(rule, shape, axis):
    rng = np.random.default_rng(0)
    y = rng.normal(size=shape)
    for x in _spacings(rng, shape, axis):
        for extra in [{}, {"initial": 0}] if rule == "cumulative_trapezoid" else [{}]:
            expected = getattr(si, rule)(y, x=x, dx=0.3, axis=axis, **extra)
            got = getattr(integrate, rule)(y, x=x, dx=0.3, axis=axis, **extra)
            assert np.shape(got) == np.shape(expected)
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)
            dual = getattr(integrate, rule)(dg.Dual(y, np.ones((1,) + shape)), x=x, dx=0.3, axis=axis, **extra)
            np.testing.assert_allclose(dual.primal, expected, rtol=1e-13, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), rule=st.sampled_from(RULES), sample=st.sampled_from(SAMPLES),
       spacing=st.sampled_from(["dx", "x1", "xn"]), k=st.sampled_from([1, 2, 7]))
def test_sample_rule_tangents_match_finite_differences(seed, rule, sample, spacing, k):
    # y, and x or dx, all carry tangents
    shape, axis = sample
    rng = np.random.default_rng(seed)
    y = rng.normal(size=shape)
    if spacing == "dx":
        dg.check_jvp(lambda y, dx: getattr(integrate, rule)(y, dx=dx, axis=axis), (y, np.array(0.4)), k=k, rng=rng)
    else:
        x = _spacings(rng, shape, axis)[1 if spacing == "x1" else 2]
        dg.check_jvp(lambda y, x: getattr(integrate, rule)(y, x=x, axis=axis), (y, x), k=k, rng=rng)


@pytest.mark.parametrize("rule", RULES)
def test_sample_rule_k_columns_equal_k_single_column_runs(rule):
    rng = np.random.default_rng(6)
    y, x = rng.normal(size=(3, 6)), np.sort(rng.uniform(0, 3, 6))
    ty, tx = rng.normal(size=(7, 3, 6)), rng.normal(size=(7, 6)) * 0.1
    f = lambda y, x: getattr(integrate, rule)(y, x=x)  # noqa: E731
    _, block = dg.jvp(f, (y, x), (ty, tx))
    for i in range(7):
        np.testing.assert_allclose(block[i], dg.jvp(f, (y, x), (ty[i:i + 1], tx[i:i + 1]))[1][0], rtol=1e-13,
                                   atol=1e-13)


def test_trapezoid_broadcasts_x_and_simpson_nests():
    rng = np.random.default_rng(5)
    y, x = rng.normal(size=(3, 5)), np.sort(rng.uniform(0, 2, (1, 5)), axis=1)
    np.testing.assert_allclose(integrate.trapezoid(y, x), si.trapezoid(y, x), rtol=1e-14)
    # d²/ds² simpson(y, x + s v) against central differences of the first derivative
    y, x, v = rng.normal(size=7), np.linspace(0, 2, 7), rng.normal(size=7) * 0.1
    one = (np.ones((1,)),)
    d1 = lambda s: dg.jvp(lambda r: integrate.simpson(y, x=x + r * v), (s,), one)[1][0]  # noqa: E731
    d2 = dg.jvp(d1, (np.array(0.0),), one)[1][0]
    h = 1e-5
    np.testing.assert_allclose(d2, (d1(np.array(h)) - d1(np.array(-h))) / (2 * h), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("call, match", [
    (lambda: integrate.cumulative_trapezoid(np.ones(3), initial=1.0), "`initial` must be `None` or `0`"),
    (lambda: integrate.cumulative_trapezoid(np.ones((2, 0))), "at least one point"),
    (lambda: integrate.simpson(np.ones(4), x=np.ones(3)), "length of x along axis"),
    (lambda: integrate.simpson(np.ones((2, 4)), x=np.ones((2, 2, 4))), "must be 1-D or the same as y"),
])
def test_sample_rule_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_functions_without_counterpart_are_named():
    with pytest.raises(AttributeError, match="no counterpart for scipy.integrate.quad"):
        integrate.quad  # noqa: B018
