"""Timing that survives a shared machine: interleaved rounds, medians and minima, BLAS and GEMM-peak info."""
from __future__ import annotations

import os
import platform
import random
import statistics
import time

import numpy as np


def interleaved(methods: dict, budget: float = 1.0, min_rounds: int = 7, max_rounds: int = 200, seed: int = 0,
                sync=None):
    """Seconds per call of every method, measured in rounds that call each method once in a random order
    (so slow drifts of the machine hit all methods alike). Returns ``{name: (median, min, rounds)}``.

    ``sync``: called after every call inside the timed interval — on a GPU, where a call only queues its
    kernels, the device synchronisation that makes the time the work's (``gpu_sync``)."""
    if sync is not None:
        methods = {name: (lambda f=f: (f(), sync())) for name, f in methods.items()}
    for f in methods.values():                       # warm up: caches, allocator, JIT compilation
        f()
        f()
    first = {}
    for name, f in methods.items():
        t0 = time.perf_counter()
        f()
        first[name] = time.perf_counter() - t0
    per_round = sum(first.values())
    rounds = int(min(max_rounds, max(min_rounds, budget * len(methods) / max(per_round, 1e-9))))
    times = {name: [t] for name, t in first.items()}
    order = list(methods)
    shuffle = random.Random(seed).shuffle
    for _ in range(rounds - 1):
        shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            methods[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(ts), min(ts), len(ts)) for name, ts in times.items()}


def blas_info() -> list[str]:
    from threadpoolctl import threadpool_info
    return [f"{d.get('internal_api')} {d.get('version')} kernel={d.get('architecture')} "
            f"threads={d.get('num_threads')}" for d in threadpool_info()]


def machine_info() -> dict:
    cpu = "?"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "?")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": blas_info(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def gpu_sync():
    """Wait for every kernel queued on the current CUDA device, by any library of this process (CuPy,
    PyTorch and JAX share the device: ``cudaDeviceSynchronize``)."""
    import cupy
    cupy.cuda.runtime.deviceSynchronize()


def gpu_info() -> dict:
    """The CUDA device and the versions of its stack, as CuPy sees them."""
    import cupy
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    version = cupy.cuda.runtime.runtimeGetVersion()
    driver = cupy.cuda.runtime.driverGetVersion()
    return {"gpu": props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"]),
            "gpu_memory_gib": round(props["totalGlobalMem"] / 2 ** 30, 1),
            "multiprocessors": props["multiProcessorCount"], "cupy": cupy.__version__,
            "cuda_runtime": f"{version // 1000}.{version % 1000 // 10}",
            "cuda_driver": f"{driver // 1000}.{driver % 1000 // 10}"}


def gemm_peak(dtype=np.float32, size: int = 2048, budget: float = 0.5, xp=np) -> float:
    """Measured GFLOP/s of one square GEMM (the machine's practical peak for this BLAS and dtype); with
    ``xp`` = CuPy, of cuBLAS on the GPU (synchronised after every product)."""
    rng = np.random.default_rng(0)
    a, b = (xp.asarray(rng.standard_normal((size, size)).astype(dtype)) for _ in range(2))
    c = xp.empty((size, size), dtype)
    sync = None if xp is np else gpu_sync
    median, best, _ = interleaved({"gemm": lambda: xp.matmul(a, b, out=c)}, budget, sync=sync)["gemm"]
    return 2.0 * size ** 3 / best / 1e9
