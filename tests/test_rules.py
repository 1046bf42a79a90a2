"""Generic property tests of every rule in the table (one OpCase or more per rule).

For each case, hypothesis draws the input shapes (size-1 and broadcast axes included), the values
(from the case's sampler, away from kinks), k ∈ {1, 2, 7}, which inputs carry tangents and whether
the constant ones are plain arrays or Duals with ``tangent=None``. Then:

1. each of the k tangent columns matches central differences (float64), and the complex step where
   the function is analytic;
2. the k-column result equals k separate single-column runs;
3. in float32 the primal and tangent keep NumPy's own result dtype (float32, except float_power's
   float64) and agree with the float64 result;
4. nested: the derivative of the jvp (jvp over jvp) matches central differences of the jvp, with
   k ∈ {1, 2, 7} columns at each level;
5. complex inputs: a rule marked complex matches complex central differences, any other raises.
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

FAMILIES = ["elementwise", "reductions", "shape", "selection", "statistics", "numeric", "linalg", "scipy_linalg",
            "nn", "conv", "special", "fft"]
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
    """The jvp of the case on ``xp``'s arrays. On CuPy a function or option that CuPy lacks (a named
    BackendUnsupportedError) skips the test, saying which."""
    xs_b = [xp.asarray(x.astype(dtype)) for x in xs]
    vs_b = [None if v is None else xp.asarray(v.astype(dtype)) for v in vs]
    try:
        out, tout = dg.jvp(_wrapped(case, vs, as_dual), tuple(xs_b), tuple(vs_b))
    except dg.BackendUnsupportedError as e:
        if xp is np:
            raise
        pytest.skip(f"CuPy lacks it: {e}")
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
            assert_close(to_numpy(t[col]), to_numpy(s[0]), case.columns_rtol, f"{case.id}: output {n}, column {col}")


@pytest.mark.parametrize("xp", BACKENDS, ids=BACKEND_IDS)
@pytest.mark.parametrize("case", CASES, ids=ids)
@given(data=st.data())
def test_float32_stays_float32_and_agrees_with_float64(case, xp, data):
    xs, vs, k, as_dual = _draw_setup(case, data)
    outs64, touts64 = _run(case, xp, xs, vs, as_dual)
    outs32, touts32 = _run(case, xp, xs, vs, as_dual, dtype=np.float32)
    plain32 = case.fn(*[x.astype(np.float32) for x in xs])
    numpy32 = [np.asarray(getattr(o, "primal", o)).dtype for o in flatten(plain32)[0]]
    for n, (o32, t32, o64, t64) in enumerate(zip(outs32, touts32, outs64, touts64)):
        if o64.dtype.kind == "f":
            assert o32.dtype == numpy32[n], f"{case.id}: output {n} is {o32.dtype}, NumPy's {numpy32[n]}"
            assert t32.dtype == o32.dtype, f"{case.id}: tangent {n} is {t32.dtype}"
            assert_close(to_numpy(o32), to_numpy(o64), case.float32_rtol, f"{case.id}: float32 primal {n}", 1e-2)
            assert_close(to_numpy(t32), to_numpy(t64), case.float32_rtol, f"{case.id}: float32 tangent {n}", 1e-2)


def test_every_rule_has_a_case():
    covered = {c.rule for c in CASES}
    missing = sorted(name for name, p in dg.RULES.items() if p.family != "custom" and name not in covered)
    assert not missing, f"rules without an OpCase in tests/cases_*.py: {missing}"


@pytest.mark.parametrize("case", CASES, ids=ids)
@given(data=st.data())
def test_nested_second_derivatives_match_finite_differences_of_the_first(case, data):
    """jvp over jvp: the outer tangent of the inner jvp equals the central difference of the (first-order,
    already checked) inner jvp along the outer direction, for k inner and k2 outer columns."""
    xs, vs, k, as_dual = _draw_setup(case, data)
    k2 = data.draw(st.sampled_from([1, 2, 7]), label="outer k")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="outer seed"))
    us = [None if v is None else rng.standard_normal((k2,) + x.shape) for x, v in zip(xs, vs)]
    fn = _wrapped(case, vs, as_dual)

    def inner(*args):
        return dg.jvp(fn, args, tuple(vs))[1]

    _, nested = dg.jvp(inner, tuple(xs), tuple(us))
    leaves = flatten(nested)[0]
    for col in range(k2):
        ref = central_difference(inner, xs, us, col)
        for n, (t, r) in enumerate(zip(leaves, ref)):
            assert t.shape[:2] == (k2, k)
            assert_close(to_numpy(t[col]), r, 2e-5, f"{case.id}: output {n}, outer column {col}")


@pytest.mark.parametrize("case", CASES, ids=ids)
@given(data=st.data())
def test_complex_operands_are_right_or_refused(case, data):
    """With complex inputs (the case's real inputs plus small imaginary parts) and complex directions,
    a rule marked complex matches central differences along the complex directions; any other rule
    raises MissingRuleError — never a wrong number."""
    if not case.complex_inputs:
        return
    xs, vs, k, as_dual = _draw_setup(case, data)
    # (seed, 1): a stream apart from the inputs' own, so that the imaginary parts are never 0.1 × the real
    # parts (equal seeds would make z = (1 + 0.1j) x, whose roots and eigenvalues keep x's conjugate pairs)
    rng = np.random.default_rng((data.draw(st.integers(0, 2**32 - 1), label="imaginary parts"), 1))
    zs = [x + 0.1j * rng.standard_normal(x.shape) for x in xs]
    ws = [None if v is None else v + 1j * rng.standard_normal(v.shape) for v in vs]
    try:
        with np.errstate(all="ignore"):
            case.fn(*zs)
    except (TypeError, ValueError, np.linalg.LinAlgError):
        return                                    # NumPy itself does not take complex input here
    try:
        _, touts = dg.jvp(_wrapped(case, ws, as_dual), tuple(zs), tuple(ws))
    except dg.MissingRuleError as e:
        assert "complex" in str(e) or not dg.RULES[case.rule].complex, f"{case.id}: {e}"
        return
    for col in range(k):
        ref = central_difference(case.fn, zs, ws, col)
        for n, (t, r) in enumerate(zip(flatten(touts)[0], ref)):
            got = to_numpy(t[col])
            assert_close(got.real, r.real, 1e-5, f"{case.id}: complex output {n}, column {col} (real part)")
            assert_close(got.imag, r.imag, 1e-5, f"{case.id}: complex output {n}, column {col} (imaginary part)")
