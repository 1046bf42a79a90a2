"""Elementwise rules.

Each unary rule is one line: the primal ufunc and the tangent as a function of (t, x, y), where ``t``
is the tangent block ``(k, *x.shape)``, ``x`` the input and ``y = f(x)`` the output (reused where the
derivative is a function of the output, as for exp and tanh). The tangent axis leads, so
``derivative(x) * t`` broadcasts with no reshaping.

Binary rules receive their operands' tangents already lifted to the output's rank and return the
two contributions; ``bind`` checks that the sum has shape ``(k, *out.shape)``.

Ties: maximum/minimum split the tangent equally between equal operands (as HIPS autograd and JAX do);
abs and sign have derivative 0 at 0.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..registry import bind, defprimitive, implements
from ._util import add_terms, fit, lift

LN2, LN10 = math.log(2.0), math.log(10.0)


def unary(name, ufunc, tangent_rule, *, kind="elementwise", note=""):
    """Register ``out = ufunc(x)`` with tangent ``tangent_rule(t, x, out)``; return the dg function."""
    def rule(primals, tangents):
        (x,), (t,) = primals, tangents
        y = ufunc(x)
        return y, None if t is None or tangent_rule is None else tangent_rule(t, x, y)

    prim = defprimitive(name, rule, family="elementwise", kind=kind, numpy=(f"np.{ufunc.__name__}",), note=note)

    def fn(x):
        return bind(prim, x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``np.{ufunc.__name__}`` on Duals or arrays (rule table entry {name!r})."
    implements(ufunc.__name__)(fn)
    return fn


def binary(name, ufunc, tangent_x, tangent_y, *, kind="elementwise", note=""):
    """Register ``out = ufunc(x, y)``; ``tangent_x(tx, x, y, out)`` is the contribution of x's tangent."""
    def rule(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        out = ufunc(x, y)
        rank = np.ndim(out)
        t = add_terms(None if tx is None else tangent_x(lift(tx, rank), x, y, out),
                      None if ty is None else tangent_y(lift(ty, rank), x, y, out))
        return out, None if t is None else fit(t, np.shape(out))

    prim = defprimitive(name, rule, family="elementwise", kind=kind, numpy=(f"np.{ufunc.__name__}",), note=note)

    def fn(x, y):
        return bind(prim, x, y)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``np.{ufunc.__name__}`` on Duals or arrays (rule table entry {name!r})."
    implements(ufunc.__name__)(fn)
    return fn


def _tie_weight(a, b, out):
    """∂max(a, b)/∂a: 1 where a > b, 1/2 where a == b, 0 elsewhere (in the output's dtype)."""
    xp = namespace(out)
    return xp.where(a > b, 1.0, xp.where(a == b, 0.5, 0.0)).astype(out.dtype, copy=False)


# ----- arithmetic ---------------------------------------------------------------------------------
add = binary("add", np.add, lambda t, x, y, o: t, lambda t, x, y, o: t, kind="linear")
subtract = binary("subtract", np.subtract, lambda t, x, y, o: t, lambda t, x, y, o: -t, kind="linear")
multiply = binary("multiply", np.multiply, lambda t, x, y, o: t * y, lambda t, x, y, o: t * x)
divide = binary("divide", np.divide, lambda t, x, y, o: t / y, lambda t, x, y, o: -t * (o / y))
power = binary("power", np.power,
               lambda t, x, y, o: t * (y * x ** (y - 1)),
               lambda t, x, y, o: t * (o * np.log(x)),
               note="the exponent's tangent uses log(x): needs x > 0 where it is nonzero")
negative = unary("negative", np.negative, lambda t, x, y: -t, kind="linear")
positive = unary("positive", np.positive, lambda t, x, y: t, kind="linear")
abs = unary("abs", np.absolute, lambda t, x, y: t * np.sign(x), note="derivative 0 at 0")
sign = unary("sign", np.sign, None, note="piecewise constant: zero tangent")
square = unary("square", np.square, lambda t, x, y: t * (2 * x))
sqrt = unary("sqrt", np.sqrt, lambda t, x, y: t * (0.5 / y))
cbrt = unary("cbrt", np.cbrt, lambda t, x, y: t / (3 * y * y))
reciprocal = unary("reciprocal", np.reciprocal, lambda t, x, y: t * -(y * y))

# ----- exponentials and logarithms ----------------------------------------------------------------
exp = unary("exp", np.exp, lambda t, x, y: t * y)
exp2 = unary("exp2", np.exp2, lambda t, x, y: t * (LN2 * y))
expm1 = unary("expm1", np.expm1, lambda t, x, y: t * (y + 1))
log = unary("log", np.log, lambda t, x, y: t / x)
log2 = unary("log2", np.log2, lambda t, x, y: t / (LN2 * x))
log10 = unary("log10", np.log10, lambda t, x, y: t / (LN10 * x))
log1p = unary("log1p", np.log1p, lambda t, x, y: t / (1 + x))
logaddexp = binary("logaddexp", np.logaddexp, lambda t, x, y, o: t * np.exp(x - o),
                   lambda t, x, y, o: t * np.exp(y - o))

# ----- trigonometric and hyperbolic ---------------------------------------------------------------
sin = unary("sin", np.sin, lambda t, x, y: t * np.cos(x))
cos = unary("cos", np.cos, lambda t, x, y: t * -np.sin(x))
tan = unary("tan", np.tan, lambda t, x, y: t * (1 + y * y))
arcsin = unary("arcsin", np.arcsin, lambda t, x, y: t / np.sqrt(1 - x * x))
arccos = unary("arccos", np.arccos, lambda t, x, y: t / -np.sqrt(1 - x * x))
arctan = unary("arctan", np.arctan, lambda t, x, y: t / (1 + x * x))
arctan2 = binary("arctan2", np.arctan2, lambda t, y, x, o: t * (x / (x * x + y * y)),
                 lambda t, y, x, o: t * (-y / (x * x + y * y)))
hypot = binary("hypot", np.hypot, lambda t, x, y, o: t * (x / o), lambda t, x, y, o: t * (y / o))
sinh = unary("sinh", np.sinh, lambda t, x, y: t * np.cosh(x))
cosh = unary("cosh", np.cosh, lambda t, x, y: t * np.sinh(x))
tanh = unary("tanh", np.tanh, lambda t, x, y: t * (1 - y * y))
arcsinh = unary("arcsinh", np.arcsinh, lambda t, x, y: t / np.sqrt(x * x + 1))
arccosh = unary("arccosh", np.arccosh, lambda t, x, y: t / np.sqrt(x * x - 1))
arctanh = unary("arctanh", np.arctanh, lambda t, x, y: t / (1 - x * x))
deg2rad = unary("deg2rad", np.deg2rad, lambda t, x, y: t * (math.pi / 180), kind="linear")
rad2deg = unary("rad2deg", np.rad2deg, lambda t, x, y: t * (180 / math.pi), kind="linear")

# ----- piecewise constant: the tangent is zero ----------------------------------------------------
floor = unary("floor", np.floor, None, note="piecewise constant: zero tangent")
ceil = unary("ceil", np.ceil, None, note="piecewise constant: zero tangent")
rint = unary("rint", np.rint, None, note="piecewise constant: zero tangent")
trunc = unary("trunc", np.trunc, None, note="piecewise constant: zero tangent")

# ----- selection ----------------------------------------------------------------------------------
maximum = binary("maximum", np.maximum, lambda t, x, y, o: t * _tie_weight(x, y, o),
                 lambda t, x, y, o: t * _tie_weight(y, x, o), note="ties split the tangent equally")
minimum = binary("minimum", np.minimum, lambda t, x, y, o: t * _tie_weight(y, x, o),
                 lambda t, x, y, o: t * _tie_weight(x, y, o), note="ties split the tangent equally")


def _clip_rule(primals, tangents):
    (x, lo, hi), (tx, tlo, thi) = primals, tangents
    out = np.clip(x, lo, hi)
    xp, rank = namespace(out), np.ndim(out)
    below = x < lo if lo is not None else False
    above = x > hi if hi is not None else False
    t = None
    if tx is not None:  # inside [lo, hi] (bounds included) the tangent passes through
        t = lift(tx, rank) * ~(xp.asarray(below) | above)
    if tlo is not None:
        t = add_terms(t, lift(tlo, rank) * below)
    if thi is not None:
        t = add_terms(t, lift(thi, rank) * above)
    return out, None if t is None else fit(t, out.shape)


_clip = defprimitive("clip", _clip_rule, family="elementwise", kind="elementwise", numpy=("np.clip",),
                     note="tangent of x inside [lo, hi] (bounds included), of the bound outside")


@implements(np.clip, "clip")      # ndarray.clip reaches the clip ufunc
def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    """np.clip on Duals; the bounds may be Duals too."""
    if out is not None:
        raise TypeError("clip(..., out=...) cannot write into a Dual; use the returned value")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"clip on a Dual does not support {sorted(kwargs)}")
    return bind(_clip, a, a_min, a_max)


def _where_rule(primals, tangents):
    (cond, x, y), (_, tx, ty) = primals, tangents
    out = np.where(cond, x, y)
    if tx is None and ty is None:
        return out, None
    xp, rank = namespace(out), np.ndim(out)
    zero = xp.zeros((), dtype=out.dtype)
    t = xp.where(cond, zero if tx is None else lift(tx, rank), zero if ty is None else lift(ty, rank))
    return out, fit(t, out.shape)


_where = defprimitive("where", _where_rule, family="elementwise", kind="elementwise", numpy=("np.where",))


@implements(np.where)
def where(condition, x=None, y=None):
    """np.where(condition, x, y) with Dual x and/or y; the condition is a plain boolean array."""
    if x is None or y is None:
        raise TypeError("where(condition) without x and y returns indices; call it on a plain array "
                        "(e.g. np.where(d.primal > 0)).")
    if hasattr(condition, "tangent"):
        raise TypeError("where: the condition must be a boolean array, not a Dual (compare Duals with <, > "
                        "to get one)")
    return bind(_where, condition, x, y)
