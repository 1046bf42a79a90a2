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


def test_every_relative_link_and_image_in_the_docs_exists():
    """[text](path) and ![alt](path) in README.md and docs/**/*.md point at files of the repository."""
    import re
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    missing = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or not re.search(r"\.[A-Za-z0-9]+(#.*)?$|/$", target):
                continue                                   # URLs, anchors, and math such as [a, b](n+k−1)
            if not (page.parent / target.split("#")[0]).exists():
                missing.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not missing, "broken links:\n" + "\n".join(missing)


def test_nothing_cites_documents_outside_the_repository():
    """Code, docstrings, docs, tests, examples and benchmarks cite only what the repository holds:
    docs/paper.md for the paper, never the notes, design documents or issue threads it was built from."""
    import re
    outside = re.compile(r"paper[- ]digest|digest §|shared/reference|DESIGN(\.md| §)|STYLE\.md|PROTOCOL\.md|"
                         r"anchors\.md|\bissues? #?\d+\b|/work/", re.IGNORECASE)
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in ("dualgrad", "docs", "tests", "examples", "benchmarks"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".txt", ".toml", ".cfg"}]
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for path in files if path != pathlib.Path(__file__).resolve()
            for number, line in enumerate(path.read_text().splitlines(), start=1) if outside.search(line)]
    assert not hits, "references to documents outside the repository:\n" + "\n".join(hits)


def test_the_ops_page_names_only_rules_and_numpy_functions_that_exist():
    import re

    import numpy as np

    import dualgrad as dg
    from dualgrad.registry import COMPOSITES
    unknown = sorted({r for rules, _ in COMPOSITES.values() for r in rules} - set(dg.RULES))
    assert not unknown, f"implements(..., via=...) names rules that do not exist: {unknown}"
    for prim in dg.RULES.values():
        for entry in prim.numpy:
            if re.fullmatch(r"np(\.\w+)+", entry):
                obj = np
                for part in entry.split(".")[1:]:
                    obj = getattr(obj, part, None)
                assert obj is not None, f"rule {prim.name!r} lists {entry}, which NumPy does not have"


@pytest.mark.parametrize("module, prefix", optable.NAMESPACES)
def test_what_the_page_lists_as_missing_raises_missing_rule_error(module, prefix):
    """Every function listed as missing, called with Duals (a ufunc with one per input, a function with one
    to four until NumPy's dispatcher takes them), raises MissingRuleError: the page says what a user meets."""
    import importlib

    import numpy as np

    import dualgrad as dg
    d = dg.Dual(np.array([0.5, 2.0]), np.ones((1, 2)))
    namespace = importlib.import_module(module)
    for entry in optable.entries(module, prefix):
        if entry.status != "missing":
            continue
        function = getattr(namespace, entry.name[len(prefix):])
        counts = (function.nin,) if isinstance(function, np.ufunc) else (1, 2, 3, 4)
        for n in counts:
            try:
                function(*[d] * n)
            except dg.MissingRuleError:
                break
            except TypeError:               # the dispatcher wants other arguments (or saw no Dual): more Duals
                continue
        else:
            pytest.fail(f"{entry.name} is listed as missing but did not raise MissingRuleError")
