"""The ``dualgrad`` command: a dispatcher over subcommands.

    dualgrad train --model fcnet --width 256 --dataset digits --grad activity --method projection --k 16 --out runs/x
    dualgrad compare --model fcnet --width 256 --dataset digits --k 16 --out runs/cmp   # exact, fg, mean, frog
    dualgrad experiment approx --quick --out runs/a        # §4.1 approximation quality
    dualgrad experiment angles --out runs/angles           # §4.3 custom tangents
    dualgrad experiment functions --quick --out runs/f     # §4.2 closed-form functions
    dualgrad experiment angles-opt --out runs/ao           # §4.3 optimisation with angled tangents
    dualgrad experiment lr-search --out runs/lr            # learning rates for the bundled digits
    dualgrad bench --suite mlp --k 4 16                    # timings against hand-written NumPy and peers
    dualgrad experiment approx --scheduler tcp://10.0.0.5:8786 ...     # any experiment on a dask cluster

Each subcommand is one ``_add_<command>(subparsers)`` below that declares its flags and sets ``run``, a
function of the parsed arguments; the work itself lives in the library (``dualgrad.experiments``, ...).
To add a command, write its ``_add_`` function and call it from ``build_parser``. Every ``experiment`` command
gets ``--scheduler`` there (``_add_scheduler``) and runs inside ``experiments.cluster.connect`` when it is
given, so that all of its ``sweep.run_jobs`` calls go to the cluster.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback

from .backend import retain_freed_memory
from .experiments import fcnet, functions


def _add_experiment_approx(experiments) -> None:
    from .experiments.approx import QUICK_K, QUICK_N, QUICK_SAMPLES
    p = experiments.add_parser(
        "approx", help="§4.1: cosine and norm of the estimators against n and k (Gaussian tangents)",
        description="The paper's §4.1 sweep: for f(x) = sum(x) (true gradient ones(n)) and Gaussian tangents, "
                    "the cosine, norm ratio, norm, error norm and dot product of every estimator for every "
                    "(n, k). Writes OUT/approx.csv and, with matplotlib, OUT/approx_cosine.png and "
                    "OUT/approx_norm_ratio.png.")
    p.add_argument("--n", type=_positive, nargs="+", help=f"dimensions (default: 2^0 … 2^16; --quick: {QUICK_N})")
    p.add_argument("--k", type=_positive, nargs="+",
                   help=f"numbers of tangents (default: 2^0 … 2^10; --quick: {QUICK_K})")
    p.add_argument("--samples", type=_positive,
                   help=f"samples per (n, k) (default: 1000 for n <= 2^14, 100 above; --quick: {QUICK_SAMPLES})")
    p.add_argument("--quick", action="store_true", help="a reduced grid that runs in seconds")
    _add_common(p, "runs/approx")
    p.set_defaults(run=_run_approx)


def _run_approx(args) -> None:
    from .experiments import approx
    ns, ks, samples = approx.PAPER_N, approx.PAPER_K, args.samples
    if args.quick:
        ns, ks, samples = approx.QUICK_N, approx.QUICK_K, args.samples or approx.QUICK_SAMPLES
    _run_experiment(args, approx.run_approx, approx.write_approx, approx.summary, ns=args.n or ns, ks=args.k or ks,
                    samples=samples)


def _add_experiment_angles(experiments) -> None:
    from .experiments.approx import ANGLE_K, ANGLE_N, ANGLE_SAMPLES, ANGLES
    p = experiments.add_parser(
        "angles", help="§4.3: estimators from unit tangents at a fixed angle to each other",
        description="The paper's §4.3 approximation quality: unit tangents at a fixed angle to a base tangent; "
                    "projection, mean and sum. Writes OUT/angles.csv and, with matplotlib, "
                    "OUT/approx_angles_cosine.png.")
    p.add_argument("--n", type=_positive, default=ANGLE_N, help=f"dimension (default {ANGLE_N})")
    p.add_argument("--k", type=_positive, nargs="+", default=list(ANGLE_K),
                   help=f"numbers of tangents (default {ANGLE_K})")
    p.add_argument("--angles", type=float, nargs="+", default=list(ANGLES), help=f"degrees (default {ANGLES})")
    p.add_argument("--samples", type=_positive, default=ANGLE_SAMPLES,
                   help=f"samples per cell (default {ANGLE_SAMPLES})")
    _add_common(p, "runs/angles")
    p.set_defaults(run=_run_angles)


def _run_angles(args) -> None:
    from .experiments import approx
    _run_experiment(args, approx.run_angles, approx.write_angles, approx.angles_summary, n=args.n, ks=args.k,
                    angles=args.angles, samples=args.samples)


def _at_least(minimum: int):
    """An argparse type: an integer >= minimum."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value
    return parse


_positive = _at_least(1)


def _add_common(p, out: str) -> None:
    p.add_argument("--seed", type=_at_least(0), default=0, help="base seed (default 0)")
    p.add_argument("--out", default=out, help=f"output directory (default {out})")
    p.add_argument("--workers", type=_positive, help="worker processes (default: the number of cores)")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="write the CSV only")


def _run_experiment(args, run, write, summary, **options) -> None:
    """``rows = run(...)``, ``write(rows, ...)`` (CSV and plots), then the result table and the files."""
    from .experiments.sweep import where
    start = time.perf_counter()
    rows = run(seed=args.seed, workers=args.workers, **options)
    written = write(rows, args.out, args.plots)
    print(summary(rows))
    print(f"\n{args.experiment}: {len(rows)} rows in {time.perf_counter() - start:.1f} s on {where(args.workers)}")
    for path in written:
        print(f"wrote {path}")


def _add_training_flags(p) -> None:
    from .recipes import MODELS
    from .train import TrainConfig
    d = TrainConfig()
    p.add_argument("--model", choices=MODELS, default="fcnet", help="network (default fcnet, the paper's FC net)")
    p.add_argument("--width", type=int, default=256, help="hidden width of fcnet / stem channels (default 256)")
    p.add_argument("--hidden-layers", type=int, default=2, help="fcnet hidden layers (default 2, as the paper)")
    p.add_argument("--dataset", default="digits",
                   help="digits (bundled, default), mnist, fashion-mnist, cifar10, teacher-student")
    p.add_argument("--data-dir", help="directory with downloaded datasets (default $DUALGRAD_DATA or ./data)")
    p.add_argument("--sampler", default=d.sampler, help=f"tangent sampler (default {d.sampler})")
    p.add_argument("--lr", type=float, help="learning rate (default: tuned table or rule, see docs/training.md)")
    p.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default=d.optimizer)
    p.add_argument("--momentum", type=float, default=d.momentum)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--lr-schedule", choices=("constant", "cosine", "step"), default=d.lr_schedule)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--patience", type=int, default=d.patience, help="early stopping on validation loss")
    p.add_argument("--min-delta", type=float, default=d.min_delta)
    p.add_argument("--loss-bound", type=float, default=d.loss_bound, help="stop when the loss reaches this")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads, help="BLAS threads (default 1)")
    p.add_argument("--diagnostics", type=int, default=0, metavar="N",
                   help="every N steps log cosine and norm ratio to the exact gradient")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="skip the curves plot")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def _training_options(args) -> dict:
    return dict(model=args.model, width=args.width, hidden_layers=args.hidden_layers, dataset=args.dataset,
                data_dir=args.data_dir, sampler=args.sampler, lr=args.lr, optimizer=args.optimizer,
                momentum=args.momentum, weight_decay=args.weight_decay, lr_schedule=args.lr_schedule,
                batch_size=args.batch_size, epochs=args.epochs, patience=args.patience, min_delta=args.min_delta,
                loss_bound=args.loss_bound, seed=args.seed, threads=args.threads,
                diagnostics_every=args.diagnostics, plot=args.plot, progress=args.progress)


def _add_train(commands) -> None:
    p = commands.add_parser(
        "train", help="train a network with forward gradients (or the exact gradient)",
        description="Train on a dataset with forward gradients: every step pushes k tangents through the network "
                    "in one forward pass. Prints a progress bar and a results table; writes OUT/metrics.jsonl, "
                    "metrics.csv, checkpoint.npz, best.npz, summary.json and (with matplotlib) curves.png.")
    p.add_argument("--grad", choices=("activity", "weight", "exact"), default="activity",
                   help="activity perturbation (default, the paper's), weight perturbation, or the exact gradient")
    p.add_argument("--method", default="projection",
                   help="aggregation: projection (frog), mean, fg (mean with k=1), sum, max, ... (default projection)")
    p.add_argument("--k", type=int, default=16, help="tangents per step (default 16)")
    p.add_argument("--out", default="runs/train", help="output directory (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--tangent-parallel", action="store_true",
                   help="under `mpiexec -n R`: split the k tangents of every step over the R MPI ranks, the result "
                        "the one-process run's (pip install 'dualgrad[mpi]'; docs/scale-out.md)")
    _add_training_flags(p)
    p.set_defaults(run=_run_train)


def _run_train(args) -> None:
    from .recipes import train_run
    train_run(grad=args.grad, method=args.method, k=args.k, out=args.out, resume=args.resume,
              parallel=args.parallel, **_training_options(args))


def _add_compare(commands) -> None:
    p = commands.add_parser(
        "compare", help="exact, fg, mean and frog side by side on the same data and seeds",
        description="The paper's comparison in one command: the exact gradient, the single-tangent forward gradient "
                    "(fg), the mean and the orthogonal projection (frog) of k tangents, trained on the same data from "
                    "the same initialisation. Prints one table; writes a run directory per approach and compare.png.")
    p.add_argument("--grad", choices=("activity", "weight"), default="activity", help="perturbation (default activity)")
    p.add_argument("--k", type=int, default=16, help="tangents for mean and frog (default 16)")
    p.add_argument("--out", default="runs/compare", help="output directory (default runs/compare)")
    _add_training_flags(p)
    p.set_defaults(run=_run_compare)


def _run_compare(args) -> None:
    from .recipes import compare_run
    compare_run(k=args.k, grad=args.grad, out=args.out, **_training_options(args))


def _add_experiment_lr_search(experiments) -> None:
    p = experiments.add_parser(
        "lr-search", help="tune learning rates of bp, fg, mean and frog for training on a dataset",
        description="A coarse-then-fine log grid per approach, scored by the best validation loss, selected with "
                    "the paper's rule (within 5% of the best, closest to their mean). Writes OUT/<dataset>.csv in "
                    "the layout of the paper's lrs/*.csv and OUT/trials.csv.")
    p.add_argument("--model", default="fcnet")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", default="runs/lr-search")
    p.add_argument("--workers", type=int, help="worker processes (default: the number of cores)")
    p.set_defaults(run=_run_lr_search)


def _run_lr_search(args) -> None:
    import pathlib

    from .experiments import lr_search
    from .experiments.sweep import write_csv
    rows, trials = lr_search.search(args.model, args.width, args.dataset, epochs=args.epochs, seeds=args.seeds,
                                    workers=args.workers)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lr_search.write_table(out / f"{args.dataset}.csv", rows)
    write_csv(out / "trials.csv", ["approach", "k", "lr", "val_loss"],
              [{"approach": a, "k": k, "lr": lr, "val_loss": v} for (a, k, lr), v in sorted(trials.items())])
    for r in rows:
        print(f"{r['gradient_approach']:8s} k={r['k'] or '-':>4} lr={r['lr']:.4g}  best val loss {r['val_loss']:.4f}")
    print(f"wrote {out / (args.dataset + '.csv')} and {out / 'trials.csv'}")


def _add_bench(commands) -> None:
    from .bench import add_arguments
    p = commands.add_parser(
        "bench", help="time the k-tangent passes and training steps against hand-written NumPy and the peers",
        description="The benchmark suite (docs/performance.md): k-tangent MLP and conv-net forward passes, one "
                    "training step, peak memory against depth, and this machine's GEMM peak. PyTorch and JAX are "
                    "compared when installed (pip install '.[bench]') and skipped otherwise.")
    add_arguments(p)
    p.set_defaults(run=_run_bench)


def _run_bench(args) -> None:
    from .bench import run_command
    run_command(args)


def _add_scheduler(experiments) -> None:
    """``--scheduler`` on every experiment command (run last in ``build_parser``, so that each gets it)."""
    for p in {id(p): p for p in experiments.choices.values()}.values():
        p.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the jobs on the dask.distributed cluster whose scheduler listens at ADDRESS "
                            "(tcp://HOST:PORT; pip install 'dualgrad[distributed]'); same CSV as the local "
                            "processes, see docs/scale-out.md")


def _cluster(args, parser):
    """The context an experiment runs in: with ``--scheduler``, its jobs go to that dask cluster."""
    address = getattr(args, "scheduler", None)
    if address is None:
        return contextlib.nullcontext()
    if getattr(args, "workers", None) is not None:
        parser.error("--workers sets the number of local processes; with --scheduler the cluster's workers run "
                     "the jobs: drop --workers")
    from .experiments.cluster import connect
    return connect(address)


def _parallel(args, parser):
    """The MPI ranks of ``dualgrad train --tangent-parallel``, else this process alone. What cannot be split is
    a usage error on every rank (rank 0 prints it)."""
    from .parallel import SINGLE_PROCESS, TangentParallel
    if not getattr(args, "tangent_parallel", False):
        return SINGLE_PROCESS
    parallel = TangentParallel()
    problem = None
    if parallel.size > 1 and args.grad == "exact":
        problem = (f"--tangent-parallel splits the k tangents over the {parallel.size} MPI ranks, and --grad exact "
                   "has none: run the exact gradient in one process")
    elif args.k < parallel.size:
        problem = (f"--tangent-parallel splits the k = {args.k} tangents over {parallel.size} MPI ranks: use "
                   f"--k >= {parallel.size} or fewer ranks")
    if problem and parallel.is_root:
        parser.error(problem)
    if problem:
        raise SystemExit(2)
    return parallel


def _report(error, code: int, parallel) -> int:
    """Print ``error`` as one line and return ``code``. Under MPI an error raised on every rank at the same
    point (``raised_on_every_rank``) is printed by rank 0 alone; any other error may have left the other
    ranks waiting in a collective, so it takes the whole job down (MPI_Abort with ``code``)."""
    everywhere = getattr(error, "raised_on_every_rank", False)
    if parallel.is_root or not everywhere:
        rank = f" (MPI rank {parallel.rank})" if parallel.size > 1 else ""
        print(f"dualgrad: error{rank}: {error}", file=sys.stderr, flush=True)
    if parallel.size > 1 and not everywhere:
        parallel.abort(code)
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualgrad", description="Forward-mode AD with k tangent columns and "
                                     "multi-tangent forward gradients (Flügel et al. 2024).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    experiment = commands.add_parser("experiment", help="reproduce the paper's experiments")
    experiments = experiment.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    _add_experiment_approx(experiments)
    _add_experiment_angles(experiments)
    functions.add_subcommands(experiments)
    fcnet.add_subcommands(experiments)
    _add_experiment_lr_search(experiments)
    _add_scheduler(experiments)
    _add_train(commands)
    _add_compare(commands)
    _add_bench(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .data import CorruptDatasetError, DatasetNotFoundError
    from .errors import ClusterError, MissingExtraError, ParameterDriftError
    from .experiments.lrs import LearningRateNotFound
    from .parallel import SINGLE_PROCESS
    parser = build_parser()
    args = parser.parse_args(argv)
    retain_freed_memory()          # this process is ours: keep large freed blocks mapped (backend docstring)
    args.parallel = parallel = SINGLE_PROCESS
    try:
        args.parallel = parallel = _parallel(args, parser)
        with _cluster(args, parser):
            args.run(args)
    except (DatasetNotFoundError, CorruptDatasetError, LearningRateNotFound, FileNotFoundError,
            MissingExtraError) as e:
        return _report(e, 2, parallel)                         # what is missing and where to put it
    except (ClusterError, ParameterDriftError) as e:
        return _report(e, 1, parallel)
    except Exception:
        if parallel.size == 1:
            raise
        traceback.print_exc()                                  # then take the ranks waiting for this one down
        parallel.abort(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
