"""The training loop: epoch-0 evaluation, per-epoch train/val/test metrics, early stopping, divergence
handling, atomic checkpoints and bit-for-bit resume, a progress bar, and live gradient diagnostics.

    history = fit(model, splits, grad="activity", method="projection", k=16, epochs=30, out="runs/x")

Files written under ``out`` (when given):

- ``metrics.jsonl`` / ``metrics.csv``: one row per epoch (epoch 0 = before training) with epoch, train_loss,
  train_acc, val_loss, val_acc, test_loss, test_acc, seconds (cumulative training time), lr;
- ``checkpoint.npz``: the last good state (parameters, buffers, optimizer state, all RNG states, epoch,
  early-stopping state, history), rewritten atomically after every epoch; ``best.npz``: the state with
  the lowest validation loss; ``--resume`` continues from ``checkpoint.npz`` exactly as the
  uninterrupted run would have;
- ``diagnostics.jsonl`` (with ``diagnostics_every``): cosine and norm ratio between the estimate and
  the exact gradient on the same batch, every N steps;
- ``summary.json``: the configuration, why training stopped, and the final row.

Stopping: the epoch budget, early stopping on the validation loss (``patience`` epochs without an
improvement larger than ``min_delta``), or divergence — a training loss that is NaN/inf or at least
``loss_bound`` (the paper aborts at 10) stops at once; the parameters of the last good epoch are
restored and its checkpoint is left untouched, and the reason is reported.
"""
from __future__ import annotations

import csv
import json
import math
import pathlib
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from . import checkpoint
from .data import Dataset, Splits, batches
from .gradients import make_gradient_source
from .nn import Context
from .optim import OPTIMIZERS, schedule
from .parallel import SINGLE_PROCESS
from .rules.nn import softmax_cross_entropy

#: Settings a resumed run may change without changing its trajectory (epochs: only with a constant schedule,
#: since the others depend on the total number of steps).
RESUMABLE_CHANGES = {"epochs", "patience", "min_delta", "diagnostics_every", "eval_batch_size"}

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
    lr_schedule: str = "constant"     # "constant" | "cosine" | "step"
    batch_size: int = 64
    eval_batch_size: int = 1024
    epochs: int = 30
    patience: int = 10
    min_delta: float = 0.0
    loss_bound: float = 10.0
    seed: int = 0
    diagnostics_every: int = 0
    threads: int | None = 1           # BLAS threads during training (None: the library default); see fit
    extra: dict = field(default_factory=dict)


@dataclass
class History:
    rows: list
    stopped: str
    config: dict

    def final(self) -> dict:
        return self.rows[-1]

    def best(self) -> dict:
        return min(self.rows, key=lambda r: r["val_loss"] if math.isfinite(r["val_loss"]) else math.inf)


# ----- evaluation -------------------------------------------------------------------------------------------
def evaluate(model, params, data: Dataset, batch_size: int = 1024) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``data`` (inference mode: no dropout, running BN stats)."""
    ctx = Context(training=False)
    total_loss, correct = 0.0, 0
    for x, y in batches(data, batch_size):
        logits = model.forward(x, params, ctx)
        total_loss += float(softmax_cross_entropy(logits, y, reduction="sum"))
        correct += int(np.sum(np.argmax(logits, axis=-1) == y))
    return total_loss / len(data), correct / len(data)


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


def _snapshot(model, optimizer, state: _RunState, cfg: TrainConfig) -> tuple[dict, dict]:
    """(arrays, meta): everything a checkpoint holds."""
    arrays = {f"params/{n}": a for n, a in model.parameters().items()}
    arrays |= {f"buffers/{n}": a for n, a in model.buffers().items()}
    opt_state = optimizer.state_dict()
    for pname, slot in opt_state["state"].items():
        for key, a in slot.items():
            arrays[f"optim/{key}/{pname}"] = a
    meta = state.meta() | {"optimizer_steps": opt_state["steps"], "config": asdict(cfg)}
    return arrays, meta


def _save(path, model, optimizer, state: _RunState, cfg: TrainConfig):
    checkpoint.save(path, *_snapshot(model, optimizer, state, cfg))


def _restore(path, model, optimizer, state: _RunState):
    return _apply(*checkpoint.load(path), model, optimizer, state)


def _apply(arrays, meta, model, optimizer, state: _RunState):
    """Set the model, optimizer and run state from a ``_snapshot``; returns its meta."""
    model.set_parameters({n[len("params/"):]: a for n, a in arrays.items() if n.startswith("params/")})
    model.set_buffers({n[len("buffers/"):]: a for n, a in arrays.items() if n.startswith("buffers/")})
    opt_state: dict = {}
    for n, a in arrays.items():
        if n.startswith("optim/"):
            _, key, pname = n.split("/", 2)
            opt_state.setdefault(pname, {})[key] = a
    optimizer.load_state_dict({"steps": meta["optimizer_steps"], "state": opt_state})
    state.restore(meta)
    return meta


def make_optimizer(cfg: TrainConfig, steps_per_epoch: int):
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    lr_schedule = schedule(cfg.lr_schedule, total_steps=cfg.epochs * steps_per_epoch)
    kwargs = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, "lr_schedule": lr_schedule}
    if cfg.optimizer == "sgd":
        kwargs["momentum"] = cfg.momentum
    return OPTIMIZERS[cfg.optimizer](**kwargs)


# ----- the loop ----------------------------------------------------------------------------------------------------
def fit(model, splits: Splits, cfg: TrainConfig | None = None, *, out=None, resume: bool = False,
        progress: bool = True, parallel=SINGLE_PROCESS, **overrides) -> History:
    """Train ``model`` on ``splits`` with the gradient source ``cfg.grad`` (see the module docstring).

    BLAS runs with ``cfg.threads`` threads (default 1): the GEMMs of mini-batch training are small, and
    OpenBLAS's spinning worker threads cost far more than they save on them, by a factor of 10 or more
    when other processes share the cores. Raise it for wide models.

    ``parallel=TangentParallel()`` (under ``mpiexec``): the k tangent columns of every step are split over the
    MPI ranks (``dualgrad.parallel``); rank 0 sets the run up and alone writes to ``out`` and shows progress.
    """
    cfg = replace(cfg or TrainConfig(), **overrides)       # a TypeError names an unknown option
    if cfg.diagnostics_every and out is None:
        raise ValueError("diagnostics_every writes diagnostics.jsonl: give an output directory (out=...)")
    if parallel.size > 1 and cfg.grad not in ("weight", "activity"):
        raise ValueError(f"tangent-parallel training splits the k tangents of weight or activity perturbation "
                         f"over the MPI ranks; --grad {cfg.grad} has none: run it in one process")
    with threadpool_limits(cfg.threads):
        return _fit(model, splits, cfg, out, resume, progress, parallel)


def _fit(model, splits, cfg, out, resume, progress, parallel) -> History:
    out = pathlib.Path(out) if out is not None else None
    steps_per_epoch = math.ceil(len(splits.train) / cfg.batch_size)
    optimizer = make_optimizer(cfg, steps_per_epoch)
    source = make_gradient_source(cfg.grad, method=cfg.method, k=cfg.k, sampler=cfg.sampler, parallel=parallel)
    state = _RunState(cfg)
    snapshot = parallel.from_root(lambda: _set_up(out, resume, cfg, model, optimizer, state, parallel.size > 1))
    if not parallel.is_root:                        # start from rank 0's state; write nothing, show nothing
        _apply(*snapshot, model, optimizer, state)
        out, progress = None, False
    def record(row):
        state.rows.append(row)
        if out is not None:
            with open(out / "metrics.jsonl", "a") as fh:
                fh.write(json.dumps(row) + "\n")
            new = not (out / "metrics.csv").exists()
            with open(out / "metrics.csv", "a", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=FIELDS)
                if new:
                    writer.writeheader()
                writer.writerow(row)

    params = model.parameters()
    if state.epoch == 0 and not state.rows:
        record({"epoch": 0, **_evaluate_all(model, params, splits, cfg), "seconds": 0.0, "lr": optimizer.current_lr})
        if out is not None:
            _save(out / "checkpoint.npz", model, optimizer, state, cfg)

    stopped = "epoch budget reached"
    bar = _progress_bar(progress, total=cfg.epochs * len(splits.train), initial=state.epoch * len(splits.train))
    while state.epoch < cfg.epochs:
        epoch = state.epoch + 1
        t0 = time.perf_counter()
        last_good = {n: a.copy() for n, a in params.items()}
        diverged = None
        for step, (x, y) in enumerate(batches(splits.train, cfg.batch_size, state.shuffle_rng)):
            ctx = Context(rng=state.dropout_rng, training=True)
            loss, grads = source(model, params, x, y, ctx, state.tangent_rng)
            if not math.isfinite(loss) or loss >= cfg.loss_bound:
                diverged = f"diverged in epoch {epoch}, step {step}: training loss {loss:.4g} " + (
                    "is not finite" if not math.isfinite(loss) else f">= the bound {cfg.loss_bound}")
                break
            if cfg.diagnostics_every and out is not None and optimizer.steps % cfg.diagnostics_every == 0:
                _diagnose(out, model, params, x, y, ctx, grads, optimizer.steps, epoch)
            optimizer.step(params, grads)
            parallel.check_in_sync(params, optimizer.steps)
            if bar is not None:
                bar.update(len(y))
                bar.set_postfix(epoch=epoch, loss=f"{loss:.4f}", refresh=False)
        if diverged:
            for n, a in last_good.items():
                params[n][...] = a
            stopped = diverged + "; restored the parameters of the last good epoch"
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
        record(row)
        if out is not None:
            _save(out / "checkpoint.npz", model, optimizer, state, cfg)
            if improved:
                _save(out / "best.npz", model, optimizer, state, cfg)
        if state.bad_epochs >= cfg.patience:
            stopped = f"early stopping: no validation improvement for {cfg.patience} epochs"
            break
    if bar is not None:
        bar.close()
    history = History(state.rows, stopped, asdict(cfg))
    if out is not None:
        with open(out / "summary.json", "w") as fh:
            json.dump({"stopped": stopped, "config": asdict(cfg), "final": state.rows[-1],
                       "best": history.best()}, fh, indent=1)
    return history


def _set_up(out, resume, cfg, model, optimizer, state, snapshot: bool):
    """The run directory: restore from it (``resume``) or clear its metrics. Returns a ``_snapshot`` of the
    state to start from when ``snapshot`` (for the other ranks of a tangent-parallel run), else None."""
    if resume:
        if out is None or not (out / "checkpoint.npz").exists():
            raise FileNotFoundError(f"--resume: no checkpoint.npz in {out}")
        meta = _restore(out / "checkpoint.npz", model, optimizer, state)
        free = RESUMABLE_CHANGES - ({"epochs"} if cfg.lr_schedule != "constant" else set())
        changed = sorted(k for k, v in asdict(cfg).items() if meta["config"].get(k) != v and k not in free)
        if changed:
            raise ValueError(f"--resume: the checkpoint was written with different settings ({changed}); "
                             "resume with the same settings or start a new --out directory")
    elif out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name in ("metrics.jsonl", "metrics.csv", "diagnostics.jsonl"):
            (out / name).unlink(missing_ok=True)
    return _snapshot(model, optimizer, state, cfg) if snapshot else None


def _progress_bar(enabled, total, initial):
    if not enabled:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, unit="sample", unit_scale=True, dynamic_ncols=True, leave=True)


def _diagnose(out, model, params, x, y, ctx, grads, step, epoch):
    """Cosine and norm ratio between the estimate and the exact gradient on this batch (the step's own
    context, so dropout masks and batch statistics are the same)."""
    _, exact = make_gradient_source("exact")(model, params, x, y, ctx, None)
    est = np.concatenate([np.ravel(grads[n]) for n in params])
    ref = np.concatenate([np.ravel(exact[n]) for n in params])
    norm_est, norm_ref = float(np.linalg.norm(est)), float(np.linalg.norm(ref))
    row = {"step": step, "epoch": epoch, "cosine": float(est @ ref) / max(norm_est * norm_ref, 1e-300),
           "norm_ratio": norm_est / max(norm_ref, 1e-300)}
    with open(out / "diagnostics.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")
