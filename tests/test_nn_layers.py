"""Every layer of dualgrad.nn: its forward-mode derivative, its reverse rule, and its state.

For each layer f(x, θ):
* ``forward`` on Duals matches central differences (``dg.check_jvp``, tangents on x and on θ);
* ``backward`` is the exact transpose of the forward-mode Jacobian — the dot-product test
  ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ for a random cotangent u and, one tangent column each, random directions v
  in x and in every parameter (a test below shows it catches a wrong backward);
* ``forward`` on arrays equals ``forward_cached``'s output.
Then the state: dropout masks, BatchNorm's running statistics, initialisation, parameter dicts.
"""
import math

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import nn

TOL = 1e-10


def tangent_columns(x, params, rng):
    """Tangent blocks with one column per input: column 0 moves x, column j moves the j-th parameter."""
    names = list(params)
    k = 1 + len(names)
    vx = np.zeros((k,) + x.shape)
    vx[0] = rng.standard_normal(x.shape)
    vp = {}
    for j, name in enumerate(names, start=1):
        vp[name] = np.zeros((k,) + params[name].shape)
        vp[name][j] = rng.standard_normal(params[name].shape)
    return vx, vp


def adjoint_errors(module, x, ctx, rng, params=None):
    """Relative errors |⟨u, J v_j⟩ − ⟨Jᵀu, v_j⟩| / (‖u‖‖J v_j‖ + ‖Jᵀu‖‖v_j‖), one per column j (x, then each parameter).

    J v comes from one k-column ``dg.jvp`` of ``module.forward``; Jᵀ u from ``forward_cached`` and
    ``backward``, both in the same Context (same dropout mask, same BatchNorm mode).
    """
    params = module.parameters() if params is None else params
    vx, vp = tangent_columns(x, params, rng)
    _, jv = dg.jvp(lambda x_, p_: module.forward(x_, p_, ctx), (x, params), (vx, vp))
    y, cache = module.forward_cached(x, params, ctx)
    u = rng.standard_normal(y.shape)
    grad_x, grads = module.backward(cache, u, params)
    assert set(grads) == set(params), f"backward returned gradients for {sorted(grads)}, expected {sorted(params)}"
    assert grad_x.shape == x.shape
    pairs = [(grad_x, vx[0])] + [(grads[name], vp[name][j]) for j, name in enumerate(params, start=1)]
    errors = []
    for j, (g, v) in enumerate(pairs):
        lhs, rhs = np.vdot(u, jv[j]), np.vdot(g, v)
        scale = np.linalg.norm(u) * np.linalg.norm(jv[j]) + np.linalg.norm(g) * np.linalg.norm(v) + 1e-300
        errors.append(abs(lhs - rhs) / scale)
    return errors


def train_ctx(seed=0):
    return nn.Context(rng=np.random.default_rng(seed), training=True)


def eval_bn(rng):
    bn = nn.BatchNorm2d(3)
    bn.set_buffers({"running_mean": rng.standard_normal(3), "running_var": rng.uniform(0.5, 2, 3)})
    bn.set_parameters({"weight": rng.uniform(0.5, 2, 3), "bias": rng.standard_normal(3)})
    return bn


def random_affine(module, rng):
    """Random weight/bias for the normalisation layers (init 1 and 0 would hide mistakes)."""
    module.set_parameters({n: rng.standard_normal(p.shape) for n, p in module.parameters().items()})
    return module


# (id, factory(rng) -> module, input shape, training context?)
CASES = [
    ("linear", lambda r: nn.Linear(4, 3, rng=r), (5, 4), False),
    ("linear-nobias-3d", lambda r: nn.Linear(4, 3, bias=False, rng=r), (2, 3, 4), False),
    ("conv", lambda r: nn.Conv2d(2, 3, 3, padding=1, rng=r), (2, 2, 5, 5), False),
    ("conv-strided-dilated-grouped", lambda r: nn.Conv2d(4, 6, (3, 2), stride=2, padding=(2, 1), dilation=(1, 2),
                                                         groups=2, rng=r), (2, 4, 7, 6), False),
    ("conv-nobias-same", lambda r: nn.Conv2d(2, 2, 4, padding="same", bias=False, rng=r), (1, 2, 5, 5), False),
    ("relu", lambda r: nn.ReLU(), (3, 4), False),
    ("leaky-relu", lambda r: nn.LeakyReLU(0.1), (3, 4), False),
    ("tanh", lambda r: nn.Tanh(), (3, 4), False),
    ("sigmoid", lambda r: nn.Sigmoid(), (3, 4), False),
    ("gelu", lambda r: nn.GELU(), (3, 4), False),
    ("gelu-tanh", lambda r: nn.GELU("tanh"), (3, 4), False),
    ("maxpool", lambda r: nn.MaxPool2d(2), (2, 2, 4, 5), False),
    ("maxpool-overlapping-padded", lambda r: nn.MaxPool2d(3, stride=2, padding=1), (2, 2, 5, 5), False),
    ("avgpool", lambda r: nn.AvgPool2d(2), (2, 2, 4, 4), False),
    ("avgpool-overlapping-padded", lambda r: nn.AvgPool2d(3, stride=2, padding=1), (2, 2, 5, 6), False),
    ("adaptive-avgpool-1", lambda r: nn.AdaptiveAvgPool2d(1), (2, 3, 4, 4), False),
    ("adaptive-avgpool-overlapping", lambda r: nn.AdaptiveAvgPool2d((2, 3)), (2, 2, 5, 5), False),
    ("flatten", lambda r: nn.Flatten(), (2, 2, 3, 3), False),
    ("dropout", lambda r: nn.Dropout(0.4), (4, 5), True),
    ("dropout-eval", lambda r: nn.Dropout(0.4), (4, 5), False),
    ("layernorm", lambda r: random_affine(nn.LayerNorm(4), r), (3, 2, 4), False),
    ("layernorm-2d-shape", lambda r: random_affine(nn.LayerNorm((2, 4)), r), (3, 2, 4), False),
    ("batchnorm-train", lambda r: random_affine(nn.BatchNorm2d(3), r), (4, 3, 2, 2), True),
    ("batchnorm-train-2d-input", lambda r: random_affine(nn.BatchNorm2d(3), r), (5, 3), True),
    ("batchnorm-eval", eval_bn, (2, 3, 2, 2), False),
    ("sequential", lambda r: nn.Sequential(nn.Linear(4, 5, rng=r), nn.Tanh(), nn.Linear(5, 2, rng=r)), (3, 4), False),
    ("residual-identity", lambda r: nn.Residual(nn.Sequential(nn.Linear(4, 4, rng=r), nn.GELU())), (3, 4), False),
    ("residual-shortcut", lambda r: nn.Residual(nn.Linear(4, 3, rng=r), nn.Linear(4, 3, rng=r)), (3, 4), False),
    ("attention-core", lambda r: nn.ScaledDotProductAttention(2), (2, 3, 12), False),
    ("self-attention", lambda r: nn.MultiHeadSelfAttention(6, 2, rng=r), (2, 3, 6), False),
    ("transformer-block", lambda r: random_affine(nn.TransformerBlock(6, 3, 8, rng=r), r), (2, 3, 6), False),
    ("patch-embedding", lambda r: nn.PatchEmbedding(2, 2, 5, rng=r), (2, 2, 4, 6), False),
    ("class-token", lambda r: random_affine(nn.ClassToken(4), r), (2, 3, 4), False),
    ("positional-embedding", lambda r: nn.PositionalEmbedding(3, 4, rng=r), (2, 3, 4), False),
    ("select-token", lambda r: nn.SelectToken(1), (2, 3, 4), False),
]


def make_case(factory, shape, training):
    rng = np.random.default_rng(42)
    module = factory(rng)
    x = rng.standard_normal(shape)
    ctx = train_ctx() if training else nn.Context(training=False)
    return module, x, ctx, rng


@pytest.mark.parametrize("factory, shape, training", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_on_duals_matches_finite_differences(factory, shape, training):
    module, x, ctx, rng = make_case(factory, shape, training)
    dg.check_jvp(lambda x_, p_: module.forward(x_, p_, ctx), (x, module.parameters()), k=2, rng=rng)


@pytest.mark.parametrize("factory, shape, training", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_backward_is_the_transpose_of_the_jvp(factory, shape, training):
    module, x, ctx, rng = make_case(factory, shape, training)
    assert max(adjoint_errors(module, x, ctx, rng)) < TOL


@pytest.mark.parametrize("factory, shape, training", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_on_arrays_equals_forward_cached(factory, shape, training):
    module, x, ctx, _ = make_case(factory, shape, training)
    params = module.parameters()
    y = module.forward(x, params, ctx)
    y_cached, _ = module.forward_cached(x, params, ctx)
    assert type(y) is np.ndarray and y.shape == y_cached.shape
    np.testing.assert_allclose(y, y_cached, rtol=1e-12, atol=1e-12)


def test_dot_product_test_catches_a_wrong_backward():
    class TransposeForgotten(nn.Linear):
        def backward(self, cache, grad_y, params):
            grad_x, grads = super().backward(cache, grad_y, params)
            return grad_y @ params["weight"], grads              # W instead of Wᵀ (square W)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    errors = adjoint_errors(TransposeForgotten(4, 4, rng=rng), x, nn.Context(training=False), rng)
    assert errors[0] > 1e-2                                      # the x column fails ...
    assert max(errors[1:]) < TOL                                 # ... the parameter columns still pass


# ----- dropout -------------------------------------------------------------------------------------
def test_dropout_reuses_its_mask_within_a_context_and_across_dual_and_plain_passes():
    x = np.random.default_rng(0).standard_normal((6, 7))
    drop, ctx = nn.Dropout(0.5), train_ctx(3)
    y1 = drop.forward(x, {}, ctx)
    y2, mask = drop.forward_cached(x, {}, ctx)
    y3 = drop.forward(dg.Dual(x, np.ones((2,) + x.shape)), {}, ctx)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(y1, y3.primal)
    np.testing.assert_array_equal(y3.tangent[1], mask)           # the same mask on every tangent column
    assert set(np.unique(mask)) == {0.0, 2.0}


def test_dropout_is_reproducible_from_the_seed_and_fresh_per_context():
    x = np.ones((20, 20))
    drop = nn.Dropout(0.3)
    a, b, c = (drop.forward(x, {}, train_ctx(seed)) for seed in (5, 5, 6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    expected = (np.random.default_rng(5).random(x.shape) >= 0.3) / 0.7   # the draw of dg.dropout
    np.testing.assert_array_equal(a, expected)


def test_dropout_off_in_evaluation_and_its_edge_cases():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert nn.Dropout(0.5)(x) is x                                # __call__ defaults to an evaluation Context
    np.testing.assert_array_equal(nn.Dropout(1.0).forward(x, {}, train_ctx()), 0)
    with pytest.raises(ValueError, match="Generator"):
        nn.Dropout(0.5).forward(x, {}, nn.Context(training=True))
    drop, ctx = nn.Dropout(0.5), train_ctx()
    drop.forward(x, {}, ctx)
    with pytest.raises(ValueError, match="shape"):
        drop.forward(x[:2], {}, ctx)
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.5)


# ----- batch norm ----------------------------------------------------------------------------------
def test_batchnorm_running_statistics_move_once_per_training_context():
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (8, 3, 4, 4))
    bn, ctx = nn.BatchNorm2d(3, momentum=0.25), train_ctx()
    bn.forward_cached(x, bn.parameters(), ctx)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)  # PyTorch: the unbiased variance
    expected = {"running_mean": 0.25 * mean, "running_var": 0.75 + 0.25 * var}
    for name, value in expected.items():
        np.testing.assert_allclose(bn.buffers()[name], value, rtol=1e-13)
    bn.forward(dg.Dual(x, np.ones((2,) + x.shape)), bn.parameters(), ctx)   # same step: no second update
    for name, value in expected.items():
        np.testing.assert_allclose(bn.buffers()[name], value, rtol=1e-13)
    bn.forward(dg.Dual(x, np.ones((2,) + x.shape)), bn.parameters(), train_ctx())  # next step, Dual input
    np.testing.assert_allclose(bn.buffers()["running_mean"], 0.75 * 0.25 * mean + 0.25 * mean, rtol=1e-13)


def test_batchnorm_evaluation_uses_the_running_statistics_and_updates_nothing():
    rng = np.random.default_rng(1)
    bn = eval_bn(rng)
    x = rng.standard_normal((2, 3, 2, 2))
    before = {n: b.copy() for n, b in bn.buffers().items()}
    y = bn(x)
    p, b = bn.parameters(), bn.buffers()
    shape = (1, 3, 1, 1)
    expected = ((x - b["running_mean"].reshape(shape)) / np.sqrt(b["running_var"].reshape(shape) + bn.eps)
                * p["weight"].reshape(shape) + p["bias"].reshape(shape))
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    for name, value in before.items():
        np.testing.assert_array_equal(bn.buffers()[name], value)
    with pytest.raises(ValueError, match="channels"):
        bn(x[:, :2])
    with pytest.raises(ValueError, match="more than one value"):
        nn.BatchNorm2d(3).forward(x[:1, :, :1, :1], bn.parameters(), train_ctx())


# ----- initialisation and parameter dicts -----------------------------------------------------------
@pytest.mark.parametrize("module, fan_in", [
    (nn.Linear(50, 40, rng=0), 50),
    (nn.Conv2d(6, 8, 3, groups=2, rng=0), 3 * 3 * 3),
], ids=["linear", "conv-grouped"])
def test_init_is_pytorch_default_uniform(module, fan_in):
    bound = 1 / math.sqrt(fan_in)
    for p in module.parameters().values():
        assert np.abs(p).max() <= bound
    w = module.parameters()["weight"]
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound     # the std of U(±b) is b/√3


def test_init_is_seeded_and_linear_weight_is_in_by_out():
    a, b, c = nn.Linear(5, 3, rng=7), nn.Linear(5, 3, rng=7), nn.Linear(5, 3, rng=8)
    assert a.parameters()["weight"].shape == (5, 3)
    np.testing.assert_array_equal(a.parameters()["weight"], b.parameters()["weight"])
    assert not np.array_equal(a.parameters()["weight"], c.parameters()["weight"])
    assert nn.Conv2d(4, 6, (3, 2), groups=2, rng=0).parameters()["weight"].shape == (6, 2, 3, 2)


def test_parameters_round_trip_and_errors():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), nn.Sequential(nn.BatchNorm2d(4), nn.Linear(4, 2)))
    names = ["0.weight", "0.bias", "2.0.weight", "2.0.bias", "2.1.weight", "2.1.bias"]
    assert list(model.parameters()) == names
    assert list(model.buffers()) == ["2.0.running_mean", "2.0.running_var"]
    new = {n: rng.standard_normal(p.shape) for n, p in model.parameters().items()}
    model.set_parameters(new)
    for n in names:
        assert model.parameters()[n] is new[n]
    assert model[2][1].parameters()["weight"] is new["2.1.weight"]
    with pytest.raises(KeyError, match=r"missing \['0.bias'\].*unexpected \['0.b'\]"):
        model.set_parameters({**{n: new[n] for n in names if n != "0.bias"}, "0.b": new["0.bias"]})
    with pytest.raises(ValueError, match=r"2.1.weight: \(2, 4\) \(expected \(4, 2\)\)"):
        model.set_parameters({**new, "2.1.weight": new["2.1.weight"].T})
    with pytest.raises(KeyError, match="missing"):
        model.set_buffers({})
    model.astype(np.float32)
    assert {p.dtype for p in model.parameters().values()} | {b.dtype for b in model.buffers().values()} == {
        np.dtype(np.float32)}


def test_sequential_slices_keep_names_and_share_children():
    seq = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    view = seq[1:]
    assert list(view.parameters()) == ["2.weight", "2.bias"]
    assert view["2"] is seq[2] and seq[-1] is seq[2]
    x = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_array_equal(view(seq[:1](x)), seq(x))
    with pytest.raises(ValueError, match="repeated or contains"):
        nn.Sequential(**{"a.b": nn.ReLU()})


def test_constructor_and_shape_errors_name_the_fix():
    x = np.zeros((2, 3, 5))
    with pytest.raises(ValueError, match="does not end with the normalized shape"):
        nn.LayerNorm(4).forward_cached(x, nn.LayerNorm(4).parameters(), nn.Context(training=False))
    with pytest.raises(ValueError, match="divisible by heads"):
        nn.MultiHeadSelfAttention(6, 4)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="Generator"):
        nn.Context(rng=0)
    with pytest.raises(ValueError, match="sum to the 3 children"):
        nn.Sequential(nn.ReLU(), nn.ReLU(), nn.ReLU()).group_blocks([1, 1])


# ----- the transformer pieces against direct formulas -------------------------------------------------
def test_self_attention_matches_a_per_head_reference():
    rng = np.random.default_rng(0)
    d, heads, dh = 6, 3, 2
    attn = nn.MultiHeadSelfAttention(d, heads, rng=rng)
    p = {n: rng.standard_normal(v.shape) for n, v in attn.parameters().items()}
    x = rng.standard_normal((2, 4, d))
    qkv = x @ p["qkv.weight"] + p["qkv.bias"]                     # columns: q | k | v, head-major inside each
    out = np.empty_like(x)
    for b in range(2):
        for h in range(heads):
            q, k, v = (qkv[b, :, j * d + h * dh: j * d + (h + 1) * dh] for j in range(3))
            s = q @ k.T / np.sqrt(dh)
            a = np.exp(s - s.max(axis=1, keepdims=True))
            out[b, :, h * dh:(h + 1) * dh] = (a / a.sum(axis=1, keepdims=True)) @ v
    np.testing.assert_allclose(attn(x, p), out @ p["proj.weight"] + p["proj.bias"], rtol=1e-12)


def test_patch_embedding_projects_patches_in_row_major_order():
    rng = np.random.default_rng(0)
    embed = nn.PatchEmbedding(2, 2, 3, rng=rng)
    p = embed.parameters()
    x = rng.standard_normal((1, 2, 4, 6))
    tokens = embed(x)
    assert tokens.shape == (1, 6, 3)
    for r in range(2):
        for c in range(3):
            patch = x[0, :, 2 * r:2 * r + 2, 2 * c:2 * c + 2]
            expected = np.tensordot(p["weight"], patch, axes=3) + p["bias"]
            np.testing.assert_allclose(tokens[0, 3 * r + c], expected, rtol=1e-12)
