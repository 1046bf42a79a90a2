"""The paper's tuned learning rates (``lrs/*.csv``, shipped as package data; see ``lrs/README.md``).

    lr_for("math", "sphere", 1024, "frog", 16)                          # 0.486
    lr_for("math__custom_tangents", "styblinski-tang", 64, "mean", 16, sampler="angle", angle=30)
    lr_for("fc_nns", "fc_w=256", approach="frog", k=16)                 # dataset="mnist"

Approaches use dualgrad's names: ``bp`` (exact gradient, no k), ``fg`` (one tangent, k = 1),
``mean`` (the paper's fg-mean) and ``frog`` (the orthogonal projection); the paper's own names
(``fg-mean``, ``projection``) are accepted too.

Where a table has no row, two documented rules apply, in this order (``lr_source`` says which):

1. ``sampler``: a non-Gaussian sampler falls back to the ``sampler=normal`` row, as the paper's code
   does (its §4.3 table has frog rows for normal tangents only, used for every angle).
2. ``(n/k) mean``: a missing frog value is (n/k)·lr_mean at the same k (for k < n). For n ≫ k,
   P_U∇f ≈ (k/n)·ḡ_V (docs/paper.md, section 3), so the two steps agree; the shipped tables follow it
   (sphere n = 1024, k = 16: 0.486 / 0.0075 = 65 ≈ 64). Needs ``n``; not used for k ≥ n, where the
   projection is the exact gradient and no rule links it to the mean.

Anything else raises ``LearningRateNotFound`` listing what the table has for that task.
"""
from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

TABLE_DIR = Path(__file__).with_name("lrs")
TABLES = ("math", "math__custom_tangents", "fc_nns", "sota_nns", "digits")
#: Our approach names -> the paper's ``gradient_approach`` column.
PAPER_APPROACH = {"bp": "bp", "fg": "fg-mean", "mean": "fg-mean", "fg-mean": "fg-mean",
                  "frog": "frog", "projection": "frog"}


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
    if approach not in PAPER_APPROACH:
        raise ValueError(f"unknown approach {approach!r}; choose one of {sorted(PAPER_APPROACH)}")
    paper = PAPER_APPROACH[approach]
    k = None if paper == "bp" else (1 if approach == "fg" else k)
    if paper != "bp" and k is None:
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
    if paper == "frog" and n is not None and k < n:
        mean = find("fg-mean", label)
        mean = find("fg-mean", "normal") if mean is None else mean
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
