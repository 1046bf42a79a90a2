"""k-tangent forward pass of an MLP: dualgrad's jvp against the hand-fused NumPy floor.

    python benchmarks/mlp_jvp.py [--k 1 4 16 64] [--budget 1.0] [--json out.json]

The work: the mean softmax-cross-entropy loss of an MLP 784-1024-1024-10 (ReLU), batch 128, float32,
with tangents on every weight and bias, so the k jvps are the k directional derivatives of the loss
with respect to all parameters. Timed in one process, interleaved per k, median of repeated calls:

- numpy primal forward (no tangents): the denominator of the ratios;
- dualgrad: ``dg.jvp`` of the loss written with ``@``, ``dg.relu`` and ``dg.softmax_cross_entropy``,
  tangents in dualgrad's natural k-first layout ``(k, n, m)``;
- hand-fused: the same maths written by hand with tangents pre-laid ``(n, k, m)`` (so ``X @ dW`` is one
  ``(B, n) @ (n, k·m)`` GEMM), in-place masks and adds;
- GEMMs only: just the matrix products of the hand-fused kernel into preallocated outputs — the floor.

Also prints which BLAS ran (threadpoolctl) and checks that every method computes the same jvps.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import dualgrad as dg

SIZES = (784, 1024, 1024, 10)
BATCH = 128


def make_problem(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    layers = list(zip(SIZES[:-1], SIZES[1:]))
    Ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype) for a, b in layers]
    bs = [np.zeros(b, dtype) for _, b in layers]
    X = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], BATCH)
    return Ws, bs, X, y


def make_tangents(Ws, bs, k, seed=1):
    rng = np.random.default_rng(seed + k)
    dWs = [rng.standard_normal((k,) + W.shape, dtype=np.float32).astype(W.dtype) for W in Ws]
    dbs = [rng.standard_normal((k,) + b.shape, dtype=np.float32).astype(b.dtype) for b in bs]
    return dWs, dbs


# ----- the numpy baselines -----------------------------------------------------------------------
def numpy_primal(Ws, bs, X, y):
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if i < len(Ws) - 1:
            h = np.maximum(h, 0)
    z = h - h.max(1, keepdims=True)
    return np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y])


def hand_fused(Ws, bs, X, y, dWcs, dbs):
    """Forward pass with k weight tangents, pre-laid dWc (n, k, m); tangent activations (B, k, m)."""
    k = dbs[0].shape[0]
    h, dh = X, None
    for i, (W, b, dWc, db) in enumerate(zip(Ws, bs, dWcs, dbs)):
        n, m = W.shape
        z = h @ W
        z += b
        dz = (h @ dWc.reshape(n, k * m)).reshape(len(h), k, m)           # X·dW, one GEMM
        if dh is not None:
            dz += (dh.reshape(-1, n) @ W).reshape(len(h), k, m)          # dX·W, one GEMM
        dz += db
        if i < len(Ws) - 1:
            mask = z > 0
            np.maximum(z, 0, out=z)
            dz *= mask[:, None, :]
        h, dh = z, dz
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    p[np.arange(len(y)), y] -= 1
    p /= len(y)
    return loss, np.einsum("bkj,bj->k", dh, p)


def gemms_only(Ws, X, dWcs, k):
    """The matrix products of hand_fused, on fixed operands, into preallocated outputs: the floor."""
    jobs, h, dh = [], X, None
    for W, dWc in zip(Ws, dWcs):
        n, m = W.shape
        jobs.append((h, W, np.empty((len(X), m), W.dtype)))
        jobs.append((h, dWc.reshape(n, k * m), np.empty((len(X), k * m), W.dtype)))
        if dh is not None:
            jobs.append((dh.reshape(-1, n), W, np.empty((len(X) * k, m), W.dtype)))
        h = np.maximum(h @ W, 0)
        dh = np.ones((len(X), k, m), W.dtype)

    def run():
        for a, b, c in jobs:
            np.matmul(a, b, out=c)
    return run


# ----- dualgrad --------------------------------------------------------------------------------------
def dualgrad_loss(params, X, y):
    Ws, bs = params
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if i < len(Ws) - 1:
            h = dg.relu(h)
    return dg.softmax_cross_entropy(h, y)


def dualgrad_jvp(Ws, bs, X, y, dWs, dbs):
    return dg.jvp(lambda p: dualgrad_loss(p, X, y), ((Ws, bs),), ((dWs, dbs),))


# ----- timing ------------------------------------------------------------------------------------------
def median_seconds(f, budget):
    for _ in range(2):
        f()
    t0 = time.perf_counter()
    f()
    first = time.perf_counter() - t0
    reps = int(min(200, max(7, budget / max(first, 1e-6))))
    times = [first]
    for _ in range(reps - 1):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def blas_info():
    try:
        import threadpoolctl
        return [f"{d.get('internal_api')} {d.get('version')} kernel={d.get('architecture')} "
                f"threads={d.get('num_threads')}" for d in threadpoolctl.threadpool_info()]
    except ImportError:
        return ["threadpoolctl not installed"]


def run(ks, budget):
    Ws, bs, X, y = make_problem()
    rows = []
    t_primal = median_seconds(lambda: numpy_primal(Ws, bs, X, y), budget)
    rows.append(dict(method="numpy primal forward", k=None, seconds=t_primal))
    for k in ks:
        dWs, dbs = make_tangents(Ws, bs, k)
        dWcs = [np.ascontiguousarray(d.transpose(1, 0, 2)) for d in dWs]
        _, ours = dualgrad_jvp(Ws, bs, X, y, dWs, dbs)
        _, ref = hand_fused(Ws, bs, X, y, dWcs, dbs)
        err = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
        if err > 1e-3:
            raise AssertionError(f"k={k}: dualgrad and the hand-fused kernel disagree (rel. error {err:.1e})")
        floor = gemms_only(Ws, X, dWcs, k)
        for method, f in (("dualgrad jvp", lambda: dualgrad_jvp(Ws, bs, X, y, dWs, dbs)),
                          ("hand-fused, tangents pre-laid (n,k,m)", lambda: hand_fused(Ws, bs, X, y, dWcs, dbs)),
                          ("GEMMs only (the floor)", floor)):
            rows.append(dict(method=method, k=k, seconds=median_seconds(f, budget), max_rel_diff=err))
    return rows


def report(rows):
    base = rows[0]["seconds"]
    floors = {r["k"]: r["seconds"] for r in rows if r["method"].startswith("GEMMs only")}
    print(f"{'method':40s} {'k':>3s} {'ms':>9s} {'x primal':>9s} {'x floor':>8s}")
    for r in rows:
        k = "" if r["k"] is None else str(r["k"])
        vs_floor = f"{r['seconds'] / floors[r['k']]:8.2f}" if r["k"] in floors else ""
        print(f"{r['method']:40s} {k:>3s} {r['seconds'] * 1e3:9.2f} {r['seconds'] / base:9.2f} {vs_floor}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="k-tangent MLP forward: dualgrad vs the hand-fused NumPy floor")
    parser.add_argument("--k", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per measurement")
    parser.add_argument("--json", help="write the rows and machine info to this file")
    args = parser.parse_args(argv)
    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    for line in blas_info():
        print("  blas:", line)
    rows = run(args.k, args.budget)
    report(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(rows=rows, blas=blas_info(), numpy=np.__version__), fh, indent=1)


if __name__ == "__main__":
    main()
