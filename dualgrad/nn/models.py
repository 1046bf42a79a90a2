"""The models of the paper's experiments, sized for 8×8 digits by default, with its block groupings.

Every model is a ``Sequential`` whose ``blocks()`` are views over consecutive children (same child
objects, same parameter names); the block outputs are the activities perturbed by activity
perturbation (docs/paper.md, sections 5.4 and 5.5):

=============  ==============================================================  ========================
model          blocks                                                          activities per sample
=============  ==============================================================  ========================
FCNet          [Flatten, Linear, ReLU], [Linear, ReLU] × (L − 1), [Linear]     L·W + classes (2W + 10)
LeNet5         conv1, conv2, fc1, fc2, fc3 (as the paper's code)               6·a² + 16·b² + 204 + C
ResNetSmall    stem, each stage, head ("wide" grouping of its ResNet18)        a feature map per stage
ViTSmall       [embed, layer 1], layers 2 … depth − 1, [layer depth, head]     ("wide_1" grouping)
=============  ==============================================================  ========================

(a, b: the sides of LeNet5's feature maps after its two poolings.)
"""
from __future__ import annotations

import numpy as np

from . import init
from .attention import TransformerBlock
from .conv import AdaptiveAvgPool2d, Conv2d, MaxPool2d
from .layers import BatchNorm2d, Flatten, LayerNorm, Linear, ReLU
from .module import Residual, Sequential
from .tokens import ClassToken, PatchEmbedding, PositionalEmbedding, SelectToken


class FCNet(Sequential):
    """The paper's fully connected net: Flatten → Linear(in, W) → ReLU → (Linear(W, W) → ReLU) × (L − 1) → Linear(W, C).

    Children are the flat layers "0", "1", … (so the parameters are "1.weight", "1.bias", "3.weight",
    …); ``hidden_layers = 0`` gives Flatten → Linear(in, C). PyTorch-default init from ``rng``.
    Parameters for 784 inputs, L = 2, C = 10: 269,322 (W = 256), 1,863,690 (W = 1024),
    20,037,642 (W = 4096).
    """

    def __init__(self, in_features: int, width: int = 256, hidden_layers: int = 2, classes: int = 10,
                 rng=None):
        rng = init.generator(rng)
        if hidden_layers == 0:
            super().__init__(Flatten(), Linear(in_features, classes, rng=rng))
            self.group_blocks([2])
            return
        layers = [Flatten(), Linear(in_features, width, rng=rng), ReLU()]
        for _ in range(hidden_layers - 1):
            layers += [Linear(width, width, rng=rng), ReLU()]
        super().__init__(*layers, Linear(width, classes, rng=rng))
        self.group_blocks([3] + [2] * (hidden_layers - 1) + [1])


class LeNet5(Sequential):
    """LeNet-5 as in the paper's code: two conv blocks (Conv 5×5 → BatchNorm → ReLU → MaxPool 2) with 6 and 16
    channels, then Flatten → Linear(·, 120) → ReLU → Linear(120, 84) → ReLU → Linear(84, C).

    Children and blocks: ``conv1``, ``conv2``, ``fc1``, ``fc2``, ``fc3``. ``padding`` of both convs: by
    default 0 for ``image_size`` ≥ 28 (the classic 28 → 24 → 12 → 8 → 4, 256 features) and 2 below (the
    convs keep the size: 8 → 8 → 4 → 4 → 2, 64 features for 8×8 digits).
    """

    def __init__(self, in_channels: int = 1, classes: int = 10, image_size: int = 28, padding: int | None = None,
                 rng=None):
        rng = init.generator(rng)
        pad = (0 if image_size >= 28 else 2) if padding is None else padding
        side = image_size
        for _ in range(2):
            side = (side + 2 * pad - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet5: image_size={image_size} with padding={pad} leaves no pixels after the second "
                             "pooling; use padding=2 or larger images.")

        def conv_block(cin, cout):
            return Sequential(Conv2d(cin, cout, 5, padding=pad, rng=rng), BatchNorm2d(cout), ReLU(), MaxPool2d(2))

        super().__init__(conv1=conv_block(in_channels, 6), conv2=conv_block(6, 16),
                         fc1=Sequential(Flatten(), Linear(16 * side * side, 120, rng=rng), ReLU()),
                         fc2=Sequential(Linear(120, 84, rng=rng), ReLU()),
                         fc3=Linear(84, classes, rng=rng))
        self.group_blocks([1] * 5)


def basic_block(in_channels: int, out_channels: int, stride: int, rng) -> Sequential:
    """ResNet's basic block: ``relu(body(x) + shortcut(x))`` with body Conv3×3(stride) → BN → ReLU → Conv3×3 → BN;
    the shortcut is Conv1×1(stride) → BN when the shape changes, else the identity. Convs without bias."""
    body = Sequential(Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, rng=rng), BatchNorm2d(out_channels),
                      ReLU(), Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, rng=rng),
                      BatchNorm2d(out_channels))
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride, bias=False, rng=rng),
                              BatchNorm2d(out_channels))
    return Sequential(Residual(body, shortcut), ReLU())


class ResNetSmall(Sequential):
    """A small residual conv net in ResNet18's shape: ``stem`` (Conv3×3 with stride ``stem_stride`` → BN → ReLU;
    1 keeps the image size, 2 halves it as ResNet's ImageNet stem does on 28×28 inputs), ``stages`` stages of one
    basic block each (width·2^s channels, stride 2 from the second stage on), ``head`` (global average pool →
    Flatten → Linear).

    Children and blocks (the paper's "wide" grouping): ``stem``, ``stage1`` … ``stage{stages}``, ``head``.
    Convs and the head use PyTorch's layer-default init (not torchvision ResNet's Kaiming-normal re-init);
    BatchNorm runs on batch statistics in a training Context. For 8×8 inputs, width 8 and 3 stages:
    8×8 → 8×8 → 4×4 → 2×2 → 32 features; for 28×28 inputs with ``stem_stride=2``: 28×28 → 14×14 → 14×14 → 7×7
    → 4×4 → 32 features.
    """

    def __init__(self, in_channels: int = 1, classes: int = 10, width: int = 8, stages: int = 3, stem_stride: int = 1,
                 rng=None):
        rng = init.generator(rng)
        children = {"stem": Sequential(Conv2d(in_channels, width, 3, stem_stride, 1, bias=False, rng=rng),
                                       BatchNorm2d(width), ReLU())}
        channels = width
        for s in range(stages):
            out = width * 2 ** s
            children[f"stage{s + 1}"] = basic_block(channels, out, 1 if s == 0 else 2, rng)
            channels = out
        children["head"] = Sequential(AdaptiveAvgPool2d(1), Flatten(), Linear(channels, classes, rng=rng))
        super().__init__(**children)
        self.group_blocks([1] * len(children))


class ViTSmall(Sequential):
    """A small vision transformer as torchvision's ViT: patch embedding, class token, positional embedding,
    ``depth`` pre-LN transformer layers, final LayerNorm and a linear head on the class token.

    Children: ``embed`` (PatchEmbedding → ClassToken → PositionalEmbedding; T = (image_size/patch)² + 1
    tokens), ``layer1`` … ``layer{depth}`` (TransformerBlock), ``head`` (SelectToken(0) → LayerNorm →
    Linear, **zero-initialised** as in the paper). LayerNorm eps 1e-6, no dropout. The head takes the
    class token before its LayerNorm, which equals normalising all tokens first (LayerNorm acts per token).
    Blocks ("wide_1" in the paper's code): ``[embed, layer1]``, ``layer2`` … ``layer{depth−1}``,
    ``[layer{depth}, head]`` (a single block when depth = 1).
    """

    def __init__(self, image_size: int = 8, patch: int = 2, in_channels: int = 1, dim: int = 32, depth: int = 2,
                 heads: int = 2, mlp_dim: int = 64, classes: int = 10, rng=None):
        rng = init.generator(rng)
        if image_size % patch:
            raise ValueError(f"ViTSmall: image_size={image_size} must be a multiple of patch={patch}.")
        if depth < 1:
            raise ValueError(f"ViTSmall: depth={depth} must be at least 1.")
        tokens = (image_size // patch) ** 2 + 1
        embed = Sequential(patch=PatchEmbedding(in_channels, patch, dim, rng=rng), cls=ClassToken(dim),
                           pos=PositionalEmbedding(tokens, dim, rng=rng))
        layers = {f"layer{i + 1}": TransformerBlock(dim, heads, mlp_dim, rng=rng) for i in range(depth)}
        fc = Linear(dim, classes, rng=rng)
        fc.set_parameters({name: np.zeros_like(p) for name, p in fc.parameters().items()})
        head = Sequential(token=SelectToken(0), ln=LayerNorm(dim, 1e-6), fc=fc)
        super().__init__(embed=embed, **layers, head=head)
        self.group_blocks([3] if depth == 1 else [2] + [1] * (depth - 2) + [2])
