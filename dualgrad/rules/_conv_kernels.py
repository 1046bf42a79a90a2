"""The k-tangent conv2d kernels: implicit im2col GEMM and Winograd F(4×4, 3×3), on a batch-last layout.

**Layout.** Activations keep their logical NCHW shape but are stored *batch-last*: an ``(N, C, H, W)``
array lives in memory as ``(C, H, W, N)`` (``logical(m)`` of a C-contiguous ``m``) and its tangent
block ``(k, N, C, H, W)`` as ``(k, C, H, W, N)``. With the batch innermost,

* a GEMM ``(O, K) @ (K, OH·OW·N)`` writes a conv's output in place, already in the layout (no
  transposing copy), and so does the next layer's GEMM: conversions happen only where an NCHW array
  enters (one copy) and where a caller reshapes;
* every copy and elementwise pass of the kernels runs over contiguous runs of ≥ N numbers.

NumPy's elementwise operations keep this layout (they allocate their outputs in the order of their
inputs), so ReLU, the residual adds and batch norm pass it on unchanged.

**The tangent.** ``dout_i = conv(dx_i, w) + conv(x, dw_i) + db_i`` for the k columns i is, per column,
ONE GEMM with the operands stacked along the inner dimension:

    dout_i = [w | dw_i | db_i] · [cols(dx_i); cols(x); 1]

The buffer ``[cols(dx_i); cols(x); 1]`` is built for a chunk of output positions: ``cols(x)`` and the
row of ones once per chunk, ``cols(dx_i)`` overwritten for each i, so the x-term costs no copy per
column and the sum of the three terms costs no pass. The primal is ``[w | b] · [cols(x); 1]`` on the
same rows. A chunk holds at most ``CHUNK_BYTES`` of columns (whole output rows, or part of a row, or
part of the batch of one position): wide enough that the GEMMs run near their peak and a column costs
few NumPy calls. BLAS packs its operands into cache-sized panels itself, so a chunk need not fit in the
cache whole (docs/performance.md measures the choice).

**Winograd F(m×m, 3×3)** (Lavin & Gray 2016; m = ``WINOGRAD_TILE`` = 4) for 3×3 kernels, stride 1,
dilation 1, one group: every m×m output tile is ``Aᵀ [Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B)] A`` with d_c the
α×α input tile (α = m + 2) of channel c, so the channel sums are α² GEMMs ``U_ξ · V_ξ`` (ξ the α²
positions of the tile): for m = 4, 36 multiplications per 16 outputs where the direct method needs 144.
The stacking above carries over to the transformed operands, ``[U_w | U_dw_i | db_i e_ξ] · [V(dx_i);
V(x); 1]``; a bias enters at one ξ = (u, u) only, u the column of Aᵀ that is all ones, because
``Aᵀ e_u e_uᵀ A`` is then the all-ones m×m tile. The transforms are small GEMMs over a band of input
rows whose tiles' α columns are laid side by side (``_fill_band``): ``Bᵀ`` along the rows, then along
the columns, ``Aᵀ`` likewise on the way out, each one BLAS call over many tiles. Bᵀ and Aᵀ have
integer entries; G (fractions such as 1/6 and 1/24) is applied to the filters in float64. The price of
the larger tile is rounding: in float32 the output's relative error is about 6× the direct method's
(RMS 1–2·10⁻⁶ against 2–3·10⁻⁷ for 16–64 channels of unit-variance data, largest 6·10⁻⁶), in float64
about 10⁻¹⁵.

**Threads and memory.** The chunks are independent: ``kernel_workers`` threads (as many as BLAS has)
each take an interleaved share with its own buffers and one-thread GEMMs (``backend.run_parallel``).
A worker's buffers hold at most about 1.5 × ``CHUNK_BYTES`` for the im2col GEMM and ``CHUNK_BYTES``
for Winograd (at least one output position's columns, or one tile's); beyond them a call allocates its
outputs and, for an input that is not batch-last already, one batch-last copy of it.

The functions here take and return plain arrays; the rule in ``conv.py`` applies them. Their array
module is the data's (NumPy or CuPy; Winograd runs on NumPy data only).
"""
from __future__ import annotations

from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..backend import kernel_workers, namespace, run_parallel

#: bytes of GEMM operand columns (im2col, or Winograd-transformed input) built at a time per worker: a
#: chunk of output positions. 16 MiB was faster than 4, 8, 12, 24 and 32 MiB on the 4-layer conv net of
#: docs/performance.md (6–15% off its k = 16 pass against 4 MiB; level at k = 4 and on LeNet-5).
CHUNK_BYTES = 16 << 20
#: the same budget on a GPU (CuPy data), where there is no cache to stay in: a chunk bounds the workspace
#: only, and fewer, wider GEMMs cost fewer kernel launches. On an H200 the 4-layer net's k = 16 pass took
#: 384 ms with 16 MiB chunks, 83 with 64 MiB, 40 with 256 MiB and 30 with 1 GiB (docs/performance.md, "On a GPU")
GPU_CHUNK_BYTES = 1 << 30


def chunk_bytes(xp) -> int:
    """The chunk budget for data of the array module ``xp``: ``CHUNK_BYTES`` on NumPy, ``GPU_CHUNK_BYTES`` else."""
    return CHUNK_BYTES if xp is np else GPU_CHUNK_BYTES

#: Winograd is used for eligible convolutions (3×3, stride 1, dilation 1, one group, floating point)
#: with at least this many input and output channels; below it, its transforms cost more than the
#: multiplications they save (docs/performance.md).
WINOGRAD_MIN_CHANNELS = 16

#: Winograd F(m×m, 3×3) by tile size m: (Bᵀ, G, Aᵀ), the input (α×α, α = m + 2), filter (α×3) and
#: output (m×α) transforms of Lavin & Gray (2016), with the interpolation points 0, ±1 (m = 2) and
#: 0, ±1, ±2 (m = 4) and ∞. Bᵀ and Aᵀ have integer entries (exact in floating point); G is applied
#: to the filters in float64.
WINOGRAD = {
    2: (np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float),
        np.array([[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]]),
        np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)),
    4: (np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=float),
        np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
        np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], dtype=float)),
}
#: the tile size the conv rule uses: F(4×4, 3×3) performs 36/144 = 1/4 of the direct method's
#: multiplications (F(2×2, 3×3): 16/36), and its transformed operands are 36/16 values per output
#: (F(2×2, 3×3): 16/4); it was 20–28% faster per layer on the 4-layer conv net (docs/performance.md)
WINOGRAD_TILE = 4


# ----- the batch-last layout ----------------------------------------------------------------------
def memory_order(a):
    """The batch-last memory view ``(..., C, H, W, N)`` of a logical ``(..., N, C, H, W)`` array."""
    lead = a.ndim - 4
    return a.transpose(*range(lead), lead + 1, lead + 2, lead + 3, lead)


def logical(m):
    """The logical ``(..., N, C, H, W)`` view of a batch-last ``(..., C, H, W, N)`` array."""
    lead = m.ndim - 4
    return m.transpose(*range(lead), lead + 3, lead, lead + 1, lead + 2)


def batch_last(a, xp):
    """``a`` (logical ``(..., N, C, H, W)``) as a C-contiguous batch-last array: a view when it is one
    already, else one copy."""
    return xp.ascontiguousarray(memory_order(a))


# ----- chunks of output positions ------------------------------------------------------------------
def _position_chunks(oh: int, ow: int, n: int, max_cols: int):
    """Rectangles ``(oh0, oh1, ow0, ow1, n0, n1)`` covering the (OH, OW, N) positions, each a contiguous
    range of the flattened index (so that the output columns of a chunk form one strided matrix) with
    at most ``max_cols`` columns when possible: whole rows, else part of a row, else part of the batch."""
    if max_cols >= ow * n:
        rows = max_cols // (ow * n)
        return [(r, min(oh, r + rows), 0, ow, 0, n) for r in range(0, oh, rows)]
    if max_cols >= n:
        cols = max_cols // n
        return [(r, r + 1, c, min(ow, c + cols), 0, n) for r in range(oh) for c in range(0, ow, cols)]
    return [(r, r + 1, c, c + 1, s, min(n, s + max_cols)) for r in range(oh) for c in range(ow)
            for s in range(0, n, max_cols)]


def _valid(lo: int, hi: int, offset: int, step: int, size: int) -> tuple[int, int]:
    """The sub-range [a, b) of output indices o in [lo, hi) whose input index o·step + offset lies in
    [0, size) (a ≥ b when none does)."""
    a = max(lo, -(offset // step) if offset < 0 else 0)               # smallest o with o·step + offset >= 0
    b = min(hi, (size - 1 - offset) // step + 1 if size - 1 - offset >= 0 else 0)
    return a, max(a, b)


# ----- implicit im2col GEMM ------------------------------------------------------------------------
def _column_plan(chunk, kernel, stride, dilation, pads, size):
    """Which cells of a chunk's im2col columns come from x and which are padding, per kernel tap (i, j):
    ``(copies, zeros)`` with copies ``(i, j, dest rows, dest cols, src rows, src cols)`` and zeros
    ``(i, j, dest rows, dest cols)``, as slices of the chunk's (nr, nw) positions and of x's (H, W)."""
    oh0, oh1, ow0, ow1 = chunk[:4]
    (sh, sw), (dh, dw), (top, left), (h, w) = stride, dilation, pads, size
    copies, zeros = [], []
    for i in range(kernel[0]):
        r0, r1 = _valid(oh0, oh1, i * dh - top, sh, h)
        for j in range(kernel[1]):
            c0, c1 = _valid(ow0, ow1, j * dw - left, sw, w)
            everywhere = slice(None)
            zeros += [(i, j) + region for region, outside in (
                ((slice(0, r0 - oh0), everywhere), r0 > oh0), ((slice(r1 - oh0, None), everywhere), r1 < oh1),
                ((everywhere, slice(0, c0 - ow0)), c0 > ow0), ((everywhere, slice(c1 - ow0, None)), c1 < ow1))
                if outside]
            if r0 < r1 and c0 < c1:
                ih, iw = r0 * sh + i * dh - top, c0 * sw + j * dw - left
                copies.append((i, j, slice(r0 - oh0, r1 - oh0), slice(c0 - ow0, c1 - ow0),
                               slice(ih, ih + (r1 - r0 - 1) * sh + 1, sh), slice(iw, iw + (c1 - c0 - 1) * sw + 1, sw)))
    return copies, zeros


def _fill_columns(dest, src, plan, batch, zero: bool):
    """Write the im2col columns of ``src`` (G, Cg, H, W, N) into ``dest`` (G, Cg, KH, KW, nr, nw, nn) by
    ``plan`` (``_column_plan``): ``dest[g, c, i, j, p, q, s] = xpad[g, c, (oh0+p)·sh + i·dh,
    (ow0+q)·sw + j·dw, batch][s]``; with ``zero`` the padding cells are zeroed (they stay zero while
    ``dest`` is refilled for the same chunk)."""
    copies, zeros = plan
    if zero:
        for i, j, rows, cols in zeros:
            dest[:, :, i, j, rows, cols] = 0
    for i, j, rows, cols, src_rows, src_cols in copies:
        dest[:, :, i, j, rows, cols] = src[:, :, src_rows, src_cols, batch]


def _stacked_operands(w, b, tx, tw, tb, k, width, xp, dtype):
    """The left GEMM operands against the buffer rows ``[dx-part (width) | x-part (width) | 1]``.

    ``w`` (G, Og, width), ``tw`` (k, G, Og, width): the (transformed) weights as rows; ``b`` (G, Og) and
    ``tb`` (k, G, Og): the bias column (already zero where a transform puts no bias). Returns
    ``(a_primal (G, Og, ·), primal rows, a_tangent (k, G, Og, ·) or None, tangent rows)``, a row range
    being ``(first, stop)`` of the buffer rows a GEMM reads.
    """
    ones = 2 * width
    primal_rows = (width, ones + 1 if b is not None else ones)
    a_primal = w if b is None else xp.concatenate([w, b[..., None].astype(dtype, copy=False)], axis=-1)
    if not k:
        return a_primal, primal_rows, None, None
    first = 0 if tx is not None else (width if tw is not None else ones)
    stop = ones + 1 if tb is not None else (ones if tw is not None else width)
    a_tangent = xp.zeros((k,) + w.shape[:-1] + (stop - first,), dtype=dtype)
    if tx is not None:
        a_tangent[..., :width] = w
    if tw is not None:
        a_tangent[..., width - first:ones - first] = tw
    if tb is not None:
        a_tangent[..., -1] = tb
    return a_primal, primal_rows, a_tangent, (first, stop)


def _shapes(x_shape, w_shape, padding, stride=(1, 1), dilation=(1, 1)):
    """(OH, OW) of a conv of x (N, C, H, W) with w (O, Cg, KH, KW)."""
    (_, _, h, wd), (_, _, kh, kw), ((top, bottom), (left, right)) = x_shape, w_shape, padding
    return ((h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1,
            (wd + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1)


def _tangent_columns(tx, tw, tb) -> int:
    live = [t for t in (tx, tw, tb) if t is not None]
    return live[0].shape[0] if live else 0


def conv2d_im2col(x, w, b, tx, tw, tb, stride, padding, dilation, groups):
    """Primal ``(O, OH, OW, N)`` and tangent ``(k, O, OH, OW, N)`` (batch-last memory; None without
    tangents) of ``conv2d(x, w, b)`` for any geometry, by the GEMMs of the module docstring.

    With one group the x-terms ``dw_i ⋆ x + db_i`` of all k columns are ONE GEMM
    ``[dw | db] (k·O, ·) · [cols(x); 1]`` (so cols(x) is read once, not k times: BLAS repacks an
    operand on every call, and cols(x) is the larger one when O ≪ C·KH·KW), and ``w ⋆ dx_i`` is added per
    column; with groups, each column is the stacked GEMM."""
    xp = namespace(x, w)
    dtype = xp.result_type(x, w)
    (n, _, h, wd), (o, cg, kh, kw), g = x.shape, w.shape, groups
    og, width = o // g, cg * kh * kw
    oh, ow = _shapes(x.shape, w.shape, padding, stride, dilation)
    k = _tangent_columns(tx, tw, tb)
    wm = w.reshape(g, og, width).astype(dtype, copy=False)
    fold = g == 1 and (tw is not None or tb is not None)
    a_primal, primal_rows, a_tangent, tangent_rows = _stacked_operands(
        wm, None if b is None else b.reshape(g, og), None if fold else tx,
        None if tw is None else tw.reshape(k, g, og, width), None if tb is None else tb.reshape(k, g, og),
        k, width, xp, dtype)
    base = 0 if tx is not None else min(primal_rows[0], tangent_rows[0]) if k else primal_rows[0]
    rows = 2 * width + 1 - base                                               # buffer row 0 is row `base`
    chunks = _position_chunks(oh, ow, n, _chunk_columns(rows * np.dtype(dtype).itemsize, oh * ow * n, xp))
    src = batch_last(x, xp).reshape(g, cg, h, wd, n)                          # (G, Cg, H, W, N)
    dsrc = None if tx is None else batch_last(tx, xp).reshape(k, g, cg, h, wd, n)
    out = xp.empty((o, oh, ow, n), dtype=dtype)
    t = xp.empty((k, o, oh, ow, n), dtype=dtype) if k else None
    out_cols = out.reshape(g, og, -1)                                         # (G, Og, OH·OW·N)
    t_cols = t.reshape(k, g, og, -1) if k else None
    geometry = ((kh, kw), stride, dilation, (padding[0][0], padding[1][0]))

    def run(share):
        """One worker's chunks, with its own buffer of columns."""
        size = max((r1 - r0) * (c1 - c0) * (s1 - s0) for r0, r1, c0, c1, s0, s1 in share)
        buf = xp.empty((g, rows, size), dtype=dtype)
        buf[:, -1] = 1
        term = xp.empty((o, size), dtype=dtype) if fold and tx is not None else None
        for chunk in share:
            r0, r1, c0, c1, s0, s1 = chunk
            m = (r1 - r0) * (c1 - c0) * (s1 - s0)
            lo = (r0 * ow + c0) * n + s0                                      # the chunk's output columns
            cols = buf[:, :, :m]
            shape = (g, cg, kh, kw, r1 - r0, c1 - c0, s1 - s0)
            plan, batch = _column_plan(chunk, *geometry, (h, wd)), slice(s0, s1)
            _fill_columns(cols[:, width - base:2 * width - base].reshape(shape), src, plan, batch, zero=True)
            xp.matmul(a_primal, cols[:, primal_rows[0] - base:primal_rows[1] - base],
                      out=out_cols[:, :, lo:lo + m])
            if fold:                                                          # the x-terms of all k columns
                xp.matmul(a_tangent.reshape(k * o, -1), cols[0, tangent_rows[0] - base:tangent_rows[1] - base],
                          out=t.reshape(k * o, -1)[:, lo:lo + m])
            for i in range(0 if fold and tx is None else k):
                if tx is not None:
                    _fill_columns(cols[:, :width].reshape(shape), dsrc[i], plan, batch, zero=i == 0)
                if fold:                                                      # + w ⋆ dx_i
                    xp.matmul(wm[0], cols[0, :width], out=term[:, :m])
                    t_cols[i, 0, :, lo:lo + m] += term[:, :m]
                else:
                    xp.matmul(a_tangent[i], cols[:, tangent_rows[0] - base:tangent_rows[1] - base],
                              out=t_cols[i, :, :, lo:lo + m])

    _in_parallel(run, chunks, xp)
    return out, t


def _chunk_columns(column_bytes: int, columns: int, xp) -> int:
    """Columns per chunk: as many as ``chunk_bytes`` holds, but no more than a worker's share of all
    ``columns``, so that every worker has a chunk. A small conv (the residual net's 1×1 shortcuts) in one
    chunk ran on one thread with BLAS's two threads synchronised per GEMM: 10–15 ms on a quiet machine,
    280–430 ms at load average 4–7."""
    return max(1, min(chunk_bytes(xp) // column_bytes, -(-columns // kernel_workers(xp))))


def _in_parallel(run, chunks, xp):
    """``run(share)`` for ``kernel_workers`` interleaved shares of the chunks, on worker threads."""
    workers = min(kernel_workers(xp), len(chunks))
    run_parallel([partial(run, chunks[i::workers]) for i in range(workers)])


# ----- Winograd F(m×m, 3×3) ------------------------------------------------------------------------
def winograd_eligible(x, w, stride, dilation, groups) -> bool:
    """Whether ``conv2d_winograd`` applies and pays: a 3×3 kernel, stride 1, dilation 1, one group,
    floating-point data, at least ``WINOGRAD_MIN_CHANNELS`` input and output channels, and NumPy data. On a
    GPU its transforms (many small kernels) cost more than the multiplications they save: the 4-layer net's
    k = 16 pass took 2.5× as long with it on an H200 (docs/performance.md, "On a GPU")."""
    return (tuple(w.shape[2:]) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
            and groups == 1 and min(w.shape[0], w.shape[1]) >= WINOGRAD_MIN_CHANNELS
            and np.result_type(x.dtype, w.dtype).kind == "f" and namespace(x, w) is np)


def _bias_position(at: np.ndarray) -> int:
    """The flattened ξ = (u, u) at which a bias enters the transformed GEMM: u is the column of Aᵀ that is
    all ones, so that Aᵀ e_u e_uᵀ A is the all-ones m×m tile."""
    u = next(u for u in range(at.shape[1]) if (at[:, u] == 1).all())
    return u * at.shape[1] + u


def _filter_transform(g, gm):
    """U = G g Gᵀ of 3×3 filters g (..., 3, 3), in float64, as (α², ...) with ξ = α·u + v first."""
    u = np.matmul(np.matmul(gm, g.astype(np.float64)), gm.T)                 # (..., α, α)
    return np.moveaxis(u.reshape(u.shape[:-2] + (u.shape[-1] ** 2,)), -1, 0)


def _fill_band(z, src, a0, b0, m, pads):
    """z (C, m·ca + 2, α, cb, N) = the input under the tiles a0 … a0+ca−1, b0 … b0+cb−1, each tile's α
    columns side by side: z[c, r, j, b] = src[c, m·a0 + r − top, m·(b0 + b) + j − left] (src (C, H, W, N)),
    zero outside src. Neighbouring tiles share α − m columns, which the band stores twice, so that column
    j of every tile is one (cb, N) block and the column transform is one small GEMM per row."""
    rows, alpha, cb = z.shape[1:4]
    h, w = src.shape[1:3]
    top, left = pads
    r0 = m * a0 - top                                                         # source row of band row 0
    i0, i1 = _valid(0, rows, r0, 1, h)
    z[:, :i0] = 0
    z[:, i1:] = 0
    for j in range(alpha):
        c0 = m * b0 + j - left                                                # source column of tile b0's column j
        q0, q1 = _valid(0, cb, c0, m, w)
        z[:, i0:i1, j, :q0] = 0
        z[:, i0:i1, j, q1:] = 0
        if i0 < i1 and q0 < q1:
            z[:, i0:i1, j, q0:q1] = src[:, r0 + i0:r0 + i1, c0 + m * q0:c0 + m * (q1 - 1) + 1:m]


def _tile_chunks(th: int, tw: int, n: int, max_cols: int):
    """Rectangles (a0, a1, b0, b1) of output tiles with at most ``max_cols`` = tiles·N columns (≥ 1 tile)."""
    tiles = max(1, max_cols // n)
    if tiles >= tw:
        step = tiles // tw
        return [(a, min(th, a + step), 0, tw) for a in range(0, th, step)]
    return [(a, a + 1, b, min(tw, b + tiles)) for a in range(th) for b in range(0, tw, tiles)]


def conv2d_winograd(x, w, b, tx, tw, tb, padding, m: int = WINOGRAD_TILE):
    """As ``conv2d_im2col`` for a 3×3, stride-1 conv (``winograd_eligible``), by Winograd F(m×m, 3×3),
    m a key of ``WINOGRAD`` (NumPy data only)."""
    bt, gm, at = WINOGRAD[m]
    alpha, xi = m + 2, (m + 2) ** 2
    dtype = np.result_type(x, w)
    item = np.dtype(dtype).itemsize
    bt, at = bt.astype(dtype), at.astype(dtype)
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    oh, ow = _shapes(x.shape, w.shape, padding)
    th, tw_ = -(-oh // m), -(-ow // m)                                        # tiles; the last ones may be cut
    k = _tangent_columns(tx, tw, tb)

    def bias_column(bias):                                   # (..., α², O): zero but at the bias position
        column = np.zeros(bias.shape[:-1] + (xi, o), dtype=dtype)
        column[..., _bias_position(at), :] = bias
        return column

    a_primal, primal_rows, a_tangent, tangent_rows = _stacked_operands(
        _filter_transform(w, gm).astype(dtype), None if b is None else bias_column(b), tx,
        None if tw is None else np.moveaxis(_filter_transform(tw, gm), 0, 1).astype(dtype),
        None if tb is None else bias_column(tb), k, c, np, dtype)
    base = min(primal_rows[0], tangent_rows[0]) if k else primal_rows[0]
    rows = 2 * c + 1 - base
    # a worker's buffers per column (tile · sample), run's v, mm, rowed, band, r and y: CHUNK_BYTES in all
    per_column = xi * (rows + o + c) + c * alpha * (m + 2) + m * alpha * o + m * m * o
    chunks = _tile_chunks(th, tw_, n, _chunk_columns(per_column * item, th * tw_ * n, np))
    src = batch_last(x, np)                                                   # (C, H, W, N)
    dsrc = None if tx is None else batch_last(tx, np)                         # (k, C, H, W, N)
    out = np.empty((o, oh, ow, n), dtype=dtype)
    t = np.empty((k, o, oh, ow, n), dtype=dtype) if k else None
    targets = [out] + [t[i] for i in range(k)]
    pads = (padding[0][0], padding[1][0])

    def run(share):
        """One worker's chunks, with its own buffers (flat, so that every chunk's views are contiguous)."""
        cap = max((a1 - a0) * (b1 - b0) for a0, a1, b0, b1 in share) * n       # columns of the largest chunk
        v = np.empty((xi, rows, cap), dtype=dtype)            # [V(dx_i); V(x); 1] for each ξ
        v[:, -1] = 1
        band = np.empty(c * alpha * (m + 2) * cap, dtype=dtype)                 # (m·ca + 2)·cb·N ≤ (m + 2)·cap
        rowed, mm = np.empty(c * xi * cap, dtype=dtype), np.empty(xi * o * cap, dtype=dtype)
        r, y = np.empty(m * alpha * o * cap, dtype=dtype), np.empty(m * m * o * cap, dtype=dtype)
        for a0, a1, b0, b1 in share:
            ca, cb = a1 - a0, b1 - b0
            cols = ca * cb * n
            z = band[:c * (m * ca + 2) * alpha * cb * n].reshape(c, m * ca + 2, alpha, cb, n)
            # the α band rows under each tile row, (C, ca, α, α·cb·N), read in place (tile rows overlap)
            z_tiles = as_strided(z, (c, ca, alpha, alpha * cb * n),
                                 (z.strides[0], m * z.strides[1], z.strides[1], item))
            zr = rowed[:c * ca * xi * cb * n].reshape(c, ca, alpha, alpha, cb * n)      # Bᵀ along the rows
            mc = mm[:xi * o * cols].reshape(xi, o, cols)
            rc = r[:m * alpha * o * cols].reshape(m, alpha, o * cols)                # Aᵀ along the rows
            yc = y[:m * m * o * cols].reshape(m, m, o, ca, cb, n)                    # and the columns

            def transform(src_, first):
                """V = Bᵀ d B of every tile of src_ into v's rows first … first + C (two small GEMMs)."""
                _fill_band(z, src_, a0, b0, m, pads)
                np.matmul(bt, z_tiles, out=zr.reshape(c, ca, alpha, alpha * cb * n))
                vs = v.strides                                                # V[(u, v), c, (a, b, n)]
                np.matmul(bt, zr, out=as_strided(v[:, first:], (c, ca, alpha, alpha, cb * n),
                                                  (vs[1], cb * n * item, alpha * vs[0], vs[0], item)))

            transform(src, c - base)
            for i, (a, (first, stop)) in enumerate([(a_primal, primal_rows)] + [(a_tangent[i], tangent_rows)
                                                                                for i in range(k)]):
                if i and dsrc is not None:
                    transform(dsrc[i - 1], 0)
                np.matmul(a, v[:, first - base:stop - base, :cols], out=mc)
                np.matmul(at, mc.reshape(alpha, alpha * o * cols), out=rc.reshape(m, alpha * o * cols))  # Aᵀ M
                np.matmul(at, rc, out=yc.reshape(m, m, o * cols))                                       # (Aᵀ M) A
                for p in range(m):                            # output row m·a + p, column m·b + q, of the tiles
                    na = min(ca, -(-(oh - p) // m) - a0)      # the tiles whose row p exists
                    for q in range(m):
                        nb = min(cb, -(-(ow - q) // m) - b0)
                        targets[i][:, m * a0 + p:m * (a0 + na - 1) + p + 1:m,
                                   m * b0 + q:m * (b0 + nb - 1) + q + 1:m] = yc[p, q, :, :na, :nb]

    _in_parallel(run, chunks, np)
    return out, t


def conv2d_batch_last(x, w, b, tx, tw, tb, stride, padding, dilation, groups):
    """conv2d and its k tangent columns, Winograd where ``winograd_eligible``, else the im2col GEMM:
    ``(out (O, OH, OW, N), tangent (k, O, OH, OW, N) or None)`` in batch-last memory."""
    if winograd_eligible(x, w, stride, dilation, groups):
        return conv2d_winograd(x, w, b, tx, tw, tb, padding)
    return conv2d_im2col(x, w, b, tx, tw, tb, stride, padding, dilation, groups)
