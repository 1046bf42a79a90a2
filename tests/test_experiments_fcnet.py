"""§4.4 fully-connected nets: the grid, its outputs, determinism across workers, the learning rates' sources,
and that the quick run learns."""
import csv
import pathlib
from dataclasses import replace

import numpy as np
import pytest

from dualgrad import approaches, cli
from dualgrad.experiments import fcnet, networks
from dualgrad.learning_rates import base_rates, default_lr


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def without_timing(rows):
    return [{c: v for c, v in r.items() if c not in fcnet.TIMING_COLUMNS} for r in rows]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The --quick grid (W = 256, seed 0, 2 epochs) in this process, with its files."""
    out = tmp_path_factory.mktemp("fcnet")
    rows, curves = fcnet.run_fcnet(subset=None, workers=1, progress=False, out=out, **fcnet.QUICK)
    return rows, curves, out


def test_quick_run_writes_the_documented_columns_and_every_run(quick):
    rows, curves, out = quick
    table = read(out / "fcnet.csv")
    assert tuple(table[0]) == fcnet.COLUMNS
    expected = {("bp", ""), ("fg", "1")} | {(a, str(k)) for a in ("mean", "frog") for k in (2, 4, 16)}
    assert {(r["approach"], r["k"]) for r in table} == expected and len(table) == 8
    assert all(r["dataset"] == "digits" and r["width"] == "256" and r["seed"] == "0" for r in table)
    assert all(r["stopped"] in ("epoch-cap", "early-stop", "diverged") for r in table)
    curve_table = read(out / "fcnet_curves.csv")
    assert tuple(curve_table[0]) == fcnet.CURVE_COLUMNS
    for row in rows:                                     # epochs 0 … epochs_run of every run, best among them
        epochs = [c["epoch"] for c in curves if (c["approach"], c["k"]) == (row["approach"], row["k"])]
        assert epochs == list(range(row["epochs_run"] + 1)) and row["best_epoch"] in epochs
        best = next(c for c in curves if (c["approach"], c["k"], c["epoch"]) ==
                    (row["approach"], row["k"], row["best_epoch"]))
        assert best["test_acc"] == row["test_acc"] and best["val_loss"] == min(
            c["val_loss"] for c in curves if (c["approach"], c["k"]) == (row["approach"], row["k"]))
    assert len(curve_table) == len(curves) == sum(r["epochs_run"] + 1 for r in rows)


def test_same_seed_gives_the_same_results_for_one_and_two_workers(quick, tmp_path):
    """Three runs of the quick grid again on a pool of two processes: the same rows and curves."""
    _, _, out = quick
    fcnet.run_fcnet(approaches=("bp", "mean", "frog"), ks=(2,), subset=None, workers=2, progress=False,
                    out=tmp_path, plots=False, **fcnet.QUICK)
    for name in ("fcnet.csv", "fcnet_curves.csv"):
        again = without_timing(read(tmp_path / name))
        assert len({(r["approach"], r["k"]) for r in again}) == 3
        assert again == [r for r in without_timing(read(out / name)) if r["k"] in ("", "2")]


def test_a_run_does_not_depend_on_the_rest_of_the_grid(quick):
    rows, _, _ = quick
    run = next(r for r in fcnet.plan(subset=None, **fcnet.QUICK) if (r.approach, r.k) == ("frog", 4))
    alone, _ = networks.execute(run)
    in_grid = next(r for r in rows if (r["approach"], r["k"]) == ("frog", 4))
    assert without_timing([alone]) == without_timing([in_grid])


def test_learning_rates_and_their_source_are_default_lr(quick):
    rows, _, _ = quick
    for row in rows:
        configuration = approaches.configuration(row["approach"], row["k"])
        lr, source = default_lr("fcnet", "digits", *configuration, 2 * row["width"] + 10)
        assert (row["lr"], row["lr_source"]) == (lr, source)
        assert source.startswith("lrs/base.csv")                       # the FC net's rates for the digits


def test_bp_and_frog_16_beat_chance_clearly_in_the_quick_run(quick):
    rows, _, _ = quick
    acc = {(r["approach"], r["k"]): r["test_acc"] for r in rows}
    assert acc[("bp", None)] > 0.8 and acc[("frog", 16)] > 0.4          # chance: 0.1


def test_quick_run_draws_both_figures(quick):
    pytest.importorskip("matplotlib")
    _, _, out = quick
    assert (out / "fcnet_curves.png").stat().st_size > 0 and (out / "fcnet_k.png").stat().st_size > 0


def test_default_grid_is_the_papers_plus_the_4096_subset():
    runs = fcnet.plan()
    full = [r for r in runs if r.width in fcnet.PAPER_WIDTHS]
    assert len(full) == 2 * 8 * 3 and {r.epochs for r in full} == {200}
    assert {(r.approach, r.k) for r in full} == set(approaches.pairs(fcnet.APPROACHES, fcnet.PAPER_K))
    subset = [r for r in runs if r.width == 4096]
    assert {(r.approach, r.k) for r in subset} == set(fcnet.SUBSET.configs)
    assert {r.seed for r in subset} == set(fcnet.SUBSET.seeds) and {r.epochs for r in subset} == {fcnet.SUBSET.epochs}
    assert len(runs) == len(full) + len(subset)


def write_idx(path, array):
    """An unsigned-byte IDX file: magic 0x0000 08 <rank>, big-endian dimensions, the bytes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_from_idx_files_uses_the_papers_learning_rates_through_the_scale_rule(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for part, count in (("train", 10_064), ("t10k", 100)):
        write_idx(tmp_path / "mnist" / f"{part}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        write_idx(tmp_path / "mnist" / f"{part}-labels-idx1-ubyte", rng.integers(0, 10, count))
    runs = fcnet.plan("mnist", widths=(256,), seeds=(0,), epochs=1, subset=None, data_dir=tmp_path)
    rates = base_rates()["fcnet", "mnist"]
    assert "fc_nns.csv" in rates["source"]
    for run in runs:
        assert run.lr == default_lr("fcnet", "mnist", *approaches.configuration(run.approach, run.k), 522)[0]
        assert run.lr_source.startswith("lrs/base.csv")
    assert next(r.lr for r in runs if r.approach == "bp") == rates["bp"]
    row, curve = networks.execute(replace(next(r for r in runs if r.approach == "bp"), width=16))  # 784 inputs
    assert row["dataset"] == "mnist" and row["epochs_run"] == 1 and len(curve) == 2


def test_command_prints_the_table_and_missing_mnist_is_a_clear_error(tmp_path, capsys):
    args = ["experiment", "fcnet", "--quick", "--approach", "bp", "--workers", "1", "--no-plots", "--out",
            str(tmp_path)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "mean ± std over seeds" in out and "W=256" in out and "bp" in out and "(1 seed)" in out
    assert len(read(tmp_path / "fcnet.csv")) == 1
    assert cli.main(["experiment", "fcnet", "--dataset", "mnist", "--data-dir", str(tmp_path), "--quick"]) == 2
    assert "mnist: missing train-images-idx3-ubyte" in capsys.readouterr().err


def test_the_committed_mnist_5k_results_ran_at_the_committed_default_learning_rates():
    """docs/experiments/data/fcnet_mnist-5k.csv: every run's rate and source are what lrs/base.csv gives today, so
    the documented command reproduces it."""
    rows = read(pathlib.Path(__file__).parents[1] / "docs" / "experiments" / "data" / "fcnet_mnist-5k.csv")
    assert len(rows) == 2 * 8 * 3 and {r["epochs_run"] for r in rows} == {"10"}
    for r in rows:
        config = approaches.configuration(r["approach"], int(r["k"]) if r["k"] else None)
        lr, source = default_lr("fcnet", "mnist-5k", *config, 2 * int(r["width"]) + 10)
        assert (float(r["lr"]), r["lr_source"]) == (lr, source)


def test_the_committed_digits_scale_rule_results_ran_at_the_committed_default_learning_rates():
    """docs/experiments/data/fcnet_digits_scale_rule.csv (fcnet.md §3.3): both widths, three seeds, every run at the
    rate and source that lrs/base.csv gives today."""
    rows = read(pathlib.Path(__file__).parents[1] / "docs" / "experiments" / "data" / "fcnet_digits_scale_rule.csv")
    assert len(rows) == 2 * 8 * 3 and {r["width"] for r in rows} == {"256", "1024"}
    for r in rows:
        config = approaches.configuration(r["approach"], int(r["k"]) if r["k"] else None)
        lr, source = default_lr("fcnet", "digits", *config, 2 * int(r["width"]) + 10)
        assert (float(r["lr"]), r["lr_source"]) == (lr, source)

