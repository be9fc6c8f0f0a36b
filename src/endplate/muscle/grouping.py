"""Fibre-type grouping in the cross-section, the histological sign of reinnervation."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from endplate.muscle.anatomy import Anatomy

NEIGHBOURS = 6


def enclosed_fraction(anatomy: Anatomy) -> float:
    """Fraction of innervated fibres whose 6 nearest neighbours all share their type (Jennekens)."""
    ok = np.flatnonzero(anatomy.innervated())
    if ok.size <= NEIGHBOURS:
        return float("nan")
    _, idx = cKDTree(anatomy.fibre_xy_mm[ok]).query(anatomy.fibre_xy_mm[ok], NEIGHBOURS + 1)
    types = anatomy.fibre_type[ok]
    return float(np.mean(np.all(types[idx[:, 1:]] == types[:, None], axis=1)))


def grouping_index(anatomy: Anatomy) -> float:
    """Observed enclosed fraction over the fraction expected if types were placed at random.

    Near 1 in a healthy muscle whose units intermingle; grows when reinnervation groups types.
    """
    ok = anatomy.innervated()
    share = np.bincount(anatomy.fibre_type[ok], minlength=3) / max(ok.sum(), 1)
    expected = float(np.sum(share ** (NEIGHBOURS + 1)))
    return enclosed_fraction(anatomy) / expected if expected > 0 else float("nan")
