"""Estimators a physiologist applies to recordings: quantal content, jitter, RRP size.

Each works on recorded numbers only (never on the simulator's hidden truth), so tests can check
that it recovers the truth under the conditions where the method is valid.
"""

from __future__ import annotations

import numpy as np


def correct_nonlinear_summation(epp_mv: np.ndarray, k_per_mv: float) -> np.ndarray:
    """Undo non-linear summation: v' = v / (1 - k v), k = f / driving force (McLachlan & Martin)."""
    epp_mv = np.asarray(epp_mv, float)
    return epp_mv / (1.0 - k_per_mv * epp_mv)


def quantal_content_direct(epp_mv: np.ndarray, mepp_mv: np.ndarray, k_per_mv: float) -> float:
    """Direct method: mean corrected EPP over mean mEPP."""
    return float(np.mean(correct_nonlinear_summation(epp_mv, k_per_mv)) / np.mean(mepp_mv))


def quantal_content_variance(epp_mv: np.ndarray, quantal_cv: float, k_per_mv: float = 0.0) -> float:
    """Variance (coefficient-of-variation) method, Poisson release with variable quanta.

    m = mean^2 (1 + cv_q^2) / variance; valid when release probability is low (low Ca).
    """
    v = correct_nonlinear_summation(epp_mv, k_per_mv)
    return float(np.mean(v) ** 2 * (1 + quantal_cv**2) / np.var(v, ddof=1))


def quantal_content_failures(n_trials: int, n_failures: int) -> float:
    """Method of failures: m = ln(trials / failures); NaN when there were no failures."""
    if n_failures <= 0:
        return float("nan")
    return float(np.log(n_trials / n_failures))


def mean_consecutive_difference(values: np.ndarray) -> float:
    """Mean absolute difference of consecutive values, skipping pairs with a NaN (blocking)."""
    d = np.abs(np.diff(np.asarray(values, float)))
    d = d[~np.isnan(d)]
    return float(d.mean()) if d.size else float("nan")


def rrp_back_extrapolation(quanta_per_stimulus: np.ndarray, steady_from: int) -> float:
    """RRP by back-extrapolating the steady-state part of the cumulative release to stimulus 0.

    The line through cumulative release from stimulus ``steady_from`` on meets the y axis at the
    estimate. It underestimates the pool when the release fraction per stimulus is small.
    """
    cumulative = np.cumsum(quanta_per_stimulus)
    x = np.arange(1, cumulative.size + 1)
    slope, intercept = np.polyfit(x[steady_from:], cumulative[steady_from:], 1)
    return float(intercept)


def two_exponential_facilitation(interval_ms: np.ndarray, facilitation: np.ndarray) -> tuple[float, float, float, float]:
    """Fit F(t) = A1 exp(-t/tau1) + A2 exp(-t/tau2); returns (F0, tau1, tau2, A1)."""
    from scipy.optimize import curve_fit

    def model(t, a1, tau1, a2, tau2):
        return a1 * np.exp(-t / tau1) + a2 * np.exp(-t / tau2)

    t = np.asarray(interval_ms, float)
    f = np.asarray(facilitation, float)
    guess = (f[0] * 0.6, 30.0, f[0] * 0.4, 200.0)
    (a1, tau1, a2, tau2), _ = curve_fit(model, t, f, p0=guess, bounds=([0, 1, 0, 1], [5, 1e3, 5, 1e4]), maxfev=20000)
    if tau1 > tau2:
        a1, tau1, a2, tau2 = a2, tau2, a1, tau1
    return float(a1 + a2), float(tau1), float(tau2), float(a1)
