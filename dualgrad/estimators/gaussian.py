"""Large float32 draws of N(0, 1) numbers — the k × P tangents of weight perturbation — drawn fast: the
Box–Muller sampler, block by block on worker threads, and, inside ``prefetch_tangents``, a step ahead.

**The numbers.** A draw of m numbers takes ``ceil(m / GAUSSIAN_BLOCK)`` seeds from the caller's
Generator (``rng.integers(0, 2⁶³)``, one per block) and nothing else; block i is filled by ``_box_muller``
from ``SFC64(seed_i)``. So the result is a deterministic function of the Generator's state and the
shape, whichever threads fill which blocks, and the Generator advances by the seeds alone.

**Threads.** The blocks are handed out one at a time to whichever thread asks next: ``draw_workers()``
threads (the cores this process may run on, at most ``backend.MAX_WORKERS``, whatever BLAS's thread
count — the draw runs NumPy ufuncs and bit generators, which release the GIL and do not spin).

**Prefetching.** ``with prefetch_tangents():`` draws the *next* draw while the caller computes: after
every draw from ``rng``, a background thread starts drawing the one that the same call would give next
— from a copy of ``rng``'s state, so ``rng`` itself is untouched. When the next real call takes its
seeds from ``rng`` and they are the predicted ones (and the shape is the same), it gets the prefetched
array, helping to fill the blocks not yet done; otherwise the guess is dropped and it draws afresh.
Either way it returns exactly the numbers it would return without prefetching and advances ``rng``
exactly as far, so a checkpoint of ``rng`` between two steps, and a run resumed from it, are unchanged.
A guess costs one more array of the draw's size while it waits. ``fit`` prefetches for weight
perturbation (docs/training.md).
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import queue
import threading
import time

import numpy as np

from ..backend import MAX_WORKERS, run_parallel
from ..errors import InvalidArgumentError

#: numbers per block of the float32 Gaussian sampler (one child generator per block); smaller draws
#: take NumPy's ziggurat (``tangents.normal``)
GAUSSIAN_BLOCK = 1 << 20
#: pairs per pass of the Box–Muller arithmetic (two float32 buffers of 64 KiB: within a core's L2 cache)
BOX_MULLER_PAIRS = 1 << 14


def draw_workers() -> int:
    """Threads that fill the blocks of one draw: the cores this process may run on, at most MAX_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _box_muller(rng, out):
    """Fill the float32 vector ``out`` with independent N(0, 1) numbers: pairs r cos θ, r sin θ with
    r = √(−2 ln u₁), u₁ ∈ (0, 1] on a 2⁻⁵³ grid (float64 draws, rounded to float32 after the subtraction:
    small u₁, the tail, keep their precision), and θ = 2π u₂ with a float32 draw u₂.

    The uniforms are drawn for the whole vector (all u₁, then all u₂); the arithmetic runs over
    ``BOX_MULLER_PAIRS`` pairs at a time on two reused buffers that stay in the core's cache (20% faster
    than whole-vector passes; the same numbers)."""
    m = out.size
    half = (m + 1) // 2
    u1 = rng.random(half)
    u2 = rng.random(half, dtype=np.float32)
    size = min(half, BOX_MULLER_PAIRS)
    radius, angle = np.empty(size, np.float32), np.empty(size, np.float32)
    for lo in range(0, half, size):
        hi = min(half, lo + size)
        r, a = radius[:hi - lo], angle[:hi - lo]
        np.subtract(1.0, u1[lo:hi], out=r, casting="same_kind")
        np.log(r, out=r)
        r *= np.float32(-2)
        np.sqrt(r, out=r)
        np.multiply(u2[lo:hi], np.float32(2 * math.pi), out=a)
        z1 = out[lo:hi]                                       # first halves: r cos θ
        np.cos(a, out=z1)
        z1 *= r
        top = min(hi, m - half)                               # second halves: r sin θ (one fewer if m is odd)
        if top > lo:
            z2 = out[half + lo:half + top]
            np.sin(a[:top - lo], out=z2)
            z2 *= r[:top - lo]


class _Draw:
    """One float32 draw of ``shape`` from the block seeds ``seeds``: any thread may call ``work`` to fill
    blocks until none is left; ``result`` helps, waits for the blocks other threads are filling, and
    returns the array or raises the first error any of them met."""

    def __init__(self, seeds: np.ndarray, shape: tuple):
        self.seeds, self.shape = seeds, shape
        self.out = np.empty(shape, np.float32)
        self._flat = self.out.reshape(-1)
        self._next = 0                    # the next block to hand out
        self._busy = 0                    # blocks being filled now
        self._stop = False                # cancelled, or an error: hand out no more blocks
        self.error: BaseException | None = None
        self._cond = threading.Condition()

    def matches(self, seeds: np.ndarray, shape: tuple) -> bool:
        return self.shape == shape and np.array_equal(self.seeds, seeds)

    def work(self) -> None:
        while True:
            with self._cond:
                if self._stop or self._next == len(self.seeds):
                    return
                i = self._next
                self._next += 1
                self._busy += 1
            try:
                block = self._flat[i * GAUSSIAN_BLOCK:(i + 1) * GAUSSIAN_BLOCK]
                _box_muller(np.random.Generator(np.random.SFC64(int(self.seeds[i]))), block)
            except BaseException as e:       # noqa: BLE001 — kept for the caller, raised by result()
                with self._cond:
                    self.error = self.error or e
                    self._stop = True
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def cancel(self) -> None:
        """Hand out no more blocks and wait for those being filled (at most one per thread)."""
        with self._cond:
            self._stop = True
            self._cond.wait_for(lambda: self._busy == 0)

    def result(self) -> np.ndarray:
        self.work()
        with self._cond:
            self._cond.wait_for(lambda: self._busy == 0)
        if self.error is not None:
            raise self.error
        return self.out


def _seeds(rng, size: int) -> np.ndarray:
    """The block seeds of a draw of ``size`` numbers: all that the draw takes from ``rng``."""
    return rng.integers(0, 2 ** 63, size=-(-size // GAUSSIAN_BLOCK))


def standard_normal_float32(rng, shape) -> np.ndarray:
    """A float32 array of independent N(0, 1) numbers of ``shape`` (see the module docstring): from the
    prefetch of this thread's ``prefetch_tangents`` when one is active, else filled now by ``draw_workers``
    threads."""
    shape = tuple(shape)
    seeds = _seeds(rng, math.prod(shape))
    prefetch = getattr(_active, "prefetch", None)
    if prefetch is not None:
        return prefetch.draw(rng, seeds, shape)
    draw = _Draw(seeds, shape)
    run_parallel([draw.work] * min(draw_workers(), len(seeds)))
    return draw.result()


# ----- prefetching ---------------------------------------------------------------------------------------------
_active = threading.local()          # .prefetch: the Prefetch of this thread's innermost prefetch_tangents


class Prefetch:
    """The state of one ``prefetch_tangents`` block: its background threads, the guessed next draw, and
    what the caller's thread spent on draws (``draws``, ``prefetched``: how many came from a guess,
    ``waited_seconds``: the time the caller spent inside them, waiting for blocks or filling them)."""

    def __init__(self, workers: int):
        self.draws = self.prefetched = 0
        self.waited_seconds = 0.0
        self._next: _Draw | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name=f"dualgrad-tangents-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def _serve(self) -> None:
        while (draw := self._jobs.get()) is not None:
            draw.work()

    def _start(self, draw: _Draw) -> _Draw:
        for _ in self._threads:
            self._jobs.put(draw)
        return draw

    def _drop_guess(self) -> None:
        """Cancel the guessed draw; an error it met is raised here (it would have been the caller's)."""
        guess, self._next = self._next, None
        if guess is not None:
            guess.cancel()
            if guess.error is not None:
                raise guess.error

    def draw(self, rng, seeds: np.ndarray, shape: tuple) -> np.ndarray:
        """The draw of ``seeds`` (just taken from ``rng``), then a guess at the next one started."""
        t0 = time.perf_counter()
        if self._next is not None and self._next.matches(seeds, shape):
            draw, self._next = self._next, None
            self.prefetched += 1
        else:
            self._drop_guess()
            draw = self._start(_Draw(seeds, shape))
        try:
            out = draw.result()
        except BaseException:
            draw.cancel()                            # an interrupt: the threads stop filling it
            raise
        finally:
            self.draws += 1
            self.waited_seconds += time.perf_counter() - t0
        ahead = copy.deepcopy(rng)                   # rng's state now: the next call's seeds, rng untouched
        self._next = self._start(_Draw(_seeds(ahead, math.prod(shape)), shape))
        return out

    def close(self, raise_errors: bool) -> None:
        """Cancel the guess, stop and join the threads; an error of the guess is raised if ``raise_errors``."""
        try:
            if raise_errors:
                self._drop_guess()
            else:
                with contextlib.suppress(BaseException):
                    self._drop_guess()
        finally:
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()


@contextlib.contextmanager
def prefetch_tangents(workers: int | None = None):
    """Within the block, every large float32 Gaussian draw of this thread (``sample_tangents(...,
    "normal", dtype=np.float32)`` of at least ``GAUSSIAN_BLOCK`` numbers) is followed by a background draw
    of the next one; yields the ``Prefetch`` with its counters. ``workers``: background threads (default
    ``draw_workers() - 1``, at least 1 — the cores that one-threaded BLAS leaves idle).

    The numbers and the Generators' states are exactly those without the block (module docstring). An
    error in a background thread is raised in the caller's thread at its next draw or when the block
    ends; on leaving, the pending draw is cancelled and the threads are joined (nothing stays behind).
    Nested blocks share the outer one's threads.
    """
    outer = getattr(_active, "prefetch", None)
    if outer is not None:
        yield outer
        return
    if workers is None:
        workers = max(1, draw_workers() - 1)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InvalidArgumentError(f"prefetch_tangents: workers must be an integer >= 1, got {workers!r}")
    prefetch = Prefetch(int(workers))
    _active.prefetch = prefetch
    failed = True
    try:
        yield prefetch
        failed = False
    finally:
        _active.prefetch = None
        prefetch.close(raise_errors=not failed)
