"""OpCases for the conv rules (see tests/harness.py for the format).

Shapes stay small (N ≤ 2, C ≤ 4, H, W ≤ 7) so the generic run is fast. The harness draws k and which
of x, w, b carry tangents, so each conv case covers x-only, w-only, b-only and all-together runs.
Max-pool samples distinct values: no tie sits within the finite-difference step.
"""
from hypothesis import strategies as st

import dualgrad as dg

from .harness import OpCase, distinct


def _pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


@st.composite
def conv_shapes(draw, nd=2, stride=1, padding=0, dilation=1, groups=1, bias=False):
    """(x, w[, b]) shapes: x (N, C, *S), w (O, C/groups, *K), b (O,); the dilated kernel fits the padded input."""
    n, cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 4 // groups)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    pads = (0,) * nd if isinstance(padding, str) else _pair(padding)[-nd:]
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, _pair(dilation)[-nd:]))
    spatial = tuple(draw(st.integers(max(1, s - 2 * p), 7)) for s, p in zip(spans, pads))
    shapes = ((n, cg * groups) + spatial, (og * groups, cg) + kernel)
    return shapes + ((og * groups,),) if bias else shapes


def image_shape(min_side=1):
    """One (N, C, H, W) shape."""
    return st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(min_side, 7),
                     st.integers(min_side, 7)).map(lambda s: (s,))


def conv_case(label, nd=2, bias=True, **params):
    conv = dg.conv2d if nd == 2 else dg.conv1d
    fn = (lambda x, w, b: conv(x, w, b, **params)) if bias else (lambda x, w: conv(x, w, **params))
    return OpCase("conv2d", fn, conv_shapes(nd=nd, bias=bias, **params), label=label)


CASES = [
    conv_case("basic", bias=False),
    conv_case("bias"),
    conv_case("stride2-padding1", stride=2, padding=1),
    conv_case("padding(2,0)", padding=(2, 0), bias=False),
    conv_case("dilation2", dilation=2),
    conv_case("groups2", groups=2),
    conv_case("same-dilation(1,2)", padding="same", dilation=(1, 2)),
    conv_case("mixed", stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    conv_case("conv1d", nd=1, stride=2, padding=1),
    conv_case("conv1d-same-dilation2-groups2", nd=1, padding="same", dilation=2, groups=2),
    OpCase("max_pool2d", lambda x: dg.max_pool2d(x, 2), image_shape(2), sample=distinct, label="k2"),
    OpCase("max_pool2d", lambda x: dg.max_pool2d(x, 3, stride=2, padding=1), image_shape(1), sample=distinct,
           label="k3-s2-p1"),
    OpCase("max_pool2d", lambda x: dg.max_pool2d(x, (2, 3), stride=1), image_shape(3), sample=distinct,
           label="k(2,3)-s1"),
    OpCase("avg_pool2d", lambda x: dg.avg_pool2d(x, 2), image_shape(2), label="k2"),
    OpCase("avg_pool2d", lambda x: dg.avg_pool2d(x, (3, 2), stride=1, padding=1), image_shape(1),
           label="k(3,2)-s1-p1"),
    OpCase("adaptive_avg_pool2d", lambda x: dg.adaptive_avg_pool2d(x, 1), image_shape(1), label="global"),
    OpCase("adaptive_avg_pool2d", lambda x: dg.adaptive_avg_pool2d(x, (3, 2)), image_shape(1),
           label="(3,2)-overlapping"),
    OpCase("adaptive_avg_pool2d", lambda x: dg.adaptive_avg_pool2d(x, (None, 5)), image_shape(1),
           label="(None,5)"),
]
