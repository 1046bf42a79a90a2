"""Prefetched float32 Gaussian draws (estimators.prefetch_tangents): the same numbers and Generator states as
without prefetching, whatever the calls do between draws; training with it equal to training without, and
resumable bit for bit; errors of the background threads raised in the caller's; nothing left behind."""
import contextlib
import copy
import math
import threading

import numpy as np
import pytest

from dualgrad import data, nn, train
from dualgrad import estimators as est
from dualgrad.errors import InvalidArgumentError

BLOCK = 256          # GAUSSIAN_BLOCK for these tests: small draws take the block sampler, in many blocks


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(est.gaussian, "GAUSSIAN_BLOCK", BLOCK)


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("dualgrad-tangents")]


def session(rng, prefetch):
    """A sequence of draws as a caller may make them: repeated shapes (the guess holds), a new shape, a draw
    from rng between two (the guess misses), a small draw (not prefetched), float64 draws (NumPy's stream,
    prefetched too; 2100 numbers: not a whole number of GAUSSIAN_BLOCK)."""
    out = []
    for shape, between in [((4, 1000), 0), ((4, 1000), 0), ((4, 1000), 0), ((3, 700), 0), ((3, 700), 1),
                           ((3, 700), 0), ((2, 10), 0), ((3, 700), 0), ((4, 1000), 0), ((4, 1000), 0)]:
        if between:
            out.append(rng.random(between))
        out.append(est.sample_tangents(shape[0], shape[1], "normal", rng, dtype=np.float32))
    for _ in range(3):
        out.append(est.sample_tangents(3, 700, "normal", rng))                 # float64: NumPy's own numbers
    out.append(rng.random(2))
    out.append(est.sample_tangents(3, 700, "normal", rng))
    out.append(est.sample_tangents(3, 700, "normal", rng, dtype=np.float32))
    return out, rng.bit_generator.state


@pytest.mark.parametrize("seed, bit_generator", [(0, np.random.PCG64), (1, np.random.PCG64), (2, np.random.MT19937),
                                                 (3, np.random.SFC64)])
def test_prefetched_draws_are_the_draws_without_prefetching(seed, bit_generator):
    plain, plain_state = session(np.random.Generator(bit_generator(seed)), None)
    with est.prefetch_tangents() as prefetch:
        got, state = session(np.random.Generator(bit_generator(seed)), prefetch)
    assert len(got) == len(plain)
    for a, b in zip(got, plain):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert est.gaussian._same(state, plain_state)         # the Generator advanced exactly as far
    assert prefetch.draws == 14 and prefetch.prefetched == 6       # the guesses that held were used
    assert prefetch_threads() == [] and prefetch._next is None


def test_prefetching_with_several_threads_and_a_nested_block():
    expected = [est.sample_tangents(5, 999, "normal", np.random.default_rng(7), dtype=np.float32)]
    rng = np.random.default_rng(7)
    with est.prefetch_tangents(workers=3) as outer:
        assert len(prefetch_threads()) == 3
        with est.prefetch_tangents() as inner:
            assert inner is outer and len(prefetch_threads()) == 3
            got = est.sample_tangents(5, 999, "normal", rng, dtype=np.float32)
        assert len(prefetch_threads()) == 3                # the inner block leaves the outer one's threads
    np.testing.assert_array_equal(got, expected[0])
    assert prefetch_threads() == []


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_are_named_errors(workers):
    with pytest.raises(InvalidArgumentError, match="workers must be an integer >= 1"):
        with est.prefetch_tangents(workers=workers):
            pass
    assert prefetch_threads() == []


class Boom(RuntimeError):
    pass


def fail_blocks(monkeypatch, in_threads=""):
    """Make the block sampler raise Boom in threads whose name starts with ``in_threads`` (every thread for
    ""); returns the list of the names of the threads where it raised."""
    real, failed = est.gaussian._box_muller, []

    def box_muller(rng, out):
        name = threading.current_thread().name
        if name.startswith(in_threads):
            failed.append(name)
            raise Boom("a block failed")
        real(rng, out)
    monkeypatch.setattr(est.gaussian, "_box_muller", box_muller)
    return failed


def in_time(body, seconds=60):
    """Run ``body`` on a thread and return its exception (or None); a hang fails the test, not the run."""
    outcome = {}

    def run():
        try:
            body()
        except BaseException as e:        # noqa: BLE001 — handed to the test
            outcome["error"] = e
    thread = threading.Thread(target=run)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung"
    return outcome.get("error")


def failed_guess(prefetch, rng, shape):
    """Start the guess that prefetch would start after a draw from ``rng`` and wait until the background
    threads are done with it (they alone fill it: the caller does not draw meanwhile)."""
    guess = prefetch._next = prefetch._start(est.gaussian._Draw(est.gaussian._seeds(copy.deepcopy(rng),
                                                                                      math.prod(shape)), shape))
    with guess._cond:
        assert guess._cond.wait_for(lambda: guess._busy == 0 and (guess._stop or guess._next == len(guess.seeds)),
                                    30)
    return guess


def test_an_error_in_a_background_thread_is_raised_by_the_draw_that_needs_its_numbers(monkeypatch):
    failed = fail_blocks(monkeypatch, "dualgrad-tangents")
    rng = np.random.default_rng(1)

    def body():
        with est.prefetch_tangents() as prefetch:
            assert failed_guess(prefetch, rng, (2, 3000)).error is not None and failed
            est.sample_tangents(2, 3000, "normal", rng, dtype=np.float32)
    assert isinstance(in_time(body), Boom)
    assert prefetch_threads() == []


def test_an_error_of_an_unused_guess_is_raised_when_the_block_ends(monkeypatch):
    fail_blocks(monkeypatch, "dualgrad-tangents")
    rng = np.random.default_rng(2)

    def body():
        with est.prefetch_tangents() as prefetch:
            failed_guess(prefetch, rng, (2, 3000))
    assert isinstance(in_time(body), Boom)
    assert prefetch_threads() == []

    def failing_body():                   # the block's own exception is not replaced by the background's
        with est.prefetch_tangents() as prefetch:
            failed_guess(prefetch, rng, (2, 3000))
            raise KeyError("the body's")
    assert isinstance(in_time(failing_body), KeyError)
    assert prefetch_threads() == []


def test_an_error_while_every_thread_draws_surfaces_and_stops_them(monkeypatch):
    fail_blocks(monkeypatch)

    def body():
        with est.prefetch_tangents(workers=2):
            est.sample_tangents(4, 5000, "normal", np.random.default_rng(3), dtype=np.float32)
    assert isinstance(in_time(body), Boom)
    assert prefetch_threads() == []
    error = in_time(lambda: est.sample_tangents(4, 5000, "normal", np.random.default_rng(3), dtype=np.float32))
    assert isinstance(error, Boom)                                   # without prefetching too


# ----- training ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def model(dtype=np.float32, seed=0):
    return nn.FCNet(64, 12, 2, 10, rng=np.random.default_rng(seed)).astype(dtype)


OPTIONS = dict(grad="weight", method="projection", k=16, lr=0.05, epochs=4, batch_size=128, seed=3)


@pytest.fixture
def prefetches(monkeypatch):
    """The Prefetch of every prefetch_tangents block that fit opens."""
    seen, real = [], est.prefetch_tangents

    @contextlib.contextmanager
    def recording(*args, **kwargs):
        with real(*args, **kwargs) as prefetch:
            seen.append(prefetch)
            yield prefetch
    monkeypatch.setattr(train, "prefetch_tangents", recording)
    return seen


def parameters(m):
    return {n: a.copy() for n, a in m.parameters().items()}


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])      # the block sampler; NumPy's stream (the CLI's)
def test_weight_perturbation_training_prefetches_and_equals_training_without(digits, monkeypatch, prefetches, dtype):
    with_prefetch = model(dtype)
    history = train.fit(with_prefetch, digits, progress=False, **OPTIONS)
    assert len(prefetches) == 1 and prefetches[0].prefetched >= prefetches[0].draws - 1 > 0
    assert prefetch_threads() == [] and prefetches[0]._next is None
    monkeypatch.setattr(train, "prefetch_tangents", contextlib.nullcontext)
    without = model(dtype)
    plain = train.fit(without, digits, progress=False, **OPTIONS)
    assert without_seconds(history.rows) == without_seconds(plain.rows)
    for name, value in parameters(without).items():
        np.testing.assert_array_equal(with_prefetch.parameters()[name], value)
    moved = [not np.array_equal(a, model(dtype).parameters()[n]) for n, a in with_prefetch.parameters().items()]
    assert all(moved)                                              # every parameter was trained


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_perturbation_resumed_mid_way_equals_the_uninterrupted_run(digits, tmp_path, prefetches, dtype):
    full_model = model(dtype)
    full = train.fit(full_model, digits, out=tmp_path / "full", progress=False, **OPTIONS)
    train.fit(model(dtype), digits, out=tmp_path / "half", progress=False, **OPTIONS | {"epochs": 2})
    resumed_model = model(dtype, seed=9)
    resumed = train.fit(resumed_model, digits, out=tmp_path / "half", resume=True, progress=False,
                        **OPTIONS | {"epochs": 2} | {"epochs": 4})
    assert all(p.prefetched > 0 for p in prefetches) and len(prefetches) == 3
    assert without_seconds(resumed.rows) == without_seconds(full.rows)
    for name, value in parameters(full_model).items():
        np.testing.assert_array_equal(resumed_model.parameters()[name], value)
    assert prefetch_threads() == []


def test_a_failing_draw_stops_training_with_its_error_and_leaves_no_thread(digits, monkeypatch, tmp_path):
    fail_blocks(monkeypatch)
    with pytest.raises(Boom):
        train.fit(model(), digits, out=tmp_path, progress=False, **OPTIONS)
    assert prefetch_threads() == []
