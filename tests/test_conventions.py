"""Derivatives at the boundaries of a function's smooth domain follow JAX's conventions: a function
that is constant along the direction has derivative 0 (not 0·inf = NaN); an infinite derivative is
reported as such."""
import numpy as np
import pytest

import dualgrad as dg


def derivative(f, x):
    return dg.jvp(f, (np.asarray(x, dtype=float),), (np.ones((1,) + np.shape(x)),))[1][0]


def test_x_to_the_zero_has_derivative_zero_at_zero():
    assert derivative(lambda x: x ** 0.0, 0.0) == 0.0
    assert derivative(lambda x: np.power(x, np.zeros(3)), np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert derivative(lambda x: x ** 1.0, 0.0) == 1.0
    assert derivative(lambda x: x ** 2.0, 0.0) == 0.0


def test_zero_to_the_y_has_derivative_zero_in_y():
    assert derivative(lambda y: 0.0 ** y, 2.0) == 0.0
    assert derivative(lambda y: np.power(np.zeros(2), y), np.array([0.5, 3.0])).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("fn", [np.std, np.var, lambda a: np.std(a, axis=0), lambda a: np.var(a, ddof=0)])
def test_std_and_var_of_one_value_have_derivative_zero(fn):
    assert np.all(derivative(fn, np.array([1.7])) == 0.0)
    H = dg.hessian(lambda a: fn(a).sum())(np.array([1.7]))
    assert np.all(H == 0.0)


def test_infinite_derivatives_stay_infinite():
    with np.errstate(divide="ignore"):
        assert derivative(np.sqrt, 0.0) == np.inf
        assert derivative(np.log, 0.0) == np.inf
        assert derivative(np.cbrt, 0.0) == np.inf


def test_kinks_take_the_documented_one_sided_values():
    assert derivative(np.abs, 0.0) == 0.0
    assert derivative(dg.relu, 0.0) == 0.0
    assert derivative(lambda x: np.maximum(x, 0.0), 0.0) == 0.5     # a tie splits the tangent
