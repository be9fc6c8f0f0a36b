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


def resolve(scenario: Scenario, geno: Genotype | None = None) -> DiseaseModel:
    """The disease model of ``scenario``; raises ``EndplateInputError`` naming a bad key.

    ``geno``: a genotype to use as it is instead of the scenario's with its ``genotype.*``
    changes (a trial subject's, whose values are drawn per subject). Every check made here is
    also made by ``load_scenario``, so a loaded scenario resolves; a scenario made another way
    (``dataclasses.replace``) is checked here, before any muscle is built (muscle names and
    ``muscle_set`` values with the muscle layer's own checks).
    """
    knockout_changes(scenario.knockouts)
    muscles = {m: load_muscle(scenario.species, m, **scenario.muscle_set.get(m, {})) for m in scenario.muscles}
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
