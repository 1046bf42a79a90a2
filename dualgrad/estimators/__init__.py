"""Multi-tangent forward-gradient estimators (Flügel et al. 2024): samplers, aggregations, theory.

    from dualgrad import estimators as est
    V = est.sample_tangents(k, n, sampler="normal", rng=rng)          # (k, n)
    g = est.aggregate(V, d, method="projection")                        # d: (k,) -> (n,)
    value, g = est.forward_gradient(f, x, k=16, method="projection", rng=rng)
    est.theory.expected_cosine(n, k, "projection")
    with est.prefetch_tangents(): ...       # large float32 Gaussian draws made a step ahead, same numbers
"""
from . import theory
from .aggregation import AGGREGATIONS, RankDeficientTangentsWarning, aggregate, scaling_correction_factor
from .forward_gradient import forward_gradient, num_parameters
from .gaussian import prefetch_tangents
from .tangents import SAMPLERS, check_sampler, sample_tangents

__all__ = ["AGGREGATIONS", "SAMPLERS", "RankDeficientTangentsWarning", "aggregate", "check_sampler", "forward_gradient",
           "num_parameters", "prefetch_tangents", "sample_tangents", "scaling_correction_factor", "theory"]
