"""The conv rule's two choices on a GPU, measured: the chunk budget (``_conv_kernels.GPU_CHUNK_BYTES``) and
whether Winograd F(4×4, 3×3) pays there (``winograd_eligible``; on the CPU it does from 16 channels).

    python benchmarks/gpu_conv_policy.py [--k 16] [--budget 0.3] [--json out.json]

Times the k-tangent pass of the bench's conv nets (``dualgrad.bench.conv``: LeNet-5, the 4-layer net and the
residual net, batch 128, float32) with dualgrad on CuPy, for each chunk budget with Winograd on and off, interleaved and
synchronised after every call. Needs CuPy and a CUDA device.
"""
from __future__ import annotations

import argparse
import itertools
import json

import dualgrad as dg
from dualgrad.bench import conv
from dualgrad.bench.timing import gpu_sync, interleaved
from dualgrad.rules import _conv_kernels as kernels

CHUNKS_MIB = (16, 64, 256, 1024)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, nargs="+", default=[16])
    p.add_argument("--budget", type=float, default=0.3)
    p.add_argument("--json")
    args = p.parse_args(argv)
    dg.backend.get("cupy")
    rows = []
    for net, k in itertools.product(conv.NETS, args.k):
        f = conv.methods(net, k, peers=False, backend="cupy")["dualgrad jvp"][0]
        variants = {}
        eligible = kernels.winograd_eligible
        for mib, winograd in itertools.product(CHUNKS_MIB, (True, False)):
            def call(mib=mib, winograd=winograd):
                saved = kernels.GPU_CHUNK_BYTES
                kernels.GPU_CHUNK_BYTES = mib << 20
                kernels.winograd_eligible = (lambda x, w, s, d, g: tuple(w.shape[2:]) == (3, 3) and tuple(s) == (1, 1)
                                             and tuple(d) == (1, 1) and g == 1
                                             and min(w.shape[:2]) >= kernels.WINOGRAD_MIN_CHANNELS) if winograd \
                    else (lambda *a: False)
                try:
                    return f()
                finally:
                    kernels.GPU_CHUNK_BYTES, kernels.winograd_eligible = saved, eligible
            variants[f"chunks {mib} MiB, winograd {'on' if winograd else 'off'}"] = call
        results = interleaved(variants, args.budget, sync=gpu_sync)
        print(f"\n{net}, k = {k}, dualgrad jvp on CuPy (median ms, min ms)")
        for name, (median, best, rounds) in sorted(results.items(), key=lambda kv: kv[1][0]):
            print(f"  {name:34s} {median * 1e3:9.3f} {best * 1e3:9.3f}")
            rows.append({"net": net, "k": k, "variant": name, "ms": median * 1e3, "min_ms": best * 1e3,
                         "rounds": rounds})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
