"""The benchmark suite runs, cross-checks its methods and reports every column (timings are not tested)."""
import json

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import bench, cli, nn
from dualgrad.gradients import make_gradient_source


@pytest.fixture
def no_peers(monkeypatch):
    """Time dualgrad and NumPy only (CI has no torch/JAX; where they are installed they are slow to compile)."""
    monkeypatch.setattr(bench.mlp, "torch_methods", lambda *a: {})
    monkeypatch.setattr(bench.mlp, "jax_methods", lambda *a: {})


def test_bench_mlp_report(tmp_path, capsys, no_peers):
    out = tmp_path / "bench.json"
    plot = tmp_path / "bench.png"
    assert cli.main(["bench", "--suite", "mlp", "--k", "1", "2", "--budget", "0.01", "--json", str(out),
                     "--plot", str(plot)]) == 0
    text = capsys.readouterr().out
    assert "float32 GEMM peak" in text and "dualgrad jvp" in text and "GEMMs only (the floor)" in text
    report = json.loads(out.read_text())
    mlp = next(g for g in report["groups"] if g["group"]["suite"] == "mlp")
    names = {r["method"] for r in mlp["rows"]}
    assert {"numpy primal forward", "dualgrad jvp", "hand-fused NumPy, tangents (n,k,m)"} <= names
    assert all(r["ms"] > 0 and r["x_primal"] > 0 for r in mlp["rows"])
    primal = next(r for r in mlp["rows"] if r["kind"] == "primal")      # counts the primal's FLOPs only
    assert primal["gflops"] == pytest.approx(bench.mlp.flops(0) / primal["ms"] / 1e6)
    assert plot.stat().st_size > 0


def test_bench_conv_runs_each_malloc_setting_in_a_fresh_process(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--suite", "conv", "--net", "lenet5", "--k", "1", "--budget", "0.01", "--no-peers",
                     "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "glibc's default malloc" in text and "freed memory kept mapped" in text
    groups = [g for g in json.loads(out.read_text())["groups"] if g["group"]["suite"] == "conv"]
    assert [(g["group"]["net"], g["group"]["k"], g["group"]["malloc"]) for g in groups] == \
        [("lenet5", 1, "default"), ("lenet5", 1, "retain")]
    for g in groups:
        assert {r["method"] for r in g["rows"]} == {"numpy primal forward", "dualgrad jvp",
                                                   "hand-written im2col network"}


def test_bench_conv_child_sets_its_malloc_and_checks_the_methods(monkeypatch):
    """The child of the conv suite (here run in this process) applies the requested malloc setting."""
    calls = []
    monkeypatch.setattr("dualgrad.backend.retain_freed_memory", lambda: calls.append(1))
    tables = bench._conv_tables(["lenet5"], [2], 0.01, "retain", 1, False)
    assert calls == [1]
    (net, k, results, kinds), = tables
    assert (net, k) == ("lenet5", 2) and kinds["dualgrad jvp"] == "dualgrad"
    assert all(median > 0 and rounds >= 7 for median, _, rounds in results.values())


def test_bench_conv_resnet_counts_the_flops_of_its_convs_and_head():
    """ResNetSmall(width 16) on 3×32×32, per sample: stem 3→16 at 32², stage 1 two 16→16 at 32², stage 2
    16→32 (stride 2), 32→32 and a 1×1 shortcut at 16², stage 3 the same at 8², the 64→10 head. Every layer's
    tangent does X·dW and, except the stem (its input x carries none), dX·W."""
    convs = [(32, 3, 16, 3), (32, 16, 16, 3), (32, 16, 16, 3), (16, 16, 32, 3), (16, 32, 32, 3), (16, 16, 32, 1),
             (8, 32, 64, 3), (8, 64, 64, 3), (8, 32, 64, 1)]                      # (side, in, out, kernel)
    primal = sum(2 * side ** 2 * cin * cout * kk ** 2 for side, cin, cout, kk in convs) + 2 * 64 * 10
    stem = 2 * 32 ** 2 * 3 * 16 * 9
    assert bench.conv.flops("resnet", 0) == 128 * primal
    assert bench.conv.flops("resnet", 3) == 128 * (primal + 3 * (2 * primal - stem))


@pytest.fixture
def small_batch(monkeypatch):
    """The conv suite's problems with 8 samples instead of 128 (the same networks)."""
    monkeypatch.setattr(bench.conv, "BATCH", 8)


def test_bench_conv_resnet_jvp_is_the_exact_gradient_along_each_tangent(small_batch):
    """dualgrad's k derivatives of the residual net (batch statistics) against the reverse rules of dualgrad.nn:
    column i is ⟨∇L, tangent i⟩."""
    model, params, tangents, x, y = bench.conv.make_problem("resnet", 2)
    assert isinstance(model, nn.ResNetSmall) and x.shape == (8, 3, 32, 32) and x.dtype == np.float32
    got = bench.conv.methods("resnet", 2, peers=False)["dualgrad jvp"][0]()
    _, grads = make_gradient_source("exact")(model, dict(zip(model.parameters(), params)), x, y, nn.Context())
    expect = [sum(float(np.vdot(grads[name], t[i])) for name, t in zip(model.parameters(), tangents))
              for i in range(2)]
    np.testing.assert_allclose(got, expect, rtol=1e-3)


def test_bench_conv_resnet_peers_compute_the_same_derivatives(small_batch):
    """The PyTorch twin (functional_call, batch norm on batch statistics) and the JAX version of the module tree
    with dualgrad's parameters agree with dualgrad's jvp, as the check before timing demands."""
    methods = bench.conv.methods("resnet", 2)
    peers = [name for name, (_, kind) in methods.items() if kind == "peer"]
    if not peers:
        pytest.skip("neither PyTorch nor JAX is installed (pip install '.[bench]')")
    assert "hand-written im2col network" not in methods
    ref = methods["dualgrad jvp"][0]()
    for name in peers:
        np.testing.assert_allclose(bench.peers.to_host(methods[name][0]()), ref, rtol=1e-3,
                                   atol=1e-4 * float(np.abs(ref).max()), err_msg=name)
    bench._check(methods)


def test_bench_on_the_gpu_is_checked_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--backend", "cupy", "--suite", "step", "--json", str(out)]) == 2
    assert "run on the CPU only" in capsys.readouterr().err
    assert cli.main(["bench", "--backend", "tpu"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    if "cupy" not in dg.backend.available():
        assert cli.main(["bench", "--backend", "cupy", "--suite", "mlp", "--json", str(out)]) == 2
        assert "backend 'cupy' was requested" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_bench_step_and_memory(capsys):
    assert cli.main(["bench", "--suite", "step", "memory", "--budget", "0.01"]) == 0
    text = capsys.readouterr().out
    assert "activity perturbation step" in text and "weight, beyond its tangents" in text
    assert "LeNet-5" in text and "ResNetSmall" in text and "tangents alone" in text
    assert "fit's loop" in text and "the training thread waits" in text


def test_the_weight_loop_reports_its_steps_and_the_time_spent_waiting_for_tangents():
    from dualgrad.bench import training
    loop = training.weight_loop(budget=0.01, steps=1)
    assert set(loop["results"]) == {training.LOOP_PREFETCH, training.LOOP_PLAIN}
    assert [r[2] for r in loop["results"].values()] == [2, 2]                # 2 rounds of 1 step each
    wait = loop["wait"]
    assert wait["steps"] == 2 and 0 < wait["share"] < 1 and 0 < wait["median_share"] < 1 and wait["median_ms"] > 0
