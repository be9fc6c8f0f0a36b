"""The daily step of the disease, compiled (Numba): every fibre, unit and tSC of one muscle.

Terminal degeneration uses per-fibre trigger levels: a fibre starts to disassemble when the
cumulative disease drive, scaled by its unit's vulnerability, passes an Exp(1) level drawn when
its current unit took it over. Healthy fibres therefore cost one comparison a day.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from endplate.disease.model import K

# Indices into the parameter vector (module constants, so Numba folds them).
K_VULN_S, K_VULN_FR, K_VULN_FF = K["vuln_s"], K["vuln_fr"], K["vuln_ff"]
K_IMPAIRED, K_WITHDRAWING = K["impaired_days"], K["withdrawing_days"]
K_AXON_THRESHOLD, K_AXON_RATE, K_SECONDARY = K["axon_threshold"], K["axon_rate"], K["secondary_rate"]
K_WALLERIAN, K_REINNERVATION = K["wallerian_rate"], K["reinnervation_rate"]
K_COMP_S, K_COMP_FR, K_COMP_FF = K["competence_s"], K["competence_fr"], K["competence_ff"]
K_MAX_ENLARGE, K_BRIDGING, K_MATURATION = K["max_enlargement"], K["bridging_without_tsc"], K["maturation_days"]
K_REINNERVABLE, K_TSC_LOSS = K["reinnervable_days"], K["tsc_loss"]
K_ATROPHY_TAU, K_ATROPHY_FLOOR, K_RECOVERY = K["atrophy_tau"], K["atrophy_floor"], K["recovery_days"]
K_SOMA_BLOCKED = K["soma_death_blocked"]
# Force carried by a fibre whose NMJ is impaired or withdrawing: such junctions fail part of the
# time (assumed shares; the junction layer gives the detail at readout days).
FORCE_SHARE_IMPAIRED, FORCE_SHARE_WITHDRAWING = 0.6, 0.3

HEALTHY, IMPAIRED, WITHDRAWING, DENERVATED = 0, 1, 2, 3
TSC_PRESENT, TSC_REACTIVE, TSC_LOST = 0, 1, 2
N_COUNTS = 13  # fibres per stage (4), axons by type (3), somata by type (3), force, its two sums


@njit(cache=True)
def seed_kernel(seed):
    np.random.seed(seed)


@njit(cache=True)
def _exp_draw(mean):
    return -mean * math.log(1.0 - np.random.random())


@njit(cache=True)
def _share(st):
    if st == HEALTHY:
        return 1.0
    if st == IMPAIRED:
        return FORCE_SHARE_IMPAIRED
    if st == WITHDRAWING:
        return FORCE_SHARE_WITHDRAWING
    return 0.0


@njit(cache=True)
def step_day(p, day, ref_day, g_term, g_cort, owner, stage, timer, denerv, atrophy, tsc, ftype, level,
             neighbours, force_weight, recovering, unit_type, soma_alive, axon_intact, unit_level, size0, size,
             functional, unit_vuln, counts, quiet_below):
    """Advance one day (``day``) in place, keeping the running tallies in ``counts`` up to date.

    ``counts``: fibres per stage (0-3), axons by type (4-6), somata by type (7-9), force (10),
    and the two sums force is made of (11, 12; see below). Only fibres that change state are
    touched:

    - A denervated fibre keeps its denervation day in ``denerv``, its atrophy at that day in
      ``atrophy``, the day its tSC is lost in ``timer`` and its next sprout contact in ``level``.
      Sprouts arrive as a Poisson process at the highest possible rate and are accepted with the
      ratio of the actual rate (thinning), so it costs nothing between contacts.
    - A reinnervated fibre (``recovering``) keeps its adoption day in ``denerv`` and its atrophy
      then in ``atrophy``; it regrows as 1 - (1 - a0) exp(-(t - t0) / tau). Muscle force is
      therefore static - exp(-(t - ref) / tau) x S, with S summing (1 - a0) exp((t0 - ref) / tau)
      over reinnervated fibres, and needs no daily work per fibre.
    """
    n_u = unit_type.shape[0]
    k_nb = float(neighbours.shape[1])
    blocked = p[K_SOMA_BLOCKED] > 0.5
    for u in range(n_u):
        t = unit_type[u]
        if soma_alive[u] and unit_level[u] <= g_cort:
            if not blocked:
                soma_alive[u] = False
                counts[7 + t] -= 1.0
            if axon_intact[u]:
                axon_intact[u] = False
                counts[4 + t] -= 1.0
        if axon_intact[u] and p[K_AXON_RATE] > 0.0:
            lost = 1.0 - functional[u] / max(size0[u], 1)
            if lost > p[K_AXON_THRESHOLD]:
                x = (lost - p[K_AXON_THRESHOLD]) / (1.0 - p[K_AXON_THRESHOLD] + 1e-12)
                if np.random.random() < 1.0 - math.exp(-p[K_AXON_RATE] * x):
                    axon_intact[u] = False
                    counts[4 + t] -= 1.0
        if (not axon_intact[u]) and soma_alive[u] and not blocked and p[K_SECONDARY] > 0.0:
            if np.random.random() < p[K_SECONDARY]:
                soma_alive[u] = False
                counts[7 + t] -= 1.0
    tau_r = p[K_RECOVERY]
    quiet = g_term < quiet_below and counts[IMPAIRED] == 0 and counts[WITHDRAWING] == 0 and counts[DENERVATED] == 0
    if quiet and counts[4] + counts[5] + counts[6] == n_u:
        counts[10] = counts[11] - math.exp(-(day - ref_day) / tau_r) * counts[12]
        return
    competence = (p[K_COMP_S], p[K_COMP_FR], p[K_COMP_FF])
    top = max(max(competence[0], competence[1]), competence[2])
    contact_rate = p[K_REINNERVATION] * top
    static = counts[11]
    regrow = counts[12]
    for f in range(owner.shape[0]):
        o = owner[f]
        if o >= 0:
            st = stage[f]
            new = st
            if not axon_intact[o] and st != WITHDRAWING:
                # Wallerian degeneration: the terminal withdraws over a few days.
                new = WITHDRAWING
                timer[f] = _exp_draw(1.0 / p[K_WALLERIAN]) if p[K_WALLERIAN] > 0.0 else 1e30
                if st == HEALTHY or st == IMPAIRED:
                    functional[o] -= 1
            elif st == HEALTHY:
                if level[f] <= g_term:
                    new = IMPAIRED
                    timer[f] = _exp_draw(p[K_IMPAIRED])
            elif st == IMPAIRED:
                timer[f] -= 1.0
                if timer[f] <= 0.0:
                    new = WITHDRAWING
                    timer[f] = _exp_draw(p[K_WITHDRAWING])
                    functional[o] -= 1
            else:
                timer[f] -= 1.0
                if timer[f] <= 0.0:
                    new = DENERVATED
            if new == st:
                continue
            change = _share(new) - _share(st)
            static += force_weight[f] * change
            if recovering[f]:
                regrow += force_weight[f] * change * (1.0 - atrophy[f]) * math.exp((denerv[f] - ref_day) / tau_r)
            counts[st] -= 1.0
            counts[new] += 1.0
            stage[f] = new
            if new == DENERVATED:
                if recovering[f]:
                    atrophy[f] = 1.0 - (1.0 - atrophy[f]) * math.exp(-(day - denerv[f]) / tau_r)
                    recovering[f] = False
                if st <= IMPAIRED:
                    functional[o] -= 1
                size[o] -= 1
                owner[f] = -1
                denerv[f] = day
                tsc[f] = TSC_REACTIVE
                timer[f] = day + (_exp_draw(1.0 / p[K_TSC_LOSS]) if p[K_TSC_LOSS] > 0.0 else 1e30)
                level[f] = day + (_exp_draw(1.0 / contact_rate) if contact_rate > 0.0 else 1e30)
        elif level[f] <= day and day - denerv[f] <= p[K_REINNERVABLE]:
            level[f] = day + _exp_draw(1.0 / contact_rate)
            # One uniform picks the neighbour (integer part) and decides acceptance (fraction).
            x = np.random.random() * k_nb
            pick = int(x)
            g = neighbours[f, pick]
            v = owner[g]
            if v >= 0 and axon_intact[v] and stage[g] == HEALTHY and size[v] < p[K_MAX_ENLARGE] * size0[v]:
                bridge = 1.0 if day < timer[f] else p[K_BRIDGING]
                if (x - pick) * top < competence[unit_type[v]] * bridge:
                    a0 = p[K_ATROPHY_FLOOR] + (atrophy[f] - p[K_ATROPHY_FLOOR]) * math.exp(-(day - denerv[f]) / p[K_ATROPHY_TAU])
                    atrophy[f] = a0
                    denerv[f] = day
                    recovering[f] = True
                    static += force_weight[f]
                    regrow += force_weight[f] * (1.0 - a0) * math.exp((day - ref_day) / tau_r)
                    owner[f] = v
                    stage[f] = HEALTHY
                    counts[DENERVATED] -= 1.0
                    counts[HEALTHY] += 1.0
                    size[v] += 1
                    functional[v] += 1
                    ftype[f] = unit_type[v]
                    tsc[f] = TSC_PRESENT
                    level[f] = g_term + _exp_draw(1.0) / max(unit_vuln[v], 1e-12)
    counts[11] = static
    counts[12] = regrow
    counts[10] = static - math.exp(-(day - ref_day) / tau_r) * regrow


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
