"""The dualgrad command end to end: train (and resume), compare, and the errors a user sees."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualgrad import backend, checkpoint, cli

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
    assert cli.main(["experiment", "--help"]) == 0
    out = capsys.readouterr().out
    for name in ("approx", "angles", "functions", "angles-opt", "lr-search"):
        assert name in out


# ----- exit statuses: 2 usage (nothing written), 1 runtime (one line), 3 diverged ----------------------------------
USAGE_ERRORS = [
    ["--k", "0"], ["--batch-size", "0"], ["--batch-size", "-5"], ["--width", "0"], ["--width", "-4"],
    ["--seed", "-1"], ["--dataset", "imagenet"], ["--epochs", "-3"], ["--epochs", "0"], ["--threads", "0"],
    ["--loss-bound", "nan"], ["--lr", "nan"], ["--lr", "inf"], ["--lr", "0"], ["--momentum", "1"],
    ["--method", "median"], ["--sampler", "gaussian"], ["--sampler", "angle"], ["--sampler", "angle", "--angle", "200"],
    ["--angle", "30"], ["--method", "fg", "--k", "4"], ["--sampler", "orthonormal", "--k", "100"],
    ["--sampler", "varying_length"], ["--model", "lenet5", "--dataset", "teacher-student"], ["--resume"],
    ["--overwrite", "--resume"], ["--dataset", "mnist", "--data-dir", "."], ["--k"], ["--width", "wide"],
    ["--backend", "tpu"], ["--backend"],
]


@pytest.mark.parametrize("flags", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_exit_2_before_anything_is_written(tmp_path, capsys, flags):
    out = tmp_path / "run"
    assert cli.main(["train", "--out", str(out)] + TINY + flags) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error:" in err
    assert not out.exists()


def test_out_onto_a_file_and_resume_elsewhere_are_usage_errors(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert cli.main(["train", "--out", str(tmp_path / "file")] + TINY) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert cli.main(["train", "--out", str(tmp_path / "a"), "--resume", str(tmp_path / "b")] + TINY) == 2
    assert "name different directories" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_compare_checks_every_run_before_training_any(tmp_path, capsys):
    for flags in (["--k", "0"], ["--sampler", "orthonormal", "--k", "100"], ["--lr", "-1"]):
        assert cli.main(["compare", "--out", str(tmp_path / "cmp")] + TINY + flags) == 2
        captured = capsys.readouterr()
        assert "== bp" not in captured.out and "Traceback" not in captured.err
        assert not (tmp_path / "cmp").exists()


def test_a_runtime_error_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    from dualgrad import train

    def broken(*args, **kwargs):
        raise RuntimeError("the disk\nis full")
    monkeypatch.setattr(train, "_evaluate_all", broken)
    assert cli.main(["train", "--out", str(tmp_path / "a")] + TINY) == 1
    err = capsys.readouterr().err
    assert err == "dualgrad train: error: RuntimeError: the disk is full (--debug shows the traceback)\n"
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["status"] == "error" and "nothing was committed" in summary["stopped"]
    assert cli.main(["train", "--out", str(tmp_path / "b"), "--debug"] + TINY) == 1
    assert "Traceback" in capsys.readouterr().err


def test_help_lists_the_exit_codes(capsys):
    for argv in (["--help"], ["train", "--help"], ["compare", "--help"]):
        assert cli.main(argv) == 0
        out = capsys.readouterr().out
        for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
            assert f"\n  {code}" in out, (argv, code)
        assert "interrupted by SIGINT" in out


# ----- fuzzing the argument vector -------------------------------------------------------------------------------
VALUES = {   # valid and invalid values of each flag; valid ones keep a run under a second
    "--model": ["fcnet", "lenet5", "mlp"], "--width": ["1", "8", "0", "-4", "x"], "--hidden-layers": ["0", "1", "-1"],
    "--dataset": ["digits", "teacher-student", "mnist", "imagenet"], "--grad": ["activity", "weight", "exact", "bp",
                                                                              "backprop"],
    "--method": ["projection", "mean", "fg", "frog", "sum", "max", "median"], "--k": ["1", "2", "5", "0", "-1"],
    "--sampler": ["normal", "rademacher", "basis", "angle", "orthonormal", "varying_length", "gaussian"],
    "--angle": ["0", "30", "180", "200", "-30", "nan"], "--lr": ["0.1", "1e4", "0", "-1", "nan", "inf"],
    "--optimizer": ["sgd", "adam", "rmsprop"], "--momentum": ["0", "0.9", "1", "-0.1"],
    "--weight-decay": ["0", "0.01", "-1"], "--lr-schedule": ["constant", "cosine", "step", "linear"],
    "--batch-size": ["256", "2000", "0", "-5"], "--epochs": ["1", "2", "0", "-3", "1.5"], "--patience": ["1", "0"],
    "--min-delta": ["0", "0.1", "-1", "nan"], "--loss-bound": ["10", "inf", "0", "nan"], "--seed": ["0", "7", "-1"],
    "--threads": ["1", "0"], "--diagnostics": ["0", "3", "-1"], "--eval-batch-size": ["4096", "0"],
    "--backend": ["numpy", "cupy", "tpu"],
}


flag_and_value = st.sampled_from(sorted(VALUES)).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(VALUES[f])))


@given(pairs=st.lists(flag_and_value, max_size=6),
       extra=st.sampled_from([[], ["--resume"], ["--overwrite"], ["--k"], ["--bogus"]]))
def test_fuzzed_command_lines_exit_with_a_documented_status_and_no_traceback(tmp_path_factory, pairs, extra):
    import contextlib
    import io
    out = tmp_path_factory.mktemp("fuzz") / "run"
    argv = ["train", "--out", str(out), "--no-progress", "--no-plot"] + [w for pair in pairs for w in pair] + extra
    if "--epochs" not in argv:
        argv += ["--epochs", "1"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(argv)
    assert status in (0, 2, 3), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    if status == 2:
        assert not out.exists(), argv
    else:
        assert json.loads((out / "summary.json").read_text())["status"] == ("finished" if status == 0 else "diverged")


# the experiment commands: quick baselines that drawn flags override (argparse keeps the last occurrence)
EXPERIMENTS = {
    "approx": (["--n", "4", "--k", "1", "2", "--samples", "2"],
               {"--n": ["1", "8", "0", "-2", "x"], "--k": ["1", "3", "0"], "--samples": ["1", "0", "nan"],
                "--quick": [], "--seed": ["0", "-1"]}),
    "angles": (["--n", "4", "--k", "2", "--angles", "30", "--samples", "2"],
               {"--n": ["2", "6", "0"], "--k": ["1", "3", "0"], "--angles": ["0", "90", "180", "200", "-1", "nan"],
                "--samples": ["1", "-3"]}),
    "functions": (["--function", "sphere", "--n", "2", "--approach", "bp", "fg", "--seeds", "0", "--steps-scale",
                   "0.001"],
                  {"--function": ["sphere", "rosenbrock", "ackley"], "--n": ["2", "4", "0"],
                   "--approach": ["bp", "frog", "sgd"], "--k": ["2", "0"], "--seeds": ["1", "-1"],
                   "--steps-scale": ["0.002", "0", "nan", "inf"], "--lr": ["0.01", "-1", "nan"]}),
    "fcnet": (["--width", "2", "--k", "2", "--approach", "fg", "--seeds", "0", "--epochs", "1", "--no-subset"],
              {"--width": ["1", "0", "-3"], "--approach": ["bp", "mean", "adam"], "--k": ["1", "0"],
               "--epochs": ["1", "0", "-1"], "--dataset": ["digits", "mnist", "imagenet"], "--seeds": ["-1"]}),
}


@given(experiment=st.sampled_from(sorted(EXPERIMENTS)), data=st.data())
def test_fuzzed_experiment_commands_exit_0_or_2_and_write_nothing_on_2(tmp_path_factory, experiment, data):
    import contextlib
    import io
    base, values = EXPERIMENTS[experiment]
    pairs = data.draw(st.lists(st.sampled_from(sorted(values)).flatmap(
        lambda f: st.tuples(st.just(f), st.sampled_from(values[f] or [None]))), max_size=3))
    out = tmp_path_factory.mktemp("fuzz") / "out"
    argv = ["experiment", experiment, *base, "--workers", "1", "--no-plots", "--out", str(out)]
    argv += [w for pair in pairs for w in pair if w is not None]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(argv)
    assert status in (0, 2), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert out.exists() == (status == 0), argv


@pytest.mark.parametrize("flags", [["--k", "0"], ["--k", "x"], ["--budget", "0"], ["--budget", "nan"],
                                   ["--threads", "0"], ["--suite", "gpu"], ["--json", "."]], ids=" ".join)
def test_bench_flags_are_checked(flags, capsys):
    assert cli.main(["bench", *flags]) == 2
    assert "error: argument" in capsys.readouterr().err


def test_compare_resumes_the_runs_it_has_and_starts_the_others(tmp_path, capsys):
    out = tmp_path / "cmp"
    flags = ["compare", "--k", "2", "--width", "8", "--no-progress", "--no-plot", "--out", str(out)]
    assert cli.main(flags + ["--epochs", "1"]) == 0
    for name in ("mean_k2", "frog_k2"):
        for path in (out / name).iterdir():
            path.unlink()
        (out / name).rmdir()
    assert cli.main(flags + ["--epochs", "1"]) == 2                  # used: bp and fg are there
    assert "already holds a run" in capsys.readouterr().err
    assert cli.main(flags + ["--epochs", "2", "--resume"]) == 0
    for name in ("bp", "fg", "mean_k2", "frog_k2"):
        rows = [json.loads(line) for line in (out / name / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in rows] == [0, 1, 2], name
    assert cli.main(flags + ["--epochs", "2", "--resume", "--width", "16"]) == 2
    assert "another configuration" in capsys.readouterr().err


# ----- --backend --------------------------------------------------------------------------------------------------
def test_backend_numpy_given_is_the_default_bit_for_bit(tmp_path, capsys):
    flags = ["train", "--k", "4"] + TINY
    assert cli.main(flags + ["--out", str(tmp_path / "default")]) == 0
    assert cli.main(flags + ["--out", str(tmp_path / "given"), "--backend", "numpy"]) == 0
    runs = [tmp_path / name for name in ("default", "given")]
    configs = [json.loads((run / "config.json").read_text()) for run in runs]
    assert configs[0] == configs[1] and configs[0]["training"]["backend"] == "numpy"
    assert json.loads((runs[0] / "summary.json").read_text())["config"]["training"]["backend"] == "numpy"
    (a, meta_a), (b, meta_b) = (checkpoint.load(run / "checkpoint.npz") for run in runs)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and (a[name] == b[name]).all(), name
    for meta in (meta_a, meta_b):
        del meta["seconds"]
        for row in meta["rows"]:
            del row["seconds"]
    assert meta_a == meta_b


@pytest.mark.skipif("cupy" in backend.available(), reason="this machine has CuPy and a GPU")
@pytest.mark.parametrize("command", [["train"], ["compare", "--k", "2"]], ids=" ".join)
def test_backend_cupy_without_a_gpu_is_a_usage_error_before_anything_is_written(tmp_path, capsys, command):
    out = tmp_path / "run"
    assert cli.main(command + TINY + ["--backend", "cupy", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"dualgrad {command[0]}: error: backend 'cupy' was requested") and "dualgrad[gpu]" in err
    assert not out.exists()


def test_resume_with_another_backend_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["train", "--grad", "exact", "--out", str(tmp_path)] + TINY) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert cli.main(["train", "--resume", str(tmp_path), "--backend", "cupy", "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert '(--backend: "numpy" in config.json, "cupy" now)' in err, err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
