"""``scipy.integrate`` on Duals: ``odeint`` with forward sensitivities, and the sample rules ``trapezoid``,
``simpson`` and ``cumulative_trapezoid``, with SciPy's signatures, defaults and values.

    import dualgrad.scipy.integrate as integrate
    ys = integrate.odeint(func, y0, t, args=(a, b))        # any of y0, t, a, b a Dual (or plain)
    area = integrate.simpson(y, x=x)                       # y, x and dx may be Duals

**odeint(func, y0, t, args=(), ...)** solves dy/dt = func(y, t, *args) (``tfirst=True``: func(t, y, *args)) with
SciPy's LSODA, as ``scipy.integrate.odeint``. On plain inputs it *is* SciPy's odeint. With Duals among y0, t and
the leaves of ``args`` (arrays, numbers, or tuples/lists/dicts of them), the result is a Dual of shape (len(t), n)
whose tangent columns are the forward sensitivities:

* For each of the k tangent columns j, Y_j(t) = ∂y(t)/∂(direction j) solves the variational equation
  dY_j/dt = J_y f(y, t, args)·Y_j + J_args f(y, t, args)·d args_j. SciPy's odeint integrates y and Y_1..Y_k as one
  state of n(k + 1) components; each evaluation of this right-hand side is *one* ``dg.jvp`` of func that returns
  f and all k products at once, so func must be written with NumPy functions that dualgrad differentiates.
* Times: moving the start t[0] by dt0 shifts the trajectory, Y_j(t0) = dy0_j − f(y0, t0)·dt0_j; an output time
  t_i adds f(y(t_i), t_i)·dt_i_j. (y(t[0]) = y0 has the tangent dy0.)
* Accuracy: the tangents are the exact derivatives of the ODE solution up to the solver's tolerance (``rtol``,
  ``atol`` are passed through and control the sensitivities' error as well; per-component tolerances apply to a
  component's sensitivities too). They are not the derivatives of the solver's discrete steps: with SciPy's
  default tolerances (about 1.5e-8) expect agreement with finite differences to roughly 1e-6 relative; tighten
  ``rtol``/``atol`` for more.
* Value: the primal of a Dual result is SciPy's odeint of the plain problem, bit for bit; the augmented system is
  solved in a second call. Cost: one plain solve plus one solve of n(k + 1) components whose right-hand side is a
  jvp of func with k columns (LSODA's Jacobian of the augmented system is formed by differences internally).
* Nested derivatives (``dg.hessian``, a jvp of a jvp, jacfwd of jacfwd) work to any order: on Duals of an outer
  derivative the augmented system is itself solved on Duals, i.e. augmented once more (n(k + 1)(k' + 1)
  components for an outer derivative of k' columns), each level exact up to the solver's tolerance.
* ``full_output=1`` returns (y, infodict) as SciPy; with tangents the infodict describes the augmented solve.
* Options that cannot carry over to the augmented system raise ``ValueError`` when a Dual is involved: ``Dfun``
  and banded Jacobians (``ml``, ``mu``); ``col_deriv`` has no effect without ``Dfun``, as in SciPy. All other
  options are passed to SciPy as given.
* Not supported: a func that closes over a Dual instead of taking it through args raises ``dg.MissingRuleError``
  (its tangent could not be followed); so do complex values (LSODA is real). Data on a GPU (CuPy) raises
  ``dg.BackendUnsupportedError``: SciPy's solver takes NumPy arrays.

**trapezoid(y, x=None, dx=1.0, axis=-1)**, **cumulative_trapezoid(y, x=None, dx=1.0, axis=-1, initial=None)** and
**simpson(y, x=None, *, dx=1.0, axis=-1)** are SciPy's formulas written with NumPy operations that dualgrad
differentiates (so y, x and dx may all be Duals, to any order; the tangent is the formula's exact derivative,
linear in y). ``x`` is 1-D along ``axis`` or an array of y's shape (``trapezoid``: broadcastable to it).
``simpson`` with an even number of samples applies Simpson's rule to the first N − 2 intervals and Cartwright's
correction to the last, as SciPy ≥ 1.11; its quotients by zero spacings are 0, as SciPy's. ``cumulative_trapezoid``
takes ``initial=None`` or 0 (SciPy's other values raise ``ValueError``, as SciPy). Cost: a few array operations
over y.

Not here: ``quad`` and the other adaptive quadratures, ``solve_ivp``, ``cumulative_simpson``, ``romb`` (their names
raise ``AttributeError``).
"""
from __future__ import annotations

import numpy as np

from ..pytree import flatten
from ..rules import numeric
from ..rules._util import cast, normalize_axis, sequence_as_array
from ..rules.numeric import _index

__all__ = ["odeint", "trapezoid", "simpson", "cumulative_trapezoid"]


# ----- ODE ---------------------------------------------------------------------------------------------------------
def odeint(func, y0, t, args=(), Dfun=None, col_deriv=0, full_output=0, ml=None, mu=None, rtol=None, atol=None,
           tcrit=None, h0=0.0, hmax=0.0, hmin=0.0, ixpr=0, mxstep=0, mxhnil=0, mxordn=12, mxords=5, printmessg=0,
           tfirst=False):
    """Integrate a system of ordinary differential equations (``scipy.integrate.odeint``), with the forward
    sensitivities of y0, t and args when they carry tangents (see the module's notes)."""
    import scipy.integrate

    y0, t = sequence_as_array(y0), sequence_as_array(t)
    if not isinstance(args, tuple):
        raise TypeError(f"odeint: extra arguments must be in a tuple, as SciPy's (args=(a,) for one argument); got "
                        f"a {type(args).__name__}")
    if not any(hasattr(leaf, "tangent") for leaf in flatten((y0, t, args))[0]):
        return scipy.integrate.odeint(numeric.plain_rhs(func, tfirst), y0, t, args=args, Dfun=Dfun,
                                      col_deriv=col_deriv, full_output=full_output, ml=ml, mu=mu, rtol=rtol,
                                      atol=atol, tcrit=tcrit, h0=h0, hmax=hmax, hmin=hmin, ixpr=ixpr, mxstep=mxstep,
                                      mxhnil=mxhnil, mxordn=mxordn, mxords=mxords, printmessg=printmessg)
    refused = [name for name, value in (("Dfun", Dfun), ("ml", ml), ("mu", mu)) if value is not None]
    if refused:
        raise ValueError(f"odeint on Duals does not take {', '.join(refused)}: the sensitivities are integrated "
                         "with y as one larger system, whose Jacobian LSODA forms itself; leave them out")
    if np.ndim(y0) > 1:
        raise ValueError(f"Initial condition y0 must be one-dimensional (got shape {np.shape(y0)}).")
    if np.ndim(t) != 1:
        raise ValueError(f"odeint: t must be a 1-D sequence of times (got shape {np.shape(t)}).")
    options = {"full_output": full_output, "rtol": rtol, "atol": atol, "tcrit": tcrit, "h0": h0, "hmax": hmax,
               "hmin": hmin, "ixpr": ixpr, "mxstep": mxstep, "mxhnil": mxhnil, "mxordn": mxordn, "mxords": mxords,
               "printmessg": printmessg, "tfirst": tfirst}
    return numeric.odeint(func, y0, t, args, options)


# ----- sample rules --------------------------------------------------------------------------------------------------
def _spacing_array(x, y, axis, op):
    """x as SciPy's sample rules take it: 1-D along ``axis`` (reshaped to broadcast against y) or y's rank."""
    x = sequence_as_array(x)
    if np.ndim(x) == 1:
        shape = [1] * np.ndim(y)
        shape[axis] = np.shape(x)[0]
        x = np.reshape(x, shape)
    elif np.ndim(x) != np.ndim(y):
        raise ValueError(f"{op}: if given, shape of x must be 1-D or the same as y (got {np.shape(x)} and "
                         f"{np.shape(y)}).")
    if np.shape(x)[axis] != np.shape(y)[axis]:
        raise ValueError(f"{op}: if given, length of x along axis must be the same as y.")
    return x


def trapezoid(y, x=None, dx=1.0, axis: int = -1):
    """Σ (x[i+1] − x[i])·(y[i+1] + y[i]) / 2 along ``axis`` (``scipy.integrate.trapezoid``; spacing dx without x).
    An x of y's rank is broadcast to y's shape, as SciPy."""
    y = sequence_as_array(y)
    x = sequence_as_array(x)
    if x is not None and np.ndim(x) > 1:
        x = np.broadcast_to(x, np.shape(y))
    return numeric.trapezoid(y, x, dx, axis)


def cumulative_trapezoid(y, x=None, dx=1.0, axis: int = -1, initial=None):
    """The running trapezoidal integrals along ``axis`` (``scipy.integrate.cumulative_trapezoid``): one fewer than
    y's samples, or as many with ``initial=0`` in front."""
    y = sequence_as_array(y)
    ndim = np.ndim(y)
    axis = normalize_axis(axis, ndim, "cumulative_trapezoid")
    if np.shape(y)[axis] == 0:
        raise ValueError("cumulative_trapezoid: at least one point is required along `axis`.")
    d = dx if x is None else np.diff(_spacing_array(x, y, axis, "cumulative_trapezoid"), axis=axis)
    later, earlier = _index(ndim, axis, slice(1, None)), _index(ndim, axis, slice(None, -1))
    total = np.cumsum(d * (y[later] + y[earlier]) / 2.0, axis=axis)
    if initial is None:
        return total
    if not np.isscalar(initial) or initial != 0:
        raise ValueError(f"cumulative_trapezoid: `initial` must be `None` or `0` (got {initial!r}).")
    shape = list(np.shape(total))
    shape[axis] = 1
    return np.concatenate([np.zeros(shape, np.result_type(total)), total], axis=axis)


def _quotient(a, b):
    """a / b where b ≠ 0, else 0 (SciPy's ``np.true_divide(a, b, out=zeros, where=b != 0)``)."""
    nonzero = b != 0
    return np.where(nonzero, a / np.where(nonzero, b, 1.0), 0.0)


def _basic_simpson(y, stop, x, dx, axis):
    """Simpson's rule over the pairs of intervals starting at 0, 2, ..., < stop (SciPy's ``_basic_simpson``)."""
    ndim = np.ndim(y)
    first, middle, last = (_index(ndim, axis, slice(i, stop + i, 2)) for i in range(3))
    if x is None:
        return np.sum(y[first] + 4.0 * y[middle] + y[last], axis=axis) * (dx / 3.0)
    h = cast(np.diff(x, axis=axis), np.float64)
    h0, h1 = h[first], h[middle]                   # the two spacings of each pair
    hsum, hprod = h0 + h1, h0 * h1
    h0_over_h1 = _quotient(h0, h1)
    terms = hsum / 6.0 * (y[first] * (2.0 - _quotient(1.0, h0_over_h1))
                          + y[middle] * (hsum * _quotient(hsum, hprod))
                          + y[last] * (2.0 - h0_over_h1))
    return np.sum(terms, axis=axis)


def simpson(y, x=None, *, dx=1.0, axis: int = -1):
    """Simpson's rule along ``axis`` (``scipy.integrate.simpson``), for samples at x (or spacing dx): with an even
    number N of samples, Simpson's rule on the first N − 2 intervals plus Cartwright's correction for the last one
    (the trapezoid for N = 2)."""
    y = sequence_as_array(y)
    ndim = np.ndim(y)
    axis = normalize_axis(axis, ndim, "simpson")
    n = np.shape(y)[axis]
    if x is not None:
        x = _spacing_array(x, y, axis, "simpson")
    if n % 2:
        return _basic_simpson(y, n - 2, x, dx, axis)
    y1, y2 = y[_index(ndim, axis, -1)], y[_index(ndim, axis, -2)]
    if n == 2:
        last_dx = dx if x is None else x[_index(ndim, axis, -1)] - x[_index(ndim, axis, -2)]
        return 0.5 * last_dx * (y1 + y2)
    y3 = y[_index(ndim, axis, -3)]
    result = _basic_simpson(y, n - 3, x, dx, axis)
    if x is None:
        h0 = h1 = cast(dx, np.float64)
    else:                                          # the last two spacings
        h = cast(np.diff(x, axis=axis), np.float64)
        h0, h1 = (np.squeeze(h[_index(ndim, axis, slice(i, i + 1 or None))], axis) for i in (-2, -1))
    alpha = _quotient(2 * h1 ** 2 + 3 * h0 * h1, 6 * (h1 + h0))
    beta = _quotient(h1 ** 2 + 3.0 * h0 * h1, 6 * h0)
    eta = _quotient(1 * h1 ** 3, 6 * h0 * (h0 + h1))
    return result + (alpha * y1 + beta * y2 - eta * y3)


def __getattr__(name: str):
    import scipy.integrate

    if not hasattr(scipy.integrate, name):
        raise AttributeError(f"scipy.integrate has no attribute {name!r}")
    raise AttributeError(f"dualgrad.scipy.integrate has no counterpart for scipy.integrate.{name}; it provides "
                         f"{', '.join(__all__)}")
