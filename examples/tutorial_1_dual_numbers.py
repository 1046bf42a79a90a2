"""Tutorial 1: dual numbers and the tangent block (docs/tutorial/01-dual-numbers.md).

    python examples/tutorial_1_dual_numbers.py [--quick] [--figures DIR | --update-docs]

A dual number a + Σ bᵢεᵢ (εᵢεⱼ = 0) carries k directions at once; dualgrad's Dual is an array of them.
This script pushes k directions through plain NumPy code, checks the result against the exact
derivative, finite differences and the complex step, and shows why the tangent axis comes first.
"""
import numpy as np
from _tutorial import Checks, parse_args, pyplot, save

import dualgrad as dg


# ----- 1. one number, k directions ------------------------------------------------------------------------
def bump(x):
    return np.sin(x) * np.exp(-x * x / 2)


def bump_derivative(x):
    return (np.cos(x) - x * np.sin(x)) * np.exp(-x * x / 2)


# ----- 2. a function of an array, written in plain NumPy -------------------------------------------------------
rng = np.random.default_rng(0)
W = rng.standard_normal((3, 5))                  # f: R^5 -> R^3


def f(x):
    return np.log1p(np.exp(W @ np.tanh(x)))      # softplus(W tanh(x)); knows nothing about dualgrad


def jacobian_f(x):
    """By hand: J = diag(sigmoid(z)) W diag(1 - tanh(x)²) with z = W tanh(x)."""
    z = W @ np.tanh(x)
    return (1 / (1 + np.exp(-z)))[:, None] * W * (1 - np.tanh(x) ** 2)[None, :]


def central_difference(f, x, v, h):
    return (f(x + h * v) - f(x - h * v)) / (2 * h)


def complex_step(f, x, v, h):
    return np.imag(f(x + 1j * h * v)) / h


def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main(argv=None):
    args = parse_args(__doc__, argv)
    checks = Checks()

    print("1. One dual number, k = 3 directions")
    a, b = 0.7, np.array([1.0, 2.0, -0.5])
    y = bump(dg.Dual(a, b))                      # a + b₁ε₁ + b₂ε₂ + b₃ε₃
    print(f"   f(a) = {y.primal:.6f}, tangent = {y.tangent}  (= f'(a)·b, f'(a) = {bump_derivative(a):.6f})")
    checks.check(np.allclose(y.tangent, bump_derivative(a) * b, rtol=1e-14, atol=0),
                 "the coefficient of εᵢ is f'(a)·bᵢ, to 1e-14")

    print("\n2. A NumPy function of an array: k jvps in one pass")
    x = rng.standard_normal(5)
    V = rng.standard_normal((4, 5))              # k = 4 directions, the k axis first
    out, jvps = dg.jvp(f, (x,), (V,))            # jvps[i] = J_f(x) @ V[i]
    J = jacobian_f(x)
    print(f"   f(x) = {out}, jvps shape {jvps.shape}")
    checks.check(np.allclose(jvps, V @ J.T, rtol=1e-13, atol=0), "jvp equals J·vᵢ from the hand-written Jacobian")
    one_at_a_time = np.stack([dg.jvp(f, (x,), (v[None],))[1][0] for v in V])
    checks.check(np.allclose(jvps, one_at_a_time, rtol=1e-14, atol=0),
                 "one pass with k columns equals k passes with one column")

    print("\n3. Against finite differences and the complex step")
    fd = np.stack([central_difference(f, x, v, 1e-6) for v in V])
    cs = np.stack([complex_step(f, x, v, 1e-20) for v in V])
    print(f"   relative difference to the central difference (h = 1e-6): {relative_error(jvps, fd):.1e}")
    print(f"   relative difference to the complex step (h = 1e-20):      {relative_error(jvps, cs):.1e}")
    checks.check(relative_error(jvps, fd) < 1e-6, "jvp equals the central difference to 1e-6")
    checks.check(relative_error(jvps, cs) < 1e-14, "jvp equals the complex step to 1e-14")
    worst = dg.check_jvp(f, (x,), complex_step=True)
    checks.check(worst < 1e-6, f"dg.check_jvp runs both comparisons and passes (worst error {worst:.1e})")

    steps = np.logspace(-1, -15, 29 if args.quick else 57)
    fd_error = [relative_error(np.stack([central_difference(f, x, v, h) for v in V]), jvps) for h in steps]
    cs_error = [relative_error(np.stack([complex_step(f, x, v, h) for v in V]), jvps) for h in steps]
    best = int(np.argmin(fd_error))
    print(f"   best central difference: error {fd_error[best]:.1e} at h = {steps[best]:.0e}; "
          f"complex step for h <= 1e-8: at most {max(e for e, h in zip(cs_error, steps) if h <= 1e-8):.1e}")
    checks.check(min(fd_error) > 1e-12, "no step size h makes the central difference better than 1e-12 "
                 "(truncation error for large h, cancellation for small h)")
    checks.check(max(e for e, h in zip(cs_error, steps) if h <= 1e-8) < 1e-14,
                 "the complex step agrees with the jvp to 1e-14 for every h <= 1e-8")

    print("\n4. Why the k axis comes first")
    X = rng.standard_normal((8, 5))              # a batch: B = 8 rows of n = 5
    T = rng.standard_normal((4, 8, 5))           # k = 4 tangent columns of the whole batch
    Y = np.sin(dg.Dual(X, T))
    checks.check(np.array_equal(Y.tangent, np.cos(X) * T),
                 "sin's tangent is literally cos(x) * t: (B, n) broadcasts against (k, B, n) with no reshaping")
    Z = dg.Dual(X, T) @ W.T
    checks.check(np.shares_memory(T.reshape(4 * 8, 5), T) and
                 np.allclose(Z.tangent, (T.reshape(4 * 8, 5) @ W.T).reshape(4, 8, 3), rtol=1e-14, atol=0),
                 "the tangent of x @ W is one GEMM: the k·B rows of the block, a free reshape")

    plt = pyplot(args)
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.8))
        ax.loglog(steps, fd_error, "o-", ms=3, label="central difference")
        ax.loglog(steps, np.maximum(cs_error, 1e-17), "s-", ms=3, label="complex step")
        ax.axhline(np.finfo(float).eps, color="gray", ls=":", label="machine epsilon")
        ax.invert_xaxis()
        ax.set(xlabel="step size h", ylabel="relative difference to dualgrad's jvp",
               title="f(x) = softplus(W tanh x): k = 4 directions")
        ax.legend()
        save(fig, args, "tutorial_1_step_size.png")
    checks.finish()


if __name__ == "__main__":
    main()
