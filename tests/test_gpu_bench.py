"""The benchmark suite on a GPU (``dualgrad bench --backend cupy``): it runs, its methods agree with each
other on the device, and the report says where it ran. Skipped without CuPy and a CUDA device."""
import json

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import bench, cli
from dualgrad.bench.peers import to_host

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif("cupy" not in dg.backend.available(), reason="needs CuPy and a CUDA device")]


def test_bench_mlp_and_conv_on_the_gpu(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--backend", "cupy", "--suite", "mlp", "conv", "--net", "lenet5", "--k", "2",
                     "--budget", "0.01", "--no-peers", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gpu: " in text and "cuBLAS" in text
    report = json.loads(out.read_text())
    assert report["backend"] == "cupy" and report["machine"]["gpu"]["gpu"]
    suites = [(g["group"]["suite"], g["group"]["k"], g["group"]["backend"]) for g in report["groups"]]
    assert suites == [("mlp", 2, "cupy"), ("conv", 2, "cupy")]
    for g in report["groups"]:
        assert all(r["ms"] > 0 for r in g["rows"])


@pytest.mark.parametrize("net", ["lenet5", "convnet4", "resnet"])
def test_dualgrad_on_cupy_equals_numpy_on_the_conv_nets(net):
    """The same problem on both backends: the k jvps agree to float32 rounding (and come back as CuPy)."""
    import cupy
    on_gpu = bench.conv.methods(net, 3, peers=False, backend="cupy")["dualgrad jvp"][0]()
    on_cpu = bench.conv.methods(net, 3, peers=False)["dualgrad jvp"][0]()
    assert isinstance(on_gpu, cupy.ndarray)
    np.testing.assert_allclose(to_host(on_gpu), on_cpu, rtol=1e-3, atol=1e-3 * float(np.abs(on_cpu).max()))


def test_dualgrad_on_cupy_equals_numpy_on_the_mlp():
    import cupy
    on_gpu = bench.mlp.methods(4, "cupy", peers=False)["dualgrad jvp"][0]()
    on_cpu = bench.mlp.methods(4, peers=False)["dualgrad jvp"][0]()
    assert isinstance(on_gpu, cupy.ndarray)
    np.testing.assert_allclose(to_host(on_gpu), on_cpu, rtol=1e-3, atol=1e-3 * float(np.abs(on_cpu).max()))
