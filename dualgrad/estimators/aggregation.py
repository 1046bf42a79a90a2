"""Aggregations: k directional derivatives d_i = ∇f·v_i and the tangents v_i -> one gradient estimate.

Shapes: ``V`` is ``(k, n)`` (one tangent per row, the paper's ``Vᵀ``), ``d`` is ``(k,)`` or ``(k, B)``
(one column per sample, all sharing the same tangents). The estimate is ``(n,)`` or ``(n, B)``.

| method             | estimate                                                   | E over Gaussian V |
|--------------------|------------------------------------------------------------|-------------------|
| "sum"              | Σ_i d_i v_i = V ᵀd                                          | k ∇f              |
| "mean"             | (1/k) Σ_i d_i v_i            (the paper's ḡ_V, "fg"/"mean") | ∇f (unbiased)     |
| "projection"       | P_U ∇f = Vᵀ (V Vᵀ)⁻¹ d, the orthogonal projection of ∇f     | (k/n) ∇f          |
|                    | onto U = span(v_i) (the paper's "frog")                     |                   |
| "max"              | d_j v_j,  j = argmax_i |d_i|                                | —                 |
| "max_normalized"   | d_j v_j,  j = argmax_i |d_i| / ‖v_i‖  (largest |cos|)       | —                 |
| "mean_of_top_k"    | (1/k) Σ_{i∈S} d_i v_i,  S = {i : c_i ≥ max c − 0.1},        | —                 |
|                    | c_i = |d_i| / ‖v_i‖   (divides by k, as the paper's code)   |                   |
"""
from __future__ import annotations

import math
import warnings

from ..backend import namespace
from .theory import expected_chi


class RankDeficientTangentsWarning(UserWarning):
    """The tangents are linearly dependent: the projection is the least-squares one onto their span."""


# ----- the aggregations -------------------------------------------------------------------------------
def aggregate_sum(V, d):
    return V.T @ d                                                        # (n, k) @ (k[, B])


def aggregate_mean(V, d):
    return (V.T @ d) / V.shape[0]


def orthogonal_projection(V, d):
    """P_U ∇f from d = V∇f without ∇f:  P_U ∇f = Vᵀ c  with  (V Vᵀ) c = d.

    Two exact routes, never an inverse:

    * the Gram system, solved with a Cholesky factor of G = V Vᵀ (k×k; O(nk²) for G, cheap for
      k ≪ n), when G is well conditioned: cond(G) ≤ 1/√ε from its eigenvalues (an O(k³) check), so
      the solution's relative error stays below √ε (1.5e-8 in float64, 3.5e-4 in float32);
    * otherwise the QR route, which never forms G (whose condition number is the square of V's):
      with Vᵀ = QR, P_U = Q Qᵀ and Qᵀ∇f = R⁻ᵀ d, so P_U ∇f = Q R⁻ᵀ d.

    k > n: only the first n tangents are used (the paper's ``first_n``); with independent tangents the
    result is then ∇f itself. Linearly dependent tangents: the least-squares projection onto their span
    (the minimum-norm solution of the Gram system), with a RankDeficientTangentsWarning.
    """
    xp = namespace(V)
    k, n = V.shape
    if k > n:
        V, d = V[:n], d[:n]
    eps = float(xp.finfo(V.dtype).eps)
    gram = V @ V.T
    eigenvalues = xp.linalg.eigvalsh(gram)
    if float(eigenvalues[0]) > 0 and float(eigenvalues[-1]) <= float(eigenvalues[0]) * eps ** -0.5:
        low = xp.linalg.cholesky(gram)
        return V.T @ xp.linalg.solve(low.T, xp.linalg.solve(low, d))
    q, r = xp.linalg.qr(V.T)                                              # (n, k), (k, k)
    diag = xp.abs(xp.diagonal(r))
    tol = max(V.shape) * eps * (float(diag.max()) if diag.size else 0.0)
    if diag.size and float(diag.min()) <= tol:
        warnings.warn(f"the {V.shape[0]} tangents span only a {int((diag > tol).sum())}-dimensional subspace; "
                      "using the least-squares projection onto their span", RankDeficientTangentsWarning,
                      stacklevel=3)
        coeff = xp.linalg.lstsq(gram, d, rcond=None)[0]                   # minimum-norm solution
        return V.T @ coeff
    return q @ xp.linalg.solve(r.T, d)


def _per_column(select):
    """An aggregation that picks tangents per sample column: d (k,) or (k, B)."""
    def aggregate(V, d):
        if d.ndim == 1:
            return select(V, d[:, None])[:, 0]
        return select(V, d)
    return aggregate


def _cosines(V, d):
    """|d_i| / ‖v_i‖ = |cos(v_i, ∇f)|·‖∇f‖, shape (k, B)."""
    xp = namespace(V)
    norms = xp.linalg.norm(V, axis=1)[:, None]
    return xp.abs(d) / xp.where(norms == 0, 1, norms)


def _best_single(V, d, scores):
    xp = namespace(V)
    j = xp.argmax(scores, axis=0)                                         # (B,) the chosen tangent per column
    cols = xp.arange(d.shape[1])
    return V[j].T * d[j, cols]                                            # (n, B)


aggregate_max = _per_column(lambda V, d: _best_single(V, d, namespace(d).abs(d)))
aggregate_max_normalized = _per_column(lambda V, d: _best_single(V, d, _cosines(V, d)))


@_per_column
def aggregate_mean_of_top_k(V, d):
    c = _cosines(V, d)
    keep = c >= c.max(axis=0, keepdims=True) - 0.1                       # (k, B)
    return (V.T @ (d * keep)) / V.shape[0]


AGGREGATIONS = {
    "sum": aggregate_sum,
    "mean": aggregate_mean,
    "projection": orthogonal_projection,
    "max": aggregate_max,
    "max_normalized": aggregate_max_normalized,
    "mean_of_top_k": aggregate_mean_of_top_k,
}

#: The paper's names for the same aggregations.
ALIASES = {"orthogonal_projection": "projection", "frog": "projection", "fg": "mean", "fg-mean": "mean"}


# ----- scaling correction (the paper code's chi-based factor; off in every paper experiment) -------------
def scaling_correction_factor(method: str, k: int, n: int, expected_tangent_length: float) -> float:
    """The factor 1/E[‖estimate‖/‖∇f‖] that the paper's code multiplies into the estimate:

    - projection: E‖P_U∇f‖/‖∇f‖ = E[χ_k]/E[χ_n]  (1 when k ≥ n; exact for Gaussian tangents);
    - mean: ℓ² · √(2/(πn)) for k = 1 and ℓ² · √((n+k)/(1+k)) / n for k > 1, ℓ = the tangent length
      (the code's heuristic; for unit tangents ℓ = 1);
    - sum: the mean's factor divided by k.
    """
    if method == "projection":
        return 1.0 if k >= n else expected_chi(n) / expected_chi(k)
    if method in ("mean", "sum"):
        shape = math.sqrt(2 / (math.pi * n)) if k == 1 else math.sqrt((n + k) / (1 + k)) / n
        factor = 1.0 / (expected_tangent_length ** 2 * shape)
        return factor if method == "mean" else factor / k
    raise ValueError(f"scaling_correction is defined for 'projection', 'mean' and 'sum', not {method!r}")


def aggregate(V, d, method: str = "projection", scaling_correction: bool = False,
              expected_tangent_length: float | None = None):
    """Combine tangents ``V (k, n)`` and directional derivatives ``d (k,)`` or ``(k, B)`` into a gradient
    estimate ``(n,)`` or ``(n, B)``; see the module docstring for the methods.

    ``scaling_correction=True`` multiplies by the paper code's chi-based factor (``scaling_correction_factor``
    above); it needs the tangents' typical length, ``expected_tangent_length`` (default: the root mean
    square of the given tangents' lengths; ``forward_gradient`` passes the sampler's exact value).
    """
    method = ALIASES.get(method, method)
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}; choose one of {sorted(AGGREGATIONS)}")
    xp = namespace(V, d)
    V, d = xp.asarray(V), xp.asarray(d)
    if V.ndim != 2:
        raise ValueError(f"aggregate: V must be (k, n) with one tangent per row; got shape {V.shape}. "
                         "Flatten tangents of other shapes with V.reshape(k, -1).")
    if d.ndim not in (1, 2) or d.shape[0] != V.shape[0]:
        raise ValueError(f"aggregate: d must be (k,) or (k, B) with k = {V.shape[0]} (the rows of V); "
                         f"got shape {d.shape}")
    d = d.astype(V.dtype, copy=False) if d.dtype != V.dtype and V.dtype.kind == "f" else d
    g = AGGREGATIONS[method](V, d)
    if scaling_correction:
        k, n = V.shape
        length = expected_tangent_length
        if length is None:
            length = float(xp.sqrt(xp.mean(xp.sum(V * V, axis=1))))
        g = g * scaling_correction_factor(method, k, n, length)
    return g

