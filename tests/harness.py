"""Shared machinery of the rule tests: the OpCase table format, samplers, backends and references.

Every rule of the table is covered by at least one ``OpCase`` (``tests/cases_*.py``); the generic
tests in ``test_rules.py`` check each case against central differences (and the complex step where
the function is analytic), against k single-column runs, and in float32.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualgrad as dg
from dualgrad.backend import to_numpy
from dualgrad.pytree import flatten


# ----- backends: numpy always, cupy when a GPU is usable --------------------------------------------
def _backends():
    mods = [np]
    if "cupy" in dg.backend.available():
        import cupy
        mods.append(cupy)
    return mods


BACKENDS = _backends()
BACKEND_IDS = [m.__name__ for m in BACKENDS]


# ----- samplers: sample(rng, shape) -> float64 array in the function's domain, away from kinks -------
def normal(rng, shape):
    return rng.standard_normal(shape)


def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def away_from_zero(lo=0.2, hi=2.0):
    """|x| in [lo, hi] with a random sign: keeps kinks at 0 (abs, relu, sign) out of reach of h."""
    return lambda rng, shape: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(rng, shape):
    """Values at least 0.05 apart: no ties for max/min/sort-like rules."""
    n = int(np.prod(shape, dtype=int))
    return (rng.permutation(n) * 0.05 + rng.uniform(0, 0.01, n) - 0.025 * n).reshape(shape)


def well_conditioned(rng, shape):
    """Square matrices (..., n, n) = (n + 1)·I + noise, redrawn until every smallest singular value is at
    least 1: invertible with a modest condition number even for n = 1, 2."""
    n = shape[-1]
    while True:
        a = rng.standard_normal(shape) + (n + 1) * np.eye(n)
        if shape[-1] == 0 or np.min(np.linalg.svd(a, compute_uv=False)) >= 1.0:
            return a


def spd(rng, shape):
    """Symmetric positive-definite matrices (..., n, n)."""
    a = rng.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


# ----- shape strategies ------------------------------------------------------------------------------
def one_shape(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side).map(
        lambda s: (s,))


def broadcast_shapes(n=2, min_dims=0, max_dims=3, max_side=4):
    """n mutually broadcastable shapes, including size-1 and missing axes."""
    return hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                             max_side=max_side).map(lambda r: r.input_shapes)


def fixed(*shapes):
    return st.just(tuple(shapes))


# ----- the case table format --------------------------------------------------------------------------
@dataclass(frozen=True)
class OpCase:
    rule: str                          # the dg.RULES entry this case covers
    fn: Callable                       # f(*inputs), written with NumPy calls or dg functions
    shapes: st.SearchStrategy          # draws a tuple with one shape per input
    sample: Callable | tuple = normal  # a sampler, or one per input
    analytic: bool = False             # fn also runs on complex arrays: check with the complex step too
    label: str = ""
    rtol: float = 1e-6                 # against central differences (float64)
    float32_rtol: float = 2e-3
    differentiable: tuple | None = field(default=None)   # indices of inputs that may carry tangents
    complex_inputs: bool = True        # the complex check of test_rules applies (False: a real-only argument)
    columns_rtol: float = 1e-12        # k columns against k single-column runs (odeint: one error control for all
    #                                    k columns, so they agree to the solver's tolerance only)

    @property
    def id(self):
        return f"{self.rule}-{self.label}" if self.label else self.rule

    def draw_inputs(self, rng, shapes):
        samplers = self.sample if isinstance(self.sample, tuple) else (self.sample,) * len(shapes)
        return [np.asarray(s(rng, shape), dtype=np.float64) for s, shape in zip(samplers, shapes)]


# ----- references ------------------------------------------------------------------------------------
def outputs(tree):
    """The leaves of f's output as float64 (complex128 when complex) NumPy arrays."""
    leaves = [np.asarray(to_numpy(getattr(o, "primal", o))) for o in flatten(tree)[0]]
    return [leaf.astype(np.complex128 if leaf.dtype.kind == "c" else np.float64) for leaf in leaves]


def central_difference(fn, xs, vs, col, h=1e-6):
    """(f(x + h v) − f(x − h v)) / 2h along column ``col`` of the tangents (float64, NumPy)."""
    scale = 1 + max(float(np.max(np.abs(x))) if x.size else 0.0 for x in xs)
    vmax = max(float(np.max(np.abs(v[col]))) if v[col].size else 0.0 for v in vs if v is not None) or 1.0
    step = h * scale / vmax
    plus = outputs(fn(*[x if v is None else x + step * v[col] for x, v in zip(xs, vs)]))
    minus = outputs(fn(*[x if v is None else x - step * v[col] for x, v in zip(xs, vs)]))
    return [(p - m) / (2 * step) for p, m in zip(plus, minus)]


def complex_step(fn, xs, vs, col, h=1e-30):
    """Im f(x + i h v) / h: exact to rounding for analytic f."""
    out = fn(*[x if v is None else x + 1j * h * v[col] for x, v in zip(xs, vs)])
    return [np.imag(np.asarray(o)) / h for o in flatten(out)[0]]


def assert_close(got, ref, rtol, what, floor=1e-3):
    """max|got − ref| ≤ rtol · max(max|ref|, floor): relative to the largest reference value, with an
    absolute floor for outputs near zero (float32 comparisons use a larger floor: rounding of O(1)
    intermediates leaves ~1e-7 absolute error on a tangent that cancels to ~0)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    if ref.size == 0:
        return
    scale = max(float(np.max(np.abs(ref))), floor)
    err = float(np.max(np.abs(got - ref)))
    assert err <= rtol * scale, f"{what}: max abs error {err:.3e} > {rtol:.1e} x scale {scale:.3e}"
