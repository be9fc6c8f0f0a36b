"""Figures for protocol results, in one consistent style (matplotlib, Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

STYLE = {
    "figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "font.size": 10, "axes.titlesize": 11, "axes.titleweight": "bold",
}
COLOURS = {"S": "#1b9e77", "FR": "#7570b3", "FF": "#d95f02", "main": "#2c3e50", "accent": "#c0392b"}


def _train(ax, ds: xr.Dataset) -> None:
    traces = ds["epp_mv_trace"].values
    x = np.arange(1, traces.shape[1] + 1)
    for row in traces[: min(10, traces.shape[0])]:
        ax.plot(x, row, color=COLOURS["main"], alpha=0.15, lw=0.8)
    ax.plot(x, ds["epp_mv"].values, color=COLOURS["accent"], lw=2, label="mean of junctions")
    ax.set(xlabel="stimulus", ylabel="EPP (mV)", ylim=(0, None))
    ax.legend(frameon=False)


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
    ax.set(xlabel="fibre pair", ylabel="jitter, MCD (us)")
    ax.legend(frameon=False)


def _rns(ax, ds: xr.Dataset) -> None:
    cmap = ds["cmap_mv"].values
    ax.bar(np.arange(1, cmap.size + 1), cmap, color=COLOURS["main"])
    ax.set(xlabel="stimulus", ylabel="summed response (mV)", ylim=(0, None))


PLOTTERS = {"train": _train, "epp": _epp, "mepp": _mepp, "paired-pulse": _paired_pulse, "sfemg": _sfemg, "rns": _rns}


def plot_protocol(name: str, ds: xr.Dataset, path: str, title: str) -> None:
    """Write the standard figure of protocol ``name`` to ``path`` (PNG or PDF)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        PLOTTERS[name](ax, ds)
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def plot_cross_section(anatomy, path: str, title: str) -> None:
    """Two panels: fibres coloured by motor unit, and by type (denervated fibres grey)."""
    ok = anatomy.innervated()
    rng = np.random.default_rng(0)
    palette = rng.random((anatomy.n_units, 3)) * 0.8 + 0.1
    unit_colour = np.where(ok[:, None], palette[np.maximum(anatomy.owner, 0)], 0.85)
    type_palette = np.array([[0.106, 0.620, 0.467], [0.459, 0.439, 0.702], [0.851, 0.373, 0.008]])
    type_colour = np.where(ok[:, None], type_palette[anatomy.fibre_type], 0.85)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        fig, axes = plt.subplots(1, 2, figsize=(10, 5))
        # Marker area that tiles the section: fibre spacing in points, squared.
        points_per_mm = 0.42 * 10 * 72 / (2.2 * anatomy.radius_mm)
        spacing_mm = np.sqrt(np.pi * anatomy.radius_mm**2 / anatomy.n_fibres)
        size = (spacing_mm * points_per_mm) ** 2
        for ax, colour, label in ((axes[0], unit_colour, "motor unit"), (axes[1], type_colour, "fibre type (S, FR, FF)")):
            ax.scatter(anatomy.fibre_xy_mm[:, 0], anatomy.fibre_xy_mm[:, 1], c=colour, s=size, linewidths=0, rasterized=True)
            ax.set_aspect("equal")
            ax.set(title=f"by {label}", xlabel="mm", ylabel="mm")
        for t, name in enumerate(("S", "FR", "FF")):
            axes[1].scatter([], [], c=[type_palette[t]], label=name)
        axes[1].legend(frameon=False, loc="upper right", markerscale=2)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def plot_muscle(name: str, result: dict, path: str, title: str) -> None:
    """Standard figure of a muscle protocol result."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        if name == "cmap":
            ax.plot(result["time_ms"], result["waveform_mv"], color=COLOURS["main"])
            ax.set(xlabel="time (ms)", ylabel="mV")
        elif name == "cmap-scan":
            ax.plot(result["stimulus"], result["cmap_mv"], ".", ms=3, color=COLOURS["main"])
            ax.set(xlabel="stimulus (mA)", ylabel="CMAP (mV)")
        elif name == "rns":
            ax.bar(np.arange(1, len(result["cmap_mv"]) + 1), result["cmap_mv"], color=COLOURS["main"])
            ax.set(xlabel="stimulus", ylabel="CMAP (mV)")
        elif name == "force":
            ax.hist(result["unit_tetanic_n"], bins=40, color=COLOURS["main"])
            ax.set(xlabel="unit tetanic force (N)", ylabel="units")
        elif name == "sfemg":
            ax.bar(np.arange(1, len(result["pairs"]) + 1), [p["mcd_us"] for p in result["pairs"]], color=COLOURS["main"])
            ax.set(xlabel="fibre pair", ylabel="MCD (us)")
        elif name == "mune":
            ax.bar(["estimate", "true"], [result["estimate"], result["true_units"]], color=[COLOURS["main"], COLOURS["accent"]])
            ax.set(ylabel="motor units")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
