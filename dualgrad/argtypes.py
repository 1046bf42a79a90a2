"""Argument types for the ``dualgrad`` command line: each parses one flag value and checks its type and
range, so that a bad value is a usage error (exit status 2) that names the flag, before anything runs.

    p.add_argument("--k", type=positive_int)          # 1, 2, ...
    p.add_argument("--lr", type=positive_float)       # finite, > 0
    p.add_argument("--out", type=directory)           # not an existing file
"""
from __future__ import annotations

import argparse
import math
import pathlib


def at_least(minimum: int):
    """An integer >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value
    return parse


positive_int = at_least(1)
non_negative_int = at_least(0)


def number(low: float, *, inclusive: bool = False, high: float = math.inf, high_inclusive: bool = True,
           infinite: bool = False):
    """A number in (low, high] ([low, ...] when ``inclusive``; [..., high) unless ``high_inclusive``), never NaN,
    finite unless ``infinite``."""
    bounds = (f"{'>=' if inclusive else '>'} {low:g}"
              + (f" and {'<=' if high_inclusive else '<'} {high:g}" if high < math.inf else ""))
    need = f"a {'' if infinite else 'finite '}number {bounds}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {need}, got {text!r}") from None
        ok = not math.isnan(value) and (infinite or math.isfinite(value))
        ok = ok and (value >= low if inclusive else value > low)
        ok = ok and (value <= high if high_inclusive else value < high)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {need}, got {text}")
        return value
    return parse


positive_float = number(0)
non_negative_float = number(0, inclusive=True)
degrees = number(0, inclusive=True, high=180)
fraction = number(0, inclusive=True, high=1, high_inclusive=False)


def directory(text: str) -> str:
    """An output directory: it may exist (as a directory) or not, but it is not a file."""
    if not text:
        raise argparse.ArgumentTypeError("must be a directory name, got an empty string")
    path = pathlib.Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise argparse.ArgumentTypeError(f"{parent} is a file, so {text} cannot be a directory")
    return text


def output_file(text: str) -> str:
    """A file to write: not a directory, in a directory that is not a file."""
    path = pathlib.Path(text)
    if not text or path.is_dir():
        raise argparse.ArgumentTypeError(f"must be a file name, got {text!r}")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise argparse.ArgumentTypeError(f"{parent} is a file, so {text} cannot be written")
    return text
