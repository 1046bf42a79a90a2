"""Exact statistics of the estimators for Gaussian tangents v_i ~ N(0, I_n), i.i.d., and a fixed ∇f.

All results follow from rotation invariance: put ∇f = ‖∇f‖ e_1 and write v_i = z_i e_1 + w_i with
z ~ N(0, I_k) and w_i ⊥ e_1. With A = ‖z‖² ~ χ²_k and C ~ χ²_{n−1} independent,

    ḡ_V = (1/k) Σ_i (∇f·v_i) v_i  has  ‖ḡ_V‖/‖∇f‖ = √(A (A + C)) / k  and  cos²(ḡ_V, ∇f) = A / (A + C),

so cos² ~ Beta(k/2, (n−1)/2), independent of S = A + C ~ χ²_{n+k−1}. For the projection, U = span(V)
is a uniformly random k-dimensional subspace, so cos²(P_U∇f, ∇f) = ‖P_U e_1‖² ~ Beta(k/2, (n−k)/2)
and E[P_U] = (k/n) I. Norms are relative to ‖∇f‖ throughout. (Flügel et al. 2024; derivations in
docs/estimators.md.)
"""
from __future__ import annotations

import math

from ..approaches import aggregation_method

METHODS = ("projection", "mean", "sum")


def expected_chi(k: float) -> float:
    """E[χ_k] = √2 Γ((k+1)/2) / Γ(k/2), through log-gamma so that any k works."""
    return math.sqrt(2.0) * math.exp(math.lgamma((k + 1) / 2) - math.lgamma(k / 2))


def _check(n, k, method):
    if n < 1 or k < 1:
        raise ValueError(f"need n >= 1 and k >= 1, got n={n}, k={k}")
    method = aggregation_method(method, k)                  # the paper's names too (dualgrad.approaches)
    if method not in METHODS:
        raise ValueError(f"theory covers {METHODS} (Gaussian tangents), not {method!r}")
    return method


def expected_cosine(n: int, k: int, method: str = "projection") -> float:
    """E[cos(estimate, ∇f)]:  projection E[χ_k]/E[χ_n] (1 for k ≥ n);  mean and sum E[χ_k]/E[χ_{n+k−1}]
    (≈ √(k/n) and √(k/(n+k−1)))."""
    method = _check(n, k, method)
    if method == "projection":
        return 1.0 if k >= n else expected_chi(k) / expected_chi(n)
    return expected_chi(k) / expected_chi(n + k - 1)


def cosine_squared_distribution(n: int, k: int, method: str = "projection"):
    """The law of cos²(estimate, ∇f) as a frozen scipy.stats distribution:
    Beta(k/2, (n−k)/2) for the projection (k < n), Beta(k/2, (n−1)/2) for mean and sum (n > 1)."""
    # imported here, not at the top: scipy.stats takes half a second, and `dualgrad --help` imports this module
    import scipy.stats
    method = _check(n, k, method)
    if method == "projection":
        if k >= n:
            raise ValueError("for k >= n the projection is exact: cos = 1 almost surely")
        return scipy.stats.beta(k / 2, (n - k) / 2)
    if n == 1:
        raise ValueError("for n = 1 every estimate is parallel to ∇f: cos² = 1 almost surely")
    return scipy.stats.beta(k / 2, (n - 1) / 2)


def expected_norm_ratio(n: int, k: int, method: str = "projection") -> float:
    """E[‖estimate‖/‖∇f‖]:  projection = E[cos] (‖P_U∇f‖ = cos·‖∇f‖);
    mean = (n+k−1)/k · E[cos_mean] (from ‖ḡ‖ = S·√(A/S)/k with S, A/S independent);  sum = k × mean."""
    method = _check(n, k, method)
    if method == "projection":
        return expected_cosine(n, k, "projection")
    mean = (n + k - 1) / k * expected_cosine(n, k, "mean")
    return mean if method == "mean" else k * mean


def expected_squared_norm_ratio(n: int, k: int, method: str = "projection") -> float:
    """E[‖estimate‖²/‖∇f‖²]:  projection k/n (1 for k ≥ n);  mean (n+k+1)/k;  sum k(n+k+1)."""
    method = _check(n, k, method)
    if method == "projection":
        return min(k, n) / n
    mean = (n + k + 1) / k
    return mean if method == "mean" else k * k * mean


def bias_factor(n: int, k: int, method: str = "projection", normalized: bool = False) -> float:
    """c with E[estimate] = c·∇f:  sum k, mean 1, projection k/n (1 for k ≥ n). With normalized tangents
    (E[v̂v̂ᵀ] = I/n) the mean gives 1/n and the sum k/n; the projection does not change."""
    method = _check(n, k, method)
    if method == "projection":
        return min(k, n) / n
    scale = 1.0 / n if normalized else 1.0
    return scale * (k if method == "sum" else 1.0)


def mean_squared_error(n: int, k: int, method: str = "projection") -> float:
    """E‖estimate − ∇f‖²/‖∇f‖²:  mean (n+1)/k;  projection 1 − k/n (0 for k ≥ n);
    "rescaled_projection", the unbiased (n/k)·P_U∇f (k ≤ n): (n−k)/k, below the mean's (n+1)/k;
    sum k(n+k+1) − 2k + 1."""
    if method == "rescaled_projection":
        if k > n:
            raise ValueError("the rescaled projection (n/k)·P_U∇f is defined for k <= n")
        return (n - k) / k
    method = _check(n, k, method)
    if method == "projection":
        return max(0.0, 1 - k / n)
    if method == "mean":
        return (n + 1) / k
    return k * (n + k + 1) - 2 * k + 1
