"""The generated docs are current and the examples run."""
import pathlib
import runpy
import sys

import pytest

from dualgrad import optable

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ops_page_is_generated_from_the_rule_table():
    page = (ROOT / "docs" / "ops.md").read_text()
    assert page == optable.render(), "docs/ops.md is stale: run  python -m dualgrad.optable > docs/ops.md"


@pytest.mark.parametrize("script, args", [("rosenbrock.py", ["--n", "6", "--k", "3"])])
def test_example_runs(script, args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script] + args)
    runpy.run_path(str(ROOT / "examples" / script), run_name="__main__")
    assert "agree with the exact ones" in capsys.readouterr().out
