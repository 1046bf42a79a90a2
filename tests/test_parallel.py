"""Tangent-parallel training: the split of the k tangents over ranks, and real 2- and 3-rank MPI runs started by
the test (mpiexec.gforker from the mpich wheel: processes forked on this machine, shared memory only)."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from dualgrad import cli
from dualgrad.parallel import SINGLE_PROCESS, parameter_hash, split

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT = 600                    # seconds for one mpiexec on a loaded two-core machine
TRAIN = ["train", "--width", "32", "--k", "8", "--epochs", "3", "--no-progress", "--no-plot"]


@pytest.mark.parametrize("k, size", [(1, 1), (7, 2), (7, 3), (8, 2), (64, 8), (5, 5)])
def test_the_shares_cover_the_k_tangents_in_order(k, size):
    counts = split(k, size)
    assert sum(counts) == k and max(counts) - min(counts) <= 1 and min(counts) >= 1


def test_one_process_pushes_every_tangent():
    V = np.arange(12.0).reshape(4, 3)
    assert np.array_equal(V[SINGLE_PROCESS.share(4)], V)
    assert SINGLE_PROCESS.gather(V, 4) is V


def test_the_parameter_hash_sees_one_changed_bit():
    params = {"w": np.linspace(0, 1, 12).reshape(3, 4), "b": np.zeros(4)}
    changed = {"w": params["w"].copy(), "b": params["b"]}
    changed["w"][1, 2] = np.nextafter(changed["w"][1, 2], 2)
    assert parameter_hash(params) == parameter_hash({n: a.copy() for n, a in params.items()})
    assert parameter_hash(params) != parameter_hash(changed)
    assert parameter_hash(params) != parameter_hash({"w": params["w"], "c": params["b"]})


def test_without_mpi_the_error_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert cli.main(TRAIN + ["--out", str(tmp_path / "run"), "--tangent-parallel"]) == 2
    assert "pip install 'dualgrad[mpi]'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("variables", [{"PMI_RANK": "{rank}", "PMI_SIZE": "2"},
                                       {"OMPI_COMM_WORLD_RANK": "{rank}", "OMPI_COMM_WORLD_SIZE": "2"}])
@pytest.mark.parametrize("command", [TRAIN, ["experiment", "approx", "--quick", "--no-plots"]])
def test_an_mpi_launch_without_tangent_parallel_is_a_usage_error(variables, command, monkeypatch, tmp_path, capsys):
    for rank in (0, 1):
        for name, value in variables.items():
            monkeypatch.setenv(name, value.format(rank=rank))
        assert cli.main(command + ["--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        if rank == 0:
            assert "one of 2 processes started by an MPI launcher" in err and "--tangent-parallel" in err
        else:
            assert err == ""
    assert not (tmp_path / "run").exists()


def test_one_process_of_a_launcher_runs_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("PMI_SIZE", "1")
    assert cli.main(TRAIN[:5] + ["--epochs", "1", "--no-progress", "--no-plot", "--out", str(tmp_path / "run")]) == 0


# ----- under MPI --------------------------------------------------------------------------------------------------
def _mpiexec() -> pathlib.Path:
    pytest.importorskip("mpi4py", reason="the extra [mpi] (mpi4py, mpich) is not installed")
    mpiexec = pathlib.Path(sys.executable).parent / "mpiexec.gforker"
    if not mpiexec.exists():
        pytest.skip("no mpiexec.gforker next to this Python: the extra [mpi] installs it (the mpich wheel)")
    return mpiexec


def mpirun(ranks: int, command: list[str], logs: pathlib.Path) -> tuple[int, list[str]]:
    """``command`` on ``ranks`` MPI ranks of this machine; returns the exit status and every rank's output.

    gforker forks the ranks here and opens no network port; UCX and libfabric are limited to shared memory.
    Each rank writes its stdout and stderr to logs/rank<r> itself (gforker's forwarding garbles non-ASCII)."""
    logs.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"UCX_TLS": "self,sm", "FI_PROVIDER": "shm", "PYTHONUNBUFFERED": "1"}
    quoted = " ".join(f"'{c}'" for c in command)
    script = f'exec {quoted} > "{logs}/rank$PMI_RANK" 2>&1'
    status = subprocess.run([str(_mpiexec()), "-n", str(ranks), "sh", "-c", script], env=env, cwd=ROOT,
                            timeout=TIMEOUT).returncode
    return status, [(logs / f"rank{r}").read_text() for r in range(ranks)]


def _dualgrad() -> str:
    return str(pathlib.Path(sys.executable).parent / "dualgrad")


@pytest.mark.parametrize("ranks", [2, 3])
def test_split_steps_equal_one_process_steps_on_every_rank(ranks, tmp_path):
    status, outputs = mpirun(ranks, [sys.executable, str(ROOT / "tests" / "mpi_ranks.py")], tmp_path)
    assert status == 0, "\n".join(outputs)


def _losses(run: pathlib.Path) -> list[float]:
    return [json.loads(line)["train_loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_two_ranks_train_as_one_process_and_only_rank_0_speaks(tmp_path):
    assert cli.main(TRAIN + ["--out", str(tmp_path / "one")]) == 0
    status, (root, other) = mpirun(2, [_dualgrad(), *TRAIN, "--out", str(tmp_path / "two"), "--tangent-parallel"],
                                   tmp_path / "logs")
    assert status == 0, root + other
    assert other == ""
    assert "the tangents split over 2 MPI ranks" in root and "frog k=8" in root
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(one) == len(two) == 4
    assert np.allclose(two, one, rtol=1e-4, atol=0)
    assert (tmp_path / "two" / "checkpoint.npz").exists() and (tmp_path / "two" / "summary.json").exists()


def test_resume_under_mpi_continues_the_run(tmp_path):
    first = [_dualgrad(), *TRAIN[:-4], "--no-progress", "--no-plot", "--tangent-parallel", "--grad", "weight"]
    status, outputs = mpirun(2, first + ["--epochs", "2", "--out", str(tmp_path / "run")], tmp_path / "a")
    assert status == 0, "\n".join(outputs)
    status, outputs = mpirun(2, first + ["--epochs", "3", "--out", str(tmp_path / "run"), "--resume"], tmp_path / "b")
    assert status == 0, "\n".join(outputs)
    assert cli.main([*TRAIN, "--grad", "weight", "--out", str(tmp_path / "one")]) == 0
    resumed, one = _losses(tmp_path / "run"), _losses(tmp_path / "one")
    assert len(resumed) == 4 and np.allclose(resumed, one, rtol=1e-4, atol=0)


def test_a_run_of_3_ranks_resumes_in_one_process(tmp_path):
    status, outputs = mpirun(3, [_dualgrad(), *TRAIN[:-4], "--epochs", "2", "--no-progress", "--no-plot",
                                 "--tangent-parallel", "--out", str(tmp_path / "run")], tmp_path / "a")
    assert status == 0, "\n".join(outputs)
    assert cli.main([*TRAIN, "--out", str(tmp_path / "run"), "--resume"]) == 0
    assert cli.main([*TRAIN, "--out", str(tmp_path / "one")]) == 0
    resumed, one = _losses(tmp_path / "run"), _losses(tmp_path / "one")
    assert len(resumed) == 4 and np.allclose(resumed, one, rtol=1e-4, atol=0)


def test_a_set_up_error_is_reported_once_and_ends_every_rank(tmp_path):
    status, (root, other) = mpirun(2, [_dualgrad(), *TRAIN, "--out", str(tmp_path / "none"), "--resume",
                                       "--tangent-parallel"], tmp_path / "logs")
    assert status == 2
    assert root.count("dualgrad train: error") == 1 and "nothing to resume" in root
    assert other == ""


@pytest.mark.parametrize("flags, message", [(["--k", "2"], "use --k >= 3 or fewer ranks"),
                                            (["--grad", "exact"], "--grad exact has none")])
def test_what_cannot_be_split_is_a_usage_error_before_anything_is_written(flags, message, tmp_path):
    status, (root, *others) = mpirun(3, [_dualgrad(), *TRAIN, *flags, "--out", str(tmp_path / "x"),
                                         "--tangent-parallel"], tmp_path / "logs")
    assert status == 2 and message in root and others == ["", ""]
    assert not (tmp_path / "x").exists()


def test_mpiexec_without_tangent_parallel_stops_every_rank_before_anything_is_written(tmp_path):
    status, (root, other) = mpirun(2, [_dualgrad(), *TRAIN, "--out", str(tmp_path / "x")], tmp_path / "logs")
    assert status == 2 and "one of 2 processes started by an MPI launcher" in root and other == ""
    assert not (tmp_path / "x").exists()


def test_the_benchmark_prints_the_table_of_the_docs(tmp_path, capsys):
    _mpiexec()
    import importlib.util
    spec = importlib.util.spec_from_file_location("tangent_parallel", ROOT / "benchmarks" / "tangent_parallel.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--width", "16", "--k", "4", "--epochs", "1", "--reps", "1", "--steps", "3",
                "--json", str(tmp_path / "r.json")])
    table = capsys.readouterr().out
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["losses_max_relative_difference"] <= 1e-4
    assert result["amdahl"]["2"] == bench.amdahl(4, result["cost"]["c"], 2)
    assert set(result["steps"]["1"]) == {"wall_s", "cpu_s", "gather_s"} and len(result["steps"]["2"]) == 2
    for row in ("| 1 process × 1 thread |", "| 1 process × 2 threads |", "| 2 ranks × 1 thread |",
                "| 8 ranks × 1 thread (a cluster) |", "| 64 ranks × 1 thread (a cluster) |", "c = b/a = ",
                "| 1 process, 4 columns |", "| rank 0 of 2, 2 columns |", "| rank 1 of 2, 2 columns |"):
        assert row in table


def test_an_mpiexec_of_another_mpi_is_named(tmp_path):
    # Open MPI's mpiexec starting an MPICH-built mpi4py: each process is alone in its MPI_COMM_WORLD
    _mpiexec()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMI")} | {"OMPI_COMM_WORLD_SIZE": "2"}
    for rank in (0, 1):
        run = subprocess.run([_dualgrad(), *TRAIN, "--out", str(tmp_path / "x"), "--tangent-parallel"],
                             env=env | {"OMPI_COMM_WORLD_RANK": str(rank)}, capture_output=True, text=True,
                             timeout=TIMEOUT)
        assert run.returncode == 2
        assert ("belongs to another MPI than mpi4py's (MPICH" in run.stderr) == (rank == 0), run.stderr
    assert not (tmp_path / "x").exists()
