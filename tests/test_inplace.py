"""In-place writes on Duals: d[idx] = v, d += v, out=, with NumPy's view semantics.

Every write is checked against the same writes done on plain arrays: on the primal, and column by
column on the tangent block (a write is linear in the written value, so that is the exact reference).
"""
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st

import dualgrad as dg

rng = np.random.default_rng(0)


def rosen_der(x):
    """scipy.optimize.rosen_der's body: a gradient assembled by slice assignment."""
    xm, xm_m1, xm_p1 = x[1:-1], x[:-2], x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200 * (xm - xm_m1 ** 2) - 400 * (xm_p1 - xm ** 2) * xm - 2 * (1 - xm)
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    der[-1] = 200 * (x[-1] - x[-2] ** 2)
    return der


@pytest.mark.parametrize("n", [2, 3, 8])
def test_jacobian_of_slice_assigned_gradient_is_the_hessian(n):
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
    np.testing.assert_allclose(dg.jacfwd(rosen_der)(x), scipy.optimize.rosen_hess(x), rtol=1e-12)
    np.testing.assert_allclose(rosen_der(x), scipy.optimize.rosen_der(x))


INDICES = [
    (slice(1, 3), (2, 3)),
    ((0, slice(None)), (3,)),
    ((slice(None), 1), (4,)),
    (([0, 2], slice(None)), (2, 3)),
    ((slice(None), [0, 2]), (4, 2)),
    ((np.array([True, False, True, False]),), (2, 3)),
    ((Ellipsis, 0), (4,)),
    ((1, 2), ()),
]


@given(writes=st.lists(st.sampled_from(range(len(INDICES))), min_size=1, max_size=4),
       k=st.sampled_from([1, 2, 7]), seed=st.integers(0, 2**32 - 1))
def test_writes_match_the_same_writes_on_plain_arrays(writes, k, seed):
    r = np.random.default_rng(seed)
    x, v = r.standard_normal((4, 3)), r.standard_normal((k, 4, 3))
    d = dg.Dual(x, v)
    out, ref_p, ref_t = d * 1.0, x.copy(), v.copy()
    for w in writes:
        index, shape = INDICES[w]
        vp, vt = r.standard_normal(shape), r.standard_normal((k,) + shape)
        out[index] = dg.Dual(vp, vt)
        ref_p[index] = vp
        for c in range(k):
            ref_t[c][index] = vt[c]
    np.testing.assert_array_equal(out.primal, ref_p)
    np.testing.assert_array_equal(out.tangent, ref_t)
    np.testing.assert_array_equal(d.primal, x)                    # the Dual written from is untouched


def test_separated_advanced_indices_keep_the_tangent_axis_apart():
    # x[0, :, [0, 1]] puts the broadcast axis first in NumPy; with k = 2 a wrong layout would still fit
    x, v = np.zeros((2, 2, 3)), np.zeros((2, 2, 2, 3))
    d = dg.Dual(x, v)
    value = dg.Dual(np.arange(4.0).reshape(2, 2), np.arange(8.0).reshape(2, 2, 2))
    d[0, :, [0, 1]] = value
    expected = np.zeros((2, 2, 2, 3))
    for c in range(2):
        expected[c][0, :, [0, 1]] = value.tangent[c]
    np.testing.assert_array_equal(d.tangent, expected)
    got = d[0, :, [0, 1]]
    np.testing.assert_array_equal(got.tangent, value.tangent)


def test_a_dual_without_tangent_gains_one_and_a_plain_value_writes_zeros():
    d = np.zeros_like(dg.Dual(np.ones(3), np.ones((2, 3))))
    assert isinstance(d, dg.Dual) and d.tangent is None
    d[1] = dg.Dual(np.array(5.0), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(d.tangent, [[0, 1, 0], [0, 2, 0]])
    d[1] = 7.0
    np.testing.assert_array_equal(d.primal, [0, 7, 0])
    assert not d.tangent.any()


def test_views_see_writes_to_their_base_and_write_back_into_it():
    base = dg.Dual(np.arange(6.0), np.eye(6)) * 1.0
    row = base[2:4]
    base[2] = dg.Dual(np.array(9.0), np.full(6, 3.0))
    np.testing.assert_array_equal(row.primal, [9.0, 3.0])
    np.testing.assert_array_equal(row.tangent[:, 0], np.full(6, 3.0))
    row[1] = 0.0                                                   # through the view into the base
    np.testing.assert_array_equal(base.primal, [0, 1, 9, 0, 4, 5])
    grid = base.reshape(2, 3)
    grid.T[2, 0] = 42.0                                            # a view of a view
    assert base.primal[2] == 42.0 and grid.primal[0, 2] == 42.0


def test_augmented_assignment_on_a_slice():
    d = dg.Dual(np.zeros(4), np.ones((1, 4))) * 1.0
    d[1:3] += dg.Dual(np.ones(2), 2 * np.ones((1, 2)))
    d[0] *= 5.0
    np.testing.assert_array_equal(d.primal, [0, 1, 1, 0])
    np.testing.assert_array_equal(d.tangent, [[5, 3, 3, 1]])


def test_inplace_operators_change_the_object_itself():
    d = dg.Dual(np.ones(3), np.ones((1, 3))) * 1.0
    alias = d
    d += 2.0
    d *= dg.Dual(np.full(3, 2.0), np.ones((1, 3)))
    assert alias is d
    np.testing.assert_array_equal(d.primal, np.full(3, 6.0))
    np.testing.assert_array_equal(d.tangent, np.full((1, 3), 2.0 + 3.0))


def test_writes_never_change_the_inputs_or_earlier_results():
    x, v = np.ones(3), np.ones((1, 3))
    d = dg.Dual(x, v)
    e = d + 0.0                                                    # may share d's tangent buffer
    d[0] = 5.0
    np.testing.assert_array_equal(x, np.ones(3))
    np.testing.assert_array_equal(v, np.ones((1, 3)))
    np.testing.assert_array_equal(e.primal, np.ones(3))
    np.testing.assert_array_equal(e.tangent, np.ones((1, 3)))


def test_read_only_views_refuse_writes_as_in_numpy():
    d = dg.Dual(np.ones((3, 3)), np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="read-only"):
        np.broadcast_to(d[0], (2, 3))[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        np.diagonal(d)[0] = 1.0


def test_out_argument_and_the_ndarray_target():
    d = dg.Dual(np.array([0.5, 1.0]), np.ones((1, 2)))
    target = np.zeros_like(d)
    np.exp(d, out=target)
    np.testing.assert_allclose(target.tangent, np.exp(d.primal)[None])
    with pytest.raises(TypeError, match=r"np\.zeros_like"):
        np.exp(d, out=np.zeros(2))
    plain = np.zeros((2, 2))
    with pytest.raises(TypeError, match=r"np\.zeros_like"):
        plain[0] = d


def test_writing_an_inner_derivative_into_an_outer_value():
    def outer(x):
        def inner(y):
            buf = np.zeros_like(x)                                 # a value of the outer call
            buf[0] = x[0] * y[0]                                   # now also a value of the inner one
            buf[1] = y[0] ** 2
            return buf
        return dg.jvp(inner, (x,), (np.ones((1, 2)),))[1][0]       # d/dy at y = x

    x = np.array([1.5, 2.0])
    J = dg.jacfwd(outer)(x)
    # the inner tangent along (1, 1) is [x0, 2 y0], at y = x: [x0, 2 x0]; its Jacobian in x
    np.testing.assert_allclose(J, [[1.0, 0.0], [2.0, 0.0]])


def test_copy_is_independent():
    d = dg.Dual(np.arange(3.0), np.ones((1, 3)))
    c = d.copy()
    c[0] = 9.0
    assert d.primal[0] == 0.0 and np.copy(d) is not d
