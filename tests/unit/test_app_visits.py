"""The app's visits upload: bytes parsed in memory, checked like the CLI's file, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from endplate.errors import EndplateInputError
from endplate.infer.bank import BankSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "src" / "endplate" / "data" / "examples" / "patient_visits.csv"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ENDPLATE_CACHE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "data, message",
    [
        (None, "choose a visits table"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b"x" * 1_000_001, "larger than"),
        (b"days_since_onset,measure,value,unit\n10,fvc,80,percent\n", "forced vital capacity is not modelled"),
    ],
)
def test_bad_upload_is_refused_with_the_reason(cache, data, message):
    from endplate.app.visits_upload import forecast_from_upload

    with pytest.raises(EndplateInputError, match=message):
        forecast_from_upload(data)
    assert list(cache.iterdir()) == []


def test_upload_without_a_bank_says_how_to_build_it_and_builds_nothing(cache):
    from endplate.app.visits_upload import forecast_from_upload

    with pytest.raises(EndplateInputError, match="endplate infer patient"):
        forecast_from_upload(EXAMPLE.read_bytes())
    assert list(cache.iterdir()) == []


def test_upload_of_the_example_gives_the_forecast_and_writes_nothing(cache):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_infer_patient import synthetic_bank

    from endplate.app.visits_upload import forecast_from_upload, forecast_markdown

    path = cache / f"patient-bank-{BankSettings().key()}.nc"
    synthetic_bank().to_netcdf(path)
    payload, fig = forecast_from_upload(EXAMPLE.read_bytes())
    assert "| alsfrs_r [points] | 6 |" in forecast_markdown(payload)
    assert fig.axes and sorted(p.name for p in cache.iterdir()) == [path.name]
