"""Optimizers against their defining update formulas, schedules, and state round trips."""
import math

import numpy as np
import pytest

from dualgrad import optim

rng = np.random.default_rng(0)


def reference_sgd(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, wd=0.0):
    p, buf = p.copy(), None
    for g in grads:
        g = g + wd * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def reference_adam(p, grads, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    p, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
                                dict(momentum=0.5, dampening=0.3, weight_decay=0.01)])
def test_sgd_matches_the_update_formula(kw):
    p0, grads = rng.standard_normal(5), [rng.standard_normal(5) for _ in range(4)]
    params = {"w": p0.copy()}
    opt = optim.SGD(0.1, **kw)
    for g in grads:
        opt.step(params, {"w": g})
    expected = reference_sgd(p0, grads, 0.1, kw.get("momentum", 0), kw.get("dampening", 0),
                             kw.get("nesterov", False), kw.get("weight_decay", 0))
    np.testing.assert_allclose(params["w"], expected, rtol=1e-14)


@pytest.mark.parametrize("cls, kw", [(optim.Adam, dict()), (optim.Adam, dict(weight_decay=0.1)),
                                     (optim.AdamW, dict(weight_decay=0.1))])
def test_adam_matches_the_update_formula(cls, kw):
    p0, grads = rng.standard_normal((2, 3)), [rng.standard_normal((2, 3)) for _ in range(5)]
    params = {"w": p0.copy()}
    opt = cls(0.01, **kw)
    for g in grads:
        opt.step(params, {"w": g})
    expected = reference_adam(p0, grads, 0.01, wd=kw.get("weight_decay", 0.0), decoupled=cls is optim.AdamW)
    np.testing.assert_allclose(params["w"], expected, rtol=1e-12)


def test_schedules():
    assert optim.schedule("constant")(100) == 1.0
    step = optim.schedule("step", step_size=10, gamma=0.5)
    assert [step(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    cos = optim.schedule("cosine", total_steps=100, min_factor=0.1)
    assert cos(0) == 1.0 and cos(100) == pytest.approx(0.1) and cos(50) == pytest.approx(0.55)
    opt = optim.SGD(0.2, lr_schedule=step)
    opt.steps = 10
    assert opt.current_lr == pytest.approx(0.1)
    with pytest.raises(ValueError, match="total_steps"):
        optim.schedule("cosine")


def test_state_round_trip_continues_bit_for_bit():
    grads = [{"w": rng.standard_normal(4)} for _ in range(6)]
    a_params, b_params = {"w": np.ones(4)}, {"w": np.ones(4)}
    a = optim.Adam(0.05)
    for g in grads:
        a.step(a_params, g)
    b = optim.Adam(0.05)
    for g in grads[:3]:
        b.step(b_params, g)
    restored = optim.Adam(0.05)
    restored.load_state_dict(b.state_dict())
    for g in grads[3:]:
        restored.step(b_params, g)
    np.testing.assert_array_equal(a_params["w"], b_params["w"])
    assert restored.steps == 6 and math.isfinite(restored.current_lr)


def test_errors():
    with pytest.raises(ValueError, match="positive"):
        optim.SGD(0.0)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(0.1, nesterov=True)
    with pytest.raises(KeyError, match="differ"):
        optim.SGD(0.1).step({"w": np.ones(2)}, {"v": np.ones(2)})
