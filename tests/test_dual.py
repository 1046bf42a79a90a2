"""The Dual type: construction, properties, operators, and the errors for bad input."""
import numpy as np
import pytest

import dualgrad as dg

rng = np.random.default_rng(0)


def test_properties():
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 3, 4))
    d = dg.Dual(x, v)
    assert (d.k, d.shape, d.ndim, d.size, d.dtype) == (5, (3, 4), 2, 12, np.float64)
    assert d.primal is x and d.tangent is v
    zero = dg.Dual(x, None)
    assert zero.tangent is None and zero.k is None
    assert len(d) == 3 and [row.shape for row in d] == [(4,)] * 3


def test_python_float_and_float32():
    assert dg.Dual(2.0).shape == () and dg.Dual(2.0).dtype == np.float64
    d = dg.Dual(np.ones(3, np.float32), [[1.0, 2.0, 3.0]])
    assert d.tangent.dtype == np.float32, "a tangent without a dtype takes the primal's"


@pytest.mark.parametrize("primal, tangent", [
    (np.ones(3, np.float32), np.ones((2, 3))),
    (np.ones(3), np.ones((2, 3), np.float32)),
    (np.ones(3), np.ones((2, 3), int)),
    (np.ones(3, complex), np.ones((2, 3))),
])
def test_a_tangent_of_another_dtype_is_refused_not_cast(primal, tangent):
    with pytest.raises(dg.TangentDtypeError, match=r"astype"):
        dg.Dual(primal, tangent)


def test_operators_match_numpy_and_carry_tangents():
    x, v = rng.standard_normal(4), rng.standard_normal((2, 4))
    d = dg.Dual(x, v)
    for expr, ref, dref in [
        (lambda a: a + 1.5, x + 1.5, v),
        (lambda a: 1.5 - a, 1.5 - x, -v),
        (lambda a: 2 * a, 2 * x, 2 * v),
        (lambda a: a / 2, x / 2, v / 2),
        (lambda a: -a, -x, -v),
        (lambda a: +a, x, v),
        (lambda a: a * a, x * x, 2 * x * v),
        (lambda a: abs(a), np.abs(x), np.sign(x) * v),
    ]:
        out = expr(d)
        np.testing.assert_allclose(out.primal, ref)
        np.testing.assert_allclose(out.tangent, dref)
    np.testing.assert_allclose((d @ x).tangent, v @ x)
    np.testing.assert_allclose((x @ d).tangent, v @ x)


def test_comparisons_return_plain_boolean_arrays():
    d = dg.Dual(np.array([1.0, 2.0, 3.0]), np.ones((1, 3)))
    for result in (d > 2, d >= 2, d < 2, d <= 2, d == 2, d != 2, 2 < d):
        assert type(result) is np.ndarray and result.dtype == bool
    np.testing.assert_array_equal(d > dg.Dual(np.full(3, 2.0)), [False, False, True])
    assert bool(dg.Dual(1.0) > 0)


def test_ndarray_on_the_left_defers_to_dual():
    d = dg.Dual(np.ones(3), np.ones((2, 3)))
    for out in (np.arange(3.0) + d, np.arange(3.0) * d, np.arange(3.0) - d, np.eye(3) @ d):
        assert isinstance(out, dg.Dual) and out.tangent.shape == (2, 3)


def test_methods():
    x, v = rng.standard_normal((2, 3)), rng.standard_normal((4, 2, 3))
    d = dg.Dual(x, v)
    np.testing.assert_allclose(d.T.tangent, v.transpose(0, 2, 1))
    np.testing.assert_allclose(d.reshape(3, 2).tangent, v.reshape(4, 3, 2))
    np.testing.assert_allclose(d.sum(axis=1).tangent, v.sum(axis=2))
    np.testing.assert_allclose(d.mean().tangent, v.mean(axis=(1, 2)))
    assert d.max().shape == () and d.astype(np.float32).tangent.dtype == np.float32


@pytest.mark.parametrize("tangent, match", [
    (np.ones((3, 4)), r"tangent block of shape \(k, 3, 4\).*got tangent shape \(3, 4\).*v\[None\]"),
    (np.ones((2, 4, 3)), r"\(k, 3, 4\)"),
    (np.ones((0, 3, 4)), r"k >= 1"),
])
def test_wrong_tangent_shape_is_a_clear_error(tangent, match):
    with pytest.raises(dg.TangentShapeError, match=match):
        dg.Dual(np.ones((3, 4)), tangent)


def test_integer_primal_is_a_clear_error():
    with pytest.raises(TypeError, match=r"integer 3.*Write 3.0"):
        dg.Dual(3)
    with pytest.raises(TypeError, match=r"dtype int64.*astype"):
        dg.Dual(np.arange(3))


def test_complex_primal_and_tangent():
    z = dg.Dual(np.array([1 + 2j, -0.5j]), np.array([[1.0 + 0j, 1j]]))
    assert z.dtype == np.complex128 and z.tangent.dtype == np.complex128
    np.testing.assert_allclose((z * z).tangent, 2 * z.primal * z.tangent)


def test_duals_with_different_k_do_not_mix():
    a = dg.Dual(np.ones(3), np.ones((2, 3)))
    b = dg.Dual(np.ones(3), np.ones((5, 3)))
    with pytest.raises(dg.TangentShapeError, match=r"add: .*k=2.*k=5.*same jvp call"):
        a + b


def test_conversions_that_would_drop_the_tangent_raise():
    d = dg.Dual(np.ones(3), np.ones((1, 3)))
    with pytest.raises(TypeError, match=r"plain float64 array would drop its tangent.*np.zeros_like"):
        np.asarray(d, dtype=float)
    with pytest.raises(TypeError, match="drop the tangent"):
        float(dg.Dual(1.0, np.ones(1)))
    with pytest.raises((TypeError, ValueError)):       # NumPy reports float(Dual)'s TypeError as a ValueError
        np.asarray(d).astype(np.float32)               # the object array's elements are Duals: no float cast
    with pytest.raises(TypeError, match="drop the tangent"):
        d.item()


def test_a_conversion_inside_numpy_or_scipy_names_the_function_that_made_it():
    """scipy.optimize.rosen converts its argument with np.asarray, np.mean converts a list of Duals: the error
    says where, and for SciPy names what to use instead."""
    import scipy.optimize
    d = dg.Dual(np.array([1.3, 0.7]), np.ones((1, 2)))
    with pytest.raises(TypeError, match=r"\(in scipy\.optimize\..*rosen\) would drop its tangent.*dualgrad\.scipy"):
        scipy.optimize.rosen(d)
    with pytest.raises(TypeError, match=r"\(in numpy\..*mean\) would drop its tangent") as raised:
        np.mean([d, d])
    assert "SciPy" not in str(raised.value)
    assert "np.stack" in str(raised.value)


def test_integer_and_boolean_casts_are_plain_values():
    """np.int64(d) and np.asarray(d, dtype=bool) are piecewise constant, as int(d) and d.astype(int) are: their
    values come back as plain arrays (of the innermost primal of a nested Dual)."""
    d = dg.Dual(np.array([1.7, -2.2, 0.0]), np.ones((2, 3)))
    np.testing.assert_array_equal(np.int64(d), [1, -2, 0])
    assert np.asarray(d, dtype=np.uint8).dtype == np.uint8
    np.testing.assert_array_equal(np.array(d, dtype=bool), [True, True, False])
    nested = dg.Dual(dg.Dual(np.array([3.5]), np.ones((1, 1))), dg.Dual(np.ones((1, 1)), None), tag=dg.dual.new_tag())
    np.testing.assert_array_equal(np.asarray(nested, dtype=int), [3])
    with pytest.raises(TypeError, match="drop its tangent"):
        np.asarray(d, dtype=np.float32)


def test_repr_names_k():
    assert "k=2" in repr(dg.Dual(np.ones(2), np.ones((2, 2))))
    assert "tangent=None" in repr(dg.Dual(np.ones(2)))
