"""Figure and self-contained HTML report of a MUNE inferred from a CMAP scan.

Drawn from plain values only (the inference's result and its model curve), so the report layer
needs nothing of the inference.
"""

from __future__ import annotations

import base64
import html
import io
import json

import matplotlib.pyplot as plt
import numpy as np

from endplate.report.style import COLOURS, LABELS, styled


def scan_figure(result: dict, curve: dict):
    """Three panels: the scan with the model's mean and 95 % band, the residuals, the count's posterior."""
    with styled():
        fig, axes = plt.subplots(3, 1, figsize=(6.4, 7.2), gridspec_kw={"height_ratios": [3, 1.2, 1.6]})
        s = curve["stimulus_ma"]
        ax = axes[0]
        ax.plot(s, curve["response_mv"], ".", ms=2.5, color=COLOURS["main"], label="scan")
        ax.plot(s, curve["mean_mv"], color=COLOURS["accent"], lw=1.2, label=f"model, {result['units']} equal units")
        ax.fill_between(
            s, curve["mean_mv"] - 2 * curve["sd_mv"], curve["mean_mv"] + 2 * curve["sd_mv"], color=COLOURS["accent"], alpha=0.2
        )
        ax.set(ylabel=LABELS["cmap_mv"], title=f"{result['muscle']} CMAP scan: {_count(result)}")
        ax.legend(loc="upper left")
        ax = axes[1]
        ax.plot(s, curve["residual_sd"], ".", ms=2.5, color=COLOURS["main"])
        ax.axhline(0, color="k", lw=0.6)
        for k in (-2, 2):
            ax.axhline(k, color=COLOURS["accent"], lw=0.6, ls="--")
        ax.set(xlabel=LABELS["stimulus_ma"], ylabel="residual (SD)")
        ax = axes[2]
        units, weights = np.asarray(result["posterior_units"]), np.asarray(result["posterior_weights"])
        ax.hist(units, bins=30, weights=weights, color=COLOURS["main"], alpha=0.8)
        for v in (result["units_low"], result["units_high"]):
            ax.axvline(v, color=COLOURS["accent"], ls="--", lw=0.8)
        ax.set(xlabel=LABELS["units"], ylabel="posterior weight")
        fig.tight_layout()
    return fig


def _count(result: dict) -> str:
    interval = f"{result['interval']:.0%} interval {result['units_low']}-{result['units_high']}"
    return f"{result['units']} motor units ({interval}, prior {result['prior']})"


def save_scan_figure(result: dict, curve: dict, path) -> None:
    """Write the figure to ``path`` (the suffix sets the format)."""
    fig = scan_figure(result, curve)
    fig.savefig(path)
    plt.close(fig)


def scan_report_html(result: dict, curve: dict, provenance: dict) -> str:
    """The report as one HTML page, the figure embedded as PNG."""
    fig = scan_figure(result, curve)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode()
    rows = [
        ("motor units", _count(result)),
        ("CMAP (negative peak)", f"{result['cmap_mv']:.3g} mV"),
        ("baseline noise", f"{result['noise_uv']:.3g} µV"),
        *((f"unit size {k}", f"{v:.3g} µV") for k, v in result["unit_size_uv"].items()),
        *((f"threshold at {k[1:]} % of CMAP", f"{v:.3g} mA") for k, v in result["threshold_ma"].items()),
        ("threshold spread between units (CV)", f"{result['threshold_cv']:.3g}"),
        ("threshold noise of a unit (RSD, alternation)", f"{result['threshold_noise_rsd']:.3g}"),
        (
            "engine",
            f"{result['engine']} (prior {result['prior']}: {result['reference_scans']} reference scans, {result['accepted']} accepted)",
        ),
    ]
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>endplate MUNE: {html.escape(result["muscle"])}</title>
<style>body{{font-family:sans-serif;max-width:52em;margin:2em auto}}td{{padding:2px 10px}}</style></head><body>
<h1>MUNE from a CMAP scan: {html.escape(result["muscle"])}</h1>
<p>Source: {html.escape(provenance.get("source", ""))}. Unit sizes are posterior medians of the unit-size distribution
(negative-peak potentials); thresholds are read from the scan. The model curve places equal units on the scan for display;
the count comes from the posterior (docs/mune.md).</p>
<table>{table}</table><img src='data:image/png;base64,{img}'/>
<h2>Provenance</h2><pre>{html.escape(json.dumps(provenance, indent=1, sort_keys=True, default=str))}</pre></body></html>"""
