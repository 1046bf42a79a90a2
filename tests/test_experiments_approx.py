"""The approximation-quality experiments (paper §4.1 and §4.3): the CSV contract, each sampling path
against the exact theory, the shortcut paths against the direct one, reproducibility on any executor.

Statistical checks allow Z standard errors of the Monte-Carlo mean (from the samples, never a hand-tuned
constant), plus a relative EXACT for quantities that are exact: the projection for k ≥ n is ∇f, exactly
on the closed-form paths and up to rounding (cond(V Vᵀ)·ε) on the direct path's ``aggregate``.
"""
import concurrent.futures
import csv
import math
import sys

import numpy as np
import pytest
import scipy.stats

from dualgrad import cli
from dualgrad.estimators import theory
from dualgrad.experiments import approx, sweep

Z = 5.0
EXACT = 1e-7
METRIC = {m: i for i, m in enumerate(approx.METRICS)}


def read_csv(path):
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def assert_mean_matches(samples, expected, what):
    se = samples.std(ddof=1) / math.sqrt(len(samples))
    assert abs(samples.mean() - expected) <= Z * se + EXACT * (1 + abs(expected)), \
        f"{what}: {samples.mean():.5g} vs exact {expected:.5g}"


# ----- the CSV contract ------------------------------------------------------------------------------------
def test_quick_sweep_writes_every_row_with_sensible_values(tmp_path):
    cli.main(["experiment", "approx", "--quick", "--samples", "100", "--out", str(tmp_path), "--no-plots"])
    header, rows = read_csv(tmp_path / "approx.csv")
    assert header == list(approx.COLUMNS) == ["n", "k", "approach", "samples", "metric", "mean", "std", "ci95"]
    keys = [(int(r["n"]), int(r["k"]), r["approach"], r["metric"]) for r in rows]
    expected = {(n, 1, "fg", m) for n in approx.QUICK_N for m in approx.METRICS}
    expected |= {(n, k, a, m) for n in approx.QUICK_N for k in approx.QUICK_K for a in approx.ESTIMATES
                 for m in approx.METRICS}
    assert len(keys) == len(set(keys)) and set(keys) == expected
    table = {key: {c: float(r[c]) for c in ("samples", "mean", "std", "ci95")} for key, r in zip(keys, rows)}
    for (n, k, approach, metric), s in table.items():
        assert s["samples"] == 100
        assert s["ci95"] == pytest.approx(1.96 * s["std"] / 10)
        if metric == "cosine":
            assert 0 < s["mean"] <= 1 + 1e-12
            assert s["mean"] <= table[n, k, "projection", "cosine"]["mean"] + 1e-12    # the projection is best
        if metric == "norm_ratio":
            assert s["mean"] == pytest.approx(table[n, k, approach, "norm"]["mean"] / math.sqrt(n))
        if approach == "projection" and k >= n:
            exact = {"error_norm": 0, "norm": math.sqrt(n), "dot": n}.get(metric, 1)
            assert s["mean"] == pytest.approx(exact, rel=EXACT, abs=EXACT * math.sqrt(n))
        if approach == "fg":
            assert s == table[n, 1, "mean", metric] == table[n, 1, "sum", metric]
        if approach in ("fg", "projection", "mean", "sum") and metric in ("cosine", "norm_ratio"):
            method = "sum" if approach == "fg" else approach
            exact = {"cosine": theory.expected_cosine, "norm_ratio": theory.expected_norm_ratio}[metric](n, k, method)
            assert abs(s["mean"] - exact) <= Z * s["std"] / 10 + EXACT * exact, (n, k, approach, metric)


# ----- each path against the exact theory --------------------------------------------------------------------
@pytest.mark.parametrize("path, n, ks", [("direct", 16, (1, 2, 4, 16, 32)), ("gram", 64, (1, 4, 16, 64, 128)),
                                         ("wishart", 512, (1, 8, 64, 256))])
def test_each_path_matches_the_exact_theory(path, n, ks):
    values = approx.sample_metrics(path, n, ks, seed=1, start=0, stop=400)      # (samples, k, estimate, metric)
    for j, k in enumerate(ks):
        for method in theory.METHODS:
            v = values[:, j, approach_index(method)]
            assert_mean_matches(v[:, METRIC["cosine"]], theory.expected_cosine(n, k, method), f"{path} cos {k}")
            assert_mean_matches(v[:, METRIC["norm_ratio"]], theory.expected_norm_ratio(n, k, method), f"{path} ratio")
            assert_mean_matches(v[:, METRIC["error_norm"]] ** 2 / n, theory.mean_squared_error(n, k, method),
                                f"{path} mse {method} k={k}")


def approach_index(approach):
    return approx.ESTIMATES.index(approach)


def test_the_theory_checks_can_fail():
    """The same check rejects the mean's values as the projection's."""
    values = approx.sample_metrics("gram", 64, (16,), seed=1, start=0, stop=400)
    with pytest.raises(AssertionError):
        assert_mean_matches(values[:, 0, approach_index("mean"), 0], theory.expected_cosine(64, 16), "mean as proj")


# ----- the shortcut paths against the direct one ----------------------------------------------------------------
def assert_same_law(a, b, n, ks, what):
    """Every (k, estimate, metric) mean within Z combined standard errors; cosines by a two-sample KS test."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    gap = np.abs(a.mean(axis=0) - b.mean(axis=0))
    assert np.all(gap <= Z * se + EXACT * (1 + np.abs(b.mean(axis=0)))), \
        f"{what}: worst gap {np.max(gap / (se + 1e-300)):.1f} SE"
    for j, k in enumerate(ks):
        for i, approach in enumerate(approx.ESTIMATES):
            if approach == "projection" and k >= n:
                continue                                   # exact: cos = 1 on both paths (the mean check covers it)
            p = scipy.stats.ks_2samp(a[:, j, i, 0], b[:, j, i, 0]).pvalue
            assert p > 1e-3, f"{what}: cosine of {approach} at k={k}, KS p = {p:.2g}"


@pytest.mark.parametrize("n, ks", [(8, (1, 4, 8, 16)), (32, (2, 16, 64))])
def test_gram_path_has_the_law_of_the_direct_path(n, ks):
    direct = approx.sample_metrics("direct", n, ks, seed=2, start=0, stop=500)
    gram = approx.sample_metrics("gram", n, ks, seed=2, start=0, stop=500)
    assert_same_law(direct, gram, n, ks, f"gram vs direct, n={n}")


@pytest.mark.parametrize("n, ks", [(64, (1, 8, 32)), (40, (3, 39))])
def test_wishart_path_has_the_law_of_the_direct_path(n, ks):
    direct = approx.sample_metrics("direct", n, ks, seed=3, start=0, stop=500)
    wishart = approx.sample_metrics("wishart", n, ks, seed=3, start=0, stop=500)
    assert_same_law(direct, wishart, n, ks, f"wishart vs direct, n={n}")


def test_every_sweep_cell_takes_its_path():
    assert approx.plan(4, (1, 1024)) == [("direct", (1,)), ("gram", (1024,))]
    assert approx.plan(4096, (2, 1024)) == [("gram", (1, 2, 1024))]
    assert approx.plan(8192, (4, 1024)) == [("wishart", (1, 4, 1024))]
    assert approx.plan(8192, (16384,)) == [("gram", (1, 16384))]


# ----- reproducibility ---------------------------------------------------------------------------------------------
SMALL = dict(ns=(4, 64, 8192), ks=(1, 8, 64), samples=30, seed=3, progress=False)


def test_same_seed_same_csv_on_any_executor_and_worker_count(tmp_path, monkeypatch):
    runs = {"1 worker": approx.run_approx(workers=1, **SMALL), "2 workers": approx.run_approx(workers=2, **SMALL)}
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        runs["threads"] = approx.run_approx(executor=executor, **SMALL)
    monkeypatch.setattr(approx, "JOB_SECONDS", 1e-3)                 # one sample per job
    runs["small jobs"] = approx.run_approx(workers=1, **SMALL)
    files = set()
    for name, rows in runs.items():
        sweep.write_csv(tmp_path / f"{name}.csv", approx.COLUMNS, rows)
        files.add((tmp_path / f"{name}.csv").read_bytes())
    assert len(files) == 1
    assert approx.run_approx(workers=1, **{**SMALL, "seed": 4}) != runs["1 worker"]


# ----- §4.3 angles ---------------------------------------------------------------------------------------------------
def test_angles_projection_is_flat_and_the_mean_rises_with_the_angle(tmp_path):
    approx.angles_experiment(tmp_path, plots=False, samples=300, workers=1, progress=False)
    header, rows = read_csv(tmp_path / "angles.csv")
    assert header == list(approx.ANGLE_COLUMNS)
    cos = {(int(r["k"]), float(r["angle"]), r["approach"]): (float(r["mean"]), float(r["std"]) / math.sqrt(300))
           for r in rows if r["metric"] == "cosine"}
    assert len(rows) == len(approx.ANGLE_K) * len(approx.ANGLES) * 3 * len(approx.METRICS)
    for k in approx.ANGLE_K:
        for a in approx.ANGLES:
            mean, se = cos[k, a, "projection"]
            assert abs(mean - theory.expected_cosine(64, k, "projection")) <= Z * se + EXACT
            assert cos[k, a, "sum"][0] == pytest.approx(cos[k, a, "mean"][0])
        means = [cos[k, a, "mean"] for a in approx.ANGLES]
        assert means[-1][0] - means[0][0] > Z * math.hypot(means[-1][1], means[0][1])
        if k >= 16:
            assert all(m2[0] > m1[0] for m1, m2 in zip(means, means[1:]))


# ----- plots ---------------------------------------------------------------------------------------------------------
def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    files = approx.approx_experiment(tmp_path, ns=(1, 16), ks=(1, 4), samples=20, workers=1, progress=False)
    assert [f.name for f in files] == ["approx.csv", "approx_cosine.png", "approx_norm_ratio.png"]
    assert all(f.stat().st_size > 10_000 for f in files[1:])


def test_without_matplotlib_the_plots_are_skipped_with_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)                          # import matplotlib fails
    files = approx.angles_experiment(tmp_path, ks=(4,), angles=(30,), samples=10, workers=1, progress=False)
    assert [f.name for f in files] == ["angles.csv"]
    assert "matplotlib is not installed" in capsys.readouterr().out


# ----- the tables the commands print ---------------------------------------------------------------------------------
def test_the_commands_print_their_result_tables(tmp_path, capsys):
    cli.main(["experiment", "approx", "--n", "4", "64", "--k", "1", "16", "--samples", "200", "--workers", "1",
              "--out", str(tmp_path / "a"), "--no-plots"])
    out = capsys.readouterr().out
    rows = {(int(r["n"]), int(r["k"]), r["approach"], r["metric"]): float(r["mean"])
            for r in read_csv(tmp_path / "a" / "approx.csv")[1]}
    grid = out.split("E[cos(ĝ, ∇f)], projection (frog)\n")[1].split("\n\n")[0].splitlines()
    assert grid[0].split() == ["k=1", "k=16"]
    assert grid[2].split() == ["n=64", f"{rows[64, 1, 'projection', 'cosine']:.4g}",
                               f"{rows[64, 16, 'projection', 'cosine']:.4g}"]
    assert "E[‖ĝ‖ / ‖∇f‖], mean" in out and f"{rows[64, 1, 'mean', 'norm_ratio']:.4g}" in out
    # 4 n-k cells x (projection, mean, sum) + 2 fg cells, cosine and norm ratio each
    assert "against the exact theory: 28 cosine and norm-ratio means" in out
    assert f"{tmp_path / 'a' / 'approx.csv'}" in out

    cli.main(["experiment", "angles", "--k", "4", "--angles", "30", "90", "--samples", "100", "--workers", "1",
              "--out", str(tmp_path / "b"), "--no-plots"])
    lines = capsys.readouterr().out.splitlines()
    cosine = {(r["approach"], float(r["angle"])): float(r["mean"])
              for r in read_csv(tmp_path / "b" / "angles.csv")[1] if r["metric"] == "cosine"}
    table = {line.split()[0] + " " + line.split()[1]: line.split()[2:] for line in lines
             if line.startswith(("projection k=", "mean k="))}
    assert table["mean k=4"] == [f"{cosine['mean', 30]:.3f}", f"{cosine['mean', 90]:.3f}",
                                 f"{theory.expected_cosine(64, 4, 'mean'):.3f}"]
    assert table["projection k=4"][-1] == f"{theory.expected_cosine(64, 4, 'projection'):.3f}"
    assert any(line.startswith("the projection's cosine is the Gaussian theory's") for line in lines)
