"""Fully-connected networks trained with forward gradients (Flügel et al. 2024, §4.4).

    dualgrad experiment fcnet --out runs/fcnet                 # W ∈ {256, 1024} + the W = 4096 subset, digits
    dualgrad experiment fcnet --quick --out runs/fcnet-quick   # W = 256, 2 epochs, seed 0: seconds
    dualgrad experiment fcnet --dataset mnist --data-dir data  # MNIST from its IDX files
    rows, curves = run_fcnet(widths=(256,), seeds=(0,), subset=None, out="runs/x")

The setup is the paper's (docs/paper.md, section 5.4):

- the model is ``nn.FCNet`` with two hidden layers of width W: [Flatten, Linear, ReLU], [Linear, ReLU], [Linear];
- approaches: ``bp`` (the exact gradient), ``fg`` (one tangent), ``mean`` and ``frog`` (the orthogonal
  projection) with k ∈ {2, 4, 16}; activity perturbation with Gaussian tangents and one global tangent over the
  n = 2W + 10 activities of a sample (``gradients.ActivityPerturbation``);
- plain SGD (no momentum, no weight decay, constant lr), batch 64, at most 200 epochs, early stopping on the
  validation loss (patience 10, min_delta 0), abort at a training loss ≥ 10 or NaN (``PAPER_TRAINING``);
- learning rates from ``recipes.default_lr`` (its tuned tables, else its rule), recorded with their source;
- seeds 0, 1, 2. A seed fixes the initialisation (``rng [seed, 3]``, as ``dualgrad train --seed``), the data order
  and the tangent stream (``train.fit``); all approaches of a seed start from the same network and see the same
  batches (the paper's ``torch.manual_seed(seed)``), so a run is a function of (dataset, W, approach, k, seed)
  alone, whatever worker computes it;
- W = 4096 runs on a subset (``SUBSET``): fewer approaches, one seed, a lower epoch cap.

Every run is one job of ``sweep.run_jobs`` (any Executor; one BLAS thread per worker). ``run_fcnet(out=DIR)``
writes ``DIR/fcnet.csv`` (``COLUMNS``, one row per run, the metrics at the epoch with the lowest validation
loss), ``DIR/fcnet_curves.csv`` (``CURVE_COLUMNS``, every epoch of every run, epoch 0 = before training) and,
with matplotlib, ``fcnet_curves.png`` and ``fcnet_k.png``.
"""
from __future__ import annotations

import csv
import functools
import pathlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..data import LOADERS, load
from ..gradients import num_activities
from ..recipes import build_model, default_lr
from ..train import FIELDS, TrainConfig, fit
from .functions import _label, _plot, _style
from .sweep import render_table, run_jobs, where, write_csv

COLUMNS = ("dataset", "width", "approach", "k", "seed", "lr", "lr_source", "epochs_run", "stopped", "best_epoch",
           "test_acc", "val_acc", "test_loss", "train_loss", "seconds")
CURVE_COLUMNS = ("dataset", "width", "approach", "k", "seed", *FIELDS)
TIMING_COLUMNS = ("seconds",)                                  # the only columns that differ between equal runs

APPROACHES = ("bp", "fg", "mean", "frog")
GRADIENT = {"bp": ("exact", "projection"), "fg": ("activity", "mean"), "mean": ("activity", "mean"),
            "frog": ("activity", "projection")}                # approach -> (gradient source, aggregation)
PAPER_WIDTHS = (256, 1024)
PAPER_K = (2, 4, 16)                                           # for mean and frog; fg is k = 1, bp has none
PAPER_SEEDS = (0, 1, 2)
MAX_EPOCHS = 200
PAPER_TRAINING = {"optimizer": "sgd", "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "constant",
                  "batch_size": 64, "patience": 10, "min_delta": 0.0, "loss_bound": 10.0}
QUICK = {"widths": (256,), "seeds": (0,), "epochs": 2}         # --quick: the paper's smallest width, tuned lrs


@dataclass(frozen=True)
class Subset:
    """A width run on part of the grid only: ``configs`` (approach, k) pairs, ``seeds``, at most ``epochs``."""
    width: int
    configs: tuple
    seeds: tuple
    epochs: int

    def describe(self) -> str:
        labels = ", ".join(_label({"approach": a, "k": k}) for a, k in self.configs)
        seeds = ", ".join(map(str, self.seeds))
        return f"W = {self.width} on a subset: {labels}; seed{'s' if len(self.seeds) > 1 else ''} {seeds}; " \
               f"at most {self.epochs} epochs"


#: W = 4096 is 7.5x the parameters of W = 1024 and ~10-15x its time per epoch on the CPU (an epoch of frog k = 16
#: takes ~20-35 s on one core of the 2-core test machine), so: the extremes of k, one seed, 30 epochs.
SUBSET = Subset(4096, (("bp", None), ("fg", 1), ("mean", 16), ("frog", 16)), (0,), 30)


@dataclass(frozen=True)
class Run:
    """One training run; ``k`` is None for bp."""
    dataset: str
    width: int
    approach: str
    k: int | None
    seed: int
    lr: float
    lr_source: str
    epochs: int
    data_dir: str | None = None


def configs(approaches: Sequence[str] = APPROACHES, ks: Sequence[int] = PAPER_K) -> list[tuple[str, int | None]]:
    """(approach, k) pairs in the paper's order: bp, fg (k = 1), mean with each k, frog with each k."""
    unknown = set(approaches) - set(APPROACHES)
    if unknown:
        raise ValueError(f"unknown approaches {sorted(unknown)}; choose from {APPROACHES}")
    pairs = []
    for approach in APPROACHES:
        if approach in approaches:
            pairs += [(approach, k) for k in {"bp": (None,), "fg": (1,)}.get(approach, sorted(set(ks)))]
    return pairs


def learning_rate(dataset: str, width: int, approach: str, k: int | None, n: int) -> tuple[float, str]:
    """(lr, source) from ``recipes.default_lr`` for the FC net of ``width`` with n activities per sample."""
    grad, method = GRADIENT[approach]
    return default_lr("fcnet", width, dataset, grad, method, k or 1, n)


# ----- one run ---------------------------------------------------------------------------------------------------
@functools.cache
def _splits(dataset: str, data_dir: str | None):
    """The dataset, loaded once per worker process (training never writes to it)."""
    return load(dataset, data_dir)


def _stop_reason(stopped: str) -> str:
    """``train.fit``'s sentence as a word: diverged, early-stop or epoch-cap."""
    if stopped.startswith("diverged"):
        return "diverged"
    return "early-stop" if stopped.startswith("early stopping") else "epoch-cap"


def execute(run: Run) -> tuple[dict, list[dict]]:
    """Train one run; returns its ``COLUMNS`` row and its per-epoch ``CURVE_COLUMNS`` rows."""
    splits = _splits(run.dataset, run.data_dir)
    net = build_model("fcnet", splits.train.input_shape, splits.train.classes, width=run.width,
                      rng=np.random.default_rng([run.seed, 3]))
    grad, method = GRADIENT[run.approach]
    cfg = TrainConfig(grad=grad, method=method, k=run.k or 1, lr=run.lr, epochs=run.epochs, seed=run.seed,
                      threads=1, **PAPER_TRAINING)
    history = fit(net, splits, cfg, progress=False)
    key = {"dataset": run.dataset, "width": run.width, "approach": run.approach, "k": run.k, "seed": run.seed}
    best = history.best()
    row = key | {"lr": run.lr, "lr_source": run.lr_source, "epochs_run": history.final()["epoch"],
                 "stopped": _stop_reason(history.stopped), "best_epoch": best["epoch"],
                 "test_acc": best["test_acc"], "val_acc": best["val_acc"], "test_loss": best["test_loss"],
                 "train_loss": best["train_loss"], "seconds": history.final()["seconds"]}
    return row, [key | r for r in history.rows]


def _cost(run: Run) -> float:
    """A rough cost model (load balance only: the longest runs are submitted first): per step, the k + 1
    columns of the W×W GEMM (the exact gradient's backward counts as one more)."""
    return run.epochs * run.width ** 2 * (2 if run.k is None else run.k + 1)


# ----- the grid ---------------------------------------------------------------------------------------------------
def plan(dataset: str = "digits", widths: Sequence[int] = PAPER_WIDTHS, approaches: Sequence[str] = APPROACHES,
         ks: Sequence[int] = PAPER_K, seeds: Sequence[int] = PAPER_SEEDS, epochs: int = MAX_EPOCHS,
         subset: Subset | None = SUBSET, data_dir=None) -> list[Run]:
    """The runs of the grid: every (width, approach, k, seed) of ``widths`` × ``configs(approaches, ks)`` ×
    ``seeds`` with at most ``epochs`` epochs, then the ``subset`` (unless its width is already in ``widths``).
    Loads the dataset (a missing one raises ``DatasetNotFoundError`` here, before any work) to size the models."""
    data_dir = None if data_dir is None else str(data_dir)
    splits = _splits(dataset, data_dir)
    grids = [(w, configs(approaches, ks), sorted(set(seeds)), epochs) for w in sorted(set(widths))]
    if subset is not None and subset.width not in widths:
        grids.append((subset.width, list(subset.configs), list(subset.seeds), subset.epochs))
    runs = []
    for width, pairs, width_seeds, cap in grids:
        net = build_model("fcnet", splits.train.input_shape, splits.train.classes, width=width,
                          rng=np.random.default_rng(0))
        n = num_activities(net, splits.train.input_shape)                  # 2W + classes
        for approach, k in pairs:
            lr, source = learning_rate(dataset, width, approach, k, n)
            runs += [Run(dataset, width, approach, k, seed, lr, source, cap, data_dir) for seed in width_seeds]
    return runs


def run_fcnet(dataset: str = "digits", widths: Sequence[int] = PAPER_WIDTHS, approaches: Sequence[str] = APPROACHES,
              ks: Sequence[int] = PAPER_K, seeds: Sequence[int] = PAPER_SEEDS, epochs: int = MAX_EPOCHS,
              subset: Subset | None = SUBSET, data_dir=None, executor=None, workers: int | None = None,
              progress: bool = True, out=None, plots: bool = True) -> tuple[list[dict], list[dict]]:
    """The §4.4 grid (``plan``) on ``executor`` (default: a process pool of ``workers``, see ``sweep.run_jobs``),
    longest runs first. Returns (rows, curve rows) in plan order; with ``out`` writes the CSVs and (``plots``,
    matplotlib) the figures of the module docstring."""
    runs = plan(dataset, widths, approaches, ks, seeds, epochs, subset, data_dir)
    order = sorted(range(len(runs)), key=lambda i: -_cost(runs[i]))
    results = dict(zip(order, run_jobs(execute, [runs[i] for i in order], executor, workers, progress, "fcnet")))
    rows = [results[i][0] for i in range(len(runs))]
    curves = [r for i in range(len(runs)) for r in results[i][1]]
    if out is not None:
        out = pathlib.Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(out / "fcnet.csv", COLUMNS, rows)
        write_csv(out / "fcnet_curves.csv", CURVE_COLUMNS, curves)
        if plots:
            _plot(plot_fcnet, rows, curves, out)
    return rows, curves


def read_results(directory) -> tuple[list[dict], list[dict]]:
    """(rows, curve rows) from ``directory/fcnet.csv`` and ``fcnet_curves.csv``, typed as ``run_fcnet`` returns them
    (k None for bp), e.g. to tabulate or plot a finished grid again."""
    text = {"dataset", "approach", "lr_source", "stopped"}
    integer = {"width", "seed", "epochs_run", "best_epoch", "epoch"}

    def typed(row):
        return {c: v if c in text else (int(v) if v else None) if c in integer | {"k"} else float(v)
                for c, v in row.items()}
    directory = pathlib.Path(directory)
    with open(directory / "fcnet.csv", newline="") as fh:
        rows = [typed(r) for r in csv.DictReader(fh)]
    with open(directory / "fcnet_curves.csv", newline="") as fh:
        curves = [typed(r) for r in csv.DictReader(fh)]
    return rows, curves


# ----- tables -------------------------------------------------------------------------------------------------------
def _cells(rows, fmt) -> tuple[list[str], list[list[str]]]:
    """A header (one column per width) and one line per approach label; ``fmt(runs)`` formats one cell."""
    widths = sorted({r["width"] for r in rows})
    labels = list(dict.fromkeys(_label(r) for r in rows))
    body = []
    for label in labels:
        line = [label]
        for w in widths:
            cell = [r for r in rows if _label(r) == label and r["width"] == w]
            line.append(fmt(cell) if cell else "")
        body.append(line)
    return ["approach"] + [f"W={w}" for w in widths], body


def _accuracy(runs) -> str:
    """mean ± std (ddof 1) of the test accuracy in percent; ``(1 seed)`` where there is one run."""
    acc = 100 * np.array([r["test_acc"] for r in runs])
    if len(acc) == 1:
        return f"{acc[0]:.1f} (1 seed)"
    return f"{acc.mean():.1f} ± {acc.std(ddof=1):.1f}"


def accuracy_table(rows: Sequence[dict], markdown: bool = False) -> str:
    """Test accuracy (%) at the best-validation epoch, mean ± std over seeds, one line per approach, one column
    per width."""
    return render_table(*_cells(rows, _accuracy), markdown)


def lr_table(rows: Sequence[dict], markdown: bool = False) -> str:
    """The learning rate of every (approach, width) cell and where it comes from."""
    def fmt(runs):
        return f"{runs[0]['lr']:.3g} ({runs[0]['lr_source']})"
    return render_table(*_cells(rows, fmt), markdown)


def epochs_table(rows: Sequence[dict], markdown: bool = False) -> str:
    """Epochs run (mean over seeds), best epoch (mean) and how the runs stopped, per approach and width."""
    def fmt(runs):
        stops = ", ".join(f"{n}× {s}" for s, n in sorted(Counter(r["stopped"] for r in runs).items()))
        return (f"{np.mean([r['epochs_run'] for r in runs]):.0f} / {np.mean([r['best_epoch'] for r in runs]):.0f}"
                f" ({stops})")
    return render_table(*_cells(rows, fmt), markdown)


# ----- plots (matplotlib is the optional extra "plot") ----------------------------------------------------------
def plot_fcnet(rows: Sequence[dict], curves: Sequence[dict], out_dir) -> list[pathlib.Path]:
    """``fcnet_curves.png``: test accuracy against epoch, every run a line (× where it diverged), one row of panels
    per width, the mean's runs left and frog's right, bp and fg in both; ``fcnet_k.png``: test accuracy at the
    best-validation epoch against k for mean and frog (mean ± std over seeds; at k = 1 both are fg), bp as a
    line, one panel per width."""
    from matplotlib.figure import Figure
    widths = sorted({r["width"] for r in rows})
    fig = Figure(figsize=(9.2, 3.4 * len(widths)), layout="constrained")
    for panels, w in zip(fig.subplots(len(widths), 2, squeeze=False), widths):
        for ax, aggregation in zip(panels, ("mean", "frog")):
            for row in rows:
                if row["width"] != w or row["approach"] not in ("bp", "fg", aggregation):
                    continue
                run = [c for c in curves if all(c[key] == row[key] for key in ("width", "approach", "k", "seed"))]
                style = _style(row["approach"], row["k"]) | {"lw": 0.9}
                label = _label(row) if row["seed"] == min(r["seed"] for r in rows if r["width"] == w) else None
                ax.plot([c["epoch"] for c in run], [c["test_acc"] for c in run], label=label, **style)
                if row["stopped"] == "diverged":
                    ax.plot(run[-1]["epoch"], run[-1]["test_acc"], "x", color=style["color"], ms=6)
            seeds = len({r["seed"] for r in rows if r["width"] == w})
            ax.set(title=f"W = {w}: {aggregation} ({seeds} seed{'s' if seeds > 1 else ''} per approach)",
                   xlabel="epoch", ylabel="test accuracy", ylim=(0, 1))
            ax.legend(fontsize=7, loc="lower right")
    paths = [pathlib.Path(out_dir) / "fcnet_curves.png"]
    fig.savefig(paths[0], dpi=100)

    fig = Figure(figsize=(4.2 * len(widths), 3.6), layout="constrained")
    for ax, w in zip(fig.subplots(1, len(widths), squeeze=False)[0], widths):
        acc: dict = {}                                                   # (approach, k) -> test accuracies
        for r in rows:
            if r["width"] == w:
                acc.setdefault((r["approach"], r["k"]), []).append(r["test_acc"])
        if ("bp", None) in acc:
            ax.axhline(np.mean(acc["bp", None]), **_style("bp", None), label="bp")
        for approach in ("mean", "frog"):
            ks = sorted(k for a, k in acc if a == approach)
            if not ks:
                continue
            ks = ([1] if ("fg", 1) in acc else []) + ks                     # fg: the mean (and frog) of k = 1
            points = [acc["fg" if k == 1 else approach, k] for k in ks]
            ax.errorbar(ks, [np.mean(p) for p in points], yerr=[np.std(p, ddof=1) if len(p) > 1 else 0 for p in points],
                        marker="o", capsize=3, label=approach, **_style(approach, max(ks)))
        ticks = sorted({k for _, k in acc if k is not None})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(k) for k in ticks])
        ax.set(title=f"W = {w}, n = {2 * w + 10}", xlabel="k (k = 1: fg)", ylabel="test accuracy")
        ax.legend(fontsize=7)
    paths.append(pathlib.Path(out_dir) / "fcnet_k.png")
    fig.savefig(paths[1], dpi=100)
    return paths


# ----- the command line -----------------------------------------------------------------------------------------
def add_subcommands(subparsers) -> None:
    """Add ``fcnet`` to an argparse subparsers object (``dualgrad experiment fcnet``); sets ``run``."""
    p = subparsers.add_parser(
        "fcnet", help="§4.4: FC nets (W = 256, 1024; 4096 on a subset) trained with bp, fg, mean, frog",
        description="The paper's fully-connected-network experiment (Flügel et al. 2024, §4.4): FCNet with two "
                    "hidden layers, activity perturbation, plain SGD, batch 64, early stopping on the validation "
                    "loss, learning rates from recipes.default_lr. Writes OUT/fcnet.csv, OUT/fcnet_curves.csv "
                    "and plots; prints the mean ± std test accuracy over seeds.")
    p.add_argument("--dataset", choices=sorted(LOADERS), default="digits",
                   help="digits (bundled, default) or mnist (IDX files under --data-dir), ...")
    p.add_argument("--data-dir", help="directory with downloaded datasets (default $DUALGRAD_DATA or ./data)")
    p.add_argument("--width", nargs="+", type=int, help=f"hidden widths of the full grid (default {PAPER_WIDTHS})")
    p.add_argument("--no-subset", dest="subset", action="store_false", help=f"skip the {SUBSET.describe()}")
    p.add_argument("--approach", nargs="+", choices=APPROACHES, default=APPROACHES)
    p.add_argument("--k", nargs="+", type=int, default=PAPER_K, help="tangents for mean and frog (default 2 4 16)")
    p.add_argument("--seeds", nargs="+", type=int, help="default 0 1 2")
    p.add_argument("--epochs", type=int, help=f"epoch cap of the full grid (default {MAX_EPOCHS}, the paper's)")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: W {QUICK['widths']}, seed 0, {QUICK['epochs']} epochs, no subset")
    p.add_argument("--workers", type=int, help="processes (default: all cores; 1 = this process)")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the plots")
    p.add_argument("--out", default="runs/fcnet", help="output directory (default runs/fcnet)")
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
        print(f"({subset.describe()})")
    print("\nepochs run / best-validation epoch, mean over seeds (how the runs stopped)")
    print(epochs_table(rows))
    print("\nlearning rates (source)")
    print(lr_table(rows))
    seconds = time.perf_counter() - start
    print(f"\n{len(rows)} runs in {seconds:.0f} s ({seconds / 60:.1f} min) on {where(args.workers)}; "
          f"wrote {pathlib.Path(args.out) / 'fcnet.csv'} and fcnet_curves.csv")
