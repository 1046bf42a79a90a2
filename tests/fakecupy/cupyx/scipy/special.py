"""cupyx.scipy.special of the NumPy stand-in: scipy.special's ufuncs on fake arrays."""
import cupy as _cupy
import scipy.special as _sp

#: scipy.special functions that cupyx.scipy.special (CuPy 14.2) does not have, as a GPU run found them
MISSING = {"airy", "betaincc", "betainccinv", "dawsn", "erfi", "fresnel", "hyp0f1", "hyp1f1", "hyp2f1", "iv", "ive",
           "jv", "jve", "kn", "kv", "kve", "modstruve", "ndtri_exp", "owens_t", "powm1", "spence", "struve",
           "wrightomega", "yv", "yve"}

for _name in dir(_sp):
    _obj = getattr(_sp, _name)
    if not _name.startswith("_") and callable(_obj) and _name not in MISSING:
        globals()[_name] = _cupy._lift(_obj)
