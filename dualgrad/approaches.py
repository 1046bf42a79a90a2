"""The paper's approaches and the names of its aggregations: the one table that every other module imports.

=========  ================  ===========================  ======  ============================  ============
approach   gradient source   aggregation (``aggregate``)  k       meaning                       paper label
=========  ================  ===========================  ======  ============================  ============
bp         the exact one     —                            —       backpropagation's gradient    bp
fg         a perturbation    ``"mean"``                   1       one forward gradient (v·∇f)v  fg-mean k=1
mean       a perturbation    ``"mean"``                   any     (1/k) Σ_i (v_i·∇f) v_i        fg-mean
frog       a perturbation    ``"projection"``             any     P_U ∇f, U = span(v_1 … v_k)   frog
=========  ================  ===========================  ======  ============================  ============

"A perturbation" is activity perturbation for networks (the paper's default) or weight perturbation;
for a function of a vector, the vector itself. The paper label is the ``gradient_approach`` column of
its learning-rate tables.

The same names work as aggregation methods wherever a method is asked for (``estimators.aggregate``,
``forward_gradient``, ``theory``, ``train.fit``, ``dualgrad train --method``): ``METHOD_ALIASES`` maps
the paper's and its code's names to dualgrad's, and ``aggregation_method`` resolves a name for a given k
(``fg`` is the mean of exactly one tangent).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidArgumentError


@dataclass(frozen=True)
class Approach:
    """One row of the table: ``aggregation`` is None for the exact gradient; ``k`` is the fixed number of
    tangents (1 for fg) or None where k is free (mean, frog) or meaningless (bp)."""
    name: str
    aggregation: str | None
    k: int | None
    paper: str
    meaning: str

    @property
    def exact(self) -> bool:
        return self.aggregation is None


APPROACHES: dict[str, Approach] = {a.name: a for a in (
    Approach("bp", None, None, "bp", "the exact gradient (backpropagation)"),
    Approach("fg", "mean", 1, "fg-mean", "the forward gradient of one tangent, (v·∇f) v"),
    Approach("mean", "mean", None, "fg-mean", "the mean of k forward gradients, (1/k) Σ (v_i·∇f) v_i"),
    Approach("frog", "projection", None, "frog", "the orthogonal projection of ∇f onto the k tangents' span"),
)}

#: Other names of aggregations -> the method of ``estimators.aggregate``: the paper's approach names and
#: its code's method names. ``fg`` means the mean of one tangent (see ``aggregation_method``).
METHOD_ALIASES = {"fg": "mean", "fg-mean": "mean", "frog": "projection", "orthogonal_projection": "projection"}


def aggregation_method(method: str, k: int | None = None) -> str:
    """The ``estimators.aggregate`` method of ``method`` (a method or one of ``METHOD_ALIASES``).
    ``fg`` is the single-tangent forward gradient: with k given, k must be 1."""
    if method == "fg" and k is not None and k != 1:
        raise InvalidArgumentError(f"method 'fg' is the forward gradient of ONE tangent: use k = 1, or 'mean' for "
                                   f"the mean of k = {k} forward gradients")
    return METHOD_ALIASES.get(method, method)


def get(name: str) -> Approach:
    """The table row of an approach name (bp, fg, mean, frog); a ValueError names the choices."""
    if name not in APPROACHES:
        raise ValueError(f"unknown approach {name!r}; choose one of {tuple(APPROACHES)}")
    return APPROACHES[name]


def approach_of(grad: str, method: str, k: int) -> str | None:
    """The paper's name of a training configuration (gradient source, aggregation method, k): bp for the exact
    gradient, fg for the mean of one tangent, mean, frog; None for aggregations outside the paper."""
    if grad in ("exact", "bp"):
        return "bp"
    method = aggregation_method(method, k)
    if method == "mean":
        return "fg" if k == 1 else "mean"
    return "frog" if method == "projection" else None


def configuration(name: str, k: int | None = None, perturbation: str = "activity") -> tuple[str, str, int]:
    """(gradient source, aggregation method, k) that trains with an approach: bp -> ("exact", "projection", 1)
    (the method is unused), fg -> (perturbation, "mean", 1), mean / frog -> (perturbation, method, k)."""
    a = get(name)
    if a.exact:
        return "exact", "projection", 1
    if a.k is None and k is None:
        raise ValueError(f"approach {name!r} needs k, the number of tangents")
    return perturbation, a.aggregation, a.k or k


def label(name: str, k: int | None = None) -> str:
    """How tables and legends name a run: ``bp``, ``fg``, ``mean k=16``, ``frog k=2``; other methods by their
    own name and k."""
    a = APPROACHES.get(name)
    if a is not None and (a.exact or a.k is not None):
        return name
    return f"{name} k={k}"


def pairs(names: Iterable[str], ks: Iterable[int]) -> list[tuple[str, int | None]]:
    """(approach, k) pairs in the table's order: bp (k None), fg (k = 1), mean and frog with each of ``ks``."""
    names = set(names)
    unknown = names - set(APPROACHES)
    if unknown:
        raise ValueError(f"unknown approaches {sorted(unknown)}; choose from {tuple(APPROACHES)}")
    ks = sorted(set(ks))
    out = []
    for a in APPROACHES.values():
        if a.name in names:
            out += [(a.name, None)] if a.exact else [(a.name, a.k)] if a.k is not None else [(a.name, k) for k in ks]
    return out


def from_paper(label_: str, k: int | None) -> str:
    """Our approach name of a row of the paper's learning-rate tables: (gradient_approach, k) -> bp, fg, mean,
    frog (``fg-mean`` with k = 1 is fg)."""
    if label_ == "fg-mean":
        return "fg" if k == 1 else "mean"
    if label_ in ("bp", "frog"):
        return label_
    raise ValueError(f"unknown gradient_approach {label_!r} in a learning-rate table (bp, fg-mean, frog)")
