"""From a scenario to the disease model every runner steps: resolved once, in one place.

A loaded scenario already carries its calibrated values and knockouts as ``set`` changes
(``load_scenario``); ``resolve`` turns it into the genotype with its ``genotype.*`` changes, the
values of every mechanism (inactive ones zeroed), the first-partner variant, the kernel parameter
vector and the drive rates. ``simulate``, the trial subject runner, the observation models, the
dataset writer and ``endplate bench`` all take a ``DiseaseModel``, so none assembles its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from endplate.disease.model import (
    Genotype,
    Mechanism,
    drive_rates,
    first_partner,
    genotype,
    kernel_parameters,
    knockout_changes,
    mechanism_values,
    with_changes,
)
from endplate.disease.scenario import Scenario
from endplate.errors import EndplateInputError
from endplate.muscle.presets import MusclePreset, load_muscle


@dataclass(frozen=True)
class DiseaseModel:
    """What a scenario resolves to (frozen): read by every runner, built by ``resolve``.

    ``muscles``: the preset of each simulated muscle with its ``muscle_set`` changes;
    ``mechanisms``: mechanism -> parameter -> value (not to be changed: the model is shared by
    every muscle of a run, as a scenario's ``set`` is); ``kernel_values``: the
    kernel parameter vector (``model.KERNEL_FIELDS``); drive rates per day at the midpoint (0:
    the process does not act).
    """

    scenario: Scenario
    muscles: dict[str, MusclePreset]
    genotype: Genotype
    mechanisms: dict[str, dict[str, float]]
    partner: Mechanism
    kernel_values: tuple[float, ...]
    terminal_rate_per_day: float
    cortical_rate_per_day: float

    @property
    def kernel_parameters(self) -> np.ndarray:
        """The kernel parameter vector (a fresh array: the model stays frozen)."""
        return np.array(self.kernel_values)

    def muscle(self, name: str) -> MusclePreset:
        """The preset of the simulated muscle ``name``."""
        if name not in self.muscles:
            raise EndplateInputError(f"muscle {name!r} is not simulated; the scenario has: {', '.join(self.muscles)}")
        return self.muscles[name]

    @property
    def width_days(self) -> float:
        return self.genotype.values["width_days"]


def scenario_muscle(species: str, muscle: str, changes: dict) -> MusclePreset:
    """The preset of ``muscle`` with a scenario's ``muscle_set`` ``changes``.

    A muscle given fewer fibres per unit than its preset (a reduced-fidelity muscle, for speed)
    stands for the full one: unless the changes set ``represents`` themselves, it is the preset's
    fibres per unit over the reduced muscle's, so that each unit's axon-loss trigger reads the real
    unit's expected lost share (``kernel._lost_fraction``) and the reduced muscle loses its units
    as the full one does (issue 15: without it, a unit of a dozen fibres lost its axon early by the
    binomial scatter of its lost share). More fibres per unit than the preset: 1, a muscle of its own.
    """
    preset = load_muscle(species, muscle, **changes)
    if "represents" in changes or not ({"n_fibres", "n_units"} & set(changes)):
        return preset
    full = load_muscle(species, muscle)
    ratio = (full.n_fibres / full.n_units) / (preset.n_fibres / preset.n_units)
    return preset.replace(represents=ratio) if ratio > 1.0 else preset


def resolve(scenario: Scenario, geno: Genotype | None = None) -> DiseaseModel:
    """The disease model of ``scenario``; raises ``EndplateInputError`` naming a bad key.

    ``geno``: a genotype to use as it is instead of the scenario's with its ``genotype.*``
    changes (a trial subject's, whose values are drawn per subject). Every check made here is
    also made by ``load_scenario``, so a loaded scenario resolves; a scenario made another way
    (``dataclasses.replace``) is checked here, before any muscle is built (muscle names and
    ``muscle_set`` values with the muscle layer's own checks).
    """
    knockout_changes(scenario.knockouts)
    muscles = {m: scenario_muscle(scenario.species, m, scenario.muscle_set.get(m, {})) for m in scenario.muscles}
    g = with_changes(genotype(scenario.genotype), scenario.set) if geno is None else geno
    mech = mechanism_values(scenario.hypothesis, g, scenario.set)
    partner = first_partner(scenario.first_partner)
    p = kernel_parameters(mech, g, scenario.soma_death_blocked, partner)
    term, cort = drive_rates(mech, g)
    return DiseaseModel(
        scenario=scenario,
        muscles=muscles,
        genotype=g,
        mechanisms=mech,
        partner=partner,
        kernel_values=tuple(float(x) for x in p),
        terminal_rate_per_day=term,
        cortical_rate_per_day=cort,
    )
