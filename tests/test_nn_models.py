"""The paper's models: sizes, block groupings, and forward mode against the chained local backwards.

The end-to-end dot-product test takes the mean softmax-cross-entropy loss L(x, θ): its jvps from Dual
passes of ``forward`` — one with a Dual input and array parameters (as activity perturbation runs),
one with Dual parameters and an array input (weight perturbation), a tangent column for x and one per
parameter — must equal ⟨∇L, v⟩ with ∇L from ``forward_cached`` + ``backward`` (the "exact" gradient
source), to 1e-10 in float64.
"""
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import nn

from .test_nn_layers import tangent_columns

BATCH = 3


# (id, model factory, input shape) for 8×8 single-channel images; each test builds a fresh model
MODELS = [
    ("fcnet", lambda: nn.FCNet(64, 12, 2, 10, rng=0), (BATCH, 1, 8, 8)),
    ("fcnet-3-hidden", lambda: nn.FCNet(64, 6, 3, 10, rng=0), (BATCH, 1, 8, 8)),
    ("lenet5-8px", lambda: nn.LeNet5(image_size=8, rng=0), (BATCH, 1, 8, 8)),
    ("resnet-small", lambda: nn.ResNetSmall(1, 10, width=4, rng=0), (BATCH, 1, 8, 8)),
    ("resnet-stem-stride-2", lambda: nn.ResNetSmall(1, 10, width=4, stem_stride=2, rng=0), (BATCH, 1, 8, 8)),
    ("vit-small", lambda: nn.ViTSmall(8, 4, 1, dim=8, depth=3, heads=2, mlp_dim=8, rng=0), (BATCH, 1, 8, 8)),
]
IDS = [m[0] for m in MODELS]


def data(shape, classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.integers(0, classes, shape[0])


def loss_gradient(model, x, labels, params, ctx):
    """(∇_x L, ∇_θ L) of the mean cross-entropy by the models' local backward rules."""
    logits, cache = model.forward_cached(x, params, ctx)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1                        # ∂L/∂logits = (softmax − onehot)/B
    return model.backward(cache, p / len(labels), params)


# ----- sizes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("width, count", [(256, 269_322), (1024, 1_863_690), (4096, 20_037_642)])
def test_fcnet_parameter_counts_match_the_paper(width, count):
    assert nn.FCNet(784, width, 2, 10, rng=0).num_parameters() == count


def test_fcnet_blocks_and_activities_follow_the_paper():
    model = nn.FCNet(784, 256, 2, 10, rng=0)
    blocks = model.blocks()
    assert [len(b) for b in blocks] == [3, 2, 1]
    assert [type(m).__name__ for _, m in blocks[0].named_children()] == ["Flatten", "Linear", "ReLU"]
    x = np.zeros((2, 1, 28, 28))
    sizes = []
    for block in blocks:
        x = block(x)
        sizes.append(x[0].size)
    assert sum(sizes) == 2 * 256 + 10                              # n = 2W + 10 activities per sample
    assert [len(b) for b in nn.FCNet(20, 5, 0, 3, rng=0).blocks()] == [2]


@pytest.mark.parametrize("model, shape, out", [
    (nn.LeNet5(rng=0), (2, 1, 28, 28), (2, 10)),
    (nn.LeNet5(3, 7, image_size=32, rng=0), (2, 3, 32, 32), (2, 7)),
    (nn.LeNet5(image_size=8, rng=0), (2, 1, 8, 8), (2, 10)),
    (nn.ResNetSmall(rng=0), (2, 1, 8, 8), (2, 10)),
    (nn.ResNetSmall(3, 5, width=4, stages=2, rng=0), (2, 3, 12, 12), (2, 5)),
    (nn.ResNetSmall(stem_stride=2, rng=0), (2, 1, 28, 28), (2, 10)),
    (nn.ViTSmall(rng=0), (2, 1, 8, 8), (2, 10)),
    (nn.ViTSmall(28, 7, 1, 16, 1, 4, 32, 10, rng=0), (2, 1, 28, 28), (2, 10)),
], ids=["lenet5-28", "lenet5-32-rgb", "lenet5-8", "resnet-default", "resnet-2-stages", "resnet-28-stem-stride-2",
    "vit-default", "vit-28"])
def test_output_shapes(model, shape, out):
    assert model(np.zeros(shape)).shape == out


def test_lenet5_matches_the_paper_code_and_rejects_tiny_images():
    assert nn.LeNet5(rng=0)["fc1"][1].in_features == 256          # 28 -> 24 -> 12 -> 8 -> 4: 16·4·4
    assert nn.LeNet5(image_size=8, rng=0)["fc1"][1].in_features == 64
    with pytest.raises(ValueError, match="no pixels"):
        nn.LeNet5(image_size=8, padding=0)


def block_children(model):
    return [[name for name, _ in block.named_children()] for block in model.blocks()]


def test_model_block_groupings():
    assert block_children(nn.ResNetSmall(rng=0)) == [["stem"], ["stage1"], ["stage2"], ["stage3"], ["head"]]
    assert block_children(nn.LeNet5(rng=0)) == [["conv1"], ["conv2"], ["fc1"], ["fc2"], ["fc3"]]
    assert block_children(nn.ViTSmall(depth=4, rng=0)) == [["embed", "layer1"], ["layer2"], ["layer3"],
                                                            ["layer4", "head"]]
    assert block_children(nn.ViTSmall(depth=1, rng=0)) == [["embed", "layer1", "head"]]


def test_vit_head_is_zero_initialised_and_tokens_are_counted():
    vit = nn.ViTSmall(8, 2, 1, dim=8, depth=1, heads=2, mlp_dim=8, rng=0)
    params = vit.parameters()
    assert not params["head.fc.weight"].any() and not params["head.fc.bias"].any()
    assert params["embed.pos.embedding"].shape == (1, 17, 8)      # 4·4 patches + the class token
    np.testing.assert_array_equal(vit(np.ones((2, 1, 8, 8))), 0)


# ----- blocks, forward mode and the reverse rules end to end -----------------------------------------
@pytest.mark.parametrize("factory, shape", [m[1:] for m in MODELS], ids=IDS)
def test_chained_blocks_equal_the_model_forward_and_backward(factory, shape):
    model = factory()
    x, _ = data(shape, 10)
    params, ctx = model.parameters(), nn.Context(rng=np.random.default_rng(0))
    names = [n for block in model.blocks() for n in block.parameters()]
    assert sorted(names) == sorted(params) and len(names) == len(set(names))   # a partition, same names
    h = x
    for block in model.blocks():
        h = block.forward(h, {n: params[n] for n in block.parameters()}, ctx)
    np.testing.assert_allclose(h, model.forward(x, params, ctx), rtol=1e-12, atol=1e-12)
    h = x
    for block in model.blocks():
        h = block.forward(h, params, ctx)                          # the whole dict: each block reads its names
    np.testing.assert_allclose(h, model.forward(x, params, ctx), rtol=1e-12, atol=1e-12)
    caches, h = [], x                                              # and the block-local reverse rules chain
    for block in model.blocks():
        h, cache = block.forward_cached(h, params, ctx)
        caches.append(cache)
    g, grads = np.ones_like(h), {}
    for block, cache in reversed(list(zip(model.blocks(), caches))):
        g, block_grads = block.backward(cache, g, params)
        assert set(block_grads) == set(block.parameters())
        grads.update(block_grads)
    y, cache = model.forward_cached(x, params, ctx)
    grad_x, model_grads = model.backward(cache, np.ones_like(y), params)
    np.testing.assert_allclose(g, grad_x, rtol=1e-12, atol=1e-12)
    for name, value in model_grads.items():
        np.testing.assert_allclose(grads[name], value, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("factory, shape", [m[1:] for m in MODELS], ids=IDS)
def test_loss_jvps_equal_the_chained_backward(factory, shape):
    model, rng = factory(), np.random.default_rng(1)
    if "head.fc.weight" in model.parameters():                     # ViT: a zero head would hide the inner layers
        model.set_parameters({**model.parameters(), "head.fc.weight": rng.standard_normal((8, 10))})
    x, labels = data(shape, 10)
    params, ctx = model.parameters(), nn.Context(rng=np.random.default_rng(0))
    vx, vp = tangent_columns(x, params, rng)
    f = lambda x_, p_: dg.softmax_cross_entropy(model.forward(x_, p_, ctx), labels)
    _, jvp_x = dg.jvp(f, (x, params), (vx[:1], None))              # activity style: x Dual, parameters arrays
    _, jvp_p = dg.jvp(f, (x, params), (None, {n: v[1:] for n, v in vp.items()}))   # weight style: the reverse
    jvps = np.concatenate([jvp_x, jvp_p])
    grad_x, grads = loss_gradient(model, x, labels, params, ctx)
    assert list(grads) == list(params)
    exact = [np.vdot(grad_x, vx[0])] + [np.vdot(grads[n], vp[n][j]) for j, n in enumerate(params, start=1)]
    scale = np.sqrt(np.vdot(grad_x, grad_x) + sum(np.vdot(g, g) for g in grads.values()))
    np.testing.assert_allclose(jvps, exact, rtol=0, atol=1e-10 * scale)
    assert np.abs(jvps).max() > 1e-3 * scale                        # the check is not vacuous


def test_weight_perturbation_jvps_match_finite_differences():
    model = nn.LeNet5(image_size=8, rng=0)
    x, labels = data((BATCH, 1, 8, 8), 10)
    ctx = nn.Context(rng=np.random.default_rng(0))
    dg.check_jvp(lambda p_: dg.softmax_cross_entropy(model.forward(x, p_, ctx), labels), (model.parameters(),))


@pytest.mark.parametrize("factory, shape", [m[1:] for m in MODELS], ids=IDS)
def test_float32_stays_float32(factory, shape):
    model = factory().astype(np.float32)
    x, labels = data(shape, 10)
    x = x.astype(np.float32)
    params, ctx = model.parameters(), nn.Context(rng=np.random.default_rng(0))
    assert model.forward(x, params, ctx).dtype == np.float32
    tangents = {n: np.ones((2,) + p.shape, np.float32) for n, p in params.items()}
    out = model.forward(x, {n: dg.Dual(p, tangents[n]) for n, p in params.items()}, ctx)  # weight perturbation
    assert out.primal.dtype == np.float32 and out.tangent.dtype == np.float32
    grad_x, grads = loss_gradient(model, x, labels, params, ctx)
    assert grad_x.dtype == np.float32 and {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    assert {b.dtype for b in model.buffers().values()} <= {np.dtype(np.float32)}
