"""dualgrad.scipy.signal: SciPy's values for every mode, method and boundary (real and complex), tangents against
finite differences, k columns at once against one at a time, bilinear second derivatives, SciPy's errors."""
import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad.scipy import signal

MODES = ["full", "same", "valid"]
ND = ["convolve", "correlate", "fftconvolve", "oaconvolve"]
TWO_D = ["convolve2d", "correlate2d"]
#: operand shapes: in1 larger, in2 larger ("valid" swaps), equal, and mixed (no "valid")
SHAPES = [((7,), (3,)), ((3,), (7,)), ((4, 5), (2, 3)), ((2, 3), (4, 5)), ((4, 4), (4, 4)), ((5, 2), (3, 3)),
          ((3, 4, 2), (2, 2, 2))]


def _draw(rng, shape, complex_):
    x = rng.normal(size=shape)
    return x + 1j * rng.normal(size=shape) if complex_ else x


def _options(fn):
    if fn in ("convolve", "correlate"):
        return [{"method": m} for m in ("auto", "direct", "fft")]
    if fn in TWO_D:
        return [{"boundary": b, "fillvalue": c} for b in ("fill", "wrap", "symm") for c in (0, 1.5)]
    return [{}]


def _outcome(f, *args, **kwargs):
    try:
        return f(*args, **kwargs)
    except ValueError as e:
        return e


@pytest.mark.parametrize("complex_", [False, True], ids=["float64", "complex128"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("fn", ND + TWO_D)
def test_values_match_scipy(fn, shapes, complex_):
    if fn in TWO_D and len(shapes[0]) != 2:
        return
    rng = np.random.default_rng(0)
    in1, in2 = _draw(rng, shapes[0], complex_), _draw(rng, shapes[1], complex_)
    for mode in MODES:
        for kwargs in _options(fn):
            expected = _outcome(getattr(ss, fn), in1, in2, mode, **kwargs)
            if isinstance(expected, ValueError):        # "valid" with neither operand the larger: SciPy's error
                with pytest.raises(ValueError, match="at least as large"):
                    getattr(signal, fn)(in1, in2, mode, **kwargs)
                continue
            got = getattr(signal, fn)(in1, in2, mode, **kwargs)
            assert got.shape == expected.shape, (mode, kwargs)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=f"{mode} {kwargs}")
            dual = getattr(signal, fn)(dg.Dual(in1, np.zeros((1,) + in1.shape, in1.dtype)), in2, mode, **kwargs)
            np.testing.assert_allclose(dual.primal, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", ["fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("shapes, axes", [(((3, 8), (1, 3)), 1), (((3, 8), (3, 2)), -1), (((2, 9, 3), (2, 4, 1)), (1,)),
                                          (((6, 5), (2, 5)), [0])])
def test_transform_axes_broadcast_as_scipy(fn, shapes, axes):
    rng = np.random.default_rng(1)
    in1, in2 = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    for mode in MODES:
        expected = getattr(ss, fn)(in1, in2, mode, axes=axes)
        np.testing.assert_allclose(getattr(signal, fn)(in1, in2, mode, axes=axes), expected, rtol=1e-12, atol=1e-12)
    dg.check_jvp(lambda a, b: getattr(signal, fn)(a, b, "same", axes=axes), (in1, in2), k=2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), fn=st.sampled_from(ND + TWO_D), mode=st.sampled_from(MODES),
       shapes=st.sampled_from(SHAPES), k=st.sampled_from([1, 2, 7]), complex_=st.booleans(),
       which=st.sampled_from(["both", "in1", "in2"]))
def test_tangents_match_finite_differences(seed, fn, mode, shapes, k, complex_, which):
    if fn in TWO_D and len(shapes[0]) != 2 or mode == "valid" and shapes in (SHAPES[5],):
        return
    rng = np.random.default_rng(seed)
    in1, in2 = _draw(rng, shapes[0], complex_), _draw(rng, shapes[1], complex_)
    kwargs = _options(fn)[seed % len(_options(fn))]
    f = {"both": lambda a, b: getattr(signal, fn)(a, b, mode, **kwargs),
         "in1": lambda a: getattr(signal, fn)(a, in2, mode, **kwargs),
         "in2": lambda b: getattr(signal, fn)(in1, b, mode, **kwargs)}[which]
    args = {"both": (in1, in2), "in1": (in1,), "in2": (in2,)}[which]
    dg.check_jvp(f, args, k=k, rng=rng)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), fn=st.sampled_from(ND + TWO_D), mode=st.sampled_from(MODES))
def test_k_columns_equal_k_single_column_runs(seed, fn, mode):
    rng = np.random.default_rng(seed)
    in1, in2 = rng.normal(size=(5, 4)), rng.normal(size=(2, 3))
    t1, t2 = rng.normal(size=(7, 5, 4)), rng.normal(size=(7, 2, 3))
    f = lambda a, b: getattr(signal, fn)(a, b, mode)  # noqa: E731
    _, block = dg.jvp(f, (in1, in2), (t1, t2))
    for i in range(7):
        _, single = dg.jvp(f, (in1, in2), (t1[i:i + 1], t2[i:i + 1]))
        np.testing.assert_allclose(block[i], single[0], rtol=1e-13, atol=1e-13)


def test_fillvalue_may_be_a_dual():
    rng = np.random.default_rng(2)
    in1, in2 = rng.normal(size=(4, 5)), rng.normal(size=(3, 3))
    for fn in TWO_D:
        dg.check_jvp(lambda a, b, c: getattr(signal, fn)(a, b, "same", fillvalue=c), (in1, in2, np.array(0.7)), k=3)


@pytest.mark.parametrize("fn", ["convolve", "fftconvolve", "convolve2d"])
def test_second_derivative_of_the_bilinear_map_is_the_convolution_of_the_directions(fn):
    # d²/ds dt convolve(x + s u, w + t v) = convolve(u, v), exactly (bilinear)
    rng = np.random.default_rng(3)
    x, u, w, v = rng.normal(size=(5, 6)), rng.normal(size=(5, 6)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    one = (np.ones((1,)),)

    def along_s(t):
        return dg.jvp(lambda s: getattr(signal, fn)(x + s * u, w + t * v, "same"), (np.array(0.0),), one)[1][0]

    d2 = dg.jvp(along_s, (np.array(0.0),), one)[1][0]
    np.testing.assert_allclose(d2, getattr(ss, fn)(u, v, "same"), rtol=1e-12, atol=1e-12)
    # and a second derivative along one operand vanishes (linear in it)
    dd = dg.jvp(lambda s: dg.jvp(lambda r: signal.convolve(x + (r + s) * u, w), (np.array(0.0),), one)[1][0],
                (np.array(0.0),), one)[1][0]
    np.testing.assert_array_equal(dd, 0)


def test_scalars_and_empty_operands_as_scipy():
    assert signal.convolve(np.array(2.0), np.array(3.0)) == 6.0
    assert signal.correlate(np.array(2.0), np.array(1j)) == ss.correlate(np.array(2.0), np.array(1j))
    assert signal.fftconvolve(np.zeros(0), np.ones(3)).shape == ss.fftconvolve(np.zeros(0), np.ones(3)).shape == (0,)
    with pytest.raises(ValueError, match="cannot be empty"):
        signal.convolve(np.zeros(0), np.ones(3))
    np.testing.assert_allclose(signal.convolve([1.0, 2.0], [3.0, 4.0, 5.0]), ss.convolve([1.0, 2.0], [3.0, 4.0, 5.0]))


@pytest.mark.parametrize("call, match", [
    (lambda: signal.convolve(np.ones(3), np.ones(3), mode="circular"), "acceptable mode flags"),
    (lambda: signal.correlate(np.ones(3), np.ones(3), method="overlap"), "acceptable method flags"),
    (lambda: signal.convolve(np.ones(3), np.ones((3, 1))), "same dimensionality"),
    (lambda: signal.convolve(np.ones((2, 3)), np.ones((3, 2)), mode="valid"), "at least as large"),
    (lambda: signal.convolve2d(np.ones(3), np.ones(3)), "must both be 2-D"),
    (lambda: signal.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="reflect"), "acceptable boundary flags"),
    (lambda: signal.correlate2d(np.ones((3, 3)), np.ones((2, 2)), fillvalue=[1.0, 2.0]), "fillvalue"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((2, 3)), axes=0), "incompatible shapes"),
    (lambda: signal.fftconvolve(np.ones((3, 4)), np.ones((2, 3)), axes=[]), "axes cannot be empty"),
])
def test_bad_options_raise_scipys_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_functions_without_counterpart_are_named():
    with pytest.raises(AttributeError, match="no counterpart for scipy.signal.lfilter"):
        signal.lfilter  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        signal.nonsense  # noqa: B018
