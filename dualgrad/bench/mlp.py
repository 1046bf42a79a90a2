"""The k-tangent forward pass of an MLP: dualgrad against hand-fused NumPy and the peers.

The work: the mean softmax-cross-entropy of an MLP 784-1024-1024-10 (ReLU), batch 128, float32,
with tangents on every weight and bias, so the k jvps are the loss's directional derivatives with respect
to all parameters. Methods:

- numpy primal forward (no tangents): the denominator of the ratios;
- dualgrad ``jvp`` of the loss written with ``@``, ``dg.relu`` and ``dg.softmax_cross_entropy``, tangents in
  dualgrad's natural k-first layout ``(k, n, m)``;
- hand-fused NumPy with tangents pre-laid ``(n, k, m)`` (``X·dW`` one ``(B, n) @ (n, k·m)`` GEMM, in-place
  masks), and its GEMMs alone on preallocated outputs: the floor;
- peers when installed: torch.func ``vmap(jvp)``, the paper's approach (k separate
  ``torch.autograd.forward_ad`` passes), JAX ``jit(vmap(jvp))`` with k-first tangents and with tangents laid
  out ``(n, k, m)``.

On a GPU (``backend="cupy"``) the same methods run on the device: dualgrad and the hand-written versions
on CuPy arrays, the peers on CUDA; every method returns its result on the device (``peers.to_host`` reads
it for the check) and the timing synchronises the device after each call.

FLOPs (2 per multiply-add, elementwise work ignored): the primal costs 2B·Σ n_l m_l, each tangent
2B·(Σ n_l m_l + Σ_{l>1} n_l m_l) (X·dW in every layer, dX·W after the first).
"""
from __future__ import annotations

import numpy as np

import dualgrad as dg

from ..backend import get, namespace
from .peers import device_for, jax_or_none, to_backend, torch_device, torch_or_none

SIZES = (784, 1024, 1024, 10)
BATCH = 128


def flops(k: int) -> float:
    nm = [n * m for n, m in zip(SIZES[:-1], SIZES[1:])]
    return 2.0 * BATCH * (sum(nm) + k * (sum(nm) + sum(nm[1:])))


def make_problem(k: int, dtype=np.float32, seed: int = 0):
    rng = np.random.default_rng(seed)
    layers = list(zip(SIZES[:-1], SIZES[1:]))
    Ws = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype) for a, b in layers]
    bs = [np.zeros(b, dtype) for _, b in layers]
    X = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], BATCH)
    trng = np.random.default_rng([seed, k])
    dWs = [trng.standard_normal((k,) + W.shape, dtype=np.float32).astype(dtype) for W in Ws]
    dbs = [trng.standard_normal((k,) + b.shape, dtype=np.float32).astype(dtype) for b in bs]
    return Ws, bs, X, y, dWs, dbs


# ----- numpy (or CuPy: the array module of the data) --------------------------------------------------------
def numpy_primal(Ws, bs, X, y):
    xp = namespace(X)
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if i < len(Ws) - 1:
            h = xp.maximum(h, 0)
    z = h - h.max(1, keepdims=True)
    return xp.mean(xp.log(xp.exp(z).sum(1)) - z[xp.arange(len(y)), y])


def hand_fused(Ws, bs, X, y, dWcs, dbs):
    """Tangents pre-laid dWc (n, k, m); tangent activations batch-major (B, k, m); in-place masks and adds."""
    xp = namespace(X)
    k = dbs[0].shape[0]
    h, dh = X, None
    for i, (W, b, dWc, db) in enumerate(zip(Ws, bs, dWcs, dbs)):
        n, m = W.shape
        z = h @ W
        z += b
        dz = (h @ dWc.reshape(n, k * m)).reshape(len(h), k, m)
        if dh is not None:
            dz += (dh.reshape(-1, n) @ W).reshape(len(h), k, m)
        dz += db
        if i < len(Ws) - 1:
            mask = z > 0
            xp.maximum(z, 0, out=z)
            dz *= mask[:, None, :]
        h, dh = z, dz
    p = xp.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    rows = xp.arange(len(y))
    loss = -xp.mean(xp.log(p[rows, y]))
    p[rows, y] -= 1
    return loss, xp.einsum("bkj,bj->k", dh, p / len(y))


def gemms_only(Ws, X, dWcs, k):
    xp = namespace(X)
    jobs, h, dh = [], X, None
    for W, dWc in zip(Ws, dWcs):
        n, m = W.shape
        jobs.append((h, W, xp.empty((len(X), m), W.dtype)))
        jobs.append((h, dWc.reshape(n, k * m), xp.empty((len(X), k * m), W.dtype)))
        if dh is not None:
            jobs.append((dh.reshape(-1, n), W, xp.empty((len(X) * k, m), W.dtype)))
        h = xp.maximum(h @ W, 0)
        dh = xp.ones((len(X), k, m), W.dtype)

    def run():
        for a, b, c in jobs:
            xp.matmul(a, b, out=c)
        return jobs[-1][2]
    return run


def dualgrad_loss(params, X, y):
    Ws, bs = params
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if i < len(Ws) - 1:
            h = dg.relu(h)
    return dg.softmax_cross_entropy(h, y)


def dualgrad_jvp(Ws, bs, X, y, dWs, dbs):
    return dg.jvp(lambda p: dualgrad_loss(p, X, y), ((Ws, bs),), ((dWs, dbs),))[1]


# ----- peers ---------------------------------------------------------------------------------------------------
def torch_methods(Ws, bs, X, y, dWs, dbs, device="cpu"):
    torch = torch_or_none(device)
    if torch is None:
        return {}
    import torch.autograd.forward_ad as fwad
    from torch.func import jvp, vmap

    def put(a):
        return torch.from_numpy(a).to(torch_device(device))
    tW, tb = [put(W) for W in Ws], [put(b) for b in bs]
    tX, ty = put(X), put(y)
    vW, vb = [put(d) for d in dWs], [put(d) for d in dbs]

    def loss(Wl, bl):
        h = tX
        for i, (W, b) in enumerate(zip(Wl, bl)):
            h = h @ W + b
            if i < len(Wl) - 1:
                h = torch.relu(h)
        return torch.nn.functional.cross_entropy(h, ty)

    tangents = vmap(lambda a, c: jvp(loss, (tW, tb), (a, c))[1])

    def paper_loop():
        """The paper's code: one forward_ad pass per tangent, every parameter dual with that tangent's slice."""
        out = []
        for i in range(len(dbs[0])):
            with fwad.dual_level():
                W = [fwad.make_dual(w, v[i]) for w, v in zip(tW, vW)]
                b = [fwad.make_dual(c, v[i]) for c, v in zip(tb, vb)]
                out.append(fwad.unpack_dual(loss(W, b)).tangent)
        return torch.stack(out)

    return {"torch.func vmap(jvp)": lambda: tangents(vW, vb),
            "paper: k forward_ad passes (torch)": paper_loop}


def jax_methods(Ws, bs, X, y, dWs, dbs, device="cpu"):
    jax = jax_or_none(device)
    if jax is None:
        return {}
    import jax.numpy as jnp
    jW, jb, jX, jy = [jnp.asarray(W) for W in Ws], [jnp.asarray(b) for b in bs], jnp.asarray(X), jnp.asarray(y)

    def loss(Wl, bl, Xa, ya):
        h = Xa
        for i, (W, b) in enumerate(zip(Wl, bl)):
            h = h @ W + b
            if i < len(Wl) - 1:
                h = jax.nn.relu(h)
        return jnp.mean(jax.nn.logsumexp(h, axis=1) - h[jnp.arange(h.shape[0]), ya])

    def make(axis):
        @jax.jit
        def run(Wl, bl, Xa, ya, vWl, vbl):
            return jax.vmap(lambda a, c: jax.jvp(lambda W_, b_: loss(W_, b_, Xa, ya), (Wl, bl), (a, c))[1],
                            in_axes=(axis, 0))(vWl, vbl)
        return run

    first, laid = make(0), make(1)
    vW, vb = [jnp.asarray(d) for d in dWs], [jnp.asarray(d) for d in dbs]
    vWc = [jnp.asarray(np.ascontiguousarray(d.transpose(1, 0, 2))) for d in dWs]
    out = {"jax jit(vmap(jvp))": lambda: first(jW, jb, jX, jy, vW, vb).block_until_ready()}
    if device == "cpu":          # on a GPU the layout made no difference (docs/performance.md): one compilation less
        out["jax jit(vmap(jvp)), tangents (n,k,m)"] = lambda: laid(jW, jb, jX, jy, vWc, vb).block_until_ready()
    return out


def methods(k: int, backend: str = "numpy", peers: bool = True):
    """{name: (callable returning the k loss tangents or None, kind)} for one k; kind: primal|dualgrad|floor|peer.
    ``backend``: where dualgrad and the hand-written versions run ("cupy": on the GPU, the peers too)."""
    problem = make_problem(k)
    xp = get(backend)
    Ws, bs, X, y, dWs, dbs = to_backend(xp, problem)
    dWcs = [xp.ascontiguousarray(d.transpose(1, 0, 2)) for d in dWs]
    name = "hand-fused NumPy" if xp is np else "hand-fused CuPy"
    out = {"dualgrad jvp": (lambda: dualgrad_jvp(Ws, bs, X, y, dWs, dbs), "dualgrad"),
           f"{name}, tangents (n,k,m)": (lambda: hand_fused(Ws, bs, X, y, dWcs, dbs)[1], "hand"),
           "GEMMs only (the floor)": (gemms_only(Ws, X, dWcs, k), "floor")}
    if peers:
        device = device_for(backend)
        for name, f in (torch_methods(*problem, device) | jax_methods(*problem, device)).items():
            out[name] = (f, "peer")
    return out


def primal(backend: str = "numpy"):
    xp = get(backend)
    Ws, bs, X, y, _, _ = to_backend(xp, make_problem(1))
    return lambda: numpy_primal(Ws, bs, X, y)
