"""Render the rule table as ``docs/ops.md``:  ``python -m dualgrad.optable > docs/ops.md``.

A test checks that the committed page equals this output, so the page cannot drift from the code.
"""
from __future__ import annotations

import dualgrad as dg

FAMILIES = {
    "elementwise": "Elementwise",
    "reductions": "Reductions",
    "shape": "Shape, indexing and joining",
    "selection": "Selection: elements picked by position or by order",
    "linalg": "Linear algebra",
    "nn": "Neural-network functions",
    "conv": "Convolution and pooling",
    "special": "scipy.special",
}

KINDS = {
    "elementwise": "elementwise: `f'(x) · t`",
    "linear": "linear: the same op on the tangent block",
    "fused": "fused: primal work reused by the tangent",
    "rule": "rule",
}


def render() -> str:
    rules = [p for p in dg.RULES.values() if p.family in FAMILIES]
    lines = [
        "# Op coverage",
        "",
        "Every forward-mode rule in dualgrad's rule table, generated from the table by "
        "`python -m dualgrad.optable > docs/ops.md` (a test keeps this page current).",
        "",
        "Each rule has the form `rule(primals, tangents, **params) -> (out, out_tangent)` with tangent "
        "blocks of shape `(k, *shape)`. *Kind* says how the tangent is formed: elementwise rules multiply "
        "by the local derivative, linear rules apply the same operation to the tangent block (k as a "
        "leading batch axis), fused rules reuse work of the primal computation. Any NumPy function not "
        "listed raises `dg.MissingRuleError` when called on a Dual; register your own with `dg.defjvp`.",
        "",
        f"{len(rules)} rules in {len({p.family for p in rules})} families.",
    ]
    for family, title in FAMILIES.items():
        rows = sorted((p for p in rules if p.family == family), key=lambda p: p.name)
        if not rows:
            continue
        lines += ["", f"## {title}", "", "| rule | reached from | kind | convention |", "|---|---|---|---|"]
        for p in rows:
            names = ([f"dg.{p.name}"] if callable(getattr(dg, p.name, None)) else []) + list(p.numpy)
            entry = ", ".join(f"`{n}`" for n in names)
            lines.append(f"| `{p.name}` | {entry} | {KINDS.get(p.kind, p.kind)} | {p.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
