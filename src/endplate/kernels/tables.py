"""Constants and tables shared by the CPU (Numba) and GPU (CUDA) kernels; no compiled code here."""

from __future__ import annotations

import math

import numpy as np

# Below this mean the binomial is drawn by inversion; above it by BTRS (valid for n p >= 10).
INVERSION_MAX_MEAN = 10.0
# Above this variance a binomial is drawn by the second-order Cornish-Fisher transform of a
# normal variate with Sheppard's correction; its CDF differs from the exact binomial CDF by less
# than 1e-3 (3.1e-4 at the worst n, p tried; computed exactly in
# tests/statistical/test_random_numbers.py), and it costs a fraction of an exact draw. Below it
# the expansion stops being monotone in z (variance 4), so the draw is exact; as the flipped mean
# n min(p, 1-p) is then below 2 x 6 = 12, that is almost always inversion.
APPROX_MIN_VARIANCE = 6.0
Z_CLAMP = 5.0
_LOG_FACTORIAL = np.array([math.lgamma(k + 1.0) for k in range(16)])
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _ziggurat_tables(layers: int = 128):
    """Marsaglia & Tsang (2000) ziggurat tables for the standard normal, 32-bit variates."""
    m1 = 2.0**31
    dn = tn = 3.442619855899
    vn = 9.91256303526217e-3
    kn, wn, fn = np.zeros(layers), np.zeros(layers), np.zeros(layers)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0], kn[1] = (dn / q) * m1, 0.0
    wn[0], wn[-1] = q / m1, dn / m1
    fn[0], fn[-1] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(layers - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = (dn / tn) * m1
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_tables()
_ZIG_R = 3.442619855899

# Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3"):
# round multipliers and Weyl key increments of the GPU kernel's counter-based generator.
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
