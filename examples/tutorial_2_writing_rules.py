"""Tutorial 2: writing a rule (docs/tutorial/02-writing-a-rule.md).

    python examples/tutorial_2_writing_rules.py [--quick]

Three custom primitives, each with a forward-mode rule registered by dg.defjvp: a function from another
library (SciPy's Kelvin function ber), a linear op (a smoothing filter) and a fused op
(tanh(x @ W + b), sharing its output between primal and tangent). Then a rule with a missing term, and how
dg.check_jvp catches it.
"""
import numpy as np
import scipy.ndimage
import scipy.special
from _tutorial import Checks, parse_args

import dualgrad as dg


# ----- 1. a function dualgrad cannot see into: make it a primitive, give it a rule ----------------------------
@dg.primitive
def kelvin_ber(x):
    return scipy.special.ber(x)                  # compiled SciPy code: the body of a primitive sees arrays only


def register_kelvin_ber():
    @dg.defjvp(kelvin_ber)
    def kelvin_ber_jvp(primals, tangents):
        (x,), (t,) = primals, tangents           # t: (k, *x.shape), or None for a constant
        return scipy.special.ber(x), None if t is None else scipy.special.berp(x) * t    # ber' = berp


# ----- 2. a linear op: its tangent is the op applied to the tangent block ------------------------------------------
KERNEL = np.array([0.25, 0.5, 0.25])


@dg.primitive
def smooth(x):
    """Convolve the last axis with KERNEL (zero padding)."""
    return scipy.ndimage.convolve1d(x, KERNEL, axis=-1, mode="constant")


@dg.defjvp(smooth)
def smooth_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return smooth(x), None if t is None else smooth(t)       # k first: axis -1 is still the signal axis


# ----- 3. a fused op: one rule for tanh(x @ W + b), sharing y between primal and tangent --------------------------
@dg.primitive
def dense_tanh(x, W, b):
    return np.tanh(x @ W + b)


@dg.defjvp(dense_tanh)
def dense_tanh_jvp(primals, tangents):
    (x, W, b), (tx, tW, tb) = primals, tangents
    y = np.tanh(x @ W + b)
    dz = 0.0
    if tx is not None:
        dz = dz + tx @ W                         # (k, B, I) @ (I, O)
    if tW is not None:
        dz = dz + x @ tW                         # (B, I) @ (k, I, O): k GEMMs in one call
    if tb is not None:
        dz = dz + tb[:, None, :]                 # (k, O) -> (k, 1, O)
    return y, None if np.isscalar(dz) else (1 - y * y) * dz


# ----- 4. the same op with a bug: the x @ dW term is missing ---------------------------------------------------------
@dg.primitive
def dense_tanh_buggy(x, W, b):
    return np.tanh(x @ W + b)


@dg.defjvp(dense_tanh_buggy)
def dense_tanh_buggy_jvp(primals, tangents):
    (x, W, b), (tx, _, tb) = primals, tangents   # the bug: W's tangent is never used
    y = np.tanh(x @ W + b)
    dz = 0.0
    if tx is not None:
        dz = dz + tx @ W
    if tb is not None:
        dz = dz + tb[:, None, :]
    return y, None if np.isscalar(dz) else (1 - y * y) * dz


def main(argv=None):
    parse_args(__doc__, argv)                    # --quick changes nothing here: the whole script takes a second
    checks = Checks()
    rng = np.random.default_rng(0)

    print("1. A primitive without a rule, then with one")
    x = rng.uniform(0.5, 5.0, 6)
    try:
        dg.jvp(kelvin_ber, (x,), (np.ones((1, 6)),))
        raised = ""
    except dg.MissingRuleError as error:
        raised = str(error)
    print(f"   before dg.defjvp: MissingRuleError: {raised}")
    checks.check(raised != "", "a primitive without a rule raises dg.MissingRuleError instead of a wrong value")
    register_kelvin_ber()
    worst = dg.check_jvp(lambda x: kelvin_ber(x) * np.sin(x), (x,), k=4)
    checks.check(worst < 1e-6, f"after dg.defjvp, check_jvp of kelvin_ber(x)·sin(x) passes (worst {worst:.1e})")
    checks.check(np.array_equal(kelvin_ber(x), scipy.special.ber(x)), "on plain arrays the primitive is its body")

    print("\n2. A linear op")
    signals = rng.standard_normal((5, 40))      # B = 5 signals of length 40
    worst = dg.check_jvp(smooth, (signals,), k=3)
    checks.check(worst < 1e-6, f"check_jvp passes for smooth (worst {worst:.1e})")
    S = smooth(np.eye(40))                       # row i: the filter applied to e_i, so smooth(x) = x @ S
    _, t = dg.jvp(smooth, (signals,), (rng.standard_normal((3, 5, 40)),))
    checks.check(np.allclose(smooth(signals), signals @ S, atol=1e-14) and t.shape == (3, 5, 40),
                 "smooth is a matrix along the last axis, and its tangent block keeps the shape (k, B, 40)")

    print("\n3. A fused op")
    xb, W, b = rng.standard_normal((8, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    worst = dg.check_jvp(dense_tanh, (xb, W, b), k=4, complex_step=True)
    checks.check(worst < 1e-6, f"check_jvp (central difference and complex step) passes for dense_tanh "
                 f"(worst {worst:.1e})")
    tangents = (rng.standard_normal((4, 8, 5)), rng.standard_normal((4, 5, 4)), rng.standard_normal((4, 4)))
    _, fused = dg.jvp(dense_tanh, (xb, W, b), tangents)
    _, composed = dg.jvp(lambda x, W, b: np.tanh(x @ W + b), (xb, W, b), tangents)
    checks.check(np.allclose(fused, composed, rtol=1e-12, atol=1e-14),
                 "the fused rule equals the composition of dualgrad's matmul, add and tanh rules")
    _, only_x = dg.jvp(dense_tanh, (xb, W, b), (tangents[0], None, None))
    _, only_x_composed = dg.jvp(lambda x: np.tanh(x @ W + b), (xb,), (tangents[0],))
    checks.check(np.allclose(only_x, only_x_composed, rtol=1e-12, atol=1e-14),
                 "with W and b held constant (tangent None) the rule skips their terms and still agrees")

    print("\n4. A rule with a missing term")
    worst = dg.check_jvp(dense_tanh_buggy, (xb, W, b), (tangents[0], None, None))
    checks.check(worst < 1e-6, "perturbing x alone, the buggy rule passes: the missing x @ dW term is zero "
                 "when W carries no tangent")
    try:
        dg.check_jvp(dense_tanh_buggy, (xb, W, b), k=4)
        message = ""
    except dg.JVPCheckError as error:
        message = str(error)
    print("   " + message.replace("\n", "\n   "))
    checks.check(message != "", "perturbing every argument, check_jvp raises dg.JVPCheckError on the buggy rule")
    checks.finish()


if __name__ == "__main__":
    main()
