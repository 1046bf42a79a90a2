"""Where the time of a conv net's k-tangent pass goes: dualgrad's by primitive, torch.func's by ATen operator.

    python benchmarks/conv_profile.py [--net resnet] [--k 16] [--reps 5] [--retain]

The problem is that of ``dualgrad bench --suite conv`` (``dualgrad.bench.conv.methods``: batch 128, float32,
tangents on every weight and bias). dualgrad: every outermost call of a primitive (``registry.bind``, wrapped
for this run in the modules that call it) is timed with ``perf_counter`` and summed per primitive, the
median over ``--reps`` passes; conv2d calls are told apart by their input and weight shapes. torch.func
``vmap(jvp)``: ``torch.profiler`` over ``--reps`` passes, the self CPU time per ATen operator (what vmap and
jvp decompose the pass into; convolutions by shape) divided by the reps. ``--retain`` keeps freed memory
mapped (``backend.retain_freed_memory``) as ``dualgrad bench --malloc retain`` does; both libraries run in
this one process, under the same setting.
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


def torch_by_operator(f, reps: int) -> tuple[float, dict]:
    """(median seconds per pass, {ATen operator: self CPU seconds per pass}) of the torch pass ``f``."""
    from torch.profiler import ProfilerActivity, profile
    f()
    totals = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        totals.append(time.perf_counter() - start)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(reps):
            f()
    parts: dict = collections.defaultdict(float)
    for e in prof.key_averages(group_by_input_shape=True):       # convolutions by their input and weight shapes
        key = f"{e.key} {e.input_shapes[0][1:]} * {e.input_shapes[1]}" if "convolution" in e.key else e.key
        parts[key] += e.self_cpu_time_total / 1e6 / reps
    return statistics.median(totals), dict(parts)


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
    if "torch.func vmap(jvp)" in methods:
        total, parts = torch_by_operator(methods["torch.func vmap(jvp)"][0], args.reps)
        print(f"\ntorch.func vmap(jvp): {1e3 * total:.0f} ms per pass; by ATen operator, self CPU "
              "(ms per pass, share of the pass)")
        for name, s in sorted(parts.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {name:60s} {1e3 * s:8.1f} {100 * s / total:5.0f}%")


if __name__ == "__main__":
    main()
