"""Sweeps on a dask.distributed cluster: what ``dualgrad experiment <any> --scheduler ADDRESS`` runs.

    with connect("tcp://10.0.0.5:8786") as executor:           # the workers are checked first
        rows = approx.run_approx(ns=(16, 64), ks=(1, 4), executor=executor)

The jobs of a sweep go through the cluster's ``concurrent.futures`` executor (``Client.get_executor()``),
so ``sweep.run_jobs`` treats the cluster like the local process pool: the same jobs, the same progress
bar, results in job order. A job's random numbers depend on the seed and the job only (``sweep.job_rng``),
so the CSV is byte for byte the local pool's, apart from timing columns, provided that every worker runs
the same code. ``connect`` therefore refuses a cluster whose scheduler or workers cannot import dualgrad
or run another dualgrad, NumPy or SciPy than this process (``code_fingerprint``), and every job checks the
fingerprint again on its worker (workers that join later). Every job runs with one BLAS thread, as in
the local pool.

A worker that dies mid-sweep (killed, out of memory, its machine gone) loses nothing: the scheduler runs
its jobs again on the other workers. A job that kills ``distributed.scheduler.allowed-failures`` + 1
workers in a row (3 + 1 by default) is given up; ``connect`` turns dask's ``KilledWorker`` into a
``ClusterError`` that names the job.

dask is the optional extra ``distributed`` (``pip install 'dualgrad[distributed]'``); nothing imports it
until ``connect`` is called.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import pathlib
import uuid

from ..errors import ClusterError, InvalidArgumentError, MissingExtraError
from .sweep import _one_blas_thread, default_executor

CONNECT_TIMEOUT = 30.0       # seconds to reach the scheduler
WORKERS_TIMEOUT = 60.0       # seconds to wait for the first worker


@functools.cache
def code_fingerprint() -> dict:
    """What must agree between this process and every worker for byte-identical results: the versions of
    dualgrad, NumPy and SciPy, and a BLAKE2b digest of dualgrad's installed files (code and tables)."""
    import numpy
    import scipy

    import dualgrad
    root = pathlib.Path(dualgrad.__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return {"dualgrad": dualgrad.__version__, "dualgrad files": digest.hexdigest(), "numpy": numpy.__version__,
            "scipy": scipy.__version__}


SAME_CODE = ("install the same dualgrad, NumPy and SciPy on the scheduler and every worker (pip install "
             "dualgrad==<this version>, or the same checkout), then restart them")


def mismatch(where: str, found: dict, expected: dict) -> str | None:
    """None when ``found`` (a worker's fingerprint) equals ``expected`` (this process's), else what differs."""
    differ = [f"{key} {found.get(key)} (here {value})" for key, value in expected.items() if found.get(key) != value]
    return f"{where} runs other code than this process: {', '.join(differ)}" if differ else None


_one_blas_thread_once = functools.cache(_one_blas_thread)


def _checked_call(expected: dict, fn, job):
    """``fn(job)`` on a worker, after checking that the worker runs this process's code (one BLAS thread)."""
    problem = mismatch("a dask worker", code_fingerprint(), expected)
    if problem:
        raise ClusterError(f"{problem}: {SAME_CODE}")
    _one_blas_thread_once()
    return fn(job)


class _CheckedExecutor(concurrent.futures.Executor):
    """A dask ClientExecutor whose jobs check the worker's code first (``_checked_call``); a job's dask key
    names its function and job, so that dask's messages say which job failed."""

    def __init__(self, executor):
        self._executor = executor
        self._expected = code_fingerprint()

    def submit(self, fn, job):
        key = f"{fn.__module__}.{fn.__qualname__}({job!r:.300})-{uuid.uuid4().hex[:12]}"
        return self._executor.submit(_checked_call, self._expected, fn, job, key=key)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._executor.shutdown(wait=wait)


def _import_distributed():
    try:
        import distributed
    except ImportError as e:
        raise MissingExtraError("--scheduler runs the jobs on a dask.distributed cluster, and dask is not "
                                "installed here: pip install 'dualgrad[distributed]'") from e
    return distributed


def scheduler_address(address: str) -> str:
    """``address`` checked the way dask reads it, ``[SCHEME://]HOST:PORT`` (``tcp://`` when no scheme is given),
    before anything connects; ``InvalidArgumentError`` names the expected form. (A dask ``Client`` made with a
    malformed address raises, and then hangs the interpreter's exit when it is collected.)"""
    _import_distributed()
    from distributed.comm import registry
    from distributed.comm.addressing import parse_address, parse_host_port
    try:
        scheme, location = parse_address(address)
        registry.get_backend(scheme)
        if scheme != "inproc":
            host, _ = parse_host_port(location)
            if not host or any(c in host for c in "/ \t"):
                raise ValueError(f"{host!r} is not a host name")
    except ValueError as e:
        raise InvalidArgumentError(f"the scheduler address {address!r}: {e}; give the address that `dask "
                                   "scheduler` prints, tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)") from None
    return address


def check_cluster(client, expected: dict | None = None) -> int:
    """Raise ``ClusterError`` unless the scheduler and every worker import dualgrad and run this process's
    code (``code_fingerprint``); returns the number of workers."""
    expected = expected or code_fingerprint()
    try:
        on_scheduler = client.run_on_scheduler(code_fingerprint)
    except Exception as e:               # the scheduler could not unpickle a dualgrad function
        raise ClusterError(f"the dask scheduler at {client.scheduler.address} cannot import dualgrad "
                           f"({type(e).__name__}: {e}); it unpickles the jobs, so install dualgrad there too "
                           f"(pip install dualgrad=={expected['dualgrad']}) and restart it") from e
    problems = [mismatch(f"the dask scheduler at {client.scheduler.address}", on_scheduler, expected)]
    for worker, found in sorted(client.run(code_fingerprint, on_error="return").items()):
        if isinstance(found, BaseException):
            problems.append(f"the dask worker {worker} cannot import dualgrad ({found}); install dualgrad "
                            f"{expected['dualgrad']} on it (pip install dualgrad=={expected['dualgrad']}, or the "
                            "same checkout) and restart it")
        else:
            problems.append(mismatch(f"the dask worker {worker}", found, expected))
    problems = [p for p in problems if p]
    if problems:
        fix = SAME_CODE if any("runs other code" in p for p in problems) else ""
        raise ClusterError("; ".join(problems) + (f". To fix: {fix}" if fix else ""))
    return len(client.scheduler_info(n_workers=-1)["workers"])


@contextlib.contextmanager
def connect(address: str, connect_timeout: float | None = None, workers_timeout: float | None = None):
    """A ``concurrent.futures.Executor`` on the dask cluster whose scheduler listens at ``address``
    (``tcp://HOST:PORT``), for the duration of the block; inside it, ``sweep.run_jobs`` calls without an
    executor use it too. Raises ``InvalidArgumentError`` for a malformed address (``scheduler_address``),
    ``MissingExtraError`` without dask, and ``ClusterError`` when the scheduler cannot be reached within
    ``connect_timeout`` seconds (default ``CONNECT_TIMEOUT``), no worker joins within ``workers_timeout``
    (default ``WORKERS_TIMEOUT``), the code differs (``check_cluster``) or a job kills its workers again and
    again."""
    distributed = _import_distributed()
    address = scheduler_address(address)
    connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    workers_timeout = WORKERS_TIMEOUT if workers_timeout is None else workers_timeout
    try:
        client = distributed.Client(address, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(f"cannot reach a dask scheduler at {address}: {e}. Start one with `dask scheduler` "
                           "and pass the address it prints (tcp://HOST:PORT)") from e
    try:
        try:
            client.wait_for_workers(1, timeout=workers_timeout)
        except TimeoutError as e:
            raise ClusterError(f"the dask scheduler at {address} has no workers after {workers_timeout:.0f} s: "
                               f"start some with `dask worker {address} --nthreads 1`") from e
        workers = check_cluster(client)
        with default_executor(_CheckedExecutor(client.get_executor()),
                              f"the dask cluster at {address} ({workers} worker(s) at the start)") as executor:
            try:
                yield executor
            except distributed.KilledWorker as e:
                raise ClusterError(f"the job {e.task} killed {e.allowed_failures + 1} dask workers in a row "
                                   f"(the last {e.last_worker.address}), and the scheduler gave it up "
                                   "(distributed.scheduler.allowed-failures); see the workers' logs (out of "
                                   "memory?)") from e
    finally:
        client.close()

