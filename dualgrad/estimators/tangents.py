"""Tangent samplers: k directions in R^n (or of any shape), drawn from a numpy.random.Generator.

Every sampler returns an array ``V`` of shape ``(k, *shape)``: one tangent per row (flattened, the
paper's ``k × n`` matrix ``Vᵀ``). The names follow the paper's code (Flügel et al. 2024, frog):

| sampler          | tangents                                                                  | E[v vᵀ]   |
|------------------|---------------------------------------------------------------------------|-----------|
| "normal"         | v ~ N(0, I_n)  (every paper experiment but §4.3)                          | I         |
| "rademacher"     | entries ±1 with probability 1/2                                           | I         |
| "basis"          | the first k standard basis vectors e_1 … e_k (zero rows when k > n)       | —         |
| "angle"          | unit vectors at exactly ``angle`` degrees (0…180) to a random unit base    | —         |
| "orthonormal"    | a uniformly random orthonormal k-frame (QR of a Gaussian; not in paper)   | I/n       |
| "varying_length" | k distinct random basis vectors scaled by U[1, max_length]                | —         |

``normalize=True`` divides every tangent by its length afterwards (the paper's ``normalize``
post-processing). ``resample=r`` redraws up to r times until the k tangents are linearly
independent (rank k), as the paper does for Rademacher tangents.

**Speed.** Weight perturbation draws k·P numbers per step (30 million for k = 16 and the 1.9 M
parameters of the 784-1024-1024-10 net), so the two common samplers draw fast on NumPy:

* "normal" in float32, for draws of at least ``GAUSSIAN_BLOCK`` numbers, uses the Box–Muller
  transform — ``z₁, z₂ = r cos θ, r sin θ`` with ``r = √(−2 ln u₁)`` and ``θ = 2π u₂`` — vectorised,
  instead of NumPy's float32 ziggurat (3× fewer CPU cycles): every pair (z₁, z₂) is exactly two
  independent N(0, 1) numbers for exact uniforms, and here u₁ has 53 random bits (the tail is exact
  beyond 8σ) and u₂ 24 (the resolution of a float32). The numbers are drawn in blocks of
  ``GAUSSIAN_BLOCK``, each from its own SFC64 generator seeded by ``rng``, on worker threads: the
  result is a deterministic function of ``rng``'s state and the shape, whatever the number of
  threads (``estimators/gaussian.py``). Smaller draws (activity perturbation's, the test functions')
  and float64 keep ``rng.standard_normal``, so their numbers for a seed are NumPy's own. Inside
  ``prefetch_tangents`` large draws of either dtype are made a step ahead on a background thread, with
  the same numbers.
* "rademacher" takes one random bit per entry (``rng.bytes``) instead of one 64-bit integer.

Both are exact in distribution; for a given seed they give other numbers than NumPy's
``standard_normal(dtype=float32)`` and ``integers(0, 2)``.
"""
from __future__ import annotations

import math
import operator
import sys

import numpy as np

from ..errors import InvalidArgumentError
from .gaussian import standard_normal


def _namespace(rng):
    """NumPy, or CuPy for a cupy.random.Generator."""
    if type(rng).__module__.startswith("cupy"):
        return sys.modules["cupy"]
    return np


def _check_rng(rng):
    if rng is None:
        raise TypeError("sample_tangents needs rng=np.random.default_rng(seed): every random draw in dualgrad "
                        "takes a Generator, so that the same seed gives the same run")
    if not hasattr(rng, "standard_normal") or isinstance(rng, np.random.RandomState):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")


def normal(k, n, rng, xp, dtype):
    if xp is np:
        return standard_normal(rng, (k, n), dtype)             # large float32 draws: the block sampler
    return rng.standard_normal((k, n), dtype=dtype)


def rademacher(k, n, rng, xp, dtype):
    """±1 from one random bit each."""
    if xp is not np:
        return (rng.integers(0, 2, (k, n)) * 2 - 1).astype(dtype)
    bits = np.unpackbits(np.frombuffer(rng.bytes(-(-k * n // 8)), np.uint8), count=k * n)
    signs = np.subtract(1, bits, dtype=dtype)                 # 1 − b − b: +1 for b = 0, −1 for b = 1
    signs -= bits
    return signs.reshape(k, n)


def basis(k, n, rng, xp, dtype):
    return xp.eye(k, n, dtype=dtype)                         # rows e_1 … e_k; rows past n are zero


def angle(k, n, rng, xp, dtype, *, angle: float):
    """Base b = the first normalised Gaussian; every other tangent is cos(a)·b + sin(a)·r̂ with r̂ the
    normalised part of an independent Gaussian orthogonal to b, so ∠(v_i, b) = a exactly and ‖v_i‖ = 1.
    The span of {b, v_i} is that of {b, r̂_i}: a uniformly random subspace, whatever the angle (0 < a < 180).
    a = 0 gives k copies of b and a = 180 gives b and k − 1 copies of −b, as the formula says (the paper's
    code returns plain normalised Gaussians for 0; here that is ``sampler="normal", normalize=True``)."""
    v = rng.standard_normal((k, n), dtype=dtype)
    v /= xp.linalg.norm(v, axis=1, keepdims=True)
    base, rest = v[:1], v[1:]
    rest = rest - (rest @ base.T) * base                    # reject the component along b
    rest /= xp.linalg.norm(rest, axis=1, keepdims=True)
    a = math.radians(angle)
    return xp.concatenate([base, math.cos(a) * base + math.sin(a) * rest])


def orthonormal(k, n, rng, xp, dtype):
    """Orthonormal rows spanning a uniformly random k-dimensional subspace (Haar, via QR with the
    signs of R's diagonal fixed)."""
    q, r = xp.linalg.qr(rng.standard_normal((n, k)).astype(dtype))
    return (q * xp.sign(xp.diagonal(r))).T


def varying_length(k, n, rng, xp, dtype, *, max_length: float):
    """k distinct random standard basis vectors, each scaled by a length drawn from U[1, max_length]."""
    lengths = 1 + (max_length - 1) * rng.random((k, 1))
    rows = rng.permutation(n)[:k]
    v = xp.zeros((k, n), dtype=dtype)
    v[xp.arange(k), xp.asarray(rows)] = 1
    return (v * xp.asarray(lengths)).astype(dtype)


SAMPLERS = {
    "normal": normal,
    "rademacher": rademacher,
    "basis": basis,
    "angle": angle,
    "orthonormal": orthonormal,
    "varying_length": varying_length,
}

def expected_length(sampler: str, n: int, normalize: bool, **options) -> float | None:
    """The typical tangent length the scaling correction assumes: √n for normal and Rademacher
    tangents (E‖v‖² = n), 1 for unit tangents, the mean scale for varying_length."""
    if normalize or sampler in ("basis", "angle", "orthonormal"):
        return 1.0
    if sampler in ("normal", "rademacher"):
        return math.sqrt(n)
    if sampler == "varying_length":
        return (1 + options["max_length"]) / 2
    return None


def _is_count(x) -> bool:
    """An integer (a Python or NumPy int, or a 0-d integer array; bool excluded)."""
    if isinstance(x, (bool, np.bool_)):
        return False
    try:
        operator.index(x)
    except TypeError:
        return False
    return True


def _is_real(x) -> bool:
    """A real number that is not NaN (bool excluded)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and not math.isnan(x)


def rank(V, xp=np) -> int:
    return int(xp.linalg.matrix_rank(V.reshape(V.shape[0], -1)))


def check_sampler(k: int, n_or_shape, sampler: str = "normal", *, angle: float | None = None,
                  max_length: float | None = None, resample: int = 0, dtype=np.float64):
    """The arguments of ``sample_tangents`` checked without drawing: ``(shape, options, dtype)``, or an
    InvalidArgumentError that names the argument and the fix."""
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise InvalidArgumentError(f"sample_tangents: unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    if not _is_count(k) or k < 1:
        raise InvalidArgumentError(f"sample_tangents: k must be an integer >= 1 (the number of tangents), got {k!r}")
    shape = (n_or_shape,) if np.ndim(n_or_shape) == 0 else tuple(n_or_shape)
    if not shape or not all(_is_count(s) and s >= 1 for s in shape):
        raise InvalidArgumentError("sample_tangents: n_or_shape must be an integer n >= 1 or a shape of integers "
                                   f">= 1, got {n_or_shape!r}")
    shape = tuple(operator.index(s) for s in shape)
    n = math.prod(shape)
    try:
        dtype = np.dtype(dtype)
    except TypeError as e:
        raise InvalidArgumentError(f"sample_tangents: dtype must be float32 or float64, got {dtype!r} ({e})") from None
    if dtype.kind != "f" or dtype.itemsize not in (4, 8):
        raise InvalidArgumentError(f"sample_tangents: dtype must be float32 or float64, got {dtype}")
    if not _is_count(resample) or resample < 0:
        raise InvalidArgumentError(f"sample_tangents: resample must be an integer >= 0, got {resample!r}")
    if sampler in ("orthonormal", "varying_length") and k > n:
        raise InvalidArgumentError(f"sampler={sampler!r} draws k distinct orthogonal directions: it needs k <= n, "
                                   f"got k={k} > n={n}")
    options = {}
    if sampler == "angle":
        if angle is None:
            raise InvalidArgumentError("sampler='angle' needs angle=<degrees>, e.g. angle=30")
        if not _is_real(angle) or not 0 <= angle <= 180:
            raise InvalidArgumentError(f"sampler='angle': angle must be a number of degrees in [0, 180], got {angle!r}")
        if n < 2:
            raise InvalidArgumentError(f"sampler='angle' needs n >= 2 (a direction orthogonal to the base), got n={n}")
        options["angle"] = float(angle)
    if sampler == "varying_length":
        if max_length is None or not _is_real(max_length) or not 1 <= max_length < math.inf:
            raise InvalidArgumentError(f"sampler='varying_length' needs a finite max_length >= 1, got {max_length!r}")
        options["max_length"] = float(max_length)
    return shape, options, dtype


def sample_tangents(k: int, n_or_shape, sampler: str = "normal", rng=None, normalize: bool = False, *,
                    angle: float | None = None, max_length: float | None = None, resample: int = 0,
                    dtype=np.float64):
    """Draw k tangents of shape ``n_or_shape`` (an int n, or any array shape): returns ``(k, *shape)``.

    ``sampler`` is one of ``SAMPLERS`` (see the module docstring); "angle" needs ``angle`` (degrees),
    "varying_length" needs ``max_length``. ``normalize`` scales every tangent to unit length.
    ``resample`` redraws up to that many times until the tangents are linearly independent.
    """
    _check_rng(rng)
    shape, options, dtype = check_sampler(k, n_or_shape, sampler, angle=angle, max_length=max_length,
                                          resample=resample, dtype=dtype)
    n = math.prod(shape)
    xp = _namespace(rng)
    draw = SAMPLERS[sampler]
    V = draw(k, n, rng, xp, dtype, **options)
    for _ in range(resample):
        if k <= n and rank(V, xp) == k:
            break
        V = draw(k, n, rng, xp, dtype, **options)
    if normalize:
        norms = xp.linalg.norm(V, axis=1, keepdims=True)
        V = V / xp.where(norms == 0, 1, norms)
    return V.reshape((k,) + shape)
