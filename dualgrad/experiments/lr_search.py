"""Learning-rate searches for training a network on a dataset, scored and selected by the paper's rule.

The paper tuned its learning rates with an evolutionary search (Propulate, log10(lr) in [−6, 0]) on the
validation loss, then took, among the runs within 5% of the best loss, the learning rate closest to their
mean. Here log grids replace the evolutionary search. Each trial is one run of ``experiments.networks``
(the paper's training: plain SGD, batch 64, early stopping, abort at a training loss ≥ 10); its score is its
lowest validation loss, or +inf when it diverged (the paper's objective, the validation loss where a run
ends, punishes divergence too). Two searches:

- ``search`` (``dualgrad experiment lr-search``): one learning rate per approach and k — half-decade steps over
  ``COARSE`` = 10^[−5, 0.5], then quarter-decade steps around the best; the table ``lrs/digits.csv`` came from it;
- ``search_base`` (``dualgrad experiment lr-search --base``): the base rate of ``learning_rates`` — one number
  per model and dataset that ``learning_rates.scale`` turns into every estimator's rate — and bp's rate:
  half-decade steps over a decade either side of a start value (the paper's values through the scale rule,
  ``learning_rates.table_rates``), extended by two more steps while the pick lies on an edge of the grid.
  The base rate is scored on the configurations ``BASE_CONFIGS``, fg and frog k = 16, the two ends of k, so
  that the pick is the one rate that serves both; a trial's score is the mean over them and over the seeds,
  and the rule's 5% is taken of the reduction of the validation loss from its untrained value (``select``):
  in a search of a few epochs forward gradients may lower it by 1% only, and 5% of the loss would then
  admit every candidate.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import approaches
from ..gradients import num_activities
from ..learning_rates import scale, table_rates
from . import networks
from .sweep import run_jobs, write_csv

APPROACHES = [("bp", None), ("fg", 1), ("mean", 2), ("mean", 4), ("mean", 16), ("frog", 2), ("frog", 4),
              ("frog", 16)]
COARSE = [10 ** (e / 2) for e in range(-10, 2)]          # 1e-5 … 10^0.5
BASE_CONFIGS = (("fg", 1), ("frog", 16))
#: The paper's models and their activities per sample on MNIST (its ResNet18 and ViT; its FC net is 2W + 10):
#: where ``search_base`` starts from the paper's tuned values for our ``resnet``, ``vit`` and ``fcnet``.
PAPER_MODELS = {"resnet": ("sota_nns", "resnet18", 9866), "vit": ("sota_nns", "vit", 64010)}


def _losses(job) -> tuple[float, float]:
    """(the lowest validation loss of one training run, +inf when it diverged; its validation loss untrained)."""
    row, curves = networks.execute(job)
    start = curves[0]["val_loss"]
    if row["stopped"] == "diverged":
        return math.inf, start
    finite = [c["val_loss"] for c in curves if math.isfinite(c["val_loss"])]
    return (min(finite) if finite else math.inf), start


def _score(job) -> float:
    """The lowest validation loss of one training run, +inf when it diverged."""
    return _losses(job)[0]


def select(lrs, losses, tolerance=0.05, start: float | None = None):
    """The paper's rule: among the runs within ``tolerance`` of the best, the lr closest (in log10) to their mean
    log10. Within tolerance: loss ≤ (1 + tolerance)·best; with ``start`` (the loss before training), measured on
    the reduction instead, start − loss ≥ (1 − tolerance)·(start − best): the same where losses fall far, and
    still selective where they barely move in the search's epochs (then every loss is within 5% of the best).
    Raises when every loss is infinite (every run diverged)."""
    best = min(losses)
    if not math.isfinite(best):
        raise ValueError("every trial diverged: search lower learning rates")
    if start is None:
        good = [lr for lr, loss in zip(lrs, losses) if loss <= best * (1 + tolerance)]
    else:
        good = [lr for lr, loss in zip(lrs, losses) if start - loss >= (1 - tolerance) * (start - best)]
    centre = sum(math.log10(lr) for lr in good) / len(good)
    return min(good, key=lambda lr: abs(math.log10(lr) - centre))


def _trial(model, width, dataset, approach, k, lr, seed, epochs, data_dir=None) -> networks.Run:
    return networks.Run(dataset, model, width, approach, k, seed, lr, "search", epochs, data_dir)


def search(model="fcnet", width=256, dataset="digits", configs=APPROACHES, epochs=30, seeds=(0,),
           workers=None, progress=True):
    """One learning rate per (approach, k): rows ``{model, dataset, gradient_approach, k, lr, val_loss, runs}``
    (the paper's table layout plus the score) and all trials {(approach, k, lr): score}."""
    def evaluate(grid):
        jobs = [_trial(model, width, dataset, a, k, lr, s, epochs) for a, k in configs for lr in grid[(a, k)]
                for s in seeds]
        results = run_jobs(_score, jobs, workers=workers, progress=progress, desc="lr search")
        scores = {}
        for job, loss in zip(jobs, results):
            scores.setdefault((job.approach, job.k, job.lr), []).append(loss)
        return {key: float(np.mean(v)) for key, v in scores.items()}

    trials = evaluate({c: COARSE for c in configs})
    fine = {}
    for a, k in configs:
        best = min(COARSE, key=lambda lr: trials[(a, k, lr)])
        fine[(a, k)] = [best * 10 ** (s / 4) for s in (-1, 1)]
    trials |= evaluate(fine)
    rows = []
    for a, k in configs:
        tried = sorted((lr, loss) for (aa, kk, lr), loss in trials.items() if (aa, kk) == (a, k))
        lr = select([t[0] for t in tried], [t[1] for t in tried])
        rows.append({"model": f"{model}_w={width}", "dataset": dataset, "gradient_approach": approaches.get(a).paper,
                     "k": "" if k is None else float(k), "lr": lr, "val_loss": trials[(a, k, lr)],
                     "runs": len(tried)})
    return rows, trials


def paper_start(model: str, width: int) -> tuple[float, float]:
    """(bp, base) where ``search_base`` starts: the paper's tuned MNIST values for this model through the scale
    rule (``learning_rates.table_rates``): its FC nets' table for fcnet (every width), its ResNet18's and ViT's
    for resnet and vit."""
    if model == "fcnet":
        return table_rates("fc_nns", "mnist", lambda task: 2 * int(task.split("=")[1]) + 10)
    if model not in PAPER_MODELS:
        raise ValueError(f"no paper values for {model!r}: give the start (--start BP BASE)")
    table, task, n = PAPER_MODELS[model]
    return table_rates(table, "mnist", lambda _: n, task=task)


def search_base(model: str, width: int, dataset: str, start: tuple[float, float] | None = None,
                configs: Sequence = BASE_CONFIGS, epochs: int = 10, seeds=(0,), data_dir=None, workers=None,
                progress=True) -> tuple[dict, list[dict]]:
    """bp's rate and the base rate for ``model`` on ``dataset`` (module docstring): returns
    ``{"bp": lr, "base": lr}`` and every trial as a row {kind, approach, k, seed, rate, lr, score}, where ``rate``
    is the candidate (bp's lr or the base) and ``lr`` the run's own (base × scale)."""
    start = start or paper_start(model, width)
    data = networks.splits(dataset, data_dir)
    n = num_activities(networks.model_of(networks.Grid(model, width, (), (), 0), dataset, data_dir),
                       data.train.input_shape)
    trials: list[dict] = []

    def evaluate(kind, rates):
        setups = [("bp", None)] if kind == "bp" else list(configs)
        jobs, meta = [], []
        for rate in rates:
            for approach, k in setups:
                grad, method, kk = approaches.configuration(approach, k)
                lr = rate if kind == "bp" else rate * scale(method, kk, n)
                for seed in seeds:
                    jobs.append(_trial(model, width, dataset, approach, k, lr, seed, epochs, data_dir))
                    meta.append({"kind": kind, "approach": approach, "k": k, "seed": seed, "rate": rate, "lr": lr})
        results = run_jobs(_losses, jobs, workers=workers, progress=progress, desc=f"{kind} search")
        trials.extend(m | {"score": score, "start": start} for m, (score, start) in zip(meta, results))

    picks = {}
    for kind, centre, steps in (("bp", start[0], (-1, 0, 1)), ("base", start[1], (-2, -1, 0, 1, 2))):
        rates = [centre * 10 ** (s / 2) for s in steps]
        evaluate(kind, rates)
        for _ in range(2):                                     # extend while the pick sits on an edge
            tried = sorted({t["rate"] for t in trials if t["kind"] == kind})
            pick = _pick(trials, kind, tried)
            if pick not in (tried[0], tried[-1]):
                break
            direction = -1 if pick == tried[0] else 1
            evaluate(kind, [pick * 10 ** (direction * s / 2) for s in (1, 2)])
        tried = sorted({t["rate"] for t in trials if t["kind"] == kind})
        picks[kind] = _pick(trials, kind, tried)
    return picks, trials


def _pick(trials, kind, rates):
    losses = [float(np.mean([t["score"] for t in trials if t["kind"] == kind and t["rate"] == r])) for r in rates]
    return select(rates, losses, start=float(np.mean([t["start"] for t in trials if t["kind"] == kind])))


def write_table(path, rows):
    """The selected learning rates in the paper's column layout (model,dataset,gradient_approach,k,lr)."""
    write_csv(path, ["model", "dataset", "gradient_approach", "k", "lr"],
              [{c: r[c] for c in ("model", "dataset", "gradient_approach", "k", "lr")} for r in rows])
