"""``dualgrad bench``: the benchmark suite of docs/performance.md, with interleaved timing.

Suites: ``mlp`` (the k-tangent MLP pass), ``conv`` (LeNet-5, a 4-layer conv net and the residual net), ``step`` (one
training step of the FCNet, LeNet-5 and the residual net), ``memory`` (peak memory against depth), plus
the GEMM peak of this machine. Every timing table gives the median ms per call, the ratio to the NumPy
primal forward, to the hand-written/fused NumPy version, to the best installed peer, GFLOP/s and the
share of the measured GEMM peak. Peers (PyTorch, JAX) are optional: absent ones are skipped with a note.

The conv suite runs each malloc setting of ``MALLOC`` in a fresh process of its own, so that every
method of a table — dualgrad and the peers alike — runs under the same process-wide setting; the other
suites run in this process (the ``dualgrad`` command keeps freed memory mapped).

``backend="cupy"`` runs the mlp and conv suites on the GPU: dualgrad and the hand-written versions on
CuPy, PyTorch and JAX on CUDA, every call timed to the device's synchronisation (``timing.gpu_sync``),
the GEMM peak that of cuBLAS. Host malloc settings do not apply there (the conv suite runs once, in this
process); the step and memory suites measure NumPy training and stay on the CPU.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..backend import BACKENDS, get
from ..errors import InvalidArgumentError
from . import conv, mlp, training
from .peers import to_host, versions
from .timing import gemm_peak, gpu_info, gpu_sync, interleaved, machine_info

SUITES = ("mlp", "conv", "step", "memory")
#: the suites that run on a GPU (``--backend cupy``)
GPU_SUITES = ("mlp", "conv")

#: how the conv suite's processes return freed memory: glibc's defaults (large blocks mapped fresh and
#: unmapped when freed), or kept mapped for reuse (``backend.retain_freed_memory``'s mallopt)
MALLOC = {"default": "glibc's default malloc", "retain": "freed memory kept mapped (mallopt)"}


def primal_name(backend: str) -> str:
    """The row of the primal forward pass (no tangents), the denominator of the "x primal" column."""
    return "numpy primal forward" if backend == "numpy" else f"{backend} primal forward"


def _check(methods, rtol=1e-3):
    """All methods computing tangents must agree with dualgrad's (relative to the largest value)."""
    ref = to_host(methods["dualgrad jvp"][0]())
    for name, (f, kind) in methods.items():
        if kind in ("hand", "peer"):
            got = to_host(f())
            err = float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
            if err > rtol:
                raise AssertionError(f"{name} disagrees with dualgrad: relative difference {err:.1e}")


def _fmt(value, spec=".2f"):
    return "-" if value is None else format(value, spec)


def _table(title, primal_s, results, kinds, flop, peak):
    """Rows (and their printed table) for one timing group; ratios against the primal, the hand-written
    NumPy version (or its GEMM floor) and the best peer. ``flop`` is (primal FLOPs, k-tangent pass FLOPs):
    the primal forward's GFLOP/s counts its own work only."""
    numpy_best = min((results[n][0] for n in results if kinds[n] in ("hand", "floor")), default=None)
    peers = [results[n][0] for n in results if kinds[n] == "peer"]
    best_peer = min(peers) if peers else None
    lines = [f"\n{title}", f"{'method':44s} {'ms':>9s} {'x primal':>9s} {'x NumPy':>8s} {'x peer':>7s} "
                           f"{'GFLOP/s':>8s} {'% peak':>7s}"]
    rows = []
    for name, (median, best, rounds) in sorted(results.items(), key=lambda kv: kv[1][0]):
        work = (flop[0] if kinds[name] == "primal" else flop[1]) if flop else None
        gflops = work / median / 1e9 if work else None
        pct = 100 * gflops / peak if gflops else None
        rows.append({"method": name, "kind": kinds[name], "ms": median * 1e3, "min_ms": best * 1e3,
                     "rounds": rounds, "x_primal": median / primal_s,
                     "x_numpy": median / numpy_best if numpy_best else None,
                     "x_best_peer": median / best_peer if best_peer else None, "gflops": gflops, "pct_peak": pct})
        r = rows[-1]
        lines.append(f"{name:44s} {median * 1e3:9.2f} {r['x_primal']:9.2f} {_fmt(r['x_numpy']):>8s} "
                     f"{_fmt(r['x_best_peer']):>7s} {_fmt(gflops, '.1f'):>8s} {_fmt(pct, '.0f'):>7s}")
    return "\n".join(lines), rows


def _conv_tables(nets, ks, budget, malloc, threads, peers, backend="numpy") -> list:
    """Time the conv groups in this process under ``malloc`` (a fresh process: see ``run``; None on the GPU):
    [(net, k, results, kinds)]."""
    from threadpoolctl import threadpool_limits

    from ..backend import retain_freed_memory
    if malloc == "retain":
        retain_freed_memory()
    sync = gpu_sync if backend == "cupy" else None
    tables = []
    for net in nets:
        for k in ks:
            methods = conv.methods(net, k, peers, backend)
            with threadpool_limits(threads):
                _check(methods)
                results = interleaved({primal_name(backend): conv.primal(net, backend)}
                                      | {n: f for n, (f, _) in methods.items()}, budget, sync=sync)
            tables.append((net, k, results, {n: kind for n, (_, kind) in methods.items()}))
    return tables


def check_backend(backend: str, suites) -> None:
    """A usage error unless ``backend`` can run ``suites``; the GPU backend must be usable here."""
    if backend not in BACKENDS:
        raise InvalidArgumentError(f"bench: unknown backend {backend!r}; choose one of {BACKENDS}")
    if backend == "cupy":
        cpu_only = [s for s in suites if s not in GPU_SUITES]
        if cpu_only:
            raise InvalidArgumentError(f"bench: the suites {cpu_only} time NumPy training and run on the CPU only; "
                                       f"with --backend cupy choose among {list(GPU_SUITES)}")
        get("cupy")                                  # BackendUnavailableError without CuPy or a CUDA device


def run(suites=SUITES, ks=(1, 4, 16, 64), budget: float = 1.0, print_fn=print, *, nets=tuple(conv.NETS),
        malloc=tuple(MALLOC), threads: int | None = None, peers: bool = True, backend: str = "numpy",
        on_table=None) -> dict:
    """Run the suites; returns a JSON-serialisable report (and prints the tables as it goes; ``on_table(report)``
    is called after each one, with ``report["finished"]`` False until the last).

    ``nets``: the conv suite's networks; ``malloc``: its settings (``MALLOC``), each in a fresh spawned
    process with ``threads`` BLAS threads; ``peers``: also time PyTorch and JAX when installed;
    ``backend``: "numpy", or "cupy" for dualgrad on the GPU beside the peers on CUDA (``GPU_SUITES``)."""
    check_backend(backend, suites)
    gpu = backend == "cupy"
    xp, sync = get(backend), gpu_sync if gpu else None
    report = {"machine": machine_info(), "backend": backend, "peers": versions("gpu" if gpu else "cpu"),
              "groups": [], "finished": False}
    if gpu:
        report["machine"]["gpu"] = gpu_info()
    peak = gemm_peak(np.float32, size=8192 if gpu else 2048, budget=budget, xp=xp)
    report["gemm_peak_gflops_f32"] = peak
    print_fn(f"machine: {report['machine']['cpu']} x{report['machine']['cores']}; numpy {np.__version__}; "
             f"BLAS {'; '.join(report['machine']['blas'])}; OPENBLAS_CORETYPE={report['machine']['OPENBLAS_CORETYPE']}")
    if gpu:
        info = report["machine"]["gpu"]
        print_fn(f"gpu: {info['gpu']} ({info['gpu_memory_gib']} GiB, {info['multiprocessors']} SMs); cupy "
                 f"{info['cupy']}; CUDA runtime {info['cuda_runtime']}, driver {info['cuda_driver']}; float32 "
                 "without TF32 everywhere")
    print_fn(f"peers: torch {report['peers']['torch']}; jax {report['peers']['jax']}")
    print_fn(f"float32 GEMM peak ({'8192³, cuBLAS' if gpu else '2048³'}): {peak:.1f} GFLOP/s")

    def table(title, results, kinds, flop, key, extra=None):
        kinds = {primal_name(backend): "primal"} | kinds
        text, rows = _table(title, results[primal_name(backend)][0], results, kinds, flop, peak)
        print_fn(text)
        report["groups"].append({"group": key, "title": title, "rows": rows} | (extra or {}))
        if on_table is not None:
            on_table(report)

    def group(title, primal_fn, methods, flop, key):
        results = interleaved({primal_name(backend): primal_fn} | {n: f for n, (f, _) in methods.items()}, budget,
                              sync=sync)
        table(title, results, {n: kind for n, (_, kind) in methods.items()}, flop, key)

    where = ", on the GPU" if gpu else ""
    if "mlp" in suites:
        for k in ks:
            methods = mlp.methods(k, backend, peers)
            _check(methods)
            group(f"MLP 784-1024-1024-10, batch 128, float32, k = {k} ({mlp.flops(k) / 1e9:.3f} GFLOP){where}",
                  mlp.primal(backend), methods, (mlp.flops(0), mlp.flops(k)),
                  {"suite": "mlp", "k": k} | ({"backend": backend} if gpu else {}))
    if "conv" in suites and gpu:                     # no host malloc setting to vary: once, in this process
        for net, k, results, kinds in _conv_tables(nets, ks, budget, None, threads, peers, backend):
            table(f"{net}, batch 128, float32, k = {k} ({conv.flops(net, k) / 1e9:.3f} GFLOP){where}", results,
                  kinds, (conv.flops(net, 0), conv.flops(net, k)),
                  {"suite": "conv", "net": net, "k": k, "backend": backend})
    elif "conv" in suites:
        for setting in malloc:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as process:
                tables = process.submit(_conv_tables, nets, [k for k in ks if k <= 16], budget, setting, threads,
                                        peers).result()
            for net, k, results, kinds in tables:
                table(f"{net}, batch 128, float32, k = {k} ({conv.flops(net, k) / 1e9:.3f} GFLOP), "
                      f"{MALLOC[setting]}", results, kinds, (conv.flops(net, 0), conv.flops(net, k)),
                      {"suite": "conv", "net": net, "k": k, "malloc": setting})
    if "step" in suites:
        for net, (title, _, _) in training.STEP_NETS.items():
            methods = training.methods(net, peers)
            results = interleaved({primal_name(backend): training.primal(net)}
                                  | {n: f for n, (f, _) in methods.items()}, budget)
            kinds = {n: kind for n, (_, kind) in methods.items()}
            loop = training.weight_loop(budget) if net == "fcnet" else None
            if loop:
                results |= loop["results"]
                kinds |= dict.fromkeys(loop["results"], "dualgrad")
            table(f"one training step, {title}, batch {training.BATCH}, float32 (frog k = {training.K})", results,
                  kinds, None, {"suite": "step", "net": net}, loop and {"tangent_wait": loop["wait"]})
            if loop:
                wait = loop["wait"]
                print_fn(f"{training.LOOP_PREFETCH}: the training thread waits a median {wait['median_ms']:.1f} "
                         f"ms of a median {1e3 * loop['results'][training.LOOP_PREFETCH][0]:.1f} ms step for its "
                         f"tangents ({100 * wait['median_share']:.0f}%; {100 * wait['share']:.0f}% of the loop's wall "
                         f"time over {wait['steps']} steps); meanwhile the draw runs on a background thread, on the "
                         "core that one-threaded BLAS leaves idle")
    if "memory" in suites:
        rows = training.peak_memory()
        print_fn("\npeak memory of one step (MiB of NumPy allocations), MLP width 256, batch 64, k = 16")
        names = [key for key in rows[0] if key != "hidden_layers"]
        print_fn(f"{'hidden layers':>13s} " + " ".join(f"{n:>28s}" for n in names))
        for r in rows:
            print_fn(f"{r['hidden_layers']:13d} " + " ".join(f"{r[n]:28.1f}" for n in names))
        report["memory"] = rows
    report["finished"] = True
    return report


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="dualgrad bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_command(parser.parse_args(argv))


def add_arguments(p) -> None:
    p.add_argument("--suite", nargs="+", choices=SUITES, default=list(SUITES), help="which suites (default all)")
    from ..argtypes import output_file, positive_float, positive_int
    p.add_argument("--k", type=positive_int, nargs="+", default=[1, 4, 16, 64],
                   help="numbers of tangents (default 1 4 16 64)")
    p.add_argument("--budget", type=positive_float, default=1.0, help="seconds of timed calls per method (default 1)")
    p.add_argument("--threads", type=positive_int, help="BLAS threads (default: the library's)")
    p.add_argument("--net", nargs="+", choices=list(conv.NETS), default=list(conv.NETS),
                   help="the conv suite's networks (default all)")
    p.add_argument("--malloc", choices=[*MALLOC, "both"], default="both",
                   help="the conv suite's malloc setting, each in a fresh process: default (glibc's), retain "
                        "(freed memory kept mapped, as the dualgrad command sets) or both (the default)")
    p.add_argument("--no-peers", dest="peers", action="store_false", help="time dualgrad and NumPy only")
    p.add_argument("--backend", choices=BACKENDS, default="numpy",
                   help="numpy (default), or cupy: the mlp and conv suites on the GPU, dualgrad on CuPy beside "
                        "PyTorch and JAX on CUDA (the gpu extra; PyTorch and JAX builds with CUDA)")
    p.add_argument("--json", type=output_file, help="also write the report to this JSON file")
    p.add_argument("--plot", type=output_file, help="also write a PNG of time against k (matplotlib, the plot extra)")


def run_command(args) -> int:
    from threadpoolctl import threadpool_limits
    check_backend(args.backend, args.suite)          # before anything runs or is written
    def save(report):                                 # after every table: an interrupted run keeps its tables
        if args.json:
            partial = f"{args.json}.partial"
            with open(partial, "w") as fh:
                json.dump(report, fh, indent=1, default=str)
            os.replace(partial, args.json)

    with threadpool_limits(args.threads):
        report = run(args.suite, args.k, args.budget, nets=tuple(args.net),
                     malloc=tuple(MALLOC) if args.malloc == "both" else (args.malloc,), threads=args.threads,
                     peers=args.peers, backend=args.backend, on_table=save)
    if args.json:
        save(report)
        print(f"wrote {args.json}")
    if args.plot:
        from .plot import plot_report
        try:
            print(f"wrote {plot_report(report, args.plot)}")
        except ImportError:
            print("matplotlib is not installed (pip install 'dualgrad[plot]'): no plot written")
    return 0
