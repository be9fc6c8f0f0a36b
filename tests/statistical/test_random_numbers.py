import numpy as np
import pytest
from numba import njit
from scipy import stats

from endplate.kernels import rng


def _chi_square_pvalue(sample, n, p):
    """Chi-square goodness of fit of integer draws against Binomial(n, p), pooling thin bins."""
    k = np.arange(n + 1)
    expected = stats.binom.pmf(k, n, p) * sample.size
    observed = np.bincount(sample, minlength=n + 1).astype(float)
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:
        obs[-2] += obs[-1]
        exp[-2] += exp[-1]
        obs, exp = obs[:-1], exp[:-1]
    return stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue


@pytest.mark.parametrize("n,p", [(20, 0.05), (1730, 0.003), (60, 0.1), (1730, 0.03), (500, 0.5), (40, 0.9), (3000, 0.2)])
def test_exact_binomial_sampler_matches_the_binomial_distribution(n, p):
    sample = rng.binomial_sample(7, n, p, 200_000)
    assert sample.mean() == pytest.approx(n * p, rel=0.01, abs=0.01)
    assert sample.var() == pytest.approx(n * p * (1 - p), rel=0.03)
    assert _chi_square_pvalue(sample, n, p) > 1e-3


@njit
def _quantiles(n, p, z):
    out = np.empty(z.size)
    for i in range(z.size):
        out[i] = rng.cornish_fisher_quantile(n, p, z[i])
    return out


def _cornish_fisher_cdf_error(n, p):
    """Exact sup |F_approx - F_binomial| of the kernel's Cornish-Fisher draw (z clamped to +-5).

    The draw is floor(g(z) + 1/2) with g increasing, so P(draw <= k) = Phi(g^-1(k + 1/2)).
    """
    z = np.linspace(-5, 5, 40001)
    g = _quantiles(n, p, z)
    assert np.all(np.diff(g) > 0), "the quantile must increase in z for the draw to be an inversion"
    mu, sd = n * p, np.sqrt(n * p * (1 - p))
    k = np.arange(max(0, int(mu - 7 * sd)), min(n, int(mu + 7 * sd)) + 1)
    f_approx = stats.norm.cdf(np.interp(k + 0.5, g, z, left=-np.inf, right=np.inf))
    return np.abs(f_approx - stats.binom.cdf(k, n, p)).max()


@pytest.mark.parametrize("p", [0.001, 0.003, 0.02, 0.05, 0.2, 0.5, 0.8, 0.99])
@pytest.mark.parametrize("variance_factor", [1.0, 1.13, 1.27, 1.7, 4.0, 30.0])
def test_cornish_fisher_release_draw_error_is_below_its_bound(p, variance_factor):
    n = int(np.ceil(variance_factor * rng.APPROX_MIN_VARIANCE / (p * (1 - p))))
    assert _cornish_fisher_cdf_error(n, p) < 1e-3


def test_sheppard_correction_makes_the_draw_more_accurate_than_its_bound_needs():
    """At the threshold the corrected expansion is well inside the bound (the uncorrected one was 2e-3)."""
    worst = max(_cornish_fisher_cdf_error(int(np.ceil(rng.APPROX_MIN_VARIANCE / (p * (1 - p)))), p) for p in (0.003, 0.05, 0.3))
    assert worst < 5e-4


def test_fast_binomial_draws_match_the_exact_distribution_in_a_sample():
    n, p = 1730, 0.03
    sample = rng.binomial_sample_fast(5, n, p, 200_000)
    assert sample.mean() == pytest.approx(n * p, rel=0.005)
    assert sample.var() == pytest.approx(n * p * (1 - p), rel=0.03)
    assert _chi_square_pvalue(sample, n, p) > 1e-3


@njit
def _normals(seed, n):
    s0, s1 = rng.seed_stream(np.uint64(seed), np.uint64(0))
    out = np.empty(2 * n)
    for i in range(n):
        s0, s1, out[2 * i], out[2 * i + 1] = rng.next_normal_pair(s0, s1)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_ziggurat_normals_are_standard_normal_and_independent(seed):
    x = _normals(seed, 200_000)
    assert abs(x.mean()) < 0.01 and x.var() == pytest.approx(1.0, abs=0.01)
    assert stats.kstest(x, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(x[::2], x[1::2])[0, 1]) < 0.01
    tail = (np.abs(x) > 3.5).mean()
    assert tail == pytest.approx(2 * stats.norm.sf(3.5), rel=0.3)


def test_streams_of_different_junctions_are_uncorrelated():
    @njit
    def first_uniforms(seed, n):
        out = np.empty(n)
        for j in range(n):
            s0, s1 = rng.seed_stream(np.uint64(seed), np.uint64(j))
            s0, s1, out[j] = rng.next_uniform(s0, s1)
        return out

    u = first_uniforms(3, 100_000)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
