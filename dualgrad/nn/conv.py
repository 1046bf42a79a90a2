"""Convolution and pooling layers on NCHW activations (OIHW weights), with PyTorch's conventions.

The forwards are ``dg.conv2d`` and the pools (the fused k-column kernels of ``rules/conv.py``). The
reverse rules reuse that file's window helpers: ``forward_cached`` of Conv2d keeps the im2col
columns of x, so ``grad_W = grad_y · colsᵀ`` is one GEMM per group, and every input gradient is a
*col2im*: the adjoint of reading the KH·KW strided windows, a scatter-add of one ``(N, C, OH, OW)``
slab per kernel tap into the (padded) input grid.
"""
from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from ..backend import namespace
from ..rules.conv import (
    _bins,
    _conv_params,
    _im2col,
    _out_size,
    _pad,
    _pool_out_hw,
    _pool_params,
    _windows,
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    max_pool2d,
)
from . import init
from .module import Module


def _col2im(tap, x_shape: tuple, like, kernel, stride, padding, dilation, out_hw):
    """Σ over kernel taps (i, j) of ``tap(i, j)`` (N, C, OH, OW) added where that tap reads,
    ``xpad[n, c, p·sh + i·dh, q·sw + j·dw]``, with the padding cropped off: an (N, C, H, W) array.

    This is the transpose of ``_im2col``/``_windows``. Within one tap the target cells are distinct,
    so each ``+=`` through the strided window view is an exact scatter-add.
    """
    n, c, h, w = x_shape
    (top, bottom), (left, right) = padding
    out = namespace(like).zeros((n, c, h + top + bottom, w + left + right), dtype=like.dtype)
    win = _windows(out, kernel, stride, dilation, out_hw)              # (N, C, KH, KW, OH, OW), writable view
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            win[:, :, i, j] += tap(i, j)
    return out[:, :, top:top + h, left:left + w]


def _pair(value) -> tuple:
    return (int(value),) * 2 if isinstance(value, Integral) else tuple(int(v) for v in value)


class Conv2d(Module):
    """2-D convolution (cross-correlation): x ``(N, C, H, W)`` -> ``(N, O, OH, OW)``, weight ``(O, C/groups, KH, KW)``.

    Arguments as PyTorch's ``nn.Conv2d`` (``padding`` also "same"/"valid"). Init (PyTorch's default):
    weight and bias ~ U(±1/√fan_in), fan_in = C/groups·KH·KW. Forward: ``dg.conv2d``.
    Backward (cache: the im2col columns ``(G, C/G·KH·KW, N·OH·OW)`` and the geometry), per group g:
    ``grad_W_g = grad_Y_g · cols_gᵀ``, ``grad_cols_g = W_gᵀ · grad_Y_g`` scattered back by col2im,
    ``grad_b = Σ_{n, p, q} grad_y``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, rng=None):
        super().__init__()
        rng = init.generator(rng)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}.")
        kh, kw = _pair(kernel_size)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        self.stride, self.padding, self.dilation, self.groups, self.bias = stride, padding, dilation, groups, bias
        bound = 1 / math.sqrt(in_channels // groups * kh * kw)
        self._params["weight"] = init.uniform(rng, (out_channels, in_channels // groups, kh, kw), bound)
        if bias:
            self._params["bias"] = init.uniform(rng, (out_channels,), bound)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, groups={self.groups}, bias={self.bias}")

    def forward(self, x, params, ctx):
        return conv2d(x, params["weight"], params.get("bias"), self.stride, self.padding, self.dilation,
                      self.groups)

    def forward_cached(self, x, params, ctx):
        w, b = params["weight"], params.get("bias")
        geo = _conv_params("conv2d", x.shape, w.shape, None if b is None else b.shape, self.stride,
                           self.padding, self.dilation, self.groups)
        (n, _, h, wd), (o, _, kh, kw), g = x.shape, w.shape, geo["groups"]
        out_hw = tuple(_out_size(size, *pads, k, s, d) for size, pads, k, s, d
                       in zip((h, wd), geo["padding"], (kh, kw), geo["stride"], geo["dilation"]))
        geometry = ((kh, kw), geo["stride"], geo["padding"], geo["dilation"], out_hw)
        p = out_hw[0] * out_hw[1]
        cols = _im2col(x, *geometry).reshape(g, -1, n * p)                     # (G, Cg·KH·KW, N·P)
        xp = namespace(x)
        y = xp.ascontiguousarray(xp.matmul(w.reshape(g, o // g, -1), cols).reshape(o, n, p).transpose(1, 0, 2))
        if b is not None:
            y += b.reshape(o, 1)
        return y.reshape(n, o, *out_hw), (cols, x.shape, geometry)

    def backward(self, cache, grad_y, params):
        cols, x_shape, geometry = cache
        w = params["weight"]
        xp = namespace(grad_y)
        (o, _, kh, kw), g, (n, c) = w.shape, cols.shape[0], x_shape[:2]
        out_hw = geometry[-1]
        gy = grad_y.reshape(n, g, o // g, -1).transpose(1, 2, 0, 3).reshape(g, o // g, -1)   # (G, Og, N·P)
        grads = {"weight": xp.matmul(gy, cols.transpose(0, 2, 1)).reshape(w.shape)}
        if self.bias:
            grads["bias"] = grad_y.sum(axis=(0, 2, 3))
        dcols = xp.matmul(w.reshape(g, o // g, -1).transpose(0, 2, 1), gy)                # (G, Cg·KH·KW, N·P)
        dcols = dcols.reshape(c, kh, kw, n, *out_hw)                                       # rows (c, i, j)
        grad_x = _col2im(lambda i, j: dcols[:, i, j].transpose(1, 0, 2, 3), x_shape, grad_y, *geometry)
        return grad_x, grads


class _Pool(Module):
    """Window geometry shared by the pools: ``kernel_size``, ``stride`` (default: the kernel), ``padding``."""

    op = ""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _geometry(self, x):
        """(kernel, stride, padding pairs, dilation, out_hw) as ``_windows``/``_col2im`` take them."""
        geo = _pool_params(self.op, x.shape, self.kernel_size, self.stride, self.padding)
        return geo["kernel"], geo["stride"], geo["padding"], (1, 1), _pool_out_hw(x, **geo)


class MaxPool2d(_Pool):
    """Max over windows of x ``(N, C, H, W)``, padding cells −∞; ties go to the first maximum in row-major
    window order (PyTorch). Forward: ``dg.max_pool2d``. Backward (cache: the argmax tap of every window):
    each window's gradient goes to its argmax cell, a col2im of ``grad_y ⊙ 1[argmax = tap]``."""

    op = "max_pool2d"

    def forward(self, x, params, ctx):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def forward_cached(self, x, params, ctx):
        geometry = self._geometry(x)
        kernel, stride, padding, _, out_hw = geometry
        win = _windows(_pad(x, padding, -np.inf), kernel, stride, (1, 1), out_hw)
        taps = win.reshape(x.shape[:2] + (kernel[0] * kernel[1],) + out_hw)     # (N, C, KH·KW, OH, OW)
        arg = taps.argmax(axis=2)                                              # the first maximum
        y = namespace(x).take_along_axis(taps, arg[:, :, None], axis=2)[:, :, 0]
        return y, (arg, x.shape, geometry)

    def backward(self, cache, grad_y, params):
        arg, x_shape, geometry = cache
        kw = geometry[0][1]
        xp = namespace(grad_y)
        return _col2im(lambda i, j: xp.where(arg == i * kw + j, grad_y, 0), x_shape, grad_y, *geometry), {}


class AvgPool2d(_Pool):
    """Mean over windows of x ``(N, C, H, W)``; zero padding counts in the mean (PyTorch's default
    ``count_include_pad=True``). Forward: ``dg.avg_pool2d``. Backward (cache: the geometry): every tap
    receives ``grad_y / (KH·KW)``, scattered by col2im."""

    op = "avg_pool2d"

    def forward(self, x, params, ctx):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def forward_cached(self, x, params, ctx):
        return self.forward(x, params, ctx), (x.shape, self._geometry(x))

    def backward(self, cache, grad_y, params):
        x_shape, geometry = cache
        share = grad_y / (geometry[0][0] * geometry[0][1])
        return _col2im(lambda i, j: share, x_shape, grad_y, *geometry), {}


class AdaptiveAvgPool2d(Module):
    """Mean of x ``(N, C, H, W)`` over an ``(OH, OW)`` grid of PyTorch's bins: ``y = A_H · x · A_Wᵀ`` per plane
    with the bin-averaging matrices A. Forward: ``dg.adaptive_avg_pool2d``. Backward (cache: x's shape):
    ``grad_x = A_Hᵀ · grad_y · A_W``."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"

    def forward(self, x, params, ctx):
        return adaptive_avg_pool2d(x, self.output_size)

    def forward_cached(self, x, params, ctx):
        return self.forward(x, params, ctx), x.shape

    def backward(self, cache, grad_y, params):
        (h, w), (oh, ow) = cache[2:], grad_y.shape[2:]
        xp = namespace(grad_y)
        a_h, a_w = _bins(h, oh, xp, grad_y.dtype), _bins(w, ow, xp, grad_y.dtype)
        return xp.matmul(xp.matmul(a_h.T, grad_y), a_w), {}
