"""Run under mpiexec by tests/test_parallel.py; every rank checks tangent-parallel steps against one process's.

    mpiexec -n R python tests/mpi_ranks.py

For every gradient source, sampler and aggregation: one step with the k tangents split over the R ranks gives
the loss and parameter gradients of the same step in one process (which every rank also computes), and leaves
the tangent Generator in the same state. Then: the parameter-hash check passes on identical parameters and
raises ParameterDriftError on every rank when one rank's differ; an error of rank 0's set-up is raised on every
rank. Prints one line per failure (prefixed by the rank) and exits 1 if any.
"""
import sys

import numpy as np

from dualgrad import data, nn
from dualgrad.errors import ParameterDriftError
from dualgrad.gradients import make_gradient_source
from dualgrad.nn import Context
from dualgrad.parallel import TangentParallel

K = 7                                      # not a multiple of 2 or 3: the ranks' shares differ in size
SAMPLERS = {"normal": {}, "rademacher": {}, "orthonormal": {}, "basis": {}, "angle": {"angle": 30.0}}


def relative_difference(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def main() -> int:
    ranks = TangentParallel()
    failures = []
    splits = data.load("digits")
    x, y = splits.train.x[:32], splits.train.y[:32]
    model = nn.FCNet(64, 24, 2, 10, rng=np.random.default_rng(0))
    params = model.parameters()
    worst = 0.0
    for grad in ("activity", "weight"):
        for sampler, options in SAMPLERS.items():
            for method in ("projection", "mean"):
                case = f"{grad} {sampler} {method}"
                one = make_gradient_source(grad, method=method, k=K, sampler=sampler, **options)
                split = make_gradient_source(grad, method=method, k=K, sampler=sampler, parallel=ranks, **options)
                rng_one, rng_split = np.random.default_rng(5), np.random.default_rng(5)
                loss_one, g_one = one(model, params, x, y, Context(training=True), rng_one)
                loss_split, g_split = split(model, params, x, y, Context(training=True), rng_split)
                if loss_one != loss_split:
                    failures.append(f"{case}: loss {loss_split} != one process's {loss_one}")
                for name in g_one:
                    worst = max(worst, relative_difference(g_split[name], g_one[name]))
                    if relative_difference(g_split[name], g_one[name]) > 1e-6:
                        failures.append(f"{case}: gradient of {name} differs from one process's by "
                                        f"{relative_difference(g_split[name], g_one[name]):.3g} (relative)")
                if rng_one.bit_generator.state != rng_split.bit_generator.state:
                    failures.append(f"{case}: the tangent Generator is not where one process leaves it")

    ranks.check_in_sync(params, 1, force=True)
    drifted = {n: a.copy() for n, a in params.items()}
    if ranks.rank == 1:
        drifted["3.weight"][0, 0] += 1e-9
    try:
        ranks.check_in_sync(drifted, 2, force=True)
        failures.append("a drifted rank 1 went unnoticed")
    except ParameterDriftError as e:
        if "rank(s) [1]" not in str(e) or not e.raised_on_every_rank:
            failures.append(f"drift message: {e}")

    def set_up():
        raise FileNotFoundError("rank 0's set-up failed")
    try:
        ranks.from_root(set_up)
        failures.append("rank 0's set-up error was not raised")
    except FileNotFoundError as e:
        if str(e) != "rank 0's set-up failed" or not e.raised_on_every_rank:
            failures.append(f"set-up error: {e!r}")

    for failure in failures:
        print(f"rank {ranks.rank}: {failure}")
    if ranks.is_root:
        print(f"largest relative difference of a gradient: {worst:.3g}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
