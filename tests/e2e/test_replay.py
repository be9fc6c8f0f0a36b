"""`endplate replay RESULT`: a run, a protocol and a trial replayed bit for bit; a tampered result is named.

The fit's replay test is in tests/statistical/test_fit_replay.py (it reuses that file's fit).
"""

import json

import numpy as np
import pytest
import xarray as xr

SHORT = """
description = "a short user scenario"
species = "mouse"
genotype = "SOD1-G93A"
hypothesis = "dying_back"
muscles = ["TA"]
start_day = 60
end_day = 80
seed = 4
probe_days = [75]
probe_muscle = "TA"
"""


def _replay(cli, path):
    result = cli("replay", str(path), "--json")
    assert result.returncode in (0, 3), result.stderr
    return result.returncode, json.loads(result.stdout)


def _tamper(path, out, variable):
    """A copy of the result at ``path`` with one value of ``variable`` nudged."""
    ds = xr.load_dataset(path)
    flat = ds[variable].values.reshape(-1)
    flat[0] = flat[0] + (1 if ds[variable].dtype.kind in "iu" else 1e-9)
    ds[variable].values = flat.reshape(ds[variable].shape)
    ds.to_netcdf(out)
    return out


@pytest.fixture(scope="module")
def run_result(tmp_path_factory, cli):
    folder = tmp_path_factory.mktemp("run")
    (folder / "short.toml").write_text(SHORT)
    made = cli(
        "run", "short.toml", "--set", "terminal_degeneration.vulnerability_ff=1.5", "--output", "r.nc", "--json", cwd=folder
    )
    assert made.returncode == 0, made.stderr
    return folder / "r.nc"


def test_a_run_replays_bit_for_bit_with_its_set_recorded(cli, run_result):
    code, payload = _replay(cli, run_result)
    assert code == 0 and payload["identical"] and payload["differing"] == [] and payload["result"] == "run"
    attrs = xr.load_dataset(run_result).attrs
    assert json.loads(attrs["sets"]) == {"terminal_degeneration.vulnerability_ff": 1.5}
    assert json.loads(attrs["scenario"])["set"]["terminal_degeneration.vulnerability_ff"] == 1.5
    assert int(attrs["provenance_schema"]) == 1 and isinstance(attrs["seed"], (int, np.integer))


def test_a_tampered_run_is_reported_as_different_naming_the_variable(cli, run_result, tmp_path):
    code, payload = _replay(cli, _tamper(run_result, tmp_path / "t.nc", "force_percent"))
    assert code == 3 and not payload["identical"] and payload["differing"] == ["force_percent"]
    human = cli("replay", str(tmp_path / "t.nc"))
    assert human.returncode == 3 and "force_percent" in human.stdout and "different" in human.stdout


def test_a_result_whose_recorded_seed_was_changed_differs_in_its_arrays(cli, run_result, tmp_path):
    ds = xr.load_dataset(run_result)
    ds.attrs["scenario"] = ds.attrs["scenario"].replace('"seed": 4', '"seed": 5')
    ds.to_netcdf(tmp_path / "s.nc")
    code, payload = _replay(cli, tmp_path / "s.nc")
    assert code == 3 and {"mune", "force_percent"} <= set(payload["differing"])  # replayed with seed 5
    assert "attrs.scenario" not in payload["differing"]


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_a_protocol_replays_bit_for_bit_with_set_perturb_and_backend_recorded(cli, tmp_path, suffix):
    out = tmp_path / f"epp{suffix}"
    made = cli(
        "protocol",
        "epp",
        "--junctions",
        "4",
        "--stimuli",
        "3",
        "--seed",
        "7",
        "--set",
        "ca_mm=1.5",
        "--perturb",
        "achr_loss",
        "--backend",
        "numpy",
        "--output",
        str(out),
        "--json",
    )
    assert made.returncode == 0, made.stderr
    code, payload = _replay(cli, out)
    assert code == 0 and payload["identical"] and payload["result"] == "protocol" and payload["seed"] == 7
    attrs = xr.open_zarr(out).attrs if suffix == ".zarr" else xr.load_dataset(out).attrs
    assert json.loads(attrs["sets"]) == {"ca_mm": 1.5} and json.loads(attrs["perturbations"]) == ["achr_loss"]
    assert attrs["backend"] == "numpy" and int(attrs["seed"]) == 7


def test_a_tampered_protocol_is_reported_as_different(cli, tmp_path):
    out = tmp_path / "mepp.nc"
    assert cli("protocol", "mepp", "--junctions", "3", "--duration-s", "2", "--output", str(out)).returncode == 0
    code, payload = _replay(cli, _tamper(out, tmp_path / "t.nc", "mepp_mv"))
    assert code == 3 and payload["differing"] == ["mepp_mv"]


def test_a_trial_replays_bit_for_bit(cli, tmp_path):
    from test_trial import TINY

    (tmp_path / "tiny.toml").write_text(TINY.format(treated='["musk_agonist"]', extra=""))
    made = cli("trial", "tiny.toml", "--workers", "1", "--json", "--output", "tiny.nc", "--store", "tiny.zarr", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    code, payload = _replay(cli, tmp_path / "tiny.nc")
    assert code == 0 and payload["identical"] and payload["result"] == "trial"
    code, payload = _replay(cli, _tamper(tmp_path / "tiny.nc", tmp_path / "t.nc", "composite"))
    assert code == 3 and payload["differing"] == ["composite"]


def test_replay_refuses_what_it_cannot_replay_with_exit_2(cli, tmp_path):
    assert cli("replay", str(tmp_path / "none.nc")).returncode == 2
    xr.Dataset({"x": ("a", [1.0])}, attrs={"endplate_result": "run"}).to_netcdf(tmp_path / "old.nc")
    old = cli("replay", str(tmp_path / "old.nc"))
    assert old.returncode == 2 and "provenance_schema" in old.stderr and "Traceback" not in old.stderr
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(tmp_path / "plain.nc")
    plain = cli("replay", str(tmp_path / "plain.nc"))
    assert plain.returncode == 2 and "not an endplate result" in plain.stderr
