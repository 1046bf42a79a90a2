"""Named models and default learning rates for ``dualgrad train`` / ``dualgrad compare``.

Learning rates, in this order (``default_lr`` returns the value and its source):

1. for the FC net with activity perturbation or the exact gradient (how the tables were tuned): a table
   shipped with dualgrad for this dataset, ``experiments/lrs/<dataset>.csv`` (for the bundled digits: our
   own grid search, ``dualgrad experiment lr-search``), then the paper's tables for MNIST (``fc_nns.csv``:
   FCNet with W ∈ {256, 1024, 4096});
2. otherwise the rule from the gradient-descent contraction analysis (docs/estimators.md): with n the
   number of perturbed values per sample (activities, or parameters for weight perturbation),
   lr_mean = lr_bp · k / (n + k + 1) and lr_projection = lr_bp · n / (n + k + 1) (= lr_bp for k ≥ n),
   from a base lr_bp of 0.05.
"""
from __future__ import annotations

import numpy as np

from . import nn
from .experiments.lrs import LearningRateNotFound, lr_source
from .parallel import SINGLE_PROCESS

BASE_LR = 0.05

MODELS = ("fcnet", "lenet5", "resnet", "vit")


def build_model(name: str, input_shape: tuple, classes: int, *, width: int = 256, hidden_layers: int = 2,
                rng: np.random.Generator):
    """A model by name for inputs of ``input_shape`` (C, H, W): fcnet (the paper's FC net), lenet5,
    resnet (ResNetSmall, ``width`` channels in the stem), vit (ViTSmall)."""
    c, h, w = input_shape
    if name == "fcnet":
        return nn.FCNet(c * h * w, width, hidden_layers, classes, rng=rng)
    if name == "lenet5":
        if h != w:
            raise ValueError(f"lenet5 needs square images, got {h}×{w}")
        return nn.LeNet5(c, classes, image_size=h, rng=rng)
    if name == "resnet":
        return nn.ResNetSmall(c, classes, width=width if width < 64 else 8, rng=rng)
    if name == "vit":
        patch = 2 if h <= 16 else 4
        return nn.ViTSmall(image_size=h, patch=patch, in_channels=c, classes=classes, rng=rng)
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")


def paper_approach(grad: str, method: str, k: int) -> str | None:
    """The paper's name of a configuration: bp, fg (k = 1), mean or frog; None for other aggregations."""
    if grad in ("exact", "bp"):
        return "bp"
    if method in ("mean", "fg") and k == 1:
        return "fg"
    return {"mean": "mean", "projection": "frog", "frog": "frog"}.get(method)


def default_lr(model: str, width: int, dataset: str, grad: str, method: str, k: int, n: int) -> tuple[float, str]:
    """(learning rate, where it comes from) for a training configuration; see the module docstring."""
    approach = paper_approach(grad, method, k)
    if approach is not None and model == "fcnet" and grad in ("activity", "exact", "bp"):   # tables: activity
        for table, task, data in ((dataset, f"fcnet_w={width}", None), ("fc_nns", f"fc_w={width}", "mnist")):
            if data is not None and dataset != data:
                continue
            try:
                lr, source = lr_source(table, task, approach=approach, k=k, dataset=data)
                return lr, f"lrs/{table}.csv ({source})"
            except (LearningRateNotFound, ValueError):
                continue
    if approach == "bp":
        return BASE_LR, "base learning rate"
    if method in ("mean", "fg", "sum"):
        lr = BASE_LR * k / (n + k + 1) / (k if method == "sum" else 1)
        return lr, f"rule lr_bp·k/(n+k+1) with n = {n}"
    return BASE_LR * n / (n + k + 1), f"rule lr_bp·n/(n+k+1) with n = {n}"


# ----- the train and compare commands ------------------------------------------------------------------------
def train_run(*, model: str = "fcnet", width: int = 256, hidden_layers: int = 2, dataset: str = "digits",
              data_dir=None, grad: str = "activity", method: str = "projection", k: int = 16, lr: float | None = None,
              out=None, resume: bool = False, plot: bool = True, progress: bool = True, verbose: bool = True,
              parallel=SINGLE_PROCESS, **train_options):
    """Load the data, build the model, pick the learning rate, train, and report: what ``dualgrad train`` runs.
    Returns the History; writes ``out/curves.png`` with matplotlib (the ``plot`` extra). ``parallel``: see
    ``train.fit``; only its rank 0 prints and plots."""
    from .data import load
    from .gradients import num_activities
    from .train import TrainConfig, fit

    seed = train_options.get("seed", 0)
    verbose, plot = verbose and parallel.is_root, plot and parallel.is_root
    splits = load(dataset, data_dir)
    net = build_model(model, splits.train.input_shape, splits.train.classes, width=width,
                      hidden_layers=hidden_layers, rng=np.random.default_rng([seed, 3]))
    n = num_activities(net, splits.train.input_shape) if grad == "activity" else net.num_parameters()
    source = "given (--lr)"
    if lr is None:
        lr, source = default_lr(model, width, dataset, grad, method, k, n)
    cfg = TrainConfig(grad=grad, method=method, k=k, lr=lr, **train_options)
    if verbose:
        what = "exact gradient" if grad in ("exact", "bp") else f"{grad} perturbation, {method}, k = {k}, n = {n}"
        if parallel.size > 1:
            what += f", the tangents split over {parallel.size} MPI ranks"
        print(f"{splits.summary()}\n{model}: {net.num_parameters():,} parameters; {what}; "
              f"lr {lr:.4g} ({source})")
    history = fit(net, splits, cfg, out=out, resume=resume, progress=progress, parallel=parallel)
    if verbose:
        print(results_table([(label_of(grad, method, k), history)]))
        print(f"stopped: {history.stopped}")
    if out is not None and plot:
        plot_curves([(label_of(grad, method, k), history)], f"{out}/curves.png", verbose)
    return history


def label_of(grad: str, method: str, k: int) -> str:
    approach = paper_approach(grad, method, k) or method
    return approach if approach in ("bp", "fg") else f"{approach} k={k}"


def results_table(runs) -> str:
    """One line per run: best-validation epoch's accuracies and losses, final test accuracy, time."""
    lines = [f"{'run':14s} {'test acc':>8s} {'val acc':>8s} {'train loss':>10s} {'test loss':>9s} "
             f"{'best epoch':>10s} {'time':>7s}", "-" * 74]
    for label, h in runs:
        best, final = h.best(), h.final()
        lines.append(f"{label:14s} {best['test_acc']:8.3f} {best['val_acc']:8.3f} {best['train_loss']:10.4f} "
                     f"{best['test_loss']:9.4f} {best['epoch']:10d} {final['seconds']:6.1f}s")
    lines.append("(accuracies and losses at the epoch with the lowest validation loss)")
    return "\n".join(lines)


def plot_curves(runs, path, verbose=True):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if verbose:
            print("matplotlib is not installed: no plot (pip install 'dualgrad[plot]')")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, h in runs:
        epochs = [r["epoch"] for r in h.rows]
        line, = axes[0].plot(epochs, [r["test_acc"] for r in h.rows], label=label)
        axes[1].plot(epochs, [r["train_loss"] for r in h.rows], color=line.get_color(), label=label)
    axes[0].set(xlabel="epoch", ylabel="test accuracy")
    axes[1].set(xlabel="epoch", ylabel="training loss", yscale="log")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    if verbose:
        print(f"wrote {path}")


def compare_run(*, k: int = 16, grad: str = "activity", out=None, plot: bool = True, progress: bool = True,
                **options):
    """exact, fg (k = 1), mean and frog (projection) with k tangents, on the same data and seeds: the paper's
    comparison in one command. Returns [(label, History)] and prints one table."""
    import pathlib
    configs = [("exact", "projection", 1), (grad, "fg", 1), (grad, "mean", k), (grad, "projection", k)]
    runs = []
    for g, method, kk in configs:
        label = label_of(g, method, kk)
        print(f"\n== {label}")
        sub = None if out is None else pathlib.Path(out) / label.replace(" ", "_").replace("=", "")
        history = train_run(grad=g, method=method, k=kk, out=sub, plot=False, progress=progress, verbose=True,
                            **options)
        runs.append((label, history))
    print("\n" + results_table(runs))
    if out is not None and plot:
        plot_curves(runs, f"{out}/compare.png")
    return runs
