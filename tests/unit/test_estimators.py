import numpy as np
import pytest

from endplate.junction import estimators as est


def test_mean_consecutive_difference_skips_blocked_discharges():
    assert est.mean_consecutive_difference([1.0, 2.0, 4.0]) == pytest.approx(1.5)
    assert est.mean_consecutive_difference([1.0, np.nan, 4.0, 5.0]) == pytest.approx(1.0)


def test_failures_method_of_a_poisson_process():
    # m = 1: e^-1 of trials fail.
    assert est.quantal_content_failures(1000, round(1000 * np.exp(-1))) == pytest.approx(1.0, abs=0.01)
    assert np.isnan(est.quantal_content_failures(100, 0))


def test_nonlinear_summation_correction_inverts_the_model():
    k = 0.8 / 70.0
    linear = np.array([5.0, 20.0, 60.0])
    observed = linear / (1 + k * linear)
    assert est.correct_nonlinear_summation(observed, k) == pytest.approx(linear)


def test_direct_method_divides_corrected_epp_by_mepp():
    assert est.quantal_content_direct(np.array([10.0, 10.0]), np.array([0.5, 0.5]), 0.0) == pytest.approx(20.0)


def test_back_extrapolation_recovers_a_pool_with_constant_replenishment():
    # Release from a pool of 100 with fraction 0.3, then steady supply of 5 per stimulus.
    pool, released = 100.0, []
    for _ in range(60):
        k = 0.3 * pool
        pool += 5.0 - k
        released.append(k)
    # At steady state 5 are released per stimulus from a pool of 5 / 0.3; the intercept is the
    # excess released on the way there: the initial pool minus the steady-state pool.
    steady_pool = 5.0 / 0.3
    assert est.rrp_back_extrapolation(np.array(released), 30) == pytest.approx(100.0 - steady_pool, rel=0.02)


def test_two_exponential_fit_recovers_known_time_constants():
    t = np.array([5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 800.0])
    f = 0.3 * np.exp(-t / 35) + 0.2 * np.exp(-t / 160)
    f0, tau1, tau2, a1 = est.two_exponential_facilitation(t, f)
    assert (f0, tau1, tau2, a1) == pytest.approx((0.5, 35, 160, 0.3), rel=0.01)
