"""The k-tangent conv2d kernels (rules/_conv_kernels.py) against naive loops over output positions.

Both algorithms — the stacked im2col GEMM (any geometry) and Winograd F(m×m, 3×3) (3×3, stride 1; every
tile size of the table: the rule's F(4×4, 3×3) and F(2×2, 3×3)) — for every combination of tangents on
x, w and b, k ∈ {1, 3}, chunks from part of one position's batch to many whole rows, and inputs in any
memory layout. References in float64: the primal, and each
tangent column i as conv(dx_i, w) + conv(x, dw_i) + db_i (the conv is bilinear in x and w).
"""
import itertools
from functools import partial

import numpy as np
import pytest

import dualgrad as dg
from dualgrad.rules import _conv_kernels as kernels
from dualgrad.rules.conv import _conv_params

from .test_conv_ops import naive_conv2d

RNG = np.random.default_rng(7)

# (x shape, w shape, conv2d keywords); the naive reference takes the normalised parameters
GEOMETRIES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2)),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding=1)),
    ((1, 2, 5, 5), (3, 2, 2, 3), dict(padding=(2, 0))),
    ((2, 2, 8, 7), (3, 2, 3, 3), dict(dilation=2)),
    ((1, 2, 8, 7), (3, 2, 3, 2), dict(dilation=(1, 3), padding=2)),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(groups=2)),
    ((2, 3, 6, 6), (6, 1, 3, 3), dict(groups=3, padding=1)),
    ((2, 4, 9, 8), (4, 2, 3, 2), dict(stride=(2, 3), padding=1, dilation=2, groups=2)),
    ((1, 2, 6, 7), (3, 2, 4, 3), dict(padding="same", dilation=(1, 2))),
    ((3, 1, 4, 4), (2, 1, 4, 4), {}),                              # kernel = input: one output position
    ((2, 3, 5, 4), (2, 3, 1, 1), dict(stride=2)),                  # 1×1 kernel, stride 2
]
# 3×3, stride 1: the geometries Winograd takes (even and odd output sizes, every padding it meets)
WINOGRAD_GEOMETRIES = [
    ((2, 3, 6, 6), (4, 3, 3, 3), dict(padding=1)),                 # even output
    ((2, 3, 7, 5), (4, 3, 3, 3), dict(padding=1)),                 # odd output rows and columns
    ((1, 2, 7, 8), (3, 2, 3, 3), {}),                              # no padding
    ((1, 2, 5, 6), (3, 2, 3, 3), dict(padding=2)),                 # output larger than the input
    ((2, 2, 6, 5), (3, 2, 3, 3), dict(padding=(1, 0))),
    ((1, 2, 3, 3), (2, 2, 3, 3), {}),                              # a single output position
    ((1, 2, 4, 5), (3, 2, 3, 3), dict(padding="same")),
]
TANGENTS = [which for r in (1, 2, 3) for which in itertools.combinations("xwb", r)]
# Winograd with each tile size of the table
WINOGRAD = [pytest.param(partial(kernels.conv2d_winograd, m=m), id=f"winograd-F{m}") for m in kernels.WINOGRAD]
KERNELS = [pytest.param(kernels.conv2d_im2col, id="im2col")] + WINOGRAD


def _params(x, w, b, kwargs):
    return _conv_params("conv2d", x.shape, w.shape, None if b is None else b.shape, kwargs.get("stride", 1),
                        kwargs.get("padding", 0), kwargs.get("dilation", 1), kwargs.get("groups", 1))


def _reference(x, w, b, vx, vw, vb, params):
    """Primal and tangent (k, ...) from the naive loops, float64."""
    ref = (params["stride"], params["padding"], params["dilation"], params["groups"])
    out = naive_conv2d(x, w, b, *ref)
    k = next(v.shape[0] for v in (vx, vw, vb) if v is not None)
    t = np.zeros((k,) + out.shape)
    for i in range(k):
        if vx is not None:
            t[i] += naive_conv2d(vx[i], w, None, *ref)
        if vw is not None:
            t[i] += naive_conv2d(x, vw[i], None, *ref)
        if vb is not None:
            t[i] += vb[i][:, None, None]
    return out, t


def _problem(x_shape, w_shape, k, which, bias=True):
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    b = RNG.standard_normal(w_shape[0]) if bias or "b" in which else None
    tangents = [RNG.standard_normal((k,) + a.shape) if name in which and a is not None else None
                for name, a in zip("xwb", (x, w, b))]
    return (x, w, b), tangents


def _run(kernel, x, w, b, tangents, params):
    if getattr(kernel, "func", kernel) is kernels.conv2d_winograd:
        out, t = kernel(x, w, b, *tangents, params["padding"])
    else:
        out, t = kernel(x, w, b, *tangents, params["stride"], params["padding"], params["dilation"], params["groups"])
    return kernels.logical(out), None if t is None else kernels.logical(t)


def _check(kernel, x_shape, w_shape, kwargs, k, which, bias=True):
    (x, w, b), tangents = _problem(x_shape, w_shape, k, which, bias)
    params = _params(x, w, b, kwargs)
    out, t = _run(kernel, x, w, b, tangents, params)
    ref_out, ref_t = _reference(x, w, b, *tangents, params)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t, ref_t, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("which", TANGENTS, ids="".join)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", GEOMETRIES)
def test_im2col_kernel_matches_the_naive_loops(x_shape, w_shape, kwargs, k, which):
    _check(kernels.conv2d_im2col, x_shape, w_shape, kwargs, k, which)


@pytest.mark.parametrize("which", TANGENTS, ids="".join)
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("x_shape, w_shape, kwargs", WINOGRAD_GEOMETRIES)
@pytest.mark.parametrize("kernel", WINOGRAD)
def test_winograd_kernel_matches_the_naive_loops(kernel, x_shape, w_shape, kwargs, k, which):
    _check(kernel, x_shape, w_shape, kwargs, k, which)


@pytest.mark.parametrize("m", list(kernels.WINOGRAD))
def test_each_winograd_table_entry_is_a_1d_correlation(m):
    """Aᵀ [(G g) ⊙ (Bᵀ d)] is the m outputs of correlating the m + 2 inputs d with the 3 taps g, and the
    bias position is where Aᵀ e_u e_uᵀ A is the all-ones tile."""
    bt, g, at = kernels.WINOGRAD[m]
    d, taps = RNG.standard_normal(m + 2), RNG.standard_normal(3)
    np.testing.assert_allclose(at @ ((g @ taps) * (bt @ d)), np.correlate(d, taps, "valid"), rtol=1e-13, atol=1e-13)
    u, alpha = divmod(kernels._bias_position(at), m + 2)
    assert u == alpha and np.array_equal(np.outer(at[:, u], at[:, u]), np.ones((m, m)))
    assert kernels.WINOGRAD_TILE in kernels.WINOGRAD


@pytest.mark.parametrize("kernel", KERNELS)
def test_without_bias_and_without_tangents(kernel):
    x, w = RNG.standard_normal((2, 3, 6, 5)), RNG.standard_normal((4, 3, 3, 3))
    params = _params(x, w, None, dict(padding=1))
    out, t = _run(kernel, x, w, None, (None, None, None), params)
    assert t is None
    np.testing.assert_allclose(out, naive_conv2d(x, w, None, (1, 1), ((1, 1), (1, 1))), rtol=1e-12, atol=1e-12)
    _check(kernel, (2, 3, 6, 5), (4, 3, 3, 3), dict(padding=1), 2, "xw", bias=False)


# chunk budgets: part of one position's batch, a few positions, part of a row, several whole rows
@pytest.mark.parametrize("chunk_bytes", [1, 200, 2_000, 20_000, 1 << 22])
@pytest.mark.parametrize("which", ["x", "xwb"])
def test_every_chunking_gives_the_same_result(monkeypatch, chunk_bytes, which):
    monkeypatch.setattr(kernels, "CHUNK_BYTES", chunk_bytes)
    _check(kernels.conv2d_im2col, (5, 4, 7, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2),
                                                                    groups=2), 3, which)
    for m in kernels.WINOGRAD:
        _check(partial(kernels.conv2d_winograd, m=m), (5, 3, 9, 7), (4, 3, 3, 3), dict(padding=1), 3, which)


@pytest.mark.parametrize("kernel", KERNELS)
def test_worker_threads_give_the_same_bits_as_one_thread(monkeypatch, kernel):
    """The chunks are split over BLAS's thread count of workers; the result must not depend on it."""
    from threadpoolctl import threadpool_limits
    monkeypatch.setattr(kernels, "CHUNK_BYTES", 2_000)
    (x, w, b), tangents = _problem((3, 4, 9, 8), (5, 4, 3, 3), 3, "xwb")
    params = _params(x, w, b, dict(padding=1))
    results = {}
    for threads in (1, 2, 3):
        with threadpool_limits(threads):
            assert kernels.kernel_workers(np) == threads
            results[threads] = _run(kernel, x, w, b, tangents, params)
    for threads in (2, 3):
        for got, ref in zip(results[threads], results[1]):
            np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_small_conv_still_gives_every_worker_a_chunk(monkeypatch, kernel):
    """A conv whose columns fit one chunk is split into a chunk per worker (not run on one thread)."""
    from threadpoolctl import threadpool_limits
    tasks = []
    run_parallel = kernels.run_parallel
    monkeypatch.setattr(kernels, "run_parallel", lambda t: tasks.append(len(t)) or run_parallel(t))
    with threadpool_limits(2):
        _check(kernel, (4, 3, 8, 8), (4, 3, 3, 3), dict(padding=1), 2, "xwb")
    assert tasks == [2]


def test_chunks_tile_the_output_positions_once():
    """Each chunk is a contiguous range of the flattened (OH, OW, N) index; together they cover it once."""
    for max_cols in (1, 3, 5, 7, 8, 15, 16, 40, 41, 1000):
        starts = []
        for r0, r1, c0, c1, s0, s1 in kernels._position_chunks(4, 5, 2, max_cols):
            size = (r1 - r0) * (c1 - c0) * (s1 - s0)
            assert r1 - r0 == 1 or (c0, c1) == (0, 5), "several rows only when whole"
            assert (c1 - c0 == 1 or (s0, s1) == (0, 2)), "several positions only with the whole batch"
            assert size <= max(max_cols, 1)
            starts.append(((r0 * 5 + c0) * 2 + s0, size))
        covered = sorted(starts)
        assert covered[0][0] == 0 and all(a + n == b for (a, n), (b, _) in zip(covered, covered[1:]))
        assert sum(n for _, n in covered) == 4 * 5 * 2


@pytest.mark.parametrize("layout", ["nchw", "batch-last", "strided view"])
def test_any_input_layout_gives_the_same_values_and_a_batch_last_output(layout):
    (x, w, b), (vx, vw, vb) = _problem((3, 4, 7, 6), (5, 4, 3, 3), 2, "xwb")

    def arrange(a):
        if layout == "batch-last":
            return kernels.logical(np.ascontiguousarray(kernels.memory_order(a)))
        if layout == "strided view":
            big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
            big[..., ::2] = a
            return big[..., ::2]
        return a

    out, t = dg.jvp(lambda x, w, b: dg.conv2d(x, w, b, padding=1), (arrange(x), w, b), (arrange(vx), vw, vb))
    ref_out, ref_t = _reference(x, w, b, vx, vw, vb, _params(x, w, b, dict(padding=1)))
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t, ref_t, rtol=1e-12, atol=1e-12)
    assert kernels.memory_order(out).flags.c_contiguous and kernels.memory_order(t).flags.c_contiguous


@pytest.mark.parametrize("channels, expected", [(16, True), (15, False)])
def test_the_rule_takes_winograd_for_eligible_convs_with_enough_channels(monkeypatch, channels, expected):
    calls = []
    winograd = kernels.conv2d_winograd
    monkeypatch.setattr(kernels, "conv2d_winograd", lambda *a: calls.append(1) or winograd(*a))
    (x, w, b), (vx, vw, vb) = _problem((2, channels, 5, 6), (16, channels, 3, 3), 2, "xwb")
    out, t = dg.jvp(lambda x, w, b: dg.conv2d(x, w, b, padding=1), (x, w, b), (vx, vw, vb))
    assert bool(calls) is expected
    ref_out, ref_t = _reference(x, w, b, vx, vw, vb, _params(x, w, b, dict(padding=1)))
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t, ref_t, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("w_shape, stride, dilation, groups, dtype", [
    ((16, 8, 3, 3), (1, 1), (1, 1), 2, np.float64),
    ((16, 16, 3, 3), (2, 1), (1, 1), 1, np.float64),
    ((16, 16, 3, 3), (1, 1), (1, 2), 1, np.float64),
    ((16, 16, 3, 2), (1, 1), (1, 1), 1, np.float64),
    ((16, 16, 3, 3), (1, 1), (1, 1), 1, np.int64),
])
def test_winograd_is_not_taken_outside_its_domain(w_shape, stride, dilation, groups, dtype):
    x, w = np.ones((1, 16, 6, 6), dtype), np.ones(w_shape, dtype)
    assert not kernels.winograd_eligible(x, w, stride, dilation, groups)
    assert kernels.winograd_eligible(x.astype(float), np.ones((16, 16, 3, 3)), (1, 1), (1, 1), 1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_float32_stays_float32_and_is_accurate(kernel):
    (x, w, b), tangents = _problem((4, 8, 10, 9), (8, 8, 3, 3), 3, "xwb")
    params = _params(x, w, b, dict(padding=1))
    cast = [None if a is None else a.astype(np.float32) for a in (x, w, b, *tangents)]
    out, t = _run(kernel, *cast[:3], cast[3:], params)
    assert out.dtype == t.dtype == np.float32
    ref_out, ref_t = _reference(*[None if a is None else a.astype(np.float32).astype(np.float64) for a in
                                  (x, w, b, *tangents)], params)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-5 * np.abs(ref_out).max())
    np.testing.assert_allclose(t, ref_t, rtol=0, atol=1e-5 * np.abs(ref_t).max())


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("which", TANGENTS, ids="".join)
def test_k_columns_equal_k_single_columns(kernel, which):
    (x, w, b), tangents = _problem((2, 3, 7, 6), (4, 3, 3, 3), 5, which)
    params = _params(x, w, b, dict(padding=1))
    _, t = _run(kernel, x, w, b, tangents, params)
    for i in range(5):
        _, t1 = _run(kernel, x, w, b, [None if v is None else v[i:i + 1] for v in tangents], params)
        np.testing.assert_array_equal(t[i], t1[0])
