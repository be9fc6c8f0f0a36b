"""A fit is a function of its seed: same seed and settings, same particles, on 1 or 2 workers, resumed or not."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from endplate.calibrate.fit import run_fit, settings_for

SMALL = dict(population=20, generations=3, ppc_draws=6, loso_population=10, loso_generations=1, loso_draws=4,
             loso_sources=1)


def _settings(**changes):
    return dataclasses.replace(settings_for("synthetic", quick=True), **{**SMALL, **changes})


def _fit(out, seed=11, **kwargs):
    return run_fit("synthetic", seed=seed, out=out, settings=_settings(), **{"workers": 1, "processes": False, **kwargs})


def assert_same_fit(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every array equal, bit for bit (attributes such as wall time may differ)."""
    xr.testing.assert_equal(a, b)
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _fit(tmp_path_factory.mktemp("ref") / "fit-synthetic.nc")


def test_same_seed_twice_on_one_worker_gives_the_same_fit(reference, tmp_path):
    again = _fit(tmp_path / "fit-synthetic.nc")
    assert_same_fit(reference, again)
    assert reference.sizes["particle"] > 0 and reference.sizes["generation"] == 3


def test_another_seed_gives_another_fit(reference, tmp_path):
    other = _fit(tmp_path / "fit-synthetic.nc", seed=12)
    assert not np.array_equal(reference.posterior.values, other.posterior.values, equal_nan=True)


def test_two_worker_processes_give_the_same_fit_as_one_in_process_worker(reference, tmp_path):
    two = _fit(tmp_path / "fit-synthetic.nc", workers=2, processes=True)
    assert_same_fit(reference, two)


def test_interrupted_and_resumed_fit_equals_the_uninterrupted_one(reference, tmp_path):
    out = tmp_path / "fit-synthetic.nc"

    def interrupt(label, done, total, info):
        if label == "fit" and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fit(out, progress=interrupt)
    assert_same_fit(reference, _fit(out))
