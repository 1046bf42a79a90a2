"""NumPy code runs on Duals unchanged through __array_ufunc__/__array_function__; what has no rule
raises MissingRuleError naming the function, never a wrong value or a dropped tangent."""
import re

import numpy as np
import pytest

import dualgrad as dg

rng = np.random.default_rng(1)


def plain_numpy(x):
    """Written for ndarrays only, with no knowledge of dualgrad."""
    y = np.sin(x) * np.exp(-x ** 2) + np.maximum(x, 0.1)
    y = np.where(x > 0, y, np.tanh(y))
    z = np.concatenate([y, x[1:] - x[:-1] ** 2], axis=0)
    m = np.einsum("ij,kj->ik", z, z) + np.dot(z, z.T)
    return np.sum(m, axis=1) / np.linalg.norm(z) + np.mean(np.abs(z))


def test_plain_numpy_function_matches_finite_differences():
    x = rng.standard_normal((4, 3))
    dg.check_jvp(plain_numpy, (x,), k=4)


def test_numpy_namespace_functions_dispatch():
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((2, 3, 4))
    d = dg.Dual(x, v)
    for f in (np.sin, np.exp, lambda a: np.sum(a, axis=1), lambda a: np.maximum(a, 0),
              lambda a: np.linalg.norm(a), lambda a: np.transpose(a), lambda a: np.clip(a, -1, 1)):
        assert isinstance(f(d), dg.Dual)


@pytest.mark.parametrize("call, name", [
    (lambda d: np.histogramdd(d), "numpy.histogramdd"),
    (lambda d: np.packbits(d), "numpy.packbits"),
    (lambda d: np.histogram(d), "numpy.histogram"),
    (lambda d: np.unravel_index(d, (3, 3)), "numpy.unravel_index"),
    (lambda d: np.add.reduce(d), "numpy.add.reduce"),
    (lambda d: np.multiply.outer(d, d), "numpy.multiply.outer"),
])
def test_unsupported_numpy_function_raises_missing_rule_error(call, name):
    d = dg.Dual(rng.standard_normal((3, 3)), rng.standard_normal((2, 3, 3)))
    with pytest.raises(dg.MissingRuleError, match=re.escape(name)):
        call(d)


def test_out_argument_writes_into_a_dual_and_names_the_fix_for_an_ndarray():
    d = dg.Dual(np.ones(3), np.ones((1, 3)))
    with pytest.raises(TypeError, match=r"np.zeros_like"):
        np.sin(d, out=np.empty(3))
    target = np.zeros_like(d)
    assert np.sin(d, out=target) is target
    np.testing.assert_allclose(target.primal, np.sin(1.0) * np.ones(3))
    np.testing.assert_allclose(target.tangent, np.cos(1.0) * np.ones((1, 3)))
    total = np.zeros_like(d[0])
    assert np.sum(d, out=total) is total and total.primal == 3.0 and total.tangent[0] == 3.0


def test_unsupported_keyword_arguments_are_refused():
    d = dg.Dual(np.ones(3), np.ones((1, 3)))
    with pytest.raises(TypeError, match="where"):
        np.sum(d, where=np.array([True, False, True]))
    with pytest.raises(TypeError, match="dtype"):
        np.add(d, d, dtype=np.float32)


def test_constant_constructors_give_duals_and_queries_look_at_the_primal():
    d = dg.Dual(np.ones((2, 3)), np.ones((1, 2, 3)))
    zeros = np.zeros_like(d)
    assert isinstance(zeros, dg.Dual) and zeros.tangent is None and zeros.shape == (2, 3)
    assert np.ones_like(d).primal.sum() == 6 and np.full_like(d, 7.0).primal[0, 0] == 7.0
    assert np.shape(d) == (2, 3) and np.ndim(d) == 2 and np.size(d) == 6
    assert np.result_type(d, np.float32) == np.float64
    assert np.isfinite(d).all() and not np.isnan(d).any()


def test_piecewise_constant_functions_return_plain_arrays():
    d = dg.Dual(np.array([0.3, 1.7]), np.ones((3, 2)))
    for out in (np.floor(d), np.round(d), np.sign(d), np.rint(d), d // 1.0, np.heaviside(d, 0.5), d > 1):
        assert type(out) is np.ndarray
    _, t = dg.jvp(np.floor, (np.array([0.3, 1.7]),), (np.ones((3, 2)),))
    assert t.shape == (3, 2) and not t.any()
