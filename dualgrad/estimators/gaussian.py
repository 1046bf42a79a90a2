"""Large draws of N(0, 1) numbers — weight perturbation's k × P tangents — drawn fast: float32 by the
Box–Muller sampler, block by block on worker threads; and, inside ``prefetch_tangents``, float32 and
float64 a step ahead on a background thread.

**The float32 numbers.** A draw of m ≥ ``GAUSSIAN_BLOCK`` numbers takes ``ceil(m / GAUSSIAN_BLOCK)`` seeds
from the caller's Generator (``rng.integers(0, 2⁶³)``, one per block) and nothing else; block i is filled by
``_box_muller`` from ``SFC64(seed_i)``. So the result is a deterministic function of the Generator's state
and the shape, whichever threads fill which blocks, and the Generator advances by the seeds alone. The
blocks are handed out one at a time to whichever thread asks next: ``draw_workers()`` threads (the cores
this process may run on, at most ``backend.MAX_WORKERS``, whatever BLAS's thread count — the draw runs
NumPy ufuncs and bit generators, which release the GIL and do not spin). Smaller draws and float64 are
NumPy's own ``rng.standard_normal`` (its numbers for a seed).

**Prefetching.** ``with prefetch_tangents():`` draws the *next* draw while the caller computes: after
every large draw from ``rng``, a background thread starts the draw that the same call would make next —
from a copy of ``rng``, so ``rng`` itself is untouched. The next real call gets it if it is that call:
for float32, its seeds (just taken from ``rng``) and shape are the predicted ones; for float64 (one
sequential NumPy stream, filled by one thread), ``rng``'s state and the shape are those the guess started
from, and ``rng`` is then set to the state after it. Otherwise the guess is dropped and the call draws
afresh. Either way the call returns exactly the numbers it would return without prefetching and leaves
``rng`` exactly where it would, so a checkpoint of ``rng`` between two steps, and a run resumed from it,
are unchanged. A guess costs one more array of the draw's size while it waits. ``fit`` prefetches for
weight perturbation (docs/training.md).
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


class _Stream:
    """NumPy's own ``standard_normal`` of ``shape`` and ``dtype`` from a copy of ``rng``: one sequential stream,
    so one thread fills it, ``GAUSSIAN_BLOCK`` numbers at a time (the numbers of one call: the ziggurat
    takes the stream number by number); ``result`` fills it itself if no thread has started."""

    def __init__(self, rng, shape: tuple, dtype):
        self.state = rng.bit_generator.state                 # the key: rng's state before the draw
        self.shape, self.dtype = shape, np.dtype(dtype)
        self._rng = copy.deepcopy(rng)
        self.out = np.empty(shape, self.dtype)
        self._started = self._finished = self._stop = False
        self.error: BaseException | None = None
        self._cond = threading.Condition()

    def matches(self, rng, shape: tuple, dtype) -> bool:
        return self.shape == shape and self.dtype == dtype and _same(self.state, rng.bit_generator.state)

    def work(self) -> None:
        with self._cond:
            if self._started or self._stop:
                return
            self._started = True
        try:
            flat = self.out.reshape(-1)
            for lo in range(0, flat.size, GAUSSIAN_BLOCK):
                if self._stop:
                    break
                self._rng.standard_normal(dtype=self.dtype, out=flat[lo:lo + GAUSSIAN_BLOCK])
        except BaseException as e:           # noqa: BLE001 — kept for the caller, raised by result()
            self.error = e
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.wait_for(lambda: self._finished or not self._started)

    def result(self) -> np.ndarray:
        self.work()
        with self._cond:
            self._cond.wait_for(lambda: self._finished)
        if self.error is not None:
            raise self.error
        return self.out

    def advance(self, rng) -> None:
        """Leave ``rng`` where the draw would have left it."""
        rng.bit_generator.state = self._rng.bit_generator.state


def _same(a, b) -> bool:
    """Two bit-generator states (dicts of ints, strings and, for MT19937, an array) are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return type(a) is type(b) and a == b


def _seeds(rng, size: int) -> np.ndarray:
    """The block seeds of a draw of ``size`` numbers: all that the draw takes from ``rng``."""
    return rng.integers(0, 2 ** 63, size=-(-size // GAUSSIAN_BLOCK))


def standard_normal(rng, shape, dtype) -> np.ndarray:
    """An array of independent N(0, 1) numbers of ``shape`` and ``dtype`` (float32 or float64) from the NumPy
    Generator ``rng`` (see the module docstring): small draws and float64 NumPy's own, large float32 draws
    the block sampler's; large ones from the guess of this thread's ``prefetch_tangents`` when it holds."""
    shape, dtype = tuple(shape), np.dtype(dtype)
    size = math.prod(shape)
    prefetch = getattr(_active, "prefetch", None)
    if size < GAUSSIAN_BLOCK:
        return rng.standard_normal(shape, dtype=dtype)
    if dtype != np.float32:
        return rng.standard_normal(shape, dtype=dtype) if prefetch is None else prefetch.stream(rng, shape, dtype)
    seeds = _seeds(rng, size)
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
        self._next: _Draw | _Stream | None = None          # the guess at the next draw
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name=f"dualgrad-tangents-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def _serve(self) -> None:
        while (draw := self._jobs.get()) is not None:
            draw.work()

    def _start(self, draw):
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
        """The float32 draw of ``seeds`` (just taken from ``rng``), then a guess at the next one started."""
        t0 = time.perf_counter()
        if isinstance(self._next, _Draw) and self._next.matches(seeds, shape):
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

    def stream(self, rng, shape: tuple, dtype) -> np.ndarray:
        """NumPy's own draw from ``rng`` (float64), then a guess at the next one started."""
        t0 = time.perf_counter()
        guess = self._next
        if isinstance(guess, _Stream) and guess.matches(rng, shape, dtype):
            self._next = None
            self.prefetched += 1
        else:
            self._drop_guess()
            guess = None
        try:
            if guess is None:
                out = rng.standard_normal(shape, dtype=dtype)
            else:
                out = guess.result()
                guess.advance(rng)
        finally:
            self.draws += 1
            self.waited_seconds += time.perf_counter() - t0
        self._next = self._start(_Stream(rng, shape, dtype))
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
