"""``scipy.special`` on Duals: its ufuncs as they are, and its Python functions written with dualgrad's rules.

Every ufunc of ``scipy.special`` is reachable here under its name (``special.erf is scipy.special.erf``): a
ufunc hands a Dual to dualgrad's rule itself (docs/ops.md lists which have one). ``logsumexp``, ``softmax``,
``log_softmax``, ``polygamma`` and ``multigammaln`` are Python functions in SciPy that convert their arguments
with ``np.asarray``; here they are dualgrad functions with SciPy's signatures and defaults (``softmax`` over
all elements unless ``axis`` is given, as SciPy). SciPy's other Python functions (``comb``, ``factorial``, the
orthogonal-polynomial constructors, ...) have no counterpart: their names raise ``AttributeError`` here.
"""
from __future__ import annotations

import numpy as np
import scipy.special as _sp

from ..rules._util import normalize_axes
from ..rules.nn import log_softmax as _log_softmax
from ..rules.nn import softmax as _softmax
from ..rules.reductions import logsumexp
from ..rules.special import multigammaln, polygamma

__all__ = ["logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln"]


def _over(fn, x, axis):
    """``fn`` (softmax or log_softmax over one axis) over ``axis``: an int, a tuple of ints, or ``None`` for all
    axes (SciPy's default). Several axes are moved to the end and flattened into one for the call."""
    if isinstance(axis, (int, np.integer)):
        return fn(x, axis=int(axis))
    ndim = np.ndim(x)
    axes = normalize_axes(axis, ndim, fn.__name__)
    rest = [a for a in range(ndim) if a not in axes]
    moved = np.transpose(x, rest + list(axes))                          # (*rest, *axes)
    shape = np.shape(moved)
    flat = fn(np.reshape(moved, shape[:len(rest)] + (-1,)), axis=-1)    # (*rest, prod(axes))
    return np.transpose(np.reshape(flat, shape), np.argsort(rest + list(axes)))


def softmax(x, axis=None):
    """exp(x) / Σ exp(x) over ``axis`` (all elements for ``None``, as ``scipy.special.softmax``)."""
    return _over(_softmax, x, axis)


def log_softmax(x, axis=None):
    """x − logsumexp(x) over ``axis`` (all elements for ``None``, as ``scipy.special.log_softmax``)."""
    return _over(_log_softmax, x, axis)


def __getattr__(name: str):
    value = getattr(_sp, name, None)
    if isinstance(value, np.ufunc):
        return value
    if value is None:
        raise AttributeError(f"scipy.special has no attribute {name!r}")
    raise AttributeError(
        f"scipy.special.{name} is a Python function that converts its arguments with np.asarray; dualgrad.scipy."
        f"special has no counterpart for it (it provides its ufuncs and {', '.join(__all__)})")
