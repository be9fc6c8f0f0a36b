"""Self-contained HTML report of a disease run: figures embedded as PNG, provenance at the end."""

from __future__ import annotations

import base64
import html
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from endplate._version import __version__  # noqa: E402
from endplate.report.figures import STYLE  # noqa: E402

TYPE_COLOURS = {"S": "#1b9e77", "FR": "#7570b3", "FF": "#d95f02"}


def _png(fig) -> str:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _panels(result: dict, key: str, ylabel: str, x: str = "day") -> str:
    names = list(result["muscles"])
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for m in names:
            ax.plot(result[x], result["muscles"][m][key], label=m, lw=1.6)
        _onset_lines(ax, result)
        ax.set(xlabel="age (days)" if result["scenario"].species == "mouse" else "day", ylabel=ylabel, ylim=(0, 105))
        ax.legend(frameon=False, fontsize=8, ncol=3)
        return _png(fig)


def _onset_lines(ax, result) -> None:
    for key, style in (("onset_day", "--"), ("end_stage_day", ":")):
        if result[key] is not None:
            ax.axvline(result[key], color="grey", ls=style, lw=1)


def _stages(result: dict) -> str:
    names = list(result["muscles"])
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), sharey=True)
        for ax, m in zip(np.atleast_1d(axes), names):
            v = result["muscles"][m]
            full = v["innervated_percent"] - v["impaired_percent"]
            ax.stackplot(result["day"], full, v["impaired_percent"], v["partial_percent"], v["denervated_percent"],
                         colors=["#2c7fb8", "#7fcdbb", "#fdae61", "#d7191c"],
                         labels=["innervated", "impaired", "partly withdrawn", "denervated"])
            ax.set(title=m, xlabel="day", ylim=(0, 100))
        np.atleast_1d(axes)[0].set_ylabel("% of endplates")
        np.atleast_1d(axes)[-1].legend(frameon=False, fontsize=7, loc="lower left")
        return _png(fig)


def _by_type(result: dict, key: str, ylabel: str) -> str:
    names = list(result["muscles"])
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0), sharey=True)
        for ax, m in zip(np.atleast_1d(axes), names):
            for i, t in enumerate(("S", "FR", "FF")):
                ax.plot(result["day"], result["muscles"][m][key][:, i], color=TYPE_COLOURS[t], label=t)
            ax.set(title=m, xlabel="day", ylim=(0, 105))
        np.atleast_1d(axes)[0].set_ylabel(ylabel)
        np.atleast_1d(axes)[-1].legend(frameon=False, fontsize=8)
        return _png(fig)


def _mune(result: dict) -> str:
    names = list(result["muscles"])
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0))
        for ax, m in zip(np.atleast_1d(axes), names):
            v = result["muscles"][m]
            ax.plot(result["mune_day"], v["mune_true"], color="black", label="true")
            ax.plot(result["mune_day"], v["mune"], "o-", ms=3, color="#c0392b", label=result["scenario"].mune_method)
            ax.set(title=m, xlabel="day", ylim=(0, None))
        np.atleast_1d(axes)[0].set_ylabel("motor units")
        np.atleast_1d(axes)[-1].legend(frameon=False, fontsize=8)
        return _png(fig)


def _probes(result: dict) -> str:
    probes = result["probes"]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        for pr in probes:
            axes[0].hist(pr["unit_sizes"], bins=30, histtype="step", lw=1.5, label=f"day {pr['day']}")
        axes[0].set(xlabel="fibres per unit", ylabel="units", title="unit sizes")
        axes[0].legend(frameon=False, fontsize=8)
        d = [pr["day"] for pr in probes]
        axes[1].plot(d, [pr["mcd_us"] for pr in probes], "o-", label="jitter, MCD (us)")
        axes[1].plot(d, [pr["blocking_percent"] for pr in probes], "s-", label="blocking (%)")
        axes[1].set(xlabel="day", title="SFEMG at 10 Hz")
        axes[1].legend(frameon=False, fontsize=8)
        axes[2].plot(d, [pr["decrement_percent"] for pr in probes], "o-", color="#c0392b")
        axes[2].axhline(10, color="grey", ls="--", lw=0.8)
        axes[2].set(xlabel="day", ylabel="%", title="3 Hz CMAP decrement")
        fig.tight_layout()
        return _png(fig)


def _cross_section(result: dict) -> str:
    pr = result["probes"][-1]
    muscle = result["scenario"].probe_muscle or result["scenario"].muscles[0]
    a = result["states"][muscle].anatomy
    palette = np.array([[0.106, 0.620, 0.467], [0.459, 0.439, 0.702], [0.851, 0.373, 0.008]])
    colour = np.where((pr["cross_section"]["owner"] >= 0)[:, None], palette[pr["cross_section"]["fibre_type"]], 0.85)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, ax = plt.subplots(figsize=(4.6, 4.6))
        pts = 0.42 * 4.6 * 72 / (2.2 * a.radius_mm) * np.sqrt(np.pi * a.radius_mm**2 / a.n_fibres)
        ax.scatter(a.fibre_xy_mm[:, 0], a.fibre_xy_mm[:, 1], c=colour, s=pts**2, linewidths=0)
        ax.set_aspect("equal")
        ax.set(title=f"{muscle} day {pr['day']}: S green, FR violet, FF orange, denervated grey", xlabel="mm")
        ax.title.set_fontsize(8)
        return _png(fig)


def run_report(result: dict) -> str:
    """The whole report as one HTML string."""
    sc = result["scenario"]
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{v['units']}</td><td>{v['fibres']}</td>"
        f"<td>{_milestone(result['day'], v['innervated_percent'])}</td><td>{_milestone(result['day'], v['motor_neurons_percent'])}</td>"
        f"<td>{_milestone(result['day'], v['force_percent'])}</td><td>{v['max_enlargement']:.1f}</td></tr>"
        for m, v in result["muscles"].items())
    figures = [
        ("Endplates by stage", _stages(result)),
        ("Motor neurons by type (% of start)", _by_type(result, "motor_neurons_percent_by_type", "% alive")),
        ("Axons by type (% of start)", _by_type(result, "axons_percent_by_type", "% intact")),
        ("Force", _panels(result, "force_percent", "% of start")),
        ("CMAP amplitude", _panels(result, "cmap_percent", "% of start", x="readout_day")),
        ("MUNE beside the true number of functioning units", _mune(result)),
    ]
    if result["probes"]:
        figures.append(("Unit sizes, jitter and decrement at chosen ages", _probes(result)))
        figures.append(("Cross-section: fibre-type grouping", _cross_section(result)))
    body = "".join(f"<h2>{html.escape(t)}</h2><img src='data:image/png;base64,{img}'/>" for t, img in figures)
    onset = "not reached" if result["onset_day"] is None else f"day {result['onset_day']:.0f}"
    end = "not reached" if result["end_stage_day"] is None else f"day {result['end_stage_day']:.0f}"
    provenance = html.escape(json.dumps({"endplate_version": __version__, "scenario": sc.as_dict(),
                                          "mechanisms": result["mechanisms"]}, indent=1, default=list))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>endplate run: {html.escape(sc.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}} img{{max-width:100%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
pre{{background:#f6f6f6;padding:1em;font-size:11px;overflow:auto}}</style></head><body>
<h1>{html.escape(sc.name)}: {html.escape(sc.genotype)}, {html.escape(sc.hypothesis)}</h1>
<p>{html.escape(sc.description)}. Seed {sc.seed}. Onset: <b>{onset}</b> ({html.escape(_definition(sc, 'onset'))}).
End stage: <b>{end}</b> ({html.escape(_definition(sc, 'end_stage'))}).</p>
<table><tr><th>muscle</th><th>units</th><th>fibres</th><th>innervation below 50 %</th><th>motor neurons below 50 %</th>
<th>force below 50 %</th><th>largest unit / start (max at readouts)</th></tr>{rows}</table>
{body}
<h2>Provenance</h2><pre>{provenance}</pre></body></html>"""


def _milestone(days, series) -> str:
    hit = np.flatnonzero(np.asarray(series) < 50)
    return f"day {days[hit[0]]}" if hit.size else "not reached"


def _definition(sc, which: str) -> str:
    muscles = getattr(sc, f"{which}_muscles") or sc.muscles
    return f"mean force of {', '.join(muscles)} below {getattr(sc, f'{which}_force_fraction'):.0%}"
