"""The training loop: epoch-0 evaluation, per-epoch train/val/test metrics, early stopping, divergence
handling, transactional checkpoints and bit-for-bit resume, a progress bar, and live gradient diagnostics.

    history = fit(model, splits, grad="activity", method="projection", k=16, epochs=30, out="runs/x")

With ``out`` the run lives in a run directory (``dualgrad.rundir``; docs/training.md, "The run
directory"): locked for the life of the run, ``config.json`` with everything that determines it, one
commit per epoch (``checkpoint.npz`` with the whole state, ``best.npz``, a row of ``metrics.jsonl`` /
``metrics.csv``) that a crash leaves wholly before or wholly after, ``diagnostics.jsonl`` (with
``diagnostics_every``: cosine and norm ratio between the estimate and the exact gradient on the same
batch, every N steps) and ``summary.json`` when the run ends. ``resume=True`` continues from the last
commit exactly as the uninterrupted run would have, and refuses another configuration; a used directory
needs ``resume`` or ``overwrite``.

Stopping: the epoch budget, early stopping on the validation loss (``patience`` epochs without an
improvement larger than ``min_delta``), or divergence — a training loss (or a jvp) that is NaN/inf, or a
loss of at least ``loss_bound`` (the paper aborts at 10), stops at once; the parameters of the last good
epoch are restored, its commit is left as it was, and the reason is reported. An interrupt
(KeyboardInterrupt) keeps the last commit, writes ``summary.json`` and propagates.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field, fields, replace

import numpy as np
from threadpoolctl import threadpool_limits

from . import checkpoint, rundir
from .backend import BACKENDS, move, namespace
from .backend import get as get_backend
from .data import Dataset, Splits, batches
from .errors import InvalidArgumentError, NonFiniteError
from .estimators import check_sampler, prefetch_tangents
from .gradients import METHOD_NAMES, SOURCES, make_gradient_source, num_perturbed
from .nn import Context
from .optim import OPTIMIZERS, SCHEDULES, schedule
from .parallel import SINGLE_PROCESS
from .rules.nn import softmax_cross_entropy

FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "seconds", "lr"]


@dataclass
class TrainConfig:
    grad: str = "activity"            # "weight" | "activity" | "exact"
    method: str = "projection"        # any estimators aggregation ("mean", "projection", ...); ignored by exact
    k: int = 16
    sampler: str = "normal"
    lr: float = 0.01
    optimizer: str = "sgd"            # "sgd" | "adam" | "adamw"
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_schedule: str = "constant"     # "constant" | "cosine" | "step" (÷10 after each third of the steps)
    batch_size: int = 64
    eval_batch_size: int = 1024
    epochs: int = 30
    patience: int = 10
    min_delta: float = 0.0
    loss_bound: float = 10.0
    seed: int = 0
    diagnostics_every: int = 0
    threads: int | None = 1           # BLAS threads during training (None: the library default); see fit
    backend: str = "numpy"            # "numpy" | "cupy": where parameters, data and every step live; see fit
    sampler_options: dict = field(default_factory=dict)   # the sampler's own: angle (degrees), max_length, resample


def check_config(cfg: TrainConfig) -> None:
    """Every setting of ``cfg`` checked by type and range; an InvalidArgumentError names the first bad one and
    what it takes. (Whether the sampler fits the model's n is checked by ``fit``.)"""
    def fail(name, needs):
        raise InvalidArgumentError(f"train: {name} must be {needs}, got {getattr(cfg, name)!r}")

    def integer(name, minimum, allow_none=False):
        value = getattr(cfg, name)
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            fail(name, f"an integer >= {minimum}" + (" or None" if allow_none else ""))

    def number(name, low, *, open_low=False, high=math.inf, allow_inf=False):
        value = getattr(cfg, name)
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        ok = ok and not math.isnan(value) and (allow_inf or math.isfinite(value))
        ok = ok and (value > low if open_low else value >= low) and value < high
        if not ok:
            fail(name, ("a finite " if not allow_inf else "a ") + f"number {'>' if open_low else '>='} {low}"
                 + (f" and < {high}" if high < math.inf else ""))

    for name, choices in (("grad", tuple(SOURCES)), ("method", METHOD_NAMES), ("optimizer", tuple(OPTIMIZERS)),
                          ("lr_schedule", SCHEDULES), ("backend", BACKENDS)):
        if not isinstance(getattr(cfg, name), str) or getattr(cfg, name) not in choices:
            fail(name, f"one of {choices}")
    integer("k", 1)
    for name in ("batch_size", "eval_batch_size", "epochs", "patience"):
        integer(name, 1)
    integer("seed", 0)
    integer("diagnostics_every", 0)
    integer("threads", 1, allow_none=True)
    number("lr", 0, open_low=True)
    number("momentum", 0, high=1)
    number("weight_decay", 0)
    number("min_delta", 0)
    number("loss_bound", 0, open_low=True, allow_inf=True)
    if not isinstance(cfg.sampler_options, dict) or set(cfg.sampler_options) - {"angle", "max_length", "resample"}:
        fail("sampler_options", "a dict with some of angle, max_length, resample")
    check_sampler(cfg.k, 2, cfg.sampler, **cfg.sampler_options)        # the sampler's name and options; n later
    make_gradient_source(cfg.grad, method=cfg.method, k=cfg.k, sampler=cfg.sampler)     # fg needs k = 1


@dataclass
class History:
    rows: list
    stopped: str          # why training stopped, in words
    config: dict          # the run's configuration (config.json with an output directory)
    status: str = "finished"    # "finished" (budget or early stopping) | "diverged"

    def final(self) -> dict:
        return self.rows[-1]

    def best(self) -> dict:
        return min(self.rows, key=lambda r: r["val_loss"] if math.isfinite(r["val_loss"]) else math.inf)


# ----- evaluation -------------------------------------------------------------------------------------------
def evaluate(model, params, data: Dataset, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``data`` (inference mode: no dropout, running BN stats).

    The sums are kept in the data's array module (float64, in batch order) and read once at the end: on a
    GPU one device-to-host transfer per number."""
    xp = namespace(data.x)
    if params and namespace(*params.values()) is not xp:
        raise InvalidArgumentError(f"evaluate: the data are {xp.__name__} arrays and the parameters "
                                   f"{namespace(*params.values()).__name__} arrays; move one to the other's backend "
                                   "(data.to(...), model.to(...))")
    ctx = Context(training=False)
    total_loss, correct = xp.zeros((), dtype=xp.float64), xp.zeros((), dtype=xp.int64)
    for x, y in batches(data, batch_size):
        logits = model.forward(x, params, ctx)
        total_loss += softmax_cross_entropy(logits, y, reduction="sum")
        correct += (xp.argmax(logits, axis=-1) == y).sum()
    return float(total_loss) / len(data), int(correct) / len(data)


def _evaluate_all(model, params, splits: Splits, cfg: TrainConfig) -> dict:
    row = {}
    for part in ("train", "val", "test"):
        loss, acc = evaluate(model, params, getattr(splits, part), cfg.eval_batch_size)
        row[f"{part}_loss"], row[f"{part}_acc"] = loss, acc
    return row


# ----- state ----------------------------------------------------------------------------------------------------
class _RunState:
    """Everything that evolves during training and must be checkpointed to resume bit for bit."""

    def __init__(self, cfg: TrainConfig):
        self.epoch = 0
        self.seconds = 0.0
        self.best_val = math.inf
        self.bad_epochs = 0
        self.rows: list[dict] = []
        self.shuffle_rng = np.random.default_rng([cfg.seed, 0])
        self.tangent_rng = np.random.default_rng([cfg.seed, 1])
        self.dropout_rng = np.random.default_rng([cfg.seed, 2])

    def meta(self) -> dict:
        return {"epoch": self.epoch, "seconds": self.seconds, "best_val": self.best_val, "bad_epochs": self.bad_epochs,
                "rows": self.rows, "rngs": {name: checkpoint.rng_state(getattr(self, name))
                                            for name in ("shuffle_rng", "tangent_rng", "dropout_rng")}}

    def restore(self, meta: dict):
        self.epoch, self.seconds = meta["epoch"], meta["seconds"]
        self.best_val, self.bad_epochs, self.rows = meta["best_val"], meta["bad_epochs"], meta["rows"]
        for name, state in meta["rngs"].items():
            setattr(self, name, checkpoint.restore_rng(state))


def _snapshot(model, optimizer, state: _RunState) -> tuple[dict, dict]:
    """(arrays, meta) of everything a resume needs; ``meta["rows"]`` holds every metrics row so far."""
    arrays = {f"params/{n}": a for n, a in model.parameters().items()}
    arrays |= {f"buffers/{n}": a for n, a in model.buffers().items()}
    opt_state = optimizer.state_dict()
    for pname, slot in opt_state["state"].items():
        for key, a in slot.items():
            arrays[f"optim/{key}/{pname}"] = a
    return arrays, state.meta() | {"optimizer_steps": opt_state["steps"]}


def _restore(committed, model, optimizer, state: _RunState, xp) -> None:
    """Put a commit's state back; its arrays (NumPy, as saved) go to the run's array module ``xp``."""
    arrays, meta = committed
    arrays = {n: move(a, xp) for n, a in arrays.items()}
    model.set_parameters({n[len("params/"):]: a for n, a in arrays.items() if n.startswith("params/")})
    model.set_buffers({n[len("buffers/"):]: a for n, a in arrays.items() if n.startswith("buffers/")})
    opt_state: dict = {}
    for n, a in arrays.items():
        if n.startswith("optim/"):
            _, key, pname = n.split("/", 2)
            opt_state.setdefault(pname, {})[key] = a
    optimizer.load_state_dict({"steps": meta["optimizer_steps"], "state": opt_state})
    state.restore(meta)


def make_optimizer(cfg: TrainConfig, steps_per_epoch: int):
    if cfg.optimizer not in OPTIMIZERS:
        raise InvalidArgumentError(f"unknown optimizer {cfg.optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    lr_schedule = schedule(cfg.lr_schedule, total_steps=cfg.epochs * steps_per_epoch)
    kwargs = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "lr_schedule": lr_schedule}
    if cfg.optimizer == "sgd":
        kwargs["momentum"] = cfg.momentum
    return OPTIMIZERS[cfg.optimizer](**kwargs)


# ----- the loop ----------------------------------------------------------------------------------------------------
def run_config(model, splits: Splits, cfg: TrainConfig, describe: dict | None = None) -> dict:
    """What ``config.json`` holds: the model (class, parameter count, dtype), the data (name, sizes, input
    shape, classes) and every training setting, merged with ``describe`` (the caller's names for them:
    ``{"model": {"name": "fcnet", "width": 256}, "data": {"dataset": "digits"}, "training": {"lr_source":
    ...}}``)."""
    from . import __version__
    params = model.parameters()
    config = {
        "dualgrad_version": __version__,
        "model": {"class": type(model).__name__, "parameters": int(sum(a.size for a in params.values())),
                  "dtype": str(np.result_type(*params.values())) if params else None},
        "data": {"dataset": splits.train.name, "train": len(splits.train), "val": len(splits.val),
                 "test": len(splits.test), "input_shape": list(splits.train.input_shape),
                 "classes": splits.train.classes},
        "training": asdict(cfg),
    }
    for section, entries in (describe or {}).items():
        config[section] = config.get(section, {}) | entries
    return config


def fit(model, splits: Splits, cfg: TrainConfig | None = None, *, out=None, resume: bool = False,
        overwrite: bool = False, progress: bool = True, describe: dict | None = None, parallel=SINGLE_PROCESS,
        **overrides) -> History:
    """Train ``model`` on ``splits`` with the gradient source ``cfg.grad`` (see the module docstring).

    ``out``: the run directory; ``resume`` continues the run in it, ``overwrite`` deletes an earlier run
    there first (without either, a used directory is refused). ``describe`` adds the caller's names to
    config.json (``run_config``). Every setting is checked before anything is written: InvalidArgumentError,
    RunDirectoryError (ConfigMismatchError, RunLockedError) name what is wrong and the fix.

    BLAS runs with ``cfg.threads`` threads (default 1): the GEMMs of mini-batch training are small, and
    OpenBLAS's spinning worker threads cost far more than they save on them, by a factor of 10 or more
    when other processes share the cores. Raise it for wide models. Weight perturbation with normal tangents
    draws each step's tangents during the step before, on the cores BLAS leaves idle
    (``estimators.prefetch_tangents``: the same numbers, one more k × P array held).

    ``parallel=TangentParallel()`` (under ``mpiexec``): the k tangent columns of every step are split over the
    MPI ranks (``dualgrad.parallel``); rank 0 sets the run up and alone writes to ``out`` and shows progress.

    ``cfg.backend`` says where the run lives, whatever arrays it is given: the model's parameters and buffers,
    the optimizer's state and the three splits move there (``Module.to``, ``Splits.to``; "numpy", the default,
    brings CuPy arrays back to the host). With "cupy" the run lives on the GPU (docs/training.md, "Training on
    a GPU") and the model holds CuPy arrays afterwards; batches, tangents and dropout masks are still drawn on
    the host by the same Generators as a NumPy run's and copied over. Without CuPy or a CUDA device:
    BackendUnavailableError before anything is written.
    """
    unknown = set(overrides) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise InvalidArgumentError(f"train.fit: unknown settings {sorted(unknown)}; the settings are the fields of "
                                   "TrainConfig")
    cfg = replace(cfg or TrainConfig(), **overrides)
    check_config(cfg)
    n = num_perturbed(cfg.grad, model, splits.train.input_shape)
    if n is not None:
        check_sampler(cfg.k, n, cfg.sampler, **cfg.sampler_options)
    if out is None and (resume or overwrite or cfg.diagnostics_every):
        raise InvalidArgumentError("train.fit: resume, overwrite and diagnostics_every need an output directory "
                                   "(out=...)")
    if parallel.size > 1 and n is None:
        raise InvalidArgumentError(f"tangent-parallel training splits the k tangents of weight or activity "
                                   f"perturbation over the MPI ranks; --grad {cfg.grad} has none: run it in one "
                                   "process")
    if parallel.size > 1 and cfg.backend != "numpy":
        raise InvalidArgumentError(f"tangent-parallel training gathers the jvps as NumPy arrays over MPI; it does "
                                   f"not run on backend {cfg.backend!r}: use backend 'numpy' (--backend numpy) or "
                                   "one process")
    get_backend(cfg.backend)                 # BackendUnavailableError without CuPy or a GPU, before any file
    config = run_config(model, splits, cfg, describe)
    opened = {}

    def set_up():
        """Rank 0 opens the run directory; every rank starts from its last commit (or from scratch)."""
        run = opened["run"] = None if out is None else rundir.RunDirectory.open(out, config, FIELDS, resume=resume,
                                                                               overwrite=overwrite)
        return None if run is None else run.last_commit()
    committed = parallel.from_root(set_up)
    prefetch = prefetch_tangents() if cfg.grad == "weight" and cfg.sampler == "normal" else contextlib.nullcontext()
    with threadpool_limits(cfg.threads), prefetch:
        return _fit(model, splits, cfg, config, opened.get("run"), committed, progress and parallel.is_root,
                    parallel)


def _fit(model, splits, cfg, config, run, committed, progress, parallel) -> History:
    steps_per_epoch = math.ceil(len(splits.train) / cfg.batch_size)
    optimizer = make_optimizer(cfg, steps_per_epoch)
    source = make_gradient_source(cfg.grad, method=cfg.method, k=cfg.k, sampler=cfg.sampler, parallel=parallel,
                                  **cfg.sampler_options)
    state = _RunState(cfg)
    bar = None
    try:
        model.to(cfg.backend)                                # parameters and buffers (CuPy: on the GPU)
        splits = splits.to(cfg.backend)                      # the whole dataset, copied once
        if committed is not None:
            _restore(committed, model, optimizer, state, get_backend(cfg.backend))
        params = model.parameters()                          # after the restore: it replaces the arrays
        if committed is None:
            row = {"epoch": 0, **_evaluate_all(model, params, splits, cfg), "seconds": 0.0, "lr": optimizer.current_lr}
            state.rows.append(row)
            if run is not None:
                run.commit(*_snapshot(model, optimizer, state), row, improved=False)

        status, stopped = "finished", "epoch budget reached"
        early_stop = f"early stopping: no validation improvement for {cfg.patience} epochs"
        if state.bad_epochs >= cfg.patience:                 # a resumed run that had stopped early (same patience)
            stopped = early_stop
        bar = _progress_bar(progress, total=cfg.epochs * len(splits.train), initial=state.epoch * len(splits.train))
        while state.epoch < cfg.epochs and state.bad_epochs < cfg.patience:
            epoch = state.epoch + 1
            t0 = time.perf_counter()
            last_good = {n: a.copy() for n, a in params.items()}
            diverged = None
            for step, (x, y) in enumerate(batches(splits.train, cfg.batch_size, state.shuffle_rng)):
                ctx = Context(rng=state.dropout_rng, training=True)
                try:
                    loss, grads = source(model, params, x, y, ctx, state.tangent_rng)
                except NonFiniteError as e:                  # NaN/Inf jvps: an overflow before the loss shows it
                    diverged = f"diverged in epoch {epoch}, step {step}: {e}"
                    break
                if not math.isfinite(loss) or loss >= cfg.loss_bound:
                    diverged = f"diverged in epoch {epoch}, step {step}: training loss {loss:.4g} " + (
                        "is not finite" if not math.isfinite(loss) else f">= the bound {cfg.loss_bound}")
                    break
                if cfg.diagnostics_every and run is not None and optimizer.steps % cfg.diagnostics_every == 0:
                    run.diagnostic(_diagnose(model, params, x, y, ctx, grads, optimizer.steps, epoch))
                optimizer.step(params, grads)
                parallel.check_in_sync(params, optimizer.steps)
                if bar is not None:
                    bar.update(len(y))
                    bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", refresh=False)
            if diverged:
                for n, a in last_good.items():
                    params[n][...] = a
                status, stopped = "diverged", diverged + "; restored the parameters of the last good epoch"
                if run is not None:
                    run.repair()                             # drop the diverged epoch's diagnostics rows
                break
            state.seconds += time.perf_counter() - t0
            state.epoch = epoch
            parallel.check_in_sync(params, optimizer.steps, force=True)       # before anything is committed
            row = {"epoch": epoch, **_evaluate_all(model, params, splits, cfg), "seconds": state.seconds,
                   "lr": optimizer.current_lr}
            if bar is not None:
                bar.set_postfix(epoch=epoch, val_acc=f"{row['val_acc']:.3f}", refresh=True)
            improved = row["val_loss"] < state.best_val - cfg.min_delta
            if improved:
                state.best_val, state.bad_epochs = row["val_loss"], 0
            else:
                state.bad_epochs += 1
            state.rows.append(row)
            if run is not None:
                run.commit(*_snapshot(model, optimizer, state), row, improved)
            if state.bad_epochs >= cfg.patience:
                stopped = early_stop
                break
    except BaseException as e:
        if bar is not None:
            bar.close()
        if run is not None:
            run.repair()                                     # every file back to the last commit
            kept = f"the run is kept at epoch {run.rows[-1]['epoch']}, its last commit" if run.rows else \
                "nothing was committed"
            why = "interrupted" if isinstance(e, KeyboardInterrupt) else f"{type(e).__name__}: {e}"
            run.close(_summary("interrupted" if isinstance(e, KeyboardInterrupt) else "error", f"{why}; {kept}",
                               config, run.rows))
        raise
    if bar is not None:
        bar.close()
    history = History(state.rows, stopped, config, status)
    if run is not None:
        run.close(_summary(status, stopped, config, state.rows))
    return history


def _summary(status: str, stopped: str, config: dict, rows: list[dict]) -> dict:
    """summary.json: how the run ended, its configuration, the last committed row and the best one."""
    best = History(rows, stopped, config).best() if rows else None
    return {"status": status, "stopped": stopped, "epochs": rows[-1]["epoch"] if rows else None,
            "final": rows[-1] if rows else None, "best": best, "config": config}


def _progress_bar(enabled, total, initial):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, unit="sample", unit_scale=True, dynamic_ncols=True, leave=True)


def _diagnose(model, params, x, y, ctx, grads, step, epoch) -> dict:
    """Cosine and norm ratio between the estimate and the exact gradient on this batch (the step's own
    context, so dropout masks and batch statistics are the same)."""
    _, exact = make_gradient_source("exact")(model, params, x, y, ctx, None)
    xp = namespace(x)
    est = xp.concatenate([xp.ravel(grads[n]) for n in params])
    ref = xp.concatenate([xp.ravel(exact[n]) for n in params])
    norm_est, norm_ref = float(xp.linalg.norm(est)), float(xp.linalg.norm(ref))
    return {"step": step, "epoch": epoch, "cosine": float(est @ ref) / max(norm_est * norm_ref, 1e-300),
            "norm_ratio": norm_est / max(norm_ref, 1e-300)}
