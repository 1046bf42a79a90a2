"""The run directory never lies: a crash after any file operation of a run, a second run into the same
directory, an interrupt, a resume with another configuration or a used directory leave whole epochs only,
each once, and the resumed run equal to the uninterrupted one (bit for bit but the timing column)."""
import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from dualgrad import checkpoint, cli, rundir

TINY = ["train", "--width", "8", "--k", "2", "--epochs", "2", "--diagnostics", "7", "--no-progress", "--no-plot"]
TIMING = {"seconds"}


def dualgrad(*args, env=None, **kwargs):
    """The command in a fresh process (``python -m dualgrad.cli``)."""
    return subprocess.run([sys.executable, "-m", "dualgrad.cli", *map(str, args)], capture_output=True, text=True,
                          env=os.environ | (env or {}), timeout=120, **kwargs)


def popen(*args):
    return subprocess.Popen([sys.executable, "-m", "dualgrad.cli", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def jsonl(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]


def without_timing(rows):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def csv_rows(path):
    with open(path, newline="") as fh:
        return without_timing(list(csv.DictReader(fh)))


def assert_same_run(run, reference):
    """Every file of ``run`` equals ``reference``'s, but the timing column; no temporary file is left."""
    names = sorted(p.name for p in run.iterdir())
    assert names == sorted(p.name for p in reference.iterdir()), names
    assert not [n for n in names if n.endswith(".tmp")]
    assert without_timing(jsonl(run / "metrics.jsonl")) == without_timing(jsonl(reference / "metrics.jsonl"))
    assert csv_rows(run / "metrics.csv") == csv_rows(reference / "metrics.csv")
    assert (run / "metrics.csv").read_text().splitlines()[0] == (reference / "metrics.csv").read_text().splitlines()[0]
    if (reference / "diagnostics.jsonl").exists():
        assert jsonl(run / "diagnostics.jsonl") == jsonl(reference / "diagnostics.jsonl")
    assert json.loads((run / "config.json").read_text()) == json.loads((reference / "config.json").read_text())
    for name in ("checkpoint.npz", "best.npz"):
        (a, meta_a), (b, meta_b) = checkpoint.load(run / name), checkpoint.load(reference / name)
        assert a.keys() == b.keys() and meta_a["epoch"] == meta_b["epoch"]
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
    summary, expected = (json.loads((d / "summary.json").read_text()) for d in (run, reference))
    assert (summary["status"], summary["stopped"], summary["epochs"]) == (
        expected["status"], expected["stopped"], expected["epochs"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    assert cli.main(TINY + ["--out", str(out)]) == 0
    return out


# ----- crash injection: SIGKILL after each file operation in turn -------------------------------------------------
def test_a_crash_after_any_file_operation_resumes_to_the_uninterrupted_run(tmp_path, reference, capsys):
    crashes = 0
    for n in range(1, 200):
        out = tmp_path / f"crash{n}"
        killed = dualgrad(*TINY, "--out", out, env={checkpoint.CRASH_AFTER: str(n)})
        if killed.returncode == 0:                               # the run has fewer than n file operations
            break
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert f"after file operation {n}:" in killed.stderr and "Traceback" not in killed.stderr
        crashes += 1
        rows = jsonl(out / "metrics.jsonl") if (out / "metrics.jsonl").exists() else []
        assert [r["epoch"] for r in rows] == list(range(len(rows)))          # whole rows, each once, in order
        resume = ["--resume"] if (out / "config.json").exists() else []        # crashed before config.json: anew
        assert cli.main(TINY + ["--out", str(out)] + resume) == 0, capsys.readouterr().err
        assert_same_run(out, reference)
    assert crashes >= 20                  # lock, config, epoch 0, two epochs with diagnostics and best, summary


def test_torn_lines_and_stale_temporary_files_are_repaired_on_resume(tmp_path, reference):
    out = tmp_path / "run"
    assert cli.main(TINY[:-5] + ["1", *TINY[-4:], "--out", str(out)]) == 0             # epochs 1
    rows = (out / "metrics.jsonl").read_text().splitlines(keepends=True)
    (out / "metrics.jsonl").write_text("".join(rows) + rows[1] + '{"epoch": 2, "train_lo')   # duplicate + torn
    with open(out / "metrics.csv", "a") as fh:
        fh.write("1,2.3\n")
    with open(out / "diagnostics.jsonl", "a") as fh:
        fh.write('{"step": 17, "epoch": 2, "cosine": 0.1, "norm_ratio": 1.0}\n{"step": 24')
    (out / "checkpoint.npz.999.tmp").write_bytes(b"half a checkpoint")
    assert cli.main(TINY + ["--out", str(out), "--resume"]) == 0
    assert_same_run(out, reference)


# ----- the lock: two real processes ----------------------------------------------------------------------------
def slow(epochs):
    """A run of about 0.3 s an epoch: time to act while it runs (a small learning rate: it must not diverge)."""
    return ["train", "--width", "64", "--k", "4", "--batch-size", "8", "--lr", "0.05", "--epochs", str(epochs),
            "--no-progress", "--no-plot"]


def wait_for(predicate, process, timeout=60):
    start = time.monotonic()
    while not predicate():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() - start < timeout
        time.sleep(0.01)


def test_a_second_run_is_refused_at_once_naming_the_holder_and_a_dead_holder_is_no_obstacle(tmp_path):
    out = tmp_path / "run"
    first = popen(*slow(40), "--out", out)
    try:
        wait_for(lambda: (out / "config.json").exists(), first)
        for args in (slow(40) + ["--out", out], slow(40) + ["--resume", out], slow(40) + ["--out", out, "--overwrite"]):
            start = time.monotonic()
            second = dualgrad(*args)
            assert second.returncode == 2 and time.monotonic() - start < 30
            assert f"in use by another dualgrad run (pid {first.pid})" in second.stderr
            assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1
        wait_for(lambda: len(jsonl(out / "metrics.jsonl")) >= 2, first)
    finally:
        first.kill()                                         # SIGKILL: the lock file stays, the lock goes
        first.wait()
    assert (out / "run.lock").read_text().strip() == str(first.pid)
    epochs = rundir.committed_epoch(out) + 1
    resumed = dualgrad(*slow(epochs), "--resume", out)                 # one more epoch: short
    assert resumed.returncode == 0, resumed.stderr
    assert [r["epoch"] for r in jsonl(out / "metrics.jsonl")] == list(range(epochs + 1))


def test_two_runs_started_together_into_one_directory_one_runs_the_other_is_refused(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--width", "8", "--k", "2", "--epochs", "3", "--no-progress", "--no-plot", "--out", out]
    runs = [popen(*args, "--seed", str(seed)) for seed in (1, 2)]
    results = [(p.wait(), p.communicate()[1]) for p in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "in use by another dualgrad run" in refused or "already holds a run" in refused
    winner = [1, 2][[code for code, _ in results].index(0)]
    assert json.loads((out / "config.json").read_text())["training"]["seed"] == winner
    assert [r["epoch"] for r in jsonl(out / "metrics.jsonl")] == [0, 1, 2, 3]
    assert len(csv_rows(out / "metrics.csv")) == 4


# ----- interrupts ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_keeps_the_last_commit_and_prints_the_command_that_continues(tmp_path, sig):
    out = tmp_path / "run"
    args = slow(6) + ["--out", str(out)]
    run = popen(*args)
    wait_for(lambda: (out / "metrics.jsonl").exists() and len(jsonl(out / "metrics.jsonl")) >= 2, run)
    run.send_signal(sig)
    err = run.communicate()[1]
    assert run.returncode == 130 and "Traceback" not in err
    assert f"interrupted ({sig.name})" in err
    command = err.strip().splitlines()[-1].split()
    assert command[:2] == ["dualgrad", "train"] and command[-2:] == ["--resume", str(out)]
    summary = json.loads((out / "summary.json").read_text())
    committed = rundir.committed_epoch(out)
    assert summary["status"] == "interrupted" and summary["epochs"] == committed
    assert [r["epoch"] for r in jsonl(out / "metrics.jsonl")] == list(range(committed + 1))
    resumed = dualgrad(*command[1:])
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference"
    assert dualgrad(*args[:-1], reference).returncode == 0
    assert without_timing(jsonl(out / "metrics.jsonl")) == without_timing(jsonl(reference / "metrics.jsonl"))


# ----- configurations, used directories, --overwrite --------------------------------------------------------------
def snapshot(directory):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(pathlib.Path(directory).iterdir())}


@pytest.mark.parametrize("change, flag", [(["--width", "16"], "--width"), (["--k", "4"], "--k"),
                                          (["--method", "mean"], "--method"), (["--dataset", "teacher-student"],
                                                                               "--dataset"),
                                          (["--seed", "3"], "--seed"), (["--lr", "0.5"], "--lr")])
def test_resume_with_another_configuration_is_refused_listing_it_and_changes_nothing(tmp_path, reference, change,
                                                                                    flag, capsys):
    out = tmp_path / "run"
    assert cli.main(TINY + ["--out", str(out)]) == 0
    before = snapshot(out)
    assert cli.main(TINY + change + ["--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"another configuration ({flag}:" in err and "in config.json" in err and len(err.splitlines()) == 1
    assert snapshot(out) == before


def test_safe_changes_pass_and_a_bare_resume_takes_the_configuration_from_config_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(TINY + ["--out", str(out)]) == 0
    assert cli.main(["train", "--resume", str(out), "--epochs", "3", "--patience", "5", "--no-progress",
                     "--no-plot"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["width"] == 8 and config["training"]["k"] == 2
    assert (config["training"]["epochs"], config["training"]["patience"]) == (3, 5)
    assert [r["epoch"] for r in jsonl(out / "metrics.jsonl")] == [0, 1, 2, 3]
    assert cli.main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 2
    assert "committed 3 epochs already" in capsys.readouterr().err


def test_a_used_directory_needs_resume_or_overwrite_which_clears_only_run_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(TINY + ["--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    assert cli.main(TINY + ["--out", str(out), "--seed", "1"]) == 2
    assert "already holds a run" in capsys.readouterr().err and snapshot(out) == before
    diverging = ["train", "--grad", "exact", "--lr", "10000", "--width", "8", "--epochs", "2", "--no-progress",
                 "--no-plot", "--out", str(out), "--overwrite"]
    assert cli.main(diverging) == 3
    assert "diverged in epoch 1" in capsys.readouterr().err
    assert not (out / "best.npz").exists() and (out / "notes.txt").read_text() == "mine"    # no stale best
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["config"]["model"] == {
        "class": "FCNet", "parameters": 682, "dtype": "float64", "name": "fcnet", "width": 8, "hidden_layers": 2}
    assert summary["config"]["data"]["dataset"] == "digits" and summary["epochs"] == 0


def test_files_have_the_usual_mode(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    out = tmp_path / "run"
    assert cli.main(TINY + ["--out", str(out)]) == 0
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_the_library_refuses_what_the_command_refuses(tmp_path):
    from dualgrad import data, nn, train
    from dualgrad.errors import ConfigMismatchError, RunDirectoryError, RunLockedError
    splits = data.load("digits")

    def model(width=8):
        return nn.FCNet(64, width, 2, 10, rng=np.random.default_rng(0))

    options = dict(k=2, lr=0.1, epochs=1, progress=False)
    train.fit(model(), splits, out=tmp_path, **options)
    with pytest.raises(RunDirectoryError, match="already holds a run"):
        train.fit(model(), splits, out=tmp_path, **options)
    with pytest.raises(ConfigMismatchError, match=r"model.parameters: 682 in config.json, 1482 now") as e:
        train.fit(model(width=16), splits, out=tmp_path, resume=True, **options)
    assert ("model.parameters", 682, 1482) in e.value.differences
    run = rundir.RunDirectory.open(tmp_path / "other", {}, ["epoch"])
    try:
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            train.fit(model(), splits, out=tmp_path / "other", **options)
    finally:
        run.close()


def test_a_run_that_stopped_early_resumes_to_itself_unless_patience_grows(tmp_path, capsys):
    out = tmp_path / "run"
    early = ["train", "--width", "8", "--k", "2", "--epochs", "6", "--patience", "1", "--min-delta", "10",
             "--no-progress", "--no-plot", "--out", str(out)]
    assert cli.main(early) == 0
    rows = jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert cli.main(early + ["--resume"]) == 0
    assert jsonl(out / "metrics.jsonl") == rows
    assert json.loads((out / "summary.json").read_text())["stopped"].startswith("early stopping")
    assert cli.main(early + ["--resume", "--patience", "2"]) == 0
    assert [r["epoch"] for r in jsonl(out / "metrics.jsonl")] == [0, 1, 2, 3]
