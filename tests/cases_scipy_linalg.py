"""OpCases for the rules of dualgrad.scipy.linalg (see tests/harness.py for the format).

``fn`` calls ``dualgrad.scipy.linalg`` (SciPy's signatures); on plain arrays it returns SciPy's values, so each
case also checks the primal against SciPy. Cases are analytic where the function is holomorphic and SciPy's
code takes the complex step (not sqrtm and solve_sylvester, whose Schur forms in LAPACK round a 1e-30
imaginary part away; not the Lyapunov equations, whose Aᴴ conjugates, nor a conjugate-transposed triangular
solve). Their complex tangents are checked against complex central differences all the same.
"""
import numpy as np
from hypothesis import strategies as st

import dualgrad.scipy.linalg as spla

from .cases_linalg import square
from .harness import OpCase, fixed, normal, well_conditioned

side = st.integers(1, 4)


def right_half_plane(rng, shape):
    """Square matrices (..., n, n) = (n + 1)·I + noise/2: every eigenvalue well inside the right half-plane (the
    principal square root is smooth there; A and −A share no eigenvalue)."""
    n = shape[-1]
    return (n + 1) * np.eye(n) + 0.5 * rng.standard_normal(shape)


def contracting(rng, shape):
    """Square matrices with spectral radius below 1/2: the discrete Lyapunov equation has a unique solution."""
    return 0.25 * rng.standard_normal(shape) / np.sqrt(shape[-1])


def hermitian(m):
    """M Mᴴ + I: Hermitian positive definite for any square M (a Dual too)."""
    return m @ np.conj(np.swapaxes(m, -1, -2)) + np.eye(np.shape(m)[-1])


def banded(l_and_u):
    """Band storage (l + u + 1, n) of a diagonally dominant banded matrix (the main diagonal is row u)."""
    def sample(rng, shape):
        ab = rng.standard_normal(shape)
        ab[..., l_and_u[1], :] += sum(l_and_u) + 2
        return ab
    return sample


sylvester_shapes = st.tuples(side, side).map(lambda nm: ((nm[0], nm[0]), (nm[1], nm[1]), (nm[0], nm[1])))
triangular_shapes = st.tuples(side, side).map(lambda nm: ((nm[0], nm[0]), (nm[0], nm[1])))


def band_shapes(l_and_u, vector=False):
    return st.integers(max(l_and_u) + 2, 6).map(
        lambda n: ((sum(l_and_u) + 1, n), (n,) if vector else (n, 2)))


TRIANGULAR = [dict(), dict(trans="T", lower=True), dict(trans=2), dict(trans="C", lower=True, unit_diagonal=True)]

CASES = [
    OpCase("sqrtm", lambda a: spla.sqrtm(a), square(), sample=right_half_plane),
    OpCase("sqrtm", lambda a: spla.sqrtm(a), square(1), sample=right_half_plane, label="batched"),
    OpCase("expm", lambda a: spla.expm(a), square(), analytic=True),
    OpCase("expm", lambda a: spla.expm(a), fixed((2, 3, 3)), analytic=True, label="batched"),
    OpCase("expm", lambda a: spla.expm(3 * a), fixed((4, 4)), analytic=True, label="large-norm"),
    OpCase("solve_sylvester", lambda a, b, q: spla.solve_sylvester(a, b, q), sylvester_shapes,
           sample=(right_half_plane, right_half_plane, normal)),
    OpCase("solve_sylvester", lambda a, b, q: spla.solve_sylvester(a, b, q), fixed((2, 3, 3), (2, 2), (1, 3, 2)),
           sample=(right_half_plane, right_half_plane, normal), label="batched"),
    OpCase("solve_continuous_lyapunov", lambda a, q: spla.solve_continuous_lyapunov(a, q),
           square().map(lambda s: s * 2), sample=(right_half_plane, normal)),
    OpCase("solve_continuous_lyapunov", lambda a, q: spla.solve_continuous_lyapunov(a, q @ q.T), fixed((3, 3), (3, 3)),
           sample=(right_half_plane, normal), label="symmetric-q"),
    OpCase("solve_discrete_lyapunov", lambda a, q: spla.solve_discrete_lyapunov(a, q),
           square().map(lambda s: s * 2), sample=(contracting, normal)),
    OpCase("solve_discrete_lyapunov", lambda a, q: spla.solve_discrete_lyapunov(a, q, method="bilinear"),
           fixed((3, 3), (3, 3)), sample=(contracting, normal), label="bilinear"),
    *[OpCase("solve_triangular", lambda a, b, kw=kw: spla.solve_triangular(a, b, **kw), triangular_shapes,
             sample=(well_conditioned, normal), analytic=kw.get("trans") not in (2, "C"),
             label="-".join(f"{k}={v}" for k, v in kw.items()) or "default") for kw in TRIANGULAR],
    OpCase("solve_triangular", lambda a, b: spla.solve_triangular(a, b, lower=True), fixed((3, 3), (3,)),
           sample=(well_conditioned, normal), analytic=True, label="vector-b"),
    OpCase("solve_triangular", lambda a, b: spla.solve_triangular(a, b), fixed((2, 3, 3), (2, 3, 2)),
           sample=(well_conditioned, normal), analytic=True, label="batched"),
    *[OpCase("solve_banded", lambda ab, b, lu=lu: spla.solve_banded(lu, ab, b), band_shapes(lu, vector),
             sample=(banded(lu), normal), analytic=True, label=f"l_and_u={lu}-{'vector' if vector else 'matrix'}")
      for lu, vector in [((1, 1), False), ((2, 1), True), ((0, 2), False), ((0, 0), True)]],
    OpCase("lu_factor", lambda a: spla.lu_factor(a)[0], square(), sample=well_conditioned, analytic=True),
    # Riccati equations: q = M Mᴴ + I and r = N Nᴴ + I Hermitian positive definite, as SciPy requires
    OpCase("solve_continuous_are", lambda a, b, m, n: spla.solve_continuous_are(a, b, hermitian(m), hermitian(n)),
           fixed((3, 3), (3, 2), (3, 3), (2, 2))),
    OpCase("solve_discrete_are", lambda a, b, m, n: spla.solve_discrete_are(a, b, hermitian(m), hermitian(n)),
           fixed((3, 3), (3, 1), (3, 3), (1, 1))),
    OpCase("lu_factor", lambda a: spla.lu_factor(a)[0], fixed((2, 3, 3)), sample=well_conditioned, analytic=True,
           label="batched"),
]
