"""Dual: a primal array carrying a block of k tangent columns.

A Dual stands for ``primal + Σ_i tangent[i] ε_i`` with ε_i ε_j = 0, so that for any smooth f

    f(primal + Σ_i tangent[i] ε_i) = f(primal) + Σ_i (J_f · tangent[i]) ε_i .

One forward pass through f therefore yields k directional derivatives at once. The tangent block has
shape ``(k, *primal.shape)``: the tangent axis comes first, so NumPy's right-aligned broadcasting lets
an elementwise rule be just ``derivative * tangent``. ``tangent=None`` is a symbolic zero (a
constant); rules skip the work it would cost.

**Tags (nesting).** Every Dual carries an integer ``tag`` naming the derivative its ε's belong to:
each ``jvp``/``jacfwd``/``hessian``/``hvp`` call draws a fresh, larger tag. The primal and tangent of
a Dual may themselves be Duals of *smaller* tags (an outer derivative of an inner one). When Duals of
different tags meet in one operation, the one with the largest tag (the innermost derivative) is
unpacked and every other operand is a constant of it, so ε's of different calls never mix
(perturbation confusion is impossible). Duals built directly with ``Dual(x, v)`` get tag 0.

**Writes.** A Dual can be written like an ndarray: ``d[index] = value``, ``d += v`` and
``np.sin(x, out=d)`` change ``d`` itself (primal and tangent; a Dual without tangent gains one). Views
behave as in NumPy: a Dual made from ``d`` by basic slicing, reshape or transpose sees later writes into
``d``, and a write into it reaches ``d`` (broadcast and diagonal views are read-only, as in NumPy).
Everything else is a value: a write never changes the arrays a Dual was built from, nor the result
of an earlier computation.

Plain NumPy code reaches dualgrad's rules through the ``__array_ufunc__`` / ``__array_function__``
protocols (NumPy is never patched); an unsupported function raises ``MissingRuleError`` rather than
dropping the tangent.
"""
from __future__ import annotations

import itertools
import math
import numbers
import sys
import weakref

import numpy as np

from .backend import namespace, to_numpy
from .errors import MissingRuleError, TagOrderError, TangentDtypeError, TangentShapeError

#: The tag of Duals built directly with ``Dual(x, v)``; every transform call draws a larger one.
USER_TAG = 0
_tags = itertools.count(1)


def new_tag() -> int:
    """A fresh tag, larger than every tag drawn before (an inner derivative is unpacked first)."""
    return next(_tags)


class Dual:
    __slots__ = ("primal", "tangent", "tag", "_owned", "_base", "_views", "__weakref__")
    __array_priority__ = 1000   # binary operators with ndarrays defer to the Dual's

    def __new__(cls, primal=None, tangent=None, *, tag: int | None = None):
        if tangent is None and tag is None and isinstance(primal, Dual):
            return primal            # a zero perturbation adds nothing: Dual(d) is d, at whatever level d is
        return object.__new__(cls)

    def __init__(self, primal, tangent=None, *, tag: int | None = None):
        if primal is self:
            return
        while isinstance(primal, Dual) and primal.tangent is None:
            primal = primal.primal
        inner = [v for v in (primal, tangent) if isinstance(v, Dual)]
        if tag is None:
            tag = new_tag() if inner else USER_TAG
        for v in inner:
            if v.tag >= tag:
                raise TagOrderError(f"Dual: a Dual of tag {tag} cannot hold a Dual of tag {v.tag} inside; the "
                                    "inner value of a nested Dual must belong to an outer derivative (a smaller "
                                    "tag). Leave tag=None to draw a fresh one.")
        primal = _as_inexact(primal, "primal")
        if tangent is not None:
            tangent = _as_tangent(tangent, primal)
        self.primal, self.tangent, self.tag = primal, tangent, tag
        self._owned, self._base, self._views = False, None, None

    @classmethod
    def _unchecked(cls, primal, tangent, tag: int = USER_TAG):
        """Construct without validation (rules already produce consistent blocks)."""
        d = object.__new__(cls)
        d.primal, d.tangent, d.tag = primal, tangent, tag
        d._owned, d._base, d._views = False, None, None
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
        tag = f", tag={self.tag}" if self.tag != USER_TAG else ""
        if self.tangent is None:
            return f"Dual(primal={self.primal!r}, tangent=None{tag})"
        return f"Dual(primal={self.primal!r},\n     tangent (k={self.k})={self.tangent!r}{tag})"

    # ---------------------------------------------------------------- conversions
    def __array__(self, dtype=None, copy=None):
        """What NumPy gets when it converts a Dual itself (``np.array([d, e])``, ``np.asarray(d)``, ``np.r_``).

        Without a dtype (or with ``object``): a NumPy object array of the Dual's elements, each a 0-d Dual,
        which NumPy computes on element by element (the Duals' own operators and methods) and which any
        operation with a Dual, any dualgrad function and every transform turn back into one Dual
        (``from_objects``). With an integer or boolean dtype: the plain value (piecewise constant, as
        ``int(d)``). Any other dtype would drop the tangent: a TypeError that says what to do.
        """
        kind = "O" if dtype is None else np.dtype(dtype).kind
        if kind in "biu":
            # integers or booleans (np.int64(d), np.asarray(d, dtype=int)): piecewise constant, as int(d)
            return to_numpy(innermost(self)).astype(dtype)
        caller = _converting_library_function(sys._getframe(1))
        if kind == "O" and not caller.startswith("scipy"):
            out = np.empty(self.shape, dtype=object)     # elements are values: later writes to self stay out
            for index in np.ndindex(*self.shape):
                tangent = None if self.tangent is None else self.tangent[(slice(None), *index)].copy()
                out[index] = Dual._unchecked(self.primal[index].copy(), tangent, self.tag)
            return out
        scipy = _scipy_counterpart(caller) if caller.startswith("scipy") else ""
        raise TypeError(
            f"converting a Dual to a plain {'' if dtype is None else f'{np.dtype(dtype)} '}array"
            f"{f' (in {caller})' if caller else ''} would drop its tangent; use .primal for the value. A NumPy "
            "function given a list of Duals (np.mean([d, e])) needs the list stacked first: np.stack([...]) or "
            "dg.array([...]). Writing a Dual into a NumPy array (a[i] = dual, np.sin(x, out=a)) needs a Dual "
            f"target: a = np.zeros_like(x).{scipy} Otherwise a NumPy function without a rule led here "
            "(docs/ops.md lists them).")

    def __float__(self):
        raise TypeError("float(Dual) would drop the tangent; use float(x.primal) for the value. (A NumPy array "
                        "receiving a Dual, a[i] = dual, needs a Dual target: a = np.zeros_like(dual).)")

    def __int__(self):
        return int(innermost(self))           # integer-valued: its derivative is zero wherever it exists

    # math.floor / ceil / trunc (and NumPy's loops for object arrays, which call them): integer-valued
    def __floor__(self): return math.floor(innermost(self))
    def __ceil__(self): return math.ceil(innermost(self))
    def __trunc__(self): return math.trunc(innermost(self))

    def __complex__(self):
        raise TypeError("complex(Dual) would drop the tangent; use complex(x.primal) for the value.")

    def __bool__(self):
        return bool(self.primal)

    def item(self):
        raise TypeError("Dual.item() would drop the tangent; use x.primal.item() for the value.")

    # ---------------------------------------------------------------- writes
    def __setitem__(self, index, value):
        """``d[index] = value``: the primal and the tangent (the value's, or zero) are written in ``d``; Duals
        viewing ``d`` see the write, and if ``d`` views another Dual the write reaches it too."""
        if _holds_dual(index):
            raise TypeError("Dual[index] = value: an index cannot be a Dual; index with integer or boolean arrays")
        if self._base is not None and self._base[2] == "readonly":
            raise ValueError(f"assignment destination is read-only: this Dual is a {self._base[1][0].name} view of "
                             "another (read-only in NumPy too); write into a copy (np.copy) instead.")
        vtag = value.tag if isinstance(value, Dual) else -1
        if vtag > self.tag:        # a value of an inner derivative: d becomes a value of that derivative too
            inner = Dual._unchecked(self.primal, self.tangent, self.tag)
            inner._owned = self._owned
            self.primal, self.tangent, self.tag = inner, None, vtag
        if _is_complex(value) and self.dtype.kind != "c":
            raise TypeError(f"Dual[index] = value: a complex value cannot be written into a real Dual of dtype "
                            f"{self.dtype} (the imaginary part would be lost); build a complex Dual first.")
        self._own()
        vp, vt = (value.primal, value.tangent) if vtag == self.tag else (value, None)
        self.primal = _write(self.primal, index, vp)
        if vt is not None or self.tangent is not None:
            self.tangent = _write_tangent(self, index, vt)
        if self._base is not None:                   # write through into the Dual this one views
            base, _, writer = self._base
            writer(base, self)
        else:
            _refresh_views(self)

    def _own(self):
        """Copy the buffers unless no other Dual or array can hold them (copy on first write)."""
        if not self._owned:
            self.primal = _fresh_copy(self.primal)
            self.tangent = _fresh_copy(self.tangent)
            self._owned = True

    def _inplace(self, op, other):
        self[...] = op(self, other)
        return self

    def __iadd__(self, other): return self._inplace(_ew.add, other)
    def __isub__(self, other): return self._inplace(_ew.subtract, other)
    def __imul__(self, other): return self._inplace(_ew.multiply, other)
    def __itruediv__(self, other): return self._inplace(_ew.divide, other)
    def __ipow__(self, other): return self._inplace(_ew.power, other)
    def __imatmul__(self, other): return self._inplace(_la.matmul, other)

    # ---------------------------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise MissingRuleError(f"numpy.{ufunc.__name__}.{method} has no forward-mode rule in dualgrad; "
                                   f"call the function form (e.g. np.sum for np.add.reduce).")
        out = kwargs.pop("out", None)
        inputs = tuple(from_objects(x) for x in inputs)    # np.array([d, e]) among the operands: one Dual
        handler, name = _ufunc_handler(ufunc)
        if handler is None and all(set(types) <= set("O->") for types in ufunc.types):
            # np.frompyfunc / np.vectorize's ufunc: the Python function runs on each element, a 0-d Dual
            return _write_out(name, ufunc(*[np.asarray(x) if isinstance(x, Dual) else x for x in inputs]), out)
        if handler is None:
            target = name if name.startswith(("numpy.", "scipy.")) else "that_ufunc"
            raise MissingRuleError(f"{name} has no forward-mode rule in dualgrad. Use a supported function "
                                   f"(docs/ops.md) or register one with dg.defjvp({target}).")
        if kwargs:
            raise TypeError(f"numpy.{ufunc.__name__} on a Dual does not support the arguments "
                            f"{sorted(kwargs)}; compute the same result without them.")
        return _write_out(name, handler(*inputs), out)

    def __array_function__(self, func, types, args, kwargs):
        handler = _numpy_functions.get(func)
        if handler is None:
            name = f"{func.__module__}.{func.__name__}".replace("numpy._core.", "numpy.")
            raise MissingRuleError(
                f"{name} has no forward-mode rule in dualgrad. Use a supported function (docs/ops.md) "
                f"or register one with dg.defjvp({name}).")
        out = kwargs.pop("out", None) if "out" in kwargs else None
        if np.ndarray in types:                           # an object array of Duals among them: one Dual
            args = tuple(from_objects(a) if not isinstance(a, (list, tuple)) else type(a)(map(from_objects, a))
                         for a in args)
        return _write_out(f"numpy.{func.__name__}", handler(*args, **kwargs), out)

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
    def __mod__(self, other): return _ew.remainder(self, other)
    def __rmod__(self, other): return _ew.remainder(other, self)
    def __floordiv__(self, other): return _ew.floor_divide(self, other)
    def __rfloordiv__(self, other): return _ew.floor_divide(other, self)
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

    @property
    def real(self): return _ew.real(self)

    @property
    def imag(self): return _ew.imag(self)

    def conj(self): return _ew.conjugate(self)
    def conjugate(self): return _ew.conjugate(self)

    def reshape(self, *shape, order="C"):
        return _sh.reshape(self, shape[0] if len(shape) == 1 else shape, order=order)

    def transpose(self, *axes):
        return _sh.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, axis1, axis2): return _sh.swapaxes(self, axis1, axis2)
    def squeeze(self, axis=None): return _sh.squeeze(self, axis)
    def ravel(self): return _sh.ravel(self)
    def flatten(self): return _sh.ravel(self).copy()
    def repeat(self, repeats, axis=None): return _sh.repeat(self, repeats, axis)
    def take(self, indices, axis=None): return _sh.take(self, indices, axis)
    def sum(self, axis=None, keepdims=False): return _red.sum(self, axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _red.mean(self, axis, keepdims=keepdims)
    def prod(self, axis=None, keepdims=False): return _red.prod(self, axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _red.max(self, axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return _red.min(self, axis, keepdims=keepdims)
    def var(self, axis=None, ddof=0, keepdims=False): return _red.var(self, axis, ddof=ddof, keepdims=keepdims)
    def std(self, axis=None, ddof=0, keepdims=False): return _red.std(self, axis, ddof=ddof, keepdims=keepdims)
    def cumsum(self, axis=None): return _red.cumsum(self, axis)
    def cumprod(self, axis=None): return _red.cumprod(self, axis)
    def clip(self, min=None, max=None): return _ew.clip(self, min, max)
    def dot(self, other): return _la.dot(self, other)
    def trace(self, offset=0, axis1=0, axis2=1): return _la.trace(self, offset, axis1, axis2)
    def diagonal(self, offset=0, axis1=0, axis2=1): return _sh.diagonal(self, offset, axis1, axis2)
    def any(self, axis=None, keepdims=False): return np.any(self.primal, axis=axis, keepdims=keepdims)
    def all(self, axis=None, keepdims=False): return np.all(self.primal, axis=axis, keepdims=keepdims)
    def argmax(self, axis=None, keepdims=False): return np.argmax(self.primal, axis=axis, keepdims=keepdims)
    def argmin(self, axis=None, keepdims=False): return np.argmin(self.primal, axis=axis, keepdims=keepdims)
    def argsort(self, axis=-1, kind=None, order=None): return np.argsort(self.primal, axis=axis, kind=kind)
    def nonzero(self): return np.nonzero(self.primal)

    def copy(self):
        """A new Dual with its own copies of the primal and tangent, viewing nothing (``np.copy``, ``d.copy()``)."""
        d = Dual._unchecked(_fresh_copy(self.primal), _fresh_copy(self.tangent), self.tag)
        d._owned = True
        return d

    def astype(self, dtype, copy: bool = True):
        """Cast primal and tangent to another inexact dtype (e.g. float64 for a check); an integer or boolean
        dtype gives the plain cast value (piecewise constant: its derivative is zero wherever it exists)."""
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            return innermost(self).astype(dtype)
        if self.dtype.kind == "c" and dtype.kind == "f":
            raise TypeError(f"Dual.astype({dtype}): casting a complex Dual to a real dtype would drop the imaginary "
                            "part; take .real first.")
        if dtype == self.dtype and not copy:
            return self
        tangent = None if self.tangent is None else self.tangent.astype(dtype)
        return Dual._unchecked(self.primal.astype(dtype), tangent, self.tag)


# ----- helpers -------------------------------------------------------------------------------------
def ufunc_key(ufunc):
    """The key of ``ufunc`` in the rule lookup (``registry.NUMPY_UFUNCS``).

    A ufunc of scipy.special is keyed ``"scipy.special.<name>"`` (so that a SciPy ufunc named like a NumPy one
    never gets NumPy's rule), also the private ones that SciPy's Python functions call (``zeta`` calls
    ``scipy.special._ufuncs._zeta``); NumPy's ufuncs (``ndarray.clip``'s included) by their name; any other
    ufunc (``np.frompyfunc``'s, a library's) by the ufunc object itself.
    """
    name = ufunc.__name__
    for module in ("scipy.special", "scipy.special._ufuncs"):
        if getattr(sys.modules.get(module), name, None) is ufunc:
            return f"scipy.special.{name}"
    numpy_own = getattr(np, name, None) is ufunc or any(
        getattr(sys.modules.get(module), name, None) is ufunc for module in ("numpy._core.umath", "numpy.core.umath"))
    return name if numpy_own else ufunc


def _ufunc_handler(ufunc):
    """The implementation registered for ``ufunc`` and its qualified name."""
    key = ufunc_key(ufunc)
    if not isinstance(key, str):
        return _numpy_ufuncs.get(key), f"the ufunc {ufunc.__name__}"
    return _numpy_ufuncs.get(key), key if "." in key else f"numpy.{key}"


def _scipy_counterpart(caller: str) -> str:
    """What to use instead of the SciPy Python function ``caller`` (``scipy.<subpackage>. ...``)."""
    from .scipy import SUBMODULES  # dualgrad.scipy imports this module: import on use

    subpackage = caller.split(".")[1].lstrip("_")
    if subpackage in SUBMODULES:
        return (f" SciPy's Python functions convert their inputs so; dualgrad.scipy.{subpackage} has the "
                f"counterparts of scipy.{subpackage}'s, with SciPy's names and signatures (docs/scipy.md).")
    return (" SciPy's Python functions convert their inputs so: write the computation with NumPy functions and "
            "scipy.special's ufuncs, or use dualgrad.scipy's counterparts (docs/scipy.md).")


def _converting_library_function(frame) -> str:
    """The outermost NumPy or SciPy function on the stack above ``frame`` (the one the user called, which
    converts its arguments to plain arrays), as ``module.qualname``; "" when the user's own code did."""
    found = ""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] in ("numpy", "scipy"):
            found = f"{module}.{getattr(frame.f_code, 'co_qualname', frame.f_code.co_name)}"   # 3.11+: qualname
        elif module.split(".")[0] != "dualgrad":
            break
        frame = frame.f_back
    return found


def from_objects(x):
    """``x``, or, when it is a NumPy object array holding Duals (what NumPy builds from Duals:
    ``np.array([d, e])``, ``np.asarray(d)``, ``np.r_[d, e]``), the Dual of the same values, stacked.

    Operations with a Dual, dualgrad's functions and the transforms pass their operands through this, so
    such an array is computed on as one Dual from there on."""
    if type(x) is not np.ndarray or x.dtype != object or not any(isinstance(e, Dual) for e in x.flat):
        return x
    return _sh.array(x.tolist())


# NumPy's loops for object arrays (np.sin(np.array([d, e]))) call, on each element, the method named after
# the ufunc: these send it back to the ufunc, and so to the Dual's rule.
OBJECT_LOOP_METHODS = ("arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "cbrt", "cos", "cosh",
                       "deg2rad", "degrees", "exp", "exp2", "expm1", "fabs", "log", "log10", "log1p", "log2",
                       "rad2deg", "radians", "sin", "sinh", "sqrt", "tan", "tanh", "arctan2", "hypot", "rint")


def _object_loop_method(name):
    ufunc = getattr(np, name)

    def method(self, *others):
        return ufunc(self, *others)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"np.{name}(self, *others): called by NumPy's loop for object arrays holding Duals."
    return method


for _name in OBJECT_LOOP_METHODS:
    setattr(Dual, _name, _object_loop_method(_name))


def _primal(x):
    return x.primal if isinstance(x, Dual) else x


def innermost(x):
    """The plain value at the bottom of a (possibly nested) Dual; other values as given.

    Integer-valued and order-dependent results (argsort, comparisons, the positions a sort picks) are
    computed from it, so every nesting level of a Dual sees the same positions.
    """
    while isinstance(x, Dual):
        x = x.primal
    return x


def _is_complex(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return isinstance(x, complex) if dtype is None else dtype.kind == "c"


def _holds_dual(index) -> bool:
    return isinstance(index, Dual) or (isinstance(index, tuple) and any(isinstance(i, Dual) for i in index))


def _refresh_views(d: Dual):
    """Re-derive every live Dual that views ``d`` (and their views) from d's current value."""
    for ref in d._views or ():
        view = ref()
        if view is None:
            continue
        _, (prim, params), _ = view._base
        fresh = prim(d, **params)
        view.primal, view.tangent, view.tag, view._owned = fresh.primal, fresh.tangent, fresh.tag, False
        _refresh_views(view)


def link_view(base: Dual, view: Dual, prim, params: dict, writer):
    """Record that ``view`` = prim(base, **params) views ``base``: ``writer(base, view)`` writes it back
    (or "readonly"). The base holds its views weakly."""
    view._base = (base, (prim, params), writer)
    views = base._views
    if views is None:
        views = base._views = []
    elif len(views) >= 8:
        views[:] = [ref for ref in views if ref() is not None]
    views.append(weakref.ref(view))


def _fresh_copy(x):
    if x is None:
        return None
    if isinstance(x, Dual):
        return x.copy()
    return namespace(x).array(x, copy=True)


def _write(buffer, index, value):
    """``buffer[index] = value`` where a Dual value turns a plain buffer into a Dual of the value's tag."""
    if isinstance(value, Dual) and not isinstance(buffer, Dual):
        buffer = Dual._unchecked(buffer, None, value.tag)
        buffer._owned = True
    buffer[index] = value
    return buffer


def _write_tangent(d: Dual, index, vt):
    """Write the value's tangent block ``vt`` (or zero) into ``d.tangent`` at ``index`` (k axis first)."""
    xp = namespace(d.primal)
    tangent = d.tangent
    if vt is not None and tangent is not None and vt.shape[0] != tangent.shape[0]:
        raise TangentShapeError(f"Dual[index] = value: the value carries k={vt.shape[0]} tangent columns, the Dual "
                                f"k={tangent.shape[0]}; values written into one Dual come from one jvp call.")
    if tangent is None:
        tangent = xp.zeros((vt.shape[0],) + tuple(d.shape), dtype=d.dtype)
    tindex, kpos = _sh.tangent_index(index, d.ndim)
    if vt is None:
        return _write(tangent, tindex, 0)
    selected = xp.broadcast_to(xp.zeros((), dtype=bool), d.shape)[index].shape
    block = _sh.broadcast_to(_lift(vt, len(selected)), (vt.shape[0],) + selected)
    if kpos:
        block = _sh.moveaxis(block, 0, kpos)
    return _write(tangent, tindex, block)


def _lift(t, ndim):
    extra = ndim - (t.ndim - 1)
    return t if extra <= 0 else t.reshape(t.shape[:1] + (1,) * extra + t.shape[1:])


def _write_out(name, result, out):
    """Store a ufunc's or function's ``result`` in ``out=`` (a Dual, or an array when the result is plain)."""
    if out is None:
        return result
    target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
    if isinstance(target, tuple):
        raise TypeError(f"{name}(..., out=...) with several outputs is not supported on Duals; drop out=.")
    if isinstance(result, Dual) and not isinstance(target, Dual):
        raise TypeError(f"{name}(..., out=a): the result is a Dual and a is a {type(target).__name__}, which would "
                        "drop its tangent. Make the target a Dual first, e.g. a = np.zeros_like(x) with x a Dual, "
                        "or drop out= and use the returned value.")
    target[...] = result
    return target


def _as_inexact(x, what):
    if isinstance(x, Dual):
        return x
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        raise TypeError(f"Dual: the {what} is the integer {x!r}; derivatives need a floating-point value. "
                        f"Write {float(x)!r} instead.")
    xp = namespace(x)
    x = xp.asarray(x)
    if x.dtype.kind not in "fc":
        raise TypeError(f"Dual: the {what} has dtype {x.dtype}, but forward-mode derivatives need a floating or "
                        "complex dtype. Cast it first, e.g. x.astype(np.float64) (or float32).")
    return x


def _as_tangent(tangent, primal):
    """The tangent block ``(k, *primal.shape)`` in the primal's dtype (array-likes without a dtype are cast)."""
    if not isinstance(tangent, Dual):
        xp = namespace(primal)
        has_dtype = hasattr(tangent, "dtype")
        tangent = xp.asarray(tangent) if has_dtype else xp.asarray(tangent, dtype=primal.dtype)
    if tangent.dtype != primal.dtype:
        raise TangentDtypeError(
            f"Dual: the tangent has dtype {tangent.dtype} but the primal {primal.dtype}; dualgrad never casts "
            f"silently. Cast the tangent: v.astype(np.{primal.dtype}) (or the primal, if it should be "
            f"{tangent.dtype}).")
    if tangent.ndim != primal.ndim + 1 or tuple(tangent.shape[1:]) != tuple(primal.shape) or tangent.shape[0] < 1:
        raise TangentShapeError(
            f"Dual: a primal of shape {primal.shape} needs a tangent block of shape "
            f"(k, {', '.join(map(str, primal.shape))}{',' if primal.ndim == 1 else ''}) with k >= 1 "
            f"tangent columns first; got tangent shape {tangent.shape}. "
            "For a single direction v use v[None].")
    return tangent


# The rule modules import this one; bind their functions late to avoid an import cycle.
from .registry import NUMPY_FUNCTIONS as _numpy_functions  # noqa: E402
from .registry import NUMPY_UFUNCS as _numpy_ufuncs  # noqa: E402
from .rules import elementwise as _ew  # noqa: E402
from .rules import linalg as _la  # noqa: E402
from .rules import reductions as _red  # noqa: E402
from .rules import shape as _sh  # noqa: E402
