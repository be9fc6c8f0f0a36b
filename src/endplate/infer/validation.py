"""Forecasts scored on virtual patients with known truth: fit the first visits, forecast later ones.

Each virtual patient is a member of the bank, left out of its own fit (its prior weight set to
zero, so the fit sees the other members only). Its visits are the member's model values observed
through the fit's own error model (``ErrorModel``): a persistent offset drawn once per patient
and series, a visit error at every visit, ALSFRS-R rounded to whole points and kept within 0-48.
The first visit falls 3-18 months after onset (uniform, as the bundled human trial enrols), then
one every 3 months. The score is the absolute error of the forecast median against the patient's
next observed ALSFRS-R, and whether that observation falls in the 50 % and 90 % intervals, at 6
and 12 months after the last fitted visit, for 1 to 4 fitted visits. Patients at end stage by the
forecast time are left out of that horizon (their count is given). The day of end stage is
scored by whether it falls in the posterior's 50 % and 90 % intervals. Beside it, the clinic's usual
forecast: the straight line through the fitted visits (the pre-slope from onset, 48 points at
onset, when only one visit is fitted).

This checks the engine on patients drawn from its own prior with its own error model; it says
nothing about how far the model's courses are from real patients' (see docs/infer.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from endplate.disease.mune_course import DAYS_PER_MONTH
from endplate.infer.patient import FLOOR, ErrorModel, draw, fit, predictive, weighted_quantiles
from endplate.infer.visits import ALSFRS_MAX, Observation, Visits
from endplate.seeding import substreams

VISITS_FITTED = (1, 2, 3, 4)
HORIZONS = (6, 12)
VISIT_EVERY_DAYS = 91
FIRST_VISIT_DAYS = (91, 548)


@dataclass(frozen=True)
class VirtualPatient:
    """A bank member observed: visit days (after onset), observed ALSFRS-R and the latent (offset) course."""

    member: int
    days: np.ndarray
    observed: np.ndarray
    latent: np.ndarray  # model value + the patient's offset, no visit error
    emg: tuple[Observation, ...] = ()  # CMAP and MUNE (multipoint) in APB at the same visits, if asked for


def observe_values(
    model: np.ndarray, measure: str, rng: np.random.Generator, errors: ErrorModel, method: str = "", bank_method: str = "mps"
) -> tuple[np.ndarray, np.ndarray]:
    """(observed, latent) readings of model values ``model`` (n,) through the error model: one offset
    for the series, a visit error each; ALSFRS-R in whole points within 0-48; NaN stays NaN."""
    sd, offset_sd = errors.sds(measure, method, bank_method)
    if measure == "alsfrs_r":
        latent = model + offset_sd * rng.standard_normal()
        return np.clip(np.round(latent + sd * rng.standard_normal(model.size)), 0, ALSFRS_MAX), latent
    latent = np.log(np.maximum(model, FLOOR[measure])) + offset_sd * rng.standard_normal()
    return np.exp(latent + sd * rng.standard_normal(model.size)), np.exp(latent)


def observe(
    bank: xr.Dataset,
    member: int,
    days: np.ndarray,
    rng: np.random.Generator,
    errors: ErrorModel,
    emg_days: np.ndarray | None = None,
) -> VirtualPatient:
    """ALSFRS-R of ``member`` at ``days`` after onset through the error model (NaN once at end stage);
    with ``emg_days``, CMAP and multipoint MUNE of APB on those days too."""
    grid = bank["visit_day"].values.astype(float)
    model = np.interp(days, grid, bank["composite"].values[member], right=np.nan)
    observed, latent = observe_values(model, "alsfrs_r", rng, errors)
    emg: list[Observation] = []
    for measure, name, method in (("cmap_amplitude", "cmap_mv", ""), ("mune", "mune", "mps")):
        if emg_days is None:
            break
        values = np.interp(emg_days, grid, bank[name].sel(muscle="APB").values[member], right=np.nan)
        seen, _ = observe_values(values, measure, rng, errors, method)
        emg += [Observation(float(d), measure, "APB", method, float(v), 0) for d, v in zip(emg_days, seen) if np.isfinite(v)]
    return VirtualPatient(member, days, np.where(np.isnan(model), np.nan, observed), latent, tuple(emg))


def _visits(p: VirtualPatient, k: int) -> Visits:
    obs = [Observation(float(d), "alsfrs_r", "", "", float(v), i + 2) for i, (d, v) in enumerate(zip(p.days[:k], p.observed[:k]))]
    obs += [o for o in p.emg if o.day <= p.days[k - 1]]
    return Visits(tuple(sorted(obs, key=lambda o: o.day)), True, {})


def line_forecast(days: np.ndarray, scores: np.ndarray, at: float) -> float:
    """The straight line through the fitted visits at day ``at`` (from 48 points at onset for one visit)."""
    if days.size == 1:
        slope = (scores[0] - ALSFRS_MAX) / days[0]
        return float(np.clip(scores[0] + slope * (at - days[0]), 0, ALSFRS_MAX))
    b, a = np.polyfit(days, scores, 1)
    return float(np.clip(a + b * at, 0, ALSFRS_MAX))


def score_patients(bank: xr.Dataset, n_patients: int, seed: int, errors: ErrorModel = ErrorModel(), emg: bool = False) -> dict:
    """MAE and interval coverage of ALSFRS-R forecasts on ``n_patients`` left-out bank members (module docstring).

    ``emg``: the visits also hold CMAP and multipoint MUNE of APB (fitted; only ALSFRS-R is scored).
    """
    rng = np.random.default_rng(substreams(seed, "patients")["patients"])
    n = bank.sizes["subject"]
    members = rng.permutation(n)[: min(n_patients, n)]
    grid = bank["visit_day"].values.astype(float)
    rows: dict[tuple[int, int], dict[str, Any]] = {
        (k, h): {"abs_error": [], "abs_error_line": [], "abs_error_latent": [], "in50": [], "in90": [], "dead": 0}
        for k in VISITS_FITTED
        for h in HORIZONS
    }
    survival: dict[int, dict[str, list]] = {k: {"in90": [], "in50": [], "ess": []} for k in VISITS_FITTED}
    death_days = np.where(np.isnan(bank["death_day"].values), np.inf, bank["death_day"].values)
    used = 0
    for m in members:
        first = rng.uniform(*FIRST_VISIT_DAYS)
        fitted_days = first + VISIT_EVERY_DAYS * np.arange(max(VISITS_FITTED))
        target_days = (fitted_days[:, None] + np.array(HORIZONS)[None, :] * DAYS_PER_MONTH).ravel()
        p = observe(bank, int(m), np.r_[fitted_days, target_days], rng, errors, fitted_days if emg else None)
        if np.isnan(p.observed[0]):
            continue  # at end stage before the first visit: never a clinic patient
        used += 1
        for k in VISITS_FITTED:
            if np.isnan(p.observed[k - 1]):
                break
            post, series = fit(_visits(p, k), bank, errors, exclude=int(m))
            q05, q25, q75, q95 = weighted_quantiles(death_days, post.weights[:, 0], (0.05, 0.25, 0.75, 0.95))
            survival[k]["in90"].append(q05 <= death_days[m] <= q95)
            survival[k]["in50"].append(q25 <= death_days[m] <= q75)
            survival[k]["ess"].append(post.ess)
            draws = draw(post, rng)
            for j, h in enumerate(HORIZONS):
                at = fitted_days[k - 1] + h * DAYS_PER_MONTH
                truth = p.observed[max(VISITS_FITTED) + (k - 1) * len(HORIZONS) + j]
                row = rows[(k, h)]
                if np.isnan(truth):
                    row["dead"] += 1
                    continue
                pred = predictive(series[0], 0, draws, grid, np.array([at]), rng)[:, 0]
                pred = pred[~np.isnan(pred)]
                if pred.size == 0:
                    row["dead"] += 1
                    continue
                q05, q25, q50, q75, q95 = np.quantile(pred, (0.05, 0.25, 0.5, 0.75, 0.95))
                row["abs_error"].append(abs(q50 - truth))
                row["abs_error_latent"].append(abs(q50 - p.latent[max(VISITS_FITTED) + (k - 1) * len(HORIZONS) + j]))
                row["abs_error_line"].append(abs(line_forecast(fitted_days[:k], p.observed[:k], at) - truth))
                row["in50"].append(q25 <= truth <= q75)
                row["in90"].append(q05 <= truth <= q95)
    table = [
        {
            "visits_fitted": k,
            "months_ahead": h,
            "patients": len(r["abs_error"]),
            "at_end_stage": r["dead"],
            "mae_points": float(np.mean(r["abs_error"])) if r["abs_error"] else None,
            "mae_points_line": float(np.mean(r["abs_error_line"])) if r["abs_error"] else None,
            "mae_points_vs_latent": float(np.mean(r["abs_error_latent"])) if r["abs_error"] else None,
            "coverage_50": float(np.mean(r["in50"])) if r["in50"] else None,
            "coverage_90": float(np.mean(r["in90"])) if r["in90"] else None,
        }
        for (k, h), r in rows.items()
    ]
    events = [
        {
            "visits_fitted": k,
            "patients": len(v["in90"]),
            "survival_coverage_50": float(np.mean(v["in50"])) if v["in50"] else None,
            "survival_coverage_90": float(np.mean(v["in90"])) if v["in90"] else None,
            "median_effective_sample_size": float(np.median(v["ess"])) if v["ess"] else None,
        }
        for k, v in survival.items()
    ]
    return {"patients": used, "bank_subjects": n, "seed": seed, "emg": emg, "rows": table, "survival": events}


def validation_figure(result: dict):
    """MAE (model and straight line) and 90 % coverage against the number of fitted visits."""
    import matplotlib.pyplot as plt

    from endplate.report.style import COLOURS, styled

    with styled():
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 4.0))
        for h, ls in zip(HORIZONS, ("-", "--")):
            rows = [r for r in result["rows"] if r["months_ahead"] == h and r["patients"]]
            k = [r["visits_fitted"] for r in rows]
            ax.plot(k, [r["mae_points"] for r in rows], "o" + ls, color=COLOURS["main"], label=f"model, {h} months")
            ax.plot(
                k, [r["mae_points_line"] for r in rows], "s" + ls, color=COLOURS["accent"], label=f"straight line, {h} months"
            )
            bx.plot(k, [r["coverage_90"] for r in rows], "o" + ls, color=COLOURS["main"], label=f"90 % interval, {h} months")
            bx.plot(k, [r["coverage_50"] for r in rows], "^" + ls, color="0.5", label=f"50 % interval, {h} months")
        ax.axhspan(2.3, 2.7, color="0.85", label="registry forecasters (2.3-2.7)")
        ax.set_xlabel("visits fitted (every 3 months)")
        ax.set_ylabel("MAE (ALSFRS-R points)")
        ax.set_title(f"forecast error, {result['patients']} virtual patients" + (" (+ CMAP, MUNE)" if result.get("emg") else ""))
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
        for level in (0.5, 0.9):
            bx.axhline(level, color="0.6", lw=0.8, ls=":")
        bx.set_ylim(0, 1)
        bx.set_xlabel("visits fitted (every 3 months)")
        bx.set_ylabel("coverage of the next ALSFRS-R")
        bx.set_title("interval coverage")
        bx.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
        for a in (ax, bx):
            a.set_xticks(VISITS_FITTED)
        fig.tight_layout()
    return fig
