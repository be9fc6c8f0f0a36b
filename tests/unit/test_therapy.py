"""Layer D: interventions, their effects on the disease and the junction, and the trial analysis."""

from importlib import resources

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from endplate.disease.scenario import load_scenario
from endplate.disease.simulate import simulate
from endplate.errors import EndplateInputError
from endplate.therapy.analysis import cox_logrank, finkelstein_schoenfeld, mixed_slope, pairwise_scores
from endplate.therapy.interventions import Course, bundled, load_interventions


def _bibliography_keys():
    text = resources.files("endplate.data").joinpath("bibliography.csv").read_text()
    return {line.split(",", 1)[0] for line in text.splitlines()[1:]}


def test_bundled_interventions_name_their_source_and_evidence():
    keys = _bibliography_keys()
    known = bundled()
    for name in (
        "pyridostigmine",
        "diaminopyridine",
        "musk_agonist",
        "dok7_gene_therapy",
        "sprouting_support",
        "riluzole",
        "edaravone",
        "tofersen",
        "exercise",
        "block_soma_death",
    ):
        iv = known[name]
        assert iv.source in keys and iv.evidence in ("read", "recalled", "secondary", "assumed") and iv.effects


def test_user_interventions_file_adds_an_intervention(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        '[slow_disassembly]\ndescription = "x"\neffects = { "terminal_degeneration.impaired_days" = 3.0 }\n'
        'source = "assumed"\nevidence = "assumed"\n'
    )
    assert "slow_disassembly" in load_interventions(f) and "riluzole" in load_interventions(f)


@pytest.mark.parametrize(
    "body, message",
    [
        ('effects = { "terminal_degeneration.vulnerability_ff" = 0.5 }', "unknown parameter"),
        ('effects = { "hazard.terminal" = -1.0 }', "non-negative"),
        ('effects = { "hazard.terminal" = 0.5 }\nwindow = { start_day = -5, duration_days = 10 }', "window"),
        ('effects = { "hazard.terminal" = 0.5 }\nwindow = { start_day = 0, duration_days = 0 }', "window"),
    ],
)
def test_bad_intervention_files_are_refused_with_the_reason(tmp_path, body, message):
    f = tmp_path / "bad.toml"
    f.write_text(f'[x]\ndescription = "x"\n{body}\nsource = "assumed"\nevidence = "assumed"\n')
    with pytest.raises(EndplateInputError, match=message):
        load_interventions(f)


def test_overlapping_windows_of_one_intervention_and_unknown_names_are_refused():
    with pytest.raises(EndplateInputError, match="overlapping"):
        Course.resolve([("riluzole", 0, 100), ("riluzole", 50, 100)], 0)
    with pytest.raises(EndplateInputError, match="unknown intervention"):
        Course.resolve(["aspirin"], 0)
    Course.resolve([("riluzole", 0, 100), ("riluzole", 100, 100), "musk_agonist"], 0)  # back to back, combined


def test_hazard_ratio_slows_the_drive_only_inside_its_window():
    course = Course.resolve([("musk_agonist", 10, 20)], 100)  # hazard ratio 0.6 on days 110-130
    days = np.arange(90, 160)
    from endplate.disease.model import drive

    g, treated = drive(days, 0.1, 120, 20), course.treated_drive("terminal", days, 0.1, 120, 20)
    assert np.allclose(treated[days <= 110], g[days <= 110])
    assert np.all(treated[days > 110] < g[days > 110])
    inside = drive(130, 0.1, 120, 20) - drive(110, 0.1, 120, 20)
    assert np.allclose(g[days >= 130] - treated[days >= 130], 0.4 * inside)  # constant deficit after the window
    assert course.treated_drive("terminal", 125, 0.1, 120, 20) == pytest.approx(treated[days == 125][0])


def test_kernel_rows_of_a_stretch_are_the_daily_parameters_across_a_window():
    """The rows of a stretch (what the trial engine asks for) are each day's own parameter vector,
    changing exactly where a course opens and closes."""
    from endplate.disease.resolve import resolve

    model = resolve(load_scenario("sod1-g93a"))
    course = Course.resolve([("musk_agonist", 10, 20), ("sprouting_support", 15, 30)], 100)
    days = list(range(100, 150))
    args = (model.mechanisms, model.genotype, False, model.partner)
    rows = course.kernel_rows(days, *args)
    assert np.array_equal(rows, np.array([course.kernel_parameters(d, *args) for d in days]))
    changes = [d for d, a, b in zip(days[1:], rows[:-1], rows[1:]) if not np.array_equal(a, b)]
    assert changes == [110, 115, 130, 145]
    assert np.array_equal(rows[0], model.kernel_parameters)  # untreated before the window


@pytest.fixture(scope="module")
def sod1_ta():
    sc = load_scenario(
        "sod1-g93a",
        muscles=["TA"],
        onset_muscles=["TA"],
        end_stage_muscles=["TA"],
        end_day=100,
        probe_days=[95],
        probe_muscle="TA",
        readout_every_days=40,
        mune_every_days=200,
        muscle_set={"TA": {"n_units": 40, "n_fibres": 1400}},
    )
    return sc, simulate(sc)


def test_ache_inhibitor_lowers_jitter_and_blocking_but_not_unit_loss(sod1_ta):
    sc, untreated = sod1_ta
    treated = simulate(sc, interventions=Course.resolve(["pyridostigmine"], 40))
    for key in ("innervated_percent", "motor_neurons_percent", "force_percent"):
        assert np.array_equal(getattr(treated.muscles["TA"], key), getattr(untreated.muscles["TA"], key))
    before, after = untreated.probes[0], treated.probes[0]
    assert after["blocking_percent"] < before["blocking_percent"]
    # Jitter of 20 pairs scatters by several microseconds from recording to recording: compare the
    # same recordings (seeds) of the muscle as the disease left it, without and with the drug.
    from endplate.disease.simulate import effective_junctions
    from endplate.muscle.sfemg import muscle_sfemg

    state = untreated.states["TA"]
    sick = effective_junctions(state)
    drugged = Course.resolve(["pyridostigmine"], 40).junction_adjuster(state.day)(sick)
    # Jitter is read on pairs that rarely block: where a junction blocks half the time, the drug turns
    # blocks into late, variable transmissions, so those pairs' jitter can rise while blocking falls.
    # Voluntary recordings pick the same pairs with and without the drug (selection is anatomical).
    a, kept = state.anatomy, state.anatomy.junctions
    pairs = {}
    try:
        for name, junctions in (("untreated", sick), ("treated", drugged)):
            a.junctions = junctions
            pairs[name] = [p for s in range(5) for p in muscle_sfemg(a, 10.0, n_pairs=20, n_discharges=100, seed=s)["pairs"]]
    finally:
        a.junctions = kept
    mcd = {k: np.array([p["mcd_us"] for p in v]) for k, v in pairs.items()}
    reliable = np.array([p["blocking_percent"] for p in pairs["untreated"]]) < 10
    assert reliable.sum() >= 10
    assert np.nanmean(mcd["treated"][reliable]) < np.nanmean(mcd["untreated"][reliable]) - 5.0, mcd


def test_ache_inhibitor_reduces_the_3_hz_decrement_of_a_muscle_with_a_low_safety_factor():
    """Tested where the decrement is large and has a clear cause: a muscle whose junctions have a
    third of their AChRs. (The SOD1 TA above decrements about 4 % at P95 since its immature
    junctions run down at 3 Hz, junction_state.IMMATURE_SHARE; before, about 0 +- 1 %.)"""
    from endplate.junction.parameters import default_parameters
    from endplate.muscle.anatomy import build_anatomy
    from endplate.muscle.presets import load_muscle
    from endplate.muscle.rns import muscle_rns

    weak = build_anatomy(
        load_muscle("human", "APB"), seed=1, junction_params=default_parameters("human", achr_density_relative=0.3)
    )
    before = muscle_rns(weak, 3.0, 10, 2)["decrement_percent"]
    weak.junctions = Course.resolve(["pyridostigmine"], 0).junction_adjuster(10)(weak.junctions)
    after = muscle_rns(weak, 3.0, 10, 2)["decrement_percent"]
    assert before > 2.0 and after < before - 1.5


def test_nmj_stabilisation_delays_denervation(sod1_ta):
    sc, untreated = sod1_ta
    for name in ("musk_agonist", "dok7_gene_therapy"):
        treated = simulate(sc, interventions=Course.resolve([name], 40))
        late = slice(-20, None)
        assert treated.muscles["TA"].innervated_percent[late].mean() > untreated.muscles["TA"].innervated_percent[late].mean() + 5
        assert np.array_equal(
            treated.muscles["TA"].innervated_percent[:20], untreated.muscles["TA"].innervated_percent[:20]
        )  # nothing changes before day 40


def test_blocking_soma_death_keeps_motor_neurons_not_junctions(sod1_ta):
    sc, untreated = sod1_ta
    treated = simulate(sc, interventions=Course.resolve(["block_soma_death"], 20))
    assert treated.muscles["TA"].motor_neurons_percent[-1] > untreated.muscles["TA"].motor_neurons_percent[-1] + 10
    assert abs(treated.muscles["TA"].innervated_percent[-1] - untreated.muscles["TA"].innervated_percent[-1]) < 10


def _synthetic(n_per_arm=60, effect=1.0, seed=0):
    rng = np.random.default_rng(seed)
    months = np.arange(0, 13, 3.0)
    arm = np.repeat(["control", "active"], n_per_arm)
    treat = (arm == "active").astype(float)
    slope = -3.0 + effect * treat + rng.normal(0, 0.8, arm.size)
    y = 100 + rng.normal(0, 5, arm.size)[:, None] + slope[:, None] * months + rng.normal(0, 2, (arm.size, months.size))
    return arm, treat, months, y


def test_mixed_model_recovers_a_known_slope_difference():
    arm, treat, months, y = _synthetic()
    s, v = np.nonzero(np.isfinite(y))
    df = pd.DataFrame({"subject": s, "months": months[v], "treat": treat[s], "y": y[s, v]})
    r = mixed_slope(df)
    assert r["ci_low"] < 1.0 < r["ci_high"] and r["p_value"] < 0.01
    null = mixed_slope(df.assign(treat=np.random.default_rng(1).permutation(treat)[df["subject"]]))
    assert null["ci_low"] < 0 < null["ci_high"]


def test_summary_slopes_recover_a_known_slope_difference_with_a_welch_interval():
    from endplate.therapy.analysis import summary_slope

    arm, treat, months, y = _synthetic()
    ds = xr.Dataset(
        {"composite": (("subject", "visit"), y), "arm": (("subject",), arm), "enrolled": (("subject",), np.ones(arm.size, bool))},
        coords={"visit_day": ("visit", months * 30.44)},
    )
    r = summary_slope(ds, "composite", ("control", "active"))
    assert r["ci_low"] < 1.0 < r["ci_high"] and r["p_value"] < 0.01
    null = summary_slope(
        ds.assign(arm=("subject", np.random.default_rng(1).permutation(arm))), "composite", ("control", "active")
    )
    assert null["ci_low"] < 0 < null["ci_high"]


def test_cox_model_recovers_a_known_hazard_ratio():
    rng = np.random.default_rng(2)
    treat = np.repeat([0.0, 1.0], 400)
    t = rng.exponential(1.0 / np.where(treat > 0, 0.5, 1.0))
    event = (t < 3.0).astype(float)
    r = cox_logrank(np.minimum(t, 3.0), event, treat)
    assert r["ci_low"] < 0.5 < r["ci_high"] and r["p_value"] < 1e-6


def test_finkelstein_schoenfeld_prefers_the_arm_that_lives_longer_then_declines_slower():
    rng = np.random.default_rng(4)
    treat = np.repeat([0.0, 1.0], 150)
    death = rng.exponential(np.where(treat > 0, 900.0, 450.0))
    event = (death < 540).astype(float)
    slope = rng.normal(np.where(treat > 0, -0.6, -1.0), 0.4)
    r = finkelstein_schoenfeld(np.minimum(death, 540), event, slope, treat)
    assert r["effect"] > 0.1 and r["p_value"] < 1e-3 and r["ci_low"] < r["effect"] < r["ci_high"]
    null = finkelstein_schoenfeld(np.minimum(death, 540), event, slope, rng.permutation(treat))
    assert null["ci_low"] < 0 < null["ci_high"]


def test_survival_decides_a_pair_only_when_the_earlier_time_is_a_death_seen_while_the_other_was_followed():
    time = np.array([100.0, 200.0, 300.0])
    event = np.array([1.0, 0.0, 0.0])  # subject 0 died at day 100; 1 and 2 were censored
    slope = np.array([5.0, -1.0, -2.0])
    s = pairwise_scores(time, event, slope)
    assert s[0, 1] == -1 and s[0, 2] == -1  # death first loses, whatever the slope
    assert s[1, 2] == 1 and s[2, 1] == -1  # both censored: the slower decline wins
    assert (s == -s.T).all() and (np.diag(s) == 0).all()


def test_an_empty_course_leaves_the_disease_exactly_as_without_one(sod1_ta):
    sc, untreated = sod1_ta
    same = simulate(sc, interventions=Course(()))
    for key in ("innervated_percent", "force_percent", "cmap_percent", "motor_neurons_percent"):
        assert np.array_equal(getattr(same.muscles["TA"], key), getattr(untreated.muscles["TA"], key))


def test_enrichment_by_progression_rate_screens_out_slow_progressors():
    from endplate.therapy.analysis import eligible

    months_since_onset = np.array([6.0, 6.0, 12.0, 3.0])
    baseline = np.array([45.0, 36.0, 42.0, 48.0])  # rates 0.5, 2.0, 0.5, 0.0 points per month
    ds = xr.Dataset(
        {
            "onset_day": ("subject", -months_since_onset * 30.44),
            "composite": (("subject", "visit"), np.column_stack([baseline, baseline - 3])),
        }
    )
    assert eligible(ds, {"min_progression_points_per_month": 0.5}).tolist() == [True, True, True, False]
    assert eligible(ds, {"min_progression_points_per_month": 1.0}).tolist() == [False, True, False, False]
    assert eligible(ds, {}).all()


def test_mixed_model_check_reads_as_an_agreement_check_on_its_own_few_trials():
    """Its rates on 40 trials are not the headline power (200 trials a size): the text says so and gives their error."""
    from endplate.therapy.report import agreement_text

    check = {
        "trials": 40,
        "subjects_per_arm": 60,
        "analysis_power": 0.275,
        "sensitivity_power": 0.375,
        "analysis_power_se": float(np.sqrt(0.275 * 0.725 / 40)),
        "sensitivity_power_se": float(np.sqrt(0.375 * 0.625 / 40)),
        "same_decision": 0.9,
    }
    text = agreement_text(check)
    assert "not a power figure" in text and "same 40 trials of 60 per arm" in text
    assert "0.38 +/- 0.08" in text and "0.28 +/- 0.07" in text and "90%" in text
    assert "power" not in agreement_text({k: v for k, v in check.items() if not k.endswith("_se")}).replace(
        "not a power figure", ""
    )


def test_no_hazard_ratio_when_one_arm_has_no_event():
    # A small trial in which no treated subject dies: the Cox likelihood has no maximum, and the
    # fit used to print a hazard ratio of about 1e-12 with an interval of [0, inf].
    time = np.array([100.0, 200, 300, 400, 500, 600, 600, 600, 600, 600])
    event = np.array([1.0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    treat = np.array([0.0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    r = cox_logrank(time, event, treat)
    assert np.isnan(r["effect"]) and "no event in the active arm" in r["effect_undefined_reason"]
    assert np.isfinite(r["p_value"]) and r["events"] == 4
