"""k-tangent forward pass of LeNet-5: dualgrad's jvp against a hand-written im2col network.

    python benchmarks/lenet_jvp.py [--k 1 4 16] [--budget 1.0] [--threads N] [--json out.json]

The work: the mean softmax-cross-entropy of the classic LeNet-5 (conv 1→6 5×5, ReLU, max-pool 2,
conv 6→16 5×5, ReLU, max-pool 2, FC 256→120→84→10 with ReLUs) on a batch of 128 1×28×28 images, float32,
tangents on every weight and bias. Methods, timed in one process and interleaved:

- numpy primal forward (no tangents): the denominator of the ratios;
- dualgrad: ``dg.jvp`` of the network written with ``dg.conv2d``, ``dg.relu``, ``dg.max_pool2d``, ``@``
  and ``dg.softmax_cross_entropy``;
- hand-written: the same network written directly with NumPy on the k-first layout — im2col columns of
  each conv input computed once and reused for ``W·cols(x)`` and ``dW·cols(x)``, ``W·cols(dx)`` with k
  folded into the batch, one argmax per pooling window for all k, the loss tangent from the softmax;
- GEMMs only: the matrix products of the hand-written network on fixed operands (the floor).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import threadpool_info, threadpool_limits

import dualgrad as dg

BATCH = 128
CONVS = [(6, 1, 5), (16, 6, 5)]            # (out channels, in channels, kernel)
FCS = [(256, 120), (120, 84), (84, 10)]


def make_problem(k, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    params = []
    for o, c, kk in CONVS:
        params += [rng.standard_normal((o, c, kk, kk)) / np.sqrt(c * kk * kk), np.zeros(o)]
    for a, b in FCS:
        params += [rng.standard_normal((a, b)) / np.sqrt(a), np.zeros(b)]
    params = [p.astype(dtype) for p in params]
    tangents = [rng.standard_normal((k,) + p.shape).astype(dtype) for p in params]
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, BATCH)
    return params, tangents, x, y


# ----- dualgrad ----------------------------------------------------------------------------------------
def dualgrad_loss(params, x, y):
    w1, b1, w2, b2, f1, c1, f2, c2, f3, c3 = params
    h = dg.max_pool2d(dg.relu(dg.conv2d(x, w1, b1)), 2)
    h = dg.max_pool2d(dg.relu(dg.conv2d(h, w2, b2)), 2)
    h = h.reshape(h.shape[0], -1)
    h = dg.relu(h @ f1 + c1)
    h = dg.relu(h @ f2 + c2)
    return dg.softmax_cross_entropy(h @ f3 + c3, y)


def dualgrad_jvp(params, tangents, x, y):
    return dg.jvp(lambda p: dualgrad_loss(p, x, y), (params,), (tangents,))


# ----- hand-written ----------------------------------------------------------------------------------------
def columns(x, kk):
    """im2col: (C·KK·KK, N·OH·OW) for stride 1, no padding."""
    n, c, h, w = x.shape
    oh, ow = h - kk + 1, w - kk + 1
    sn, sc, sh, sw = x.strides
    win = as_strided(x, (c, kk, kk, n, oh, ow), (sc, sh, sw, sn, sh, sw), writeable=False)
    return win.reshape(c * kk * kk, n * oh * ow), (n, oh, ow)


def conv(x, dx, w, dw, b, db):
    """Primal (N, O, OH, OW) and tangent (k, N, O, OH, OW) of a conv with tangents on x (or None), w, b."""
    o, k = w.shape[0], dw.shape[0]
    cols, (n, oh, ow) = columns(x, w.shape[-1])
    wm = w.reshape(o, -1)
    out = (wm @ cols).reshape(o, n, oh, ow).transpose(1, 0, 2, 3) + b[:, None, None]
    t = (dw.reshape(k * o, -1) @ cols).reshape(k, o, n, oh, ow).transpose(0, 2, 1, 3, 4)
    if dx is not None:
        dcols, _ = columns(dx.reshape((-1,) + dx.shape[2:]), w.shape[-1])
        t = t + (wm @ dcols).reshape(o, k, n, oh, ow).transpose(1, 2, 0, 3, 4)
    else:
        t = np.ascontiguousarray(t)
    t += db[:, None, :, None, None]
    return np.ascontiguousarray(out), t


def relu_pool(z, dz):
    """ReLU then 2×2 max-pool; one argmax per window serves all k tangent columns."""
    n, c, h, w = z.shape
    win = z.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(axis=-1)
    out = np.maximum(np.take_along_axis(win, arg[..., None], -1)[..., 0], 0)
    k = dz.shape[0]
    dwin = dz.reshape(k, n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 3, 5, 4, 6)
    dwin = dwin.reshape(k, n, c, h // 2, w // 2, 4)
    dout = np.take_along_axis(dwin, arg[None, ..., None], -1)[..., 0] * (out > 0)
    return out, dout


def hand_written(params, tangents, x, y):
    w1, b1, w2, b2, f1, c1, f2, c2, f3, c3 = params
    dw1, db1, dw2, db2, df1, dc1, df2, dc2, df3, dc3 = tangents
    h, dh = relu_pool(*conv(x, None, w1, dw1, b1, db1))
    h, dh = relu_pool(*conv(h, dh, w2, dw2, b2, db2))
    k = dh.shape[0]
    h, dh = h.reshape(BATCH, -1), dh.reshape(k, BATCH, -1)
    for i, (f, c, df, dc) in enumerate(((f1, c1, df1, dc1), (f2, c2, df2, dc2), (f3, c3, df3, dc3))):
        z = h @ f + c
        dz = np.matmul(h, df)                                 # X·dW: k GEMMs
        dz += (dh.reshape(-1, f.shape[0]) @ f).reshape(k, BATCH, -1)
        dz += dc[:, None, :]
        if i < 2:
            mask = z > 0
            h, dh = z * mask, dz * mask
        else:
            h, dh = z, dz
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(BATCH), y]))
    p[np.arange(BATCH), y] -= 1
    return loss, dh.reshape(k, -1) @ (p.ravel() / BATCH)


def numpy_primal(params, x, y):
    w1, b1, w2, b2, f1, c1, f2, c2, f3, c3 = params
    h = x
    for w, b in ((w1, b1), (w2, b2)):
        cols, (n, oh, ow) = columns(h, w.shape[-1])
        z = (w.reshape(w.shape[0], -1) @ cols).reshape(w.shape[0], n, oh, ow).transpose(1, 0, 2, 3) + b[:, None, None]
        pooled = np.maximum(np.maximum(z[:, :, 0::2, 0::2], z[:, :, 0::2, 1::2]),
                            np.maximum(z[:, :, 1::2, 0::2], z[:, :, 1::2, 1::2]))
        h = np.maximum(pooled, 0)
    h = h.reshape(BATCH, -1)
    for i, (f, c) in enumerate(((f1, c1), (f2, c2), (f3, c3))):
        h = h @ f + c
        if i < 2:
            h = np.maximum(h, 0)
    z = h - h.max(1, keepdims=True)
    return np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(BATCH), y])


def gemms_only(params, tangents, x):
    """The matrix products of ``hand_written`` on fixed operands of the right shapes: the floor."""
    w1, _, w2, _, f1, _, f2, _, f3, _ = params
    dw1, _, dw2, _, df1, _, df2, _, df3, _ = tangents
    k = dw1.shape[0]
    cols1, _ = columns(x, 5)
    cols1 = np.ascontiguousarray(cols1)
    h1 = np.ones((BATCH, 6, 12, 12), np.float32)
    cols2 = np.ascontiguousarray(columns(h1, 5)[0])
    dcols2 = np.ascontiguousarray(columns(np.ones((k * BATCH, 6, 12, 12), np.float32), 5)[0])
    jobs = [(w1.reshape(6, -1), cols1), (dw1.reshape(k * 6, -1), cols1),
            (w2.reshape(16, -1), cols2), (dw2.reshape(k * 16, -1), cols2), (w2.reshape(16, -1), dcols2)]
    h, dh = np.ones((BATCH, 256), np.float32), np.ones((k, BATCH, 256), np.float32)
    for f, df in ((f1, df1), (f2, df2), (f3, df3)):
        jobs += [(h, f), (h, df), (dh.reshape(-1, f.shape[0]), f)]
        h, dh = np.ones((BATCH, f.shape[1]), np.float32), np.ones((k, BATCH, f.shape[1]), np.float32)
    outs = [np.empty(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1]), np.float32)
            for a, b in jobs]

    def run():
        for (a, b), o in zip(jobs, outs):
            np.matmul(a, b, out=o)
    return run


# ----- timing ------------------------------------------------------------------------------------------------
def median_seconds(f, budget):
    for _ in range(2):
        f()
    t0 = time.perf_counter()
    f()
    first = time.perf_counter() - t0
    times = [first]
    for _ in range(int(min(200, max(7, budget / max(first, 1e-6)))) - 1):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(ks, budget):
    params, _, x, y = make_problem(1)
    rows = [dict(method="numpy primal forward", k=None, seconds=median_seconds(lambda: numpy_primal(params, x, y),
                                                                                budget))]
    for k in ks:
        params, tangents, x, y = make_problem(k)
        _, ours = dualgrad_jvp(params, tangents, x, y)
        _, ref = hand_written(params, tangents, x, y)
        err = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
        if err > 1e-3:
            raise AssertionError(f"k={k}: dualgrad and the hand-written network disagree (rel. error {err:.1e})")
        for method, f in (("dualgrad jvp", lambda: dualgrad_jvp(params, tangents, x, y)),
                          ("hand-written im2col network", lambda: hand_written(params, tangents, x, y)),
                          ("GEMMs only (the floor)", gemms_only(params, tangents, x))):
            rows.append(dict(method=method, k=k, seconds=median_seconds(f, budget), max_rel_diff=err))
    return rows


def report(rows):
    base = rows[0]["seconds"]
    hand = {r["k"]: r["seconds"] for r in rows if r["method"].startswith("hand-written")}
    floor = {r["k"]: r["seconds"] for r in rows if r["method"].startswith("GEMMs only")}
    print(f"{'method':32s} {'k':>3s} {'ms':>9s} {'x primal':>9s} {'x hand':>7s} {'x floor':>8s}")
    for r in rows:
        k = r["k"]
        ratio = (lambda d: f"{r['seconds'] / d[k]:.2f}" if k in d else "")
        print(f"{r['method']:32s} {'' if k is None else k:>3} {r['seconds'] * 1e3:9.2f} {r['seconds'] / base:9.2f} "
              f"{ratio(hand):>7s} {ratio(floor):>8s}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="k-tangent LeNet-5 forward: dualgrad vs a hand-written network")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per measurement")
    parser.add_argument("--threads", type=int, help="BLAS threads (default: the library's)")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    with threadpool_limits(args.threads):
        blas = [f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')} threads={d.get('num_threads')}"
                for d in threadpool_info()]
        print(f"numpy {np.__version__}, python {platform.python_version()}; blas: {'; '.join(blas)}")
        rows = run(args.k, args.budget)
    report(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(rows=rows, blas=blas), fh, indent=1)


if __name__ == "__main__":
    main()
