"""Statistics: quantiles and medians, the NaN-ignoring reductions, weighted averages, covariance, counts.

Quantiles (np.quantile, percentile, median and their nan- forms) are one rule. With the order of the
values fixed, every method of NumPy's is a linear interpolation between two neighbouring order
statistics, ``q = (1 − f)·s[j] + f·s[j + 1]``, and its tangent is the same interpolation of the sorted
tangents. The position ``j + f`` is NumPy's own answer for the ranks 0, 1, ..., n − 1 (the same
function, q and method applied to ``arange(n)``), so every method and NaN rule is NumPy's exactly.

The nan- reductions replace NaN by the reduction's neutral value (which carries no tangent) and reduce,
as NumPy does; a slice of NaN only gives NaN with a NaN tangent, and the RuntimeWarning NumPy gives.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..backend import namespace
from ..errors import BackendUnsupportedError, MissingRuleError
from ..registry import bind, defprimitive, implements
from ._util import cast, innermost, normalize_axes, reject, result_type
from .selection import take_along_axis


def _keepdims(keepdims) -> bool:
    return False if keepdims is np._NoValue else bool(keepdims)


def _plain_q(op, q):
    if hasattr(q, "tangent"):
        raise MissingRuleError(f"{op}: the derivative with respect to q is not implemented; pass a plain q "
                               "(q.primal), or interpolate the sorted values yourself with np.sort.")
    return q


# ----- quantiles: one rule for median, percentile, quantile and the nan- forms ---------------------
#: the interpolation methods CuPy's quantile functions have (NumPy has eight more)
GPU_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_rule(primals, tangents, numpy_fn, q, axis, keepdims, options):
    """``numpy_fn(a, *q, axis, keepdims, **options)``; its tangent interpolates the sorted tangents."""
    (a,), (t,) = primals, tangents
    xp = namespace(innermost(a))
    if xp is not np:
        if options.get("method", "linear") not in GPU_QUANTILE_METHODS:
            raise BackendUnsupportedError(
                f"{numpy_fn.__name__}(method={options['method']!r}) has no CuPy version (CuPy has the methods "
                f"{GPU_QUANTILE_METHODS}); pick one of those, or differentiate with NumPy inputs (cupy.asnumpy).")
        if any(np.ndim(v) > 1 for v in q):
            raise BackendUnsupportedError(f"{numpy_fn.__name__}: CuPy takes q of at most one dimension; pass "
                                          "q.ravel() and reshape the result, or use NumPy inputs (cupy.asnumpy).")
        q = tuple(xp.asarray(v) for v in q)                # CuPy takes q as a device array
    out = numpy_fn(a, *q, axis=axis, keepdims=keepdims, **options)
    if t is None:
        return out, None
    shape = np.shape(a)
    axes = normalize_axes(axis, len(shape), numpy_fn.__name__)
    rest = [d for d in range(len(shape)) if d not in axes]
    n = math.prod(shape[d] for d in axes)
    r = math.prod(shape[d] for d in rest)
    k = t.shape[0]
    # the values as (r, n) rows to reduce; their ranks in sorted order, NaN where the value is NaN
    values = xp.transpose(innermost(a), rest + list(axes)).reshape(r, n)
    order = xp.argsort(values, axis=-1)
    ranks = xp.where(xp.isnan(xp.take_along_axis(values, order, axis=-1)), np.nan, xp.arange(n, dtype=np.float64))
    with warnings.catch_warnings():               # an all-NaN row: NumPy has warned for the value already
        warnings.simplefilter("ignore", RuntimeWarning)
        position = xp.asarray(numpy_fn(ranks, *q, axis=-1, **options), dtype=np.float64).reshape(-1, r).T
    low = xp.floor(xp.nan_to_num(position)).astype(np.intp)                       # (r, Q)
    frac = (position - low).astype(t.dtype)                                          # NaN in rows without answer
    high = xp.minimum(low + 1, n - 1)
    ts = take_along_axis(t.transpose([0] + [d + 1 for d in rest] + [d + 1 for d in axes]).reshape(k, r, n),
                         order[None], axis=-1)                                      # sorted tangents (k, r, n)
    dout = take_along_axis(ts, low[None], axis=-1) * (1 - frac) + take_along_axis(ts, high[None], axis=-1) * frac
    return out, np.moveaxis(dout, -1, 1).reshape((k,) + np.shape(out))              # (k, *q.shape, *rest)


_quantile = defprimitive(
    "quantile", _quantile_rule, family="statistics",
    numpy=("np.quantile", "np.percentile", "np.median", "np.nanquantile", "np.nanpercentile", "np.nanmedian"),
    note="every method: (1 − f)·s[j] + f·s[j+1] of the sorted values, the same of the sorted tangents; "
         "ties take the tangent of the first occurrence")


def _quantile_call(numpy_fn, a, q, axis, out, keepdims, method, weights, options=()):
    reject(numpy_fn.__name__, out=out, weights=weights)
    options = dict(options) | ({} if method == "linear" else {"method": method})
    return bind(_quantile, a, numpy_fn=numpy_fn, q=q, axis=axis, keepdims=_keepdims(keepdims), options=options)


@implements(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    return _quantile_call(np.quantile, a, (_plain_q("quantile", q),), axis, out, keepdims, method, weights)


@implements(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    return _quantile_call(np.percentile, a, (_plain_q("percentile", q),), axis, out, keepdims, method, weights)


@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return _quantile_call(np.median, a, (), axis, out, keepdims, "linear", None)


@implements(np.nanquantile)
def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    return _quantile_call(np.nanquantile, a, (_plain_q("nanquantile", q),), axis, out, keepdims, method, weights)


@implements(np.nanpercentile)
def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                  weights=None):
    return _quantile_call(np.nanpercentile, a, (_plain_q("nanpercentile", q),), axis, out, keepdims, method, weights)


@implements(np.nanmedian)
def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return _quantile_call(np.nanmedian, a, (), axis, out, keepdims, "linear", None)


# ----- NaN-ignoring reductions: NaN becomes the neutral value (no tangent), then the reduction -----
def _without_nan(a, neutral):
    mask = np.isnan(a)                     # plain booleans from the value
    return np.where(mask, neutral, a), mask


def _all_nan_to_nan(result, mask, axis, keepdims):
    """NaN (value and tangent) where a slice held NaN only, with NumPy's warning."""
    empty = np.all(mask, axis=axis, keepdims=keepdims)
    if not np.any(empty):
        return result
    warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=3)
    return result * np.where(empty, np.nan, 1).astype(np.result_type(result))


@implements(np.nansum, via=("where", "sum"), note="NaN counts as 0")
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    reject("nansum", dtype=dtype, out=out, initial=initial, where=where)
    return np.sum(_without_nan(a, 0)[0], axis=axis, keepdims=_keepdims(keepdims))


@implements(np.nanprod, via=("where", "prod"), note="NaN counts as 1")
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    reject("nanprod", dtype=dtype, out=out, initial=initial, where=where)
    return np.prod(_without_nan(a, 1)[0], axis=axis, keepdims=_keepdims(keepdims))


@implements(np.nancumsum, via=("where", "cumsum"), note="NaN counts as 0")
def nancumsum(a, axis=None, dtype=None, out=None):
    reject("nancumsum", dtype=dtype, out=out)
    return np.cumsum(_without_nan(a, 0)[0], axis=axis)


@implements(np.nancumprod, via=("where", "cumprod"), note="NaN counts as 1")
def nancumprod(a, axis=None, dtype=None, out=None):
    reject("nancumprod", dtype=dtype, out=out)
    return np.cumprod(_without_nan(a, 1)[0], axis=axis)


@implements(np.nanmax, via=("where", "max"), note="NaN ignored; ties split the tangent; NaN for an all-NaN slice")
def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    reject("nanmax", out=out, initial=initial, where=where)
    filled, mask = _without_nan(a, -np.inf)
    keep = _keepdims(keepdims)
    return _all_nan_to_nan(np.max(filled, axis=axis, keepdims=keep), mask, axis, keep)


@implements(np.nanmin, via=("where", "min"), note="NaN ignored; ties split the tangent; NaN for an all-NaN slice")
def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    reject("nanmin", out=out, initial=initial, where=where)
    filled, mask = _without_nan(a, np.inf)
    keep = _keepdims(keepdims)
    return _all_nan_to_nan(np.min(filled, axis=axis, keepdims=keep), mask, axis, keep)


def _count(mask, axis, keepdims, dtype):
    """The number of non-NaN values per slice, in the values' dtype (as NumPy divides by it)."""
    return np.sum(~mask, axis=axis, keepdims=keepdims).astype(dtype)


@implements(np.nanmean, via=("where", "sum", "divide"), note="NaN ignored; NaN for an all-NaN slice")
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    reject("nanmean", dtype=dtype, out=out, where=where)
    filled, mask = _without_nan(a, 0)
    keep = _keepdims(keepdims)
    if not np.any(mask):
        return np.mean(a, axis=axis, keepdims=keep)
    count = _count(mask, axis, keep, np.result_type(a))
    if np.any(count == 0):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(filled, axis=axis, keepdims=keep) / count


def _nanvar(op, a, axis, dtype, out, ddof, keepdims, where, mean, correction):
    """(variance, count) of the non-NaN values, computed as NumPy's nanvar computes it."""
    reject(op, dtype=dtype, out=out, where=where, mean=mean)
    ddof = ddof if correction is None or correction is np._NoValue else correction
    filled, mask = _without_nan(a, 0)
    keep = _keepdims(keepdims)
    count = _count(mask, axis, keep, np.result_type(a))
    if not np.any(mask):
        return np.var(a, axis=axis, ddof=ddof, keepdims=keep), count
    with np.errstate(divide="ignore", invalid="ignore"):
        centered = np.where(mask, 0, filled - np.sum(filled, axis=axis, keepdims=True) / _count(mask, axis, True,
                                                                                                  count.dtype))
        dof = count - ddof
        squares = np.real(centered * np.conj(centered)) if np.iscomplexobj(centered) else centered * centered
        var = np.sum(squares, axis=axis, keepdims=keep) / dof
    if np.any(dof <= 0):
        warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=3)
        var = np.where(dof <= 0, np.nan, var)
    return var, count


@implements(np.nanvar, via=("where", "sum", "multiply", "divide"), note="NaN ignored")
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None, correction=None):
    return _nanvar("nanvar", a, axis, dtype, out, ddof, keepdims, where, mean, correction)[0]


@implements(np.nanstd, via=("where", "sum", "multiply", "divide", "sqrt"),
            note="NaN ignored; tangent 0 for a single value (its std is identically 0), infinite where std = 0 "
                 "over several values")
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None, correction=None):
    var, count = _nanvar("nanstd", a, axis, dtype, out, ddof, keepdims, where, mean, correction)
    single = count == 1
    if not np.any(single):
        return np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(single, np.sqrt(innermost(var)), np.sqrt(var))


# ----- averages, spread, covariance ------------------------------------------------------------------
@implements(np.average, via=("multiply", "sum", "divide"), note="weights may be Duals")
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    keep = _keepdims(keepdims)
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keep)
        scale = np.result_type(avg).type(np.size(a) / np.size(avg))
    else:
        dtype = result_type(a, weights)
        dtype = np.result_type(dtype, np.float64) if dtype.kind in "biu" else dtype
        wgt = cast(weights, dtype)
        if np.shape(a) != np.shape(wgt):
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if np.ndim(wgt) != 1:
                raise TypeError("1D weights expected when shapes of a and weights differ.")
            if np.shape(wgt)[0] != np.shape(a)[axis]:
                raise ValueError("Length of weights not compatible with specified axis.")
            wgt = np.swapaxes(np.broadcast_to(wgt, (np.ndim(a) - 1) * (1,) + np.shape(wgt)), -1, axis)
        scale = np.sum(wgt, axis=axis, keepdims=keep)
        if np.any(scale == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(np.multiply(a, wgt), axis=axis, keepdims=keep) / scale
    if not returned:
        return avg
    if np.shape(scale) != np.shape(avg):
        scale = np.broadcast_to(scale, np.shape(avg))
    return avg, scale


@implements(np.ptp, via=("max", "min"), note="ties split the tangent as in max and min")
def ptp(a, axis=None, out=None, keepdims=False):
    reject("ptp", out=out)
    keep = _keepdims(keepdims)
    return np.max(a, axis=axis, keepdims=keep) - np.min(a, axis=axis, keepdims=keep)


def _at_least_2d(x, dtype):
    x = cast(x, dtype)
    return np.reshape(x, (1,) * (2 - np.ndim(x)) + np.shape(x)) if np.ndim(x) < 2 else x


@implements(np.cov, via=("mean", "subtract", "matmul"), note="aweights may be Duals")
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """np.cov, step by step as NumPy computes it (so the values agree to the last bit)."""
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    if np.ndim(m) > 2 or (y is not None and np.ndim(y) > 2):
        raise ValueError("m and y must have at most 2 dimensions")
    if dtype is None:
        dtype = result_type(m, np.float64) if y is None else result_type(m, y, np.float64)
    X = _at_least_2d(m, dtype)
    if not rowvar and np.ndim(m) != 1:
        X = X.T
    if np.shape(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = _at_least_2d(y, dtype)
        if not rowvar and np.shape(Y)[0] != 1:
            Y = Y.T
        X = np.concatenate((X, Y), axis=0)
    ddof = (0 if bias else 1) if ddof is None else ddof
    w = _cov_weights(fweights, aweights, np.shape(X)[1], namespace(innermost(X)))
    avg, w_sum = average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = np.shape(X)[1] - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * np.sum(w * aweights) / w_sum
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    X = _same_dtype(X - avg[:, None], X)                       # NumPy: X -= avg[:, None]
    X_T = (X if w is None else X * w).T
    c = np.dot(X, np.conj(X_T) if np.iscomplexobj(X_T) else X_T)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = _same_dtype(c * np.true_divide(1, fact), c)           # NumPy: c *= 1 / fact
    return np.squeeze(c)


def _same_dtype(result, like):
    """``result`` in the dtype of ``like``, as NumPy's in-place operators leave it."""
    return cast(result, np.result_type(like))


def _cov_weights(fweights, aweights, n, xp):
    """The product of the frequency and analytic weights (None when neither is given), checked as NumPy does;
    plain weights as arrays of ``xp``, the data's module (a list of weights goes to the GPU with CuPy data)."""
    w = None
    if fweights is not None:
        if hasattr(fweights, "tangent"):
            raise TypeError("cov: fweights are integer counts and cannot be Duals")
        fweights = xp.asarray(fweights, dtype=float)
        if not np.all(fweights == np.around(fweights)):
            raise TypeError("fweights must be integer")
        if fweights.ndim > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if fweights.shape[0] != n:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if np.any(fweights < 0):
            raise ValueError("fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if np.iscomplexobj(aweights):
            raise MissingRuleError("cov: complex aweights have no rule (NumPy would discard their imaginary part); "
                                   "pass real weights")
        if not hasattr(aweights, "tangent"):
            aweights = xp.asarray(aweights, dtype=float)
        if np.ndim(aweights) > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if np.shape(aweights)[0] != n:
            raise RuntimeError("incompatible numbers of samples and aweights")
        if np.any(innermost(aweights) < 0):
            raise ValueError("aweights cannot be negative")
        w = aweights if w is None else w * aweights
    return w


@implements(np.corrcoef, via=("mean", "matmul", "divide", "sqrt", "clip"),
            note="clipped to [-1, 1] as in NumPy; the tangent passes where the value is inside")
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    c = cov(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:                  # one variable: 1 (or NaN where the variance is 0, inf or NaN)
        return c / c
    variances = np.diagonal(c)
    stddev = np.sqrt(np.real(variances) if np.iscomplexobj(variances) else variances)
    c = c / stddev[:, None] / stddev[None, :]
    if np.iscomplexobj(c):
        return np.clip(np.real(c), -1, 1) + 1j * np.clip(np.imag(c), -1, 1)
    return np.clip(c, -1, 1)


# ----- counting with weights -------------------------------------------------------------------------
def _bincount_rule(primals, tangents, x, minlength):
    """Σ of the weights per bin: linear in the weights; one np.bincount per tangent column."""
    (w,), (t,) = primals, tangents
    out = np.bincount(x, weights=w, minlength=minlength)
    if t is None:
        return out, None
    return out, np.stack([np.bincount(x, weights=t[i], minlength=minlength) for i in range(t.shape[0])])


_bincount = defprimitive("bincount", _bincount_rule, family="statistics", kind="linear", numpy=("np.bincount",),
                         note="linear in the weights (float64, as NumPy returns); without Dual weights a plain "
                              "array of counts")


@implements(np.bincount)
def bincount(x, /, weights=None, minlength=0):
    if hasattr(x, "tangent"):
        raise TypeError("bincount: x holds non-negative integers and cannot be a Dual; Dual weights carry tangents")
    if weights is None:
        return np.bincount(x, minlength=minlength)
    return bind(_bincount, weights, x=namespace(innermost(weights)).asarray(x), minlength=minlength)


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    return _cumulative("cumulative_sum", np.cumsum, 0, x, axis, dtype, out, include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    return _cumulative("cumulative_prod", np.cumprod, 1, x, axis, dtype, out, include_initial)


def _cumulative(op, accumulate, initial, x, axis, dtype, out, include_initial):
    """NumPy 2's cumulative_sum/prod: cumsum/cumprod, optionally after the identity (no tangent)."""
    reject(op, dtype=dtype, out=out)
    if axis is None:
        if np.ndim(x) > 1:
            raise ValueError("For arrays which have more than one dimension ``axis`` argument is required.")
        axis = 0
    result = accumulate(x, axis=axis)
    if not include_initial:
        return result
    shape = list(np.shape(x))
    shape[normalize_axes(axis, len(shape), op)[0]] = 1
    return np.concatenate([np.full(shape, initial, dtype=np.result_type(result)), result], axis=axis)


if hasattr(np, "cumulative_sum"):      # NumPy >= 2.1
    implements(np.cumulative_sum, via=("cumsum", "concatenate"))(cumulative_sum)
    implements(np.cumulative_prod, via=("cumprod", "concatenate"))(cumulative_prod)
