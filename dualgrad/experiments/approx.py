"""Approximation quality of the multi-tangent forward gradients (Flügel et al. 2024, §4.1 and §4.3).

The objective is f(x) = Σ_i x_i, whose gradient is ``ones(n)``, the paper's true gradient (‖∇f‖² = n).
A sample is one draw of k tangents, the k jvps d = V∇f and the estimates built from them; its metrics are
the cosine with ∇f, ‖ĝ‖/‖∇f‖, ‖ĝ‖, ‖ĝ − ∇f‖ and ĝ·∇f.

``run_approx`` (§4.1): Gaussian tangents, every (n, k) of a grid. A sample is drawn on one of three exact
paths (docs/experiments/approximation.md derives them and says where each is used):

- ``direct``  (n·k ≤ DIRECT_MAX_SIZE): per sample and k a fresh ``V = sample_tangents(k, n)``, jvps from one
  ``dg.jvp`` pass, estimates from ``aggregate(V, d, method)``, metrics from the vectors;
- ``gram``    (n ≤ GRAM_MAX_N, or k ≥ n): per sample one V of K = max k rows and its K jvps from one
  ``dg.jvp`` pass; every k uses the first k rows (tangent sets nested across k within a sample, each k's
  law exact) and the metrics follow from (G = V Vᵀ, d) in closed form;
- ``wishart`` (n > GRAM_MAX_N and K < n): (G, d) drawn from their exact joint law without V, same formulas.

``run_angles`` (§4.3): unit tangents at a fixed angle to a base tangent (``sampler="angle"``), direct path.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np

from ..estimators import aggregate, sample_tangents, theory
from ..transforms import jvp
from .report import legend_outside, render_table
from .sweep import job_rng, run_jobs, summarize, write_csv

APPROACHES = ("fg", "projection", "mean", "sum", "mean_normalized", "sum_normalized")
ESTIMATES = APPROACHES[1:]            # computed per k; fg (k = 1) is the sum at k = 1
METRICS = ("cosine", "norm_ratio", "norm", "error_norm", "dot")
COLUMNS = ("n", "k", "approach", "samples", "metric", "mean", "std", "ci95")
ANGLE_APPROACHES = ("projection", "mean", "sum")
ANGLE_COLUMNS = ("n", "k", "angle", "approach", "samples", "metric", "mean", "std", "ci95")

PAPER_N = tuple(2 ** i for i in range(17))          # 2^0 … 2^16
PAPER_K = tuple(2 ** i for i in range(11))          # 2^0 … 2^10
QUICK_N = (1, 4, 16, 64, 256, 1024, 16384)
QUICK_K = (1, 4, 16, 64, 256)
QUICK_SAMPLES = 200
ANGLES = (15, 30, 45, 60, 75, 90)
ANGLE_N, ANGLE_K, ANGLE_SAMPLES = 64, (4, 16, 64), 1000

DIRECT_MAX_SIZE = 2 ** 10      # n·k up to this: the library's own aggregate() on the vectors
GRAM_MAX_N = 2 ** 12           # n up to this: tangents materialised, jvps from the engine
JOB_SECONDS = 1.0              # the target length of one job (load balance only: results do not depend on it)


def paper_samples(n: int) -> int:
    """The paper's sample counts: 1000 for n ≤ 2^14, 100 for 2^15 and 2^16."""
    return 1000 if n <= 2 ** 14 else 100


def objective(x):
    """f(x) = Σ x_i: ∇f = ones(n) everywhere."""
    return np.sum(x)


# ----- metrics ------------------------------------------------------------------------------------------
def _metrics(norm2, dot, grad_norm2):
    """(..., 5) = cosine, norm_ratio, norm, error_norm, dot from ‖ĝ‖², ĝ·∇f and ‖∇f‖²,
    with ‖ĝ − ∇f‖² = ‖ĝ‖² − 2ĝ·∇f + ‖∇f‖²."""
    norm = np.sqrt(norm2)
    error = np.sqrt(np.maximum(norm2 - 2 * dot + grad_norm2, 0.0))
    return np.stack([dot / np.sqrt(norm2 * grad_norm2), norm / math.sqrt(grad_norm2), norm, error, dot], axis=-1)


def _vector_metrics(estimates, grad):
    """Metrics of estimates (a, n) against ∇f (n,), the error norm straight from the vectors."""
    metrics = _metrics(np.einsum("an,an->a", estimates, estimates), estimates @ grad, grad @ grad)
    metrics[:, 3] = np.linalg.norm(estimates - grad, axis=1)
    return metrics


def _factor_metrics(F, d, ks, n, projection2):
    """Metrics (len(ks), 5 estimates, 5) of the estimates from the first k tangents, every k in ks, when the
    tangents enter only through G = F Fᵀ (F: (K, c), row i standing for v_i) and d (K,), ∇f = ones(n):

        mean             ‖ḡ‖² = d_kᵀ G_k d_k / k² = ‖Σ_{i<k} d_i F_i‖² / k²,   ḡ·∇f = ‖d_k‖² / k
        mean_normalized  v̂_i = v_i/‖v_i‖, ‖v_i‖² = G_ii:  ĝ = (1/k) Σ_{i<k} (d_i/G_ii) v_i,
                         ĝ·∇f = Σ_{i<k} d_i²/G_ii / k
        sum, sum_normalized   k × the mean
        projection       ‖P∇f‖² = P∇f·∇f = projection2 (one value per k)
    """
    s2 = np.einsum("ij,ij->i", F, F)                           # G_ii = ‖v_i‖²
    weights = np.stack([d, d / s2])                            # (2, K): Σ w_i v_i is k·mean, k·mean_normalized
    partial = np.zeros((2, F.shape[1]))
    quad = np.empty((2, len(ks)))
    start = 0
    for j, k in enumerate(ks):                                 # prefix sums Σ_{i<k} w_i F_i, nested in k
        partial += weights[:, start:k] @ F[start:k]
        quad[:, j] = np.einsum("ac,ac->a", partial, partial)
        start = k
    dots = np.cumsum(weights * d, axis=1)[:, ks - 1]           # ‖d_k‖², Σ_{i<k} d_i²/G_ii
    norm2 = np.stack([projection2, quad[0] / ks ** 2, quad[0], quad[1] / ks ** 2, quad[1]], axis=1)
    dot = np.stack([projection2, dots[0] / ks, dots[0], dots[1] / ks, dots[1]], axis=1)
    return _metrics(norm2, dot, float(n))


# ----- the three paths: one sample -> (len(ks), 5 estimates, 5 metrics) -------------------------------------
def direct_sample(n: int, ks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per k a fresh V (k, n) and its normalised rows; the 2k jvps from one ``dg.jvp`` pass; ``aggregate``."""
    x, grad = np.zeros(n), np.ones(n)
    out = np.empty((len(ks), len(ESTIMATES), len(METRICS)))
    for j, k in enumerate(ks):
        V = sample_tangents(int(k), n, "normal", rng)                                    # (k, n)
        unit = V / np.linalg.norm(V, axis=1, keepdims=True)
        _, d = jvp(objective, (x,), (np.concatenate([V, unit]),))                        # (2k,)
        estimates = [aggregate(V, d[:k], "projection"), aggregate(V, d[:k], "mean"), aggregate(V, d[:k], "sum"),
                     aggregate(unit, d[k:], "mean"), aggregate(unit, d[k:], "sum")]
        out[j] = _vector_metrics(np.stack(estimates), grad)
    return out


def gram_sample(n: int, ks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One V (K, n), K = max ks, its K jvps from one ``dg.jvp`` pass; k uses the rows V[:k].

    Projection, k < n: ‖P∇f‖² = d_kᵀ G_k⁻¹ d_k = ‖L_k⁻¹ d_k‖² with G_k = L_k L_kᵀ. For L = chol(G_m), m the
    largest k < n, chol(G_k) is the leading k×k block of L and forward substitution is nested, so with
    y = L⁻¹ d_m every k gets ‖L_k⁻¹ d_k‖² = Σ_{i<k} y_i²: one Cholesky and one triangular solve per sample.
    k ≥ n: the projection keeps the first n tangents, which span R^n almost surely, so P∇f = ∇f.
    """
    # imported here, not at the top: `dualgrad --help` imports this module and scipy is slow to import
    import scipy.linalg
    V = sample_tangents(int(ks[-1]), n, "normal", rng)                                    # (K, n)
    _, d = jvp(objective, (np.zeros(n),), (V,))                                          # (K,) = V∇f
    projection2 = np.full(len(ks), float(n))
    below = ks[ks < n]
    if below.size:
        m = below[-1]
        L = np.linalg.cholesky(V[:m] @ V[:m].T)                                           # G_m = L Lᵀ
        y = scipy.linalg.solve_triangular(L, d[:m], lower=True)
        projection2[:below.size] = np.cumsum(y * y)[below - 1]
    return _factor_metrics(V, d, ks, n, projection2)


def wishart_sample(n: int, ks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(G, d) from their exact joint law, K = max ks < n. Rotating ∇f to √n·e_1 (the law of V is rotation
    invariant and G, d are unchanged) splits V = [z | W] with z ~ N(0, I_K), W (K, n−1) Gaussian:
    d = √n z and G = z zᵀ + W Wᵀ, W Wᵀ ~ Wishart_K(n−1, I) = L Lᵀ by Bartlett's decomposition (L lower
    triangular, L_ii² ~ χ²_{n−i}, L_ij ~ N(0, 1) below the diagonal). Its leading k×k blocks are Bartlett
    factors of Wishart_k(n−1, I), so every k uses the first k rows, as on the gram path; G = F Fᵀ, F = [z | L].

    Projection: G_k = L_k L_kᵀ + z_k z_kᵀ and d = √n z, so by Sherman–Morrison
    ‖P∇f‖² = d_kᵀ G_k⁻¹ d_k = n β/(1 + β) with β = ‖L_k⁻¹ z_k‖², nested in k like the gram path's solve.
    """
    import scipy.linalg
    K = int(ks[-1])
    if K >= n:
        raise ValueError(f"the wishart path needs every k < n; got k = {K}, n = {n}")
    z = rng.standard_normal(K)
    L = np.tril(rng.standard_normal((K, K)), -1)
    L[np.diag_indices(K)] = np.sqrt(rng.chisquare(n - np.arange(1, K + 1)))              # Bartlett
    b = scipy.linalg.solve_triangular(L, z, lower=True)
    beta = np.cumsum(b * b)[ks - 1]
    return _factor_metrics(np.column_stack([z, L]), math.sqrt(n) * z, ks, n, n * beta / (1 + beta))


PATHS = {"direct": direct_sample, "gram": gram_sample, "wishart": wishart_sample}


def sample_metrics(path: str, n: int, ks, seed: int, start: int, stop: int) -> np.ndarray:
    """Samples start … stop−1 of a path: (stop − start, len(ks), 5 estimates, 5 metrics). Sample s draws from
    ``job_rng(seed, "approx", path, n, s)``, whatever job or worker computes it."""
    ks = np.asarray(sorted(ks))
    return np.stack([PATHS[path](n, ks, job_rng(seed, "approx", path, n, s)) for s in range(start, stop)])


def _approx_job(job):
    return sample_metrics(*job)


def _rows(cell: dict, values) -> list[dict]:
    """One CSV row per metric of a cell from its samples (samples, 5 metrics)."""
    s = summarize(values)
    return [{**cell, "samples": s["samples"], "metric": metric, "mean": float(s["mean"][i]), "std": float(s["std"][i]),
             "ci95": float(s["ci95"][i])} for i, metric in enumerate(METRICS)]


# ----- the §4.1 sweep -------------------------------------------------------------------------------------
def plan(n: int, ks) -> list[tuple[str, tuple[int, ...]]]:
    """The blocks of one n: (path, the ks it computes). k = 1 is always computed (the fg baseline)."""
    ks = sorted(set(ks) | {1})
    direct = tuple(k for k in ks if n * k <= DIRECT_MAX_SIZE)
    rest = tuple(k for k in ks if n * k > DIRECT_MAX_SIZE)
    blocks = [("direct", direct)] if direct else []
    if rest:
        blocks.append(("wishart" if n > GRAM_MAX_N and rest[-1] < n else "gram", rest))
    return blocks


def _seconds_per_sample(path, n, ks):
    """A rough single-core cost model, used only to cut the samples into jobs of about JOB_SECONDS."""
    K = ks[-1]
    if path == "direct":
        return 3e-4 * len(ks)
    if path == "wishart":
        return 2e-4 + 2.5e-8 * K * K
    m = max([k for k in ks if k < n], default=0)
    return 2e-4 + 2.5e-8 * K * n + 2.5e-11 * m * m * n + 2e-11 * m ** 3


def run_approx(ns=PAPER_N, ks=PAPER_K, samples: int | None = None, seed: int = 0, executor=None,
               workers: int | None = None, progress: bool = True) -> list[dict]:
    """The §4.1 sweep: one row per (n, k, approach, metric) with mean, std and ci95 over the samples
    (``samples=None``: the paper's counts, ``paper_samples``). fg rows have k = 1."""
    ns, ks = sorted(set(ns)), sorted(set(ks))
    if ns[0] < 1 or ks[0] < 1 or (samples is not None and samples < 1):
        raise ValueError(f"run_approx needs n >= 1, k >= 1 and samples >= 1; got n={ns}, k={ks}, samples={samples}")
    counts = {n: samples or paper_samples(n) for n in ns}
    blocks = [(path, n, block) for n in ns for path, block in plan(n, ks)]
    jobs, owner = [], []
    for b, (path, n, block) in enumerate(blocks):
        chunk = max(1, int(JOB_SECONDS / _seconds_per_sample(path, n, block)))
        for start in range(0, counts[n], chunk):
            jobs.append((path, n, block, seed, start, min(start + chunk, counts[n])))
            owner.append(b)
    results = run_jobs(_approx_job, jobs, executor, workers, progress, desc="approx")
    values = {}                                            # (n, k) -> (samples, 5 estimates, 5 metrics)
    for b, (_, n, block) in enumerate(blocks):
        block_values = np.concatenate([r for r, o in zip(results, owner) if o == b])
        for j, k in enumerate(block):
            values[n, k] = block_values[:, j]
    rows = []
    for n in ns:
        cells = [(1, "fg", values[n, 1][:, ESTIMATES.index("sum")])]
        cells += [(k, a, values[n, k][:, i]) for k in ks for i, a in enumerate(ESTIMATES)]
        rows += [row for k, approach, v in cells for row in _rows({"n": n, "k": k, "approach": approach}, v)]
    return rows


# ----- the §4.3 angles experiment -----------------------------------------------------------------------
def angle_sample_metrics(n: int, k: int, angle: float, seed: int, start: int, stop: int) -> np.ndarray:
    """(stop − start, 3 approaches, 5 metrics): unit tangents at ``angle`` degrees to a base tangent."""
    x, grad = np.zeros(n), np.ones(n)
    out = []
    for s in range(start, stop):
        V = sample_tangents(k, n, "angle", job_rng(seed, "angles", n, k, angle, s), angle=angle)
        _, d = jvp(objective, (x,), (V,))
        out.append(_vector_metrics(np.stack([aggregate(V, d, a) for a in ANGLE_APPROACHES]), grad))
    return np.stack(out)


def _angles_job(job):
    return angle_sample_metrics(*job)


def run_angles(n: int = ANGLE_N, ks=ANGLE_K, angles=ANGLES, samples: int = ANGLE_SAMPLES, seed: int = 0,
               executor=None, workers: int | None = None, progress: bool = True) -> list[dict]:
    """The §4.3 approximation quality: one row per (k, angle, approach, metric)."""
    angles = sorted({int(a) if float(a).is_integer() else float(a) for a in angles})     # 15 and 15.0: one stream
    cells = [(k, a) for k in sorted(set(ks)) for a in angles]
    jobs = [(n, k, a, seed, 0, samples) for k, a in cells]                  # one job per cell: n = 64 is cheap
    results = run_jobs(_angles_job, jobs, executor, workers, progress, desc="angles")
    return [row for (k, a), v in zip(cells, results) for i, approach in enumerate(ANGLE_APPROACHES)
            for row in _rows({"n": n, "k": k, "angle": a, "approach": approach}, v[:, i])]


# ----- the tables the commands print -----------------------------------------------------------------------------
_THEORY = {"cosine": theory.expected_cosine, "norm_ratio": theory.expected_norm_ratio}


def _z(row) -> float:
    """(measured − exact) / standard error for a row the Gaussian theory covers; 0 for an exact cell (std 0)."""
    method = "sum" if row["approach"] == "fg" else row["approach"]
    exact = _THEORY[row["metric"]](row["n"], row["k"], method)
    return 0.0 if row["std"] == 0 else (row["mean"] - exact) / (row["std"] / math.sqrt(row["samples"]))


def theory_check(rows) -> str:
    """One line: how far the measured cosines and norm ratios of fg, projection, mean and sum are from the
    exact theory for Gaussian tangents, in standard errors (a normal law puts 4.6% beyond 2)."""
    z = [abs(_z(r)) for r in rows if r["metric"] in _THEORY and r["approach"] in ("fg", *theory.METHODS)]
    if not z:
        return "no row that the Gaussian theory covers"
    return (f"against the exact theory: {len(z)} cosine and norm-ratio means of fg, projection, mean and sum, "
            f"the largest {max(z):.2f} standard errors away, {np.mean(np.array(z) > 2):.1%} beyond 2")


def _grid(rows, approach, metric, markdown) -> str:
    """One line per n, one column per k."""
    means = {(r["n"], r["k"]): r["mean"] for r in rows if r["approach"] == approach and r["metric"] == metric}
    ns, ks = sorted({n for n, _ in means}), sorted({k for _, k in means})
    body = [[f"n={n}"] + [f"{means[n, k]:.4g}" if (n, k) in means else "" for k in ks] for n in ns]
    return render_table([""] + [f"k={k}" for k in ks], body, markdown)


def summary(rows, markdown: bool = False) -> str:
    """What ``dualgrad experiment approx`` prints: E[cos] of the projection and of the mean, the mean's norm
    ratio (the projection's equals its cosine), and the distance of every mean from the exact theory."""
    return "\n\n".join([
        "E[cos(ĝ, ∇f)], projection (frog)\n" + _grid(rows, "projection", "cosine", markdown),
        "E[cos(ĝ, ∇f)], mean (k = 1: fg)\n" + _grid(rows, "mean", "cosine", markdown),
        "E[‖ĝ‖ / ‖∇f‖], mean (the projection's equals its cosine)\n" + _grid(rows, "mean", "norm_ratio", markdown),
        theory_check(rows)])


def angles_summary(rows, markdown: bool = False) -> str:
    """What ``dualgrad experiment angles`` prints: E[cos] of the projection and the mean (the sum has the mean's
    direction) per k and angle, beside the exact value for Gaussian tangents, which the projection keeps at
    every angle."""
    cosine = {(r["approach"], r["k"], r["angle"]): r for r in rows if r["metric"] == "cosine"}
    ks, angles = sorted({k for _, k, _ in cosine}), sorted({a for _, _, a in cosine})
    n = rows[0]["n"]
    body = [[f"{approach} k={k}"] + [f"{cosine[approach, k, a]['mean']:.3f}" for a in angles]
            + [f"{theory.expected_cosine(n, k, approach):.3f}"] for approach in ("projection", "mean") for k in ks]
    table = render_table(["approach"] + [f"{a:g}°" for a in angles] + ["Gaussian"], body, markdown)
    z = [abs(_z(r)) for r in cosine.values() if r["approach"] == "projection"]
    return (f"E[cos(ĝ, ∇f)], n = {n}, unit tangents at a fixed angle to a base tangent "
            f"(last column: exact for Gaussian tangents)\n{table}\n\n"
            f"the projection's cosine is the Gaussian theory's at every angle: at most {max(z):.2f} standard errors "
            f"away")


# ----- plots (matplotlib is the optional extra "plot") --------------------------------------------------------
def _figure(nrows, ncols, width=4.2, height=3.6):
    from matplotlib.figure import Figure  # ImportError without the extra
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False).ravel()


def _means(rows, metric, *fields):
    return {tuple(r[f] for f in fields): r["mean"] for r in rows if r["metric"] == metric}


APPROACH_TITLES = {"fg": "fg: single tangent (k = 1)", "projection": "projection (frog)", "mean": "mean",
                   "sum": "sum", "mean_normalized": "mean of normalized tangents",
                   "sum_normalized": "sum of normalized tangents"}


def plot_approx(rows: list[dict], out_dir) -> list[pathlib.Path]:
    """``approx_cosine.png`` and ``approx_norm_ratio.png``: the metric's mean against n (log axes), one
    line per k (k = 1 of the mean is the fg baseline), the exact Gaussian theory dashed where it exists."""
    import matplotlib
    paths = []
    ns = sorted({r["n"] for r in rows})
    ks = sorted({r["k"] for r in rows if r["approach"] != "fg"})
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.92, len(ks)))
    for metric, label in (("cosine", "E[cos(ĝ, ∇f)]"), ("norm_ratio", "E[‖ĝ‖ / ‖∇f‖]")):
        fig, axes = _figure(2, 3)
        means = _means(rows, metric, "n", "k", "approach")
        for ax, approach in zip(axes, APPROACHES):
            for k, color in zip([1] if approach == "fg" else ks, colors):
                ax.plot(ns, [means[n, k, approach] for n in ns], color=color, marker=".", label=f"k = {k}")
                if approach in ("fg", *theory.METHODS):
                    method = "sum" if approach == "fg" else approach
                    ax.plot(ns, [_THEORY[metric](n, k, method) for n in ns], color=color, ls="--", lw=0.8)
            ax.set_xscale("log", base=2)
            ax.set(yscale="log", xlabel="n", ylabel=label, title=APPROACH_TITLES[approach])
        axes[2].legend(fontsize=7, loc="best")
        fig.suptitle(f"§4.1 approximation quality, Gaussian tangents: {metric} (dashed: exact theory)")
        paths.append(pathlib.Path(out_dir) / f"approx_{metric}.png")
        fig.savefig(paths[-1], dpi=110)
    return paths


def plot_angles(rows: list[dict], out_dir) -> list[pathlib.Path]:
    """``approx_angles_cosine.png``: E[cos] against the tangent angle, projection solid (exact theory dashed,
    independent of the angle), mean dotted (the sum has the mean's direction)."""
    import matplotlib
    fig, (ax,) = _figure(1, 1, width=8.4, height=4.5)
    ks = sorted({r["k"] for r in rows})
    angles = sorted({r["angle"] for r in rows})
    n = rows[0]["n"]
    means = _means(rows, "cosine", "k", "angle", "approach")
    for k, color in zip(ks, matplotlib.colormaps["viridis"](np.linspace(0, 0.85, len(ks)))):
        ax.plot(angles, [means[k, a, "projection"] for a in angles], color=color, marker="o", label=f"projection k={k}")
        ax.plot(angles, [means[k, a, "mean"] for a in angles], color=color, marker="s", ls=":", label=f"mean k={k}")
        ax.axhline(theory.expected_cosine(n, k, "projection"), color=color, ls="--", lw=0.8)
    ax.set(xlabel="angle between the tangents and the base tangent (degrees)", ylabel="E[cos(ĝ, ∇f)]",
           title=f"§4.3 custom tangents, n = {n} (dashed: projection theory)", xticks=angles)
    legend_outside(ax)
    path = pathlib.Path(out_dir) / "approx_angles_cosine.png"
    fig.savefig(path, dpi=110)
    return [path]


# ----- run, write, plot -----------------------------------------------------------------------------------------
def _write(rows, columns, name, out, plots, plot):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / name, columns, rows)
    written = [out / name]
    if plots:
        try:
            produced = plot(rows, out)
        except ImportError:
            print("matplotlib is not installed (pip install 'dualgrad[plot]'): skipping the plots")
        else:
            written += produced
    return written


def write_approx(rows, out, plots: bool = True) -> list[pathlib.Path]:
    """``out/approx.csv`` and (with matplotlib) the plots; returns the files."""
    return _write(rows, COLUMNS, "approx.csv", out, plots, plot_approx)


def write_angles(rows, out, plots: bool = True) -> list[pathlib.Path]:
    """``out/angles.csv`` and (with matplotlib) the plot; returns the files."""
    return _write(rows, ANGLE_COLUMNS, "angles.csv", out, plots, plot_angles)


def approx_experiment(out, plots: bool = True, **options) -> list[pathlib.Path]:
    """``run_approx(**options)``, then ``write_approx``; returns the files."""
    return write_approx(run_approx(**options), out, plots)


def angles_experiment(out, plots: bool = True, **options) -> list[pathlib.Path]:
    """``run_angles(**options)``, then ``write_angles``; returns the files."""
    return write_angles(run_angles(**options), out, plots)
