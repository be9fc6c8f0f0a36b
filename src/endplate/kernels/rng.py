"""Counter-seeded random numbers for the compiled CPU kernels.

Each junction gets its own xoroshiro128+ stream, seeded by SplitMix64 from (seed, junction
index), so results do not depend on thread count or chunking (the GPU kernel uses counter-based
Philox instead, see ``gpu.py``). ``next_binomial`` is exact: inversion for small means,
Hormann's (1993) BTRS transformed-rejection algorithm otherwise. ``next_binomial_fast`` is the
kernels' draw: a fixed-cost Cornish-Fisher transform of a normal above APPROX_MIN_VARIANCE, with
a CDF error bounded below 1e-3, and the exact draw below it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from endplate.kernels.tables import (
    _HALF_LOG_2PI,
    _LOG_FACTORIAL,
    _ZIG_F,
    _ZIG_K,
    _ZIG_R,
    _ZIG_W,
    APPROX_MIN_VARIANCE,
    INVERSION_MAX_MEAN,
    Z_CLAMP,
)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S24 = np.uint64(24)
_S40 = np.uint64(40)
_S16 = np.uint64(16)
_S37 = np.uint64(37)
_S21 = np.uint64(21)
_S28 = np.uint64(28)
_S36 = np.uint64(36)
_ONE = np.uint64(1)
_INV53 = 1.0 / 9007199254740992.0

_INV_K = np.array([0.0] + [1.0 / k for k in range(1, 64)])


@njit(inline="always", cache=True)
def log_factorial(k):
    """log(k!) for integer-valued k >= 0: table below 16, Stirling series above (error < 1e-9)."""
    if k < 16:
        return _LOG_FACTORIAL[int(k)]
    inv = 1.0 / k
    return (k + 0.5) * math.log(k) - k + _HALF_LOG_2PI + inv * (1.0 / 12.0 - inv * inv / 360.0)


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def splitmix64(x):
    x = x + _GOLDEN
    z = x
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return x, z ^ (z >> _S31)


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def seed_stream(seed, index):
    """Two state words for stream ``index`` of ``seed`` (both uint64)."""
    x = seed ^ ((index + _ONE) * _MIX2)
    x, s0 = splitmix64(x)
    x, s1 = splitmix64(x)
    if s0 == 0 and s1 == 0:
        s1 = _GOLDEN
    return s0, s1


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def next_uniform(s0, s1):
    """xoroshiro128+ step; returns the new state and a double in [0, 1)."""
    result = s0 + s1
    s1 = s1 ^ s0
    s0 = ((s0 << _S24) | (s0 >> _S40)) ^ s1 ^ (s1 << _S16)
    s1 = (s1 << _S37) | (s1 >> _S27)
    return s0, s1, (result >> _S11) * _INV53


_ZIG_MASK = np.int64(127)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_HALF32 = np.int64(2**31)


@njit(cache=True)
def _ziggurat_slow(s0, s1, hz):
    """The rare branch of the ziggurat: wedge or tail (about 1 % of draws)."""
    while True:
        iz = hz & _ZIG_MASK
        x = hz * _ZIG_W[iz]
        if iz == 0:
            while True:
                s0, s1, u = next_uniform(s0, s1)
                s0, s1, v = next_uniform(s0, s1)
                x = -math.log(1.0 - u) / _ZIG_R
                y = -math.log(1.0 - v)
                if y + y >= x * x:
                    break
            return s0, s1, (_ZIG_R + x) if hz > 0 else -(_ZIG_R + x)
        s0, s1, u = next_uniform(s0, s1)
        if _ZIG_F[iz] + u * (_ZIG_F[iz - 1] - _ZIG_F[iz]) < math.exp(-0.5 * x * x):
            return s0, s1, x
        s0, s1, u = next_uniform(s0, s1)
        hz = np.int64(u * 4294967296.0) - _HALF32
        if abs(hz) < _ZIG_K[hz & _ZIG_MASK]:
            return s0, s1, hz * _ZIG_W[hz & _ZIG_MASK]


@njit(inline="always", cache=True)
def _ziggurat_one(s0, s1, hz):
    iz = hz & _ZIG_MASK
    if abs(hz) < _ZIG_K[iz]:
        return s0, s1, hz * _ZIG_W[iz]
    return _ziggurat_slow(s0, s1, hz)


@njit(inline="always", cache=True)
def next_normal_pair(s0, s1):
    """Two independent standard normals by the ziggurat, one 64-bit draw split in two halves."""
    result = s0 + s1
    s1 = s1 ^ s0
    s0 = ((s0 << _S24) | (s0 >> _S40)) ^ s1 ^ (s1 << _S16)
    s1 = (s1 << _S37) | (s1 >> _S27)
    s0, s1, z1 = _ziggurat_one(s0, s1, np.int64(result >> _S32) - _HALF32)
    s0, s1, z2 = _ziggurat_one(s0, s1, np.int64(result & _LOW32) - _HALF32)
    return s0, s1, z1, z2


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def _binomial_inversion(s0, s1, n, p):
    q = 1.0 - p
    s = p / q
    a = (n + 1) * s
    while True:
        r = math.exp(n * math.log(1.0 - p))
        s0, s1, u = next_uniform(s0, s1)
        k = 0
        while u > r and k <= n:
            u -= r
            k += 1
            r *= a * (_INV_K[k] if k < 64 else 1.0 / k) - s
        if k <= n:
            return s0, s1, k


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def _binomial_btrs(s0, s1, n, p):
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = 0.0
    lpq = 0.0
    m = 0.0
    h = 0.0
    setup = False
    while True:
        s0, s1, u = next_uniform(s0, s1)
        s0, s1, v = next_uniform(s0, s1)
        u -= 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= vr:
            return s0, s1, int(k)
        if not setup:
            alpha = (2.83 + 5.1 / b) * spq
            lpq = math.log(p / q)
            m = math.floor((n + 1) * p)
            h = log_factorial(m) + log_factorial(n - m)
            setup = True
        v = math.log(v * alpha / (a / (us * us) + b))
        if v <= h - log_factorial(k) - log_factorial(n - k) + (k - m) * lpq:
            return s0, s1, int(k)


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def next_binomial(s0, s1, n, p):
    """Exact Binomial(n, p) draw; returns the new state and the count."""
    if n <= 0 or p <= 0.0:
        return s0, s1, 0
    if p >= 1.0:
        return s0, s1, n
    flip = p > 0.5
    pp = 1.0 - p if flip else p
    if n * pp < INVERSION_MAX_MEAN:
        s0, s1, k = _binomial_inversion(s0, s1, n, pp)
    else:
        s0, s1, k = _binomial_btrs(s0, s1, n, pp)
    return s0, s1, (n - k) if flip else k


@njit(inline="always", cache=True, fastmath={"afn", "arcp", "contract", "reassoc"})
def cornish_fisher_quantile(n, p, z):
    """Continuous Binomial(n, p) quantile at standard-normal ``z`` (z clamped to +-Z_CLAMP).

    Second-order Cornish-Fisher expansion with Sheppard's correction: the expansion is that of
    the binomial plus a uniform on (-1/2, 1/2) (variance less 1/12, fourth cumulant plus 1/120),
    which is what rounding to the nearest integer undoes; this cuts the CDF error tenfold.
    """
    pq = p * (1.0 - p)
    var = n * pq
    var_c = var - 1.0 / 12.0
    inv_var_c = 1.0 / var_c
    sd = math.sqrt(var_c)
    inv_sd = sd * inv_var_c  # sqrt and division side by side, not one after the other
    skew = var * (1.0 - 2.0 * p) * inv_var_c  # third cumulant / var_c
    kurt = (var * (1.0 - 6.0 * pq) + 1.0 / 120.0) * inv_var_c  # fourth cumulant / var_c
    z = min(max(z, -Z_CLAMP), Z_CLAMP)
    z2 = z * z
    # mu + sd z + k3/var (z^2 - 1)/6 + [k4/var (z^3 - 3z)/24 - (k3/var)^2 (2z^3 - 5z)/36] / sd
    tail = z * (kurt * (1.0 / 24.0) * (z2 - 3.0) - skew * skew * (1.0 / 36.0) * (2.0 * z2 - 5.0))
    return n * p + sd * z + skew * (1.0 / 6.0) * (z2 - 1.0) + inv_sd * tail


@njit(inline="always", cache=True)
def binomial_cornish_fisher(n, p, z):
    """Binomial(n, p) draw from standard-normal ``z``: the quantile above rounded, in [0, n]."""
    k = math.floor(cornish_fisher_quantile(n, p, z) + 0.5)
    return int(min(max(k, 0.0), n))


@njit(inline="always", cache=True)
def next_binomial_fast(s0, s1, n, p, z):
    """Binomial(n, p): Cornish-Fisher from ``z`` when the variance is large (fixed cost, CDF error
    below 1e-3), else exact (small pools and low release, where failures matter)."""
    if n > 0 and n * p * (1.0 - p) >= APPROX_MIN_VARIANCE:
        return s0, s1, binomial_cornish_fisher(n, p, z)
    return next_binomial(s0, s1, n, p)


@njit(cache=True)
def binomial_sample(seed, n, p, size):
    """Draws from the kernel's own binomial sampler (used by its statistical tests)."""
    out = np.empty(size, np.int64)
    s0, s1 = seed_stream(np.uint64(seed), np.uint64(0))
    for i in range(size):
        s0, s1, out[i] = next_binomial(s0, s1, n, p)
    return out


@njit(cache=True)
def binomial_sample_fast(seed, n, p, size):
    """Draws from the kernel's fast binomial (approximate above APPROX_MIN_VARIANCE)."""
    out = np.empty(size, np.int64)
    s0, s1 = seed_stream(np.uint64(seed), np.uint64(0))
    for i in range(size):
        s0, s1, z, _ = next_normal_pair(s0, s1)
        s0, s1, out[i] = next_binomial_fast(s0, s1, n, p, z)
    return out
