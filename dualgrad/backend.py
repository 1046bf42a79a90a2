"""The array module (NumPy or CuPy) is taken from the data, never from a global setting.

Nothing here imports CuPy unless CuPy is already imported (an array of it exists) or a caller asks
for it by name; a machine without CuPy never touches it.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from types import ModuleType

import numpy as np

from .errors import BackendUnavailableError, BackendUnsupportedError

BACKENDS = ("numpy", "cupy")


def namespace(*arrays) -> ModuleType:
    """The array module of the first CuPy array among ``arrays``, else NumPy.

    A Dual among them gives NumPy: NumPy's functions dispatch a Dual to dualgrad's rules (which then take
    the module of the arrays inside it), CuPy's would not.
    """
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        if any(hasattr(a, "tangent") and hasattr(a, "primal") for a in arrays):
            return np
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    return np


def is_array(x) -> bool:
    """Whether ``x`` is an array of NumPy (a NumPy scalar too) or CuPy (a CuPy array has no
    ``__array_namespace__``)."""
    cupy = sys.modules.get("cupy")
    return isinstance(x, np.ndarray) or hasattr(x, "__array_namespace__") or (
        cupy is not None and isinstance(x, cupy.ndarray))


def on_one_device(operands: tuple) -> tuple:
    """``operands`` with their NumPy arrays copied to the GPU when another operand's data lives there (a CuPy
    array, or a Dual of one), as JAX moves host data to the device; unchanged otherwise. A list or a number
    operand meets CuPy data this way too (``rules._util.sequence_as_array`` makes it a NumPy array first)."""
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return operands

    def data(x):
        while hasattr(x, "tangent") and hasattr(x, "primal"):
            x = x.primal
        return x
    if not any(isinstance(data(x), cupy.ndarray) for x in operands):
        return operands
    return tuple(cupy.asarray(x) if type(x) is np.ndarray and x.dtype.kind != "O" else x for x in operands)


def get(name: str) -> ModuleType:
    """The array module called ``name`` ("numpy" or "cupy"), with a clear error when it is absent."""
    if name == "numpy":
        return np
    if name != "cupy":
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    try:
        import cupy
    except ImportError as e:
        raise BackendUnavailableError(
            "backend 'cupy' was requested but CuPy is not installed. Install the GPU extra with "
            "pip install 'dualgrad[gpu]' (it pulls cupy-cuda12x; pick the wheel matching your CUDA), "
            "or use the 'numpy' backend.") from e
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or no device
        raise BackendUnavailableError(
            f"backend 'cupy' was requested; CuPy is installed but no CUDA device is usable ({e}). "
            "Use the 'numpy' backend on this machine.") from e
    return cupy


def available() -> tuple[str, ...]:
    """The backends that work on this machine: always "numpy", plus "cupy" with a usable GPU."""
    names = ["numpy"]
    try:
        get("cupy")
        names.append("cupy")
    except BackendUnavailableError:
        pass
    return tuple(names)


def asarray(x, backend: str | None = None):
    """``x`` as an array of ``backend`` (default: keep the array's own module)."""
    xp = namespace(x) if backend is None else get(backend)
    return xp.asarray(x)


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of a NumPy or CuPy array (for printing, plotting and saving)."""
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(x, cupy.ndarray):
        return cupy.asnumpy(x)
    return np.asarray(x)


def move(x, xp: ModuleType):
    """``x`` as an array of the module ``xp``: NumPy -> CuPy is one host-to-device copy, CuPy -> NumPy one
    device-to-host copy (``to_numpy``: CuPy refuses the implicit conversion of ``np.asarray``), and an array
    already of ``xp`` is returned as it is (no copy)."""
    return to_numpy(x) if xp is np else xp.asarray(x)


def special(xp: ModuleType):
    """The special-function module (erf, ...) matching ``xp``: scipy.special, or cupyx.scipy.special where a
    function it lacks raises ``BackendUnsupportedError`` naming the fix."""
    if xp is np:
        import scipy.special
        return scipy.special
    import cupyx.scipy.special
    return _GpuSpecial(cupyx.scipy.special)


class _GpuSpecial:
    """cupyx.scipy.special, with a named error for the functions of scipy.special it does not have."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        try:
            return getattr(self._module, name)
        except AttributeError:
            version = getattr(sys.modules.get("cupy"), "__version__", "?")
            raise BackendUnsupportedError(
                f"scipy.special.{name} has no GPU version in cupyx.scipy.special (CuPy {version}), so its rule "
                "cannot run on CuPy arrays; differentiate this function with NumPy inputs (cupy.asnumpy(x)) "
                "instead.") from None


def retain_freed_memory(threshold_bytes: int = 1 << 30) -> bool:
    """Let glibc's malloc serve arrays up to ``threshold_bytes`` from its heap and keep freed memory for reuse.

    By default glibc maps every allocation above a few MiB fresh from the kernel and unmaps it when freed,
    so each new large tangent block pays a page fault per 4 KiB page on first touch. A k-tangent pass makes
    several such blocks per layer; keeping the memory mapped saved 40% of the time of elementwise passes over
    32 MiB blocks on the benchmark machine (docs/performance.md). The process keeps its peak memory reserved
    afterwards. Linux/glibc only (``mallopt``); returns whether the setting took effect. The ``dualgrad``
    command calls it for its own process; a library import never does.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, threshold_bytes) and libc.mallopt(m_trim_threshold, 2 * threshold_bytes))


# ----- worker threads for the CPU kernels ---------------------------------------------------------
#: the most threads a kernel runs at once (between its NumPy calls a thread holds the GIL)
MAX_WORKERS = 8
_blas_libraries = None              # threadpoolctl's controllers of the loaded BLAS libraries
_blas_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None      # (pid that made it, the pool)


def _blas():
    global _blas_libraries
    if _blas_libraries is None:
        from threadpoolctl import ThreadpoolController
        _blas_libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas_libraries


def kernel_workers(xp) -> int:
    """Into how many pieces a kernel on the arrays of ``xp`` splits its work: the number of threads BLAS
    was given (``threadpoolctl.threadpool_limits`` or ``OPENBLAS_NUM_THREADS``), at most ``MAX_WORKERS``;
    1 for CuPy, whose kernels run on the GPU."""
    if xp is not np:
        return 1
    return max(1, min(MAX_WORKERS, max((lib.num_threads for lib in _blas()), default=1)))


def run_parallel(tasks: list) -> list:
    """The results of the independent callables ``tasks``, run at once on worker threads, with BLAS
    single-threaded while they run.

    NumPy and BLAS release the GIL, so the pieces of a kernel run on separate cores, each with its own
    one-thread GEMMs and elementwise passes. The alternative, one piece after another with BLAS's own
    threads, parallelises only the GEMMs, and pays a synchronisation of the BLAS threads per GEMM: for
    the hundreds of small GEMMs of a conv layer on a loaded machine that was 10× slower
    (docs/performance.md). BLAS's thread count is process-wide: other threads calling BLAS meanwhile run
    single-threaded; the previous count is restored afterwards. Parallel regions do not overlap (a lock).
    """
    global _pool
    if len(tasks) <= 1:
        return [task() for task in tasks]
    with _blas_lock:
        if _pool is None or _pool[0] != os.getpid():          # a forked child cannot use its parent's threads
            _pool = (os.getpid(), ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="dualgrad-kernel"))
        saved = [(lib, lib.num_threads) for lib in _blas()]
        for lib, _ in saved:
            lib.set_num_threads(1)
        try:
            futures = [_pool[1].submit(task) for task in tasks]
            wait(futures)
            return [f.result() for f in futures]
        finally:
            for lib, threads in saved:
                lib.set_num_threads(threads)


#: arrays below this many bytes are multiplied in one piece (a thread hand-off costs more than it saves)
SPLIT_BYTES = 4 << 20


def _shares(k: int, workers: int) -> list[tuple[int, int]]:
    """``workers`` contiguous ``(lo, hi)`` ranges of sizes as equal as can be, covering range(k)."""
    bounds = [k * i // workers for i in range(workers + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def column_shares(t) -> list[tuple[int, int]]:
    """How a kernel splits the k columns of a tangent block t (k, ...) over ``kernel_workers`` threads:
    ``(lo, hi)`` ranges, one per worker; one range for a block under ``SPLIT_BYTES``, a Dual or CuPy data."""
    k = t.shape[0]
    workers = 1 if not isinstance(t, np.ndarray) or t.nbytes < SPLIT_BYTES else min(kernel_workers(np), k)
    return _shares(k, workers)


def multiply_blocks(t, factor):
    """``t * factor`` for a tangent block t (k, ...) and a factor that broadcasts against ``t[0]``: for a
    large NumPy block, the k columns are split over ``kernel_workers`` threads (an elementwise pass runs
    on one core per call). The result keeps t's memory layout. Under nested differentiation t or the factor
    is a Dual of an outer level: the product then goes through the Dual's own rules (``t * factor``)."""
    xp = namespace(t, factor)
    if not isinstance(t, xp.ndarray) or not isinstance(factor, xp.ndarray | np.generic | float | int):
        return t * factor
    out = xp.empty_like(t, dtype=xp.result_type(t, factor))
    run_parallel([lambda lo=lo, hi=hi: xp.multiply(t[lo:hi], factor, out=out[lo:hi])
                  for lo, hi in column_shares(t)])
    return out


#: GEMMs of fewer FLOPs than this each are run on the kernel workers, one-thread each (``matmul_blocks``)
SMALL_GEMM_FLOPS = 1 << 25


def matmul_blocks(a, b):
    """``np.matmul(a, b)`` whose result's leading axis is the k tangent columns (a tangent block times a
    matrix, or a matrix times a tangent block): k GEMMs. When they are small (``SMALL_GEMM_FLOPS``) and BLAS
    has several threads, the k GEMMs are split over ``kernel_workers`` threads with one-thread GEMMs:
    each of NumPy's batched calls otherwise wakes and synchronises BLAS's threads once per GEMM, which on
    a loaded 2-core machine cost up to 40× the GEMMs themselves (the conv net's FC layer, k = 16 GEMMs
    (128, 4096) @ (4096, 10): 5 ms on one thread, 12–190 ms on BLAS's two; docs/performance.md). The
    values are the same GEMMs'; a Dual or CuPy operand goes through ``matmul`` unchanged."""
    xp = namespace(a, b)
    if xp is not np or not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or min(a.ndim, b.ndim) < 2:
        return xp.matmul(a, b)
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    workers = min(kernel_workers(np), shape[0])
    if workers < 2 or 2 * a.shape[-2] * a.shape[-1] * b.shape[-1] >= SMALL_GEMM_FLOPS:
        return np.matmul(a, b)
    out = np.empty(shape, dtype=np.result_type(a, b))

    def rows(x, lo, hi):                                     # x's share of the leading axis (unless broadcast)
        return x[lo:hi] if x.ndim == len(shape) and x.shape[0] == shape[0] else x

    run_parallel([lambda lo=lo, hi=hi: np.matmul(rows(a, lo, hi), rows(b, lo, hi), out=out[lo:hi])
                  for lo, hi in _shares(shape[0], workers)])
    return out
