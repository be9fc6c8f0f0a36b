"""A patient's course: the posterior over the disease parameters given their visits, and forecasts.

Engine: importance weighting on a bank of virtual patients (``infer.bank``). The bank members are
draws from the calibrated human cohort prior (site of onset, age at onset, progression factor,
and each one's own anatomy and stochastic course), so a member's prior weight is 1; the patient's
age, if given, reweights members by p(progression factor | age) / p(progression factor), both
from the cohort's own prior; a given site of onset keeps only members with that site; with the
onset unknown, each member is also shifted by a delay from onset to the first visit, uniform on
0-``MAX_DELAY_DAYS`` (assumed: diagnosis usually comes within a year or two of the first symptom).
The posterior weight of a (member, delay) pair is the prior weight times the likelihood of the
visits. Why this engine: the human cohort has few free parameters (site, progression factor) but
each simulation takes seconds, so simulating once and reweighting for every patient answers in
well under a second, with the effective sample size saying how well the bank covers the patient.

Likelihood (``ErrorModel``): each series (ALSFRS-R total; CMAP in one muscle; MUNE in one muscle
by one method) is the member's model value plus a persistent per-patient offset (the patient's
scale relative to the model: a rater's habit, a hand's size) plus independent visit-to-visit
error; both Gaussian, CMAP and MUNE on a log scale, the offset integrated out exactly
(compound-symmetric covariance). A member dead (end stage) at a visit cannot explain it.

Tempering: when fewer than ``MIN_ESS`` effective bank members would carry the posterior, the
likelihood is raised to the largest power below 1 that keeps that many: each member is one
stochastic course, and a posterior resting on a handful understates how the course can vary
(measured: without it, end stage fell in its 90 % interval for 68 % of held-out virtual patients
with four visits of ALSFRS-R, CMAP and MUNE; with it, 94 %). The offsets' posterior given a member
is not tempered.

Forecasts at 6, 12 and 18 months after the last visit draw members by weight, the offset from its
posterior given that member, and a new visit error: the predictive distribution of the next
measurement, among those alive (the probability of being alive is given beside it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from endplate.disease.mune_course import DAYS_PER_MONTH
from endplate.errors import EndplateInputError
from endplate.infer.visits import ALSFRS_MAX, SITES, Visits

HORIZONS_MONTHS = (6, 12, 18)
MAX_DELAY_DAYS = 1080  # unknown onset: delay from onset to the first visit, 0-36 months (assumed)
DELAY_STEP_DAYS = 30
HALF_FUNCTION = ALSFRS_MAX / 2  # "50 % functional loss": ALSFRS-R total at or below 24
DRAWS = 4000
# Fewest effective bank members a posterior may rest on. Each member's course is one stochastic
# realisation, so a posterior carried by a handful of them understates how much the course (its
# end stage above all) can vary; below this the likelihood is tempered. 30 was checked on held-out
# virtual patients with ALSFRS-R, CMAP and MUNE visits (docs/infer-course.md), not fitted to them.
MIN_ESS = 30.0
FLOOR = {"cmap_amplitude": 0.01, "mune": 1.0}  # mV, units: the smallest reading a clinic reports (assumed)


@dataclass(frozen=True)
class ErrorModel:
    """Measurement error: visit-to-visit SD and between-patient offset SD of each measure.

    - ALSFRS-R visit error 2.0 points: derived from the intra- and inter-rater ICC of 0.93-0.95
      (Kaufmann et al. 2007, Amyotroph Lateral Scler 8:42, read) with a between-patient SD of
      about 7 points (assumed): SD = 7 x sqrt(1/ICC - 1) = 1.9.
    - ALSFRS-R offset 3 points (assumed): how far one patient's scoring sits from the model's
      force-based score throughout.
    - CMAP visit error 0.12 (log scale): different-day CoV under 15 % (Maathuis et al. 2011,
      J Electromyogr Kinesiol 21:433, read; 12 % assumed within that bound).
    - CMAP offset 0.30 (log scale, assumed): healthy amplitudes vary about 1.5-fold between people.
    - MUNE visit error by method (log scale): MUNIX 0.14 (intra-rater CoV 14 %, Neuwirth et al.
      2016, PLoS One 11:e0153948, read); multipoint/statistical 0.19 (CoV 19 %, Muscle Nerve
      2000;23:193, PMID 10639610, read); scanfit 0.12 (MScan CoV 12.3 %, JoVE 2018 56805,
      read); incremental 0.25 (assumed).
    - MUNE offset 0.35 (log scale, assumed), widened to 0.6 for a method the bank did not
      simulate (scored against the bank's true unit count: its bias is unknown, assumed).
    """

    alsfrs_sd: float = 2.0
    alsfrs_offset_sd: float = 3.0
    cmap_log_sd: float = 0.12
    cmap_offset_log_sd: float = 0.30
    mune_log_sd: dict = field(default_factory=lambda: {"munix": 0.14, "mps": 0.19, "scanfit": 0.12, "incremental": 0.25})
    mune_offset_log_sd: float = 0.35
    other_method_offset_log_sd: float = 0.6

    def sds(self, measure: str, method: str, bank_method: str) -> tuple[float, float]:
        """(visit SD, offset SD) of a series, on its scale (points, or log for CMAP and MUNE)."""
        if measure == "alsfrs_r":
            return self.alsfrs_sd, self.alsfrs_offset_sd
        if measure == "cmap_amplitude":
            return self.cmap_log_sd, self.cmap_offset_log_sd
        offset = self.mune_offset_log_sd if method == bank_method else self.other_method_offset_log_sd
        return self.mune_log_sd[method], offset


@dataclass(frozen=True)
class Series:
    """One series of the patient, on the fit's scale, and the bank's matching trajectories."""

    key: tuple[str, str, str]  # (measure, muscle, method)
    days: np.ndarray  # (n,) days after onset (after the first visit when the onset is unknown)
    y: np.ndarray  # (n,) points, or log mV / log units
    model: np.ndarray  # (subjects, visits) the bank's values on the same scale (NaN once dead)
    sd: float
    offset_sd: float
    log: bool


def _bank_values(bank: xr.Dataset, measure: str, muscle: str, method: str, bank_method: str) -> np.ndarray:
    """(subjects, visits) of the bank for one series, on the fit's scale."""
    if measure == "alsfrs_r":
        return bank["composite"].values
    name = "cmap_mv" if measure == "cmap_amplitude" else ("mune" if method == bank_method else "mune_true")
    values = bank[name].sel(muscle=muscle).values
    # A muscle with no response left still yields a reading at the recording floor (NaN stays: end stage).
    return np.log(np.maximum(values, FLOOR[measure]))


def build_series(visits: Visits, bank: xr.Dataset, errors: ErrorModel) -> list[Series]:
    """The patient's series with the bank's trajectories and the error model of each."""
    bank_method = bank_settings(bank)["mune_method"]
    out = []
    for (measure, muscle, method), obs in visits.series().items():
        log = measure != "alsfrs_r"
        y = np.array([o.value for o in obs])
        sd, offset_sd = errors.sds(measure, method, bank_method)
        out.append(
            Series(
                (measure, muscle, method),
                np.array([o.day for o in obs]),
                np.log(y) if log else y,
                _bank_values(bank, measure, muscle, method, bank_method),
                sd,
                offset_sd,
                log,
            )
        )
    return out


def bank_settings(bank: xr.Dataset) -> dict:
    import json

    return json.loads(bank.attrs["settings"])


def at_days(model: np.ndarray, grid_days: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Model values at ``days``: ``model`` (subjects, visits) on ``grid_days``, linear in between.

    ``days``: (..., n) days per pair of (subject, delay) or shared; NaN beyond the grid or once dead.
    Returns ``model`` values broadcast to (subjects, ...) + days.shape[-1:].
    """
    step = grid_days[1] - grid_days[0]
    pos = days / step
    lo = np.clip(np.floor(pos).astype(int), 0, grid_days.size - 1)
    hi = np.clip(lo + 1, 0, grid_days.size - 1)
    frac = pos - lo
    subj = np.arange(model.shape[0]).reshape((-1,) + (1,) * days.ndim)
    v = model[subj, lo] * (1 - frac) + model[subj, hi] * frac
    return np.where(pos <= grid_days.size - 1, v, np.nan)


def _compound_loglik(r: np.ndarray, sd: float, offset_sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood of residuals ``r`` (..., n) under visit SD and a shared offset, integrated out;
    and the offset's posterior mean and variance. NaN residuals (dead or out of range) give -inf."""
    n = r.shape[-1]
    a, b = sd**2, offset_sd**2
    s1, s2 = r.sum(axis=-1), (r**2).sum(axis=-1)
    quad = (s2 - b * s1**2 / (a + n * b)) / a
    ll = -0.5 * (quad + (n - 1) * np.log(a) + np.log(a + n * b) + n * np.log(2 * np.pi))
    ll = np.where(np.isfinite(ll), ll, -np.inf)
    return ll, b * s1 / (a + n * b), np.full(s1.shape, a * b / (a + n * b))


@dataclass(frozen=True)
class Posterior:
    """Weights over (bank member, delay) pairs and each pair's offset posterior per series."""

    weights: np.ndarray  # (subjects, delays), summing to 1
    delays: np.ndarray  # (delays,) days from onset to the first visit (0 when the onset is known)
    offsets: list[tuple[np.ndarray, np.ndarray]]  # per series: (mean, var), each (subjects, delays)
    log_evidence: float  # of the untempered likelihood
    tempering: float = 1.0  # the likelihood's exponent (1: the full likelihood)

    @property
    def ess(self) -> float:
        """Effective number of bank members (delays summed within each member)."""
        return _members_ess(self.weights)


def prior_weights(bank: xr.Dataset, visits: Visits) -> np.ndarray:
    """(subjects,) prior weight of each member given the patient's site of onset and age (see module)."""
    w = np.ones(bank.sizes["subject"])
    site = visits.covariates.get("site_of_onset")
    if site is not None:
        w *= bank["site_of_onset"].values == SITES.index(site)
    age = visits.covariates.get("age_years")
    if age is not None:
        w *= _age_ratio(bank, age)
    return w


def _age_ratio(bank: xr.Dataset, age: float) -> np.ndarray:
    """p(log factor | age) / p(log factor) for every member, under the cohort's prior (therapy.cohort):
    log factor = N(0, sd) + 0.02 (age - 60), age ~ normal(mean, age_sd) clipped to 30-85."""
    pop = bank_settings(bank)["population"]
    mean, age_sd, sd = pop.get("age_mean", 60.0), pop.get("age_sd", 11.0), pop.get("progression_sd", 0.35)
    lf = np.log(bank["progression_factor"].values)
    ages = np.linspace(30, 85, 221)
    dens = np.exp(-0.5 * ((ages - mean) / age_sd) ** 2)
    from scipy.stats import norm

    mass = dens / dens.sum() * (norm.cdf((85 - mean) / age_sd) - norm.cdf((30 - mean) / age_sd))
    ages = np.r_[ages, 30.0, 85.0]
    mass = np.r_[mass, norm.cdf((30 - mean) / age_sd), norm.sf((85 - mean) / age_sd)]
    marginal = (mass[None, :] * norm.pdf(lf[:, None], 0.02 * (ages[None, :] - 60), sd)).sum(axis=1)
    return norm.pdf(lf, 0.02 * (np.clip(age, 30, 85) - 60), sd) / marginal


def fit(
    visits: Visits, bank: xr.Dataset, errors: ErrorModel = ErrorModel(), exclude: int | None = None, min_ess: float = MIN_ESS
) -> tuple[Posterior, list[Series]]:
    """The posterior of ``visits`` on ``bank``; raises EndplateInputError if no member explains them.

    ``exclude``: a member given no weight (a virtual patient scored against the rest of the bank).
    ``min_ess``: the likelihood is tempered (raised to a power below 1) when fewer bank members than
    this would carry the posterior (see ``MIN_ESS``); 0 turns tempering off.
    """
    series = build_series(visits, bank, errors)
    grid = bank["visit_day"].values.astype(float)
    delays = np.array([0.0]) if visits.onset_known else np.arange(0, MAX_DELAY_DAYS + 1, DELAY_STEP_DAYS, dtype=float)
    prior = prior_weights(bank, visits)
    if exclude is not None:
        prior[exclude] = 0.0
    with np.errstate(divide="ignore"):
        logprior = np.log(prior)[:, None] * np.ones(delays.size)
    loglik = np.zeros_like(logprior)
    offsets = []
    for s in series:
        days = s.days[None, :] + delays[:, None]  # (delays, n)
        r = s.y[None, None, :] - at_days(s.model, grid, days)  # (subjects, delays, n)
        ll, mean, var = _compound_loglik(r, s.sd, s.offset_sd)
        loglik = loglik + ll
        offsets.append((mean, var))
    impossible = ~np.isfinite(loglik)  # dead at a visit, or beyond the bank's last day: never, at any tempering
    logprior, loglik = np.where(impossible, -np.inf, logprior), np.where(impossible, 0.0, loglik)
    if not np.isfinite(logprior).any():
        raise EndplateInputError(
            "no virtual patient in the bank is alive and matches the given site of onset at every visit "
            f"(last visit {max(s.days[-1] for s in series):.0f} days after {'onset' if visits.onset_known else 'the first visit'}); "
            "the model cannot explain this course"
        )
    beta = _tempering(logprior, loglik, min_ess)
    w = _normalised(logprior + beta * loglik)
    top = np.max(logprior + loglik)
    evidence = float(top + np.log(np.exp(logprior + loglik - top).sum() / prior.size))
    return Posterior(w, delays, offsets, evidence, beta), series


def _members_ess(weights: np.ndarray) -> float:
    return float(1.0 / (weights.sum(axis=1) ** 2).sum())


def _normalised(logw: np.ndarray) -> np.ndarray:
    w = np.exp(logw - logw.max())
    return w / w.sum()


def _tempering(logprior: np.ndarray, loglik: np.ndarray, min_ess: float) -> float:
    """The largest exponent beta <= 1 of the likelihood that leaves at least ``min_ess`` effective
    bank members (1 when the full likelihood already does; bisection, 40 steps)."""
    ess = lambda b: _members_ess(_normalised(logprior + b * loglik))
    target = min(min_ess, ess(0.0))
    if ess(1.0) >= target:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ess(mid) >= target else (lo, mid)
    return lo


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs) -> np.ndarray:
    """Quantiles ``qs`` of ``values`` under ``weights`` (flat arrays; inf allowed, NaN dropped)."""
    keep = ~np.isnan(values) & (weights > 0)
    v, w = values[keep], weights[keep]
    if v.size == 0:
        return np.full(len(qs), np.nan)
    order = np.argsort(v)
    c = np.cumsum(w[order])
    c /= c[-1]
    return v[order][np.minimum(np.searchsorted(c, qs), v.size - 1)]


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)  # 90 % and 50 % intervals and the median


def _at_pairs(model: np.ndarray, grid: np.ndarray, subject: np.ndarray, days: np.ndarray) -> np.ndarray:
    """``model`` of member ``subject[i]`` at ``days[i, ...]`` (linear between grid days; NaN beyond)."""
    step = grid[1] - grid[0]
    pos = days / step
    lo = np.clip(np.floor(pos).astype(int), 0, grid.size - 1)
    hi = np.minimum(lo + 1, grid.size - 1)
    frac = pos - lo
    rows = subject.reshape((-1,) + (1,) * (days.ndim - 1))
    v = model[rows, lo] * (1 - frac) + model[rows, hi] * frac
    return np.where((pos >= 0) & (pos <= grid.size - 1), v, np.nan)


@dataclass(frozen=True)
class Draws:
    """Members and delays drawn by posterior weight, with the series' offsets drawn for each."""

    subject: np.ndarray  # (draws,)
    delay: np.ndarray  # (draws,) days
    offset: list[np.ndarray]  # per series (draws,)


def draw(post: Posterior, rng: np.random.Generator, n: int = DRAWS) -> Draws:
    flat = rng.choice(post.weights.size, size=n, p=post.weights.ravel())
    subject, d = np.unravel_index(flat, post.weights.shape)
    offsets = [mean[subject, d] + np.sqrt(var[subject, d]) * rng.standard_normal(n) for mean, var in post.offsets]
    return Draws(subject, post.delays[d], offsets)


def predictive(s: Series, i: int, draws: Draws, grid: np.ndarray, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(draws, len(days)) next measurements of series ``s`` (index ``i``) on the patient's scale; NaN once dead."""
    m = _at_pairs(s.model, grid, draws.subject, days[None, :] + draws.delay[:, None])
    y = m + draws.offset[i][:, None] + s.sd * rng.standard_normal(m.shape)
    if s.log:
        return np.exp(y)
    return np.clip(y, 0.0, ALSFRS_MAX)


def _summary(values: np.ndarray) -> dict:
    """Median, 50 % and 90 % intervals of the finite draws, and the share of draws alive."""
    alive = ~np.isnan(values)
    q = np.quantile(values[alive], QUANTILES) if alive.any() else np.full(len(QUANTILES), np.nan)
    return {"median": q[2], "interval_50": [q[1], q[3]], "interval_90": [q[0], q[4]], "p_alive": float(alive.mean())}


def _event_summary(days: np.ndarray, weights: np.ndarray, last: float) -> dict:
    """Median and intervals of an event's day (inf: not within the bank's horizon), and from the last visit."""
    q = weighted_quantiles(days.ravel(), weights.ravel(), QUANTILES)
    fin = lambda x: None if not np.isfinite(x) else float(x)
    return {
        "median_days": fin(q[2]),
        "interval_50_days": [fin(q[1]), fin(q[3])],
        "interval_90_days": [fin(q[0]), fin(q[4])],
        "median_months_after_last_visit": fin((q[2] - last) / DAYS_PER_MONTH),
        "p_before_last_visit": float(weights.ravel()[days.ravel() <= last].sum()),
    }


def _crossing_day(model: np.ndarray, grid: np.ndarray, level: np.ndarray) -> np.ndarray:
    """(subjects, delays) first day each member's score falls to ``level`` (subjects, delays); inf if never."""
    below = model[:, None, :] <= level[:, :, None]  # (subjects, delays, visits)
    first = np.where(below.any(axis=-1), below.argmax(axis=-1), -1)
    k = np.maximum(first, 1)
    rows = np.arange(model.shape[0])[:, None]
    before, after = model[rows, k - 1], model[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((before - level) / (before - after), 0, 1)
    day = grid[k - 1] + frac * (grid[1] - grid[0])
    return np.where(first > 0, day, np.where(first == 0, grid[0], np.inf))


def forecast(post: Posterior, series: list[Series], bank: xr.Dataset, visits: Visits, seed: int) -> dict:
    """Forecasts at ``HORIZONS_MONTHS`` after the last visit, event times, and the posterior summary."""
    from endplate.seeding import substreams

    rng = np.random.default_rng(substreams(seed, "forecast")["forecast"])
    grid = bank["visit_day"].values.astype(float)
    last = float(visits.observations[-1].day)
    draws = draw(post, rng)
    days = last + np.array(HORIZONS_MONTHS) * DAYS_PER_MONTH
    out_series = []
    for i, s in enumerate(series):
        pred = predictive(s, i, draws, grid, days, rng)
        out_series.append(
            {
                "measure": s.key[0],
                "muscle": s.key[1] or None,
                "method": s.key[2] or None,
                "unit": {"alsfrs_r": "points", "cmap_amplitude": "mV", "mune": "units"}[s.key[0]],
                "forecasts": [{"months_after_last_visit": h, **_summary(pred[:, j])} for j, h in enumerate(HORIZONS_MONTHS)],
            }
        )
    delay = post.delays[None, :]
    alsfrs = [i for i, s in enumerate(series) if s.key[0] == "alsfrs_r"]
    offset = post.offsets[alsfrs[0]][0] if alsfrs else np.zeros(post.weights.shape)
    half = _crossing_day(bank["composite"].values, grid, HALF_FUNCTION - offset) - delay
    death = np.where(np.isnan(bank["death_day"].values), np.inf, bank["death_day"].values)[:, None] - delay
    return {
        "series": out_series,
        "time_to_half_function": _event_summary(half, post.weights, last),
        "survival": _event_summary(death * np.ones_like(post.weights), post.weights, last),
        "posterior": posterior_summary(post, bank),
        "last_visit_day": last,
    }


def posterior_summary(post: Posterior, bank: xr.Dataset) -> dict:
    """Weighted medians and 90 % intervals of the disease parameters; site of onset probabilities."""
    w_subject = post.weights.sum(axis=1)
    out = {}
    for name in ("progression_factor", "age_years"):
        q = weighted_quantiles(bank[name].values, w_subject, QUANTILES)
        out[name] = {"median": float(q[2]), "interval_90": [float(q[0]), float(q[4])]}
    site = bank["site_of_onset"].values
    out["site_of_onset"] = {s: float(w_subject[site == k].sum()) for k, s in enumerate(SITES)}
    if post.delays.size > 1:
        q = weighted_quantiles(np.broadcast_to(post.delays, post.weights.shape).ravel(), post.weights.ravel(), QUANTILES)
        out["onset_to_first_visit_days"] = {"median": float(q[2]), "interval_90": [float(q[0]), float(q[4])]}
    return out


def infer_patient(visits: Visits, bank: xr.Dataset, seed: int = 0, errors: ErrorModel = ErrorModel()) -> dict:
    """Fit ``visits`` on ``bank`` and forecast: the JSON payload of ``endplate infer patient``."""
    post, series = fit(visits, bank, errors)
    return result_payload(post, series, bank, visits, seed, errors)


def result_payload(
    post: Posterior, series: list[Series], bank: xr.Dataset, visits: Visits, seed: int, errors: ErrorModel
) -> dict:
    """Forecasts, events and posterior of a fit, with the prior, likelihood and effective sample size stated."""
    result = forecast(post, series, bank, visits, seed)
    settings = bank_settings(bank)
    result.update(
        {
            "effective_sample_size": post.ess,
            "likelihood_tempering": post.tempering,
            "bank_subjects": int(bank.sizes["subject"]),
            "onset_known": visits.onset_known,
            "time_origin": "onset" if visits.onset_known else "first visit",
            "prior": (
                f"bank of {bank.sizes['subject']} untreated virtual patients drawn from the human cohort prior "
                f"(therapy.cohort; population {settings['population']}), genotype {settings['genotype']}, "
                f"hypothesis {settings['hypothesis']}, seed {settings['seed']}"
                + ("" if visits.onset_known else f"; delay from onset to the first visit uniform on 0-{MAX_DELAY_DAYS} days")
            ),
            "likelihood": (
                "per series: model value + persistent patient offset + visit error, Gaussian (log scale for CMAP and MUNE), "
                f"offset integrated out; ALSFRS-R visit SD {errors.alsfrs_sd} points, offset SD {errors.alsfrs_offset_sd}; "
                f"CMAP log SD {errors.cmap_log_sd}, offset {errors.cmap_offset_log_sd}; MUNE log SD by method "
                f"{errors.mune_log_sd}, offset {errors.mune_offset_log_sd}"
            ),
            "log_evidence": post.log_evidence,
            "seed": seed,
        }
    )
    return result
