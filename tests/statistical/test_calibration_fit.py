"""A small ABC-SMC fit with model choice on the synthetic problem (data simulated under dying_back)."""

import dataclasses
import json

import pytest
import xarray as xr

from endplate.calibrate.fit import run_fit, settings_for

# One in-process worker: no process start-up, so the whole file runs in seconds.
LOCAL = dict(workers=1, processes=False)


def _small(**changes):
    small = dict(population=30, generations=3, ppc_draws=10, loso_population=15, loso_generations=1, loso_draws=6, loso_sources=1)
    return dataclasses.replace(settings_for("synthetic", quick=True), **{**small, **changes})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "fit-synthetic.nc"
    return run_fit("synthetic", seed=3, out=out, settings=_small(), **LOCAL), out


def test_fit_recovers_the_hypothesis_that_generated_the_data(fitted):
    ds, _ = fitted
    truth = json.loads(ds.attrs["truth"])["model"]
    probs = dict(zip(ds.model.values.tolist(), ds.model_probability.values))
    assert max(probs, key=probs.get) == truth == ds.attrs["winner"]
    assert probs[truth] > 0.6


def test_fit_result_is_a_saved_dataset_with_predictive_checks_and_leave_one_source_out(fitted):
    ds, out = fitted
    saved = xr.load_dataset(out)
    assert saved.attrs["endplate_result"] == "fit" and saved.attrs["seed"] == 3
    assert (saved.predicted_low <= saved.predicted_high).all()
    assert saved.sizes["source"] == 1 and saved.loso_median.notnull().any()
    from endplate.calibrate.report import report_from_dataset

    assert "<img src='data:image/png;base64," in report_from_dataset(saved)


def test_interrupted_fit_resumes_without_losing_finished_generations(tmp_path):
    from pyabc import History

    out = tmp_path / "fit-synthetic.nc"
    settings = _small(loso_sources=0)

    def interrupt(label, done, total, info):
        if label == "fit" and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_fit("synthetic", seed=5, out=out, settings=settings, progress=interrupt, **LOCAL)
    db = f"sqlite:///{out.with_suffix('.abc') / 'main.db'}"
    before = History(db).get_all_populations()
    assert History(db).max_t == 1 and not out.exists()
    seen = []
    ds = run_fit("synthetic", seed=5, out=out, settings=settings, progress=lambda *a: seen.append(a[:2]), **LOCAL)
    after = History(db).get_all_populations()
    assert seen[0] == ("fit", 2)  # continued from the third generation
    assert ds.sizes["generation"] == 3
    assert after.epsilon.iloc[: len(before)].tolist() == before.epsilon.tolist()
