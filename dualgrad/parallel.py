"""Tangent-parallel training: the k tangent columns of every step split over the ranks of an MPI job.

    mpiexec -n 4 dualgrad train --k 64 ... --tangent-parallel
    history = fit(model, splits, cfg, parallel=TangentParallel())           # under mpiexec, from Python

Every rank holds the whole model, computes the primal and sees the same batches (the same seed). The ranks
differ only in which tangent columns they push through the network:

1. every rank draws the step's whole tangent set V (k, n) from the shared tangent Generator, exactly as a
   single process does (whatever the sampler), and keeps its block of rows ``V[share(k)]``: the union over
   the ranks is the single-process set, and every Generator stays in step;
2. it pushes its k_r columns: jvps (k_r, B) per sample for activity perturbation, (k_r,) for weight
   perturbation;
3. one Allgatherv assembles the jvps d (k, B) or (k,) on every rank, in rank order = the row order of V
   (``gather``): k·B (or k) numbers per step, whatever the number P of parameters (data-parallel training
   all-reduces P numbers per step);
4. every rank aggregates the same V and d (the same Gram matrix, solved on every rank) and takes the same
   optimizer step, so the parameters stay identical without a broadcast. ``check_in_sync`` compares a hash
   of the parameters across the ranks and raises ``ParameterDriftError`` when they differ.

Rank 0 alone writes files and prints (``is_root``); the run's set-up (its directory, ``--resume``) runs on
rank 0 and its outcome, the state to start from or the error, reaches every rank (``from_root``).
``SINGLE_PROCESS`` is the same interface for one process: the share is every column, nothing to gather.
mpi4py is the optional extra ``mpi``; nothing imports it until a ``TangentParallel`` is made.
"""
from __future__ import annotations

import hashlib
import math
import os

import numpy as np

from .errors import MissingExtraError, ParameterDriftError

SYNC_EVERY = 100             # steps between two parameter-hash comparisons (and at every epoch's end)


class SingleProcess:
    """One process holds every tangent column (the default of the gradient sources and ``fit``)."""
    rank, size, is_root = 0, 1, True

    def share(self, k: int) -> slice:
        return slice(0, k)

    def gather(self, d_local, k: int):
        return d_local

    def from_root(self, setup):
        return setup()

    def check_in_sync(self, params: dict, step: int, force: bool = False) -> None:
        """Nothing to compare in one process."""


SINGLE_PROCESS = SingleProcess()


LAUNCHER_VARIABLES = (("PMI_RANK", "PMI_SIZE"),                            # MPICH, Intel MPI, srun --mpi=pmi2
                      ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"))    # Open MPI


def launcher_ranks() -> tuple[int, int]:
    """(rank, number of processes) that an MPI launcher (mpiexec, srun) set in this process's environment;
    (0, 1) outside one. Reads the environment only: MPI is not initialised."""
    for rank, size in LAUNCHER_VARIABLES:
        if os.environ.get(rank, "").isdigit() and os.environ.get(size, "").isdigit():
            return int(os.environ[rank]), int(os.environ[size])
    return 0, 1


def split(k: int, size: int) -> list[int]:
    """Columns per rank: k split into ``size`` contiguous blocks whose lengths differ by at most one."""
    return [k // size + (r < k % size) for r in range(size)]


def parameter_hash(params: dict) -> bytes:
    """An 8-byte BLAKE2b digest of the parameters' names, dtypes, shapes and bytes."""
    digest = hashlib.blake2b(digest_size=8)
    for name in sorted(params):
        a = np.ascontiguousarray(params[name])
        digest.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        digest.update(a.view(np.uint8).reshape(-1))
    return digest.digest()


class TangentParallel:
    """The k tangent columns of every step split over the ranks of ``comm`` (default ``MPI.COMM_WORLD``)."""

    def __init__(self, comm=None, sync_every: int = SYNC_EVERY):
        if comm is None:
            try:
                from mpi4py import MPI
            except ImportError as e:
                raise MissingExtraError("--tangent-parallel runs under MPI and mpi4py is not installed: "
                                        "pip install 'dualgrad[mpi]' (mpi4py and an MPI; see docs/scale-out.md)") from e
            comm = MPI.COMM_WORLD
        if sync_every < 1:
            raise ValueError(f"sync_every must be >= 1 step, got {sync_every}")
        self.comm, self.sync_every = comm, sync_every
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.is_root = self.rank == 0

    def share(self, k: int) -> slice:
        """This rank's rows of the k tangents: a contiguous block, ranks in order."""
        if k < self.size:
            raise ValueError(f"--tangent-parallel splits the k = {k} tangents over {self.size} MPI ranks: "
                             f"use k >= {self.size} or fewer ranks")
        counts = split(k, self.size)
        start = sum(counts[:self.rank])
        return slice(start, start + counts[self.rank])

    def gather(self, d_local, k: int):
        """Every rank's jvps (k_r, ...) -> all k rows (k, ...) in rank order, on every rank (one Allgatherv)."""
        if not isinstance(d_local, np.ndarray):
            raise TypeError(f"tangent-parallel training gathers NumPy arrays, got {type(d_local).__name__}: train "
                            "on the CPU (NumPy) under --tangent-parallel")
        d_local = np.ascontiguousarray(d_local)
        per_row = math.prod(d_local.shape[1:])
        d = np.empty((k,) + d_local.shape[1:], dtype=d_local.dtype)
        self.comm.Allgatherv(d_local, [d, [rows * per_row for rows in split(k, self.size)]])
        return d

    def from_root(self, setup):
        """``setup()`` on rank 0 and its result on every rank; an exception raised by it is raised on every
        rank, marked ``raised_on_every_rank`` (so that rank 0 alone reports it)."""
        result, error = None, None
        if self.is_root:
            try:
                result = setup()
            except Exception as e:                    # every rank must learn of it, or the others would wait
                error = e
        result, error = self.comm.bcast((result, error), root=0)
        if error is not None:
            error.raised_on_every_rank = True
            raise error
        return result

    def check_in_sync(self, params: dict, step: int, force: bool = False) -> None:
        """Every ``sync_every`` steps (or when ``force``): raise ``ParameterDriftError`` on every rank if any
        rank's parameters differ from rank 0's (one allgather of 8-byte hashes)."""
        if step % self.sync_every and not force:
            return
        hashes = self.comm.allgather(parameter_hash(params))
        drifted = [r for r, h in enumerate(hashes) if h != hashes[0]]
        if drifted:
            raise ParameterDriftError(
                f"after step {step} the parameters of rank(s) {drifted} differ from rank 0's: the ranks must compute "
                "identical steps. Run every rank with the same dualgrad, NumPy, BLAS and BLAS thread count "
                "(--threads), on the same kind of CPU")

    def abort(self, code: int):
        """End every rank of the job now with exit status ``code`` (MPI_Abort)."""
        self.comm.Abort(code)
