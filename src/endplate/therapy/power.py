"""Prospective power: fresh simulated trials at each sample size, Monte Carlo error, solved sample size.

Power is never taken from the trial it is reported with. A *bank* of fresh subjects is simulated
for each of the two arms compared (the trial's settings with a seed of its own, ``bank_seed``, so
no bank subject is a trial subject). Each simulated trial of n per arm draws n subjects per arm
from the bank without replacement and applies the endpoint's test (``endpoint_test``):

- slope endpoints: each subject's least-squares slope, arms compared by Welch's t-test, the
  trial's own analysis (``analysis.summary_slope``); ``mixed_model_check`` measures how often the
  mixed model, the trial's sensitivity analysis, decides the same on trials drawn from the bank;
- ``onset`` / ``survival``: the log-rank test, the very test ``analysis.cox_logrank`` reports;
- ``cafs``: the Finkelstein-Schoenfeld joint rank test (``analysis.finkelstein_schoenfeld``).

Power at n is the share of the ``trials`` trials with p < alpha. Its Monte Carlo error has two
parts: the binomial error of ``trials`` draws, and the finite bank (trials drawn from one bank
share subjects). ``se`` is the standard deviation of the power over ``BANK_BOOTSTRAPS`` banks
resampled with replacement from the simulated one, each run with ``trials`` fresh trials, so it
holds both. A bank of at least ``BANK_FACTOR`` times the largest size per arm keeps the shared
part small; n may not exceed the bank.

Sample size for a target power: probit(power) = a + b sqrt(n) is fitted to the successes at every
size by binomial maximum likelihood (for a z-test of a fixed effect the power is exactly
Phi(b sqrt(n) - z) with one-sided-negligible tails, so the form is that of the test), and the
fitted curve is solved for the target by root finding (``scipy.optimize.brentq``). Its 95 %
interval comes from solving the curve of every resampled bank the same way (``size_for_power``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, stats

BANK_FACTOR = 4  # bank subjects per arm, per subject of the largest size (see the module docstring)
BANK_BOOTSTRAPS = 20


@dataclass(frozen=True)
class Bank:
    """Per-subject records of the two arms compared, ``(subjects, fields)`` float arrays.

    Fields by endpoint kind: slope (slope per month,); event (time in days, event 0/1);
    cafs (time in days, event 0/1, functional slope per month). Every randomised subject has a
    row; a subject the analysis would leave out (not enrolled, not at risk) has a NaN row, so a
    trial of n per arm counts randomised subjects, as a real one does.
    """

    endpoint: str
    control: np.ndarray
    active: np.ndarray


def endpoint_test(endpoint: str, control: np.ndarray, active: np.ndarray) -> float:
    """Two-sided p-value of one trial's records (see ``Bank``); NaN counts as no rejection."""
    from endplate.therapy.analysis import finkelstein_schoenfeld, logrank_p, welch_p

    kind = record_kind(endpoint)
    if kind == "slope":
        return float(welch_p(control[None, :, 0], active[None, :, 0])[0])
    both = np.concatenate([control, active])
    treat = np.r_[np.zeros(len(control)), np.ones(len(active))]
    kept = np.isfinite(both[:, 0])
    both, treat = both[kept], treat[kept]
    if kind == "event":
        return logrank_p(both[:, 0], both[:, 1], treat)
    return finkelstein_schoenfeld(both[:, 0], both[:, 1], both[:, 2], treat)["p_value"]


def record_kind(endpoint: str) -> str:
    from endplate.therapy.trial import EVENT_ENDPOINTS

    return "event" if endpoint in EVENT_ENDPOINTS else "cafs" if endpoint == "cafs" else "slope"


def successes(bank: Bank, n: int, trials: int, alpha: float, seed: np.random.SeedSequence) -> int:
    """How many of ``trials`` trials of ``n`` per arm drawn from ``bank`` reject at ``alpha`` (runs on a worker)."""
    rng = np.random.default_rng(seed)
    draws = [
        (rng.choice(len(bank.control), n, replace=False), rng.choice(len(bank.active), n, replace=False)) for _ in range(trials)
    ]
    if record_kind(bank.endpoint) == "slope":
        from endplate.therapy.analysis import welch_p

        p = welch_p(np.stack([bank.control[c, 0] for c, _ in draws]), np.stack([bank.active[a, 0] for _, a in draws]))
    else:
        p = np.array([endpoint_test(bank.endpoint, bank.control[c], bank.active[a]) for c, a in draws])
    return int((np.nan_to_num(p, nan=1.0) < alpha).sum())


def _resampled(bank: Bank, seed: np.random.SeedSequence) -> Bank:
    rng = np.random.default_rng(seed)
    pick = lambda x: x[rng.integers(0, len(x), len(x))]  # noqa: E731 - one bootstrap draw of a bank arm
    return Bank(bank.endpoint, pick(bank.control), pick(bank.active))


def power_curve(bank: Bank, sizes, trials: int, alpha: float, seed: int, client=None) -> dict:
    """Prospective power at each size per arm, with its Monte Carlo error (module docstring).

    ``client``: a Dask client; every (bank, size) point is one task. Without one the points run here.
    Returns ``subjects_per_arm``, ``power``, ``se``, ``successes``, ``trials``, ``bank_per_arm``.
    """
    sizes = [int(n) for n in sizes]
    largest = min(len(bank.control), len(bank.active))
    if max(sizes) > largest:
        raise ValueError(f"a trial of {max(sizes)} per arm cannot be drawn without replacement from a bank of {largest}")
    streams = [s.spawn(1 + len(sizes)) for s in np.random.SeedSequence(seed).spawn(1 + BANK_BOOTSTRAPS)]
    banks = [bank] + [_resampled(bank, own[0]) for own in streams[1:]]
    jobs = [(b, n, trials, alpha, own[1 + i]) for b, own in zip(banks, streams) for i, n in enumerate(sizes)]
    if client is None:
        found = [successes(*job) for job in jobs]
    else:
        found = client.gather([client.submit(successes, *job, pure=False) for job in jobs])
    counts = np.array(found, float).reshape(len(banks), len(sizes))
    power = counts[0] / trials
    se = counts[1:].std(axis=0, ddof=1) / trials
    return {
        "subjects_per_arm": sizes,
        "power": power.tolist(),
        "se": se.tolist(),
        "successes": counts[0].astype(int).tolist(),
        "trials": trials,
        "bank_per_arm": largest,
        "bank_bootstraps": BANK_BOOTSTRAPS,
        "bootstrap_power": (counts[1:] / trials).tolist(),  # (bootstrap, size): one curve per resampled bank
    }


def fit_probit(sizes, power, weights) -> tuple[float, float]:
    """(a, b) of probit(power) = a + b sqrt(n), maximising the binomial likelihood of ``power``
    with ``weights`` effective trials per size."""
    n = np.sqrt(np.asarray(sizes, float))
    p, w = np.asarray(power, float), np.asarray(weights, float)

    def nll(ab):
        q = np.clip(stats.norm.cdf(ab[0] + ab[1] * n), 1e-12, 1 - 1e-12)
        return -np.sum(w * (p * np.log(q) + (1 - p) * np.log(1 - q)))

    start = np.polyfit(n, stats.norm.ppf(np.clip(p, 0.02, 0.98)), 1)[::-1]
    fit = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    return float(fit.x[0]), float(fit.x[1])


def solve_size(a: float, b: float, target: float, upper: float = 1e6) -> float:
    """Subjects per arm at which the fitted curve reaches ``target`` (NaN when it never does below ``upper``)."""
    f = lambda n: stats.norm.cdf(a + b * math.sqrt(n)) - target  # noqa: E731
    if b <= 0 or f(upper) < 0:  # power that does not grow with n: the effect is not detectable
        return math.nan
    if f(1.0) >= 0:
        return 1.0
    return float(optimize.brentq(f, 1.0, upper, xtol=1e-6))


def size_for_power(curve: dict, target: float) -> dict:
    """The subjects per arm for ``target`` power, solved on the fitted curve, with a 95 % interval.

    The fit weighs every size by its number of trials. The interval solves the curve of every
    resampled bank (``bootstrap_power``: fresh trials on a bank resampled with replacement) in
    the same way and takes the 2.5 and 97.5 percentiles: a bank whose effect is larger raises
    every point of its curve at once, and so the interval holds that shared error too.
    """
    sizes, weights = curve["subjects_per_arm"], np.full(len(curve["subjects_per_arm"]), float(curve["trials"]))
    a, b = fit_probit(sizes, curve["power"], weights)
    n = solve_size(a, b, target)
    draws = np.array([solve_size(*fit_probit(sizes, p, weights), target) for p in curve["bootstrap_power"]])
    ok = draws[np.isfinite(draws)]
    low, high = np.percentile(ok, [2.5, 97.5]) if ok.size > len(draws) // 2 else (math.nan, math.nan)
    return {
        "target_power": target,
        "subjects_per_arm": n,
        "low": float(low),
        "high": float(high),
        "fit": {"form": "probit(power) = a + b sqrt(n)", "a": a, "b": b},
        "solved_within_range": bool(np.isfinite(n) and min(sizes) <= n <= max(sizes)),
    }


def size_strings(ss: dict) -> tuple[str, str]:
    """A ``size_for_power`` result as text: the subjects per arm and its 95 % interval, or why either is undefined."""
    n, low, high = ss["subjects_per_arm"], ss["low"], ss["high"]
    if not np.isfinite(n):
        return "not reached", "the fitted power does not reach the target with more subjects"
    size = f"{n:.0f}" + ("" if ss["solved_within_range"] else " (beyond the curve)")
    if not (np.isfinite(low) and np.isfinite(high)):
        return size, "undefined: most resampled banks never reach the target"
    return size, f"{low:.0f}-{high:.0f}"


def fitted_power(fit: dict, n) -> np.ndarray:
    """Power of the fitted curve at ``n`` subjects per arm."""
    return stats.norm.cdf(fit["a"] + fit["b"] * np.sqrt(np.asarray(n, float)))


CHECK_TRIALS = 40  # trials at the trial's own size analysed both ways (``mixed_model_check``)
_BANK_KEY = 2**31 + 7  # spawn key of the bank's seed; subjects' own keys are their indices, far below


def bank_trial(trial):
    """The trial whose subjects form the power bank: the trial's settings, ``bank_per_arm`` per
    arm and a seed of its own (so no bank subject is a subject of the trial), with the trial's
    draw of the uncertain effect sizes: the power is that of the effect the trial simulates."""
    import dataclasses

    from endplate.spec import SEED_MAX

    seed = int(np.random.SeedSequence(trial.seed, spawn_key=(_BANK_KEY,)).generate_state(1)[0]) % (SEED_MAX + 1)
    effects = trial.seed if trial.effects_seed is None else trial.effects_seed
    return dataclasses.replace(
        trial, name=f"{trial.name}-bank", seed=seed, subjects_per_arm=trial.bank_per_arm, effects_seed=effects
    )


def bank_of(ds, trial, endpoint: str) -> Bank:
    """The records of ``endpoint`` in the bank dataset ``ds`` for the control and the first active arm."""
    from endplate.therapy.analysis import subject_records

    active = next(a for a in trial.arms if a != trial.control)
    return Bank(endpoint, subject_records(ds, endpoint, trial.control), subject_records(ds, endpoint, active))


def prospective_power(trial, bank_ds, client=None, endpoints=None) -> dict:
    """Power curves of ``endpoints`` (default: all of the trial's) from the bank dataset ``bank_ds``
    (the finished store of ``bank_trial(trial)``), each with its solved sample size for the
    trial's target power, and the primary endpoint's power at the trial's own size."""
    curves = {}
    for k, e in enumerate(endpoints or trial.endpoints):
        curve = power_curve(
            bank_of(bank_ds, trial, e), trial.power_points, trial.power_replicates, trial.alpha, trial.seed + k, client
        )
        curves[e] = {**curve, "sample_size": size_for_power(curve, trial.power_target)}
    primary = curves[trial.primary]
    at = primary["subjects_per_arm"].index(trial.subjects_per_arm)
    return {
        "endpoint": trial.primary,
        "subjects_per_arm": trial.subjects_per_arm,
        "power": primary["power"][at],
        "se": primary["se"][at],
        "alpha": trial.alpha,
        "curve": {k: v for k, v in primary.items() if k != "sample_size"},
        "sample_size": primary["sample_size"],
        "endpoints": curves,
        "bank_seed": bank_trial(trial).seed,
        "mixed_model_check": mixed_model_check(bank_ds, trial, client) if record_kind(trial.primary) == "slope" else None,
    }


def _mixed_p(df) -> float:
    from endplate.therapy.analysis import mixed_slope

    return mixed_slope(df)["p_value"]


def mixed_model_check(bank_ds, trial, client=None, trials: int = CHECK_TRIALS) -> dict:
    """How often the mixed model (the sensitivity analysis) and the trial's analysis reject on the
    same ``trials`` trials of the trial's own size drawn from the bank: both rejection rates, their
    binomial Monte Carlo errors and the share of equal decisions. A check of agreement on few
    trials; both rates scatter by about 0.07 around the power, which ``prospective_power`` gives."""
    from endplate.therapy.analysis import long_table

    bank = bank_of(bank_ds, trial, trial.primary)
    active = next(a for a in trial.arms if a != trial.control)
    arm = bank_ds["arm"].values
    ids = [np.flatnonzero(arm == trial.control), np.flatnonzero(arm == active)]
    rng = np.random.default_rng(np.random.SeedSequence(trial.seed, spawn_key=(_BANK_KEY + 1,)))
    n = trial.subjects_per_arm
    own, tables = [], []
    for _ in range(trials):
        pick = [rng.choice(len(g), n, replace=False) for g in ids]
        own.append(endpoint_test(trial.primary, bank.control[pick[0]], bank.active[pick[1]]))
        chosen = bank_ds.isel(subject=np.concatenate([ids[0][pick[0]], ids[1][pick[1]]]))
        tables.append(long_table(chosen, trial.primary, (trial.control, active)))
    mixed = [_mixed_p(t) for t in tables] if client is None else client.gather([client.submit(_mixed_p, t) for t in tables])
    own_reject = np.nan_to_num(np.array(own), nan=1.0) < trial.alpha
    mixed_reject = np.nan_to_num(np.array(mixed), nan=1.0) < trial.alpha
    se = lambda r: float(math.sqrt(r.mean() * (1 - r.mean()) / trials))  # noqa: E731
    return {
        "trials": trials,
        "subjects_per_arm": n,
        "analysis": "Welch t on per-subject slopes (the trial's analysis)",
        "sensitivity": "MixedLM, random slope per subject (analysis.mixed_slope)",
        "analysis_power": float(own_reject.mean()),
        "sensitivity_power": float(mixed_reject.mean()),
        # Binomial Monte Carlo error of the two rates over these few trials (they are a check of
        # agreement on the same trials, not a power figure: the power is ``prospective_power``'s).
        "analysis_power_se": se(own_reject),
        "sensitivity_power_se": se(mixed_reject),
        "same_decision": float((own_reject == mixed_reject).mean()),
    }


def bank_store(store: Path) -> Path:
    """Where the power bank of the trial store ``store`` lives: ``NAME-bank.zarr`` beside it."""
    return store.with_name(f"{store.stem}-bank.zarr")


def run_with_power(trial, store: Path, *, fresh: bool = False, progress=None, say=None, **cluster) -> tuple:
    """Run (or resume) ``trial`` into ``store`` and its power bank into ``bank_store(store)`` on one
    Dask client (``cluster``: ``client``, or ``scheduler``, ``workers``, ``processes``), then
    analyse: returns the trial's dataset with the analysis and prospective power attached, and the
    analysis. ``progress(stage, done, total)`` follows the stages "trial" and "power bank"; ``say``
    receives resume notices. Both stores are checked before any work starts."""
    from endplate.therapy.analysis import attach_analysis
    from endplate.therapy.engine import check_store, dask_session, run_trial

    bank = bank_trial(trial)
    check_store(trial, store, fresh)
    check_store(bank, bank_store(store), fresh)
    stage = lambda name: None if progress is None else (lambda done, total: progress(name, done, total))  # noqa: E731
    with dask_session(**cluster) as client:
        ds = run_trial(trial, store, client=client, fresh=fresh, progress=stage("trial"), say=say)
        bank_ds = run_trial(bank, bank_store(store), client=client, fresh=fresh, progress=stage("power bank"), say=say)
        assert ds is not None and bank_ds is not None  # None only when stopped early (stop_after, used by tests)
        power = prospective_power(trial, bank_ds, client)
    return ds, attach_analysis(ds, trial, power)
