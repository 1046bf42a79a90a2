"""Test configuration: hypothesis profiles and the available array backends.

Profiles: ``ci`` (default) is derandomized, so a green run is reproducible; ``thorough`` draws many
more examples: ``pytest --hypothesis-profile=thorough``; ``gpu`` draws 4 (benchmarks/gpu_check.sh, where
device time is short). ``--runslow`` also runs tests marked slow.
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

if os.environ.get("DUALGRAD_FAKE_CUPY"):          # the NumPy stand-in for CuPy (tests/fakecupy/README.md)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fakecupy"))

settings.register_profile("ci", derandomize=True, max_examples=12, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("gpu", derandomize=True, max_examples=4, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
