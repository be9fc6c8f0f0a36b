"""Twitch and tetanic force per unit and for the whole muscle."""

from __future__ import annotations

import numpy as np

from endplate.muscle.anatomy import Anatomy


def unit_forces(anatomy: Anatomy) -> dict[str, np.ndarray]:
    """Tetanic and twitch force (N) of every unit: its innervated fibres' type-weighted area.

    Denervated fibres contribute nothing; ``atrophy`` scales a fibre's area (the disease layer
    sets it). The scale was fixed when the healthy muscle was built, so losses show as losses.
    """
    p = anatomy.preset
    specific = np.array([p.specific_force_s, p.specific_force_fr, p.specific_force_ff])
    ratio = np.array([p.twitch_tetanus_ratio_s, p.twitch_tetanus_ratio_fr, p.twitch_tetanus_ratio_ff])
    ok = anatomy.innervated()
    per_fibre = (
        anatomy.force_scale * specific[anatomy.fibre_type] * anatomy.fibre_diameter_um.astype(float) ** 2 * anatomy.atrophy
    )
    tetanic = np.bincount(anatomy.owner[ok], weights=per_fibre[ok], minlength=anatomy.n_units)
    twitch = np.bincount(anatomy.owner[ok], weights=(per_fibre * ratio[anatomy.fibre_type])[ok], minlength=anatomy.n_units)
    return {"tetanic_n": tetanic, "twitch_n": twitch}


def muscle_force(anatomy: Anatomy) -> dict[str, float]:
    f = unit_forces(anatomy)
    return {
        "tetanic_n": float(f["tetanic_n"].sum()),
        "twitch_n": float(f["twitch_n"].sum()),
        "max_tetanic_n": anatomy.preset.max_tetanic_force_n,
    }
