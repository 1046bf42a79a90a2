"""jvp (pytrees, constants, errors), jacfwd (chunking, argnums), check_jvp, defjvp/primitive, backends."""
import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualgrad as dg

registry = importlib.import_module("dualgrad.registry")

rng = np.random.default_rng(2)


@pytest.fixture
def restore_rule_table():
    """Custom registrations in a test must not leak into other tests."""
    saved = dict(registry.RULES), dict(registry.NUMPY_FUNCTIONS), dict(registry.NUMPY_UFUNCS)
    yield
    for table, copy in zip((registry.RULES, registry.NUMPY_FUNCTIONS, registry.NUMPY_UFUNCS), saved):
        table.clear()
        table.update(copy)


# ----- jvp ----------------------------------------------------------------------------------------
def test_jvp_pytrees_in_and_out():
    params = {"w": rng.standard_normal((3, 2)), "b": [rng.standard_normal(2), rng.standard_normal(())]}
    x = rng.standard_normal((4, 3))
    tparams = {"w": rng.standard_normal((5, 3, 2)), "b": [rng.standard_normal((5, 2)), rng.standard_normal((5,))]}

    def f(p, x):
        h = x @ p["w"] + p["b"][0]
        return {"out": np.tanh(h) * p["b"][1], "aux": (h.sum(), x)}

    out, t = dg.jvp(f, (params, x), (tparams, None))
    assert t["out"].shape == (5, 4, 2) and t["aux"][0].shape == (5,)
    assert not t["aux"][1].any() and t["aux"][1].shape == (5, 4, 3), "an output that ignores the inputs gets zeros"
    eps = 1e-6
    shifted = {"w": params["w"] + eps * tparams["w"][3], "b": [params["b"][0] + eps * tparams["b"][0][3],
                                                              params["b"][1] + eps * tparams["b"][1][3]]}
    fd = (f(shifted, x)["out"] - out["out"]) / eps
    np.testing.assert_allclose(t["out"][3], fd, rtol=1e-4, atol=1e-6)


def test_jvp_constant_output_and_integer_arguments():
    labels = np.array([0, 2, 1])
    out, t = dg.jvp(lambda x, y: x[np.arange(3), y], (rng.standard_normal((3, 3)), labels), (np.ones((2, 3, 3)), None))
    assert t.shape == (2, 3)
    out, t = dg.jvp(lambda x: 3.0, (np.ones(2),), (np.ones((4, 2)),))
    assert np.shape(out) == () and t.shape == (4,) and not t.any()


@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), k=st.integers(1, 6))
def test_jvp_shapes(shape, k):
    x = np.full(shape, 0.5)
    out, t = dg.jvp(lambda a: np.sin(a).sum(axis=-1) if a.ndim else np.sin(a), (x,), (np.ones((k,) + shape),))
    assert t.shape == (k,) + np.shape(out)


@pytest.mark.parametrize("primals, tangents, error, match", [
    ((np.ones((3, 4)),), (np.ones((3, 4)),), dg.TangentShapeError, r"primals\[0\].*\(3, 4\).*block \(k, \*\(3, 4\)\)"),
    ((np.ones(3), np.ones(2)), (np.ones((2, 3)), np.ones((4, 2))), dg.TangentShapeError, "disagree on k"),
    ((np.ones(3),), (None,), ValueError, "every tangent is None"),
    ((np.arange(3),), (np.ones((1, 3)),), TypeError, "int64"),
    ((np.ones(3),), (np.ones((1, 3)), np.ones((1, 3))), ValueError, "1 primals but 2 tangents"),
    (({"a": np.ones(2)},), ({"b": np.ones((1, 2))},), ValueError, r"keys \['a'\]"),
    (np.ones(3), np.ones((1, 3)), TypeError, "must be tuples"),
])
def test_jvp_bad_input_is_a_clear_error(primals, tangents, error, match):
    with pytest.raises(error, match=match):
        dg.jvp(lambda *a: a[0], primals, tangents)


# ----- jacfwd -------------------------------------------------------------------------------------
def test_jacfwd_matches_the_analytic_jacobian():
    x = rng.standard_normal((2, 3))
    J = dg.jacfwd(lambda a: np.tanh(a) ** 2)(x)
    expected = np.zeros((2, 3, 2, 3))
    for i in range(2):
        for j in range(3):
            expected[i, j, i, j] = 2 * np.tanh(x[i, j]) * (1 - np.tanh(x[i, j]) ** 2)
    np.testing.assert_allclose(J, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("chunk_size", [None, 1, 3, 5, 100])
def test_jacfwd_chunks_agree(chunk_size):
    A = rng.standard_normal((4, 5))
    x = rng.standard_normal(5)
    J = dg.jacfwd(lambda v: np.sin(A @ v), chunk_size=chunk_size)(x)
    np.testing.assert_allclose(J, np.cos(A @ x)[:, None] * A, rtol=1e-12)


def test_jacfwd_argnums_tuple_and_pytree_output():
    a, b = rng.standard_normal(3), rng.standard_normal((2, 3))
    Ja, Jb = dg.jacfwd(lambda a, b: b @ a, argnums=(0, 1), chunk_size=2)(a, b)
    np.testing.assert_allclose(Ja, b)
    np.testing.assert_allclose(Jb, np.stack([np.kron(np.eye(2)[i], a).reshape(2, 3) for i in range(2)]))
    J = dg.jacfwd(lambda a: {"sq": a ** 2, "sum": a.sum()})(a)
    np.testing.assert_allclose(J["sq"], np.diag(2 * a))
    np.testing.assert_allclose(J["sum"], np.ones(3))


def test_default_chunk_size_rule():
    assert dg.default_chunk_size(10) == 10
    assert dg.default_chunk_size(512) == 512
    assert dg.default_chunk_size(1024) == 256
    assert dg.default_chunk_size(4096) == 64
    assert dg.default_chunk_size(10 ** 7) == 16


def test_jacfwd_refuses_integer_input():
    with pytest.raises(TypeError, match="floating-point"):
        dg.jacfwd(np.sin)(np.arange(3))


# ----- check_jvp ----------------------------------------------------------------------------------
def test_check_jvp_passes_on_correct_rules_with_both_references():
    x = rng.standard_normal((3, 4))
    err = dg.check_jvp(lambda a: np.exp(np.sin(a)) @ a.T, (x,), complex_step=True)
    assert err < 1e-8


def test_check_jvp_catches_a_wrong_rule(restore_rule_table):
    @dg.primitive
    def cube(x):
        return x ** 3

    @dg.defjvp(cube)
    def cube_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return x ** 3, None if t is None else 2 * x ** 2 * t      # wrong: should be 3 x²

    with pytest.raises(dg.JVPCheckError, match=r"relative error .* > rtol"):
        dg.check_jvp(cube, (rng.standard_normal(4),))


def test_check_jvp_float32_tolerance():
    x = rng.standard_normal(5).astype(np.float32)
    assert dg.check_jvp(lambda a: np.tanh(a) * a, (x,)) < 2e-3


def test_check_jvp_catches_a_wrong_primal(restore_rule_table):
    @dg.primitive
    def my_sin(x):
        return np.sin(x)

    @dg.defjvp(my_sin)
    def my_sin_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return np.cos(x), None if t is None else np.cos(x) * t   # right tangent, wrong primal

    with pytest.raises(dg.JVPCheckError, match="primal"):
        dg.check_jvp(my_sin, (rng.standard_normal(4),))


def test_check_jvp_takes_its_reference_in_float64_when_f_casts_down():
    x = rng.standard_normal(50)
    err = dg.check_jvp(lambda a: np.sin(a.astype(np.float32)), (x,))
    assert err < 1e-6        # the jvp itself is float32-accurate; the reference is not float32 noise


def test_check_jvp_names_the_worst_element(restore_rule_table):
    @dg.primitive
    def shifted(x):
        return x * 2

    @dg.defjvp(shifted)
    def shifted_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return x * 2, None if t is None else 2 * t + (np.arange(x.size) == 3).reshape(x.shape) * t

    with pytest.raises(dg.JVPCheckError, match=r"at element \(3,\)"):
        dg.check_jvp(shifted, (np.ones(6),), k=1)


def test_check_jvp_on_complex_primals():
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    assert dg.check_jvp(lambda a: np.exp(a) * np.conj(a) + np.abs(a), (z,)) < 1e-6


# ----- custom rules ---------------------------------------------------------------------------------
def test_primitive_without_rule_raises_missing_rule(restore_rule_table):
    @dg.primitive
    def softsign(x):
        return x / (1 + np.abs(x))

    np.testing.assert_allclose(softsign(np.array([1.0])), [0.5])         # plain arrays run the body
    with pytest.raises(dg.MissingRuleError, match=r"softsign.*dg\.defjvp"):
        softsign(dg.Dual(np.ones(2), np.ones((1, 2))))

    @dg.defjvp(softsign)
    def softsign_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return x / (1 + np.abs(x)), None if t is None else t / (1 + np.abs(x)) ** 2

    dg.check_jvp(lambda a: softsign(a).sum(), (rng.standard_normal(6),))
    assert "softsign" in str(dg.RULES) or any("softsign" in name for name in dg.RULES)


def test_defjvp_on_a_numpy_ufunc_and_function(restore_rule_table):
    @dg.defjvp(np.float_power)
    def float_power_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        out = np.float_power(x, y)
        assert ty is None
        return out, None if tx is None else tx * (y * np.float_power(x, y - 1))

    @dg.defjvp(np.sinc)
    def sinc_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        px = np.pi * x
        return np.sinc(x), None if t is None else t * (np.cos(px) / x - np.sin(px) / (px * x))

    x = rng.uniform(0.5, 2.0, 5)
    dg.check_jvp(lambda a: np.float_power(a, 2.5), (x,))
    dg.check_jvp(np.sinc, (x,))


def test_defjvp_refuses_a_plain_python_function():
    def f(x):
        return x
    with pytest.raises(TypeError, match=r"@dg\.primitive"):
        dg.defjvp(f)(lambda primals, tangents: (primals[0], tangents[0]))


def test_rule_returning_a_wrong_shape_is_reported(restore_rule_table):
    @dg.primitive
    def bad(x):
        return x

    @dg.defjvp(bad)
    def bad_jvp(primals, tangents):
        return primals[0], tangents[0][:, :1]

    with pytest.raises(AssertionError, match=r"rule of .*bad.* shape \(2, 1\).*expected \(2, 3\)"):
        bad(dg.Dual(np.ones(3), np.ones((2, 3))))


# ----- backends ------------------------------------------------------------------------------------
def test_cupy_request_without_cupy_is_a_clear_error():
    if "cupy" in dg.backend.available():
        pytest.skip("CuPy with a GPU is available here")
    with pytest.raises(dg.BackendUnavailableError, match=r"pip install 'dualgrad\[gpu\]'|no CUDA device"):
        dg.backend.get("cupy")


def test_backend_is_taken_from_the_data():
    assert dg.backend.namespace(np.ones(2)) is np
    assert dg.backend.get("numpy") is np
    with pytest.raises(ValueError, match="unknown backend"):
        dg.backend.get("torch")
