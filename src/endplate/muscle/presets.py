"""Muscle presets: how many motor units and fibres, which types, how far from the cord.

Values live in ``presets/muscles.toml`` with a source and evidence flag each; species-wide
electrophysiology and force parameters in ``[SPECIES.common]``.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from endplate.errors import EndplateInputError
from endplate.junction.parameters import SPECIES, Provenance

# Physical sizes, speeds, forces and scales a muscle cannot have as zero (a zero would divide or vanish).
POSITIVE = (
    "axon_length_mm",
    "axon_cv_m_per_s",
    "fibre_diameter_um",
    "max_tetanic_force_n",
    "threshold_mean_ma",
    "fibre_potential_width_ms",
    "depth_constant_mm",
    "fibre_cv_m_per_s",
    "packing_fraction",
    "specific_force_s",
    "specific_force_fr",
    "specific_force_ff",
)


@dataclass(frozen=True)
class MusclePreset:
    """One muscle of one species (units in the names; fractions are of fibres, by type S/FR/FF)."""

    species: str
    muscle: str
    n_units: int
    n_fibres: int
    fraction_s: float
    fraction_fr: float
    fraction_ff: float
    size_ratio: float  # largest / smallest innervation number
    axon_length_mm: float
    axon_cv_m_per_s: float
    fibre_diameter_um: float
    skin_depth_mm: float  # recording electrode to muscle surface
    territory_fraction: float  # mean unit territory / muscle cross-section
    oxidative_fraction: float  # fibres of the smallest (oxidative) units, kept in a deep region; 0 = none
    max_tetanic_force_n: float
    # Species-wide parameters ([SPECIES.common]).
    threshold_mean_ma: float
    threshold_cv: float
    threshold_noise_rsd: float
    axon_cv_spread: float
    fibre_diameter_cv: float
    fibre_potential_mv: float
    fibre_potential_width_ms: float
    depth_constant_mm: float
    width_per_mm: float
    endplate_spread_ms: float
    fibre_cv_m_per_s: float
    electrode_distance_mm: float
    twitch_tetanus_ratio_s: float
    twitch_tetanus_ratio_fr: float
    twitch_tetanus_ratio_ff: float
    specific_force_s: float
    specific_force_fr: float
    specific_force_ff: float
    noise_uv: float
    packing_fraction: float
    stimulation_distance_mm: float
    terminal_delay_ms: float
    threshold_size_exponent: float
    oxidative_region_density: float  # share of oxidative fibres inside the deep region
    # Fibres of the real muscle each model fibre stands for: 1 in the bundled presets; set by the
    # reduced-fidelity cohort muscles (therapy.cohort.reduced_muscles), read by the disease kernel.
    represents: float = 1.0

    @property
    def type_fractions(self) -> tuple[float, float, float]:
        return (self.fraction_s, self.fraction_fr, self.fraction_ff)

    def replace(self, **changes) -> MusclePreset:
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)} - {"species", "muscle"})
        if unknown:
            raise EndplateInputError(
                f"unknown muscle parameter(s) {', '.join(unknown)}; allowed: {', '.join(muscle_parameter_names())}"
            )
        new = dataclasses.replace(self, **changes)
        new.check()
        return new

    def check(self) -> None:
        if self.n_units < 1:
            raise EndplateInputError(f"{self.muscle}: n_units must be at least 1, got {self.n_units}")
        if self.n_fibres < self.n_units:
            raise EndplateInputError(
                f"{self.muscle}: impossible anatomy, more motor units ({self.n_units}) than fibres ({self.n_fibres}); "
                "every unit needs at least one fibre"
            )
        fractions = self.type_fractions
        if any(not (0 <= f <= 1) for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
            raise EndplateInputError(
                f"{self.muscle}: fibre-type fractions S, FR, FF must be in [0, 1] and sum to 1, got {fractions}"
            )
        for name in muscle_parameter_names():
            value = getattr(self, name)
            if name in ("n_units", "n_fibres", "fraction_s", "fraction_fr", "fraction_ff"):
                continue
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise EndplateInputError(f"{self.muscle}: {name} must be a finite non-negative number, got {value!r}")
            if name in POSITIVE and value <= 0:
                raise EndplateInputError(
                    f"{self.muscle}: {name} must be positive (a physical size, speed or force), got {value!r}"
                )
        if self.represents < 1:
            raise EndplateInputError(f"{self.muscle}: represents must be at least 1, got {self.represents}")
        if self.size_ratio < 1:
            raise EndplateInputError(f"{self.muscle}: size_ratio must be at least 1, got {self.size_ratio}")
        if not 0 <= self.oxidative_fraction < 1:
            raise EndplateInputError(f"{self.muscle}: oxidative_fraction must be in [0, 1), got {self.oxidative_fraction}")
        if self.oxidative_fraction > 0 and not self.oxidative_fraction <= self.oxidative_region_density <= 1:
            raise EndplateInputError(
                f"{self.muscle}: oxidative_region_density must be in [oxidative_fraction, 1], got {self.oxidative_region_density}"
            )
        if not 0 < self.territory_fraction <= 1:
            raise EndplateInputError(f"{self.muscle}: territory_fraction must be in (0, 1], got {self.territory_fraction}")


def muscle_parameter_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(MusclePreset) if f.name not in ("species", "muscle"))


@cache
def _table() -> dict:
    return tomllib.loads(resources.files("endplate.presets").joinpath("muscles.toml").read_text())


def muscles(species: str) -> list[str]:
    """Names of the bundled muscles of ``species``."""
    if species not in SPECIES:
        raise EndplateInputError(f"unknown species {species!r}; allowed: {', '.join(SPECIES)}")
    return [m for m in _table()[species] if m != "common"]


def muscle_provenance(species: str, muscle: str) -> dict[str, Provenance]:
    table = _table()[species]
    entries = {**table["common"], **table[muscle]}
    return {k: Provenance(v["source"], v["evidence"], v.get("note", "")) for k, v in entries.items()}


def load_muscle(species: str, muscle: str, **overrides) -> MusclePreset:
    """The preset of ``muscle`` in ``species`` (names are case-sensitive, as in the tables)."""
    names = muscles(species)
    if muscle not in names:
        raise EndplateInputError(f"unknown {species} muscle {muscle!r}; allowed: {', '.join(names)}")
    table = _table()[species]
    values = {k: v["value"] for k, v in {**table["common"], **table[muscle]}.items()}
    for k in ("n_units", "n_fibres"):
        values[k] = int(values[k])
    preset = MusclePreset(species=species, muscle=muscle, **values)
    preset.check()
    return preset.replace(**overrides) if overrides else preset
