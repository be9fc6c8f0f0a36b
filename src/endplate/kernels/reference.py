"""Plain NumPy train kernel: the obviously-right reference the fast kernels are tested against.

Vectorised over junctions, one Python iteration per stimulus, exact binomial draws from
``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

from endplate.junction import population as P


def train_reference(pop: P.JunctionPopulation, state: P.JunctionState, schedule: np.ndarray, seed: int, record: bool):
    """Advance ``state`` (in place) through the stimuli of ``schedule``.

    Returns ``(quanta, epp_mv, latency_ms, sums)``: per-junction records of shape
    ``(n_junctions, n_stimuli)`` (``None`` unless ``record``), and ``sums`` of shape
    ``(5, n_stimuli)``: total quanta, total EPP (mV), junctions fired, sum and sum of squares of
    latency (ms). Latency is NaN where the fibre did not fire.
    """
    s = P.kernel_scalars(pop.params)
    rng = np.random.default_rng(seed)
    n_j, n_s = pop.size, schedule.shape[1]
    capacity = pop.capacity.astype(np.int64)
    p_max = pop.release_probability_max.astype(float)
    q = pop.quantal_mv.astype(float)
    threshold = pop.threshold_mv.astype(float)
    gain = pop.effective_tsc_gain().astype(float)
    n = state.vesicles.astype(np.int64)
    f1 = state.facilitation_fast.astype(float)
    f2 = state.facilitation_slow.astype(float)
    tsc = state.tsc_activity.astype(float)
    des = state.desensitisation.astype(float)
    mob = state.mobilisation.astype(float)
    pot = state.potentiation.astype(float)
    records = [np.empty((n_j, n_s), t) for t in (np.int32, np.float32, np.float32)] if record else None
    sums = np.zeros((5, n_s))
    for i in range(n_s):
        e1, e2, et, ed, g1, g2, base, em, gm, ep = schedule[:, i]
        refill_prob = -np.expm1(-(base + s[P.REFILL_ACT] * (f1 * g1 + f2 * g2) + s[P.MOB_RATE] * mob * gm))
        n += rng.binomial(capacity - n, refill_prob)
        mob *= em
        pot *= ep
        f1 *= e1
        f2 *= e2
        tsc *= et
        des *= ed
        occ_n = (s[P.OCC] * (1 + f1 + f2 + s[P.POT_GAIN] * pot)) ** s[P.COOP]
        p = np.clip(p_max * occ_n / (occ_n + s[P.SAT_N]) * (1 - gain * tsc), 0, 1)
        k = rng.binomial(n, p)
        n -= k
        z_amp = rng.standard_normal(n_j)
        z_time = rng.standard_normal(n_j)
        q_eff = q * (1 - des)
        linear = np.maximum(k * q_eff + np.sqrt(k) * s[P.CV_Q] * q_eff * z_amp, 0)
        epp = linear / (1 + s[P.NLS_K] * linear)
        fired = epp > threshold
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(fired, threshold / epp, 0.5)
            t_cross = -s[P.RISE_TAU] * np.log1p(-frac * s[P.PEAK_FRACTION])
            sd = np.sqrt(s[P.REL_SD] ** 2 / np.maximum(k, 1) + s[P.BRANCH_SD] ** 2)
        latency = np.where(fired, s[P.DELAY] + t_cross + sd * z_time, np.nan)
        f1 += s[P.A_FAST]
        f2 += s[P.A_SLOW]
        tsc += (1 - tsc) * np.minimum(1, s[P.TSC_INC] * k)
        des += (1 - des) * np.minimum(1, s[P.DES_INC] * k)
        mob += (1 - mob) * s[P.A_MOB]
        pot += (1 - pot) * s[P.A_POT]
        lat_fired = latency[fired]
        sums[:, i] = (k.sum(), epp.sum(), fired.sum(), lat_fired.sum(), (lat_fired**2).sum())
        if record:
            records[0][:, i], records[1][:, i], records[2][:, i] = k, epp, latency
    state.vesicles[:] = n
    state.facilitation_fast[:] = f1
    state.facilitation_slow[:] = f2
    state.tsc_activity[:] = tsc
    state.desensitisation[:] = des
    state.mobilisation[:] = mob
    state.potentiation[:] = pot
    quanta, epp_mv, latency_ms = records if record else (None, None, None)
    return quanta, epp_mv, latency_ms, sums
