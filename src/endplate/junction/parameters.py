"""Junction parameters: frozen, unit-suffixed, each default traceable to a source.

Defaults live in ``presets/junction.toml`` (value, source key, evidence flag, note). This
module loads them, checks ranges once at the boundary, and hands plain numbers to kernels.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from endplate.errors import EndplateInputError

SPECIES = ("mouse", "human")
UNIT_TYPES = ("S", "FR", "FF")

# (low, high, inclusive-low) allowed ranges, checked whenever parameters are built.
_PROBABILITY = (0.0, 1.0)
_POSITIVE = (0.0, math.inf)
_ANY_VOLTAGE = (-150.0, 50.0)
_RANGES: dict[str, tuple[float, float]] = {
    "ca_mm": (0.0, 20.0),
    "mg_mm": (0.0, 50.0),
    "k_ca_mm": _POSITIVE,
    "k_mg_mm": _POSITIVE,
    "ca_cooperativity": (1.0, 6.0),
    "rrp_capacity_quanta": (1.0, 30000.0),
    "rrp_capacity_cv": (0.0, 2.0),
    "release_probability_max": _PROBABILITY,
    "saturation_occupancy": _POSITIVE,
    "facilitation_fast_increment": (0.0, 10.0),
    "facilitation_fast_tau_ms": _POSITIVE,
    "facilitation_slow_increment": (0.0, 10.0),
    "facilitation_slow_tau_ms": _POSITIVE,
    "refill_tau_rest_ms": _POSITIVE,
    "refill_activity_rate_per_ms": (0.0, 10.0),
    "mobilisation_increment": _PROBABILITY,
    "mobilisation_tau_ms": _POSITIVE,
    "mobilisation_refill_rate_per_ms": (0.0, 10.0),
    "potentiation_increment": _PROBABILITY,
    "potentiation_tau_ms": _POSITIVE,
    "potentiation_gain": (0.0, 10.0),
    "mepp_rate_hz": (0.0, 1000.0),
    "giant_mepp_fraction": _PROBABILITY,
    "giant_mepp_scale": (1.0, 20.0),
    "mepp_amplitude_mv": (0.0, 20.0),
    "quantal_cv": (0.0, 2.0),
    "achr_density_relative": (0.0, 5.0),
    "ache_activity_relative": _PROBABILITY,
    "ache_block_quantal_gain": (0.0, 10.0),
    "desensitisation_per_quantum": _PROBABILITY,
    "desensitisation_ache_gain": (0.0, 1e6),
    "desensitisation_tau_ms": _POSITIVE,
    "resting_potential_mv": _ANY_VOLTAGE,
    "threshold_potential_mv": _ANY_VOLTAGE,
    "achr_reversal_mv": _ANY_VOLTAGE,
    "nonlinear_summation_factor": (0.0, 1.0),
    "epp_rise_tau_ms": _POSITIVE,
    "epp_time_to_peak_ms": _POSITIVE,
    "synaptic_delay_ms": (0.0, 20.0),
    "release_latency_sd_ms": (0.0, 5.0),
    "branch_jitter_sd_ms": (0.0, 5.0),
    "tsc_gain": (-1.0, 1.0),
    "tsc_increment_per_quantum": _PROBABILITY,
    "tsc_tau_ms": _POSITIVE,
    "capacity_scale": (0.0, 20.0),
    "release_scale": (0.0, 20.0),
    "quantal_scale": (0.0, 20.0),
}


@dataclass(frozen=True)
class Provenance:
    """Where a default came from: bibliography key, evidence flag, and why."""

    source: str
    evidence: str
    note: str = ""


@dataclass(frozen=True)
class TypeScales:
    """Multipliers that distinguish S, FR and FF junctions from the species defaults."""

    capacity_scale: float = 1.0
    release_scale: float = 1.0
    quantal_scale: float = 1.0


@dataclass(frozen=True)
class JunctionParameters:
    """All junction parameters of one species (units in the names).

    Release probability per vesicle follows the Dodge-Rahamimoff scheme: the Ca occupancy of
    the release site, raised by residual Ca (facilitation), drives a saturating fourth-power
    release probability. The releasable pool refills at rest, faster with residual Ca, and
    faster still as mobilisation builds up over seconds of activity (a slow, saturating
    activity state). Post-tetanic potentiation is a slower saturating state, built by each
    impulse and decaying over tens of seconds, that adds to the residual-Ca occupancy and so
    raises release most where the occupancy is far from saturation. Quantal size follows AChR density and AChE activity. See
    ``docs/design.md`` for the equations.
    """

    species: str
    ca_mm: float
    mg_mm: float
    k_ca_mm: float
    k_mg_mm: float
    ca_cooperativity: float
    rrp_capacity_quanta: float
    rrp_capacity_cv: float
    release_probability_max: float
    saturation_occupancy: float
    facilitation_fast_increment: float
    facilitation_fast_tau_ms: float
    facilitation_slow_increment: float
    facilitation_slow_tau_ms: float
    refill_tau_rest_ms: float
    refill_activity_rate_per_ms: float
    mobilisation_increment: float
    mobilisation_tau_ms: float
    mobilisation_refill_rate_per_ms: float
    potentiation_increment: float
    potentiation_tau_ms: float
    potentiation_gain: float
    mepp_rate_hz: float
    giant_mepp_fraction: float
    giant_mepp_scale: float
    mepp_amplitude_mv: float
    quantal_cv: float
    achr_density_relative: float
    ache_activity_relative: float
    ache_block_quantal_gain: float
    desensitisation_per_quantum: float
    desensitisation_ache_gain: float
    desensitisation_tau_ms: float
    resting_potential_mv: float
    threshold_potential_mv: float
    achr_reversal_mv: float
    nonlinear_summation_factor: float
    epp_rise_tau_ms: float
    epp_time_to_peak_ms: float
    synaptic_delay_ms: float
    release_latency_sd_ms: float
    branch_jitter_sd_ms: float
    tsc_gain: float
    tsc_increment_per_quantum: float
    tsc_tau_ms: float
    types: Mapping[str, TypeScales] = dataclasses.field(default_factory=dict, compare=False)

    # Derived quantities: computed here once, never in the hot loop.
    @property
    def ca_occupancy(self) -> float:
        """Fraction of release sites occupied by Ca (Dodge & Rahamimoff competition with Mg)."""
        ca = self.ca_mm / self.k_ca_mm
        return ca / (1.0 + ca + self.mg_mm / self.k_mg_mm)

    @property
    def threshold_depolarisation_mv(self) -> float:
        """Depolarisation from rest that fires the fibre at the endplate (mV)."""
        return self.threshold_potential_mv - self.resting_potential_mv

    @property
    def nonlinear_summation_k_per_mv(self) -> float:
        """k in V = V_lin / (1 + k V_lin): f / driving force (McLachlan & Martin form)."""
        driving = self.achr_reversal_mv - self.resting_potential_mv
        return self.nonlinear_summation_factor / driving

    @property
    def quantal_size_mv(self) -> float:
        """Mean quantal EPP (mV) with the present AChR density and AChE activity."""
        ache_gain = 1.0 + self.ache_block_quantal_gain * (1.0 - self.ache_activity_relative)
        return self.mepp_amplitude_mv * self.achr_density_relative * ache_gain

    @property
    def desensitisation_per_quantum_effective(self) -> float:
        """Desensitisation per quantum, raised when AChE is inhibited (ACh lingers)."""
        inhibition = 1.0 - self.ache_activity_relative
        return min(1.0, self.desensitisation_per_quantum * (1.0 + self.desensitisation_ache_gain * inhibition))

    def release_probability(self, occupancy_gain: float = 1.0) -> float:
        """Per-vesicle release probability at rest, scaled occupancy ``occupancy_gain``."""
        return release_probability(
            self.release_probability_max,
            self.ca_occupancy * occupancy_gain,
            self.saturation_occupancy,
            self.ca_cooperativity,
        )

    def type_scales(self, unit_type: str) -> TypeScales:
        if unit_type not in self.types:
            raise EndplateInputError(f"unknown motor-unit type {unit_type!r}; allowed: {', '.join(self.types)}")
        return self.types[unit_type]

    def replace(self, **changes: float) -> JunctionParameters:
        """A copy with some values changed; names and ranges are checked."""
        unknown = sorted(set(changes) - set(parameter_names()))
        if unknown:
            raise EndplateInputError(
                f"unknown junction parameter(s) {', '.join(unknown)}; allowed: {', '.join(parameter_names())}"
            )
        new = dataclasses.replace(self, **{k: float(v) for k, v in changes.items()})
        new.check()
        return new

    def check(self) -> None:
        """Raise ``EndplateInputError`` naming the first value outside its range."""
        for name in parameter_names():
            check_range(name, getattr(self, name))
        if self.threshold_depolarisation_mv <= 0:
            raise EndplateInputError(
                f"threshold_potential_mv ({self.threshold_potential_mv}) must be above "
                f"resting_potential_mv ({self.resting_potential_mv})"
            )
        if self.achr_reversal_mv <= self.threshold_potential_mv:
            raise EndplateInputError("achr_reversal_mv must be above threshold_potential_mv")
        for unit_type, scales in self.types.items():
            for name, value in dataclasses.asdict(scales).items():
                check_range(f"{unit_type}.{name}", value, name)


def release_probability(p_max: float, occupancy: float, saturation: float, cooperativity: float) -> float:
    """Saturating power law p = p_max x^n / (x^n + K^n) of the Ca occupancy x."""
    xn = occupancy**cooperativity
    return p_max * xn / (xn + saturation**cooperativity)


def check_range(label: str, value: float, name: str | None = None) -> None:
    low, high = _RANGES[name or label]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise EndplateInputError(f"{label} must be a number in [{low}, {high}], got {value!r}")
    if not (low <= value <= high):
        raise EndplateInputError(f"{label} = {value} is out of range; allowed [{low}, {high}]")


def parameter_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(JunctionParameters) if f.name not in ("species", "types"))


@cache
def _preset_table() -> dict:
    text = resources.files("endplate.presets").joinpath("junction.toml").read_text()
    return tomllib.loads(text)


def parameter_provenance(species: str) -> dict[str, Provenance]:
    """Source and evidence of every default of ``species`` (including per-type scales)."""
    table = _species_table(species)
    out = {k: Provenance(v["source"], v["evidence"], v.get("note", "")) for k, v in table.items() if k != "types"}
    for unit_type, scales in table["types"].items():
        for k, v in scales.items():
            out[f"{unit_type}.{k}"] = Provenance(v["source"], v["evidence"], v.get("note", ""))
    return out


def _species_table(species: str) -> dict:
    table = _preset_table()
    if species not in table:
        raise EndplateInputError(f"unknown species {species!r}; allowed: {', '.join(SPECIES)}")
    return table[species]


def default_parameters(species: str = "mouse", **overrides: float) -> JunctionParameters:
    """The bundled defaults for ``species``, with optional checked overrides."""
    table = _species_table(species)
    values = {k: float(v["value"]) for k, v in table.items() if k != "types"}
    types = {t: TypeScales(**{k: float(v["value"]) for k, v in s.items()}) for t, s in table["types"].items()}
    params = JunctionParameters(species=species, types=types, **values)
    params.check()
    return params.replace(**overrides) if overrides else params
