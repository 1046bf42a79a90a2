"""The command line starts fast: ``dualgrad --help`` imports NumPy and dualgrad's own modules, nothing heavy.

scipy.stats alone takes half a second to import and tqdm.auto 50 ms, so they (and matplotlib, and the
optional engines) are imported inside the functions that use them. The check counts modules, not seconds,
so that it cannot be flaky on a loaded machine.
"""
import subprocess
import sys

import pytest

ALLOWED = {"numpy", "dualgrad", "threadpoolctl"}          # the third-party modules the parser may load


def _imported_by(statement: str) -> set[str]:
    """Top-level names of the non-standard-library modules that ``statement`` imports in a fresh process."""
    code = ("import sys; before = set(sys.modules)\n" + statement + "\n"
            "names = {m.split('.')[0] for m in set(sys.modules) - before}\n"
            "print(' '.join(sorted(n for n in names if n not in sys.stdlib_module_names "
            "and not n.startswith('_'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(result.stdout.split())


def test_building_the_command_line_parser_imports_nothing_heavy():
    imported = _imported_by("import dualgrad.cli; dualgrad.cli.build_parser()")
    assert imported <= ALLOWED, f"dualgrad --help imports {sorted(imported - ALLOWED)}: import them lazily"


@pytest.mark.parametrize("module", ["dualgrad", "dualgrad.estimators", "dualgrad.experiments"])
def test_importing_the_library_does_not_import_scipy_or_plotting(module):
    imported = _imported_by(f"import {module}")
    assert imported <= ALLOWED, f"import {module} imports {sorted(imported - ALLOWED)}: import them lazily"
