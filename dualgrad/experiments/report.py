"""Tables and plots shared by the experiments: how a run is labelled and drawn, text and Markdown tables, and the
matplotlib conventions (a legend never covers data; epoch axes have whole-number ticks).

    label({"approach": "frog", "k": 16})            # "frog k=16" (dualgrad.approaches.label)
    render_table(["approach", "n=4"], [["bp", "0.1"]], markdown=True)
    plot_or_skip(plot_functions, rows, curves, out)  # prints a note instead of failing without matplotlib

matplotlib is the optional extra ``plot``: nothing here imports it at module level.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from .. import approaches


def label(row: dict) -> str:
    """The label of a result row (its ``approach`` and ``k``): bp, fg, mean k=16, frog k=2."""
    return approaches.label(row["approach"], row["k"])


def render_table(header: Sequence[str], body: Sequence[Sequence[str]], markdown: bool = False) -> str:
    """Rows of strings as a Markdown table, or as aligned plain text (first column left, the rest right)."""
    lines = [list(header), *map(list, body)]
    if markdown:
        lines.insert(1, ["---"] * len(header))
        return "\n".join("| " + " | ".join(line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
                     for line in lines)


# ----- plots ---------------------------------------------------------------------------------------------------
def plot_or_skip(plot, *args):
    """``plot(*args)``, or a note on stdout when matplotlib (the extra ``plot``) is not installed."""
    try:
        return plot(*args)
    except ImportError:
        print("matplotlib is not installed (pip install 'dualgrad[plot]'): skipping the plots")
        return []


def style(approach: str, k: int | None) -> dict:
    """bp black, fg grey, mean blues (solid), frog oranges (dashed), darker for larger k."""
    import matplotlib
    if approach in ("bp", "fg"):
        return {"color": "black" if approach == "bp" else "0.55", "ls": "-", "lw": 1.6}
    shade = min(1.0, 0.35 + 0.65 * math.log2(k) / 6)
    cmap = matplotlib.colormaps["Blues" if approach == "mean" else "Oranges"]
    return {"color": cmap(shade), "ls": "-" if approach == "mean" else "--", "lw": 1.3}


def legend_outside(ax, **options) -> None:
    """The axes' legend to the right of the plot area, so that it never covers data (the figure needs a
    constrained layout, which makes room for it)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**({"fontsize": 7, "loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}
                     | options))


def epoch_axis(ax) -> None:
    """Whole-number ticks on an epoch axis (a 2-epoch run gets 0, 1, 2, not 0.25 steps)."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
