"""OpCases for the elementwise rules (see tests/harness.py for the format).

Functions are written with plain NumPy calls, so the same test also exercises the NumPy protocol;
they are analytic where noted, and then also checked against the complex step.
"""
import numpy as np

import dualgrad as dg

from .harness import OpCase, away_from_zero, broadcast_shapes, fixed, normal, one_shape, uniform

positive = uniform(0.3, 3.0)
unit = uniform(-0.8, 0.8)

UNARY = [  # (rule, numpy function, sampler, analytic)
    ("negative", np.negative, normal, True),
    ("positive", np.positive, normal, True),
    ("abs", np.abs, away_from_zero(), False),
    ("sign", np.sign, away_from_zero(), False),
    ("square", np.square, normal, True),
    ("sqrt", np.sqrt, positive, True),
    ("cbrt", np.cbrt, positive, False),
    ("reciprocal", np.reciprocal, away_from_zero(0.3, 3.0), True),
    ("exp", np.exp, normal, True),
    ("exp2", np.exp2, normal, True),
    ("expm1", np.expm1, normal, True),
    ("log", np.log, positive, True),
    ("log2", np.log2, positive, True),
    ("log10", np.log10, positive, True),
    ("log1p", np.log1p, uniform(-0.7, 3.0), True),
    ("sin", np.sin, normal, True),
    ("cos", np.cos, normal, True),
    ("tan", np.tan, uniform(-1.2, 1.2), True),
    ("arcsin", np.arcsin, unit, True),
    ("arccos", np.arccos, unit, True),
    ("arctan", np.arctan, normal, True),
    ("sinh", np.sinh, normal, True),
    ("cosh", np.cosh, normal, True),
    ("tanh", np.tanh, normal, True),
    ("arcsinh", np.arcsinh, normal, True),
    ("arccosh", np.arccosh, uniform(1.2, 4.0), True),
    ("arctanh", np.arctanh, unit, True),
    ("deg2rad", np.deg2rad, normal, False),
    ("rad2deg", np.rad2deg, normal, False),
    ("fabs", np.fabs, away_from_zero(), False),
    ("conjugate", np.conjugate, normal, False),
    ("real", np.real, normal, False),            # of a real array: the array itself; complex in test_rules
    ("imag", np.imag, normal, False),            # of a real array: plain zeros
    ("angle", np.angle, away_from_zero(), False),
]

BINARY = [  # (rule, function of two arrays, samplers, analytic)
    ("add", lambda x, y: x + y, (normal, normal), True),
    ("subtract", lambda x, y: x - y, (normal, normal), True),
    ("multiply", lambda x, y: x * y, (normal, normal), True),
    ("divide", lambda x, y: x / y, (normal, away_from_zero(0.5, 2.0)), True),
    ("power", lambda x, y: x ** y, (positive, normal), True),
    ("arctan2", np.arctan2, (away_from_zero(), away_from_zero()), False),
    ("hypot", np.hypot, (away_from_zero(), away_from_zero()), False),
    ("logaddexp", np.logaddexp, (normal, normal), False),
    ("maximum", np.maximum, (uniform(0.0, 1.0), uniform(2.0, 3.0)), False),
    ("minimum", np.minimum, (uniform(0.0, 1.0), uniform(2.0, 3.0)), False),
    ("fmax", np.fmax, (uniform(0.0, 1.0), uniform(2.0, 3.0)), False),
    ("fmin", np.fmin, (uniform(0.0, 1.0), uniform(2.0, 3.0)), False),
    ("logaddexp2", np.logaddexp2, (normal, normal), False),
    ("float_power", np.float_power, (positive, normal), True),
    ("remainder", np.remainder, (uniform(-2.0, 2.0), uniform(0.7, 1.9)), False),
    ("fmod", np.fmod, (uniform(-2.0, 2.0), uniform(0.7, 1.9)), False),
    ("copysign", np.copysign, (away_from_zero(), away_from_zero()), False),
]

CASES = [OpCase(rule, fn, one_shape(), sample, analytic) for rule, fn, sample, analytic in UNARY]
CASES += [OpCase(rule, fn, broadcast_shapes(2), samples, analytic) for rule, fn, samples, analytic in BINARY]
CASES += [
    # the dg functions themselves (not through the protocol)
    OpCase("sin", dg.sin, one_shape(), label="dg.sin", analytic=True),
    OpCase("multiply", dg.multiply, broadcast_shapes(2), label="dg.multiply", analytic=True),
    # python scalars on either side; the Dual operator methods
    OpCase("power", lambda x: x ** 3, one_shape(), label="x**3", analytic=True),
    OpCase("power", lambda x: x ** 0.5, one_shape(), positive, label="x**0.5", analytic=True),
    OpCase("power", lambda x: 2.0 ** x, one_shape(), label="2**x", analytic=True),
    OpCase("divide", lambda x: 1.0 / x, one_shape(), away_from_zero(), label="1/x", analytic=True),
    # a list operand is NumPy's array of it
    OpCase("power", lambda x: x ** [1.0, 2.5, 0.5], fixed((2, 3)), positive, label="x**list", analytic=True),
    OpCase("arctan2", lambda x: np.arctan2([0.5, -1.0, 2.0], x), fixed((3,)), away_from_zero(), label="list y"),
    OpCase("fmin", lambda x: np.fmin(x, [5.0, 6.0, 7.0]), fixed((3,)), uniform(0.0, 1.0), label="list operand"),
    OpCase("subtract", lambda x: 3.0 - x, one_shape(), label="3-x", analytic=True),
    OpCase("abs", lambda x: abs(x), one_shape(), away_from_zero(), label="builtin abs"),
    OpCase("maximum", lambda x: np.maximum(x, 0.0), one_shape(), away_from_zero(), label="relu-like"),
    OpCase("maximum", np.maximum, broadcast_shapes(2), (uniform(2.0, 3.0), uniform(0.0, 1.0)), label="x wins"),
    OpCase("minimum", np.minimum, broadcast_shapes(2), (uniform(2.0, 3.0), uniform(0.0, 1.0)), label="y wins"),
    # clip: x inside, below and above the bounds; bounds as Duals
    OpCase("clip", lambda x: np.clip(x, -0.5, 0.5), one_shape(), uniform(-0.4, 0.4), label="inside"),
    OpCase("clip", lambda x: np.clip(x, -0.5, 0.5), one_shape(), away_from_zero(0.6, 2.0), label="outside"),
    OpCase("clip", lambda x, lo, hi: np.clip(x, lo, hi), broadcast_shapes(3),
           (away_from_zero(0.0, 2.0), uniform(-3.0, -2.5), uniform(-2.4, -2.1)), label="Dual bounds, above"),
    OpCase("clip", lambda x, lo, hi: x.clip(lo, hi), broadcast_shapes(3),
           (uniform(-2.0, 2.0), uniform(2.1, 2.4), uniform(2.5, 3.0)), label="method, below"),
    OpCase("clip", lambda x, lo: np.clip(x, lo, None), broadcast_shapes(2),
           (uniform(-1.0, 1.0), uniform(-3.0, -2.0)), label="lower bound only"),
    # where: the condition is data; x and y broadcast against it
    OpCase("where", lambda c, x, y: np.where(c > 0, x, y), broadcast_shapes(3), differentiable=(1, 2), analytic=False),
    OpCase("where", lambda x: np.where(x > 0, x, 0.1 * x), one_shape(), away_from_zero(), label="leaky"),
    # the % operator, ldexp's integer exponent, the multi-output ufuncs (their flat outputs are plain arrays)
    OpCase("remainder", lambda x, y: x % y, broadcast_shapes(2), (uniform(-2.0, 2.0), uniform(-1.9, -0.7)),
           label="% negative divisor"),
    OpCase("ldexp", lambda x: np.ldexp(x, 3), one_shape()),
    # np.real_if_close: the real part of a complex Dual with zero imaginary parts (a real one: itself)
    OpCase("real", lambda x: np.real_if_close(x + 0j), one_shape(), label="np.real_if_close"),
    OpCase("real", lambda x: np.real_if_close(x * (1 + 1e-15j), tol=1e3), one_shape(), label="np.real_if_close tol"),
    OpCase("real", np.real_if_close, one_shape(), label="np.real_if_close of a real Dual"),
    OpCase("modf", np.modf, one_shape(), uniform(-3.0, 3.0)),
    OpCase("frexp", np.frexp, one_shape(), away_from_zero(0.6, 0.9)),
    OpCase("divmod", np.divmod, broadcast_shapes(2), (uniform(-2.0, 2.0), uniform(0.7, 1.9))),
    # broadcasting between shapes of different rank, a size-1 axis and a scalar
    OpCase("add", lambda x, y: x + y, fixed((3, 1), (4,)), label="(3,1)+(4,)", analytic=True),
    OpCase("multiply", lambda x, y: x * y, fixed((), (2, 3)), label="scalar*(2,3)", analytic=True),
]
