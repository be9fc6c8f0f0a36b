"""Trial specifications: arms, allocation, start, visits, endpoints, analysis, read from TOML.

Bundled trials live in ``presets/trials/NAME.toml``; a user passes a path. Every key is checked;
bad input raises ``EndplateInputError`` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from endplate.disease.model import genotype, genotypes, hypotheses
from endplate.disease.scenario import MAX_DAY
from endplate.errors import EndplateInputError
from endplate.junction.parameters import SPECIES
from endplate.limits import LIMITS, check_size
from endplate.muscle.mune import METHODS
from endplate.muscle.presets import muscles as species_muscles
from endplate.spec import SEED_MAX, check_table, line_of, parse_toml, read_toml, rule
from endplate.therapy.interventions import Course, draw_effects, load_interventions
from endplate.therapy.power import BANK_FACTOR

ENDPOINTS = ("cmap", "mune", "munix_sum", "force", "composite", "onset", "survival", "cafs")
SLOPE_ENDPOINTS = ("cmap", "mune", "munix_sum", "force", "composite")
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
    power_replicates: int = 200  # fresh simulated trials per size
    power_bank_per_arm: int = 0  # 0 = endplate.therapy.power.BANK_FACTOR x the largest size
    power_target: float = 0.8
    fibres_per_unit: int = 0  # 0 = full muscles; otherwise the reduced-fidelity cohort model
    max_units: int = 0  # 0 = all units
    population: dict = field(default_factory=dict)
    enrichment: dict = field(default_factory=dict)  # screening criteria (_Enrichment keys)
    max_days: int = 3650
    batch_size: int = 25
    interventions_files: tuple = ()
    description: str = ""
    effects_seed: int | None = None  # seed of the effect draws when not ``seed`` (a power bank's)

    @property
    def n_subjects(self) -> int:
        """``subjects_per_arm`` for an arm of allocation weight 1; an arm of weight w gets w times as many."""
        return self.subjects_per_arm * sum(self.allocation.values())

    @property
    def power_points(self) -> tuple[int, ...]:
        """Sizes per arm of the power curve: the trial's own among them, so its power is a point of the curve."""
        return tuple(sorted({*self.power_sizes, self.subjects_per_arm}))

    @property
    def bank_per_arm(self) -> int:
        """Fresh subjects per arm simulated for prospective power (``endplate.therapy.power``)."""
        return self.power_bank_per_arm or BANK_FACTOR * max(self.power_points)

    @property
    def n_visits(self) -> int:
        return self.duration_days // self.visit_every_days + 1

    def settings_json(self) -> str:
        """Every setting as JSON, in field and insertion order: the order of the arms sets the allocation."""
        return json.dumps(dataclasses.asdict(self), default=list)

    def intervention_names(self, arm: str) -> list[str]:
        """The names of the interventions in ``arm``'s plan, in order (a plan entry is a name or (name, start, duration))."""
        return [e if isinstance(e, str) else e[0] for e in self.arms[arm]]

    def known_interventions(self) -> dict:
        """The interventions this trial knows, each uncertain effect drawn once from the trial's
        seed (``effects_seed`` where set: a power bank takes its trial's draw)."""
        seed = self.seed if self.effects_seed is None else self.effects_seed
        return draw_effects(load_interventions(*self.interventions_files), seed)


@dataclass(frozen=True)
class _Start:
    relative_to: str = rule(choices=("age", "onset"))
    day: int = rule(0, low=0, high=MAX_DAY)
    days: tuple[int, ...] = rule((), low=0, high=MAX_DAY)  # [LOW, HIGH]: drawn per subject


@dataclass(frozen=True)
class _Power:
    sizes: tuple[int, ...] = rule((10, 20, 50, 100), low=2, high=LIMITS["subjects"].maximum)
    replicates: int = rule(200, low=1, high=100_000)
    alpha: float = rule(0.05, above=0, high=0.5)
    bank_per_arm: int = rule(0, low=0, high=LIMITS["subjects"].maximum)
    target: float = rule(0.8, above=0, high=0.99)


@dataclass(frozen=True)
class _Enrichment:
    """Screening at randomisation; a subject failing a criterion is a screen failure, not enrolled (0 = no criterion)."""

    # ALSFRS-R points lost per month from onset to randomisation, (48 - baseline score) / months
    min_progression_points_per_month: float = rule(0.0, low=0, high=48)
    min_baseline_munix_sum: float = rule(0.0, low=0, high=1e6)  # MUNIX sum over the trial's muscles at baseline


@dataclass(frozen=True)
class _Fidelity:
    fibres_per_unit: int = rule(0, low=0, high=100_000)  # 0 = full muscles
    max_units: int = rule(0, low=0, high=LIMITS["units"].maximum)  # 0 = all units


@dataclass(frozen=True)
class _Arm:
    interventions: tuple = ()  # names, or tables {name, start_day, duration_days}
    allocation: int = rule(1, low=1, high=1000)


@dataclass(frozen=True)
class _PlanItem:
    name: str
    start_day: float | None = rule(None, low=0, high=MAX_DAY)
    duration_days: float | None = rule(None, above=0, high=MAX_DAY)


@dataclass(frozen=True)
class _TrialFile:
    """The keys of a trial TOML file, with the ranges the loader enforces."""

    species: str = rule(choices=SPECIES)
    genotype: str = rule(choices=lambda: genotypes())
    hypothesis: str = rule(choices=lambda: hypotheses())
    muscles: tuple[str, ...] = rule()
    arms: dict = rule()
    subjects_per_arm: int = rule(low=2)
    start: dict = rule()
    duration_days: int = rule(low=1, high=MAX_DAY)
    visit_every_days: int = rule(low=1, high=MAX_DAY)
    endpoints: tuple[str, ...] = rule(choices=ENDPOINTS)
    primary: str = rule(choices=ENDPOINTS)
    name: str = ""
    description: str = ""
    control: str = ""
    seed: int = rule(0, low=0, high=SEED_MAX)
    mune_method: str = rule("mps", choices=METHODS)
    power: dict = rule(factory=dict)
    fidelity: dict = rule(factory=dict)
    population: dict = rule(factory=dict)
    enrichment: dict = rule(factory=dict)
    max_days: int = rule(3650, low=1, high=MAX_DAY)
    batch_size: int = rule(25, low=1)
    interventions_file: str = ""


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
    return sorted(
        p.name[:-5] for p in resources.files("endplate.presets").joinpath("trials").iterdir() if p.name.endswith(".toml")
    )


def load_trial(spec: str, allow_large: bool = False, **changes) -> Trial:
    """A bundled trial by name or a TOML file; ``changes`` override top-level keys (checked).

    ``spec``: a bundled name (``musk-agonist-sod1-mouse``, ``nmj-stabiliser-human``, ``riluzole-human``,
    ``edaravone-human``) or the path of a TOML file
    (docs/trials.md); ``changes``: e.g. ``seed=2``, ``subjects_per_arm=10`` (None is ignored).
    ``allow_large``: accept trials above the limits of ``endplate.limits`` (subjects, batch size).
    Raises ``EndplateInputError`` naming the file and what is wrong.
    """
    names = bundled()
    base = Path(".")
    if spec in names:
        where, text = (
            f"bundled trial {spec!r}",
            resources.files("endplate.presets").joinpath("trials", f"{spec}.toml").read_text(),
        )
        data = parse_toml(text, where)
    else:
        path = Path(spec)
        if not path.is_file():
            raise EndplateInputError(f"no trial {spec!r}: not a bundled name ({', '.join(names)}) and no such file")
        data, text, where = read_toml(path, "trial")
        base = path.parent
    data.update({k: v for k, v in changes.items() if v is not None})
    f = _TrialFile(**check_table(_TrialFile, data, where, text))

    def fail(msg, key=""):
        raise EndplateInputError(f"{where}{line_of(text, key) if key else ''}: {msg}")

    g = genotype(f.genotype)
    if g.species != f.species:
        fail(f"genotype {f.genotype!r} is for {g.species}, not {f.species}", "genotype")
    available = species_muscles(f.species)
    for m in f.muscles:
        if m not in available:
            fail(f"unknown {f.species} muscle {m!r}; allowed: {', '.join(available)}", "muscles")
    files = (str((base / f.interventions_file).resolve()),) if f.interventions_file else ()
    known = load_interventions(*files)
    arms, allocation = _arms(f, known, where, text)
    control = f.control or next(iter(arms))
    if control not in arms:
        fail(f"control arm {control!r} is not among the arms {list(arms)}", "control")
    start = _Start(**check_table(_Start, f.start, where, text, "start."))
    days = start.days or (start.day, start.day)
    if len(days) != 2 or not days[0] <= days[1]:
        fail(f"start.days must be [LOW, HIGH] whole days with 0 <= LOW <= HIGH, got {list(days)!r}", "days")
    if "munix_sum" in f.endpoints and (f.mune_method != "munix" or "mune" not in f.endpoints):
        fail(
            f'endpoint munix_sum needs the mune endpoint (visits measure MUNE only then) and mune_method = "munix"; '
            f"got endpoints {list(f.endpoints)} and mune_method {f.mune_method!r}",
            "endpoints",
        )
    if f.primary not in f.endpoints:
        fail(f"primary endpoint {f.primary!r} must be one of the endpoints {list(f.endpoints)}", "primary")
    power = _Power(**check_table(_Power, f.power, where, text, "power."))
    enrichment = _Enrichment(**check_table(_Enrichment, f.enrichment, where, text, "enrichment."))
    if enrichment.min_baseline_munix_sum and "munix_sum" not in f.endpoints:
        fail(
            "enrichment.min_baseline_munix_sum needs the munix_sum endpoint (MUNIX measured at visits)", "min_baseline_munix_sum"
        )
    if enrichment.min_progression_points_per_month and start.relative_to != "onset":
        fail('enrichment.min_progression_points_per_month needs start.relative_to = "onset"', "min_progression_points_per_month")
    fidelity = _Fidelity(**check_table(_Fidelity, f.fidelity, where, text, "fidelity."))
    from endplate.therapy.cohort import check_population

    check_population(f.species, f.population, fail)
    trial = Trial(
        name=f.name or (spec if spec in names else Path(spec).stem),
        species=f.species,
        genotype=f.genotype,
        hypothesis=f.hypothesis,
        muscles=f.muscles,
        arms=arms,
        allocation=allocation,
        control=control,
        subjects_per_arm=f.subjects_per_arm,
        start_relative_to=start.relative_to,
        start_days=(int(days[0]), int(days[1])),
        duration_days=f.duration_days,
        visit_every_days=f.visit_every_days,
        endpoints=f.endpoints,
        primary=f.primary,
        seed=f.seed,
        mune_method=f.mune_method,
        alpha=power.alpha,
        power_sizes=power.sizes,
        power_replicates=power.replicates,
        power_bank_per_arm=power.bank_per_arm,
        power_target=power.target,
        fibres_per_unit=fidelity.fibres_per_unit,
        max_units=fidelity.max_units,
        population=f.population,
        enrichment=dataclasses.asdict(enrichment),
        max_days=f.max_days,
        batch_size=f.batch_size,
        interventions_files=files,
        description=f.description,
    )
    if trial.bank_per_arm < max(trial.power_points):
        fail(
            f"power.bank_per_arm = {trial.bank_per_arm} is below the largest size {max(trial.power_points)}: "
            "trials are drawn from the bank without replacement",
            "bank_per_arm",
        )
    check_size("subjects", trial.n_subjects, "subjects_per_arm x allocation weights", allow_large, where)
    check_size("subjects", 2 * trial.bank_per_arm, "2 x power.bank_per_arm (the power bank)", allow_large, where)
    check_size("batch_size", trial.batch_size, "batch_size", allow_large, where)
    return trial


def _arms(f: _TrialFile, known: dict, where: str, text: str) -> tuple[dict, dict]:
    """Each arm's plan (names or (name, start_day, duration_days)) and allocation weight, checked."""
    if len(f.arms) < 2:
        raise EndplateInputError(f"{where}{line_of(text, 'arms')}: a trial needs at least two arms")
    arms, allocation = {}, {}
    for arm, entry in f.arms.items():
        checked = _Arm(**check_table(_Arm, entry, where, text, f"arms.{arm}."))
        plan: list = []
        for i, item in enumerate(checked.interventions):
            if isinstance(item, str):
                plan.append(item)
            else:
                p = _PlanItem(**check_table(_PlanItem, item, where, text, f"arms.{arm}.interventions[{i}]."))
                plan.append((p.name, p.start_day, p.duration_days))
        try:
            Course.resolve(plan, 0.0, known)
        except EndplateInputError as exc:
            raise EndplateInputError(f"{where}{line_of(text, arm)}: arm {arm!r}: {exc}") from None
        arms[arm], allocation[arm] = tuple(plan), checked.allocation
    return arms, allocation
