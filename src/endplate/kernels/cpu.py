"""Compiled CPU train kernel (Numba, parallel over blocks of junctions).

Same model and step order as ``reference.py``. Each junction has its own random stream
(``rng.py``) and each block of ``BLOCK`` junctions its own row of per-stimulus sums, added up in
block order afterwards, so the result does not depend on the number of threads.

Inside a block, a thread advances ``GROUP`` junctions together, stimulus by stimulus, with their
state in arrays that stay in L1. One junction's train is a chain of dependent draws (the pool
after refill feeds the release, which feeds the next refill), and the core would wait on that
chain's latency; consecutive junctions of a group are independent, so their steps overlap in
the core's out-of-order window and the core runs at its throughput instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from endplate.junction import population as P
from endplate.kernels.rng import next_binomial_fast, next_normal_pair, seed_stream

_FAST = {"afn", "arcp", "contract", "reassoc"}
BLOCK = 2048
GROUP = 256
TABLE_QUANTA = 256  # sqrt(k) and the latency SD are tabulated below this many quanta
assert P.N_SCALARS == 19 and P.N_SCHEDULE == 10, "kernel scalars or schedule rows changed: update _scalars, _interval"


@njit(inline="always", cache=True)
def _scalars(s):
    """The kernel scalars as a tuple, so the inner loop holds them in registers."""
    return (
        s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13], s[14], s[15], s[16], s[17], s[18]
    )  # fmt: skip


@njit(inline="always", cache=True)
def _interval(sch, i):
    """Column ``i`` of the schedule (decay factors and refill integrals) as a tuple."""
    return (sch[0, i], sch[1, i], sch[2, i], sch[3, i], sch[4, i], sch[5, i], sch[6, i], sch[7, i], sch[8, i], sch[9, i])


@njit(inline="always", cache=True, fastmath=_FAST)
def _presynaptic(f1, f2, mob, pot, s, e):
    """The part of a stimulus that does not depend on the quanta released: the refill probability
    over the interval, the release factor of residual Ca and potentiation (occupancy Hill term), and
    facilitation, mobilisation and potentiation after the stimulus.
    Returns (refill_p, release_factor, f1, f2, mob, pot)."""
    lam = e[P.BASE_REFILL] + s[P.REFILL_ACT] * (f1 * e[P.G_FAST] + f2 * e[P.G_SLOW]) + s[P.MOB_RATE] * mob * e[P.G_MOB]
    refill_p = 1.0 - math.exp(-lam)
    f1 *= e[P.E_FAST]
    f2 *= e[P.E_SLOW]
    pot *= e[P.E_POT]
    y = s[P.OCC] * (1.0 + f1 + f2 + s[P.POT_GAIN] * pot)
    if s[P.COOP] == 4.0:
        y2 = y * y
        yn = y2 * y2
    else:
        yn = y ** s[P.COOP]
    release_factor = yn / (yn + s[P.SAT_N])
    mob = mob * e[P.E_MOB]
    mob += (1.0 - mob) * s[P.A_MOB]
    pot += (1.0 - pot) * s[P.A_POT]
    return refill_p, release_factor, f1 + s[P.A_FAST], f2 + s[P.A_SLOW], mob, pot


@njit(inline="always", cache=True, fastmath=_FAST)
def _postsynaptic(k, z_amp, z_time, qj, des, th, s, sqrt_k, latency_sd):
    """EPP (mV) of ``k`` quanta, whether it fires the fibre, and the latency (ms; NaN if not)."""
    # sqrt(k) and the latency SD for small k come from tables, and one division serves both
    # the non-linear summation and the threshold crossing: the core has one divide/sqrt unit.
    small = k < TABLE_QUANTA
    root_k = sqrt_k[k] if small else math.sqrt(k)
    q_eff = qj * (1.0 - des)
    linear = max(q_eff * (k + root_k * s[P.CV_Q] * z_amp), 0.0)
    d = 1.0 + s[P.NLS_K] * linear
    inv = 1.0 / (d * linear) if linear > 0.0 else 0.0
    epp = linear * linear * inv  # linear / d
    lat = np.nan
    fired = linear > th * d  # epp > th
    if fired:
        sd = latency_sd[k] if small else math.sqrt(s[P.REL_SD] ** 2 / k + s[P.BRANCH_SD] ** 2)
        t_cross = -s[P.RISE_TAU] * math.log(1.0 - th * d * d * inv * s[P.PEAK_FRACTION])  # th / epp
        lat = s[P.DELAY] + t_cross + sd * z_time
    return epp, fired, lat


@njit(inline="always", cache=True)
def _uniform(a, lo, hi):
    """True when ``a[lo:hi]`` holds one value."""
    for j in range(lo + 1, hi):
        if a[j] != a[lo]:
            return False
    return True


@njit(inline="always", cache=True, fastmath=_FAST)
def _group(
    lo,
    hi,
    capacity,
    p_max,
    q,
    threshold,
    gain,
    n_arr,
    f1_arr,
    f2_arr,
    tsc_arr,
    des_arr,
    mob_arr,
    pot_arr,
    s,
    sch,
    sqrt_k,
    latency_sd,
    useed,
    record,
    out_k,
    out_epp,
    out_lat,
    sums,
):
    """Junctions ``lo:hi`` through the whole train, stimulus-major; adds their tallies to ``sums``.

    Facilitation, mobilisation and potentiation do not depend on the quanta released, so junctions that start a
    train in the same state keep the same values throughout (every train from rest, and every
    train that continues one): the group then computes the presynaptic terms once per stimulus,
    its ``exp`` and Hill term included, instead of once per junction.
    """
    m = hi - lo
    r0 = np.empty(m, np.uint64)
    r1 = np.empty(m, np.uint64)
    n = np.empty(m, np.int64)
    k = np.empty(m, np.int64)
    tsc, des, z_refill, z_release = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    f1, f2, mob, pot = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    refill_p, release_factor = np.empty(m), np.empty(m)
    for g in range(m):
        r0[g], r1[g] = seed_stream(useed, np.uint64(lo + g))
        n[g] = n_arr[lo + g]
        f1[g], f2[g], tsc[g], des[g] = f1_arr[lo + g], f2_arr[lo + g], tsc_arr[lo + g], des_arr[lo + g]
        mob[g], pot[g] = mob_arr[lo + g], pot_arr[lo + g]
    shared = _uniform(f1_arr, lo, hi) and _uniform(f2_arr, lo, hi) and _uniform(mob_arr, lo, hi) and _uniform(pot_arr, lo, hi)
    for i in range(sch.shape[1]):
        e = _interval(sch, i)
        # One stimulus in passes over the group. A junction's step is one long chain of
        # dependent operations (normals, refill draw, release draw, EPP, log); cut into short
        # loops over independent junctions, the core overlaps many junctions' copies of each
        # piece instead of waiting on one chain.
        if shared:
            rp, rf, f1[0], f2[0], mob[0], pot[0] = _presynaptic(f1[0], f2[0], mob[0], pot[0], s, e)
            refill_p[:] = rp
            release_factor[:] = rf
        else:
            for g in range(m):
                refill_p[g], release_factor[g], f1[g], f2[g], mob[g], pot[g] = _presynaptic(f1[g], f2[g], mob[g], pot[g], s, e)
        for g in range(m):
            r0[g], r1[g], z_refill[g], z_release[g] = next_normal_pair(r0[g], r1[g])
        for g in range(m):
            r0[g], r1[g], add = next_binomial_fast(r0[g], r1[g], capacity[lo + g] - n[g], refill_p[g], z_refill[g])
            n[g] += add
        for g in range(m):
            tsc[g] *= e[P.E_TSC]
            p = min(max(p_max[lo + g] * release_factor[g] * (1.0 - gain[lo + g] * tsc[g]), 0.0), 1.0)
            r0[g], r1[g], k[g] = next_binomial_fast(r0[g], r1[g], n[g], p, z_release[g])
            n[g] -= k[g]
        total_k = total_epp = fired = total_lat = total_lat2 = 0.0
        for g in range(m):
            j = lo + g
            kg = k[g]
            r0[g], r1[g], z_amp, z_time = next_normal_pair(r0[g], r1[g])
            des[g] *= e[P.E_DES]
            epp, fired_here, lat = _postsynaptic(kg, z_amp, z_time, q[j], des[g], threshold[j], s, sqrt_k, latency_sd)
            tsc[g] += (1.0 - tsc[g]) * min(1.0, s[P.TSC_INC] * kg)
            des[g] += (1.0 - des[g]) * min(1.0, s[P.DES_INC] * kg)
            total_k += kg
            total_epp += epp
            if fired_here:
                fired += 1.0
                total_lat += lat
                total_lat2 += lat * lat
            if record:
                out_k[j, i], out_epp[j, i], out_lat[j, i] = kg, epp, lat
        sums[0, i] += total_k
        sums[1, i] += total_epp
        sums[2, i] += fired
        sums[3, i] += total_lat
        sums[4, i] += total_lat2
    for g in range(m):
        j = lo + g
        h = 0 if shared else g
        n_arr[j], f1_arr[j], f2_arr[j], tsc_arr[j], des_arr[j] = n[g], f1[h], f2[h], tsc[g], des[g]
        mob_arr[j], pot_arr[j] = mob[h], pot[h]


@njit(parallel=True, cache=True, fastmath=_FAST)
def _train(
    capacity,
    p_max,
    q,
    threshold,
    gain,
    n_arr,
    f1_arr,
    f2_arr,
    tsc_arr,
    des_arr,
    mob_arr,
    pot_arr,
    scalars,
    sch,
    seed,
    record,
    out_k,
    out_epp,
    out_lat,
    block_sums,
):
    n_j = capacity.shape[0]
    s = _scalars(scalars)
    sqrt_k = np.sqrt(np.arange(TABLE_QUANTA).astype(np.float64))
    latency_sd = np.sqrt(s[P.REL_SD] ** 2 / np.maximum(sqrt_k * sqrt_k, 1.0) + s[P.BRANCH_SD] ** 2)
    useed = np.uint64(seed)
    for b in prange(block_sums.shape[0]):
        for lo in range(b * BLOCK, min(n_j, (b + 1) * BLOCK), GROUP):
            _group(
                lo,
                min(n_j, lo + GROUP),
                capacity,
                p_max,
                q,
                threshold,
                gain,
                n_arr,
                f1_arr,
                f2_arr,
                tsc_arr,
                des_arr,
                mob_arr,
                pot_arr,
                s,
                sch,
                sqrt_k,
                latency_sd,
                useed,
                record,
                out_k,
                out_epp,
                out_lat,
                block_sums[b],
            )


def train_cpu(pop: P.JunctionPopulation, state: P.JunctionState, schedule: np.ndarray, seed: int, record: bool):
    """Same contract as ``reference.train_reference``."""
    n_j, n_s = pop.size, schedule.shape[1]
    shape = (n_j, n_s) if record else (0, 0)
    out_k = np.zeros(shape, np.int32)
    out_epp = np.zeros(shape, np.float32)
    out_lat = np.zeros(shape, np.float32)
    n_blocks = (n_j + BLOCK - 1) // BLOCK
    block_sums = np.zeros((n_blocks, 5, n_s))
    _train(
        pop.capacity,
        pop.release_probability_max,
        pop.quantal_mv,
        pop.threshold_mv,
        pop.effective_tsc_gain(),
        state.vesicles,
        state.facilitation_fast,
        state.facilitation_slow,
        state.tsc_activity,
        state.desensitisation,
        state.mobilisation,
        state.potentiation,
        P.kernel_scalars(pop.params),
        np.ascontiguousarray(schedule),
        np.uint64(seed),
        record,
        out_k,
        out_epp,
        out_lat,
        block_sums,
    )
    sums = block_sums.sum(axis=0)
    if not record:
        return None, None, None, sums
    return out_k, out_epp, out_lat, sums
