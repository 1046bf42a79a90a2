"""Rules for the ufuncs of ``scipy.special`` (error function, gamma family, Bessel functions, orthogonal
polynomials, elliptic integrals, Box-Cox transforms, distribution functions, ...).

scipy.special's ufuncs reach a Dual through ``__array_ufunc__``, which finds these rules under
``"scipy.special.<name>"`` (so a SciPy ufunc named like a NumPy one never gets NumPy's rule). SciPy is
imported only when a rule runs: ``backend.special(xp)`` is ``scipy.special`` for NumPy data and
``cupyx.scipy.special`` for CuPy data.

Every derivative is written with functions that have rules themselves, so derivatives of any order follow
by nesting: erf' = 2/√π e^{−x²}, gammaln' = ψ, ψ' = ψ⁽¹⁾ = ζ(2, ·) (Hurwitz zeta), ∂_q ζ(s, q) = −s ζ(s+1, q),
J_v' = (J_{v−1} − J_{v+1})/2, Ai'' = x Ai, and for the orthogonal polynomials (eval_legendre, eval_jacobi, ...)
P_n' = C_{n−1}^(3/2), T_n' = n U_{n−1}, C_n^(α)' = 2α C_{n−1}^(α+1): the same family one degree lower (at a
non-integer degree too, which SciPy evaluates through hypergeometric functions). Where SciPy has no closed form
for a derivative (the order v of a Bessel function, the exponent s of zeta, the degree and parameters of an
orthogonal polynomial, the parameters of gammainc, betainc and the hypergeometric functions) a tangent on that
operand raises ``MissingRuleError``; hold it constant. Piecewise-constant functions
(gammasgn, round) return plain arrays. ``polygamma`` and ``multigammaln`` are Python functions in SciPy that
convert their input with ``np.asarray`` and so cannot take a Dual: use ``dg.polygamma``, ``dg.multigammaln``.

Near removable singularities (exprel' at 0, spence' at 1, Si' and Shi' at 0, K', E' and the m-derivatives of the
incomplete elliptic integrals at m = 0, the λ-derivatives of the Box-Cox transforms at λ = 0, the slopes
(1 − J₀(x))/x, (I₀(x) − 1)/x, H₀(x)/x of it2j0y0, it2i0k0, it2struve0 at x = 0) the derivative is a
power series on a small interval, so its own derivatives stay exact there too. Complex functions (hankel1, wofz,
...) take the derivative of SciPy's holomorphic function; the Voigt profile's derivatives go through wofz.

Registration: ``unary`` (one operand, slope from x and the output), ``nary`` (a partial per operand),
``in_last`` (differentiable in the last operand only), ``multi_output`` (sici, airy, ...), ``plain``.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import namespace, special
from ..errors import MissingRuleError
from ..registry import bind, defprimitive, implements
from ._util import add_terms, fit, innermost, lift, select, sequence_as_array
from .queries import PLAIN_RESULTS

SQRT_PI = math.sqrt(math.pi)
LN2, LN10 = math.log(2.0), math.log(10.0)
SQRT_2PI = math.sqrt(2 * math.pi)


def _sp(*operands):
    """scipy.special, or cupyx.scipy.special for CuPy data."""
    return special(namespace(*operands))


def _series(x, coefficients):
    """Σ c_n xⁿ by Horner's rule (a polynomial: its tangent is exact at every order)."""
    acc = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        acc = acc * x + c
    return acc


def _no_closed_form(name, arg):
    return MissingRuleError(
        f"scipy.special.{name}: SciPy has no closed form for the derivative with respect to {arg}, so dualgrad has "
        f"no rule for a tangent on it; hold {arg} constant (a plain array, or a Dual outside this derivative).")


def unary(name, derivative, *, note="", numpy=None, complex=False):
    """Register ``scipy.special.<name>``: tangent ``derivative(sp, x, y) · t`` with y = f(x).

    ``numpy``: the entry points listed in the table (default: ``scipy.special.<name>``); ``complex``: the function
    is holomorphic and SciPy evaluates it (and ``derivative``) on complex input.
    """
    def rule(primals, tangents):
        (x,), (t,) = map(sequence_as_array, primals), tangents
        sp = _sp(x)
        y = getattr(sp, name)(x)
        return y, None if t is None else t * derivative(sp, x, y)

    prim = defprimitive(f"special.{name}", rule, family="special", kind="elementwise",
                        numpy=numpy or (f"scipy.special.{name}",), note=note, complex=complex)

    def fn(x):
        return bind(prim, x)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``scipy.special.{name}`` on Duals or arrays (rule table entry 'special.{name}')."
    implements(f"scipy.special.{name}")(fn)
    return fn


def nary(name, *partials, args, note="", ufunc=None, numpy=None, complex=False):
    """Register ``scipy.special.<name>(*operands)``; ``partials[i](sp, *operands, out)`` is ∂out/∂operand i, or
    None where SciPy has no closed form (a tangent on that operand raises ``MissingRuleError``).

    ``args`` names the operands for that message; ``ufunc``: the name of the ufunc that reaches the Dual when it
    differs from ``name`` (SciPy's Python function ``zeta`` calls the private ufunc ``_zeta``); ``numpy`` and
    ``complex`` as for ``unary``.
    """

    def rule(primals, tangents):
        primals = [sequence_as_array(x) for x in primals]    # a list operand as NumPy reads it (the partials do math)
        sp = _sp(*primals)
        out = getattr(sp, name)(*primals)
        rank, t = np.ndim(out), None
        for arg, tangent, partial in zip(args, tangents, partials):
            if tangent is None:
                continue
            if partial is None:
                raise _no_closed_form(name, arg)
            t = add_terms(t, lift(tangent, rank) * partial(sp, *primals, out))
        return out, None if t is None else fit(t, np.shape(out))

    prim = defprimitive(f"special.{name}", rule, family="special", kind="elementwise",
                        numpy=numpy or (f"scipy.special.{name}",), note=note, complex=complex)

    def fn(*operands):
        return bind(prim, *operands)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``scipy.special.{name}`` on Duals or arrays (rule table entry 'special.{name}')."
    implements(f"scipy.special.{ufunc or name}")(fn)
    return fn


def in_last(name, slope, *, constants, note="", ufunc=None, numpy=None, complex=False):
    """``nary`` for a function differentiable in its last operand only (``constants`` names the others)."""
    return nary(name, *[None] * len(constants), slope, args=(*constants, "x"), ufunc=ufunc, numpy=numpy,
                complex=complex, note=note or f"derivative in the last operand; {', '.join(constants)} constant")


def multi_output(name, slopes, *, constants=(), note=""):
    """Register ``scipy.special.<name>(*constants, x)`` with several outputs; ``slopes(sp, *operands, outs)`` gives
    each one's slope in x, the last operand (a tangent on one of the ``constants`` raises ``MissingRuleError``)."""
    def rule(primals, tangents):
        operands = [sequence_as_array(x) for x in primals]
        for arg, tangent in zip(constants, tangents):
            if tangent is not None:
                raise _no_closed_form(name, arg)
        sp, t = _sp(*operands), tangents[-1]
        outs = getattr(sp, name)(*operands)
        if t is None:
            return outs, None
        t = lift(t, np.ndim(outs[0]))
        return outs, tuple(fit(t * slope, np.shape(out)) for slope, out in zip(slopes(sp, *operands, outs), outs))

    prim = defprimitive(f"special.{name}", rule, family="special", kind="elementwise",
                        numpy=(f"scipy.special.{name}",), note=note)

    def fn(*operands):
        return bind(prim, *operands)
    fn.__name__ = fn.__qualname__ = name
    implements(f"scipy.special.{name}")(fn)
    return fn


def plain(name, what):
    """Register ``scipy.special.<name>`` as piecewise constant: it runs on the values and returns a plain array."""
    def fn(*operands):
        return getattr(_sp(*map(innermost, operands)), name)(*map(innermost, operands))
    fn.__name__ = fn.__qualname__ = name
    implements(f"scipy.special.{name}")(fn)
    PLAIN_RESULTS[f"scipy.special.{name}"] = what
    return fn


# ----- error function and normal distribution ----------------------------------------------------------
erf = unary("erf", lambda sp, x, y: (2 / SQRT_PI) * np.exp(-x * x), complex=True)
erfc = unary("erfc", lambda sp, x, y: (-2 / SQRT_PI) * np.exp(-x * x), complex=True)
erfi = unary("erfi", lambda sp, x, y: (2 / SQRT_PI) * np.exp(x * x), complex=True)
erfcx = unary("erfcx", lambda sp, x, y: 2 * x * y - 2 / SQRT_PI, note="erfcx = e^{x²} erfc(x)", complex=True)
erfinv = unary("erfinv", lambda sp, x, y: (SQRT_PI / 2) * np.exp(y * y), note="inf at ±1")
erfcinv = unary("erfcinv", lambda sp, x, y: (-SQRT_PI / 2) * np.exp(y * y), note="inf at 0 and 2")
dawsn = unary("dawsn", lambda sp, x, y: 1 - 2 * x * y, complex=True)
ndtr = unary("ndtr", lambda sp, x, y: np.exp(-0.5 * x * x) / SQRT_2PI, complex=True)
log_ndtr = unary("log_ndtr", lambda sp, x, y: np.exp(-0.5 * x * x - y) / SQRT_2PI,
                 note="φ(x)/Φ(x) as exp(−x²/2 − log Φ(x)): no underflow in the left tail", complex=True)
ndtri = unary("ndtri", lambda sp, x, y: SQRT_2PI * np.exp(0.5 * y * y), note="inf at 0 and 1")
ndtri_exp = unary("ndtri_exp", lambda sp, x, y: SQRT_2PI * np.exp(0.5 * y * y + x))

# ----- logistic -------------------------------------------------------------------------------------------
logit = unary("logit", lambda sp, x, y: 1 / (x * (1 - x)))
log_expit = unary("log_expit", lambda sp, x, y: sp.expit(-x), note="slope σ(−x): no cancellation for large x")

# ----- gamma family ---------------------------------------------------------------------------------------
gammaln = unary("gammaln", lambda sp, x, y: sp.psi(x), note="log|Γ(x)|; slope ψ(x)")
loggamma = unary("loggamma", lambda sp, x, y: sp.psi(x), complex=True)
gamma = unary("gamma", lambda sp, x, y: y * sp.psi(x), complex=True)
rgamma = unary("rgamma", lambda sp, x, y: -y * sp.psi(x), note="1/Γ(x)", complex=True)
psi = unary("psi", lambda sp, x, y: sp.zeta(2.0, x), numpy=("scipy.special.psi", "scipy.special.digamma",
                                                            "dg.polygamma(0, x)"),
            note="slope ψ⁽¹⁾(x) = ζ(2, x)")
zeta = in_last("zeta", lambda sp, s, q, out: -s * sp.zeta(s + 1, q), constants=("s",), ufunc="_zeta",
               numpy=("scipy.special.zeta(s, q)", "dg.polygamma(n, x), n ≥ 1"),
               note="Hurwitz zeta: ∂_q = −s ζ(s+1, q); none in s (the Riemann zeta(s) has no rule). "
                    "scipy.special.polygamma cannot take a Dual (np.asarray): use dg.polygamma")
betaln = nary("betaln", lambda sp, a, b, out: sp.psi(a) - sp.psi(a + b),
                lambda sp, a, b, out: sp.psi(b) - sp.psi(a + b), args=("a", "b"))
beta = nary("beta", lambda sp, a, b, out: out * (sp.psi(a) - sp.psi(a + b)),
              lambda sp, a, b, out: out * (sp.psi(b) - sp.psi(a + b)), args=("a", "b"))


def _gammainc_x(sp, a, x, out):
    """∂_x P(a, x) = x^{a−1} e^{−x} / Γ(a), in logs (no overflow of Γ(a) or x^{a−1}; xlogy: x⁰ = 1 at x = 0)."""
    return np.exp(sp.xlogy(a - 1, x) - x - sp.gammaln(a))


gammainc = in_last("gammainc", _gammainc_x, constants=("a",))
gammaincc = in_last("gammaincc", lambda sp, a, x, out: -_gammainc_x(sp, a, x, out), constants=("a",))
gammaincinv = in_last("gammaincinv", lambda sp, a, y, out: 1 / _gammainc_x(sp, a, out, y), constants=("a",),
                      note="x = P⁻¹(a, y): slope 1/∂ₓP(a, x); a constant")
gammainccinv = in_last("gammainccinv", lambda sp, a, y, out: -1 / _gammainc_x(sp, a, out, y), constants=("a",),
                       note="x = Q⁻¹(a, y): slope −1/∂ₓP(a, x); a constant")
poch = nary("poch", lambda sp, z, m, out: out * (sp.psi(z + m) - sp.psi(z)), lambda sp, z, m, out: out * sp.psi(z + m),
            args=("z", "m"), note="Γ(z + m)/Γ(z)")
gammasgn = plain("gammasgn", "the sign of Γ(x) (piecewise constant)")


def _betainc_x(sp, a, b, x, out):
    """∂_x I_x(a, b) = x^{a−1} (1 − x)^{b−1} / B(a, b), in logs (xlogy, xlog1py: x⁰ = 1 at x = 0, 1)."""
    return np.exp(sp.xlogy(a - 1, x) + sp.xlog1py(b - 1, -x) - sp.betaln(a, b))


betainc = in_last("betainc", _betainc_x, constants=("a", "b"))
betaincc = in_last("betaincc", lambda sp, a, b, x, out: -_betainc_x(sp, a, b, x, out), constants=("a", "b"))
betaincinv = in_last("betaincinv", lambda sp, a, b, y, out: 1 / _betainc_x(sp, a, b, out, y), constants=("a", "b"),
                     note="x = I⁻¹(a, b, y): slope 1/∂ₓI; a, b constant")
betainccinv = in_last("betainccinv", lambda sp, a, b, y, out: -1 / _betainc_x(sp, a, b, out, y),
                      constants=("a", "b"), note="slope −1/∂ₓI; a, b constant")


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function, on Duals or arrays.

    ``scipy.special.polygamma`` converts its arguments with ``np.asarray`` and so cannot take a Dual; this
    function computes the same values from the ufuncs it uses: ψ for n = 0 and (−1)ⁿ⁺¹ n! ζ(n+1, x) for n ≥ 1.
    The order ``n`` is a non-negative integer (array); the derivative in x is ψ⁽ⁿ⁺¹⁾(x), to any order. The
    result keeps x's precision (float32 stays float32, where SciPy's polygamma returns float64 for an array n).
    """
    if hasattr(n, "tangent"):
        raise TypeError("polygamma: the order n is an integer; pass a plain int or integer array, not a Dual")
    xp = namespace(n, x)
    n = xp.asarray(n)
    if n.dtype.kind not in "iu" or bool((n < 0).any()):
        raise ValueError(f"polygamma: the order n must hold non-negative integers; got {n!r}")
    sp = _sp(x)
    if n.ndim == 0:
        order = int(n)
        return sp.psi(x) if order == 0 else (-1.0) ** (order + 1) * math.factorial(order) * sp.zeta(order + 1.0, x)
    dtype = np.result_type(x, np.float32)                 # x's precision (float64 for integer x)
    factor = (xp.where(n % 2 == 1, 1.0, -1.0) * sp.gamma(n + 1.0)).astype(dtype)
    return np.where(n == 0, sp.psi(x), factor * sp.zeta(xp.where(n == 0, 2, n + 1).astype(dtype), x))


def multigammaln(a, d):
    """log Γ_d(a), the multivariate log-gamma, on Duals or arrays: d(d−1)/4 log π + Σ_j gammaln(a − j/2).

    ``scipy.special.multigammaln`` converts ``a`` with ``np.asarray`` and so cannot take a Dual; this is the same
    sum of gammaln ufuncs (d a positive integer, a > (d − 1)/2 as SciPy requires).
    """
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError("d should be a positive integer (dimension)")
    if bool(np.any(innermost(a) <= 0.5 * (d - 1))):
        raise ValueError(f"condition a > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    sp = _sp(a)
    total = sp.gammaln(a)
    for j in range(1, d):
        total = total + sp.gammaln(a - 0.5 * j)
    return total + d * (d - 1) * 0.25 * math.log(math.pi)



# ----- distribution functions: derivative in the quantile (probability), the distribution's parameters constant ---
# A degree of freedom or a count appears inside the incomplete gamma/beta parameters, where SciPy has no closed
# form; counts (k, n of the binomial and Poisson functions) are floored by SciPy: piecewise constant, slope 0.
def t_log_density(sp, df, t):
    """log of the density of Student's t with df degrees of freedom at t (also dualgrad.scipy.stats.t's)."""
    return (sp.gammaln(0.5 * (df + 1)) - sp.gammaln(0.5 * df) - 0.5 * np.log(df * math.pi)
            - 0.5 * (df + 1) * np.log1p(t * t / df))


def _t_density(sp, df, t):
    return np.exp(t_log_density(sp, df, t))


def _zero(sp, *operands):
    """The slope of a floored count: zero, broadcast to the output."""
    return 0 * operands[-1]


stdtr = in_last("stdtr", lambda sp, df, t, out: _t_density(sp, df, t), constants=("df",),
                note="Student's t CDF; slope the t density; df constant")
stdtrit = in_last("stdtrit", lambda sp, df, p, out: 1 / _t_density(sp, df, out), constants=("df",),
                  note="t = stdtr⁻¹(df, p): slope 1/density; df constant")
chdtr = in_last("chdtr", lambda sp, v, x, out: 0.5 * _gammainc_x(sp, 0.5 * v, 0.5 * x, out), constants=("v",),
                note="χ² CDF P(v/2, x/2); slope the χ² density; v constant")
chdtrc = in_last("chdtrc", lambda sp, v, x, out: -0.5 * _gammainc_x(sp, 0.5 * v, 0.5 * x, out), constants=("v",),
                 note="χ² survival function; v constant")
chdtri = in_last("chdtri", lambda sp, v, p, out: -2 / _gammainc_x(sp, 0.5 * v, 0.5 * out, p), constants=("v",),
                 note="x = chdtrc⁻¹(v, p): slope −1/density; v constant")
gdtr = nary("gdtr", lambda sp, a, b, x, out: x * _gammainc_x(sp, b, a * x, out), None,
            lambda sp, a, b, x, out: a * _gammainc_x(sp, b, a * x, out), args=("a", "b", "x"),
            note="gamma CDF P(b, a·x): derivative in the rate a and in x; none in the shape b")
gdtrc = nary("gdtrc", lambda sp, a, b, x, out: -x * _gammainc_x(sp, b, a * x, out), None,
             lambda sp, a, b, x, out: -a * _gammainc_x(sp, b, a * x, out), args=("a", "b", "x"),
             note="gamma survival function Q(b, a·x); none in the shape b")
pdtr = nary("pdtr", _zero, lambda sp, k, m, out: -_gammainc_x(sp, np.floor(k) + 1, m, out), args=("k", "m"),
            note="Poisson CDF Q(⌊k⌋ + 1, m): slope −(Poisson pmf at ⌊k⌋) in m; k floored: slope 0")
pdtrc = nary("pdtrc", _zero, lambda sp, k, m, out: _gammainc_x(sp, np.floor(k) + 1, m, out), args=("k", "m"),
             note="Poisson survival function P(⌊k⌋ + 1, m); k floored: slope 0")


def _bdtr_p(sp, k, n, p, out):
    """∂_p bdtr(k, n, p) = −(n − ⌊k⌋) C(n, ⌊k⌋) p^⌊k⌋ (1 − p)^(n−⌊k⌋−1): −(the Beta density of I_{1−p}(n − k, k + 1));
    0 where ⌊k⌋ ≥ n (the CDF is 1 there)."""
    k = np.floor(k)
    inside = k < n
    a = select(inside, n - k, 1.0)
    return select(inside, -_betainc_x(sp, a, k + 1, 1 - p, out), 0 * p)


bdtr = nary("bdtr", _zero, None, _bdtr_p, args=("k", "n", "p"),
            note="binomial CDF I_{1−p}(n − ⌊k⌋, ⌊k⌋ + 1): derivative in p; k floored (slope 0); none in n")
bdtrc = nary("bdtrc", _zero, None, lambda sp, k, n, p, out: -_bdtr_p(sp, k, n, p, out), args=("k", "n", "p"),
             note="binomial survival function; derivative in p; k floored (slope 0); none in n")

# ----- exponential integrals and relatives ------------------------------------------------------------------
expi = unary("expi", lambda sp, x, y: np.exp(x) / x, complex=True)
exp1 = unary("exp1", lambda sp, x, y: -np.exp(-x) / x, complex=True)


def _expn_slope(sp, n, x, out):
    """E_n' = −E_{n−1} for n >= 1; E_0(x) = e^{−x}/x, so E_0' = −e^{−x}(1 + x)/x²."""
    first = n == 0
    return select(first, -np.exp(-x) * (1 + x) / (x * x), -sp.expn(select(first, 1, n) - 1, x))


expn = in_last("expn", _expn_slope, constants=("n",))

#: sin(x)/x and sinh(x)/x = Σ (∓1)ᵏ x²ᵏ/(2k+1)! for |x| < 1/2 (9 terms: below 1e-17 there).
SINC_SERIES = [(-1) ** (k // 2) / math.factorial(k + 1) if k % 2 == 0 else 0.0 for k in range(18)]
SINHC_SERIES = [abs(c) for c in SINC_SERIES]


def _over_x(f, x, series):
    """f(x)/x, by its power series near the removable singularity at 0."""
    small = abs(x) < 0.5
    safe = np.where(small, 1.0, x)
    return np.where(small, _series(x, series), f(safe) / safe)


sici = multi_output("sici", lambda sp, x, outs: (_over_x(np.sin, x, SINC_SERIES), np.cos(x) / x),
                    note="(Si, Ci): slopes sin(x)/x (its series near 0) and cos(x)/x")
shichi = multi_output("shichi", lambda sp, x, outs: (_over_x(np.sinh, x, SINHC_SERIES), np.cosh(x) / x),
                      note="(Shi, Chi): slopes sinh(x)/x (its series near 0) and cosh(x)/x")
fresnel = multi_output("fresnel", lambda sp, x, outs: (np.sin(0.5 * math.pi * x * x), np.cos(0.5 * math.pi * x * x)),
                       note="(S, C): slopes sin(πx²/2), cos(πx²/2)")
airy = multi_output("airy", lambda sp, x, outs: (outs[1], x * outs[0], outs[3], x * outs[2]),
                    note="(Ai, Ai', Bi, Bi'): Ai'' = x Ai, Bi'' = x Bi")
wrightomega = unary("wrightomega", lambda sp, x, y: y / (1 + y), note="ω' = ω/(1 + ω)", complex=True)

#: exprel'(x) = Σ_{n≥1} n xⁿ⁻¹/(n+1)! for |x| < 1/2 (15 terms: below 1e-17 there).
EXPREL_SLOPE_SERIES = [n / math.factorial(n + 1) for n in range(1, 17)]


def _exprel_slope(sp, x, y):
    """exprel'(x) = (eˣ(x − 1) + 1)/x², by its series near 0 where that formula cancels."""
    small = abs(x) < 0.5
    safe = np.where(small, 1.0, x)
    return np.where(small, _series(x, EXPREL_SLOPE_SERIES), (np.exp(safe) * (safe - 1) + 1) / (safe * safe))


exprel = unary("exprel", _exprel_slope, note="(eˣ − 1)/x; slope by its power series for |x| < 1/2")

#: −log(1 − u)/u = Σ uⁿ/(n+1) for |u| < 0.1 (16 terms: below 1e-17 there).
LOG_RATIO_SERIES = [1 / (n + 1) for n in range(16)]


def _spence_slope(sp, x, y):
    """spence'(x) = log(x)/(1 − x) (SciPy's spence(x) = ∫₁ˣ log t/(1 − t) dt); −Σ uⁿ/(n+1) with u = 1 − x near 1."""
    u = 1 - x
    near = abs(u) < 0.1
    safe = np.where(near, 0.5, x)
    return np.where(near, -_series(u, LOG_RATIO_SERIES), np.log(safe) / (1 - safe))


spence = unary("spence", _spence_slope, note="slope log(x)/(1 − x); its power series near x = 1", complex=True)

# ----- information theory and robust losses -----------------------------------------------------------------
entr = unary("entr", lambda sp, x, y: -(np.log(x) + 1), note="−x log x; slope +inf at 0 (mathematics)")


def _zero_where_x_zero(x, value):
    """``value`` with 0 where x = 0: ∂/∂y of x·g(y) at x = 0, even where g'(y) is infinite (xlogy(0, 0) = 0)."""
    return np.where(x == 0, 0.0, value)


xlogy = nary("xlogy", lambda sp, x, y, out: np.log(y),
               lambda sp, x, y, out: _zero_where_x_zero(x, x / np.where(x == 0, 1.0, y)),
               args=("x", "y"), note="∂y is 0 where x = 0 (also at y = 0, as xlogy(0, y) = 0)", complex=True)
xlog1py = nary("xlog1py", lambda sp, x, y, out: np.log1p(y),
                 lambda sp, x, y, out: _zero_where_x_zero(x, x / np.where(x == 0, 1.0, 1 + y)),
                 args=("x", "y"), note="∂y is 0 where x = 0", complex=True)
rel_entr = nary("rel_entr", lambda sp, x, y, out: np.log(x / y) + 1,
                  lambda sp, x, y, out: _zero_where_x_zero(x, -x / np.where(x == 0, 1.0, y)),
                  args=("x", "y"), note="x log(x/y) for x, y > 0; ∂y is 0 where x = 0")
kl_div = nary("kl_div", lambda sp, x, y, out: np.log(x / y), lambda sp, x, y, out: 1 - x / y,
                args=("x", "y"), note="x log(x/y) − x + y for x, y > 0")
huber = nary("huber", lambda sp, d, r, out: np.where(abs(r) <= d, 0.0, abs(r) - d),
               lambda sp, d, r, out: np.where(abs(r) <= d, r, d * np.sign(r)), args=("delta", "r"),
               note="C¹: the branches meet at |r| = delta")


def _pseudo_huber_parts(d, r):
    """q = (r/δ)² and s = √(1 + q): pseudo_huber = δ² q/(1 + s) (no cancellation in s − 1)."""
    q = (r / d) ** 2
    return q, np.sqrt(1 + q)


def _pseudo_huber_delta(sp, d, r, out):
    q, s = _pseudo_huber_parts(d, r)
    return d * q * q / ((1 + s) * (1 + s) * s)                 # δ (s − 1)² / s


def _pseudo_huber_r(sp, d, r, out):
    return r / _pseudo_huber_parts(d, r)[1]


pseudo_huber = nary("pseudo_huber", _pseudo_huber_delta, _pseudo_huber_r, args=("delta", "r"),
                      note="delta > 0")

# ----- hypergeometric functions: derivative in the argument, the parameters constant -----------------------------
hyp0f1 = in_last("hyp0f1", lambda sp, v, z, out: sp.hyp0f1(v + 1, z) / v, constants=("v",))
hyp1f1 = in_last("hyp1f1", lambda sp, a, b, x, out: (a / b) * sp.hyp1f1(a + 1, b + 1, x), constants=("a", "b"))
hyp2f1 = in_last("hyp2f1", lambda sp, a, b, c, z, out: (a * b / c) * sp.hyp2f1(a + 1, b + 1, c + 1, z),
                 constants=("a", "b", "c"))

# ----- Owen's T, degrees, and SciPy's own elementary functions ----------------------------------------------------
owens_t = nary("owens_t", lambda sp, h, a, out: -np.exp(-0.5 * h * h) / SQRT_2PI * 0.5 * sp.erf(a * h / math.sqrt(2)),
               lambda sp, h, a, out: np.exp(-0.5 * h * h * (1 + a * a)) / (2 * math.pi * (1 + a * a)),
               args=("h", "a"))
DEGREE = math.pi / 180
sindg = unary("sindg", lambda sp, x, y: DEGREE * sp.cosdg(x), note="sine of x degrees")
cosdg = unary("cosdg", lambda sp, x, y: -DEGREE * sp.sindg(x))
tandg = unary("tandg", lambda sp, x, y: DEGREE * (1 + y * y))
cotdg = unary("cotdg", lambda sp, x, y: -DEGREE * (1 + y * y))
radian = nary("radian", lambda sp, d, m, s, out: DEGREE, lambda sp, d, m, s, out: DEGREE / 60,
              lambda sp, d, m, s, out: DEGREE / 3600, args=("d", "m", "s"),
              note="degrees, minutes, seconds to radians: linear")
# SciPy's own versions of NumPy's ufuncs (a SciPy ufunc never gets NumPy's rule: the keys differ)
unary("cbrt", lambda sp, x, y: 1 / (3 * y * y))
unary("exp2", lambda sp, x, y: LN2 * y)
unary("expm1", lambda sp, x, y: y + 1)
unary("log1p", lambda sp, x, y: 1 / (1 + x))
plain("round", "the nearest integer (piecewise constant)")
exp10 = unary("exp10", lambda sp, x, y: LN10 * y)
cosm1 = unary("cosm1", lambda sp, x, y: -np.sin(x), note="cos(x) − 1, accurate near 0")
powm1 = nary("powm1", lambda sp, x, y, out: y * x ** (y - 1), lambda sp, x, y, out: (out + 1) * np.log(x),
             args=("x", "y"), note="x^y − 1, accurate near y = 0; x > 0 for the y-derivative")


# ----- Bessel functions of integer order ------------------------------------------------------------------
i0 = unary("i0", lambda sp, x, y: sp.i1(x))
i1 = unary("i1", lambda sp, x, y: 0.5 * (sp.i0(x) + sp.iv(2, x)))
i0e = unary("i0e", lambda sp, x, y: sp.i1e(x) - np.sign(x) * y,
            note="e^{−|x|} I₀(x): at the kink x = 0 the slope is 0, the mean of the one-sided slopes")
i1e = unary("i1e", lambda sp, x, y: 0.5 * (sp.i0e(x) + sp.ive(2, x)) - np.sign(x) * y)
k0 = unary("k0", lambda sp, x, y: -sp.k1(x))
k1 = unary("k1", lambda sp, x, y: -0.5 * (sp.k0(x) + sp.kv(2, x)))
k0e = unary("k0e", lambda sp, x, y: y - sp.k1e(x))
k1e = unary("k1e", lambda sp, x, y: y - 0.5 * (sp.k0e(x) + sp.kve(2, x)))
j0 = unary("j0", lambda sp, x, y: -sp.j1(x))
j1 = unary("j1", lambda sp, x, y: 0.5 * (sp.j0(x) - sp.jv(2, x)))
y0 = unary("y0", lambda sp, x, y: -sp.y1(x))
y1 = unary("y1", lambda sp, x, y: 0.5 * (sp.y0(x) - sp.yv(2, x)))


# ----- Bessel functions of any order v: derivative in x, the order is constant ---------------------------------
def _bessel(name, slope, note="", complex=True):
    return in_last(name, slope, constants=("the order v",), complex=complex,
                   note=note or "derivative in x; the order v is constant")


jv = _bessel("jv", lambda sp, v, x, out: 0.5 * (sp.jv(v - 1, x) - sp.jv(v + 1, x)))
yv = _bessel("yv", lambda sp, v, x, out: 0.5 * (sp.yv(v - 1, x) - sp.yv(v + 1, x)))
iv = _bessel("iv", lambda sp, v, x, out: 0.5 * (sp.iv(v - 1, x) + sp.iv(v + 1, x)))
kv = _bessel("kv", lambda sp, v, x, out: -0.5 * (sp.kv(v - 1, x) + sp.kv(v + 1, x)))
jve = _bessel("jve", lambda sp, v, x, out: 0.5 * (sp.jve(v - 1, x) - sp.jve(v + 1, x)),
              note="real x (there jve = jv); the order v is constant", complex=False)
yve = _bessel("yve", lambda sp, v, x, out: 0.5 * (sp.yve(v - 1, x) - sp.yve(v + 1, x)),
              note="real x (there yve = yv); the order v is constant", complex=False)
ive = _bessel("ive", lambda sp, v, x, out: 0.5 * (sp.ive(v - 1, x) + sp.ive(v + 1, x)) - np.sign(x) * out,
              note="e^{−|x|} I_v(x); slope 0 at the kink x = 0 as for i0e; the order v is constant", complex=False)
yn = _bessel("yn", lambda sp, n, x, out: 0.5 * (sp.yn(n - 1, x) - sp.yn(n + 1, x)), note="integer order n constant")
kn = _bessel("kn", lambda sp, n, x, out: -0.5 * (sp.kn(n - 1, x) + sp.kn(n + 1, x)), note="integer order n constant")
struve = _bessel("struve", lambda sp, v, x, out: sp.struve(v - 1, x) - (v / x) * out,
                 note="H_v' = H_{v−1} − (v/x) H_v (x ≠ 0); the order v is constant", complex=False)
modstruve = _bessel("modstruve", lambda sp, v, x, out: sp.modstruve(v - 1, x) - (v / x) * out,
                    note="L_v' = L_{v−1} − (v/x) L_v (x ≠ 0); the order v is constant", complex=False)
kve = _bessel("kve", lambda sp, v, x, out: out - 0.5 * (sp.kve(v - 1, x) + sp.kve(v + 1, x)))


# ----- orthogonal polynomials: derivative in x; the degree n (and α, β, p, q) constant ------------------------------
# For a degree that is not an integer SciPy evaluates through the hypergeometric function (P_ν(x) = ₂F₁(−ν, ν + 1;
# 1; (1 − x)/2), C_ν^(α), P_ν^(α,β), L_ν^(α) likewise); the identities below hold for those as well. SciPy's
# negative integer degrees: P_{−n−1} = P_n, T_{−n} = T_n, U_{−1} = 0, U_{−n−2} = −U_n; C_n^(α), L_n^(α) are 0.
def _polynomial(name, slope, note, *, parameters=(), complex=True):
    return in_last(name, slope, constants=("the degree n", *parameters), complex=complex, note=note)


def _not_at_degree_zero(n, slope):
    """``slope`` with 0 where the degree n is 0 (a constant; the formula's degree −1 factor may be nan there)."""
    return select(n == 0, 0, slope)


def _legendre_slope(sp, n, x):
    """P_n' = C_{n−1}^(3/2) (no 1/(x² − 1) singularity at ±1); a negative degree through P_{−n−1} = P_n."""
    m = select(n < 0, -n - 1, n)
    return _not_at_degree_zero(m, sp.eval_gegenbauer(m - 1, 1.5, x))


def _chebyu_slope(sp, n, x):
    """U_n' = 2 C_{n−1}^(2) (as U_n = C_n^(1)); a degree below −1 through U_n = −U_{−n−2}; U_{−1} = 0."""
    reflect = n < -1
    m = select(reflect, -n - 2, n)
    return select((m == 0) | (m == -1), 0, select(reflect, -2, 2) * sp.eval_gegenbauer(m - 1, 2.0, x))


eval_legendre = _polynomial("eval_legendre", lambda sp, n, x, out: _legendre_slope(sp, n, x),
                            note="P_n' = C_{n−1}^(3/2) (Gegenbauer: no singularity at ±1); n constant")
eval_sh_legendre = _polynomial("eval_sh_legendre", lambda sp, n, x, out: 2 * _legendre_slope(sp, n, 2 * x - 1),
                               note="P_n(2x − 1): slope 2 C_{n−1}^(3/2)(2x − 1); n constant")
eval_chebyt = _polynomial("eval_chebyt", lambda sp, n, x, out: _not_at_degree_zero(n, n * sp.eval_chebyu(n - 1, x)),
                          note="T_n' = n U_{n−1}; n constant")
eval_chebyu = _polynomial("eval_chebyu", lambda sp, n, x, out: _chebyu_slope(sp, n, x),
                          note="U_n' = 2 C_{n−1}^(2); n constant")
eval_chebyc = _polynomial("eval_chebyc",
                          lambda sp, n, x, out: _not_at_degree_zero(n, n * sp.eval_chebys(n - 1, x)),
                          note="C_n(x) = 2 T_n(x/2): C_n' = n S_{n−1}; n constant")
eval_chebys = _polynomial("eval_chebys", lambda sp, n, x, out: 0.5 * _chebyu_slope(sp, n, 0.5 * x),
                          note="S_n(x) = U_n(x/2): S_n' = C_{n−1}^(2)(x/2); n constant")
eval_sh_chebyt = _polynomial("eval_sh_chebyt",
                             lambda sp, n, x, out: _not_at_degree_zero(n, 2 * n * sp.eval_sh_chebyu(n - 1, x)),
                             note="T_n(2x − 1): slope 2n U_{n−1}(2x − 1); n constant")
eval_sh_chebyu = _polynomial("eval_sh_chebyu", lambda sp, n, x, out: 2 * _chebyu_slope(sp, n, 2 * x - 1),
                             note="U_n(2x − 1): slope 4 C_{n−1}^(2)(2x − 1); n constant")
eval_gegenbauer = _polynomial(
    "eval_gegenbauer",
    lambda sp, n, a, x, out: _not_at_degree_zero(n, 2 * a * sp.eval_gegenbauer(n - 1, a + 1, x)),
    parameters=("alpha",), note="C_n^(α)' = 2α C_{n−1}^(α+1); n, α constant")
eval_jacobi = _polynomial(
    "eval_jacobi",
    lambda sp, n, a, b, x, out: _not_at_degree_zero(n, 0.5 * (n + a + b + 1) * sp.eval_jacobi(n - 1, a + 1, b + 1, x)),
    parameters=("alpha", "beta"), note="P_n^(α,β)' = (n + α + β + 1)/2 · P_{n−1}^(α+1,β+1); n, α, β constant")
eval_sh_jacobi = _polynomial(
    "eval_sh_jacobi",
    lambda sp, n, p, q, x, out: _not_at_degree_zero(n, n * sp.eval_sh_jacobi(n - 1, p + 2, q + 1, x)),
    parameters=("p", "q"), note="G_n^(p,q)' = n G_{n−1}^(p+2,q+1) (SciPy's normalisation); n, p, q constant")
eval_genlaguerre = _polynomial(
    "eval_genlaguerre", lambda sp, n, a, x, out: _not_at_degree_zero(n, -sp.eval_genlaguerre(n - 1, a + 1, x)),
    parameters=("alpha",), note="L_n^(α)' = −L_{n−1}^(α+1); n, α constant")
eval_laguerre = _polynomial("eval_laguerre",
                            lambda sp, n, x, out: _not_at_degree_zero(n, -sp.eval_genlaguerre(n - 1, 1.0, x)),
                            note="L_n' = −L_{n−1}^(1); n constant")


def _below(n):
    """The degree n − 1, and 0 where n = 0 (SciPy's Hermite polynomials are nan at a negative degree)."""
    return select(n == 0, 1, n) - 1


eval_hermite = _polynomial("eval_hermite",
                           lambda sp, n, x, out: _not_at_degree_zero(n, 2 * n * sp.eval_hermite(_below(n), x)),
                           note="H_n' = 2n H_{n−1}; integer n (as SciPy) constant", complex=False)
eval_hermitenorm = _polynomial("eval_hermitenorm",
                               lambda sp, n, x, out: _not_at_degree_zero(n, n * sp.eval_hermitenorm(_below(n), x)),
                               note="He_n' = n He_{n−1}; integer n (as SciPy) constant", complex=False)


# ----- Box-Cox transforms: derivatives in x and in λ ----------------------------------------------------------------
# boxcox(x, λ) = (x^λ − 1)/λ = L · exprel(λL) with L = log x (log x at λ = 0): ∂λ = L² exprel'(λL), which is exact
# at and near λ = 0 (exprel' by its series there); boxcox1p likewise with L = log1p(x).
# inv_boxcox(y, λ) = (1 + λy)^(1/λ) = exp(log1p(λy)/λ) (e^y at λ = 0): ∂λ = out · y² h(λy) with
# h(v) = (v/(1 + v) − log1p(v))/v², by its series −1/2 + 2v/3 − 3v²/4 + ... for |v| < 0.1.
def _boxcox_lambda(lam, log_x):
    """∂λ of (e^{λL} − 1)/λ: L² exprel'(λL)."""
    return log_x * log_x * _exprel_slope(None, lam * log_x, None)


def _near_zero(u, series, formula):
    """``series(u)`` where |u| < 0.1, ``formula(u)`` elsewhere (each called on safe values only: 0.5 in place of
    the small u for the formula, 0 in place of the others for the series)."""
    small = abs(u) < 0.1
    return np.where(small, series(np.where(small, u, 0.0)), formula(np.where(small, 0.5, u)))


#: h(v) = Σ_{j≥0} (−1)^{j+1} (j+1)/(j+2) vʲ for |v| < 0.1 (18 terms: below 1e-17 there).
INV_BOXCOX_SERIES = [(-1) ** (j + 1) * (j + 1) / (j + 2) for j in range(18)]


def _inv_boxcox_h(v):
    """h(v) = (v/(1 + v) − log1p(v))/v², by its power series for |v| < 0.1 where that formula cancels."""
    return _near_zero(v, lambda v: _series(v, INV_BOXCOX_SERIES), lambda v: (v / (1 + v) - np.log1p(v)) / (v * v))


boxcox = nary("boxcox", lambda sp, x, lam, out: x ** (lam - 1),
              lambda sp, x, lam, out: _boxcox_lambda(lam, np.log(x)), args=("x", "lmbda"),
              note="(x^λ − 1)/λ, log x at λ = 0: ∂x = x^(λ−1), ∂λ = (log x)² exprel'(λ log x) (exact at λ = 0)")
boxcox1p = nary("boxcox1p", lambda sp, x, lam, out: (1 + x) ** (lam - 1),
                lambda sp, x, lam, out: _boxcox_lambda(lam, np.log1p(x)), args=("x", "lmbda"),
                note="((1 + x)^λ − 1)/λ: ∂x = (1 + x)^(λ−1), ∂λ = log1p(x)² exprel'(λ log1p(x)) (exact at λ = 0)")
inv_boxcox = nary("inv_boxcox", lambda sp, y, lam, out: out / (1 + lam * y),
                  lambda sp, y, lam, out: out * y * y * _inv_boxcox_h(lam * y), args=("y", "lmbda"),
                  note="(1 + λy)^(1/λ), e^y at λ = 0: ∂y = out/(1 + λy), ∂λ = out · y² h(λy) (a series near λy = 0)")
inv_boxcox1p = nary("inv_boxcox1p", lambda sp, y, lam, out: (out + 1) / (1 + lam * y),
                    lambda sp, y, lam, out: (out + 1) * y * y * _inv_boxcox_h(lam * y), args=("y", "lmbda"),
                    note="(1 + λy)^(1/λ) − 1: ∂y = (out + 1)/(1 + λy), ∂λ = (out + 1) y² h(λy)")


# ----- elliptic integrals ------------------------------------------------------------------------------------------
# K(m) = π/2 Σ aₙ² mⁿ and E(m) = π/2 Σ aₙ² mⁿ/(1 − 2n) with aₙ = C(2n, n)/4ⁿ; K' = (E − (1 − m)K)/(2m(1 − m)),
# E' = (E − K)/(2m), removable at m = 0: there (|m| < 0.1) the differentiated series.
ELLIPTIC_A = [math.comb(2 * n, n) / 4 ** n for n in range(20)]
ELLIPK_SLOPE_SERIES = [0.5 * math.pi * n * ELLIPTIC_A[n] ** 2 for n in range(1, 20)]
ELLIPE_SLOPE_SERIES = [0.5 * math.pi * n * ELLIPTIC_A[n] ** 2 / (1 - 2 * n) for n in range(1, 20)]


def _ellipk_slope(sp, m, p, k):
    """K'(m) = (E − pK)/(2mp), p = 1 − m given separately (ellipkm1 holds it exactly), K = K(m)."""
    return _near_zero(m, lambda m: _series(m, ELLIPK_SLOPE_SERIES), lambda m: (sp.ellipe(m) - p * k) / (2 * m * p))


ellipk = unary("ellipk", lambda sp, m, y: _ellipk_slope(sp, m, 1 - m, y),
               note="K' = (E − (1 − m)K)/(2m(1 − m)); its series near m = 0")
ellipkm1 = unary("ellipkm1", lambda sp, p, y: -_ellipk_slope(sp, 1 - p, p, y),
                 note="K(1 − p): slope −K'(1 − p), written with p (exact as p → 0)")
ellipe = unary("ellipe", lambda sp, m, y: _near_zero(m, lambda m: _series(m, ELLIPE_SLOPE_SERIES),
                                                     lambda m: (y - sp.ellipk(m)) / (2 * m)),
               note="E' = (E − K)/(2m); its series near m = 0")

# Incomplete integrals F(φ|m), E(φ|m), Δ = √(1 − m sin²φ): ∂φF = 1/Δ, ∂φE = Δ;
# ∂mF = E/(2m(1 − m)) − F/(2m) − sin 2φ/(4(1 − m)Δ), ∂mE = (E − F)/(2m), removable at m = 0: there (|m| < 0.1) the
# series F = Σ aₙ mⁿ Iₙ(φ), E = Σ aₙ mⁿ Iₙ(φ)/(1 − 2n) with Iₙ = ∫₀^φ sin²ⁿ θ dθ (by recurrence), differentiated.
ELLIPTIC_TERMS = 19


def _incomplete_series(phi, m, coefficient):
    """Σ_{n≥1} n · coefficient(n) · mⁿ⁻¹ Iₙ(φ), Iₙ = ((2n − 1) Iₙ₋₁ − sin²ⁿ⁻¹φ cos φ)/(2n), I₀ = φ."""
    s, c = np.sin(phi), np.cos(phi)
    integral, odd_power, total, power = phi, s, 0, 1
    for n in range(1, ELLIPTIC_TERMS + 1):
        integral = ((2 * n - 1) * integral - odd_power * c) / (2 * n)
        total = total + (n * coefficient(n)) * power * integral
        odd_power, power = odd_power * s * s, power * m
    return total


def _ellipkinc_m(sp, phi, m, out):
    def formula(m):
        delta = np.sqrt(1 - m * np.sin(phi) ** 2)
        return (sp.ellipeinc(phi, m) / (2 * m * (1 - m)) - sp.ellipkinc(phi, m) / (2 * m)
                - np.sin(2 * phi) / (4 * (1 - m) * delta))
    return _near_zero(m, lambda m: _incomplete_series(phi, m, lambda n: ELLIPTIC_A[n]), formula)


def _ellipeinc_m(sp, phi, m, out):
    return _near_zero(m, lambda m: _incomplete_series(phi, m, lambda n: ELLIPTIC_A[n] / (1 - 2 * n)),
                      lambda m: (sp.ellipeinc(phi, m) - sp.ellipkinc(phi, m)) / (2 * m))


ellipkinc = nary("ellipkinc", lambda sp, phi, m, out: 1 / np.sqrt(1 - m * np.sin(phi) ** 2), _ellipkinc_m,
                 args=("phi", "m"), note="F(φ|m): ∂φ = 1/√(1 − m sin²φ); ∂m through E(φ|m) and F (series near m = 0)")
ellipeinc = nary("ellipeinc", lambda sp, phi, m, out: np.sqrt(1 - m * np.sin(phi) ** 2), _ellipeinc_m,
                 args=("phi", "m"), note="E(φ|m): ∂φ = √(1 − m sin²φ); ∂m = (E − F)/(2m) (series near m = 0)")


# ----- Hankel functions (complex): derivative in z, the order v constant ---------------------------------------------
# H_v' = (H_{v−1} − H_{v+1})/2; the scaled hankel1e = H⁽¹⁾ e^{−iz}, hankel2e = H⁽²⁾ e^{iz} add ∓i times themselves.
hankel1 = _bessel("hankel1", lambda sp, v, z, out: 0.5 * (sp.hankel1(v - 1, z) - sp.hankel1(v + 1, z)))
hankel2 = _bessel("hankel2", lambda sp, v, z, out: 0.5 * (sp.hankel2(v - 1, z) - sp.hankel2(v + 1, z)))
hankel1e = _bessel("hankel1e", lambda sp, v, z, out: 0.5 * (sp.hankel1e(v - 1, z) - sp.hankel1e(v + 1, z)) - 1j * out,
                   note="H⁽¹⁾_v(z) e^{−iz}; the order v is constant")
hankel2e = _bessel("hankel2e", lambda sp, v, z, out: 0.5 * (sp.hankel2e(v - 1, z) - sp.hankel2e(v + 1, z)) + 1j * out,
                   note="H⁽²⁾_v(z) e^{iz}; the order v is constant")

# ----- Faddeeva function and the Voigt profile ----------------------------------------------------------------------
wofz = unary("wofz", lambda sp, z, w: 2j / SQRT_PI - 2 * z * w, note="w(z) = e^{−z²} erfc(−iz): w' = −2z w + 2i/√π",
             complex=True)


def _voigt_parts(sp, x, sigma, gamma):
    """z = (x + iγ)/(σ√2) and z·w(z): SciPy's voigt_profile is Re w(z)/(σ√(2π)) for σ ≠ 0."""
    z = (x + 1j * gamma) / (sigma * math.sqrt(2))
    return z, z * sp.wofz(z)


def _lorentz(x, gamma, lorentz):
    """x² + γ² and π(x² + γ²)²: the pieces of the Lorentzian profile's slopes (SciPy's value at σ = 0); 1 where
    ``lorentz`` is False (there the other branch is taken: no 0/0 at x = γ = 0)."""
    r = select(lorentz, x * x + gamma * gamma, 1)
    return r, math.pi * r * r


def _voigt_x(sp, x, sigma, gamma, out):
    """∂x = −Re(z w(z))/(σ²√π); at σ = 0 the Lorentzian's −2γx/(π(x² + γ²)²)."""
    lorentz, s = sigma == 0, select(sigma == 0, 1, sigma)
    return select(lorentz, -2 * gamma * x / _lorentz(x, gamma, lorentz)[1],
                  -np.real(_voigt_parts(sp, x, s, gamma)[1]) / (s * s * SQRT_PI))


def _voigt_sigma(sp, x, sigma, gamma, out):
    """∂σ = −V/σ + (2 Re(z² w(z)) + 2γ/(σ√(2π)))/(σ²√(2π)); at σ = 0 the right derivative 0 (V = L + σ²L''/2 + ...
    for σ > 0; SciPy's formula at σ < 0 is not the Voigt profile)."""
    lorentz, s = sigma == 0, select(sigma == 0, 1, sigma)
    z, zw = _voigt_parts(sp, x, s, gamma)
    return select(lorentz, 0 * out, -out / s + (2 * np.real(z * zw) + 2 * gamma / (s * SQRT_2PI)) / (s * s * SQRT_2PI))


def _voigt_gamma(sp, x, sigma, gamma, out):
    """∂γ = (Im(z w(z)) − 1/√π)/(σ²√π); at σ = 0 the Lorentzian's (x² − γ²)/(π(x² + γ²)²)."""
    lorentz, s = sigma == 0, select(sigma == 0, 1, sigma)
    r, denominator = _lorentz(x, gamma, lorentz)
    return select(lorentz, (r - 2 * gamma * gamma) / denominator,
                  (np.imag(_voigt_parts(sp, x, s, gamma)[1]) - 1 / SQRT_PI) / (s * s * SQRT_PI))


voigt_profile = nary("voigt_profile", _voigt_x, _voigt_sigma, _voigt_gamma, args=("x", "sigma", "gamma"),
                     note="Re w(z)/(σ√(2π)), z = (x + iγ)/(σ√2): derivatives through wofz; at σ = 0 the "
                          "Lorentzian's in x and γ and the right derivative 0 in σ")


# ----- more distribution functions (the section on stdtr, bdtr, ... above explains the conventions) ----------------
def _f_density(sp, dfn, dfd, x):
    """The F density: dfn^(dfn/2) dfd^(dfd/2) x^(dfn/2 − 1) (dfd + dfn x)^(−(dfn + dfd)/2) / B(dfn/2, dfd/2), in logs
    (xlogy: x^0 = 1 at x = 0 for dfn = 2)."""
    return np.exp(0.5 * (dfn * np.log(dfn) + dfd * np.log(dfd)) + sp.xlogy(0.5 * dfn - 1, x)
                  - 0.5 * (dfn + dfd) * np.log(dfd + dfn * x) - sp.betaln(0.5 * dfn, 0.5 * dfd))


fdtr = in_last("fdtr", lambda sp, dfn, dfd, x, out: _f_density(sp, dfn, dfd, x), constants=("dfn", "dfd"),
               note="F distribution CDF; slope the F density; dfn, dfd constant")
fdtrc = in_last("fdtrc", lambda sp, dfn, dfd, x, out: -_f_density(sp, dfn, dfd, x), constants=("dfn", "dfd"),
                note="F survival function; dfn, dfd constant")
fdtri = in_last("fdtri", lambda sp, dfn, dfd, p, out: 1 / _f_density(sp, dfn, dfd, out), constants=("dfn", "dfd"),
                note="x = fdtr⁻¹(dfn, dfd, p): slope 1/density; dfn, dfd constant")
nbdtr = nary("nbdtr", _zero, _zero, lambda sp, k, n, p, out: _betainc_x(sp, n, np.floor(k) + 1, p, out),
             args=("k", "n", "p"), note="negative binomial CDF I_p(n, ⌊k⌋ + 1): derivative in p; k, n are "
                                        "truncated to integers by SciPy: slope 0")
nbdtrc = nary("nbdtrc", _zero, _zero, lambda sp, k, n, p, out: -_betainc_x(sp, n, np.floor(k) + 1, p, out),
              args=("k", "n", "p"), note="negative binomial survival function; k, n truncated by SciPy: slope 0")
pdtri = nary("pdtri", _zero, lambda sp, k, y, out: -1 / _gammainc_x(sp, np.floor(k) + 1, out, y), args=("k", "y"),
             note="m = pdtr⁻¹(k, y): slope 1/∂ₘpdtr = −1/(Poisson pmf at ⌊k⌋); k floored: slope 0")
bdtri = nary("bdtri", _zero, None, lambda sp, k, n, y, out: 1 / _bdtr_p(sp, k, n, out, y), args=("k", "n", "y"),
             note="p = bdtr⁻¹(k, n, y): slope 1/∂ₚbdtr; k floored (slope 0); none in n")
nbdtri = nary("nbdtri", _zero, _zero, lambda sp, k, n, y, out: 1 / _betainc_x(sp, n, np.floor(k) + 1, out, y),
              args=("k", "n", "y"), note="p = nbdtr⁻¹(k, n, y): slope 1/∂ₚnbdtr; k, n truncated by SciPy: slope 0")
gdtrix = nary("gdtrix", lambda sp, a, b, p, out: -out / a, None,
              lambda sp, a, b, p, out: 1 / (a * _gammainc_x(sp, b, a * out, p)), args=("a", "b", "p"),
              note="x = gdtr⁻¹(a, b, p): P(b, a·x) = p, so ∂ₚx = 1/(a ∂P) and ∂ₐx = −x/a; none in the shape b")


# ----- integrals of Bessel and Struve functions: the slope is the integrand -------------------------------------------
#: (1 − J₀(x))/x = Σ_{k≥1} (−1)^{k+1} x^{2k−1}/(4ᵏ k!²), (I₀(x) − 1)/x likewise without the signs, and
#: H₀(x)/x = Σ_{k≥0} (−1)ᵏ x^{2k}/(2^{2k+1} Γ(k + 3/2)²), for |x| < 1/2 (powers up to x¹⁷: below 1e-17 there).
ONE_MINUS_J0_SERIES = [0.0 if j % 2 == 0 else (-1) ** ((j + 1) // 2 + 1) / (4 ** ((j + 1) // 2)
                       * math.factorial((j + 1) // 2) ** 2) for j in range(18)]
I0_MINUS_ONE_SERIES = [abs(c) for c in ONE_MINUS_J0_SERIES]
STRUVE0_SERIES = [0.0 if j % 2 else (-1) ** (j // 2) / (2 ** (j + 1) * math.gamma(j // 2 + 1.5) ** 2)
                  for j in range(18)]

itj0y0 = multi_output("itj0y0", lambda sp, x, outs: (sp.j0(x), sp.y0(x)),
                      note="(∫₀ˣ J₀, ∫₀ˣ Y₀): slopes J₀(x), Y₀(x)")
iti0k0 = multi_output("iti0k0", lambda sp, x, outs: (sp.i0(x), sp.k0(x)),
                      note="(∫₀ˣ I₀, ∫₀ˣ K₀): slopes I₀(x), K₀(x)")
it2j0y0 = multi_output("it2j0y0", lambda sp, x, outs: (_over_x(lambda x: 1 - sp.j0(x), x, ONE_MINUS_J0_SERIES),
                                                      -sp.y0(x) / x),
                       note="(∫₀ˣ (1 − J₀(t))/t dt, ∫ₓ^∞ Y₀(t)/t dt): slopes (1 − J₀)/x (its series near 0), −Y₀/x")
it2i0k0 = multi_output("it2i0k0", lambda sp, x, outs: (_over_x(lambda x: sp.i0(x) - 1, x, I0_MINUS_ONE_SERIES),
                                                      -sp.k0(x) / x),
                       note="(∫₀ˣ (I₀(t) − 1)/t dt, ∫ₓ^∞ K₀(t)/t dt): slopes (I₀ − 1)/x (its series near 0), −K₀/x")
itstruve0 = unary("itstruve0", lambda sp, x, y: sp.struve(0.0, x), note="∫₀ˣ H₀: slope H₀(x)")
it2struve0 = unary("it2struve0", lambda sp, x, y: -_over_x(lambda x: sp.struve(0.0, x), x, STRUVE0_SERIES),
                   note="∫ₓ^∞ H₀(t)/t dt: slope −H₀(x)/x (its series near 0)")
itmodstruve0 = unary("itmodstruve0", lambda sp, x, y: sp.modstruve(0.0, x), note="∫₀ˣ L₀: slope L₀(x)")


# ----- confluent and Wright functions: derivative in x, the parameters constant -------------------------------------
hyperu = in_last("hyperu", lambda sp, a, b, x, out: -a * sp.hyperu(a + 1, b + 1, x), constants=("a", "b"),
                 note="U(a, b, x)' = −a U(a + 1, b + 1, x); a, b constant")
wright_bessel = in_last("wright_bessel", lambda sp, a, b, x, out: sp.wright_bessel(a, a + b, x), constants=("a", "b"),
                        note="Φ(a, b; x)' = Φ(a, a + b; x) (term by term); a, b constant")
log_wright_bessel = in_last("log_wright_bessel",
                            lambda sp, a, b, x, out: np.exp(sp.log_wright_bessel(a, a + b, x) - out),
                            constants=("a", "b"), note="log Φ(a, b; x): slope Φ(a, a + b; x)/Φ(a, b; x), in logs")

# ----- more inverses of distribution functions ------------------------------------------------------------------------
gdtria = nary("gdtria", lambda sp, p, b, x, out: 1 / (x * _gammainc_x(sp, b, out * x, p)), None,
              lambda sp, p, b, x, out: -out / x, args=("p", "b", "x"),
              note="a = gdtr⁻¹ in the rate: P(b, a·x) = p, so ∂ₚa = 1/(x ∂P) and ∂ₓa = −a/x; none in the shape b")
nrdtrimn = nary("nrdtrimn", lambda sp, p, std, x, out: -std * SQRT_2PI * np.exp(0.5 * sp.ndtri(p) ** 2),
                lambda sp, p, std, x, out: -sp.ndtri(p), lambda sp, p, std, x, out: 1.0, args=("p", "std", "x"),
                note="the normal mean x − std·Φ⁻¹(p): linear in std and x")
nrdtrisd = nary("nrdtrisd", lambda sp, mn, p, x, out: -1 / sp.ndtri(p),
                lambda sp, mn, p, x, out: -out * SQRT_2PI * np.exp(0.5 * sp.ndtri(p) ** 2) / sp.ndtri(p),
                lambda sp, mn, p, x, out: 1 / sp.ndtri(p), args=("mn", "p", "x"),
                note="the normal standard deviation (x − mn)/Φ⁻¹(p)")


# ----- parabolic cylinder functions: SciPy returns (y, y'); y'' from Weber's equation, the order v constant ----------
# D_v and V_v solve y'' = (x²/4 − v − 1/2) y; W(a, x) solves y'' = (a − x²/4) y.
pbdv = multi_output("pbdv", lambda sp, v, x, outs: (outs[1], (0.25 * x * x - v - 0.5) * outs[0]),
                    constants=("the order v",), note="(D_v, D_v'): D_v'' = (x²/4 − v − 1/2) D_v; v constant")
pbvv = multi_output("pbvv", lambda sp, v, x, outs: (outs[1], (0.25 * x * x - v - 0.5) * outs[0]),
                    constants=("the order v",), note="(V_v, V_v'): V_v'' = (x²/4 − v − 1/2) V_v; v constant")
pbwa = multi_output("pbwa", lambda sp, a, x, outs: (outs[1], (a - 0.25 * x * x) * outs[0]),
                    constants=("a",), note="(W, W'): W'' = (a − x²/4) W; a constant (SciPy: accurate for |a|, |x| < 5)")
