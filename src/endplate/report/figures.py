"""Figures for protocol results, in the one endplate style (``report/style.py``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from endplate.report.style import COLOURS, LABELS, fibre_colours, fibre_marker_size, styled, type_legend


def _train(ax, ds: xr.Dataset) -> None:
    traces = ds["epp_mv_trace"].values
    x = np.arange(1, traces.shape[1] + 1)
    for row in traces[: min(10, traces.shape[0])]:
        ax.plot(x, row, color=COLOURS["main"], alpha=0.15, lw=0.8)
    ax.plot(x, ds["epp_mv"].values, color=COLOURS["accent"], lw=2, label="mean of junctions")
    ax.set(xlabel=LABELS["stimulus"], ylabel=LABELS["epp_mv"], ylim=(0, None))
    ax.legend()


def _epp(ax, ds: xr.Dataset) -> None:
    ax.hist(ds["epp_mv_trace"].values.ravel(), bins=40, color=COLOURS["main"])
    ax.set(xlabel="EPP amplitude (mV)", ylabel="count")


def _mepp(ax, ds: xr.Dataset) -> None:
    ax.hist(ds["amplitude_mv"].values, bins=60, color=COLOURS["main"])
    ax.set(xlabel="mEPP amplitude (mV)", ylabel="events")


def _paired_pulse(ax, ds: xr.Dataset) -> None:
    t = ds["interval_ms"].values
    ax.semilogx(t, ds["paired_pulse_ratio"].values, "o-", color=COLOURS["main"])
    ax.axhline(1, color="grey", lw=0.8)
    ax.set(xlabel="interval (ms)", ylabel="paired-pulse ratio")


def _sfemg(ax, ds: xr.Dataset) -> None:
    mcd = ds["pair_mcd_us"].values
    ax.bar(np.arange(1, mcd.size + 1), mcd, color=COLOURS["main"])
    ax.axhline(float(ds["mcd_us"]), color=COLOURS["accent"], lw=1.5, label="mean MCD")
    ax.set(xlabel=LABELS["pair"], ylabel=LABELS["mcd_us"])
    ax.legend()


def _rns(ax, ds: xr.Dataset) -> None:
    cmap = ds["cmap_mv"].values
    ax.bar(np.arange(1, cmap.size + 1), cmap, color=COLOURS["main"])
    ax.set(xlabel=LABELS["stimulus"], ylabel="summed response (mV)", ylim=(0, None))


def _post_exercise(ax, ds) -> None:
    """The 3 Hz train of each phase (rest, then after the conditioning), one line each.

    ``ds``: the junction protocol's Dataset or the muscle protocol's result (lists).
    """
    cmap = np.asarray(ds["cmap_mv"], float)
    shades = plt.cm.viridis(np.linspace(0.0, 0.85, cmap.shape[0]))
    for row, phase, colour in zip(cmap, np.asarray(ds["phase"]), shades):
        ax.plot(np.arange(1, row.size + 1), row, "o-", ms=3, color=colour, label=str(phase))
    ax.set(xlabel=LABELS["stimulus"], ylabel="summed response (mV)", ylim=(0, None))
    ax.legend(fontsize="small", ncol=2)


PLOTTERS = {
    "train": _train,
    "epp": _epp,
    "mepp": _mepp,
    "paired-pulse": _paired_pulse,
    "sfemg": _sfemg,
    "rns": _rns,
    "post-exercise": _post_exercise,
}


def plot_protocol(name: str, ds: xr.Dataset, path: str, title: str) -> None:
    """Write the standard figure of protocol ``name`` to ``path`` (PNG or PDF)."""
    with styled():
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        PLOTTERS[name](ax, ds)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def plot_cross_section(anatomy, path: str, title: str) -> None:
    """Two panels: fibres coloured by motor unit, and by type (denervated fibres grey)."""
    ok = anatomy.innervated()
    palette = np.random.default_rng(0).random((anatomy.n_units, 3)) * 0.8 + 0.1
    unit_colour = np.where(ok[:, None], palette[np.maximum(anatomy.owner, 0)], 0.85)
    type_colour = fibre_colours(np.where(ok, anatomy.owner, -1), anatomy.fibre_type)
    with styled(**{"axes.grid": False}):
        fig, axes = plt.subplots(1, 2, figsize=(10, 5))
        size = fibre_marker_size(10, anatomy.radius_mm, anatomy.n_fibres)
        for ax, colour, label in ((axes[0], unit_colour, "motor unit"), (axes[1], type_colour, "fibre type")):
            ax.scatter(anatomy.fibre_xy_mm[:, 0], anatomy.fibre_xy_mm[:, 1], c=colour, s=size, linewidths=0, rasterized=True)
            ax.set_aspect("equal")
            ax.set(title=f"by {label}", xlabel=LABELS["x_mm"], ylabel=LABELS["y_mm"])
        type_legend(axes[1])
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def plot_muscle(name: str, result: dict, path: str, title: str) -> None:
    """Standard figure of a muscle protocol result."""
    with styled():
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        if name == "cmap":
            ax.plot(result["time_ms"], result["waveform_mv"], color=COLOURS["main"])
            ax.set(xlabel=LABELS["time_ms"], ylabel="potential (mV)")
        elif name == "cmap-scan":
            ax.plot(result["stimulus"], result["cmap_mv"], ".", ms=3, color=COLOURS["main"])
            ax.set(xlabel=LABELS["stimulus_ma"], ylabel=LABELS["cmap_mv"])
        elif name == "rns":
            ax.bar(np.arange(1, len(result["cmap_mv"]) + 1), result["cmap_mv"], color=COLOURS["main"])
            ax.set(xlabel=LABELS["stimulus"], ylabel=LABELS["cmap_mv"])
        elif name == "post-exercise":
            _post_exercise(ax, result)
            ax.set(ylabel=LABELS["cmap_mv"])
        elif name == "force":
            ax.hist(result["unit_tetanic_n"], bins=40, color=COLOURS["main"])
            ax.set(xlabel=LABELS["force_n"], ylabel=LABELS["units"])
        elif name == "sfemg":
            ax.bar(np.arange(1, len(result["pairs"]) + 1), [p["mcd_us"] or 0.0 for p in result["pairs"]], color=COLOURS["main"])
            ax.set(xlabel=LABELS["pair"], ylabel=LABELS["mcd_us"])
        elif name == "mune":
            ax.bar(
                ["estimate", "true"],
                [result["estimate"] or 0.0, result["true_units"]],
                color=[COLOURS["main"], COLOURS["accent"]],
            )
            ax.set(ylabel=LABELS["units"])
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
