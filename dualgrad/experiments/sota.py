"""A residual net and a vision transformer trained with forward gradients (Flügel et al. 2024, §4.5).

    dualgrad experiment sota --out runs/sota                            # resnet and vit on mnist-5k, 5 epochs
    dualgrad experiment sota --model resnet vit --dataset mnist-5k digits --out runs/sota
    dualgrad experiment sota --quick --out runs/sota-quick              # digits, seed 0, 2 epochs: seconds
    rows, curves = run_sota(models=("vit",), datasets=("digits",), seeds=(0,), out="runs/x")

The paper trains torchvision's ResNet18 (11 M parameters) and a 6-layer ViT (4.8 M) on MNIST and CIFAR-10;
on a 2-core CPU this runs the small models of ``dualgrad.nn`` in the same shapes (docs/paper.md, §4.5):

- ``resnet``: ``nn.ResNetSmall``, a 3×3 stem with 8 channels (stride 2 on 28×28 images, as ResNet's stem
  downsamples) and three stages of one basic block each (8, 16, 32 channels; BatchNorm on batch statistics),
  global average pool, linear head: 19,810 parameters; its blocks (the paper's "wide" grouping: stem, each
  stage, head) give n = 4,442 activities per 28×28 sample (1,418 per 8×8 digit);
- ``vit``: ``nn.ViTSmall``, patch 4 (2 on 8×8 images), width 32, 2 pre-LN layers of 2 heads, MLP 64, class
  token, learned positions, zero-initialised head: 19,658 parameters; blocks [embed, layer 1], [layer 2,
  head] (the paper's "wide_1" grouping), n = 1,610 per 28×28 sample (554 per 8×8 digit);
- approaches ``CONFIGS``: bp, fg, mean k = 16, frog k = 16, and frog k = 2 and 4; activity perturbation with
  Gaussian tangents; seeds 0, 1, 2;
- the paper's training for these networks (``networks.PAPER_TRAINING``, as for the FC nets: plain SGD without
  momentum or weight decay, constant learning rate, batch 64, early stopping on the validation loss with
  patience 10, abort at a training loss ≥ 10 or NaN), at most ``EPOCHS`` epochs: 5 on mnist-5k and 40 on
  the digits, 235 and 680 steps (the paper: at most 200 epochs of 780 steps). Five epochs was the plan for
  a shared 2-core machine (a k = 16 step of 64 images takes 0.13 s for resnet and 0.19 s for vit on one
  idle core); the 36 runs of the default grid take about 14 CPU-minutes (docs/experiments/sota.md);
- learning rates from ``learning_rates.default_lr``: bp's rate and one base rate per model and dataset,
  scaled to each estimator and k, both from ``dualgrad experiment lr-search --base`` started from the paper's
  tuned values (docs/experiments/sota.md).

A run is a function of (dataset, model, approach, k, seed) alone (``networks``). ``run_sota(out=DIR)`` writes
``DIR/sota.csv`` (``COLUMNS``), ``DIR/sota_curves.csv`` (``CURVE_COLUMNS``, every epoch of every run), with
matplotlib ``sota_curves.png`` and ``sota_k.png``, and keeps each finished run in ``DIR/runs/``: the same
command run again after an interruption trains only the runs that had not finished.
"""
from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

from ..approaches import pairs
from ..argtypes import directory, non_negative_int, positive_int
from ..data import LOADERS
from ..train import FIELDS
from . import networks
from .networks import Grid
from .report import plot_or_skip
from .sweep import where

KEYS = ("dataset", "model", "approach", "k", "seed")
COLUMNS = (*KEYS, *networks.RESULT_COLUMNS)
CURVE_COLUMNS = (*KEYS, *FIELDS)
TIMING_COLUMNS = networks.TIMING_COLUMNS

MODELS = ("resnet", "vit")
WIDTH = 8                                                      # the ResNet's stem channels (vit has no width)
DATASETS = ("mnist-5k",)
APPROACHES = ("bp", "fg", "mean", "frog")
CONFIGS = (("bp", None), ("fg", 1), ("mean", 16), ("frog", 2), ("frog", 4), ("frog", 16))
PAPER_SEEDS = (0, 1, 2)
EPOCHS = {"mnist-5k": 5, "digits": 40}                         # else DEFAULT_EPOCHS
DEFAULT_EPOCHS = 20
QUICK = {"datasets": ("digits",), "seeds": (0,), "epochs": 2,
         "configs": (("bp", None), ("fg", 1), ("mean", 16), ("frog", 16))}


def column(row: dict) -> str:
    """The table column of a row: model and dataset."""
    return f"{row['model']} {row['dataset']}"


def plan(models: Sequence[str] = MODELS, datasets: Sequence[str] = DATASETS, configs: Sequence = CONFIGS,
         seeds: Sequence[int] = PAPER_SEEDS, epochs: int | None = None, data_dir=None) -> list[networks.Run]:
    """Every (dataset, model, approach, k, seed) of the grid, at most ``epochs`` epochs each (default: ``EPOCHS`` of
    the dataset). Loads each dataset first (a missing one raises before any work)."""
    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; choose from {MODELS}")
    runs = []
    for dataset in dict.fromkeys(datasets):
        cap = epochs or EPOCHS.get(dataset, DEFAULT_EPOCHS)
        grids = [Grid(m, WIDTH, tuple(configs), tuple(sorted(set(seeds))), cap) for m in dict.fromkeys(models)]
        runs += networks.plan(dataset, grids, data_dir)
    return runs


def run_sota(models: Sequence[str] = MODELS, datasets: Sequence[str] = DATASETS, configs: Sequence = CONFIGS,
             seeds: Sequence[int] = PAPER_SEEDS, epochs: int | None = None, data_dir=None, executor=None,
             workers: int | None = None, progress: bool = True, out=None,
             plots: bool = True) -> tuple[list[dict], list[dict]]:
    """The §4.5 grid (``plan``) on ``executor`` (default: a process pool of ``workers``, see ``sweep.run_jobs``),
    longest runs first. Returns (rows, curve rows) in plan order; with ``out`` writes the CSVs and (``plots``,
    matplotlib) the figures of the module docstring."""
    runs = plan(models, datasets, configs, seeds, epochs, data_dir)
    saved = None if out is None else pathlib.Path(out) / "runs"          # finished runs: an interrupted grid resumes
    rows, curves = networks.run_grid(runs, executor, workers, progress, "sota", saved)
    if out is not None:
        out = networks.write(out, "sota", KEYS, rows, curves)
        if plots:
            plot_or_skip(plot_sota, rows, curves, out)
    return rows, curves


def read_results(directory) -> tuple[list[dict], list[dict]]:
    """(rows, curve rows) from ``directory/sota.csv`` and ``sota_curves.csv``, typed as ``run_sota`` returns them."""
    return networks.read(directory, "sota")


def plot_sota(rows: Sequence[dict], curves: Sequence[dict], out_dir) -> list[pathlib.Path]:
    """``sota_curves.png`` (test accuracy against epoch, a row of panels per model and dataset) and ``sota_k.png``
    (test accuracy against k, a panel per model and dataset)."""
    out_dir = pathlib.Path(out_dir)
    return [networks.plot_curves(rows, curves, column, out_dir / "sota_curves.png"),
            networks.plot_k(rows, column, out_dir / "sota_k.png")]


# ----- the command line -----------------------------------------------------------------------------------------
def add_subcommands(subparsers) -> None:
    """Add ``sota`` to an argparse subparsers object (``dualgrad experiment sota``); sets ``run``."""
    p = subparsers.add_parser(
        "sota", help="§4.5: a small ResNet and a small ViT trained with bp, fg, mean, frog (mnist-5k, digits)",
        description="The paper's ResNet/ViT experiment (Flügel et al. 2024, §4.5) with the small residual net and "
                    "vision transformer of dualgrad.nn: activity perturbation, plain SGD, batch 64, early stopping "
                    "on the validation loss, learning rates from learning_rates.default_lr. Writes OUT/sota.csv, "
                    "OUT/sota_curves.csv and plots; prints the mean ± std test accuracy over seeds. Finished runs "
                    "are kept in OUT/runs/: run an interrupted command again and it goes on where it stopped.")
    p.add_argument("--model", nargs="+", choices=MODELS, default=MODELS, help="default: resnet vit")
    p.add_argument("--dataset", nargs="+", choices=sorted(LOADERS),
                   help="mnist-5k (default; extra [datasets]), digits (bundled; the --quick default), ...")
    p.add_argument("--data-dir", type=directory,
                   help="directory with downloaded datasets (default $DUALGRAD_DATA or ./data)")
    p.add_argument("--approach", nargs="+", choices=APPROACHES,
                   help="with --k: every approach with every k (default: bp, fg, mean k=16, frog k=2 4 16)")
    p.add_argument("--k", nargs="+", type=positive_int, help="tangents for mean and frog (with --approach; default 16)")
    p.add_argument("--seeds", nargs="+", type=non_negative_int, help="default 0 1 2")
    p.add_argument("--epochs", type=positive_int, help=f"epoch cap (default {EPOCHS}, else {DEFAULT_EPOCHS})")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK['datasets'][0]} (unless --dataset), seed 0, {QUICK['epochs']} epochs, "
                        "bp, fg, mean and frog k=16")
    p.add_argument("--workers", type=positive_int, help="processes (default: all cores; 1 = this process)")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the plots")
    p.add_argument("--out", type=directory, default="runs/sota", help="output directory (default runs/sota)")
    p.set_defaults(run=_sota_command)


def _sota_command(args) -> None:
    start = time.perf_counter()
    defaults = QUICK if args.quick else {"datasets": DATASETS, "seeds": PAPER_SEEDS, "epochs": None,
                                         "configs": CONFIGS}
    configs = defaults["configs"]
    if args.approach or args.k:
        configs = pairs(args.approach or APPROACHES, args.k or (16,))
    rows, _ = run_sota(args.model, args.dataset or defaults["datasets"], configs, args.seeds or defaults["seeds"],
                       args.epochs or defaults["epochs"], args.data_dir, workers=args.workers, out=args.out,
                       plots=args.plots)
    print("\ntest accuracy (%) at the best-validation epoch, mean ± std over seeds")
    print(networks.accuracy_table(rows, column))
    print("\nepochs run / best-validation epoch, mean over seeds (how the runs stopped)")
    print(networks.epochs_table(rows, column))
    print(f"({networks.stops(rows)})")
    print("\nlearning rates (source)")
    print(networks.lr_table(rows, column))
    seconds = time.perf_counter() - start
    print(f"\n{len(rows)} runs: {networks.cpu_hours(rows) * 60:.1f} CPU minutes, {seconds / 60:.1f} min on "
          f"{where(args.workers)}; wrote {pathlib.Path(args.out) / 'sota.csv'} and sota_curves.csv")
