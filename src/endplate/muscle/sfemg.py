"""SFEMG at muscle level: fibre density, and jitter and blocking of real fibre pairs of one unit.

The electrode is a needle with a 25-um recording surface in a side port (Trontelj 2003, R04).
The examiner moves it until one fibre of a firing unit gives a large potential (the trigger),
with the port facing that fibre, and counts the time-locked potentials of the same unit that
are large enough (over 200 uV, R01): those of fibres within the uptake radius in front of the
port. The shaft screens what lies behind it, so the uptake area in the cross-section is a
half-disc on the port side (Stalberg & Trontelj, recalled).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from endplate.junction.sfemg import sfemg_from_population
from endplate.muscle.anatomy import Anatomy
from endplate.seeding import substreams

# Single-fibre electrode uptake radius: 300 um (Stalberg & Thiele 1975, recalled); fibres that
# give significant single-fibre contributions lie within about 350 um of the electrode (R03, read).
UPTAKE_RADIUS_MM = 0.3
# SFEMG is recorded during slight voluntary contraction (Stalberg & Trontelj, recalled): the
# units seen are those recruited at low drive. 10 % of maximal drive recruits the first half
# of the pool under Anatomy.voluntary_threshold; the level is assumed.
SLIGHT_DRIVE = 0.10
# Needle positions tried per site wanted before the examiner gives up (assumed): in a muscle
# with few firing fibres most positions find none within reach.
SEARCHES_PER_SITE = 50


def recordable(anatomy: Anatomy, voluntary: bool = True) -> np.ndarray:
    """Fibres that can trigger a recording: innervated, and at slight effort of an active unit.

    With every low-threshold unit lost, the patient recruits further until units fire, so a
    voluntary recording then falls back on any innervated fibre.
    """
    innervated = anatomy.innervated()
    if not voluntary:
        return innervated
    active = anatomy.voluntary_threshold() <= SLIGHT_DRIVE
    active_fibres = innervated.copy()
    active_fibres[innervated] = active[anatomy.owner[innervated]]
    return active_fibres if active_fibres.any() else innervated


def _triggers(anatomy: Anatomy, candidates: np.ndarray, n_sites: int, rng: np.random.Generator) -> np.ndarray:
    """Trigger fibres of up to ``n_sites`` needle positions, drawn uniformly over the section.

    At each position the trigger is the nearest candidate fibre, if one lies within the uptake
    radius: a fibre is found in proportion to the area it is nearest in, not to the number of
    fibres its unit has, as when a needle is moved through the muscle.
    """
    if candidates.size == 0:
        return candidates
    tree = cKDTree(anatomy.fibre_xy_mm[candidates])
    found: list[int] = []
    for _ in range(SEARCHES_PER_SITE):
        r = anatomy.radius_mm * np.sqrt(rng.random(n_sites))
        theta = rng.uniform(0.0, 2 * np.pi, n_sites)
        dist, idx = tree.query(np.column_stack([r * np.cos(theta), r * np.sin(theta)]), distance_upper_bound=UPTAKE_RADIUS_MM)
        found.extend(candidates[idx[np.isfinite(dist)]].tolist())
        if len(found) >= n_sites:
            break
    return np.array(found[:n_sites], dtype=np.int64)


def _sites(anatomy: Anatomy, n_sites: int, rng: np.random.Generator, voluntary: bool = True):
    """Trigger fibres and, for each, the same-unit fibres in the uptake half-disc (trigger included).

    The port touches the trigger fibre's surface from a random side and faces its centre.
    """
    triggers = _triggers(anatomy, np.flatnonzero(recordable(anatomy, voluntary)), n_sites, rng)
    xy = anatomy.fibre_xy_mm
    tree = cKDTree(xy)
    fibre_radius_mm = 0.5e-3 * anatomy.preset.fibre_diameter_um
    theta = rng.uniform(0.0, 2 * np.pi, triggers.size)
    facing = -np.column_stack([np.cos(theta), np.sin(theta)])  # from the port towards the trigger
    ports = xy[triggers] - facing * fibre_radius_mm
    same = []
    for t, port, ahead in zip(triggers, ports, facing):
        near = np.array(tree.query_ball_point(port, UPTAKE_RADIUS_MM), dtype=np.int64)
        near = near[(anatomy.owner[near] == anatomy.owner[t]) & ((xy[near] - port) @ ahead >= 0)]
        same.append(np.union1d(near, [t]))
    return triggers, same


def fibre_density(anatomy: Anatomy, seed: int = 0, n_sites: int = 20) -> float | None:
    """Mean number of fibres of the recorded unit in the uptake area (trigger included).

    Counted at ``n_sites`` sites during slight voluntary contraction, as the clinical method
    asks (20 sites, R01). None when no fibre can trigger a recording (no innervated fibre).
    """
    _, same = _sites(anatomy, n_sites, np.random.default_rng(seed), voluntary=True)
    return float(np.mean([len(s) for s in same])) if same else None


def muscle_sfemg(
    anatomy: Anatomy,
    rate_hz: float = 10.0,
    n_pairs: int = 20,
    n_discharges: int = 100,
    voluntary: bool = True,
    seed: int = 0,
    backend: str = "numba",
) -> dict:
    """Fibre density over 20 sites, and jitter of up to ``n_pairs`` pairs found at the sites.

    Quantities that cannot be measured are None with a ``*_undefined_reason``: fibre density
    without any innervated fibre, jitter and blocking without any pair of fibres of one unit.
    """
    streams = substreams(seed, "density", "pairs", "recording")
    density = fibre_density(anatomy, streams["density"])
    triggers, same = _sites(anatomy, 5 * n_pairs, np.random.default_rng(streams["pairs"]), voluntary)
    pairs = []
    for t, group in zip(triggers, same):
        partners = group[group != t]
        if partners.size:
            d = np.hypot(*(anatomy.fibre_xy_mm[partners] - anatomy.fibre_xy_mm[t]).T)
            pairs.append((t, partners[np.argmin(d)]))
        if len(pairs) == n_pairs:
            break
    out: dict[str, Any] = {"fibre_density": density}
    if density is None:
        out["fibre_density_undefined_reason"] = "no innervated fibre to record from"
    if not pairs:
        reason = "no recording site had two fibres of one unit"
        return {
            **out,
            "mcd_us": None,
            "mcd_us_undefined_reason": reason,
            "blocking_percent": None,
            "blocking_percent_undefined_reason": reason,
            "pairs": [],
        }
    fibres = np.array(pairs).ravel()
    mcd, blocking = sfemg_from_population(
        anatomy.junctions.subset(fibres), rate_hz, n_discharges, 0.2 if voluntary else 0.0, streams["recording"], backend
    )
    out["blocking_percent"] = float(blocking.mean())
    if np.isfinite(mcd).any():
        out["mcd_us"] = float(np.nanmean(mcd))
    else:
        out["mcd_us"], out["mcd_us_undefined_reason"] = None, "every pair blocked on every discharge"
    out["pairs"] = [{"mcd_us": float(m) if np.isfinite(m) else None, "blocking_percent": float(b)} for m, b in zip(mcd, blocking)]
    return out
