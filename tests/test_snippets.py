"""Every Python snippet of README.md and docs/ runs and prints what its page says (tests/snippets.py has the
conventions: ``# prints``, ``# raises``, ``output`` blocks, and the ``fragment`` and ``slow`` markers).

Each page runs in its own process, as a reader would run it: tutorial 2 registers custom rules, which must
not leak into the rule table of this process.
"""
import pathlib
import subprocess
import sys

import pytest

from . import snippets

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
WITH_CODE = [page for page in PAGES if any(b.kind != "fragment" for b in snippets.parse(page.read_text()))]
WITH_SLOW = [page for page in WITH_CODE if any(b.kind == "slow" for b in snippets.parse(page.read_text()))]


def _run(page, tmp_path, *flags):
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "snippets.py"), str(page), "--workdir",
                             str(tmp_path), *flags], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{page.relative_to(ROOT)}:\n{result.stdout}{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.parametrize("page", WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_snippets_print_what_the_page_says(page, tmp_path):
    _run(page, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("page", WITH_SLOW, ids=lambda p: str(p.relative_to(ROOT)))
def test_slow_snippets_print_what_the_page_says(page, tmp_path):
    _run(page, tmp_path, "--slow")


def test_every_page_with_python_is_covered():
    assert ROOT / "README.md" in WITH_CODE and len(WITH_CODE) >= 8


# ----- the comparison itself ----------------------------------------------------------------------------------
@pytest.mark.parametrize("page_text, printed", [
    ("cos 0.941 / 0.644", "cos 0.9412 / 0.6436"),
    ("cos 0.941 / 0.644", "cos 0.942 / 0.643"),                 # one unit of the last shown digit
    ("relative error 1.5e-08 > rtol 1e-06", "relative error 1.46e-08 > rtol 1e-06"),
    ("direction 2 … 0.946", "direction 2 disagrees: relative error 0.946"),
    ("[ 0.245683  0.491366 -0.122841]", "[ 0.24568338  0.49136676 -0.12284169]"),
    ("f = −2507", "f = -2506.6"),
])
def test_a_number_matches_to_its_last_shown_digit(page_text, printed):
    assert snippets.matches(page_text, printed) is None


@pytest.mark.parametrize("page_text, printed", [
    ("cos 0.822 / 0.611", "cos 0.941 / 0.644"),                 # the numbers differ
    ("cos 0.941 / 0.644", "cos 0.9431 / 0.644"),                # by more than one unit
    ("direction 2 … 0.946", "direction 0 disagrees: relative error 0.885"),
    ("0.494", "0.494 0.444"),                                    # output the page does not show
    ("a 1 b 2", "a 1"),                                          # output the page shows and the snippet not
    ("error 1e-06", "error nan"),
])
def test_a_different_output_fails(page_text, printed):
    assert snippets.matches(page_text, printed) is not None


def test_prints_raises_and_output_blocks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('```python\nx = 0.5\nprint(f"{x:.2f}")   # prints 0.50\n'
                    'int("a")   # raises ValueError: invalid literal … \'a\'\nprint(x * 2)\n```\n\n'
                    '```output\n0.50\nValueError: invalid literal for int() with base 10: \'a\'\n1.0\n```\n'
                    '<!-- snippet: fragment -->\n```python\nnot python at all\n```\n')
    assert snippets.run_page(page).failures == []
    page.write_text('```python\nprint(0.15)   # prints 0.3\n```\n')
    assert "the page shows 0.3" in snippets.run_page(page).failures[0]
    page.write_text('```python\n1 / 0\n```\n')
    assert "ZeroDivisionError" in snippets.run_page(page).failures[0]
    page.write_text('```python\nx = 1   # raises ValueError\n```\n')
    assert "it did not" in snippets.run_page(page).failures[0]
    page.write_text('```python\n0.25   # prints 0.25\n```\n')
    assert "bare expression" in snippets.run_page(page).failures[0]


def test_a_slow_block_defers_the_rest_of_its_page(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('```python\nx = 1\n```\n<!-- snippet: slow -->\n```python\ny = x\n```\n```python\n'
                    'print(y)   # prints 1\n```\n')
    quick, slow = snippets.run_page(page), snippets.run_page(page, slow=True)
    assert (quick.ran, quick.skipped, quick.failures) == (1, 2, [])
    assert (slow.ran, slow.skipped, slow.failures) == (3, 0, [])
