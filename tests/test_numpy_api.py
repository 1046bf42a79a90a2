"""NumPy's namespace on Duals beyond the rule table's OpCases: plain results, conventions, refusals."""
import warnings

import numpy as np
import pytest
import scipy.special

import dualgrad as dg
from dualgrad.rules.queries import PLAIN_RESULTS

rng = np.random.default_rng(11)


def dual(shape, k=2):
    return dg.Dual(rng.standard_normal(shape), rng.standard_normal((k,) + tuple(shape)))


# ----- plain results: call(d, s) with d a (2, 3) Dual and s a sorted vector ----------------------------
D = dual((2, 3))
S = dg.Dual(np.sort(rng.standard_normal(5)), np.ones((1, 5)))
PLAIN_CALLS = {
    np.argsort: lambda d, s: np.argsort(d),
    np.argmax: lambda d, s: np.argmax(d, axis=1),
    np.argmin: lambda d, s: np.argmin(d),
    np.nanargmax: lambda d, s: np.nanargmax(d),
    np.nanargmin: lambda d, s: np.nanargmin(d, axis=0),
    np.argpartition: lambda d, s: np.argpartition(d, 1),
    np.lexsort: lambda d, s: np.lexsort((d[0], d[1])),
    np.nonzero: lambda d, s: np.nonzero(d),
    np.flatnonzero: lambda d, s: np.flatnonzero(d),
    np.argwhere: lambda d, s: np.argwhere(d),
    np.searchsorted: lambda d, s: np.searchsorted(s, d),
    np.digitize: lambda d, s: np.digitize(d, s),
    np.tril_indices_from: lambda d, s: np.tril_indices_from(d),
    np.triu_indices_from: lambda d, s: np.triu_indices_from(d, 1),
    np.diag_indices_from: lambda d, s: np.diag_indices_from(d[:, :2]),
    np.count_nonzero: lambda d, s: np.count_nonzero(d),
    np.isclose: lambda d, s: np.isclose(d, d + 1e-9),
    np.allclose: lambda d, s: np.allclose(d, d),
    np.array_equal: lambda d, s: np.array_equal(d, d[::-1]),
    np.array_equiv: lambda d, s: np.array_equiv(d, d[0]),
    np.isin: lambda d, s: np.isin(d, [0.0]),
    np.isneginf: lambda d, s: np.isneginf(d),
    np.isposinf: lambda d, s: np.isposinf(d),
    np.iscomplex: lambda d, s: np.iscomplex(d),
    np.isreal: lambda d, s: np.isreal(d),
    np.any: lambda d, s: np.any(d > 0, axis=0),
    np.all: lambda d, s: np.all(d),
    np.iscomplexobj: lambda d, s: np.iscomplexobj(d),
    np.isrealobj: lambda d, s: np.isrealobj(d),
    np.shape: lambda d, s: np.shape(d),
    np.ndim: lambda d, s: np.ndim(d),
    np.size: lambda d, s: np.size(d, 1),
    np.result_type: lambda d, s: np.result_type(d, np.float32),
    np.can_cast: lambda d, s: np.can_cast(d, np.float32),
    np.common_type: lambda d, s: np.common_type(d, s),
    np.min_scalar_type: lambda d, s: np.min_scalar_type(d),
    np.einsum_path: lambda d, s: np.einsum_path("ij,jk->ik", d, d.T),
    np.linalg.matrix_rank: lambda d, s: np.linalg.matrix_rank(d @ d.T),
    "scipy.special.gammasgn": lambda d, s: scipy.special.gammasgn(d),
    "scipy.special.round": lambda d, s: scipy.special.round(d * 3),
    "greater": lambda d, s: np.greater(d, 0),
    "greater_equal": lambda d, s: np.greater_equal(0, d),
    "less": lambda d, s: np.less(d, s[:3]),
    "less_equal": lambda d, s: np.less_equal(d, 1),
    "equal": lambda d, s: np.equal(d, d),
    "not_equal": lambda d, s: np.not_equal(d, 0),
    "isfinite": lambda d, s: np.isfinite(d),
    "isnan": lambda d, s: np.isnan(d),
    "isinf": lambda d, s: np.isinf(d),
    "signbit": lambda d, s: np.signbit(d),
    "logical_not": lambda d, s: np.logical_not(d),
    "logical_and": lambda d, s: np.logical_and(d, 1),
    "logical_or": lambda d, s: np.logical_or(d, d),
    "logical_xor": lambda d, s: np.logical_xor(0, d),
    np.round: lambda d, s: np.round(d, 1),
    np.around: lambda d, s: np.around(d),
    "floor": lambda d, s: np.floor(d),
    "ceil": lambda d, s: np.ceil(d),
    "rint": lambda d, s: np.rint(d),
    "trunc": lambda d, s: np.trunc(d),
    "floor_divide": lambda d, s: np.floor_divide(d, 0.7),
    "heaviside": lambda d, s: np.heaviside(d, 0.5),
    "spacing": lambda d, s: np.spacing(d),
    "nextafter": lambda d, s: np.nextafter(d, 0),
    np.fix: lambda d, s: np.fix(d),
    np.array2string: lambda d, s: np.array2string(d, precision=3),
    np.array_repr: lambda d, s: np.array_repr(d),
    np.array_str: lambda d, s: np.array_str(d),
}
#: integer-only ufuncs: on a Dual (floating) they fail exactly as NumPy does on its floating value
INTEGER_UFUNCS = ["bitwise_and", "bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "gcd", "lcm",
                  "isnat", "bitwise_count"]


def _leaves(x):
    return [leaf for item in x for leaf in _leaves(item)] if isinstance(x, (tuple, list)) else [x]


@pytest.mark.parametrize("function", list(PLAIN_RESULTS), ids=lambda f: getattr(f, "__name__", f))
def test_plain_result_functions_return_what_numpy_returns_for_the_value(function):
    if function in INTEGER_UFUNCS:
        ufunc = getattr(np, function)
        args = (D,) if ufunc.nin == 1 else (D, 3)
        with pytest.raises(TypeError) as ours:
            ufunc(*args)
        with pytest.raises(TypeError) as numpys:
            ufunc(*(D.primal if a is D else a for a in args))
        assert str(ours.value) == str(numpys.value)
        return
    assert function in PLAIN_CALLS, f"add a call of {function} to PLAIN_CALLS"
    got = PLAIN_CALLS[function](D, S)
    expected = PLAIN_CALLS[function](D.primal, S.primal)
    assert not any(isinstance(leaf, dg.Dual) for leaf in _leaves(got))
    for g, e in zip(_leaves(got), _leaves(expected), strict=True):
        np.testing.assert_array_equal(g, e)


def test_plain_results_of_a_nested_dual_come_from_the_innermost_value():
    x = np.array([0.3, -1.0, 2.0])
    inner = dg.Dual(x, np.ones((1, 3)))
    outer = dg.Dual._unchecked(inner, None)       # a Dual whose primal is a Dual
    np.testing.assert_array_equal(np.argsort(outer), np.argsort(x))
    assert np.allclose(outer, x) and np.shape(outer) == (3,)


# ----- selection conventions ----------------------------------------------------------------------------
def test_sort_ties_follow_the_stable_order():
    x = dg.Dual(np.array([2.0, 1.0, 2.0, 1.0]), np.array([[10.0, 20.0, 30.0, 40.0]]))
    out = np.sort(x)
    np.testing.assert_array_equal(out.primal, [1, 1, 2, 2])
    np.testing.assert_array_equal(out.tangent, [[20, 40, 10, 30]])


def test_unique_values_carry_the_tangent_of_their_first_occurrence():
    x = dg.Dual(np.array([3.0, 1.0, 3.0]), np.array([[1.0, 2.0, 5.0]]))
    values, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.primal, [1, 3])
    np.testing.assert_array_equal(values.tangent, [[2, 1]])
    for got, want in zip((index, inverse, counts), np.unique(x.primal, True, True, True)[1:]):
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, want)


def test_partition_places_the_kth_element_and_its_tangent():
    x = dual((7,))
    out = np.partition(x, 3)
    order = np.argsort(x.primal)
    assert out.primal[3] == np.sort(x.primal)[3]
    np.testing.assert_array_equal(out.tangent[:, 3], x.tangent[:, order[3]])


def test_positions_and_conditions_cannot_be_duals():
    x = dual((4,))
    with pytest.raises(TypeError, match="obj cannot be a Dual"):
        np.insert(np.zeros(5), x[0], 1.0)
    with pytest.raises(TypeError, match="condlist cannot be a Dual"):
        np.select([x], [x])
    with pytest.raises(TypeError, match="integers"):
        np.insert(np.arange(3), 1, x[0])        # NumPy would truncate the Dual to an integer


def test_row_stack_and_dtype_arguments_of_the_joins():
    a, b = dual((3,)), dual((3,)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        stacked = np.row_stack([a, b])  # noqa: NPY201  (its path: np.vstack(..., casting="same_kind"))
    assert stacked.shape == (2, 3) and stacked.dtype == np.float64
    np.testing.assert_array_equal(stacked.tangent[:, 1], b.tangent)
    widened = np.concatenate([b, b], dtype=np.float64)
    assert widened.dtype == widened.tangent.dtype == np.float64
    with pytest.raises(TypeError, match="integers"):
        np.stack([a, b], dtype=np.int64)
    with pytest.raises(TypeError, match="Cannot cast"):
        np.concatenate([a, b], casting="no")


def test_dg_array_builds_what_np_array_builds():
    a, b = dual(()), dual(())
    m = dg.array([[a, 1.0], [b, a]])
    np.testing.assert_array_equal(m.primal, np.array([[a.primal, 1.0], [b.primal, a.primal]]))
    np.testing.assert_array_equal(m.tangent[:, 0, 1], 0.0)
    np.testing.assert_array_equal(m.tangent[:, 1, 0], b.tangent)
    plain = dg.array([[1, 2], [3, 4]])
    assert type(plain) is np.ndarray and plain.dtype == np.array([[1, 2]]).dtype
    assert dg.array([a, b], dtype=np.float32).dtype == np.float32
    assert dg.asarray(a) is a
    with pytest.raises(ValueError):
        dg.array([a, dual((2,))])               # ragged, as for np.array


def test_every_opcase_names_a_rule_of_the_table():
    from .test_rules import CASES
    unknown = sorted({c.rule for c in CASES} - set(dg.RULES))
    assert not unknown, f"OpCases name rules that do not exist: {unknown}"
