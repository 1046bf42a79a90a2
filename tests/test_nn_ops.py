"""The nn functions against independent references, their conventions, errors and dropout's mask.

The generic property tests (tests/test_rules.py with tests/cases_nn.py) check every tangent against
finite differences; here the primal values are checked against SciPy or direct NumPy formulas, and
the behaviour that a derivative check cannot see: kinks, overflow, reductions, messages, the rng.
"""
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualgrad as dg

from .harness import BACKEND_IDS, BACKENDS

rng = np.random.default_rng(0)
floats = st.floats(-8, 8, allow_nan=False, width=64)
matrices = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5), elements=floats)
small_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=floats)


def tangent_at(f, x):
    """The derivative of an elementwise f at the points x: one jvp with the all-ones direction."""
    return dg.jvp(f, (x,), (np.ones((1,) + x.shape),))[1][0]


# ----- activations: values ----------------------------------------------------------------------------
@given(small_arrays)
def test_activations_match_closed_forms(x):
    np.testing.assert_allclose(dg.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(dg.leaky_relu(x, 0.1), np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(dg.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(dg.softplus(x), np.log1p(np.exp(x)), rtol=1e-12)
    np.testing.assert_allclose(dg.softplus(x, beta=2.0), np.log1p(np.exp(2 * x)) / 2, rtol=1e-12)
    np.testing.assert_allclose(dg.silu(x), x / (1 + np.exp(-x)), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dg.elu(x, alpha=1.5), np.where(x > 0, x, 1.5 * np.expm1(x)), rtol=1e-12)


@given(small_arrays)
def test_gelu_is_x_times_the_normal_cdf_and_tanh_form_is_pytorchs(x):
    np.testing.assert_allclose(dg.gelu(x), x * scipy.stats.norm.cdf(x), rtol=1e-12, atol=1e-300)
    torch_tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(dg.gelu(x, approximate="tanh"), torch_tanh_form, rtol=1e-12, atol=1e-300)


def test_gelu_tanh_form_approximates_the_erf_form():
    x = np.linspace(-5, 5, 101)
    assert np.max(np.abs(dg.gelu(x, approximate="tanh") - dg.gelu(x))) < 1e-3


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="approximate='sigmoid'.*'none'.*'tanh'"):
        dg.gelu(np.zeros(3), approximate="sigmoid")


# ----- activations: kinks and large inputs ----------------------------------------------------------------
def test_slopes_at_zero_follow_pytorch():
    zero = np.zeros(1)
    assert tangent_at(dg.relu, zero)[0] == 0.0
    assert tangent_at(lambda x: dg.leaky_relu(x, 0.2), zero)[0] == 0.2
    assert tangent_at(lambda x: dg.elu(x, alpha=1.5), zero)[0] == 1.5


def test_sigmoid_and_silu_do_not_overflow_for_large_inputs():
    x = np.array([-1000.0, -50.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, t = dg.jvp(dg.sigmoid, (x,), (np.ones((1, 4)),))
        _, ts = dg.jvp(dg.silu, (x,), (np.ones((1, 4)),))
    np.testing.assert_allclose(y, [0.0, np.exp(-50.0), 1.0, 1.0], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(t[0], [0.0, np.exp(-50.0), np.exp(-50.0), 0.0], rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(ts[0], [0.0, 0.0, 1.0, 1.0], atol=1e-18)


def test_softplus_is_linear_above_the_threshold():
    x = np.array([-1000.0, 5.0, 21.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, t = dg.jvp(lambda a: dg.softplus(a, beta=1.0, threshold=20.0), (x,), (np.ones((1, 4)),))
    np.testing.assert_allclose(y, [0.0, np.log1p(np.exp(5.0)), 21.0, 1000.0], atol=1e-300)
    np.testing.assert_allclose(t[0], [0.0, scipy.special.expit(5.0), 1.0, 1.0], atol=1e-300)
    # the threshold applies to beta·x: with beta = 4, x = 6 is linear, x = 4 is not
    y4 = dg.softplus(np.array([4.0, 6.0]), beta=4.0, threshold=20.0)
    np.testing.assert_allclose(y4, [np.log1p(np.exp(16.0)) / 4, 6.0], rtol=1e-12)


def test_elu_does_not_overflow_for_large_positive_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(dg.elu(np.array([1000.0])), [1000.0])


def test_scipy_expit_on_a_dual_reaches_sigmoid():
    x = rng.standard_normal(5)
    y, t = dg.jvp(scipy.special.expit, (x,), (np.ones((1, 5)),))
    s = scipy.special.expit(x)
    np.testing.assert_allclose(t[0], s * (1 - s), rtol=1e-12)


def test_plain_arrays_in_plain_arrays_out():
    x = rng.standard_normal((2, 3))
    for f in (dg.relu, dg.gelu, dg.softmax, lambda a: dg.layer_norm(a, 3), dg.batch_norm):
        assert type(f(x)) is np.ndarray


# ----- softmax, log_softmax ---------------------------------------------------------------------------
@given(matrices, st.sampled_from([0, 1, -1]))
def test_softmax_is_a_distribution_and_matches_scipy(x, axis):
    y = dg.softmax(x, axis=axis)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, scipy.special.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dg.log_softmax(x, axis=axis), scipy.special.log_softmax(x, axis=axis),
                               rtol=1e-12, atol=1e-12)


def test_softmax_tangent_keeps_the_sum_at_one():
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 3, 4))
    _, t = dg.jvp(dg.softmax, (x,), (v,))
    np.testing.assert_allclose(t.sum(axis=-1), 0.0, atol=1e-14)


def test_softmax_and_log_softmax_are_stable_for_large_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [1e4, 1e4, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = dg.softmax(x)
        logp = dg.log_softmax(x)
    np.testing.assert_allclose(y, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(logp, [[0.0, -1000.0, -2000.0], [-math.log(3)] * 3], rtol=1e-12)


# ----- softmax_cross_entropy ----------------------------------------------------------------------------
def direct_cross_entropy(z, labels):
    """−log softmax(z)[label] per row, from SciPy's softmax."""
    p = scipy.special.softmax(z, axis=-1)
    return -np.log(np.take_along_axis(p, labels[..., None], axis=-1)[..., 0])


@given(hnp.array_shapes(min_dims=2, max_dims=3, max_side=5), st.integers(0, 2**32 - 1))
def test_cross_entropy_is_minus_log_softmax_at_the_label(shape, seed):
    r = np.random.default_rng(seed)
    z, labels = r.standard_normal(shape), r.integers(0, shape[-1], shape[:-1])
    ref = direct_cross_entropy(z, labels)
    np.testing.assert_allclose(dg.softmax_cross_entropy(z, labels, reduction="none"), ref, rtol=1e-12)
    np.testing.assert_allclose(dg.softmax_cross_entropy(z, labels, reduction="sum"), ref.sum(), rtol=1e-12)
    np.testing.assert_allclose(dg.softmax_cross_entropy(z, labels), ref.mean(), rtol=1e-12)


def test_cross_entropy_reduced_tangents_equal_the_reduced_per_example_tangents():
    z, v = rng.standard_normal((4, 2, 5)), rng.standard_normal((3, 4, 2, 5))
    labels = rng.integers(0, 5, (4, 2))
    tangents = {r: dg.jvp(lambda a: dg.softmax_cross_entropy(a, labels, reduction=r), (z,), (v,))[1]
                for r in ("none", "sum", "mean")}
    assert tangents["none"].shape == (3, 4, 2)
    np.testing.assert_allclose(tangents["sum"], tangents["none"].sum(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(tangents["mean"], tangents["none"].mean(axis=(1, 2)), rtol=1e-12)
    grad = scipy.special.softmax(z, axis=-1) - np.eye(5)[labels]          # (softmax − onehot), summed
    np.testing.assert_allclose(tangents["sum"], np.einsum("kbtc,btc->k", v, grad), rtol=1e-12)


@pytest.mark.parametrize("xp", BACKENDS, ids=BACKEND_IDS)
def test_cross_entropy_mean_is_finite_for_logits_of_a_thousand(xp):
    z = np.array([[1e3, 0.0, -1e3], [0.0, 1e3, 1e3], [-1e3, -1e3, -1e3]])
    labels = np.array([0, 0, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, t = dg.jvp(lambda a: dg.softmax_cross_entropy(a, xp.asarray(labels)), (xp.asarray(z),),
                         (xp.ones((1, 3, 3)),))
    loss, t = float(loss), dg.backend.to_numpy(t)
    # per row: 0, 1000 + log 2, log 3; the tangent along all-ones is zero (softmax − onehot sums to 0)
    np.testing.assert_allclose(loss, (0 + 1000 + math.log(2) + math.log(3)) / 3, rtol=1e-12)
    np.testing.assert_allclose(t, [0.0], atol=1e-12)


def test_cross_entropy_in_float32_stays_float32():
    z = rng.standard_normal((4, 3)).astype(np.float32)
    loss, t = dg.jvp(lambda a: dg.softmax_cross_entropy(a, np.arange(4) % 3), (z,), (np.ones((2, 4, 3), np.float32),))
    assert loss.dtype == np.float32 and t.dtype == np.float32


@pytest.mark.parametrize("labels, error, message", [
    (np.array([0, 1, 2]), ValueError, r"labels of shape \(3,\) do not match logits of shape \(4, 3\); "
                                      r"expected labels of shape \(4,\)"),
    (np.eye(3)[[0, 1, 2, 0]], ValueError, r"labels of shape \(4, 3\).*argmax\(-1\)"),
    (np.array([0.0, 1.0, 2.0, 0.0]), TypeError, r"integer class indices; got dtype float64.*astype"),
    (np.array([0, 1, 3, 0]), ValueError, r"\[0, C\) = \[0, 3\).*from 0 to 3"),
    (np.array([0, -1, 2, 0]), ValueError, r"\[0, C\) = \[0, 3\).*from -1 to 2"),
    (dg.Dual(np.zeros(4)), TypeError, r"labels must be a plain integer array, not a Dual"),
])
def test_cross_entropy_rejects_bad_labels_with_the_fix(labels, error, message):
    with pytest.raises(error, match=message):
        dg.softmax_cross_entropy(rng.standard_normal((4, 3)), labels)


def test_cross_entropy_rejects_bad_logits_and_reductions():
    with pytest.raises(ValueError, match=r"shape \(B, C\).*got shape \(3,\).*logits\[None\]"):
        dg.softmax_cross_entropy(np.zeros(3), np.array(0))
    with pytest.raises(ValueError, match=r"unknown reduction 'avg'; choose 'mean', 'sum' or 'none'"):
        dg.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg")


# ----- mse ----------------------------------------------------------------------------------------------
@given(small_arrays)
def test_mse_matches_the_direct_formula(p):
    q = np.cos(p)
    np.testing.assert_allclose(dg.mse(p, q, reduction="none"), (p - q) ** 2, rtol=1e-12)
    np.testing.assert_allclose(dg.mse(p, q, reduction="sum"), np.sum((p - q) ** 2), rtol=1e-12)
    np.testing.assert_allclose(dg.mse(p, q), np.mean((p - q) ** 2), rtol=1e-12)


def test_mse_tangent_with_both_operands_dual():
    p, q, vp, vq = (rng.standard_normal(s) for s in ((3, 2), (3, 2), (4, 3, 2), (4, 3, 2)))
    _, t = dg.jvp(dg.mse, (p, q), (vp, vq))
    np.testing.assert_allclose(t, np.mean(2 * (p - q) * (vp - vq), axis=(1, 2)), rtol=1e-12)


def test_mse_does_not_broadcast():
    with pytest.raises(ValueError, match=r"pred of shape \(4, 1\) and target of shape \(4,\) differ.*reshape"):
        dg.mse(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="unknown reduction 'max'"):
        dg.mse(np.zeros(4), np.zeros(4), reduction="max")


# ----- layer_norm, batch_norm ---------------------------------------------------------------------------
def direct_norm(x, axes, w, b, eps):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@given(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
       st.integers(0, 2**32 - 1))
def test_layer_norm_matches_the_direct_formula(ns, lead, seed):
    r = np.random.default_rng(seed)
    x, w, b = r.standard_normal(lead + ns), r.standard_normal(ns), r.standard_normal(ns)
    axes = tuple(range(len(lead), len(lead) + len(ns)))
    np.testing.assert_allclose(dg.layer_norm(x, ns, w, b), direct_norm(x, axes, w, b, 1e-5), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dg.layer_norm(x, ns, eps=0.1), direct_norm(x, axes, 1, 0, 0.1), rtol=1e-10, atol=1e-12)


@given(hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), st.integers(0, 2**32 - 1))
def test_batch_norm_matches_the_direct_formula(shape, seed):
    r = np.random.default_rng(seed)
    c = shape[1]
    x, w, b = r.standard_normal(shape), r.standard_normal(c), r.standard_normal(c)
    axes = (0,) + tuple(range(2, len(shape)))
    per_channel = (c,) + (1,) * (len(shape) - 2)
    ref = direct_norm(x, axes, w.reshape(per_channel), b.reshape(per_channel), 1e-5)
    np.testing.assert_allclose(dg.batch_norm(x, w, b), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bias_dtype", [np.float32, np.float64])
def test_batch_norm_tangent_columns_match_central_differences(bias_dtype):
    """Tangents on x, weight and bias at once, k = 3, float32 x and weight, written column by column into the
    rule's own block: a float64 bias makes that block float64 (nothing is rounded to float32 on the way). Each
    column against a central difference of the direct formula in float64."""
    r = np.random.default_rng(5)
    x, w, b = (r.standard_normal(s).astype(d) for s, d in (((6, 3, 4, 5), np.float32), ((3,), np.float32),
                                                            ((3,), bias_dtype)))
    tangents = tuple(r.standard_normal((3,) + p.shape).astype(p.dtype) for p in (x, w, b))
    _, t = dg.jvp(dg.batch_norm, (x, w, b), tangents)
    assert t.dtype == bias_dtype

    def f(h, i):
        a, c, d = (np.float64(p) + h * np.float64(v[i]) for p, v in zip((x, w, b), tangents))
        return direct_norm(a, (0, 2, 3), c.reshape(3, 1, 1), d.reshape(3, 1, 1), 1e-5)
    for i in range(3):
        fd = (f(1e-6, i) - f(-1e-6, i)) / 2e-6
        np.testing.assert_allclose(t[i], fd, rtol=1e-4, atol=1e-4 * np.abs(fd).max())


def test_layer_norm_integer_normalized_shape_means_the_last_axis():
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(dg.layer_norm(x, 4), dg.layer_norm(x, (4,)))


def test_layer_norm_output_tangent_is_orthogonal_to_constants_and_xhat():
    """Without weight and bias each normalised row has mean 0 and mean square ~1: its tangent is
    orthogonal to the constant vector and (up to eps) to x̂."""
    x, v = rng.standard_normal((3, 6)), rng.standard_normal((2, 3, 6))
    y, t = dg.jvp(lambda a: dg.layer_norm(a, 6, eps=0.0), (x,), (v,))
    np.testing.assert_allclose(t.sum(axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose((t * y).sum(axis=-1), 0.0, atol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda x: dg.layer_norm(x, (3,)), r"normalized_shape \(3,\) must equal the trailing dimensions of x "
                                       r"\(shape \(2, 4\)\)"),
    (lambda x: dg.layer_norm(x, 4, weight=np.ones(3)), r"layer_norm: weight has shape \(3,\); expected \(4,\)"),
    (lambda x: dg.batch_norm(x, bias=np.ones(2)), r"batch_norm: bias has shape \(2,\); expected \(4,\)"),
    (lambda x: dg.batch_norm(x[0]), r"batch_norm: x must have shape \(N, C\).*got shape \(4,\)"),
])
def test_norms_reject_mismatched_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.zeros((2, 4)))


# ----- dropout -------------------------------------------------------------------------------------------
def test_dropout_same_rng_state_same_mask():
    x = np.ones((4, 5))
    a = dg.dropout(x, 0.5, np.random.default_rng(7))
    b = dg.dropout(x, 0.5, np.random.default_rng(7))
    r = np.random.default_rng(7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, (r.random(x.shape) >= 0.5) * 2.0)
    assert not np.array_equal(dg.dropout(x, 0.5, r), a)            # the next draw differs


@pytest.mark.parametrize("xp", BACKENDS, ids=BACKEND_IDS)
def test_dropout_mask_is_shared_by_primal_and_tangent_and_scaled(xp):
    x, v = rng.uniform(1, 2, (20, 50)), rng.standard_normal((3, 20, 50))
    y, t = dg.jvp(lambda a: dg.dropout(a, 0.3, np.random.default_rng(1)), (xp.asarray(x),), (xp.asarray(v),))
    y, t = dg.backend.to_numpy(y), dg.backend.to_numpy(t)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-12)
    np.testing.assert_allclose(t, v * np.where(kept, 1 / 0.7, 0.0), rtol=1e-12)
    assert abs(1 - kept.mean() - 0.3) < 0.05


def test_dropout_identity_when_not_training_or_p_zero_and_zero_when_p_one():
    x = dg.Dual(rng.standard_normal((2, 3)), rng.standard_normal((1, 2, 3)))
    gen = np.random.default_rng(0)
    assert dg.dropout(x, 0.5, gen, training=False) is x
    assert dg.dropout(x, 0.0, gen) is x
    zero = dg.dropout(x, 1.0, gen)
    assert not zero.primal.any() and not zero.tangent.any()


def test_dropout_keeps_float32():
    y = dg.dropout(np.ones(10, np.float32), 0.5, np.random.default_rng(0))
    assert y.dtype == np.float32


@pytest.mark.parametrize("rng_arg, p, error, message", [
    (np.random.RandomState(0), 0.5, TypeError, r"rng must be a numpy.random.Generator, got RandomState.*default_rng"),
    (None, 0.5, TypeError, r"rng must be a numpy.random.Generator, got NoneType"),
    (np.random.default_rng(0), 1.5, ValueError, r"p = 1.5 is not a probability"),
])
def test_dropout_rejects_bad_arguments(rng_arg, p, error, message):
    with pytest.raises(error, match=message):
        dg.dropout(np.ones(3), p, rng_arg)
