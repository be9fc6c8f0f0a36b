"""Self-contained HTML report of a trial dataset: per-arm trajectories, effects, survival, power."""

from __future__ import annotations

import base64
import html
import json
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from endplate.report.run_report import _png  # noqa: E402
from endplate.report.style import STYLE  # noqa: E402
from endplate.therapy.analysis import DAYS_PER_MONTH, endpoint_values  # noqa: E402

ARM_COLOURS = ("#2c3e50", "#c0392b", "#1b9e77", "#7570b3", "#d95f02")
ENDPOINT_COLOURS = ("#2c3e50", "#c0392b", "#1b9e77", "#7570b3", "#d95f02", "#e6ab02", "#66a61e", "#a6761d")
LABELS = {
    "cmap": "CMAP (% of baseline)",
    "mune": "MUNE (% of baseline)",
    "munix_sum": "MUNIX sum (motor units)",
    "force": "force (% of baseline)",
    "composite": "ALSFRS-R-like score (0-48)",
}


def _arms(ds: xr.Dataset, analysis: dict) -> list[str]:
    return [a["name"] for a in analysis["arms"]]


def _trajectories(ds: xr.Dataset, analysis: dict) -> str:
    slope = [e for e in analysis["endpoints"] if e in LABELS]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(slope), figsize=(3.6 * len(slope), 3.2), squeeze=False)
        months = ds["visit_day"].values / DAYS_PER_MONTH
        for ax, e in zip(axes[0], slope):
            y = endpoint_values(ds, e)
            for arm, colour in zip(_arms(ds, analysis), ARM_COLOURS):
                rows = y[(ds["arm"].values == arm) & ds["enrolled"].values]
                for r in rows[:30]:
                    ax.plot(months, r, color=colour, alpha=0.08, lw=0.8)
                n = np.isfinite(rows).sum(0)
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(rows, 0) if rows.size else months * np.nan
                    se = np.nanstd(rows, 0) / np.sqrt(np.maximum(n, 1))
                ax.plot(months, mean, color=colour, lw=2, label=arm)
                ax.fill_between(months, mean - 1.96 * se, mean + 1.96 * se, color=colour, alpha=0.2)
            ax.set(xlabel="months since randomisation", ylabel=LABELS[e])
        axes[0][0].legend(frameon=False)
        return _png(fig)


# Effect scales of the results: unit -> (no-effect reference, axis label, log axis)
EFFECT_AXES = {
    "per month": (0.0, "difference in slope per month (active - control)", False),
    "hazard ratio": (1.0, "hazard ratio (active / control)", True),
    "net benefit": (0.0, "net benefit, joint rank (active - control)", False),
}


def _effect_cells(r: dict) -> str:
    """The effect and its CI as two table cells, or the reason there is no estimate."""
    if r.get("effect_undefined_reason"):
        return f"undefined ({html.escape(r['effect_undefined_reason'])})</td><td>"
    return f"{r['effect']:.3g}</td><td>[{r['ci_low']:.3g}, {r['ci_high']:.3g}]"


def _effects(analysis: dict) -> str:
    """One panel per effect scale present, each result with its 95 % CI."""
    panels = [(u, [r for r in analysis["results"] if r["unit"] == u]) for u in EFFECT_AXES]
    panels = [(u, rows) for u, rows in panels if rows]
    with plt.rc_context(STYLE):
        tall = max(max(len(rows) for _, rows in panels), 2)
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 0.5 + 0.45 * tall), squeeze=False)
        for ax, (unit, rows) in zip(axes[0], panels):
            ref, xlabel, log = EFFECT_AXES[unit]
            for i, r in enumerate(rows):
                if all(r[k] is not None and np.isfinite(r[k]) for k in ("effect", "ci_low", "ci_high")):
                    xerr = [[r["effect"] - r["ci_low"]], [r["ci_high"] - r["effect"]]]
                    ax.errorbar(r["effect"], i, xerr=xerr, fmt="o", color="#c0392b", capsize=3)
            ax.axvline(ref, color="#888", lw=1)
            ax.set_yticks(range(len(rows)), [f"{r['endpoint']} ({r['arm']})\np = {r['p_value']:.3g}" for r in rows])
            ax.set_xlabel(xlabel)
            if log:
                ax.set_xscale("log")
        return _png(fig)


def _survival(ds: xr.Dataset, analysis: dict) -> str | None:
    if "survival" not in analysis["endpoints"]:
        return None
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        for arm, colour in zip(_arms(ds, analysis), ARM_COLOURS):
            keep = (ds["arm"].values == arm) & ds["enrolled"].values
            t = ds["death_day"].values[keep]
            event = np.isfinite(t)
            time = np.where(event, t, ds["followup_days"].values[keep])
            order = np.argsort(time)
            at_risk = len(time) - np.arange(len(time))
            surv = np.cumprod(1 - event[order] / np.maximum(at_risk, 1))
            ax.step(np.r_[0, time[order]] / DAYS_PER_MONTH, np.r_[1, surv], where="post", color=colour, label=arm)
        ax.set(xlabel="months since randomisation", ylabel="free of end stage", ylim=(0, 1.02))
        ax.legend(frameon=False)
        return _png(fig)


def _curve(ax, curve: dict, colour: str, label: str, shift: float = 0.0) -> None:
    """Power with its Monte Carlo error bars (+/- 1.96 se, within 0-1), the fitted curve and the
    solved size; ``shift`` moves the points sideways (subjects) so that curves side by side stay apart."""
    from endplate.therapy.power import fitted_power, size_strings

    n, p, se = (np.asarray(curve[k], float) for k in ("subjects_per_arm", "power", "se"))
    bars = [p - np.clip(p - 1.96 * se, 0, 1), np.clip(p + 1.96 * se, 0, 1) - p]
    ax.errorbar(n + shift, p, yerr=bars, fmt="o", color=colour, capsize=3, ms=4)
    ss = curve["sample_size"]
    grid = np.linspace(max(1.0, n.min() * 0.5), n.max() * 1.1, 200)
    size, interval = size_strings(ss)
    solved = f"{size} ({interval})" if np.isfinite(ss["subjects_per_arm"]) else size
    if ss["fit"]["b"] > 0:  # a curve that falls with n fits noise around alpha: only the points are shown
        ax.plot(grid, fitted_power(ss["fit"], grid), color=colour, lw=1.5, label=f"{label}: {solved}")
    else:
        ax.plot([], [], "o", color=colour, label=f"{label}: {solved}")
    if np.isfinite(ss["subjects_per_arm"]) and ss["subjects_per_arm"] <= grid[-1]:
        ax.axvline(ss["subjects_per_arm"], color=colour, ls=":", lw=1)


def _power_png(power: dict, endpoints: list[str]) -> str:
    target = power["sample_size"]["target_power"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.2, 3.8))
        top = max(max(power["endpoints"][e]["subjects_per_arm"]) for e in endpoints)
        for k, (e, colour) in enumerate(zip(endpoints, ENDPOINT_COLOURS)):
            _curve(ax, power["endpoints"][e], colour, e, shift=0.012 * top * (k - (len(endpoints) - 1) / 2))
        ax.axhline(target, color="#888", ls="--", lw=1)
        ax.axhline(power["alpha"], color="#bbb", ls=":", lw=1)
        ax.set(xlabel="subjects per arm", ylabel=f"power (alpha {power['alpha']})", ylim=(0, 1.02))
        ax.legend(frameon=False, fontsize=8, title=f"subjects per arm for {target:.0%} power", title_fontsize=8)
        return _png(fig)


def endpoints_png(analysis: dict) -> bytes:
    """The comparison of endpoints as PNG bytes: every endpoint's prospective power curve."""
    power = analysis["power"]
    return base64.b64decode(_power_png(power, list(power["endpoints"])))


def _sensitivity(analysis: dict) -> str:
    """The primary slope endpoint's mixed-model sensitivity analysis, as a paragraph (empty without one)."""
    primary = next(r for r in analysis["results"] if r["endpoint"] == analysis["primary"])
    m, check = primary.get("mixed_model"), analysis["power"]["mixed_model_check"]
    if not m:
        return ""
    power = f" {agreement_text(check)}" if check else ""
    return (
        f"<p>Sensitivity analysis ({html.escape(m['method'])}): effect {m['effect']:.3g} per month "
        f"(95 % CI {m['ci_low']:.3g} to {m['ci_high']:.3g}), p = {m['p_value']:.3g}.{power}</p>"
    )


def agreement_text(check: dict) -> str:
    """The mixed-model check as a sentence: a subset of few trials, labelled so, with its Monte Carlo errors."""
    se = lambda k: f" +/- {check[k + '_se']:.2f}" if k + "_se" in check else ""  # noqa: E731
    return (
        f"Agreement check, not a power figure: on the same {check['trials']} trials of {check['subjects_per_arm']} per "
        f"arm drawn from the bank, the mixed model rejects in {check['sensitivity_power']:.2f}{se('sensitivity_power')} "
        f"and the trial's analysis in {check['analysis_power']:.2f}{se('analysis_power')} of them (binomial Monte Carlo "
        f"error of {check['trials']} trials); they decide alike in {check['same_decision']:.0%}."
    )


def _censoring(r: dict) -> str:
    if "events" not in r:
        return ""
    by = r["censored_by_arm"]
    return f"{r['events']} / {r['censored']} (control {by['control']}, active {by['active']})"


def _assumed(analysis: dict) -> str:
    """The effects the simulation assumed, as a table (empty for a result without the record)."""
    from endplate.therapy.interventions import range_text

    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(target)}</td><td>{t['drawn']:.3g}</td><td>{t['point']:.3g}</td>"
        f"<td>{range_text(t)}</td><td>{html.escape(iv['evidence'])}</td><td>{html.escape(iv['source'])}</td></tr>"
        for name, iv in analysis.get("assumed_effects", {}).items()
        for target, t in iv["targets"].items()
    )
    if not rows:
        return ""
    return (
        "<h2>Effects the simulation assumed</h2><p>Each uncertain effect is drawn once per trial from its 95 % range; "
        "the trial estimates what these assumed effects do to its endpoints.</p><table><tr><th>intervention</th>"
        f"<th>target</th><th>drawn</th><th>point</th><th>95 % range</th><th>evidence</th><th>source</th></tr>{rows}</table>"
    )


def report_from_dataset(ds: xr.Dataset) -> str:
    """The trial report as one HTML string (figures inlined as base64 PNG)."""
    analysis = json.loads(ds.attrs["analysis"])
    settings = json.loads(ds.attrs["settings"])
    power = analysis["power"]
    ss = power["sample_size"]
    from endplate.therapy.power import size_strings

    size, interval = (html.escape(t) for t in size_strings(ss))
    rows = "".join(
        f"<tr><td>{html.escape(r['endpoint'])}</td><td>{html.escape(r['arm'])}</td><td>{_effect_cells(r)}</td>"
        f"<td>{r['p_value']:.3g}</td><td>{html.escape(r['unit'])}</td>"
        f"<td>{html.escape(r['method'])}</td><td>{_censoring(r)}</td></tr>"
        for r in analysis["results"]
        if r["effect"] is not None
    )
    arms = "".join(
        f"<tr><td>{html.escape(a['name'])}</td><td>{a['subjects']}</td><td>{a['enrolled']}</td>"
        f"<td>{html.escape(', '.join(a['interventions']) or 'none')}</td></tr>"
        for a in analysis["arms"]
    )
    figs = [
        ("Per-arm trajectories (mean, 95 % band; thin lines: subjects)", _trajectories(ds, analysis)),
        ("Effects with 95 % confidence intervals", _effects(analysis)),
        ("Time to end stage (Kaplan-Meier)", _survival(ds, analysis)),
        (
            "Prospective power of the primary endpoint (fresh simulated trials; bars: 95 % Monte Carlo error; line: fit)",
            _power_png(power, [analysis["primary"]]),
        ),
        ("Endpoints compared: prospective power of each for the same intervention", _power_png(power, list(power["endpoints"]))),
    ]
    body = "".join(f"<h2>{t}</h2><img src='data:image/png;base64,{png}'>" for t, png in figs if png)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>endplate trial: {html.escape(ds.attrs["trial"])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}} img{{max-width:100%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:3px 8px;font-size:90%}}</style></head><body>
<h1>Trial: {html.escape(ds.attrs["trial"])}</h1><p>{html.escape(settings.get("description", ""))}</p>
<p>Primary endpoint <b>{html.escape(analysis["primary"])}</b>: effect {analysis["effect"]:.3g} {html.escape(analysis["effect_unit"])}
(95 % CI {analysis["ci_low"]:.3g} to {analysis["ci_high"]:.3g}), p = {analysis["p_value"]:.3g}. Prospective power at
{power["subjects_per_arm"]} per arm: {power["power"]:.2f} +/- {power["se"]:.2f} ({power["curve"]["trials"]} fresh trials per
size from a bank of {power["curve"]["bank_per_arm"]} new subjects per arm); {ss["target_power"]:.0%} power needs
{size} per arm (95 % {interval}).</p>
{_sensitivity(analysis)}
<table><tr><th>arm</th><th>subjects</th><th>enrolled</th><th>interventions</th></tr>{arms}</table>
{_assumed(analysis)}
<h2>All endpoints</h2><table><tr><th>endpoint</th><th>arm</th><th>effect</th><th>95 % CI</th><th>p</th><th>unit</th><th>method</th><th>events / censored</th></tr>{rows}</table>
{body}
<h2>Provenance</h2><p>endplate {html.escape(ds.attrs["endplate_version"])}, seed {ds.attrs["seed"]}.</p>
<pre style="white-space:pre-wrap;font-size:80%">{html.escape(json.dumps(settings, indent=1))}</pre></body></html>"""
