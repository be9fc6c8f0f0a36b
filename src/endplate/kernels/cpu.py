"""Compiled CPU train kernel (Numba, parallel over blocks of junctions).

Same model and step order as ``reference.py``; each junction runs its whole train with its
state in registers and its own random stream (``rng.py``), so the result is independent of the
number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from endplate.junction import population as P
from endplate.kernels.rng import next_binomial_fast, next_normal_pair, seed_stream

_FAST = {"afn", "arcp", "contract", "reassoc"}

BLOCK = 2048


@njit(inline="always", cache=True, fastmath=_FAST)
def _step(s0, s1, n, f1, f2, tsc, des, mob, cap, pm, qj, th, gj, s, sch, i):
    """One stimulus at one junction; returns the new RNG and junction state, quanta, EPP, latency."""
    s0, s1, z_refill, z_release = next_normal_pair(s0, s1)
    lam = sch[P.BASE_REFILL, i] + s[P.REFILL_ACT] * (f1 * sch[P.G_FAST, i] + f2 * sch[P.G_SLOW, i])
    lam += s[P.MOB_RATE] * mob * sch[P.G_MOB, i]
    s0, s1, add = next_binomial_fast(s0, s1, cap - n, 1.0 - math.exp(-lam), z_refill)
    n += add
    mob *= sch[P.E_MOB, i]
    f1 *= sch[P.E_FAST, i]
    f2 *= sch[P.E_SLOW, i]
    tsc *= sch[P.E_TSC, i]
    des *= sch[P.E_DES, i]
    y = s[P.OCC] * (1.0 + f1 + f2)
    if s[P.COOP] == 4.0:
        y2 = y * y
        yn = y2 * y2
    else:
        yn = y ** s[P.COOP]
    p = min(max(pm * yn / (yn + s[P.SAT_N]) * (1.0 - gj * tsc), 0.0), 1.0)
    s0, s1, k = next_binomial_fast(s0, s1, n, p, z_release)
    n -= k
    s0, s1, z_amp, z_time = next_normal_pair(s0, s1)
    q_eff = qj * (1.0 - des)
    linear = max(k * q_eff + math.sqrt(k) * s[P.CV_Q] * q_eff * z_amp, 0.0)
    epp = linear / (1.0 + s[P.NLS_K] * linear)
    lat = np.nan
    if epp > th:
        t_cross = -s[P.RISE_TAU] * math.log(1.0 - (th / epp) * s[P.PEAK_FRACTION])
        lat = s[P.DELAY] + t_cross + math.sqrt(s[P.REL_SD] ** 2 / max(k, 1) + s[P.BRANCH_SD] ** 2) * z_time
    f1 += s[P.A_FAST]
    f2 += s[P.A_SLOW]
    tsc += (1.0 - tsc) * min(1.0, s[P.TSC_INC] * k)
    des += (1.0 - des) * min(1.0, s[P.DES_INC] * k)
    mob += (1.0 - mob) * s[P.A_MOB]
    return s0, s1, n, f1, f2, tsc, des, mob, k, epp, lat


@njit(inline="always", cache=True)
def _tally(sums, b, i, k, epp, lat):
    sums[b, 0, i] += k
    sums[b, 1, i] += epp
    if not math.isnan(lat):
        sums[b, 2, i] += 1.0
        sums[b, 3, i] += lat
        sums[b, 4, i] += lat * lat


@njit(parallel=True, cache=True, fastmath=_FAST)
def _train(capacity, p_max, q, threshold, gain, n_arr, f1_arr, f2_arr, tsc_arr, des_arr, mob_arr,
           s, sch, seed, record, out_k, out_epp, out_lat, block_sums):
    n_j = capacity.shape[0]
    n_s = sch.shape[1]
    n_blocks = block_sums.shape[0]
    useed = np.uint64(seed)
    for b in prange(n_blocks):
        for j in range(b * BLOCK, min(n_j, (b + 1) * BLOCK)):
            s0, s1 = seed_stream(useed, np.uint64(j))
            n = n_arr[j]
            f1, f2 = np.float64(f1_arr[j]), np.float64(f2_arr[j])
            tsc, des, mob = np.float64(tsc_arr[j]), np.float64(des_arr[j]), np.float64(mob_arr[j])
            cap, pm, qj, th, gj = capacity[j], p_max[j], q[j], threshold[j], gain[j]
            for i in range(n_s):
                s0, s1, n, f1, f2, tsc, des, mob, k, epp, lat = _step(s0, s1, n, f1, f2, tsc, des, mob, cap, pm, qj, th, gj,
                                                                      s, sch, i)
                _tally(block_sums, b, i, k, epp, lat)
                if record:
                    out_k[j, i], out_epp[j, i], out_lat[j, i] = k, epp, lat
            n_arr[j], f1_arr[j], f2_arr[j], tsc_arr[j], des_arr[j], mob_arr[j] = n, f1, f2, tsc, des, mob


def train_cpu(pop: P.JunctionPopulation, state: P.JunctionState, schedule: np.ndarray,
              seed: int, record: bool):
    """Same contract as ``reference.train_reference``."""
    n_j, n_s = pop.size, schedule.shape[1]
    shape = (n_j, n_s) if record else (0, 0)
    out_k = np.zeros(shape, np.int32)
    out_epp = np.zeros(shape, np.float32)
    out_lat = np.zeros(shape, np.float32)
    n_blocks = (n_j + BLOCK - 1) // BLOCK
    block_sums = np.zeros((n_blocks, 5, n_s))
    _train(pop.capacity, pop.release_probability_max, pop.quantal_mv, pop.threshold_mv,
           pop.effective_tsc_gain(), state.vesicles, state.facilitation_fast, state.facilitation_slow,
           state.tsc_activity, state.desensitisation, state.mobilisation, P.kernel_scalars(pop.params),
           np.ascontiguousarray(schedule), np.uint64(seed), record, out_k, out_epp, out_lat, block_sums)
    sums = block_sums.sum(axis=0)
    if not record:
        return None, None, None, sums
    return out_k, out_epp, out_lat, sums
