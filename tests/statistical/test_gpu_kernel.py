"""The CuPy kernel against the NumPy reference; skipped where no CUDA GPU is present."""

import numpy as np
import pytest
from scipy import stats

from endplate import make_population, run_train
from endplate.junction.perturbations import apply_perturbations
from endplate.kernels import gpu_available

pytestmark = pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a CUDA GPU")


@pytest.mark.parametrize("condition", [(), ("low_calcium",), ("ache_inhibition", "achr_loss")])
def test_gpu_kernel_matches_reference_in_distribution(mouse, condition):
    params = apply_perturbations(mouse, condition)
    pop = make_population(params, 20000, seed=42)
    intervals = [np.inf] + [20.0] * 29
    state = pop.rested_state()
    g = run_train(pop, state, intervals, 1, backend="cupy")
    r = run_train(pop, pop.rested_state(), intervals, 2, backend="numpy")
    for i in (0, 1, 9, 29):
        assert g.quanta[:, i].mean() == pytest.approx(r.quanta[:, i].mean(), rel=0.03, abs=0.05)
        assert stats.ks_2samp(g.epp_mv[:, i], r.epp_mv[:, i]).pvalue > 1e-3
        assert g.fired_fraction[i] == pytest.approx(r.fired_fraction[i], abs=0.03)
    assert np.all(state.vesicles >= 0) and np.all(state.vesicles <= pop.capacity)
    assert np.allclose(g.sums[0], g.quanta.sum(axis=0))


def test_gpu_kernel_carries_the_mobilisation_of_the_human_junction():
    from endplate.junction.parameters import default_parameters

    pop = make_population(default_parameters("human"), 20000, seed=42)
    intervals = [np.inf] + [1000.0 / 3] * 9
    state = pop.rested_state()
    g = run_train(pop, state, intervals, 1, backend="cupy")
    r = run_train(pop, pop.rested_state(), intervals, 2, backend="numpy")
    for i in (0, 4, 9):
        assert g.quanta[:, i].mean() == pytest.approx(r.quanta[:, i].mean(), rel=0.03)
    assert np.all((state.mobilisation > 0) & (state.mobilisation <= 1))
