"""Calibration problems: a scenario, its competing models, priors with reasons, and targets.

A problem is ``calibrate/problems/NAME.toml``. ``models`` is a list (data, not code): each entry
is a set of scenario changes (``hypothesis``, and later e.g. ``first_partner``) and the names of
the parameters it fits. A prior maps a parameter to a scenario ``set`` key with its distribution
and the reason for its range. A ``[truth]`` table makes the problem synthetic: its target values
are simulated from the named model and values with a fixed seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from endplate.calibrate.registry import Target, load_registry
from endplate.errors import EndplateInputError
from endplate.spec import parse_toml

DISTRIBUTIONS = ("uniform", "loguniform")
# A simulated observation that is not a finite number (it should not happen; guarded anyway) is
# replaced by a value far outside every target's range, so the particle is rejected, not crashed.
NOT_OBSERVED = 1e6


@dataclass(frozen=True)
class Prior:
    name: str
    key: str  # scenario ``set`` key: mechanism.parameter or genotype.NAME
    distribution: str
    low: float
    high: float
    reason: str

    @property
    def bounds(self) -> tuple[float, float]:
        """Bounds in the space the sampler works in (log10 for log-uniform priors)."""
        if self.distribution == "loguniform":
            return math.log10(self.low), math.log10(self.high)
        return self.low, self.high

    def natural(self, x: float) -> float:
        """Sampler-space value to the parameter's own units."""
        return 10.0**x if self.distribution == "loguniform" else float(x)

    def sampler_space(self, value: float) -> float:
        return math.log10(value) if self.distribution == "loguniform" else float(value)


@dataclass(frozen=True)
class Model:
    name: str
    changes: dict
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    name: str
    description: str
    scenario: str
    scenario_changes: dict
    models: tuple[Model, ...]
    priors: dict[str, Prior]
    targets: tuple[Target, ...]
    truth: dict = field(default_factory=dict)

    def target_ids(self) -> list[str]:
        return [t.id for t in self.targets]

    def sources(self) -> list[str]:
        return list(dict.fromkeys(t.source for t in self.targets))

    def without_source(self, source: str) -> Problem:
        return dataclasses.replace(self, targets=tuple(t for t in self.targets if t.source != source))

    def observed(self) -> dict[str, float]:
        return {t.id: t.value for t in self.targets}


def bundled_problems() -> list[str]:
    folder = resources.files("endplate.calibrate").joinpath("problems")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@cache
def _problem_text(name: str) -> str:
    return resources.files("endplate.calibrate").joinpath("problems", f"{name}.toml").read_text()


def load_problem(name: str, targets_path: str | Path | None = None) -> Problem:
    """A bundled problem by name; ``targets_path`` replaces the bundled target registry."""
    allowed = bundled_problems()
    if name not in allowed:
        raise EndplateInputError(f"unknown calibration problem {name!r}; allowed: {', '.join(allowed)}")
    data = parse_toml(_problem_text(name), f"calibration problem {name!r}")
    priors = {
        k: Prior(k, v["key"], v["distribution"], float(v["low"]), float(v["high"]), v["reason"])
        for k, v in data["priors"].items()
    }
    for p in priors.values():
        if p.distribution not in DISTRIBUTIONS or not p.low < p.high or (p.distribution == "loguniform" and p.low <= 0):
            raise EndplateInputError(f"problem {name}: prior {p.name} must be {' or '.join(DISTRIBUTIONS)} with 0 < low < high")
    models = tuple(Model(m["name"], dict(m.get("changes", {})), tuple(m["parameters"])) for m in data["models"])
    for m in models:
        unknown = [p for p in m.parameters if p not in priors]
        if unknown:
            raise EndplateInputError(f"problem {name}: model {m.name} fits {unknown} without a prior")
    targets = tuple(load_registry(targets_path, data["targets"]))
    if not targets:
        raise EndplateInputError(f"problem {name}: the target file has no rows for problem {data['targets']!r}")
    problem = Problem(
        name,
        data["description"],
        data["scenario"],
        dict(data.get("scenario_changes", {})),
        models,
        priors,
        targets,
        dict(data.get("truth", {})),
    )
    if problem.truth:
        problem = _with_truth(problem)
    missing = [t.id for t in problem.targets if not math.isfinite(t.value)]
    if missing:
        raise EndplateInputError(f"problem {name}: target(s) {', '.join(missing)} have no value")
    return problem


def _with_truth(problem: Problem) -> Problem:
    """Fill the target values by simulating the true model and values once (fixed seed)."""
    t = problem.truth
    index = [m.name for m in problem.models].index(t["model"])
    x = {k: problem.priors[k].sampler_space(v) for k, v in t["values"].items()}
    observed = simulate_targets(problem, index, x, int(t["seed"]))
    return dataclasses.replace(problem, targets=tuple(dataclasses.replace(tg, value=observed[tg.id]) for tg in problem.targets))


def particle_seed(model_index: int, x: dict[str, float], run_seed: int) -> int:
    """Seed of one simulation: a hash of the model, its parameter values and the fit's seed.

    Every simulation is therefore replayable from the stored particle alone.
    """
    text = repr((model_index, sorted((k, float(v)) for k, v in x.items()), int(run_seed)))
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def scenario_for(problem: Problem, model_index: int, x: dict[str, float], seed: int):
    """The scenario one particle simulates: the problem's scenario, model changes and parameter values.

    Shipped calibrated values are not applied: a fit starts from the presets and the priors.
    """
    from endplate.disease.scenario import load_scenario

    model = problem.models[model_index]
    changes = {problem.priors[k].key: problem.priors[k].natural(v) for k, v in x.items()}
    return load_scenario(
        problem.scenario, seed=seed, calibrated=False, **{**problem.scenario_changes, **model.changes, "set": changes}
    )


def simulate_targets(
    problem: Problem, model_index: int, x: dict[str, float], seed: int, targets: tuple[Target, ...] | None = None
) -> dict[str, float]:
    """Simulate one animal or patient and observe every target as it was measured.

    ``x`` maps parameter names to sampler-space values (log10 for log-uniform priors).
    """
    from endplate.disease.simulate import simulate

    run = simulate(scenario_for(problem, model_index, x, seed))
    rng = np.random.default_rng(seed)
    out = {}
    for t in targets or problem.targets:
        value = t.observation.observe(run, rng, seed)
        out[t.id] = float(value) if math.isfinite(value) else NOT_OBSERVED
    return out


@dataclass(frozen=True)
class ProblemModel:
    """One competing model as the ABC sampler calls it: parameters in, observed targets out."""

    problem: Problem
    model_index: int
    run_seed: int

    def __call__(self, pars) -> dict[str, float]:
        _one_thread()
        x = {k: float(pars[k]) for k in self.problem.models[self.model_index].parameters}
        return simulate_targets(self.problem, self.model_index, x, particle_seed(self.model_index, x, self.run_seed))


def _one_thread() -> None:
    # Each Dask worker runs one simulation at a time; Numba's own thread pool would only
    # oversubscribe the cores (measured: 50x slower on a busy 2-core machine).
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)
