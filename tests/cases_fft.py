"""OpCases for numpy.fft (see tests/harness.py for the format). The outputs are complex, so the complex step
(which reads the imaginary part of the output) does not apply; the complex-operand test covers them."""
import numpy as np

from .harness import OpCase, fixed, one_shape


def case(fn, shapes, label):
    return OpCase("fft", fn, shapes, label=label)


CASES = [
    case(lambda x: np.fft.fft(x), one_shape(min_dims=1), "fft"),
    case(lambda x: np.fft.fft(x, n=6, axis=0, norm="ortho"), fixed((4, 3)), "fft n, axis, ortho"),
    case(lambda x: np.fft.ifft(x, norm="forward"), fixed((2, 5)), "ifft"),
    case(lambda x: np.fft.rfft(x), fixed((3, 6)), "rfft"),
    case(lambda x: np.fft.irfft(np.fft.rfft(x), n=7), fixed((7,)), "irfft"),
    case(lambda x: np.fft.hfft(x, axis=0), fixed((4, 2)), "hfft"),
    case(lambda x: np.fft.ihfft(x), fixed((5,)), "ihfft"),
    case(lambda x: np.fft.fft2(x), fixed((2, 3, 4)), "fft2"),
    case(lambda x: np.fft.ifft2(x, s=(3, 2), axes=(0, 2)), fixed((2, 3, 4)), "ifft2 s, axes"),
    case(lambda x: np.fft.rfft2(x), fixed((4, 4)), "rfft2"),
    case(lambda x: np.fft.irfft2(np.fft.rfft2(x), s=(3, 4)), fixed((3, 4)), "irfft2"),
    case(lambda x: np.fft.fftn(x), one_shape(min_dims=1), "fftn"),
    case(lambda x: np.fft.ifftn(x, s=(2, 5)), fixed((3, 3, 4)), "ifftn s"),
    case(lambda x: np.fft.rfftn(x, axes=(0, 1)), fixed((2, 3, 2)), "rfftn"),
    case(lambda x: np.fft.irfftn(np.fft.rfftn(x)), fixed((2, 4)), "irfftn"),
    OpCase("roll", lambda x: np.fft.fftshift(x), one_shape(min_dims=1), label="np.fft.fftshift", analytic=True),
    OpCase("roll", lambda x: np.fft.ifftshift(x, axes=0), fixed((5, 2)), label="np.fft.ifftshift", analytic=True),
]
