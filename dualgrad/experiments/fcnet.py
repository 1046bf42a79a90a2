"""Fully-connected networks trained with forward gradients (Flügel et al. 2024, §4.4).

    dualgrad experiment fcnet --out runs/fcnet                 # W ∈ {256, 1024} + the W = 4096 subset, digits
    dualgrad experiment fcnet --quick --out runs/fcnet-quick   # W = 256, 2 epochs, seed 0: seconds
    dualgrad experiment fcnet --dataset mnist --data-dir data  # MNIST from its IDX files
    rows, curves = run_fcnet(widths=(256,), seeds=(0,), subset=None, out="runs/x")

The setup is the paper's (docs/paper.md, section 5.4), run by ``experiments.networks``:

- the model is ``nn.FCNet`` with two hidden layers of width W: [Flatten, Linear, ReLU], [Linear, ReLU], [Linear];
- approaches: ``bp`` (the exact gradient), ``fg`` (one tangent), ``mean`` and ``frog`` (the orthogonal
  projection) with k ∈ {2, 4, 16}; activity perturbation with Gaussian tangents and one global tangent over the
  n = 2W + 10 activities of a sample (``gradients.ActivityPerturbation``);
- the paper's training (``networks.PAPER_TRAINING``: plain SGD, batch 64, early stopping, abort at a training
  loss ≥ 10 or NaN), at most 200 epochs;
- learning rates from ``learning_rates.default_lr`` (bp's rate, and one base rate per dataset scaled to each
  estimator, k and width), recorded with their source;
- seeds 0, 1, 2; a run is a function of (dataset, W, approach, k, seed) alone (``networks``);
- W = 4096 runs on a subset (``SUBSET``): fewer approaches, one seed, a lower epoch cap.

Every run is one job of ``sweep.run_jobs`` (any Executor; one BLAS thread per worker). ``run_fcnet(out=DIR)``
writes ``DIR/fcnet.csv`` (``COLUMNS``, one row per run, the metrics at the epoch with the lowest validation
loss), ``DIR/fcnet_curves.csv`` (``CURVE_COLUMNS``, every epoch of every run, epoch 0 = before training),
with matplotlib ``fcnet_curves.png`` and ``fcnet_k.png``, and keeps each finished run in ``DIR/runs/``: the
same command run again after an interruption trains only the runs that had not finished.
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

KEYS = ("dataset", "width", "approach", "k", "seed")
COLUMNS = (*KEYS, *networks.RESULT_COLUMNS)
CURVE_COLUMNS = (*KEYS, *FIELDS)
TIMING_COLUMNS = networks.TIMING_COLUMNS

APPROACHES = ("bp", "fg", "mean", "frog")
PAPER_WIDTHS = (256, 1024)
PAPER_K = (2, 4, 16)                                           # for mean and frog; fg is k = 1, bp has none
PAPER_SEEDS = (0, 1, 2)
MAX_EPOCHS = 200
QUICK = {"widths": (256,), "seeds": (0,), "epochs": 2}         # --quick: the paper's smallest width

#: W = 4096 is 7.5x the parameters of W = 1024 and ~10-15x its time per epoch on the CPU (an epoch of frog k = 16
#: takes ~20-35 s on one core of the 2-core test machine), so: the extremes of k, one seed, 30 epochs.
SUBSET = Grid("fcnet", 4096, (("bp", None), ("fg", 1), ("mean", 16), ("frog", 16)), (0,), 30)


def width(row: dict) -> str:
    """The table column of a row: its width."""
    return f"W={row['width']}"


def plan(dataset: str = "digits", widths: Sequence[int] = PAPER_WIDTHS, approaches: Sequence[str] = APPROACHES,
         ks: Sequence[int] = PAPER_K, seeds: Sequence[int] = PAPER_SEEDS, epochs: int = MAX_EPOCHS,
         subset: Grid | None = SUBSET, data_dir=None) -> list[networks.Run]:
    """The runs of the grid: every (width, approach, k, seed) of ``widths`` × ``approaches.pairs(approaches, ks)`` ×
    ``seeds`` with at most ``epochs`` epochs, then the ``subset`` (unless its width is already in ``widths``)."""
    configs, seeds = tuple(pairs(approaches, ks)), tuple(sorted(set(seeds)))
    grids = [Grid("fcnet", w, configs, seeds, epochs) for w in sorted(set(widths))]
    if subset is not None and subset.width not in widths:
        grids.append(subset)
    return networks.plan(dataset, grids, data_dir)


def run_fcnet(dataset: str = "digits", widths: Sequence[int] = PAPER_WIDTHS, approaches: Sequence[str] = APPROACHES,
              ks: Sequence[int] = PAPER_K, seeds: Sequence[int] = PAPER_SEEDS, epochs: int = MAX_EPOCHS,
              subset: Grid | None = SUBSET, data_dir=None, executor=None, workers: int | None = None,
              progress: bool = True, out=None, plots: bool = True) -> tuple[list[dict], list[dict]]:
    """The §4.4 grid (``plan``) on ``executor`` (default: a process pool of ``workers``, see ``sweep.run_jobs``),
    longest runs first. Returns (rows, curve rows) in plan order; with ``out`` writes the CSVs and (``plots``,
    matplotlib) the figures of the module docstring."""
    runs = plan(dataset, widths, approaches, ks, seeds, epochs, subset, data_dir)
    saved = None if out is None else pathlib.Path(out) / "runs"          # finished runs: an interrupted grid resumes
    rows, curves = networks.run_grid(runs, executor, workers, progress, "fcnet", saved)
    if out is not None:
        out = networks.write(out, "fcnet", KEYS, rows, curves)
        if plots:
            plot_or_skip(plot_fcnet, rows, curves, out)
    return rows, curves


def read_results(directory) -> tuple[list[dict], list[dict]]:
    """(rows, curve rows) from ``directory/fcnet.csv`` and ``fcnet_curves.csv``, typed as ``run_fcnet`` returns them
    (k None for bp), e.g. to tabulate or plot a finished grid again."""
    return networks.read(directory, "fcnet")


def accuracy_table(rows: Sequence[dict], markdown: bool = False) -> str:
    """Test accuracy (%) at the best-validation epoch, mean ± std over seeds, one line per approach, one column
    per width."""
    return networks.accuracy_table(rows, width, markdown)


def lr_table(rows: Sequence[dict], markdown: bool = False) -> str:
    """The learning rate of every (approach, width) cell and where it comes from."""
    return networks.lr_table(rows, width, markdown)


def epochs_table(rows: Sequence[dict], markdown: bool = False) -> str:
    """Epochs run (mean over seeds), best epoch (mean) and how the runs stopped, per approach and width."""
    return networks.epochs_table(rows, width, markdown)


def plot_fcnet(rows: Sequence[dict], curves: Sequence[dict], out_dir) -> list[pathlib.Path]:
    """``fcnet_curves.png`` (test accuracy against epoch, a row of panels per width) and ``fcnet_k.png`` (test
    accuracy against k, a panel per width); see ``networks.plot_curves`` and ``networks.plot_k``."""
    def titled(row):
        return f"W = {row['width']}, n = {2 * row['width'] + 10}"
    out_dir = pathlib.Path(out_dir)
    return [networks.plot_curves(rows, curves, titled, out_dir / "fcnet_curves.png"),
            networks.plot_k(rows, titled, out_dir / "fcnet_k.png")]


# ----- the command line -----------------------------------------------------------------------------------------
def add_subcommands(subparsers) -> None:
    """Add ``fcnet`` to an argparse subparsers object (``dualgrad experiment fcnet``); sets ``run``."""
    p = subparsers.add_parser(
        "fcnet", help="§4.4: FC nets (W = 256, 1024; 4096 on a subset) trained with bp, fg, mean, frog",
        description="The paper's fully-connected-network experiment (Flügel et al. 2024, §4.4): FCNet with two "
                    "hidden layers, activity perturbation, plain SGD, batch 64, early stopping on the validation "
                    "loss, learning rates from learning_rates.default_lr. Writes OUT/fcnet.csv, OUT/fcnet_curves.csv "
                    "and plots; prints the mean ± std test accuracy over seeds.")
    p.add_argument("--dataset", choices=sorted(LOADERS), default="digits",
                   help="digits (bundled, default) or mnist (IDX files under --data-dir), ...")
    p.add_argument("--data-dir", type=directory,
                   help="directory with downloaded datasets (default $DUALGRAD_DATA or ./data)")
    p.add_argument("--width", nargs="+", type=positive_int,
                   help=f"hidden widths of the full grid (default {PAPER_WIDTHS})")
    p.add_argument("--no-subset", dest="subset", action="store_false",
                   help=f"skip the W = {SUBSET.width} subset ({SUBSET.describe()})")
    p.add_argument("--approach", nargs="+", choices=APPROACHES, default=APPROACHES)
    p.add_argument("--k", nargs="+", type=positive_int, default=PAPER_K,
                   help="tangents for mean and frog (default 2 4 16)")
    p.add_argument("--seeds", nargs="+", type=non_negative_int, help="default 0 1 2")
    p.add_argument("--epochs", type=positive_int,
                   help=f"epoch cap of the full grid (default {MAX_EPOCHS}, the paper's)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: W {QUICK['widths']}, seed 0, {QUICK['epochs']} epochs, no subset")
    p.add_argument("--workers", type=positive_int, help="processes (default: all cores; 1 = this process)")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the plots")
    p.add_argument("--out", type=directory, default="runs/fcnet", help="output directory (default runs/fcnet)")
    p.set_defaults(run=_fcnet_command)


def _fcnet_command(args) -> None:
    start = time.perf_counter()
    defaults = QUICK if args.quick else {"widths": PAPER_WIDTHS, "seeds": PAPER_SEEDS, "epochs": MAX_EPOCHS}
    widths = args.width or defaults["widths"]
    subset = SUBSET if args.subset and not args.quick and SUBSET.width not in widths else None
    rows, _ = run_fcnet(args.dataset, widths, args.approach, args.k, args.seeds or defaults["seeds"],
                        args.epochs or defaults["epochs"], subset, args.data_dir, workers=args.workers,
                        out=args.out, plots=args.plots)
    print(f"\n{args.dataset}: test accuracy (%) at the best-validation epoch, mean ± std over seeds")
    print(accuracy_table(rows))
    if subset is not None:
        print(f"(W = {subset.width} on a subset: {subset.describe()})")
    print("\nepochs run / best-validation epoch, mean over seeds (how the runs stopped)")
    print(epochs_table(rows))
    print(f"({networks.stops(rows)})")
    print("\nlearning rates (source)")
    print(lr_table(rows))
    seconds = time.perf_counter() - start
    print(f"\n{len(rows)} runs: {networks.cpu_hours(rows) * 60:.1f} CPU minutes, {seconds / 60:.1f} min on "
          f"{where(args.workers)}; wrote {pathlib.Path(args.out) / 'fcnet.csv'} and fcnet_curves.csv")
