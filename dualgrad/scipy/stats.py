"""``scipy.stats`` distributions on Duals: densities, CDFs and quantiles with SciPy's names and signatures.

    from dualgrad.scipy import stats
    stats.norm.logpdf(x, loc, scale)        # x, loc, scale: Duals or arrays, broadcast together
    stats.t.cdf(x, df, loc=0, scale=1)      # shape parameters first, then loc and scale, as in SciPy

SciPy's distribution methods convert their arguments with ``np.asarray``, so they cannot take a Dual. Here
every method is a formula written with NumPy functions and ``scipy.special`` ufuncs, all with dualgrad rules:
derivatives in every argument, of any order, and SciPy's values on plain arrays (to rounding).

**Continuous distributions** ``norm``, ``t``, ``chi2``, ``gamma``, ``beta``, ``expon``, ``laplace``,
``logistic``, ``cauchy``, ``uniform``, ``lognorm``: methods ``pdf``, ``logpdf``, ``cdf``, ``logcdf``, ``sf``,
``logsf``, ``ppf``, ``isf`` with ``(x, *shapes, loc=0, scale=1)``. With z = (x − loc)/scale,

    logpdf(x) = log f(z; shapes) − log scale,   cdf(x) = F(z; shapes),   ppf(q) = loc + scale · F⁻¹(q; shapes)

Outside the support, pdf is 0 (logpdf −inf), the CDF 0 or 1; invalid parameters (scale ≤ 0, a shape out of
its range, q outside [0, 1]) give NaN, as SciPy. The tangent there is 0: the value is held constant.

**Discrete distributions** ``poisson``, ``bernoulli``, ``binom``, ``geom``: ``pmf``, ``logpmf``, ``cdf``,
``logcdf``, ``sf``, ``logsf`` with ``(k, *shapes, loc=0)``. The probabilities are differentiable in the
continuous parameters (mu, p); the point k, loc and the count n are integer-valued (SciPy floors the point
for the CDF): piecewise constant, tangent 0.

**Multivariate** ``multivariate_normal`` (``pdf``, ``logpdf``, ``entropy``; ``allow_singular``) and
``dirichlet`` (``pdf``, ``logpdf``, ``entropy``), with SciPy's shape conventions.

Where a derivative needs a function without a closed form, dualgrad raises ``MissingRuleError``: the CDFs of
``t``, ``chi2``, ``gamma`` and ``beta`` are the regularised incomplete gamma and beta functions (``stdtr``,
``chdtr``, ``gammainc``, ``betainc``), which have derivatives in x (the density) but none in their shape
parameters (df, a, b). Their densities are differentiable in everything.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.special as sc  # ufuncs: a Dual reaches dualgrad's rule for each
import scipy.stats as scipy_stats

from ..dual import Dual, innermost
from ..rules.special import t_log_density

__all__ = ["norm", "t", "chi2", "gamma", "beta", "expon", "laplace", "logistic", "cauchy", "uniform", "lognorm",
           "poisson", "bernoulli", "binom", "geom", "multivariate_normal", "dirichlet"]

LOG_2PI = math.log(2 * math.pi)
LOG_2 = math.log(2.0)
INF = math.inf


def _scalar_out(out):
    """SciPy's return convention: a 0-d plain result as a NumPy scalar."""
    return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out


def _operand(value):
    """A Dual as it is; anything else (a number, a list) as the array SciPy would make of it."""
    return value if isinstance(value, Dual) else np.asarray(value)


def _bind(name, method, first, shapes, optional, args, kwds):
    """The arguments after the first of ``name.method(first, *shapes, *optional)``, positional or by keyword,
    as SciPy binds them: {argument name: value}, with SciPy's errors for extra, repeated or missing ones."""
    names = shapes + optional
    if len(args) > len(names):
        raise TypeError(f"{name}.{method}() takes at most {len(names) + 1} positional arguments "
                        f"({first}, {', '.join(names)})")
    values = dict(zip(names, args))
    for key, value in kwds.items():
        if key not in names:
            raise TypeError(f"{name}.{method}() got an unexpected keyword argument {key!r}")
        if key in values:
            raise TypeError(f"{name}.{method}() got multiple values for argument {key!r}")
        values[key] = value
    missing = [s for s in shapes if s not in values]
    if missing:
        raise TypeError(f"{name}.{method}() missing required argument(s): {', '.join(missing)}")
    return values


def _valid(checks):
    """The elementwise AND of the plain parameter checks (True when there are none)."""
    ok = np.bool_(True)
    for check in checks:
        ok = ok & check
    return ok


def _rvs(name, args, kwds):
    """Samples from SciPy's distribution ``name`` (plain parameters only: a draw is not differentiated here)."""
    if any(isinstance(v, Dual) for v in (*args, *kwds.values())):
        raise TypeError(f"{name}.rvs: a random draw is not differentiated; to differentiate through sampling, "
                        "draw the standard variate with a numpy.random.Generator and transform it (for the normal: "
                        "loc + scale * rng.standard_normal(shape))")
    return getattr(scipy_stats, name).rvs(*args, **kwds)


# ----- continuous distributions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Continuous:
    """A location-scale family: the standardised distribution's formulas in z = (x − loc)/scale.

    ``logpdf_z``, ``cdf_z``, ``sf_z`` (and the optional ``logcdf_z``, ``logsf_z``, ``ppf_z``, ``isf_z``;
    the logs of the CDF and SF by default) take ``(z, *shapes)`` (the quantiles ``(q, *shapes)``);
    ``argcheck(*shapes)`` says which plain parameter values are valid; ``support`` is the closed interval of
    z (``open_lower``: its lower end excluded), and ``interior`` a point inside it, which stands in for z
    outside the support so that no formula is evaluated where it is undefined.
    """

    name: str
    shapes: tuple[str, ...]
    logpdf_z: Callable
    cdf_z: Callable
    sf_z: Callable
    logcdf_z: Callable | None = None
    logsf_z: Callable | None = None
    ppf_z: Callable | None = None
    isf_z: Callable | None = None
    argcheck: Callable = lambda *shapes: np.bool_(True)
    support: tuple[float, float] = (-INF, INF)
    open_lower: bool = False
    interior: float = 0.0

    # -- arguments: (x, *shapes, loc, scale) positionally or by name, as SciPy --
    def _arguments(self, x, args, kwds, method):
        values = _bind(self.name, method, "x", self.shapes, ("loc", "scale"), args, kwds)
        shapes = tuple(_operand(values[s]) for s in self.shapes)
        x, loc, scale = _operand(x), _operand(values.get("loc", 0.0)), _operand(values.get("scale", 1.0))
        valid = _valid([innermost(scale) > 0, self.argcheck(*map(innermost, shapes))])
        return x, shapes, loc, scale, valid

    def _inside(self, z):
        lo, hi = self.support
        zp = innermost(z)
        return ((zp > lo) if self.open_lower else (zp >= lo)) & (zp <= hi)

    def _standardised(self, x, args, kwds, method):
        """z = (x − loc)/scale with ``interior`` outside the support, its plain values, the shapes, scale, and the
        masks of z inside the support (with valid parameters) and of valid parameters."""
        x, shapes, loc, scale, valid = self._arguments(x, args, kwds, method)
        z = (x - loc) / scale
        inside = self._inside(z) & valid
        return np.where(inside, z, self.interior), innermost(z), shapes, scale, inside, valid

    def _finish(self, value, inside, valid, outside):
        """``value`` inside the support, ``outside`` (a constant, or an array of them) elsewhere, NaN where the
        parameters are invalid."""
        return _scalar_out(np.where(valid, np.where(inside, value, outside), np.nan))

    def logpdf(self, x, *args, **kwds):
        with np.errstate(divide="ignore", invalid="ignore"):
            z, _, shapes, scale, inside, valid = self._standardised(x, args, kwds, "logpdf")
            return self._finish(self.logpdf_z(z, *shapes) - np.log(scale), inside, valid, -INF)

    def pdf(self, x, *args, **kwds):
        with np.errstate(divide="ignore", invalid="ignore"):
            z, _, shapes, scale, inside, valid = self._standardised(x, args, kwds, "pdf")
            return self._finish(np.exp(self.logpdf_z(z, *shapes)) / scale, inside, valid, 0.0)

    def _tail(self, x, args, kwds, method, fn, below, above):
        """A CDF-like method: ``fn(z, *shapes)`` inside the support; ``below``/``above`` it outside."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z, plain, shapes, _, inside, valid = self._standardised(x, args, kwds, method)
            outside = np.where(plain <= self.support[0], below, above)       # z = lo: outside only if open
            return self._finish(fn(z, *shapes), inside, valid, outside)

    def cdf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "cdf", self.cdf_z, 0.0, 1.0)

    def sf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "sf", self.sf_z, 1.0, 0.0)

    def logcdf(self, x, *args, **kwds):
        fn = self.logcdf_z or (lambda z, *s: np.log(self.cdf_z(z, *s)))
        return self._tail(x, args, kwds, "logcdf", fn, -INF, 0.0)

    def logsf(self, x, *args, **kwds):
        fn = self.logsf_z or (lambda z, *s: np.log(self.sf_z(z, *s)))
        return self._tail(x, args, kwds, "logsf", fn, 0.0, -INF)

    def _quantile(self, q, args, kwds, method, fn, at_zero, at_one):
        if fn is None:
            raise NotImplementedError(f"{self.name}.{method} has no closed form here; use scipy.stats on the values")
        with np.errstate(divide="ignore", invalid="ignore"):
            q, shapes, loc, scale, valid = self._arguments(q, args, kwds, method)
            qp = innermost(q)
            inside = (qp > 0) & (qp < 1) & valid
            z = fn(np.where(inside, q, 0.5), *shapes)
            z = np.where(inside, z, np.where(qp == 0, at_zero, np.where(qp == 1, at_one, np.nan)))
            return _scalar_out(np.where(valid, loc + scale * z, np.nan))

    def ppf(self, q, *args, **kwds):
        return self._quantile(q, args, kwds, "ppf", self.ppf_z, *self.support)

    def isf(self, q, *args, **kwds):
        return self._quantile(q, args, kwds, "isf", self.isf_z, *self.support[::-1])

    def rvs(self, *args, **kwds):
        """SciPy's samples, for plain parameters (``random_state``: a numpy.random.Generator)."""
        return _rvs(self.name, args, kwds)

    def __repr__(self):
        return f"<dualgrad.scipy.stats.{self.name}>"


def _laplace_cdf(z):
    return np.where(innermost(z) < 0, 0.5 * np.exp(np.minimum(z, 0)), 1 - 0.5 * np.exp(-np.maximum(z, 0)))


def _lognorm_logpdf(z, s):
    logz = np.log(z)
    return -0.5 * LOG_2PI - np.log(s) - logz - 0.5 * (logz / s) ** 2


norm = Continuous(
    "norm", (), lambda z: -0.5 * z * z - 0.5 * LOG_2PI, lambda z: sc.ndtr(z), lambda z: sc.ndtr(-z),
    logcdf_z=lambda z: sc.log_ndtr(z), logsf_z=lambda z: sc.log_ndtr(-z),
    ppf_z=lambda q: sc.ndtri(q), isf_z=lambda q: -sc.ndtri(q))
t = Continuous(
    "t", ("df",), lambda z, df: t_log_density(sc, df, z), lambda z, df: sc.stdtr(df, z), lambda z, df: sc.stdtr(df, -z),
    ppf_z=lambda q, df: sc.stdtrit(df, q), isf_z=lambda q, df: -sc.stdtrit(df, q), argcheck=lambda df: df > 0)
chi2 = Continuous(
    "chi2", ("df",), lambda z, df: sc.xlogy(0.5 * df - 1, z) - 0.5 * z - sc.gammaln(0.5 * df) - 0.5 * df * LOG_2,
    lambda z, df: sc.chdtr(df, z), lambda z, df: sc.chdtrc(df, z),
    ppf_z=lambda q, df: sc.chdtri(df, 1 - q), isf_z=lambda q, df: sc.chdtri(df, q),
    argcheck=lambda df: df > 0, support=(0.0, INF), interior=1.0)
gamma = Continuous(
    "gamma", ("a",), lambda z, a: sc.xlogy(a - 1, z) - z - sc.gammaln(a),
    lambda z, a: sc.gammainc(a, z), lambda z, a: sc.gammaincc(a, z),
    ppf_z=lambda q, a: sc.gammaincinv(a, q), isf_z=lambda q, a: sc.gammainccinv(a, q),
    argcheck=lambda a: a > 0, support=(0.0, INF), interior=1.0)
beta = Continuous(
    "beta", ("a", "b"), lambda z, a, b: sc.xlogy(a - 1, z) + sc.xlog1py(b - 1, -z) - sc.betaln(a, b),
    lambda z, a, b: sc.betainc(a, b, z), lambda z, a, b: sc.betaincc(a, b, z),
    ppf_z=lambda q, a, b: sc.betaincinv(a, b, q), isf_z=lambda q, a, b: sc.betainccinv(a, b, q),
    argcheck=lambda a, b: (a > 0) & (b > 0), support=(0.0, 1.0), interior=0.5)
expon = Continuous(
    "expon", (), lambda z: -z, lambda z: -np.expm1(-z), lambda z: np.exp(-z),
    logcdf_z=lambda z: np.log(-np.expm1(-z)), logsf_z=lambda z: -z,
    ppf_z=lambda q: -np.log1p(-q), isf_z=lambda q: -np.log(q), support=(0.0, INF), interior=1.0)
laplace = Continuous(
    "laplace", (), lambda z: -np.abs(z) - LOG_2, _laplace_cdf, lambda z: _laplace_cdf(-z),
    ppf_z=lambda q: np.where(innermost(q) < 0.5, np.log(2 * np.minimum(q, 0.5)), -np.log(2 - 2 * np.maximum(q, 0.5))),
    isf_z=lambda q: np.where(innermost(q) < 0.5, -np.log(2 * np.minimum(q, 0.5)), np.log(2 - 2 * np.maximum(q, 0.5))))
logistic = Continuous(
    "logistic", (), lambda z: sc.log_expit(z) + sc.log_expit(-z), lambda z: sc.expit(z), lambda z: sc.expit(-z),
    logcdf_z=lambda z: sc.log_expit(z), logsf_z=lambda z: sc.log_expit(-z),
    ppf_z=lambda q: sc.logit(q), isf_z=lambda q: -sc.logit(q))
cauchy = Continuous(
    "cauchy", (), lambda z: -math.log(math.pi) - np.log1p(z * z),
    lambda z: 0.5 + np.arctan(z) / math.pi, lambda z: 0.5 - np.arctan(z) / math.pi,
    ppf_z=lambda q: np.tan(math.pi * (q - 0.5)), isf_z=lambda q: np.tan(math.pi * (0.5 - q)))
uniform = Continuous(
    "uniform", (), lambda z: 0 * z, lambda z: z, lambda z: 1 - z,
    ppf_z=lambda q: q, isf_z=lambda q: 1 - q, support=(0.0, 1.0), interior=0.5)
lognorm = Continuous(
    "lognorm", ("s",), _lognorm_logpdf, lambda z, s: sc.ndtr(np.log(z) / s), lambda z, s: sc.ndtr(-np.log(z) / s),
    logcdf_z=lambda z, s: sc.log_ndtr(np.log(z) / s), logsf_z=lambda z, s: sc.log_ndtr(-np.log(z) / s),
    ppf_z=lambda q, s: np.exp(s * sc.ndtri(q)), isf_z=lambda q, s: np.exp(-s * sc.ndtri(q)),
    argcheck=lambda s: s > 0, support=(0.0, INF), open_lower=True, interior=1.0)


# ----- discrete distributions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Discrete:
    """A distribution on the integers of ``support``, shifted by ``loc``: formulas in k = x − loc (plain).

    ``logpmf(k, *shapes)`` at integer k inside the support, ``cdf``/``sf`` at ⌊k⌋ inside it. ``counts``
    names the integer shape parameters (binom's n): held plain, like k.
    """

    name: str
    shapes: tuple[str, ...]
    logpmf_k: Callable
    cdf_k: Callable
    sf_k: Callable
    argcheck: Callable
    support: Callable            # (*shapes) -> (lowest, highest) integers of the support
    counts: tuple[str, ...] = ()

    def _arguments(self, x, args, kwds, method):
        values = _bind(self.name, method, "k", self.shapes, ("loc",), args, kwds)
        shapes = tuple(np.asarray(innermost(values[s])) if s in self.counts else _operand(values[s])
                       for s in self.shapes)
        k = np.asarray(innermost(x)) - np.asarray(innermost(values.get("loc", 0)))   # integer-valued: plain
        return k, shapes, self.argcheck(*map(innermost, shapes))

    def logpmf(self, x, *args, **kwds):
        with np.errstate(divide="ignore", invalid="ignore"):
            k, shapes, valid = self._arguments(x, args, kwds, "logpmf")
            lo, hi = self.support(*map(innermost, shapes))
            inside = (k == np.floor(k)) & (k >= lo) & (k <= hi) & valid
            value = self.logpmf_k(np.where(inside, k, lo), *shapes)
            return _scalar_out(np.where(valid, np.where(inside, value, -INF), np.nan))

    def pmf(self, x, *args, **kwds):
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.exp(self.logpmf(x, *args, **kwds))
        return _scalar_out(out)

    def _tail(self, x, args, kwds, method, fn, below, above):
        with np.errstate(divide="ignore", invalid="ignore"):
            k, shapes, valid = self._arguments(x, args, kwds, method)
            k = np.floor(k)
            lo, hi = self.support(*map(innermost, shapes))
            inside = (k >= lo) & (k < hi) & valid
            value = fn(np.where(inside, k, lo), *shapes)
            outside = np.where(k < lo, below, above)
            return _scalar_out(np.where(valid, np.where(inside, value, outside), np.nan))

    def cdf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "cdf", self.cdf_k, 0.0, 1.0)

    def sf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "sf", self.sf_k, 1.0, 0.0)

    def logcdf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "logcdf", lambda k, *s: np.log(self.cdf_k(k, *s)), -INF, 0.0)

    def logsf(self, x, *args, **kwds):
        return self._tail(x, args, kwds, "logsf", lambda k, *s: np.log(self.sf_k(k, *s)), 0.0, -INF)

    def rvs(self, *args, **kwds):
        """SciPy's samples, for plain parameters (``random_state``: a numpy.random.Generator)."""
        return _rvs(self.name, args, kwds)

    def __repr__(self):
        return f"<dualgrad.scipy.stats.{self.name}>"


poisson = Discrete(
    "poisson", ("mu",), lambda k, mu: sc.xlogy(k, mu) - sc.gammaln(k + 1) - mu,
    lambda k, mu: sc.pdtr(k, mu), lambda k, mu: sc.pdtrc(k, mu),
    argcheck=lambda mu: mu >= 0, support=lambda mu: (0, INF))
bernoulli = Discrete(
    "bernoulli", ("p",), lambda k, p: sc.xlogy(k, p) + sc.xlog1py(1 - k, -p),
    lambda k, p: 1 - p + 0 * k, lambda k, p: p + 0 * k,
    argcheck=lambda p: (p >= 0) & (p <= 1), support=lambda p: (0, 1))
binom = Discrete(
    "binom", ("n", "p"),
    lambda k, n, p: (sc.gammaln(n + 1) - sc.gammaln(k + 1) - sc.gammaln(n - k + 1)
                     + sc.xlogy(k, p) + sc.xlog1py(n - k, -p)),
    lambda k, n, p: sc.bdtr(k, n, p), lambda k, n, p: sc.bdtrc(k, n, p),
    argcheck=lambda n, p: (n >= 0) & (n == np.floor(n)) & (p >= 0) & (p <= 1),
    support=lambda n, p: (0, n), counts=("n",))
geom = Discrete(
    "geom", ("p",), lambda k, p: sc.xlog1py(k - 1, -p) + np.log(p),
    lambda k, p: -np.expm1(k * np.log1p(-p)), lambda k, p: np.exp(k * np.log1p(-p)),
    argcheck=lambda p: (p > 0) & (p <= 1), support=lambda p: (1, INF))


# ----- multivariate normal ---------------------------------------------------------------------------------------
def _psd_cutoff(spectrum):
    """SciPy's cutoff for the eigenvalues of a covariance: 10⁶·ε·max|λ| (10³·ε in single precision)."""
    values = np.asarray(innermost(spectrum))
    factor = 1e3 if values.dtype == np.float32 else 1e6
    return factor * np.finfo(values.dtype).eps * np.max(np.abs(values))


def _dimension(mean, cov):
    """SciPy's dimension of a multivariate normal: the size of ``mean`` if given, else that of a matrix ``cov``."""
    if mean is not None:
        return int(np.size(innermost(mean)))
    return np.shape(innermost(cov))[0] if np.ndim(innermost(cov)) == 2 else 1


def _as_covariance(cov, dim):
    """SciPy's reading of ``cov``: a scalar (times the identity), a vector (the diagonal) or a matrix."""
    if np.ndim(cov) == 0:
        return cov * np.eye(dim)
    if np.ndim(cov) == 1:
        return cov * np.eye(dim)           # diag(cov), as a product so that a Dual keeps its tangent
    return cov


class MultivariateNormal:
    """``multivariate_normal.pdf/logpdf(x, mean=None, cov=1, allow_singular=False)`` and ``entropy(mean, cov)``.

    x: (..., d) (or (...,) when d = 1); the result has x's leading shape, squeezed as SciPy does. A positive
    definite covariance goes through its Cholesky factor L: log|Σ| = 2 Σ log Lᵢᵢ, the Mahalanobis term
    ‖L⁻¹(x − μ)‖². With ``allow_singular=True`` a rank-deficient Σ uses its eigendecomposition, as SciPy: the
    pseudo-determinant over the eigenvalues above SciPy's cutoff and the pseudo-inverse; points off the
    support (x − μ outside the range of Σ) get density 0. The eigenvectors of a Dual Σ need distinct
    eigenvalues (``NonDifferentiableError`` otherwise, e.g. for a tangent on a Σ with a repeated zero
    eigenvalue); a plain singular Σ works with Dual x and mean.
    """

    def _parts(self, x, mean, cov, allow_singular):
        x, cov = _operand(x), _operand(cov)
        mean = None if mean is None else _operand(mean)
        xp = np.asarray(innermost(x))
        dim = _dimension(mean, cov)
        if mean is None:
            mean = np.zeros(dim)
        cov = _as_covariance(cov, dim)
        if dim == 1 and (xp.ndim == 0 or xp.shape[-1] != 1):
            x = x[..., None]                                      # SciPy: a 1-D x of a 1-d normal is n points
        dev = x - mean                                            # (..., d)
        spectrum, vectors = np.linalg.eigh(innermost(cov))
        cutoff = _psd_cutoff(spectrum)
        kept = spectrum > cutoff
        if not allow_singular and (not kept.all() or (spectrum < -cutoff).any()):
            raise np.linalg.LinAlgError("When `allow_singular is False`, the input matrix must be symmetric "
                                        "positive definite.")
        if (spectrum < -cutoff).any():
            raise ValueError("the input matrix must be positive semidefinite")
        if kept.all():
            chol = np.linalg.cholesky(cov)                        # Σ = L Lᵀ
            if np.ndim(dev) == 1:
                white = np.linalg.solve(chol, dev)                # L⁻¹(x − μ): (d,)
                maha = np.sum(white * white)
            else:
                white = np.linalg.solve(chol, np.swapaxes(dev, -1, -2))   # (..., d, n)
                maha = np.sum(white * white, axis=-2)
            return maha, np.linalg.slogdet(cov)[1], dim, None
        s, u = np.linalg.eigh(cov)                                # Dual Σ: needs distinct eigenvalues
        s_kept, u_kept = s[kept], u[:, kept]
        log_det = np.sum(np.log(s_kept))
        white = (dev @ u_kept) / np.sqrt(s_kept)                  # (..., rank)
        maha = np.sum(white * white, axis=-1)
        residual = np.linalg.norm(np.asarray(innermost(dev)) @ vectors[:, ~kept], axis=-1)   # outside Σ's range
        return maha, log_det, int(kept.sum()), residual >= cutoff

    def logpdf(self, x, mean=None, cov=1, allow_singular=False):
        maha, log_det, rank, off_support = self._parts(x, mean, cov, allow_singular)
        out = -0.5 * (rank * LOG_2PI + log_det + maha)
        if off_support is not None:
            out = np.where(off_support, -INF, out)
        return _squeeze(out)

    def pdf(self, x, mean=None, cov=1, allow_singular=False):
        return _squeeze(np.exp(self.logpdf(x, mean, cov, allow_singular)))

    def entropy(self, mean=None, cov=1):
        cov = _operand(cov)
        dim = _dimension(mean, cov)
        cov = _as_covariance(cov, dim)
        spectrum = np.linalg.eigvalsh(innermost(cov))
        kept = spectrum > _psd_cutoff(spectrum)
        if kept.all():
            log_det = np.linalg.slogdet(cov)[1]
        else:
            log_det = np.sum(np.log(np.linalg.eigh(cov)[0][kept]))
        return _squeeze(0.5 * (int(kept.sum()) * (1 + LOG_2PI) + log_det))

    def rvs(self, *args, **kwds):
        """SciPy's samples, for plain parameters (``random_state``: a numpy.random.Generator)."""
        return _rvs("multivariate_normal", args, kwds)

    def __repr__(self):
        return "<dualgrad.scipy.stats.multivariate_normal>"


def _squeeze(out):
    """SciPy's ``_squeeze_output``: drop length-1 axes; a 0-d result as a scalar."""
    out = np.squeeze(out)
    return _scalar_out(out)


multivariate_normal = MultivariateNormal()


# ----- Dirichlet -------------------------------------------------------------------------------------------------
class Dirichlet:
    """``dirichlet.pdf/logpdf(x, alpha)`` and ``entropy(alpha)``: components on the first axis of x, as SciPy
    (x of shape (K,) or (K, n); K − 1 rows are completed with 1 − Σ). log f = Σ (αᵢ − 1) log xᵢ − log B(α),
    log B(α) = Σ log Γ(αᵢ) − log Γ(Σ αᵢ)."""

    @staticmethod
    def _log_norm(alpha):
        return np.sum(sc.gammaln(alpha), axis=0) - sc.gammaln(np.sum(alpha, axis=0))

    @staticmethod
    def _check(x, alpha):
        x = _operand(x)
        a, xp = np.asarray(innermost(alpha)), np.asarray(innermost(x))
        if a.ndim != 1 or (a <= 0).any():
            raise ValueError("Parameter vector 'alpha' must be one dimensional and its entries positive")
        if xp.shape[0] == a.shape[0] - 1:
            x = np.concatenate([x, (1 - np.sum(x, axis=0))[None]], axis=0)
            xp = np.asarray(innermost(x))
        if xp.shape[0] != a.shape[0]:
            raise ValueError("Vector 'x' must have either the same number of entries as, or one entry fewer "
                             f"than, parameter vector 'a', but alpha.shape = {a.shape} and x.shape = {xp.shape}.")
        if (xp < 0).any() or (xp > 1).any():
            raise ValueError("Each entry in 'x' must be in [0, 1]")
        if (np.abs(np.sum(xp, axis=0) - 1) > 1e-9).any():
            raise ValueError(f"The input vector 'x' must lie within the normal simplex, but np.sum(x, 0) = "
                             f"{np.sum(xp, axis=0)}.")
        return x

    def logpdf(self, x, alpha):
        alpha = _operand(alpha)
        x = self._check(x, alpha)
        extra = (None,) * (np.ndim(innermost(x)) - 1)
        a = alpha[(slice(None), *extra)] if extra else alpha
        return _scalar_out(np.sum(sc.xlogy(a - 1, x), axis=0) - self._log_norm(alpha))

    def pdf(self, x, alpha):
        return _scalar_out(np.exp(self.logpdf(x, alpha)))

    def entropy(self, alpha):
        alpha = _operand(alpha)
        a0, k = np.sum(alpha), np.shape(innermost(alpha))[0]
        return _scalar_out(self._log_norm(alpha) + (a0 - k) * sc.psi(a0) - np.sum((alpha - 1) * sc.psi(alpha)))

    def rvs(self, *args, **kwds):
        """SciPy's samples, for plain parameters (``random_state``: a numpy.random.Generator)."""
        return _rvs("dirichlet", args, kwds)

    def __repr__(self):
        return "<dualgrad.scipy.stats.dirichlet>"


dirichlet = Dirichlet()
