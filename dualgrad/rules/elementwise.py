"""Elementwise rules.

Each unary rule is one line: the primal ufunc and the tangent as a function of (t, x, y), where ``t``
is the tangent block ``(k, *x.shape)``, ``x`` the input and ``y = f(x)`` the output (reused where the
derivative is a function of the output, as for exp and tanh). The tangent axis leads, so
``derivative(x) * t`` broadcasts with no reshaping.

Binary rules receive their operands' tangents already lifted to the output's rank and return the
two contributions; ``bind`` checks that the sum has shape ``(k, *out.shape)``.

Complex numbers: rules marked ``complex=True`` hold for complex operands — the holomorphic ones
(``f'(z)·t``: arithmetic, exp/log, trigonometric and hyperbolic functions, powers) and the real-linear
ones (real, imag, conj, abs, angle, sign) with their own tangents; every other rule refuses complex
operands with MissingRuleError.

Conventions (JAX's where they differ from the limit): maximum/minimum split the tangent equally
between equal operands; abs and sign have derivative 0 at 0; ``x**y`` has x-derivative 0 where y = 0
(also at x = 0) and y-derivative 0 where x = 0; sqrt, log and the like are infinite at 0 by mathematics.
Piecewise-constant and integer-valued ufuncs (floor, rint, sign of reals, comparisons, ...) return
plain arrays: their derivative is zero wherever it exists.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace
from ..registry import NUMPY_UFUNCS, bind, defprimitive, implements
from ._util import add_terms, fit, innermost, lift, select, sequence_as_array
from .queries import plain_result

LN2, LN10 = math.log(2.0), math.log(10.0)


def unary(name, ufunc, tangent_rule, *, kind="elementwise", note="", complex=False):
    """Register ``out = ufunc(x)`` with tangent ``tangent_rule(t, x, out)``; return the dg function."""
    def rule(primals, tangents):
        (x,), (t,) = primals, tangents
        y = ufunc(x)
        return y, None if t is None else tangent_rule(t, x, y)

    prim = defprimitive(name, rule, family="elementwise", kind=kind, numpy=(f"np.{ufunc.__name__}",), note=note,
                        complex=complex)

    def fn(x):
        return bind(prim, x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``np.{ufunc.__name__}`` on Duals or arrays (rule table entry {name!r})."
    implements(ufunc.__name__)(fn)
    return fn


def binary(name, ufunc, tangent_x, tangent_y, *, kind="elementwise", note="", complex=False):
    """Register ``out = ufunc(x, y)``; ``tangent_x(tx, x, y, out)`` is the contribution of x's tangent."""
    def rule(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        out = ufunc(x, y)
        rank = np.ndim(out)
        t = add_terms(None if tx is None else tangent_x(lift(tx, rank), x, y, out),
                      None if ty is None else tangent_y(lift(ty, rank), x, y, out))
        return out, None if t is None else fit(t, np.shape(out))

    prim = defprimitive(name, rule, family="elementwise", kind=kind, numpy=(f"np.{ufunc.__name__}",), note=note,
                        complex=complex)

    def fn(x, y):
        return bind(prim, sequence_as_array(x), sequence_as_array(y))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``np.{ufunc.__name__}`` on Duals or arrays (rule table entry {name!r})."
    implements(ufunc.__name__)(fn)
    return fn


def _tie_weight(a, b, out):
    """∂max(a, b)/∂a: 1 where a > b, 1/2 where a == b, 0 elsewhere (in the output's dtype)."""
    xp = namespace(out)
    return xp.where(a > b, 1.0, xp.where(a == b, 0.5, 0.0)).astype(out.dtype, copy=False)


def _nan_weight(a, b, out):
    """∂fmax(a, b)/∂a: as ``_tie_weight``, but a NaN operand is ignored (fmax returns the other one)."""
    xp = namespace(out)
    a_nan, b_nan = xp.isnan(a), xp.isnan(b)
    w = xp.where(a > b, 1.0, xp.where(a == b, 0.5, 0.0))
    return xp.where(b_nan & ~a_nan, 1.0, xp.where(a_nan, 0.0, w)).astype(out.dtype, copy=False)


def _power_dx(t, x, y, out):
    """t · y x^(y−1), and 0 where y = 0 (the derivative of the constant x⁰ = 1, also at x = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = y * x ** (y - 1)
    return t * select(y == 0, 0, slope)


def _power_dy(t, x, y, out):
    """t · x^y log x, and 0 where x = 0 (x^y is 0 for every y > 0 there)."""
    return t * (out * np.log(select(x == 0, 1, x)))


def _abs_tangent(t, x, y):
    """Real x: sign(x)·t (0 at 0). Complex z: Re(conj(z)·t)/|z| (0 at 0), a real tangent."""
    if np.iscomplexobj(x):
        return np.real(np.conj(x) * t) / np.where(y == 0, 1, y)
    return t * np.sign(x)


def _sign_tangent(t, x, y):
    """Complex z: s = z/|z|, ds = (dz − s·Re(conj(s)·dz)) / |z| (0 at 0)."""
    r = np.abs(x)
    return (t - y * np.real(np.conj(y) * t)) / np.where(r == 0, 1, r) * (r != 0)


# ----- arithmetic ---------------------------------------------------------------------------------
add = binary("add", np.add, lambda t, x, y, o: t, lambda t, x, y, o: t, kind="linear", complex=True)
subtract = binary("subtract", np.subtract, lambda t, x, y, o: t, lambda t, x, y, o: -t, kind="linear",
                  complex=True)
multiply = binary("multiply", np.multiply, lambda t, x, y, o: t * y, lambda t, x, y, o: t * x, complex=True)
divide = binary("divide", np.divide, lambda t, x, y, o: t / y, lambda t, x, y, o: -t * (o / y), complex=True)
power = binary("power", np.power, _power_dx, _power_dy, complex=True,
               note="d/dx is 0 where y = 0 and d/dy is 0 where x = 0 (JAX's convention); d/dy needs x > 0 "
                    "elsewhere for real x")
float_power = binary("float_power", np.float_power, _power_dx, _power_dy, complex=True,
                     note="as power, computed in float64/complex128")
negative = unary("negative", np.negative, lambda t, x, y: -t, kind="linear", complex=True)
positive = unary("positive", np.positive, lambda t, x, y: t, kind="linear", complex=True)
abs = unary("abs", np.absolute, _abs_tangent, complex=True,
            note="derivative 0 at 0; complex z: Re(conj(z)·dz)/|z|")
fabs = unary("fabs", np.fabs, lambda t, x, y: t * np.sign(x), note="derivative 0 at 0")
square = unary("square", np.square, lambda t, x, y: t * (2 * x), complex=True)
sqrt = unary("sqrt", np.sqrt, lambda t, x, y: t * (0.5 / y), complex=True, note="infinite at 0")
cbrt = unary("cbrt", np.cbrt, lambda t, x, y: t / (3 * y * y), note="infinite at 0")
reciprocal = unary("reciprocal", np.reciprocal, lambda t, x, y: t * -(y * y), complex=True)
remainder = binary("remainder", np.remainder, lambda t, x, y, o: t,
                   lambda t, x, y, o: t * -np.floor_divide(x, y),
                   note="x − ⌊x/y⌋·y: jumps where x/y is an integer (derivative of the branch taken)")
fmod = binary("fmod", np.fmod, lambda t, x, y, o: t, lambda t, x, y, o: t * -np.trunc(x / y),
              note="x − trunc(x/y)·y: jumps where x/y is an integer (derivative of the branch taken)")

# ----- exponentials and logarithms ----------------------------------------------------------------
exp = unary("exp", np.exp, lambda t, x, y: t * y, complex=True)
exp2 = unary("exp2", np.exp2, lambda t, x, y: t * (LN2 * y), complex=True)
expm1 = unary("expm1", np.expm1, lambda t, x, y: t * (y + 1), complex=True)
log = unary("log", np.log, lambda t, x, y: t / x, complex=True, note="infinite at 0")
log2 = unary("log2", np.log2, lambda t, x, y: t / (LN2 * x), complex=True, note="infinite at 0")
log10 = unary("log10", np.log10, lambda t, x, y: t / (LN10 * x), complex=True, note="infinite at 0")
log1p = unary("log1p", np.log1p, lambda t, x, y: t / (1 + x), complex=True, note="infinite at -1")
logaddexp = binary("logaddexp", np.logaddexp, lambda t, x, y, o: t * np.exp(x - o),
                   lambda t, x, y, o: t * np.exp(y - o))
logaddexp2 = binary("logaddexp2", np.logaddexp2, lambda t, x, y, o: t * np.exp2(x - o),
                    lambda t, x, y, o: t * np.exp2(y - o))

# ----- trigonometric and hyperbolic ---------------------------------------------------------------
sin = unary("sin", np.sin, lambda t, x, y: t * np.cos(x), complex=True)
cos = unary("cos", np.cos, lambda t, x, y: t * -np.sin(x), complex=True)
tan = unary("tan", np.tan, lambda t, x, y: t * (1 + y * y), complex=True)
arcsin = unary("arcsin", np.arcsin, lambda t, x, y: t / np.sqrt(1 - x * x), complex=True)
arccos = unary("arccos", np.arccos, lambda t, x, y: t / -np.sqrt(1 - x * x), complex=True)
arctan = unary("arctan", np.arctan, lambda t, x, y: t / (1 + x * x), complex=True)
arctan2 = binary("arctan2", np.arctan2, lambda t, y, x, o: t * (x / (x * x + y * y)),
                 lambda t, y, x, o: t * (-y / (x * x + y * y)))
hypot = binary("hypot", np.hypot, lambda t, x, y, o: t * (x / o), lambda t, x, y, o: t * (y / o))
sinh = unary("sinh", np.sinh, lambda t, x, y: t * np.cosh(x), complex=True)
cosh = unary("cosh", np.cosh, lambda t, x, y: t * np.sinh(x), complex=True)
tanh = unary("tanh", np.tanh, lambda t, x, y: t * (1 - y * y), complex=True)
arcsinh = unary("arcsinh", np.arcsinh, lambda t, x, y: t / np.sqrt(x * x + 1), complex=True)
arccosh = unary("arccosh", np.arccosh, lambda t, x, y: t / np.sqrt(x * x - 1), complex=True)
arctanh = unary("arctanh", np.arctanh, lambda t, x, y: t / (1 - x * x), complex=True)
deg2rad = unary("deg2rad", np.deg2rad, lambda t, x, y: t * (math.pi / 180), kind="linear")
rad2deg = unary("rad2deg", np.rad2deg, lambda t, x, y: t * (180 / math.pi), kind="linear")
implements("radians")(deg2rad)
implements("degrees")(rad2deg)

# ----- complex parts ------------------------------------------------------------------------------
conjugate = unary("conjugate", np.conjugate, lambda t, x, y: np.conjugate(t), kind="linear", complex=True)


def _part_rule(part):
    def rule(primals, tangents):
        (x,), (t,) = primals, tangents
        return part(x), None if t is None else part(t)
    return rule


def _part_view(combine):
    return lambda: lambda base, view: base.__setitem__(Ellipsis, combine(view, base))


_real = defprimitive("real", _part_rule(np.real), family="elementwise", kind="linear", complex=True,
                     view=_part_view(lambda v, base: v + 1j * np.imag(base)),
                     numpy=("np.real", "Dual.real"), note="real-linear: the real part of the tangent")
_imag = defprimitive("imag", _part_rule(np.imag), family="elementwise", kind="linear", complex=True,
                     view=_part_view(lambda v, base: np.real(base) + 1j * v),
                     numpy=("np.imag", "Dual.imag"), note="real-linear: the imaginary part of the tangent")


def _angle_rule(primals, tangents, deg):
    """angle(z) = atan2(Im z, Re z); d angle = Im(conj(z)·dz) / |z|² (0 at 0), times 180/π in degrees."""
    (z,), (t,) = primals, tangents
    out = np.angle(z, deg=deg)
    if t is None:
        return out, None
    r2 = np.real(z * np.conj(z))
    dout = np.imag(np.conj(z) * t) / np.where(r2 == 0, 1, r2)
    return out, dout * (180 / math.pi) if deg else dout


_angle = defprimitive("angle", _angle_rule, family="elementwise", complex=True, numpy=("np.angle",),
                      note="complex z: Im(conj(z)·dz)/|z|²; of a real array a plain array (0 or π)")
_sign_complex = defprimitive("sign", lambda p, t: (np.sign(p[0]), None if t[0] is None
                                                   else _sign_tangent(t[0], p[0], np.sign(p[0]))),
                             family="elementwise", complex=True, numpy=("np.sign",),
                             note="complex z/|z|: (dz − s·Re(conj(s)·dz))/|z|; of a real array a plain array")


@implements(np.real)
def real(val):
    """The real part: the Dual itself for a real Dual (as NumPy returns the array itself)."""
    return val if not np.iscomplexobj(val) else bind(_real, val)


@implements(np.real_if_close, via=("real",), note="the real part where NumPy drops imaginary parts below tol "
                                                 "(decided on the value, as NumPy decides), else the array itself")
def real_if_close(a, tol=100):
    """np.real_if_close: NumPy decides from the value whether the imaginary parts are negligible."""
    return real(a) if np.iscomplexobj(a) and not np.iscomplexobj(np.real_if_close(innermost(a), tol)) else a


@implements(np.imag)
def imag(val):
    """The imaginary part; of a real Dual the constant zeros (a plain array)."""
    if not np.iscomplexobj(val):
        return namespace(innermost(val)).zeros(np.shape(val), dtype=np.result_type(val))
    return bind(_imag, val)


@implements(np.angle)
def angle(z, deg=False):
    """The argument of complex z; of a real array a plain array (0 or π: piecewise constant)."""
    if not np.iscomplexobj(z):
        return np.angle(innermost(z), deg=deg)
    return bind(_angle, z, deg=deg)


@implements("sign")
def sign(x):
    """sign(x): a plain array for real x (piecewise constant); z/|z| with its tangent for complex z."""
    if not np.iscomplexobj(x):
        return np.sign(innermost(x))
    return bind(_sign_complex, x)


# ----- selection ----------------------------------------------------------------------------------
maximum = binary("maximum", np.maximum, lambda t, x, y, o: t * _tie_weight(x, y, o),
                 lambda t, x, y, o: t * _tie_weight(y, x, o), complex=True,
                 note="ties split the tangent equally; complex operands compare as NumPy does (lexicographically)")
minimum = binary("minimum", np.minimum, lambda t, x, y, o: t * _tie_weight(y, x, o),
                 lambda t, x, y, o: t * _tie_weight(x, y, o), complex=True,
                 note="ties split the tangent equally; complex operands compare as NumPy does (lexicographically)")
fmax = binary("fmax", np.fmax, lambda t, x, y, o: t * _nan_weight(x, y, o),
              lambda t, x, y, o: t * _nan_weight(y, x, o), note="ties split equally; a NaN operand is ignored")
fmin = binary("fmin", np.fmin, lambda t, x, y, o: t * _nan_weight(-x, -y, o),
              lambda t, x, y, o: t * _nan_weight(-y, -x, o), note="ties split equally; a NaN operand is ignored")
copysign = binary("copysign", np.copysign, lambda t, x, y, o: t * (np.sign(x) * np.where(np.signbit(y), -1, 1)),
                  lambda t, x, y, o: None, note="|x| with y's sign: d/dx = sign(x)·sign(y), 0 in y (and at x = 0)")
ldexp = binary("ldexp", np.ldexp, lambda t, x, i, o: t * np.exp2(i), lambda t, x, i, o: None,
               kind="linear", note="x·2^i: linear in x; the integer exponent has no tangent")


def _modf_rule(primals, tangents):
    """modf(x) = (fractional part, integral part); the fractional part moves with x, the integral one is flat."""
    (x,), (t,) = primals, tangents
    frac, whole = np.modf(x)
    return (frac, innermost(whole)), (t, None)


def _frexp_rule(primals, tangents):
    """x = m·2^e: the mantissa m = x·2^(−e) moves with x (e piecewise constant)."""
    (x,), (t,) = primals, tangents
    m, e = np.frexp(x)
    return (m, innermost(e)), (None if t is None else t * np.exp2(-innermost(e).astype(m.dtype)), None)


def _divmod_rule(primals, tangents):
    """divmod(x, y) = (⌊x/y⌋, x − ⌊x/y⌋·y): the quotient is flat, the remainder has remainder's tangent."""
    (x, y), (tx, ty) = primals, tangents
    quotient, rest = np.floor_divide(x, y), np.remainder(x, y)
    rank = np.ndim(rest)
    t = add_terms(None if tx is None else lift(tx, rank), None if ty is None else lift(ty, rank) * -quotient)
    return (quotient, rest), (None, None if t is None else fit(t, np.shape(rest)))


_modf = defprimitive("modf", _modf_rule, family="elementwise", numpy=("np.modf",),
                     note="(fraction with x's tangent, integral part as a plain array)")
_frexp = defprimitive("frexp", _frexp_rule, family="elementwise", numpy=("np.frexp",),
                      note="(mantissa x·2^-e, exponent as a plain array)")
_divmod = defprimitive("divmod", _divmod_rule, family="elementwise", numpy=("np.divmod",),
                       note="(floor quotient as a plain array, remainder)")


def _with_plain(prim, plain, *operands):
    """A multi-output rule's results with the flat outputs (positions ``plain``) as plain arrays."""
    return tuple(innermost(o) if i in plain else o for i, o in enumerate(bind(prim, *operands)))


implements("modf")(lambda x: _with_plain(_modf, (1,), x))
implements("frexp")(lambda x: _with_plain(_frexp, (1,), x))
implements("divmod")(lambda x, y: _with_plain(_divmod, (0,), x, y))


def _clip_rule(primals, tangents):
    (x, lo, hi), (tx, tlo, thi) = primals, tangents
    out = np.clip(x, lo, hi)
    xp, rank = namespace(innermost(out)), np.ndim(out)
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
    xp, rank = namespace(innermost(out)), np.ndim(out)
    zero = xp.zeros((), dtype=out.dtype)
    t = xp.where(cond, zero if tx is None else lift(tx, rank), zero if ty is None else lift(ty, rank))
    return out, fit(t, out.shape)


_where = defprimitive("where", _where_rule, family="elementwise", kind="elementwise", numpy=("np.where",),
                      complex=True)


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


# ----- piecewise constant and integer-valued ufuncs: plain arrays (queries.py has the comparisons) -----
plain_result("piecewise constant (zero derivative)", np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
             np.heaviside, np.spacing, np.nextafter, np.round, np.around)
plain_result("integers or booleans (bitwise)", np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
             np.left_shift, np.right_shift, np.gcd, np.lcm, np.isnat,
             *((np.bitwise_count,) if hasattr(np, "bitwise_count") else ()))
floor, ceil, rint, trunc, floor_divide = (NUMPY_UFUNCS[name] for name in ("floor", "ceil", "rint", "trunc",
                                                                          "floor_divide"))
