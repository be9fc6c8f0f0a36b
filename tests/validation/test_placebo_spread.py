"""The virtual placebo arms against the published between-subject spread (``endplate validate`` rows)."""

from __future__ import annotations

import numpy as np
import pytest

from endplate.calibrate.targets import load_targets
from endplate.calibrate.validate import summarise, validate
from endplate.therapy import placebo
from endplate.therapy.placebo import PLACEBO_CHECKS


def test_every_placebo_check_names_a_registered_target_with_its_role():
    registry = load_targets()
    for check in PLACEBO_CHECKS:
        row = registry[check.target_id]
        assert row["source"] and row["evidence"] in {"read", "recalled", "secondary", "assumed"}
        assert check.low < check.high and check.tolerance
    roles = {c.target_id: registry[c.target_id]["role"] for c in PLACEBO_CHECKS}
    # the spreads were set against these (fit) and not against these (test), chosen before tuning;
    # L70 is fit because it sets the delay of spread to the respiratory region (presets/spread.toml)
    # L72 is fit because it sets the susceptibility of the ADM pool (the split hand, presets/spread.toml)
    assert {k for k, r in roles.items() if r == "fit"} == {"D08", "D10", "D11", "V01", "V03", "H04", "L70", "L72"}
    test_rows = {"V02", "V04", "V05", "V06", "V08", "L20", "L21", "L22", "L73", "L74", "L75"}
    assert {k for k, r in roles.items() if r == "test"} == test_rows


@pytest.mark.slow
def test_placebo_arms_pass_their_fit_rows_at_a_second_seed_and_report_their_test_rows():
    results = validate(7, extra=PLACEBO_CHECKS, builtin=False)
    assert len(results) == len(PLACEBO_CHECKS)
    failed = [(r["id"], r["name"], r["predicted"]) for r in results if r["role"] == "fit" and not r["passed"]]
    # L70's mean (limb onset to respiratory weakness) failed at 24.6 months until the delay of the
    # respiratory region was fitted to it (presets/spread.toml, 3 Dec 2026): no known gap is left
    assert failed == [], failed
    assert all(r["open_issue"] is None for r in results)
    # L21 (the mean trapezius decrement of the patients who reach 10 %) is undefined when none does
    assert all(np.isfinite(r["predicted"]) for r in results if r["id"] != "L21")
    counts = summarise(results)
    assert counts["test_passed"] + counts["test_failed"] == 13
    # the colony spreads as colonies do, not as the few days of a single seed's noise
    assert np.std(placebo.colony("B6SJL", 7)["death"], ddof=1) > 6
    # the hand's CMAPs are read over the same patient's healthy ones: a hand the disease has not
    # reached reads 1 within the recording noise, and none reads more than that
    for m in placebo.HAND_MUSCLES:
        relative = placebo.emg_study(7)[f"{m}_cmap_relative"]
        assert relative.size > 10 and np.all((relative >= 0) & (relative < 1.02)), m
        assert np.any(np.abs(relative - 1) < 0.01), m


@pytest.mark.slow
def test_survival_from_entry_is_survival_from_onset_less_a_delay_within_the_entry_window():
    """V05 and V08 read survival from entry (standing for diagnosis, V09): for every enrolled patient
    it is survival from onset less that patient's delay, which lies in the arm's 6-18 month window."""
    arm = placebo.patients(7)  # cached by the test above
    onset, entry = arm["survival_months"], arm["survival_from_entry_months"]
    assert onset.shape == entry.shape and np.array_equal(np.isinf(onset), np.isinf(entry))
    died = np.isfinite(onset)
    delay = onset[died] - entry[died]
    months = placebo.DAYS_PER_MONTH
    assert delay.size > 20 and delay.min() >= 180 / months - 1e-9 and delay.max() <= 540 / months + 1e-9
    assert delay.std() > 1.5  # drawn per patient, not one offset for all


def test_abnormal_decrement_counts_a_patient_once_and_an_undefined_decrement_as_normal():
    trapezius = np.array([12.0, 3.0, np.nan, 10.0, 2.0])
    adm = np.array([15.0, 11.0, 4.0, np.nan, np.nan])
    assert placebo._abnormal_percent(trapezius, adm) == 60.0  # patients 0, 1 and 3
    assert placebo._abnormal_percent(trapezius) == 40.0
    assert placebo._mean_of_abnormal(trapezius) == 11.0
    assert np.isnan(placebo._mean_of_abnormal(np.array([3.0, np.nan])))
    assert placebo._rank_correlation(np.arange(6.0), np.array([1, 2, np.nan, 4, 5, 6.0])) == pytest.approx(1.0)
    assert placebo._abnormal_percent(np.array([1.0, 2.5, np.nan, 2.0]), threshold=2.0) == 50.0


def test_the_split_hand_is_read_against_each_patients_healthy_hand():
    # APB and ADM over the patient's healthy CMAPs: split (0.3 / 0.9), even (0.5 / 0.6), ADM gone
    # first (0.4 / 0), both gone (0 / 0, not split), APB gone (0 / 0.7, split)
    e = {
        "APB_cmap_relative": np.array([0.3, 0.5, 0.4, 0.0, 0.0]),
        "FDI_cmap_relative": np.array([0.6, 0.5, 0.4, 0.0, 0.2]),
        "ADM_cmap_relative": np.array([0.9, 0.6, 0.0, 0.0, 0.7]),
    }
    assert placebo._split_hand_percent(e) == 40.0
    index = [0.3 * 0.6 / 0.9, 0.5 * 0.5 / 0.6, 0.0]  # ADM without a response: the index is undefined
    assert placebo._split_hand_index(e) == pytest.approx(np.mean(index))


def test_a_study_that_looks_at_each_visit_leaves_the_subject_as_it_was():
    from endplate.therapy.cohort import draw_subject
    from endplate.therapy.subject import simulate_subject
    from endplate.therapy.trial import load_trial

    trial = load_trial(
        "riluzole-human", subjects_per_arm=2, duration_days=182, start={"relative_to": "onset", "days": [180, 540]}
    )
    known = trial.known_interventions()
    seen: list[tuple[int, int, float]] = []

    def look(k, day, states):
        seen.append((k, day, float(states["APB"].anatomy.atrophy.mean())))

    plain = simulate_subject(trial, draw_subject(trial, 0, trial.control), known)
    looked = simulate_subject(trial, draw_subject(trial, 0, trial.control), known, look)
    assert set(plain) == set(looked)
    for k, v in plain.items():
        np.testing.assert_array_equal(np.asarray(v), np.asarray(looked[k]), err_msg=k)
    assert [k for k, _, _ in seen] == list(range(trial.n_visits))
    days = [d for _, d, _ in seen]
    assert days[0] == plain["start_day"] and np.all(np.diff(days) == trial.visit_every_days)
