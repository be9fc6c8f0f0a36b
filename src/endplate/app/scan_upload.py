"""The app's "Your CMAP scan" panel: upload a scan CSV and see its MUNE.

The upload stays in memory: its bytes are size-checked, decoded and parsed on the server
(``io.scan_file.parse_scan_csv``) and never written to a file, so no path the browser names is
ever opened. The muscle comes from a fixed list, checked again by the inference.
"""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import panel as pn

from endplate.errors import EndplateInputError
from endplate.infer.scan import infer_scan, model_curve
from endplate.infer.scans import SCAN_MUSCLES
from endplate.io.scan_file import parse_scan_csv
from endplate.report.scan_report import scan_figure

MAX_UPLOAD_BYTES = 200_000  # a 500-stimulus scan is about 10 kB


def infer_upload(data: bytes | None, muscle: str) -> tuple[dict, dict]:
    """(result, model curve) of an uploaded scan; EndplateInputError names what is wrong."""
    if not data:
        raise EndplateInputError("choose a scan CSV file to upload")
    if len(data) > MAX_UPLOAD_BYTES:
        raise EndplateInputError(f"the uploaded file has {len(data):,} bytes; a scan CSV is at most {MAX_UPLOAD_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EndplateInputError("the uploaded file is not UTF-8 text; upload the scan as CSV") from None
    recording = parse_scan_csv(text, "uploaded scan")
    result = infer_scan(recording.stimulus_ma, recording.response_mv, muscle)
    curve = model_curve(recording.stimulus_ma, recording.response_mv, result["units"], result["threshold_noise_rsd"])
    return result, curve


class ScanUpload:
    """Upload widget, muscle choice and the result (table and figure)."""

    def __init__(self) -> None:
        self.file = pn.widgets.FileInput(accept=".csv", multiple=False)
        self.muscle = pn.widgets.Select(label="Muscle scanned", options=[m for _, m in SCAN_MUSCLES], value="APB")
        self.button = pn.widgets.Button(label="Estimate motor units", color="primary")
        self.status = pn.pane.Markdown("Upload a CSV with columns `stimulus_mA` and `cmap_mV` (docs/mune.md).")
        self.plot = pn.pane.Matplotlib(None, dpi=90, tight=True, format="png", sizing_mode="stretch_width")
        self.button.on_click(self._infer)

    def _infer(self, _event=None) -> None:
        try:
            result, curve = infer_upload(self.file.value, self.muscle.value)
        except EndplateInputError as exc:
            self.status.object = f"**Cannot use this scan:** {html.escape(str(exc))}"
            return
        self.status.object = (
            f"**{result['units']} motor units** (90 % interval {result['units_low']}-{result['units_high']}), "
            f"CMAP {result['cmap_mv']:.3g} mV, median unit {result['unit_size_uv']['amplitude_p50']:.3g} µV."
        )
        if self.plot.object is not None:
            plt.close(self.plot.object)
        self.plot.object = scan_figure(result, curve)

    def view(self) -> pn.viewable.Viewable:
        return pn.Column("### Your CMAP scan", self.file, self.muscle, self.button, self.status, self.plot)
