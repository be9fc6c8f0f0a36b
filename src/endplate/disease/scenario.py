"""Scenarios: what to simulate (species, genotype, hypothesis, muscles, days), loaded from TOML.

Bundled scenarios live in ``presets/scenarios/NAME.toml``; a user passes a path to their own.
Every key is checked: unknown keys, wrong types and out-of-range values are reported with the
file, the key, its line and the allowed values.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from endplate.disease.model import first_partners, genotype, hypothesis, knockout_changes
from endplate.errors import EndplateInputError
from endplate.muscle.presets import muscles as species_muscles


@dataclass(frozen=True)
class Scenario:
    """One animal or patient to simulate: species, genotype, hypothesis, muscles, days (from
    ``start_day`` to ``end_day``, ages in days), seed, readout schedules and parameter changes
    (``set``: mechanism and ``genotype.*`` keys; ``muscle_set``: muscle-preset keys). Made by
    ``load_scenario``; frozen."""

    name: str
    species: str
    genotype: str
    hypothesis: str
    muscles: tuple[str, ...]
    start_day: int
    end_day: int
    seed: int = 0
    readout_every_days: int = 7
    mune_method: str = "mps"
    mune_every_days: int = 14
    soma_death_blocked: bool = False
    knockouts: tuple[str, ...] = ()  # genetic manipulations (disease.toml [knockouts]); they close pathways
    first_partner: str = "presynaptic"
    onset_muscles: tuple[str, ...] = ()
    onset_force_fraction: float = 0.8
    end_stage_muscles: tuple[str, ...] = ()
    end_stage_force_fraction: float = 0.2
    onset_delay_days: dict = field(default_factory=dict)
    reference_axon_length_mm: float = 40.0
    set: dict = field(default_factory=dict)
    muscle_set: dict = field(default_factory=dict)
    probe_days: tuple = ()
    probe_muscle: str = ""
    description: str = ""
    calibrated: bool = True  # apply the shipped calibrated values of this genotype and hypothesis (``set`` still wins)
    calibration: dict = field(default_factory=dict)  # filled by the loader: provenance of the values applied


    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


_TYPES = {
    "name": str, "species": str, "genotype": str, "hypothesis": str, "muscles": list, "start_day": int, "end_day": int,
    "seed": int, "readout_every_days": int, "mune_method": str, "mune_every_days": int, "soma_death_blocked": bool, "knockouts": list, "first_partner": str,
    "onset_muscles": list, "onset_force_fraction": float, "end_stage_muscles": list, "end_stage_force_fraction": float,
    "onset_delay_days": dict, "reference_axon_length_mm": float, "set": dict, "muscle_set": dict, "probe_days": list, "probe_muscle": str, "description": str,
    "calibrated": bool,
}


def bundled() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("endplate.presets").joinpath("scenarios").iterdir()
                  if p.name.endswith(".toml"))


def _line(text: str, key: str) -> str:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line):
            return f", line {i}"
    return ""


def load_scenario(spec: str, **changes) -> Scenario:
    """A bundled scenario by name, or a TOML file by path; ``changes`` override keys (checked).

    ``spec``: a bundled name (``sod1-g93a``, ``sod1-g93a-c57bl6``, ``wild-type``, ``human-als``) or
    the path of a TOML file (docs/scenarios.md). ``changes``: any scenario key, e.g.
    ``hypothesis="dying_forward"``, ``muscles=["TA"]``, ``seed=2``, ``set={"reinnervation.rate_per_day": 0.05}``;
    None values are ignored. The shipped calibration of the genotype and hypothesis is applied
    under the scenario's own ``set`` (``calibrated=False`` leaves it out; ``calibration`` says
    what was applied). Raises ``EndplateInputError`` naming the file, key, line and allowed values.
    """
    names = bundled()
    if spec in names:
        where = f"bundled scenario {spec!r}"
        text = resources.files("endplate.presets").joinpath("scenarios", f"{spec}.toml").read_text()
    else:
        path = Path(spec)
        if not path.is_file():
            raise EndplateInputError(f"no scenario {spec!r}: not a bundled name ({', '.join(names)}) and no such file")
        where, text = f"scenario file {str(path)!r}", path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EndplateInputError(f"{where}: not valid TOML ({exc})") from None
    data.update({k: v for k, v in changes.items() if v is not None})
    for key, value in data.items():
        if key not in _TYPES:
            raise EndplateInputError(f"{where}{_line(text, key)}: unknown key {key!r}; allowed: {', '.join(_TYPES)}")
        want = _TYPES[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            data[key], ok = float(value), True
        if not ok:
            raise EndplateInputError(f"{where}{_line(text, key)}: {key} must be a {want.__name__}, got {value!r}")
    missing = [k for k in ("species", "genotype", "hypothesis", "muscles", "start_day", "end_day") if k not in data]
    if missing:
        raise EndplateInputError(f"{where}: missing required key(s) {', '.join(missing)}")
    data.setdefault("name", spec if spec in names else Path(spec).stem)
    for key in TUPLE_KEYS:
        data[key] = tuple(data.get(key, ()))
    scenario = Scenario(**data)
    _check(scenario, where, text)
    return _apply_knockouts(_apply_calibration(scenario))


def _apply_knockouts(s: Scenario) -> Scenario:
    """Knockouts become ``pathways.NAME`` changes; they win over calibrated values and ``set``."""
    return dataclasses.replace(s, set={**s.set, **knockout_changes(s.knockouts)}) if s.knockouts else s


TUPLE_KEYS = ("muscles", "onset_muscles", "end_stage_muscles", "probe_days", "knockouts")


def scenario_from_values(values: dict, where: str = "a saved run's scenario") -> Scenario:
    """The scenario a run was made with, from its stored values (``Scenario.as_dict``), checked.

    The shipped calibration and the knockouts are not applied again: the stored ``set`` already
    holds the values they gave, and ``calibration`` says which were calibrated.
    """
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(Scenario)})
    if unknown:
        raise EndplateInputError(f"{where}: unknown key(s) {', '.join(unknown)}; it was written by another endplate")
    data = {**values, **{k: tuple(values.get(k, ())) for k in TUPLE_KEYS}}
    scenario = Scenario(**data)
    _check(scenario, where, "")
    return scenario


def _apply_calibration(s: Scenario) -> Scenario:
    """Shipped calibrated values (presets/calibrated/) become defaults under the scenario's own ``set``."""
    if not s.calibrated:
        return s
    from endplate.disease.calibrated import calibrated_values
    from endplate.disease.model import genotype

    found = calibrated_values(genotype(s.genotype).calibrated_as, s.hypothesis)
    if found is None:
        return s
    values, provenance = found
    return dataclasses.replace(s, set={**values, **s.set},
                               calibration={**provenance, "applied": sorted(k for k in values if k not in s.set)})


def _check(s: Scenario, where: str, text: str) -> None:
    def fail(key, message):
        raise EndplateInputError(f"{where}{_line(text, key)}: {message}")

    available = species_muscles(s.species)
    g = genotype(s.genotype)
    if g.species != s.species:
        fail("genotype", f"genotype {s.genotype!r} is for {g.species}, not {s.species}")
    hypothesis(s.hypothesis)
    try:
        knockout_changes(s.knockouts)
    except EndplateInputError as exc:
        fail("knockouts", str(exc))
    if s.first_partner not in first_partners():
        fail("first_partner", f"unknown first_partner {s.first_partner!r}; allowed: {', '.join(first_partners())}")
    for key in ("muscles", "onset_muscles", "end_stage_muscles"):
        for m in getattr(s, key):
            if m not in available:
                fail(key, f"unknown {s.species} muscle {m!r} in {key}; allowed: {', '.join(available)}")
    if not s.muscles:
        fail("muscles", "at least one muscle is needed")
    for m in s.onset_delay_days:
        if m not in s.muscles:
            fail("onset_delay_days", f"onset_delay_days names {m!r}, which is not among the muscles {list(s.muscles)}")
    if not (0 <= s.start_day < s.end_day <= 36500):
        fail("end_day", f"need 0 <= start_day < end_day <= 36500, got {s.start_day} and {s.end_day}")
    for key in ("readout_every_days", "mune_every_days"):
        if getattr(s, key) < 1:
            fail(key, f"{key} must be at least 1")
    for key in ("onset_force_fraction", "end_stage_force_fraction"):
        if not 0 < getattr(s, key) < 1:
            fail(key, f"{key} must be between 0 and 1")
    from endplate.muscle.mune import METHODS

    if s.mune_method not in METHODS:
        fail("mune_method", f"unknown MUNE method {s.mune_method!r}; allowed: {', '.join(METHODS)}")
    if s.seed < 0:
        fail("seed", "seed must be non-negative")
    if s.probe_muscle and s.probe_muscle not in s.muscles:
        fail("probe_muscle", f"probe_muscle {s.probe_muscle!r} is not among the muscles {list(s.muscles)}")
    for d in s.probe_days:
        if not isinstance(d, int) or not s.start_day <= d <= s.end_day:
            fail("probe_days", f"probe day {d!r} must be a whole day between start_day and end_day")
