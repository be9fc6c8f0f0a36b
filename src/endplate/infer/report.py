"""The patient report: the visits on their posterior predictive course, and survival, as PNG and HTML."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import xarray as xr

from endplate.disease.mune_course import DAYS_PER_MONTH
from endplate.infer.patient import HORIZONS_MONTHS, Posterior, Series, draw, predictive
from endplate.infer.visits import Visits
from endplate.report.style import COLOURS, styled
from endplate.seeding import substreams

TITLES = {"alsfrs_r": "ALSFRS-R total (points)", "cmap_amplitude": "CMAP amplitude (mV)", "mune": "MUNE (units)"}


def course_figure(post: Posterior, series: list[Series], bank: xr.Dataset, visits: Visits, seed: int):
    """One panel per series (the patient's points, posterior predictive median, 50 % and 90 % bands
    from the first visit to 18 months after the last) and a survival panel; a matplotlib Figure."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(substreams(seed, "report")["report"])
    grid = bank["visit_day"].values.astype(float)
    last = visits.observations[-1].day
    days = np.linspace(0.0, last + max(HORIZONS_MONTHS) * DAYS_PER_MONTH, 80)
    draws = draw(post, rng)
    origin = "onset" if visits.onset_known else "first visit"
    with styled():
        fig, axes = plt.subplots(1, len(series) + 1, figsize=(3.6 * (len(series) + 1), 3.2), squeeze=False)
        for i, s in enumerate(series):
            ax = axes[0, i]
            pred = predictive(s, i, draws, grid, days, rng)
            alive = ~np.isnan(pred)
            ok = alive.mean(axis=0) > 0.05  # bands only where enough draws are alive to define them
            q = np.full((5, days.size), np.nan)
            q[:, ok] = np.array([np.nanquantile(pred[:, j], (0.05, 0.25, 0.5, 0.75, 0.95)) for j in np.flatnonzero(ok)]).T
            months = days / DAYS_PER_MONTH
            ax.fill_between(months, q[0], q[4], color=COLOURS["main"], alpha=0.15, lw=0, label="90 %")
            ax.fill_between(months, q[1], q[3], color=COLOURS["main"], alpha=0.3, lw=0, label="50 %")
            ax.plot(months, q[2], color=COLOURS["main"], label="median")
            y = np.exp(s.y) if s.log else s.y
            ax.plot(s.days / DAYS_PER_MONTH, y, "o", color=COLOURS["accent"], label="patient")
            ax.axvline(last / DAYS_PER_MONTH, color="0.5", lw=0.8, ls="--")
            name = TITLES[s.key[0]] + (f" {s.key[1]}" if s.key[1] else "") + (f" ({s.key[2]})" if s.key[2] else "")
            ax.set_title(name)
            ax.set_xlabel(f"months since {origin}")
            if i == 0:
                ax.legend(loc="lower left")
        ax = axes[0, -1]
        death = bank["death_day"].values[draws.subject] - draws.delay
        death = np.where(np.isnan(death), np.inf, death)
        ax.plot(days / DAYS_PER_MONTH, [(death > d).mean() for d in days], color=COLOURS["main"])
        ax.axvline(last / DAYS_PER_MONTH, color="0.5", lw=0.8, ls="--")
        ax.set_ylim(0, 1.02)
        ax.set_title("survival (end stage)")
        ax.set_xlabel(f"months since {origin}")
        ax.set_ylabel("probability alive")
        fig.tight_layout()
    return fig


def figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _rows(payload: dict) -> str:
    out = []
    for s in payload["series"]:
        name = s["measure"] + (f" {s['muscle']}" if s["muscle"] else "") + (f" ({s['method']})" if s["method"] else "")
        for f in s["forecasts"]:
            cells = (
                name,
                f"{f['months_after_last_visit']}",
                _num(f["median"]),
                "-".join(_num(x) for x in f["interval_50"]),
                "-".join(_num(x) for x in f["interval_90"]),
                f"{f['p_alive']:.2f}",
                s["unit"],
            )
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "\n".join(out)


def _num(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3g}"


def patient_html(payload: dict, png: bytes) -> str:
    """A self-contained HTML page: the figure, the forecast table, events, posterior, prior and likelihood."""
    img = base64.b64encode(png).decode()
    post = payload["posterior"]
    events = []
    for key, label in (("time_to_half_function", "ALSFRS-R at or below 24"), ("survival", "end stage (survival)")):
        e = payload[key]
        events.append(
            f"<li>{label}: median {_num(e['median_days'])} days since {payload['time_origin']} "
            f"(90 % {_num(e['interval_90_days'][0])}-{_num(e['interval_90_days'][1])}); "
            f"{_num(e['median_months_after_last_visit'])} months after the last visit</li>"
        )
    sites = ", ".join(f"{k} {v:.2f}" for k, v in post["site_of_onset"].items())
    pf = post["progression_factor"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>endplate: patient course</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}td,th{{padding:2px 8px;text-align:right}}</style></head><body>
<h1>Patient course: posterior and forecast</h1>
<img alt="the patient's visits on the posterior predictive course" style="max-width:100%" src="data:image/png;base64,{img}">
<h2>Forecasts (next measurement)</h2>
<table><tr><th>measure</th><th>months after last visit</th><th>median</th><th>50 %</th><th>90 %</th><th>P(alive)</th><th>unit</th></tr>
{_rows(payload)}</table>
<h2>Events</h2><ul>{"".join(events)}</ul>
<h2>Posterior</h2><ul>
<li>progression factor: median {pf["median"]:.3g} (90 % {pf["interval_90"][0]:.3g}-{pf["interval_90"][1]:.3g})</li>
<li>site of onset: {html.escape(sites)}</li>
<li>effective sample size: {payload["effective_sample_size"]:.1f} of {payload["bank_subjects"]} bank patients;
likelihood exponent {payload["likelihood_tempering"]:.3g} (below 1: tempered so that enough bank patients carry the posterior)</li></ul>
<h2>Method</h2><p>Prior: {html.escape(payload["prior"])}.</p><p>Likelihood: {html.escape(payload["likelihood"])}.</p>
<p>Seed {payload["seed"]}; endplate {html.escape(payload.get("version", ""))}.</p></body></html>"""
