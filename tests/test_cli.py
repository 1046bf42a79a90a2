"""The dualgrad command end to end: train (and resume), compare, and the errors a user sees."""
import json

import pytest

from dualgrad import cli

TINY = ["--width", "16", "--epochs", "2", "--no-progress", "--no-plot"]


def test_train_writes_metrics_and_prints_a_table(tmp_path, capsys):
    assert cli.main(["train", "--k", "4", "--out", str(tmp_path)] + TINY) == 0
    out = capsys.readouterr().out
    assert "digits: 1079 train" in out and "frog k=4" in out and "test acc" in out and "stopped:" in out
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "seconds"} <= set(rows[0])
    assert (tmp_path / "checkpoint.npz").exists() and (tmp_path / "summary.json").exists()


def test_train_resume_continues(tmp_path, capsys):
    cli.main(["train", "--grad", "exact", "--out", str(tmp_path)] + TINY)
    cli.main(["train", "--grad", "exact", "--out", str(tmp_path), "--resume"] + TINY[:2] + ["--epochs", "3"]
             + TINY[4:])
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]


def test_compare_prints_one_table(tmp_path, capsys):
    assert cli.main(["compare", "--k", "4", "--out", str(tmp_path), "--width", "16", "--epochs", "1",
                     "--no-progress", "--no-plot"]) == 0
    table = capsys.readouterr().out.rsplit("run ", 1)[1]
    for label in ("bp", "fg", "mean k=4", "frog k=4"):
        assert label in table


def test_missing_dataset_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path)] + TINY) == 2
    err = capsys.readouterr().err
    assert "mnist: missing train-images-idx3-ubyte" in err and str(tmp_path) in err


def test_every_command_is_registered(capsys):
    with pytest.raises(SystemExit):
        cli.main(["experiment", "--help"])
    out = capsys.readouterr().out
    for name in ("approx", "angles", "functions", "angles-opt", "lr-search"):
        assert name in out
