"""Estimators: samplers, aggregations, forward_gradient, and their statistics against exact theory.

Statistical tests use fixed seeds and tolerances of Z standard errors of the Monte-Carlo mean (never a
hand-tuned constant), so a wrong formula or estimator fails them while a correct one passes.
"""
import math
import os
import pathlib
import warnings

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad import backend
from dualgrad import estimators as est
from dualgrad.errors import InvalidArgumentError, NonFiniteError
from dualgrad.estimators import theory

Z = 5.0   # standard errors allowed between a Monte-Carlo mean and its exact value


def draws(n, k, samples, seed, sampler="normal", **options):
    """Monte-Carlo draws: tangents (samples, k, n) and the fixed gradient ∇f (a random unit vector)."""
    rng = np.random.default_rng(seed)
    grad = rng.standard_normal(n)
    grad /= np.linalg.norm(grad)
    Vs = np.stack([est.sample_tangents(k, n, sampler, rng, **options) for _ in range(samples)])
    return Vs, grad


def estimates(Vs, grad, method):
    return np.stack([est.aggregate(V, V @ grad, method) for V in Vs])


def cosines(G, grad):
    return G @ grad / (np.linalg.norm(G, axis=1) * np.linalg.norm(grad))


def assert_mean_matches(samples, expected, what):
    """Every coordinate of the sample mean within Z standard errors of its expectation."""
    samples = np.asarray(samples)
    se = samples.std(axis=0, ddof=1) / math.sqrt(len(samples))
    dev = np.abs(samples.mean(axis=0) - expected)
    assert np.all(dev <= Z * se + 1e-12), f"{what}: max deviation {np.max(dev / (se + 1e-300)):.1f} SE"


# ----- bias -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, k", [(8, 1), (8, 3), (20, 5)])
def test_mean_is_unbiased_sum_biased_by_k_projection_by_k_over_n(n, k):
    Vs, grad = draws(n, k, 4000, seed=n + k)
    assert_mean_matches(estimates(Vs, grad, "mean"), grad, "mean")
    assert_mean_matches(estimates(Vs, grad, "sum"), k * grad, "sum")
    projection = estimates(Vs, grad, "projection")
    assert_mean_matches(projection, k / n * grad, "projection")
    assert_mean_matches(n / k * projection, grad, "rescaled projection")


def test_the_bias_tests_can_fail():
    """The same test rejects a wrong expectation: the projection is NOT unbiased for k < n."""
    Vs, grad = draws(8, 3, 4000, seed=11)
    with pytest.raises(AssertionError):
        assert_mean_matches(estimates(Vs, grad, "projection"), grad, "projection")


# ----- per-draw geometry ------------------------------------------------------------------------------
@pytest.mark.parametrize("n, k", [(10, 1), (10, 3), (50, 20), (6, 6), (5, 9)])
def test_projection_cosine_dominates_mean_for_every_draw(n, k):
    Vs, grad = draws(n, k, 300, seed=3)
    c_proj, c_mean = cosines(estimates(Vs, grad, "projection"), grad), cosines(estimates(Vs, grad, "mean"), grad)
    assert np.all(c_proj >= c_mean - 1e-12)
    if k == 1:
        np.testing.assert_allclose(c_proj, c_mean, rtol=1e-12)
    if k >= n:
        np.testing.assert_allclose(estimates(Vs, grad, "projection"), np.broadcast_to(grad, (300, n)), atol=1e-10)


# ----- Monte-Carlo against exact theory -------------------------------------------------------------------
GRID = [(1, 1), (4, 1), (16, 4), (64, 16), (64, 64), (256, 16), (100, 150)]


@pytest.mark.parametrize("n, k", GRID)
@pytest.mark.parametrize("method", ["projection", "mean", "sum"])
def test_cosine_and_norm_ratio_match_theory(n, k, method):
    Vs, grad = draws(n, k, 1500, seed=7 * n + k)
    G = estimates(Vs, grad, method)
    assert_mean_matches(cosines(G, grad), theory.expected_cosine(n, k, method), f"E[cos] {method}")
    ratio = np.linalg.norm(G, axis=1)
    assert_mean_matches(ratio, theory.expected_norm_ratio(n, k, method), f"E[norm ratio] {method}")
    assert_mean_matches(ratio ** 2, theory.expected_squared_norm_ratio(n, k, method), f"E[norm²] {method}")
    if method in ("mean", "projection"):
        mse = np.sum((G - grad) ** 2, axis=1)
        assert_mean_matches(mse, theory.mean_squared_error(n, k, method), f"MSE {method}")
    if method == "projection" and k <= n:
        mse = np.sum((n / k * G - grad) ** 2, axis=1)
        assert_mean_matches(mse, theory.mean_squared_error(n, k, "rescaled_projection"), "MSE rescaled")


@pytest.mark.parametrize("n, k, method", [(16, 4, "projection"), (64, 16, "projection"), (16, 4, "mean"),
                                          (64, 16, "mean"), (30, 1, "mean")])
def test_cosine_squared_follows_its_beta_law(n, k, method):
    Vs, grad = draws(n, k, 2000, seed=5 * n + k)
    c2 = cosines(estimates(Vs, grad, method), grad) ** 2
    law = theory.cosine_squared_distribution(n, k, method)
    assert scipy.stats.kstest(c2, law.cdf).pvalue > 1e-3
    wrong = scipy.stats.beta(k / 2, (n - k) / 2 if method == "mean" else (n - 1) / 2)
    if k > 1:
        assert scipy.stats.kstest(c2, wrong.cdf).pvalue < 1e-3, "the KS test must be able to tell the laws apart"


def test_the_cosine_table_of_the_paper_page_is_the_theory_rounded():
    # docs/paper.md, section 3: E[cos] "projection/mean" per k (rows) and n (columns), 3 decimals
    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "paper.md").read_text()
    table = page.split("E[cos], projection / mean")[1].split("\n\n")[1].splitlines()
    ns = [int(n) for n in table[0].strip("|").split("|")[1:]]
    cells = 0
    for line in table[2:]:
        k, *entries = [c.strip() for c in line.strip("|").split("|")]
        for n, entry in zip(ns, entries, strict=True):
            proj, mean = (float(v) for v in entry.split("/"))
            assert theory.expected_cosine(n, int(k), "projection") == pytest.approx(proj, abs=5.1e-4), (n, k)
            assert theory.expected_cosine(n, int(k), "mean") == pytest.approx(mean, abs=5.1e-4), (n, k)
            cells += 1
    assert cells == 42
    assert theory.expected_norm_ratio(4096, 16, "mean") == pytest.approx(15.8, abs=0.05)
    assert theory.expected_cosine(64, 64, "mean") == pytest.approx(0.709, abs=1e-3)


# ----- custom angles (paper §4.3) -----------------------------------------------------------------------
def test_projection_is_invariant_to_the_angle_while_the_mean_degrades():
    n, k = 64, 16
    mean_cos = {}
    for angle in (15, 45, 90):
        Vs, grad = draws(n, k, 800, seed=angle, sampler="angle", angle=angle)
        assert_mean_matches(cosines(estimates(Vs, grad, "projection"), grad),
                            theory.expected_cosine(n, k, "projection"), f"projection at {angle} degrees")
        mean_cos[angle] = cosines(estimates(Vs, grad, "mean"), grad)
    for lo, hi in ((15, 45), (45, 90)):
        a, b = mean_cos[lo], mean_cos[hi]
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert b.mean() - a.mean() > Z * se, f"mean cos should grow from {lo} to {hi} degrees"


# ----- samplers -------------------------------------------------------------------------------------------
def test_samplers():
    rng = np.random.default_rng(0)
    V = est.sample_tangents(5, 12, "angle", rng, angle=30)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1)
    np.testing.assert_allclose(np.degrees(np.arccos(V[1:] @ V[0])), 30)
    V = est.sample_tangents(4, 9, "orthonormal", rng)
    np.testing.assert_allclose(V @ V.T, np.eye(4), atol=1e-12)
    assert set(np.unique(est.sample_tangents(3, 50, "rademacher", rng))) == {-1.0, 1.0}
    np.testing.assert_array_equal(est.sample_tangents(4, 3, "basis", rng), np.eye(4, 3))
    V = est.sample_tangents(4, 10, "varying_length", rng, max_length=3.0)
    lengths = np.linalg.norm(V, axis=1)
    assert np.all((lengths >= 1) & (lengths <= 3)) and np.count_nonzero(V) == 4
    assert len({int(np.flatnonzero(row)[0]) for row in V}) == 4
    np.testing.assert_allclose(np.linalg.norm(est.sample_tangents(3, 7, "normal", rng, normalize=True), axis=1), 1)
    assert est.sample_tangents(2, (3, 4), "normal", rng).shape == (2, 3, 4)
    assert est.sample_tangents(2, 5, "normal", rng, dtype=np.float32).dtype == np.float32


def test_same_seed_same_tangents_and_resampling():
    a = est.sample_tangents(3, 8, "normal", np.random.default_rng(42))
    b = est.sample_tangents(3, 8, "normal", np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    for seed in range(20):
        V = est.sample_tangents(3, 3, "rademacher", np.random.default_rng(seed), resample=10)
        assert np.linalg.matrix_rank(V) == 3


def test_float32_normal_tangents_are_standard_normal():
    """The Box–Muller sampler (float32, large draws): KS against N(0, 1), the first four moments and the tail mass
    within Z standard errors, and the two numbers of a pair (the two halves of a block) uncorrelated,
    also in their squares (a dependent pair would share its radius)."""
    n = 1 << 21
    z = est.sample_tangents(1, n, "normal", np.random.default_rng(3), dtype=np.float32)[0].astype(np.float64)
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-4
    for power, moment in ((1, 0.0), (2, 1.0), (3, 0.0), (4, 3.0)):
        assert_mean_matches(z[:, None] ** power, [moment], f"E[z^{power}]")
    for cut in (2.0, 3.0, 4.0):
        assert_mean_matches((np.abs(z) > cut)[:, None].astype(float), [2 * scipy.stats.norm.sf(cut)], f"P(|z| > {cut})")
    first, second = z[:n // 2], z[n // 2:]
    for a, b in ((first, second), (first ** 2, second ** 2)):
        assert abs(np.corrcoef(a, b)[0, 1]) < Z / math.sqrt(n // 2)


def test_float32_normal_tangents_depend_on_the_seed_only_not_on_the_threads(monkeypatch):
    """However many threads fill the blocks, and whatever BLAS's thread count, the same numbers."""
    from threadpoolctl import threadpool_limits
    shape = (3, est.gaussian.GAUSSIAN_BLOCK + 5)                 # several blocks, an odd last one
    draws_ = []
    for workers, blas in ((1, 1), (2, 1), (3, 2), (8, 1)):
        monkeypatch.setattr(est.gaussian, "draw_workers", lambda workers=workers: workers)
        with threadpool_limits(blas):
            draws_.append(est.sample_tangents(*shape, "normal", np.random.default_rng(11), dtype=np.float32))
    for other in draws_[1:]:
        np.testing.assert_array_equal(other, draws_[0])
    assert draws_[0].dtype == np.float32 and np.all(np.isfinite(draws_[0]))
    assert not np.array_equal(draws_[0], est.sample_tangents(*shape, "normal", np.random.default_rng(12),
                                                            dtype=np.float32))
    small = est.sample_tangents(3, 10, "normal", np.random.default_rng(11), dtype=np.float32)   # NumPy's own
    np.testing.assert_array_equal(small, np.random.default_rng(11).standard_normal((3, 10), dtype=np.float32))


def test_the_draw_workers_do_not_follow_blas():
    """One-threaded BLAS (as fit runs) leaves the draw all the cores this process may use."""
    from threadpoolctl import threadpool_limits
    counts = []
    for blas in (1, 2):
        with threadpool_limits(blas):
            counts.append(est.gaussian.draw_workers())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert counts == [min(backend.MAX_WORKERS, cores)] * 2


@pytest.mark.parametrize("size", [7, 8, 1 << 10])
def test_box_muller_numbers_do_not_depend_on_its_pass_size(monkeypatch, size):
    """The arithmetic runs BOX_MULLER_PAIRS pairs at a time; the numbers must be those of one pass over the
    whole block (odd and even lengths: the second half is one shorter for an odd one)."""
    for m in (1, 2, 15, 16, 2049):
        whole = np.empty(m, np.float32)
        est.gaussian._box_muller(np.random.Generator(np.random.SFC64(m)), whole)
        monkeypatch.setattr(est.gaussian, "BOX_MULLER_PAIRS", size)
        passes = np.empty(m, np.float32)
        est.gaussian._box_muller(np.random.Generator(np.random.SFC64(m)), passes)
        monkeypatch.undo()
        np.testing.assert_array_equal(passes, whole)
        assert np.all(np.isfinite(whole))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rademacher_tangents_are_fair_independent_signs(dtype):
    V = est.sample_tangents(4, 100_003, "rademacher", np.random.default_rng(5), dtype=dtype)
    assert V.dtype == dtype and set(np.unique(V)) == {-1.0, 1.0}
    assert_mean_matches(V.reshape(-1, 1), [0.0], "E[v]")
    assert_mean_matches((V[:, 1:] * V[:, :-1]).reshape(-1, 1), [0.0], "E[v_i v_i+1]")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sampler="gauss"), ValueError, "unknown sampler"),
    (dict(sampler="angle"), ValueError, "angle="),
    (dict(rng=None), TypeError, "default_rng"),
    (dict(rng=np.random.RandomState(0)), TypeError, "Generator"),
    (dict(sampler="orthonormal", k=9), ValueError, "k <= n"),
])
def test_sampler_errors(kwargs, error, match):
    args = dict(k=3, n_or_shape=5, sampler="normal", rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(error, match=match):
        est.sample_tangents(**args)


# ----- aggregation properties (hypothesis) -------------------------------------------------------------------
@given(n=st.integers(1, 12), k=st.integers(1, 15), B=st.integers(1, 4), seed=st.integers(0, 2**31),
       method=st.sampled_from(sorted(est.AGGREGATIONS)), dtype=st.sampled_from([np.float32, np.float64]))
def test_aggregate_shapes_dtypes_and_batch_columns(n, k, B, seed, method, dtype):
    rng = np.random.default_rng(seed)
    V = est.sample_tangents(k, n, "normal", rng, dtype=dtype)
    d = rng.standard_normal((k, B)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", est.RankDeficientTangentsWarning)
        g = est.aggregate(V, d, method)
        assert g.shape == (n, B) and g.dtype == dtype
        for b in range(B):
            single = est.aggregate(V, d[:, b], method)
            assert single.shape == (n,)
            np.testing.assert_allclose(g[:, b], single, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)


@given(n=st.integers(1, 10), extra=st.integers(0, 5), seed=st.integers(0, 2**31))
def test_projection_with_k_at_least_n_is_the_gradient(n, extra, seed):
    rng = np.random.default_rng(seed)
    grad = rng.standard_normal(n)
    V = est.sample_tangents(n + extra, n, "normal", rng)
    np.testing.assert_allclose(est.aggregate(V, V @ grad, "projection"), grad, rtol=1e-7, atol=1e-9)


def test_duplicated_tangents_warn_and_give_the_least_squares_projection():
    rng = np.random.default_rng(4)
    grad, V = rng.standard_normal(6), rng.standard_normal((3, 6))
    doubled = np.concatenate([V, V[:1]])                                   # rank 3 with k = 4
    with pytest.warns(est.RankDeficientTangentsWarning, match="3-dimensional"):
        g = est.aggregate(doubled, doubled @ grad, "projection")
    np.testing.assert_allclose(g, est.aggregate(V, V @ grad, "projection"), rtol=1e-9)


def test_projection_equals_sum_for_orthonormal_tangents_and_paper_defs():
    rng = np.random.default_rng(5)
    V, grad = est.sample_tangents(3, 7, "orthonormal", rng), rng.standard_normal(7)
    d = V @ grad
    np.testing.assert_allclose(est.aggregate(V, d, "projection"), est.aggregate(V, d, "sum"), atol=1e-12)
    V = rng.standard_normal((4, 7))
    d = V @ grad
    j = np.argmax(np.abs(d))
    np.testing.assert_allclose(est.aggregate(V, d, "max"), d[j] * V[j])
    c = np.abs(d) / np.linalg.norm(V, axis=1)
    np.testing.assert_allclose(est.aggregate(V, d, "max_normalized"), d[np.argmax(c)] * V[np.argmax(c)])
    keep = c >= c.max() - 0.1
    np.testing.assert_allclose(est.aggregate(V, d, "mean_of_top_k"), (V[keep].T @ d[keep]) / 4)


def test_aggregate_errors():
    with pytest.raises(InvalidArgumentError, match="unknown method 'median'"):
        est.aggregate(np.ones((2, 3)), np.ones(2), "median")
    with pytest.raises(ValueError, match=r"\(k,\) or \(k, B\) with k = 2"):
        est.aggregate(np.ones((2, 3)), np.ones(3), "mean")
    with pytest.raises(ValueError, match=r"\(k, n\)"):
        est.aggregate(np.ones((2, 3, 1)), np.ones(2), "mean")


def test_scaling_correction_makes_the_expected_norm_right():
    n, k = 64, 8
    Vs, grad = draws(n, k, 1500, seed=9)
    G = np.stack([est.aggregate(V, V @ grad, "projection", scaling_correction=True,
                                expected_tangent_length=math.sqrt(n)) for V in Vs])
    assert_mean_matches(np.linalg.norm(G, axis=1), 1.0, "corrected projection norm")
    assert est.scaling_correction_factor("sum", 4, 10, 1.0) == pytest.approx(
        est.scaling_correction_factor("mean", 4, 10, 1.0) / 4)


# ----- forward_gradient -------------------------------------------------------------------------------------
def test_forward_gradient_uses_one_pass_and_handles_pytrees():
    rng = np.random.default_rng(6)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((5, 3))

    def loss(p):
        return np.sum((np.tanh(x @ p["w"] + p["b"])) ** 2)

    value, g, V, d = est.forward_gradient(loss, params, k=8, method="projection", rng=rng, return_tangents=True)
    assert set(g) == {"w", "b"} and g["w"].shape == (3, 2) and V.shape == (8, 8)
    exact = dg.jacfwd(lambda w, b: loss({"w": w, "b": b}), argnums=(0, 1))(params["w"], params["b"])
    np.testing.assert_allclose(g["w"], exact[0], rtol=1e-8)                # k = n: the exact gradient
    np.testing.assert_allclose(g["b"], exact[1], rtol=1e-8)
    flat = np.concatenate([exact[0].ravel(), exact[1].ravel()])
    np.testing.assert_allclose(d, V @ flat, rtol=1e-10)


def test_forward_gradient_per_sample_values():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(4)
    A = rng.standard_normal((3, 4))
    value, g = est.forward_gradient(lambda v: (A @ v) ** 2, x, k=4, method="projection", rng=rng)
    assert value.shape == (3,) and g.shape == (4, 3)
    np.testing.assert_allclose(g, (2 * (A @ x)[:, None] * A).T, rtol=1e-8)


# ----- validation: named errors, never a NumPy-internal error or a wrong value --------------------------------
@given(n=st.integers(1, 8), extra=st.integers(1, 6), dup=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_projection_with_k_above_n_uses_every_tangent(n, extra, dup, seed):
    """k > n whose leading rows repeat: all k rows still span Rⁿ, so the projection is ∇f itself."""
    rng = np.random.default_rng(seed)
    grad, basis = rng.standard_normal(n), rng.standard_normal((n + extra, n))
    V = np.concatenate([np.repeat(basis[:1], dup, axis=0), basis])        # first rows: copies of one tangent
    np.testing.assert_allclose(est.aggregate(V, V @ grad, "projection"), grad, rtol=1e-7, atol=1e-9)


def test_projection_of_tangents_spanning_less_than_n_warns_and_projects():
    rng = np.random.default_rng(7)
    grad, V = rng.standard_normal(5), rng.standard_normal((2, 5))
    many = np.concatenate([V, V, V[::-1]])                                 # k = 6 > n = 5, rank 2
    with pytest.warns(est.RankDeficientTangentsWarning, match="2-dimensional subspace"):
        g = est.aggregate(many, many @ grad, "projection")
    np.testing.assert_allclose(g, est.aggregate(V, V @ grad, "projection"), rtol=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("method", sorted(est.AGGREGATIONS))
def test_non_finite_jvps_or_tangents_are_named_errors(bad, method):
    V, d = np.random.default_rng(0).standard_normal((3, 4)), np.ones(3)
    d[1] = bad
    with pytest.raises(NonFiniteError, match="d holds 1 NaN or Inf"):
        est.aggregate(V, d, method)
    V[2, 2] = bad
    with pytest.raises(NonFiniteError, match="V holds 1 NaN or Inf"):
        est.aggregate(V, np.ones(3), method)


@pytest.mark.parametrize("V, d, match", [
    (np.ones((0, 3)), np.ones(0), "k >= 1"),
    (np.ones((2, 0)), np.ones(2), "n >= 1"),
    (np.ones((2, 3)) + 0j, np.ones(2), "complex"),
    (np.array([["a", "b"]]), np.ones(1), "real numbers"),
    ([[1.0, 2.0], [3.0]], np.ones(2), "numeric array"),
    (np.ones((2, 3), dtype=np.longdouble), np.ones(2), "float64 or float32"),
])
def test_aggregate_refuses_empty_complex_and_ragged_inputs(V, d, match):
    with pytest.raises(InvalidArgumentError, match=match):
        est.aggregate(V, d, "projection")


def test_integer_tangents_are_promoted_like_numpy_linalg():
    V = np.array([[1, -1, 1], [1, 1, -1]])
    d = np.array([2, 3])
    for method in est.AGGREGATIONS:
        g = est.aggregate(V, d, method)
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, est.aggregate(V.astype(float), d.astype(float), method), rtol=1e-12)
    assert est.aggregate(V.astype(np.float32), d.astype(np.float64), "mean").dtype == np.float64   # never cast down


@pytest.mark.parametrize("kwargs, match", [
    (dict(angle=200), r"\[0, 180\]"), (dict(angle=-30), r"\[0, 180\]"), (dict(angle=float("nan")), r"\[0, 180\]"),
    (dict(angle=30, n_or_shape=1), "n >= 2"), (dict(k=0), "k must be an integer >= 1"),
    (dict(k=True), "k must be"), (dict(k=2.0), "k must be"), (dict(n_or_shape=0), "n_or_shape"),
    (dict(n_or_shape=(3, -1)), "n_or_shape"), (dict(dtype=np.int64), "float32 or float64"),
    (dict(dtype="complex128"), "float32 or float64"), (dict(resample=-1), "resample"),
    (dict(sampler="varying_length", max_length=0.5), "max_length >= 1"),
])
def test_sampler_arguments_are_checked(kwargs, match):
    args = dict(k=3, n_or_shape=5, sampler="angle", angle=45, rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(InvalidArgumentError, match=match):
        est.sample_tangents(**args)


@given(angle=st.floats(0, 180), k=st.integers(1, 6), n=st.integers(2, 9), seed=st.integers(0, 2**31))
def test_angle_sampler_means_what_it_says_on_all_of_0_to_180(angle, k, n, seed):
    V = est.sample_tangents(k, n, "angle", np.random.default_rng(seed), angle=angle)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1, rtol=1e-12)
    cos = V[1:] @ V[0]
    np.testing.assert_allclose(cos, math.cos(math.radians(angle)), atol=1e-12)


def test_angle_zero_is_k_copies_of_the_base():
    V = est.sample_tangents(4, 6, "angle", np.random.default_rng(1), angle=0)
    np.testing.assert_allclose(V, np.repeat(V[:1], 4, axis=0), atol=1e-15)


arrays_of_any_kind = st.one_of(
    st.integers(0, 4).flatmap(lambda k: st.integers(0, 5).flatmap(lambda n: st.sampled_from([
        np.zeros((k, n)), np.ones((k, n), np.int32), np.full((k, n), np.nan), np.eye(k, n, dtype=np.float32),
        np.ones((k,)), np.ones((k, n, 2)), np.ones((k, n)) * 1j]))),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4),
    st.sampled_from([None, "text", 3, 2.5, [[1.0], [2.0, 3.0]]]))


@given(V=arrays_of_any_kind, d=arrays_of_any_kind, method=st.sampled_from(sorted(est.AGGREGATIONS) + ["frog", "x"]),
       correct=st.booleans())
def test_aggregate_fuzz_returns_a_valid_estimate_or_a_named_error(V, d, method, correct):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", est.RankDeficientTangentsWarning)
        try:
            g = est.aggregate(V, d, method, scaling_correction=correct)
        except InvalidArgumentError:
            return
    V, d = np.asarray(V), np.asarray(d)
    assert g.shape == V.shape[1:] + d.shape[1:] and g.dtype.kind == "f"
    assert np.all(np.isfinite(g)) or (correct and not np.any(V))


@given(k=st.one_of(st.integers(-2, 5), st.floats(-1, 5), st.none()),
       n=st.one_of(st.integers(-2, 6), st.tuples(st.integers(-1, 3), st.integers(-1, 3)), st.just("4")),
       sampler=st.sampled_from(sorted(est.SAMPLERS) + ["gaussian"]),
       angle=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
       max_length=st.one_of(st.none(), st.floats(-2, 10)),
       dtype=st.sampled_from([np.float32, np.float64, np.int8, np.complex64, "f8", "bad"]))
def test_sample_tangents_fuzz_draws_or_names_the_argument(k, n, sampler, angle, max_length, dtype):
    try:
        V = est.sample_tangents(k, n, sampler, np.random.default_rng(0), angle=angle, max_length=max_length,
                                dtype=dtype)
    except InvalidArgumentError:
        return
    shape = (n,) if np.ndim(n) == 0 else tuple(n)
    assert V.shape == (k, *shape) and np.all(np.isfinite(V))
