"""One figure style for every figure endplate draws: report, CLI plots, demo and app.

Colours follow the motor-unit type everywhere (S green, FR violet, FF orange; denervated fibres
grey), so a reader learns them once. Axis labels carry their units (``LABELS``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "savefig.facecolor": "white",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "axes.prop_cycle": matplotlib.cycler(color=["#2c3e50", "#c0392b", "#2980b9", "#8e44ad", "#16a085", "#7f8c8d"]),
}
TYPE_COLOURS = {"S": "#1b9e77", "FR": "#7570b3", "FF": "#d95f02"}
TYPE_RGB = np.array([matplotlib.colors.to_rgb(TYPE_COLOURS[t]) for t in ("S", "FR", "FF")])
DENERVATED_RGB = (0.85, 0.85, 0.85)
COLOURS = {**TYPE_COLOURS, "main": "#2c3e50", "accent": "#c0392b", "true": "#000000", "denervated": "#d9d9d9"}
STAGE_COLOURS = {"innervated": "#2c7fb8", "impaired": "#7fcdbb", "partly withdrawn": "#fdae61", "denervated": "#d7191c"}


def stage_stack(ax, x, course) -> None:
    """Endplates by stage over ``x`` (days) on ``ax``: fully innervated, impaired, partly withdrawn,
    denervated, from one muscle's course (``*_percent`` series of a run dataset)."""
    ax.stackplot(
        x,
        course.innervated_percent - course.impaired_percent,
        course.impaired_percent,
        course.partial_percent,
        course.denervated_percent,
        colors=list(STAGE_COLOURS.values()),
        labels=list(STAGE_COLOURS),
    )


LABELS = {
    "day": "age (days)",
    "stimulus": "stimulus number",
    "time_ms": "time (ms)",
    "epp_mv": "EPP amplitude (mV)",
    "cmap_mv": "CMAP amplitude (mV)",
    "stimulus_ma": "stimulus intensity (mA)",
    "mcd_us": "jitter, MCD (µs)",
    "x_mm": "x (mm)",
    "y_mm": "y (mm)",
    "percent": "% of start",
    "units": "motor units",
    "pair": "fibre pair",
    "force_n": "unit tetanic force (N)",
    "fibres_per_unit": "fibres per unit",
}


@contextlib.contextmanager
def styled(**overrides) -> Iterator[None]:
    """Apply the endplate style (with ``overrides``) inside the block."""
    with plt.rc_context({**STYLE, **overrides}):
        yield


def fibre_colours(owner: np.ndarray, fibre_type: np.ndarray) -> np.ndarray:
    """RGB per fibre: its type's colour, grey where denervated (``owner < 0``)."""
    return np.where((owner >= 0)[:, None], TYPE_RGB[fibre_type], DENERVATED_RGB)


def type_legend(ax, loc: str = "upper right") -> None:
    """Legend patches for S, FR, FF and denervated fibres."""
    for t, c in TYPE_COLOURS.items():
        ax.scatter([], [], color=c, label=t)
    ax.scatter([], [], color=DENERVATED_RGB, label="denervated")
    ax.legend(loc=loc, markerscale=1.5, handletextpad=0.2)


def fibre_marker_size(ax_inches: float, radius_mm: float, n_fibres: int) -> float:
    """Marker area (points²) that tiles a circular section of ``radius_mm`` drawn ``ax_inches`` wide."""
    points_per_mm = 0.42 * ax_inches * 72 / (2.2 * radius_mm)
    spacing_mm = np.sqrt(np.pi * radius_mm**2 / n_fibres)
    return float((spacing_mm * points_per_mm) ** 2)
