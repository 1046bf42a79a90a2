"""Learning rates: the paper's tuned tables, the scale rule that lets one base rate serve every estimator,
k and width, and the defaults of ``dualgrad train`` and the network experiments.

    default_lr("resnet", "mnist-5k", "activity", "projection", 16, n=17258)   # (lr, where it comes from)
    scale("projection", 16, 522)                                              # √(n/k) = 5.71
    lr_for("math", "sphere", 1024, "frog", 16)                                # 0.486, the paper's table
    lr_for("fc_nns", "fc_w=256", approach="frog", k=16)                       # dataset="mnist"

**The scale rule.** For Gaussian tangents the estimators' mean squared length relative to the gradient is
ρ = E‖ĝ‖²/‖∇f‖² = (n + k + 1)/k for the mean (fg: k = 1), k/n for the projection (1 for k ≥ n) and
k(n + k + 1) for the sum (``estimators.theory.expected_squared_norm_ratio``; n = the number of perturbed
values). The learning rate ``base · scale(method, k, n)`` with scale = 1/√ρ gives every estimator the same
root-mean-square step, base·‖∇f‖: so one ``base`` transfers across approaches, k and widths
(docs/estimators.md §5 derives it and shows that the paper's own tuned rates obey it). Aggregations
without a theory (max, max_normalized, mean_of_top_k keep one tangent's forward gradient or a few) take
fg's scale.

**Defaults** (``default_lr``), per model and dataset from ``lrs/base.csv`` (columns model, dataset, bp, base,
source): the exact gradient takes ``bp``; every forward gradient ``base · scale(method, k, n)``. A model and
dataset without a row take the untuned ``BP_LR`` and ``BASE_LR``. How each row was found is in
``lrs/README.md``: for the FC net on digits and on MNIST, the geometric mean of a tuned per-approach table
through the rule (``table_rates``); for the rest a search over the base rate (``dualgrad experiment
lr-search``).

**The paper's tables** (``lrs/*.csv`` in the paper's layout, ``lr_for`` / ``lr_source``): approaches use
dualgrad's names (``dualgrad.approaches``: bp, fg = k 1, mean, frog) or the paper's labels (``fg-mean``,
``frog``). Where a table has no row, two documented rules apply, in this order (``lr_source`` says which):

1. ``sampler``: a non-Gaussian sampler falls back to the ``sampler=normal`` row, as the paper's code
   does (its §4.3 table has frog rows for normal tangents only, used for every angle).
2. ``(n/k) mean``: a missing frog value is (n/k)·lr_mean at the same k (for k < n). For n ≫ k,
   P_U∇f ≈ (k/n)·ḡ_V, so the two steps agree; the shipped tables follow it
   (sphere n = 1024, k = 16: 0.486 / 0.0075 = 65 ≈ 64). Needs ``n``; not used for k ≥ n, where the
   projection is the exact gradient and no rule links it to the mean.

Anything else raises ``LearningRateNotFound`` listing what the table has for that task.
"""
from __future__ import annotations

import csv
import functools
import math
import re
from pathlib import Path

from . import approaches
from .estimators.theory import expected_squared_norm_ratio

TABLE_DIR = Path(__file__).with_name("lrs")
TABLES = ("math", "math__custom_tangents", "fc_nns", "sota_nns", "digits")
BP_LR = 0.05          # untuned defaults for a model and dataset without a row in lrs/base.csv
BASE_LR = 0.01


class LearningRateNotFound(LookupError):
    """The table has no tuned learning rate for this combination and no fallback rule applies."""


@functools.cache
def load_table(table: str) -> tuple[dict, ...]:
    """The rows of ``lrs/<table>.csv`` as dicts with keys task, n, dataset, approach, k, sampler, lr.

    ``task`` is the function (math tables) or the model (NN tables); ``n`` and ``dataset`` are None
    where the table has no such column; ``k`` is None for bp; ``sampler`` is the paper's label
    ("normal", "specific_angle_30", ...), "normal" where the table does not say.
    """
    if table not in TABLES:
        raise ValueError(f"unknown learning-rate table {table!r}; the package ships {TABLES}")
    rows = []
    with open(TABLE_DIR / f"{table}.csv", newline="") as fh:
        for raw in csv.DictReader(fh):
            sampler = re.search(r"sampler=([^,)]+)", raw.get("optimizer", ""))
            rows.append({
                "task": raw.get("function") or raw["model"],
                "n": int(raw["n"]) if raw.get("n") else None,
                "dataset": raw.get("dataset"),
                "approach": raw["gradient_approach"],
                "k": int(float(raw["k"])) if raw["k"] else None,
                "sampler": sampler.group(1) if sampler else "normal",
                "lr": float(raw["lr"]),
            })
    return tuple(rows)


def _approach_name(approach: str, k: int | None) -> str:
    """Our approach name (bp, fg, mean, frog) of ours or of a paper label / method name (fg-mean, projection)."""
    if approach in approaches.APPROACHES:
        return approach
    name = approaches.approach_of("activity", approach, 1 if k is None else k)
    if name is None:
        raise ValueError(f"unknown approach {approach!r}; choose one of {tuple(approaches.APPROACHES)} "
                         "(or the paper's fg-mean)")
    return name


def paper_sampler(sampler: str = "normal", angle: float | None = None) -> str:
    """The paper's sampler label: "normal", or "specific_angle_<degrees>" for ``sampler="angle"``."""
    if sampler == "angle":
        if angle is None:
            raise ValueError("sampler='angle' needs angle=<degrees>")
        return f"specific_angle_{angle:g}"
    return sampler


def lr_source(table: str, task: str, n: int | None = None, approach: str = "frog", k: int | None = None, *,
              sampler: str = "normal", angle: float | None = None, dataset: str | None = None) -> tuple[float, str]:
    """``(lr, source)``: the learning rate ``lr_for`` returns and where it came from: "table",
    "sampler=normal" or "(n/k) mean" (the fallback rules of the module docstring)."""
    row = approaches.get(_approach_name(approach, k))
    paper = row.paper
    k = None if row.exact else (row.k or k)
    if k is None and not row.exact:
        raise ValueError(f"approach {approach!r} needs k")
    label = paper_sampler(sampler, angle)
    rows = [r for r in load_table(table) if r["task"] == task
            and (r["n"] is None or n is None or r["n"] == n)
            and (dataset is None or r["dataset"] is None or r["dataset"] == dataset)]

    def find(approach_, sampler_):
        hits = {r["lr"] for r in rows if r["approach"] == approach_ and r["k"] == k
                and (approach_ == "bp" or r["sampler"] == sampler_)}
        if len(hits) > 1:
            raise LearningRateNotFound(f"{table}: several learning rates for {task} {approach_} k={k}; "
                                       "give n (and dataset) to pick one")
        return hits.pop() if hits else None

    if (lr := find(paper, label)) is not None:
        return lr, "table"
    if label != "normal" and (lr := find(paper, "normal")) is not None:
        return lr, "sampler=normal"
    if paper == approaches.get("frog").paper and n is not None and k < n:
        mean_label = approaches.get("mean").paper
        mean = find(mean_label, label)
        mean = find(mean_label, "normal") if mean is None else mean
        if mean is not None:
            return n / k * mean, "(n/k) mean"
    if rows:
        have = sorted({(r["approach"], r["k"] or 0, r["sampler"]) for r in rows})
        listing = ", ".join(f"{a}{f' k={b}' if b else ''} ({c})" for a, b, c in have)
    else:
        tasks = [r for r in load_table(table) if r["task"] == task]
        listing = (f"n in {sorted({r['n'] for r in tasks})}" if tasks
                   else f"tasks {sorted({r['task'] for r in load_table(table)})}")
    raise LearningRateNotFound(
        f"no tuned learning rate in lrs/{table}.csv for {task} n={n} {approach} k={k} sampler={label}"
        f"{'' if dataset is None else f' dataset={dataset}'}, and no fallback rule applies "
        f"(the table has {listing}). Give the learning rate "
        "explicitly (--lr).")


def lr_for(table: str, task: str, n: int | None = None, approach: str = "frog", k: int | None = None, *,
           sampler: str = "normal", angle: float | None = None, dataset: str | None = None) -> float:
    """The paper's tuned learning rate for ``task`` (function or model) at dimension ``n`` with
    ``approach`` and ``k`` tangents (``k`` ignored for bp, 1 for fg); ``sampler``/``angle`` select
    the §4.3 tables' tangents, ``dataset`` the NN tables' dataset. Raises ``LearningRateNotFound``
    where the table has no value and no fallback rule of the module docstring applies."""
    return lr_source(table, task, n, approach, k, sampler=sampler, angle=angle, dataset=dataset)[0]


# ----- the scale rule and the defaults -------------------------------------------------------------------------
def scale(method: str, k: int, n: int) -> float:
    """1/√ρ, ρ = E‖ĝ‖²/‖∇f‖² of ``method`` (an aggregation or alias) with k Gaussian tangents in n dimensions:
    √(k/(n+k+1)) for the mean, √(n/k) for the projection (1 for k ≥ n), 1/√(k(n+k+1)) for the sum; fg's value
    (k = 1) for the aggregations without a theory (see the module docstring)."""
    method = approaches.aggregation_method(method, k)
    if method not in ("mean", "projection", "sum"):
        method, k = "mean", 1
    return 1.0 / math.sqrt(expected_squared_norm_ratio(n, k, method))


@functools.cache
def base_rates() -> dict[tuple[str, str], dict]:
    """``lrs/base.csv`` as {(model, dataset): {"bp": lr, "base": lr, "source": text}}."""
    with open(TABLE_DIR / "base.csv", newline="") as fh:
        return {(r["model"], r["dataset"]): {"bp": float(r["bp"]), "base": float(r["base"]), "source": r["source"]}
                for r in csv.DictReader(fh)}


def default_lr(model: str, dataset: str, grad: str, method: str, k: int, n: int) -> tuple[float, str]:
    """(learning rate, where it comes from) for training ``model`` on ``dataset`` with the gradient source
    ``grad`` (exact, activity, weight), aggregation ``method`` and k tangents over n perturbed values per
    sample: ``bp`` of lrs/base.csv for the exact gradient, ``base · scale(method, k, n)`` otherwise (module
    docstring)."""
    row = base_rates().get((model, dataset))
    where = "lrs/base.csv" if row else "untuned"
    bp, base = (row["bp"], row["base"]) if row else (BP_LR, BASE_LR)
    if approaches.approach_of(grad, method, k) == "bp":
        return bp, f"{where}: bp"
    factor = scale(method, k, n)
    return base * factor, f"{where}: base {base:.3g} × scale {factor:.3g} (n={n})"


def table_rates(table: str, dataset: str, n_of, task: str | None = None) -> tuple[float, float]:
    """(bp, base) of a tuned per-approach table in the paper's layout: the geometric mean of its bp rows, and
    of lr / scale(approach, k, n) over its forward-gradient rows, where ``n_of(task)`` is the number of perturbed
    values per sample of the table's model ``task`` (all models, or only ``task``). How ``lrs/base.csv`` turns a
    tuned table into one base rate, and where the base-rate search starts from the paper's values."""
    bp, base = [], []
    for r in load_table(table):
        if r["dataset"] != dataset or r["sampler"] != "normal" or task not in (None, r["task"]):
            continue
        row = approaches.get(approaches.from_paper(r["approach"], r["k"]))
        if row.exact:
            bp.append(math.log(r["lr"]))
        else:
            base.append(math.log(r["lr"] / scale(row.aggregation, r["k"], n_of(r["task"]))))
    if not bp or not base:
        raise LearningRateNotFound(f"lrs/{table}.csv has no bp and forward-gradient rows for dataset {dataset!r}")
    return math.exp(sum(bp) / len(bp)), math.exp(sum(base) / len(base))
