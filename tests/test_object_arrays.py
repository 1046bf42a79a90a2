"""NumPy building arrays from Duals: np.array([d, e]), np.asarray(d), np.r_, np.c_, np.vectorize.

NumPy does not dispatch these; ``Dual.__array__`` hands it an object array of 0-d Duals, NumPy computes on
that element by element, and the array becomes one Dual again when it meets a Dual, a dualgrad function or
a transform. Every result is checked against the same computation written on one Dual (np.stack): primal
and every tangent column, first and second order."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad.dual import OBJECT_LOOP_METHODS, from_objects


def jvp1(f, x, v):
    return dg.jvp(f, (x,), (v,))


def assert_same(got, want):
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 3), max_size=2), n=st.integers(1, 3), k=st.sampled_from([1, 2, 7]),
       seed=st.integers(0, 2**32 - 1))
def test_np_array_of_duals_is_np_stack(shape, n, k, seed):
    """np.array of n Duals (any shape, k columns) and the stacked Dual carry the same primal and tangents."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape))
    v = rng.standard_normal((k, n, *shape))
    got = jvp1(lambda a: np.array([a[i] * (i + 1.0) for i in range(n)]), x, v)
    want = jvp1(lambda a: np.stack([a[i] * (i + 1.0) for i in range(n)]), x, v)
    assert_same(got, want)
    columns = [jvp1(lambda a: np.array([a[i] * (i + 1.0) for i in range(n)]), x, v[j:j + 1])[1] for j in range(k)]
    np.testing.assert_allclose(np.concatenate(columns), got[1], rtol=1e-13, atol=1e-15)


CASES = {
    "np.array mixed with numbers": (lambda a: np.array([a[0], 2.0, a[1] * a[0]]),
                                    lambda a: np.stack([a[0], a[0] * 0 + 2.0, a[1] * a[0]])),
    "np.array nested lists": (lambda a: np.array([[a[0], a[1]], [1.0, a[0]]]),
                              lambda a: np.stack([np.stack([a[0], a[1]]), np.stack([a[0] * 0 + 1.0, a[0]])])),
    "np.asarray of a Dual": (lambda a: np.asarray(a) * 3.0, lambda a: a * 3.0),
    "np.r_": (lambda a: np.r_[a, a ** 2, 1.0], lambda a: np.concatenate([a, a ** 2, a[:1] * 0 + 1.0])),
    "np.c_": (lambda a: np.c_[a, np.sin(a)], lambda a: np.stack([a, np.sin(a)], axis=1)),
    "np.append of lists": (lambda a: np.append([a[0]], [a[1], 1.0]),
                           lambda a: np.stack([a[0], a[1], a[0] * 0 + 1.0])),
    "object array times a Dual": (lambda a: np.array([a[0], a[1]]) * a, lambda a: a * a),
    "a Dual times an object array": (lambda a: a * np.array([a[1], a[0]]), lambda a: a * a[::-1]),
    "np.concatenate of an object array and a Dual": (lambda a: np.concatenate([np.array([a[1]]), a]),
                                                     lambda a: np.concatenate([a[1:], a])),
    "a dualgrad function": (lambda a: dg.relu(np.array([a[0], -a[1]])), lambda a: dg.relu(a * np.array([1.0, -1.0]))),
    "object array @ plain matrix": (lambda a: np.array([a[0], a[1]]) @ np.array([[1.0, 2.0], [3.0, 4.0]]),
                                    lambda a: a @ np.array([[1.0, 2.0], [3.0, 4.0]])),
    "np.sum of a list": (lambda a: np.sum([a[0], a[1] ** 2]), lambda a: a[0] + a[1] ** 2),
    "np.max of a list": (lambda a: np.max([a[0], 3.0 * a[1]]), lambda a: 3.0 * a[1]),
    "np.dot of a list": (lambda a: np.dot([a[0], a[1]], [1.0, 2.0]), lambda a: a[0] + 2.0 * a[1]),
    "np.linalg.norm of a list": (lambda a: np.linalg.norm([a[0], a[1]]), lambda a: np.linalg.norm(a)),
    "np.vectorize": (lambda a: np.vectorize(lambda t: t * t + np.sin(t))(a), lambda a: a * a + np.sin(a)),
    "np.frompyfunc": (lambda a: np.frompyfunc(lambda t, s: t * s, 2, 1)(a, a[::-1]), lambda a: a * a[::-1]),
}


@pytest.mark.parametrize("name", CASES)
def test_object_array_paths_match_the_one_dual_computation(name):
    f, reference = CASES[name]
    x = np.array([0.7, 1.9])
    v = np.random.default_rng(0).standard_normal((3, 2))
    assert_same(jvp1(f, x, v), jvp1(reference, x, v))
    # second order: the Hessian through the object array equals the one through the stacked Dual
    np.testing.assert_allclose(dg.hessian(lambda a: np.sum(f(a) ** 2))(x),
                               dg.hessian(lambda a: np.sum(reference(a) ** 2))(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [name for name in OBJECT_LOOP_METHODS if name != "rint"])
def test_numpy_object_loops_reach_the_rules(name):
    """np.sin(object array) calls each element's .sin(): the same values and tangents as np.sin(Dual)."""
    ufunc = getattr(np, name)
    x = np.array([0.3, 0.45]) if name not in ("arccosh",) else np.array([1.3, 2.45])
    v = np.array([[1.0, -2.0], [0.5, 0.25]])
    if ufunc.nin == 1:
        got, want = jvp1(lambda a: ufunc(np.array([a[0], a[1]])), x, v), jvp1(ufunc, x, v)
    else:
        got = jvp1(lambda a: ufunc(np.array([a[0], a[1]]), np.array([a[1], a[0]])), x, v)
        want = jvp1(lambda a: ufunc(a, a[::-1]), x, v)
    assert_same(got, want)


def test_nested_derivatives_through_object_arrays():
    """d²/dx² of (x·y)² built with np.array inside both levels: 2y², and d/dx d/dy (x·y)² = 4xy."""
    def d(f, x):
        return dg.jvp(f, (x,), (np.ones((1,) + np.shape(x)),))[1][0]

    x, y = np.array(1.5), np.array(-0.4)
    mixed = d(lambda a: d(lambda b: np.sum(np.array([a * b]) ** 2), y), x)
    np.testing.assert_allclose(mixed, 4 * x * y, rtol=1e-13)
    hess = dg.jacfwd(dg.jacfwd(lambda a: np.array([a[0] * a[1], a[0] ** 3]).sum()))(np.array([2.0, 3.0]))
    np.testing.assert_allclose(hess, [[12.0, 1.0], [1.0, 0.0]], rtol=1e-13)


def test_what_still_raises_and_what_is_left_alone():
    d = dg.Dual(np.array([1.0, 2.0]), np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"np\.mean.*np\.stack"):
        np.mean([d, d])                                 # NumPy casts the sum to float64
    with pytest.raises(TypeError, match="plain float64 array"):
        np.array([d, d], dtype=float)
    elements = np.asarray(d)
    d[0] = 10.0                                         # the object array holds values, not views of d
    assert elements[0].primal == 1.0 and elements[0].tangent[0] == 1.0
    plain = np.array([1, "a"], dtype=object)
    assert from_objects(plain) is plain                 # object arrays without Duals stay as they are
    empty = np.empty((0,), dtype=object)
    assert from_objects(empty) is empty


def test_integer_valued_ufuncs_of_object_arrays_are_plain():
    d = dg.Dual(np.array([1.5, -2.5]), np.ones((1, 2)))
    for ufunc, want in [(np.floor, [1, -3]), (np.ceil, [2, -2]), (np.trunc, [1, -2]), (np.rint, [2, -2])]:
        got = ufunc(np.asarray(d))
        assert not any(isinstance(e, dg.Dual) for e in got)
        np.testing.assert_array_equal(got.astype(float), want)


def test_an_object_array_without_duals_comes_back_as_numbers():
    """np.min over an object array can pick a plain number in every place: the output is its value, with a
    zero tangent, as for any output that does not depend on the inputs."""
    out, tangent = dg.jvp(lambda a: np.min(np.array([[a[0], 0.5], [a[1], 0.5]]), axis=1),
                          (np.array([1.0, 2.0]),), (np.ones((2, 2)),))
    assert out.dtype == np.float64 and np.array_equal(out, [0.5, 0.5])
    assert tangent.dtype == np.float64 and not tangent.any()
