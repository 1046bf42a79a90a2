"""The benchmark report as a figure: median time per call against k, one line per method, one panel per
network (the MLP and each conv net). Needs matplotlib (the ``plot`` extra)."""
from __future__ import annotations

import pathlib

#: line styles by method kind: dualgrad solid and thick, NumPy baselines dashed, peers thin
_STYLE = {"dualgrad": {"lw": 2.4, "ls": "-"}, "hand": {"lw": 1.4, "ls": "--"}, "floor": {"lw": 1.4, "ls": ":"},
          "peer": {"lw": 1.1, "ls": "-", "alpha": 0.85}, "primal": {"lw": 1.0, "ls": "-.", "color": "grey"}}


def _panels(report: dict) -> dict:
    """{panel title: {method: (kind, [(k, ms), …])}} from the report's timing groups that vary k."""
    panels: dict = {}
    for group in report["groups"]:
        key = group["group"]
        if "k" not in key:
            continue
        title = "MLP 784-1024-1024-10" if key["suite"] == "mlp" else key["net"]
        for row in group["rows"]:
            kind, points = panels.setdefault(title, {}).setdefault(row["method"], (row["kind"], []))
            points.append((key["k"], row["ms"]))
    return panels


def plot_report(report: dict, path) -> pathlib.Path:
    """Write ``path`` (PNG): ms per call against k on log-log axes; the primal forward is the flat line."""
    from matplotlib.figure import Figure
    panels = _panels(report)
    if not panels:
        raise ValueError("the report has no timing group over k (run the mlp or conv suite)")
    methods_seen = list(dict.fromkeys(m for methods in panels.values() for m in methods))
    palette = [f"C{i}" for i in (0, 1, 2, 3, 4, 5, 6, 8, 9)]            # C7 is grey: the primal's
    colour = {m: palette[i % len(palette)] for i, m in enumerate(methods_seen)}    # the same in every panel
    fig = Figure(figsize=(5.2 * len(panels) + 2.2, 4.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, methods) in zip(axes, panels.items()):
        for method, (kind, points) in methods.items():
            ks, ms = zip(*sorted(points))
            ax.plot(ks, ms, marker="o", ms=3.5, label=method, **({"color": colour[method]} | _STYLE.get(kind, {})))
        ks = sorted({k for _, points in methods.values() for k, _ in points})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(title=title, xlabel="k (tangents)", ylabel="median ms per call")
        ax.grid(True, which="both", alpha=0.3)
    handles = {}                                                     # one legend for all panels, outside them
    for ax in axes:
        handles |= dict(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=7)
    machine = report["machine"]
    where = (f"{machine['gpu']['gpu']}, CuPy {machine['gpu']['cupy']}" if "gpu" in machine
             else f"{machine['cpu']} ×{machine['cores']}, {'; '.join(machine['blas'][:1])}")
    fig.suptitle(where, fontsize=8)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
