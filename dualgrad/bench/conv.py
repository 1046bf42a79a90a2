"""The k-tangent forward pass of conv nets: dualgrad against a hand-written im2col network and the peers.

Three networks, float32, batch 128, tangents on every weight and bias, mean softmax-cross-entropy:

- LeNet-5 on 1×28×28: conv 6@5×5, ReLU, max-pool 2, conv 16@5×5, ReLU, max-pool 2, FC 256-120-84-10;
- a 4-layer conv net on 3×32×32: conv 32@3×3 (padding 1), ReLU, conv 32@3×3, ReLU, max-pool 2,
  conv 64@3×3, ReLU, conv 64@3×3, ReLU, max-pool 2, FC 4096-10;
- the residual net of ``dualgrad.nn`` (``nn.ResNetSmall``, width 16, 3 stages: ResNet's CIFAR widths 16-32-64,
  one basic block per stage) on 3×32×32: 32×32 → 32×32 → 16×16 → 8×8 → 64 features, batch norm on the
  batch's statistics (its training-mode forward, in one training Context so that the running averages move
  once, not on every call). The peers compute the same function with dualgrad's parameters: PyTorch its
  twin ``training.torch_model`` through ``torch.func.functional_call`` with batch norm on batch statistics,
  JAX the module tree read by ``_jax_module``. There is no hand-written version of it, and its primal row
  is the model's forward on plain arrays (dualgrad's primal kernels, no tangents).

The hand-written network computes each conv input's im2col columns once and reuses them for ``W·cols(x)``
and ``dW·cols(x)``, folds k into the batch for ``W·cols(dx)``, builds the columns a chunk of samples at a
time so that they stay in cache, and takes one argmax per pooling window for all k — the same
decomposition as dualgrad's rules, without dispatch or checks. With ``backend="cupy"`` dualgrad and the
hand-written network run on CuPy arrays and the peers on CUDA (cuDNN), as in ``mlp``.
"""
from __future__ import annotations

import numpy as np

import dualgrad as dg
from dualgrad.backend import get, namespace
from dualgrad.rules._conv_kernels import chunk_bytes

from .. import nn
from ..nn.module import split
from .peers import device_for, jax_or_none, to_backend, torch_device, torch_or_none
from .training import torch_model

BATCH = 128
#: the residual net's arguments of ``nn.ResNetSmall`` and of its PyTorch twin ``training.torch_model``
RESNET = {"in_channels": 3, "width": 16}
#: name: (input shape, layers, or a function making a model of dualgrad.nn from an rng);
#: layers: conv (out, in, kernel, padding), fc (in, out), relu, pool (2×2 max), flatten
NETS = {
    "lenet5": ((1, 28, 28), [("conv", 6, 1, 5, 0), ("relu",), ("pool",), ("conv", 16, 6, 5, 0), ("relu",), ("pool",),
                             ("flatten",), ("fc", 256, 120), ("relu",), ("fc", 120, 84), ("relu",), ("fc", 84, 10)]),
    "convnet4": ((3, 32, 32), [("conv", 32, 3, 3, 1), ("relu",), ("conv", 32, 32, 3, 1), ("relu",), ("pool",),
                               ("conv", 64, 32, 3, 1), ("relu",), ("conv", 64, 64, 3, 1), ("relu",), ("pool",),
                               ("flatten",), ("fc", 4096, 10)]),
    "resnet": ((RESNET["in_channels"], 32, 32), lambda rng: nn.ResNetSmall(classes=10, rng=rng, **RESNET)),
}


def flops(net: str, k: int) -> float:
    """GEMM FLOPs: per conv 2·N·OH·OW·O·C·K² for the primal, X·dW and (after the first layer) dX·W per tangent."""
    shape, layers = NETS[net]
    if not isinstance(layers, list):
        primal, tangent, _, _ = _module_flops(layers(np.random.default_rng(0)), shape, False)
        return BATCH * (primal + k * tangent)
    c, h, w = shape
    primal = tangent = 0.0
    first = True
    for layer in layers:
        if layer[0] == "conv":
            _, o, ci, kk, p = layer
            h, w = h + 2 * p - kk + 1, w + 2 * p - kk + 1
            f = 2.0 * BATCH * h * w * o * ci * kk * kk
        elif layer[0] == "fc":
            f = 2.0 * BATCH * layer[1] * layer[2]
        else:
            if layer[0] == "pool":
                h, w = h // 2, w // 2
            continue
        primal += f
        tangent += f if first else 2 * f
        first = False
    return primal + k * tangent


def _module_flops(module: nn.Module, shape: tuple, carries: bool) -> tuple:
    """(primal FLOPs, FLOPs per tangent, output shape, whether the output carries tangents) of one sample of
    ``shape`` through a model of ``dualgrad.nn``, counted as ``flops`` counts them: a conv or linear layer's
    tangent computes X·dW, and dX·W too when its input ``carries`` tangents. Layers other than these and the
    containers keep the shape (or are the pooling and flattening of the residual net's head)."""
    if isinstance(module, nn.Sequential):
        primal = tangent = 0.0
        for _, child in module.named_children():
            p, t, shape, carries = _module_flops(child, shape, carries)
            primal, tangent = primal + p, tangent + t
        return primal, tangent, shape, carries
    if isinstance(module, nn.Residual):            # body(x) + shortcut(x): both branches read x, give one shape
        primal, tangent, carried = 0.0, 0.0, carries
        for _, branch in module.named_children():
            p, t, out, c = _module_flops(branch, shape, carries)
            primal, tangent, carried = primal + p, tangent + t, carried or c
        return primal, tangent, out, carried
    if isinstance(module, nn.Conv2d):
        (c, h, w), (kh, kw), s, p = shape, module.kernel_size, int(module.stride), int(module.padding)
        oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
        f = 2.0 * oh * ow * module.out_channels * c // module.groups * kh * kw
        return f, 2 * f if carries else f, (module.out_channels, oh, ow), True
    if isinstance(module, nn.Linear):
        f = 2.0 * module.in_features * module.out_features
        return f, 2 * f if carries else f, (module.out_features,), True
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return 0.0, 0.0, (shape[0], module.output_size, module.output_size), carries
    if isinstance(module, nn.Flatten):
        return 0.0, 0.0, (int(np.prod(shape)),), carries
    return 0.0, 0.0, shape, carries or bool(module.parameters())


def make_problem(net: str, k: int, dtype=np.float32, seed: int = 0):
    """(layers or the model, parameters, their k-column tangents, x, y); a model's parameters in the order of
    its ``parameters()``."""
    shape, layers = NETS[net]
    rng = np.random.default_rng(seed)
    if not isinstance(layers, list):
        layers = layers(rng).astype(dtype)
        params = list(layers.parameters().values())
    else:
        params = _layer_params(layers, rng)
    params = [p.astype(dtype) for p in params]
    trng = np.random.default_rng([seed, k])
    tangents = [trng.standard_normal((k,) + p.shape).astype(dtype) for p in params]
    x = rng.standard_normal((BATCH,) + shape).astype(dtype)
    y = rng.integers(0, 10, BATCH)
    return layers, params, tangents, x, y


def _layer_params(layers, rng) -> list:
    """A layer list's weights (fan-in scaled Gaussians) and zero biases, in order."""
    params = []
    for layer in layers:
        if layer[0] == "conv":
            _, o, c, kk, _ = layer
            params += [rng.standard_normal((o, c, kk, kk)) / np.sqrt(c * kk * kk), np.zeros(o)]
        elif layer[0] == "fc":
            params += [rng.standard_normal(layer[1:]) / np.sqrt(layer[1]), np.zeros(layer[2])]
    return params


# ----- dualgrad -----------------------------------------------------------------------------------------------
def dualgrad_loss(layers, params, x, y, ctx: nn.Context | None = None):
    """The mean cross-entropy of the layer list, or of the model ``layers`` in the training Context ``ctx``
    (pass one Context to every call, so that batch norm's running averages move once)."""
    if isinstance(layers, nn.Module):
        return dg.softmax_cross_entropy(layers.forward(x, dict(zip(layers.parameters(), params)), ctx), y)
    h, it = x, iter(params)
    for layer in layers:
        if layer[0] == "conv":
            h = dg.conv2d(h, next(it), next(it), padding=layer[4])
        elif layer[0] == "fc":
            h = h @ next(it) + next(it)
        elif layer[0] == "relu":
            h = dg.relu(h)
        elif layer[0] == "pool":
            h = dg.max_pool2d(h, 2)
        else:
            h = h.reshape(h.shape[0], -1)
    return dg.softmax_cross_entropy(h, y)


# ----- hand-written --------------------------------------------------------------------------------------------
def _columns(x, kk, p):
    """im2col (C·K², N·OH·OW) of x zero-padded by p (stride 1)."""
    xp = namespace(x)
    if p:
        x = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, c, h, w = x.shape
    oh, ow = h - kk + 1, w - kk + 1
    sn, sc, sh, sw = x.strides
    win = xp.lib.stride_tricks.as_strided(x, (c, kk, kk, n, oh, ow), (sc, sh, sw, sn, sh, sw))   # a read-only view
    return win.reshape(c * kk * kk, n * oh * ow), (n, oh, ow)


def _chunk_size(sample_bytes, xp):
    """Samples per chunk of columns: the same budget as dualgrad's rule (``chunk_bytes``)."""
    return max(1, chunk_bytes(xp) // sample_bytes)


def _conv(x, dx, w, dw, b, db, p):
    """Primal and k-tangent conv, the batch in chunks of samples whose columns stay in cache."""
    xp = namespace(x)
    o, k, kk = w.shape[0], dw.shape[0], w.shape[-1]
    n, c, h, wd = x.shape
    oh, ow = h + 2 * p - kk + 1, wd + 2 * p - kk + 1
    wm, dwm = w.reshape(o, -1), dw.reshape(k * o, -1)
    out = xp.empty((n, o, oh, ow), x.dtype)
    t = xp.empty((k, n, o, oh, ow), x.dtype)
    step = _chunk_size(c * kk * kk * oh * ow * x.itemsize * (1 + (k if dx is not None else 0)), xp)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        m = hi - lo
        cols, _ = _columns(x[lo:hi], kk, p)
        xp.add((wm @ cols).reshape(o, m, oh, ow).transpose(1, 0, 2, 3), b[:, None, None], out=out[lo:hi])
        tc = t[:, lo:hi]
        tc[...] = (dwm @ cols).reshape(k, o, m, oh, ow).transpose(0, 2, 1, 3, 4)
        if dx is not None:
            dcols, _ = _columns(dx[:, lo:hi].reshape((k * m,) + dx.shape[2:]), kk, p)
            tc += (wm @ dcols).reshape(o, k, m, oh, ow).transpose(1, 2, 0, 3, 4)
        tc += db[:, None, :, None, None]
    return out, t


def _pool(z, dz):
    n, c, h, w = z.shape
    k = dz.shape[0]
    win = z.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(axis=-1)[..., None]                                  # one argmax for all k columns
    dwin = dz.reshape(k, n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 3, 5, 4, 6).reshape(k, n, c, h // 2, w // 2, 4)
    xp = namespace(z)
    return xp.take_along_axis(win, arg, -1)[..., 0], xp.take_along_axis(dwin, arg[None], -1)[..., 0]


def hand_written(layers, params, tangents, x, y):
    xp = namespace(x)
    h, dh = x, None
    pit, tit = iter(params), iter(tangents)
    for layer in layers:
        if layer[0] == "conv":
            h, dh = _conv(h, dh, next(pit), next(tit), next(pit), next(tit), layer[4])
        elif layer[0] == "fc":
            f, c, df, dc = next(pit), next(pit), next(tit), next(tit)
            z = h @ f + c
            dz = xp.matmul(h, df)
            dz += (dh.reshape(-1, f.shape[0]) @ f).reshape(dz.shape)
            dz += dc[:, None, :]
            h, dh = z, dz
        elif layer[0] == "relu":
            mask = h > 0
            h, dh = h * mask, dh * mask
        elif layer[0] == "pool":
            h, dh = _pool(h, dh)
        else:
            h, dh = h.reshape(BATCH, -1), dh.reshape(dh.shape[0], BATCH, -1)
    p = xp.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[xp.arange(BATCH), y] -= 1
    return dh.reshape(dh.shape[0], -1) @ (p.ravel() / BATCH)


def _conv_primal(x, w, b, p):
    """The primal conv alone, chunked as ``_conv``."""
    xp = namespace(x)
    o, kk = w.shape[0], w.shape[-1]
    n, c, h, wd = x.shape
    oh, ow = h + 2 * p - kk + 1, wd + 2 * p - kk + 1
    wm, out = w.reshape(o, -1), xp.empty((n, o, oh, ow), x.dtype)
    step = _chunk_size(c * kk * kk * oh * ow * x.itemsize, xp)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        cols, _ = _columns(x[lo:hi], kk, p)
        xp.add((wm @ cols).reshape(o, hi - lo, oh, ow).transpose(1, 0, 2, 3), b[:, None, None], out=out[lo:hi])
    return out


def numpy_primal(layers, params, x, y):
    xp = namespace(x)
    h, it = x, iter(params)
    for layer in layers:
        if layer[0] == "conv":
            h = _conv_primal(h, next(it), next(it), layer[4])
        elif layer[0] == "fc":
            h = h @ next(it) + next(it)
        elif layer[0] == "relu":
            h = xp.maximum(h, 0)
        elif layer[0] == "pool":
            h = xp.maximum(xp.maximum(h[:, :, 0::2, 0::2], h[:, :, 0::2, 1::2]),
                           xp.maximum(h[:, :, 1::2, 0::2], h[:, :, 1::2, 1::2]))
        else:
            h = h.reshape(BATCH, -1)
    z = h - h.max(1, keepdims=True)
    return xp.mean(xp.log(xp.exp(z).sum(1)) - z[xp.arange(BATCH), y])


# ----- peers ---------------------------------------------------------------------------------------------------
def torch_methods(layers, params, tangents, x, y, device="cpu"):
    torch = torch_or_none(device)
    if torch is None:
        return {}
    from torch.func import jvp, vmap
    F = torch.nn.functional

    def put(a):
        return torch.from_numpy(np.ascontiguousarray(a)).to(torch_device(device))
    tx, ty = put(x), put(y)
    if isinstance(layers, nn.Module):
        tp, tt, forward = _torch_twin(layers, params, tangents, torch, put)
        f = vmap(lambda *t: jvp(lambda ps: F.cross_entropy(forward(ps, tx), ty), (tuple(tp),), (t,))[1])
        return {"torch.func vmap(jvp)": lambda: f(*tt)}
    tp, tt = [put(p) for p in params], [put(t) for t in tangents]

    def loss(ps):
        h, it = tx, iter(ps)
        for layer in layers:
            if layer[0] == "conv":
                h = F.conv2d(h, next(it), next(it), padding=layer[4])
            elif layer[0] == "fc":
                h = h @ next(it) + next(it)
            elif layer[0] == "relu":
                h = torch.relu(h)
            elif layer[0] == "pool":
                h = F.max_pool2d(h, 2)
            else:
                h = h.reshape(h.shape[0], -1)
        return F.cross_entropy(h, ty)

    f = vmap(lambda *t: jvp(loss, (tuple(tp),), (t,))[1])
    return {"torch.func vmap(jvp)": lambda: f(*tt)}


def _torch_twin(model: nn.Module, params, tangents, torch, put):
    """The residual net's PyTorch twin (``training.torch_model``) with ``model``'s parameters: (its parameters,
    their tangents, ``forward(ps, x)``). The twin's parameters come in the order of the model's; a Linear
    weight (and its tangents) is transposed to PyTorch's (out, in). Batch norm runs on batch statistics
    without running averages (``replace_all_batch_norm_modules_``), as ``dg.batch_norm``: biased variance,
    eps 1e-5."""
    from torch.func import functional_call, replace_all_batch_norm_modules_
    module = replace_all_batch_norm_modules_(torch_model("resnet", torch, **RESNET).train())
    names = [name for name, _ in module.named_parameters()]
    tp, tt = [], []
    for (name, twin), p, t in zip(module.named_parameters(), params, tangents, strict=True):
        if p.ndim == 2:                                                   # (in, out) -> (out, in)
            p, t = p.T, t.transpose(0, 2, 1)
        if tuple(twin.shape) != p.shape:
            raise AssertionError(f"the PyTorch twin's {name} has shape {tuple(twin.shape)}, dualgrad's {p.shape}")
        tp.append(put(p))
        tt.append(put(t))
    return tp, tt, lambda ps, x: functional_call(module, dict(zip(names, ps)), (x,))


def _jax_module(module: nn.Module, params: dict, h, jax):
    """``module.forward`` of the residual net's layers in jax.numpy, on the flat dict ``params`` (names relative
    to ``module``); batch norm on batch statistics with the biased variance, as ``dg.batch_norm``."""
    jnp = jax.numpy
    own, children = split(params)
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            h = _jax_module(child, children.get(name, {}), h, jax)
        return h
    if isinstance(module, nn.Residual):                          # body(h) + shortcut(h), else the identity
        branches = dict(module.named_children())
        body = _jax_module(branches["body"], children.get("body", {}), h, jax)
        if "shortcut" not in branches:
            return body + h
        return body + _jax_module(branches["shortcut"], children["shortcut"], h, jax)
    if isinstance(module, nn.Conv2d):
        s, p = int(module.stride), int(module.padding)
        h = jax.lax.conv_general_dilated(h, own["weight"], (s, s), [(p, p)] * 2)
        return h + own["bias"][:, None, None] if "bias" in own else h
    if isinstance(module, nn.BatchNorm2d):
        mean = h.mean(axis=(0, 2, 3), keepdims=True)
        var = jnp.square(h - mean).mean(axis=(0, 2, 3), keepdims=True)
        return (h - mean) / jnp.sqrt(var + module.eps) * own["weight"][:, None, None] + own["bias"][:, None, None]
    if isinstance(module, nn.ReLU):
        return jax.nn.relu(h)
    if isinstance(module, nn.AdaptiveAvgPool2d) and module.output_size == 1:
        return h.mean(axis=(2, 3), keepdims=True)
    if isinstance(module, nn.Flatten):
        return h.reshape(h.shape[0], -1)
    if isinstance(module, nn.Linear):
        return h @ own["weight"] + own["bias"]
    raise TypeError(f"_jax_module: no JAX version of {module!r}")


def jax_methods(layers, params, tangents, x, y, device="cpu"):
    jax = jax_or_none(device)
    if jax is None:
        return {}
    import jax.numpy as jnp
    jp, jt = [jnp.asarray(p) for p in params], [jnp.asarray(t) for t in tangents]
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def loss(ps, xa, ya):
        if isinstance(layers, nn.Module):
            h = _jax_module(layers, dict(zip(layers.parameters(), ps)), xa, jax)
            return jnp.mean(jax.nn.logsumexp(h, axis=1) - h[jnp.arange(h.shape[0]), ya])
        h, it = xa, iter(ps)
        for layer in layers:
            if layer[0] == "conv":
                w, b = next(it), next(it)
                h = jax.lax.conv_general_dilated(h, w, (1, 1), [(layer[4], layer[4])] * 2) + b[:, None, None]
            elif layer[0] == "fc":
                h = h @ next(it) + next(it)
            elif layer[0] == "relu":
                h = jax.nn.relu(h)
            elif layer[0] == "pool":
                h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
            else:
                h = h.reshape(h.shape[0], -1)
        return jnp.mean(jax.nn.logsumexp(h, axis=1) - h[jnp.arange(h.shape[0]), ya])

    @jax.jit
    def run(ps, xa, ya, ts):
        return jax.vmap(lambda t: jax.jvp(lambda q: loss(q, xa, ya), (ps,), (t,))[1])(ts)

    return {"jax jit(vmap(jvp))": lambda: run(jp, jx, jy, jt).block_until_ready()}


def methods(net: str, k: int, peers: bool = True, backend: str = "numpy"):
    """{name: (callable, kind)} of the k-tangent pass of ``net``; ``peers``: with PyTorch and JAX when installed;
    ``backend``: where dualgrad and the hand-written network run ("cupy": on the GPU, the peers too)."""
    problem = make_problem(net, k)
    layers, params, tangents, x, y = to_backend(get(backend), problem)
    ctx = _training_context(layers, backend)
    out = {"dualgrad jvp": (lambda: dg.jvp(lambda p: dualgrad_loss(layers, p, x, y, ctx), (params,),
                                           (tangents,))[1], "dualgrad")}
    if not isinstance(layers, nn.Module):
        out["hand-written im2col network"] = (lambda: hand_written(layers, params, tangents, x, y), "hand")
    if peers:
        device = device_for(backend)
        for name, f in (torch_methods(*problem, device) | jax_methods(*problem, device)).items():
            out[name] = (f, "peer")
    return out


def _training_context(layers, backend: str) -> nn.Context | None:
    """A model's training Context, shared by all its calls (its buffers moved to ``backend``); None for a layer list."""
    if not isinstance(layers, nn.Module):
        return None
    layers.to(backend)
    return nn.Context()


def primal(net: str, backend: str = "numpy"):
    """The primal forward pass: the NumPy network of a layer list, a model's forward on plain arrays."""
    layers, params, _, x, y = to_backend(get(backend), make_problem(net, 1))
    ctx = _training_context(layers, backend)
    if ctx is not None:
        return lambda: dualgrad_loss(layers, params, x, y, ctx)
    return lambda: numpy_primal(layers, params, x, y)
