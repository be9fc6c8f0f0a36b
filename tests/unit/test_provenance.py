"""Provenance: one writer and one reader; the stored inputs rebuild the very objects a result was made with."""

import dataclasses
import json

import pytest

from endplate.errors import EndplateInputError
from endplate.provenance import PROVENANCE_SCHEMA, provenance_attrs, read_provenance, record_inputs


def test_written_provenance_reads_back_with_an_integer_seed():
    attrs = provenance_attrs("protocol", 7, backend="numpy", calibration={"problem": "x"})
    record_inputs(attrs, sets={"ca_mm": 1}, perturbations=["achr_loss"])
    prov = read_provenance(attrs)
    assert (prov.result, prov.seed, prov.backend, prov.schema) == ("protocol", 7, "numpy", PROVENANCE_SCHEMA)
    assert prov.sets == {"ca_mm": 1.0} and prov.perturbations == ("achr_loss",) and prov.calibration == {"problem": "x"}
    assert isinstance(attrs["seed"], int)


def test_the_reader_refuses_results_it_cannot_replay():
    with pytest.raises(EndplateInputError, match="not an endplate result"):
        read_provenance({"endplate_result": "demo"})
    with pytest.raises(EndplateInputError, match="provenance_schema"):
        read_provenance({"endplate_result": "run", "seed": 1, "endplate_version": "0.1.0"})
    newer = {**provenance_attrs("run", 1), "provenance_schema": PROVENANCE_SCHEMA + 1}
    with pytest.raises(EndplateInputError, match="newer endplate"):
        read_provenance(newer)


def test_stored_junction_parameters_rebuild_with_default_parameters_and_exactly():
    from endplate.junction.epp import epp
    from endplate.junction.parameters import default_parameters
    from endplate.junction.perturbations import apply_perturbations
    from endplate.junction.provenance import junction_parameters

    params = apply_perturbations(default_parameters("human"), ["achr_loss"]).replace(ca_mm=1.7)
    attrs = epp(params, n_junctions=2, n_stimuli=2, seed=1).attrs
    again = default_parameters(attrs["species"], **json.loads(attrs["parameters"]))  # raised TypeError (species)
    assert again.ca_mm == 1.7 and again.species == "human"
    exact = junction_parameters(attrs)
    assert exact == params and exact.types == params.types


def test_stored_scenario_values_rebuild_the_scenario_without_calibrating_twice():
    from endplate.disease.scenario import load_scenario, scenario_from_values

    sc = load_scenario("sod1-g93a", set={"reinnervation.rate_per_day": 0.05})
    again = scenario_from_values(json.loads(json.dumps(sc.as_dict(), default=list)))
    assert again == sc and again.calibration == sc.calibration
    with pytest.raises(EndplateInputError, match="unknown key"):
        scenario_from_values({**sc.as_dict(), "colour": "red"})


def test_stored_trial_settings_rebuild_the_trial_and_keep_the_arm_order():
    from endplate.therapy.cohort import allocate
    from endplate.therapy.trial import load_trial, trial_from_settings

    trial = load_trial("musk-agonist-sod1-mouse")
    swapped = dataclasses.replace(
        trial, arms=dict(reversed(trial.arms.items())), allocation=dict(reversed(trial.allocation.items()))
    )
    assert swapped.settings_json() != trial.settings_json()  # the order sets the allocation: it is a setting
    for t in (trial, swapped):
        again = trial_from_settings(t.settings_json())
        assert again == t and again.settings_json() == t.settings_json() and allocate(again) == allocate(t)
