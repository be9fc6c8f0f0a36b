"""Summary statistics of a CMAP scan: what the unit count is inferred from.

A scan of N units with amplitudes a_u, thresholds t_u and threshold noise RSD r responds at
stimulus s with mean sum_u a_u P_u(s) and variance sum_u a_u**2 P_u (1 - P_u) + noise**2, P_u the
firing probability. Integrated over the rise, the excess variance is about
r / sqrt(pi) * sum_u a_u**2 t_u, so relative to the squared CMAP it falls as 1 / N for units of
equal size: the scan's stimulus-to-stimulus scatter carries the count (the idea of statistical
MUNE and of MScanFit). Large units show as single jumps. The statistics, all free of the
amplitude and stimulus scales:

- the signal-to-noise ratio (CMAP over the noise on the plateau);
- the shape of the rise (stimuli at 5, 25, 75, 95 % of the CMAP, over the 50 % stimulus);
- the excess scatter integrated over each quarter of the rise and over the whole, relative to
  the squared CMAP (``asinh``-scaled: noise can make it negative);
- the kurtosis of the consecutive differences in each quarter of the rise: near 3 when many
  small units alternate, larger when a few big units jump (it tells unequal sizes apart, and so
  the count from the "effective" count the scatter gives);
- the largest consecutive jumps relative to the CMAP, and how many jumps exceed 5 x noise;
- how many stimuli fall in the rise (5-95 % of the CMAP). A scan is recorded from supramaximal
  down to below the first unit's threshold, so its range follows the extreme thresholds and
  the share of stimuli in the rise carries information; scans recorded over a much wider or
  narrower range than that are off the prior (docs/mune.md).

Variance is read from consecutive differences of the scan sorted by stimulus, which holds for
any order of delivery and any stimulus spacing.
"""

from __future__ import annotations

import numpy as np

from endplate.errors import EndplateInputError
from endplate.muscle.mune import _monotone as monotone  # pool-adjacent-violators, shared with scan_fit

EDGE_FRACTION = 0.08  # the lowest and highest 8 % of stimuli give baseline, plateau and noise
SHAPE_LEVELS = (0.05, 0.25, 0.75, 0.95)
SCATTER_SCALE = 1e-6  # asinh(R / scale) ~ log(2 R / scale) for the R of real scans (1e-5 to 1e-2)
N_FEATURES = 1 + len(SHAPE_LEVELS) + 5 + 4 + 4 + 1


def sorted_scan(stimulus_ma: np.ndarray, response_mv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The scan in ascending stimulus order."""
    order = np.argsort(stimulus_ma, kind="stable")
    return np.asarray(stimulus_ma, float)[order], np.asarray(response_mv, float)[order]


def levels(s: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(baseline, plateau, noise) in mV from the lowest and highest stimuli of a sorted scan.

    The noise is read on the plateau: there the negative peak sits on the summed potential, so
    its scatter is the recording noise. Below threshold the "peak" is the largest excursion of
    the noise itself, which scatters less.
    """
    edge = max(5, int(EDGE_FRACTION * s.size))
    low, high = y[:edge], y[-edge:]
    noise = float(np.median(np.abs(np.diff(high))) / (0.6745 * np.sqrt(2.0)))
    return float(np.median(low)), float(np.median(high)), max(noise, 1e-9)


def crossing(s: np.ndarray, fit: np.ndarray, level: float) -> float:
    """Stimulus at which the monotone fit first reaches ``level`` (linear between stimuli)."""
    i = int(np.searchsorted(fit, level))
    if i == 0:
        return float(s[0])
    if i >= s.size:
        return float(s[-1])
    f0, f1 = fit[i - 1], fit[i]
    return float(s[i - 1] + (s[i] - s[i - 1]) * (level - f0) / (f1 - f0 if f1 > f0 else 1.0))


def summaries(stimulus_ma: np.ndarray, response_mv: np.ndarray) -> np.ndarray:
    """(N_FEATURES,) summary statistics of a scan (see the module docstring)."""
    s, y = sorted_scan(stimulus_ma, response_mv)
    base, top, noise = levels(s, y)
    cmap = top - base
    if cmap <= 5 * noise:
        raise EndplateInputError(
            f"the scan rises {cmap:.3g} mV from baseline to plateau, less than 5 x its noise ({noise:.3g} mV): no units to count"
        )
    fit = monotone(y)
    s50 = crossing(s, fit, base + 0.5 * cmap)
    shape = [np.log(crossing(s, fit, base + q * cmap) / s50) for q in SHAPE_LEVELS]
    d = np.diff(y)
    ds = np.diff(s)
    # Excess variance between neighbours, weighted by stimulus spacing: integral of (V - noise^2) ds.
    excess = (0.5 * d**2 - noise**2) * ds / (cmap**2 * s50)
    where = np.searchsorted(np.linspace(base, top, 5)[1:-1], 0.5 * (fit[:-1] + fit[1:]))
    quarters = [np.asinh(excess[where == k].sum() / SCATTER_SCALE) for k in range(4)]
    kurtosis = [_kurtosis(d[where == k]) for k in range(4)]
    in_rise = np.count_nonzero((fit > base + 0.05 * cmap) & (fit < base + 0.95 * cmap))
    total = np.asinh(excess.sum() / SCATTER_SCALE)
    jumps = np.sort(np.abs(d))[::-1] / cmap
    return np.array(
        [
            np.log(cmap / noise),
            *shape,
            total,
            *quarters,
            np.log(jumps[0]),
            np.log(jumps[:3].mean()),
            np.log(jumps[:10].mean()),
            np.log1p(np.count_nonzero(np.abs(d) > 5 * noise)),
            *kurtosis,
            np.log1p(in_rise),
        ]
    )


def _kurtosis(d: np.ndarray) -> float:
    """log(mean d^4 / (mean d^2)^2) of consecutive differences (log 3 for Gaussian scatter; 0 if too few)."""
    if d.size < 3:
        return 0.0
    m2 = np.mean(d**2)
    return float(np.log(np.mean(d**4) / m2**2)) if m2 > 0 else 0.0
