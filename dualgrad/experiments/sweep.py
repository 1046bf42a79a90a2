"""Running a grid of independent jobs on any ``concurrent.futures.Executor``, and summarizing the samples.

    results = run_jobs(fn, jobs)                      # a process pool with os.cpu_count() workers
    results = run_jobs(fn, jobs, executor=client.get_executor())    # dask.distributed, mpi4py.futures, ...
    with default_executor(executor, "the dask cluster at tcp://..."):   # every run_jobs call inside uses it
        rows = approx.run_approx(...)                                  # (what ``--scheduler`` does)

``fn(job)`` must be a picklable top-level function and every job a picklable value. Results come back in
job order, whatever order the workers finish in. A job draws its random numbers from ``job_rng(seed, *key)``
with a key that names *what* it computes (never which worker runs it), so the results do not depend on
the executor, the number of workers or the chunking of the grid into jobs.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import csv
import hashlib
import math
import os
from collections.abc import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits


def job_rng(seed: int, *key) -> np.random.Generator:
    """The Generator of one unit of work, a function of ``seed`` and ``key`` only (ints, floats, strings):
    ``np.random.default_rng([seed, digest(key)])``, the key folded into 128 bits by BLAKE2b."""
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    plain = tuple(p if isinstance(p, str) else float(p) if isinstance(p, (float, np.floating)) else int(p)
                  for p in key)
    digest = int.from_bytes(hashlib.blake2b(repr(plain).encode(), digest_size=16).digest(), "little")
    return np.random.default_rng([int(seed), digest])


def _one_blas_thread():
    """Pool initializer: every worker process is one core, so BLAS threads inside it would only
    oversubscribe the machine."""
    threadpool_limits(1)


#: (executor, description) that ``run_jobs`` uses when it is given none; set by ``default_executor``.
_DEFAULT = contextvars.ContextVar("default_executor", default=None)


@contextlib.contextmanager
def default_executor(executor: concurrent.futures.Executor, description: str):
    """Within the block, ``run_jobs`` calls without an ``executor`` run on this one (``description``, e.g.
    "the dask cluster at tcp://10.0.0.5:8786", is what ``where`` reports). ``dualgrad experiment ...
    --scheduler`` runs its command inside such a block, so every experiment reaches the cluster."""
    token = _DEFAULT.set((executor, description))
    try:
        yield executor
    finally:
        _DEFAULT.reset(token)


def where(workers: int | None = None) -> str:
    """Where ``run_jobs(..., workers=workers)`` runs its jobs, for a command's closing line."""
    if _DEFAULT.get() is not None:
        return _DEFAULT.get()[1]
    return f"{workers or os.cpu_count()} worker(s)"


def run_jobs(fn: Callable, jobs: Sequence, executor: concurrent.futures.Executor | None = None,
             workers: int | None = None, progress: bool = True, desc: str | None = None) -> list:
    """``[fn(job) for job in jobs]``, computed on ``executor``.

    Without an executor: the one of an enclosing ``default_executor`` block, else a ``ProcessPoolExecutor``
    with ``workers`` processes (default ``os.cpu_count()``), one BLAS thread each, shut down afterwards;
    ``workers=1`` runs in this process. A given executor is used as it is and left open. ``progress`` shows
    a tqdm bar over the jobs.
    """
    # imported here, not at the top: tqdm.auto takes 50 ms, and `dualgrad --help` imports this module
    from tqdm.auto import tqdm
    if executor is None and _DEFAULT.get() is not None:
        executor = _DEFAULT.get()[0]
    jobs = list(jobs)
    bar = tqdm(total=len(jobs), desc=desc, unit="job", disable=not progress)
    results = [None] * len(jobs)
    if executor is None and (workers or os.cpu_count() or 1) == 1:
        with threadpool_limits(1):                 # as in the pool's workers: one job, one core
            for i, job in enumerate(jobs):
                results[i] = fn(job)
                bar.update()
        bar.close()
        return results
    own = executor is None
    if own:
        executor = concurrent.futures.ProcessPoolExecutor(max_workers=workers or os.cpu_count(),
                                                          initializer=_one_blas_thread)
    futures = {executor.submit(fn, job): i for i, job in enumerate(jobs)}
    try:
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
            bar.update()
    finally:
        for future in futures:
            future.cancel()
        bar.close()
        if own:
            executor.shutdown()
    return results


def summarize(values: np.ndarray) -> dict:
    """Mean, standard deviation (ddof = 1) and the 95% confidence half-width 1.96·std/√samples of the
    samples along axis 0 (the paper code's summary)."""
    values = np.asarray(values, dtype=np.float64)
    samples = values.shape[0]
    std = values.std(axis=0, ddof=1) if samples > 1 else np.zeros(values.shape[1:])
    return {"samples": samples, "mean": values.mean(axis=0), "std": std, "ci95": 1.96 * std / math.sqrt(samples)}


def write_csv(path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """One line per row dict, exactly ``columns``, floats in their shortest exact repr (same run, same bytes)."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: repr(float(v)) if isinstance(v, (float, np.floating)) else v for c, v in row.items()})

