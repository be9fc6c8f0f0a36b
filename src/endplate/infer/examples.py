"""The bundled example patient: a virtual patient outside the bank, its visits CSV and its truth JSON.

``write_patient_example(folder)`` remakes ``data/examples/patient_visits.csv`` and
``patient_truth.json``: subject ``index`` of a cohort drawn like the bank's but from seed
``EXAMPLE_SEED`` (so it is not a bank member), the first with upper-limb onset; visits every
3 months from 5 months after onset; ALSFRS-R, CMAP and MUNE (multipoint) in APB observed through
the fit's error model. The truth holds its covariates, the offsets and latent courses, and the
latent values at 6, 12 and 18 months after the last visit.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np

from endplate.disease.mune_course import DAYS_PER_MONTH
from endplate.infer.bank import BankSettings, bank_trial
from endplate.infer.patient import HORIZONS_MONTHS, ErrorModel
from endplate.infer.validation import observe_values
from endplate.seeding import substreams

EXAMPLE_SEED = 7
FIRST_DAY = 152
VISITS = 4
SERIES = (("alsfrs_r", "", ""), ("cmap_amplitude", "APB", ""), ("mune", "APB", "mps"))


def example_subject(settings: BankSettings = BankSettings()) -> tuple[dict, dict]:
    """(arrays, covariates) of the example patient: visits every ``visit_every_days`` from onset."""
    from endplate.therapy.cohort import draw_subject
    from endplate.therapy.subject import simulate_subject

    trial = bank_trial(dataclasses.replace(settings, seed=EXAMPLE_SEED, subjects=50))
    index = next(i for i in range(50) if draw_subject(trial, i, "untreated").covariates["site_of_onset"] == "upper_limb")
    subject = draw_subject(trial, index, "untreated")
    return simulate_subject(trial, subject, {}), {**subject.covariates, "index": index}


def write_patient_example(folder: Path, errors: ErrorModel = ErrorModel()) -> None:
    """Write ``patient_visits.csv`` and ``patient_truth.json`` into ``folder``."""
    settings = BankSettings()
    arrays, cov = example_subject(settings)
    rng = np.random.default_rng(substreams(EXAMPLE_SEED, "example-visits")["example-visits"])
    grid = np.arange(arrays["composite"].shape[0]) * settings.visit_every_days
    days = FIRST_DAY + 91 * np.arange(VISITS)
    future = days[-1] + np.array(HORIZONS_MONTHS) * DAYS_PER_MONTH
    muscles = list(settings.muscles)
    rows, truth_series = [], []
    for measure, muscle, method in SERIES:
        course = (
            arrays["composite"]
            if measure == "alsfrs_r"
            else arrays["cmap_mv" if measure == "cmap_amplitude" else "mune"][:, muscles.index(muscle)]
        )
        model = np.interp(np.r_[days, future], grid, course, right=np.nan)
        observed, latent = observe_values(model, measure, rng, errors, method)
        unit = {"alsfrs_r": "points", "cmap_amplitude": "mV", "mune": "units"}[measure]
        for d, v in zip(days, observed[:VISITS]):
            rows.append((int(d), measure, muscle, method, round(float(v), 2 if measure != "alsfrs_r" else 0), unit))
        truth_series.append(
            {
                "measure": measure,
                "muscle": muscle or None,
                "method": method or None,
                "latent_at_visits": latent[:VISITS].tolist(),
                "latent_at_months_after_last_visit": dict(zip(map(str, HORIZONS_MONTHS), latent[VISITS:].tolist())),
            }
        )
    rows.sort(key=lambda r: r[0])
    age = round(cov["age_years"])
    with (folder / "patient_visits.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["days_since_onset", "measure", "muscle", "method", "value", "unit", "site_of_onset", "age_years", "sex"])
        for i, r in enumerate(rows):
            w.writerow([*r, *(("upper_limb", age, "female") if i == 0 else ("", "", ""))])
    half = grid[np.argmax(arrays["composite"] <= 24)] if (arrays["composite"] <= 24).any() else None
    truth = {
        "what": "virtual patient outside the bank (infer/examples.py); latent = model value + the patient's offset",
        "seed": EXAMPLE_SEED,
        "subject_index": cov["index"],
        "site_of_onset": cov["site_of_onset"],
        "age_years": cov["age_years"],
        "sex_written": "female (the human cohort prior does not use sex)",
        "progression_factor": cov["progression_factor"],
        "end_stage_days_after_onset": arrays["death_day"],
        "alsfrs_r_model_at_or_below_24_days_after_onset": None if half is None else float(half),
        "last_visit_day": int(days[-1]),
        "series": truth_series,
    }
    (folder / "patient_truth.json").write_text(json.dumps(truth, indent=1) + "\n")


COHORT_SEED = 11
COHORT_ANIMALS = 6
# (measure, muscle, ages): what a colony study of SOD1-G93A mice typically reports
COHORT_DESIGN = (
    ("innervated_endplates_percent", "TA", (60, 90, 110)),
    ("motor_neurons_percent", "TA", (90, 120)),
    ("force_percent", "MG", (60, 90, 110)),
    ("cmap_percent", "TA", (60, 90, 110)),
    ("onset_age_days", "", (0,)),
    ("survival_age_days", "", (0,)),
)


def write_cohort_example(folder: Path) -> None:
    """Write ``cohort_table.csv`` and ``cohort_truth.json``: ``COHORT_ANIMALS`` simulated B6SJL
    SOD1-G93A mice (bundled scenario, shipped dying-back calibration, seeds from ``COHORT_SEED``),
    each row the mean and SD over the animals of the value its observation model reads."""
    from endplate.calibrate.cohort_table import CohortRow, row_target
    from endplate.disease.calibrated import calibrated_values
    from endplate.disease.model import genotype
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import simulate

    seeds = list(substreams(COHORT_SEED, *(f"animal{i}" for i in range(COHORT_ANIMALS))).values())
    runs = []
    for s in seeds:
        sc = load_scenario(
            "sod1-g93a",
            seed=s % 2**31,
            hypothesis="dying_back",
            muscles=["TA", "EDL", "MG", "soleus"],
            readout_every_days=10,
            mune_every_days=1000,
            probe_days=[],
        )
        runs.append(simulate(sc))
    lines = [("strain", "sex", "age_days", "muscle", "measure", "value", "sd", "n")]
    for measure, muscle, ages in COHORT_DESIGN:
        for age in ages:
            row = CohortRow(0, "B6SJL", "mixed", float(age) if age else float("nan"), muscle, measure, 0.0, 1.0, COHORT_ANIMALS)
            target = row_target(row, "x")
            values = np.array([target.observation.true_value(r, s) for r, s in zip(runs, seeds)])
            age_text = "" if measure.endswith("_age_days") else str(age)
            lines.append(
                (
                    "B6SJL",
                    "mixed",
                    age_text,
                    muscle,
                    measure,
                    f"{values.mean():.2f}",
                    f"{max(values.std(ddof=1), 0.5):.2f}",
                    str(COHORT_ANIMALS),
                )
            )
    with (folder / "cohort_table.csv").open("w", newline="") as f:
        csv.writer(f).writerows(lines)
    g = genotype("SOD1-G93A")
    found = calibrated_values(g.calibrated_as, "dying_back")
    truth = {
        "what": "simulated cohort (infer/examples.py): mean and SD over the animals; the SD is floored at 0.5",
        "hypothesis": "dying_back",
        "scenario": "sod1-g93a",
        "calibration": None if found is None else {"values": found[0], **{k: str(v) for k, v in found[1].items()}},
        "seeds": seeds,
        "animals": COHORT_ANIMALS,
    }
    (folder / "cohort_truth.json").write_text(json.dumps(truth, indent=1) + "\n")
