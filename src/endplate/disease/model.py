"""Disease mechanisms and hypotheses: small named objects with parameters and sources.

A hypothesis is a composition of mechanisms (``presets/disease.toml``); a genotype sets the
disease drive and the genotype-specific strengths. ``kernel_parameters`` flattens the active
mechanisms into the numbers the daily kernel reads; an inactive mechanism contributes zero rates.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from endplate.errors import EndplateInputError
from endplate.junction.parameters import Provenance


@dataclass(frozen=True)
class Mechanism:
    name: str
    description: str
    values: dict[str, float]
    provenance: dict[str, Provenance] = field(compare=False)


@dataclass(frozen=True)
class Genotype:
    name: str
    species: str
    description: str
    values: dict[str, float]
    overrides: dict[str, float]
    provenance: dict[str, Provenance] = field(compare=False)
    calibrated_as: str = ""  # genotype whose shipped calibration applies (default: this one)


@cache
def _table() -> dict:
    return tomllib.loads(resources.files("endplate.presets").joinpath("disease.toml").read_text())


def _split(entries: dict) -> tuple[dict, dict]:
    values = {k: float(v["value"]) for k, v in entries.items() if isinstance(v, dict) and "value" in v}
    prov = {
        k: Provenance(v["source"], v["evidence"], v.get("note", ""))
        for k, v in entries.items()
        if isinstance(v, dict) and "value" in v
    }
    return values, prov


def _named(section: str) -> dict[str, Mechanism]:
    return {name: Mechanism(name, entry["description"], *_split(entry)) for name, entry in _table()[section].items()}


def mechanisms() -> dict[str, Mechanism]:
    return _named("mechanisms")


def first_partners() -> dict[str, Mechanism]:
    """Variants of which NMJ partner fails first (presynaptic, tsc, postsynaptic)."""
    return _named("first_partners")


def first_partner(name: str) -> Mechanism:
    known = first_partners()
    if name not in known:
        raise EndplateInputError(f"unknown first_partner {name!r}; allowed: {', '.join(known)}")
    return known[name]


ALWAYS_ACTIVE = ("pathways",)  # mechanisms that act under every hypothesis (they gate the others)


def knockouts() -> dict[str, dict]:
    """Genetic manipulations: name -> description, source and the pathway values it sets."""
    return dict(_table()["knockouts"])


def knockout_changes(names: tuple[str, ...]) -> dict[str, float]:
    """The ``pathways.NAME`` changes of the knockouts ``names`` (checked)."""
    known = knockouts()
    out = {}
    for name in names:
        if name not in known:
            raise EndplateInputError(f"unknown knockout {name!r}; allowed: {', '.join(known)}")
        out.update({k: float(v) for k, v in known[name]["sets"].items()})
    return out


def hypotheses() -> dict[str, tuple[str, ...]]:
    return {name: tuple(h["mechanisms"]) for name, h in _table()["hypotheses"].items()}


def genotypes() -> dict[str, Genotype]:
    out = {}
    for name, entry in _table()["genotypes"].items():
        values, prov = _split({k: v for k, v in entry.items() if "." not in k})
        overrides, oprov = _split({k: v for k, v in entry.items() if "." in k})
        out[name] = Genotype(
            name, entry["species"], entry["description"], values, overrides, {**prov, **oprov}, entry.get("calibrated_as", name)
        )
    return out


def hypothesis(name: str) -> tuple[str, ...]:
    known = hypotheses()
    if name not in known:
        raise EndplateInputError(f"unknown hypothesis {name!r}; allowed: {', '.join(known)}")
    return known[name]


def genotype(name: str) -> Genotype:
    known = genotypes()
    if name not in known:
        raise EndplateInputError(f"unknown genotype {name!r}; allowed: {', '.join(known)}")
    return known[name]


# Layout of the flat parameter vector read by the kernel.
KERNEL_FIELDS = (
    "vuln_s",
    "vuln_fr",
    "vuln_ff",
    "impaired_days",
    "withdrawing_days",
    "axon_threshold",
    "axon_rate",
    "secondary_rate",
    "wallerian_rate",
    "reinnervation_rate",
    "competence_s",
    "competence_fr",
    "competence_ff",
    "max_enlargement",
    "bridging_without_tsc",
    "maturation_days",
    "reinnervable_days",
    "tsc_loss",
    "atrophy_tau",
    "atrophy_floor",
    "recovery_days",
    "soma_death_blocked",
    "tsc_absent_at_denervation",
    "secondary_stages",
    "axon_degeneration_blocked",
    "pruning_width",
)
K = {name: i for i, name in enumerate(KERNEL_FIELDS)}


GENOTYPE_PREFIX = "genotype."


def with_changes(geno: Genotype, changes: dict[str, float] | None) -> Genotype:
    """``geno`` with its values replaced by the ``genotype.NAME`` keys of ``changes`` (checked)."""
    values = dict(geno.values)
    for key, value in (changes or {}).items():
        if not key.startswith(GENOTYPE_PREFIX):
            continue
        name = key[len(GENOTYPE_PREFIX) :]
        if name not in values:
            allowed = ", ".join(GENOTYPE_PREFIX + k for k in values)
            raise EndplateInputError(f"unknown genotype parameter {key!r}; allowed: {allowed}")
        if not np.isfinite(value) or (value < 0 and name != "midpoint_day") or (name == "width_days" and value <= 0):
            raise EndplateInputError(f"genotype parameter {key} out of range, got {value}")
        values[name] = float(value)
    return dataclasses.replace(geno, values=values)


def mechanism_values(hyp: str, geno: Genotype, changes: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
    """Values of every mechanism (mechanism -> name -> value), with genotype overrides and changes.

    ``changes`` keys are ``mechanism.parameter``; unknown names are refused. ``genotype.NAME``
    keys belong to the genotype (see ``with_changes``) and are skipped here.
    """
    mech = {name: dict(m.values) for name, m in mechanisms().items()}
    mine = {k: v for k, v in (changes or {}).items() if not k.startswith(GENOTYPE_PREFIX)}
    for key, value in {**geno.overrides, **mine}.items():
        m, _, p = key.partition(".")
        if m not in mech or p not in mech[m]:
            allowed = ", ".join(f"{a}.{b}" for a, vals in mech.items() for b in vals)
            raise EndplateInputError(
                f"unknown disease parameter {key!r}; allowed: {allowed}, and {GENOTYPE_PREFIX}NAME for the genotype's values"
            )
        if not np.isfinite(value) or value < 0:
            raise EndplateInputError(f"disease parameter {key} must be a non-negative number, got {value}")
        mech[m][p] = float(value)
    active = set(hypothesis(hyp)) | set(ALWAYS_ACTIVE)
    for m in mech:
        if m not in active:
            mech[m] = {k: 0.0 for k in mech[m]}
    return mech


def kernel_parameters(
    mech: dict[str, dict[str, float]], geno: Genotype, soma_death_blocked: bool, partner: Mechanism | None = None
) -> np.ndarray:
    t, r, a = mech["terminal_degeneration"], mech["reinnervation"], mech["atrophy"]
    ff_scale = geno.values.get("competence_ff_scale", 1.0)
    fr_scale = geno.values.get("competence_fr_scale", 1.0)
    values = {
        "vuln_s": t["vulnerability_s"],
        "vuln_fr": t["vulnerability_fr"],
        "vuln_ff": t["vulnerability_ff"],
        "impaired_days": max(t["impaired_days"], 1.0),
        "withdrawing_days": max(t["withdrawing_days"], 1.0),
        "axon_threshold": mech["retrograde_axon_loss"]["threshold_fraction"],
        "axon_rate": mech["retrograde_axon_loss"]["rate_per_day"],
        "secondary_rate": mech["secondary_soma_death"]["rate_per_day"],
        "wallerian_rate": mech["wallerian"]["rate_per_day"],
        "reinnervation_rate": r["rate_per_day"],
        "competence_s": r["competence_s"],
        "competence_fr": r["competence_fr"] * fr_scale,
        "competence_ff": r["competence_ff"] * ff_scale,
        "max_enlargement": r["max_enlargement"],
        "bridging_without_tsc": r["bridging_without_reactive_tsc"],
        "maturation_days": max(r["maturation_days"], 1.0),
        "reinnervable_days": r["reinnervable_days"],
        "tsc_loss": geno.values["tsc_loss_per_day"] if mech["tsc"] else 0.0,
        "atrophy_tau": max(a["tau_days"], 1.0),
        "atrophy_floor": a["floor"],
        "recovery_days": max(a["recovery_days"], 1.0),
        "soma_death_blocked": 1.0 if soma_death_blocked or mech["pathways"]["soma_death"] < 0.5 else 0.0,
        "axon_degeneration_blocked": 1.0 if mech["pathways"]["axon_degeneration"] < 0.5 else 0.0,
        "tsc_absent_at_denervation": partner.values["tsc_absent_at_denervation"] if partner and mech["tsc"] else 0.0,
        "secondary_stages": mech["secondary_soma_death"]["stages"],
        "pruning_width": t["pruning_width"],
    }
    return np.array([values[name] for name in KERNEL_FIELDS])


def drive_rates(mech: dict[str, dict[str, float]], geno: Genotype) -> tuple[float, float]:
    """Terminal and cortical drive rates (per day at the midpoint); zero where the mechanism is inactive."""
    term = (
        geno.values["terminal_rate_per_day"] * mech["pathways"]["terminal_hazard"]
        if mech["terminal_degeneration"]["vulnerability_ff"] > 0
        else 0.0
    )
    cort = geno.values["cortical_rate_per_day"] if mech["cortical_soma_death"]["vulnerability_ff"] > 0 else 0.0
    return term, cort


def drive(days: np.ndarray, rate: float, midpoint: float, width: float, start: float = -np.inf) -> np.ndarray:
    """Cumulative disease drive G(t) = integral from ``start`` to t of rate exp((s - midpoint) / width) ds.

    The hazard grows e-fold every ``width`` days (an accelerating disease, assumed); it equals
    ``rate`` per day at ``midpoint``. Vulnerability then orders the loss in time: a unit type ten
    times less vulnerable is lost about ``width`` x ln 10 days later. Before ``start`` (the
    genotype's ``drive_start_day``) nothing has acted, so a muscle is healthy until then.
    """
    t = np.asarray(days, float)
    x = (np.maximum(t, start) - midpoint) / width
    x0 = (start - midpoint) / width
    return rate * width * (np.exp(np.minimum(x, 50.0)) - np.exp(min(x0, 50.0)))
