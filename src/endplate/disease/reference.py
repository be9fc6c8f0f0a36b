"""The disease's daily step in plain NumPy, written as daily hazards: slow, and the oracle of the kernel.

The compiled kernel (``disease.kernel``) draws a trigger level per fibre and per unit once and
compares it with the cumulative drive, and draws each stage's end day when the stage begins. Here
every event is a daily chance instead, read straight from the model:

- a healthy NMJ of a unit with vulnerability v is impaired on day d with probability
  1 - exp(-v (G(d) - G(d-1))), G the cumulative terminal drive; with unit pruning (the unit's
  pruning begins at drive L), 1 - exp(-(max(G(d), L) - max(G(d-1), L)) / (w L)), w the width;
- an impaired NMJ withdraws, and a withdrawing one is lost, with probability 1 - exp(-1 / mean)
  a day (the stage's mean duration; Wallerian withdrawal at the Wallerian rate);
- a unit's soma is reached by the cortical process with probability 1 - exp(-c (Gc(d) - Gc(d-1)));
  retrograde axon loss and the stages of secondary soma death are daily chances as in the kernel
  (in a reduced muscle, with the kernel's estimate of the real unit's lost share).

Both formulations give the same distributions (an Exp(1) level crossed by v G is a hazard v dG;
an exponential stage read at whole days is geometric), which is what
``tests/statistical/test_disease_kernel_agrees.py`` checks. Not covered: reinnervation (sprouts,
tSC bridging, regrowth) and atrophy: run the comparison with ``reinnervation.rate_per_day = 0``.
"""

from __future__ import annotations

import numpy as np

from endplate.disease import kernel as kern
from endplate.disease.kernel import DENERVATED, HEALTHY, IMPAIRED, WITHDRAWING, K

SHARE = np.array([1.0, kern.FORCE_SHARE_IMPAIRED, kern.FORCE_SHARE_WITHDRAWING, 0.0])  # force by stage


def reference_days(
    p: np.ndarray,
    s: kern.KernelState,
    cortical_vuln: np.ndarray,
    g_terms: np.ndarray,
    g_corts: np.ndarray,
    seed: int,
    first_day: int = 0,
) -> np.ndarray:
    """Step the muscle ``s`` (changed in place) over one day per entry of ``g_terms`` / ``g_corts``
    (cumulative drives; -1: the process is off); the tallies after each day (days x N_COUNTS).

    ``p``: the kernel parameter vector; ``cortical_vuln``: each unit's vulnerability to the cortical
    process (``simulate.cortical_vulnerability``); ``seed``: of this run's generator. The trigger
    levels in ``s`` are not read. Reinnervation must be off.
    """
    if p[K["reinnervation_rate"]] > 0:
        raise ValueError("the reference has no reinnervation: set reinnervation.rate_per_day = 0")
    rng = np.random.default_rng(seed)
    withdraw_mean = np.full(s.owner.shape[0], p[K["withdrawing_days"]])
    crossed = np.zeros(s.unit_type.shape[0], bool)  # units the cortical process has reached
    history = np.empty((g_terms.size, kern.N_COUNTS))
    g_t0, g_c0 = 0.0, 0.0
    for i, (g_t, g_c) in enumerate(zip(g_terms, g_corts)):
        day = first_day + i
        dg_t, dg_c = max(g_t, 0.0) - g_t0, max(g_c, 0.0) - g_c0
        g_t0, g_c0 = max(g_t, 0.0), max(g_c, 0.0)
        _units(p, day, cortical_vuln * dg_c, s, crossed, rng)
        hazard = _terminal_hazard(s, p[K["pruning_width"]], g_t0 - dg_t, g_t0)
        if s.represent != 1.0:  # a reduced muscle's expected healthy and impaired NMJs (kernel._expect; no adoptions here)
            before = s.expected.copy()
            s.expected[:] *= np.exp(-hazard)
            s.expected_impaired[:] = s.expected_impaired * np.exp(-1.0 / p[K["impaired_days"]]) + before - s.expected
        _fibres(p, hazard, s, withdraw_mean, rng)
        history[i] = _tallies(s)
    return history


def _terminal_hazard(s: kern.KernelState, width: float, g0: float, g1: float) -> np.ndarray:
    """Each unit's integrated hazard, for one healthy NMJ, of the drive's rise from ``g0`` to ``g1``."""
    lev = s.prune_level
    pruning = np.isfinite(lev)
    with np.errstate(invalid="ignore", divide="ignore"):
        coherent = (np.maximum(g1, lev) - np.maximum(g0, lev)) / np.maximum(width * lev, 1e-300)
    return np.where(pruning, coherent, s.unit_vuln * (g1 - g0))


def _units(
    p: np.ndarray, day: int, cortical_hazard: np.ndarray, s: kern.KernelState, crossed: np.ndarray, rng: np.random.Generator
) -> None:
    """Cortical death, retrograde axon loss, secondary soma death, in the kernel's order within a day.

    ``cortical_hazard``: each unit's cortical vulnerability times the day's cortical drive.
    """
    blocked, axon_blocked = p[K["soma_death_blocked"]] > 0.5, p[K["axon_degeneration_blocked"]] > 0.5
    n = cortical_hazard.size
    reached = ~crossed & (rng.random(n) < 1.0 - np.exp(-cortical_hazard))
    crossed |= reached
    hit = reached & s.soma_alive
    if not blocked:
        _die(s, hit, day)
    if not axon_blocked:
        _cut(s, hit & s.axon_intact, day)
    rate, threshold = p[K["axon_rate"]], p[K["axon_threshold"]]
    if rate > 0 and not axon_blocked:
        seen = s.functional.astype(float)
        if s.represent != 1.0:  # a reduced muscle: the real unit's share, as kernel._lost_fraction
            seen = seen / s.represent + (1.0 - 1.0 / s.represent) * (s.expected + s.expected_impaired)
        lost = 1.0 - seen / np.maximum(s.size0, 1)
        x = (lost - threshold) / (1.0 - threshold + 1e-12)
        chance = np.where(lost > threshold, 1.0 - np.exp(-rate * np.maximum(x, 0.0)), 0.0)
        _cut(s, s.axon_intact & (rng.random(n) < chance), day)
    if p[K["secondary_rate"]] > 0 and not blocked:
        stages = max(int(p[K["secondary_stages"]] + 0.5), 1)
        waiting = ~s.axon_intact & s.soma_alive
        step = waiting & (rng.random(n) < 1.0 - np.exp(-stages * p[K["secondary_rate"]]))
        s.soma_stage[step] += 1
        _die(s, step & (s.soma_stage >= stages), day)


def _die(s: kern.KernelState, units: np.ndarray, day: int) -> None:
    s.soma_alive[units] = False
    s.unit_days[units, kern.SOMA_DIED] = day


def _cut(s: kern.KernelState, units: np.ndarray, day: int) -> None:
    s.axon_intact[units] = False
    s.unit_days[units, kern.AXON_LOST] = day


def _fibres(p: np.ndarray, hazard: np.ndarray, s: kern.KernelState, withdraw_mean: np.ndarray, rng: np.random.Generator) -> None:
    """The day's stage changes of every NMJ (each fibre changes at most once a day, as in the kernel).

    ``hazard``: each unit's integrated terminal hazard of the day (``_terminal_hazard``)."""
    owned = s.owner >= 0
    o = np.where(owned, s.owner, 0)
    u = rng.random(s.owner.shape[0])
    stage = s.stage.copy()
    axonless = owned & ~s.axon_intact[o]
    wallerian = axonless & (stage != WITHDRAWING)
    w = p[K["wallerian_rate"]]
    withdraw_mean[wallerian] = 1.0 / w if w > 0 else np.inf
    impaired = owned & ~axonless & (stage == HEALTHY) & (u < 1.0 - np.exp(-hazard[o]))
    withdrawing = owned & ~axonless & (stage == IMPAIRED) & (u < 1.0 - np.exp(-1.0 / p[K["impaired_days"]]))
    withdraw_mean[withdrawing] = p[K["withdrawing_days"]]
    lost = owned & (stage == WITHDRAWING) & (u < 1.0 - np.exp(-1.0 / withdraw_mean))
    s.stage[impaired] = IMPAIRED
    s.stage[wallerian | withdrawing] = WITHDRAWING
    s.stage[lost] = DENERVATED
    np.subtract.at(s.functional, s.owner[(wallerian & (stage <= IMPAIRED)) | withdrawing], 1)
    np.subtract.at(s.size, s.owner[lost], 1)
    s.owner[lost] = -1


def _tallies(s: kern.KernelState) -> np.ndarray:
    """The kernel's tallies, counted afresh: stages, axons and somata by type, force (no regrowth)."""
    out = np.zeros(kern.N_COUNTS)
    out[:4] = np.bincount(s.stage, minlength=4)
    out[kern.AXONS] = np.bincount(s.unit_type[s.axon_intact], minlength=3)
    out[kern.SOMATA] = np.bincount(s.unit_type[s.soma_alive], minlength=3)
    out[kern.FORCE] = out[kern.FORCE_STATIC] = float((s.force_weight * SHARE[s.stage]).sum(dtype=np.float64))
    return out
