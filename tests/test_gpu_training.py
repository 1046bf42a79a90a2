"""Training on the GPU (``backend="cupy"``) against the same run on NumPy. Needs CuPy and a CUDA device
(skipped otherwise); run them with ``python -m pytest -m gpu -n 0 tests/test_gpu_training.py``.

The two runs share the seed, so they see the same batches, tangents and dropout masks: all three are drawn
on the host by the same NumPy Generators, and the GPU run copies them to the device. The models are float64,
so the runs differ only by the order in which cuBLAS / CuPy and OpenBLAS / NumPy sum: after two epochs the
losses agree to far better than ``RTOL``.
"""
import dataclasses
import json

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import checkpoint, cli, data, nn, optim, train
from dualgrad.backend import to_numpy
from dualgrad.gradients import make_gradient_source
from dualgrad.recipes import build_model

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif("cupy" not in dg.backend.available(), reason="needs CuPy and a CUDA device")]

#: relative tolerance of a GPU number against the NumPy run's (float64 everywhere)
RTOL = 1e-6
LOSSES = ("train_loss", "val_loss", "test_loss")
#: learning rates that move the loss of the width-32 FC net well within two epochs
LR = {"exact": 0.1, "weight": 5.0, "activity": 0.5}


@pytest.fixture(scope="module")
def cupy():
    import cupy
    return cupy


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def fcnet(seed=0):
    return nn.FCNet(64, 32, 2, 10, rng=np.random.default_rng(seed))


def settings(grad, **kw):
    return dict(grad=grad, method="projection", k=16, lr=LR[grad], epochs=2, batch_size=64, seed=0) | kw


def assert_rows_close(gpu_rows, cpu_rows, rtol, what):
    assert len(gpu_rows) == len(cpu_rows), f"{what}: {len(gpu_rows)} epochs on the GPU, {len(cpu_rows)} on NumPy"
    for gpu, cpu in zip(gpu_rows, cpu_rows):
        for key in LOSSES:
            assert gpu[key] == pytest.approx(cpu[key], rel=rtol, abs=0), (
                f"{what}, epoch {gpu['epoch']}, {key}: cupy {gpu[key]!r} vs numpy {cpu[key]!r}")


def subset(splits, n):
    """The first n samples of every part (a conv net's epoch in a second)."""
    return data.Splits(*(dataclasses.replace(part, x=part.x[:n], y=part.y[:n])
                         for part in (splits.train, splits.val, splits.test)))


@pytest.mark.parametrize("grad", ["exact", "weight", "activity"])
def test_fcnet_on_the_gpu_follows_the_numpy_run(digits, cupy, monkeypatch, grad):
    cpu = train.fit(fcnet(), digits, progress=False, **settings(grad))
    assert cpu.rows[-1]["train_loss"] < cpu.rows[0]["train_loss"] - 0.02, "the NumPy run must learn something"
    seen = set()
    update = optim.SGD.update

    def recording(self, name, p, g, lr):
        seen.add((name, isinstance(p, cupy.ndarray), isinstance(g, cupy.ndarray)))
        return update(self, name, p, g, lr)
    monkeypatch.setattr(optim.SGD, "update", recording)
    model = fcnet()
    gpu = train.fit(model, digits, progress=False, backend="cupy", **settings(grad))
    on_host = sorted(name for name, p_on_gpu, g_on_gpu in seen if not (p_on_gpu and g_on_gpu))
    assert seen and not on_host, f"parameters or gradients not on the GPU during training: {on_host}"
    assert_rows_close(gpu.rows, cpu.rows, RTOL, f"fcnet, {grad}")
    for gpu_row, cpu_row in zip(gpu.rows, cpu.rows):
        for part in ("train", "val", "test"):
            assert abs(gpu_row[f"{part}_acc"] - cpu_row[f"{part}_acc"]) * len(getattr(digits, part)) <= 2, (
                f"{grad}, epoch {gpu_row['epoch']}: {part} accuracy {gpu_row[f'{part}_acc']} on cupy vs "
                f"{cpu_row[f'{part}_acc']} on numpy (more than two samples apart)")
    assert gpu.config["training"]["backend"] == "cupy"
    params = model.parameters()
    assert all(isinstance(p, cupy.ndarray) for p in params.values()), "after fit the parameters stay on the GPU"
    reference = fcnet()
    train.fit(reference, digits, progress=False, **settings(grad))
    for name, p in reference.parameters().items():
        np.testing.assert_allclose(to_numpy(params[name]), p, rtol=RTOL, atol=1e-9,
                                   err_msg=f"{grad}: parameter {name} after two epochs, cupy vs numpy")


@pytest.mark.parametrize("model_name", ["lenet5", "resnet"])
@pytest.mark.parametrize("grad", ["exact", "weight", "activity"])
def test_conv_model_step_on_the_gpu_equals_numpy(digits, cupy, model_name, grad):
    x, y = digits.train.x[:32], digits.train.y[:32]
    models = [build_model(model_name, (1, 8, 8), 10, width=8, rng=np.random.default_rng(3)) for _ in range(2)]
    models[1].to("cupy")
    results = []
    for model, xs, ys in ((models[0], x, y), (models[1], cupy.asarray(x), cupy.asarray(y))):
        source = make_gradient_source(grad, method="projection", k=8)
        ctx = nn.Context(rng=np.random.default_rng(2))
        results.append(source(model, model.parameters(), xs, ys, ctx, np.random.default_rng(1)))
    (loss_cpu, grads_cpu), (loss_gpu, grads_gpu) = results
    assert isinstance(loss_gpu, float)
    assert loss_gpu == pytest.approx(loss_cpu, rel=RTOL), f"{model_name}, {grad}: first-step loss"
    assert grads_gpu.keys() == grads_cpu.keys()
    for name, g in grads_cpu.items():
        assert isinstance(grads_gpu[name], cupy.ndarray), f"{model_name}, {grad}: gradient {name} left the GPU"
        scale = float(np.max(np.abs(g))) or 1.0
        error = float(np.max(np.abs(to_numpy(grads_gpu[name]) - g)))
        assert error <= RTOL * scale, (f"{model_name}, {grad}: gradient {name} differs by {error:.3g} "
                                       f"(scale {scale:.3g})")
    for name, b in models[0].buffers().items():                       # BatchNorm's running statistics moved alike
        np.testing.assert_allclose(to_numpy(models[1].buffers()[name]), b, rtol=RTOL, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("grad", ["weight", "activity"])
def test_lenet5_epoch_on_the_gpu_follows_the_numpy_run(digits, grad):
    small = subset(digits, 128)
    lr = {"weight": 10.0, "activity": 0.5}[grad]
    runs = [train.fit(build_model("lenet5", (1, 8, 8), 10, rng=np.random.default_rng(3)), small, progress=False,
                      **settings(grad, lr=lr, k=8, epochs=1), **backend)
            for backend in ({}, {"backend": "cupy"})]
    assert_rows_close(runs[1].rows, runs[0].rows, RTOL, f"lenet5, {grad}")


def test_checkpoint_and_resume_on_the_gpu_continue_the_run_exactly(digits, cupy, tmp_path):
    options = settings("activity", optimizer="adam", lr=0.003, epochs=3, backend="cupy")
    full = train.fit(fcnet(), digits, out=tmp_path / "full", progress=False, **options)
    train.fit(fcnet(), digits, out=tmp_path / "half", progress=False, **options | {"epochs": 1})
    model = fcnet(seed=99)
    resumed = train.fit(model, digits, out=tmp_path / "half", resume=True, progress=False, **options)
    for a, b in zip(resumed.rows, full.rows):
        for key in LOSSES + ("train_acc", "val_acc", "test_acc"):
            assert a[key] == pytest.approx(b[key], rel=1e-12, abs=0), (
                f"epoch {a['epoch']}, {key}: resumed {a[key]!r} vs uninterrupted {b[key]!r} (both on the GPU; a "
                "difference beyond 1e-12 means a nondeterministic kernel or state that the checkpoint missed)")
    assert all(isinstance(p, cupy.ndarray) for p in model.parameters().values()), "the resumed run left the GPU"
    for run in ("full", "half"):
        arrays, meta = checkpoint.load(tmp_path / run / "checkpoint.npz")
        assert meta["epoch"] == 3 and all(type(a) is np.ndarray for a in arrays.values())
        assert any(name.startswith("optim/m/") for name in arrays), "Adam's state must be in the checkpoint"
        assert json.loads((tmp_path / run / "config.json").read_text())["training"]["backend"] == "cupy"
        assert json.loads((tmp_path / run / "summary.json").read_text())["config"]["training"]["backend"] == "cupy"
    final, _ = checkpoint.load(tmp_path / "full" / "checkpoint.npz")
    for name, p in model.parameters().items():
        np.testing.assert_allclose(to_numpy(p), final[f"params/{name}"], rtol=1e-12, atol=0, err_msg=name)


def test_diagnostics_on_the_gpu_equal_numpy(digits, tmp_path):
    rows = []
    for name, backend in (("cpu", "numpy"), ("gpu", "cupy")):
        train.fit(fcnet(), digits, out=tmp_path / name, progress=False,
                  **settings("activity", epochs=1, diagnostics_every=5, backend=backend))
        rows.append([json.loads(line) for line in (tmp_path / name / "diagnostics.jsonl").read_text().splitlines()])
    assert len(rows[1]) == len(rows[0]) == 4
    for gpu, cpu in zip(rows[1], rows[0]):
        for key in ("cosine", "norm_ratio"):
            assert gpu[key] == pytest.approx(cpu[key], rel=RTOL), f"step {gpu['step']}: {key}"


def test_forward_gradient_of_gpu_parameters_with_a_host_generator(cupy):
    rng = np.random.default_rng(0)
    x = {"a": rng.standard_normal((5, 3)), "b": rng.standard_normal(7)}

    def f(p):
        return np.sum(np.tanh(p["a"])) + np.sum(p["b"] * p["b"])
    on_gpu = {n: cupy.asarray(a) for n, a in x.items()}
    value_cpu, g_cpu = dg.estimators.forward_gradient(f, x, k=4, rng=np.random.default_rng(1))
    value_gpu, g_gpu = dg.estimators.forward_gradient(f, on_gpu, k=4, rng=np.random.default_rng(1))
    assert float(value_gpu) == pytest.approx(float(value_cpu), rel=1e-12)
    for n in x:
        assert isinstance(g_gpu[n], cupy.ndarray), n
        np.testing.assert_allclose(to_numpy(g_gpu[n]), g_cpu[n], rtol=1e-10, atol=1e-12, err_msg=n)


def test_train_and_compare_commands_on_the_gpu(tmp_path, capsys):
    tiny = ["--width", "16", "--epochs", "1", "--no-progress", "--no-plot"]
    run = tmp_path / "train"
    assert cli.main(["train", "--k", "4", "--backend", "cupy", "--out", str(run)] + tiny) == 0
    assert "projection, k = 4, n = 42, on the GPU (cupy)" in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["training"]["backend"] == "cupy"
    assert cli.main(["train", "--resume", str(run), "--backend", "numpy", "--epochs", "2"]) == 2
    assert '(--backend: "cupy" in config.json, "numpy" now)' in capsys.readouterr().err
    assert cli.main(["train", "--resume", str(run), "--epochs", "2"]) == 0         # the backend from config.json
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert cli.main(["compare", "--k", "2", "--backend", "cupy", "--out", str(tmp_path / "cmp")] + tiny) == 0
    for name in ("bp", "fg", "mean_k2", "frog_k2"):
        config = json.loads((tmp_path / "cmp" / name / "config.json").read_text())
        assert config["training"]["backend"] == "cupy", name


def test_model_and_data_move_to_the_gpu_and_back(digits, cupy):
    model = nn.LeNet5(1, 10, image_size=8, rng=np.random.default_rng(0))
    host = {**model.parameters(), **model.buffers()}
    model.to("cupy")
    assert all(isinstance(a, cupy.ndarray) for a in {**model.parameters(), **model.buffers()}.values())
    model.to("numpy")
    for name, a in {**model.parameters(), **model.buffers()}.items():
        assert type(a) is np.ndarray and np.array_equal(a, host[name]), name
    on_gpu = digits.to("cupy")
    assert isinstance(on_gpu.val.x, cupy.ndarray) and isinstance(on_gpu.val.y, cupy.ndarray)
    assert np.array_equal(to_numpy(on_gpu.val.x), digits.val.x) and on_gpu.val.to("cupy") is on_gpu.val
    loss_cpu, acc_cpu = train.evaluate(model, model.parameters(), digits.val)
    model.to("cupy")
    with pytest.raises(dg.InvalidArgumentError, match="the data are numpy arrays and the parameters cupy arrays"):
        train.evaluate(model, model.parameters(), digits.val)
    loss_gpu, acc_gpu = train.evaluate(model, model.parameters(), on_gpu.val)
    assert type(loss_gpu) is float and loss_gpu == pytest.approx(loss_cpu, rel=RTOL), (loss_gpu, loss_cpu)
    assert abs(acc_gpu - acc_cpu) * len(digits.val) <= 1, f"accuracy {acc_gpu} on cupy vs {acc_cpu} on numpy"
