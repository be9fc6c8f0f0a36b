"""The app's figures, drawn from what ``lab`` returns, in the one endplate style.

Figures are built as ``matplotlib.figure.Figure`` objects (no pyplot state), on the server's
event-loop thread only, since the style is applied through matplotlib's global rc settings.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from endplate.readings import shown
from endplate.report.style import (
    COLOURS,
    LABELS,
    TYPE_COLOURS,
    fibre_colours,
    fibre_marker_size,
    stage_stack,
    styled,
    type_legend,
)


def nearest_probe(ds: xr.Dataset, day: int) -> int:
    """The probe day closest to ``day`` (the cross-section is kept at these ages only)."""
    days = ds.probe_day.values
    return int(days[np.argmin(np.abs(days - day))])


def course_figure(ds: xr.Dataset, day: int) -> Figure:
    """Six panels of the course in one muscle, with ``day`` marked."""
    m = str(ds.muscle.values[0])
    v = ds.sel(muscle=m)
    x = ds.day.values
    with styled():
        fig = Figure(figsize=(11, 5.6))
        axes = fig.subplots(2, 3)
        ax = axes[0, 0]
        stage_stack(ax, x, v)
        ax.set(title="endplates", ylabel="% of endplates", ylim=(0, 100))
        ax.legend(loc="lower left", fontsize=7)
        ax = axes[0, 1]
        for t in ("S", "FR", "FF"):
            ax.plot(x, v.motor_neurons_percent_by_type.sel(unit_type=t), color=TYPE_COLOURS[t], label=t)
        ax.set(title="motor neurons", ylabel="% alive", ylim=(0, 105))
        ax.legend()
        ax = axes[0, 2]
        ax.plot(x, v.force_percent, color=COLOURS["main"])
        ax.set(title="force", ylabel=LABELS["percent"], ylim=(0, 105))
        ax = axes[1, 0]
        ax.plot(ds.readout_day.values, v.cmap_percent, "o-", ms=3, color=COLOURS["main"])
        ax.set(title="CMAP amplitude", ylabel=LABELS["percent"], ylim=(0, 105))
        ax = axes[1, 1]
        ax.plot(ds.mune_day.values, v.mune_true, color=COLOURS["true"], label="true")
        ax.plot(ds.mune_day.values, v.mune, "o-", ms=3, color=COLOURS["accent"], label=f"MUNE ({ds.attrs['mune_method']})")
        ax.set(title="motor unit number", ylabel=LABELS["units"], ylim=(0, None))
        ax.legend()
        for ax in axes.flat[:5]:
            ax.axvline(day, color="black", lw=1, ls="--")
            ax.set_xlabel(LABELS["day"] if _mouse(ds) else "day of disease")
        ax = axes[1, 2]
        shown = nearest_probe(ds, day)
        for d in ds.probe_day.values:
            sizes = ds.probe_unit_sizes.sel(probe_day=d).values
            if d in (ds.probe_day.values[0], shown):
                ax.hist(sizes[sizes > 0], bins=25, histtype="step", lw=1.5, label=f"day {d}")
        ax.set(title="motor unit sizes", xlabel=LABELS["fibres_per_unit"], ylabel=LABELS["units"])
        ax.legend()
        fig.tight_layout()
    return fig


def cross_section_figure(ds: xr.Dataset, day: int) -> Figure:
    """The muscle's cross-section at the probe day nearest ``day``: by motor unit and by fibre type."""
    shown = nearest_probe(ds, day)
    owner = ds.probe_owner.sel(probe_day=shown).values
    xy = ds.fibre_xy_mm.values
    palette = np.random.default_rng(0).random((int(owner.max()) + 2, 3)) * 0.8 + 0.1
    by_unit = np.where((owner >= 0)[:, None], palette[np.maximum(owner, 0)], 0.85)
    by_type = fibre_colours(owner, ds.probe_fibre_type.sel(probe_day=shown).values)
    size = fibre_marker_size(4.6, float(ds.section_radius_mm), len(xy))
    denervated = 100 * np.mean(owner < 0)
    grouping = float(ds.probe_grouping_index.sel(probe_day=shown))
    grouping_text = f"{grouping:.2f}" if np.isfinite(grouping) else "undefined (too few innervated fibres or one type)"
    with styled(**{"axes.grid": False}):
        fig = Figure(figsize=(10, 5))
        axes = fig.subplots(1, 2)
        for ax, colour, title in ((axes[0], by_unit, "by motor unit"), (axes[1], by_type, "by fibre type")):
            ax.scatter(xy[:, 0], xy[:, 1], c=colour, s=size, linewidths=0, rasterized=True)
            ax.set_aspect("equal")
            ax.set(title=title, xlabel=LABELS["x_mm"], ylabel=LABELS["y_mm"])
        type_legend(axes[1])
        fig.suptitle(
            f"{ds.attrs['probe_muscle']} on day {shown}: {denervated:.0f} % of fibres denervated, grouping index {grouping_text}",
            fontsize=10,
        )
        fig.tight_layout()
    return fig


def lab_figure(lab: dict) -> Figure:
    """EPP train, SFEMG jitter, 3 Hz RNS and CMAP scan with MUNE beside the true count."""
    with styled():
        fig = Figure(figsize=(11, 6))
        axes = fig.subplots(2, 2)
        ax = axes[0, 0]
        epp = lab["train"]["epp_mv"]
        stim = np.arange(1, epp.shape[1] + 1)
        for row in epp:
            ax.plot(stim, row, color=COLOURS["main"], alpha=0.25, lw=0.8)
        if len(epp):
            ax.plot(stim, epp.mean(axis=0), color=COLOURS["accent"], lw=2, label="mean")
            ax.axhline(float(np.mean(lab["train"]["threshold_mv"])), color="grey", ls="--", lw=1, label="mean threshold")
            ax.legend()
        ax.set(
            title=f"EPP train, {lab['train']['frequency_hz']:.0f} Hz ({len(epp)} fibres)",
            xlabel=LABELS["stimulus"],
            ylabel=LABELS["epp_mv"],
            ylim=(0, None),
        )
        ax = axes[0, 1]
        pairs = lab["sfemg"]["pairs"]
        ax.bar(np.arange(1, len(pairs) + 1), [p["mcd_us"] or 0.0 for p in pairs], color=COLOURS["main"])
        ax.axhline(50, color="grey", ls="--", lw=1, label="individual-pair limit")
        ax.set(
            title=f"SFEMG: mean jitter {shown(lab['sfemg'], 'mcd_us', '.0f')} µs, "
            f"blocking {shown(lab['sfemg'], 'blocking_percent', '.1f')} %",
            xlabel=LABELS["pair"],
            ylabel=LABELS["mcd_us"],
        )
        ax.legend()
        ax = axes[1, 0]
        cmap = np.asarray(lab["rns"]["cmap_mv"])
        ax.bar(np.arange(1, cmap.size + 1), cmap, color=COLOURS["main"])
        ax.set(
            title=f"3 Hz RNS: decrement {shown(lab['rns'], 'decrement_percent', '.1f')} %",
            xlabel=LABELS["stimulus"],
            ylabel=LABELS["cmap_mv"],
        )
        ax = axes[1, 1]
        ax.plot(lab["scan"]["stimulus_ma"], lab["scan"]["cmap_mv"], ".", ms=3, color=COLOURS["main"])
        estimates = ", ".join(f"{k} {shown(v, 'estimate', '.0f')}" for k, v in lab["mune"].items())
        ax.set(title=f"CMAP scan: true units {lab['true_units']}", xlabel=LABELS["stimulus_ma"], ylabel=LABELS["cmap_mv"])
        ax.text(0.02, 0.97, f"MUNE: {estimates}", transform=ax.transAxes, va="top", fontsize=8)
        for ax in axes.flat[:3]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        fig.suptitle(f"virtual EMG lab on day {lab['age_day']}", fontsize=10)
        fig.tight_layout()
    return fig


def _mouse(ds: xr.Dataset) -> bool:
    import json

    return json.loads(ds.attrs["scenario"])["species"] == "mouse"
