"""Convolution and pooling (NCHW activations, OIHW weights), with PyTorch's semantics.

Conv2d is the second hot path after matmul, and it has one fused rule: per tangent column i,

    out    = w ⋆ x + b
    dout_i = w ⋆ dx_i + dw_i ⋆ x + db_i            (⋆: cross-correlation; conv is bilinear in x and w)

computed by the kernels of ``_conv_kernels.py``: each column's three terms are ONE GEMM with the
operands stacked along the inner dimension, ``[w | dw_i | db_i] · [cols(dx_i); cols(x); 1]``, where
``cols`` is the im2col matrix of a chunk of output positions (``CHUNK_BYTES``) — or, for 3×3 stride-1
convolutions with enough channels, its Winograd F(4×4, 3×3) transform (1/4 of the multiplications).
The GEMMs write their outputs in place in a *batch-last* memory layout (the logical shape stays
``(N, O, OH, OW)``; the memory is ``(O, OH, OW, N)``), which the next layer reads without a copy; the
chunks run on worker threads. Conv1d is conv2d with a unit height.

Max-pool compares the KH·KW strided views of x tap by tap (keeping x's memory layout), tracks each
window's first maximum — ties go to the first in row-major window order, as in PyTorch — and gathers
all k tangent columns with one index. Avg-pool and adaptive avg-pool are linear: the tangent block goes
through the same pool.

Nested derivatives: when an operand is a Dual of an outer derivative, the fast kernels (plain arrays
only) step aside and each rule expands itself with the public ops — conv(x, w) + conv(dx, w) +
conv(x, dw) + db with conv2d itself, the max-pool gather with np.take — which dispatch one level down.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..backend import kernel_workers, namespace, run_parallel
from ..registry import bind, defprimitive
from ._conv_kernels import batch_last, conv2d_batch_last, logical, memory_order
from ._util import add_terms, fit, innermost, nested
from .shape import reshape

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "conv1d", "conv2d", "max_pool2d"]

Size2 = int | tuple[int, int]        # an int for both spatial axes, or an (h, w) pair


# ----- parameters and their checks ------------------------------------------------------------------
def _ints(value, nd: int, name: str, op: str, low: int) -> tuple:
    """An int or an nd-sequence of ints (each >= low) as an nd-tuple."""
    vals = (value,) * nd if isinstance(value, numbers.Integral) else value
    if not isinstance(vals, (tuple, list)) or len(vals) != nd or not all(isinstance(v, numbers.Integral) for v in vals):
        raise TypeError(f"{op}: {name} must be an int or a sequence of {nd} ints; got {value!r}")
    if any(v < low for v in vals):
        raise ValueError(f"{op}: {name} must be >= {low}; got {value!r}")
    return tuple(int(v) for v in vals)


def _check_rank(op: str, name: str, shape: tuple, layout: str):
    """Raise unless ``shape`` has one axis per name in ``layout`` ("N, C, H, W")."""
    rank = len(layout.split(", "))
    if len(shape) != rank:
        raise ValueError(f"{op}: {name} must be {rank}-D ({layout}); got shape {shape}. "
                         + ("For a single sample use x[None]." if name == "x" else ""))


def _check_window(op: str, spatial: tuple, kernel: tuple, dilation: tuple, padding: tuple):
    """Raise when the (dilated) kernel is larger than the padded input along some axis."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, padding))
    if any(s > p for s, p in zip(span, padded)):
        raise ValueError(f"{op}: the kernel {kernel} (dilation {dilation}) spans {span}, larger than the "
                         f"padded input {padded} (input {spatial}, padding {padding}); use a smaller kernel "
                         "or dilation, or more padding.")


def _conv_params(op: str, x_shape: tuple, w_shape: tuple, b_shape, stride, padding, dilation, groups) -> dict:
    """Check a conv call with nd spatial axes; return the params of the 2-D rule (a unit height for nd=1)."""
    nd = 1 if op == "conv1d" else 2
    spatial = "L" if nd == 1 else "H, W"
    _check_rank(op, "x", x_shape, f"N, C, {spatial}")
    _check_rank(op, "w", w_shape, "O, C/groups, " + ("K" if nd == 1 else "KH, KW"))
    if not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int; got {groups!r}")
    c, o, cg = x_shape[1], w_shape[0], w_shape[1]
    if c % groups or o % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels C={c} (x of shape {x_shape}) "
                         f"and the output channels O={o} (w of shape {w_shape}).")
    if cg * groups != c:
        raise ValueError(f"{op}: x has C={c} channels (shape {x_shape}) but w of shape {w_shape} with "
                         f"groups={groups} expects w.shape[1]·groups = {cg * groups}; w must have the shape "
                         f"(O, C/groups, ...) = ({o}, {c // groups}, ...).")
    if b_shape is not None and tuple(b_shape) != (o,):
        raise ValueError(f"{op}: the bias b must have shape (O,) = ({o},) for w of shape {w_shape}; "
                         f"got {tuple(b_shape)}.")
    kernel = tuple(w_shape[2:])
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if stride != (1,) * nd:
                raise ValueError(f"{op}: padding='same' needs stride 1 (got stride {stride}), as in PyTorch; "
                                 "give the padding as numbers instead.")
            # PyTorch: total d·(K−1), the odd one extra at the end (bottom/right)
            pads = tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
        else:
            raise ValueError(f"{op}: padding must be an int, a sequence of {nd} ints, 'same' or 'valid'; "
                             f"got {padding!r}")
    else:
        pads = tuple((p, p) for p in _ints(padding, nd, "padding", op, 0))
    _check_window(op, tuple(x_shape[2:]), kernel, dilation, pads)
    if nd == 1:                                      # (N, C, L) runs as (N, C, 1, L)
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    return dict(stride=stride, padding=pads, dilation=dilation, groups=int(groups))


def _out_size(size: int, lo: int, hi: int, kernel: int, stride: int, dilation: int) -> int:
    return (size + lo + hi - dilation * (kernel - 1) - 1) // stride + 1


# ----- windows and columns --------------------------------------------------------------------------
def _pad(x, padding, value=0.0):
    """x (..., H, W) padded by ((top, bottom), (left, right)) with ``value``: one copy of x into a new
    array in x's memory layout whose border strips are filled (np.pad does the same with ~100× the
    Python overhead and a C-ordered result)."""
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    out = namespace(x).empty_like(x, shape=x.shape[:-2] + (h + top + bottom, w + left + right))
    out[..., :top, :] = value
    out[..., top + h:, :] = value
    out[..., top:top + h, :left] = value
    out[..., top:top + h, left + w:] = value
    out[..., top:top + h, left:left + w] = x
    return out


def _windows(x, kernel, stride, dilation, out_hw):
    """The (..., KH, KW, OH, OW) strided view of x (..., H, W): [..., i, j, p, q] = x[..., p·sh + i·dh,
    q·sw + j·dw]. No copy; any memory layout."""
    xp = namespace(x)
    sh, sw = x.strides[-2:]
    return xp.lib.stride_tricks.as_strided(
        x, x.shape[:-2] + tuple(kernel) + tuple(out_hw),
        x.strides[:-2] + (dilation[0] * sh, dilation[1] * sw, stride[0] * sh, stride[1] * sw))


def _im2col(x, kernel, stride, padding, dilation, out_hw):
    """Columns (C·KH·KW, B·OH·OW) of x (B, C, H, W): row (c, i, j), column (b, oh, ow). One copy."""
    win = _windows(_pad(x, padding), kernel, stride, dilation, out_hw)
    b, c = x.shape[:2]
    return win.transpose(1, 2, 3, 0, 4, 5).reshape(c * kernel[0] * kernel[1], b * out_hw[0] * out_hw[1])


# ----- conv2d (fused) -------------------------------------------------------------------------------
def _conv2d_nested(primals, tangents, **params):
    """conv(x, w) + b and its tangent conv(dx, w) + conv(x, dw) + db, written with conv2d itself: for
    operands that are Duals of an outer derivative (each call dispatches one level down)."""
    (x, w, b), (tx, tw, tb) = primals, tangents
    out = bind(_conv2d, x, w, b, **params)
    k = next((t.shape[0] for t in (tx, tw, tb) if t is not None), None)
    if k is None:
        return out, None
    t = None
    if tx is not None:                                             # k folded into the batch
        folded = tx.reshape((k * tx.shape[1],) + tuple(tx.shape[2:]))
        t = bind(_conv2d, folded, w, None, **params).reshape((k,) + tuple(out.shape))
    if tw is not None:
        t = add_terms(t, np.stack([bind(_conv2d, x, tw[i], None, **params) for i in range(k)]))
    if tb is not None:
        t = add_terms(t, fit(tb.reshape(k, 1, -1, 1, 1), out.shape))
    return out, t


def _conv2d_rule(primals, tangents, stride, padding, dilation, groups):
    if nested(primals, tangents):
        return _conv2d_nested(primals, tangents, stride=stride, padding=padding, dilation=dilation, groups=groups)
    (x, w, b), (tx, tw, tb) = primals, tangents
    xp = namespace(x, w)
    x, w, b = xp.asarray(x), xp.asarray(w), None if b is None else xp.asarray(b)
    out, t = conv2d_batch_last(x, w, b, tx, tw, tb, stride, padding, dilation, groups)
    return logical(out), None if t is None else logical(t)


_conv2d = defprimitive("conv2d", _conv2d_rule, family="conv", kind="fused",
                       note="per column one GEMM [w | dw_i | db_i]·[cols(dx_i); cols(x); 1] (Winograd F(4×4,3×3) "
                            "for 3×3 stride 1); output stored batch-last")


def conv2d(x, w, b=None, stride: Size2 = 1, padding: Size2 | str = 0, dilation: Size2 = 1, groups: int = 1):
    """2-D convolution (PyTorch's cross-correlation) of x ``(N, C, H, W)`` with w ``(O, C/groups, KH, KW)``.

    ``out[n, o, p, q] = b[o] + Σ_{c, i, j} w[o, c, i, j] · xpad[n, g·C/groups + c, p·sh + i·dh, q·sw + j·dw]``
    with g = o // (O/groups) the group of o, of shape ``(N, O, OH, OW)``, ``OH = ⌊(H + 2·ph − dh·(KH−1) − 1)/sh⌋ + 1``.

    ``stride``, ``dilation``: an int or an (h, w) pair; ``padding``: an int, an (h, w) pair, ``"valid"``
    (no padding) or ``"same"`` (stride 1 only; the odd padding goes to the bottom/right, as in PyTorch).
    ``b``: an optional ``(O,)`` bias. Tangent: ``conv(dx, w) + conv(x, dw) + db``, computed by the fused
    im2col kernel described in the module docstring.
    """
    params = _conv_params("conv2d", np.shape(x), np.shape(w), None if b is None else np.shape(b),
                          stride, padding, dilation, groups)
    return bind(_conv2d, x, w, b, **params)


def conv1d(x, w, b=None, stride: int = 1, padding: int | str = 0, dilation: int = 1, groups: int = 1):
    """1-D convolution (cross-correlation) of x ``(N, C, L)`` with w ``(O, C/groups, K)``: conv2d on unit height.

    ``out[n, o, p] = b[o] + Σ_{c, j} w[o, c, j] · xpad[n, g·C/groups + c, p·s + j·d]``, shape ``(N, O, OL)``
    with ``OL = ⌊(L + 2·pad − d·(K−1) − 1)/s⌋ + 1``. ``stride``, ``padding``, ``dilation``: ints (or
    1-sequences); ``padding`` also ``"valid"`` or ``"same"`` (stride 1).
    """
    params = _conv_params("conv1d", np.shape(x), np.shape(w), None if b is None else np.shape(b),
                          stride, padding, dilation, groups)
    (n, c, length), (o, cg, kl) = np.shape(x), np.shape(w)
    out = bind(_conv2d, reshape(x, (n, c, 1, length)), reshape(w, (o, cg, 1, kl)), b, **params)
    return reshape(out, (n, o, -1))


# ----- pooling --------------------------------------------------------------------------------------
def _pool_params(op: str, x_shape: tuple, kernel_size, stride, padding) -> dict:
    _check_rank(op, "x", x_shape, "N, C, H, W")
    kernel = _ints(kernel_size, 2, "kernel_size", op, 1)
    stride = kernel if stride is None else _ints(stride, 2, "stride", op, 1)
    pad = _ints(padding, 2, "padding", op, 0)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(f"{op}: padding {pad} must be at most half the kernel {kernel} (as in PyTorch), so that "
                         "every window holds an input cell; lower the padding or enlarge the kernel.")
    pads = tuple((p, p) for p in pad)
    _check_window(op, tuple(x_shape[2:]), kernel, (1, 1), pads)
    return dict(kernel=kernel, stride=stride, padding=pads)


def _pool_out_hw(x, kernel, stride, padding) -> tuple:
    return tuple(_out_size(s, *pads, k, st, 1) for s, pads, k, st in zip(x.shape[-2:], padding, kernel, stride))


def _max_pool2d_nested(primals, tangents, **params):
    """The max-pool of a Dual of an outer derivative: the windows' argmax (from the values) gathers the
    primal and the tangent with np.take, which dispatches one level down."""
    (x,), (t,) = primals, tangents
    values = innermost(x)
    positions = namespace(values).arange(values.size).reshape((1,) + values.shape)     # gathered: the argmax
    flat = _max_pool2d_rule([values], [positions], **params)[1][0]
    out = np.take(np.reshape(x, (-1,)), flat)
    return out, None if t is None else np.take(t.reshape(t.shape[0], -1), flat, axis=1)


def _max_pool2d_rule(primals, tangents, kernel, stride, padding):
    """The window maxima by one comparison per kernel tap over strided views of x (in x's memory layout);
    the position of each window's first maximum is tracked as an offset into the batch-last tangent
    block, and one gather takes all k tangent columns from it."""
    if nested(primals, tangents):
        return _max_pool2d_nested(primals, tangents, kernel=kernel, stride=stride, padding=padding)
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    x = xp.asarray(x)
    (n, c, h, w), (kh, kw), (sh, sw), ((top, _), (left, _)) = x.shape, kernel, stride, padding
    oh, ow = _pool_out_hw(x, kernel, stride, padding)
    win = _windows(_pad(x, padding, -np.inf), kernel, stride, (1, 1), (oh, ow))    # (N, C, KH, KW, OH, OW)
    out = xp.copy(win[:, :, 0, 0], order="K")
    padded = top or left or oh * sh + kh - sh > h or ow * sw + kw - sw > w
    # the winning tap, as its offset (i·W + j)·N in the batch-last block (or as its index i·KW + j if the
    # window may reach into the padding, where the winner is clipped back onto x below)
    tap = None if t is None else xp.zeros_like(out, dtype=xp.intp)
    for index in range(1, kh * kw):
        i, j = divmod(index, kw)
        cell = win[:, :, i, j]
        if tap is not None:
            xp.copyto(tap, index if padded else (i * w + j) * n, where=cell > out)   # ties: the first maximum stays
        xp.maximum(out, cell, out=out)
    if t is None:
        return out, None
    # offset of the window's origin cell (c, oh·sh − top, ow·sw − left, n) in the batch-last (C, H, W, N) block
    tap = memory_order(tap)                                                            # (C, OH, OW, N)
    rows = xp.arange(oh).reshape(-1, 1, 1) * sh - top
    cols = xp.arange(ow).reshape(-1, 1) * sw - left
    if padded:    # the first real cell of a window of −inf may be beaten by a padding cell: clip it back
        rows = xp.clip(rows + tap // kw, 0, h - 1)
        cols = xp.clip(cols + tap % kw, 0, w - 1)
        tap = 0
    flat = ((xp.arange(c).reshape(-1, 1, 1, 1) * h + rows) * w + cols) * n + xp.arange(n) + tap
    k, flat = t.shape[0], flat.reshape(-1)
    source = batch_last(t, xp).reshape(k, -1)
    gathered = xp.empty((k, flat.size), dtype=t.dtype)
    workers = min(kernel_workers(xp), k)                                             # columns split over threads
    bounds = [k * i // workers for i in range(workers + 1)]
    run_parallel([lambda lo=lo, hi=hi: xp.take(source[lo:hi], flat, axis=1, out=gathered[lo:hi])
                  for lo, hi in zip(bounds[:-1], bounds[1:])])
    return out, logical(gathered.reshape(k, c, oh, ow, n))


_max_pool2d = defprimitive("max_pool2d", _max_pool2d_rule, family="conv", kind="fused",
                           note="ties: the first maximum in row-major window order (PyTorch); the argmax is "
                                "computed once and gathers all k columns; NaN propagates")


def max_pool2d(x, kernel_size: Size2, stride: Size2 | None = None, padding: Size2 = 0):
    """Max over the windows of x ``(N, C, H, W)``: ``out[n, c, p, q] = max_{i, j} xpad[n, c, p·sh + i, q·sw + j]``.

    ``kernel_size``, ``stride`` (default: the kernel), ``padding`` (at most half the kernel): ints or
    (h, w) pairs; padding cells are −∞. Output ``(N, C, OH, OW)``, ``OH = ⌊(H + 2·ph − KH)/sh⌋ + 1``.
    Tangent: ``dx`` at each window's argmax (all k columns gathered with one index). **Ties** go to
    the first maximum in row-major window order (PyTorch's convention).
    """
    return bind(_max_pool2d, x, **_pool_params("max_pool2d", np.shape(x), kernel_size, stride, padding))


def _linear_pool(name, pool, note):
    """Register a linear pool ``pool(x, **params)`` on (..., H, W): the tangent block (k, N, C, H, W) goes
    through the same pool."""
    def rule(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        if nested(primals, tangents):       # Duals of an outer derivative: the same pool, one level down
            return bind(prim, x, **params), None if t is None else bind(prim, t, **params)
        x = namespace(x).asarray(x)
        return pool(x, **params), None if t is None else pool(t, **params)
    prim = defprimitive(name, rule, family="conv", kind="linear", note=note)
    return prim


def _avg_pool(x, kernel, stride, padding):
    """Window means of x (..., H, W) -> (..., OH, OW), in x's memory layout; padding cells count as zeros.
    Summed tap by tap over the KH·KW strided slices: in NumPy 4-7× faster than one reduction over the
    window axes."""
    win = _windows(_pad(x, padding), kernel, stride, (1, 1), _pool_out_hw(x, kernel, stride, padding))
    kh, kw = kernel
    total = namespace(x).copy(win[..., 0, 0, :, :], order="K")
    for tap in range(1, kh * kw):
        total += win[..., tap // kw, tap % kw, :, :]
    return total / (kh * kw)


_avg_pool2d = _linear_pool("avg_pool2d", _avg_pool, note="count_include_pad=True (PyTorch's default); "
                                                         "the tangent block through the same pool")


def avg_pool2d(x, kernel_size: Size2, stride: Size2 | None = None, padding: Size2 = 0):
    """Mean over the windows of x ``(N, C, H, W)``: ``out[n, c, p, q] = Σ_ij xpad[n, c, p·sh + i, q·sw + j] / (KH·KW)``.

    Zero padding counts in the mean (PyTorch's ``count_include_pad=True``). ``kernel_size``, ``stride``
    (default: the kernel), ``padding`` (at most half the kernel): ints or (h, w) pairs. Output
    ``(N, C, OH, OW)``, ``OH = ⌊(H + 2·ph − KH)/sh⌋ + 1``. Linear, so the tangent is ``avg_pool2d(dx)``.
    """
    return bind(_avg_pool2d, x, **_pool_params("avg_pool2d", np.shape(x), kernel_size, stride, padding))


def _bins(size: int, out: int, xp, dtype):
    """(out, size) averaging matrix: row i is the mean over [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    i, j = xp.arange(out), xp.arange(size)
    start, end = (i * size) // out, -(-(i + 1) * size // out)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg_pool(x, output_size):
    """out[..., :, :] = A_H · x[..., :, :] · A_Wᵀ with the bin matrices A: two GEMMs over all planes at once
    (a global pool, output (1, 1), is the mean over H and W, in x's memory layout)."""
    xp = namespace(x)
    (h, w), (oh, ow), lead = x.shape[-2:], output_size, x.shape[:-2]
    if (oh, ow) == (1, 1):
        return x.mean(axis=(-2, -1), keepdims=True)
    a_h, a_w = _bins(h, oh, xp, x.dtype), _bins(w, ow, xp, x.dtype)
    y = (x.reshape(-1, w) @ a_w.T).reshape(-1, h, ow)               # pool along W: (…·H, W) @ (W, OW)
    z = y.transpose(0, 2, 1).reshape(-1, h) @ a_h.T                 # then along H: (…·OW, H) @ (H, OH)
    return xp.ascontiguousarray(z.reshape(lead + (ow, oh)).swapaxes(-1, -2))


_adaptive_avg_pool2d = _linear_pool("adaptive_avg_pool2d", _adaptive_avg_pool,
                                    note="PyTorch's bins [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉); "
                                         "the tangent block through the same pool")


def adaptive_avg_pool2d(x, output_size: int | tuple[int | None, int | None]):
    """Mean of x ``(N, C, H, W)`` over an ``(OH, OW)`` grid of bins, as in PyTorch: output ``(N, C, OH, OW)``.

    Bin i along H covers rows ``⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1`` (bins overlap when OH does not divide H),
    and likewise along W. ``output_size``: an int, an (OH, OW) pair, None in a pair keeps that input size.
    Linear: ``out = A_H · x · A_Wᵀ`` per plane, and the tangent is the same map of ``dx``.
    """
    shape = np.shape(x)
    _check_rank("adaptive_avg_pool2d", "x", shape, "N, C, H, W")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(sizes) == 2:
        sizes = tuple(s if o is None else o for o, s in zip(sizes, shape[2:]))
    return bind(_adaptive_avg_pool2d, x, output_size=_ints(sizes, 2, "output_size", "adaptive_avg_pool2d", 1))
