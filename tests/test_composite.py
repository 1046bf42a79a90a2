"""Whole programs against finite differences: an MLP, a small conv net, and SciPy-style NumPy code."""
import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

import dualgrad as dg

rng = np.random.default_rng(3)


def rosen_numpy(x):
    """scipy.optimize.rosen as plain NumPy code."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0)


@pytest.mark.parametrize("n", [2, 5, 30])
def test_rosen_jvps_equal_the_exact_gradient(n):
    x = rng.uniform(-2, 2, n)
    V = rng.standard_normal((7, n))
    value, jvps = dg.jvp(rosen_numpy, (x,), (V,))
    assert value == pytest.approx(rosen(x), rel=1e-14)
    np.testing.assert_allclose(jvps, V @ rosen_der(x), rtol=1e-12)
    np.testing.assert_allclose(dg.jacfwd(rosen_numpy)(x), rosen_der(x), rtol=1e-12)


def init_mlp(sizes, dtype=np.float64):
    return [((rng.uniform(-1, 1, (a, b)) / np.sqrt(a)).astype(dtype), rng.uniform(-0.1, 0.1, b).astype(dtype))
            for a, b in zip(sizes[:-1], sizes[1:])]


def mlp_loss(params, x, y):
    h = x
    for i, (W, b) in enumerate(params):
        h = h @ W + b
        if i < len(params) - 1:
            h = np.tanh(h) if i % 2 else dg.relu(h)
    return dg.softmax_cross_entropy(h, y)


def test_mlp_weight_tangents_match_finite_differences():
    params = init_mlp([6, 8, 8, 3])
    x, y = rng.standard_normal((5, 6)), rng.integers(0, 3, 5)
    dg.check_jvp(lambda p: mlp_loss(p, x, y), (params,), k=5, complex_step=False)


def test_mlp_input_tangents_match_finite_differences():
    params = init_mlp([4, 5, 2])
    y = np.array([0, 1, 1])
    dg.check_jvp(lambda x: mlp_loss(params, x, y), (rng.standard_normal((3, 4)),), k=3)


def test_mlp_float32_stays_float32():
    params = init_mlp([6, 8, 3], np.float32)
    x, y = rng.standard_normal((5, 6)).astype(np.float32), rng.integers(0, 3, 5)
    tangents = [tuple(rng.standard_normal((4,) + p.shape).astype(np.float32) for p in layer) for layer in params]
    loss, t = dg.jvp(lambda p: mlp_loss(p, x, y), (params,), (tangents,))
    assert loss.dtype == np.float32 and t.dtype == np.float32 and t.shape == (4,)


def small_convnet(params, x, y):
    w1, b1, w2, b2, W, b = params
    h = dg.relu(dg.conv2d(x, w1, b1, padding=1))             # (N, 4, 6, 6)
    h = dg.max_pool2d(h, 2)                                  # (N, 4, 3, 3)
    h = np.tanh(dg.conv2d(h, w2, b2, stride=1))              # (N, 3, 1, 1)
    h = dg.avg_pool2d(h, 1).reshape(h.shape[0], -1)
    return dg.softmax_cross_entropy(h @ W + b, y)


def test_conv_net_matches_finite_differences():
    params = (rng.standard_normal((4, 2, 3, 3)) * 0.5, rng.standard_normal(4) * 0.1,
              rng.standard_normal((3, 4, 3, 3)) * 0.3, rng.standard_normal(3) * 0.1,
              rng.standard_normal((3, 5)), rng.standard_normal(5) * 0.1)
    x, y = rng.standard_normal((2, 2, 6, 6)), np.array([1, 4])
    dg.check_jvp(lambda p: small_convnet(p, x, y), (params,), k=4)
    dg.check_jvp(lambda x: small_convnet(params, x, y), (x,), k=2)
