"""The GPU kernel's algorithm in NumPy float32, for checking it where there is no device.

A line-by-line transcription of ``gpu.SOURCE``, vectorised over junctions: the same Philox
counters and key, Box-Muller normals, Sheppard-corrected Cornish-Fisher draws above
``APPROX_MIN_VARIANCE`` and exact inversion below, all in float32. NumPy's float32 ``log``,
``sin`` and ``exp`` are not CUDA's (fast-math) ones, so the two agree draw for draw only where
no rounding lands on an integer boundary; the tests compare this twin with the reference in
distribution, and the device check compares the kernel with both.
"""

from __future__ import annotations

import numpy as np

from endplate.junction import population as P
from endplate.kernels import tables as R
from endplate.kernels.gpu import scalar_arguments, seed_key

F = np.float32
_LOW = np.uint64(0xFFFFFFFF)


def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 on uint32 arrays (or scalars); returns the four output words as uint32 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, np.uint32) for c in (c0, c1, c2, c3))
    k0, k1 = np.uint32(k0), np.uint32(k1)
    m0, m1 = np.uint64(R.PHILOX_M0), np.uint64(R.PHILOX_M1)
    for _ in range(10):
        p0 = c0.astype(np.uint64) * m0
        p1 = c2.astype(np.uint64) * m1
        hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), (p0 & _LOW).astype(np.uint32)
        hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), (p1 & _LOW).astype(np.uint32)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = np.uint32((int(k0) + R.PHILOX_W0) & 0xFFFFFFFF)
        k1 = np.uint32((int(k1) + R.PHILOX_W1) & 0xFFFFFFFF)
    return c0, c1, c2, c3


def uniform(x):
    """Top 24 bits of uint32 ``x``, centred in their cell: float32 in (0, 1)."""
    return ((x >> np.uint32(8)).astype(F) + F(0.5)) * F(1.0 / 16777216.0)


def box_muller(a, b):
    radius = np.sqrt(F(-2.0) * np.log(uniform(a)))
    angle = F(2.0 * np.pi) * uniform(b)
    return radius * np.cos(angle), radius * np.sin(angle)


def cornish_fisher(n, p, z):
    """float32 twin of ``rng.cornish_fisher_quantile``."""
    n, p, z = np.asarray(n, F), np.asarray(p, F), np.asarray(z, F)
    pq = p * (F(1) - p)
    var = n * pq
    var_c = var - F(1.0 / 12.0)
    inv_var_c = F(1) / var_c
    sd = np.sqrt(var_c)
    inv_sd = sd * inv_var_c
    skew = var * (F(1) - F(2) * p) * inv_var_c
    kurt = (var * (F(1) - F(6) * pq) + F(1.0 / 120.0)) * inv_var_c
    z = np.clip(z, F(-R.Z_CLAMP), F(R.Z_CLAMP))
    z2 = z * z
    tail = z * (kurt * F(1.0 / 24.0) * (z2 - F(3)) - skew * skew * F(1.0 / 36.0) * (F(2) * z2 - F(5)))
    return n * p + sd * z + skew * F(1.0 / 6.0) * (z2 - F(1)) + inv_sd * tail


def binomial_exact(n, p, stim, slot, j, key):
    """Exact Binomial(n, p) by float32 inversion, uniforms from Philox slot ``slot`` (as the kernel)."""
    n = n.astype(np.int64)
    out = np.where(p >= 1, n, 0)
    todo = np.flatnonzero((n > 0) & (p > 0) & (p < 1))
    flip = p[todo] > F(0.5)
    pp = np.where(flip, F(1) - p[todo], p[todo]).astype(F)
    nn = n[todo]
    s = pp / (F(1) - pp)
    a = (nn + 1).astype(F) * s
    f0 = np.exp(nn.astype(F) * np.log1p(-pp))
    result = np.full(todo.size, -1, np.int64)
    call = 0
    while np.any(result < 0):
        words = philox(stim, slot + (call << 2), j[todo], 0, *key)
        for word in words:
            left = result < 0
            u, f, k = uniform(word), f0.copy(), np.zeros(todo.size, np.int64)
            going = left & (u > f) & (k <= nn)
            while np.any(going):
                u = np.where(going, u - f, u)
                k = k + going
                f = np.where(going, f * (a / np.maximum(k, 1).astype(F) - s), f)
                going = going & (u > f) & (k <= nn)
            result = np.where(left & (k <= nn), k, result)
        call += 1
    out[todo] = np.where(flip, nn - result, result)
    return out


def binomial(n, p, z, stim, slot, j, key):
    """The kernel's draw: Cornish-Fisher above APPROX_MIN_VARIANCE, exact inversion below."""
    nf = n.astype(F)
    fast = (n > 0) & (nf * p * (F(1) - p) >= F(R.APPROX_MIN_VARIANCE))
    k = np.empty(n.shape, np.int64)
    k[fast] = np.clip(np.floor(cornish_fisher(nf[fast], p[fast], z[fast]) + F(0.5)), F(0), nf[fast])
    slow = np.flatnonzero(~fast)
    k[slow] = binomial_exact(n[slow], p[slow], stim, slot, j[slow], key)
    return k


def train_twin(pop: P.JunctionPopulation, state: P.JunctionState, schedule: np.ndarray, seed: int, record: bool):
    """Same contract as ``reference.train_reference``, computed as the GPU kernel computes it."""
    (
        occ,
        sat_n,
        coop,
        a1,
        a2,
        act,
        tsc_inc,
        des_inc,
        cv_q,
        nls,
        rise,
        peak,
        delay,
        rel_var,
        br_var,
        a_mob,
        mob_rate,
        a_pot,
        pot_gain,
    ) = scalar_arguments(pop.params)
    key = seed_key(seed)
    sch = schedule.astype(F)
    n_j, n_s = pop.size, schedule.shape[1]
    j = np.arange(n_j, dtype=np.uint32)
    cap = pop.capacity.astype(np.int64)
    pm, qj, th, gj = (
        a.astype(F) for a in (pop.release_probability_max, pop.quantal_mv, pop.threshold_mv, pop.effective_tsc_gain())
    )
    n = state.vesicles.astype(np.int64)
    f1, f2, tsc, des, mob, pot = (a.astype(F) for a in state.arrays()[1:])
    records = [np.empty((n_j, n_s) if record else (0, 0), t) for t in (np.int32, np.float32, np.float32)]
    sums = np.zeros((5, n_s))
    for i in range(n_s):
        w = philox(i, 0, j, 0, *key)
        z_refill, z_release = box_muller(w[0], w[1])
        z_amp, z_time = box_muller(w[2], w[3])
        lam = sch[P.BASE_REFILL, i] + act * (f1 * sch[P.G_FAST, i] + f2 * sch[P.G_SLOW, i]) + mob_rate * mob * sch[P.G_MOB, i]
        with np.errstate(over="ignore"):
            refill_p = -np.expm1(-lam)
        n = n + binomial(cap - n, refill_p, z_refill, i, 1, j, key)
        mob = mob * sch[P.E_MOB, i]
        pot = pot * sch[P.E_POT, i]
        f1, f2 = f1 * sch[P.E_FAST, i], f2 * sch[P.E_SLOW, i]
        tsc, des = tsc * sch[P.E_TSC, i], des * sch[P.E_DES, i]
        y = occ * (F(1) + f1 + f2 + pot_gain * pot)
        yn = (y * y) * (y * y) if coop == F(4) else y**coop
        p = np.clip(pm * yn / (yn + sat_n) * (F(1) - gj * tsc), F(0), F(1))
        k = binomial(n, p, z_release, i, 2, j, key)
        n = n - k
        k_f = k.astype(F)
        q_eff = qj * (F(1) - des)
        epp = np.maximum(k_f * q_eff + np.sqrt(k_f) * cv_q * q_eff * z_amp, F(0))
        epp = epp / (F(1) + nls * epp)
        fired = epp > th
        with np.errstate(divide="ignore", invalid="ignore"):
            t_cross = -rise * np.log(F(1) - (th / epp) * peak)
            lat = np.where(fired, delay + t_cross + np.sqrt(rel_var / np.maximum(k_f, F(1)) + br_var) * z_time, F(np.nan)).astype(
                F
            )
        f1, f2 = f1 + a1, f2 + a2
        tsc = tsc + (F(1) - tsc) * np.minimum(F(1), tsc_inc * k_f)
        des = des + (F(1) - des) * np.minimum(F(1), des_inc * k_f)
        mob = mob + (F(1) - mob) * a_mob
        pot = pot + (F(1) - pot) * a_pot
        lat_fired = lat[fired].astype(float)
        sums[:, i] = (k.sum(), epp.sum(dtype=float), fired.sum(), lat_fired.sum(), (lat_fired**2).sum())
        if record:
            records[0][:, i], records[1][:, i], records[2][:, i] = k, epp, lat
    state.vesicles[:] = n
    state.facilitation_fast[:], state.facilitation_slow[:] = f1, f2
    state.tsc_activity[:], state.desensitisation[:], state.mobilisation[:] = tsc, des, mob
    state.potentiation[:] = pot
    if not record:
        return None, None, None, sums
    return records[0], records[1], records[2], sums
