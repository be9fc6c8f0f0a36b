"""`endplate infer patient` and `infer cohort` on the real simulator, at the smallest sizes that run them."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from endplate.calibrate.cohort_table import parse_cohort_table
from endplate.cli import app
from endplate.infer.bank import BankSettings, cache_dir, load_bank
from endplate.infer.patient import infer_patient
from endplate.infer.visits import parse_visits
from endplate.muscle.presets import muscles

pytestmark = pytest.mark.slow


def test_bank_is_simulated_once_cached_by_settings_and_fits_a_patient(tmp_path, monkeypatch):
    monkeypatch.setenv("ENDPLATE_CACHE_DIR", str(tmp_path))
    settings = BankSettings(subjects=4, max_days_from_onset=600, visit_every_days=60)
    bank = load_bank(settings, workers=1)
    path = cache_dir() / f"patient-bank-{settings.key()}.nc"
    assert path.is_file() and not (cache_dir() / f"patient-bank-{settings.key()}.zarr").exists()
    assert bank.sizes["subject"] == 4 and list(bank["visit_day"].values[:2]) == [0, 60]
    # composite is the ALSFRS-R-like score: 48 at most, and it never rises much along a course
    score = bank["composite"].values
    assert np.nanmax(score) <= 48
    stamp = path.stat().st_mtime_ns
    again = load_bank(settings, workers=1)
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again["composite"].values, score)
    assert dataclasses.replace(settings, seed=1).key() != settings.key()
    visits = parse_visits("days_since_onset,measure,value,unit\n30,alsfrs_r,42,points\n", "v", settings.muscles)
    result = infer_patient(visits, bank, seed=0)
    assert result["bank_subjects"] == 4 and result["effective_sample_size"] >= 1


def test_cohort_fit_reports_every_hypothesis_checks_and_next_measurements(monkeypatch):
    from endplate.calibrate import fit as fit_module
    from endplate.infer.cohort import fit_cohort

    tiny = fit_module.FitSettings(6, 1, 2, 2, 1, 1, 0, batch_size=2)
    monkeypatch.setattr(fit_module, "settings_for", lambda *a, **k: tiny)
    text = "strain,sex,age_days,muscle,measure,value,sd,n\nB6SJL,mixed,90,TA,innervated_endplates_percent,40,10,6\nB6SJL,mixed,,,onset_age_days,96,5,6\n"
    rows = parse_cohort_table(text, "t", tuple(muscles("mouse")))
    result = fit_cohort(rows, quick=True, seed=0, workers=1)
    probs = result["model_probabilities"]
    assert {"dying_back", "dying_forward", "independent"} <= set(probs)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert [c["row"] for c in result["checks"]] == [2, 3]
    assert result["checks"][0]["predicted"]["median"] is not None
    assert any(n["measure"] == "survival_age_days" for n in result["next_measurements"])
    json.dumps(result)  # the CLI's --json payload is plain JSON


def test_cli_infer_patient_help_names_the_columns():
    result = CliRunner().invoke(app, ["infer", "patient", "--help"])
    assert result.exit_code == 0 and "days_since_onset" in result.output
