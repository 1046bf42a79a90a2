"""Differentiate SciPy's Rosenbrock function, written in plain NumPy, with k tangents in one pass.

    python examples/rosenbrock.py [--n 10] [--k 4] [--seed 0]

``rosen`` below is the textbook NumPy code (as in ``scipy.optimize.rosen``) and knows nothing about
dualgrad. One ``dg.jvp`` call pushes k random directions through it at once; each directional
derivative is printed next to the exact one, ∇f(x)·v with ∇f from ``scipy.optimize.rosen_der``.
Then the full gradient comes from one pass with the n standard basis vectors as tangents.
"""
import argparse

import numpy as np
from scipy.optimize import rosen_der

import dualgrad as dg


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="dimension of x")
    parser.add_argument("--k", type=int, default=4, help="number of random tangent directions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-2, 2, args.n)
    V = rng.standard_normal((args.k, args.n))            # k tangents, the k axis first

    value, jvps = dg.jvp(rosen, (x,), (V,))              # one forward pass, k directional derivatives
    exact = V @ rosen_der(x)

    print(f"Rosenbrock in n = {args.n} dimensions at a random x, f(x) = {value:.6f}")
    print(f"{args.k} directional derivatives from ONE forward pass of dualgrad:\n")
    print(f"  {'i':>3}  {'dualgrad jvp':>22}  {'exact grad(f).v_i':>22}  {'rel. error':>10}")
    for i, (a, b) in enumerate(zip(jvps, exact)):
        print(f"  {i:>3}  {a:>22.12f}  {b:>22.12f}  {abs(a - b) / max(abs(b), 1e-300):>10.1e}")

    _, grad = dg.jvp(rosen, (x,), (np.eye(args.n),))     # tangents = basis vectors: the whole gradient
    err = np.max(np.abs(grad - rosen_der(x))) / np.max(np.abs(rosen_der(x)))
    print(f"\nfull gradient from one pass with the {args.n} basis vectors as tangents: "
          f"max relative error vs rosen_der {err:.1e}")
    worst = max(np.max(np.abs(jvps - exact) / np.maximum(np.abs(exact), 1e-300)), err)
    if worst > 1e-10:
        raise SystemExit(f"mismatch: worst relative error {worst:.1e}")
    print("all derivatives agree with the exact ones to 1e-10")


if __name__ == "__main__":
    main()
