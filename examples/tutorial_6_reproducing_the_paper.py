"""Tutorial 6: reproducing the paper (docs/tutorial/06-reproducing-the-paper.md).

    python examples/tutorial_6_reproducing_the_paper.py [--quick] [--workers N]

Runs each of the paper's experiments through the `dualgrad experiment` command on a reduced grid, reads the
CSV it writes, and checks it: against the exact theory (§4.1, §4.3), against the committed full runs in
docs/experiments/data/ (§4.2: the same seed gives the same run, bit for bit), and against the paper's
qualitative claims. Then it reads the committed full-grid tables the way docs/experiments/*.md do.
"""
import csv
import math
import pathlib
import tempfile
from collections import defaultdict

import numpy as np
from _tutorial import Checks, parse_args

from dualgrad import cli
from dualgrad.estimators import theory
from dualgrad.experiments.functions import ST_MINIMUM

DATA = pathlib.Path(__file__).resolve().parents[1] / "docs" / "experiments" / "data"


def dualgrad(*argv) -> int:
    """Run `dualgrad ARGV` (the installed command) in this process."""
    argv = [str(a) for a in argv]
    print("\n$ dualgrad " + " ".join(argv))
    return cli.main(argv)


def read(path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def largest_z(rows) -> float:
    """The largest |measured − exact| / standard error over the rows of approx.csv or angles.csv that have an
    exact value (cosine and norm ratio of fg, projection, mean, sum); standard error = std/√samples."""
    exact = {"cosine": theory.expected_cosine, "norm_ratio": theory.expected_norm_ratio}
    worst = 0.0
    for row in rows:
        if row["metric"] not in exact or row["approach"] not in ("fg", "projection", "mean", "sum"):
            continue
        value = exact[row["metric"]](int(row["n"]), int(row["k"]), row["approach"])
        gap, se = abs(float(row["mean"]) - value), float(row["std"]) / math.sqrt(int(row["samples"]))
        worst = max(worst, 0.0 if gap < 1e-9 else gap / se if se > 0 else math.inf)
    return worst


def approximation(checks, quick, workers, tmp):
    print("§4.1 Approximation quality: cosine and norm of the estimates against n and k")
    grid = ("--n", 16, 64, "--k", 1, 4, 16, "--samples", 100) if quick else ("--quick",)
    checks.check(dualgrad("experiment", "approx", *grid, "--workers", workers, "--no-plots", "--out", tmp) == 0,
                 "`dualgrad experiment approx` runs")
    rows = read(pathlib.Path(tmp) / "approx.csv")
    cells = {(int(r["n"]), int(r["k"]), r["approach"]): float(r["mean"]) for r in rows if r["metric"] == "cosine"}
    print(f"   {'n':>5} {'k':>4} {'E[cos] projection':>18} {'exact':>7} {'E[cos] mean':>12} {'exact':>7}")
    for (n, k, approach), value in sorted(cells.items()):
        if approach == "projection":
            print(f"   {n:5d} {k:4d} {value:18.4f} {theory.expected_cosine(n, k, 'projection'):7.4f} "
                  f"{cells[n, k, 'mean']:12.4f} {theory.expected_cosine(n, k, 'mean'):7.4f}")
    z = largest_z(rows)
    print(f"   largest |measured − exact| / standard error: {z:.2f}")
    checks.check(z < 5, "every cosine and norm ratio is within 5 standard errors of dualgrad.estimators.theory")


def angles(checks, quick, workers, tmp):
    print("\n§4.3 Custom tangents: unit tangents at a fixed angle to a base tangent, n = 64")
    grid = ("--k", 16, "--angles", 15, 90, "--samples", 200) if quick else ()
    checks.check(dualgrad("experiment", "angles", *grid, "--workers", workers, "--no-plots", "--out", tmp) == 0,
                 "`dualgrad experiment angles` runs")
    rows = [r for r in read(pathlib.Path(tmp) / "angles.csv") if r["metric"] == "cosine"]
    table = {(int(r["k"]), float(r["angle"]), r["approach"]): r for r in rows}
    ks, degrees = sorted({k for k, _, _ in table}), sorted({a for _, a, _ in table})
    for k in ks:
        for approach in ("projection", "mean"):
            line = " ".join(f"{float(table[k, a, approach]['mean']):.3f}" for a in degrees)
            print(f"   k = {k:2d} {approach:>10}, angles {degrees}: {line}")
    projection = [r for r in rows if r["approach"] == "projection"]
    checks.check(largest_z(projection) < 5, "the projection's cosine is the Gaussian theory's at every angle "
                 "(within 5 standard errors): it depends only on the span")
    checks.check(all(float(table[k, degrees[0], "mean"]["mean"]) < float(table[k, degrees[-1], "mean"]["mean"])
                     for k in ks if k > 1), f"the mean's cosine is lower at {degrees[0]:g}° than at {degrees[-1]:g}°")


def functions(checks, quick, workers, tmp):
    print("\n§4.2 Gradient descent on closed-form functions")
    grid = (("--function", "sphere", "--n", 64, "--seeds", 0) if quick else
            ("--function", "sphere", "styblinski-tang", "--n", 16, 64, 256, "--seeds", 0, 1, 2))
    checks.check(dualgrad("experiment", "functions", *grid, "--workers", workers, "--no-plots", "--out", tmp) == 0,
                 "`dualgrad experiment functions` runs")
    ours = read(pathlib.Path(tmp) / "functions.csv")
    key = ("function", "n", "approach", "k", "seed")
    committed = {tuple(r[c] for c in key): r for r in read(DATA / "functions.csv")}
    pairs = [(r, committed[tuple(r[c] for c in key)]) for r in ours]
    identical = [r["final_f"] == c["final_f"] and r["steps_run"] == c["steps_run"] for r, c in pairs]
    gap = max(abs(float(r["final_f"]) - float(c["final_f"])) / max(abs(float(c["final_f"])), 1e-300)
              for r, c in pairs if r["final_f"] != c["final_f"]) if not all(identical) else 0.0
    print(f"   {sum(identical)} of {len(pairs)} runs equal the committed rows bit for bit; the final f of the others "
          f"differs by at most {gap:.1e} (relative)")
    checks.check(gap < 1e-4, "every run's final f equals the committed one in docs/experiments/data/functions.csv "
                 "to float32 rounding (1e-4); on the machine that wrote the file most are identical")
    final = {(r["function"], int(r["n"]), r["approach"], r["k"]): float(r["final_f"]) for r in ours if r["seed"] == "0"}
    checks.check(final["sphere", 64, "fg", "1"] > final["sphere", 64, "mean", "16"] and
                 final["sphere", 64, "fg", "1"] > final["sphere", 64, "frog", "16"],
                 "sphere, n = 64: 16 tangents end lower than one")


def angles_opt(checks, quick, workers, tmp):
    print("\n§4.3 Styblinski–Tang with tangents at a fixed angle, n = 64")
    grid = ("--k", 16, "--angles", 15, 90, "--seeds", 0) if quick else ("--seeds", 0, 1)
    checks.check(dualgrad("experiment", "angles-opt", *grid, "--workers", workers, "--no-plots", "--out", tmp) == 0,
                 "`dualgrad experiment angles-opt` runs")
    final = defaultdict(list)
    for r in read(pathlib.Path(tmp) / "angles_opt.csv"):
        final[r["approach"], int(r["k"]), float(r["angle"])].append(float(r["final_f"]))
    optimum = ST_MINIMUM * 64
    checks.check(all(abs(np.mean(v) - optimum) < 1e-3 * abs(optimum) for (a, _, _), v in final.items() if a == "frog"),
                 f"frog ends within 0.1% of the optimum {optimum:.1f} at every angle")
    degrees = sorted({angle for _, _, angle in final})
    checks.check(all(np.mean(final["mean", k, degrees[0]]) > np.mean(final["mean", k, degrees[-1]])
                     for _, k, _ in final), f"the mean ends higher at {degrees[0]:g}° than at {degrees[-1]:g}°")


def fcnet(checks, quick, workers, tmp):
    print("\n§4.4 The FC net (W = 256) on the bundled digits, the stand-in for MNIST")
    grid = ("--k", 16, "--epochs", 2) if quick else ("--epochs", 30)
    checks.check(dualgrad("experiment", "fcnet", "--width", 256, "--seeds", 0, "--no-subset", *grid,
                          "--workers", workers, "--no-plots", "--out", tmp) == 0, "`dualgrad experiment fcnet` runs")
    accuracy = {(r["approach"], r["k"]): float(r["test_acc"]) for r in read(pathlib.Path(tmp) / "fcnet.csv")}
    fg, bp = accuracy["fg", "1"], accuracy["bp", ""]
    checks.check(all(bp > accuracy[a, "16"] > max(fg, 0.2) for a in ("mean", "frog")),
                 "bp is best, and mean and frog with 16 tangents beat fg and chance (0.1) twice over")
    if not quick:
        checks.check(all(accuracy[a, "2"] < accuracy[a, "4"] < accuracy[a, "16"] for a in ("mean", "frog")),
                     "test accuracy rises with k for mean and frog")


def lr_search(checks, workers, tmp):
    print("\nLearning rates for the digits (our substitute for MNIST): a short search, 2 epochs per trial")
    checks.check(dualgrad("experiment", "lr-search", "--epochs", 2, "--workers", workers, "--out", tmp) == 0,
                 "`dualgrad experiment lr-search` runs")
    tuned = {(r["gradient_approach"], r["k"]): float(r["lr"]) for r in read(pathlib.Path(tmp) / "digits.csv")}
    checks.check(all(tuned["frog", k] > 10 * tuned["fg-mean", k] for k in ("2.0", "4.0", "16.0")),
                 "even after 2 epochs per trial, frog's best learning rate is more than 10x the mean's at every k")


def committed_tables(checks):
    print("\nReading the committed full runs (docs/experiments/data/)")
    approx = read(DATA / "approx.csv")
    z = largest_z(approx)
    print(f"   approx.csv: {len(approx)} rows; largest |measured − exact| / standard error: {z:.2f}")
    checks.check(z < 5, "the full §4.1 sweep agrees with the exact theory within 5 standard errors everywhere")
    rows = read(DATA / "functions.csv")
    mean_over_seeds = defaultdict(list)
    for r in rows:
        mean_over_seeds[r["function"], int(r["n"]), r["approach"], r["k"]].append(float(r["final_f"]))
    sphere = {key: np.mean(v) for key, v in mean_over_seeds.items() if key[0] == "sphere" and key[1] == 1024}
    for k in ("2", "4", "16"):
        mean, frog = sphere["sphere", 1024, "mean", k], sphere["sphere", 1024, "frog", k]
        print(f"   functions.csv, sphere, n = 1024, k = {k:>2}: final f (5 seeds) mean {mean:.4g}, frog {frog:.4g}")
    checks.check(all(0.5 < sphere["sphere", 1024, "frog", k] / sphere["sphere", 1024, "mean", k] < 2
                     for k in ("2", "4", "16")), "for n ≫ k frog and mean end within a factor 2 of each other")
    exact = [v for (f, n, a, k), v in mean_over_seeds.items() if (f, a, k) == ("sphere", "frog", "16") and n <= 16]
    checks.check(all(value == 0 for values in exact for value in values),
                 "for k ≥ n frog is exact: frog k = 16 solves the sphere to 0 for every n ≤ 16 and seed")
    tuned = {(r["gradient_approach"], r["k"]): float(r["lr"]) for r in
             read(pathlib.Path(cli.__file__).parent / "lrs" / "digits.csv")}
    checks.check(all(tuned["frog", k] > 10 * tuned["fg-mean", k] for k in ("2.0", "4.0", "16.0")),
                 "lr-search's digits table: frog's learning rate is more than 10x the mean's at every k")


def main(argv=None):
    args = parse_args(__doc__, argv, workers=(int, None, "processes for the experiments (default: all cores; "
                                                        "--quick: 1)"))
    workers = args.workers or (1 if args.quick else 2)
    checks = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        approximation(checks, args.quick, workers, f"{tmp}/approx")
        angles(checks, args.quick, workers, f"{tmp}/angles")
        functions(checks, args.quick, workers, f"{tmp}/functions")
        angles_opt(checks, args.quick, workers, f"{tmp}/angles-opt")
        fcnet(checks, args.quick, workers, f"{tmp}/fcnet")
        if not args.quick:
            lr_search(checks, workers, f"{tmp}/lr-search")
    committed_tables(checks)
    checks.finish()


if __name__ == "__main__":
    main()
