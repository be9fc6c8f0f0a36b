"""A fit is a function of its seed: same seed and settings, same particles, on 1 or 2 workers, resumed or not."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from endplate.calibrate.fit import run_fit, settings_for

SMALL = dict(population=20, generations=3, ppc_draws=6, loso_population=10, loso_generations=1, loso_draws=4, loso_sources=1)


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
def reference_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "fit-synthetic.nc"
    _fit(out)
    return out


@pytest.fixture(scope="module")
def reference(reference_path):
    return xr.load_dataset(reference_path)


@pytest.fixture(scope="module")
def other_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("other") / "fit-synthetic.nc"
    _fit(out, seed=12)
    return out


def test_same_seed_twice_on_one_worker_gives_the_same_fit(reference, tmp_path):
    again = _fit(tmp_path / "fit-synthetic.nc")
    assert_same_fit(reference, again)
    assert reference.sizes["particle"] > 0 and reference.sizes["generation"] == 3


def test_another_seed_gives_another_fit(reference, other_path):
    other = xr.load_dataset(other_path)
    assert not np.array_equal(reference.posterior.values, other.posterior.values, equal_nan=True)


def test_seed_spread_gives_each_models_probability_across_seeds(reference, other_path):
    from endplate.calibrate.compare import seed_spread

    other = xr.load_dataset(other_path)
    spread = seed_spread([reference, other])
    assert spread["seeds"] == [11, 12] and len(spread["models"]) == reference.sizes["model"]
    for m, name in zip(spread["models"], reference.model.values.tolist()):
        pair = np.array([reference.model_probability.sel(model=name), other.model_probability.sel(model=name)])
        assert m["name"] == name and m["probabilities"] == pair.tolist()
        assert m["mean"] == pytest.approx(pair.mean()) and m["sd"] == pytest.approx(pair.std(ddof=1))
        assert m["min"] <= m["mean"] <= m["max"]


def test_seed_spread_refuses_a_single_fit_repeated_seeds_and_other_settings(reference, other_path):
    from endplate.calibrate.compare import seed_spread
    from endplate.errors import EndplateInputError

    with pytest.raises(EndplateInputError, match="at least 2"):
        seed_spread([reference])
    with pytest.raises(EndplateInputError, match="different seeds"):
        seed_spread([reference, reference])
    bigger = xr.load_dataset(other_path)
    bigger.attrs["settings"] = bigger.attrs["settings"].replace('"population": 20', '"population": 21')
    with pytest.raises(EndplateInputError, match="population"):
        seed_spread([reference, bigger])


def test_compare_of_several_seeds_shows_the_spread_and_ships_it_in_the_preset(cli, reference_path, other_path, tmp_path):
    import json
    import tomllib

    from endplate.calibrate.compare import payload_from_preset

    preset = tmp_path / "synthetic.toml"
    result = cli("compare", str(reference_path), str(other_path), "--json", "--preset-out", str(preset))
    assert result.returncode == 0, result.stderr
    spread = json.loads(result.stdout)["seed_spread"]
    assert spread["seeds"] == [11, 12]
    written = tomllib.loads(preset.read_text())
    assert payload_from_preset("synthetic", written)["seed_spread"] == spread
    assert set(written["model_changes"]) == set(written["model_probabilities"])  # each model's scenario changes
    shown = cli("compare", str(reference_path), str(other_path))
    assert shown.returncode == 0 and "across 2 seeds" in shown.stdout
    # The shipped verdict is both seeds': mean probabilities, and medians of the pooled particles,
    # which lie between the seeds' own medians (a median of a mixture lies between its parts').
    from endplate.calibrate.fit import posterior_medians

    assert written["seeds"] == [11, 12]
    for m in spread["models"]:
        assert written["model_probabilities"][m["name"]] == pytest.approx(m["mean"])
    own = [posterior_medians(xr.load_dataset(p)) for p in (reference_path, other_path)]
    for model, values in written["values"].items():
        for key, v in values.items():
            mine = [o[model][key] for o in own if model in o]
            assert min(mine) - 1e-12 <= v <= max(mine) + 1e-12, (model, key, v, mine)


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


KILLED_FIT = """
import dataclasses, sys
from endplate.calibrate.fit import run_fit, settings_for
s = dataclasses.replace(settings_for("synthetic", quick=True), **{small!r})
run_fit("synthetic", seed=11, out=sys.argv[1], settings=s, workers=1, processes=False)
"""


def test_fit_killed_inside_a_generation_resumes_to_the_uninterrupted_result(reference, tmp_path):
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    out = tmp_path / "fit-synthetic.nc"
    db = out.with_suffix(".abc") / "main.db"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_FIT.format(small=SMALL), str(out)])

    def finished_generations() -> int:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:  # never create it
                return con.execute("select count(*) from populations where t >= 0").fetchone()[0]
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 300
    while finished_generations() < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # inside generation 1 (index from 0): its particles are lost
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and finished_generations() < SMALL["generations"] and not out.exists()
    assert_same_fit(reference, _fit(out))


def test_endplate_replay_reproduces_a_fit_bit_for_bit_and_names_a_tampered_array(cli, reference_path, tmp_path):
    import json

    result = cli("replay", str(reference_path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["identical"] is True and json.loads(result.stdout)["result"] == "fit"
    tampered = xr.load_dataset(reference_path)
    tampered["posterior"][0, 0] = tampered["posterior"][0, 0] * (1 + 1e-12)
    tampered.to_netcdf(tmp_path / "tampered.nc")
    other = cli("replay", str(tmp_path / "tampered.nc"), "--json")
    assert other.returncode == 3, other.stderr
    assert json.loads(other.stdout)["differing"] == ["posterior"]
