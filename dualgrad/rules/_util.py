"""Small helpers shared by the rule families: aligning tangent blocks and normalising axes."""
from __future__ import annotations

import numpy as np

from ..backend import is_array, namespace, to_numpy
from ..dual import Dual, innermost  # noqa: F401  (innermost re-exported: the rule families import it from here)
from ..errors import NonDifferentiableError


def nested(*groups) -> bool:
    """Whether any operand or tangent (in the given lists) is a Dual of an outer derivative: then a fused
    kernel written for plain arrays steps aside for the rule's expansion in public, dispatching ops."""
    return any(hasattr(v, "tangent") and hasattr(v, "primal") for group in groups for v in group)


def result_type(*operands):
    """``np.result_type`` of operands as NumPy's functions see them: Python scalars stay weak, sequences are
    arrays, Duals dispatch (to their values' dtype)."""
    return np.result_type(*(x if hasattr(x, "dtype") or type(x) in (int, float, complex) else np.asarray(x)
                            for x in operands))


def as_operand(x, xp):
    """x as an array (a list, a tuple, a number: as NumPy reads them), an array or a Dual left as it is (a rule
    meets Duals of an outer derivative among its primals; ``xp`` is then NumPy, whatever the arrays' module)."""
    return x if isinstance(x, Dual) or is_array(x) else xp.asarray(x)


def sequence_as_array(x):
    """A list or tuple operand as NumPy's array of it (one holding Duals: NumPy's object array, which ``bind``
    turns into a Dual); anything else as it is."""
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def select(condition, a, b):
    """``np.where(condition, a, b)``, also for a Python or NumPy bool condition (a scalar operand's test), which
    CuPy's ``where`` does not take: then simply a or b."""
    if isinstance(condition, (bool, np.bool_)):
        return a if condition else b
    return np.where(condition, a, b)


def max_or(x, axes: tuple, empty: float):
    """``x.max(axes, keepdims=True)``, and ``empty`` over an empty axis: NumPy's ``initial=empty`` for values that
    are all ≥ ``empty`` (CuPy's max has no ``initial``). ``axes``: non-negative ints."""
    if all(x.shape[a] for a in axes):
        return x.max(axis=axes, keepdims=True)
    return namespace(x).full(tuple(1 if d in axes else n for d, n in enumerate(x.shape)), empty, dtype=x.dtype)


def cast(x, dtype):
    """``x`` (a Dual, array or number) in ``dtype``, as NumPy stores a value assigned into an array of that dtype."""
    dtype = np.dtype(dtype)
    if getattr(x, "dtype", None) == dtype:
        return x
    return x.astype(dtype) if hasattr(x, "tangent") else namespace(x).asarray(x, dtype=dtype)


def lift(t, ndim: int):
    """A tangent block ``(k, *s)`` reshaped to ``(k, 1, ..., 1, *s)`` with ``ndim`` axes after k.

    NumPy broadcasts from the right; an operand of lower rank than the output needs its unit axes
    inserted *after* the tangent axis, not before it.
    """
    extra = ndim - (t.ndim - 1)
    if extra <= 0:
        return t
    return t.reshape(t.shape[:1] + (1,) * extra + t.shape[1:])


def fit(t, shape: tuple):
    """The tangent block ``t`` broadcast (as a read-only view) to ``(k, *shape)``."""
    target = t.shape[:1] + tuple(shape)
    t = lift(t, len(shape))
    return t if t.shape == target else namespace(t).broadcast_to(t, target)


def add_terms(a, b):
    """a + b where either may be None (a symbolic zero)."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def normalize_axis(axis: int, ndim: int, op: str) -> int:
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def normalize_axes(axis, ndim: int, op: str) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axes = tuple(sorted(normalize_axis(int(a), ndim, op) for a in axis))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return axes


def tangent_axes(axes: tuple) -> tuple:
    """Primal axes shifted past the leading tangent axis."""
    return tuple(a + 1 for a in axes)


def reject(op: str, **unsupported):
    """Raise for NumPy keyword arguments that a Dual cannot honour (out=, where=, dtype=, ...)."""
    bad = [k for k, v in unsupported.items() if v is not None and v is not np._NoValue]
    if bad:
        raise TypeError(f"{op} on a Dual does not support the argument(s) {bad}; compute the same thing "
                        "without them (e.g. cast with .astype, mask with np.where).")


# ----- where a matrix function is differentiable -----------------------------------------------------------------
def rank_tolerance(values, shape):
    """NumPy's rank tolerance max(m, n)·ε·max|value| per matrix, for plain values (..., r) of (..., m, n) matrices.

    Eigenvalues or singular values closer than this count as equal, singular values below it as zero.
    """
    xp = namespace(values)
    scale = xp.max(xp.abs(values), axis=-1) if values.shape[-1] else xp.zeros(values.shape[:-1])
    return max(shape[-2:]) * np.finfo(values.dtype).eps * scale


def refuse_where(bad, op: str, reason: str, fix: str):
    """Raise ``NonDifferentiableError`` if the plain boolean array ``bad`` (one entry per matrix) holds anywhere."""
    bad = to_numpy(bad)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (the matrix at batch index {index})" if index else ""
        raise NonDifferentiableError(f"{op}: {reason}{where}; the derivative does not exist there. {fix}")
