"""One resolved disease model for every runner; one day loop; a typed run result."""

import dataclasses

import numpy as np
import pytest

from endplate import EndplateInputError
from endplate.disease import kernel as kern
from endplate.disease.model import K
from endplate.disease.resolve import resolve
from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import Untreated, init_muscle, run_days, simulate
from endplate.seeding import substreams

SMALL = dict(muscles=["EDL"], onset_muscles=["EDL"], end_stage_muscles=["EDL"], probe_days=[], probe_muscle="EDL", end_day=90)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"set": {"genotype.speed": 1.0}}, ("genotype.speed", "allowed")),
        ({"set": {"reinnervation.speed": 1.0}}, ("reinnervation.speed", "allowed")),
        ({"knockouts": ("nope",)}, ("unknown knockout 'nope'", "allowed")),
        ({"first_partner": "axon"}, ("first_partner 'axon'", "allowed")),
        ({"muscle_set": {"EDL": {"n_fibres": -3}}}, ("EDL", "fibres (-3)")),
        ({"muscles": ("EDL", "biceps")}, ("biceps",)),
    ],
)
def test_a_scenario_made_without_the_loader_is_checked_when_it_resolves(change, words):
    """dataclasses.replace skips load_scenario's checks; resolve makes them before any muscle is built."""
    sc = dataclasses.replace(load_scenario("sod1-g93a", **SMALL), **change)
    with pytest.raises(EndplateInputError) as err:
        resolve(sc)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_the_model_carries_genotype_changes_first_partner_and_muscle_presets():
    sc = load_scenario("sod1-g93a", first_partner="tsc", set={"genotype.width_days": 25.0}, **SMALL)
    model = resolve(sc)
    assert model.genotype.values["width_days"] == 25.0 and model.width_days == 25.0
    assert model.kernel_parameters[K["tsc_absent_at_denervation"]] > 0  # the tSC-first partner's value
    assert resolve(load_scenario("sod1-g93a", **SMALL)).kernel_parameters[K["tsc_absent_at_denervation"]] == 0
    sized = resolve(load_scenario("sod1-g93a", muscle_set={"EDL": {"n_fibres": 900}}, **SMALL))
    assert sized.muscle("EDL").muscle == "EDL" and sized.muscle("EDL").n_fibres == 900
    with pytest.raises(EndplateInputError, match="not simulated"):
        model.muscle("TA")
    model.kernel_parameters[0] = -1.0  # a fresh array each time: the model itself does not change
    assert model.kernel_parameters[0] != -1.0


def test_one_kernel_call_over_the_whole_course_gives_the_daily_tallies_of_a_run():
    """The loop the bench times (one stretch) is the loop runs use (stretches ending at readouts)."""
    sc = load_scenario("sod1-g93a", seed=3, **SMALL)
    run = simulate(sc)
    model = resolve(sc)
    states = {m: init_muscle(model, m, s) for m, s in substreams(sc.seed, *sc.muscles).items()}
    days = np.arange(sc.start_day, sc.end_day + 1)
    seen = []
    run_days(model, states, days, Untreated(), lambda d: int(days[-1]), lambda stretch: bool(seen.append(stretch)))
    assert len(seen) == 1 and np.array_equal(seen[0].days, days)
    force = 100 * seen[0].tallies["EDL"][:, kern.FORCE] / states["EDL"].baseline_force
    assert np.array_equal(force, run.muscles["EDL"].force_percent)
    assert run.muscles["EDL"].force_percent[-1] < 100  # the course moved


def test_the_run_result_is_typed_and_frozen():
    run = simulate(load_scenario("wild-type", **SMALL))
    assert run.onset_day is None and run.muscles["EDL"].force_percent.shape == run.day.shape
    assert run.mechanisms is run.model.mechanisms
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.onset_day = 3.0  # type: ignore[misc]


def test_a_reduced_muscle_stands_for_the_full_one_in_its_axon_trigger():
    """muscle_set with fewer fibres per unit: ``represents`` is the full unit's fibres over the reduced one's."""
    full = resolve(load_scenario("human-als")).muscle("APB")
    assert full.represents == 1.0
    changes = dict(muscles=["APB", "diaphragm"], onset_muscles=["APB"], end_stage_muscles=["diaphragm"], probe_muscle="APB")
    reduced = load_scenario(
        "human-als",
        **changes,
        muscle_set={"APB": {"n_fibres": 4600}, "diaphragm": {"n_units": 60, "n_fibres": 6000}},
    )
    model = resolve(reduced)
    assert model.muscle("APB").represents == pytest.approx((full.n_fibres / full.n_units) / (4600 / full.n_units))
    assert model.muscle("diaphragm").represents == pytest.approx(300_000 / 1000 / 100)
    # Given explicitly, it is kept; more fibres per unit than the preset is a muscle of its own.
    kept = load_scenario("human-als", **changes, muscle_set={"APB": {"n_fibres": 4600, "represents": 2.0}})
    assert resolve(kept).muscle("APB").represents == 2.0
    bigger = load_scenario("human-als", **changes, muscle_set={"APB": {"n_units": 100}})
    assert resolve(bigger).muscle("APB").represents == 1.0
