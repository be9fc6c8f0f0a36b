"""Muscle anatomy as struct-of-arrays: motor units, fibres, territories, ownership.

Ownership is data (``owner[fibre]`` is a unit index or -1), so the disease layer edits a
muscle by editing arrays. Each fibre carries its own junction (a row of a
``JunctionPopulation``) with the parameters of its unit's type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from endplate.junction.parameters import UNIT_TYPES, JunctionParameters, default_parameters
from endplate.junction.population import JunctionPopulation, make_population
from endplate.muscle.presets import MusclePreset
from endplate.seeding import substreams

DENERVATED = -1
# Relative fibre diameter by type (S smaller, FF larger). Assumed: fast glycolytic fibres are
# the largest in rodent and human limb muscles.
TYPE_DIAMETER_FACTOR = np.array([0.9, 1.0, 1.1])


@dataclass
class Anatomy:
    """A muscle: units (``unit_*``, shape ``(n_units,)``) and fibres (``fibre_*``, ``(n_fibres,)``).

    Positions in mm in the cross-section (centre 0, radius ``radius_mm``); the recording
    electrode sits on the skin at ``(radius_mm + skin_depth_mm, 0)``.
    """

    preset: MusclePreset
    radius_mm: float
    unit_type: np.ndarray  # int8, index into UNIT_TYPES
    unit_centre_mm: np.ndarray  # float32 (n_units, 2)
    unit_radius_mm: np.ndarray  # float32, territory radius
    unit_threshold_ma: np.ndarray  # float32, axonal stimulation threshold
    unit_cv_m_per_s: np.ndarray  # float32, axonal conduction velocity
    unit_alive: np.ndarray  # bool, motor neuron and axon present
    fibre_xy_mm: np.ndarray  # float32 (n_fibres, 2)
    owner: np.ndarray  # int32, unit index or DENERVATED
    fibre_type: np.ndarray  # int8
    fibre_diameter_um: np.ndarray  # float32
    atrophy: np.ndarray  # float32, fraction of normal cross-sectional area
    junctions: JunctionPopulation
    force_scale: float  # N per um2 of type-weighted fibre area, fixed when the muscle is built

    @property
    def n_units(self) -> int:
        return int(self.unit_type.shape[0])

    @property
    def n_fibres(self) -> int:
        return int(self.owner.shape[0])

    def unit_sizes(self) -> np.ndarray:
        """Innervation number of each unit (fibres it owns now)."""
        return np.bincount(self.owner[self.owner >= 0], minlength=self.n_units)

    def functioning_units(self) -> int:
        """Units that are alive and own at least one fibre: the truth beside every MUNE."""
        return int(np.count_nonzero((self.unit_sizes() > 0) & self.unit_alive))

    def recruitment_rank(self) -> np.ndarray:
        """Voluntary recruitment order of each unit, 0 (first) to 1 (last).

        Units are built smallest first (``unit_sizes_and_types``), so the index is the motor
        neuron's intrinsic size order (Henneman's size principle). It belongs to the neuron and
        does not change when the disease layer moves fibres between units.
        """
        return np.arange(self.n_units) / max(self.n_units - 1, 1)

    def voluntary_threshold(self) -> np.ndarray:
        """Fraction of maximal voluntary drive at which each unit is recruited.

        Exponential from 1 % (first unit) to 70 % (last unit), the shape of the recruitment
        range in models of motor pools (Fuglevand et al. 1993, J Neurophysiol 70:2470,
        recalled); the range is assumed.
        """
        return 0.01 * 70.0 ** self.recruitment_rank()

    def innervated(self) -> np.ndarray:
        """Fibres owned by a living unit."""
        ok = self.owner >= 0
        ok[ok] = self.unit_alive[self.owner[ok]]
        return ok

    @property
    def nbytes_per_fibre(self) -> float:
        fibre = (self.fibre_xy_mm, self.owner, self.fibre_type, self.fibre_diameter_um, self.atrophy)
        per_fibre = sum(a.nbytes for a in fibre) / self.n_fibres
        unit = (
            self.unit_type,
            self.unit_centre_mm,
            self.unit_radius_mm,
            self.unit_threshold_ma,
            self.unit_cv_m_per_s,
            self.unit_alive,
        )
        return per_fibre + self.junctions.nbytes_per_junction + sum(a.nbytes for a in unit) / self.n_fibres


def unit_sizes_and_types(preset: MusclePreset) -> tuple[np.ndarray, np.ndarray]:
    """Innervation numbers on an exponential ladder (largest/smallest = ``size_ratio``) and types.

    Types follow size (S smallest, FF largest) and are cut so that the fibre-type fractions of
    the preset hold; sizes sum exactly to ``n_fibres`` and are at least 1.
    """
    n = preset.n_units
    rank = np.arange(n) / max(n - 1, 1)
    weight = np.exp(np.log(preset.size_ratio) * rank)
    raw = weight / weight.sum() * (preset.n_fibres - n)
    sizes = 1 + np.floor(raw).astype(np.int64)
    remainder = preset.n_fibres - sizes.sum()
    sizes[np.argsort(raw - np.floor(raw))[::-1][:remainder]] += 1
    cumulative_before = (np.cumsum(sizes) - sizes) / preset.n_fibres
    cuts = np.cumsum(preset.type_fractions)[:2]
    types = np.searchsorted(cuts, cumulative_before + 0.5 * sizes / preset.n_fibres, side="right").astype(np.int8)
    return sizes, types


def _fibre_positions(n_fibres: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Jittered square lattice inside a circle: packed like fibres, not like a Poisson cloud."""
    spacing = np.sqrt(np.pi * radius**2 / n_fibres)
    while True:
        g = np.arange(-radius, radius + spacing, spacing)
        xx, yy = np.meshgrid(g, g)
        pts = np.column_stack([xx.ravel(), yy.ravel()])
        pts = pts[np.hypot(pts[:, 0], pts[:, 1]) <= radius]
        if len(pts) >= n_fibres:
            break
        spacing *= 0.98
    pts = pts[np.sort(rng.choice(len(pts), n_fibres, replace=False))]
    pts += rng.uniform(-0.3, 0.3, pts.shape) * spacing
    # Lattice order (row by row) keeps neighbouring fibres near each other in memory, which the
    # disease kernel's sprouting step relies on for speed.
    return pts.astype(np.float32)


def _allocate(fibre_xy, centres, radii, sizes, muscle_radius, rng, x_limit=None) -> np.ndarray:
    """Give each fibre an owner among the units whose territory covers it.

    Coarse grid cells carry the bookkeeping: unit weights are fitted (iterative proportional
    fitting) so that expected fibre counts match the target sizes, then each cell's fibres are
    split among the covering units by one multinomial draw. ``x_limit`` (per unit, optional)
    clips a territory to the part of the section with x at most that value (a deep region).
    """
    n_cells = int(np.clip(np.sqrt(len(fibre_xy) / 30), 4, 60))
    edges = np.linspace(-muscle_radius, muscle_radius, n_cells + 1)
    cx = np.clip(np.searchsorted(edges, fibre_xy[:, 0]) - 1, 0, n_cells - 1)
    cy = np.clip(np.searchsorted(edges, fibre_xy[:, 1]) - 1, 0, n_cells - 1)
    cell = cx * n_cells + cy
    per_cell = np.bincount(cell, minlength=n_cells * n_cells)
    used = np.flatnonzero(per_cell)
    mid = 0.5 * (edges[:-1] + edges[1:])
    cell_xy = np.column_stack([mid[used // n_cells], mid[used % n_cells]])
    dist = np.hypot(cell_xy[:, None, 0] - centres[None, :, 0], cell_xy[:, None, 1] - centres[None, :, 1])
    cover = dist <= radii[None, :]
    if x_limit is not None:
        cover &= cell_xy[:, 0][:, None] <= x_limit[None, :]
    orphan = np.flatnonzero(~cover.any(axis=1))
    nearest = np.argsort(dist[orphan] - radii[None, :], axis=1)[:, :8]
    cover[orphan[:, None], nearest] = True
    counts = per_cell[used].astype(float)
    weight = sizes / np.maximum(cover.T @ counts, 1.0)
    share = np.empty(cover.shape)  # one buffer for the 31 passes (a fresh array each pass cost page faults)
    for _ in range(30):
        np.multiply(cover, weight[None, :], out=share)
        share /= share.sum(axis=1, keepdims=True)
        expected = share.T @ counts
        weight *= np.where(expected > 0, sizes / np.maximum(expected, 1e-12), 1.0)
    np.multiply(cover, weight[None, :], out=share)
    share /= share.sum(axis=1, keepdims=True)
    owner = np.empty(len(fibre_xy), np.int32)
    order = np.argsort(cell, kind="stable")
    starts = np.concatenate([[0], np.cumsum(per_cell)])
    for row, c in enumerate(used):
        members = order[starts[c] : starts[c + 1]]
        draw = rng.multinomial(len(members), share[row])
        owner[rng.permutation(members)] = np.repeat(np.arange(len(sizes), dtype=np.int32), draw)
    _give_every_unit_a_fibre(owner, fibre_xy, centres, len(sizes))
    return owner


def _give_every_unit_a_fibre(owner, fibre_xy, centres, n_units) -> None:
    """A unit left without fibres takes the nearest fibre of a unit that can spare one."""
    sizes = np.bincount(owner, minlength=n_units)
    for u in np.flatnonzero(sizes == 0):
        d = np.hypot(fibre_xy[:, 0] - centres[u, 0], fibre_xy[:, 1] - centres[u, 1])
        for f in np.argsort(d):
            if sizes[owner[f]] > 1:
                sizes[owner[f]] -= 1
                owner[f] = u
                sizes[u] = 1
                break


def _deep_cut(area_fraction: float) -> float:
    """c such that the part of the unit disc with x <= c has ``area_fraction`` of its area."""
    from scipy.optimize import brentq

    def share(c: float) -> float:
        return (np.pi - np.arccos(c) + c * np.sqrt(1.0 - c * c)) / np.pi - area_fraction

    return float(brentq(share, -1.0, 1.0))


def _oxidative_region(
    preset: MusclePreset, sizes: np.ndarray, centres: np.ndarray, radius: float, rng: np.random.Generator
) -> np.ndarray | None:
    """Regional segregation of fibre types (mouse fast muscles; Wang & Kernell 2001, Hayasaki 2001).

    The smallest units, holding ``oxidative_fraction`` of the fibres, keep their territories in a
    deep region (away from the surface electrode, which sits at +x) sized so that oxidative fibres
    make up ``oxidative_region_density`` of it; their centres are redrawn inside it (``centres`` is
    edited in place). Returns each unit's territory limit on x (inf: anywhere), or None.
    """
    if preset.oxidative_fraction <= 0:
        return None
    deep = np.cumsum(sizes) - sizes < preset.oxidative_fraction * sizes.sum()
    cut = radius * _deep_cut(min(1.0, preset.oxidative_fraction / preset.oxidative_region_density))
    for u in np.flatnonzero(deep):
        while True:
            r, theta = radius * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
            if r * np.cos(theta) <= cut:
                centres[u] = (r * np.cos(theta), r * np.sin(theta))
                break
    return np.where(deep, cut, np.inf)


def build_anatomy(preset: MusclePreset, seed: int, junction_params: JunctionParameters | None = None) -> Anatomy:
    """Build a healthy muscle from ``preset`` (deterministic for a given seed)."""
    junction_params = junction_params or default_parameters(preset.species)
    streams = substreams(seed, "positions", "territories", "allocation", "fibres", "axons", "junctions")
    sizes, types = unit_sizes_and_types(preset)
    fibre_area_mm2 = np.pi * (preset.fibre_diameter_um * 1e-3 / 2) ** 2
    radius = float(np.sqrt(preset.n_fibres * fibre_area_mm2 / preset.packing_fraction / np.pi))
    xy = _fibre_positions(preset.n_fibres, radius, np.random.default_rng(streams["positions"]))

    rng = np.random.default_rng(streams["territories"])
    area = np.pi * radius**2
    # Territories are of similar extent whatever the unit's size (small units are sparse in them).
    territory = np.full(preset.n_units, preset.territory_fraction * area)
    unit_radius = np.sqrt(territory / np.pi)
    # Centres anywhere in the muscle (a territory may be cut by the muscle's edge), so that the
    # periphery is covered as densely as the middle.
    r = radius * np.sqrt(rng.random(preset.n_units))
    theta = rng.uniform(0, 2 * np.pi, preset.n_units)
    centres = np.column_stack([r * np.cos(theta), r * np.sin(theta)])

    x_limit = _oxidative_region(preset, sizes, centres, radius, np.random.default_rng(substreams(seed, "regions")["regions"]))
    owner = _allocate(
        xy.astype(float), centres, unit_radius, sizes.astype(float), radius, np.random.default_rng(streams["allocation"]), x_limit
    )
    fibre_type = types[owner]
    rng = np.random.default_rng(streams["fibres"])
    sigma = np.sqrt(np.log1p(preset.fibre_diameter_cv**2))
    diameter = (
        preset.fibre_diameter_um * TYPE_DIAMETER_FACTOR[fibre_type] * rng.lognormal(-0.5 * sigma**2, sigma, preset.n_fibres)
    )

    rng = np.random.default_rng(streams["axons"])
    sigma = np.sqrt(np.log1p(preset.threshold_cv**2))
    threshold = (
        preset.threshold_mean_ma
        * (sizes / sizes.mean()) ** (-preset.threshold_size_exponent)
        * rng.lognormal(-0.5 * sigma**2, sigma, preset.n_units)
    )
    rank = np.argsort(np.argsort(sizes)) / max(preset.n_units - 1, 1)
    cv = preset.axon_cv_m_per_s * (1 + preset.axon_cv_spread * (rank - 0.5))

    junctions = make_population(junction_params, preset.n_fibres, streams["junctions"], unit_type=fibre_type)
    specific = np.array([preset.specific_force_s, preset.specific_force_fr, preset.specific_force_ff])
    weighted_area = float((specific[fibre_type] * diameter**2).sum())
    return Anatomy(
        preset=preset,
        radius_mm=radius,
        unit_type=types,
        unit_centre_mm=centres.astype(np.float32),
        unit_radius_mm=unit_radius.astype(np.float32),
        unit_threshold_ma=threshold.astype(np.float32),
        unit_cv_m_per_s=cv.astype(np.float32),
        unit_alive=np.ones(preset.n_units, bool),
        fibre_xy_mm=xy,
        owner=owner,
        fibre_type=fibre_type,
        fibre_diameter_um=diameter.astype(np.float32),
        atrophy=np.ones(preset.n_fibres, np.float32),
        junctions=junctions,
        force_scale=preset.max_tetanic_force_n / weighted_area,
    )


__all__ = ["Anatomy", "build_anatomy", "unit_sizes_and_types", "DENERVATED", "UNIT_TYPES"]
