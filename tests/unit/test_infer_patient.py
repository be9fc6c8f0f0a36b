"""`endplate infer patient`: the visits table's checks, and the engine on a synthetic bank of known courses.

The synthetic bank has straight-line courses whose slope is the progression factor, so what the
fit should recover is known without simulating a muscle; the real bank is the same arrays.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from endplate.cli import app
from endplate.errors import EndplateInputError
from endplate.infer.bank import BANK_MUSCLES, BankSettings
from endplate.infer.patient import ErrorModel, fit, infer_patient, weighted_quantiles
from endplate.infer.validation import score_patients
from endplate.infer.visits import parse_visits

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "endplate" / "data" / "examples"
HEADER = "days_since_onset,measure,muscle,method,value,unit\n"


def synthetic_bank(n: int = 300, seed: int = 0) -> xr.Dataset:
    """Straight ALSFRS-R courses 44 - 1.2 f points/month, CMAP and MUNE falling as exp(-f t / 18 months),
    end stage when ALSFRS-R reaches 8; f lognormal(0, 0.35); all three sites; ages 30-85."""
    rng = np.random.default_rng(seed)
    f = rng.lognormal(0.0, 0.35, n)
    days = np.arange(0, 3601, 30.0)
    months = days / 30.44
    score = 44.0 - 1.2 * f[:, None] * months[None, :]
    death = (44.0 - 8.0) / (1.2 * f) * 30.44
    alive = days[None, :] <= death[:, None]
    score = np.where(alive, score, np.nan)
    decay = np.exp(-f[:, None] * months[None, :] / 18.0)[:, :, None] * np.ones(len(BANK_MUSCLES))
    cmap = np.where(alive[:, :, None], 8.0 * decay, np.nan)
    mune = np.where(alive[:, :, None], 100.0 * decay, np.nan)
    settings = {
        "population": {"age_mean": 60.0, "age_sd": 11.0, "progression_sd": 0.35},
        "mune_method": "mps",
        "genotype": "synthetic",
        "hypothesis": "none",
        "seed": seed,
    }
    return xr.Dataset(
        {
            "composite": (("subject", "visit"), score),
            "cmap_mv": (("subject", "visit", "muscle"), cmap),
            "mune": (("subject", "visit", "muscle"), mune),
            "mune_true": (("subject", "visit", "muscle"), mune * 1.1),
            "force_percent": (("subject", "visit", "muscle"), 100 * decay),
            "death_day": (("subject",), death),
            "progression_factor": (("subject",), f),
            "age_years": (("subject",), np.clip(rng.normal(60, 11, n), 30, 85)),
            "site_of_onset": (("subject",), rng.integers(0, 3, n).astype("i1")),
        },
        coords={"subject": np.arange(n), "visit_day": ("visit", days), "muscle": list(BANK_MUSCLES)},
        attrs={"settings": json.dumps(settings)},
    )


@pytest.fixture(scope="module")
def bank():
    return synthetic_bank()


def _visits(text: str):
    return parse_visits(text, "visits file 'v.csv'", BANK_MUSCLES)


def test_fit_recovers_the_progression_factor_of_a_straight_course(bank):
    # f = 1.5: 44 - 1.8 points a month, observed without error at 3, 6, 9 and 12 months
    rows = "".join(f"{d},alsfrs_r,,,{44 - 1.8 * d / 30.44:.2f},points\n" for d in (91, 183, 274, 365))
    post, _ = fit(_visits(HEADER + rows), bank)
    q = weighted_quantiles(bank["progression_factor"].values, post.weights.sum(axis=1), (0.05, 0.5, 0.95))
    assert q[0] < 1.5 < q[2]
    assert abs(q[1] - 1.5) < 0.25
    assert post.ess > 3


def test_tempering_keeps_the_posterior_on_at_least_min_ess_members(bank):
    # twelve monthly visits without error pin the course: untempered, fewer than 100 members carry it
    rows = "".join(
        f"{d},alsfrs_r,,,{44 - 1.8 * d / 30.44:.2f},points\n{d},cmap_amplitude,APB,,{8 * 2.718 ** (-1.5 * d / 30.44 / 18):.3f},mV\n"
        for d in range(30, 370, 30)
    )
    full, _ = fit(_visits(HEADER + rows), bank, min_ess=0)
    tempered, _ = fit(_visits(HEADER + rows), bank, min_ess=100)
    assert full.ess < 100 and full.tempering == 1.0
    assert tempered.ess == pytest.approx(100, rel=0.01) and 0 < tempered.tempering < 1


def test_more_visits_narrow_the_forecast(bank):
    rows = [f"{d},alsfrs_r,,,{44 - 1.2 * d / 30.44:.1f},points\n" for d in (91, 183, 274, 365)]
    width = []
    for k in (1, 4):
        result = infer_patient(_visits(HEADER + "".join(rows[:k])), bank, seed=1)
        lo, hi = result["series"][0]["forecasts"][1]["interval_90"]
        width.append(hi - lo)
    assert width[1] < width[0]


def test_site_of_onset_restricts_the_posterior(bank):
    text = "days_since_onset,measure,muscle,method,value,unit,site_of_onset\n120,alsfrs_r,,,40,points,bulbar\n"
    post, _ = fit(_visits(text), bank)
    assert post.weights.sum(axis=1)[bank["site_of_onset"].values != 2].sum() == 0


def test_unknown_onset_is_marginalised_over_a_delay(bank):
    text = "date,measure,muscle,method,value,unit\n2024-01-10,alsfrs_r,,,40,points\n2024-07-10,alsfrs_r,,,36,points\n"
    v = _visits(text)
    assert not v.onset_known and v.observations[0].day == 0
    result = infer_patient(v, bank, seed=0)
    assert result["time_origin"] == "first visit"
    assert "onset_to_first_visit_days" in result["posterior"]


def test_forecast_is_seeded(bank):
    text = HEADER + "100,alsfrs_r,,,41,points\n100,cmap_amplitude,APB,,6.1,mV\n200,mune,APB,munix,70,units\n"
    a, b = (json.dumps(infer_patient(_visits(text), bank, seed=3), default=float) for _ in range(2))
    assert a == b


def test_a_course_the_bank_cannot_explain_is_refused(bank):
    # alive with a full score 9 years after onset: every bank member is at end stage by then
    with pytest.raises(EndplateInputError, match="no virtual patient"):
        fit(_visits(HEADER + "3300,alsfrs_r,,,47,points\n"), bank)


def test_interval_coverage_on_virtual_patients_of_the_bank_prior(bank):
    # The engine's own generative model: the 90 % intervals should hold about 90 % of the next
    # visits. 40 patients give a binomial SD of about 5 points, so 0.75 is a 3-SD failure.
    result = score_patients(bank, 40, seed=5, errors=ErrorModel())
    rows = [r for r in result["rows"] if r["patients"] >= 20]
    assert rows
    for r in rows:
        assert 0.75 <= r["coverage_90"] <= 1.0, r
        assert 0.3 <= r["coverage_50"] <= 0.7, r
    one, four = (next(r for r in rows if r["visits_fitted"] == k and r["months_ahead"] == 6) for k in (1, 4))
    assert four["mae_points"] < one["mae_points"]


BAD = [
    ("", "empty"),
    ("a,b\n1,2\n", "unknown column 'a'"),
    ("measure,value,unit\nalsfrs_r,40,points\n", "exactly one time column"),
    ("days_since_onset,measure,value\n1,alsfrs_r,40\n", "missing column 'unit'"),
    (HEADER + "10,fvc,,,80,percent\n", "forced vital capacity is not modelled"),
    (HEADER + "10,grip,,,80,kg\n", "unknown measure 'grip'; allowed: alsfrs_r, cmap_amplitude, mune"),
    (HEADER + "10,cmap_amplitude,APB,,5,mA\n", "row 2, column unit: 'mA' for cmap_amplitude; allowed: mV, uV"),
    (HEADER + "10,cmap_amplitude,EDB,,5,mV\n", "row 2, column muscle: unknown muscle 'EDB' for cmap_amplitude; allowed: APB"),
    (HEADER + "10,mune,APB,,50,units\n", "row 2, column method: empty for mune; allowed: incremental"),
    (HEADER + "10,mune,APB,guess,50,units\n", "unknown method 'guess'"),
    (HEADER + "ten,alsfrs_r,,,40,points\n", "row 2, column days_since_onset: 'ten' is not a number"),
    (HEADER + "10,alsfrs_r,,,forty,points\n", "row 2, column value: 'forty' is not a number"),
    (HEADER + "10,alsfrs_r,,,nan,points\n", "not a finite number"),
    (HEADER + "10,alsfrs_r,,,52,points\n", "must lie in 0-48"),
    (HEADER + "20,alsfrs_r,,,40,points\n10,alsfrs_r,,,41,points\n", "row 3, column days_since_onset: earlier than row 2"),
    (HEADER + "20,alsfrs_r,,,40,points\n20,alsfrs_r,,,41,points\n", "row 3: the same alsfrs_r at the same time as row 2"),
    (
        "date,measure,value,unit,date_of_onset\n2024-13-01,alsfrs_r,40,points,2023-01-01\n",
        "row 2, column date: '2024-13-01' is not a date",
    ),
    ("date,measure,value,unit,date_of_onset\n2022-12-01,alsfrs_r,40,points,2023-01-01\n", "before the onset"),
    (
        "days_since_onset,measure,value,unit,site_of_onset\n1,alsfrs_r,40,points,arm\n",
        "column site_of_onset: 'arm'; allowed: upper_limb",
    ),
    (HEADER + "10,alsfrs_r,,,40\n", "row 2: 5 cells; the header has 6 columns"),
    ("\x00\x01PK binary", "not a CSV text file"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_visits_table_exits_2_naming_the_problem_and_writes_nothing(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENDPLATE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "visits.csv"
    path.write_text(text)
    result = CliRunner().invoke(app, ["infer", "patient", str(path), "--report", "out.html", "--figure", "out.png"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message in " ".join(result.output.split()), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_missing_visits_file_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["infer", "patient", "nowhere.csv"])
    assert result.exit_code == 2 and "no visits file 'nowhere.csv'" in result.output


def test_cli_on_the_bundled_example_with_a_cached_bank(tmp_path, monkeypatch):
    # The bank the CLI would build, stood in by the synthetic one under the cache key it looks for.
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("ENDPLATE_CACHE_DIR", str(cache))
    synthetic_bank().to_netcdf(cache / f"patient-bank-{BankSettings(subjects=300).key()}.nc")
    report, figure = tmp_path / "r.html", tmp_path / "f.png"
    args = ["infer", "patient", str(EXAMPLES / "patient_visits.csv"), "--bank-subjects", "300", "--json"]
    result = CliRunner().invoke(app, [*args, "--report", str(report), "--figure", str(figure)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [s["measure"] for s in payload["series"]] == ["alsfrs_r", "cmap_amplitude", "mune"]
    assert [f["months_after_last_visit"] for f in payload["series"][0]["forecasts"]] == [6, 12, 18]
    assert payload["effective_sample_size"] > 1
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Forecasts" in report.read_text()


def test_a_bank_of_other_model_code_is_not_reused(monkeypatch):
    from endplate.infer import bank

    assert len(bank.model_fingerprint()) == 64 and bank.model_fingerprint() == bank.model_fingerprint()
    before = BankSettings(subjects=300).key()
    monkeypatch.setattr(bank, "model_fingerprint", lambda: "another model")
    assert BankSettings(subjects=300).key() != before
