"""An ALSFRS-R-like functional score (0-48) from the force left in each muscle region.

Used by the therapy layer at trial visits and by the calibration layer's observation of the
clinical decline (H02), so it lives below both.
"""

from __future__ import annotations

import numpy as np

HAND = ("APB", "ADM", "FDI")
LIMB = ("biceps", "deltoid", "trapezius", "TA")
BULBAR = ("genioglossus",)


def _domain(f: list[float]) -> float:
    """12 points while a region keeps 90 % of its force, 0 below 10 %, linear between (assumed)."""
    return 12.0 * float(np.clip((np.mean(f) - 0.1) / 0.8, 0.0, 1.0)) if f else 12.0


def alsfrs_like_score(force: dict[str, float], species: str, site: str | None = None) -> float:
    """ALSFRS-R-like score (0-48) from force fractions per muscle.

    Human: fine motor (hand muscles), gross motor (arm, shoulder, leg), respiratory (diaphragm),
    bulbar (the genioglossus; where no bulbar muscle is simulated, full marks, except for bulbar
    onset, where the diaphragm stands in). Mouse: 48 points shared equally by the muscles.
    """
    if species == "mouse":
        return 48.0 * float(np.mean([np.clip((f - 0.1) / 0.8, 0.0, 1.0) for f in force.values()]))
    resp = [force[m] for m in force if m == "diaphragm"]
    bulbar = [force[m] for m in force if m in BULBAR] or (resp if site == "bulbar" else [])
    return (
        _domain([force[m] for m in force if m in HAND])
        + _domain([force[m] for m in force if m in LIMB])
        + _domain(resp)
        + _domain(bulbar)
    )
