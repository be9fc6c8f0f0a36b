"""Self-contained HTML report of a disease run: figures embedded as PNG, provenance at the end.

The report is drawn from the saved dataset (``disease/dataset.py``) only, so a report made right
after a run and one rebuilt later from its NetCDF/Zarr file are the same.
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from endplate.errors import EndplateInputError
from endplate.report.style import LABELS, TYPE_COLOURS, fibre_colours, fibre_marker_size, stage_stack, styled, type_legend

if TYPE_CHECKING:
    from endplate.disease.simulate import Run


def _png(fig) -> str:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _day_label(ds: xr.Dataset) -> str:
    return LABELS["day"] if json.loads(ds.attrs["scenario"])["species"] == "mouse" else "day of disease"


def _onset_lines(ax, ds: xr.Dataset) -> None:
    for key, style in (("onset_day", "--"), ("end_stage_day", ":")):
        if ds.attrs[key] >= 0:
            ax.axvline(ds.attrs[key], color="grey", ls=style, lw=1)


def _panels(ds: xr.Dataset, key: str, ylabel: str) -> str:
    with styled():
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for m in ds.muscle.values:
            v = ds[key].sel(muscle=m)
            ax.plot(v[v.dims[0]].values, v.values, label=m)
        _onset_lines(ax, ds)
        ax.set(xlabel=_day_label(ds), ylabel=ylabel, ylim=(0, 105))
        ax.legend(ncol=3)
        return _png(fig)


def _per_muscle(ds: xr.Dataset, height: float = 3.0, sharey: bool = True):
    names = list(ds.muscle.values)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), height), sharey=sharey, squeeze=False)
    return fig, list(zip(axes[0], names))


def _stages(ds: xr.Dataset) -> str:
    with styled():
        fig, panels = _per_muscle(ds, 3.2)
        for ax, m in panels:
            v = ds.sel(muscle=m)
            stage_stack(ax, ds.day.values, v)
            ax.set(title=m, xlabel=_day_label(ds), ylim=(0, 100))
        panels[0][0].set_ylabel("% of endplates")
        panels[-1][0].legend(fontsize=7, loc="lower left")
        return _png(fig)


def _by_type(ds: xr.Dataset, key: str, ylabel: str) -> str:
    with styled():
        fig, panels = _per_muscle(ds)
        for ax, m in panels:
            for t in ("S", "FR", "FF"):
                ax.plot(ds.day.values, ds[key].sel(muscle=m, unit_type=t).values, color=TYPE_COLOURS[t], label=t)
            ax.set(title=m, xlabel=_day_label(ds), ylim=(0, 105))
        panels[0][0].set_ylabel(ylabel)
        panels[-1][0].legend()
        return _png(fig)


def _mune(ds: xr.Dataset) -> str:
    with styled():
        fig, panels = _per_muscle(ds, sharey=False)
        for ax, m in panels:
            ax.plot(ds.mune_day.values, ds.mune_true.sel(muscle=m).values, color="black", label="true")
            ax.plot(ds.mune_day.values, ds.mune.sel(muscle=m).values, "o-", ms=3, color="#c0392b", label=ds.attrs["mune_method"])
            ax.set(title=m, xlabel=_day_label(ds), ylim=(0, None))
        panels[0][0].set_ylabel(LABELS["units"])
        panels[-1][0].legend()
        return _png(fig)


def _mune_gaps(ds: xr.Dataset) -> str:
    """Why a MUNE curve has gaps: the muscles whose estimate was undefined, with the reason (HTML)."""
    gaps = json.loads(ds.attrs.get("mune_undefined", "{}"))
    if not gaps:
        return ""
    items = "".join(f"<li>{html.escape(m)}: {html.escape(why)}</li>" for m, why in gaps.items())
    return f"<p>Gaps in the {html.escape(ds.attrs['mune_method'])} estimate (not plotted):</p><ul>{items}</ul>"


def _probes(ds: xr.Dataset) -> str:
    d = ds.probe_day.values
    with styled():
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
        for day in d:
            sizes = ds.probe_unit_sizes.sel(probe_day=day).values
            axes[0].hist(sizes[sizes > 0], bins=30, histtype="step", lw=1.5, label=f"day {day}")
        axes[0].set(xlabel=LABELS["fibres_per_unit"], ylabel=LABELS["units"], title="unit sizes")
        axes[0].legend()
        axes[1].plot(d, ds.probe_mcd_us.values, "o-", label=LABELS["mcd_us"])
        axes[1].plot(d, ds.probe_blocking_percent.values, "s-", label="blocking (%)")
        axes[1].set(xlabel=_day_label(ds), title="SFEMG at 10 Hz")
        axes[1].legend()
        axes[2].plot(d, ds.probe_decrement_percent.values, "o-", color="#c0392b")
        axes[2].axhline(10, color="grey", ls="--", lw=0.8)
        axes[2].set(xlabel=_day_label(ds), ylabel="decrement (%)", title="3 Hz CMAP decrement")
        return _png(fig)


def cross_section_figure(ds: xr.Dataset, day: int, inches: float = 4.6):
    """The probe muscle's cross-section on probe day ``day``: fibres by type, denervated grey."""
    xy = ds.fibre_xy_mm.values
    colour = fibre_colours(ds.probe_owner.sel(probe_day=day).values, ds.probe_fibre_type.sel(probe_day=day).values)
    with styled(**{"axes.grid": False}):
        fig, ax = plt.subplots(figsize=(inches, inches))
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            c=colour,
            s=fibre_marker_size(inches, float(ds.section_radius_mm), len(xy)),
            linewidths=0,
            rasterized=True,
        )
        ax.set_aspect("equal")
        grouping = float(ds.probe_grouping_index.sel(probe_day=day))
        ax.set(
            title=f"{ds.attrs['probe_muscle']}, day {day}: grouping index {grouping:.2f}",
            xlabel=LABELS["x_mm"],
            ylabel=LABELS["y_mm"],
        )
        type_legend(ax)
    return fig


def report_from_dataset(ds: xr.Dataset) -> str:
    """The whole report of a saved run (``ds.attrs['endplate_result'] == 'run'``) as one HTML string."""
    if ds.attrs.get("endplate_result") != "run":
        raise EndplateInputError(f"not a saved run: endplate_result is {ds.attrs.get('endplate_result')!r}, expected 'run'")
    sc = json.loads(ds.attrs["scenario"])
    days = ds.day.values
    rows = "".join(
        f"<tr><td>{html.escape(str(m))}</td><td>{int(ds.units.sel(muscle=m))}</td><td>{int(ds.fibres.sel(muscle=m))}</td>"
        f"<td>{_milestone(days, ds.innervated_percent.sel(muscle=m).values)}</td>"
        f"<td>{_milestone(days, ds.motor_neurons_percent.sel(muscle=m).values)}</td>"
        f"<td>{_milestone(days, ds.force_percent.sel(muscle=m).values)}</td>"
        f"<td>{float(ds.max_enlargement.sel(muscle=m)):.1f}</td></tr>"
        for m in ds.muscle.values
    )
    figures = [
        ("Endplates by stage", _stages(ds)),
        ("Motor neurons by type (% of start)", _by_type(ds, "motor_neurons_percent_by_type", "% alive")),
        ("Axons by type (% of start)", _by_type(ds, "axons_percent_by_type", "% intact")),
        # Only hypotheses with a cortical process lose upper motor neurons; otherwise the panel is flat.
        *(
            [("Upper motor neurons driving each pool (% of start)", _panels(ds, "upper_motor_neurons_percent", "% alive"))]
            if "upper_motor_neurons_percent" in ds and float(ds.upper_motor_neurons_percent.min()) < 100
            else []
        ),
        ("Force", _panels(ds, "force_percent", LABELS["percent"])),
        ("CMAP amplitude", _panels(ds, "cmap_percent", LABELS["percent"])),
        ("MUNE beside the true number of functioning units", _mune(ds)),
    ]
    if "probe_day" in ds.dims:
        figures.append(("Unit sizes, jitter and decrement at chosen ages", _probes(ds)))
        fig = cross_section_figure(ds, int(ds.probe_day.values[-1]))
        figures.append(("Cross-section: fibre-type grouping", _png(fig)))
    notes = {"MUNE beside the true number of functioning units": _mune_gaps(ds)}
    body = "".join(f"<h2>{html.escape(t)}</h2><img src='data:image/png;base64,{img}'/>{notes.get(t, '')}" for t, img in figures)
    onset = "not reached" if ds.attrs["onset_day"] < 0 else f"day {ds.attrs['onset_day']:.0f}"
    end = "not reached" if ds.attrs["end_stage_day"] < 0 else f"day {ds.attrs['end_stage_day']:.0f}"
    provenance = html.escape(
        json.dumps(
            {"endplate_version": ds.attrs["endplate_version"], "scenario": sc, "mechanisms": json.loads(ds.attrs["mechanisms"])},
            indent=1,
        )
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>endplate run: {html.escape(sc["name"])}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}} img{{max-width:100%}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
pre{{background:#f6f6f6;padding:1em;font-size:11px;overflow:auto}}</style></head><body>
<h1>{html.escape(sc["name"])}: {html.escape(ds.attrs["genotype"])}, {html.escape(ds.attrs["hypothesis"])}</h1>
<p>{html.escape(sc["description"])}. Seed {ds.attrs["seed"]}. Onset: <b>{onset}</b> ({html.escape(ds.attrs["onset_definition"])}).
End stage: <b>{end}</b> ({html.escape(ds.attrs["end_stage_definition"])}).</p>
<table><tr><th>muscle</th><th>units</th><th>fibres</th><th>innervation below 50 %</th><th>motor neurons below 50 %</th>
<th>force below 50 %</th><th>largest unit / start (max at readouts)</th></tr>{rows}</table>
{body}
<h2>Provenance</h2><pre>{provenance}</pre></body></html>"""


def run_report(result: Run) -> str:
    """The report of an in-memory run result: the same code path as a saved one."""
    from endplate.disease.dataset import run_dataset

    return report_from_dataset(run_dataset(result))


def _milestone(days, series) -> str:
    hit = np.flatnonzero(np.asarray(series) < 50)
    return f"day {days[hit[0]]}" if hit.size else "not reached"
