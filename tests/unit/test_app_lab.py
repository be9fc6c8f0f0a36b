"""The app's server side without a browser: inputs are checked, work runs and is reported."""

import asyncio

import pytest

from endplate.app import lab
from endplate.errors import EndplateInputError


@pytest.mark.parametrize(
    "args, needle",
    [
        (("dog", "TA", "SOD1-G93A", "dying_back"), "unknown species 'dog'"),
        (("mouse", "APB", "SOD1-G93A", "dying_back"), "unknown mouse muscle 'APB'; allowed: TA"),
        (("human", "APB", "SOD1-G93A", "dying_back"), "unknown human genotype"),
        (("mouse", "TA", "SOD1-G93A", "import os"), "unknown hypothesis 'import os'"),
        (("mouse", "TA", "SOD1-G93A", "dying_back", ("no_such_drug",)), "unknown intervention"),
        (("mouse", "TA", "SOD1-G93A", "dying_back", ("riluzole", "riluzole")), "interventions: each of"),
        (("mouse", "TA", "SOD1-G93A", "dying_back", ("riluzole",) * 10**5), "interventions: each of"),
        (("mouse", "TA", "SOD1-G93A", "dying_back", "riluzole"), "interventions: each of"),
    ],
)
def test_app_inputs_outside_the_offered_choices_are_refused_by_name(args, needle):
    with pytest.raises(EndplateInputError, match=needle.replace("(", r"\(")):
        lab.check_inputs(*args)


@pytest.mark.parametrize("seed", [-1, 2**40, 1.5, True, "7"])
def test_app_seed_must_be_a_whole_number_in_range(seed):
    with pytest.raises(EndplateInputError, match="seed must be a whole number"):
        lab.check_inputs("mouse", "TA", "SOD1-G93A", "dying_back", (), seed)


def test_app_offers_every_species_muscle_and_a_list_of_interventions():
    c = lab.choices()
    assert set(c["muscles"]) == {"mouse", "human"} and "TA" in c["muscles"]["mouse"]
    assert "sporadic-ALS" in c["genotypes"]["human"] and "sporadic-ALS" not in c["genotypes"]["mouse"]
    assert isinstance(c["interventions"], list)


def test_app_scenario_simulates_only_the_chosen_muscle_with_probes_for_the_day_slider():
    sc = lab.scenario(lab.check_inputs("mouse", "soleus", "wild-type", "dying_forward", (), 5))
    assert sc.muscles == ("soleus",) and sc.probe_muscle == "soleus" and sc.seed == 5
    assert len(sc.probe_days) == lab.N_PROBES and sc.probe_days[0] == sc.start_day and sc.probe_days[-1] == sc.end_day


def test_emg_lab_refuses_an_age_outside_the_course():
    inputs = lab.check_inputs("mouse", "TA", "SOD1-G93A", "dying_back")
    with pytest.raises(EndplateInputError, match="age must be a whole day from 20 to 150"):
        lab.emg_lab(inputs, 400)


def test_page_reports_a_tampered_value_as_an_input_error_and_keeps_working():
    from endplate.app.ui import LabPage

    page = LabPage()
    page.hypothesis.options = [*page.hypothesis.options, "<b>__import__('os')</b>"]
    page.hypothesis.value = "<b>__import__('os')</b>"
    asyncio.run(page._simulate_course())
    assert page.status.alert_type == "danger" and "Input not accepted" in page.status.object
    assert "&lt;b&gt;" in page.status.object and "<b>" not in page.status.object
    assert not page.run_course.disabled and page.course is None


def test_page_runs_the_course_in_a_worker_and_draws_it():
    from endplate.app.ui import LabPage

    page = LabPage()
    page.muscle.value = "EDL"
    asyncio.run(page._simulate_course())
    assert page.status.alert_type == "success", page.status.object
    assert "EDL" in page.status.object and page.course_plot.object is not None
    assert not page.day.disabled and "Day" in page.day_readout.object
