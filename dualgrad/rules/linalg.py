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

The rest of ``np.linalg`` is built from these rules and has no rule of its own: matrix_power (NumPy's
repeated squaring), multi_dot (the cheapest chain order), tensorsolve and tensorinv (NumPy's reshapes
around solve and inv), cond (a ratio of norms), vector_norm and matrix_norm, cross and vecdot (products
and sums), and NumPy 2's aliases (linalg.matmul, tensordot, outer, trace, diagonal, matrix_transpose).
The decompositions (eigh, eig, svd, qr, pinv, lstsq) are in ``decompositions.py``. Every rule computes
with NumPy calls on its operands, so it nests: a rule's primals may be Duals of an outer derivative.
"""
from __future__ import annotations

import math
import operator
import string
from collections import namedtuple

import numpy as np

from ..backend import matmul_blocks, namespace
from ..dual import Dual
from ..registry import bind, defprimitive, implements
from ._util import (
    add_terms,
    as_operand,
    fit,
    innermost,
    lift,
    normalize_axes,
    normalize_axis,
    rank_tolerance,
    refuse_where,
    reject,
    tangent_axes,
)
from .elementwise import multiply
from .shape import ravel


def is_complex(x) -> bool:
    """Whether x (an array, a Dual at any nesting depth, a number) holds complex values."""
    return np.iscomplexobj(innermost(x))


def conj(x):
    """The complex conjugate; the identity for real x (no call, so no rule needed)."""
    return np.conj(x) if is_complex(x) else x


def real_part(x):
    """The real part; the identity for real x."""
    return np.real(x) if is_complex(x) else x


def conj_transpose(x):
    """xᴴ over the last two axes (of a tangent block too: k stays first)."""
    return conj(np.swapaxes(x, -1, -2))


# ----- matmul (fused) -------------------------------------------------------------------------------
def _tangent_left(ta, a, b):
    """dA @ B as a (k, *out) block."""
    xp = namespace(b)
    k = ta.shape[0]
    if b.ndim == 2 and (isinstance(ta, Dual) or ta.flags.c_contiguous):   # fold k (and A's batch) into GEMM rows
        rows = xp.matmul(ta.reshape(-1, a.shape[-1]), b)
        return rows.reshape((k,) + a.shape[:-1] + b.shape[-1:])
    if b.ndim == 2:                                    # k GEMMs reading dA in its own layout (no copy)
        return matmul_blocks(ta, b)
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
    return matmul_blocks(a, lift(tb, max(a.ndim, b.ndim)))


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
    a, b = as_operand(a, xp), as_operand(b, xp)
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


_matmul = defprimitive("matmul", _matmul_rule, family="linalg", kind="fused", complex=True,
                       numpy=("np.matmul", "@", "np.dot", "Dual.dot", "np.vdot", "np.linalg.matmul"),
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
    """np.vdot: Σ conj(a)·b over the flattened operands (a is conjugated, so vdot is not holomorphic in a)."""
    return matmul(conj(ravel(a)), ravel(b))


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


_tensordot = defprimitive("tensordot", _tensordot_rule, family="linalg", kind="linear", complex=True,
                          numpy=("np.tensordot", "np.inner", "np.dot", "np.linalg.tensordot"),
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


_einsum = defprimitive("einsum", _einsum_rule, family="linalg", kind="linear", complex=True, numpy=("np.einsum",),
                       note="multilinear: one contraction per operand tangent, k as an extra index")


@implements(np.einsum)
def einsum(subscripts, *operands, out=None, optimize=None, **kwargs):
    """np.einsum in the string form (``"ij,jk->ik"``) or the interleaved one (``a, [0, 1], b, [1, 2], [0, 2]``)."""
    reject("einsum", out=out, **kwargs)
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved_subscripts((subscripts,) + operands)
    return bind(_einsum, *operands, subscripts=subscripts)


def _interleaved_subscripts(args):
    """``(op0, sublist0, op1, sublist1, ..., [sublist_out])`` as the string form and the operands."""
    def term(sublist):
        return "".join("..." if s is Ellipsis else string.ascii_letters[s] for s in sublist)
    operands, sublists = args[0:len(args) - len(args) % 2:2], args[1::2]
    spec = ",".join(term(s) for s in sublists[:len(operands)])
    if len(args) % 2:
        spec += "->" + term(args[-1])
    return spec, operands


def _outer_rule(primals, tangents):
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    a, b = xp.ravel(as_operand(a, xp)), xp.ravel(as_operand(b, xp))
    out = a[:, None] * b[None, :]
    t = None
    if ta is not None:
        t = ta.reshape(ta.shape[0], -1, 1) * b[None, None, :]
    if tb is not None:
        t = add_terms(t, a[None, :, None] * tb.reshape(tb.shape[0], 1, -1))
    return out, t


_outer = defprimitive("outer", _outer_rule, family="linalg", kind="linear", complex=True,
                      numpy=("np.outer", "np.linalg.outer"))


@implements(np.outer)
def outer(a, b, out=None):
    reject("outer", out=out)
    return bind(_outer, a, b)


def _trace_rule(primals, tangents, offset, axis1, axis2):
    (x,), (t,) = primals, tangents
    xp = namespace(x)
    out = xp.trace(x, offset, axis1, axis2)
    return out, None if t is None else xp.trace(t, offset, axis1 + 1, axis2 + 1)


_trace = defprimitive("trace", _trace_rule, family="linalg", kind="linear", complex=True,
                      numpy=("np.trace", "Dual.trace", "np.linalg.trace"))


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    reject("trace", dtype=dtype, out=out)
    ndim = np.ndim(a)
    return bind(_trace, a, offset=offset, axis1=normalize_axis(axis1, ndim, "trace"),
                axis2=normalize_axis(axis2, ndim, "trace"))


# ----- norms ----------------------------------------------------------------------------------------
def _abs_tangent(t, x):
    """d|x| = Re(conj(sign x)·t) elementwise (sign x = x/|x| for complex x, as np.sign); 0 at x = 0 (abs' slope)."""
    return real_part(t * conj(np.sign(x)))


def _vector_norm_tangent(t, x, out_keep, ord, axes):
    """Tangent of the vector p-norm of x over ``axes`` (out_keep: the norm with size-1 axes kept)."""
    xp = namespace(x)
    ta = tangent_axes(axes)
    if ord == 0:
        return None                                   # a count of nonzeros: piecewise constant
    if ord == 1:
        return _abs_tangent(t, x).sum(axis=ta)
    if ord in (np.inf, -np.inf):                      # the extreme |x_i|; ties share the tangent equally
        hit = xp.abs(x) == out_keep
        weight = (hit / hit.sum(axis=axes, keepdims=True)).astype(out_keep.dtype)
        return (_abs_tangent(t, x) * weight).sum(axis=ta)
    safe = xp.where(out_keep == 0, 1, out_keep)       # 0 at x = 0
    if ord is None or ord == 2:                       # d‖x‖ = Re⟨x, dx⟩ / ‖x‖
        return real_part(t * conj(x / safe)).sum(axis=ta)
    # d‖x‖_p = Σ (|x| / ‖x‖)^(p−1) d|x|; an entry x_i = 0 contributes 0 (as abs' derivative at 0)
    ratio = xp.abs(x) / safe
    return (_abs_tangent(t, x) * xp.where(ratio == 0, 1, ratio) ** (ord - 1)).sum(axis=ta)


def _matrix_norm_tangent(t, x, ord, axes):
    """Tangent of a matrix norm over the two ``axes``: Frobenius, max/min absolute column (ord ±1) or row (ord ±inf)
    sum, nuclear, spectral (ord ±2): every order NumPy has."""
    xp = namespace(x)
    r, c = axes
    xm = xp.moveaxis(x, (r, c), (-2, -1))
    tm = xp.moveaxis(t, (r + 1, c + 1), (-2, -1))
    if ord in (None, "fro"):                          # d‖A‖_F = Re⟨A, dA⟩ / ‖A‖_F, and 0 at A = 0
        fro = xp.sqrt(real_part(xm * conj(xm)).sum(axis=(-2, -1), keepdims=True))
        return real_part(tm * conj(xm / xp.where(fro == 0, 1, fro))).sum(axis=(-2, -1))
    if ord in (1, -1, np.inf, -np.inf):               # the extreme absolute column (row) sum; ties share the tangent
        summed = -2 if ord in (1, -1) else -1
        sums = xp.abs(xm).sum(axis=summed, keepdims=True)
        extreme = sums.max(axis=(-2, -1), keepdims=True) if ord > 0 else sums.min(axis=(-2, -1), keepdims=True)
        hit = sums == extreme
        weight = (hit / hit.sum(axis=(-2, -1), keepdims=True)).astype(np.real(innermost(sums)).dtype)
        return (_abs_tangent(tm, xm) * weight).sum(axis=(-2, -1))
    u, s, vh = xp.linalg.svd(xm, full_matrices=False)
    values = innermost(s)
    tol = rank_tolerance(values, xm.shape)
    if ord == "nuc":                                  # d Σσ_i = Re tr(Uᴴ dA V); a zero σ adds 0 (abs' slope at 0)
        return real_part(tm * conj((u * (values > tol[..., None])[..., None, :]) @ vh)).sum(axis=(-2, -1))
    i, j = (0, 1) if ord == 2 else (-1, -2)           # d σ = Re(uᴴ dA v) for the largest/smallest σ, if it is simple
    if values.shape[-1] > 1:
        refuse_where(xp.abs(values[..., i] - values[..., j]) <= tol, "linalg.norm",
                     f"ord={ord}: the {'largest' if ord == 2 else 'smallest'} singular value is repeated (a kink)",
                     "Use the Frobenius norm, or the nuclear norm.")
    if ord == -2:
        refuse_where(values[..., i] <= tol, "linalg.norm", "ord=-2: the smallest singular value is 0 (a kink)",
                     "Use a smooth function of A instead.")
    return real_part(xp.einsum("...i,k...ij,...j->k...", conj(u[..., :, i]), tm, conj(vh[..., i, :])))


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


_norm = defprimitive("norm", _norm_rule, family="linalg", complex=True,
                     numpy=("np.linalg.norm",),
                     note="vector: any ord, 0 at x = 0, ties of the inf-norms share the tangent, an entry 0 adds 0 "
                          "(ord < 1); matrix: fro, nuc (a zero singular value adds 0), ±1 and ±inf (ties share), ±2 "
                          "(the extreme singular value simple, nonzero for -2)")


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    if axis is None and ord is not None and np.ndim(x) not in (1, 2):
        raise ValueError("Improper number of dimensions to norm.")
    if axis is None and ord is not None and np.ndim(x) == 2:
        axis = (0, 1)
    return bind(_norm, x, ord=ord, axis=axis, keepdims=keepdims)


# ----- solve, inv, det, slogdet, cholesky ------------------------------------------------------------
def solve_stacked(a, rhs):
    """A⁻¹ R for every slice R of the block ``rhs`` (k, *batch, n, m), in one solve: k is folded into the
    columns (one factorisation of A serves all k) and A's batch is broadcast explicitly (CuPy's solve
    does not broadcast)."""
    xp = namespace(a, rhs)
    k, shape = rhs.shape[0], rhs.shape[1:]
    columns = xp.moveaxis(rhs, 0, -1).reshape(shape[:-1] + (-1,))           # (*batch, n, m·k)
    sol = xp.linalg.solve(xp.broadcast_to(a, shape[:-2] + a.shape[-2:]), columns)
    return xp.moveaxis(sol.reshape(shape + (k,)), -1, 0)


def hermitian_from_triangle(t, uplo):
    """The tangent that a function reading one triangle of its operand sees (cholesky, eigh, eigvalsh, as LAPACK):
    the strict lower ("L") or upper ("U") triangle of ``t`` mirrored (conjugated when complex) around the real
    part of its diagonal."""
    strict = np.tril(t, -1) if uplo == "L" else np.triu(t, 1)
    return strict + conj_transpose(strict) + real_part(np.tril(np.triu(t)))


def _solve_rule(primals, tangents):
    """x = A⁻¹b;  dx = A⁻¹(db − dA x), all k right-hand sides in one solve."""
    (a, b), (ta, tb) = primals, tangents
    xp = namespace(a, b)
    a, b = as_operand(a, xp), as_operand(b, xp)
    x = xp.linalg.solve(a, b)
    if ta is None and tb is None:
        return x, None
    vector = np.ndim(b) == 1                                    # NumPy 2: only a 1-D b is a vector
    xm = x[..., None] if vector else x                          # (..., n, m)
    rhs = None if tb is None else fit(tb[..., None] if vector else tb, xm.shape)
    if ta is not None:
        rhs = add_terms(rhs, -xp.matmul(lift(ta, xm.ndim), xm))
    dx = solve_stacked(a, rhs)                                 # (k, ..., n, m)
    return x, dx[..., 0] if vector else dx


def _inv_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    y = xp.linalg.inv(a)
    return y, None if ta is None else -xp.matmul(xp.matmul(y, ta), y)


def _logdet_tangent(a, ta):
    """d log det A = tr(A⁻¹ dA) = Σ_ij (A⁻ᵀ)_ij dA_ij (log|det A| moves by its real part): one n³ inverse serves
    all k columns, where a solve against the k blocks dA would cost k·n³."""
    xp = namespace(a)
    return (xp.swapaxes(xp.linalg.inv(a), -1, -2) * ta).sum(axis=(-2, -1))


def _det_rule(primals, tangents):
    (a,), (ta,) = primals, tangents
    d = namespace(a).linalg.det(a)
    return d, None if ta is None else d * _logdet_tangent(a, ta)      # d det = det · tr(A⁻¹ dA)


def _slogdet_rule(primals, tangents):
    """log|det A| moves by Re tr(A⁻¹ dA); for complex A the sign (a unit phase) turns by i Im tr(A⁻¹ dA)."""
    (a,), (ta,) = primals, tangents
    sign, logabs = namespace(a).linalg.slogdet(a)
    if ta is None:
        return (sign, logabs), None
    d = _logdet_tangent(a, ta)
    if not is_complex(a):
        return (sign, logabs), (None, d)
    return (sign, logabs), (sign * (1j * np.imag(d)), np.real(d))


def _cholesky_rule(primals, tangents, upper):
    """A = L Lᴴ;  dL = L Φ(L⁻¹ dA L⁻ᴴ), Φ = lower triangle with the diagonal halved. NumPy reads only
    the lower triangle of A (the upper one when ``upper``), so dA is made Hermitian from that triangle."""
    (a,), (ta,) = primals, tangents
    xp = namespace(a)
    if upper:                                                   # U = Lᵀ with L the factor of Aᵀ
        low, dl = _cholesky_rule([xp.swapaxes(a, -1, -2)], [None if ta is None else xp.swapaxes(ta, -1, -2)],
                                 upper=False)
        return xp.swapaxes(low, -1, -2), None if dl is None else xp.swapaxes(dl, -1, -2)
    low = xp.linalg.cholesky(a)
    if ta is None:
        return low, None
    y = solve_stacked(low, hermitian_from_triangle(ta, "L"))  # L⁻¹ dA
    x = solve_stacked(low, conj_transpose(y))                  # L⁻¹ dA L⁻ᴴ (Hermitian)
    phi = xp.tril(x, -1) + 0.5 * x * xp.eye(x.shape[-1], dtype=x.dtype)
    return low, xp.matmul(low, phi)


_solve = defprimitive("solve", _solve_rule, family="linalg", complex=True,
                      numpy=("np.linalg.solve",),
                      note="tangents for all k columns in one extra solve")
_inv = defprimitive("inv", _inv_rule, family="linalg", complex=True,
                    numpy=("np.linalg.inv",))
_det = defprimitive("det", _det_rule, family="linalg", complex=True, numpy=("np.linalg.det",),
                    note="A must be invertible (the tangent uses A⁻¹)")
_slogdet = defprimitive("slogdet", _slogdet_rule, family="linalg", complex=True, numpy=("np.linalg.slogdet",),
                        note="a real sign has zero tangent; a complex one (a phase) turns with Im tr(A⁻¹ dA)")
_cholesky = defprimitive("cholesky", _cholesky_rule, family="linalg", complex=True, numpy=("np.linalg.cholesky",),
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


# ----- built from the rules above: products, powers, tensor solves ---------------------------------------------------
def _numpy_has(module, *names):
    """The functions ``module.<name>`` this NumPy has (NumPy 2 added linalg.vector_norm, vecdot, ...)."""
    return [getattr(module, n) for n in names if hasattr(module, n)]


@implements(*_numpy_has(np.linalg, "vector_norm"), via=("norm", "transpose", "reshape"))
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (None: all axes; a tuple: those axes together, as one vector)."""
    shape = np.shape(x)
    axes = normalize_axes(axis, len(shape), "linalg.vector_norm")
    if len(axes) == 1:
        return norm(x, ord, axis=axes[0], keepdims=keepdims)
    rest = tuple(a for a in range(len(shape)) if a not in axes)
    vectors = np.reshape(np.transpose(x, rest + axes), tuple(shape[a] for a in rest) + (-1,))
    out = norm(vectors, ord, axis=-1)
    return np.reshape(out, tuple(1 if a in axes else n for a, n in enumerate(shape))) if keepdims else out


@implements(*_numpy_has(np.linalg, "matrix_norm"), via=("norm",))
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of every matrix in the stack (the last two axes)."""
    return norm(x, ord, axis=(-2, -1), keepdims=keepdims)


@implements(np.linalg.cond, via=("norm", "inv", "divide", "multiply"),
            note="σ_max/σ_min (p None, ±2: both simple, σ_min nonzero), else ‖A‖_p ‖A⁻¹‖_p")
def cond(x, p=None):
    """σ_max/σ_min for p None or 2 (σ_min/σ_max for -2), else ‖A‖_p ‖A⁻¹‖_p, as NumPy computes it."""
    if p in (None, 2, -2):
        big, small = norm(x, 2, axis=(-2, -1)), norm(x, -2, axis=(-2, -1))
        return small / big if p == -2 else big / small
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


@implements(np.linalg.matrix_power, via=("matmul", "inv"), note="NumPy's repeated squaring; n < 0 through inv")
def matrix_power(a, n):
    """Aⁿ by repeated squaring with NumPy's products (n < 0: of A⁻¹); A⁰ is the identity, a constant."""
    shape = np.shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    if n == 0:
        return np.zeros_like(a) + namespace(innermost(a)).eye(shape[-1], dtype=np.result_type(a))
    if n < 0:
        a, n = inv(a), -n
    z = result = None
    while n > 0:                                  # result = Π z^(2^i) over the set bits of n
        z = a if z is None else matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


def _chain_order(dims):
    """split[i][j]: where the product of matrices i..j (matrix i of shape dims[i] x dims[i+1]) costs the fewest
    multiplications when split (the matrix-chain order NumPy's multi_dot uses)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


def _chain_product(arrays, split, i, j):
    if i == j:
        return arrays[i]
    s = split[i][j]
    return matmul(_chain_product(arrays, split, i, s), _chain_product(arrays, split, s + 1, j))


@implements(np.linalg.multi_dot, via=("matmul",), note="the cheapest chain order, as NumPy")
def multi_dot(arrays, *, out=None):
    """A chain of matrix products in the cheapest order (a 1-D first/last operand is a row/column vector)."""
    reject("linalg.multi_dot", out=out)
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return dot(arrays[0], arrays[1])
    row, column = np.ndim(arrays[0]) == 1, np.ndim(arrays[-1]) == 1
    if row:
        arrays[0] = np.reshape(arrays[0], (1, -1))
    if column:
        arrays[-1] = np.reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if np.ndim(a) != 2:
            raise np.linalg.LinAlgError(f"{np.ndim(a)}-dimensional array given. Array must be two-dimensional")
    dims = [np.shape(arrays[0])[0]] + [np.shape(a)[1] for a in arrays]
    result = _chain_product(arrays, _chain_order(dims), 0, len(arrays) - 1)
    if row and column:
        return result[0, 0]
    return result[0] if row else result[:, 0] if column else result


@implements(np.linalg.tensorsolve, via=("transpose", "reshape", "solve"))
def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) = b: NumPy's reshape to one square system, then linalg.solve."""
    an = np.ndim(a)
    if axes is not None:
        order = [i for i in range(an) if i not in [normalize_axis(k, an, "linalg.tensorsolve") for k in axes]]
        a = np.transpose(a, order + [normalize_axis(k, an, "linalg.tensorsolve") for k in axes])
    x_shape = np.shape(a)[-(an - np.ndim(b)):]
    size = math.prod(x_shape)
    if np.size(a) != size ** 2:
        raise np.linalg.LinAlgError("Input arrays must satisfy the requirement "
                                    "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])")
    return np.reshape(solve(np.reshape(a, (size, size)), np.ravel(b)), x_shape)


@implements(np.linalg.tensorinv, via=("reshape", "inv"))
def tensorinv(a, ind=2):
    """The inverse of ``a`` for tensordot over ``ind`` axes: NumPy's reshape to a square matrix, then linalg.inv."""
    shape = np.shape(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    return np.reshape(inv(np.reshape(a, (math.prod(shape[ind:]), -1))), shape[ind:] + shape[:ind])


@implements(*_numpy_has(np.linalg, "cross"), via=("getitem", "multiply", "subtract", "stack"),
            note="3-vectors only")
def linalg_cross(x1, x2, /, *, axis=-1):
    """np.linalg.cross: 3-vectors only."""
    if np.shape(x1)[axis] != 3 or np.shape(x2)[axis] != 3:
        raise ValueError(f"Both input arrays must be (arrays of) 3-dimensional vectors, but they are "
                         f"{np.shape(x1)[axis]} and {np.shape(x2)[axis]} dimensional instead.")
    return np.cross(x1, x2, axis=axis)


@implements(*_numpy_has(np.linalg, "vecdot"), "vecdot", via=("conjugate", "multiply", "sum"),
            note="conjugates x1 (not holomorphic in it)")
def vecdot(x1, x2, /, *, axis=-1):
    """Σ conj(x1)·x2 along ``axis``, the operands broadcast against each other."""
    return np.sum(conj(x1) * x2, axis=axis)


@implements("matvec", via=("matmul",))
def matvec(x1, x2, /):
    """np.matvec: the matrix stack x1 (..., m, n) times the vector stack x2 (..., n)."""
    return matmul(x1, np.expand_dims(x2, -1))[..., 0]


@implements("vecmat", via=("conjugate", "matmul"), note="conjugates x1")
def vecmat(x1, x2, /):
    """np.vecmat: the conjugated vector stack x1 (..., n) times the matrix stack x2 (..., n, m)."""
    return matmul(np.expand_dims(conj(x1), -2), x2)[..., 0, :]


@implements(*_numpy_has(np.linalg, "outer"))
def linalg_outer(x1, x2, /):
    """np.linalg.outer: 1-D operands only (np.outer flattens)."""
    if np.ndim(x1) != 1 or np.ndim(x2) != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are x1.ndim={np.ndim(x1)} and "
                         f"x2.ndim={np.ndim(x2)}.")
    return outer(x1, x2)


@implements(*_numpy_has(np.linalg, "matmul"))
def linalg_matmul(x1, x2, /):
    return matmul(x1, x2)


@implements(*_numpy_has(np.linalg, "tensordot"))
def linalg_tensordot(x1, x2, /, *, axes=2):
    return tensordot(x1, x2, axes=axes)


@implements(*_numpy_has(np.linalg, "trace"))
def linalg_trace(x, /, *, offset=0, dtype=None):
    """The trace of every matrix in the stack (the last two axes)."""
    return trace(x, offset, -2, -1, dtype=dtype)


@implements(*_numpy_has(np.linalg, "diagonal"))
def linalg_diagonal(x, /, *, offset=0):
    """The diagonal of every matrix in the stack (the last two axes)."""
    return np.diagonal(x, offset, -2, -1)


@implements(*_numpy_has(np.linalg, "matrix_transpose"))
def linalg_matrix_transpose(x, /):
    if np.ndim(x) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return np.swapaxes(x, -1, -2)
