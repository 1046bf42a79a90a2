"""Complex operands of the linalg and scipy.special rules marked ``complex=True``.

Each check runs the jvp at complex inputs along complex directions v and compares it with the central
difference (f(z + h v) − f(z − h v)) / 2h, a real step h along the complex direction. That is the directional
derivative for every rule: holomorphic ones (where it is f'(z)·v) and real-linear ones alike (vdot, norms,
eigenvalues of Hermitian matrices, the eigenvectors under NumPy's phase convention).
"""
import numpy as np
import pytest
import scipy.special as sp

import dualgrad as dg
from dualgrad.pytree import flatten

from .harness import assert_close, outputs


def _rng(seed=0):
    return np.random.default_rng(seed)


def complex_normal(rng, shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def unitary(rng, shape):
    q, _ = np.linalg.qr(complex_normal(rng, shape))
    return q


def well_conditioned(rng, shape):
    n = shape[-1]
    return complex_normal(rng, shape) * 0.5 + (n + 1) * np.eye(n)


def hermitian_distinct(rng, shape):
    batch, n = shape[:-2], shape[-1]
    q = unitary(rng, shape)
    w = -0.5 * n + np.cumsum(rng.uniform(0.4, 1.0, batch + (n,)), axis=-1)
    return (q * w[..., None, :]) @ np.conj(np.swapaxes(q, -1, -2))


def hermitian_positive(rng, shape):
    b = complex_normal(rng, shape)
    return b @ np.conj(np.swapaxes(b, -1, -2)) + shape[-1] * np.eye(shape[-1])


def distinct_singular_values(rng, shape):
    batch, (m, n) = shape[:-2], shape[-2:]
    r = min(m, n)
    u, v = unitary(rng, batch + (m, r)), unitary(rng, batch + (n, r))
    s = 1 + np.cumsum(rng.uniform(0.4, 1.0, batch + (r,)), axis=-1)
    return (u * s[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))


def distinct_eigenvalues(rng, shape):
    n = shape[-1]
    while True:
        a = complex_normal(rng, shape)
        w, v = np.linalg.eig(a)
        gaps = np.abs(w[..., :, None] - w[..., None, :]) + np.eye(n)
        if gaps.min() > 0.3 and np.linalg.cond(v).max() < 30:
            return a


def check_complex(f, inputs, k=2, rtol=1e-6, seed=1):
    """jvp of f at complex inputs along k complex directions against central differences."""
    rng = _rng(seed)
    vs = [complex_normal(rng, (k,) + x.shape) for x in inputs]
    _, tout = dg.jvp(f, tuple(inputs), tuple(vs))
    touts = flatten(tout)[0]
    scale = 1 + max(float(np.max(np.abs(x))) for x in inputs)
    h = 1e-6 * scale
    for col in range(k):
        plus = outputs_complex(f(*[x + h * v[col] for x, v in zip(inputs, vs)]))
        minus = outputs_complex(f(*[x - h * v[col] for x, v in zip(inputs, vs)]))
        for n, (t, p, m) in enumerate(zip(touts, plus, minus)):
            ref = (p - m) / (2 * h)
            assert_close(t[col].real, ref.real, rtol, f"output {n} column {col} (real part)")
            assert_close(np.imag(t[col]), np.imag(ref), rtol, f"output {n} column {col} (imaginary part)")


def outputs_complex(tree):
    return [np.asarray(getattr(o, "primal", o)) for o in flatten(tree)[0]]


def case(name, f, *samplers_shapes):
    rng = _rng(hash(name) % 2**32)
    return pytest.param(f, [s(rng, shape) for s, shape in samplers_shapes], id=name)


N = complex_normal
LINALG = [
    case("matmul", lambda a, b: a @ b, (N, (2, 3, 4)), (N, (4, 2))),
    case("tensordot", lambda a, b: np.tensordot(a, b, axes=([1], [0])), (N, (2, 3)), (N, (3, 4))),
    case("einsum", lambda a, b: np.einsum("ij,jk->ik", a, b), (N, (2, 3)), (N, (3, 4))),
    case("outer", np.outer, (N, (3,)), (N, (4,))),
    case("trace", lambda a: np.trace(a, axis1=1, axis2=2), (N, (2, 3, 3))),
    case("vdot", np.vdot, (N, (2, 3)), (N, (6,))),
    case("vecdot", np.linalg.vecdot, (N, (2, 3)), (N, (3,))),
    case("vecmat", np.vecmat, (N, (3,)), (N, (2, 3, 4))),
    case("cross", np.cross, (N, (2, 3)), (N, (3,))),
    case("solve", np.linalg.solve, (well_conditioned, (2, 3, 3)), (N, (2, 3, 2))),
    case("inv", np.linalg.inv, (well_conditioned, (3, 3))),
    case("det", np.linalg.det, (well_conditioned, (2, 3, 3))),
    case("slogdet", np.linalg.slogdet, (well_conditioned, (2, 3, 3))),
    case("cholesky", np.linalg.cholesky, (hermitian_positive, (2, 3, 3))),
    case("cholesky-upper", lambda a: np.linalg.cholesky(a, upper=True), (hermitian_positive, (3, 3))),
    case("matrix_power", lambda a: np.linalg.matrix_power(a, -3), (well_conditioned, (3, 3))),
    case("norm-2", np.linalg.norm, (N, (2, 3))),
    case("norm-1", lambda x: np.linalg.norm(x, 1), (N, (4,))),
    case("norm-inf", lambda x: np.linalg.norm(x, np.inf, axis=0), (N, (4, 2))),
    case("norm-3", lambda x: np.linalg.norm(x, 3), (N, (4,))),
    case("norm-fro", lambda x: np.linalg.norm(x, "fro"), (N, (3, 4))),
    case("norm-matrix-1", lambda x: np.linalg.norm(x, 1), (N, (3, 4))),
    case("norm-nuc", lambda x: np.linalg.norm(x, "nuc"), (distinct_singular_values, (3, 4))),
    case("norm-spectral", lambda x: np.linalg.norm(x, 2), (distinct_singular_values, (4, 3))),
    case("norm-2-smallest", lambda x: np.linalg.norm(x, -2), (distinct_singular_values, (3, 3))),
    case("cond", np.linalg.cond, (distinct_singular_values, (3, 3))),
    case("eigh", np.linalg.eigh, (hermitian_distinct, (2, 4, 4))),
    case("eigh-upper", lambda a: np.linalg.eigh(a, UPLO="U"), (hermitian_distinct, (4, 4))),
    case("eigvalsh", np.linalg.eigvalsh, (hermitian_distinct, (2, 3, 3))),
    case("eig", np.linalg.eig, (distinct_eigenvalues, (4, 4))),
    case("eigvals", np.linalg.eigvals, (distinct_eigenvalues, (2, 3, 3))),
    case("svd", lambda a: np.linalg.svd(a, full_matrices=False), (distinct_singular_values, (2, 5, 3))),
    case("svd-wide", lambda a: np.linalg.svd(a, full_matrices=False), (distinct_singular_values, (2, 3, 5))),
    case("svd-wide-2", lambda a: np.linalg.svd(a, full_matrices=False), (distinct_singular_values, (2, 7))),
    case("svd-square-full", np.linalg.svd, (distinct_singular_values, (3, 3))),
    case("svd-values-wide", lambda a: np.linalg.svd(a, compute_uv=False), (distinct_singular_values, (3, 5))),
    case("qr-tall", np.linalg.qr, (distinct_singular_values, (2, 5, 3))),
    case("qr-wide", np.linalg.qr, (distinct_singular_values, (3, 5))),
    case("pinv-tall", np.linalg.pinv, (distinct_singular_values, (5, 3))),
    case("pinv-wide", np.linalg.pinv, (distinct_singular_values, (2, 3, 5))),
    case("lstsq", lambda a, b: tuple(np.linalg.lstsq(a, b))[:2] + (np.linalg.lstsq(a, b)[3],),
         (distinct_singular_values, (6, 3)), (N, (6, 2))),
    case("lstsq-wide", lambda a, b: np.linalg.lstsq(a, b)[0], (distinct_singular_values, (3, 5)), (N, (3,))),
]


@pytest.mark.parametrize("f, inputs", LINALG)
def test_linalg_rules_on_complex_operands(f, inputs):
    check_complex(f, inputs)


def _positive_real(rng, shape):
    return rng.uniform(0.5, 2.5, shape) + 1j * rng.uniform(-0.5, 0.5, shape)


SPECIAL = [case(name, getattr(sp, name), (_positive_real, (3,))) for name in
           ("erf", "erfc", "erfi", "erfcx", "dawsn", "ndtr", "log_ndtr", "loggamma", "gamma", "rgamma", "expi", "exp1",
            "spence")]
SPECIAL += [
    case("xlogy", sp.xlogy, (N, (3,)), (_positive_real, (3,))),
    case("xlog1py", sp.xlog1py, (N, (3,)), (_positive_real, (3,))),
    *[case(name, lambda z, name=name: getattr(sp, name)(1.5, z), (_positive_real, (3,)))
      for name in ("jv", "yv", "iv", "kv", "kve")],
]


@pytest.mark.parametrize("f, inputs", SPECIAL)
def test_holomorphic_special_functions_on_complex_operands(f, inputs):
    check_complex(f, inputs, rtol=1e-5)


# ----- what the rules refuse for complex operands -----------------------------------------------------------------
@pytest.mark.parametrize("f, shape, pattern", [
    (np.linalg.svd, (3, 4), r"full_matrices=True\) of a complex 3x4 matrix.*extra singular vector of Vh"),
    (np.linalg.svd, (4, 3), r"full_matrices=True\) of a complex 4x3 matrix.*extra singular vector of U"),
    (lambda a: np.linalg.qr(a, mode="complete"), (4, 3), "linalg.qr of a complex matrix"),
])
def test_complex_factors_without_a_known_phase_convention_raise(f, shape, pattern):
    a = distinct_singular_values(_rng(), shape)
    with pytest.raises(dg.MissingRuleError, match=pattern):
        dg.jvp(f, (a,), (complex_normal(_rng(1), (1,) + shape),))


@pytest.mark.parametrize("f", [sp.psi, sp.erfinv, lambda z: sp.ive(1.0, z)])
def test_special_functions_without_a_complex_rule_raise(f):
    z = np.array([1.0 + 0.5j])
    with pytest.raises(dg.MissingRuleError, match="complex"):
        dg.jvp(f, (z,), (np.ones((1, 1), dtype=complex),))


def test_outputs_keep_numpys_dtypes():
    a = hermitian_distinct(_rng(), (3, 3))
    (w, v), (dw, dv) = dg.jvp(np.linalg.eigh, (a,), (complex_normal(_rng(1), (2, 3, 3)),))
    assert w.dtype == dw.dtype == np.float64 and v.dtype == dv.dtype == np.complex128
    _ = outputs
