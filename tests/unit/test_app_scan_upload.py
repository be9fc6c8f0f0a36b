"""The app's scan upload: parsed in memory on the server, size-limited, refused with a message."""

from importlib import resources

import pytest

from endplate.app.scan_upload import MAX_UPLOAD_BYTES, ScanUpload, infer_upload
from endplate.errors import EndplateInputError

EXAMPLE = resources.files("endplate.data") / "examples" / "scan_apb.csv"


def test_uploaded_example_scan_is_inferred():
    result, curve = infer_upload(EXAMPLE.read_bytes(), "APB")
    assert result["units_low"] <= result["units"] <= result["units_high"]
    assert curve["mean_mv"].shape == curve["stimulus_ma"].shape


@pytest.mark.parametrize(
    "data, words",
    [
        (None, "choose a scan"),
        (b"x" * (MAX_UPLOAD_BYTES + 1), "at most"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"a,b\n1,2\n", "unknown column"),
    ],
)
def test_bad_uploads_are_refused_by_name(data, words):
    with pytest.raises(EndplateInputError, match=words):
        infer_upload(data, "APB")


def test_panel_shows_the_refusal_instead_of_raising():
    panel = ScanUpload()
    panel.file.value = b"stimulus_mA,force_N\n1,2\n"
    panel._infer()
    assert "Cannot use this scan" in panel.status.object and "force_N" in panel.status.object
