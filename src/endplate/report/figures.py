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
