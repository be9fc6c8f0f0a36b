"""The fast kernel against the NumPy reference kernel, in distribution."""

import numpy as np
import pytest
from scipy import stats

from endplate import make_population, run_train
from endplate.junction.perturbations import apply_perturbations


def _record(params, backend, seed, n=4000, intervals=None):
    pop = make_population(params, n, seed=42)
    intervals = intervals or [np.inf] + [20.0] * 29
    return run_train(pop, pop.rested_state(), intervals, seed, backend=backend)


@pytest.mark.parametrize("condition", [(), ("low_calcium",), ("ache_inhibition", "achr_loss")])
def test_fast_kernel_matches_reference_in_distribution(mouse, condition):
    params = apply_perturbations(mouse, condition)
    fast, ref = _record(params, "numba", 1), _record(params, "numpy", 2)
    for i in (0, 1, 9, 29):
        a, b = fast.quanta[:, i], ref.quanta[:, i]
        assert a.mean() == pytest.approx(b.mean(), rel=0.03, abs=0.05)
        assert stats.ks_2samp(fast.epp_mv[:, i], ref.epp_mv[:, i]).pvalue > 1e-3
        assert fast.fired_fraction[i] == pytest.approx(ref.fired_fraction[i], abs=0.03)
    lat_a, lat_b = fast.latency_ms[:, 5], ref.latency_ms[:, 5]
    lat_a, lat_b = lat_a[np.isfinite(lat_a)], lat_b[np.isfinite(lat_b)]
    if lat_a.size > 100 and lat_b.size > 100:
        assert stats.ks_2samp(lat_a, lat_b).pvalue > 1e-3


def test_single_stimulus_release_is_binomial_in_the_pool(mouse):
    params = mouse.replace(rrp_capacity_cv=0.0)
    pop = make_population(params, 50_000, seed=1)
    rec = run_train(pop, pop.rested_state(), [np.inf], seed=3, record=True)
    n, p = int(pop.capacity[0]), params.release_probability()
    k = rec.quanta[:, 0]
    assert k.mean() == pytest.approx(n * p, rel=0.01)
    assert k.var() == pytest.approx(n * p * (1 - p), rel=0.05)


def test_result_does_not_depend_on_thread_count(mouse):
    import numba

    pop = make_population(mouse, 5000, seed=1)
    a = run_train(pop, pop.rested_state(), [np.inf] + [10.0] * 9, seed=5)
    numba.set_num_threads(1)
    try:
        b = run_train(pop, pop.rested_state(), [np.inf] + [10.0] * 9, seed=5)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(a.quanta, b.quanta) and np.array_equal(a.epp_mv, b.epp_mv)


def test_fast_kernel_matches_reference_with_mobilisation_in_a_human_3_hz_train():
    """The human junction refills through the slow mobilisation state; both kernels must carry it."""
    from endplate.junction.parameters import default_parameters

    human = default_parameters("human")
    assert human.mobilisation_refill_rate_per_ms > 0
    intervals = [np.inf] + [1000.0 / 3] * 9
    fast, ref = _record(human, "numba", 1, intervals=intervals), _record(human, "numpy", 2, intervals=intervals)
    for i in (0, 4, 9):
        assert fast.quanta[:, i].mean() == pytest.approx(ref.quanta[:, i].mean(), rel=0.03)
        assert stats.ks_2samp(fast.epp_mv[:, i], ref.epp_mv[:, i]).pvalue > 1e-3


def test_fast_kernel_matches_reference_with_post_tetanic_potentiation():
    """A 10 s, 30 Hz tetanus in LEMS-like human junctions, then probes 2 s and 60 s later: both
    kernels build the same potentiation and release the same potentiated quanta."""
    from endplate.junction.parameters import default_parameters

    params = apply_perturbations(default_parameters("human"), ("lems",))
    pop = make_population(params, 4000, seed=42)
    intervals = [np.inf] + [1000.0 / 30] * 299 + [2000.0, 58000.0]
    fast_state, ref_state = pop.rested_state(), pop.rested_state()
    fast = run_train(pop, fast_state, intervals, 1, backend="numba")
    ref = run_train(pop, ref_state, intervals, 2, backend="numpy")
    for i in (0, 299, 300, 301):
        assert fast.quanta[:, i].mean() == pytest.approx(ref.quanta[:, i].mean(), rel=0.04)
        assert fast.fired_fraction[i] == pytest.approx(ref.fired_fraction[i], abs=0.03)
    assert ref.quanta[:, 300].mean() > 1.5 * ref.quanta[:, 0].mean()
    assert np.allclose(fast_state.potentiation, ref_state.potentiation, rtol=1e-6)


def test_junctions_in_different_facilitation_states_draw_as_if_alone(mouse):
    """A group of junctions in one facilitation state computes its presynaptic terms once per
    stimulus; a group in mixed states computes them per junction. Each junction must draw the
    same train either way (its random stream is its own)."""
    pop = make_population(mouse, 3000, seed=1)
    intervals = [20.0] * 20  # no rest first: a rest would clear the facilitation
    mixed, uniform = pop.rested_state(), pop.rested_state()
    odd = np.arange(pop.size) % 2 == 1
    for s in (mixed, uniform):
        s.facilitation_fast[:], s.facilitation_slow[:], s.mobilisation[:] = 0.4, 0.2, 0.1
    mixed.facilitation_fast[~odd] = 0.0
    a = run_train(pop, mixed, intervals, seed=9)
    b = run_train(pop, uniform, intervals, seed=9)
    assert np.array_equal(a.quanta[odd], b.quanta[odd]) and np.array_equal(a.epp_mv[odd], b.epp_mv[odd])
    assert not np.array_equal(a.quanta[~odd], b.quanta[~odd])
    assert np.array_equal(mixed.facilitation_fast[odd], uniform.facilitation_fast[odd])
    assert np.all(mixed.facilitation_fast[~odd] < mixed.facilitation_fast[odd])
