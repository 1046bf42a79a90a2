"""Linear algebra rules.

Matmul is the engine's hot path. For ``Y = A @ B`` the tangent is ``dA @ B + A @ dB`` and both terms
fold the tangent axis k into a GEMM dimension:

* ``dA @ B`` with ``B`` a matrix: ``dA`` of shape ``(k, ..., I)`` is viewed as ``(k·…, I)`` rows and
  multiplied by ``B`` in one GEMM;
* ``A @ dB``: ``A`` meets the k stacked matrices ``dB[i]`` in one batched matmul, each a full GEMM
  (on the k-first layout this is within a few percent of a pre-laid ``(I, k·O)`` GEMM, whereas
  transposing dB into that layout costs a copy of the whole block per call).

Matrix functions use the classic identities: d(A⁻¹) = −A⁻¹ dA A⁻¹, d det A = det A · tr(A⁻¹ dA),
d(A⁻¹b) = A⁻¹(db − dA x), and Cholesky's dL = L Φ(L⁻¹ dA L⁻ᵀ) with Φ the lower triangle with
halved diagonal. Solves take the k tangent columns as extra right-hand sides: one factorisation of A
serves all k.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..backend import namespace
from ..errors import MissingRuleError
from ..registry import bind, defprimitive, implements
from ._util import add_terms, fit, lift, normalize_axes, normalize_axis, reject, tangent_axes
from .elementwise import multiply
from .shape import ravel


# ----- matmul (fused) -------------------------------------------------------------------------------
def _tangent_left(ta, a, b):
    """dA @ B as a (k, *out) block."""
    xp = namespace(b)
    k = ta.shape[0]
    if b.ndim == 2:                                    # fold k (and A's batch) into the GEMM's rows
        rows = xp.matmul(ta.reshape(-1, a.shape[-1]), b)
        return rows.reshape((k,) + a.shape[:-1] + b.shape[-1:])
    if b.ndim == 1:
        return xp.matmul(ta, b)
    if a.ndim == 1:                                    # a row vector against a stack of matrices
        ta = ta.reshape((k,) + (1,) * (b.ndim - 2) + (1, a.shape[0]))
        return xp.matmul(ta, b)[..., 0, :]
    return xp.matmul(lift(ta, max(a.ndim, b.ndim)), b)


def _tangent_right(tb, a, b):
    """A @ dB as a (k, *out) block."""
    xp = namespace(a)
    if b.ndim == 1:
        if a.ndim == 1:
            return xp.matmul(tb, a)                    # (k, I) @ (I,)
        if a.ndim == 2:
            return xp.matmul(tb, a.T)                  # (k, I) @ (I, B): one GEMM
        col = lift(tb[..., None], a.ndim)              # (k, 1.., I, 1)
        return xp.matmul(a, col)[..., 0]
    if a.ndim == 1:
        return xp.matmul(a, tb)
    return xp.matmul(a, lift(tb, max(a.ndim, b.ndim)))


def _matmul_shape_message(sa, sb):
    if not sa or not sb:
        return (f"matmul: operands of shapes {sa} and {sb}; matmul needs at least one axis on each side. "
                "Scale by a scalar with * (np.multiply) instead.")
    inner_b, which = (sb[0], "only") if len(sb) == 1 else (sb[-2], "second-to-last")
    if sa[-1] != inner_b:
        return (f"matmul: shapes {sa} and {sb} are not aligned: the last axis of the first operand ({sa[-1]}) "
                f"must equal the {which} axis of the second ({inner_b}). Transpose an operand (x.T, x.mT) or "
                "check the layer sizes.")
    return (f"matmul: the batch axes {sa[:-2]} and {sb[:-2]} of the operands {sa} and {sb} do not broadcast; "
            "batch axes must be equal or 1 (insert size-1 axes with x[:, None] or np.expand_dims).")


def _matmul_rule(primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    a, b = xp.asarray(a), xp.asarray(b)
    try:
        out = xp.matmul(a, b)
    except ValueError as e:                            # checked only on failure: the hot path pays nothing
        raise ValueError(_matmul_shape_message(a.shape, b.shape)) from e
    if ta is None and tb is None:
        return out, None
    t = None if ta is None else _tangent_left(ta, a, b)
    if tb is not None:
        right = _tangent_right(tb, a, b)
        if t is None:
            t = right
        else:
            t += right                                 # t: this rule's own fresh (k, *out.shape) GEMM output
    return out, fit(t, out.shape)


_matmul = defprimitive("matmul", _matmul_rule, family="linalg", kind="fused",
                       numpy=("np.matmul", "@", "np.dot", "Dual.dot", "np.vdot"),
                       note="k folded into GEMM rows (dA·B) and batched GEMMs (A·dB)")


@implements("matmul")
def matmul(a, b):
    """``a @ b`` with NumPy's matmul semantics (1-D operands, broadcast batch dimensions)."""
    return bind(_matmul, a, b)


@implements(np.dot)
def dot(a, b, out=None):
    """np.dot: a product for scalars, matmul when b has at most 2 axes, else a tensordot."""
    reject("dot", out=out)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return multiply(a, b)
    if np.ndim(b) <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


@implements(np.inner)
def inner(a, b):
    """np.inner: contracts the last axes (a product for 0-d operands)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([-1], [-1]))


@implements(np.vdot)
def vdot(a, b):
    """np.vdot of real arrays: the dot product of the flattened operands."""
    return matmul(ravel(a), ravel(b))


# ----- tensordot, einsum, outer ---------------------------------------------------------------------
def _tensordot_axes(axes, a_ndim, b_ndim):
    if isinstance(axes, (int, np.integer)):
        return tuple(range(a_ndim - axes, a_ndim)), tuple(range(axes))
    a_axes, b_axes = axes
    a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    return (tuple(normalize_axis(x, a_ndim, "tensordot") for x in a_axes),
            tuple(normalize_axis(x, b_ndim, "tensordot") for x in b_axes))


def _tensordot_rule(primals, tangents, axes):
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    a_axes, b_axes = axes
    out = xp.tensordot(a, b, axes=(a_axes, b_axes))
    t = None
    if ta is not None:     # (k, a_free, b_free)
        t = xp.tensordot(ta, b, axes=([x + 1 for x in a_axes], list(b_axes)))
    if tb is not None:     # (a_free, k, b_free) -> k first
        right = xp.tensordot(a, tb, axes=(list(a_axes), [x + 1 for x in b_axes]))
        t = add_terms(t, xp.moveaxis(right, a.ndim - len(a_axes), 0))
    return out, t


_tensordot = defprimitive("tensordot", _tensordot_rule, family="linalg", kind="linear",
                          numpy=("np.tensordot", "np.inner", "np.dot"),
                          note="bilinear: each tangent through the same contraction")


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    return bind(_tensordot, a, b, axes=_tensordot_axes(axes, np.ndim(a), np.ndim(b)))


def _einsum_explicit(subscripts: str) -> tuple[list[str], str]:
    """Input terms and the output term of an einsum string (the implicit output made explicit)."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, rhs = subscripts.split("->")
        return lhs.split(","), rhs
    terms = subscripts.split(",")
    letters = "".join(terms).replace("...", "")
    once = sorted(c for c in set(letters) if letters.count(c) == 1)
    return terms, ("..." if "..." in subscripts else "") + "".join(once)


def _einsum_rule(primals, tangents, subscripts):
    xp = namespace(*primals)
    out = xp.einsum(subscripts, *primals, optimize=True)
    terms, result = _einsum_explicit(subscripts)
    k_letter = next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in subscripts)
    t = None
    for n, tn in enumerate(tangents):
        if tn is None:
            continue
        spec = ",".join(k_letter + term if m == n else term for m, term in enumerate(terms))
        operands = [tn if m == n else p for m, p in enumerate(primals)]
        t = add_terms(t, xp.einsum(f"{spec}->{k_letter}{result}", *operands, optimize=True))
    return out, t


_einsum = defprimitive("einsum", _einsum_rule, family="linalg", kind="linear", numpy=("np.einsum",),
                       note="multilinear: one contraction per operand tangent, k as an extra index")


@implements(np.einsum)
def einsum(subscripts, *operands, out=None, optimize=None, **kwargs):
    """np.einsum in its string form (``"ij,jk->ik"``); the interleaved operand form is not supported."""
    reject("einsum", out=out, **kwargs)
    if not isinstance(subscripts, str):
        raise TypeError("einsum on Duals needs the subscripts string form, e.g. np.einsum('ij,jk->ik', a, b)")
    return bind(_einsum, *operands, subscripts=subscripts)


def _outer_rule(primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    a, b = xp.ravel(xp.asarray(a)), xp.ravel(xp.asarray(b))
    out = a[:, None] * b[None, :]
    t = None
    if ta is not None:
        t = ta.reshape(ta.shape[0], -1, 1) * b[None, None, :]
    if tb is not None:
        t = add_terms(t, a[None, :, None] * tb.reshape(tb.shape[0], 1, -1))
    return out, t


_outer = defprimitive("outer", _outer_rule, family="linalg", kind="linear", numpy=("np.outer",))


@implements(np.outer)
def outer(a, b, out=None):
    reject("outer", out=out)
    return bind(_outer, a, b)


def _trace_rule(primals, tangents, offset, axis1, axis2):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    out = xp.trace(x, offset, axis1, axis2)
    return out, None if t is None else xp.trace(t, offset, axis1 + 1, axis2 + 1)


_trace = defprimitive("trace", _trace_rule, family="linalg", kind="linear", numpy=("np.trace", "Dual.trace"))


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    reject("trace", dtype=dtype, out=out)
    ndim = np.ndim(a)
    return bind(_trace, a, offset=offset, axis1=normalize_axis(axis1, ndim, "trace"),
                axis2=normalize_axis(axis2, ndim, "trace"))


# ----- norms ----------------------------------------------------------------------------------------
def _vector_norm_tangent(t, x, out_keep, ord, axes):
    """Tangent of the vector p-norm of x over ``axes`` (out_keep: the norm with size-1 axes kept)."""
    xp = namespace(x)
    ta = tangent_axes(axes)
    if ord == 0:
        return None                                   # a count of nonzeros: piecewise constant
    if ord == 1:
        return (t * xp.sign(x)).sum(axis=ta)
    if ord in (np.inf, -np.inf):                      # the extreme |x_i|; ties share the tangent equally
        hit = xp.abs(x) == out_keep
        weight = xp.sign(x) * hit / hit.sum(axis=axes, keepdims=True)
        return (t * weight.astype(x.dtype, copy=False)).sum(axis=ta)
    safe = xp.where(out_keep == 0, 1, out_keep)       # 0 at x = 0
    if ord is None or ord == 2:                       # d‖x‖ = ⟨x, dx⟩ / ‖x‖
        return (t * (x / safe)).sum(axis=ta)
    # d‖x‖_p = Σ sign(x) (|x| / ‖x‖)^(p−1) dx; an entry x_i = 0 contributes 0 (as abs' derivative at 0)
    ratio = xp.abs(x) / safe
    return (t * (xp.sign(x) * xp.where(ratio == 0, 1, ratio) ** (ord - 1))).sum(axis=ta)


def _matrix_norm_tangent(t, x, ord, axes):
    """Tangent of a matrix norm over the two ``axes``: Frobenius, nuclear or spectral (ord 2, -2)."""
    xp = namespace(x)
    r, c = axes
    xm = xp.moveaxis(x, (r, c), (-2, -1))
    tm = xp.moveaxis(t, (r + 1, c + 1), (-2, -1))
    if ord in (None, "fro"):                          # d‖A‖_F = ⟨A, dA⟩ / ‖A‖_F, and 0 at A = 0
        fro = xp.sqrt((xm * xm).sum(axis=(-2, -1), keepdims=True))
        return (tm * (xm / xp.where(fro == 0, 1, fro))).sum(axis=(-2, -1))
    if ord not in ("nuc", 2, -2):
        raise MissingRuleError(f"linalg.norm: no forward rule for the matrix norm ord={ord!r} of an array of "
                               f"shape {x.shape} over axes {axes} (supported: None, 'fro', 'nuc', 2, -2). For "
                               "the max-abs-column/row-sum norms use np.max(np.sum(np.abs(a), axis=...)).")
    u, _, vh = xp.linalg.svd(xm, full_matrices=False)
    if ord == "nuc":                                  # d Σσ_i = Σ u_iᵀ dA v_i = tr(Uᵀ dA V)
        return ((u @ vh) * tm).sum(axis=(-2, -1))
    i = 0 if ord == 2 else -1                         # d σ = uᵀ dA v for the largest/smallest σ
    return xp.einsum("...i,k...ij,...j->k...", u[..., :, i], tm, vh[..., i, :])


def _norm_rule(primals, tangents, ord, axis, keepdims):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    out = xp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    if t is None:
        return out, None
    if isinstance(axis, tuple) and len(axis) == 2:
        dout = _matrix_norm_tangent(t, x, ord, tuple(normalize_axis(a, x.ndim, "linalg.norm") for a in axis))
    else:
        axes = normalize_axes(axis, x.ndim, "linalg.norm")        # None: all axes (x flattened)
        keep = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        dout = _vector_norm_tangent(t, x, xp.reshape(out, keep), ord, axes)
    return out, None if dout is None else dout.reshape((t.shape[0],) + np.shape(out))


_norm = defprimitive("norm", _norm_rule, family="linalg", numpy=("np.linalg.norm",),
                     note="vector: any ord, 0 at x = 0, ties of the inf-norms share the tangent, an entry 0 "
                          "adds 0 (ord < 1); matrix: fro, nuc, 2, -2")


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    if axis is None and ord is not None and np.ndim(x) not in (1, 2):
        raise ValueError("Improper number of dimensions to norm.")
    if axis is None and ord is not None and np.ndim(x) == 2:
        axis = (0, 1)
    return bind(_norm, x, ord=ord, axis=axis, keepdims=keepdims)


# ----- solve, inv, det, slogdet, cholesky ------------------------------------------------------------
def _solve_stacked(a, rhs):
    """A⁻¹ R for every slice R of the block ``rhs`` (k, *batch, n, m), in one solve: k is folded into the
    columns (one factorisation of A serves all k) and A's batch is broadcast explicitly (CuPy's solve
    does not broadcast)."""
    xp = namespace(a, rhs)
    k, shape = rhs.shape[0], rhs.shape[1:]
    columns = xp.moveaxis(rhs, 0, -1).reshape(shape[:-1] + (-1,))           # (*batch, n, m·k)
    sol = xp.linalg.solve(xp.broadcast_to(a, shape[:-2] + a.shape[-2:]), columns)
    return xp.moveaxis(sol.reshape(shape + (k,)), -1, 0)


def _solve_rule(primals, tangents):
    """x = A⁻¹b;  dx = A⁻¹(db − dA x), all k right-hand sides in one solve."""
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    x = xp.linalg.solve(a, b)
    if ta is None and tb is None:
        return x, None
    vector = np.ndim(b) == 1                                    # NumPy 2: only a 1-D b is a vector
    xm = x[..., None] if vector else x                          # (..., n, m)
    rhs = None if tb is None else fit(tb[..., None] if vector else tb, xm.shape)
    if ta is not None:
        rhs = add_terms(rhs, -xp.matmul(lift(ta, xm.ndim), xm))
    dx = _solve_stacked(a, rhs)                                 # (k, ..., n, m)
    return x, dx[..., 0] if vector else dx


def _inv_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    y = xp.linalg.inv(a)
    return y, None if ta is None else -xp.matmul(xp.matmul(y, ta), y)


def _logdet_tangent(a, ta):
    """d log|det A| = tr(A⁻¹ dA) = Σ_ij (A⁻ᵀ)_ij dA_ij: one n³ inverse serves all k columns, where a
    solve against the k blocks dA would cost k·n³."""
    xp = namespace(a)
    return (xp.swapaxes(xp.linalg.inv(a), -1, -2) * ta).sum(axis=(-2, -1))


def _det_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    d = namespace(a).linalg.det(a)
    return d, None if ta is None else d * _logdet_tangent(a, ta)      # d det = det · tr(A⁻¹ dA)


def _slogdet_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    sign, logabs = namespace(a).linalg.slogdet(a)
    return (sign, logabs), None if ta is None else (None, _logdet_tangent(a, ta))


def _cholesky_rule(primals, tangents, upper):
    """A = L Lᵀ;  dL = L Φ(L⁻¹ dA L⁻ᵀ), Φ = lower triangle with the diagonal halved. NumPy reads only
    the lower triangle of A (the upper one when ``upper``), so dA is symmetrised from that triangle."""
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    if upper:                                                   # U = Lᵀ with L the factor of Aᵀ
        low, dl = _cholesky_rule([xp.swapaxes(a, -1, -2)], [None if ta is None else xp.swapaxes(ta, -1, -2)],
                                 upper=False)
        return xp.swapaxes(low, -1, -2), None if dl is None else xp.swapaxes(dl, -1, -2)
    low = xp.linalg.cholesky(a)
    if ta is None:
        return low, None
    da = xp.tril(ta) + xp.swapaxes(xp.tril(ta, -1), -1, -2)
    y = _solve_stacked(low, da)                                 # L⁻¹ dA
    x = _solve_stacked(low, xp.swapaxes(y, -1, -2))             # L⁻¹ dA L⁻ᵀ (symmetric)
    phi = xp.tril(x, -1) + 0.5 * x * xp.eye(x.shape[-1], dtype=x.dtype)
    return low, xp.matmul(low, phi)


_solve = defprimitive("solve", _solve_rule, family="linalg", numpy=("np.linalg.solve",),
                      note="tangents for all k columns in one extra solve")
_inv = defprimitive("inv", _inv_rule, family="linalg", numpy=("np.linalg.inv",))
_det = defprimitive("det", _det_rule, family="linalg", numpy=("np.linalg.det",),
                    note="A must be invertible (the tangent uses A⁻¹)")
_slogdet = defprimitive("slogdet", _slogdet_rule, family="linalg", numpy=("np.linalg.slogdet",),
                        note="sign has zero tangent")
_cholesky = defprimitive("cholesky", _cholesky_rule, family="linalg", numpy=("np.linalg.cholesky",),
                         note="reads the lower triangle (the upper one with upper=True), as NumPy does")


@implements(np.linalg.solve)
def solve(a, b):
    return bind(_solve, a, b)


@implements(np.linalg.inv)
def inv(a):
    return bind(_inv, a)


@implements(np.linalg.det)
def det(a):
    return bind(_det, a)


SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


@implements(np.linalg.slogdet)
def slogdet(a):
    """(sign, logabsdet) as NumPy's named tuple; the sign carries a zero tangent."""
    return SlogdetResult(*bind(_slogdet, a))


@implements(np.linalg.cholesky)
def cholesky(a, /, *, upper=False):
    return bind(_cholesky, a, upper=upper)
