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

import numpy as np

from ..approaches import METHOD_ALIASES, aggregation_method
from ..backend import namespace
from ..errors import InvalidArgumentError, NonFiniteError
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

    Exact routes, never an inverse:

    * k ≤ n, the Gram system, solved with a Cholesky factor of G = V Vᵀ (k×k; O(nk²) for G, cheap
      for k ≪ n), when G is well conditioned: cond(G) ≤ 1/√ε from its eigenvalues (an O(k³) check),
      so the solution's relative error stays below √ε (1.5e-8 in float64, 3.5e-4 in float32);
    * k ≤ n otherwise, the QR route, which never forms G (whose condition number is the square of
      V's): with Vᵀ = QR, P_U = Q Qᵀ and Qᵀ∇f = R⁻ᵀ d, so P_U ∇f = Q R⁻ᵀ d;
    * k > n: the k tangents span Rⁿ when V = QR has an invertible R (n×n), and then P_U ∇f = ∇f is
      the least-squares solution R⁻¹ Qᵀ d of V x = d. All k tangents are used, whatever their order
      (the paper's code keeps only the first n, which is wrong when those are dependent);
    * linearly dependent tangents (rank < min(k, n)): the minimum-norm least-squares solution x of
      V x = d (SVD). It lies in the row space U of V and satisfies V x = V ∇f, so it is P_U ∇f; a
      RankDeficientTangentsWarning says so.
    """
    xp = namespace(V)
    k, n = V.shape
    eps = float(xp.finfo(V.dtype).eps)
    tol = max(k, n) * eps

    def full_rank(r):
        diag = xp.abs(xp.diagonal(r))
        return float(diag.min()) > tol * float(diag.max())

    if k <= n:
        gram = V @ V.T
        eigenvalues = xp.linalg.eigvalsh(gram)
        if float(eigenvalues[0]) > 0 and float(eigenvalues[-1]) <= float(eigenvalues[0]) * eps ** -0.5:
            low = xp.linalg.cholesky(gram)
            return V.T @ xp.linalg.solve(low.T, xp.linalg.solve(low, d))
        q, r = xp.linalg.qr(V.T)                                          # (n, k), (k, k)
        if full_rank(r):
            return q @ xp.linalg.solve(r.T, d)
    else:
        q, r = xp.linalg.qr(V)                                            # (k, n), (n, n)
        if full_rank(r):
            return xp.linalg.solve(r, q.T @ d)
    x, _, rank, _ = xp.linalg.lstsq(V, d, rcond=None)                     # (n[, B]); rcond = eps·max(k, n)
    if int(rank) < min(k, n):
        warnings.warn(f"the {k} tangents span only a {int(rank)}-dimensional subspace of R^{n}; "
                      "using the least-squares projection onto their span", RankDeficientTangentsWarning,
                      stacklevel=3)
    return x


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


# ----- scaling correction (the paper code's chi-based factor; off in every paper experiment) -------------
def scaling_correction_factor(method: str, k: int, n: int, expected_tangent_length: float) -> float:
    """The factor 1/E[‖estimate‖/‖∇f‖] that the paper's code multiplies into the estimate:

    - projection: E‖P_U∇f‖/‖∇f‖ = E[χ_k]/E[χ_n]  (1 when k ≥ n; exact for Gaussian tangents);
    - mean: ℓ² · √(2/(πn)) for k = 1 and ℓ² · √((n+k)/(1+k)) / n for k > 1, ℓ = the tangent length
      (the code's heuristic; for unit tangents ℓ = 1);
    - sum: the mean's factor divided by k.
    """
    for name, value in (("k", k), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidArgumentError(f"scaling_correction_factor: {name} must be an integer >= 1, got {value!r}")
    if not _is_real_number(expected_tangent_length) or not 0 < expected_tangent_length < math.inf:
        raise InvalidArgumentError("scaling_correction_factor: expected_tangent_length must be a finite number > 0, "
                                   f"got {expected_tangent_length!r}")
    if method == "projection":
        return 1.0 if k >= n else expected_chi(n) / expected_chi(k)
    if method in ("mean", "sum"):
        shape = math.sqrt(2 / (math.pi * n)) if k == 1 else math.sqrt((n + k) / (1 + k)) / n
        factor = 1.0 / (expected_tangent_length ** 2 * shape)
        return factor if method == "mean" else factor / k
    raise InvalidArgumentError(f"scaling_correction is defined for 'projection', 'mean' and 'sum', not {method!r}")


def _is_real_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _checked_inputs(V, d, xp):
    """V (k, n) and d (k,) or (k, B) as arrays of one real floating dtype, or a named error that says
    which argument is wrong and how. Integer (and bool) inputs are promoted to float64 and float16 to
    float32, as NumPy's linalg does; complex and non-numeric inputs are refused."""
    arrays = []
    for name, a in (("V", V), ("d", d)):
        try:
            arrays.append(xp.asarray(a))
        except (ValueError, TypeError) as e:
            raise InvalidArgumentError(f"aggregate: {name} must be a numeric array ({e})") from None
    V, d = arrays
    for name, a in (("V", V), ("d", d)):
        if a.dtype.kind not in "biuf":
            raise InvalidArgumentError(f"aggregate: {name} must be real numbers, got dtype {a.dtype}"
                                       + ("; complex tangents are not supported" if a.dtype.kind == "c" else ""))
    dtype = xp.result_type(V.dtype, d.dtype)
    if dtype.kind != "f":
        dtype = xp.dtype(xp.float64)
    elif dtype.itemsize < 4:
        dtype = xp.dtype(xp.float32)
    elif dtype.itemsize > 8:
        raise InvalidArgumentError(f"aggregate: dtype {dtype} is not supported by the linear algebra; "
                                   "use float64 or float32")
    if V.ndim != 2:
        raise InvalidArgumentError(f"aggregate: V must be (k, n) with one tangent per row; got shape {V.shape}. "
                                   "Flatten tangents of other shapes with V.reshape(k, -1).")
    k, n = V.shape
    if k < 1 or n < 1:
        raise InvalidArgumentError(f"aggregate: V must be (k, n) with k >= 1 tangents of length n >= 1; "
                                   f"got shape {V.shape}")
    if d.ndim not in (1, 2) or d.shape[0] != k:
        raise InvalidArgumentError(f"aggregate: d must be (k,) or (k, B) with k = {k} (the rows of V); "
                                   f"got shape {d.shape}")
    for name, a in (("V", V), ("d", d)):
        finite = xp.isfinite(a)
        if not bool(finite.all()):
            bad = int(a.size - int(finite.sum()))
            raise NonFiniteError(f"aggregate: {name} holds {bad} NaN or Inf value(s) of {a.size}"
                                 + ("; the jvps came from a non-finite loss or an overflow: lower the learning "
                                    "rate or check the function" if name == "d" else ""))
    return V.astype(dtype, copy=False), d.astype(dtype, copy=False)


def aggregate(V, d, method: str = "projection", scaling_correction: bool = False,
              expected_tangent_length: float | None = None):
    """Combine tangents ``V (k, n)`` and directional derivatives ``d (k,)`` or ``(k, B)`` into a gradient
    estimate ``(n,)`` or ``(n, B)``; see the module docstring for the methods.

    ``scaling_correction=True`` multiplies by the paper code's chi-based factor (``scaling_correction_factor``
    above); it needs the tangents' typical length, ``expected_tangent_length`` (default: the root mean
    square of the given tangents' lengths; ``forward_gradient`` passes the sampler's exact value).

    The estimate has the common floating dtype of V and d. Raises ``InvalidArgumentError`` for a wrong
    shape, dtype or method and ``NonFiniteError`` for NaN or Inf in V or d.
    """
    if not isinstance(method, str) or aggregation_method(method) not in AGGREGATIONS:
        raise InvalidArgumentError(f"aggregate: unknown method {method!r}; choose one of {sorted(AGGREGATIONS)} "
                                   f"or the paper's names {sorted(METHOD_ALIASES)}")
    xp = namespace(V, d)
    V, d = _checked_inputs(V, d, xp)
    method = aggregation_method(method, V.shape[0])              # the paper's names (dualgrad.approaches); fg: k = 1
    g = AGGREGATIONS[method](V, d)
    if scaling_correction:
        k, n = V.shape
        length = expected_tangent_length
        if length is None:
            length = float(xp.sqrt(xp.mean(xp.sum(V * V, axis=1))))
        g = g * scaling_correction_factor(method, k, n, length)
    return g
