"""Tangent-parallel training over MPI: the measured speed-up, Amdahl's model of it, and the traffic per step.

    python benchmarks/tangent_parallel.py [--width 1024] [--k 64] [--epochs 2] [--reps 5] [--steps 40] [--json FILE]

(on an otherwise idle machine: it prints the tables of docs/scale-out.md, in Markdown.)

The workload of docs/scale-out.md: ``dualgrad train`` of the FC net of width W on the bundled digits, activity
perturbation, projection, k tangents, batch 64. Three configurations, each a fresh ``dualgrad train`` process
run ``--reps`` times, interleaved in random order, the training time read from the last ``seconds`` of its
metrics.jsonl (epoch 0's evaluation and the start-up are not in it):

- ``1 process x 1 thread``: ``--threads 1``;
- ``1 process x 2 threads``: ``--threads 2`` (one machine's BLAS threads, for comparison);
- ``R ranks x 1 thread``: ``mpiexec.gforker -n R ... --tangent-parallel --threads 1``.

Amdahl's model: every rank repeats the work that does not split (the primal pass, drawing V, the
aggregation, the block-local parameter rules, the update): call it 1. Pushing one tangent column costs c.
Then one process takes 1 + k·c and R ranks 1 + k·c/R, a speed-up of (1 + k·c) / (1 + k·c/R). c is measured
in one process by timing a training step that pushes m of the k columns (the jvps of the others are filled
in without computing them) for several m, interleaved, and fitting time = a + b·m: c = b / a.

Where the time of R ranks goes: ``--steps N`` training steps timed on every rank of ``mpiexec -n R`` (this
script again, ``--rank-steps``) and in one process, each step's wall-clock and CPU time and the wait in the
Allgatherv. A rank's CPU time per step against its wall-clock time shows how much of the step it was off the
CPU (other processes on the machine); its CPU time against the one-process step's shows what the split
itself costs.

Communication: one Allgatherv of the jvps, k·B numbers per step, against the P numbers of the all-reduce of
data-parallel training.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from dualgrad import data
from dualgrad.gradients import make_gradient_source, num_activities
from dualgrad.nn import Context
from dualgrad.parallel import SingleProcess, split
from dualgrad.recipes import build_model

BIN = pathlib.Path(sys.executable).parent
BATCH = 64                                                       # dualgrad train's default batch size
MPI_ENV = {"UCX_TLS": "self,sm", "FI_PROVIDER": "shm"}          # one machine: shared memory, no network port


class PushOnly(SingleProcess):
    """Push the first m of the k columns and fill in the jvps of the others with copies (for timing only)."""

    def __init__(self, m: int):
        self.m = m

    def share(self, k):
        return slice(0, self.m)

    def gather(self, d_local, k):
        return np.resize(d_local, (k,) + d_local.shape[1:])


def workload(width: int, batch: int = BATCH, seed: int = 0):
    """The FC net of ``dualgrad train --width W`` on digits, its parameters, one batch, and the input shape."""
    splits = data.load("digits")
    model = build_model("fcnet", splits.train.input_shape, splits.train.classes, width=width,
                        rng=np.random.default_rng([seed, 3]))
    return model, model.parameters(), splits.train.x[:batch], splits.train.y[:batch], splits.train.input_shape


def step_profile(width: int, k: int, steps: int, parallel) -> dict:
    """Median wall-clock and CPU seconds of ``steps`` training steps (after 2 warm-up steps) with the k tangents
    pushed as ``parallel`` says, and the median wait in its ``gather`` (one BLAS thread)."""
    from threadpoolctl import threadpool_limits
    model, params, x, y, _ = workload(width)
    waits, gather = [], parallel.gather

    def timed_gather(d_local, k):
        start = time.perf_counter()
        d = gather(d_local, k)
        waits.append(time.perf_counter() - start)
        return d
    parallel.gather = timed_gather
    source = make_gradient_source("activity", method="projection", k=k, parallel=parallel)
    rng = np.random.default_rng(0)
    wall, cpu = [], []
    with threadpool_limits(1):
        for _ in range(steps + 2):
            start, start_cpu = time.perf_counter(), time.process_time()
            source(model, params, x, y, Context(training=True), rng)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return {"wall_s": statistics.median(wall[2:]), "cpu_s": statistics.median(cpu[2:]),
            "gather_s": statistics.median(waits[2:])}


def rank_steps(width: int, k: int, steps: int, out: str) -> None:
    """Under mpiexec: every rank's ``step_profile`` with the tangents split over the ranks; rank 0 writes them."""
    from dualgrad.parallel import TangentParallel
    ranks = TangentParallel()
    profiles = ranks.comm.gather(step_profile(width, k, steps, ranks), root=0)
    if ranks.is_root:
        pathlib.Path(out).write_text(json.dumps(profiles))


def split_steps(width: int, k: int, ranks: int, steps: int, tmp: str) -> list[dict]:
    """``rank_steps`` on ``ranks`` MPI ranks of this machine: one profile per rank."""
    out = pathlib.Path(tmp) / "steps.json"
    subprocess.run([str(BIN / "mpiexec.gforker"), "-n", str(ranks), sys.executable, __file__, "--rank-steps",
                    str(steps), "--width", str(width), "--k", str(k), "--json", str(out)],
                   env=os.environ | MPI_ENV, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def column_cost(width: int, k: int, batch: int = BATCH, reps: int = 30, seed: int = 0) -> dict:
    """(a, b, c): step time a + b·m for m pushed columns, in seconds, and c = b / a (one BLAS thread)."""
    from threadpoolctl import threadpool_limits
    model, params, x, y, input_shape = workload(width, batch, seed)
    ms = sorted({1, k // 8, k // 4, k // 2, k} - {0})
    sources = {m: make_gradient_source("activity", method="projection", k=k, parallel=PushOnly(m)) for m in ms}
    times = {m: [] for m in ms}
    rng = np.random.default_rng(seed)
    with threadpool_limits(1):
        for m in ms:
            sources[m](model, params, x, y, Context(training=True), rng)                # warm-up
        for _ in range(reps):
            for m in random.Random(len(times[ms[0]])).sample(ms, len(ms)):
                start = time.perf_counter()
                sources[m](model, params, x, y, Context(training=True), rng)
                times[m].append(time.perf_counter() - start)
    medians = [statistics.median(times[m]) for m in ms]
    b, a = np.polyfit(ms, medians, 1)
    return {"m": ms, "median_s": medians, "a_s": float(a), "b_s": float(b), "c": float(b / a),
            "n": num_activities(model, input_shape), "P": model.num_parameters()}


def amdahl(k: int, c: float, ranks: int) -> float:
    return (1 + k * c) / (1 + k * c / ranks)


def train_seconds(config: str, ranks: int, width: int, k: int, epochs: int, out: pathlib.Path) -> tuple[float, list]:
    """The training seconds and per-epoch training losses of one fresh ``dualgrad train`` run."""
    args = [str(BIN / "dualgrad"), "train", "--width", str(width), "--k", str(k), "--epochs", str(epochs),
            "--out", str(out), "--no-progress", "--no-plot"]
    if config == "1x1":
        command = args + ["--threads", "1"]
    elif config == "1x2":
        command = args + ["--threads", "2"]
    else:
        script = " ".join(f"'{a}'" for a in args + ["--threads", "1", "--tangent-parallel"])
        command = [str(BIN / "mpiexec.gforker"), "-n", str(ranks), "sh", "-c",
                   f'exec {script} > "{out}.rank$PMI_RANK" 2>&1']
    subprocess.run(command, env=os.environ | MPI_ENV, check=True, stdout=subprocess.DEVNULL)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return rows[-1]["seconds"], [r["train_loss"] for r in rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40, help="training steps timed per rank")
    parser.add_argument("--json", help="write the numbers to this file")
    parser.add_argument("--rank-steps", type=int, help=argparse.SUPPRESS)         # one rank of split_steps
    args = parser.parse_args(argv)
    if args.rank_steps:
        return rank_steps(args.width, args.k, args.rank_steps, args.json)

    load = [os.getloadavg()]
    cost = column_cost(args.width, args.k)
    steps = {"1": step_profile(args.width, args.k, args.steps, SingleProcess())}
    configs = ["1x1", "1x2", f"{args.ranks}x1"]
    seconds = {c: [] for c in configs}
    losses = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for config in random.Random(rep).sample(configs, len(configs)):
                s, curve = train_seconds(config, args.ranks, args.width, args.k, args.epochs,
                                         pathlib.Path(tmp) / f"{config}-{rep}")
                seconds[config].append(s)
                losses.setdefault(config, curve)
        steps[str(args.ranks)] = split_steps(args.width, args.k, args.ranks, args.steps, tmp)
    load.append(os.getloadavg())

    base = statistics.median(seconds["1x1"])
    one, split = np.array(losses["1x1"]), np.array(losses[f"{args.ranks}x1"])
    result = {"width": args.width, "k": args.k, "epochs": args.epochs, "ranks": args.ranks, "reps": args.reps,
              "steps_timed": args.steps,
              "cost": cost, "seconds": seconds, "steps": steps, "load_before_after": load,
              "speedup": {c: base / statistics.median(v) for c, v in seconds.items()},
              "amdahl": {r: amdahl(args.k, cost["c"], r) for r in (args.ranks, 8, 64)},
              "losses_max_relative_difference": float(np.max(np.abs(split - one) / np.abs(one))),
              "losses_bitwise_equal": bool(np.array_equal(split, one)),
              "allgather_numbers_per_step": args.k * BATCH, "allreduce_numbers_per_step": cost["P"]}
    print(report(result))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=1))


def off_cpu(profile: dict) -> float:
    """The share of a step's wall-clock time that the process spent off the CPU (waiting or descheduled)."""
    return max(0.0, 1 - profile["cpu_s"] / profile["wall_s"])


def report(r: dict) -> str:
    """The Markdown of docs/scale-out.md's measurement: the table, c and the model, equivalence, traffic."""
    cost, k, R = r["cost"], r["k"], r["ranks"]
    names = {"1x1": "1 process × 1 thread", "1x2": "1 process × 2 threads", f"{R}x1": f"{R} ranks × 1 thread"}
    lines = [f"FCNet W = {r['width']} on digits (n = {cost['n']:,} activities, P = {cost['P']:,} parameters), activity "
             f"perturbation, projection, k = {k}, batch {BATCH}; {r['epochs']} epochs, {r['reps']} runs of each "
             f"configuration, interleaved; load average {r['load_before_after'][0][0]:.2f} before, "
             f"{r['load_before_after'][1][0]:.2f} after.", "",
             "| configuration | training seconds, median (min) | speed-up | Amdahl (1 + k·c)/(1 + k·c/R) |",
             "|---|---|---|---|"]
    for config, name in names.items():
        times = r["seconds"][config]
        model = f"{r['amdahl'][R]:.2f}×" if config == f"{R}x1" else ("1" if config == "1x1" else "—")
        lines.append(f"| {name} | {statistics.median(times):.2f} ({min(times):.2f}) | "
                     f"{r['speedup'][config]:.2f}× | {model} |")
    for ranks in (8, 64):
        lines.append(f"| {ranks} ranks × 1 thread (a cluster) | | | {r['amdahl'][ranks]:.2f}× |")
    lines += ["", f"c from one process, one thread: a step that pushes m of the k columns takes a + b·m, "
              f"a = {1e3 * cost['a_s']:.1f} ms, b = {1e3 * cost['b_s']:.2f} ms per column (medians for m = "
              f"{', '.join(map(str, cost['m']))}): c = b/a = {cost['c']:.3f}, k·c = {k * cost['c']:.1f}, "
              f"bound 1 + k·c = {1 + k * cost['c']:.1f}× for R → ∞.", "",
              f"One training step, median of {r['steps_timed']} (per rank):", "",
              "| | wall-clock ms | CPU ms | off the CPU | waiting in the Allgatherv, ms |", "|---|---|---|---|---|"]
    one = r["steps"]["1"]
    lines.append(f"| 1 process, {k} columns | {1e3 * one['wall_s']:.1f} | {1e3 * one['cpu_s']:.1f} | "
                 f"{off_cpu(one):.0%} | — |")
    for rank, p in enumerate(r["steps"][str(R)]):
        lines.append(f"| rank {rank} of {R}, {split(k, R)[rank]} columns | {1e3 * p['wall_s']:.1f} | "
                     f"{1e3 * p['cpu_s']:.1f} | {off_cpu(p):.0%} | {1e3 * p['gather_s']:.1f} |")
    lines += ["",
              f"Per-epoch training losses, {R} ranks against 1 process: "
              + ("equal bit for bit." if r["losses_bitwise_equal"] else
                 f"largest relative difference {r['losses_max_relative_difference']:.2g}."), "",
              "| R | tangent-parallel: numbers sent per rank and step, (R−1)/R · k·B | data-parallel ring all-reduce: "
              "2(R−1)/R · P | ratio |", "|---|---|---|---|"]
    for ranks in (R, 8, 64):
        share = (ranks - 1) / ranks
        ours, theirs = share * k * BATCH, 2 * share * cost["P"]
        lines.append(f"| {ranks} | {ours:,.0f} ({8 * ours / 1024:,.0f} KiB) | {theirs:,.0f} "
                     f"({8 * theirs / 2**20:,.1f} MiB) | {theirs / ours:,.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
