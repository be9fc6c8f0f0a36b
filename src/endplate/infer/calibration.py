"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788, recalled) of the scan inference.

Reference scans are draws from the prior. Holding some out, inferring each from the rest and
ranking its true log count among ``draws`` posterior draws gives ranks that are uniform on
0..draws exactly when the posteriors are calibrated; too many extreme ranks mean intervals that
are too narrow, a hump in the middle intervals that are too wide, a slope a bias.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chisquare

from endplate.infer.reference import bundled_reference
from endplate.infer.scan import AbcSettings, cross_fit, prior_rows, weighted_quantile


def sbc_ranks(holdout_per_muscle: int, seed: int, settings: AbcSettings = AbcSettings(), draws: int = 99, table=None) -> dict:
    """Ranks of the true count of ``holdout_per_muscle`` held-out reference scans of each muscle (under ``settings.prior``).

    Held-out scans are drawn uniformly from the muscle's rows, and the whole group of each is
    left out of the training rows (a disease run's scans together).
    For each muscle the projections are cross-fitted on its other scans only, as ``infer_scan``
    does on the whole table. Returns the ranks
    (0..draws), a chi-square test of their uniformity over 10 bins, the share of held-out scans
    inside their ``settings.interval`` credible interval, and per scan the truth and interval.
    """
    table = table if table is not None else bundled_reference()
    rng = np.random.default_rng(seed)
    found: list[int] = []
    inside: list[bool] = []
    tail = (1 - settings.interval) / 2
    feats, log_units = table["features"].astype(float), table["truth"][:, 0].astype(float)
    for index in np.unique(table["muscle"]):
        rows = prior_rows(table, index, settings.prior)
        groups = table["group"][rows]
        # rows drawn uniformly (each row is a draw from the prior the table stands for); the
        # whole group of each leaves the training rows (a disease run's scans are one muscle)
        test = rng.choice(rows, size=holdout_per_muscle, replace=False)
        out = np.isin(groups, table["group"][test])
        train = rows[~out]
        fitted = cross_fit(feats[train], log_units[train], settings.ridge, groups[~out])
        accepted = settings.accepted(train.size)
        for row in test:
            samples, weights, _ = fitted.posterior(feats[row], accepted)
            sample = rng.choice(samples, size=draws, p=weights)
            found.append(int(np.count_nonzero(sample < log_units[row])))
            low, high = weighted_quantile(samples, weights, [tail, 1 - tail])
            inside.append(bool(low <= log_units[row] <= high))
    ranks = np.array(found)
    counts = np.bincount(ranks * 10 // (draws + 1), minlength=10)
    return {
        "ranks": ranks,
        "bin_counts": counts,
        "chi2_p": float(chisquare(counts).pvalue),
        "coverage": float(np.mean(inside)),
        "scans": int(ranks.size),
    }
