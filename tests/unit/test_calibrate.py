"""Layer E: observation models, the target registry, priors, calibrated defaults."""

from types import SimpleNamespace

import numpy as np
import pytest

from endplate import EndplateInputError
from endplate.calibrate import observation as obs
from endplate.calibrate.problem import bundled_problems, load_problem, particle_seed
from endplate.calibrate.registry import COLUMNS, load_registry
from endplate.calibrate.targets import load_targets


def _fake_run(days=np.arange(20, 151), **muscles):
    """A stand-in for a ``Run`` with the fields the readers use (muscles as namespaces of series)."""
    courses = {m: SimpleNamespace(**series) for m, series in muscles.items()}
    return SimpleNamespace(day=days, onset_day=None, end_stage_day=None, muscles=courses, mune_day=days)


def test_histology_count_is_a_binomial_sample_of_the_simulated_fraction():
    o = obs.observation("endplates_denervated", ("MG",), 47, count=100)
    run = _fake_run(MG={"denervated_percent": np.full(131, 40.0)})
    rng = np.random.default_rng(0)
    draws = np.array([o.observe(run, rng) for _ in range(4000)])
    assert abs(draws.mean() - 40.0) < 0.5
    # variance of a percentage from 100 endplates: 100^2 p (1 - p) / n = 24
    assert 20 < draws.var() < 28
    assert set(np.unique(draws)) <= {float(k) for k in range(101)}


def test_uncounted_observation_is_the_simulated_value():
    o = obs.observation("endplates_denervated", ("MG",), 47, count=0)
    run = _fake_run(MG={"denervated_percent": np.linspace(0, 100, 131)})
    assert o.observe(run, np.random.default_rng(0)) == pytest.approx(100 * 27 / 130)


def test_event_never_reached_is_censored_past_the_last_simulated_day():
    run = _fake_run()
    assert obs.event_day(run, "onset_day") == 150 + 30
    run.end_stage_day = 120.0
    assert obs.survival_day(run) == pytest.approx(120 + 130.2 - 123.9)


def test_mune_decline_reads_the_year_after_onset_only():
    days = np.arange(0, 2001, 91)
    mune = np.where(days < 546, 100.0, 100.0 * (1 - 0.03 * (days - 546) / 30.44))
    run = _fake_run(days=days, APB={"mune": mune}, FDI={"mune": mune})
    run.onset_day = 546.0  # a visit day
    run.mune_day = days
    assert obs.mune_decline_percent_per_month(run, ("APB", "FDI")) == pytest.approx(3.0, rel=0.02)


def test_the_six_muscle_sum_weights_a_muscle_by_the_study_muscles_it_stands_for():
    # Hand muscles lose 6 % a month, TA none: the sum APB, FDI, biceps (flat) and TA three times
    # falls 2 % a month, not the hand's 6 %; the fit row and validate read the same muscles.
    days = np.arange(0, 2001, 91)
    onset = 546.0
    hand = np.where(days < onset, 100.0, 100.0 * (1 - 0.06 * (days - onset) / 30.44))
    flat = np.full(days.shape, 100.0)
    run = _fake_run(days=days, APB={"mune": hand}, FDI={"mune": hand}, biceps={"mune": flat}, TA={"mune": flat})
    run.onset_day = onset
    run.mune_day = days
    assert obs.mune_decline_percent_per_month(run, obs.SIX_MUSCLE_SUM) == pytest.approx(2.0, rel=0.02)
    assert obs.mune_decline_percent_per_month(run, ("APB", "FDI")) == pytest.approx(6.0, rel=0.02)
    h01 = next(t for t in load_problem("human-als").targets if t.id == "H01")
    assert h01.muscles == obs.SIX_MUSCLE_SUM


def test_units_before_weakness_read_the_true_count_a_year_before_onset():
    days = np.arange(0, 2001, 30)
    onset = 1500.0
    true = np.where(days < onset - 200, 200.0, 120.0)  # the fall comes 200 days before weakness
    run = _fake_run(days=days, APB={"mune_true": true})
    run.onset_day = onset
    run.mune_day = days
    assert obs.units_before_weakness(run, ("APB",)) == pytest.approx(100.0)
    assert obs.units_before_weakness(run, ("APB",), days_before=100) == pytest.approx(60.0)
    assert np.isnan(obs.units_before_weakness(run, ("APB",), days_before=1600))  # no visit that early


def test_respiratory_course_runs_from_diaphragm_weakness_to_end_stage():
    days = np.arange(0, 2001, 1.0)
    force = np.clip(100.0 - np.maximum(days - 1000.0, 0.0) / 5.0, 0.0, 100.0)  # below 70 % from day 1151
    run = _fake_run(days=days, diaphragm={"force_percent": force})
    run.scenario = SimpleNamespace(onset_force_fraction=0.7)
    assert np.isnan(obs.respiratory_course_months(run))  # no end stage: undefined, not censored
    run.end_stage_day = 1151.0 + 10 * obs.DAYS_PER_MONTH
    assert obs.respiratory_course_months(run) == pytest.approx(10.0)
    run.muscles["diaphragm"].force_percent = np.full(days.size, 90.0)
    assert np.isnan(obs.respiratory_course_months(run))  # the diaphragm never weakened


def test_mune_decline_before_weakness_reads_the_year_before_onset_only():
    # Units fall 5 % of the first visit's value a month up to onset, then stay flat: the reader
    # sees the loss before weakness, the after-onset reader sees none.
    days = np.arange(0, 2001, 91)
    onset = 910.0
    mune = np.where(days <= onset, 100.0 * (1 - 0.05 * (days - (onset - 364)) / 30.44), np.nan)
    mune = np.where(days < onset - 364, 100.0, mune)
    mune = np.where(days > onset, mune[days == onset][0], mune)
    run = _fake_run(days=days, APB={"mune": mune}, FDI={"mune": mune})
    run.onset_day = onset
    run.mune_day = days
    first = mune[days == onset - 364][0]
    assert obs.mune_decline_before_weakness(run, ("APB", "FDI")) == pytest.approx(5.0 * 100 / first, rel=0.02)
    assert obs.mune_decline_percent_per_month(run, ("APB", "FDI")) == pytest.approx(0.0, abs=1e-9)
    assert obs.observation("mune_decline_before_weakness", ("APB",)).true_value(run) == pytest.approx(
        obs.mune_decline_before_weakness(run, ("APB",))
    )


def test_ff_to_fr_interval_is_fr_half_day_minus_ff_half_day():
    days = np.arange(20, 151)
    axons = np.stack([np.full(131, 100.0), np.where(days < 90, 100.0, 0.0), np.where(days < 50, 100.0, 0.0)], axis=1)
    run = _fake_run(days=days, TA={"axons_percent_by_type": axons})
    assert obs.ff_to_fr_days(run, "TA") == 40


def test_unknown_observation_model_is_refused():
    with pytest.raises(EndplateInputError, match="unknown observation model"):
        obs.observation("vibes")


def test_target_file_without_required_columns_names_them(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("id,problem,value\nX,p,1\n")
    with pytest.raises(EndplateInputError, match="lacks column.*spread"):
        load_registry(bad)


def test_bundled_targets_match_the_literature_rows_and_recalled_ones_are_wide():
    published = load_targets()
    for t in load_registry():
        assert set(COLUMNS) and t.spread > 0 and t.source
        if t.id in published and published[t.id]["value"]:
            assert t.value == pytest.approx(float(published[t.id]["value"])), t.id
        if t.evidence == "recalled":
            assert t.spread >= 0.2 * abs(t.value), t.id


def test_every_prior_has_a_reason_and_every_fitted_parameter_a_prior():
    for name in ("sod1-g93a", "human-als"):
        p = load_problem(name)
        assert {m.name for m in p.models} >= {"dying_back", "dying_forward", "independent"}
        for prior in p.priors.values():
            assert prior.reason and prior.low < prior.high
        for m in p.models:
            assert set(m.parameters) <= set(p.priors)


def test_unknown_problem_lists_the_allowed_ones():
    with pytest.raises(EndplateInputError, match="allowed: .*sod1-g93a"):
        load_problem("sod2")
    assert {"sod1-g93a", "human-als", "synthetic"} <= set(bundled_problems())


def test_particle_seed_depends_on_model_values_and_run_seed():
    a = particle_seed(0, {"x": 1.0}, 1)
    assert a == particle_seed(0, {"x": 1.0}, 1)
    assert len({a, particle_seed(1, {"x": 1.0}, 1), particle_seed(0, {"x": 1.5}, 1), particle_seed(0, {"x": 1.0}, 2)}) == 4


def test_genotype_values_can_be_set_and_unknown_ones_are_refused():
    from endplate.disease.model import genotype, with_changes

    g = with_changes(genotype("SOD1-G93A"), {"genotype.width_days": 25.0, "reinnervation.rate_per_day": 0.2})
    assert g.values["width_days"] == 25.0
    with pytest.raises(EndplateInputError, match="unknown genotype parameter"):
        with_changes(g, {"genotype.speed": 1.0})


def test_calibration_is_applied_by_default_and_set_still_wins(monkeypatch):
    from endplate.disease import calibrated as presets
    from endplate.disease.scenario import load_scenario

    preset = {
        "genotype": "SOD1-G93A",
        "winner": "dying_back",
        "date": "today",
        "seed": 1,
        "apply": True,
        "model_probabilities": {"dying_back": 0.6},
        "values": {"dying_back": {"genotype.width_days": 22.0, "reinnervation.rate_per_day": 0.2}},
    }
    monkeypatch.setattr(presets, "calibrated_presets", lambda: {"sod1-g93a": preset})
    sc = load_scenario("sod1-g93a")
    assert sc.set == {"genotype.width_days": 22.0, "reinnervation.rate_per_day": 0.2}
    assert sc.calibration["problem"] == "sod1-g93a" and sc.calibration["model_probability"] == 0.6
    assert load_scenario("sod1-g93a", set={"genotype.width_days": 30.0}).set["genotype.width_days"] == 30.0
    assert load_scenario("sod1-g93a", hypothesis="dying_forward").calibration == {}
    raw = load_scenario("sod1-g93a", calibrated=False)
    assert raw.set == {} and raw.calibration == {}
    monkeypatch.setattr(presets, "calibrated_presets", lambda: {"sod1-g93a": {**preset, "apply": False}})
    assert load_scenario("sod1-g93a").calibration == {}


def test_a_scenario_takes_the_values_fitted_for_its_own_first_partner(monkeypatch):
    # Before: every first partner took the values fitted for the presynaptic variant.
    from endplate.disease import calibrated as presets
    from endplate.disease.scenario import load_scenario

    preset = {
        "genotype": "SOD1-G93A",
        "apply": True,
        "model_changes": {
            "back": {"hypothesis": "dying_back"},
            "back_tsc": {"hypothesis": "dying_back", "first_partner": "tsc"},
        },
        "model_probabilities": {"back": 0.7, "back_tsc": 0.3},
        "values": {"back": {"genotype.width_days": 22.0}, "back_tsc": {"genotype.width_days": 26.0}},
    }
    monkeypatch.setattr(presets, "calibrated_presets", lambda: {"sod1-g93a": preset})
    tsc = load_scenario("sod1-g93a", first_partner="tsc")
    assert tsc.set["genotype.width_days"] == 26.0 and tsc.calibration["model"] == "back_tsc"
    assert load_scenario("sod1-g93a").set["genotype.width_days"] == 22.0
    post = load_scenario("sod1-g93a", first_partner="postsynaptic")  # not fitted: the default partner's, said so
    assert post.set["genotype.width_days"] == 22.0 and post.calibration["first_partner_fitted"] is False
    # presets from before [model_changes] name models by convention
    assert presets.model_changes({"values": {"dying_back": {}, "dying_back_tsc_first": {}}}) == {
        "dying_back": {"hypothesis": "dying_back"},
        "dying_back_tsc_first": {"hypothesis": "dying_back", "first_partner": "tsc"},
    }


def test_shipped_calibrations_parse_and_say_why_when_not_applied():
    from endplate.disease.calibrated import calibrated_presets

    shipped = calibrated_presets()
    assert {"sod1-g93a", "human-als"} <= set(shipped)
    for name, preset in shipped.items():
        assert abs(sum(preset["model_probabilities"].values()) - 1) < 1e-6
        assert preset["winner"] == max(preset["model_probabilities"], key=preset["model_probabilities"].get)
        assert preset["apply"] or preset["apply_reason"], name


def test_a_fit_never_sees_a_held_out_test_row(tmp_path):
    import csv
    import io
    from importlib import resources

    rows = list(csv.DictReader(io.StringIO(resources.files("endplate.data").joinpath("calibration_targets.csv").read_text())))
    path = tmp_path / "targets.csv"

    def write(*rows_out):
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows_out)

    write(rows[0], {**rows[1], "role": "test"})
    assert [t.id for t in load_registry(path)] == [rows[0]["id"]]
    write({**rows[1], "role": "tuned"})
    with pytest.raises(EndplateInputError, match="role must be fit or test"):
        load_registry(path)
