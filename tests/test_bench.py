"""The benchmark suite runs, cross-checks its methods and reports every column (timings are not tested)."""
import json

import pytest

from dualgrad import bench, cli


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


@pytest.mark.slow
def test_bench_step_and_memory(capsys):
    assert cli.main(["bench", "--suite", "step", "memory", "--budget", "0.01"]) == 0
    text = capsys.readouterr().out
    assert "activity perturbation step" in text and "weight, beyond its tangents" in text
