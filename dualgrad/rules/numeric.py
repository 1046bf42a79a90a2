"""Numerics on samples: differences, gradients, integrals, ODE solutions, interpolation, convolution, polynomials,
ranges.

Most functions here are compositions of rules, written step by step as NumPy computes them so that the
values agree to the last bit and the tangent is the chain of the steps' tangents. Rules of their own:
``linspace`` and ``geomspace`` (affine and geometric in the endpoints), ``interp`` (piecewise linear in
x, xp and fp), ``convolve``/``correlate`` and SciPy's N-d ``convolve_nd`` (bilinear), ``odeint`` (SciPy's ODE
solution with forward sensitivities), ``sinc`` (exact derivatives at 0) and ``unwrap`` (the value plus a
piecewise constant). ``dualgrad.scipy.signal`` and ``dualgrad.scipy.integrate`` give these two SciPy's signatures.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import transforms
from ..backend import is_array, namespace, special
from ..errors import BackendUnsupportedError, MissingRuleError
from ..pytree import flatten, unflatten
from ..registry import bind, defprimitive, implements
from ._util import add_terms, cast, fit, innermost, lift, nested, normalize_axis, result_type, sequence_as_array
from .selection import plain_argument


def _is_dual(x) -> bool:
    return hasattr(x, "tangent")


def _index(ndim, axis, key):
    """A tuple index selecting ``key`` along ``axis`` and everything along the other axes."""
    return (slice(None),) * axis + (key,) + (slice(None),) * (ndim - axis - 1)


# ----- differences, gradients, integrals ------------------------------------------------------------
@implements(np.diff, via=("getitem", "subtract"))
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    ndim = np.ndim(a)
    if ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis(axis, ndim, "diff")
    parts = []
    for extra, before in ((prepend, True), (append, False)):
        if extra is np._NoValue:
            continue
        if np.ndim(extra) == 0:
            shape = list(np.shape(a))
            shape[axis] = 1
            extra = np.broadcast_to(extra, tuple(shape))
        parts.append((before, extra))
    if parts:
        a = np.concatenate([e for b, e in parts if b] + [a] + [e for b, e in parts if not b], axis=axis)
    later, earlier = _index(ndim, axis, slice(1, None)), _index(ndim, axis, slice(None, -1))
    for _ in range(n):
        a = a[later] - a[earlier]
    return a


@implements(np.ediff1d, via=("getitem", "subtract", "concatenate"))
def ediff1d(ary, to_end=None, to_begin=None):
    ary = np.ravel(ary)
    dtype = np.result_type(ary)
    differences = ary[1:] - ary[:-1]
    if to_begin is None and to_end is None:
        return differences
    ends = []
    for name, end in (("to_begin", to_begin), ("to_end", to_end)):
        if end is not None and not np.can_cast(result_type(end), dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under the `same_kind` rule.")
        ends.append(np.zeros(0, dtype) if end is None else np.ravel(cast(end, dtype)))
    return np.concatenate([ends[0], differences, ends[1]])


@implements(np.gradient, via=("getitem", "subtract", "multiply", "divide", "concatenate"),
            note="second-order differences inside, first or second order at the edges; Dual spacings too")
def gradient(f, *varargs, axis=None, edge_order=1):
    """np.gradient, formula for formula (uniform or coordinate spacings), the pieces joined along each axis."""
    ndim = np.ndim(f)
    axes = tuple(range(ndim)) if axis is None else tuple(
        normalize_axis(a, ndim, "gradient") for a in (axis if isinstance(axis, tuple | list) else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacings = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacings = [_spacing(d, np.shape(f)[ax]) for d, ax in zip(varargs, axes)]
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    dtype = np.result_type(f)
    dtype = np.dtype(np.float64) if dtype.kind in "biu" else dtype
    out = []
    for ax, dx in zip(axes, spacings):
        if np.shape(f)[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                             "(edge_order + 1) elements are required.")
        pieces = _gradient_edges_and_interior(f, ax, dx, edge_order, ndim)
        out.append(np.concatenate([cast(p, dtype) for p in pieces], axis=ax))
    return out[0] if len(axes) == 1 else tuple(out)


def _spacing(distances, n):
    """One axis's spacing argument: a scalar, or the differences of 1-D coordinates (a scalar if uniform)."""
    if np.ndim(distances) == 0:
        return distances
    if np.ndim(distances) != 1:
        raise ValueError("distances must be either scalars or 1d")
    if np.size(distances) != n:
        raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    if result_type(distances).kind in "biu":
        distances = np.asarray(distances, dtype=np.float64)
    steps = np.diff(distances)
    return steps[0] if np.all(steps == steps[0]) else steps


def _gradient_edges_and_interior(f, ax, dx, edge_order, ndim):
    """[first edge, interior, last edge] of the derivative along ``ax`` (each keeps the axis)."""
    def at(*keys):
        return [f[_index(ndim, ax, k)] for k in keys]

    def along(v):            # a 1-D coefficient vector shaped to broadcast along ax
        return np.reshape(v, tuple(-1 if d == ax else 1 for d in range(ndim)))

    uniform = np.ndim(dx) == 0
    lo, mid, hi = at(slice(None, -2), slice(1, -1), slice(2, None))
    if uniform:
        interior = (hi - lo) / (2.0 * dx)
    else:
        dx1, dx2 = dx[0:-1], dx[1:]
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        interior = along(a) * lo + along(b) * mid + along(c) * hi
    if edge_order == 1:
        f0, f1, fm2, fm1 = at(slice(0, 1), slice(1, 2), slice(-2, -1), slice(-1, None))
        first = (f1 - f0) / (dx if uniform else dx[0])
        last = (fm1 - fm2) / (dx if uniform else dx[-1])
        return [first, interior, last]
    f0, f1, f2, fm3, fm2, fm1 = at(slice(0, 1), slice(1, 2), slice(2, 3), slice(-3, -2), slice(-2, -1),
                                   slice(-1, None))
    if uniform:
        a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
    else:
        dx1, dx2 = dx[0], dx[1]
        a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
        b = (dx1 + dx2) / (dx1 * dx2)
        c = -dx1 / (dx2 * (dx1 + dx2))
    first = a * f0 + b * f1 + c * f2
    if uniform:
        a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
    else:
        dx1, dx2 = dx[-2], dx[-1]
        a = dx2 / (dx1 * (dx1 + dx2))
        b = -(dx2 + dx1) / (dx1 * dx2)
        c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    last = a * fm3 + b * fm2 + c * fm1
    return [first, interior, last]


@implements(np.trapezoid, via=("getitem", "add", "multiply", "sum"), note="x and dx may be Duals")
def trapezoid(y, x=None, dx=1.0, axis=-1):
    y, x = sequence_as_array(y), sequence_as_array(x)
    ndim = np.ndim(y)
    if x is None:
        d = dx
    elif np.ndim(x) == 1:
        d = np.diff(x)
        shape = [1] * ndim
        shape[axis] = np.shape(d)[0]
        d = np.reshape(d, shape)
    else:
        d = np.diff(x, axis=axis)
    later, earlier = _index(ndim, axis % ndim, slice(1, None)), _index(ndim, axis % ndim, slice(None, -1))
    return np.sum(d * (y[later] + y[earlier]) / 2.0, axis=axis)


# ----- interpolation -------------------------------------------------------------------------------
def _interp_rule(primals, tangents):
    """Inside [xp[0], xp[-1]]: out = fp[j] + s·(x − xp[j]) with s = (fp[j+1] − fp[j]) / (xp[j+1] − xp[j]) and w
    = (x − xp[j]) / (xp[j+1] − xp[j]), so d out = s·dx + (1 − w)·dfp[j] + w·dfp[j+1] − s·((1 − w)·dxp[j] + w·dxp[j+1]);
    outside, the tangent of left/right (default fp[0]/fp[-1])."""
    (x, xp, fp, left, right), (tx, txp, tfp, tleft, tright) = primals, tangents
    xv, xpv = innermost(x), innermost(xp)
    data = namespace(xv, xpv)                  # the arrays' module (NumPy's functions below dispatch on it)
    below, above = xv < xpv[0], xv > xpv[-1]
    out = np.interp(x, xp, fp)                 # left/right put in below (NumPy does not dispatch on them)
    if left is not None:
        out = np.where(below, left, out)
    if right is not None:
        out = np.where(above, right, out)
    if tx is None and txp is None and tfp is None and tleft is None and tright is None:
        return out, None
    k = next(t.shape[0] for t in tangents if t is not None)
    dtype = np.result_type(out)
    n = np.size(xpv)
    j = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, max(n - 2, 0))   # interval [xp[j], xp[j+1]]
    j1 = np.minimum(j + 1, n - 1)
    shape = np.shape(out)

    def at(values, index):                     # values[index] for a 1-D operand, shaped like x
        return np.take(values, index)

    def tangent_at(t, index):                  # the tangent block (k, n) at index: (k, *x.shape)
        return None if t is None else np.take(t, index, axis=1)

    if n > 1:
        h = at(xp, j1) - at(xp, j)
        w = (x - at(xp, j)) / h
        s = (at(fp, j1) - at(fp, j)) / h
    else:                                      # one knot: x == xp[0] inside, the value fp[0]
        w, s = data.zeros(shape, dtype), data.zeros(shape, dtype)
    d_fp = None if tfp is None else tangent_at(tfp, j) * (1 - w) + tangent_at(tfp, j1) * w
    d_xp = None if txp is None else -s * (tangent_at(txp, j) * (1 - w) + tangent_at(txp, j1) * w)
    inside = add_terms(None if tx is None else lift(tx, len(shape)) * s, add_terms(d_fp, d_xp))
    edge_low = tangent_at(tfp, data.zeros(shape, np.intp)) if left is None else _block(tleft, k, shape)
    edge_high = tangent_at(tfp, data.full(shape, n - 1)) if right is None else _block(tright, k, shape)
    zero = data.zeros((k,) + shape, dtype)
    inside, edge_low, edge_high = (zero if t is None else fit(t, shape) for t in (inside, edge_low, edge_high))
    return out, np.where(below, edge_low, np.where(above, edge_high, inside))


def _block(t, k, shape):
    return None if t is None else fit(lift(t, len(shape)), shape)


_interp = defprimitive("interp", _interp_rule, family="numeric", numpy=("np.interp",), complex=True,
                       note="piecewise linear in x, xp and fp; at a knot the slope of the interval to its right "
                            "(of the last interval at xp[-1])")


@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    x, xp, fp = sequence_as_array(x), sequence_as_array(xp), sequence_as_array(fp)
    if np.ndim(xp) != 1 or np.ndim(fp) != 1:
        raise ValueError("interp: xp and fp must be 1-D sequences")
    if np.iscomplexobj(x) or np.iscomplexobj(xp):
        raise MissingRuleError("interp: x and xp must be real (fp may be complex); NumPy would refuse them or, "
                               "with period=, drop their imaginary parts")
    if period is not None:                      # NumPy's reduction to one period, step by step
        plain_argument("interp", period=period)
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = np.remainder(cast(x, np.float64), period)
        xp = np.remainder(cast(xp, np.float64), period)
        order = np.argsort(innermost(xp))
        xp, fp = xp[order], fp[order]
        xp = np.concatenate((xp[-1:] - period, xp, xp[0:1] + period))
        fp = np.concatenate((fp[-1:], fp, fp[0:1]))
    return bind(_interp, x, xp, fp, left, right)


# ----- ODE solutions: scipy.integrate.odeint with forward sensitivities --------------------------------------
def _refuse_captured(value):
    """What SciPy's solver receives must be plain: a Dual there comes from one that func closes over, whose tangent
    odeint cannot follow."""
    if any(hasattr(leaf, "tangent") for leaf in flatten(value)[0]):
        raise MissingRuleError("odeint: func returned a Dual that y0, t and args do not explain: func closes over a "
                               "value that carries a tangent. Pass that value through args= (odeint follows the "
                               "tangents of y0, t and args only).")
    return value


def _ordered(func, tfirst: bool):
    """``func`` called as (y, t, *args) whatever its own order (``tfirst``: func(t, y, *args))."""
    return (lambda y, t, *args: func(t, y, *args)) if tfirst else func


def plain_rhs(func, tfirst: bool):
    """``func`` as SciPy's odeint calls it, (y, t, *args), refusing a Dual result (see ``_refuse_captured``)."""
    ordered = _ordered(func, tfirst)
    return lambda y, t, *args: _refuse_captured(ordered(y, t, *args))


def _as_vector(value):
    """func's value (an array, a number, or a list of them, as SciPy's odeint takes it) as one float vector (n,)."""
    return cast(np.concatenate([np.ravel(leaf) for leaf in flatten(value)[0]]), np.float64)


def _as_columns(tangent, k: int):
    """The tangent tree of func's value as one block (k, n): the leaves' columns side by side."""
    return cast(np.concatenate([np.reshape(leaf, (k, -1)) for leaf in flatten(tangent)[0]], axis=1), np.float64)


def _solve(func, y0, t, leaves, treedef, options, infodict):
    """odeint of func(y, t, *args) (args: ``unflatten(treedef, leaves)``): SciPy's own on plain values; through
    ``bind`` again when y0, t or args are Duals of an outer derivative (their rule then differentiates this solve)."""
    if nested([y0, t], leaves):
        solution = odeint(func, y0, t, tuple(unflatten(treedef, leaves)), options)
        return solution[0] if options["full_output"] else solution
    if namespace(y0, t, *leaves) is not np:
        raise BackendUnsupportedError("odeint: SciPy's solver takes NumPy arrays only; move y0, t and args to the host "
                                      "with cupy.asnumpy.")
    import scipy.integrate

    solver_options = {key: value for key, value in options.items() if key != "tfirst"}
    solution = scipy.integrate.odeint(plain_rhs(func, options["tfirst"]), y0, t,
                                      args=tuple(unflatten(treedef, leaves)), **solver_options)
    if options["full_output"]:
        solution, info = solution
        infodict.clear()
        infodict.update(info)
    return solution


def _odeint_rule(primals, tangents, func, treedef, options, infodict):
    """Forward sensitivities. For a tangent column j, Y_j = ∂y/∂(direction j) solves the variational equation
    dY_j/dt = J_y f(y, t, args)·Y_j + J_args f(y, t, args)·d args_j, from Y_j(t0) = dy0_j − f(y0, t0)·dt0_j (moving
    the start time moves the whole trajectory), and an output time t_i adds f(y(t_i), t_i)·dt_i_j. odeint solves y
    and its k columns Y as one state of n(k + 1) components; one dg.jvp of func per right-hand side gives f and all
    k products J·Y at once. The primal is odeint's own solution of the plain system. Written with dispatching
    functions, so a solve on Duals of an outer derivative is one more augmentation (any order nests)."""
    (y0, t, *leaves), (ty0, tt, *tleaves) = primals, tangents
    out = _solve(func, y0, t, leaves, treedef, options, infodict)
    if all(tangent is None for tangent in tangents):
        return out, None
    ordered = _ordered(func, options["tfirst"])
    args = tuple(unflatten(treedef, leaves))
    k = next(tangent.shape[0] for tangent in tangents if tangent is not None)
    n, m = int(np.prod(np.shape(y0))), np.shape(t)[0]
    moving = [i for i, tangent in enumerate(tleaves) if tangent is not None]    # the args that carry tangents

    def augmented(z, s, *values):             # z = [y (n), Y (k, n) row by row]; values: args' leaves, d args
        current, directions = list(values[:len(leaves)]), values[len(leaves):]

        def f(y, *moved):
            for i, value in zip(moving, moved):
                current[i] = value
            return ordered(y, s, *unflatten(treedef, current))
        value, tangent = transforms.jvp(f, (z[:n], *(current[i] for i in moving)),
                                        (np.reshape(z[n:], (k, n)), *directions))
        return np.concatenate([_as_vector(value), np.ravel(_as_columns(tangent, k))])

    start = np.zeros((k, n)) if ty0 is None else np.reshape(ty0, (k, n))
    if tt is not None:                        # Y(t0) = dy0 − f(y0, t0)·dt0
        start = start - tt[:, :1] * _as_vector(ordered(y0, t[0], *args))
    z0 = np.concatenate([cast(np.reshape(y0, (n,)), np.float64), np.ravel(start)])
    augmented_options = dict(options, tfirst=False)
    for key in ("rtol", "atol"):              # per-component tolerances apply to a component's tangents too
        if np.ndim(options[key]):
            augmented_options[key] = np.tile(np.ravel(options[key]), k + 1)
    values = leaves + [tleaves[i] for i in moving]
    solved = _solve(augmented, z0, t, values, flatten(tuple(values))[1], augmented_options, infodict)
    tangent = np.transpose(np.reshape(solved[:, n:], (m, k, n)), (1, 0, 2))           # (k, len(t), n)
    if tt is not None:                        # + f(y(t_i), t_i)·dt_i
        rates = np.stack([_as_vector(ordered(solved[i, :n], t[i], *args)) for i in range(m)])
        tangent = tangent + tt[:, :, None] * rates
    return out, tangent


_odeint = defprimitive("odeint", _odeint_rule, family="numeric",
                       note="scipy.integrate.odeint (dualgrad.scipy.integrate): forward sensitivities of y0, t and "
                            "args, exact up to the solver's tolerance; nests by augmenting again")


def odeint(func, y0, t, args: tuple, options: dict):
    """SciPy's odeint of ``func`` from y0 over t with the tangents of y0, t and the leaves of ``args`` (pytrees of
    arrays, Duals, numbers) followed; ``options``: SciPy's solver options, ``full_output`` and ``tfirst``. Returns
    the solution (len(t), n), and with ``options["full_output"]`` the pair (solution, infodict of the last solve)."""
    leaves, treedef = flatten(tuple(args))
    infodict: dict = {}
    out = bind(_odeint, y0, t, *leaves, func=func, treedef=treedef, options=options, infodict=infodict)
    return (out, infodict) if options["full_output"] else out


# ----- convolution -----------------------------------------------------------------------------------
def _bilinear_rule(numpy_fn):
    """f(a, v) bilinear: d f = f(da, v) + f(a, dv), one call per tangent column (the functions are 1-D)."""
    def rule(primals, tangents, mode):
        (a, v), (ta, tv) = primals, tangents
        out = numpy_fn(a, v, mode=mode)
        t = None
        if ta is not None:
            t = np.stack([numpy_fn(ta[i], v, mode=mode) for i in range(ta.shape[0])])
        if tv is not None:
            t = add_terms(t, np.stack([numpy_fn(a, tv[i], mode=mode) for i in range(tv.shape[0])]))
        return out, t
    return rule


_convolve = defprimitive("convolve", _bilinear_rule(np.convolve), family="numeric", kind="linear", complex=True,
                         numpy=("np.convolve", "np.polymul"), note="bilinear: each tangent column convolved")
_correlate = defprimitive("correlate", _bilinear_rule(np.correlate), family="numeric", kind="linear", complex=True,
                          numpy=("np.correlate",), note="bilinear: each tangent column correlated")


@implements(np.convolve)
def convolve(a, v, mode="full"):
    return bind(_convolve, a, v, mode=mode)


@implements(np.correlate)
def correlate(a, v, mode="valid"):
    return bind(_correlate, a, v, mode=mode)


def _scipy_full_convolution(a, v, axes, method):
    """SciPy's full convolution of plain arrays: over every axis with ``scipy.signal.convolve`` (method "auto" or
    "direct"), or over ``axes`` with ``fftconvolve`` / ``oaconvolve`` (method "fft" / "oa"; the other axes
    broadcast, as SciPy's ``axes=`` does)."""
    if namespace(a, v) is not np:
        raise BackendUnsupportedError("dualgrad.scipy.signal's convolutions call SciPy, which takes NumPy arrays only; "
                                      "move the data with cupy.asnumpy, or use dg.conv2d on the GPU.")
    import scipy.signal as signal  # only here: importing dualgrad need not load scipy.signal
    if method == "oa":
        return signal.oaconvolve(a, v, "full", axes=list(axes))
    if method == "fft":
        return signal.fftconvolve(a, v, "full", axes=list(axes))
    if method == "direct" and a.ndim == 2:          # SciPy's 2-D routine: several times faster than its N-d one
        return signal.convolve2d(a, v, "full")
    return signal.convolve(a, v, "full", method)


def convolve_nd(a, v, axes: tuple, method: str):
    """The full N-d convolution (a ⋆ v)[n] = Σ_m a[m]·v[n − m] over ``axes`` (SciPy's values; see
    ``_scipy_full_convolution`` for ``method``), on Duals or plain arrays. ``axes`` must be every axis for
    "auto" and "direct"; ``dualgrad.scipy.signal`` builds SciPy's modes from it."""
    return bind(_convolve_nd, a, v, axes=tuple(axes), method=method)


def _convolve_nd_rule(primals, tangents, axes, method):
    """Bilinear: d(a ⋆ v) = da ⋆ v + a ⋆ dv. For "fft" and "oa" the k columns of a tangent block (k, *shape) are
    convolved in one call, against the other operand with a leading unit axis that broadcasts (no transform along
    it); for "auto" and "direct" column by column (SciPy's direct N-d routine is far slower on one more axis)."""
    (a, v), (ta, tv) = primals, tangents
    out = convolve_nd(a, v, axes, method) if nested(primals) else _scipy_full_convolution(a, v, axes, method)
    if method in ("fft", "oa"):
        block_axes = tuple(ax + 1 for ax in axes)
        t = None if ta is None else convolve_nd(ta, np.expand_dims(v, 0), block_axes, method)
        if tv is not None:
            t = add_terms(t, convolve_nd(np.expand_dims(a, 0), tv, block_axes, method))
        return out, t
    t = None if ta is None else np.stack([convolve_nd(ta[i], v, axes, method) for i in range(ta.shape[0])])
    if tv is not None:
        t = add_terms(t, np.stack([convolve_nd(a, tv[i], axes, method) for i in range(tv.shape[0])]))
    return out, t


_convolve_nd = defprimitive("convolve_nd", _convolve_nd_rule, family="numeric", kind="linear", complex=True,
                            note="scipy.signal's N-d convolution (dualgrad.scipy.signal): bilinear, the k tangent "
                                 "columns in one SciPy call")


# ----- polynomials (coefficients highest power first, as np.polyval reads them) -----------------------
@implements(np.polyval, via=("multiply", "add"), note="Horner's scheme, as NumPy evaluates it")
def polyval(p, x):
    p = p if _is_dual(p) or is_array(p) else np.asarray(p)
    y = np.zeros_like(innermost(x) if _is_dual(x) or is_array(x) else np.asarray(x))
    for coefficient in p:
        y = y * x + coefficient
    return y


def _padded(a1, a2):
    """The two coefficient vectors with leading zeros so that they have one length."""
    a1, a2 = np.atleast_1d(a1), np.atleast_1d(a2)
    data = namespace(innermost(a1), innermost(a2))
    grow = np.size(a2) - np.size(a1)
    if grow > 0:
        a1 = np.concatenate((data.zeros(grow, np.result_type(a1)), a1))
    elif grow < 0:
        a2 = np.concatenate((data.zeros(-grow, np.result_type(a2)), a2))
    return a1, a2


@implements(np.polyadd, via=("concatenate", "add"))
def polyadd(a1, a2):
    a1, a2 = _padded(a1, a2)
    return a1 + a2


@implements(np.polysub, via=("concatenate", "subtract"))
def polysub(a1, a2):
    a1, a2 = _padded(a1, a2)
    return a1 - a2


def _trimmed(p):
    """The coefficients as np.poly1d keeps them: leading zeros removed (by value), [0] if nothing is left."""
    p = np.trim_zeros(np.atleast_1d(p), trim="f")
    return p if np.size(p) else np.zeros(1, np.result_type(p))


@implements(np.polymul)
def polymul(a1, a2):
    return convolve(_trimmed(a1), _trimmed(a2))


@implements(np.polyder, via=("getitem", "multiply"))
def polyder(p, m=1):
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    for _ in range(m):
        n = np.size(p) - 1
        p = p[:-1] * np.arange(n, 0, -1)
    return p


@implements(np.polyint, via=("divide", "concatenate"), note="the integration constants k may be Duals")
def polyint(p, m=1, k=None):
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = np.zeros(m, float) if k is None else np.atleast_1d(k)
    if np.size(k) == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if np.size(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    for i in range(m):
        p = np.concatenate((p / np.arange(np.size(p), 0, -1), np.reshape(k[i], (1,))))
    return p


@implements(np.polyfit, via=("lstsq", "multiply", "divide"),
            note="least squares as NumPy solves it (columns of the Vandermonde matrix scaled to unit norm)")
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    order = int(deg) + 1
    x, y = _plus_zero(x), _plus_zero(y)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if np.ndim(x) != 1:
        raise TypeError("expected 1D vector for x")
    if np.size(x) == 0:
        raise TypeError("expected non-empty vector for x")
    if np.ndim(y) < 1 or np.ndim(y) > 2:
        raise TypeError("expected 1D or 2D array for y")
    if np.shape(x)[0] != np.shape(y)[0]:
        raise TypeError("expected x and y to have same length")
    rcond = np.size(x) * np.finfo(np.result_type(x)).eps if rcond is None else rcond
    lhs, rhs = np.vander(x, order), y
    if w is not None:
        w = _plus_zero(w)
        if np.ndim(w) != 1:
            raise TypeError("expected a 1-d array for weights")
        if np.shape(w)[0] != np.shape(y)[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if np.ndim(rhs) == 2 else w)
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    c, resids, rank, s = np.linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if not cov:
        return c
    v_base = np.linalg.inv(np.dot(lhs.T, lhs)) / np.outer(scale, scale)
    if cov == "unscaled":
        fac = 1
    else:
        if np.size(x) <= order:
            raise ValueError("the number of data points must exceed order to scale the covariance matrix")
        fac = resids / (np.size(x) - order)
    return c, (v_base * fac if np.ndim(y) == 1 else v_base[:, :, None] * fac)


def _plus_zero(x):
    """``np.asarray(x) + 0.0`` (a float copy) for an array-like, ``x + 0.0`` for a Dual."""
    return (x if _is_dual(x) or is_array(x) else np.asarray(x)) + 0.0


@implements(np.polydiv, via=("divide", "multiply", "subtract", "concatenate"))
def polydiv(u, v):
    """Long division u = q·v + r, step for step as NumPy divides (the remainder's leading near-zeros dropped)."""
    u, v = np.atleast_1d(u) + 0.0, np.atleast_1d(v) + 0.0
    dtype = np.result_type(u[0] + v[0])
    m, n = np.size(u) - 1, np.size(v) - 1
    scale = 1.0 / v[0]
    r, q = cast(u, dtype), []
    for k in range(m - n + 1):
        d = scale * r[k]
        q.append(d)
        r = np.concatenate((r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:]))
    q = np.stack(q) if q else np.zeros(1, dtype)
    while np.allclose(innermost(r)[0], 0, rtol=1e-14) and np.size(r) > 1:
        r = r[1:]
    return cast(q, dtype), r


@implements(np.poly, via=("convolve", "stack"), note="from 1-D roots (those of a matrix need np.linalg.eigvals)")
def poly(seq_of_zeros):
    zeros = np.atleast_1d(seq_of_zeros)
    shape = np.shape(zeros)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        zeros = np.linalg.eigvals(zeros)
    elif len(shape) == 1:
        zeros = cast(zeros, np.dtype(np.mintypecode(np.result_type(zeros).char)))
    else:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if np.size(zeros) == 0:
        return 1.0
    dtype = np.result_type(zeros)
    a = np.ones((1,), dtype=dtype)
    one = np.ones((), dtype=dtype)
    for zero in zeros:
        a = np.convolve(a, np.stack([one, -zero]), mode="full")
    if dtype.kind == "c":
        roots = innermost(zeros)
        if np.all(np.sort(roots) == np.sort(roots.conjugate())):
            a = np.real(a)
    return a


@implements(np.roots, via=("eigvals", "gather"), note="eigenvalues of the companion matrix: simple roots only "
                                                   "(a repeated root raises NonDifferentiableError)")
def roots(p):
    p = np.atleast_1d(p)
    if np.ndim(p) != 1:
        raise ValueError("Input must be a rank-1 array.")
    non_zero = np.nonzero(np.ravel(innermost(p)))[0]
    if len(non_zero) == 0:
        return np.array([])
    trailing_zeros = np.size(p) - non_zero[-1] - 1
    p = p[int(non_zero[0]):int(non_zero[-1]) + 1]
    n = np.size(p)
    if n > 1:                                  # the companion matrix: -p[1:]/p[0] on top, ones below the diagonal
        top = -p[1:] / p[0]
        below = np.diag(np.ones(n - 2, np.result_type(p)), -1)[1:]
        found = np.linalg.eigvals(np.concatenate([np.reshape(top, (1, n - 1)), below]))
    else:
        found = np.array([])
    return np.hstack((found, np.zeros(trailing_zeros, np.result_type(found))))


@implements(np.vander, via=("multiply", "stack"), note="powers by repeated multiplication, as NumPy forms them")
def vander(x, N=None, increasing=False):
    if np.ndim(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = np.size(x)
    N = n if N is None else N
    dtype = np.promote_types(np.result_type(x), int)
    x = cast(x, dtype)
    powers = [np.ones(n, dtype)] if N > 0 else []
    for _ in range(1, N):
        powers.append(powers[-1] * x if len(powers) > 1 else x)
    columns = powers if increasing else powers[::-1]
    return np.stack(columns, axis=1) if columns else np.zeros((n, 0), dtype)


# ----- products ----------------------------------------------------------------------------------------
@implements(np.cross, via=("getitem", "multiply", "subtract", "stack"))
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa, axisb, axisc = (axis,) * 3
    a = np.moveaxis(a, normalize_axis(axisa, np.ndim(a), "cross (axisa)"), -1)
    b = np.moveaxis(b, normalize_axis(axisb, np.ndim(b), "cross (axisb)"), -1)
    na, nb = np.shape(a)[-1], np.shape(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    if na == 2 or nb == 2:
        warnings.warn("Arrays of 2-dimensional vectors are deprecated. Use arrays of 3-dimensional vectors "
                      "instead. (deprecated in NumPy 2.0)", DeprecationWarning, stacklevel=2)
    dtype = np.promote_types(np.result_type(a), np.result_type(b))
    a, b = cast(a, dtype), cast(b, dtype)
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    if na == 3 and nb == 3:
        a2, b2 = a[..., 2], b[..., 2]
        x, y = a1 * b2 - a2 * b1, a2 * b0 - a0 * b2
    elif na == 2:                                  # a2 = 0
        b2 = b[..., 2]
        x, y = a1 * b2, -(a0 * b2)
    else:                                          # b2 = 0
        a2 = a[..., 2]
        x, y = -(a2 * b1), a2 * b0
    shape = np.broadcast_shapes(np.shape(a0), np.shape(b0))
    out = np.stack([np.broadcast_to(c, shape) for c in (x, y, z)], axis=-1)
    return np.moveaxis(out, -1, normalize_axis(axisc, len(shape) + 1, "cross (axisc)"))


@implements(np.kron, via=("reshape", "multiply"))
def kron(a, b):
    """a's axes at even positions, b's at odd ones, multiplied and merged pairwise (NumPy's construction)."""
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda < ndb:
        a = np.reshape(a, (1,) * (ndb - nda) + np.shape(a))
        nda = ndb
    if ndb == 0:
        return a * b
    sa, sb = np.shape(a), (1,) * (nda - ndb) + np.shape(b)
    a = np.reshape(a, tuple(x for s in sa for x in (s, 1)))
    b = np.reshape(b, tuple(x for s in sb for x in (1, s)))
    return np.reshape(a * b, tuple(p * q for p, q in zip(sa, sb)))


# ----- ranges with Dual endpoints ------------------------------------------------------------------------
def _range_weights(num, endpoint, dtype, xp):
    """w = linspace(0, 1, num, endpoint): the position of each sample between start (0) and stop (1)."""
    return xp.linspace(0.0, 1.0, num, endpoint=endpoint).astype(dtype)


def _range_rule(numpy_fn, derivatives):
    """A range rule: out = numpy_fn(start, stop, ...); derivatives(w, out, start, stop) -> (∂/∂start, ∂/∂stop)."""
    def rule(primals, tangents, num, endpoint, dtype, axis):
        (start, stop), (t_start, t_stop) = primals, tangents
        xp = namespace(innermost(start), innermost(stop))
        if xp is not np and not hasattr(xp, numpy_fn.__name__):
            raise BackendUnsupportedError(f"np.{numpy_fn.__name__} has no CuPy version; differentiate it with NumPy "
                                          "endpoints (cupy.asnumpy), or build the samples from np.linspace.")
        out = numpy_fn(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)
        if t_start is None and t_stop is None:
            return out, None
        shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
        ax = normalize_axis(axis, len(shape) + 1, numpy_fn.__name__)
        w = _range_weights(num, endpoint, np.result_type(out), xp).reshape((num,) + (1,) * len(shape))
        moved = np.moveaxis(out, ax, 0)                               # (num, *shape)
        d_start, d_stop = derivatives(w, moved, start, stop)
        t = add_terms(None if t_start is None else _lifted(t_start, shape) * d_start,
                      None if t_stop is None else _lifted(t_stop, shape) * d_stop)
        return out, np.moveaxis(fit(t, (num,) + shape), 1, ax + 1)
    return rule


def _lifted(t, shape):
    """(k, *s) -> (k, 1, *shape): broadcast to the endpoints' shape, with a unit axis for the samples."""
    t = fit(t, shape)
    return np.reshape(t, t.shape[:1] + (1,) + tuple(shape))


_linspace = defprimitive("linspace", _range_rule(np.linspace, lambda w, out, start, stop: (1 - w, w)),
                         family="numeric", kind="linear", numpy=("np.linspace", "np.logspace"), complex=True,
                         note="affine in the endpoints: the tangent is linspace of their tangents")
_geomspace = defprimitive(
    "geomspace", _range_rule(np.geomspace, lambda w, out, start, stop: ((1 - w) * out / start, w * out / stop)),
    family="numeric", numpy=("np.geomspace",), complex=True,
    note="start·(stop/start)^w: d/dstart = (1 − w)·out/start, d/dstop = w·out/stop")


def _check_range_dtype(op, dtype):
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise TypeError(f"{op}(..., dtype={np.dtype(dtype)}) would round the samples to integers, a piecewise "
                        "constant function of the endpoints; use a floating dtype.")


@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    _check_range_dtype("linspace", dtype)
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    samples = bind(_linspace, start, stop, num=num, endpoint=endpoint, dtype=dtype, axis=axis)
    if not retstep:
        return samples
    div = num - 1 if endpoint else num
    step = (stop - start) / div if div > 0 else (stop - start) * np.nan
    return samples, step


@implements(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    _check_range_dtype("geomspace", dtype)
    return bind(_geomspace, start, stop, num=int(num), endpoint=endpoint, dtype=dtype, axis=axis)


@implements(np.logspace, via=("linspace", "power"), note="base**linspace(start, stop); base may be a Dual")
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    _check_range_dtype("logspace", dtype)
    if not isinstance(base, float | int) and np.ndim(base):       # an array base broadcasts with the endpoints
        ndmax = np.broadcast(innermost(start), innermost(stop), innermost(base)).ndim
        start, stop, base = (np.reshape(v, (1,) * (ndmax - np.ndim(v)) + np.shape(v)) for v in (start, stop, base))
        base = np.expand_dims(base, axis=axis)
    y = np.linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = np.power(base, y)
    return out if dtype is None else cast(out, dtype)


# ----- elementwise functions that are not ufuncs --------------------------------------------------------
@implements(np.nan_to_num, via=("where",), note="the tangent passes where x is finite; replaced values are "
                                                "constants; copy=False writes the Dual")
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    plain_argument("nan_to_num", nan=nan, posinf=posinf, neginf=neginf)
    dtype = np.result_type(x)
    if dtype.kind == "c":                     # the real and imaginary parts separately, as NumPy does
        parts = (nan_to_num(part, nan=nan, posinf=posinf, neginf=neginf) for part in (np.real(x), np.imag(x)))
        result = next(parts) + 1j * next(parts)
    else:
        info = np.finfo(dtype)
        value = innermost(x)
        replaced = np.where(np.isnan(value), nan,
                            np.where(value > 0, info.max if posinf is None else posinf,
                                     info.min if neginf is None else neginf)).astype(dtype)
        result = np.where(np.isfinite(value), x, replaced)
    if copy or not _is_dual(x):
        return result
    x[...] = result                           # copy=False: in place, as NumPy does
    return x


# sinc'(x) = (cos πx − sinc x)/x; near 0 (|x| < 0.1) its series Σ_{n≥1} (−1)ⁿ 2n π²ⁿ x²ⁿ⁻¹/(2n+1)!, exact
# to rounding there and exact at 0 for every derivative up to order 16 (the far formula would cancel).
_SINC_SLOPE_SERIES = [(-1) ** n * 2 * n * math.pi ** (2 * n) / math.factorial(2 * n + 1) for n in range(1, 9)]
_SINC_NEAR = 0.1


def _sinc_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    y = np.sinc(x)
    if t is None:
        return y, None
    near = np.abs(innermost(x)) < _SINC_NEAR
    far = np.where(near, 1, x)                     # away from 0 where near (that branch is not used)
    slope_far = (np.cos(math.pi * far) - np.sinc(far)) / far
    x2 = x * x
    series = 0.0
    for c in reversed(_SINC_SLOPE_SERIES):
        series = series * x2 + c
    slope = np.where(near, series * x, slope_far)
    return y, t * slope


_sinc = defprimitive("sinc", _sinc_rule, family="numeric", kind="elementwise", numpy=("np.sinc",), complex=True,
                     note="sinc'(0) = 0; near 0 a series, so higher derivatives at 0 are exact too")


@implements(np.sinc)
def sinc(x):
    return bind(_sinc, x)


def _i0_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return np.i0(x), None if t is None else t * special(namespace(innermost(x))).i1(x)


_i0 = defprimitive("i0", _i0_rule, family="numeric", kind="elementwise", numpy=("np.i0",),
                   note="I0' = I1 (scipy.special.i1)")


@implements(np.i0)
def i0(x):
    return bind(_i0, x)


def _unwrap_rule(primals, tangents, discont, axis, period):
    (p,), (t,) = primals, tangents
    return np.unwrap(p, discont=discont, axis=axis, period=period), t


_unwrap = defprimitive("unwrap", _unwrap_rule, family="numeric", kind="linear", numpy=("np.unwrap",),
                       note="the value plus multiples of the period (piecewise constant): the tangent passes")


@implements(np.unwrap)
def unwrap(p, discont=None, axis=-1, *, period=2 * math.pi):
    plain_argument("unwrap", discont=discont, period=period)
    return bind(_unwrap, p, discont=discont, axis=axis, period=period)

