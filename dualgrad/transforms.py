"""Transforms built on Dual: jvp, jacfwd, hessian, hvp, check_jvp; and custom rules: primitive, defjvp.

Every transform call draws a fresh tag (``dual.new_tag``) for the Duals it seeds, so calls nest to any
depth: an inner call's perturbation is unpacked first and Duals of outer calls are constants to it
(see dual.py). ``jacfwd(jacfwd(f))`` is a Hessian; closures over outer Duals are safe.
"""
from __future__ import annotations

import functools
import math
import numbers
import threading
from collections.abc import Callable

import numpy as np

from .backend import is_array, namespace, to_numpy
from .dual import Dual, from_objects, new_tag, ufunc_key
from .errors import (
    ArgumentTypeError,
    EscapedPerturbationError,
    InvalidArgumentError,
    JVPCheckError,
    MissingRuleError,
    TangentShapeError,
)
from .pytree import flatten, flatten_like, leaf_paths, unflatten
from .registry import NUMPY_FUNCTIONS, NUMPY_UFUNCS, RULES, bind, defprimitive

_state = threading.local()


def _active_tags() -> list:
    """Tags of the transform calls running in this thread, outermost first."""
    if not hasattr(_state, "tags"):
        _state.tags = []
    return _state.tags


# ----- jvp ------------------------------------------------------------------------------------------
def _seed(primals, tangents, tag, what="jvp"):
    """Pair every primal leaf with its tangent block; returns (treedef, Dual-or-constant leaves, k)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ArgumentTypeError(f"{what}: primals and tangents must be tuples, one entry per argument of f, e.g. "
                        f"{what}(f, (x,), (v,)); got {type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise InvalidArgumentError(f"{what}: {len(primals)} primals but {len(tangents)} tangents; give one tangent "
                         "(or None) per primal")
    p_leaves, treedef = flatten(tuple(primals))
    t_leaves = flatten_like(treedef, tuple(tangents), what)
    paths = leaf_paths(treedef)
    k, leaves = None, []
    for path, p, t in zip(paths, p_leaves, t_leaves):
        if t is None:
            leaves.append(p)                                  # held constant
            continue
        shape = np.shape(p)
        if np.ndim(t) != len(shape) + 1 or np.shape(t)[1:] != shape:
            raise TangentShapeError(
                f"{what}: the tangent of primals{path} (shape {shape}) has shape {np.shape(t)}; it must be a "
                f"block (k, *{shape}) with the k directions first. For a single direction v pass v[None].")
        if np.shape(t)[0] < 1:
            raise TangentShapeError(f"{what}: the tangent of primals{path} has k = 0 columns; give k >= 1 directions")
        if k is None:
            k = np.shape(t)[0]
        elif np.shape(t)[0] != k:
            raise TangentShapeError(f"{what}: tangents disagree on k: {path} has k={np.shape(t)[0]}, earlier ones "
                                    f"k={k}. All tangent blocks of one call share the same number of columns.")
        leaves.append(Dual(p, t, tag=tag))
    if k is None:
        raise InvalidArgumentError(f"{what}: every tangent is None; give at least one tangent block (k, *shape)")
    return treedef, leaves, k


def _is_value(x) -> bool:
    """An output leaf jvp can differentiate: an array, a NumPy scalar or a Python number."""
    return isinstance(x, numbers.Number) or is_array(x) or isinstance(x, np.generic)


def _unpack(out, k, tag, what="jvp"):
    """Split f's output tree into primal and tangent trees of this call's tag (zero blocks where f's
    output does not depend on the seeded inputs)."""
    o_leaves, odef = flatten(out)
    primals, tangents = [], []
    for path, o in zip(leaf_paths(odef), o_leaves):
        o = from_objects(o)                           # np.array([d, e]) returned: NumPy's object array of Duals
        if type(o) is np.ndarray and o.dtype == object:   # ... whose elements all came out plain: their values
            o = np.array(o.tolist())
        if isinstance(o, Dual):
            if o.tag > tag:
                raise EscapedPerturbationError(
                    f"{what}: f's output{path if path != 'the value' else ''} carries the perturbation of an inner "
                    "jvp/jacfwd call that has already returned (a Dual kept in a closure or a global and used "
                    "later). Return plain values from inner calls, or compute everything inside one call.")
            p, t = (o.primal, o.tangent) if o.tag == tag else (o, None)
            while isinstance(p, Dual) and p.tangent is None:   # a constant of another level: its value
                p = p.primal
            while isinstance(t, Dual) and t.tangent is None:
                t = t.primal
        elif _is_value(o):
            p, t = namespace(o).asarray(o), None
        else:
            raise ArgumentTypeError(f"{what}: f returned {type(o).__name__} at {path}; f must return arrays or numbers "
                            "(or nested tuples/lists/dicts of them).")
        if t is None:
            dtype = p.dtype if p.dtype.kind in "fc" else np.float64
            t = namespace(p).zeros((k,) + tuple(p.shape), dtype=dtype)
        primals.append(p)
        tangents.append(t)
    return unflatten(odef, primals), unflatten(odef, tangents)


def _strip(tree, tag):
    """``tree`` with the Duals of ``tag`` replaced by their primals (auxiliary outputs are not differentiated)."""
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [o.primal if isinstance(o, Dual) and o.tag == tag else o for o in leaves])


def _call(f, args, tag):
    tags = _active_tags()
    tags.append(tag)
    try:
        return f(*args)
    finally:
        tags.pop()


def _split_aux(result, what):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ArgumentTypeError(f"{what}(..., has_aux=True): f must return a pair (output, aux); got "
                        f"{type(result).__name__}")
    return result


def jvp(f: Callable, primals: tuple, tangents: tuple, *, has_aux: bool = False):
    """Evaluate ``f(*primals)`` and its k directional derivatives in one forward pass.

    ``primals`` is a tuple of arguments (arrays or pytrees of arrays); ``tangents`` mirrors it with
    blocks of shape ``(k, *primal.shape)`` (or None for an argument held constant). Returns
    ``(out, out_tangent)`` where ``out_tangent`` mirrors ``out`` with blocks ``(k, *leaf.shape)``:
    ``out_tangent[i] = J_f(primals) · tangents[i]``. With ``has_aux=True``, f returns ``(out, aux)``
    and jvp returns ``(out, out_tangent, aux)``; aux is not differentiated.

    Calls nest: f may itself call jvp/jacfwd (also on values closed over from this call).
    """
    if not callable(f):
        raise ArgumentTypeError(f"jvp: f must be a function, got {type(f).__name__}; call dg.jvp(f, (x,), (v,))")
    tag = new_tag()
    treedef, leaves, k = _seed(primals, tangents, tag)
    result = _call(f, unflatten(treedef, leaves), tag)
    if not has_aux:
        return _unpack(result, k, tag)
    out, aux = _split_aux(result, "jvp")
    return (*_unpack(out, k, tag), _strip(aux, tag))


# ----- jacfwd, hessian, hvp -------------------------------------------------------------------------
#: One chunk's input tangent block holds at most this many numbers (2 MiB of float64): every
#: intermediate's block then stays cache-sized, which measured fastest (benchmarks: 3-4x over n columns).
CHUNK_BUDGET = 2 ** 18
#: ... but never fewer than this many columns, so that the per-pass Python overhead is amortised.
MIN_CHUNK = 16


def default_chunk_size(n_inputs: int) -> int:
    """Columns per forward pass of jacfwd: ``min(n, max(16, ⌊2¹⁸ / n⌋))``.

    Every intermediate's tangent block has ``chunk`` columns, so peak memory is about ``(1 + chunk)``
    times f's own, and keeping ``chunk · n ≤ 2¹⁸`` keeps the blocks in cache; at least 16 columns per
    pass amortise the Python work of one pass. All n columns go in one pass while n ≤ 512.
    """
    return max(1, min(n_inputs, max(MIN_CHUNK, CHUNK_BUDGET // max(n_inputs, 1))))


def _check_argnums(argnums, what) -> tuple:
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else argnums
    if (not isinstance(nums, (tuple, list)) or not nums or isinstance(argnums, bool)
            or not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 0 for i in nums)):
        raise ArgumentTypeError(f"{what}: argnums must be a non-negative int or a non-empty tuple of them; "
                                f"got {argnums!r}")
    if len(set(nums)) != len(nums):
        raise InvalidArgumentError(f"{what}: argnums {argnums!r} repeats an argument")
    return tuple(int(i) for i in nums)


def _check_chunk_size(chunk_size, what):
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise InvalidArgumentError(f"{what}: chunk_size must be a positive int (columns per forward pass) or None for "
                         f"the default; got {chunk_size!r}")


def _inexact_leaf(x, what, where):
    if isinstance(x, Dual):
        return x
    if not (_is_value(x) or isinstance(x, (list, tuple))):
        raise ArgumentTypeError(f"{what}: {where} is a {type(x).__name__}; differentiate with respect to arrays")
    x = namespace(x).asarray(x)
    if x.dtype.kind not in "fc":
        raise ArgumentTypeError(f"{what}: {where} has dtype {x.dtype}; differentiate with respect to a floating-point "
                        "(or complex) array: cast it with .astype(float)")
    return x


def _jacobian(f, args, argnums, chunk_size, has_aux, what="jacfwd"):
    """(out, Jacobian tree, aux): the Jacobian of every output leaf with respect to the argnums' leaves."""
    nums = _check_argnums(argnums, what)
    _check_chunk_size(chunk_size, what)
    if max(nums) >= len(args):
        raise InvalidArgumentError(f"{what}: argnums {argnums!r} but f was called with {len(args)} argument(s)")
    args = list(args)
    in_defs, counts, leaves = [], [], []                   # leaves: (argnum, position in its tree, array)
    for i in nums:
        a_leaves, a_def = flatten(args[i])
        paths = leaf_paths(a_def)
        a_leaves = [_inexact_leaf(x, what, f"argument {i}{'' if p == 'the value' else p}")
                    for x, p in zip(a_leaves, paths)]
        args[i] = unflatten(a_def, a_leaves)
        in_defs.append(a_def)
        counts.append(len(a_leaves))
        leaves.extend((i, n, x) for n, x in enumerate(a_leaves))
    sizes = [x.size for _, _, x in leaves]
    offsets = np.cumsum([0] + sizes).tolist()
    n = offsets[-1]
    if n == 0:                                             # nothing to differentiate: one plain evaluation
        result = f(*args)
        out, aux = _split_aux(result, what) if has_aux else (result, None)
        o_leaves, odef = flatten(out)
        columns = [namespace(o).zeros(np.shape(o) + (0,), dtype=_tangent_dtype(o)) for o in o_leaves]
    else:
        chunk = chunk_size or default_chunk_size(n)
        parts, out, aux, odef = None, None, None, None
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            tangents = [None] * len(args)
            blocks = {i: [None] * count for i, count in zip(nums, counts)}
            for (i, pos, x), lo, hi in zip(leaves, offsets[:-1], offsets[1:]):
                a, b = max(start, lo), min(stop, hi)
                if a >= b:
                    continue                               # this chunk does not touch this leaf
                xp = namespace(x.primal if isinstance(x, Dual) else x)
                block = xp.zeros((stop - start, x.size), dtype=x.dtype)
                block[xp.arange(a - start, b - start), xp.arange(a - lo, b - lo)] = 1
                blocks[i][pos] = block.reshape((stop - start,) + tuple(x.shape))
            for i, a_def in zip(nums, in_defs):
                tangents[i] = unflatten(a_def, blocks[i])
            result = jvp(f, tuple(args), tuple(tangents), has_aux=has_aux)
            o, tout = result[:2]
            if out is None:
                out, aux = o, (result[2] if has_aux else None)
            t_leaves, odef = flatten(tout)
            if parts is None:
                parts = [[] for _ in t_leaves]
            for acc, t in zip(parts, t_leaves):
                acc.append(np.moveaxis(t, 0, -1))          # (*out, chunk)
        columns = [acc[0] if len(acc) == 1 else np.concatenate(acc, axis=-1) for acc in parts]
        o_leaves = flatten(out)[0]
    per_output = []
    for o, col in zip(o_leaves, columns):
        pieces = [col[..., lo:hi].reshape(tuple(np.shape(o)) + tuple(x.shape))
                  for (_, _, x), lo, hi in zip(leaves, offsets[:-1], offsets[1:])]
        by_arg, at = [], 0
        for a_def, count in zip(in_defs, counts):
            by_arg.append(unflatten(a_def, pieces[at:at + count]))
            at += count
        per_output.append(by_arg[0] if isinstance(argnums, numbers.Integral) else tuple(by_arg))
    return out, unflatten(odef, per_output), aux


def _tangent_dtype(x):
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind in "fc" else np.float64


def jacfwd(f: Callable, argnums: int | tuple = 0, chunk_size: int | None = None, *,
           has_aux: bool = False) -> Callable:
    """The Jacobian of ``f`` by forward mode: ``jacfwd(f)(x)`` has shape ``out.shape + x.shape``.

    The columns are computed ``chunk_size`` at a time (one k-column pass each; see
    ``default_chunk_size``). The differentiated argument may be a pytree (tuple/list/dict of arrays):
    the Jacobian then mirrors it. With a tuple ``argnums`` the result is a tuple, one Jacobian per
    argument; with a pytree output, a pytree of Jacobians. With ``has_aux=True`` f returns
    ``(out, aux)`` and the result is ``(jacobian, aux)``. Nests: ``jacfwd(jacfwd(f))`` is the Hessian.
    For complex inputs the columns are the derivatives along the real axis (f'(z) for holomorphic f).
    """
    if not callable(f):
        raise ArgumentTypeError(f"jacfwd: f must be a function, got {type(f).__name__}; call dg.jacfwd(f)(x)")
    _check_argnums(argnums, "jacfwd")
    _check_chunk_size(chunk_size, "jacfwd")

    @functools.wraps(f)
    def jacobian(*args):
        _, jac, aux = _jacobian(f, args, argnums, chunk_size, has_aux)
        return (jac, aux) if has_aux else jac

    return jacobian


def hessian(f: Callable, argnums: int | tuple = 0, chunk_size: int | None = None) -> Callable:
    """The Hessian of ``f``: ``hessian(f)(x)`` has shape ``out.shape + x.shape + x.shape``.

    Forward over forward: ``jacfwd(jacfwd(f))``, with ``chunk_size`` columns per pass at both levels
    (the inner level's n columns ride on each outer column: cost ≈ n² passes' worth of tangent work).
    With a tuple ``argnums``, ``H[i][j]`` is the block of arguments i and j.
    """
    return jacfwd(jacfwd(f, argnums, chunk_size), argnums, chunk_size)


def hvp(f: Callable, primals: tuple, tangents: tuple):
    """k Hessian-vector products of a scalar ``f`` in one call: ``(f(*primals), H·V)``.

    ``tangents`` mirrors ``primals`` with blocks ``(k, *x.shape)`` (None holds an argument fixed);
    the result ``HV`` has the same blocks: ``HV[i] = H(primals) · tangents[i]`` (for several arguments,
    a tuple of the blocks of the full Hessian applied to the joint direction). Forward over forward:
    the gradient's n columns ride on the k outer columns.
    """
    if not isinstance(primals, (tuple, list)):
        raise ArgumentTypeError(f"hvp: primals must be a tuple, one entry per argument of f; got "
                                f"{type(primals).__name__}")
    nums = tuple(range(len(primals)))

    def value_and_gradient(*xs):
        out, grads, _ = _jacobian(f, xs, nums, None, False, what="hvp")
        if isinstance(out, (tuple, list, dict)) or np.shape(out) != ():
            raise InvalidArgumentError(f"hvp: f must return a scalar (shape ()); got {type(out).__name__} of shape "
                             f"{np.shape(out) if not isinstance(out, (tuple, list, dict)) else '(a pytree)'}. "
                             "Sum it (or pick one output) first.")
        return out, grads

    (out, _), (_, hv) = jvp(value_and_gradient, tuple(primals), tuple(tangents))
    return out, hv[0] if len(primals) == 1 else hv


# ----- check_jvp ------------------------------------------------------------------------------------
class _Float64(np.ndarray):
    """An ndarray that stays in double precision when ``f`` casts it down (``x.astype(np.float32)``).

    check_jvp evaluates its finite-difference reference on these, so the reference is float64 whatever
    precision ``f`` asks for inside (results of ufuncs on them are _Float64 too). Casts it cannot
    intercept (``np.asarray(x, dtype=np.float32)``) are detected from the reference's output dtype.
    """

    def astype(self, dtype, *args, **kwargs):
        dtype = np.dtype(dtype)
        if dtype.kind == "f" and dtype.itemsize < 8:
            dtype = np.dtype(np.float64)
        elif dtype.kind == "c" and dtype.itemsize < 16:
            dtype = np.dtype(np.complex128)
        return super().astype(dtype, *args, **kwargs)


def _double(x):
    """``x`` as a float64/complex128 NumPy array that resists downcasts inside f."""
    x = to_numpy(x)
    return x.astype(np.complex128 if x.dtype.kind == "c" else np.float64).view(_Float64)


def _low_precision(dtypes) -> bool:
    return any(np.dtype(d) in (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.complex64)) for d in dtypes)


def _draw(rng, shape, dtype):
    v = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        v = v + 1j * rng.standard_normal(shape)
    return v


def check_jvp(f: Callable, primals: tuple, tangents: tuple | None = None, *, k: int = 3,
              rng: np.random.Generator | None = None, eps: float | None = None,
              rtol: float | None = None, atol: float = 1e-12, complex_step: bool = False) -> float:
    """Check ``jvp(f)`` against ``f`` itself: the primal, and central differences (and the complex step).

    Draws ``k`` standard-normal directions from ``rng`` (default: seed 0; complex ones for complex
    primals) unless ``tangents`` are given, computes the k jvps in one pass, and compares

    * the primal jvp returns with ``f`` evaluated on the plain arrays (a rule's primal is checked too);
    * each jvp with the central difference ``(f(x + h v) − f(x − h v)) / 2h``, evaluated in float64
      whatever precision ``f`` uses inside (its ``astype`` casts are held at float64), with
      ``h = eps · (1 + ‖x‖∞) / ‖v‖∞`` (default eps 1e-6; 5e-3 when f's outputs are single precision
      even so, the step that balances float32 rounding against truncation);
    * with ``complex_step=True`` (real primals, f analytic and written with complex-safe NumPy), the
      complex step ``Im f(x + i h v) / h`` with h = 1e-20, which has no cancellation error.

    The error of one direction and output is ``max|jvp − ref| / max(max|ref|, atol)``. Raises
    ``JVPCheckError`` naming the worst output, direction and element if it exceeds ``rtol`` (default
    1e-6, or 2e-3 when any input, jvp or f output is single precision); returns the worst error otherwise.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InvalidArgumentError(f"check_jvp: k must be a positive int (random directions); got {k!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    p_leaves, treedef = flatten(tuple(primals))
    floats = [i for i, p in enumerate(p_leaves) if namespace(p).asarray(p).dtype.kind in "fc"]
    if tangents is None:
        t_leaves = [None] * len(p_leaves)
        for i in floats:
            p = namespace(p_leaves[i]).asarray(p_leaves[i])
            t_leaves[i] = namespace(p).asarray(_draw(rng, (k,) + p.shape, p.dtype)).astype(p.dtype)
        tangents = unflatten(treedef, t_leaves)
    else:
        t_leaves = flatten_like(treedef, tuple(tangents), "check_jvp")
    out, tout = jvp(f, tuple(primals), tuple(tangents))
    jvp_leaves, _ = flatten(tout)
    out_leaves, _ = flatten(out)

    def evaluate(shifted):
        o = f(*unflatten(treedef, shifted))
        return [np.asarray(to_numpy(getattr(leaf, "primal", leaf))) for leaf in flatten(o)[0]]

    plain = evaluate(p_leaves)
    dtypes = [namespace(p).asarray(p).dtype for i, p in enumerate(p_leaves) if i in floats]
    dtypes += [t.dtype for t in jvp_leaves] + [o.dtype for o in plain]
    x64 = [_double(p) if t is not None else p for p, t in zip(p_leaves, t_leaves)]
    reference_low = _low_precision(o.dtype for o in evaluate(x64))
    low = _low_precision(dtypes) or reference_low
    if rtol is None:
        rtol = 2e-3 if low else 1e-6
    for n, (got, ref) in enumerate(zip(out_leaves, plain)):
        got = np.asarray(to_numpy(got))
        if got.shape != ref.shape or not np.allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True):
            raise JVPCheckError(
                f"check_jvp: the primal of output {n} from jvp differs from f evaluated on plain arrays (a rule "
                f"returns a wrong primal):\n  jvp: {np.array2string(got.ravel()[:6], precision=6)}"
                f"\n  f:   {np.array2string(ref.ravel()[:6], precision=6)}")
    kk = next(np.shape(t)[0] for t in t_leaves if t is not None)
    worst, where = 0.0, None
    for col in range(kk):
        v64 = [None if t is None else _double(t[col]) for t in t_leaves]
        vmax = max(float(np.max(np.abs(v))) if v.size else 0.0 for v in v64 if v is not None)
        xmax = max(float(np.max(np.abs(x))) if np.size(x) else 0.0 for x, v in zip(x64, v64) if v is not None)
        if vmax == 0:
            continue
        h = (eps if eps is not None else 5e-3 if reference_low else 1e-6) * (1 + xmax) / vmax
        plus = evaluate([x + h * v if v is not None else x for x, v in zip(x64, v64)])
        minus = evaluate([x - h * v if v is not None else x for x, v in zip(x64, v64)])
        references = [("central difference", [(a - b) / (2 * h) for a, b in zip(plus, minus)])]
        if complex_step and not any(np.iscomplexobj(x) for x in x64):
            hc = 1e-20
            cplx = evaluate([x + 1j * hc * v if v is not None else x for x, v in zip(x64, v64)])
            references.append(("complex step", [np.imag(c) / hc for c in cplx]))
        for method, ref in references:
            for n, (r, j) in enumerate(zip(ref, jvp_leaves)):
                got = np.asarray(to_numpy(j[col]))
                if not np.size(r):
                    continue
                diff = np.abs(got - r)
                scale = max(float(np.max(np.abs(r))), atol)
                element = np.unravel_index(int(np.argmax(np.where(np.isnan(diff), np.inf, diff))), np.shape(r))
                err = float(np.max(diff)) / scale
                if not math.isfinite(err) or err > worst:
                    worst = err if math.isfinite(err) else math.inf
                    where = (method, n, col, element, got, r)
    if worst > rtol:
        method, n, col, element, got, ref = where
        at = f" at element {tuple(int(i) for i in element)}" if np.ndim(ref) else ""
        raise JVPCheckError(
            f"check_jvp: the jvp of output {n} along direction {col} disagrees with the {method}{at}: "
            f"{np.asarray(got)[element]:.6g} vs {np.asarray(ref)[element]:.6g}; relative error {worst:.3g} > "
            f"rtol {rtol:.3g}.\n  jvp:       {np.array2string(np.ravel(got)[:6], precision=6)}"
            f"\n  reference: {np.array2string(np.ravel(ref)[:6], precision=6)}")
    return worst


# ----- custom rules ---------------------------------------------------------------------------------
def primitive(fn: Callable | None = None, *, name: str | None = None):
    """Make ``fn`` a primitive: on Duals it runs the rule registered with ``dg.defjvp``, never its body.

    ``fn`` itself computes the primal (and runs unchanged on plain arrays). Without a registered rule,
    calling it on a Dual raises ``MissingRuleError``.
    """
    if fn is None:
        return functools.partial(primitive, name=name)
    prim_name = name or getattr(fn, "__qualname__", repr(fn))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not any(isinstance(a, Dual) for a in args):
            return fn(*args, **kwargs)
        prim = RULES.get(prim_name)
        if prim is None:
            raise MissingRuleError(f"{prim_name} is a dg.primitive with no forward rule; register one with "
                                   f"@dg.defjvp({prim_name}).")
        return bind(prim, *args, **kwargs)

    wrapper._dg_primitive = prim_name
    return wrapper


def defjvp(fn: Callable) -> Callable:
    """Register a forward-mode rule for ``fn``; use as a decorator on the rule::

        @dg.defjvp(my_op)     # my_op: a dg.primitive, a ufunc (NumPy or scipy.special) or a NumPy function
        def my_op_jvp(primals, tangents, **params):
            (x,), (t,) = primals, tangents    # t: (k, *x.shape) or None (a zero tangent)
            y = my_op(x)
            return y, None if t is None else np.cos(x) * t

    The rule returns the primal output and its tangent block ``(k, *out.shape)`` (or None). For a
    NumPy function the rule receives all positional arguments as primals (non-Duals with tangent
    None) and keyword arguments as params. Registering a NumPy function that already has a rule
    replaces it.
    """
    def register(rule: Callable) -> Callable:
        if getattr(fn, "_dg_primitive", None) is not None:
            defprimitive(fn._dg_primitive, rule, family="custom", numpy=(fn._dg_primitive,))
        elif isinstance(fn, np.ufunc):
            key = ufunc_key(fn)                     # a name, "scipy.special.<name>", or the ufunc itself
            qual = f"ufunc {fn.__name__}" if not isinstance(key, str) else key if "." in key else f"np.{key}"
            prim = defprimitive(qual, rule, family="custom", numpy=(qual,))
            NUMPY_UFUNCS[key] = functools.partial(bind, prim)
        elif hasattr(fn, "_implementation") or getattr(fn, "__module__", "").startswith("numpy"):
            qual = f"np.{fn.__name__}"
            prim = defprimitive(qual, rule, family="custom", numpy=(qual,))
            NUMPY_FUNCTIONS[fn] = functools.partial(bind, prim)
        else:
            raise ArgumentTypeError(
                f"dg.defjvp({getattr(fn, '__name__', fn)!r}): a plain Python function runs its body on Duals, so a "
                "rule would never be consulted. Decorate the function with @dg.primitive first, then register the "
                "rule with @dg.defjvp(function).")
        return rule

    return register
