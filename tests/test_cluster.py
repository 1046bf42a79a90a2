"""Sweeps on a dask.distributed cluster started inside the test (a scheduler and two worker processes on
127.0.0.1): the CSVs byte for byte the local pool's, and the errors a user meets."""
import argparse
import contextlib
import logging
import os
import signal
import socket

import pytest

distributed = pytest.importorskip("distributed", reason="the extra [distributed] (dask) is not installed")
import dask  # noqa: E402

from dualgrad import cli  # noqa: E402
from dualgrad.errors import ClusterError, InvalidArgumentError, MissingExtraError  # noqa: E402
from dualgrad.experiments import cluster  # noqa: E402
from dualgrad.experiments.sweep import run_jobs  # noqa: E402

TIMEOUT = 120            # seconds for a worker to start on a loaded two-core machine


@contextlib.contextmanager
def local_cluster(workers=2, **worker_options):
    """A scheduler (in this process) and ``workers`` worker processes with one thread each, all on 127.0.0.1."""
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL,
                                  death_timeout=TIMEOUT, **worker_options) as c:
        yield c.scheduler_address


def _csv_without(path, columns=()):
    lines = [line.split(",") for line in path.read_text().splitlines()]
    drop = [i for i, name in enumerate(lines[0]) if name in columns]
    return [[v for i, v in enumerate(line) if i not in drop] for line in lines]


def _subcommands(parser) -> dict:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_experiment_command_takes_a_scheduler():
    parser = cli.build_parser()
    names = _subcommands(_subcommands(parser)["experiment"])
    assert {"approx", "angles", "functions", "angles-opt", "fcnet", "sota", "lr-search"} <= set(names)
    for name in names:
        args = parser.parse_args(["experiment", name, "--scheduler", "tcp://127.0.0.1:8786"])
        assert args.scheduler == "tcp://127.0.0.1:8786", name


def test_sweeps_on_the_cluster_write_the_local_pools_csv(tmp_path, capsys):
    commands = {
        "approx": (["--n", "4", "64", "--k", "1", "4", "--samples", "60"], "approx.csv", ()),
        "functions": (["--function", "sphere", "rosenbrock", "--n", "4", "--seeds", "0", "1",
                       "--steps-scale", "0.01"], "functions.csv", ()),
        "fcnet": (["--width", "16", "--approach", "bp", "frog", "--k", "2", "--seeds", "0", "--epochs", "2",
                   "--no-subset"], "fcnet.csv", ("seconds",)),
        "sota": (["--model", "vit", "--dataset", "digits", "--approach", "bp", "frog", "--k", "2", "--seeds", "0",
                  "--epochs", "1"], "sota.csv", ("seconds",)),
    }
    with local_cluster() as address:
        for name, (flags, _, _) in commands.items():
            common = ["experiment", name, *flags, "--no-plots"]
            assert cli.main(common + ["--out", str(tmp_path / "cluster" / name), "--scheduler", address]) == 0
            assert cli.main(common + ["--out", str(tmp_path / "local" / name), "--workers", "2"]) == 0
    for name, (_, csv, timing) in commands.items():
        here, there = tmp_path / "local" / name / csv, tmp_path / "cluster" / name / csv
        if timing:
            assert _csv_without(here, timing) == _csv_without(there, timing), name
        else:
            assert here.read_bytes() == there.read_bytes(), name
    assert f"on the dask cluster at {address}" in capsys.readouterr().out


def _double_but_kill_the_worker_once(job):
    """2·i; the first time job 0 runs, it kills its worker process instead (a machine lost mid-sweep)."""
    marker, i = job
    if i == 0 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * i


def _kill_the_worker(job):
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_dying_mid_sweep_loses_nothing(tmp_path):
    jobs = [(str(tmp_path / "killed"), i) for i in range(6)]
    with local_cluster() as address, cluster.connect(address):
        assert run_jobs(_double_but_kill_the_worker_once, jobs, progress=False) == [0, 2, 4, 6, 8, 10]
    assert (tmp_path / "killed").exists()


def test_a_job_that_kills_its_workers_is_given_up_with_its_name():
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), local_cluster() as address:
        with pytest.raises(ClusterError, match=r"_kill_the_worker\(\('the job', 7\)\).* killed 2 dask workers"):
            with cluster.connect(address):
                run_jobs(_kill_the_worker, [("the job", 7)], progress=False)


def test_workers_without_dualgrad_are_refused(tmp_path):
    hide = tmp_path / "hide_dualgrad.py"
    hide.write_text("import sys\nsys.modules['dualgrad'] = None      # as on a machine without dualgrad\n")
    with local_cluster(workers=1, preload=[str(hide)]) as address:
        with pytest.raises(ClusterError, match=r"the dask worker tcp://127\.0\.0\.1:\d+ cannot import dualgrad"):
            with cluster.connect(address):
                pass


def test_workers_with_other_code_are_refused(tmp_path):
    other = tmp_path / "other_version.py"
    other.write_text("import dualgrad\ndualgrad.__version__ = '0.0.1'\n")
    with local_cluster(workers=1, preload=[str(other)]) as address:
        with pytest.raises(ClusterError, match=r"worker .* runs other code than this process: dualgrad 0\.0\.1 "
                                               rf"\(here {cluster.code_fingerprint()['dualgrad']}\)"):
            with cluster.connect(address):
                pass


def test_a_job_checks_its_workers_code():
    expected = cluster.code_fingerprint() | {"numpy": "0.0"}
    with pytest.raises(ClusterError, match=r"numpy .* \(here 0\.0\)"):
        cluster._checked_call(expected, abs, -1)
    assert cluster._checked_call(cluster.code_fingerprint(), abs, -1) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    assert cli.main(["experiment", "approx", "--quick", "--out", str(tmp_path), "--scheduler", address]) == 1
    err = capsys.readouterr().err
    assert f"cannot reach a dask scheduler at {address}" in err and "dask scheduler" in err
    assert not list(tmp_path.iterdir())


def test_a_scheduler_without_workers_is_an_error():
    with local_cluster(workers=0) as address:
        with pytest.raises(ClusterError, match="has no workers after 1 s: start some with `dask worker"):
            with cluster.connect(address, workers_timeout=1):
                pass


def test_without_dask_the_error_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'dualgrad\[distributed\]'"):
        with cluster.connect("tcp://127.0.0.1:8786"):
            pass
    assert cli.main(["experiment", "approx", "--quick", "--out", str(tmp_path), "--scheduler",
                     "tcp://127.0.0.1:8786"]) == 2
    assert "pip install 'dualgrad[distributed]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("address, problem", [("tcp//127.0.0.1:8786", "'tcp//127.0.0.1' is not a host name"),
                                              ("http://10.0.0.5:8786", "unknown address scheme 'http'"),
                                              ("10.0.0.5", "missing port number"),
                                              ("tcp://10.0.0.5:port", "invalid literal")])
def test_a_malformed_address_is_a_usage_error_at_once(address, problem, tmp_path, capsys):
    # a dask Client made with such an address raised, and its garbage collection then hung the exit
    with pytest.raises(InvalidArgumentError, match=problem):
        cluster.scheduler_address(address)
    assert cli.main(["experiment", "approx", "--quick", "--out", str(tmp_path), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert problem in err and "tcp://HOST:PORT" in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_well_formed_addresses_pass():
    for address in ("tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://node-1.cluster:8786", "tcp://[::1]:8786"):
        assert cluster.scheduler_address(address) == address


def test_workers_and_scheduler_together_are_a_usage_error(tmp_path, capsys):
    assert cli.main(["experiment", "approx", "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786",
                     "--out", str(tmp_path)]) == 2
    assert "drop --workers" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
