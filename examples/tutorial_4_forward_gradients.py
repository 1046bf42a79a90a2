"""Tutorial 4: forward gradients (docs/tutorial/04-forward-gradients.md).

    python examples/tutorial_4_forward_gradients.py [--quick] [--figures DIR | --update-docs]

A random tangent's directional derivative gives an unbiased gradient estimate (∇f·v)v. With k tangents the
estimate can be their mean or the orthogonal projection of ∇f onto their span. This script checks the
unbiasedness, draws the projection's geometry in 3-D, and simulates the bias, error, norm and cosine of the
mean and the projection against the exact formulas of dualgrad.estimators.theory.
"""
import numpy as np
from _tutorial import Checks, parse_args, pyplot, save
from threadpoolctl import threadpool_limits

import dualgrad as dg
from dualgrad import estimators as est


def make_problem(n: int, seed: int):
    """f(x) = Σ log cosh(xᵢ) + ½ xᵀAx at a random x, with its exact gradient tanh(x) + Ax."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n)) / np.sqrt(n)
    A = M.T @ M

    def f(x):
        return np.sum(np.log(np.cosh(x))) + 0.5 * x @ A @ x

    x = rng.standard_normal(n)
    return f, x, np.tanh(x) + A @ x


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def single_tangent(checks, draws, rng):
    print("1. One random tangent: g_v = (∇f·v) v is unbiased")
    n = 16
    f, x, grad = make_problem(n, seed=1)
    V = rng.standard_normal((draws, n))                      # all draws in ONE forward pass: k = draws
    _, d = dg.jvp(f, (x,), (V,))                             # d[i] = ∇f·v_i
    checks.check(np.allclose(d, V @ grad, rtol=1e-10, atol=1e-12), "the jvps are ∇f·vᵢ")
    G = d[:, None] * V                                       # one estimate per row
    mean, se = G.mean(axis=0), G.std(axis=0, ddof=1) / np.sqrt(draws)
    z = (mean - grad) / se
    print(f"   {draws} draws, n = {n}: |mean − ∇f| / |∇f| = {np.linalg.norm(mean - grad) / np.linalg.norm(grad):.3f} "
          f"(expected about √((n+1)/draws) = {np.sqrt((n + 1) / draws):.3f}); largest |z| {np.max(np.abs(z)):.2f}")
    print(f"   a single draw: mean cos(g_v, ∇f) = {np.mean([cosine(g, grad) for g in G[:1000]]):.3f}")
    checks.check(np.max(np.abs(z)) < 5, "the average of the draws is ∇f: every coordinate within 5 standard errors")
    checks.check(np.all(G @ grad >= 0), "every draw is a non-ascent direction: g_v·∇f = (∇f·v)² ≥ 0")


def geometry(checks, args):
    print("\n2. Two tangents in 3-D: the projection onto their plane")
    f, x, grad = make_problem(3, seed=5)
    V = est.sample_tangents(2, 3, "normal", np.random.default_rng(157))     # (k, n) = (2, 3)
    _, d = dg.jvp(f, (x,), (V,))
    projection, mean = est.aggregate(V, d, "projection"), est.aggregate(V, d, "mean")
    residual = grad - projection
    print(f"   ∇f = {np.round(grad, 3)}, P∇f = {np.round(projection, 3)}, mean = {np.round(mean, 3)}")
    print(f"   cos(P∇f, ∇f) = {cosine(projection, grad):.3f}, cos(mean, ∇f) = {cosine(mean, grad):.3f}")
    checks.check(np.allclose(V @ residual, 0, atol=1e-12), "∇f − P∇f is orthogonal to both tangents")
    checks.check(cosine(projection, grad) >= cosine(mean, grad), "the projection has the larger cosine")
    checks.check(np.isclose(projection @ grad, projection @ projection) and
                 np.linalg.norm(projection) <= np.linalg.norm(grad),
                 "P∇f·∇f = ‖P∇f‖² (a descent direction) and ‖P∇f‖ ≤ ‖∇f‖")
    plt = pyplot(args)
    if plt is None:
        return
    frame = np.linalg.qr(np.column_stack([V[0], V[1], grad]))[0]     # rotate: span{v₁, v₂} horizontal,
    frame *= np.sign(grad @ frame)                                     # ∇f above it; lengths and angles kept
    fig = plt.figure(figsize=(6.5, 5.5))
    ax = fig.add_subplot(projection="3d")
    vectors = [(V[0], "v₁", "tab:blue"), (V[1], "v₂", "tab:blue"), (grad, "∇f", "black"),
               (projection, "P∇f", "tab:green"), (mean, "mean", "tab:red")]
    extent = 1.2 * max(np.abs(v @ frame[:, :2]).max() for v, _, _ in vectors)
    s, t = np.meshgrid([-extent, extent], [-extent, extent])
    ax.plot_surface(s, t, 0 * s, alpha=0.15, color="tab:blue")
    for vector, label, color in vectors:
        u = vector @ frame
        ax.quiver(0, 0, 0, *u, color=color, arrow_length_ratio=0.1, lw=2)
        ax.text(*(1.1 * u), label, color=color, fontsize=12)
    ax.plot(*np.stack([grad @ frame, projection @ frame]).T, "k:", lw=1.5)
    ax.set(title="∇f, two tangents, their plane, the projection and the mean", zlim=(0, extent),
           xlabel="in the plane", ylabel="in the plane", zlabel="normal to the plane")
    ax.view_init(elev=25, azim=30)
    save(fig, args, "tutorial_4_projection.png")


def statistics(checks, args, samples, rng):
    n = 64
    ks = [1, 4, 16, 64] if args.quick else [1, 2, 4, 8, 16, 32, 64]
    print(f"\n3. Mean against projection, n = {n}, {samples} draws per k, against dualgrad.estimators.theory")
    f, x, grad = make_problem(n, seed=3)
    norm2 = grad @ grad
    theory = {"cosine": est.theory.expected_cosine, "norm ratio": est.theory.expected_norm_ratio,
              "squared error": est.theory.mean_squared_error, "bias factor": est.theory.bias_factor}
    table, always_better = {}, True
    for k in ks:
        V = est.sample_tangents(samples * k, n, "normal", rng)
        _, d = dg.jvp(f, (x,), (V,))                         # all samples' jvps in one pass
        V, d = V.reshape(samples, k, n), d.reshape(samples, k)
        for method in ("projection", "mean"):
            G = np.stack([est.aggregate(Vs, ds, method) for Vs, ds in zip(V, d)])       # (samples, n)
            norms = np.linalg.norm(G, axis=1)
            measured = {"cosine": G @ grad / (norms * np.sqrt(norm2)), "norm ratio": norms / np.sqrt(norm2),
                        "squared error": np.sum((G - grad) ** 2, axis=1) / norm2, "bias factor": G @ grad / norm2}
            for metric, values in measured.items():
                table[k, method, metric] = (values.mean(), values.std(ddof=1) / np.sqrt(samples),
                                            theory[metric](n, k, method))
            if method == "projection":
                cos_projection = measured["cosine"]
        always_better &= bool(np.all(cos_projection >= measured["cosine"] - 1e-12))
    print(f"   {'k':>3} {'method':>10} | " + " | ".join(f"{m:>22}" for m in theory))
    print(f"   {'':>3} {'':>10} | " + " | ".join(f"{'simulated':>10} {'exact':>11}" for _ in theory))
    worst = 0.0
    for k in ks:
        for method in ("projection", "mean"):
            cells = []
            for metric in theory:
                mean, se, exact = table[k, method, metric]
                cells.append(f"{mean:10.4g} {exact:11.4g}")
                gap = abs(mean - exact)
                worst = max(worst, 0.0 if gap < 1e-9 else gap / se if se > 0 else np.inf)   # k = n: exact
            print(f"   {k:3d} {method:>10} | " + " | ".join(cells))
    print(f"   largest |simulated − exact| / standard error: {worst:.2f}")
    checks.check(always_better, "on every draw cos(projection) ≥ cos(mean)")
    checks.check(worst < 5, "every simulated mean (cosine, norm ratio, squared error, bias factor) is within 5 "
                 "standard errors of the exact formula")
    checks.check(all(table[k, "projection", "cosine"][0] > table[k, "mean", "cosine"][0] for k in ks if k > 1),
                 "for k > 1 the projection's mean cosine is the larger")

    _, g, V, d = est.forward_gradient(f, x, k=16, method="projection", rng=rng, return_tangents=True)
    checks.check(np.allclose(g, est.aggregate(V, V @ grad, "projection"), rtol=1e-10, atol=1e-12),
                 "est.forward_gradient = sample, one jvp pass, aggregate")

    plt = pyplot(args)
    if plt is None:
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric, scale in zip(axes, ("cosine", "norm ratio", "squared error"), ("linear", "log", "log")):
        for method, color in (("projection", "tab:green"), ("mean", "tab:red")):
            means = [table[k, method, metric][0] for k in ks]
            errors = [5 * table[k, method, metric][1] for k in ks]
            ax.errorbar(ks, means, yerr=errors, fmt="o", color=color, label=f"{method}, simulated (±5 SE)")
            fine = np.unique(np.geomspace(1, n, 40).astype(int))
            ax.plot(fine, [theory[metric](n, k, method) for k in fine], "-", color=color, alpha=0.6,
                    label=f"{method}, exact")
        ax.set(xscale="log", yscale=scale, xlabel="k", title=f"{metric} (n = {n})")
    axes[0].set_ylabel("E over draws")
    axes[2].set_ylim(bottom=0.01)                # the projection's error is 0 at k = n, off the log axis
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save(fig, args, "tutorial_4_mean_vs_projection.png")


def main(argv=None):
    args = parse_args(__doc__, argv)
    checks = Checks()
    rng = np.random.default_rng(0)
    with threadpool_limits(1):                   # thousands of tiny factorisations: one BLAS thread is fastest
        single_tangent(checks, 4000 if args.quick else 40000, rng)
        geometry(checks, args)
        statistics(checks, args, 300 if args.quick else 3000, rng)
    checks.finish()


if __name__ == "__main__":
    main()
