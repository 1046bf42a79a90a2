"""Gradient descent on closed-form functions with forward gradients (Flügel et al. 2024, §4.2 and §4.3).

    dualgrad experiment functions --function sphere --n 16 64 --seeds 0 1 --out runs/f
    dualgrad experiment angles-opt --out runs/a
    rows = run_functions(functions=("sphere",), ns=(16, 64), seeds=(0,))

The setup is the paper's (docs/paper.md, section 5.2):

- f: sphere Σ x², Rosenbrock Σ_{i<n} [100 (x_{i+1} − x_i²)² + (1 − x_i)²], Styblinski–Tang ½ Σ (x⁴ − 16x² + 5x),
  written in plain NumPy, so the same code runs on arrays and, through the NumPy protocol, on Duals;
- plain gradient descent x_{t+1} = x_t − lr·ĝ(x_t) in float32 from the function's start, for at most its
  step limit; a run stops at a NaN in x or after ``PATIENCE`` = 50 consecutive steps with f_t ≥ f_{t−1};
  f is recorded at every step (f_0 = f(x_0)); a run reports the last f (``final_f``) and the minimum
  (``best_f``, NaNs skipped);
- ĝ: ``bp`` the exact gradient by forward mode, ``dg.jacfwd`` (the n basis vectors as tangents, ``BP_CHUNK``
  columns per pass); ``fg`` (k = 1), ``mean`` and ``frog``: k fresh tangents per step (``sample_tangents``),
  all k jvps from ONE k-column ``dg.jvp`` pass, then ``aggregate`` by the mean (fg, mean) or the orthogonal
  projection (frog): what ``estimators.forward_gradient`` does, without its pytree handling (10-20% of a
  step here);
- tangents from ``job_rng(seed, function, n, approach, k, sampler)``: a run does not depend on the worker
  that computes it or on the other runs of the grid. bp draws nothing: it is run once per (function, n) and
  reported under every seed;
- the learning rates of ``lrs/math.csv`` (§4.3: ``lrs/math__custom_tangents.csv``) unless ``lr`` is given.

Outputs of ``run_functions(out=DIR)``: ``DIR/functions.csv`` (``COLUMNS``), ``DIR/functions_curves.npz``
(one float32 array of f per step for every row, key ``curve_key(row)``, e.g. ``sphere_n16_frog4_s0``) and
the plots; ``run_angles(out=DIR)``: ``DIR/angles_opt.csv`` (``ANGLE_COLUMNS``) and its plot.
"""
from __future__ import annotations

import math
import pathlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..approaches import APPROACHES as TABLE
from ..approaches import pairs
from ..argtypes import at_least, degrees, directory, non_negative_int, positive_float, positive_int
from ..estimators import aggregate, sample_tangents
from ..learning_rates import lr_source
from ..transforms import jacfwd, jvp
from .report import label, plot_or_skip, render_table, style
from .sweep import job_rng, run_jobs, where, write_csv

COLUMNS = ("function", "n", "approach", "k", "seed", "lr", "steps_run", "final_f", "best_f")
ANGLE_COLUMNS = ("function", "n", "approach", "k", "angle", "seed", "lr", "steps_run", "final_f", "best_f")
APPROACHES = tuple(TABLE)                                          # bp, fg, mean, frog

PAPER_N = tuple(2 ** i for i in range(11))                         # 1, 2, 4, …, 1024
PAPER_K = (2, 4, 16)                                               # for mean and frog; fg is k = 1
PAPER_SEEDS = (0, 1, 2, 3, 4)
QUICK = {"ns": (4, 64), "seeds": (0,), "steps_scale": 0.04}        # --quick: a smoke run of a few seconds
ANGLES = (15, 30, 45, 60, 75, 90)
ANGLE_N, ANGLE_K, ANGLE_APPROACHES = 64, (16, 64), ("mean", "frog")
QUICK_ANGLES = {"angles": (15, 90), "seeds": (0,), "steps_scale": 0.04}

PATIENCE = 50            # the paper's early stopping: this many consecutive steps with f_t >= f_{t-1}
BP_CHUNK = 64            # jacfwd columns per pass for bp: at n = 1024, 64 columns keep the (64, n) tangent
                         # blocks in cache, 4x faster than all 1024 at once (measured on the 2-core CPU)


# ----- the functions --------------------------------------------------------------------------------------------
def sphere(x):
    """Σ x_i²; minimum 0 at 0; ∇ = 2x."""
    return np.sum(x * x)


def rosenbrock(x):
    """Σ_{i<n} [100 (x_{i+1} − x_i²)² + (1 − x_i)²] (a = 1, b = 100); minimum 0 at ones (n = 1: f ≡ 0)."""
    head, tail = x[:-1], x[1:]                                     # x_i and x_{i+1} for i < n
    r, s = tail - head * head, 1 - head
    return np.sum(100 * (r * r) + s * s)


def styblinski_tang(x):
    """½ Σ (x_i⁴ − 16 x_i² + 5 x_i); ∇ = ½ (4x³ − 32x + 5); per coordinate the global minimum −39.16617 at
    −2.903534 and a local one, −25.02945 at 2.746803."""
    x2 = x * x
    return 0.5 * np.sum(x2 * x2 - 16 * x2 + 5 * x)


ST_ARGMIN, ST_MINIMUM = -2.903534, -39.16617           # the paper's code says −39.16599 (f(−2.903534) = −39.166166)
ST_LOCAL_ARGMIN, ST_LOCAL_MINIMUM = 2.746803, -25.02945


@dataclass(frozen=True)
class Problem:
    f: Callable
    start: Callable[[int], np.ndarray]                 # n -> x_0 (float32)
    steps: int                                         # the paper's step limit
    minimum: Callable[[int], float]                    # n -> the global minimum's value


PROBLEMS = {
    "sphere": Problem(sphere, lambda n: np.full(n, -1, np.float32), 1000, lambda n: 0.0),
    "rosenbrock": Problem(rosenbrock, lambda n: np.r_[-1, np.zeros(n - 1)].astype(np.float32), 25000,
                          lambda n: 0.0),
    "styblinski-tang": Problem(styblinski_tang, lambda n: np.zeros(n, np.float32), 1000, lambda n: ST_MINIMUM * n),
}


# ----- one run ---------------------------------------------------------------------------------------------------
def descend(value_and_direction: Callable, x0: np.ndarray, lr: float, steps: int, patience: int = PATIENCE):
    """Plain gradient descent x ← x − lr·ĝ(x) from ``x0`` for at most ``steps`` steps, where
    ``value_and_direction(x)`` returns (f(x), ĝ(x)); returns f at every step, shape (steps_run + 1,).

    Stops at a NaN in x (its f is recorded) or when f_t ≥ f_{t−1} for ``patience`` consecutive steps.
    """
    x = x0
    value, direction = value_and_direction(x)
    values = [float(value)]
    stalled = 0
    with np.errstate(over="ignore", invalid="ignore"):                 # a diverging run is recorded, not warned
        for _ in range(steps):
            x = x - lr * direction                                      # lr a Python float: x stays float32
            value, direction = value_and_direction(x)
            values.append(float(value))
            if np.isnan(x).any():
                break
            stalled = stalled + 1 if values[-1] >= values[-2] else 0
            if stalled >= patience:
                break
    return np.array(values, dtype=np.float32)


@dataclass(frozen=True)
class Run:
    """One optimisation run: ``k`` is None for bp, ``angle`` None for Gaussian tangents."""
    function: str
    n: int
    approach: str
    k: int | None
    seed: int
    lr: float
    steps: int
    angle: float | None = None


def value_and_direction(run: Run) -> Callable:
    """x -> (f(x), ĝ(x)) for the run's approach (see the module docstring)."""
    f = PROBLEMS[run.function].f
    if run.approach == "bp":
        jacobian = jacfwd(f, chunk_size=BP_CHUNK)
        return lambda x: (f(x), jacobian(x))
    sampler = {"sampler": "normal"} if run.angle is None else {"sampler": "angle", "angle": run.angle}
    rng = job_rng(run.seed, run.function, run.n, run.approach, run.k, *sampler.values())

    def estimate(x):
        V = sample_tangents(run.k, run.n, rng=rng, dtype=np.float32, **sampler)      # (k, n), fresh every step
        value, d = jvp(f, (x,), (V,))                                                 # d_i = ∇f·v_i: (k,), one pass
        return value, aggregate(V, d, TABLE[run.approach].aggregation)
    return estimate


def execute(run: Run) -> np.ndarray:
    """f at every step of one run (float32)."""
    return descend(value_and_direction(run), PROBLEMS[run.function].start(run.n), run.lr, run.steps)


def _seconds(run: Run) -> float:
    """A rough single-core cost model of a run (load balance only: the longest runs are submitted first)."""
    per_step = 2e-4 + (1e-8 * run.n * run.n if run.approach == "bp" else 3e-8 * run.n * run.k)
    return run.steps * per_step


def _simulate(runs: Sequence[tuple[Run, tuple[int, ...]]], executor, workers, progress, desc):
    """Execute the runs, longest first; one (row, curve) per reported seed, in the order of ``runs``."""
    order = sorted(range(len(runs)), key=lambda i: -_seconds(runs[i][0]))
    curves = run_jobs(execute, [runs[i][0] for i in order], executor, workers, progress, desc)
    by_run = dict(zip(order, curves))
    results = []
    for i, (run, seeds) in enumerate(runs):
        curve = by_run[i]
        for seed in seeds:
            row = {"function": run.function, "n": run.n, "approach": run.approach, "k": run.k, "angle": run.angle,
                   "seed": seed, "lr": run.lr, "steps_run": len(curve) - 1, "final_f": float(curve[-1]),
                   "best_f": float(np.nanmin(curve))}
            results.append((row, curve))
    return results


def _write(out, name: str, columns: Sequence[str], rows: Sequence[dict]) -> pathlib.Path:
    """``out/name`` with exactly ``columns``; returns ``out`` as a Path (created if missing)."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / name, columns, [{c: row[c] for c in columns} for row in rows])
    return out


def _lr(table, function, n, approach, k, lr, angle=None, fallbacks=None):
    if lr is not None:
        return float(lr)
    sampler = {} if angle is None else {"sampler": "angle", "angle": angle}
    value, source = lr_source(table, function, n, approach, k, **sampler)
    if source == "(n/k) mean" and fallbacks is not None:
        fallbacks.append(f"{function} n={n} {approach} k={k}: {value:.3g}")
    return value


def _warn_fallbacks(fallbacks):
    if fallbacks:
        warnings.warn("no tuned learning rate for " + "; ".join(fallbacks) + " - using lr_frog = (n/k)·lr_mean "
                      "(dualgrad.learning_rates)", stacklevel=3)


# ----- §4.2 -----------------------------------------------------------------------------------------------------
def run_functions(functions: Sequence[str] = tuple(PROBLEMS), ns: Sequence[int] = PAPER_N,
                  approaches: Sequence[str] = APPROACHES, ks: Sequence[int] = PAPER_K,
                  seeds: Sequence[int] = PAPER_SEEDS, steps_scale: float = 1.0, lr: float | None = None,
                  executor=None, workers: int | None = None, progress: bool = True, out=None,
                  plots: bool = True) -> list[dict]:
    """The §4.2 grid: one row (``COLUMNS``) per function × n × approach × k × seed, k ∈ ``ks`` for mean and
    frog (fg has k = 1, bp none). ``steps_scale`` multiplies every step limit; ``lr`` replaces the paper's
    learning rates. Runs on ``executor`` (default: a process pool of ``workers``, see ``sweep.run_jobs``).
    With ``out``: writes ``functions.csv``, ``functions_curves.npz`` and (``plots``, matplotlib) the plots."""
    unknown = set(functions) - set(PROBLEMS) or set(approaches) - set(APPROACHES)
    if unknown:
        raise ValueError(f"unknown {sorted(unknown)}: functions are {tuple(PROBLEMS)}, approaches {APPROACHES}")
    seeds, fallbacks, runs = tuple(sorted(set(seeds))), [], []
    for function in functions:
        steps = max(1, round(PROBLEMS[function].steps * steps_scale))
        for n in sorted(set(ns)):
            for approach, k in pairs(approaches, ks):
                rate = _lr("math", function, n, approach, k, lr, fallbacks=fallbacks)
                if approach == "bp":
                    runs.append((Run(function, n, approach, k, seeds[0], rate, steps), seeds))
                else:
                    runs += [(Run(function, n, approach, k, s, rate, steps), (s,)) for s in seeds]
    _warn_fallbacks(fallbacks)
    results = _simulate(runs, executor, workers, progress, "functions")
    rows = [row for row, _ in results]
    if out is not None:
        out = _write(out, "functions.csv", COLUMNS, rows)
        curves = {curve_key(row): curve for row, curve in results}
        np.savez_compressed(out / "functions_curves.npz", **curves)
        if plots:
            plot_or_skip(plot_functions, rows, curves, out)
    return rows


def curve_key(row: dict) -> str:
    """The key of a run's curve in functions_curves.npz: ``{function}_n{n}_{approach}{k}_s{seed}``."""
    k = "" if row["approach"] in ("bp", "fg") else row["k"]
    return f"{row['function']}_n{row['n']}_{row['approach']}{k}_s{row['seed']}"


# ----- §4.3 -----------------------------------------------------------------------------------------------------
def _degrees(angle: float) -> float | int:
    """An angle as the int it is when whole (15.0 -> 15), so that it keys the same random stream and CSV
    value whether it came from the defaults or from the command line."""
    return int(angle) if float(angle).is_integer() else float(angle)


def run_angles(n: int = ANGLE_N, ks: Sequence[int] = ANGLE_K, angles: Sequence[float] = ANGLES,
               approaches: Sequence[str] = ANGLE_APPROACHES, seeds: Sequence[int] = PAPER_SEEDS,
               steps_scale: float = 1.0, lr: float | None = None, executor=None, workers: int | None = None,
               progress: bool = True, out=None, plots: bool = True) -> list[dict]:
    """§4.3: Styblinski–Tang at ``n`` with tangents at a fixed angle to a base tangent
    (``sample_tangents(..., "angle", angle=a)``), mean vs frog; one row (``ANGLE_COLUMNS``) per
    approach × k × angle × seed. Learning rates from lrs/math__custom_tangents.csv (frog: the
    sampler=normal rows for every angle, as the paper's code). With ``out``: ``angles_opt.csv`` and its plot."""
    forward = tuple(a for a in APPROACHES if not TABLE[a].exact)
    if set(approaches) - set(forward):
        raise ValueError(f"angles-opt compares forward gradients {forward}, not {sorted(approaches)}")
    function = "styblinski-tang"
    steps = max(1, round(PROBLEMS[function].steps * steps_scale))
    fallbacks = []
    runs = [(Run(function, n, approach, k, seed, _lr("math__custom_tangents", function, n, approach, k, lr, angle,
                                                     fallbacks), steps, angle), (seed,))
            for approach in approaches for k in sorted(set(ks)) for angle in sorted({_degrees(a) for a in angles})
            for seed in sorted(set(seeds))]
    _warn_fallbacks(fallbacks)
    rows = [row for row, _ in _simulate(runs, executor, workers, progress, "angles-opt")]
    if out is not None:
        out = _write(out, "angles_opt.csv", ANGLE_COLUMNS, rows)
        if plots:
            plot_or_skip(plot_angles_opt, rows, out)
    return rows


# ----- tables ---------------------------------------------------------------------------------------------------
def _fmt(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:.4g}"
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e6 else f"{value:.2e}"


def _seed_mean(values) -> float:
    """The mean over the runs that did not end in NaN; NaN when every run did."""
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def pivot(rows: Sequence[dict], column: str, value: str = "final_f", markdown: bool = False) -> str:
    """A table of ``value`` averaged over seeds: one line per approach (and k), one column per distinct
    ``column`` value ("n" or "angle"). A mean over fewer seeds than the cell has, because some runs ended in
    NaN, is marked with ``*``; a cell where every run ended in NaN shows nan."""
    labels = list(dict.fromkeys(label(r) for r in rows))
    keys = sorted({r[column] for r in rows})
    body = []
    for name in labels:
        line = [name]
        for key in keys:
            cell = [r[value] for r in rows if label(r) == name and r[column] == key]
            diverged = sum(math.isnan(v) for v in cell)
            line.append("" if not cell else _fmt(_seed_mean(cell)) + ("*" if 0 < diverged < len(cell) else ""))
        body.append(line)
    return render_table(["approach"] + [f"{column}={key:g}" for key in keys], body, markdown)


def summary(rows: Sequence[dict], markdown: bool = False) -> str:
    """``pivot`` of the final f per approach × n, one table per function, its optimum underneath."""
    parts = []
    for function in dict.fromkeys(r["function"] for r in rows):
        mine = [r for r in rows if r["function"] == function]
        ns = sorted({r["n"] for r in mine})
        optimum = " ".join(f"{_fmt(PROBLEMS[function].minimum(n))}" for n in ns)
        parts.append(f"{function}: final f, mean over seeds (* = over the runs that did not end in NaN)\n"
                     f"{pivot(mine, 'n', markdown=markdown)}\noptimum at n = {', '.join(map(str, ns))}: {optimum}")
    return "\n\n".join(parts)


# ----- plots (matplotlib is the optional extra "plot") ----------------------------------------------------------
def _st_minima(ax) -> None:
    ax.axhline(ST_MINIMUM, color="green", lw=0.7, ls=":")
    ax.axhline(ST_LOCAL_MINIMUM, color="red", lw=0.7, ls=":")
    ax.set_ylabel("f / n  (dotted: global / local minimum)")


def _draw(ax, function: str, series, **extra) -> None:
    """Plot ``series``, a list of (x, f, n, approach, k): f/n for Styblinski–Tang (between −39.17 and −25.03
    once every coordinate has settled, dotted lines), else f on a log axis where values ≤ 0 (reached minima)
    are drawn at a floor a decade below the smallest positive value; ``extra`` goes to ``ax.plot``."""
    if function == "styblinski-tang":
        for x, f, n, approach, k in series:
            ax.plot(x, np.asarray(f) / n, label=label({"approach": approach, "k": k}), **style(approach, k), **extra)
        _st_minima(ax)
        return
    positive = [v for _, f, *_ in series for v in np.ravel(f) if v > 0 and math.isfinite(v)]
    floor = min(positive, default=1.0) / 10
    for x, f, _, approach, k in series:
        ax.plot(x, np.maximum(f, floor), label=label({"approach": approach, "k": k}), **style(approach, k), **extra)
    ax.set_yscale("log")
    reached = any(v <= 0 for _, f, *_ in series for v in np.ravel(f))
    ax.set_ylabel(f"f  (0 drawn at {floor:.0e})" if reached else "f")


def _groups(rows):
    return list(dict.fromkeys((r["approach"], r["k"]) for r in rows))


def plot_functions(rows: Sequence[dict], curves: dict, out_dir) -> list[pathlib.Path]:
    """``functions_curves.png``: f against step (mean over seeds; a stopped run holds its last value) for up to
    three n per function; ``functions_final.png``: final f (mean over seeds) against n per approach."""
    from matplotlib.figure import Figure
    functions = list(dict.fromkeys(r["function"] for r in rows))
    ns = sorted({r["n"] for r in rows})
    shown_ns = sorted({ns[round(q * (len(ns) - 1))] for q in (0.4, 0.7, 1.0)})
    fig = Figure(figsize=(4.2 * len(shown_ns), 3.3 * len(functions)), layout="constrained")
    axes = fig.subplots(len(functions), len(shown_ns), squeeze=False)
    for row_axes, function in zip(axes, functions):
        for ax, n in zip(row_axes, shown_ns):
            cell = [r for r in rows if r["function"] == function and r["n"] == n]
            series = []
            for approach, k in _groups(cell):
                runs = [curves[curve_key(r)] for r in cell if (r["approach"], r["k"]) == (approach, k)]
                length = max(len(c) for c in runs)
                padded = np.stack([np.pad(c.astype(np.float64), (0, length - len(c)), mode="edge") for c in runs])
                series.append((np.arange(length), padded.mean(axis=0), n, approach, k))
            _draw(ax, function, series)
            ax.set(title=f"{function}, n = {n}", xlabel="step")
    axes[0, -1].legend(fontsize=7)
    paths = [pathlib.Path(out_dir) / "functions_curves.png"]
    fig.savefig(paths[0], dpi=100)

    fig = Figure(figsize=(4.6 * len(functions), 3.8), layout="constrained")
    for ax, function in zip(fig.subplots(1, len(functions), squeeze=False)[0], functions):
        mine = [r for r in rows if r["function"] == function]
        series = [(ns, [_seed_mean([r["final_f"] for r in mine if (r["approach"], r["k"], r["n"]) == (a, k, n)])
                        for n in ns], np.array(ns), a, k) for a, k in _groups(mine)]
        _draw(ax, function, series, marker=".")
        ax.set_xscale("log", base=2)
        ax.set(title=f"{function}: final f (mean over seeds)", xlabel="n")
    ax.legend(fontsize=7)
    paths.append(pathlib.Path(out_dir) / "functions_final.png")
    fig.savefig(paths[1], dpi=100)
    return paths


def plot_angles_opt(rows: Sequence[dict], out_dir) -> list[pathlib.Path]:
    """``angles_opt.png``: final f/n of Styblinski–Tang against the tangents' angle (mean ± std over seeds)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    n = rows[0]["n"]
    angles = sorted({r["angle"] for r in rows})
    for approach, k in _groups(rows):
        finals = [[r["final_f"] / n for r in rows if (r["approach"], r["k"], r["angle"]) == (approach, k, a)]
                  for a in angles]
        ax.errorbar(angles, [_seed_mean(v) for v in finals], yerr=[np.std(v) for v in finals], marker="o",
                    capsize=3, label=label({"approach": approach, "k": k}), **style(approach, k))
    _st_minima(ax)
    ax.set(xlabel="angle between the tangents and the base tangent (degrees)", xticks=angles,
           title=f"§4.3 Styblinski–Tang, n = {n}: final f / n")
    ax.legend(fontsize=7)
    path = pathlib.Path(out_dir) / "angles_opt.png"
    fig.savefig(path, dpi=100)
    return [path]


# ----- the command line -----------------------------------------------------------------------------------------
def add_subcommands(subparsers) -> None:
    """Add ``functions`` and ``angles-opt`` to an argparse subparsers object (``dualgrad experiment ...``);
    each sets ``run``, so the caller runs ``args.run(args)`` (the convention of ``dualgrad.cli``)."""
    p = subparsers.add_parser(
        "functions", help="§4.2: gradient descent on sphere, Rosenbrock, Styblinski-Tang with bp, fg, mean, frog",
        description="Gradient descent on closed-form functions (Flügel et al. 2024, §4.2). Without flags: the "
                    "paper's full grid and learning rates. Writes OUT/functions.csv, OUT/functions_curves.npz, plots.")
    p.add_argument("--function", nargs="+", choices=tuple(PROBLEMS), default=tuple(PROBLEMS))
    p.add_argument("--n", nargs="+", type=positive_int,
                   help=f"dimensions (default {PAPER_N[0]} … {PAPER_N[-1]}, powers of 2)")
    p.add_argument("--approach", nargs="+", choices=APPROACHES, default=APPROACHES)
    p.add_argument("--k", nargs="+", type=positive_int, default=PAPER_K,
                   help="tangents for mean and frog (default 2 4 16)")
    _common_arguments(p, "runs/functions", f"n {QUICK['ns']}")
    p.set_defaults(run=_functions_command)

    p = subparsers.add_parser(
        "angles-opt", help="§4.3: Styblinski-Tang, n = 64, mean vs frog with tangents at a fixed angle",
        description="Styblinski-Tang with tangents at a fixed angle to a base tangent (Flügel et al. 2024, §4.3). "
                    "Writes OUT/angles_opt.csv and a plot.")
    p.add_argument("--n", type=at_least(2), default=ANGLE_N, help=f"dimension (default {ANGLE_N})")
    p.add_argument("--k", nargs="+", type=positive_int, default=ANGLE_K)
    p.add_argument("--angles", nargs="+", type=degrees, help=f"degrees (default {' '.join(map(str, ANGLES))})")
    p.add_argument("--approach", nargs="+", choices=ANGLE_APPROACHES, default=ANGLE_APPROACHES)
    _common_arguments(p, "runs/angles-opt", f"angles {QUICK_ANGLES['angles']}")
    p.set_defaults(run=_angles_command)


def _common_arguments(p, out, quick):
    p.add_argument("--seeds", nargs="+", type=non_negative_int, help="default 0 1 2 3 4")
    p.add_argument("--steps-scale", type=positive_float, help="multiply every step limit (default 1)")
    p.add_argument("--lr", type=positive_float,
                   help="one learning rate for every run (default: the paper's tuned ones)")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {quick}, seed 0, steps scaled by 0.04")
    p.add_argument("--workers", type=positive_int, help="processes (default: all cores; 1 = this process)")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the plots")
    p.add_argument("--out", type=directory, default=out, help=f"output directory (default {out})")


def _options(args, quick: dict, defaults: dict) -> dict:
    """Flag values; an absent flag takes the --quick value under --quick, else the paper's default."""
    options = {}
    for name, default in defaults.items():
        flag = getattr(args, {"ns": "n"}.get(name, name))
        options[name] = flag if flag is not None else quick[name] if args.quick and name in quick else default
    return options


def _functions_command(args) -> None:
    start = time.perf_counter()
    options = _options(args, QUICK, {"ns": PAPER_N, "seeds": PAPER_SEEDS, "steps_scale": 1.0})
    rows = run_functions(args.function, approaches=args.approach, ks=args.k, lr=args.lr, workers=args.workers,
                         out=args.out, plots=args.plots, **options)
    print(summary(rows))
    print(f"\n{len(rows)} runs in {time.perf_counter() - start:.1f} s on {where(args.workers)}; "
          f"wrote {pathlib.Path(args.out) / 'functions.csv'}")


def _angles_command(args) -> None:
    start = time.perf_counter()
    options = _options(args, QUICK_ANGLES, {"angles": ANGLES, "seeds": PAPER_SEEDS, "steps_scale": 1.0})
    rows = run_angles(args.n, args.k, approaches=args.approach, lr=args.lr, workers=args.workers, out=args.out,
                      plots=args.plots, **options)
    print(f"styblinski-tang n={args.n}, tangents at a fixed angle: final f, mean over seeds "
          f"(optimum {_fmt(ST_MINIMUM * args.n)})")
    print(pivot(rows, "angle"))
    print(f"\n{len(rows)} runs in {time.perf_counter() - start:.1f} s on {where(args.workers)}; "
          f"wrote {pathlib.Path(args.out) / 'angles_opt.csv'}")

