"""Trial analysis: slopes by a linear mixed model, time to event by Cox and log-rank, a joint rank test.

Slope endpoints (per visit, months since randomisation):
- ``cmap``, ``mune``, ``force``: mean over the trial's muscles of the value as a percent of the
  subject's own value at randomisation (muscles at zero then are left out);
- ``composite``: the ALSFRS-R-like score in points (its slope is the ALSFRS-R slope);
- ``munix_sum``: the sum over the trial's muscles of MUNIX (``mune_method = "munix"``), in motor
  units rescaled to the full muscles, as trials report it (a muscle with no functioning unit
  counts 0).
Analysis by summary measures: each subject's least-squares slope over its visits, the arms'
mean slopes compared by Welch's t-test; the effect is the difference in mean slope (active minus
control) per month with its Welch 95 % CI. Subjects are independent, so the test holds whatever
the variance over time and whoever drops out early (each slope counts once). The primary
endpoint also gets a sensitivity analysis, value ~ months * arm with random intercept and slope
per subject (statsmodels MixedLM, REML, Wald CI): on the bundled human trial the mixed model's
p-values run 2-10 times higher than Welch's on the same trials (its power is lower; see
``power.mixed_model_check``), so the two are reported side by side, never swapped.
Event endpoints: ``onset`` (only subjects without onset at randomisation) and ``survival`` (end
stage), days from randomisation, censored at the end of follow-up; the effect is the Cox hazard
ratio (statsmodels PHReg) and the p-value the log-rank test's.

Joint rank endpoint ``cafs`` (after the Combined Assessment of Function and Survival): every
pair of subjects is compared on survival where it decides (one died before the other's death or
end of follow-up), otherwise on the slope of the ALSFRS-R-like score; the Finkelstein-Schoenfeld
test compares the arms' sums of pairwise scores. The effect is the net benefit (probability that
an active subject fares better than a control one minus the reverse, -1 to 1). Every subject is
compared on its own slope rather than on the score at the pair's shared follow-up time, a
simplification of the published test, which needs the visits of both subjects.

Every event endpoint reports its events and censored subjects (alive at the end of follow-up).
Power is prospective and lives in ``endplate.therapy.power``.
"""

from __future__ import annotations

import json
import math
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
    if endpoint == "munix_sum":
        silent = ds["mune_true"].values == 0  # no functioning unit: MUNIX is 0, not missing
        x = np.where(silent, 0.0, ds["mune"].values)
        return x.sum(axis=2)
    source = {"cmap": "cmap_mv", "mune": "mune", "force": "force_percent"}[endpoint]
    x = ds[source].values
    base = x[:, :1, :]
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # subjects with no usable muscle give NaN
        rel = np.where(base > 0, 100.0 * x / base, np.nan)
        return np.nanmean(rel, axis=2)


def eligible(ds: xr.Dataset, enrichment: dict) -> np.ndarray:
    """Per subject: passes the trial's enrichment criteria at randomisation (``trial._Enrichment``).

    The progression rate is the pre-randomisation ALSFRS-R slope, (48 - score at the baseline
    visit) / months from onset to randomisation, as enrichment by fast progression is done in
    trials; the MUNIX sum is the baseline visit's.
    """
    ok = np.ones(ds.sizes["subject"], bool)
    rate_min = enrichment.get("min_progression_points_per_month", 0.0)
    if rate_min:
        months = -ds["onset_day"].values / DAYS_PER_MONTH
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = (48.0 - ds["composite"].values[:, 0]) / months
        ok &= np.nan_to_num(rate, nan=0.0) >= rate_min
    munix_min = enrichment.get("min_baseline_munix_sum", 0.0)
    if munix_min:
        ok &= np.nan_to_num(endpoint_values(ds, "munix_sum")[:, 0], nan=0.0) >= munix_min
    return ok


def long_table(ds: xr.Dataset, endpoint: str, arms: tuple[str, str]) -> pd.DataFrame:
    y = endpoint_values(ds, endpoint)
    months = ds["visit_day"].values / DAYS_PER_MONTH
    arm = ds["arm"].values
    keep = _enrolled_pair(ds, arms)
    s, v = np.nonzero(np.isfinite(y) & keep[:, None])
    return pd.DataFrame({"subject": s, "months": months[v], "treat": (arm[s] == arms[1]).astype(float), "y": y[s, v]})


def welch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Welch's t-test of the rows of ``b`` against the rows of ``a`` (NaN values left out):
    mean difference b - a, its standard error, the Welch-Satterthwaite df and the two-sided p
    (NaN for a row with fewer than two values per group or no spread)."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        na, nb = np.isfinite(a).sum(1), np.isfinite(b).sum(1)
        va, vb = np.nanvar(a, 1, ddof=1) / na, np.nanvar(b, 1, ddof=1) / nb
        diff, se = np.nanmean(b, 1) - np.nanmean(a, 1), np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        p = np.where((na >= 2) & (nb >= 2), 2 * stats.t.sf(np.abs(diff / se), df), np.nan)
    return diff, se, df, p


def welch_p(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sided Welch p-values of the rows of ``b`` against the rows of ``a`` (``welch``)."""
    return welch(a, b)[3]


def summary_slope(ds: xr.Dataset, endpoint: str, arms: tuple[str, str]) -> dict:
    """Difference in mean per-subject slope per month (active - control), Welch CI and p."""
    a, b = (subject_records(ds, endpoint, arm)[:, 0][None, :] for arm in arms)
    diff, se, df, p = (float(x[0]) for x in welch(a, b))
    half = float(stats.t.ppf(0.975, df) * se) if np.isfinite(df) else np.nan
    return {
        "effect": diff,
        "ci_low": diff - half,
        "ci_high": diff + half,
        "p_value": p,
        "method": "per-subject least-squares slopes, Welch t-test",
        "unit": "per month",
    }


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


def _enrolled_pair(ds: xr.Dataset, arms: tuple[str, str]) -> np.ndarray:
    return np.isin(ds["arm"].values, arms) & ds["enrolled"].values


def event_times(ds: xr.Dataset, endpoint: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per subject: days from randomisation to the event or to censoring, the event (bool), and
    whether the subject is at risk (``onset``: no onset at randomisation; NaN follow-up: not)."""
    follow = ds["followup_days"].values
    t = ds["onset_day" if endpoint == "onset" else "death_day"].values
    event = np.isfinite(t)
    time = np.where(event, t, follow)
    at_risk = np.isfinite(time) & ~((endpoint == "onset") & (t <= 0))
    return np.maximum(time, 0.5), event, at_risk


def _events(ds: xr.Dataset, endpoint: str, arms: tuple[str, str]):
    time, event, at_risk = event_times(ds, endpoint)
    keep = _enrolled_pair(ds, arms) & at_risk
    return time[keep], event[keep].astype(float), (ds["arm"].values[keep] == arms[1]).astype(float)


def logrank_p(time: np.ndarray, event: np.ndarray, treat: np.ndarray) -> float:
    """Two-sided log-rank p-value of two groups (``treat`` 0/1); NaN with fewer than two events or one group."""
    from statsmodels.duration.survfunc import survdiff

    if event.sum() < 2 or treat.min() == treat.max():
        return np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(survdiff(time, event, treat)[1])


def cox_logrank(time: np.ndarray, event: np.ndarray, treat: np.ndarray) -> dict:
    """Cox hazard ratio (active / control) with its 95 % CI, the log-rank p, events and censored subjects."""
    from statsmodels.duration.hazard_regression import PHReg

    out = {
        "effect": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": logrank_p(time, event, treat),
        "method": "Cox PHReg hazard ratio (active / control), log-rank p",
        "unit": "hazard ratio",
        **censoring(event, treat),
    }
    no_events = [arm for arm, code in (("control", 0), ("active", 1)) if event[treat == code].sum() == 0]
    if no_events and np.isfinite(out["p_value"]):
        # The Cox likelihood then rises without bound as the hazard ratio goes to 0 or infinity: the
        # fit returns a number of no meaning (about 1e-12 with an interval of [0, inf]).
        out["effect_undefined_reason"] = f"no event in the {no_events[0]} arm: the Cox hazard ratio has no estimate"
    elif np.isfinite(out["p_value"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = PHReg(time, treat[:, None], status=event).fit()
            ci = np.exp(fit.conf_int()[0])  # overflows to inf when a tiny trial separates the arms
            out.update({"effect": float(np.exp(fit.params[0])), "ci_low": float(ci[0]), "ci_high": float(ci[1])})
    return out


def censoring(event: np.ndarray, treat: np.ndarray) -> dict:
    """Subjects, events and censored subjects (alive and event-free at the end of follow-up), by arm."""
    ev = event.astype(bool)
    return {
        "subjects": int(ev.size),
        "events": int(ev.sum()),
        "censored": int((~ev).sum()),
        "censored_by_arm": {"control": int((~ev & (treat == 0)).sum()), "active": int((~ev & (treat == 1)).sum())},
    }


def _joint(ds: xr.Dataset, arms: tuple[str, str]):
    """(time, event, functional slope per month, treat) of the enrolled subjects of ``arms`` for ``cafs``."""
    time, event, at_risk = event_times(ds, "survival")
    slope = subject_slopes(ds["composite"].values, ds["visit_day"].values / DAYS_PER_MONTH)
    keep = _enrolled_pair(ds, arms) & at_risk
    return time[keep], event[keep].astype(float), slope[keep], (ds["arm"].values[keep] == arms[1]).astype(float)


def pairwise_scores(time: np.ndarray, event: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """(n, n) scores: +1 where subject i fares better than j, -1 worse, 0 undecided (module docstring).

    Survival decides a pair when the earlier of the two times is an event and the other subject
    was still followed then; otherwise the larger (less negative) functional slope wins.
    """
    ti, tj = time[:, None], time[None, :]
    ei, ej = event.astype(bool)[:, None], event.astype(bool)[None, :]
    i_dies_first = ei & (ti < tj)
    j_dies_first = ej & (tj < ti)
    both_same_day = ei & ej & (ti == tj)
    by_survival = np.where(i_dies_first, -1, np.where(j_dies_first, 1, 0))
    decided = i_dies_first | j_dies_first | both_same_day
    with np.errstate(invalid="ignore"):
        by_function = np.nan_to_num(np.sign(slope[:, None] - slope[None, :]))
    return np.where(decided, by_survival, by_function)


def finkelstein_schoenfeld(time: np.ndarray, event: np.ndarray, slope: np.ndarray, treat: np.ndarray) -> dict:
    """Finkelstein-Schoenfeld joint rank test of survival then function; the effect is the net benefit.

    Each subject's score is the sum of its pairwise scores; the statistic, the sum over active
    subjects, has under the null (permutation) mean 0 and variance n1 n0 / (N (N - 1)) sum(U^2).
    The net benefit is the statistic over n1 n0; its 95 % CI uses that null variance, cut to
    [-1, 1] (approximate: too wide far from the null).
    """
    out = {"effect": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "unit": "net benefit"}
    out["method"] = "Finkelstein-Schoenfeld: survival, then ALSFRS-R-like slope; net benefit (active - control)"
    n1, n = int(treat.sum()), treat.size
    n0 = n - n1
    if min(n0, n1) < 2:
        return out
    u = pairwise_scores(time, event, slope).sum(axis=1)
    var = n1 * n0 / (n * (n - 1)) * float((u**2).sum())
    if var <= 0:
        return out
    t = float(u[treat == 1].sum())
    se = math.sqrt(var) / (n1 * n0)
    benefit = t / (n1 * n0)
    p = 2 * stats.norm.sf(abs(t) / math.sqrt(var))
    low, high = max(-1.0, benefit - 1.96 * se), min(1.0, benefit + 1.96 * se)  # the benefit lies in [-1, 1]
    out.update({"effect": benefit, "ci_low": low, "ci_high": high, "p_value": float(p)})
    return out


def subject_records(ds: xr.Dataset, endpoint: str, arm: str) -> np.ndarray:
    """Per-subject records of every subject randomised to ``arm`` (``endplate.therapy.power.Bank``);
    rows of subjects the analysis leaves out (not enrolled, or not at risk) are NaN."""
    from endplate.therapy.trial import EVENT_ENDPOINTS

    mine = ds["arm"].values == arm
    if endpoint in EVENT_ENDPOINTS or endpoint == "cafs":
        time, event, at_risk = event_times(ds, "survival" if endpoint == "cafs" else endpoint)
        fields = [time, event.astype(float)]
        if endpoint == "cafs":
            fields.append(subject_slopes(ds["composite"].values, ds["visit_day"].values / DAYS_PER_MONTH))
        usable = ds["enrolled"].values & at_risk
    else:
        fields = [subject_slopes(endpoint_values(ds, endpoint), ds["visit_day"].values / DAYS_PER_MONTH)]
        usable = ds["enrolled"].values
    records = np.column_stack(fields)
    records[~usable] = np.nan
    return records[mine]


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


def attach_analysis(ds: xr.Dataset, trial, power: dict | None = None) -> dict:
    """Analyse a finished trial and store the analysis, with the prospective ``power``
    (``endplate.therapy.power.prospective_power``) when given, in ``ds.attrs["analysis"]`` (JSON)."""
    result = {**analyse(ds, trial), "power": power}
    ds.attrs["analysis"] = json.dumps(result, default=float)
    return result


def analyse(ds: xr.Dataset, trial) -> dict:
    """Every endpoint for every active arm against control (effects, CIs, p-values, events and censoring)."""
    from endplate.therapy.trial import EVENT_ENDPOINTS

    arm = ds["arm"].values
    active = [a for a in trial.arms if a != trial.control]
    results = []
    for a in active:
        pair = (trial.control, a)
        for e in trial.endpoints:
            if e in EVENT_ENDPOINTS:
                r = cox_logrank(*_events(ds, e, pair))
            elif e == "cafs":
                r = finkelstein_schoenfeld(*_joint(ds, pair))
            else:
                r = summary_slope(ds, e, pair)
                if e == trial.primary:
                    r["mixed_model"] = mixed_slope(long_table(ds, e, pair))
            results.append({"endpoint": e, "arm": a, "control": trial.control, **r})
    primary = next(r for r in results if r["endpoint"] == trial.primary and r["arm"] == active[0])
    return {
        "arms": [
            {
                "name": a,
                "subjects": int((arm == a).sum()),
                "enrolled": int(((arm == a) & ds["enrolled"].values).sum()),
                "interventions": trial.intervention_names(a),
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
        "alpha": trial.alpha,
        "results": results,
        "assumed_effects": json.loads(ds.attrs.get("assumed_effects", "{}")),
    }
