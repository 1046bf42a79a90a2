"""dualgrad: forward-mode automatic differentiation with a block of k tangent columns.

    import numpy as np, dualgrad as dg
    out, tangents = dg.jvp(f, (x,), (V,))     # V: (k, *x.shape) -> tangents: (k, *out.shape)

The core is ``dual.py`` (the Dual type and NumPy dispatch), ``registry.py`` (the rule table and
``bind``), ``rules/`` (one file per family of ops) and ``transforms.py`` (jvp, jacfwd, check_jvp).
"""
from .dual import Dual  # noqa: I001  (first: the rule modules import it)
from .errors import (
    ArgumentTypeError, BackendUnavailableError, BackendUnsupportedError, EscapedPerturbationError, InvalidArgumentError,
    JVPCheckError, MissingRuleError, NonDifferentiableError, TagOrderError, TangentDtypeError, TangentShapeError,
)
from .registry import RULES, Primitive
from .transforms import check_jvp, default_chunk_size, defjvp, hessian, hvp, jacfwd, jvp, primitive
from . import backend, nn
from .rules.elementwise import (
    abs, add, angle, arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, cbrt, ceil, clip, conjugate,
    copysign, cos, cosh, deg2rad, divide, exp, exp2, expm1, fabs, float_power, floor, floor_divide, fmax, fmin,
    fmod, hypot, imag, ldexp, log, log1p, log2, log10, logaddexp, logaddexp2, maximum, minimum, multiply,
    negative, positive, power, rad2deg, real, reciprocal, remainder, rint, sign, sin, sinh, sqrt, square,
    subtract, tan, tanh, trunc, where,
)
from .rules.reductions import cumprod, cumsum, logsumexp, max, mean, min, prod, std, sum, var
from .rules.shape import (
    array, array_split, asarray, broadcast_to, concatenate, diagonal, expand_dims, flip, getitem, moveaxis, pad,
    ravel, repeat, reshape, roll, split, squeeze, stack, swapaxes, take, tile, transpose, tril, triu,
)
from .rules import fft, numeric, queries, selection, statistics
from .rules.linalg import (
    cholesky, det, dot, einsum, inner, inv, matmul, norm, outer, slogdet, solve, tensordot, trace,
)
from .rules.decompositions import eig, eigh, eigvals, eigvalsh, lstsq, pinv, qr, svd
from .rules.nn import *  # noqa: F403  (the names in rules/nn.py's __all__)
from .rules.conv import *  # noqa: F403  (the names in rules/conv.py's __all__)
from .rules.special import multigammaln, polygamma

__version__ = "0.1.0"
