"""What the tutorial scripts (examples/tutorial_*.py) share: the command line, the checks, the figures.

Every script states what the reader should see and checks it with ``checks.check(condition, claim)``; it
prints one line per claim and ``checks.finish()`` exits with status 1 if any claim failed. A full run writes
its figures to ``runs/tutorial-figures/`` (or ``--figures DIR``); only ``--update-docs`` replaces the
figures shown on the pages, in docs/figures/. A ``--quick`` run writes figures only where ``--figures DIR``
or ``--update-docs`` says, and without matplotlib (the ``plot`` extra) every figure is skipped with a note.
"""
import argparse
import pathlib
import sys

DOCS_FIGURES = pathlib.Path(__file__).resolve().parents[1] / "docs" / "figures"
OUTPUT = pathlib.Path("runs") / "tutorial-figures"          # relative to the working directory


def parse_args(doc: str, argv=None, **extra) -> argparse.Namespace:
    """--quick, --figures DIR, --update-docs and ``extra`` flags given as name=(type, default, help)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run of a few seconds (for CI)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--figures", type=pathlib.Path,
                       help=f"where to write the figures (default: {OUTPUT}; none with --quick)")
    where.add_argument("--update-docs", action="store_true",
                       help="write the figures into docs/figures/, replacing the ones the tutorial pages show")
    for name, (kind, default, text) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)
    args = parser.parse_args(argv)
    if args.update_docs:
        args.figures = DOCS_FIGURES
    elif args.figures is None and not args.quick:
        args.figures = OUTPUT
    return args


class Checks:
    """Claims the page makes, checked one by one; the script fails at the end if any does not hold."""

    def __init__(self):
        self.failed = []

    def check(self, condition, claim: str) -> None:
        print(f"  [{'ok' if condition else 'FAILED'}] {claim}")
        if not condition:
            self.failed.append(claim)

    def finish(self) -> None:
        if self.failed:
            print(f"\n{len(self.failed)} check(s) failed:", *self.failed, sep="\n  ")
            sys.exit(1)
        print("\nall checks hold")


def pyplot(args):
    """matplotlib.pyplot, or None (with a note) when no figures are wanted or matplotlib is missing."""
    if args.figures is None:
        print("(figures skipped: --quick without --figures)")
        return None
    try:
        import matplotlib
    except ImportError:
        print("(figures skipped: matplotlib is not installed; pip install 'dualgrad[plot]')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, args, name: str) -> None:
    args.figures.mkdir(parents=True, exist_ok=True)
    path = args.figures / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {path}")
