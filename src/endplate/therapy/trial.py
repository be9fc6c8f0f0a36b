"""Trial specifications: arms, allocation, start, visits, endpoints, analysis, read from TOML.

Bundled trials live in ``presets/trials/NAME.toml``; a user passes a path. Every key is checked;
bad input raises ``EndplateInputError`` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from endplate.disease.model import genotype, hypothesis
from endplate.errors import EndplateInputError
from endplate.muscle.mune import METHODS
from endplate.muscle.presets import muscles as species_muscles
from endplate.therapy.interventions import Course, load_interventions

ENDPOINTS = ("cmap", "mune", "force", "composite", "onset", "survival")
SLOPE_ENDPOINTS = ("cmap", "mune", "force", "composite")
EVENT_ENDPOINTS = ("onset", "survival")


@dataclass(frozen=True)
class Trial:
    """A virtual trial: cohort (species, genotype, hypothesis, population), arms and their
    interventions with allocation weights, start, duration and visits (days), endpoints, seed,
    power settings and cohort fidelity. Made by ``load_trial`` from a TOML file; frozen."""

    name: str
    species: str
    genotype: str
    hypothesis: str
    muscles: tuple
    arms: dict  # arm -> tuple of plan entries (name or (name, start_day, duration_days))
    allocation: dict  # arm -> integer weight
    control: str
    subjects_per_arm: int
    start_relative_to: str  # "age" (simulation day) or "onset"
    start_days: tuple  # (low, high): drawn uniformly per subject (equal for a fixed start)
    duration_days: int
    visit_every_days: int
    endpoints: tuple
    primary: str
    seed: int = 0
    mune_method: str = "mps"
    alpha: float = 0.05
    power_sizes: tuple = (10, 20, 50, 100)
    power_replicates: int = 200
    fibres_per_unit: int = 0  # 0 = full muscles; otherwise the reduced-fidelity cohort model
    max_units: int = 0  # 0 = all units
    population: dict = field(default_factory=dict)
    max_days: int = 3650
    batch_size: int = 25
    interventions_files: tuple = ()
    description: str = ""

    @property
    def n_subjects(self) -> int:
        """``subjects_per_arm`` for an arm of allocation weight 1; an arm of weight w gets w times as many."""
        return self.subjects_per_arm * sum(self.allocation.values())

    @property
    def n_visits(self) -> int:
        return self.duration_days // self.visit_every_days + 1

    def settings_json(self) -> str:
        """Every setting as JSON, in field and insertion order: the order of the arms sets the allocation."""
        return json.dumps(dataclasses.asdict(self), default=list)

    def known_interventions(self) -> dict:
        return load_interventions(*self.interventions_files)


_TYPES = {
    "name": str, "description": str, "species": str, "genotype": str, "hypothesis": str, "muscles": list, "arms": dict,
    "control": str, "subjects_per_arm": int, "start": dict, "duration_days": int, "visit_every_days": int,
    "endpoints": list, "primary": str, "seed": int, "mune_method": str, "power": dict, "fidelity": dict,
    "population": dict, "max_days": int, "batch_size": int, "interventions_file": str,
}
REQUIRED = ("species", "genotype", "hypothesis", "muscles", "arms", "subjects_per_arm", "start", "duration_days",
            "visit_every_days", "endpoints", "primary")


def trial_from_settings(settings: str) -> Trial:
    """The trial a result was made with, from its stored ``settings`` (``Trial.settings_json``).

    JSON turns tuples into lists; they are turned back, so that the settings written again are
    the same text.
    """
    data = json.loads(settings)
    for key in ("muscles", "start_days", "endpoints", "power_sizes", "interventions_files"):
        data[key] = tuple(data[key])
    data["arms"] = {arm: tuple(e if isinstance(e, str) else tuple(e) for e in plan) for arm, plan in data["arms"].items()}
    trial = Trial(**data)
    missing = [f for f in trial.interventions_files if not Path(f).is_file()]
    if missing:
        raise EndplateInputError(f"the trial's interventions file {missing[0]!r} is gone; replay needs it in place")
    return trial


def bundled() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("endplate.presets").joinpath("trials").iterdir()
                  if p.name.endswith(".toml"))


def load_trial(spec: str, **changes) -> Trial:
    """A bundled trial by name or a TOML file; ``changes`` override top-level keys (checked).

    ``spec``: ``musk-agonist-sod1-mouse``, ``nmj-stabiliser-human`` or the path of a TOML file
    (docs/trials.md); ``changes``: e.g. ``seed=2``, ``subjects_per_arm=10`` (None is ignored).
    Raises ``EndplateInputError`` naming the file and what is wrong.
    """
    names = bundled()
    base = Path(".")
    if spec in names:
        where, text = f"bundled trial {spec!r}", resources.files("endplate.presets").joinpath("trials", f"{spec}.toml").read_text()
    else:
        path = Path(spec)
        if not path.is_file():
            raise EndplateInputError(f"no trial {spec!r}: not a bundled name ({', '.join(names)}) and no such file")
        where, text, base = f"trial file {str(path)!r}", path.read_text(), path.parent
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EndplateInputError(f"{where}: not valid TOML ({exc})") from None
    data.update({k: v for k, v in changes.items() if v is not None})

    def fail(msg):
        raise EndplateInputError(f"{where}: {msg}")

    for key, value in data.items():
        if key not in _TYPES:
            fail(f"unknown key {key!r}; allowed: {', '.join(_TYPES)}")
        want = _TYPES[key]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            fail(f"{key} must be a {want.__name__}, got {value!r}")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        fail(f"missing required key(s) {', '.join(missing)}")
    g = genotype(data["genotype"])
    if g.species != data["species"]:
        fail(f"genotype {data['genotype']!r} is for {g.species}, not {data['species']}")
    hypothesis(data["hypothesis"])
    available = species_muscles(data["species"])
    for m in data["muscles"]:
        if m not in available:
            fail(f"unknown {data['species']} muscle {m!r}; allowed: {', '.join(available)}")
    files = ()
    if "interventions_file" in data:
        files = (str((base / data["interventions_file"]).resolve()),)
    known = load_interventions(*files)
    arms, allocation = {}, {}
    if len(data["arms"]) < 2:
        fail("a trial needs at least two arms")
    for arm, entry in data["arms"].items():
        if not isinstance(entry, dict) or set(entry) - {"interventions", "allocation"}:
            fail(f"arm {arm!r} takes keys interventions (list) and allocation (integer)")
        plan = []
        for item in entry.get("interventions", []):
            if isinstance(item, str):
                plan.append(item)
            elif isinstance(item, dict) and "name" in item and not set(item) - {"name", "start_day", "duration_days"}:
                plan.append((item["name"], item.get("start_day"), item.get("duration_days")))
            else:
                fail(f"arm {arm!r}: an intervention is a name or {{name, start_day, duration_days}}, got {item!r}")
        try:
            Course.resolve(plan, 0.0, known)
        except EndplateInputError as exc:
            fail(f"arm {arm!r}: {exc}")
        weight = entry.get("allocation", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            fail(f"arm {arm!r}: allocation must be a positive integer, got {weight!r}")
        arms[arm], allocation[arm] = tuple(plan), weight
    control = data.get("control", next(iter(arms)))
    if control not in arms:
        fail(f"control arm {control!r} is not among the arms {list(arms)}")
    if data["subjects_per_arm"] < 2:
        fail(f"subjects_per_arm must be at least 2 (an arm with no subjects cannot be analysed), got {data['subjects_per_arm']}")
    start = data["start"]
    if set(start) - {"relative_to", "day", "days"} or start.get("relative_to") not in ("age", "onset"):
        fail("start takes relative_to = 'age' or 'onset' and day = D or days = [LOW, HIGH]")
    days = start.get("days", [start.get("day", 0)] * 2)
    if len(days) != 2 or not all(isinstance(d, int) and not isinstance(d, bool) for d in days) or not 0 <= days[0] <= days[1]:
        fail(f"start days must be whole days with 0 <= low <= high, got {days!r}")
    for key in ("duration_days", "visit_every_days"):
        if data[key] < 1:
            fail(f"{key} must be at least 1")
    for e in data["endpoints"]:
        if e not in ENDPOINTS:
            fail(f"unknown endpoint {e!r}; allowed: {', '.join(ENDPOINTS)}")
    if data["primary"] not in data["endpoints"]:
        fail(f"primary endpoint {data['primary']!r} must be one of the endpoints {data['endpoints']}")
    method = data.get("mune_method", "mps")
    if method not in METHODS:
        fail(f"unknown MUNE method {method!r}; allowed: {', '.join(METHODS)}")
    power = data.get("power", {})
    if set(power) - {"sizes", "replicates", "alpha"}:
        fail("power takes sizes (list), replicates and alpha")
    sizes = tuple(power.get("sizes", (10, 20, 50, 100)))
    if not sizes or any(not isinstance(n, int) or n < 2 for n in sizes):
        fail(f"power sizes must be whole numbers of subjects per arm >= 2, got {list(sizes)}")
    alpha = float(power.get("alpha", 0.05))
    if not 0 < alpha < 1:
        fail("power alpha must be between 0 and 1")
    fidelity = data.get("fidelity", {})
    if set(fidelity) - {"fibres_per_unit", "max_units"} or any(not isinstance(v, int) or v < 0 for v in fidelity.values()):
        fail("fidelity takes fibres_per_unit and max_units (non-negative integers; 0 = full muscle)")
    if data.get("seed", 0) < 0:
        fail("seed must be non-negative")
    if data.get("batch_size", 25) < 1:
        fail("batch_size must be at least 1")
    from endplate.therapy.cohort import check_population

    check_population(data["species"], data.get("population", {}), fail)
    return Trial(
        name=data.get("name", spec if spec in names else Path(spec).stem), species=data["species"],
        genotype=data["genotype"], hypothesis=data["hypothesis"], muscles=tuple(data["muscles"]), arms=arms,
        allocation=allocation, control=control, subjects_per_arm=data["subjects_per_arm"],
        start_relative_to=start["relative_to"], start_days=(int(days[0]), int(days[1])),
        duration_days=data["duration_days"], visit_every_days=data["visit_every_days"],
        endpoints=tuple(data["endpoints"]), primary=data["primary"], seed=data.get("seed", 0), mune_method=method,
        alpha=alpha, power_sizes=sizes, power_replicates=int(power.get("replicates", 200)),
        fibres_per_unit=fidelity.get("fibres_per_unit", 0), max_units=fidelity.get("max_units", 0),
        population=data.get("population", {}), max_days=data.get("max_days", 3650),
        batch_size=data.get("batch_size", 25), interventions_files=files, description=data.get("description", ""),
    )
