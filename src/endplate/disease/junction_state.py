"""Where the disease course meets the junction model.

``FibreJunctionState`` is what the disease layer says about each fibre's NMJ (innervated,
impaired, partly withdrawn, how mature, tSC present, how the failing partner transmits);
``diseased_junctions`` turns that record into junction parameters. The disease course owns the
record (``fibre_junction_state``); the junction model owns the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from endplate.disease import kernel as kern
from endplate.junction.population import COOP, OCC, SAT_N, TSC_LOST, TSC_PRESENT, JunctionPopulation, kernel_scalars

PARTNER_KEYS = ("release_impaired", "capacity_impaired", "quantal_impaired", "tsc_gain_impaired")


@dataclass(frozen=True)
class FibreJunctionState:
    """The disease state of every fibre's NMJ; all arrays have shape ``(n_fibres,)``.

    ``innervated`` (bool): a motor unit owns the fibre. ``impaired`` (0/1): its first partner is
    failing. ``withdrawn_fraction`` (0 intact .. 1): share of the terminal's release sites lost.
    ``maturity`` (0 newly formed .. 1 mature). ``tsc_present`` (0/1). ``partner``: the failing
    partner's multipliers (``PARTNER_KEYS``, dimensionless). ``tsc_structure`` (int8 codes of
    ``junction.population``) keeps the reactive state that the 0/1 flag folds away.
    """

    innervated: np.ndarray
    impaired: np.ndarray
    withdrawn_fraction: np.ndarray
    maturity: np.ndarray
    tsc_present: np.ndarray
    partner: dict = field(default_factory=lambda: {k: 1.0 for k in PARTNER_KEYS})
    tsc_structure: np.ndarray | None = None


def fibre_junction_state(state) -> FibreJunctionState:
    """Read a ``disease.simulate.MuscleState`` into the record (partial withdrawal: half the sites)."""
    owner = state.anatomy.owner
    withdrawing = state.stage == kern.WITHDRAWING
    impaired = (state.stage == kern.IMPAIRED) | withdrawing
    maturity = kern.current_maturity(float(state.day), owner, state.denerv, state.recovering, state.maturation_days)
    return FibreJunctionState(
        innervated=owner >= 0,
        impaired=impaired.astype(float),
        withdrawn_fraction=np.where(withdrawing, 0.5, 0.0),
        maturity=maturity,
        tsc_present=(state.tsc != TSC_LOST).astype(float),
        partner=dict(state.partner) if state.partner else {k: 1.0 for k in PARTNER_KEYS},
        tsc_structure=np.asarray(state.tsc, np.int8).copy(),
    )


# How an immature (newly formed) NMJ differs from a mature one, at maturity 0; it closes the gap
# as it matures. Assumed sizes, directions from the literature: a new terminal holds a small
# store of vesicles (capacity) that its release sites draw on, so each impulse releases a larger
# share of it (release probability per vesicle); its endplate has shallow folds with few Na
# channels, so more depolarisation is needed to fire the fibre (threshold; folds lower the
# threshold, Wood & Slater 2001, recalled). Quantal content falls to half, the safety factor to
# a third, and the small store runs down within a 3 Hz train.
IMMATURE_CAPACITY = 0.25
IMMATURE_RELEASE = 2.0
IMMATURE_THRESHOLD = 1.5
# A newly formed terminal is small in either species, so it releases a large share of its store
# per impulse: at least IMMATURE_SHARE at maturity 0 (assumed: about the human's mature share at
# rest, 0.19, doubled, as IMMATURE_RELEASE gives the human). The mature mouse terminal releases 0.03 of a large
# store (RRP of Ruiz et al. 2011), so its immature form needs a far larger gain in share, with the
# store shrunk in proportion: its first-impulse quantal content is the same as with
# IMMATURE_RELEASE and IMMATURE_CAPACITY at every maturity, but the store now runs down at 3 Hz
# (about 0.35 released against about 0.09 refilled per interval) instead of holding. Reinnervated
# mouse NMJs do have a lower safety margin (literature.csv R19, test); that abstract infers a
# smaller, not larger, release probability, so the share here is a model choice, not a reading.
IMMATURE_SHARE = 0.35


def resting_release_share(params) -> float:
    """Share of its store that a mature junction of ``params`` releases at the first impulse from rest."""
    s = kernel_scalars(params)
    occupancy = s[OCC] ** s[COOP]
    return float(params.release_probability_max * occupancy / (occupancy + s[SAT_N]))


def diseased_junctions(healthy: JunctionPopulation, s: FibreJunctionState) -> JunctionPopulation:
    """The junctions of ``healthy`` as the disease state ``s`` has left them.

    An impaired NMJ transmits as its failing partner dictates (release, RRP capacity, quantal
    size, tSC feedback gain). A partly withdrawn terminal keeps ``1 - withdrawn_fraction`` of its
    release sites (capacity), each releasing as before. An immature NMJ has a smaller pool, of
    which it releases a larger share, and a higher firing threshold (``IMMATURE_*``): a low safety
    factor that runs down towards threshold within a 3 Hz train.
    """
    q = s.partner
    affected = s.impaired > 0
    young = 1.0 - s.maturity
    gain = max(IMMATURE_RELEASE, IMMATURE_SHARE / resting_release_share(healthy.params))
    release_young = 1.0 + (gain - 1.0) * young
    # The store shrinks as the share grows, so quantal content at the first impulse is that of
    # IMMATURE_RELEASE x IMMATURE_CAPACITY; where gain == IMMATURE_RELEASE (the human) the ratio
    # is exactly 1 and the junctions are those of the fixed multipliers, bit for bit.
    ratio = (1.0 + (IMMATURE_RELEASE - 1.0) * young) / release_young
    store_young = (1.0 - (1.0 - IMMATURE_CAPACITY) * young) * ratio
    out = healthy.scaled(
        release=np.where(affected, q["release_impaired"], 1.0) * release_young,
        capacity=np.where(affected, q["capacity_impaired"], 1.0) * (1.0 - s.withdrawn_fraction) * store_young,
        quantal=np.where(affected, q["quantal_impaired"], 1.0),
        threshold=1.0 + (IMMATURE_THRESHOLD - 1.0) * young,
        tsc_gain=np.where(affected, q["tsc_gain_impaired"], 1.0),
    )
    if s.tsc_structure is not None:
        out.tsc_structure = s.tsc_structure.copy()
    else:
        out.tsc_structure = np.where(s.tsc_present > 0, TSC_PRESENT, TSC_LOST).astype(np.int8)
    return out
