"""Render ``docs/ops.md``: what every public function of NumPy and every scipy.special ufunc does on a Dual.

    python -m dualgrad.optable > docs/ops.md

Nothing on the page is written by hand: each function's status is computed from the dispatch tables.

* **rule**: ``NUMPY_FUNCTIONS`` / ``NUMPY_UFUNCS`` hold a handler, and the rules giving its tangent are
  named by the primitives' ``numpy=`` lists or by ``implements(..., via=...)``;
* **plain**: the handler returns NumPy's result for the value (``queries.PLAIN_RESULTS``);
* **missing**: NumPy dispatches a Dual to dualgrad, but no handler exists: ``MissingRuleError``;
* **not dispatched**: NumPy never hands a Dual to dualgrad (no ``__array_function__`` dispatch).

A test checks that the committed page equals this output, so the page cannot drift from the code.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import types
from dataclasses import dataclass

import numpy as np

import dualgrad as dg
import dualgrad.scipy
from dualgrad.dual import ufunc_key
from dualgrad.registry import COMPOSITES, NUMPY_FUNCTIONS, NUMPY_UFUNCS
from dualgrad.rules.queries import PLAIN_RESULTS

#: The namespaces listed, with the prefix their functions carry in the primitives' ``numpy=`` lists.
NAMESPACES = (("numpy", "np."), ("numpy.linalg", "np.linalg."), ("numpy.fft", "np.fft."),
              ("scipy.special", "scipy.special."))
#: Of these, the ones whose ufuncs only are listed (their other callables are Python functions that work on
#: Duals exactly when the NumPy calls inside them do).
UFUNCS_ONLY = ("scipy.special",)

STATUS = {"rule": "rule", "plain": "plain", "missing": "**missing**"}

FAMILIES = {
    "elementwise": "Elementwise",
    "reductions": "Reductions",
    "shape": "Shape, indexing and joining",
    "selection": "Selection: elements picked by position or by order",
    "statistics": "Statistics",
    "numeric": "Numerics on samples",
    "linalg": "Linear algebra",
    "nn": "Neural-network functions",
    "conv": "Convolution and pooling",
    "special": "scipy.special",
    "fft": "numpy.fft",
}

KINDS = {
    "elementwise": "elementwise: `f'(x) · t`",
    "linear": "linear: the same op on the tangent block",
    "fused": "fused: primal work reused by the tangent",
    "rule": "rule",
}

#: Functions NumPy does not dispatch that a user reaches for with Duals, and what to use instead.
NOT_DISPATCHED_NOTES = {
    "array": "builds an ndarray: a list holding Duals fails; use `dg.array`",
    "asarray": "use `dg.asarray` (a Dual comes back as it is; a list holding Duals is stacked)",
    "asanyarray": "use `dg.asarray`",
    "row_stack": "works: it calls `np.vstack`",
}


@dataclass(frozen=True)
class Entry:
    name: str                  # as a user writes it, e.g. "np.linalg.norm"
    status: str                # "rule", "plain", "missing" or "not dispatched"
    rules: tuple = ()
    note: str = ""


def _rules_by_entry() -> dict:
    """``"np.sort"`` -> the names of the rules whose ``numpy=`` list names it."""
    table: dict = {}
    for prim in dg.RULES.values():
        for entry in prim.numpy:
            table.setdefault(entry, []).append(prim.name)
    return table


def _attribution(key, names, by_entry, by_handler):
    """(rules, note) for a registered NumPy function or ufunc name.

    A handler that no ``numpy=`` list or ``via=`` names (one that needs no rule, as np.copy) is shown by its
    own name instead.
    """
    if key in COMPOSITES:
        return COMPOSITES[key]
    for name in names:
        if name in by_entry:
            rules = tuple(by_entry[name])
            return rules, "; ".join(dg.RULES[r].note for r in rules if dg.RULES[r].note)
    handler = (NUMPY_UFUNCS if isinstance(key, str) else NUMPY_FUNCTIONS)[key]
    return by_handler.get(handler, ((), f"handled by `{handler.__module__}.{handler.__qualname__}`"))


def entries(module_name: str, prefix: str) -> list[Entry]:
    """Every public callable of the module (classes and submodules aside) with its status on a Dual."""
    module = importlib.import_module(module_name)
    by_entry = _rules_by_entry()
    by_handler = {}                                 # a handler shared by aliases (np.abs, np.absolute)
    for table in (NUMPY_FUNCTIONS, NUMPY_UFUNCS):
        for key, handler in table.items():
            names = [f"np.{key}"] if isinstance(key, str) else [f"np.{key.__name__}"]
            if key in COMPOSITES or any(n in by_entry for n in names):
                by_handler.setdefault(handler, _attribution(key, names, by_entry, by_handler))
    out = []
    for name in sorted(dir(module)):
        obj = getattr(module, name)
        if name.startswith("_") or isinstance(obj, type | types.ModuleType) or not callable(obj):
            continue
        if module_name in UFUNCS_ONLY and not isinstance(obj, np.ufunc):
            continue
        qualified = prefix + name
        if isinstance(obj, np.ufunc):
            key, names = ufunc_key(obj), [qualified, f"np.{obj.__name__}"]
            registered = key in NUMPY_UFUNCS
        elif hasattr(obj, "_implementation"):       # NumPy's __array_function__ dispatcher
            key, names, registered = obj, [qualified], obj in NUMPY_FUNCTIONS
        else:
            out.append(Entry(qualified, "not dispatched", note=NOT_DISPATCHED_NOTES.get(name, "")))
            continue
        if not registered:
            out.append(Entry(qualified, "missing"))
        elif key in PLAIN_RESULTS:
            out.append(Entry(qualified, "plain", note=PLAIN_RESULTS[key]))
        else:
            rules, note = _attribution(key, names, by_entry, by_handler)
            out.append(Entry(qualified, "rule", tuple(rules), note))
    return out


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a bare | would end the cell)."""
    return text.replace("|", "\\|")


def _namespace_section(module_name, prefix, listed):
    counts = {s: sum(e.status == s for e in listed) for s in ("rule", "plain", "missing", "not dispatched")}
    title = f"`{module_name}` ufuncs" if module_name in UFUNCS_ONLY else f"`{module_name}`"
    lines = ["", f"## {title}", "",
             f"{counts['rule']} with a rule, {counts['plain']} with a plain result, {counts['missing']} missing, "
             f"{counts['not dispatched']} not dispatched.", "",
             "| function | on a Dual | dualgrad rule | convention |", "|---|---|---|---|"]
    for e in listed:
        if e.status != "not dispatched":
            rules = ", ".join(f"`{r}`" for r in e.rules)
            lines.append(f"| `{e.name}` | {STATUS[e.status]} | {rules} | {_cell(e.note)} |")
    outside = [e for e in listed if e.status == "not dispatched"]
    if outside:
        lines += ["", "Not dispatched (NumPy never hands a Dual to dualgrad: creation from shapes, I/O, settings, "
                      "or functions that convert their arguments first): "
                  + ", ".join(f"`{e.name}`" + (f" ({e.note})" if e.note else "") for e in outside) + "."]
    return lines


def render() -> str:
    sections = [(name, prefix, entries(name, prefix)) for name, prefix in NAMESPACES]
    lines = [
        "# Op coverage",
        "",
        "What every public function of `numpy`, `numpy.linalg` and `numpy.fft`, and every ufunc of "
        "`scipy.special` (its other functions are Python code that works on Duals when the NumPy calls inside "
        "it do), does when it meets a Dual, followed by dualgrad's rule table. Generated from NumPy's "
        "own namespaces and dualgrad's dispatch tables by `python -m dualgrad.optable > docs/ops.md` "
        "(a test keeps this page current), so what is missing is listed too.",
        "",
        "- **rule**: the tangent comes from the dualgrad rule(s) named (a rule of its own, or a composition of "
        "rules: then its tangent is theirs, chained).",
        "- **plain**: the result is a plain array (or bool, or tuple): NumPy's answer for the value. These "
        "functions are integer-valued, piecewise constant or queries, with derivative zero where they have one.",
        "- **missing**: raises `dg.MissingRuleError`; register a rule with `dg.defjvp`, or compute the same "
        "thing with functions that have one.",
        "- **not dispatched**: NumPy converts the arguments itself, so a Dual reaches `Dual.__array__`, which "
        "hands NumPy an object array of 0-d Duals (below). Most of these functions build arrays from shapes and "
        "never see a Dual.",
        "",
        "| namespace | rule | plain | missing | not dispatched |",
        "|---|---|---|---|---|",
    ]
    for name, _, listed in sections:
        counts = [sum(e.status == s for e in listed) for s in ("rule", "plain", "missing", "not dispatched")]
        lines.append(f"| `{name}` | " + " | ".join(map(str, counts)) + " |")
    lines += [
        "",
        "## What NumPy never hands to dualgrad",
        "",
        "NumPy dispatches a function to dualgrad when a Dual is among the arguments its dispatcher names. "
        "These uses escape that; none of them drops a tangent:",
        "",
        "- **NumPy building an array from Duals**: `np.array([d, e])`, `np.asarray(d)`, `np.r_[d, e]`, "
        "`np.c_[...]`, `np.append([d], [e])`. `Dual.__array__` hands NumPy an object array whose elements are "
        "0-d Duals; NumPy computes on it element by element through the Duals' own operators and methods "
        "(`np.sin(a)` calls each element's `sin`), which is right but costs a Python call per element. The "
        "array is one Dual again as soon as it meets a Dual or a dualgrad function, goes into a NumPy function "
        "together with a Dual, or is returned from `jvp`, `jacfwd`, `hessian` or `hvp`. Where speed matters "
        "build the Dual directly: `dg.array([d, e])` (any nesting, Duals mixed with numbers and arrays) or "
        "`np.stack([d, e])`.",
        "- **Lists of Duals passed where NumPy expects one array**: `np.sum([d, e])`, `np.max`, `np.dot`, "
        "`np.linalg.norm([d, e])` work through the object array above; `np.mean([d, e])`, `np.std` and `np.var` "
        "cast their sum to float64, which raises a `TypeError` rather than drop the tangent: call them on "
        "`np.stack([d, e])`.",
        "- **Casts to floating point** (`float(d)`, `np.asarray(d, dtype=float)`, `a[i] = d` into a float "
        "array) raise a `TypeError` that names the fix (`d.primal` for the value; a Dual target "
        "`a = np.zeros_like(d)` for writes). Casts to integers give plain integers: `int(d)`, `np.int64(d)`, "
        "`d.astype(int)`.",
        "- **Arguments a dispatcher leaves out**: NumPy looks for Duals only in some arguments, e.g. not in "
        "`np.select`'s `default`, `np.interp`'s `left`/`right`, `np.polyint`'s `k`. A Dual there works when "
        "one of the dispatched arguments is a Dual too.",
        "- **Ufunc methods** (`np.add.reduce`, `.accumulate`, `.outer`, `.at`) raise `MissingRuleError`: "
        "call the function forms (`np.sum`, `np.cumsum`, `np.multiply.outer` as `np.outer`).",
        "- **`np.vectorize` and `np.frompyfunc`** call the function on the object array's 0-d Duals, one by "
        "one: right, and slow; a function written with NumPy operations on the whole Dual is one pass.",
        "- **SciPy's Python functions** convert their arguments with `np.asarray` before any NumPy function sees "
        "a Dual, and then call compiled code or NumPy functions that object arrays do not support; there "
        "`Dual.__array__` raises a `TypeError` at once instead: the `scipy.stats` distributions, "
        "`scipy.special.logsumexp`, `softmax`, `polygamma` and "
        "`multigammaln`, `scipy.linalg` (`expm`, `sqrtm`, `solve_sylvester`, ...), `scipy.signal.convolve`, "
        "`scipy.integrate.trapezoid` and `odeint`, `scipy.optimize.rosen`. The error names the function. "
        "`dualgrad.scipy` has counterparts with SciPy's names and signatures, written with dualgrad's rules "
        f"(docs/scipy.md): {', '.join(f'`dualgrad.scipy.{m}`' for m in dualgrad.scipy.SUBMODULES)}. "
        "Elsewhere write the computation with NumPy functions and scipy.special's ufuncs (those are "
        "dispatched: listed below) and `np.linalg`.",
    ]
    lines += _scipy_section()
    for name, prefix, listed in sections:
        lines += _namespace_section(name, prefix, listed)
    lines += _rule_table()
    return "\n".join(lines) + "\n"


def _summary(obj) -> str:
    """A function's first docstring paragraph, or a distribution object's public methods."""
    if inspect.isfunction(obj):
        return " ".join((obj.__doc__ or "").strip().split("\n\n")[0].split())    # the first paragraph
    fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    methods = [m for m in dir(obj) if not m.startswith("_") and m not in fields and callable(getattr(obj, m))]
    return "methods " + ", ".join(f"`{m}`" for m in methods)


def _scipy_section() -> list[str]:
    """The counterparts of SciPy's Python functions in ``dualgrad.scipy``, from each submodule's ``__all__``."""
    lines = ["", "## SciPy's Python functions: `dualgrad.scipy`", "",
             "These SciPy functions convert their arguments with `np.asarray` and so refuse a Dual; "
             "`dualgrad.scipy` has counterparts with SciPy's names, signatures and values, written with "
             "dualgrad's rules (docs/scipy.md: conventions and where derivatives stop).", "",
             "| SciPy | dualgrad | summary |", "|---|---|---|"]
    for sub in dualgrad.scipy.SUBMODULES:
        module = importlib.import_module(f"dualgrad.scipy.{sub}")
        for name in module.__all__:
            lines.append(f"| `scipy.{sub}.{name}` | `dualgrad.scipy.{sub}.{name}` | "
                         f"{_cell(_summary(getattr(module, name)))} |")
    return lines


def _rule_table():
    rules = [p for p in dg.RULES.values() if p.family != "custom"]
    families = list(FAMILIES) + sorted({p.family for p in rules} - set(FAMILIES))
    lines = [
        "",
        "## The rule table",
        "",
        "Each rule has the form `rule(primals, tangents, **params) -> (out, out_tangent)` with tangent blocks "
        "of shape `(k, *shape)`. *Kind* says how the tangent is formed: elementwise rules multiply by the local "
        "derivative, linear rules apply the same operation to the tangent block (k as a leading batch axis), "
        "fused rules reuse work of the primal computation. *Complex*: the rule also holds for complex operands "
        "(every other rule refuses them with `dg.MissingRuleError`). Every rule nests: its operands may be Duals "
        "of an outer derivative (docs/how-it-works.md §6).",
        "",
        f"{len(rules)} rules in {len({p.family for p in rules})} families.",
    ]
    for family in families:
        rows = sorted((p for p in rules if p.family == family), key=lambda p: p.name)
        if not rows:
            continue
        lines += ["", f"### {FAMILIES.get(family, family.capitalize())}", "",
                  "| rule | reached from | kind | complex | convention |", "|---|---|---|---|---|"]
        for p in rows:
            names = ([f"dg.{p.name}"] if callable(getattr(dg, p.name, None)) else []) + list(p.numpy)
            entry = ", ".join(f"`{n}`" for n in names)
            complex_ok = "yes" if p.complex else ""
            lines.append(f"| `{p.name}` | {entry} | {KINDS.get(p.kind, p.kind)} | {complex_ok} | {_cell(p.note)} |")
    return lines


if __name__ == "__main__":
    print(render(), end="")
