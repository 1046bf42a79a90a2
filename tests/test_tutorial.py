"""The tutorial runs: every script of docs/tutorial/ with --quick, and every check it makes holds.

Each script (examples/tutorial_*.py) prints one line per claim of its page, "[ok]" or "[FAILED]", and exits
with status 1 if any claim fails. The scripts run in subprocesses: tutorial 2 registers custom rules, which
must not leak into the rule table that tests/test_docs.py compares with docs/ops.md.
"""
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "examples").glob("tutorial_[0-9]_*.py"))
PAGES = sorted((ROOT / "docs" / "tutorial").glob("[0-9][0-9]-*.md"))


def test_every_page_has_its_script():
    assert len(PAGES) == len(SCRIPTS) == 7
    for number, (page, script) in enumerate(zip(PAGES, SCRIPTS), start=1):
        assert page.name.startswith(f"0{number}-") and script.name.startswith(f"tutorial_{number}_")
        assert f"examples/{script.name}" in page.read_text(), f"{page.name} does not name {script.name}"


def test_every_figure_on_a_page_is_made_by_a_script():
    made = {name for script in SCRIPTS for name in re.findall(r"tutorial_\w+\.png", script.read_text())}
    shown = {name for page in PAGES for name in re.findall(r"figures/(tutorial_\w+\.png)", page.read_text())}
    assert shown <= made, f"figures shown but made by no script: {sorted(shown - made)}"
    assert shown, "the pages show no figure"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_script_runs_and_its_checks_hold(script, tmp_path):
    result = subprocess.run([sys.executable, str(script), "--quick", "--figures", str(tmp_path)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{script.name} failed:\n{output[-4000:]}"
    assert "[FAILED]" not in result.stdout and "all checks hold" in result.stdout, output[-4000:]
    assert "[ok]" in result.stdout


def test_only_update_docs_writes_into_the_docs(monkeypatch, tmp_path):
    """A full run writes its figures to runs/tutorial-figures/ of the working directory; docs/figures/ (the
    committed figures the pages show) only with --update-docs; --quick writes none unless told where."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.chdir(tmp_path)
    from _tutorial import parse_args
    assert (tmp_path / parse_args("doc", []).figures).resolve() == tmp_path / "runs" / "tutorial-figures"
    assert parse_args("doc", ["--quick"]).figures is None
    assert parse_args("doc", ["--figures", "here"]).figures == pathlib.Path("here")
    assert parse_args("doc", ["--update-docs"]).figures == ROOT / "docs" / "figures"
    assert parse_args("doc", ["--quick", "--update-docs"]).figures == ROOT / "docs" / "figures"
    with pytest.raises(SystemExit):
        parse_args("doc", ["--update-docs", "--figures", "here"])
