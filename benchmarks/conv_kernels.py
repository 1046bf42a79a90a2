"""k-tangent conv2d: dualgrad's fused rule against a hand-written im2col floor and the per-sample layout.

    python benchmarks/conv_kernels.py [--k 1 4 16] [--reps 9] [--threads N] [--json out.json]

The work: ``out = conv2d(x, w)`` and its k directional derivatives ``conv(dx, w) + conv(x, dw)``
(tangents on x and w), float32, NCHW, at the sizes of LeNet-5's two convolutions and a CIFAR-like
first layer. The tangent result is the k-first block ``(k, N, O, OH, OW)``. Methods:

- im2col floor: the straightforward hand-written kernel, no checks and no Python dispatch: columns
  ``(C·KH·KW, N·OH·OW)`` of x and of the ``(k·N, C, H, W)`` view of dx, the three GEMMs
  ``W·cols(x)``, ``W·cols(dx)``, ``dW·cols(x)`` (the k weight tangents stacked as ``(k·O, C·KH·KW)``
  rows), then one transposing copy for the primal and one transposing add for the tangent;
- per-sample layout: the alternative column layout ``(N, C·KH·KW, OH·OW)``: a GEMM per sample (a
  stacked matmul), whose outputs land in NCHW order without a copy;
- dualgrad: ``dg.jvp(lambda x, w: dg.conv2d(x, w, padding=p), ...)``, the whole call.

Timed in one process, the methods interleaved rep by rep in random order, after checking that all three compute the
same primal and tangent. The table gives the minimum and the median of the reps; on a shared machine
the minimum is the steadier of the two (other tenants only ever add time), so the ratio uses it.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import as_strided

import dualgrad as dg

SHAPES = {  # name: (x shape, w shape, padding)
    "lenet-conv1": ((128, 1, 28, 28), (6, 1, 5, 5), 0),
    "lenet-conv2": ((128, 6, 14, 14), (16, 6, 5, 5), 0),
    "cifar-conv1": ((128, 3, 32, 32), (32, 3, 3, 3), 1),
}


def make_problem(x_shape, w_shape, k, seed=0):
    rng = np.random.default_rng(seed)
    x, w = (rng.standard_normal(s, dtype=np.float32) for s in (x_shape, w_shape))
    dx, dw = (rng.standard_normal((k,) + s, dtype=np.float32) for s in (x_shape, w_shape))
    return x, w, dx, dw


# ----- hand-written kernels ------------------------------------------------------------------------
def windows(x, kh, kw, p):
    """(B, C, KH, KW, OH, OW) view of x zero-padded by p (stride 1, no dilation)."""
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    b, c, h, w = x.shape
    sb, sc, sh, sw = x.strides
    return as_strided(x, (b, c, kh, kw, h - kh + 1, w - kw + 1), (sb, sc, sh, sw, sh, sw), writeable=False)


def im2col_floor(x, w, dx, dw, p):
    (n, c, h, wd), (o, _, kh, kw), k = x.shape, w.shape, dx.shape[0]
    oh, ow = h + 2 * p - kh + 1, wd + 2 * p - kw + 1
    kk, npix = c * kh * kw, n * oh * ow
    cols = windows(x, kh, kw, p).transpose(1, 2, 3, 0, 4, 5).reshape(kk, npix)
    dcols = windows(dx.reshape(k * n, c, h, wd), kh, kw, p).transpose(1, 2, 3, 0, 4, 5).reshape(kk, k * npix)
    wm = w.reshape(o, kk)
    out = np.ascontiguousarray((wm @ cols).reshape(o, n, oh, ow).transpose(1, 0, 2, 3))
    t_x = (wm @ dcols).reshape(o, k, n, oh, ow).transpose(1, 2, 0, 3, 4)
    t_w = (dw.reshape(k * o, kk) @ cols).reshape(k, o, n, oh, ow).transpose(0, 2, 1, 3, 4)
    t = np.empty((k, n, o, oh, ow), np.float32)
    np.add(t_x, t_w, out=t)
    return out, t


def per_sample(x, w, dx, dw, p):
    (n, c, h, wd), (o, _, kh, kw), k = x.shape, w.shape, dx.shape[0]
    oh, ow = h + 2 * p - kh + 1, wd + 2 * p - kw + 1
    kk, pix = c * kh * kw, oh * ow
    cols = windows(x, kh, kw, p).reshape(n, kk, pix)
    dcols = windows(dx.reshape(k * n, c, h, wd), kh, kw, p).reshape(k * n, kk, pix)
    wm = w.reshape(o, kk)
    out = np.matmul(wm, cols).reshape(n, o, oh, ow)
    t = np.matmul(wm, dcols).reshape(k, n, o, oh, ow)
    t += np.matmul(dw.reshape(k * o, kk), cols).reshape(n, k, o, oh, ow).transpose(1, 0, 2, 3, 4)
    return out, t


def dualgrad_conv(x, w, dx, dw, p):
    return dg.jvp(lambda x, w: dg.conv2d(x, w, padding=p), (x, w), (dx, dw))


METHODS = {"im2col floor": im2col_floor, "per-sample layout": per_sample, "dualgrad": dualgrad_conv}


# ----- timing ------------------------------------------------------------------------------------------
def interleaved_times(fns, reps, seed=0):
    """(min, median) seconds of each function, run round-robin (in a fresh random order each round, so
    that neither load drifts nor the allocator state left by the previous call favour one of them)."""
    rng = np.random.default_rng(seed)
    for f in fns.values():
        f()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name in rng.permutation(list(fns)):
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(ts), statistics.median(ts)) for name, ts in times.items()}


def run(ks, reps):
    rows = []
    for shape_name, (x_shape, w_shape, p) in SHAPES.items():
        for k in ks:
            args = make_problem(x_shape, w_shape, k) + (p,)
            ref_out, ref_t = im2col_floor(*args)
            for name, f in METHODS.items():
                out, t = f(*args)
                err = max(float(np.max(np.abs(out - ref_out))) / float(np.max(np.abs(ref_out))),
                          float(np.max(np.abs(t - ref_t))) / float(np.max(np.abs(ref_t))))
                if err > 1e-4:
                    raise AssertionError(f"{shape_name}, k={k}: {name} disagrees with the floor ({err:.1e})")
            times = interleaved_times({name: (lambda f=f: f(*args)) for name, f in METHODS.items()}, reps)
            rows.append(dict(shape=shape_name, x=x_shape, w=w_shape, padding=p, k=k, seconds=times))
    return rows


def report(rows):
    """One line per (shape, k): min / median milliseconds of each method and dualgrad's ratio to the floor."""
    names = list(METHODS)
    print(f"{'shape':12s} {'k':>3s} " + " ".join(f"{n + ' ms (min/med)':>30s}" for n in names)
          + f" {'dualgrad/floor (min, med)':>26s}")
    for r in rows:
        s, floor = r["seconds"], r["seconds"]["im2col floor"]
        cells = " ".join(f"{s[n][0] * 1e3:22.1f} /{s[n][1] * 1e3:6.1f}" for n in names)
        ratios = f"{s['dualgrad'][0] / floor[0]:20.2f}, {s['dualgrad'][1] / floor[1]:4.2f}"
        print(f"{r['shape']:12s} {r['k']:3d} {cells} {ratios}")


def blas_info():
    try:
        import threadpoolctl
        return [f"{d.get('internal_api')} {d.get('version')} threads={d.get('num_threads')}"
                for d in threadpoolctl.threadpool_info()]
    except ImportError:
        return ["threadpoolctl not installed"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="k-tangent conv2d: dualgrad vs the hand-written im2col floor")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--reps", type=int, default=15, help="timed calls per method (interleaved)")
    parser.add_argument("--threads", type=int, help="limit the BLAS threads (threadpoolctl)")
    parser.add_argument("--json", help="write the rows and machine info to this file")
    args = parser.parse_args(argv)
    limit = contextlib.nullcontext()
    if args.threads:
        import threadpoolctl
        limit = threadpoolctl.threadpool_limits(args.threads)
    with limit:
        print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} cpus")
        for line in blas_info():
            print("  blas:", line)
        rows = run(args.k, args.reps)
    report(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(rows=rows, blas=blas_info(), numpy=np.__version__), fh, indent=1)


if __name__ == "__main__":
    main()
