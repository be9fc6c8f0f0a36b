import pytest

from endplate.junction.epp import epp
from endplate.junction.perturbations import apply_perturbations


def test_quantal_content_recovered_by_direct_method_at_normal_calcium(mouse):
    ds = epp(mouse, seed=1, n_junctions=30, n_stimuli=80)
    assert float(ds["quantal_content"]) == pytest.approx(float(ds["true_quantal_content"]), rel=0.05)


def test_quantal_content_recovered_by_variance_method_at_low_calcium(mouse):
    ds = epp(apply_perturbations(mouse, ["low_calcium"]), seed=2, n_junctions=40, n_stimuli=300)
    assert float(ds["quantal_content_variance"]) == pytest.approx(float(ds["true_quantal_content"]), rel=0.1)


def test_quantal_content_recovered_by_failures_method_at_low_calcium(mouse):
    ds = epp(apply_perturbations(mouse, ["low_calcium"]), seed=3, n_junctions=40, n_stimuli=300)
    assert float(ds["quantal_content_failures"]) == pytest.approx(float(ds["true_quantal_content"]), rel=0.1)


def test_variance_method_overestimates_when_release_probability_is_high(mouse):
    # Binomial release is less variable than Poisson: the method's assumption fails, as in the lab.
    # Stimuli 50 s apart, so that the pool refills between them and only the binomial draw varies.
    ds = epp(mouse.replace(release_probability_max=0.5, rrp_capacity_quanta=150), seed=4, n_stimuli=200, frequency_hz=0.02)
    assert float(ds["quantal_content_variance"]) > 1.1 * float(ds["true_quantal_content"])
