"""Layers and models that run forward on arrays and on Duals, each with a local reverse rule.

    import numpy as np, dualgrad as dg
    from dualgrad import nn
    model = nn.FCNet(64, 256, 2, 10, rng=0)
    params, ctx = model.parameters(), nn.Context(rng=np.random.default_rng(1))
    logits = model.forward(x, params, ctx)                     # arrays, or Duals (k tangent columns)
    logits, cache = model.forward_cached(x, params, ctx)       # plain arrays, keeps what backward needs
    grad_x, grads = model.backward(cache, grad_logits, params)  # grads: {"1.weight": ..., ...}
    model.blocks()                                             # the perturbed groups, chained = model

``module.py`` holds Context, Module and the containers; ``layers.py`` dense layers, activations,
dropout and normalisation; ``conv.py`` convolution and pooling; ``attention.py`` and ``tokens.py``
the transformer pieces; ``models.py`` the paper's models; ``init.py`` PyTorch's initialisers.
"""
from .attention import MultiHeadSelfAttention, ScaledDotProductAttention, TransformerBlock
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from .layers import GELU, BatchNorm2d, Dropout, Flatten, LayerNorm, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from .models import FCNet, LeNet5, ResNetSmall, ViTSmall, basic_block
from .module import Context, Module, Residual, Sequential
from .tokens import ClassToken, PatchEmbedding, PositionalEmbedding, SelectToken

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm2d", "ClassToken", "Context", "Conv2d", "Dropout", "FCNet",
    "Flatten", "GELU", "LayerNorm", "LeNet5", "LeakyReLU", "Linear", "MaxPool2d", "Module",
    "MultiHeadSelfAttention", "PatchEmbedding", "PositionalEmbedding", "ReLU", "ResNetSmall", "Residual",
    "ScaledDotProductAttention", "SelectToken", "Sequential", "Sigmoid", "Tanh", "TransformerBlock", "ViTSmall",
    "basic_block",
]
