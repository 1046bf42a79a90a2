"""The rule table and the one function that applies a rule: ``bind``.

A *primitive* is a named operation with one forward-mode rule

    rule(primals, tangents, **params) -> (out, out_tangent)

``primals`` holds the operands with Duals unpacked to their primal arrays (plain operands as given);
``tangents`` holds each operand's tangent block ``(k, *shape)`` or ``None`` (a symbolic zero: a
constant, or a Dual that carries no tangent). A rule returns the primal output and its tangent
``(k, *out.shape)``, or ``None`` when every tangent it would use is zero. Returning both lets a rule
share work: ``exp`` reuses its output, softmax-cross-entropy its softmax, max-pool its argmax.

Multi-output primitives (split, slogdet) return a tuple of outputs and a tuple of tangents.

Nesting: when operands carry Duals of different tags, ``bind`` unpacks those of the largest tag (the
innermost derivative) and hands every other operand to the rule as a constant. The rule's own NumPy
calls then meet those constants — Duals of smaller tags — and dispatch to the rules again, one level
down: this is how a rule written once yields derivatives of any order (JAX's levels, ForwardDiff's tags).
A rule is therefore written with NumPy functions and operators that have rules themselves; its fast
paths on plain arrays stay as they are.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .backend import on_one_device
from .dual import Dual, from_objects, link_view
from .errors import MissingRuleError, TangentShapeError


@dataclass(frozen=True)
class Primitive:
    """One row of the rule table (``docs/ops.md`` is generated from these rows)."""

    name: str
    rule: Callable = field(repr=False)
    family: str = "custom"
    kind: str = "rule"          # "elementwise", "linear", "fused" or "rule" (general)
    numpy: tuple = ()           # NumPy entry points that reach this rule, e.g. ("np.sum", "ndarray.sum")
    note: str = ""              # conventions worth a line in the table (ties, kinks, ...)
    complex: bool = False       # the rule is right for complex operands (else they raise MissingRuleError)
    view: Callable | None = None  # view(**params): how a result that views operand 0 writes back into it
    #                               (a function (base, view) -> None, "readonly", or None: not a view)

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
                 numpy: tuple = (), note: str = "", complex: bool = False, view: Callable | None = None) -> Primitive:
    """Register ``rule`` as the forward-mode rule of the primitive ``name`` and return it."""
    prim = Primitive(name, rule, family, kind, tuple(numpy), note, complex, view)
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
    """Apply ``prim`` to ``operands``: unpack the Duals of the largest tag, run the rule, pack the result.

    Without any Dual operand the result is a plain array (dg functions work on plain arrays too).
    """
    tag, objects = -1, False
    for x in operands:
        if isinstance(x, Dual):
            x._owned = False                      # the rule may return its buffers: no more in-place writes
            if x.tag > tag:
                tag = x.tag
        elif type(x) is np.ndarray and x.dtype.kind == "O":
            objects = True
    if objects:                                   # np.array([d, e]) among them (NumPy's object array): one Dual
        converted = tuple(map(from_objects, operands))
        if any(c is not o for c, o in zip(converted, operands)):
            return bind(prim, *converted, **params)
    operands = on_one_device(operands)
    if tag < 0:
        return prim.rule(list(operands), [None] * len(operands), **params)[0]
    primals, tangents, k = [], [], None
    for x in operands:
        if isinstance(x, Dual) and x.tag == tag:
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
    if not prim.complex:
        _refuse_complex(prim, primals)
    out, out_tangent = prim.rule(primals, tangents, **params)
    if isinstance(out, (tuple, list)):
        out_tangent = out_tangent if out_tangent is not None else (None,) * len(out)
        return type(out)(_pack(prim.name, o, t, k, tag) for o, t in zip(out, out_tangent))
    result = _pack(prim.name, out, out_tangent, k, tag)
    if prim.view is not None and isinstance(operands[0], Dual) and operands[0].tag == tag:
        writer = prim.view(**params)              # NumPy would return a view of operand 0: keep them linked
        if writer is not None:
            link_view(operands[0], result, prim, params, writer)
    return result


def _refuse_complex(prim, primals):
    for p in primals:
        dtype = getattr(p, "dtype", None)
        if (dtype is not None and dtype.kind == "c") or isinstance(p, complex):
            raise MissingRuleError(f"{prim.name} has no forward-mode rule for complex operands (dtype {dtype}); "
                                   "its derivative is defined for real inputs only. Split the value with "
                                   "np.real / np.imag, or see docs/ops.md for the complex-safe rules.")


def _constant(x):
    """A lower-level Dual without tangent is its primal: as part of another Dual it carries nothing."""
    while isinstance(x, Dual) and x.tangent is None:
        x = x.primal
    return x


def _pack(name, out, out_tangent, k, tag):
    if isinstance(out, Dual):
        out = _constant(out)
    if out_tangent is None:
        return Dual._unchecked(out, None, tag)
    if isinstance(out_tangent, Dual):
        out_tangent = _constant(out_tangent)
    expected = (k,) + tuple(out.shape)
    if tuple(out_tangent.shape) != expected:
        raise AssertionError(f"dualgrad internal error: the rule of {name!r} returned a tangent of shape "
                             f"{out_tangent.shape} for an output of shape {out.shape} (expected {expected})")
    if out_tangent.dtype != out.dtype:
        out_tangent = out_tangent.astype(out.dtype)
    return Dual._unchecked(out, out_tangent, tag)


def _k_mismatch_message(name, operands):
    desc = ", ".join(f"Dual(shape={x.shape}, k={x.k})" if isinstance(x, Dual)
                     else f"{type(x).__name__}" for x in operands)
    return (f"{name}: operands carry different numbers of tangent columns k ({desc}). All Duals that meet "
            "in one computation must come from the same jvp call (same k); seed them together.")
