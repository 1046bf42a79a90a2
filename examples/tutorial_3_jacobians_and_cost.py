"""Tutorial 3: Jacobians and cost (docs/tutorial/03-jacobians-and-cost.md).

    python examples/tutorial_3_jacobians_and_cost.py [--quick] [--figures DIR | --update-docs]

dg.jacfwd builds a Jacobian from forward passes with chunk_size columns each; this script counts the passes,
sets forward mode against what reverse mode would need for tall and wide Jacobians, and measures the time
and memory of one k-column pass against k on this machine (tracemalloc traces NumPy's allocations).
"""
import math
import time
import tracemalloc

import numpy as np
from _tutorial import Checks, parse_args, pyplot, save
from threadpoolctl import threadpool_limits

import dualgrad as dg


def best_time(fn, repeats: int) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by other processes)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_bytes(fn) -> int:
    """The peak of memory allocated while fn runs, above what was allocated before."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    args = parse_args(__doc__, argv)
    with threadpool_limits(1):                   # one BLAS thread: steadier timings on a shared machine
        measure(args)


def measure(args):
    checks = Checks()
    rng = np.random.default_rng(0)

    print("1. jacfwd, chunk by chunk")
    A = rng.standard_normal((6, 10))
    calls = []

    def f(x):                                    # R^10 -> R^6
        calls.append(1)
        return np.tanh(A @ x) * np.sum(x * x)

    x = rng.standard_normal(10)
    exact = (1 - np.tanh(A @ x) ** 2)[:, None] * A * np.sum(x * x) + np.outer(np.tanh(A @ x), 2 * x)
    for chunk in (1, 3, 10, None):
        calls.clear()
        J = dg.jacfwd(f, chunk_size=chunk)(x)
        passes = math.ceil(10 / (chunk or dg.default_chunk_size(10)))
        print(f"   chunk_size={chunk}: {len(calls)} forward passes, J {J.shape}, "
              f"max error {np.max(np.abs(J - exact)):.1e}")
        checks.check(len(calls) == passes and np.allclose(J, exact, rtol=1e-13, atol=1e-13),
                     f"chunk_size={chunk}: ⌈n/chunk⌉ = {passes} passes give the exact Jacobian")

    print("\n2. Tall and wide Jacobians: forward mode pays per input, reverse mode per output")
    few, many = 8, 4096
    B = rng.standard_normal((many, few)) / np.sqrt(few)

    def tall(x):                                 # R^8 -> R^4096
        return np.tanh(B @ x)

    def wide(x):                                 # R^4096 -> R: a loss of many parameters
        return np.sum(np.tanh(x @ B) ** 2)

    x_tall, x_wide = rng.standard_normal(few), rng.standard_normal(many) / np.sqrt(many)
    repeats = 5 if args.quick else 10
    t_tall = best_time(lambda: dg.jacfwd(tall)(x_tall), repeats)
    t_wide = best_time(lambda: dg.jacfwd(wide)(x_wide), repeats)
    t_eval = best_time(lambda: wide(x_wide), repeats)
    z = np.tanh(x_wide @ B)
    reverse = B @ (2 * z * (1 - z * z))          # the gradient by one reverse sweep, written by hand
    print(f"   tall {many}x{few}: jacfwd {t_tall * 1e3:7.2f} ms  ({math.ceil(few / dg.default_chunk_size(few))} pass; "
          f"reverse mode would need {many} sweeps)")
    print(f"   wide 1x{many}: jacfwd {t_wide * 1e3:7.2f} ms  ({math.ceil(many / dg.default_chunk_size(many))} passes; "
          f"reverse mode: 1 sweep, about one evaluation = {t_eval * 1e3:.3f} ms)")
    checks.check(np.allclose(dg.jacfwd(wide)(x_wide), reverse, rtol=1e-12, atol=1e-14),
                 "jacfwd of the wide function equals the hand-written reverse-mode gradient")
    checks.check(t_wide > 5 * t_tall, "the wide Jacobian (4096 inputs) costs forward mode more than 5x the tall one "
                 "(8 inputs), although both have 32768 entries")

    print("\n3. One k-column pass: time and memory against k")
    batch, width = 32, 64
    W1 = rng.standard_normal((width, width)) / np.sqrt(width)
    W2 = rng.standard_normal((width, width)) / np.sqrt(width)
    X = rng.standard_normal((batch, width))

    def mlp(x):
        return np.tanh(np.tanh(x @ W1) @ W2)

    ks = [1, 4, 16, 64] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
    tangents = {k: rng.standard_normal((k, batch, width)) for k in ks}
    seconds, peaks = [], []
    for k in ks:
        seconds.append(best_time(lambda k=k: dg.jvp(mlp, (X,), (tangents[k],)), repeats))
        peaks.append(peak_bytes(lambda k=k: dg.jvp(mlp, (X,), (tangents[k],))))
    plain_seconds, plain_peak = best_time(lambda: mlp(X), repeats), peak_bytes(lambda: mlp(X))
    block = batch * width * 8                     # bytes of one (B, W) float64 array
    print(f"   plain NumPy pass: {plain_seconds * 1e3:.3f} ms, peak {plain_peak / 1e6:.2f} MB "
          f"(one {batch}x{width} array is {block / 1e6:.2f} MB)")
    print(f"   {'k':>4} {'ms/pass':>9} {'µs/column':>10} {'peak MB':>8} {'peak / (1+k) arrays':>20}")
    for k, s, p in zip(ks, seconds, peaks):
        print(f"   {k:4d} {s * 1e3:9.3f} {s / k * 1e6:10.1f} {p / 1e6:8.2f} {p / ((1 + k) * block):20.2f}")
    slope, intercept = np.polyfit(ks, peaks, 1)
    fit = np.polyval([slope, intercept], ks)
    print(f"   linear fit: {slope / block:.2f} arrays of {block / 1e6:.2f} MB per extra column")
    checks.check(np.max(np.abs(fit - peaks)) < 0.05 * max(peaks),
                 "peak memory grows linearly in k (a straight line, within 5% of the largest peak)")
    checks.check(1 <= slope / block <= 4, "each extra column costs 1-4 arrays of the batch's size: the tangents "
                 "of the live intermediates")
    checks.check(seconds[-1] / ks[-1] < seconds[0], f"a column costs less in a block of {ks[-1]} than alone "
                 "(the per-pass Python work is shared)")
    one_by_one = best_time(lambda: [dg.jvp(mlp, (X,), (t[None],)) for t in tangents[16]], repeats)
    checks.check(seconds[ks.index(16)] < one_by_one,
                 f"one 16-column pass ({seconds[ks.index(16)] * 1e3:.2f} ms) beats 16 one-column passes "
                 f"({one_by_one * 1e3:.2f} ms)")

    plt = pyplot(args)
    if plt is not None:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
        ax1.loglog(ks, np.array(seconds) * 1e3, "o-", label="one k-column pass")
        ax1.loglog(ks, np.array(seconds) / ks * 1e3, "s--", label="per column")
        ax1.axhline(plain_seconds * 1e3, color="gray", ls=":", label="plain NumPy pass")
        ax1.set(xlabel="k (tangent columns)", ylabel="ms", title=f"time: 2-layer tanh MLP, batch {batch}x{width}")
        ax1.legend()
        ax2.plot(ks, np.array(peaks) / 1e6, "o-", label="peak (tracemalloc)")
        ax2.plot(ks, fit / 1e6, "k:", label=f"{slope / block:.2f} arrays per column")
        ax2.set(xlabel="k (tangent columns)", ylabel="MB", title="peak memory of one pass")
        ax2.legend()
        fig.tight_layout()
        save(fig, args, "tutorial_3_cost.png")
    checks.finish()


if __name__ == "__main__":
    main()
