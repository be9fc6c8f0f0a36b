"""Scenarios: what to simulate (species, genotype, hypothesis, muscles, days), loaded from TOML.

Bundled scenarios live in ``presets/scenarios/NAME.toml``; a user passes a path to their own.
Every key is checked: unknown keys, wrong types and out-of-range values are reported with the
file, the key, its line and the allowed values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from endplate.disease.model import (
    first_partners,
    genotype,
    genotypes,
    hypotheses,
    knockout_changes,
    mechanism_values,
    with_changes,
)
from endplate.errors import EndplateInputError
from endplate.junction.parameters import SPECIES
from endplate.limits import check_size
from endplate.muscle.mune import METHODS
from endplate.muscle.presets import load_muscle
from endplate.muscle.presets import muscles as species_muscles
from endplate.spec import SEED_MAX, check_table, fail, number, parse_toml, read_toml, rule

MAX_DAY = 36500  # a century: the longest course a scenario may ask for (limits.LIMITS["days"])


@dataclass(frozen=True)
class Scenario:
    """One animal or patient to simulate: species, genotype, hypothesis, muscles, days (from
    ``start_day`` to ``end_day``, ages in days), seed, readout schedules and parameter changes
    (``set``: mechanism and ``genotype.*`` keys; ``muscle_set``: muscle-preset keys). Made by
    ``load_scenario``; frozen. The metadata of each field is the range the loader enforces (``endplate.spec.rule``)."""

    name: str
    species: str = rule(choices=SPECIES)
    genotype: str = rule(choices=lambda: genotypes())
    hypothesis: str = rule(choices=lambda: hypotheses())
    muscles: tuple[str, ...] = rule()
    start_day: int = rule(low=0, high=MAX_DAY)
    end_day: int = rule(low=1, high=MAX_DAY)
    seed: int = rule(0, low=0, high=SEED_MAX)
    readout_every_days: int = rule(7, low=1)  # larger than the course: no readouts but the first
    mune_method: str = rule("mps", choices=METHODS)
    mune_every_days: int = rule(14, low=1)
    soma_death_blocked: bool = False
    knockouts: tuple[str, ...] = ()  # genetic manipulations (disease.toml [knockouts]); they close pathways
    first_partner: str = rule("presynaptic", choices=lambda: first_partners())
    onset_muscles: tuple[str, ...] = ()
    onset_force_fraction: float = rule(0.8, above=0, high=0.999999)
    end_stage_muscles: tuple[str, ...] = ()
    end_stage_force_fraction: float = rule(0.2, above=0, high=0.999999)
    onset_delay_days: dict = rule(factory=dict)  # muscle -> days (finite, |d| <= MAX_DAY)
    reference_axon_length_mm: float = rule(40.0, above=0, high=10_000)
    set: dict = rule(factory=dict)  # mechanism.parameter or genotype.NAME -> value, checked at load
    muscle_set: dict = rule(factory=dict)  # muscle -> {preset parameter: value}, checked at load
    probe_days: tuple[int, ...] = ()
    probe_muscle: str = ""
    description: str = ""
    calibrated: bool = True  # apply the shipped calibrated values of this genotype and hypothesis (``set`` still wins)
    calibration: dict = rule(factory=dict, internal=True)  # filled by the loader: provenance of the values applied

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def bundled() -> list[str]:
    return sorted(
        p.name[:-5] for p in resources.files("endplate.presets").joinpath("scenarios").iterdir() if p.name.endswith(".toml")
    )


def load_scenario(spec: str, allow_large: bool = False, **changes) -> Scenario:
    """A bundled scenario by name, or a TOML file by path; ``changes`` override keys (checked).

    ``spec``: a bundled name (``sod1-g93a``, ``sod1-g93a-c57bl6``, ``wild-type``, ``human-als``) or
    the path of a TOML file (docs/scenarios.md). ``changes``: any scenario key, e.g.
    ``hypothesis="dying_forward"``, ``muscles=["TA"]``, ``seed=2``, ``set={"reinnervation.rate_per_day": 0.05}``;
    None values are ignored. The shipped calibration of the genotype and hypothesis is applied
    under the scenario's own ``set`` (``calibrated=False`` leaves it out; ``calibration`` says
    what was applied). ``allow_large``: accept muscles and courses above the limits of
    ``endplate.limits``. Raises ``EndplateInputError`` naming the file, key, line and allowed values.
    """
    names = bundled()
    if spec in names:
        where = f"bundled scenario {spec!r}"
        text = resources.files("endplate.presets").joinpath("scenarios", f"{spec}.toml").read_text()
        data = parse_toml(text, where)
    else:
        path = Path(spec)
        if not path.is_file():
            raise EndplateInputError(f"no scenario {spec!r}: not a bundled name ({', '.join(names)}) and no such file")
        data, text, where = read_toml(path, "scenario")
    data.update({k: v for k, v in changes.items() if v is not None})
    data.setdefault("name", spec if spec in names else Path(spec).stem)
    scenario = Scenario(**check_table(Scenario, data, where, text))
    _check(scenario, where, text, allow_large)
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
    stored = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items() if k != "calibration"}
    scenario = Scenario(**check_table(Scenario, stored, where, ""), calibration=dict(values.get("calibration", {})))
    _check(scenario, where, "", allow_large=True)  # it was run once: its sizes were accepted then
    return scenario


def _apply_calibration(s: Scenario) -> Scenario:
    """Shipped calibrated values (presets/calibrated/) become defaults under the scenario's own ``set``."""
    if not s.calibrated:
        return s
    from endplate.disease.calibrated import calibrated_values
    from endplate.disease.model import genotype

    found = calibrated_values(genotype(s.genotype).calibrated_as, s.hypothesis, s.first_partner)
    if found is None:
        return s
    values, provenance = found
    return dataclasses.replace(
        s, set={**values, **s.set}, calibration={**provenance, "applied": sorted(k for k in values if k not in s.set)}
    )


def _check(s: Scenario, where: str, text: str, allow_large: bool) -> None:
    """What one field alone cannot say: keys that name muscles or parameters, and sizes."""
    available = species_muscles(s.species)
    g = genotype(s.genotype)
    if g.species != s.species:
        fail(where, text, "genotype", f"genotype {s.genotype!r} is for {g.species}, not {s.species}")
    try:
        knockout_changes(s.knockouts)
    except EndplateInputError as exc:
        fail(where, text, "knockouts", str(exc))
    if not s.muscles:
        fail(where, text, "muscles", "at least one muscle is needed")
    for key in ("muscles", "onset_muscles", "end_stage_muscles"):
        for m in getattr(s, key):
            if m not in available:
                fail(where, text, key, f"unknown {s.species} muscle {m!r} in {key}; allowed: {', '.join(available)}")
    for m, d in s.onset_delay_days.items():
        if m not in s.muscles:
            fail(
                where, text, "onset_delay_days", f"onset_delay_days names {m!r}, which is not among the muscles {list(s.muscles)}"
            )
        number(f"onset_delay_days.{m}", d, where, text, low=-MAX_DAY, high=MAX_DAY)
    if not s.start_day < s.end_day:
        fail(where, text, "end_day", f"need 0 <= start_day < end_day <= {MAX_DAY}, got {s.start_day} and {s.end_day}")
    check_size("days", s.end_day - s.start_day, "end_day - start_day", allow_large, where)
    _check_set(s, where, text)
    _check_muscle_set(s, where, text, allow_large)
    if s.probe_muscle and s.probe_muscle not in s.muscles:
        fail(where, text, "probe_muscle", f"probe_muscle {s.probe_muscle!r} is not among the muscles {list(s.muscles)}")
    for d in s.probe_days:
        if not s.start_day <= d <= s.end_day:
            fail(where, text, "probe_days", f"probe day {d!r} must be a whole day between start_day and end_day")


def _check_set(s: Scenario, where: str, text: str) -> None:
    """``set`` keys name mechanism or genotype parameters; checked now, not when the run has started."""
    for key, value in s.set.items():
        number(f"set.{key}", value, where, text)
    try:
        mechanism_values(s.hypothesis, with_changes(genotype(s.genotype), s.set), s.set)
    except EndplateInputError as exc:
        fail(where, text, "set", f"set: {exc}")


def _check_muscle_set(s: Scenario, where: str, text: str, allow_large: bool) -> None:
    """``muscle_set`` tables change muscle presets: known muscles and parameters, physical values, sizes."""
    for m, changes in s.muscle_set.items():
        if m not in s.muscles:
            fail(where, text, "muscle_set", f"muscle_set names {m!r}, which is not among the muscles {list(s.muscles)}")
        if not isinstance(changes, dict):
            fail(where, text, "muscle_set", f"muscle_set.{m} must be a table of preset parameters, got {changes!r}")
        values = {}
        for key, value in changes.items():
            whole = key in ("n_units", "n_fibres")
            if whole and (isinstance(value, bool) or not isinstance(value, int)):
                fail(where, text, key, f"muscle_set.{m}.{key} must be a whole number, got {value!r}")
            values[key] = value if whole else number(f"muscle_set.{m}.{key}", value, where, text)
        try:
            preset = load_muscle(s.species, m, **values)
        except EndplateInputError as exc:
            fail(where, text, f"muscle_set.{m}", f"muscle_set.{m}: {str(exc).removeprefix(f'{m}: ')}")
        check_size("fibres", preset.n_fibres, f"muscle_set.{m}.n_fibres", allow_large, where)
        check_size("units", preset.n_units, f"muscle_set.{m}.n_units", allow_large, where)
