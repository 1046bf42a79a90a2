"""The rule table and the one function that applies a rule: ``bind``.

A *primitive* is a named operation with one forward-mode rule

    rule(primals, tangents, **params) -> (out, out_tangent)

``primals`` holds the operands with Duals unpacked to their primal arrays (plain operands as given);
``tangents`` holds each operand's tangent block ``(k, *shape)`` or ``None`` (a symbolic zero: a
constant, or a Dual that carries no tangent). A rule returns the primal output and its tangent
``(k, *out.shape)``, or ``None`` when every tangent it would use is zero. Returning both lets a rule
share work: ``exp`` reuses its output, softmax-cross-entropy its softmax, max-pool its argmax.

Multi-output primitives (split, slogdet) return a tuple of outputs and a tuple of tangents.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .dual import Dual
from .errors import TangentShapeError


@dataclass(frozen=True)
class Primitive:
    """One row of the rule table (``docs/ops.md`` is generated from these rows)."""

    name: str
    rule: Callable = field(repr=False)
    family: str = "custom"
    kind: str = "rule"          # "elementwise", "linear", "fused" or "rule" (general)
    numpy: tuple = ()           # NumPy entry points that reach this rule, e.g. ("np.sum", "ndarray.sum")
    note: str = ""              # conventions worth a line in the table (ties, kinks, ...)

    def __call__(self, *operands, **params):
        return bind(self, *operands, **params)


#: name -> Primitive: every forward-mode rule dualgrad knows.
RULES: dict[str, Primitive] = {}

#: numpy function -> dualgrad implementation, consulted by ``Dual.__array_function__``.
NUMPY_FUNCTIONS: dict[Callable, Callable] = {}

#: numpy ufunc name -> dualgrad implementation, consulted by ``Dual.__array_ufunc__``.
NUMPY_UFUNCS: dict[str, Callable] = {}

#: NumPy entry points written as a composition of rules (np.diff: getitem and subtract), as registered
#: with ``implements(..., via=...)``: function or ufunc name -> (rule names, note). For docs/ops.md.
COMPOSITES: dict = {}


def defprimitive(name: str, rule: Callable, *, family: str, kind: str = "rule",
                 numpy: tuple = (), note: str = "") -> Primitive:
    """Register ``rule`` as the forward-mode rule of the primitive ``name`` and return it."""
    prim = Primitive(name, rule, family, kind, tuple(numpy), note)
    RULES[name] = prim
    return prim


def implements(*numpy_functions, via: tuple[str, ...] = (), note: str = ""):
    """Decorator: the decorated dualgrad function handles these NumPy functions/ufuncs on Duals.

    ``via`` names the rules a composite function is built from (its tangent is theirs, chained), with an
    optional ``note`` on conventions; functions that reach a single rule are listed in its ``numpy=``.
    """
    def register(fn):
        for f in numpy_functions:
            if isinstance(f, str):          # a ufunc, by its __name__
                NUMPY_UFUNCS[f] = fn
            else:
                NUMPY_FUNCTIONS[f] = fn
            if via:
                COMPOSITES[f] = (tuple(via), note)
        return fn
    return register


def bind(prim: Primitive, *operands, **params):
    """Apply ``prim`` to ``operands``: unpack Duals, run the rule, pack the result.

    Without any Dual operand the result is a plain array (dg functions work on plain arrays too).
    """
    primals, tangents = [], []
    any_dual, k = False, None
    for x in operands:
        if isinstance(x, Dual):
            any_dual = True
            t = x.tangent
            if t is not None:
                if k is None:
                    k = t.shape[0]
                elif t.shape[0] != k:
                    raise TangentShapeError(_k_mismatch_message(prim.name, operands))
            primals.append(x.primal)
            tangents.append(t)
        else:
            primals.append(x)
            tangents.append(None)
    out, out_tangent = prim.rule(primals, tangents, **params)
    if not any_dual:
        return out
    if isinstance(out, (tuple, list)):
        out_tangent = out_tangent if out_tangent is not None else (None,) * len(out)
        return type(out)(_pack(prim.name, o, t, k) for o, t in zip(out, out_tangent))
    return _pack(prim.name, out, out_tangent, k)


def _pack(name, out, out_tangent, k):
    if out_tangent is None:
        return Dual._unchecked(out, None)
    expected = (k,) + tuple(out.shape)
    if out_tangent.shape != expected:
        raise AssertionError(f"dualgrad internal error: the rule of {name!r} returned a tangent of shape "
                             f"{out_tangent.shape} for an output of shape {out.shape} (expected {expected})")
    if out_tangent.dtype != out.dtype:
        out_tangent = out_tangent.astype(out.dtype)
    return Dual._unchecked(out, out_tangent)


def _k_mismatch_message(name, operands):
    desc = ", ".join(f"Dual(shape={x.shape}, k={x.k})" if isinstance(x, Dual)
                     else f"{type(x).__name__}" for x in operands)
    return (f"{name}: operands carry different numbers of tangent columns k ({desc}). All Duals that meet "
            "in one computation must come from the same jvp call (same k); seed them together.")
