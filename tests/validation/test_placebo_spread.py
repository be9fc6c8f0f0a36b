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
    assert {k for k, r in roles.items() if r == "fit"} == {"D08", "D10", "D11", "V01", "V03", "H04", "L70"}
    assert {k for k, r in roles.items() if r == "test"} == {"V02", "V04", "V05", "V06", "V08"}


@pytest.mark.slow
def test_placebo_arms_pass_their_fit_rows_at_a_second_seed_and_report_their_test_rows():
    results = validate(7, layers=("disease",), extra=PLACEBO_CHECKS)[-len(PLACEBO_CHECKS) :]
    failed = [(r["id"], r["name"], r["predicted"]) for r in results if r["role"] == "fit" and not r["passed"]]
    # the one known gap: the mean interval from limb onset to respiratory weakness (issue 15)
    assert [f[0] for f in failed] == ["L70"], failed
    assert [r["open_issue"] for r in results if r["role"] == "fit" and not r["passed"]] == [15]
    assert all(np.isfinite(r["predicted"]) for r in results)
    counts = summarise(results)
    assert counts["test_passed"] + counts["test_failed"] == 5
    # the colony spreads as colonies do, not as the few days of a single seed's noise
    assert np.std(placebo.colony("B6SJL", 7)["death"], ddof=1) > 6


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
