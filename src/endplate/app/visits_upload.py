"""The app's patient panel: upload a visits table, see the forecast on the patient's points.

The file's bytes arrive in the browser message (at most ``guard.MAX_MESSAGE_BYTES``) and are
parsed in memory by ``infer.visits.parse_visits``; nothing the browser sends is written to disk
or used as a path (the name it gives is only shown). The fit uses the cached bank of virtual
patients; the app never builds one (that takes many minutes): without it, the panel says which
command builds it.
"""

from __future__ import annotations

import html

import panel as pn

from endplate.errors import EndplateInputError
from endplate.infer.bank import BankSettings, cached_bank
from endplate.infer.visits import MAX_VISITS_BYTES

UPLOADED = "uploaded visits table"


def forecast_from_upload(data: bytes | None) -> tuple[dict, object]:
    """(payload, matplotlib figure) of an uploaded visits table; EndplateInputError for a bad one."""
    from endplate.infer.bank import BANK_MUSCLES
    from endplate.infer.patient import ErrorModel, fit, result_payload
    from endplate.infer.report import course_figure
    from endplate.infer.visits import parse_visits

    if not data:
        raise EndplateInputError("choose a visits table (CSV) first")
    if len(data) > MAX_VISITS_BYTES:
        raise EndplateInputError(f"{UPLOADED}: larger than {MAX_VISITS_BYTES} bytes; a visits table is not that large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EndplateInputError(f"{UPLOADED}: not UTF-8 text (undecodable byte at offset {exc.start})") from None
    visits = parse_visits(text, UPLOADED, BANK_MUSCLES)
    bank = cached_bank(BankSettings())
    if bank is None:
        raise EndplateInputError(
            "the bank of virtual patients is not built yet: run `endplate infer patient` once on any visits file (it builds and caches it)"
        )
    post, series = fit(visits, bank)
    return result_payload(post, series, bank, visits, 0, ErrorModel()), course_figure(post, series, bank, visits, 0)


def forecast_markdown(payload: dict) -> str:
    """The forecast table, events and posterior as Markdown."""
    rows = []
    for s in payload["series"]:
        name = s["measure"] + (f" {s['muscle']}" if s["muscle"] else "") + (f" ({s['method']})" if s["method"] else "")
        for f in s["forecasts"]:
            lo, hi = f["interval_90"]
            med = "n/a" if f["median"] is None else f"{f['median']:.3g}"
            band = "n/a" if lo is None else f"{lo:.3g}-{hi:.3g}"
            rows.append(
                f"| {html.escape(name)} [{s['unit']}] | {f['months_after_last_visit']} | {med} | {band} | {f['p_alive']:.2f} |"
            )
    e = payload["survival"]
    median = "beyond the bank" if e["median_days"] is None else f"{e['median_days']:.0f} days"
    return (
        "| measure | months after last visit | median | 90 % | P(alive) |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\nEnd stage: median {median} since {payload['time_origin']}. Effective sample size "
        f"{payload['effective_sample_size']:.0f} of {payload['bank_subjects']} virtual patients."
    )


class VisitsPanel:
    """Upload widget, button, status, figure and table of one browser session."""

    def __init__(self, in_worker, page_status) -> None:
        self.in_worker = in_worker  # the page's coroutine that runs work off the event loop (it writes page_status)
        self.page_status = page_status
        self.upload = pn.widgets.FileInput(accept=".csv", multiple=False, css_classes=["visits-upload"])
        self.run = pn.widgets.Button(label="Forecast this patient", color="primary")
        self.status = pn.pane.Alert("Upload a visits table (docs/infer-course.md).", alert_type="info")
        self.plot = pn.pane.Matplotlib(None, dpi=80, tight=True, format="png", sizing_mode="stretch_width")
        self.table = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.run.on_click(self._forecast)

    async def _forecast(self, _event=None) -> None:
        self.run.disabled = True
        data = self.upload.value
        try:
            payload, fig = await self.in_worker("Fitting the visits", lambda progress: forecast_from_upload(data))
        except Exception as exc:  # noqa: BLE001 - reported on the page
            kind = "Input not accepted" if isinstance(exc, EndplateInputError) else f"The fit failed ({type(exc).__name__})"
            self.status.param.update(object=f"**{kind}:** {html.escape(str(exc))}", alert_type="danger")
            self.page_status.param.update(object="The visits table was not fitted (see below).", alert_type="danger")
            return
        finally:
            self.run.disabled = False
        self.plot.object = fig
        self.table.object = forecast_markdown(payload)
        self.status.param.update(object="Forecast ready.", alert_type="success")
        self.page_status.param.update(object="Patient forecast ready (below).", alert_type="success")

    def view(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### A patient's visits", self.upload, self.run, self.status, self.table, self.plot, sizing_mode="stretch_width"
        )
