"""Trial analysis: slopes by a linear mixed model, time to event by Cox and log-rank, power curve.

Slope endpoints (per visit, months since randomisation):
- ``cmap``, ``mune``, ``force``: mean over the trial's muscles of the value as a percent of the
  subject's own value at randomisation (muscles at zero then are left out);
- ``composite``: the ALSFRS-R-like score in points.
Model: value ~ months * arm, random intercept and slope per subject (statsmodels MixedLM, REML);
the effect is the difference in slope (active minus control) per month, with its Wald 95 % CI.
Event endpoints: ``onset`` (only subjects without onset at randomisation) and ``survival`` (end
stage), days from randomisation, censored at the end of follow-up; the effect is the Cox hazard
ratio (statsmodels PHReg) and the p-value the log-rank test's.

The power curve resamples subjects of the simulated trial with replacement at each size per arm
and repeats a fast test there: per-subject least-squares slopes compared by Welch's t-test (the
summary-measures analysis; it agrees with the mixed model on balanced visits) for slope endpoints,
the log-rank test for event endpoints. Power is the share of replicates with p < alpha.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

DAYS_PER_MONTH = 30.44


def endpoint_values(ds: xr.Dataset, endpoint: str) -> np.ndarray:
    """(subject, visit) values of a slope endpoint (see the module docstring)."""
    if endpoint == "composite":
        return ds["composite"].values.copy()
    source = {"cmap": "cmap_mv", "mune": "mune", "force": "force_percent"}[endpoint]
    x = ds[source].values
    base = x[:, :1, :]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # subjects with no usable muscle give NaN
        rel = np.where(base > 0, 100.0 * x / base, np.nan)
        return np.nanmean(rel, axis=2)


def _long(ds: xr.Dataset, endpoint: str, arms: tuple[str, str]) -> pd.DataFrame:
    y = endpoint_values(ds, endpoint)
    months = ds["visit_day"].values / DAYS_PER_MONTH
    arm = ds["arm"].values
    keep = np.isin(arm, arms) & ds["enrolled"].values
    s, v = np.nonzero(np.isfinite(y) & keep[:, None])
    return pd.DataFrame({"subject": s, "months": months[v], "treat": (arm[s] == arms[1]).astype(float), "y": y[s, v]})


def mixed_slope(df: pd.DataFrame) -> dict:
    """Difference in slope per month (treat - control) from a random intercept and slope model."""
    import statsmodels.formula.api as smf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for re in ("~months", "~1"):
            try:
                # L-BFGS first (2-5 times faster here than statsmodels' default BFGS, which often
                # fails to converge on these data and then falls back anyway), Powell if it fails.
                fit = smf.mixedlm("y ~ months * treat", df, groups=df["subject"], re_formula=re).fit(
                    reml=True, method=["lbfgs", "powell"]
                )
                est, (lo, hi), p = fit.params["months:treat"], fit.conf_int().loc["months:treat"], fit.pvalues["months:treat"]
                if np.isfinite([est, lo, hi, p]).all():
                    return {
                        "effect": float(est),
                        "ci_low": float(lo),
                        "ci_high": float(hi),
                        "p_value": float(p),
                        "method": f"MixedLM y ~ months*arm, random {re[1:]} per subject",
                        "unit": "per month",
                    }
            except (np.linalg.LinAlgError, ValueError):
                continue
    return {
        "effect": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "method": "MixedLM failed",
        "unit": "per month",
    }


def _events(ds: xr.Dataset, endpoint: str, arms: tuple[str, str]):
    arm = ds["arm"].values
    keep = np.isin(arm, arms) & ds["enrolled"].values
    follow = ds["followup_days"].values
    t = ds["onset_day" if endpoint == "onset" else "death_day"].values
    if endpoint == "onset":
        keep &= ~(t <= 0)
    event = np.isfinite(t)
    time = np.where(event, t, follow)
    keep &= np.isfinite(time)
    return np.maximum(time[keep], 0.5), event[keep].astype(float), (arm[keep] == arms[1]).astype(float)


def cox_logrank(time: np.ndarray, event: np.ndarray, treat: np.ndarray) -> dict:
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import survdiff

    out = {
        "effect": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "method": "Cox PHReg hazard ratio (active / control), log-rank p",
        "unit": "hazard ratio",
        "events": int(event.sum()),
    }
    if event.sum() < 2 or treat.min() == treat.max():
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = PHReg(time, treat[:, None], status=event).fit()
        ci = np.exp(fit.conf_int()[0])
        _, p = survdiff(time, event, treat)
    out.update({"effect": float(np.exp(fit.params[0])), "ci_low": float(ci[0]), "ci_high": float(ci[1]), "p_value": float(p)})
    return out


def subject_slopes(y: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Least-squares slope of each subject's finite values (NaN with fewer than two visits)."""
    ok = np.isfinite(y)
    n = ok.sum(axis=1)
    t = np.where(ok, months[None, :], 0.0)
    yy = np.where(ok, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm, ym = t.sum(1) / n, yy.sum(1) / n
        sxy = (np.where(ok, (t - tm[:, None]) * (yy - ym[:, None]), 0.0)).sum(1)
        sxx = (np.where(ok, (t - tm[:, None]) ** 2, 0.0)).sum(1)
        return np.where((n >= 2) & (sxx > 0), sxy / sxx, np.nan)


def power_curve(
    ds: xr.Dataset, endpoint: str, arms: tuple[str, str], sizes, replicates: int, alpha: float, seed: int
) -> list[float]:
    """Power at each size per arm by resampling subjects (see the module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 + 1,)))
    power = []
    if endpoint in ("onset", "survival"):
        time, event, treat = _events(ds, endpoint, arms)
        groups = [np.flatnonzero(treat == g) for g in (0.0, 1.0)]
        if min(len(g) for g in groups) == 0:
            return [np.nan] * len(sizes)
        for n in sizes:
            hits = 0
            for _ in range(replicates):
                idx = np.concatenate([rng.choice(g, n) for g in groups])
                hits += cox_logrank(time[idx], event[idx], treat[idx])["p_value"] < alpha
            power.append(hits / replicates)
        return power
    y = endpoint_values(ds, endpoint)
    slopes = subject_slopes(y, ds["visit_day"].values / DAYS_PER_MONTH)
    arm, ok = ds["arm"].values, ds["enrolled"].values & np.isfinite(slopes)
    groups = [slopes[ok & (arm == a)] for a in arms]
    if min(len(g) for g in groups) < 2:
        return [np.nan] * len(sizes)
    for n in sizes:
        a = rng.choice(groups[0], (replicates, n))
        b = rng.choice(groups[1], (replicates, n))
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # identical resamples: NaN p, counted as no rejection
            p = stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
        power.append(float(np.mean(np.nan_to_num(p, nan=1.0) < alpha)))
    return power


def attach_analysis(ds: xr.Dataset, trial) -> dict:
    """Analyse a finished trial and store the analysis in ``ds.attrs["analysis"]`` (JSON); returns it."""
    result = analyse(ds, trial)
    ds.attrs["analysis"] = json.dumps(result, default=float)
    return result


def analyse(ds: xr.Dataset, trial) -> dict:
    """Every endpoint for every active arm against control, and the power curve of the primary endpoint."""
    from endplate.therapy.trial import EVENT_ENDPOINTS

    arm = ds["arm"].values
    active = [a for a in trial.arms if a != trial.control]
    results = []
    for a in active:
        pair = (trial.control, a)
        for e in trial.endpoints:
            r = cox_logrank(*_events(ds, e, pair)) if e in EVENT_ENDPOINTS else mixed_slope(_long(ds, e, pair))
            results.append({"endpoint": e, "arm": a, "control": trial.control, **r})
    primary = next(r for r in results if r["endpoint"] == trial.primary and r["arm"] == active[0])
    curve = power_curve(
        ds, trial.primary, (trial.control, active[0]), trial.power_sizes, trial.power_replicates, trial.alpha, trial.seed
    )
    own = power_curve(
        ds, trial.primary, (trial.control, active[0]), [trial.subjects_per_arm], trial.power_replicates, trial.alpha, trial.seed
    )[0]
    return {
        "arms": [
            {
                "name": a,
                "subjects": int((arm == a).sum()),
                "enrolled": int(((arm == a) & ds["enrolled"].values).sum()),
                "interventions": [e if isinstance(e, str) else e[0] for e in trial.arms[a]],
            }
            for a in trial.arms
        ],
        "endpoints": list(trial.endpoints),
        "primary": trial.primary,
        "control": trial.control,
        "effect": primary["effect"],
        "ci_low": primary["ci_low"],
        "ci_high": primary["ci_high"],
        "p_value": primary["p_value"],
        "effect_unit": primary["unit"],
        "power": own,
        "alpha": trial.alpha,
        "power_curve": {"subjects_per_arm": list(trial.power_sizes), "power": curve, "replicates": trial.power_replicates},
        "results": results,
    }
