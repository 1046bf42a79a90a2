"""Generic property tests of every rule in the table (one OpCase or more per rule).

For each case, hypothesis draws the input shapes (size-1 and broadcast axes included), the values
(from the case's sampler, away from kinks), k ∈ {1, 2, 7}, which inputs carry tangents and whether
the constant ones are plain arrays or Duals with ``tangent=None``. Then:

1. each of the k tangent columns matches central differences (float64), and the complex step where
   the function is analytic;
2. the k-column result equals k separate single-column runs;
3. in float32 the primal and tangent stay float32 and agree with the float64 result.
"""
import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dualgrad as dg
from dualgrad.backend import to_numpy
from dualgrad.pytree import flatten

from .harness import BACKEND_IDS, BACKENDS, assert_close, central_difference, complex_step, outputs

FAMILIES = ["elementwise", "reductions", "shape", "selection", "statistics", "numeric", "linalg", "nn", "conv",
            "special"]
CASES = [case for fam in FAMILIES for case in importlib.import_module(f"tests.cases_{fam}").CASES]


def _draw_setup(case, data):
    shapes = data.draw(case.shapes, label="shapes")
    k = data.draw(st.sampled_from([1, 2, 7]), label="k")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    xs = case.draw_inputs(rng, shapes)
    candidates = case.differentiable if case.differentiable is not None else tuple(range(len(xs)))
    active = data.draw(st.sets(st.sampled_from(candidates), min_size=1), label="inputs with tangents")
    as_dual = data.draw(st.booleans(), label="constants as Dual(x, None)")
    vs = [rng.standard_normal((k,) + x.shape) if i in active else None for i, x in enumerate(xs)]
    return xs, vs, k, as_dual


def _wrapped(case, vs, as_dual):
    """case.fn with its constant inputs turned into Duals that carry no tangent (when as_dual)."""
    if not as_dual:
        return case.fn
    return lambda *a: case.fn(*[dg.Dual(x, None) if v is None else x for x, v in zip(a, vs)])


def _run(case, xp, xs, vs, as_dual, dtype=np.float64):
    xs_b = [xp.asarray(x.astype(dtype)) for x in xs]
    vs_b = [None if v is None else xp.asarray(v.astype(dtype)) for v in vs]
    out, tout = dg.jvp(_wrapped(case, vs, as_dual), tuple(xs_b), tuple(vs_b))
    return flatten(out)[0], flatten(tout)[0]


ids = [c.id for c in CASES]


@pytest.mark.parametrize("xp", BACKENDS, ids=BACKEND_IDS)
@pytest.mark.parametrize("case", CASES, ids=ids)
@given(data=st.data())
def test_tangent_columns_match_finite_differences(case, xp, data):
    xs, vs, k, as_dual = _draw_setup(case, data)
    outs, touts = _run(case, xp, xs, vs, as_dual)
    primal_ref = outputs(case.fn(*xs))
    for o, r in zip(outs, primal_ref):
        assert_close(to_numpy(o), r, 1e-12, f"{case.id}: primal output")
    for col in range(k):
        refs = [("central difference", central_difference(case.fn, xs, vs, col), case.rtol)]
        if case.analytic:
            refs.append(("complex step", complex_step(case.fn, xs, vs, col), 1e-10))
        for method, ref, rtol in refs:
            for n, (t, r) in enumerate(zip(touts, ref)):
                assert t.shape[0] == k
                assert_close(to_numpy(t[col]), r, rtol, f"{case.id}: output {n}, column {col} vs {method}")


@pytest.mark.parametrize("xp", BACKENDS, ids=BACKEND_IDS)
@pytest.mark.parametrize("case", CASES, ids=ids)
@given(data=st.data())
def test_k_columns_equal_k_single_column_runs(case, xp, data):
    xs, vs, k, as_dual = _draw_setup(case, data)
    _, touts = _run(case, xp, xs, vs, as_dual)
    for col in range(k):
        single = [None if v is None else v[col:col + 1] for v in vs]
        _, t1 = _run(case, xp, xs, single, as_dual)
        for n, (t, s) in enumerate(zip(touts, t1)):
            assert_close(to_numpy(t[col]), to_numpy(s[0]), 1e-12, f"{case.id}: output {n}, column {col}")


@pytest.mark.parametrize("xp", BACKENDS, ids=BACKEND_IDS)
@pytest.mark.parametrize("case", CASES, ids=ids)
@given(data=st.data())
def test_float32_stays_float32_and_agrees_with_float64(case, xp, data):
    xs, vs, k, as_dual = _draw_setup(case, data)
    outs64, touts64 = _run(case, xp, xs, vs, as_dual)
    outs32, touts32 = _run(case, xp, xs, vs, as_dual, dtype=np.float32)
    for n, (o32, t32, o64, t64) in enumerate(zip(outs32, touts32, outs64, touts64)):
        if o64.dtype.kind == "f":
            assert o32.dtype == np.float32, f"{case.id}: output {n} is {o32.dtype}"
            assert t32.dtype == np.float32, f"{case.id}: tangent {n} is {t32.dtype}"
            assert_close(to_numpy(o32), to_numpy(o64), case.float32_rtol, f"{case.id}: float32 primal {n}", 1e-2)
            assert_close(to_numpy(t32), to_numpy(t64), case.float32_rtol, f"{case.id}: float32 tangent {n}", 1e-2)


def test_every_rule_has_a_case():
    covered = {c.rule for c in CASES}
    missing = sorted(name for name, p in dg.RULES.items() if p.family != "custom" and name not in covered)
    assert not missing, f"rules without an OpCase in tests/cases_*.py: {missing}"
