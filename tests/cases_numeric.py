"""OpCases for the numeric family and the compositions of rules in dualgrad/rules/numeric.py."""
import warnings

import numpy as np

from dualgrad.scipy import integrate, signal

from .harness import OpCase, broadcast_shapes, distinct, fixed, normal, one_shape, uniform


def increasing(rng, shape):
    """Strictly increasing values (steps in [0.5, 1.5]) along the last axis, around 0: knots, coordinates."""
    return np.cumsum(rng.uniform(0.5, 1.5, shape), axis=-1) - shape[-1] / 2


def case(rule, fn, shapes, label, **kw):
    return OpCase(rule, fn, shapes, label=label, analytic=kw.pop("analytic", True), **kw)


def cross_2d(a, b):
    with warnings.catch_warnings():                 # NumPy deprecates 2-vectors but still computes them
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.cross(a, b)


CASES = [
    case("subtract", lambda x: np.diff(x), one_shape(min_dims=1), "np.diff"),
    case("subtract", lambda x: np.diff(x, n=2, axis=0), fixed((4, 2)), "np.diff n=2 axis 0"),
    case("subtract", lambda x, p: np.diff(x, prepend=p, append=x.dtype.type(1)), fixed((2, 3), (2, 1)),
         "np.diff prepend append"),
    case("subtract", lambda x, e: np.ediff1d(x, to_begin=e, to_end=x[0]), fixed((2, 3), (2,)), "np.ediff1d",
         analytic=False),     # NumPy refuses a complex to_begin for a real ary
    case("subtract", lambda x: np.gradient(x), one_shape(min_dims=1, min_side=2), "np.gradient"),
    case("subtract", lambda x: np.gradient(x, x.dtype.type(0.5), axis=-1, edge_order=2), fixed((2, 4)),
         "np.gradient edge_order 2"),
    # the gradient has f's dtype: complex coordinates with a real f would lose the complex step
    case("subtract", lambda f, c: np.gradient(f, c, axis=1), fixed((2, 5), (5,)), "np.gradient Dual coordinates",
         sample=(normal, increasing), analytic=False),
    case("subtract", lambda f, c: np.gradient(f, c, edge_order=2), fixed((5,), (5,)),
         "np.gradient coordinates, edge_order 2", sample=(normal, increasing), analytic=False),
    case("subtract", lambda f: np.gradient(f, [0.0, 1.0, 3.0, 3.5]), fixed((4,)), "np.gradient list coordinates"),
    case("sum", lambda y: np.trapezoid(y), one_shape(min_dims=1), "np.trapezoid"),
    case("sum", lambda x: np.trapezoid([1.0, -2.0, 0.5, 3.0], x), fixed((4,)), "np.trapezoid list y",
         sample=increasing),
    case("sum", lambda y, x: np.trapezoid(y, x, axis=0), fixed((4, 2), (4,)), "np.trapezoid x",
         sample=(normal, increasing)),
    case("sum", lambda y, d: np.trapezoid(y, dx=d), fixed((2, 3), ()), "np.trapezoid Dual dx"),
    # np.interp computes in float64 whatever the dtype (the cases cast back)
    case("interp", lambda x, xp, fp: np.interp(x, xp, fp).astype(x.dtype), fixed((3, 4), (5,), (5,)), "np.interp",
         sample=(uniform(-4, 4), increasing, normal), analytic=False),
    # NumPy dispatches np.interp on x, xp and fp only: a Dual left needs a Dual among them (here fp)
    case("interp", lambda x, fp, lo: np.interp(x, [-1.0, 0.5, 2.0], fp + lo, left=lo, right=9.0).astype(x.dtype),
         fixed((6,), (3,), ()), "np.interp left right", sample=(uniform(-3, 3), normal, normal), analytic=False),
    case("interp", lambda x, fp: np.interp(x, [0.5], fp).astype(x.dtype), fixed((2,), (1,)), "np.interp one knot",
         analytic=False),
    case("interp", lambda fp: np.interp([0.2, 0.7, 1.5], [0.0, 0.5, 1.0, 2.0], fp).astype(fp.dtype), fixed((4,)),
         "np.interp x and xp lists", analytic=False),
    case("convolve", lambda a, v: np.convolve(a, v), fixed((4,), (3,)), "np.convolve"),
    case("convolve", lambda a, v: np.convolve(a, v, mode="same"), fixed((2,), (5,)), "np.convolve same"),
    case("correlate", lambda a, v: np.correlate(a, v), fixed((5,), (3,)), "np.correlate", analytic=False),
    case("correlate", lambda a, v: np.correlate(a, v, "full"), fixed((2,), (4,)), "np.correlate full",
         analytic=False),
    case("multiply", lambda p, x: np.polyval(p, x), fixed((4,), (2, 3)), "np.polyval"),
    case("multiply", lambda x: np.polyval(np.array([1.0, -2.0, 0.5], x.dtype), x), one_shape(), "np.polyval plain p"),
    case("add", lambda a, b: np.polyadd(a, b), fixed((3,), (5,)), "np.polyadd"),
    case("subtract", lambda a, b: np.polysub(a, b), fixed((4,), (2,)), "np.polysub"),
    case("convolve", lambda a, b: np.polymul(a, b), fixed((3,), (2,)), "np.polymul"),
    case("convolve", lambda a, b: np.polymul(np.concatenate([0 * a[:1], a[1:]]), b), fixed((3,), (2,)),
         "np.polymul leading zero"),
    # np.arange's int64 makes polyder and polyint float64 (the cases cast back)
    case("multiply", lambda p: np.polyder(p, 2).astype(p.dtype), fixed((5,)), "np.polyder"),
    # NumPy dispatches np.polyint on p only: a Dual k needs a Dual p (here p + k[0])
    case("divide", lambda p, k: np.polyint(p + k[0], 2, k=k).astype(np.result_type(p, k)), fixed((3,), (2,)),
         "np.polyint Dual k"),
    case("multiply", lambda x: np.vander(x).astype(x.dtype), fixed((4,)), "np.vander"),
    case("multiply", lambda x: np.vander(x, 3, increasing=True).astype(x.dtype), fixed((2,)), "np.vander N"),
    case("multiply", lambda a, b: np.cross(a, b), broadcast_shapes(2, min_dims=1, max_dims=3).map(
        lambda s: tuple(t[:-1] + (3,) if t else (3,) for t in s)), "np.cross 3-vectors"),
    case("multiply", lambda a, b: np.cross(a, b, axisa=0, axisc=0), fixed((3, 2), (2, 2)), "np.cross axes"),
    case("multiply", cross_2d, fixed((2, 2), (2,)), "np.cross 2-vectors"),
    case("multiply", cross_2d, fixed((2,), (3,)), "np.cross 2- and 3-vectors"),
    case("multiply", lambda a, b: np.kron(a, b), fixed((2, 3), (2, 2)), "np.kron"),
    case("multiply", lambda a, b: np.kron(a, b), fixed((3,), (2, 2)), "np.kron ranks differ"),
    case("multiply", lambda a, b: np.kron(a, b), fixed((2, 1, 2), ()), "np.kron scalar"),
    case("linspace", lambda a, b: np.linspace(a, b, 5), broadcast_shapes(2, max_dims=2), "np.linspace"),
    case("linspace", lambda a, b: np.linspace(a, b, 4, endpoint=False, axis=-1), fixed((2,), (3, 1)),
         "np.linspace endpoint axis"),
    case("linspace", lambda a, b: np.linspace(a, b, 3, retstep=True), fixed((), ()), "np.linspace retstep"),
    case("linspace", lambda a, b: np.linspace(a, b, 1), fixed((2,), ()), "np.linspace one sample"),
    case("linspace", lambda a, b: np.logspace(a, b, 4), fixed((), (2,)), "np.logspace"),
    case("linspace", lambda a, b, c: np.logspace(a, b, 3, base=c, axis=1), fixed((2,), (), ()), "np.logspace base",
         sample=(normal, normal, uniform(1.5, 3.0))),
    # np.geomspace computes in float64 whatever the dtype (the cases cast back)
    case("geomspace", lambda a, b: np.geomspace(a, b, 5).astype(a.dtype), broadcast_shapes(2, max_dims=2),
         "np.geomspace", sample=uniform(0.5, 2.0), analytic=False),
    case("geomspace", lambda a, b: np.geomspace(-a, -b, 3, endpoint=False, axis=-1).astype(a.dtype),
         fixed((2,), ()), "np.geomspace negative", sample=uniform(0.5, 2.0), analytic=False),
    case("where", lambda x: np.nan_to_num(x / (x > 0), posinf=1e4, neginf=-1e4), fixed((2, 4)), "np.nan_to_num",
         analytic=False),
    case("where", lambda x: np.nan_to_num(np.log(x - 0.5), neginf=-5.0, posinf=3.0), fixed((2, 3)),
         "np.nan_to_num values", sample=uniform(0.0, 1.5), analytic=False),
    case("sinc", lambda x: np.sinc(x), one_shape(), "np.sinc"),
    case("sinc", lambda x: np.sinc(x), fixed((5,)), "np.sinc near 0", sample=uniform(-0.12, 0.12)),
    case("unwrap", lambda x: np.unwrap(x), fixed((6,)), "np.unwrap", sample=uniform(-6, 6), analytic=False),
    case("unwrap", lambda x: np.unwrap(x, axis=0, period=4.0), fixed((5, 2)), "np.unwrap period",
         sample=uniform(-6, 6), analytic=False),
]
CASES += [
    # the remainder's leading near-zeros are dropped below NumPy's atol: compare its last len(v) - 1 terms
    case("divide", lambda u, v: (lambda q, r: (q, r[-2:]))(*np.polydiv(u, v)), fixed((5,), (3,)), "np.polydiv",
         sample=(normal, uniform(1, 2))),
    case("divide", lambda u, v: np.polydiv(u, v), fixed((2,), (3,)), "np.polydiv by a longer one",
         sample=(normal, uniform(1, 2))),
    case("convolve", lambda r: np.poly(r), one_shape(min_dims=1, max_dims=1), "np.poly"),
    case("gather", lambda x: np.apply_along_axis(np.sort, 1, x), fixed((2, 4, 3)), "np.apply_along_axis",
         sample=distinct),
    case("multiply", lambda x: np.apply_along_axis(lambda v: np.outer(v, v[:2]), 0, x), fixed((3, 2)),
         "np.apply_along_axis 2-D results"),
    case("sum", lambda x: np.apply_over_axes(np.sum, x, [0, -1]), fixed((2, 3, 4)), "np.apply_over_axes"),
    # the einsum rule's interleaved form (np.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    case("einsum", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), fixed((2, 3), (3, 4)), "einsum sublists"),
    case("einsum", lambda a: np.einsum(a, [Ellipsis, 0, 0]), fixed((2, 3, 3)), "einsum sublists, implicit output"),
]
CASES += [
    # np.polyfit's Vandermonde matrix is float64 whatever the dtype (the cases cast back)
    case("lstsq", lambda x, y: np.polyfit(x, y, 2).astype(x.dtype), fixed((6,), (6,)), "np.polyfit",
         sample=(increasing, normal), analytic=False),
    case("lstsq", lambda x, y, w: tuple(r.astype(x.dtype) for r in np.polyfit(x, y, 1, w=w, cov=True)),
         fixed((5,), (5, 2), (5,)), "np.polyfit weights, cov", sample=(increasing, normal, uniform(0.5, 2.0)),
         analytic=False),
    case("i0", lambda x: np.i0(x), one_shape(), "np.i0", analytic=False),
]
CASES += [
    case("where", lambda x: np.nan_to_num(np.copy(x / (x > 0)), copy=False, posinf=9.0, neginf=-9.0),
         fixed((2, 3)), "np.nan_to_num copy=False", analytic=False),
    case("real", lambda x: np.real_if_close(x + 1e-30j), fixed((3,)), "np.real_if_close", analytic=False),
    case("interp", lambda x, fp: np.interp(x, [0.5, 1.0, 2.5, 3.0], fp, period=3.0).astype(x.dtype),
         fixed((5,), (4,)), "np.interp period", sample=(uniform(-6, 6), normal), analytic=False),
]
CASES += [
    case("eigvals", lambda p: np.roots(p), fixed((4,)), "np.roots", analytic=False),
    case("eigvals", lambda p: np.roots(p * np.array([1, 1, 1, 0], p.dtype)), fixed((4,)), "np.roots, a root at 0",
         analytic=False),
]
CASES += [
    # complex step only with method "direct": an FFT's rounding of the real parts swamps a 1e-30 imaginary part
    case("convolve_nd", lambda a, v: signal.convolve(a, v, "same", method="direct"), fixed((4, 3), (2, 2)),
         "scipy.signal.convolve"),
    case("convolve_nd", lambda a, v: signal.fftconvolve(a, v, "valid"), fixed((5, 4), (2, 3)),
         "scipy.signal.fftconvolve", analytic=False),
    case("convolve_nd", lambda a, v: signal.oaconvolve(a, v, axes=1), fixed((2, 9), (1, 3)),
         "scipy.signal.oaconvolve axes", analytic=False),
    case("convolve_nd", lambda a, v, c: signal.correlate2d(a, v, "same", boundary="symm") + signal.convolve2d(
        a, v, fillvalue=c)[1:4, 1:5], fixed((3, 4), (2, 3), ()), "scipy.signal.correlate2d, convolve2d fillvalue",
         analytic=False),
]


def _ode(y, t, a):
    return -a * y + np.sin(t) * np.cos(y[::-1])


#: tight tolerances: the tangents are exact derivatives of the ODE solution up to the solver's tolerance, and the
#: nested test takes differences of them
_ODE_TOLERANCES = {"rtol": 1e-13, "atol": 1e-13}

CASES += [
    case("odeint", lambda y0, a: integrate.odeint(_ode, y0, np.linspace(0.0, 1.5, 4), args=(a,), **_ODE_TOLERANCES),
         fixed((2,), ()), "scipy.integrate.odeint", analytic=False, complex_inputs=False, columns_rtol=1e-9),
    case("odeint", lambda y0, t: integrate.odeint(_ode, y0, t, args=(0.7,), **_ODE_TOLERANCES), fixed((2,), (3,)),
         "scipy.integrate.odeint times", sample=(normal, increasing), analytic=False, complex_inputs=False,
         columns_rtol=1e-9),
]
