"""Reductions. Primal axes are shifted by one for the tangent block (axis a of x is axis a + 1 of t).

Ties: max and min split the tangent equally among all positions that attain the extremum
(HIPS autograd's convention); at a unique extremum this is the ordinary derivative.
"""
from __future__ import annotations

import numpy as np

from ..backend import namespace
from ..registry import bind, defprimitive, implements
from ._util import innermost, max_or, normalize_axes, reject, tangent_axes


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _keep(y, axes, keepdims):
    """A reduced array with the reduced axes restored as size-1 axes (for broadcasting against x)."""
    return y if keepdims else np.expand_dims(y, axes)

# ----- sum, mean: linear --------------------------------------------------------------------------
def _sum_rule(primals, tangents, axis, keepdims):
    (x,), (t,) = primals, tangents
    axes = normalize_axes(axis, np.ndim(x), "sum")
    out = namespace(x).sum(x, axis=axes, keepdims=keepdims)
    return out, None if t is None else t.sum(axis=tangent_axes(axes), keepdims=keepdims)


def _mean_rule(primals, tangents, axis, keepdims):
    (x,), (t,) = primals, tangents
    axes = normalize_axes(axis, np.ndim(x), "mean")
    out = namespace(x).mean(x, axis=axes, keepdims=keepdims)
    return out, None if t is None else t.mean(axis=tangent_axes(axes), keepdims=keepdims)


_sum = defprimitive("sum", _sum_rule, family="reductions", kind="linear", numpy=("np.sum", "Dual.sum"),
                    complex=True)
_mean = defprimitive("mean", _mean_rule, family="reductions", kind="linear", numpy=("np.mean", "Dual.mean"),
                     complex=True)


@implements(np.sum)
def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    reject("sum", dtype=dtype, out=out, initial=initial, where=where)
    return bind(_sum, a, axis=axis, keepdims=keepdims)


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    reject("mean", dtype=dtype, out=out, where=where)
    return bind(_mean, a, axis=axis, keepdims=keepdims)

# ----- prod -----------------------------------------------------------------------------------------
def _prod_rule(primals, tangents, axis, keepdims):
    """d prod(x) = Σ_i (Π_{j≠i} x_j) dx_i; the products of the others come from exclusive cumulative
    products from both ends, so zeros in x need no division."""
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    axes = normalize_axes(axis, np.ndim(x), "prod")
    out = xp.prod(x, axis=axes, keepdims=keepdims)
    if t is None:
        return out, None
    rest = [a for a in range(x.ndim) if a not in axes]
    flat = xp.transpose(x, rest + list(axes)).reshape([x.shape[a] for a in rest] + [-1])   # (*rest, m)
    ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
    tflat = xp.transpose(t, [0] + [a + 1 for a in rest] + [a + 1 for a in axes]).reshape(
        (t.shape[0],) + flat.shape)
    dout = (tflat * (left * right)).sum(axis=-1)                                              # (k, *rest)
    if keepdims:
        dout = dout.reshape((t.shape[0],) + out.shape)
    return out, dout


_prod = defprimitive("prod", _prod_rule, family="reductions", numpy=("np.prod", "Dual.prod"),
                     note="exact with zeros in x (no division)", complex=True)


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    reject("prod", dtype=dtype, out=out, initial=initial, where=where)
    return bind(_prod, a, axis=axis, keepdims=keepdims)

# ----- max, min -------------------------------------------------------------------------------------
def _extremum_rule(reduce):
    def rule(primals, tangents, axis, keepdims):
        (x,), (t,) = primals, tangents
        axes = normalize_axes(axis, np.ndim(x), reduce.__name__)
        out = reduce(x, axis=axes, keepdims=keepdims)
        if t is None:
            return out, None
        hit = x == _keep(out, axes, keepdims)                       # all positions attaining the extremum
        weight = hit / hit.sum(axis=axes, keepdims=True)            # ties share the tangent equally
        return out, (t * weight.astype(x.dtype, copy=False)).sum(axis=tangent_axes(axes), keepdims=keepdims)
    return rule


_max = defprimitive("max", _extremum_rule(np.max), family="reductions", numpy=("np.max", "np.amax", "Dual.max"),
                    complex=True,
                    note="ties split the tangent equally among the maxima")
_min = defprimitive("min", _extremum_rule(np.min), family="reductions", numpy=("np.min", "np.amin", "Dual.min"),
                    complex=True,
                    note="ties split the tangent equally among the minima")


@implements(np.max, np.amax)
def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    reject("max", out=out, initial=initial, where=where)
    return bind(_max, a, axis=axis, keepdims=keepdims)


@implements(np.min, np.amin)
def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    reject("min", out=out, initial=initial, where=where)
    return bind(_min, a, axis=axis, keepdims=keepdims)

# ----- var, std ---------------------------------------------------------------------------------------
def _var_rule(primals, tangents, axis, ddof, keepdims):
    """d var = 2/(N − ddof) Σ Re(conj(x − mean) dx)   (the mean's own tangent drops out: Σ (x − mean) = 0).

    For complex x the variance is the mean of |x − mean|², a real number with a real tangent."""
    (x,), (t,) = primals, tangents
    axes = normalize_axes(axis, np.ndim(x), "var")
    centered = x - x.mean(axis=axes, keepdims=True)
    scale = 1.0 / (_count(x.shape, axes) - ddof)
    if np.iscomplexobj(x):
        out = np.real(centered * np.conj(centered)).sum(axis=axes, keepdims=keepdims) * scale
        if t is None:
            return out, None
        return out, np.real(t * np.conj(centered)).sum(axis=tangent_axes(axes), keepdims=keepdims) * (2 * scale)
    out = (centered * centered).sum(axis=axes, keepdims=keepdims) * scale
    if t is None:
        return out, None
    return out, (t * centered).sum(axis=tangent_axes(axes), keepdims=keepdims) * (2 * scale)


def _std_rule(primals, tangents, axis, ddof, keepdims):
    """d std = d var / (2 std): infinite where std = 0 over two or more values (the square root has no
    derivative there), but 0 for a single value, whose std is identically 0."""
    var, dvar = _var_rule(primals, tangents, axis, ddof, keepdims)
    if _count(np.shape(primals[0]), normalize_axes(axis, np.ndim(primals[0]), "std")) == 1:
        return np.sqrt(innermost(var)), None                      # a constant 0 (NaN where ddof = 1, as NumPy)
    out = np.sqrt(var)
    return out, None if dvar is None else dvar * (0.5 / out)


_var = defprimitive("var", _var_rule, family="reductions", numpy=("np.var", "Dual.var"), complex=True,
                    note="complex x: mean |x − mean|² (real)")
_std = defprimitive("std", _std_rule, family="reductions", numpy=("np.std", "Dual.std"), complex=True,
                    note="infinite where std = 0 over several values; 0 for a single value")


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None, correction=None):
    reject("var", dtype=dtype, out=out, where=where, mean=mean)
    return bind(_var, a, axis=axis, ddof=ddof if correction is None else correction, keepdims=keepdims)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None, correction=None):
    reject("std", dtype=dtype, out=out, where=where, mean=mean)
    return bind(_std, a, axis=axis, ddof=ddof if correction is None else correction, keepdims=keepdims)

# ----- logsumexp ------------------------------------------------------------------------------------
def _logsumexp_rule(primals, tangents, axis, keepdims):
    """out = m + log Σ exp(x − m) with m the max (stable); d out = Σ softmax(x) dx."""
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    axes = normalize_axes(axis, np.ndim(x), "logsumexp")
    m = x.max(axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    e = xp.exp(x - m)
    s = e.sum(axis=axes, keepdims=True)
    out_keep = xp.log(s) + m
    out = out_keep if keepdims else out_keep.squeeze(axis=axes)
    if t is None:
        return out, None
    return out, (t * (e / s)).sum(axis=tangent_axes(axes), keepdims=keepdims)


_logsumexp = defprimitive("logsumexp", _logsumexp_rule, family="reductions", kind="fused",
                          numpy=("scipy.special.logsumexp (as dg.logsumexp)",),
                          note="softmax computed once and reused for the tangent; b= and return_sign= as SciPy's, "
                               "composed from exp, sum and log")


def logsumexp(x, axis=None, keepdims=False, *, b=None, return_sign=False):
    """log Σ exp(x) over ``axis``, computed stably; its tangent is Σ softmax(x)·dx.

    As ``scipy.special.logsumexp``: ``b`` scales the terms (b may be a Dual), and ``return_sign=True`` returns
    (log |s|, the sign of s) for s = Σ b·exp(x): ±1 as a plain array, s/|s| (a Dual) for complex values;
    without it a negative s gives NaN. Those are composed from exp, sum and log: m + log |Σ b·exp(x − m)|
    with m the largest real part of x.
    """
    if b is None and not return_sign:
        return bind(_logsumexp, x, axis=axis, keepdims=keepdims)
    if b is not None:
        shape = np.broadcast_shapes(np.shape(x), np.shape(b))
        x, b = np.broadcast_to(x, shape), np.broadcast_to(b, shape)
    axes = normalize_axes(axis, np.ndim(x), "logsumexp")
    values = innermost(x)
    xp = namespace(values)
    m = max_or(values.real, axes, -np.inf)      # a constant shift: the sum does not depend on it
    m = xp.where(xp.isfinite(m), m, 0)
    terms = np.exp(x - m) if b is None else b * np.exp(x - m)
    s = np.sum(terms, axis=axes, keepdims=True)
    out = (np.log(np.abs(s)) if return_sign else np.log(s)) + m
    out = out if keepdims else np.squeeze(out, axis=axes)
    if not return_sign:
        return out
    sign = s / np.abs(s) if np.iscomplexobj(innermost(s)) else xp.sign(innermost(s))   # real: ±1, plain
    return out, sign if keepdims else np.squeeze(sign, axis=axes)

# ----- cumsum -----------------------------------------------------------------------------------------
def _cumsum_rule(primals, tangents, axis):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    if axis is None:
        out = xp.cumsum(x)
        return out, None if t is None else xp.cumsum(t.reshape(t.shape[0], -1), axis=1)
    axis = normalize_axes(axis, np.ndim(x), "cumsum")[0]
    return xp.cumsum(x, axis=axis), None if t is None else xp.cumsum(t, axis=axis + 1)


_cumsum = defprimitive("cumsum", _cumsum_rule, family="reductions", kind="linear",
                       numpy=("np.cumsum", "Dual.cumsum"), complex=True)


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    reject("cumsum", dtype=dtype, out=out)
    return bind(_cumsum, a, axis=axis)

# ----- cumprod ----------------------------------------------------------------------------------------
def _cumprod_rule(primals, tangents, axis):
    """y_i = y_{i−1} x_i, so dy_i = dy_{i−1} x_i + y_{i−1} dx_i: exact with zeros in x (no division);
    one vectorised step per position along the axis."""
    (x,), (t,) = primals, tangents
    if axis is None:
        x, t, axis = np.ravel(x), None if t is None else t.reshape(t.shape[0], -1), 0
    axis = normalize_axes(axis, np.ndim(x), "cumprod")[0]
    out = np.cumprod(x, axis=axis)
    if t is None:
        return out, None
    xs, ys, ts = np.moveaxis(x, axis, 0), np.moveaxis(out, axis, 0), np.moveaxis(t, axis + 1, 1)
    steps = [ts[:, 0]]
    for i in range(1, xs.shape[0]):
        steps.append(steps[-1] * xs[i] + ts[:, i] * ys[i - 1])
    return out, np.moveaxis(np.stack(steps, axis=1), 1, axis + 1)


_cumprod = defprimitive("cumprod", _cumprod_rule, family="reductions", numpy=("np.cumprod", "Dual.cumprod"),
                        complex=True, note="exact with zeros in x (a recurrence, no division)")


@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    reject("cumprod", dtype=dtype, out=out)
    return bind(_cumprod, a, axis=axis)


__all__ = ["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "cumsum", "cumprod"]
