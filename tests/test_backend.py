"""backend: the worker threads of the CPU kernels (BLAS single-threaded while they run, then restored)."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import dualgrad as dg
from dualgrad import backend
from dualgrad.rules._util import select


def _blas_threads():
    return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_kernel_workers_follow_the_blas_thread_count():
    for threads in (1, 2, 5):
        with threadpool_limits(threads):
            assert backend.kernel_workers(np) == threads
    with threadpool_limits(1000):
        assert backend.kernel_workers(np) == backend.MAX_WORKERS


def test_run_parallel_returns_results_in_order_with_one_thread_blas_inside_and_restores_it():
    seen = []

    def task(i):
        seen.append((threading.current_thread().name, max(_blas_threads().values())))
        return i * i

    with threadpool_limits(2):
        before = _blas_threads()
        assert backend.run_parallel([lambda i=i: task(i) for i in range(5)]) == [0, 1, 4, 9, 16]
        assert _blas_threads() == before
    assert all(threads == 1 for _, threads in seen)
    assert all(name.startswith("dualgrad-kernel") for name, _ in seen)


def test_run_parallel_runs_a_single_task_in_the_calling_thread():
    assert backend.run_parallel([lambda: threading.current_thread()]) == [threading.current_thread()]
    assert backend.run_parallel([]) == []


def test_run_parallel_raises_the_first_error_after_every_task_ended_and_restores_blas():
    ended = []

    def slow():
        ended.append("slow")

    def fails():
        raise ValueError("boom")

    with threadpool_limits(2):
        before = _blas_threads()
        with pytest.raises(ValueError, match="boom"):
            backend.run_parallel([fails, slow])
        assert _blas_threads() == before
    assert ended == ["slow"]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_multiply_blocks_equals_the_product_and_keeps_the_layout(monkeypatch, k):
    monkeypatch.setattr(backend, "SPLIT_BYTES", 0)                 # split even a small block
    rng = np.random.default_rng(0)
    t = rng.standard_normal((k, 4, 3, 5, 6)).transpose(0, 4, 1, 2, 3)      # a batch-last block
    factor = rng.standard_normal((6, 4, 3, 5)).astype(np.float32)
    with threadpool_limits(3):
        got = backend.multiply_blocks(t, factor)
    np.testing.assert_array_equal(got, t * factor)
    assert got.dtype == np.float64 and got.strides == t.strides


@pytest.mark.parametrize("k", [1, 2, 5])
def test_matmul_blocks_splits_small_gemms_over_the_workers_with_the_same_values(monkeypatch, k):
    """Both tangent terms of matmul: a block (k, ..., B, I) in any layout times a matrix (I, O), and a
    matrix times a block (k, 1, I, O) broadcasting against a batch; the split runs on 3 workers, each
    calling BLAS with one thread."""
    rng = np.random.default_rng(1)
    block = rng.standard_normal((k, 3, 4, 6)).transpose(0, 1, 3, 2)       # (k, 3, 6, 4), not C-contiguous
    matrix, stack = rng.standard_normal((4, 5)), rng.standard_normal((2, 6, 4))
    dw = rng.standard_normal((k, 1, 4, 5)).astype(np.float32)
    seen = []
    run_parallel = backend.run_parallel
    monkeypatch.setattr(backend, "run_parallel", lambda tasks: seen.append(len(tasks)) or run_parallel(tasks))
    with threadpool_limits(3):
        for a, b in ((block, matrix), (stack, dw)):
            got = backend.matmul_blocks(a, b)
            np.testing.assert_allclose(got, np.matmul(a, b), rtol=1e-6)
            assert got.dtype == np.result_type(a, b) and got.flags.c_contiguous
    assert seen == ([] if k == 1 else [min(k, 3)] * 2)
    with threadpool_limits(3):                                          # large GEMMs keep BLAS's threads
        monkeypatch.setattr(backend, "SMALL_GEMM_FLOPS", 10)
        np.testing.assert_array_equal(backend.matmul_blocks(block, matrix), np.matmul(block, matrix))
    assert len(seen) == (0 if k == 1 else 2)


def test_matmul_blocks_leaves_duals_to_matmul():
    x = dg.Dual(np.ones((2, 3, 4)), np.ones((1, 2, 3, 4)))
    got = backend.matmul_blocks(x, np.ones((4, 2)))
    assert isinstance(got, dg.Dual) and got.shape == (2, 3, 2)


# ----- the host/device boundary (the CuPy path itself: tests/test_fakecupy.py and, on a GPU, the cupy tests) -----
def test_is_array_tells_arrays_from_numbers_lists_and_scalars():
    assert backend.is_array(np.zeros(3)) and backend.is_array(np.zeros(())) and backend.is_array(np.float64(2.0))
    assert not any(backend.is_array(x) for x in (1.0, 3, [1.0, 2.0], (1,), None))


def test_on_one_device_leaves_numpy_operands_alone_without_cupy_data():
    operands = (np.ones(2), [1.0, 2.0], 3.0)
    assert backend.on_one_device(operands) is operands


def test_a_special_function_cupy_lacks_is_a_named_error_that_names_it():
    import types
    gpu_special = backend._GpuSpecial(types.SimpleNamespace(erf=np.tanh))
    assert gpu_special.erf is np.tanh
    with pytest.raises(dg.BackendUnsupportedError, match=r"scipy.special.airy has no GPU version.*NumPy inputs"):
        _ = gpu_special.airy


def test_select_takes_a_scalar_condition_as_cupy_where_does_not():
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    assert select(True, a, b) is a and select(np.bool_(False), a, b) is b
    np.testing.assert_array_equal(select(np.array([True, False]), a, b), [1.0, 4.0])
