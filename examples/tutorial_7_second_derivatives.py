"""Tutorial 7: second derivatives (docs/tutorial/07-second-derivatives.md).

    python examples/tutorial_7_second_derivatives.py [--quick] [--figures DIR | --update-docs]

Nested forward mode: the perturbation-confusion example worked through, Hessians and Hessian-vector
products of Rosenbrock's function checked against scipy.optimize.rosen_hess, Newton's method against
gradient descent, the Hessian's spectrum along Newton's path, and the Jacobian of a gradient assembled
by slice assignment (scipy's rosen_der style).
"""
import numpy as np
import scipy.optimize
from _tutorial import Checks, parse_args, pyplot, save

import dualgrad as dg


def rosen(x):
    """Rosenbrock's function: Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, …, 1)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_der(x):
    """Its gradient written as scipy.optimize.rosen_der is: a zeros_like and three slice assignments."""
    xm, xm_m1, xm_p1 = x[1:-1], x[:-2], x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200 * (xm - xm_m1 ** 2) - 400 * (xm_p1 - xm ** 2) * xm - 2 * (1 - xm)
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    der[-1] = 200 * (x[-1] - x[-2] ** 2)
    return der


def d(f, x):
    """The derivative of a scalar function of a scalar, by a one-column jvp."""
    return dg.jvp(f, (x,), (np.ones((1,) + np.shape(x)),))[1][0]


def newton(x, steps):
    """Newton's method with the forward-mode gradient and Hessian; returns the path."""
    path = [x]
    for _ in range(steps):
        g, H = dg.jacfwd(rosen)(x), dg.hessian(rosen)(x)
        x = x - np.linalg.solve(H, g)
        path.append(x)
    return path


def gradient_descent(x, steps, lr):
    path = [x]
    for _ in range(steps):
        x = x - lr * dg.jacfwd(rosen)(x)
        path.append(x)
    return path


def main(argv=None):
    args = parse_args(__doc__, argv)
    checks = Checks()
    x0 = np.array(1.0)

    print("1. perturbation confusion")
    confused = d(lambda x: x * d(lambda y: x + y, x0), x0)
    print(f"  d/dx [x · d/dy (x + y)] at 1 = {confused:.1f}")
    checks.check(confused == 1.0, "d/dx [x · d/dy (x + y)] = 1: the inner ε and the outer one do not mix")
    mixed = d(lambda a: d(lambda b: (a * b) ** 2, np.array(0.7)), np.array(1.5))
    checks.check(abs(mixed - 4 * 1.5 * 0.7) < 1e-12, "d/dx d/dy (xy)² = 4xy = 4.2 through a closure")

    print("2. Hessians of Rosenbrock's function")
    n = 6 if args.quick else 10
    x = np.random.default_rng(0).uniform(-1.5, 1.5, n)
    H = dg.hessian(rosen)(x)
    error = np.max(np.abs(H - scipy.optimize.rosen_hess(x))) / np.max(np.abs(H))
    print(f"  n = {n}: max |H − rosen_hess| / max |H| = {error:.1e}")
    checks.check(error < 1e-14, "dg.hessian(rosen) equals scipy.optimize.rosen_hess to rounding")
    V = np.random.default_rng(1).standard_normal((3, n))
    value, HV = dg.hvp(rosen, (x,), (V,))
    checks.check(np.allclose(HV, V @ scipy.optimize.rosen_hess(x), rtol=1e-12),
                 "dg.hvp gives the 3 products H·v in one call")
    J = dg.jacfwd(rosen_der)(x)
    checks.check(np.allclose(J, scipy.optimize.rosen_hess(x), rtol=1e-12),
                 "the Jacobian of the slice-assigned gradient is the Hessian")

    print("3. Newton's method against gradient descent from (-1.2, 1)")
    start = np.array([-1.2, 1.0])
    newton_path = newton(start, 10)
    descent_path = gradient_descent(start, 2000, lr=1e-3)
    newton_f = [rosen(p) for p in newton_path]
    descent_f = [rosen(p) for p in descent_path]
    first = next(i for i, f in enumerate(newton_f) if f < 1e-15)
    print(f"  Newton: f < 1e-15 after {first} steps; gradient descent (lr 1e-3): f = {descent_f[-1]:.3f} "
          f"after {len(descent_path) - 1} steps")
    checks.check(first <= 7, "Newton reaches f < 1e-15 within 7 steps")
    checks.check(descent_f[-1] > 0.01, "gradient descent with a stable step is still far from the minimum")

    print("4. the Hessian's spectrum along Newton's path")
    spectra = [np.linalg.eigvalsh(dg.hessian(rosen)(p)) for p in newton_path]
    at_minimum = np.linalg.eigvalsh(dg.hessian(rosen)(np.ones(2)))
    print(f"  at the minimum: eigenvalues {at_minimum[0]:.3f} and {at_minimum[1]:.1f}, "
          f"condition number {at_minimum[1] / at_minimum[0]:.0f}")
    checks.check(abs(at_minimum[1] / at_minimum[0] - 2508) < 1, "condition number 2508 at the minimum")
    checks.check(np.allclose(at_minimum, np.linalg.eigvalsh(scipy.optimize.rosen_hess(np.ones(2)))),
                 "the same spectrum as rosen_hess's")

    plt = pyplot(args)
    if plt is not None:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
        left.semilogy(np.maximum(newton_f, 1e-30), label="Newton (dg.hessian)")
        left.semilogy(np.maximum(descent_f, 1e-30), label="gradient descent, lr 1e-3")
        left.set(xlabel="step", ylabel="f(x)", title="Rosenbrock from (-1.2, 1)", xscale="symlog")
        left.legend(loc="upper right")
        for i, name in enumerate(("smallest", "largest")):
            right.plot([s[i] for s in spectra], marker="o", label=f"{name} eigenvalue")
        right.legend(loc="center right")
        right.set(xlabel="Newton step", ylabel="eigenvalue", yscale="symlog", title="spectrum of the Hessian")
        save(fig, args, "tutorial_7_newton.png")
    checks.finish()


if __name__ == "__main__":
    main()
