"""The ``dualgrad`` command: a dispatcher over subcommands.

    dualgrad train --model fcnet --width 256 --dataset digits --grad activity --method projection --k 16 --out runs/x
    dualgrad compare --model fcnet --width 256 --dataset digits --k 16 --out runs/cmp   # exact, fg, mean, frog
    dualgrad experiment approx --quick --out runs/a        # §4.1 approximation quality
    dualgrad experiment angles --out runs/angles           # §4.3 custom tangents
    dualgrad experiment functions --quick --out runs/f     # §4.2 closed-form functions
    dualgrad experiment angles-opt --out runs/ao           # §4.3 optimisation with angled tangents
    dualgrad experiment fcnet --quick --out runs/fc        # §4.4 FC nets
    dualgrad experiment sota --quick --out runs/s          # §4.5 a small ResNet and ViT
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
import pathlib
import shlex
import signal
import sys
import time
import traceback

from .argtypes import (
    degrees,
    directory,
    fraction,
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
)
from .backend import BACKENDS, retain_freed_memory
from .experiments import fcnet, functions, sota


def _add_experiment_approx(experiments) -> None:
    from .experiments.approx import QUICK_K, QUICK_N, QUICK_SAMPLES
    p = experiments.add_parser(
        "approx", help="§4.1: cosine and norm of the estimators against n and k (Gaussian tangents)",
        description="The paper's §4.1 sweep: for f(x) = sum(x) (true gradient ones(n)) and Gaussian tangents, "
                    "the cosine, norm ratio, norm, error norm and dot product of every estimator for every "
                    "(n, k). Writes OUT/approx.csv and, with matplotlib, OUT/approx_cosine.png and "
                    "OUT/approx_norm_ratio.png.")
    p.add_argument("--n", type=positive_int, nargs="+", help=f"dimensions (default: 2^0 … 2^16; --quick: {QUICK_N})")
    p.add_argument("--k", type=positive_int, nargs="+",
                   help=f"numbers of tangents (default: 2^0 … 2^10; --quick: {QUICK_K})")
    p.add_argument("--samples", type=positive_int,
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
    p.add_argument("--n", type=positive_int, default=ANGLE_N, help=f"dimension (default {ANGLE_N})")
    p.add_argument("--k", type=positive_int, nargs="+", default=list(ANGLE_K),
                   help=f"numbers of tangents (default {ANGLE_K})")
    p.add_argument("--angles", type=degrees, nargs="+", default=list(ANGLES), help=f"degrees (default {ANGLES})")
    p.add_argument("--samples", type=positive_int, default=ANGLE_SAMPLES,
                   help=f"samples per cell (default {ANGLE_SAMPLES})")
    _add_common(p, "runs/angles")
    p.set_defaults(run=_run_angles)


def _run_angles(args) -> None:
    from .experiments import approx
    _run_experiment(args, approx.run_angles, approx.write_angles, approx.angles_summary, n=args.n, ks=args.k,
                    angles=args.angles, samples=args.samples)


def _add_common(p, out: str) -> None:
    p.add_argument("--seed", type=non_negative_int, default=0, help="base seed (default 0)")
    p.add_argument("--out", type=directory, default=out, help=f"output directory (default {out})")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: the number of cores)")
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


# ----- train and compare: run directories, --resume [DIR], --overwrite ------------------------------------------
#: Where a training flag's value lives in config.json (the others: "training.<flag's dest>").
_CONFIG_KEYS = {"model": "model.name", "width": "model.width", "hidden_layers": "model.hidden_layers",
                "dataset": "data.dataset", "data_dir": "data.data_dir", "angle": "training.sampler_options.angle"}


def _training_defaults() -> dict:
    """The value of every training flag that is not given (for a fresh run): ``recipes.prepare_run``'s and
    ``train.TrainConfig``'s defaults, so that the command and the library cannot disagree."""
    import dataclasses
    import inspect

    from .recipes import prepare_run
    from .train import TrainConfig
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    defaults |= {name: p.default for name, p in inspect.signature(prepare_run).parameters.items()
                 if p.kind is p.KEYWORD_ONLY and p.default is not p.empty and name != "splits"}
    return defaults | {"angle": None}


def _add_training_flags(p, out: str) -> None:
    """The flags of train and compare. They are SUPPRESSed when absent: a fresh run takes the defaults
    (``_training_defaults``), a resumed one the values in its config.json, and only given flags are compared."""
    from .data import LOADERS
    from .estimators import SAMPLERS
    from .optim import OPTIMIZERS, SCHEDULES
    from .recipes import MODELS
    d = _training_defaults()
    S = argparse.SUPPRESS
    p.add_argument("--model", choices=MODELS, default=S, help=f"network (default {d['model']}, the paper's FC net)")
    p.add_argument("--width", type=positive_int, default=S,
                   help=f"hidden width of fcnet, stem channels of resnet (default {d['width']})")
    p.add_argument("--hidden-layers", type=non_negative_int, default=S,
                   help=f"fcnet hidden layers (default {d['hidden_layers']}, as the paper)")
    p.add_argument("--dataset", choices=tuple(LOADERS), default=S,
                   help=f"digits is bundled (default {d['dataset']}); the others are read from --data-dir")
    p.add_argument("--data-dir", type=directory, default=S,
                   help="directory with downloaded datasets (default $DUALGRAD_DATA or ./data)")
    p.add_argument("--sampler", choices=tuple(SAMPLERS), default=S, help=f"tangent sampler (default {d['sampler']})")
    p.add_argument("--angle", type=degrees, default=S, metavar="DEGREES",
                   help="--sampler angle: the angle in [0, 180] between every tangent and the first")
    p.add_argument("--lr", type=positive_float, default=S,
                   help="learning rate (default: tuned table or rule, see docs/training.md)")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=S, help=f"(default {d['optimizer']})")
    p.add_argument("--momentum", type=fraction, default=S, help=f"SGD momentum in [0, 1) (default {d['momentum']})")
    p.add_argument("--weight-decay", type=non_negative_float, default=S, help=f"(default {d['weight_decay']})")
    p.add_argument("--lr-schedule", choices=SCHEDULES, default=S, help=f"(default {d['lr_schedule']})")
    p.add_argument("--batch-size", type=positive_int, default=S, help=f"(default {d['batch_size']})")
    p.add_argument("--eval-batch-size", type=positive_int, default=S,
                   help=f"batch size of the evaluations (default {d['eval_batch_size']})")
    p.add_argument("--epochs", type=positive_int, default=S, help=f"epoch budget (default {d['epochs']})")
    p.add_argument("--patience", type=positive_int, default=S,
                   help=f"early stopping after this many epochs without a better validation loss "
                        f"(default {d['patience']})")
    p.add_argument("--min-delta", type=non_negative_float, default=S,
                   help=f"the least improvement that counts (default {d['min_delta']})")
    p.add_argument("--loss-bound", type=number(0, infinite=True), default=S,
                   help=f"diverged when the training loss reaches this (default {d['loss_bound']}; inf: no bound)")
    p.add_argument("--seed", type=non_negative_int, default=S, help=f"(default {d['seed']})")
    p.add_argument("--threads", type=positive_int, default=S, help=f"BLAS threads (default {d['threads']})")
    p.add_argument("--backend", choices=BACKENDS, default=S,
                   help=f"array module of the run (default {d['backend']}); cupy trains on the GPU (pip install "
                        "'dualgrad[gpu]' and a CUDA device; without them: exit status 2, nothing written)")
    p.add_argument("--diagnostics", dest="diagnostics_every", type=non_negative_int, default=S, metavar="N",
                   help="every N steps log cosine and norm ratio to the exact gradient (default: never)")
    p.add_argument("--out", type=directory, help=f"output directory (default {out})")
    p.add_argument("--resume", nargs="?", const=True, type=directory, metavar="DIR",
                   help="continue the run in DIR (default: --out) from its last commit; flags not given take "
                        "the run's config.json values, given ones must agree with it (but --epochs, --patience, "
                        "--min-delta, --diagnostics, --eval-batch-size, --data-dir)")
    p.add_argument("--overwrite", action="store_true", help="delete the run already in --out, then start afresh")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="skip the curves plot")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(default_out=out)


def _flag(key: str) -> str:
    """The flag of a config.json key, for messages: training.lr -> --lr, model.name -> --model."""
    names = {v: k for k, v in _CONFIG_KEYS.items()} | {"training.diagnostics_every": "diagnostics"}
    name = names.get(key, key.rsplit(".", 1)[-1])
    return "--" + name.replace("_", "-")


def _given(args, names) -> dict:
    """The options given on the command line (absent training flags are not in ``args``)."""
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def _nested(options: dict) -> dict:
    """Options as a (partial) config.json: {"width": 16} -> {"model": {"width": 16}}."""
    config: dict = {}
    for name, value in options.items():
        *sections, leaf = _CONFIG_KEYS.get(name, f"training.{name}").split(".")
        node = config
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
    return config


def _from_config(stored: dict, names) -> dict:
    """The options of a stored config.json (the inverse of ``_nested``), for the flags not given."""
    from .rundir import flatten
    flat = flatten(stored)
    options = {name: flat[key] for name in names if (key := _CONFIG_KEYS.get(name, f"training.{name}")) in flat}
    if "training.lr_source" in flat:
        options["lr_source"] = flat["training.lr_source"]
    return options


def _resolve_out(args) -> tuple[str, bool]:
    """(the run directory, whether to resume): --resume DIR names it, else --out, else the default."""
    resume = args.resume is not None
    out = args.out
    if isinstance(args.resume, str):
        if out is not None and pathlib.Path(out).resolve() != pathlib.Path(args.resume).resolve():
            args.parser.error(f"--resume {args.resume} and --out {out} name different directories; give one of them")
        out = args.resume
    if resume and args.overwrite:
        args.parser.error("--resume continues the run in a directory and --overwrite deletes it: choose one")
    return out or args.default_out, resume


def _options(args, names, stored: dict | None) -> dict:
    """The run's options: the given flags, the rest from config.json (resume) or the defaults (fresh run).
    Given flags that contradict config.json are a usage error listing them; so is --angle without the
    angle sampler."""
    from . import rundir
    given = _given(args, names)
    if stored is not None:
        diffs = rundir.differences(stored, _nested(given), partial=True)
        if diffs:
            raise rundir.mismatch_error(args.out_dir, diffs, label=_flag)
        options = {name: value for name, value in _training_defaults().items() if name in names}
        options |= _from_config(stored, names) | given
    else:
        options = {name: value for name, value in _training_defaults().items() if name in names} | given
    angle = options.pop("angle", None)
    if angle is not None and options.get("sampler") != "angle":
        args.parser.error("--angle is the angle of --sampler angle; give --sampler angle too, or leave --angle out")
    options["sampler_options"] = dict(options.get("sampler_options") or {}) | (
        {"angle": angle} if angle is not None else {})
    return options


#: The training flags of ``dualgrad train`` (compare has all but method).
_TRAIN_OPTIONS = ("model", "width", "hidden_layers", "dataset", "data_dir", "grad", "method", "k", "sampler", "angle",
                  "lr", "optimizer", "momentum", "weight_decay", "lr_schedule", "batch_size", "eval_batch_size",
                  "epochs", "patience", "min_delta", "loss_bound", "seed", "threads", "backend", "diagnostics_every")

EXIT_CODES = """exit status:
  0    finished (epoch budget or early stopping)
  1    runtime error (a one-line message; --debug shows the traceback)
  2    usage error: a bad flag or value, a busy, used or mismatched --out, --backend cupy without CuPy
       or a GPU (nothing was written)
  3    diverged (the last good epoch stays committed; summary.json says why)
  130  interrupted by SIGINT (Ctrl-C) or SIGTERM (the last epoch commit is kept; the command that
       continues the run is printed)"""


def _add_train(commands) -> None:
    from .gradients import METHOD_NAMES, SOURCES
    d = _training_defaults()
    p = commands.add_parser(
        "train", help="train a network with forward gradients (or the exact gradient)", allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_CODES,
        description="Train on a dataset with forward gradients: every step pushes k tangents through the network\n"
                    "in one forward pass. Prints a progress bar and a results table; writes the run directory OUT\n"
                    "(docs/training.md): config.json, metrics.jsonl, metrics.csv, checkpoint.npz, best.npz,\n"
                    "summary.json and (with matplotlib) curves.png. A used OUT needs --resume or --overwrite.")
    S = argparse.SUPPRESS
    p.add_argument("--grad", choices=tuple(SOURCES), default=S,
                   help=f"activity perturbation (default {d['grad']}, the paper's), weight perturbation, or the "
                        "exact gradient (exact, alias bp)")
    p.add_argument("--method", choices=METHOD_NAMES, default=S, metavar="METHOD",
                   help=f"aggregation: {', '.join(METHOD_NAMES)} (default {d['method']}; fg is the mean of k = 1)")
    p.add_argument("--k", type=positive_int, default=S, help=f"tangents per step (default {d['k']})")
    p.add_argument("--tangent-parallel", action="store_true",
                   help="under `mpiexec -n R`: split the k tangents of every step over the R MPI ranks, the result "
                        "the one-process run's (pip install 'dualgrad[mpi]'; docs/scale-out.md)")
    _add_training_flags(p, "runs/train")
    p.set_defaults(run=_run_train, parser=p)


def _run_train(args) -> int:
    from . import rundir
    from .recipes import train_run
    parallel = args.parallel
    args.out_dir, resume = _resolve_out(args)
    stored = parallel.from_root(lambda: rundir.check(args.out_dir, resume=resume, overwrite=args.overwrite))
    options = _options(args, _TRAIN_OPTIONS, stored)
    _check_split(options, parallel, args.parser)
    history = train_run(out=args.out_dir, resume=resume, overwrite=args.overwrite, plot=args.plot,
                        progress=args.progress, parallel=parallel, **options)
    if history.status == "diverged":
        if parallel.is_root:
            print(f"dualgrad train: {history.stopped}; {args.out_dir} keeps epoch {history.rows[-1]['epoch']}",
                  file=sys.stderr)
        return 3
    return 0


def _check_split(options: dict, parallel, parser) -> None:
    """What --tangent-parallel cannot split is a usage error on every rank (rank 0 prints it)."""
    if parallel.size == 1:
        return
    problem = None
    if options["grad"] in ("exact", "bp"):
        problem = (f"--tangent-parallel splits the k tangents over the {parallel.size} MPI ranks, and --grad "
                   f"{options['grad']} has none: run the exact gradient in one process")
    elif options["k"] < parallel.size:
        problem = (f"--tangent-parallel splits the k = {options['k']} tangents over {parallel.size} MPI ranks: use "
                   f"--k >= {parallel.size} or fewer ranks")
    if problem and parallel.is_root:
        parser.error(problem)
    if problem:
        raise SystemExit(2)


def _add_compare(commands) -> None:
    d = _training_defaults()
    p = commands.add_parser(
        "compare", help="exact, fg, mean and frog side by side on the same data and seeds", allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXIT_CODES + " (3: any of the runs)",
        description="The paper's comparison in one command: the exact gradient, the single-tangent forward\n"
                    "gradient (fg), the mean and the orthogonal projection (frog) of k tangents, trained on the\n"
                    "same data from the same initialisation. Every run is checked before the first one trains.\n"
                    "Prints one table; writes a run directory per approach (OUT/bp, OUT/fg, OUT/mean_kK,\n"
                    "OUT/frog_kK) and compare.png. --resume continues the runs that exist and starts the others.")
    p.add_argument("--grad", choices=("activity", "weight"), default="activity", help="perturbation (default activity)")
    p.add_argument("--k", type=positive_int, default=d["k"], help=f"tangents for mean and frog (default {d['k']})")
    _add_training_flags(p, "runs/compare")
    p.set_defaults(run=_run_compare, parser=p)


def _run_compare(args) -> int:
    from . import rundir
    from .recipes import compare_dir, compare_plan, compare_run
    args.out_dir, resume = _resolve_out(args)
    names = [n for n in _TRAIN_OPTIONS if n not in ("grad", "method", "k")]
    stored = None
    for grad, method, k in compare_plan(args.k, args.grad):             # writes nothing
        sub = compare_dir(args.out_dir, grad, method, k)
        config = rundir.check(sub, resume=resume and (sub / rundir.CONFIG).exists(), overwrite=args.overwrite)
        if config is not None and stored is None:         # the settings the four runs share
            training = config.get("training", {})
            own = ("grad", "method", "k") + (() if str(training.get("lr_source")).startswith("given") else
                                             ("lr", "lr_source"))
            stored = {"model": config.get("model", {}), "data": config.get("data", {}),
                      "training": {key: value for key, value in training.items() if key not in own}}
    options = _options(args, names, stored)
    runs = compare_run(k=args.k, grad=args.grad, out=args.out_dir, resume=resume, overwrite=args.overwrite,
                       plot=args.plot, progress=args.progress, **options)
    diverged = [label for label, history in runs if history.status == "diverged"]
    if diverged:
        print(f"dualgrad compare: diverged: {', '.join(diverged)}", file=sys.stderr)
        return 3
    return 0


def _add_experiment_lr_search(experiments) -> None:
    from .recipes import MODELS
    p = experiments.add_parser(
        "lr-search", help="tune learning rates of bp, fg, mean and frog for training on a dataset",
        description="A log grid of learning rates, each run scored by its lowest validation loss (+inf when it "
                    "diverged), selected with the paper's rule (within 5% of the best, closest to their mean). "
                    "Per approach (default): a coarse-then-fine grid; writes OUT/<dataset>.csv in the layout of the "
                    "paper's lrs/*.csv and OUT/trials.csv. With --base: bp's rate and the one base rate that "
                    "learning_rates.scale turns into every estimator's, started from the paper's values; writes "
                    "OUT/base.csv (the layout of lrs/base.csv) and OUT/trials.csv.")
    from .data import LOADERS
    p.add_argument("--model", choices=MODELS, default="fcnet")
    p.add_argument("--width", type=positive_int, default=256, help="fcnet's hidden width, resnet's stem channels")
    p.add_argument("--dataset", choices=tuple(LOADERS), default="digits")
    p.add_argument("--data-dir", type=directory,
                   help="directory with downloaded datasets (default $DUALGRAD_DATA or ./data)")
    p.add_argument("--epochs", type=positive_int, default=30)
    p.add_argument("--seeds", type=non_negative_int, nargs="+", default=[0])
    p.add_argument("--base", action="store_true", help="search bp's rate and the base rate (see above)")
    p.add_argument("--start", type=positive_float, nargs=2, metavar=("BP", "BASE"),
                   help="--base: the grids' centres (default: the paper's values for the model)")
    p.add_argument("--out", type=directory, default="runs/lr-search")
    p.add_argument("--workers", type=positive_int, help="worker processes (default: the number of cores)")
    p.set_defaults(run=_run_lr_search)


def _run_lr_search(args) -> None:
    import pathlib

    from .experiments import lr_search
    from .experiments.sweep import write_csv
    out = pathlib.Path(args.out)
    if args.base:
        picks, trials = lr_search.search_base(args.model, args.width, args.dataset, args.start, epochs=args.epochs,
                                              seeds=args.seeds, data_dir=args.data_dir, workers=args.workers)
        out.mkdir(parents=True, exist_ok=True)
        source = f"lr-search --base, {args.epochs} epochs, seeds {' '.join(map(str, args.seeds))}"
        write_csv(out / "base.csv", ["model", "dataset", "bp", "base", "source"],
                  [{"model": args.model, "dataset": args.dataset, **picks, "source": source}])
        write_csv(out / "trials.csv", ["kind", "approach", "k", "seed", "rate", "lr", "score", "start"], trials)
        print(f"{args.model} on {args.dataset}: bp {picks['bp']:.4g}, base {picks['base']:.4g}")
        print(f"wrote {out / 'base.csv'} and {out / 'trials.csv'}")
        return
    rows, trials = lr_search.search(args.model, args.width, args.dataset, epochs=args.epochs, seeds=args.seeds,
                                    workers=args.workers)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualgrad", description="Forward-mode AD with k tangent columns and "
                                     "multi-tangent forward gradients (Flügel et al. 2024).", epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also accepted after "
                        "the command)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    experiment = commands.add_parser("experiment", help="reproduce the paper's experiments")
    experiments = experiment.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    _add_experiment_approx(experiments)
    _add_experiment_angles(experiments)
    functions.add_subcommands(experiments)
    fcnet.add_subcommands(experiments)
    sota.add_subcommands(experiments)
    _add_experiment_lr_search(experiments)
    _add_scheduler(experiments)
    _add_train(commands)
    _add_compare(commands)
    _add_bench(commands)
    return parser


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises KeyboardInterrupt("SIGTERM") as Ctrl-C does, so that both keep the last commit."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt("SIGTERM")
    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:                                  # not the main thread: leave SIGTERM alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _resume_command(argv: list[str], out: str) -> str:
    """The command line that continues the run: this one without --overwrite / --resume [DIR], with
    --resume OUT."""
    words, skip = [], False
    for i, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word == "--overwrite" or word.startswith("--resume="):
            continue
        if word == "--resume":
            skip = i + 1 < len(argv) and not argv[i + 1].startswith("-")
            continue
        words.append(word)
    return shlex.join(["dualgrad", *words, "--resume", str(out)])


def _interrupted(args, argv: list[str], signame: str) -> None:
    """What an interrupt left, and the command that continues it."""
    from . import rundir
    prog = f"dualgrad {args.command}"
    out = getattr(args, "out_dir", None)
    if out is None:
        print(f"\n{prog}: interrupted ({signame})", file=sys.stderr)
        return
    dirs = [pathlib.Path(out)] if args.command == "train" else sorted(p for p in pathlib.Path(out).glob("*")
                                                                       if p.is_dir())
    started = [d for d in dirs if (d / rundir.CONFIG).exists()]
    if not started:
        print(f"\n{prog}: interrupted ({signame}) before anything was written; run the command again",
              file=sys.stderr)
        return
    kept = ", ".join(f"{d} at epoch {e}" if (e := rundir.committed_epoch(d)) is not None else f"{d} before epoch 0"
                     for d in started)
    print(f"\n{prog}: interrupted ({signame}); each run is kept at its last commit ({kept}). Continue with:\n"
          f"  {_resume_command(argv, out)}", file=sys.stderr)


def _usage_errors() -> tuple:
    """Errors in what the user asked for (exit status 2; nothing was written)."""
    from .data import CorruptDatasetError, DatasetNotFoundError
    from .errors import BackendUnavailableError, InvalidArgumentError, MissingExtraError, RunDirectoryError
    from .learning_rates import LearningRateNotFound
    return (InvalidArgumentError, RunDirectoryError, DatasetNotFoundError, CorruptDatasetError, LearningRateNotFound,
            MissingExtraError, BackendUnavailableError)


def _parallel(args, parser):
    """The MPI ranks of ``dualgrad train --tangent-parallel``, else this process alone. A process started by an
    MPI launcher without --tangent-parallel would run the whole command as every other rank does, into the same
    files: a usage error on every rank (rank 0 prints it)."""
    from .parallel import SINGLE_PROCESS, TangentParallel, launcher_ranks
    rank, size = launcher_ranks()
    if getattr(args, "tangent_parallel", False):
        ranks = TangentParallel()
        if ranks.size == 1 and size > 1:          # every process alone in its MPI_COMM_WORLD
            if rank == 0:
                from mpi4py import MPI
                library = " ".join(MPI.Get_library_version().splitlines()[0].split())
                parser.error(f"mpiexec started {size} processes, and MPI gives each a world of its own: this "
                             f"mpiexec belongs to another MPI than mpi4py's ({library}). Use that MPI's mpiexec "
                             f"(with the [mpi] extra: {pathlib.Path(sys.executable).parent / 'mpiexec'})")
            raise SystemExit(2)
        return ranks
    if size > 1:
        if rank == 0:
            parser.error(f"this is one of {size} processes started by an MPI launcher (mpiexec, srun), and each "
                         "would run the whole command into the same files: only `dualgrad train ... "
                         "--tangent-parallel` divides its work over MPI ranks (sweeps go to a dask cluster with "
                         "--scheduler; docs/scale-out.md). Otherwise run dualgrad without the launcher")
        raise SystemExit(2)
    return SINGLE_PROCESS


def _report(prog: str, error: Exception, code: int, parallel, debug: bool) -> int:
    """Print ``error`` as one line (with --debug, its traceback first) and return ``code``. dualgrad's own
    errors say what they are; others are named by their type. Under MPI an error raised on every rank at the
    same point (``raised_on_every_rank``: set-up errors, and usage errors, which every rank finds alike) is
    printed by rank 0 alone; any other may have left the other ranks waiting in a collective, so it takes the
    whole job down (MPI_Abort with ``code``)."""
    everywhere = code == 2 or getattr(error, "raised_on_every_rank", False)
    if parallel.is_root or not everywhere:
        if debug:
            traceback.print_exc()
        message = " ".join(str(error).split()) or "(no message)"
        if not type(error).__module__.startswith("dualgrad"):
            message = f"{type(error).__name__}: {message}"
        rank = f" (MPI rank {parallel.rank})" if parallel.size > 1 else ""
        hint = " (--debug shows the traceback)" if code == 1 and not debug else ""
        print(f"{prog}: error{rank}: {message}{hint}", file=sys.stderr, flush=True)
    if parallel.size > 1 and not everywhere:
        parallel.abort(code)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (``EXIT_CODES``). No traceback reaches the user unless
    --debug is given (anywhere on the command line)."""
    from .parallel import SINGLE_PROCESS
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [word for word in argv if word != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:                             # argparse's usage errors (2) and --help (0)
        return e.code if isinstance(e.code, int) else 0
    prog = f"dualgrad {args.command}" + (f" {args.experiment}" if getattr(args, "experiment", None) else "")
    retain_freed_memory()          # this process is ours: keep large freed blocks mapped (backend docstring)
    args.parallel = parallel = SINGLE_PROCESS
    try:
        with _sigterm_as_interrupt():
            args.parallel = parallel = _parallel(args, getattr(args, "parser", parser))
            with _cluster(args, parser):
                return args.run(args) or 0
    except SystemExit as e:                             # parser.error() of a command's own checks
        return e.code if isinstance(e.code, int) else 1
    except KeyboardInterrupt as e:
        if parallel.is_root:
            _interrupted(args, argv, e.args[0] if e.args else "SIGINT")
        return 130
    except _usage_errors() as e:
        return _report(prog, e, 2, parallel, debug)
    except Exception as e:
        return _report(prog, e, 1, parallel, debug)


if __name__ == "__main__":
    raise SystemExit(main())
