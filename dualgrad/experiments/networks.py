"""Networks trained with every approach on one dataset: what the paper's network experiments share (§4.4
``fcnet``, §4.5 ``sota``). One training run, a grid of them on any executor, their CSV rows and per-epoch
curves, the tables and the plots.

    runs = plan("digits", [Grid("resnet", 8, pairs(("bp", "frog"), (16,)), seeds=(0,), epochs=5)])
    rows, curves = run_grid(runs, workers=2)      # rows: KEY_COLUMNS + RESULT_COLUMNS, curves: one per epoch

The training is the paper's code's (``PAPER_TRAINING``): plain SGD (no momentum, no weight decay, constant
learning rate), batch 64, early stopping on the validation loss (patience 10, min_delta 0), abort at a
training loss ≥ 10 or NaN; the approaches are those of ``dualgrad.approaches`` with activity perturbation
and Gaussian tangents (``gradients.ActivityPerturbation``); learning rates from ``learning_rates.default_lr``
(each run records its value and source).

A seed fixes the initialisation (``rng [seed, 3]``, as ``dualgrad train --seed``), the batch order and the
tangent stream (``train.fit``): all approaches of a seed start from the same network and see the same batches
(the paper's ``torch.manual_seed(seed)``), and a run is a function of its ``Run`` alone, whatever worker
computes it or whatever else the grid holds. So a grid resumes: ``run_grid(..., saved=DIR)`` keeps every
finished run in ``DIR/<run>.json`` (its settings, row and curves) and reads it back instead of training again
when the same run comes up (the experiments use ``OUT/runs/``: run an interrupted command again). The files
are keyed by the run's settings, not by dualgrad's code: delete them after changing the code.
"""
from __future__ import annotations

import csv
import functools
import json
import os
import pathlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .. import approaches
from ..data import load
from ..gradients import num_activities
from ..learning_rates import default_lr
from ..recipes import build_model
from ..train import FIELDS, TrainConfig, fit
from .report import epoch_axis, label, legend_outside, render_table, style
from .sweep import run_jobs, write_csv

KEY_COLUMNS = ("dataset", "model", "width", "approach", "k", "seed")
RESULT_COLUMNS = ("lr", "lr_source", "epochs_run", "stopped", "best_epoch", "test_acc", "val_acc", "test_loss",
                  "train_loss", "seconds")
TIMING_COLUMNS = ("seconds",)                                  # the only columns that differ between equal runs
PAPER_TRAINING = {"optimizer": "sgd", "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "constant",
                  "batch_size": 64, "patience": 10, "min_delta": 0.0, "loss_bound": 10.0}


@dataclass(frozen=True)
class Run:
    """One training run; ``k`` is None for bp; ``width`` is the FC net's hidden width or the ResNet's stem
    channels (see ``recipes.build_model``)."""
    dataset: str
    model: str
    width: int
    approach: str
    k: int | None
    seed: int
    lr: float
    lr_source: str
    epochs: int
    data_dir: str | None = None


@dataclass(frozen=True)
class Grid:
    """Part of a plan: ``model`` of ``width`` with every (approach, k) of ``configs`` and every seed, at most
    ``epochs`` epochs each."""
    model: str
    width: int
    configs: tuple
    seeds: tuple
    epochs: int

    def describe(self) -> str:
        labels = ", ".join(approaches.label(a, k) for a, k in self.configs)
        seeds = ", ".join(map(str, self.seeds))
        return f"{labels}; seed{'s' if len(self.seeds) > 1 else ''} {seeds}; at most {self.epochs} epochs"


# ----- one run ---------------------------------------------------------------------------------------------------
@functools.cache
def splits(dataset: str, data_dir: str | None):
    """The dataset, loaded once per worker process (training never writes to it)."""
    return load(dataset, data_dir)


def model_of(run_or_grid, dataset: str, data_dir: str | None, seed: int = 0):
    """The network of a run (or grid) for the dataset's inputs, initialised from ``rng [seed, 3]``."""
    data = splits(dataset, data_dir)
    return build_model(run_or_grid.model, data.train.input_shape, data.train.classes, width=run_or_grid.width,
                       rng=np.random.default_rng([seed, 3]))


def stop_reason(stopped: str) -> str:
    """``train.fit``'s sentence as a word: diverged, early-stop or epoch-cap."""
    if stopped.startswith("diverged"):
        return "diverged"
    return "early-stop" if stopped.startswith("early stopping") else "epoch-cap"


def execute(run: Run) -> tuple[dict, list[dict]]:
    """Train one run; returns its row (``KEY_COLUMNS`` + ``RESULT_COLUMNS``: the metrics at the epoch with the
    lowest validation loss; ``seconds`` is the run's CPU time, training and evaluation) and its per-epoch rows
    (``KEY_COLUMNS`` + ``train.FIELDS``, epoch 0 untrained; their ``seconds`` is cumulative training wall time)."""
    net = model_of(run, run.dataset, run.data_dir, run.seed)
    grad, method, k = approaches.configuration(run.approach, run.k)
    cfg = TrainConfig(grad=grad, method=method, k=k, lr=run.lr, epochs=run.epochs, seed=run.seed, threads=1,
                      **PAPER_TRAINING)
    start = time.process_time()                               # CPU time: honest on a shared machine
    history = fit(net, splits(run.dataset, run.data_dir), cfg, progress=False)
    seconds = time.process_time() - start
    key = {c: getattr(run, c) for c in KEY_COLUMNS}
    best = history.best()
    row = key | {"lr": run.lr, "lr_source": run.lr_source, "epochs_run": history.final()["epoch"],
                 "stopped": stop_reason(history.stopped), "best_epoch": best["epoch"], "test_acc": best["test_acc"],
                 "val_acc": best["val_acc"], "test_loss": best["test_loss"], "train_loss": best["train_loss"],
                 "seconds": seconds}
    return row, [key | r for r in history.rows]


# ----- the grid -----------------------------------------------------------------------------------------------------
def plan(dataset: str, grids: Sequence[Grid], data_dir=None) -> list[Run]:
    """The runs of ``grids`` in order: per grid every (approach, k) × seed, the learning rate from
    ``learning_rates.default_lr`` with n = the network's activities per sample. Loads the dataset first (a missing
    one raises ``DatasetNotFoundError`` here, before any work)."""
    data_dir = None if data_dir is None else str(data_dir)
    data = splits(dataset, data_dir)
    runs = []
    for grid in grids:
        n = num_activities(model_of(grid, dataset, data_dir), data.train.input_shape)
        for approach, k in grid.configs:
            lr, source = default_lr(grid.model, dataset, *approaches.configuration(approach, k), n)
            runs += [Run(dataset, grid.model, grid.width, approach, k, seed, lr, source, grid.epochs, data_dir)
                     for seed in grid.seeds]
    return runs


@functools.cache
def _size(model: str, width: int, dataset: str, data_dir: str | None) -> int:
    return model_of(Grid(model, width, (), (), 0), dataset, data_dir).num_parameters()


def cost(run: Run) -> float:
    """A rough cost model (load balance only: the longest runs are submitted first): epochs × the parameters ×
    the tangent columns (k + 1; the exact gradient's backward counts as one more)."""
    return run.epochs * _size(run.model, run.width, run.dataset, run.data_dir) * (2 if run.k is None else run.k + 1)


def saved_name(run: Run) -> str:
    """The file of a finished run in a ``saved`` directory, e.g. ``mnist-5k_resnet8_frog16_s2.json``."""
    return f"{run.dataset}_{run.model}{run.width}_{run.approach}{run.k or ''}_s{run.seed}.json"


def execute_saved(job: tuple[Run, str | None]) -> tuple[dict, list[dict]]:
    """``execute(run)`` for ``job = (run, path)``, read from ``path`` when it holds this run's result, else
    computed and written there (atomically: a temporary file, then a rename). ``path`` None: just execute."""
    run, path = job
    if path is not None and os.path.exists(path):
        with open(path) as fh:
            saved = json.load(fh)
        if saved["run"] == asdict(run):
            return saved["row"], saved["curves"]
    row, curves = execute(run)
    if path is not None:
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w") as fh:
            json.dump({"run": asdict(run), "row": row, "curves": curves}, fh)
        os.replace(temporary, path)
    return row, curves


def run_grid(runs: Sequence[Run], executor=None, workers: int | None = None, progress: bool = True,
             desc: str = "runs", saved=None) -> tuple[list[dict], list[dict]]:
    """Every run on ``executor`` (default: a process pool of ``workers``, see ``sweep.run_jobs``), longest first;
    with ``saved`` (a directory, created if missing) finished runs are kept there and read back (module
    docstring). Returns (rows, curve rows) in the order of ``runs``."""
    if saved is not None:
        pathlib.Path(saved).mkdir(parents=True, exist_ok=True)
    order = sorted(range(len(runs)), key=lambda i: -cost(runs[i]))
    jobs = [(runs[i], None if saved is None else str(pathlib.Path(saved) / saved_name(runs[i]))) for i in order]
    results = dict(zip(order, run_jobs(execute_saved, jobs, executor, workers, progress, desc)))
    return [results[i][0] for i in range(len(runs))], [r for i in range(len(runs)) for r in results[i][1]]


def write(out, name: str, key_columns: Sequence[str], rows: Sequence[dict], curves: Sequence[dict]) -> pathlib.Path:
    """``out/<name>.csv`` (``key_columns`` + ``RESULT_COLUMNS``) and ``out/<name>_curves.csv`` (``key_columns`` +
    ``train.FIELDS``); returns ``out`` as a Path (created if missing)."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for file, columns, table in ((f"{name}.csv", (*key_columns, *RESULT_COLUMNS), rows),
                                 (f"{name}_curves.csv", (*key_columns, *FIELDS), curves)):
        write_csv(out / file, columns, [{c: r[c] for c in columns} for r in table])
    return out


def read(directory, name: str) -> tuple[list[dict], list[dict]]:
    """(rows, curve rows) from ``directory/<name>.csv`` and ``<name>_curves.csv``, typed as ``run_grid`` returns
    them (k None for bp), e.g. to tabulate or plot a finished grid again."""
    text = {"dataset", "model", "approach", "lr_source", "stopped"}
    integer = {"width", "seed", "epochs_run", "best_epoch", "epoch"}

    def typed(row):
        return {c: v if c in text else (int(v) if v else None) if c in integer | {"k"} else float(v)
                for c, v in row.items()}
    directory = pathlib.Path(directory)
    tables = []
    for file in (f"{name}.csv", f"{name}_curves.csv"):
        with open(directory / file, newline="") as fh:
            tables.append([typed(r) for r in csv.DictReader(fh)])
    return tables[0], tables[1]


# ----- tables -------------------------------------------------------------------------------------------------------
def _cells(rows, column: Callable[[dict], str], fmt) -> tuple[list[str], list[list[str]]]:
    """A header (one column per distinct ``column(row)``, in order of appearance) and one line per approach label;
    ``fmt(runs)`` formats the runs of one cell."""
    columns = list(dict.fromkeys(column(r) for r in rows))
    labels = list(dict.fromkeys(label(r) for r in rows))
    body = []
    for name in labels:
        line = [name]
        for c in columns:
            cell = [r for r in rows if label(r) == name and column(r) == c]
            line.append(fmt(cell) if cell else "")
        body.append(line)
    return ["approach", *columns], body


def _accuracy(runs) -> str:
    """mean ± std (ddof 1) of the test accuracy in percent; ``(1 seed)`` where there is one run."""
    acc = 100 * np.array([r["test_acc"] for r in runs])
    if len(acc) == 1:
        return f"{acc[0]:.1f} (1 seed)"
    return f"{acc.mean():.1f} ± {acc.std(ddof=1):.1f}"


def accuracy_table(rows: Sequence[dict], column: Callable[[dict], str], markdown: bool = False) -> str:
    """Test accuracy (%) at the best-validation epoch, mean ± std over seeds, one line per approach, one column per
    value of ``column(row)`` (a width, a model)."""
    return render_table(*_cells(rows, column, _accuracy), markdown)


def lr_table(rows: Sequence[dict], column: Callable[[dict], str], markdown: bool = False) -> str:
    """The learning rate of every cell and where it comes from."""
    def fmt(runs):
        return f"{runs[0]['lr']:.3g} ({runs[0]['lr_source']})"
    return render_table(*_cells(rows, column, fmt), markdown)


def epochs_table(rows: Sequence[dict], column: Callable[[dict], str], markdown: bool = False) -> str:
    """Epochs run (mean over seeds), best epoch (mean) and how the runs stopped, per approach and column."""
    def fmt(runs):
        stops = ", ".join(f"{n}× {s}" for s, n in sorted(Counter(r["stopped"] for r in runs).items()))
        return (f"{np.mean([r['epochs_run'] for r in runs]):.0f} / {np.mean([r['best_epoch'] for r in runs]):.0f}"
                f" ({stops})")
    return render_table(*_cells(rows, column, fmt), markdown)


def cpu_hours(rows: Sequence[dict]) -> float:
    """The CPU time of all runs (their ``seconds``) in hours."""
    return sum(r["seconds"] for r in rows) / 3600


def stops(rows: Sequence[dict]) -> str:
    """How the forward-gradient runs ended, e.g. "5 of 42 forward-gradient runs diverged"."""
    forward = [r for r in rows if not approaches.get(r["approach"]).exact]
    diverged = sum(r["stopped"] == "diverged" for r in forward)
    return f"{diverged} of {len(forward)} forward-gradient runs diverged"


# ----- plots (matplotlib is the optional extra "plot") ----------------------------------------------------------
def plot_curves(rows: Sequence[dict], curves: Sequence[dict], column: Callable[[dict], str], path) -> pathlib.Path:
    """Test accuracy against epoch, every run a line (× where it diverged), one row of panels per value of
    ``column(row)``, the mean's runs left and frog's right, bp and fg in both; the legend beside each row."""
    from matplotlib.figure import Figure
    groups = list(dict.fromkeys(column(r) for r in rows))
    fig = Figure(figsize=(10.5, 3.4 * len(groups)), layout="constrained")
    by_run: dict = {}
    for c in curves:
        by_run.setdefault(tuple(c[key] for key in KEY_COLUMNS if key in c), []).append(c)
    for panels, group in zip(fig.subplots(len(groups), 2, squeeze=False), groups):
        mine = [r for r in rows if column(r) == group]
        first_seed = min(r["seed"] for r in mine)
        for ax, aggregation in zip(panels, ("mean", "frog")):
            for row in mine:
                if row["approach"] not in ("bp", "fg", aggregation):
                    continue
                run = by_run[tuple(row[key] for key in KEY_COLUMNS if key in row)]
                line = style(row["approach"], row["k"]) | {"lw": 0.9}
                ax.plot([c["epoch"] for c in run], [c["test_acc"] for c in run],
                        label=label(row) if row["seed"] == first_seed else None, **line)
                if row["stopped"] == "diverged":
                    ax.plot(run[-1]["epoch"], run[-1]["test_acc"], "x", color=line["color"], ms=6)
            seeds = len({r["seed"] for r in mine})
            ax.set(title=f"{group}: {aggregation} ({seeds} seed{'s' if seeds > 1 else ''} per approach)",
                   xlabel="epoch", ylabel="test accuracy", ylim=(0, 1))
            epoch_axis(ax)
            legend_outside(ax)
    path = pathlib.Path(path)
    fig.savefig(path, dpi=100)
    return path


def plot_k(rows: Sequence[dict], column: Callable[[dict], str], path) -> pathlib.Path:
    """Test accuracy at the best-validation epoch against k for mean and frog (mean ± std over seeds; at k = 1
    both are fg), bp as a line, one panel per value of ``column(row)``."""
    from matplotlib.figure import Figure
    groups = list(dict.fromkeys(column(r) for r in rows))
    fig = Figure(figsize=(4.4 * len(groups) + 1.2, 3.6), layout="constrained")
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, group in zip(axes, groups):
        acc: dict = {}                                                   # (approach, k) -> test accuracies
        for r in rows:
            if column(r) == group:
                acc.setdefault((r["approach"], r["k"]), []).append(r["test_acc"])
        if ("bp", None) in acc:
            ax.axhline(np.mean(acc["bp", None]), **style("bp", None), label="bp")
        for approach in ("mean", "frog"):
            ks = sorted(k for a, k in acc if a == approach)
            if not ks:
                continue
            ks = ([1] if ("fg", 1) in acc else []) + ks                     # fg: the mean (and frog) of k = 1
            points = [acc["fg" if k == 1 else approach, k] for k in ks]
            ax.errorbar(ks, [np.mean(p) for p in points], yerr=[np.std(p, ddof=1) if len(p) > 1 else 0 for p in points],
                        marker="o", capsize=3, label=approach, **style(approach, max(ks)))
        ticks = sorted({k for _, k in acc if k is not None})
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(k) for k in ticks])
        ax.set(title=group, xlabel="k (k = 1: fg)", ylabel="test accuracy")
    legend_outside(axes[-1])
    path = pathlib.Path(path)
    fig.savefig(path, dpi=100)
    return path
