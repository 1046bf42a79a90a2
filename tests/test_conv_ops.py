"""Conv and pool primals against naive loops over output positions, the max-pool tie convention, the
error messages, and the fused conv2d tangent against k single runs and the bilinear identity
d conv(x, w, b) = conv(dx, w) + conv(x, dw) + db."""
import math

import numpy as np
import pytest
import scipy.signal

import dualgrad as dg

RNG = np.random.default_rng(0)


# ----- naive references: explicit loops over output positions ------------------------------------------
def naive_conv2d(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """out[n, o, p, q] = b[o] + Σ_{c,i,j} w[o, c, i, j] xpad[n, group(o)·Cg + c, p·sh + i·dh, q·sw + j·dw]."""
    n, (o, cg, kh, kw) = x.shape[0], w.shape
    xpad = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    (sh, sw), (dh, dw), og = stride, dilation, o // groups
    oh = (xpad.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xpad.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for p in range(oh):
        for q in range(ow):
            patch = xpad[:, :, p * sh:p * sh + dh * (kh - 1) + 1:dh, q * sw:q * sw + dw * (kw - 1) + 1:dw]
            for g in range(groups):
                out[:, g * og:(g + 1) * og, p, q] = np.einsum(
                    "ncij,ocij->no", patch[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og])
    return out if b is None else out + b[:, None, None]


def naive_conv1d(x, w, b=None, stride=1, pad=(0, 0), dilation=1, groups=1):
    n, (o, cg, kl) = x.shape[0], w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), pad))
    og = o // groups
    ol = (xpad.shape[2] - dilation * (kl - 1) - 1) // stride + 1
    out = np.zeros((n, o, ol))
    for oo in range(o):
        g = oo // og
        for p in range(ol):
            for j in range(kl):
                out[:, oo, p] += xpad[:, g * cg:(g + 1) * cg, p * stride + j * dilation] @ w[oo, :, j]
    return out if b is None else out + b[:, None]


def naive_pool(x, kernel, stride, pad, reduce, fill):
    n, c, h, w = x.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=fill)
    oh, ow = (h + 2 * pad[0] - kernel[0]) // stride[0] + 1, (w + 2 * pad[1] - kernel[1]) // stride[1] + 1
    out = np.zeros((n, c, oh, ow))
    for p in range(oh):
        for q in range(ow):
            window = xpad[:, :, p * stride[0]:p * stride[0] + kernel[0], q * stride[1]:q * stride[1] + kernel[1]]
            out[:, :, p, q] = reduce(window, axis=(2, 3))
    return out


def naive_adaptive(x, oh, ow):
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(math.floor(i * h / oh), math.ceil((i + 1) * h / oh))
            cols = slice(math.floor(j * w / ow), math.ceil((j + 1) * w / ow))
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


# ----- conv primals -------------------------------------------------------------------------------------
# (x shape, w shape, conv2d keywords, the naive reference's explicit (stride, pads, dilation, groups))
CONV2D = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}, ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)),
    ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=2), ((2, 2), ((0, 0), (0, 0)), (1, 1), 1)),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding=1), ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)),
    ((1, 2, 5, 5), (3, 2, 2, 3), dict(padding=(2, 0)), ((1, 1), ((2, 2), (0, 0)), (1, 1), 1)),
    ((2, 2, 8, 7), (3, 2, 3, 3), dict(dilation=2), ((1, 1), ((0, 0), (0, 0)), (2, 2), 1)),
    ((1, 2, 8, 7), (3, 2, 3, 2), dict(dilation=(1, 3), padding=2), ((1, 1), ((2, 2), (2, 2)), (1, 3), 1)),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(groups=2), ((1, 1), ((0, 0), (0, 0)), (1, 1), 2)),
    ((2, 3, 6, 6), (6, 1, 3, 3), dict(groups=3, padding=1), ((1, 1), ((1, 1), (1, 1)), (1, 1), 3)),
    ((2, 4, 9, 8), (4, 2, 3, 2), dict(stride=(2, 3), padding=1, dilation=2, groups=2),
     ((2, 3), ((1, 1), (1, 1)), (2, 2), 2)),
    # 'same': total padding d·(K−1) = (3, 4), the odd one extra at the bottom, as in PyTorch
    ((1, 2, 6, 7), (3, 2, 4, 3), dict(padding="same", dilation=(1, 2)), ((1, 1), ((1, 2), (2, 2)), (1, 2), 1)),
    ((1, 2, 6, 7), (3, 2, 4, 3), dict(padding="valid"), ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)),
    ((3, 1, 4, 4), (2, 1, 4, 4), {}, ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)),    # kernel = input: 1×1 output
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("x_shape, w_shape, kwargs, ref", CONV2D)
def test_conv2d_matches_naive_loops(x_shape, w_shape, kwargs, ref, bias):
    x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
    b = RNG.standard_normal(w_shape[0]) if bias else None
    out = dg.conv2d(x, w, b, **kwargs)
    expected = naive_conv2d(x, w, b, *ref)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    if kwargs.get("padding") == "same":
        assert out.shape[2:] == x_shape[2:]


@pytest.mark.parametrize("kwargs, ref", [
    ({}, (1, (0, 0), 1, 1)),
    (dict(stride=2, padding=1), (2, (1, 1), 1, 1)),
    (dict(dilation=2, groups=2), (1, (0, 0), 2, 2)),
    (dict(padding="same", dilation=2), (1, (2, 2), 2, 1)),
    (dict(padding="same"), (1, (1, 1), 1, 1)),
])
def test_conv1d_matches_naive_loops(kwargs, ref):
    x, w, b = RNG.standard_normal((2, 4, 9)), RNG.standard_normal((6, 4 // ref[3], 3)), RNG.standard_normal(6)
    np.testing.assert_allclose(dg.conv1d(x, w, b, **kwargs), naive_conv1d(x, w, b, *ref), rtol=1e-12, atol=1e-12)


def test_conv1d_is_scipy_correlate_summed_over_channels():
    x, w = RNG.standard_normal((2, 3, 11)), RNG.standard_normal((4, 3, 4))
    expected = np.array([[sum(scipy.signal.correlate(x[n, c], w[o, c], mode="valid") for c in range(3))
                          for o in range(4)] for n in range(2)])
    np.testing.assert_allclose(dg.conv1d(x, w), expected, rtol=1e-12, atol=1e-12)


# ----- pool primals -------------------------------------------------------------------------------------
POOLS = [  # (x shape, kernel_size, stride, padding) with the naive reference's pairs
    ((2, 3, 6, 6), 2, None, 0),
    ((2, 3, 7, 5), 3, 2, 1),
    ((1, 2, 5, 7), (2, 3), 1, 0),
    ((1, 2, 6, 7), (3, 2), (2, 1), (1, 1)),
    ((1, 1, 4, 4), 4, None, 2),
]


def _pairs(kernel, stride, padding):
    kernel = kernel if isinstance(kernel, tuple) else (kernel,) * 2
    stride = kernel if stride is None else stride if isinstance(stride, tuple) else (stride,) * 2
    return kernel, stride, padding if isinstance(padding, tuple) else (padding,) * 2


@pytest.mark.parametrize("x_shape, kernel, stride, padding", POOLS)
def test_max_pool2d_matches_naive_loops(x_shape, kernel, stride, padding):
    x = RNG.standard_normal(x_shape)
    expected = naive_pool(x, *_pairs(kernel, stride, padding), np.max, -np.inf)
    np.testing.assert_array_equal(dg.max_pool2d(x, kernel, stride, padding), expected)


@pytest.mark.parametrize("x_shape, kernel, stride, padding", POOLS)
def test_avg_pool2d_matches_naive_loops(x_shape, kernel, stride, padding):
    x = RNG.standard_normal(x_shape)
    expected = naive_pool(x, *_pairs(kernel, stride, padding), np.mean, 0.0)   # count_include_pad=True
    np.testing.assert_allclose(dg.avg_pool2d(x, kernel, stride, padding), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, output_size, expected_hw", [
    ((2, 3, 7, 5), 1, (1, 1)),
    ((2, 3, 7, 5), (3, 2), (3, 2)),          # overlapping bins: 3 does not divide 7
    ((1, 2, 6, 6), 3, (3, 3)),               # disjoint bins
    ((1, 2, 3, 4), (5, 6), (5, 6)),          # more bins than cells: bins repeat cells
    ((1, 2, 6, 5), (None, 2), (6, 2)),
])
def test_adaptive_avg_pool2d_matches_pytorch_bins(x_shape, output_size, expected_hw):
    x = RNG.standard_normal(x_shape)
    out = dg.adaptive_avg_pool2d(x, output_size)
    assert out.shape == x_shape[:2] + expected_hw
    np.testing.assert_allclose(out, naive_adaptive(x, *expected_hw), rtol=1e-12, atol=1e-12)


# ----- max-pool ties: the first maximum in row-major window order ----------------------------------------
def _max_pool_tangent(x, *args):
    v = RNG.standard_normal((3,) + x.shape)
    _, t = dg.jvp(lambda x: dg.max_pool2d(x, *args), (x,), (v,))
    return v, t


def test_max_pool2d_tie_takes_the_first_maximum_in_row_major_order():
    x = np.array([[[[0.0, 5.0, 1.0, 1.0],
                    [5.0, 5.0, 1.0, 1.0],
                    [2.0, 2.0, 3.0, 0.0],
                    [2.0, 9.0, 3.0, 3.0]]]])
    v, t = _max_pool_tangent(x, 2)
    np.testing.assert_array_equal(t[:, 0, 0, 0, 0], v[:, 0, 0, 0, 1])   # 5 at (0,1) before (1,0), (1,1)
    np.testing.assert_array_equal(t[:, 0, 0, 0, 1], v[:, 0, 0, 0, 2])   # all equal: the window's first cell
    np.testing.assert_array_equal(t[:, 0, 0, 1, 0], v[:, 0, 0, 3, 1])   # a unique maximum
    np.testing.assert_array_equal(t[:, 0, 0, 1, 1], v[:, 0, 0, 2, 2])   # 3 at (2,2) before (3,2), (3,3)


def test_max_pool2d_window_of_minus_inf_takes_a_real_cell_of_the_window():
    x = np.full((1, 1, 3, 3), -np.inf)
    v, t = _max_pool_tangent(x, 3, 2, 1)
    out = dg.max_pool2d(x, 3, 2, 1)
    assert np.all(out == -np.inf)
    np.testing.assert_array_equal(t[:, 0, 0, 0, 0], v[:, 0, 0, 0, 0])   # the first real cell, as in PyTorch
    np.testing.assert_array_equal(t[:, 0, 0, 1, 1], v[:, 0, 0, 1, 1])


# ----- the fused conv2d tangent ---------------------------------------------------------------------------
def _seeded(k, shapes):
    return [RNG.standard_normal(s) for s in shapes], [RNG.standard_normal((k,) + s) for s in shapes]


FUSED = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)


def test_conv2d_tangent_is_the_bilinear_identity():
    (x, w, b), (vx, vw, vb) = _seeded(4, [(2, 4, 7, 6), (6, 2, 3, 2), (6,)])
    _, t = dg.jvp(lambda x, w, b: dg.conv2d(x, w, b, **FUSED), (x, w, b), (vx, vw, vb))
    ref = ((2, 1), ((1, 1), (1, 1)), (1, 2), 2)
    for col in range(4):
        expected = naive_conv2d(vx[col], w, vb[col], *ref) + naive_conv2d(x, vw[col], None, *ref)
        np.testing.assert_allclose(t[col], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("which", [(0,), (1,), (2,), (0, 1), (0, 1, 2)])
def test_conv2d_k_columns_equal_k_single_runs(which):
    k = 5
    primals, vs = _seeded(k, [(2, 4, 7, 6), (6, 2, 3, 2), (6,)])
    tangents = [v if i in which else None for i, v in enumerate(vs)]
    f = lambda x, w, b: dg.conv2d(x, w, b, **FUSED)
    _, t = dg.jvp(f, tuple(primals), tuple(tangents))
    for col in range(k):
        _, t1 = dg.jvp(f, tuple(primals), tuple(None if v is None else v[col:col + 1] for v in tangents))
        np.testing.assert_allclose(t[col], t1[0], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_outputs_are_batch_last_and_keep_the_dtype(dtype):
    """The outputs are stored batch-last (memory (O, OH, OW, N) and (k, O, OH, OW, N), rules/_conv_kernels.py)."""
    (x, w, b), (vx, vw, vb) = _seeded(3, [(2, 4, 7, 6), (6, 2, 3, 2), (6,)])
    cast = [a.astype(dtype) for a in (x, w, b, vx, vw, vb)]
    out, t = dg.jvp(lambda x, w, b: dg.conv2d(x, w, b, **FUSED), tuple(cast[:3]), tuple(cast[3:]))
    assert out.dtype == t.dtype == dtype
    assert out.transpose(1, 2, 3, 0).flags.c_contiguous and t.transpose(0, 2, 3, 4, 1).flags.c_contiguous


@pytest.mark.parametrize("view", [lambda a: a[..., ::-1, :], lambda a: a[..., ::2], np.asfortranarray])
def test_strided_views_give_the_same_values_as_contiguous_copies(view):
    x, w, v = RNG.standard_normal((2, 3, 7, 8)), RNG.standard_normal((4, 3, 3, 2)), RNG.standard_normal((3, 2, 3, 7, 8))
    xv, vv = view(x), view(v)
    for f in (lambda x: dg.conv2d(x, w, stride=2, padding=1), lambda x: dg.max_pool2d(x, 3, 2, 1),
              lambda x: dg.avg_pool2d(x, 2, padding=1), lambda x: dg.adaptive_avg_pool2d(x, 3)):
        out, t = dg.jvp(f, (xv,), (vv,))
        ref_out, ref_t = dg.jvp(f, (np.ascontiguousarray(xv),), (np.ascontiguousarray(vv),))
        np.testing.assert_allclose(out, ref_out, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(t, ref_t, rtol=1e-13, atol=1e-13)


def test_plain_arrays_give_plain_arrays_and_constants_give_no_tangent():
    x, w = RNG.standard_normal((1, 2, 5, 5)), RNG.standard_normal((3, 2, 3, 3))
    assert isinstance(dg.conv2d(x, w), np.ndarray)
    out = dg.conv2d(dg.Dual(x), w)
    assert isinstance(out, dg.Dual) and out.tangent is None
    for pool in (dg.max_pool2d(dg.Dual(x), 2), dg.avg_pool2d(dg.Dual(x), 2), dg.adaptive_avg_pool2d(dg.Dual(x), 2)):
        assert pool.tangent is None


# ----- error messages -------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda: dg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 2, 3, 3))), ValueError,
     r"x has C=3 channels .* expects w.shape\[1\]·groups = 2; w must have the shape .*\(4, 3, \.\.\.\)"),
    (lambda: dg.conv2d(np.ones((2, 4, 5, 5)), np.ones((4, 1, 3, 3)), groups=2), ValueError,
     r"expects w.shape\[1\]·groups = 2; w must have the shape \(O, C/groups, \.\.\.\) = \(4, 2, \.\.\.\)"),
    (lambda: dg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 1, 3, 3)), groups=2), ValueError,
     r"groups=2 must divide the input channels C=3"),
    (lambda: dg.conv2d(np.ones((2, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2), ValueError,
     r"groups=2 must divide .* output channels O=3"),
    (lambda: dg.conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), groups=0), ValueError,
     r"groups must be a positive int"),
    (lambda: dg.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 5, 5)), padding=0), ValueError,
     r"kernel \(5, 5\) .* larger than the padded input \(3, 3\)"),
    (lambda: dg.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), dilation=3), ValueError,
     r"spans \(7, 7\), larger than the padded input \(5, 5\)"),
    (lambda: dg.conv2d(np.ones((3, 5, 5)), np.ones((1, 3, 3, 3))), ValueError,
     r"conv2d: x must be 4-D \(N, C, H, W\); got shape \(3, 5, 5\)\. For a single sample use x\[None\]"),
    (lambda: dg.conv2d(np.ones((1, 3, 5, 5)), np.ones((3, 3, 3))), ValueError, r"conv2d: w must be 4-D"),
    (lambda: dg.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.ones(3)), ValueError,
     r"bias b must have shape \(O,\) = \(4,\)"),
    (lambda: dg.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=2, padding="same"), ValueError,
     r"padding='same' needs stride 1"),
    (lambda: dg.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3)), padding="full"), ValueError,
     r"padding must be an int, a sequence of 2 ints, 'same' or 'valid'"),
    (lambda: dg.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=0), ValueError, r"stride must be >= 1"),
    (lambda: dg.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3)), stride=(1, 2, 3)), TypeError,
     r"stride must be an int or a sequence of 2 ints"),
    (lambda: dg.conv1d(np.ones((1, 3, 5, 5)), np.ones((4, 3, 3))), ValueError,
     r"conv1d: x must be 3-D \(N, C, L\)"),
    (lambda: dg.conv1d(np.ones((1, 3, 5)), np.ones((4, 2, 3))), ValueError, r"conv1d: x has C=3 channels"),
    (lambda: dg.max_pool2d(np.ones((3, 5, 5)), 2), ValueError, r"max_pool2d: x must be 4-D"),
    (lambda: dg.max_pool2d(np.ones((1, 1, 5, 5)), 2, padding=2), ValueError,
     r"padding \(2, 2\) must be at most half the kernel \(2, 2\)"),
    (lambda: dg.avg_pool2d(np.ones((1, 1, 2, 5)), 3), ValueError, r"avg_pool2d: the kernel \(3, 3\)"),
    (lambda: dg.adaptive_avg_pool2d(np.ones((1, 1, 4, 4)), 0), ValueError, r"output_size must be >= 1"),
    (lambda: dg.adaptive_avg_pool2d(np.ones((1, 4, 4)), 2), ValueError, r"adaptive_avg_pool2d: x must be 4-D"),
])
def test_errors_name_the_op_the_shapes_and_the_fix(call, error, match):
    with pytest.raises(error, match=match):
        call()
