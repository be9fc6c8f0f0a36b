"""Between-subject spread of the virtual cohorts and the uncertainty of effect sizes (issue 15.3-15.4)."""

from __future__ import annotations

import numpy as np
import pytest

from endplate.errors import EndplateInputError
from endplate.therapy.cohort import FEMALE_DELAY_DAYS, SPREADS, Spread, draw_subject
from endplate.therapy.interventions import bundled, draw_effects, load_interventions
from endplate.therapy.trial import load_trial


def _mouse_trial(**population):
    return load_trial("musk-agonist-sod1-mouse", population={"strain": "B6SJL", **population})


def test_a_cohort_animal_is_the_calibrated_animal_before_its_random_effects():
    # The shipped SOD1 calibration sets genotype.* values; a cohort animal must carry them, as
    # `endplate run` does, or the cohort simulates a different disease from the scenario.
    s = draw_subject(_mouse_trial(midpoint_sd_days=0.0), 0, "vehicle")
    calibrated = {k.split(".", 1)[1]: v for k, v in s.scenario.set.items() if k.startswith("genotype.")}
    assert calibrated, "the SOD1 scenario is expected to ship a calibration with genotype values"
    for name, value in calibrated.items():
        if name != "midpoint_day":
            assert s.genotype.values[name] == pytest.approx(value), name


@pytest.mark.parametrize("strain", ["B6SJL", "C57BL6"])
def test_females_start_later_on_b6sjl_only_by_the_published_survival_difference(strain):
    trial = load_trial("musk-agonist-sod1-mouse", population={"strain": strain, "midpoint_sd_days": 0.0})
    shifts = {}
    for i in range(12):
        cov = draw_subject(trial, i, "vehicle").covariates
        shifts.setdefault(cov["sex"], set()).add(round(cov["midpoint_shift_days"], 9))
    assert shifts["male"] == {0.0}
    assert shifts["female"] == {FEMALE_DELAY_DAYS[strain]}
    assert FEMALE_DELAY_DAYS["B6SJL"] == pytest.approx(132.8 - 127.9) and FEMALE_DELAY_DAYS["C57BL6"] == 0.0


def test_midpoint_shift_of_a_colony_spreads_with_its_declared_sd():
    trial = _mouse_trial(female_fraction=0.0)
    shifts = np.array([draw_subject(trial, i, "vehicle").covariates["midpoint_shift_days"] for i in range(150)])
    sd = SPREADS["midpoint_shift_days"].sd
    # SE of an SD from 150 draws is about 6 %; 20 % is well outside chance.
    assert abs(shifts.std(ddof=1) / sd - 1) < 0.2
    assert abs(shifts.mean()) < 3 * sd / np.sqrt(150)


def test_spread_draws_follow_their_distribution():
    rng = np.random.default_rng(0)
    logn = Spread("x", "lognormal", 2.0, 0.5, "s", "assumed", "why")
    x = np.array([logn.draw(rng) for _ in range(4000)])
    assert np.median(x) == pytest.approx(2.0, rel=0.05) and np.log(x).std() == pytest.approx(0.5, rel=0.05)
    norm = Spread("y", "normal", 57.2, 12.3, "s", "read", "why", (20.0, 90.0))
    y = np.array([norm.draw(rng) for _ in range(4000)])
    assert y.min() >= 20 and y.max() <= 90 and y.mean() == pytest.approx(57.2, abs=1.0)
    assert norm.draw(np.random.default_rng(1), centre=0.0, sd=0.0) == 20.0  # overrides, then the clip


def test_patients_draw_age_and_progression_from_the_declared_spreads():
    trial = load_trial("riluzole-human")
    cov = [draw_subject(trial, i, "placebo").covariates for i in range(120)]
    age = np.array([c["age_years"] for c in cov])
    assert age.mean() == pytest.approx(SPREADS["age_years"].centre, abs=3.5)
    assert age.std(ddof=1) == pytest.approx(SPREADS["age_years"].sd, rel=0.2)
    f = np.array([c["progression_factor"] for c in cov]) / np.exp(0.02 * (age - 60))
    assert np.log(f).std(ddof=1) == pytest.approx(SPREADS["progression_factor"].sd, rel=0.2)


def test_every_spread_names_its_source_and_evidence():
    for s in SPREADS.values():
        assert s.source and s.why and s.evidence in ("read", "recalled", "secondary", "assumed")


def test_an_uncertain_effect_is_drawn_once_per_trial_within_its_range():
    known = bundled()
    draws = [draw_effects(known, seed)["riluzole"].effects for seed in range(200)]
    lo, hi = known["riluzole"].uncertainty["hazard.terminal"]
    hr = np.array([d["hazard.terminal"] for d in draws])
    assert lo <= hr.min() and hr.max() <= hi and len(set(hr)) > 150
    assert np.median(hr) == pytest.approx(known["riluzole"].effects["hazard.terminal"], abs=0.02)
    # one potency per intervention: its effects move together
    assert all(d["hazard.terminal"] == d["hazard.cortical"] for d in draws)
    assert draw_effects(known, 7) == draw_effects(known, 7)
    # effects below 1 and above 1 get stronger together (smaller hazard, longer stages)
    m = [draw_effects(known, seed)["musk_agonist"].effects for seed in range(50)]
    corr = np.corrcoef([d["hazard.terminal"] for d in m], [d["terminal_degeneration.impaired_days"] for d in m])[0, 1]
    assert corr < -0.9


def test_a_trial_draws_its_effects_from_its_own_seed():
    a, b = (load_trial("riluzole-human", seed=s).known_interventions()["riluzole"] for s in (3, 4))
    assert a.effects != b.effects
    assert a == draw_effects(bundled(), 3)["riluzole"]


def test_every_bundled_intervention_gives_its_effect_a_range_or_says_why_not():
    for name, iv in bundled().items():
        assert iv.assumptions, name
        if name != "block_soma_death":  # a genetic switch, on or off
            assert iv.uncertainty, name
            assert all(lo < iv.effects[k] <= hi or lo <= iv.effects[k] < hi for k, (lo, hi) in iv.uncertainty.items()), name


@pytest.mark.parametrize(
    "uncertainty, message",
    [
        ('{ "hazard.terminal" = [0.7, 0.9] }', "holding the point value"),
        ('{ "hazard.cortical" = [0.1, 0.9] }', "not among its effects"),
        ('{ "hazard.terminal" = [0.1] }', "must be [LOW, HIGH]"),
        ('{ "hazard.terminal" = [0, 0.9] }', "hazard.terminal"),
    ],
)
def test_a_bad_uncertainty_is_refused_with_the_reason(tmp_path, uncertainty, message):
    f = tmp_path / "iv.toml"
    f.write_text(
        f'[x]\ndescription = "x"\neffects = {{ "hazard.terminal" = 0.5 }}\nuncertainty = {uncertainty}\n'
        'source = "assumed"\nevidence = "assumed"\n'
    )
    with pytest.raises(EndplateInputError, match=message.replace("[", r"\[")):
        load_interventions(f)


def test_a_patient_takes_the_spread_table_of_every_human_scenario_scaled_by_its_speed():
    # one spread table: the trial patient and `endplate run human-als` put the diaphragm at the
    # same delay from the hand (a second, hand-written table had it 227 days earlier)
    from endplate.disease.spread import spread_delays
    from endplate.therapy.cohort import spread_speed

    trial = load_trial("nmj-stabiliser-human")
    seen = set()
    for i in range(30):
        s = draw_subject(trial, i, "placebo")
        site, speed = s.covariates["site_of_onset"], spread_speed(s.covariates)
        table = spread_delays("human", site, list(trial.muscles))
        first = min(table.values())
        for m in trial.muscles:
            assert s.scenario.onset_delay_days[m] == pytest.approx((table[m] - first) / speed), (site, m)
        seen.add(site)
    assert {"upper_limb", "lower_limb"} <= seen


def test_a_subject_reports_when_each_muscle_weakened_and_onset_follows_the_first():
    from endplate.therapy.subject import simulate_subject

    trial = load_trial(
        "musk-agonist-sod1-mouse",
        subjects_per_arm=2,
        muscles=["TA", "soleus"],
        start={"relative_to": "age", "day": 20},
        duration_days=240,
        visit_every_days=120,
        endpoints=["onset", "survival"],
        primary="survival",
        max_days=260,
    )
    subject = draw_subject(trial, 0, trial.control)
    r = simulate_subject(trial, subject, trial.known_interventions())
    weak = r["weak_day"]
    assert weak.shape == (2,) and np.all(np.isfinite(weak)), weak
    # onset is the onset muscles' mean force below the onset fraction: one of them was below it first
    assert np.isfinite(r["onset_day"]) and weak.min() <= r["onset_day"] <= r["death_day"]


@pytest.mark.parametrize("trial_name", ["nmj-stabiliser-human", "musk-agonist-sod1-mouse"])
def test_a_subject_scenario_from_the_trial_base_equals_one_loaded_afresh(trial_name):
    """Subjects reuse one checked scenario per site of onset with their own seed and delays; that
    must be exactly the scenario loading it for the subject alone gives."""
    from endplate.therapy import cohort

    trial = load_trial(trial_name, subjects_per_arm=12)
    arms = cohort.allocate(trial)
    muscle_set, _ = cohort.reduced_muscles(trial)
    sites = set()
    for i in range(len(arms)):
        s = draw_subject(trial, i, arms[i])
        site = s.covariates.get("site_of_onset", "")
        sites.add(site)
        human = trial.species == "human"
        onset = () if human else tuple(s.scenario.onset_muscles)
        delays = cohort.patient_delays(site, trial.muscles, cohort.spread_speed(s.covariates)) if human else None
        args = (trial.species, s.scenario.genotype, trial.hypothesis, tuple(trial.muscles), onset)
        fresh = cohort._load_subject_scenario(
            *args, tuple(s.scenario.end_stage_muscles), site, trial.max_days, muscle_set, s.seed, delays
        )
        assert s.scenario == fresh, i
    assert len(sites) >= (3 if trial.species == "human" else 1)


def test_a_trial_records_the_effects_it_assumed_and_the_report_shows_them():
    from endplate.therapy.engine import assumed_effects
    from endplate.therapy.report import _assumed

    trial = load_trial("riluzole-human", seed=3)
    record = assumed_effects(trial)
    assert set(record) == {"riluzole"}  # the interventions of the arms only
    drawn = trial.known_interventions()["riluzole"].effects
    point, lo_hi = bundled()["riluzole"].effects, bundled()["riluzole"].uncertainty
    for target, t in record["riluzole"]["targets"].items():
        assert t["drawn"] == drawn[target] and t["point"] == point[target]
        assert t["range"] == (list(lo_hi[target]) if target in lo_hi else None)
    assert record["riluzole"]["evidence"] == bundled()["riluzole"].evidence
    table = _assumed({"assumed_effects": record})
    assert "Effects the simulation assumed" in table and f"{drawn['hazard.terminal']:.3g}" in table
    assert _assumed({}) == ""  # a result saved before the record has no table
