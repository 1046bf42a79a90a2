"""Learning-rate search for training on a dataset: a log-spaced grid per approach, coarse then fine, the
paper's selection rule, and a table in the paper's CSV format (``lrs/<dataset>.csv``).

The paper tuned its learning rates with an evolutionary search (Propulate, log10(lr) in [−6, 0]) on the
final validation loss, then took, among the runs within 5% of the best loss, the learning rate closest
to their mean. Here a grid replaces the evolutionary search (cheap at the size of the bundled digits):

1. coarse: half-decade steps over ``lrs = 10^[-5, 0.5]``;
2. fine: quarter-decade steps around the best coarse value;
3. selection: among all runs whose best validation loss is within 5% of the overall best, the learning
   rate whose log10 is closest to their mean log10.

The objective is the lowest validation loss of a run (training with early stopping), averaged over seeds.
"""
from __future__ import annotations

import math

import numpy as np

from .sweep import run_jobs, write_csv

APPROACHES = [("bp", 1), ("fg", 1), ("mean", 2), ("mean", 4), ("mean", 16), ("frog", 2), ("frog", 4), ("frog", 16)]
COARSE = [10 ** (e / 2) for e in range(-10, 2)]          # 1e-5 … 10^0.5


def _config(approach, k):
    if approach == "bp":
        return "exact", "projection", 1
    return "activity", {"fg": "mean", "mean": "mean", "frog": "projection"}[approach], k


def _run(job):
    """The best validation loss of one (approach, k, lr, seed) training run."""
    from ..data import load
    from ..recipes import build_model
    from ..train import fit
    model, width, dataset, approach, k, lr, seed, epochs = job
    splits = load(dataset)
    net = build_model(model, splits.train.input_shape, splits.train.classes, width=width,
                      rng=np.random.default_rng([seed, 3]))
    grad, method, kk = _config(approach, k)
    history = fit(net, splits, grad=grad, method=method, k=kk, lr=lr, epochs=epochs, seed=seed, progress=False)
    losses = [r["val_loss"] for r in history.rows[1:]]
    finite = [v for v in losses if math.isfinite(v)]
    return min(finite) if finite else math.inf


def select(lrs, losses, tolerance=0.05):
    """The paper's rule: among runs within ``tolerance`` of the best loss, the lr closest (in log10) to their
    mean log10."""
    best = min(losses)
    good = [math.log10(lr) for lr, loss in zip(lrs, losses) if loss <= best * (1 + tolerance)]
    centre = sum(good) / len(good)
    return min((lr for lr, loss in zip(lrs, losses) if loss <= best * (1 + tolerance)),
               key=lambda lr: abs(math.log10(lr) - centre))


def search(model="fcnet", width=256, dataset="digits", approaches=APPROACHES, epochs=30, seeds=(0,),
           workers=None, progress=True):
    """Rows ``{model, dataset, gradient_approach, k, lr, val_loss, runs}`` (one per approach) and all trials."""
    def evaluate(grid):
        jobs = [(model, width, dataset, a, k, lr, s, epochs) for a, k in approaches for lr in grid[(a, k)]
                for s in seeds]
        results = run_jobs(_run, jobs, workers=workers, progress=progress, desc="lr search")
        scores = {}
        for job, loss in zip(jobs, results):
            scores.setdefault((job[3], job[4], job[5]), []).append(loss)
        return {key: float(np.mean(v)) for key, v in scores.items()}

    trials = evaluate({a: COARSE for a in approaches})
    fine = {}
    for a, k in approaches:
        best = min(COARSE, key=lambda lr: trials[(a, k, lr)])
        fine[(a, k)] = [best * 10 ** (s / 4) for s in (-1, 1)]
    trials |= evaluate(fine)
    rows = []
    for a, k in approaches:
        tried = sorted((lr, loss) for (aa, kk, lr), loss in trials.items() if (aa, kk) == (a, k))
        lr = select([t[0] for t in tried], [t[1] for t in tried])
        rows.append({"model": f"{model}_w={width}", "dataset": dataset,
                     "gradient_approach": {"bp": "bp", "fg": "fg-mean", "mean": "fg-mean", "frog": "frog"}[a],
                     "k": "" if a == "bp" else float(k), "lr": lr, "val_loss": trials[(a, k, lr)],
                     "runs": len(tried)})
    return rows, trials


def write_table(path, rows):
    """The selected learning rates in the paper's column layout (model,dataset,gradient_approach,k,lr)."""
    write_csv(path, ["model", "dataset", "gradient_approach", "k", "lr"],
              [{c: r[c] for c in ("model", "dataset", "gradient_approach", "k", "lr")} for r in rows])
