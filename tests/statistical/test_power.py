"""Prospective power against the analytic power of the test, on a synthetic trial with a known effect."""

import numpy as np
from scipy import optimize, stats

from endplate.therapy.power import Bank, fitted_power, power_curve, size_for_power

EFFECT, SD = 0.5, 1.0  # slope difference per month and between-subject SD of the slopes (synthetic)


def _welch_power(n: int, alpha: float = 0.05) -> float:
    """Exact power of the two-sided two-sample t-test of n per arm with equal SDs (noncentral t)."""
    df, ncp = 2 * n - 2, EFFECT / (SD * np.sqrt(2.0 / n))
    crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(crit, df, ncp) + stats.nct.cdf(-crit, df, ncp))


def _bank(seed: int, per_arm: int = 5_000) -> Bank:
    rng = np.random.default_rng(seed)
    return Bank("composite", rng.normal(0.0, SD, (per_arm, 1)), rng.normal(EFFECT, SD, (per_arm, 1)))


def test_prospective_power_matches_the_analytic_power_of_the_t_test_within_monte_carlo_error():
    sizes = [10, 20, 40, 70]
    curve = power_curve(_bank(0), sizes, trials=300, alpha=0.05, seed=1)
    for n, p, se in zip(sizes, curve["power"], curve["se"]):
        assert 0 < se < 0.05
        assert abs(p - _welch_power(n)) < 3.5 * se, (n, p, _welch_power(n), se)


def test_solved_sample_size_brackets_the_analytic_one():
    curve = power_curve(_bank(2), [10, 20, 30, 50, 80], trials=300, alpha=0.05, seed=3)
    solved = size_for_power(curve, 0.8)
    exact = optimize.brentq(lambda n: _welch_power(int(round(n))) - 0.8, 5, 200)
    assert solved["low"] < exact < solved["high"]
    assert solved["high"] - solved["low"] < 0.4 * exact  # an interval that says something
    assert abs(float(fitted_power(solved["fit"], solved["subjects_per_arm"])) - 0.8) < 1e-6


def test_no_effect_rejects_at_about_alpha():
    rng = np.random.default_rng(5)
    bank = Bank("composite", rng.normal(0, 1, (5000, 1)), rng.normal(0, 1, (5000, 1)))
    curve = power_curve(bank, [30], trials=1000, alpha=0.05, seed=6)
    assert abs(curve["power"][0] - 0.05) < 3.5 * max(curve["se"][0], np.sqrt(0.05 * 0.95 / 1000))


def test_power_bank_is_a_fresh_cohort_with_the_trial_settings():
    from endplate.therapy.power import bank_trial
    from endplate.therapy.trial import load_trial

    trial = load_trial("nmj-stabiliser-human")
    bank = bank_trial(trial)
    assert bank.seed != trial.seed and bank.subjects_per_arm == trial.bank_per_arm >= 4 * 150
    assert bank.arms == trial.arms and bank.duration_days == trial.duration_days and bank.population == trial.population
    assert bank.known_interventions() == trial.known_interventions()  # the same draw of the effect sizes
    assert trial.subjects_per_arm in trial.power_points  # the reported power is a point of the curve


def test_a_curve_that_does_not_rise_gives_no_sample_size_and_sizes_beyond_the_bank_are_refused():
    import pytest

    from endplate.therapy.power import solve_size

    assert np.isnan(solve_size(-1.6, -0.01, 0.8)) and np.isnan(solve_size(-1.6, 0.0, 0.8))
    with pytest.raises(ValueError, match="without replacement"):
        power_curve(_bank(0, per_arm=50), [60], trials=5, alpha=0.05, seed=0)


def test_an_undefined_sample_size_is_shown_with_its_reason_never_as_nan():
    """The survival and joint-rank rows of a small trial printed 'nan' and 'nan-nan'."""
    from endplate.therapy.power import size_strings

    def ss(n, low, high, within=True):
        return {"subjects_per_arm": n, "low": low, "high": high, "solved_within_range": within}

    assert size_strings(ss(64.2, 50.0, 90.0)) == ("64", "50-90")
    assert size_strings(ss(1103.0, 482.0, 26032.0, within=False)) == ("1103 (beyond the curve)", "482-26032")
    for case in (ss(float("nan"), float("nan"), float("nan"), within=False), ss(70.0, float("nan"), float("nan"))):
        text = " ".join(size_strings(case))
        assert "nan" not in text.lower() and ("not reached" in text or "undefined" in text), text
