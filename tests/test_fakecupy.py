"""The CuPy path in CI, which has no GPU: the CuPy-parametrised rule tests run against ``tests/fakecupy``, a NumPy
stand-in that keeps host and device apart as CuPy does (implicit conversions and mixed operands raise), so code
that would break on a GPU breaks here. Four examples per case (the ``gpu`` hypothesis profile) keep it to
about half a minute on one core. With a real CuPy installed the same tests run on it instead, and this skips."""
import os
import pathlib
import subprocess
import sys

import pytest

import dualgrad as dg

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_rules_keep_host_and_device_apart_on_the_cupy_stand_in():
    if "cupy" in dg.backend.available():
        pytest.skip("a real CuPy and GPU are here: the cupy-parametrised tests run on them directly")
    env = os.environ | {"DUALGRAD_FAKE_CUPY": "1", "HYPOTHESIS_PROFILE": "gpu"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "-k", "cupy",
                          "tests/test_rules.py", "tests/test_nn_ops.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0, run.stdout[-4000:]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed > 2000, summary                       # the cupy-parametrised cases really ran
