"""The muscle as the disease has left it on a given day: what the EMG lab records from.

A one-muscle version of the bundled scenario of a genotype is run up to the day asked; the
muscle's anatomy is then copied with its atrophy brought up to date and its junctions as the
disease has left them (``effective_junctions``), so that every muscle readout (SFEMG, RNS,
CMAP scan, MUNE, cross-section) can be recorded from it as from a healthy one.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from endplate.disease.scenario import Scenario, bundled, load_scenario
from endplate.errors import EndplateInputError
from endplate.muscle.anatomy import Anatomy

Progress = Callable[[int, int], None]


def base_scenario(genotype: str, species: str | None = None) -> Scenario:
    """The bundled scenario of ``genotype`` (else the first of its species): it sets the days and onset definitions."""
    scenarios = [load_scenario(name) for name in bundled()]
    for sc in scenarios:
        if sc.genotype == genotype:
            return sc
    matching = [sc for sc in scenarios if sc.species == species]
    if not matching:
        raise EndplateInputError(f"no bundled scenario for genotype {genotype!r}")
    return matching[0]


def one_muscle_scenario(
    genotype: str,
    hypothesis: str,
    muscle: str,
    seed: int,
    species: str | None = None,
    end_day: int | None = None,
    probe_days: tuple[int, ...] = (),
    **changes,
) -> Scenario:
    """The genotype's bundled scenario reduced to ``muscle`` (onset and end stage read there), to ``end_day``."""
    base = base_scenario(genotype, species)
    return load_scenario(
        base.name,
        end_day=base.end_day if end_day is None else end_day,
        genotype=genotype,
        hypothesis=hypothesis,
        seed=seed,
        muscles=[muscle],
        onset_muscles=[muscle],
        end_stage_muscles=[muscle],
        onset_delay_days={},
        onset_site="",  # the muscle is its own onset region: no spread delay
        probe_muscle=muscle,
        probe_days=list(probe_days),
        **changes,
    )


def check_day(scenario: Scenario, day, what: str = "day") -> int:
    """``day`` as a whole day of ``scenario``'s course, else EndplateInputError naming ``what`` and the range."""
    first, last = scenario.start_day, scenario.end_day
    if isinstance(day, bool) or not isinstance(day, (int, np.integer)) or not first <= day <= last:
        raise EndplateInputError(f"{what} must be a whole day from {first} to {last}, got {day!r}")
    return int(day)


def snapshot(state) -> Anatomy:
    """A copy of the state's anatomy with the disease's junctions (the state keeps its own)."""
    from endplate.disease.simulate import effective_junctions

    junctions = effective_junctions(state)
    healthy, state.anatomy.junctions = state.anatomy.junctions, None
    try:
        anatomy = copy.deepcopy(state.anatomy)
    finally:
        state.anatomy.junctions = healthy
    anatomy.junctions = junctions
    return anatomy


def muscles_on_days(
    scenario: Scenario, muscle: str, days, progress: Progress | None = None, interventions=None
) -> dict[int, Anatomy]:
    """``muscle`` of ``scenario`` on each of ``days`` (whole days of the course), as the disease left it."""
    read = muscle_states_on_days(scenario, muscle, days, lambda state: None, progress, interventions)
    return {day: anatomy for day, (anatomy, _) in read.items()}


def muscle_states_on_days(
    scenario: Scenario,
    muscle: str,
    days,
    read: Callable[[Any], Any],
    progress: Progress | None = None,
    interventions=None,
) -> dict[int, tuple[Anatomy, Any]]:
    """``muscle`` on each of ``days`` with ``read(state)`` of its disease state (a ``MuscleState``) beside it.

    ``read`` sees the state after the day's atrophy is brought up to date and must copy what it
    keeps (the state goes on changing).
    """
    from endplate.disease.simulate import refresh_atrophy, simulate

    if muscle not in scenario.muscles:
        raise EndplateInputError(f"muscle {muscle!r} is not simulated; the scenario has: {', '.join(scenario.muscles)}")
    wanted = sorted({check_day(scenario, d) for d in days})
    # A scenario spans at least two days; a muscle on its first day is read on that day all the same.
    run = dataclasses.replace(scenario, end_day=max(wanted[-1], scenario.start_day + 1))
    out: dict[int, tuple[Anatomy, Any]] = {}

    def look(day: int, state) -> None:
        refresh_atrophy(state, day)
        out[day] = (snapshot(state), read(state))

    if len(wanted) == 1:  # one day: the run ends there, without stopping every day to look
        look(wanted[0], simulate(run, progress=progress, interventions=interventions).states[muscle])
        return out

    def observe(day: int, states: dict) -> None:
        if day in wanted:
            look(day, states[muscle])

    simulate(run, progress=progress, interventions=interventions, observe=observe)
    return out


def muscle_on_day(scenario: Scenario, muscle: str, day: int, progress: Progress | None = None, interventions=None) -> Anatomy:
    """``muscle`` of ``scenario`` on ``day`` as the disease has left it, junctions included."""
    return muscles_on_days(scenario, muscle, [day], progress, interventions)[check_day(scenario, day)]


def saved_scenario(attrs: dict) -> Scenario:
    """The scenario of a saved ``endplate run`` result, from its provenance (``attrs["scenario"]``).

    The saved result keeps daily tallies and probe cross-sections, not the state of every
    junction, so a muscle on a given day is re-simulated from this scenario (same seed, same
    calibrated values), which replays the run exactly.
    """
    import json

    if "scenario" not in attrs:
        raise EndplateInputError("the file is not an endplate run result: it has no 'scenario' in its provenance")
    fields = {f.name for f in dataclasses.fields(Scenario)}
    data: dict[str, Any] = {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in json.loads(attrs["scenario"]).items() if k in fields
    }
    return Scenario(**data)
