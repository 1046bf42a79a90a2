"""Gradient sources against the exact gradient, and the training loop: learning, resume, divergence,
early stopping, diagnostics."""
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad import checkpoint, data, nn, train
from dualgrad.errors import ConfigMismatchError, InvalidArgumentError, RunDirectoryError
from dualgrad.gradients import make_gradient_source, num_activities

Z = 5.0


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def tiny_model(seed=0, width=12, dtype=np.float64):
    return nn.FCNet(64, width, 2, 10, rng=np.random.default_rng(seed)).astype(dtype)


def batch(digits, size=8, dtype=np.float64):
    return digits.train.x[:size].astype(dtype), digits.train.y[:size]


def flat(grads, names):
    return np.concatenate([np.ravel(grads[n]) for n in names])


# ----- gradient sources -----------------------------------------------------------------------------------------
def test_exact_gradient_matches_forward_mode_directional_derivatives(digits):
    model = tiny_model()
    params = model.parameters()
    x, y = batch(digits)
    loss, grads = make_gradient_source("exact")(model, params, x, y, nn.Context())
    rng = np.random.default_rng(0)
    tangents = {n: rng.standard_normal((3,) + p.shape) for n, p in params.items()}
    value, jvps = dg.jvp(lambda p: dg.softmax_cross_entropy(model.forward(x, p, nn.Context()), y), (params,),
                         (tangents,))
    assert loss == pytest.approx(float(value), rel=1e-12)
    expected = sum(np.tensordot(tangents[n], grads[n], axes=grads[n].ndim) for n in params)
    np.testing.assert_allclose(jvps, expected, rtol=1e-10)


@pytest.mark.parametrize("source", ["weight", "activity"])
def test_projection_with_k_at_least_n_is_the_exact_gradient(digits, source):
    model = tiny_model()
    params = model.parameters()
    x, y = batch(digits)
    n = num_activities(model, (1, 8, 8)) if source == "activity" else model.num_parameters()
    _, exact = make_gradient_source("exact")(model, params, x, y, nn.Context())
    loss, est = make_gradient_source(source, method="projection", k=n)(model, params, x, y, nn.Context(),
                                                                      np.random.default_rng(1))
    np.testing.assert_allclose(flat(est, params), flat(exact, params), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("source", ["weight", "activity"])
def test_mean_estimate_is_unbiased(digits, source):
    model = tiny_model(width=6)
    params = model.parameters()
    x, y = batch(digits, 4)
    _, exact = make_gradient_source("exact")(model, params, x, y, nn.Context())
    estimator = make_gradient_source(source, method="mean", k=2)
    rng = np.random.default_rng(2)
    draws = np.stack([flat(estimator(model, params, x, y, nn.Context(), rng)[1], params) for _ in range(3000)])
    se = draws.std(axis=0, ddof=1) / math.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - flat(exact, params)) <= Z * se + 1e-12)


def test_fg_needs_k_one_and_unknown_source():
    with pytest.raises(ValueError, match="k = 1"):
        make_gradient_source("activity", method="fg", k=4)
    with pytest.raises(ValueError, match="unknown gradient source"):
        make_gradient_source("backprop")


def test_activity_count_is_2w_plus_10():
    assert num_activities(nn.FCNet(784, 256, 2, 10, rng=np.random.default_rng(0)), (1, 28, 28)) == 522


# ----- the loop --------------------------------------------------------------------------------------------------
def quick(**kw):
    options = dict(grad="activity", method="projection", k=16, lr=0.4, epochs=6, batch_size=64, seed=0)
    return options | kw


@pytest.mark.parametrize("grad, method, k, lr", [("exact", "projection", 1, 0.1), ("activity", "projection", 16, 0.4)])
def test_short_training_beats_chance_by_a_wide_margin(digits, grad, method, k, lr):
    model = nn.FCNet(64, 128, 2, 10, rng=np.random.default_rng(0))
    history = train.fit(model, digits, progress=False, **quick(grad=grad, method=method, k=k, lr=lr, epochs=8))
    assert history.rows[0]["test_acc"] < 0.25
    assert history.final()["test_acc"] > 0.6, history.final()


def test_metrics_files_and_resume_bit_for_bit(digits, tmp_path):
    full = train.fit(tiny_model(), digits, out=tmp_path / "full", progress=False, **quick())
    half = train.fit(tiny_model(), digits, out=tmp_path / "half", progress=False, **quick(epochs=3))
    assert len(half.rows) == 4
    resumed = train.fit(tiny_model(seed=99), digits, out=tmp_path / "half", resume=True, progress=False,
                        **quick(epochs=3) | {"epochs": 6})
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full.rows]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.rows] == strip
    lines = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 7 and set(train.FIELDS) <= set(json.loads(lines[0]))
    assert (tmp_path / "full" / "metrics.csv").read_text().splitlines()[0] == ",".join(train.FIELDS)
    assert json.loads((tmp_path / "full" / "summary.json").read_text())["stopped"] == "epoch budget reached"


def test_resume_with_other_settings_is_refused(digits, tmp_path):
    train.fit(tiny_model(), digits, out=tmp_path, progress=False, **quick(epochs=1))
    with pytest.raises(ConfigMismatchError, match=r"configuration \(training.lr: 0.4 in config.json, 0.1 now\)"):
        train.fit(tiny_model(), digits, out=tmp_path, resume=True, progress=False, **quick(epochs=2, lr=0.1))
    with pytest.raises(RunDirectoryError, match="nothing to resume"):
        train.fit(tiny_model(), digits, out=tmp_path / "empty", resume=True, progress=False, **quick())


def test_divergence_stops_and_keeps_the_last_good_checkpoint(digits, tmp_path):
    model = tiny_model()
    history = train.fit(model, digits, out=tmp_path, progress=False, **quick(grad="exact", lr=1e4, epochs=5))
    assert history.stopped.startswith("diverged in epoch 1") and "restored" in history.stopped
    assert len(history.rows) == 1
    arrays, meta = checkpoint.load(tmp_path / "checkpoint.npz")
    assert meta["epoch"] == 0
    for name, value in model.parameters().items():
        assert np.all(np.isfinite(value))
        np.testing.assert_array_equal(value, arrays[f"params/{name}"])


def test_early_stopping(digits):
    history = train.fit(tiny_model(), digits, progress=False, **quick(patience=1, min_delta=10.0, epochs=5))
    assert history.stopped.startswith("early stopping") and len(history.rows) == 3     # epochs 0, 1 (best), 2


def test_diagnostics_log_cosine_and_norm_ratio(digits, tmp_path):
    train.fit(tiny_model(), digits, out=tmp_path, progress=False, **quick(epochs=1, diagnostics_every=5, k=4))
    rows = [json.loads(line) for line in (tmp_path / "diagnostics.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(-1 <= r["cosine"] <= 1 and r["norm_ratio"] > 0 for r in rows)
    assert np.mean([r["cosine"] for r in rows]) > 0


def test_unknown_option_is_a_named_error(digits):
    with pytest.raises(InvalidArgumentError, match="unknown settings"):
        train.fit(tiny_model(), digits, progress=False, learning_rate=0.1)


# ----- validation: every setting by type and range, named errors only -------------------------------------------
SETTINGS = {   # valid and invalid values of every TrainConfig field
    "grad": ["activity", "weight", "exact", "backprop", 3], "method": ["projection", "fg", "mean", "median", None],
    "k": [1, 3, 0, -2, 2.0, True, "4"], "sampler": ["normal", "angle", "orthonormal", "gaussian"],
    "lr": [0.1, 0, -1.0, float("nan"), float("inf"), "0.1"], "optimizer": ["sgd", "adam", "rmsprop"],
    "momentum": [0.0, 0.9, 1.0, -0.5], "weight_decay": [0.0, -1.0, float("nan")],
    "lr_schedule": ["constant", "step", "cosine", "linear"], "batch_size": [16, 0, -5, 2.5],
    "eval_batch_size": [64, 0], "epochs": [1, 0, -3], "patience": [1, 0], "min_delta": [0.0, -1.0, float("nan")],
    "loss_bound": [10.0, float("inf"), 0.0, float("nan")], "seed": [0, 5, -1, None],
    "diagnostics_every": [0, 2, -1], "threads": [1, None, 0], "backend": ["numpy", "tpu", None],
    "sampler_options": [{}, {"angle": 30}, {"angle": 400}, {"angle": float("nan")}, {"max_length": 2}, {"bogus": 1},
                        "angle=30"],
}


@given(overrides=st.dictionaries(st.sampled_from(sorted(SETTINGS)), st.integers(0, 6), max_size=5),
       with_out=st.booleans())
def test_fit_fuzz_trains_or_raises_a_named_error_before_writing(tmp_path_factory, overrides, with_out):
    settings = {name: SETTINGS[name][i % len(SETTINGS[name])] for name, i in overrides.items()}
    splits = data.teacher_student(n_train=48, n_val=16, n_test=16, features=6, hidden=8)
    model = nn.FCNet(6, 4, 1, 10, rng=np.random.default_rng(0))
    out = tmp_path_factory.mktemp("fit") / "run" if with_out else None
    try:
        history = train.fit(model, splits, progress=False, out=out, **({"epochs": 1} | settings))
    except InvalidArgumentError:
        assert out is None or not out.exists(), settings
        return
    assert history.status in ("finished", "diverged") and history.rows[0]["epoch"] == 0


# ----- backends: where the run lives (the GPU half is tests/test_gpu_training.py) --------------------------------
NO_GPU = pytest.mark.skipif("cupy" in dg.backend.available(), reason="this machine has CuPy and a GPU")


def without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("grad", ["exact", "weight", "activity"])
def test_backend_numpy_given_is_the_default_bit_for_bit(digits, grad):
    default, given_model = tiny_model(), tiny_model()
    a = train.fit(default, digits, progress=False, **quick(grad=grad, epochs=2, k=4, lr=0.05))
    b = train.fit(given_model, digits, progress=False, backend="numpy", **quick(grad=grad, epochs=2, k=4, lr=0.05))
    assert without_seconds(a.rows) == without_seconds(b.rows)
    assert a.config["training"]["backend"] == b.config["training"]["backend"] == "numpy"
    for name, value in default.parameters().items():
        assert type(value) is np.ndarray
        np.testing.assert_array_equal(value, given_model.parameters()[name], err_msg=name)


def test_unknown_backend_is_a_named_error(digits, tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"backend must be one of \('numpy', 'cupy'\), got 'tpu'"):
        train.fit(tiny_model(), digits, progress=False, out=tmp_path / "run", backend="tpu")
    assert not (tmp_path / "run").exists()


@NO_GPU
def test_backend_cupy_without_a_gpu_raises_before_anything_is_written(digits, tmp_path):
    with pytest.raises(dg.BackendUnavailableError, match=r"pip install 'dualgrad\[gpu\]'|no CUDA device"):
        train.fit(tiny_model(), digits, progress=False, out=tmp_path / "run", backend="cupy")
    assert not (tmp_path / "run").exists()


def test_tangent_parallel_training_refuses_a_gpu_backend(digits):
    class TwoRanks:
        size = 2
    with pytest.raises(InvalidArgumentError, match="tangent-parallel .* does not run on backend 'cupy'"):
        train.fit(tiny_model(), digits, progress=False, parallel=TwoRanks(), backend="cupy")


def test_resume_on_another_backend_is_refused(digits, tmp_path):
    train.fit(tiny_model(), digits, out=tmp_path, progress=False, **quick(epochs=1))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["training"]["backend"] == "numpy"
    config["training"]["backend"] = "cupy"                        # as a run on the GPU would have written it
    (tmp_path / "config.json").write_text(json.dumps(config))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ConfigMismatchError, match=r"training.backend: \"cupy\" in config.json, \"numpy\" now"):
        train.fit(tiny_model(), digits, out=tmp_path, resume=True, progress=False, **quick(epochs=2))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_run_written_before_the_backend_setting_resumes_on_numpy(digits, tmp_path):
    full = train.fit(tiny_model(), digits, progress=False, **quick(epochs=2))
    train.fit(tiny_model(), digits, out=tmp_path, progress=False, **quick(epochs=1))
    config = json.loads((tmp_path / "config.json").read_text())
    del config["training"]["backend"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    resumed = train.fit(tiny_model(), digits, out=tmp_path, resume=True, progress=False, **quick(epochs=2))
    assert without_seconds(resumed.rows) == without_seconds(full.rows)


def test_moving_to_numpy_keeps_numpy_arrays_as_they_are(digits):
    model = nn.LeNet5(1, 10, image_size=8, rng=np.random.default_rng(0))
    before = {**model.parameters(), **model.buffers()}
    assert model.to("numpy") is model
    assert all(a is before[n] for n, a in {**model.parameters(), **model.buffers()}.items())
    assert digits.train.to("numpy") is digits.train
    moved = digits.to("numpy")
    assert all(getattr(moved, part) is getattr(digits, part) for part in ("train", "val", "test"))
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        model.to("tpu")
