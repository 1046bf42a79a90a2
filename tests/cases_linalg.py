"""OpCases for the linalg rules (see tests/harness.py for the format).

``fn`` is plain NumPy (``@``, np.dot, np.linalg.*), so each case also checks the dispatch from NumPy
to the rule. Cases are analytic where the NumPy function is holomorphic on complex input (not vdot,
which conjugates its first argument, nor norms, slogdet or cholesky).
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .harness import OpCase, away_from_zero, broadcast_shapes, fixed, normal, one_shape, spd, well_conditioned

side = st.integers(1, 4)


def distinct_magnitudes(rng, shape):
    """|x| at least 0.1 apart with random signs: no ties for the inf-norms."""
    n = int(np.prod(shape, dtype=int))
    mags = 0.2 + 0.1 * rng.permutation(n) + rng.uniform(0, 0.01, n)
    return (mags * rng.choice([-1.0, 1.0], n)).reshape(shape)


@st.composite
def matmul_shapes(draw, a_kind, b_kind):
    """Shapes for ``a @ b``; a kind is "vector", "matrix" or "batched" (batch axes broadcast, size 1 included)."""
    m, n, p = draw(side), draw(side), draw(side)
    ba, bb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=2, max_side=3)).input_shapes
    a = {"vector": (n,), "matrix": (m, n), "batched": ba + (m, n)}[a_kind]
    b = {"vector": (n,), "matrix": (n, p), "batched": bb + (n, p)}[b_kind]
    return a, b


def square(batch_dims=0, min_side=1, max_side=4):
    """One stack of square matrices (*batch, n, n)."""
    return st.tuples(hnp.array_shapes(min_dims=batch_dims, max_dims=batch_dims, max_side=3),
                     st.integers(min_side, max_side)).map(lambda s: (s[0] + (s[1], s[1]),))


def solve_shapes(a_batch, b_batch, vector=False):
    """(A, b) for np.linalg.solve: A (*a_batch, n, n); b (n,) or (*b_batch, n, m)."""
    return st.tuples(side, side).map(
        lambda nm: (a_batch + (nm[0], nm[0]), (nm[0],) if vector else b_batch + (nm[0], nm[1])))


def matmul_op(a, b):
    return a @ b


KINDS = ("vector", "matrix", "batched")
MATMUL = [OpCase("matmul", matmul_op, matmul_shapes(x, y), analytic=True, label=f"{x}@{y}")
          for x in KINDS for y in KINDS]

CASES = MATMUL + [
    OpCase("matmul", lambda a, b: np.matmul(a, b), hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=4, max_side=4).map(lambda r: r.input_shapes),
        analytic=True, label="np.matmul-any-ranks"),
    OpCase("matmul", lambda a, b: b.T @ a, fixed((3, 4), (3, 2)), analytic=True, label="transposed-operand"),
    OpCase("matmul", lambda a: a @ a, fixed((4, 4)), analytic=True, label="same-operand"),
    # np.dot: a product for 0-d operands, matmul for b with <= 2 axes, a tensordot otherwise
    OpCase("matmul", lambda a, b: np.dot(a, b), matmul_shapes("vector", "vector"), analytic=True, label="dot-1d"),
    OpCase("matmul", lambda a, b: np.dot(a, b), matmul_shapes("matrix", "matrix"), analytic=True, label="dot-2d"),
    OpCase("matmul", lambda a, b: np.dot(a, b), fixed((2, 3, 4), (4,)), analytic=True, label="dot-3d-1d"),
    OpCase("matmul", lambda a, b: np.dot(a, b), fixed((2, 3, 4), (4, 2)), analytic=True, label="dot-3d-2d"),
    OpCase("tensordot", lambda a, b: np.dot(a, b), fixed((3, 4), (2, 4, 3)), analytic=True, label="dot-2d-3d"),
    OpCase("tensordot", lambda a, b: np.dot(a, b), fixed((4,), (2, 4, 3)), analytic=True, label="dot-1d-3d"),
    OpCase("multiply", lambda a, b: np.dot(a, b), fixed((), (2, 3)), analytic=True, label="dot-scalar"),
    OpCase("matmul", lambda a, b: a.dot(b), fixed((2, 3), (3,)), analytic=True, label="method-dot",
           differentiable=(0,)),
    # np.inner contracts the last axes; np.vdot flattens both (and conjugates a: not analytic in a)
    OpCase("tensordot", lambda a, b: np.inner(a, b), fixed((4,), (4,)), analytic=True, label="inner-1d"),
    OpCase("tensordot", lambda a, b: np.inner(a, b), fixed((2, 3), (4, 1, 3)), analytic=True, label="inner-nd"),
    OpCase("multiply", lambda a, b: np.inner(a, b), fixed((2, 3), ()), analytic=True, label="inner-scalar"),
    OpCase("matmul", lambda a, b: np.vdot(a, b), fixed((2, 3), (3, 2)), label="vdot"),
    OpCase("matmul", lambda a, b: np.vdot(a, b), fixed((2, 3), (6,)), analytic=True, label="vdot-analytic-in-b",
           differentiable=(1,)),
    # tensordot
    OpCase("tensordot", lambda a, b: np.tensordot(a, b, axes=0), fixed((2, 3), (3,)), analytic=True,
           label="axes=0"),
    OpCase("tensordot", lambda a, b: np.tensordot(a, b, axes=1), fixed((2, 3), (3, 4)), analytic=True,
           label="axes=1"),
    OpCase("tensordot", lambda a, b: np.tensordot(a, b), fixed((2, 3, 4), (3, 4, 2)), analytic=True,
           label="axes=2"),
    OpCase("tensordot", lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])), fixed((3, 2, 4), (2, 5, 3)),
           analytic=True, label="explicit-axes"),
    OpCase("tensordot", lambda a, b: np.tensordot(a, b, axes=(-1, -2)), fixed((2, 3), (4, 3, 2)),
           analytic=True, label="negative-axes"),
    OpCase("tensordot", lambda a, b: np.tensordot(a, b, axes=([-1, 0], [0, -1])), fixed((3, 2, 4), (4, 2, 3)),
           analytic=True, label="negative-axis-lists"),
    # einsum
    OpCase("einsum", lambda a, b: np.einsum("ij,jk->ik", a, b), matmul_shapes("matrix", "matrix"),
           analytic=True, label="explicit"),
    OpCase("einsum", lambda a, b: np.einsum("ij,jk", a, b), fixed((2, 3), (3, 4)), analytic=True, label="implicit"),
    OpCase("einsum", lambda a: np.einsum("ji", a), fixed((2, 3)), analytic=True, label="implicit-transpose"),
    OpCase("einsum", lambda a, b: np.einsum("...ij,...jk->...ik", a, b), matmul_shapes("batched", "batched"),
           analytic=True, label="ellipsis"),
    OpCase("einsum", lambda a, b: np.einsum("...ij,jk", a, b), fixed((2, 1, 3, 4), (4, 2)), analytic=True,
           label="implicit-ellipsis"),
    OpCase("einsum", lambda a: np.einsum("ii->", a), fixed((4, 4)), analytic=True, label="trace"),
    OpCase("einsum", lambda a: np.einsum("ii", a), fixed((3, 3)), analytic=True, label="implicit-trace"),
    OpCase("einsum", lambda a: np.einsum("bii->bi", a), fixed((2, 3, 3)), analytic=True, label="diagonal"),
    OpCase("einsum", lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c), fixed((2, 3), (3, 4), (4, 2)),
           analytic=True, label="three-operands"),
    OpCase("einsum", lambda a: np.einsum("ij,ij->", a, a), fixed((3, 4)), analytic=True, label="repeated-operand"),
    OpCase("einsum", lambda a, b: np.einsum("zy, yA -> Az", a, b), fixed((2, 3), (3, 4)), analytic=True,
           label="letters-z-A-and-spaces"),
    OpCase("einsum", lambda a, b: np.einsum("i,j->ij", a, b), fixed((3,), (4,)), analytic=True, label="outer"),
    OpCase("einsum", lambda a, b: np.einsum("ij,j->i", a, b), fixed((3, 4), (4,)), analytic=True,
           label="constant-operand", differentiable=(0,)),
    # outer (flattens both operands)
    OpCase("outer", lambda a, b: np.outer(a, b), st.tuples(side, side).map(lambda s: ((s[0],), (s[1],))),
           analytic=True),
    OpCase("outer", lambda a, b: np.outer(a, b), fixed((2, 2), (3,)), analytic=True, label="flattens"),
    OpCase("outer", lambda a, b: np.outer(a, b), fixed((), (3,)), analytic=True, label="0d"),
    # trace
    OpCase("trace", lambda a: np.trace(a), square(), analytic=True),
    OpCase("trace", lambda a: np.trace(a), fixed((3, 5)), analytic=True, label="rectangular"),
    OpCase("trace", lambda a: np.trace(a, offset=1), fixed((4, 4)), analytic=True, label="offset=1"),
    OpCase("trace", lambda a: np.trace(a, offset=-2), fixed((4, 3)), analytic=True, label="offset=-2"),
    OpCase("trace", lambda a: np.trace(a, axis1=1, axis2=2), fixed((2, 3, 3)), analytic=True, label="axes"),
    OpCase("trace", lambda a: np.trace(a, -1, axis1=-1, axis2=0), fixed((3, 2, 4)), analytic=True,
           label="negative-axes-offset"),
    OpCase("trace", lambda a: a.trace(1), fixed((3, 3, 2)), analytic=True, label="method"),
    # norm: vector norms (any ord), with axis None / int / negative / 1-tuple and keepdims
    OpCase("norm", lambda x: np.linalg.norm(x), one_shape(0, 3), label="default-any-rank"),
    OpCase("norm", lambda x: np.linalg.norm(x, keepdims=True), one_shape(1, 3), label="default-keepdims"),
    OpCase("norm", lambda x: np.linalg.norm(x, axis=1), fixed((3, 4, 2)), label="axis=1"),
    OpCase("norm", lambda x: np.linalg.norm(x, 2, axis=-1, keepdims=True), fixed((3, 4)), label="ord=2-axis=-1"),
    OpCase("norm", lambda x: np.linalg.norm(x, axis=(1,)), fixed((3, 4)), label="axis-1-tuple"),
    OpCase("norm", lambda x: np.linalg.norm(x, 1), one_shape(1, 1), sample=away_from_zero(), label="ord=1"),
    OpCase("norm", lambda x: np.linalg.norm(x, 1, axis=0, keepdims=True), fixed((3, 2)),
           sample=away_from_zero(), label="ord=1-axis-keepdims"),
    OpCase("norm", lambda x: np.linalg.norm(x, np.inf), one_shape(1, 1), sample=distinct_magnitudes,
           label="ord=inf"),
    OpCase("norm", lambda x: np.linalg.norm(x, -np.inf, axis=-2), fixed((4, 3)), sample=distinct_magnitudes,
           label="ord=-inf-axis"),
    OpCase("norm", lambda x: np.linalg.norm(x, np.inf, axis=1, keepdims=True), fixed((2, 4)),
           sample=distinct_magnitudes, label="ord=inf-keepdims"),
    OpCase("norm", lambda x: np.linalg.norm(x, 3), one_shape(1, 1), sample=away_from_zero(), label="ord=3"),
    OpCase("norm", lambda x: np.linalg.norm(x, 0.5, axis=0), fixed((4, 2)), sample=away_from_zero(),
           label="ord=0.5"),
    OpCase("norm", lambda x: np.linalg.norm(x, -1.5, axis=-1), fixed((2, 3)), sample=away_from_zero(),
           label="ord=-1.5"),
    OpCase("norm", lambda x: np.linalg.norm(x, 0, axis=1), fixed((2, 3)), sample=away_from_zero(),
           label="ord=0"),
    # norm: matrix norms over an axis pair
    OpCase("norm", lambda x: np.linalg.norm(x, "fro"), fixed((3, 4)), label="fro"),
    OpCase("norm", lambda x: np.linalg.norm(x, axis=(2, 0)), fixed((3, 2, 4)), label="matrix-default-axes"),
    OpCase("norm", lambda x: np.linalg.norm(x, "fro", axis=(0, -1), keepdims=True), fixed((3, 2, 4)),
           label="fro-keepdims"),
    OpCase("norm", lambda x: np.linalg.norm(x, "nuc"), fixed((3, 4)), label="nuc"),
    OpCase("norm", lambda x: np.linalg.norm(x, "nuc", axis=(-2, -1)), fixed((2, 4, 4)), label="nuc-batched"),
    OpCase("norm", lambda x: np.linalg.norm(x, 2), fixed((4, 3)), label="spectral"),
    OpCase("norm", lambda x: np.linalg.norm(x, 2, axis=(2, 1), keepdims=True), fixed((2, 3, 4)),
           label="spectral-axes-keepdims"),
    OpCase("norm", lambda x: np.linalg.norm(x, -2), fixed((3, 3)), label="ord=-2"),
    OpCase("norm", lambda x: np.linalg.norm(x, -2, axis=(0, 2)), fixed((4, 2, 3)), label="ord=-2-axes"),
    # solve: vector or matrix right-hand sides, batched and broadcast; tangents on A, b or both
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((), (), vector=True),
           sample=(well_conditioned, normal), analytic=True, label="vector-b"),
    OpCase("solve", lambda b: np.linalg.solve([[2.0, 0.5, 0.0], [0.3, 3.0, 0.2], [0.0, 0.1, 4.0]], b), fixed((3,)),
           analytic=True, label="list-A"),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((), ()),
           sample=(well_conditioned, normal), analytic=True, label="matrix-b"),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((3,), (3,)),
           sample=(well_conditioned, normal), analytic=True, label="batched"),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((2, 1), (3,)),
           sample=(well_conditioned, normal), analytic=True, label="broadcast-batch"),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((), (2,)),
           sample=(well_conditioned, normal), analytic=True, label="batched-b-only"),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((2,), (), vector=True),
           sample=(well_conditioned, normal), analytic=True, label="batched-A-vector-b"),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((2,), (2,)),
           sample=(well_conditioned, normal), analytic=True, label="tangent-on-A", differentiable=(0,)),
    OpCase("solve", lambda a, b: np.linalg.solve(a, b), solve_shapes((2,), (2,)),
           sample=(well_conditioned, normal), analytic=True, label="tangent-on-b", differentiable=(1,)),
    # inv, det, slogdet, cholesky
    OpCase("inv", lambda a: np.linalg.inv(a), square(), sample=well_conditioned, analytic=True),
    OpCase("inv", lambda a: np.linalg.inv(a), square(2), sample=well_conditioned, analytic=True, label="batched"),
    OpCase("det", lambda a: np.linalg.det(a), square(), sample=well_conditioned, analytic=True),
    OpCase("det", lambda a: np.linalg.det(a), square(2), sample=well_conditioned, analytic=True, label="batched"),
    OpCase("slogdet", lambda a: np.linalg.slogdet(a), square(), sample=well_conditioned),
    OpCase("slogdet", lambda a: np.linalg.slogdet(-a), square(1), sample=well_conditioned,
           label="batched-negative"),
    OpCase("cholesky", lambda a: np.linalg.cholesky(a), square(), sample=spd),
    OpCase("cholesky", lambda a: np.linalg.cholesky(a), square(2), sample=spd, label="batched"),
    OpCase("cholesky", lambda a: np.linalg.cholesky(a, upper=True), square(), sample=spd, label="upper"),
    OpCase("cholesky", lambda a: np.linalg.cholesky(a, upper=True), square(1), sample=spd,
           label="upper-batched"),
]


# ----- samplers for the decompositions: inputs where the factors are unique and smooth -----------------------------
def _orthonormal(rng, batch, m, r):
    """Stacks (*batch, m, r) with orthonormal columns."""
    q, _ = np.linalg.qr(rng.standard_normal(batch + (m, r)))
    return q


def _spread(rng, batch, n, low=1.0):
    """Values (*batch, n) at least 0.4 apart, the smallest at least ``low``, in random order."""
    values = low + np.cumsum(rng.uniform(0.4, 1.0, batch + (n,)), axis=-1)
    return rng.permuted(values, axis=-1)


def symmetric_distinct(rng, shape):
    """Symmetric matrices (..., n, n) with eigenvalues at least 0.4 apart, of both signs."""
    batch, n = shape[:-2], shape[-1]
    q = _orthonormal(rng, batch, n, n)
    w = _spread(rng, batch, n, low=-0.5 * n)
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def symmetric_distinct_magnitudes(rng, shape):
    """Symmetric matrices whose eigenvalues have distinct absolute values >= 1 (svd(hermitian=True))."""
    batch, n = shape[:-2], shape[-1]
    q = _orthonormal(rng, batch, n, n)
    w = _spread(rng, batch, n) * rng.choice([-1.0, 1.0], batch + (n,))
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def distinct_singular_values(rng, shape):
    """Matrices (..., m, n) with singular values >= 1 and at least 0.4 apart."""
    batch, (m, n) = shape[:-2], shape[-2:]
    r = min(m, n)
    u, v = _orthonormal(rng, batch, m, r), _orthonormal(rng, batch, n, r)
    return (u * _spread(rng, batch, r)[..., None, :]) @ np.swapaxes(v, -1, -2)


def real_distinct_eigenvalues(rng, shape):
    """Non-symmetric matrices S diag(λ) S⁻¹ with real eigenvalues at least 0.4 apart, S well conditioned."""
    batch, n = shape[:-2], shape[-1]
    s = rng.standard_normal(batch + (n, n)) + 2 * n * np.eye(n)
    return (s * _spread(rng, batch, n, low=-0.5 * n)[..., None, :]) @ np.linalg.inv(s)


full_rank = distinct_singular_values


def rectangular(batch_dims=0, min_side=1, max_side=4, max_difference=None):
    """One stack of matrices (*batch, m, n), |m - n| <= max_difference when given."""
    def shape(s):
        batch, m, n = s
        if max_difference is not None:
            n = max(min_side, min(n, m + max_difference, max_side)) if n > m else max(n, m - max_difference)
        return (batch + (m, n),)
    return st.tuples(hnp.array_shapes(min_dims=batch_dims, max_dims=batch_dims, max_side=3),
                     st.integers(min_side, max_side), st.integers(min_side, max_side)).map(shape)


def lstsq_shapes(vector, tall=None):
    """(A, b) for lstsq: A (m, n) (m > n when tall, m < n when not, any when None), b (m,) or (m, p)."""
    def shape(s):
        m, n, p = s
        if tall is True:
            m, n = max(m, n) + 1, min(m, n)
        elif tall is False:
            m, n = min(m, n), max(m, n) + 1
        return (m, n), (m,) if vector else (m, p)
    return st.tuples(side, side, side).map(shape)


def lstsq_outputs(a, b):
    """x, residuals, rank and the singular values (rank is a plain integer)."""
    return tuple(np.linalg.lstsq(a, b))


def signed(v, axis):
    """v with each vector along ``axis`` divided by the phase (sign) of its largest-magnitude entry. Eigen- and
    singular vectors are unique up to that phase only, and LAPACK (NumPy) and cuSOLVER (CuPy) choose it
    differently; the phase is locally constant, so the tangents are scaled alike."""
    top = np.take_along_axis(v, np.expand_dims(np.argmax(np.abs(v), axis=axis), axis), axis=axis)
    return v * np.conj(np.sign(top))


def eigh_signed(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return w, signed(v, -2)


def svd_signed(a, **options):
    u, s, vh = np.linalg.svd(a, **options)
    return signed(u, -2), s, signed(vh, -1)


CASES += [
    # eigh, eigvalsh: the triangle NumPy reads carries the tangent (the other one is ignored); vectors signed
    OpCase("eigh", eigh_signed, square(), sample=symmetric_distinct),
    OpCase("eigh", eigh_signed, square(2, min_side=2), sample=symmetric_distinct, label="batched"),
    OpCase("eigh", lambda a: eigh_signed(a, UPLO="U"), square(1), sample=symmetric_distinct, label="UPLO=U"),
    OpCase("eigvalsh", np.linalg.eigvalsh, square(1), sample=symmetric_distinct),
    OpCase("eigvalsh", lambda a: np.linalg.eigvalsh(a, "U"), square(), sample=symmetric_distinct, label="UPLO=U"),
    # eig, eigvals of matrices with real distinct eigenvalues (real outputs)
    OpCase("eig", np.linalg.eig, square(), sample=real_distinct_eigenvalues, rtol=1e-5),
    OpCase("eig", np.linalg.eig, square(1, min_side=2), sample=real_distinct_eigenvalues, rtol=1e-5,
           label="batched"),
    OpCase("eigvals", np.linalg.eigvals, square(1), sample=real_distinct_eigenvalues, rtol=1e-5),
    # svd: reduced, values only, full where unique up to sign (|m - n| <= 1), svdvals, hermitian
    OpCase("svd", lambda a: svd_signed(a, full_matrices=False), rectangular(), sample=distinct_singular_values,
           label="reduced"),
    OpCase("svd", lambda a: svd_signed(a, full_matrices=False), rectangular(2), sample=distinct_singular_values,
           label="reduced-batched"),
    OpCase("svd", svd_signed, rectangular(1, max_difference=1), sample=distinct_singular_values,
           label="full_matrices-m-n<=1"),
    OpCase("svd", lambda a: np.linalg.svd(a, compute_uv=False), rectangular(1), sample=distinct_singular_values,
           label="values"),
    OpCase("svd", np.linalg.svdvals, rectangular(1), sample=distinct_singular_values, label="svdvals"),
    OpCase("eigh", lambda a: svd_signed(a, hermitian=True), square(1), sample=symmetric_distinct_magnitudes,
           label="svd-hermitian"),
    OpCase("eigvalsh", lambda a: np.linalg.svd(a, compute_uv=False, hermitian=True), square(),
           sample=symmetric_distinct_magnitudes, label="svd-hermitian-values"),
    # qr: tall, square and wide; batched; R only; complete where Q is unique up to sign (m <= n + 1)
    OpCase("qr", np.linalg.qr, rectangular(), sample=full_rank, label="reduced"),
    OpCase("qr", np.linalg.qr, rectangular(2), sample=full_rank, label="reduced-batched"),
    OpCase("qr", lambda a: np.linalg.qr(a, mode="r"), rectangular(1), sample=full_rank, label="mode=r"),
    OpCase("qr", lambda a: np.linalg.qr(a, mode="complete"), rectangular(1, max_difference=1).filter(
        lambda s: s[0][-2] <= s[0][-1] + 1), sample=full_rank, label="complete"),
    # pinv of full-rank matrices: tall, wide, square, batched, hermitian, rtol
    OpCase("pinv", np.linalg.pinv, rectangular(), sample=full_rank),
    OpCase("pinv", np.linalg.pinv, rectangular(2), sample=full_rank, label="batched"),
    OpCase("pinv", lambda a: np.linalg.pinv(a, hermitian=True), square(1), sample=symmetric_distinct_magnitudes,
           label="hermitian"),
    OpCase("pinv", lambda a: np.linalg.pinv(a, rtol=1e-8), rectangular(), sample=full_rank, label="rtol"),
    # pinv of XᵀX, X (m, n) wide: rank m < n held along every tangent (rtol cuts float32's rounding, ~1e-7·σ_max)
    OpCase("pinv", lambda x: np.linalg.pinv(np.swapaxes(x, -1, -2) @ x, rtol=1e-5),
           rectangular(1).filter(lambda s: s[0][-2] < s[0][-1]), sample=full_rank, label="rank-deficient"),
    # lstsq: over- and underdetermined and square systems, vector and matrix right-hand sides
    OpCase("lstsq", lambda a: np.linalg.lstsq(a, [1.0, -2.0, 0.5, 3.0])[0], fixed((4, 2)), sample=full_rank,
           label="list-b"),
    OpCase("lstsq", lstsq_outputs, lstsq_shapes(vector=True, tall=True), sample=(full_rank, normal),
           label="tall-vector-b"),
    OpCase("lstsq", lstsq_outputs, lstsq_shapes(vector=False, tall=True), sample=(full_rank, normal),
           label="tall-matrix-b"),
    OpCase("lstsq", lstsq_outputs, lstsq_shapes(vector=True, tall=False), sample=(full_rank, normal),
           label="wide"),
    OpCase("lstsq", lstsq_outputs, lstsq_shapes(vector=False), sample=(full_rank, normal), label="any"),
    OpCase("lstsq", lstsq_outputs, lstsq_shapes(vector=True, tall=True), sample=(full_rank, normal),
           label="tangent-on-b", differentiable=(1,)),
    # matrix norms ±1, ±inf; cond; vector_norm and matrix_norm
    OpCase("norm", lambda x: np.linalg.norm(x, 1), fixed((3, 4)), sample=away_from_zero(), label="matrix-ord=1"),
    OpCase("norm", lambda x: np.linalg.norm(x, -np.inf, axis=(2, 0)), fixed((3, 2, 4)), sample=away_from_zero(),
           label="matrix-ord=-inf"),
    OpCase("norm", lambda x: np.linalg.norm(x, np.inf, axis=(-2, -1), keepdims=True), fixed((2, 3, 3)),
           sample=away_from_zero(), label="matrix-ord=inf-keepdims"),
    OpCase("norm", lambda x: np.linalg.norm(x, -1), fixed((4, 3)), sample=away_from_zero(), label="matrix-ord=-1"),
    OpCase("norm", lambda x: np.linalg.cond(x), rectangular(1), sample=full_rank, label="cond"),
    OpCase("norm", lambda x: np.linalg.cond(x, -2), rectangular(), sample=full_rank, label="cond-p=-2"),
    OpCase("norm", lambda x: np.linalg.cond(x, 1), square(1), sample=well_conditioned, label="cond-p=1"),
    OpCase("norm", lambda x: np.linalg.cond(x, "fro"), square(), sample=well_conditioned, label="cond-p=fro"),
    OpCase("norm", lambda x: np.linalg.cond(x, "nuc"), square(), sample=well_conditioned, label="cond-p=nuc"),
    OpCase("norm", lambda x: np.linalg.vector_norm(x), one_shape(0, 3), label="vector_norm"),
    OpCase("norm", lambda x: np.linalg.vector_norm(x, axis=(0, 2), keepdims=True, ord=3), fixed((2, 3, 4)),
           sample=away_from_zero(), label="vector_norm-axes-keepdims"),
    OpCase("norm", lambda x: np.linalg.vector_norm(x, axis=-1, ord=1), fixed((2, 3)), sample=away_from_zero(),
           label="vector_norm-axis"),
    OpCase("norm", lambda x: np.linalg.matrix_norm(x), fixed((2, 3, 4)), label="matrix_norm"),
    OpCase("norm", lambda x: np.linalg.matrix_norm(x, ord="nuc", keepdims=True), fixed((2, 3, 4)),
           sample=distinct_singular_values, label="matrix_norm-nuc"),
    # matrix_power, multi_dot, tensorsolve, tensorinv: built from matmul, solve and inv
    *[OpCase("matmul" if n > 0 else "inv", lambda a, n=n: np.linalg.matrix_power(a, n), square(1),
             sample=well_conditioned, analytic=True, label=f"matrix_power-n={n}") for n in (0, 1, 2, 3, 6, -1, -3)],
    OpCase("matmul", lambda a, b, c: np.linalg.multi_dot([a, b, c]), fixed((2, 5), (5, 3), (3, 4)), analytic=True,
           label="multi_dot-3"),
    OpCase("matmul", lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]), fixed((4,), (4, 3), (3, 5), (5,)),
           analytic=True, label="multi_dot-vectors"),
    OpCase("matmul", lambda a, b: np.linalg.multi_dot([a, b]), fixed((4,), (4, 3)), analytic=True,
           label="multi_dot-2"),
    OpCase("solve", lambda a, b: np.linalg.tensorsolve(np.reshape(a, (2, 3, 6)), b), fixed((6, 6), (2, 3)),
           sample=(well_conditioned, normal), analytic=True, label="tensorsolve"),
    OpCase("solve", lambda a, b: np.linalg.tensorsolve(np.reshape(a, (6, 2, 3)), b, axes=(0,)),
           fixed((6, 6), (2, 3)), sample=(well_conditioned, normal), analytic=True, label="tensorsolve-axes"),
    OpCase("inv", lambda a: np.linalg.tensorinv(np.reshape(a, (2, 3, 6)), ind=2), fixed((6, 6)),
           sample=well_conditioned, analytic=True, label="tensorinv"),
    # linalg.cross (np.cross: cases_numeric.py), vecdot, matvec, vecmat and NumPy 2's linalg aliases
    OpCase("multiply", lambda a, b: np.linalg.cross(a, b, axis=0), fixed((3, 2), (3, 1)), analytic=True,
           label="linalg.cross"),
    # vecdot and vecmat conjugate their first operand: not analytic in it
    OpCase("multiply", np.linalg.vecdot, broadcast_shapes(2, max_dims=2).map(lambda s: (s[0] + (3,), s[1] + (3,))),
           label="vecdot"),
    OpCase("multiply", lambda a, b: np.linalg.vecdot(a, b, axis=0), fixed((3, 2), (3, 1)), label="vecdot-axis"),
    OpCase("multiply", np.vecdot, fixed((2, 3), (3,)), label="np.vecdot"),
    OpCase("multiply", np.vecdot, fixed((2, 3), (3,)), analytic=True, label="np.vecdot-analytic-in-b",
           differentiable=(1,)),
    OpCase("matmul", np.matvec, fixed((2, 3, 4), (4,)), analytic=True, label="np.matvec"),
    OpCase("matmul", np.vecmat, fixed((3,), (2, 3, 4)), label="np.vecmat"),
    OpCase("outer", np.linalg.outer, fixed((3,), (4,)), analytic=True, label="linalg.outer"),
    OpCase("matmul", np.linalg.matmul, matmul_shapes("batched", "matrix"), analytic=True, label="linalg.matmul"),
    OpCase("tensordot", lambda a, b: np.linalg.tensordot(a, b, axes=1), fixed((2, 3), (3, 4)), analytic=True,
           label="linalg.tensordot"),
    OpCase("trace", lambda a: np.linalg.trace(a, offset=1), fixed((2, 3, 4)), analytic=True, label="linalg.trace"),
    OpCase("diagonal", lambda a: np.linalg.diagonal(a, offset=-1), fixed((2, 3, 4)), analytic=True,
           label="linalg.diagonal"),
    OpCase("transpose", np.linalg.matrix_transpose, fixed((2, 3, 4)), analytic=True,
           label="linalg.matrix_transpose"),
]
