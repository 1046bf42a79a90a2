"""SciPy's differentiable functions on Duals, under SciPy's own names and signatures.

SciPy's ufuncs (``scipy.special.erf``, ``gammaln``, ...) take Duals as they are: NumPy hands a Dual to
dualgrad's rule for them. SciPy's *Python* functions (the ``scipy.stats`` distributions, ``scipy.linalg``,
``scipy.signal.convolve``, ``scipy.integrate.odeint``, ``scipy.special.logsumexp``) first convert their
arguments with ``np.asarray``, which would drop a tangent, so dualgrad refuses them with a ``TypeError``.
The modules of this package are their counterparts, written with dualgrad's rules, so that derivatives of
any order nest through them and plain arrays give SciPy's values:

    import dualgrad.scipy.stats as stats
    stats.norm.logpdf(x, loc, scale)      # any of x, loc, scale a Dual (or a plain array)

The submodules are imported on first use (``dualgrad.scipy.stats`` or ``from dualgrad.scipy import stats``).
"""
from __future__ import annotations

import importlib

#: The counterparts of SciPy's subpackages that dualgrad provides.
SUBMODULES = ("integrate", "linalg", "signal", "special", "stats")


def __getattr__(name: str):
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'dualgrad.scipy' has no attribute {name!r}; it provides {', '.join(SUBMODULES)}")


def __dir__():
    return sorted(SUBMODULES)
