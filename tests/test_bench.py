"""The benchmark suite runs, cross-checks its methods and reports every column (timings are not tested)."""
import json

from dualgrad import cli


def test_bench_mlp_and_step_report(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--suite", "mlp", "step", "--k", "1", "--budget", "0.01", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "float32 GEMM peak" in text and "dualgrad jvp" in text and "GEMMs only (the floor)" in text
    report = json.loads(out.read_text())
    mlp = next(g for g in report["groups"] if g["group"]["suite"] == "mlp")
    names = {r["method"] for r in mlp["rows"]}
    assert {"numpy primal forward", "dualgrad jvp", "hand-fused NumPy, tangents (n,k,m)"} <= names
    assert all(r["ms"] > 0 and r["x_primal"] > 0 for r in mlp["rows"])
    step = next(g for g in report["groups"] if g["group"]["suite"] == "step")
    assert any("activity perturbation" in r["method"] for r in step["rows"])
