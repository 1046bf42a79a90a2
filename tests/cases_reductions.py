"""OpCases for the reduction rules (see tests/harness.py for the format)."""
import numpy as np

import dualgrad as dg

from .harness import OpCase, distinct, fixed, normal, one_shape, uniform


def reduction_case(rule, method, sample=None, analytic=True, min_side=1, **kw):
    """Cases of np.<method> over all axes, one axis, a negative axis and a tuple, with and without keepdims."""
    cases = []
    for axis_kind, axis in (("all", None), ("axis 0", 0), ("axis -1", -1), ("axes (0,-1)", (0, -1))):
        for keep in (False, True):
            def fn(x, axis=axis, keep=keep):
                return getattr(np, method)(x, axis=axis, keepdims=keep)
            shapes = one_shape(min_dims=2, max_dims=3, min_side=min_side)
            cases.append(OpCase(rule, fn, shapes, sample or normal, analytic,
                                label=f"np.{method} {axis_kind}{' keepdims' if keep else ''}", **kw))
    return cases


CASES = []
CASES += reduction_case("sum", "sum")
CASES += reduction_case("mean", "mean")
CASES += reduction_case("prod", "prod", sample=uniform(0.5, 1.5))
CASES += reduction_case("max", "max", sample=distinct, analytic=False)
CASES += reduction_case("min", "min", sample=distinct, analytic=False)
CASES += reduction_case("var", "var", analytic=False)   # NumPy uses |x - mean|² for complex x
CASES += reduction_case("std", "std", analytic=False, min_side=2)   # std = 0 over one element
CASES += [
    OpCase("sum", lambda x: x.sum(), one_shape(), label="method", analytic=True),
    OpCase("sum", lambda x: np.sum(x, axis=1), fixed((3, 4)), label="np.sum(x, axis=1)", analytic=True),
    OpCase("mean", lambda x: x.mean(axis=0), one_shape(min_dims=1), label="method", analytic=True),
    OpCase("prod", lambda x: np.prod(x), one_shape(), uniform(0.5, 1.5), label="flat", analytic=True),
    OpCase("prod", lambda x: np.prod(x * np.array([0.0, 1.0, 2.0], dtype=x.dtype), axis=-1), fixed((2, 3)),
           label="with a zero", analytic=True),
    OpCase("max", lambda x: x.max(axis=-1), one_shape(min_dims=1), distinct, label="method"),
    OpCase("min", lambda x: np.amin(x, axis=0), one_shape(min_dims=1), distinct, label="np.amin"),
    OpCase("var", lambda x: np.var(x, axis=0, ddof=1), fixed((5, 3)), label="ddof=1"),
    OpCase("std", lambda x: x.std(axis=-1, ddof=1), fixed((2, 4)), label="method ddof=1"),
    OpCase("logsumexp", lambda x: dg.logsumexp(x), one_shape(), label="all", analytic=False),
    OpCase("logsumexp", lambda x: dg.logsumexp(x, axis=-1), one_shape(min_dims=1), label="axis -1"),
    OpCase("logsumexp", lambda x: dg.logsumexp(x, axis=(0, 1), keepdims=True), fixed((2, 3, 2)), label="keepdims"),
    OpCase("logsumexp", lambda x: dg.logsumexp(100 * x, axis=0), fixed((4, 3)), label="large values"),
    # scipy.special.logsumexp's b= (a list, or a Dual) and return_sign=, composed from exp, sum and log
    OpCase("log", lambda x: dg.logsumexp(x, axis=-1, b=[0.5, 2.0, 1.0]), fixed((2, 3)), label="logsumexp b"),
    OpCase("log", lambda x, b: dg.logsumexp(x, b=b, keepdims=True), fixed((2, 3), (3,)),
           sample=(normal, uniform(0.5, 2.0)), label="logsumexp Dual b"),
    OpCase("log", lambda x: dg.logsumexp(x, axis=0, b=[[-1.0], [0.2]], return_sign=True), fixed((2, 3)),
           sample=uniform(-0.5, 0.5), label="logsumexp return_sign"),
    OpCase("cumsum", lambda x: np.cumsum(x), one_shape(), label="flat", analytic=True),
    OpCase("cumsum", lambda x: np.cumsum(x, axis=-1), one_shape(min_dims=1), label="axis -1", analytic=True),
    OpCase("cumsum", lambda x: x.cumsum(axis=0), one_shape(min_dims=1), label="method axis 0", analytic=True),
    OpCase("cumprod", lambda x: np.cumprod(x), one_shape(), label="flat", analytic=True),
    OpCase("cumprod", lambda x: np.cumprod(x, axis=-1), one_shape(min_dims=1), label="axis -1", analytic=True),
    OpCase("cumprod", lambda x: x.cumprod(axis=0), one_shape(min_dims=1), label="method axis 0", analytic=True),
    OpCase("cumprod", lambda x: np.cumprod(x * (np.arange(x.size).reshape(x.shape) % 3 != 1)), one_shape(),
           label="zeros in x", analytic=True),
]
