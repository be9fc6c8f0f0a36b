import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endplate import default_parameters, make_population, run_train

params_strategy = st.fixed_dictionaries(
    {
        "ca_mm": st.floats(0.05, 10.0),
        "mg_mm": st.floats(0.0, 10.0),
        "release_probability_max": st.floats(0.0, 1.0),
        "rrp_capacity_quanta": st.floats(1.0, 3000.0),
        "refill_activity_rate_per_ms": st.floats(0.0, 0.1),
        "tsc_gain": st.floats(-1.0, 1.0),
        "ache_activity_relative": st.floats(0.0, 1.0),
        "achr_density_relative": st.floats(0.0, 3.0),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=params_strategy,
    species=st.sampled_from(["mouse", "human"]),
    intervals=st.lists(st.floats(0.5, 5000.0), min_size=1, max_size=30),
    backend=st.sampled_from(["numba", "numpy"]),
    seed=st.integers(0, 2**40),
)
def test_vesicles_stay_within_the_pool_and_states_stay_in_range(changes, species, intervals, backend, seed):
    params = default_parameters(species, **changes)
    pop = make_population(params, 40, seed=seed % 1000)
    state = pop.rested_state()
    rec = run_train(pop, state, [np.inf] + intervals, seed, backend=backend)
    assert np.all(state.vesicles >= 0) and np.all(state.vesicles <= pop.capacity)
    assert np.all(rec.quanta >= 0) and np.all(rec.quanta <= pop.capacity[:, None])
    for arr in (state.tsc_activity, state.desensitisation):
        assert np.all((arr >= 0) & (arr <= 1))
    assert np.all(state.facilitation_fast >= 0) and np.all(state.facilitation_slow >= 0)
    assert np.all(np.isfinite(rec.epp_mv)) and np.all(rec.epp_mv >= 0)
    fired = rec.epp_mv > pop.threshold_mv[:, None]
    assert np.array_equal(np.isfinite(rec.latency_ms), fired)


@settings(max_examples=60, deadline=None)
@given(p_max=st.floats(0.0, 1.0), occ_gain=st.floats(0.0, 50.0))
def test_release_probability_is_a_probability(p_max, occ_gain):
    params = default_parameters("mouse", release_probability_max=p_max)
    p = params.release_probability(occ_gain)
    assert 0.0 <= p <= 1.0


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5000), seed=st.integers(0, 1000))
def test_population_arrays_have_one_row_per_junction(n, seed):
    pop = make_population(default_parameters("mouse"), n, seed=seed, unit_type=np.zeros(n, np.int8))
    assert pop.size == n and pop.capacity.min() >= 1
    assert pop.rested_state().nbytes_per_junction + pop.nbytes_per_junction <= 64
