"""§4.2/§4.3 closed-form experiments: the functions, gradient descent and its stopping rule, the grid runner,
the command line, and the paper's learning-rate tables."""
import argparse
import concurrent.futures
import csv

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad.experiments import functions as fx
from dualgrad.experiments.sweep import write_csv
from dualgrad.learning_rates import LearningRateNotFound, lr_for, lr_source


# ----- the functions ------------------------------------------------------------------------------------------
def sphere_grad(x):
    return 2 * x


def rosenbrock_grad(x):
    """∂/∂x_i: −400 x_i (x_{i+1} − x_i²) − 2 (1 − x_i) from term i, 200 (x_i − x_{i−1}²) from term i − 1."""
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] += -400 * x[:-1] * r - 2 * (1 - x[:-1])
    g[1:] += 200 * r
    return g


def styblinski_tang_grad(x):
    return 0.5 * (4 * x ** 3 - 32 * x + 5)


CLOSED_FORM = {
    "sphere": (lambda x: np.sum(x ** 2), sphere_grad),
    "rosenbrock": (lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2), rosenbrock_grad),
    "styblinski-tang": (lambda x: 0.5 * np.sum(x ** 4 - 16 * x ** 2 + 5 * x), styblinski_tang_grad),
}


@pytest.mark.parametrize("name", fx.PROBLEMS)
@given(n=st.integers(1, 40), seed=st.integers(0, 2 ** 16))
def test_values_and_jvps_match_the_closed_forms(name, n, seed):
    rng = np.random.default_rng(seed)
    x, V = 2 * rng.standard_normal(n), rng.standard_normal((3, n))
    value, grad = CLOSED_FORM[name]
    out, d = dg.jvp(fx.PROBLEMS[name].f, (x,), (V,))                          # d_i = ∇f·v_i, one pass
    np.testing.assert_allclose(out, value(x), rtol=1e-12)
    np.testing.assert_allclose(d, V @ grad(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dg.jacfwd(fx.PROBLEMS[name].f, chunk_size=fx.BP_CHUNK)(x), grad(x), rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("n", [1, 7, 64])
def test_styblinski_tang_minima(n):
    f = fx.PROBLEMS["styblinski-tang"].f
    np.testing.assert_allclose(f(np.full(n, fx.ST_ARGMIN)), -39.16599 * n, rtol=1e-5)     # the paper's value
    np.testing.assert_allclose(f(np.full(n, fx.ST_ARGMIN)), fx.ST_MINIMUM * n, rtol=1e-6)
    np.testing.assert_allclose(f(np.full(n, fx.ST_LOCAL_ARGMIN)), fx.ST_LOCAL_MINIMUM * n, rtol=1e-6)
    for argmin in (fx.ST_ARGMIN, fx.ST_LOCAL_ARGMIN):
        assert np.max(np.abs(styblinski_tang_grad(np.full(n, argmin)))) < 1e-4


def test_starts_step_limits_and_minima_are_the_papers():
    n = 5
    assert [fx.PROBLEMS[f].steps for f in ("sphere", "rosenbrock", "styblinski-tang")] == [1000, 25000, 1000]
    np.testing.assert_array_equal(fx.PROBLEMS["sphere"].start(n), -np.ones(n))
    np.testing.assert_array_equal(fx.PROBLEMS["rosenbrock"].start(n), [-1, 0, 0, 0, 0])
    np.testing.assert_array_equal(fx.PROBLEMS["styblinski-tang"].start(n), np.zeros(n))
    assert all(fx.PROBLEMS[f].start(n).dtype == np.float32 for f in fx.PROBLEMS)
    assert fx.PROBLEMS["rosenbrock"].f(fx.PROBLEMS["rosenbrock"].start(n)) == n + 102          # docs/paper.md, 5.2
    assert fx.PROBLEMS["rosenbrock"].f(np.ones(n)) == 0 and fx.PROBLEMS["sphere"].f(np.zeros(n)) == 0


# ----- gradient descent -----------------------------------------------------------------------------------------
def run(function, n, approach, k, lr, steps=None, seed=0, angle=None):
    return fx.execute(fx.Run(function, n, approach, k, seed, lr, steps or fx.PROBLEMS[function].steps, angle))


def test_bp_converges_on_the_sphere_in_float32():
    curve = run("sphere", 16, "bp", None, lr_for("math", "sphere", 16, "bp"))
    assert curve.dtype == np.float32 and curve[0] == 16
    assert curve[-1] == 0 and len(curve) - 1 < 1000            # reached exactly 0, then 50 steps without progress


@pytest.mark.parametrize("n, k", [(1, 2), (4, 4), (16, 16), (5, 16)])
def test_frog_with_k_at_least_n_is_exact(n, k):
    """span(V) = R^n, so the projection is ∇f itself: lr 0.5 on the sphere lands on 0 in one step."""
    curve = run("sphere", n, "frog", k, 0.5, steps=5)
    assert curve[1] <= 1e-10 * curve[0]


@pytest.mark.parametrize("k", [4, 16])
def test_frog_with_k_at_least_n_follows_gradient_descent(k):
    lr = lr_for("math", "rosenbrock", 4, "bp")
    np.testing.assert_allclose(run("rosenbrock", 4, "frog", k, lr, steps=300),
                               run("rosenbrock", 4, "bp", None, lr, steps=300), rtol=1e-3)


def test_frog_below_n_moves_k_over_n_of_a_gradient_step():
    """One frog step with lr 1/2 on the sphere: x_1 = x − P_U x, f_1 = ‖x‖² − ‖P_U x‖², and E[P_U] = (k/n) I for
    a uniformly random k-subspace gives E[f_1] = n − k from x_0 = −1 (f_0 = n)."""
    n, k, seeds = 32, 4, 300
    firsts = [run("sphere", n, "frog", k, 0.5, steps=1, seed=s)[1] for s in range(seeds)]
    assert abs(np.mean(firsts) - (n - k)) < 5 * np.std(firsts) / np.sqrt(seeds)


def test_a_diverging_run_stops_at_the_nan_and_records_it():
    curve = run("sphere", 4, "bp", None, lr=10.0)                # x ← −19 x: overflow, then inf − inf
    assert np.isnan(curve[-1]) and len(curve) - 1 < 100
    assert np.all(np.isfinite(curve[:5])) and np.nanmin(curve) == curve[0]


@pytest.mark.parametrize("improve_at", [None, 30])
def test_fifty_steps_without_progress_stop(improve_at):
    """f_t ≥ f_{t−1} for PATIENCE consecutive steps stops the run; one improvement resets the count."""
    steps = iter(range(10 ** 6))

    def flat(x):
        return (0.0 if next(steps) == improve_at else 1.0), np.zeros_like(x)   # improves once, then rises to 1
    curve = fx.descend(flat, np.zeros(3, np.float32), 0.1, 1000)
    assert len(curve) - 1 == fx.PATIENCE + (improve_at or 0)


def test_rosenbrock_in_one_dimension_is_flat_and_stops_after_patience():
    assert len(run("rosenbrock", 1, "frog", 2, 0.1)) - 1 == fx.PATIENCE     # the empty sum: f ≡ 0


# ----- the grid ---------------------------------------------------------------------------------------------------
def csv_text(rows, tmp_path, name):
    write_csv(tmp_path / name, fx.COLUMNS, [{c: r[c] for c in fx.COLUMNS} for r in rows])
    return (tmp_path / name).read_text()


GRID = {"functions": ("sphere", "styblinski-tang"), "ns": (4, 32), "ks": (2, 16), "seeds": (0, 1),
        "steps_scale": 0.04, "progress": False}


def test_rows_do_not_depend_on_the_workers_or_the_executor(tmp_path):
    one = csv_text(fx.run_functions(workers=1, **GRID), tmp_path, "one.csv")
    two = csv_text(fx.run_functions(workers=2, **GRID), tmp_path, "two.csv")
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        threads = csv_text(fx.run_functions(executor=pool, **GRID), tmp_path, "threads.csv")
    assert one == two == threads
    rows = list(csv.DictReader(one.splitlines()))
    assert len(rows) == 2 * 2 * (1 + 1 + 2 + 2) * 2
    for function in GRID["functions"]:                      # bp draws nothing: one run, the same row per seed
        bp = [r for r in rows if r["approach"] == "bp" and r["function"] == function and r["n"] == "32"]
        assert bp[0]["k"] == "" and [r["seed"] for r in bp] == ["0", "1"] and bp[0]["final_f"] == bp[1]["final_f"]
    frog = {r["seed"]: r["final_f"] for r in rows if r["approach"] == "frog" and r["k"] == "2" and r["n"] == "32"}
    assert frog["0"] != frog["1"]                           # seeds draw different tangents


def command(argv):
    """Parse and run as ``dualgrad experiment ...`` does with the subcommands of ``add_subcommands``."""
    parser = argparse.ArgumentParser()
    fx.add_subcommands(parser.add_subparsers(dest="experiment", required=True))
    args = parser.parse_args(argv)
    args.run(args)


def test_quick_command_writes_the_documented_files(tmp_path, capsys):
    command(["functions", "--quick", "--workers", "2", "--no-plots", "--out", str(tmp_path)])
    with open(tmp_path / "functions.csv", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["function", "n", "approach", "k", "seed", "lr", "steps_run", "final_f", "best_f"]
        rows = list(reader)
    assert len(rows) == 3 * len(fx.QUICK["ns"]) * 8
    assert {r[2] for r in rows} == {"bp", "fg", "mean", "frog"}
    curves = np.load(tmp_path / "functions_curves.npz")
    assert len(curves.files) == len(rows)
    row = dict(zip(fx.COLUMNS, rows[-1]))
    curve = curves[fx.curve_key(row)]
    assert len(curve) - 1 == int(row["steps_run"]) and float(curve[-1]) == float(row["final_f"])
    assert "styblinski-tang: final f" in capsys.readouterr().out


def test_plots(tmp_path):
    pytest.importorskip("matplotlib")
    rows = fx.run_functions(functions=("sphere", "styblinski-tang"), ns=(2, 8), ks=(2,), seeds=(0,),
                            steps_scale=0.02, workers=1, progress=False, out=tmp_path)
    assert {p.name for p in tmp_path.glob("*.png")} == {"functions_curves.png", "functions_final.png"}
    assert "| approach | n=2 | n=8 |" in fx.summary(rows, markdown=True)


def test_angles_opt(tmp_path):
    rows = fx.run_angles(n=8, ks=(8,), angles=(30, 90), seeds=(0,), steps_scale=0.1, lr=0.02, workers=1,
                         progress=False, out=tmp_path, plots=False)
    with open(tmp_path / "angles_opt.csv", newline="") as fh:
        assert next(csv.reader(fh)) == list(fx.ANGLE_COLUMNS)
    final = {(r["approach"], r["angle"]): r["final_f"] for r in rows}
    # k = n: the projection is exact whatever the angle; the mean of unit tangents at 30° is not
    np.testing.assert_allclose(final["frog", 30], final["frog", 90], rtol=1e-4)
    assert final["mean", 30] != final["mean", 90]


def test_quick_angles_command_uses_the_papers_rates(tmp_path):
    command(["angles-opt", "--quick", "--workers", "1", "--no-plots", "--out", str(tmp_path)])
    with open(tmp_path / "angles_opt.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * len(fx.QUICK_ANGLES["angles"])
    assert {float(r["lr"]) for r in rows if r["approach"] == "frog" and r["k"] == "16"} == {
        lr_for("math__custom_tangents", "styblinski-tang", 64, "frog", 16)}


# ----- learning rates -----------------------------------------------------------------------------------------------
def test_the_papers_learning_rates():
    assert lr_for("math", "sphere", 1024, "frog", 16) == pytest.approx(0.486, abs=1e-3)
    assert lr_for("math", "sphere", 1024, "mean", 16) == pytest.approx(0.0075, abs=1e-4)
    assert lr_for("math", "rosenbrock", 1, "bp") == pytest.approx(0.0836, abs=1e-4)
    assert lr_for("math", "styblinski-tang", 1024, "fg") == lr_for("math", "styblinski-tang", 1024, "fg-mean", 1)
    assert lr_for("fc_nns", "fc_w=4096", approach="frog", k=16) == pytest.approx(0.252, abs=1e-3)
    for function in fx.PROBLEMS:                           # the full default grid resolves from the table
        for n in fx.PAPER_N:
            for approach, k in [("bp", None), ("fg", 1)] + [(a, k) for a in ("mean", "frog") for k in fx.PAPER_K]:
                assert lr_source("math", function, n, approach, k)[1] == "table"


def test_fallback_rules():
    angled = {"sampler": "angle", "angle": 45}
    assert lr_source("math__custom_tangents", "styblinski-tang", 64, "mean", 16, **angled)[1] == "table"
    lr, source = lr_source("math__custom_tangents", "styblinski-tang", 64, "frog", 16, **angled)
    assert source == "sampler=normal" and lr == pytest.approx(0.00184, abs=1e-5)
    lr, source = lr_source("math", "sphere", 256, "frog", 1)                  # no frog k = 1 in the table
    assert source == "(n/k) mean" and lr == 256 * lr_for("math", "sphere", 256, "fg")


@pytest.mark.parametrize("args, words", [
    (("math", "sphere", 1000, "mean", 16), "n in [1, 2, 4"),
    (("math", "sphere", 1024, "mean", 8), "fg-mean k=16"),
    (("math", "ackley", 4, "bp"), "rosenbrock"),
    (("math", "sphere", 16, "frog", 16), None),            # k = n: a table row, no rule needed
])
def test_unknown_combinations_raise_a_clear_error(args, words):
    if words is None:
        assert lr_for(*args) > 0
        return
    with pytest.raises(LearningRateNotFound, match="--lr") as info:
        lr_for(*args)
    assert words in str(info.value)


def test_unknown_table_or_approach():
    with pytest.raises(ValueError, match="ships"):
        lr_for("nope", "sphere", 4, "bp")
    with pytest.raises(ValueError, match="approach"):
        lr_for("math", "sphere", 4, "adam")
    with pytest.raises(LearningRateNotFound, match="--lr"):
        fx.run_functions(functions=("sphere",), ns=(3,), progress=False)
