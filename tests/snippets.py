"""Run the Python snippets of a Markdown page and compare what they print with what the page says.

    python tests/snippets.py docs/tutorial/01-dual-numbers.md [--slow] [--workdir DIR]

The conventions (tests/test_snippets.py runs every page of README.md and docs/ this way):

- Every fenced ``python`` block runs, in page order, in one namespace per page (a later block may use the
  names of an earlier one), in a scratch working directory holding a link ``docs`` to the repository's
  docs/, so that a snippet reads ``docs/...`` as from the repository root and writes nowhere else.
- ``<!-- snippet: fragment -->`` on the line before a block: an excerpt that is not meant to run (a
  piece of the library's source, a signature). ``<!-- snippet: slow -->``: a block that takes more than
  a few seconds; it and every later block of the page run only with ``--slow`` (pytest ``--runslow``).
  A reason may follow the word: ``<!-- snippet: fragment (needs a cluster) -->``.
- ``# prints TEXT`` at the end of a line: the top-level statement that the line belongs to prints TEXT
  (its whole standard output). ``# raises NAME`` or ``# raises NAME: TEXT``: the statement raises NAME
  (or a subclass; ``dg.`` and other module prefixes are ignored) with the message TEXT; the block goes on.
  In both, `` — `` (an em dash between spaces) starts a note for the reader that is not compared.
- A fenced ``output`` block right after a python block (blank lines between are allowed) is that block's
  whole standard output, followed by ``NAME: message`` for an exception expected by ``# raises``.

TEXT is compared as a pattern: ``…`` (or ``...``) stands for any text, runs of white space match any
white space, and every number matches a number of the output that is at most one unit of its last shown
digit away (the page's 0.941 accepts anything from 0.940 to 0.942, its 1.5e-08 anything from 1.4e-08 to
1.6e-08), so that another BLAS or CPU rounding the last digit differently still passes.
An exception that no ``# raises`` expects fails the snippet.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import math
import os
import pathlib
import re
import sys
import traceback
from dataclasses import dataclass, field

MARKER = re.compile(r"<!--\s*snippet:\s*(\w+)")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
COMMENT = re.compile(r"#\s*(prints|raises)\b\s*(.*?)(?:\s+—\s.*)?$")    # " — " starts a note for the reader
# a number as a page shows it: optional sign (ASCII or Unicode minus), digits, decimals, exponent
NUMBER = r"(?<![\w.])[-+−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
ELLIPSIS = r"…|\.\.\."


@dataclass
class Block:
    line: int                      # 1-based line of the opening fence
    code: str
    kind: str = "run"              # "run", "fragment" or "slow"
    output: str | None = None      # the expected output block, if any


@dataclass
class Result:
    failures: list[str] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0


def parse(page: str) -> list[Block]:
    """The python blocks of a page, each with its marker and its expected-output block."""
    blocks: list[Block] = []
    previous_end, previous_python = 0, None
    for match in FENCE.finditer(page):
        language, body = match.group(1).lower(), match.group(2)
        line = page.count("\n", 0, match.start()) + 1
        between = page[previous_end:match.start()]
        if language == "output":
            if previous_python is None or between.strip():
                raise ValueError(f"line {line}: an output block must follow a python block directly")
            previous_python.output = body
        elif language in ("python", "py"):
            before = page[:match.start()].rstrip().rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            kind = marker.group(1) if marker else "run"
            if kind not in ("run", "fragment", "slow"):
                raise ValueError(f"line {line}: unknown snippet marker {kind!r} (fragment or slow)")
            blocks.append(Block(line, body, kind))
        previous_end, previous_python = match.end(), blocks[-1] if language in ("python", "py") else None
    return blocks


def _number(text: str) -> float:
    return float(text.replace("−", "-"))


def _unit(text: str) -> float:
    """One unit of the last digit shown: 0.941 -> 0.001, 1.5e-08 -> 1e-09, 40000 -> 1."""
    mantissa, _, exponent = text.replace("−", "-").lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def matches(expected: str, actual: str) -> str | None:
    """None when ``actual`` is what ``expected`` describes, else a one-line reason."""
    pattern, numbers, position = [], [], 0
    for token in re.finditer(rf"({NUMBER})|({ELLIPSIS})|(\s+)", expected.strip()):
        pattern.append(re.escape(expected.strip()[position:token.start()]))
        if token.group(1):
            numbers.append(token.group(1))
            pattern.append(rf"({NUMBER}|nan|inf|-inf)")
        elif token.group(2):
            pattern.append(r".*?")
        else:
            pattern.append(r"\s*")
        position = token.end()
    pattern.append(re.escape(expected.strip()[position:]))
    found = re.fullmatch("".join(pattern), actual.strip(), re.S)
    if found is None:
        return f"the output does not have the page's form:\n    page:   {expected.strip()!r}\n" \
               f"    output: {actual.strip()!r}"
    for shown, got in zip(numbers, found.groups(), strict=True):
        value, target = _number(got), _number(shown)
        if not (math.isfinite(value) and abs(value - target) <= 1.0001 * _unit(shown)):
            return f"the page shows {shown}, the snippet printed {got}:\n    page:   {expected.strip()!r}\n" \
                   f"    output: {actual.strip()!r}"
    return None


def _expected_error(name: str, error: BaseException) -> bool:
    wanted = name.rsplit(".", 1)[-1]
    return any(cls.__name__ == wanted for cls in type(error).__mro__)


def run_block(block: Block, namespace: dict, where: str) -> list[str]:
    """Run one block statement by statement; the reasons it does not print what the page says."""
    failures, output = [], io.StringIO()
    lines = block.code.splitlines()
    for statement in ast.parse(block.code).body:
        first, last = statement.lineno, statement.end_lineno
        comments = [m for line in lines[first - 1:last] if (m := COMMENT.search(line))]
        here = f"{where}, line {block.line + first}"
        prints = [m.group(2) for m in comments if m.group(1) == "prints"]
        raises = [m.group(2) for m in comments if m.group(1) == "raises"]
        if prints and isinstance(statement, ast.Expr) and not (
                isinstance(statement.value, ast.Call) and getattr(statement.value.func, "id", "") == "print"):
            failures.append(f"{here}: '# prints' on a bare expression, which prints nothing: wrap it in print()")
        captured = io.StringIO()
        code = compile(ast.Module([statement], type_ignores=[]), f"<{here}>", "exec")
        try:
            with contextlib.redirect_stdout(captured):
                exec(code, namespace)
        except Exception as error:         # noqa: BLE001 (every error is reported, expected or not)
            if not raises:
                trace = "".join(traceback.format_exception_only(type(error), error)).strip()
                failures.append(f"{here}: raised {trace}")
                return failures
            name, _, message = raises[0].partition(":")
            if not _expected_error(name.strip(), error):
                failures.append(f"{here}: raised {type(error).__name__}, the page says {name.strip()}")
            elif message.strip() and (reason := matches(message, str(error))):
                failures.append(f"{here}: {reason}")
            captured.write(f"{type(error).__name__}: {error}\n")
        else:
            if raises:
                failures.append(f"{here}: the page says it raises {raises[0]}, it did not")
        output.write(captured.getvalue())
        if prints and (reason := matches(prints[0], captured.getvalue())):
            failures.append(f"{here}: {reason}")
    if block.output is not None and (reason := matches(block.output, output.getvalue())):
        failures.append(f"{where}, the output block after line {block.line}: {reason}")
    return failures


def run_page(path: pathlib.Path, slow: bool = False) -> Result:
    """Run every block of the page in one namespace (the caller chooses the working directory)."""
    result, namespace = Result(), {"__name__": "__snippet__"}
    blocks = parse(path.read_text())
    for i, block in enumerate(blocks):
        if block.kind == "slow" and not slow:
            result.skipped += len(blocks) - i          # later blocks may use its names: they wait for --slow
            break
        if block.kind == "fragment":
            result.skipped += 1
            continue
        result.ran += 1
        result.failures += run_block(block, namespace, f"{path.name}:{block.line}")
        if result.failures:
            break
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=pathlib.Path)
    parser.add_argument("--slow", action="store_true", help="also run blocks marked slow")
    parser.add_argument("--workdir", type=pathlib.Path, help="scratch directory to run in (default: the current)")
    args = parser.parse_args(argv)
    page = args.page.resolve()
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs"
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        if not (args.workdir / "docs").exists():
            (args.workdir / "docs").symlink_to(docs, target_is_directory=True)
        os.chdir(args.workdir)
    os.environ.setdefault("MPLBACKEND", "Agg")
    result = run_page(page, slow=args.slow)
    print(f"{page.name}: {result.ran} block(s) run, {result.skipped} skipped")
    for failure in result.failures:
        print("FAILED", failure)
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
