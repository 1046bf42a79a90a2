"""Dual: a primal array carrying a block of k tangent columns.

A Dual stands for ``primal + Σ_i tangent[i] ε_i`` with ε_i ε_j = 0, so that for any smooth f

    f(primal + Σ_i tangent[i] ε_i) = f(primal) + Σ_i (J_f · tangent[i]) ε_i .

One forward pass through f therefore yields k directional derivatives at once. The tangent block has
shape ``(k, *primal.shape)``: the tangent axis comes first, so NumPy's right-aligned broadcasting lets
an elementwise rule be just ``derivative * tangent``. ``tangent=None`` is a symbolic zero (a
constant); rules skip the work it would cost.

Duals are immutable and never patch NumPy: plain NumPy code reaches dualgrad's rules through the
``__array_ufunc__`` / ``__array_function__`` protocols, and an unsupported function raises
``MissingRuleError`` rather than dropping the tangent.
"""
from __future__ import annotations

import numbers
import sys

from .backend import namespace
from .errors import MissingRuleError, TangentShapeError


class Dual:
    __slots__ = ("primal", "tangent")
    __array_priority__ = 1000   # binary operators with ndarrays defer to the Dual's

    def __init__(self, primal, tangent=None):
        primal = _as_float_array(primal, "primal")
        if tangent is not None:
            xp = namespace(primal)
            tangent = xp.asarray(tangent)
            if tangent.dtype.kind not in "fiub":
                raise TypeError(f"Dual: the tangent must be real; got dtype {tangent.dtype}")
            if tangent.ndim != primal.ndim + 1 or tangent.shape[1:] != primal.shape or tangent.shape[0] < 1:
                raise TangentShapeError(
                    f"Dual: a primal of shape {primal.shape} needs a tangent block of shape "
                    f"(k, {', '.join(map(str, primal.shape))}{',' if primal.ndim == 1 else ''}) with k >= 1 "
                    f"tangent columns first; got tangent shape {tangent.shape}. "
                    "For a single direction v use v[None].")
            if tangent.dtype != primal.dtype:
                tangent = tangent.astype(primal.dtype)
        self.primal = primal
        self.tangent = tangent

    @classmethod
    def _unchecked(cls, primal, tangent):
        """Construct without validation (rules already produce consistent blocks)."""
        d = object.__new__(cls)
        d.primal = primal
        d.tangent = tangent
        return d

    # ---------------------------------------------------------------- properties
    @property
    def k(self) -> int | None:
        """Number of tangent columns; None for a symbolic-zero tangent."""
        return None if self.tangent is None else self.tangent.shape[0]

    @property
    def shape(self) -> tuple:
        return self.primal.shape

    @property
    def dtype(self):
        return self.primal.dtype

    @property
    def ndim(self) -> int:
        return self.primal.ndim

    @property
    def size(self) -> int:
        return self.primal.size

    def __len__(self):
        return len(self.primal)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        if self.tangent is None:
            return f"Dual(primal={self.primal!r}, tangent=None)"
        return f"Dual(primal={self.primal!r},\n     tangent (k={self.k})={self.tangent!r})"

    # ---------------------------------------------------------------- conversions that would drop the tangent
    def __array__(self, dtype=None, copy=None):
        raise TypeError("converting a Dual to a plain array would drop its tangent. Use .primal for the value; "
                        "if a NumPy function led here, it has no rule in dualgrad (see docs/ops.md).")

    def __float__(self):
        raise TypeError("float(Dual) would drop the tangent; use float(x.primal) for the value.")

    def __bool__(self):
        return bool(self.primal)

    def __setitem__(self, index, value):
        raise TypeError("Duals are immutable: build the new value with np.where, np.concatenate or dg.pad "
                        "instead of assigning into it.")

    def item(self):
        raise TypeError("Dual.item() would drop the tangent; use x.primal.item() for the value.")

    # ---------------------------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise MissingRuleError(f"numpy.{ufunc.__name__}.{method} has no forward-mode rule in dualgrad; "
                                   f"call the function form (e.g. np.sum for np.add.reduce).")
        if kwargs.get("out") is not None:
            raise TypeError(f"numpy.{ufunc.__name__}(..., out=...) cannot write into a Dual: Duals are "
                            "immutable. Drop out= and use the returned value.")
        kwargs.pop("out", None)
        handler, name = _ufunc_handler(ufunc)
        if handler is None:
            raise MissingRuleError(f"{name} has no forward-mode rule in dualgrad. Use a supported function "
                                   f"(docs/ops.md) or register one with dg.defjvp({name}).")
        if kwargs:
            raise TypeError(f"numpy.{ufunc.__name__} on a Dual does not support the arguments "
                            f"{sorted(kwargs)}; compute the same result without them.")
        return handler(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        handler = _numpy_functions.get(func)
        if handler is None:
            name = f"{func.__module__}.{func.__name__}".replace("numpy._core.", "numpy.")
            raise MissingRuleError(
                f"{name} has no forward-mode rule in dualgrad. Use a supported function (docs/ops.md) "
                f"or register one with dg.defjvp({name}).")
        return handler(*args, **kwargs)

    # ---------------------------------------------------------------- operators
    def __add__(self, other): return _ew.add(self, other)
    def __radd__(self, other): return _ew.add(other, self)
    def __sub__(self, other): return _ew.subtract(self, other)
    def __rsub__(self, other): return _ew.subtract(other, self)
    def __mul__(self, other): return _ew.multiply(self, other)
    def __rmul__(self, other): return _ew.multiply(other, self)
    def __truediv__(self, other): return _ew.divide(self, other)
    def __rtruediv__(self, other): return _ew.divide(other, self)
    def __pow__(self, other): return _ew.power(self, other)
    def __rpow__(self, other): return _ew.power(other, self)
    def __matmul__(self, other): return _la.matmul(self, other)
    def __rmatmul__(self, other): return _la.matmul(other, self)
    def __neg__(self): return _ew.negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ew.abs(self)

    # comparisons look only at the primal and return plain boolean arrays
    def __lt__(self, other): return self.primal < _primal(other)
    def __le__(self, other): return self.primal <= _primal(other)
    def __gt__(self, other): return self.primal > _primal(other)
    def __ge__(self, other): return self.primal >= _primal(other)
    def __eq__(self, other): return self.primal == _primal(other)
    def __ne__(self, other): return self.primal != _primal(other)
    __hash__ = None

    # ---------------------------------------------------------------- array methods
    def __getitem__(self, index): return _sh.getitem(self, index)

    @property
    def T(self): return _sh.transpose(self)

    @property
    def mT(self): return _sh.swapaxes(self, -1, -2)

    def reshape(self, *shape, order="C"):
        return _sh.reshape(self, shape[0] if len(shape) == 1 else shape, order=order)

    def transpose(self, *axes):
        return _sh.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, axis1, axis2): return _sh.swapaxes(self, axis1, axis2)
    def squeeze(self, axis=None): return _sh.squeeze(self, axis)
    def ravel(self): return _sh.ravel(self)
    def flatten(self): return _sh.ravel(self)
    def repeat(self, repeats, axis=None): return _sh.repeat(self, repeats, axis)
    def take(self, indices, axis=None): return _sh.take(self, indices, axis)
    def copy(self): return self
    def sum(self, axis=None, keepdims=False): return _red.sum(self, axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _red.mean(self, axis, keepdims=keepdims)
    def prod(self, axis=None, keepdims=False): return _red.prod(self, axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _red.max(self, axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _red.min(self, axis, keepdims=keepdims)
    def var(self, axis=None, ddof=0, keepdims=False): return _red.var(self, axis, ddof=ddof, keepdims=keepdims)
    def std(self, axis=None, ddof=0, keepdims=False): return _red.std(self, axis, ddof=ddof, keepdims=keepdims)
    def cumsum(self, axis=None): return _red.cumsum(self, axis)
    def clip(self, min=None, max=None): return _ew.clip(self, min, max)
    def dot(self, other): return _la.dot(self, other)
    def trace(self, offset=0, axis1=0, axis2=1): return _la.trace(self, offset, axis1, axis2)

    def astype(self, dtype):
        """Cast primal and tangent to another floating dtype (e.g. float64 for a check)."""
        primal = _as_float_array(self.primal.astype(dtype), "astype")
        tangent = None if self.tangent is None else self.tangent.astype(dtype)
        return Dual._unchecked(primal, tangent)


def ufunc_key(ufunc) -> str:
    """The key of ``ufunc`` in the rule lookup (``registry.NUMPY_UFUNCS``).

    A ufunc of scipy.special is keyed ``"scipy.special.<name>"`` (so that a SciPy ufunc named like a NumPy one
    never gets NumPy's rule), also the private ones that SciPy's Python functions call (``zeta`` calls
    ``scipy.special._ufuncs._zeta``); NumPy's ufuncs (``ndarray.clip``'s included) by their name.
    """
    name = ufunc.__name__
    for module in ("scipy.special", "scipy.special._ufuncs"):
        if getattr(sys.modules.get(module), name, None) is ufunc:
            return f"scipy.special.{name}"
    return name


def _ufunc_handler(ufunc):
    """The implementation registered for ``ufunc`` and its qualified name."""
    key = ufunc_key(ufunc)
    return _numpy_ufuncs.get(key), key if "." in key else f"numpy.{key}"


def _primal(x):
    return x.primal if isinstance(x, Dual) else x


def _as_float_array(x, what):
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        raise TypeError(f"Dual: the {what} is the integer {x!r}; derivatives need a floating-point value. "
                        f"Write {float(x)!r} instead.")
    xp = namespace(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"Dual: the {what} has dtype {x.dtype}, but forward-mode derivatives need a real floating "
                        f"dtype. Cast it first, e.g. x.astype(np.float64) (or float32).")
    return x


# The rule modules import this one; bind their functions late to avoid an import cycle.
from .registry import NUMPY_FUNCTIONS as _numpy_functions  # noqa: E402
from .registry import NUMPY_UFUNCS as _numpy_ufuncs  # noqa: E402
from .rules import elementwise as _ew  # noqa: E402
from .rules import linalg as _la  # noqa: E402
from .rules import reductions as _red  # noqa: E402
from .rules import shape as _sh  # noqa: E402
