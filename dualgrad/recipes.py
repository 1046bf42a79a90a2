"""Named models, and the train and compare commands (``dualgrad train`` / ``dualgrad compare``).

Default learning rates come from ``learning_rates.default_lr``: per model and dataset, the exact gradient's
rate and one base rate that the scale rule turns into every estimator's, k's and width's rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import approaches, backend, nn
from .errors import InvalidArgumentError
from .learning_rates import default_lr
from .parallel import SINGLE_PROCESS

MODELS = ("fcnet", "lenet5", "resnet", "vit")


def build_model(name: str, input_shape: tuple, classes: int, *, width: int = 256, hidden_layers: int = 2,
                rng: np.random.Generator):
    """A model by name for inputs of ``input_shape`` (C, H, W): fcnet (the paper's FC net), lenet5,
    resnet (ResNetSmall, ``width`` channels in the stem; images of 28 pixels or more are halved by the stem, as
    ResNet's stem does), vit (ViTSmall, patches of 4 pixels on images above 16 pixels, else 2)."""
    c, h, w = input_shape
    if name == "fcnet":
        return nn.FCNet(c * h * w, width, hidden_layers, classes, rng=rng)
    if name == "lenet5":
        if h != w:
            raise ValueError(f"lenet5 needs square images, got {h}×{w}")
        return nn.LeNet5(c, classes, image_size=h, rng=rng)
    if name == "resnet":
        return nn.ResNetSmall(c, classes, width=width if width < 64 else 8, stem_stride=2 if h >= 28 else 1, rng=rng)
    if name == "vit":
        patch = 2 if h <= 16 else 4
        return nn.ViTSmall(image_size=h, patch=patch, in_channels=c, classes=classes, rng=rng)
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")


# ----- the train and compare commands ------------------------------------------------------------------------
@dataclass
class PreparedRun:
    """A training run ready to start: its data, model and checked configuration, and config.json's names
    for them (``describe``, see ``train.run_config``)."""
    splits: object
    net: object
    cfg: object
    describe: dict
    n: int                       # perturbed values per sample (activity) or parameters

    def config(self) -> dict:
        """What config.json will hold (``train.run_config``)."""
        from .train import run_config
        return run_config(self.net, self.splits, self.cfg, self.describe)


def prepare_run(*, model: str = "fcnet", width: int = 256, hidden_layers: int = 2, dataset: str = "digits",
                data_dir=None, grad: str = "activity", method: str = "projection", k: int = 16,
                lr: float | None = None, lr_source: str = "given (--lr)", splits=None, **train_options) -> PreparedRun:
    """Check every setting (those that need no data first), load the data (unless ``splits`` is given), build
    the model and pick the learning rate (``lr_source`` says where a given ``lr`` comes from). The settings
    are those of ``train.TrainConfig`` and the model's and dataset's; errors name the setting."""
    from .data import LOADERS, load
    from .estimators import check_sampler
    from .gradients import num_perturbed
    from .train import TrainConfig, check_config

    cfg = TrainConfig(grad=grad, method=method, k=k, lr=1.0 if lr is None else lr, **train_options)
    check_config(cfg)
    backend.get(cfg.backend)           # CuPy and a GPU for "cupy" (BackendUnavailableError), before the data loads
    for name, value, minimum in (("width", width, 1), ("hidden_layers", hidden_layers, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise InvalidArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}")
    for name, value, choices in (("model", model, MODELS), ("dataset", dataset, tuple(LOADERS))):
        if value not in choices:
            raise InvalidArgumentError(f"unknown {name} {value!r}; choose one of {choices}")
    splits = splits if splits is not None else load(dataset, data_dir)
    try:
        net = build_model(model, splits.train.input_shape, splits.train.classes, width=width,
                          hidden_layers=hidden_layers, rng=np.random.default_rng([cfg.seed, 3]))
    except ValueError as e:                             # a model that cannot take these inputs
        raise InvalidArgumentError(f"model {model} does not fit {dataset}'s inputs of shape "
                                   f"{splits.train.input_shape}: {e}") from None
    n = num_perturbed(grad, net, splits.train.input_shape) or net.num_parameters()
    if grad not in ("exact", "bp"):
        check_sampler(k, n, cfg.sampler, **cfg.sampler_options)
    if lr is None:
        lr, lr_source = default_lr(model, dataset, grad, method, k, n)
    cfg.lr = lr
    describe = {"model": {"name": model, "width": width, "hidden_layers": hidden_layers},
                "data": {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir)},
                "training": {"lr_source": lr_source}}
    return PreparedRun(splits, net, cfg, describe, n)


def train_run(*, out=None, resume: bool = False, overwrite: bool = False, plot: bool = True, progress: bool = True,
              verbose: bool = True, parallel=SINGLE_PROCESS, **options):
    """Prepare (``prepare_run``: the options are its), train and report: what ``dualgrad train`` runs. Returns
    the History; writes ``out/curves.png`` with matplotlib (the ``plot`` extra). ``parallel``: see
    ``train.fit``; only its rank 0 prints and plots."""
    from .train import fit
    verbose, plot = verbose and parallel.is_root, plot and parallel.is_root
    run = prepare_run(**options)
    cfg = run.cfg
    if verbose:
        model = run.describe["model"]["name"]
        what = ("exact gradient" if cfg.grad in ("exact", "bp") else
                f"{cfg.grad} perturbation, {cfg.method}, k = {cfg.k}, n = {run.n}")
        if parallel.size > 1:
            what += f", the tangents split over {parallel.size} MPI ranks"
        if cfg.backend != "numpy":
            what += f", on the GPU ({cfg.backend})"
        print(f"{run.splits.summary()}\n{model}: {run.net.num_parameters():,} parameters; {what}; "
              f"lr {cfg.lr:.4g} ({run.describe['training']['lr_source']})")
    history = fit(run.net, run.splits, cfg, out=out, resume=resume, overwrite=overwrite, progress=progress,
                  describe=run.describe, parallel=parallel)
    label = label_of(cfg.grad, cfg.method, cfg.k)
    if verbose:
        print(results_table([(label, history)]))
        print(f"stopped: {history.stopped}")
    if out is not None and plot:
        plot_curves([(label, history)], f"{out}/curves.png", verbose)
    return history


def label_of(grad: str, method: str, k: int) -> str:
    """The table label of a configuration: bp, fg, mean k=16, frog k=16 (``approaches.label``), else the method's."""
    return approaches.label(approaches.approach_of(grad, method, k) or method, k)


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
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        if verbose:
            print("matplotlib is not installed: no plot (pip install 'dualgrad[plot]')")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    for label, h in runs:
        epochs = [r["epoch"] for r in h.rows]
        line, = axes[0].plot(epochs, [r["test_acc"] for r in h.rows], label=label)
        axes[1].plot(epochs, [r["train_loss"] for r in h.rows], color=line.get_color(), label=label)
    axes[0].set(xlabel="epoch", ylabel="test accuracy")
    axes[1].set(xlabel="epoch", ylabel="training loss", yscale="log")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))           # a 2-epoch run: ticks 0, 1, 2
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)   # off the data
    fig.savefig(path, dpi=120)
    plt.close(fig)
    if verbose:
        print(f"wrote {path}")


def compare_plan(k: int = 16, grad: str = "activity") -> list[tuple[str, str, int]]:
    """The (gradient source, method, k) of compare's four runs: exact, fg, mean and frog with k tangents."""
    return [("exact", "projection", 1), (grad, "fg", 1), (grad, "mean", k), (grad, "projection", k)]


def compare_dir(out, grad: str, method: str, k: int):
    """The run directory of one of compare's runs: OUT/bp, OUT/fg, OUT/mean_k16, OUT/frog_k16."""
    import pathlib
    return None if out is None else pathlib.Path(out) / label_of(grad, method, k).replace(" ", "_").replace("=", "")


def compare_run(*, k: int = 16, grad: str = "activity", out=None, resume: bool = False, overwrite: bool = False,
                plot: bool = True, progress: bool = True, **options):
    """exact, fg (k = 1), mean and frog (projection) with k tangents, on the same data and seeds: the paper's
    comparison in one command. Returns [(label, History)] and prints one table.

    Every run is prepared and its directory checked before the first one trains. ``resume`` continues the
    runs that have a config.json and starts the others; ``overwrite`` replaces earlier runs."""
    from . import rundir
    from .train import fit
    prepared, splits = [], None
    for g, method, kk in compare_plan(k, grad):
        run = prepare_run(grad=g, method=method, k=kk, splits=splits, **options)
        splits = run.splits
        sub = compare_dir(out, g, method, kk)
        again = resume and sub is not None and (sub / rundir.CONFIG).exists()
        if sub is not None:
            rundir.check(sub, resume=again, overwrite=overwrite, config=run.config() if again else None)
        prepared.append((label_of(g, method, kk), run, sub, again))
    runs = []
    for label, run, sub, again in prepared:
        print(f"\n== {label}: lr {run.cfg.lr:.4g} ({run.describe['training']['lr_source']})")
        history = fit(run.net, run.splits, run.cfg, out=sub, resume=again, overwrite=overwrite, progress=progress,
                      describe=run.describe)
        print(f"stopped: {history.stopped}")
        runs.append((label, history))
    print("\n" + results_table(runs))
    if out is not None and plot:
        plot_curves(runs, f"{out}/compare.png")
    return runs
