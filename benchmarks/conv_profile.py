"""Where the time of a conv net's k-tangent pass goes: dualgrad's pass by primitive, beside the peers' whole pass.

    python benchmarks/conv_profile.py [--net resnet] [--k 16] [--reps 5] [--retain]

The problem is that of ``dualgrad bench --suite conv`` (``dualgrad.bench.conv.methods``: batch 128, float32,
tangents on every weight and bias). dualgrad: every outermost call of a primitive (``registry.bind``, wrapped
for this run in the modules that call it) is timed with ``perf_counter`` and summed per primitive, the
median over ``--reps`` passes; conv2d calls are told apart by their input and weight shapes. The peers
installed (torch.func ``vmap(jvp)``, JAX ``jit(vmap(jvp))``) give their whole pass, timed alike. (PyTorch's
profiler is not used: over this vmap-of-jvp pass it held on to memory until the machine ran out.)
``--retain`` keeps freed memory mapped (``backend.retain_freed_memory``) as ``dualgrad bench --malloc retain``
does; every method runs in this one process, under the same setting.
"""
from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time


def _key(name: str, operands) -> str:
    """A conv2d call by its input and weight shapes (one row per layer), any other primitive by its name."""
    if name != "conv2d":
        return name
    x, w = (getattr(o, "primal", o) for o in operands[:2])
    return f"conv2d {tuple(x.shape[1:])} * {tuple(w.shape)}"


def dualgrad_by_primitive(f, reps: int) -> tuple[float, dict]:
    """(median seconds per pass, {primitive: median seconds per pass}) of the dualgrad pass ``f``."""
    from dualgrad import registry
    original, depth = registry.bind, [0]
    spent: dict = collections.defaultdict(float)

    def timed(prim, *operands, **params):
        depth[0] += 1
        start = time.perf_counter()
        try:
            return original(prim, *operands, **params)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                spent[_key(prim.name, operands)] += time.perf_counter() - start

    callers = [m for name, m in list(sys.modules.items())
               if name.startswith("dualgrad") and getattr(m, "bind", None) is original]
    for module in callers:
        module.bind = timed
    try:
        f()                                                          # warm-up
        totals, per_rep = [], []
        for _ in range(reps):
            spent.clear()
            start = time.perf_counter()
            f()
            totals.append(time.perf_counter() - start)
            per_rep.append(dict(spent))
    finally:
        for module in callers:
            module.bind = original
    names = {n for rep in per_rep for n in rep}
    return statistics.median(totals), {n: statistics.median(rep.get(n, 0.0) for rep in per_rep) for n in names}


def median_time(f, reps: int) -> float:
    """Median seconds per call of ``f`` over ``reps`` calls, after one warm-up call."""
    f()
    totals = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        totals.append(time.perf_counter() - start)
    return statistics.median(totals)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", default="resnet")
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--retain", action="store_true", help="keep freed memory mapped (mallopt)")
    p.add_argument("--top", type=int, default=20, help="rows per table")
    args = p.parse_args(argv)
    from dualgrad.backend import retain_freed_memory
    if args.retain:
        retain_freed_memory()
    from dualgrad.bench import conv
    methods = conv.methods(args.net, args.k)
    total, parts = dualgrad_by_primitive(methods["dualgrad jvp"][0], args.reps)
    print(f"{args.net}, k = {args.k}, {'retained memory' if args.retain else 'default malloc'}")
    print(f"\ndualgrad jvp: {1e3 * total:.0f} ms per pass; by primitive (ms per pass, share)")
    for name, s in sorted(parts.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {name:60s} {1e3 * s:8.1f} {100 * s / total:5.0f}%")
    for name in ("torch.func vmap(jvp)", "jax jit(vmap(jvp))"):
        if name in methods:
            print(f"{name}: {1e3 * median_time(methods[name][0], args.reps):.0f} ms per pass")


if __name__ == "__main__":
    main()
