"""Medians of several seeds' fits pooled (calibrate.fit.pooled_medians): what a shipped preset holds."""

import numpy as np
import pytest
import xarray as xr

from endplate.calibrate.fit import pooled_medians, posterior_medians


def _fit(values: np.ndarray, models: np.ndarray, weights: np.ndarray | None = None) -> xr.Dataset:
    n = len(values)
    return xr.Dataset(
        {
            "posterior": (("particle", "parameter"), values[:, None]),
            "particle_model": ("particle", models),
            "particle_weight": ("particle", np.ones(n) if weights is None else weights),
            "parameter_key": ("parameter", ["genotype.width_days"]),
        },
        coords={"model": ["a", "b"]},
    )


def test_each_seed_counts_by_its_effective_sample_size():
    rng = np.random.default_rng(0)
    low = _fit(rng.normal(0.0, 1.0, 2000), np.zeros(2000, int))
    high = _fit(rng.normal(2.0, 1.0, 2000), np.zeros(2000, int))
    assert pooled_medians([low, high])["a"]["genotype.width_days"] == pytest.approx(1.0, abs=0.1)
    # A seed that kept 20 particles of the model moves the pooled median little ...
    few = _fit(np.r_[rng.normal(10.0, 0.1, 20), np.zeros(1980)], np.r_[np.zeros(20, int), np.ones(1980, int)])
    assert pooled_medians([low, few])["a"]["genotype.width_days"] == pytest.approx(0.0, abs=0.1)
    # ... and so does one whose weights rest on one particle.
    w = np.r_[1e6, np.ones(1999)]
    skewed = _fit(np.r_[50.0, rng.normal(50.0, 1.0, 1999)], np.zeros(2000, int), w)
    assert pooled_medians([low, skewed])["a"]["genotype.width_days"] < 0.2
    # A model with no particle in any seed has no values; one fit is its own medians.
    assert "b" not in pooled_medians([low, high])
    assert pooled_medians([low]) == posterior_medians(low)
