"""OpCases for the statistics family (see tests/harness.py for the format).

Quantiles draw distinct values, so that a small step keeps the order; the nan- functions put NaN at
fixed positions (a plain mask), so that the positions they skip do not depend on the values.
"""
import numpy as np
from hypothesis import strategies as st

from .harness import OpCase, distinct, fixed, normal, one_shape, uniform

NAN_AT = np.array([[False, True, False, False], [True, False, False, True], [False, False, True, False]])


def with_nan(x):
    return np.where(NAN_AT, np.nan, x)


def q(fn, label, shapes=None, **kw):
    return OpCase("quantile", fn, fixed((3, 4)) if shapes is None else shapes, kw.pop("sample", distinct), label=label,
                  **kw)


def case(rule, fn, shapes, label, **kw):
    return OpCase(rule, fn, shapes, label=label, **kw)


CASES = [
    q(lambda x: np.median(x), "np.median", one_shape(min_dims=1)),
    q(lambda x: np.median(x, axis=0), "np.median axis 0 (even count)", fixed((4, 3))),
    q(lambda x: np.median(x, axis=(0, 2), keepdims=True), "np.median axes, keepdims", fixed((2, 3, 3))),
    # q in the values' dtype: a float64 q makes NumPy's answer float64 for float32 values
    q(lambda x: np.percentile(x, np.array([10, 50, 95], x.dtype), axis=1), "np.percentile list"),
    q(lambda x: np.quantile(x, np.array([[0.1, 0.25], [0.8, 1.0]], x.dtype), axis=-1, keepdims=True),
      "np.quantile q 2-D"),
    *[q(lambda x, m=m: np.quantile(x, np.array([0.0, 0.3, 0.62, 1.0], x.dtype), axis=0, method=m),
        f"np.quantile method {m}")
      for m in ("lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
                "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
                "normal_unbiased")],
    q(lambda x: np.nanmedian(with_nan(x), axis=1), "np.nanmedian"),
    q(lambda x: np.nanmedian(with_nan(x)), "np.nanmedian all"),
    q(lambda x: np.nanquantile(with_nan(x), np.array([0.2, 0.9], x.dtype), axis=0), "np.nanquantile"),
    q(lambda x: np.nanpercentile(with_nan(x), x.dtype.type(40), axis=1, method="hazen", keepdims=True),
      "np.nanpercentile"),
    case("sum", lambda x: np.nansum(with_nan(x), axis=0), fixed((3, 4)), "np.nansum", analytic=True),
    case("sum", lambda x: np.nansum(x, keepdims=True), one_shape(), "np.nansum without NaN", analytic=True),
    case("prod", lambda x: np.nanprod(with_nan(x), axis=1), fixed((3, 4)), "np.nanprod", sample=uniform(0.5, 1.5),
         analytic=True),
    case("cumsum", lambda x: np.nancumsum(with_nan(x), axis=1), fixed((3, 4)), "np.nancumsum", analytic=True),
    case("cumsum", lambda x: np.nancumsum(with_nan(x)), fixed((3, 4)), "np.nancumsum flat", analytic=True),
    case("max", lambda x: np.nanmax(with_nan(x), axis=1), fixed((3, 4)), "np.nanmax", sample=distinct),
    case("min", lambda x: np.nanmin(with_nan(x)), fixed((3, 4)), "np.nanmin", sample=distinct),
    case("mean", lambda x: np.nanmean(with_nan(x), axis=0, keepdims=True), fixed((3, 4)), "np.nanmean",
         analytic=True),
    case("mean", lambda x: np.nanmean(x, axis=-1), one_shape(min_dims=1), "np.nanmean without NaN", analytic=True),
    case("var", lambda x: np.nanvar(with_nan(x), axis=1), fixed((3, 4)), "np.nanvar"),
    case("var", lambda x: np.nanvar(with_nan(x), axis=0, ddof=1), fixed((3, 4)), "np.nanvar ddof=1"),
    case("var", lambda x: np.nanvar(x, axis=0), one_shape(min_dims=1), "np.nanvar without NaN"),
    case("std", lambda x: np.nanstd(with_nan(x), axis=1, keepdims=True), fixed((3, 4)), "np.nanstd"),
    case("std", lambda x: np.nanstd(with_nan(x)[:, :2], axis=1), fixed((3, 4)), "np.nanstd single value"),
    case("mean", lambda x: np.average(x, axis=0), one_shape(min_dims=1), "np.average", analytic=True),
    case("divide", lambda x, w: np.average(x, weights=w), st.sampled_from([((3,), (3,)), ((2, 3), (2, 3))]),
         "np.average weights", sample=(normal, uniform(0.5, 2.0)), analytic=True),
    case("divide", lambda x, w: np.average(x, axis=1, weights=w, returned=True), fixed((2, 3), (3,)),
         "np.average 1-D weights, returned", sample=(normal, uniform(0.5, 2.0)),
         analytic=True),
    case("divide", lambda x: np.average(x, axis=-1, weights=[0.5, 2, 1.5]), fixed((2, 3)), "np.average list weights",
         analytic=True),
    case("max", lambda x: np.ptp(x, axis=-1), one_shape(min_dims=1), "np.ptp", sample=distinct),
    case("matmul", lambda x: np.cov(x, dtype=x.dtype), fixed((3, 5)), "np.cov"),
    case("matmul", lambda x: np.cov(x, rowvar=False, bias=True, dtype=x.dtype), fixed((4, 2)), "np.cov rowvar bias"),
    case("matmul", lambda x, y: np.cov(x, y, ddof=0, dtype=x.dtype), fixed((4,), (2, 4)), "np.cov x and y"),
    case("matmul", lambda x: np.cov(x, [[1, -2, 0.5]]), fixed((2, 3)), "np.cov y a list"),
    # with weights NumPy's np.cov computes in float64 whatever the dtype (so the cases cast back)
    case("matmul", lambda x: np.cov(x, fweights=[1, 2, 1, 3], dtype=x.dtype).astype(x.dtype), fixed((2, 4)),
         "np.cov fweights"),
    case("matmul", lambda x, w: np.cov(x, aweights=w, fweights=[2, 1, 1], dtype=x.dtype).astype(x.dtype),
         fixed((2, 3), (3,)), "np.cov Dual aweights", sample=(normal, uniform(0.5, 2.0)), complex_inputs=False),
    case("divide", lambda x: np.corrcoef(x, dtype=x.dtype), fixed((3, 5)), "np.corrcoef"),
    case("divide", lambda x, y: np.corrcoef(x, y, rowvar=False, dtype=x.dtype), fixed((4, 2), (4,)),
         "np.corrcoef x and y"),
    case("divide", lambda x: np.corrcoef([1, -2, 0.5], x), fixed((3,)), "np.corrcoef x a list"),
    case("bincount", lambda w: np.bincount([3, 0, 3, 1], weights=w, minlength=6).astype(w.dtype), fixed((4,)),
         "np.bincount weights"),
    case("cumsum", lambda x: np.cumulative_sum(x, axis=1, include_initial=True), fixed((2, 3)),
         "np.cumulative_sum include_initial", analytic=True),
]
CASES += [
    case("cumprod", lambda x: np.nancumprod(with_nan(x), axis=1), fixed((3, 4)), "np.nancumprod",
         sample=uniform(0.5, 1.5), analytic=True),
    case("cumprod", lambda x: np.cumulative_prod(x, axis=0, include_initial=True), fixed((2, 3)),
         "np.cumulative_prod include_initial", analytic=True),
]
