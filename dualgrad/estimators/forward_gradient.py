"""forward_gradient: sample k tangents, get all k directional derivatives from ONE k-column jvp pass,
aggregate them into a gradient estimate."""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from ..approaches import METHOD_ALIASES, aggregation_method
from ..backend import move, namespace
from ..errors import InvalidArgumentError
from ..parallel import SINGLE_PROCESS
from ..pytree import flatten, unflatten
from ..transforms import jvp
from .aggregation import AGGREGATIONS, aggregate
from .tangents import expected_length, sample_tangents


def forward_gradient(f: Callable, x, k: int = 16, sampler: str = "normal", method: str = "projection",
                     rng: np.random.Generator | None = None, *, normalize: bool = False,
                     scaling_correction: bool = False, return_tangents: bool = False, parallel=SINGLE_PROCESS,
                     **sampler_options):
    """Estimate ∇f(x) from k directional derivatives computed in one forward pass.

    ``x`` is an array of any shape or a pytree of arrays (a dict of parameters, say). One *global*
    tangent of length n = total size is sampled per column (the paper's ``global_tangent=True``),
    split across the leaves, pushed through f by ``dg.jvp`` with k columns at once, and the k jvps are
    aggregated with ``method`` (see ``aggregate``).

    f returns a scalar, or a vector of B per-sample values; then the jvps are ``(k, B)`` and the
    estimate has an extra trailing axis B on every leaf (one Gram matrix shared by all B columns).

    Returns ``(value, estimate)`` with ``estimate`` shaped like ``x``; with ``return_tangents=True``
    also the tangent matrix ``V (k, n)`` and the jvps ``d``.

    ``parallel`` (a ``dualgrad.parallel.TangentParallel``; default this process alone): this process pushes
    only its share of the k columns, and the jvps of all k are gathered from every process; V, d and the
    estimate are those of one process.
    """
    leaves, treedef = flatten(x)
    arrays = [namespace(leaf).asarray(leaf) for leaf in leaves]
    if not arrays or sum(a.size for a in arrays) == 0:
        raise InvalidArgumentError("forward_gradient: x must hold at least one number to differentiate against")
    for a in arrays:
        if a.dtype.kind != "f":
            raise InvalidArgumentError(f"forward_gradient: x must hold floating-point arrays, got dtype {a.dtype}; "
                                       "convert it, e.g. x.astype(np.float64)")
    if not isinstance(method, str) or aggregation_method(method) not in AGGREGATIONS:
        raise InvalidArgumentError(f"forward_gradient: unknown method {method!r}; choose one of "
                                   f"{sorted(AGGREGATIONS)} or the paper's names {sorted(METHOD_ALIASES)}")
    method = aggregation_method(method, k)                  # the paper's names (dualgrad.approaches); fg: k = 1
    offsets = list(itertools.accumulate([a.size for a in arrays], initial=0))
    n = offsets[-1]
    dtype = np.result_type(*arrays)
    V = sample_tangents(k, n, sampler, rng, normalize, dtype=dtype, **sampler_options)       # (k, n)
    V = move(V, namespace(*arrays))         # to x's device: one host-to-device copy when x is on a GPU
    mine = V[parallel.share(k)]                                              # (k_r, n): the columns pushed here
    tangents = [mine[:, lo:hi].reshape((len(mine),) + a.shape) for a, lo, hi in zip(arrays, offsets[:-1], offsets[1:])]
    value, d = jvp(lambda *ps: f(unflatten(treedef, ps)), tuple(arrays), tuple(tangents))
    d = parallel.gather(d, k)                                                # (k,) or (k, B): every column's jvp
    if d.ndim > 2:
        raise InvalidArgumentError(f"forward_gradient: f must return a scalar or a vector of per-sample values; "
                         f"got an output of shape {value.shape}")
    length = expected_length(sampler, n, normalize, **sampler_options) if scaling_correction else None
    g = aggregate(V, d, method, scaling_correction=scaling_correction, expected_tangent_length=length)
    trailing = g.shape[1:]                                                                     # () or (B,)
    pieces = [g[lo:hi].reshape(a.shape + trailing) for a, lo, hi in zip(arrays, offsets[:-1], offsets[1:])]
    estimate = unflatten(treedef, pieces)
    if return_tangents:
        return value, estimate, V, d
    return value, estimate


def num_parameters(x) -> int:
    """The total size n of an array or pytree of arrays (the length of a global tangent)."""
    return sum(math.prod(np.shape(leaf)) for leaf in flatten(x)[0])
