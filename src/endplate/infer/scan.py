"""MUNE from a recorded CMAP scan by simulation-based inference (amortised, regression-adjusted ABC).

The engine, and why (docs/mune.md has the longer argument):

1. The prior is the muscle model itself: labelled scans (``infer.scans``) of the muscle, healthy
   or at any stage of ALS, simulated once into a reference table (``infer.reference``).
2. A scan is reduced to scale-free summary statistics (``infer.summaries``).
3. The summaries are projected onto one number, the regression of log unit count on them
   (quadratic ridge regression over the muscle's reference scans; the "semi-automatic"
   summary of Fearnhead & Prangle 2012, JRSS B 74:419, recalled).
   The regression is cross-fitted: fitted five times, each leaving a fifth of the reference
   scans out, and each reference scan is projected by the model that did not see it.
4. In each fifth, the reference scans nearest to the recorded one in that projection are
   accepted (``AbcSettings.accepted_share`` of the prior's scans in all), weighted by an Epanechnikov kernel, and their log
   counts are corrected by a local linear regression on the projection (Beaumont, Zhang &
   Balding 2002, Genetics 162:2025, recalled). The corrected values are the posterior sample.

Rejection ABC from prior draws is calibrated by construction up to its tolerance; the local
correction narrows it. ``sbc_ranks`` checks the calibration on reference scans held out.
Inferring one scan costs a summary (milliseconds) and a nearest-neighbour search over a few
thousand stored scans: no simulation at inference time, hence well under the 10 s budget.
pyabc's ABC-SMC (a dependency) would simulate afresh for every scan (minutes); an amortised
neural estimator would need torch. Neither is needed at this dimension (one quantity of
interest, 19 summaries).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from endplate.errors import EndplateInputError
from endplate.infer.reference import QUANTITIES, bundled_reference
from endplate.infer.scans import SCAN_MUSCLES
from endplate.infer.summaries import crossing, levels, monotone, sorted_scan, summaries

FOLDS = 5  # cross-fitting of the projection (``CrossFitted``)


# The priors a scan can be inferred on: stages of the reference table they hold (``reference.TABLE_STAGES``).
# ``mixed``: every scan of the table. ``als``: healthy muscles and the disease model's own course
# (its muscles lose units fast types first and keep small survivors beside enlarged ones).
# ``generic``: healthy muscles and the assumed reinnervated and late stages of ``scans`` (units lost
# at random, orphans shared among the nearest survivors). The two disease priors hide different
# numbers of units behind the same scan (docs/mune.md, "Which prior").
PRIORS = {
    "mixed": ("healthy", "reinnervated", "late", "course"),
    "als": ("healthy", "course"),
    "generic": ("healthy", "reinnervated", "late"),
}


@dataclass(frozen=True)
class AbcSettings:
    """How the posterior is read from the reference table."""

    accepted_share: float = 0.2  # share of the prior's reference scans kept (400 of 2,000), a fifth from each fold
    ridge: float = 1e-2  # ridge penalty of the projection, on standardised quadratic terms
    interval: float = 0.90  # credible interval reported
    prior: str = "mixed"  # one of ``PRIORS``

    def accepted(self, rows: int) -> int:
        """Reference scans accepted of ``rows`` (a multiple of ``FOLDS``)."""
        return max(int(self.accepted_share * rows) // FOLDS, 2) * FOLDS


def prior_rows(table: dict, index: int, prior: str) -> np.ndarray:
    """Rows of ``table`` for muscle ``index`` under ``prior`` (a key of ``PRIORS``; others refused by name)."""
    from endplate.infer.reference import TABLE_STAGES

    if prior not in PRIORS:
        raise EndplateInputError(f"unknown prior {prior!r}; allowed: {', '.join(PRIORS)}")
    stages = [TABLE_STAGES.index(s) for s in PRIORS[prior]]
    return np.flatnonzero((table["muscle"] == index) & np.isin(table["stage"], stages))


def scan_muscle(muscle: str, species: str | None) -> int:
    """Index into ``SCAN_MUSCLES`` of the muscle the reference table holds; others are refused by name."""
    found = [i for i, (sp, m) in enumerate(SCAN_MUSCLES) if m.lower() == muscle.lower() and species in (None, sp)]
    if not found:
        allowed = ", ".join(f"{m} ({sp})" for sp, m in SCAN_MUSCLES)
        raise EndplateInputError(
            f"no reference scans for muscle {muscle!r}"
            + (f" of species {species!r}" if species else "")
            + f"; allowed: {allowed}"
        )
    return found[0]


def _design(z: np.ndarray) -> np.ndarray:
    """(rows, 1 + F + F(F+1)/2) intercept, linear and quadratic terms of standardised features ``z``."""
    i, j = np.triu_indices(z.shape[1])
    return np.hstack([np.ones((z.shape[0], 1)), z, z[:, i] * z[:, j]])


@dataclass(frozen=True)
class Projection:
    """The fitted regression of log unit count on the summaries (one muscle)."""

    mean: np.ndarray  # (F,) feature means
    scale: np.ndarray  # (F,) feature SDs
    coef: np.ndarray  # (terms,) ridge coefficients

    def __call__(self, features: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(features) - self.mean) / self.scale
        return _design(z) @ self.coef


def fit_projection(features: np.ndarray, log_units: np.ndarray, ridge: float) -> Projection:
    """Ridge regression of ``log_units`` (rows,) on quadratic terms of ``features`` (rows, F)."""
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-12
    x = _design((features - mean) / scale)
    penalty = ridge * x.shape[0] * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    coef = np.linalg.solve(x.T @ x + penalty, x.T @ log_units)
    return Projection(mean, scale, coef)


@dataclass(frozen=True)
class CrossFitted:
    """The projection fitted ``FOLDS`` times, each time leaving one fold of the reference scans out.

    Each reference scan is projected by the model that did not see it, so its distance to a new
    scan in the projection has the noise a new scan's has. Projected by the model fitted on it,
    a reference scan would sit closer to its own count than any new scan can, and the accepted
    neighbours would make intervals too narrow (90 % intervals held the truth of 85 % of 1,000
    held-out scans before this, 90 % after: docs/mune.md).
    """

    models: tuple[Projection, ...]
    fold: np.ndarray  # (rows,) fold of each reference scan
    projected: np.ndarray  # (rows,) out-of-fold projection of each reference scan
    log_units: np.ndarray  # (rows,)

    def posterior(self, features: np.ndarray, accepted: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(corrected log counts, weights, reference rows) pooled over the folds, ``accepted`` in all."""
        samples, weights, rows = [], [], []
        for k, model in enumerate(self.models):
            sel = np.flatnonzero(self.fold == k)
            s, w, keep = abc_posterior(float(model(features)[0]), self.projected[sel], self.log_units[sel], accepted // FOLDS)
            samples.append(s)
            weights.append(w / FOLDS)
            rows.append(sel[keep])
        return np.concatenate(samples), np.concatenate(weights), np.concatenate(rows)


def cross_fit(features: np.ndarray, log_units: np.ndarray, ridge: float, groups: np.ndarray | None = None) -> CrossFitted:
    """``CrossFitted`` projections of reference scans ``features`` (rows, F) with counts ``log_units`` (rows,).

    ``groups`` (rows,): scans of one muscle share a group and a fold (scans of one disease run are
    near-duplicates, and one fitted beside its sibling would be projected too close to its count).
    Groups are in seed order, so folds are random draws.
    """
    groups = np.arange(log_units.size) if groups is None else groups
    fold = np.unique(groups, return_inverse=True)[1].reshape(-1) % FOLDS
    models = tuple(fit_projection(features[fold != k], log_units[fold != k], ridge) for k in range(FOLDS))
    projected = np.empty(log_units.size)
    for k, model in enumerate(models):
        projected[fold == k] = model(features[fold == k])
    return CrossFitted(models, fold, projected, log_units)


@cache
def _muscle_cross_fit(index: int, ridge: float, prior: str) -> CrossFitted:
    table = bundled_reference()
    rows = prior_rows(table, index, prior)
    return cross_fit(table["features"][rows].astype(float), table["truth"][rows, 0].astype(float), ridge, table["group"][rows])


def abc_posterior(
    projected_obs: float, projected_ref: np.ndarray, log_units_ref: np.ndarray, accepted: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(corrected log counts, weights, indices of the accepted reference rows).

    Epanechnikov weights on the distance in the projection, then the local linear correction.
    """
    distance = np.abs(projected_ref - projected_obs)
    keep = np.argsort(distance)[:accepted]
    h = distance[keep].max() * 1.0001 + 1e-12
    w = 1.0 - (distance[keep] / h) ** 2
    x, y = projected_ref[keep] - projected_obs, log_units_ref[keep]
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    slope = np.average((x - xm) * (y - ym), weights=w) / max(np.average((x - xm) ** 2, weights=w), 1e-12)
    return y - slope * x, w / w.sum(), keep


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q) -> np.ndarray:
    """Quantiles ``q`` of a weighted sample (linear between the cumulative weights' midpoints)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cum, v)


def model_curve(stimulus_ma: np.ndarray, response_mv: np.ndarray, units: int, rsd: float) -> dict:
    """Mean and SD of the response (mV) at each sorted stimulus for ``units`` equal units on the scan.

    The units' thresholds are where the scan's monotone fit crosses equal steps of the CMAP
    (as in ``muscle.mune.scan_fit``), each firing with probability Phi((s - t) / (rsd t)).
    Equal sizes are a simplification for display and for the residuals; the inference does not
    use this curve.
    """
    from scipy.special import ndtr

    s, y = sorted_scan(stimulus_ma, response_mv)
    base, top, noise = levels(s, y)
    fit = monotone(y)
    amplitude = (top - base) / units
    thresholds = np.array([crossing(s, fit, base + (k + 0.5) * amplitude) for k in range(units)])
    p = ndtr((s[:, None] - thresholds[None, :]) / (rsd * thresholds[None, :]))
    mean = base + p.sum(axis=1) * amplitude
    sd = np.sqrt((p * (1 - p)).sum(axis=1) * amplitude**2 + noise**2)
    return {"stimulus_ma": s, "response_mv": y, "mean_mv": mean, "sd_mv": sd, "residual_sd": (y - mean) / sd}


def infer_scan(
    stimulus_ma: np.ndarray,
    response_mv: np.ndarray,
    muscle: str,
    species: str | None = None,
    settings: AbcSettings = AbcSettings(),
) -> dict:
    """Posterior over the motor units behind one scan (stimuli in mA, negative-peak responses in mV).

    Returns the unit count (posterior median and credible interval), the unit-size distribution
    (posterior medians of amplitude percentiles, uV), the thresholds seen on the scan (mA) and
    their relative spread, and the posterior sample of the count with its weights.
    """
    index = scan_muscle(muscle, species)
    feats = summaries(stimulus_ma, response_mv)
    table = bundled_reference()
    rows = prior_rows(table, index, settings.prior)
    accepted = settings.accepted(rows.size)
    log_units, weights, keep = _muscle_cross_fit(index, settings.ridge, settings.prior).posterior(feats, accepted)
    tail = (1.0 - settings.interval) / 2
    low, median, high = np.exp(weighted_quantile(log_units, weights, [tail, 0.5, 1 - tail]))
    s, y = sorted_scan(stimulus_ma, response_mv)
    base, top, noise = levels(s, y)
    neighbours = table["truth"][rows[keep]].astype(float)
    cmap_ref = table["cmap_mv"][rows[keep]].astype(float)
    scale = (top - base) / cmap_ref  # amplitudes of the accepted scans, referred to this scan's CMAP

    def posterior_median(name: str, relative: bool = False) -> float:
        values = neighbours[:, QUANTITIES.index(name)] * (scale if relative else 1.0)
        return float(weighted_quantile(values, weights, 0.5))

    fit = monotone(y)
    species_name, muscle_name = SCAN_MUSCLES[index]
    return {
        "muscle": muscle_name,
        "species": species_name,
        "units": int(round(median)),
        "units_low": int(np.floor(low)),
        "units_high": int(np.ceil(high)),
        "interval": settings.interval,
        "cmap_mv": top - base,
        "baseline_mv": base,
        "noise_uv": noise * 1e3,
        "unit_size_uv": {
            name.removesuffix("_uv"): posterior_median(name, relative=True)
            for name in ("mean_amplitude_uv", "amplitude_p10_uv", "amplitude_p50_uv", "amplitude_p90_uv", "largest_amplitude_uv")
        },
        "threshold_ma": {f"p{int(q * 100)}": crossing(s, fit, base + q * (top - base)) for q in (0.05, 0.5, 0.95)},
        "threshold_cv": posterior_median("threshold_cv"),
        "threshold_noise_rsd": posterior_median("threshold_noise_rsd"),
        "posterior_units": np.exp(log_units),
        "posterior_weights": weights,
        "engine": "regression-adjusted ABC on a reference table of simulated scans",
        "prior": settings.prior,
        "reference_scans": int(rows.size),
        "accepted": accepted,
    }
