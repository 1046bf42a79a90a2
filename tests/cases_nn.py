"""OpCases for the nn rules (see tests/harness.py for the format).

Non-float arguments are built inside ``fn`` from the input shapes, deterministically: the labels are
``arange(n) % C`` and dropout draws its mask from a fresh ``default_rng(0)`` on every call, so central
differences see the same function as the jvp.
"""
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualgrad as dg

from .harness import OpCase, away_from_zero, one_shape, uniform


# ----- shape strategies ---------------------------------------------------------------------------------
def _sides(min_dims, max_dims, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _pair(shapes):
    """Two inputs of the same shape (pred, target)."""
    return shapes.map(lambda s: s[0:1] * 2)


#: logits (..., C) with at least (B, C)
logits_shapes = one_shape(min_dims=2, max_dims=3)
#: (x, weight, bias) for layer_norm: x (*lead, *normalized_shape), weight and bias normalized_shape
layer_norm_shapes = st.tuples(_sides(0, 2), _sides(1, 2)).map(lambda ln: (ln[0] + ln[1], ln[1], ln[1]))
#: (x, weight, bias) for batch_norm: x (N, C, *spatial), weight and bias (C,)
batch_norm_shapes = st.tuples(_sides(2, 2), _sides(0, 2, max_side=3)).map(
    lambda ns: (ns[0] + ns[1], ns[0][1:], ns[0][1:]))


# ----- functions with non-float arguments built from the shapes -------------------------------------------
def _labels(logits):
    """Class indices arange(n) % C for logits of shape (..., C): every class present once C <= n."""
    lead = logits.shape[:-1]
    return np.arange(math.prod(lead)).reshape(lead) % logits.shape[-1]


def _cross_entropy(reduction):
    return lambda z: dg.softmax_cross_entropy(z, _labels(z), reduction=reduction)


def _dropout(p):
    return lambda x: dg.dropout(x, p, np.random.default_rng(0))


CASES = [
    # activations, sampled away from their kinks
    OpCase("relu", dg.relu, one_shape(), away_from_zero()),
    OpCase("leaky_relu", dg.leaky_relu, one_shape(), away_from_zero()),
    OpCase("leaky_relu", lambda x: dg.leaky_relu(x, negative_slope=0.2), one_shape(), away_from_zero(),
           label="slope0.2"),
    OpCase("sigmoid", dg.sigmoid, one_shape()),
    OpCase("sigmoid", dg.sigmoid, one_shape(), uniform(-40, 40), label="wide"),
    OpCase("softplus", dg.softplus, one_shape(), uniform(-5, 5)),
    OpCase("softplus", lambda x: dg.softplus(x, beta=2.0, threshold=1.0), one_shape(), away_from_zero(0.6, 2.0),
           label="beta2-threshold1"),
    OpCase("gelu", dg.gelu, one_shape(), analytic=True),
    OpCase("gelu", lambda x: dg.gelu(x, approximate="tanh"), one_shape(), analytic=True, label="tanh"),
    OpCase("silu", dg.silu, one_shape(), uniform(-6, 6)),
    OpCase("elu", dg.elu, one_shape(), away_from_zero()),
    OpCase("elu", lambda x: dg.elu(x, alpha=1.5), one_shape(), away_from_zero(), label="alpha1.5"),
    # softmax family
    OpCase("softmax", dg.softmax, one_shape(min_dims=1), analytic=True),
    OpCase("softmax", lambda x: dg.softmax(x, axis=0), one_shape(min_dims=2), analytic=True, label="axis0"),
    OpCase("log_softmax", dg.log_softmax, one_shape(min_dims=1), analytic=True),
    OpCase("log_softmax", lambda x: dg.log_softmax(x, axis=0), one_shape(min_dims=2), analytic=True,
           label="axis0"),
    OpCase("softmax_cross_entropy", _cross_entropy("mean"), logits_shapes, analytic=True, label="mean"),
    OpCase("softmax_cross_entropy", _cross_entropy("sum"), logits_shapes, analytic=True, label="sum"),
    OpCase("softmax_cross_entropy", _cross_entropy("none"), logits_shapes, analytic=True, label="none"),
    OpCase("softmax_cross_entropy", _cross_entropy("mean"), logits_shapes, uniform(-50, 50), label="wide-logits"),
    # mse: pred and target both may carry tangents
    OpCase("mse", dg.mse, _pair(one_shape()), analytic=True, label="mean"),
    OpCase("mse", lambda p, q: dg.mse(p, q, reduction="sum"), _pair(one_shape()), analytic=True, label="sum"),
    OpCase("mse", lambda p, q: dg.mse(p, q, reduction="none"), _pair(one_shape()), analytic=True, label="none"),
    # normalisation, with and without the affine parameters
    OpCase("layer_norm", lambda x: dg.layer_norm(x, x.shape[-1:]), one_shape(min_dims=1), analytic=True,
           label="last-axis"),
    OpCase("layer_norm", lambda x, w: dg.layer_norm(x, w.shape, w), layer_norm_shapes.map(lambda s: s[:2]),
           analytic=True, label="weight"),
    OpCase("layer_norm", lambda x, w, b: dg.layer_norm(x, w.shape, w, b), layer_norm_shapes, analytic=True,
           label="weight-bias"),
    OpCase("layer_norm", lambda x, b: dg.layer_norm(x, b.shape, bias=b, eps=1e-3),
           layer_norm_shapes.map(lambda s: (s[0], s[2])), analytic=True, label="bias-eps"),
    OpCase("batch_norm", dg.batch_norm, batch_norm_shapes.map(lambda s: s[:1]), analytic=True),
    OpCase("batch_norm", dg.batch_norm, batch_norm_shapes, analytic=True, label="weight-bias"),
    OpCase("batch_norm", lambda x, b: dg.batch_norm(x, bias=b), batch_norm_shapes.map(lambda s: (s[0], s[2])),
           analytic=True, label="bias"),
    # dropout: the mask is fixed by the rng seed, so the function is linear in x
    OpCase("dropout", _dropout(0.4), one_shape(), analytic=True),
    OpCase("dropout", _dropout(1.0), one_shape(), analytic=True, label="p1"),
]
