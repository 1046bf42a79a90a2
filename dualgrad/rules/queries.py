"""Plain results: NumPy functions whose value on Duals is a plain array (or bool, or tuple), never a Dual.

Integer-valued and piecewise-constant functions (positions, counts, comparisons) have
derivative zero wherever they have one, and queries about a value (isclose, iscomplexobj, shape) have
none. On Duals they return exactly what NumPy returns for the innermost primal, the value of a nested
Dual, so every nesting level sees the same result. ``PLAIN_RESULTS`` is the table docs/ops.md shows.
"""
from __future__ import annotations

import numpy as np

from ..registry import implements
from ._util import innermost

#: NumPy function (or ufunc name) -> what its plain result is.
PLAIN_RESULTS: dict = {}


def _values(x):
    """Every Dual in x (also inside lists and tuples, e.g. np.lexsort's keys) replaced by its innermost primal."""
    if hasattr(x, "tangent"):
        return innermost(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_values(v) for v in x)
    return x


def plain_result(what: str, *functions):
    """Register each NumPy function or ufunc to run on the innermost primals of its arguments."""
    for f in functions:
        key = f.__name__ if isinstance(f, np.ufunc) else f

        def on_values(*args, _f=f, **kwargs):
            return _f(*_values(args), **{name: _values(v) for name, v in kwargs.items()})
        on_values.__name__ = on_values.__qualname__ = f.__name__
        implements(key)(on_values)
        PLAIN_RESULTS[key] = what


plain_result("positions (integers)", np.argsort, np.argmax, np.argmin, np.nanargmax, np.nanargmin, np.argpartition,
             np.lexsort, np.nonzero, np.flatnonzero, np.argwhere, np.searchsorted, np.digitize,
             np.tril_indices_from, np.triu_indices_from, np.diag_indices_from)
plain_result("counts (integers)", np.count_nonzero)
plain_result("piecewise constant (zero derivative)", np.fix)
plain_result("booleans (comparison)", np.isclose, np.allclose, np.array_equal, np.array_equiv, np.isin,
             np.isneginf, np.isposinf, np.iscomplex, np.isreal, np.any, np.all,
             np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal, np.isfinite, np.isnan,
             np.isinf, np.signbit, np.logical_not, np.logical_and, np.logical_or, np.logical_xor)
plain_result("a query about dtype or shape", np.iscomplexobj, np.isrealobj, np.shape, np.ndim, np.size,
             np.result_type, np.can_cast, np.common_type, np.min_scalar_type)
plain_result("the contraction order (no values)", np.einsum_path)
plain_result("the text of the value (the tangent is not shown)", np.array2string, np.array_repr, np.array_str)
