"""The daily step of the disease, compiled (Numba): every fibre, unit and tSC of one muscle.

Terminal degeneration uses per-fibre trigger levels: a fibre starts to disassemble when the
cumulative disease drive, scaled by its unit's vulnerability, passes an Exp(1) level drawn when
its current unit took it over. Healthy fibres therefore cost one comparison a day.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from endplate.disease.model import K
from endplate.kernels.rng import next_uniform, seed_stream

# Indices into the parameter vector (module constants, so Numba folds them).
K_VULN_S, K_VULN_FR, K_VULN_FF = K["vuln_s"], K["vuln_fr"], K["vuln_ff"]
K_IMPAIRED, K_WITHDRAWING = K["impaired_days"], K["withdrawing_days"]
K_AXON_THRESHOLD, K_AXON_RATE, K_SECONDARY = K["axon_threshold"], K["axon_rate"], K["secondary_rate"]
K_WALLERIAN, K_REINNERVATION = K["wallerian_rate"], K["reinnervation_rate"]
K_COMP_S, K_COMP_FR, K_COMP_FF = K["competence_s"], K["competence_fr"], K["competence_ff"]
K_MAX_ENLARGE, K_BRIDGING, K_MATURATION = K["max_enlargement"], K["bridging_without_tsc"], K["maturation_days"]
K_REINNERVABLE, K_TSC_LOSS = K["reinnervable_days"], K["tsc_loss"]
K_ATROPHY_TAU, K_ATROPHY_FLOOR, K_RECOVERY = K["atrophy_tau"], K["atrophy_floor"], K["recovery_days"]
K_SOMA_BLOCKED, K_TSC_ABSENT = K["soma_death_blocked"], K["tsc_absent_at_denervation"]
K_SECONDARY_STAGES, K_AXON_BLOCKED = K["secondary_stages"], K["axon_degeneration_blocked"]
K_PRUNING_WIDTH = K["pruning_width"]
# Force carried by a fibre whose NMJ is impaired or withdrawing: such junctions fail part of the
# time (assumed shares; the junction layer gives the detail at readout days).
FORCE_SHARE_IMPAIRED, FORCE_SHARE_WITHDRAWING = 0.6, 0.3

HEALTHY, IMPAIRED, WITHDRAWING, DENERVATED = 0, 1, 2, 3
TSC_PRESENT, TSC_REACTIVE, TSC_LOST = 0, 1, 2
N_COUNTS = 13  # fibres per stage (4), axons by type (3), somata by type (3), force, its two sums
# Named columns of the tallies (``counts``; stages are HEALTHY .. DENERVATED).
AXONS, SOMATA = slice(4, 7), slice(7, 10)  # intact axons and living somata by type (S, FR, FF)
FORCE, FORCE_STATIC, FORCE_REGROW = 10, 11, 12  # force, and the two sums it is made of (see step_day)
AXON_LOST, SOMA_DIED = 0, 1  # columns of ``unit_days``: the day each event happened (inf: not yet)
# The day's helpers that ``step_day`` calls once a day are inlined into it (``inline="always"``,
# Numba IR): every call that passes the state tuple adds and drops a reference to each of its
# arrays, which was about a quarter of a trial subject's CPU time (NRT reference counting). A
# small muscle (one chunk) has the fibre screen and its visits (``_screen``, ``_visit_many``)
# inlined too, with scratch allocated once per ``step_days`` call: that, and the competences as
# scalars rather than an array made a day, took 9-26 % off a reduced trial muscle's day (two runs
# of benchmarks/disease_day_cost.py against 27a4a3f). Only ``_chunk``, the parallel region's body,
# stays a call.
# Checked to change no number after a fresh compile (benchmarks/kernel_bytes.py, same_bytes.py).


@njit(cache=True, inline="always")
def _exp_draw(s0, s1, mean):
    s0, s1, u = next_uniform(s0, s1)
    return s0, s1, -mean * math.log(1.0 - u)


@njit(cache=True, inline="always")
def _share(st):
    if st == HEALTHY:
        return 1.0
    if st == IMPAIRED:
        return FORCE_SHARE_IMPAIRED
    if st == WITHDRAWING:
        return FORCE_SHARE_WITHDRAWING
    return 0.0


_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_SH30, _SH27, _SH31, _SH32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)


@njit(cache=True)
def _mix(seed, day, c):
    """A 32-bit seed for one (run, day, chunk) by SplitMix64 hashing: streams do not depend on threads."""
    z = np.uint64(seed) * _M1 + np.uint64(day + 1) * _M3 + np.uint64(c) * _M2
    z = (z ^ (z >> _SH30)) * _M2
    z = (z ^ (z >> _SH27)) * _M3
    z = z ^ (z >> _SH31)
    return np.int64(z >> _SH32)


class KernelState(NamedTuple):
    """Every array of one muscle that the daily step reads or changes, and the run's constants.

    Shapes: F fibres, U units, C chunks, k neighbours. The arrays are those of the muscle's
    state and anatomy (not copies): the step changes them in place.
    """

    owner: np.ndarray  # F, unit that owns each fibre (-1: none)
    stage: np.ndarray  # F int8, HEALTHY .. DENERVATED
    timer: np.ndarray  # F float32, day a denervated fibre's tSC is lost
    denerv: np.ndarray  # F float32, day of denervation (of adoption, once reinnervated)
    atrophy: np.ndarray  # F float32, atrophy on that day (kept lazily, see step_day)
    tsc: np.ndarray  # F int8, TSC_PRESENT .. TSC_LOST
    ftype: np.ndarray  # F, fibre type (its unit's; changes on adoption)
    level: np.ndarray  # F float32, what the fibre waits for (see step_day)
    neighbours: np.ndarray  # F x k int32, fibres a sprout can come from
    force_weight: np.ndarray  # F float32, force of the fibre when healthy
    recovering: np.ndarray  # F bool, reinnervated (regrows and matures from its adoption day)
    unit_type: np.ndarray  # U, 0 S, 1 FR, 2 FF
    soma_alive: np.ndarray  # U bool
    axon_intact: np.ndarray  # U bool
    unit_level: np.ndarray  # U, cortical trigger level (drive units)
    size0: np.ndarray  # U int64, fibres at the start
    size: np.ndarray  # U int64, fibres owned
    functional: np.ndarray  # U int64, fibres with a functional NMJ (healthy or impaired)
    unit_vuln: np.ndarray  # U, terminal vulnerability
    prune_level: np.ndarray  # U float64, drive at which the unit's pruning begins (inf: per-NMJ triggers)
    soma_stage: np.ndarray  # U int8, stages of secondary death passed
    unit_days: np.ndarray  # U x 2, day of axon loss and soma death (inf: not yet)
    counts: np.ndarray  # N_COUNTS running tallies (see step_day)
    d_size: np.ndarray  # C x U int64, per-chunk change of ``size`` (scratch)
    d_func: np.ndarray  # C x U int64, per-chunk change of ``functional`` (scratch)
    d_counts: np.ndarray  # C x 4, per-chunk change of the stage counts (scratch)
    d_force: np.ndarray  # C x 2, per-chunk force sums (scratch)
    healthy: np.ndarray  # U int64, fibres owned with a healthy NMJ
    expected: np.ndarray  # U float64, healthy NMJs expected of the unit (reduced muscles; see _expect)
    expected_impaired: np.ndarray  # U float64, impaired NMJs expected of the unit (likewise)
    d_healthy: np.ndarray  # C x U int64, per-chunk change of ``healthy`` (scratch)
    d_adopt: np.ndarray  # C x U float64, per-chunk adoptions (scratch)
    adopted: np.ndarray  # 3 float64, adoptions by units of each type since ``_expect`` last ran
    g_last: np.ndarray  # 1 float64, the terminal drive ``expected`` is decayed to
    ref_day: float  # day the regrowth sums are referred to
    quiet_below: float  # lowest trigger level at the start: below it healthy days are skipped
    rng_seed: int  # seed of the kernel's streams
    n_chunks: int  # contiguous fibre chunks (1: no parallel region)
    represent: float  # fibres of the real muscle each model fibre stands for (1: a full muscle)


class _Today(NamedTuple):
    """What every chunk needs about the day, derived once a day in ``step_day`` (scalars, so the
    compiler keeps them in registers: array loads could alias the state written in the loop)."""

    p: np.ndarray  # the kernel parameter vector (see model.KERNEL_FIELDS)
    day: float
    g_term: float  # cumulative terminal drive
    slack: int  # enlargement margin a chunk keeps (see step_day)
    wallerian_pending: bool  # a unit without axon still owns fibres: visit their terminals
    comp_s: float  # sprouting competence by type (S, FR, FF; scalars: no array made a day)
    comp_fr: float
    comp_ff: float
    top: float  # the largest competence
    contact_rate: float  # sprout contacts per day at the largest competence
    k_nb: float  # neighbours per fibre
    tau_r: float  # recovery time constant (days)
    wallerian: float
    impaired_days: float
    withdrawing_days: float
    tsc_loss: float
    reinnervable: float
    max_enlarge: float
    bridging: float
    floor: float
    atrophy_tau: float
    tsc_absent: float
    pruning_width: float  # relative spread of one unit's pruning (with unit pruning)


@njit(cache=True, inline="always")
def _today(p, day, g_term, s):
    """The day's ``_Today`` (after the unit step: whether an axon is lost is known)."""
    n_u = s.unit_type.shape[0]
    top = max(max(p[K_COMP_S], p[K_COMP_FR]), p[K_COMP_FF])
    # While a unit without axon still owns fibres, its terminals are visited so that they start
    # Wallerian withdrawal (robust to axons removed from outside the kernel, too).
    wallerian_pending = False
    functional, axon_intact = s.functional, s.axon_intact
    for u in range(n_u):
        if functional[u] > 0 and not axon_intact[u]:
            wallerian_pending = True
            break
    return _Today(
        p,
        day,
        g_term,
        s.n_chunks // 2 if s.n_chunks > 1 else 0,
        wallerian_pending,
        p[K_COMP_S],
        p[K_COMP_FR],
        p[K_COMP_FF],
        top,
        p[K_REINNERVATION] * top,
        float(s.neighbours.shape[1]),
        p[K_RECOVERY],
        p[K_WALLERIAN],
        p[K_IMPAIRED],
        p[K_WITHDRAWING],
        p[K_TSC_LOSS],
        p[K_REINNERVABLE],
        p[K_MAX_ENLARGE],
        p[K_BRIDGING],
        p[K_ATROPHY_FLOOR],
        p[K_ATROPHY_TAU],
        p[K_TSC_ABSENT],
        p[K_PRUNING_WIDTH],
    )


@njit(cache=True, inline="always")
def _visit_many(c, t, s, idx, lo, hi):
    """Fibres ``idx[lo:hi]`` (increasing) of chunk ``c`` on day ``t.day``: whatever is due for
    each happens (nothing for a fibre with nothing due). Unit-level changes go to this chunk's rows
    of the delta arrays, its force sums to ``d_force[c]``.

    A fibre's visit changes only its own arrays (and the deltas) and reads its neighbours, so the
    fibres screened in one pass and visited in another are visited as if one by one.

    The arrays are taken from ``s`` once, here: an array taken from the state inside the loop
    costs a reference count each time, which was most of the cost of a visit.
    """
    day, g_term = t.day, t.g_term
    s0, s1 = seed_stream(np.uint64(s.rng_seed), np.uint64(_mix(s.rng_seed, int(day), c + 1)))
    wallerian, impaired_days, withdrawing_days = t.wallerian, t.impaired_days, t.withdrawing_days
    tsc_loss, reinnervable, max_enlarge, bridging = t.tsc_loss, t.reinnervable, t.max_enlarge, t.bridging
    floor, atrophy_tau, tsc_absent, tau_r = t.floor, t.atrophy_tau, t.tsc_absent, t.tau_r
    contact_rate, k_nb, top, slack = t.contact_rate, t.k_nb, t.top, t.slack
    comp_s, comp_fr, comp_ff = t.comp_s, t.comp_fr, t.comp_ff
    owner, stage, level, atrophy, denerv = s.owner, s.stage, s.level, s.atrophy, s.denerv
    timer, tsc, ftype, recovering, force_weight = s.timer, s.tsc, s.ftype, s.recovering, s.force_weight
    neighbours, axon_intact, size, size0 = s.neighbours, s.axon_intact, s.size, s.size0
    unit_type, unit_vuln, prune_level, ref_day = s.unit_type, s.unit_vuln, s.prune_level, s.ref_day
    pruning_width = t.pruning_width
    d_size, d_func, d_counts, d_healthy, d_adopt = s.d_size, s.d_func, s.d_counts, s.d_healthy, s.d_adopt
    static = 0.0
    regrow = 0.0
    for j in range(lo, hi):
        f = idx[j]
        o = owner[f]
        if o >= 0:
            st = stage[f]
            new = st
            if not axon_intact[o] and st != WITHDRAWING:
                # Wallerian degeneration: the terminal withdraws over a few days.
                new = WITHDRAWING
                s0, s1, e = _exp_draw(s0, s1, 1.0 / wallerian if wallerian > 0.0 else 1e30)
                level[f] = day + e
                if st == HEALTHY or st == IMPAIRED:
                    d_func[c, o] -= 1
                if st == HEALTHY:
                    d_healthy[c, o] -= 1
            elif st == HEALTHY:
                if level[f] <= g_term:
                    new = IMPAIRED
                    d_healthy[c, o] -= 1
                    s0, s1, e = _exp_draw(s0, s1, impaired_days)
                    level[f] = day + e
            elif st == IMPAIRED:
                if day >= level[f]:
                    new = WITHDRAWING
                    s0, s1, e = _exp_draw(s0, s1, withdrawing_days)
                    level[f] = day + e
                    d_func[c, o] -= 1
            elif day >= level[f]:
                new = DENERVATED
            if new != st:
                change = _share(new) - _share(st)
                static += force_weight[f] * change
                if recovering[f]:
                    regrow += force_weight[f] * change * (1.0 - atrophy[f]) * math.exp((denerv[f] - ref_day) / tau_r)
                d_counts[c, st] -= 1.0
                d_counts[c, new] += 1.0
                stage[f] = new
                if new == DENERVATED:
                    if recovering[f]:
                        atrophy[f] = 1.0 - (1.0 - atrophy[f]) * math.exp(-(day - denerv[f]) / tau_r)
                        recovering[f] = False
                    if st <= IMPAIRED:
                        d_func[c, o] -= 1
                    d_size[c, o] -= 1
                    owner[f] = -1
                    denerv[f] = day
                    tsc[f] = TSC_REACTIVE
                    s0, s1, e = _exp_draw(s0, s1, 1.0 / tsc_loss if tsc_loss > 0.0 else 1e30)
                    timer[f] = day + e
                    if tsc_absent > 0.0:
                        # tSC-first disease: often no tSC is left at the endplate to guide a sprout.
                        s0, s1, u = next_uniform(s0, s1)
                        if u < tsc_absent:
                            tsc[f] = TSC_LOST
                            timer[f] = day
                    s0, s1, e = _exp_draw(s0, s1, 1.0 / contact_rate if contact_rate > 0.0 else 1e30)
                    level[f] = day + e
        elif level[f] > day:
            pass  # not due (screened as a terminal of a unit without axon, which it no longer is)
        elif day - denerv[f] > reinnervable:
            level[f] = np.inf  # no longer reinnervable: no more sprout contacts
        else:
            s0, s1, e = _exp_draw(s0, s1, 1.0 / contact_rate)
            level[f] = day + e
            # One uniform picks the neighbour (integer part) and decides acceptance (fraction).
            s0, s1, x = next_uniform(s0, s1)
            x *= k_nb
            pick = int(x)
            g = neighbours[f, pick]
            v = owner[g]
            # A unit sprouts until its own pruning begins (never reached without unit pruning).
            if (
                v >= 0
                and axon_intact[v]
                and stage[g] == HEALTHY
                and prune_level[v] > g_term
                and size[v] + d_size[c, v] + slack + 1 <= max_enlarge * size0[v]
            ):
                bridge = 1.0 if day < timer[f] else bridging
                ut = unit_type[v]
                competence = comp_s if ut == 0 else (comp_fr if ut == 1 else comp_ff)
                if (x - pick) * top < competence * bridge:
                    a0 = floor + (atrophy[f] - floor) * math.exp(-(day - denerv[f]) / atrophy_tau)
                    atrophy[f] = a0
                    denerv[f] = day
                    recovering[f] = True
                    static += force_weight[f]
                    regrow += force_weight[f] * (1.0 - a0) * math.exp((day - ref_day) / tau_r)
                    owner[f] = v
                    stage[f] = HEALTHY
                    d_counts[c, DENERVATED] -= 1.0
                    d_counts[c, HEALTHY] += 1.0
                    d_size[c, v] += 1
                    d_func[c, v] += 1
                    d_healthy[c, v] += 1
                    d_adopt[c, v] += 1.0
                    ftype[f] = unit_type[v]
                    tsc[f] = TSC_PRESENT
                    s0, s1, e = _exp_draw(s0, s1, 1.0)
                    if prune_level[v] < np.inf:
                        # Unit pruning: the adopted NMJ shares its new unit's fate (simulate.terminal_levels).
                        level[f] = prune_level[v] * (1.0 + pruning_width * e)
                    else:
                        level[f] = g_term + e / max(unit_vuln[v], 1e-12)
    s.d_force[c, 0] = static
    s.d_force[c, 1] = regrow


def _scratch(n):
    """The screen's scratch for ``n`` fibres: flags (zero, padded to whole 64-bit words) and the due list."""
    n_words = (n + 7) // 8
    return np.zeros(8 * n_words, np.uint8), np.empty(8 * n_words, np.int64)


_scratch_jit = njit(cache=True, inline="always")(_scratch)


@njit(cache=True)
def _chunk(c, lo, hi, t, s):
    """``_screen`` of one chunk of a parallel day, with its own scratch."""
    flags, due = _scratch_jit(hi - lo)
    _screen(c, lo, hi, t, s, flags, due)


@njit(cache=True, inline="always")
def _screen(c, lo, hi, t, s, flags, due):
    """Fibres ``lo``..``hi`` for day ``t``, screened without branches; visited if anything is due today.

    ``level`` holds what is due next: a healthy NMJ's trigger (drive units), else a day (the next
    stage change, the next sprout contact). ``flags`` (1: due today; zero beyond ``hi - lo``,
    padded to whole 64-bit words) and ``due`` are scratch of at least ``hi - lo`` rounded up to 8.
    """
    day, g_term = t.day, t.g_term
    owner, stage, level, axon_intact = s.owner, s.stage, s.level, s.axon_intact
    n = hi - lo
    n_words = (n + 7) // 8
    if t.wallerian_pending:
        # Also the terminals of units that lost their axon and have not started to withdraw
        # (the first branch of a visit); every other fibre would be visited for nothing.
        for f in range(lo, hi):
            st = stage[f]
            o = owner[f]
            bar = g_term if st == HEALTHY else day
            cut = o >= 0 and st != WITHDRAWING and not axon_intact[max(o, 0)]
            flags[f - lo] = (level[f] <= bar) | cut
    else:
        for f in range(lo, hi):
            bar = g_term if stage[f] == HEALTHY else day
            flags[f - lo] = level[f] <= bar
    # Few fibres are due on a day: read the flags eight at a time and list the fibres in order.
    words = flags[: 8 * n_words].view(np.uint64)  # the padding of ``due`` may be written (never counted)
    n_due = 0
    for w in range(n_words):
        if words[w] != 0:
            for i in range(8 * w, 8 * w + 8):
                due[n_due] = lo + i
                n_due += np.int64(flags[i])
    _visit_many(c, t, s, due, 0, n_due)


@njit(cache=True, parallel=True)
def _phase(first, t, s):
    """Every second chunk, in parallel: neighbours of a chunk lie in it or the chunks beside it."""
    n_chunks, n_f = s.n_chunks, s.owner.shape[0]
    for i in prange((n_chunks - first + 1) // 2):
        c = first + 2 * i
        _chunk(c, c * n_f // n_chunks, (c + 1) * n_f // n_chunks, t, s)


@njit(cache=True, inline="always")
def _merge(s, force_sums):
    size, functional, counts = s.size, s.functional, s.counts
    d_size, d_func, d_counts, d_force = s.d_size, s.d_func, s.d_counts, s.d_force
    for c in range(d_size.shape[0]):
        for u in range(size.shape[0]):
            size[u] += d_size[c, u]
            functional[u] += d_func[c, u]
            s.healthy[u] += s.d_healthy[c, u]
            s.adopted[s.unit_type[u]] += s.d_adopt[c, u]
            d_size[c, u] = 0
            d_func[c, u] = 0
            s.d_healthy[c, u] = 0
            s.d_adopt[c, u] = 0.0
        for st in range(4):
            counts[st] += d_counts[c, st]
            d_counts[c, st] = 0.0
        force_sums[0] += d_force[c, 0]
        force_sums[1] += d_force[c, 1]
        d_force[c, 0] = 0.0
        d_force[c, 1] = 0.0


@njit(cache=True, inline="always")
def _lose_axon(u, t, day, s):
    s.axon_intact[u] = False
    s.counts[4 + t] -= 1.0
    s.unit_days[u, AXON_LOST] = day


@njit(cache=True, inline="always")
def _kill_soma(u, t, day, s):
    s.soma_alive[u] = False
    s.counts[7 + t] -= 1.0
    s.unit_days[u, SOMA_DIED] = day


@njit(cache=True, inline="always")
def _lost_fraction(s, u):
    """Share of unit ``u``'s fibres at the start without a functional NMJ, as the trigger of its axon loss sees it.

    A full muscle counts its fibres. A reduced muscle (``represent`` R > 1, fibres of the real
    unit per model fibre) keeps n of the R n fibres of the real unit: counting a dozen fibres, the
    lost share moves in steps of 1/12 with a binomial scatter (SD up to 0.14 at half lost) that a
    unit of hundreds of fibres does not have, and since the hazard is zero below the threshold and
    grows above it, that scatter made units lose their axons early (true units 0.88-0.93 of the
    full muscle's while it kept 40-95 % of them). Here the unit stands for the real one: its n
    simulated fibres plus (R - 1) n like them whose healthy and impaired NMJs are their expected
    numbers (``expected``, ``expected_impaired``, kept by ``_expect``). The real unit's
    functional fibres over R are then functional / R + (1 - 1/R) (expected + expected impaired):
    the same share on average, with the scatter of the trigger levels and of the sprouts a unit
    meets reduced as in a unit R times larger.
    """
    if s.represent == 1.0:
        return 1.0 - s.functional[u] / max(s.size0[u], 1)
    seen = s.functional[u] / s.represent + (1.0 - 1.0 / s.represent) * (s.expected[u] + s.expected_impaired[u])
    return 1.0 - seen / max(s.size0[u], 1)


@njit(cache=True, inline="always")
def _kept(s, u, g0, g1, width):
    """Chance that a healthy NMJ of unit ``u`` at drive ``g0`` is not triggered by ``g1``.

    Per NMJ: exp(-v (g1 - g0)). With unit pruning (finite ``prune_level`` L): the levels are
    L (1 + width E), so only the drive above L counts, at hazard 1 / (width L).
    """
    lev = s.prune_level[u]
    if lev < np.inf:
        return math.exp(-(max(g1, lev) - max(g0, lev)) / max(width * lev, 1e-300))
    return math.exp(-s.unit_vuln[u] * (g1 - g0))


@njit(cache=True, inline="always")
def _expect(s, g_term, max_enlarge, impaired_days, width):
    """Bring every unit's expected healthy count up to the terminal drive ``g_term`` (reduced muscles only).

    Adoptions first: the day's adoptions by units of each type, per healthy fibre of the intact
    units of that type, are the rate at which a unit's expected healthy fibres adopt (a mean field,
    up to the enlargement limit); a real unit's hundreds of fibres meet denervated neighbours at
    close to that rate, where a dozen meet them by the chance of a few neighbours. Then triggers:
    a healthy NMJ of a unit with vulnerability v survives a rise dG of the drive with probability
    exp(-v dG) (its trigger level is Exp(1) / v above the drive it entered at; ``_kept``, which
    also covers unit pruning); the expected
    impaired NMJs take the triggered ones and lose those that withdraw (mean ``impaired_days``).
    """
    g = max(g_term, 0.0)
    dg = max(g - s.g_last[0], 0.0)
    s.g_last[0] = max(g, s.g_last[0])
    if s.represent == 1.0:
        s.adopted[:] = 0.0
        return
    adopted = s.adopted[0] + s.adopted[1] + s.adopted[2] > 0.0
    if dg == 0.0 and not adopted and g == 0.0:
        return  # before the terminal process: nothing triggered or adopted yet
    n_u = s.expected.shape[0]
    rate = np.zeros(3)
    if adopted:
        healthy = np.zeros(3)
        for u in range(n_u):
            if s.axon_intact[u]:
                healthy[s.unit_type[u]] += s.healthy[u]
        for t in range(3):
            rate[t] = s.adopted[t] / healthy[t] if healthy[t] > 0.0 else 0.0
    stay = math.exp(-1.0 / impaired_days) if impaired_days > 0.0 else 0.0
    for u in range(n_u):
        if not s.axon_intact[u]:
            continue  # no longer read (an axon once lost stays lost)
        before = s.expected[u]
        if adopted:
            before = min(before * (1.0 + rate[s.unit_type[u]]), max_enlarge * s.size0[u])
        after = before * _kept(s, u, g - dg, g, width) if dg > 0.0 else before
        s.expected[u] = after
        s.expected_impaired[u] = s.expected_impaired[u] * stay + before - after
    s.adopted[:] = 0.0


@njit(cache=True, inline="always")
def _units(p, day, g_cort, s, r0, r1):
    """The day's events of the motor neurons: cortical death, retrograde axon loss, secondary soma death.

    A closed soma-death pathway (Bax knockout) keeps somata alive; a closed axon-degeneration
    pathway (Bax/Bak) keeps axons, whatever happens to their terminals or their soma.

    Secondary death of an axotomised soma passes ``secondary_stages`` stages, each left at rate
    stages x ``secondary_rate``: its lag after axon loss has mean 1 / rate and is rarely short
    (Erlang), as the weeks between ventral-root axon loss and motor neuron loss in SOD1 mice are;
    a rate changed by an intervention acts at once on every soma in the pipeline.
    """
    blocked, axon_blocked = p[K_SOMA_BLOCKED] > 0.5, p[K_AXON_BLOCKED] > 0.5
    stages = max(int(p[K_SECONDARY_STAGES] + 0.5), 1)
    leave = 1.0 - math.exp(-stages * p[K_SECONDARY])
    # Arrays as locals: one taken from ``s`` inside the loop costs a reference count each time.
    soma_alive, axon_intact, unit_days = s.soma_alive, s.axon_intact, s.unit_days
    unit_type, unit_level, functional, size0, soma_stage = s.unit_type, s.unit_level, s.functional, s.size0, s.soma_stage
    axon_rate, axon_threshold, secondary = p[K_AXON_RATE], p[K_AXON_THRESHOLD], p[K_SECONDARY]
    full = s.represent == 1.0
    for u in range(unit_type.shape[0]):
        t = unit_type[u]
        if soma_alive[u] and unit_level[u] <= g_cort:
            if not blocked:
                _kill_soma(u, t, day, s)
            if axon_intact[u] and not axon_blocked:
                _lose_axon(u, t, day, s)
        if axon_intact[u] and axon_rate > 0.0 and not axon_blocked:
            # a full muscle counts its own fibres (inline: reading ``s`` here costs a reference count)
            lost = 1.0 - functional[u] / max(size0[u], 1) if full else _lost_fraction(s, u)
            if lost > axon_threshold:
                x = (lost - axon_threshold) / (1.0 - axon_threshold + 1e-12)
                r0, r1, draw = next_uniform(r0, r1)
                if draw < 1.0 - math.exp(-axon_rate * x):
                    _lose_axon(u, t, day, s)
        if (not axon_intact[u]) and soma_alive[u] and not blocked and secondary > 0.0:
            if unit_days[u, AXON_LOST] == np.inf:
                unit_days[u, AXON_LOST] = day  # an axon cut from outside the kernel
            r0, r1, draw = next_uniform(r0, r1)
            if draw < leave:
                soma_stage[u] += 1
                if soma_stage[u] >= stages:
                    _kill_soma(u, t, day, s)


@njit(cache=True, inline="always")
def _begin_day(p, day, g_term, g_cort, s):
    """The unit step of the day; True (with the force tally updated) if no fibre can change today."""
    counts = s.counts
    r0, r1 = seed_stream(np.uint64(s.rng_seed), np.uint64(_mix(s.rng_seed, int(day), 0)))
    _units(p, day, g_cort, s, r0, r1)
    _expect(s, g_term, p[K_MAX_ENLARGE], p[K_IMPAIRED], p[K_PRUNING_WIDTH])
    quiet = g_term < s.quiet_below and counts[IMPAIRED] == 0 and counts[WITHDRAWING] == 0 and counts[DENERVATED] == 0
    if quiet and counts[4] + counts[5] + counts[6] == s.unit_type.shape[0]:
        counts[10] = counts[11] - math.exp(-(day - s.ref_day) / p[K_RECOVERY]) * counts[12]
        return True
    return False


@njit(cache=True)
def step_day(p, day, g_term, g_cort, s):
    """Advance one day (``day``) of the muscle whose arrays are ``s`` (a ``KernelState``) in place,
    keeping the running tallies in ``s.counts`` up to date. ``p``: the kernel parameter vector;
    ``g_term``, ``g_cort``: the cumulative terminal and cortical drives (-1: the process is off).

    ``counts``: fibres per stage (0-3), axons by type (4-6), somata by type (7-9), force (10),
    and the two sums force is made of (11, 12; see below). ``soma_stage``: stages of secondary
    death passed by each axotomised soma; ``unit_days`` (units x 2): the day each unit lost its
    axon and its soma (inf: not yet). In a reduced muscle (``represent`` > 1), ``_expect`` then
    keeps each unit's expected healthy and impaired NMJs, which its axon-loss trigger reads
    (``_lost_fraction``). Only fibres that change state are touched:

    - ``level`` holds what a fibre waits for: a healthy NMJ's trigger level (in drive units), the
      day an impaired or withdrawing NMJ moves on, a denervated fibre's next sprout contact (day;
      infinite once it can no longer be reinnervated). One comparison a day skips a fibre.
    - A denervated fibre keeps its denervation day in ``denerv``, its atrophy at that day in
      ``atrophy``, the day its tSC is lost in ``timer`` and its next sprout contact in ``level``.
      Sprouts arrive as a Poisson process at the highest possible rate and are accepted with the
      ratio of the actual rate (thinning), so it costs nothing between contacts.
    - A reinnervated fibre (``recovering``) keeps its adoption day in ``denerv`` and its atrophy
      then in ``atrophy``; it regrows as 1 - (1 - a0) exp(-(t - t0) / tau). Muscle force is
      therefore static - exp(-(t - ref) / tau) x S, with S summing (1 - a0) exp((t0 - ref) / tau)
      over reinnervated fibres, and needs no daily work per fibre.

    The fibres are cut into ``n_chunks`` contiguous chunks (rows of the cross-section); even
    chunks run in parallel, then odd ones, so no two threads touch neighbouring fibres at once.
    Each chunk, and the unit loop, draws from its own xoroshiro128+ stream seeded by (run, day,
    chunk), with no global generator: results do not depend on the number of threads. A chunk
    may not take a unit within ``n_chunks // 2`` fibres of its enlargement limit, so that chunks
    feeding the same unit together still respect it.
    """
    flags, due = _scratch_jit(s.owner.shape[0])
    _day(p, day, g_term, g_cort, s, np.zeros(2), flags, due)


@njit(cache=True, inline="always")
def _day(p, day, g_term, g_cort, s, force_sums, flags, due):
    """``step_day`` with its scratch given: ``force_sums`` (2) and the screen's (``_scratch``) of
    every fibre, allocated once by ``step_days`` for all its days."""
    if _begin_day(p, day, g_term, g_cort, s):
        return
    t = _today(p, day, g_term, s)
    force_sums[0] = s.counts[11]
    force_sums[1] = s.counts[12]
    for first in range(2 if s.n_chunks > 1 else 1):
        if s.n_chunks > 1:
            _phase(first, t, s)
        else:  # a small muscle: no parallel region to start (it would cost more than the day's work)
            _screen(0, 0, s.owner.shape[0], t, s, flags, due)
        _merge(s, force_sums)
    _end_day(s, force_sums, day, t.tau_r)


@njit(cache=True, inline="always")
def _end_day(s, force_sums, day, tau_r):
    counts = s.counts
    counts[11] = force_sums[0]
    counts[12] = force_sums[1]
    counts[10] = counts[11] - math.exp(-(day - s.ref_day) / tau_r) * counts[12]


@njit(cache=True)
def step_days(params, first_day, g_terms, g_corts, s, history):
    """``step_day`` for days ``first_day``, ``first_day + 1``, ... (one row of ``params``, ``g_terms``,
    ``g_corts`` a day), recording the tallies after each day in the rows of ``history``.

    The same days stepped one call at a time give the same result: streams depend on the day only.
    """
    force_sums = np.zeros(2)
    flags, due = _scratch_jit(s.owner.shape[0])
    for i in range(g_terms.shape[0]):
        _day(params[i], first_day + i, g_terms[i], g_corts[i], s, force_sums, flags, due)
        history[i, :] = s.counts


def current_atrophy(day, owner, denerv, atrophy, recovering, floor, tau, tau_recovery):
    """Atrophy of every fibre on ``day`` from the lazily kept values (see ``step_day``)."""
    out = atrophy.copy()
    d = owner < 0
    out[d] = floor + (atrophy[d] - floor) * np.exp(-(day - denerv[d]) / tau)
    r = recovering & ~d
    out[r] = 1.0 - (1.0 - atrophy[r]) * np.exp(-(day - denerv[r]) / tau_recovery)
    return out


def current_maturity(day, owner, denerv, recovering, tau):
    """Maturity (0 new, 1 mature) of every NMJ on ``day``; reinnervated ones mature from adoption."""
    out = np.ones(owner.shape[0])
    r = recovering & (owner >= 0)
    out[r] = 1.0 - np.exp(-(day - denerv[r]) / tau)
    return out
