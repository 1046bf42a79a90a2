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

FLOPs (2 per multiply-add, elementwise work ignored): the primal costs 2B·Σ n_l m_l, each tangent
2B·(Σ n_l m_l + Σ_{l>1} n_l m_l) (X·dW in every layer, dX·W after the first).
"""
from __future__ import annotations

import numpy as np

import dualgrad as dg

from .peers import jax_or_none, torch_or_none

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


# ----- numpy --------------------------------------------------------------------------------------------------
def numpy_primal(Ws, bs, X, y):
    h = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        h = h @ W + b
        if i < len(Ws) - 1:
            h = np.maximum(h, 0)
    z = h - h.max(1, keepdims=True)
    return np.mean(np.log(np.exp(z).sum(1)) - z[np.arange(len(y)), y])


def hand_fused(Ws, bs, X, y, dWcs, dbs):
    """Tangents pre-laid dWc (n, k, m); tangent activations batch-major (B, k, m); in-place masks and adds."""
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
            np.maximum(z, 0, out=z)
            dz *= mask[:, None, :]
        h, dh = z, dz
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    p[np.arange(len(y)), y] -= 1
    return loss, np.einsum("bkj,bj->k", dh, p / len(y))


def gemms_only(Ws, X, dWcs, k):
    jobs, h, dh = [], X, None
    for W, dWc in zip(Ws, dWcs):
        n, m = W.shape
        jobs.append((h, W, np.empty((len(X), m), W.dtype)))
        jobs.append((h, dWc.reshape(n, k * m), np.empty((len(X), k * m), W.dtype)))
        if dh is not None:
            jobs.append((dh.reshape(-1, n), W, np.empty((len(X) * k, m), W.dtype)))
        h = np.maximum(h @ W, 0)
        dh = np.ones((len(X), k, m), W.dtype)

    def run():
        for a, b, c in jobs:
            np.matmul(a, b, out=c)
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
def torch_methods(Ws, bs, X, y, dWs, dbs):
    torch = torch_or_none()
    if torch is None:
        return {}
    import torch.autograd.forward_ad as fwad
    from torch.func import jvp, vmap
    tW, tb = [torch.from_numpy(W) for W in Ws], [torch.from_numpy(b) for b in bs]
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    vW, vb = [torch.from_numpy(d) for d in dWs], [torch.from_numpy(d) for d in dbs]

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

    return {"torch.func vmap(jvp)": lambda: tangents(vW, vb).numpy(),
            "paper: k forward_ad passes (torch)": lambda: paper_loop().numpy()}


def jax_methods(Ws, bs, X, y, dWs, dbs):
    jax = jax_or_none()
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
    return {"jax jit(vmap(jvp))": lambda: np.asarray(first(jW, jb, jX, jy, vW, vb)),
            "jax jit(vmap(jvp)), tangents (n,k,m)": lambda: np.asarray(laid(jW, jb, jX, jy, vWc, vb))}


def methods(k: int):
    """{name: (callable returning the k loss tangents or None, kind)} for one k; kind: primal|dualgrad|floor|peer."""
    Ws, bs, X, y, dWs, dbs = make_problem(k)
    dWcs = [np.ascontiguousarray(d.transpose(1, 0, 2)) for d in dWs]
    out = {"dualgrad jvp": (lambda: dualgrad_jvp(Ws, bs, X, y, dWs, dbs), "dualgrad"),
           "hand-fused NumPy, tangents (n,k,m)": (lambda: hand_fused(Ws, bs, X, y, dWcs, dbs)[1], "hand"),
           "GEMMs only (the floor)": (gemms_only(Ws, X, dWcs, k), "floor")}
    for name, f in (torch_methods(Ws, bs, X, y, dWs, dbs) | jax_methods(Ws, bs, X, y, dWs, dbs)).items():
        out[name] = (f, "peer")
    return out


def primal():
    Ws, bs, X, y, _, _ = make_problem(1)
    return lambda: numpy_primal(Ws, bs, X, y)
